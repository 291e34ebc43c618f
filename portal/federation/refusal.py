"""`LoginRefused`: why a login (or a link) through a national identity provider is refused."""

from __future__ import annotations

from typing import Any


class LoginRefused(Exception):
    """An identity that cannot log in (or be linked) here. ``reason`` is for the audit trail,
    `message` for the person; ``account`` the account concerned, when it is known."""

    def __init__(
        self, reason: str, message: Any, account: dict | None = None, **params: str
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.account = account
        self._message = message
        self._params = params

    @property
    def message(self) -> str:
        """What to tell the person, in their language."""
        return str(self._message) % self._params if self._params else str(self._message)
