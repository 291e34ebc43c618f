"""Reading and recording the occupational health record for a `DossierView`: the forms'
checks (reversed or overlapping periods, unknown agents), the rows, and what is due.

Every record is described to the policy as an `Item` of ``sante_travail`` with its author;
the routes decide and trace through the view, this module only reads and writes rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from piccolo.table import Table

from plugins.occupational_health import vocabulary
from plugins.occupational_health.tables import Exposure, Incident, Job, Visit
from portal import clock, crypto
from portal.access.policy import OCCUPATIONAL_HEALTH, Item
from portal.access.view import DossierView
from portal.i18n import gettext as _
from portal.web import typed_date

CATEGORY = OCCUPATIONAL_HEALTH
TEXT_MAX = 200
NOTE_MAX = 4000
#: The periodic visit is due at most 5 years after the last one (Code du travail, R4624-16);
#: the card counts from the last visit of any kind.
VISIT_INTERVAL_YEARS = 5


def item_of(row: dict[str, Any]) -> Item:
    """The policy's view of a row of any of the section's tables."""
    return Item(CATEGORY, author=row["author"])


@dataclass
class Answers:
    """A form as typed, what is wrong with it, and the columns to save."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)


def _values(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(data.get(name) or "").strip() for name in names}


def _text(answers: Answers, name: str, required: bool = True, limit: int = TEXT_MAX) -> None:
    value = answers.values[name]
    if required and not value:
        answers.errors[name] = _("Fill in this field.")
    elif len(value) > limit:
        answers.errors[name] = _("Keep it under %(count)s characters.") % {"count": limit}
    else:
        answers.columns[name] = value


def _date(answers: Answers, name: str, today: date, required: bool = True) -> None:
    text = answers.values[name]
    if not text:
        if required:
            answers.errors[name] = _("Give the date.")
        else:
            answers.columns[name] = None
        return
    value = typed_date(text)
    if value is None:
        answers.errors[name] = _("Give the date as DD/MM/YYYY, e.g. 14/03/2019.")
        return
    if value > today:
        answers.errors[name] = _("This date is in the future.")
    elif value.year < 1900:
        answers.errors[name] = _("This date is too far in the past.")
    else:
        answers.columns[name] = value


def _choice(answers: Answers, name: str, choices: dict[str, Any], message: str) -> None:
    if answers.values[name] not in choices:
        answers.errors[name] = message
    else:
        answers.columns[name] = answers.values[name]


def _period(answers: Answers, today: date) -> None:
    _date(answers, "started", today)
    _date(answers, "ended", today, required=False)
    started, ended = answers.columns.get("started"), answers.columns.get("ended")
    if started and ended and ended < started:
        answers.errors["ended"] = _("The end of the period comes before its start.")


def _overlaps(started: date, ended: date | None, other: dict[str, Any]) -> bool:
    """Whether two periods share a day (an open period runs to this day)."""
    other_end = other["ended"] or date.max
    return started <= other_end and other["started"] <= (ended or date.max)


def _same(row: dict[str, Any], columns: dict[str, Any]) -> bool:
    return all(row[name] == value for name, value in columns.items())


JOB_FIELDS = ("employer", "job_title", "sector", "started", "ended")
EXPOSURE_FIELDS = ("agent", "started", "ended", "intensity", "assessment", "note")
VISIT_FIELDS = ("kind", "visited_on", "notice", "adjustments", "note")
INCIDENT_FIELDS = ("kind", "occurred_on", "description")


async def check_job(view: DossierView, data: dict[str, Any]) -> Answers:
    answers = Answers(_values(data, JOB_FIELDS))
    _text(answers, "employer")
    _text(answers, "job_title")
    _text(answers, "sector", required=False)
    _period(answers, view.now.date())
    if not answers.errors:
        for other in await Job.select().where(Job.dossier == view.id):
            if _same(other, answers.columns):
                continue  # the same post sent twice: recorded once
            if _overlaps(answers.columns["started"], answers.columns["ended"], other):
                answers.errors["started"] = _(
                    "This period overlaps the post of %(job)s at %(employer)s (from %(start)s). "
                    "Check the dates, or end that post first."
                ) % {
                    "job": other["job_title"],
                    "employer": other["employer"],
                    "start": clock.day(other["started"]),
                }
                break
    return answers


async def check_exposure(view: DossierView, data: dict[str, Any]) -> Answers:
    answers = Answers(_values(data, EXPOSURE_FIELDS))
    _choice(answers, "agent", vocabulary.AGENTS, _("Choose an agent from the list."))
    _period(answers, view.now.date())
    _choice(answers, "intensity", vocabulary.INTENSITIES, _("Choose the intensity."))
    _choice(answers, "assessment", vocabulary.ASSESSMENTS, _("Choose how it was assessed."))
    _text(answers, "note", required=False, limit=NOTE_MAX)
    if not answers.errors:
        same_agent = await _opened(
            view, Exposure, Exposure.select().where(Exposure.agent == answers.columns["agent"])
        )
        for other in same_agent:
            if _same(other, answers.columns):
                continue
            if _overlaps(answers.columns["started"], answers.columns["ended"], other):
                answers.errors["started"] = _(
                    "An exposure to this agent is already recorded over this period "
                    "(from %(start)s)."
                ) % {"start": clock.day(other["started"])}
                break
    return answers


async def check_visit(view: DossierView, data: dict[str, Any]) -> Answers:
    answers = Answers(_values(data, VISIT_FIELDS))
    _choice(answers, "kind", vocabulary.VISIT_KINDS, _("Choose the kind of visit."))
    _date(answers, "visited_on", view.now.date())
    _choice(answers, "notice", vocabulary.NOTICES, _("Choose the notice."))
    _text(answers, "adjustments", required=False, limit=NOTE_MAX)
    _text(answers, "note", required=False, limit=NOTE_MAX)
    if answers.columns.get("notice") == "inaptitude" and not answers.values["adjustments"]:
        answers.errors["adjustments"] = _(
            "An unfitness notice states the recommended adjustments or the reasons."
        )
    return answers


async def check_incident(view: DossierView, data: dict[str, Any]) -> Answers:
    answers = Answers(_values(data, INCIDENT_FIELDS))
    _choice(answers, "kind", vocabulary.INCIDENT_KINDS, _("Choose the kind."))
    _date(answers, "occurred_on", view.now.date())
    _text(answers, "description", limit=NOTE_MAX)
    return answers


TABLES: dict[str, type[Table]] = {
    "jobs": Job,
    "exposures": Exposure,
    "visits": Visit,
    "incidents": Incident,
}


async def save(view: DossierView, table: type[Table], columns: dict[str, Any]) -> UUID:
    """Record a row, its medical text sealed, unless the very same one is already there (a
    form sent twice: compared in clear, the sealed values never being equal)."""
    sealed = crypto.sealed_columns(table)
    candidates = table.select().where(
        *(
            getattr(table, name) == value
            for name, value in columns.items()
            if value is not None and name not in sealed
        )
    )
    for other in await _opened(view, table, candidates):
        if _same(other, columns):
            return other["id"]
    row = table(
        dossier=view.id,
        author=view.actor.account_id,
        author_name=view.trace_actor.name,
        created_at=view.now,
        **columns,
    )
    await crypto.insert(row)
    return row.id


async def _opened(view: DossierView, table: type[Table], query: Any) -> list[dict[str, Any]]:
    """The rows of the dossier ``query`` selects, their medical text opened."""
    return await crypto.opened(view.id, table, await query.where(table.dossier == view.id))


async def record_of(view: DossierView) -> dict[str, list[dict[str, Any]]]:
    """Everything the section holds for the dossier, most recent first."""
    return {
        "jobs": await _opened(view, Job, Job.select().order_by(Job.started, ascending=False)),
        "exposures": await _opened(
            view, Exposure, Exposure.select().order_by(Exposure.started, ascending=False)
        ),
        "visits": await _opened(
            view, Visit, Visit.select().order_by(Visit.visited_on, ascending=False)
        ),
        "incidents": await _opened(
            view, Incident, Incident.select().order_by(Incident.occurred_on, ascending=False)
        ),
    }


def follow_ups(exposures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The exposures that call for a post-exposure or post-professional follow-up."""
    return [
        {**exposure, "follow_up": vocabulary.AGENTS[exposure["agent"]].follow_up}
        for exposure in exposures
        if exposure["agent"] in vocabulary.AGENTS and vocabulary.AGENTS[exposure["agent"]].follow_up
    ]


def next_visit_due(visits: list[dict[str, Any]]) -> date | None:
    """When the next periodic visit is due at the latest, from the last visit."""
    if not visits:
        return None
    last = max(visit["visited_on"] for visit in visits)
    try:
        return last.replace(year=last.year + VISIT_INTERVAL_YEARS)
    except ValueError:  # 29 February
        return last.replace(year=last.year + VISIT_INTERVAL_YEARS, day=28)


def labels() -> dict[str, Any]:
    """The shipped lists, for the templates."""
    return {
        "agents": {key: agent.label for key, agent in vocabulary.AGENTS.items()},
        "intensities": vocabulary.INTENSITIES,
        "assessments": vocabulary.ASSESSMENTS,
        "visit_kinds": vocabulary.VISIT_KINDS,
        "notices": vocabulary.NOTICES,
        "incident_kinds": vocabulary.INCIDENT_KINDS,
    }
