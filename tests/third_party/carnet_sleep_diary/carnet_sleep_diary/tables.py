from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal import crypto
from portal.dossiers.tables import Dossier
from portal.identity.tables import Account


class Night(Table, tablename="sleep_diary_night"):
    """A night as the patient noted it. Its rows go with the dossier when it is purged."""

    dossier = ForeignKey(Dossier, on_delete=OnDelete.cascade, index=True)
    night_of = Date()
    hours = Integer()
    note = Text(default="")
    author = ForeignKey(Account, null=True, on_delete=OnDelete.set_null)
    author_name = Varchar(length=200, default="")
    noted_at = Timestamptz()


crypto.sealed(Night, Night.note)  # medical text: stored encrypted under the dossier's key
