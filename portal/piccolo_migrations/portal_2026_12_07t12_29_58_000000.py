"""A dossier's audit chain may be deleted only by the purge of its dossier: listed in
``audit_purge`` *and* its dossier gone; the system chain, never. And the people of each chain
(``audit_actor``) are filled from the events, then kept by a trigger on every insert (written
by hand, after the migration that creates that table)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-07T12:29:58:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit trail: only a purged dossier's chain may be deleted; who is in each chain"


def shown(row: str = "") -> str:
    """The events whose actor the history's filter offers (``row``: "NEW." in a trigger)."""
    return (
        f"{row}dossier_id IS NOT NULL AND {row}actor_account IS NOT NULL "
        f"AND {row}actor_role <> 'patient'"
    )



TABLES = ("audit_event", "audit_checkpoint")
#: The history's pages, filtered by person or by kind of access, read a few index entries.
INDEXES = [
    "CREATE INDEX audit_event_chain_actor ON audit_event (chain, actor_account, seq)",
    "CREATE INDEX audit_event_chain_mode ON audit_event (chain, mode, seq)",
]
ACTORS = [
    "CREATE UNIQUE INDEX audit_actor_chain_account ON audit_actor (chain, account)",
    "INSERT INTO audit_actor (chain, account, name) "
    f"SELECT chain, actor_account, MIN(actor_name) FROM audit_event WHERE {shown()} "
    "GROUP BY chain, actor_account",
]
SQLITE = [
    "CREATE TRIGGER audit_event_actor AFTER INSERT ON audit_event "
    f"WHEN {shown('NEW.')} "
    "BEGIN INSERT OR IGNORE INTO audit_actor (chain, account, name) "
    "VALUES (NEW.chain, NEW.actor_account, NEW.actor_name); END",
    *(f"DROP TRIGGER {table}_no_delete" for table in TABLES),
    *(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"WHEN OLD.chain NOT LIKE 'dossier:%' "
        f"OR OLD.chain NOT IN (SELECT chain FROM audit_purge) "
        f"OR EXISTS (SELECT 1 FROM dossier WHERE id = substr(OLD.chain, 9)) "
        f"BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END"
        for table in TABLES
    ),
]
POSTGRES = [
    "CREATE FUNCTION audit_event_actor() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO audit_actor (chain, account, name) "
    "VALUES (NEW.chain, NEW.actor_account, NEW.actor_name) ON CONFLICT DO NOTHING; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER audit_event_actor AFTER INSERT ON audit_event FOR EACH ROW "
    f"WHEN ({shown('NEW.')}) "
    "EXECUTE FUNCTION audit_event_actor()",
    "CREATE OR REPLACE FUNCTION audit_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF OLD.chain LIKE 'dossier:%' "
    "AND EXISTS (SELECT 1 FROM audit_purge WHERE chain = OLD.chain) "
    "AND NOT EXISTS (SELECT 1 FROM dossier WHERE id = CAST(substr(OLD.chain, 9) AS uuid)) "
    "THEN RETURN OLD; END IF; "
    "RAISE EXCEPTION 'the audit trail is append-only'; "
    "END $$",
]


async def purge_only():
    engine = engine_finder()
    for statement in [*INDEXES, *ACTORS, *(SQLITE if engine.engine_type == "sqlite" else POSTGRES)]:
        await engine.run_ddl(statement)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_raw(purge_only)
    return manager
