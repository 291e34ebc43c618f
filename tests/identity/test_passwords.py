"""Passwords: Argon2id at or above SECURITY.md's floor, hashed off the event loop in a bounded
pool, and the rules of ASVS 5.0 for a new password (length, common passwords, personal data)."""

from __future__ import annotations

import asyncio
import logging
import re
import threading

import pytest
from argon2 import PasswordHasher
from hypothesis import assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from portal.identity import passwords
from portal.identity.passwords import (
    FLOOR_MEMORY_KIB,
    FLOOR_PARALLELISM,
    FLOOR_TIME_COST,
    HASHING_THREADS,
    MAX_LENGTH,
    PasswordCheck,
    check_password,
    common_passwords,
    hash_password,
    verify_dummy,
    verify_password,
)
from tests.conftest import translated

ENCODED = re.compile(r"^\$(?P<type>argon2\w+)\$v=19\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$")
PASSPHRASE = "correct cheval agrafe batterie "

TOO_SHORT = "Use at least 8 characters; a short sentence is easy to remember."
COMMON = "This password is among the most used ones; choose another."
PERSONAL = "Do not use your name or your login in your password."
TOO_LONG = "This password is too long (1024 characters at most)."


def parameters(encoded: str) -> dict[str, str]:
    match = ENCODED.match(encoded)
    assert match, encoded
    return match.groupdict()


class RecordingHasher(PasswordHasher):
    """The real hasher, noting which thread runs each call and how many run at once."""

    def __init__(self, ticks: list[int] | None = None) -> None:
        super().__init__()
        self.threads: list[int] = []
        self.verified: list[str] = []
        self.running = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.ticks = ticks
        #: (ticks of the loop when a hash started, when it ended), one pair per call.
        self.spans: list[tuple[int, int]] = []

    def _enter(self) -> int:
        with self.lock:
            self.threads.append(threading.get_ident())
            self.running += 1
            self.peak = max(self.peak, self.running)
        return self.ticks[0] if self.ticks else 0

    def _leave(self, started: int) -> None:
        with self.lock:
            self.running -= 1
            self.spans.append((started, self.ticks[0] if self.ticks else 0))

    def hash(self, password, *, salt=None):
        started = self._enter()
        try:
            return super().hash(password, salt=salt)
        finally:
            self._leave(started)

    def verify(self, hash, password):
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        started = self._enter()
        try:
            return super().verify(hash, password)
        finally:
            self._leave(started)

    def check_needs_rehash(self, hash):
        self.threads.append(threading.get_ident())
        return super().check_needs_rehash(hash)


@pytest.fixture
def recorder(monkeypatch) -> RecordingHasher:
    hasher = RecordingHasher()
    monkeypatch.setattr(passwords, "_hasher", hasher)
    return hasher


# Hashing


async def test_the_hash_is_argon2id_at_or_above_the_floor():
    found = parameters(await hash_password(PASSPHRASE))
    assert found["type"] == "argon2id"
    assert int(found["m"]) >= FLOOR_MEMORY_KIB == 19 * 1024
    assert int(found["t"]) >= FLOOR_TIME_COST == 2
    assert int(found["p"]) >= FLOOR_PARALLELISM == 1


async def test_the_right_password_is_valid_and_a_wrong_one_is_not():
    stored = await hash_password(PASSPHRASE)
    assert PASSPHRASE not in stored
    assert await verify_password(stored, PASSPHRASE) == PasswordCheck(True, needs_rehash=False)
    assert await verify_password(stored, PASSPHRASE.upper()) == PasswordCheck(False, False)
    assert await verify_password(stored, PASSPHRASE.strip()) == PasswordCheck(False, False)


async def test_each_hash_has_its_own_salt():
    assert await hash_password(PASSPHRASE) != await hash_password(PASSPHRASE)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "not a hash",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",  # bcrypt
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$",  # no digest
        "$argon2id$v=19$m=65536,t=3,p=4$!!!$???",
        "$argon2x$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
    ],
)
async def test_a_damaged_stored_hash_is_invalid_and_logged_without_the_hash(stored, caplog):
    with caplog.at_level(logging.WARNING, logger="carnet.identity"):
        check = await verify_password(stored, PASSPHRASE)
    assert check == PasswordCheck(valid=False, needs_rehash=False)
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    if stored:
        assert stored not in caplog.text


async def test_a_wrong_password_is_not_logged(caplog):
    stored = await hash_password(PASSPHRASE)
    with caplog.at_level(logging.DEBUG, logger="carnet"):
        assert not (await verify_password(stored, "something else")).valid
    assert not [record for record in caplog.records if record.name.startswith("carnet")]


async def test_a_hash_made_with_weaker_parameters_needs_a_rehash():
    weaker = PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1).hash(PASSPHRASE)
    assert await verify_password(weaker, PASSPHRASE) == PasswordCheck(True, needs_rehash=True)
    fresh = await hash_password(PASSPHRASE)
    assert await verify_password(fresh, PASSPHRASE) == PasswordCheck(True, needs_rehash=False)


async def test_a_wrong_password_never_asks_for_a_rehash():
    weaker = PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1).hash(PASSPHRASE)
    assert await verify_password(weaker, "something else") == PasswordCheck(False, False)


async def test_a_lone_surrogate_is_hashed_and_verified_without_an_error():
    """A JSON body can carry one; it must not turn a login into a server error."""
    odd = "mot de passe \ud800 bizarre"
    stored = await hash_password(odd)
    assert (await verify_password(stored, odd)).valid
    assert not (await verify_password(stored, "mot de passe  bizarre")).valid


async def test_an_unknown_login_costs_a_real_verification(recorder):
    """verify_dummy verifies against a hash of today's parameters: as slow as a wrong password."""
    fresh = await hash_password(PASSPHRASE)
    recorder.verified.clear()
    assert await verify_dummy(PASSPHRASE) is None
    assert await verify_dummy("another try") is None
    assert len(recorder.verified) == 2
    assert len(set(recorder.verified)) == 1  # the dummy hash is made once
    assert parameters(recorder.verified[0]) == parameters(fresh)


async def test_hashing_never_runs_on_the_event_loop_thread(recorder):
    loop_thread = threading.get_ident()
    stored = await hash_password(PASSPHRASE)
    await verify_password(stored, PASSPHRASE)
    await verify_password(stored, "wrong")
    await verify_dummy(PASSPHRASE)
    assert recorder.threads  # hash, verify, check_needs_rehash, and the dummy's
    assert loop_thread not in recorder.threads
    assert len(set(recorder.threads)) <= HASHING_THREADS


async def test_a_burst_of_logins_is_bounded_and_leaves_the_loop_free(monkeypatch):
    """12 logins at once: never more than HASHING_THREADS hashes together, and the event loop
    keeps turning during every one of them (shown by counting its turns, not by timing)."""
    ticks = [0]
    stored = PasswordHasher().hash(PASSPHRASE)  # made before the recording starts
    hasher = RecordingHasher(ticks)
    monkeypatch.setattr(passwords, "_hasher", hasher)
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            ticks[0] += 1
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    try:
        results = await asyncio.gather(
            *(verify_password(stored, PASSPHRASE if n % 2 else "wrong") for n in range(12))
        )
    finally:
        done.set()
        await ticking

    assert [result.valid for result in results] == [bool(n % 2) for n in range(12)]
    assert len(hasher.spans) == 12
    assert hasher.peak == HASHING_THREADS
    # Had a hash run on the loop, the ticker could not have moved while it ran.
    assert all(ended > started for started, ended in hasher.spans), hasher.spans
    assert max(ended for _started, ended in hasher.spans) >= 12


@hypothesis_settings(max_examples=10, deadline=None)
@given(st.text(min_size=8, max_size=80))
async def test_any_accepted_password_round_trips(password):
    assume(not check_password(password))
    stored = await hash_password(password)
    assert await verify_password(stored, password) == PasswordCheck(True, needs_rehash=False)
    assert not (await verify_password(stored, password + "x")).valid


# Policy


def french(message: str) -> str:
    return translated("fr", message)


def test_refusals_are_in_french_by_default():
    assert check_password("court") == [
        "Utilisez au moins 8 caractères\u00a0: une courte phrase est facile à retenir."
    ]


@pytest.mark.parametrize("password", ["vélo-bu", "1234567", "abc", ""])
def test_fewer_than_8_characters_are_refused(password):
    assert check_password(password) == [french(TOO_SHORT)]


@pytest.mark.parametrize("length", [8, 15, 64, 200, MAX_LENGTH])
def test_8_to_1024_characters_are_accepted(length):
    password = "vélo-bus" if length == 8 else (PASSPHRASE * 40)[:length]
    assert len(password) == length
    assert check_password(password) == []


def test_more_than_1024_characters_are_refused_not_truncated():
    assert check_password((PASSPHRASE * 40)[: MAX_LENGTH + 1]) == [french(TOO_LONG)]
    assert check_password("x" * 1_000_000, personal=["xxxx"]) == [french(TOO_LONG)]


def test_length_counts_characters_as_typed():
    """Code points, not bytes: accents and emoji count once each."""
    assert check_password("été🌞été") == [french(TOO_SHORT)]  # 7 characters, 17 bytes
    assert check_password("été🌞étés") == []


@pytest.mark.parametrize(
    "password", ["password123", "Azertyuiop", "MOTDEPASSE", "marseille", "123456789"]
)
def test_common_passwords_are_refused_whatever_their_case(password):
    assert check_password(password) == [french(COMMON)]


@pytest.mark.parametrize(
    "personal",
    [["marie.dupont@example.fr", "Marie", "Dupont"], ["mdupont", "DUPONT"], ["Marie"]],
)
def test_the_persons_login_or_name_are_refused(personal):
    assert check_password("j'aime marie-DUPONT 2024", personal=personal) == [french(PERSONAL)]


def test_short_names_are_not_searched_for():
    assert check_password("li lit au lit le soir", personal=["Li", " Eva "]) == []


def test_every_problem_is_listed():
    assert check_password("Marie12", personal=["marie"]) == [french(TOO_SHORT), french(PERSONAL)]


@pytest.mark.parametrize(
    "password",
    [
        "correct cheval agrafe batterie",
        "Ça crée des étés à Noël 🎄 sous la pluie",
        "Мой пароль очень длинный",
        "数字の羊が跳ぶ夜",
    ],
)
def test_passphrases_in_any_script_are_accepted(password):
    assert check_password(password, personal=["marie.dupont@example.fr", "Dupont"]) == []


def test_there_are_no_composition_rules():
    """No digit, capital or symbol is required (ASVS 5.0 6.2.5)."""
    assert check_password("tortues endormies") == []


def test_the_common_passwords_list_is_loaded_once_without_its_header():
    words = common_passwords()
    assert words is common_passwords()
    assert len(words) > 10_000
    assert {"azertyuiop", "motdepasse", "password123", "marseille"} <= words
    assert all(len(word) >= 8 and word == word.casefold() for word in words)
    assert not any(word.startswith("#") for word in words)
