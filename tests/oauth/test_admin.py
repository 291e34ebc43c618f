"""The administrator registers, suspends, resumes and deletes client applications; a
registration that cannot work is refused field by field."""

from __future__ import annotations

import json

from joserfc.jwk import RSAKey

from portal.identity.tables import Professional
from portal.oauth import store
from portal.oauth.tables import ClientProfessional, OAuthClient, OAuthGrant, OAuthToken
from tests.identity.conftest import field_error, new_administrator
from tests.oauth.conftest import (
    authorize,
    new_patient,
    new_professional,
    register_app,
    signed_in,
)


async def test_an_administrator_registers_suspends_and_deletes_applications(portal, new_browser):
    admin = await signed_in(new_browser, await new_administrator())
    doctor = await new_professional(first_name="Karim", last_name="Garcia")
    rpps = (await Professional.select().where(Professional.account == doctor.id).first())["rpps"]
    key = RSAKey.generate_key(2048, {"alg": "RS384"})
    public = json.dumps({"keys": [key.as_dict(private=False)]})

    await admin.get("/admin/clients/new")
    answer = await admin.submit(
        "/admin/clients/new",
        {
            "name": "Logiciel du cabinet",
            "kind": "app",
            "client_id": "cabinet",
            "redirect_uris": "https://cabinet.example.fr/retour",
            "scope": "openid offline_access user/DocumentReference.crs",
        },
    )
    assert answer.status_code == 303
    await admin.get("/admin/clients/new")
    answer = await admin.submit(
        "/admin/clients/new",
        {
            "name": "Centre hospitalier",
            "kind": "system",
            "client_id": "hopital",
            "jwks": public,
            "scope": "system/DocumentReference.c",
            "professionals": rpps,
        },
    )
    assert answer.status_code == 303
    listing = await admin.get("/admin/clients")
    assert "Logiciel du cabinet" in listing.text
    assert "Centre hospitalier" in listing.text
    hospital = await OAuthClient.select().where(OAuthClient.client_id == "hopital").first()
    members = await ClientProfessional.select().where(ClientProfessional.client == hospital["id"])
    assert [member["professional"] for member in members] == [doctor.id]

    await admin.submit(f"/admin/clients/{hospital['id']}/suspend")
    assert (await OAuthClient.select().where(OAuthClient.id == hospital["id"]).first())[
        "suspended_at"
    ] is not None
    await admin.get("/admin/clients")
    await admin.submit(f"/admin/clients/{hospital['id']}/resume")
    await admin.get("/admin/clients")
    await admin.submit(f"/admin/clients/{hospital['id']}/delete")
    assert not await OAuthClient.exists().where(OAuthClient.id == hospital["id"])
    assert not await ClientProfessional.exists().where(ClientProfessional.client == hospital["id"])


async def test_registrations_that_cannot_work_are_refused_by_field(portal, new_browser):
    admin = await signed_in(new_browser, await new_administrator())
    private = json.dumps({"keys": [RSAKey.generate_key(2048).as_dict(private=True)]})
    system = {"kind": "system", "redirect_uris": "", "jwks_uri": "https://h.example/jwks",
              "scope": "system/Patient.c"}  # fmt: skip
    cases = [
        ({"name": "", "kind": "app"}, "name"),
        ({"kind": "app", "redirect_uris": ""}, "redirect_uris"),
        ({"kind": "app", "redirect_uris": "http://cabinet.example.fr/retour#x"}, "redirect_uris"),
        ({"kind": "app", "scope": "system/DocumentReference.c"}, "scope"),
        ({"kind": "app", "scope": "user/Document.zz"}, "scope"),
        ({"kind": "app", "client_id": "A B"}, "client_id"),
        ({**system, "jwks_uri": ""}, "jwks"),
        ({**system, "jwks_uri": "", "jwks": private}, "jwks"),
        ({**system, "jwks_uri": "", "jwks": "{"}, "jwks"),
        ({**system, "scope": "user/*.rs"}, "scope"),
        ({**system, "professionals": "12345"}, "professionals"),
        ({"kind": "robot"}, "kind"),
    ]  # fmt: skip
    for change, field in cases:
        await admin.get("/admin/clients/new")
        values = {
            "name": "Logiciel",
            "redirect_uris": "https://cabinet.example.fr/retour",
            "scope": "user/DocumentReference.rs",
            **change,
        }
        answer = await admin.submit("/admin/clients/new", values)
        assert answer.status_code == 400, change
        assert field_error(answer.text, field), (change, field)
    assert await OAuthClient.count() == 0
    # Only administrators.
    doctor = await signed_in(new_browser, await new_professional())
    assert (await doctor.get("/admin/clients")).status_code == 403


async def test_purging_deletes_the_grants_that_ended_and_keeps_the_live_ones(
    portal, new_browser, clock
):
    scope = "offline_access user/DocumentReference.rs"
    patient = await new_patient()
    browser = await signed_in(new_browser, patient)
    client_id = await register_app(scope)
    await authorize(portal, browser, client_id, scope)  # lives 90 days
    await authorize(portal, browser, client_id, "user/DocumentReference.rs")  # one token
    withdrawn = await register_app(scope, name="Retirée")
    await authorize(portal, browser, withdrawn, scope)
    await store.revoke_application(patient.id, withdrawn, "127.0.0.1")
    clock.advance(minutes=16)  # the one-token grant has ended too

    assert await store.purge_ended() == 2
    [live] = await OAuthGrant.select()
    assert live["scope"] == scope
    assert (
        live["client"]
        == (await OAuthClient.select().where(OAuthClient.client_id == client_id).first())["id"]
    )
    assert await OAuthToken.count() == 1
