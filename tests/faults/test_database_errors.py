"""Whatever the database driver calls a failure of the database, the page says "try again
shortly" (503 with ``Retry-After``), never "something is broken" (500)."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from portal.db import is_unavailable_error

DOCTOR = "dr.garcia@demo.carnet.fr"


def _sqlite_error(kind: type[sqlite3.Error], message: str, code: int) -> sqlite3.Error:
    """The exception SQLite's module raises for ``code``, as it raises it."""
    error = kind(message)
    error.sqlite_errorcode = code
    return error


class QueryFailed(RuntimeError):
    """A wrapper of the driver's exception, as a library between us and it may raise."""


def _wrapped(error: BaseException) -> BaseException:
    try:
        raise QueryFailed("query failed") from error
    except QueryFailed as wrapper:
        return wrapper


UNAVAILABLE = [
    # What a PostgreSQL restart under load answered 500 with.
    asyncpg.InternalClientError(
        "cannot switch to state 12; another operation (None) is in progress"
    ),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.ConnectionDoesNotExistError(
        "connection was closed in the middle of operation"
    ),
    asyncpg.exceptions.DiskFullError("could not extend file: No space left on device"),
    asyncpg.exceptions.SerializationError("could not serialize access"),
    asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
    asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
    ConnectionResetError("Connection reset by peer"),
    _sqlite_error(sqlite3.OperationalError, "database or disk is full", sqlite3.SQLITE_FULL),
    _sqlite_error(sqlite3.OperationalError, "disk I/O error", sqlite3.SQLITE_IOERR),
    _sqlite_error(
        sqlite3.DatabaseError, "database disk image is malformed", sqlite3.SQLITE_CORRUPT
    ),
    _sqlite_error(sqlite3.OperationalError, "database is locked", sqlite3.SQLITE_BUSY),
    _wrapped(asyncpg.InternalClientError("cannot switch to state 12")),
]

BUGS = [
    asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint"),
    asyncpg.exceptions.UndefinedColumnError('column "nope" does not exist'),
    asyncpg.DataError("invalid input for query argument $1"),
    _sqlite_error(sqlite3.IntegrityError, "UNIQUE constraint failed", sqlite3.SQLITE_CONSTRAINT),
    _sqlite_error(sqlite3.OperationalError, "no such column: nope", sqlite3.SQLITE_ERROR),
    ValueError("a bug"),
]


@pytest.mark.parametrize("error", UNAVAILABLE, ids=repr)
def test_a_database_that_cannot_serve_now_is_unavailable(error):
    assert is_unavailable_error(error)


@pytest.mark.parametrize("error", BUGS, ids=repr)
def test_a_wrong_statement_is_a_bug_not_an_outage(error):
    assert not is_unavailable_error(error)


@pytest.mark.parametrize("carnet", ["sqlite"], indirect=True)
async def test_each_failure_answers_503_with_retry_after(carnet, monkeypatch):
    doctor = await carnet.sign_in(DOCTOR)
    page = f"/dossiers/{carnet.dossiers['camille']}"
    engine = carnet.app.state.database.engine
    for error in UNAVAILABLE:

        async def failing(self, *args, error=error, **kwargs):
            raise error

        monkeypatch.setattr(type(engine), "run_querystring", failing)
        answer = await doctor.get(page)
        assert answer.status_code == 503, (error, answer.status_code)
        assert answer.headers["retry-after"].isdigit()
        assert "Traceback" not in answer.text
        assert str(error) not in answer.text

    monkeypatch.undo()
    assert (await doctor.get(page)).status_code == 200
