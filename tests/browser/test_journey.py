"""The README's "five minutes with Carnet", in a real browser, with JavaScript on and off.

The GP finds Camille among her patients by name, and by her NIR, prints her one-page
consultation view, deposits a consultation report from Camille's record and adds an allergy to
her medical summary (a line of its own with "Add an allergy", inline with htmx, on a page of
its own without JavaScript); the cardiologist of Camille's circle reads the report; Camille
finds it by a word of its title and masks it; the cardiologist, whose page is still open, no
longer finds it in her record, and its address answers "page not found".
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from portal.demo import DEMO_PEOPLE
from portal.i18n import translations

from .conftest import log_in, translated
from .pages import checked, journey_page

pytestmark = pytest.mark.browser

CAMILLE = next(person for person in DEMO_PEOPLE if person.first_name == "Camille")
GP = "dr.bernard@demo.carnet.fr"
CARDIOLOGIST = "dr.garcia@demo.carnet.fr"
#: What each run writes, so that the run with JavaScript and the one without each find their
#: own report, whichever runs first.
RUNS = {
    True: {
        "word": "hypertension",
        "title": "Consultation de suivi : hypertension artérielle débutante",
        "substance": "Ibuprofène",
        "reaction": "œdème de Quincke",
    },
    False: {
        "word": "migraine",
        "title": "Consultation de suivi : migraine avec aura",
        "substance": "Latex",
        "reaction": "eczéma de contact",
    },
}


def record_heading(page: Page) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(
        translated("Record of %(name)s") % {"name": "Camille Martin"}
    )


def status(page: Page, message: str):
    """The status message (a flash, or htmx's notice) that starts like ``message``, whose
    ``%(…)s`` parts may be anything."""
    parts = [re.escape(part) for part in re.split(r"%\(\w+\)s", message)]
    return page.get_by_role("status").filter(has_text=re.compile(".+".join(parts)))


def find_camille(gp: Page, javascript: bool) -> None:
    """From "Mes patients": Camille is listed, found among the GP's patients by her name, and
    by her NIR."""
    expect(gp.get_by_role("heading", level=1)).to_have_text(translated("My patients"))
    listed = gp.get_by_role("link", name="Martin Camille")
    expect(listed).to_be_visible()
    checked(gp, "patients")
    gp.get_by_label(translated("Name"), exact=True).fill("camille")
    gp.get_by_role("button", name=translated("Search"), exact=True).click()
    found = translations("fr").ngettext(
        "%(count)s patient found among yours.", "%(count)s patients found among yours.", 1
    )
    expect(gp.get_by_role("status")).to_have_text(found % {"count": 1})
    expect(gp.get_by_role("link", name="Martin Camille")).to_be_visible()
    checked(gp, "patients-found")
    gp.get_by_label(translated("Social security number (NIR)")).fill(CAMILLE.nir)
    gp.get_by_role("button", name=translated("Find"), exact=True).click()
    gp.get_by_role("link", name=translated("Open the record")).click()
    record_heading(gp)


def print_consultation_view(gp: Page) -> None:
    """From Camille's record, the consultation view: one A4 page, her allergies first."""
    with gp.expect_download() as started:
        gp.get_by_role("link", name=translated("Consultation view (PDF, one page)")).click()
    pdf = PdfReader(io.BytesIO(started.value.path().read_bytes()))
    [page] = pdf.pages
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = page.extract_text()
    assert text.index("pénicilline") < text.index("Lévothyroxine")
    record_heading(gp)  # the page stays as it was


def deposit_report(gp: Page, run: dict, javascript: bool) -> str:
    """From Camille's record, "Add a document": a consultation report. Returns its address."""
    gp.get_by_role("link", name=translated("Add a document")).click()
    expect(gp.get_by_role("heading", level=1)).to_have_text(translated("Add a document"))
    checked(gp, "add-document")
    gp.get_by_label(translated("Category"), exact=True).select_option(label=translated("Reports"))
    gp.get_by_label(translated("Type"), exact=True).select_option(
        label=translated("Consultation report")
    )
    gp.get_by_label(translated("Title"), exact=True).fill(run["title"])
    gp.get_by_label(translated("Date of care"), exact=True).fill(
        datetime.now(UTC).date().isoformat()
    )
    gp.get_by_label(translated("Text"), exact=True).fill(
        f"Motif : {run['word']}. Examen clinique sans particularité. Revoir dans trois mois."
    )
    gp.get_by_role("button", name=translated("Add the document")).click()
    expect(status(gp, translated("The document is added to the record."))).to_be_visible()
    expect(gp.get_by_role("heading", level=1)).to_have_text(run["title"])
    return gp.url


def add_allergy(gp: Page, run: dict, javascript: bool) -> None:
    """In the medical summary, the allergies section: the new one on a line of its own, added
    with "Add an allergy"."""
    gp.get_by_role(
        "link", name=translated("Record of %(name)s") % {"name": "Camille Martin"}
    ).click()
    gp.get_by_role("link", name=translated("The whole medical summary")).click()
    expect(gp.get_by_role("heading", level=1)).to_have_text(translated("Medical summary"))
    section = translated("Allergies and intolerances")
    gp.get_by_role("link", name=f"{translated('Edit')} — {section}").click()
    if javascript:  # the form takes the section's place in the page
        expect(gp).to_have_url(re.compile(r"/summary$"))
    else:
        expect(gp).to_have_url(re.compile(r"/summary/sections/allergies$"))
    save = gp.get_by_role("button", name=translated("Save this section"))
    expect(save).to_be_visible()
    checked(gp, "summary-edit")
    rows = gp.locator("#summary-allergies .allergy-row:not(.allergy-head)")
    before = rows.count()
    gp.get_by_role("button", name=translated("Add an allergy")).click()
    expect(rows).to_have_count(before + 1)  # one more line, which takes the focus
    added = rows.last
    expect(added.get_by_label(translated("Substance"))).to_be_focused()
    added.get_by_label(translated("Substance")).fill(run["substance"])
    added.get_by_label(translated("Reaction")).fill(run["reaction"])
    added.get_by_label(translated("Severity")).select_option(label=translated("severe"))
    save.click()
    saved = status(gp, translated("Saved: the summary is now at version %(number)s."))
    expect(saved).to_be_visible()
    expect(gp).to_have_url(re.compile(r"/summary(#summary-allergies)?$"))
    allergies = gp.locator("#summary-allergies")
    expect(allergies.get_by_role("listitem").filter(has_text=run["substance"])).to_be_visible()
    expect(allergies.get_by_role("button", name=translated("Save this section"))).to_have_count(0)
    checked(gp, "summary-saved")
    gp.get_by_role("link", name=translated("Every version and its changes")).click()
    expect(gp.get_by_text(run["substance"]).first).to_be_visible()


def test_a_report_deposited_by_the_gp_and_masked_by_camille(new_page, javascript, totp):
    run = RUNS[javascript]

    gp = journey_page(new_page, javascript, "gp")
    log_in(gp, GP, totp)
    find_camille(gp, javascript)
    checked(gp, "record")
    print_consultation_view(gp)
    report = deposit_report(gp, run, javascript)
    add_allergy(gp, run, javascript)

    # The cardiologist of her circle reads the report.
    cardiologist = journey_page(new_page, javascript, "cardiologist")
    log_in(cardiologist, CARDIOLOGIST, totp)
    cardiologist.get_by_role("link", name="Martin Camille").click()
    record_heading(cardiologist)
    record = cardiologist.url
    expect(cardiologist.get_by_role("link", name=run["title"])).to_be_visible()
    cardiologist.goto(report)
    expect(cardiologist.get_by_role("heading", level=1)).to_have_text(run["title"])

    # Camille finds it by a word of its title, and masks it.
    camille = journey_page(new_page, javascript, "patient-masks")
    log_in(camille, CAMILLE.login, totp)
    record_heading(camille)
    every = translations("fr").ngettext(
        "All documents, and search (%(num)s)", "All documents, and search (%(num)s)", 2
    )
    camille.get_by_role("link", name=re.compile("^" + re.escape(every.split("(")[0]))).click()
    camille.get_by_label(translated("Words in the title or text")).fill(run["word"])
    camille.get_by_role("button", name=translated("Search"), exact=True).click()
    one = translations("fr").ngettext("%(num)s document", "%(num)s documents", 1) % {"num": 1}
    found = camille.get_by_role("status").filter(has_text=re.compile(rf"^{re.escape(one)}\b"))
    expect(found).to_be_visible()
    checked(camille, "documents-found")
    camille.get_by_role("link", name=run["title"]).click()
    camille.get_by_role("button", name=translated("Mask this document")).click()
    masked = translated(
        "The document is masked: only you, its author and your médecin traitant see it now, "
        "even in an emergency."
    )
    expect(status(camille, masked)).to_be_visible()
    expect(camille.get_by_role("button", name=translated("Unmask this document"))).to_be_visible()
    checked(camille, "document-masked")

    # The cardiologist no longer finds it: not in the record, and its address is not found.
    cardiologist.goto(record)
    record_heading(cardiologist)
    expect(cardiologist.get_by_role("link", name=run["title"])).to_have_count(0)
    checked(cardiologist, "record-without-it")
    cardiologist.goto(report)
    expect(cardiologist.get_by_role("heading", level=1)).to_have_text(translated("Page not found"))
    expect(cardiologist.get_by_text(run["title"])).to_have_count(0)
