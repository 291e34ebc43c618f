from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.vaccination.tables import Reminder, Vaccination

APP_CONFIG = AppConfig(
    app_name="vaccination",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Vaccination, Reminder],
    migration_dependencies=["portal.piccolo_app"],
)
