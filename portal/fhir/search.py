"""Finding documents as IHE MHD's ITI-67 does: the search parameters of ``GET
/fhir/DocumentReference`` read and checked, and the documents of a dossier that the asker may
read and that match them, every version included (``status``), newest care first.

Only what the asker may read is ever matched, counted or paged: masked, hidden and refused
documents are left out before anything else, so no total nor page betrays them.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Request
from litestar.exceptions import NotFoundException

from portal import crypto
from portal.access.facts import LISTED
from portal.access.view import DossierView
from portal.audit import Action
from portal.dossiers.documents import as_seen
from portal.dossiers.tables import Document
from portal.fhir import codes
from portal.fhir.resources import Invalid, Issue

DEFAULT_COUNT = 20
MAX_COUNT = 100
#: What a DocumentReference is made from (no body, no file).
COLUMNS = (*LISTED, Document.file_size, Document.superseded_at, Document.master_identifier)
#: What decides whether a version is seen, and matched: all a search reads of each version.
DECIDING = (
    Document.id,
    Document.category,
    Document.type,
    Document.author,
    Document.masked,
    Document.hidden_until,
    Document.hidden_from_representatives,
    Document.lineage,
    Document.superseded_at,
    Document.created_at,
)
_STATUSES = frozenset({"current", "superseded"})
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
DOCUMENT_PARAMETERS = frozenset(
    {"patient", "subject", "category", "type", "date", "status", "author", "_count", "_offset"}
)


def parameters(request: Request, known: frozenset[str] | set[str]) -> dict[str, list[str]]:
    """The query's parameters this search knows (each with all its values). Others are
    ignored, as FHIR servers do, unless the client asked ``Prefer: handling=strict``: then
    they are refused (400)."""
    strict = "handling=strict" in request.headers.get("prefer", "")
    found: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        if name not in known:
            if strict:
                message = f"Unknown search parameter {name!r}."
                raise Invalid([Issue("not-supported", message, name)])
            continue
        found.setdefault(name, []).append(value)
    return found


def _invalid(name: str, message: str) -> Invalid:
    return Invalid([Issue("invalid", message, name)])


def _reference_id(value: str, kind: str) -> UUID | None:
    """The id of ``kind/{id}`` (relative, absolute, or the id alone); None if it is none of
    ours."""
    tail = value.rsplit("/", 2)
    if len(tail) >= 2 and tail[-2] != kind:
        return None
    try:
        return UUID(tail[-1])
    except ValueError:
        return None


def _day_range(text: str, name: str) -> tuple[date, date]:
    """The days a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime) covers."""
    try:
        if len(text) == 4:
            year = int(text)
            return date(year, 1, 1), date(year, 12, 31)
        if len(text) == 7:
            year, month = int(text[:4]), int(text[5:7])
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        day = date.fromisoformat(text[:10])
        return day, day
    except ValueError:
        raise _invalid(name, f"{text!r} is not a date (YYYY-MM-DD).") from None


@dataclass(frozen=True)
class DocumentQuery:
    """A checked ITI-67 search."""

    patient: UUID
    categories: frozenset[str] = frozenset()
    type_codes: frozenset[str] = frozenset()
    dates: tuple[tuple[str, date, date], ...] = ()
    statuses: frozenset[str] = frozenset()
    authors: frozenset[UUID] = frozenset()
    count: int = DEFAULT_COUNT
    offset: int = 0
    #: The query's parameters but the paging offset, for the links to other pages.
    given: tuple[tuple[str, str], ...] = ()

    @classmethod
    def read(cls, request: Request, base_url: str) -> DocumentQuery:
        params = parameters(request, DOCUMENT_PARAMETERS)
        patients = params.get("patient", []) + params.get("subject", [])
        if len(patients) != 1:
            raise Invalid([Issue("required", "Name one patient: patient=Patient/{id}.", "patient")])
        patient = _reference_id(patients[0], "Patient")
        if patient is None:
            raise NotFoundException()
        mapping = codes.mapping()
        categories = set()
        own_system = f"{base_url}{codes.CATEGORY_PATH}"
        known = request.app.state.matrix.categories
        for value in _each(params, "category"):
            system, _bar, code = value.rpartition("|")
            if system == mapping.class_system or (not system and code in mapping.categories):
                category = mapping.categories.get(code)
            elif system in ("", own_system) and code in known:
                category = code
            else:
                raise _invalid("category", f"Unknown category {value!r} (see docs/fhir.md).")
            categories.add(category)
        type_codes = set()
        for value in _each(params, "type"):
            system, _bar, code = value.rpartition("|")
            if system not in ("", mapping.type_system) or code not in mapping.types:
                raise _invalid("type", f"Unknown type {value!r} (see docs/fhir.md).")
            type_codes.add(code)
        dates = []
        for value in params.get("date", []):
            prefix = value[:2] if value[:2] in _PREFIXES else "eq"
            start, end = _day_range(value[2:] if value[:2] in _PREFIXES else value, "date")
            dates.append((prefix, start, end))
        statuses = set(_each(params, "status"))
        if statuses - _STATUSES:
            raise _invalid("status", "A document's status is current or superseded.")
        authors = set()
        for value in _each(params, "author"):
            author = _reference_id(value, "Practitioner")
            if author is None:
                raise _invalid("author", "Name the author as Practitioner/{id}.")
            authors.add(author)
        count = _number(params, "_count", DEFAULT_COUNT, 0, MAX_COUNT)
        offset = _number(params, "_offset", 0, 0, 10**9)
        return cls(
            patient=patient,
            categories=frozenset(categories),
            type_codes=frozenset(type_codes),
            dates=tuple(dates),
            statuses=frozenset(statuses),
            authors=frozenset(authors),
            count=count,
            offset=offset,
            given=tuple(
                (name, value)
                for name, values in params.items()
                if name != "_offset"
                for value in values
            ),
        )

    def url(self, base_url: str, offset: int) -> str:
        """This search's address, at ``offset``."""
        query = [*self.given, *([("_offset", str(offset))] if offset else [])]
        return f"{base_url}/fhir/DocumentReference?{urlencode(query)}"

    def matches(self, document: dict[str, Any]) -> bool:
        if self.categories and document["category"] not in self.categories:
            return False
        if self.type_codes:
            code = codes.mapping().type_of(document["category"], document["type"])
            if code is None or code.code not in self.type_codes:
                return False
        status = "superseded" if document["superseded_at"] else "current"
        if self.statuses and status not in self.statuses:
            return False
        if self.authors and document["author"] not in self.authors:
            return False
        day = document["created_at"].date()
        return all(_on(prefix, start, end, day) for prefix, start, end in self.dates)


def _each(params: dict[str, list[str]], name: str) -> list[str]:
    """Every value of a token parameter: repeated (AND in FHIR, here all required alike) or
    comma-separated (OR)."""
    return [value for values in params.get(name, []) for value in values.split(",") if value]


def _number(params: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    values = params.get(name)
    if not values:
        return default
    try:
        number = int(values[-1])
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise _invalid(name, f"{name} is a whole number from {low} to {high}.")
    return number


def _on(prefix: str, start: date, end: date, day: date) -> bool:
    return {
        "eq": start <= day <= end,
        "ne": not start <= day <= end,
        "gt": day > end,
        "lt": day < start,
        "ge": day >= start,
        "le": day <= end,
    }[prefix]


def replaced_by(document: dict[str, Any], versions: list[dict[str, Any]]) -> UUID | None:
    """The version ``document`` replaced: the one of its versions made just before it."""
    earlier = [row for row in versions if row["created_at"] < document["created_at"]]
    return max(earlier, key=lambda row: row["created_at"])["id"] if earlier else None


async def documents(view: DossierView, query: DocumentQuery) -> list[dict[str, Any]]:
    """Every version of the dossier's documents that the asker may read and that matches
    ``query``, newest care first: the id of each, and the version it ``replaces``."""
    rows = (
        await Document.select(*DECIDING)
        .where(Document.dossier == view.id)
        .order_by(Document.care_date, ascending=False)
        .order_by(Document.created_at, ascending=False)
    )
    lineages: dict[UUID, list[dict[str, Any]]] = {}
    for row in rows:
        lineages.setdefault(row["lineage"] or row["id"], []).append(row)
    # The documents of a dossier share a handful of standings: each is decided once.
    decided: dict[tuple, bool] = {}
    found = []
    for row in rows:
        versions = lineages[row["lineage"] or row["id"]]
        current = (
            row
            if len(versions) == 1
            else next((v for v in versions if v["superseded_at"] is None), versions[0])
        )
        standing = (
            row["category"],
            row["type"],
            row["author"],
            current["masked"],
            current["hidden_until"],
            current["hidden_from_representatives"],
        )
        allowed = decided.get(standing)
        if allowed is None:
            allowed = decided[standing] = view.may(Action.VIEW, item=as_seen(row, current))
        if allowed and query.matches(row):
            found.append({"id": row["id"], "replaces": replaced_by(row, versions)})
    return found


async def page_of(view: DossierView, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents of one page of ``found``, whole (without body nor file) and opened, in
    its order."""
    if not found:
        return []
    query = Document.select(*COLUMNS).where(Document.id.is_in([row["id"] for row in found]))
    rows = await crypto.opened(view.id, Document, await query)
    by_id = {row["id"]: row for row in rows}
    return [{**by_id[row["id"]], "replaces": row["replaces"]} for row in found]
