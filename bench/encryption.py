"""What encryption at rest costs: the same pages served by the encrypted portal and by one
storing in clear, in the same run.

    .venv/bin/python bench/encryption.py [--documents 200] [--rounds 5] [--requests 40]

Two copies of the demo are made, one as the portal stores it (sealed under each dossier's
data key, `portal.crypto`) and one in clear (the sealer replaced by the identity, as a portal
before encryption at rest stored it); Camille's dossier is given ``--documents`` more
documents of a few hundred words each. Both portals run in this process (httpx's ASGI
transport: no network, so the figures are the portal's own work) and Dr Bernard, signed in
on each, asks the same pages one after the other: the overview, the list of documents, a
search in the text of every document of the dossier, and a deposit. The two portals take
turns, round after round. Each figure is requests per second of CPU time of this process
(the portal's threads included, the load generator's small share too), which other work on
the machine does not inflate: the best round's, the median in brackets, and the ratio
encrypted / clear of the best rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

from portal import clock, crypto
from portal.app import create_app
from portal.cli import upgrade_database
from portal.crypto.sealing import Sealer
from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo, read_demo
from portal.dossiers.tables import Document
from portal.plugins import load_plugins
from portal.testing import CSRF_FIELD, http_client, make_settings, running, sign_in

BERNARD = "dr.bernard@demo.carnet.fr"
PARAGRAPH = (
    "Patiente revue en consultation de suivi. Tension artérielle 12/8, fréquence cardiaque "
    "72, auscultation normale. Traitement poursuivi sans changement ; bilan biologique à "
    "prévoir dans trois mois, résultats à transmettre au médecin traitant. "
)


@contextlib.contextmanager
def in_clear() -> Iterator[None]:
    """The portal as it was before encryption at rest: values stored as they are."""
    seal = Sealer.seal
    Sealer.seal = lambda self, table, column, row_id, value: value  # type: ignore[method-assign]
    try:
        yield
    finally:
        Sealer.seal = seal  # type: ignore[method-assign]


async def demo_database(folder: Path, documents: int) -> str:
    """A demo database in ``folder`` with ``documents`` more documents for Camille."""
    url = f"sqlite:///{folder}/carnet.sqlite3"
    settings = make_settings(folder, url)
    await upgrade_database(settings)
    app = create_app(settings)
    async with running(app):
        await load_demo(load_plugins())
        camille = dict((await read_demo()).dossiers)["camille"]
        sealer = await crypto.writing_sealer(camille)
        for number in range(documents):
            document_id = uuid.uuid4()
            content = {"title": f"Consultation de suivi n° {number}", "body": PARAGRAPH * 6}
            await Document.insert(
                Document(
                    **sealer.seal_row("document", ("title", "body"), document_id, content),
                    id=document_id, dossier=camille, category="compte_rendu",
                    type="consultation", care_date=date(2026, 1, 1 + number % 28),
                    created_at=clock.now(),
                    author_name="Sophie Bernard", author_profession="medecin",
                )
            )  # fmt: skip
    return url


@contextlib.asynccontextmanager
async def signed_in(folder: Path, url: str, session: dict) -> AsyncIterator[tuple]:
    """The portal on ``url`` with Dr Bernard's client: signed in the first time, then with the
    same session (``session`` keeps its cookies and form token from one round to the next)."""
    app = create_app(make_settings(folder, url))
    async with running(app), http_client(app) as client:
        if session:
            client.cookies.update(session["cookies"])
        else:
            await sign_in(client, BERNARD, DEMO_PASSWORD, DEMO_TOTP_SECRET)
            page = await client.get("/account")
            session.update(
                cookies=dict(client.cookies), token=CSRF_FIELD.search(page.text).group(1)
            )
        client.headers["X-CSRF-Token"] = session["token"]
        yield app, client


def pages(camille: uuid.UUID) -> dict[str, tuple[str, str]]:
    base = f"/dossiers/{camille}"
    return {
        "overview": ("GET", base),
        "documents": ("GET", f"{base}/documents"),
        "search": ("GET", f"{base}/documents?q=biologique"),
        "deposit": ("POST", f"{base}/documents/new"),
    }


async def timed(client, method: str, path: str, requests: int) -> float:
    """Requests per second of CPU for ``requests`` requests of one page, after one to warm
    up (the CPU time of this process, the portal's threads included: the machine's other
    work does not count in it)."""
    for number in range(requests + 1):
        if number == 1:
            started = time.process_time()
        if method == "GET":
            answer = await client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
        else:
            answer = await client.post(path, data={
                "category": "compte_rendu", "type": "consultation", "submission": str(uuid.uuid4()),
                "title": "Consultation de suivi", "care_date": "2026-11-02", "body": PARAGRAPH * 6,
            })  # fmt: skip
            assert answer.status_code == 303, (path, answer.status_code)
    return requests / (time.process_time() - started)


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as root:
        sealed_folder, clear_folder = Path(root, "sealed"), Path(root, "clear")
        sealed_url = await demo_database(sealed_folder, arguments.documents)
        with in_clear():
            clear_url = await demo_database(clear_folder, arguments.documents)
        results: dict[str, dict[str, list[float]]] = {"sealed": {}, "clear": {}}
        sessions: dict[str, dict] = {"sealed": {}, "clear": {}}
        for _round in range(arguments.rounds):
            for kind, folder, url in (
                ("sealed", sealed_folder, sealed_url),
                ("clear", clear_folder, clear_url),
            ):
                context = in_clear() if kind == "clear" else contextlib.nullcontext()
                with context:
                    async with signed_in(folder, url, sessions[kind]) as (_app, client):
                        camille = dict((await read_demo()).dossiers)["camille"]
                        for name, (method, path) in pages(camille).items():
                            rate = await timed(client, method, path, arguments.requests)
                            results[kind].setdefault(name, []).append(rate)
        print(
            f"Camille's dossier: {15 + arguments.documents} documents; best of "
            f"{arguments.rounds} rounds of {arguments.requests} requests (median in brackets)."
        )
        print(f"{'page':<10} {'clear req/CPU-s':>16} {'encrypted req/CPU-s':>20} {'ratio':>6}")
        for name in results["sealed"]:
            clear, sealed = results["clear"][name], results["sealed"][name]
            print(
                f"{name:<10} {max(clear):>8.0f} ({statistics.median(clear):>4.0f}) "
                f"{max(sealed):>10.0f} ({statistics.median(sealed):>4.0f}) "
                f"{max(sealed) / max(clear):>6.2f}"
            )


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40)
    asyncio.run(main(parser.parse_args()))
