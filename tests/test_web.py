"""What every response carries, and how the portal answers bad requests."""

from __future__ import annotations

import gzip
import hashlib
import json
import re

import brotli
import pytest
from litestar import get, post
from litestar.params import URLEncodedBody
from litestar.testing import AsyncTestClient

from portal import hookimpl
from portal.access import public
from portal.app import create_app
from portal.cli import upgrade_database
from portal.notifications.messaging import MessageNotSent
from portal.static import CORE_STATIC_DIR
from portal.web import CONTENT_SECURITY_POLICY, request_host
from tests.conftest import TEST_HOST, http_client, plugins_with, running, translated

MESSAGE_NOT_SENT = "We could not send you a message right now. Please try again in a few minutes."
DATABASE_DOWN = (
    "Carnet cannot reach its database right now. Please try again in a moment: nothing you "
    "saved has been lost."
)
EXPECTED_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def csrf_field(page_html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)


def static_url(page_html: str, name: str) -> str:
    stem, suffix = name.rsplit(".", 1)
    return re.search(rf'"(/static/{re.escape(stem)}\.[0-9a-f]+\.{suffix})"', page_html).group(1)


# --- headers --------------------------------------------------------------------------------


async def test_security_headers_on_pages_errors_and_static_files(client):
    home = await client.get("/")
    responses = [
        home,
        await client.get("/no-such-page"),
        await client.get(static_url(home.text, "carnet.css")),
        await client.get("/health"),
    ]
    for response in responses:
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers[name] == value, (response.url, name)
        max_age = int(re.search(r"max-age=(\d+)", response.headers["strict-transport-security"])[1])
        assert max_age >= 365 * 24 * 3600


def test_the_policy_is_the_strict_one_security_md_asks_for():
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


async def test_pages_are_never_stored_by_caches(client):
    for path in ("/", "/no-such-page", "/health"):
        assert (await client.get(path)).headers["cache-control"] == "no-store"


async def test_pages_are_compressed_with_brotli_or_gzip(client):
    page = await client.get("/", headers={"accept-encoding": "br"})
    assert page.headers["content-encoding"] == "br"
    page = await client.get("/", headers={"accept-encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"


async def test_htmx_is_configured_for_the_strict_policy(client):
    page = (await client.get("/")).text
    config = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page).group(1)
    assert '"allowEval":false' in config
    assert '"includeIndicatorStyles":false' in config
    assert '"historyCacheSize":0' in config  # no dossier page copied into localStorage
    assert "<script>" not in page
    assert "style=" not in page


async def test_an_unknown_host_is_refused(client):
    response = await client.get("/", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert translated("fr", "This address is not served here.") in response.text


@pytest.mark.parametrize("host", [f"{TEST_HOST}:8000", TEST_HOST.upper(), "127.0.0.1:8000"])
async def test_a_listed_host_may_carry_a_port_and_any_case(client, host):
    assert (await client.get("/", headers={"host": host})).status_code == 200


def test_request_host_reads_names_ports_and_ipv6():
    def scope(host):
        return {"type": "http", "headers": [(b"host", host.encode())]}

    assert request_host(scope("Carnet.Example.fr:443")) == "carnet.example.fr"
    assert request_host(scope("[::1]:8000")) == "[::1]"
    assert request_host(scope("localhost")) == "localhost"


# --- static files ---------------------------------------------------------------------------


async def test_static_files_have_hashed_names_and_a_year_of_cache(client):
    home = (await client.get("/")).text
    for name in ("carnet.css", "htmx.min.js"):
        response = await client.get(static_url(home, name), headers={"accept-encoding": "identity"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.content == (CORE_STATIC_DIR / name).read_bytes()


async def test_static_files_skip_sessions_tokens_and_messages(settings):
    """No database query and no cookie for a stylesheet: a stale session cookie sent with it
    is neither looked up nor cleared (a page would clear it)."""
    await upgrade_database(settings)
    app = create_app(settings)
    async with running(app), http_client(app) as client:
        url = static_url((await client.get("/")).text, "carnet.css")
        client.cookies.set("carnet_session", "stale", domain=TEST_HOST)
        assert "set-cookie" not in (await client.get(url)).headers
        assert (
            'carnet_session=""; HttpOnly; Max-Age=0'
            in (await client.get("/")).headers["set-cookie"]
        )


async def test_static_files_are_served_precompressed(client):
    url = static_url((await client.get("/")).text, "htmx.min.js")
    original = (CORE_STATIC_DIR / "htmx.min.js").read_bytes()
    # httpx decodes transparently; read the raw bytes to see what went over the wire.
    async with client.stream("GET", url, headers={"accept-encoding": "br"}) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "br"
    assert brotli.decompress(raw) == original
    assert len(raw) < len(original) / 3
    async with client.stream("GET", url, headers={"accept-encoding": "gzip"}) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert gzip.decompress(raw) == original


def test_vendored_htmx_is_the_pinned_release():
    record = (CORE_STATIC_DIR / "VENDORED.md").read_text()
    version = re.search(r"\| version \| `([0-9.]+)`", record).group(1)
    digest = re.search(r"\| sha256 \| `([0-9a-f]{64})`", record).group(1)
    content = (CORE_STATIC_DIR / "htmx.min.js").read_bytes()
    assert hashlib.sha256(content).hexdigest() == digest
    assert f'version:"{version}"' in content.decode()
    package = json.loads((CORE_STATIC_DIR.parent.parent / "package.json").read_text())
    assert package["devDependencies"]["htmx.org"] == version


@pytest.mark.parametrize(
    "path",
    ["/static/carnet.css", "/static/nope.css", "/static/../portal/settings.py", "/static/"],
)
async def test_unknown_or_unhashed_static_files_are_404(client, path):
    response = await client.get(path)
    assert response.status_code == 404


# --- CSRF -----------------------------------------------------------------------------------


class _FormPlugin:
    """A form that changes something, like every form of the portal will."""

    def __init__(self):
        self.received = []

    @hookimpl
    def register_routes(self):
        received = self.received

        @post("/echo", guards=[public], status_code=200)
        async def echo(data: URLEncodedBody[dict[str, str]]) -> str:
            received.append(data)
            return "saved"

        @get("/crash", guards=[public])
        async def crash() -> str:
            raise RuntimeError("secret detail: /srv/carnet/keys")

        @get("/mail-down", guards=[public])
        async def mail_down() -> str:
            raise MessageNotSent("no message sent through mail.example.fr:587")

        return [echo, crash, mail_down]


@pytest.fixture
async def form_client(settings):
    plugin = _FormPlugin()
    app = create_app(settings, plugins_with(form=plugin))
    async with AsyncTestClient(app, base_url=f"http://{TEST_HOST}") as client:
        client.plugin = plugin
        yield client


async def test_an_unsafe_request_without_the_token_is_refused(form_client):
    await form_client.get("/")
    response = await form_client.post("/echo", data={"x": "1"})
    assert response.status_code == 403
    assert form_client.plugin.received == []


async def test_the_token_of_another_browser_is_refused(settings, form_client):
    other_app = create_app(settings)
    async with AsyncTestClient(other_app, base_url=f"http://{TEST_HOST}") as other_browser:
        stolen = csrf_field((await other_browser.get("/")).text)
    await form_client.get("/")
    response = await form_client.post("/echo", data={"csrf_token": stolen})
    assert response.status_code == 403
    assert form_client.plugin.received == []


async def test_forms_send_the_token_as_a_field(form_client):
    token = csrf_field((await form_client.get("/")).text)
    response = await form_client.post("/echo", data={"csrf_token": token, "x": "1"})
    assert response.status_code == 200
    assert form_client.plugin.received == [{"csrf_token": token, "x": "1"}]


async def test_htmx_sends_the_token_as_a_header(form_client):
    page = (await form_client.get("/")).text
    header = re.search(r"hx-headers='\{\"X-CSRF-Token\": \"([^\"]+)\"\}'", page).group(1)
    response = await form_client.post("/echo", data={"x": "1"}, headers={"X-CSRF-Token": header})
    assert response.status_code == 200


async def test_the_csrf_cookie_is_httponly_and_strict(client):
    cookie = (await client.get("/")).headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie


async def test_secure_deployments_use_host_prefixed_secure_cookies(tmp_path, database_url):
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, database_url, CARNET_COOKIE_SECURE="true")
    async with AsyncTestClient(create_app(settings), base_url=f"https://{TEST_HOST}") as client:
        cookie = (await client.get("/")).headers["set-cookie"]
    assert cookie.startswith("__Host-carnet_csrf=")
    assert "Secure" in cookie


async def test_no_state_changes_on_get(client):
    response = await client.get("/language?language=en&next=/")
    assert response.status_code == 405
    assert "carnet_lang" not in response.headers.get("set-cookie", "")


# --- error pages ----------------------------------------------------------------------------


async def test_404_is_a_page_in_french(client):
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="fr">' in response.text
    assert translated("fr", "Page not found") in response.text


async def test_a_message_that_cannot_be_sent_is_a_503_that_says_so(form_client):
    response = await form_client.get("/mail-down")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "120"
    assert translated("fr", MESSAGE_NOT_SENT) in response.text
    assert translated("fr", DATABASE_DOWN) not in response.text  # not taken for an outage
    assert "mail.example.fr" not in response.text


async def test_a_crash_shows_a_reference_but_no_detail(form_client, caplog):
    response = await form_client.get("/crash")
    assert response.status_code == 500
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    reference = re.search(r"\b([0-9a-f]{12})\b", response.text).group(1)
    assert any(reference in record.getMessage() for record in caplog.records)
    assert "secret detail" in caplog.text  # the detail is in the log, for support
