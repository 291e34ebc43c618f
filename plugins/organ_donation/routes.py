"""The section's pages: the position and its history, the form the patient's side records it
with, what they did to make a refusal count, and the PDFs (the pre-filled request for the
Registre national des refus, the signed statement for relatives, the donor card)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from plugins.organ_donation import position
from plugins.organ_donation.position import CATEGORY
from portal.access import signed_in
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.i18n import gettext as _
from portal.pdf import render_pdf
from portal.web import flash, is_htmx, page_or_fragment, see_other, typed_date

Form = URLEncodedBody[dict[str, Any]]
PAGE = "/dossiers/{dossier_id:uuid}/organ_donation"


class Invalid(Exception):
    """The form has errors: shown to the person, nothing saved."""


def _path(view: DossierView) -> str:
    return f"/dossiers/{view.id}/organ_donation"


async def _page(
    request: Request,
    view: DossierView,
    *,
    values: dict[str, Any] | None = None,
    status: int = 200,
    **extra: Any,
) -> Template:
    """The page (for htmx, the panel) as the position is now; ``values``: the form as typed."""
    today = view.now.date()
    current = await position.current(view.id)
    recording = view.decide(Action.CREATE, CATEGORY)
    context = {
        "view": view,
        "position": current,
        "line": position.line(current) if current else "",
        "refusal": position.is_refusal(current),
        "steps": await position.steps(current["id"]) if current else [],
        "history": [{**row, "line": position.line(row)} for row in await position.history(view.id)],
        "editable": recording.allowed,
        # Why the patient's side may not record it (their age says who does), if it may not.
        "refused_to": recording.message,
        "values": values or position.as_typed(current, today),
        "errors": {},
        "step_errors": {},
        "step_values": {"way": "", "done_on": today.isoformat()},
        "stances": position.STANCES,
        "organs": position.ORGANS,
        "tissues": position.TISSUES,
        "purposes": position.PURPOSES,
        "ways": position.WAYS,
        "message_max": position.MESSAGE_MAX,
        "today": today.isoformat(),
        **extra,
    }
    return page_or_fragment(
        request, "organ_donation/page.html", "organ_donation/_panel.html", context, status
    )


async def _done(request: Request, view: DossierView, message: str) -> Template | Redirect:
    if is_htmx(request):
        return await _page(request, view, notice=message)
    flash(request, message, "success")
    return see_other(_path(view))


@get(PAGE, guards=[signed_in])
async def organ_donation_page(request: Request, dossier_id: FromPath[UUID]) -> Template:
    view = await open_dossier(request, dossier_id, target_type="organ_donation")
    await view.require(Action.VIEW, CATEGORY, target_type="organ_donation")
    return await _page(request, view)


@post(PAGE, guards=[signed_in])
async def record_position(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    view = await open_dossier(
        request, dossier_id, Action.CREATE, CATEGORY, target_type="organ_donation"
    )
    answers = position.read_form(data, view.now.date(), view.patient["birth_date"])
    try:
        async with view.acting(Action.CREATE, CATEGORY, target_type="organ_donation"):
            if answers.errors:
                raise Invalid  # decided and allowed, but nothing to save: no trace either
            changed = await position.record(view, answers.columns)
    except Invalid:
        return await _page(request, view, values=answers.values, errors=answers.errors, status=400)
    return await _done(
        request,
        view,
        _("Your position is recorded.") if changed else _("This position was already recorded."),
    )


@post(f"{PAGE}/steps", guards=[signed_in])
async def record_step(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    view = await open_dossier(
        request, dossier_id, Action.CREATE, CATEGORY, target_type="organ_donation_step"
    )
    values = {"way": str(data.get("way", "")), "done_on": str(data.get("done_on", "")).strip()}
    errors = {}
    if values["way"] not in position.WAYS:
        errors["way"] = _("Choose what you did.")
    done_on = typed_date(values["done_on"])
    if done_on is None or done_on > view.now.date():
        errors["done_on"] = _("Give a date that is not in the future, e.g. 14/03/2026.")
    try:
        async with view.acting(Action.CREATE, CATEGORY, target_type="organ_donation_step"):
            current = await position.current(view.id)
            if not position.is_refusal(current):
                errors = {
                    "way": _("Record a refusal first: only a refusal needs to be made to count.")
                }
            if errors:
                raise Invalid
            added = await position.add_step(view, current["id"], values["way"], done_on)
    except Invalid:
        return await _page(request, view, step_values=values, step_errors=errors, status=400)
    return await _done(
        request,
        view,
        _("Noted. Keep a copy of what you sent.") if added else _("This was already noted."),
    )


async def _pdf(request: Request, dossier_id: UUID, template: str, title: str) -> Response:
    view = await open_dossier(
        request, dossier_id, Action.PRINT, CATEGORY, target_type="pdf", target_id=template
    )

    async def gather() -> dict[str, Any]:
        current = await position.current(view.id)
        removals, purposes = position.refused_labels(current) if current else ([], [])
        return {
            "position": current,
            "line": position.line(current) if current else "",
            "refusal": position.is_refusal(current),
            "removals": removals,
            "refused_purposes": purposes,
            "organs": position.ORGANS,
            "tissues": position.TISSUES,
            "purposes": position.PURPOSES,
            "chosen": set(position.keys(current["refused_organs"])) if current else set(),
            "chosen_purposes": set(position.keys(current["refused_purposes"]))
            if current
            else set(),
            "today": view.now.date(),
        }

    return await render_pdf(request, view, template, gather, title=title, category=CATEGORY)


@get(f"{PAGE}/register-request.pdf", guards=[signed_in])
async def register_request_pdf(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """The request to register a refusal in the Registre national des refus, pre-filled."""
    return await _pdf(
        request,
        dossier_id,
        "organ_donation/register_request_pdf.html",
        _("refusal-register-request"),
    )


@get(f"{PAGE}/relatives-statement.pdf", guards=[signed_in])
async def relatives_statement_pdf(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """The statement of the position to date, sign and give to a relative."""
    return await _pdf(
        request, dossier_id, "organ_donation/relatives_statement_pdf.html", _("relatives-statement")
    )


@get(f"{PAGE}/donor-card.pdf", guards=[signed_in])
async def donor_card_pdf(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """The position on a wallet-sized card."""
    return await _pdf(request, dossier_id, "organ_donation/donor_card_pdf.html", _("donor-card"))


ROUTES = [
    organ_donation_page,
    record_position,
    record_step,
    register_request_pdf,
    relatives_statement_pdf,
    donor_card_pdf,
]
