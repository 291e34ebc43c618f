"""The national logins on one's account page: which are linked, linking, unlinking.

A FranceConnect identity belongs to one account, linked by its owner once logged in the usual
way; unlinked, it logs in nowhere until linked again. A professional's Pro Santé Connect
identity is linked by their RPPS number at their first login with it; unlinked, it stays so
until they link it again, which they cannot do while it is their only way in.
"""

from __future__ import annotations

import pytest

from portal.audit.tables import AuditEvent
from portal.federation.tables import FederatedIdentity
from portal.identity.accounts import disable
from tests.conftest import translated
from tests.identity.conftest import log_in, new_patient, new_professional
from tests.identity.identity_providers import AtProvider, onwards_url

pytestmark = pytest.mark.usefixtures("real_time")

CAMILLE = "fc-5b0e6c1f-camille"
GARCIA = "10001010023"  # Dr Karim Garcia's RPPS number at the local Pro Santé Connect
FRANCECONNECT_LINK = "/account/providers/franceconnect/link"


@pytest.fixture
async def portal(start_portal, local_providers):
    return await start_portal(**local_providers.settings())


async def account_changes() -> list[tuple[str, str, str]]:
    rows = await AuditEvent.select().where(AuditEvent.action == "account-change")
    return [(row["target_id"], row["reason"], row["outcome"]) for row in rows]


def french(message: str, **params: str) -> str:
    return translated("fr", message) % params


async def test_unlinked_franceconnect_logs_in_nowhere_until_linked_again(
    portal, new_browser, at_provider
):
    camille = await new_patient(first_name="Camille", last_name="Martin")
    browser = new_browser(portal)
    await log_in(browser, camille)
    await at_provider.log_in(browser, FRANCECONNECT_LINK, CAMILLE)
    await browser.get("/account")

    unlinked = await browser.submit("/account/providers/franceconnect/unlink")

    assert unlinked.headers["location"] == "/account"
    account = await browser.get("/account")
    assert FRANCECONNECT_LINK in account.text
    stranger = new_browser(portal)
    refused = await at_provider.log_in(stranger, "/login/franceconnect", CAMILLE)
    assert refused.status_code == 400
    assert french(
        "You have unlinked %(provider)s from your account. Log in with your password, then "
        "link it again from “My account” if you wish.",
        provider="FranceConnect",
    ) in refused.text.replace("&#34;", '"')
    assert not await stranger.is_signed_in()

    await at_provider.log_in(browser, FRANCECONNECT_LINK, CAMILLE)

    again = await at_provider.log_in(new_browser(portal), "/login/franceconnect", CAMILLE)
    assert again.status_code == 200
    assert await account_changes() == [
        ("franceconnect", "linked", "allowed"),
        ("franceconnect", "unlinked", "allowed"),
        ("franceconnect", "linked", "allowed"),
    ]


async def test_an_identity_linked_to_an_account_is_linked_to_no_other(
    portal, new_browser, at_provider
):
    camille = await new_patient(first_name="Camille", last_name="Martin")
    jules = await new_patient(first_name="Jules", last_name="Petit")
    browser = new_browser(portal)
    await log_in(browser, camille)
    await at_provider.log_in(browser, FRANCECONNECT_LINK, CAMILLE)
    jules_browser = new_browser(portal)
    await log_in(jules_browser, jules)

    refused = await at_provider.log_in(jules_browser, FRANCECONNECT_LINK, CAMILLE)

    assert refused.status_code == 400
    assert (
        french(
            "This %(provider)s identity is already linked to another Carnet account.",
            provider="FranceConnect",
        )
        in refused.text
    )
    [link] = await FederatedIdentity.select()
    assert link["account"] == camille.id
    assert (await account_changes())[-1] == (
        "franceconnect",
        "link refused: linked to another account",
        "refused",
    )
    assert await jules_browser.is_signed_in()  # his session goes on


async def test_pro_sante_connect_is_not_unlinked_while_it_is_the_only_way_in(
    portal, new_browser, at_provider
):
    browser = new_browser(portal)
    await at_provider.log_in(browser, "/login/psc", "ph-fabre")
    account = await browser.get("/account")
    assert "/account/password" not in account.text  # no password to change

    refused = await browser.submit("/account/providers/psc/unlink")

    assert refused.status_code == 409
    [link] = await FederatedIdentity.select()
    assert link["unlinked_at"] is None


async def test_a_professional_links_pro_sante_connect_again_after_unlinking_it(
    portal, new_browser, at_provider, local_providers
):
    garcia = await new_professional(first_name="Karim", last_name="Garcia", rpps=GARCIA)
    browser = new_browser(portal)
    await at_provider.log_in(browser, "/login/psc", "dr-garcia")  # linked by RPPS number
    await browser.get("/account")
    await browser.submit("/account/providers/psc/unlink")

    refused = await at_provider.log_in(new_browser(portal), "/login/psc", "dr-garcia")
    assert refused.status_code == 400
    await browser.get("/account")
    await browser.submit("/logout")
    await log_in(browser, garcia)
    account = await browser.get("/account")
    assert "/account/providers/psc/link" in account.text
    assert "/account/providers/franceconnect/link" not in account.text  # for patients

    linked = await at_provider.log_in(browser, "/account/providers/psc/link", "dr-garcia")

    assert onwards_url(linked.text) == "/account"
    again = await at_provider.log_in(new_browser(portal), "/login/psc", "dr-garcia")
    assert onwards_url(again.text) == "/patients"
    # Another professional's identity is not theirs to link.
    await browser.get("/account")
    await browser.submit("/account/providers/psc/unlink")
    someone_else = AtProvider(local_providers)
    try:
        other = await someone_else.log_in(browser, "/account/providers/psc/link", "dr-bernard")
    finally:
        await someone_else.close()
    assert other.status_code == 400
    assert (await account_changes())[-1][1] == "link refused: another RPPS number"


async def test_a_disabled_account_does_not_log_in_with_pro_sante_connect(
    portal, new_browser, at_provider
):
    garcia = await new_professional(first_name="Karim", last_name="Garcia", rpps=GARCIA)
    await disable(garcia.id)

    refused = await at_provider.log_in(new_browser(portal), "/login/psc", "dr-garcia")

    assert refused.status_code == 400
    [failure] = await AuditEvent.select().where(AuditEvent.action == "login-failure")
    assert (failure["actor_account"], failure["reason"]) == (garcia.id, "account disabled")
