"""The section as FHIR R4 resources, for the patient summary (IPS) and the patient's own copy:
the latest reading of each measure as an ``Observation`` of the vital-signs profile
(http://hl7.org/fhir/R4/observation-vitalsigns.html): category vital-signs, its LOINC code, its
value in UCUM, its normal range and whether it is outside it. A blood pressure is the panel
with its two components; a weight with the profile's height gives a body mass index of its own.

A summary gives the latest of each measure, not their history: the readings over time are the
section's page and the dossier's PDF.
"""

from __future__ import annotations

from typing import Any

from plugins.measures import readings
from plugins.measures.kinds import (
    BLOOD_PRESSURE,
    BMI,
    BMI_UNIT,
    KINDS,
    OXYGEN_SATURATION,
    WEIGHT,
    Kind,
    Part,
    body_mass_index,
    outside,
)
from portal.access.view import DossierView

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
PROFILES = "http://hl7.org/fhir/StructureDefinition/"
#: LOINC's names of the codes used, and the vital-signs profile of each (blood glucose has
#: none of its own: it keeps the category).
LOINC_NAMES = {
    "29463-7": "Body weight",
    "39156-5": "Body mass index (BMI) [Ratio]",
    "85354-9": "Blood pressure panel with all children optional",
    "8480-6": "Systolic blood pressure",
    "8462-4": "Diastolic blood pressure",
    "8867-4": "Heart rate",
    "8310-5": "Body temperature",
    "59408-5": "Oxygen saturation in Arterial blood by Pulse oximetry",
    "2708-6": "Oxygen saturation in Arterial blood",
    "2339-0": "Glucose [Mass/volume] in Blood",
}
PROFILE_OF = {
    "29463-7": "bodyweight",
    "39156-5": "bmi",
    "85354-9": "bp",
    "8867-4": "heartrate",
    "8310-5": "bodytemp",
    "59408-5": "oxygensat",
}
#: The code the vital-signs profile asks for beside the pulse oximetry one.
EXTRA_CODES = {OXYGEN_SATURATION.loinc: ("2708-6",)}
INTERPRETATIONS = {"low": ("L", "Low"), "high": ("H", "High")}


async def observations(view: DossierView) -> list[dict[str, Any]]:
    """The latest reading of each measure of ``view``'s dossier, and its latest body mass
    index when the profile gives a height that ``view`` may read."""
    height = await readings.height_cm(view)
    resources = []
    for kind in KINDS.values():
        row = await readings.latest(view, kind)
        if row is None:
            continue
        resources.append(observation(view, kind, row))
        bmi = body_mass_index(row["value"], height) if kind is WEIGHT else None
        if bmi is not None:
            resources.append(body_mass_index_observation(view, row, bmi))
    return resources


def _code(loinc: str, label: str) -> dict[str, Any]:
    codes = (loinc, *EXTRA_CODES.get(loinc, ()))
    return {
        "coding": [{"system": LOINC, "code": code, "display": LOINC_NAMES[code]} for code in codes],
        "text": label,
    }


def _quantity(value: float, unit: str, ucum: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": ucum}


def _judged(part: Part, value: float, unit: str, ucum: str) -> dict[str, Any]:
    """The value of ``part``, its normal range and, outside it, its interpretation."""
    judged: dict[str, Any] = {"valueQuantity": _quantity(value, unit, ucum)}
    flag = outside(part, value)
    if flag:
        code, display = INTERPRETATIONS[flag]
        judged["interpretation"] = [
            {"coding": [{"system": INTERPRETATION_SYSTEM, "code": code, "display": display}]}
        ]
    if part.normal:
        low, high = part.normal
        judged["referenceRange"] = [
            {"low": _quantity(low, unit, ucum), "high": _quantity(high, unit, ucum)}
        ]
    return judged


def _base(view: DossierView, resource_id: str, loinc: str, label: str, row) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": resource_id,
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": CATEGORY_SYSTEM, "code": "vital-signs", "display": "Vital Signs"}
                ],
                "text": "Vital Signs",
            }
        ],
        "code": _code(loinc, label),
        "subject": {"reference": f"Patient/{view.id}"},
        "effectiveDateTime": row["measured_at"].isoformat(timespec="seconds"),
    }
    if loinc in PROFILE_OF:
        resource["meta"] = {"profile": [f"{PROFILES}{PROFILE_OF[loinc]}"]}
    if row["author_name"]:
        resource["performer"] = [{"display": row["author_name"]}]
    return resource


def observation(view: DossierView, kind: Kind, row: dict[str, Any]) -> dict[str, Any]:
    """A reading as an Observation: a value, or a blood pressure's two components."""
    resource = _base(view, f"measures-{row['id']}", kind.loinc, str(kind.label), row)
    if kind is not BLOOD_PRESSURE:
        return resource | _judged(kind.parts[0], row["value"], kind.unit, kind.ucum)
    resource["component"] = [
        {"code": _code(part.loinc, str(part.label))} | _judged(part, value, kind.unit, kind.ucum)
        for part, value in zip(kind.parts, (row["value"], row["second_value"]), strict=True)
    ]
    return resource


def body_mass_index_observation(
    view: DossierView, weight: dict[str, Any], bmi: float
) -> dict[str, Any]:
    """The body mass index of a weight, derived from it."""
    resource = _base(view, f"measures-{weight['id']}-bmi", BMI.loinc, str(BMI.label), weight)
    resource["derivedFrom"] = [{"reference": f"Observation/measures-{weight['id']}"}]
    return resource | _judged(BMI, bmi, BMI_UNIT, BMI_UNIT)
