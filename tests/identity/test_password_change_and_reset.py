"""Changing one's password, and choosing a new one through a link when it is forgotten."""

from __future__ import annotations

import pytest

from tests.conftest import translated
from tests.identity.conftest import (
    GENERIC_LOGIN_ERROR,
    enter_password,
    field_error,
    log_in,
    new_patient,
)

NEW_PASSWORD = "Un autre mot de passe bien long"
NOT_CURRENT = "This is not your current password."
TOO_SHORT = "Use at least 8 characters; a short sentence is easy to remember."
COMMON = "This password is among the most used ones; choose another."
PERSONAL = "Do not use your name or your login in your password."
NOT_THE_SAME = "The two passwords are not the same."
LINK_SENT = "If an account uses this address, we have sent it a link to choose a new password."
LINK_EXPIRED = "This link is no longer valid: it has already been used or is more than an hour old."
CHANGED_LOG_IN = "Your password has been changed. You can log in."


async def password_works(new_browser, person, password: str) -> bool:
    response = await enter_password(new_browser(), person.login, password)
    if response.status_code == 303:
        return True
    assert translated("fr", GENERIC_LOGIN_ERROR) in response.text
    return False


# --- changing it ----------------------------------------------------------------------------


async def change_password(browser, current: str, new: str, confirm: str | None = None, **extra):
    await browser.get("/account/password")
    return await browser.submit(
        "/account/password",
        {"current": current, "password": new, "confirm": new if confirm is None else confirm}
        | extra,
    )


async def test_a_wrong_current_password_is_refused_next_to_its_field(portal, browser, new_browser):
    alice = await new_patient()
    await log_in(browser, alice)
    response = await change_password(browser, "pas le mot de passe actuel", NEW_PASSWORD)
    assert response.status_code == 400
    assert field_error(response.text, "current") == translated("fr", NOT_CURRENT)
    assert await password_works(new_browser, alice, alice.password)
    assert not await password_works(new_browser, alice, NEW_PASSWORD)


async def test_guessing_the_current_password_locks_the_account(portal, browser, new_browser):
    """An open session (a borrowed phone) must not allow guessing the password at leisure."""
    alice = await new_patient()
    await log_in(browser, alice)
    for attempt in range(5):
        await change_password(browser, f"devinette numéro {attempt}", NEW_PASSWORD)
    # Locked now: even the right current password is refused, and so is a login.
    response = await change_password(browser, alice.password, NEW_PASSWORD)
    assert field_error(response.text, "current") == translated("fr", NOT_CURRENT)
    assert not await password_works(new_browser, alice, alice.password)


@pytest.mark.parametrize(
    ("new", "confirm", "field", "message"),
    [
        ("court", None, "password", TOO_SHORT),
        ("motdepasse", None, "password", COMMON),
        ("Alice adore les randonnées", None, "password", PERSONAL),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "confirm", NOT_THE_SAME),
    ],
    ids=["too-short", "common", "own-name", "not-confirmed"],
)
async def test_the_new_password_follows_the_policy(
    portal, browser, new_browser, new, confirm, field, message
):
    alice = await new_patient()  # Alice Dupont
    await log_in(browser, alice)
    response = await change_password(browser, alice.password, new, confirm)
    assert response.status_code == 400
    assert translated("fr", message) in field_error(response.text, field)
    assert await password_works(new_browser, alice, alice.password)


async def test_a_change_can_end_the_other_sessions_and_keeps_this_one(portal, new_browser):
    alice = await new_patient()
    here, phone = new_browser(), new_browser()
    await log_in(here, alice)
    await log_in(phone, alice)

    response = await change_password(here, alice.password, NEW_PASSWORD)  # box ticked
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    assert await here.is_signed_in()
    assert not await phone.is_signed_in()
    assert await password_works(new_browser, alice, NEW_PASSWORD)
    assert not await password_works(new_browser, alice, alice.password)


async def test_a_change_may_leave_the_other_sessions_open(portal, new_browser):
    alice = await new_patient()
    here, phone = new_browser(), new_browser()
    await log_in(here, alice)
    await log_in(phone, alice)
    response = await change_password(here, alice.password, NEW_PASSWORD, end_others=None)
    assert response.status_code == 303
    assert await here.is_signed_in()
    assert await phone.is_signed_in()


# --- forgotten ------------------------------------------------------------------------------


async def ask_for_a_link(browser, login: str):
    response = await browser.open_and_submit(
        "/password/forgot", "/password/forgot", {"login": login}
    )
    following = await browser.get(response.headers["location"])
    return response, following


async def test_the_answer_is_the_same_for_an_unknown_address(portal, new_browser, outbox):
    alice = await new_patient()
    known, known_page = await ask_for_a_link(new_browser(), alice.login)
    unknown, unknown_page = await ask_for_a_link(new_browser(), "inconnu@exemple.fr")

    for response in (known, unknown):
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
    for page in (known_page, unknown_page):
        assert translated("fr", LINK_SENT) in page.text
    assert len(await outbox.new(alice.login)) == 1
    assert await outbox.new() == [], "nothing is sent to an address without an account"


async def test_the_link_sets_a_new_password_once(portal, browser, new_browser, outbox):
    alice = await new_patient()
    await ask_for_a_link(browser, alice.login)
    link = await outbox.one_link(alice.login)

    form = await browser.get(link)
    assert form.status_code == 200
    response = await browser.submit(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert translated("fr", CHANGED_LOG_IN) in (await browser.get("/login")).text
    assert await password_works(new_browser, alice, NEW_PASSWORD)
    assert not await password_works(new_browser, alice, alice.password)

    again = await new_browser().get(link)
    assert again.status_code == 400
    assert translated("fr", LINK_EXPIRED) in again.text


async def test_the_link_leads_to_the_address_the_portal_is_reached_at(
    start_portal, new_browser, outbox
):
    """Without CARNET_BASE_URL (``make run PORT=8080``), links point where the request came
    to; with it, to the configured address."""
    configured = await start_portal(CARNET_BASE_URL="https://carnet.example.fr")
    derived = await start_portal()
    alice = await new_patient()
    for portal, expected in (
        (derived, "http://testserver.local/password/reset/"),
        (configured, "https://carnet.example.fr/password/reset/"),
    ):
        await ask_for_a_link(new_browser(portal), alice.login)
        [message] = await outbox.new(alice.login)
        assert expected in message["body"]


async def test_the_link_refuses_a_weak_password_and_still_works_after(
    portal, browser, new_browser, outbox
):
    alice = await new_patient()
    await ask_for_a_link(browser, alice.login)
    link = await outbox.one_link(alice.login)
    await browser.get(link)
    weak = await browser.submit(link, {"password": "court", "confirm": "court"})
    assert weak.status_code == 400
    assert translated("fr", TOO_SHORT) in field_error(weak.text, "password")
    await browser.get(link)
    assert (
        await browser.submit(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    ).status_code == 303


async def test_the_link_expires_after_an_hour(portal, browser, outbox, clock):
    alice = await new_patient()
    await ask_for_a_link(browser, alice.login)
    link = await outbox.one_link(alice.login)
    clock.advance(minutes=59, seconds=59)
    assert (await browser.get(link)).status_code == 200
    clock.advance(seconds=1)
    expired = await browser.get(link)
    assert expired.status_code == 400
    assert translated("fr", LINK_EXPIRED) in expired.text


async def test_a_new_link_replaces_the_previous_one(portal, browser, outbox):
    alice = await new_patient()
    await ask_for_a_link(browser, alice.login)
    first = await outbox.one_link(alice.login)
    await ask_for_a_link(browser, alice.login)
    second = await outbox.one_link(alice.login)
    assert (await browser.get(first)).status_code == 400
    assert (await browser.get(second)).status_code == 200


async def test_a_reset_ends_every_session_of_the_account(portal, new_browser, outbox):
    alice = await new_patient()
    laptop = new_browser()
    await log_in(laptop, alice)
    somewhere = new_browser()
    await ask_for_a_link(somewhere, alice.login)
    link = await outbox.one_link(alice.login)
    await somewhere.get(link)
    await somewhere.submit(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert not await laptop.is_signed_in()


async def test_a_reset_unlocks_a_locked_account(portal, new_browser, outbox):
    alice = await new_patient()
    for _ in range(5):
        await enter_password(new_browser(), alice.login, "pas le bon mot de passe")
    assert not await password_works(new_browser, alice, alice.password), "locked"

    browser = new_browser()
    await ask_for_a_link(browser, alice.login)
    link = await outbox.one_link(alice.login)
    await browser.get(link)
    await browser.submit(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert await password_works(new_browser, alice, NEW_PASSWORD), "no need to wait for the lock"


async def test_a_disabled_account_receives_no_link(portal, browser, outbox):
    from portal.identity.accounts import disable

    alice = await new_patient()
    await disable(alice.id)
    _response, page = await ask_for_a_link(browser, alice.login)
    assert translated("fr", LINK_SENT) in page.text
    assert await outbox.new() == []


async def test_a_long_passphrase_is_kept_whole(portal, browser, new_browser):
    """64 characters and more are welcome, and every one of them counts: nothing is cut off
    (bcrypt, for one, would have stopped at 72 bytes)."""
    alice = await new_patient()
    await log_in(browser, alice)
    passphrase = (
        "Le petit chat gris dort au soleil sur le rebord de la fenêtre depuis ce matin, "
        "sans bouger une moustache"
    )
    assert len(passphrase.encode()) > 100
    assert (await change_password(browser, alice.password, passphrase)).status_code == 303
    assert await password_works(new_browser, alice, passphrase)
    assert not await password_works(new_browser, alice, passphrase[:72])
    assert not await password_works(new_browser, alice, passphrase + "!")
