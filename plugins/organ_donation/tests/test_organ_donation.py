"""The position on organ donation: recorded by the patient's side alone (the patient from 13,
the legal representatives before), read by médecins, kept with its history, made to count
with the register request and the statement for relatives, and shown on the dossier card,
the emergency card and the whole-dossier print."""

from __future__ import annotations

import io
from datetime import date
from types import SimpleNamespace

from pypdf import PdfReader

from plugins.organ_donation.tables import Position, Step
from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from portal.dossiers.tables import Dossier
from portal.identity.tables import Account, Patient, Role
from tests.access.conftest import (
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
from tests.identity.conftest import (
    Person,
    field_error,
    log_in,
    new_patient,
    new_professional,
)

PARTIAL = {
    "stance": "partial_refusal",
    "organ_cornees": "on",
    "organ_peau": "on",
    "purpose_recherche": "on",
    "message": "Pas mes cornées, et rien pour la recherche.",
    "stated_on": "2026-02-20",
}
NO_OBJECTION = {"stance": "no_objection", "wants_to_donate": "on", "stated_on": "2026-01-05"}


def fr(message: str, **names) -> str:
    text = translated("fr", message)
    return text % names if names else text


def text_of(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def page_of(dossier) -> str:
    return f"/dossiers/{dossier}/organ_donation"


async def positions(dossier) -> list[dict]:
    return await Position.select().where(Position.dossier == dossier).order_by(Position.id)


async def born(person, birth_date: date) -> None:
    await Patient.update({Patient.birth_date: birth_date}).where(Patient.account == person.id)


async def test_the_patient_records_a_partial_refusal_that_medecins_alone_read(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    doctor = await new_professional(profession="medecin")
    nurse = await new_professional(first_name="Inès", profession="infirmier")
    for professional in (doctor, nurse):
        await join(dossier, professional)
    browser = await signed_in_browser(new_browser, alice)

    first = await browser.get(page_of(dossier))
    assert fr("Carnet does not replace the Registre national des refus.") in first.text
    saved = await browser.open_and_submit(page_of(dossier), page_of(dossier), PARTIAL)
    assert saved.status_code == 303
    [row] = await positions(dossier)
    assert (row["stance"], row["refused_organs"], row["refused_purposes"]) == (
        "partial_refusal",
        "cornees peau",
        "recherche",
    )
    assert row["stated_on"] == date(2026, 2, 20)
    assert row["recorded_as"] == "patient"
    page = (await browser.get(page_of(dossier))).text
    partial = "Refus partiel\u00a0: cornées, peau\u00a0; pour recherche scientifique (20/02/2026)"
    assert partial in page
    # A refusal: the three ways, and the two PDFs that help.
    assert fr("Register it in the Registre national des refus.") in page
    assert fr("Write it down.") in page
    assert fr("Tell your relatives.") in page
    assert "/organ_donation/register-request.pdf" in page
    assert "/organ_donation/relatives-statement.pdf" in page

    doctors = await signed_in_browser(new_browser, doctor)
    read = await doctors.get(page_of(dossier))
    assert read.status_code == 200
    assert "cornées, peau" in read.text
    assert "<form" not in read.text.split('id="organ-donation"')[1]
    card = await doctors.get(f"/dossiers/{dossier}/cards/organ_donation")
    assert "Refus partiel\u00a0: cornées, peau" in card.text

    nurses = await signed_in_browser(new_browser, nurse)
    assert (await nurses.get(page_of(dossier))).status_code == 403
    refused_card = await nurses.get(f"/dossiers/{dossier}/cards/organ_donation")
    assert refused_card.status_code == 403
    assert "cornées" not in refused_card.text
    assert len(await refusals(dossier, nurse)) == 2


async def test_a_partial_refusal_with_nothing_ticked_is_explained_and_nothing_is_lost(
    portal, new_browser
):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    browser = await signed_in_browser(new_browser, alice)
    await browser.open_and_submit(page_of(dossier), page_of(dossier), NO_OBJECTION)

    answer = await browser.open_and_submit(
        page_of(dossier),
        page_of(dossier),
        {"stance": "partial_refusal", "wants_to_donate": None, "message": "<b>à moi</b>"},
    )
    assert answer.status_code == 400
    assert field_error(answer.text, "refusals") == fr(
        "For a partial refusal, tick at least one organ or tissue, or one purpose."
    )
    assert 'aria-describedby="refusals-hint refusals-error"' in answer.text
    assert "&lt;b&gt;à moi&lt;/b&gt;" in answer.text  # as typed, shown as text
    assert "<b>à moi</b>" not in answer.text
    [kept] = await positions(dossier)
    assert (kept["stance"], kept["wants_to_donate"]) == ("no_objection", True)

    no_choice = await post_form(browser, page_of(dossier), stated_on="2026-01-01")
    assert no_choice.status_code == 400
    assert field_error(no_choice.text, "stance") == fr("Choose your position.")
    future = await post_form(
        browser, page_of(dossier), stance="total_refusal", stated_on="2031-01-01"
    )
    assert future.status_code == 400
    assert field_error(future.text, "stated_on")
    assert len(await positions(dossier)) == 1

    # With htmx, the section comes back with its errors, in place.
    fragment = await post_form(
        browser, page_of(dossier), {"HX-Request": "true"}, stance="partial_refusal"
    )
    assert fragment.status_code == 400
    assert "<html" not in fragment.text
    assert 'id="organ-donation"' in fragment.text


async def test_a_professional_cannot_write_the_position(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice, medecin_traitant=None)
    doctor = await new_professional()
    await join(dossier, doctor)
    doctors = await signed_in_browser(new_browser, doctor)
    answer = await post_form(doctors, page_of(dossier), **PARTIAL)
    assert answer.status_code == 403
    step = await post_form(
        doctors, f"{page_of(dossier)}/steps", way="register", done_on="2026-03-01"
    )
    assert step.status_code == 403
    assert await positions(dossier) == []
    assert [event["action"] for event in await refusals(dossier, doctor)] == ["create", "create"]


async def test_a_child_under_13_does_not_record_alone_their_representative_does(
    portal, new_browser
):
    child = await new_patient(first_name="Léna")
    await born(child, date(2016, 5, 1))  # 9 years old on 2 March 2026
    dossier = await dossier_of(child)
    parent = await new_patient(first_name="Hélène")
    await represent(dossier, parent)

    childs = await signed_in_browser(new_browser, child)
    page = await childs.get(page_of(dossier))
    message = fr(
        "You are under 13: your position on organ donation is recorded by your legal "
        "representatives. Talk about it with them."
    )
    assert message in page.text
    assert 'name="stance"' not in page.text
    refused = await post_form(childs, page_of(dossier), **NO_OBJECTION)
    assert refused.status_code == 403
    assert message in refused.text
    assert await positions(dossier) == []

    parents = await signed_in_browser(new_browser, parent)
    saved = await parents.open_and_submit(page_of(dossier), page_of(dossier), NO_OBJECTION)
    assert saved.status_code == 303
    [row] = await positions(dossier)
    assert row["recorded_as"] == "representative"
    assert "(" + fr("legal representative") + ")" in (await childs.get(page_of(dossier))).text


async def test_from_13_the_position_is_the_patients_own(portal, new_browser):
    teenager = await new_patient(first_name="Noé")
    await born(teenager, date(2012, 3, 2))  # 14 on 2 March 2026
    dossier = await dossier_of(teenager)
    parent = await new_patient(first_name="Hélène")
    await represent(dossier, parent)

    parents = await signed_in_browser(new_browser, parent)
    refused = await post_form(parents, page_of(dossier), **NO_OBJECTION)
    assert refused.status_code == 403
    assert (
        fr(
            "From the age of 13, the position on organ donation is %(name)s’s own: they "
            "record it themselves, with their own account.",
            name="Noé",
        )
        in refused.text
    )
    teenagers = await signed_in_browser(new_browser, teenager)
    saved = await teenagers.open_and_submit(page_of(dossier), page_of(dossier), PARTIAL)
    assert saved.status_code == 303
    assert len(await positions(dossier)) == 1


async def test_every_position_is_kept_and_a_form_sent_twice_adds_nothing(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    browser = await signed_in_browser(new_browser, alice)
    await browser.open_and_submit(page_of(dossier), page_of(dossier), NO_OBJECTION)
    form_page = browser.page
    again = await browser.submit(page_of(dossier), NO_OBJECTION)  # the same form, once more
    assert again.status_code == 303
    browser.page = form_page
    assert len(await positions(dossier)) == 1

    await browser.open_and_submit(page_of(dossier), page_of(dossier), {"stance": "total_refusal"})
    first, second = await positions(dossier)
    assert first["superseded_at"] is not None
    assert second["superseded_at"] is None
    assert second["stance"] == "total_refusal"
    page = (await browser.get(page_of(dossier))).text
    assert fr("Earlier positions") in page
    assert "Pas d’opposition, souhaite être donneur (05/01/2026)" in page
    assert "Refuse tout prélèvement d’organes et de tissus" in page
    changes = [e for e in await trail(dossier, alice) if e["action"] == "create"]
    assert {(e["target_type"], e["outcome"]) for e in changes} == {("organ_donation", "allowed")}


async def test_the_pdfs_make_a_refusal_count_and_the_steps_are_noted(portal, new_browser):
    alice = await new_patient(first_name="Alice", last_name="Dupont")
    dossier = await dossier_of(alice)
    browser = await signed_in_browser(new_browser, alice)
    await browser.open_and_submit(page_of(dossier), page_of(dossier), PARTIAL)

    request = await browser.get(f"{page_of(dossier)}/register-request.pdf")
    assert request.status_code == 200
    assert request.headers["content-type"] == "application/pdf"
    assert "attachment" in request.headers["content-disposition"]
    text = text_of(request.content)
    assert "Registre national des refus" in text
    assert "Dupont" in text
    assert "12/04/1986" in text
    assert "☒ recherche scientifique" in text
    assert "☐ greffe" in text
    assert "☒ cornées" in text
    assert "☐ cœur" in text
    assert "93212 Saint-Denis La Plaine Cedex" in text

    statement = text_of((await browser.get(f"{page_of(dossier)}/relatives-statement.pdf")).content)
    assert "Alice Dupont" in statement
    assert "Je refuse le prélèvement de : cornées, peau." in statement  # as text_of reads it
    assert "Pas mes cornées, et rien pour la recherche." in statement
    assert "R1232-4-6" in statement

    card = await browser.get(f"{page_of(dossier)}/donor-card.pdf")
    reader = PdfReader(io.BytesIO(card.content))
    assert len(reader.pages) == 1
    width, height = (float(value) * 25.4 / 72 for value in reader.pages[0].mediabox[2:])
    assert (round(width, 1), round(height, 1)) == (85.6, 54.0)
    assert "Refus partiel : cornées, peau" in text_of(card.content)

    steps = f"{page_of(dossier)}/steps"
    noted = await browser.open_and_submit(
        page_of(dossier), steps, {"way": "register", "done_on": "2026-02-25"}
    )
    assert noted.status_code == 303
    await browser.open_and_submit(
        page_of(dossier), steps, {"way": "register", "done_on": "2026-02-25"}
    )
    assert await Step.count().where(Step.dossier == dossier) == 1
    page = (await browser.get(page_of(dossier))).text
    assert f"{fr('Registered in the Registre national des refus')} — 25/02/2026" in page
    bad = await browser.open_and_submit(page_of(dossier), steps, {"way": "carrier pigeon"})
    assert bad.status_code == 400
    assert field_error(bad.text, "way") == fr("Choose what you did.")


async def test_with_no_objection_there_is_nothing_to_make_count(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    browser = await signed_in_browser(new_browser, alice)
    await browser.open_and_submit(page_of(dossier), page_of(dossier), NO_OBJECTION)
    page = (await browser.get(page_of(dossier))).text
    assert "register-request.pdf" not in page
    assert "donor-card.pdf" in page
    answer = await post_form(
        browser, f"{page_of(dossier)}/steps", way="register", done_on="2026-03-01"
    )
    assert answer.status_code == 400
    assert await Step.count() == 0


async def test_the_emergency_card_and_the_whole_dossier_print_carry_the_position(
    portal, new_browser
):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    browser = await signed_in_browser(new_browser, alice)
    total = {"stance": "total_refusal", "stated_on": "2026-02-01"}
    await browser.open_and_submit(page_of(dossier), page_of(dossier), total)
    line = "Refuse tout prélèvement d’organes et de tissus (01/02/2026)"

    card = await browser.get(f"/dossiers/{dossier}/emergency-card")
    assert card.status_code == 200
    assert line in card.text
    assert 'value="organ_donation.position"' in card.text  # a line the patient may leave out
    export = await browser.get(f"/dossiers/{dossier}/export.pdf")
    assert line in text_of(export.content)

    # A dossier without a position has no line, and prints that none is recorded.
    view = SimpleNamespace(id=await dossier_of(await new_patient()), patient={})
    assert await portal.state.plugins.emergency_items("organ_donation", view) == []
    printed = await portal.state.plugins.print_section("organ_donation", view)
    assert printed.context["position"] is None


async def demo_person(login: str, first_name: str, last_name: str, role=Role.PATIENT) -> Person:
    account = await Account.select(Account.id).where(Account.login == login).first()
    return Person(
        account["id"], login, role, first_name, last_name, DEMO_PASSWORD, DEMO_TOTP_SECRET
    )


async def dossier_of_account(person: Person):
    row = await Dossier.select(Dossier.id).where(Dossier.patient.account == person.id).first()
    return row["id"]


async def test_jules_makes_his_refusal_count_and_the_urgentiste_sees_it(portal, new_browser):
    assert await load_demo(portal.state.plugins)
    camille = await demo_person("camille.martin@demo.carnet.fr", "Camille", "Martin")
    [camilles] = await positions(await dossier_of_account(camille))
    assert (camilles["stance"], camilles["wants_to_donate"]) == ("no_objection", True)

    jules = await demo_person("jules.petit@demo.carnet.fr", "Jules", "Petit")
    dossier = await dossier_of_account(jules)
    browser = new_browser()
    await log_in(browser, jules)
    page = await browser.get(page_of(dossier))
    assert "Refus partiel\u00a0: cornées, peau\u00a0; pour recherche scientifique" in page.text
    recorded = await browser.submit(
        page_of(dossier), {"organ_coeur": "on", "purpose_autopsie": "on", "stated_on": "2026-03-01"}
    )
    assert recorded.status_code == 303
    line = (
        "Refus partiel\u00a0: cœur, cornées, peau\u00a0; pour recherche scientifique, "
        "autopsie médicale (01/03/2026)"
    )
    for pdf in ("register-request.pdf", "relatives-statement.pdf"):
        download = await browser.get(f"{page_of(dossier)}/{pdf}")
        assert download.status_code == 200
        assert "Jules" in text_of(download.content)
    assert "☒ autopsie médicale" in text_of(
        (await browser.get(f"{page_of(dossier)}/register-request.pdf")).content
    )
    noted = await browser.open_and_submit(
        page_of(dossier), f"{page_of(dossier)}/steps", {"way": "written", "done_on": "2026-03-02"}
    )
    assert noted.status_code == 303

    urgentiste = await demo_person(
        "dr.urgence@demo.carnet.fr", "Urgence", "", role=Role.PROFESSIONAL
    )
    urgences = new_browser()
    await log_in(urgences, urgentiste)
    assert (await urgences.get(f"/dossiers/{dossier}/cards/organ_donation")).status_code == 404
    opened = await open_in_emergency(urgences, jules, "Inconscient après un accident de la route")
    assert opened.status_code == 303
    overview = await urgences.get(f"/dossiers/{dossier}")
    assert f"/dossiers/{dossier}/cards/organ_donation" in overview.text
    card = await urgences.get(
        f"/dossiers/{dossier}/cards/organ_donation", headers={"HX-Request": "true"}
    )
    assert card.status_code == 200
    assert line in card.text
    assert [event["mode"] for event in await trail(dossier, urgentiste)][-1] == "emergency"


async def test_a_huge_message_or_date_is_refused_and_not_sent_back_whole(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    browser = await signed_in_browser(new_browser, alice)
    huge = "a" * 100_000

    for values in ({"message": huge}, {"stated_on": huge}):
        answer = await browser.open_and_submit(
            page_of(dossier), page_of(dossier), {**NO_OBJECTION, **values}
        )
        assert answer.status_code == 400
        assert len(answer.text) < 20_000  # the value cut, not copied back whole
    assert await positions(dossier) == []
