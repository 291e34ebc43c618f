"""Logging in with Pro Santé Connect and FranceConnect, against a real OpenID Connect provider
(oidc-provider, as ``scripts/identity-providers.mjs`` runs it for the demo).

A professional known by their RPPS number logs in without a Carnet code, and one new to
Carnet gets an account with the profession the provider gives; a patient links FranceConnect
to their account once logged in the usual way, then logs in with it (with Carnet's code
unless the login was FranceConnect+); an identity linked to nobody gets no dossier. Each of
these is traced, naming the provider; logging out ends the provider's session too.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from portal.audit.tables import AuditEvent
from portal.demo import DEMO_PEOPLE, load_demo
from portal.dossiers.tables import Dossier
from portal.federation.identities import PROFESSIONAL_ACCOUNT_OPENED
from portal.federation.tables import FederatedIdentity
from portal.identity.tables import Account, LoginSession, Professional, Role
from portal.notifications.tables import Notification
from tests.identity.conftest import (
    enter_code,
    fresh_totp_code,
    log_in,
    new_administrator,
    new_patient,
    new_professional,
)
from tests.identity.identity_providers import AtProvider, onwards_url

pytestmark = pytest.mark.usefixtures("real_time")

CAMILLE_AT_FRANCECONNECT = "fc-5b0e6c1f-camille"


async def trail(action: str) -> list[dict]:
    return await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.id)


async def test_dr_bernard_logs_in_with_pro_sante_connect_and_reads_camilles_record(
    start_portal, new_browser, local_providers, at_provider
):
    portal = await start_portal(**local_providers.settings())
    await load_demo(portal.state.plugins)
    browser = new_browser(portal)
    login_page = await browser.get("/login")
    assert 'href="/login/psc"' in login_page.text
    assert 'href="/login/franceconnect"' in login_page.text

    answer = await at_provider.log_in(browser, "/login/psc", "dr-bernard")

    assert answer.status_code == 200
    assert onwards_url(answer.text) == "/patients"  # no Carnet code on the way
    patients = await browser.get("/patients")
    assert patients.status_code == 200
    assert "Camille" in patients.text
    camille = (
        await Dossier.select(Dossier.id).where(Dossier.patient.first_name == "Camille").first()
    )
    record = await browser.get(f"/dossiers/{camille['id']}")
    assert record.status_code == 200
    assert "Martin" in record.text
    [login] = await trail("login")
    assert (login["actor_name"], login["actor_profession"]) == ("Sophie Bernard", "medecin")
    assert (login["target_type"], login["target_id"]) == ("identity-provider", "psc")
    [session] = await LoginSession.select(LoginSession.provider, LoginSession.stage)
    assert session == {"provider": "psc", "stage": "signed_in"}


async def test_logging_out_ends_the_pro_sante_connect_session_too(
    start_portal, new_browser, local_providers, at_provider
):
    portal = await start_portal(**local_providers.settings())
    await load_demo(portal.state.plugins)
    browser = new_browser(portal)
    await at_provider.log_in(browser, "/login/psc", "dr-bernard")
    await browser.get("/account")

    leaving = await browser.submit("/logout")

    assert leaving.status_code == 200
    assert not await browser.is_signed_in()
    end_session = onwards_url(leaving.text)
    assert end_session.startswith(f"{local_providers.origin}/psc/session/end?")
    query = parse_qs(urlsplit(end_session).query)
    assert query["post_logout_redirect_uri"] == ["http://testserver.local/"]
    [id_token] = query["id_token_hint"]
    assert id_token.count(".") == 2
    [logout] = await trail("logout")
    assert (logout["target_type"], logout["target_id"]) == ("identity-provider", "psc")
    # Before the provider's logout, its session would log Dr Bernard in again at once.
    confirm = await at_provider.visit(end_session)
    assert confirm.status_code == 200
    xsrf = confirm.text.split('name="xsrf" value="')[1].split('"')[0]
    back = await at_provider.http.post(
        f"{local_providers.origin}/psc/session/end/confirm", data={"xsrf": xsrf, "logout": "yes"}
    )
    assert back.headers["location"] == "http://testserver.local/"
    again = await browser.get("/login/psc")
    at_the_provider = await at_provider.visit(again.headers["location"])
    assert at_the_provider.status_code == 200  # it asks who one is again
    assert "Qui êtes-vous ?" in at_the_provider.text


async def test_an_emergency_access_keeps_the_login_of_pro_sante_connect(
    start_portal, new_browser, local_providers, at_provider
):
    """The session is replaced at the emergency access (a new id): what it came from stays,
    and logging out still ends the provider's session."""
    portal = await start_portal(**local_providers.settings())
    await load_demo(portal.state.plugins)
    browser = new_browser(portal)
    await at_provider.log_in(browser, "/login/psc", "dr-bernard")
    await browser.get("/patients")
    await browser.submit("/patients/lookup", {"nir": DEMO_PEOPLE[1].nir})  # Jules
    reason = "Patient inconscient aux urgences, pronostic vital engagé."
    opened = await browser.submit("/patients/emergency", {"reason": reason})
    assert opened.status_code == 303
    [session] = await LoginSession.select(LoginSession.emergency, LoginSession.provider)
    assert session == {"emergency": True, "provider": "psc"}
    await browser.get("/patients")  # the new session's page

    leaving = await browser.submit("/logout")

    assert "id_token_hint=" in onwards_url(leaving.text)


async def test_a_new_pharmacists_first_login_opens_their_account_with_their_profession(
    start_portal, new_browser, local_providers, at_provider
):
    portal = await start_portal(**local_providers.settings())
    administrator = await new_administrator()
    browser = new_browser(portal)

    answer = await at_provider.log_in(browser, "/login/psc", "ph-fabre")

    assert onwards_url(answer.text) == "/patients"
    account = await Account.select().where(Account.last_name == "Fabre").first()
    assert account["login"] == "10001010205@pro-sante-connect.invalid"
    assert (account["role"], account["password_hash"]) == (Role.PROFESSIONAL, "")
    professional = await Professional.select().where(Professional.account == account["id"]).first()
    assert (professional["rpps"], professional["profession"]) == ("10001010205", "pharmacien")
    [link] = await FederatedIdentity.select().where(FederatedIdentity.account == account["id"])
    assert (link["provider"], link["subject"]) == ("psc", "10001010205")
    [notice] = await Notification.select().where(Notification.account == administrator.id)
    assert notice["kind"] == PROFESSIONAL_ACCOUNT_OPENED.key
    reasons = [event["reason"] for event in await trail("account-change")]
    assert reasons == ["account opened from the provider's claims", "linked"]
    assert await browser.is_signed_in()
    page = await browser.get("/account")
    assert "Pharmacien" in page.text


async def test_the_profession_follows_pro_sante_connect_at_each_login(
    start_portal, new_browser, local_providers, at_provider
):
    portal = await start_portal(**local_providers.settings())
    helene = await new_professional(
        first_name="Hélène",
        last_name="Petit",
        profession="infirmier",
        specialty="Soins palliatifs",
        rpps="10001010056",
    )

    await at_provider.log_in(new_browser(portal), "/login/psc", "ph-petit")

    professional = await Professional.select().where(Professional.account == helene.id).first()
    assert (professional["profession"], professional["specialty"]) == ("pharmacien", "")
    [change] = [e for e in await trail("account-change") if e["reason"] != "linked"]
    assert change["reason"] == (
        "from the provider's claims: profession infirmier -> pharmacien; "
        "specialty Soins palliatifs -> "
    )
    assert (change["target_type"], change["target_id"]) == ("identity-provider", "psc")
    [login] = await trail("login")
    assert login["actor_profession"] == "pharmacien"


async def test_camille_links_franceconnect_then_logs_in_with_it(
    start_portal, new_browser, local_providers, at_provider
):
    portal = await start_portal(**local_providers.settings())
    camille = await new_patient(first_name="Camille", last_name="Martin")
    browser = new_browser(portal)
    await log_in(browser, camille)
    account = await browser.get("/account")
    assert 'href="/account/providers/franceconnect/link"' in account.text
    assert "/account/providers/psc/link" not in account.text  # for professionals

    linked = await at_provider.log_in(
        browser, "/account/providers/franceconnect/link", CAMILLE_AT_FRANCECONNECT
    )

    assert onwards_url(linked.text) == "/account"
    account = await browser.get("/account")
    assert "/account/providers/franceconnect/unlink" in account.text
    [link] = await FederatedIdentity.select()
    assert (link["account"], link["subject"]) == (camille.id, CAMILLE_AT_FRANCECONNECT)
    await browser.submit("/logout")

    # FranceConnect (eidas1): Carnet's own code still.
    answer = await at_provider.log_in(browser, "/login/franceconnect", CAMILLE_AT_FRANCECONNECT)
    assert urlsplit(onwards_url(answer.text)).path == "/login/code"
    assert not await browser.is_signed_in()
    signed_in = await enter_code(browser, fresh_totp_code(camille))
    assert signed_in.status_code == 303
    assert await browser.is_signed_in()
    await browser.submit("/logout")

    # FranceConnect+ (eidas2): a login strong enough on its own.
    at_provider_again = AtProvider(local_providers)  # logged in there afresh
    try:
        answer = await at_provider_again.log_in(
            browser, "/login/franceconnect", CAMILLE_AT_FRANCECONNECT, acr="eidas2"
        )
    finally:
        await at_provider_again.close()
    assert onwards_url(answer.text) == "/account"
    assert await browser.is_signed_in()
    logins = await trail("login")
    assert [(e["actor_account"], e["target_id"]) for e in logins] == [
        (camille.id, ""),
        (camille.id, "franceconnect"),
        (camille.id, "franceconnect"),
    ]


async def test_an_identity_linked_to_no_account_is_told_how_to_open_a_record(
    start_portal, new_browser, local_providers, at_provider
):
    portal = await start_portal(**local_providers.settings())
    browser = new_browser(portal)

    answer = await at_provider.log_in(browser, "/login/franceconnect", "fc-c41f7d20-emma")

    assert answer.status_code == 403
    assert 'href="/register"' in answer.text
    assert 'href="/activate"' in answer.text
    assert not await browser.is_signed_in()
    [failure] = await trail("login-failure")
    assert (failure["reason"], failure["target_id"]) == ("unknown identity", "franceconnect")
    assert await LoginSession.count() == 0
