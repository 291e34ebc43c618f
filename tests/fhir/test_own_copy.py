"""The patient's own copy in the European format ("Télécharger mon dossier (format
européen)"): the IPS and every document they see as FHIR files; and the import of a summary or
documents from elsewhere, checked, kept as their own document and shown as text only."""

from __future__ import annotations

import base64
import html
import json
from datetime import date
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from portal.clock import now
from portal.dossiers.tables import Document
from portal.fhir import reading
from tests.access.conftest import add_document
from tests.conftest import translated
from tests.fhir.ips_checks import check_ips, validated

CAMILLE = "camille.martin@demo.carnet.fr"
FHIR = "http://testserver.local/fhir"


async def test_camille_downloads_her_ips_and_her_documents(carnet):
    dossier = carnet.dossiers["camille"]
    camille = await carnet.sign_in(CAMILLE)
    overview = await camille.get(f"/dossiers/{dossier}")
    assert translated("fr", "Download my record (European format)") in overview.text
    assert "Télécharger mon dossier (format européen)" in overview.text

    summary = await camille.get(f"/dossiers/{dossier}/export/ips.json")
    assert summary.status_code == 200
    assert summary.headers["content-type"].startswith("application/fhir+json")
    assert summary.headers["content-disposition"].startswith('attachment; filename="ips-')
    base = carnet.settings.base_url.rstrip("/") + "/fhir"
    bundle = check_ips(summary.json(), base)
    assert bundle["entry"][1]["resource"]["id"] == str(dossier)

    answer = await camille.get(f"/dossiers/{dossier}/export/documents.json")
    assert answer.status_code == 200
    copy = validated(answer.json()).model_dump(mode="json", exclude_none=True)
    assert copy["type"] == "collection"
    references = [e["resource"] for e in copy["entry"] if e["resource"]["resourceType"] != "Binary"]
    binaries = {e["fullUrl"]: e["resource"] for e in copy["entry"][1::2]}
    current = await Document.select(Document.id, Document.hidden_until).where(
        Document.dossier == dossier, Document.superseded_at.is_null()
    )
    awaiting = {row["id"] for row in current if row["hidden_until"] and row["hidden_until"] > now()}
    assert awaiting  # the demo's result that awaits its announcement: not in her copy yet
    assert {UUID(reference["id"]) for reference in references} == {
        row["id"] for row in current
    } - awaiting
    for reference in references:
        attachment = reference["content"][0]["attachment"]
        binary = binaries[attachment["url"]]
        assert base64.b64decode(binary["data"])
        assert binary["contentType"].split(";")[0] == attachment["contentType"].split(";")[0]
    events = [(e["action"], e["target_type"]) for e in await carnet.trail(dossier, CAMILLE)]
    assert events[-2:] == [("export", "dossier"), ("export", "documents")]
    # Her copy, brought back, reads as her documents' titles, not as their resource types.
    files = {"file": ("documents.json", answer.content, "application/fhir+json")}
    imported = await camille.post(f"/dossiers/{dossier}/import", files=files)
    page = await camille.get(imported.headers["location"])
    for reference in references:
        assert str(escape(reference["description"])) in page.text


async def test_a_document_s_text_goes_with_its_file_into_her_copy(carnet):
    """A report deposited as a PDF with a few words typed beside it: both are hers to take."""
    dossier = carnet.dossiers["camille"]
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    document = await add_document(
        dossier,
        title="Compte rendu avec PDF",
        body="Revoir dans trois mois.",
        file_name="cr.pdf",
        file_type="application/pdf",
        file_data=pdf,
        file_size=len(pdf),
    )
    camille = await carnet.sign_in(CAMILLE)
    copy = (await camille.get(f"/dossiers/{dossier}/export/documents.json")).json()
    validated(copy)
    [reference] = [
        entry["resource"]
        for entry in copy["entry"]
        if entry["fullUrl"].endswith(f"/DocumentReference/{document}")
    ]
    file, text = (content["attachment"] for content in reference["content"])
    binaries = {e["fullUrl"]: e["resource"] for e in copy["entry"]}
    assert base64.b64decode(binaries[file["url"]]["data"]) == pdf
    assert text["contentType"].startswith("text/plain")
    assert base64.b64decode(text["data"]).decode() == "Revoir dans trois mois."


async def test_her_copy_holds_every_version_she_reads(carnet):
    """A report corrected since: its first version, which her pages show, is in her copy too,
    superseded by the one that replaced it."""
    dossier = carnet.dossiers["camille"]
    first = await add_document(dossier, title="Compte rendu", care_date=date(2026, 3, 1))
    second = await add_document(
        dossier, title="Compte rendu corrigé", care_date=date(2026, 3, 1), lineage=first
    )
    await Document.update({Document.superseded_at: now(), Document.lineage: first}).where(
        Document.id == first
    )
    camille = await carnet.sign_in(CAMILLE)
    copy = validated((await camille.get(f"/dossiers/{dossier}/export/documents.json")).json())
    by_id = {
        entry.resource.id: entry.resource.model_dump(mode="json", exclude_none=True)
        for entry in copy.entry
        if entry.resource.get_resource_type() == "DocumentReference"
    }
    assert by_id[str(second)]["status"] == "current"
    assert by_id[str(second)]["relatesTo"] == [
        {"code": "replaces", "target": {"reference": f"DocumentReference/{first}"}}
    ]
    assert by_id[str(first)]["status"] == "superseded"
    assert "relatesTo" not in by_id[str(first)]


async def test_camille_imports_a_summary_from_abroad_and_reads_it_as_text(
    carnet, at_the_same_moment
):
    dossier = carnet.dossiers["camille"]
    camille = await carnet.sign_in(CAMILLE)
    foreign = {
        "resourceType": "Bundle",
        "type": "document",
        "timestamp": "2025-08-14T10:00:00+02:00",
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": {
                    "resourceType": "Composition",
                    "title": "Resumen del paciente <script>alert(1)</script>",
                    "date": "2025-08-14",
                    "section": [
                        {"title": "Alergias", "entry": [{"reference": "urn:uuid:2"}]},
                        {
                            "title": "Notas",
                            "text": {"div": '<div><img src=x onerror="alert(2)">Viaje</div>'},
                        },
                    ],
                },
            },
            {
                "fullUrl": "urn:uuid:2",
                "resource": {
                    "resourceType": "AllergyIntolerance",
                    "code": {"text": "Penicilina"},
                    "recordedDate": "2025-08-14",
                },
            },
        ],
    }
    content = json.dumps(foreign).encode()
    files = {"file": ("resumen.json", content, "application/json")}
    sent = await camille.post(f"/dossiers/{dossier}/import", files=files)
    assert sent.status_code == 303
    page = await camille.get(sent.headers["location"])
    assert page.status_code == 200
    for text in ("Daté du 14/08/2025", "Alergias", "Penicilina (2025-08-14)", "Notas", "Viaje"):
        assert text in page.text
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "onerror" not in page.text
    [kept] = await Document.select().where(
        Document.dossier == dossier, Document.file_type == "application/fhir+json"
    )
    assert (kept["category"], kept["author_name"]) == ("patient", "Camille Martin")
    # Kept unchanged: she downloads the very file she imported.
    file = await camille.get(f"{sent.headers['location']}/file")
    assert (file.content, file.headers["content-type"]) == (content, "application/fhir+json")
    # The same file again: kept once.
    again = await camille.post(f"/dossiers/{dossier}/import", files=files)
    assert again.headers["location"] == sent.headers["location"]
    assert await Document.count().where(Document.file_type == "application/fhir+json") == 1
    # Again, as if both copies were sent at the same moment: past the look-up, the unique
    # submission refuses the second one, which leads to the first one's document.
    missed = at_the_same_moment()
    racing_copy = await camille.post(f"/dossiers/{dossier}/import", files=files)
    assert missed["looks"] == 0
    assert racing_copy.headers["location"] == sent.headers["location"]
    assert await Document.count().where(Document.file_type == "application/fhir+json") == 1


async def test_a_file_that_is_no_bundle_is_refused_and_nothing_is_kept(carnet):
    dossier = carnet.dossiers["camille"]
    camille = await carnet.sign_in(CAMILLE)
    before = await Document.count()
    nests = "This file is not JSON, or nests too deep: it cannot be a FHIR Bundle."
    for content, message, values in (
        (b"{not json", nests, {}),
        (
            b'{"resourceType": "Patient"}',
            "This file is not a FHIR Bundle (its resourceType must be “Bundle”).",
            {},
        ),
        *(
            (
                b'{"resourceType": "Bundle", "type": %s, "entry": []}' % kind,
                "Bundle.type must be “document” (a patient summary) or “collection”.",
                {},
            )
            for kind in (b'"transaction"', b'["document"]', b'{"x": 1}')
        ),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": [1e99999]}', nests, {}),
        (
            b'{"resourceType": "Bundle", "type": "document", "entry": [{"resource": {}}]}',
            "Bundle.entry[%(index)s].resource is not a FHIR resource.",
            {"index": 0},
        ),
        (b"[" * 100 + b"]" * 100, nests, {}),
    ):
        answer = await camille.post(
            f"/dossiers/{dossier}/import", files={"file": ("x.json", content, "application/json")}
        )
        assert answer.status_code == 400, content
        assert html.escape(translated("fr", message) % values, quote=False) in answer.text
    assert await Document.count() == before


async def test_a_professional_may_not_import_into_the_patients_own_documents(carnet):
    dossier = carnet.dossiers["camille"]
    doctor = await carnet.sign_in("dr.bernard@demo.carnet.fr")
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient"}}],
    }
    answer = await doctor.post(
        f"/dossiers/{dossier}/import",
        files={"file": ("x.json", json.dumps(bundle).encode(), "application/json")},
    )
    assert answer.status_code == 403
    assert await Document.count().where(Document.file_type == "application/fhir+json") == 0


KEYS = ["resourceType", "type", "entry", "resource", "section", "title", "text", "div", "code",
        "coding", "reference", "fullUrl", "id", "description", "component", "valueQuantity",
        "value", "unit", "valueString", "reaction", "manifestation", "severity",
        "effectiveDateTime", "timestamp", "date"]  # fmt: skip


def _nested(children: st.SearchStrategy) -> st.SearchStrategy:
    """Lists and objects of ``children`` (a function: hypothesis reads a lambda's source to
    see that it recurses, and misreads one over several lines)."""
    return st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(KEYS), children, max_size=5
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20), _nested, max_leaves=30
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(JSON, st.sampled_from(["document", "collection"]) | JSON)
def test_any_json_is_refused_with_a_message_or_read_as_text(value, kind):
    for candidate in (value, {"resourceType": "Bundle", "type": kind, "entry": value}):
        bundle, problem = reading.check_bundle(json.dumps(candidate).encode())
        if bundle is None:
            assert problem
        else:
            page = reading.readable(bundle)
            assert isinstance(page.title, str)
            assert all(isinstance(line, str) for _t, lines in page.sections for line in lines)
