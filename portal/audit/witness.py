"""The witness: each chain's signed head, kept outside the database, so that cutting the last
events of a chain (or a whole chain) shows.

Signatures prove that an event was written by the portal; they cannot prove that no event
came after it. The witness can: once an append is committed, the new head of its chain
(chain, seq, hash, signature) is added as one line to an append-only file,
``audit-witness.log`` in the data directory unless CARNET_AUDIT_WITNESS names another place
(another disk, a mount the database's owner cannot write). `portal.audit.verification`
compares the database with the latest line of each chain: a chain shorter than its witness
was cut. A line whose signature does not check was edited.

The file only grows, by one line per committed append (O_APPEND: the lines of concurrent
processes do not mix). A head that a crash kept from the file only makes the witness lag.
After a restore, `restart()` puts the current file aside (nothing is deleted) and starts a
new one from the restored database's verified heads.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from portal import clock
from portal.audit.signing import AuditKey
from portal.audit.tables import AuditEvent


class WitnessError(Exception):
    """The witness cannot be believed (missing, or edited); the message says which, and where."""


class MissingWitness(WitnessError):
    """There is no witness file where the settings say."""


@dataclass(frozen=True)
class Head:
    """A chain's head as the witness keeps it."""

    chain: str
    seq: int
    hash: str
    signature: str

    def line(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":")) + "\n"


logger = logging.getLogger("carnet.audit")
_path: Path | None = None


def install(path: Path | None) -> None:
    """Witness the appends of this process in ``path`` (see `portal.audit.install`)."""
    global _path
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    _path = path


def installed() -> Path | None:
    return _path


def write(events: Iterable[dict[str, Any]]) -> None:
    """Add the heads these committed events made (the last one of each chain) to the witness."""
    if _path is None:
        return
    heads: dict[str, Head] = {}
    for event in events:
        if event["signature"]:
            heads[event["chain"]] = Head(
                event["chain"], event["seq"], event["hash"], event["signature"]
            )
    if not heads:
        return
    try:
        _append(_path, heads.values())
    except OSError as error:
        # The events are committed: the witness only lags, and the operator must know.
        logger.error("audit witness %s not written: %s", _path, error)


def _append(path: Path, heads: Iterable[Head]) -> None:
    data = "".join(head.line() for head in heads).encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, data)
    finally:
        os.close(descriptor)


def read(path: Path, key: AuditKey) -> dict[str, Head]:
    """The latest head of each chain the witness saw; `WitnessError` if it is missing or any
    line is not one the audit key signed."""
    if not path.is_file():
        raise MissingWitness(
            f"the audit witness {path} is missing: without it, cut chains cannot be detected "
            "(restore it, or start a new one from a verified database with "
            "`carnet audit new-witness`)"
        )
    heads: dict[str, Head] = {}
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            head = _parse(text)
            if head is None or not key.verify(head.chain, head.seq, head.hash, head.signature):
                raise WitnessError(
                    f"the audit witness {path} was edited: line {number} is not a head signed "
                    "with the audit key"
                )
            if head.chain not in heads or head.seq > heads[head.chain].seq:
                heads[head.chain] = head
    return heads


async def load(path: Path, key: AuditKey) -> dict[str, Head]:
    """`read()`, except that a missing witness is no error while the database holds no
    signed event (a new portal, or one upgraded that has not appended since)."""
    try:
        return read(path, key)
    except MissingWitness:
        if await AuditEvent.exists().where(AuditEvent.signature != ""):
            raise
        return {}


def _parse(text: str) -> Head | None:
    try:
        fields = json.loads(text)
        head = Head(
            str(fields["chain"]), int(fields["seq"]), str(fields["hash"]), str(fields["signature"])
        )
    except (ValueError, KeyError, TypeError):
        return None
    return head if set(fields) == {"chain", "seq", "hash", "signature"} else None


async def database_heads() -> list[Head]:
    """The signed head of every chain in the database."""
    rows = await AuditEvent.raw(
        "SELECT e.chain, e.seq, e.hash, e.signature FROM audit_event e "
        "JOIN (SELECT chain, MAX(seq) AS seq FROM audit_event GROUP BY chain) h "
        "ON e.chain = h.chain AND e.seq = h.seq WHERE e.signature <> '' ORDER BY e.chain"
    )
    return [Head(row["chain"], row["seq"], row["hash"], row["signature"]) for row in rows]


async def restart(path: Path, key: AuditKey) -> Path | None:
    """Start a new witness at ``path`` from the database's heads, once the database verifies
    (after a restore: the old witness saw heads the restored database never had). The current
    file, if any, is renamed with the time it was put aside, and that name returned.
    Raises `WitnessError` if the database does not verify: a witness must not vouch for it."""
    # Imported here: verification reads the trail, which writes to the witness.
    from portal.audit.verification import verify

    report = await verify(key, witness=None)
    if not report.intact:
        raise WitnessError(
            f"the audit trail does not verify ({report.problems[0]}): no new witness started"
        )
    return _start(path, await database_heads())


def _start(path: Path, heads: list[Head]) -> Path | None:
    kept = None
    if path.exists():
        kept = path.with_name(f"{path.name}.{clock.now().strftime('%Y%m%dT%H%M%S%fZ')}")
        path.rename(kept)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    _append(path, heads)
    return kept
