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
import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from portal.fhir import codes
from portal.fhir.resources import FHIR_JSON, Invalid, Issue, referenced_id
from portal.i18n import gettext as _

#: A date with its day, or a dateTime: to the second at least, with its time zone (FHIR's
#: ``dateTime``, without the partial dates a care date cannot be).
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))?", re.ASCII
)
#: The resources an ITI-65 bundle holds.
_KINDS = ("List", "DocumentReference", "Binary")
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
        return _path(self.index)


def _path(index: int) -> str:
    """Where the resource of entry ``index`` is, as an ``OperationOutcome`` says it."""
    return f"Bundle.entry[{index}].resource"


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
    """The JSON of a request body, strictly (no NaN, no number too large for a float), no
    deeper than `MAX_DEPTH`, or `Invalid`."""
    try:
        data = json.loads(body, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError):
        raise Invalid([Issue("structure", _("The body is not valid JSON."), "Bundle")]) from None
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            message = _("The JSON nests deeper than %(levels)s levels.") % {"levels": MAX_DEPTH}
            raise Invalid([Issue("structure", message, "Bundle")])
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            stack.extend((child, depth + 1) for child in children)
    return data


def _not_json(constant: str) -> None:
    """Python reads NaN and Infinity; JSON has neither (RFC 8259)."""
    raise ValueError(constant)


def _finite(text: str) -> float:
    """A number, but not one too large for a float, which Python reads as infinity."""
    number = float(text)
    if math.isinf(number):
        raise ValueError(text)
    return number


class _Reader:
    """Collects the problems of one bundle while reading it."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def problem(self, code: str, path: str, message: str) -> None:
        self.issues.append(Issue(code, message, path))

    def required(self, path: str) -> None:
        self.problem("required", path, _("This element is required."))

    def text(self, parent: dict, name: str, path: str, *, required: bool = True) -> str:
        value = parent.get(name)
        if value is None or value == "":
            if required:
                self.required(f"{path}.{name}")
            return ""
        if not isinstance(value, str):
            self.problem("structure", f"{path}.{name}", _("This element must be a string."))
            return ""
        return value

    def object(self, parent: dict, name: str, path: str, *, required: bool = True) -> dict:
        value = parent.get(name)
        if value is None:
            if required:
                self.required(f"{path}.{name}")
            return {}
        if not isinstance(value, dict):
            self.problem("structure", f"{path}.{name}", _("This element must be an object."))
            return {}
        return value

    def array(self, parent: dict, name: str, path: str, *, required: bool = True) -> list:
        value = parent.get(name)
        if value is None:
            if required:
                self.required(f"{path}.{name}")
            return []
        if not isinstance(value, list):
            self.problem("structure", f"{path}.{name}", _("This element must be an array."))
            return []
        return value


def read_submission(data: Any, base_url: str, categories: Collection[str]) -> Submission:
    """The submission ``data`` (a parsed bundle) asks for, or `Invalid`; ``categories``: the
    portal's document categories (its sections' included)."""
    reader = _Reader()
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise Invalid([Issue("invalid", _("POST /fhir takes a Bundle."), "Bundle.resourceType")])
    if data.get("type") != "transaction":
        message = _("The Bundle must be of type transaction (ITI-65).")
        raise Invalid([Issue("invalid", message, "Bundle.type")])
    entries = reader.array(data, "entry", "Bundle")
    if reader.issues:
        raise Invalid(reader.issues)
    if len(entries) > MAX_ENTRIES:
        message = _("A bundle holds %(entries)s entries at most.") % {"entries": MAX_ENTRIES}
        raise Invalid([Issue("too-costly", message, "Bundle.entry")], 413)
    lists: list[int] = []
    references: list[tuple[int, dict]] = []
    binaries: dict[str, tuple[int, dict]] = {}
    full_urls: set[str] = set()
    for index, entry in enumerate(entries):
        path = f"Bundle.entry[{index}]"
        if not isinstance(entry, dict):
            reader.problem("structure", path, _("This element must be an object."))
            continue
        resource = reader.object(entry, "resource", path)
        request = reader.object(entry, "request", path)
        if request and request.get("method") != "POST":
            reader.problem(
                "not-supported", f"{path}.request.method", _("Every entry is a POST (ITI-65).")
            )
        full_url = reader.text(entry, "fullUrl", path)
        if full_url and full_url in full_urls:
            message = _("Another entry of the bundle has this fullUrl.")
            reader.problem("invalid", f"{path}.fullUrl", message)
        full_urls.add(full_url)
        kind = resource.get("resourceType")
        if request and kind in _KINDS and request.get("url") != kind:
            message = _("The request's url is the resource's type: %(kind)s.") % {"kind": kind}
            reader.problem("invalid", f"{path}.request.url", message)
        if kind == "List":
            lists.append(index)
        elif kind == "DocumentReference":
            references.append((index, resource))
        elif kind == "Binary":
            if full_url:
                binaries[full_url] = (index, resource)
        elif isinstance(entry.get("resource"), dict):
            reader.problem(
                "not-supported",
                f"{path}.resource.resourceType",
                _("An ITI-65 bundle holds a List, DocumentReferences and Binaries only."),
            )
    if len(lists) != 1:
        message = _("The bundle must hold exactly one List (submission set).")
        reader.problem("required", "Bundle.entry", message)
    if not references:
        reader.problem("required", "Bundle.entry", _("The bundle holds no DocumentReference."))

    patients: set[UUID] = set()
    authors: set[str] = set()
    deposits: list[Deposit] = []
    positions: dict[int, int | None] = {index: None for index in lists}
    used: set[str] = set()
    for index, resource in references:
        deposit, patient, author, binary_url = _document(
            reader, index, resource, binaries, base_url, categories
        )
        patients.update([patient] if patient else [])
        authors.update([author] if author else [])
        if binary_url in used:
            message = _("This Binary is already another document's content.")
            reader.problem("invalid", f"{_path(index)}.content[0].attachment.url", message)
        elif binary_url:
            used.add(binary_url)
            positions[binaries[binary_url][0]] = len(deposits)
        if deposit:
            positions[index] = len(deposits)
            deposits.append(deposit)
    for url, (index, _resource) in binaries.items():
        if url not in used:
            message = _("This Binary is no document's content.")
            reader.problem("invalid", f"Bundle.entry[{index}]", message)
    for index in lists:
        subject = entries[index]["resource"].get("subject")
        if subject is not None and not isinstance(subject, dict):
            message = _("This element must be an object.")
            reader.problem("structure", f"{_path(index)}.subject", message)
        elif subject is not None:
            patient = _reference(reader, subject, f"{_path(index)}.subject", base_url)
            patients.update([patient] if patient else [])
    if len(patients) > 1:
        reader.problem("invalid", "Bundle.entry", _("A submission is about one patient only."))
    if len(authors) > 1:
        reader.problem("invalid", "Bundle.entry", _("A submission has one author only."))
    masters = [deposit.master_identifier for deposit in deposits]
    if len(set(masters)) != len(masters):
        message = _("Two documents of the bundle share a masterIdentifier.")
        reader.problem("invalid", "Bundle.entry", message)
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
    categories: Collection[str],
) -> tuple[Deposit | None, UUID | None, str, str]:
    """One DocumentReference: its deposit (None when it has problems), its patient, its
    author's RPPS number, and the fullUrl of its Binary."""
    path = _path(index)
    before = len(reader.issues)
    master = reader.object(resource, "masterIdentifier", path)
    master_value = reader.text(master, "value", f"{path}.masterIdentifier") if master else ""
    master_system = master.get("system", "") if isinstance(master.get("system", ""), str) else ""
    if len(master_system) > MAX_IDENTIFIER_LENGTH or "|" in master_system:
        message = _("The system is a URI of at most %(length)s characters.") % {
            "length": MAX_IDENTIFIER_LENGTH
        }
        reader.problem("invalid", f"{path}.masterIdentifier.system", message)
    if len(master_value) > MAX_IDENTIFIER_LENGTH:
        message = _("The value is at most %(length)s characters long.") % {
            "length": MAX_IDENTIFIER_LENGTH
        }
        reader.problem("invalid", f"{path}.masterIdentifier.value", message)
    status = resource.get("status")
    if status != "current":
        reader.problem("value", f"{path}.status", _("A new document's status is current."))
    subject = reader.object(resource, "subject", path)
    patient = _reference(reader, subject, f"{path}.subject", base_url) if subject else None
    category, document_type = _category_and_type(reader, resource, path, base_url, categories)
    title = resource.get("description")
    contents = reader.array(resource, "content", path)
    if len(contents) != 1 or not isinstance(contents[0], dict):
        if contents:
            reader.problem("invalid", f"{path}.content", _("A document has exactly one content."))
        return None, patient, "", ""
    attachment = reader.object(contents[0], "attachment", f"{path}.content[0]")
    attachment_path = f"{path}.content[0].attachment"
    if not isinstance(title, str) or not title:
        title = attachment.get("title")
    if not isinstance(title, str) or not title.strip():
        reader.problem("required", f"{path}.description", _("Give the document a title."))
        title = ""
    content_type, data, binary_url = _content(reader, attachment, attachment_path, binaries)
    period = reader.object(reader.object(resource, "context", path), "period", f"{path}.context")
    care_date = _care_date(reader, period, f"{path}.context.period") if period else ""
    author = _author(reader, resource, path)
    replaces = _replaces(reader, resource, path, base_url)
    if len(reader.issues) > before:
        return None, patient, author, binary_url
    deposit = Deposit(
        index=index,
        master_identifier=f"{master_system}|{master_value}",
        category=category,
        type=document_type,
        title=title,
        care_date=care_date,
        content_type=content_type,
        data=data,
        replaces=replaces,
    )
    return deposit, patient, author, binary_url


def _care_date(reader: _Reader, period: dict, path: str) -> str:
    """The day care was given: the day of the period's start, as written there (its local
    day, for a dateTime); the period's end, if any, must not come before it."""
    start = _moment(reader, period, "start", path)
    end = _moment(reader, period, "end", path)
    if start and end:
        both_times = isinstance(start, datetime) and isinstance(end, datetime)
        if (end < start) if both_times else (_day(end) < _day(start)):
            reader.problem("invalid", f"{path}.end", _("The period ends before it starts."))
    return period["start"][:10] if start else ""


def _moment(reader: _Reader, period: dict, name: str, path: str) -> date | datetime | None:
    text = reader.text(period, name, path, required=name == "start")
    if not text:
        return None
    try:
        if _DATE_TIME.fullmatch(text) is None:
            raise ValueError(text)
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    except ValueError:
        message = _(
            "A date is written YYYY-MM-DD, or as a dateTime with its time zone "
            "(2026-03-01T09:30:00+01:00)."
        )
        reader.problem("invalid", f"{path}.{name}", message)
        return None


def _day(moment: date | datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def _reference(reader: _Reader, reference: dict, path: str, base_url: str) -> UUID | None:
    """The dossier a ``Patient/{id}`` reference names (relative, or absolute on this server)."""
    return _local(reader, reference.get("reference"), "Patient", f"{path}.reference", base_url)


def _local(reader: _Reader, value: Any, kind: str, path: str, base_url: str) -> UUID | None:
    """The id a reference to a ``kind`` of this server names, or None with its problem: one
    to another server or another type is invalid, an id that is none of Carnet's is found
    nowhere."""
    if not isinstance(value, str) or not value.removeprefix(f"{base_url}/fhir/").startswith(
        f"{kind}/"
    ):
        message = _("Name it %(kind)s/{id}, on this server.") % {"kind": kind}
        reader.problem("invalid", path, message)
        return None
    found = referenced_id(value, kind, base_url)
    if found is None:
        reader.problem("not-found", path, _("It names nothing on this server."))
    return found


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _codings(reader: _Reader, concept: Any, path: str) -> list[tuple[int, dict]]:
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        reader.required(f"{path}.coding")
        return []
    return [(i, coding) for i, coding in enumerate(concept["coding"]) if isinstance(coding, dict)]


def _category_and_type(
    reader: _Reader, resource: dict, path: str, base_url: str, categories: Collection[str]
) -> tuple[str, str]:
    """Carnet's category (from the classCode, or Carnet's own code) and type (from the
    typeCode), checked against each other."""
    mapping = codes.mapping()
    before = len(reader.issues)
    concepts = reader.array(resource, "category", path)
    category = ""
    own_system = f"{base_url}{codes.CATEGORY_PATH}"
    for position, concept in enumerate(concepts[:1]):
        concept_path = f"{path}.category[{position}]"
        for i, coding in _codings(reader, concept, concept_path):
            system, code = coding.get("system"), _string(coding.get("code"))
            if system == mapping.class_system:
                category = mapping.categories.get(code, "")
            elif system == own_system:
                category = code if code in categories else ""
            else:
                continue
            if not category:
                reader.problem(
                    "code-invalid",
                    f"{concept_path}.coding[{i}].code",
                    _("Unknown category code %(code)r (see docs/fhir.md).") % {"code": code},
                )
            break
        else:
            reader.problem(
                "code-invalid",
                f"{concept_path}.coding",
                _("No coding of a known system (the ANS classCode, TRE_A03)."),
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
                    _("Unknown type code %(code)r (see docs/fhir.md).") % {"code": code},
                )
            elif category and type_category != category:
                reader.problem(
                    "invalid",
                    f"{path}.type.coding[{i}].code",
                    _("This type of document does not belong to its category."),
                )
            category = category or type_category
            break
        else:
            reader.problem(
                "code-invalid", f"{path}.type.coding", _("No coding of a known system (LOINC).")
            )
    if not category and len(reader.issues) == before:
        message = _("Give the document its category: a classCode of TRE_A03.")
        reader.problem("required", f"{path}.category", message)
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
            reader.problem(
                "not-found", f"{path}.url", _("No Binary of the bundle has this fullUrl.")
            )
            return content_type, b"", ""
        if not url:
            return content_type, b"", ""
        binary_url = url
        binary_index, binary = binaries[url]
        data_path = f"{_path(binary_index)}.data"
        encoded = binary.get("data")
        binary_type = binary.get("contentType")
        if binary_type != content_type:
            reader.problem(
                "invalid",
                f"{_path(binary_index)}.contentType",
                _("The Binary's contentType differs from its DocumentReference's."),
            )
    if not isinstance(encoded, str) or not encoded:
        reader.problem("required", data_path, _("The document's content (base64) is missing."))
        return content_type, b"", binary_url
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        reader.problem("invalid", data_path, _("The content is not valid base64."))
        return content_type, b"", binary_url
    media_type = content_type.split(";")[0].strip().lower()
    if content_type and media_type not in FILE_TYPES | {TEXT_TYPE, FHIR_JSON}:
        reader.problem(
            "not-supported",
            f"{path}.contentType",
            _(
                "A document is a PDF, JPEG or PNG file, text/plain, or a FHIR Bundle "
                "(application/fhir+json)."
            ),
        )
    size = attachment.get("size")
    if size is not None and size != len(data):
        message = _("The size says %(size)s bytes; the content has %(length)s.")
        reader.problem("invalid", f"{path}.size", message % {"size": size, "length": len(data)})
    digest = attachment.get("hash")
    if digest is not None and digest != base64.b64encode(hashlib.sha1(data).digest()).decode():  # noqa: S324 - FHIR R4's hash is SHA-1
        reader.problem("invalid", f"{path}.hash", _("The hash (SHA-1) does not match the content."))
    return media_type, data, binary_url


def _author(reader: _Reader, resource: dict, path: str) -> str:
    """The RPPS number of the document's author, from an identifier of the author (given
    directly, or on a contained Practitioner the author references); "" when none. Authors
    without one (an organisation) are not counted; two professionals are one too many."""
    contained = resource.get("contained")
    by_id = {
        f"#{item.get('id')}": item
        for item in (contained if isinstance(contained, list) else [])
        if isinstance(item, dict)
    }
    found = []
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
                    found.append(value)
                elif system == codes.IDNPS_SYSTEM and value.startswith("8"):
                    found.append(value[1:])
    if len(set(found)) > 1:
        message = _("A document has one author: the professional who deposits it.")
        reader.problem("invalid", f"{path}.author", message)
    return found[0] if found else ""


def _replaces(reader: _Reader, resource: dict, path: str, base_url: str) -> UUID | None:
    """The document this one replaces (``relatesTo`` with code ``replaces``)."""
    relations = reader.array(resource, "relatesTo", path, required=False)
    if len(relations) > 1:
        message = _("A new version replaces one document only.")
        reader.problem("not-supported", f"{path}.relatesTo", message)
        return None
    for relation in relations:
        relation_path = f"{path}.relatesTo[0]"
        if not isinstance(relation, dict) or relation.get("code") != "replaces":
            message = _("Only replaces is supported.")
            reader.problem("not-supported", f"{relation_path}.code", message)
            return None
        target = relation.get("target")
        value = target.get("reference") if isinstance(target, dict) else None
        return _local(
            reader, value, "DocumentReference", f"{relation_path}.target.reference", base_url
        )
    return None
