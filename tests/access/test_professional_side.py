"""The professional's side: their patients, finding a patient by NIR (which says nothing of a
dossier they may not open), declaring the patient's consent at a consultation (the patient is
told at the first opening), emergency access ("bris de glace": a written reason, four hours, a
new session, a banner on every page, the patient and the médecin traitant told, refused after
the patient's opt-out) and SAMU regulation access (a call reference, the emergency-relevant
categories, its own opt-out)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from portal.access.tables import CircleMember, EmergencyGrant, Joined
from portal.i18n import translations
from portal.identity.numbers import format_nir
from portal.identity.tables import Patient, Role
from portal.notifications.tables import Notification
from tests.access.conftest import (
    add_document,
    block,
    dossier_of,
    join,
    nir_of,
    open_in_emergency,
    post_form,
    refusals,
    signed_in_browser,
    trail,
)
from tests.conftest import translated
from tests.identity.conftest import (
    Browser,
    FrozenClock,
    Person,
    new_nir,
    new_patient,
    new_professional,
)

REASON = "Patiente inconsciente aux urgences, pronostic vital engagé"
CALL = "SAMU75-2026-004217"
BANNER = 'class="emergency-banner"'
NO_ACCESS = (
    "You do not have access to this patient's record yet. Ask the patient for their consent "
    "during the consultation."
)
NO_RECORD = "No record can be opened with this number. Check it with the patient's carte Vitale."
CONSENT_FORM = 'action="/patients/consent"'
EMERGENCY_FORM = 'action="/patients/emergency"'
SAMU_FORM = 'action="/patients/samu"'


def fr(message: str) -> str:
    return translated("fr", message)


async def look_up(browser: Browser, nir: str) -> str:
    """The answer of /patients to a search for ``nir`` (a page of status 200)."""
    assert (await browser.get("/patients")).status_code == 200
    found = await browser.submit("/patients/lookup", {"nir": nir})
    assert found.status_code == 200, found.status_code
    return found.text


def without(nir: str, page: str) -> str:
    """The page with the NIR taken out, however it is written."""
    return page.replace(format_nir(nir), "NIR").replace(nir, "NIR")


async def told(person: Person, kind: str) -> list[dict]:
    """The parameters of the notifications of ``kind`` that ``person`` received."""
    rows = (
        await Notification.select(Notification.params)
        .where(Notification.account == person.id, Notification.kind == kind)
        .output(load_json=True)
    )
    return [row["params"] for row in rows]


async def grants(dossier: UUID) -> int:
    return await EmergencyGrant.count().where(EmergencyGrant.dossier == dossier)


async def keep_working(browser: Browser, clock: FrozenClock, minutes: int) -> None:
    """Use the portal every ten minutes for ``minutes``, so that the session stays open."""
    for _ in range(minutes // 10):
        clock.advance(minutes=10)
        assert (await browser.get("/patients")).status_code == 200


# --- the professional's patients ------------------------------------------------------------


async def test_the_patients_page_lists_the_patients_one_may_open(portal, new_browser):
    doctor = await new_professional()
    names = ("Roux", "Marchand", "Tanguy", "Vidal")
    roux, marchand, tanguy, vidal = [await new_patient(last_name=name) for name in names]
    await dossier_of(roux, medecin_traitant=doctor.id)
    await join(await dossier_of(marchand), doctor)
    blocked = await dossier_of(tanguy)
    await join(blocked, doctor)
    await block(blocked, doctor)
    await dossier_of(vidal)
    browser = await signed_in_browser(new_browser, doctor)

    page = (await browser.get("/patients")).text
    assert "Roux Alice" in page
    assert "Marchand Alice" in page
    assert "Tanguy" not in page
    assert "Vidal" not in page


async def test_a_professional_finds_a_patient_among_their_own_by_name_and_birth_date(
    portal, new_browser
):
    doctor = await new_professional()
    martin, durand, blocked, elsewhere = [
        await new_patient(first_name=first, last_name=last)
        for first, last in (("Camille", "Martin"), ("Camille", "Durand"),
                            ("Camille", "Bloquée"), ("Camille", "Martinez"))
    ]  # fmt: skip
    await join(await dossier_of(martin), doctor)
    await dossier_of(durand, medecin_traitant=doctor.id)
    await block(await dossier_of(blocked), doctor)
    await dossier_of(elsewhere)  # not the doctor's patient: never found here
    await Patient.update({Patient.birth_date: date(1990, 5, 3)}).where(Patient.account == durand.id)
    browser = await signed_in_browser(new_browser, doctor)
    await browser.get("/patients")

    async def found(status: int = 200, **search: str) -> str:
        answer = await browser.submit("/patients/search", search)
        assert answer.status_code == status, answer.status_code
        return answer.text

    both = await found(name="camille")
    assert "Martin Camille" in both
    assert "Durand Camille" in both
    assert "Martinez" not in both
    assert "Bloquée" not in both
    assert "Camille Martinez" not in await found(name="martinez")
    by_name = await found(name="  MARTÍN  cam ")  # without case or accents, any order
    assert "Martin Camille" in by_name
    assert "Durand" not in by_name
    for typed in ("03/05/1990", "1990-05-03"):
        by_birth = await found(name="", birth_date=typed)
        assert "Durand Camille" in by_birth
        assert "Martin Camille" not in by_birth
    assert "Martin Camille" not in await found(name="camille", birth_date="03/05/1990")
    nobody = await found(name="zoé", birth_date="")
    none_found = translations("fr").ngettext(
        "%(count)s patient found among yours.", "%(count)s patients found among yours.", 0
    )
    assert none_found % {"count": 0} in nobody

    assert fr("Type a name, a date of birth, or both.") in await found(400, name=" ", birth_date="")
    assert "jour/mois/année" in await found(400, name="camille", birth_date="31/02/1990")


async def test_a_regulator_is_offered_the_search_by_nir_only(portal, new_browser):
    regulator = await signed_in_browser(
        new_browser, await new_professional(role=Role.SAMU_REGULATOR)
    )
    page = (await regulator.get("/patients")).text
    assert 'action="/patients/lookup"' in page
    assert 'action="/patients/search"' not in page
    assert 'href="/dossiers/new"' not in page
    assert fr("No patient has given you access yet.") not in page
    assert (
        fr(
            "As a SAMU regulator, you have no patients of your own: find the patient of a "
            "regulation call by their social security number, below."
        )
        in page
    )
    assert (await post_form(regulator, "/patients/search", name="camille")).status_code == 403


async def test_the_patients_most_recently_entrusted_come_first(portal, new_browser, clock):
    doctor = await new_professional()
    older, designated, newest = [
        await new_patient(last_name=name) for name in ("Ancien", "Designe", "Nouveau")
    ]
    await join(await dossier_of(older), doctor)
    clock.advance(days=1)
    patient = await dossier_of(designated)
    clock.advance(days=1)
    await join(await dossier_of(newest), doctor)
    clock.advance(days=1)
    camille = await signed_in_browser(new_browser, designated)
    chosen = await post_form(
        camille, f"/dossiers/{patient}/access/medecin-traitant", professional=str(doctor.id)
    )
    assert chosen.status_code == 303, chosen.status_code
    browser = await signed_in_browser(new_browser, doctor)

    page = (await browser.get("/patients")).text
    assert page.index("Designe") < page.index("Nouveau") < page.index("Ancien")
    assert "suivi(e) par vous depuis le 05/03/2026" in page  # the designation, not the dossier
    assert "suivi(e) par vous depuis le 02/03/2026" in page


# --- looking a patient up -------------------------------------------------------------------


async def test_an_invalid_nir_is_refused_with_a_message(portal, new_browser):
    doctor = await new_professional()
    browser = await signed_in_browser(new_browser, doctor)
    nir = new_nir()
    wrong_key = nir[:13] + ("01" if nir[13:] != "01" else "02")
    await browser.get("/patients")
    answer = await browser.submit("/patients/lookup", {"nir": wrong_key})
    assert answer.status_code == 400
    assert fr("The key does not match the number: check each digit.") in answer.text


async def test_a_lookup_says_the_same_of_no_dossier_a_closed_one_and_a_blocking_one(
    portal, new_browser
):
    doctor = await new_professional()
    closed = await new_patient(first_name="Xavier", last_name="Ferme")
    await dossier_of(closed, status="closed")
    blocking = await new_patient(first_name="Yves", last_name="Tanguy")
    await block(await dossier_of(blocking), doctor)
    browser = await signed_in_browser(new_browser, doctor)

    answers = []
    for nir in (await nir_of(closed), await nir_of(blocking), new_nir()):
        page = await look_up(browser, nir)
        assert fr(NO_RECORD) in page
        assert CONSENT_FORM not in page
        assert EMERGENCY_FORM not in page
        answers.append(without(nir, page))
    assert answers[0] == answers[1] == answers[2]
    for name in ("Xavier", "Ferme", "Yves", "Tanguy"):
        assert name not in answers[0]


async def test_a_lookup_offers_the_requests_that_would_work_and_says_why_not_the_others(
    portal, new_browser
):
    outside = await new_patient(first_name="Zoé", last_name="Marchand")
    await dossier_of(outside)
    opted_out = await new_patient()
    refusing = await dossier_of(opted_out, refuses_emergency_access=True, refuses_samu_access=True)
    doctor = await signed_in_browser(new_browser, await new_professional())
    page = await look_up(doctor, await nir_of(outside))
    assert fr(NO_ACCESS) in page
    assert CONSENT_FORM in page
    assert EMERGENCY_FORM in page
    assert SAMU_FORM not in page
    assert "Zoé" not in page

    dentist_person = await new_professional(profession="chirurgien_dentiste")
    dentist = await signed_in_browser(new_browser, dentist_person)
    page = await look_up(dentist, await nir_of(outside))
    assert CONSENT_FORM in page
    assert EMERGENCY_FORM not in page
    assert fr("Emergency access is for doctors, midwives and nurses.") in page

    urgentist_person = await new_professional()
    urgentist = await signed_in_browser(new_browser, urgentist_person)
    page = await look_up(urgentist, await nir_of(opted_out))
    assert CONSENT_FORM in page
    assert EMERGENCY_FORM not in page
    refused = "This patient has refused emergency access to their record. Your request is recorded."
    assert fr(refused) in page
    [traced] = await refusals(refusing, urgentist_person)  # what the lookup told, traced
    assert (traced["action"], traced["reason"]) == (
        "emergency-access",
        "the patient refuses emergency access",
    )

    regulator_person = await new_professional(role=Role.SAMU_REGULATOR)
    regulator = await signed_in_browser(new_browser, regulator_person)
    page = await look_up(regulator, await nir_of(outside))
    assert SAMU_FORM in page
    assert CONSENT_FORM not in page
    assert EMERGENCY_FORM not in page
    assert (
        fr(
            "As a SAMU regulator, you read a record for a regulation call only: the patient's "
            "consent is declared by the professionals who treat them."
        )
        in page
    )
    page = await look_up(regulator, await nir_of(opted_out))
    assert SAMU_FORM not in page
    samu = "This patient has refused SAMU access to their record. Your request is recorded."
    assert fr(samu) in page
    assert [event["action"] for event in await refusals(refusing, regulator_person)] == [
        "samu-access"
    ]


async def test_a_blocked_professional_is_answered_as_if_there_were_no_dossier(portal, new_browser):
    blocking = await new_patient(first_name="Yves", last_name="Tanguy")
    dossier = await dossier_of(blocking)
    doctor = await new_professional()
    await block(dossier, doctor)
    browser = await signed_in_browser(new_browser, doctor)

    for action, fields in (
        ("/patients/consent", {"consent": "on"}),
        ("/patients/emergency", {"reason": REASON}),
    ):
        answers = []
        for nir in (await nir_of(blocking), new_nir()):
            # The lookup offers no form; the request, sent all the same, is answered alike.
            await look_up(browser, nir)
            answer = await post_form(browser, action, nir=nir, **fields)
            answers.append((answer.status_code, without(nir, answer.text)))
        assert answers[0] == answers[1], action
        assert answers[0][0] == 404
        assert "Tanguy" not in answers[0][1]
    assert not await CircleMember.exists().where(CircleMember.dossier == dossier)
    assert await grants(dossier) == 0


# --- declared consent -----------------------------------------------------------------------


async def test_declaring_consent_needs_the_box_ticked(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    doctor = await new_professional()
    browser = await signed_in_browser(new_browser, doctor)
    await look_up(browser, await nir_of(alice))

    answer = await browser.submit("/patients/consent", {"consent": None})
    assert answer.status_code == 400
    assert fr("Tick the box once the patient, in front of you, has agreed.") in answer.text
    assert not await CircleMember.exists().where(CircleMember.dossier == dossier)


async def test_declared_consent_opens_the_dossier_and_is_recorded(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    doctor = await new_professional()
    browser = await signed_in_browser(new_browser, doctor)
    await look_up(browser, await nir_of(alice))

    answer = await browser.submit("/patients/consent", {"consent": "on"})
    assert (answer.status_code, answer.headers["location"]) == (303, f"/dossiers/{dossier}")
    member = await CircleMember.select().where(CircleMember.dossier == dossier).first()
    assert (member["professional"], member["joined"]) == (doctor.id, "consent")
    consent = [event for event in await trail(dossier, doctor) if event["action"] == "consent"]
    assert [event["outcome"] for event in consent] == ["allowed"]
    assert (await browser.get(f"/dossiers/{dossier}")).status_code == 200


async def test_the_patient_is_told_of_the_first_opening_only(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    doctor = await new_professional(first_name="Bruno", last_name="Leclerc")
    browser = await signed_in_browser(new_browser, doctor)
    await look_up(browser, await nir_of(alice))
    await browser.submit("/patients/consent", {"consent": "on"})
    assert await told(alice, "first_access") == []

    for _ in range(2):
        assert (await browser.get(f"/dossiers/{dossier}")).status_code == 200
    [first] = await told(alice, "first_access")
    assert first["who"] == "Bruno Leclerc"


async def test_the_first_opening_is_told_even_when_it_is_a_document(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    report = await add_document(dossier, title="Compte rendu de cardiologie")
    doctor = await new_professional(first_name="Bruno", last_name="Leclerc")
    await join(dossier, doctor, Joined.CONSENT)
    browser = await signed_in_browser(new_browser, doctor)

    assert (await browser.get(f"/dossiers/{dossier}/documents/{report}")).status_code == 200
    assert [notice["who"] for notice in await told(alice, "first_access")] == ["Bruno Leclerc"]
    assert (await browser.get(f"/dossiers/{dossier}")).status_code == 200
    assert len(await told(alice, "first_access")) == 1


# --- emergency access -----------------------------------------------------------------------


async def test_emergency_access_needs_a_written_reason(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    urgentist = await new_professional()
    browser = await signed_in_browser(new_browser, urgentist)
    await look_up(browser, await nir_of(alice))

    for reason in ("", "Urgence vitale", "Inconsciente.............."):
        answer = await browser.submit("/patients/emergency", {"reason": reason})
        assert answer.status_code == 400, reason
        assert (
            fr(
                "Write the reason in a sentence: what is happening, and why the patient cannot "
                "consent."
            )
            in answer.text
        )
    assert await grants(dossier) == 0
    assert (await browser.get(f"/dossiers/{dossier}")).status_code == 404


async def test_emergency_access_rotates_the_session_and_shows_a_banner(portal, new_browser):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    urgentist = await new_professional()
    browser = await signed_in_browser(new_browser, urgentist)
    before = browser.session_cookie
    assert BANNER not in (await browser.get("/account")).text

    answer = await open_in_emergency(browser, alice, REASON)
    assert (answer.status_code, answer.headers["location"]) == (303, f"/dossiers/{dossier}")
    assert browser.session_cookie not in (None, before)
    for page in (f"/dossiers/{dossier}", "/account", "/patients", "/notifications"):
        shown = await browser.get(page)
        assert shown.status_code == 200, page
        assert BANNER in shown.text, page
    assert "Alice Roux" in shown.text
    stale = new_browser()
    stale.set_session_cookie(before)
    assert not await stale.is_signed_in()


async def test_the_patient_and_the_medecin_traitant_are_told_with_the_reason(portal, new_browser):
    alice = await new_patient()
    traitant = await new_professional(first_name="Karim", last_name="Garcia")
    dossier = await dossier_of(alice, medecin_traitant=traitant.id)
    urgentist = await new_professional(first_name="Inès", last_name="Faure")
    browser = await signed_in_browser(new_browser, urgentist)
    await open_in_emergency(browser, alice, REASON)

    for person in (alice, traitant):
        [notice] = await told(person, "emergency_access")
        assert (notice["who"], notice["reason"]) == ("Inès Faure", REASON)
    patient_browser = await signed_in_browser(new_browser, alice)
    history = await patient_browser.get(f"/dossiers/{dossier}/history?mode=emergency")
    assert 'class="alert-access"' in history.text
    assert REASON in history.text
    assert "Inès Faure" in history.text


async def test_emergency_access_ends_after_four_hours(portal, new_browser, clock):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    urgentist = await new_professional()
    browser = await signed_in_browser(new_browser, urgentist)
    await open_in_emergency(browser, alice, REASON)

    await keep_working(browser, clock, minutes=3 * 60 + 50)
    assert (await browser.get(f"/dossiers/{dossier}")).status_code == 200
    assert BANNER in browser.page
    await keep_working(browser, clock, minutes=10)
    assert (await browser.get(f"/dossiers/{dossier}")).status_code == 404
    assert BANNER not in (await browser.get("/account")).text


async def test_a_pharmacist_is_refused_emergency_access(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    pharmacist = await new_professional(profession="pharmacien")
    browser = await signed_in_browser(new_browser, pharmacist)
    page = await look_up(browser, await nir_of(alice))
    assert 'action="/patients/emergency"' not in page

    answer = await post_form(browser, "/patients/emergency", nir=await nir_of(alice), reason=REASON)
    assert answer.status_code == 403
    assert fr("Emergency access is for doctors, midwives and nurses.") in answer.text
    assert await grants(dossier) == 0
    assert [event["action"] for event in await refusals(dossier, pharmacist)] == [
        "emergency-access"
    ]


async def test_emergency_access_is_refused_when_the_patient_opted_out(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice, refuses_emergency_access=True)
    urgentist = await new_professional()
    browser = await signed_in_browser(new_browser, urgentist)
    before = browser.session_cookie

    # The lookup offers no emergency form; asked for all the same, the access is refused.
    assert EMERGENCY_FORM not in await look_up(browser, await nir_of(alice))
    answer = await post_form(browser, "/patients/emergency", nir=await nir_of(alice), reason=REASON)
    assert answer.status_code == 403
    assert (
        fr("This patient has refused emergency access to their record. Your request is recorded.")
        in answer.text
    )
    assert await grants(dossier) == 0
    assert browser.session_cookie == before
    looked_up, asked = await refusals(dossier, urgentist)
    assert looked_up["action"] == asked["action"] == "emergency-access"
    assert "refuses emergency" in asked["reason"]
    assert asked["mode_detail"] == REASON
    assert await told(alice, "emergency_access") == []


# --- SAMU regulation ------------------------------------------------------------------------


async def open_for_call(browser: Browser, patient: Person, reference: str):
    await look_up(browser, await nir_of(patient))
    return await browser.submit("/patients/samu", {"reference": reference})


async def test_a_regulator_reads_the_emergency_categories_for_a_call(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    await add_document(dossier, "synthese", title="Synthèse médicale")
    scan = await add_document(dossier, "imagerie", title="IRM cérébrale")
    regulator = await new_professional(
        first_name="Hugo", last_name="Samu", role=Role.SAMU_REGULATOR
    )
    browser = await signed_in_browser(new_browser, regulator)

    answer = await open_for_call(browser, alice, CALL)
    assert (answer.status_code, answer.headers["location"]) == (303, f"/dossiers/{dossier}")
    overview = await browser.get(f"/dossiers/{dossier}")
    assert "Synthèse médicale" in overview.text
    assert "IRM cérébrale" not in overview.text
    assert BANNER in overview.text
    page = await browser.get(f"/dossiers/{dossier}/documents/{scan}")
    assert page.status_code in (403, 404)
    assert "IRM cérébrale" not in page.text
    [notice] = await told(alice, "samu_access")
    assert (notice["who"], notice["reference"]) == ("Hugo Samu", CALL)
    opened = [
        event for event in await trail(dossier, regulator) if event["action"] == "samu-access"
    ]
    assert [(event["mode"], event["mode_detail"]) for event in opened] == [("samu", CALL)]


async def test_an_invalid_call_reference_is_refused(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    regulator = await new_professional(role=Role.SAMU_REGULATOR)
    browser = await signed_in_browser(new_browser, regulator)

    answer = await open_for_call(browser, alice, "#1")
    assert answer.status_code == 400
    assert (
        fr(
            "Give the call reference as the regulation software shows it: 3 to 40 letters, "
            "digits, dashes or slashes."
        )
        in answer.text
    )
    assert await grants(dossier) == 0


async def test_the_samu_opt_out_refuses_and_the_emergency_one_does_not(portal, new_browser):
    refusing = await new_patient(first_name="Zoé", last_name="Marchand")
    refused = await dossier_of(refusing, refuses_samu_access=True)
    other = await new_patient(first_name="Yves", last_name="Tanguy")
    allowed = await dossier_of(other, refuses_emergency_access=True)
    regulator = await new_professional(role=Role.SAMU_REGULATOR)
    browser = await signed_in_browser(new_browser, regulator)

    assert SAMU_FORM not in await look_up(browser, await nir_of(refusing))
    answer = await post_form(browser, "/patients/samu", nir=await nir_of(refusing), reference=CALL)
    assert answer.status_code == 403
    assert (
        fr("This patient has refused SAMU access to their record. Your request is recorded.")
        in answer.text
    )
    assert await grants(refused) == 0
    assert [event["reason"] for event in await refusals(refused, regulator)] == [
        "the patient refuses SAMU access"  # the lookup's
    ] * 2  # and the request's
    assert await told(refusing, "samu_access") == []

    answer = await open_for_call(browser, other, CALL)
    assert answer.status_code == 303
    assert (await browser.get(f"/dossiers/{allowed}")).status_code == 200
    assert len(await told(other, "samu_access")) == 1
