"""Benchmark of the audit trail: appends per second and verification time.

    .venv/bin/python bench/audit.py [--events 2000] [--verify-events 100000]
                                    [--postgres postgresql://postgres@127.0.0.1/postgres]

Each append is one committed write transaction, as in the portal: durable (SQLite
``synchronous=FULL``, PostgreSQL's default ``synchronous_commit``) before the next one starts.
Measured: one writer; 16 writers on 16 dossiers; 16 writers on the same dossier (they queue
on its chain); the time `verify` takes, reported per million events; and the CPU the access
history's reads of the trail take for one page, on a chain of 1 000 and of ``--history-events``
events (the newest page, a page far back, a page filtered by a person seen once long ago, and
the people the filter offers). The PostgreSQL run creates and drops its own database on the
server given (or CARNET_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from portal import audit
from portal.audit import Action, Actor, Purpose, history, record, signing
from portal.audit.tables import AuditActor
from portal.audit.verification import verify
from portal.cli import upgrade_database
from portal.db import Database, create_engine
from portal.piccolo_app import APP_CONFIG
from portal.settings import Settings

WRITERS = 16
ACTOR = Actor(account_id=uuid.uuid4(), role="professional", profession="medecin", name="Bench")


async def append(database: Database, dossier: uuid.UUID, count: int) -> None:
    for number in range(count):
        async with database.write_transaction():
            await record(Action.VIEW, ACTOR, dossier_id=dossier, target_id=str(number),
                         purpose=Purpose.TREAT)  # fmt: skip


async def timed(label: str, events: int, work) -> None:
    start = time.perf_counter()
    await work
    elapsed = time.perf_counter() - start
    print(f"  {label:<34} {events / elapsed:10.0f} events/s  ({events} in {elapsed:.2f} s)")


async def run(
    engine_name: str, url: str, data_dir: Path, events: int, verify_events: int,
    history_events: int,
):  # fmt: skip
    settings = Settings.from_env({"CARNET_DATA_DIR": str(data_dir), "CARNET_DATABASE_URL": url})
    await upgrade_database(settings)
    database = Database(create_engine(url), [APP_CONFIG])
    database.install()
    audit.install(settings)
    key = signing.installed()
    await database.connect()
    try:
        print(f"{engine_name}:")
        await timed("1 writer", events, append(database, uuid.uuid4(), events))
        per_writer = events // WRITERS
        await timed(
            f"{WRITERS} writers, {WRITERS} dossiers",
            per_writer * WRITERS,
            asyncio.gather(*(append(database, uuid.uuid4(), per_writer) for _ in range(WRITERS))),
        )
        shared = uuid.uuid4()
        await timed(
            f"{WRITERS} writers, one dossier",
            per_writer * WRITERS,
            asyncio.gather(*(append(database, shared, per_writer) for _ in range(WRITERS))),
        )
        await fill(database, verify_events)
        start = time.perf_counter()
        report = await verify(key)
        elapsed = time.perf_counter() - start
        assert report.intact, report.problems
        print(
            f"  verify {report.events} events: {elapsed:.2f} s, "
            f"{elapsed / report.events * 1_000_000:.0f} s per million events"
        )
        for length in (1000, history_events):
            await history_pages(database, length)
    finally:
        await database.disconnect()


async def fill(database: Database, total: int) -> None:
    """Bring the trail to ``total`` events quickly: many per transaction, many dossiers."""
    missing = total - await _count(database)
    dossiers = [uuid.uuid4() for _ in range(100)]
    while missing > 0:
        async with database.write_transaction():
            for number in range(min(missing, 1000)):
                await record(Action.VIEW, ACTOR, dossier_id=dossiers[number % 100])
        missing -= 1000


#: One person seen once, at the start of the chain: the filter must find them all the same.
SEEN_ONCE = Actor(account_id=uuid.uuid4(), role="professional", profession="infirmier",
                  name="Seen Once")  # fmt: skip


async def history_pages(database: Database, length: int, pages: int = 200) -> None:
    """CPU per page of the history's reads of the trail, on one chain of ``length`` events."""
    dossier = uuid.uuid4()
    await record(Action.VIEW, SEEN_ONCE, dossier_id=dossier)
    done = 1
    while done < length:
        async with database.write_transaction():
            for _ in range(min(length - done, 1000)):
                await record(Action.VIEW, ACTOR, dossier_id=dossier)
                done += 1
    filters = history.Filters()
    by_person = history.Filters(professional=SEEN_ONCE.account_id)

    def chain():  # a new query each time: Piccolo's queries grow with each where()
        return history.chain_events(dossier)

    reads = {
        "newest page": lambda: history.page_of(filters.apply(chain()), None, None),
        "page far back": lambda: history.page_of(filters.apply(chain()), length // 2, None),
        "filtered by a person": lambda: history.page_of(by_person.apply(chain()), None, None),
        "the people offered": lambda: AuditActor.select().where(
            AuditActor.chain == f"dossier:{dossier}"
        ),
    }
    print(f"  history, chain of {length} events, CPU ms per page:")
    for label, read in reads.items():
        start = time.process_time()
        for _ in range(pages):
            await read()
        elapsed = time.process_time() - start
        print(f"    {label:<24} {elapsed / pages * 1000:6.2f}")


async def _count(database: Database) -> int:
    from portal.audit.tables import AuditEvent

    return await AuditEvent.count()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--verify-events", type=int, default=100_000)
    parser.add_argument("--history-events", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("CARNET_TEST_POSTGRES_URL", ""))
    arguments = parser.parse_args()
    os.environ.pop("CARNET_TEST_POSTGRES_URL", None)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        await run("SQLite", f"sqlite:///{folder}/bench.sqlite3", folder, arguments.events,
                  arguments.verify_events, arguments.history_events)  # fmt: skip
        if arguments.postgres:
            name = f"carnet_bench_{uuid.uuid4().hex[:8]}"
            server = await asyncpg.connect(arguments.postgres)
            await server.execute(f'CREATE DATABASE "{name}"')
            url = urlunsplit(urlsplit(arguments.postgres)._replace(path=f"/{name}"))
            try:
                await run("PostgreSQL", url, folder, arguments.events, arguments.verify_events,
                          arguments.history_events)  # fmt: skip
            finally:
                await server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                await server.close()


if __name__ == "__main__":
    asyncio.run(main())
