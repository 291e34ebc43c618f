"""Carnet's data as FHIR R4 resources (JSON as Python dicts), and the ``OperationOutcome`` that
every refusal of the FHIR API answers with.

The builders translate what the asker may already see (a `portal.access.view.DossierView`
decided on it); they never decide. The patient is ``Patient/{dossier id}``, a document
``DocumentReference/{document id}`` whose attachment is ``Binary/{document id}``, the
documents deposited together ``List/{submission set id}``, a professional
``Practitioner/{account id}`` (as the ``fhirUser`` of `portal.oauth`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from portal.fhir import codes

#: The media type of FHIR's JSON (R4 §3.1.0.1.3).
FHIR_JSON = "application/fhir+json"
FHIR_VERSION = "4.0.1"
#: MHD's format code for documents whose MIME type says enough (PDF, text, images).
FORMAT_MIME_TYPE_SUFFICIENT = {
    "system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
    "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
    "display": "mimeType Sufficient",
}
#: IHE MHD's kinds of List: an ITI-65 bundle's is its ``submissionset``.
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
#: A document without a file is its text.
TEXT_PLAIN = "text/plain; charset=utf-8"
#: NIR's first digit: the sex of the person as the INS states it.
_GENDER_OF_NIR = {"1": "male", "2": "female", "7": "male", "8": "female"}


@dataclass(frozen=True)
class Issue:
    """One problem an ``OperationOutcome`` reports: its FHIR issue type (``invalid``,
    ``required``, ``not-found``…), what is wrong in words, and where (a FHIRPath such as
    ``Bundle.entry[2].resource.content[0].attachment.size``)."""

    code: str
    diagnostics: str
    expression: str = ""
    severity: str = "error"


class Invalid(Exception):
    """A request the API refuses: ``issues`` say what and where, ``status`` is the HTTP answer
    (the routes answer it as an ``OperationOutcome``)."""

    def __init__(self, issues: list[Issue], status: int = 400) -> None:
        super().__init__("; ".join(issue.diagnostics for issue in issues))
        self.issues = issues
        self.status = status


def resource_id(text: str) -> UUID | None:
    """The id of one of Carnet's resources, written as Carnet writes it (a UUID in lower case,
    with its dashes); None for any other text, which names none of them."""
    try:
        found = UUID(text)
    except ValueError:
        return None
    return found if str(found) == text else None


def referenced_id(reference: str, kind: str, base_url: str) -> UUID | None:
    """The id a reference to a ``kind`` of this server names: ``kind/{id}``, or the same
    under this server's FHIR base (``{base_url}/fhir/kind/{id}``); None for a reference to
    another server or to another type."""
    relative = reference.removeprefix(f"{base_url}/fhir/")
    named, slash, text = relative.partition("/")
    return resource_id(text) if slash and named == kind else None


def outcome(*issues: Issue) -> dict[str, Any]:
    """An ``OperationOutcome`` listing ``issues``."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": issue.severity,
                "code": issue.code,
                "diagnostics": issue.diagnostics,
                **({"expression": [issue.expression]} if issue.expression else {}),
            }
            for issue in issues
        ],
    }


def instant(moment: datetime) -> str:
    """A FHIR ``instant``: to the second, with its offset."""
    return moment.isoformat(timespec="seconds")


def patient_resource(dossier_id: UUID, patient: dict[str, Any]) -> dict[str, Any]:
    """The ``Patient`` of a dossier: its INS-NIR, names and date of birth (``patient``:
    ``nir``, ``first_name``, ``last_name``, ``birth_date``)."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(dossier_id),
        "identifier": [
            {
                "use": "official",
                "type": {
                    "coding": [
                        {
                            "system": codes.IDENTIFIER_TYPE_SYSTEM,
                            "code": "INS-NIR",
                            "display": "NIR définitif",
                        }
                    ]
                },
                "system": codes.INS_NIR_SYSTEM,
                "value": patient["nir"],
            }
        ],
        "name": [
            {
                "use": "official",
                "family": patient["last_name"],
                "given": [patient["first_name"]],
            }
        ],
        "birthDate": patient["birth_date"].isoformat(),
    }
    gender = _GENDER_OF_NIR.get(patient["nir"][:1])
    if gender:
        resource["gender"] = gender
    return resource


def category_code(category: str, base_url: str) -> dict[str, str]:
    """The coding of a Carnet category: the ANS class, or Carnet's own for a section's."""
    known = codes.mapping().class_of(category)
    if known:
        return known.coding()
    return {"system": f"{base_url}{codes.CATEGORY_PATH}", "code": category}


def document_reference(
    document: dict[str, Any], dossier_id: UUID, base_url: str, *, replaces: UUID | None = None
) -> dict[str, Any]:
    """The ``DocumentReference`` of one version of a document (``document``: its row, without
    body nor file; ``replaces``: the version it replaced). Its attachment's URL retrieves the
    file, or the text of a document without one (ITI-68)."""
    document_id = document["id"]
    has_file = bool(document.get("file_type"))
    attachment: dict[str, Any] = {
        "contentType": document["file_type"] if has_file else TEXT_PLAIN,
        "url": f"{base_url}/fhir/Binary/{document_id}",
        "title": document["title"],
        "creation": instant(document["created_at"]),
    }
    if has_file and document.get("file_size"):
        attachment["size"] = document["file_size"]
    system, _bar, value = (document.get("master_identifier") or "").partition("|")
    master = {"system": system, "value": value} if system else {"value": value}
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": str(document_id),
        "masterIdentifier": master
        if value
        else {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{document_id}"},
        "status": "superseded" if document.get("superseded_at") else "current",
        "docStatus": "final",
        "category": [{"coding": [category_code(document["category"], base_url)]}],
        "subject": {"reference": f"Patient/{dossier_id}"},
        "date": instant(document["created_at"]),
        "description": document["title"],
        "content": [{"attachment": attachment, "format": FORMAT_MIME_TYPE_SUFFICIENT}],
        "context": {"period": {"start": document["care_date"].isoformat()}},
    }
    type_code = codes.mapping().type_of(document["category"], document["type"])
    if type_code:
        resource["type"] = {"coding": [type_code.coding()]}
    author = {"display": document.get("author_name") or ""}
    if document.get("author") and document.get("author_profession"):
        author["reference"] = f"Practitioner/{document['author']}"
    if author["display"] or "reference" in author:
        resource["author"] = [author]
    if replaces:
        resource["relatesTo"] = [
            {"code": "replaces", "target": {"reference": f"DocumentReference/{replaces}"}}
        ]
    return resource


def submission_set(
    set_id: UUID, dossier_id: UUID, documents: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ``List`` of an ITI-65 submission set: the documents deposited together (those of
    them the asker may read, ``documents``: their rows)."""
    return {
        "resourceType": "List",
        "id": str(set_id),
        "status": "current",
        "mode": "working",
        "code": {"coding": [{"system": MHD_LIST_TYPES, "code": "submissionset"}]},
        "subject": {"reference": f"Patient/{dossier_id}"},
        "date": instant(min(document["created_at"] for document in documents)),
        "entry": [
            {"item": {"reference": f"DocumentReference/{document['id']}"}} for document in documents
        ],
    }


def bundle(
    kind: str, entries: list[dict[str, Any]], *, total: int | None = None, links: dict | None = None
) -> dict[str, Any]:
    """A ``Bundle`` of ``kind`` (``searchset``, ``transaction-response``…) holding ``entries``
    (each already an entry: ``fullUrl``, ``resource``, ``search`` or ``response``)."""
    result: dict[str, Any] = {"resourceType": "Bundle", "type": kind}
    if total is not None:
        result["total"] = total
    if links:
        result["link"] = [{"relation": relation, "url": url} for relation, url in links.items()]
    result["entry"] = entries
    return result
