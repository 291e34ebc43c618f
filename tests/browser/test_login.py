"""Logging in and out in a real browser, as the demo people, with and without JavaScript.

Second-factor codes come from the `totp` fixture. The portal accepts a code once per account
and 30-second step, and the step just before or after the current one; so `TotpCodes` gives
the current step's code, then the next step's, and no demo account here logs in more than
twice in the whole session (the journeys run with JavaScript on and off, the administrator
for axe and on a small phone). Each other test has a demo account of its own.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portal.demo import DEMO_PASSWORD

from .conftest import (
    assert_accessible,
    assert_layout,
    assert_no_console_errors,
    log_in,
    record_console_errors,
    run_carnet,
    translated,
)

pytestmark = pytest.mark.browser

PATIENT = "camille.martin@demo.carnet.fr"  # the patient journey, with and without JavaScript
DOCTOR = "dr.bernard@demo.carnet.fr"  # the GP journey, with and without JavaScript
WRONG_PASSWORD = "dr.garcia@demo.carnet.fr"  # never logged in: only failed attempts
ACCESSIBILITY = "jules.petit@demo.carnet.fr"  # a patient for axe
ADMINISTRATOR = "admin@demo.carnet.fr"
KEYBOARD = "dr.moreau@demo.carnet.fr"
SMALL_SCREEN = "ph.petit@demo.carnet.fr"
ENROLLING = "zoe.nouvelle@test.carnet.fr"  # opened by the tests, authenticator not set up yet

LOGIN_ERROR = (
    "Login or password incorrect. After several failed attempts, the account is locked for a "
    "few minutes."
)
PHONE = {"width": 360, "height": 640}


def path_is(path: str) -> re.Pattern[str]:
    """The page's URL is ``path`` on the portal, whatever its query string."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?$")


#: A dossier's page, where a patient lands after logging in.
A_DOSSIER = re.compile(r"^https?://[^/]+/dossiers/[0-9a-f-]{36}$")


def submit_first_step(page: Page, login: str, password: str = DEMO_PASSWORD) -> None:
    page.get_by_label(translated("E-mail address or mobile number"), exact=True).fill(login)
    page.get_by_label(translated("Password"), exact=True).fill(password)
    page.get_by_role("button", name=translated("Continue")).click()


def focus_by_tabbing(page: Page, element_id: str, limit: int = 20) -> None:
    """Press Tab until the element ``element_id`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    pytest.fail(f"#{element_id} not reached after {limit} presses of Tab")


@pytest.fixture(scope="module")
def enrolling_account(portal) -> str:
    """An administrator whose authenticator is not set up yet: logging in leads to
    /login/enrol. Opened with `carnet user create`, as a deployment opens its first one."""
    run_carnet(
        portal,
        *("user", "create", "administrator", "--login", ENROLLING),
        *("--first-name", "Zoé", "--last-name", "Nouvelle", "--password-stdin"),
        stdin=f"{DEMO_PASSWORD}\n",
    )
    return ENROLLING


# --- journeys -------------------------------------------------------------------------------


def test_patient_logs_in_and_out(page, javascript, totp, console_errors):
    page.goto("/login")
    assert_layout(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(translated("Log in to Carnet"))
    submit_first_step(page, PATIENT)

    expect(page).to_have_url(path_is("/login/code"))
    assert_layout(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(translated("Second step: your code"))
    page.get_by_label(translated("Code"), exact=True).fill(totp.code(PATIENT))
    page.get_by_role("button", name=translated("Log in")).click()

    expect(page).to_have_url(A_DOSSIER)
    assert_layout(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        translated("Record of %(name)s") % {"name": "Camille Martin"}
    )
    page.get_by_role("link", name=translated("My account")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(translated("My account"))
    expect(page.locator("main")).to_contain_text(PATIENT)

    page.get_by_role("button", name=translated("Log out")).click()

    expect(page).to_have_url(path_is("/"))
    expect(page.get_by_role("status")).to_have_text(translated("You are logged out."))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        translated("Your health record, in your hands")
    )
    if javascript:  # the confirmation as well
        assert_accessible(page)
    expect(page.get_by_role("button", name=translated("Log out"))).to_have_count(0)
    page.goto("/account")  # the session is over on the server, not only in this page
    expect(page).to_have_url(path_is("/login"))
    assert page.url.endswith("/login?next=%2Faccount")
    expect(
        page.get_by_label(translated("E-mail address or mobile number"), exact=True)
    ).to_be_visible()
    assert_no_console_errors(console_errors)


def test_general_practitioner_sees_her_profession(page, totp, console_errors):
    log_in(page, DOCTOR, totp)

    expect(page).to_have_url(path_is("/patients"))
    expect(page.get_by_role("heading", level=1)).to_have_text(translated("My patients"))
    page.get_by_role("link", name=translated("My account")).click()
    facts = page.locator("main dl")
    expect(facts).to_contain_text("Sophie Bernard")
    expect(facts).to_contain_text(f"{translated('Doctor')} (Médecine générale)")
    expect(facts).to_contain_text(translated("RPPS number"))
    assert_no_console_errors(console_errors)


def test_wrong_password_shows_the_generic_error_and_the_form_again(
    page, javascript, console_errors
):
    page.goto("/login")
    submit_first_step(page, WRONG_PASSWORD, password="Not-the-password-2026")

    expect(page.get_by_role("alert")).to_have_text(translated(LOGIN_ERROR))
    expect(page).to_have_url(path_is("/login"))
    assert_layout(page)
    login_field = page.get_by_label(translated("E-mail address or mobile number"), exact=True)
    expect(login_field).to_have_value(WRONG_PASSWORD)  # kept, so only the password is retyped
    expect(page.get_by_label(translated("Password"), exact=True)).to_have_value("")
    expect(page.get_by_role("button", name=translated("Continue"))).to_be_visible()
    if javascript:
        assert_accessible(page)
    # The portal answers 400 to the failed login, which Chromium logs; nothing else may fail.
    assert_no_console_errors(
        [e for e in console_errors if not (e.url == page.url and "status of 400" in e.text)]
    )


def test_the_login_form_works_with_the_keyboard_alone(new_page, totp):
    page = new_page()  # JavaScript on: what most people have, htmx boosting the forms
    errors = record_console_errors(page)
    page.goto("/login")

    focus_by_tabbing(page, "login")
    page.keyboard.type(KEYBOARD)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(path_is("/login/code"))
    focus_by_tabbing(page, "code")
    page.keyboard.type(totp.code(KEYBOARD))
    page.keyboard.press("Enter")

    expect(page).to_have_url(path_is("/patients"))
    expect(page.get_by_role("button", name=translated("Log out"))).to_be_visible()
    assert_no_console_errors(errors)


# --- accessibility --------------------------------------------------------------------------


def test_login_and_account_pages_are_accessible(new_page, totp):
    page = new_page()  # axe needs JavaScript
    page.goto("/password/forgot")
    assert_layout(page)
    assert_accessible(page)

    page.goto("/login")
    assert_accessible(page)
    submit_first_step(page, ACCESSIBILITY)
    expect(page).to_have_url(path_is("/login/code"))
    assert_accessible(page)
    page.get_by_label(translated("Code"), exact=True).fill(totp.code(ACCESSIBILITY))
    page.get_by_role("button", name=translated("Log in")).click()

    expect(page).to_have_url(A_DOSSIER)
    assert_accessible(page)
    page.get_by_role("link", name=translated("My account")).click()
    expect(page).to_have_url(path_is("/account"))
    assert_accessible(page)

    page.get_by_role("link", name=translated("My sessions: where my account is open")).click()
    expect(page).to_have_url(path_is("/account/sessions"))
    assert_layout(page)
    expect(page.get_by_role("listitem").filter(has_text=translated("this session"))).to_be_visible()
    assert_accessible(page)

    page.goto("/account/password")
    assert_layout(page)
    page.get_by_label(translated("Current password"), exact=True).fill("Not-my-password-2026")
    page.get_by_label(translated("New password"), exact=True).fill("Une phrase assez longue")
    page.get_by_label(translated("New password, again"), exact=True).fill("Une phrase assez longue")
    page.get_by_role("button", name=translated("Change my password")).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(translated("This is not your current password."))
    expect(page.get_by_label(translated("Current password"), exact=True)).to_have_attribute(
        "aria-invalid", "true"
    )
    assert_accessible(page)


def test_administrator_pages_are_accessible(new_page, totp):
    page = new_page()
    log_in(page, ADMINISTRATOR, totp)

    expect(page).to_have_url(path_is("/admin/accounts"))
    assert_layout(page)
    expect(page.get_by_role("cell", name=ADMINISTRATOR)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=translated("Open a professional or staff account")).click()
    expect(page).to_have_url(path_is("/admin/accounts/new"))
    assert_layout(page)
    assert_accessible(page)


def test_enrolment_page_is_accessible(new_page, enrolling_account):
    page = new_page()
    page.goto("/login")
    submit_first_step(page, enrolling_account)

    expect(page).to_have_url(path_is("/login/enrol"))
    assert_layout(page)
    expect(
        page.get_by_role(
            "img", name=translated("QR code to scan with your authenticator application")
        )
    ).to_be_visible()
    assert_accessible(page)


# --- a small phone --------------------------------------------------------------------------


def assert_fits_the_width(page: Page) -> None:
    """Nothing wider than the screen: reading never needs scrolling sideways."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


def test_login_and_account_pages_fit_a_small_phone(new_page, totp, enrolling_account):
    page = new_page(viewport=PHONE)
    page.goto("/login")
    assert_fits_the_width(page)
    submit_first_step(page, enrolling_account)
    expect(page).to_have_url(path_is("/login/enrol"))
    assert_fits_the_width(page)

    page.goto("/login")
    submit_first_step(page, SMALL_SCREEN)
    expect(page).to_have_url(path_is("/login/code"))
    assert_fits_the_width(page)
    page.get_by_label(translated("Code"), exact=True).fill(totp.code(SMALL_SCREEN))
    page.get_by_role("button", name=translated("Log in")).click()
    expect(page).to_have_url(path_is("/patients"))
    for path in (
        "/patients",
        "/account",
        "/account/sessions",
        "/account/password",
        "/password/forgot",
    ):
        page.goto(path)
        assert_fits_the_width(page)

    page = new_page(viewport=PHONE)
    log_in(page, ADMINISTRATOR, totp)
    for path in ("/admin/accounts", "/admin/accounts/new"):
        page.goto(path)
        assert_fits_the_width(page)
