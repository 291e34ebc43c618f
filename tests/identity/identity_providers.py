"""OpenID Connect providers for the tests of the national logins.

- `LocalProviders`: the real ones, oidc-provider as ``scripts/identity-providers.mjs`` runs it
  (Pro-Santé-Connect-like and FranceConnect-like), started once per test session. `AtProvider`
  is a person at them: it follows Carnet's redirect there, picks who to be on the provider's
  page and brings the answer back to Carnet in the person's `Browser`.
- `FakeProvider`: a small provider in Python that misbehaves as a test asks (another key,
  ``alg: none``, the wrong audience, a slow answer...), for what a certified provider never
  does. The test plays the browser's part at the provider: it reads the ``state`` and
  ``nonce`` from Carnet's redirect and answers the callback itself.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import select
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conftest import TEST_HOST

REPOSITORY = Path(__file__).resolve().parents[2]
SCRIPT = REPOSITORY / "scripts" / "identity-providers.mjs"
START_TIMEOUT = 30  # seconds, for node to load and make its keys
CLIENT_ID = "carnet"
#: The onwards page's way on (see templates/federation/onwards.html).
REFRESH = re.compile(r'<meta http-equiv="refresh" content="0; url=([^"]+)">')


def onwards_url(page: str) -> str:
    """Where a page that moves on by itself leads ("" if it does not)."""
    match = REFRESH.search(page)
    return match.group(1).replace("&amp;", "&") if match else ""


# --- the real providers -------------------------------------------------------------------


class LocalProviders:
    """``node scripts/identity-providers.mjs``, listening on ``origin``, for the portal at
    ``carnet`` (the tests' own by default)."""

    def __init__(self, port: int, log: Path, carnet: str = f"http://{TEST_HOST}") -> None:
        self.origin = f"http://127.0.0.1:{port}"
        self.carnet = carnet
        self.log = log
        self.process = subprocess.Popen(
            ["node", str(SCRIPT), "--port", str(port), "--carnet", carnet],
            cwd=REPOSITORY,
            env={**os.environ, **self.settings()},
            stdout=subprocess.PIPE,
            stderr=log.open("wb"),
            text=True,
        )
        # The script says "ready" once it listens.
        readable, _, _ = select.select([self.process.stdout], [], [], START_TIMEOUT)
        ready = self.process.stdout.readline() if readable else ""
        if not ready.startswith("ready "):
            self.stop()
            raise RuntimeError(f"the local providers did not start:\n{log.read_text()}")

    def settings(self) -> dict[str, str]:
        """The CARNET_* settings of a portal that logs in with them; Pro Santé Connect's
        discovery document under its own name, as the real one publishes it."""
        return {
            "CARNET_BASE_URL": self.carnet,
            "CARNET_PSC_ISSUER": f"{self.origin}/psc/.well-known/wallet-openid-configuration",
            "CARNET_PSC_CLIENT_ID": CLIENT_ID,
            "CARNET_PSC_CLIENT_SECRET": "secret-of-the-local-pro-sante-connect",
            "CARNET_FRANCECONNECT_ISSUER": f"{self.origin}/franceconnect",
            "CARNET_FRANCECONNECT_CLIENT_ID": CLIENT_ID,
            "CARNET_FRANCECONNECT_CLIENT_SECRET": "secret-of-the-local-franceconnect",
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class AtProvider:
    """A person at the local providers, with the provider's cookies (its session) kept."""

    def __init__(self, providers: LocalProviders) -> None:
        self.providers = providers
        self.http = httpx.AsyncClient()

    async def close(self) -> None:
        await self.http.aclose()

    async def log_in(
        self,
        browser,
        start: str,
        identity: str,
        *,
        acr: str = "",
        decision: str = "accept",
    ) -> httpx.Response:
        """Open ``start`` in ``browser`` (``/login/psc``, say), be ``identity`` at the
        provider (unless logged in there already), and return Carnet's answer to the
        provider's redirect back."""
        callback = await self.answer(browser, start, identity, acr=acr, decision=decision)
        return await browser.get(callback)

    async def answer(
        self, browser, start: str, identity: str, *, acr: str = "", decision: str = "accept"
    ) -> str:
        """As `log_in`, but only the path (and query) the provider sends the browser back to."""
        sent = await browser.get(start)
        assert sent.status_code == 303, (sent.status_code, sent.text)
        location = sent.headers["location"]
        assert location.startswith(self.providers.origin), location
        answer = await self._follow(location)
        if not answer.is_redirect:  # the provider's page; else it knows the person already
            fields = {"identity": identity, "decision": decision}
            if acr:
                fields["acr"] = acr
            answer = await self._follow(str(answer.url), method="POST", data=fields)
        url = urlsplit(str(answer.headers["location"]))
        assert url.netloc == TEST_HOST, answer.headers["location"]
        return f"{url.path}?{url.query}"

    async def visit(self, url: str) -> httpx.Response:
        """Open a page of the provider (its logout, say), following its redirects there."""
        return await self._follow(url)

    async def _follow(self, url: str, method: str = "GET", **options) -> httpx.Response:
        """Follow the provider's redirects until a page, or a redirect out of the provider."""
        response = await self.http.request(method, url, **options)
        while response.is_redirect:
            location = httpx.URL(url).join(response.headers["location"])
            if not str(location).startswith(self.providers.origin):
                return response
            url = str(location)
            response = await self.http.get(url)
        return response


# --- a provider that misbehaves on purpose --------------------------------------------------


#: The fake provider's key, made once (an RSA key takes a moment to make).
SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@dataclass
class FakeProvider:
    """A provider in Python whose answers the test shapes. ``id_token`` makes the ID token
    from the claims a correct one would have (``nonce`` included); ``userinfo`` is what the
    userinfo endpoint answers; ``delay`` makes the token endpoint slow."""

    port: int = 0
    key: RSAKey = field(default_factory=lambda: SIGNING_KEY)
    claims: dict[str, Any] = field(default_factory=dict)
    userinfo: dict[str, Any] | None = None
    id_token: Callable[[FakeProvider, dict[str, Any]], str] | None = None
    delay: float = 0.0
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    #: The nonce of the login under way (`send` reads it from Carnet's request).
    pending_nonce: str = ""

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> dict[str, str]:
        """The settings of a portal whose Pro Santé Connect is this provider."""
        return {
            "CARNET_BASE_URL": f"http://{TEST_HOST}",
            "CARNET_PSC_ISSUER": self.issuer,
            "CARNET_PSC_CLIENT_ID": CLIENT_ID,
            "CARNET_PSC_CLIENT_SECRET": "fake-secret",
        }

    def signed(self, claims: dict[str, Any], key: RSAKey | None = None, **header: Any) -> str:
        key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid, **header}, claims, key)

    @staticmethod
    def unsigned(claims: dict[str, Any]) -> str:
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."

    def correct_claims(self, nonce: str) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "subject-1",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "acr": "eidas1",
            **self.claims,
        }

    # The HTTP side

    def serve(self) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/.well-known/openid-configuration":
                    self._json(fake.metadata())
                elif path == "/jwks":
                    self._json({"keys": [fake.key.as_dict(private=False)]})
                elif path == "/userinfo":
                    self._json(fake.userinfo or {"sub": "subject-1", **fake.claims})
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                form = parse_qs(body)
                fake.token_requests.append(form)
                time.sleep(fake.delay)
                nonce = fake.pending_nonce
                make = fake.id_token or (lambda provider, claims: provider.signed(claims))
                self._json(
                    {
                        "access_token": "access-1",
                        "token_type": "Bearer",
                        "expires_in": 60,
                        "id_token": make(fake, fake.correct_claims(nonce)),
                    }
                )

            def _json(self, data: dict) -> None:
                payload = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                # Carnet may have given up waiting (the slow answer).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "id_token_signing_alg_values_supported": ["RS256"],
            "acr_values_supported": ["eidas1"],
        }

    async def send(self, browser, start: str = "/login/psc") -> dict[str, str]:
        """Start a login in ``browser`` and read the authentication request Carnet sends here."""
        sent = await browser.get(start)
        assert sent.status_code == 303, sent.text
        request = {
            key: values[0]
            for key, values in parse_qs(urlsplit(sent.headers["location"]).query).items()
        }
        self.pending_nonce = request["nonce"]
        return request

    async def answer(self, browser, request: dict[str, str], **params: str) -> httpx.Response:
        """Bring the answer to ``request`` back to Carnet: a code, unless ``params`` say."""
        key = urlsplit(request["redirect_uri"]).path
        query = {"code": "code-1", "state": request["state"], **params}
        return await browser.get(f"{key}?{urlencode(query)}")
