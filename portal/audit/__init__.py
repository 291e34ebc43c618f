"""The audit trail: every access to patient data and every login, traced and tamper-evident.

`record()` is the only way to write it (see `portal.audit.trail`); `verify()` checks it.
"""

from portal.audit.trail import Action, Actor, Mode, Outcome, Purpose, record

__all__ = ["Action", "Actor", "Mode", "Outcome", "Purpose", "record"]
