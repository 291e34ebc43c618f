from piccolo.columns import JSON, UUID, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.dossiers.tables import Dossier
from portal.identity.tables import Account


class OutboxMessage(Table, tablename="outbox_message"):
    """Messages sent by the development channel, listed on the dev-only outbox page."""

    id = UUID(primary_key=True)
    recipient = Varchar(length=254)
    subject = Varchar(length=200)
    body = Text()
    created_at = Timestamptz()


class Notification(Table, tablename="notification"):
    """Something a person should know: shown in their notification centre, and sent through
    the messaging channel when they asked for it. Stored as a kind and its parameters, so it
    is shown in the language of whoever reads it. One about a dossier names it, and goes with
    it when it is purged."""

    id = UUID(primary_key=True)
    account = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=40)
    params = JSON(default="{}")
    link = Varchar(length=300, default="")
    dossier = ForeignKey(Dossier, null=True, default=None, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)


class KnownDevice(Table, tablename="known_device"):
    """The browsers an account has logged in from, by a digest of their description."""

    account = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    fingerprint = Varchar(length=64)
    first_seen = Timestamptz()
    last_seen = Timestamptz()
