"""A value typed by someone and sent back to them (in a redirect's ``Location``, a form filled
in again) is bounded: nobody makes the portal answer with headers or pages of any size."""

from __future__ import annotations

import httpx
import pytest

from portal.testing import CSRF_FIELD
from portal.web import MAX_ECHOED_PATH

HUGE_LOGIN = "a" * 100_000 + "@example.fr"
pytestmark = pytest.mark.parametrize("carnet", ["sqlite"], indirect=True)


async def _post(client: httpx.AsyncClient, form: str, path: str, data: dict) -> httpx.Response:
    """Open the page ``form`` and send its form to ``path`` with ``data``."""
    page = await client.get(form)
    assert page.status_code == 200, page.status_code
    token = CSRF_FIELD.search(page.text).group(1)
    return await client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


async def test_a_new_activation_code_asked_for_a_huge_login(carnet):
    answer = await _post(carnet.client, "/activate", "/activate/resend", {"login": HUGE_LOGIN})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/activate"

    usual = await _post(carnet.client, "/activate", "/activate/resend", {"login": "a@b.fr"})
    assert usual.headers["location"] == "/activate?login=a@b.fr"


async def test_forms_are_not_filled_in_again_with_a_huge_login(carnet):
    page = await carnet.client.get("/activate", params={"login": HUGE_LOGIN[-300:]})
    assert page.status_code == 200
    assert "aaaa@example.fr" not in page.text

    wrong = await _post(
        carnet.client, "/activate", "/activate", {"login": HUGE_LOGIN, "code": "123456"}
    )
    assert wrong.status_code == 400
    assert len(wrong.text) < 50_000

    refused = await _post(
        carnet.client, "/login", "/login", {"login": HUGE_LOGIN, "password": "x" * 12}
    )
    assert refused.status_code == 400
    assert len(refused.text) < 50_000


async def test_the_page_to_come_back_to_is_bounded(carnet):
    long_path = "/" + "a" * MAX_ECHOED_PATH
    language = await _post(
        carnet.client, "/login", "/language", {"language": "en", "next": long_path}
    )
    assert language.status_code == 303
    assert language.headers["location"] == "/"

    login = await _post(
        carnet.client, "/login", "/login", {"login": "x@y.fr", "password": "p", "next": long_path}
    )
    assert long_path not in login.text

    protected = await carnet.client.get("/account", params={"q": "a" * MAX_ECHOED_PATH})
    assert protected.status_code == 303
    assert protected.headers["location"] == "/login"
    usual = await carnet.client.get("/account", params={"q": "a"})
    assert usual.headers["location"] == "/login?next=%2Faccount%3Fq%3Da"
