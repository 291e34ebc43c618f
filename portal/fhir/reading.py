"""Reading a FHIR bundle that comes from elsewhere (another country, another system), to keep
it and show it: `check_bundle` says whether a file is one Carnet keeps, and why not;
`readable` turns it into text, a title and sections of lines, that a page shows autoescaped.
Nothing of a bundle is ever run or trusted as HTML: a narrative's markup is dropped, its words
kept."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from portal.dossiers import documents
from portal.fhir.transaction import Invalid, parse_json
from portal.i18n import gettext as _
from portal.i18n import gettext_lazy, with_colon

#: An imported bundle is kept as a file of this type.
IMPORTED_TYPE = documents.STRUCTURED_TYPE
#: The bundles that may be imported: a document (an IPS) or a collection of resources.
IMPORTED_KINDS = frozenset({"document", "collection"})
MAX_IMPORTED_ENTRIES = 2000
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
_TAGS = re.compile(r"<[^>]*>")
#: An allergy's reaction severity (FHIR's codes), in words.
_SEVERITIES = {
    "mild": gettext_lazy("mild"),
    "moderate": gettext_lazy("moderate"),
    "severe": gettext_lazy("severe"),
}


def label_of(resource: dict[str, Any]) -> str:
    """What a resource says in a few words, for a section's narrative and the readable page:
    its code's text or display, else its narrative's words, else its type."""
    for element in ("code", "vaccineCode", "medicationCodeableConcept"):
        concept = resource.get(element)
        if not isinstance(concept, dict):
            continue
        if isinstance(concept.get("text"), str) and concept["text"]:
            return concept["text"]
        codings = concept.get("coding")
        for coding in codings if isinstance(codings, list) else ():
            words = coding.get("display") or coding.get("code") if isinstance(coding, dict) else ""
            if isinstance(words, str) and words:
                return words
    for element in ("description", "title"):  # a DocumentReference's, a Composition's
        if isinstance(resource.get(element), str) and resource[element].strip():
            return resource[element]
    narrative = resource.get("text")
    div = narrative.get("div") if isinstance(narrative, dict) else None
    if isinstance(div, str) and div:
        return html.unescape(" ".join(_TAGS.sub(" ", div).split()))
    kind = resource.get("resourceType")
    return kind if isinstance(kind, str) else ""


@dataclass
class Readable:
    """An imported bundle as a page shows it: its title, when it was written (as the file
    says, when it says it as FHIR writes it), and sections of text lines."""

    title: str
    date: date | datetime | None = None
    sections: list[tuple[str, list[str]]] = field(default_factory=list)


def check_bundle(content: bytes) -> tuple[dict[str, Any] | None, str]:
    """The bundle a file holds, or why it is refused (one sentence saying what and where)."""
    if len(content) > documents.MAX_FILE_SIZE:
        size = documents.MAX_FILE_SIZE // (1024 * 1024)
        return None, _("This file is too large: %(size)s MB at most.") % {"size": size}
    try:
        data = parse_json(content)
    except Invalid:
        return None, _("This file is not JSON, or nests too deep: it cannot be a FHIR Bundle.")
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return None, _("This file is not a FHIR Bundle (its resourceType must be “Bundle”).")
    if not isinstance(data.get("type"), str) or data["type"] not in IMPORTED_KINDS:
        return None, _("Bundle.type must be “document” (a patient summary) or “collection”.")
    entries = data.get("entry")
    if not isinstance(entries, list) or not entries:
        return None, _("Bundle.entry must list the bundle's resources.")
    if len(entries) > MAX_IMPORTED_ENTRIES:
        return None, _("The bundle holds more than %(count)s entries.") % {
            "count": MAX_IMPORTED_ENTRIES
        }
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str) or not _RESOURCE_TYPE.fullmatch(kind):
            return None, _("Bundle.entry[%(index)s].resource is not a FHIR resource.") % {
                "index": index
            }
    if data["type"] == "document":
        composition = entries[0]["resource"]
        if composition["resourceType"] != "Composition":
            return None, _("Bundle.entry[0] of a document must be its Composition.")
        sections = composition.get("section", [])
        if not isinstance(sections, list) or not all(isinstance(s, dict) for s in sections):
            return None, _("Bundle.entry[0].resource.section must be a list of sections.")
    return data, ""


def readable(bundle: dict[str, Any]) -> Readable:
    """What an imported bundle says, as text: a document's sections and the entries each points
    to; a collection's resources by type."""
    resources = [entry["resource"] for entry in bundle["entry"]]
    by_reference = {}
    for entry, resource in zip(bundle["entry"], resources, strict=True):
        if isinstance(entry.get("fullUrl"), str):
            by_reference[entry["fullUrl"]] = resource
        if isinstance(resource.get("id"), str):
            by_reference[f"{resource['resourceType']}/{resource['id']}"] = resource
    moment = _moment(bundle.get("timestamp"))
    if bundle["type"] != "document":
        kinds: dict[str, list[str]] = {}
        for resource in resources:
            kinds.setdefault(resource["resourceType"], []).append(line_of(resource))
        return Readable(_("Imported resources"), moment, list(kinds.items()))
    composition = resources[0]
    page = Readable(
        _text(composition.get("title")) or _("Imported patient summary"),
        _moment(composition.get("date")) or moment,
    )
    for section in composition.get("section", []):
        lines = [
            line_of(by_reference[reference])
            for reference in _references(section.get("entry"))
            if reference in by_reference
        ]
        narrative = section.get("text")
        if not lines and isinstance(narrative, dict):
            lines = [line for line in [_text(label_of({"text": narrative}))] if line]
        page.sections.append((_text(section.get("title")) or _("Untitled section"), lines))
    return page


def _moment(value: Any) -> date | datetime | None:
    """A FHIR date or dateTime: a day, or a moment (taken as UTC without its zone)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    except ValueError:
        return None


def _text(value: Any) -> str:
    return documents.clean_title(value)[:300] if isinstance(value, str) else ""


def _references(entries: Any) -> list[str]:
    if not isinstance(entries, list):
        return []
    return [
        entry["reference"]
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("reference"), str)
    ]


def line_of(resource: dict[str, Any]) -> str:
    """One entry in words: what it is (`label_of`), what it says (an observation's value, an
    allergy's reaction), and its date when it has one."""
    line = _text(label_of(resource)) or resource["resourceType"]
    said = _said(resource)
    if said and said != line:
        line = f"{with_colon(line)} {said}"
    for element in ("occurrenceDateTime", "effectiveDateTime", "recordedDate", "dateTime"):
        if isinstance(resource.get(element), str):
            return f"{line} ({_text(resource[element])})"
    return line


def _said(resource: dict[str, Any]) -> str:
    """The value an entry gives beside its label, in words (each of its components', for a
    blood pressure); "" when it gives none."""
    components = resource.get("component")
    if isinstance(components, list) and components:
        parts = []
        for part in components:
            if isinstance(part, dict) and (value := _said(part)):
                parts.append(f"{with_colon(_text(label_of(part)))} {value}")
        return ", ".join(parts)
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, dict):
        number, unit = quantity.get("value"), quantity.get("unit")
        if isinstance(number, int | float) and not isinstance(number, bool):
            written = f"{number:g}" if isinstance(number, float) else str(number)
            return _text(f"{written} {unit if isinstance(unit, str) else ''}".strip())
    for element in ("valueString", "valueCodeableConcept"):
        value = resource.get(element)
        words = _concept_text(value) if isinstance(value, dict) else value
        if isinstance(words, str) and words.strip():
            return _text(words)
    reactions = resource.get("reaction")
    reaction = reactions[0] if isinstance(reactions, list) and reactions else None
    if isinstance(reaction, dict):
        manifestations = reaction.get("manifestation")
        listed = manifestations if isinstance(manifestations, list) else []
        words = [_concept_text(concept) for concept in listed if isinstance(concept, dict)]
        severity = reaction.get("severity")
        if isinstance(severity, str) and severity in _SEVERITIES:
            words.append(str(_SEVERITIES[severity]))
        return _text(", ".join(word for word in words if word))
    return ""


def _concept_text(concept: dict[str, Any]) -> str:
    if isinstance(concept.get("text"), str):
        return concept["text"]
    codings = concept.get("coding")
    for coding in codings if isinstance(codings, list) else ():
        if isinstance(coding, dict) and isinstance(coding.get("display"), str):
            return coding["display"]
    return ""
