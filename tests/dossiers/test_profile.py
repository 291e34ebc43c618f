"""The patient's own space: height, weight, blood group and emergency contacts, which the
professionals of the circle read, personal notes for the patient's side alone, and the
choice of notifications by e-mail."""

from __future__ import annotations

from portal import crypto
from portal.dossiers.tables import EmergencyContact, PatientProfile
from portal.identity.tables import Account
from tests.access.conftest import dossier_of, join, post_form, signed_in_browser
from tests.identity.conftest import field_error, new_patient, new_professional

GOOD = {
    "height_cm": "168",
    "weight_kg": "61,5",
    "blood_group": "A+",
    "contact_0_name": "Paul Martin",
    "contact_0_relation": "frère",
    "contact_0_phone": "06 12 34 56 78",
    "notes": "Penser à demander le rappel du tétanos.",
    "notify_by_message": "on",
}


async def test_the_patient_fills_their_profile_and_the_circle_reads_it(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    doctor = await new_professional()
    await join(dossier, doctor)
    browser = await signed_in_browser(new_browser, alice)
    page = f"/dossiers/{dossier}/profile"
    saved = await browser.open_and_submit(page, page, GOOD)
    assert saved.status_code == 303
    profile = await PatientProfile.select().where(PatientProfile.dossier == dossier).first()
    assert (profile["height_cm"], profile["weight_kg"], profile["blood_group"]) == (168, 61.5, "A+")
    # The notes and the contacts are stored encrypted (`portal.crypto`).
    [contact] = await EmergencyContact.select().where(EmergencyContact.dossier == dossier)
    for stored in (profile["notes"], contact["name"], contact["relation"], contact["phone"]):
        assert crypto.is_sealed(stored)
    assert "Paul" not in contact["name"]
    account = await Account.select(Account.notify_by_message).where(Account.id == alice.id).first()
    assert account["notify_by_message"] is True
    page = (await browser.get(f"/dossiers/{dossier}/profile")).text
    assert 'value="61,5"' in page
    assert "Penser à demander le rappel" in page

    doctors = await signed_in_browser(new_browser, doctor)
    read = await doctors.get(f"/dossiers/{dossier}/profile")
    assert read.status_code == 200
    assert "A+" in read.text
    assert "Paul Martin" in read.text
    assert "rappel du tétanos" not in read.text  # the personal notes are the patient's alone
    refused = await post_form(doctors, f"/dossiers/{dossier}/profile", **GOOD)
    assert refused.status_code == 403


async def test_bad_answers_are_explained_and_nothing_is_lost(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    browser = await signed_in_browser(new_browser, alice)
    page = f"/dossiers/{dossier}/profile"
    await browser.open_and_submit(page, page, GOOD)
    bad = {**GOOD, "height_cm": "1680", "weight_kg": "lourd", "blood_group": "Z",
           "contact_0_phone": "appelez-le", "notes": "<script>alert(1)</script>"}  # fmt: skip
    answer = await browser.open_and_submit(page, page, bad)
    assert answer.status_code == 400
    for name in ("height_cm", "weight_kg", "blood_group", "contact_0_phone"):
        assert field_error(answer.text, name), name
    assert "<script>alert(1)</script>" not in answer.text
    assert "&lt;script&gt;" in answer.text  # what was typed comes back, as text
    profile = await PatientProfile.select().where(PatientProfile.dossier == dossier).first()
    assert profile["height_cm"] == 168  # the saved profile is untouched
    assert await EmergencyContact.count().where(EmergencyContact.dossier == dossier) == 1


async def test_strangers_get_nothing(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    stranger = await signed_in_browser(new_browser, await new_professional(first_name="Sam"))
    assert (await stranger.get(f"/dossiers/{dossier}/profile")).status_code == 404
    assert (await post_form(stranger, f"/dossiers/{dossier}/profile", **GOOD)).status_code == 404
    assert not await PatientProfile.exists().where(PatientProfile.dossier == dossier)
