"""Every change of who may see a dossier: the patient's controls (care circle, consents scoped
to a section, blocks, médecin traitant, opt-outs, masks) and the professional's requests
(declared consent, emergency and SAMU access).

Each is decided by `policy.decide` and traced in the dossier's audit chain, in the same write
transaction as the change. What cannot be done for a reason the person can fix raises
`ControlError` with a message for them, and changes nothing.
"""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import UUID

from litestar import Request

from portal import clock
from portal.access import notices
from portal.access.facts import item_of
from portal.access.policy import BY_SCOPED_CONSENT, patient_side_accounts
from portal.access.tables import (
    Block,
    CircleMember,
    EmergencyGrant,
    GrantMode,
    Joined,
    SectionConsent,
)
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.dossiers.tables import Document, Dossier
from portal.i18n import gettext as _
from portal.identity import sessions
from portal.identity.sessions import Stage
from portal.identity.tables import LoginSession, Professional, Role
from portal.notifications import notify

#: How long an emergency or SAMU access lasts.
EMERGENCY_DURATION = timedelta(hours=4)
REASON_MIN_LENGTH = 20
REASON_MAX_LENGTH = 1000
CALL_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9/-]{2,39}")


#: A professional as the directory shows them to the patient.
DIRECTORY_ENTRY = (
    Professional.account.id.as_alias("id"),
    Professional.account.first_name.as_alias("first_name"),
    Professional.account.last_name.as_alias("last_name"),
    Professional.profession,
    Professional.specialty,
    Professional.rpps,
)


class ControlError(ValueError):
    """The change cannot be made; the message tells the person why, and what to do."""


# --- the patient's controls ----------------------------------------------------------------


def parse_account(value: object) -> UUID:
    """An account id as a form sends it."""
    try:
        return UUID(str(value))
    except ValueError:
        raise ControlError(_("Choose a professional from the directory.")) from None


async def professional(account_id: UUID) -> dict:
    """A professional of care who may be given access (the directory's entry), or an error."""
    row = (
        await Professional.select(*DIRECTORY_ENTRY)
        .where(
            Professional.account == account_id,
            Professional.account.role == Role.PROFESSIONAL,
            Professional.account.disabled_at.is_null(),
        )
        .first()
    )
    if row is None:
        raise ControlError(_("This professional is not in the directory."))
    return row


async def add_to_circle(view: DossierView, chosen: object) -> dict:
    """The patient gives a professional (``chosen``: their account id, as the form sent it)
    access to the dossier."""
    async with _changing(view, Action.RIGHTS_CHANGE, "care_circle", chosen):
        account_id = parse_account(chosen)
        person = await professional(account_id)
        if account_id in view.facts.blocked:
            raise ControlError(_("You have blocked this professional: unblock them first."))
        if account_id == view.facts.medecin_traitant:
            raise ControlError(_("Your médecin traitant already has access to your record."))
        if account_id in view.facts.circle:
            raise ControlError(_("This professional already has access to your record."))
        await CircleMember.insert(
            CircleMember(
                dossier=view.id, professional=account_id, joined=Joined.BY_PATIENT, since=view.now
            )
        )
    return person


async def remove_from_circle(view: DossierView, account_id: UUID) -> dict:
    async with _changing(view, Action.RIGHTS_CHANGE, "care_circle", account_id):
        person = await professional(account_id)
        if account_id not in view.facts.circle:
            raise ControlError(_("This professional is not in the care circle."))
        await CircleMember.delete().where(
            CircleMember.dossier == view.id, CircleMember.professional == account_id
        )
    return person


async def give_section_consent(view: DossierView, chosen: object, category: object) -> dict:
    """The patient consents that a professional (``chosen``: their account id, as the form
    sent it) reads and writes one section of the dossier (its ``category``), and nothing
    else of it; only the professions the policy names for that section may be chosen."""
    async with _changing(view, Action.RIGHTS_CHANGE, "section_consent", chosen):
        account_id = parse_account(chosen)
        person = await professional(account_id)
        if category not in BY_SCOPED_CONSENT or category not in view.matrix.categories:
            raise ControlError(_("This part of the record cannot be opened on its own."))
        if person["profession"] not in BY_SCOPED_CONSENT[category]:
            raise ControlError(_("This professional cannot be given access to this part."))
        if account_id in view.facts.blocked:
            raise ControlError(_("You have blocked this professional: unblock them first."))
        if category in view.facts.scoped.get(account_id, ()):
            raise ControlError(_("This professional already has access to this part."))
        await SectionConsent.insert(
            SectionConsent(
                dossier=view.id, professional=account_id, category=category, since=view.now
            )
        )
    return person


async def revoke_section_consent(view: DossierView, chosen: object, category: object) -> dict:
    """The patient withdraws a consent scoped to a section: refused from the next request."""
    async with _changing(view, Action.RIGHTS_CHANGE, "section_consent", chosen):
        account_id = parse_account(chosen)
        if category not in view.facts.scoped.get(account_id, ()):
            raise ControlError(_("This professional has no access to this part."))
        # Even a professional whose account has since been disabled.
        person = (
            await Professional.select(*DIRECTORY_ENTRY)
            .where(Professional.account == account_id)
            .first()
        )
        await SectionConsent.delete().where(
            SectionConsent.dossier == view.id,
            SectionConsent.professional == account_id,
            SectionConsent.category == category,
        )
    return person


async def block(view: DossierView, account_id: UUID) -> dict:
    """Refuse a professional everything on the dossier, from the next request: they leave the
    care circle and lose any emergency access under way."""
    async with _changing(view, Action.BLOCK, "professional", account_id):
        person = await professional(account_id)
        if account_id in view.facts.blocked:
            raise ControlError(_("This professional is already blocked."))
        if account_id == view.facts.medecin_traitant:
            raise ControlError(
                _(
                    "This professional is your médecin traitant. Choose another médecin "
                    "traitant, or none, before blocking them."
                )
            )
        await CircleMember.delete().where(
            CircleMember.dossier == view.id, CircleMember.professional == account_id
        )
        await EmergencyGrant.delete().where(
            EmergencyGrant.dossier == view.id, EmergencyGrant.professional == account_id
        )
        await SectionConsent.delete().where(
            SectionConsent.dossier == view.id, SectionConsent.professional == account_id
        )
        await Block.insert(Block(dossier=view.id, professional=account_id, since=view.now))
    return person


async def unblock(view: DossierView, account_id: UUID) -> dict:
    async with _changing(view, Action.UNBLOCK, "professional", account_id):
        person = await professional(account_id)
        if account_id not in view.facts.blocked:
            raise ControlError(_("This professional is not blocked."))
        await Block.delete().where(Block.dossier == view.id, Block.professional == account_id)
    return person


async def designate_medecin_traitant(view: DossierView, chosen: object) -> dict | None:
    """Designate a doctor (``chosen``: their account id, as the form sent it) as médecin
    traitant, or nobody (an empty ``chosen``)."""
    person = None
    async with _changing(view, Action.RIGHTS_CHANGE, "medecin_traitant", chosen):
        account_id = parse_account(chosen) if chosen else None
        if account_id is not None:
            person = await professional(account_id)
            if person["profession"] != "medecin":
                raise ControlError(_("The médecin traitant must be a doctor."))
            if account_id in view.facts.blocked:
                raise ControlError(_("You have blocked this doctor: unblock them first."))
            if account_id == view.facts.medecin_traitant:
                raise ControlError(_("This doctor is already your médecin traitant."))
        elif view.facts.medecin_traitant is None:
            raise ControlError(_("You have no médecin traitant."))
        await Dossier.update(
            {
                Dossier.medecin_traitant: account_id,
                Dossier.medecin_traitant_since: clock.now() if account_id else None,
            }
        ).where(Dossier.id == view.id)
    return person


async def set_opt_outs(view: DossierView, *, emergency: bool, samu: bool) -> None:
    """The patient's two opt-outs: refuse emergency access, refuse SAMU access."""
    async with _changing(view, Action.RIGHTS_CHANGE, "emergency_settings"):
        await Dossier.update(
            {Dossier.refuses_emergency_access: emergency, Dossier.refuses_samu_access: samu}
        ).where(Dossier.id == view.id)


def _changing(view: DossierView, action: Action, target_type: str, target: object = None):
    """Decide first (a refusal is traced and raised before anything is looked at), then
    check and change inside the transaction that traces it."""
    return view.acting(action, target_type=target_type, target_id=str(target or "")[:64])


async def set_masked(view: DossierView, document_id: UUID, masked: bool) -> dict:
    """Mask a document (seen then only by the patient's side, its author and the médecin
    traitant) or unmask it."""
    document = await view.document_row(document_id)
    async with view.acting(
        Action.MASK if masked else Action.UNMASK,
        item=item_of(document),
        target_type="document",
        target_id=str(document_id),
    ):
        if document["masked"] == masked:
            raise ControlError(
                _("This document is already masked.")
                if masked
                else _("This document is not masked.")
            )
        await Document.update({Document.masked: masked}).where(Document.id == document_id)
    return document


# --- the professional's requests -----------------------------------------------------------


async def declare_consent(request: Request, dossier_id: UUID) -> DossierView:
    """A professional declares, at a consultation, that the patient consents to their access.
    The patient is told when the professional first opens the dossier."""
    view = await open_dossier(request, dossier_id, Action.CONSENT, target_type="care_circle")
    async with view.acting(
        Action.CONSENT, target_type="care_circle", target_id=str(view.actor.account_id)
    ):
        if view.actor.account_id not in view.facts.circle:
            await CircleMember.insert(
                CircleMember(
                    dossier=view.id,
                    professional=view.actor.account_id,
                    joined=Joined.CONSENT,
                    since=view.now,
                )
            )
    return view


def emergency_reason_error(reason: str) -> str:
    """Why a written reason is not enough, or ""."""
    if len(reason) < REASON_MIN_LENGTH or len(reason.split()) < 3:
        return _(
            "Write the reason in a sentence: what is happening, and why the patient cannot consent."
        )
    if len(reason) > REASON_MAX_LENGTH:
        return _("Keep the reason under %(count)s characters.") % {"count": REASON_MAX_LENGTH}
    return ""


def call_reference_error(reference: str) -> str:
    if not CALL_REFERENCE.fullmatch(reference):
        return _(
            "Give the call reference as the regulation software shows it: 3 to 40 letters, "
            "digits, dashes or slashes."
        )
    return ""


async def start_emergency(
    request: Request, dossier_id: UUID, mode: GrantMode, detail: str
) -> DossierView:
    """Open an emergency ("bris de glace") or SAMU access for four hours, in a new login
    session; the patient's side and the médecin traitant are told. ``detail`` is the written
    reason or the call reference, checked by the caller."""
    action = Action.EMERGENCY_ACCESS if mode == GrantMode.EMERGENCY else Action.SAMU_ACCESS
    view = await open_dossier(request, dossier_id, action, detail=detail)
    session = sessions.current(request)
    async with view.acting(action, target_type="dossier", detail=detail):
        token = await sessions.replace(session, Stage.SIGNED_IN, request, emergency=True)
        new_session = (
            await LoginSession.select(LoginSession.id)
            .where(LoginSession.token_hash == sessions.digest(token))
            .first()
        )["id"]
        # The accesses this session held go on in the new one.
        await EmergencyGrant.update({EmergencyGrant.session_id: new_session}).where(
            EmergencyGrant.session_id == session.id
        )
        await EmergencyGrant.insert(
            EmergencyGrant(
                dossier=view.id,
                professional=view.actor.account_id,
                session_id=new_session,
                mode=mode,
                detail=detail,
                started_at=view.now,
                expires_at=view.now + EMERGENCY_DURATION,
            )
        )
        await _tell_of_emergency(view, mode, detail)
    sessions.issue_cookie(request, token)
    return view


async def _tell_of_emergency(view: DossierView, mode: GrantMode, detail: str) -> None:
    patient = f"{view.patient['first_name']} {view.patient['last_name']}"
    told = set(patient_side_accounts(view.facts))
    if view.facts.medecin_traitant:
        told.add(view.facts.medecin_traitant)
    for account_id in told:
        if mode == GrantMode.EMERGENCY:
            kind, params = notices.EMERGENCY_ACCESS, {"reason": detail}
        else:
            kind, params = notices.SAMU_ACCESS, {"reference": detail}
        await notify(
            account_id,
            kind,
            link=f"/dossiers/{view.id}/history",
            dossier=view.id,
            who=view.trace_actor.name,
            patient=patient,
            date=clock.day_and_time(view.now),
            **params,
        )
