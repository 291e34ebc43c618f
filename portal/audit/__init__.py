"""The audit trail: every access to patient data and every login, traced and tamper-evident.

`record()` is the only way to write it (see `portal.audit.trail`); `verify()` checks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.audit import signing, witness
from portal.audit.trail import Action, Actor, Mode, Outcome, Purpose, record

if TYPE_CHECKING:
    from portal.settings import Settings

__all__ = ["Action", "Actor", "Mode", "Outcome", "Purpose", "install", "record"]


def install(settings: Settings) -> None:
    """Sign this process's events with the settings' audit key, and witness them in their
    witness file (the app, the commands and the tests call it once the database is)."""
    signing.install(signing.key_from_text(settings.audit_key))
    witness.install(settings.audit_witness)
