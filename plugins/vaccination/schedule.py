"""What is due: the schedule's rules (`reference.RULES`) applied to a person's birth date and
recorded vaccinations, on a given day. Pure functions, so that the section page, the card, the
emergency card and the reminders say the same thing.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from plugins.vaccination.reference import RULES, TETANUS_VACCINES, Rule

UP_TO_DATE = "up_to_date"
DUE = "due"
OVERDUE = "overdue"
#: Worst first: how the list of what is due is sorted.
SEVERITY = {OVERDUE: 0, DUE: 1, UP_TO_DATE: 2}
#: A rule that is up to date shows its next date only when it falls within this many months.
SOON_MONTHS = 12


@dataclass(frozen=True)
class Due:
    """Where a person stands on one rule of the schedule."""

    rule: Rule
    status: str
    #: When the next dose or booster is (or was) due; None when the series is complete.
    due_on: date | None
    #: Which dose is next (1 for the first), for a series; 0 otherwise.
    dose: int = 0
    last_given: date | None = None

    @property
    def pending(self) -> bool:
        return self.status in (DUE, OVERDUE)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def _month_day(year: int, text: str) -> date:
    month, day = (int(part) for part in text.split("-"))
    return date(year, month, day)


def _late(due_on: date, rule: Rule, today: date) -> str:
    if today < due_on:
        return UP_TO_DATE
    return DUE if today < add_months(due_on, rule.grace_months) else OVERDUE


def _series(rule: Rule, birth: date, given: list[date], today: date) -> Due | None:
    if rule.born_from and birth < rule.born_from:
        return None
    counted = [day for day in given if day >= add_months(birth, rule.counts_from_months)]
    last = counted[-1] if counted else None
    if len(counted) >= len(rule.doses_at_months):
        return Due(rule, UP_TO_DATE, None, 0, last)
    if rule.until_months is not None and today >= add_months(birth, rule.until_months):
        return None  # past the age of catching up: no longer recommended for everyone
    due_on = add_months(birth, rule.doses_at_months[len(counted)])
    return Due(rule, _late(due_on, rule, today), due_on, len(counted) + 1, last)


def _milestones(rule: Rule):
    yield from rule.ages_years
    age = rule.ages_years[-1]
    while True:
        age += rule.every_years
        yield age


def _boosters(rule: Rule, birth: date, given: list[date], today: date) -> Due | None:
    if today < add_years(birth, rule.ages_years[0] - rule.early_years):
        return None  # the childhood series covers the years before
    last = given[-1] if given else None
    reached, upcoming = None, None
    for age in _milestones(rule):
        if add_years(birth, age) > today:
            upcoming = age
            break
        reached = age
    if reached is None or (last and last >= add_years(birth, reached - rule.early_years)):
        return Due(rule, UP_TO_DATE, add_years(birth, upcoming), 0, last)
    due_on = add_years(birth, reached)
    return Due(rule, _late(due_on, rule, today), due_on, 0, last)


def _seasonal(rule: Rule, birth: date, given: list[date], today: date) -> Due | None:
    if today < add_years(birth, rule.from_age_years):
        return None
    season_year = (
        today.year if today >= _month_day(today.year, rule.season_start) else today.year - 1
    )
    season_start = _month_day(season_year, rule.season_start)
    campaign_start = _month_day(season_year, rule.campaign_start)
    campaign_end = _month_day(season_year + 1, rule.campaign_end)
    last = given[-1] if given else None
    next_campaign = _month_day(season_year + 1, rule.campaign_start)
    if last and last >= season_start:
        return Due(rule, UP_TO_DATE, next_campaign, 0, last)
    if today < campaign_start:
        return Due(rule, UP_TO_DATE, campaign_start, 0, last)
    if today <= campaign_end:
        return Due(rule, DUE, campaign_start, 0, last)
    return Due(rule, UP_TO_DATE, next_campaign, 0, last)


KIND = {"series": _series, "boosters": _boosters, "seasonal": _seasonal}


def _given(records: Iterable[Mapping[str, Any]], vaccines: Iterable[str]) -> list[date]:
    wanted = set(vaccines)
    return sorted(record["given_on"] for record in records if record["vaccine"] in wanted)


def schedule_for(birth: date, records: Iterable[Mapping[str, Any]], today: date) -> list[Due]:
    """Every rule that applies to the person (``records``: their vaccinations, each with
    ``vaccine`` and ``given_on``), the most pressing first."""
    records = list(records)
    answers = []
    for rule in RULES:
        answer = KIND[rule.kind](rule, birth, _given(records, rule.vaccines), today)
        if answer is not None:
            answers.append(answer)
    return sorted(
        answers, key=lambda due: (SEVERITY[due.status], due.due_on or date.max, due.rule.key)
    )


def pending(schedule: Iterable[Due]) -> list[Due]:
    """What is due or overdue."""
    return [due for due in schedule if due.pending]


def soon(schedule: Iterable[Due], today: date) -> list[Due]:
    """What is up to date but falls due within `SOON_MONTHS`."""
    horizon = add_months(today, SOON_MONTHS)
    return [
        due
        for due in schedule
        if due.status == UP_TO_DATE and due.due_on is not None and due.due_on <= horizon
    ]


@dataclass(frozen=True)
class Tetanus:
    """The emergency card's line: is the person protected against tetanus?"""

    status: str  # UP_TO_DATE, DUE, OVERDUE, or "" when nothing is recorded
    last_given: date | None
    next_due: date | None


def tetanus_status(birth: date, records: Iterable[Mapping[str, Any]], today: date) -> Tetanus:
    records = list(records)
    given = _given(records, TETANUS_VACCINES)
    if not given:
        return Tetanus("", None, None)
    by_key = {due.rule.key: due for due in schedule_for(birth, records, today)}
    due = by_key.get("dtpolio_adulte") or by_key.get("dtcapolio_enfant")
    if due is None:
        # Between the childhood series and the first adult booster: protected when the last
        # dose is less than twenty years old.
        next_due = add_years(given[-1], 20)
        return Tetanus(UP_TO_DATE if today < next_due else OVERDUE, given[-1], next_due)
    return Tetanus(due.status, given[-1], due.due_on)
