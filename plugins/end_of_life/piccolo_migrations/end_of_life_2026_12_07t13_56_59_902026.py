"""The trusted person's details as text, to hold them sealed (a sealed value is longer than
the length they had). SQLite's TEXT and VARCHAR are the same storage: only PostgreSQL changes
the columns' type, as the core's migration for the emergency contacts does."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.column_types import Varchar
from piccolo.engine import engine_finder

ID = "2026-12-07T13:56:59:902026"
VERSION = "1.38.0"
DESCRIPTION = "the trusted person details as text, to hold them sealed"


class _Manager(MigrationManager):
    async def _run_alter_columns(self, backwards: bool = False):
        if engine_finder().engine_type != "sqlite":
            await super()._run_alter_columns(backwards=backwards)


async def forwards():
    manager = _Manager(migration_id=ID, app_name="end_of_life", description=DESCRIPTION)

    manager.alter_column(
        table_class_name="TrustedPerson",
        tablename="end_of_life_trusted_person",
        column_name="name",
        db_column_name="name",
        params={},
        old_params={},
        column_class=Text,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="TrustedPerson",
        tablename="end_of_life_trusted_person",
        column_name="relation",
        db_column_name="relation",
        params={},
        old_params={},
        column_class=Text,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="TrustedPerson",
        tablename="end_of_life_trusted_person",
        column_name="phone",
        db_column_name="phone",
        params={},
        old_params={},
        column_class=Text,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="TrustedPerson",
        tablename="end_of_life_trusted_person",
        column_name="email",
        db_column_name="email",
        params={},
        old_params={},
        column_class=Text,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
