"""The professional's side: their patients, finding a patient by NIR, declaring the patient's
consent at a consultation, and emergency or SAMU access.

Looking a patient up reveals nothing about a dossier the professional may not open: whether
there is none, or one outside their circle, or one whose patient blocked them, the answer is
the same ("ask for consent or use emergency access"). The NIR travels in POST bodies only,
never in a URL or a log.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal import clock
from portal.access import controls, role_in
from portal.access.facts import active_grants, patients_of
from portal.access.tables import GrantMode
from portal.access.view import may_open
from portal.dossiers.tables import Dossier
from portal.i18n import gettext as _
from portal.identity.numbers import InvalidNumber, format_nir, validate_nir
from portal.identity.sessions import current
from portal.identity.tables import Professional, Role
from portal.web import see_other

Form = URLEncodedBody[dict[str, Any]]
professionals = role_in(Role.PROFESSIONAL, Role.SAMU_REGULATOR)
PAGE_SIZE = 50


def _no_record() -> str:
    return _("No record can be opened with this number. Check it with the patient's carte Vitale.")


async def _lookup_page(
    request: Request, nir: str = "", status: int = 200, page: int = 1, **extra: Any
) -> Template:
    session = current(request)
    profession = (
        await Professional.select(Professional.profession)
        .where(Professional.account == session.account_id)
        .first()
    )
    emergency_professions = request.app.state.matrix.emergency_professions
    patients = await patients_of(session.account_id, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
    return Template(
        "access/patients.html",
        context={
            "patients": patients[:PAGE_SIZE],
            "page": page,
            "has_next": len(patients) > PAGE_SIZE,
            "grants": await active_grants(session.id, clock.now()),
            "may_emergency": session.role == Role.PROFESSIONAL
            and profession is not None
            and profession["profession"] in emergency_professions,
            "may_samu": session.role == Role.SAMU_REGULATOR,
            "nir": nir,
            "errors": {},
            "found": None,
            **extra,
        },
        status_code=status,
    )


async def _dossier_for(nir: str) -> UUID | None:
    row = await Dossier.select(Dossier.id).where(Dossier.patient.nir == nir).first()
    return row["id"] if row else None


def _nir(data: dict) -> str:
    return validate_nir(str(data.get("nir", "")))


@get("/patients", guards=[professionals])
async def patients(request: Request, page: FromQuery[int] = 1) -> Template:
    """The professional's home: their patients, and the search by NIR."""
    return await _lookup_page(request, page=max(page, 1))


@post("/patients/lookup", guards=[professionals])
async def lookup(request: Request, data: Form) -> Template:
    try:
        nir = _nir(data)
    except InvalidNumber as error:
        return await _lookup_page(
            request, str(data.get("nir", "")), 400, errors={"nir": str(error)}
        )
    dossier_id = await _dossier_for(nir)
    opened = dossier_id if dossier_id and await may_open(request, dossier_id) else None
    return await _lookup_page(request, format_nir(nir), found={"dossier": opened, "nir": nir})


async def _ask(request: Request, data: Form, field: str, problem: str, act) -> Template | Redirect:
    """Check the NIR and ``field`` (``problem`` says what is wrong with it), then ``act``."""
    try:
        nir = _nir(data)
    except InvalidNumber as error:
        return await _lookup_page(
            request, str(data.get("nir", "")), 400, errors={"nir": str(error)}
        )
    found = {"dossier": None, "nir": nir}
    if problem:
        return await _lookup_page(
            request,
            format_nir(nir),
            400,
            found=found,
            errors={field: problem},
            **{field: data.get(field, "")},
        )
    dossier_id = await _dossier_for(nir)
    try:
        if dossier_id is None:
            raise NotFoundException()
        await act(dossier_id)
    except NotFoundException:
        return await _lookup_page(request, format_nir(nir), 404, found=found, refusal=_no_record())
    except PermissionDeniedException as error:
        return await _lookup_page(request, format_nir(nir), 403, found=found, refusal=error.detail)
    return see_other(f"/dossiers/{dossier_id}")


@post("/patients/consent", guards=[professionals])
async def declare_consent(request: Request, data: Form) -> Template | Redirect:
    problem = (
        ""
        if data.get("consent") == "on"
        else _("Tick the box once the patient, in front of you, has agreed.")
    )
    return await _ask(
        request,
        data,
        "consent",
        problem,
        lambda dossier: controls.declare_consent(request, dossier),
    )


@post("/patients/emergency", guards=[professionals])
async def emergency(request: Request, data: Form) -> Template | Redirect:
    reason = " ".join(str(data.get("reason", "")).split())
    return await _ask(
        request,
        data,
        "reason",
        controls.emergency_reason_error(reason),
        lambda dossier: controls.start_emergency(request, dossier, GrantMode.EMERGENCY, reason),
    )


@post("/patients/samu", guards=[professionals])
async def samu(request: Request, data: Form) -> Template | Redirect:
    reference = str(data.get("reference", "")).strip()
    return await _ask(
        request,
        data,
        "reference",
        controls.call_reference_error(reference),
        lambda dossier: controls.start_emergency(request, dossier, GrantMode.SAMU, reference),
    )


ROUTES = [patients, lookup, declare_consent, emergency, samu]
