from pathlib import Path

from piccolo.conf.apps import AppConfig

from carnet_sleep_diary.tables import Night

APP_CONFIG = AppConfig(
    app_name="sleep_diary",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Night],
    migration_dependencies=["portal.piccolo_app"],
)
