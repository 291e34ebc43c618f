from __future__ import annotations

from piccolo.querystring import QueryString

from portal.db import Database


async def raw(database: Database, sql: str, *values) -> None:
    """Run SQL as someone with direct access to the database would (outside the portal);
    ``{}`` in ``sql`` stand for ``values``."""
    if values:
        await database.engine.run_querystring(QueryString(sql, *values))
    else:
        await database.engine.run_ddl(sql)


async def drop_append_only_triggers(database: Database) -> None:
    """What an attacker with the database's owner rights would do first."""
    if database.is_sqlite:
        for table in ("audit_event", "audit_checkpoint"):
            for verb in ("update", "delete"):
                await raw(database, f"DROP TRIGGER {table}_no_{verb}")
    else:
        await raw(database, "DROP FUNCTION audit_append_only() CASCADE")
        await raw(database, "DROP FUNCTION audit_purge_only() CASCADE")


# The identity tests' portal, browsers and people, for the pages of the trail (the history).
from tests.identity.conftest import (  # noqa: E402, F401
    clock,
    database_url,
    new_browser,
    outbox,
    portal,
    quick_hashing,
    start_portal,
)
