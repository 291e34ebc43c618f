"""The database: one Piccolo engine chosen by ``CARNET_DATABASE_URL``, shared by every table.

SQLite (the default) is tuned for durability and concurrency: WAL journal, ``synchronous=FULL``,
a busy timeout and foreign keys on every connection, connections kept open, and writes in
IMMEDIATE transactions that queue in turn (`portal.sqlite_engine`). PostgreSQL uses a
connection pool opened at start-up and closed at shutdown.

Piccolo finds its engine and apps through ``PICCOLO_CONF``; `portal.piccolo_conf` answers
with whatever `use_engine` installed last, so the migration tools, the CLI and the tests all
share one engine per process.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import AppConfig, AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from portal import sqlite_engine
from portal.settings import parse_database_url

if TYPE_CHECKING:
    import asyncpg

os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")

#: Seconds a SQLite connection waits for a lock before giving up (the busy timeout).
SQLITE_BUSY_TIMEOUT = 30
#: Seconds PostgreSQL waits for a connection before reporting the database unavailable.
POSTGRES_CONNECT_TIMEOUT = 5


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; pages answer 503 and the process keeps running."""


def create_engine(database_url: str) -> Engine:
    """Build (but do not connect) the engine named by a ``CARNET_DATABASE_URL``."""
    url = parse_database_url(database_url)
    if url.engine == "sqlite":
        return sqlite_engine.SQLiteEngine(path=url.path, timeout=SQLITE_BUSY_TIMEOUT)
    return SafePostgresEngine(config={"dsn": url.dsn, "timeout": POSTGRES_CONNECT_TIMEOUT})


class SafePostgresTransaction(PostgresTransaction):
    """Piccolo's transaction, which gives its connection back to the pool and forgets itself
    even when it cannot roll back because the connection is gone (the server restarting).
    Piccolo's own keeps the connection then: each restart under load took a connection of the
    pool for ever, until none was left and the portal's shutdown waited for them in vain."""

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
            try:
                if self.engine.pool:
                    await self.engine.pool.release(self.connection)
                else:
                    await self.connection.close()
            finally:
                self.engine.current_transaction.reset(self.context)
        return exception is None


class SafePostgresEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine with `SafePostgresTransaction`."""

    def transaction(self, allow_nested: bool = True) -> SafePostgresTransaction:
        return SafePostgresTransaction(engine=self, allow_nested=allow_nested)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """What a PostgreSQL connection needs when it goes back to the pool, beyond the rollback
    of a transaction left open (asyncpg's own): nothing. The portal leaves no session state
    (no SET, LISTEN, cursors nor session-level advisory locks: the audit chain's lock ends with
    its transaction), so asyncpg's default reset (``RESET ALL``, ``CLOSE ALL``, ``UNLISTEN *``,
    ``pg_advisory_unlock_all()``) would cost a round trip to the server after every statement
    run on its own, for nothing."""


class Database:
    """The engine and the Piccolo apps of one running portal."""

    def __init__(self, engine: Engine, app_configs: Iterable[AppConfig]):
        self.engine = engine
        self.app_configs = list(app_configs)
        self.registry = _registry_for(self.app_configs)

    @property
    def is_sqlite(self) -> bool:
        return isinstance(self.engine, SQLiteEngine)

    def install(self) -> None:
        """Make this the engine every table and Piccolo's own tools use."""
        global _current
        _current = self
        for table in self.tables():
            table._meta.db = self.engine

    def tables(self) -> list:
        tables = [Migration]
        for config in self.app_configs:
            tables.extend(config.table_classes)
        return tables

    @property
    def needs_connection(self) -> bool:
        """True while the PostgreSQL pool is not open (the database was down at start-up)."""
        return isinstance(self.engine, PostgresEngine) and self.engine.pool is None

    async def connect(self) -> None:
        """Open the PostgreSQL pool; raise `DatabaseUnavailable` when it cannot be reached."""
        if self.needs_connection:
            try:
                await self.engine.start_connection_pool(
                    min_size=1, max_size=20, reset=_keep_session
                )
            except (OSError, TimeoutError, *_postgres_errors()) as error:
                raise DatabaseUnavailable(describe_error(error)) from error

    async def disconnect(self) -> None:
        if isinstance(self.engine, sqlite_engine.SQLiteEngine):
            self.engine.close_connections()
        if isinstance(self.engine, PostgresEngine) and self.engine.pool is not None:
            await self.engine.close_connection_pool()

    async def ping(self) -> None:
        """One round trip; raises `DatabaseUnavailable` when the database does not answer."""
        try:
            await self.connect()
            await self.engine.run_ddl("SELECT 1")
        except DatabaseUnavailable:
            raise
        except Exception as error:
            if is_unavailable_error(error):
                raise DatabaseUnavailable(describe_error(error)) from error
            raise

    @contextlib.asynccontextmanager
    async def write_transaction(self):
        """A transaction for writes: IMMEDIATE on SQLite so the write lock is taken up front.
        Within another transaction, it is that one; the callbacks given to `after_commit`
        run once the outermost one has committed."""
        if isinstance(self.engine, SQLiteEngine):
            transaction = self.engine.transaction(transaction_type=TransactionType.immediate)
        else:
            transaction = self.engine.transaction()
        if self.engine.current_transaction.get() is not None:
            async with transaction as outer:
                yield outer
            return
        callbacks: list[Callable[[], None]] = []
        token = _after_commit.set(callbacks)
        try:
            async with transaction as started:
                yield started
        finally:
            _after_commit.reset(token)
        for callback in callbacks:
            callback()

    async def upgrade(self) -> list[str]:
        """Apply every app's pending migrations (core first); return the names of those applied."""
        if isinstance(self.engine, SQLiteEngine):
            # Only the upgrade creates the database; a running portal whose file has gone
            # away answers 503 rather than starting afresh on an empty one.
            Path(self.engine.path).parent.mkdir(parents=True, exist_ok=True)
        await self.connect()
        before = await self._applied()
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            result = await run_forwards(app_name="all")
        if not result.success:
            raise RuntimeError(result.message or output.getvalue())
        return [name for name in await self._applied() if name not in before]

    async def _applied(self) -> list[str]:
        if not await Migration.table_exists():
            return []
        rows = await Migration.select(Migration.app_name, Migration.name).order_by(Migration.id)
        return [f"{row['app_name']}:{row['name']}" for row in rows]


_current: Database | None = None
_after_commit: ContextVar[list[Callable[[], None]] | None] = ContextVar(
    "after_commit", default=None
)


def after_commit(callback: Callable[[], None]) -> bool:
    """Run ``callback`` once the current `Database.write_transaction` has committed (never if
    it rolls back); False, and nothing done, outside one."""
    callbacks = _after_commit.get()
    if callbacks is None:
        return False
    callbacks.append(callback)
    return True


def current() -> Database:
    """The database installed by the running portal (see `Database.install`)."""
    if _current is None:
        raise RuntimeError("No database is installed: create the app or call Database.install().")
    return _current


def _registry_for(app_configs: list[AppConfig]) -> AppRegistry:
    """Piccolo's registry wants module paths; find the ``piccolo_app`` module of each config."""
    return AppRegistry(apps=[module_path_of(config) for config in app_configs])


def module_path_of(app_config: AppConfig) -> str:
    for name, module in list(sys.modules.items()):
        if getattr(module, "APP_CONFIG", None) is app_config:
            return name
    raise LookupError(
        f"The Piccolo app {app_config.app_name!r} must be defined as APP_CONFIG "
        "in its package's piccolo_app.py."
    )


def _postgres_errors() -> tuple[type[BaseException], ...]:
    import asyncpg

    return (
        asyncpg.PostgresConnectionError,  # SQLSTATE class 08, lost or refused connections
        asyncpg.CannotConnectNowError,  # the server is starting or shutting down
        asyncpg.AdminShutdownError,
        asyncpg.InvalidCatalogNameError,  # the database does not exist
        asyncpg.InvalidAuthorizationSpecificationError,
        asyncpg.TooManyConnectionsError,
        asyncpg.InterfaceError,
    )


#: SQLSTATE classes of PostgreSQL errors that say the server cannot serve now, not that the
#: statement is wrong: connection exceptions, a login refused, a database missing, transaction
#: rollbacks (serialization failures, deadlocks), insufficient resources (disk full, out of
#: memory, too many connections), operator intervention (shutdown, restart, cancelled), system
#: errors and internal errors.
POSTGRES_UNAVAILABLE_CLASSES = frozenset({"08", "28", "3D", "40", "53", "57", "58", "XX"})
#: SQLite's primary result codes that say the same of the database file: busy, locked, out of
#: memory, read-only, I/O error, corrupt, disk full, cannot open, locking protocol, not a
#: database.
SQLITE_UNAVAILABLE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
    }
)


def is_unavailable_error(error: BaseException) -> bool:
    """Whether an exception means "the database cannot serve now" rather than a bug: the
    server or file is unreachable, restarting, full or failing, whatever the driver calls it
    (asyncpg's client-side errors, such as ``InternalClientError: cannot switch to state``
    after a lost connection, included), and whether the driver's exception was raised as it
    is or as the cause of another. A network error (``OSError``) counts only when raised as it
    is: as the cause of another, it may be some other server's (a mail server's)."""
    if isinstance(error, (DatabaseUnavailable, OSError, TimeoutError)):
        return True
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if _driver_says_unavailable(current):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(cause for cause in (current.__cause__, current.__context__) if cause)
    return False


def _driver_says_unavailable(error: BaseException) -> bool:
    if type(error).__module__.startswith("asyncpg"):
        import asyncpg

        if isinstance(error, asyncpg.PostgresError):
            return str(getattr(error, "sqlstate", ""))[:2] in POSTGRES_UNAVAILABLE_CLASSES
        # The client's own errors (InterfaceError, InternalClientError, ...) say the connection
        # or its protocol state was lost, except for an argument it could not encode (a bug).
        return not isinstance(error, asyncpg.DataError)
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in SQLITE_UNAVAILABLE_CODES
        return isinstance(error, sqlite3.OperationalError)
    return isinstance(error, DatabaseUnavailable)


def describe_error(error: BaseException) -> str:
    """One line for a person: the exception's own message without a traceback."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text
