"""The patient's access history: every access to their dossier, in words, newest first,
filtered, paginated, exported and checked — and itself traced."""

from __future__ import annotations

import re
import uuid

from portal import audit, clock, db
from portal.audit import Action, Actor, Mode, Purpose
from portal.audit.tables import AuditEvent
from portal.dossiers.tables import Dossier, Representative
from portal.identity.tables import Patient
from tests.audit.conftest import drop_append_only_triggers
from tests.conftest import translated
from tests.identity.conftest import log_in, new_patient, new_professional

INTACT = (
    "The history is intact: its %(count)s entries follow one another without a gap, and none "
    "has been changed since it was written."
)
ALTERED = (
    "Warning: the history has been altered. Keep a copy of this page and tell the team that "
    "runs Carnet."
)
BAD_DATE = "A date was not understood: use the date picker, or type YYYY-MM-DD."
GARCIA = Actor(uuid.uuid4(), "professional", "medecin", "Karim Garcia")
URGENCE = Actor(uuid.uuid4(), "professional", "medecin", "Inès Faure")


async def dossier_of(person) -> uuid.UUID:
    patient = await Patient.select(Patient.id).where(Patient.account == person.id).first()
    dossier = Dossier(patient=patient["id"], created_at=clock.now(), created_through="online",
                      consent_at=clock.now())  # fmt: skip
    await dossier.save()
    return dossier.id


async def chain(dossier_id) -> list[dict]:
    return (
        await AuditEvent.select()
        .where(AuditEvent.chain == f"dossier:{dossier_id}")
        .order_by(AuditEvent.seq)
    )


def sentences(page: str) -> list[str]:
    return re.findall(r"</time>.*?<p>(.*?)</p>", page, re.S)


async def test_the_patient_reads_their_history_in_words(portal, new_browser):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="dossier",
                       purpose=Purpose.TREAT)  # fmt: skip
    browser = new_browser()
    await log_in(browser, alice)
    page = await browser.get(f"/dossiers/{dossier}/history")
    assert page.status_code == 200
    said = sentences(page.text)
    assert said[0] == translated("fr", "%(who)s viewed %(what)s.") % {
        "who": "Alice Roux",
        "what": translated("fr", "the access history"),
    }  # fmt: skip  (newest first: opening the history is itself traced)
    doctor = translated("fr", "Doctor").lower()
    assert said[1] == translated("fr", "%(who)s viewed %(what)s.") % {
        "who": f"Karim Garcia, {doctor}", "what": translated("fr", "the record")
    }  # fmt: skip
    events = await chain(dossier)
    assert (events[-1]["action"], events[-1]["actor_account"], events[-1]["outcome"]) == (
        "view", alice.id, "allowed"
    )  # fmt: skip


async def test_representatives_see_the_dossiers_they_manage(portal, new_browser):
    parent = await new_patient(first_name="Camille")
    child = await new_patient(first_name="Léo")
    dossier = await dossier_of(child)
    await Representative.insert(
        Representative(dossier=dossier, account=parent.id, since=clock.now())
    )
    browser = new_browser()
    await log_in(browser, parent)
    account = await browser.get("/account")
    assert f"/dossiers/{dossier}/history" in account.text
    assert (await browser.get(f"/dossiers/{dossier}/history")).status_code == 200


async def test_anyone_else_gets_nothing_and_the_refusal_is_traced(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    for person in (await new_patient(first_name="Bob"), await new_professional()):
        browser = new_browser()
        await log_in(browser, person)
        assert (await browser.get(f"/dossiers/{dossier}/history")).status_code == 404
        assert (await browser.get(f"/dossiers/{dossier}/history.csv")).status_code == 404
    refused = [event for event in await chain(dossier) if event["outcome"] == "refused"]
    assert len(refused) == 4
    assert [event["reason"] for event in refused] == ["not their dossier"] * 2 + [
        "not in the care circle"
    ] * 2
    assert (await browser.get(f"/dossiers/{uuid.uuid4()}/history")).status_code == 404


async def test_emergency_access_stands_out_with_its_reason(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    await audit.record(Action.EMERGENCY_ACCESS, URGENCE, dossier_id=dossier, mode=Mode.EMERGENCY,
                       mode_detail="Patiente inconsciente, admise aux urgences",
                       purpose=Purpose.BTG)  # fmt: skip
    browser = new_browser()
    await log_in(browser, alice)
    page = (await browser.get(f"/dossiers/{dossier}/history?mode=emergency")).text
    assert page.count('class="alert-access"') == 1
    assert "Patiente inconsciente, admise aux urgences" in page
    assert len(sentences(page)) == 1  # only the emergency access, not the patient's own views


async def test_filters_by_person_and_period(portal, new_browser, clock):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier)
    clock.advance(days=3)
    await audit.record(Action.VIEW, URGENCE, dossier_id=dossier)
    browser = new_browser()
    await log_in(browser, alice)
    page = await browser.get(f"/dossiers/{dossier}/history?professional={GARCIA.account_id}")
    assert any("Karim" in sentence for sentence in sentences(page.text))
    assert not any("Inès" in sentence for sentence in sentences(page.text))
    day = clock().date().isoformat()
    page = await browser.get(f"/dossiers/{dossier}/history?start={day}&end={day}")
    assert not any("Karim" in sentence for sentence in sentences(page.text))
    page = await browser.get(f"/dossiers/{dossier}/history?start=31/02/2026")
    assert page.status_code == 400
    assert (
        translated("fr", "A date was not understood: use the date picker, or type YYYY-MM-DD.")
        in page.text
    )


async def test_times_are_shown_and_filtered_in_french_time(portal, new_browser, clock):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    clock.advance(hours=14, minutes=29)  # 2 March, 23:29 UTC: 00:29 on 3 March in Paris
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier)
    browser = new_browser()
    await log_in(browser, alice)
    page = await browser.get(f"/dossiers/{dossier}/history")
    assert re.search(r"<time [^>]*>03/03/2026 00:29</time>\s*<p>[^<]*Karim", page.text)
    on_the_3rd = await browser.get(f"/dossiers/{dossier}/history?start=2026-03-03&end=2026-03-03")
    assert any("Karim" in sentence for sentence in sentences(on_the_3rd.text))
    on_the_2nd = await browser.get(f"/dossiers/{dossier}/history?start=2026-03-02&end=2026-03-02")
    assert not any("Karim" in sentence for sentence in sentences(on_the_2nd.text))


async def test_long_histories_are_paginated(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    async with db.current().write_transaction():
        for _ in range(60):
            await audit.record(Action.VIEW, GARCIA, dossier_id=dossier)
    browser = new_browser()
    await log_in(browser, alice)
    first = await browser.get(f"/dossiers/{dossier}/history")
    assert len(sentences(first.text)) == 50
    assert "page=2" in first.text
    second = await browser.get(f"/dossiers/{dossier}/history?page=2")
    assert len(sentences(second.text)) == 62 - 50  # Garcia's 60 views and the 2 page views
    assert "page=3" not in second.text


async def test_the_history_can_be_exported(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier)
    browser = new_browser()
    await log_in(browser, alice)
    export = await browser.get(f"/dossiers/{dossier}/history.csv")
    assert export.headers["content-disposition"].startswith("attachment;")
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
    lines = export.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + 2  # a header, Garcia's view and the export itself
    assert "Karim Garcia" in lines[2]
    assert (await chain(dossier))[-1]["action"] == "export"


async def test_the_patient_can_check_the_integrity(portal, new_browser, database_url):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier)
    browser = new_browser()
    await log_in(browser, alice)
    await browser.get(f"/dossiers/{dossier}/history")
    intact = await browser.submit(f"/dossiers/{dossier}/history/verify", follow_redirects=True)
    assert translated("fr", INTACT) % {"count": 3} in intact.text

    await drop_append_only_triggers(db.current())
    await AuditEvent.raw(
        "UPDATE audit_event SET actor_name = 'Personne' WHERE seq = 1 AND chain = {}",
        f"dossier:{dossier}",
    )
    broken = await browser.submit(f"/dossiers/{dossier}/history/verify", follow_redirects=True)
    assert translated("fr", ALTERED) in broken.text
