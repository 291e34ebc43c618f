"""`decide()`: the one function that says whether a person may do something on a dossier.

It is pure: it reads only the facts it is given (loaded fresh for every request by
`portal.access.facts`, so a change of rights applies on the very next one), and the whole
policy of ACCESS.md is in this file:

The patient's side (the patient, and the legal representatives of a minor or protected adult)
  reads every category of the dossier, and the access history; manages the care circle, the
  blocks, the masks and the opt-outs; closes, reopens and deletes the dossier; adds documents
  to the categories marked ``by_patient``; reports a line of the medical summary as wrong
  (`Act.FLAG`).
  Except: a document a professional hides from the patient until it is announced (for them
  and their representatives), and a document hidden from the representatives (for them).
  A closed dossier can still be read by them, not written to.
  The position on organ donation is the patient's own to record from 13, their
  representatives' before (``don_organes``); end-of-life wishes are written from 18
  (``directives``).
  They never decide who sees a document (`Act.HIDE`) nor confirm what they copied
  themselves (`Act.CONFIRM`).
A professional acts only
  - on an open dossier,
  - when the patient has not blocked them (a block beats every other grant),
  - from a standing: médecin traitant, care circle (added by the patient, or consent declared
    at a consultation), a consent the patient gave them for one section only, or an emergency /
    SAMU access under way; nobody else gets anything;
  - reading the categories the matrix gives their profession (the médecin traitant: all;
    a SAMU regulator: only the emergency-relevant ones), and never a document the patient
    masked unless they wrote it or are the médecin traitant (masks hold in emergencies);
  - writing the categories the matrix gives their profession (the médecin traitant alone
    writes the medical summary), never during an emergency or SAMU access, and changing only
    what they wrote;
  - hiding a document they add or wrote from the patient until it is announced, or from the
    representatives, and showing it again (`Act.HIDE`); confirming a record the patient
    copied (`Act.CONFIRM`), as they would add it; never reporting a summary line (`Act.FLAG`).
A consent scoped to a section (`BY_SCOPED_CONSENT`) is the patient's, given to one named
  professional of a profession the policy names for that section, and revocable at any time:
  it lets them see who the patient is, and read and write that section's category, nothing
  else of the dossier. Those categories follow their own named rules, whatever the matrix
  file says: the patient's side reads them, the médecin traitant reads them, the holder of a
  scoped consent reads them and writes them (changing only what they wrote); nobody else,
  not in the care circle, not in an emergency, not by SAMU, not even as the author of a record
  once the consent is revoked; a refusal there answers 404, so that not even the existence of
  the section's records shows. Occupational health (``sante_travail``) is such a section: it
  never reaches an employer, and there is no employer role (ACCESS.md). Opening it to anyone
  else means changing `BY_SCOPED_CONSENT` here, on purpose.
An emergency access ("bris de glace") is for the professions of the matrix's ``[emergency]``
  list, a SAMU access for regulators; each is refused when the patient opted out of it.
The insurer agent adds reimbursement data to open dossiers and reads nothing; the
  administrator reads nothing: neither ever sees medical content, not even a title.
Anything else is refused: deny by default.
Software acting for a person (a token, `portal.oauth`) is decided as that person, then held to
  its `Reach`: the actions its scopes grant, in the one dossier of its patient context if it
  has one. Scopes narrow what the person may do by hand; they never widen it.

Opening a new dossier (`may_create`, always with the patient's recorded consent): a
  professional or the insurer's agent, for the patient in front of them; a person's own
  account only for a minor, whom they then represent (an adult opens their own online).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from uuid import UUID

from portal import clock
from portal.access.matrix import Matrix
from portal.access.tables import GrantMode, Joined
from portal.audit import Action, Mode, Purpose
from portal.dossiers.tables import DossierStatus
from portal.i18n import gettext_lazy as _
from portal.identity.tables import PERSON_ROLES, PROFESSIONAL_ROLES, Role

#: What is known of the accesses to the dossier (who has access, and the access history): a
#: part of the dossier only the patient's side reads.
ABOUT_ACCESS = "about_access"
#: The patient's personal notes, in their own space: only the patient's side reads them.
PERSONAL_NOTES = "personal_notes"
#: The parts of a dossier that are the patient's side's alone.
PATIENT_ONLY = frozenset({ABOUT_ACCESS, PERSONAL_NOTES})
#: The medical summary (volet de synthèse médicale): the médecin traitant writes it.
SUMMARY = ("synthese", "resume")
#: The occupational health record (dossier médical en santé au travail).
OCCUPATIONAL_HEALTH = "sante_travail"
#: The categories read and written only through a consent the patient gave for them alone, with
#: the professions who may hold such a consent. These are the only professionals who read them,
#: besides the patient's side and the médecin traitant: the matrix file has no say.
BY_SCOPED_CONSENT: Mapping[str, frozenset[str]] = MappingProxyType(
    {OCCUPATIONAL_HEALTH: frozenset({"medecin_du_travail", "infirmier_sante_travail"})}
)

#: The position on organ donation: the patient records it from `OWN_POSITION_AGE`, their
#: legal representatives before (Code de la santé publique, L1232-1 and R1232-6).
ORGAN_DONATION = "don_organes"
OWN_POSITION_AGE = 13
#: Advance directives and the trusted person: written from `ADULT_AGE` (L1111-6, L1111-11).
END_OF_LIFE = "directives"
ADULT_AGE = 18


class Act(StrEnum):
    """What a person does in a dossier besides reading and writing a category, each with a
    rule of its own; traced as the write it is (`traced_as`)."""

    #: Keep a document from the patient until it is announced, or from the representatives;
    #: announce it, or show it to them.
    HIDE = "hide"
    #: Confirm a record the patient copied themselves (a vaccination from a paper carnet).
    CONFIRM = "confirm"
    #: Report a line of the medical summary as wrong.
    FLAG = "flag"


_TRACED_AS = {Act.HIDE: Action.UPDATE, Act.CONFIRM: Action.CREATE, Act.FLAG: Action.CREATE}


def traced_as(action: Action | Act) -> Action:
    """The action the audit trail records for ``action``."""
    return _TRACED_AS.get(action, action)


READS = frozenset({Action.VIEW, Action.DOWNLOAD, Action.PRINT, Action.EXPORT})
WRITES = frozenset({Action.CREATE, Action.UPDATE})
#: The patient's controls over their dossier.
PATIENT_CONTROLS = frozenset(
    {
        *(Action.MASK, Action.UNMASK, Action.BLOCK, Action.UNBLOCK, Action.RIGHTS_CHANGE),
        *(Action.VERIFY, Action.CLOSE, Action.REOPEN, Action.PURGE),
    }
)


@dataclass(frozen=True)
class Reach:
    """How far software acting for the person may go on this request (its token's scopes)."""

    actions: frozenset[Action]
    #: Scopes about one patient (``patient/…``): their dossier only.
    dossier: UUID | None = None


@dataclass(frozen=True)
class Actor:
    """The signed-in person asking."""

    account_id: UUID
    role: str
    profession: str = ""  # professionals only
    #: None in a browser; through software, what its token reaches.
    reach: Reach | None = None


@dataclass(frozen=True)
class Grant:
    """An emergency or SAMU access the asker's session holds on the dossier."""

    mode: GrantMode
    detail: str  # the written reason, or the call reference
    expires_at: datetime


@dataclass(frozen=True)
class DossierFacts:
    """What the policy needs to know of a dossier and of the asker's standing in it."""

    id: UUID
    status: str
    patient_account: UUID | None
    representatives: frozenset[UUID] = frozenset()
    medecin_traitant: UUID | None = None
    #: The care circle: each professional's account, and how they joined it.
    circle: Mapping[UUID, Joined] = field(default_factory=dict)
    blocked: frozenset[UUID] = frozenset()
    #: Consents scoped to sections: each professional's account, and the categories given.
    scoped: Mapping[UUID, frozenset[str]] = field(default_factory=dict)
    refuses_emergency_access: bool = False
    refuses_samu_access: bool = False
    #: The asker's own emergency or SAMU access, if their session holds one.
    grant: Grant | None = None
    #: Professionals who joined on a consent declared at a consultation and have not used
    #: the dossier since: the patient is told at their first use (not a matter of rights).
    unannounced: frozenset[UUID] = frozenset()
    #: The patient's date of birth (some rights come with age), and first name (to say so).
    birth_date: date | None = None
    first_name: str = ""


@dataclass(frozen=True)
class Item:
    """A document (or a plugin's record), with what decides who sees it."""

    category: str
    type: str = ""
    author: UUID | None = None
    masked: bool = False
    hidden_until: datetime | None = None  # hidden from the patient until then
    hidden_from_representatives: bool = False

    def hidden_from_patient(self, now: datetime) -> bool:
        return self.hidden_until is not None and now < self.hidden_until


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: Why, as the audit trail keeps it ("médecin traitant", "blocked by the patient").
    reason: str
    purpose: Purpose | str = ""
    mode: Mode = Mode.NORMAL
    #: How a refusal answers: 404 where even the existence of the dossier or document must
    #: not show, 403 inside a dossier the asker may open.
    status: int = 404
    #: What a 403 tells the asker, when there is more to say than a refusal.
    message: str = ""
    #: The only categories the standing reaches (a consent scoped to a section); empty when
    #: the standing is not limited that way.
    scope: frozenset[str] = frozenset()


def refused(reason: str, status: int = 404, message: str = "") -> Decision:
    return Decision(False, reason, status=status, message=message)


def decide(
    actor: Actor,
    dossier: DossierFacts,
    action: Action | Act,
    category: str | None = None,
    item: Item | None = None,
    *,
    matrix: Matrix,
    now: datetime,
) -> Decision:
    """May ``actor`` do ``action`` (an `Action` or an `Act`) on ``dossier`` (on the whole of it
    when ``category`` and ``item`` are None, on a category, or on one item of it)?"""
    decision = _decide_for_person(actor, dossier, action, category, item, matrix, now)
    reach = actor.reach
    if reach is None or not decision.allowed:
        return decision
    if reach.dossier is not None and reach.dossier != dossier.id:
        return refused("outside the application's patient")
    if traced_as(action) not in reach.actions:
        return refused(
            "outside the application's scopes",
            403,
            _("The application was not allowed to do this for you."),
        )
    return decision


def _decide_for_person(
    actor: Actor,
    dossier: DossierFacts,
    action: Action | Act,
    category: str | None,
    item: Item | None,
    matrix: Matrix,
    now: datetime,
) -> Decision:
    document_type = ""
    if item is not None:
        category, document_type = item.category, item.type
    if category is not None and category not in PATIENT_ONLY and category not in matrix.categories:
        return refused(f"unknown category {category}")
    side = _patient_side(actor, dossier)
    if side:
        return _for_patient_side(side, dossier, action, category, item, matrix, now)
    if actor.role in PROFESSIONAL_ROLES:
        return _for_professional(actor, dossier, action, category, document_type, item, matrix, now)
    if actor.role == Role.INSURER_AGENT:
        return _for_insurer(dossier, action, category, item)
    if actor.role in PERSON_ROLES:
        return refused("not their dossier")
    return refused("never medical content")


def may_create(actor: Actor, *, minor: bool) -> Decision:
    """May ``actor`` open a dossier for a patient (a ``minor`` or not)?"""
    if actor.role == Role.PROFESSIONAL:
        return Decision(True, "professional, with the patient's consent", Purpose.TREAT)
    if actor.role == Role.INSURER_AGENT:
        return Decision(True, "insurer's office, with the patient's consent", Purpose.HOPERAT)
    if actor.role in PERSON_ROLES:
        if minor:
            return Decision(True, "legal representative", Purpose.PATRQT)
        return refused(
            "an adult opens their own dossier",
            403,
            _("An adult opens their own record, or has it opened at a pharmacy."),
        )
    return refused("does not open dossiers", 403)


def _patient_side(actor: Actor, dossier: DossierFacts) -> str:
    """Whether the asker acts for the patient; only a person's account can (a professional
    who is also a parent uses their own personal account)."""
    if actor.role not in PERSON_ROLES:
        return ""
    if dossier.patient_account is not None and actor.account_id == dossier.patient_account:
        return "patient"
    if actor.account_id in dossier.representatives:
        return "representative"
    return ""


def patient_side_accounts(dossier: DossierFacts) -> frozenset[UUID]:
    """Who acts for the patient: the patient (when they have an account) and their
    representatives. They are the ones told of what happens to the dossier."""
    own = {dossier.patient_account} if dossier.patient_account else set()
    return frozenset(own | dossier.representatives)


def _for_patient_side(
    side: str,
    dossier: DossierFacts,
    action: Action | Act,
    category: str | None,
    item: Item | None,
    matrix: Matrix,
    now: datetime,
) -> Decision:
    if item is not None and item.hidden_from_patient(now):
        return refused("hidden from the patient until announced")
    if item is not None and side == "representative" and item.hidden_from_representatives:
        return refused("hidden from the representatives")
    allowed = Decision(True, side, Purpose.PATRQT)
    if action in READS or action in PATIENT_CONTROLS:
        return allowed
    if action == Act.HIDE:
        return refused(
            "a professional decides who sees a document",
            403,
            _("Only the professional who wrote it can do this."),
        )
    if action == Act.CONFIRM:
        return refused(
            "a professional confirms what the patient copied",
            403,
            _("Only a professional confirms a vaccination declared by the patient."),
        )
    if action in WRITES or action == Act.FLAG:
        if dossier.status != DossierStatus.OPEN:
            return refused("dossier closed", 403)
        if action == Act.FLAG:
            return allowed
        if category is None or not matrix.by_patient(category):
            return refused("written by professionals only", 403)
        if item is not None and item.author not in patient_side_accounts(dossier):
            return refused("only the author changes a document", 403)
        return _by_age(side, dossier, category, now) or allowed
    return refused("not an action on a dossier", 403)


def _by_age(side: str, dossier: DossierFacts, category: str, now: datetime) -> Decision | None:
    """The refusal of a write the patient's age does not allow on this side, if any."""
    if dossier.birth_date is None or category not in (ORGAN_DONATION, END_OF_LIFE):
        return None
    age = clock.age_on(dossier.birth_date, now.date())
    if category == END_OF_LIFE and age < ADULT_AGE:
        return refused(
            "end-of-life wishes are written from 18",
            403,
            _(
                "Advance directives and the trusted person are for adults: they can be "
                "written from the age of 18."
            ),
        )
    if category == ORGAN_DONATION and age < OWN_POSITION_AGE and side == "patient":
        return refused(
            "under 13, the representatives record the position",
            403,
            _(
                "You are under 13: your position on organ donation is recorded by your legal "
                "representatives. Talk about it with them."
            ),
        )
    if category == ORGAN_DONATION and age >= OWN_POSITION_AGE and side == "representative":
        return refused(
            "from 13, the position is the patient's own",
            403,
            _(
                "From the age of 13, the position on organ donation is %(name)s’s own: they "
                "record it themselves, with their own account."
            )
            % {"name": dossier.first_name},
        )
    return None


def _standing(actor: Actor, dossier: DossierFacts, matrix: Matrix, now: datetime) -> Decision:
    """How a professional stands in the dossier: allowed with the reason, or refused."""
    if dossier.medecin_traitant == actor.account_id:
        return Decision(True, "médecin traitant", Purpose.TREAT)
    joined = dossier.circle.get(actor.account_id)
    if joined == Joined.BY_PATIENT:
        return Decision(True, "care circle: added by the patient", Purpose.TREAT)
    if joined == Joined.CONSENT:
        return Decision(True, "care circle: consent declared at a consultation", Purpose.TREAT)
    scope = scoped_categories(actor, dossier)
    if scope:
        return Decision(
            True, f"consent scoped to {', '.join(sorted(scope))}", Purpose.TREAT, scope=scope
        )
    grant = dossier.grant
    if grant is None or now >= grant.expires_at:
        return refused("not in the care circle")
    if grant.mode == GrantMode.EMERGENCY:
        return _may_use_emergency(actor, dossier, matrix)
    if grant.mode == GrantMode.SAMU:
        return _may_use_samu(actor, dossier)
    return refused("not in the care circle")


def _may_use_emergency(actor: Actor, dossier: DossierFacts, matrix: Matrix) -> Decision:
    if actor.role != Role.PROFESSIONAL or actor.profession not in matrix.emergency_professions:
        return refused(
            "profession without emergency access",
            403,
            _("Emergency access is for doctors, midwives and nurses."),
        )
    if dossier.refuses_emergency_access:
        return refused(
            "the patient refuses emergency access",
            403,
            _(
                "This patient has refused emergency access to their record. "
                "Your request is recorded."
            ),
        )
    return Decision(True, "emergency access", Purpose.BTG, Mode.EMERGENCY)


def _may_use_samu(actor: Actor, dossier: DossierFacts) -> Decision:
    if actor.role != Role.SAMU_REGULATOR:
        return refused("SAMU regulators only", 403, _("SAMU access is for regulators."))
    if dossier.refuses_samu_access:
        return refused(
            "the patient refuses SAMU access",
            403,
            _("This patient has refused SAMU access to their record. Your request is recorded."),
        )
    return Decision(True, "SAMU regulation", Purpose.ETREAT, Mode.SAMU)


def _for_professional(
    actor: Actor,
    dossier: DossierFacts,
    action: Action | Act,
    category: str | None,
    document_type: str,
    item: Item | None,
    matrix: Matrix,
    now: datetime,
) -> Decision:
    if dossier.status != DossierStatus.OPEN:
        return refused("dossier closed")
    if actor.account_id in dossier.blocked:
        return refused("blocked by the patient")
    if action == Action.CONSENT:
        if actor.role != Role.PROFESSIONAL:
            return refused("professionals of care only", 403)
        return Decision(True, "consent declared at a consultation", Purpose.TREAT)
    if action == Action.EMERGENCY_ACCESS:
        return _may_use_emergency(actor, dossier, matrix)
    if action == Action.SAMU_ACCESS:
        return _may_use_samu(actor, dossier)
    standing = _standing(actor, dossier, matrix, now)
    if not standing.allowed:
        return standing
    if action == Act.FLAG:
        return refused("the patient's side reports summary lines", 403)
    if action == Act.HIDE and item is None:
        return standing  # they may choose whom a document they add is hidden from
    if action in (Act.HIDE, Act.CONFIRM):
        # Hiding what one wrote is changing it; confirming a copy is adding one's own record.
        action = Action.UPDATE if action == Act.HIDE else Action.CREATE
    if item is not None and action not in READS:
        # A document one may not read does not exist for one, whatever one wants to do to it.
        seen = _for_professional(
            actor, dossier, Action.VIEW, category, document_type, item, matrix, now
        )
        if not seen.allowed:
            return refused(seen.reason)
    traitant = dossier.medecin_traitant == actor.account_id
    author = item is not None and item.author == actor.account_id
    if category in BY_SCOPED_CONSENT:
        return _by_scoped_consent(actor, dossier, action, category, item, standing)
    if standing.scope and category is not None:
        return refused(
            f"a consent scoped to {', '.join(sorted(standing.scope))} does not reach {category}",
            404 if item is not None else 403,
            _("The patient opened only one part of their record to you."),
        )
    if action in READS:
        if category is None:
            return standing  # the dossier itself: who the patient is, what one may read in it
        if category in PATIENT_ONLY:
            return refused(f"{category} is the patient's business", 403)
        if not (traitant or author or _reads(actor, standing, matrix, category, document_type)):
            # A document of a category one does not read does not exist for one (404).
            return refused(
                f"{actor.profession or actor.role} does not read {category}",
                404 if item is not None else 403,
                _("Your profession does not read this part of the record."),
            )
        if item is not None and item.masked and not (traitant or author):
            return refused("masked by the patient")
        return standing
    if action in WRITES:
        if standing.mode != Mode.NORMAL:
            return refused("emergency access only reads", 403)
        if category is None:
            return refused("no category", 403)
        if (category, document_type) == SUMMARY:
            if not traitant:
                return refused("the médecin traitant writes the summary", 403)
        elif not matrix.may_write(actor.profession, category, document_type):
            return refused(f"{actor.profession} does not write {category}", 403)
        summary = item is not None and (item.category, item.type) == SUMMARY
        if item is not None and not author and not (traitant and summary):
            return refused("only the author changes a document", 403)
        return standing
    return refused("the patient's controls", 403)


def scoped_categories(actor: Actor, dossier: DossierFacts) -> frozenset[str]:
    """The categories the patient opened to ``actor`` by a consent scoped to them, for as long
    as the policy names ``actor``'s profession for them."""
    if actor.role != Role.PROFESSIONAL:
        return frozenset()
    return frozenset(
        category
        for category in dossier.scoped.get(actor.account_id, ())
        if actor.profession in BY_SCOPED_CONSENT.get(category, ())
    )


def _by_scoped_consent(
    actor: Actor,
    dossier: DossierFacts,
    action: Action,
    category: str,
    item: Item | None,
    standing: Decision,
) -> Decision:
    """A category of `BY_SCOPED_CONSENT`: the médecin traitant reads it, the holder of the
    patient's consent for it reads and writes it; for anyone else it does not exist (404)."""
    traitant = actor.role == Role.PROFESSIONAL and dossier.medecin_traitant == actor.account_id
    holder = standing.mode == Mode.NORMAL and category in scoped_categories(actor, dossier)
    author = item is not None and item.author == actor.account_id
    if not (traitant or holder):
        return refused(f"{category}: only with the patient's consent scoped to it")
    if item is not None and item.masked and not (traitant or author):
        return refused("masked by the patient")
    reason = Decision(True, f"consent scoped to {category}", Purpose.TREAT)
    if action in READS:
        return standing if traitant else reason
    if action in WRITES:
        if not holder:
            return refused(f"{category} is written by the holder of a scoped consent", 403)
        if item is not None and not author:
            return refused("only the author changes a document", 403)
        return reason
    return refused("the patient's controls", 403)


def _reads(
    actor: Actor, standing: Decision, matrix: Matrix, category: str, document_type: str
) -> bool:
    if standing.mode == Mode.SAMU and category not in matrix.samu_categories:
        return False
    return matrix.may_read(actor.profession, category, document_type)


def _for_insurer(
    dossier: DossierFacts, action: Action, category: str | None, item: Item | None
) -> Decision:
    if (
        action == Action.CREATE
        and category == "remboursement"
        and item is None
        and dossier.status == DossierStatus.OPEN
    ):
        return Decision(True, "insurer import", Purpose.HPAYMT)
    return refused("never medical content")
