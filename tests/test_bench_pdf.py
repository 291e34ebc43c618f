"""The PDF benchmark (bench/pdf.py) keeps up with the portal: it finds the core's PDFs among
the app's routes, each answers a PDF for Camille on her dossier, and the HTML it measures is
the one the portal hands WeasyPrint. Nothing here is timed."""

from __future__ import annotations

from pathlib import Path

from bench.generate import generate
from bench.pdf import (
    CAMILLE,
    EXPORT,
    FIRST_TARGETS_MS,
    TARGETS_MS,
    capture_html,
    dossier_of,
    label,
    path_for,
    pdf_routes,
    peak_memory,
)
from portal.app import create_app
from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from tests.conftest import http_client, running, sign_in


async def test_the_benchmark_finds_every_pdf_and_each_answers_one(settings):
    await generate(settings.database_url, 0, data_dir=settings.data_dir)
    app = create_app(settings)

    templates = pdf_routes(app)

    names = {label(template) for template in templates}
    assert {"export.pdf", "summary.pdf", "emergency-card.pdf"} <= names
    assert set(TARGETS_MS) | set(FIRST_TARGETS_MS) <= names
    assert EXPORT in names
    assert not any("activation-sheet" in name for name in names)  # a POST
    async with running(app), http_client(app) as client:
        await sign_in(client, CAMILLE.login, DEMO_PASSWORD, DEMO_TOTP_SECRET)
        dossier = await dossier_of(CAMILLE.login)
        paths = {label(template): path_for(template, dossier) for template in templates}
        for path in paths.values():
            answer = await client.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["content-type"] == "application/pdf", path
            assert answer.content.startswith(b"%PDF"), path

        cookie = f"carnet_session={client.cookies['carnet_session']}"
        captured = await capture_html(app, cookie, paths)

    assert set(captured) == set(paths)
    html, resources = captured[EXPORT]
    assert CAMILLE.first_name in html
    assert resources
    assert peak_memory(Path("/proc/self/status")) > 0
