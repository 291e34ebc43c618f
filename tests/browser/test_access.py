"""Who has access, in a real browser, with JavaScript on and off: Camille blocks her dentist,
whose very next click is refused; the demo urgentiste opens Camille's record in emergency
access, and Camille finds it in her notifications and her access history."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portal.demo import DEMO_PEOPLE

from .conftest import log_in, translated
from .pages import checked, journey_page

pytestmark = pytest.mark.browser

CAMILLE = "camille.martin@demo.carnet.fr"
CAMILLE_NIR = DEMO_PEOPLE[0].nir


def record_heading(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(
        translated("Record of %(name)s") % {"name": "Camille Martin"}
    )


def change(page: Page, label: str, name: str, confirm: str) -> None:
    """Click a row's change on the "who has access" page, then confirm it."""
    page.get_by_role("link", name=f"{translated(label)} — {name}").click()
    page.get_by_role("button", name=translated(confirm)).click()


def test_camille_blocks_her_dentist_whose_next_click_is_refused(new_page, javascript, totp):
    dentist = journey_page(new_page, javascript, "dentist")
    log_in(dentist, "dr.moreau@demo.carnet.fr", totp)
    dentist.get_by_role("link", name="Martin Camille").click()
    record_heading(dentist)
    record = dentist.url
    dentist.get_by_role("link", name=re.compile("^Tous les documents")).click()

    camille = journey_page(new_page, javascript, "patient-blocks")
    log_in(camille, CAMILLE, totp)
    camille.get_by_role("link", name=translated("Who has access to my record")).click()
    camille.get_by_role("link", name=f"{translated('Block')} — Claire Moreau").click()
    expect(camille.get_by_text(re.compile("ni même en urgence"))).to_be_visible()
    checked(camille, "block-confirm")
    camille.get_by_role("button", name=translated("Yes, block")).click()
    blocked = translated(
        "%(name)s is blocked: they can no longer open the record, even in an emergency."
    ) % {"name": "Claire Moreau"}
    expect(camille.get_by_role("status")).to_have_text(blocked)
    expect(camille.get_by_role("heading", name=translated("Blocked professionals"))).to_be_visible()
    checked(camille, "blocked")

    dentist.get_by_role("link", name="Soins dentaires : détartrage").click()
    expect(dentist.get_by_role("heading", level=1)).to_have_text(translated("Page not found"))
    checked(dentist, "refused")

    # Camille changes her mind: she unblocks Dr Moreau and gives her access again.
    change(camille, "Unblock", "Claire Moreau", "Yes, unblock")
    camille.get_by_label(translated("Name or RPPS number")).fill("Moreau")
    camille.get_by_role("button", name=translated("Search the directory")).click()
    give = translated("Give %(name)s access") % {"name": "Claire Moreau"}
    camille.get_by_role("button", name=give).click()
    expect(camille.get_by_role("status")).to_have_text(
        translated("%(name)s now has access to the record.") % {"name": "Claire Moreau"}
    )
    dentist.goto(record)
    record_heading(dentist)


def test_the_urgentiste_opens_camilles_record_and_camille_is_told(new_page, javascript, totp):
    reason = "Patiente inconsciente aux urgences après un malaise, aucun proche joignable"
    reason += " (essai avec JavaScript)" if javascript else " (essai sans JavaScript)"
    doctor = journey_page(new_page, javascript, "urgentiste")
    log_in(doctor, "dr.urgence@demo.carnet.fr", totp)
    checked(doctor, "patients")
    doctor.get_by_label(translated("Social security number (NIR)")).fill(CAMILLE_NIR)
    doctor.get_by_role("button", name=translated("Find"), exact=True).click()
    doctor.get_by_label(
        translated("Why the patient's life is at risk and they cannot consent")
    ).fill(reason)
    doctor.get_by_role("button", name=translated("Open in emergency access")).click()
    record_heading(doctor)
    banner = doctor.locator(".emergency-banner")
    expect(banner).to_contain_text(translated("Emergency access"))
    expect(doctor.get_by_text("Consultation de psychiatrie")).to_have_count(0)  # masked
    expect(doctor.get_by_role("link", name="Synthèse médicale", exact=True)).to_be_visible()
    checked(doctor, "emergency-record")
    doctor.get_by_role("link", name=translated("My account")).click()
    expect(banner).to_contain_text("Camille Martin")
    checked(doctor, "account-with-banner")

    camille = journey_page(new_page, javascript, "patient-told")
    log_in(camille, CAMILLE, totp)
    camille.get_by_role("link", name=re.compile(translated("Notifications"))).click()
    expect(camille.get_by_text(reason).first).to_be_visible()
    camille.get_by_role("link", name=translated("My space")).click()
    camille.get_by_role("link", name=translated("Who accessed my record")).click()
    expect(camille.get_by_text(reason).first).to_be_visible()
    checked(camille, "history")
