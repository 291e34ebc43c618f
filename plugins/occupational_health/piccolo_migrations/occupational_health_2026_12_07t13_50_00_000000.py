"""Encryption at rest for this section: its medical values stored before are sealed under
their dossier's data key (`portal.crypto.backfill`), in batches, outside one big
transaction. Interrupted, this migration is not recorded and the next upgrade resumes it; it
fails, naming them, when a value is left in clear or does not decrypt."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T13:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "encryption at rest: the existing rows sealed"


async def seal_existing_rows():
    from plugins.occupational_health.tables import Exposure, Incident, Visit
    from portal.crypto.backfill import migrate

    await migrate([Exposure, Visit, Incident])


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="occupational_health", description=DESCRIPTION, wrap_in_transaction=False
    )
    manager.add_raw(seal_existing_rows)
    return manager
