"""The section as FHIR R4 resources, for the patient summary (IPS): the posts held and the
exposures at work as social-history ``Observation``s (the IPS's social history section)."""

from __future__ import annotations

from typing import Any

from plugins.occupational_health import records, vocabulary
from portal.access.view import DossierView
from portal.audit import Action
from portal.fhir.ips import CARNET_CODES, LOINC
from portal.i18n import gettext as _
from portal.i18n import with_colon

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
#: LOINC's "History of Occupation".
OCCUPATION = "11341-5"
AGENT_SYSTEM = f"{CARNET_CODES}occupational-exposure"


async def resources(view: DossierView) -> list[dict[str, Any]]:
    """The posts and exposures the reader may see, the most recent first."""
    record = await records.record_of(view)
    readable = [
        (kind, row)
        for kind in ("jobs", "exposures")
        for row in record[kind]
        if view.may(Action.VIEW, item=records.item_of(row))
    ]
    return [_job(view, row) if kind == "jobs" else _exposure(view, row) for kind, row in readable]


def _observation(view: DossierView, row: dict[str, Any], prefix: str) -> dict[str, Any]:
    period = {"start": row["started"].isoformat()}
    if row["ended"]:
        period["end"] = row["ended"].isoformat()
    return {
        "resourceType": "Observation",
        "id": f"occupational-{prefix}-{row['id']}",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "social-history"}]}],
        "subject": {"reference": f"Patient/{view.id}"},
        "effectivePeriod": period,
    }


def _job(view: DossierView, row: dict[str, Any]) -> dict[str, Any]:
    return {
        **_observation(view, row, "job"),
        "code": {
            "coding": [{"system": LOINC, "code": OCCUPATION, "display": "History of Occupation"}],
            "text": _("Post held"),
        },
        "valueString": f"{row['job_title']}, {row['employer']}",
    }


def _exposure(view: DossierView, row: dict[str, Any]) -> dict[str, Any]:
    agent = vocabulary.AGENTS.get(row["agent"])
    name = str(agent.label) if agent else row["agent"]
    resource = {
        **_observation(view, row, "exposure"),
        "code": {"coding": [{"system": AGENT_SYSTEM, "code": row["agent"], "display": name}]},
        "valueString": with_colon(_("Exposure at work")) + f" {name}",
    }
    if row["intensity"] in vocabulary.INTENSITIES:
        resource["interpretation"] = [{"text": str(vocabulary.INTENSITIES[row["intensity"]])}]
    return resource
