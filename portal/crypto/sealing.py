"""Sealing one value of a dossier: AES-256-GCM under the dossier's data key, with associated
data naming the dossier, table, column and row, so that a sealed value copied to another
row, column or dossier does not open.

A sealed text is stored as text (``enc1:`` and the base64 of nonce and ciphertext), a sealed
file as bytes (``\\0enc1`` and nonce and ciphertext); a value stored before encryption was
turned on (plain text, a plain file) reads as it is, until `carnet keys encrypt` seals it.
A value that does not open reads as `unreadable()` (text) or no file at all, and is reported
to the caller, which traces it; the rest of the dossier opens.
"""

from __future__ import annotations

import binascii
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.crypto.keys import NONCE_BYTES
from portal.i18n import gettext as _

if TYPE_CHECKING:
    from portal.crypto import SealedTable

TEXT_PREFIX = "enc1:"
BYTES_PREFIX = b"\x00enc1"


def unreadable() -> str:
    """What a text that does not open shows instead, in the reader's language."""
    return _("[unreadable: this content could not be decrypted]")


def is_sealed(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith(TEXT_PREFIX)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value[: len(BYTES_PREFIX)]) == BYTES_PREFIX
    return False


@dataclass(frozen=True)
class Problem:
    """A value that did not open: where it is."""

    table: str
    column: str
    row_id: str


class Sealer:
    """Seals and opens the values of one dossier with its data key (``None``: the dossier's
    key is gone, every sealed value is unreadable)."""

    def __init__(self, dossier_id: UUID, data_key: bytes | None) -> None:
        self.dossier_id = dossier_id
        self._aead = AESGCM(data_key) if data_key is not None else None
        self._context = f"carnet/v1/{dossier_id}/"

    def _associated_data(self, table: str, column: str, row_id: Any) -> bytes:
        """What binds a value to its place: ``carnet/v1/{dossier}/{table}/{column}/{row}``."""
        return f"{self._context}{table}/{column}/{row_id}".encode()

    @property
    def has_key(self) -> bool:
        return self._aead is not None

    def seal(self, table: str, column: str, row_id: Any, value: str | bytes | None) -> Any:
        """``value`` sealed for its place; None and the empty value stay as they are."""
        if value is None or value in ("", b""):
            return value
        if self._aead is None:
            raise ValueError(f"dossier {self.dossier_id} has no data key to seal with")
        nonce = os.urandom(NONCE_BYTES)
        aad = self._associated_data(table, column, row_id)
        if isinstance(value, str):
            sealed = nonce + self._aead.encrypt(nonce, value.encode(), aad)
            return TEXT_PREFIX + binascii.b2a_base64(sealed, newline=False).decode()
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"only a text or a file seals, not {type(value).__name__} ({table}.{column})"
            )
        return BYTES_PREFIX + nonce + self._aead.encrypt(nonce, bytes(value), aad)

    def open(self, table: str, column: str, row_id: Any, stored: Any) -> tuple[Any, bool]:
        """(the value, whether it opened): a plain value reads as it is; one that does not
        open reads as `unreadable()` (text) or None (a file)."""
        if not is_sealed(stored):
            return stored, True
        text = isinstance(stored, str)
        aad = self._associated_data(table, column, row_id)
        try:
            if self._aead is None:
                raise InvalidTag
            if text:
                raw = binascii.a2b_base64(stored[len(TEXT_PREFIX) :])
            else:
                raw = bytes(stored)[len(BYTES_PREFIX) :]
            clear = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad)
        except (InvalidTag, ValueError):  # binascii.Error is a ValueError
            return (unreadable() if text else None), False
        return (clear.decode() if text else clear), True

    def seal_row(self, table: str, columns: tuple[str, ...], row_id: Any, row: dict) -> dict:
        """``row`` with its ``columns`` sealed (those it holds)."""
        return {
            key: self.seal(table, key, row_id, value) if key in columns else value
            for key, value in row.items()
        }

    def open_rows(self, spec: SealedTable, rows: list[dict]) -> list[Problem]:
        """Open the medical columns of ``rows`` (of ``spec``'s table) in place; the values
        that did not open."""
        problems = []
        table = spec.table._meta.tablename
        for row in rows:
            row_id = row[spec.row]
            for column in spec.columns:
                if column in row:
                    stored = _unquoted(row[column])
                    row[column], opened = self.open(table, column, row_id, stored)
                    if not opened:
                        problems.append(Problem(table, column, str(row_id)))
        return problems


def _unquoted(stored: Any) -> Any:
    """A sealed value as a JSON column holds it (a JSON string) as the sealed text; any other
    value as it is."""
    if isinstance(stored, str) and stored.startswith('"' + TEXT_PREFIX):
        try:
            return json.loads(stored)
        except ValueError:
            return stored
    return stored
