"""Software access: the client applications the administrator registers, the grants people
(or a backend service's own registration) give them, and the codes and tokens issued under
those grants. Secrets are stored as SHA-256 digests, never as issued.

Every worker process reads the same rows: a token issued by one is honoured, revoked or
refused by any other on its very next request.
"""

from enum import StrEnum

from piccolo.columns import UUID, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.dossiers.tables import Dossier
from portal.identity.tables import Account


class ClientKind(StrEnum):
    #: Software a person uses, which acts for them once they consent (SMART App Launch:
    #: a GP's practice software, a patient's app). Public, or authenticated by its keys.
    APP = "app"
    #: A hospital's or laboratory's system, acting for its own professionals without a
    #: browser (SMART Backend Services): authenticated by its keys, deposits only.
    SYSTEM = "system"


class OAuthClient(Table, tablename="oauth_client"):
    id = UUID(primary_key=True)
    #: The public identifier the software sends (``client_id``).
    client_id = Varchar(length=64, unique=True)
    #: How people see it: on the consent page, their account and the access history.
    name = Varchar(length=120)
    kind = Varchar(length=16, choices=ClientKind)
    #: The exact addresses the authorization may return to, one per line.
    redirect_uris = Text(default="")
    #: Its public keys (a JSON Web Key Set), or where to fetch them: with either, it
    #: authenticates with a signed assertion (``private_key_jwt``); an app with neither is
    #: a public client.
    jwks = Text(default="")
    jwks_uri = Varchar(length=500, default="")
    #: The SMART scopes it may be granted, space-separated.
    scopes = Text(default="")
    created_at = Timestamptz()
    #: A suspended client is refused everything, its tokens included, until resumed.
    suspended_at = Timestamptz(null=True, default=None)


class ClientProfessional(Table, tablename="oauth_client_professional"):
    """A professional who belongs to a backend service: the system may deposit documents
    they wrote, naming them in each request."""

    client = ForeignKey(OAuthClient, on_delete=OnDelete.cascade, index=True)
    professional = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)


class OAuthGrant(Table, tablename="oauth_grant"):
    """What a person allowed an application to do for them (its consent), or what a backend
    service obtained with its own credentials (``account`` empty). Revoking a grant revokes
    every token issued under it at once."""

    id = UUID(primary_key=True)
    client = ForeignKey(OAuthClient, on_delete=OnDelete.cascade, index=True)
    account = ForeignKey(Account, null=True, on_delete=OnDelete.cascade, index=True)
    #: The scopes granted, space-separated: never more than the client may be given.
    scope = Text()
    #: The dossier its ``patient/`` scopes are about (SMART's patient in context).
    dossier = ForeignKey(Dossier, null=True, default=None, on_delete=OnDelete.cascade)
    created_at = Timestamptz()
    #: No token is issued under it after this.
    expires_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class AuthorizationCode(Table, tablename="oauth_authorization_code"):
    """The one-time code a consent sends back to the application, to exchange for tokens."""

    code_hash = Varchar(length=64, unique=True)
    grant = ForeignKey(OAuthGrant, on_delete=OnDelete.cascade, index=True)
    redirect_uri = Text()
    #: PKCE: the S256 challenge the application's verifier must match.
    code_challenge = Varchar(length=128)
    #: OpenID Connect: returned in the ID token, and when the person logged in.
    nonce = Varchar(length=255, default="")
    auth_time = Timestamptz()
    expires_at = Timestamptz()
    #: Set by the exchange: a code shown a second time revokes its grant.
    used_at = Timestamptz(null=True, default=None)


class OAuthToken(Table, tablename="oauth_token"):
    """An access token and, when the grant allows it, the refresh token issued with it."""

    id = UUID(primary_key=True)
    grant = ForeignKey(OAuthGrant, on_delete=OnDelete.cascade, index=True)
    access_token_hash = Varchar(length=64, unique=True)
    refresh_token_hash = Varchar(length=64, null=True, default=None, unique=True)
    scope = Text()
    issued_at = Timestamptz()
    expires_at = Timestamptz()  # the access token's
    refresh_expires_at = Timestamptz(null=True, default=None)
    #: Set when the refresh token was exchanged for new tokens: shown again, it revokes the
    #: whole grant (someone else holds a copy).
    refreshed_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class ClientAssertion(Table, tablename="oauth_client_assertion"):
    """The ``jti`` of each signed assertion a client authenticated with, until it expires: an
    assertion is accepted once."""

    #: SHA-256 of the client's id and the assertion's ``jti``.
    key = Varchar(length=64, unique=True)
    expires_at = Timestamptz(index=True)
