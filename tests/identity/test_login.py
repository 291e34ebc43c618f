"""Logging in: the two steps, where a person lands, and what a wrong login gives away.

SECURITY.md, "Accounts and passwords": Argon2id at or above the floor, rehashed after a
successful login, hashed off the event loop so that a burst of logins does not stall other
requests; the same answer and the same work for an unknown login and a wrong password.
"""

from __future__ import annotations

import asyncio
import re
import threading

from argon2 import PasswordHasher

from portal.identity import passwords, sessions
from portal.identity.accounts import disable
from portal.identity.tables import Account, LoginSession
from tests.conftest import translated
from tests.identity.conftest import (
    GENERIC_LOGIN_ERROR,
    PASSWORD,
    enter_password,
    fresh_totp_code,
    log_in,
    new_administrator,
    new_patient,
    new_professional,
    without_csrf_token,
)

ENCODED = re.compile(r"^\$argon2id\$v=19\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$")


def argon2_parameters(encoded: str) -> dict[str, int]:
    match = ENCODED.match(encoded)
    assert match, "not an Argon2id hash"
    return {name: int(value) for name, value in match.groupdict().items()}


async def stored_hash(person) -> str:
    row = await Account.select(Account.password_hash).where(Account.id == person.id).first()
    return row["password_hash"]


# --- the two steps --------------------------------------------------------------------------


async def test_the_login_page_has_the_conventional_fields(browser):
    page = await browser.get("/login")
    assert page.status_code == 200
    for name in ("login", "password", "csrf_token"):
        assert f'name="{name}"' in page.text


async def test_a_patient_logs_in_with_password_then_code_and_lands_on_their_account(
    portal, browser
):
    alice = await new_patient()
    first = await enter_password(browser, alice.login, alice.password)
    assert first.status_code == 303
    assert first.headers["location"] == "/login/code"
    assert not await browser.is_signed_in(), "the password alone does not sign in"

    code_page = await browser.get("/login/code")
    assert 'name="code"' in code_page.text
    second = await browser.submit("/login/code", {"code": fresh_totp_code(alice)})
    assert second.status_code == 303
    assert second.headers["location"] == "/account"

    account = await browser.get("/account")
    assert account.status_code == 200
    assert alice.login in account.text
    assert (await browser.get("/me")).headers["location"] == "/account"


async def test_an_administrator_lands_on_the_accounts(portal, browser):
    administrator = await new_administrator()
    landing = await log_in(browser, administrator)
    assert landing.headers["location"] == "/admin/accounts"
    assert (await browser.get("/admin/accounts")).status_code == 200


async def test_a_page_that_needs_a_login_sends_there_and_back(portal, browser):
    alice = await new_patient()
    refused = await browser.get("/account")
    assert refused.status_code == 303
    assert refused.headers["location"] == "/login?next=%2Faccount"

    landing = await log_in(browser, alice, page=refused.headers["location"])
    assert landing.headers["location"] == "/account"


async def test_next_never_leads_to_another_site(portal, browser):
    alice = await new_patient()
    landing = await log_in(browser, alice, page="/login?next=//evil.example/phish")
    assert landing.headers["location"] == "/account"


async def test_the_code_page_without_a_password_first_leads_to_the_login(portal, browser):
    assert (await browser.get("/login/code")).headers["location"] == "/login"


# --- no enumeration -------------------------------------------------------------------------


async def test_unknown_login_wrong_password_locked_or_disabled_all_read_the_same(
    portal, new_browser
):
    """Whatever was wrong, the page is byte for byte the same (apart from the CSRF token, which
    differs from browser to browser): nothing tells whether the address has an account."""
    login = "celine.marchand@exemple.fr"

    async def attempt(password: str) -> tuple[int, str]:
        response = await enter_password(new_browser(), login, password)
        return response.status_code, without_csrf_token(response.text)

    unknown = await attempt(PASSWORD)  # nobody has this login yet
    celine = await new_patient(first_name="Céline", last_name="Marchand")
    await Account.update({Account.login: login}).where(Account.id == celine.id)
    wrong_password = await attempt("pas le bon mot de passe")  # now the same login exists

    assert unknown == wrong_password
    assert unknown[0] == 400
    assert translated("fr", GENERIC_LOGIN_ERROR) in unknown[1]

    for _ in range(4):  # five failures in all: the account is locked
        await attempt("pas le bon mot de passe")
    assert await attempt(PASSWORD) == unknown, "locked: even the right password reads the same"

    await Account.update({Account.failed_logins: 0, Account.locked_until: None}).where(
        Account.id == celine.id
    )
    await disable(celine.id)
    assert await attempt(PASSWORD) == unknown, "disabled: the same again"


class CountingHasher(PasswordHasher):
    """The real hasher (same parameters), counting its work and noting which thread did it."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.verifications = 0
        self.hashes = 0
        self.threads: list[int] = []
        self.gate = gate
        self.on_start = lambda: None
        self.lock = threading.Lock()

    def verify(self, hash, password):
        with self.lock:
            self.verifications += 1
            self.threads.append(threading.get_ident())
        self.on_start()
        if self.gate is not None:
            assert self.gate.wait(timeout=30), "the gate was never opened"
        return super().verify(hash, password)

    def hash(self, password, *, salt=None):
        with self.lock:
            self.hashes += 1
            self.threads.append(threading.get_ident())
        return super().hash(password, salt=salt)


async def test_an_unknown_login_costs_the_same_hashing_as_a_wrong_password(
    real_argon2, start_portal, new_browser, monkeypatch
):
    """One Argon2 verification either way, and nothing more: not even the first unknown login
    after a start pays for making the dummy hash it is checked against."""
    passwords._dummy_hash.cache_clear()  # as in a process that has just started
    hasher = CountingHasher()
    monkeypatch.setattr(passwords, "_hasher", hasher)
    app = await start_portal()
    alice = await new_patient()
    browser = new_browser(app)

    hasher.verifications = hasher.hashes = 0
    await enter_password(browser, "nobody@exemple.fr", PASSWORD)
    unknown = (hasher.verifications, hasher.hashes)
    hasher.verifications = hasher.hashes = 0
    await enter_password(browser, alice.login, "pas le bon mot de passe")
    wrong = (hasher.verifications, hasher.hashes)

    assert unknown == wrong == (1, 0)


# --- Argon2id -------------------------------------------------------------------------------


async def test_a_created_account_stores_argon2id_at_or_above_the_floor(real_argon2, portal):
    alice = await new_patient()
    stored = await stored_hash(alice)
    assert PASSWORD not in stored
    parameters = argon2_parameters(stored)
    assert parameters["m"] >= 19 * 1024
    assert parameters["t"] >= 2
    assert parameters["p"] >= 1


async def test_a_hash_with_weaker_parameters_is_upgraded_at_the_next_login(
    real_argon2, portal, browser
):
    alice = await new_patient()
    weaker = PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1).hash(PASSWORD)
    await Account.update({Account.password_hash: weaker}).where(Account.id == alice.id)

    await log_in(browser, alice)

    upgraded = await stored_hash(alice)
    assert upgraded != weaker
    assert argon2_parameters(upgraded) == {
        "m": passwords._hasher.memory_cost,
        "t": passwords._hasher.time_cost,
        "p": passwords._hasher.parallelism,
    }
    assert (await passwords.verify_password(upgraded, PASSWORD)).valid
    browser.http.cookies.clear()
    await log_in(browser, alice)  # the same password still opens the account
    assert await stored_hash(alice) == upgraded, "no rehash once the parameters are current"


async def test_a_burst_of_logins_does_not_stall_other_requests(
    real_argon2, portal, new_browser, monkeypatch
):
    """Ten logins at once, their hashes held in the worker pool: /health still answers, while
    none of the ten has finished. Shown by counting, not timing; no hash runs on the loop."""
    bruno = await new_professional()
    gate = threading.Event()
    hasher = CountingHasher(gate)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    loop = asyncio.get_running_loop()
    pool_busy = asyncio.Event()

    def hash_started() -> None:
        if hasher.verifications >= passwords.HASHING_THREADS:
            loop.call_soon_threadsafe(pool_busy.set)

    hasher.on_start = hash_started
    browser = new_browser()
    await browser.get("/login")
    token = browser.csrf_token
    finished = 0

    async def one_login():
        nonlocal finished
        response = await browser.http.post(
            "/login", data={"csrf_token": token, "login": bruno.login, "password": PASSWORD}
        )
        finished += 1
        return response

    logins = [asyncio.create_task(one_login()) for _ in range(10)]
    try:
        await asyncio.wait_for(pool_busy.wait(), timeout=30)
        health = await browser.http.get("/health")
        finished_when_health_answered = finished
    finally:
        gate.set()
    responses = await asyncio.gather(*logins)

    assert health.status_code == 200
    # Not one login could finish: all ten were waiting for their hash (two running, eight
    # queued in the pool) while /health was served.
    assert finished_when_health_answered == 0
    assert [response.status_code for response in responses] == [303] * 10
    assert hasher.verifications == 10
    assert threading.get_ident() not in hasher.threads, "a hash ran on the event loop"


# --- what a login leaves behind -------------------------------------------------------------


async def test_a_login_records_the_browser_and_address_of_the_session(portal, new_browser):
    alice = await new_patient()
    await log_in(new_browser(user_agent="Firefox sur le portable d'Alice"), alice)
    [row] = await LoginSession.select().where(LoginSession.account == alice.id)
    assert row["stage"] == sessions.Stage.SIGNED_IN
    assert row["user_agent"] == "Firefox sur le portable d'Alice"
    assert row["client_address"] == "127.0.0.1"
