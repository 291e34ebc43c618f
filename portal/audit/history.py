"""The patient's access history: every access to their dossier, newest first, in words that
name what was read as the reader may see it (`portal.audit.naming`), grouped by person and
visit with the emergency and SAMU accesses first (`portal.audit.visits`). The patient's own
and their representatives' accesses are left out unless asked for.

Patients see their own dossier's history, legal representatives the history of the dossiers
they manage (`portal.access.policy` decides). Opening the history, exporting it and checking
its integrity are themselves accesses, and are traced like any other. Every page carries the
chain's receipt, and the history is exported as a spreadsheet and as the signed events
(`portal.audit.receipts`) that ``docs/verify_audit.py`` checks offline.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal import clock
from portal.access import signed_in
from portal.access.policy import ABOUT_ACCESS
from portal.access.view import open_dossier
from portal.audit import Action, Mode, receipts, signing, witness
from portal.audit.naming import Namer, Told
from portal.audit.tables import AuditActor, AuditEvent
from portal.audit.trail import chain_of
from portal.audit.verification import verify
from portal.audit.visits import visits, who
from portal.i18n import gettext as _
from portal.identity.tables import PERSON_ROLES
from portal.web import flash, see_other

PAGE_SIZE = 50
logger = logging.getLogger("carnet.audit")


def describe(told: Told) -> str:
    """One event as a sentence, for the spreadsheet: the person, then what they did."""
    return _("%(who)s %(deed)s.") % {"who": who(told.event), "deed": told.deed}


@dataclass(frozen=True)
class Filters:
    professional: UUID | None = None
    mode: str = ""
    start: date | None = None
    end: date | None = None
    #: Show the patient's own and their representatives' accesses too (hidden by default).
    own: bool = False

    def apply(self, query):
        if not self.own:
            query = query.where(AuditEvent.actor_role.not_in([str(role) for role in PERSON_ROLES]))
        if self.professional:
            query = query.where(AuditEvent.actor_account == self.professional)
        if self.mode in {str(mode) for mode in Mode}:
            query = query.where(AuditEvent.mode == self.mode)
        if self.start:
            query = query.where(AuditEvent.occurred_at >= clock.start_of(self.start))
        if self.end:
            after_end = clock.start_of(self.end + timedelta(days=1))
            query = query.where(AuditEvent.occurred_at < after_end)
        return query


def _filters(professional: str, mode: str, start: str, end: str, own: str) -> tuple[Filters, str]:
    """The filters as typed; a date that is not one is ignored, with a message."""
    error = ""
    dates = []
    for value in (start, end):
        try:
            dates.append(date.fromisoformat(value) if value else None)
        except ValueError:
            dates.append(None)
            error = _("A date was not understood: use the date picker, or type YYYY-MM-DD.")
    try:
        person = UUID(professional) if professional else None
    except ValueError:
        person = None
    return Filters(person, mode, dates[0], dates[1], own == "1"), error


@get("/dossiers/{dossier_id:uuid}/history", guards=[signed_in])
async def history(
    request: Request,
    dossier_id: FromPath[UUID],
    professional: FromQuery[str] = "",
    mode: FromQuery[str] = "",
    start: FromQuery[str] = "",
    end: FromQuery[str] = "",
    own: FromQuery[str] = "",
    before: FromQuery[int | None] = None,
    after: FromQuery[int | None] = None,
) -> Template:
    """One page of the history: the `PAGE_SIZE` accesses before event ``before`` (or after
    ``after``), newest first. Pages are found by event number, not counted from the top, and
    the person filter reads `AuditActor`: every page costs the same few indexed reads,
    however long the chain."""
    facts = await open_dossier(
        request, dossier_id, Action.VIEW, ABOUT_ACCESS, target_type="history"
    )
    await facts.require(Action.VIEW, ABOUT_ACCESS, target_type="history")
    filters, error = _filters(professional, mode, start, end, own)
    rows, newer, older = await page_of(filters.apply(chain_events(facts.id)), before, after)
    actors = (
        await AuditActor.select(
            AuditActor.account.as_alias("actor_account"), AuditActor.name.as_alias("actor_name")
        )
        .where(AuditActor.chain == chain_of(facts.id))
        .order_by(AuditActor.name)
    )
    namer = Namer(facts, request.app.state.plugins.sections)
    await namer.read(rows)
    receipt = await receipts.current(facts.id)
    return Template(
        "audit/history.html",
        context={
            "dossier_id": facts.id,
            "visits": visits([namer.told(row) for row in rows]),
            "actors": actors,
            "filters": {
                "professional": professional,
                "mode": mode,
                "start": start,
                "end": end,
                "own": "1" if filters.own else "",
            },
            "filter_error": error,
            "newer": rows[0]["seq"] if rows and newer else None,
            "older": rows[-1]["seq"] if rows and older else None,
            "receipt": receipt,
            "receipt_text": receipts.as_text(receipt) if receipt else "",
            "public_key_path": signing.PUBLIC_KEY_PATH,
        },
        status_code=400 if error else 200,
    )


def chain_events(dossier_id: UUID):
    """A new query of the dossier's events (a query grows with each ``where``)."""
    return AuditEvent.select().where(AuditEvent.chain == chain_of(dossier_id))


async def page_of(query, before: int | None, after: int | None) -> tuple[list[dict], bool, bool]:
    """The page's events, newest first, and whether there are newer and older ones."""
    if after is not None:
        rows = (
            await query.where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(PAGE_SIZE + 1)
        )
        return list(reversed(rows[:PAGE_SIZE])), len(rows) > PAGE_SIZE, True
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    rows = await query.order_by(AuditEvent.seq, ascending=False).limit(PAGE_SIZE + 1)
    return rows[:PAGE_SIZE], before is not None, len(rows) > PAGE_SIZE


@get("/dossiers/{dossier_id:uuid}/history.csv", guards=[signed_in])
async def history_csv(request: Request, dossier_id: FromPath[UUID]) -> Response:
    facts = await open_dossier(
        request, dossier_id, Action.EXPORT, ABOUT_ACCESS, target_type="history"
    )
    await facts.require(Action.EXPORT, ABOUT_ACCESS, target_type="history")
    rows = await chain_events(facts.id).order_by(AuditEvent.seq, ascending=False)
    namer = Namer(facts, request.app.state.plugins.sections)
    await namer.read()
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(
        [_("Date (UTC)"), _("Who"), _("Role"), _("Profession"), _("What happened"),
         _("Outcome"), _("Mode"), _("Reason given"), _("Through the application"),
         _("Number"), _("Hash"), _("Signature")]
    )  # fmt: skip
    for row in rows:
        writer.writerow(
            [row["occurred_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), row["actor_name"],
             row["actor_role"], row["actor_profession"], describe(namer.told(row)), row["outcome"],
             row["mode"], row["mode_detail"], row["via"], row["seq"], row["hash"],
             row["signature"]]
        )  # fmt: skip
    return Response(
        output.getvalue().encode("utf-8-sig"),  # the BOM lets spreadsheets read the accents
        media_type="text/csv",  # Litestar adds the charset of text types itself
        headers={"content-disposition": 'attachment; filename="historique-des-acces.csv"'},
    )


@get("/dossiers/{dossier_id:uuid}/history.json", guards=[signed_in])
async def history_json(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """The signed events themselves, for ``docs/verify_audit.py``."""
    facts = await open_dossier(
        request, dossier_id, Action.EXPORT, ABOUT_ACCESS, target_type="history"
    )
    await facts.require(Action.EXPORT, ABOUT_ACCESS, target_type="history")
    rows = await chain_events(facts.id).order_by(AuditEvent.seq)
    return Response(
        receipts.export(facts.id, rows),
        headers={"content-disposition": 'attachment; filename="historique-des-acces.json"'},
    )


@post("/dossiers/{dossier_id:uuid}/history/verify", guards=[signed_in])
async def check_integrity(request: Request, dossier_id: FromPath[UUID]) -> Redirect:
    facts = await open_dossier(
        request, dossier_id, Action.VERIFY, ABOUT_ACCESS, target_type="history"
    )
    await facts.require(Action.VERIFY, ABOUT_ACCESS, target_type="history")
    key, witnessed = signing.installed(), witness.installed()
    try:
        heads = await witness.load(witnessed, key) if witnessed and key else None
        report = await verify(key, dossier_id=facts.id, witness=heads)
        problem = report.problems[0] if report.problems else None
    except witness.WitnessError as error:
        problem = error
    if problem is None:
        flash(
            request,
            _(
                "The history is intact: its %(count)s entries follow one another without a gap, "
                "and none has been changed since it was written."
            )
            % {"count": report.events},
            "success",
        )
    else:
        logger.error("audit chain of dossier %s broken: %s", facts.id, problem)
        flash(
            request,
            _(
                "Warning: the history has been altered. Keep a copy of this page and tell the "
                "team that runs Carnet."
            ),
            "error",
        )
    return see_other(f"/dossiers/{facts.id}/history")


ROUTES = [history, history_csv, history_json, check_integrity, *receipts.ROUTES]
