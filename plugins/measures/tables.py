"""The readings of a dossier's health measures; they go with the dossier when it is purged."""

from piccolo.columns import DoublePrecision, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from portal.dossiers.tables import Dossier
from portal.identity.tables import Account


class Reading(Table, tablename="measures_reading"):
    """One reading of a measure (`kinds.KINDS`), in its unit, at the time it was taken."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    #: The measure's key: weight, blood_pressure, heart_rate, glucose, temperature...
    kind = Varchar(length=30)
    #: Its first number; a blood pressure's systolic.
    value = DoublePrecision()
    #: Its second number: a blood pressure's diastolic; None for a measure of one number.
    second_value = DoublePrecision(null=True, default=None)
    measured_at = Timestamptz()
    author = ForeignKey(Account, null=True, on_delete=OnDelete.set_null)
    author_name = Varchar(length=200, default="")
    recorded_at = Timestamptz()
