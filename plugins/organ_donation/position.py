"""A position on organ donation: what it may say, how it reads in one line, and its history
(every version kept; the current one is not superseded). Who may record it (the patient from
13, their representatives before) is the access policy's rule (`portal.access.policy`).

In France everyone is presumed a donor (Code de la santé publique, L1232-1); a refusal counts
when it is registered in the Registre national des refus (from 13), written, dated and signed
and given to a relative, or told to relatives, who then report it. Carnet keeps the position
and helps to make it count; it does not replace the register.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from plugins.organ_donation.tables import Position, Step
from portal import clock, crypto
from portal import gettext_lazy as _
from portal.access.policy import ORGAN_DONATION
from portal.web import typed_date

#: The access category of the section (ACCESS.md).
CATEGORY = ORGAN_DONATION
MESSAGE_MAX = 2000
HISTORY_SHOWN = 10

NO_OBJECTION = "no_objection"
TOTAL_REFUSAL = "total_refusal"
PARTIAL_REFUSAL = "partial_refusal"
STANCES = {
    NO_OBJECTION: _("No objection: I accept the removal of my organs and tissues"),
    TOTAL_REFUSAL: _("I refuse any removal of my organs and tissues"),
    PARTIAL_REFUSAL: _("I refuse some removals: the organs, tissues or purposes I tick"),
}
ORGANS = {
    "coeur": _("heart"),
    "poumons": _("lungs"),
    "foie": _("liver"),
    "reins": _("kidneys"),
    "pancreas": _("pancreas"),
    "intestins": _("intestines"),
}
TISSUES = {
    "cornees": _("corneas"),
    "peau": _("skin"),
    "os": _("bones"),
    "vaisseaux": _("blood vessels"),
    "valves": _("heart valves"),
}
PURPOSES = {
    "greffe": _("transplantation"),
    "recherche": _("scientific research"),
    "autopsie": _("medical autopsy"),
}
REMOVABLE = {**ORGANS, **TISSUES}
#: The three ways a refusal counts in law (décret 2016-1118).
WAYS = {
    "register": _("Registered in the Registre national des refus"),
    "written": _("Written, signed and given to a relative"),
    "told": _("Told to my relatives"),
}


def is_refusal(row: dict[str, Any] | None) -> bool:
    return row is not None and row["stance"] in (TOTAL_REFUSAL, PARTIAL_REFUSAL)


def keys(text: str) -> list[str]:
    return text.split()


def refused_labels(row: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The organs and tissues, and the purposes, a partial refusal names, as people read them."""
    return (
        [str(REMOVABLE[key]) for key in keys(row["refused_organs"]) if key in REMOVABLE],
        [str(PURPOSES[key]) for key in keys(row["refused_purposes"]) if key in PURPOSES],
    )


def line(row: dict[str, Any]) -> str:
    """The position in one line, short enough for the emergency card."""
    stated = clock.day(row["stated_on"])
    if row["stance"] == NO_OBJECTION:
        text = (
            _("No objection, wants to be a donor")
            if row["wants_to_donate"]
            else _("No objection to donation")
        )
        return f"{text} ({stated})"
    if row["stance"] == TOTAL_REFUSAL:
        return str(_("Refuses any removal of organs and tissues (%(date)s)") % {"date": stated})
    removals, purposes = refused_labels(row)
    names = {"removals": ", ".join(removals), "purposes": ", ".join(purposes), "date": stated}
    if removals and purposes:
        return str(_("Partial refusal: %(removals)s; for %(purposes)s (%(date)s)") % names)
    if purposes:
        return str(_("Partial refusal: for %(purposes)s (%(date)s)") % names)
    return str(_("Partial refusal: %(removals)s (%(date)s)") % names)


# --- the form --------------------------------------------------------------------------------


@dataclass
class Answers:
    """The form as typed, and what is wrong with it."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    stated_on: date | None = None

    @property
    def columns(self) -> dict[str, Any]:
        stance = self.values["stance"]
        partial = stance == PARTIAL_REFUSAL
        return {
            "stance": stance,
            "wants_to_donate": stance == NO_OBJECTION and self.values["wants_to_donate"],
            "refused_organs": " ".join(self.values["organs"]) if partial else "",
            "refused_purposes": " ".join(self.values["purposes"]) if partial else "",
            "message": self.values["message"],
            "stated_on": self.stated_on,
        }


def read_form(data: dict[str, Any], today: date, birth_date: date | None) -> Answers:
    values = {
        "stance": str(data.get("stance", "")),
        "wants_to_donate": data.get("wants_to_donate") == "on",
        "organs": [key for key in REMOVABLE if data.get(f"organ_{key}") == "on"],
        "purposes": [key for key in PURPOSES if data.get(f"purpose_{key}") == "on"],
        "message": str(data.get("message", "")).strip().replace("\r\n", "\n"),
        "stated_on": str(data.get("stated_on", "")).strip(),
    }
    answers = Answers(values)
    errors = answers.errors
    if values["stance"] not in STANCES:
        errors["stance"] = str(_("Choose your position."))
    elif values["stance"] == PARTIAL_REFUSAL and not (values["organs"] or values["purposes"]):
        errors["refusals"] = str(
            _("For a partial refusal, tick at least one organ or tissue, or one purpose.")
        )
    if len(values["message"]) > MESSAGE_MAX:
        errors["message"] = str(
            _("Keep the message under %(count)s characters.") % {"count": MESSAGE_MAX}
        )
    answers.stated_on = typed_date(values["stated_on"]) if values["stated_on"] else today
    if answers.stated_on is None or answers.stated_on > today:
        errors["stated_on"] = str(_("Give a date that is not in the future, e.g. 14/03/2026."))
    elif birth_date is not None and answers.stated_on < birth_date:
        errors["stated_on"] = str(_("Give a date after the birth date."))
    return answers


def as_typed(row: dict[str, Any] | None, today: date) -> dict[str, Any]:
    """The form's values for the current position (or an empty form)."""
    if row is None:
        return {
            "stance": "",
            "wants_to_donate": False,
            "organs": [],
            "purposes": [],
            "message": "",
            "stated_on": today.isoformat(),
        }
    return {
        "stance": row["stance"],
        "wants_to_donate": row["wants_to_donate"],
        "organs": keys(row["refused_organs"]),
        "purposes": keys(row["refused_purposes"]),
        "message": row["message"],
        "stated_on": row["stated_on"].isoformat(),
    }


# --- reading and writing --------------------------------------------------------------------


async def current(dossier_id: UUID) -> dict[str, Any] | None:
    row = (
        await Position.select()
        .where(Position.dossier == dossier_id, Position.superseded_at.is_null())
        .order_by(Position.id, ascending=False)
        .first()
    )
    return (await crypto.opened(dossier_id, Position, [row]))[0] if row else None


async def history(dossier_id: UUID) -> list[dict[str, Any]]:
    """The earlier positions, newest first."""
    rows = (
        await Position.select()
        .where(Position.dossier == dossier_id, Position.superseded_at.is_not_null())
        .order_by(Position.id, ascending=False)
        .limit(HISTORY_SHOWN)
    )
    return await crypto.opened(dossier_id, Position, rows)


async def steps(position_id: int) -> list[dict[str, Any]]:
    return await Step.select().where(Step.position == position_id).order_by(Step.done_on)


async def record(view, columns: dict[str, Any]) -> bool:
    """Make ``columns`` the current position of ``view``'s dossier, keeping the former one;
    False when it already is (a form sent twice adds nothing)."""
    before = await current(view.id)
    if before is not None and all(before[name] == value for name, value in columns.items()):
        return False
    if before is not None:
        await Position.update({Position.superseded_at: view.now}).where(Position.id == before["id"])
    await crypto.insert(
        Position(
            dossier=view.id,
            recorded_at=view.now,
            recorded_by=view.actor.account_id,
            recorded_by_name=view.trace_actor.name,
            recorded_as=view.opened.reason,
            **columns,
        )
    )
    return True


async def add_step(view, position_id: int, way: str, done_on: date) -> bool:
    """Note that the refusal was made to count in ``way`` on ``done_on``; False when it is
    noted already."""
    if await Step.exists().where(
        Step.position == position_id, Step.way == way, Step.done_on == done_on
    ):
        return False
    await Step.insert(
        Step(
            dossier=view.id,
            position=position_id,
            way=way,
            done_on=done_on,
            recorded_at=view.now,
            recorded_by=view.actor.account_id,
        )
    )
    return True
