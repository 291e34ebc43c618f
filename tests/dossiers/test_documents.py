"""Documents, as the people who use them notice: a professional of the care circle adds a
report (a text, a PDF) and the patient is told; the patient adds their own; each reader sees
what their rights cover; a file is downloaded as an attachment, and the download is traced; a
new version replaces the old one and the history stays; a result can wait until it is
announced, and a minor's confidential care stays out of the representatives' sight.

Bad input of every kind comes back in the form with its message and a 4xx, and nothing is
saved: a date in the future or before 1900, an empty or too long title, no text nor file, an
unknown category or type, a category the profession does not write, a file too large or not
what its name says. A form sent twice adds one document. What people type is shown as text.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import UUID

import httpx

from portal import crypto
from portal.dossiers.documents import MAX_FILE_SIZE, MAX_REQUEST_SIZE
from portal.dossiers.tables import Document, Dossier
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
from tests.identity.conftest import Browser, Person, field_error, new_patient, new_professional

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(56) + b"This program cannot be run in DOS mode."
SCRIPT = "<script>alert(1)</script>"
#: Every page fits in one TCP initial window once compressed (tests/test_budgets.py).
BUDGET = 14_600


def fr(message: str, **params) -> str:
    """``message`` as the French page shows it (escaped)."""
    text = translated("fr", message)
    return text % params if params else text


def new_form(dossier: UUID) -> str:
    return f"/dossiers/{dossier}/documents/new"


def page_of(dossier: UUID, document: UUID) -> str:
    return f"/dossiers/{dossier}/documents/{document}"


async def deposit(
    browser: Browser, dossier: UUID, file: tuple | None = None, **values: str | None
) -> httpx.Response:
    """Open the deposit form and send it with ``values`` typed in (a consultation report by
    default) and ``file`` attached: (name, bytes, content type the browser claims)."""
    page = await browser.get(new_form(dossier))
    assert page.status_code == 200, page.status_code
    typed = {
        "title": "Compte rendu de consultation",
        "care_date": "2026-02-27",
        "body": "Examen clinique normal.",
        **values,
        "file": None,
    }
    return await browser.submit(new_form(dossier), typed, files={"file": file} if file else None)


def created(response: httpx.Response, dossier: UUID) -> UUID:
    """The document a successful deposit leads to."""
    assert response.status_code == 303, (response.status_code, response.text[-3000:])
    location = response.headers["location"]
    assert location.startswith(f"/dossiers/{dossier}/documents/"), location
    return UUID(location.rsplit("/", 1)[1])


async def documents_of(dossier: UUID) -> list[dict]:
    """The dossier's documents as stored, their sealed content opened."""
    rows = await Document.select().where(Document.dossier == dossier).order_by(Document.created_at)
    return await crypto.opened(dossier, Document, rows)


async def told(person: Person, kind: str) -> list[dict]:
    """The notifications of ``kind`` that ``person`` received (params and link)."""
    return (
        await Notification.select(Notification.params, Notification.link)
        .where(Notification.account == person.id, Notification.kind == kind)
        .output(load_json=True)
    )


async def listed(browser: Browser, dossier: UUID) -> str:
    overview = await browser.get(f"/dossiers/{dossier}")
    assert overview.status_code == 200, overview.status_code
    return overview.text


async def circle(**professions: str) -> tuple[Person, UUID, dict[str, Person]]:
    """A patient's dossier with professionals of the given professions in its care circle."""
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    people = {}
    for name, profession in professions.items():
        people[name] = await new_professional(
            first_name=name.capitalize(), last_name="Martin", profession=profession
        )
        await join(dossier, people[name])
    return alice, dossier, people


# --- depositing -----------------------------------------------------------------------------


async def test_a_doctor_of_the_circle_adds_a_report_and_the_patient_is_told(
    portal, new_browser, clock
):
    alice, dossier, people = await circle(
        doctor="medecin", physio="masseur_kinesitherapeute", pharmacist="pharmacien"
    )
    doctor = people["doctor"]
    browser = await signed_in_browser(new_browser, doctor)

    answer = await deposit(browser, dossier, title="Compte rendu de consultation cardiologique")
    document = created(answer, dossier)
    [row] = await documents_of(dossier)
    assert row["id"] == row["lineage"] == document
    assert (row["category"], row["author"], row["author_profession"]) == (
        "compte_rendu",
        doctor.id,
        "medecin",
    )
    assert row["author_name"] == "Doctor Martin"
    assert row["created_at"] == clock()
    assert row["file_data"] is None
    assert row["hidden_until"] is None
    page = await browser.get(answer.headers["location"])
    assert fr("The document is added to the record.") in page.text
    assert "Examen clinique normal." in page.text
    assert ("create", "allowed", str(document)) in [
        (event["action"], event["outcome"], event["target_id"])
        for event in await trail(dossier, doctor)
    ]

    [notice] = await told(alice, "new_document")
    assert notice["link"] == page_of(dossier, document)
    assert notice["params"]["who"] == "Doctor Martin"
    for reader in (alice, people["physio"]):
        reader_browser = await signed_in_browser(new_browser, reader)
        assert "Compte rendu de consultation cardiologique" in await listed(reader_browser, dossier)
    pharmacist = await signed_in_browser(new_browser, people["pharmacist"])
    assert "cardiologique" not in await listed(pharmacist, dossier)
    assert (await pharmacist.get(page_of(dossier, document))).status_code == 404


async def test_a_pdf_is_kept_and_downloaded_as_an_attachment_and_the_download_is_traced(
    portal, new_browser
):
    alice, dossier, people = await circle(doctor="medecin")
    browser = await signed_in_browser(new_browser, people["doctor"])
    answer = await deposit(
        browser,
        dossier,
        ("Échographie cardiaque.pdf", PDF, "application/pdf"),
        title="Échographie cardiaque",
        body="",
    )
    document = created(answer, dossier)
    [row] = await documents_of(dossier)
    assert (row["file_name"], row["file_type"], row["file_size"]) == (
        "Échographie cardiaque.pdf",
        "application/pdf",
        len(PDF),
    )

    patient = await signed_in_browser(new_browser, alice)
    page = await patient.get(page_of(dossier, document))
    assert f'href="{page_of(dossier, document)}/file" hx-boost="false"' in page.text
    before = len(await trail(dossier, alice))
    download = await patient.get(f"{page_of(dossier, document)}/file")
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Echographie_cardiaque.pdf"')
    assert disposition.isascii()
    assert download.headers["cache-control"] == "no-store"
    assert download.headers["x-content-type-options"] == "nosniff"
    [event] = (await trail(dossier, alice))[before:]
    assert (event["action"], event["outcome"], event["target_id"]) == (
        "download",
        "allowed",
        str(document),
    )


async def test_the_patient_adds_their_own_documents_and_is_not_told_of_them(portal, new_browser):
    alice, dossier, people = await circle(doctor="medecin")
    browser = await signed_in_browser(new_browser, alice)
    form = await browser.get(new_form(dossier))
    assert 'value="patient"' in form.text
    assert 'value="compte_rendu"' not in form.text
    assert "hide_from_patient" not in form.text

    answer = await deposit(
        browser,
        dossier,
        ("photo.png", PNG, "image/png"),
        category="patient",
        title="Photo de mon eczéma",
        body="",
    )
    document = created(answer, dossier)
    [row] = await documents_of(dossier)
    assert (row["author"], row["file_type"]) == (alice.id, "image/png")
    assert await told(alice, "new_document") == []
    doctor = await signed_in_browser(new_browser, people["doctor"])
    assert "Photo de mon eczéma" in await listed(doctor, dossier)
    download = await doctor.get(f"{page_of(dossier, document)}/file")
    assert (download.status_code, download.content) == (200, PNG)

    refused = await deposit(browser, dossier, category="compte_rendu", title="Faux compte rendu")
    assert refused.status_code == 403
    assert field_error(refused.text, "category") == fr(
        "You may not add documents of this category."
    )
    assert len(await documents_of(dossier)) == 1


# --- bad input ------------------------------------------------------------------------------


BAD_INPUTS = [
    ({"care_date": "2027-03-02"}, "care_date", "The date of care cannot be in the future.", {}),
    ({"care_date": "1899-12-31"}, "care_date", "The date of care cannot be before 1900.", {}),
    (
        {"care_date": "31/02/2026"},
        "care_date",
        "Give the date of care as day/month/year, for example 14/03/2026.",
        {},
    ),
    ({"care_date": ""}, "care_date", None, {}),
    ({"title": "   "}, "title", "Give the document a title.", {}),
    (
        {"title": "T" * 201},
        "title",
        "The title can be %(count)s characters long at most.",
        {"count": 200},
    ),
    ({"body": "  "}, "body", "Write the document's text, attach its file, or both.", {}),
    ({"category": "employeur"}, "category", "Choose a category from the list.", {}),
    (
        {"type": "radiographie"},
        "type",
        "Choose a type of this category from the list, or none.",
        {},
    ),
    (
        {"category": "imagerie", "type": "consultation"},
        "type",
        "Choose a type of this category from the list, or none.",
        {},
    ),
    (
        {"hide_from_patient": "1", "hidden_days": "31"},
        "hidden_days",
        "Choose between 1 and %(count)s days.",
        {"count": 30},
    ),
    (
        {"hide_from_patient": "1", "hidden_days": "0"},
        "hidden_days",
        "Choose between 1 and %(count)s days.",
        {"count": 30},
    ),
]


async def test_bad_input_comes_back_in_the_form_with_its_message_and_nothing_is_saved(
    portal, new_browser
):
    _alice, dossier, people = await circle(doctor="medecin")
    browser = await signed_in_browser(new_browser, people["doctor"])
    for values, name, message, params in BAD_INPUTS:
        typed = {"title": "Bilan sanguin", **values}
        answer = await deposit(browser, dossier, **typed)
        assert answer.status_code == 400, (values, answer.status_code)
        error = field_error(answer.text, name)
        assert error, (values, name)
        if message:
            assert error == fr(message, **params), values
        assert 'class="error-summary"' in answer.text
        assert f'href="#{name}"' in answer.text
        # What was typed is still there.
        if name != "title":
            assert 'value="Bilan sanguin"' in answer.text
        if name != "body":
            assert "Examen clinique normal." in answer.text
    assert await documents_of(dossier) == []


async def test_a_file_disguised_by_its_name_is_refused(portal, new_browser):
    _alice, dossier, people = await circle(doctor="medecin")
    browser = await signed_in_browser(new_browser, people["doctor"])
    for name, content in (("resultats.pdf", EXE), ("radio.png", b"GIF89a" + bytes(20))):
        answer = await deposit(browser, dossier, (name, content, "application/pdf"))
        assert answer.status_code == 400, name
        assert field_error(answer.text, "file") == fr(
            "Only PDF, JPEG and PNG files are accepted, and this file is none of them, "
            "whatever its name says."
        )
    empty = await deposit(browser, dossier, ("vide.pdf", b"", "application/pdf"))
    assert field_error(empty.text, "file") == fr("This file is empty.")
    assert await documents_of(dossier) == []


async def test_a_file_too_large_is_refused_with_a_message(portal, new_browser):
    _alice, dossier, people = await circle(doctor="medecin")
    browser = await signed_in_browser(new_browser, people["doctor"])
    too_large = b"%PDF-" + bytes(MAX_FILE_SIZE - 4)
    answer = await deposit(browser, dossier, ("scanner.pdf", too_large, "application/pdf"))
    assert answer.status_code == 413
    assert field_error(answer.text, "file") == fr(
        "This file is too large: %(size)s MB at most.", size=10
    )
    assert 'value="Compte rendu de consultation"' in answer.text

    # Far beyond: refused before it is read, still with a page that says why.
    huge = b"%PDF-" + bytes(MAX_REQUEST_SIZE)
    answer = await deposit(browser, dossier, ("scanner.pdf", huge, "application/pdf"))
    assert answer.status_code == 413
    assert fr("The file is too large") in answer.text
    assert await documents_of(dossier) == []


async def test_a_category_the_profession_does_not_write_is_refused_and_traced(portal, new_browser):
    _alice, dossier, people = await circle(pharmacist="pharmacien")
    pharmacist = people["pharmacist"]
    browser = await signed_in_browser(new_browser, pharmacist)
    form = await browser.get(new_form(dossier))
    assert 'value="dispensation"' in form.text
    assert 'value="imagerie"' not in form.text

    answer = await deposit(browser, dossier, category="imagerie", title="Radiographie")
    assert answer.status_code == 403
    assert field_error(answer.text, "category") == fr("You may not add documents of this category.")
    assert 'value="Radiographie"' in answer.text
    assert await documents_of(dossier) == []
    assert [
        (event["action"], event["reason"]) for event in await refusals(dossier, pharmacist)
    ] == [("create", "pharmacien does not write imagerie")]


async def test_only_the_medecin_traitant_adds_the_medical_summary(portal, new_browser):
    alice, dossier, people = await circle(doctor="medecin")
    browser = await signed_in_browser(new_browser, people["doctor"])
    form = await browser.get(new_form(dossier))
    assert 'value="resume"' not in form.text
    answer = await deposit(browser, dossier, category="synthese", type="resume")
    assert answer.status_code == 403
    assert field_error(answer.text, "type") == fr("You may not add documents of this type.")
    assert await documents_of(dossier) == []

    traitant = await new_professional(first_name="Karim", last_name="Garcia")
    await Dossier.update({Dossier.medecin_traitant: traitant.id}).where(Dossier.id == dossier)
    browser = await signed_in_browser(new_browser, traitant)
    form = await browser.get(new_form(dossier))
    assert 'value="resume"' in form.text
    created(await deposit(browser, dossier, category="synthese", type="resume"), dossier)
    [row] = await documents_of(dossier)
    assert (row["category"], row["type"], row["author"]) == ("synthese", "resume", traitant.id)
    assert len(await told(alice, "new_document")) == 1


async def test_a_form_sent_twice_adds_one_document(portal, new_browser):
    _alice, dossier, people = await circle(doctor="medecin")
    browser = await signed_in_browser(new_browser, people["doctor"])
    first = await deposit(browser, dossier)
    again = await browser.submit(new_form(dossier), {"file": None})
    assert again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert len(await documents_of(dossier)) == 1

    # Twice at the same moment (a double click without JavaScript).
    await browser.get(new_form(dossier))
    typed = {"title": "Deux fois", "care_date": "2026-02-27", "body": "Texte", "file": None}
    both = await asyncio.gather(
        browser.submit(new_form(dossier), typed), browser.submit(new_form(dossier), typed)
    )
    assert [answer.status_code for answer in both] == [303, 303]
    assert both[0].headers["location"] == both[1].headers["location"]
    assert [row["title"] for row in await documents_of(dossier)] == [
        "Compte rendu de consultation",
        "Deux fois",
    ]


async def test_two_copies_past_the_check_at_once_still_add_one_document(
    portal, new_browser, at_the_same_moment
):
    """When both copies pass the check before either is saved, the unique submission lets
    one through, and the other leads to its document."""
    _alice, dossier, people = await circle(doctor="medecin")
    browser = await signed_in_browser(new_browser, people["doctor"])
    first = await deposit(browser, dossier)
    missed = at_the_same_moment()  # the route's check
    typed = {"title": "Compte rendu", "care_date": "2026-02-27", "body": "Texte", "file": None}
    again = await browser.submit(new_form(dossier), typed)
    assert missed["looks"] == 0
    assert (again.status_code, again.headers["location"]) == (303, first.headers["location"])
    assert len(await documents_of(dossier)) == 1


async def test_what_people_type_is_shown_as_text(portal, new_browser):
    alice, dossier, people = await circle(doctor="medecin")
    browser = await signed_in_browser(new_browser, people["doctor"])
    answer = await deposit(
        browser,
        dossier,
        (f"{SCRIPT}.pdf", PDF, "application/pdf"),
        title=SCRIPT,
        body=f"Texte {SCRIPT}",
    )
    document = created(answer, dossier)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for reader in (browser, await signed_in_browser(new_browser, alice)):
        for path in (page_of(dossier, document), f"/dossiers/{dossier}"):
            page = await reader.get(path)
            assert SCRIPT not in page.text, path
            assert escaped in page.text, path
    refused = await deposit(browser, dossier, title=SCRIPT, care_date="2099-01-01")
    assert refused.status_code == 400
    assert SCRIPT not in refused.text
    assert escaped in refused.text


# --- versions -------------------------------------------------------------------------------


async def test_a_new_version_replaces_the_old_one_and_the_history_stays(portal, new_browser, clock):
    alice, dossier, people = await circle(doctor="medecin")
    doctor = people["doctor"]
    browser = await signed_in_browser(new_browser, doctor)
    first = created(await deposit(browser, dossier, title="Bilan initial"), dossier)
    page = await browser.get(page_of(dossier, first))
    replaces = f"{new_form(dossier)}?replaces={first}"
    assert f'href="{replaces}"' in page.text

    clock.advance(minutes=5)
    form = await browser.get(replaces)
    assert form.status_code == 200
    assert 'value="Bilan initial"' in form.text
    answer = await browser.submit(
        f"{page_of(dossier, first)}/new-version",
        {"title": "Bilan corrigé", "body": "Valeurs corrigées.", "file": None},
    )
    second = created(answer, dossier)
    old, new = await documents_of(dossier)
    assert (old["id"], old["superseded_at"], old["lineage"]) == (first, clock(), first)
    assert (new["id"], new["superseded_at"], new["lineage"]) == (second, None, first)
    assert (new["category"], new["type"]) == (old["category"], old["type"])
    assert ("update", "allowed", str(first)) in [
        (event["action"], event["outcome"], event["target_id"])
        for event in await trail(dossier, doctor)
    ]

    patient = await signed_in_browser(new_browser, alice)
    overview = await listed(patient, dossier)
    assert "Bilan corrigé" in overview
    assert "Bilan initial" not in overview
    current = await patient.get(page_of(dossier, second))
    assert "Valeurs corrigées." in current.text
    assert f'href="{page_of(dossier, first)}"' in current.text
    previous = await patient.get(page_of(dossier, first))
    assert previous.status_code == 200
    assert "Examen clinique normal." in previous.text
    assert f'href="{page_of(dossier, second)}"' in previous.text

    # The form of the old version, sent again after the new one: nothing more is added.
    stale = await browser.post(
        f"{page_of(dossier, first)}/new-version",
        {"csrf_token": browser.csrf_token, "title": "Encore", "care_date": "2026-02-27",
         "body": "x", "submission": "6c1f1b7e-0000-4000-8000-000000000000"},
    )  # fmt: skip
    assert stale.status_code == 409
    assert len(await documents_of(dossier)) == 2


async def test_only_the_author_makes_a_new_version(portal, new_browser):
    alice, dossier, people = await circle(doctor="medecin", colleague="medecin")
    author = await signed_in_browser(new_browser, people["doctor"])
    document = created(await deposit(author, dossier), dossier)
    colleague = await signed_in_browser(new_browser, people["colleague"])

    page = await colleague.get(page_of(dossier, document))
    assert page.status_code == 200
    assert "replaces=" not in page.text
    assert (await colleague.get(f"{new_form(dossier)}?replaces={document}")).status_code == 403
    answer = await post_form(
        colleague,
        f"{page_of(dossier, document)}/new-version",
        title="Autre",
        care_date="2026-02-27",
        body="Autre texte",
    )
    assert answer.status_code == 403
    patient = await signed_in_browser(new_browser, alice)
    assert (await patient.get(f"{new_form(dossier)}?replaces={document}")).status_code == 403
    assert len(await documents_of(dossier)) == 1
    assert [
        (event["action"], event["reason"]) for event in await refusals(dossier, people["colleague"])
    ] == [("update", "only the author changes a document")] * 2


# --- hidden from the patient ----------------------------------------------------------------


async def hidden_result(browser: Browser, dossier: UUID, days: str = "10") -> UUID:
    answer = await deposit(
        browser,
        dossier,
        title="Résultat de biopsie",
        category="compte_rendu",
        type="biologie",
        hide_from_patient="1",
        hidden_days=days,
    )
    return created(answer, dossier)


async def test_a_result_hidden_until_announced_shows_by_itself_when_its_time_comes(
    portal, new_browser, clock
):
    alice, dossier, people = await circle(doctor="medecin")
    doctor = await signed_in_browser(new_browser, people["doctor"])
    result = await hidden_result(doctor, dossier)
    [row] = await documents_of(dossier)
    assert row["hidden_until"] == clock() + timedelta(days=10)
    assert not row["masked"]
    assert await told(alice, "new_document") == []
    [awaits] = await told(alice, "document_awaits")
    assert awaits["params"]["until"] == (clock() + timedelta(days=10)).strftime("%d/%m/%Y")
    assert "biopsie" not in str(awaits)

    patient = await signed_in_browser(new_browser, alice)
    assert "Résultat de biopsie" not in await listed(patient, dossier)
    assert (await patient.get(page_of(dossier, result))).status_code == 404
    assert (await patient.get(f"{page_of(dossier, result)}/file")).status_code == 404
    # Hidden and masked cannot go together: the patient cannot mask what they cannot see.
    assert (await post_form(patient, f"{page_of(dossier, result)}/mask")).status_code == 404
    assert not (await documents_of(dossier))[0]["masked"]

    clock.advance(days=10, seconds=1)
    patient = await signed_in_browser(new_browser, alice)
    assert "Résultat de biopsie" in await listed(patient, dossier)
    assert (await patient.get(page_of(dossier, result))).status_code == 200


async def test_the_author_announces_a_hidden_result_and_the_patient_is_told(
    portal, new_browser, clock
):
    alice, dossier, people = await circle(doctor="medecin", colleague="medecin")
    doctor = await signed_in_browser(new_browser, people["doctor"])
    result = await hidden_result(doctor, dossier, days="30")

    colleague = await signed_in_browser(new_browser, people["colleague"])
    page = await colleague.get(page_of(dossier, result))
    assert "/announce" not in page.text
    refused = await post_form(colleague, f"{page_of(dossier, result)}/announce")
    assert refused.status_code == 403
    patient = await signed_in_browser(new_browser, alice)
    assert (await post_form(patient, f"{page_of(dossier, result)}/announce")).status_code == 404
    assert (await documents_of(dossier))[0]["hidden_until"] is not None

    await doctor.get(page_of(dossier, result))
    announced = await doctor.submit(f"{page_of(dossier, result)}/announce")
    assert (announced.status_code, announced.headers["location"]) == (
        303,
        page_of(dossier, result),
    )
    assert (await documents_of(dossier))[0]["hidden_until"] is None
    [released] = await told(alice, "document_released")
    assert released["link"] == page_of(dossier, result)
    assert "Résultat de biopsie" in await listed(patient, dossier)
    assert (await patient.get(page_of(dossier, result))).status_code == 200
    # Now the patient may mask it like any other.
    await patient.get(page_of(dossier, result))
    assert (await patient.submit(f"{page_of(dossier, result)}/mask")).status_code == 303
    assert (await documents_of(dossier))[0]["masked"]


# --- hidden from the representatives --------------------------------------------------------


async def test_a_minors_confidential_care_stays_hidden_from_the_representatives_until_shown(
    portal, new_browser
):
    parent = await new_patient(first_name="Camille", last_name="Petit")
    child = await new_patient(first_name="Léo", last_name="Petit")
    dossier = await dossier_of(child)
    await represent(dossier, parent)
    doctor = await new_professional(first_name="Jeanne", last_name="Lambert")
    await join(dossier, doctor)
    author = await signed_in_browser(new_browser, doctor)
    answer = await deposit(
        author, dossier, title="Consultation de contraception", hide_from_representatives="1"
    )
    document = created(answer, dossier)
    assert len(await told(child, "new_document")) == 1
    assert await told(parent, "new_document") == []

    parent_browser = await signed_in_browser(new_browser, parent)
    assert "contraception" not in await listed(parent_browser, dossier)
    assert (await parent_browser.get(page_of(dossier, document))).status_code == 404
    child_browser = await signed_in_browser(new_browser, child)
    assert "Consultation de contraception" in await listed(child_browser, dossier)

    page = await author.get(page_of(dossier, document))
    assert "/show-to-representatives" in page.text
    shown = await author.submit(f"{page_of(dossier, document)}/show-to-representatives")
    assert shown.status_code == 303
    assert "Consultation de contraception" in await listed(parent_browser, dossier)
    assert (await parent_browser.get(page_of(dossier, document))).status_code == 200
    # Once shown, it stays shown: nothing offers to hide it again.
    page = await author.get(page_of(dossier, document))
    assert "/show-to-representatives" not in page.text
    assert "/hide" not in page.text
    assert not (await documents_of(dossier))[0]["hidden_from_representatives"]


# --- page weight ----------------------------------------------------------------------------


async def compressed_size(browser: Browser, path: str) -> int:
    """The size of a page as sent gzipped (as tests/test_budgets.py measures)."""
    headers = {"accept-encoding": "gzip"}
    async with browser.http.stream("GET", path, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200, path
    return len(raw)


async def test_the_deposit_form_and_a_document_with_its_versions_fit_the_budget(
    portal, new_browser
):
    _alice, dossier, people = await circle(doctor="medecin")
    browser = await signed_in_browser(new_browser, people["doctor"])
    body = "Évolution favorable. " * 150
    document = created(await deposit(browser, dossier, body=body), dossier)
    for number in range(12):
        await browser.get(f"{new_form(dossier)}?replaces={document}")
        title = f"Compte rendu d'hospitalisation en rééducation, version {number}"
        answer = await browser.submit(
            f"{page_of(dossier, document)}/new-version",
            {"title": title, "body": body, "file": None},
        )
        document = created(answer, dossier)
    for path in (new_form(dossier), page_of(dossier, document)):
        assert await compressed_size(browser, path) <= BUDGET, path
