"""The key-encryption keys: what wraps each dossier's data key, never stored in the database.

A `KeyEncryptionKey` wraps and unwraps the 32-byte data key of one dossier, binding the
wrapped key to that dossier (a wrapped key copied onto another dossier does not unwrap). The
portal ships `MasterKey`, an AES-256-GCM key given as ``CARNET_MASTER_KEY`` (or generated
into ``CARNET_DATA_DIR`` in development). A deployment that keeps its key in a KMS or an HSM
provides its own object with the same three members (see docs/encryption.md): the portal never
needs the key-encryption key itself, only ``wrap`` and ``unwrap``.

The `Keyring` holds the current key-encryption key, which wraps every new data key, and the
previous ones still accepted while `carnet keys rotate` re-wraps the data keys they wrapped.
It also holds the `ShredRegister`: the dossiers purged for good, whose data keys are refused
even when an older copy of the database still holds them (crypto-shredding).
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: The length of every key: AES-256.
KEY_BYTES = 32
NONCE_BYTES = 12
#: The file of the development master key, and of the purged dossiers, in CARNET_DATA_DIR.
MASTER_KEY_FILE = "master_key"
SHRED_REGISTER_FILE = "shredded_dossiers"


class KeyUnavailable(Exception):
    """A dossier's data key cannot be unwrapped: shredded, or wrapped by a key not configured."""


class KeyEncryptionKey(Protocol):
    """What wraps the dossiers' data keys: the master key, or a KMS/HSM key."""

    #: A short, stable name of the key, stored beside each data key it wraps.
    key_id: str

    def wrap(self, data_key: bytes, dossier_id: UUID) -> bytes:
        """The data key of ``dossier_id``, encrypted and bound to that dossier."""

    def unwrap(self, wrapped: bytes, dossier_id: UUID) -> bytes:
        """The data key back; raises `KeyUnavailable` when it does not unwrap."""


def _wrapping_context(dossier_id: UUID) -> bytes:
    return b"carnet/data-key/" + dossier_id.bytes


@dataclass(frozen=True)
class MasterKey:
    """A key-encryption key held by the portal itself: 32 bytes, AES-256-GCM."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise ValueError("a master key is 32 bytes")

    @classmethod
    def from_text(cls, text: str) -> MasterKey:
        """The key as CARNET_MASTER_KEY gives it: 32 bytes in base64; ValueError otherwise."""
        try:
            secret = base64.b64decode(text.strip(), validate=True)
        except ValueError:
            raise ValueError("not base64") from None
        return cls(secret)

    @property
    def key_id(self) -> str:
        return hashlib.sha256(b"carnet/master-key/" + self.secret).hexdigest()[:16]

    def wrap(self, data_key: bytes, dossier_id: UUID) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.secret).encrypt(nonce, data_key, _wrapping_context(dossier_id))

    def unwrap(self, wrapped: bytes, dossier_id: UUID) -> bytes:
        try:
            return AESGCM(self.secret).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _wrapping_context(dossier_id)
            )
        except (InvalidTag, ValueError):
            raise KeyUnavailable(f"the data key of dossier {dossier_id} does not unwrap") from None


def new_master_key_text() -> str:
    """A fresh master key, as CARNET_MASTER_KEY takes it."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


class ShredRegister:
    """The dossiers whose data keys were destroyed, kept outside the database (one id a line,
    appended and synced before the purge commits): a copy of the database taken before a
    purge, restored after it, still holds the wrapped key, and the keyring refuses it.

    Other worker processes see a new line at their next look (the file's size is checked)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._size = -1
        self._ids: frozenset[UUID] = frozenset()

    def _current(self) -> frozenset[UUID]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size != self._size:
            text = self.path.read_text() if size else ""
            self._ids = frozenset(UUID(line) for line in text.split() if line)
            self._size = size
        return self._ids

    def __contains__(self, dossier_id: object) -> bool:
        return dossier_id in self._current()

    def add(self, dossier_id: UUID) -> None:
        if dossier_id in self:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, f"{dossier_id}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)


class Keyring:
    """The key-encryption keys of a running portal and the register of shredded dossiers."""

    def __init__(
        self,
        current: KeyEncryptionKey,
        previous: Iterable[KeyEncryptionKey] = (),
        *,
        shredded: ShredRegister,
    ) -> None:
        self.current = current
        self.keys = {key.key_id: key for key in (*previous, current)}
        self.shredded = shredded

    def wrap(self, data_key: bytes, dossier_id: UUID) -> tuple[str, bytes]:
        """(the wrapping key's id, the wrapped data key) under the current key."""
        return self.current.key_id, self.current.wrap(data_key, dossier_id)

    def unwrap(self, key_id: str, wrapped: bytes, dossier_id: UUID) -> bytes:
        if dossier_id in self.shredded:
            raise KeyUnavailable(f"the data key of dossier {dossier_id} was destroyed")
        key = self.keys.get(key_id)
        if key is None:
            raise KeyUnavailable(
                f"the data key of dossier {dossier_id} is wrapped by key {key_id}, "
                "which is not configured"
            )
        return key.unwrap(bytes(wrapped), dossier_id)
