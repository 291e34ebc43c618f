"""What the FHIR API's tests share: a portal on the test's fresh database (SQLite, and
PostgreSQL when configured), tokens got through the real OAuth flow (`tests.oauth`), ITI-65
bundles as practice software builds them, and `valid`, which checks every resource the API
answers against fhir.resources' R4B models."""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any, NamedTuple

import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fhir.resources.R4B import get_fhir_model_class
from litestar import Litestar

from portal.fhir import codes
from portal.identity.tables import Professional
from tests.access.conftest import nir_of  # noqa: F401
from tests.oauth.conftest import (  # noqa: F401
    BASE,
    TOKEN_ENDPOINT,
    add_document,
    authorize,
    clock,
    database_url,
    dossier_of,
    join,
    new_browser,
    new_patient,
    new_professional,
    outbox,
    quick_hashing,
    register_app,
    register_system,
    signed_in,
    start_portal,
    system_client,
)

FHIR = f"{BASE}/fhir"
CLASS_SYSTEM = codes.mapping().class_system
#: The smallest file every check takes for a PDF.
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
async def portal(start_portal) -> Litestar:  # noqa: F811
    return await start_portal()


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource``, once fhir.resources' model of its type accepted it (raises otherwise)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


async def software_for(
    portal: Litestar,
    open_browser,
    person,
    scope: str = "user/DocumentReference.crus user/Patient.rs",
    name: str = "Logiciel Médical Démo",
) -> AsyncOAuth2Client:
    """An application ``person`` authorized with ``scope``: its HTTP client, with the token."""
    client_id = await register_app(f"offline_access {scope}", name=name)
    browser = await signed_in(open_browser, person)
    client, _token = await authorize(portal, browser, client_id, f"offline_access {scope}")
    return client


class Practice(NamedTuple):
    """A patient, their dossier, a GP in its care circle, and the GP's practice software."""

    patient: Any
    dossier: uuid.UUID
    gp: Any
    software: AsyncOAuth2Client


async def gp_with_software(portal: Litestar, open_browser) -> Practice:
    """What most of the API's tests start from: a new patient, whose GP's software holds a
    token for ``user/DocumentReference.crus user/Patient.rs``."""
    patient = await new_patient()
    dossier = await dossier_of(patient)
    gp = await new_professional()
    await join(dossier, gp)
    return Practice(patient, dossier, gp, await software_for(portal, open_browser, gp))


async def rpps_of(person) -> str:
    row = await Professional.select(Professional.rpps).where(Professional.account == person.id)
    return row[0]["rpps"]


def document_entry(
    patient: uuid.UUID,
    *,
    data: bytes = PDF,
    content_type: str = "application/pdf",
    class_code: str = "10",
    type_code: str | None = "11488-4",
    title: str = "Compte rendu de consultation",
    care_date: str = "2026-03-01",
    master: str | None = None,
    author_rpps: str = "",
    replaces: uuid.UUID | None = None,
) -> tuple[dict, dict]:
    """A DocumentReference and its Binary, as two bundle entries."""
    binary_url = f"urn:uuid:{uuid.uuid4()}"
    reference: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {
            "system": "urn:ietf:rfc:3986",
            "value": master or f"urn:uuid:{uuid.uuid4()}",
        },
        "status": "current",
        "category": [{"coding": [{"system": CLASS_SYSTEM, "code": class_code}]}],
        "subject": {"reference": f"Patient/{patient}"},
        "description": title,
        "content": [
            {
                "attachment": {
                    "contentType": content_type,
                    "url": binary_url,
                    "size": len(data),
                    "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),  # noqa: S324
                }
            }
        ],
        "context": {"period": {"start": care_date}},
    }
    if type_code:
        reference["type"] = {"coding": [{"system": "http://loinc.org", "code": type_code}]}
    if author_rpps:
        reference["author"] = [{"identifier": {"system": codes.RPPS_SYSTEM, "value": author_rpps}}]
    if replaces:
        reference["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{replaces}"}}
        ]
    binary = {
        "resourceType": "Binary",
        "contentType": content_type,
        "data": base64.b64encode(data).decode(),
    }
    return (
        {
            "fullUrl": f"urn:uuid:{uuid.uuid4()}",
            "resource": reference,
            "request": {"method": "POST", "url": "DocumentReference"},
        },
        {"fullUrl": binary_url, "resource": binary, "request": {"method": "POST", "url": "Binary"}},
    )


def provide_bundle(patient: uuid.UUID, *documents: tuple[dict, dict]) -> dict[str, Any]:
    """An ITI-65 transaction: the submission set, then each document and its Binary."""
    documents = documents or (document_entry(patient),)
    submission_set = {
        "resourceType": "List",
        "status": "current",
        "mode": "working",
        "subject": {"reference": f"Patient/{patient}"},
        "entry": [{"item": {"reference": reference["fullUrl"]}} for reference, _b in documents],
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": submission_set,
                "request": {"method": "POST", "url": "List"},
            },
            *(entry for pair in documents for entry in pair),
        ],
    }
