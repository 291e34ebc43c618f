"""The section's pages: the vaccination record (history, what is due, the form to add or
correct a record), the inline check of that form, a professional's confirmation of what the
patient copied, and the attestation de vaccination as a PDF.

Each route opens the dossier through the core (`open_dossier`): the policy decides, and every
decision is traced. Without JavaScript the forms post and redirect; with
htmx the fields are checked as they are typed (``/check``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from plugins.vaccination import records, schedule
from plugins.vaccination.records import CATEGORY, Form
from plugins.vaccination.reference import SOURCE, VACCINES
from portal.access import signed_in
from portal.access.policy import Act
from portal.access.view import DossierView, open_dossier, refusal
from portal.audit import Action
from portal.i18n import gettext as _
from portal.pdf import render_pdf
from portal.web import flash, see_other

FormData = URLEncodedBody[dict[str, Any]]
TICKED = frozenset({"1", "on", "true", "yes"})


def page_of(view: DossierView) -> str:
    return f"/dossiers/{view.id}/vaccination"


async def opened_for(request: Request, dossier_id: UUID, action: Action | Act) -> DossierView:
    """The dossier, if the asker may do ``action`` on its vaccinations; a refusal is traced
    (a non-vaccinator trying to record gets a 403 that the patient sees in the history)."""
    return await open_dossier(request, dossier_id, action, CATEGORY, target_type="vaccination")


def due_on(view: DossierView, rows: list[dict[str, Any]]) -> list[schedule.Due]:
    birth = view.patient.get("birth_date")
    return schedule.schedule_for(birth, rows, view.now.date()) if birth else []


async def page_context(view: DossierView) -> dict[str, Any]:
    """What the section page, the card and the printed section show."""
    rows = await records.current(view.id)
    plan = due_on(view, rows)
    return {
        "records": rows,
        "pending": schedule.pending(plan),
        "soon": schedule.soon(plan, view.now.date()),
        "source": SOURCE,
        "vaccines": VACCINES,
        "doses": records.DOSES,
        "routes": records.ROUTES_OF_ADMINISTRATION,
        "sites": records.SITES,
    }


def form_context(view: DossierView) -> dict[str, Any]:
    return {
        "vaccine_choices": sorted(VACCINES.values(), key=lambda vaccine: vaccine.name.lower()),
        "doses": records.DOSES,
        "routes": records.ROUTES_OF_ADMINISTRATION,
        "sites": records.SITES,
        "professional": not view.for_patient_side,
        "vaccinator": view.trace_actor.name,
    }


async def _page(
    view: DossierView,
    *,
    form: Form | None = None,
    editing: dict[str, Any] | None = None,
    status: int = 200,
    problem: str = "",
) -> Template:
    context = await page_context(view)
    for row in context["records"]:
        row["may_correct"] = view.may(Action.UPDATE, item=records.item_of(row))
    return Template(
        "vaccination/page.html",
        context={
            **context,
            **form_context(view),
            "view": view,
            "may_write": view.may(Action.CREATE, CATEGORY),
            "may_confirm": view.may(Act.CONFIRM, CATEGORY),
            "editing": editing,
            "history": await records.history(view.id, editing["lineage"]) if editing else [],
            "values": form.values if form else records.blank_values(editing),
            "errors": form.errors if form else {},
            "duplicate": bool(form and form.duplicate),
            "problem": problem,
        },
        status_code=status,
    )


async def _shown_again(view: DossierView, **arguments: Any) -> Template:
    """The page again, with the form as typed: it shows the history, a read that is traced."""
    await view.require(Action.VIEW, CATEGORY, target_type="vaccination")
    return await _page(view, **arguments)


def _refused_form(form: Form, data: dict[str, Any]) -> int:
    """The status of a form that cannot be saved as it is (0 when it can)."""
    if not form.valid:
        return 400
    if form.duplicate and str(data.get("duplicate_ok", "")).lower() not in TICKED:
        return 409
    return 0


@get("/dossiers/{dossier_id:uuid}/vaccination", guards=[signed_in])
async def section_page(
    request: Request, dossier_id: FromPath[UUID], edit: FromQuery[UUID | None] = None
) -> Template:
    """The vaccination record; with ``edit``, the form to correct one record, with its history."""
    view = await opened_for(request, dossier_id, Action.VIEW)
    await view.require(Action.VIEW, CATEGORY, target_type="vaccination")
    editing = None
    if edit is not None:
        editing = await records.current_version(view.id, edit)
        if editing is None or not view.may(Action.UPDATE, item=records.item_of(editing)):
            editing = None
    return await _page(view, editing=editing)


@post("/dossiers/{dossier_id:uuid}/vaccination", guards=[signed_in])
async def add(request: Request, dossier_id: FromPath[UUID], data: FormData) -> Template | Redirect:
    view = await opened_for(request, dossier_id, Action.CREATE)
    form = records.read_form(view, data)
    if await records.submitted(view, form.submission):
        return see_other(page_of(view))  # sent twice: the first one is saved
    await records.check_duplicate(view, form)
    if status := _refused_form(form, data):
        return await _shown_again(view, form=form, status=status)
    try:
        await records.record(view, form)
    except records.Resubmitted:
        return see_other(page_of(view))
    except Exception:
        # Two copies of the form at the same moment: the unique submission let one through.
        if await records.submitted(view, form.submission):
            return see_other(page_of(view))
        raise
    flash(request, _("The vaccination is recorded."), "success")
    return see_other(page_of(view) + "#history")


@post("/dossiers/{dossier_id:uuid}/vaccination/correct", guards=[signed_in])
async def correct(
    request: Request, dossier_id: FromPath[UUID], data: FormData
) -> Template | Redirect:
    """Save a correction of a record: a new version; the previous one stays in its history."""
    view = await opened_for(request, dossier_id, Action.UPDATE)
    replacing = await records.current_version(view.id, data.get("record"))
    if replacing is None:
        raise NotFoundException()
    decision = view.decide(Action.UPDATE, item=records.item_of(replacing))
    if not decision.allowed:
        await view.trace(Action.UPDATE, decision, **records.target(replacing["id"]))
        raise refusal(decision)
    form = records.read_form(view, data)
    if await records.submitted(view, form.submission):
        return see_other(page_of(view))
    await records.check_duplicate(view, form, replacing["lineage"])
    if status := _refused_form(form, data):
        return await _shown_again(view, form=form, editing=replacing, status=status)
    try:
        await records.correct(view, form, replacing)
    except records.Resubmitted:
        return see_other(page_of(view))
    except records.Stale:
        latest = await records.current_version(view.id, replacing["id"])
        problem = _("This record was corrected meanwhile: here it is as it is now.")
        return await _shown_again(view, editing=latest, status=409, problem=problem)
    flash(
        request, _("The correction is saved; the previous version stays in the history."), "success"
    )
    return see_other(page_of(view) + "#history")


@post("/dossiers/{dossier_id:uuid}/vaccination/confirm", guards=[signed_in])
async def confirm(request: Request, dossier_id: FromPath[UUID], data: FormData) -> Redirect:
    """A professional confirms a vaccination the patient copied from a paper carnet."""
    view = await opened_for(request, dossier_id, Act.CONFIRM)
    declared = await records.current_version(view.id, data.get("record"))
    if declared is None:
        raise NotFoundException()
    if not declared["declared_by_patient"]:
        flash(
            request,
            _("Only a professional confirms a vaccination declared by the patient."),
            "error",
        )
        return see_other(page_of(view) + "#history")
    try:
        await records.confirm(view, declared)
    except records.Stale:
        flash(request, _("This record was corrected meanwhile: look at it again."), "error")
        return see_other(page_of(view) + "#history")
    flash(request, _("The vaccination is confirmed."), "success")
    return see_other(page_of(view) + "#history")


@post("/dossiers/{dossier_id:uuid}/vaccination/check", guards=[signed_in])
async def check(request: Request, dossier_id: FromPath[UUID], data: FormData) -> Template:
    """The form's fields again, with what is wrong in those typed so far (htmx, as they are
    typed). Nothing is saved nor shown of the dossier beyond whether the same dose is
    already recorded, which the asker reads anyway: the decision is traced only if refused."""
    view = await opened_for(request, dossier_id, Action.CREATE)
    form = records.read_form(view, data)
    replacing = await records.current_version(view.id, data.get("record"))
    form.errors = {name: error for name, error in form.errors.items() if form.values.get(name)}
    await records.check_duplicate(view, form, replacing["lineage"] if replacing else None)
    return Template(
        "vaccination/_fields.html",
        context={
            **form_context(view),
            "view": view,
            "values": form.values,
            "errors": form.errors,
            "duplicate": form.duplicate,
            "editing": replacing,
        },
    )


@get("/dossiers/{dossier_id:uuid}/vaccination/attestation.pdf", guards=[signed_in])
async def attestation(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """The attestation de vaccination: every vaccine with its date, lot and vaccinator."""
    template = "vaccination/attestation.html"
    view = await open_dossier(
        request, dossier_id, Action.PRINT, CATEGORY, target_type="pdf", target_id=template
    )

    async def gather() -> dict[str, Any]:
        rows = await records.current(view.id)
        names = {key: vaccine.name for key, vaccine in VACCINES.items()}
        return {"records": rows, "names": names, "doses": records.DOSES}

    return await render_pdf(
        request,
        view,
        template,
        gather,
        title=_("vaccination certificate"),
        category=CATEGORY,
    )


ROUTES = [section_page, add, correct, confirm, check, attestation]
