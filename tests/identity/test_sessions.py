"""Sessions: kept on the server, a new id at login, ended by logout, by disabling, by time,
and by the person from their list; the cookie that carries them; CSRF bound to them.

SECURITY.md, "Sessions" and the CSRF line of "Requests and pages".
"""

from __future__ import annotations

import re

import pytest

from portal.identity import sessions
from portal.identity.tables import LoginSession
from tests.conftest import translated
from tests.identity.conftest import (
    FORM_EXPIRED,
    GENERIC_LOGIN_ERROR,
    enter_code,
    enter_password,
    fresh_totp_code,
    log_in,
    new_administrator,
    new_patient,
    new_professional,
)


def session_set_cookie(response, name: str = "carnet_session") -> str:
    """The Set-Cookie header of the session cookie in ``response``."""
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


def cookie_value(header: str) -> str:
    return header.partition("=")[2].partition(";")[0].strip('"')


# --- a new id at login ----------------------------------------------------------------------


async def test_login_issues_a_new_session_id_at_each_step_and_the_old_one_dies(
    portal, browser, new_browser
):
    alice = await new_patient()
    await browser.get("/login")
    assert browser.session_cookie is None, "no session before the password"

    after_password = await enter_password(browser, alice.login, alice.password)
    pending = cookie_value(session_set_cookie(after_password))
    assert pending

    after_code = await enter_code(browser, fresh_totp_code(alice))
    signed_in = cookie_value(session_set_cookie(after_code))
    assert signed_in not in ("", pending)
    assert await browser.is_signed_in()

    replay = new_browser()
    replay.set_session_cookie(pending)
    assert not await replay.is_signed_in(), "the id from before the code is worth nothing"
    assert await LoginSession.count() == 1


async def test_a_session_id_chosen_by_the_client_is_never_adopted(portal, new_browser):
    alice = await new_patient()
    victim = new_browser()
    victim.set_session_cookie("attacker-chosen")
    await log_in(victim, alice)
    assert victim.session_cookie != "attacker-chosen"
    assert await victim.is_signed_in()

    attacker = new_browser()
    attacker.set_session_cookie("attacker-chosen")
    assert not await attacker.is_signed_in()
    assert not await LoginSession.exists().where(
        LoginSession.token_hash == sessions.digest("attacker-chosen")
    )


async def test_session_ids_are_long_random_tokens_stored_as_digests(portal, browser):
    alice = await new_patient()
    await log_in(browser, alice)
    token = browser.session_cookie
    assert len(token) >= 43  # 32 random bytes, URL-safe base64: 256 bits (≥ 128 asked)
    [row] = await LoginSession.select()
    assert row["token_hash"] == sessions.digest(token)
    assert token not in row["token_hash"]


# --- the cookie -----------------------------------------------------------------------------


async def test_the_session_cookie_is_httponly_strict_and_for_the_whole_site(portal, browser):
    alice = await new_patient()
    header = session_set_cookie(await log_in(browser, alice))
    assert "HttpOnly" in header
    assert "SameSite=strict" in header
    assert "Path=/" in header
    assert "Secure" not in header, "local development over http"
    # A browser-session cookie: it goes when the browser closes.
    assert "expires" not in header.lower()
    assert "max-age" not in header.lower()


async def test_secure_deployments_use_a_host_prefixed_secure_cookie(start_portal, new_browser):
    app = await start_portal(CARNET_COOKIE_SECURE="true")
    alice = await new_patient()
    browser = new_browser(app)
    header = session_set_cookie(await log_in(browser, alice), "__Host-carnet_session")
    assert "Secure" in header
    assert "HttpOnly" in header
    assert "SameSite=strict" in header
    assert "Path=/" in header
    assert "Domain" not in header
    assert await browser.is_signed_in()


# --- ending sessions ------------------------------------------------------------------------


async def test_logout_ends_the_session_on_the_server(portal, browser, new_browser):
    alice = await new_patient()
    await log_in(browser, alice)
    token = browser.session_cookie
    await browser.get("/account")

    response = await browser.submit("/logout")
    assert response.status_code == 303
    assert browser.session_cookie is None, "the browser is told to forget the cookie"
    assert await LoginSession.count() == 0

    replay = new_browser()
    replay.set_session_cookie(token)
    refused = await replay.get("/account")
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/login")


async def test_logout_is_not_a_get(portal, browser):
    """No state change on GET: a link or an image cannot log anyone out."""
    alice = await new_patient()
    await log_in(browser, alice)
    assert (await browser.get("/logout")).status_code == 405
    assert await browser.is_signed_in()


async def test_disabling_an_account_ends_its_sessions_at_once_and_stops_logins(portal, new_browser):
    alice, admin = await new_patient(), await new_administrator()
    alices_browser, admins_browser = new_browser(), new_browser()
    await log_in(alices_browser, alice)
    await log_in(admins_browser, admin)

    await admins_browser.get("/admin/accounts")
    response = await admins_browser.submit(f"/admin/accounts/{alice.id}/disable")
    assert response.status_code == 303

    assert not await alices_browser.is_signed_in()
    refused = await enter_password(new_browser(), alice.login, alice.password)
    assert refused.status_code == 400
    assert translated("fr", GENERIC_LOGIN_ERROR) in refused.text


# --- timeouts -------------------------------------------------------------------------------


async def test_a_patient_stays_signed_in_29_minutes_idle_not_31(portal, browser, clock):
    alice = await new_patient()
    await log_in(browser, alice)
    clock.advance(minutes=29)
    assert await browser.is_signed_in()
    clock.advance(minutes=31)
    assert not await browser.is_signed_in()


async def test_a_professional_stays_signed_in_14_minutes_idle_not_16(portal, browser, clock):
    bruno = await new_professional()
    await log_in(browser, bruno)
    clock.advance(minutes=14)
    assert await browser.is_signed_in()
    clock.advance(minutes=16)
    assert not await browser.is_signed_in()


async def test_a_session_ends_12_hours_after_login_however_active(portal, browser, clock):
    bruno = await new_professional()
    await log_in(browser, bruno)
    for _ in range(12 * 6 - 1):  # a page every 10 minutes, for 11 h 50
        clock.advance(minutes=10)
        assert await browser.is_signed_in()
    clock.advance(minutes=10)
    assert not await browser.is_signed_in()


async def test_a_half_open_login_does_not_outlive_10_minutes(portal, browser, clock):
    alice = await new_patient()
    await enter_password(browser, alice.login, alice.password)
    clock.advance(minutes=10)
    assert (await browser.get("/login/code")).headers["location"] == "/login"


# --- CSRF -----------------------------------------------------------------------------------


async def test_an_unsafe_request_without_the_token_is_refused(portal, browser):
    alice = await new_patient()
    await log_in(browser, alice)
    response = await browser.post("/logout")
    assert response.status_code == 403
    assert translated("fr", FORM_EXPIRED) in response.text
    assert await browser.is_signed_in()


async def test_the_token_of_another_session_is_refused(portal, new_browser):
    alice, bruno = await new_patient(), await new_professional()
    alices_browser, brunos_browser = new_browser(), new_browser()
    await log_in(alices_browser, alice)
    await log_in(brunos_browser, bruno)
    await brunos_browser.get("/account")

    response = await alices_browser.post("/logout", {"csrf_token": brunos_browser.csrf_token})
    assert response.status_code == 403
    assert await alices_browser.is_signed_in()


async def test_htmx_sends_the_token_as_a_header(portal, browser):
    alice = await new_patient()
    await log_in(browser, alice)
    await browser.get("/account")
    response = await browser.post(
        "/logout", headers={"X-CSRF-Token": browser.htmx_token, "HX-Request": "true"}
    )
    assert response.status_code == 303
    assert not await browser.is_signed_in()


async def test_the_token_changes_at_login(portal, browser):
    alice = await new_patient()
    await browser.get("/login")
    anonymous_token = browser.csrf_token
    await log_in(browser, alice)
    await browser.get("/account")
    assert browser.csrf_token != anonymous_token

    response = await browser.post("/logout", {"csrf_token": anonymous_token})
    assert response.status_code == 403
    assert await browser.is_signed_in()
    assert (await browser.submit("/logout")).status_code == 303


async def test_the_login_form_itself_needs_its_token(portal, browser):
    alice = await new_patient()
    response = await browser.post("/login", {"login": alice.login, "password": alice.password})
    assert response.status_code == 403
    assert browser.session_cookie is None


# --- every worker process sees the same sessions --------------------------------------------


async def test_two_app_instances_share_the_sessions(portal, start_portal, new_browser):
    """Two instances of the app, as two worker processes have: each with its own middleware
    and state, only the database in common. A browser is sent to either at random."""
    other = await start_portal()
    alice = await new_patient()
    on_first, on_second = new_browser(portal), new_browser(other)

    await log_in(on_first, alice)
    on_second.set_session_cookie(on_first.session_cookie)  # the same browser, the other worker
    assert await on_second.is_signed_in()

    await on_second.get("/account")
    assert (await on_second.submit("/logout")).status_code == 303
    assert on_first.session_cookie, "the first instance is sent the old cookie"
    assert not await on_first.is_signed_in(), "and knows it has been logged out"


# --- a person's list of sessions ------------------------------------------------------------


def listed_sessions(page: str) -> set[str]:
    """The ids of the sessions /account/sessions offers to end."""
    return set(re.findall(r'action="/account/sessions/([0-9a-f-]{36})/end"', page))


async def session_ids(person, **where) -> set[str]:
    rows = await LoginSession.select(LoginSession.id).where(
        LoginSession.account == person.id,
        *(getattr(LoginSession, column) == value for column, value in where.items()),
    )
    return {str(row["id"]) for row in rows}


async def test_a_person_sees_their_sessions_and_ends_another_one(portal, new_browser):
    alice = await new_patient()
    laptop = new_browser(user_agent="Firefox sur l'ordinateur")
    phone = new_browser(user_agent="Safari sur le telephone")
    await log_in(laptop, alice)
    await log_in(phone, alice)

    page = (await laptop.get("/account/sessions")).text
    assert listed_sessions(page) == await session_ids(alice)
    assert len(listed_sessions(page)) == 2
    [phone_session] = await session_ids(alice, user_agent="Safari sur le telephone")

    ended = await laptop.submit(f"/account/sessions/{phone_session}/end")
    assert ended.headers["location"] == "/account/sessions"
    assert not await phone.is_signed_in()
    assert await laptop.is_signed_in()
    assert listed_sessions((await laptop.get("/account/sessions")).text) == await session_ids(
        alice, user_agent="Firefox sur l'ordinateur"
    )


async def test_a_person_ends_all_their_other_sessions_at_once(portal, new_browser):
    alice = await new_patient()
    here, elsewhere, third = new_browser(), new_browser(), new_browser()
    for browser in (here, elsewhere, third):
        await log_in(browser, alice)
    await here.get("/account/sessions")
    await here.submit("/account/sessions/end-others")
    assert await here.is_signed_in()
    assert not await elsewhere.is_signed_in()
    assert not await third.is_signed_in()


async def test_the_session_of_another_account_cannot_be_ended(portal, new_browser):
    alice, bruno = await new_patient(), await new_professional()
    alices_browser, brunos_browser = new_browser(), new_browser()
    await log_in(alices_browser, alice)
    await log_in(brunos_browser, bruno)
    [brunos_session] = await LoginSession.select(LoginSession.id).where(
        LoginSession.account == bruno.id
    )

    await alices_browser.get("/account/sessions")
    response = await alices_browser.post(
        f"/account/sessions/{brunos_session['id']}/end",
        {"csrf_token": alices_browser.csrf_token},
    )
    assert response.status_code == 404
    assert await brunos_browser.is_signed_in()


@pytest.mark.parametrize("path", ["/account", "/account/sessions", "/account/password"])
async def test_pages_of_ones_account_need_a_login(portal, browser, path):
    response = await browser.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
