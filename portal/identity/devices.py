"""Noticing a login from a browser the account has never used, to tell its owner."""

from __future__ import annotations

import hashlib
from uuid import UUID

from portal import clock
from portal.notifications.tables import KnownDevice


def fingerprint(user_agent: str) -> str:
    return hashlib.sha256(user_agent.strip().encode()).hexdigest()


async def is_new_device(account_id: UUID, user_agent: str) -> bool:
    """Remember this browser for the account; True when it is new and the account had
    logged in from another one before (an account's very first login is not news)."""
    now = clock.now()
    digest = fingerprint(user_agent)
    updated = (
        await KnownDevice.update({KnownDevice.last_seen: now})
        .where(KnownDevice.account == account_id, KnownDevice.fingerprint == digest)
        .returning(KnownDevice.id)
    )
    if updated:
        return False
    known_before = await KnownDevice.exists().where(KnownDevice.account == account_id)
    await KnownDevice.insert(
        KnownDevice(account=account_id, fingerprint=digest, first_seen=now, last_seen=now)
    )
    return known_before


BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
            ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))  # fmt: skip
SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
           ("Windows", "Windows"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
           ("Linux", "Linux"))  # fmt: skip


def describe(user_agent: str) -> str:
    """A browser as a person names it ("Firefox, Android"), from its User-Agent header."""
    browser = next((name for marker, name in BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in SYSTEMS if marker in user_agent), "")
    return ", ".join(part for part in (browser, system) if part) or user_agent[:60]
