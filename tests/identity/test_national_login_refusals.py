"""Every answer a national login cannot trust is refused: a clear page, in French, where the
password login is still offered; a 4xx; a failure in the audit trail naming the provider and
the reason; and no session.

What a certified provider does (an error, another browser's answer, a replayed answer, claims
Carnet cannot use) is played by the local oidc-provider; what only a broken or hostile one
would do (another key, ``alg: none``, the wrong audience or nonce, a slow answer) by a fake
provider in Python. These refusals do not depend on the database: SQLite only.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

import httpx2
import pytest
from joserfc.jwk import RSAKey

from portal.audit.tables import AuditEvent
from portal.federation import openid
from portal.identity.tables import LoginSession
from tests.conftest import translated
from tests.identity.identity_providers import FakeProvider

pytestmark = [
    pytest.mark.usefixtures("real_time"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


async def assert_refused(answer, reason: str, message: str, provider: str = "psc") -> None:
    """The refusal as the person and the audit trail see it."""
    assert answer.status_code == 400, answer.text
    assert translated("fr", message) % {"provider": PROVIDER_NAMES[provider], "codes": "83"} in (
        answer.text
    )
    assert 'name="password"' in answer.text  # the password login, still offered
    failure = (
        await AuditEvent.select()
        .where(AuditEvent.action == "login-failure")
        .order_by(AuditEvent.id, ascending=False)
        .first()
    )
    assert (failure["target_type"], failure["target_id"]) == ("identity-provider", provider)
    assert failure["reason"] == reason
    assert failure["outcome"] == "refused"
    assert await LoginSession.count() == 0


#: What a correct Pro Santé Connect says of a médecin généraliste.
PRACTITIONER = {
    "SubjectNameID": "810001010015",
    "given_name": "Sophie",
    "family_name": "Bernard",
    "SubjectRefPro": {"exercices": [{"codeProfession": "10", "codeSavoirFaire": "SM54"}]},
}
PROVIDER_NAMES = {"psc": "Pro Santé Connect", "franceconnect": "FranceConnect"}
NOT_CHECKED = (
    "The answer of %(provider)s could not be checked, so you are not logged in. Start again; "
    "if this happens again, log in with your e-mail address and password."
)
UNAVAILABLE = (
    "%(provider)s is not answering right now. Try again in a few minutes, or log in with your "
    "e-mail address and password."
)
NOT_IN_THIS_BROWSER = (
    "This answer from %(provider)s does not belong to a login started in this browser in the "
    "last ten minutes. Start again."
)


# --- the local provider ---------------------------------------------------------------------


@pytest.fixture
async def portal(start_portal, local_providers):
    return await start_portal(**local_providers.settings())


async def test_a_refusal_at_the_provider(portal, browser, at_provider):
    answer = await at_provider.log_in(browser, "/login/psc", "dr-bernard", decision="refuse")
    await assert_refused(
        answer,
        "provider error: access_denied",
        "%(provider)s did not confirm your identity, so you are not logged in.",
    )


async def test_an_answer_with_another_state(portal, browser, at_provider):
    callback = await at_provider.answer(browser, "/login/psc", "dr-bernard")
    answer = await browser.get(callback.replace("state=", "state=x"))
    await assert_refused(answer, "state", NOT_IN_THIS_BROWSER)


async def test_an_answer_brought_to_another_browser(portal, new_browser, at_provider):
    """Someone logs in at the provider, then sends the answer to someone else's browser to
    log them in as himself: that browser started no such login."""
    callback = await at_provider.answer(new_browser(portal), "/login/psc", "dr-bernard")
    answer = await new_browser(portal).get(callback)
    await assert_refused(answer, "state", NOT_IN_THIS_BROWSER)


async def test_an_answer_used_twice(portal, browser, at_provider):
    callback = await at_provider.answer(browser, "/login/psc", "dr-bernard")
    assert (await browser.get(callback)).status_code == 200
    await LoginSession.delete(force=True)  # the first use's session

    answer = await browser.get(callback)

    await assert_refused(answer, "state", NOT_IN_THIS_BROWSER)


@pytest.mark.parametrize(
    ("identity", "reason", "message"),
    [
        (
            "sans-rpps",
            "no RPPS number",
            "Pro Santé Connect did not give your RPPS number: Carnet cannot tell who you are.",
        ),
        (
            "adeli-roche",
            "not an RPPS number",
            "Carnet identifies professionals by their RPPS number, and the identity Pro Santé "
            "Connect gave is not one (an ADELI number, for instance).",
        ),
        (
            "op-girard",
            "profession 83",
            "Carnet does not know your profession (national code %(codes)s): it cannot tell "
            "what you may read. Ask the administrator of Carnet.",
        ),
    ],
)
async def test_claims_carnet_cannot_use(portal, browser, at_provider, identity, reason, message):
    answer = await at_provider.log_in(browser, "/login/psc", identity)
    await assert_refused(answer, reason, message)


# --- a provider that misbehaves -------------------------------------------------------------


def other_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1"})


def with_claims(**changes):
    """An ID token signed as it should be, with ``changes`` to its claims (None: left out)."""

    def make(provider: FakeProvider, claims: dict) -> str:
        claims = {**claims, **changes}
        return provider.signed({name: value for name, value in claims.items() if value is not None})

    return make


BROKEN_ID_TOKENS = {
    "nonce": with_claims(nonce="another nonce"),
    "expired": with_claims(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200),
    "audience": with_claims(aud="another-client"),
    "issuer": with_claims(iss="http://127.0.0.1:1/another-issuer"),
    "acr": with_claims(acr=None),
    "acr-unknown": with_claims(acr="eidas0"),
    "signature": lambda provider, claims: provider.signed(claims, key=other_key()),
    "alg-none": lambda provider, claims: FakeProvider.unsigned(claims),
}


async def test_an_id_token_that_cannot_be_trusted(start_portal, new_browser, fake_provider):
    portal = await start_portal(**fake_provider.settings())
    for broken, make in BROKEN_ID_TOKENS.items():
        fake_provider.id_token = make
        browser = new_browser(portal)
        request = await fake_provider.send(browser)

        answer = await fake_provider.answer(browser, request)

        reason = {"acr-unknown": "acr", "alg-none": "signature"}.get(broken, broken)
        await assert_refused(answer, reason, NOT_CHECKED)


async def test_an_id_token_replayed_from_an_earlier_login(start_portal, new_browser, fake_provider):
    """A login's ID token, given again at the next login: it answers another nonce."""
    fake_provider.claims = PRACTITIONER
    portal = await start_portal(**fake_provider.settings())
    first = new_browser(portal)
    request = await fake_provider.send(first)
    earlier = fake_provider.signed(fake_provider.correct_claims(request["nonce"]))
    fake_provider.id_token = lambda provider, claims: earlier
    second = new_browser(portal)
    request = await fake_provider.send(second)

    answer = await fake_provider.answer(second, request)

    await assert_refused(answer, "nonce", NOT_CHECKED)


async def test_a_key_the_provider_added_since_is_fetched(
    start_portal, new_browser, fake_provider, monkeypatch
):
    """A token signed by a key id Carnet has not seen: the provider's keys are fetched again
    (at most once a minute), and the token is accepted if the new key signed it."""
    fake_provider.claims = PRACTITIONER
    portal = await start_portal(**fake_provider.settings())
    first = new_browser(portal)
    assert (await fake_provider.answer(first, await fake_provider.send(first))).status_code == 200
    fake_provider.key = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    second = new_browser(portal)
    request = await fake_provider.send(second)
    refused = await fake_provider.answer(second, request)
    assert refused.status_code == 400  # the keys were fetched less than a minute ago
    monkeypatch.setattr(openid, "KEYS_REFRESH_INTERVAL", 0)

    accepted = await fake_provider.answer(second, await fake_provider.send(second))

    assert accepted.status_code == 200
    assert await second.is_signed_in()


async def test_what_the_login_sends_the_provider(start_portal, new_browser, fake_provider):
    """Authorization code with PKCE (S256), state, nonce, the acr level; the code verifier
    at the token endpoint, with the client's secret."""
    browser = new_browser(await start_portal(**fake_provider.settings()))
    request = await fake_provider.send(browser)
    assert request["response_type"] == "code"
    assert request["client_id"] == "carnet"
    assert request["redirect_uri"] == "http://testserver.local/login/psc/callback"
    assert request["scope"] == "openid scope_all"
    assert request["code_challenge_method"] == "S256"
    assert len(request["code_challenge"]) == 43
    assert request["acr_values"] == "eidas1"
    assert len(request["state"]) >= 43
    assert len(request["nonce"]) >= 43
    await fake_provider.answer(browser, request)
    [token_request] = fake_provider.token_requests
    assert token_request["grant_type"] == ["authorization_code"]
    assert len(token_request["code_verifier"][0]) >= 43


async def test_userinfo_about_someone_else(start_portal, new_browser, fake_provider):
    fake_provider.userinfo = {**PRACTITIONER, "sub": "someone else"}
    browser = new_browser(await start_portal(**fake_provider.settings()))
    answer = await fake_provider.answer(browser, await fake_provider.send(browser))
    await assert_refused(answer, "userinfo subject", NOT_CHECKED)


async def test_an_answer_from_another_issuer(start_portal, new_browser, fake_provider):
    """RFC 9207: the ``iss`` of the answer names who sent it (a mix-up attack sends another
    provider's answer here)."""
    browser = new_browser(await start_portal(**fake_provider.settings()))
    request = await fake_provider.send(browser)
    answer = await fake_provider.answer(browser, request, iss="http://127.0.0.1:1/other")
    await assert_refused(answer, "response issuer", NOT_CHECKED)


async def test_a_provider_too_slow_to_answer(start_portal, new_browser, fake_provider):
    portal = await start_portal(**fake_provider.settings())
    portal.state.identity_providers["psc"].timeout = httpx2.Timeout(0.2)
    fake_provider.delay = 1.0
    browser = new_browser(portal)
    request = await fake_provider.send(browser)

    answer = await fake_provider.answer(browser, request)

    await assert_refused(answer, "provider unavailable", UNAVAILABLE)
    await asyncio.sleep(fake_provider.delay)  # let its answer go before it stops


async def test_a_provider_that_does_not_answer(start_portal, new_browser, fake_provider):
    settings = fake_provider.settings()
    settings["CARNET_PSC_ISSUER"] = "http://127.0.0.1:9"  # nothing listens there
    browser = new_browser(await start_portal(**settings))

    answer = await browser.get("/login/psc")

    await assert_refused(answer, "provider unavailable", UNAVAILABLE)
    assert "Pro Santé Connect" in answer.text


async def test_an_answer_without_a_code(start_portal, new_browser, fake_provider):
    browser = new_browser(await start_portal(**fake_provider.settings()))
    request = await fake_provider.send(browser)
    answer = await browser.get(f"/login/psc/callback?{urlencode({'state': request['state']})}")
    await assert_refused(answer, "no code", NOT_CHECKED)


async def test_a_provider_this_portal_does_not_offer(start_portal, new_browser, fake_provider):
    browser = new_browser(await start_portal(**fake_provider.settings()))
    login_page = await browser.get("/login")
    assert 'href="/login/psc"' in login_page.text
    assert "/login/franceconnect" not in login_page.text
    for path in (
        "/login/franceconnect",
        "/login/franceconnect/callback?code=1&state=2",
        "/login/unknown",
    ):
        assert (await browser.get(path)).status_code == 404
