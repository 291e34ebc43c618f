"""Encryption at rest: one data key per dossier, wrapped by a key-encryption key that never
sits in the database (docs/encryption.md).

- `keys`: the key-encryption keys (`MasterKey`, or a KMS/HSM object), the `Keyring` of a
  running portal and the `ShredRegister` of purged dossiers.
- `sealing`: AES-256-GCM of one value, bound to its dossier, table, column and row.
- `rotation`: `carnet keys rotate`, re-wrapping every data key under a new master key.
- `backfill`: the migration sealing the values stored before encryption at rest.
- here: the dossiers' data keys in the database (created with the first value sealed,
  destroyed by the purge), the medical columns of every table, and the keyring installed by
  `portal.app.create_app` and the commands.

What a plugin uses (docs/plugin_hooks.md, "Medical text is sealed"): `sealed` next to its
tables, `insert` for the rows it writes, `opened` on the rows it reads; `unsealed_free_text`
is the contract's check that it did not forget a column.
"""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from piccolo.columns import JSON, Column, Serial, Text
from piccolo.table import Table

from portal import audit
from portal.crypto.keys import (
    KEY_BYTES,
    SHRED_REGISTER_FILE,
    Keyring,
    KeyUnavailable,
    MasterKey,
    ShredRegister,
)
from portal.crypto.sealing import Problem, Sealer, is_sealed, unreadable
from portal.settings import Settings

__all__ = [
    "KeyUnavailable",
    "Keyring",
    "Problem",
    "SealedTable",
    "Sealer",
    "WrongMasterKey",
    "check_keys",
    "destroy_data_key",
    "insert",
    "install",
    "is_sealed",
    "keyring",
    "keyring_for",
    "opened",
    "remember",
    "sealed",
    "sealed_columns",
    "sealed_tables",
    "sealer",
    "unreadable",
    "unsealed_free_text",
    "writing_sealer",
]

_keyring: Keyring | None = None
#: The dossiers' unwrapped keys, for the length of one request (each request's task has its
#: own): a page that reads a dossier several times unwraps its key once.
_request_sealers: ContextVar[dict[UUID, Sealer] | None] = ContextVar("sealers", default=None)
#: Who the trail names when a value does not open.
INTEGRITY = audit.Actor(account_id=None, role="system", name="carnet")


@dataclass(frozen=True)
class SealedTable:
    """A table with medical columns: their names, and the column standing for the row in the
    associated data (the primary key, unless the table says otherwise)."""

    table: type[Table]
    columns: tuple[str, ...]
    row: str = "id"


#: The tables with medical columns, by name: sealed on write, opened on read.
_SEALED: dict[str, SealedTable] = {}


def sealed(table: type[Table], *columns: Column, row: Column | None = None) -> None:
    """Declare ``columns`` of ``table`` medical content, stored sealed under the dossier's key
    (the table has a ``dossier`` column). ``row``: what names a row in the associated data,
    when the primary key is not known before the insert (a serial number)."""
    name = table._meta.tablename
    known = _SEALED.get(name)
    if known is not None and known.table is not table:  # its module imported anew
        known = None
    _SEALED[name] = SealedTable(
        table,
        (*(known.columns if known else ()), *(column._meta.db_column_name for column in columns)),
        row._meta.db_column_name if row is not None else (known.row if known else "id"),
    )


def sealed_tables() -> list[SealedTable]:
    return list(_SEALED.values())


def sealed_columns(table: type[Table] | str) -> tuple[str, ...]:
    name = table if isinstance(table, str) else table._meta.tablename
    return _SEALED[name].columns if name in _SEALED else ()


#: The column types that hold free text: in a table of dossier content, medical text, sealed.
FREE_TEXT = (Text, JSON)


def unsealed_free_text(table: type[Table]) -> list[str]:
    """The free-text columns (`FREE_TEXT`) of a table of dossier content (it has a
    ``dossier`` column) that are not declared sealed: the plugin contract refuses them."""
    if "dossier" not in {column._meta.name for column in table._meta.columns}:
        return []
    spec = _SEALED.get(table._meta.tablename)
    declared = spec.columns if spec is not None and spec.table is table else ()
    return [
        column._meta.db_column_name
        for column in table._meta.columns
        if isinstance(column, FREE_TEXT) and column._meta.db_column_name not in declared
    ]


async def _seal(*rows: Table) -> None:
    """Seal, in place, the medical columns of rows about to be written, each under the data
    key of its ``dossier`` (made on first use), the column naming the row being set."""
    for row in rows:
        spec = _SEALED.get(row._meta.tablename)
        if spec is None:
            continue
        row_id = getattr(row, spec.row, None)
        if row_id is None:
            raise ValueError(f"{spec.table._meta.tablename}.{spec.row} is needed to seal a row")
        found = await writing_sealer(row.dossier)
        for name in spec.columns:
            column = spec.table._meta.get_column_by_name(name)
            value = getattr(row, column._meta.name)
            if isinstance(column, JSON):
                text = value if isinstance(value, str) else json.dumps(value)
                value = json.dumps(found.seal(spec.table._meta.tablename, name, row_id, text))
            else:
                value = found.seal(spec.table._meta.tablename, name, row_id, value)
            setattr(row, column._meta.name, value)


async def insert(*rows: Table) -> None:
    """Insert rows of dossier content, their medical columns sealed. Call it inside
    the write's transaction. A row of a table numbered by the database (its serial key names
    its rows) is inserted first, and its medical columns written sealed under its number."""
    for row in rows:
        spec, key = _SEALED.get(row._meta.tablename), row._meta.primary_key
        if spec is None or not (isinstance(key, Serial) and spec.row == key._meta.name):
            await _seal(row)
            await row.save()
            continue
        columns = [spec.table._meta.get_column_by_name(name) for name in spec.columns]
        clear = {column: getattr(row, column._meta.name) for column in columns}
        for column in columns:
            setattr(row, column._meta.name, column.get_default_value())
        await row.save()  # numbered
        for column, value in clear.items():
            setattr(row, column._meta.name, value)
        await _seal(row)
        await row.update_self({column: getattr(row, column._meta.name) for column in columns})


def keyring_for(settings: Settings) -> Keyring:
    """The keyring the settings describe: CARNET_MASTER_KEY (or the development key in the
    data directory) and CARNET_PREVIOUS_MASTER_KEYS."""
    return Keyring(
        MasterKey.from_text(settings.master_key),
        [MasterKey.from_text(text) for text in settings.previous_master_keys],
        shredded=ShredRegister(settings.data_dir / SHRED_REGISTER_FILE),
    )


def install(ring: Keyring) -> None:
    """Make ``ring`` the keyring of this process."""
    global _keyring
    _keyring = ring


def keyring() -> Keyring:
    if _keyring is None:
        raise RuntimeError("No keyring is installed: create the app or call crypto.install().")
    return _keyring


def sealer_for(dossier_id: UUID, key_id: str | None, wrapped: bytes | None) -> Sealer:
    """The sealer of a dossier from its stored data key (none yet: plain values only).

    Raises `KeyUnavailable` when the key is there but does not unwrap (shredded, or wrapped
    by a key-encryption key that is not configured)."""
    if wrapped is None:
        return Sealer(dossier_id, None)
    return Sealer(dossier_id, keyring().unwrap(key_id or "", bytes(wrapped), dossier_id))


def remember(dossier_id: UUID, key_id: str | None, wrapped: bytes | None) -> None:
    """Keep the dossier's sealer for this request, from its data key as just read with the
    dossier (`portal.access.view`): nothing more to read to open its values. A key that
    does not unwrap leaves nothing: `sealer` then raises."""
    sealers = _request_sealers.get()
    if sealers is None:
        sealers = {}
        _request_sealers.set(sealers)
    try:
        sealers[dossier_id] = sealer_for(dossier_id, key_id, wrapped)
    except KeyUnavailable:
        sealers.pop(dossier_id, None)


def _cached(dossier_id: UUID) -> Sealer | None:
    """The sealer this request already holds, unless the key was destroyed since."""
    sealers = _request_sealers.get()
    if sealers is None or dossier_id not in sealers:
        return None
    if dossier_id in keyring().shredded:
        raise KeyUnavailable(f"the data key of dossier {dossier_id} was destroyed")
    return sealers[dossier_id]


async def sealer(dossier_id: UUID) -> Sealer:
    """The dossier's sealer for this request; raises `KeyUnavailable` when its key is gone."""
    cached = _cached(dossier_id)
    if cached is not None:
        return cached
    sealers = _request_sealers.get()
    row = await _stored_key(dossier_id)
    found = sealer_for(dossier_id, row["data_key_id"], row["data_key"]) if row else None
    if found is None:
        raise KeyUnavailable(f"no dossier {dossier_id}")
    if sealers is None:
        _request_sealers.set({dossier_id: found})
    else:
        sealers[dossier_id] = found
    return found


async def opened(
    dossier_id: UUID, table: type[Table], rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``rows`` of one dossier with their medical columns opened, in place. A value that does
    not open shows as unreadable, and is traced in the dossier's chain; the others open."""
    spec = _SEALED.get(table._meta.tablename)
    if not rows or spec is None:
        return rows
    try:
        found = await sealer(dossier_id)
    except KeyUnavailable:
        found = Sealer(dossier_id, None)
    problems = found.open_rows(spec, rows)
    for problem in problems:
        await audit.record(
            audit.Action.VIEW,
            INTEGRITY,
            outcome=audit.Outcome.REFUSED,
            dossier_id=dossier_id,
            target_type=problem.table,
            target_id=problem.row_id,
            reason=f"{problem.column}: the stored value does not decrypt under this record's key",
        )
    return rows


async def writing_sealer(dossier_id: UUID) -> Sealer:
    """The sealer of a dossier about to be written to, its data key made on first use. Call
    it inside the write's transaction."""
    from portal.dossiers.tables import Dossier

    cached = _cached(dossier_id)
    if cached is not None and cached.has_key:
        return cached
    sealers = _request_sealers.get()
    row = await _stored_key(dossier_id)
    if row is not None and row["data_key"] is None:
        key_id, wrapped = keyring().wrap(os.urandom(KEY_BYTES), dossier_id)
        await Dossier.update({Dossier.data_key: wrapped, Dossier.data_key_id: key_id}).where(
            Dossier.id == dossier_id, Dossier.data_key.is_null()
        )
        row = await _stored_key(dossier_id)
    if row is None:
        raise LookupError(f"no dossier {dossier_id}")
    found = sealer_for(dossier_id, row["data_key_id"], row["data_key"])
    if sealers is not None:
        sealers[dossier_id] = found
    return found


async def _stored_key(dossier_id: UUID) -> dict | None:
    from portal.dossiers.tables import Dossier

    return (
        await Dossier.select(Dossier.data_key_id, Dossier.data_key)
        .where(Dossier.id == dossier_id)
        .first()
    )


def destroy_data_key(dossier_id: UUID) -> None:
    """Crypto-shredding, before the purge deletes the dossier's row and its wrapped key with
    it: the key is refused from now on, in this database and in every copy of it taken
    before (synced to disk before this returns)."""
    keyring().shredded.add(dossier_id)


class WrongMasterKey(RuntimeError):
    """The configured key-encryption keys cannot unwrap the database's data keys."""


async def check_keys() -> None:
    """Refuse to serve a database whose data keys the keyring cannot unwrap (a wrong or
    missing CARNET_MASTER_KEY), naming the key they need. One indexed look-up."""
    from portal.dossiers.tables import Dossier

    ring = keyring()
    if not await Dossier.table_exists():  # not upgraded yet
        return
    stranger = (
        await Dossier.select(Dossier.data_key_id)
        .where(Dossier.data_key.is_not_null(), Dossier.data_key_id.not_in(list(ring.keys)))
        .first()
    )
    if stranger is not None:
        raise WrongMasterKey(
            f"the master key does not open this database: its records' data keys are wrapped "
            f"by the key {stranger['data_key_id']}, and CARNET_MASTER_KEY is the key "
            f"{ring.current.key_id}. Set CARNET_MASTER_KEY to the key this database was "
            "made with (or, during a rotation, that key in CARNET_PREVIOUS_MASTER_KEYS)."
        )
