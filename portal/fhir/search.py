"""Finding documents as IHE MHD's ITI-67 does: the search parameters of ``GET
/fhir/DocumentReference`` read and checked, and the documents of a dossier that the asker may
read and that match them, every version included (``status``), newest care first.

Only what the asker may read is ever matched, counted or paged: masked, hidden and refused
documents are left out before anything else, so no total nor page betrays them.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Request
from litestar.exceptions import NotFoundException

from portal import crypto
from portal.access.facts import LISTED, Item
from portal.access.view import DossierView
from portal.audit import Action
from portal.dossiers.tables import Document
from portal.fhir import codes
from portal.fhir.resources import Invalid, Issue, referenced_id, resource_id
from portal.i18n import gettext as _

DEFAULT_COUNT = 20
MAX_COUNT = 100
#: What a DocumentReference is made from (no body, no file).
COLUMNS = (*LISTED, Document.file_size, Document.superseded_at, Document.master_identifier)
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
        if name == "_format":  # any interaction's; the router checked it (`only_json`)
            continue
        if ":" in name and name.partition(":")[0] in known:
            # A modifier changes what a parameter means (``:not`` inverts it): ignoring it
            # would answer another question.
            message = _("Carnet does not support the modifier %(name)r.") % {"name": name}
            raise Invalid([Issue("not-supported", message, name)])
        if name not in known:
            if strict:
                message = _("Unknown search parameter %(name)r.") % {"name": name}
                raise Invalid([Issue("not-supported", message, name)])
            continue
        found.setdefault(name, []).append(value)
    return found


def _invalid(name: str, message: str) -> Invalid:
    return Invalid([Issue("invalid", message, name)])


def _reference_id(value: str, kind: str, base_url: str) -> UUID | None:
    """The id of ``kind/{id}`` (relative, absolute on this server, or the id alone); None if
    it is none of ours."""
    return referenced_id(value, kind, base_url) if "/" in value else resource_id(value)


#: A FHIR date: YYYY, YYYY-MM, YYYY-MM-DD, or a dateTime (the day, then ``T`` and the time).
_FHIR_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(T.+)?)?)?", re.ASCII)


def _day_range(text: str, name: str) -> tuple[date, date]:
    """The days a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime) covers; a dateTime
    covers its day."""
    found = _FHIR_DATE.fullmatch(text)
    try:
        if found is None:
            raise ValueError(text)
        year, month, day, moment = found.groups()
        if moment:
            datetime.fromisoformat(text)  # the whole dateTime must be one
        if day:
            covered = date(int(year), int(month), int(day))
            return covered, covered
        if month:
            last = calendar.monthrange(int(year), int(month))[1]
            return date(int(year), int(month), 1), date(int(year), int(month), last)
        return date(int(year), 1, 1), date(int(year), 12, 31)
    except ValueError:
        raise _invalid(name, _("%(text)r is not a date (YYYY-MM-DD).") % {"text": text}) from None


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
    #: The documents of one submission set only (``GET /fhir/List/{id}``), not a parameter.
    submission_set: UUID | None = None
    #: The query's parameters but the paging offset, for the links to other pages.
    given: tuple[tuple[str, str], ...] = ()

    @classmethod
    def read(cls, request: Request, base_url: str) -> DocumentQuery:
        params = parameters(request, DOCUMENT_PARAMETERS)
        patients = params.get("patient", []) + params.get("subject", [])
        if len(patients) != 1 or not patients[0]:
            message = _("Name one patient: patient=Patient/{id}.")
            raise Invalid([Issue("required", message, "patient")])
        patient = _reference_id(patients[0], "Patient", base_url)
        if patient is None:
            raise NotFoundException()
        mapping = codes.mapping()
        categories = set()
        own_system = f"{base_url}{codes.CATEGORY_PATH}"
        known = request.app.state.matrix.categories
        for value in _each(params, "category"):
            system, _bar, code = value.rpartition("|")
            category = None
            if system == mapping.class_system or (not system and code in mapping.categories):
                category = mapping.categories.get(code)
            elif system in ("", own_system) and code in known:
                category = code
            if category is None:
                message = _("Unknown category %(value)r (see docs/fhir.md).") % {"value": value}
                raise _invalid("category", message)
            categories.add(category)
        type_codes = set()
        for value in _each(params, "type"):
            system, _bar, code = value.rpartition("|")
            if system not in ("", mapping.type_system) or code not in mapping.types:
                message = _("Unknown type %(value)r (see docs/fhir.md).") % {"value": value}
                raise _invalid("type", message)
            type_codes.add(code)
        dates = []
        for value in params.get("date", []):
            prefix = value[:2] if value[:2] in _PREFIXES else "eq"
            start, end = _day_range(value[2:] if value[:2] in _PREFIXES else value, "date")
            dates.append((prefix, start, end))
        statuses = set(_each(params, "status"))
        if statuses - _STATUSES:
            raise _invalid("status", _("A document's status is current or superseded."))
        authors = set()
        for value in _each(params, "author"):
            author = _reference_id(value, "Practitioner", base_url)
            if author is None:
                raise _invalid("author", _("Name the author as Practitioner/{id}."))
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

    def matches(self, item: Item) -> bool:
        """Whether the versions of this standing are asked for: their category, type and
        author (their status and day are the database's to check, `_row_filters`)."""
        if self.categories and item.category not in self.categories:
            return False
        if self.type_codes:
            code = codes.mapping().type_of(item.category, item.type)
            if code is None or code.code not in self.type_codes:
                return False
        return not self.authors or item.author in self.authors


def _each(params: dict[str, list[str]], name: str) -> list[str]:
    """Every value of a token parameter: repeated (AND in FHIR, here all required alike) or
    comma-separated (OR)."""
    return [value for values in params.get(name, []) for value in values.split(",") if value]


def _number(params: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    values = params.get(name)
    if not values:
        return default
    text = values[-1]
    number = int(text) if text.isascii() and text.isdigit() and len(text) < 12 else low - 1
    if not low <= number <= high:
        message = _("%(name)s is a whole number from %(low)s to %(high)s.")
        raise _invalid(name, message % {"name": name, "low": low, "high": high})
    return number


def replaced_by(document: dict[str, Any], versions: list[dict[str, Any]]) -> UUID | None:
    """The version ``document`` replaced: the one of its versions made just before it."""
    earlier = [row for row in versions if row["created_at"] < document["created_at"]]
    return max(earlier, key=lambda row: row["created_at"])["id"] if earlier else None


#: The current version of a replaced version's lineage (the id of the first version, which
#: every version of a replaced document has, all in its dossier), looked up by that lineage
#: alone for each replaced version: whatever the planner believes of the dossier's size
#: (statistics lag behind a dossier that grew fast), it cannot make this a scan of the
#: dossier for each of its versions.
_CURRENT = """
    SELECT {column} FROM document AS current_version
    WHERE current_version.lineage = version.lineage AND current_version.superseded_at IS NULL
"""
#: Every version of a dossier's documents (``seen_version``) with what decides who sees it:
#: its own category, type and author, and its current version's mask and announcements (they
#: cover every version). A current version has its own; a replaced one has those of the one
#: current version of its lineage (`_CURRENT`), and is left out when its lineage has none or
#: several (never made by Carnet).
_SEEN = f"""
    SELECT id, category, type, author, masked, hidden_until, hidden_from_representatives,
           care_date, created_at, superseded_at, COALESCE(lineage, id) AS lineage,
           submission_set
    FROM document
    WHERE dossier = {{}} AND superseded_at IS NULL
    UNION ALL
    SELECT id, category, type, author,
           ({_CURRENT.format(column="current_version.masked")}) AS masked,
           ({_CURRENT.format(column="current_version.hidden_until")}) AS hidden_until,
           ({_CURRENT.format(column="current_version.hidden_from_representatives")})
               AS hidden_from_representatives,
           care_date, created_at, superseded_at, lineage, submission_set
    FROM document AS version
    WHERE dossier = {{}} AND superseded_at IS NOT NULL
        AND ({_CURRENT.format(column="COUNT(*)")}) = 1
"""  # noqa: S608 - our own SQL: every value is a parameter
#: What the policy decides on (`_standing`): the versions that share it share its decision.
_STANDING = ("category", "type", "author", "masked", "hidden_until", "hidden_from_representatives")


def _standings(where: str) -> str:
    """How many versions of each standing ``where`` keeps (`_where`)."""
    return f"""
        SELECT category, type, CAST(author AS TEXT) AS author, masked, hidden_until,
               hidden_from_representatives, COUNT(*) AS versions
        FROM ({_SEEN}) AS seen_version
        {where}
        GROUP BY {", ".join(_STANDING)}
    """  # noqa: S608 - our own SQL: every value is a parameter


def _page(where: str) -> str:
    """A page (its size, then its offset) of the versions ``where`` keeps, newest care first:
    the ids of each and of its lineage, as text."""
    return f"""
        SELECT CAST(id AS TEXT) AS id, CAST(lineage AS TEXT) AS lineage
        FROM ({_SEEN}) AS seen_version
        {where}
        ORDER BY care_date DESC, created_at DESC, id
        LIMIT {{}} OFFSET {{}}
    """  # noqa: S608 - our own SQL: every value is a parameter


def _where(conditions: list[str]) -> str:
    return f"WHERE {' AND '.join(conditions)}" if conditions else ""


def _row_filters(query: DocumentQuery) -> tuple[list[str], list[Any]]:
    """The conditions on each version of ``seen_version``, as SQL with their values: a
    version's status, the day it was made (in UTC), its submission set."""
    conditions: list[str] = []
    values: list[Any] = []
    if query.submission_set:
        conditions.append("submission_set = {}")
        values.append(query.submission_set)
    if query.statuses == {"current"}:
        conditions.append("superseded_at IS NULL")
    elif query.statuses == {"superseded"}:
        conditions.append("superseded_at IS NOT NULL")
    for prefix, start, end in query.dates:
        first = datetime.combine(start, time(), UTC)
        # The moment after the last day; nothing is later than the last day there is.
        after = (
            datetime.combine(end + timedelta(days=1), time(), UTC)
            if end < date.max
            else datetime.max.replace(tzinfo=UTC)
        )
        condition, bounds = {
            "eq": ("(created_at >= {} AND created_at < {})", [first, after]),
            "ne": ("(created_at < {} OR created_at >= {})", [first, after]),
            "gt": ("created_at >= {}", [after]),
            "lt": ("created_at < {}", [first]),
            "ge": ("created_at >= {}", [first]),
            "le": ("created_at < {}", [after]),
        }[prefix]
        conditions.append(condition)
        values.extend(bounds)
    return conditions, values


def _standing(row: dict[str, Any]) -> Item:
    """The policy's view of the versions of one standing, from its row of `_standings` (as
    `documents.as_seen` makes it from whole rows)."""
    hidden_until = row["hidden_until"]
    if isinstance(hidden_until, str):  # SQLite, without its column's type
        hidden_until = datetime.fromisoformat(hidden_until)
    return Item(
        category=row["category"],
        type=row["type"],
        author=UUID(row["author"]) if row["author"] else None,
        masked=bool(row["masked"]),
        hidden_until=hidden_until,
        hidden_from_representatives=bool(row["hidden_from_representatives"]),
    )


def _among(standings: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    """The condition that a version has one of ``standings``, as SQL with its values."""
    alternatives, values = [], []
    for row in standings:
        terms = []
        for name in _STANDING:
            value = row[name]
            if value is None:
                terms.append(f"{name} IS NULL")
            else:
                terms.append(f"{name} = {{}}")
                values.append(UUID(value) if name == "author" else value)
        alternatives.append(f"({' AND '.join(terms)})")
    return f"({' OR '.join(alternatives)})", values


@dataclass(frozen=True)
class Found:
    """What a search finds: how many versions, and the page asked for."""

    total: int
    #: The page's versions, newest care first: the id of each and of its lineage, as text
    #: (`page_of` reads them whole).
    page: list[dict[str, Any]]


async def documents(view: DossierView, query: DocumentQuery) -> Found:
    """The versions of the dossier's documents that the asker may read and that match
    ``query``: how many, and the page asked for. The database narrows by status and date and
    counts each distinct standing; the policy decides each once (the documents of a dossier
    share a handful); the database reads the page among the standings kept. Only the page's
    rows are read here, however long the dossier."""
    conditions, values = _row_filters(query)
    dossier = [view.id, view.id]  # both halves of `_SEEN`
    standings = await Document.raw(_standings(_where(conditions)), *dossier, *values)
    kept, refused = [], []
    for row in standings:
        item = _standing(row)
        allowed = view.may(Action.VIEW, item=item) and query.matches(item)
        (kept if allowed else refused).append(row)
    total = sum(row["versions"] for row in kept)
    if not query.count or query.offset >= total:
        return Found(total, [])
    if refused:  # the shorter list names the versions of the page
        among, among_values = _among(kept if len(kept) <= len(refused) else refused)
        conditions.append(among if len(kept) <= len(refused) else f"NOT {among}")
        values.extend(among_values)
    page = _page(_where(conditions))
    rows = await Document.raw(page, *dossier, *values, query.count, query.offset)
    return Found(total, rows)


async def page_of(view: DossierView, found: Found) -> list[dict[str, Any]]:
    """The documents of ``found``'s page, whole (without body nor file) and opened, in its
    order, each with the version it ``replaces``."""
    if not found.page:
        return []
    page = [(UUID(row["id"]), UUID(row["lineage"])) for row in found.page]
    query = Document.select(*COLUMNS).where(Document.id.is_in([id_ for id_, _lineage in page]))
    by_id = {row["id"]: row for row in await crypto.opened(view.id, Document, await query)}
    lineages = list({lineage for _id, lineage in page})
    versions = await Document.select(Document.id, Document.lineage, Document.created_at).where(
        Document.dossier == view.id,
        Document.lineage.is_in(lineages) | Document.id.is_in(lineages),
    )
    of_lineage: dict[UUID, list[dict[str, Any]]] = {}
    for version in versions:
        of_lineage.setdefault(version["lineage"] or version["id"], []).append(version)
    return [
        {**by_id[id_], "replaces": replaced_by(by_id[id_], of_lineage[lineage])}
        for id_, lineage in page
    ]
