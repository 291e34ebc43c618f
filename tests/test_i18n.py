"""Which language a visitor gets, and the visible language switch."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

from portal import i18n
from portal.app import create_app
from tests.conftest import TEST_HOST, make_settings

FRENCH_TITLE = "Votre dossier médical, entre vos mains"
ENGLISH_TITLE = "Your health record, in your hands"

# --- negotiation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "accept_language", "default", "expected"),
    [
        # Nothing said: the deployment's default.
        (None, None, "fr", "fr"),
        (None, None, "en", "en"),
        (None, "", "fr", "fr"),
        # The cookie (the visible switch) wins over the browser.
        ("en", "fr", "fr", "en"),
        ("fr", "en-GB,en;q=0.9", "en", "fr"),
        # An unknown or empty cookie is ignored.
        ("de", "en", "fr", "en"),
        ("", "en", "fr", "en"),
        ("EN", None, "fr", "fr"),
        # Accept-Language: the first supported language, by quality then by order.
        (None, "en", "fr", "en"),
        (None, "fr", "en", "fr"),
        (None, "en, fr", "fr", "en"),
        (None, "fr, en", "en", "fr"),
        (None, "fr;q=0.5, en;q=0.9", "fr", "en"),
        (None, "en;q=0.1, fr", "en", "fr"),
        (None, "fr;q=0.8, en;q=0.8", "en", "fr"),
        (None, "de-DE, de;q=0.9, en;q=0.8, fr;q=0.7", "fr", "en"),
        # q=0 means "not this one".
        (None, "en;q=0, fr;q=0.5", "en", "fr"),
        (None, "en;q=0", "fr", "fr"),
        # Region tags count for their language, whatever the case.
        (None, "en-GB", "fr", "en"),
        (None, "en-US,en;q=0.9", "fr", "en"),
        (None, "fr-CA", "en", "fr"),
        (None, "EN-gb", "fr", "en"),
        # Unsupported languages fall back to the default.
        (None, "de-DE, es;q=0.8", "fr", "fr"),
        (None, "de", "en", "en"),
        (None, "*", "fr", "fr"),
        # A malformed quality ignores that entry, not the whole header.
        (None, "en;q=high, fr;q=0.5", "en", "fr"),
        (None, "en;q=, fr;q=0.5", "en", "fr"),
        (None, "en;q=abc", "fr", "fr"),
        # Garbage never raises.
        (None, ";;;,,,", "fr", "fr"),
        (None, "q=1", "en", "en"),
        (None, ",en", "fr", "en"),
    ],
)
def test_negotiate(cookie, accept_language, default, expected):
    assert i18n.negotiate(cookie, accept_language, default) == expected


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("fr;q=0.4, en ;q=0.6", "en"),  # optional whitespace before the parameter
        ("en;Q=0, fr;q=0.5", "fr"),  # parameter names are case-insensitive
        ("fr, en;q=2", "fr"),  # a quality above 1 counts as 1; the first listed wins the tie
    ],
)
def test_negotiate_follows_the_rfc_syntax(accept_language, expected):
    assert i18n.negotiate(None, accept_language, "fr") == expected


# --- through the application ----------------------------------------------------------------


def page_language(html: str) -> str:
    match = re.search(r'<html lang="([^"]*)">', html)
    assert match, html[:300]
    return match.group(1)


def heading(html: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert match, html
    return match.group(1).strip()


def flashes(html: str) -> list[tuple[str, str]]:
    """(level, message) of each flash message shown on the page."""
    return re.findall(r'<p class="flash flash-(\w+)"[^>]*>(.*?)</p>', html, re.S)


async def csrf_token(client: AsyncTestClient, path: str = "/") -> str:
    """The token of the page's forms (and, as a side effect, this browser's CSRF cookie)."""
    response = await client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, "no csrf_token field on the page"
    return match.group(1)


async def switch(client: AsyncTestClient, language: str, next_path: str = "/", **extra):
    data = {"csrf_token": await csrf_token(client), "language": language, "next": next_path}
    return await client.post("/language", data=data, follow_redirects=False, **extra)


def set_cookies(response) -> dict[str, str]:
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        cookies[name] = rest.split(";")[0]
    return cookies


async def test_home_is_french_by_default(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert page_language(response.text) == "fr"
    assert heading(response.text) == FRENCH_TITLE
    assert "<title>Votre dossier médical · Carnet</title>" in response.text
    # The switch offers the other language, named in that language.
    assert '<button type="submit" name="language" value="en" lang="en">English</button>' in (
        response.text
    )


@pytest.mark.parametrize("accept_language", ["en", "en-GB,en;q=0.9,fr;q=0.8", "de, en;q=0.5"])
async def test_home_follows_the_browser_language(client, accept_language):
    response = await client.get("/", headers={"Accept-Language": accept_language})
    assert page_language(response.text) == "en"
    assert heading(response.text) == ENGLISH_TITLE
    assert 'value="fr" lang="fr">Français</button>' in response.text


async def test_unsupported_browser_language_gets_the_default(client):
    response = await client.get("/", headers={"Accept-Language": "de-DE,es;q=0.5"})
    assert page_language(response.text) == "fr"
    assert heading(response.text) == FRENCH_TITLE


async def test_the_default_language_is_a_setting(tmp_path, database_url):
    app = create_app(make_settings(tmp_path, database_url, CARNET_LANGUAGE="en"))
    async with AsyncTestClient(app, base_url=f"http://{TEST_HOST}") as client:
        response = await client.get("/")
        assert heading(response.text) == ENGLISH_TITLE
        response = await client.get("/", headers={"Accept-Language": "fr-FR"})
        assert heading(response.text) == FRENCH_TITLE


async def test_the_cookie_wins_over_the_browser(client):
    client.cookies.set(i18n.LANGUAGE_COOKIE, "en")
    response = await client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert page_language(response.text) == "en"
    assert heading(response.text) == ENGLISH_TITLE


async def test_error_pages_speak_the_visitor_language(client):
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert page_language(response.text) == "fr"
    assert heading(response.text) == "Page introuvable"
    response = await client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert heading(response.text) == "Page not found"


async def test_switching_to_english(client):
    response = await switch(client, "en", "/health")
    assert response.status_code == 303
    assert response.headers["location"] == "/health"
    cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(f"{i18n.LANGUAGE_COOKIE}=")
    )
    assert cookie.startswith(f"{i18n.LANGUAGE_COOKIE}=en;")
    assert "Path=/" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Max-Age=31536000" in cookie

    # The next page is English, with the confirmation in English, shown once.
    page = await client.get("/", headers={"Accept-Language": "fr"})
    assert page_language(page.text) == "en"
    assert heading(page.text) == ENGLISH_TITLE
    assert flashes(page.text) == [("success", "Language changed.")]
    again = await client.get("/")
    assert flashes(again.text) == []


async def test_switching_to_french_confirms_in_french(client):
    client.headers["Accept-Language"] = "en"
    assert heading((await client.get("/")).text) == ENGLISH_TITLE
    response = await switch(client, "fr")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert set_cookies(response)[i18n.LANGUAGE_COOKIE] == "fr"
    page = await client.get("/")
    assert page_language(page.text) == "fr"
    assert heading(page.text) == FRENCH_TITLE
    assert flashes(page.text) == [("success", "La langue a bien été changée.")]


async def test_an_unknown_language_is_refused(client):
    response = await switch(client, "de", "/health")
    assert response.status_code == 303
    assert response.headers["location"] == "/health"
    assert i18n.LANGUAGE_COOKIE not in set_cookies(response)
    page = await client.get("/")
    assert page_language(page.text) == "fr"
    assert flashes(page.text) == [("error", "Cette langue n’est pas disponible.")]
    assert 'role="alert"' in page.text


async def test_an_unknown_language_is_refused_in_the_visitor_language(client):
    client.headers["Accept-Language"] = "en"
    await switch(client, "")
    page = await client.get("/")
    assert flashes(page.text) == [("error", "This language is not available.")]


OFF_SITE = [
    "//evil.example",
    "//evil.example/path",
    "https://evil.example",
    "http://evil.example/",
    "evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "",
]


@pytest.mark.parametrize("language", ["en", "xx"])
async def test_the_switch_never_redirects_off_site(client, language):
    locations = {}
    for next_path in OFF_SITE:
        response = await switch(client, language, next_path)
        assert response.status_code == 303, next_path
        locations[next_path] = response.headers["location"]
    assert locations == dict.fromkeys(OFF_SITE, "/")


async def test_the_switch_keeps_a_local_path_and_its_query(client):
    response = await switch(client, "en", "/health?x=1")
    assert response.headers["location"] == "/health?x=1"


async def test_the_switch_needs_the_csrf_token(client):
    await csrf_token(client)  # this browser has its CSRF cookie, but the form lacks the token
    response = await client.post(
        "/language", data={"language": "en", "next": "/"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert i18n.LANGUAGE_COOKIE not in set_cookies(response)
    assert heading(response.text) == "Accès refusé"
    assert "Ce formulaire a expiré ou ne provient pas de Carnet." in response.text


async def test_a_token_from_another_browser_is_refused(settings, client):
    token = await csrf_token(client)
    # Another browser, on its own app instance: a test client runs the app in its own loop.
    async with AsyncTestClient(create_app(settings), base_url=f"http://{TEST_HOST}") as other:
        await other.get("/")
        response = await other.post(
            "/language",
            data={"csrf_token": token, "language": "en", "next": "/"},
            follow_redirects=False,
        )
    assert response.status_code == 403
