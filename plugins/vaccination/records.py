"""The vaccinations of a dossier: reading them, checking a form, saving a record, a correction
(a new version, the previous one kept) or a professional's confirmation of what the patient
copied from a paper carnet.

Every change goes through the dossier view (`portal.access.view`): the policy decides on the
record described as an `Item` of the ``vaccination`` category (so that only its author
corrects it), and the decision is traced in the same transaction as the change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from plugins.vaccination.reference import VACCINES
from plugins.vaccination.tables import Vaccination
from portal import clock, crypto
from portal import gettext_lazy as _
from portal.access.policy import Act, Item
from portal.access.view import DossierView
from portal.audit import Action
from portal.i18n import gettext
from portal.web import typed_date

CATEGORY = "vaccination"
DOSES = {
    "1": _("Dose 1"),
    "2": _("Dose 2"),
    "3": _("Dose 3"),
    "4": _("Dose 4"),
    "booster": _("Booster"),
}
ROUTES_OF_ADMINISTRATION = {
    "IM": _("Intramuscular"),
    "SC": _("Subcutaneous"),
    "ID": _("Intradermal"),
    "oral": _("By mouth"),
    "nasal": _("Nasal spray"),
}
SITES = {
    "deltoide_gauche": _("Left upper arm"),
    "deltoide_droit": _("Right upper arm"),
    "cuisse_gauche": _("Left thigh"),
    "cuisse_droite": _("Right thigh"),
    "avant_bras": _("Forearm"),
}
FIELDS = (
    "vaccine",
    "given_on",
    "dose",
    "lot",
    "vaccinator_name",
    "place",
    "route",
    "site",
    "notes",
)
LOT = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./-]{0,39}")
TEXT_MAX = 200
NOTES_MAX = 2000
#: Where "today" may already be tomorrow in UTC (overseas territories as far as UTC+14).
FURTHEST_TIMEZONE = timedelta(hours=14)


def item_of(record: dict[str, Any]) -> Item:
    """The policy's view of a record: only its author changes it."""
    return Item(CATEGORY, author=record["author"])


def target(record_id: UUID) -> dict[str, str]:
    return {"target_type": "vaccination", "target_id": str(record_id)}


# --- reading --------------------------------------------------------------------------------


async def current(dossier_id: UUID) -> list[dict[str, Any]]:
    """The current version of every record, the most recent vaccination first."""
    rows = (
        await Vaccination.select()
        .where(Vaccination.dossier == dossier_id, Vaccination.superseded_at.is_null())
        .order_by(Vaccination.given_on, ascending=False)
        .order_by(Vaccination.created_at, ascending=False)
    )
    return await crypto.opened(dossier_id, Vaccination, rows)


async def current_version(dossier_id: UUID, record_id: Any) -> dict[str, Any] | None:
    """The current version of the record ``record_id`` (any of its versions' ids) in this
    dossier, or None."""
    try:
        record_id = UUID(str(record_id))
    except ValueError:
        return None
    lineage = (
        await Vaccination.select(Vaccination.lineage)
        .where(Vaccination.id == record_id, Vaccination.dossier == dossier_id)
        .first()
    )
    if lineage is None:
        return None
    row = (
        await Vaccination.select()
        .where(
            Vaccination.lineage == lineage["lineage"],
            Vaccination.dossier == dossier_id,
            Vaccination.superseded_at.is_null(),
        )
        .first()
    )
    return (await crypto.opened(dossier_id, Vaccination, [row]))[0] if row else None


async def history(dossier_id: UUID, lineage: UUID) -> list[dict[str, Any]]:
    """Every version of a record, the oldest first."""
    rows = (
        await Vaccination.select()
        .where(Vaccination.lineage == lineage, Vaccination.dossier == dossier_id)
        .order_by(Vaccination.created_at)
    )
    return await crypto.opened(dossier_id, Vaccination, rows)


# --- the form -------------------------------------------------------------------------------


@dataclass
class Form:
    """The form as typed, what is wrong with it, and whether it repeats a record."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    given_on: date | None = None
    submission: UUID | None = None
    #: A record of the same vaccine and dose on the same day exists: saved only if confirmed.
    duplicate: bool = False

    @property
    def valid(self) -> bool:
        return not self.errors


def blank_values(record: dict[str, Any] | None = None) -> dict[str, str]:
    values = {name: "" for name in FIELDS}
    if record:
        values.update({name: str(record[name] or "") for name in FIELDS})
        values["given_on"] = record["given_on"].isoformat()
    values["submission"] = str(uuid4())
    return values


def read_form(view: DossierView, data: dict[str, Any]) -> Form:
    """Check what was typed; a professional's record needs its lot number."""
    values = {name: str(data.get(name, "")).strip() for name in (*FIELDS, "submission")}
    form = Form(values)
    errors = form.errors
    if values["vaccine"] not in VACCINES:
        errors["vaccine"] = gettext("Choose the vaccine from the list.")
    form.given_on = _date(values["given_on"], errors)
    if form.given_on is not None:
        birth = view.patient.get("birth_date")
        today = (view.now + FURTHEST_TIMEZONE).date()
        if birth and form.given_on < birth:
            errors["given_on"] = gettext(
                "This date is before the birth date (%(birth)s): check the year."
            ) % {"birth": clock.day(birth)}
        elif form.given_on > today:
            errors["given_on"] = gettext(
                "This date is in the future: record a vaccination once it is given."
            )
    if values["dose"] and values["dose"] not in DOSES:
        errors["dose"] = gettext("Choose the dose from the list.")
    if values["route"] and values["route"] not in ROUTES_OF_ADMINISTRATION:
        errors["route"] = gettext("Choose the route from the list.")
    if values["site"] and values["site"] not in SITES:
        errors["site"] = gettext("Choose the site from the list.")
    if values["lot"]:
        if not LOT.fullmatch(values["lot"]):
            errors["lot"] = gettext(
                "Write the lot number as printed on the vaccine's label: letters, digits, "
                "dashes and dots, 40 characters at most."
            )
    elif not view.for_patient_side:
        errors["lot"] = gettext(
            "Write the lot number printed on the vaccine's label: it is needed to trace a batch."
        )
    for name in ("vaccinator_name", "place"):
        if len(values[name]) > TEXT_MAX:
            errors[name] = gettext("%(count)s characters at most.") % {"count": TEXT_MAX}
    if len(values["notes"]) > NOTES_MAX:
        errors["notes"] = gettext("%(count)s characters at most.") % {"count": NOTES_MAX}
    try:
        form.submission = UUID(values["submission"])
    except ValueError:
        errors["vaccination-form"] = gettext("This form is incomplete. Check it and send it again.")
    return form


def _date(text: str, errors: dict[str, str]) -> date | None:
    if not text:
        errors["given_on"] = gettext("Give the date of the vaccination.")
        return None
    given_on = typed_date(text)
    if given_on is None:
        errors["given_on"] = gettext(
            "Give the date as day, month and year, for example 14/10/2026."
        )
    return given_on


async def check_duplicate(view: DossierView, form: Form, lineage: UUID | None = None) -> None:
    """Mark the form when the same vaccine and dose is already recorded on the same day (in
    another record than the one being corrected)."""
    if not form.valid or form.given_on is None or form.values["vaccine"] not in VACCINES:
        return
    query = Vaccination.exists().where(
        Vaccination.dossier == view.id,
        Vaccination.superseded_at.is_null(),
        Vaccination.vaccine == form.values["vaccine"],
        Vaccination.given_on == form.given_on,
        Vaccination.dose == form.values["dose"],
    )
    if lineage is not None:
        query = query.where(Vaccination.lineage != lineage)
    form.duplicate = await query


# --- saving ---------------------------------------------------------------------------------


class Resubmitted(Exception):
    """The same form was sent before: nothing more is saved."""


class Stale(Exception):
    """The record was corrected meanwhile: look at it before correcting it again."""


async def submitted(view: DossierView, submission: UUID | None) -> bool:
    if submission is None:
        return False
    return await Vaccination.exists().where(
        Vaccination.submission == submission, Vaccination.dossier == view.id
    )


def _row(
    view: DossierView,
    form: Form,
    record_id: UUID,
    lineage: UUID,
    replacing: dict[str, Any] | None = None,
) -> Vaccination:
    values = form.values
    patient_side = view.for_patient_side
    # A professional records what they gave: the vaccinator is who is signed in (and stays
    # who it was through a correction).
    vaccinator = values["vaccinator_name"]
    if not patient_side:
        vaccinator = (replacing or {}).get("vaccinator_name") or view.trace_actor.name
    return Vaccination(
        id=record_id,
        dossier=view.id,
        lineage=lineage,
        vaccine=values["vaccine"],
        given_on=form.given_on,
        dose=values["dose"],
        lot=values["lot"],
        vaccinator_name=vaccinator[:200],
        place=values["place"],
        route=values["route"],
        site=values["site"],
        notes=values["notes"],
        author=view.actor.account_id,
        author_name=view.trace_actor.name[:200],
        author_profession=view.trace_actor.profession or "",
        created_at=view.now,
        declared_by_patient=patient_side,
        confirmed_by_name=(replacing or {}).get("confirmed_by_name", ""),
        submission=form.submission,
    )


async def record(view: DossierView, form: Form) -> UUID:
    """Save a new record with its trace, in one transaction (refused: traced, then 403)."""
    record_id = uuid4()
    item = Item(CATEGORY, author=view.actor.account_id)
    async with view.acting(Action.CREATE, CATEGORY, item, **target(record_id)):
        if await submitted(view, form.submission):
            raise Resubmitted()
        await crypto.insert(_row(view, form, record_id, record_id))
    return record_id


async def correct(view: DossierView, form: Form, replacing: dict[str, Any]) -> UUID:
    """Save a correction: a new version of ``replacing`` (only its author may), which stays
    in the record's history."""
    record_id = uuid4()
    async with view.acting(Action.UPDATE, item=item_of(replacing), **target(replacing["id"])):
        if await submitted(view, form.submission):
            raise Resubmitted()
        await _supersede(view, replacing)
        await crypto.insert(_row(view, form, record_id, replacing["lineage"], replacing))
    return record_id


async def confirm(view: DossierView, declared: dict[str, Any]) -> UUID:
    """A professional confirms a record the patient copied: a new version, by them, that no
    longer reads "declared by the patient"."""
    record_id = uuid4()
    item = Item(CATEGORY, author=view.actor.account_id)
    async with view.acting(Act.CONFIRM, CATEGORY, item, **target(declared["id"])):
        await _supersede(view, declared)
        copied = {
            name: declared[name]
            for name in ("vaccine", "given_on", "dose", "lot", "vaccinator_name", "place")
        }
        copied.update(route=declared["route"], site=declared["site"], notes=declared["notes"])
        await crypto.insert(
            Vaccination(
                id=record_id,
                dossier=view.id,
                lineage=declared["lineage"],
                author=view.actor.account_id,
                author_name=view.trace_actor.name[:200],
                author_profession=view.trace_actor.profession or "",
                created_at=view.now,
                declared_by_patient=False,
                confirmed_by_name=view.trace_actor.name[:200],
                **copied,
            )
        )
    return record_id


async def _supersede(view: DossierView, replacing: dict[str, Any]) -> None:
    superseded = (
        await Vaccination.update({Vaccination.superseded_at: view.now})
        .where(
            Vaccination.id == replacing["id"],
            Vaccination.dossier == view.id,
            Vaccination.superseded_at.is_null(),
        )
        .returning(Vaccination.id)
    )
    if not superseded:
        raise Stale()
