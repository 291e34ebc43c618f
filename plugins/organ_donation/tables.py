"""The positions on organ donation of a dossier, every one kept (the current one has no
``superseded_at``), and what the patient did to make a refusal count."""

from piccolo.columns import (
    Boolean,
    Date,
    ForeignKey,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal import crypto
from portal.dossiers.tables import Dossier
from portal.identity.tables import Account


class Position(Table, tablename="organ_donation_position"):
    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    #: no_objection, total_refusal or partial_refusal (`position.STANCES`).
    stance = Varchar(length=20)
    #: With no objection: "I want to be a donor".
    wants_to_donate = Boolean(default=False)
    #: A partial refusal: the organs and tissues, and the purposes, refused (keys, spaces).
    refused_organs = Varchar(length=200, default="")
    refused_purposes = Varchar(length=100, default="")
    message = Text(default="")
    #: The date the person gives to their position.
    stated_on = Date()
    recorded_at = Timestamptz()
    recorded_by = ForeignKey(Account, null=True, on_delete=OnDelete.set_null)
    recorded_by_name = Varchar(length=200, default="")
    #: "patient" or "representative": who recorded it for the patient.
    recorded_as = Varchar(length=20)
    superseded_at = Timestamptz(null=True, default=None)


# The patient's message, sealed under the dossier's data key (`portal.crypto`).
crypto.sealed(Position, Position.message)


class Step(Table, tablename="organ_donation_step"):
    """One of the three legal ways a refusal counts, which the patient says they took."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    position = ForeignKey(Position, on_delete=OnDelete.cascade)
    #: register, written or told (`position.WAYS`).
    way = Varchar(length=20)
    done_on = Date()
    recorded_at = Timestamptz()
    recorded_by = ForeignKey(Account, null=True, on_delete=OnDelete.set_null)
