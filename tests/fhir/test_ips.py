"""The patient summary as an IPS document: built for the person asking from the medical summary
and every section they may read (the ``fhir_resources`` hook), and valid (`ips_checks`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

from portal.fhir import ips
from tests.fhir.ips_checks import check_ips, entries_of, section_codes

BASE = "https://carnet.test/fhir"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ADVANCE_DIRECTIVES = "42348-3"
ALLERGIES, MEDICATIONS, PROBLEMS = "48765-2", "10160-0", "11450-4"
VITAL_SIGNS = "8716-3"
IMMUNIZATIONS = "11369-6"
FAMILY_HISTORY = "10157-6"


def _patient(dossier_id) -> dict:
    return {"resourceType": "Patient", "id": str(dossier_id)}


async def _summary_of(carnet, login: str, patient: str = "camille") -> dict:
    dossier = carnet.dossiers[patient]
    view = await carnet.view(login, dossier)
    plugins = carnet.app.state.plugins
    bundle = await ips.patient_summary(view, plugins, _patient(dossier), BASE)
    return check_ips(bundle, BASE)


async def test_the_medecin_traitant_gets_the_whole_summary(carnet):
    bundle = await _summary_of(carnet, "dr.bernard@demo.carnet.fr")
    allergies = entries_of(bundle, ALLERGIES)
    assert allergies
    assert all(a["resourceType"] == "AllergyIntolerance" for a in allergies)
    assert [(a["code"]["text"], a["reaction"][0]["severity"]) for a in allergies] == [
        ("pénicilline", "moderate")  # the demo summary's, as the médecin traitant wrote it
    ]
    assert {m["resourceType"] for m in entries_of(bundle, MEDICATIONS)} == {"MedicationStatement"}
    immunizations = entries_of(bundle, IMMUNIZATIONS)
    assert immunizations
    assert {i["resourceType"] for i in immunizations} == {"Immunization"}
    directives = entries_of(bundle, ADVANCE_DIRECTIVES)
    assert {d["resourceType"] for d in directives} == {"Consent", "RelatedPerson"}
    # Each section's narrative, what a reader abroad sees, says what its entries say.
    narratives = {code: section["text"]["div"] for code, section in section_codes(bundle).items()}
    assert "Hélène Martin" in narratives[ADVANCE_DIRECTIVES]  # the trusted person
    pressures = [o for o in entries_of(bundle, VITAL_SIGNS) if "component" in o]
    assert pressures  # the demo's blood pressures: each of their two values is said
    for component in (c for o in pressures for c in o["component"]):
        assert f"{component['valueQuantity']['value']:g} " in narratives[VITAL_SIGNS]
    assert "pénicilline\u00a0: urticaire, modérée" in narratives[ALLERGIES]
    # Every built-in section gave its part (its ids prefixed by its key).
    ids = [entry["resource"]["id"] for entry in bundle["entry"]]
    for prefix in ("vaccination-", "end-of-life-", "organ-donation-", "occupational-"):
        assert any(found.startswith(prefix) for found in ids), prefix
    # The export is traced once in Camille's history, as the doctor's.
    trail = await carnet.trail(carnet.dossiers["camille"], "dr.bernard@demo.carnet.fr")
    assert [(e["action"], e["target_type"]) for e in trail][-1] == ("export", "dossier")


async def test_the_dentists_summary_has_no_advance_directives(carnet):
    bundle = await _summary_of(carnet, "dr.moreau@demo.carnet.fr")
    assert ADVANCE_DIRECTIVES not in section_codes(bundle)
    kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert "Consent" not in kinds
    assert "RelatedPerson" not in kinds
    assert "Immunization" not in kinds  # a dentist does not read vaccinations either
    assert entries_of(bundle, ALLERGIES)[0]["id"].startswith("summary-")  # but the summary


async def test_a_reader_the_summary_is_refused_to_is_told_it_is_withheld(carnet):
    """The médecin du travail may not read the medical summary: its required sections say
    that what they hold is not his to read, never that nothing is known (Camille is allergic
    to penicillin)."""
    bundle = await _summary_of(carnet, "dr.simon@demo.carnet.fr")
    sections = section_codes(bundle)
    for code in (ALLERGIES, MEDICATIONS, PROBLEMS):
        assert "entry" not in sections[code]
        assert sections[code]["emptyReason"]["coding"][0]["code"] == "withheld"
        assert "Non partagé avec vous" in sections[code]["text"]["div"]
    assert "pénicilline" not in json.dumps(bundle, ensure_ascii=False)


def test_an_empty_summary_says_no_information_in_each_required_section():
    bundle = check_ips(ips.summary_bundle(_patient(uuid4()), [], base_url=BASE, now=NOW), BASE)
    assert set(section_codes(bundle)) == {ALLERGIES, MEDICATIONS, PROBLEMS}
    codes = {
        loinc: [
            entry["code" if "code" in entry else "medicationCodeableConcept"]
            for entry in entries_of(bundle, loinc)
        ]
        for loinc in (ALLERGIES, MEDICATIONS, PROBLEMS)
    }
    assert {loinc: [c["coding"][0]["code"] for c in found] for loinc, found in codes.items()} == {
        ALLERGIES: ["no-allergy-info"],
        MEDICATIONS: ["no-medication-info"],
        PROBLEMS: ["no-problem-info"],
    }
    assert all(
        concept["coding"][0]["system"] == ips.ABSENT_UNKNOWN
        for found in codes.values()
        for concept in found
    )
    # In the document's language, the code's display as the IPS writes it.
    allergies = section_codes(bundle)[ALLERGIES]
    assert "Aucune information sur les allergies" in allergies["text"]["div"]
    assert codes[ALLERGIES][0]["coding"][0]["display"] == "No information about allergies"


def test_what_the_application_may_not_read_is_withheld():
    """Through software, only the resource types its scopes read: a required section it may
    not read says "withheld" (never "no information"), another one is left out."""
    dossier = uuid4()
    patient = {"reference": f"Patient/{dossier}"}
    resources = [
        {"resourceType": "AllergyIntolerance", "id": "a", "code": {"text": "Arachide"},
         "patient": patient},
        {"resourceType": "Immunization", "id": "i", "status": "completed",
         "vaccineCode": {"text": "Tétanos"}, "patient": patient,
         "occurrenceDateTime": "2020-01-01"},
        {"resourceType": "RelatedPerson", "id": "r", "patient": patient},
    ]  # fmt: skip
    texts = {"family_history": ["Diabète (père)"], "notes": ["À revoir"]}
    bundle = check_ips(
        ips.summary_bundle(
            _patient(dossier), resources, base_url=BASE, now=NOW, texts=texts,
            readable=lambda kind: kind in {"AllergyIntolerance", "FamilyMemberHistory"},
        ),
        BASE,
    )  # fmt: skip
    sections = {
        s["code"]["coding"][0]["code"]: s for s in bundle["entry"][0]["resource"]["section"]
    }
    assert set(sections) == {ALLERGIES, MEDICATIONS, PROBLEMS, FAMILY_HISTORY}
    assert [entry["id"] for entry in entries_of(bundle, ALLERGIES)] == ["a"]
    for withheld in (MEDICATIONS, PROBLEMS):
        assert "entry" not in sections[withheld]
        assert sections[withheld]["emptyReason"]["coding"][0] == {
            "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
            "code": "withheld",
            "display": "Information Withheld",
        }
    assert "Diabète (père)" in sections[FAMILY_HISTORY]["text"]["div"]
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds == ["Composition", "Patient", "Device", "AllergyIntolerance"]
    assert "À revoir" not in json.dumps(bundle, ensure_ascii=False)


def test_each_resource_is_filed_in_the_section_of_its_type():
    dossier = uuid4()
    patient = {"reference": f"Patient/{dossier}"}
    pressure = {
        "resourceType": "Observation",
        "id": "measures-1",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": ips.LOINC, "code": "29463-7", "display": "Body weight"}]},
        "subject": patient,
        "valueQuantity": {
            "value": 61,
            "unit": "kg",
            "system": "http://unitsofmeasure.org",
            "code": "kg",
        },
    }
    past = {
        "resourceType": "Condition",
        "id": "summary-1-history-0",
        "code": {"text": "Rougeole"},
        "subject": patient,
    }
    wishes = ips.advance_directive("end-of-life-1", dossier, NOW, "Directives anticipées")
    trusted = {"resourceType": "RelatedPerson", "id": "end-of-life-2", "patient": patient}
    other = {"resourceType": "Device", "id": "glucometer", "patient": patient}
    bundle = check_ips(
        ips.summary_bundle(
            _patient(dossier), [pressure, past, wishes, trusted, other], base_url=BASE, now=NOW
        ),
        BASE,
    )
    assert entries_of(bundle, "8716-3") == [pressure]
    assert "61 kg" in section_codes(bundle)["8716-3"]["text"]["div"]  # the value, not the label
    assert entries_of(bundle, "11348-0") == [past]
    assert entries_of(bundle, ADVANCE_DIRECTIVES) == [wishes, trusted]
    # In the bundle without a section of its own.
    assert other in [entry["resource"] for entry in bundle["entry"]]
    assert [entry["resource"]["resourceType"] for entry in bundle["entry"]][:3] == [
        "Composition",
        "Patient",
        "Device",
    ]


def test_typed_text_is_never_markup_in_the_narrative():
    dossier = uuid4()
    allergy = {"substance": "<script>alert(1)</script>", "reaction": "", "severity": ""}
    summary = {
        "number": 1,
        "sections": {"allergies": [allergy], "notes": "<b>gras</b> & co"},
    }
    bundle = ips.summary_bundle(
        _patient(dossier),
        ips.summary_resources(dossier, summary),
        base_url=BASE,
        now=NOW,
        texts=ips.summary_texts(summary),
    )
    check_ips(bundle, BASE)
    sections = section_codes(bundle)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sections[ALLERGIES]["text"]["div"]
    composition = bundle["entry"][0]["resource"]
    assert not any("<script>" in section["text"]["div"] for section in composition["section"])
    assert "&lt;b&gt;gras&lt;/b&gt; &amp; co" in sections["48767-8"]["text"]["div"]
