"""The checks every IPS document Carnet emits passes in the tests: each resource valid against
fhir.resources' R4B models (the closest to R4 for these resources), and the HL7 IPS rules that
matter to a reader abroad."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class

LOINC = "http://loinc.org"
#: The sections the IPS requires: allergies, medication summary, problem list.
REQUIRED_SECTIONS = {"48765-2", "10160-0", "11450-4"}
#: The elements that hold a coded concept, by resource type, where a code exists.
CODED = {
    "Composition": ("type",),
    "Consent": ("scope",),
    "Observation": ("code",),
    "Immunization": ("vaccineCode",),
}


def validated(resource: dict[str, Any]) -> Any:
    """``resource`` parsed by its R4B model (raises on anything invalid)."""
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def section_codes(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Composition's sections by LOINC code."""
    composition = bundle["entry"][0]["resource"]
    return {
        coding["code"]: section
        for section in composition["section"]
        for coding in section["code"]["coding"]
        if coding["system"] == LOINC
    }


def entries_of(bundle: dict[str, Any], loinc: str) -> list[dict[str, Any]]:
    """The resources a section points to."""
    by_reference = {
        f"{entry['resource']['resourceType']}/{entry['resource']['id']}": entry["resource"]
        for entry in bundle["entry"]
    }
    section = section_codes(bundle).get(loinc)
    return [by_reference[ref["reference"]] for ref in (section or {}).get("entry", [])]


def references(value: Any) -> list[str]:
    """Every ``reference`` anywhere in a resource."""
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [ref for item in value.values() for ref in references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in references(item)]
    return []


def check_ips(bundle: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Check ``bundle`` as an IPS document; returns it for chaining."""
    validated(bundle)
    for entry in bundle["entry"]:
        validated(entry["resource"])
    assert bundle["type"] == "document"
    assert bundle["identifier"]["value"]
    assert bundle["timestamp"]
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition", "the Composition comes first"
    assert composition["type"]["coding"][0] == {
        "system": LOINC,
        "code": "60591-5",
        "display": "Patient summary Document",
    }
    assert set(section_codes(bundle)) >= REQUIRED_SECTIONS
    for section in composition["section"]:
        assert section["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        assert section.get("entry") or section["text"]["div"] != "<p/>"
    # Every reference resolves inside the bundle: relative ones against the API's base.
    full_urls = {entry["fullUrl"] for entry in bundle["entry"]}
    assert len(full_urls) == len(bundle["entry"]), "each entry once"
    for entry in bundle["entry"]:
        for reference in references(entry["resource"]):
            assert f"{base_url}/{reference}" in full_urls, f"{reference} is not in the bundle"
    # Coded where a code exists.
    for entry in bundle["entry"]:
        resource = entry["resource"]
        for element in CODED.get(resource["resourceType"], ()):
            codings = resource[element]["coding"]
            assert codings
            assert all(coding["system"] and coding["code"] for coding in codings)
    return bundle
