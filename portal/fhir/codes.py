"""The codes of FHIR documents and how they map to Carnet's categories and types, read from
``codes.toml`` (data, documented in docs/fhir.md): the ANS's XDS classCode for
``DocumentReference.category``, LOINC for ``DocumentReference.type``. Categories without an
ANS class (the plugins' sections) are coded in Carnet's own system.

Also the identifiers FHIR names people by: the INS-NIR of the patient, the RPPS number of the
professional.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

#: The patient's INS, as its NIR (FR Core's ``FRCorePatientINSProfile``).
INS_NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
IDENTIFIER_TYPE_SYSTEM = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
#: The professional's RPPS number, and the national identifier IDNPS built from it ("8" then
#: the RPPS number), both accepted for a document's author.
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
IDNPS_SYSTEM = "urn:oid:1.2.250.1.71.4.2.1"
#: Carnet's own categories (those of the plugins' sections), under the FHIR base.
CATEGORY_PATH = "/fhir/CodeSystem/document-category"


@dataclass(frozen=True)
class Code:
    system: str
    code: str
    display: str

    def coding(self) -> dict[str, str]:
        return {"system": self.system, "code": self.code, "display": self.display}


@dataclass(frozen=True)
class Mapping:
    """Both ways between the FHIR codes and Carnet's categories and types."""

    class_system: str
    #: classCode → category
    categories: dict[str, str]
    #: category → its classCode
    classes: dict[str, Code]
    type_system: str
    #: typeCode → ``category/type`` or ``category``
    types: dict[str, str]
    #: ``category/type`` (or ``category``, for the documents without a type) → its typeCode
    type_codes: dict[str, Code]

    def class_of(self, category: str) -> Code | None:
        return self.classes.get(category)

    def type_of(self, category: str, document_type: str) -> Code | None:
        return self.type_codes.get(f"{category}/{document_type}" if document_type else category)


SHIPPED = Path(__file__).with_name("codes.toml")


def load(path: Path = SHIPPED) -> Mapping:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    class_system, type_system = data["class"]["system"], data["type"]["system"]
    classes = {
        entry["category"]: Code(class_system, code, entry["display"])
        for code, entry in data["class"]["codes"].items()
    }
    type_codes: dict[str, Code] = {}
    for code, entry in data["type"]["codes"].items():
        type_codes.setdefault(entry["type"], Code(type_system, code, entry["display"]))
    return Mapping(
        class_system=class_system,
        categories={code: entry["category"] for code, entry in data["class"]["codes"].items()},
        classes=classes,
        type_system=type_system,
        types={code: entry["type"] for code, entry in data["type"]["codes"].items()},
        type_codes=type_codes,
    )


@cache
def mapping() -> Mapping:
    """The shipped mapping, read once."""
    return load()
