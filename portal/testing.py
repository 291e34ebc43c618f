"""The test kit: a real portal, with the demo, for the tests of Carnet and of its plugins.

It is a pytest plugin, installed with Carnet (the ``pytest11`` entry point): a plugin package's
own test suite gets it with plain ``pytest``, with no conftest. Its fixture ``carnet`` is a
running portal with every installed plugin, on a fresh database that holds the demo
(CONVENTIONS.md), once on SQLite and once more on PostgreSQL when ``CARNET_TEST_POSTGRES_URL``
is set::

    async def test_the_doctor_reads_the_card(carnet):
        camille = carnet.dossiers["camille"]
        doctor = await carnet.sign_in("dr.bernard@demo.carnet.fr")
        card = await doctor.get(f"/dossiers/{camille}/cards/sleep_diary")
        assert card.status_code == 200

        view = await carnet.view("dr.bernard@demo.carnet.fr", camille)
        assert view.may(Action.VIEW, "sommeil")

The database with the demo is made once per test session, engine and set of plugins, and each
test gets a copy of it (a file copy on SQLite, a database made from a template on PostgreSQL).
The helpers below (`make_settings`, `running`, `http_client`, `sign_in`...) are those the core's
own tests use.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg
import httpx
import pyotp
import pytest
import pytest_asyncio
from litestar import Litestar, Request

from portal import audit, clock, crypto
from portal.access.view import DossierView, open_dossier
from portal.app import create_app
from portal.audit.tables import AuditEvent
from portal.audit.trail import chain_of
from portal.db import Database, create_engine
from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo, read_demo
from portal.identity import sessions
from portal.identity.accounts import normalize_login
from portal.identity.second_factor import TOTP_PERIOD
from portal.identity.tables import Account
from portal.piccolo_app import APP_CONFIG as CORE_APP
from portal.plugins import Plugins, load_plugins
from portal.settings import Settings

POSTGRES_URL = os.environ.get("CARNET_TEST_POSTGRES_URL")
ENGINES = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
#: The host name the test clients ask for (an allowed host of `make_settings`).
TEST_HOST = "testserver.local"
SQLITE_FILE = "carnet.sqlite3"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_settings(folder: Path, database_url: str, **environ: str) -> Settings:
    """Settings as a deployment would give them, with their keys in ``folder/var``."""
    return Settings.from_env(
        {
            "CARNET_ENV": "test",
            "CARNET_DATA_DIR": str(folder / "var"),
            "CARNET_DATABASE_URL": database_url,
            "CARNET_ALLOWED_HOSTS": f"{TEST_HOST},127.0.0.1,localhost",
            **environ,
        }
    )


# --- databases ------------------------------------------------------------------------------


def _postgres_url(name: str) -> str:
    return urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}"))


async def _on_postgres_server(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def create_postgres_database(template: str | None = None) -> str:
    """A new PostgreSQL database on the test server (empty, or a copy of the database at
    ``template``, a URL); returns its URL."""
    name = f"carnet_test_{uuid.uuid4().hex[:12]}"
    copied = f' TEMPLATE "{urlsplit(template).path.lstrip("/")}"' if template else ""
    await _on_postgres_server(f'CREATE DATABASE "{name}"{copied}')
    return _postgres_url(name)


async def drop_postgres_database(url: str) -> None:
    await _on_postgres_server(
        f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)'
    )


async def copy_database(template: str, folder: Path) -> str:
    """A copy of the (closed) database at ``template``: on SQLite a file in ``folder``, on
    PostgreSQL a new database (drop it with `drop_postgres_database`)."""
    if not template.startswith("sqlite:"):
        return await create_postgres_database(template)
    source = Path(urlsplit(template).path)
    for suffix in ("", "-wal", "-shm"):  # the journal too, should it hold anything
        if source.with_name(source.name + suffix).exists():
            shutil.copy(source.with_name(source.name + suffix), folder / (SQLITE_FILE + suffix))
    return f"sqlite:///{folder}/{SQLITE_FILE}"


@dataclass
class Templates:
    """Databases made once per test session, for the tests to copy."""

    folder: Path
    made: dict[tuple, str] = field(default_factory=dict)

    async def get(self, engine: str, plugins: Plugins, *, demo: bool) -> str:
        """The URL of a database on ``engine`` with every migration of the core and of
        ``plugins`` applied, and the demo loaded when ``demo``."""
        key = (engine, tuple(sorted(plugins.infos)), demo)
        if key not in self.made:
            if engine == "sqlite":
                folder = self.folder / f"template-{len(self.made)}"
                folder.mkdir()
                url = f"sqlite:///{folder}/{SQLITE_FILE}"
            else:
                url = await create_postgres_database()
            settings = make_settings(self.folder, url)
            database = Database(create_engine(url), [CORE_APP, *plugins.piccolo_apps])
            database.install()
            audit.install(settings)
            crypto.install(crypto.keyring_for(settings))
            try:
                await database.upgrade()
                if demo:
                    await database.connect()
                    await load_demo(plugins)
            finally:
                await database.disconnect()
            self.made[key] = url
        return self.made[key]

    def settings(self, url: str, folder: Path) -> Settings:
        """Settings for a copy of a template, with its data in ``folder``: the same audit
        and master keys (the demo's audit trail is signed with the one, its content sealed
        under the other), and its own register of purged dossiers."""
        template = make_settings(self.folder, url)
        return make_settings(
            folder, url, CARNET_AUDIT_KEY=template.audit_key, CARNET_MASTER_KEY=template.master_key
        )

    def drop(self) -> None:
        for url in self.made.values():
            if not url.startswith("sqlite:"):
                asyncio.run(drop_postgres_database(url))


@pytest.fixture(scope="session")
def carnet_templates(tmp_path_factory) -> Iterator[Templates]:
    """The session's template databases (see `Templates`), dropped at its end."""
    templates = Templates(tmp_path_factory.mktemp("carnet"))
    yield templates
    templates.drop()


# --- a running portal -----------------------------------------------------------------------


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


def http_client(app: Litestar, **options) -> httpx.AsyncClient:
    """An HTTP client that calls ``app`` in this event loop (httpx's ASGI transport), as
    uvicorn would: the test can query the database between requests, on PostgreSQL too."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
        base_url=f"http://{TEST_HOST}",
        **options,
    )


async def sign_in(client: httpx.AsyncClient, login: str, password: str, totp_secret: str) -> None:
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
    current = int(clock.now().timestamp()) // TOTP_PERIOD
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


@dataclass
class Carnet:
    """A running portal on a database holding the demo (the ``carnet`` fixture)."""

    app: Litestar
    #: A client nobody is signed in on.
    client: httpx.AsyncClient
    #: The demo dossiers by the patient's first name in lower case: camille, jules, leo.
    dossiers: dict[str, UUID]
    #: The demo accounts by login (CONVENTIONS.md).
    accounts: dict[str, UUID]
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return self.app.state.settings

    async def sign_in(self, login: str) -> httpx.AsyncClient:
        """A new client (its own cookies) where the demo person ``login`` has logged in with
        the demo password and authenticator. Its unsafe requests carry the session's CSRF
        token (as htmx sends it), so ``await client.post(path, data=...)`` acts as a form of
        the portal would. A person signs in at most twice in a 30-second step."""
        client = http_client(self.app)
        self._clients.append(client)
        await sign_in(client, login, DEMO_PASSWORD, DEMO_TOTP_SECRET)
        page = await client.get("/account")
        client.headers["X-CSRF-Token"] = CSRF_FIELD.search(page.text).group(1)
        return client

    async def view(self, login: str, dossier: UUID) -> DossierView:
        """The dossier as the demo person ``login`` sees it (what a plugin's hooks receive),
        from a request of theirs: refused (404 / 403) when they may not open it."""
        request = Request(
            {
                "type": "http",
                "litestar_app": self.app,
                "app": self.app,
                "method": "GET",
                "path": f"/dossiers/{dossier}",
                "headers": [],
                "client": ("127.0.0.1", 50000),
                "state": {},
            }
        )
        token = await sessions.start(self.accounts[login], sessions.Stage.SIGNED_IN, request)
        request.scope["state"]["session"] = await sessions.load(token)
        return await open_dossier(request, dossier)

    async def trail(self, dossier: UUID, login: str | None = None) -> list[dict]:
        """The audit events of ``dossier`` (of the demo person ``login`` only, when given),
        oldest first: what the patient's access history shows."""
        events = AuditEvent.select().where(AuditEvent.chain == chain_of(dossier))
        if login is not None:
            events = events.where(AuditEvent.actor_account == self.accounts[login])
        return await events.order_by(AuditEvent.seq)

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


@pytest_asyncio.fixture(params=ENGINES)
async def carnet(request, tmp_path, carnet_templates) -> AsyncIterator[Carnet]:
    """A running portal with every installed plugin, on a copy of a database holding the demo;
    on SQLite, then on PostgreSQL when ``CARNET_TEST_POSTGRES_URL`` is set."""
    plugins = load_plugins()
    url = await copy_database(
        await carnet_templates.get(request.param, plugins, demo=True), tmp_path
    )
    app = create_app(carnet_templates.settings(url, tmp_path), plugins)
    try:
        async with running(app), http_client(app) as client:
            demo = await read_demo()
            portal = Carnet(app, client, dict(demo.dossiers), dict(demo.accounts))
            try:
                yield portal
            finally:
                await portal.close()
    finally:
        if request.param == "postgres":
            await drop_postgres_database(url)
