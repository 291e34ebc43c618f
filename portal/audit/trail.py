"""`record()`: the only way to write the audit trail.

Each dossier's events form a hash chain (every event stores the hash of the one before it);
events without a dossier (logins, account changes) form the ``system`` chain. An event is
written in the same transaction as the action it records, so there is no access without its
trace and no trace of an access that did not happen. A read records its event outside any
transaction, before it reads (or, for the overview, while it reads: the page waits for it,
`portal.access.view.TracedTemplate`): the events recorded that way at the same moment are
committed together (`_Batch`), and each caller goes on once its own is on disk.

Every event is signed with the audit key as it is appended (`portal.audit.signing`), and
once committed, its chain's new head is written to the witness outside the database
(`portal.audit.witness`): cutting the last events of a chain then shows.

Appends to one chain are serialised: on SQLite by the IMMEDIATE transaction every write
uses (one writer at a time), on PostgreSQL by a transaction-scoped advisory lock on the
chain. The unique (chain, seq) index makes a fork impossible even if that were bypassed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from portal import clock, db
from portal.audit import signing, witness
from portal.audit.tables import AuditEvent

SYSTEM_CHAIN = "system"
GENESIS = "0" * 64
#: The fields an event's hash covers, in the order they are serialised.
HASHED_FIELDS = (
    "chain", "seq", "occurred_at", "dossier_id", "actor_account", "actor_role",
    "actor_profession", "actor_name", "action", "target_type", "target_id", "outcome",
    "reason", "mode", "mode_detail", "purpose", "client_address", "previous_hash",
)  # fmt: skip
#: Hashed too, but only when not empty: the events written before it existed keep their hash.
HASHED_WHEN_SET = ("via",)


class Action(StrEnum):
    VIEW = "view"
    DOWNLOAD = "download"
    PRINT = "print"
    EXPORT = "export"
    CREATE = "create"
    UPDATE = "update"
    MASK = "mask"
    UNMASK = "unmask"
    BLOCK = "block"
    UNBLOCK = "unblock"
    EMERGENCY_ACCESS = "emergency-access"
    SAMU_ACCESS = "samu-access"
    RIGHTS_CHANGE = "rights-change"
    CONSENT = "consent"  # a professional declared the patient's consent at a consultation
    CLOSE = "close"  # the patient closed the dossier: archived, no professional access
    REOPEN = "reopen"
    PURGE = "purge"  # the dossier was deleted; its chain is gone, this event is its tombstone
    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_FAILURE = "login-failure"
    ACCOUNT_CHANGE = "account-change"
    VERIFY = "verify"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"


class Mode(StrEnum):
    NORMAL = "normal"
    EMERGENCY = "emergency"  # "bris de glace": mode_detail holds the written reason
    SAMU = "samu"  # regulation: mode_detail holds the call reference


class Purpose(StrEnum):
    """Why the data was used, as FHIR's PurposeOfUse (v3-ActReason) codes."""

    TREAT = "TREAT"  # care by a professional of the care circle
    ETREAT = "ETREAT"  # emergency care (SAMU regulation)
    BTG = "BTG"  # break the glass: emergency access outside the rules
    PATRQT = "PATRQT"  # the patient (or their representative) acting on their own record
    HPAYMT = "HPAYMT"  # the insurer's reimbursement data
    HOPERAT = "HOPERAT"  # running the service: accounts, logins, verification


@dataclass(frozen=True)
class Actor:
    """Who acted, as the trail keeps it (a snapshot: accounts may change or go)."""

    account_id: UUID | None
    role: str = ""
    profession: str = ""
    name: str = ""
    #: The client application the person acted through (its name), "" in a browser.
    via: str = ""


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the event's canonical JSON (sorted keys, UTC timestamps to the microsecond)."""
    hashed = HASHED_FIELDS + tuple(name for name in HASHED_WHEN_SET if fields.get(name))
    canonical = json.dumps(
        {name: canonical_value(fields[name]) for name in hashed},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def canonical_value(value: Any) -> Any:
    """A field as it is hashed (and exported): timestamps in UTC to the microsecond, UUIDs
    as text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, UUID):
        return str(value)
    return value


# Every traced request appends an event: its two statements are written out once, as Piccolo
# would build their SQL anew each time, which costs more than running them.

#: An event's columns, all but its row id.
_COLUMNS = tuple(
    column._meta.db_column_name
    for column in AuditEvent._meta.columns
    if column is not AuditEvent._meta.primary_key
)
_INSERT = (
    f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) "  # noqa: S608 (the table's own columns)
    f"VALUES ({', '.join('{}' for _ in _COLUMNS)})"
)
_HEAD = "SELECT seq, hash FROM audit_event WHERE chain = {} ORDER BY seq DESC LIMIT 1"


def chain_of(dossier_id: UUID | None) -> str:
    return f"dossier:{dossier_id}" if dossier_id else SYSTEM_CHAIN


async def record(
    action: Action,
    actor: Actor,
    *,
    outcome: Outcome = Outcome.ALLOWED,
    dossier_id: UUID | None = None,
    target_type: str = "",
    target_id: str = "",
    reason: str = "",
    mode: Mode = Mode.NORMAL,
    mode_detail: str = "",
    purpose: Purpose | str = "",
    client_address: str = "",
) -> dict[str, Any]:
    """Append one event to its chain, and return it once it is written.

    Called from within ``db.current().write_transaction()``, the event is part of that
    transaction: committed, or rolled back, with the action it records. Called outside any
    transaction (a read about to be shown, a refusal), it is committed before this returns,
    together with the events the process's other requests record at that moment (`_Batch`).
    """
    event: dict[str, Any] = {
        "chain": chain_of(dossier_id),
        "dossier_id": dossier_id,
        "actor_account": actor.account_id,
        "actor_role": str(actor.role),
        "actor_profession": actor.profession,
        "actor_name": actor.name[:201],
        "via": actor.via[:120],
        "action": str(action),
        "target_type": target_type,
        "target_id": str(target_id)[:64],
        "outcome": str(outcome),
        "reason": reason[:200],
        "mode": str(mode),
        "mode_detail": mode_detail,
        "purpose": str(purpose),
        "client_address": client_address[:64],
    }
    database = db.current()
    engine = database.engine
    transaction = engine.current_transaction.get()
    if transaction is None:
        return await _Batch.of(database).commit(event)
    if isinstance(engine, SQLiteEngine) and (
        getattr(transaction, "transaction_type", None) != TransactionType.immediate
    ):
        raise RuntimeError("audit.record needs db.write_transaction(), not a read transaction")
    await _lock_chains(engine, [event])
    fields = await _append(event)
    db.after_commit(lambda: witness.write([fields]))
    return fields


async def _lock_chains(engine: Any, events: list[dict[str, Any]]) -> None:
    """On PostgreSQL, hold the events' chains until the transaction ends (on SQLite, the
    IMMEDIATE transaction holds the whole database). Always in the same order, so that two
    transactions appending to the same chains cannot wait for each other."""
    if isinstance(engine, PostgresEngine):
        for chain in sorted({event["chain"] for event in events}):
            await AuditEvent.raw("SELECT pg_advisory_xact_lock(hashtextextended({}, 0))", chain)


async def _append(event: dict[str, Any]) -> dict[str, Any]:
    """Write ``event`` after its chain's head, in the current write transaction, its chain
    held (`_lock_chains`)."""
    heads = await AuditEvent.raw(_HEAD, event["chain"])
    head = heads[0] if heads else None
    fields = {
        **event,
        "seq": head["seq"] + 1 if head else 1,
        "occurred_at": clock.now(),
        "previous_hash": head["hash"] if head else GENESIS,
    }
    fields["hash"] = event_hash(fields)
    fields["signature"] = signing.sign_event(fields["chain"], fields["seq"], fields["hash"])
    await AuditEvent.raw(_INSERT, *(fields[column] for column in _COLUMNS))
    return fields


class _Batch:
    """The events a process records outside any transaction, committed together: one write
    transaction and one flush to disk for all the events recorded while the previous batch
    was being written, rather than one each (every page a professional opens records one).
    Each caller still waits for its own event to be committed before it goes on."""

    def __init__(self, database: db.Database):
        self.database = database
        self.loop = asyncio.get_running_loop()
        self.waiting: list[tuple[dict[str, Any], asyncio.Future]] = []
        self.writer: asyncio.Task | None = None

    @classmethod
    def of(cls, database: db.Database) -> _Batch:
        """The database's batch on the running event loop."""
        batch = _batches.get(database)
        if batch is None or batch.loop is not asyncio.get_running_loop():
            batch = _batches[database] = cls(database)
        return batch

    async def commit(self, event: dict[str, Any]) -> dict[str, Any]:
        future = self.loop.create_future()
        self.waiting.append((event, future))
        if self.writer is None:
            self.writer = self.loop.create_task(self._write())
        # A caller that goes away does not stop the others' events being written.
        return await asyncio.shield(future)

    async def _write(self) -> None:
        try:
            while self.waiting:
                events, self.waiting = self.waiting, []
                await self._write_together(events)
        finally:
            self.writer = None

    async def _write_together(self, events: list[tuple[dict[str, Any], asyncio.Future]]) -> None:
        try:
            async with self.database.write_transaction():
                await _lock_chains(self.database.engine, [event for event, _ in events])
                written = [await _append(event) for event, _ in events]
        except Exception as error:
            if len(events) > 1:
                # Whatever failed fails only its own event's caller.
                for one in events:
                    await self._write_together([one])
                return
            events[0][1].set_exception(error)
            return
        except BaseException as error:  # cancelled: the loop is closing
            for _, future in events:
                future.cancel()
            raise error
        for (_, future), fields in zip(events, written, strict=True):
            future.set_result(fields)
        witness.write(written)


_batches: weakref.WeakKeyDictionary[db.Database, _Batch] = weakref.WeakKeyDictionary()
