"""How every route gets a dossier: `open_dossier` returns a `DossierView`, the dossier as the
asking person may see it. Each decision taken through the view is traced in the audit trail,
allowed or refused, and a refusal answers 404 (the dossier or document does not exist for the
asker) or 403 (inside a dossier they may open). Core pages and plugins only ever receive a
view.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.response import Template
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

from portal import audit, clock, crypto, db
from portal.access import notices
from portal.access.facts import LISTED, dossier_facts, item_of
from portal.access.matrix import Matrix
from portal.access.policy import (
    READS,
    WRITES,
    Act,
    Actor,
    Decision,
    DossierFacts,
    Grant,
    Item,
    decide,
    patient_side_accounts,
    traced_as,
)
from portal.access.tables import CircleMember
from portal.audit import Action, Outcome, Purpose
from portal.dossiers.tables import Document
from portal.i18n import gettext as _
from portal.identity import abuse, sessions
from portal.identity.accounts import actor_of
from portal.notifications import notify

# The current documents of a dossier as lists show them, written out once: every overview
# reads them, and Piccolo would build the statement anew each time.
# All of them, or those of one category.
_CURRENT_DOCUMENTS, _CURRENT_DOCUMENTS_OF_CATEGORY = (
    f"SELECT {', '.join(column._meta.db_column_name for column in LISTED)} "  # noqa: S608
    f"FROM document WHERE dossier = {{}} AND superseded_at IS NULL{condition} "
    "ORDER BY care_date DESC, created_at DESC"
    for condition in ("", " AND category = {}")
)


@dataclass(frozen=True)
class DossierView:
    """The dossier as the asking person may see it, for the length of one request."""

    facts: DossierFacts
    actor: Actor
    #: The decision that opened it: the asker's standing (reason, purpose, mode).
    opened: Decision
    #: Who the patient is: first_name, last_name, birth_date.
    patient: dict[str, Any]
    matrix: Matrix
    now: datetime
    trace_actor: audit.Actor
    client_address: str

    @property
    def id(self) -> UUID:
        return self.facts.id

    @property
    def for_patient_side(self) -> bool:
        """The patient or a legal representative is looking."""
        return self.opened.purpose == Purpose.PATRQT

    @property
    def emergency(self) -> Grant | None:
        """The emergency or SAMU access the asker is using, if they are."""
        return self.facts.grant if self.opened.mode != audit.Mode.NORMAL else None

    def decide(
        self, action: Action | Act, category: str | None = None, item: Item | None = None
    ) -> Decision:
        return decide(
            self.actor, self.facts, action, category, item, matrix=self.matrix, now=self.now
        )

    def may(
        self, action: Action | Act, category: str | None = None, item: Item | None = None
    ) -> bool:
        return self.decide(action, category, item).allowed

    def readable_categories(self) -> list[str]:
        return [key for key in self.matrix.categories if self.may(Action.VIEW, key)]

    def writable_categories(self) -> list[str]:
        return [key for key in self.matrix.categories if self.may(Action.CREATE, key)]

    async def trace(
        self,
        action: Action | Act,
        decision: Decision,
        target_type: str,
        target_id: str = "",
        detail: str | None = None,
    ) -> None:
        """Write one decision to the dossier's audit chain (``detail``: the emergency reason
        or call reference, by default that of the access under way)."""
        if detail is None:
            grant = self.facts.grant
            detail = grant.detail if grant and decision.mode != audit.Mode.NORMAL else ""
        await audit.record(
            traced_as(action),
            self.trace_actor,
            dossier_id=self.id,
            outcome=Outcome.ALLOWED if decision.allowed else Outcome.REFUSED,
            reason=decision.reason,
            purpose=decision.purpose,
            mode=decision.mode,
            mode_detail=detail,
            target_type=target_type,
            target_id=target_id,
            client_address=self.client_address,
        )

    @asynccontextmanager
    async def acting(
        self,
        action: Action | Act,
        category: str | None = None,
        item: Item | None = None,
        *,
        target_type: str,
        target_id: str = "",
        detail: str | None = None,
    ) -> AsyncIterator[Decision]:
        """Decide, and trace the decision in one write transaction with what the block does.

        A refusal is traced, then raised as a 403 / 404. An exception inside the block rolls
        back the change and its trace together: nothing happened.
        """
        decision = self.decide(action, category, item)
        if not decision.allowed:
            await self.trace(action, decision, target_type, target_id, detail)
            raise refusal(decision)
        async with db.current().write_transaction():
            await self.trace(action, decision, target_type, target_id, detail)
            if self._first_access_due(action):
                await _first_access(self)
            yield decision

    def _first_access_due(self, action: Action | Act) -> bool:
        """The asker joined the circle on a consent declared at a consultation, and is about
        to use the dossier for the first time since: the patient is told (`_first_access`)."""
        used = traced_as(action) in READS | WRITES
        return used and self.actor.account_id in self.facts.unannounced

    async def require(
        self,
        action: Action | Act,
        category: str | None = None,
        item: Item | None = None,
        *,
        target_type: str,
        target_id: str = "",
    ) -> Decision:
        """Decide and trace; refuse with 403 / 404. For what a route reads in the dossier: the
        trace is committed before the route reads (with the traces the process's other requests
        make at that moment, see `audit.record`), or with the caller's write transaction."""
        if self._first_access_due(action):
            async with self.acting(
                action, category, item, target_type=target_type, target_id=target_id
            ) as decision:
                return decision
        decision = self.decide(action, category, item)
        await self.trace(action, decision, target_type, target_id)
        if not decision.allowed:
            raise refusal(decision)
        return decision

    async def require_before_answer(
        self,
        action: Action,
        category: str | None = None,
        item: Item | None = None,
        *,
        target_type: str,
    ) -> asyncio.Future[None]:
        """Decide and trace as `require`, for a page that reads and renders while its trace is
        being committed: the commit is under way when this returns, and the page must not be
        sent before the returned awaitable is done (answer with `TracedTemplate`). A refusal,
        or a consent's first use, is traced before this returns, as `require` does it. Call it
        outside any transaction, as a page's first read: the trace goes to the batch
        (`audit.record`); inside a write transaction, use `require`."""
        decision = self.decide(action, category, item)
        if not decision.allowed or self._first_access_due(action):
            await self.require(action, category, item, target_type=target_type)
            traced = asyncio.get_running_loop().create_future()
            traced.set_result(None)
            return traced
        trace = asyncio.ensure_future(self.trace(action, decision, target_type))
        # Retrieved by the page's answer; a route that fails before it answers leaves it
        # unawaited: its failure is already the request's.
        trace.add_done_callback(lambda done: done.cancelled() or done.exception())
        return trace

    async def documents(self, category: str | None = None) -> list[dict[str, Any]]:
        """The current versions of the documents the asker may read, newest care first (no
        body nor file: see `document`)."""
        if category is None:
            rows = await Document.raw(_CURRENT_DOCUMENTS, self.id)
        else:
            rows = await Document.raw(_CURRENT_DOCUMENTS_OF_CATEGORY, self.id, category)
        readable = [row for row in rows if self.may(Action.VIEW, item=item_of(row))]
        return await crypto.opened(self.id, Document, readable)

    async def document(self, document_id: UUID, action: Action = Action.VIEW) -> dict[str, Any]:
        """One document with its body, if the asker may do ``action`` on it; traced."""
        row = await self.document_row(document_id)
        await self.require(
            action, item=item_of(row), target_type="document", target_id=str(document_id)
        )
        return row

    async def document_row(self, document_id: UUID) -> dict[str, Any]:
        """A document of this dossier, not yet decided on: 404 when there is none."""
        row = (
            await Document.select()
            .where(Document.id == document_id, Document.dossier == self.id)
            .first()
        )
        if row is None:
            raise NotFoundException()
        return (await crypto.opened(self.id, Document, [row]))[0]


class TracedTemplate(Template):
    """A page rendered while the trace of its reading is committed, and sent once it is: the
    trace's commit overlaps the page's reads and rendering, and nothing read leaves the
    server before it is durable (a failed commit answers the error page instead)."""

    def __init__(self, template_name: str, *, context: dict[str, Any], trace: Awaitable[None]):
        super().__init__(template_name, context=context)
        self.trace = trace

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        return _AfterTrace(super().to_asgi_response(*args, **kwargs), self.trace)  # type: ignore[return-value]


@dataclass(frozen=True)
class _AfterTrace:
    """An answer that starts once ``trace`` is done (raised from here, before anything was
    sent, a failure becomes the generic error page)."""

    answer: ASGIResponse
    trace: Awaitable[None]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.trace
        await self.answer(scope, receive, send)


def refusal(decision: Decision) -> Exception:
    if decision.status == 403:
        return PermissionDeniedException(
            str(decision.message)
            if decision.message
            else _("Your access to this record does not cover this. The refusal is recorded.")
        )
    return NotFoundException()


async def open_dossier(
    request: Request,
    dossier_id: UUID,
    action: Action | Act = Action.VIEW,
    category: str | None = None,
    item: Item | None = None,
    *,
    target_type: str = "dossier",
    target_id: str = "",
    detail: str | None = None,
) -> DossierView:
    """The dossier as the person behind ``request`` may see it, if they may do ``action`` (on
    ``category`` or ``item`` of it): the one way a route gets a dossier.

    A refusal is traced here, as an attempt at ``action`` on the target (with ``detail``, the
    reason or call reference given for an emergency or SAMU access), and answered 404 / 403.
    What the route then does is traced where it does it: `DossierView.require` before it
    reads, `DossierView.acting` around a change, `portal.pdf.render_pdf` for a print.
    """
    view = await _view(request, dossier_id, action, category, item)
    if not view.opened.allowed:
        await view.trace(action, view.opened, target_type, target_id, detail)
        raise refusal(view.opened)
    return view


async def standing(request: Request, dossier_id: UUID) -> DossierView | None:
    """The dossier as the person behind ``request`` stands to it, nothing traced, or None when
    there is no such dossier: for the professional's look-up by NIR, which says what they may
    ask (consent, emergency or SAMU access) and traces the refusals it shows. Every other route
    gets a dossier from `open_dossier`."""
    try:
        return await _view(request, dossier_id, Action.VIEW)
    except NotFoundException:
        return None


async def _view(
    request: Request,
    dossier_id: UUID,
    action: Action | Act,
    category: str | None = None,
    item: Item | None = None,
) -> DossierView:
    """The view of the dossier for the signed-in person, with the decision on ``action``
    (allowed or not, nothing traced yet); 404 when there is no such dossier."""
    session = sessions.current(request)
    now = clock.now()
    # The session's emergency and SAMU accesses, as `portal.access.banner` read them for this
    # request (none without it: no access outside the rules).
    grants = [
        grant
        for grant in request.scope["state"].get("emergency_grants", [])
        if grant["expires_at"] > now
    ]
    found = await dossier_facts(dossier_id, grants)
    if found is None:
        raise NotFoundException()
    if dossier_id in crypto.keyring().shredded:
        # A copy of the database from before the dossier's purge: its key was destroyed.
        raise HTTPException(
            status_code=410,
            detail=_("This record has been deleted: nothing of it can be read any more."),
        )
    facts, patient = found
    actor = Actor(session.account_id, session.role, session.profession, session.reach)
    trace_actor = actor_of(
        session.account_id, session.role, session.profession, session.first_name,
        session.last_name, session.via,
    )  # fmt: skip
    matrix = request.app.state.matrix
    decision = decide(actor, facts, action, category, item, matrix=matrix, now=now)
    return DossierView(
        facts=facts,
        actor=actor,
        opened=decision,
        patient=patient if decision.allowed else {},
        matrix=matrix,
        now=now,
        trace_actor=trace_actor,
        client_address=abuse.client_address(request, request.app.state.settings.trusted_proxies),
    )


async def _first_access(view: DossierView) -> None:
    """Tell the patient's side the first time a professional who declared the patient's
    consent uses the dossier, whatever they open first."""
    first = (
        await CircleMember.update({CircleMember.first_access_at: view.now})
        .where(
            CircleMember.dossier == view.id,
            CircleMember.professional == view.actor.account_id,
            CircleMember.first_access_at.is_null(),
        )
        .returning(CircleMember.id)
    )
    if not first:
        return
    for account_id in patient_side_accounts(view.facts):
        await notify(
            account_id,
            notices.FIRST_ACCESS,
            link=f"/dossiers/{view.id}/access",
            dossier=view.id,
            who=view.trace_actor.name,
            patient=f"{view.patient['first_name']} {view.patient['last_name']}",
            date=clock.day_and_time(view.now),
        )
