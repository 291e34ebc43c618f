"""A token on a dossier: decided by `portal.access` as its person, held to its scopes, traced
with the application named; refused at once when the patient blocks the professional, when
the grant is revoked, the account disabled or the client suspended."""

from __future__ import annotations

import pytest
from authlib.integrations.base_client import OAuthError

from portal.audit import signing
from portal.audit.tables import AuditEvent
from portal.audit.trail import chain_of
from portal.audit.verification import verify
from portal.identity import accounts
from portal.oauth import clients, store
from portal.oauth.tables import OAuthClient
from tests.access.conftest import block, represent
from tests.oauth.conftest import (
    BASE,
    TOKEN_ENDPOINT,
    add_document,
    authorize,
    dossier_of,
    join,
    new_patient,
    new_professional,
    register_app,
    signed_in,
)

SCOPE = "offline_access user/DocumentReference.crs"


async def refusals(dossier) -> list[dict]:
    return await AuditEvent.select().where(
        AuditEvent.chain == chain_of(dossier), AuditEvent.outcome == "refused"
    )


async def test_the_gp_software_reads_and_deposits_as_the_gp_and_the_patient_sees_it(
    portal, new_browser
):
    patient = await new_patient(first_name="Camille", last_name="Martin")
    dossier = await dossier_of(patient)
    gp = await new_professional(first_name="Sophie", last_name="Bernard")
    await join(dossier, gp)
    await add_document(dossier, title="Consultation du 1er mars")
    client_id = await register_app(SCOPE, name="Logiciel Médical Démo")
    client, _token = await authorize(portal, await signed_in(new_browser, gp), client_id, SCOPE)
    documents = f"{BASE}/test-software/dossiers/{dossier}/documents"

    assert (await client.get(documents)).json() == ["Consultation du 1er mars"]
    deposited = await client.post(
        documents, json={"category": "compte_rendu", "title": "Compte rendu du logiciel"}
    )
    assert deposited.status_code == 201, deposited.text

    history = await (await signed_in(new_browser, patient)).get(f"/dossiers/{dossier}/history")
    # One visit through the application, naming what it read and added.
    assert history.text.count("<strong>Dr Sophie Bernard, médecin, via Logiciel Médical Démo") == 1
    assert "a consulté la liste des documents" in history.text
    assert "a ajouté le document «\u00a0Compte rendu du logiciel\u00a0» (soins du" in history.text
    # The application's name is hashed with each event, and the chain still verifies.
    report = await verify(signing.installed(), dossier_id=dossier)
    assert report.intact
    assert report.events >= 3


async def test_scopes_narrow_what_the_person_could_do_by_hand(portal, new_browser):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    gp = await new_professional()
    await join(dossier, gp)
    reading = "user/DocumentReference.rs"
    client_id = await register_app(reading, name="Lecteur")
    client, _token = await authorize(portal, await signed_in(new_browser, gp), client_id, reading)

    refused = await client.post(
        f"{BASE}/test-software/dossiers/{dossier}/documents",
        json={"category": "compte_rendu", "title": "Tentative"},
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    challenge = refused.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert "user/DocumentReference.c" in challenge
    [traced] = await refusals(dossier)
    assert (traced["actor_account"], traced["via"]) == (gp.id, "Lecteur")
    assert traced["reason"] == "access token: outside the application scopes"


async def test_a_patient_scoped_token_reaches_only_the_record_chosen(portal, new_browser):
    parent = await new_patient(first_name="Camille", last_name="Martin")
    own = await dossier_of(parent)
    child = await new_patient(first_name="Léo", last_name="Martin")
    childs = await dossier_of(child)
    await represent(childs, parent)
    scope = "launch/patient patient/DocumentReference.rs"
    client_id = await register_app(scope, name="Carnet de famille")
    browser = await signed_in(new_browser, parent)
    client, token = await authorize(portal, browser, client_id, scope, dossier=str(childs))
    assert token["patient"] == str(childs)

    assert (
        await client.get(f"{BASE}/test-software/dossiers/{childs}/documents")
    ).status_code == 200
    elsewhere = await client.get(f"{BASE}/test-software/dossiers/{own}/documents")
    assert elsewhere.status_code == 404  # her own record, which she could open by hand
    [traced] = await refusals(own)
    assert traced["reason"] == "outside the application's patient"
    assert traced["via"] == "Carnet de famille"


async def test_a_token_is_refused_at_once_when_its_access_ends(portal, new_browser):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    gp = await new_professional()
    await join(dossier, gp)
    client_id = await register_app(SCOPE)
    browser = await signed_in(new_browser, gp)
    documents = f"{BASE}/test-software/dossiers/{dossier}/documents"

    # The patient blocks the professional: the next request is refused, and traced.
    client, _token = await authorize(portal, browser, client_id, SCOPE)
    assert (await client.get(documents)).status_code == 200
    await block(dossier, gp)
    assert (await client.get(documents)).status_code == 404
    [blocked] = await refusals(dossier)
    assert blocked["reason"] == "blocked by the patient"

    # A second dossier where the professional is not blocked, for what follows.
    other = await dossier_of(await new_patient())
    await join(other, gp)
    documents = f"{BASE}/test-software/dossiers/{other}/documents"

    # The client is suspended mid-session: its token and refresh token are refused.
    client, token = await authorize(portal, browser, client_id, SCOPE)
    row = await OAuthClient.select(OAuthClient.id).where(OAuthClient.client_id == client_id).first()
    await clients.set_suspended(row["id"], True)
    assert (await client.get(documents)).status_code == 401
    with pytest.raises(OAuthError, match="invalid_client"):
        await client.refresh_token(TOKEN_ENDPOINT, refresh_token=token["refresh_token"])
    await clients.set_suspended(row["id"], False)
    assert (await client.get(documents)).status_code == 200

    # The person withdraws the application's access.
    await store.revoke_application(gp.id, client_id, "127.0.0.1")
    answer = await client.get(documents)
    assert answer.status_code == 401
    assert "revoked" in answer.json()["error_description"]

    # The account is disabled.
    client, _token = await authorize(portal, await signed_in(new_browser, gp), client_id, SCOPE)
    await accounts.disable(gp.id)
    assert (await client.get(documents)).status_code == 401
    reasons = [event["reason"] for event in await refusals(other)]
    assert reasons == [
        "access token: client suspended",
        "access token: revoked",
        "access token: account disabled",
    ]
