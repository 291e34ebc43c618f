"""Closing, reopening and deleting a dossier (ACCESS.md, "Closing"), and the purge.

The patient's side closes the dossier at any time: every professional access ends at once
(the policy lets no professional into a closed dossier), the data is archived for ten years
and is back, whole, if the dossier is reopened. A closed dossier can be deleted on request,
the person confirming with their password: it is purged at once. `carnet purge` purges the
archives closed ten years ago (and, through `creation`, the online registrations never
activated whose codes expired).

Purging destroys the dossier's data key first (crypto-shredding, `portal.crypto`: older
copies of the database, backups included, can no longer open its content), then deletes the
dossier with everything that hangs from it (documents, summary, care
circle, plugin rows, the notifications about it: their foreign keys cascade), its patient, the
patient's account unless it still represents someone, and its audit chain. The trail
keeps a tombstone: one event of the system chain saying which dossier was purged, when, why
and how many events its chain held, with the hash of the last one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from portal import audit, clock, crypto, db
from portal.access import signed_in
from portal.access.policy import ABOUT_ACCESS
from portal.access.tables import EmergencyGrant
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.audit.tables import AuditActor, AuditCheckpoint, AuditEvent, AuditPurge
from portal.audit.trail import chain_of
from portal.dossiers.tables import Dossier, DossierStatus, Representative
from portal.i18n import gettext as _
from portal.identity import passwords, sessions
from portal.identity.routes import limit_attempts
from portal.identity.tables import Account, Patient, Role
from portal.web import flash, see_other

Form = URLEncodedBody[dict[str, Any]]
ARCHIVE_YEARS = 10
#: Who the trail names for the purge of the archives.
MAINTENANCE = audit.Actor(account_id=None, role="system", name="carnet purge")


class Reason:
    """Why a dossier was purged, as its tombstone says."""

    REQUEST = "deletion requested"
    ARCHIVE_ENDED = "archive kept ten years"
    NEVER_ACTIVATED = "opened online, never activated, every code expired"
    REGISTRATION_REPLACED = "opened online, never activated, replaced by a new registration"


def archive_ends(closed_at: datetime) -> datetime:
    """When a dossier closed at ``closed_at`` is purged."""
    try:
        return closed_at.replace(year=closed_at.year + ARCHIVE_YEARS)
    except ValueError:  # closed on 29 February
        return closed_at.replace(year=closed_at.year + ARCHIVE_YEARS, day=28)


async def purge(dossier_id: UUID, actor: audit.Actor, reason: str) -> None:
    """Delete the dossier and all it holds, leaving only its tombstone in the trail."""
    chain = chain_of(dossier_id)
    async with db.current().write_transaction():
        dossier = (
            await Dossier.select(Dossier.patient, Dossier.patient.account.as_alias("account"))
            .where(Dossier.id == dossier_id)
            .first()
        )
        if dossier is None:
            return
        head = (
            await AuditEvent.select(AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.chain == chain)
            .order_by(AuditEvent.seq, ascending=False)
            .first()
        )
        # First, so that no copy of the database can ever open the dossier again, even if
        # this transaction does not commit: the deletion was asked for.
        crypto.destroy_data_key(dossier_id)
        await Dossier.delete().where(Dossier.id == dossier_id)
        await Patient.delete().where(Patient.id == dossier["patient"])
        if dossier["account"] is not None:
            await _retire(dossier["account"])
        # The triggers let a chain go only once its dossier has gone.
        await AuditPurge.insert(AuditPurge(chain=chain))
        await AuditCheckpoint.delete().where(AuditCheckpoint.chain == chain)
        await AuditEvent.delete().where(AuditEvent.chain == chain)
        await AuditActor.delete().where(AuditActor.chain == chain)
        await AuditPurge.delete().where(AuditPurge.chain == chain)
        await audit.record(
            Action.PURGE,
            actor,
            target_type="dossier",
            target_id=str(dossier_id),
            reason=reason,
            mode_detail=(
                f"{head['seq']} events, the last with hash {head['hash']}" if head else "no events"
            ),
        )


async def _retire(account_id: UUID) -> None:
    """The purged patient's account goes, unless it still represents someone."""
    if await Representative.exists().where(Representative.account == account_id):
        await Account.update({Account.role: Role.REPRESENTATIVE}).where(Account.id == account_id)
    else:
        await Account.delete().where(Account.id == account_id)


async def purge_archives(now: datetime) -> int:
    """Purge every dossier whose ten years of archive have ended; how many were."""
    closed = await Dossier.select(Dossier.id, Dossier.closed_at).where(
        Dossier.status == DossierStatus.CLOSED
    )
    ended = [
        row["id"] for row in closed if row["closed_at"] and archive_ends(row["closed_at"]) <= now
    ]
    for dossier_id in ended:
        await purge(dossier_id, MAINTENANCE, Reason.ARCHIVE_ENDED)
    return len(ended)


# --- the patient's pages ----------------------------------------------------------------------


async def _page(
    view: DossierView, errors: dict[str, str] | None = None, status: int = 200, problem: str = ""
) -> Template:
    row = await Dossier.select(Dossier.closed_at).where(Dossier.id == view.id).first()
    closed_at = row["closed_at"]
    return Template(
        "dossiers/closing.html",
        context={
            "view": view,
            "patient": view.patient,
            "closed": view.facts.status == DossierStatus.CLOSED,
            "closed_at": closed_at,
            "archive_ends": archive_ends(closed_at) if closed_at else None,
            "errors": errors or {},
            "problem": problem,
        },
        status_code=status,
    )


@get("/dossiers/{dossier_id:uuid}/closing", guards=[signed_in])
async def closing_page(request: Request, dossier_id: FromPath[UUID]) -> Template:
    view = await open_dossier(request, dossier_id, target_type="closing")
    await view.require(Action.VIEW, ABOUT_ACCESS, target_type="closing")
    return await _page(view)


async def _change_status(
    request: Request, dossier_id: UUID, action: Action, status: DossierStatus
) -> bool:
    """Close or reopen; False when it already was (a form sent twice, or an old page)."""
    view = await open_dossier(
        request, dossier_id, action, ABOUT_ACCESS, target_type="dossier", target_id=str(dossier_id)
    )
    if view.facts.status == status:
        return False
    closing = status == DossierStatus.CLOSED
    async with view.acting(action, ABOUT_ACCESS, target_type="dossier", target_id=str(dossier_id)):
        await Dossier.update(
            {Dossier.status: status, Dossier.closed_at: clock.now() if closing else None}
        ).where(Dossier.id == dossier_id)
        if closing:
            await EmergencyGrant.delete().where(EmergencyGrant.dossier == dossier_id)
    return True


@post("/dossiers/{dossier_id:uuid}/close", guards=[signed_in])
async def close(request: Request, dossier_id: FromPath[UUID]) -> Redirect:
    if await _change_status(request, dossier_id, Action.CLOSE, DossierStatus.CLOSED):
        flash(
            request,
            _(
                "The record is closed: no professional can open it any more. It is archived "
                "for ten years."
            ),
            "success",
        )
    return see_other(f"/dossiers/{dossier_id}/closing")


@post("/dossiers/{dossier_id:uuid}/reopen", guards=[signed_in])
async def reopen(request: Request, dossier_id: FromPath[UUID]) -> Redirect:
    if await _change_status(request, dossier_id, Action.REOPEN, DossierStatus.OPEN):
        flash(request, _("The record is open again, as it was when it was closed."), "success")
    return see_other(f"/dossiers/{dossier_id}")


@post("/dossiers/{dossier_id:uuid}/delete", guards=[signed_in])
async def delete(request: Request, dossier_id: FromPath[UUID], data: Form) -> Template | Redirect:
    """Delete a closed dossier for good, once the person has typed their password."""
    await limit_attempts(request, "delete-dossier")
    view = await open_dossier(request, dossier_id, Action.PURGE, ABOUT_ACCESS)
    await view.require(Action.PURGE, ABOUT_ACCESS, target_type="dossier")
    if view.facts.status != DossierStatus.CLOSED:
        problem = _("Close the record before asking for its deletion.")
        return await _page(view, status=400, problem=problem)
    account = (
        await Account.select(Account.password_hash)
        .where(Account.id == view.actor.account_id)
        .first()
    )
    check = await passwords.verify_password(account["password_hash"], str(data.get("password", "")))
    if not check.valid:
        problem = _("This is not your password: nothing was deleted.")
        return await _page(view, {"password": problem}, 400)
    own = view.facts.patient_account == view.actor.account_id
    await purge(dossier_id, view.trace_actor, Reason.REQUEST)
    if own and not await Account.exists().where(Account.id == view.actor.account_id):
        sessions.issue_cookie(request, None)
        flash(request, _("Your record and your account have been deleted."), "success")
        return see_other("/")
    flash(request, _("The record has been deleted."), "success")
    return see_other("/me")


ROUTES = [closing_page, close, reopen, delete]
