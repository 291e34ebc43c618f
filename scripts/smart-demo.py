#!/usr/bin/env python3
"""Obtain a token from a running Carnet as the demo's software, then call the identity
endpoint with it (``GET /oauth/me``). Run it from the repository with the project's venv,
once `make run` serves the demo:

    .venv/bin/python scripts/smart-demo.py hospital
        The demo hospital's system (SMART Backend Services): it signs an assertion with its
        private key (written by `carnet demo` into var/demo-hospital-key.json), exchanges it
        for a token (client credentials), and prints the token and who it acts for.

    .venv/bin/python scripts/smart-demo.py practice
        Dr Bernard's practice software (SMART App Launch, authorization code with PKCE). The
        script plays the GP's browser: it logs in as dr.bernard (password, then the code of
        the demo's authenticator), reads the consent page and allows it, then exchanges the
        code for tokens.

    .venv/bin/python scripts/smart-demo.py practice --browser
        The same, with the consent in your own browser: the script prints the address to
        open, waits on http://127.0.0.1:8765/callback for the answer, then exchanges the code.

Options: --base-url (default http://127.0.0.1:8000, CARNET_BASE_URL of the portal), --key
(the hospital's private key, default var/demo-hospital-key.json), --code (the GP's
authenticator code, by default computed from the demo's TOTP secret).
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import time
import uuid
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pyotp
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import RSAKey

PRACTICE = "logiciel-medical-demo"
PRACTICE_SCOPE = "openid fhirUser offline_access user/DocumentReference.crs user/*.rs"
REDIRECT_URI = "http://127.0.0.1:8765/callback"
HOSPITAL = "ch-demo-dpi"
GP_LOGIN = "dr.bernard@demo.carnet.fr"
DEMO_PASSWORD = "Carnet-demo-2026!"  # noqa: S105 - the demo's, published in the README
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105


class SmartAssertion(PrivateKeyJWT):
    """private_key_jwt as SMART Backend Services asks: RS384, a fresh ``jti`` and an expiry
    under five minutes for every assertion."""

    def sign(self, auth, token_endpoint):
        self.claims = {"jti": uuid.uuid4().hex, "exp": int(time.time()) + 240}
        return super().sign(auth, token_endpoint)


def hospital_token(base_url: str, key_file: str) -> OAuth2Client:
    key = RSAKey.import_key(json.loads(Path(key_file).read_text()))
    client = OAuth2Client(
        client_id=HOSPITAL,
        client_secret=key,
        token_endpoint_auth_method="private_key_jwt",  # noqa: S106 - a method's name
        scope="system/DocumentReference.c",
    )
    token_endpoint = f"{base_url}/oauth/token"
    client.register_client_auth_method(SmartAssertion(token_endpoint, alg="RS384"))
    client.fetch_token(token_endpoint, grant_type="client_credentials")
    return client


class _Forms(HTMLParser):
    """The forms of a page: their action and the fields a browser would send."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append((attributes.get("action", ""), {}))
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1][1][attributes["name"]] = attributes.get("value", "")


def _submit(browser: httpx2.Client, page: str, action: str, **values: str) -> httpx2.Response:
    """Send the form for ``action`` of the page at ``page``, with ``values`` typed in."""
    reader = _Forms()
    reader.feed(browser.get(page).text)
    fields = next(fields for form_action, fields in reader.forms if form_action == action)
    return browser.post(action, data={**fields, **values})


def _log_in_as_the_gp(browser: httpx2.Client, code: str | None) -> None:
    answer = _submit(browser, "/login", "/login", login=GP_LOGIN, password=DEMO_PASSWORD)
    if not answer.headers.get("location", "").startswith("/login/code"):
        sys.exit("The demo GP could not log in: is `carnet demo` loaded?")
    for _attempt in range(2):  # a code is accepted once: if just used, wait for the next one
        code = code or pyotp.TOTP(DEMO_TOTP_SECRET).now()
        answer = _submit(browser, "/login/code", "/login/code", code=code)
        if answer.status_code == 303:
            return
        time.sleep(31 - time.time() % 30)
        code = None
    sys.exit("The authenticator code was refused.")


def _consent_in_this_script(base_url: str, authorization_url: str, code: str | None) -> str:
    with httpx2.Client(base_url=base_url) as browser:
        _log_in_as_the_gp(browser, code)
        address = authorization_url.removeprefix(base_url)
        answer = _submit(browser, address, "/oauth/authorize", decision="accept")
        return answer.headers["location"]


def _consent_in_your_browser(authorization_url: str) -> str:
    print(f"Open this address, log in as {GP_LOGIN} and allow the application:")
    print(f"  {authorization_url}")
    received: list[str] = []

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append(f"{REDIRECT_URI}?{urlsplit(self.path).query}")
            self.send_response(200)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write("Carnet a répondu : vous pouvez fermer cette page.".encode())

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 8765), Callback)
    while not received:
        server.handle_request()
    return received[0]


def practice_token(base_url: str, browser: bool, code: str | None = None) -> OAuth2Client:
    client = OAuth2Client(
        client_id=PRACTICE,
        scope=PRACTICE_SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",  # noqa: S106 - a public client: PKCE, no secret
    )
    verifier = secrets.token_urlsafe(48)
    url, _state = client.create_authorization_url(
        f"{base_url}/oauth/authorize", code_verifier=verifier
    )
    if browser:
        answer = _consent_in_your_browser(url)
    else:
        answer = _consent_in_this_script(base_url, url, code)
    if "error=" in answer:
        sys.exit(f"The authorization was refused: {re.sub(r'.*[?&]error=', '', answer)}")
    client.fetch_token(
        f"{base_url}/oauth/token", authorization_response=answer, code_verifier=verifier
    )
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("software", choices=("hospital", "practice"))
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", default="var/demo-hospital-key.json")
    parser.add_argument("--browser", action="store_true", help="consent in your own browser")
    parser.add_argument("--code", help="the GP's authenticator code (default: the demo's)")
    arguments = parser.parse_args()
    base_url = arguments.base_url.rstrip("/")
    if arguments.software == "hospital":
        client = hospital_token(base_url, arguments.key)
    else:
        client = practice_token(base_url, arguments.browser, arguments.code)
    print("Token:", json.dumps(client.token, indent=2))
    identity = client.get(f"{base_url}/oauth/me").json()
    print("GET /oauth/me:", json.dumps(identity, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
