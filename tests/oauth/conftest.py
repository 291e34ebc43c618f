"""What the software-access tests share: registered clients, a real OAuth client library
(authlib's `AsyncOAuth2Client`) talking to the portal through httpx's ASGI transport, the
consent step done by a person's browser, and two routes for software that open a dossier the
way the FHIR routes do (registered by the tests only).

Everything runs on the test's fresh database, once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx2
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, JSONBody

from portal.access import bearer_token
from portal.access.view import open_dossier
from portal.audit import Action
from portal.dossiers import documents
from portal.identity.tables import Professional
from portal.oauth import bearer, clients
from portal.oauth.tables import ClientKind
from portal.web import COOKIELESS
from tests.access.conftest import add_document, dossier_of, join  # noqa: F401
from tests.identity.conftest import (  # noqa: F401
    Browser,
    Person,
    clock,
    database_url,
    log_in,
    new_browser,
    new_patient,
    new_professional,
    outbox,
    quick_hashing,
    start_portal,
)

BASE = "http://127.0.0.1:8000"  # the portal's CARNET_BASE_URL in the tests
TOKEN_ENDPOINT = f"{BASE}/oauth/token"
REDIRECT_URI = "http://127.0.0.1:8765/callback"
APP_SCOPES = "openid fhirUser offline_access online_access launch/patient user/*.crus patient/*.rs"


# --- routes for software, as the FHIR API will have them ---------------------------------------

SOFTWARE = {"opt": {COOKIELESS: True}, "exception_handlers": {HTTPException: bearer.error_response}}


@get(
    "/test-software/dossiers/{dossier_id:uuid}/documents",
    guards=[bearer_token("DocumentReference.rs")],
    **SOFTWARE,
)
async def list_documents(request: Request, dossier_id: FromPath[UUID]) -> list[str]:
    view = await open_dossier(request, dossier_id, target_type="documents")
    await view.require(Action.VIEW, target_type="documents")
    return [row["title"] for row in await view.documents()]


@post(
    "/test-software/dossiers/{dossier_id:uuid}/documents",
    guards=[bearer_token("DocumentReference.c")],
    **SOFTWARE,
)
async def deposit_document(
    request: Request, dossier_id: FromPath[UUID], data: JSONBody[dict[str, Any]]
) -> dict:
    """A deposit: the author named in the request (a backend service), the document stored by
    the portal's own deposit (decided and traced in one transaction)."""
    await bearer.acting_professional(request, data.get("author", ""))
    view = await open_dossier(request, dossier_id, Action.CREATE, data["category"])
    entry = documents.Entry(
        category=data["category"],
        type="",
        title=data["title"],
        care_date=date(2026, 3, 1),
        body="Compte rendu déposé par un logiciel.",
        submission=uuid.uuid4(),
    )
    return {"id": str(await documents.store(view, entry))}


@pytest.fixture
async def portal(start_portal) -> Litestar:  # noqa: F811
    app = await start_portal()
    app.register(list_documents)
    app.register(deposit_document)
    return app


# --- clients ------------------------------------------------------------------------------------


async def register_app(scope: str = APP_SCOPES, *, name: str = "Logiciel Médical Test") -> str:
    """A public application (PKCE, no secret); its client_id."""
    client_id = f"app-{uuid.uuid4().hex[:8]}"
    await clients.register(
        clients.NewClient(
            name=name,
            kind=ClientKind.APP,
            client_id=client_id,
            redirect_uris=REDIRECT_URI,
            scope=scope,
        ),
        production=False,
    )
    return client_id


class HospitalSystem:
    """A backend service with its own RSA key, registered with its public half."""

    def __init__(self, client_id: str, key: RSAKey):
        self.client_id = client_id
        self.key = key

    def assertion(self, **claims: Any) -> str:
        """A signed client assertion as SMART Backend Services makes them (``claims``
        overrides the usual ones)."""
        now = int(time.time())
        payload = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": TOKEN_ENDPOINT,
            "exp": now + 240,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        header = {"alg": "RS384", "kid": self.key.kid}
        return jwt.encode(header, payload, self.key, algorithms=["RS384"])


async def register_system(
    *members: Person, scope: str = "system/DocumentReference.c"
) -> HospitalSystem:
    key = RSAKey.generate_key(2048, {"use": "sig", "alg": "RS384"})
    key.ensure_kid()
    client_id = f"system-{uuid.uuid4().hex[:8]}"
    numbers = [
        row["rpps"]
        for member in members
        for row in await Professional.select(Professional.rpps).where(
            Professional.account == member.id
        )
    ]
    await clients.register(
        clients.NewClient(
            name="Système Hospitalier Test",
            kind=ClientKind.SYSTEM,
            client_id=client_id,
            jwks=json.dumps({"keys": [key.as_dict(private=False)]}),
            scope=scope,
            professionals="\n".join(numbers),
        ),
        production=False,
    )
    return HospitalSystem(client_id, key)


class FreshPrivateKeyJWT(PrivateKeyJWT):
    """authlib's private_key_jwt with what SMART asks of each assertion: a new ``jti`` and an
    expiry five minutes away at most."""

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + 240, "jti": uuid.uuid4().hex}
        return super().sign(auth, token_endpoint)


def transport(app: Litestar) -> httpx2.ASGITransport:
    """The app called in this event loop through httpx2, the HTTP client authlib's speak."""
    return httpx2.ASGITransport(app=app, client=("127.0.0.1", 50000))


def raw_client(app: Litestar) -> httpx2.AsyncClient:
    """A plain HTTP client, for requests no OAuth library would make."""
    return httpx2.AsyncClient(transport=transport(app), base_url=BASE)


def app_client(app: Litestar, client_id: str, scope: str = APP_SCOPES) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=client_id,
        scope=scope,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        transport=transport(app),
    )


def system_client(app: Litestar, system: HospitalSystem) -> AsyncOAuth2Client:
    client = AsyncOAuth2Client(
        client_id=system.client_id,
        client_secret=system.key,
        token_endpoint_auth_method="private_key_jwt",
        scope="system/DocumentReference.c",
        transport=transport(app),
    )
    client.register_client_auth_method(FreshPrivateKeyJWT(TOKEN_ENDPOINT, alg="RS384"))
    return client


# --- the consent step -----------------------------------------------------------------------------


async def consent(
    browser: Browser, authorization_url: str, decision: str = "accept", **fields: str
) -> str:
    """The person's browser opens the authorization URL, answers the consent page, and is
    sent back to the application: returns where (the redirect URI with the code)."""
    parts = urlsplit(authorization_url)
    page = await browser.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200, page.text
    answer = await browser.submit("/oauth/authorize", {"decision": decision, **fields})
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["location"]


async def authorize(
    app: Litestar, browser: Browser, client_id: str, scope: str = APP_SCOPES, **fields: str
) -> tuple[AsyncOAuth2Client, dict]:
    """The whole authorization code flow with PKCE: returns the client and its token."""
    client = app_client(app, client_id, scope)
    verifier = uuid.uuid4().hex + uuid.uuid4().hex
    url, _state = client.create_authorization_url(f"{BASE}/oauth/authorize", code_verifier=verifier)
    location = await consent(browser, url, **fields)
    token = await client.fetch_token(
        TOKEN_ENDPOINT, authorization_response=location, code_verifier=verifier
    )
    return client, token


async def signed_in(open_browser, person: Person) -> Browser:
    """A browser (from the ``new_browser`` fixture) where ``person`` has logged in."""
    browser = open_browser()
    await log_in(browser, person)
    return browser
