"""Benchmark of the FHIR API: ITI-65 deposits per second, and ITI-67 search latency.

    .venv/bin/python bench/fhir.py [--clients 8,32] [--seconds 5] [--appends 40]
                                   [--searches 50] [--workers 2] [--postgres postgresql://...]

For each engine (SQLite, and PostgreSQL when a server is given or CARNET_TEST_POSTGRES_URL is
set), a fresh database holds one médecin, one patient per client in his care circle, and one
more patient with 1 000 documents. The médecin's practice software holds a token for him
(issued in the database as the token endpoint would). The portal is served as in production,
by ``carnet serve --workers N``. Measured:

- deposits: each client posts ITI-65 bundles (one 20 KB PDF each) into its own patient's
  dossier, one after the other, for ``--seconds``; deposits per second. Timed rather than
  counted: the kernel spreads the clients' connections over the workers unevenly (8 over 2
  is 6 and 2 one time in five), and a fixed count per client would measure the busier
  worker alone once the other's clients are done;
- next to it, in the same run, the audit trail's raw append rate at the same concurrency:
  `bench/audit.py`'s measurement (one committed write transaction per event, one dossier per
  writer, ``--appends`` each) on the same database. A deposit is one write transaction
  too: that is the disk's limit, and the target is at least half of it;
- search: the clients ask for the first page of the 1 000-document patient's documents
  (``GET /fhir/DocumentReference?patient=…``, 20 a page), ``--searches`` each; p50 and p99.

The load generator is this process: one keep-alive HTTP/1.1 connection per client, every
request written out as bytes before the clock starts (`Connection`; a deposit's only changes
its masterIdentifier's bytes), so that on a small machine the generator takes little of the
CPU the portal is measured on.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `bench.audit` and `bench.overview`, run as a script too

from bench.audit import append  # noqa: E402
from bench.overview import HOST, free_port, portal_command, server_environment, serving  # noqa: E402
from portal import clock  # noqa: E402
from portal.access.tables import CircleMember, Joined  # noqa: E402
from portal.cli import upgrade_database  # noqa: E402
from portal.db import Database, create_engine  # noqa: E402
from portal.dossiers.tables import Document, Dossier  # noqa: E402
from portal.fhir import codes  # noqa: E402
from portal.identity.accounts import NewAccount, create_account  # noqa: E402
from portal.identity.numbers import luhn_check_digit, nir_key  # noqa: E402
from portal.identity.tables import Patient, Role  # noqa: E402
from portal.oauth import clients, store  # noqa: E402
from portal.oauth.tables import ClientKind, OAuthGrant  # noqa: E402
from portal.piccolo_app import APP_CONFIG  # noqa: E402
from portal.settings import Settings  # noqa: E402

SCOPE = "user/DocumentReference.crus user/Patient.rs"
SEARCHED_DOCUMENTS = 1000
PDF_SIZE = 20 * 1024
#: Where each deposit's masterIdentifier goes in its prepared request (a UUID's length).
UNIQUE = b"00000000-0000-0000-0000-000000000000"
#: Targets (the issue that asked for this benchmark).
DEPOSIT_RATIO_TARGET = 0.5
SEARCH_P99_TARGET_MS = 100


def pdf() -> bytes:
    """A 20 KB PDF: the header every check reads, then filler."""
    head = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    tail = b"trailer << /Root 1 0 R >>\n%%EOF\n"
    return (
        head
        + b"%"
        + os.urandom((PDF_SIZE - len(head) - len(tail) - 2) // 2)
        .hex()
        .encode()[: PDF_SIZE - len(head) - len(tail) - 2]
        + b"\n"
        + tail
    )


def bundle(patient: uuid.UUID, content: bytes) -> dict:
    """An ITI-65 transaction with one consultation report."""
    binary_url = f"urn:uuid:{uuid.uuid4()}"
    reference = {
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{UNIQUE.decode()}"},
        "status": "current",
        "category": [{"coding": [{"system": codes.mapping().class_system, "code": "10"}]}],
        "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "description": "Compte rendu de consultation",
        "content": [{"attachment": {"contentType": "application/pdf", "url": binary_url}}],
        "context": {"period": {"start": clock.now().date().isoformat()}},
    }
    binary = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "data": base64.b64encode(content).decode(),
    }
    submission_set = {
        "resourceType": "List",
        "status": "current",
        "mode": "working",
        "subject": {"reference": f"Patient/{patient}"},
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": submission_set,
             "request": {"method": "POST", "url": "List"}},
            {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": reference,
             "request": {"method": "POST", "url": "DocumentReference"}},
            {"fullUrl": binary_url, "resource": binary,
             "request": {"method": "POST", "url": "Binary"}},
        ],
    }  # fmt: skip


async def new_dossier(number: int, gp: uuid.UUID) -> uuid.UUID:
    """A patient (without an account) with a dossier, the médecin in its care circle."""
    first13 = f"1800175{number:06d}"
    patient = Patient(
        nir=first13 + nir_key(first13),
        first_name="Patient",
        last_name=f"Bench {number}",
        birth_date=date(1980, 1, 1),
    )
    await patient.save()
    now = clock.now()
    dossier = Dossier(patient=patient.id, created_at=now, created_through="online", consent_at=now)
    await dossier.save()
    await CircleMember.insert(
        CircleMember(dossier=dossier.id, professional=gp, joined=Joined.BY_PATIENT, since=now)
    )
    return dossier.id


async def prepare(clients_needed: int) -> tuple[str, list[uuid.UUID], uuid.UUID]:
    """The médecin, his patients' dossiers, the 1 000-document one, and his software's token."""
    body = "1" + "".join(str(secrets.randbelow(10)) for _ in range(9))
    gp = await create_account(
        NewAccount(
            role=Role.PROFESSIONAL,
            login="bench.gp@exemple.fr",
            first_name="Paul",
            last_name="Bench",
            password=secrets.token_urlsafe(16),
            rpps=body + luhn_check_digit(body),
            profession="medecin",
        )
    )
    dossiers = [await new_dossier(number, gp) for number in range(clients_needed)]
    searched = await new_dossier(clients_needed, gp)
    now = clock.now()
    await Document.insert(
        *(
            Document(
                dossier=searched,
                category="compte_rendu",
                type="consultation",
                title=f"Compte rendu {number}",
                care_date=now.date() - timedelta(days=number),
                created_at=now,
                author=gp,
                author_name="Paul Bench",
                author_profession="medecin",
                body="Examen clinique sans particularité.",
            )
            for number in range(SEARCHED_DOCUMENTS)
        )
    )
    client_id = "bench-practice"
    await clients.register(
        clients.NewClient(
            name="Logiciel Bench",
            kind=ClientKind.APP,
            client_id=client_id,
            redirect_uris="http://127.0.0.1:8765/callback",
            scope=SCOPE,
        ),
        production=False,
    )
    client = await store.find_client(client_id)
    grant = OAuthGrant(
        client=client.id, account=gp, scope=SCOPE, created_at=now, expires_at=now + timedelta(1)
    )
    await grant.save()
    token = secrets.token_urlsafe(32)
    await store.save_token(
        {"access_token": token, "expires_in": 3600, "scope": SCOPE},
        client,
        grant_id=grant.id,
        refresh_expires_at=None,
    )
    return token, dossiers, searched


class Connection:
    """One keep-alive HTTP/1.1 connection to the portal, for requests already written out as
    bytes (`request`): a fraction of what a full client costs per request."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    @contextlib.asynccontextmanager
    async def opened(cls, base: str):
        address = urlsplit(base)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        try:
            yield cls(reader, writer)
        finally:
            writer.close()

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """The answer's status and body."""
        self.writer.write(request)
        status = int((await self.reader.readuntil(b"\r\n")).split(b" ", 2)[1])
        headers = {}
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _colon, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if headers.get(b"transfer-encoding") == b"chunked":
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
            return status, body
        return status, await self.reader.readexactly(int(headers.get(b"content-length", 0)))


def request(method: str, base: str, path: str, token: str, body: bytes = b"") -> bytes:
    """An HTTP/1.1 request with the software's token, as bytes."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {urlsplit(base).netloc}\r\n"
    head += f"Authorization: Bearer {token}\r\n"
    if body:
        head += f"Content-Type: application/fhir+json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def deposits(base: str, token: str, dossiers: list[uuid.UUID], seconds: float) -> float:
    """Deposits per second, one client per dossier, each depositing one bundle after the
    other for ``seconds``: each client's rate counts, however the kernel spread the clients'
    connections over the workers."""
    content = pdf()
    prepared = {
        dossier: request(
            "POST", base, "/fhir", token, json.dumps(bundle(dossier, content)).encode()
        )
        for dossier in dossiers
    }
    deadline = time.perf_counter() + seconds

    async def client(dossier: uuid.UUID) -> int:
        made = 0
        async with Connection.opened(base) as connection:
            while time.perf_counter() < deadline:
                unique = str(uuid.uuid4()).encode()
                status, answer = await connection.send(prepared[dossier].replace(UNIQUE, unique))
                assert status == 200, answer
                made += 1
        return made

    start = time.perf_counter()
    made = await asyncio.gather(*(client(dossier) for dossier in dossiers))
    return sum(made) / (time.perf_counter() - start)


async def searches(base: str, token: str, searched: uuid.UUID, count: int, each: int) -> list:
    """The latencies (s) of ``count`` clients searching ``each`` times."""
    latencies: list[float] = []
    prepared = request("GET", base, f"/fhir/DocumentReference?patient=Patient/{searched}", token)

    async def client() -> None:
        async with Connection.opened(base) as connection:
            for _number in range(each):
                start = time.perf_counter()
                status, answer = await connection.send(prepared)
                latencies.append(time.perf_counter() - start)
                assert status == 200, answer
        found = json.loads(answer)  # the last answer of each client, read whole
        assert found["total"] == SEARCHED_DOCUMENTS, found
        assert len(found["entry"]) == 20, found

    await asyncio.gather(*(client() for _ in range(count)))
    return latencies


async def appends_per_second(database: Database, writers: int, each: int) -> float:
    start = time.perf_counter()
    await asyncio.gather(*(append(database, uuid.uuid4(), each) for _ in range(writers)))
    return writers * each / (time.perf_counter() - start)


async def run(engine: str, url: str, folder: Path, arguments: argparse.Namespace) -> None:
    settings = Settings.from_env({"CARNET_DATA_DIR": str(folder), "CARNET_DATABASE_URL": url})
    await upgrade_database(settings)
    database = Database(create_engine(url), [APP_CONFIG])
    database.install()
    await database.connect()
    try:
        token, dossiers, searched = await prepare(max(arguments.clients))
        port = free_port()
        base = f"http://{HOST}:{port}"
        environment = server_environment(url, folder) | {"CARNET_BASE_URL": base}
        print(f"{engine}, {arguments.workers} workers:")
        async with serving(portal_command(port, arguments.workers), environment, port,
                           folder / "server.log"):  # fmt: skip
            for count in arguments.clients:
                rate = await deposits(base, token, dossiers[:count], arguments.seconds)
                raw = await appends_per_second(database, count, arguments.appends)
                print(
                    f"  {count:>2} clients: {rate:7.1f} deposits/s, raw audit appends "
                    f"{raw:7.1f}/s, ratio {rate / raw:.2f} (target ≥ {DEPOSIT_RATIO_TARGET})"
                )
            for count in arguments.clients:
                latencies = sorted(await searches(base, token, searched, count, arguments.searches))
                p50 = statistics.median(latencies) * 1000
                p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
                print(
                    f"  {count:>2} clients searching {SEARCHED_DOCUMENTS} documents: "
                    f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p99 ≤ {SEARCH_P99_TARGET_MS} "
                    "ms at 8)"
                )
    finally:
        await database.disconnect()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="8,32")
    parser.add_argument("--seconds", type=float, default=5, help="how long clients deposit")
    parser.add_argument("--appends", type=int, default=40, help="per writer")
    parser.add_argument("--searches", type=int, default=50, help="per client")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default=os.environ.get("CARNET_TEST_POSTGRES_URL", ""))
    arguments = parser.parse_args()
    arguments.clients = [int(count) for count in arguments.clients.split(",")]
    os.environ.pop("CARNET_TEST_POSTGRES_URL", None)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        await run("SQLite", f"sqlite:///{folder}/bench.sqlite3", folder, arguments)
        if arguments.postgres:
            name = f"carnet_bench_{uuid.uuid4().hex[:8]}"
            server = await asyncpg.connect(arguments.postgres)
            await server.execute(f'CREATE DATABASE "{name}"')
            url = urlunsplit(urlsplit(arguments.postgres)._replace(path=f"/{name}"))
            try:
                await run("PostgreSQL", url, folder, arguments)
            finally:
                await server.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                await server.close()


if __name__ == "__main__":
    asyncio.run(main())
