"""The section's pages: the wishes as the reader may see them, the patient's forms to write the
directives and name the trusted person, every revision, and the two documents to print.

Every route gets its `DossierView` from the core, which decides and traces: professionals read
(doctors and nurses), only the patient's side writes, and a professional who tries to is
refused, with the refusal in the dossier's access history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from plugins.end_of_life import wishes
from plugins.end_of_life.tables import DirectivesKind
from plugins.end_of_life.wishes import CATEGORY, Typed
from portal import db
from portal.access import signed_in
from portal.access.policy import Item
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.i18n import gettext as _
from portal.pdf import render_pdf
from portal.web import flash, see_other

KEY = "end_of_life"
BASE = "/dossiers/{dossier_id:uuid}/end_of_life"
Form = URLEncodedBody[dict[str, Any]]


class Invalid(Exception):
    """The form has errors: shown to the person, nothing saved, nothing traced."""


class Unchanged(Exception):
    """The form says what is already recorded (sent twice, say): nothing to add."""


def _link(view: DossierView, rest: str = "") -> str:
    return f"/dossiers/{view.id}/end_of_life{rest}"


def _on_behalf(view: DossierView) -> bool:
    """A legal representative, not the patient, is writing."""
    return view.opened.reason == "representative"


async def _opened(request: Request, dossier_id: UUID) -> DossierView:
    """The dossier, for someone who stands in it; what they read or write here is decided,
    and traced, on the section's category or on the wishes themselves."""
    return await open_dossier(request, dossier_id, target_type="section", target_id=KEY)


async def _reading(request: Request, dossier_id: UUID) -> DossierView:
    """The dossier for a reader of the section's category, the reading traced."""
    view = await _opened(request, dossier_id)
    await view.require(Action.VIEW, CATEGORY, target_type="section", target_id=KEY)
    return view


async def _writing(
    request: Request, dossier_id: UUID, written_by: Callable[[UUID], Item]
) -> DossierView:
    """The dossier for the patient's side opening one of its forms (``written_by``: the
    wishes it writes, by their author); anyone else is refused as if they had sent it (403 or
    404, traced), since they would be. A refusal the policy explains (a minor's record) is
    shown on the form, once sent."""
    view = await _opened(request, dossier_id)
    mine = written_by(view.actor.account_id)
    writing = view.decide(Action.CREATE, item=mine)
    if not (writing.allowed or writing.message):
        await view.require(Action.CREATE, item=mine, target_type="section", target_id=KEY)
    await view.require(Action.VIEW, CATEGORY, target_type="section", target_id=KEY)
    return view


async def _refused_on_form(view: DossierView, item: Item, typed: Typed, field: str) -> bool:
    """Whether the policy refuses ``item`` with words for the person (advance directives are
    written from 18): then the refusal is traced and shown next to ``field`` of the form."""
    writing = view.decide(Action.CREATE, item=item)
    if writing.allowed or not writing.message:
        return False
    await view.trace(Action.CREATE, writing, "section", KEY)
    typed.errors[field] = writing.message
    return True


# --- reading --------------------------------------------------------------------------------


@get(BASE, guards=[signed_in])
async def wishes_page(request: Request, dossier_id: FromPath[UUID]) -> Template:
    """The directives and the trusted person as they stand, for the patient's side and for the
    professionals who read them."""
    view = await _reading(request, dossier_id)
    async with db.current().engine.transaction():
        latest = await wishes.latest_directives(view.id)
        person = await wishes.latest_trusted_person(view.id)
    writing = view.decide(Action.CREATE, item=wishes.directives_item(view.actor.account_id))
    return Template(
        "end_of_life/wishes.html",
        context={
            "view": view,
            "latest": latest,
            "directives": wishes.valid(latest),
            "person": wishes.designated(person),
            "writes": writing.allowed,
            # Why the patient's side may not write here (a minor's record), if it may not.
            "refused_to": writing.message,
            **wishes.vocabulary(),
        },
    )


@get(f"{BASE}/revisions", guards=[signed_in])
async def revisions_page(request: Request, dossier_id: FromPath[UUID]) -> Template:
    """Every revision of the directives and every designation, the latest first."""
    view = await _reading(request, dossier_id)
    async with db.current().engine.transaction():
        directives = await wishes.directives_history(view.id)
        people = await wishes.trusted_person_history(view.id)
    return Template(
        "end_of_life/revisions.html",
        context={"view": view, "revisions": directives, "people": people, **wishes.vocabulary()},
    )


# --- the directives -------------------------------------------------------------------------


@get(f"{BASE}/directives", guards=[signed_in])
async def directives_form(request: Request, dossier_id: FromPath[UUID]) -> Template:
    view = await _writing(request, dossier_id, wishes.directives_item)
    latest = wishes.valid(await wishes.latest_directives(view.id))
    return _directives_page(view, _as_typed(latest))


def _as_typed(directives: dict[str, Any] | None) -> dict[str, str]:
    values = dict.fromkeys(wishes.DIRECTIVES_FIELDS, "")
    values.update(kind=DirectivesKind.WRITTEN, cannot_write="", authorised="")
    if directives is None:
        return values
    values.update(
        kind=directives["kind"],
        situation=directives["situation"],
        elsewhere_place=directives["elsewhere_place"],
        elsewhere_holder=directives["elsewhere_holder"],
        **{key: str(value) for key, value in directives["answers"].items() if key in values},
    )
    for number, witness in enumerate(directives["witnesses"][:2], start=1):
        values[f"witness_{number}_name"] = witness["name"]
        values[f"witness_{number}_quality"] = witness["quality"]
        values["cannot_write"] = "on"
    return values


def _directives_page(
    view: DossierView, values: dict[str, str], errors: dict[str, str] | None = None
) -> Template:
    return Template(
        "end_of_life/directives_form.html",
        context={
            "view": view,
            "values": values,
            "errors": errors or {},
            "on_behalf": _on_behalf(view),
            **wishes.vocabulary(),
        },
        status_code=400 if errors else 200,
    )


@post(f"{BASE}/directives", guards=[signed_in])
async def save_directives(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    """A new revision of the directives: the previous ones are kept, this one counts."""
    view = await _opened(request, dossier_id)
    typed = wishes.read_directives(data, on_behalf=_on_behalf(view))
    item = wishes.directives_item(view.actor.account_id)
    if await _refused_on_form(view, item, typed, "kind"):
        return _directives_page(view, typed.values, typed.errors)
    try:
        async with view.acting(Action.CREATE, item=item, target_type="section", target_id=KEY):
            if typed.errors:
                raise Invalid  # allowed, but nothing to save: nothing happened, no trace
            if not await wishes.add_directives(
                view.id,
                typed.columns,
                author=view.actor.account_id,
                author_name=view.trace_actor.name,
                now=view.now,
            ):
                raise Unchanged
    except Invalid:
        return _directives_page(view, typed.values, typed.errors)
    except Unchanged:
        flash(request, _("Nothing has changed: your directives are as they were."), "info")
        return see_other(_link(view))
    flash(
        request,
        _("Your directives are saved. Print them to sign them, and tell your loved ones."),
        "success",
    )
    return see_other(_link(view))


@post(f"{BASE}/directives/revoke", guards=[signed_in])
async def revoke_directives(request: Request, dossier_id: FromPath[UUID]) -> Redirect:
    """The patient revokes their directives: the revisions stay in the history, none counts."""
    view = await _opened(request, dossier_id)
    latest = await wishes.latest_directives(view.id)
    current = wishes.valid(latest)
    author = current["author"] if current else view.actor.account_id
    try:
        async with view.acting(
            Action.UPDATE, item=wishes.directives_item(author), target_type="section", target_id=KEY
        ):
            if current is None or not await wishes.add_directives(
                view.id,
                {"kind": DirectivesKind.REVOKED, "on_behalf": _on_behalf(view)},
                author=view.actor.account_id,
                author_name=view.trace_actor.name,
                now=view.now,
            ):
                raise Unchanged
    except Unchanged:
        flash(request, _("There are no directives to revoke."), "info")
        return see_other(_link(view))
    flash(request, _("Your directives are revoked. They stay in the history."), "success")
    return see_other(_link(view))


# --- the trusted person ---------------------------------------------------------------------


@get(f"{BASE}/trusted_person", guards=[signed_in])
async def trusted_person_form(request: Request, dossier_id: FromPath[UUID]) -> Template:
    view = await _writing(request, dossier_id, wishes.trusted_person_item)
    person = wishes.designated(await wishes.latest_trusted_person(view.id)) or {}
    values = {name: str(person.get(name) or "") for name in wishes.TRUSTED_PERSON_FIELDS}
    if person.get("accepted_on"):
        values["accepted_on"] = person["accepted_on"].isoformat()
    values["authorised"] = ""
    return _trusted_person_page(view, values)


def _trusted_person_page(
    view: DossierView, values: dict[str, str], errors: dict[str, str] | None = None
) -> Template:
    return Template(
        "end_of_life/trusted_person_form.html",
        context={
            "view": view,
            "values": values,
            "errors": errors or {},
            "on_behalf": _on_behalf(view),
        },
        status_code=400 if errors else 200,
    )


@post(f"{BASE}/trusted_person", guards=[signed_in])
async def save_trusted_person(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    view = await _opened(request, dossier_id)
    typed = wishes.read_trusted_person(data, on_behalf=_on_behalf(view), today=view.now.date())
    item = wishes.trusted_person_item(view.actor.account_id)
    if await _refused_on_form(view, item, typed, "name"):
        return _trusted_person_page(view, typed.values, typed.errors)
    try:
        async with view.acting(Action.CREATE, item=item, target_type="section", target_id=KEY):
            if typed.errors:
                raise Invalid
            if not await wishes.add_trusted_person(
                view.id,
                typed.columns,
                author=view.actor.account_id,
                author_name=view.trace_actor.name,
                now=view.now,
            ):
                raise Unchanged
    except Invalid:
        return _trusted_person_page(view, typed.values, typed.errors)
    except Unchanged:
        flash(request, _("Nothing has changed: your trusted person is as before."), "info")
        return see_other(_link(view))
    flash(
        request,
        _(
            "Your trusted person is saved. Print the designation form: you both sign it, and "
            "each keeps a copy."
        ),
        "success",
    )
    return see_other(_link(view))


@post(f"{BASE}/trusted_person/remove", guards=[signed_in])
async def remove_trusted_person(request: Request, dossier_id: FromPath[UUID]) -> Redirect:
    """The patient no longer has a trusted person; the designations stay in the history."""
    view = await _opened(request, dossier_id)
    current = wishes.designated(await wishes.latest_trusted_person(view.id))
    author = current["author"] if current else view.actor.account_id
    removal = {
        "removed": True,
        **dict.fromkeys(("name", "relation", "phone", "email"), ""),
        "accepted_on": None,
        "on_behalf": _on_behalf(view),
    }
    try:
        async with view.acting(
            Action.UPDATE,
            item=wishes.trusted_person_item(author),
            target_type="section",
            target_id=KEY,
        ):
            if current is None or not await wishes.add_trusted_person(
                view.id,
                removal,
                author=view.actor.account_id,
                author_name=view.trace_actor.name,
                now=view.now,
            ):
                raise Unchanged
    except Unchanged:
        flash(request, _("You have no trusted person to remove."), "info")
        return see_other(_link(view))
    flash(request, _("You no longer have a trusted person. The history keeps the former ones."))
    return see_other(_link(view))


# --- printing -------------------------------------------------------------------------------


@get(f"{BASE}/directives.pdf", guards=[signed_in])
async def directives_pdf(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """The directives ready to print and sign (the questions left blank to fill in by hand
    when none are written here)."""
    template = "end_of_life/directives_pdf.html"
    view = await open_dossier(
        request, dossier_id, Action.PRINT, target_type="pdf", target_id=template
    )

    async def gather() -> dict[str, Any]:
        latest = wishes.valid(await wishes.latest_directives(view.id))
        written = latest if latest and latest["kind"] == DirectivesKind.WRITTEN else None
        return {"directives": written, **wishes.vocabulary()}

    return await render_pdf(
        request,
        view,
        template,
        gather,
        title=_("advance directives"),
        category=CATEGORY,
    )


@get(f"{BASE}/trusted_person.pdf", guards=[signed_in])
async def trusted_person_pdf(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """The designation of the trusted person, to be signed by the patient and the person."""
    template = "end_of_life/trusted_person_pdf.html"
    view = await open_dossier(
        request, dossier_id, Action.PRINT, target_type="pdf", target_id=template
    )

    async def gather() -> dict[str, Any]:
        return {"person": wishes.designated(await wishes.latest_trusted_person(view.id))}

    return await render_pdf(
        request,
        view,
        template,
        gather,
        title=_("trusted person"),
        category=CATEGORY,
    )


ROUTES = [
    wishes_page,
    revisions_page,
    directives_form,
    save_directives,
    revoke_directives,
    trusted_person_form,
    save_trusted_person,
    remove_trusted_person,
    directives_pdf,
    trusted_person_pdf,
]
