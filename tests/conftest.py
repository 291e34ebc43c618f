"""Fixtures shared by the whole suite.

Every test that uses ``database_url`` (directly or through ``settings``, ``app`` or
``client``) runs once on a fresh SQLite file and, when ``CARNET_TEST_POSTGRES_URL`` is set,
once more on a fresh PostgreSQL database created for it and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pyotp
import pytest
from litestar import Litestar
from markupsafe import escape

from portal import clock as portal_clock
from portal import i18n
from portal.app import create_app
from portal.audit import signing
from portal.cli import upgrade_database
from portal.db import Database, create_engine
from portal.identity.accounts import normalize_login
from portal.identity.second_factor import TOTP_PERIOD
from portal.identity.tables import Account
from portal.piccolo_app import APP_CONFIG
from portal.plugins import Plugins, load_plugins
from portal.settings import Settings

POSTGRES_URL = os.environ.get("CARNET_TEST_POSTGRES_URL")
ENGINES = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
THIRD_PARTY = Path(__file__).parent / "third_party"
#: For a test whose subject does not depend on the database engine (what a PDF or a page shows):
#: it runs on SQLite alone, where the database tests run on both engines.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
TEST_HOST = "testserver.local"


def make_settings(tmp_path: Path, database_url: str, **environ: str) -> Settings:
    """Settings as a deployment would give them, for a data folder private to the test."""
    return Settings.from_env(
        {
            "CARNET_ENV": "test",
            "CARNET_DATA_DIR": str(tmp_path / "var"),
            "CARNET_DATABASE_URL": database_url,
            "CARNET_ALLOWED_HOSTS": f"{TEST_HOST},127.0.0.1,localhost",
            **environ,
        }
    )


async def create_postgres_database() -> str:
    """A new, empty PostgreSQL database on the test server; returns its URL."""
    name = f"carnet_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def drop_postgres_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(params=ENGINES)
async def database_url(request, tmp_path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/carnet.sqlite3"
        return
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture
async def database(tmp_path, database_url) -> AsyncIterator[Database]:
    """An upgraded, connected database (core tables only) for tests of services without HTTP,
    with the audit key of its settings installed; ``database.settings`` are its settings."""
    settings = make_settings(tmp_path, database_url)
    await upgrade_database(settings)
    database = Database(create_engine(settings.database_url), [APP_CONFIG])
    database.install()
    signing.install(signing.key_from_text(settings.audit_key))
    await database.connect()
    database.settings = settings
    yield database
    await database.disconnect()


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def app(settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like HTTP client on ``app``, which runs in the test's own event loop."""
    async with running(app), http_client(app) as test_client:
        yield test_client


def http_client(app: Litestar, **options) -> httpx.AsyncClient:
    """An HTTP client that calls ``app`` in this event loop (httpx's ASGI transport), as
    uvicorn would: the test can query the database between requests, on PostgreSQL too."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
        base_url=f"http://{TEST_HOST}",
        **options,
    )


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """The app's start-up and shutdown (its lifespan), as a server runs them. They run in a
    task of their own: the lifespan must end in the task it began in, and a fixture's
    teardown runs in another task than its setup."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    waiting = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiting.cancel()
        task.result()  # the start-up failed: say why
    try:
        yield
    finally:
        stop.set()
        await task


@pytest.fixture
def install_distribution(tmp_path, monkeypatch) -> Iterator[Callable[..., None]]:
    """Install a distribution as pip would, without pip: its ``.dist-info`` (declaring its
    ``carnet`` entry points) in a site folder on ``sys.path``, and optionally its modules."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    path_before = set(sys.path) - {str(site)}
    loaded_before = set(sys.modules)

    def install(
        name: str,
        entry_points: dict[str, str],
        modules: dict[str, str] | None = None,
        version: str = "1.0",
    ) -> None:
        dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        lines = "".join(f"{key} = {target}\n" for key, target in entry_points.items())
        (dist_info / "entry_points.txt").write_text(f"[carnet]\n{lines}")
        for module_name, source in (modules or {}).items():
            (site / f"{module_name}.py").write_text(textwrap.dedent(source))

    yield install
    # Forget the modules the test imported from the folders it put on the path (the
    # distributions' own), not the portal's or the built-in plugins' it happened to load first.
    added = [Path(entry).resolve() for entry in set(sys.path) - path_before]
    for name in set(sys.modules) - loaded_before:
        module = sys.modules[name]
        places = [getattr(module, "__file__", None), *getattr(module, "__path__", [])]
        if any(
            Path(place).resolve().is_relative_to(folder)
            for place in places
            if place
            for folder in added
        ):
            del sys.modules[name]


@pytest.fixture
def installed_third_party_plugin(install_distribution, monkeypatch) -> str:
    """The example sleep-diary section, installed as a separate distribution would be."""
    monkeypatch.syspath_prepend(str(THIRD_PARTY))
    install_distribution("carnet-sleep-diary", {"sleep_diary": "carnet_sleep_diary.plugin"})
    return "sleep_diary"


def plugins_with(**extra: object) -> Plugins:
    """The installed plugins plus test-only ones, given as ``key=plugin object``."""
    loaded = load_plugins()
    for key, plugin in extra.items():
        loaded.manager.register(plugin, name=key)
    return Plugins(loaded.manager, loaded.infos.values())


def translated(language: str, message: str) -> str:
    """``message`` as a person reading ``language`` sees it (and as HTML escapes it)."""
    token = i18n.set_language(language)
    try:
        return str(escape(i18n.gettext(message)))
    finally:
        i18n.reset_language(token)


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in(client, login: str, password: str, totp_secret: str) -> None:
    """Log ``client`` in to an account with an authenticator, through both steps (``/login``
    then ``/login/code``) as a browser without JavaScript would; afterwards its cookies hold
    a signed-in session.

    The TOTP code is for the current time step (`portal.clock`, so a test's frozen clock
    applies) or, when the account has already used that one, for the next: the portal accepts
    one step ahead, and never a step twice.
    """

    async def submit(path: str, fields: dict[str, str]) -> str:
        form = await client.get(path)
        assert form.status_code == 200, f"GET {path}: {form.status_code}"
        token = CSRF_FIELD.search(form.text).group(1)
        response = await client.post(
            path, data={**fields, "csrf_token": token}, follow_redirects=False
        )
        assert response.status_code == 303, f"POST {path}: {response.status_code}"
        return response.headers["location"]

    location = await submit("/login", {"login": login, "password": password})
    assert location.startswith("/login/code"), f"{login}: the login led to {location}"
    current = int(portal_clock.now().timestamp()) // TOTP_PERIOD
    account = (
        await Account.select(Account.totp_last_step)
        .where(Account.login == normalize_login(login))
        .first()
    )
    step = max(current, account["totp_last_step"] + 1)
    assert step <= current + 1, f"{login} has used the TOTP steps the portal accepts now"
    code = pyotp.TOTP(totp_secret, interval=TOTP_PERIOD).at(step * TOTP_PERIOD)
    location = await submit("/login/code", {"code": code})
    assert not location.startswith("/login"), f"{login}: the code led to {location}"
