"""The FHIR API for documents, driven as practice software drives it: find the patient by
INS-NIR, deposit through ITI-65, find again through ITI-67, retrieve through ITI-68; every
resource answered is valid R4, every step decided and traced as the pages do."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from bench.overview import count_statements
from portal import crypto
from portal.audit import signing, witness
from portal.audit.tables import AuditEvent
from portal.audit.trail import chain_of
from portal.audit.verification import verify
from portal.dossiers.tables import Document
from portal.fhir import codes
from tests.fhir.conftest import (
    FHIR,
    PDF,
    add_document,
    document_entry,
    dossier_of,
    gp_with_software,
    join,
    new_patient,
    new_professional,
    nir_of,
    provide_bundle,
    signed_in,
    software_for,
    valid,
)


async def test_metadata_says_what_the_api_does(portal):
    from tests.oauth.conftest import raw_client

    async with raw_client(portal) as client:
        answer = await client.get(f"{FHIR}/metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/fhir+json")
    statement = valid(answer.json())
    assert statement["fhirVersion"] == "4.0.1"
    [rest] = statement["rest"]
    assert {resource["type"] for resource in rest["resource"]} == {
        "Patient",
        "DocumentReference",
        "Binary",
        "List",
    }
    assert rest["interaction"] == [{"code": "transaction"}]


async def test_the_gp_software_deposits_finds_and_retrieves_a_report(portal, new_browser):
    patient = await new_patient(first_name="Camille", last_name="Martin")
    dossier = await dossier_of(patient)
    gp = await new_professional(first_name="Sophie", last_name="Bernard")
    await join(dossier, gp)
    software = await software_for(portal, new_browser, gp)

    # Find the patient by INS-NIR.
    nir = await nir_of(patient)
    found = await software.get(
        f"{FHIR}/Patient", params={"identifier": f"{codes.INS_NIR_SYSTEM}|{nir}"}
    )
    assert found.status_code == 200, found.text
    bundle = valid(found.json())
    assert bundle["total"] == 1
    resource = valid(bundle["entry"][0]["resource"])
    assert resource["id"] == str(dossier)
    assert resource["identifier"][0] == {
        **resource["identifier"][0],
        "system": codes.INS_NIR_SYSTEM,
        "value": nir,
    }
    assert resource["name"][0]["family"] == "Martin"

    # Deposit a consultation report (ITI-65).
    sent = provide_bundle(dossier, document_entry(dossier, title="Consultation du 1er mars"))
    answer = await software.post(FHIR, json=sent)
    assert answer.status_code == 200, answer.text
    response = valid(answer.json())
    assert response["type"] == "transaction-response"
    assert [entry["response"]["status"] for entry in response["entry"]] == ["201 Created"] * 3
    location = response["entry"][1]["response"]["location"]
    assert location.startswith("DocumentReference/")
    [stored] = await crypto.opened(
        dossier, Document, await Document.select().where(Document.dossier == dossier)
    )
    assert (stored["title"], stored["category"], stored["type"]) == (
        "Consultation du 1er mars",
        "compte_rendu",
        "consultation",
    )
    assert stored["author"] == gp.id
    assert bytes(stored["file_data"]) == PDF
    assert location == f"DocumentReference/{stored['id']}"

    # The same bundle again (a retry after a timeout): nothing new, the same answer.
    again = await software.post(FHIR, json=sent)
    assert (again.status_code, again.json()) == (200, response)
    assert await Document.count().where(Document.dossier == dossier) == 1

    # Find it (ITI-67), read it, retrieve its file (ITI-68).
    search = await software.get(f"{FHIR}/DocumentReference", params={"patient": str(dossier)})
    assert search.status_code == 200, search.text
    results = valid(search.json())
    assert results["total"] == 1
    reference = valid(results["entry"][0]["resource"])
    assert reference["id"] == str(stored["id"])
    # The identifier the software gave its document, as it gave it.
    assert reference["masterIdentifier"] == sent["entry"][1]["resource"]["masterIdentifier"]
    assert reference["category"][0]["coding"][0]["code"] == "10"
    assert reference["type"]["coding"][0]["code"] == "11488-4"
    assert reference["author"][0]["reference"] == f"Practitioner/{gp.id}"
    assert reference["context"]["period"]["start"] == "2026-03-01"
    read = await software.get(f"{FHIR}/{location}")
    assert valid(read.json()) == reference
    attachment = reference["content"][0]["attachment"]
    file = await software.get(attachment["url"])
    assert file.status_code == 200
    assert (file.content, file.headers["content-type"]) == (PDF, "application/pdf")

    # The patient sees the report, and in the history, the application.
    browser = await signed_in(new_browser, patient)
    page = await browser.get(f"/dossiers/{dossier}/documents/{stored['id']}")
    assert "Consultation du 1er mars" in page.text
    history = await browser.get(f"/dossiers/{dossier}/history")
    assert "Sophie Bernard, médecin, via Logiciel Médical Démo" in history.text
    created = await AuditEvent.select().where(
        AuditEvent.chain == chain_of(dossier), AuditEvent.action == "create"
    )
    assert [(event["actor_account"], event["via"]) for event in created] == [
        (gp.id, "Logiciel Médical Démo")
    ]


async def test_a_bundle_s_submission_set_is_kept_as_its_list(portal, new_browser):
    """Every entry of the answer says where what it made is, the submission set too: its
    List names the documents deposited together, those its reader may see."""
    patient = await new_patient()
    dossier = await dossier_of(patient)
    gp, colleague, stranger = [await new_professional() for _ in range(3)]
    await join(dossier, gp)
    await join(dossier, colleague)
    software = await software_for(portal, new_browser, gp)
    sent = provide_bundle(
        dossier, document_entry(dossier, title="Bilan"), document_entry(dossier, title="Suite")
    )
    response = valid((await software.post(FHIR, json=sent)).json())
    locations = [entry["response"]["location"] for entry in response["entry"]]
    assert [location.split("/")[0] for location in locations] == [
        "List",
        "DocumentReference",
        "Binary",
        "DocumentReference",
        "Binary",
    ]
    documents = {locations[1], locations[3]}

    submission_set = valid((await software.get(f"{FHIR}/{locations[0]}")).json())
    assert submission_set["id"] == locations[0].split("/")[1]
    assert submission_set["code"]["coding"][0]["code"] == "submissionset"
    assert submission_set["subject"] == {"reference": f"Patient/{dossier}"}
    assert {entry["item"]["reference"] for entry in submission_set["entry"]} == documents

    # The patient masks one: a colleague's List no longer names it.
    masked = locations[1].split("/")[1]
    await Document.update({Document.masked: True}).where(Document.id == masked)
    theirs = await software_for(portal, new_browser, colleague)
    seen = valid((await theirs.get(f"{FHIR}/{locations[0]}")).json())
    assert [entry["item"]["reference"] for entry in seen["entry"]] == [locations[3]]
    # Nothing they may see, no such List, a dossier not theirs: the same 404.
    await Document.update({Document.masked: True}).where(Document.dossier == dossier)
    outsider = await software_for(portal, new_browser, stranger)
    for client, path in [
        (theirs, locations[0]),
        (theirs, "List/00000000-0000-0000-0000-000000000000"),
        (theirs, "List/nope"),
        (outsider, locations[0]),
    ]:
        refused = await client.get(f"{FHIR}/{path}")
        assert refused.status_code == 404, path
        assert valid(refused.json())["issue"][0]["code"] == "not-found"


async def test_a_copy_of_a_bundle_fails_on_its_submission_and_answers_the_first(
    portal, new_browser
):
    """A copy is not looked up before it is saved, so a retry meets what two copies sent at
    the same moment meet: the unique submission refuses its document, and it answers what the
    first one made. Nothing of the attempt is kept, its trace neither: the chain and its
    witness hold the first deposit's event only."""
    _patient, dossier, _gp, software = await gp_with_software(portal, new_browser)
    sent = provide_bundle(dossier)
    first = await software.post(FHIR, json=sent)
    assert first.status_code == 200, first.text

    again = await software.post(FHIR, json=sent)
    assert (again.status_code, again.json()) == (200, first.json())
    assert await Document.count().where(Document.dossier == dossier) == 1
    assert (
        await AuditEvent.count().where(
            AuditEvent.chain == chain_of(dossier), AuditEvent.action == "create"
        )
        == 1
    )
    key = signing.installed()
    heads = witness.read(portal.state.settings.audit_witness, key)
    report = await verify(key, dossier_id=dossier, witness=heads)
    assert report.intact, report.problems


async def test_a_new_version_replaces_the_document(portal, new_browser, clock):
    _patient, dossier, _gp, software = await gp_with_software(portal, new_browser)
    first = await software.post(FHIR, json=provide_bundle(dossier))
    location = first.json()["entry"][1]["response"]["location"]
    first_id = location.split("/")[1]
    clock.advance(minutes=1)

    entry = document_entry(dossier, title="Compte rendu corrigé", replaces=first_id)
    second = await software.post(FHIR, json=provide_bundle(dossier, entry))
    assert second.status_code == 200, second.text
    new_id = second.json()["entry"][1]["response"]["location"].split("/")[1]

    current = await software.get(
        f"{FHIR}/DocumentReference", params={"patient": f"Patient/{dossier}", "status": "current"}
    )
    [found] = valid(current.json())["entry"]
    assert found["resource"]["id"] == new_id
    assert found["resource"]["relatesTo"] == [
        {"code": "replaces", "target": {"reference": location}}
    ]
    everything = await software.get(f"{FHIR}/DocumentReference", params={"patient": str(dossier)})
    statuses = {e["resource"]["id"]: e["resource"]["status"] for e in everything.json()["entry"]}
    assert statuses == {new_id: "current", first_id: "superseded"}

    # The same replacement again (a retry): the same answer, no third version.
    again = await software.post(FHIR, json=provide_bundle(dossier, entry))
    assert (again.status_code, again.json()) == (200, second.json())
    assert await Document.count().where(Document.dossier == dossier) == 2

    # A new version is of its document's category.
    moved = document_entry(
        dossier, class_code="11", type_code=None, replaces=new_id, title="Synthèse"
    )
    refused = await software.post(FHIR, json=provide_bundle(dossier, moved))
    assert refused.status_code == 400, refused.text
    assert refused.json()["issue"][0]["expression"] == ["Bundle.entry[1].resource.category"]

    # Replacing the old version again: it is not the current one any more.
    stale = document_entry(dossier, title="Trop tard", replaces=first_id)
    conflict = await software.post(FHIR, json=provide_bundle(dossier, stale))
    assert conflict.status_code == 409
    assert conflict.json()["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.relatesTo[0].target"
    ]


async def test_search_shows_only_what_the_asker_may_read_and_pages_it(portal, new_browser):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    dentist = await new_professional(profession="chirurgien_dentiste")
    await join(dossier, dentist)
    for day in range(1, 6):
        await add_document(dossier, "compte_rendu", title=f"CR {day}", care_date=date(2026, 1, day))
    await add_document(dossier, "compte_rendu", title="Masqué", masked=True)
    await add_document(dossier, "directives", title="Directives anticipées")
    software = await software_for(portal, new_browser, dentist)

    pages, url, params = [], f"{FHIR}/DocumentReference", {"patient": str(dossier), "_count": 2}
    while url:
        answer = await software.get(url, params=params)
        assert answer.status_code == 200, answer.text
        bundle = valid(answer.json())
        assert bundle["total"] == 5
        pages.append([entry["resource"]["description"] for entry in bundle["entry"]])
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        params = None
    assert pages == [["CR 5", "CR 4"], ["CR 3", "CR 2"], ["CR 1"]]

    # The day each was stored: the clock's, 2026-03-02 (UTC).
    for date_filter, total in [
        ("ge2026-03", 5),
        ("lt2026-03-02", 0),
        ("2026-03-02", 5),
        ("eq2026", 5),
        ("ne2026-03-02", 0),
        ("ne2026-03-01", 5),
        ("gt2026-03-01", 5),
        ("gt2026-03-02", 0),
        ("le2026-03-02", 5),
        ("le2026-03-01", 0),
        ("2026-03-02T23:59:59Z", 5),
    ]:
        params = {"patient": str(dossier), "date": date_filter}
        answer = await software.get(f"{FHIR}/DocumentReference", params=params)
        assert answer.json()["total"] == total, date_filter
    both = {"patient": str(dossier), "date": ["ge2026-03-02", "lt2026-03-03"]}
    assert (await software.get(f"{FHIR}/DocumentReference", params=both)).json()["total"] == 5
    narrowed = await software.get(
        f"{FHIR}/DocumentReference",
        params={"patient": str(dossier), "category": f"{codes.mapping().class_system}|11"},
    )
    assert narrowed.json()["total"] == 0
    # A document they may not read is not found, as one that does not exist.
    [hidden] = await Document.select(Document.id).where(Document.title == "Masqué")
    for missing in (hidden["id"], "00000000-0000-0000-0000-000000000000", "nope"):
        for path in ("DocumentReference", "Binary"):
            refused = await software.get(f"{FHIR}/{path}/{missing}")
            assert refused.status_code == 404
            assert valid(refused.json())["issue"][0]["code"] == "not-found"


async def test_a_search_pages_across_standings_and_leaves_out_the_refused_ones(portal, new_browser):
    """Documents of several authors, one announced long ago, share pages in care order; the
    one masked among them is neither counted nor paged (the database reads each page among
    the standings kept, here by leaving out the refused one)."""
    patient = await new_patient()
    dossier = await dossier_of(patient)
    gp, colleague = await new_professional(), await new_professional()
    await join(dossier, gp)
    await add_document(dossier, title="CR 1", care_date=date(2026, 1, 1), author=gp)
    await add_document(dossier, title="CR 2", care_date=date(2026, 1, 2), author=colleague)
    await add_document(
        dossier, title="Masqué", care_date=date(2026, 1, 3), author=colleague, masked=True
    )
    announced = datetime(2020, 1, 1, tzinfo=UTC)
    await add_document(dossier, title="CR 4", care_date=date(2026, 1, 4), hidden_until=announced)
    await add_document(dossier, title="CR 5", care_date=date(2026, 1, 5))
    software = await software_for(portal, new_browser, gp)

    pages, url, params = [], f"{FHIR}/DocumentReference", {"patient": str(dossier), "_count": 2}
    while url:
        bundle = valid((await software.get(url, params=params)).json())
        assert bundle["total"] == 4
        pages.append([entry["resource"]["description"] for entry in bundle["entry"]])
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        params = None
    assert pages == [["CR 5", "CR 4"], ["CR 2", "CR 1"]]
    # Past the end, the page before is the last one there is; counting only, no pages.
    for offset, count, previous in [(10, 2, ["2"]), (5, 0, []), (3, 2, ["1"])]:
        params = {"patient": str(dossier), "_count": count, "_offset": offset}
        bundle = valid((await software.get(f"{FHIR}/DocumentReference", params=params)).json())
        offsets = [
            parse_qs(urlsplit(link["url"]).query)["_offset"][0]
            for link in bundle["link"]
            if link["relation"] == "previous"
        ]
        assert offsets == previous, (offset, count)
    by_colleague = {"patient": str(dossier), "author": f"Practitioner/{colleague.id}"}
    answer = valid((await software.get(f"{FHIR}/DocumentReference", params=by_colleague)).json())
    assert [entry["resource"]["description"] for entry in answer["entry"]] == ["CR 2"]
    assert answer["total"] == 1


async def test_a_mask_on_the_current_version_hides_every_version_from_a_search(portal, new_browser):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    dentist = await new_professional(profession="chirurgien_dentiste")
    await join(dossier, dentist)
    first = await add_document(dossier, "compte_rendu", title="Première version")
    second = await add_document(dossier, "compte_rendu", title="Version masquée", lineage=first)
    await Document.update(
        {Document.lineage: first, Document.superseded_at: Document.created_at}
    ).where(Document.id == first)
    await add_document(dossier, "compte_rendu", title="Visible")
    software = await software_for(portal, new_browser, dentist)
    search = {"patient": str(dossier)}

    def titles(answer) -> list[str]:
        return [entry["resource"]["description"] for entry in valid(answer.json())["entry"]]

    answer = await software.get(f"{FHIR}/DocumentReference", params=search)
    assert sorted(titles(answer)) == ["Première version", "Version masquée", "Visible"]
    # The patient masks the document: the mask is set on its current version only.
    await Document.update({Document.masked: True}).where(Document.id == second)
    for status in ("", "current", "superseded"):
        answer = await software.get(
            f"{FHIR}/DocumentReference", params={**search, **({"status": status} if status else {})}
        )
        assert valid(answer.json())["total"] == (1 if status != "superseded" else 0), status
        assert "Première version" not in answer.text
    # A lineage without a current version (never made by Carnet) is not shown at all.
    await Document.update(
        {Document.masked: False, Document.superseded_at: Document.created_at}
    ).where(Document.id == second)
    answer = await software.get(f"{FHIR}/DocumentReference", params=search)
    assert titles(answer) == ["Visible"]


async def test_a_text_document_is_kept_as_its_text(portal, new_browser):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    nurse = await new_professional(profession="infirmier")
    await join(dossier, nurse)
    software = await software_for(portal, new_browser, nurse)
    text = "Pansement refait, cicatrisation en bonne voie."
    entry = document_entry(
        dossier, data=text.encode(), content_type="text/plain", title="Soins infirmiers"
    )
    answer = await software.post(FHIR, json=provide_bundle(dossier, entry))
    assert answer.status_code == 200, answer.text
    [stored] = await crypto.opened(dossier, Document, await Document.select())
    assert (stored["body"], stored["file_data"]) == (text, None)
    binary = answer.json()["entry"][2]["response"]["location"]
    retrieved = await software.get(f"{FHIR}/{binary}")
    assert retrieved.headers["content-type"].startswith("text/plain")
    assert text in retrieved.text


def _discharge_summary() -> dict:
    """A structured document, as a hospital's software would send it: a FHIR document Bundle."""
    return {
        "resourceType": "Bundle",
        "type": "document",
        "timestamp": "2026-03-01T10:00:00+01:00",
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": {
                    "resourceType": "Composition",
                    "title": "Lettre de liaison <script>alert(1)</script>",
                    "date": "2026-03-01",
                    "section": [{"title": "Traitements", "entry": [{"reference": "urn:uuid:2"}]}],
                },
            },
            {
                "fullUrl": "urn:uuid:2",
                "resource": {
                    "resourceType": "MedicationStatement",
                    "medicationCodeableConcept": {"text": "Amlodipine 5 mg"},
                },
            },
        ],
    }


async def test_a_structured_document_is_kept_and_shown_as_the_text_it_says(portal, new_browser):
    patient, dossier, _gp, software = await gp_with_software(portal, new_browser)
    content = json.dumps(_discharge_summary()).encode()
    entry = document_entry(
        dossier, data=content, content_type="application/fhir+json", title="Lettre de liaison"
    )
    answer = await software.post(FHIR, json=provide_bundle(dossier, entry))
    assert answer.status_code == 200, answer.text
    [stored] = await crypto.opened(dossier, Document, await Document.select())
    assert (bytes(stored["file_data"]), stored["file_type"]) == (content, "application/fhir+json")

    binary = answer.json()["entry"][2]["response"]["location"]
    retrieved = await software.get(f"{FHIR}/{binary}")
    assert (retrieved.content, retrieved.headers["content-type"]) == (
        content,
        "application/fhir+json",
    )
    browser = await signed_in(new_browser, patient)
    page = await browser.get(f"/dossiers/{dossier}/documents/{stored['id']}")
    assert page.status_code == 200
    assert "Traitements" in page.text
    assert "Amlodipine 5 mg" in page.text
    assert "<script>alert(1)" not in page.text
    download = await browser.get(f"/dossiers/{dossier}/documents/{stored['id']}/file")
    assert download.content == content
    assert '.json"' in download.headers["content-disposition"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "pas du JSON"),
        (json.dumps({"resourceType": "Patient"}).encode(), "resourceType"),
        (json.dumps({"resourceType": "Bundle", "type": "transaction"}).encode(), "Bundle.type"),
    ],
)
async def test_a_structured_document_that_is_no_fhir_document_is_refused(
    portal, new_browser, content, problem
):
    _patient, dossier, _gp, software = await gp_with_software(portal, new_browser)
    entry = document_entry(dossier, data=content, content_type="application/fhir+json")
    answer = await software.post(FHIR, json=provide_bundle(dossier, entry))
    assert answer.status_code == 400, answer.text
    [issue] = valid(answer.json())["issue"]
    assert issue["expression"] == ["Bundle.entry[1].resource.content[0].attachment.data"]
    assert problem in issue["diagnostics"]
    assert await Document.count().where(Document.dossier == dossier) == 0


async def test_a_document_one_reads_but_may_not_replace_is_refused_as_such(portal, new_browser):
    """A 403, not the 404 of what one cannot see: the software shows its user why."""
    patient = await new_patient()
    dossier = await dossier_of(patient)
    gp, colleague = await new_professional(), await new_professional(last_name="Garcia")
    for professional in (gp, colleague):
        await join(dossier, professional)
    colleague_software = await software_for(portal, new_browser, colleague)
    theirs = await colleague_software.post(FHIR, json=provide_bundle(dossier))
    location = theirs.json()["entry"][1]["response"]["location"]
    gp_software = await software_for(portal, new_browser, gp)
    assert (await gp_software.get(f"{FHIR}/{location}")).status_code == 200
    entry = document_entry(dossier, replaces=location.split("/")[1])
    answer = await gp_software.post(FHIR, json=provide_bundle(dossier, entry))
    assert answer.status_code == 403, answer.text
    [issue] = valid(answer.json())["issue"]
    assert (issue["code"], issue["expression"]) == (
        "forbidden",
        ["Bundle.entry[1].resource.relatesTo[0].target"],
    )
    assert await Document.count().where(Document.dossier == dossier) == 1


async def test_a_master_identifier_taken_by_another_author_is_refused_unseen(portal, new_browser):
    """The answer of a bundle sent again is for its author: another professional reusing a
    masterIdentifier (by mistake or on purpose) gets a 409 that shows nothing of what the
    first one deposited, which he may not even read."""
    patient = await new_patient()
    dossier = await dossier_of(patient)
    gp, dentist = await new_professional(), await new_professional(profession="chirurgien_dentiste")
    for professional in (gp, dentist):
        await join(dossier, professional)
    master = f"urn:uuid:{uuid.uuid4()}"
    care_plan = document_entry(dossier, class_code="44", type_code=None, master=master)
    gp_software = await software_for(portal, new_browser, gp)
    first = await gp_software.post(FHIR, json=provide_bundle(dossier, care_plan))
    assert first.status_code == 200, first.text
    made = first.json()["entry"][1]["response"]["location"]

    dentist_software = await software_for(portal, new_browser, dentist)
    assert (await dentist_software.get(f"{FHIR}/{made}")).status_code == 404
    reused = provide_bundle(dossier, document_entry(dossier, master=master, title="Détartrage"))
    answer = await dentist_software.post(FHIR, json=reused)
    assert answer.status_code == 409, answer.text
    [issue] = valid(answer.json())["issue"]
    assert (issue["code"], issue["expression"]) == (
        "duplicate",
        ["Bundle.entry[1].resource.masterIdentifier"],
    )
    assert made.split("/")[1] not in answer.text
    assert await Document.count().where(Document.dossier == dossier) == 1

    # The same author, the same masterIdentifier, another file: not a retry (XDS's
    # "non-identical hash"), and not kept either.
    changed = document_entry(
        dossier, class_code="44", type_code=None, master=master, data=PDF + b"%changed\n"
    )
    answer = await gp_software.post(FHIR, json=provide_bundle(dossier, changed))
    assert answer.status_code == 409, answer.text
    assert valid(answer.json())["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.masterIdentifier"
    ]
    assert await Document.count().where(Document.dossier == dossier) == 1


#: The statements of a deposit (docs/performance.md): outside its transaction, the token and
#: the dossier's facts; inside its one transaction, the chain's head and the event, the
#: document, then telling the patient (the receipt's head, the notification, the unread
#: count with the address, the message). On PostgreSQL, the chain's lock too.
DEPOSIT_STATEMENTS = {"alone": 2, "in_transaction": 7}


async def test_a_deposit_runs_a_few_statements_in_one_transaction(portal, new_browser):
    """Counted at the second deposit, the first one's look-ups of what is read once (the
    application, the keys) done."""
    _patient, dossier, _gp, software = await gp_with_software(portal, new_browser)
    assert (await software.post(FHIR, json=provide_bundle(dossier))).status_code == 200
    database = portal.state.database
    with count_statements(database.engine) as counted:
        answer = await software.post(FHIR, json=provide_bundle(dossier))
    assert answer.status_code == 200, answer.text
    expected = DEPOSIT_STATEMENTS["in_transaction"] + (not database.is_sqlite)
    assert (counted.alone, len(counted.transactions)) == (DEPOSIT_STATEMENTS["alone"], 1)
    assert len(counted.queries) - counted.alone == expected, "\n".join(counted.queries)
