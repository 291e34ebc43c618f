from piccolo.columns import UUID, Text, Timestamptz, Varchar
from piccolo.table import Table


class OutboxMessage(Table, tablename="outbox_message"):
    """Messages sent by the development channel, listed on the dev-only outbox page."""

    id = UUID(primary_key=True)
    recipient = Varchar(length=254)
    subject = Varchar(length=200)
    body = Text()
    created_at = Timestamptz()
