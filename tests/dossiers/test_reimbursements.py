"""The insurer's import of reimbursement data, as an insurer agent uses it: a CSV file of
reimbursed care, one document per good line in the record of the patient whose NIR it
carries, decided by the policy and traced by the agent in each record's audit trail; the
patient is told once. Each bad line is reported with its number, column and reason, and the
good ones are kept; importing the same lines again adds nothing. A NIR without an open record
is reported without telling whether there is a record, and the answer never shows a name or a
title. A file that cannot be read, is empty or too large is refused whole with a message.
Only insurer agents open the page; the patient and the médecins of the circle read the
reimbursements, a pharmacist does not.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from datetime import date
from uuid import UUID

import httpx
import pyotp
from babel.numbers import format_decimal
from markupsafe import escape

from portal import crypto, i18n
from portal.dossiers import reimbursements as reimbursements_module
from portal.dossiers.reimbursements import MAX_FILE_SIZE, MAX_LINES, MAX_REQUEST_SIZE
from portal.dossiers.tables import Document, Dossier, DossierStatus
from portal.identity.accounts import NewAccount
from portal.identity.numbers import format_nir
from portal.identity.tables import Role
from portal.notifications.tables import Notification
from tests.access.conftest import add_document, dossier_of, join, nir_of, signed_in_browser, trail
from tests.conftest import translated
from tests.identity.conftest import (
    PASSWORD,
    Browser,
    Person,
    _create,
    _unique_login,
    new_administrator,
    new_nir,
    new_patient,
    new_professional,
)

PAGE = "/reimbursements/import"
HEADER = "nir;date_soins;acte;professionnel;montant;rembourse"
SCRIPT = "<script>alert(1)</script>"


def fr(message: str, **params) -> str:
    """``message`` as the French page shows it (escaped)."""
    text = translated("fr", message)
    return text % params if params else text


def fr_text(message: str, **params) -> str:
    """``message`` in French as stored (not escaped)."""
    token = i18n.set_language("fr")
    try:
        return i18n.gettext(message) % params
    finally:
        i18n.reset_language(token)


def title(act: str, reimbursed: str, amount: str) -> str:
    """The title of an imported line, as a French agent's import writes it."""
    return fr_text(
        "%(act)s — €%(reimbursed)s reimbursed of €%(amount)s",
        act=act,
        reimbursed=reimbursed,
        amount=amount,
    )


NO_RECORD = "No open record for this social security number."


async def new_insurer_agent(*, first_name: str = "Irène", last_name: str = "Caisse") -> Person:
    return await _create(
        NewAccount(
            role=Role.INSURER_AGENT,
            login=_unique_login(first_name, last_name),
            first_name=first_name,
            last_name=last_name,
            password=PASSWORD,
            totp_secret=pyotp.random_base32(32),
        )
    )


def csv_file(*lines: str, header: str = HEADER, bom: bool = False, newline: str = "\n") -> bytes:
    text = newline.join([header, *lines]) + newline
    return ("\ufeff" if bom else "").encode() + text.encode()


async def send(
    browser: Browser, content: bytes, name: str = "remboursements.csv"
) -> httpx.Response:
    """Open the import page and send ``content`` as the file, as the agent's browser does."""
    page = await browser.get(PAGE)
    assert page.status_code == 200, page.status_code
    return await browser.submit(PAGE, {"file": None}, files={"file": (name, content, "text/csv")})


COUNTS = (
    ("%(num)s line imported", "%(num)s lines imported"),
    (
        "%(num)s line already imported before: nothing added",
        "%(num)s lines already imported before: nothing added",
    ),
    ("%(num)s line not imported", "%(num)s lines not imported"),
)


def counts(page: str) -> tuple[int, int, int]:
    """(imported, already imported, not imported) as the answer says them."""
    found = []
    for singular, plural in COUNTS:
        token = i18n.set_language("fr")
        try:
            forms = {i18n.ngettext(singular, plural, count) for count in (1, 2)}
        finally:
            i18n.reset_language(token)
        pattern = "|".join(
            re.escape(str(escape(form))).replace(re.escape("%(num)s"), r"(\d+)") for form in forms
        )
        [number] = [
            int(next(group for group in match.groups() if group))
            for match in re.finditer(f"<li>(?:{pattern})</li>", page)
        ]
        found.append(number)
    return tuple(found)


#: A cell, which names its column for the phone's stacked rows.
CELL = r"<td data-label=\"[^\"]+\""
ROW = re.compile(
    rf"<tr>(?:{CELL}(?: rowspan=\"\d+\")?>(\d+)</td>)?"
    rf"{CELL}>(?:<code>(\w+)</code>)?</td>{CELL}>(.*?)</td></tr>"
)


def bad_lines(page: str) -> dict[int, list[tuple[str, str]]]:
    """The lines the answer reports as not imported: number → [(column, reason)]."""
    lines: dict[int, list[tuple[str, str]]] = {}
    number = 0
    for match in ROW.finditer(page):
        number = int(match.group(1)) if match.group(1) else number
        lines.setdefault(number, []).append((match.group(2) or "", match.group(3)))
    return lines


async def reimbursements(dossier: UUID) -> list[dict]:
    rows = (
        await Document.select()
        .where(Document.dossier == dossier, Document.category == "remboursement")
        .order_by(Document.care_date)
    )
    return await crypto.opened(dossier, Document, rows)


async def told(person: Person) -> list[dict]:
    return (
        await Notification.select(Notification.params, Notification.link)
        .where(Notification.account == person.id, Notification.kind == "new_document")
        .output(load_json=True)
    )


# --- importing ------------------------------------------------------------------------------


async def test_a_good_file_adds_each_line_to_its_patients_record_traced_and_told_once(
    portal, new_browser, clock
):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    bob = await new_patient(first_name="Bob", last_name="Marchand")
    alice_dossier, bob_dossier = await dossier_of(alice), await dossier_of(bob)
    await add_document(alice_dossier, title="Compte rendu très confidentiel")
    agent = await new_insurer_agent()
    browser = await signed_in_browser(new_browser, agent)
    alice_nir, bob_nir = await nir_of(alice), await nir_of(bob)
    content = csv_file(
        f"{format_nir(alice_nir)};25/02/2026;Consultation de médecine générale;Dr Bruno Leclerc;"
        "30,00;21,00",
        f'{alice_nir};2026-02-26;"Délivrance; sur ordonnance";Pharmacie du Centre;42.80;27.82',
        f"{bob_nir};2026-02-27;Séance de kinésithérapie;Claire Petit;1 250,00 €;9,68",
        bom=True,
        newline="\r\n",
    )

    answer = await send(browser, content)

    assert answer.status_code == 200, answer.text[-3000:]
    assert counts(answer.text) == (3, 0, 0)
    assert bad_lines(answer.text) == {}
    first, second = await reimbursements(alice_dossier)
    [third] = await reimbursements(bob_dossier)
    assert first["title"] == title("Consultation de médecine générale", "21,00", "30,00")
    assert second["title"] == title("Délivrance; sur ordonnance", "27,82", "42,80")
    assert third["title"] == title("Séance de kinésithérapie", "9,68", "1\u202f250,00")
    assert [row["care_date"] for row in (first, second, third)] == [
        date(2026, 2, 25),
        date(2026, 2, 26),
        date(2026, 2, 27),
    ]
    for row in (first, second, third):
        assert row["author"] == agent.id
        assert row["author_name"] == "Assurance Maladie (import)"
        assert row["author_profession"] == ""
        assert row["lineage"] == row["id"]
        assert row["created_at"] == clock()
        assert row["submission"] is not None
        assert (row["masked"], row["hidden_until"], row["type"]) == (False, None, "")
    assert "Dr Bruno Leclerc" in first["body"]
    assert "25/02/2026" in first["body"]

    for dossier, rows in ((alice_dossier, (first, second)), (bob_dossier, (third,))):
        events = [
            (event["action"], event["outcome"], event["target_id"], event["purpose"])
            for event in await trail(dossier, agent)
        ]
        assert events == [("create", "allowed", str(row["id"]), "HPAYMT") for row in rows]

    # Told once per record, however many lines it got.
    [notice] = await told(alice)
    assert notice["link"] == f"/dossiers/{alice_dossier}/documents?category=remboursement"
    assert notice["params"]["who"] == "Assurance Maladie (import)"
    assert len(await told(bob)) == 1

    # The agent learns nothing about the patients.
    for secret in ("Alice", "Roux", "Bob", "Marchand", "Compte rendu très confidentiel"):
        assert secret not in answer.text
    assert "Consultation de médecine générale" not in answer.text


async def test_bad_lines_are_reported_with_their_number_and_reason_and_the_good_ones_kept(
    portal, new_browser, clock
):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    nir = await nir_of(alice)
    wrong_key = nir[:13] + f"{(int(nir[13:]) % 97) + 1:02d}"
    agent = await new_insurer_agent()
    browser = await signed_in_browser(new_browser, agent)
    content = csv_file(
        f"{nir};2026-02-20;Consultation;Dr Leclerc;25,00;16,50",  # 2: good
        f"{wrong_key};2026-02-20;Consultation;Dr Leclerc;25,00;16,50",  # 3
        f"{nir};2026-03-20;Consultation;Dr Leclerc;25,00;16,50",  # 4: in the future
        f"{nir};1899-12-31;Consultation;Dr Leclerc;25,00;16,50",  # 5
        f"{nir};31/02/2026;Consultation;Dr Leclerc;25,00;16,50",  # 6
        f"{nir};2026-02-20;Consultation;Dr Leclerc;25,00;30,00",  # 7: more than the care
        f"{nir};2026-02-20;Consultation;Dr Leclerc;-25,00;abc",  # 8
        "",  # 9: blank, ignored
        f"{nir};2026-02-20;Consultation;Dr Leclerc;25,00",  # 10
        f"{nir};2026-02-20; ;{'x' * 121};25,00;16,50",  # 11
        f"{nir};2026-02-21;Radiographie du thorax;Dr Petit;32.50;22.75",  # 12: good
    )

    answer = await send(browser, content)

    assert answer.status_code == 200
    assert counts(answer.text) == (2, 0, 8)
    amount = fr("Write an amount in euros, such as 25,00 or 25.00.")
    assert bad_lines(answer.text) == {
        3: [("nir", fr("The key does not match the number: check each digit."))],
        4: [("date_soins", fr("The date of care cannot be in the future."))],
        5: [("date_soins", fr("The date of care cannot be before 1900."))],
        6: [
            (
                "date_soins",
                fr("Give the date of care as day/month/year, for example 14/03/2026."),
            )
        ],
        7: [
            (
                "rembourse",
                fr("The amount reimbursed cannot be more than the amount of the care."),
            )
        ],
        8: [("montant", fr("An amount cannot be negative.")), ("rembourse", amount)],
        10: [
            (
                "",
                fr("This line has %(found)s columns instead of %(expected)s.", found=5, expected=6),
            )
        ],
        11: [
            ("acte", fr("This column is empty.")),
            ("professionnel", fr("This text can be %(count)s characters long at most.", count=120)),
        ],
    }
    # Never the number itself.
    assert wrong_key not in answer.text
    assert nir not in answer.text
    assert [row["title"] for row in await reimbursements(dossier)] == [
        title("Consultation", "16,50", "25,00"),
        title("Radiographie du thorax", "22,75", "32,50"),
    ]
    assert (
        fr(
            "Correct these lines and import the file again: the lines already imported are "
            "recognised and not added twice."
        )
        in answer.text
    )


async def test_importing_the_same_lines_again_adds_nothing(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    nir = await nir_of(alice)
    agent = await new_insurer_agent()
    browser = await signed_in_browser(new_browser, agent)
    lines = (
        f"{nir};2026-02-20;Consultation;Dr Leclerc;25,00;16,50",
        f"{nir};2026-02-21;Échographie abdominale;Dr Petit;32.50;22.75",
    )
    first = await send(browser, csv_file(*lines))
    assert counts(first.text) == (2, 0, 0)

    again = await send(browser, csv_file(*lines))
    assert again.status_code == 200
    assert counts(again.text) == (0, 2, 0)

    # The same care written otherwise, with a new line and a repeated one in the file.
    other_layout = csv_file(
        f"{format_nir(nir)};20/02/2026;  Consultation ;Dr  Leclerc;25;16.5",
        f"{nir};2026-02-22;Consultation;Dr Leclerc;25,00;16,50",
        f"{nir};2026-02-22;Consultation;Dr Leclerc;25,00;16,50",
        unicodedata.normalize("NFD", lines[1]),  # the accents as another program writes them
        bom=True,
    )
    third = await send(browser, other_layout)
    assert counts(third.text) == (1, 3, 0)
    assert len(await reimbursements(dossier)) == 3
    assert len([e for e in await trail(dossier, agent) if e["action"] == "create"]) == 3
    assert len(await told(alice)) == 2  # the first import and the third added something


async def test_two_imports_of_the_same_file_at_once_add_each_line_once(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    nir = await nir_of(alice)
    content = csv_file(
        *(f"{nir};2026-02-{day:02d};Consultation;Dr Leclerc;25,00;16,50" for day in range(1, 11))
    )
    first, second = [
        await signed_in_browser(new_browser, await new_insurer_agent(first_name=name))
        for name in ("Irène", "Jules")
    ]
    for browser in (first, second):
        assert (await browser.get(PAGE)).status_code == 200
    answers = await asyncio.gather(
        *(
            browser.submit(PAGE, {"file": None}, files={"file": ("r.csv", content, "text/csv")})
            for browser in (first, second)
        )
    )
    assert [answer.status_code for answer in answers] == [200, 200]
    imported, already = zip(*(counts(answer.text)[:2] for answer in answers), strict=True)
    assert sum(imported) == 10
    assert sum(already) == 10
    assert len(await reimbursements(dossier)) == 10


async def test_the_unique_submission_is_the_last_guard(portal, new_browser, monkeypatch):
    """When the check before the insert misses a line another import has just added, the
    insert fails on the unique submission: the batch is rolled back, and its lines added one
    at a time find it."""
    alice = await new_patient()
    dossier = await dossier_of(alice)
    nir = await nir_of(alice)
    agent = await new_insurer_agent()
    browser = await signed_in_browser(new_browser, agent)
    old = [f"{nir};2026-02-{day:02d};Consultation;Dr Leclerc;25,00;16,50" for day in (1, 2)]
    assert counts((await send(browser, csv_file(*old))).text) == (2, 0, 0)

    async def nothing_seen(submissions) -> set:
        return set()

    monkeypatch.setattr(reimbursements_module, "_imported", nothing_seen)
    new = f"{nir};2026-02-03;Consultation;Dr Leclerc;25,00;16,50"
    answer = await send(browser, csv_file(old[0], new, old[1]))
    assert answer.status_code == 200
    assert counts(answer.text) == (1, 2, 0)
    assert len(await reimbursements(dossier)) == 3
    creations = [event for event in await trail(dossier, agent) if event["action"] == "create"]
    assert len(creations) == 3  # the traces of the rolled back batch went with it
    assert len(await told(alice)) == 2


async def test_a_nir_without_an_open_record_is_reported_without_revealing_anything(
    portal, new_browser
):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    closed = await dossier_of(alice, status=DossierStatus.CLOSED)
    without_record = await new_patient(first_name="Hector", last_name="Vasseur")
    agent = await new_insurer_agent()
    browser = await signed_in_browser(new_browser, agent)
    content = csv_file(
        f"{new_nir()};2026-02-20;Consultation;Dr Leclerc;25,00;16,50",  # nobody's
        f"{await nir_of(alice)};2026-02-20;Consultation;Dr Leclerc;25,00;16,50",  # closed
        f"{await nir_of(without_record)};2026-02-20;Consultation;Dr Leclerc;25,00;16,50",
    )

    answer = await send(browser, content)

    assert answer.status_code == 200
    assert counts(answer.text) == (0, 0, 3)
    same = [("nir", fr(NO_RECORD))]
    assert bad_lines(answer.text) == {2: same, 3: same, 4: same}
    for secret in ("Alice", "Roux", "Hector", "Vasseur"):
        assert secret not in answer.text
    assert await Document.count() == 0
    # The attempt on the closed record is in its trail, refused.
    [event] = await trail(closed, agent)
    assert (event["action"], event["outcome"]) == ("create", "refused")
    assert (await Dossier.select(Dossier.status).where(Dossier.id == closed).first())[
        "status"
    ] == DossierStatus.CLOSED


async def test_a_file_that_cannot_be_read_is_refused_whole_with_a_message(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    good = f"{await nir_of(alice)};2026-02-20;Consultation;Dr Leclerc;25,00;16,50"
    agent = await new_insurer_agent()
    browser = await signed_in_browser(new_browser, agent)
    header_problem = fr("The first line must name the columns, exactly: %(header)s", header=HEADER)
    cases = {
        "wrong header": (
            csv_file(good, header="nir;date;acte;professionnel;montant;rembourse"),
            header_problem,
        ),
        "no header": (csv_file(header=good), header_problem),
        "commas": (
            csv_file(good.replace(";", ","), header=HEADER.replace(";", ",")),
            header_problem,
        ),
        "empty": (b"", fr("This file is empty.")),
        "blank": (b"\xef\xbb\xbf \r\n\r\n", fr("This file is empty.")),
        "header only": (
            csv_file(),
            fr("This file has no line after its header: nothing to import."),
        ),
        "latin-1": (
            csv_file(good.replace("Consultation", "Séance")).decode().encode("latin-1"),
            fr(
                "This file is not UTF-8 text. Save it from the spreadsheet as “CSV UTF-8”, "
                "with semicolons between the columns."
            ),
        ),
    }
    for case, (content, message) in cases.items():
        answer = await send(browser, content)
        assert answer.status_code == 400, case
        assert f'<p class="error" id="file-error">{message}</p>' in answer.text, case
    page = await browser.get(PAGE)
    assert page.status_code == 200
    no_file = await browser.submit(PAGE, {"file": None})
    assert no_file.status_code == 400
    assert fr("Choose the CSV file to import.") in no_file.text
    assert await reimbursements(dossier) == []


async def test_a_file_too_large_is_refused_with_a_message(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    line = f"{await nir_of(alice)};2026-02-20;Consultation;Dr Leclerc;25,00;16,50"
    agent = await new_insurer_agent()
    browser = await signed_in_browser(new_browser, agent)
    limits = fr(
        "A reimbursement file can be %(size)s MB and %(lines)s lines at most: split it into "
        "smaller files.",
        size=2,
        lines=format_decimal(MAX_LINES, locale="fr"),
    )

    too_many = await send(browser, csv_file(*[line] * (MAX_LINES + 1)))
    assert too_many.status_code == 413
    assert f'<p class="error" id="file-error">{limits}</p>' in too_many.text

    # Exactly the limit is read (blank lines do not count).
    at_limit = await send(browser, csv_file(line, *["", "x"] * (MAX_LINES - 1)))
    assert at_limit.status_code == 200
    assert counts(at_limit.text) == (1, 0, MAX_LINES - 1)

    too_heavy = csv_file(line) + b"\n" * (MAX_FILE_SIZE)
    answer = await send(browser, too_heavy)
    assert answer.status_code == 413
    assert limits in answer.text

    # Far beyond: refused before it is read, with a page that says why.
    huge = csv_file(line) + b"\n" * MAX_REQUEST_SIZE
    answer = await send(browser, huge)
    assert answer.status_code == 413
    assert fr("The file is too large") in answer.text
    assert limits in answer.text
    assert len(await reimbursements(dossier)) == 1


# --- who may do what ------------------------------------------------------------------------


async def test_only_insurer_agents_open_the_import_page(portal, new_browser):
    alice = await new_patient()
    await dossier_of(alice)
    people = [
        alice,
        await new_professional(),
        await new_professional(role=Role.SAMU_REGULATOR),
        await new_administrator(),
    ]
    content = csv_file(f"{await nir_of(alice)};2026-02-20;Consultation;Dr Leclerc;25,00;16,50")
    for person in people:
        browser = await signed_in_browser(new_browser, person)
        assert (await browser.get(PAGE)).status_code == 403, person.role
        await browser.get("/account")
        refused = await browser.post(
            PAGE,
            {"csrf_token": browser.csrf_token},
            files={"file": ("r.csv", content, "text/csv")},
        )
        assert refused.status_code == 403, person.role
    assert await Document.count() == 0

    stranger = new_browser()
    answer = await stranger.get(PAGE)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


async def test_the_patient_and_a_doctor_of_the_circle_read_it_a_pharmacist_does_not(
    portal, new_browser
):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    doctor = await new_professional(first_name="Bruno", profession="medecin")
    pharmacist = await new_professional(first_name="Paul", profession="pharmacien")
    await join(dossier, doctor)
    await join(dossier, pharmacist)
    agent = await new_insurer_agent()
    browser = await signed_in_browser(new_browser, agent)
    answer = await send(
        browser,
        csv_file(f"{await nir_of(alice)};2026-02-20;Consultation;Dr Leclerc;25,00;16,50"),
    )
    assert counts(answer.text) == (1, 0, 0)
    [document] = await reimbursements(dossier)
    shown = fr(title("Consultation", "16,50", "25,00"))
    page = f"/dossiers/{dossier}/documents/{document['id']}"

    for reader in (alice, doctor):
        reader_browser = await signed_in_browser(new_browser, reader)
        listing = await reader_browser.get(f"/dossiers/{dossier}/documents")
        assert listing.status_code == 200
        assert shown in listing.text, reader.role
        assert "Assurance Maladie (import)" in listing.text
        opened = await reader_browser.get(page)
        assert opened.status_code == 200
        assert "Dr Leclerc" in opened.text

    pharmacist_browser = await signed_in_browser(new_browser, pharmacist)
    listing = await pharmacist_browser.get(f"/dossiers/{dossier}/documents")
    assert listing.status_code == 200
    assert shown not in listing.text
    assert (await pharmacist_browser.get(page)).status_code == 404

    # The agent who imported it reads nothing of the record, not even its own import.
    assert (await browser.get(f"/dossiers/{dossier}")).status_code == 404
    assert (await browser.get(page)).status_code == 404


async def test_what_the_file_holds_is_shown_as_text(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    agent = await new_insurer_agent()
    browser = await signed_in_browser(new_browser, agent)
    content = csv_file(
        f"{await nir_of(alice)};2026-02-20;{SCRIPT};<b>Dr</b> Leclerc;25,00;16,50",
        f"{SCRIPT};2026-02-20;Consultation;Dr Leclerc;25,00;16,50",
    )
    answer = await send(browser, content, name=f"{SCRIPT}.csv")
    assert answer.status_code == 200
    assert counts(answer.text) == (1, 0, 1)
    assert SCRIPT not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.csv" in answer.text
    [document] = await reimbursements(dossier)
    assert document["title"].startswith(SCRIPT)

    patient = await signed_in_browser(new_browser, alice)
    listing = await patient.get(f"/dossiers/{dossier}/documents")
    assert SCRIPT not in listing.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing.text
    opened = await patient.get(f"/dossiers/{dossier}/documents/{document['id']}")
    assert SCRIPT not in opened.text
    assert "<b>Dr</b>" not in opened.text
    assert "&lt;b&gt;Dr&lt;/b&gt; Leclerc" in opened.text
