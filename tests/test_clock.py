"""Times are kept in UTC and shown in mainland France's time, summer time included."""

from datetime import UTC, date, datetime

from portal import clock


def test_a_moment_is_shown_in_paris_time_winter_and_summer():
    assert clock.day_and_time(datetime(2026, 1, 10, 9, 0, tzinfo=UTC)) == "10/01/2026 10:00"
    assert clock.day_and_time(datetime(2026, 7, 10, 9, 0, tzinfo=UTC)) == "10/07/2026 11:00"
    assert clock.time_of_day(datetime(2026, 7, 10, 9, 5, tzinfo=UTC)) == "11:05"


def test_a_moment_falls_on_the_day_it_was_in_france():
    late_evening = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert clock.day(late_evening) == "01/01/2027"
    assert clock.day(datetime(2026, 12, 31, 23, 30)) == "01/01/2027"  # naive: taken as UTC
    assert clock.day(date(2026, 12, 31)) == "31/12/2026"  # a date is a date


def test_a_day_begins_at_midnight_in_france():
    assert clock.start_of(date(2026, 1, 10)) == datetime(2026, 1, 9, 23, 0, tzinfo=UTC)
    assert clock.start_of(date(2026, 7, 10)) == datetime(2026, 7, 9, 22, 0, tzinfo=UTC)
