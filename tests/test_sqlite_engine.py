"""The SQLite engine: connections kept open, writers in turn, the event loop never stuck."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from piccolo.querystring import QueryString

from portal.db import create_engine
from portal.sqlite_engine import IDLE_CONNECTIONS, SQLiteEngine, TransactionType

SCHEMA = "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"


@pytest.fixture
async def engine(tmp_path) -> SQLiteEngine:
    engine = create_engine(f"sqlite:///{tmp_path}/engine.sqlite3")
    assert isinstance(engine, SQLiteEngine)
    await engine.run_ddl(SCHEMA)
    yield engine
    engine.close_connections()


def no_busy_wait(engine: SQLiteEngine) -> None:
    """From now on a connection that finds the write lock taken fails at once."""
    engine.connection_kwargs["timeout"] = 0
    engine.close_connections()


async def insert(engine: SQLiteEngine, body: str | None) -> None:
    await engine.run_querystring(QueryString("INSERT INTO note (body) VALUES ({})", body))


async def notes(engine: SQLiteEngine) -> list[str]:
    return [row["body"] for row in await engine.run_ddl("SELECT body FROM note ORDER BY id")]


async def test_connections_stay_open_between_statements_and_transactions(engine):
    await notes(engine)
    kept = engine._idle[-1]
    await notes(engine)
    async with engine.transaction():
        await notes(engine)
    async with engine.transaction(TransactionType.immediate):
        await insert(engine, "kept")
    assert engine._idle == [kept]  # one connection served all of them
    assert await notes(engine) == ["kept"]


async def test_concurrent_transactions_each_get_their_own_connection_and_the_pool_is_bounded(
    engine,
):
    async def reading() -> None:
        async with engine.transaction():
            await notes(engine)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(reading() for _ in range(IDLE_CONNECTIONS + 4)))
    assert len(engine._idle) == IDLE_CONNECTIONS
    assert len({id(raw) for raw in engine._idle}) == IDLE_CONNECTIONS


async def test_writers_of_one_process_take_the_lock_in_turn(engine):
    """Without the queue, 20 writers would meet at SQLite's lock: here none waits there (the
    busy timeout is set to zero to prove it), and none overlaps another."""
    inside, most = 0, 0

    async def writing(number: int) -> None:
        nonlocal inside, most
        async with engine.transaction(TransactionType.immediate):
            inside += 1
            most = max(most, inside)
            await insert(engine, str(number))
            await asyncio.sleep(0.002)  # a request doing something else mid-transaction
            inside -= 1

    no_busy_wait(engine)
    await asyncio.gather(*(writing(number) for number in range(20)))
    assert most == 1
    assert sorted(await notes(engine), key=int) == [str(number) for number in range(20)]


async def test_a_write_outside_a_transaction_waits_for_the_writer_in_progress(engine):
    no_busy_wait(engine)
    order = []

    async def transaction() -> None:
        async with engine.transaction(TransactionType.immediate):
            await insert(engine, "first")
            await asyncio.sleep(0.01)
            order.append("first")

    async def alone() -> None:
        await asyncio.sleep(0)
        await insert(engine, "second")
        order.append("second")

    await asyncio.gather(transaction(), alone())
    assert order == ["first", "second"]
    assert await notes(engine) == ["first", "second"]


async def test_another_process_holding_the_lock_does_not_stop_the_readers(engine):
    """A writer waiting for another process's lock leaves the event loop free: reads go on."""
    other = sqlite3.connect(engine.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO note (body) VALUES ('other process')")

    async def writing() -> None:
        async with engine.transaction(TransactionType.immediate):
            await insert(engine, "ours")

    writer = asyncio.create_task(writing())
    await asyncio.sleep(0.05)
    assert not writer.done()  # waiting for the other process's lock
    assert await notes(engine) == []  # the loop still serves reads
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writer, timeout=10)
    assert await notes(engine) == ["other process", "ours"]


async def test_a_writer_gives_up_when_another_process_keeps_the_lock_past_the_timeout(engine):
    engine.connection_kwargs["timeout"] = 0.2
    engine.close_connections()
    other = sqlite3.connect(engine.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        async with engine.transaction(TransactionType.immediate):
            await insert(engine, "never")
    other.execute("ROLLBACK")
    other.close()
    async with engine.transaction(TransactionType.immediate):  # the same connection, again
        await insert(engine, "after")
        # Its busy timeout is back for the statements that wait in SQLite's busy handler.
        assert await engine.run_ddl("PRAGMA busy_timeout") == [{"timeout": 200}]
    assert await notes(engine) == ["after"]


async def test_a_failed_transaction_rolls_back_and_leaves_a_clean_connection(engine):
    async def failing() -> None:
        async with engine.transaction(TransactionType.immediate):
            await insert(engine, "lost")
            await insert(engine, None)

    with pytest.raises(sqlite3.IntegrityError):
        await failing()
    assert await notes(engine) == []
    assert all(not raw.in_transaction for raw in engine._idle)
    async with engine.transaction(TransactionType.immediate):  # the lock was given back
        await insert(engine, "next")
    assert await notes(engine) == ["next"]


async def test_a_request_cancelled_while_committing_never_reuses_the_connection(engine):
    other = sqlite3.connect(engine.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # so that the cancelled BEGIN waits in its thread

    async def writing() -> None:
        async with engine.transaction(TransactionType.immediate):
            await insert(engine, "cancelled")

    writer = asyncio.create_task(writing())
    await asyncio.sleep(0.05)
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer
    other.execute("COMMIT")
    other.close()
    await asyncio.sleep(0.1)  # the thread finishes its BEGIN, then closes its connection
    async with engine.transaction(TransactionType.immediate):
        await insert(engine, "after")
    assert await notes(engine) == ["after"]
    assert all(not raw.in_transaction for raw in engine._idle)


async def test_a_write_cancelled_in_a_deferred_transaction_is_rolled_back(engine):
    """The rollback does not wait for the thread still running the write: that would hold up
    the event loop until the busy timeout (here 5 s) gives up."""
    engine.connection_kwargs["timeout"] = 5
    engine.close_connections()
    other = sqlite3.connect(engine.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # so that the deferred write waits in its thread

    async def writing() -> None:
        async with engine.transaction():
            await insert(engine, "cancelled")

    writer = asyncio.create_task(writing())
    await asyncio.sleep(0.05)
    cancelled_at = asyncio.get_running_loop().time()
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer
    assert asyncio.get_running_loop().time() - cancelled_at < 2.5  # not the busy timeout's 5 s
    other.execute("COMMIT")
    other.close()
    await asyncio.sleep(0.1)
    assert await notes(engine) == []
    assert all(not raw.in_transaction for raw in engine._idle)


async def test_a_deferred_transaction_may_write(engine):
    async with engine.transaction():
        await notes(engine)
        await insert(engine, "late writer")
    assert await notes(engine) == ["late writer"]
