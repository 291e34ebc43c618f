"""Each role's journey of CONVENTIONS.md in a real browser, with JavaScript on and off, on a
360 × 640 phone, every page checked on the way (`pages.Journey`: accessibility, layout, no
sideways scrolling, a screenshot, the page budgets from the browser's own network events).

The README's five minutes (the GP, the cardiologist, Camille masking) are in test_journey.py,
the block and the emergency access in test_access.py; here: the patient's own journey (to her
emergency card, one A4 sheet), the legal representative, the insurer agent, the administrator,
the pharmacist, and a patient without e-mail opened at the pharmacy who logs in by text
message on a touch-screen phone.

Logins: the patient journey logs in (both steps) in each run; the other roles log in once per
module (`signed_in`) and each run opens its pages with that session, so that no demo account
logs in more often than the second factor allows (see `TotpCodes`).
"""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from portal.demo import DEMO_PASSWORD, DEMO_PEOPLE
from portal.i18n import translations
from portal.identity.numbers import luhn_check_digit, nir_key

from .conftest import DEFAULT_LOCALE, log_in, messages_to, translated
from .pages import COLD_REQUEST_BUDGET, PHONE, SCREENSHOTS, Journey

pytestmark = pytest.mark.browser

CAMILLE = next(person for person in DEMO_PEOPLE if person.first_name == "Camille")
#: What each run of the patient journey changes, so that the two runs (and the other tests)
#: never meet: the document masked, found by a word of its title, and the professional blocked.
PATIENT_RUNS = {
    True: {"word": "radiographie", "title": "Radiographie du genou droit", "block": "Marc Laurent"},
    False: {
        "word": "antibiotique",
        "title": "Injection d'antibiotique à domicile",
        "block": "Luc Durand",
    },
}


LEO = "Léo Martin"
AGENT = "agent.cpam@demo.carnet.fr"
ADMINISTRATOR = "admin@demo.carnet.fr"
PHARMACIST = "ph.petit@demo.carnet.fr"
#: Who each run of the representative journey gives access to Léo's record.
REPRESENTATIVE_RUNS = {True: "Karim Garcia", False: "Claire Moreau"}
#: The patient each run of the insurer journey opens a record for (her NIR matches her birth).
INSURER_RUNS = {
    True: {"first_name": "Maëlle", "last_name": "Rivière", "birth": "1990-05-14", "order": "101"},
    False: {"first_name": "Inès", "last_name": "Fontaine", "birth": "1990-05-03", "order": "102"},
}
#: The patient without e-mail each run opens at the pharmacy: their mobile is their login.
PHONE_RUNS = {
    True: {"first_name": "Rémi", "last_name": "Morel", "birth": "1958-03-02", "order": "201",
           "mobile": "06 98 76 54 01"},
    False: {"first_name": "Odile", "last_name": "Caron", "birth": "1949-11-20", "order": "202",
            "mobile": "07 98 76 54 02"},
}  # fmt: skip
#: A4 in PDF points, rounded: 210 × 297 mm.
A4 = (595, 842)
#: The professional each run of the administrator journey opens an account for.
ADMINISTRATOR_RUNS = {
    True: {"first_name": "Yann", "last_name": "Le Goff", "rpps": "1009876543"},
    False: {"first_name": "Léa", "last_name": "Nguyen", "rpps": "1009876544"},
}


@pytest.fixture(scope="module")
def signed_in(browser, portal, totp):
    """``signed_in(login)``: the cookies of a session of ``login``, logged in once for the
    whole module, for the pages each run opens (`phone(..., storage_state=...)`)."""
    states: dict[str, dict] = {}

    def state(login: str) -> dict:
        if login not in states:
            context = browser.new_context(base_url=portal.url, locale=DEFAULT_LOCALE)
            log_in(context.new_page(), login, totp)
            states[login] = context.storage_state()
            context.close()
        return states[login]

    return state


def heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def record_of(name: str) -> str:
    return translated("Record of %(name)s") % {"name": name}


def status(page: Page, message: str):
    """The status message that reads ``message``, whose ``%(…)s`` parts may be anything."""
    parts = [re.escape(part) for part in re.split(r"%\(\w+\)s", message)]
    return page.get_by_role("status").filter(has_text=re.compile(".+".join(parts)))


def phone(new_page, javascript: bool, **options) -> Page:
    return new_page(javascript=javascript, viewport=PHONE, **options)


def download_emergency_card(page: Page) -> bytes:
    """Click "Download the card (PDF)"; the browser saves a PDF, whose bytes are returned."""
    with page.expect_download() as started:
        page.get_by_role("link", name=translated("Download the card (PDF)")).click()
    download = started.value
    assert download.suggested_filename.endswith(".pdf"), download.suggested_filename
    return download.path().read_bytes()


# --- the patient ----------------------------------------------------------------------------


def test_the_patient_from_login_to_her_emergency_card(new_page, javascript, totp):
    run = PATIENT_RUNS[javascript]
    page = phone(new_page, javascript)
    journey = Journey(page, javascript, "patient")

    # Both steps of the login.
    page.goto("/login")
    journey.check("login")
    page.get_by_label(translated("E-mail address or mobile number"), exact=True).fill(CAMILLE.login)
    page.get_by_label(translated("Password"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=translated("Continue")).click()
    heading(page, translated("Second step: your code"))
    journey.check("login-code")
    page.get_by_label(translated("Code"), exact=True).fill(totp.code(CAMILLE.login))
    page.get_by_role("button", name=translated("Log in")).click()
    heading(page, record_of("Camille Martin"))
    journey.check("record")
    record = page.url

    # The summary.
    page.get_by_role("link", name=translated("The whole medical summary")).click()
    heading(page, translated("Medical summary"))
    expect(page.get_by_text("pénicilline").first).to_be_visible()
    journey.check("summary")

    # A document found by a word of its title, then masked.
    page.goto(record)
    heading(page, record_of("Camille Martin"))
    every = translations("fr").ngettext(
        "All documents, and search (%(num)s)", "All documents, and search (%(num)s)", 2
    )
    page.get_by_role("link", name=re.compile("^" + re.escape(every.split("(")[0]))).click()
    heading(page, translated("Documents"))
    journey.check("documents")
    page.get_by_label(translated("Words in the title or text")).fill(run["word"])
    page.get_by_role("button", name=translated("Search"), exact=True).click()
    one = translations("fr").ngettext("%(num)s document", "%(num)s documents", 1) % {"num": 1}
    expect(page.get_by_role("status").filter(has_text=re.compile(rf"^{one}\b"))).to_be_visible()
    journey.check("documents-found")
    page.get_by_role("link", name=run["title"]).click()
    heading(page, run["title"])
    journey.check("document")
    page.get_by_role("button", name=translated("Mask this document")).click()
    masked = translated(
        "The document is masked: only you, its author and your médecin traitant see it now, "
        "even in an emergency."
    )
    expect(status(page, masked)).to_be_visible()
    journey.check("document-masked")

    # A professional blocked.
    page.goto(record)
    page.get_by_role("link", name=translated("Who has access to my record")).click()
    journey.check("access")
    page.get_by_role("link", name=f"{translated('Block')} — {run['block']}").click()
    yes = page.get_by_role("button", name=translated("Yes, block"))
    expect(yes).to_be_visible()
    journey.check("access-block")
    yes.click()
    blocked = translated(
        "%(name)s is blocked: they can no longer open the record, even in an emergency."
    ) % {"name": run["block"]}
    expect(page.get_by_role("status")).to_have_text(blocked)
    expect(page.get_by_role("heading", name=translated("Blocked professionals"))).to_be_visible()
    journey.check("access-blocked")

    # The access history.
    page.goto(record)
    page.get_by_role("link", name=translated("Who accessed my record")).click()
    heading(page, translated("Who accessed the record"))
    journey.check("history")

    # The emergency card, downloaded as a PDF.
    page.goto(record)
    page.get_by_role("link", name=translated("My emergency card")).click()
    heading(page, translated("Emergency card"))
    journey.check("emergency-card")
    pdf = download_emergency_card(page)
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    [sheet] = PdfReader(io.BytesIO(pdf)).pages  # one sheet, with the card to cut out
    assert (round(float(sheet.mediabox.width)), round(float(sheet.mediabox.height))) == A4
    heading(page, translated("Emergency card"))  # the page stays as it was


# --- the legal representative ---------------------------------------------------------------


def test_camille_manages_leos_record(new_page, javascript, signed_in):
    professional = REPRESENTATIVE_RUNS[javascript]
    page = phone(new_page, javascript, storage_state=signed_in(CAMILLE.login))
    journey = Journey(page, javascript, "representative")

    page.goto("/me")
    page.get_by_role("link", name=translated("My account")).click()
    heading(page, translated("My account"))
    journey.check("account")
    page.get_by_role("link", name=record_of(LEO)).click()
    heading(page, record_of(LEO))
    expect(page.get_by_role("link", name="Examen de santé des 7 ans")).to_be_visible()
    journey.check("leo-record")
    record = page.url

    page.get_by_role("link", name=translated("Who has access to this record")).click()
    journey.check("leo-access")
    page.get_by_label(translated("Name or RPPS number")).fill(professional.split()[-1])
    page.get_by_role("button", name=translated("Search the directory")).click()
    give = page.get_by_role(
        "button", name=translated("Give %(name)s access") % {"name": professional}
    )
    expect(give).to_be_visible()
    journey.check("leo-directory")
    give.click()
    expect(page.get_by_role("status")).to_have_text(
        translated("%(name)s now has access to the record.") % {"name": professional}
    )
    journey.check("leo-access-given")

    page.get_by_role("link", name=record_of(LEO)).click()
    page.get_by_role("link", name=translated("Who accessed this record")).click()
    heading(page, translated("Who accessed the record"))
    journey.check("leo-history")
    page.goto(record)  # the history page has no link back to the record
    page.get_by_role("link", name=translated("Emergency card")).click()
    heading(page, translated("Emergency card"))
    journey.check("leo-emergency-card")
    assert download_emergency_card(page).startswith(b"%PDF-")


# --- the insurer agent ----------------------------------------------------------------------


def a_nir(birth: str, order: str) -> str:
    """A woman's NIR born in Paris on ``birth`` (yyyy-mm-dd), with its key."""
    year, month, _day = birth.split("-")
    first13 = f"2{year[2:]}{month}75056{order}"
    return first13 + nir_key(first13)


def assert_error_linked_to(page: Page, label: str) -> None:
    """The field ``label`` is marked invalid and described by its error, which the error
    summary (an alert, announced as it appears) links to."""
    summary = page.get_by_role("alert")
    expect(summary).to_be_visible()
    field = page.get_by_label(label, exact=True)
    expect(field).to_have_attribute("aria-invalid", "true")
    described = (field.get_attribute("aria-describedby") or "").split()
    errors = [page.locator(f"#{name}") for name in described if name.endswith("-error")]
    assert errors, f"{label}: no error among aria-describedby={described}"
    message = errors[0].inner_text().strip()
    assert message, f"{label}: empty error"
    field_id = field.get_attribute("id")
    expect(summary.locator(f'a[href="#{field_id}"]')).to_contain_text(message)


def test_the_insurer_agent_opens_a_record_and_imports_reimbursements(
    new_page, javascript, signed_in
):
    run = INSURER_RUNS[javascript]
    nir = a_nir(run["birth"], run["order"])
    page = phone(new_page, javascript, storage_state=signed_in(AGENT))
    journey = Journey(page, javascript, "insurer")

    page.goto("/me")
    heading(page, translated("Import reimbursements"))
    journey.check("home")

    # A record opened at the office, with the patient's consent; a first try forgets the NIR.
    page.goto("/dossiers/new")
    heading(page, translated("Open a record for a patient"))
    journey.check("new-record")
    page.get_by_label(translated("First name"), exact=True).fill(run["first_name"])
    page.get_by_label(translated("Last name"), exact=True).fill(run["last_name"])
    page.get_by_label(translated("Date of birth"), exact=True).fill(run["birth"])
    page.get_by_label(translated("Patient's e-mail address"), exact=True).fill(
        f"{run['order']}.patiente@test.carnet.fr"
    )
    page.get_by_label(translated("Social security number (NIR)")).fill(nir[:-1])
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name=translated("Open the record")).click()
    assert_error_linked_to(page, translated("Social security number (NIR)"))
    journey.check("new-record-error")
    page.get_by_label(translated("Social security number (NIR)")).fill(nir)
    if not page.get_by_role("checkbox").is_checked():
        page.get_by_role("checkbox").check()
    page.get_by_role("button", name=translated("Open the record")).click()
    opened = translated(
        "The record of %(name)s is open. Print this sheet and hand it over: the codes are "
        "shown only here."
    ) % {"name": f"{run['first_name']} {run['last_name']}"}
    expect(page.get_by_role("status")).to_have_text(opened)
    journey.check("activation-sheet")

    # Her reimbursements, and a line with a NIR whose key is wrong.
    page.goto("/reimbursements/import")
    page.get_by_label(translated("CSV file of reimbursements")).set_input_files(
        {
            "name": "remboursements.csv",
            "mimeType": "text/csv",
            "buffer": (
                "nir;date_soins;acte;professionnel;montant;rembourse\n"
                f"{nir};02/03/2026;Consultation de médecine générale;Dr Bruno Leclerc;30,00;21,00\n"
                f"{nir[:-2]}00;03/03/2026;Séance de kinésithérapie;Claire Petit;16,13;9,68\n"
            ).encode(),
        }
    )
    page.get_by_role("button", name=translated("Import"), exact=True).click()
    plural = translations("fr").ngettext
    report = page.get_by_role("status")
    expect(report).to_contain_text(plural("%(num)s line imported", "", 1) % {"num": 1})
    expect(report).to_contain_text(plural("%(num)s line not imported", "", 1) % {"num": 1})
    expect(page.get_by_role("cell", name="3", exact=True)).to_be_visible()  # the bad line
    expect(page.get_by_text(run["last_name"])).to_have_count(0)  # never a patient's name
    journey.check("imported")


# --- the administrator ----------------------------------------------------------------------


def test_the_administrator_opens_a_professionals_account(new_page, javascript, signed_in):
    run = ADMINISTRATOR_RUNS[javascript]
    page = phone(new_page, javascript, storage_state=signed_in(ADMINISTRATOR))
    journey = Journey(page, javascript, "administrator")

    page.goto("/me")
    heading(page, translated("Accounts"))
    journey.check("accounts")
    page.get_by_role("link", name=translated("Open a professional or staff account")).click()
    heading(page, translated("Open a professional or staff account"))
    journey.check("new-account")

    login = f"{run['last_name'].lower().replace(' ', '')}.{run['rpps']}@test.carnet.fr"
    page.get_by_label(translated("Role"), exact=True).select_option(
        label=translated("Health professional")
    )
    page.get_by_label(translated("E-mail address"), exact=True).fill(login)
    page.get_by_label(translated("First name"), exact=True).fill(run["first_name"])
    page.get_by_label(translated("Last name"), exact=True).fill(run["last_name"])
    rpps = run["rpps"] + luhn_check_digit(run["rpps"])
    mistyped = run["rpps"] + str((int(rpps[-1]) + 1) % 10)  # its last digit wrong
    page.get_by_label(translated("RPPS number"), exact=True).fill(mistyped)
    page.get_by_label(translated("Profession"), exact=True).select_option(label=translated("Nurse"))
    page.get_by_role("button", name=translated("Open the account")).click()
    assert_error_linked_to(page, translated("RPPS number"))
    journey.check("new-account-error")
    page.get_by_label(translated("RPPS number"), exact=True).fill(rpps)
    page.get_by_role("button", name=translated("Open the account")).click()
    opened = translated(
        "The account of %(name)s is open: a link to choose a password has been sent to %(login)s."
    ) % {"name": f"{run['first_name']} {run['last_name']}", "login": login}
    expect(page.get_by_role("status")).to_have_text(opened)
    heading(page, translated("Accounts"))
    journey.check("account-opened")


# --- the pharmacist (the vaccination plugin) ------------------------------------------------

#: Camille's documents a pharmacist may not read (reports, imaging), masked or not.
NOT_FOR_PHARMACISTS = ("Consultation de cardiologie", "Radiographie du genou droit")


def test_the_pharmacist_reads_camilles_vaccinations_and_no_more(new_page, javascript, signed_in):
    page = phone(new_page, javascript, storage_state=signed_in(PHARMACIST))
    journey = Journey(page, javascript, "pharmacist")

    page.goto("/me")
    heading(page, translated("My patients"))
    journey.check("patients")
    page.get_by_role("link", name="Martin Camille").click()
    heading(page, record_of("Camille Martin"))
    expect(page.get_by_role("link", name="Médicaments délivrés")).to_be_visible()
    for title in NOT_FOR_PHARMACISTS:
        expect(page.get_by_text(title)).to_have_count(0)
    journey.check("record")
    page.locator("main").get_by_role("link", name=re.compile("vaccination", re.I)).first.click()
    heading(page, translated("Vaccinations"))
    journey.check("vaccinations")

    # A flu shot with its lot, typed at a person's pace or a machine's: with JavaScript the
    # fields are checked as they change, and nothing typed meanwhile is lost.
    if not javascript:  # the card came as a page of its own: on to the whole section
        page.locator("main").get_by_role("link", name=re.compile("^Voir les")).click()
    lot = f"FLU-{'JS' if javascript else 'NOJS'}-118"
    page.get_by_label(translated("Vaccine"), exact=True).select_option("grippe")
    # Each run its own day: the same vaccine twice on one day asks for a confirmation.
    page.get_by_label(translated("Date of the vaccination")).fill(
        "2026-11-02" if javascript else "2026-11-03"
    )
    page.get_by_label(translated("Lot number")).fill(lot)
    page.get_by_role("button", name=translated("Record the vaccination")).click()
    expect(page.get_by_text(lot).first).to_be_visible()
    journey.check("vaccination-recorded")


# --- a slow phone ---------------------------------------------------------------------------

#: A rural 3G connection, as the issue sets it: 400 kbit/s each way, 400 ms of latency.
THREE_G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}
SLOW_LOAD_LIMIT = 5000  # milliseconds, to the load event


def test_the_patients_record_loads_in_under_5_seconds_on_3g(browser, portal, signed_in):
    """A cold load of Camille's record (new context: nothing cached, no connection open)
    through the emulated connection, timed by the browser's own navigation timing."""
    state = signed_in(CAMILLE.login)
    options = {"base_url": portal.url, "locale": DEFAULT_LOCALE, "viewport": PHONE}
    context = browser.new_context(storage_state=state, **options)
    page = context.new_page()
    page.goto("/me")
    heading(page, record_of("Camille Martin"))
    record = page.url
    context.close()

    context = browser.new_context(storage_state=state, **options)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", THREE_G)
        page.goto(record, wait_until="load")
        heading(page, record_of("Camille Martin"))
        timing = page.evaluate(
            """() => {
                const n = performance.getEntriesByType("navigation")[0];
                const resources = performance.getEntriesByType("resource");
                return {
                    document: n.responseEnd, load: n.loadEventEnd, bytes: n.transferSize
                        + resources.reduce((sum, r) => sum + r.transferSize, 0),
                    requests: 1 + resources.length,
                };
            }"""
        )
        # The cards come after the load event, all in one request: how long until they are in,
        # and every request of the visit by then.
        expect(page.locator(".cards[hx-get]")).to_have_count(0, timeout=30_000)
        cards, requests = page.evaluate(
            "[performance.now(), 1 + performance.getEntriesByType('resource').length]"
        )
    finally:
        context.close()
    line = (
        f"3G cold load of /dossiers/{{id}}: document {timing['document']:.0f} ms, "
        f"load event {timing['load']:.0f} ms, cards in by {cards:.0f} ms, "
        f"{timing['requests']} requests, {timing['bytes']} bytes to the load event, "
        f"{requests} requests in all"
    )
    (SCREENSHOTS / "3g.txt").write_text(line + "\n", encoding="utf-8")
    # Throttled indeed: the document, then its stylesheet and script, each a round trip of
    # 400 ms, and every byte through 400 kbit/s.
    assert timing["document"] >= THREE_G["latency"], line
    assert timing["load"] >= 2 * THREE_G["latency"], line
    assert timing["load"] >= 1000 * timing["bytes"] / THREE_G["downloadThroughput"], line
    assert timing["load"] < SLOW_LOAD_LIMIT, line
    assert requests <= COLD_REQUEST_BUDGET, line  # the cards included


# --- a patient without e-mail ---------------------------------------------------------------


def test_a_patient_without_e_mail_is_opened_at_the_pharmacy_and_logs_in_by_text(
    new_page, javascript, signed_in, portal
):
    run = PHONE_RUNS[javascript]
    name = f"{run['first_name']} {run['last_name']}"
    international = "+33" + run["mobile"].replace(" ", "")[1:]
    counter = phone(new_page, javascript, storage_state=signed_in(PHARMACIST))
    pharmacy = Journey(counter, javascript, "pharmacy-phone")
    counter.goto("/dossiers/new")
    counter.get_by_label(translated("Social security number (NIR)")).fill(
        a_nir(run["birth"], run["order"])
    )
    counter.get_by_label(translated("First name"), exact=True).fill(run["first_name"])
    counter.get_by_label(translated("Last name"), exact=True).fill(run["last_name"])
    counter.get_by_label(translated("Date of birth"), exact=True).fill(run["birth"])
    counter.get_by_label(translated("Patient's mobile number"), exact=True).fill(run["mobile"])
    counter.get_by_role("checkbox").check()
    counter.get_by_role("button", name=translated("Open the record")).click()
    heading(counter, translated("Your Carnet record, %(name)s") % {"name": name})
    expect(counter.get_by_role("heading", name=translated("What happens next"))).to_be_visible()
    expect(counter.locator("dd", has_text=run["mobile"])).to_be_visible()  # the login
    code = counter.locator("dd.code").inner_text()
    pharmacy.check("activation-sheet")

    # At home, on a touch-screen phone: the activation, the first password, the login.
    page = phone(new_page, javascript, has_touch=True, is_mobile=True)
    journey = Journey(page, javascript, "patient-without-e-mail")
    page.goto("/activate")
    journey.check("activate")
    activation = page.locator('form[action="/activate"]')
    login = translated("E-mail address or mobile number")
    activation.get_by_label(login, exact=True).fill(run["mobile"])
    activation.get_by_label(translated("Activation code"), exact=True).fill(code)
    page.get_by_role("button", name=translated("Continue")).click()
    heading(page, translated("Choose a password"))
    page.get_by_label(translated("New password"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_label(translated("New password, again"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=translated("Save my password")).click()
    chosen = translated("Your password is chosen. You can now log in with it.")
    expect(status(page, chosen)).to_be_visible()
    page.get_by_label(login, exact=True).fill(run["mobile"])
    page.get_by_label(translated("Password"), exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=translated("Continue")).click()

    # The set-up page does not ask a phone to scan its own screen.
    heading(page, translated("Protect your account with a second factor"))
    link = translated("Add Carnet to my authenticator application")
    expect(page.get_by_role("link", name=link)).to_be_visible()
    scan = translated("In the application, add an account by scanning this code with your phone:")
    expect(page.get_by_text(scan)).to_have_count(1)  # in the page, for a computer's screen
    expect(page.get_by_text(scan)).to_be_hidden()
    journey.check("enrol")
    page.get_by_role("button", name=translated("Receive my codes by text message")).click()
    sent = translated(
        "We have sent a 6-digit code by text message to %(number)s. It is valid for 10 minutes."
    ) % {"number": run["mobile"]}
    expect(page.get_by_text(sent)).to_be_visible()
    journey.check("code-by-text")
    [text, *_older] = messages_to(portal, international)
    page.get_by_label(translated("Code"), exact=True).fill(re.search(r"\b\d{6}\b", text).group())
    page.get_by_role("button", name=translated("Log in")).click()
    heading(page, record_of(name))
    expect(
        page.get_by_role("heading", name=translated("This record is new: where to start"))
    ).to_be_visible()
    journey.check("new-record")
