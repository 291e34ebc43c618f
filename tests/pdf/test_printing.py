"""What people print most: the whole dossier as its reader may see it (a masked document stays
out of the cardiologist's export, each section's heading once, the summary said to be out of
reach of a reader refused it), the one-page consultation view, and the emergency card with the
lines the patient chose, on one A4 sheet with the wallet card to cut out."""

from __future__ import annotations

import io
from datetime import date

from pypdf import PdfReader

from portal.dossiers.printing import Line, card_size
from portal.dossiers.tables import Dossier, PreparedPdf
from portal.identity.tables import Role
from tests.access.conftest import (
    add_document,
    dossier_of,
    join,
    post_form,
    signed_in_browser,
    trail,
)
from tests.conftest import sqlite_only, translated
from tests.dossiers.test_profile import GOOD
from tests.identity.conftest import new_patient, new_professional
from tests.pdf.test_render_pdf import text_of

#: A4 in PDF points (1/72 inch): 210 × 297 mm.
A4 = (595.28, 841.89)


def pages_of(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's width and height, in points."""
    return [
        (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2))
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def fr(message: str) -> str:
    """``message`` in French, its spaces as `text_of` reads them (non-breaking ones too)."""
    return " ".join(translated("fr", message).split())


async def camille_and_her_doctors(new_browser):
    """A patient whose médecin traitant wrote her allergies and treatments, with a cardiologist
    in her circle, a masked psychiatric report and a cardiology report."""
    camille = await new_patient(first_name="Camille", last_name="Martin")
    gp = await new_professional(first_name="Anne", last_name="Bernard")
    cardiologist = await new_professional(first_name="Marc", last_name="Garcia")
    dossier = await dossier_of(camille, medecin_traitant=gp.id)
    await join(dossier, cardiologist)
    await add_document(dossier, author=gp, title="Consultation de psychiatrie", masked=True)
    await add_document(dossier, author=cardiologist, title="Échographie cardiaque")
    doctor = await signed_in_browser(new_browser, gp)
    for section, values in (
        (
            "allergies",
            {"substance-0": "Pénicilline", "reaction-0": "Urticaire", "severity-0": "moderee"},
        ),
        ("treatments", {"treatments": "Lévothyroxine 75 µg le matin"}),
    ):
        page = f"/dossiers/{dossier}/summary/sections/{section}"
        assert (await doctor.open_and_submit(page, page, values)).status_code == 303
    patient = await signed_in_browser(new_browser, camille)
    profile = f"/dossiers/{dossier}/profile"
    assert (await patient.open_and_submit(profile, profile, GOOD)).status_code == 303
    return dossier, patient, await signed_in_browser(new_browser, cardiologist), cardiologist


async def test_each_reader_exports_what_they_may_read(portal, new_browser):
    dossier, patient, cardiologist, cardiologist_person = await camille_and_her_doctors(new_browser)

    own = await patient.get(f"/dossiers/{dossier}/export.pdf")
    assert own.status_code == 200
    assert own.headers["content-disposition"] == 'attachment; filename="dossier-Camille-Martin.pdf"'
    text = text_of(own.content)
    for expected in ("Camille Martin", "Synthèse médicale", "Pénicilline", "Lévothyroxine",
                     "Consultation de psychiatrie", "Échographie cardiaque"):  # fmt: skip
        assert expected in text, expected

    theirs = text_of((await cardiologist.get(f"/dossiers/{dossier}/export.pdf")).content)
    assert "Échographie cardiaque" in theirs
    assert "Consultation de psychiatrie" not in theirs  # masked by the patient
    [printed] = [e for e in await trail(dossier, cardiologist_person) if e["action"] == "print"]
    assert printed["outcome"] == "allowed"
    history = (await patient.get(f"/dossiers/{dossier}/history")).text
    assert "<strong>Dr Marc Garcia, médecin</strong>" in history
    assert "a imprimé le dossier complet, en PDF" in history

    stranger = await signed_in_browser(new_browser, await new_professional(last_name="Autre"))
    assert (await stranger.get(f"/dossiers/{dossier}/export.pdf")).status_code == 404


async def test_the_emergency_card_holds_only_the_lines_the_patient_chose(portal, new_browser):
    dossier, patient, cardiologist, _person = await camille_and_her_doctors(new_browser)
    page = (await patient.get(f"/dossiers/{dossier}/emergency-card")).text
    for line in ("A+", "Pénicilline", "Lévothyroxine", "Paul Martin (frère)\u00a0: 06 12 34 56 78"):
        assert line in page, line

    whole = (await patient.get(f"/dossiers/{dossier}/emergency-card.pdf")).content
    assert pages_of(whole) == [A4]  # one sheet: the lines at the top, the card to cut out below
    text = text_of(whole)
    for line in ("Pénicilline", "Lévothyroxine", "Paul Martin"):
        assert text.count(line) == 2, line  # on the sheet, and on the card
    assert fr("Emergency card").upper() in text  # the card's own title

    chosen = await patient.submit(
        f"/dossiers/{dossier}/emergency-card",
        {"shown": ["core.blood_group", "core.allergies"]},
    )
    assert chosen.status_code == 303
    card = text_of((await patient.get(f"/dossiers/{dossier}/emergency-card.pdf")).content)
    assert "A+" in card
    assert "Pénicilline" in card
    assert "Lévothyroxine" not in card
    assert "Paul Martin" not in card

    # A professional of the circle prints the same card, and cannot change it.
    theirs = text_of((await cardiologist.get(f"/dossiers/{dossier}/emergency-card.pdf")).content)
    assert "Pénicilline" in theirs
    assert "Lévothyroxine" not in theirs
    refused = await post_form(
        cardiologist, f"/dossiers/{dossier}/emergency-card", shown="core.treatments"
    )
    assert refused.status_code == 403


def test_the_card_to_cut_out_takes_smaller_type_as_its_lines_grow():
    def lines(count: int, value: str) -> list[Line]:
        return [Line(f"core.{number}", "Allergies", value) for number in range(count)]

    assert card_size(lines(4, "pénicilline (urticaire, modérée)")) == "large"
    assert card_size(lines(20, "pénicilline (urticaire, modérée)")) == "roomy"
    assert card_size(lines(12, "Lévothyroxine 75 µg, un comprimé le matin à jeun" * 2)) == "full"
    assert card_size(lines(15, "Lévothyroxine 75 µg, un comprimé le matin à jeun" * 2)) == "dense"
    assert card_size(lines(60, "x" * 300)) == "dense"  # the smallest type, whatever comes


async def test_a_new_line_shows_on_the_card_until_the_patient_takes_it_off(portal, new_browser):
    camille = await new_patient()
    dossier = await dossier_of(camille)
    patient = await signed_in_browser(new_browser, camille)
    await patient.get(f"/dossiers/{dossier}/emergency-card")
    await post_form(patient, f"/dossiers/{dossier}/emergency-card")  # nothing to show yet
    profile = f"/dossiers/{dossier}/profile"
    await patient.open_and_submit(profile, profile, GOOD)
    card = text_of((await patient.get(f"/dossiers/{dossier}/emergency-card.pdf")).content)
    assert "A+" in card


async def test_a_samu_regulator_reads_the_card_s_emergency_lines(portal, new_browser):
    dossier, _patient, _cardiologist, _person = await camille_and_her_doctors(new_browser)
    regulator = await signed_in_browser(
        new_browser, await new_professional(role=Role.SAMU_REGULATOR, last_name="Roux")
    )
    row = await Dossier.select(Dossier.patient.nir.as_alias("nir")).where(Dossier.id == dossier)
    await regulator.open_and_submit("/patients", "/patients/lookup", {"nir": row[0]["nir"]})
    opened = await regulator.submit("/patients/samu", {"reference": "SAMU75-2026-004217"})
    assert opened.status_code == 303
    page = (await regulator.get(f"/dossiers/{dossier}/emergency-card")).text
    assert "Pénicilline" in page
    assert "A+" not in page  # the patient's own space is not emergency-relevant


async def test_with_javascript_the_export_is_prepared_then_downloaded_once(portal, new_browser):
    dossier, patient, _cardiologist, _person = await camille_and_her_doctors(new_browser)
    page = (await patient.get(f"/dossiers/{dossier}")).text
    assert f'hx-get="/dossiers/{dossier}/prepare-export.pdf"' in page
    before = len(await trail(dossier))

    prepared = await patient.get(
        f"/dossiers/{dossier}/prepare-export.pdf", headers={"hx-request": "true"}
    )
    assert prepared.status_code == 200
    download = prepared.headers["hx-redirect"]
    assert download.startswith(f"/dossiers/{dossier}/export.pdf?prepared=")
    assert len(await trail(dossier)) == before  # nothing has left the server yet
    assert await PreparedPdf.count() == 1

    answer = await patient.get(download)
    assert answer.headers["content-type"] == "application/pdf"
    assert "Consultation de psychiatrie" in text_of(answer.content)
    assert await PreparedPdf.count() == 0  # handed over once
    assert [event["action"] for event in await trail(dossier)][before:] == ["print"]

    # Someone else cannot take it; a stale link simply makes the PDF again.
    again = await patient.get(download)
    assert again.headers["content-type"] == "application/pdf"
    without_javascript = await patient.get(f"/dossiers/{dossier}/prepare-export.pdf")
    assert without_javascript.headers["content-type"] == "application/pdf"


async def test_a_refused_preparation_is_traced(portal, new_browser):
    dossier, _patient, _cardiologist, _person = await camille_and_her_doctors(new_browser)
    stranger_person = await new_professional(last_name="Autre")
    stranger = await signed_in_browser(new_browser, stranger_person)
    answer = await stranger.get(
        f"/dossiers/{dossier}/prepare-export.pdf", headers={"hx-request": "true"}
    )
    assert answer.status_code == 404
    assert [event["outcome"] for event in await trail(dossier, stranger_person)] == ["refused"]
    assert await PreparedPdf.count() == 0


@sqlite_only
async def test_each_section_s_heading_is_printed_once_in_the_whole_dossier(portal, new_browser):
    camille = await new_patient(first_name="Camille", last_name="Martin")
    dossier = await dossier_of(camille)
    patient = await signed_in_browser(new_browser, camille)
    text = text_of((await patient.get(f"/dossiers/{dossier}/export.pdf")).content)
    for title in ("Vaccinations", "Organ donation", "End-of-life wishes"):
        assert text.count(fr(title)) == 1, title


@sqlite_only
async def test_a_reader_refused_the_summary_reads_so_in_the_whole_dossier(portal, new_browser):
    dossier, patient, _cardiologist, _person = await camille_and_her_doctors(new_browser)
    occupational = await new_professional(last_name="Simon", profession="medecin_du_travail")
    await join(dossier, occupational)
    reader = await signed_in_browser(new_browser, occupational)
    text = text_of((await reader.get(f"/dossiers/{dossier}/export.pdf")).content)
    refused = "Medical summary not accessible: your access to this record does not include it."
    assert fr(refused) in text
    assert fr("No summary yet.") not in text
    assert "Pénicilline" not in text
    own = text_of((await patient.get(f"/dossiers/{dossier}/export.pdf")).content)
    assert fr(refused) not in own


@sqlite_only
async def test_the_consultation_view_is_one_page_with_allergies_first(portal, new_browser):
    dossier, _patient, cardiologist, cardiologist_person = await camille_and_her_doctors(
        new_browser
    )
    for number in range(12):
        await add_document(
            dossier, title=f"Compte rendu {number:02d}", care_date=date(2026, 1, number + 1)
        )
    answer = await cardiologist.get(f"/dossiers/{dossier}/consultation.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == (
        'attachment; filename="consultation-Camille-Martin.pdf"'
    )
    assert pages_of(answer.content) == [A4]
    text = text_of(answer.content)
    order = [fr("Allergies and intolerances"), "Pénicilline", fr("Long-term treatments"),
             "Lévothyroxine", fr("Active problems"), fr("Latest documents")]  # fmt: skip
    assert [text.index(part) for part in order] == sorted(text.index(part) for part in order)
    assert "Anne Bernard" in text  # the médecin traitant
    assert "Échographie cardiaque" in text
    assert "Compte rendu 11" in text
    assert "Compte rendu 05" in text
    assert "Compte rendu 04" not in text
    assert "Consultation de psychiatrie" not in text  # masked by the patient
    [printed] = [e for e in await trail(dossier, cardiologist_person) if e["action"] == "print"]
    assert (printed["outcome"], printed["target_id"]) == ("allowed", "pdf/consultation.html")
    stranger = await signed_in_browser(new_browser, await new_professional(last_name="Autre"))
    assert (await stranger.get(f"/dossiers/{dossier}/consultation.pdf")).status_code == 404
