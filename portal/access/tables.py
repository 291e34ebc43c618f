"""The facts of access that the patient and the professionals create: who is in a care
circle and how, who is blocked, and the emergency and SAMU accesses under way. Every change to
them goes through `portal.access.controls`, which traces it."""

from enum import StrEnum

from piccolo.columns import UUID, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.dossiers.tables import Dossier
from portal.identity.tables import Account


class Joined(StrEnum):
    """How a professional came into a care circle."""

    BY_PATIENT = "patient"  # the patient (or their representative) added them
    CONSENT = "consent"  # they declared the patient's consent at a consultation


class CircleMember(Table, tablename="care_circle"):
    """A professional of a dossier's care circle (the médecin traitant is on the dossier)."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    professional = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    joined = Varchar(length=16, choices=Joined)
    since = Timestamptz()
    #: Set at their first opening of the dossier, when the patient is told of it.
    first_access_at = Timestamptz(null=True, default=None)


class Block(Table, tablename="access_block"):
    """A professional the patient has blocked: refused everything on the dossier."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    professional = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    since = Timestamptz()


class GrantMode(StrEnum):
    EMERGENCY = "emergency"  # "bris de glace"
    SAMU = "samu"  # a SAMU regulation call


class EmergencyGrant(Table, tablename="emergency_grant"):
    """An emergency or SAMU access: for one login session, one dossier, a few hours."""

    id = UUID(primary_key=True)
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    professional = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    #: The login session it was opened in (a new one: the session id rotates).
    session_id = UUID(index=True)
    mode = Varchar(length=16, choices=GrantMode)
    #: The written reason (emergency) or the call reference (SAMU).
    detail = Text()
    started_at = Timestamptz()
    expires_at = Timestamptz()


class SectionConsent(Table, tablename="section_consent"):
    """A consent the patient gave a professional for one section of the dossier only (its
    category, e.g. ``sante_travail``): it opens that section to them and nothing else. The
    patient revokes it at any time (the row is deleted)."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    professional = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    category = Varchar(length=64)
    since = Timestamptz()
