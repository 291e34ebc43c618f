"""One document per form submission (written by hand: SQLite cannot add a UNIQUE column, and
Piccolo runs a migration's raw SQL before its columns, so this follows the migration that adds
the column). Both engines build the same unique index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T23:47:51:000000"
VERSION = "1.38.0"
DESCRIPTION = "documents: one per form submission"


async def submit_once():
    await engine_finder().run_ddl(
        "CREATE UNIQUE INDEX document_submission_unique ON document (submission)"
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_raw(submit_once)
    return manager
