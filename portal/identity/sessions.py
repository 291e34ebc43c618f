"""Server-side sessions, shared by every worker process through the database.

The browser holds a random 256-bit token in an HttpOnly, SameSite=Strict cookie; the database
holds its SHA-256 digest. A token is only ever created here: a token the browser makes up
matches no row and is ignored, so a session id chosen by an attacker is never adopted. A new
token is issued at login and at every change of privilege, and the old row is deleted.

A session lives until the first of: its idle timeout (by role), its absolute lifetime (12 h
after login), logout, the account being disabled, or the person ending it from their list.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portal import clock
from portal.identity import abuse
from portal.identity.tables import PERSON_ROLES, LoginSession, Role
from portal.settings import Settings
from portal.web import COOKIELESS, NOT_FOR_STATIC, cookie_name, private_cookie

if TYPE_CHECKING:
    from portal.access.policy import Reach

ABSOLUTE_LIFETIME = timedelta(hours=12)
IDLE_TIMEOUT_PERSON = timedelta(minutes=30)  # patients and legal representatives
IDLE_TIMEOUT_STAFF = timedelta(minutes=15)  # professionals, regulators, insurer, administrators
PENDING_LIFETIME = timedelta(minutes=10)  # between the password and the second factor
#: Recording each request's time costs a write; a minute of precision is enough for timeouts.
TOUCH_INTERVAL = timedelta(seconds=60)


class Stage(StrEnum):
    SECOND_FACTOR = "second_factor"  # the password was right; the code is due
    ENROL = "enrol"  # the password was right; an authenticator must be set up first
    SIGNED_IN = "signed_in"


def idle_timeout(role: str) -> timedelta:
    return IDLE_TIMEOUT_PERSON if role in PERSON_ROLES else IDLE_TIMEOUT_STAFF


@dataclass(frozen=True)
class CurrentSession:
    """The session of the request, with what the rest of the portal needs of its account."""

    id: UUID
    stage: Stage
    account_id: UUID
    role: Role
    first_name: str
    last_name: str
    login: str
    created_at: datetime
    unread_notifications: int = 0
    #: A professional's profession (`portal.identity.professions`); "" for anyone else.
    profession: str = ""
    #: Opened for an emergency or SAMU access: the session's grants are worth looking for.
    emergency: bool = False
    #: A request made by software with a token (`portal.oauth.bearer`): the application's
    #: name, and how far its scopes reach. A browser's session has neither.
    via: str = ""
    reach: Reach | None = None
    #: The national identity provider the person logged in with (`portal.federation`), or "".
    provider: str = ""

    @property
    def signed_in(self) -> bool:
        return self.stage == Stage.SIGNED_IN


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start(
    account_id: UUID,
    stage: Stage,
    request: Request,
    *,
    emergency: bool = False,
    provider: str = "",
    provider_id_token: str = "",
) -> str:
    """Open a session and return the token for the cookie (see `issue_cookie`); ``emergency``
    for one that holds an emergency or SAMU access, ``provider`` for a login through a
    national identity provider (with the ID token it gave)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    lifetime = ABSOLUTE_LIFETIME if stage == Stage.SIGNED_IN else PENDING_LIFETIME
    await LoginSession.insert(
        LoginSession(
            token_hash=digest(token),
            account=account_id,
            stage=stage,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            # The person's device, as the rate limits see it (behind a trusted proxy, the
            # address it forwards), not the proxy's own address for every session.
            client_address=abuse.client_address(
                request, request.app.state.settings.trusted_proxies
            )[:64],
            user_agent=request.headers.get("user-agent", "")[:200],
            emergency=emergency,
            provider=provider,
            provider_id_token=provider_id_token,
        )
    )
    return token


async def replace(
    session: CurrentSession, stage: Stage, request: Request, *, emergency: bool = False
) -> str:
    """End ``session`` and open a new one for the same account: a new id at every change of
    privilege, so a token seen before the change is worth nothing after it. The identity
    provider the person logged in with stays the session's."""
    ended = (
        await LoginSession.delete()
        .where(LoginSession.id == session.id)
        .returning(LoginSession.provider_id_token)
    )
    return await start(
        session.account_id,
        stage,
        request,
        emergency=emergency,
        provider=session.provider,
        provider_id_token=ended[0]["provider_id_token"] if ended else "",
    )


#: The session and its account, read at every request. Written out once: Piccolo would build
#: this join's SQL anew each time, which costs more than running it.
_LOAD = """
SELECT login_session.id, login_session.stage, login_session.created_at,
    login_session.last_seen_at, login_session.expires_at, account.id AS account_id, account.role,
    account.first_name, account.last_name, account.login, account.disabled_at,
    account.unread_notifications, login_session.emergency, login_session.provider,
    professional.profession
FROM login_session JOIN account ON account.id = login_session.account
    LEFT JOIN professional ON professional.account = account.id
WHERE login_session.token_hash = {}
"""


async def load(token: str) -> CurrentSession | None:
    """The live session for a cookie token, or None; expired sessions are deleted on sight."""
    rows = await LoginSession.raw(_LOAD, digest(token))
    row = rows[0] if rows else None
    if row is None:
        return None
    now = clock.now()
    role = row["role"]
    expired = (
        now >= row["expires_at"]
        or now - row["last_seen_at"] >= idle_timeout(role)
        or row["disabled_at"] is not None
    )
    if expired:
        await LoginSession.delete().where(LoginSession.id == row["id"])
        return None
    if now - row["last_seen_at"] >= TOUCH_INTERVAL:
        await LoginSession.update({LoginSession.last_seen_at: now}).where(
            LoginSession.id == row["id"]
        )
    return CurrentSession(
        id=row["id"],
        stage=Stage(row["stage"]),
        account_id=row["account_id"],
        role=Role(role),
        first_name=row["first_name"],
        last_name=row["last_name"],
        login=row["login"],
        created_at=row["created_at"],
        unread_notifications=row["unread_notifications"],
        profession=row["profession"] or "",
        emergency=bool(row["emergency"]),
        provider=row["provider"],
    )


async def end(session_id: UUID) -> None:
    await LoginSession.delete().where(LoginSession.id == session_id)


async def end_all(account_id: UUID, keep: UUID | None = None) -> None:
    """End every session of an account (disabling, password change), except ``keep``."""
    query = LoginSession.delete().where(LoginSession.account == account_id)
    if keep is not None:
        query = query.where(LoginSession.id != keep)
    await query


async def list_for(account_id: UUID) -> list[dict]:
    now = clock.now()
    rows = (
        await LoginSession.select()
        .where(LoginSession.account == account_id, LoginSession.stage == Stage.SIGNED_IN)
        .order_by(LoginSession.last_seen_at, ascending=False)
    )
    return [row for row in rows if row["expires_at"] > now]


# --- the cookie -----------------------------------------------------------------------------


def current(request: Request) -> CurrentSession | None:
    return request.scope["state"].get("session")


def issue_cookie(request: Request, token: str | None) -> None:
    """Send ``token`` as the session cookie with this response (``None`` clears it)."""
    request.scope["state"]["session_cookie_out"] = token or ""


class SessionMiddleware(ASGIMiddleware):
    """Load the request's session from the database; write the cookie a handler issued.
    Routes for software (`portal.web.COOKIELESS`) never look at the cookie."""

    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = NOT_FOR_STATIC
    exclude_opt_key = COOKIELESS

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cookie = cookie_name(settings, "carnet_session")

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token = Request(scope).cookies.get(self.cookie)
        session = await load(token) if token else None
        scope["state"]["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = scope["state"].get("session_cookie_out")
                if out is not None or (token and session is None):
                    cookie = private_cookie(self.settings, "carnet_session", out or "")
                    MutableScopeHeaders.from_message(message).add(
                        "set-cookie", cookie.to_header(header="")
                    )
            await send(message)

        await next_app(scope, receive, send_with_cookie)
