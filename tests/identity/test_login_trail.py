"""Logins leave their trace: each login, failure and logout is an event of the audit trail's
system chain, and a login from a browser the account never used is notified to its owner."""

from __future__ import annotations

from portal.audit.tables import AuditEvent
from portal.notifications.tables import Notification
from tests.identity.conftest import enter_password, log_in, new_patient, new_professional

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36"


async def system_events() -> list[dict]:
    return await AuditEvent.select().where(AuditEvent.chain == "system").order_by(AuditEvent.seq)


async def test_login_and_logout_are_traced(portal, new_browser):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    browser = new_browser(user_agent=FIREFOX)
    await log_in(browser, alice)
    await browser.get("/account")
    await browser.submit("/logout")
    events = await system_events()
    assert [(event["action"], event["outcome"]) for event in events] == [
        ("login", "allowed"),
        ("logout", "allowed"),
    ]
    assert {event["actor_account"] for event in events} == {alice.id}
    assert events[0]["actor_name"] == "Alice Roux"
    assert events[0]["purpose"] == "HOPERAT"
    assert events[0]["client_address"] == "127.0.0.1"


async def test_failures_are_traced_without_the_password(portal, new_browser):
    alice = await new_patient()
    await enter_password(new_browser(), "Nobody@Example.fr", "s3cret-guess")
    await enter_password(new_browser(), alice.login, "wrong password")
    failures = await system_events()
    assert [(event["action"], event["outcome"], event["reason"]) for event in failures] == [
        ("login-failure", "refused", "password"),
        ("login-failure", "refused", "password"),
    ]
    assert failures[0]["target_id"] == "nobody@example.fr"
    assert not any("s3cret-guess" in str(event) for event in failures)


async def test_a_wrong_code_is_traced_with_its_account(portal, new_browser):
    alice = await new_patient()
    browser = new_browser()
    await enter_password(browser, alice.login, alice.password)
    await browser.open_and_submit("/login/code", "/login/code", {"code": "000000"})
    [event] = await system_events()
    assert (event["action"], event["actor_account"], event["reason"]) == (
        "login-failure", alice.id, "second factor"
    )  # fmt: skip


async def test_a_new_browser_is_notified_but_not_the_first_one(portal, new_browser, outbox):
    alice = await new_patient()
    await log_in(new_browser(user_agent=FIREFOX), alice)
    await log_in(new_browser(user_agent=FIREFOX), alice)
    assert await Notification.count() == 0  # neither the first browser nor a known one
    assert await outbox.new() == []

    phone = new_browser(user_agent=PHONE)
    await log_in(phone, alice)
    centre = await phone.get("/notifications")
    assert "Chrome, Android" in centre.text
    assert '<span class="badge">1' in centre.text  # the count in the navigation
    [message] = await outbox.new(alice.login)
    assert "Chrome, Android" in message["body"]

    await phone.submit("/notifications/read")
    assert '<span class="badge">' not in (await phone.get("/notifications")).text


async def test_a_professionals_login_is_traced_with_the_profession(portal, new_browser):
    doctor = await new_professional(first_name="Karim", last_name="Garcia")
    await log_in(new_browser(), doctor)
    [event] = await system_events()
    assert (event["actor_role"], event["actor_profession"], event["actor_name"]) == (
        "professional", "medecin", "Karim Garcia"
    )  # fmt: skip
