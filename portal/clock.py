"""The time, in one place, so that tests can move it (idle timeouts, expiring codes), and
how it is shown.

Call ``clock.now()`` through the module (``from portal import clock``), never import ``now``
itself, or a test's frozen clock would not reach you.

Times are computed and stored in UTC (the audit trail's "when" is UTC) and shown to people in
mainland France's time, summer time included: `day`, `day_and_time` and `time_of_day`, also
the templates' filters of the same names.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

#: The time zone people read times in.
ZONE = ZoneInfo("Europe/Paris")


def now() -> datetime:
    """The current time, in UTC, aware."""
    return datetime.now(UTC)


def local(moment: datetime) -> datetime:
    """``moment`` in `ZONE`; a naive one is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZONE)


def start_of(day: date) -> datetime:
    """The moment ``day`` begins where people read times, in UTC (for queries on moments)."""
    return datetime.combine(day, time(), ZONE).astimezone(UTC)


def day(moment: date | datetime) -> str:
    """12/04/2026: a date as it is, a moment by the day it was where people read it."""
    if isinstance(moment, datetime):
        moment = local(moment)
    return moment.strftime("%d/%m/%Y")


def day_and_time(moment: datetime) -> str:
    """12/04/2026 14:05, in `ZONE`."""
    return local(moment).strftime("%d/%m/%Y %H:%M")


def time_of_day(moment: datetime) -> str:
    """14:05, in `ZONE`."""
    return local(moment).strftime("%H:%M")


def age_on(birth_date: date, today: date) -> int:
    """How old someone born on ``birth_date`` is on ``today``, in whole years."""
    return (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )
