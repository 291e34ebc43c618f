"""The documents of a dossier: deposit (a text, a file, or both), download, new versions, and
what a professional may keep from some readers for a while (a result hidden from the patient
until it is announced, a minor's confidential care hidden from the representatives).

Every route opens the dossier through `portal.access.view`: the policy decides on each
action, and each decision is traced in the dossier's audit chain, in the same transaction as
the change it allows. What a person typed wrong comes back in the form with a message (4xx),
and nothing is saved.

Versions: every version of a document shares its ``lineage`` (the id of the first one); the
current one has no ``superseded_at``. A version is seen as the current one is (masked,
hidden), so that masking or announcing a document covers its whole history.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID, uuid4

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal import clock, crypto
from portal.access import signed_in
from portal.access.controls import ControlError
from portal.access.facts import LISTED, item_of
from portal.access.policy import Act, Item, patient_side_accounts
from portal.access.view import DossierView, open_dossier, refusal
from portal.audit import Action
from portal.dossiers.tables import Document
from portal.dossiers.vocabulary import TYPE_LABELS
from portal.i18n import gettext as _
from portal.i18n import gettext_lazy
from portal.notifications import NotificationKind, declare, notify
from portal.web import flash, see_other, typed_date

#: The largest file a document may carry.
MAX_FILE_SIZE = 10 * 1024 * 1024
#: What a deposit form may weigh: the file, and room for the other fields. Beyond it the
#: request is refused before it is read (413).
MAX_REQUEST_SIZE = MAX_FILE_SIZE + 1024 * 1024
TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 100_000
EARLIEST_CARE_DATE = date(1900, 1, 1)
#: A result is hidden from the patient for 30 days at most (ACCESS.md).
MAX_HIDDEN_DAYS = 30
DEFAULT_HIDDEN_DAYS = 14
#: The kinds of file a document may carry, known by their first bytes (never by their name):
#: (magic bytes, content type, extension).
FILE_KINDS = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)
#: A structured document (a FHIR Bundle): never sniffed, only kept once its caller has read it
#: as one (`Draft.checked_type`), and downloaded as JSON.
STRUCTURED_TYPE = "application/fhir+json"
_EXTENSIONS = {
    **{kind: extension for _magic, kind, extension in FILE_KINDS},
    STRUCTURED_TYPE: "json",
}
#: Where the date of care may be "today" while it is already tomorrow in UTC (overseas
#: territories as far as UTC+14).
FURTHEST_TIMEZONE = timedelta(hours=14)
TICKED = frozenset({"1", "on", "true", "yes"})

NEW_DOCUMENT = declare(
    NotificationKind(
        key="new_document",
        title=gettext_lazy("A new document in a record"),
        body=gettext_lazy(
            "%(who)s added a document to the record of %(patient)s on %(date)s. "
            "You can read it in the record."
        ),
    )
)
DOCUMENT_AWAITS = declare(
    NotificationKind(
        key="document_awaits",
        title=gettext_lazy("A document awaits you"),
        body=gettext_lazy(
            "%(who)s added a document to the record of %(patient)s on %(date)s. It will be "
            "shown to you at your next consultation, or by %(until)s at the latest."
        ),
    )
)
DOCUMENT_RELEASED = declare(
    NotificationKind(
        key="document_released",
        title=gettext_lazy("A document that awaited you is now visible"),
        body=gettext_lazy(
            "%(who)s made the document that awaited you in the record of %(patient)s "
            "visible on %(date)s. You can read it in the record."
        ),
    )
)


@dataclass(frozen=True)
class Entry:
    """What a valid deposit form holds."""

    category: str
    type: str
    title: str
    care_date: date
    body: str
    submission: UUID
    file_name: str = ""
    file_type: str = ""
    file_data: bytes | None = None
    hidden_until: datetime | None = None
    hidden_from_representatives: bool = False
    #: The identifier the sender's software gave the document (``system|value``), and the
    #: submission set it came in, when it came through the FHIR API.
    master_identifier: str = ""
    submission_set: UUID | None = None


# --- reading documents ----------------------------------------------------------------------


def page_of(view: DossierView, document_id: UUID) -> str:
    return f"/dossiers/{view.id}/documents/{document_id}"


async def document_row(view: DossierView, document_id: UUID, *, with_file: bool = False) -> dict:
    """A document of this dossier (its file's bytes only when asked), not yet decided on:
    404 when there is none."""
    columns = Document.all_columns() if with_file else Document.all_columns([Document.file_data])
    row = (
        await Document.select(*columns)
        .where(Document.id == document_id, Document.dossier == view.id)
        .first()
    )
    if row is None:
        raise NotFoundException()
    return (await crypto.opened(view.id, Document, [row]))[0]


async def lineage_of(view: DossierView, document: dict) -> tuple[dict, list[dict]]:
    """The current version of ``document`` and all its versions, newest first (without body
    nor file)."""
    lineage = document["lineage"] or document["id"]
    rows = (
        await Document.select(*LISTED, Document.superseded_at)
        .where(
            Document.dossier == view.id,
            (Document.lineage == lineage) | (Document.id == lineage),
        )
        .order_by(Document.created_at, ascending=False)
    )
    await crypto.opened(view.id, Document, rows)
    current = next((row for row in rows if row["superseded_at"] is None), rows[0])
    return current, rows


def as_seen(version: dict, current: dict) -> Item:
    """The policy's view of a version: its own category and author, and what decides who
    sees it as the current version has it (a mask or an announcement covers every version)."""
    return replace(
        item_of(current),
        category=version["category"],
        type=version["type"],
        author=version["author"],
    )


async def read_document(
    view: DossierView, document_id: UUID, action: Action = Action.VIEW, *, with_file: bool = False
) -> tuple[dict, dict, list[dict]]:
    """A document the asker may do ``action`` on (decided and traced), its current version,
    and the versions of it the asker may read, newest first."""
    document = await document_row(view, document_id, with_file=with_file)
    current, versions = await lineage_of(view, document)
    await view.require(
        action,
        item=as_seen(document, current),
        target_type="document",
        target_id=str(document_id),
    )
    readable = [row for row in versions if view.may(Action.VIEW, item=as_seen(row, current))]
    return document, current, readable


async def current_version(view: DossierView, document_id: UUID) -> dict:
    """The current version of a document of this dossier (whole, without its file)."""
    document = await document_row(view, document_id)
    if document["superseded_at"] is None:
        return document
    current, _versions = await lineage_of(view, document)
    return await document_row(view, current["id"])


# --- the form -------------------------------------------------------------------------------


def _labels() -> dict[str, str]:
    return {
        "category": _("Category"),
        "type": _("Type"),
        "title": _("Title"),
        "care_date": _("Date of care"),
        "body": _("Text"),
        "file": _("File"),
        "hidden_days": _("Days before it shows by itself"),
    }


def _types(view: DossierView, categories: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The document types of each category that the asker may write, for the form."""
    types: dict[str, list[tuple[str, str]]] = {}
    for key, label in TYPE_LABELS.items():
        category, _slash, document_type = key.partition("/")
        item = Item(category, document_type, author=view.actor.account_id)
        if category in categories and view.may(Action.CREATE, category, item):
            types.setdefault(category, []).append((document_type, str(label)))
    return types


def _form_page(
    view: DossierView,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
    replacing: dict | None = None,
) -> Template:
    categories = [] if replacing else view.writable_categories()
    action = (
        f"{page_of(view, replacing['id'])}/new-version"
        if replacing
        else f"/dossiers/{view.id}/documents/new"
    )
    return Template(
        "dossiers/deposit.html",
        context={
            "view": view,
            "values": values,
            "errors": errors or {},
            "labels": _labels(),
            "categories": categories,
            "types": _types(view, categories),
            "replacing": replacing,
            "action": action,
            "may_hide": view.may(Act.HIDE) and not replacing,
            "latest_date": (view.now + FURTHEST_TIMEZONE).date().isoformat(),
            "max_megabytes": MAX_FILE_SIZE // (1024 * 1024),
            "max_days": MAX_HIDDEN_DAYS,
        },
        status_code=status,
    )


def _text(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _values(form: Any) -> dict[str, Any]:
    """What the person typed, to show again with the errors (the file must be chosen again)."""
    return {
        "category": _text(form, "category"),
        "type": _text(form, "type"),
        "title": _text(form, "title"),
        "care_date": _text(form, "care_date"),
        "body": _text(form, "body"),
        "hide_from_patient": _text(form, "hide_from_patient") in TICKED,
        "hidden_days": _text(form, "hidden_days"),
        "hide_from_representatives": _text(form, "hide_from_representatives") in TICKED,
        "submission": _text(form, "submission"),
    }


def _submission(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def parse_care_date(value: str, today: date) -> tuple[date | None, str]:
    """The date of care as typed (2026-03-14, as a date field sends it, or 14/03/2026), or why
    it cannot be one."""
    parsed = typed_date(value)
    if parsed is None:
        return None, _("Give the date of care as day/month/year, for example 14/03/2026.")
    if parsed < EARLIEST_CARE_DATE:
        return None, _("The date of care cannot be before 1900.")
    if parsed > today:
        return None, _("The date of care cannot be in the future.")
    return parsed, ""


def file_kind(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a PDF, PNG or JPEG file, from its first bytes."""
    for magic, content_type, extension in FILE_KINDS:
        if data.startswith(magic):
            return content_type, extension
    return None


def clean_file_name(name: str) -> str:
    """The name of an uploaded file as it is kept: no folders, no control characters."""
    name = unicodedata.normalize("NFC", re.split(r"[\\/]", name)[-1])
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C").strip()
    return name[:TITLE_MAX_LENGTH]


def check_file(
    name: str, data: bytes | None, checked_type: str = ""
) -> tuple[str, str, bytes | None, str, bool]:
    """A document's file as it is kept (name, content type, bytes), or why it is refused (and
    whether because it is too large). No data: no file. ``checked_type``: the type of a file
    whose content the caller has already checked (a FHIR document); otherwise the type is
    found from the content."""
    if data is None:
        return "", "", None, "", False
    name = clean_file_name(name)
    if not data:
        return "", "", None, _("This file is empty.") if name else "", False
    if len(data) > MAX_FILE_SIZE:
        problem = _("This file is too large: %(size)s MB at most.") % {
            "size": MAX_FILE_SIZE // (1024 * 1024)
        }
        return "", "", None, problem, True
    kind = (checked_type, _EXTENSIONS[checked_type]) if checked_type else file_kind(data)
    if kind is None:
        problem = _(
            "Only PDF, JPEG and PNG files are accepted, and this file is none of them, "
            "whatever its name says."
        )
        return "", "", None, problem, False
    return name or f"document.{kind[1]}", kind[0], data, "", False


def clean_title(title: str) -> str:
    """A title as it is kept: one line, its spaces single, without control or formatting
    characters (a right-to-left override would make it read otherwise than it is)."""
    title = unicodedata.normalize("NFC", title)
    title = "".join(
        char for char in title if unicodedata.category(char)[0] != "C" or char.isspace()
    )
    return " ".join(title.split())


@dataclass(frozen=True)
class Draft:
    """A deposit as a person typed it or software sent it, not yet checked (`check_deposit`):
    every value as received."""

    category: str
    type: str
    title: str
    care_date: str
    body: str
    submission: str
    file_name: str = ""
    file_data: bytes | None = None
    #: The file's type when its sender has checked its content (`check_file`).
    checked_type: str = ""
    hide_from_patient: bool = False
    hidden_days: str = ""
    hide_from_representatives: bool = False


async def read_form(
    view: DossierView, form: Any, replacing: dict | None = None
) -> tuple[Entry | None, dict[str, str], int]:
    """The deposit (or new version) the form describes, checked by `check_deposit`."""
    values = _values(form)
    upload = form.get("file")
    file_name, file_data = "", None
    if isinstance(upload, UploadFile):
        file_name, file_data = upload.filename or "", await upload.read()
    draft = Draft(
        category=values["category"],
        type=values["type"],
        title=values["title"],
        care_date=values["care_date"],
        body=values["body"],
        submission=values["submission"],
        file_name=file_name,
        file_data=file_data,
        hide_from_patient=values["hide_from_patient"],
        hidden_days=values["hidden_days"],
        hide_from_representatives=values["hide_from_representatives"],
    )
    return await check_deposit(view, draft, replacing)


async def check_deposit(
    view: DossierView, draft: Draft, replacing: dict | None = None
) -> tuple[Entry | None, dict[str, str], int]:
    """The deposit (or new version of ``replacing``) a draft describes, or the errors by
    field (the keys of the form: ``category``, ``title``, ``file``…) with the status to
    answer: 403 when the policy refuses the category (the refusal is traced), 413 for a file
    too large, 400 otherwise. The deposit form and the FHIR API both check through here."""
    errors: dict[str, str] = {}
    status = 400
    if replacing:
        category, document_type = replacing["category"], replacing["type"]
    else:
        category, document_type = draft.category, draft.type
        if category not in view.matrix.categories:
            errors["category"] = _("Choose a category from the list.")
        elif document_type and f"{category}/{document_type}" not in TYPE_LABELS:
            errors["type"] = _("Choose a type of this category from the list, or none.")
        else:
            item = Item(category, document_type, author=view.actor.account_id)
            decision = view.decide(Action.CREATE, category, item)
            if not decision.allowed:
                await view.trace(Action.CREATE, decision, "document")
                if decision.status != 403:
                    raise refusal(decision)
                if document_type and view.may(Action.CREATE, category):
                    errors["type"] = _("You may not add documents of this type.")
                else:
                    errors["category"] = _("You may not add documents of this category.")
                status = 403

    title = clean_title(draft.title)
    if not title:
        errors["title"] = _("Give the document a title.")
    elif len(title) > TITLE_MAX_LENGTH:
        errors["title"] = _("The title can be %(count)s characters long at most.") % {
            "count": TITLE_MAX_LENGTH
        }
    care_date, problem = parse_care_date(draft.care_date, (view.now + FURTHEST_TIMEZONE).date())
    if problem:
        errors["care_date"] = problem
    body = draft.body.replace("\r\n", "\n").strip()
    if len(body) > BODY_MAX_LENGTH:
        errors["body"] = _("The text can be %(count)s characters long at most.") % {
            "count": BODY_MAX_LENGTH
        }
    file_name, file_type, file_data, problem, file_too_large = check_file(
        draft.file_name, draft.file_data, draft.checked_type
    )
    if problem:
        errors["file"] = problem
        if status == 400 and file_too_large:
            status = 413
    elif not body and file_data is None and "body" not in errors:
        errors["body"] = _("Write the document's text, attach its file, or both.")

    hidden_until = None
    hidden_from_representatives = False
    if view.may(Act.HIDE) and not replacing:
        if draft.hide_from_patient:
            try:
                days = int(draft.hidden_days.strip())
            except ValueError:
                days = 0
            if not 1 <= days <= MAX_HIDDEN_DAYS:
                errors["hidden_days"] = _("Choose between 1 and %(count)s days.") % {
                    "count": MAX_HIDDEN_DAYS
                }
            else:
                hidden_until = view.now + timedelta(days=days)
        hidden_from_representatives = draft.hide_from_representatives

    submission = _submission(draft.submission)
    if submission is None:
        errors["document-form"] = _("This form is incomplete. Check it and send it again.")
    if errors:
        return None, errors, status
    return (
        Entry(
            category=category,
            type=document_type,
            title=title,
            care_date=care_date,
            body=body,
            submission=submission,
            file_name=file_name,
            file_type=file_type,
            file_data=file_data,
            hidden_until=hidden_until,
            hidden_from_representatives=hidden_from_representatives,
        ),
        {},
        200,
    )


# --- saving ---------------------------------------------------------------------------------


async def submitted(view: DossierView, submission: UUID | None) -> UUID | None:
    """The document of this dossier that the form ``submission`` already made, if any."""
    if submission is None:
        return None
    row = (
        await Document.select(Document.id)
        .where(Document.submission == submission, Document.dossier == view.id)
        .first()
    )
    return row["id"] if row else None


async def submissions(view: DossierView, keys: list[UUID]) -> dict[UUID, dict[str, Any]]:
    """The documents of this dossier that these submissions made: each submission's document
    id and author."""
    rows = await Document.select(Document.id, Document.author, Document.submission).where(
        Document.dossier == view.id, Document.submission.is_in(keys)
    )
    return {row["submission"]: row for row in rows}


async def store(view: DossierView, entry: Entry, replacing: dict | None = None) -> UUID:
    """Save a new document (or a new version of ``replacing``, the current one) with its
    trace, in one transaction, and tell the patient's side. `ControlError` when ``replacing``
    was replaced meanwhile. The callers look up the form's submission first (`submitted`);
    two copies sent at the same moment both pass that look-up, and the unique index on the
    submission refuses the second one's insert: `resubmitted` then finds the first one's
    document."""
    document_id = uuid4()
    lineage = (replacing["lineage"] or replacing["id"]) if replacing else document_id
    if replacing:
        # Who sees the document does not change with its text.
        entry = dataclasses.replace(
            entry,
            hidden_until=replacing["hidden_until"],
            hidden_from_representatives=replacing["hidden_from_representatives"],
        )
        acting = view.acting(
            Action.UPDATE,
            item=item_of(replacing),
            target_type="document",
            target_id=str(replacing["id"]),
        )
    else:
        item = Item(entry.category, entry.type, author=view.actor.account_id)
        acting = view.acting(
            Action.CREATE,
            entry.category,
            item,
            target_type="document",
            target_id=str(document_id),
        )
    async with acting:
        if replacing:
            superseded = (
                await Document.update({Document.superseded_at: view.now, Document.lineage: lineage})
                .where(
                    Document.id == replacing["id"],
                    Document.dossier == view.id,
                    Document.superseded_at.is_null(),
                )
                .returning(Document.id)
            )
            if not superseded:
                raise ControlError(
                    _("A newer version was added meanwhile: look at it before adding yours.")
                )
        sealer = await crypto.writing_sealer(view.id)
        await Document.insert(
            Document(
                **sealer.seal_row(
                    "document",
                    crypto.sealed_columns(Document),
                    document_id,
                    {
                        "title": entry.title,
                        "body": entry.body,
                        "file_name": entry.file_name,
                        "file_data": entry.file_data,
                    },
                ),
                id=document_id,
                dossier=view.id,
                category=entry.category,
                type=entry.type,
                care_date=entry.care_date,
                created_at=view.now,
                author=view.actor.account_id,
                author_name=view.trace_actor.name[:200],
                author_profession=view.trace_actor.profession or "",
                masked=replacing["masked"] if replacing else False,
                hidden_until=entry.hidden_until,
                hidden_from_representatives=entry.hidden_from_representatives,
                lineage=lineage,
                file_type=entry.file_type,
                file_size=len(entry.file_data or b""),
                submission=entry.submission,
                master_identifier=entry.master_identifier,
                submission_set=entry.submission_set,
            )
        )
        hidden = entry.hidden_until is not None and entry.hidden_until > view.now
        if not (replacing and hidden):  # a new version of what awaits: nothing new to say
            await _tell_of_deposit(view, document_id, entry, entry.hidden_until if hidden else None)
    return document_id


def _told(view: DossierView, hidden_from_representatives: bool) -> list[UUID]:
    """Who on the patient's side is told about a document, in a stable order."""
    accounts = set(patient_side_accounts(view.facts))
    if hidden_from_representatives:
        accounts -= view.facts.representatives
    return sorted(accounts, key=str)


def _patient_name(view: DossierView) -> str:
    return f"{view.patient['first_name']} {view.patient['last_name']}"


async def _tell_of_deposit(
    view: DossierView, document_id: UUID, entry: Entry, hidden_until: datetime | None
) -> None:
    """A document from someone else than the patient's side: the patient's side is told
    (that it awaits them, when it is hidden until announced)."""
    if view.actor.account_id in patient_side_accounts(view.facts):
        return
    for account_id in _told(view, entry.hidden_from_representatives):
        if hidden_until is None:
            await notify(
                account_id,
                NEW_DOCUMENT,
                link=page_of(view, document_id),
                dossier=view.id,
                who=view.trace_actor.name,
                patient=_patient_name(view),
                date=clock.day(view.now),
            )
        else:
            await notify(
                account_id,
                DOCUMENT_AWAITS,
                link=f"/dossiers/{view.id}",
                dossier=view.id,
                who=view.trace_actor.name,
                patient=_patient_name(view),
                date=clock.day(view.now),
                until=clock.day(hidden_until),
            )


async def resubmitted(view: DossierView, submission: UUID | None) -> UUID | None:
    """After a failed `store`: the document that the same form, sent twice at once, made."""
    try:
        return await submitted(view, submission)
    except Exception:  # the database is not answering: let the first error speak
        return None


async def _save(
    request: Request, view: DossierView, form: Any, replacing: dict | None = None
) -> Template | Redirect:
    """Check the form, save, and answer: the document's page, or the form with its errors."""
    entry, errors, status = await read_form(view, form, replacing)
    if entry is None:
        return _form_page(view, _values(form), errors, status, replacing)
    try:
        document_id = await store(view, entry, replacing)
    except ControlError as error:
        values = {**_values(form), "submission": str(uuid4())}
        return _form_page(view, values, {"document-form": str(error)}, 409, replacing)
    except Exception:
        # Two copies of the form sent at the same moment: the unique submission lets one
        # through; the other finds its document.
        existing = await resubmitted(view, entry.submission)
        if existing is None:
            raise
        return see_other(page_of(view, existing))
    if replacing:
        flash(
            request,
            _("The new version replaces the previous one, which stays in the document's history."),
            "success",
        )
    elif entry.hidden_until:
        flash(
            request,
            _(
                "The document is added. The patient is told that a document awaits them, and "
                "sees it when you announce it, or on %(date)s at the latest."
            )
            % {"date": clock.day(entry.hidden_until)},
            "success",
        )
    else:
        flash(request, _("The document is added to the record."), "success")
    return see_other(page_of(view, document_id))


# --- routes ---------------------------------------------------------------------------------


async def _may_write_somewhere(view: DossierView) -> None:
    """Refuse (traced) the deposit form to whoever may add nothing to this dossier."""
    if not view.writable_categories():
        await view.require(Action.CREATE, target_type="document")


async def replaceable(view: DossierView, document_id: UUID) -> dict:
    """The current version of a document the asker may replace; a refusal is traced."""
    current = await current_version(view, document_id)
    decision = view.decide(Action.UPDATE, item=item_of(current))
    if not decision.allowed:
        await view.trace(Action.UPDATE, decision, "document", str(current["id"]))
        raise refusal(decision)
    return current


@get("/dossiers/{dossier_id:uuid}/documents/new", guards=[signed_in])
async def deposit_form(
    request: Request, dossier_id: FromPath[UUID], replaces: FromQuery[UUID | None] = None
) -> Template:
    """The form to add a document or, with ``replaces``, a new version of one."""
    view = await open_dossier(request, dossier_id)
    values = {**_values({}), "submission": str(uuid4()), "hidden_days": str(DEFAULT_HIDDEN_DAYS)}
    if replaces is None:
        await _may_write_somewhere(view)
        await view.require(Action.VIEW, target_type="dossier")
        return _form_page(view, values)
    current = await replaceable(view, replaces)
    await view.require(
        Action.VIEW, item=item_of(current), target_type="document", target_id=str(current["id"])
    )
    values.update(
        title=current["title"], care_date=current["care_date"].isoformat(), body=current["body"]
    )
    return _form_page(view, values, replacing=current)


@post(
    "/dossiers/{dossier_id:uuid}/documents/new",
    guards=[signed_in],
    request_max_body_size=MAX_REQUEST_SIZE,
)
async def deposit(request: Request, dossier_id: FromPath[UUID]) -> Template | Redirect:
    view = await open_dossier(request, dossier_id)
    await _may_write_somewhere(view)
    form = await request.form()
    existing = await submitted(view, _submission(_text(form, "submission")))
    if existing:
        return see_other(page_of(view, existing))
    return await _save(request, view, form)


@post(
    "/dossiers/{dossier_id:uuid}/documents/{document_id:uuid}/new-version",
    guards=[signed_in],
    request_max_body_size=MAX_REQUEST_SIZE,
)
async def new_version(
    request: Request, dossier_id: FromPath[UUID], document_id: FromPath[UUID]
) -> Template | Redirect:
    view = await open_dossier(request, dossier_id)
    current = await replaceable(view, document_id)
    form = await request.form()
    existing = await submitted(view, _submission(_text(form, "submission")))
    if existing:
        return see_other(page_of(view, existing))
    if current["id"] != document_id:
        values = {**_values(form), "submission": str(uuid4())}
        error = _("A newer version was added meanwhile: look at it before adding yours.")
        return _form_page(view, values, {"document-form": error}, 409, current)
    return await _save(request, view, form, current)


@get(
    "/dossiers/{dossier_id:uuid}/documents/{document_id:uuid}/file",
    guards=[signed_in],
    skip_compression=True,
)
async def download(
    request: Request, dossier_id: FromPath[UUID], document_id: FromPath[UUID]
) -> Response:
    """The document's file (or, for a document without one, its text) as an attachment."""
    view = await open_dossier(request, dossier_id)
    document, _current, _versions = await read_document(
        view, document_id, Action.DOWNLOAD, with_file=True
    )
    content, content_type, name, extension = content_of(document)
    return Response(
        content,
        media_type=content_type,
        headers={
            "content-disposition": attachment(name, extension),
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


def content_of(document: dict) -> tuple[bytes, str, str, str]:
    """What downloading a document (read with its file) gives: its file, or its text; as
    (content, content type, name, extension)."""
    if document["file_data"] is not None:
        content_type = document["file_type"]
        extension = _EXTENSIONS.get(content_type, "bin")
        return bytes(document["file_data"]), content_type, document["file_name"], extension
    content = f"{document['title']}\n\n{document['body']}\n".encode()
    return content, "text/plain", document["title"], "txt"


def attachment(name: str, extension: str) -> str:
    """A Content-Disposition that saves the file under its name with the extension of what it
    really is: plain ASCII for every browser, and the name in UTF-8 for those that read it."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = re.sub(r'[\x00-\x1f\x7f"\\/:*?<>|;]+', " ", stem).strip(" .")[:100] or "document"
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_stem).strip("._") or "document"
    return (
        f'attachment; filename="{ascii_stem}.{extension}"; '
        f"filename*=UTF-8''{quote(f'{stem}.{extension}', safe='')}"
    )


async def _change(
    request: Request,
    dossier_id: UUID,
    document_id: UUID,
    change: str,
) -> Redirect:
    """The author's changes to who sees a document: announce it to the patient now, or show
    it to the representatives (for good)."""
    view = await open_dossier(request, dossier_id)
    document = await current_version(view, document_id)
    lineage = document["lineage"] or document["id"]
    try:
        async with view.acting(
            Act.HIDE, item=item_of(document), target_type="document", target_id=str(document["id"])
        ):
            in_lineage = ((Document.lineage == lineage) | (Document.id == lineage)) & (
                Document.dossier == view.id
            )
            if change == "announce":
                hidden_until = document["hidden_until"]
                if hidden_until is None or hidden_until <= view.now:
                    raise ControlError(_("The patient already sees this document."))
                await Document.update({Document.hidden_until: None}).where(in_lineage)
                await _tell_of_release(view, document)
            else:
                if not document["hidden_from_representatives"]:
                    raise ControlError(_("The legal representatives already see this document."))
                await Document.update({Document.hidden_from_representatives: False}).where(
                    in_lineage
                )
    except ControlError as error:
        flash(request, str(error), "error")
    else:
        flash(
            request,
            _("The patient can now read the document, and is told.")
            if change == "announce"
            else _("The legal representatives can now read the document."),
            "success",
        )
    return see_other(page_of(view, document["id"]))


async def _tell_of_release(view: DossierView, document: dict) -> None:
    for account_id in _told(view, document["hidden_from_representatives"]):
        await notify(
            account_id,
            DOCUMENT_RELEASED,
            link=page_of(view, document["id"]),
            dossier=view.id,
            who=view.trace_actor.name,
            patient=_patient_name(view),
            date=clock.day(view.now),
        )


@post("/dossiers/{dossier_id:uuid}/documents/{document_id:uuid}/announce", guards=[signed_in])
async def announce(
    request: Request, dossier_id: FromPath[UUID], document_id: FromPath[UUID]
) -> Redirect:
    return await _change(request, dossier_id, document_id, "announce")


@post(
    "/dossiers/{dossier_id:uuid}/documents/{document_id:uuid}/show-to-representatives",
    guards=[signed_in],
)
async def show_to_representatives(
    request: Request, dossier_id: FromPath[UUID], document_id: FromPath[UUID]
) -> Redirect:
    return await _change(request, dossier_id, document_id, "show")


ROUTES = [deposit_form, deposit, new_version, download, announce, show_to_representatives]
