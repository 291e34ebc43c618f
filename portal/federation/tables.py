"""Who logs in through a national identity provider, and the logins on their way there."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.identity.tables import Account


class FederatedIdentity(Table, tablename="federated_identity"):
    """A person's identity at a provider, linked to their account: one per account and
    provider, and one account per identity (both unique, see the migration).

    An unlinked identity keeps its row, marked: the provider's logins stop there, and a Pro
    Santé Connect login does not link the account again by its RPPS number.
    """

    id = UUID(primary_key=True)
    account = ForeignKey(Account, on_delete=OnDelete.cascade)
    provider = Varchar(length=20)  # see portal.federation.providers
    #: Pro Santé Connect: the RPPS number; FranceConnect: the ``sub`` it gives Carnet.
    subject = Varchar(length=255)
    linked_at = Timestamptz()
    last_login_at = Timestamptz(null=True, default=None)
    unlinked_at = Timestamptz(null=True, default=None)


class FederatedLoginAttempt(Table, tablename="federated_login_attempt"):
    """A login (or a link) sent to a provider, until its answer comes back: what the answer
    must match. The ``state`` sent is known only by its digest, and so is the random value of
    the browser's cookie that started it; the answer uses it once (it is deleted)."""

    id = UUID(primary_key=True)
    state_hash = Varchar(length=64, unique=True)
    browser_hash = Varchar(length=64)
    provider = Varchar(length=20)
    #: "login", or "link" to link the provider to the account of ``session``.
    purpose = Varchar(length=8)
    #: The session of the browser when it started, if any: replaced by a login, the one to
    #: link for a link.
    session = UUID(null=True, default=None)
    nonce = Varchar(length=64)
    code_verifier = Varchar(length=128)
    #: Where to go once logged in (a path within the portal).
    next = Text(default="")
    expires_at = Timestamptz()
