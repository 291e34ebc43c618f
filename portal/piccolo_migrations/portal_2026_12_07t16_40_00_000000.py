"""A document's masterIdentifier, as its sender's software gave it (FHIR ITI-65)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T16:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the masterIdentifier of a document sent through the FHIR API"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Document",
        tablename="document",
        column_name="master_identifier",
        db_column_name="master_identifier",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 520,
            "default": "",
            "null": False,
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

    return manager
