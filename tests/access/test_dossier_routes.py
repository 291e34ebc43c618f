"""The dossier's overview and document pages show each person what they may read and nothing
else: a profession reads its categories, a masked document is seen only by the patient, its
author and the médecin traitant (even in emergency access), a result hidden until announced
reaches the patient when its time comes, and a minor's confidential care stays out of the
representatives' sight. The patient masks and unmasks, and the next request of a professional
shows it. Every refusal is in the dossier's audit trail, and the overview leaves only once
its trace is committed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

from portal.access.tables import CircleMember
from portal.access.view import DossierView
from portal.dossiers.tables import Document, Dossier
from tests.access.conftest import (
    add_document,
    dossier_of,
    join,
    open_in_emergency,
    post_form,
    refusals,
    represent,
    signed_in_browser,
    trail,
)
from tests.conftest import translated
from tests.dossiers.test_profile import GOOD
from tests.identity.conftest import Browser, Person, new_patient, new_professional

REASON = "Patiente inconsciente aux urgences, pronostic vital engagé"


def fr(message: str) -> str:
    return translated("fr", message)


def page_of(dossier: UUID, document: UUID) -> str:
    return f"/dossiers/{dossier}/documents/{document}"


async def listed(browser: Browser, dossier: UUID) -> str:
    """The dossier's overview as ``browser`` sees it (it must open)."""
    overview = await browser.get(f"/dossiers/{dossier}")
    assert overview.status_code == 200, overview.status_code
    return overview.text


async def is_masked(document: UUID) -> bool:
    row = await Document.select(Document.masked).where(Document.id == document).first()
    return row["masked"]


async def refused_documents(dossier: UUID, person: Person) -> list[tuple[str, str]]:
    return [
        (event["target_id"], event["reason"])
        for event in await refusals(dossier, person)
        if event["target_type"] == "document"
    ]


# --- what a profession reads ----------------------------------------------------------------


async def test_the_overview_lists_what_the_profession_reads_and_nothing_else(portal, new_browser):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    report = await add_document(dossier, "compte_rendu", title="Compte rendu de consultation")
    xray = await add_document(dossier, "imagerie", title="Panoramique dentaire")
    await add_document(dossier, "plan_soins", title="Plan de soins infirmiers")
    dentist = await new_professional(profession="chirurgien_dentiste")
    await join(dossier, dentist)
    browser = await signed_in_browser(new_browser, dentist)

    overview = await listed(browser, dossier)
    assert "Alice Roux" in overview
    assert "Compte rendu de consultation" in overview
    assert "Panoramique dentaire" in overview
    assert "Plan de soins infirmiers" not in overview
    for document in (report, xray):
        page = await browser.get(page_of(dossier, document))
        assert page.status_code == 200
    assert "Texte du document imagerie" in page.text


async def test_a_new_record_says_where_to_start_until_it_is_done(portal, new_browser):
    patient = await new_patient()
    doctor = await new_professional()
    dossier = await dossier_of(patient)
    await join(dossier, doctor)
    browser = await signed_in_browser(new_browser, patient)
    start = fr("This record is new: where to start")
    overview = await listed(browser, dossier)
    assert start in overview
    assert fr("Choose the médecin traitant") in overview
    assert fr("Add the people to call in an emergency") in overview
    assert start not in await listed(await signed_in_browser(new_browser, doctor), dossier)

    profile = f"/dossiers/{dossier}/profile"
    await browser.open_and_submit(profile, profile, GOOD)
    overview = (await browser.get(f"/dossiers/{dossier}")).text
    assert fr("Add the people to call in an emergency") not in overview
    assert fr("Choose the médecin traitant") in overview
    await Dossier.update({Dossier.medecin_traitant: doctor.id}).where(Dossier.id == dossier)
    assert start not in (await browser.get(f"/dossiers/{dossier}")).text


async def test_the_overview_is_read_while_its_trace_is_committed_and_sent_after(
    portal, new_browser, monkeypatch
):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    doctor = await new_professional()
    await join(dossier, doctor)
    browser = await signed_in_browser(new_browser, doctor)
    happened: list[str] = []
    trace, documents = DossierView.trace, DossierView.documents

    async def slow_trace(self, *args, **kwargs):
        await asyncio.sleep(0.05)  # a commit that waits on the disk
        await trace(self, *args, **kwargs)
        happened.append("traced")

    async def read_documents(self, category=None):
        happened.append("read")
        return await documents(self, category)

    monkeypatch.setattr(DossierView, "trace", slow_trace)
    monkeypatch.setattr(DossierView, "documents", read_documents)
    assert "Alice Roux" in await listed(browser, dossier)
    happened.append("answered")

    assert happened == ["read", "traced", "answered"]
    assert [event["action"] for event in await trail(dossier, doctor)][-1:] == ["view"]


async def test_an_overview_whose_trace_fails_is_not_sent(portal, new_browser, monkeypatch, caplog):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    doctor = await new_professional()
    await join(dossier, doctor)
    browser = await signed_in_browser(new_browser, doctor)

    async def failing_trace(self, *args, **kwargs):
        await asyncio.sleep(0)
        raise OSError("disk full")

    monkeypatch.setattr(DossierView, "trace", failing_trace)
    overview = await browser.get(f"/dossiers/{dossier}")

    assert overview.status_code == 503  # the database failed: fail closed
    assert "Roux" not in overview.text
    assert "disk full" in caplog.text


async def test_a_document_the_profession_does_not_read_does_not_exist_for_them(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    care_plan = await add_document(dossier, "plan_soins", title="Plan de soins infirmiers")
    dentist = await new_professional(profession="chirurgien_dentiste")
    await join(dossier, dentist)
    browser = await signed_in_browser(new_browser, dentist)

    page = await browser.get(page_of(dossier, care_plan))
    assert page.status_code == 404
    assert "Plan de soins infirmiers" not in page.text
    assert [target for target, _reason in await refused_documents(dossier, dentist)] == [
        str(care_plan)
    ]


# --- masks ----------------------------------------------------------------------------------


async def masked_dossier(author: Person | None = None, **facts) -> tuple[Person, UUID, UUID, UUID]:
    """A patient's dossier (``facts``: its columns) with an ordinary report and a masked one:
    (patient, dossier, report, masked report)."""
    alice = await new_patient()
    dossier = await dossier_of(alice, **facts)
    report = await add_document(dossier, title="Compte rendu de cardiologie")
    masked = await add_document(
        dossier, title="Compte rendu de psychiatrie", author=author, masked=True
    )
    return alice, dossier, report, masked


async def test_a_masked_document_is_hidden_from_a_doctor_of_the_circle(portal, new_browser):
    _alice, dossier, report, masked = await masked_dossier()
    doctor = await new_professional()
    await join(dossier, doctor)
    browser = await signed_in_browser(new_browser, doctor)

    overview = await listed(browser, dossier)
    assert "Compte rendu de cardiologie" in overview
    assert "Compte rendu de psychiatrie" not in overview
    assert (await browser.get(page_of(dossier, report))).status_code == 200
    page = await browser.get(page_of(dossier, masked))
    assert page.status_code == 404
    assert "psychiatrie" not in page.text
    assert await refused_documents(dossier, doctor) == [(str(masked), "masked by the patient")]


async def test_a_masked_document_stays_hidden_in_emergency_access(portal, new_browser):
    alice, dossier, report, masked = await masked_dossier()
    urgentist = await new_professional(first_name="Inès", last_name="Faure")
    browser = await signed_in_browser(new_browser, urgentist)
    opened = await open_in_emergency(browser, alice, REASON)
    assert opened.status_code == 303

    overview = await listed(browser, dossier)
    assert "Compte rendu de cardiologie" in overview
    assert "Compte rendu de psychiatrie" not in overview
    assert (await browser.get(page_of(dossier, report))).status_code == 200
    assert (await browser.get(page_of(dossier, masked))).status_code == 404
    assert await refused_documents(dossier, urgentist) == [(str(masked), "masked by the patient")]


async def test_the_patient_the_author_and_the_medecin_traitant_see_a_masked_document(
    portal, new_browser
):
    author = await new_professional(first_name="Paul", last_name="Morel")
    traitant = await new_professional(first_name="Karim", last_name="Garcia")
    alice, dossier, _report, masked = await masked_dossier(author, medecin_traitant=traitant.id)
    await join(dossier, author)
    for person in (alice, author, traitant):
        browser = await signed_in_browser(new_browser, person)
        assert "Compte rendu de psychiatrie" in await listed(browser, dossier), person.first_name
        page = await browser.get(page_of(dossier, masked))
        assert page.status_code == 200, person.first_name
        assert "Compte rendu de psychiatrie" in page.text
        assert await refusals(dossier, person) == []


async def test_the_patient_masks_and_unmasks_and_the_next_request_shows_it(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    report = await add_document(dossier, title="Compte rendu de psychiatrie")
    doctor = await new_professional()
    await join(dossier, doctor)
    patient_browser = await signed_in_browser(new_browser, alice)
    doctor_browser = await signed_in_browser(new_browser, doctor)
    assert (await doctor_browser.get(page_of(dossier, report))).status_code == 200

    await patient_browser.get(page_of(dossier, report))
    masking = await patient_browser.submit(f"{page_of(dossier, report)}/mask")
    assert (masking.status_code, masking.headers["location"]) == (303, page_of(dossier, report))
    assert await is_masked(report)
    assert "Compte rendu de psychiatrie" not in await listed(doctor_browser, dossier)
    assert (await doctor_browser.get(page_of(dossier, report))).status_code == 404

    page = await patient_browser.get(page_of(dossier, report))
    assert f"{page_of(dossier, report)}/unmask" in page.text
    unmasking = await patient_browser.submit(f"{page_of(dossier, report)}/unmask")
    assert unmasking.status_code == 303
    assert not await is_masked(report)
    assert "Compte rendu de psychiatrie" in await listed(doctor_browser, dossier)
    assert (await doctor_browser.get(page_of(dossier, report))).status_code == 200
    changes = [
        (event["action"], event["outcome"])
        for event in await trail(dossier, alice)
        if event["action"] in ("mask", "unmask")
    ]
    assert changes == [("mask", "allowed"), ("unmask", "allowed")]


async def test_a_professional_cannot_mask_and_the_refusal_is_traced(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    report = await add_document(dossier, title="Compte rendu de cardiologie")
    doctor = await new_professional()
    await join(dossier, doctor)
    browser = await signed_in_browser(new_browser, doctor)

    page = await browser.get(page_of(dossier, report))
    assert "/mask" not in page.text
    answer = await post_form(browser, f"{page_of(dossier, report)}/mask")
    assert answer.status_code == 403
    assert not await is_masked(report)
    assert [(event["action"], event["target_id"]) for event in await refusals(dossier, doctor)] == [
        ("mask", str(report))
    ]


async def test_a_professional_asking_for_the_state_a_document_has_is_refused_too(
    portal, new_browser
):
    """Whether or not the document already is as asked, the patient's control is refused to
    a professional, and the trail says so."""
    traitant = await new_professional()
    _alice, dossier, report, masked = await masked_dossier(medecin_traitant=traitant.id)
    browser = await signed_in_browser(new_browser, traitant)

    for document, change in ((report, "unmask"), (masked, "mask")):
        answer = await post_form(browser, f"{page_of(dossier, document)}/{change}")
        assert answer.status_code == 403, change
    assert await is_masked(masked)
    assert not await is_masked(report)
    assert [event["action"] for event in await refusals(dossier, traitant)] == ["unmask", "mask"]


# --- hidden from the patient, hidden from the representatives -------------------------------


async def test_a_result_hidden_until_announced_reaches_the_patient_when_the_time_comes(
    portal, new_browser, clock
):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    biologist = await new_professional(first_name="Paul", last_name="Morel")
    await join(dossier, biologist)
    result = await add_document(
        dossier,
        title="Résultat de biopsie",
        author=biologist,
        hidden_until=clock() + timedelta(days=10),
    )
    patient_browser = await signed_in_browser(new_browser, alice)
    assert "Résultat de biopsie" not in await listed(patient_browser, dossier)
    assert (await patient_browser.get(page_of(dossier, result))).status_code == 404
    assert await refused_documents(dossier, alice) == [
        (str(result), "hidden from the patient until announced")
    ]
    author_browser = await signed_in_browser(new_browser, biologist)
    assert (await author_browser.get(page_of(dossier, result))).status_code == 200

    clock.advance(days=10)
    patient_browser = await signed_in_browser(new_browser, alice)
    assert "Résultat de biopsie" in await listed(patient_browser, dossier)
    assert (await patient_browser.get(page_of(dossier, result))).status_code == 200


async def test_representatives_manage_a_minors_dossier_without_its_confidential_care(
    portal, new_browser
):
    parent = await new_patient(first_name="Camille", last_name="Petit")
    child = await new_patient(first_name="Léo", last_name="Petit")
    dossier = await dossier_of(child)
    await represent(dossier, parent)
    await add_document(dossier, title="Certificat de vaccination")
    confidential = await add_document(
        dossier, title="Consultation de contraception", hidden_from_representatives=True
    )
    pediatrician = await new_professional(first_name="Jeanne", last_name="Lambert")
    browser = await signed_in_browser(new_browser, parent)

    overview = await listed(browser, dossier)
    assert "Léo Petit" in overview
    assert "Certificat de vaccination" in overview
    assert "Consultation de contraception" not in overview
    assert (await browser.get(page_of(dossier, confidential))).status_code == 404
    assert await refused_documents(dossier, parent) == [
        (str(confidential), "hidden from the representatives")
    ]

    await browser.get(f"/dossiers/{dossier}/access/directory?q=Lambert")
    added = await browser.submit(
        f"/dossiers/{dossier}/access/circle", {"professional": str(pediatrician.id)}
    )
    assert added.status_code == 303
    assert await CircleMember.exists().where(
        CircleMember.dossier == dossier, CircleMember.professional == pediatrician.id
    )
    child_browser = await signed_in_browser(new_browser, child)
    assert "Consultation de contraception" in await listed(child_browser, dossier)
