"""The overview's benchmark (bench/overview.py) measures what it says: it counts the page's
statements, and its bare page renders the overview a real request rendered, from the context
captured there, without middleware or database."""

from __future__ import annotations

import re

import httpx

from bench.generate import generate
from bench.overview import CONTEXT_VARIABLE, HOST, Client, bare_app, count_and_capture, sign_in
from portal.app import create_app
from portal.dossiers.tables import Dossier
from portal.identity.tables import Account
from tests.conftest import http_client, running

CSRF_TOKEN = re.compile(r'(name="csrf_token" value="|"X-CSRF-Token": ")[^"]+')


async def test_the_bare_page_renders_the_overview_a_real_request_rendered(
    settings, tmp_path, monkeypatch
):
    generated = await generate(settings.database_url, 10, data_dir=settings.data_dir)
    login = generated.gp_logins()[0]
    app = create_app(settings)
    async with running(app), http_client(app) as browser:
        cookie = await sign_in(browser, login, generated.password, generated.totp_secret)
        gp = await Account.select(Account.id).where(Account.login == login).first()
        dossiers = await Dossier.select(Dossier.id).where(Dossier.medecin_traitant == gp["id"])
        paths = [f"/dossiers/{row['id']}" for row in dossiers]
        portal_page = await browser.get(paths[0], headers={"cookie": cookie})

    context = tmp_path / "context.pickle"
    facts = await count_and_capture(settings, Client(login, cookie, paths), context)
    monkeypatch.setenv(CONTEXT_VARIABLE, str(context))
    transport = httpx.ASGITransport(app=bare_app(), client=(HOST, 50000))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as bare:
        bare_page = await bare.get(paths[0])

    assert facts.statements == len(facts.queries) >= 5  # the session, facts, event, reads
    assert portal_page.status_code == bare_page.status_code == 200
    assert CSRF_TOKEN.sub("", bare_page.text) == CSRF_TOKEN.sub("", portal_page.text)
