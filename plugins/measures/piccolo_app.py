from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.measures.tables import Reading

APP_CONFIG = AppConfig(
    app_name="measures",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Reading],
    migration_dependencies=["portal.piccolo_app"],
)
