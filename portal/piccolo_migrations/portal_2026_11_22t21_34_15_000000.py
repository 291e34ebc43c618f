"""The audit trail is append-only, enforced by the database itself (written by hand: Piccolo
runs a migration's raw SQL before its tables, so this follows the migration that creates them).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T21:34:15:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit trail: unique (chain, seq), no UPDATE, DELETE or TRUNCATE"

SQLITE = [
    "CREATE UNIQUE INDEX audit_event_chain_seq ON audit_event (chain, seq)",
    "CREATE UNIQUE INDEX audit_checkpoint_chain_seq ON audit_checkpoint (chain, seq)",
    *(
        f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
        for table in ("audit_event", "audit_checkpoint")
        for verb in ("update", "delete")
    ),
]
POSTGRES = [
    "CREATE UNIQUE INDEX audit_event_chain_seq ON audit_event (chain, seq)",
    "CREATE UNIQUE INDEX audit_checkpoint_chain_seq ON audit_checkpoint (chain, seq)",
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$",
    *(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        for table in ("audit_event", "audit_checkpoint")
    ),
    *(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        for table in ("audit_event", "audit_checkpoint")
    ),
]


async def make_append_only():
    engine = engine_finder()
    for statement in SQLITE if engine.engine_type == "sqlite" else POSTGRES:
        await engine.run_ddl(statement)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_raw(make_append_only)
    return manager
