"""The medical summary (volet de synthèse médicale): what every professional should know of the
patient at a glance, written by the médecin traitant, read by the patient and the professionals
whose profession reads summaries.

- The sections are data (`SECTIONS`): lists of lines (one item a line), the allergies and
  intolerances (substance, reaction, severity), and free notes.
- Every save adds a `SummaryVersion` holding every section, numbered from 1, so nothing saved
  is ever lost; the versions page shows, for each version, the lines added and removed.
- The médecin traitant edits one section at a time, inline with htmx (the form replaces the
  section, the saved section replaces the form) or, without JavaScript, on a page of its own.
  The form carries the number of the version it was based on: when another version was saved
  since, it is refused (409) and the typed text is shown back with the section as it is now.
- The patient's side flags a line it says is wrong; the médecin traitant is told, sees the
  open flags on the summary and marks each one handled. The policy decides who flags
  (`Act.FLAG`: the patient's side, on an open dossier).
- `remind_outdated()` tells each médecin traitant of the summaries over a year old.

Who may do what is decided by `portal.access.policy` (`SUMMARY`, `Act.FLAG`), never here;
each decision is traced, and each page that shows the summary traces one read.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal import clock, crypto, db
from portal.access import signed_in
from portal.access.policy import SUMMARY, Act, Item
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.dossiers.tables import Dossier, DossierStatus, SummaryFlag, SummaryVersion
from portal.i18n import gettext as _
from portal.i18n import gettext_lazy
from portal.notifications import NotificationKind, declare, notify
from portal.notifications.tables import Notification
from portal.pdf import render_pdf
from portal.web import flash, is_htmx, see_other

Form = URLEncodedBody[dict[str, Any]]

#: How a section is kept and edited.
LINES = "lines"  # a list of strings, one a line of a textarea
ALLERGIES = "allergies"  # a list of {substance, reaction, severity}, one a row of fields
TEXT = "text"  # free text

MAX_LINE = 300  # characters in a line, a substance or a reaction
MAX_LINES = 100  # lines (or allergies) in a section
MAX_TEXT = 5000  # characters of the notes
MAX_NOTE = 1000  # characters of the patient's note on a flag
#: The longest text a section's form shows back: longer than a section accepts (its lines and
#: their line breaks), so a text cut when shown back is refused again, never saved.
MAX_SHOWN = MAX_LINES * (MAX_LINE + 1)
EXTRA_ROWS = 1  # empty allergy rows offered after the existing ones (and "Add an allergy")
OUTDATED_AFTER = timedelta(days=365)
REMIND_AGAIN_AFTER = timedelta(days=30)
VERSIONS_PAGE_SIZE = 20


@dataclass(frozen=True)
class Section:
    key: str
    label: Any  # a lazy string
    kind: str = LINES
    hint: Any = ""  # a lazy string, shown under the field


#: In the order every page and PDF shows them: what a professional must know first, first
#: (as the dossier's overview does).
SECTIONS = (
    Section("allergies", gettext_lazy("Allergies and intolerances"), ALLERGIES),
    Section(
        "treatments",
        gettext_lazy("Long-term treatments"),
        hint=gettext_lazy("One treatment a line, with its dose."),
    ),
    Section("problems", gettext_lazy("Active problems"), hint=gettext_lazy("Those followed now.")),
    Section("medical_history", gettext_lazy("Medical history")),
    Section("surgical_history", gettext_lazy("Surgical history")),
    Section("family_history", gettext_lazy("Family history")),
    Section("risk_factors", gettext_lazy("Risk factors")),
    Section("notes", gettext_lazy("Notes"), TEXT),
)
SECTION_BY_KEY = {section.key: section for section in SECTIONS}
#: The severities of an allergy ("" when it is not known).
SEVERITIES = {
    "legere": gettext_lazy("mild"),
    "moderee": gettext_lazy("moderate"),
    "severe": gettext_lazy("severe"),
}
#: What the policy decides on: the summary, written by no author but the médecin traitant.
SUMMARY_ITEM = Item(*SUMMARY, author=None)
PDF_TEMPLATE = "pdf/summary.html"

SUMMARY_FLAG = declare(
    NotificationKind(
        key="summary_flag",
        title=gettext_lazy("A line of a medical summary is reported as wrong"),
        body=gettext_lazy(
            "%(who)s reports that a line of the medical summary of %(patient)s is wrong. "
            "Open the summary to read the line and their note, and mark the report handled "
            "once the summary is right."
        ),
    )
)
SUMMARY_OUTDATED = declare(
    NotificationKind(
        key="summary_outdated",
        title=gettext_lazy("A medical summary is more than a year old"),
        body=gettext_lazy(
            "The medical summary of %(patient)s was last updated on %(date)s. Review it with "
            "the patient at their next visit."
        ),
    )
)


# --- the sections as data -------------------------------------------------------------------


def section_of(key: str) -> Section:
    """The section named ``key``; 404 for any other key."""
    section = SECTION_BY_KEY.get(key)
    if section is None:
        raise NotFoundException()
    return section


def normalised(sections: Any) -> dict[str, Any]:
    """Every section, with its kind of value, whatever a stored version holds."""
    stored = sections if isinstance(sections, dict) else {}
    result = {}
    for section in SECTIONS:
        value = stored.get(section.key)
        if section.kind == TEXT:
            result[section.key] = value if isinstance(value, str) else ""
        elif section.kind == ALLERGIES:
            result[section.key] = [
                {
                    "substance": str(item.get("substance", "")),
                    "reaction": str(item.get("reaction", "")),
                    "severity": str(item.get("severity", "")),
                }
                for item in (value if isinstance(value, list) else [])
                if isinstance(item, dict)
            ]
        else:
            result[section.key] = [str(line) for line in (value if isinstance(value, list) else [])]
    return result


def allergy_text(allergy: dict[str, str]) -> str:
    """An allergy as one line, "pénicilline (urticaire, modérée)", in the reader's language."""
    details = [allergy["reaction"]] if allergy.get("reaction") else []
    if allergy.get("severity") in SEVERITIES:
        details.append(str(SEVERITIES[allergy["severity"]]))
    return f"{allergy['substance']} ({', '.join(details)})" if details else allergy["substance"]


def lines_of(section: Section, value: Any) -> list[str]:
    """The section as lines of text: what is shown, flagged and compared between versions."""
    if section.kind == TEXT:
        return [line.strip() for line in value.splitlines() if line.strip()]
    if section.kind == ALLERGIES:
        return [allergy_text(allergy) for allergy in value]
    return list(value)


# --- reading what the médecin traitant typed ------------------------------------------------


@dataclass
class Typed:
    """A section's form as sent: the value to save, the errors, and what to show back."""

    value: Any
    errors: dict[str, str]
    shown: Any  # the text of a textarea, or the allergy rows as typed
    blank_rows: int = 0  # the allergy rows sent empty


def _too_long(length: int) -> str:
    return _("%(length)s characters: at most %(max)s are allowed.") % {
        "length": length,
        "max": MAX_LINE,
    }


#: Control characters, but for the line break and the tab: nothing a person types, and
#: PostgreSQL refuses the NUL character in text.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def form_text(data: dict[str, Any], name: str) -> str:
    """A field of the form as text, its line breaks as ``\\n``, without control characters."""
    text = str(data.get(name) or "").replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL.sub("", text)


def read_form(section: Section, data: dict[str, Any]) -> Typed:
    """The section's new value from the form; empty lines and rows are dropped."""
    if section.kind == ALLERGIES:
        return _read_allergies(data)
    text = form_text(data, section.key)
    errors = {}
    if section.kind == TEXT:
        value = text.strip()
        if len(value) > MAX_TEXT:
            errors[section.key] = _(
                "The notes are %(length)s characters long: at most %(max)s are allowed."
            ) % {"length": len(value), "max": MAX_TEXT}
        return Typed(value, errors, text)
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    long_ones = [number for number, line in enumerate(lines, 1) if len(line) > MAX_LINE]
    if long_ones:
        errors[section.key] = _(
            "Line %(number)s is %(length)s characters long: at most %(max)s are allowed. "
            "Shorten it, or split it into two lines."
        ) % {"number": long_ones[0], "length": len(lines[long_ones[0] - 1]), "max": MAX_LINE}
    elif len(lines) > MAX_LINES:
        errors[section.key] = _("%(count)s lines: at most %(max)s are allowed.") % {
            "count": len(lines),
            "max": MAX_LINES,
        }
    return Typed(lines, errors, text)


ROW_FIELD = re.compile(r"^(substance|reaction|severity)-(\d{1,3})$")


def _read_allergies(data: dict[str, Any]) -> Typed:
    indices = sorted(
        {int(match.group(2)) for name in data if (match := ROW_FIELD.match(str(name)))}
    )
    rows, value, errors, blank_rows = [], [], {}, 0
    for index in indices[: MAX_LINES + EXTRA_ROWS]:
        row = {
            name: " ".join(form_text(data, f"{name}-{index}").split())
            for name in ("substance", "reaction", "severity")
        }
        if not any(row.values()):
            blank_rows += 1
            continue  # an empty row: dropped
        number = len(rows)
        rows.append(row)
        if not row["substance"]:
            errors[f"substance-{number}"] = _(
                "Name the substance, or empty the whole row to leave it out."
            )
        elif len(row["substance"]) > MAX_LINE:
            errors[f"substance-{number}"] = _too_long(len(row["substance"]))
        if len(row["reaction"]) > MAX_LINE:
            errors[f"reaction-{number}"] = _too_long(len(row["reaction"]))
        if row["severity"] and row["severity"] not in SEVERITIES:
            errors[f"severity-{number}"] = _(
                "Unknown severity: choose mild, moderate or severe, or leave it unspecified."
            )
            row["severity"] = ""
        value.append(row)
    if len(rows) > MAX_LINES:
        errors["substance-0"] = _("%(count)s lines: at most %(max)s are allowed.") % {
            "count": len(rows),
            "max": MAX_LINES,
        }
    return Typed(value, errors, rows, blank_rows)


def field_labels(section: Section, rows: int = 0) -> dict[str, str]:
    """The name of each field of the section's form, for the error summary."""
    if section.kind != ALLERGIES:
        return {section.key: str(section.label)}
    labels = {}
    for index in range(rows):
        number = {"number": index + 1}
        labels[f"substance-{index}"] = _("Allergy %(number)s, substance") % number
        labels[f"reaction-{index}"] = _("Allergy %(number)s, reaction") % number
        labels[f"severity-{index}"] = _("Allergy %(number)s, severity") % number
    return labels


# --- versions -------------------------------------------------------------------------------


async def opened_versions(dossier_id: UUID, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Versions with their sections opened (`portal.crypto`) and complete: sealed, the
    sections are one JSON text; a version that does not open shows no line (and is traced)."""
    await crypto.opened(dossier_id, SummaryVersion, rows)
    for row in rows:
        if isinstance(row["sections"], str):
            try:
                row["sections"] = json.loads(row["sections"])
            except ValueError:
                row["sections"] = {}
        row["sections"] = normalised(row["sections"])
    return rows


def sealed_sections(sealer: crypto.Sealer, version_id: UUID, sections: dict[str, Any]) -> str:
    """A version's sections as stored: one JSON text, sealed, as a JSON string."""
    return json.dumps(sealer.seal("summary_version", "sections", version_id, json.dumps(sections)))


#: The latest version, written out once: every overview reads it.
_CURRENT = "SELECT * FROM summary_version WHERE dossier = {} ORDER BY number DESC LIMIT 1"


async def current(dossier_id: UUID) -> dict[str, Any] | None:
    """The latest version of the dossier's summary (None when there is none), its sections
    complete. It decides nothing: call it for a reader the policy let see the summary."""
    rows = await SummaryVersion.raw(_CURRENT, dossier_id)
    if not rows:
        return None
    row = rows[0]
    row["sections"] = json.loads(row["sections"])
    return (await opened_versions(dossier_id, [row]))[0]


async def _versions(dossier_id: UUID, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = (
        await SummaryVersion.select()
        .where(SummaryVersion.dossier == dossier_id)
        .order_by(SummaryVersion.number, ascending=False)
        .limit(limit)
        .offset(offset)
        .output(load_json=True)
    )
    return await opened_versions(dossier_id, rows)


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed from one version's sections to the next: for each section that changed,
    its lines added and removed (in the reader's language)."""
    result = []
    for section in SECTIONS:
        old = lines_of(section, before[section.key]) if before else []
        new = lines_of(section, after[section.key])
        old_count, new_count = Counter(old), Counter(new)
        added = [line for line in new if _take(new_count, old_count, line)]
        removed = [line for line in old if _take(old_count, Counter(new), line)]
        if added or removed:
            result.append({"section": section, "added": added, "removed": removed})
    return result


def _take(mine: Counter, theirs: Counter, line: str) -> bool:
    """Whether this occurrence of ``line`` is one more than the other side has."""
    if mine[line] > theirs[line]:
        mine[line] -= 1
        return True
    return False


def is_outdated(summary: dict[str, Any] | None, now: datetime) -> bool:
    return summary is not None and summary["created_at"] < now - OUTDATED_AFTER


# --- pages ----------------------------------------------------------------------------------


def _may_write(view: DossierView, summary: dict[str, Any] | None) -> bool:
    return view.may(Action.UPDATE if summary else Action.CREATE, item=SUMMARY_ITEM)


async def _opened(request: Request, dossier_id: UUID, target_id: str = "") -> DossierView:
    """The dossier, for someone who stands in it; a stranger's refusal is traced as a refused
    reading of the summary."""
    return await open_dossier(request, dossier_id, target_type="summary", target_id=target_id)


async def _read(view: DossierView, target_id: str = "") -> None:
    """Decide and trace one read of the summary (403 / 404 when refused)."""
    await view.require(Action.VIEW, item=SUMMARY_ITEM, target_type="summary", target_id=target_id)


async def _open_flags(view: DossierView, may_write: bool) -> list[dict[str, Any]]:
    """The lines reported as wrong and not yet handled, for the médecin traitant and the
    patient's side (nobody else sees them)."""
    if not (may_write or view.for_patient_side):
        return []
    flags = (
        await SummaryFlag.select(
            SummaryFlag.id,
            SummaryFlag.section,
            SummaryFlag.line,
            SummaryFlag.note,
            SummaryFlag.flagged_at,
            SummaryFlag.flagged_by.first_name.as_alias("first_name"),
            SummaryFlag.flagged_by.last_name.as_alias("last_name"),
        )
        .where(SummaryFlag.dossier == view.id, SummaryFlag.resolved_at.is_null())
        .order_by(SummaryFlag.flagged_at)
    )
    return await crypto.opened(view.id, SummaryFlag, flags)


async def _context(view: DossierView, **extra: Any) -> dict[str, Any]:
    summary = await current(view.id)
    may_write = _may_write(view, summary)
    flags = await _open_flags(view, may_write)
    content = summary["sections"] if summary else normalised({})
    return {
        "view": view,
        "summary": summary,
        "sections": SECTIONS,
        "content": content,
        "lines": {section.key: lines_of(section, content[section.key]) for section in SECTIONS},
        "may_write": may_write,
        "may_flag": summary is not None and view.may(Act.FLAG),
        "outdated": is_outdated(summary, view.now),
        "flags": flags,
        "flagged": {(flag["section"], flag["line"]) for flag in flags},
        "section_labels": {section.key: section.label for section in SECTIONS},
        "severities": SEVERITIES,
        "max_line": MAX_LINE,
        **extra,
    }


@get("/dossiers/{dossier_id:uuid}/summary", guards=[signed_in])
async def summary_page(request: Request, dossier_id: FromPath[UUID]) -> Template:
    """The whole summary, its version, and for the médecin traitant how to change it."""
    view = await _opened(request, dossier_id)
    await _read(view)
    return Template("dossiers/summary.html", context=await _context(view))


@get("/dossiers/{dossier_id:uuid}/summary.pdf", guards=[signed_in])
async def summary_pdf(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """The summary alone, ready to hand to a specialist."""
    view = await open_dossier(
        request, dossier_id, Action.PRINT, target_type="pdf", target_id=PDF_TEMPLATE
    )

    async def gather() -> dict[str, Any]:
        summary = await current(view.id)
        content = summary["sections"] if summary else normalised({})
        lines = {section.key: lines_of(section, content[section.key]) for section in SECTIONS}
        return {"summary": summary, "sections": SECTIONS, "lines": lines}

    return await render_pdf(
        request, view, PDF_TEMPLATE, gather, title=_("summary"), item=SUMMARY_ITEM
    )


def _form_context(
    context: dict[str, Any],
    section: Section,
    typed: Typed | None = None,
    *,
    extra_rows: int = EXTRA_ROWS,
    focus_row: int | None = None,
) -> dict[str, Any]:
    """What the section's form shows: the saved value, or what was typed; for the allergies,
    ``extra_rows`` empty rows after them. ``focus_row``: the row (or the text) that takes the
    focus."""
    value = context["content"][section.key]
    if typed is not None:
        shown = typed.shown
    elif section.kind == LINES:
        shown = "\n".join(value)
    elif section.kind == ALLERGIES:
        shown = [dict(row) for row in value]
    else:
        shown = value
    if section.kind == ALLERGIES:
        shown = [*shown, *({"substance": "", "reaction": "", "severity": ""},) * extra_rows]
    errors = typed.errors if typed else {}
    return {
        **context,
        "section": section,
        "shown": shown,
        "max_shown": MAX_SHOWN,
        "focus_row": focus_row,
        "errors": errors,
        "labels": field_labels(section, len(shown) if section.kind == ALLERGIES else 0),
        "based_on": context["summary"]["number"] if context["summary"] else 0,
        "hint": " ".join(
            str(part)
            for part in (
                section.hint,
                _("One item a line; empty lines are left out. At most %(max)s characters a line.")
                % {"max": MAX_LINE},
            )
            if part
        ),
    }


def _section_answer(
    request: Request, context: dict[str, Any], editing: bool, status: int = 200
) -> Template:
    """The section (its form when ``editing``): a fragment for htmx, else a page."""
    if is_htmx(request):
        fragment = "dossiers/_summary_form.html" if editing else "dossiers/_summary_section.html"
        return Template(fragment, context=context, status_code=status)
    return Template(
        "dossiers/summary_section.html",
        context={**context, "editing": editing},
        status_code=status,
    )


@get("/dossiers/{dossier_id:uuid}/summary/sections/{section:str}", guards=[signed_in])
async def section_page(
    request: Request, dossier_id: FromPath[UUID], section: FromPath[str]
) -> Template:
    """One section: its form for the médecin traitant, as it reads for everyone else."""
    chosen = section_of(section)
    view = await _opened(request, dossier_id, chosen.key)
    await _read(view, chosen.key)
    context = await _context(view)
    editing = context["may_write"]
    if editing:
        # Inline, the form takes the place of the link that opened it: it takes the focus too.
        context = _form_context(context, chosen, focus_row=0 if is_htmx(request) else None)
    else:
        context = {**context, "section": chosen}
    return _section_answer(request, context, editing)


class _Stale(Exception):
    """Another version was saved since the form was opened."""


@post("/dossiers/{dossier_id:uuid}/summary/sections/{section:str}", guards=[signed_in])
async def save_section(
    request: Request, dossier_id: FromPath[UUID], section: FromPath[str], data: Form
) -> Template | Redirect:
    """Save a new version with this section replaced (the others copied as they are)."""
    chosen = section_of(section)
    view = await _opened(request, dossier_id, chosen.key)
    latest = await current(dossier_id)
    action = Action.UPDATE if latest else Action.CREATE
    if not view.may(action, item=SUMMARY_ITEM):
        # Refused: traced, then answered 403 / 404, before anything of the form is read.
        await view.require(action, item=SUMMARY_ITEM, target_type="summary", target_id=chosen.key)
    typed = read_form(chosen, data)
    based_on = _number(data.get("based_on"))
    if chosen.kind == ALLERGIES and data.get("add"):
        # "Add an allergy": the form again, as typed, with one more empty row; nothing saved.
        await _read(view, chosen.key)
        context = _form_context(
            await _context(view),
            chosen,
            typed,
            extra_rows=min(typed.blank_rows + 1, MAX_LINES + EXTRA_ROWS - len(typed.shown)),
            focus_row=len(typed.shown) + typed.blank_rows,
        )
        return _section_answer(request, context, editing=True)
    if typed.errors:
        await _read(view, chosen.key)
        context = _form_context(await _context(view), chosen, typed)
        return _section_answer(request, context, editing=True, status=400)
    version_id = uuid4()
    try:
        async with view.acting(
            action, item=SUMMARY_ITEM, target_type="summary", target_id=str(version_id)
        ):
            # Read again inside the transaction: saves of one dossier are serialised there.
            latest = await current(dossier_id)
            number = latest["number"] if latest else 0
            if latest is not None and based_on != number:
                raise _Stale()
            sections = dict(latest["sections"]) if latest else normalised({})
            sections[chosen.key] = typed.value
            await SummaryVersion.insert(
                SummaryVersion(
                    id=version_id,
                    dossier=dossier_id,
                    number=number + 1,
                    created_at=view.now,
                    author=view.actor.account_id,
                    author_name=view.trace_actor.name,
                    sections=sealed_sections(
                        await crypto.writing_sealer(dossier_id), version_id, sections
                    ),
                )
            )
    except _Stale:
        await _read(view, chosen.key)
        context = await _context(view)
        latest = context["summary"]
        problem = _(
            "%(name)s saved a new version of the summary (version %(number)s) since you opened "
            "this form. Your text below is not saved yet: compare it with the section as it is "
            "now, then save again."
        ) % {"name": latest["author_name"], "number": latest["number"]}
        context = _form_context(context, chosen, typed)
        return _section_answer(
            request, {**context, "problem": problem, "stale": True}, editing=True, status=409
        )
    message = _("Saved: the summary is now at version %(number)s.") % {"number": number + 1}
    if is_htmx(request):
        context = await _context(view, notice=message, section=chosen, oob=True)
        return Template("dossiers/_summary_section.html", context=context)
    flash(request, message, "success")
    return see_other(f"/dossiers/{dossier_id}/summary#summary-{chosen.key}")


def _number(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


@get("/dossiers/{dossier_id:uuid}/summary/versions", guards=[signed_in])
async def versions_page(
    request: Request, dossier_id: FromPath[UUID], page: FromQuery[int] = 1
) -> Template:
    """Every version, newest first, with what each one changed."""
    view = await _opened(request, dossier_id, "versions")
    await _read(view, "versions")
    page = max(page, 1)
    # One more than shown: the version before the oldest one of the page.
    rows = await _versions(dossier_id, VERSIONS_PAGE_SIZE + 1, (page - 1) * VERSIONS_PAGE_SIZE)
    shown = rows[:VERSIONS_PAGE_SIZE]
    versions = [
        {
            **row,
            "changes": changes(
                rows[index + 1]["sections"] if index + 1 < len(rows) else None,
                row["sections"],
            ),
        }
        for index, row in enumerate(shown)
    ]
    return Template(
        "dossiers/summary_versions.html",
        context={
            "view": view,
            "versions": versions,
            "page": page,
            "has_next": bool(shown) and shown[-1]["number"] > 1,
        },
    )


# --- flags ----------------------------------------------------------------------------------


@post("/dossiers/{dossier_id:uuid}/summary/flags", guards=[signed_in])
async def flag_line(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    """The patient's side reports a line of the summary as wrong; the médecin traitant is
    told."""
    flag_id = uuid4()
    view = await open_dossier(
        request, dossier_id, Act.FLAG, target_type="summary_flag", target_id=str(flag_id)
    )
    key = form_text(data, "section")
    line = form_text(data, "line").strip()
    note = form_text(data, "note").strip()
    summary = await current(dossier_id)
    problem, status = "", 400
    if key not in SECTION_BY_KEY or not line:
        problem = _("Choose the line that is wrong with its button “This line is wrong”.")
    elif len(note) > MAX_NOTE:
        problem = _("Your note is %(length)s characters long: at most %(max)s are allowed.") % {
            "length": len(note),
            "max": MAX_NOTE,
        }
    elif summary is None or line not in lines_of(SECTION_BY_KEY[key], summary["sections"][key]):
        problem, status = _("This line is no longer in the summary: it has changed since."), 409
    if problem:
        await _read(view)
        context = await _context(view, problem=problem)
        return Template("dossiers/summary.html", context=context, status_code=status)
    async with view.acting(Act.FLAG, target_type="summary_flag", target_id=str(flag_id)):
        sealer = await crypto.writing_sealer(dossier_id)
        await SummaryFlag.insert(
            SummaryFlag(
                **sealer.seal_row(
                    "summary_flag",
                    crypto.sealed_columns(SummaryFlag),
                    flag_id,
                    {"line": line, "note": note},
                ),
                id=flag_id,
                dossier=dossier_id,
                version=summary["id"],
                section=key,
                flagged_by=view.actor.account_id,
                flagged_at=view.now,
            )
        )
        traitant = view.facts.medecin_traitant
        if traitant is not None:
            await notify(
                traitant,
                SUMMARY_FLAG,
                link=f"/dossiers/{dossier_id}/summary",
                dossier=dossier_id,
                who=view.trace_actor.name,
                patient=f"{view.patient['first_name']} {view.patient['last_name']}",
            )
    if traitant is not None:
        flash(
            request,
            _("Thank you: your médecin traitant will see that you reported this line."),
            "success",
        )
    else:
        flash(
            request,
            _(
                "Your report is saved. The record has no médecin traitant at the moment: the "
                "next one you designate will see it."
            ),
            "success",
        )
    return see_other(f"/dossiers/{dossier_id}/summary")


@post("/dossiers/{dossier_id:uuid}/summary/flags/{flag_id:uuid}/resolve", guards=[signed_in])
async def resolve_flag(
    request: Request, dossier_id: FromPath[UUID], flag_id: FromPath[UUID]
) -> Redirect:
    """The médecin traitant marks a reported line handled."""
    target = {"target_type": "summary_flag", "target_id": str(flag_id)}
    view = await open_dossier(request, dossier_id, Action.UPDATE, item=SUMMARY_ITEM, **target)
    async with view.acting(Action.UPDATE, item=SUMMARY_ITEM, **target):
        found = await SummaryFlag.exists().where(
            SummaryFlag.id == flag_id, SummaryFlag.dossier == dossier_id
        )
        if not found:
            raise NotFoundException()
        await SummaryFlag.update({SummaryFlag.resolved_at: view.now}).where(
            SummaryFlag.id == flag_id, SummaryFlag.resolved_at.is_null()
        )
    flash(request, _("The report is marked as handled."), "success")
    return see_other(f"/dossiers/{dossier_id}/summary")


# --- the yearly reminder --------------------------------------------------------------------


async def remind_outdated(now: datetime) -> int:
    """Tell the médecin traitant of each open dossier whose summary was last changed more than
    a year before ``now`` (at most once every 30 days for a dossier); returns how many were
    told. A timer runs it every day, as it runs `carnet audit sign`; nothing else calls it."""
    cutoff = now - OUTDATED_AFTER
    followed = (
        SummaryVersion.dossier.status == DossierStatus.OPEN,
        SummaryVersion.dossier.medecin_traitant.is_not_null(),
    )
    old = await SummaryVersion.select(SummaryVersion.dossier).where(
        SummaryVersion.created_at < cutoff, *followed
    )
    recent = await SummaryVersion.select(SummaryVersion.dossier).where(
        SummaryVersion.created_at >= cutoff, *followed
    )
    outdated = {row["dossier"] for row in old} - {row["dossier"] for row in recent}
    told = 0
    for dossier_id in sorted(outdated):
        dossier = (
            await Dossier.select(
                Dossier.medecin_traitant,
                Dossier.patient.first_name.as_alias("first_name"),
                Dossier.patient.last_name.as_alias("last_name"),
            )
            .where(Dossier.id == dossier_id)
            .first()
        )
        link = f"/dossiers/{dossier_id}/summary"
        async with db.current().write_transaction():
            reminded = await Notification.exists().where(
                Notification.account == dossier["medecin_traitant"],
                Notification.kind == SUMMARY_OUTDATED.key,
                Notification.link == link,
                Notification.created_at > now - REMIND_AGAIN_AFTER,
            )
            if reminded:
                continue
            latest = await current(dossier_id)
            await notify(
                dossier["medecin_traitant"],
                SUMMARY_OUTDATED,
                link=link,
                dossier=dossier_id,
                patient=f"{dossier['first_name']} {dossier['last_name']}",
                date=clock.day(latest["created_at"]),
            )
            told += 1
    return told


ROUTES = [
    summary_page,
    summary_pdf,
    section_page,
    save_section,
    versions_page,
    flag_line,
    resolve_flag,
]
