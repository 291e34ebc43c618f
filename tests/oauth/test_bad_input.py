"""Every bad request gets the OAuth error its RFC names, with a 4xx, never a 5xx: at the
authorization endpoint (RFC 6749 §4.1.2.1, RFC 7636), the token endpoint (RFC 6749 §5.2,
RFC 7523), and on a protected route (RFC 6750)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from authlib.integrations.base_client import OAuthError
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.identity.conftest import new_administrator
from tests.oauth.conftest import (
    BASE,
    REDIRECT_URI,
    TOKEN_ENDPOINT,
    app_client,
    authorize,
    consent,
    new_patient,
    new_professional,
    raw_client,
    register_app,
    register_system,
    signed_in,
)

SCOPE = "openid offline_access user/DocumentReference.rs"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
VERIFIER = "a" * 50


def authorization_query(client_id: str, **changes: str | None) -> str:
    parameters = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "state": "xyz",
        "code_challenge": create_s256_code_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **changes,
    }
    return "/oauth/authorize?" + urlencode({k: v for k, v in parameters.items() if v is not None})


def error_of(location: str) -> tuple[str, str]:
    """The error an authorization sends back to the application, and its state."""
    assert location.startswith(REDIRECT_URI), location
    query = parse_qs(urlsplit(location).query)
    return query["error"][0], query["state"][0]


async def test_authorization_requests_that_are_refused(portal, new_browser):
    gp = await new_professional()
    client_id = await register_app(SCOPE)
    browser = await signed_in(new_browser, gp)

    # The application cannot be told (unknown client, unregistered address): a page says why.
    for query in (
        authorization_query("nobody"),
        authorization_query(client_id, redirect_uri='http://127.0.0.1:8765/"callback'),
        authorization_query(client_id, scope="user/Dossier.rs é"),
        authorization_query(client_id, redirect_uri="https://attacker.example/callback"),
        authorization_query(client_id, redirect_uri=REDIRECT_URI + "/"),
    ):
        page = await browser.get(query)
        assert page.status_code == 400
        assert "La demande de l’application ne peut pas être acceptée" in page.text
    # The application can be told: back to it with the error and its state.
    for changes, expected in (
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain", "code_challenge": VERIFIER}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "system/DocumentReference.c"}, "invalid_scope"),
        ({"scope": "patient/*.rs"}, "invalid_scope"),  # only the patient's side grants it
        ({"scope": "user/Nothing.x"}, "invalid_scope"),
        ({"aud": "https://other.example/fhir"}, "invalid_request"),
    ):
        answer = await browser.get(authorization_query(client_id, **changes))
        assert answer.status_code == 302, (changes, answer.text)
        assert error_of(answer.headers["location"]) == (expected, "xyz"), changes
    # The person refuses.
    location = await consent(browser, BASE + authorization_query(client_id), decision="refuse")
    assert error_of(location) == ("access_denied", "xyz")
    # Staff accounts never let software act for them.
    admin_browser = await signed_in(new_browser, await new_administrator())
    assert (await admin_browser.get(authorization_query(client_id))).status_code == 403


async def test_codes_are_single_use_and_bound_to_their_verifier(portal, new_browser):
    patient = await new_patient()
    client_id = await register_app(SCOPE)
    browser = await signed_in(new_browser, patient)

    # A wrong verifier: invalid_grant, and the code is spent.
    client = app_client(portal, client_id, SCOPE)
    url, _state = client.create_authorization_url(f"{BASE}/oauth/authorize", code_verifier=VERIFIER)
    location = await consent(browser, url)
    with pytest.raises(OAuthError, match="invalid_grant"):
        await client.fetch_token(
            TOKEN_ENDPOINT, authorization_response=location, code_verifier="b" * 50
        )
    with pytest.raises(OAuthError, match="invalid_grant"):
        await client.fetch_token(
            TOKEN_ENDPOINT, authorization_response=location, code_verifier=VERIFIER
        )
    # No verifier at all.
    url, _state = client.create_authorization_url(f"{BASE}/oauth/authorize", code_verifier=VERIFIER)
    location = await consent(browser, url)
    code = parse_qs(urlsplit(location).query)["code"][0]
    async with raw_client(portal) as http:
        answer = await http.post(
            TOKEN_ENDPOINT,
            data={"grant_type": "authorization_code", "code": code, "client_id": client_id,
                  "redirect_uri": REDIRECT_URI},
        )  # fmt: skip
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")

    # A code shown a second time revokes the tokens it gave.
    client, token = await authorize(portal, browser, client_id, SCOPE)
    assert (await client.get(f"{BASE}/oauth/me")).status_code == 200
    code_location = await consent(browser, client.create_authorization_url(
        f"{BASE}/oauth/authorize", code_verifier=VERIFIER)[0])  # fmt: skip
    first = await client.fetch_token(
        TOKEN_ENDPOINT, authorization_response=code_location, code_verifier=VERIFIER
    )
    with pytest.raises(OAuthError, match="invalid_grant"):
        await client.fetch_token(
            TOKEN_ENDPOINT, authorization_response=code_location, code_verifier=VERIFIER
        )
    client.token = first
    assert (await client.get(f"{BASE}/oauth/me")).status_code == 401
    client.token = token  # the earlier grant is another one: it still acts
    assert (await client.get(f"{BASE}/oauth/me")).status_code == 200

    # Asking more on refresh than was granted.
    with pytest.raises(OAuthError, match="invalid_scope"):
        await client.refresh_token(
            TOKEN_ENDPOINT, refresh_token=token["refresh_token"], scope=SCOPE + " user/*.cruds"
        )


def unsigned(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}."


async def test_client_assertions_that_are_refused(portal):
    system = await register_system()
    now = int(time.time())
    stranger = RSAKey.generate_key(2048, {"alg": "RS384"})
    claims = {"iss": system.client_id, "sub": system.client_id, "aud": TOKEN_ENDPOINT,
              "exp": now + 60}  # fmt: skip
    good = system.assertion()
    cases = {
        "expired": system.assertion(exp=now - 120, iat=now - 400),
        "lives an hour": system.assertion(exp=now + 3600),
        "wrong audience": system.assertion(aud=f"{BASE}/fhir"),
        "forged": jwt.encode({"alg": "RS384"}, {**claims, "jti": "x"}, stranger, ["RS384"]),
        "unsigned": unsigned({**claims, "jti": "y"}),
        "no jti": system.assertion(jti=None),
        "another issuer": system.assertion(iss="someone-else"),
        "oversized": system.assertion(padding="x" * 10000),
        "malformed": "not.a.jwt",
        "not even a JWT": "%%%",
    }
    async with raw_client(portal) as http:

        async def token_request(assertion: str):
            return await http.post(
                TOKEN_ENDPOINT,
                data={
                    "grant_type": "client_credentials",
                    "scope": "system/DocumentReference.c",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion,
                },
            )

        for case, assertion in cases.items():
            answer = await token_request(assertion)
            assert answer.status_code in (400, 401), (case, answer.text)
            assert answer.json()["error"] == "invalid_client", case
        assert (await token_request(good)).status_code == 200
        replayed = await token_request(good)
        assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_client")
        assert "used before" in replayed.json()["error_description"]
        # Scopes a backend service may not have, and grants it may not use.
        wider = await http.post(
            TOKEN_ENDPOINT,
            data={
                "grant_type": "client_credentials",
                "scope": "system/DocumentReference.rs",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": system.assertion(),
            },
        )
        assert (wider.status_code, wider.json()["error"]) == (400, "invalid_scope")
        huge = await http.post(
            TOKEN_ENDPOINT,
            data={
                "grant_type": "client_credentials",
                "scope": "x" * 100_000,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": system.assertion(),
            },
        )
        assert (huge.status_code, huge.json()["error"]) == (400, "invalid_scope")
        assert len(huge.text) < 2_000  # the unknown scope is named, cut
        public = await http.post(
            TOKEN_ENDPOINT,
            data={"grant_type": "client_credentials", "client_id": await register_app(SCOPE)},
        )
        assert public.status_code in (400, 401)
        assert public.json()["error"] in ("invalid_client", "unauthorized_client")
        quoted = await http.post(TOKEN_ENDPOINT, data={"grant_type": 'client_"credentials'})
        assert (quoted.status_code, quoted.json()["error"]) == (400, "invalid_request")
        garbage = await http.post(
            TOKEN_ENDPOINT, content=b"\xff\x00", headers={"content-type": "application/json"}
        )
        assert (garbage.status_code, garbage.json()["error"]) == (400, "unsupported_grant_type")


async def test_protected_routes_refuse_missing_unknown_and_expired_tokens(
    portal, new_browser, clock
):
    async with raw_client(portal) as http:
        missing = await http.get("/oauth/me")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="Carnet"'
        basic = await http.get("/oauth/me", headers={"authorization": "Basic dXNlcjpwYXNz"})
        assert basic.status_code == 401
        for token in ("unknown", "x" * 5000, "a b c", uuid.uuid4().hex):
            answer = await http.get("/oauth/me", headers={"authorization": f"Bearer {token}"})
            assert answer.status_code == 401, token
            assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    client_id = await register_app(SCOPE)
    client, _token = await authorize(
        portal, await signed_in(new_browser, await new_patient()), client_id, SCOPE
    )
    clock.advance(minutes=10, seconds=1)
    expired = await client.get(f"{BASE}/oauth/me")
    assert expired.status_code == 401
    assert "expired" in expired.json()["error_description"]
