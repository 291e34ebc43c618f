"""Signed checkpoints: the head of each chain, signed with the audit key (Ed25519).

Hash chains show that an event was changed, removed or moved; they cannot show that the whole
log was replaced by another, self-consistent one. Signatures can: only the holder of the audit
key can sign a chain head, and `verify` checks every checkpoint against the events.

A chain is signed in line every `SIGN_EVERY` events, and ``carnet audit sign`` (run it from a
timer, e.g. hourly) signs every head that moved since its last checkpoint.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from portal import clock
from portal.audit.tables import AuditCheckpoint, AuditEvent

SIGN_EVERY = 64


@dataclass(frozen=True)
class AuditKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, chain: str, seq: int, head_hash: str) -> str:
        return self.private.sign(_message(chain, seq, head_hash)).hex()

    def verify(self, chain: str, seq: int, head_hash: str, signature: str) -> bool:
        try:
            self.public.verify(bytes.fromhex(signature), _message(chain, seq, head_hash))
        except (InvalidSignature, ValueError):
            return False
        return True


def _message(chain: str, seq: int, head_hash: str) -> bytes:
    return f"carnet-audit-checkpoint\n{chain}\n{seq}\n{head_hash}".encode()


def key_from_text(text: str) -> AuditKey:
    """An audit key from its base64 form (32 random bytes, the Ed25519 seed)."""
    seed = base64.b64decode(text.strip(), validate=True)
    if len(seed) != 32:
        raise ValueError("an audit key is 32 bytes, base64-encoded")
    return AuditKey(Ed25519PrivateKey.from_private_bytes(seed))


_key: AuditKey | None = None


def install(key: AuditKey | None) -> None:
    """Use ``key`` for the checkpoints of this process (the app and the CLI install it)."""
    global _key
    _key = key


def installed() -> AuditKey | None:
    return _key


async def sign_if_due(chain: str, seq: int, head_hash: str) -> None:
    if _key is not None and seq % SIGN_EVERY == 0:
        await _checkpoint(_key, chain, seq, head_hash)


async def sign_heads(key: AuditKey) -> int:
    """Sign the head of every chain that moved since its last checkpoint; return how many."""
    heads = await AuditEvent.raw(
        "SELECT e.chain, e.seq, e.hash FROM audit_event e "
        "JOIN (SELECT chain, MAX(seq) AS seq FROM audit_event GROUP BY chain) h "
        "ON e.chain = h.chain AND e.seq = h.seq"
    )
    signed = await AuditCheckpoint.raw(
        "SELECT chain, MAX(seq) AS seq FROM audit_checkpoint GROUP BY chain"
    )
    last_signed = {row["chain"]: row["seq"] for row in signed}
    count = 0
    for head in heads:
        if head["seq"] > last_signed.get(head["chain"], 0):
            await _checkpoint(key, head["chain"], head["seq"], head["hash"])
            count += 1
    return count


async def _checkpoint(key: AuditKey, chain: str, seq: int, head_hash: str) -> None:
    await AuditCheckpoint.insert(
        AuditCheckpoint(
            chain=chain,
            seq=seq,
            hash=head_hash,
            signed_at=clock.now(),
            key_id=key.key_id,
            signature=key.sign(chain, seq, head_hash),
        )
    )
