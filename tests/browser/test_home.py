"""The home page and the error page in a real browser, with and without JavaScript."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import (
    assert_accessible,
    assert_layout,
    assert_no_console_errors,
    translated,
)

pytestmark = pytest.mark.browser

HOME_TITLE = "Your health record"
HOME_HEADING = "Your health record, in your hands"


def test_home_page_is_in_french(page, javascript, console_errors):
    response = page.goto("/")

    assert response.status == 200
    assert translated(HOME_HEADING) != HOME_HEADING, "no French catalog: run make translations"
    assert_layout(page, "fr")
    assert page.title() == f"{translated(HOME_TITLE)} · Carnet"
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(HOME_HEADING))
    expect(page.get_by_role("link", name=translated("Skip to main content"))).to_be_attached()
    if javascript:  # htmx came from /static under the CSP, and set itself up
        assert page.evaluate("typeof window.htmx") == "object"
    assert_no_console_errors(console_errors)


@pytest.mark.parametrize(
    ("locale", "language"),
    [("fr-FR", "fr"), ("en-GB", "en"), ("de-DE", "fr")],
    ids=["french-browser", "english-browser", "other-language-gets-default"],
)
def test_home_page_follows_the_browser_language(new_page, locale, language):
    page = new_page(javascript=False, locale=locale)  # negotiated by the server alone
    page.goto("/")

    assert_layout(page, language)
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(HOME_HEADING, language))


def test_language_switch(page, console_errors):
    page.goto("/")

    page.get_by_role("button", name="English").click()

    # The whole document changes language, <html lang> included: a full page load, even with
    # htmx (a boosted swap would keep the old lang attribute).
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(translated(HOME_HEADING, "en"))
    expect(page.get_by_role("status")).to_have_text(translated("Language changed.", "en"))
    assert_layout(page, "en")
    page.reload()  # the choice is remembered, and the message shown only once
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("status")).to_have_count(0)
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert_no_console_errors(console_errors)


def test_home_page_is_accessible(new_page):
    page = new_page()  # axe needs JavaScript; htmx does not change the markup as served
    page.goto("/")
    assert_accessible(page)

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("status")).to_be_visible()  # the flash message, checked as well
    assert_accessible(page)


def test_not_found_page(page, console_errors):
    response = page.goto("/does-not-exist")

    assert response.status == 404
    assert_layout(page, "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text(translated("Page not found"))
    expect(page.get_by_role("link", name=translated("Back to the home page"))).to_be_visible()
    # Chromium logs the page's own 404 as an error; nothing else may fail.
    assert_no_console_errors([error for error in console_errors if error.url != page.url])


def test_not_found_page_is_accessible(new_page):
    page = new_page()
    page.goto("/does-not-exist")
    assert_accessible(page)
