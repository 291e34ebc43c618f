"""Reading an ITI-65 "Provide Document Bundle": a FHIR ``transaction`` Bundle holding the
submission set (a ``List``), one or more ``DocumentReference`` and their ``Binary``.

`read_submission` checks the bundle's structure and codes, and turns each DocumentReference
into a `Deposit` (what the deposit form would hold), or raises `Invalid` with every problem
found, each naming where it is (``Bundle.entry[3].resource.content[0].attachment.size``).
It is pure: whether the author may write this category in this dossier, and the checks every
deposit shares (file type by content, size, dates), are `portal.dossiers.documents`'s.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from portal.fhir import codes
from portal.fhir.resources import FHIR_JSON, Invalid, Issue

#: Entries in one bundle: a submission set and up to 49 documents with their files.
MAX_ENTRIES = 100
#: How long a masterIdentifier's system, and its value, may be (Carnet keeps both).
MAX_IDENTIFIER_LENGTH = 255
#: How deep the JSON of a bundle may nest (a real one needs about ten levels).
MAX_DEPTH = 32
#: The content types a document may have: a file checked by its content, a text, or a
#: structured document (a FHIR Bundle, read as `portal.fhir.reading` reads an import).
FILE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})
TEXT_TYPE = "text/plain"
_REFERENCE = re.compile(r"(?:.*/)?(Patient|DocumentReference)/([^/]+)$")


@dataclass(frozen=True)
class Deposit:
    """One document of the submission: where it is in the bundle and what it holds."""

    index: int
    master_identifier: str
    category: str
    type: str
    title: str
    care_date: str
    content_type: str
    data: bytes
    replaces: UUID | None = None

    @property
    def path(self) -> str:
        return f"Bundle.entry[{self.index}].resource"


@dataclass(frozen=True)
class Submission:
    """What a valid bundle asks: deposits in one patient's dossier, by one author."""

    patient: UUID
    #: The author's RPPS number, or "" when the bundle names none.
    author_rpps: str
    deposits: list[Deposit]
    #: Entry index → the position of its deposit (DocumentReference) or of the deposit its
    #: Binary belongs to; the List's index maps to None.
    entries: dict[int, int | None] = field(default_factory=dict)


def parse_json(body: bytes) -> Any:
    """The JSON of a request body, no deeper than `MAX_DEPTH`, or `Invalid`."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise Invalid([Issue("structure", "The body is not valid JSON.", "Bundle")]) from None
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Invalid(
                [Issue("structure", f"The JSON nests deeper than {MAX_DEPTH} levels.", "Bundle")]
            )
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            stack.extend((child, depth + 1) for child in children)
    return data


class _Reader:
    """Collects the problems of one bundle while reading it."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def problem(self, code: str, path: str, message: str) -> None:
        self.issues.append(Issue(code, message, path))

    def text(self, parent: dict, name: str, path: str, *, required: bool = True) -> str:
        value = parent.get(name)
        if value is None or value == "":
            if required:
                self.problem("required", f"{path}.{name}", f"{path}.{name} is required.")
            return ""
        if not isinstance(value, str):
            self.problem("structure", f"{path}.{name}", f"{path}.{name} must be a string.")
            return ""
        return value

    def object(self, parent: dict, name: str, path: str, *, required: bool = True) -> dict:
        value = parent.get(name)
        if value is None:
            if required:
                self.problem("required", f"{path}.{name}", f"{path}.{name} is required.")
            return {}
        if not isinstance(value, dict):
            self.problem("structure", f"{path}.{name}", f"{path}.{name} must be an object.")
            return {}
        return value

    def array(self, parent: dict, name: str, path: str, *, required: bool = True) -> list:
        value = parent.get(name)
        if value is None:
            if required:
                self.problem("required", f"{path}.{name}", f"{path}.{name} is required.")
            return []
        if not isinstance(value, list):
            self.problem("structure", f"{path}.{name}", f"{path}.{name} must be an array.")
            return []
        return value


def read_submission(data: Any, base_url: str) -> Submission:
    """The submission ``data`` (a parsed bundle) asks for, or `Invalid`."""
    reader = _Reader()
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise Invalid([Issue("invalid", "POST /fhir takes a Bundle.", "Bundle.resourceType")])
    if data.get("type") != "transaction":
        raise Invalid(
            [Issue("invalid", "The Bundle must be of type transaction (ITI-65).", "Bundle.type")]
        )
    entries = reader.array(data, "entry", "Bundle")
    if reader.issues:
        raise Invalid(reader.issues)
    if len(entries) > MAX_ENTRIES:
        raise Invalid(
            [Issue("too-costly", f"A bundle holds {MAX_ENTRIES} entries at most.", "Bundle.entry")],
            413,
        )
    lists: list[int] = []
    references: list[tuple[int, dict]] = []
    binaries: dict[str, tuple[int, dict]] = {}
    for index, entry in enumerate(entries):
        path = f"Bundle.entry[{index}]"
        if not isinstance(entry, dict):
            reader.problem("structure", path, f"{path} must be an object.")
            continue
        resource = reader.object(entry, "resource", path)
        request = reader.object(entry, "request", path)
        if request and request.get("method") != "POST":
            reader.problem(
                "not-supported", f"{path}.request.method", "Every entry is a POST (ITI-65)."
            )
        full_url = reader.text(entry, "fullUrl", path)
        kind = resource.get("resourceType")
        if kind == "List":
            lists.append(index)
        elif kind == "DocumentReference":
            references.append((index, resource))
        elif kind == "Binary":
            if full_url:
                binaries[full_url] = (index, resource)
        elif resource:
            reader.problem(
                "not-supported",
                f"{path}.resource.resourceType",
                "An ITI-65 bundle holds a List, DocumentReferences and Binaries only.",
            )
    if len(lists) != 1:
        reader.problem(
            "required", "Bundle.entry", "The bundle must hold exactly one List (submission set)."
        )
    if not references:
        reader.problem("required", "Bundle.entry", "The bundle holds no DocumentReference.")

    patients: set[UUID] = set()
    authors: set[str] = set()
    deposits: list[Deposit] = []
    positions: dict[int, int | None] = {index: None for index in lists}
    used: set[str] = set()
    for index, resource in references:
        deposit, patient, author, binary_url = _document(
            reader, index, resource, binaries, base_url
        )
        patients.update([patient] if patient else [])
        authors.update([author] if author else [])
        if binary_url:
            used.add(binary_url)
            positions[binaries[binary_url][0]] = len(deposits)
        if deposit:
            positions[index] = len(deposits)
            deposits.append(deposit)
    for url, (index, _resource) in binaries.items():
        if url not in used:
            reader.problem(
                "invalid", f"Bundle.entry[{index}]", "This Binary is no document's content."
            )
    for index in lists:
        subject = entries[index]["resource"].get("subject")
        if isinstance(subject, dict):
            patient = _reference(reader, subject, f"Bundle.entry[{index}].resource.subject")
            patients.update([patient] if patient else [])
    if len(patients) > 1:
        reader.problem("invalid", "Bundle.entry", "A submission is about one patient only.")
    if len(authors) > 1:
        reader.problem("invalid", "Bundle.entry", "A submission has one author only.")
    masters = [deposit.master_identifier for deposit in deposits]
    if len(set(masters)) != len(masters):
        reader.problem(
            "invalid", "Bundle.entry", "Two documents of the bundle share a masterIdentifier."
        )
    if reader.issues:
        raise Invalid(reader.issues)
    return Submission(
        patient=patients.pop(),
        author_rpps=authors.pop() if authors else "",
        deposits=deposits,
        entries=positions,
    )


def _document(
    reader: _Reader,
    index: int,
    resource: dict,
    binaries: dict[str, tuple[int, dict]],
    base_url: str,
) -> tuple[Deposit | None, UUID | None, str, str]:
    """One DocumentReference: its deposit (None when it has problems), its patient, its
    author's RPPS number, and the fullUrl of its Binary."""
    path = f"Bundle.entry[{index}].resource"
    before = len(reader.issues)
    master = reader.object(resource, "masterIdentifier", path)
    master_value = reader.text(master, "value", f"{path}.masterIdentifier") if master else ""
    master_system = master.get("system", "") if isinstance(master.get("system", ""), str) else ""
    if len(master_system) > MAX_IDENTIFIER_LENGTH or "|" in master_system:
        message = f"The system is a URI of at most {MAX_IDENTIFIER_LENGTH} characters."
        reader.problem("invalid", f"{path}.masterIdentifier.system", message)
    if len(master_value) > MAX_IDENTIFIER_LENGTH:
        message = f"The value is at most {MAX_IDENTIFIER_LENGTH} characters long."
        reader.problem("invalid", f"{path}.masterIdentifier.value", message)
    status = resource.get("status")
    if status != "current":
        reader.problem("value", f"{path}.status", "A new document's status is current.")
    subject = reader.object(resource, "subject", path)
    patient = _reference(reader, subject, f"{path}.subject") if subject else None
    category, document_type = _category_and_type(reader, resource, path, base_url)
    title = resource.get("description")
    contents = reader.array(resource, "content", path)
    if len(contents) != 1 or not isinstance(contents[0], dict):
        if contents:
            reader.problem("invalid", f"{path}.content", "A document has exactly one content.")
        return None, patient, "", ""
    attachment = reader.object(contents[0], "attachment", f"{path}.content[0]")
    attachment_path = f"{path}.content[0].attachment"
    if not isinstance(title, str) or not title:
        title = attachment.get("title")
    if not isinstance(title, str) or not title.strip():
        reader.problem("required", f"{path}.description", "Give the document a title.")
        title = ""
    content_type, data, binary_url = _content(reader, attachment, attachment_path, binaries)
    period = reader.object(reader.object(resource, "context", path), "period", f"{path}.context")
    care_date = reader.text(period, "start", f"{path}.context.period") if period else ""
    author = _author(reader, resource, path)
    replaces = _replaces(reader, resource, path)
    if len(reader.issues) > before:
        return None, patient, author, binary_url
    deposit = Deposit(
        index=index,
        master_identifier=f"{master_system}|{master_value}",
        category=category,
        type=document_type,
        title=title,
        care_date=care_date[:10],
        content_type=content_type,
        data=data,
        replaces=replaces,
    )
    return deposit, patient, author, binary_url


def _reference(reader: _Reader, reference: dict, path: str) -> UUID | None:
    """The dossier a ``Patient/{id}`` reference names (relative, or absolute on this server)."""
    value = reference.get("reference")
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    if match is None or match.group(1) != "Patient":
        reader.problem("invalid", f"{path}.reference", "Name the patient as Patient/{id}.")
        return None
    try:
        return UUID(match.group(2))
    except ValueError:
        reader.problem("not-found", f"{path}.reference", "There is no such patient.")
        return None


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _codings(reader: _Reader, concept: Any, path: str) -> list[tuple[int, dict]]:
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        reader.problem("required", f"{path}.coding", f"{path}.coding is required.")
        return []
    return [(i, coding) for i, coding in enumerate(concept["coding"]) if isinstance(coding, dict)]


def _category_and_type(
    reader: _Reader, resource: dict, path: str, base_url: str
) -> tuple[str, str]:
    """Carnet's category (from the classCode, or Carnet's own code) and type (from the
    typeCode), checked against each other."""
    mapping = codes.mapping()
    categories = reader.array(resource, "category", path)
    category = ""
    own_system = f"{base_url}{codes.CATEGORY_PATH}"
    for position, concept in enumerate(categories[:1]):
        concept_path = f"{path}.category[{position}]"
        for i, coding in _codings(reader, concept, concept_path):
            system, code = coding.get("system"), _string(coding.get("code"))
            if system == mapping.class_system:
                category = mapping.categories.get(code, "")
            elif system == own_system:
                category = code
            else:
                continue
            if not category:
                reader.problem(
                    "code-invalid",
                    f"{concept_path}.coding[{i}].code",
                    f"Unknown class code {code!r} (see docs/fhir.md).",
                )
            break
        else:
            reader.problem(
                "code-invalid",
                f"{concept_path}.coding",
                "No coding of a known system (the ANS classCode, TRE_A03).",
            )
    document_type = ""
    concept = resource.get("type")
    if concept is not None:
        for i, coding in _codings(reader, concept, f"{path}.type"):
            if coding.get("system") != mapping.type_system:
                continue
            code = _string(coding.get("code"))
            typed = mapping.types.get(code)
            type_category, _slash, document_type = (typed or "").partition("/")
            if typed is None:
                reader.problem(
                    "code-invalid",
                    f"{path}.type.coding[{i}].code",
                    f"Unknown type code {code!r} (see docs/fhir.md).",
                )
            elif category and type_category != category:
                reader.problem(
                    "invalid",
                    f"{path}.type.coding[{i}].code",
                    "This type of document does not belong to its category.",
                )
            category = category or type_category
            break
        else:
            reader.problem(
                "code-invalid", f"{path}.type.coding", "No coding of a known system (LOINC)."
            )
    return category, document_type


def _content(
    reader: _Reader, attachment: dict, path: str, binaries: dict[str, tuple[int, dict]]
) -> tuple[str, bytes, str]:
    """The attachment's content type and bytes (inline, or in the Binary its URL names),
    checked against its declared size and hash; and that Binary's fullUrl."""
    content_type = reader.text(attachment, "contentType", path)
    binary_url = ""
    encoded = attachment.get("data")
    data_path = f"{path}.data"
    if encoded is None:
        url = reader.text(attachment, "url", path)
        if url and url not in binaries:
            reader.problem("not-found", f"{path}.url", "No Binary of the bundle has this fullUrl.")
            return content_type, b"", ""
        if not url:
            return content_type, b"", ""
        binary_url = url
        binary_index, binary = binaries[url]
        data_path = f"Bundle.entry[{binary_index}].resource.data"
        encoded = binary.get("data")
        binary_type = binary.get("contentType")
        if binary_type != content_type:
            reader.problem(
                "invalid",
                f"Bundle.entry[{binary_index}].resource.contentType",
                "The Binary's contentType differs from its DocumentReference's.",
            )
    if not isinstance(encoded, str) or not encoded:
        reader.problem("required", data_path, "The document's content (base64) is missing.")
        return content_type, b"", binary_url
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        reader.problem("invalid", data_path, "The content is not valid base64.")
        return content_type, b"", binary_url
    media_type = content_type.split(";")[0].strip().lower()
    if content_type and media_type not in FILE_TYPES | {TEXT_TYPE, FHIR_JSON}:
        reader.problem(
            "not-supported",
            f"{path}.contentType",
            "A document is a PDF, JPEG or PNG file, text/plain, or a FHIR Bundle "
            "(application/fhir+json).",
        )
    size = attachment.get("size")
    if size is not None and size != len(data):
        reader.problem(
            "invalid", f"{path}.size", f"The size says {size} bytes; the content has {len(data)}."
        )
    digest = attachment.get("hash")
    if digest is not None and digest != base64.b64encode(hashlib.sha1(data).digest()).decode():  # noqa: S324 - FHIR R4's hash is SHA-1
        reader.problem("invalid", f"{path}.hash", "The hash (SHA-1) does not match the content.")
    return media_type, data, binary_url


def _author(reader: _Reader, resource: dict, path: str) -> str:
    """The RPPS number of the document's author, from an identifier of the author (given
    directly, or on a contained Practitioner the author references); "" when none."""
    contained = resource.get("contained")
    by_id = {
        f"#{item.get('id')}": item
        for item in (contained if isinstance(contained, list) else [])
        if isinstance(item, dict)
    }
    for author in reader.array(resource, "author", path, required=False):
        if not isinstance(author, dict):
            continue
        for holder in (author, by_id.get(str(author.get("reference")), {})):
            identifiers = holder.get("identifier")
            for identifier in identifiers if isinstance(identifiers, list) else [identifiers]:
                if not isinstance(identifier, dict) or not isinstance(identifier.get("value"), str):
                    continue
                system, value = identifier.get("system"), identifier["value"]
                if system == codes.RPPS_SYSTEM:
                    return value
                if system == codes.IDNPS_SYSTEM and value.startswith("8"):
                    return value[1:]
    return ""


def _replaces(reader: _Reader, resource: dict, path: str) -> UUID | None:
    """The document this one replaces (``relatesTo`` with code ``replaces``)."""
    for position, relation in enumerate(reader.array(resource, "relatesTo", path, required=False)):
        relation_path = f"{path}.relatesTo[{position}]"
        if not isinstance(relation, dict) or relation.get("code") != "replaces":
            reader.problem("not-supported", f"{relation_path}.code", "Only replaces is supported.")
            continue
        target = relation.get("target")
        value = target.get("reference") if isinstance(target, dict) else None
        match = _REFERENCE.match(value) if isinstance(value, str) else None
        if match is None or match.group(1) != "DocumentReference":
            reader.problem(
                "invalid", f"{relation_path}.target.reference", "Name it DocumentReference/{id}."
            )
            continue
        try:
            return UUID(match.group(2))
        except ValueError:
            reader.problem("not-found", f"{relation_path}.target.reference", "No such document.")
    return None
