from __future__ import annotations

import pytest

from portal.audit import signing
from portal.cli import upgrade_database
from portal.db import Database, create_engine
from portal.piccolo_app import APP_CONFIG
from tests.conftest import make_settings


@pytest.fixture
async def database(tmp_path, database_url):
    """An upgraded, connected database with the audit key of its settings installed."""
    settings = make_settings(tmp_path, database_url)
    await upgrade_database(settings)
    database = Database(create_engine(settings.database_url), [APP_CONFIG])
    database.install()
    signing.install(signing.key_from_text(settings.audit_key))
    await database.connect()
    database.settings = settings
    yield database
    await database.disconnect()


async def raw(database: Database, sql: str) -> None:
    """Run SQL as someone with direct access to the database would (outside the portal)."""
    await database.engine.run_ddl(sql)


async def drop_append_only_triggers(database: Database) -> None:
    """What an attacker with the database's owner rights would do first."""
    if database.is_sqlite:
        for table in ("audit_event", "audit_checkpoint"):
            for verb in ("update", "delete"):
                await raw(database, f"DROP TRIGGER {table}_no_{verb}")
    else:
        await raw(database, "DROP FUNCTION audit_append_only() CASCADE")
