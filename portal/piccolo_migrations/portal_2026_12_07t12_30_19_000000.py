"""Encryption at rest: the medical values stored before it are sealed under their dossier's
data key (`portal.crypto.backfill`), in batches, outside one big transaction. Interrupted,
this migration is not recorded and the next upgrade resumes it; it fails, naming them, when
a value is left in clear or does not decrypt."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T12:30:19:000000"
VERSION = "1.38.0"
DESCRIPTION = "encryption at rest: the existing rows sealed"


async def seal_existing_rows():
    from portal.crypto.backfill import migrate
    from portal.dossiers.tables import (
        Document,
        EmergencyContact,
        PatientProfile,
        SummaryFlag,
        SummaryVersion,
    )

    # The core's own tables: each plugin's migration seals its own, once its tables exist.
    await migrate([Document, SummaryVersion, SummaryFlag, PatientProfile, EmergencyContact])


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="portal", description=DESCRIPTION, wrap_in_transaction=False
    )
    manager.add_raw(seal_existing_rows)
    return manager
