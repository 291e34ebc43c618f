"""Dossiers with documents, care circles and blocks, for the access tests; and the identity
tests' portal, browsers and people."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import httpx

from portal import clock as wall_clock
from portal.access.tables import Block, CircleMember, Joined
from portal.audit.tables import AuditEvent
from portal.dossiers.tables import Document, Dossier, Representative
from portal.identity.tables import Patient
from tests.identity.conftest import (  # noqa: F401
    Browser,
    Person,
    clock,
    database_url,
    log_in,
    new_browser,
    outbox,
    portal,
    quick_hashing,
    start_portal,
)


async def dossier_of(person: Person, **facts) -> UUID:
    """A new dossier for a patient (``facts``: the dossier's columns to set)."""
    patient = await Patient.select(Patient.id).where(Patient.account == person.id).first()
    now = wall_clock.now()
    dossier = Dossier(
        patient=patient["id"], created_at=now, created_through="online", consent_at=now, **facts
    )
    await dossier.save()
    return dossier.id


async def add_document(
    dossier: UUID, category: str = "compte_rendu", *, author: Person | None = None, **columns
) -> UUID:
    document = Document(
        dossier=dossier,
        category=category,
        title=columns.pop("title", f"Document {category}"),
        care_date=columns.pop("care_date", date(2026, 10, 1)),
        created_at=wall_clock.now(),
        author=author.id if author else None,
        author_name=f"{author.first_name} {author.last_name}" if author else "",
        body=columns.pop("body", f"Texte du document {category}"),
        **columns,
    )
    await document.save()
    return document.id


async def join(dossier: UUID, professional: Person, joined: Joined = Joined.BY_PATIENT) -> None:
    await CircleMember.insert(
        CircleMember(
            dossier=dossier, professional=professional.id, joined=joined, since=wall_clock.now()
        )
    )


async def block(dossier: UUID, professional: Person) -> None:
    await Block.insert(Block(dossier=dossier, professional=professional.id, since=wall_clock.now()))


async def represent(dossier: UUID, person: Person) -> None:
    await Representative.insert(
        Representative(dossier=dossier, account=person.id, since=wall_clock.now())
    )


async def nir_of(patient: Person) -> str:
    """The patient's social security number, as on their carte Vitale."""
    row = await Patient.select(Patient.nir).where(Patient.account == patient.id).first()
    return row["nir"]


async def open_in_emergency(browser: Browser, patient: Person, reason: str) -> httpx.Response:
    """Find the patient by NIR on /patients and open their dossier in emergency access, with
    ``reason``, as a professional does (the answer to the emergency form)."""
    assert (await browser.get("/patients")).status_code == 200
    found = await browser.submit("/patients/lookup", {"nir": await nir_of(patient)})
    assert found.status_code == 200, found.status_code
    return await browser.submit("/patients/emergency", {"reason": reason})


async def post_form(
    browser: Browser, path: str, headers: dict | None = None, **fields: str
) -> httpx.Response:
    """A POST with ``fields`` and the CSRF token of the browser's session (taken from its
    account page), for a form the person's pages do not offer them."""
    await browser.get("/account")
    return await browser.post(path, {"csrf_token": browser.csrf_token, **fields}, headers=headers)


async def trail(dossier: UUID, person: Person | None = None) -> list[dict]:
    """The dossier's audit events (of ``person`` only, when given), oldest first."""
    query = AuditEvent.select().where(AuditEvent.chain == f"dossier:{dossier}")
    if person is not None:
        query = query.where(AuditEvent.actor_account == person.id)
    return await query.order_by(AuditEvent.seq)


async def refusals(dossier: UUID, person: Person) -> list[dict]:
    """What the trail of the dossier holds as refused to ``person``."""
    return [event for event in await trail(dossier, person) if event["outcome"] == "refused"]


async def signed_in_browser(open_browser, person: Person) -> Browser:
    """A new browser (from the ``new_browser`` fixture) where ``person`` has logged in."""
    browser = open_browser()
    await log_in(browser, person)
    return browser
