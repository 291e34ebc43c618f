"""Sealing the rows stored before encryption at rest: every medical value still in clear is
sealed under its dossier's data key, table by table, in batches of one transaction each.

Run by the migration that follows the one adding the data keys (and again by any later one
that declares new medical columns): interrupted, the migration is not recorded, and the next
`carnet db upgrade` resumes, the values already sealed being left as they are. At the end,
every medical value is checked: sealed, and opening under its dossier's key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from piccolo.columns import JSON
from piccolo.table import Table

from portal import crypto, db
from portal.crypto import KeyUnavailable, SealedTable, Sealer

#: Rows sealed per transaction.
BATCH_SIZE = 500


@dataclass
class Report:
    """How many values were sealed, and those found in clear or not opening at the end."""

    sealed: int = 0
    problems: list[str] = field(default_factory=list)


def _is_json(spec: SealedTable, column: str) -> bool:
    return isinstance(spec.table._meta.get_column_by_name(column), JSON)


def _stored_form(spec: SealedTable, column: str, value: Any) -> Any:
    """A JSON column holds its sealed value as a JSON string; the others, as it is."""
    if value is not None and _is_json(spec, column):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, str) and crypto.is_sealed(loaded) else value
    return value


async def _batches(spec: SealedTable, batch_size: int):
    """The table's rows (key, dossier, row name, medical columns) in batches, in the order
    of their primary key."""
    table, key, after = spec.table, spec.table._meta.primary_key, None
    names = dict.fromkeys(["id", "dossier", spec.row, *spec.columns])
    columns = [table._meta.get_column_by_name(name) for name in names]
    while True:
        query = table.select(*columns)
        if after is not None:
            query = query.where(key > after)
        rows = await query.order_by(key).limit(batch_size)
        if not rows:
            return
        after = rows[-1]["id"]
        yield rows


async def _sealers(rows: list[dict[str, Any]]) -> dict[Any, Sealer]:
    """The sealer of each dossier of ``rows`` (one without a key for a shredded one)."""
    sealers: dict[Any, Sealer] = {}
    for dossier in {row["dossier"] for row in rows}:
        try:
            sealers[dossier] = await crypto.sealer(dossier)
        except KeyUnavailable:
            sealers[dossier] = Sealer(dossier, None)
    return sealers


def _specs(tables: list[type[Table]] | None) -> list[SealedTable]:
    """The declared tables among ``tables`` (None: every declared table)."""
    names = None if tables is None else {table._meta.tablename for table in tables}
    return [
        spec
        for spec in crypto.sealed_tables()
        if names is None or spec.table._meta.tablename in names
    ]


async def seal_existing(
    tables: list[type[Table]] | None = None, batch_size: int = BATCH_SIZE
) -> Report:
    """Seal every medical value still in clear, of ``tables`` (a plugin's migration names its
    own) or of every declared table, then check them all."""
    report, shredded = Report(), crypto.keyring().shredded
    for spec in _specs(tables):
        async for rows in _batches(spec, batch_size):
            async with db.current().write_transaction():
                sealers: dict[Any, Sealer] = {}
                for row in rows:
                    if row["dossier"] in shredded:  # an older copy: its key stays destroyed
                        continue
                    changes = {}
                    for column in spec.columns:
                        value = _stored_form(spec, column, row[column])
                        if value in (None, "", b"") or crypto.is_sealed(value):
                            continue
                        if row["dossier"] not in sealers:
                            sealers[row["dossier"]] = await crypto.writing_sealer(row["dossier"])
                        sealed = sealers[row["dossier"]].seal(
                            spec.table._meta.tablename, column, row[spec.row], value
                        )
                        changes[column] = json.dumps(sealed) if _is_json(spec, column) else sealed
                    if changes:
                        await spec.table.update(changes).where(
                            spec.table._meta.primary_key == row["id"]
                        )
                        report.sealed += len(changes)
    report.problems = await verify(tables)
    return report


async def migrate(tables: list[type[Table]]) -> None:
    """What a migration runs: seal ``tables``' values still in clear; fail, naming them, when
    a value is left in clear or does not decrypt (the migration is then not recorded)."""
    report = await seal_existing(tables)
    if report.problems:
        raise RuntimeError(
            f"{len(report.problems)} medical values are not sealed as they should be: "
            + "; ".join(report.problems[:5])
        )


async def verify(
    tables: list[type[Table]] | None = None, batch_size: int = BATCH_SIZE
) -> list[str]:
    """Every medical value (of ``tables``, or of every declared table) that is in clear or
    does not open under its dossier's key."""
    problems = []
    for spec in _specs(tables):
        name = spec.table._meta.tablename
        async for rows in _batches(spec, batch_size):
            sealers = await _sealers(rows)
            for row in rows:
                if row["dossier"] in crypto.keyring().shredded:
                    continue
                for column in spec.columns:
                    value = _stored_form(spec, column, row[column])
                    if value in (None, "", b""):
                        continue
                    where = f"{name}.{column} of row {row[spec.row]} (dossier {row['dossier']})"
                    if not crypto.is_sealed(value):
                        problems.append(f"{where} is not encrypted")
                    elif not sealers[row["dossier"]].open(name, column, row[spec.row], value)[1]:
                        problems.append(f"{where} does not decrypt")
    return problems
