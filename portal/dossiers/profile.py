"""The patient's own space: height, weight and blood group, the people to call in an
emergency, personal notes, and whether notifications also come by e-mail.

The profile is read like the documents the patient adds (the ``patient`` category of the
matrix); the personal notes by the patient's side alone (`policy.PERSONAL_NOTES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from portal import crypto
from portal.access import signed_in
from portal.access.policy import PERSONAL_NOTES
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.dossiers.tables import (
    BloodGroup,
    EmergencyContact,
    PatientProfile,
)
from portal.i18n import gettext as _
from portal.identity.tables import Account
from portal.web import flash, see_other

Form = URLEncodedBody[dict[str, Any]]
#: The category the profile is read and written as (ACCESS.md: documents the patient adds).
CATEGORY = "patient"
CONTACT_ROWS = 3
NOTES_MAX = 5000
PHONE = re.compile(r"\+?[0-9][0-9 .-]{5,24}")


class Invalid(Exception):
    """The form has errors: shown to the person, nothing saved."""


@dataclass
class Answers:
    """The form as typed, and what is wrong with it."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    height_cm: int | None = None
    weight_kg: float | None = None
    contacts: list[dict[str, str]] = field(default_factory=list)


def _number(answers: Answers, name: str, low: float, high: float, message: str) -> float | None:
    text = answers.values[name].replace(",", ".")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        answers.errors[name] = message
        return None
    return number


def read_form(data: dict[str, Any]) -> Answers:
    names = ["height_cm", "weight_kg", "blood_group", "notes"] + [
        f"contact_{row}_{part}"
        for row in range(CONTACT_ROWS)
        for part in ("name", "relation", "phone")
    ]
    answers = Answers({name: str(data.get(name, "")).strip() for name in names})
    values, errors = answers.values, answers.errors
    height = _number(
        answers, "height_cm", 30, 260, _("Give the height in centimetres, between 30 and 260.")
    )
    answers.height_cm = round(height) if height is not None else None
    answers.weight_kg = _number(
        answers, "weight_kg", 0.5, 400, _("Give the weight in kilograms, between 0.5 and 400.")
    )
    if values["blood_group"] and values["blood_group"] not in {group.value for group in BloodGroup}:
        errors["blood_group"] = _("Choose a blood group from the list, or “I don’t know”.")
    if len(values["notes"]) > NOTES_MAX:
        errors["notes"] = _("Keep the notes under %(count)s characters.") % {"count": NOTES_MAX}
    for row in range(CONTACT_ROWS):
        name, relation, phone = (
            values[f"contact_{row}_{part}"] for part in ("name", "relation", "phone")
        )
        if not (name or relation or phone):
            continue
        if not name or len(name) > 120:
            errors[f"contact_{row}_name"] = _("Give the person's name (120 characters at most).")
        if not PHONE.fullmatch(phone):
            errors[f"contact_{row}_phone"] = _("Give a phone number, for example 06 12 34 56 78.")
        if len(relation) > 60:
            errors[f"contact_{row}_relation"] = _("60 characters at most.")
        answers.contacts.append({"name": name, "relation": relation, "phone": phone})
    return answers


async def _stored(view: DossierView) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    profile = await PatientProfile.select().where(PatientProfile.dossier == view.id).first()
    contacts = (
        await EmergencyContact.select()
        .where(EmergencyContact.dossier == view.id)
        .order_by(EmergencyContact.position)
    )
    if profile is not None:
        await crypto.opened(view.id, PatientProfile, [profile])
    return profile, await crypto.opened(view.id, EmergencyContact, contacts)


def _as_typed(profile: dict[str, Any] | None, contacts: list[dict[str, Any]]) -> dict[str, str]:
    profile = profile or {}
    values = {
        "height_cm": str(profile.get("height_cm") or ""),
        "weight_kg": str(profile.get("weight_kg") or "").replace(".", ",").removesuffix(",0"),
        "blood_group": profile.get("blood_group", ""),
        "notes": profile.get("notes", ""),
    }
    for row in range(CONTACT_ROWS):
        contact = contacts[row] if row < len(contacts) else {}
        for part in ("name", "relation", "phone"):
            values[f"contact_{row}_{part}"] = contact.get(part, "")
    return values


async def _page(
    request: Request, view: DossierView, values: dict[str, str] | None = None, **extra: Any
) -> Template:
    profile, contacts = await _stored(view)
    account = (
        await Account.select(Account.notify_by_message)
        .where(Account.id == view.actor.account_id)
        .first()
    )
    return Template(
        "dossiers/profile.html",
        context={
            "view": view,
            "profile": profile,
            "contacts": contacts,
            "editable": view.may(Action.UPDATE, CATEGORY),
            "reads_notes": view.may(Action.VIEW, PERSONAL_NOTES),
            "values": values or _as_typed(profile, contacts),
            "errors": {},
            "blood_groups": [group.value for group in BloodGroup],
            "notify_by_message": bool(account and account["notify_by_message"]),
            "rows": range(CONTACT_ROWS),
            **extra,
        },
        status_code=400 if extra.get("errors") else 200,
    )


@get("/dossiers/{dossier_id:uuid}/profile", guards=[signed_in])
async def profile_page(request: Request, dossier_id: FromPath[UUID]) -> Template:
    view = await open_dossier(request, dossier_id, target_type="profile")
    await view.require(Action.VIEW, CATEGORY, target_type="profile")
    return await _page(request, view)


@post("/dossiers/{dossier_id:uuid}/profile", guards=[signed_in])
async def save_profile(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    view = await open_dossier(request, dossier_id, Action.UPDATE, CATEGORY, target_type="profile")
    answers = read_form(data)
    try:
        async with view.acting(Action.UPDATE, CATEGORY, target_type="profile"):
            if answers.errors:
                raise Invalid  # decided and allowed, but nothing to save: no trace either
            await _save(view, answers, notify_by_message=data.get("notify_by_message") == "on")
    except Invalid:
        return await _page(request, view, answers.values, errors=answers.errors)
    flash(request, _("Your profile is saved."), "success")
    return see_other(f"/dossiers/{dossier_id}/profile")


async def _save(view: DossierView, answers: Answers, *, notify_by_message: bool) -> None:
    sealer = await crypto.writing_sealer(view.id)
    columns = {
        "height_cm": answers.height_cm,
        "weight_kg": answers.weight_kg,
        "blood_group": answers.values["blood_group"],
        "notes": sealer.seal("patient_profile", "notes", view.id, answers.values["notes"]),
        "updated_at": view.now,
    }
    if await PatientProfile.exists().where(PatientProfile.dossier == view.id):
        await PatientProfile.update(columns).where(PatientProfile.dossier == view.id)
    else:
        await PatientProfile.insert(PatientProfile(dossier=view.id, **columns))
    await EmergencyContact.delete().where(EmergencyContact.dossier == view.id)
    for position, contact in enumerate(answers.contacts):
        sealed = sealer.seal_row(
            "emergency_contact", crypto.sealed_columns(EmergencyContact), position, contact
        )
        await EmergencyContact.insert(
            EmergencyContact(dossier=view.id, position=position, **sealed)
        )
    await Account.update({Account.notify_by_message: notify_by_message}).where(
        Account.id == view.actor.account_id
    )


ROUTES = [profile_page, save_profile]
