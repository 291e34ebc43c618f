"""Who finds what through the API: the same rules as the pages. A professional outside the
care circle finds no patient (searching declares no consent), a hospital's system deposits
for its professional and reads nothing, a patient's application reads their own record."""

from __future__ import annotations

from portal.access.tables import CircleMember
from portal.audit.tables import AuditEvent
from portal.audit.trail import chain_of
from portal.dossiers.tables import Document
from portal.fhir import codes
from portal.notifications.tables import Notification
from tests.fhir.conftest import (
    FHIR,
    TOKEN_ENDPOINT,
    document_entry,
    dossier_of,
    join,
    new_patient,
    new_professional,
    nir_of,
    provide_bundle,
    register_system,
    rpps_of,
    software_for,
    system_client,
    valid,
)


async def test_outside_the_care_circle_the_patient_is_not_found(portal, new_browser):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    outsider = await new_professional()
    software = await software_for(portal, new_browser, outsider)
    identifier = f"{codes.INS_NIR_SYSTEM}|{await nir_of(patient)}"

    found = await software.get(f"{FHIR}/Patient", params={"identifier": identifier})
    assert valid(found.json())["total"] == 0
    by_id = await software.get(f"{FHIR}/Patient/{dossier}")
    assert by_id.status_code == 404
    documents = await software.get(f"{FHIR}/DocumentReference", params={"patient": str(dossier)})
    assert documents.status_code == 404
    deposit = await software.post(FHIR, json=provide_bundle(dossier))
    assert deposit.status_code == 404
    # Nothing declared, nothing kept; each refusal is in the patient's history.
    assert await CircleMember.count().where(CircleMember.dossier == dossier) == 0
    assert await Document.count() == 0
    refused = await AuditEvent.count().where(
        AuditEvent.chain == chain_of(dossier), AuditEvent.outcome == "refused"
    )
    assert refused >= 4


async def test_a_hospital_system_deposits_for_its_doctor_and_reads_nothing(portal):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    cardiologist = await new_professional(first_name="Karim", last_name="Garcia")
    await join(dossier, cardiologist)
    system = await register_system(cardiologist)
    client = system_client(portal, system)
    await client.fetch_token(TOKEN_ENDPOINT, grant_type="client_credentials")

    anonymous = await client.post(FHIR, json=provide_bundle(dossier))
    assert anonymous.status_code == 400, anonymous.text
    assert valid(anonymous.json())["issue"][0]["expression"] == ["Bundle.entry[1].resource.author"]
    rpps = await rpps_of(cardiologist)
    sent = provide_bundle(dossier, document_entry(dossier, author_rpps=rpps))
    answer = await client.post(FHIR, json=sent)
    assert answer.status_code == 200, answer.text
    [stored] = await Document.select(Document.author, Document.author_name)
    assert stored == {"author": cardiologist.id, "author_name": "Karim Garcia"}
    # The patient is told, as for a deposit through the form.
    assert await Notification.count().where(Notification.account == patient.id) == 1
    reading = await client.get(f"{FHIR}/DocumentReference", params={"patient": str(dossier)})
    assert reading.status_code == 403
    assert valid(reading.json())["issue"][0]["code"] == "forbidden"


async def test_a_patient_application_reads_the_patient_record(portal, new_browser):
    patient = await new_patient()
    dossier = await dossier_of(patient)
    gp = await new_professional()
    await join(dossier, gp)
    professional_software = await software_for(portal, new_browser, gp)
    await professional_software.post(FHIR, json=provide_bundle(dossier))
    own = await software_for(portal, new_browser, patient, "user/*.rs", name="Mon appli santé")

    documents = await own.get(f"{FHIR}/DocumentReference", params={"patient": str(dossier)})
    assert valid(documents.json())["total"] == 1
    url = documents.json()["entry"][0]["resource"]["content"][0]["attachment"]["url"]
    assert (await own.get(url)).status_code == 200
    me = await own.get(f"{FHIR}/Patient/{dossier}")
    assert valid(me.json())["id"] == str(dossier)
    # Reading is all it may do.
    assert (await own.post(FHIR, json=provide_bundle(dossier))).status_code == 403
