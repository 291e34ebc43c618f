"""The dossier and the people who act for its patient.

Every table about a patient's data carries the dossier's id: the key on which the data can be
sharded later (ARCHITECTURE.md).
"""

from enum import StrEnum

from piccolo.columns import UUID, Boolean, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from portal.identity.tables import Account, Patient


class DossierStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # archived: all professional access has ended


class Dossier(Table, tablename="dossier"):
    id = UUID(primary_key=True)
    patient = ForeignKey(Patient, unique=True, on_delete=OnDelete.restrict)
    status = Varchar(length=16, default=DossierStatus.OPEN, choices=DossierStatus)
    created_at = Timestamptz()
    #: How it was opened: online, pharmacy, insurer, professional, demo.
    created_through = Varchar(length=20)
    consent_at = Timestamptz()  # the patient's (or representative's) recorded consent
    medecin_traitant = ForeignKey(Account, null=True, on_delete=OnDelete.set_null)
    refuses_emergency_access = Boolean(default=False)
    refuses_samu_access = Boolean(default=False)
    closed_at = Timestamptz(null=True, default=None)


class Representative(Table, tablename="representative"):
    """A legal representative of a minor or protected adult: acts for them on their dossier."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    account = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    since = Timestamptz()
