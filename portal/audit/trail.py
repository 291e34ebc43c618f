"""`record()`: the only way to write the audit trail.

Each dossier's events form a hash chain (every event stores the hash of the one before it);
events without a dossier (logins, account changes) form the ``system`` chain. An event is
written in the same transaction as the action it records, so there is no access without its
trace and no trace of an access that did not happen.

Appends to one chain are serialised: on SQLite by the IMMEDIATE transaction every write
uses (one writer at a time), on PostgreSQL by a transaction-scoped advisory lock on the
chain. The unique (chain, seq) index makes a fork impossible even if that were bypassed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from portal import clock, db
from portal.audit import signing
from portal.audit.tables import AuditEvent

SYSTEM_CHAIN = "system"
GENESIS = "0" * 64
#: The fields an event's hash covers, in the order they are serialised.
HASHED_FIELDS = (
    "chain", "seq", "occurred_at", "dossier_id", "actor_account", "actor_role",
    "actor_profession", "actor_name", "action", "target_type", "target_id", "outcome",
    "reason", "mode", "mode_detail", "purpose", "client_address", "previous_hash",
)  # fmt: skip


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


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the event's canonical JSON (sorted keys, UTC timestamps to the microsecond)."""
    canonical = json.dumps(
        {name: _plain(fields[name]) for name in HASHED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plain(value: Any) -> Any:
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
    """Append one event to its chain, inside the caller's write transaction (or its own).

    Call it from within ``db.current().write_transaction()`` together with the action it
    records; the event is then committed, or rolled back, with it.
    """
    database = db.current()
    engine = database.engine
    transaction = engine.current_transaction.get()
    if transaction is None:
        async with database.write_transaction():
            return await record(
                action, actor, outcome=outcome, dossier_id=dossier_id,
                target_type=target_type, target_id=target_id, reason=reason, mode=mode,
                mode_detail=mode_detail, purpose=purpose, client_address=client_address,
            )  # fmt: skip
    if isinstance(engine, SQLiteEngine) and (
        getattr(transaction, "transaction_type", None) != TransactionType.immediate
    ):
        raise RuntimeError("audit.record needs db.write_transaction(), not a read transaction")
    chain = chain_of(dossier_id)
    if isinstance(engine, PostgresEngine):
        await AuditEvent.raw("SELECT pg_advisory_xact_lock(hashtextextended({}, 0))", chain)
    heads = await AuditEvent.raw(_HEAD, chain)
    head = heads[0] if heads else None
    fields: dict[str, Any] = {
        "chain": chain,
        "seq": head["seq"] + 1 if head else 1,
        "occurred_at": clock.now(),
        "dossier_id": dossier_id,
        "actor_account": actor.account_id,
        "actor_role": str(actor.role),
        "actor_profession": actor.profession,
        "actor_name": actor.name[:201],
        "action": str(action),
        "target_type": target_type,
        "target_id": str(target_id)[:64],
        "outcome": str(outcome),
        "reason": reason[:200],
        "mode": str(mode),
        "mode_detail": mode_detail,
        "purpose": str(purpose),
        "client_address": client_address[:64],
        "previous_hash": head["hash"] if head else GENESIS,
    }
    fields["hash"] = event_hash(fields)
    await AuditEvent.raw(_INSERT, *(fields[column] for column in _COLUMNS))
    await signing.sign_if_due(chain, fields["seq"], fields["hash"])
    return fields
