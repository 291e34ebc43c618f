"""``GET /fhir/Patient/{id}/$summary``: the IPS of what the token's person may read, for
software authorized by the patient's professionals; refused alike for an unknown id."""

from __future__ import annotations

import uuid

from fhirpy import AsyncFHIRClient

from plugins.end_of_life.tables import Directives, DirectivesKind
from portal import clock
from portal.dossiers.tables import SummaryVersion
from tests.fhir.conftest import (
    BASE,
    FHIR,
    dossier_of,
    join,
    new_patient,
    new_professional,
    software_for,
    valid,
)
from tests.fhir.ips_checks import REQUIRED_SECTIONS, check_ips, entries_of, section_codes
from tests.fhir.test_fhir_client import served  # noqa: F401
from tests.oauth.conftest import raw_client

ADVANCE_DIRECTIVES = "42348-3"
ALLERGIES = "48765-2"
#: Practice software that reads whatever its person may read.
READS = "user/DocumentReference.c user/*.rs"


async def _with_directives() -> uuid.UUID:
    """A patient's dossier holding advance directives written on paper."""
    dossier = await dossier_of(await new_patient(first_name="Camille", last_name="Martin"))
    await Directives.insert(
        Directives(
            dossier=dossier,
            number=1,
            kind=DirectivesKind.ELSEWHERE,
            elsewhere_place="Chez ma sœur",
            elsewhere_holder="Claire Martin",
            author_name="Camille Martin",
            created_at=clock.now(),
        )
    )
    return dossier


async def test_the_doctors_software_gets_the_ips_and_the_dentists_has_no_directives(
    portal, new_browser
):
    dossier = await _with_directives()
    doctor = await new_professional(first_name="Sophie", last_name="Bernard")
    dentist = await new_professional(profession="chirurgien_dentiste")
    for professional in (doctor, dentist):
        await join(dossier, professional)

    for_doctor = await (await software_for(portal, new_browser, doctor, READS)).get(
        f"{FHIR}/Patient/{dossier}/$summary"
    )
    assert for_doctor.status_code == 200, for_doctor.text
    assert for_doctor.headers["content-type"].startswith("application/fhir+json")
    bundle = check_ips(for_doctor.json(), FHIR)
    [directives] = entries_of(bundle, ADVANCE_DIRECTIVES)
    assert "Claire Martin" in directives["text"]["div"]
    assert bundle["entry"][1]["resource"]["name"][0]["family"] == "Martin"

    for_dentist = await (await software_for(portal, new_browser, dentist, READS)).get(
        f"{FHIR}/Patient/{dossier}/$summary"
    )
    assert for_dentist.status_code == 200, for_dentist.text
    bundle = check_ips(for_dentist.json(), FHIR)
    assert ADVANCE_DIRECTIVES not in section_codes(bundle)
    assert "Claire Martin" not in for_dentist.text


async def test_an_application_gets_only_the_resource_types_its_scopes_read(portal, new_browser):
    """Granted the patient's identity, an application is not given their allergies or their
    wishes in the summary: the sections the IPS requires say "withheld"; granted allergies
    too, it gets those and no more."""
    dossier = await _with_directives()
    doctor = await new_professional()
    await join(dossier, doctor)
    await SummaryVersion.insert(
        SummaryVersion(dossier=dossier, number=1, created_at=clock.now(), author=doctor.id,
                       author_name="Sophie Bernard",
                       sections={"allergies": [{"substance": "Pénicilline"}]})
    )  # fmt: skip

    identity = await software_for(portal, new_browser, doctor, "user/Patient.rs")
    answer = await identity.get(f"{FHIR}/Patient/{dossier}/$summary")
    assert answer.status_code == 200, answer.text
    bundle = check_ips(answer.json(), FHIR)
    sections = bundle["entry"][0]["resource"]["section"]
    assert {section["code"]["coding"][0]["code"] for section in sections} == REQUIRED_SECTIONS
    for section in sections:
        assert "entry" not in section
        assert section["emptyReason"]["coding"][0]["code"] == "withheld"
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds == ["Composition", "Patient", "Device"]
    assert "Pénicilline" not in answer.text
    assert "Claire Martin" not in answer.text

    allergies = await software_for(
        portal, new_browser, doctor, "user/Patient.rs user/AllergyIntolerance.rs"
    )
    bundle = check_ips((await allergies.get(f"{FHIR}/Patient/{dossier}/$summary")).json(), FHIR)
    [allergy] = entries_of(bundle, ALLERGIES)
    assert allergy["code"]["text"] == "Pénicilline"
    assert ADVANCE_DIRECTIVES not in section_codes(bundle)
    assert {entry["resource"]["resourceType"] for entry in bundle["entry"]} == {
        "Composition",
        "Patient",
        "Device",
        "AllergyIntolerance",
    }


async def test_an_unknown_and_a_refused_patient_answer_the_same_404(portal, new_browser):
    dossier = await _with_directives()
    outsider = await new_professional()
    software = await software_for(portal, new_browser, outsider)
    answers = [
        await software.get(f"{FHIR}/Patient/{patient}/$summary")
        for patient in (dossier, uuid.uuid4(), "not-an-id")
    ]
    assert {answer.status_code for answer in answers} == {404}
    assert len({answer.text for answer in answers}) == 1
    assert valid(answers[0].json())["resourceType"] == "OperationOutcome"


async def test_the_capability_statement_lists_the_summary_operation(portal):
    async with raw_client(portal) as client:
        statement = valid((await client.get(f"{FHIR}/metadata")).json())
    [patient] = [r for r in statement["rest"][0]["resource"] if r["type"] == "Patient"]
    assert patient["operation"] == [
        {"name": "summary", "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary"}
    ]


async def test_a_fhir_client_library_gets_the_summary(portal, served, new_browser):  # noqa: F811
    dossier = await _with_directives()
    doctor = await new_professional()
    await join(dossier, doctor)
    software = await software_for(portal, new_browser, doctor, READS)
    client = AsyncFHIRClient(
        served,
        authorization=f"Bearer {software.token['access_token']}",
        url_aliases=[FHIR],
    )
    bundle = check_ips(await client.execute(f"Patient/{dossier}/$summary", method="get"), FHIR)
    assert entries_of(bundle, ADVANCE_DIRECTIVES)
    patient = await client.reference("Patient", str(dossier)).to_resource()
    assert bundle["entry"][1]["resource"] == patient.serialize()
    assert BASE in bundle["entry"][0]["fullUrl"]
