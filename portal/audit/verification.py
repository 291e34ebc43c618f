"""Checking the trail: every chain unbroken and signed, as long as its witness saw it, and
every old checkpoint still matching.

`verify()` walks the events chain by chain in ``seq`` order, in batches, recomputing each
hash and checking each signature. For each chain it reports the first broken event (changed,
removed, moved, unsigned) in words; then it compares each chain's head with the witness
(`portal.audit.witness`): events missing at the end, or a whole chain gone that no purge
tombstone accounts for, are named; last, it checks the signed checkpoints of the chains
whose first events were written before every event was signed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from portal.audit.signing import AuditKey
from portal.audit.tables import AuditCheckpoint, AuditEvent
from portal.audit.trail import GENESIS, SYSTEM_CHAIN, Action, chain_of, event_hash

if TYPE_CHECKING:
    from portal.audit.witness import Head

BATCH = 5000


@dataclass(frozen=True)
class Problem:
    chain: str
    seq: int
    event_id: int | None
    what: str

    def __str__(self) -> str:
        if self.event_id is None:
            return f"#{self.seq} of {self.chain}: {self.what}"
        return f"event {self.event_id} (#{self.seq} of {self.chain}): {self.what}"


@dataclass
class Report:
    chains: int = 0
    events: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: Events written before every event was signed and not yet vouched for by a checkpoint
    #: (``carnet audit sign``), by chain.
    unsigned: dict[str, int] = field(default_factory=dict)
    #: Chains compared with their witness.
    witnessed: int = 0

    @property
    def intact(self) -> bool:
        return not self.problems


async def verify(
    key: AuditKey | None, dossier_id: UUID | None = None, witness: dict[str, Head] | None = None
) -> Report:
    """Verify every chain, or only the chain of ``dossier_id``, against ``witness`` (the heads
    `portal.audit.witness.read` returns) when given; memory stays constant."""
    report = Report()
    only = chain_of(dossier_id) if dossier_id else None
    walks: dict[str, _ChainWalk] = {}
    walk = None
    async for event in _events(only):
        if walk is None or event["chain"] != walk.chain:
            walk = walks[event["chain"]] = _ChainWalk(
                event["chain"], key, (witness or {}).get(event["chain"])
            )
            report.chains += 1
        report.events += 1
        problem = walk.step(event)
        if problem:
            report.problems.append(problem)
    for walk in walks.values():
        report.problems.extend(walk.finish())
    if witness is not None:
        await _check_missing_chains(witness, only, walks, report)
    await _check_checkpoints(key, only, walks, report)
    return report


class _ChainWalk:
    """Follows one chain event by event and reports only its first break."""

    def __init__(self, chain: str, key: AuditKey | None, witnessed: Head | None):
        self.chain = chain
        self.key = key
        self.witnessed = witnessed
        self.previous_hash = GENESIS
        self.expected_seq = 1
        self.broken = False
        #: The last event that carries a signature (every one after it must too).
        self.last_signed = 0
        self.head = 0

    def step(self, event: dict) -> Problem | None:
        problem = None if self.broken else self._check(event) or self._against_witness(event)
        self.broken = self.broken or problem is not None
        self.previous_hash, self.expected_seq = event["hash"], event["seq"] + 1
        self.head = event["seq"]
        return problem

    def _against_witness(self, event: dict) -> Problem | None:
        witnessed = self.witnessed
        if witnessed and event["seq"] == witnessed.seq and event["hash"] != witnessed.hash:
            return Problem(
                self.chain, event["seq"], event["id"],
                "does not match the witness: the chain was rewritten up to here",
            )  # fmt: skip
        return None

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
        if event["signature"]:
            if self.key is None or not self.key.verify(
                self.chain, seq, event["hash"], event["signature"]
            ):
                return Problem(self.chain, seq, event_id, "its signature is not valid")
            self.last_signed = seq
        elif self.last_signed:
            return Problem(self.chain, seq, event_id, "is not signed: the portal did not write it")
        return None

    def finish(self) -> list[Problem]:
        """What the witness saw that the chain no longer has."""
        witnessed = self.witnessed
        if witnessed is None or witnessed.seq <= self.head:
            return []
        return [
            Problem(
                self.chain, self.head + 1, None,
                f"{_removed(self.head + 1, witnessed.seq)} after #{self.head} "
                f"(the witness saw the chain up to #{witnessed.seq})",
            )
        ]  # fmt: skip


def _removed(first: int, last: int) -> str:
    if first == last:
        return f"event #{first} was removed"
    return f"events #{first} to #{last} were removed"


async def _check_missing_chains(
    witness: dict[str, Head], only: str | None, walks: dict[str, _ChainWalk], report: Report
) -> None:
    """Every chain the witness saw is still there, or was purged with its dossier."""
    for chain, head in sorted(witness.items()):
        if only and chain != only:
            continue
        report.witnessed += 1
        if chain in walks or await _purged(chain):
            continue
        report.problems.append(
            Problem(
                chain, 1, None,
                f"{_removed(1, head.seq)}: the whole chain is gone, and no purge of its dossier "
                f"was recorded (the witness saw the chain up to #{head.seq})",
            )
        )  # fmt: skip


async def _purged(chain: str) -> bool:
    """The system chain holds the tombstone of this dossier chain's purge."""
    if not chain.startswith("dossier:"):
        return False
    return await AuditEvent.exists().where(
        AuditEvent.chain == SYSTEM_CHAIN,
        AuditEvent.action == str(Action.PURGE),
        AuditEvent.target_id == chain.removeprefix("dossier:"),
    )


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
    key: AuditKey | None, only: str | None, walks: dict[str, _ChainWalk], report: Report
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
    for chain, walk in walks.items():
        vouched = max(walk.last_signed, last_signed.get(chain, 0))
        if walk.head > vouched:
            report.unsigned[chain] = walk.head - vouched


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
