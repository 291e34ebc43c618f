"""The notifications sent before they named their dossier get it from their link
(``/dossiers/<id>…``), so that a purge deletes them too (written by hand, after the migration
that adds the column)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-07T02:49:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications: the dossier their link names"

# The 36 characters after "/dossiers/" are a dossier's id, when a dossier has that id.
SQLITE = (
    "UPDATE notification SET dossier = substr(link, 11, 36) "
    "WHERE link LIKE '/dossiers/%' AND substr(link, 11, 36) IN (SELECT id FROM dossier)"
)
POSTGRES = (
    "UPDATE notification SET dossier = CAST(substr(link, 11, 36) AS uuid) "
    "WHERE link LIKE '/dossiers/%' "
    "AND substr(link, 11, 36) IN (SELECT CAST(id AS text) FROM dossier)"
)


async def name_their_dossiers():
    engine = engine_finder()
    await engine.run_ddl(SQLITE if engine.engine_type == "sqlite" else POSTGRES)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_raw(name_their_dossiers)
    return manager
