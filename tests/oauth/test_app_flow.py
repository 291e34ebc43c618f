"""An application acting for a person: SMART standalone launch with the authorization code and
PKCE, driven by authlib's OAuth client, the consent given in the person's browser; then the
token at work, refreshed, introspected, revoked, and listed on the person's account."""

from __future__ import annotations

import pytest
from authlib.integrations.base_client import OAuthError
from joserfc import jwt
from joserfc.jwk import KeySet

from portal.audit.tables import AuditEvent
from portal.oauth.tables import OAuthGrant
from tests.oauth.conftest import (
    APP_SCOPES,
    BASE,
    TOKEN_ENDPOINT,
    app_client,
    authorize,
    consent,
    new_patient,
    new_professional,
    raw_client,
    register_app,
    signed_in,
)


async def test_metadata_names_the_endpoints_and_the_key_checks_the_id_token(portal, new_browser):
    async with raw_client(portal) as http:
        smart = (await http.get("/.well-known/smart-configuration")).json()
        openid = (await http.get("/.well-known/openid-configuration")).json()
        key_set = (await http.get("/oauth/jwks")).json()
    assert smart == openid
    assert smart["token_endpoint"] == TOKEN_ENDPOINT
    assert smart["code_challenge_methods_supported"] == ["S256"]
    assert "private_key_jwt" in smart["token_endpoint_auth_methods_supported"]
    assert {"permission-v2", "launch-standalone"} <= set(smart["capabilities"])
    assert all("d" not in key for key in key_set["keys"])  # the public half only

    gp = await new_professional(first_name="Sophie", last_name="Bernard")
    client_id = await register_app()
    _, token = await authorize(portal, await signed_in(new_browser, gp), client_id)
    claims = jwt.decode(token["id_token"], KeySet.import_key_set(key_set)).claims
    assert claims["iss"] == BASE
    assert claims["aud"] == [client_id]
    assert claims["sub"] == str(gp.id)
    assert claims["fhirUser"] == f"{BASE}/fhir/Practitioner/{gp.id}"


async def test_practice_software_acts_for_the_gp_until_its_access_is_withdrawn(portal, new_browser):
    gp = await new_professional(first_name="Sophie", last_name="Bernard")
    scope = "openid fhirUser offline_access user/DocumentReference.crs"
    client_id = await register_app(scope, name="Logiciel Médical Test")
    browser = await signed_in(new_browser, gp)

    client = app_client(portal, client_id, scope)
    verifier = "v" * 64
    url, _state = client.create_authorization_url(f"{BASE}/oauth/authorize", code_verifier=verifier)
    page = await browser.get(url.removeprefix(BASE))
    assert "Logiciel Médical Test" in page.text
    assert "Lire les documents des dossiers auxquels vous avez accès." in page.text
    assert "Ajouter les documents des dossiers auxquels vous avez accès." in page.text
    assert "Savoir qui vous êtes" in page.text
    location = await consent(browser, url)
    token = await client.fetch_token(
        TOKEN_ENDPOINT, authorization_response=location, code_verifier=verifier
    )
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 600
    assert "refresh_token" in token  # offline_access
    assert token["scope"] == scope

    me = (await client.get(f"{BASE}/oauth/me")).json()
    assert me["name"] == "Sophie Bernard"
    assert me["client_name"] == "Logiciel Médical Test"

    introspected = (
        await client.introspect_token(f"{BASE}/oauth/introspect", token["access_token"])
    ).json()
    assert introspected["active"] is True
    assert introspected["sub"] == str(gp.id)

    # Refreshed: new tokens, and the old refresh token is spent.
    refreshed = await client.refresh_token(TOKEN_ENDPOINT, refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert (await client.get(f"{BASE}/oauth/me")).status_code == 200

    # RFC 7009: the application revokes its access token, and the refresh token issued with it.
    revoked = await client.revoke_token(f"{BASE}/oauth/revoke", refreshed["access_token"])
    assert revoked.status_code == 200
    assert (await client.get(f"{BASE}/oauth/me")).status_code == 401
    with pytest.raises(OAuthError, match="invalid_grant"):
        await client.refresh_token(TOKEN_ENDPOINT, refresh_token=refreshed["refresh_token"])
    client, _token = await authorize(portal, browser, client_id, scope)

    # The account page lists the application, with its last use; withdrawing it ends it.
    applications = await browser.get("/account/applications")
    assert "Logiciel Médical Test" in applications.text
    assert "Dernière utilisation" in applications.text
    await browser.submit(f"/account/applications/{client_id}/revoke")
    refused = await client.get(f"{BASE}/oauth/me")
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert "Logiciel Médical Test" not in (await browser.get("/account/applications")).text
    revoked = (
        await AuditEvent.select()
        .where(AuditEvent.target_type == "oauth_grant")
        .order_by(AuditEvent.seq)
    )
    assert [event["reason"] for event in revoked] == [
        *("authorized", "authorized"),  # the first grant, and the one after the revocation
        *("revoked by the person", "revoked by the person"),
    ]
    assert {event["via"] for event in revoked} == {"Logiciel Médical Test"}


async def test_a_refresh_token_used_twice_revokes_the_whole_grant(portal, new_browser):
    patient = await new_patient()
    scope = "openid offline_access user/*.rs"
    client_id = await register_app(scope)
    client, token = await authorize(portal, await signed_in(new_browser, patient), client_id, scope)
    fresh = await client.refresh_token(TOKEN_ENDPOINT, refresh_token=token["refresh_token"])

    stolen = raw_client(portal)
    replay = await stolen.post(
        TOKEN_ENDPOINT,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": client_id,
        },
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    # The grant is gone: the tokens of the latest refresh do not act either.
    client.token = fresh
    assert (await client.get(f"{BASE}/oauth/me")).status_code == 401
    again = await stolen.post(
        TOKEN_ENDPOINT,
        data={
            "grant_type": "refresh_token",
            "refresh_token": fresh["refresh_token"],
            "client_id": client_id,
        },
    )
    assert again.json()["error"] == "invalid_grant"
    [grant] = await OAuthGrant.select()
    assert grant["revoked_at"] is not None


async def test_a_patient_gives_an_app_their_own_record_or_their_childs(portal, new_browser):
    from tests.oauth.conftest import dossier_of

    patient = await new_patient(first_name="Camille", last_name="Martin")
    own = await dossier_of(patient)
    client_id = await register_app("openid launch/patient patient/*.rs")
    client, token = await authorize(portal, await signed_in(new_browser, patient), client_id)
    assert token["patient"] == str(own)
    assert token["scope"] == "openid launch/patient patient/*.rs"
    assert (await client.get(f"{BASE}/oauth/me")).json()["patient"] == str(own)
    assert APP_SCOPES  # the default registration asks for more; this one for the patient only
