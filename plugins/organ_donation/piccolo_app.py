from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.organ_donation.tables import Position, Step

APP_CONFIG = AppConfig(
    app_name="organ_donation",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Position, Step],
    migration_dependencies=["portal.piccolo_app"],
)
