"""The audit key (Ed25519) and what it signs: every event, and the checkpoints of old chains.

Hash chains show that an event was changed, removed or moved; they cannot show that the whole
log, or its last events, were replaced by another, self-consistent version: anyone can
recompute a SHA-256. Signatures can: only the holder of the audit key signs, and the message
signed is the event's (chain, seq, hash), which, through the hash chain, vouches for every
event before it too. `record()` signs every event as it is appended; anyone checks a signature
with the public key the portal publishes (`PUBLIC_KEY_PATH`).

Events written before every event was signed carry no signature: the first signed event after
them vouches for them, and ``carnet audit sign`` signs a checkpoint on each chain whose head
is such an event (run it once after upgrading).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from portal import clock
from portal.audit.tables import AuditCheckpoint, AuditEvent

#: Where the portal publishes the audit trail's public key (`portal.audit.publication`).
PUBLIC_KEY_PATH = "/.well-known/carnet-audit-key"


@dataclass(frozen=True)
class AuditKey:
    private: Ed25519PrivateKey

    @cached_property  # deriving it is a scalar multiplication: once, not at every check
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @cached_property
    def key_id(self) -> str:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return hashlib.sha256(raw).hexdigest()[:16]

    @property
    def public_hex(self) -> str:
        """The public key's 32 raw bytes, hex: what the verifier of `docs/` is given."""
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return raw.hex()

    def sign(self, chain: str, seq: int, head_hash: str) -> str:
        return self.private.sign(_message(chain, seq, head_hash)).hex()

    def verify(self, chain: str, seq: int, head_hash: str, signature: str) -> bool:
        try:
            self.public.verify(bytes.fromhex(signature), _message(chain, seq, head_hash))
        except (InvalidSignature, ValueError):
            return False
        return True


def _message(chain: str, seq: int, head_hash: str) -> bytes:
    """What is signed, for an event as for a checkpoint (docs/verify_audit.py builds the same)."""
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


def sign_event(chain: str, seq: int, event_hash: str) -> str:
    """The installed key's signature of an event being appended ("" when none is installed,
    which `verify` reports)."""
    return _key.sign(chain, seq, event_hash) if _key is not None else ""


async def sign_heads(key: AuditKey) -> int:
    """Sign a checkpoint on every chain whose head is an unsigned event not yet vouched for
    by a checkpoint (events written before every event was signed); return how many."""
    heads = await AuditEvent.raw(
        "SELECT e.chain, e.seq, e.hash FROM audit_event e "
        "JOIN (SELECT chain, MAX(seq) AS seq FROM audit_event GROUP BY chain) h "
        "ON e.chain = h.chain AND e.seq = h.seq WHERE e.signature = ''"
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
