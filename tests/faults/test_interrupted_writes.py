"""A write cut off half-way (the database restarting, the disk full, the worker killed) leaves
nothing half-written: every write acknowledged before is there once, the one cut off is not
there at all, the portal writes again afterwards, and the audit trail verifies."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from portal.audit import signing
from portal.audit.verification import verify
from portal.sqlite_engine import SQLiteEngine
from portal.testing import POSTGRES_URL, TEST_HOST
from tests.faults.conftest import deposit, documents_of

DOCTOR = "dr.garcia@demo.carnet.fr"
#: The statement a write is cut off at: the document's own row, in the deposit's transaction.
CUT_AT = 'INSERT INTO "document"'
#: Attempts after the fault: more than the connections the portal's pool holds in a test.
RETRIES = 10


def _cut_off(monkeypatch, engine_class, fault) -> list[str]:
    """Run ``fault(engine)`` once, just before the document's row is written; the list fills
    with the statement it cut off."""
    original = engine_class.run_querystring
    cut: list[str] = []

    async def run_querystring(self, querystring, *args, **kwargs):
        if not cut and CUT_AT in str(querystring):
            cut.append(str(querystring))
            await fault(self)
        return await original(self, querystring, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", run_querystring)
    return cut


async def _restart_postgres(engine: PostgresEngine) -> None:
    """What a restart does to the portal's connections: the server ends every one of them."""
    name = engine.config["dsn"].rsplit("/", 1)[1]
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
    finally:
        await connection.close()


async def _fill_the_disk(engine: SQLiteEngine) -> None:
    """The database may not grow by a page any more: SQLite says "database or disk is full"
    (SQLITE_FULL), as when the disk is."""
    raw = engine.current_transaction.get().connection.raw
    pages = raw.execute("PRAGMA page_count").fetchone()["page_count"]
    raw.execute(f"PRAGMA max_page_count = {pages}")


FAULTS = {
    "postgres": (PostgresEngine, _restart_postgres),
    "sqlite": (SQLiteEngine, _fill_the_disk),
}


@pytest.mark.parametrize(
    "carnet",
    [
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL")),
    ],
    indirect=True,
)
async def test_a_write_cut_off_leaves_nothing_half_written(carnet, monkeypatch, request):
    engine_name = request.node.callspec.params["carnet"]
    doctor = await carnet.sign_in(DOCTOR)
    dossier = carnet.dossiers["camille"]
    before = await documents_of(dossier)
    assert await deposit(doctor, dossier, "Before") == 303
    acknowledged = await documents_of(dossier)
    assert len(acknowledged - before) == 1

    cut = _cut_off(monkeypatch, *FAULTS[engine_name])
    answer = await deposit(doctor, dossier, "Cut off", body="x" * 40_000)
    monkeypatch.undo()
    if engine_name == "sqlite":  # the disk has room again
        carnet.app.state.database.engine.close_connections()

    assert cut, "the write never reached the document's row"
    assert answer == 503
    pool = getattr(carnet.app.state.database.engine, "pool", None)
    if pool is not None:  # the cut-off transaction gave its connection back
        assert pool.get_size() == pool.get_idle_size()
    assert await documents_of(dossier) == acknowledged  # nothing of the write cut off
    # Each connection the restart ended fails once more (503, "try again") before the pool
    # replaces it; a person trying again as told writes at the latest once they all are.
    for _attempt in range(RETRIES):
        if (after := await deposit(doctor, dossier, "After")) != 503:
            break
    assert after == 303
    final = await documents_of(dossier)
    assert acknowledged < final
    assert len(final - acknowledged) == 1
    assert (await verify(signing.key_from_text(carnet.settings.audit_key))).intact


#: A portal in a process of its own whose deposit of "Killed" is cut off by ``kill -9``, once
#: the document's row is written and before the transaction commits.
KILLED_MID_WRITE = """
import asyncio, os, signal, sys
from uuid import UUID

from portal.app import create_app
from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from portal.settings import Settings
from portal.testing import CSRF_FIELD, http_client, running, sign_in
from tests.faults.conftest import deposit
from tests.faults.test_interrupted_writes import CUT_AT


async def main(dossier):
    app = create_app(Settings.from_env())
    engine_class = type(app.state.database.engine)
    original = engine_class.run_querystring

    async def run_querystring(self, querystring, *args, **kwargs):
        result = await original(self, querystring, *args, **kwargs)
        if CUT_AT in str(querystring):
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    engine_class.run_querystring = run_querystring
    async with running(app), http_client(app) as client:
        await sign_in(client, "dr.moreau@demo.carnet.fr", DEMO_PASSWORD, DEMO_TOTP_SECRET)
        page = await client.get("/account")
        client.headers["X-CSRF-Token"] = CSRF_FIELD.search(page.text).group(1)
        await deposit(client, UUID(dossier), "Killed")


asyncio.run(main(sys.argv[1]))
"""


async def test_a_worker_killed_mid_write_leaves_nothing_half_written(carnet):
    doctor = await carnet.sign_in(DOCTOR)
    dossier = carnet.dossiers["camille"]
    assert await deposit(doctor, dossier, "Before") == 303
    acknowledged = await documents_of(dossier)
    settings = carnet.settings
    environ = {
        **{name: value for name, value in os.environ.items() if not name.startswith("CARNET_")},
        "CARNET_ENV": "test",
        "CARNET_DATA_DIR": str(settings.data_dir),
        "CARNET_AUDIT_KEY": settings.audit_key,
        "CARNET_MASTER_KEY": settings.master_key,
        "CARNET_DATABASE_URL": settings.database_url,
        "CARNET_ALLOWED_HOSTS": TEST_HOST,
    }

    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        KILLED_MID_WRITE,
        str(dossier),
        env=environ,
        cwd=Path(__file__).parents[2],
        stderr=asyncio.subprocess.PIPE,
    )
    _, said = await asyncio.wait_for(worker.communicate(), timeout=120)

    assert worker.returncode == -signal.SIGKILL, said.decode()[-2000:]
    assert await documents_of(dossier) == acknowledged  # nothing of the write killed
    assert await deposit(doctor, dossier, "After") == 303
    final = await documents_of(dossier)
    assert acknowledged < final
    assert len(final - acknowledged) == 1
    assert (await verify(signing.key_from_text(settings.audit_key))).intact
