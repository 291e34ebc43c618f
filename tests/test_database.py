"""The database: tuned SQLite, pooled PostgreSQL, migrations, and life when it goes away."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest
from litestar import get
from litestar.testing import AsyncTestClient

from portal import hookimpl
from portal.access import public
from portal.app import create_app, route_handlers
from portal.cli import upgrade_database
from portal.db import Database, create_engine
from portal.piccolo_app import APP_CONFIG as CORE_APP
from portal.plugins import BUILTIN_PLUGINS, load_plugins
from tests.conftest import TEST_HOST, make_settings, plugins_with, translated


async def test_sqlite_connections_are_tuned_for_durability(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/tuned.sqlite3")
    pragmas = {}
    for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout"):
        rows = await engine.run_ddl(f"PRAGMA {name}")
        pragmas[name] = next(iter(rows[0].values()))
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL: a committed write survives a power cut
        "foreign_keys": 1,
        "busy_timeout": 30_000,
    }


async def test_sqlite_write_transactions_take_the_write_lock_up_front(tmp_path):
    path = tmp_path / "locks.sqlite3"
    database = Database(create_engine(f"sqlite:///{path}"), [CORE_APP])
    async with database.write_transaction():
        # No statement has run yet, but IMMEDIATE already holds the lock: another writer
        # waits (here: fails at once, with no busy timeout) instead of deadlocking later.
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()


async def test_upgrade_creates_every_app_then_is_a_no_op(
    tmp_path, database_url, installed_third_party_plugin
):
    settings = make_settings(tmp_path, database_url)
    applied = await upgrade_database(settings)
    apps = [name.split(":")[0] for name in applied]
    assert apps[0] == "portal"
    assert apps == sorted(apps, key=lambda app: app != "portal")  # the core's, then the rest
    # The core, the built-in sections, the example and any other plugin installed.
    assert set(apps) == {"portal", *load_plugins().infos} >= {"sleep_diary", *BUILTIN_PLUGINS}

    from carnet_sleep_diary.tables import Night

    assert await Night.table_exists()
    assert await upgrade_database(settings) == []


async def test_plugin_migrations_run_after_the_core(tmp_path, installed_third_party_plugin):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/order.sqlite3")
    await upgrade_database(settings)
    from piccolo.apps.migrations.commands.base import BaseMigrationManager

    order = BaseMigrationManager().get_sorted_app_names()
    assert order[0] == "portal"
    assert set(order) == {"portal", *load_plugins().infos} >= {"sleep_diary", *BUILTIN_PLUGINS}


# --- the database going away ----------------------------------------------------------------


class _ProbePlugin:
    """A route that needs the database, like every dossier page will."""

    @hookimpl
    def register_routes(self):
        @get("/probe", guards=[public])
        async def probe() -> str:
            from piccolo.apps.migrations.tables import Migration

            return str(await Migration.count())

        return [probe]


class TcpProxy:
    """A TCP relay to PostgreSQL that the test can cut and restore, like a network outage.

    It runs its own event loop in a thread: the test client may block the test's loop while
    the application starts.
    """

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    async def start(self) -> None:
        self._call(self._start())

    async def stop(self) -> None:
        self._call(self._stop())

    def close(self) -> None:
        self._call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self.server is None:
            return
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.wait_closed()
        self.server = None
        self.writers.clear()

    async def _relay(self, client_reader, client_writer) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self.writers.update({client_writer, server_writer})

        async def pipe(reader, writer):
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


@contextlib.asynccontextmanager
async def outage(database_url: str, tmp_path):
    """Yield (url the app should use, cut(), restore()) for either engine."""
    if database_url.startswith("sqlite"):
        folder = tmp_path / "db-folder"
        folder.mkdir()
        path = folder / "carnet.sqlite3"

        async def cut():
            folder.rename(tmp_path / "db-folder-away")

        async def restore():
            (tmp_path / "db-folder-away").rename(folder)

        yield f"sqlite:///{path}", cut, restore
        return
    parts = urlsplit(database_url)
    proxy = TcpProxy(parts.hostname, parts.port or 5432)
    await proxy.start()
    netloc = (
        f"{parts.username}@127.0.0.1:{proxy.port}" if parts.username else f"127.0.0.1:{proxy.port}"
    )
    try:
        yield urlunsplit(parts._replace(netloc=netloc)), proxy.stop, proxy.start
    finally:
        proxy.close()


async def test_database_down_gives_503_and_the_portal_recovers(tmp_path, database_url):
    async with outage(database_url, tmp_path) as (url, cut, restore):
        settings = make_settings(tmp_path, url)
        await upgrade_database(settings)
        app = create_app(settings, plugins_with(probe=_ProbePlugin()))
        async with AsyncTestClient(app, base_url=f"http://{TEST_HOST}") as client:
            assert (await client.get("/health")).json() == {"status": "ok", "database": "ok"}
            assert (await client.get("/probe")).status_code == 200

            await cut()
            health = await client.get("/health")
            assert health.status_code == 503
            assert health.json()["database"] == "unreachable"
            page = await client.get("/probe")
            assert page.status_code == 503
            assert page.headers["retry-after"] == "30"
            assert "Traceback" not in page.text
            assert translated("fr", "Carnet is temporarily unavailable") in page.text
            assert (await client.get("/")).status_code == 200  # pages without data still work

            await restore()
            assert (await client.get("/health")).status_code == 200
            assert (await client.get("/probe")).status_code == 200


async def test_the_portal_starts_while_the_database_is_down(tmp_path):
    settings = make_settings(tmp_path, "postgresql://nobody@127.0.0.1:1/carnet")
    app = create_app(settings)
    async with AsyncTestClient(app, base_url=f"http://{TEST_HOST}") as client:
        assert (await client.get("/health")).status_code == 503
        assert (await client.get("/")).status_code == 200


async def test_a_database_down_at_start_up_is_used_once_it_is_back(tmp_path, database_url):
    async with outage(database_url, tmp_path) as (url, cut, restore):
        settings = make_settings(tmp_path, url)
        await upgrade_database(settings)
        await cut()
        app = create_app(settings, plugins_with(probe=_ProbePlugin()))
        async with AsyncTestClient(app, base_url=f"http://{TEST_HOST}") as client:
            assert (await client.get("/probe")).status_code == 503
            await restore()
            assert (await client.get("/probe")).status_code == 200
            assert not app.state.database.needs_connection  # the pool is open again


def test_every_route_reopens_a_database_the_start_up_could_not_open(tmp_path):
    """Litestar keeps only the hook closest to a route: a router or a route with its own
    ``before_request`` would never reopen the database for its requests."""
    app = create_app(make_settings(tmp_path, "postgresql://nobody@127.0.0.1:1/carnet"))
    hooks = {
        path: getattr(handler.resolve_before_request(), "__name__", None)
        for path, handler in route_handlers(app)
    }
    assert "/fhir/metadata" in hooks
    assert {path for path, hook in hooks.items() if hook != "reopen_database"} == set()
