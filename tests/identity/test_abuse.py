"""Password guessing: each account locks after 5 failures whatever the addresses they come
from, for longer at each new failure; each address gets a limited number of attempts, and a
forged ``X-Forwarded-For`` does not buy a fresh allowance.

SECURITY.md, "Accounts and passwords": failed logins counted per account with growing delay /
lockout, not only per IP.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.identity import abuse
from portal.identity.tables import Account, RateLimitWindow
from tests.conftest import translated
from tests.identity.conftest import (
    GENERIC_LOGIN_ERROR,
    PASSWORD,
    enter_password,
    fresh_totp_code,
    new_patient,
    without_csrf_token,
)

WRONG = "pas le bon mot de passe"
TOO_MANY = "Too many attempts from this connection. Wait a few minutes, then try again."


def from_address(address: str) -> dict[str, str]:
    """What a reverse proxy adds for a client at ``address``."""
    return {"X-Forwarded-For": address}


@pytest.fixture
async def behind_proxy(start_portal):
    """The portal behind its reverse proxy (127.0.0.1): the proxy's X-Forwarded-For is
    believed, so each client address is the one the person really has."""
    return await start_portal(CARNET_TRUSTED_PROXIES="127.0.0.1")


async def password_accepted(browser, person, address: str = "198.51.100.200") -> bool:
    response = await enter_password(
        browser, person.login, person.password, headers=from_address(address)
    )
    if response.status_code == 303:
        return True
    assert response.status_code == 400
    assert translated("fr", GENERIC_LOGIN_ERROR) in response.text
    return False


# --- per account ----------------------------------------------------------------------------


async def test_five_failures_from_five_addresses_lock_the_account(behind_proxy, new_browser, clock):
    alice = await new_patient()
    browser = new_browser(behind_proxy)
    for n in range(1, 6):
        wrong = await enter_password(
            browser, alice.login, WRONG, headers=from_address(f"203.0.113.{n}")
        )
        assert wrong.status_code == 400
    addresses = {
        row["key"].split(":")[1] for row in await RateLimitWindow.select(RateLimitWindow.key)
    }
    assert addresses == {f"203.0.113.{n}" for n in range(1, 6)}, "five different clients"

    right = await enter_password(
        browser, alice.login, PASSWORD, headers=from_address("198.51.100.7")
    )
    assert right.status_code == wrong.status_code == 400
    assert without_csrf_token(right.text) == without_csrf_token(wrong.text), (
        "the right password during the lock reads exactly like a wrong one"
    )

    clock.advance(seconds=59)
    assert not await password_accepted(browser, alice)
    clock.advance(seconds=1)
    assert await password_accepted(browser, alice)


async def test_each_failure_after_the_lock_doubles_it(behind_proxy, new_browser, clock):
    alice = await new_patient()
    browser = new_browser(behind_proxy)
    for n in range(5):
        await enter_password(browser, alice.login, WRONG, headers=from_address(f"203.0.113.{n}"))
    clock.advance(minutes=1)  # the first lock (1 minute) is over...
    await enter_password(browser, alice.login, WRONG, headers=from_address("203.0.113.9"))

    clock.advance(minutes=1, seconds=59)  # ...one more failure: 2 minutes this time
    assert not await password_accepted(new_browser(behind_proxy), alice)
    clock.advance(seconds=1)
    assert await password_accepted(new_browser(behind_proxy), alice)

    row = await Account.select(Account.failed_logins).where(Account.id == alice.id).first()
    assert row["failed_logins"] == 0, "a successful password starts the count again"


def test_the_lock_doubles_up_to_an_hour():
    assert [abuse.lock_duration(failures) for failures in range(1, 5)] == [None] * 4
    assert [abuse.lock_duration(failures) for failures in range(5, 9)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=8),
    ]
    assert abuse.lock_duration(11) == timedelta(hours=1)
    assert abuse.lock_duration(50) == timedelta(hours=1)
    assert abuse.lock_duration(10**9) == timedelta(hours=1)


async def test_an_account_guessed_at_for_days_stays_locked(behind_proxy, new_browser, clock):
    """One guess each time the hour-long lock ends, for days on end: every new failure still
    locks the account for an hour (it once overflowed, answered 500 and left no lock)."""
    alice = await new_patient()
    await Account.update({Account.failed_logins: 60}).where(Account.id == alice.id)
    browser = new_browser(behind_proxy)
    wrong = await enter_password(browser, alice.login, WRONG, headers=from_address("203.0.113.1"))
    assert wrong.status_code == 400
    clock.advance(minutes=59, seconds=59)
    assert not await password_accepted(browser, alice)
    clock.advance(seconds=1)
    assert await password_accepted(browser, alice)


async def test_failures_of_other_people_do_not_lock_an_account(behind_proxy, new_browser):
    alice = await new_patient()
    bruno = await new_patient(first_name="Bruno")
    browser = new_browser(behind_proxy)
    for n in range(5):
        await enter_password(browser, bruno.login, WRONG, headers=from_address(f"203.0.113.{n}"))
    assert await password_accepted(browser, alice)


# --- per address ----------------------------------------------------------------------------


async def attempts_until_refused(browser, headers: dict[str, str] | None = None) -> int:
    """Login attempts accepted for checking before the portal answers 429 (at most one more
    than the limit)."""
    for attempt in range(abuse.ADDRESS_LIMIT + 1):
        response = await enter_password(browser, "personne@exemple.fr", WRONG, headers=headers)
        if response.status_code == 429:
            assert translated("fr", TOO_MANY) in response.text
            assert int(response.headers["retry-after"]) > 0
            return attempt
        assert response.status_code == 400
    return abuse.ADDRESS_LIMIT + 1


async def test_one_address_gets_a_limited_number_of_attempts(portal, new_browser, clock):
    browser = new_browser()
    assert await attempts_until_refused(browser) == abuse.ADDRESS_LIMIT
    other = new_browser(address="192.0.2.44")
    assert (await enter_password(other, "personne@exemple.fr", WRONG)).status_code == 400

    clock.advance(seconds=abuse.ADDRESS_WINDOW.total_seconds())
    assert (await enter_password(browser, "personne@exemple.fr", WRONG)).status_code == 400


async def test_a_forged_forwarded_header_does_not_buy_a_fresh_allowance(portal, new_browser):
    """Nobody trusted sits in front of the portal: X-Forwarded-For is the client's own say."""
    browser = new_browser()
    for n in range(abuse.ADDRESS_LIMIT):
        response = await enter_password(
            browser, "personne@exemple.fr", WRONG, headers=from_address(f"10.9.{n}.1")
        )
        assert response.status_code == 400
    forged = await enter_password(
        browser, "personne@exemple.fr", WRONG, headers=from_address("10.9.99.1")
    )
    assert forged.status_code == 429


async def test_behind_the_proxy_each_client_has_its_own_allowance(behind_proxy, new_browser):
    browser = new_browser(behind_proxy)
    first_client = from_address("198.51.100.1")
    assert await attempts_until_refused(browser, first_client) == abuse.ADDRESS_LIMIT
    second_client = from_address("198.51.100.2")
    response = await enter_password(browser, "personne@exemple.fr", WRONG, headers=second_client)
    assert response.status_code == 400


async def test_a_client_cannot_pass_for_the_proxy_chain(behind_proxy, new_browser):
    """A client that writes its own X-Forwarded-For in front of the proxy's is still counted by
    the address the proxy saw (the nearest hop that is not a trusted proxy)."""
    browser = new_browser(behind_proxy)
    for n in range(abuse.ADDRESS_LIMIT):
        await enter_password(
            browser, "personne@exemple.fr", WRONG, headers=from_address(f"10.0.0.{n}, 198.51.100.1")
        )
    response = await enter_password(
        browser, "personne@exemple.fr", WRONG, headers=from_address("10.0.1.1, 198.51.100.1")
    )
    assert response.status_code == 429


async def test_behind_the_proxy_the_sessions_show_each_device_address(behind_proxy, new_browser):
    """The list of one's sessions says where each was opened from: the person's address, not
    the proxy's (which every session would share)."""
    alice = await new_patient()
    browser = new_browser(behind_proxy)
    first = await enter_password(
        browser, alice.login, alice.password, headers=from_address("198.51.100.23")
    )
    assert first.status_code == 303
    await browser.get("/login/code")
    await browser.submit(
        "/login/code", {"code": fresh_totp_code(alice)}, headers=from_address("198.51.100.23")
    )
    page = await browser.get("/account/sessions")
    assert "198.51.100.23" in page.text
    assert "127.0.0.1" not in page.text
