"""Passwords: Argon2id hashing off the event loop, and the rules a new password must follow.

SECURITY.md, "Accounts and passwords" (ASVS 5.0 6.2.x and 11.4.2). Hashing and verification
cost tens of milliseconds of CPU and 64 MiB each: they run in a small pool of worker threads so
that a burst of logins queues there instead of stalling every other request. `check_password`
only applies the rules; call it before `hash_password` when a password is set or changed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from portal.i18n import gettext

logger = logging.getLogger("carnet.identity")
T = TypeVar("T")

MIN_LENGTH = 8
#: A guard against huge inputs, not a security rule: passphrases of 64+ characters are welcome.
MAX_LENGTH = 1024
#: Shorter names and logins ("Li", "Eva") would refuse too many good passwords.
MIN_PERSONAL_LENGTH = 4
COMMON_PASSWORDS_FILE = Path(__file__).parent / "common_passwords.txt"

#: SECURITY.md's floor for Argon2id (ASVS 11.4.2): 19 MiB of memory, 2 passes, 1 lane.
FLOOR_MEMORY_KIB = 19 * 1024
FLOOR_TIME_COST = 2
FLOOR_PARALLELISM = 1

# A burst of logins must queue here and never occupy the event loop or every CPU: at most
# HASHING_THREADS hashes run at once (so at most 2 x 64 MiB of memory), the rest wait their
# turn while the loop keeps serving other requests. Threads are enough because argon2-cffi
# releases the GIL while it hashes. Each hash itself spreads over `parallelism` lanes (4 by
# default, one libargon2 thread each): at most 2 x 4 cores hash at any moment.
HASHING_THREADS = 2

# The library's defaults (Argon2id, 64 MiB, t=3, p=4) are above the floor; keeping them lets
# `check_needs_rehash` upgrade stored hashes when a new argon2-cffi raises them.
_hasher = PasswordHasher()
_executor = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="carnet-argon2")

if (
    _hasher.type is not Type.ID
    or _hasher.memory_cost < FLOOR_MEMORY_KIB
    or _hasher.time_cost < FLOOR_TIME_COST
    or _hasher.parallelism < FLOOR_PARALLELISM
):
    raise RuntimeError(
        "The password hasher is below SECURITY.md's floor (Argon2id, m=19 MiB, t=2, p=1): "
        f"{_hasher.type.name} m={_hasher.memory_cost} KiB t={_hasher.time_cost} "
        f"p={_hasher.parallelism}."
    )


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of a login's password check."""

    valid: bool
    #: The hash was made with weaker parameters than today's: store a new one (the password is
    #: at hand only now, right after a successful login).
    needs_rehash: bool


async def hash_password(password: str) -> str:
    """The encoded Argon2id hash to store (``$argon2id$v=19$m=...``), salt included."""
    return await _in_worker(_hasher.hash, _secret(password))


async def verify_password(stored_hash: str, password: str) -> PasswordCheck:
    """Whether ``password`` matches ``stored_hash``; a damaged hash is a mismatch, not an error."""
    return await _in_worker(_verify, stored_hash, password)


async def verify_dummy(password: str) -> None:
    """Spend the work of a real verification, for a login whose account does not exist.

    An unknown login then takes as long as a wrong password, so the time of the answer does
    not tell whether an account exists (ASVS 6.3.8).
    """
    await _in_worker(_verify_dummy, password)


def check_password(password: str, *, personal: Iterable[str] = ()) -> list[str]:
    """The problems with a new password, as sentences for the person; empty when it is fine.

    ``personal`` holds the person's login and names, each on its own ("Marie", "Dupont"):
    the password may not contain any of them that has at least 4 characters. There are no
    composition rules (digits, symbols...): ASVS 5.0 forbids them, length matters instead.
    """
    # Counted as typed, in code points, without Unicode normalisation (no NFKC): the hash gets
    # exactly these characters, so the rule measures what is stored. Normalising would change
    # the secret behind the person's back (NFKC folds ligatures, full-width forms, some
    # symbols) and would have to be repeated identically at every login; the keyboards people
    # use here type precomposed letters, so a decomposed "é" counting twice changes nothing.
    length = len(password)
    if length > MAX_LENGTH:
        # Nothing else is computed on such an input.
        return [gettext("This password is too long (1024 characters at most).")]
    problems = []
    if length < MIN_LENGTH:
        problems.append(gettext("Use at least 8 characters; a short sentence is easy to remember."))
    folded = password.casefold()
    if folded in common_passwords():
        problems.append(gettext("This password is among the most used ones; choose another."))
    for value in personal:
        value = value.strip().casefold()
        if len(value) >= MIN_PERSONAL_LENGTH and value in folded:
            problems.append(gettext("Do not use your name or your login in your password."))
            break
    return problems


@cache
def common_passwords() -> frozenset[str]:
    """The most used passwords (see the header of ``common_passwords.txt``), casefolded."""
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as lines:
        return frozenset(
            line.strip().casefold() for line in lines if line.strip() and not line.startswith("#")
        )


async def _in_worker(function: Callable[..., T], *args: object) -> T:
    """Run ``function`` in the hashing pool; the loop serves other requests meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(_executor, function, *args)


def _secret(password: str) -> bytes:
    """The password's UTF-8 bytes, as argon2-cffi would encode it.

    ``surrogatepass`` turns a lone surrogate (possible from a JSON body, never from a keyboard)
    into bytes instead of an exception, identically when hashing and when verifying.
    """
    return password.encode("utf-8", "surrogatepass")


def _verify(stored_hash: str, password: str) -> PasswordCheck:
    try:
        _hasher.verify(stored_hash, _secret(password))
    except VerifyMismatchError:
        return PasswordCheck(valid=False, needs_rehash=False)
    except (VerificationError, InvalidHashError) as error:
        # The hash itself is not logged: it is as sensitive as the password for an attacker.
        logger.warning("A stored password hash could not be verified: %s", type(error).__name__)
        return PasswordCheck(valid=False, needs_rehash=False)
    try:
        needs_rehash = _hasher.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError):  # verified, but its parameters cannot be read
        needs_rehash = True
    return PasswordCheck(valid=True, needs_rehash=needs_rehash)


def _verify_dummy(password: str) -> None:
    _verify(_dummy_hash(), password)


@cache
def _dummy_hash() -> str:
    """A hash nobody knows the password of, made once (in a worker) on the first unknown login."""
    return _hasher.hash(secrets.token_bytes(32))
