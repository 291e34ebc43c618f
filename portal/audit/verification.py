"""Checking the trail: every chain unbroken, every checkpoint signed and still matching.

`verify()` walks the events chain by chain in ``seq`` order, in batches, recomputing each
hash. For each chain it reports the first broken event (changed, removed or moved) in words;
then it checks every signed checkpoint against the key and against the event it vouches for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from portal.audit.signing import AuditKey
from portal.audit.tables import AuditCheckpoint, AuditEvent
from portal.audit.trail import GENESIS, chain_of, event_hash

BATCH = 5000


@dataclass(frozen=True)
class Problem:
    chain: str
    seq: int
    event_id: int | None
    what: str

    def __str__(self) -> str:
        where = f"event {self.event_id} (#{self.seq} of {self.chain})"
        return f"{where}: {self.what}"


@dataclass
class Report:
    chains: int = 0
    events: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: Events after the last signed checkpoint of their chain, by chain.
    unsigned: dict[str, int] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return not self.problems


async def verify(key: AuditKey | None, dossier_id: UUID | None = None) -> Report:
    """Verify every chain, or only the chain of ``dossier_id``; memory stays constant."""
    report = Report()
    only = chain_of(dossier_id) if dossier_id else None
    heads: dict[str, tuple[int, str]] = {}
    walk = None
    async for event in _events(only):
        if walk is None or event["chain"] != walk.chain:
            walk = _ChainWalk(event["chain"])
            report.chains += 1
        report.events += 1
        problem = walk.step(event)
        if problem:
            report.problems.append(problem)
        heads[walk.chain] = (event["seq"], event["hash"])
    await _check_checkpoints(key, only, heads, report)
    return report


class _ChainWalk:
    """Follows one chain event by event and reports only its first break."""

    def __init__(self, chain: str):
        self.chain = chain
        self.previous_hash = GENESIS
        self.expected_seq = 1
        self.broken = False

    def step(self, event: dict) -> Problem | None:
        problem = None if self.broken else self._check(event)
        self.broken = self.broken or problem is not None
        self.previous_hash, self.expected_seq = event["hash"], event["seq"] + 1
        return problem

    def _check(self, event: dict) -> Problem | None:
        seq, event_id = event["seq"], event["id"]
        if seq != self.expected_seq:
            what = "is missing" if seq > self.expected_seq else "appears twice or was moved"
            return Problem(
                self.chain, self.expected_seq, event_id, f"event #{self.expected_seq} {what}"
            )
        if event["previous_hash"] != self.previous_hash:
            return Problem(self.chain, seq, event_id, "does not follow the event before it")
        if event_hash(event) != event["hash"]:
            return Problem(self.chain, seq, event_id, "was modified after it was written")
        return None


async def _events(only: str | None):
    """Every event in (chain, seq) order, read in batches by keyset pagination."""
    last = ("", 0)
    while True:
        query = AuditEvent.select().order_by(AuditEvent.chain).order_by(AuditEvent.seq)
        if only:
            query = query.where(AuditEvent.chain == only, AuditEvent.seq > last[1])
        else:
            query = query.where(
                (AuditEvent.chain > last[0])
                | ((AuditEvent.chain == last[0]) & (AuditEvent.seq > last[1]))
            )
        batch = await query.limit(BATCH)
        for event in batch:
            yield event
        if len(batch) < BATCH:
            return
        last = (batch[-1]["chain"], batch[-1]["seq"])


async def _check_checkpoints(
    key: AuditKey | None, only: str | None, heads: dict[str, tuple[int, str]], report: Report
) -> None:
    query = AuditCheckpoint.select().order_by(AuditCheckpoint.chain).order_by(AuditCheckpoint.seq)
    if only:
        query = query.where(AuditCheckpoint.chain == only)
    checkpoints = await query
    report.checkpoints = len(checkpoints)
    last_signed: dict[str, int] = {}
    hashes = await _hashes_at(checkpoints)
    for checkpoint in checkpoints:
        chain, seq = checkpoint["chain"], checkpoint["seq"]
        if key is None or checkpoint["key_id"] != key.key_id:
            report.problems.append(
                Problem(chain, seq, None, "checkpoint signed with an unknown audit key")
            )
        elif not key.verify(chain, seq, checkpoint["hash"], checkpoint["signature"]):
            report.problems.append(Problem(chain, seq, None, "checkpoint signature is not valid"))
        elif hashes.get((chain, seq)) is None:
            report.problems.append(
                Problem(chain, seq, None, "a signed event no longer exists (the log was cut)")
            )
        elif hashes[(chain, seq)] != checkpoint["hash"]:
            report.problems.append(
                Problem(chain, seq, None, "the log no longer matches its signed checkpoint")
            )
        last_signed[chain] = max(last_signed.get(chain, 0), seq)
    for chain, (head_seq, _hash) in heads.items():
        if head_seq > last_signed.get(chain, 0):
            report.unsigned[chain] = head_seq - last_signed.get(chain, 0)


async def _hashes_at(checkpoints: list[dict]) -> dict[tuple[str, int], str]:
    hashes = {}
    for checkpoint in checkpoints:
        row = (
            await AuditEvent.select(AuditEvent.hash)
            .where(AuditEvent.chain == checkpoint["chain"], AuditEvent.seq == checkpoint["seq"])
            .first()
        )
        if row:
            hashes[(checkpoint["chain"], checkpoint["seq"])] = row["hash"]
    return hashes
