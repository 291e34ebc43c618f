"""The patient's own copy of their dossier in the European format, and what they bring back
from elsewhere.

- "Download my record (European format)", on the dossier's page: the patient summary as an
  IPS document (`portal.fhir.ips`), and, as a second file, every document the reader may see
  as a FHIR ``Bundle`` of ``DocumentReference``s, each with its ``Binary`` (the file itself).
- The import: the patient's side (the policy decides, on the ``patient`` category) brings an
  IPS or another document ``Bundle`` from another country or system. It is checked
  (`portal.fhir.reading`), kept as one of their own documents, and its page shows it as
  sections and entries in plain text: nothing of it is ever run or trusted as HTML.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal import clock
from portal.access import signed_in
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.dossiers import documents
from portal.fhir import ips, reading
from portal.fhir.resources import FHIR_JSON, TEXT_PLAIN, document_reference
from portal.fhir.routes import patient_of
from portal.i18n import gettext as _
from portal.web import see_other

#: What an imported bundle is kept as: one of the patient's own documents.
CATEGORY = "patient"
#: Each import's submission id, from its dossier and content: the same file twice is kept once.
IMPORTS = UUID("6a0f2f0c-8d0e-5a43-9f4a-2a3f0ad5d7c1")


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


def _base64(content: bytes) -> str:
    return base64.b64encode(content).decode()


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
    """A ``collection`` of the documents ``view``'s reader may see, every version they may
    read of each (newest first, the older ones ``superseded``, each naming the one it
    replaced): each one's ``DocumentReference``, then its content as a ``Binary`` (its
    attachment's URL is the Binary's ``fullUrl``). A document with both a file and a text
    carries its text as a second attachment, inline."""
    site = base.removesuffix("/fhir")
    entries = []
    for listed in await view.documents():
        versions = await _versions(view, listed["id"])
        replaced = [version["id"] for version in versions[1:]] + [None]
        for row, replaces in zip(versions, replaced, strict=True):
            content, _type, _name, _extension = documents.content_of(row)
            reference = document_reference(row, view.id, site, replaces=replaces)
            if row["file_data"] is not None and (row["body"] or "").strip():
                text = {"contentType": TEXT_PLAIN, "data": _base64(row["body"].encode())}
                reference["content"].append({"attachment": {**text, "title": row["title"]}})
            entries.append(
                {"fullUrl": f"{base}/DocumentReference/{row['id']}", "resource": reference}
            )
            entries.append(
                {
                    "fullUrl": f"{base}/Binary/{row['id']}",
                    "resource": {
                        "resourceType": "Binary",
                        "id": str(row["id"]),
                        "contentType": reference["content"][0]["attachment"]["contentType"],
                        "data": _base64(content),
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


async def _versions(view: DossierView, document_id: UUID) -> list[dict[str, Any]]:
    """A current document and its older versions the reader may read, newest first, with
    their files (the lineage is looked up only for a document that has one)."""
    current = await documents.document_row(view, document_id, with_file=True)
    if (current["lineage"] or current["id"]) == current["id"]:
        return [current]
    _current, lineage = await documents.lineage_of(view, current)
    return [current] + [
        await documents.document_row(view, version["id"], with_file=True)
        for version in lineage
        if version["id"] != current["id"]
        and view.may(Action.VIEW, item=documents.as_seen(version, current))
    ]


# --- the import -----------------------------------------------------------------------------


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
    bundle, error = (
        reading.check_bundle(content) if content else (None, _("Choose a file to import."))
    )
    if bundle is None:
        await view.require(Action.VIEW, target_type="dossier")
        return _import_page(view, error, 400)
    page = reading.readable(bundle)
    entry = documents.Entry(
        category=CATEGORY,
        type="",
        title=page.title[: documents.TITLE_MAX_LENGTH],
        care_date=_care_date(page.date, view.now.date()),
        body="",
        submission=uuid5(IMPORTS, f"{view.id}/{hashlib.sha256(content).hexdigest()}"),
        file_name=documents.clean_file_name(upload.filename or "") or "bundle.json",
        file_type=reading.IMPORTED_TYPE,
        file_data=content,
    )
    document_id = await documents.submitted(view, entry.submission)
    if document_id is None:
        try:
            document_id = await documents.store(view, entry)
        except Exception:
            # The same file, imported twice at the same moment: the other one kept it.
            document_id = await documents.resubmitted(view, entry.submission)
            if document_id is None:
                raise
    return see_other(documents.page_of(view, document_id))


def _care_date(moment: date | datetime | None, today: date) -> date:
    """The bundle's own day when it has a sensible one, else today."""
    found = clock.local(moment).date() if isinstance(moment, datetime) else moment
    return found if found and documents.EARLIEST_CARE_DATE <= found <= today else today


ROUTES = [summary_file, documents_file, import_form, import_bundle]
