"""Fixtures shared by the whole suite.

Every test that uses ``database_url`` (directly or through ``settings``, ``app`` or
``client``) runs once on a fresh SQLite file and, when ``CARNET_TEST_POSTGRES_URL`` is set,
once more on a fresh PostgreSQL database created for it and dropped afterwards.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from markupsafe import escape

from portal import audit, crypto, i18n
from portal.app import create_app
from portal.cli import upgrade_database
from portal.db import Database, create_engine
from portal.piccolo_app import APP_CONFIG
from portal.plugins import Plugins, load_plugins
from portal.settings import Settings
from portal.testing import (  # noqa: F401 - the suite's helpers, from the kit plugins use too
    CSRF_FIELD,
    ENGINES,
    POSTGRES_URL,
    TEST_HOST,
    create_postgres_database,
    drop_postgres_database,
    http_client,
    make_settings,
    running,
    sign_in,
)

THIRD_PARTY = Path(__file__).parent / "third_party"
#: The example plugins are tested on their own, as their authors would (tests/third_party).
collect_ignore = ["third_party"]
#: For a test whose subject does not depend on the database engine (what a PDF or a page shows):
#: it runs on SQLite alone, where the database tests run on both engines.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


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
    audit.install(settings)
    crypto.install(crypto.keyring_for(settings))
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
    # And the tables those modules declared sealed: a later test's sealing must not reach them.
    for name, spec in list(crypto._SEALED.items()):
        if spec.table.__module__ not in sys.modules:
            del crypto._SEALED[name]


@pytest.fixture
def installed_third_party_plugin(install_distribution, monkeypatch) -> str:
    """The example sleep-diary section, installed as a separate distribution would be."""
    monkeypatch.syspath_prepend(str(THIRD_PARTY / "carnet_sleep_diary"))
    install_distribution("carnet-sleep-diary", {"sleep_diary": "carnet_sleep_diary.plugin"})
    return "sleep_diary"


@pytest.fixture
def at_the_same_moment(monkeypatch) -> Callable[[], dict[str, int]]:
    """Call it to make the next look-up of a submission (`documents.submitted`) miss, as when
    two copies of a form or a bundle are sent at the same moment and both pass it before
    either is saved. It returns the look-ups still to miss: 0 once it happened."""
    from portal.dossiers import documents

    def blind() -> dict[str, int]:
        real = documents.submitted
        left = {"looks": 1}

        async def racing(view, submission):
            if left["looks"]:
                left["looks"] -= 1
                return None
            return await real(view, submission)

        monkeypatch.setattr(documents, "submitted", racing)
        return left

    return blind


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
