"""What the section knows and checks: the questions of the advance directives (after the HAS
model form), the forms as typed and what is wrong with them, and the revisions as stored.

Nothing here decides who may see or write: the routes get a `DossierView` from the core, and
call these functions only for what the policy allowed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from plugins.end_of_life.tables import Directives, DirectivesKind, TrustedPerson
from portal import EmergencyItem, clock, crypto
from portal import gettext_lazy as _
from portal.access.policy import Item
from portal.web import typed_date

CATEGORY = "directives"
#: How the policy sees each kind of record of the section (the author decides who changes it).
DIRECTIVES_TYPE = "directives"
TRUSTED_PERSON_TYPE = "trusted_person"
TEXT_MAX = 4000
NAME_MAX = 120
PHONE = re.compile(r"\+?[0-9][0-9 .-]{5,24}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Question:
    key: str
    label: Any  # a lazy string
    hint: Any = ""


#: The two situations the HAS model form distinguishes.
SITUATIONS = {
    "health": _("I am in good health, or I have no serious illness"),
    "illness": _("I have a serious illness, or I think I am near the end of my life"),
}
#: The life-sustaining treatments the directives speak of, one question each.
TREATMENTS = (
    Question("resuscitation", _("Resuscitation if my heart or breathing stops")),
    Question("ventilation", _("Breathing through a machine (artificial ventilation)")),
    Question("dialysis", _("Dialysis, if my kidneys stop working")),
    Question("nutrition", _("Artificial nutrition and hydration (through a tube or a drip)")),
    Question("surgery", _("A surgical operation")),
)
#: The answers to a treatment or to sedation: "" when the person did not answer.
CHOICES = {
    "want": _("I want it"),
    "refuse": _("I do not want it"),
    "unsure": _("I do not know; let the doctors decide with my trusted person"),
}
SEDATION = Question(
    "sedation",
    _("Deep and continuous sedation until death, if my treatments are stopped"),
    _("A sleep induced by medicines so that I do not suffer, kept until the end."),
)
#: The questions answered in words.
TEXTS = (
    Question(
        "treatments_note",
        _("What else I want to say about these treatments"),
        _("For example, in which situations you would or would not want them."),
    ),
    Question(
        "suffering_note",
        _("The relief of my suffering"),
        _(
            "For example, whether you accept medicines that relieve pain even if they make "
            "you sleep."
        ),
    ),
    Question(
        "place_of_care",
        _("Where I would like to be cared for at the end of my life"),
        _("At home, in hospital, in a palliative care unit…"),
    ),
    Question(
        "what_matters",
        _("What matters to me"),
        _("Your values, your beliefs, the people you want near you."),
    ),
    Question("free_text", _("My wishes in my own words")),
)
CHOICE_KEYS = (*(question.key for question in TREATMENTS), SEDATION.key)
TEXT_KEYS = tuple(question.key for question in TEXTS)
WITNESS_FIELDS = ("witness_1_name", "witness_1_quality", "witness_2_name", "witness_2_quality")
DIRECTIVES_FIELDS = (
    "kind",
    "situation",
    *CHOICE_KEYS,
    *TEXT_KEYS,
    "elsewhere_place",
    "elsewhere_holder",
    *WITNESS_FIELDS,
)
TRUSTED_PERSON_FIELDS = ("name", "relation", "phone", "email", "accepted_on")


def directives_item(author: UUID | None) -> Item:
    return Item(CATEGORY, DIRECTIVES_TYPE, author=author)


def trusted_person_item(author: UUID | None) -> Item:
    return Item(CATEGORY, TRUSTED_PERSON_TYPE, author=author)


# --- the forms ------------------------------------------------------------------------------


@dataclass
class Typed:
    """A form as typed, what is wrong with it, and what would be stored."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)


def _values(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(data.get(name, "")).strip() for name in names}


def _checked(data: dict[str, Any], name: str) -> bool:
    return str(data.get(name, "")) == "on"


def read_directives(data: dict[str, Any], *, on_behalf: bool) -> Typed:
    """The directives form: written here, or the record of directives kept elsewhere."""
    typed = Typed(_values(data, DIRECTIVES_FIELDS))
    values, errors = typed.values, typed.errors
    values["cannot_write"] = "on" if _checked(data, "cannot_write") else ""
    values["authorised"] = "on" if _checked(data, "authorised") else ""
    kind = values["kind"] or DirectivesKind.WRITTEN
    if kind not in (DirectivesKind.WRITTEN, DirectivesKind.ELSEWHERE):
        errors["kind"] = _("Choose whether you write your directives here or they are elsewhere.")
        return typed
    values["kind"] = kind
    if on_behalf and not values["authorised"]:
        errors["authorised"] = _(
            "A legal representative records these wishes only with the authorisation of the "
            "judge or the family council: tick the box to confirm it."
        )
    if kind == DirectivesKind.ELSEWHERE:
        _read_elsewhere(typed)
    else:
        _read_written(typed)
    typed.columns["on_behalf"] = on_behalf
    return typed


def _read_elsewhere(typed: Typed) -> None:
    values, errors = typed.values, typed.errors
    if not values["elsewhere_place"]:
        errors["elsewhere_place"] = _("Say where your directives are kept.")
    elif len(values["elsewhere_place"]) > TEXT_MAX:
        errors["elsewhere_place"] = _too_long()
    if not values["elsewhere_holder"]:
        errors["elsewhere_holder"] = _("Say who holds them (it may be you).")
    elif len(values["elsewhere_holder"]) > TEXT_MAX:
        errors["elsewhere_holder"] = _too_long()
    typed.columns.update(
        kind=DirectivesKind.ELSEWHERE,
        situation="",
        answers={},
        elsewhere_place=values["elsewhere_place"],
        elsewhere_holder=values["elsewhere_holder"],
        witnesses=[],
    )


def _read_written(typed: Typed) -> None:
    values, errors = typed.values, typed.errors
    if values["situation"] and values["situation"] not in SITUATIONS:
        errors["situation"] = _("Choose one of the two situations.")
    answers: dict[str, str] = {}
    for key in CHOICE_KEYS:
        if values[key] and values[key] not in CHOICES:
            errors[key] = _("Choose one of the answers.")
        elif values[key]:
            answers[key] = values[key]
    for key in TEXT_KEYS:
        if len(values[key]) > TEXT_MAX:
            errors[key] = _too_long()
        elif values[key]:
            answers[key] = values[key]
    if not answers and not errors:
        errors["situation"] = _(
            "Your directives are empty: answer at least one question, or write your wishes "
            "in your own words."
        )
    witnesses = []
    if values["cannot_write"]:
        for number in (1, 2):
            name, quality = values[f"witness_{number}_name"], values[f"witness_{number}_quality"]
            if not name or len(name) > NAME_MAX:
                errors[f"witness_{number}_name"] = _(
                    "Give the witness's first and last name (120 characters at most)."
                )
            if not quality or len(quality) > NAME_MAX:
                errors[f"witness_{number}_quality"] = _(
                    "Say who the witness is to you (120 characters at most)."
                )
            witnesses.append({"name": name, "quality": quality})
        same = witnesses[0]["name"].casefold() == witnesses[1]["name"].casefold()
        if same and witnesses[0]["name"] and "witness_2_name" not in errors:
            errors["witness_2_name"] = _("The two witnesses must be two different people.")
    typed.columns.update(
        kind=DirectivesKind.WRITTEN,
        situation=values["situation"],
        answers=answers,
        elsewhere_place="",
        elsewhere_holder="",
        witnesses=witnesses,
    )


def read_trusted_person(data: dict[str, Any], *, on_behalf: bool, today: date) -> Typed:
    typed = Typed(_values(data, TRUSTED_PERSON_FIELDS))
    values, errors = typed.values, typed.errors
    values["authorised"] = "on" if _checked(data, "authorised") else ""
    if not values["name"] or len(values["name"]) > NAME_MAX:
        errors["name"] = _("Give the person's first and last name (120 characters at most).")
    if len(values["relation"]) > 60:
        errors["relation"] = _("60 characters at most.")
    if not values["phone"] and not values["email"]:
        errors["phone"] = _(
            "Give at least a phone number or an e-mail address, so that the care team can "
            "reach this person."
        )
    if values["phone"] and not PHONE.fullmatch(values["phone"]):
        errors["phone"] = _("Give a phone number, for example 06 12 34 56 78.")
    if values["email"] and (len(values["email"]) > 254 or not EMAIL.fullmatch(values["email"])):
        errors["email"] = _("Give an e-mail address, for example marie@exemple.fr.")
    accepted_on = None
    if values["accepted_on"]:
        accepted_on = typed_date(values["accepted_on"])
        if accepted_on is None:
            errors["accepted_on"] = _("Give the date as day/month/year, for example 14/03/2026.")
        elif accepted_on > today:
            errors["accepted_on"] = _("This date is still to come: give the day they accepted.")
    if on_behalf and not values["authorised"]:
        errors["authorised"] = _(
            "A legal representative records these wishes only with the authorisation of the "
            "judge or the family council: tick the box to confirm it."
        )
    typed.columns = {
        "removed": False,
        "name": values["name"],
        "relation": values["relation"],
        "phone": values["phone"],
        "email": values["email"],
        "accepted_on": accepted_on,
        "on_behalf": on_behalf,
    }
    return typed


def _too_long() -> str:
    return _("Keep this under %(count)s characters.") % {"count": TEXT_MAX}


# --- what is stored -------------------------------------------------------------------------

#: The columns that say what a revision holds (not who wrote it, nor when).
DIRECTIVES_CONTENT = (
    "kind", "situation", "answers", "elsewhere_place", "elsewhere_holder", "witnesses",
    "on_behalf",
)  # fmt: skip
TRUSTED_PERSON_CONTENT = ("removed", "name", "relation", "phone", "email", "accepted_on")


async def _opened_directives(dossier_id: UUID, rows: list[dict[str, Any]]) -> list[dict]:
    """Revisions with their medical columns opened, the answers and witnesses loaded (a
    revision that does not open shows none)."""
    await crypto.opened(dossier_id, Directives, rows)
    for row in rows:
        for name, empty in (("answers", {}), ("witnesses", [])):
            if isinstance(row[name], str):
                try:
                    row[name] = json.loads(row[name])
                except ValueError:
                    row[name] = empty
    return rows


async def directives_history(dossier_id: UUID) -> list[dict[str, Any]]:
    """Every revision of the dossier's directives, the latest first."""
    rows = (
        await Directives.select()
        .where(Directives.dossier == dossier_id)
        .order_by(Directives.number, ascending=False)
        .output(load_json=True)
    )
    return await _opened_directives(dossier_id, rows)


async def latest_directives(dossier_id: UUID) -> dict[str, Any] | None:
    """The latest revision (it may be a revocation), or None."""
    row = (
        await Directives.select()
        .where(Directives.dossier == dossier_id)
        .order_by(Directives.number, ascending=False)
        .first()
        .output(load_json=True)
    )
    return (await _opened_directives(dossier_id, [row]))[0] if row else None


def valid(directives: dict[str, Any] | None) -> dict[str, Any] | None:
    """The directives that count, if the latest revision is not a revocation."""
    if directives is None or directives["kind"] == DirectivesKind.REVOKED:
        return None
    return directives


async def trusted_person_history(dossier_id: UUID) -> list[dict[str, Any]]:
    rows = (
        await TrustedPerson.select()
        .where(TrustedPerson.dossier == dossier_id)
        .order_by(TrustedPerson.number, ascending=False)
    )
    return await crypto.opened(dossier_id, TrustedPerson, rows)


async def latest_trusted_person(dossier_id: UUID) -> dict[str, Any] | None:
    row = (
        await TrustedPerson.select()
        .where(TrustedPerson.dossier == dossier_id)
        .order_by(TrustedPerson.number, ascending=False)
        .first()
    )
    return (await crypto.opened(dossier_id, TrustedPerson, [row]))[0] if row else None


def designated(person: dict[str, Any] | None) -> dict[str, Any] | None:
    """The trusted person, if one is designated now."""
    return None if person is None or person["removed"] else person


def same_content(row: dict[str, Any] | None, columns: dict[str, Any], names: tuple) -> bool:
    """Whether a new revision would say what ``row`` says (a form sent twice adds nothing)."""
    return row is not None and all(row[name] == columns.get(name, row[name]) for name in names)


async def add_directives(
    dossier_id: UUID, columns: dict[str, Any], *, author: UUID, author_name: str, now: datetime
) -> bool:
    """Store a revision, unless it says what the latest says; whether one was added. Call it
    inside the write transaction that traces the change (`DossierView.acting`)."""
    latest = await latest_directives(dossier_id)
    if same_content(latest, columns, DIRECTIVES_CONTENT):
        return False
    await crypto.insert(
        Directives(
            dossier=dossier_id,
            number=(latest["number"] if latest else 0) + 1,
            author=author,
            author_name=author_name,
            created_at=now,
            **{
                "situation": "",
                "answers": {},
                "elsewhere_place": "",
                "elsewhere_holder": "",
                "witnesses": [],
                "on_behalf": False,
                **columns,
            },
        )
    )
    return True


async def add_trusted_person(
    dossier_id: UUID, columns: dict[str, Any], *, author: UUID, author_name: str, now: datetime
) -> bool:
    latest = await latest_trusted_person(dossier_id)
    if same_content(latest, columns, TRUSTED_PERSON_CONTENT):
        return False
    await crypto.insert(
        TrustedPerson(
            dossier=dossier_id,
            number=(latest["number"] if latest else 0) + 1,
            author=author,
            author_name=author_name,
            created_at=now,
            **columns,
        )
    )
    return True


async def current(dossier_id: UUID) -> dict[str, Any]:
    """The wishes that count now: the valid directives and the designated trusted person."""
    return {
        "directives": valid(await latest_directives(dossier_id)),
        "person": designated(await latest_trusted_person(dossier_id)),
    }


def vocabulary() -> dict[str, Any]:
    """What the templates need to put the answers into words."""
    return {
        "situations": SITUATIONS,
        "treatments": TREATMENTS,
        "choices": CHOICES,
        "sedation": SEDATION,
        "texts": TEXTS,
        "kinds": DirectivesKind,
    }


def emergency_lines(wishes: dict[str, Any]) -> list[EmergencyItem]:
    """The lines of the emergency card, short enough for a wallet."""
    directives, person = wishes["directives"], wishes["person"]
    lines = []
    if directives:
        date = clock.day(directives["created_at"])
        if directives["kind"] == DirectivesKind.ELSEWHERE:
            value = _("yes, of %(date)s, held by %(holder)s") % {
                "date": date,
                "holder": directives["elsewhere_holder"][:60],
            }
        else:
            value = _("yes, of %(date)s") % {"date": date}
        lines.append(EmergencyItem("directives", str(_("Advance directives")), str(value)))
    if person:
        relation = f" ({person['relation']})" if person["relation"] else ""
        lines.append(
            EmergencyItem("trusted_person", str(_("Trusted person")), person["name"] + relation)
        )
        if person["phone"]:
            lines.append(
                EmergencyItem(
                    "trusted_person_phone", str(_("Trusted person’s phone")), person["phone"]
                )
            )
    return lines
