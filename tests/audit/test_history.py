"""The patient's access history: every access to their dossier, in words that name what was
read as the patient may see it, grouped by person and visit (emergency and SAMU accesses
first), newest first, filtered, paginated, exported and checked — and itself traced."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from html import unescape

from bench.overview import count_statements
from portal import audit, clock, db
from portal.audit import Action, Actor, Mode, Outcome, Purpose
from portal.audit.tables import AuditEvent
from portal.dossiers.tables import Dossier, Representative
from portal.identity.tables import Patient
from tests.access.conftest import add_document
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


def text(html: str) -> str:
    return re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", "", html)).strip(" ")


def sentences(page: str) -> list[str]:
    """Each visit's line: who, when, and what they read."""
    return [text(line) for line in re.findall(r"<summary>(.*?)</summary>", page, re.S)]


def deeds(page: str) -> list[str]:
    """What each access of the visits did, in the words that follow the person's name."""
    return [text(deed) for deed in re.findall(r"<li[^>]*><time [^>]*>[^<]*</time>(.*?)</li>", page)]


def fr(message: str, **values) -> str:
    return translated("fr", message) % values if values else translated("fr", message)


async def test_the_history_names_what_dr_garcia_read_grouped_in_one_visit(
    portal, new_browser, clock
):
    camille = await new_patient(first_name="Camille", last_name="Martin")
    dossier = await dossier_of(camille)
    echo = await add_document(dossier, title="Échographie cardiaque", care_date=date(2026, 2, 20))
    letter = await add_document(dossier, title="Lettre d'adressage", care_date=date(2026, 2, 27))
    for target_type, target_id in (("dossier", ""), ("summary", ""), ("document", echo),
                                   ("document", letter), ("document", echo)):  # fmt: skip
        await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type=target_type,
                           target_id=str(target_id), purpose=Purpose.TREAT)  # fmt: skip
        clock.advance(minutes=4)
    clock.advance(hours=2)  # a later consultation: another visit
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="dossier")
    browser = new_browser()
    await log_in(browser, camille)
    page = (await browser.get(f"/dossiers/{dossier}/history")).text

    echo_named = "«\u00a0Échographie cardiaque\u00a0» (soins du 20/02/2026)"
    letter_named = "«\u00a0Lettre d&#39;adressage\u00a0» (soins du 27/02/2026)"
    assert sentences(page) == [
        "Dr Karim Garcia, médecin — le 2 mars 2026 à 12:20\u00a0: le dossier",
        "Dr Karim Garcia, médecin — le 2 mars 2026 à 10:00\u00a0: le dossier, la synthèse "
        f"médicale, 2 documents\u00a0: {echo_named}, {letter_named}",
    ]  # the patient's own reading of the history is out of the way
    assert deeds(page) == [
        "a ouvert le dossier",
        "a ouvert le dossier",
        "a consulté la synthèse médicale",
        f"a consulté le document {echo_named}",
        f"a consulté le document {letter_named}",
        f"a consulté le document {echo_named}",
    ]
    assert page.count("<details>") == 2  # each visit opens to its detail, without JavaScript


async def test_the_history_names_each_document_as_the_patient_may_see_it(
    portal, new_browser, clock
):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    hidden = await add_document(
        dossier, title="Biopsie: résultat", hidden_until=clock() + timedelta(days=7)
    )
    for document in (hidden, uuid.uuid4()):  # the second, deleted since (or never there)
        await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="document",
                           target_id=str(document))  # fmt: skip
    browser = new_browser()
    await log_in(browser, alice)
    page = (await browser.get(f"/dossiers/{dossier}/history")).text
    assert "Biopsie" not in page
    assert deeds(page) == [
        fr("viewed %(what)s", what=fr("a document awaiting announcement")),
        fr("viewed %(what)s", what=fr("a deleted document")),
    ]
    assert (
        "2 documents\u00a0: un document en attente d’annonce, un document supprimé depuis" in page
    )

    clock.advance(days=8)  # announced: now named
    browser = new_browser()
    await log_in(browser, alice)
    page = (await browser.get(f"/dossiers/{dossier}/history")).text
    assert "a consulté le document «\u00a0Biopsie: résultat\u00a0» (soins du 01/10/2026)" in page


async def test_the_patients_own_readings_are_shown_on_request(portal, new_browser):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="dossier")
    browser = new_browser()
    await log_in(browser, alice)
    page = (await browser.get(f"/dossiers/{dossier}/history")).text
    assert not any("Alice Roux" in sentence for sentence in sentences(page))
    assert 'name="own" value="1"' in page  # a plain form brings them back
    everyone = (await browser.get(f"/dossiers/{dossier}/history?own=1")).text
    assert any(sentence.startswith("Alice Roux — ") for sentence in sentences(everyone))
    assert fr("viewed %(what)s", what=fr("the access history")) in deeds(everyone)


async def test_a_refusal_is_shown_as_such(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    letter = await add_document(dossier, title="Compte rendu", care_date=date(2026, 1, 5))
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="document",
                       target_id=str(letter), outcome=Outcome.REFUSED)  # fmt: skip
    browser = new_browser()
    await log_in(browser, alice)
    page = (await browser.get(f"/dossiers/{dossier}/history")).text
    assert deeds(page) == [
        "a tenté d’ouvrir le document «\u00a0Compte rendu\u00a0» (soins du 05/01/2026) — refusé"
    ]
    assert sentences(page)[0].endswith("\u00a0: 1 tentative refusée")
    assert '<li class="refused">' in page


async def test_emergency_accesses_come_first_and_stand_out(portal, new_browser, clock):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    await audit.record(Action.EMERGENCY_ACCESS, URGENCE, dossier_id=dossier, mode=Mode.EMERGENCY,
                       mode_detail="Patiente inconsciente, admise aux urgences",
                       purpose=Purpose.BTG, target_type="dossier")  # fmt: skip
    await audit.record(Action.VIEW, URGENCE, dossier_id=dossier, mode=Mode.EMERGENCY,
                       mode_detail="Patiente inconsciente, admise aux urgences",
                       target_type="summary")  # fmt: skip
    clock.advance(minutes=5)  # the same doctor, another emergency: another visit
    await audit.record(Action.EMERGENCY_ACCESS, URGENCE, dossier_id=dossier, mode=Mode.EMERGENCY,
                       mode_detail="Nouveau malaise, transportée aux urgences",
                       purpose=Purpose.BTG, target_type="dossier")  # fmt: skip
    clock.advance(days=1)
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="dossier")
    browser = new_browser()
    await log_in(browser, alice)
    page = (await browser.get(f"/dossiers/{dossier}/history")).text
    said = sentences(page)
    assert said[0].startswith("Dr Inès Faure, médecin — le 2 mars 2026 à 10:05")
    assert said[1].startswith("Dr Inès Faure, médecin — le 2 mars 2026 à 10:00")
    assert said[2].startswith("Dr Karim Garcia, médecin — le 3 mars 2026")  # newer, yet after
    assert page.count('class="alert-access"') == 2
    assert re.search(r'<ol class="history">\s*<li class="alert-access">', page)
    assert page.count("Patiente inconsciente, admise aux urgences") == 1
    assert page.count("Nouveau malaise, transportée aux urgences") == 1
    assert deeds(page)[:3] == [
        "a ouvert le dossier en accès d’urgence",
        "a ouvert le dossier en accès d’urgence",
        "a consulté la synthèse médicale",
    ]


async def test_each_section_names_its_own_actions(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    await audit.record(Action.CREATE, GARCIA, dossier_id=dossier, target_type="vaccination",
                       target_id=str(uuid.uuid4()))  # fmt: skip
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="section",
                       target_id="end_of_life")  # fmt: skip
    await audit.record(
        Action.CREATE, GARCIA, dossier_id=dossier, target_type="section", target_id="sleep_diary"
    )  # fmt: skip  (no such section here)
    await audit.record(
        Action.CREATE, GARCIA, dossier_id=dossier, target_type="occupational_health"
    )  # fmt: skip  (no Deed for it)
    await audit.record(Action.CREATE, GARCIA, dossier_id=dossier, target_type="document",
                       target_id=str(await add_document(dossier, title="Ordonnance")))  # fmt: skip
    browser = new_browser()
    await log_in(browser, alice)
    page = (await browser.get(f"/dossiers/{dossier}/history")).text
    assert deeds(page) == [
        "a enregistré une vaccination",
        "a consulté la rubrique «\u00a0Volontés de fin de vie\u00a0»",
        "a écrit dans une rubrique du dossier",
        "a écrit dans la rubrique «\u00a0Santé au travail\u00a0»",
        "a ajouté le document «\u00a0Ordonnance\u00a0» (soins du 01/10/2026) au dossier",
    ]
    assert "a ajouté le dossier" not in page
    english = await browser.get(f"/dossiers/{dossier}/history", headers={"accept-language": "en"})
    assert "recorded a vaccination" in deeds(english.text)


async def test_the_page_names_its_documents_in_the_same_few_statements(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    browser = new_browser()
    await log_in(browser, alice)

    async def statements() -> int:
        await browser.get(f"/dossiers/{dossier}/history")
        with count_statements(db.current().engine) as counted:
            page = await browser.get(f"/dossiers/{dossier}/history")
        assert page.status_code == 200
        return len(counted.queries)

    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="document",
                       target_id=str(await add_document(dossier)))  # fmt: skip
    one = await statements()
    async with db.current().write_transaction():
        for number in range(30):
            document = await add_document(dossier, title=f"Document {number}")
            await audit.record(Action.VIEW, URGENCE, dossier_id=dossier, target_type="document",
                               target_id=str(document))  # fmt: skip
            await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="section",
                               target_id="vaccination")  # fmt: skip
    assert await statements() == one


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


async def test_a_representative_is_not_told_the_title_of_a_minors_confidential_care(
    portal, new_browser, clock
):
    parent = await new_patient(first_name="Camille")
    dossier = await dossier_of(await new_patient(first_name="Léo"))
    await Representative.insert(Representative(dossier=dossier, account=parent.id, since=clock()))
    secret = await add_document(dossier, title="Contraception", hidden_from_representatives=True)
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="document",
                       target_id=str(secret))  # fmt: skip
    clock.advance(days=30)  # the 1st of April: "1er" in French
    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="dossier")
    browser = new_browser()
    await log_in(browser, parent)
    page = (await browser.get(f"/dossiers/{dossier}/history")).text
    assert "Contraception" not in page
    assert fr("viewed %(what)s", what=fr("a confidential document")) in deeds(page)
    assert sentences(page)[0].startswith("Dr Karim Garcia, médecin — le 1er avril 2026 à ")


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
    assert sentences(page.text)[0].startswith("Dr Karim Garcia, médecin — le 3 mars 2026 à 00:29")
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
    assert len(deeds(first.text)) == 50
    [older] = re.findall(r'href="([^"]*before=\d+)"', first.text)
    assert "after=" not in first.text  # the newest page
    second = await browser.get(unescape(older))
    assert len(deeds(second.text)) == 60 - 50  # Garcia's 60 views (the patient's own: apart)
    assert "before=" not in second.text  # the oldest page
    [newer] = re.findall(r'href="([^"]*after=\d+)"', second.text)
    back = await browser.get(unescape(newer))
    assert deeds(back.text) == deeds(first.text)


async def test_every_page_costs_the_same_whatever_the_chain_s_length(portal, new_browser):
    """The newest page, an older one and a page filtered by person run the same statements
    on a chain of a few events and on one of hundreds: nothing counts or scans the chain."""
    alice = await new_patient()
    dossier = await dossier_of(alice)
    browser = new_browser()
    await log_in(browser, alice)
    await audit.record(Action.VIEW, URGENCE, dossier_id=dossier)  # far back, once

    async def statements(path: str) -> tuple[int, str]:
        engine = db.current().engine
        with count_statements(engine) as counted:
            page = await browser.get(f"/dossiers/{dossier}/history{path}")
        assert page.status_code == 200
        if db.current().is_sqlite:  # and every read of the trail is an index search
            for query in counted.queries:
                if re.search(r'FROM "?audit_', query):
                    plan = " ".join(row["detail"] for row in await engine.run_ddl(
                        f"EXPLAIN QUERY PLAN {query}"))  # fmt: skip
                    assert "SCAN" not in plan, (query, plan)
                    if re.search(r'FROM "?audit_event', query):  # (the people: a few rows)
                        assert "TEMP B-TREE" not in plan, (query, plan)
        return len(counted.queries), page.text

    async def costs() -> list[int]:
        first, page = await statements("")
        [older] = re.findall(r"before=(\d+)", page) or ["1000000"]
        return [first, (await statements(f"?before={older}"))[0],
                (await statements(f"?professional={URGENCE.account_id}"))[0]]  # fmt: skip

    await audit.record(Action.VIEW, GARCIA, dossier_id=dossier)
    short = await costs()
    async with db.current().write_transaction():
        for _ in range(300):
            await audit.record(Action.VIEW, GARCIA, dossier_id=dossier)
    long = await costs()
    assert long == short
    assert short[0] <= 9  # session, facts, the page's own event (2), page, people, receipt...
    # Inès Faure, whose one access is 300 events back, is still offered by the filter.
    _, page = await statements("")
    assert f'value="{URGENCE.account_id}"' in page


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
    assert "Dr Karim Garcia, médecin a consulté le dossier." in lines[2]
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
