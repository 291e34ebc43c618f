"""The patient's journey with the keyboard alone (Tab, Enter and Space; never a click), the
focus visible at every stop; and what the back button shows once logged out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error, Page, expect

from portal.demo import DEMO_PASSWORD, DEMO_PEOPLE

from .conftest import translated
from .pages import PHONE, Journey

pytestmark = pytest.mark.browser

CAMILLE = next(person for person in DEMO_PEOPLE if person.first_name == "Camille")
JULES = next(person for person in DEMO_PEOPLE if person.first_name == "Jules")
TAB_LIMIT = 120

#: Whether the focused element shows its focus: an outline or a box-shadow.
_FOCUS_STYLE = """() => {
    const element = document.activeElement;
    const style = getComputedStyle(element);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    return {outline, shadow: style.boxShadow !== "none",
            what: element.outerHTML.slice(0, 120)};
}"""
_FOCUSED = """() => {
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    return {id: element.id, text: (element.innerText || element.value || "").trim(),
            tag: element.tagName};
}"""


def spaced(text: str) -> str:
    """``text`` with each run of spaces as one plain space (French puts non-breaking ones
    before its colons)."""
    return re.sub(r"\s+", " ", text)


def tab_to(page: Page, *, text: str | None = None, element_id: str | None = None) -> None:
    """Press Tab until the focus is on the element whose text starts with ``text`` (a link or
    a button) or whose id is ``element_id``; the focus must be visible there."""
    for _ in range(TAB_LIMIT):
        page.keyboard.press("Tab")
        try:
            focused = page.evaluate(_FOCUSED)
        except Error as error:
            # The key pressed before this call started a navigation, and the old page went
            # away under the Tab: go on in the new one.
            if "Execution context was destroyed" not in error.message:
                raise
            page.wait_for_load_state()
            continue
        if focused is None:
            continue
        if (element_id and focused["id"] == element_id) or (
            text and spaced(focused["text"]).startswith(spaced(text))
        ):
            style = page.evaluate(_FOCUS_STYLE)
            assert style["outline"] or style["shadow"], f"no visible focus on {style['what']}"
            return
    pytest.fail(f"{text or '#' + element_id} not reached after {TAB_LIMIT} presses of Tab")


def heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def test_the_patient_journey_with_the_keyboard_alone(new_page, totp):
    page = new_page(viewport=PHONE)  # JavaScript on, as most people have it
    journey = Journey(page, True, "patient-keyboard")
    page.goto("/login")

    tab_to(page, element_id="login")
    page.keyboard.type(CAMILLE.login)
    tab_to(page, element_id="password")
    page.keyboard.type(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    heading(page, translated("Second step: your code"))
    tab_to(page, element_id="code")
    page.keyboard.type(totp.code(CAMILLE.login))
    page.keyboard.press("Enter")
    record = translated("Record of %(name)s") % {"name": "Camille Martin"}
    heading(page, record)
    journey.check("record")

    # The summary, then a document found and masked.
    tab_to(page, text=translated("The whole medical summary"))
    page.keyboard.press("Enter")
    heading(page, translated("Medical summary"))
    tab_to(page, text=record)  # the link back at the top of every record's page
    page.keyboard.press("Enter")
    heading(page, record)
    tab_to(page, text=translated("All documents, and search (%(num)s)").split("(")[0].strip())
    page.keyboard.press("Enter")
    heading(page, translated("Documents"))
    tab_to(page, element_id="q")
    page.keyboard.type("liaison")
    page.keyboard.press("Enter")
    tab_to(page, text="Lettre de liaison du cabinet")
    page.keyboard.press("Enter")
    heading(page, "Lettre de liaison du cabinet")
    tab_to(page, text=translated("Mask this document"))
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name=translated("Unmask this document"))).to_be_visible()
    journey.check("document-masked")

    # A professional blocked, found in the directory.
    tab_to(page, text=record)
    page.keyboard.press("Enter")
    tab_to(page, text=translated("Who has access to my record"))
    page.keyboard.press("Enter")
    tab_to(page, element_id="q")
    page.keyboard.type("Simon")
    page.keyboard.press("Enter")
    block = translated("Block %(name)s") % {"name": "Anne Simon"}
    tab_to(page, text=block)
    page.keyboard.press("Enter")
    tab_to(page, text=translated("Yes, block"))
    page.keyboard.press("Space")
    blocked = translated(
        "%(name)s is blocked: they can no longer open the record, even in an emergency."
    ) % {"name": "Anne Simon"}
    expect(page.get_by_role("status")).to_have_text(blocked)
    journey.check("blocked")

    # The access history, then the emergency card, downloaded.
    tab_to(page, text=record)
    page.keyboard.press("Enter")
    tab_to(page, text=translated("Who accessed my record"))
    page.keyboard.press("Enter")
    heading(page, translated("Who accessed the record"))
    tab_to(page, text=translated("My space"))
    page.keyboard.press("Enter")
    heading(page, record)
    tab_to(page, text=translated("My emergency card"))
    page.keyboard.press("Enter")
    heading(page, translated("Emergency card"))
    tab_to(page, text=translated("Download the card (PDF)"))
    with page.expect_download() as started:
        page.keyboard.press("Enter")
    assert started.value.path().read_bytes().startswith(b"%PDF-")


def test_after_logout_the_back_button_shows_no_patient_data(new_page, javascript, totp):
    page = new_page(javascript=javascript, viewport=PHONE)
    page.goto("/login")
    page.get_by_label(translated("E-mail address or mobile number"), exact=True).fill(JULES.login)
    page.get_by_label(translated("Password"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=translated("Continue")).click()
    page.get_by_label(translated("Code"), exact=True).fill(totp.code(JULES.login))
    page.get_by_role("button", name=translated("Log in")).click()
    name = f"{JULES.first_name} {JULES.last_name}"
    heading(page, translated("Record of %(name)s") % {"name": name})
    every = translated("All documents, and search (%(num)s)").split("(")[0].strip()
    page.get_by_role("link", name=re.compile("^" + re.escape(every))).click()
    heading(page, translated("Documents"))
    expect(page.get_by_text(name).first).to_be_visible()

    page.get_by_role("button", name=translated("Log out")).click()
    expect(page.get_by_role("status")).to_have_text(translated("You are logged out."))
    for _ in range(2):  # the documents, then the record
        page.go_back()
        expect(
            page.get_by_label(translated("E-mail address or mobile number"), exact=True)
        ).to_be_visible()
        expect(page.get_by_text(JULES.last_name)).to_have_count(0)
        expect(page.get_by_role("button", name=translated("Log out"))).to_have_count(0)
