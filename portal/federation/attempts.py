"""A login sent to a provider, kept until its answer: the ``state``, ``nonce`` and PKCE
verifier the answer must match, bound to the browser that started it.

The binding is a random value in a cookie of its own, SameSite=Lax: the provider's answer is a
navigation from another site, which carries no SameSite=Strict cookie (the session's). So the
answer is accepted only in the browser that was sent to the provider, once, within ten
minutes: another browser given the same answer (a login forced on someone) finds nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from litestar import Request
from litestar.datastructures import Cookie

from portal import clock
from portal.federation.tables import FederatedLoginAttempt
from portal.settings import Settings
from portal.web import cookie_name, private_cookie

LIFETIME = timedelta(minutes=10)
COOKIE = "carnet_provider_login"


@dataclass(frozen=True)
class Attempt:
    """What the provider's answer must match, and what the login was for."""

    provider: str
    purpose: str  # "login" or "link"
    session: UUID | None
    nonce: str
    code_verifier: str
    next: str
    #: Sent to the provider, and back.
    state: str = ""
    #: For the browser's cookie.
    browser_token: str = ""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def begin(provider: str, purpose: str, session: UUID | None, next: str) -> Attempt:
    """Store a new attempt (and forget the expired ones)."""
    now = clock.now()
    await FederatedLoginAttempt.delete().where(FederatedLoginAttempt.expires_at <= now)
    attempt = Attempt(
        provider=provider,
        purpose=purpose,
        session=session,
        nonce=secrets.token_urlsafe(32),
        # RFC 7636: 43 to 128 characters of [A-Za-z0-9-._~]; 48 random bytes give 64.
        code_verifier=secrets.token_urlsafe(48),
        next=next,
        state=secrets.token_urlsafe(32),
        browser_token=secrets.token_urlsafe(32),
    )
    await FederatedLoginAttempt.insert(
        FederatedLoginAttempt(
            state_hash=_digest(attempt.state),
            browser_hash=_digest(attempt.browser_token),
            provider=provider,
            purpose=purpose,
            session=session,
            nonce=attempt.nonce,
            code_verifier=attempt.code_verifier,
            next=next,
            expires_at=now + LIFETIME,
        )
    )
    return attempt


async def take(request: Request, provider: str, state: str) -> Attempt | None:
    """The attempt this answer belongs to, used up; None if there is none for this browser
    and ``state`` (or it expired)."""
    settings: Settings = request.app.state.settings
    browser_token = request.cookies.get(cookie_name(settings, COOKIE), "")
    if not state or not browser_token:
        return None
    rows = (
        await FederatedLoginAttempt.delete()
        .where(
            FederatedLoginAttempt.state_hash == _digest(state),
            FederatedLoginAttempt.browser_hash == _digest(browser_token),
            FederatedLoginAttempt.provider == provider,
        )
        .returning(*FederatedLoginAttempt.all_columns())
    )
    if not rows or rows[0]["expires_at"] <= clock.now():
        return None
    row = rows[0]
    return Attempt(
        provider=row["provider"],
        purpose=row["purpose"],
        session=row["session"],
        nonce=row["nonce"],
        code_verifier=row["code_verifier"],
        next=row["next"],
    )


def browser_cookie(settings: Settings, attempt: Attempt | None) -> Cookie:
    """The cookie binding ``attempt`` to the browser (None: the cookie deleted). SameSite=Lax,
    so that the provider's answer carries it; it expires with the attempt."""
    value = attempt.browser_token if attempt else ""
    cookie = private_cookie(settings, COOKIE, value, samesite="lax")
    if value:
        cookie.max_age = int(LIFETIME.total_seconds())
    return cookie
