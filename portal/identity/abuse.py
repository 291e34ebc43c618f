"""Slowing down password guessing: per-account lockout and per-address rate limits.

Both live in the database, so every worker process counts the same attempts. The lockout
follows the account whatever address the guesses come from; the rate limit follows the
address, as the client really is: ``X-Forwarded-For`` is only believed when the request comes
from one of ``CARNET_TRUSTED_PROXIES``, so a forged header cannot buy a fresh allowance.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from litestar import Request

from portal import clock
from portal.identity.tables import Account, RateLimitWindow

#: Failed logins before an account is locked; each failure after that doubles the lock.
LOCK_AFTER_FAILURES = 5
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=1)
#: Login attempts allowed per client address and window, whatever the accounts tried. A whole
#: practice or hospital ward may share one address: the limit stops guessing campaigns, not
#: a morning's logins (the per-account lock stops guessing at one account much sooner).
ADDRESS_LIMIT = 100
ADDRESS_WINDOW = timedelta(minutes=10)


def lock_duration(failures: int) -> timedelta | None:
    """How long an account stays locked after ``failures`` consecutive failed logins."""
    if failures < LOCK_AFTER_FAILURES:
        return None
    # Capped before multiplying: after some 40 doublings a timedelta overflows, and a failure
    # that raises would leave the account without any lock at all.
    doublings = min(failures - LOCK_AFTER_FAILURES, 20)
    return min(FIRST_LOCK * 2**doublings, LONGEST_LOCK)


def is_locked(account: dict) -> bool:
    """Whether the account is locked now (a lock holds for the password and the code alike)."""
    return bool(account["locked_until"] and account["locked_until"] > clock.now())


async def record_failure(account_id) -> None:
    """Count one more failure (atomically: concurrent guesses all count) and lock if due."""
    rows = (
        await Account.update({Account.failed_logins: Account.failed_logins + 1})
        .returning(Account.failed_logins)
        .where(Account.id == account_id)
    )
    duration = lock_duration(rows[0]["failed_logins"]) if rows else None
    if duration:
        await Account.update({Account.locked_until: clock.now() + duration}).where(
            Account.id == account_id
        )


async def record_success(account_id) -> None:
    await Account.update({Account.failed_logins: 0, Account.locked_until: None}).where(
        Account.id == account_id
    )


async def hit(key: str, limit: int, window: timedelta) -> bool:
    """Count one hit for ``key`` in the current fixed window; False once over ``limit``."""
    now = clock.now()
    index = int(now.timestamp() // window.total_seconds())
    bucket = f"{key}:{index}"
    # One statement, so that concurrent workers never lose a hit (SQLite ≥ 3.24, PostgreSQL).
    rows = await RateLimitWindow.raw(
        "INSERT INTO rate_limit_window (key, hits, expires_at) VALUES ({}, 1, {}) "
        "ON CONFLICT (key) DO UPDATE SET hits = rate_limit_window.hits + 1 RETURNING hits",
        bucket,
        now + window,
    )
    if rows[0]["hits"] == 1:  # first hit of a window: forget the windows that are over
        await RateLimitWindow.delete().where(RateLimitWindow.expires_at < now)
    return rows[0]["hits"] <= limit


def client_address(request: Request, trusted_proxies: frozenset[str]) -> str:
    """The address of the person's device, as far as it can be known for sure."""
    peer = request.client.host if request.client else ""
    if not _is_trusted(peer, trusted_proxies):
        return peer
    forwarded = [
        hop.strip()
        for header in request.headers.getall("x-forwarded-for", [])
        for hop in header.split(",")
        if hop.strip()
    ]
    # Walk back from the nearest hop: the first one that is not our own proxy is the client.
    for hop in reversed(forwarded):
        if not _is_trusted(hop, trusted_proxies):
            return hop
    return peer


def _is_trusted(address: str, trusted_proxies: frozenset[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network) for network in trusted_proxies)
