"""A hospital's system (SMART Backend Services): client credentials with a signed assertion
(``private_key_jwt``), deposits for the professionals that belong to it, nothing read."""

from __future__ import annotations

from portal import crypto
from portal.audit.tables import AuditEvent
from portal.audit.trail import chain_of
from portal.dossiers.tables import Document
from portal.identity.tables import Professional
from tests.oauth.conftest import (
    BASE,
    TOKEN_ENDPOINT,
    dossier_of,
    join,
    new_patient,
    new_professional,
    register_system,
    system_client,
)


async def rpps_of(person) -> str:
    row = (
        await Professional.select(Professional.rpps)
        .where(Professional.account == person.id)
        .first()
    )
    return row["rpps"]


async def test_a_hospital_system_deposits_for_its_professionals_and_reads_nothing(portal):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    cardiologist = await new_professional(first_name="Karim", last_name="Garcia")
    await join(dossier, cardiologist)
    outsider = await new_professional(first_name="Paul", last_name="Autre")
    await join(dossier, outsider)
    system = await register_system(cardiologist)
    client = system_client(portal, system)

    token = await client.fetch_token(TOKEN_ENDPOINT, grant_type="client_credentials")
    assert token["scope"] == "system/DocumentReference.c"
    assert token["expires_in"] == 600
    assert "refresh_token" not in token
    me = (await client.get(f"{BASE}/oauth/me")).json()
    assert me["client_name"] == "Système Hospitalier Test"
    assert [member["rpps"] for member in me["professionals"]] == [await rpps_of(cardiologist)]

    documents = f"{BASE}/test-software/dossiers/{dossier}/documents"
    deposited = await client.post(
        documents,
        json={
            "category": "compte_rendu",
            "title": "Compte rendu d'hospitalisation",
            "author": await rpps_of(cardiologist),
        },
    )
    assert deposited.status_code == 201, deposited.text
    [document] = await crypto.opened(
        dossier, Document, await Document.select().where(Document.dossier == dossier)
    )
    assert document["title"] == "Compte rendu d'hospitalisation"
    assert document["author"] == cardiologist.id
    [event] = await AuditEvent.select().where(
        AuditEvent.chain == chain_of(dossier), AuditEvent.action == "create"
    )
    assert (event["actor_account"], event["via"]) == (cardiologist.id, "Système Hospitalier Test")

    # A professional who does not belong to the system, or none at all: refused.
    for author in (await rpps_of(outsider), ""):
        refused = await client.post(
            documents, json={"category": "compte_rendu", "title": "Faux", "author": author}
        )
        assert refused.status_code in (400, 403), refused.text
    # It reads nothing: not the documents, whoever it would name.
    reading = await client.get(documents)
    assert reading.status_code == 403
    assert reading.json()["error"] == "insufficient_scope"
    assert await Document.count().where(Document.title == "Faux") == 0
