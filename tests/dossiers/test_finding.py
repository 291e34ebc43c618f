"""Finding a document: the timeline of the dossier, narrowed by words (whatever their case
and accents), category, author and period, a page at a time, without JavaScript; and never
a document, nor a count, that the person may not read."""

from __future__ import annotations

import re
from datetime import date

from tests.access.conftest import add_document, dossier_of, join, signed_in_browser
from tests.identity.conftest import new_patient, new_professional

TITLE = re.compile(r'/documents/[0-9a-f-]{36}">([^<]+)</a>')


def titles(page: str) -> list[str]:
    return TITLE.findall(page)


async def test_words_find_a_document_whatever_their_case_and_accents(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    await add_document(dossier, title="Échographie cardiaque", body="Ventricule gauche normal.")
    await add_document(dossier, title="Radiographie du genou", body="Pas de fracture.")
    browser = await signed_in_browser(new_browser, alice)
    found = await browser.get(f"/dossiers/{dossier}/documents?q=ECHOGRAPHIE")
    assert titles(found.text) == ["Échographie cardiaque"]
    in_the_text = await browser.get(f"/dossiers/{dossier}/documents?q=fracture genou")
    assert titles(in_the_text.text) == ["Radiographie du genou"]
    nothing = await browser.get(f"/dossiers/{dossier}/documents?q=fracture coeur")
    assert titles(nothing.text) == []
    assert "Aucun document ne correspond" in nothing.text


async def test_category_author_and_period_narrow_the_timeline(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    doctor = await new_professional(first_name="Karim", last_name="Garcia")
    await add_document(dossier, title="Consultation de mars", author=doctor,
                       care_date=date(2026, 3, 2))  # fmt: skip
    await add_document(dossier, title="Consultation de juin", author=doctor,
                       care_date=date(2026, 6, 2))  # fmt: skip
    await add_document(dossier, "imagerie", title="IRM du genou", care_date=date(2026, 6, 5))
    browser = await signed_in_browser(new_browser, alice)
    base = f"/dossiers/{dossier}/documents"
    assert titles((await browser.get(base)).text) == [
        "IRM du genou", "Consultation de juin", "Consultation de mars"
    ]  # fmt: skip
    assert titles((await browser.get(f"{base}?category=imagerie")).text) == ["IRM du genou"]
    assert titles((await browser.get(f"{base}?author=garcia")).text) == [
        "Consultation de juin", "Consultation de mars"
    ]  # fmt: skip
    june = await browser.get(f"{base}?start=2026-06-01&end=2026-06-30")
    assert titles(june.text) == ["IRM du genou", "Consultation de juin"]


async def test_bad_filters_are_explained(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    browser = await signed_in_browser(new_browser, alice)
    base = f"/dossiers/{dossier}/documents"
    wrong_date = await browser.get(f"{base}?start=31/02/2026")
    assert wrong_date.status_code == 400
    assert 'id="start-error"' in wrong_date.text
    reversed_period = await browser.get(f"{base}?start=2026-06-01&end=2026-01-01")
    assert reversed_period.status_code == 400
    assert 'id="end-error"' in reversed_period.text
    unknown = await browser.get(f"{base}?category=<script>")
    assert unknown.status_code == 400
    assert "<script>" not in unknown.text


async def test_a_long_timeline_comes_a_page_at_a_time(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    for day in range(1, 31):
        await add_document(dossier, title=f"Séance {day:02d}", care_date=date(2026, 1, day))
    browser = await signed_in_browser(new_browser, alice)
    first = await browser.get(f"/dossiers/{dossier}/documents")
    assert len(titles(first.text)) == 25
    assert titles(first.text)[0] == "Séance 30"
    assert "page=2" in first.text
    second = await browser.get(f"/dossiers/{dossier}/documents?page=2")
    assert titles(second.text) == [f"Séance {day:02d}" for day in range(5, 0, -1)]
    overview = await browser.get(f"/dossiers/{dossier}")
    assert len(titles(overview.text)) == 5
    assert "(30)" in overview.text


async def test_nobody_finds_what_they_may_not_read(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    dentist = await new_professional(first_name="Dora", profession="chirurgien_dentiste")
    await join(dossier, dentist)
    await add_document(dossier, "plan_soins", title="Plan de soins infirmiers du genou")
    await add_document(dossier, title="Consultation psychiatrique du genou", masked=True)
    await add_document(dossier, title="Détartrage du genou")
    browser = await signed_in_browser(new_browser, dentist)
    page = await browser.get(f"/dossiers/{dossier}/documents?q=genou")
    assert titles(page.text) == ["Détartrage du genou"]
    assert "plan_soins" not in page.text  # not even as a category to choose, with its count
    assert (
        await browser.get(f"/dossiers/{dossier}/documents?category=plan_soins")
    ).status_code == 400
