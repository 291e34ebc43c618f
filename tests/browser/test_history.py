"""The patient's access history in a real browser, on a 360 × 640 phone: Dr Garcia reads
Camille's summary and two documents, and Camille reads, in one line, who read what (a document
still hidden from her named only as pending), then opens the visit to its detail; the trail
checks out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import log_in, run_carnet, translated
from .pages import checked, journey_page

pytestmark = pytest.mark.browser

CAMILLE = "camille.martin@demo.carnet.fr"
GARCIA = "dr.garcia@demo.carnet.fr"
NBSP = "\u00a0"


def test_camille_reads_what_dr_garcia_read_at_his_visit(new_page, portal, totp):
    garcia = new_page(javascript=True)
    log_in(garcia, GARCIA, totp)
    garcia.get_by_role("link", name="Martin Camille").click()
    expect(garcia.get_by_role("heading", level=1)).to_have_text(
        translated("Record of %(name)s") % {"name": "Camille Martin"}
    )
    record = garcia.url
    garcia.goto(f"{record}/summary")
    expect(garcia.get_by_role("heading", level=1)).to_be_visible()
    for title in ("Consultation de cardiologie", "Analyse d'un grain de beauté retiré"):
        garcia.goto(f"{record}/documents")
        garcia.get_by_role("link", name=title).click()
        expect(garcia.get_by_role("heading", level=1)).to_contain_text(title)

    camille = journey_page(new_page, True, "history")
    log_in(camille, CAMILLE, totp)
    camille.goto(record)
    camille.get_by_role("link", name=translated("Who accessed my record")).click()
    visit = camille.locator("ol.history summary", has_text="Karim Garcia").first
    cardiology = f"«{NBSP}Consultation de cardiologie{NBSP}» (soins du 03/06/2026)"
    expect(visit).to_contain_text(
        re.compile(f"^Dr Karim Garcia, médecin — le .* à [0-9]{{2}}:[0-9]{{2}}{NBSP}: le dossier")
    )
    expect(visit).to_contain_text("la synthèse médicale")
    expect(visit).to_contain_text(
        f"2 documents{NBSP}: {cardiology}, un document en attente d’annonce"
    )
    expect(camille.get_by_text("grain de beauté")).to_have_count(0)  # not yet announced
    checked(camille, "history")

    visit.click()  # opens to the detail
    expect(camille.get_by_text(f"a consulté le document {cardiology}").first).to_be_visible()
    checked(camille, "history-visit")

    assert "The audit trail is intact." in run_carnet(portal, "audit", "verify")
