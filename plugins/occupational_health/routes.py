"""The occupational health section's pages: the record (career, exposures with the follow-ups
due, visits and fitness notices, accidents and diseases), the forms with which the
occupational physician who holds the worker's consent adds to it, and the attestation
d'exposition as PDF. The core decides and traces every request through the `DossierView`."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from plugins.occupational_health import records
from portal import gettext_lazy
from portal.access import signed_in
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.i18n import gettext as _
from portal.pdf import render_pdf
from portal.web import flash, see_other

Form = URLEncodedBody[dict[str, Any]]
CATEGORY = records.CATEGORY

#: What each form records: its rows' table, its checks, and what is said once recorded.
FORMS = {
    "jobs": (records.check_job, "job", gettext_lazy("The post is recorded.")),
    "exposures": (records.check_exposure, "exposure", gettext_lazy("The exposure is recorded.")),
    "visits": (records.check_visit, "visit", gettext_lazy("The visit is recorded.")),
    "incidents": (
        records.check_incident,
        "incident",
        gettext_lazy("The accident or disease is recorded."),
    ),
}


async def _page(view: DossierView, status: int = 200, **extra: Any) -> Template:
    record = await records.record_of(view)
    return Template(
        "occupational_health/record.html",
        context={
            "view": view,
            **record,
            "follow_ups": records.follow_ups(record["exposures"]),
            "next_visit": records.next_visit_due(record["visits"]),
            "may_write": view.may(Action.CREATE, CATEGORY),
            "labels": records.labels(),
            "values": {},
            "errors": {},
            **extra,
        },
        status_code=status,
    )


@get("/dossiers/{dossier_id:uuid}/occupational_health", guards=[signed_in])
async def record_page(request: Request, dossier_id: FromPath[UUID]) -> Template:
    view = await open_dossier(request, dossier_id, target_type="occupational_health")
    await view.require(Action.VIEW, CATEGORY, target_type="occupational_health")
    return await _page(view)


class Invalid(Exception):
    """The form has errors: shown next to the fields, nothing saved."""


async def _add(request: Request, dossier_id: UUID, form: str, data: dict) -> Template | Redirect:
    check, target_type, done = FORMS[form]
    # Each form's fields carry its prefix ("visit_kind"), so that the page's ids stay unique.
    prefix = f"{target_type}_"
    data = {name.removeprefix(prefix): value for name, value in data.items()}
    view = await open_dossier(request, dossier_id, Action.CREATE, CATEGORY, target_type=target_type)
    try:
        # Decided (a refusal traced and raised), checked and saved in one write transaction:
        # the same form sent twice is recorded once.
        async with view.acting(Action.CREATE, CATEGORY, target_type=target_type):
            answers = await check(view, data)
            if answers.errors:
                raise Invalid  # decided and allowed, but nothing to save: no trace either
            await records.save(view, records.TABLES[form], answers.columns)
    except Invalid:
        return await _page(
            view,
            400,
            values={prefix + name: value for name, value in answers.values.items()},
            errors={prefix + name: message for name, message in answers.errors.items()},
        )
    flash(request, str(done), "success")
    return see_other(f"/dossiers/{dossier_id}/occupational_health")


@post("/dossiers/{dossier_id:uuid}/occupational_health/jobs", guards=[signed_in])
async def add_job(request: Request, dossier_id: FromPath[UUID], data: Form) -> Template | Redirect:
    return await _add(request, dossier_id, "jobs", data)


@post("/dossiers/{dossier_id:uuid}/occupational_health/exposures", guards=[signed_in])
async def add_exposure(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    return await _add(request, dossier_id, "exposures", data)


@post("/dossiers/{dossier_id:uuid}/occupational_health/visits", guards=[signed_in])
async def add_visit(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    return await _add(request, dossier_id, "visits", data)


@post("/dossiers/{dossier_id:uuid}/occupational_health/incidents", guards=[signed_in])
async def add_incident(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    return await _add(request, dossier_id, "incidents", data)


@get("/dossiers/{dossier_id:uuid}/occupational_health/attestation.pdf", guards=[signed_in])
async def attestation(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """The attestation d'exposition: the worker's exposures, with the follow-ups due."""
    template = "occupational_health/attestation.html"
    view = await open_dossier(
        request, dossier_id, Action.PRINT, CATEGORY, target_type="pdf", target_id=template
    )

    async def gather() -> dict[str, Any]:
        record = await records.record_of(view)
        return {
            **record,
            "follow_ups": records.follow_ups(record["exposures"]),
            "labels": records.labels(),
        }

    return await render_pdf(
        request,
        view,
        template,
        gather,
        title=_("Exposure record"),
        category=CATEGORY,
    )


ROUTES = [record_page, add_job, add_exposure, add_visit, add_incident, attestation]
