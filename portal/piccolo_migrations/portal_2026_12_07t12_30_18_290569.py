"""Encryption at rest: each dossier's wrapped data key, and the sealed title and file name of
documents and the emergency contacts as text (a sealed value is longer than the length they
had). SQLite's TEXT and
VARCHAR are the same storage: only PostgreSQL changes the columns' type."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Bytea
from piccolo.columns.column_types import Text
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.engine import engine_finder

ID = "2026-12-07T12:30:18:290569"
VERSION = "1.38.0"
DESCRIPTION = "encryption at rest: data keys, sealed titles, file names and contacts"


class _Manager(MigrationManager):
    async def _run_alter_columns(self, backwards: bool = False):
        if engine_finder().engine_type != "sqlite":
            await super()._run_alter_columns(backwards=backwards)


async def forwards():
    manager = _Manager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Dossier",
        tablename="dossier",
        column_name="data_key",
        db_column_name="data_key",
        column_class_name="Bytea",
        column_class=Bytea,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="Dossier",
        tablename="dossier",
        column_name="data_key_id",
        db_column_name="data_key_id",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 16,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.alter_column(
        table_class_name="Document",
        tablename="document",
        column_name="title",
        db_column_name="title",
        params={},
        old_params={},
        column_class=Text,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Document",
        tablename="document",
        column_name="file_name",
        db_column_name="file_name",
        params={},
        old_params={},
        column_class=Text,
        old_column_class=Varchar,
        schema=None,
    )

    manager.alter_column(
        table_class_name="EmergencyContact",
        tablename="emergency_contact",
        column_name="name",
        db_column_name="name",
        params={},
        old_params={},
        column_class=Text,
        old_column_class=Varchar,
        schema=None,
    )
    manager.alter_column(
        table_class_name="EmergencyContact",
        tablename="emergency_contact",
        column_name="relation",
        db_column_name="relation",
        params={},
        old_params={},
        column_class=Text,
        old_column_class=Varchar,
        schema=None,
    )
    manager.alter_column(
        table_class_name="EmergencyContact",
        tablename="emergency_contact",
        column_name="phone",
        db_column_name="phone",
        params={},
        old_params={},
        column_class=Text,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
