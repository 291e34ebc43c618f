"""The sessions that hold an emergency or SAMU access when the portal is upgraded keep it: they
are marked as opened for one (written by hand, after the migration that adds the column)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T08:29:03:000000"
VERSION = "1.38.0"
DESCRIPTION = "emergency sessions: those holding grants"


async def mark_emergency_sessions():
    await engine_finder().run_ddl(
        "UPDATE login_session SET emergency = TRUE "
        "WHERE id IN (SELECT session_id FROM emergency_grant)"
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_raw(mark_emergency_sessions)
    return manager
