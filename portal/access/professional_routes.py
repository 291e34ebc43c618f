"""The professional's side: their patients (found among them by name and date of birth),
finding a patient by NIR, declaring the patient's consent at a consultation, and emergency or
SAMU access.

Looking a patient up reveals nothing about a dossier the professional may not open: whether
there is none, or one outside their circle, or one whose patient blocked them, the answer is
the same ("ask for consent or use emergency access"). The NIR, like a name or a date of birth
searched for, travels in POST bodies only, never in a URL or a log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
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
from portal.access.view import build_view
from portal.audit import Action
from portal.dossiers.creation import parse_birth_date
from portal.dossiers.finding import folded
from portal.dossiers.tables import Dossier
from portal.i18n import gettext as _
from portal.identity.accounts import NAME_LIMIT
from portal.identity.numbers import InvalidNumber, format_nir, validate_nir
from portal.identity.sessions import current
from portal.identity.tables import Professional, Role
from portal.web import see_other

Form = URLEncodedBody[dict[str, Any]]
professionals = role_in(Role.PROFESSIONAL, Role.SAMU_REGULATOR)
PAGE_SIZE = 50


def _no_record() -> str:
    return _("No record can be opened with this number. Check it with the patient's carte Vitale.")


@dataclass(frozen=True)
class PatientSearch:
    """A search among one's patients: every word of ``name`` in their names (without case or
    accents), and their date of birth when given."""

    name: str = ""
    birth_date: date | None = None

    def __call__(self, patient: dict[str, Any]) -> bool:
        names = folded(f"{patient['first_name']} {patient['last_name']}")
        return all(word in names for word in folded(self.name).split()) and (
            self.birth_date is None or patient["birth_date"] == self.birth_date
        )


async def _lookup_page(
    request: Request,
    nir: str = "",
    status: int = 200,
    page: int = 1,
    search: PatientSearch | None = None,
    **extra: Any,
) -> Template:
    session = current(request)
    profession = (
        await Professional.select(Professional.profession)
        .where(Professional.account == session.account_id)
        .first()
    )
    emergency_professions = request.app.state.matrix.emergency_professions
    patients = await patients_of(
        session.account_id, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE, wanted=search
    )
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
            "search": search,
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


@post("/patients/search", guards=[professionals])
async def search_patients(request: Request, data: Form) -> Template:
    """Find a patient among one's own, by name and date of birth (never among everyone's)."""
    name = " ".join(str(data.get("name", "")).split())[:NAME_LIMIT]
    typed_birth = str(data.get("birth_date", "")).strip()
    birth_date, problem = (
        parse_birth_date(typed_birth, clock.now().date()) if typed_birth else (None, "")
    )
    errors = {}
    if problem:
        errors["birth_date"] = problem
    elif not name and birth_date is None:
        errors["name"] = _("Type a name, a date of birth, or both.")
    if errors:
        return await _lookup_page(
            request, status=400, errors=errors, name=name, birth_date=typed_birth
        )
    shown_birth = birth_date.isoformat() if birth_date else ""  # as a date field takes it
    search = PatientSearch(name, birth_date)
    return await _lookup_page(request, search=search, name=name, birth_date=shown_birth)


@post("/patients/lookup", guards=[professionals])
async def lookup(request: Request, data: Form) -> Template:
    try:
        nir = _nir(data)
    except InvalidNumber as error:
        return await _lookup_page(
            request, str(data.get("nir", "")), 400, errors={"nir": str(error)}
        )
    dossier_id = await _dossier_for(nir)
    opened = None
    if dossier_id is not None:
        view = await build_view(request, dossier_id, Action.VIEW)
        opened = dossier_id if view.opened.allowed else None
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


ROUTES = [patients, search_patients, lookup, declare_consent, emergency, samu]
