"""Opening a dossier, always with the patient's consent: online by the patient (an activation
code by message, then a password and a second factor), at the pharmacy, the insurer's office or
by a professional (a sheet to print with the activation code), and a minor's dossier managed by
the legal representative. Every bad input gets its message, and nothing is opened twice."""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

import pyotp
import pytest

from portal.access.facts import patient_side
from portal.access.tables import CircleMember, Joined
from portal.audit.tables import AuditEvent
from portal.dossiers.creation import Through, open_for, read_application
from portal.dossiers.tables import Dossier, Representative
from portal.identity.accounts import NewAccount
from portal.identity.numbers import nir_key
from portal.identity.tables import Account, Patient, Role
from portal.notifications.tables import Notification
from tests.access.conftest import (
    dossier_of,
    nir_of,
    post_form,
    represent,
    signed_in_browser,
    trail,
)
from tests.access.test_professional_side import look_up
from tests.access.test_professional_side import told as told_of
from tests.audit.test_audit_cli import carnet, use_database
from tests.conftest import translated
from tests.dossiers.test_reimbursements import new_insurer_agent
from tests.identity.conftest import (
    PASSWORD,
    Browser,
    _create,
    enter_code,
    enter_password,
    field_error,
    forms_of,
    log_in,
    new_administrator,
    new_nir,
    new_patient,
    new_professional,
)
from tests.pdf.test_render_pdf import text_of

CODE = re.compile(r"\b([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2})\b")


def fr(message: str) -> str:
    return translated("fr", message)


def nir_born(year: int, month: int, serial: int = 1) -> str:
    """A valid NIR of a woman born in ``month`` of ``year``."""
    first13 = f"2{year % 100:02d}{month:02d}75{serial:06d}"
    return first13 + nir_key(first13)


def adult(**changes: str) -> dict[str, str]:
    values = {
        "nir": nir_born(1986, 4, int(new_nir()[7:13])),
        "first_name": "Rose",
        "last_name": "Lenoir",
        "birth_date": "1986-04-12",
        "email": f"rose.{new_nir()[7:13]}@exemple.fr",
        "phone": "",
        "consent": "on",
    }
    return {**values, **changes}


def child(**changes: str) -> dict[str, str]:
    values = adult(
        nir=nir_born(2018, 9, int(new_nir()[7:13])), first_name="Léo", birth_date="2018-09-03"
    )
    values.pop("email")
    return {**values, **changes}


async def register(browser: Browser, values: dict[str, str]):
    return await browser.open_and_submit("/register", "/register", values)


async def activate(browser: Browser, login: str, code: str):
    return await browser.open_and_submit("/activate", "/activate", {"login": login, "code": code})


async def codes_sent(outbox, recipient: str) -> list[str]:
    return [
        match.group(1)
        for message in await outbox.new(recipient)
        if (match := CODE.search(message["body"]))
    ]


async def dossier_for(nir: str) -> dict | None:
    return await Dossier.select().where(Dossier.patient.nir == nir).first()


async def counts() -> tuple[int, int, int]:
    return (await Dossier.count(), await Patient.count(), await Account.count())


# --- online, by the patient ------------------------------------------------------------------


async def test_a_patient_opens_their_record_online_and_activates_it(portal, browser, outbox):
    values = adult()
    answer = await register(browser, values)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/activate?login={values['email']}"
    [code] = await codes_sent(outbox, values["email"])

    dossier = await dossier_for(values["nir"])
    assert dossier["created_through"] == "online"
    assert dossier["consent_at"] is not None
    [created] = await trail(dossier["id"])
    assert (created["action"], created["reason"]) == (
        "create",
        "opened online, with the patient's consent",
    )
    assert created["purpose"] == "PATRQT"

    # Before the activation, the account has no password: no login.
    refused = await enter_password(browser, values["email"], PASSWORD)
    assert refused.status_code == 400
    activated = await activate(browser, values["email"], code.lower().replace("-", " "))
    assert activated.status_code == 303, activated.text
    reset = urlsplit(activated.headers["location"]).path
    assert reset.startswith("/password/reset/")
    chosen = await browser.open_and_submit(
        reset, reset, {"password": PASSWORD, "confirm": PASSWORD}
    )
    assert chosen.headers["location"] == "/login"
    assert (await activate(browser, values["email"], code)).status_code == 400  # once only

    first = await enter_password(browser, values["email"], PASSWORD)
    assert urlsplit(first.headers["location"]).path == "/login/enrol"
    await browser.get("/login/enrol")
    await browser.submit("/login/enrol/messages")
    [login_code] = [
        match.group(1)
        for message in await outbox.new(values["email"])
        if (match := re.search(r"\b(\d{6})\b", message["body"]))
    ]
    landed = await enter_code(browser, login_code)
    home = await browser.get(landed.headers["location"])
    home = await browser.get(home.headers["location"]) if home.status_code == 303 else home
    assert browser.path == f"/dossiers/{dossier['id']}"
    assert fr("Record of %(name)s") % {"name": "Rose Lenoir"} in home.text


@pytest.mark.parametrize(
    ("field", "changes", "message"),
    [
        (
            "nir",
            {"nir": "2860475000001 00"},
            "The key does not match the number: check each digit.",
        ),
        ("nir", {"nir": ""}, "Enter the social security number."),
        ("first_name", {"first_name": "  "}, "This field is required."),
        ("last_name", {"last_name": "L" * 101}, "At most 100 characters."),
        ("birth_date", {"birth_date": "2999-01-01"}, "The date of birth cannot be in the future."),
        ("birth_date", {"birth_date": "1850-04-01"}, "The date of birth cannot be before 1900."),
        (
            "birth_date",
            {"birth_date": "31/02/1986"},
            "Give the date of birth as day/month/year, for example 12/04/1986.",
        ),
        (
            "birth_date",
            {"birth_date": "1987-04-12"},
            "This date of birth does not match the social security number, whose 2nd to 5th "
            "digits are the year and month of birth: check both.",
        ),
        ("email", {"email": "rose@"}, "Enter an e-mail address, such as prenom.nom@exemple.fr."),
        ("consent", {"consent": None}, "A record is only opened with the patient's consent."),
    ],
)
async def test_bad_input_online_is_refused_with_its_message(
    portal, browser, outbox, field, changes, message
):
    before = await counts()
    answer = await register(browser, adult(**changes))
    assert answer.status_code == 400
    assert field_error(answer.text, field) == fr(message)
    assert await counts() == before
    assert await outbox.new() == []


async def test_a_minor_cannot_open_their_own_record_online(portal, browser):
    answer = await register(browser, {**child(), "email": "leo@exemple.fr"})
    assert answer.status_code == 400
    assert field_error(answer.text, "birth_date") == fr(
        "A minor's record is opened by a legal representative: open your own record first, "
        "then your child's from your space, or ask at a pharmacy."
    )


async def test_a_social_security_number_already_registered_is_refused_helpfully(portal, browser):
    existing = await new_patient()
    await dossier_of(existing)
    before = await counts()
    again = await register(browser, adult(nir=await nir_of(existing)))
    assert again.status_code == 400
    assert field_error(again.text, "nir") == fr(
        "A record already exists for this social security number. If it is yours, log in, or "
        "activate it with the code you were given; if you did not open it, contact your health "
        "insurance office."
    )
    taken = await register(browser, adult(email=existing.login))
    assert field_error(taken.text, "email") == fr(
        "An account already uses this e-mail address: give the patient's own address."
    )
    assert await counts() == before


WAITING = (
    "A registration for this social security number waits for its activation code. If it is "
    "yours, enter the code or ask for a new one; if it is not, open your record at a pharmacy "
    "or at your health insurance office with your identity card: it replaces this "
    "registration."
)


async def test_a_registration_waiting_for_its_code_holds_its_number_online(portal, browser, outbox):
    first = adult()
    assert (await register(browser, first)).status_code == 303
    before = await counts()
    again = await register(browser, adult(nir=first["nir"]))
    assert again.status_code == 400
    assert field_error(again.text, "nir") == fr(WAITING)
    assert await counts() == before
    [code] = await codes_sent(outbox, first["email"])
    assert (await activate(browser, first["email"], code)).status_code == 303


async def tombstones() -> list[dict]:
    return await AuditEvent.select().where(AuditEvent.action == "purge")


async def test_a_record_opened_in_person_replaces_a_registration_never_activated(
    portal, new_browser, outbox
):
    """Someone who knows a patient's number registers it online with their own address; the
    patient, identity card in hand, opens their record at the pharmacy all the same."""
    squatter = adult(first_name="Faux", email="faux@exemple.fr")
    assert (await register(new_browser(portal), squatter)).status_code == 303
    [squatter_code] = await codes_sent(outbox, squatter["email"])
    squatted = await dossier_for(squatter["nir"])

    pharmacist = await new_professional(last_name="Petit", profession="pharmacien")
    counter = await signed_in_browser(new_browser, pharmacist)
    rose = adult(nir=squatter["nir"])
    sheet = await open_at_counter(counter, rose)
    assert sheet.status_code == 200, sheet.text
    [code] = CODE.findall(sheet.text)

    opened = await dossier_for(rose["nir"])
    assert opened["created_through"] == "pharmacy"
    assert opened["id"] != squatted["id"]
    assert await Dossier.count().where(Dossier.patient.nir == rose["nir"]) == 1
    assert not await Account.exists().where(Account.login == squatter["email"])
    assert await trail(squatted["id"]) == []
    [tombstone] = await tombstones()
    assert (tombstone["target_id"], tombstone["actor_account"], tombstone["reason"]) == (
        str(squatted["id"]),
        pharmacist.id,
        "opened online, never activated, replaced by a new registration",
    )
    patient = new_browser(portal)
    assert (await activate(patient, squatter["email"], squatter_code)).status_code == 400
    assert (await activate(patient, rose["email"], code)).status_code == 303


async def test_the_patient_who_registered_online_may_start_again_in_person_with_the_same_address(
    portal, new_browser, outbox
):
    rose = adult()
    assert (await register(new_browser(portal), rose)).status_code == 303
    agent = await new_insurer_agent()
    counter = await signed_in_browser(new_browser, agent)
    sheet = await open_at_counter(counter, rose)
    assert sheet.status_code == 200, sheet.text
    [code] = CODE.findall(sheet.text)
    assert (await dossier_for(rose["nir"]))["created_through"] == "insurer"
    assert (await activate(new_browser(portal), rose["email"], code)).status_code == 303


async def test_a_registration_in_which_anything_happened_is_a_record_like_any_other(
    portal, new_browser
):
    rose = adult()
    assert (await register(new_browser(portal), rose)).status_code == 303
    dossier = await dossier_for(rose["nir"])
    # Rose sees her doctor before activating: the doctor finds her and declares her consent.
    doctor = await signed_in_browser(new_browser, await new_professional())
    await look_up(doctor, rose["nir"])
    assert (await doctor.submit("/patients/consent", {"consent": "on"})).status_code == 303
    counter = await signed_in_browser(
        new_browser, await new_professional(last_name="Petit", profession="pharmacien")
    )
    before = await counts()
    refused = await open_at_counter(counter, adult(nir=rose["nir"]))
    assert refused.status_code == 400
    assert field_error(refused.text, "nir") == fr(
        "A record already exists for this social security number: there is nothing to open. To "
        "read it, ask the patient for their consent from “My patients”."
    )
    assert await counts() == before
    assert (await doctor.get(f"/dossiers/{dossier['id']}")).status_code == 200


async def test_a_registration_whose_codes_expired_frees_its_number_online(
    portal, browser, outbox, clock
):
    first = adult()
    assert (await register(browser, first)).status_code == 303
    clock.advance(days=2, seconds=-1)  # the code lives two days
    assert (await register(browser, adult(nir=first["nir"]))).status_code == 400
    clock.advance(seconds=1)
    again = adult(nir=first["nir"])
    assert (await register(browser, again)).status_code == 303
    assert not await Account.exists().where(Account.login == first["email"])
    [tombstone] = await tombstones()
    assert tombstone["actor_name"] == "online registration"
    [code] = await codes_sent(outbox, again["email"])
    assert (await activate(browser, again["email"], code)).status_code == 303


async def test_carnet_purge_deletes_online_registrations_whose_codes_expired(
    database, monkeypatch, capsys, clock
):
    use_database(monkeypatch, database)
    abandoned, waiting = adult(), adult()
    await open_for(read_application(abandoned, with_login=True), Through.ONLINE, creator=None)
    clock.advance(days=1)
    await open_for(read_application(waiting, with_login=True), Through.ONLINE, creator=None)
    active = await new_patient()
    await dossier_of(active)
    clock.advance(days=1)  # the first registration's code has just expired, not the second's

    assert await carnet(database, "purge") == 0
    assert "Purged 1 online registration never activated, every code expired." in (
        capsys.readouterr().out
    )
    assert await dossier_for(abandoned["nir"]) is None
    assert await dossier_for(waiting["nir"]) is not None
    assert await dossier_for(await nir_of(active)) is not None
    [tombstone] = await tombstones()
    assert (tombstone["actor_name"], tombstone["reason"]) == (
        "carnet purge",
        "opened online, never activated, every code expired",
    )


async def test_names_are_shown_as_text_never_as_markup(portal, browser):
    answer = await register(browser, adult(first_name="<script>alert(1)</script>", nir="1"))
    assert answer.status_code == 400
    assert "<script>alert(1)</script>" not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text


async def test_a_wrong_activation_code_says_the_same_whatever_was_wrong(portal, browser, outbox):
    values = adult()
    await register(browser, values)
    [code] = await codes_sent(outbox, values["email"])
    wrong = await activate(browser, values["email"], "AAAA-AAAA-AA")
    unknown = await activate(browser, "personne@exemple.fr", code)
    assert wrong.status_code == unknown.status_code == 400
    message = fr(
        "This code does not open an account with this address. Check both, or ask for a new code."
    )
    assert message in wrong.text
    assert message in unknown.text
    for _ in range(4):
        await activate(browser, values["email"], "AAAA-AAAA-AA")
    assert (await activate(browser, values["email"], code)).status_code == 400  # void now


async def test_a_new_activation_code_replaces_the_old_one(portal, browser, outbox):
    values = adult()
    await register(browser, values)
    [old] = await codes_sent(outbox, values["email"])
    await browser.get("/activate")
    sent = await browser.submit("/activate/resend", {"login": values["email"]})
    assert sent.status_code == 303
    [new] = await codes_sent(outbox, values["email"])
    assert (await activate(browser, values["email"], old)).status_code == 400
    assert (await activate(browser, values["email"], new)).status_code == 303
    await browser.get("/activate")
    await browser.submit("/activate/resend", {"login": "personne@exemple.fr"})
    assert await outbox.new("personne@exemple.fr") == []


# --- at the counter, or by a professional ----------------------------------------------------


async def open_at_counter(browser: Browser, values: dict[str, str]):
    return await browser.open_and_submit("/dossiers/new", "/dossiers/new", values)


async def test_a_pharmacist_opens_a_record_and_hands_a_sheet(portal, new_browser, outbox):
    pharmacist = await new_professional(
        first_name="Paul", last_name="Petit", profession="pharmacien"
    )
    browser = await signed_in_browser(new_browser, pharmacist)
    values = adult()
    sheet = await open_at_counter(browser, values)
    assert sheet.status_code == 200, sheet.text
    [code] = CODE.findall(sheet.text)
    assert values["email"] in sheet.text

    dossier = await dossier_for(values["nir"])
    assert (dossier["created_through"], dossier["created_by"]) == ("pharmacy", pharmacist.id)
    member = await CircleMember.select().where(CircleMember.dossier == dossier["id"]).first()
    assert (member["professional"], member["joined"]) == (pharmacist.id, Joined.CONSENT)
    # The patient hears of it by message too, without the code.
    [told] = await outbox.new(values["email"])
    assert "Paul Petit" in told["body"]
    assert code not in told["body"]
    assert await Notification.count().where(Notification.kind == "dossier_opened") == 1

    patient = new_browser(portal)
    assert (await activate(patient, values["email"], code)).status_code == 303


async def test_a_patient_without_e_mail_is_opened_and_logs_in_by_text_message(
    portal, new_browser, outbox
):
    pharmacist = await new_professional(last_name="Petit", profession="pharmacien")
    counter = await signed_in_browser(new_browser, pharmacist)
    mobile = f"06 {new_nir()[7:9]} {new_nir()[9:11]} 34 56"
    international = "+336" + mobile[3:].replace(" ", "")
    sheet = await open_at_counter(counter, adult(email="", phone=mobile))
    assert sheet.status_code == 200, sheet.text
    [code] = CODE.findall(sheet.text)
    assert mobile in sheet.text  # the login, as the patient writes it
    assert fr("What happens next") in sheet.text
    account = await Account.select().where(Account.login == international).first()
    assert (account["email"], account["phone"]) == ("", international)
    # The patient hears of the opening by text message.
    assert "Petit" in (await outbox.new(international))[0]["body"]

    patient = new_browser(portal)
    activated = await activate(patient, mobile.replace(" ", "."), code)  # typed any way
    reset = urlsplit(activated.headers["location"]).path
    chosen = await patient.open_and_submit(
        reset, reset, {"password": PASSWORD, "confirm": PASSWORD}
    )
    assert chosen.headers["location"] == "/login"
    first_password = fr("Your password is chosen. You can now log in with it.")
    assert first_password in (await patient.get("/login")).text

    first = await enter_password(patient, mobile, PASSWORD)
    assert urlsplit(first.headers["location"]).path == "/login/enrol"
    setup = (await patient.get("/login/enrol")).text
    assert fr("Receive my codes by text message") in setup
    assert mobile in setup
    await patient.submit("/login/enrol/messages")
    page = (await patient.get("/login/code")).text
    sent = fr(
        "We have sent a 6-digit code by text message to %(number)s. It is valid for 10 minutes."
    )
    assert sent % {"number": mobile} in page
    landed = await enter_code(patient, await outbox.one_code(international))
    assert landed.status_code == 303
    assert (await patient.get("/me")).headers["location"].startswith("/dossiers/")

    # The next login sends the code by text message again.
    await patient.open_and_submit("/account", "/logout", {})
    again = await enter_password(patient, international, PASSWORD)
    assert urlsplit(again.headers["location"]).path == "/login/code"
    assert (await enter_code(patient, await outbox.one_code(international))).status_code == 303


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"email": "", "phone": ""},
            "email",
            "Give the patient's e-mail address or, if they have none, their mobile number: "
            "their codes will then come by text message.",
        ),
        (
            {"email": "", "phone": "01 23 45 67 89"},
            "phone",
            "Text messages only reach a mobile: in France, a number starting with 06 or 07.",
        ),
        (
            {"email": "", "phone": "06 12"},
            "phone",
            "Give a mobile number as it is dialled, for example 06 12 34 56 78.",
        ),
    ],
)
async def test_a_patient_without_e_mail_needs_a_mobile_number(
    portal, new_browser, changes, field, message
):
    pharmacist = await new_professional(profession="pharmacien")
    counter = await signed_in_browser(new_browser, pharmacist)
    before = await counts()
    refused = await open_at_counter(counter, adult(**changes))
    assert refused.status_code == 400
    assert field_error(refused.text, field) == fr(message)
    assert await counts() == before


async def test_without_a_text_message_gateway_an_e_mail_address_is_needed(
    start_portal, new_browser
):
    portal = await start_portal(
        CARNET_MESSAGING="smtp", CARNET_SMTP_URL="smtp://127.0.0.1:9?tls=none"
    )
    pharmacist = await new_professional(profession="pharmacien")
    counter = new_browser(portal)
    await log_in(counter, pharmacist)
    form = (await counter.get("/dossiers/new")).text
    promise = "A patient without e-mail address logs in with it, and receives their codes by text "
    assert fr(promise + "message.") not in form
    refused = await open_at_counter(counter, adult(email="", phone="06 12 34 56 78"))
    assert refused.status_code == 400
    assert field_error(refused.text, "email") == fr(
        "This portal cannot send text messages: give the patient's e-mail address."
    )


async def test_the_same_form_sent_twice_opens_one_record_and_prints_new_codes(
    portal, new_browser, outbox
):
    agent = await new_insurer_agent()
    browser = await signed_in_browser(new_browser, agent)
    page = await browser.get("/dossiers/new")
    [form] = [
        form for form in forms_of(page.text, "/dossiers/new") if form.action == "/dossiers/new"
    ]
    person = adult()
    values = {**form.fields, **person}
    first = await browser.post("/dossiers/new", values)
    again = await browser.post("/dossiers/new", values)  # the same page's form, once more
    assert first.status_code == again.status_code == 200
    [old], [new] = CODE.findall(first.text), CODE.findall(again.text)
    assert await Dossier.count().where(Dossier.patient.nir == values["nir"]) == 1
    patient = new_browser(portal)
    assert (await activate(patient, values["email"], old)).status_code == 400
    assert (await activate(patient, values["email"], new)).status_code == 303

    # A new form (another submission) for the same number is a duplicate.
    duplicate = await open_at_counter(browser, person)
    assert duplicate.status_code == 400
    assert field_error(duplicate.text, "nir") == fr(
        "A record already exists for this social security number: there is nothing to open. To "
        "read it, ask the patient for their consent from “My patients”."
    )


async def test_the_insurer_agent_opens_a_record_but_never_reads_it(portal, new_browser):
    agent = await new_insurer_agent()
    browser = await signed_in_browser(new_browser, agent)
    values = adult()
    assert (await open_at_counter(browser, values)).status_code == 200
    dossier = await dossier_for(values["nir"])
    assert dossier["created_through"] == "insurer"
    assert await CircleMember.count().where(CircleMember.dossier == dossier["id"]) == 0
    assert (await browser.get(f"/dossiers/{dossier['id']}")).status_code == 404


async def test_a_minor_s_record_is_managed_by_the_representative(portal, new_browser, outbox):
    doctor = await new_professional()
    browser = await signed_in_browser(new_browser, doctor)
    values = child(
        rep_email="mere.lenoir@exemple.fr", rep_first_name="Rose", rep_last_name="Lenoir"
    )
    sheet = await open_at_counter(browser, values)
    assert sheet.status_code == 200, sheet.text
    [code] = CODE.findall(sheet.text)
    assert "mere.lenoir@exemple.fr" in sheet.text

    dossier = await dossier_for(values["nir"])
    patient = await Patient.select().where(Patient.nir == values["nir"]).first()
    assert patient["account"] is None  # a minor has no login
    representative = await Account.select().where(Account.login == "mere.lenoir@exemple.fr").first()
    assert representative["role"] == Role.REPRESENTATIVE
    assert await Representative.exists().where(
        Representative.dossier == dossier["id"], Representative.account == representative["id"]
    )
    assert (await activate(new_browser(portal), "mere.lenoir@exemple.fr", code)).status_code == 303


async def test_an_existing_personal_account_is_linked_as_representative(portal, new_browser):
    parent = await new_patient(first_name="Rose", last_name="Lenoir")
    doctor = await new_professional()
    browser = await signed_in_browser(new_browser, doctor)
    values = child(rep_email=parent.login, rep_first_name="Rose", rep_last_name="Lenoir")
    sheet = await open_at_counter(browser, values)
    assert CODE.findall(sheet.text) == []  # nothing to activate
    dossier = await dossier_for(values["nir"])
    parent_browser = await signed_in_browser(new_browser, parent)
    assert (await parent_browser.get(f"/dossiers/{dossier['id']}")).status_code == 200

    other = child(rep_email=doctor.login, rep_first_name="B", rep_last_name="L")
    refused = await open_at_counter(browser, other)
    assert refused.status_code == 400
    assert field_error(refused.text, "rep_email") == fr(
        "This address belongs to a professional or staff account: a legal representative acts "
        "with a personal account."
    )
    missing = await open_at_counter(browser, child())
    assert field_error(missing.text, "rep_email") == fr(
        "Enter an e-mail address, such as prenom.nom@exemple.fr."
    )


# --- coming of age ---------------------------------------------------------------------------


async def opened_at_seventeen(new_browser, parent) -> dict[str, str]:
    """Léo's record, opened by his doctor with his mother when he was 17 (the clock's start);
    what his identity card says."""
    leo = child(
        nir=nir_born(2008, 9, int(new_nir()[7:13])),
        birth_date="2008-09-03",
        rep_email=parent.login,
        rep_first_name="Rose",
        rep_last_name="Lenoir",
    )
    doctor = await signed_in_browser(new_browser, await new_professional())
    assert (await open_at_counter(doctor, leo)).status_code == 200
    return leo


async def test_a_patient_come_of_age_receives_their_record_in_person(
    portal, new_browser, outbox, clock
):
    mother = await new_patient(first_name="Rose", last_name="Lenoir")
    leo = await opened_at_seventeen(new_browser, mother)
    dossier = await dossier_for(leo["nir"])
    clock.advance(days=200)  # Léo is 18
    pharmacist = await new_professional(
        first_name="Paul", last_name="Petit", profession="pharmacien"
    )
    counter = await signed_in_browser(new_browser, pharmacist)
    page = await counter.get("/dossiers/new")
    [form] = [
        form for form in forms_of(page.text, "/dossiers/new") if form.action == "/dossiers/new"
    ]
    # As the pharmacist types it from his identity card, with his own address.
    values = {
        **form.fields,
        **adult(
            nir=leo["nir"],
            first_name="LÉO",
            last_name="Lenoir ",
            birth_date="03/09/2008",
            email="leo.lenoir@exemple.fr",
        ),
    }
    sheet = await counter.post("/dossiers/new", values)
    assert sheet.status_code == 200, sheet.text
    assert (
        fr(
            "The record of %(name)s, opened when they were a minor, is now theirs. Print this "
            "sheet and hand it over: the codes are shown only here."
        )
        % {"name": "Léo Lenoir"}
        in sheet.text
    )
    again = await counter.post("/dossiers/new", values)  # the same form, sent twice
    assert again.status_code == 200
    [old], [code] = CODE.findall(sheet.text), CODE.findall(again.text)

    assert await Dossier.count().where(Dossier.patient.nir == leo["nir"]) == 1
    account = await Account.select().where(Account.login == "leo.lenoir@exemple.fr").first()
    assert (account["role"], account["first_name"]) == (Role.PATIENT, "Léo")
    patient = await Patient.select().where(Patient.nir == leo["nir"]).first()
    assert patient["account"] == account["id"]
    assert (await patient_side(dossier["id"])).accounts == {account["id"]}
    assert (await dossier_for(leo["nir"]))["consent_at"] == clock()  # his own, now
    [handed] = [event for event in await trail(dossier["id"]) if event["action"] == "rights-change"]
    assert (handed["actor_account"], handed["reason"]) == (
        pharmacist.id,
        "handed to the patient, now of age: the representatives no longer act for them",
    )

    # His mother is told, and no longer reads it.
    [told] = await told_of(mother, "dossier_handed_over")
    assert (told["patient"], told["who"]) == ("Léo Lenoir", "Paul Petit")
    assert any("Paul Petit" in message["body"] for message in await outbox.new(mother.login))
    mother_browser = await signed_in_browser(new_browser, mother)
    assert (await mother_browser.get(f"/dossiers/{dossier['id']}")).status_code == 404

    leo_browser = new_browser(portal)
    assert (await activate(leo_browser, "leo.lenoir@exemple.fr", old)).status_code == 400
    assert (await activate(leo_browser, "leo.lenoir@exemple.fr", code)).status_code == 303


async def test_a_record_opened_for_a_minor_goes_only_to_its_patient_in_person(
    portal, new_browser, browser, clock
):
    mother = await new_patient(first_name="Rose", last_name="Lenoir")
    leo = await opened_at_seventeen(new_browser, mother)
    clock.advance(days=200)
    counter = await signed_in_browser(new_browser, await new_insurer_agent())
    before = await counts()
    someone_else = adult(
        nir=leo["nir"], first_name="Hugo", last_name="Lenoir", birth_date="2008-09-03"
    )
    refused = await open_at_counter(counter, someone_else)
    assert refused.status_code == 400
    assert field_error(refused.text, "nir") == fr(
        "The record opened for this social security number is in another name or date of "
        "birth: check them against the patient's identity card."
    )
    online = await register(
        browser, adult(nir=leo["nir"], first_name="Léo", birth_date="2008-09-03")
    )
    assert online.status_code == 400
    assert field_error(online.text, "nir") == fr(
        "Your record was opened when you were a minor. To manage it yourself, go to a pharmacy "
        "or to your health insurance office with your identity card."
    )
    assert await counts() == before
    dossier = await dossier_for(leo["nir"])
    assert await Representative.exists().where(
        Representative.dossier == dossier["id"], Representative.account == mother.id
    )


async def test_a_parent_opens_their_child_s_record_from_their_space(portal, new_browser):
    parent = await new_patient(first_name="Rose", last_name="Lenoir")
    browser = await signed_in_browser(new_browser, parent)
    page = await browser.get("/dossiers/new")
    assert fr("Open my child's record") in page.text
    refused = await browser.submit("/dossiers/new", adult(email=""))
    assert refused.status_code == 400
    assert field_error(refused.text, "birth_date") == fr(
        "An adult opens their own record, or has it opened at a pharmacy."
    )
    [refusal] = await AuditEvent.select().where(
        AuditEvent.actor_account == parent.id, AuditEvent.outcome == "refused"
    )
    assert refusal["action"] == "create"

    values = child()
    opened = await open_at_counter(browser, values)
    assert opened.status_code == 303
    dossier = await dossier_for(values["nir"])
    assert opened.headers["location"] == f"/dossiers/{dossier['id']}"
    assert await Representative.exists().where(
        Representative.dossier == dossier["id"], Representative.account == parent.id
    )
    assert (await browser.get(f"/dossiers/{dossier['id']}")).status_code == 200


async def test_administrators_and_regulators_open_no_record(portal, new_browser):
    for person in (await new_administrator(), await new_professional(role=Role.SAMU_REGULATOR)):
        browser = await signed_in_browser(new_browser, person)
        assert (await browser.get("/dossiers/new")).status_code == 403


async def test_a_number_without_a_month_of_birth_fits_any_month_of_its_year(portal, browser):
    first13 = "2869975000123"  # month 99: registered without a known month of birth
    values = adult(nir=first13 + nir_key(first13), birth_date="1986-07-01")
    assert (await register(browser, values)).status_code == 303


def test_a_child_is_a_minor_until_their_eighteenth_birthday():
    from portal.dossiers.creation import age_on

    assert age_on(date(2008, 11, 24), date(2026, 11, 23)) == 17
    assert age_on(date(2008, 11, 23), date(2026, 11, 23)) == 18


async def test_a_representative_lands_on_the_one_record_they_manage(portal, new_browser):
    parent = await _create(
        NewAccount(
            role=Role.REPRESENTATIVE,
            login="tuteur.lenoir@exemple.fr",
            first_name="Marc",
            last_name="Lenoir",
            password=PASSWORD,
            totp_secret=pyotp.random_base32(32),
        )
    )
    child_dossier = await dossier_of(await new_patient(first_name="Léo"))
    await represent(child_dossier, parent)
    browser = await signed_in_browser(new_browser, parent)
    home = await browser.get("/me")
    assert home.headers["location"] == f"/dossiers/{child_dossier}"

    await represent(await dossier_of(await new_patient(first_name="Lou")), parent)
    assert (await browser.get("/me")).headers["location"] == "/account"


async def test_the_sheet_downloads_as_a_pdf_with_new_codes_for_its_creator(portal, new_browser):
    pharmacist = await new_professional(profession="pharmacien")
    browser = await signed_in_browser(new_browser, pharmacist)
    values = adult()
    sheet = await open_at_counter(browser, values)
    [shown] = CODE.findall(sheet.text)
    dossier = await dossier_for(values["nir"])
    action = f"/dossiers/{dossier['id']}/activation-sheet.pdf"

    pdf = await browser.submit(action)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["cache-control"] == "no-store"
    text = text_of(pdf.content)
    [printed] = CODE.findall(text)
    assert values["email"] in text
    assert "Rose Lenoir" in text
    patient = new_browser(portal)
    assert (await activate(patient, values["email"], shown)).status_code == 400  # replaced
    assert (await activate(patient, values["email"], printed)).status_code == 303
    assert [event["action"] for event in await trail(dossier["id"], pharmacist)][-1] == "print"

    other = await signed_in_browser(new_browser, await new_professional(profession="pharmacien"))
    assert (await post_form(other, action)).status_code == 404
