"""The vaccination record through the browser: recording (by a vaccinator, with its lot),
copying a paper carnet (declared by the patient until a professional confirms), corrections
that keep the history, what is due, the attestation, and every kind of bad input."""

from __future__ import annotations

from datetime import date

from plugins.vaccination.tables import Vaccination
from portal import clock
from portal.audit import Action
from portal.dossiers.tables import Dossier
from portal.identity.tables import Patient
from portal.notifications.tables import Notification
from tests.access.conftest import (
    dossier_of,
    join,
    post_form,
    refusals,
    represent,
    signed_in_browser,
    trail,
)
from tests.conftest import translated
from tests.identity.conftest import field_error, new_patient, new_professional
from tests.pdf.test_render_pdf import text_of

FLU = {"vaccine": "grippe", "given_on": "2026-02-20", "dose": "", "lot": "X4B72"}


def fr(message: str, **params) -> str:
    """``message`` as the French page shows it (escaped)."""
    text = translated("fr", message)
    return text % params if params else text


DECLARED = "declared by the patient"


def page(dossier) -> str:
    return f"/dossiers/{dossier}/vaccination"


async def current(dossier) -> list[dict]:
    return (
        await Vaccination.select()
        .where(Vaccination.dossier == dossier, Vaccination.superseded_at.is_null())
        .order_by(Vaccination.given_on)
    )


async def test_a_pharmacist_records_a_flu_shot_the_patient_sees_it_and_its_attestation(
    portal, new_browser
):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    pharmacist = await new_professional(
        first_name="Hélène", last_name="Petit", profession="pharmacien"
    )
    await join(dossier, pharmacist)
    pharmacy = await signed_in_browser(new_browser, pharmacist)

    saved = await pharmacy.open_and_submit(page(dossier), page(dossier), FLU)
    assert saved.status_code == 303
    [record] = await current(dossier)
    assert (record["vaccine"], record["lot"], record["given_on"]) == (
        "grippe",
        "X4B72",
        date(2026, 2, 20),
    )
    assert record["vaccinator_name"] == "Hélène Petit"  # filled from who is signed in
    assert not record["declared_by_patient"]
    created = [
        event for event in await trail(dossier, pharmacist) if event["action"] == Action.CREATE
    ]
    assert [event["outcome"] for event in created] == ["allowed"]

    patient = await signed_in_browser(new_browser, alice)
    shown = (await patient.get(page(dossier))).text
    assert "Grippe saisonnière" in shown
    assert "X4B72" in shown
    assert "Hélène Petit" in shown
    pdf = await patient.get(f"/dossiers/{dossier}/vaccination/attestation.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    text = text_of(pdf.content)
    assert "Grippe saisonnière" in text
    assert "X4B72" in text
    assert "Hélène Petit" in text
    assert "20/02/2026" in text


async def test_a_professional_must_give_the_lot_and_bad_input_is_explained(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    nurse = await new_professional(profession="infirmier")
    await join(dossier, nurse)
    browser = await signed_in_browser(new_browser, nurse)
    await browser.open_and_submit(page(dossier), page(dossier), FLU)

    for typed, field in (
        ({"lot": ""}, "lot"),
        ({"vaccine": "vaccin-miracle"}, "vaccine"),
        ({"given_on": "1980-05-01"}, "given_on"),  # before the birth (1986)
        ({"given_on": "2026-09-01"}, "given_on"),  # in the future
        ({"given_on": "le 3 mars"}, "given_on"),
        ({"lot": "<script>alert(1)</script>"}, "lot"),
    ):
        answer = await browser.open_and_submit(page(dossier), page(dossier), {**FLU, **typed})
        assert answer.status_code == 400, typed
        assert field_error(answer.text, field), typed
        assert "<script>alert(1)" not in answer.text
    assert len(await current(dossier)) == 1  # nothing more saved, nothing lost


async def test_the_same_dose_on_the_same_day_is_warned_and_a_double_submit_saves_once(
    portal, new_browser
):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    doctor = await new_professional()
    await join(dossier, doctor)
    browser = await signed_in_browser(new_browser, doctor)
    await browser.get(page(dossier))
    first = await browser.submit(page(dossier), FLU)
    again = await browser.submit(page(dossier), FLU)  # the same form, sent twice
    assert (first.status_code, again.status_code) == (303, 303)
    assert len(await current(dossier)) == 1

    warned = await browser.open_and_submit(page(dossier), page(dossier), FLU)
    assert warned.status_code == 409
    assert (
        fr(
            "This vaccine and dose is already recorded on this day. Record it again only if it "
            "really was given twice."
        )
        in warned.text
    )
    assert len(await current(dossier)) == 1
    confirmed = await browser.submit(page(dossier), {**FLU, "duplicate_ok": "yes"})
    assert confirmed.status_code == 303
    assert len(await current(dossier)) == 2


async def test_the_patient_copies_a_paper_carnet_and_a_professional_confirms(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    patient = await signed_in_browser(new_browser, alice)
    copied = {"vaccine": "ror", "given_on": "1987-04-22", "dose": "1", "lot": "",
              "vaccinator_name": "Dr Lefèvre"}  # fmt: skip
    assert (await patient.open_and_submit(page(dossier), page(dossier), copied)).status_code == 303
    [record] = await current(dossier)
    assert record["declared_by_patient"]
    assert record["vaccinator_name"] == "Dr Lefèvre"
    assert fr(DECLARED) in (await patient.get(page(dossier))).text
    # The patient may correct what they copied: a new version, the first one kept.
    corrected = await patient.open_and_submit(
        f"{page(dossier)}?edit={record['id']}",
        f"{page(dossier)}/correct",
        {"given_on": "1987-04-24"},
    )
    assert corrected.status_code == 303
    [record] = await current(dossier)
    assert record["given_on"] == date(1987, 4, 24)
    assert await Vaccination.count().where(Vaccination.lineage == record["lineage"]) == 2

    midwife = await new_professional(
        first_name="Claire", last_name="Fabre", profession="sage_femme"
    )
    await join(dossier, midwife)
    browser = await signed_in_browser(new_browser, midwife)
    confirmed = await browser.open_and_submit(
        page(dossier), f"{page(dossier)}/confirm", {"record": str(record["id"])}
    )
    assert confirmed.status_code == 303
    [record] = await current(dossier)
    assert not record["declared_by_patient"]
    assert record["confirmed_by_name"] == "Claire Fabre"
    assert await Vaccination.count().where(Vaccination.lineage == record["lineage"]) == 3
    shown = (await patient.get(page(dossier))).text
    assert fr("confirmed by %(name)s", name="Claire Fabre") in shown
    assert fr(DECLARED) not in shown
    # Now the midwife's record: the patient no longer changes it.
    refused = await post_form(patient, f"{page(dossier)}/correct", record=str(record["id"]), **FLU)
    assert refused.status_code == 403


async def test_only_the_author_corrects_and_the_history_is_shown(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    doctor = await new_professional(first_name="Marc", last_name="Henry")
    other = await new_professional(first_name="Julie", last_name="Blanc", profession="infirmier")
    await join(dossier, doctor)
    await join(dossier, other)
    browser = await signed_in_browser(new_browser, doctor)
    await browser.open_and_submit(page(dossier), page(dossier), FLU)
    [record] = await current(dossier)
    edit = f"{page(dossier)}?edit={record['id']}"
    fixed = await browser.open_and_submit(edit, f"{page(dossier)}/correct", {"lot": "X4B73"})
    assert fixed.status_code == 303
    [record] = await current(dossier)
    assert record["lot"] == "X4B73"
    assert record["vaccinator_name"] == "Marc Henry"
    shown = (await browser.get(f"{page(dossier)}?edit={record['id']}")).text
    assert fr("Earlier versions") in shown
    assert "X4B72" in shown

    nurse = await signed_in_browser(new_browser, other)
    assert "?edit=" not in (await nurse.get(page(dossier))).text
    refused = await post_form(nurse, f"{page(dossier)}/correct", record=str(record["id"]), **FLU)
    assert refused.status_code == 403
    assert len(await refusals(dossier, other)) == 1
    [record] = await current(dossier)
    assert record["lot"] == "X4B73"


async def test_a_non_vaccinator_cannot_record_and_the_refusal_is_traced(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    occupational = await new_professional(profession="medecin_du_travail")
    physio = await new_professional(profession="masseur_kinesitherapeute")
    await join(dossier, occupational)
    await join(dossier, physio)

    reader = await signed_in_browser(new_browser, occupational)
    shown = await reader.get(page(dossier))
    assert shown.status_code == 200
    assert fr("Record a vaccination") not in shown.text
    assert "Grippe" not in shown.text  # no form: not even the list of vaccines
    refused = await post_form(reader, page(dossier), **FLU)
    assert refused.status_code == 403
    [refusal] = await refusals(dossier, occupational)
    assert refusal["action"] == Action.CREATE
    assert await current(dossier) == []

    stranger = await signed_in_browser(new_browser, physio)
    assert (await stranger.get(page(dossier))).status_code == 403
    assert (await post_form(stranger, page(dossier), **FLU)).status_code == 403


async def test_the_form_is_checked_inline_with_htmx(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    browser = await signed_in_browser(new_browser, alice)
    await browser.get(page(dossier))
    answer = await browser.post(
        f"{page(dossier)}/check",
        {"vaccine": "grippe", "given_on": "2030-01-01", "lot": "", "submission": "x"},
        headers={"HX-Request": "true", "X-CSRF-Token": browser.htmx_token},
    )
    assert answer.status_code == 200
    assert "<html" not in answer.text
    assert 'id="vaccination-fields"' in answer.text
    assert field_error(answer.text, "given_on") == fr(
        "This date is in the future: record a vaccination once it is given."
    )
    assert not field_error(answer.text, "vaccine")
    assert await current(dossier) == []


async def test_a_child_s_record_shows_the_infant_vaccines_due_and_reminds_once(portal, new_browser):
    parent = await new_patient(first_name="Camille", last_name="Noël")
    child = Patient(
        nir="1250175112034", first_name="Lou", last_name="Noël", birth_date=date(2025, 9, 1)
    )
    await child.save()
    dossier = Dossier(patient=child.id, created_at=date(2025, 9, 2), created_through="online",
                      consent_at=date(2025, 9, 2))  # fmt: skip
    await dossier.save()
    await represent(dossier.id, parent)
    browser = await signed_in_browser(new_browser, parent)
    none_yet = (await browser.get(f"/dossiers/{dossier.id}/cards/vaccination")).text
    assert fr("Open the vaccination record") in none_yet  # not "see the 0 vaccinations"
    first = {"vaccine": "hexavalent", "given_on": "2025-11-03", "dose": "1", "lot": ""}
    assert (
        await browser.open_and_submit(page(dossier.id), page(dossier.id), first)
    ).status_code == 303

    shown = (await browser.get(page(dossier.id))).text
    assert "Diphtérie, tétanos, coqueluche, poliomyélite" in shown  # dose 2 at 4 months
    assert "Méningocoque B" in shown  # born since 2022: at 3 months
    card = (await browser.get(f"/dossiers/{dossier.id}/cards/vaccination")).text
    assert "Méningocoque B" in card
    assert "Hexavalent DTCaPolio-Hib-HepB" in card

    sent = await portal.state.plugins.send_reminders(clock.now())
    assert sent >= 2
    assert await portal.state.plugins.send_reminders(clock.now()) == 0  # once
    told = await Notification.select().where(
        Notification.account == parent.id, Notification.kind == "vaccination_due"
    )
    assert len(told) == sent
    assert all(item["link"] == page(dossier.id) for item in told)


async def test_the_emergency_card_and_the_printed_dossier(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    await Vaccination.insert(
        Vaccination(dossier=dossier, lineage=dossier, vaccine="dtcapolio_rappel",
                    given_on=date(2011, 5, 17), lot="L4521AB", author_name="Sophie Bernard",
                    vaccinator_name="Sophie Bernard", created_at=clock.now())
    )  # fmt: skip
    browser = await signed_in_browser(new_browser, alice)
    card = await browser.get(f"/dossiers/{dossier}/emergency-card")
    assert card.status_code == 200
    assert fr("Tetanus") in card.text
    assert fr("up to date, last dose on %(date)s", date="17/05/2011") in card.text
    printed = await browser.get(f"/dossiers/{dossier}/export.pdf")
    assert printed.status_code == 200
    text = text_of(printed.content)
    assert "Vaccinations" in text
    assert "L4521AB" in text
    assert "Sophie Bernard" in text


async def test_a_date_typed_by_hand_is_understood(portal, new_browser):
    """An old phone shows a plain text field for a date: 20/02/2026 is typed, not picked."""
    alice = await new_patient()
    dossier = await dossier_of(alice)
    nurse = await new_professional(profession="infirmier")
    await join(dossier, nurse)
    browser = await signed_in_browser(new_browser, nurse)
    answer = await browser.open_and_submit(
        page(dossier), page(dossier), {**FLU, "given_on": "20/02/2026"}
    )
    assert answer.status_code == 303, answer.text
    [record] = await current(dossier)
    assert record["given_on"] == date(2026, 2, 20)
