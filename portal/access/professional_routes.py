"""The professional's side: their patients (found among them by name and date of birth),
finding a patient by NIR, declaring the patient's consent at a consultation, and emergency or
SAMU access.

Looking a patient up offers only what would work: the dossier to open, or the requests the
policy would grant (declaring the patient's consent, emergency or SAMU access), saying why the
others would not (the patient refused emergency access, a regulator declares no consent...).
Whether there is no dossier, or it is closed, or its patient blocked the professional, the
answer is the same: no record can be opened with this number. What a lookup reveals of a
dossier is traced in it, as the request would be. The NIR, like a name or a date of birth
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
from portal.access.view import standing
from portal.audit import Action
from portal.dossiers.creation import parse_birth_date
from portal.dossiers.finding import folded
from portal.dossiers.tables import Dossier
from portal.i18n import gettext as _
from portal.identity.accounts import NAME_LIMIT
from portal.identity.numbers import InvalidNumber, format_nir, validate_nir
from portal.identity.sessions import current
from portal.identity.tables import Role
from portal.web import see_other

Form = URLEncodedBody[dict[str, Any]]
professionals = role_in(Role.PROFESSIONAL, Role.SAMU_REGULATOR)
#: A SAMU regulator has no patients of their own (they read a record for a call, by its NIR):
#: the search among one's patients is for the professionals of care only.
carers = role_in(Role.PROFESSIONAL)
PAGE_SIZE = 50
#: What a professional may ask for on a dossier they cannot open yet, by its form.
REQUESTS = {
    "consent": Action.CONSENT,
    "emergency": Action.EMERGENCY_ACCESS,
    "samu": Action.SAMU_ACCESS,
}


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
    regulator = session.role == Role.SAMU_REGULATOR
    patients = (
        []
        if regulator
        else await patients_of(
            session.account_id, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE, wanted=search
        )
    )
    return Template(
        "access/patients.html",
        context={
            "regulator": regulator,
            "patients": patients[:PAGE_SIZE],
            "page": page,
            "has_next": len(patients) > PAGE_SIZE,
            "grants": await active_grants(session.id, clock.now()),
            "nir": nir,
            "search": search,
            "errors": {},
            "found": None,
            **extra,
        },
        status_code=status,
    )


def _offered(request: Request) -> list[str]:
    """The requests the asker's role and profession may make, whatever the dossier: consent,
    for the professionals of care; emergency access, for the professions of the matrix's
    list; SAMU access, for regulators."""
    session = current(request)
    if session.role == Role.SAMU_REGULATOR:
        return ["samu"]
    if session.profession in request.app.state.matrix.emergency_professions:
        return ["consent", "emergency"]
    return ["consent"]


async def _found(request: Request, nir: str, *, trace: bool = True) -> dict[str, Any]:
    """What the asker may do about the dossier of ``nir``: open it (``dossier``), or make the
    requests ``offered`` but those ``refused`` (each with why); or nothing (``unavailable``),
    alike whether there is no such dossier, it is closed or its patient blocked the asker.
    The refusals are traced in the dossier (``trace``), as the requests would be."""
    offered = _offered(request)
    found = {"nir": nir, "dossier": None, "unavailable": False, "offered": offered, "refused": {}}
    dossier_id = await _dossier_for(nir)
    view = await standing(request, dossier_id) if dossier_id else None
    if view is None:
        return {**found, "unavailable": True}
    if view.opened.allowed:
        return {**found, "dossier": dossier_id}
    for kind in offered:
        decision = view.decide(REQUESTS[kind])
        if decision.allowed:
            continue
        if trace:
            await view.trace(REQUESTS[kind], decision, target_type="dossier")
        if decision.status == 404:  # closed, or blocked: as if there were no dossier
            return {**found, "unavailable": True}
        found["refused"][kind] = str(decision.message)
    found["offered"] = [kind for kind in offered if kind not in found["refused"]]
    return found


async def _dossier_for(nir: str) -> UUID | None:
    row = await Dossier.select(Dossier.id).where(Dossier.patient.nir == nir).first()
    return row["id"] if row else None


def _nir(data: dict) -> str:
    return validate_nir(str(data.get("nir", "")))


@get("/patients", guards=[professionals])
async def patients(request: Request, page: FromQuery[int] = 1) -> Template:
    """The professional's home: their patients, and the search by NIR."""
    return await _lookup_page(request, page=max(page, 1))


@post("/patients/search", guards=[carers])
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
    return await _lookup_page(request, format_nir(nir), found=await _found(request, nir))


async def _ask(request: Request, data: Form, field: str, problem: str, act) -> Template | Redirect:
    """Check the NIR and ``field`` (``problem`` says what is wrong with it), then ``act``."""
    try:
        nir = _nir(data)
    except InvalidNumber as error:
        return await _lookup_page(
            request, str(data.get("nir", "")), 400, errors={"nir": str(error)}
        )
    if problem:
        return await _lookup_page(
            request,
            format_nir(nir),
            400,
            found=await _found(request, nir, trace=False),
            errors={field: problem},
            **{field: data.get(field, "")},
        )
    dossier_id = await _dossier_for(nir)
    try:
        if dossier_id is None:
            raise NotFoundException()
        await act(dossier_id)  # decided and traced, allowed or refused
    except (NotFoundException, PermissionDeniedException) as refused:
        found = await _found(request, nir, trace=False)  # says why, as the lookup does
        return await _lookup_page(request, format_nir(nir), refused.status_code, found=found)
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
