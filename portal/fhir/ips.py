"""The patient summary as an International Patient Summary (HL7 IPS, FHIR R4): a document
``Bundle`` whose first entry is the ``Composition``, then the ``Patient`` and every resource the
sections point to, all of it built for the person asking.

The content comes from two places: the médecin traitant's medical summary
(`portal.dossiers.summary`), when the asker may read it, and every section the asker may read,
through the ``fhir_resources(view)`` hook. Each resource is filed in the IPS section of its
type (`SECTION_OF_TYPE`). The three sections the IPS requires (allergies, medications,
problems) are always there: empty, each holds the IPS "no information" entry, so a reader abroad
knows nothing was recorded rather than guessing that it was left out.

It translates and never decides: the view says what the asker may read. `summary_bundle` is a
pure function of what `gather` read, so the document's shape is tested without a database.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from portal.access.view import DossierView
from portal.audit import Action
from portal.dossiers.routes import readable_sections
from portal.dossiers.summary import SEVERITIES, SUMMARY_ITEM, current
from portal.fhir.reading import line_of
from portal.i18n import current_language, gettext_lazy
from portal.i18n import gettext as _
from portal.plugins import Plugins

LOINC = "http://loinc.org"
#: The IPS's own codes for "no information" (absent-unknown-uv-ips).
ABSENT_UNKNOWN = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_CATEGORY = "http://terminology.hl7.org/CodeSystem/consentcategorycodes"
XHTML = "http://www.w3.org/1999/xhtml"
#: Where Carnet's own code systems live (a vaccine's key, an occupational exposure's agent):
#: codes of the shipped lists, for what has no code in a terminology Carnet may ship.
CARNET_CODES = "https://carnet.fr/fhir/CodeSystem/"
#: The namespace of the bundles' identifiers (a UUID 5 of the dossier and the moment).
BUNDLE_NAMESPACE = UUID("0e3c6f47-51a8-5b8f-8f3c-6c1f4c0bd8a1")
#: The software that writes the document, its author.
DEVICE_ID = "carnet"

#: Why a section is empty (list-empty-reason): ``withheld``, when the application asking may
#: not read what it holds.
LIST_EMPTY_REASON = "http://terminology.hl7.org/CodeSystem/list-empty-reason"

_SEVERITY = {"legere": "mild", "moderee": "moderate", "severe": "severe"}


@dataclass(frozen=True)
class IpsSection:
    """A section of the IPS ``Composition``: its LOINC code, its title, the resource types that
    carry its content (an application reads the section only with a scope reading each of
    them), and the "no information" entry it holds when empty (only the three sections the
    IPS requires)."""

    key: str
    loinc: str
    title: Any  # a lazy string
    types: tuple[str, ...]
    required: bool = False
    empty_entry: Callable[[str], dict[str, Any]] | None = None


def _no_allergy_info(patient: str) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": "ips-no-allergy-info",
        "clinicalStatus": _coded(ALLERGY_CLINICAL, "active"),
        "code": _absent(
            "no-allergy-info", "No information about allergies", _("No information about allergies")
        ),
        "patient": {"reference": patient},
    }


def _no_medication_info(patient: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": "ips-no-medication-info",
        "status": "unknown",
        "medicationCodeableConcept": _absent(
            "no-medication-info",
            "No information about medications",
            _("No information about medications"),
        ),
        "subject": {"reference": patient},
    }


def _no_problem_info(patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "ips-no-problem-info",
        "clinicalStatus": _coded(CONDITION_CLINICAL, "active"),
        "code": _absent(
            "no-problem-info", "No information about problems", _("No information about problems")
        ),
        "subject": {"reference": patient},
    }


#: The sections, in the order the document shows them. The narrative-only ones are typed as
#: FHIR carries that content elsewhere: family history as ``FamilyMemberHistory``, social
#: history as ``Observation``, clinical notes as ``DocumentReference``.
SECTIONS = (
    IpsSection(
        "allergies",
        "48765-2",
        gettext_lazy("Allergies and intolerances"),
        ("AllergyIntolerance",),
        True,
        _no_allergy_info,
    ),
    IpsSection(
        "medications",
        "10160-0",
        gettext_lazy("Medication summary"),
        ("MedicationStatement", "MedicationRequest"),
        True,
        _no_medication_info,
    ),
    IpsSection(
        "problems", "11450-4", gettext_lazy("Problem list"), ("Condition",), True, _no_problem_info
    ),
    IpsSection(
        "immunizations", "11369-6", gettext_lazy("History of immunizations"), ("Immunization",)
    ),
    IpsSection("procedures", "47519-4", gettext_lazy("History of procedures"), ("Procedure",)),
    IpsSection("results", "30954-2", gettext_lazy("Results"), ("Observation", "DiagnosticReport")),
    IpsSection("vital_signs", "8716-3", gettext_lazy("Vital signs"), ("Observation",)),
    IpsSection("past_illness", "11348-0", gettext_lazy("History of past illness"), ("Condition",)),
    IpsSection(
        "family_history", "10157-6", gettext_lazy("Family history"), ("FamilyMemberHistory",)
    ),
    IpsSection("social_history", "29762-2", gettext_lazy("Social history"), ("Observation",)),
    IpsSection(
        "advance_directives",
        "42348-3",
        gettext_lazy("Advance directives"),
        ("Consent", "DocumentReference"),
    ),
    IpsSection("notes", "48767-8", gettext_lazy("Notes"), ("DocumentReference",)),
)
SECTION_BY_KEY = {section.key: section for section in SECTIONS}
#: The sections the médecin traitant's summary fills (`summary_resources`, `summary_texts`).
FROM_SUMMARY = frozenset(
    {
        "allergies",
        "medications",
        "problems",
        "past_illness",
        "procedures",
        "family_history",
        "social_history",
        "notes",
    }
)
#: The IPS section of each resource type a section's hook may give.
SECTION_OF_TYPE = {
    "AllergyIntolerance": "allergies",
    "MedicationStatement": "medications",
    "MedicationRequest": "medications",
    "Immunization": "immunizations",
    "Procedure": "procedures",
    "DiagnosticReport": "results",
    "Consent": "advance_directives",
    "DocumentReference": "advance_directives",
    "RelatedPerson": "advance_directives",  # the trusted person (personne de confiance)
}
#: An Observation's section, by its category (observation-category codes).
SECTION_OF_OBSERVATION = {
    "vital-signs": "vital_signs",
    "laboratory": "results",
    "imaging": "results",
    "social-history": "social_history",
}


# --- small builders the sections share ----------------------------------------------------


def _coded(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding = {"system": system, "code": code, **({"display": display} if display else {})}
    return {"coding": [coding], **({"text": display} if display else {})}


def _absent(code: str, display: str, words: str) -> dict[str, Any]:
    """An IPS "no information" code: its display as the code system writes it, its text in
    the document's language."""
    return {**_coded(ABSENT_UNKNOWN, code, display), "text": words}


def _section_code(section: IpsSection) -> dict[str, Any]:
    """A section's LOINC code, with its title in the document's language as the text (LOINC's
    own display names are English)."""
    return {"coding": [{"system": LOINC, "code": section.loinc}], "text": str(section.title)}


def narrative(*paragraphs: str) -> dict[str, str]:
    """A resource's human-readable text, from plain text (escaped: nothing typed is markup)."""
    body = "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs if paragraph)
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body or "<p/>"}</div>'}


def advance_directive(
    resource_id: str, patient_id: UUID, recorded: datetime, text: str, *, permit: bool = True
) -> dict[str, Any]:
    """A ``Consent`` of the advance-directive scope (IPS advance directives section): what the
    patient wants, in ``text``, recorded at ``recorded``; ``permit=False`` for a refusal."""
    return {
        "resourceType": "Consent",
        "id": resource_id,
        "text": narrative(text),
        "status": "active",
        "scope": _coded(CONSENT_SCOPE, "adr", "Advanced Care Directive"),
        "category": [_coded(CONSENT_CATEGORY, "acd", "Advance Directive")],
        "patient": {"reference": f"Patient/{patient_id}"},
        "dateTime": recorded.isoformat(timespec="seconds"),
        # The French law that gives these wishes their force (Code de la santé publique).
        "policy": [{"uri": "https://www.legifrance.gouv.fr/codes/id/LEGITEXT000006072665"}],
        "provision": {"type": "permit" if permit else "deny"},
    }


def section_of(resource: dict[str, Any]) -> str | None:
    """The IPS section a resource belongs in, or None (it goes in the bundle alone)."""
    kind = resource.get("resourceType")
    if kind == "Condition":
        return "problems" if _on_problem_list(resource) else "past_illness"
    if kind == "Observation":
        for category in resource.get("category") or ():
            for coding in category.get("coding") or ():
                if coding.get("code") in SECTION_OF_OBSERVATION:
                    return SECTION_OF_OBSERVATION[coding["code"]]
        return "results"
    return SECTION_OF_TYPE.get(kind)


def _on_problem_list(condition: dict[str, Any]) -> bool:
    """A condition of the problem list (IPS): marked so, or active; any other is past."""
    codes = {
        coding.get("code")
        for concept in [*(condition.get("category") or ()), condition.get("clinicalStatus") or {}]
        for coding in concept.get("coding") or ()
    }
    return bool(codes & {"problem-list-item", "active", "recurrence", "relapse"})


# --- the medical summary as resources ------------------------------------------------------


def summary_resources(patient_id: UUID, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The médecin traitant's summary (its latest version) as IPS resources; family history,
    risk factors and notes, free text with no entry of their own, go in `summary_texts`."""
    patient = {"reference": f"Patient/{patient_id}"}
    sections = summary["sections"]
    number = summary["number"]
    resources: list[dict[str, Any]] = []
    for index, allergy in enumerate(sections.get("allergies") or ()):
        resource: dict[str, Any] = {
            "resourceType": "AllergyIntolerance",
            "id": f"summary-{number}-allergy-{index}",
            "clinicalStatus": _coded(ALLERGY_CLINICAL, "active"),
            "code": {"text": allergy["substance"]},
            "patient": patient,
        }
        if allergy.get("reaction"):
            reaction: dict[str, Any] = {"manifestation": [{"text": allergy["reaction"]}]}
            if allergy.get("severity") in _SEVERITY:
                reaction["severity"] = _SEVERITY[allergy["severity"]]
            resource["reaction"] = [reaction]
        elif allergy.get("severity") in SEVERITIES:
            resource["note"] = [{"text": str(SEVERITIES[allergy["severity"]])}]
        resources.append(resource)
    for index, line in enumerate(sections.get("treatments") or ()):
        resources.append(
            {
                "resourceType": "MedicationStatement",
                "id": f"summary-{number}-treatment-{index}",
                "status": "active",
                "medicationCodeableConcept": {"text": line},
                "subject": patient,
            }
        )
    for index, line in enumerate(sections.get("problems") or ()):
        resources.append(
            {
                "resourceType": "Condition",
                "id": f"summary-{number}-problem-{index}",
                "clinicalStatus": _coded(CONDITION_CLINICAL, "active"),
                "category": [_coded(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
                "code": {"text": line},
                "subject": patient,
            }
        )
    for index, line in enumerate(sections.get("medical_history") or ()):
        # A past illness: not on the problem list, so no clinical status is claimed.
        resources.append(
            {
                "resourceType": "Condition",
                "id": f"summary-{number}-history-{index}",
                "code": {"text": line},
                "subject": patient,
            }
        )
    for index, line in enumerate(sections.get("surgical_history") or ()):
        resources.append(
            {
                "resourceType": "Procedure",
                "id": f"summary-{number}-surgery-{index}",
                "status": "completed",
                "code": {"text": line},
                "subject": patient,
            }
        )
    return resources


def summary_texts(summary: dict[str, Any]) -> dict[str, list[str]]:
    """The summary's free-text parts, by IPS section: narrative without entries."""
    sections = summary["sections"]
    notes = [line.strip() for line in (sections.get("notes") or "").splitlines() if line.strip()]
    return {
        "family_history": list(sections.get("family_history") or ()),
        "social_history": list(sections.get("risk_factors") or ()),
        "notes": notes,
    }


# --- the document ---------------------------------------------------------------------------


def summary_bundle(
    patient: dict[str, Any],
    resources: Iterable[dict[str, Any]],
    *,
    base_url: str,
    now: datetime,
    texts: dict[str, list[str]] | None = None,
    readable: Callable[[str], bool] = lambda _type: True,
    unseen: Collection[str] = (),
) -> dict[str, Any]:
    """The IPS document ``Bundle`` of ``patient`` (its ``Patient`` resource) holding
    ``resources`` (the summary's and the sections'), each filed in its section, and the
    free ``texts`` by section key. ``base_url`` is the FHIR API's base (``…/fhir``): every
    entry's ``fullUrl`` is ``{base_url}/{type}/{id}``, so the resources' relative references
    (``Patient/{id}``) resolve inside the bundle.

    ``readable`` says which resource types the application asking may read (its token's
    scopes): a section with a type it may not read is left out, or, when the IPS requires
    it, empty with the reason ``withheld``; a resource of such a type is left out. ``unseen``
    names the sections whose source the person asking may not read (the medical summary's,
    for a reader it is refused to): empty, they too say the content is withheld, never that
    nothing is known."""
    texts = texts or {}
    patient_reference = f"Patient/{patient['id']}"
    withheld = {section.key for section in SECTIONS if not all(map(readable, section.types))}
    resources = [
        resource
        for resource in resources
        if readable(resource["resourceType"]) and section_of(resource) not in withheld
    ]
    texts = {key: lines for key, lines in texts.items() if key not in withheld}
    filed: dict[str, list[dict[str, Any]]] = {section.key: [] for section in SECTIONS}
    for resource in resources:
        key = section_of(resource)
        if key is not None:
            filed[key].append(resource)
    for section in SECTIONS:
        hidden = section.key in withheld or section.key in unseen
        if section.empty_entry and not hidden and not filed[section.key]:
            empty = section.empty_entry(patient_reference)
            filed[section.key].append(empty)
            resources.append(empty)
    composition_id = str(uuid5(BUNDLE_NAMESPACE, f"{patient['id']}/{now.isoformat()}"))
    composition = {
        "resourceType": "Composition",
        "id": composition_id,
        "language": current_language(),
        "status": "final",
        "type": _coded(LOINC, "60591-5", "Patient summary Document"),
        "subject": {"reference": patient_reference},
        "date": now.isoformat(timespec="seconds"),
        "author": [{"reference": f"Device/{DEVICE_ID}"}],
        "title": _("Patient summary"),
        "confidentiality": "N",
        "section": [
            _composed(section, filed[section.key], texts.get(section.key, []), withheld, unseen)
            for section in SECTIONS
            if section.required or filed[section.key] or texts.get(section.key)
        ],
    }
    device = {
        "resourceType": "Device",
        "id": DEVICE_ID,
        "deviceName": [{"name": "Carnet", "type": "user-friendly-name"}],
    }
    entries = [composition, patient, device, *resources]
    return {
        "resourceType": "Bundle",
        "id": composition_id,
        "language": current_language(),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{composition_id}"},
        "type": "document",
        "timestamp": now.isoformat(timespec="seconds"),
        "entry": [
            {"fullUrl": f"{base_url}/{entry['resourceType']}/{entry['id']}", "resource": entry}
            for entry in entries
        ],
    }


def _composed(
    section: IpsSection,
    entries: list[dict[str, Any]],
    texts: list[str],
    withheld: Collection[str],
    unseen: Collection[str],
) -> dict[str, Any]:
    """The section as the ``Composition`` lists it (see `summary_bundle`)."""
    if section.key in withheld:
        return _withheld(
            section, _("Not shared with this application: its access does not cover it.")
        )
    if section.key in unseen and not entries and not texts:
        return _withheld(section, _("Not shared with you: your access does not cover it."))
    return _section(section, entries, texts)


def _section(
    section: IpsSection, entries: list[dict[str, Any]], texts: list[str]
) -> dict[str, Any]:
    lines = [line_of(entry) for entry in entries] + texts
    built: dict[str, Any] = {
        "title": str(section.title),
        "code": _section_code(section),
        "text": narrative(*lines),
    }
    if entries:
        built["entry"] = [
            {"reference": f"{entry['resourceType']}/{entry['id']}"} for entry in entries
        ]
    return built


def _withheld(section: IpsSection, why: str) -> dict[str, Any]:
    """A section the IPS requires, empty because whoever asks may not read it (``why``)."""
    return {
        "title": str(section.title),
        "code": _section_code(section),
        "text": narrative(why),
        "emptyReason": _coded(LIST_EMPTY_REASON, "withheld", "Information Withheld"),
    }


async def patient_summary(
    view: DossierView,
    plugins: Plugins,
    patient: dict[str, Any],
    base_url: str,
    readable: Callable[[str], bool] = lambda _type: True,
) -> dict[str, Any]:
    """The IPS of ``view``'s dossier (``patient``: its ``Patient`` resource) for its reader,
    its export traced as one event ("exported the record"): the medical summary if they may
    read it, and each section they may read; through software, only the resource types its
    token may read (``readable``, see `summary_bundle`)."""
    await view.require(Action.EXPORT, target_type="dossier")
    resources: list[dict[str, Any]] = []
    texts: dict[str, list[str]] = {}
    reads_summary = view.may(Action.VIEW, item=SUMMARY_ITEM)
    summary = await current(view.id) if reads_summary else None
    if summary is not None:
        resources += summary_resources(view.id, summary)
        texts = summary_texts(summary)
    for section in readable_sections(view, plugins.sections):
        resources += await plugins.fhir_resources(section.key, view)
    return summary_bundle(
        patient,
        resources,
        base_url=base_url,
        now=view.now,
        texts=texts,
        readable=readable,
        unseen=() if reads_summary else FROM_SUMMARY,
    )
