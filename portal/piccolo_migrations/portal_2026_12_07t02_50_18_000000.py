"""One account per identity at a provider, and one identity per account and provider (written
by hand: Piccolo has no unique constraint over two columns, and runs a migration's raw SQL
before its tables, so this follows the migration that creates them). Both engines build the
same unique indexes."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-07T02:50:18:000000"
VERSION = "1.38.0"
DESCRIPTION = "national logins: one account per identity, one identity per account"


async def link_once():
    engine = engine_finder()
    await engine.run_ddl(
        "CREATE UNIQUE INDEX federated_identity_one_per_subject "
        "ON federated_identity (provider, subject)"
    )
    await engine.run_ddl(
        "CREATE UNIQUE INDEX federated_identity_one_per_account "
        "ON federated_identity (account, provider)"
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)
    manager.add_raw(link_once)
    return manager
