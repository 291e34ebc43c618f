"""Software access as the README tells it, on the real portal with the demo: Dr Bernard allows
the demo practice software in a browser, and `scripts/smart-demo.py` obtains a token as the
practice software and as the demo hospital, then calls the identity endpoint."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from playwright.sync_api import expect

from portal.oauth.demo import (
    HOSPITAL_KEY_FILE,
    PRACTICE_CLIENT_ID,
    PRACTICE_REDIRECT_URI,
    PRACTICE_SCOPES,
)

from .conftest import REPOSITORY, assert_accessible, assert_layout, log_in, translated

pytestmark = pytest.mark.browser
GP = "dr.bernard@demo.carnet.fr"


def test_the_gp_allows_her_practice_software_in_her_browser(new_page, portal, totp):
    page = new_page(javascript=True)
    log_in(page, GP, totp)
    verifier = secrets.token_urlsafe(48)
    query = httpx.QueryParams(
        response_type="code",
        client_id=PRACTICE_CLIENT_ID,
        redirect_uri=PRACTICE_REDIRECT_URI,
        scope=PRACTICE_SCOPES,
        state="demo",
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    # The application's own address: where the consent sends the browser back.
    page.route(f"{PRACTICE_REDIRECT_URI}*", lambda route: route.fulfill(body="ok"))
    page.goto(f"/oauth/authorize?{query}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        translated("Allow “%(name)s” to act for you?") % {"name": "Logiciel Médical Démo"}
    )
    assert_layout(page)
    assert_accessible(page)
    page.get_by_role("button", name=translated("Allow"), exact=True).click()
    expect(page).to_have_url(re.compile(r"callback\?code=.+&state=demo"))

    code = httpx.URL(page.url).params["code"]
    with httpx.Client(base_url=portal.url) as http:
        token = http.post(
            "/oauth/token",
            data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                  "client_id": PRACTICE_CLIENT_ID, "redirect_uri": PRACTICE_REDIRECT_URI},
        ).json()  # fmt: skip
        me = http.get("/oauth/me", headers={"authorization": f"Bearer {token['access_token']}"})
    assert me.json()["name"] == "Sophie Bernard"


def smart_demo(portal, *arguments: str) -> dict:
    """Run the README's script; what ``GET /oauth/me`` answered it."""
    done = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "smart-demo.py"), *arguments,
         "--base-url", portal.url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Token:" in done.stdout
    return json.loads(done.stdout.split("GET /oauth/me:", 1)[1])


def test_the_readmes_script_obtains_a_token_as_each_demo_client(portal, totp):
    hospital = smart_demo(portal, "hospital", "--key", str(portal.data_dir / HOSPITAL_KEY_FILE))
    assert hospital["client_name"] == "Centre Hospitalier Démo"
    assert {member["last_name"] for member in hospital["professionals"]} == {"Garcia", "Faure"}
    practice = smart_demo(portal, "practice", "--code", totp.code(GP))
    assert (practice["client_name"], practice["name"]) == (
        "Logiciel Médical Démo",
        "Sophie Bernard",
    )
