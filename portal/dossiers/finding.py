"""Finding things in a dossier: every document on one timeline, newest care first, narrowed by
category, by words of the title and text, by author and by period; paginated, without
JavaScript. Only what the asker may read is ever listed or counted.

Words match whatever their case and accents ("echographie" finds "Échographie"), the same on
SQLite and PostgreSQL: the matching is done here, on the dossier's documents.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal import crypto
from portal.access import signed_in
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.dossiers.tables import Document
from portal.i18n import gettext as _

PAGE_SIZE = 25
MAX_WORDS = 8


def folded(text: str) -> str:
    """``text`` without case nor accents, for matching."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@dataclass(frozen=True)
class Search:
    words: str = ""
    category: str = ""
    author: str = ""
    start: date | None = None
    end: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.words or self.category or self.author or self.start or self.end)

    def matches(self, document: dict[str, Any], body: str) -> bool:
        if self.category and document["category"] != self.category:
            return False
        if self.author and folded(self.author) not in folded(document["author_name"]):
            return False
        if self.start and document["care_date"] < self.start:
            return False
        if self.end and document["care_date"] > self.end:
            return False
        text = folded(f"{document['title']} {body}")
        return all(word in text for word in folded(self.words).split()[:MAX_WORDS])


def _date(value: str, errors: dict[str, str], name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = _("This date was not understood: use the date picker, or type YYYY-MM-DD.")
        return None


async def found(view: DossierView, search: Search) -> list[dict[str, Any]]:
    """The documents of the dossier the asker may read that match ``search``."""
    documents = await view.documents(search.category or None)
    if not (search.words or search.author):
        return [document for document in documents if search.matches(document, "")]
    bodies = {}
    if search.words:
        rows = await Document.select(Document.id, Document.body).where(
            Document.id.is_in([document["id"] for document in documents] or [None])
        )
        bodies = {row["id"]: row["body"] for row in await crypto.opened(view.id, Document, rows)}
    return [
        document
        for document in documents
        if search.matches(document, bodies.get(document["id"], ""))
    ]


@get("/dossiers/{dossier_id:uuid}/documents", guards=[signed_in])
async def documents(
    request: Request,
    dossier_id: FromPath[UUID],
    q: FromQuery[str] = "",
    category: FromQuery[str] = "",
    author: FromQuery[str] = "",
    start: FromQuery[str] = "",
    end: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Template:
    """The timeline of the dossier's documents, and the search in it."""
    view = await open_dossier(request, dossier_id, target_type="documents")
    await view.require(Action.VIEW, target_type="documents")
    errors: dict[str, str] = {}
    readable = view.readable_categories()
    if category and category not in readable:
        errors["category"] = _("Choose a category from the list.")
        category = ""
    search = Search(
        words=q.strip()[:200],
        category=category,
        author=author.strip()[:100],
        start=_date(start, errors, "start"),
        end=_date(end, errors, "end"),
    )
    if search.start and search.end and search.start > search.end:
        errors["end"] = _("The end of the period comes before its start.")
    results = await found(view, search)
    counts: dict[str, int] = {}
    for document in await view.documents() if search.active else results:
        counts[document["category"]] = counts.get(document["category"], 0) + 1
    page = max(page, 1)
    first = (page - 1) * PAGE_SIZE
    return Template(
        "dossiers/documents.html",
        context={
            "view": view,
            "documents": results[first : first + PAGE_SIZE],
            "total": len(results),
            "counts": counts,
            "search": search,
            "typed": {"q": q, "author": author, "start": start, "end": end},
            "errors": errors,
            "page": page,
            "has_next": len(results) > first + PAGE_SIZE,
        },
        status_code=400 if errors else 200,
    )


ROUTES = [documents]
