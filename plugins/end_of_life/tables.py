"""The end-of-life wishes of a dossier: every revision of the advance directives and every
designation of the trusted person is a row of its own, never changed; the latest is the one
that counts (a revocation, or the end of a designation, is a revision too)."""

from enum import StrEnum

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal import crypto
from portal.dossiers.tables import Dossier
from portal.identity.tables import Account


class DirectivesKind(StrEnum):
    WRITTEN = "written"  # written here, following the HAS model form
    ELSEWHERE = "elsewhere"  # written on paper, kept somewhere: where, and who holds them
    REVOKED = "revoked"  # the patient revoked their directives: none are valid


class Directives(Table, tablename="end_of_life_directives"):
    """One revision of the advance directives (directives anticipées)."""

    id = UUID(primary_key=True)
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    #: 1 for the first revision of the dossier, then 2, 3…
    number = Integer()
    kind = Varchar(length=16, choices=DirectivesKind)
    #: ``health`` (written in good health) or ``illness`` (with a serious illness).
    situation = Varchar(length=16, default="")
    #: The answers to the form's questions and the texts, by question key (`wishes.QUESTIONS`).
    answers = JSON(default={})
    elsewhere_place = Text(default="")
    elsewhere_holder = Text(default="")
    #: When the person could not write: the two witnesses, as ``[{"name", "quality"}]``.
    witnesses = JSON(default=[])
    #: Written by a legal representative, with the authorisation the law requires.
    on_behalf = Boolean(default=False)
    author = ForeignKey(Account, null=True, on_delete=OnDelete.set_null)
    author_name = Varchar(length=200)
    created_at = Timestamptz()


class TrustedPerson(Table, tablename="end_of_life_trusted_person"):
    """One designation of the trusted person (personne de confiance), or its end."""

    id = UUID(primary_key=True)
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    number = Integer()
    #: The patient no longer has a trusted person (the other columns are empty).
    removed = Boolean(default=False)
    #: Sealed (below), hence text: the form bounds their lengths (`wishes.NAME_MAX`…).
    name = Text(default="")
    relation = Text(default="")
    phone = Text(default="")
    email = Text(default="")
    #: The day the person accepted (co-signed the designation), if they have yet.
    accepted_on = Date(null=True, default=None)
    on_behalf = Boolean(default=False)
    author = ForeignKey(Account, null=True, on_delete=OnDelete.set_null)
    author_name = Varchar(length=200)
    created_at = Timestamptz()


# The wishes and the trusted person's details, sealed under the dossier's data key
# (`portal.crypto`).
crypto.sealed(
    Directives,
    Directives.answers,
    Directives.elsewhere_place,
    Directives.elsewhere_holder,
    Directives.witnesses,
)
crypto.sealed(
    TrustedPerson,
    TrustedPerson.name,
    TrustedPerson.relation,
    TrustedPerson.phone,
    TrustedPerson.email,
)


class Reminder(Table, tablename="end_of_life_reminder"):
    """When the patient's side was last invited to review the wishes of a dossier."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True, unique=True)
    reminded_at = Timestamptz()
