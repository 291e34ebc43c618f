"""The SQLite engine: connections kept open, statements on the event loop, writers in turn.

Piccolo's own SQLite engine opens a connection (and an aiosqlite thread) for every statement
run outside a transaction, and sends every call of every statement across threads. For a
database on the local disk, where an indexed read takes microseconds, that bookkeeping cost
more than the reads themselves. This engine keeps the same API and transactions (Piccolo's
``current_transaction``) and changes how statements reach SQLite:

- **Connections stay open**: a few idle ones wait in a pool for the next transaction or
  statement, with the portal's pragmas already set (WAL, ``synchronous=FULL``, foreign keys,
  the busy timeout).
- **Statements that cannot wait run on the event loop**, synchronously: reads (WAL readers
  take no lock), and every statement of a transaction that already holds the write lock.
- **What may wait runs in a thread**: every ``COMMIT`` that flushes writes to disk, writes
  outside a transaction, and writes in a deferred transaction (which take the lock then).
- **The process's writers queue on an asyncio lock** before ``BEGIN IMMEDIATE``, so that
  concurrent requests take the write lock in turn instead of sleeping in the busy handler and
  retrying, which made the slowest answers wait seconds under load. Other processes (a second
  worker, a ``carnet`` command) still meet at SQLite's lock: ``BEGIN IMMEDIATE`` is tried
  again every millisecond or two while one of them holds it, up to the busy timeout, the
  event loop serving other requests meanwhile (SQLite's busy handler sleeps up to 100 ms
  between its tries, long after the lock was let go).

Requires SQLite 3.35 or later (``RETURNING``); Debian 12 ships 3.40.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine as PiccoloSQLiteEngine
from piccolo.engine.sqlite import SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

#: Idle connections kept open; more are opened when needed and closed when given back.
IDLE_CONNECTIONS = 8
#: Seconds between a writer's first tries for the write lock another process holds, and at
#: most between later ones (`Connection.take_write_lock`).
_FIRST_RETRY, _LAST_RETRY = 0.0005, 0.002


class TunedConnection(sqlite3.Connection):
    """Every connection gets the portal's pragmas before its first statement."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA journal_mode = WAL")
        self.execute("PRAGMA synchronous = FULL")
        self.execute("PRAGMA foreign_keys = ON")
        self.row_factory = dict_factory


class Connection:
    """One open sqlite3 connection, used from the event loop one statement at a time."""

    __slots__ = ("lost", "raw")

    def __init__(self, raw: sqlite3.Connection):
        self.raw = raw
        self.lost = False  # a statement was cancelled while it ran in a thread

    async def execute(
        self, sql: str, args: Sequence[Any] = (), *, in_thread: bool = False
    ) -> list[dict[str, Any]]:
        """The statement's rows; ``in_thread`` for one that may wait for a lock or the disk."""
        if not in_thread:
            return self._run(sql, args)
        future = asyncio.get_running_loop().run_in_executor(None, self._run, sql, args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The thread goes on with the connection: it must not be used again.
            self.lost = True
            future.add_done_callback(lambda _: self.raw.close())
            raise

    async def take_write_lock(self, begin: str, patience: float) -> None:
        """Run ``begin`` (``BEGIN IMMEDIATE`` or ``EXCLUSIVE``), tried again every millisecond
        or two while another process holds the write lock, for ``patience`` seconds at most
        (then SQLite's "database is locked" error)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        delay = _FIRST_RETRY
        self.raw.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    self.raw.execute(begin)
                    return
                except sqlite3.OperationalError as error:
                    busy = error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY  # or extended
                    if not busy or loop.time() > deadline:
                        raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, _LAST_RETRY)
        finally:
            self.raw.execute(f"PRAGMA busy_timeout = {int(patience * 1000)}")

    def _run(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        cursor = self.raw.execute(sql, args)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()


def _reads(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"


class Transaction(SQLiteTransaction):
    """Piccolo's transaction on a pooled connection; IMMEDIATE and EXCLUSIVE ones queue on
    the engine's writer lock first."""

    __slots__ = ("_changes", "_writer")

    engine: SQLiteEngine
    connection: Connection

    def __init__(self, engine: SQLiteEngine, transaction_type: TransactionType, **kwargs):
        super().__init__(engine, transaction_type, **kwargs)
        self._writer: asyncio.Lock | None = None
        self._changes = 0

    @property
    def holds_write_lock(self) -> bool:
        return self._writer is not None

    async def __aenter__(self) -> Transaction:
        if self._parent is not None:
            return self._parent
        if self.transaction_type is not TransactionType.deferred:
            self._writer = self.engine.writer_lock()
            await self._writer.acquire()
        try:
            self.connection = self.engine.acquire()
            self._changes = self.connection.raw.total_changes
            await self.begin()
        except BaseException:
            self._finish()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def begin(self):
        statement = f"BEGIN {self.transaction_type.value}"
        if self.holds_write_lock:
            await self.connection.take_write_lock(statement, self.engine.timeout)
        else:
            await self.connection.execute(statement)

    async def commit(self):
        wrote = self.connection.raw.total_changes != self._changes
        await self.connection.execute("COMMIT", in_thread=wrote)
        self._committed = True

    async def rollback(self):
        # A statement cancelled in its thread still holds the connection: closing it, once the
        # thread is done, rolls back (see `Connection.execute`).
        if not self.connection.lost:
            await self.connection.execute("ROLLBACK")
        self._rolled_back = True

    async def run(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        """A statement of this transaction: on the loop, unless it may have to wait for the
        write lock (a write in a deferred transaction)."""
        in_thread = not self.holds_write_lock and not _reads(sql)
        return await self.connection.execute(sql, args, in_thread=in_thread)

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            self._finish()
            self.engine.current_transaction.reset(self.context)
        return exception is None

    def _finish(self) -> None:
        if getattr(self, "connection", None) is not None:
            self.engine.release(self.connection)
        if self._writer is not None:
            self._writer.release()
            self._writer = None


class SQLiteEngine(PiccoloSQLiteEngine):
    """Piccolo's SQLite engine with connections kept open (see the module's docstring)."""

    __slots__ = ("_idle", "_writer")

    def __init__(self, path: str, timeout: float):
        if sqlite3.sqlite_version_info < (3, 35):
            raise RuntimeError(f"Carnet needs SQLite 3.35 or later, not {sqlite3.sqlite_version}")
        super().__init__(path=path, timeout=timeout, factory=TunedConnection)
        self._idle: list[sqlite3.Connection] = []
        self._writer: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    @property
    def timeout(self) -> float:
        """Seconds a statement waits for another process's write lock (the busy timeout)."""
        return self.connection_kwargs["timeout"]

    # Connections ----------------------------------------------------------------------------

    def acquire(self) -> Connection:
        """An open connection, from the pool if one waits there."""
        if self._idle and not os.path.exists(self.path):
            # The file went away (a volume unmounted, a folder moved): the open connections
            # would go on reading it, as if nothing had happened.
            self.close_connections()
        if self._idle:
            return Connection(self._idle.pop())
        return Connection(
            sqlite3.connect(**self.connection_kwargs, check_same_thread=False)  # type: ignore[misc]
        )

    def release(self, connection: Connection) -> None:
        """Give a connection back: to the pool if it is clean and there is room, else closed."""
        raw = connection.raw
        if connection.lost:
            return
        if raw.in_transaction or len(self._idle) >= IDLE_CONNECTIONS:
            raw.close()  # closing rolls back what a failed transaction left open
        else:
            self._idle.append(raw)

    def close_connections(self) -> None:
        """Close the idle connections (at shutdown; the next statement opens new ones)."""
        idle, self._idle = self._idle, []
        for raw in idle:
            raw.close()

    def writer_lock(self) -> asyncio.Lock:
        """The lock this process's writers queue on, one per event loop."""
        loop = asyncio.get_running_loop()
        if self._writer is None or self._writer[0] is not loop:
            self._writer = (loop, asyncio.Lock())
        return self._writer[1]

    # Piccolo's engine API -------------------------------------------------------------------

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> Transaction:
        return Transaction(self, transaction_type, allow_nested=allow_nested)

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False):
        sql, args = querystring.compile_string(engine_type=self.engine_type)
        return await self._run(sql, args)

    async def run_ddl(self, ddl: str, in_pool: bool = False):
        return await self._run(ddl, [])

    async def _run(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        query_id = self.get_query_id()
        if self.log_queries:
            self.print_query(query_id=query_id, query=sql)
        transaction = self.current_transaction.get()
        if transaction is not None:
            response = await transaction.run(sql, args)
        elif _reads(sql):
            connection = self.acquire()
            try:
                response = await connection.execute(sql, args)
            finally:
                self.release(connection)
        else:
            # A write on its own commits at once: it queues with the other writers and
            # flushes in a thread.
            async with self.writer_lock():
                connection = self.acquire()
                try:
                    response = await connection.execute(sql, args, in_thread=True)
                finally:
                    self.release(connection)
        if self.log_responses:
            self.print_response(query_id=query_id, response=response)
        return response
