"""The patient's own copy of their dossier in the European format, and what they bring back
from elsewhere.

- "Download my record (European format)", on the dossier's page: the patient summary as an
  IPS document (`portal.fhir.ips`), and, as a second file, every document the reader may see
  as a FHIR ``Bundle`` of ``DocumentReference``s, each with its ``Binary`` (the file itself).
- The import: the patient's side (the policy decides, on the ``patient`` category) brings an
  IPS or another document ``Bundle`` from another country or system. It is checked (JSON, a
  Bundle of resources, a Composition first for a document), kept as one of their own documents,
  and shown as a readable page of sections and entries: plain text, autoescaped; nothing of it
  is ever run or trusted as HTML (its narrative's markup is dropped).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.access import signed_in
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.dossiers import documents
from portal.fhir import ips
from portal.fhir.resources import FHIR_JSON, document_reference
from portal.fhir.routes import patient_of
from portal.fhir.transaction import Invalid, parse_json
from portal.i18n import gettext as _
from portal.web import see_other

#: What an imported document is kept as: one of the patient's own documents.
CATEGORY = "patient"
IMPORTED_TYPE = FHIR_JSON
#: The bundles that may be imported: a document (an IPS) or a collection of resources.
IMPORTED_KINDS = frozenset({"document", "collection"})
MAX_IMPORTED_ENTRIES = 2000
#: Each import's submission id, from its dossier and content: the same file twice is kept once.
IMPORTS = UUID("6a0f2f0c-8d0e-5a43-9f4a-2a3f0ad5d7c1")
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")


def _file(name: str, content: bytes) -> Response:
    return Response(
        content,
        media_type=FHIR_JSON,
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


def _json(resource: dict[str, Any]) -> bytes:
    return json.dumps(resource, ensure_ascii=False, indent=1).encode()


def _fhir_base(request: Request) -> str:
    return f"{request.app.state.settings.base_url.rstrip('/')}/fhir"


# --- the copy -------------------------------------------------------------------------------


@get("/dossiers/{dossier_id:uuid}/export/ips.json", guards=[signed_in])
async def summary_file(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """The patient summary (IPS) of what the reader may see, as a file."""
    view = await open_dossier(request, dossier_id, Action.EXPORT)
    plugins = request.app.state.plugins
    bundle = await ips.patient_summary(view, plugins, await patient_of(view), _fhir_base(request))
    return _file(f"ips-{view.now.date().isoformat()}.json", _json(bundle))


@get(
    "/dossiers/{dossier_id:uuid}/export/documents.json",
    guards=[signed_in],
    skip_compression=True,
)
async def documents_file(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """Every document the reader may see, with its file, as one FHIR ``Bundle``."""
    view = await open_dossier(request, dossier_id, Action.EXPORT)
    await view.require(Action.EXPORT, target_type="documents")
    bundle = await documents_bundle(view, _fhir_base(request))
    return _file(f"documents-{view.now.date().isoformat()}.json", _json(bundle))


async def documents_bundle(view: DossierView, base: str) -> dict[str, Any]:
    """A ``collection`` of the current documents ``view``'s reader may see: each one's
    ``DocumentReference``, then its content as a ``Binary`` (its attachment's URL is the
    Binary's ``fullUrl``)."""
    site = base.removesuffix("/fhir")
    entries = []
    for listed in await view.documents():
        row = await documents.document_row(view, listed["id"], with_file=True)
        content, content_type, _name, _extension = documents.content_of(row)
        entries.append(
            {
                "fullUrl": f"{base}/DocumentReference/{row['id']}",
                "resource": document_reference(row, view.id, site),
            }
        )
        entries.append(
            {
                "fullUrl": f"{base}/Binary/{row['id']}",
                "resource": {
                    "resourceType": "Binary",
                    "id": str(row["id"]),
                    "contentType": content_type,
                    "data": base64.b64encode(content).decode(),
                },
            }
        )
    return {
        "resourceType": "Bundle",
        "id": str(uuid5(ips.BUNDLE_NAMESPACE, f"{view.id}/documents/{view.now.isoformat()}")),
        "type": "collection",
        "timestamp": view.now.isoformat(timespec="seconds"),
        "entry": entries,
    }


# --- the import -----------------------------------------------------------------------------


@dataclass
class Readable:
    """An imported bundle as a page shows it: its title, date, and sections of text lines."""

    title: str
    date: str = ""
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
    if data.get("type") not in IMPORTED_KINDS:
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
    moment = _text(bundle.get("timestamp"))
    if bundle["type"] != "document":
        kinds: dict[str, list[str]] = {}
        for resource in resources:
            kinds.setdefault(resource["resourceType"], []).append(_line(resource))
        return Readable(_("Imported resources"), moment, list(kinds.items()))
    composition = resources[0]
    page = Readable(
        _text(composition.get("title")) or _("Imported patient summary"),
        _text(composition.get("date")) or moment,
    )
    for section in composition.get("section", []):
        lines = [
            _line(by_reference[reference])
            for reference in _references(section.get("entry"))
            if reference in by_reference
        ]
        narrative = section.get("text")
        if not lines and isinstance(narrative, dict):
            lines = [line for line in [_text(ips.label_of({"text": narrative}))] if line]
        page.sections.append((_text(section.get("title")) or _("Untitled section"), lines))
    return page


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


def _line(resource: dict[str, Any]) -> str:
    """One entry in words: what it is, and its date when it has one."""
    label = ips.label_of(resource)
    for element in ("occurrenceDateTime", "effectiveDateTime", "recordedDate", "dateTime"):
        if isinstance(resource.get(element), str):
            return f"{_text(label)} ({_text(resource[element])})"
    return _text(label) or resource["resourceType"]


def _import_page(view: DossierView, error: str = "", status: int = 200) -> Template:
    return Template(
        "fhir/import.html",
        context={"view": view, "error": error},
        status_code=status,
    )


@get("/dossiers/{dossier_id:uuid}/import", guards=[signed_in])
async def import_form(request: Request, dossier_id: FromPath[UUID]) -> Template:
    """The form to bring a patient summary or documents from elsewhere."""
    view = await open_dossier(request, dossier_id, Action.CREATE, CATEGORY)
    await view.require(Action.VIEW, target_type="dossier")
    return _import_page(view)


@post(
    "/dossiers/{dossier_id:uuid}/import",
    guards=[signed_in],
    request_max_body_size=documents.MAX_REQUEST_SIZE,
)
async def import_bundle(request: Request, dossier_id: FromPath[UUID]) -> Template | Redirect:
    """Keep a checked bundle as one of the patient's documents, then show it."""
    view = await open_dossier(request, dossier_id, Action.CREATE, CATEGORY)
    upload = (await request.form()).get("file")
    content = await upload.read() if isinstance(upload, UploadFile) else b""
    bundle, error = check_bundle(content) if content else (None, _("Choose a file to import."))
    if bundle is None:
        await view.require(Action.VIEW, target_type="dossier")
        return _import_page(view, error, 400)
    page = readable(bundle)
    entry = documents.Entry(
        category=CATEGORY,
        type="",
        title=page.title[: documents.TITLE_MAX_LENGTH],
        care_date=_care_date(page.date, view.now.date()),
        body="",
        submission=uuid5(IMPORTS, f"{view.id}/{hashlib.sha256(content).hexdigest()}"),
        file_name=documents.clean_file_name(upload.filename or "") or "bundle.json",
        file_type=IMPORTED_TYPE,
        file_data=content,
    )
    document_id = await documents.submitted(view, entry.submission)
    if document_id is None:
        try:
            document_id = await documents.store(view, entry)
        except documents.Resubmitted as resubmitted:
            document_id = resubmitted.document_id
    return see_other(f"{documents.page_of(view, document_id)}/read")


def _care_date(text: str, today: date) -> date:
    """The bundle's own date when it has a sensible one, else today."""
    try:
        found = date.fromisoformat(text[:10])
    except ValueError:
        return today
    return found if documents.EARLIEST_CARE_DATE <= found <= today else today


@get("/dossiers/{dossier_id:uuid}/documents/{document_id:uuid}/read", guards=[signed_in])
async def read_imported(
    request: Request, dossier_id: FromPath[UUID], document_id: FromPath[UUID]
) -> Template:
    """An imported bundle as a page of sections and entries (text only)."""
    view = await open_dossier(
        request, dossier_id, target_type="document", target_id=str(document_id)
    )
    document, _current, _versions = await documents.read_document(view, document_id, with_file=True)
    bundle = None
    if document["file_type"] == IMPORTED_TYPE and document["file_data"] is not None:
        bundle, _error = check_bundle(bytes(document["file_data"]))
    if bundle is None:
        raise NotFoundException()
    return Template(
        "fhir/imported.html",
        context={"view": view, "document": document, "page": readable(bundle)},
    )


ROUTES = [summary_file, documents_file, import_form, import_bundle, read_imported]
