"""The section as FHIR R4 resources, for the patient summary (IPS) and the patient's own copy:
one ``Immunization`` per current record, coded with the vaccine's key in the shipped list."""

from __future__ import annotations

from typing import Any

from plugins.vaccination import records
from plugins.vaccination.reference import vaccine_name
from portal.access.view import DossierView
from portal.fhir.ips import CARNET_CODES

#: The code system of the shipped vaccine list (`reference.VACCINES`): the record's key.
VACCINE_SYSTEM = f"{CARNET_CODES}vaccine"
ROUTE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"
#: Carnet's routes of administration, as HL7 v3 codes.
ROUTES = {"IM": "IM", "SC": "SQ", "ID": "IDINJ", "oral": "PO", "nasal": "NASINHL"}


async def immunizations(view: DossierView) -> list[dict[str, Any]]:
    """Every current record of the dossier, the most recent first."""
    return [immunization(view, row) for row in await records.current(view.id)]


def immunization(view: DossierView, row: dict[str, Any]) -> dict[str, Any]:
    name = vaccine_name(row["vaccine"])
    resource: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": f"vaccination-{row['id']}",
        "status": "completed",
        "vaccineCode": {
            "coding": [{"system": VACCINE_SYSTEM, "code": row["vaccine"], "display": name}],
            "text": name,
        },
        "patient": {"reference": f"Patient/{view.id}"},
        "occurrenceDateTime": row["given_on"].isoformat(),
        # Copied by the patient's side from a paper carnet, until a professional confirms it.
        "primarySource": not row["declared_by_patient"],
    }
    if row["lot"]:
        resource["lotNumber"] = row["lot"]
    if row["route"] in ROUTES:
        resource["route"] = {
            "coding": [{"system": ROUTE_SYSTEM, "code": ROUTES[row["route"]]}],
            "text": str(records.ROUTES_OF_ADMINISTRATION[row["route"]]),
        }
    if row["dose"]:
        dose = row["dose"]
        number = (
            {"doseNumberPositiveInt": int(dose)}
            if dose.isdigit()
            else {"doseNumberString": str(records.DOSES[dose])}
        )
        resource["protocolApplied"] = [number]
    if row["vaccinator_name"] or row["author_name"]:
        resource["performer"] = [
            {"actor": {"display": row["vaccinator_name"] or row["author_name"]}}
        ]
    if row["notes"]:
        resource["note"] = [{"text": row["notes"]}]
    return resource
