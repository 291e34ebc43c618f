"""The second step: TOTP codes, codes sent by message, and setting up an authenticator.

SECURITY.md: TOTP for every professional and staff account; for patients, TOTP or a one-time
code through the messaging channel; codes single-use, 6 digits, valid 10 minutes at most.
"""

from __future__ import annotations

import html
import re

import pyotp
import pytest

from portal.identity import second_factor
from portal.identity.accounts import FormErrors, NewAccount, create_account
from portal.identity.tables import Account, Role, SecondFactor
from tests.conftest import translated
from tests.identity.conftest import (
    FORM_EXPIRED,
    INVALID_CODE,
    enter_code,
    enter_password,
    fresh_totp_code,
    log_in,
    new_patient,
    new_professional,
    new_rpps,
)


async def signed_in_with(browser, code: str) -> bool:
    """Send ``code`` at the second step; True when it signs in, False when it is refused."""
    response = await enter_code(browser, code)
    if response.status_code == 303 and response.headers["location"] != "/login":
        return True
    assert response.status_code == 400, response.status_code
    assert translated("fr", INVALID_CODE) in response.text
    return False


# --- codes sent by message ------------------------------------------------------------------


async def test_a_patient_who_chose_messages_receives_a_6_digit_code(portal, browser, outbox):
    alice = await new_patient(second_factor=SecondFactor.CODE)
    response = await enter_password(browser, alice.login, alice.password)
    assert response.headers["location"] == "/login/code"

    [message] = await outbox.new(alice.login)
    [code] = [number for number in re.findall(r"\d+", message["body"]) if len(number) > 2]
    assert len(code) == 6

    assert await signed_in_with(browser, code)
    assert await browser.is_signed_in()


async def test_a_sent_code_is_valid_once(portal, new_browser, outbox):
    alice = await new_patient(second_factor=SecondFactor.CODE)
    first = new_browser()
    await enter_password(first, alice.login, alice.password)
    code = await outbox.one_code(alice.login)
    assert await signed_in_with(first, code)

    # The same code, again: neither the code itself nor another login accepts it.
    assert not await second_factor.check_login_code(alice.id, code)
    second = new_browser()
    await enter_password(second, alice.login, alice.password)
    new_code = await outbox.one_code(alice.login)
    assert not await signed_in_with(second, code)
    assert await signed_in_with(second, new_code)


async def test_a_sent_code_works_for_10_minutes_and_not_after(portal, new_browser, outbox, clock):
    alice = await new_patient(second_factor=SecondFactor.CODE)
    early = new_browser()
    await enter_password(early, alice.login, alice.password)
    code = await outbox.one_code(alice.login)
    clock.advance(minutes=9, seconds=59)
    assert await signed_in_with(early, code)

    late = new_browser()
    await enter_password(late, alice.login, alice.password)
    code = await outbox.one_code(alice.login)
    await late.get("/login/code")
    clock.advance(minutes=10)
    assert not await second_factor.check_login_code(alice.id, code), "the code has expired"
    response = await late.submit("/login/code", {"code": code})
    # The half-open login has ended with it: the page's form is stale.
    assert response.status_code == 403
    assert translated("fr", FORM_EXPIRED) in response.text
    assert not await late.is_signed_in()


async def test_a_sent_code_is_void_after_5_wrong_attempts(portal, browser, outbox, clock):
    alice = await new_patient(second_factor=SecondFactor.CODE)
    await enter_password(browser, alice.login, alice.password)
    code = await outbox.one_code(alice.login)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(second_factor.CODE_ATTEMPTS):
        assert not await signed_in_with(browser, wrong)

    clock.advance(minutes=5)  # past the account's lock too: the code itself is void
    assert not await signed_in_with(browser, code)
    assert not await second_factor.check_login_code(alice.id, code)


async def test_a_new_code_replaces_the_previous_one(portal, browser, outbox):
    alice = await new_patient(second_factor=SecondFactor.CODE)
    await enter_password(browser, alice.login, alice.password)
    first_code = await outbox.one_code(alice.login)

    await browser.get("/login/code")
    resent = await browser.submit("/login/code/resend")
    assert resent.headers["location"] == "/login/code"
    second_code = await outbox.one_code(alice.login)

    assert not await signed_in_with(browser, first_code)
    assert await signed_in_with(browser, second_code)


# --- TOTP -----------------------------------------------------------------------------------


async def test_a_totp_code_is_accepted_once(portal, new_browser, clock):
    bruno = await new_professional()
    code = bruno.totp_code()
    first, second = new_browser(), new_browser()
    await enter_password(first, bruno.login, bruno.password)
    await enter_password(second, bruno.login, bruno.password)

    assert await signed_in_with(first, code)
    assert not await signed_in_with(second, code), "the same code, replayed"

    clock.advance(seconds=second_factor.TOTP_PERIOD)
    assert await signed_in_with(second, bruno.totp_code()), "the next code works"


async def test_only_the_codes_next_to_now_are_accepted(portal, new_browser):
    """One step of drift either way (phones' clocks drift), never two."""
    bruno, carla = await new_professional(), await new_professional(first_name="Carla")
    for_bruno, for_carla = new_browser(), new_browser()
    await enter_password(for_bruno, bruno.login, bruno.password)
    assert not await signed_in_with(for_bruno, bruno.totp_code(steps=-2))
    assert not await signed_in_with(for_bruno, bruno.totp_code(steps=2))
    assert await signed_in_with(for_bruno, bruno.totp_code(steps=-1))

    await enter_password(for_carla, carla.login, carla.password)
    assert await signed_in_with(for_carla, carla.totp_code(steps=1))


async def test_the_second_step_cannot_be_guessed_past_the_account_lock(portal, browser, clock):
    """Wrong codes count as failed logins: after 5, the account is locked, and even the right
    code waits for the end of the lock. Otherwise someone who knows the password could keep
    guessing codes for as long as the half-open login lasts."""
    bruno = await new_professional()
    await enter_password(browser, bruno.login, bruno.password)
    valid_now = {bruno.totp_code(steps) for steps in (-1, 0, 1)}
    wrong = next(code for code in ("000000", "111111", "222222") if code not in valid_now)
    for _ in range(5):
        assert not await signed_in_with(browser, wrong)

    assert not await signed_in_with(browser, bruno.totp_code()), "locked"
    clock.advance(minutes=1)
    assert await signed_in_with(browser, fresh_totp_code(bruno))


# --- setting up an authenticator ------------------------------------------------------------


def shown_key(page: str) -> str:
    return re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")


async def test_a_professional_without_an_authenticator_sets_one_up_at_first_login(
    portal, browser, clock
):
    bruno = await new_professional(with_authenticator=False)
    response = await enter_password(browser, bruno.login, bruno.password)
    assert response.headers["location"] == "/login/enrol"
    assert not await browser.is_signed_in()

    page = (await browser.get("/login/enrol")).text
    assert "<svg" in page, "the QR code is drawn in the page itself"
    first_key = shown_key(page)
    assert len(first_key) == 32
    assert "/login/enrol/messages" not in page, "professionals use an authenticator"

    page = (await browser.get("/login/enrol")).text
    key = shown_key(page)
    assert key != first_key, "each key is shown once: reloading shows a new one"

    code_from_first_key = pyotp.TOTP(first_key).at(clock())
    refused = await browser.submit("/login/enrol", {"code": code_from_first_key})
    assert refused.headers["location"] == "/login/enrol"

    page = (await browser.get("/login/enrol")).text
    key = shown_key(page)
    confirmed = await browser.submit("/login/enrol", {"code": pyotp.TOTP(key).at(clock())})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == "/patients"  # straight home, as after a code
    assert await browser.is_signed_in()

    account = await Account.select().where(Account.id == bruno.id).first()
    assert account["totp_confirmed"]
    assert account["totp_secret"] == key


async def test_a_patient_may_choose_codes_by_message_instead(portal, browser, outbox):
    alice = await new_patient(with_authenticator=False)
    assert alice.role == Role.PATIENT
    response = await enter_password(browser, alice.login, alice.password)
    assert response.headers["location"] == "/login/enrol"

    await browser.get("/login/enrol")
    chosen = await browser.submit("/login/enrol/messages")
    assert chosen.headers["location"] == "/login/code"
    assert await signed_in_with(browser, await outbox.one_code(alice.login))

    account = await Account.select().where(Account.id == alice.id).first()
    assert account["second_factor"] == SecondFactor.CODE
    assert account["totp_secret"] == ""


async def test_a_professional_cannot_choose_codes_by_message(portal, browser):
    bruno = await new_professional(with_authenticator=False)
    await enter_password(browser, bruno.login, bruno.password)
    await browser.get("/login/enrol")
    response = await browser.post("/login/enrol/messages", {"csrf_token": browser.csrf_token})
    assert response.headers["location"] == "/login"
    account = await Account.select().where(Account.id == bruno.id).first()
    assert account["second_factor"] == SecondFactor.TOTP


async def test_an_authenticator_set_up_at_login_is_used_at_the_next(portal, new_browser, clock):
    bruno = await new_professional(with_authenticator=False)
    first = new_browser()
    await enter_password(first, bruno.login, bruno.password)
    key = shown_key((await first.get("/login/enrol")).text)
    await first.submit("/login/enrol", {"code": pyotp.TOTP(key).at(clock())})
    assert await first.is_signed_in()

    bruno.totp_secret = key
    bruno.last_step = int(clock().timestamp()) // second_factor.TOTP_PERIOD
    second = new_browser()
    landing = await log_in(second, bruno)
    assert landing.headers["location"] == "/patients"


@pytest.mark.parametrize(
    "role", [Role.PROFESSIONAL, Role.SAMU_REGULATOR, Role.INSURER_AGENT, Role.ADMINISTRATOR]
)
async def test_professionals_and_staff_always_use_an_authenticator(role):
    with pytest.raises(FormErrors) as refusal:
        await create_account(
            NewAccount(
                role=role,
                login="quelquun@exemple.fr",
                first_name="Hugo",
                last_name="Martel",
                second_factor=SecondFactor.CODE,
                rpps=new_rpps(),
                profession="medecin",
            )
        )
    message = "Professionals and staff use an authenticator application."
    assert refusal.value.errors == {"second_factor": html.unescape(translated("fr", message))}
