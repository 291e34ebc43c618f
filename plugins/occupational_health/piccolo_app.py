from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.occupational_health.tables import Exposure, Incident, Job, Visit

APP_CONFIG = AppConfig(
    app_name="occupational_health",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Job, Exposure, Visit, Incident],
    migration_dependencies=["portal.piccolo_app"],
)
