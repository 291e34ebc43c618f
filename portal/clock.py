"""The time, in one place, so that tests can move it (idle timeouts, expiring codes).

Call ``clock.now()`` through the module (``from portal import clock``), never import ``now``
itself, or a test's frozen clock would not reach you.
"""

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, in UTC, aware."""
    return datetime.now(UTC)
