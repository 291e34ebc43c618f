"""The section's tables: every vaccination recorded (each correction a new version), and the
reminders already sent."""

from piccolo.columns import (
    UUID,
    Boolean,
    Date,
    ForeignKey,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portal import crypto
from portal.dossiers.tables import Dossier
from portal.identity.tables import Account


class Vaccination(Table, tablename="vaccination_record"):
    """One vaccination, as one version: a correction supersedes it by a new row of the same
    ``lineage`` (the first version's id), so the history is kept."""

    id = UUID(primary_key=True)
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    lineage = UUID(index=True)
    superseded_at = Timestamptz(null=True, default=None)
    #: A key of the shipped reference list (`reference.VACCINES`).
    vaccine = Varchar(length=40)
    given_on = Date()
    #: "1", "2", "3", "4", "booster" or "" (not known).
    dose = Varchar(length=20, default="")
    lot = Varchar(length=40, default="")
    vaccinator_name = Varchar(length=200, default="")
    place = Varchar(length=200, default="")
    route = Varchar(length=20, default="")
    site = Varchar(length=40, default="")
    notes = Text(default="")
    #: Who wrote this version, with their name and profession as they were then.
    author = ForeignKey(Account, null=True, on_delete=OnDelete.set_null, index=True)
    author_name = Varchar(length=200)
    author_profession = Varchar(length=40, default="")
    created_at = Timestamptz()
    #: Copied by the patient's side from a paper carnet, and not yet confirmed by a
    #: professional.
    declared_by_patient = Boolean(default=False)
    #: The professional who confirmed what the patient declared.
    confirmed_by_name = Varchar(length=200, default="")
    #: The form submission that made this version: the same form sent twice saves once.
    submission = UUID(null=True, default=None, unique=True)


crypto.sealed(Vaccination, Vaccination.notes)


class Reminder(Table, tablename="vaccination_reminder"):
    """A reminder sent for one rule of the schedule falling due on one date: sent once."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    rule = Varchar(length=40)
    due_on = Date()
    sent_at = Timestamptz()
