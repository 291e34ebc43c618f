"""The API driven by a real FHIR client library (fhirpy), over HTTP: the portal served by
uvicorn in the test's event loop, on a free port, with the test's database."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from fhirpy import AsyncFHIRClient

from portal.fhir import codes
from tests.fhir.conftest import (
    BASE,
    dossier_of,
    join,
    new_patient,
    new_professional,
    nir_of,
    provide_bundle,
    software_for,
    valid,
)


@pytest.fixture
async def served(portal) -> AsyncIterator[str]:
    """The portal on a free local port: its FHIR base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(portal, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn says it started by this flag only  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}/fhir"
    server.should_exit = True
    await task


async def test_fhirpy_finds_the_patient_deposits_and_reads_back(portal, served, new_browser):
    patient = await new_patient(first_name="Camille", last_name="Martin")
    dossier = await dossier_of(patient)
    gp = await new_professional(first_name="Sophie", last_name="Bernard")
    await join(dossier, gp)
    software = await software_for(portal, new_browser, gp)
    client = AsyncFHIRClient(
        served,
        authorization=f"Bearer {software.token['access_token']}",
        url_aliases=[f"{BASE}/fhir"],
    )

    nir = await nir_of(patient)
    [found] = (
        await client.resources("Patient").search(identifier=f"{codes.INS_NIR_SYSTEM}|{nir}").fetch()
    )
    assert found.id == str(dossier)
    valid(found.serialize())

    response = await client.execute("", method="post", data=provide_bundle(dossier))
    assert valid(response)["type"] == "transaction-response"
    # Each entry's location is a reference the client follows: the submission set's List
    # names the DocumentReference deposited.
    set_location, document_location = (
        entry["response"]["location"] for entry in response["entry"][:2]
    )
    submission_set = await client.reference(reference=set_location).to_resource()
    assert [entry["item"]["reference"] for entry in valid(submission_set.serialize())["entry"]] == [
        document_location
    ]

    references = (
        await client.resources("DocumentReference")
        .search(patient=f"Patient/{dossier}", status="current", type="http://loinc.org|11488-4")
        .fetch_all()
    )
    assert [reference["description"] for reference in references] == [
        "Compte rendu de consultation"
    ]
    reference = await client.reference("DocumentReference", references[0].id).to_resource()
    assert valid(reference.serialize())["subject"]["reference"] == f"Patient/{dossier}"
    assert (
        await client.resources("DocumentReference")
        .search(patient=f"Patient/{dossier}", category=f"{codes.mapping().class_system}|31")
        .count()
        == 0
    )
