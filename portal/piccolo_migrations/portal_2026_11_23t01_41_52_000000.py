"""A purged dossier's audit chain may be deleted, and only while it is listed in
``audit_purge`` (written by hand, after the migration that creates that table). Updates stay
refused, and so do deletions of any other chain and TRUNCATE."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-23T01:41:52:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit trail: deleting a purged dossier's chain"

TABLES = ("audit_event", "audit_checkpoint")
SQLITE = [
    *(f"DROP TRIGGER {table}_no_delete" for table in TABLES),
    *(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"WHEN OLD.chain NOT IN (SELECT chain FROM audit_purge) "
        f"BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
        for table in TABLES
    ),
]
POSTGRES = [
    *(f"DROP TRIGGER {table}_append_only ON {table}" for table in TABLES),
    *(
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        for table in TABLES
    ),
    "CREATE FUNCTION audit_purge_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN IF EXISTS (SELECT 1 FROM audit_purge WHERE chain = OLD.chain) THEN RETURN OLD; "
    "END IF; RAISE EXCEPTION 'the audit trail is append-only'; END $$",
    *(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION audit_purge_only()"
        for table in TABLES
    ),
]


async def allow_purges():
    engine = engine_finder()
    for statement in SQLITE if engine.engine_type == "sqlite" else POSTGRES:
        await engine.run_ddl(statement)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_raw(allow_purges)
    return manager
