"""A value typed by someone and sent back to them (in a redirect's ``Location``, a form filled
in again, a search refilled or paged) is bounded: nobody makes the portal answer with headers
or pages of any size."""

from __future__ import annotations

import re

import httpx
import pytest
from litestar.handlers import HTTPRouteHandler

from portal.dossiers.summary import MAX_SHOWN
from portal.echo import MAX_ECHOED_PATH, MAX_SHOWN_BACK
from portal.testing import CSRF_FIELD

HUGE_LOGIN = "a" * 100_000 + "@example.fr"
#: A value typed in a form.
HUGE = "a" * 100_000
#: The same in an address (httpx refuses addresses over 64 KB).
HUGE_ADDRESS = HUGE[:60_000]
#: The longest answer to a refused request: an error page, never the value sent back.
SMALL = 20_000
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

    protected = await carnet.client.get("/account", params={"q": "a" * (MAX_ECHOED_PATH - 10)})
    assert protected.status_code == 303
    assert protected.headers["location"] == "/login"
    usual = await carnet.client.get("/account", params={"q": "a"})
    assert usual.headers["location"] == "/login?next=%2Faccount%3Fq%3Da"


def _every_address(carnet) -> list[tuple[str, str]]:
    """Each route of the portal and of its plugins (method, a path it answers), its path
    parameters filled in with a demo dossier's id, or a word, or a number."""
    dossier = str(carnet.dossiers["camille"])
    fill = {"uuid": dossier, "int": "1", "str": "x", "path": "x"}
    addresses = []
    for route in carnet.app.routes:
        handlers = getattr(route, "route_handlers", [])
        methods = {m for h in handlers if isinstance(h, HTTPRouteHandler) for m in h.http_methods}
        path = re.sub(r"{[^:}]+:([a-z]+)}", lambda m: fill[m.group(1)], route.path)
        addresses += [(method, path) for method in sorted(methods - {"OPTIONS"})]
    return addresses


async def test_no_route_echoes_a_huge_query(carnet):
    doctor = await carnet.sign_in("dr.bernard@demo.carnet.fr")
    addresses = _every_address(carnet)
    assert len(addresses) > 100
    for client in (carnet.client, doctor):
        for method, path in addresses:
            answer = await client.request(method, path, params={"q": HUGE_ADDRESS})
            assert answer.status_code == 414, (method, path, answer.status_code)
            assert len(answer.content) < SMALL, (method, path)
            assert all(len(value) < SMALL for value in answer.headers.values()), (method, path)
            assert "aaaaaaaaaa" not in answer.text, (method, path)
    sections = f"/dossiers/{carnet.dossiers['camille']}/summary/sections"
    for client in (carnet.client, doctor):
        for path in ("/" + HUGE_ADDRESS, f"{sections}/{HUGE_ADDRESS}"):
            unknown = await client.get(path)
            assert unknown.status_code in (303, 404)  # to the login page, or not found
            assert len(unknown.content) < SMALL
            assert all(len(value) < SMALL for value in unknown.headers.values())
            assert "aaaaaaaaaa" not in unknown.text
    refused = await doctor.get("/admin/accounts", params={"q": HUGE_ADDRESS})
    assert "Cette adresse est trop longue" in refused.text
    fhir = await carnet.client.get("/fhir/DocumentReference", params={"patient": HUGE_ADDRESS})
    assert fhir.status_code == 414
    assert fhir.json()["resourceType"] == "OperationOutcome"


async def test_searches_of_a_usual_length_are_shown_back(carnet):
    camille = carnet.dossiers["camille"]
    admin = await carnet.sign_in("admin@demo.carnet.fr")
    accounts = await admin.get("/admin/accounts", params={"q": "martin"})
    assert accounts.status_code == 200
    assert 'value="martin"' in accounts.text
    assert "camille.martin@demo.carnet.fr" in accounts.text

    doctor = await carnet.sign_in("dr.bernard@demo.carnet.fr")
    words = "b" * (MAX_ECHOED_PATH // 2)
    documents = await doctor.get(f"/dossiers/{camille}/documents", params={"q": words})
    assert documents.status_code == 200
    assert words[:200] in documents.text

    patient = await carnet.sign_in("camille.martin@demo.carnet.fr")
    directory = await patient.get(f"/dossiers/{camille}/access/directory", params={"q": "moreau"})
    assert directory.status_code == 200
    assert "moreau" in directory.text.lower()
    history = await patient.get(f"/dossiers/{camille}/history", params={"start": "2020-01-01"})
    assert history.status_code == 200
    assert 'value="2020-01-01"' in history.text


async def test_a_form_filled_in_again_cuts_a_huge_value(carnet):
    admin = await carnet.sign_in("admin@demo.carnet.fr")
    form = {"role": "professional", "login": "new@example.fr", "last_name": "Durand"}
    refused = await admin.post("/admin/accounts/new", data={**form, "first_name": HUGE})
    assert refused.status_code == 400
    assert len(refused.text) < SMALL
    assert 'value="' + "a" * (MAX_SHOWN_BACK - 3) + '..."' in refused.text

    usual = await admin.post("/admin/accounts/new", data={**form, "first_name": "", "rpps": "1"})
    assert usual.status_code == 400
    assert 'value="Durand"' in usual.text


async def test_a_text_filled_in_again_is_cut_to_what_its_field_accepts(carnet):
    patient = await carnet.sign_in("camille.martin@demo.carnet.fr")
    profile = f"/dossiers/{carnet.dossiers['camille']}/profile"
    refused = await patient.post(profile, data={"notes": HUGE, "contact_0_name": HUGE})
    assert refused.status_code == 400
    assert len(refused.text) < SMALL
    assert ">" + "a" * 4997 + "...</textarea>" in refused.text


async def test_a_summary_section_refused_is_shown_back_cut(carnet):
    doctor = await carnet.sign_in("dr.bernard@demo.carnet.fr")
    sections = f"/dossiers/{carnet.dossiers['camille']}/summary/sections"
    treatments = await doctor.post(f"{sections}/treatments", data={"treatments": HUGE})
    assert treatments.status_code == 400
    assert len(treatments.text) < MAX_SHOWN + SMALL
    assert "a" * (MAX_SHOWN - 3) + "...</textarea>" in treatments.text

    allergies = await doctor.post(f"{sections}/allergies", data={"substance-0": HUGE})
    assert allergies.status_code == 400
    assert len(allergies.text) < SMALL


async def test_a_number_refused_names_a_bounded_part_of_what_was_typed(carnet):
    doctor = await carnet.sign_in("dr.bernard@demo.carnet.fr")
    odd = "".join(chr(0x4E00 + offset) for offset in range(20_000))  # 20,000 characters
    refused = await doctor.post("/patients/lookup", data={"nir": odd})
    assert refused.status_code == 400
    assert len(refused.text) < SMALL
    assert odd[:10] in refused.text  # the characters to remove, as far as they are shown

    usual = await doctor.post("/patients/lookup", data={"nir": "1 85 05 75 x"})
    assert usual.status_code == 400
    assert "retirez\xa0: x" in usual.text  # French typography: a no-break space
