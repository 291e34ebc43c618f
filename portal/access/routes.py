"""The patient's "Who has access to my record" page: the care circle and how each professional
got there, adding from the directory, removing, blocking and unblocking, the médecin traitant,
the consents given for one section of the record only (and their revocation), and the two
emergency opt-outs.

Every form works without JavaScript (a full page after a redirect); with htmx, each answers
with the panel it changed. Every change goes through `portal.access.controls`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal import db
from portal.access import controls, signed_in
from portal.access.controls import ControlError
from portal.access.policy import ABOUT_ACCESS, BY_SCOPED_CONSENT
from portal.access.tables import Joined
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.i18n import gettext as _
from portal.i18n import gettext_lazy
from portal.identity.tables import Professional, Role
from portal.web import flash, is_htmx, page_or_fragment, see_other

Form = URLEncodedBody[dict[str, Any]]
DIRECTORY_LIMIT = 20


@dataclass(frozen=True)
class Change:
    """A change a professional's row offers, confirmed first."""

    action: Action
    apply: Callable[[DossierView, UUID], Awaitable[dict]]
    done: str  # what happened, with %(name)s
    target_type: str  # as `apply` traces it


CHANGES = {
    "remove": Change(
        Action.RIGHTS_CHANGE,
        controls.remove_from_circle,
        gettext_lazy("%(name)s no longer has access to the record."),
        "care_circle",
    ),
    "block": Change(
        Action.BLOCK,
        controls.block,
        gettext_lazy(
            "%(name)s is blocked: they can no longer open the record, even in an emergency."
        ),
        "professional",
    ),
    "unblock": Change(
        Action.UNBLOCK,
        controls.unblock,
        gettext_lazy("%(name)s is no longer blocked."),
        "professional",
    ),
}


async def _people(ids: set[UUID]) -> dict[UUID, dict]:
    if not ids:
        return {}
    rows = await Professional.select(*controls.DIRECTORY_ENTRY).where(
        Professional.account.is_in(list(ids))
    )
    return {row["id"]: row for row in rows}


def _scoped_sections(request: Request, view: DossierView) -> dict[str, dict[str, Any]]:
    """The sections a patient may open to one professional alone (those installed): each
    category with its name and the professions who may be chosen."""
    labels = {
        category.key: category.label or category.key
        for category in request.app.state.plugins.categories
    }
    return {
        category: {"label": labels.get(category, category), "professions": professions}
        for category, professions in BY_SCOPED_CONSENT.items()
        if category in view.matrix.categories
    }


async def _panel_context(request: Request, view: DossierView) -> dict[str, Any]:
    facts = view.facts
    traitant = {facts.medecin_traitant} if facts.medecin_traitant else set()
    people = await _people(set(facts.circle) | set(facts.blocked) | set(facts.scoped) | traitant)

    def by_name(rows):
        return sorted(rows, key=lambda row: (row["last_name"], row["first_name"]))

    return {
        "view": view,
        "traitant": people.get(facts.medecin_traitant),
        "members": by_name(
            {**people[account], "joined": joined}
            for account, joined in facts.circle.items()
            if account in people
        ),
        "blocked": by_name(people[account] for account in facts.blocked if account in people),
        "scoped_sections": _scoped_sections(request, view),
        "scoped_consents": by_name(
            {**people[account], "category": category}
            for account, categories in facts.scoped.items()
            for category in sorted(categories)
            if account in people
        ),
        "joined_labels": {
            Joined.BY_PATIENT: _("added by you"),
            Joined.CONSENT: _("declared your consent at a consultation"),
        },
    }


async def _page(request: Request, dossier_id: UUID, status: int = 200, **extra: Any) -> Template:
    """The page (or, for htmx, the panel) as the rights are now, after a change."""
    view = await open_dossier(
        request, dossier_id, Action.VIEW, ABOUT_ACCESS, target_type="care_circle"
    )
    context = {**await _panel_context(request, view), **extra}
    return page_or_fragment(request, "access/circle.html", "access/_panel.html", context, status)


async def _changing(
    request: Request,
    dossier_id: UUID,
    target_type: str,
    target: object = None,
    action: Action = Action.RIGHTS_CHANGE,
) -> DossierView:
    """The dossier, for a change of rights: a refusal is traced as the change would trace it
    (`controls`)."""
    return await open_dossier(
        request, dossier_id, action, target_type=target_type, target_id=str(target or "")[:64]
    )


async def _done(request: Request, dossier_id: UUID, message: str) -> Template | Redirect:
    if is_htmx(request):
        return await _page(request, dossier_id, notice=message)
    flash(request, message, "success")
    return see_other(f"/dossiers/{dossier_id}/access")


async def _failed(request: Request, dossier_id: UUID, error: ControlError) -> Template:
    return await _page(request, dossier_id, status=409, problem=str(error))


@get("/dossiers/{dossier_id:uuid}/access", guards=[signed_in])
async def access_page(request: Request, dossier_id: FromPath[UUID]) -> Template:
    view = await open_dossier(request, dossier_id, target_type="care_circle")
    await view.require(Action.VIEW, ABOUT_ACCESS, target_type="care_circle")
    context = await _panel_context(request, view)
    return page_or_fragment(request, "access/circle.html", "access/_panel.html", context)


@get("/dossiers/{dossier_id:uuid}/access/directory", guards=[signed_in])
async def directory(
    request: Request, dossier_id: FromPath[UUID], q: FromQuery[str] = ""
) -> Template:
    """Professionals by name or RPPS number, to add, designate or block."""
    view = await open_dossier(request, dossier_id, target_type="directory")
    await view.require(Action.VIEW, ABOUT_ACCESS, target_type="directory")
    query = q.strip()
    error = ""
    results = []
    if len(query) == 1:
        error = _("Type at least two letters of a name, or an RPPS number.")
    elif query:
        search = Professional.select(*controls.DIRECTORY_ENTRY).where(
            Professional.account.role == Role.PROFESSIONAL,
            Professional.account.disabled_at.is_null(),
        )
        if query.isdigit():
            search = search.where(Professional.rpps == query)
        else:
            first_name, last_name = Professional.account.first_name, Professional.account.last_name
            # SQLite's LIKE ignores the case of ASCII letters; PostgreSQL needs ILIKE.
            like = "like" if db.current().is_sqlite else "ilike"
            for word in query.replace("%", " ").replace("_", " ").split()[:3]:
                pattern = f"%{word}%"
                search = search.where(
                    getattr(first_name, like)(pattern) | getattr(last_name, like)(pattern)
                )
        results = await search.order_by(Professional.account.last_name).limit(DIRECTORY_LIMIT)
    context = {
        **await _panel_context(request, view),
        "query": query,
        "results": results,
        "error": error,
    }
    return page_or_fragment(
        request, "access/circle.html", "access/_directory.html", context, 400 if error else 200
    )


@post("/dossiers/{dossier_id:uuid}/access/circle", guards=[signed_in])
async def add(request: Request, dossier_id: FromPath[UUID], data: Form) -> Template | Redirect:
    view = await _changing(request, dossier_id, "care_circle", data.get("professional"))
    try:
        person = await controls.add_to_circle(view, data.get("professional"))
    except ControlError as error:
        return await _failed(request, dossier_id, error)
    name = f"{person['first_name']} {person['last_name']}"
    return await _done(
        request, dossier_id, _("%(name)s now has access to the record.") % {"name": name}
    )


@post("/dossiers/{dossier_id:uuid}/access/sections", guards=[signed_in])
async def give_section(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    """Open one section of the record (``category``) to one professional, and nothing else."""
    view = await _changing(request, dossier_id, "section_consent", data.get("professional"))
    category = data.get("category")
    try:
        person = await controls.give_section_consent(view, data.get("professional"), category)
    except ControlError as error:
        return await _failed(request, dossier_id, error)
    return await _done(
        request,
        dossier_id,
        _("%(name)s now has access to “%(section)s”, and to nothing else of the record.")
        % {
            "name": f"{person['first_name']} {person['last_name']}",
            "section": _scoped_sections(request, view)[category]["label"],
        },
    )


@post("/dossiers/{dossier_id:uuid}/access/sections/revoke", guards=[signed_in])
async def revoke_section(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    """Withdraw a consent given for one section: refused from the professional's next click."""
    view = await _changing(request, dossier_id, "section_consent", data.get("professional"))
    category = data.get("category")
    try:
        person = await controls.revoke_section_consent(view, data.get("professional"), category)
    except ControlError as error:
        return await _failed(request, dossier_id, error)
    return await _done(
        request,
        dossier_id,
        _("%(name)s no longer has access to “%(section)s”.")
        % {
            "name": f"{person['first_name']} {person['last_name']}",
            "section": _scoped_sections(request, view).get(category, {}).get("label", category),
        },
    )


@post("/dossiers/{dossier_id:uuid}/access/medecin-traitant", guards=[signed_in])
async def designate(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    """Designate the médecin traitant (``professional``), or nobody (an empty value)."""
    view = await _changing(request, dossier_id, "medecin_traitant", data.get("professional"))
    try:
        person = await controls.designate_medecin_traitant(view, data.get("professional"))
    except ControlError as error:
        return await _failed(request, dossier_id, error)
    if person is None:
        message = _("The record no longer has a médecin traitant.")
    else:
        message = _("%(name)s is now the médecin traitant.") % {
            "name": f"{person['first_name']} {person['last_name']}"
        }
    return await _done(request, dossier_id, message)


@post("/dossiers/{dossier_id:uuid}/access/opt-outs", guards=[signed_in])
async def opt_outs(request: Request, dossier_id: FromPath[UUID], data: Form) -> Template | Redirect:
    view = await _changing(request, dossier_id, "emergency_settings")
    await controls.set_opt_outs(
        view,
        emergency=data.get("refuses_emergency_access") == "on",
        samu=data.get("refuses_samu_access") == "on",
    )
    return await _done(request, dossier_id, _("Your choices for emergencies are saved."))


@get(
    "/dossiers/{dossier_id:uuid}/access/professionals/{account_id:uuid}/{change:str}",
    guards=[signed_in],
)
async def confirm(
    request: Request, dossier_id: FromPath[UUID], account_id: FromPath[UUID], change: FromPath[str]
) -> Template:
    """What removing, blocking or unblocking will do, before it is done."""
    if change not in CHANGES:
        raise NotFoundException()
    view = await open_dossier(request, dossier_id, target_type="care_circle")
    await view.require(Action.VIEW, ABOUT_ACCESS, target_type="care_circle")
    try:
        person = await controls.professional(account_id)
    except ControlError:
        raise NotFoundException() from None
    context = {"view": view, "person": person, "change": change}
    return page_or_fragment(request, "access/confirm.html", "access/_confirm.html", context)


@post(
    "/dossiers/{dossier_id:uuid}/access/professionals/{account_id:uuid}/{change:str}",
    guards=[signed_in],
)
async def change_access(
    request: Request, dossier_id: FromPath[UUID], account_id: FromPath[UUID], change: FromPath[str]
) -> Template | Redirect:
    if change not in CHANGES:
        raise NotFoundException()
    view = await _changing(
        request, dossier_id, CHANGES[change].target_type, account_id, CHANGES[change].action
    )
    try:
        person = await CHANGES[change].apply(view, account_id)
    except ControlError as error:
        return await _failed(request, dossier_id, error)
    name = f"{person['first_name']} {person['last_name']}"
    return await _done(request, dossier_id, str(CHANGES[change].done) % {"name": name})


ROUTES = [
    access_page,
    directory,
    add,
    give_section,
    revoke_section,
    designate,
    opt_outs,
    confirm,
    change_access,
]
