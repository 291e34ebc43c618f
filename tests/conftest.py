"""Fixtures shared by the whole suite.

Every test that uses ``database_url`` (directly or through ``settings``, ``app`` or
``client``) runs once on a fresh SQLite file and, when ``CARNET_TEST_POSTGRES_URL`` is set,
once more on a fresh PostgreSQL database created for it and dropped afterwards.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from portal.app import create_app
from portal.settings import Settings

POSTGRES_URL = os.environ.get("CARNET_TEST_POSTGRES_URL")
ENGINES = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
THIRD_PARTY = Path(__file__).parent / "third_party"
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
def settings(tmp_path, database_url) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def app(settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app, base_url=f"http://{TEST_HOST}") as test_client:
        yield test_client


@pytest.fixture
def installed_third_party_plugin(tmp_path, monkeypatch) -> Iterator[str]:
    """Install the example sleep-diary distribution as pip would: its code on the path and a
    ``.dist-info`` declaring its ``carnet`` entry point. Yields the plugin key."""
    site = tmp_path / "site-packages"
    dist_info = site / "carnet_sleep_diary-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: carnet-sleep-diary\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[carnet]\nsleep_diary = carnet_sleep_diary.plugin\n"
    )
    monkeypatch.syspath_prepend(str(THIRD_PARTY))
    monkeypatch.syspath_prepend(str(site))
    yield "sleep_diary"
    for module in [name for name in sys.modules if name.startswith("carnet_sleep_diary")]:
        del sys.modules[module]
