from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.end_of_life.tables import Directives, Reminder, TrustedPerson

APP_CONFIG = AppConfig(
    app_name="end_of_life",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Directives, TrustedPerson, Reminder],
    migration_dependencies=["portal.piccolo_app"],
)
