"""The insurer's import of reimbursement data: an insurer agent sends a CSV file of reimbursed
care (the format is in docs/reimbursements.md), and each good line becomes a document of the
``remboursement`` category in the dossier of the patient whose NIR it carries.

- Each line is checked on its own: a bad line is reported with its number and why, and the
  good lines are kept. A file that cannot be read at all (not UTF-8, not CSV, no header, empty,
  too large) is refused whole, and nothing is imported.
- Importing the same line twice adds nothing: each line has a submission id computed from
  its content (`Care.submission`), checked before the insert; the unique index on
  ``document.submission`` is the last guard when two imports run at once.
- Every line goes through the policy (`portal.access.policy._for_insurer`): decided and
  traced in the dossier's audit chain in the same write transaction as the document it adds.
- The agent never learns anything about a patient: an unknown NIR and a closed dossier get
  the same answer, and the answer shows counts and the bad lines only, never a name nor the
  title of a document already in a dossier.
- The patient's side is told once per dossier and import that reimbursements were added.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any
from uuid import UUID, uuid4, uuid5

from babel.numbers import format_decimal
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.response import Template

from portal import clock, crypto, db, i18n
from portal.access import role_in
from portal.access.policy import patient_side_accounts
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.dossiers.documents import (
    FURTHEST_TIMEZONE,
    NEW_DOCUMENT,
    parse_care_date,
    submitted,
)
from portal.dossiers.tables import Document, Dossier
from portal.i18n import gettext as _
from portal.identity.numbers import InvalidNumber, validate_nir
from portal.identity.tables import Role
from portal.notifications import notify
from portal.web import error_response, request_language

CATEGORY = "remboursement"
#: The columns of the file, in this order, named by its first line (docs/reimbursements.md).
COLUMNS = ("nir", "date_soins", "acte", "professionnel", "montant", "rembourse")
SEPARATOR = ";"  # what French spreadsheets use in a CSV, the comma being the decimal one
MAX_FILE_SIZE = 2 * 1024 * 1024
MAX_LINES = 5_000
#: What the import form may weigh: the file and room for the other fields. Beyond it the
#: request is refused before it is read (413, `_too_large`).
MAX_REQUEST_SIZE = MAX_FILE_SIZE + 64 * 1024
TEXT_MAX_LENGTH = 120
MAX_AMOUNT = Decimal("999999.99")
#: An amount in euros: digits, then a comma or a dot and one or two decimals.
AMOUNT = re.compile(r"^\d+(?:[.,]\d{1,2})?$")
#: What may separate thousands in an amount: spaces, including the non-breaking ones.
THOUSANDS = re.compile(r"[\s\u00a0\u202f]")
#: Who the documents come from, as their readers see them. A label rather than the agent's
#: name: the document is the insurer's data (the reimbursement system's records), not
#: something the agent wrote or vouches for, and the médecins who read it have no use for the
#: name of the office employee who ran the import. The agent stays identified where it
#: matters: as the document's author account and in the audit trail the patient reads.
AUTHOR_NAME = "Assurance Maladie (import)"
#: The namespace of the submission ids of imported lines. Never change it: the lines imported
#: before would no longer be recognised, and importing them again would add them twice.
NAMESPACE = UUID("37415c89-3215-4b91-982e-b2383400e4f5")
#: Lines added per write transaction.
BATCH_SIZE = 100

insurer_agents = role_in(Role.INSURER_AGENT)


class Unreadable(Exception):
    """The file cannot be imported at all; the message, translated, says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Care:
    """One reimbursed care, as a good line of the file gives it (normalised)."""

    nir: str
    care_date: date
    act: str
    professional: str
    amount: Decimal
    reimbursed: Decimal

    @cached_property
    def submission(self) -> UUID:
        """The same for the same line, whichever file, layout or spelling of the amounts
        brings it: importing it again is recognised."""
        key = "\x1f".join(
            (
                self.nir,
                self.care_date.isoformat(),
                self.act,
                self.professional,
                f"{self.amount:.2f}",
                f"{self.reimbursed:.2f}",
            )
        )
        return uuid5(NAMESPACE, key)


@dataclass(frozen=True)
class BadLine:
    number: int
    #: (column, what is wrong with it); the column is "" when the whole line is wrong.
    problems: tuple[tuple[str, str], ...]


@dataclass
class Report:
    imported: int = 0
    already: int = 0
    bad: list[BadLine] = field(default_factory=list)


# --- reading the file -----------------------------------------------------------------------


def _limits_message() -> str:
    return _(
        "A reimbursement file can be %(size)s MB and %(lines)s lines at most: split it into "
        "smaller files."
    ) % {
        "size": MAX_FILE_SIZE // (1024 * 1024),
        "lines": format_decimal(MAX_LINES, locale=i18n.current_language()),
    }


def read_rows(data: bytes) -> list[tuple[int, list[str]]]:
    """The lines of the file after its header, each with its number in the file (the header
    is line 1), blank lines left out; `Unreadable` when the file cannot be imported."""
    if len(data) > MAX_FILE_SIZE:
        raise Unreadable(_limits_message(), 413)
    try:
        text = data.decode("utf-8-sig")  # with or without the BOM spreadsheets write
    except UnicodeDecodeError:
        raise Unreadable(
            _(
                "This file is not UTF-8 text. Save it from the spreadsheet as “CSV UTF-8”, "
                "with semicolons between the columns."
            )
        ) from None
    if not text.strip():
        raise Unreadable(_("This file is empty."))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=SEPARATOR)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    line = 1
    try:
        for cells in reader:
            number, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip() for cell in cells]
                if header != list(COLUMNS):
                    raise Unreadable(
                        _("The first line must name the columns, exactly: %(header)s")
                        % {"header": SEPARATOR.join(COLUMNS)}
                    )
                continue
            rows.append((number, cells))
            if len(rows) > MAX_LINES:
                raise Unreadable(_limits_message(), 413)
    except csv.Error:
        raise Unreadable(
            _("This file could not be read as CSV, near line %(line)s.") % {"line": line}
        ) from None
    if not rows:
        raise Unreadable(_("This file has no line after its header: nothing to import."))
    return rows


def _text(value: str, column: str, problems: list[tuple[str, str]]) -> str:
    """A text column, its spaces collapsed and its accents in one form (the same words
    written by another program are the same line)."""
    text = unicodedata.normalize("NFC", " ".join(value.split()))
    if not text:
        problems.append((column, _("This column is empty.")))
    elif len(text) > TEXT_MAX_LENGTH:
        problems.append(
            (
                column,
                _("This text can be %(count)s characters long at most.")
                % {"count": TEXT_MAX_LENGTH},
            )
        )
    return text


def parse_amount(value: str) -> tuple[Decimal | None, str]:
    """An amount in euros as a spreadsheet writes it (25,00 or 25.00, 1 234,56), or why it
    cannot be one."""
    compact = THOUSANDS.sub("", value).removesuffix("€")
    if compact.startswith("-"):
        return None, _("An amount cannot be negative.")
    if not AMOUNT.match(compact):
        return None, _("Write an amount in euros, such as 25,00 or 25.00.")
    try:
        amount = Decimal(compact.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern lets only numbers through
        return None, _("Write an amount in euros, such as 25,00 or 25.00.")
    if amount > MAX_AMOUNT:
        return None, _("This amount is too large for one care.")
    return amount.quantize(Decimal("0.01")), ""


def parse_line(cells: list[str], today: date) -> tuple[Care | None, tuple[tuple[str, str], ...]]:
    """The care a line describes, or what is wrong with it (every problem of the line)."""
    if len(cells) != len(COLUMNS):
        problem = _("This line has %(found)s columns instead of %(expected)s.") % {
            "found": len(cells),
            "expected": len(COLUMNS),
        }
        return None, (("", problem),)
    values = dict(zip(COLUMNS, cells, strict=True))
    problems: list[tuple[str, str]] = []
    nir = ""
    try:
        nir = validate_nir(values["nir"])
    except InvalidNumber as error:
        problems.append(("nir", str(error)))
    care_date, problem = parse_care_date(values["date_soins"], today)
    if problem:
        problems.append(("date_soins", problem))
    act = _text(values["acte"], "acte", problems)
    professional = _text(values["professionnel"], "professionnel", problems)
    amount, problem = parse_amount(values["montant"])
    if problem:
        problems.append(("montant", problem))
    reimbursed, problem = parse_amount(values["rembourse"])
    if problem:
        problems.append(("rembourse", problem))
    if amount is not None and reimbursed is not None and reimbursed > amount:
        problems.append(
            ("rembourse", _("The amount reimbursed cannot be more than the amount of the care."))
        )
    if problems or care_date is None or amount is None or reimbursed is None:
        return None, tuple(problems)
    return Care(nir, care_date, act, professional, amount, reimbursed), ()


# --- the documents --------------------------------------------------------------------------


def euros(amount: Decimal) -> str:
    """An amount as the reader's language writes it (25,00 in French, 25.00 in English)."""
    return format_decimal(amount, format="#,##0.00", locale=i18n.current_language())


def title_of(care: Care) -> str:
    return _("%(act)s — €%(reimbursed)s reimbursed of €%(amount)s") % {
        "act": care.act,
        "reimbursed": euros(care.reimbursed),
        "amount": euros(care.amount),
    }


def body_of(care: Care, today: date) -> str:
    lines = (
        _("Reimbursement data of the health insurance, imported on %(date)s.")
        % {"date": clock.day(today)},
        "",
        _("Date of care: %(date)s") % {"date": clock.day(care.care_date)},
        _("Care: %(act)s") % {"act": care.act},
        _("Professional: %(professional)s") % {"professional": care.professional},
        _("Amount: €%(amount)s") % {"amount": euros(care.amount)},
        _("Reimbursed: €%(amount)s") % {"amount": euros(care.reimbursed)},
    )
    return "\n".join(lines)


def no_record() -> tuple[tuple[str, str], ...]:
    """The one answer for an unknown NIR and a dossier that cannot take the line (closed):
    nothing tells the one from the other."""
    return (("nir", _("No open record for this social security number.")),)


@dataclass
class Batch:
    """What a batch of lines does, in one write transaction."""

    report: Report = field(default_factory=Report)
    #: The submissions of the batch's lines that made a document already.
    present: set[UUID] = field(default_factory=set)
    documents: list[Document] = field(default_factory=list)
    #: The dossiers whose patient's side was told.
    told: set[UUID] = field(default_factory=set)


class Importer:
    """One import. The good lines are added by batches, each in one write transaction (on
    SQLite every commit waits for the disk: one per line would make a large file take
    minutes); a batch that fails (the same line added by another import at the same moment)
    is rolled back whole and its lines added one at a time. What the import learnt of the
    dossiers (a NIR's dossier, its view) is kept for the length of the request, as every page
    keeps what it loaded."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.dossiers: dict[str, UUID | None] = {}
        self.views: dict[UUID, DossierView] = {}
        self.told: set[UUID] = set()
        self.report = Report()

    async def run(self, rows: list[tuple[int, list[str]]], today: date) -> Report:
        good: list[tuple[int, Care]] = []
        for number, cells in rows:
            care, problems = parse_line(cells, today)
            if care is None:
                self.report.bad.append(BadLine(number, problems))
            else:
                good.append((number, care))
        for start in range(0, len(good), BATCH_SIZE):
            batch = good[start : start + BATCH_SIZE]
            # What needs no lock is loaded before the write transaction.
            for _number, care in batch:
                await self._load(care.nir)
            await self._batch(batch)
        self.report.bad.sort(key=lambda line: line.number)
        return self.report

    async def _load(self, nir: str) -> None:
        """The dossier of ``nir`` and its view, once per import: none when the import may not
        add to it (a closed dossier: the attempt is traced)."""
        if nir in self.dossiers:
            return
        row = await Dossier.select(Dossier.id).where(Dossier.patient.nir == nir).first()
        self.dossiers[nir] = row["id"] if row else None
        if row and row["id"] not in self.views:
            with contextlib.suppress(NotFoundException, PermissionDeniedException):
                self.views[row["id"]] = await open_dossier(
                    self.request, row["id"], Action.CREATE, CATEGORY, target_type="document"
                )

    async def _batch(self, lines: list[tuple[int, Care]]) -> None:
        batch = Batch()
        try:
            async with db.current().write_transaction():
                batch.present = await _imported(care.submission for _number, care in lines)
                for number, care in lines:
                    problems = await self._add(care, batch)
                    if problems:
                        batch.report.bad.append(BadLine(number, problems))
                if batch.documents:
                    await Document.insert(*batch.documents)
        except Exception:
            if len(lines) > 1:
                for line in lines:
                    await self._batch([line])
                return
            # The same line added at the same moment by another import: the unique
            # submission lets one through.
            [(_number, care)] = lines
            view = self.views.get(self.dossiers.get(care.nir))
            if view is None or not await _is_imported(view, care.submission):
                raise
            self.report.already += 1
            return
        self.report.imported += len(batch.documents)
        self.report.already += batch.report.already
        self.report.bad.extend(batch.report.bad)
        self.told |= batch.told

    async def _add(self, care: Care, batch: Batch) -> tuple[tuple[str, str], ...]:
        """Inside the batch's write transaction: decide on the line and trace the decision;
        the document to add, in ``batch``, unless it is there already; the problems of the
        line when it cannot be added."""
        dossier_id = self.dossiers[care.nir]
        view = self.views.get(dossier_id)
        if view is None:  # no dossier, or one it may not add to
            return no_record()
        if care.submission in batch.present:
            batch.report.already += 1
            return ()
        document_id = uuid4()
        # Decided and traced in the batch's transaction, which inserts the documents at its
        # end: committed together, or rolled back together.
        async with view.acting(
            Action.CREATE, CATEGORY, target_type="document", target_id=str(document_id)
        ):
            batch.documents.append(await _document(view, document_id, care))
            batch.present.add(care.submission)
            if dossier_id not in self.told and dossier_id not in batch.told:
                await self._tell(view)
                batch.told.add(dossier_id)
        return ()

    @staticmethod
    async def _tell(view: DossierView) -> None:
        """Tell the patient's side, once per import, that reimbursements were added."""
        patient = f"{view.patient['first_name']} {view.patient['last_name']}"
        for account_id in sorted(patient_side_accounts(view.facts), key=str):
            await notify(
                account_id,
                NEW_DOCUMENT,
                link=f"/dossiers/{view.id}/documents?category={CATEGORY}",
                dossier=view.id,
                who=AUTHOR_NAME,
                patient=patient,
                date=clock.day(view.now),
            )


async def _document(view: DossierView, document_id: UUID, care: Care) -> Document:
    """The document of one line, its content sealed (inside the write transaction)."""
    sealer = await crypto.writing_sealer(view.id)
    content = {"title": title_of(care)[:200], "body": body_of(care, view.now.date())}
    return Document(
        **sealer.seal_row("document", crypto.sealed_columns(Document), document_id, content),
        id=document_id,
        dossier=view.id,
        category=CATEGORY,
        type="",
        care_date=care.care_date,
        created_at=view.now,
        author=view.actor.account_id,
        author_name=AUTHOR_NAME,
        author_profession="",
        lineage=document_id,
        submission=care.submission,
    )


async def _imported(submissions: Iterable[UUID]) -> set[UUID]:
    """Those of ``submissions`` that made a document already (the submission is unique: a
    line's NIR is in it, so it is in the dossier of that NIR)."""
    wanted = list(set(submissions))
    rows = await Document.select(Document.submission).where(Document.submission.is_in(wanted))
    return {row["submission"] for row in rows}


async def _is_imported(view: DossierView, submission: UUID) -> bool:
    """After a failed insert: whether another import added the line meanwhile."""
    try:
        return await submitted(view, submission) is not None
    except Exception:  # the database is not answering: let the first error speak
        return False


# --- routes ---------------------------------------------------------------------------------


def _page(
    report: Report | None = None, error: str = "", status: int = 200, file_name: str = ""
) -> Template:
    return Template(
        "dossiers/reimbursements_import.html",
        context={
            "report": report,
            "error": error,
            "file_name": file_name,
            "header": SEPARATOR.join(COLUMNS),
            "max_megabytes": MAX_FILE_SIZE // (1024 * 1024),
            "max_lines": format_decimal(MAX_LINES, locale=i18n.current_language()),
        },
        status_code=status,
    )


def _too_large(request: Request, exc: Exception) -> Response:
    """A file far beyond the limit, refused before it is read: the error page says what the
    limits of a reimbursement file are (the general one speaks of documents)."""
    token = i18n.set_language(request_language(request.app.state.settings, request.scope))
    try:
        message = _limits_message()
    finally:
        i18n.reset_language(token)
    return error_response(request, HTTPException(status_code=413, detail=message))


@get("/reimbursements/import", guards=[insurer_agents])
async def import_form() -> Template:
    return _page()


@post(
    "/reimbursements/import",
    guards=[insurer_agents],
    request_max_body_size=MAX_REQUEST_SIZE,
    exception_handlers={413: _too_large},
)
async def import_file(request: Request) -> Template:
    form = await request.form()
    upload: Any = form.get("file")
    if not isinstance(upload, UploadFile) or not (upload.filename or "").strip():
        return _page(error=_("Choose the CSV file to import."), status=400)
    data = await upload.read()
    name = " ".join(upload.filename.split())[:200]
    try:
        rows = read_rows(data)
    except Unreadable as problem:
        return _page(error=problem.message, status=problem.status, file_name=name)
    importer = Importer(request)
    # The latest date of care a line may have: today somewhere in France's territories.
    report = await importer.run(rows, (clock.now() + FURTHEST_TIMEZONE).date())
    return _page(report, file_name=name)


ROUTES = [import_form, import_file]
