"""Closing, reopening and deleting a dossier: closing ends every professional's access at once
and loses nothing, reopening brings it all back, a deletion request purges the dossier and its
audit chain (the trail keeps a tombstone and stays verifiable), and ``carnet purge`` deletes
the archives closed ten years ago."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portal import clock
from portal.access.tables import EmergencyGrant
from portal.audit import signing
from portal.audit.tables import AuditEvent
from portal.audit.verification import verify
from portal.dossiers.lifecycle import MAINTENANCE, archive_ends, purge
from portal.dossiers.tables import Document, Dossier, DossierStatus
from portal.identity.tables import Account, Patient, Role
from tests.access.conftest import (
    add_document,
    dossier_of,
    join,
    open_in_emergency,
    post_form,
    represent,
    signed_in_browser,
    trail,
)
from tests.audit.test_audit_cli import carnet, use_database
from tests.conftest import translated
from tests.identity.conftest import (
    PASSWORD,
    enter_password,
    field_error,
    new_patient,
    new_professional,
)

REASON = "Patiente inconsciente aux urgences, pronostic vital engagé"


def fr(message: str) -> str:
    return translated("fr", message)


async def close(browser, dossier):
    return await browser.open_and_submit(
        f"/dossiers/{dossier}/closing", f"/dossiers/{dossier}/close"
    )


async def test_closing_ends_every_professional_access_and_reopening_restores_it(
    portal, new_browser
):
    patient = await new_patient()
    traitant, cardiologist, urgentiste = [
        await new_professional(last_name=name) for name in ("Bernard", "Garcia", "Urgence")
    ]
    dossier = await dossier_of(patient, medecin_traitant=traitant.id)
    await join(dossier, cardiologist)
    document = await add_document(dossier, author=cardiologist, title="Échographie cardiaque")
    doctors = [await signed_in_browser(new_browser, person) for person in (traitant, cardiologist)]
    emergency = await signed_in_browser(new_browser, urgentiste)
    assert (await open_in_emergency(emergency, patient, REASON)).status_code == 303
    for doctor in (*doctors, emergency):
        assert (await doctor.get(f"/dossiers/{dossier}")).status_code == 200

    camille = await signed_in_browser(new_browser, patient)
    closed = await close(camille, dossier)
    assert closed.status_code == 303
    for doctor in (*doctors, emergency):
        assert (await doctor.get(f"/dossiers/{dossier}")).status_code == 404
        assert (await doctor.get(f"/dossiers/{dossier}/documents/{document}")).status_code == 404
    assert await EmergencyGrant.count().where(EmergencyGrant.dossier == dossier) == 0
    assert "Dupont Alice" not in (await doctors[0].get("/patients")).text
    page = (await camille.get(f"/dossiers/{dossier}")).text
    assert fr("Closed: professionals no longer have access.") in page
    assert "Échographie cardiaque" in page  # the patient still reads it all
    closing = (await camille.get(f"/dossiers/{dossier}/closing")).text
    ends = archive_ends(clock.now()).strftime("%d/%m/%Y")
    assert ends in closing

    # A second close (an old page, a double click) changes and traces nothing more.
    await post_form(camille, f"/dossiers/{dossier}/close")
    assert [event["action"] for event in await trail(dossier, patient)].count("close") == 1

    reopened = await camille.open_and_submit(
        f"/dossiers/{dossier}/closing", f"/dossiers/{dossier}/reopen"
    )
    assert reopened.status_code == 303
    for doctor in doctors:
        assert (await doctor.get(f"/dossiers/{dossier}/documents/{document}")).status_code == 200
    assert await Document.count().where(Document.dossier == dossier) == 1


async def test_only_the_patient_s_side_closes_reopens_or_deletes(portal, new_browser):
    patient = await new_patient()
    doctor = await new_professional()
    dossier = await dossier_of(patient, medecin_traitant=doctor.id)
    browser = await signed_in_browser(new_browser, doctor)
    for change in ("close", "reopen", "delete"):
        answer = await post_form(browser, f"/dossiers/{dossier}/{change}", password=PASSWORD)
        assert answer.status_code in (403, 404), change
    assert (await Dossier.select(Dossier.status).first())["status"] == DossierStatus.OPEN
    assert [event["outcome"] for event in await trail(dossier, doctor)] == ["refused"] * 3


async def test_a_deletion_needs_a_closed_dossier_and_the_password(portal, new_browser):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    browser = await signed_in_browser(new_browser, patient)
    await browser.get(f"/dossiers/{dossier}/closing")
    still_open = await post_form(browser, f"/dossiers/{dossier}/delete", password=PASSWORD)
    assert still_open.status_code == 400
    assert fr("Close the record before asking for its deletion.") in still_open.text
    await close(browser, dossier)
    await browser.get(f"/dossiers/{dossier}/closing")
    wrong = await browser.submit(f"/dossiers/{dossier}/delete", {"password": "pas le bon"})
    assert wrong.status_code == 400
    assert field_error(wrong.text, "password") == fr(
        "This is not your password: nothing was deleted."
    )
    assert await Dossier.exists().where(Dossier.id == dossier)


async def test_a_deletion_purges_everything_but_a_tombstone(portal, new_browser, outbox):
    patient = await new_patient(first_name="Rose", last_name="Lenoir")
    dossier = await dossier_of(patient)
    await add_document(dossier, title="Compte rendu opératoire")
    browser = await signed_in_browser(new_browser, patient)
    nir = (await Patient.select(Patient.nir).where(Patient.account == patient.id).first())["nir"]
    await close(browser, dossier)
    await browser.get(f"/dossiers/{dossier}/closing")
    events = len(await trail(dossier))

    deleted = await browser.submit(f"/dossiers/{dossier}/delete", {"password": PASSWORD})
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/"
    assert not await Dossier.exists().where(Dossier.id == dossier)
    assert await Document.count().where(Document.dossier == dossier) == 0
    assert not await Patient.exists().where(Patient.nir == nir)
    assert not await Account.exists().where(Account.id == patient.id)
    assert await trail(dossier) == []
    [tombstone] = await AuditEvent.select().where(AuditEvent.action == "purge")
    assert tombstone["chain"] == "system"
    assert tombstone["target_id"] == str(dossier)
    assert tombstone["reason"] == "deletion requested"
    assert tombstone["mode_detail"].startswith(f"{events + 1} events")
    assert (await verify(signing.installed())).intact
    assert (await browser.get("/me")).status_code in (302, 303, 401)  # logged out
    assert (await enter_password(new_browser(portal), patient.login, PASSWORD)).status_code == 400


async def test_the_audit_trail_still_refuses_to_delete_other_chains(portal, new_browser):
    patient = await new_patient()
    kept = await dossier_of(patient)
    browser = await signed_in_browser(new_browser, patient)
    await browser.get(f"/dossiers/{kept}")
    before = len(await trail(kept))
    other = await dossier_of(await new_patient())
    await purge(other, MAINTENANCE, "test")
    assert len(await trail(kept)) == before > 0


async def test_a_representative_deletes_a_child_s_record_and_keeps_their_account(
    portal, new_browser
):
    parent = await new_patient(first_name="Rose")
    own = await dossier_of(parent)
    child = await new_patient(first_name="Léo")
    child_dossier = await dossier_of(child)
    await represent(child_dossier, parent)
    browser = await signed_in_browser(new_browser, parent)
    await close(browser, child_dossier)
    await browser.get(f"/dossiers/{child_dossier}/closing")
    deleted = await browser.submit(f"/dossiers/{child_dossier}/delete", {"password": PASSWORD})
    assert deleted.headers["location"] == "/me"
    assert not await Dossier.exists().where(Dossier.id == child_dossier)
    assert (await browser.get(f"/dossiers/{own}")).status_code == 200


async def test_a_patient_who_represents_a_child_keeps_an_account_after_deleting_their_own(
    portal, new_browser
):
    parent = await new_patient(first_name="Rose")
    own = await dossier_of(parent)
    child_dossier = await dossier_of(await new_patient(first_name="Léo"))
    await represent(child_dossier, parent)
    browser = await signed_in_browser(new_browser, parent)
    await close(browser, own)
    await browser.get(f"/dossiers/{own}/closing")
    deleted = await browser.submit(f"/dossiers/{own}/delete", {"password": PASSWORD})
    assert deleted.headers["location"] == "/me"
    account = await Account.select(Account.role).where(Account.id == parent.id).first()
    assert account["role"] == Role.REPRESENTATIVE
    assert (await browser.get(f"/dossiers/{child_dossier}")).status_code == 200


async def test_carnet_purge_deletes_archives_closed_ten_years_ago(database, monkeypatch, capsys):
    use_database(monkeypatch, database)
    now = clock.now()
    ages = {"old": now - timedelta(days=3653 + 1), "recent": now - timedelta(days=3000)}
    dossiers = {}
    for name, closed_at in ages.items():
        dossiers[name] = await dossier_of(await new_patient(first_name=name.title()))
        await Dossier.update(
            {Dossier.status: DossierStatus.CLOSED, Dossier.closed_at: closed_at}
        ).where(Dossier.id == dossiers[name])
    dossiers["open"] = await dossier_of(await new_patient(first_name="Open"))

    assert await carnet(database, "purge") == 0
    assert "Purged 1 dossier closed ten years ago." in capsys.readouterr().out
    assert not await Dossier.exists().where(Dossier.id == dossiers["old"])
    assert await Dossier.exists().where(Dossier.id == dossiers["recent"])
    assert await Dossier.exists().where(Dossier.id == dossiers["open"])
    [tombstone] = await AuditEvent.select().where(AuditEvent.action == "purge")
    assert (tombstone["reason"], tombstone["actor_name"]) == (
        "archive kept ten years",
        "carnet purge",
    )


def test_the_archive_of_a_29_february_ends_on_28_february():
    assert archive_ends(datetime(2028, 2, 29, tzinfo=UTC)) == datetime(2038, 2, 28, tzinfo=UTC)
