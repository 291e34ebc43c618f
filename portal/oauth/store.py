"""What the authorization server keeps, read and written asynchronously: clients, grants, codes,
tokens and the assertions already seen; and the objects authlib's grants work with.

Secrets (codes, tokens) are stored as SHA-256 digests. Every single use is a conditional
update (``… WHERE used_at IS NULL RETURNING``): of two requests racing with the same code or
refresh token, one wins and the other is a reuse, which revokes the whole grant.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

from portal import audit, clock, db
from portal.audit import Action, Outcome, Purpose
from portal.identity.accounts import actor_of
from portal.identity.tables import Account
from portal.oauth import scopes
from portal.oauth.tables import (
    AuthorizationCode,
    ClientAssertion,
    ClientKind,
    OAuthClient,
    OAuthGrant,
    OAuthToken,
)

#: SECURITY.md: short access tokens. A stolen one is worth ten minutes at most, and a
#: revoked grant, a suspended client, a disabled account end it at once anyway.
ACCESS_TOKEN_LIFETIME = timedelta(minutes=10)
#: Enough to come back from the consent page; the code is single-use and bound to PKCE.
CODE_LIFETIME = timedelta(minutes=5)
#: ``offline_access``: the application keeps acting for the person until then (or until they
#: revoke it); each refresh token is single-use, replaced at every refresh.
OFFLINE_LIFETIME = timedelta(days=90)
#: ``online_access``: as long as a login session lasts at most.
ONLINE_LIFETIME = timedelta(hours=12)
#: An assertion's ``jti`` is remembered past the longest an assertion may live (five minutes,
#: plus the clock skew tolerated).
ASSERTION_KEPT = timedelta(minutes=10)
#: How often a grant's "last used" is written: a minute is precise enough for the person.
TOUCH_INTERVAL = timedelta(seconds=60)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def grant_lifetime(scope: str) -> timedelta:
    """How long a person's grant of ``scope`` lasts: with a refresh token, 90 days
    (``offline_access``) or 12 hours (``online_access``); else one access token's time."""
    granted = set(scope.split())
    if "offline_access" in granted:
        return OFFLINE_LIFETIME
    if "online_access" in granted:
        return ONLINE_LIFETIME
    return CODE_LIFETIME + ACCESS_TOKEN_LIFETIME


# --- what authlib's grants work with ---------------------------------------------------------


@dataclass(frozen=True)
class Client(ClientMixin):
    id: UUID
    client_id: str
    name: str
    kind: str
    redirect_uris: tuple[str, ...]
    jwks: str
    jwks_uri: str
    scope: str
    suspended: bool

    @classmethod
    def of(cls, row: dict) -> Client:
        return cls(
            id=row["id"],
            client_id=row["client_id"],
            name=row["name"],
            kind=row["kind"],
            redirect_uris=tuple(row["redirect_uris"].split()),
            jwks=row["jwks"],
            jwks_uri=row["jwks_uri"],
            scope=row["scopes"],
            suspended=row["suspended_at"] is not None,
        )

    @property
    def has_keys(self) -> bool:
        return bool(self.jwks or self.jwks_uri)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # the request names it, and it must be one of those registered

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes this client may be given; None (invalid_scope) for none."""
        try:
            allowed = scopes.within(scope or "", self.scope)
        except scopes.InvalidScope:
            return None
        return allowed or None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exactly (RFC 9700)

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # no shared secrets: public clients, or private_key_jwt

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == ("private_key_jwt" if self.has_keys else "none")

    def check_response_type(self, response_type: str) -> bool:
        return self.kind == ClientKind.APP and response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if self.kind == ClientKind.SYSTEM:
            return grant_type == "client_credentials"
        return grant_type in ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class Person:
    """The person an application acts for (authlib's "user")."""

    account_id: UUID
    role: str
    first_name: str
    last_name: str
    login: str
    profession: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def audit_actor(self, via: str) -> audit.Actor:
        """The person as the audit trail keeps them, acting through the application ``via``."""
        return actor_of(
            self.account_id, self.role, self.profession, self.first_name, self.last_name, via
        )


@dataclass(frozen=True)
class Code(AuthorizationCodeMixin):
    grant_id: UUID
    scope: str
    redirect_uri: str
    code_challenge: str
    nonce: str
    auth_time: datetime
    person: Person
    dossier: UUID | None
    grant_expires_at: datetime
    code_challenge_method: str = "S256"

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce or None

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["pwd", "otp"]  # both factors, always


@dataclass(frozen=True)
class IssuedToken(TokenMixin):
    """A token row, as the refresh, revocation and introspection endpoints see it."""

    id: UUID
    grant_id: UUID
    client_id: str
    scope: str
    issued_at: datetime
    expires_at: datetime
    refresh_expires_at: datetime | None
    revoked: bool
    #: What the token was looked up by: "access_token" or "refresh_token".
    found_as: str
    person: Person | None
    dossier: UUID | None
    grant_expires_at: datetime

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    @property
    def ends_at(self) -> datetime | None:
        return self.refresh_expires_at if self.found_as == "refresh_token" else self.expires_at

    def is_expired(self) -> bool:
        return self.ends_at is None or clock.now() >= self.ends_at

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> Person | None:
        return self.person

    def get_client(self) -> None:
        return None


# --- clients ----------------------------------------------------------------------------------


async def find_client(client_id: str) -> Client | None:
    row = await OAuthClient.select().where(OAuthClient.client_id == client_id).first()
    return Client.of(row) if row else None


async def professional_of(client: Client, rpps: str) -> Person | None:
    """The professional with this RPPS number, if they belong to the backend service
    ``client`` and their account is not disabled."""
    rows = await Account.raw(
        "SELECT account.id, account.role, account.first_name, account.last_name, "
        "account.login, professional.profession "
        "FROM oauth_client_professional AS member "
        "JOIN account ON account.id = member.professional "
        "JOIN professional ON professional.account = account.id "
        "WHERE member.client = {} AND professional.rpps = {} AND account.disabled_at IS NULL",
        client.id,
        rpps,
    )
    return _person(rows[0], "id") if rows else None


async def members(client_id: UUID) -> list[dict]:
    """The professionals of a backend service, as it names them (RPPS) and by name."""
    return await Account.raw(
        "SELECT professional.rpps, account.first_name, account.last_name, "
        "professional.profession FROM oauth_client_professional AS member "
        "JOIN account ON account.id = member.professional "
        "JOIN professional ON professional.account = account.id "
        "WHERE member.client = {} ORDER BY account.last_name, account.first_name",
        client_id,
    )


def _person(row: dict, id_column: str = "account_id") -> Person:
    return Person(
        account_id=row[id_column],
        role=row["role"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        login=row["login"],
        profession=row["profession"] or "",
    )


async def first_unseen_assertion(client_id: str, jti: str) -> bool:
    """Record an assertion's ``jti``; False when the client already used it (a replay). It is
    kept as long as the assertion could be valid (`ASSERTION_KEPT`)."""
    now = clock.now()
    async with db.current().write_transaction():
        await ClientAssertion.delete().where(ClientAssertion.expires_at < now)
        stored = await ClientAssertion.raw(
            "INSERT INTO oauth_client_assertion (key, expires_at) VALUES ({}, {}) "
            "ON CONFLICT (key) DO NOTHING RETURNING key",
            digest(f"{client_id}\0{jti}"),
            now + ASSERTION_KEPT,
        )
    return bool(stored)


def public_keys(client: Client) -> dict:
    """The client's registered key set (a JWKS URL is fetched by `portal.oauth.grants`)."""
    return json.loads(client.jwks)


# --- grants and codes -------------------------------------------------------------------------


async def save_code(
    code: str,
    client: Client,
    person: Person,
    *,
    scope: str,
    redirect_uri: str,
    code_challenge: str,
    nonce: str,
    auth_time: datetime,
    dossier: UUID | None,
    client_address: str,
) -> None:
    """The person's consent: a grant for ``client``, and the code that exchanges it."""
    now = clock.now()
    async with db.current().write_transaction():
        grant = OAuthGrant(
            client=client.id,
            account=person.account_id,
            scope=scope,
            dossier=dossier,
            created_at=now,
            expires_at=now + grant_lifetime(scope),
        )
        await grant.save()
        await AuthorizationCode.insert(
            AuthorizationCode(
                code_hash=digest(code),
                grant=grant.id,
                redirect_uri=redirect_uri,
                code_challenge=code_challenge,
                nonce=nonce,
                auth_time=auth_time,
                expires_at=now + CODE_LIFETIME,
            )
        )
        await _trace_grant(person, client, grant.id, "authorized", client_address)


_CODE = """
SELECT oauth_authorization_code.redirect_uri, oauth_authorization_code.code_challenge,
    oauth_authorization_code.nonce, oauth_authorization_code.auth_time,
    oauth_authorization_code.expires_at, oauth_authorization_code.used_at,
    oauth_grant.id AS grant_id, oauth_grant.scope, oauth_grant.dossier,
    oauth_grant.expires_at AS grant_expires_at, oauth_grant.revoked_at, oauth_client.client_id,
    account.id AS account_id, account.role, account.first_name, account.last_name,
    account.login, account.disabled_at, professional.profession
FROM oauth_authorization_code
    JOIN oauth_grant ON oauth_grant.id = oauth_authorization_code.grant
    JOIN oauth_client ON oauth_client.id = oauth_grant.client
    JOIN account ON account.id = oauth_grant.account
    LEFT JOIN professional ON professional.account = account.id
WHERE oauth_authorization_code.code_hash = {}
"""


async def use_code(code: str, client: Client, client_address: str) -> Code | None:
    """The code, used up now; None when it is unknown, another client's, expired, or already
    used, in which case its grant is revoked with every token issued under it (RFC 6749
    §4.1.2: someone else holds a copy)."""
    rows = await AuthorizationCode.raw(_CODE, digest(code))
    row = rows[0] if rows else None
    if row is None or row["client_id"] != client.client_id:
        return None
    now = clock.now()
    used = (
        await AuthorizationCode.update({AuthorizationCode.used_at: now})
        .where(
            AuthorizationCode.code_hash == digest(code),
            AuthorizationCode.used_at.is_null(),
        )
        .returning(AuthorizationCode.code_hash)
    )
    if not used:
        await revoke_grant(row["grant_id"], "authorization code used twice", client_address)
        return None
    if now >= row["expires_at"] or row["revoked_at"] is not None or row["disabled_at"]:
        return None
    return Code(
        grant_id=row["grant_id"],
        scope=row["scope"],
        redirect_uri=row["redirect_uri"],
        code_challenge=row["code_challenge"],
        nonce=row["nonce"],
        auth_time=row["auth_time"],
        person=_person(row),
        dossier=row["dossier"],
        grant_expires_at=row["grant_expires_at"],
    )


async def nonce_used(client_id: str, nonce: str) -> bool:
    """Whether the client already sent this OpenID Connect ``nonce`` (a replayed request)."""
    rows = await AuthorizationCode.raw(
        "SELECT 1 FROM oauth_authorization_code "
        "JOIN oauth_grant ON oauth_grant.id = oauth_authorization_code.grant "
        "JOIN oauth_client ON oauth_client.id = oauth_grant.client "
        "WHERE oauth_client.client_id = {} AND oauth_authorization_code.nonce = {}",
        client_id,
        nonce,
    )
    return bool(rows)


async def revoke_grant(
    grant_id: UUID, reason: str, client_address: str = "", outcome: Outcome = Outcome.REFUSED
) -> None:
    """End a grant and every token issued under it, at once; traced (a refusal, unless the
    person or the application asked for it)."""
    async with db.current().write_transaction():
        revoked = (
            await OAuthGrant.update({OAuthGrant.revoked_at: clock.now()})
            .where(OAuthGrant.id == grant_id, OAuthGrant.revoked_at.is_null())
            .returning(OAuthGrant.id)
        )
        rows = await OAuthGrant.raw(_GRANT_PERSON, grant_id) if revoked else []
        if rows:
            person, client = _person(rows[0]), await find_client(rows[0]["client_id"])
            await _trace_grant(person, client, grant_id, reason, client_address, outcome)


_GRANT_PERSON = """
SELECT oauth_client.client_id, account.id AS account_id, account.role, account.first_name,
    account.last_name, account.login, professional.profession
FROM oauth_grant JOIN oauth_client ON oauth_client.id = oauth_grant.client
    JOIN account ON account.id = oauth_grant.account
    LEFT JOIN professional ON professional.account = account.id
WHERE oauth_grant.id = {}
"""


async def _trace_grant(
    person: Person,
    client: Client,
    grant_id: UUID,
    reason: str,
    client_address: str,
    outcome: Outcome = Outcome.ALLOWED,
) -> None:
    """A grant given or ended, in the system chain (it concerns no one dossier)."""
    await audit.record(
        Action.ACCOUNT_CHANGE,
        person.audit_actor(client.name),
        outcome=outcome,
        target_type="oauth_grant",
        target_id=str(grant_id),
        reason=reason,
        purpose=Purpose.HOPERAT,
        client_address=client_address,
    )


# --- tokens -----------------------------------------------------------------------------------


async def save_token(
    token: dict,
    client: Client,
    *,
    grant_id: UUID | None,
    refresh_expires_at: datetime | None,
) -> None:
    """Store a token response's tokens (digests only) under ``grant_id``; a backend service's
    token gets a grant of its own (no person, one token)."""
    now = clock.now()
    expires_at = now + timedelta(seconds=token["expires_in"])
    async with db.current().write_transaction():
        if grant_id is None:
            grant = OAuthGrant(
                client=client.id,
                account=None,
                scope=token["scope"],
                created_at=now,
                expires_at=expires_at,
            )
            await grant.save()
            grant_id = grant.id
        await OAuthToken.insert(
            OAuthToken(
                grant=grant_id,
                access_token_hash=digest(token["access_token"]),
                refresh_token_hash=(
                    digest(token["refresh_token"]) if "refresh_token" in token else None
                ),
                scope=token["scope"],
                issued_at=now,
                expires_at=expires_at,
                refresh_expires_at=refresh_expires_at if "refresh_token" in token else None,
            )
        )


_ISSUED_ROWS = """
SELECT oauth_token.id, oauth_token.scope, oauth_token.issued_at, oauth_token.expires_at,
    oauth_token.refresh_expires_at, oauth_token.refreshed_at, oauth_token.revoked_at,
    oauth_grant.id AS grant_id, oauth_grant.dossier, oauth_grant.expires_at AS grant_expires_at,
    oauth_grant.revoked_at AS grant_revoked_at, oauth_grant.last_used_at,
    oauth_client.client_id, oauth_client.name AS client_name, oauth_client.kind,
    oauth_client.suspended_at, account.id AS account_id, account.role, account.first_name,
    account.last_name, account.login, account.disabled_at, professional.profession
FROM oauth_token
    JOIN oauth_grant ON oauth_grant.id = oauth_token.grant
    JOIN oauth_client ON oauth_client.id = oauth_grant.client
    LEFT JOIN account ON account.id = oauth_grant.account
    LEFT JOIN professional ON professional.account = account.id
WHERE oauth_token.{column} = {{}}
"""
_BY_ACCESS_TOKEN = _ISSUED_ROWS.format(column="access_token_hash")
_BY_REFRESH_TOKEN = _ISSUED_ROWS.format(column="refresh_token_hash")


def _no_longer_valid(row: dict) -> str:
    """Why a token's row no longer acts, "" while it does (its own expiry aside)."""
    if row["revoked_at"] is not None or row["grant_revoked_at"] is not None:
        return "revoked"
    if row["suspended_at"] is not None:
        return "client suspended"
    if row["account_id"] is not None and row["disabled_at"] is not None:
        return "account disabled"
    return ""


def _issued(row: dict, found_as: str) -> IssuedToken:
    return IssuedToken(
        id=row["id"],
        grant_id=row["grant_id"],
        client_id=row["client_id"],
        scope=row["scope"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        refresh_expires_at=row["refresh_expires_at"],
        revoked=bool(_no_longer_valid(row))
        or (found_as == "refresh_token" and row["refreshed_at"] is not None),
        found_as=found_as,
        person=_person(row) if row["account_id"] else None,
        dossier=row["dossier"],
        grant_expires_at=row["grant_expires_at"],
    )


async def find_token(token: str, hint: str | None = None) -> IssuedToken | None:
    """An access or refresh token (``hint`` says which to look for first), for the revocation
    and introspection endpoints."""
    kinds = ["access_token", "refresh_token"]
    if hint == "refresh_token":
        kinds.reverse()
    for kind in kinds:
        statement = _BY_ACCESS_TOKEN if kind == "access_token" else _BY_REFRESH_TOKEN
        rows = await OAuthToken.raw(statement, digest(token))
        if rows:
            return _issued(rows[0], kind)
    return None


async def use_refresh_token(token: str, client: Client, client_address: str) -> IssuedToken | None:
    """The refresh token, used up now; None when it is unknown, another client's, expired or
    no longer valid, or already used, in which case its whole grant is revoked (RFC 9700
    §4.14: one of two holders is not the application)."""
    rows = await OAuthToken.raw(_BY_REFRESH_TOKEN, digest(token))
    row = rows[0] if rows else None
    if row is None or row["client_id"] != client.client_id:
        return None
    used = (
        await OAuthToken.update({OAuthToken.refreshed_at: clock.now()})
        .where(OAuthToken.id == row["id"], OAuthToken.refreshed_at.is_null())
        .returning(OAuthToken.id)
    )
    if not used:
        await revoke_grant(row["grant_id"], "refresh token used twice", client_address)
        return None
    issued = _issued(row, "refresh_token")
    return None if issued.is_revoked() or issued.is_expired() else issued


async def revoke_token(token: IssuedToken, client_address: str) -> None:
    """RFC 7009: an access token ends alone; a refresh token ends its whole grant."""
    if token.found_as == "refresh_token":
        await revoke_grant(
            token.grant_id, "revoked by the application", client_address, Outcome.ALLOWED
        )
    else:
        await OAuthToken.update({OAuthToken.revoked_at: clock.now()}).where(
            OAuthToken.id == token.id, OAuthToken.revoked_at.is_null()
        )


# --- a bearer token on a request ---------------------------------------------------------------


@dataclass(frozen=True)
class Bearer:
    """An access token presented to a protected route, with all that decides whether it acts."""

    id: UUID
    grant_id: UUID
    client_id: str
    client_name: str
    kind: str
    scope: str
    issued_at: datetime
    expires_at: datetime
    dossier: UUID | None
    person: Person | None
    #: Why it no longer acts (revoked, client suspended, account disabled), "" while it does.
    ended: str = ""

    def is_expired(self) -> bool:
        return clock.now() >= self.expires_at

    def is_revoked(self) -> bool:
        return bool(self.ended)

    def get_scope(self) -> str:
        return self.scope


async def find_bearer(token: str) -> Bearer | None:
    """The access token a request presents, or None; notes the grant's last use."""
    rows = await OAuthToken.raw(_BY_ACCESS_TOKEN, digest(token))
    if not rows:
        return None
    row = rows[0]
    now = clock.now()
    last_used = row["last_used_at"]
    if last_used is None or now - last_used >= TOUCH_INTERVAL:
        await OAuthGrant.update({OAuthGrant.last_used_at: now}).where(
            OAuthGrant.id == row["grant_id"]
        )
    return Bearer(
        id=row["id"],
        grant_id=row["grant_id"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        kind=row["kind"],
        scope=row["scope"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        dossier=row["dossier"],
        person=_person(row) if row["account_id"] else None,
        ended=_no_longer_valid(row),
    )


# --- a person's authorized applications --------------------------------------------------------


async def applications_of(account_id: UUID) -> list[dict]:
    """The applications the person authorized and has not revoked, each with the first
    authorization, the last use, and until when the latest grant lasts."""
    grants = await OAuthGrant.select(
        OAuthGrant.client.client_id,
        OAuthGrant.client.name,
        OAuthGrant.created_at,
        OAuthGrant.last_used_at,
        OAuthGrant.expires_at,
    ).where(
        OAuthGrant.account == account_id,
        OAuthGrant.revoked_at.is_null(),
        OAuthGrant.expires_at > clock.now(),
    )
    applications: dict[str, dict] = {}
    for grant in grants:
        client_id = grant["client.client_id"]
        seen = applications.setdefault(
            client_id,
            {"client_id": client_id, "name": grant["client.name"], "since": grant["created_at"],
             "last_used_at": None, "expires_at": grant["expires_at"]},
        )  # fmt: skip
        seen["since"] = min(seen["since"], grant["created_at"])
        seen["expires_at"] = max(seen["expires_at"], grant["expires_at"])
        if grant["last_used_at"] and (
            seen["last_used_at"] is None or grant["last_used_at"] > seen["last_used_at"]
        ):
            seen["last_used_at"] = grant["last_used_at"]
    return sorted(applications.values(), key=lambda application: application["name"])


async def revoke_application(account_id: UUID, client_id: str, client_address: str) -> bool:
    """End every grant the person gave the application; False when there was none."""
    grants = await OAuthGrant.raw(
        "SELECT oauth_grant.id FROM oauth_grant "
        "JOIN oauth_client ON oauth_client.id = oauth_grant.client "
        "WHERE oauth_grant.account = {} AND oauth_client.client_id = {} "
        "AND oauth_grant.revoked_at IS NULL",
        account_id,
        client_id,
    )
    for grant in grants:
        await revoke_grant(grant["id"], "revoked by the person", client_address, Outcome.ALLOWED)
    return bool(grants)


async def purge_ended() -> int:
    """Delete the grants that ended (expired or revoked) with their codes and tokens, and the
    expired tokens that no refresh token stands beside (a backend service's, one access
    token's grants); returns how many grants went. Their traces stay in the audit trail. A
    refreshed token's row stays while its grant lives: it is what tells a reuse."""
    now = clock.now()
    async with db.current().write_transaction():
        ended = (
            await OAuthGrant.delete()
            .where((OAuthGrant.expires_at < now) | OAuthGrant.revoked_at.is_not_null())
            .returning(OAuthGrant.id)
        )
        await OAuthToken.delete().where(
            OAuthToken.expires_at < now, OAuthToken.refresh_token_hash.is_null()
        )
    return len(ended)
