"""`render_pdf`, the one PDF renderer: what a PDF holds (read back with pypdf), what it may load
(the portal's static files only), how it is sent (an attachment nobody caches) and traced."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from portal import pdf
from portal.app import create_served_app
from portal.pdf import BASE_URL, RefusedResource, fetch, html_to_pdf, safe_filename
from tests.access.conftest import dossier_of, signed_in_browser, trail
from tests.identity.conftest import new_patient, new_professional

CSS = "/static/print.0123456789.css"
RESOURCES = {CSS: (b"h1 { color: #123456; }", "text/css")}


def text_of(pdf: bytes) -> str:
    """The words of every page, lines joined: what a reader would read."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "https://example.com/tracker.png",
        "http://127.0.0.1:8000/static/print.0123456789.css",
        "data:text/css,h1{color:red}",
        f"{BASE_URL}static/../../etc/passwd",
        f"{BASE_URL}etc/passwd",
    ],
)
def test_a_pdf_loads_nothing_but_the_portal_s_static_files(url):
    with pytest.raises(RefusedResource):
        fetch(url, RESOURCES)
    assert fetch(f"{BASE_URL}{CSS[1:]}", RESOURCES) == RESOURCES[CSS]


def test_a_template_asking_for_a_local_file_gets_nothing():
    html = (
        '<link rel="stylesheet" href="file:///etc/passwd">'
        '<img src="file:///etc/hostname"><object data="https://example.com/x.svg"></object>'
        "<h1>Ordonnance de Léo — œdème, 37,5 °C</h1>"
        '<iframe src="/etc/passwd"></iframe>'
    )
    text = text_of(html_to_pdf(html, RESOURCES))
    assert "Ordonnance de Léo — œdème, 37,5 °C" in text  # accents and symbols render
    assert "root:" not in text


def test_file_names_are_plain_ascii():
    assert safe_filename("synthèse-Léo Martin.pdf") == "synthese-Leo-Martin.pdf"
    assert safe_filename('../"évil"') == "evil.pdf"


async def test_the_summary_prints_with_the_patient_s_name_and_is_traced(portal, new_browser):
    patient = await new_patient(first_name="Léa", last_name="Núñez")
    doctor = await new_professional()
    dossier = await dossier_of(patient, medecin_traitant=doctor.id)
    browser = await signed_in_browser(new_browser, doctor)
    saved = await browser.open_and_submit(
        f"/dossiers/{dossier}/summary/sections/allergies",
        f"/dossiers/{dossier}/summary/sections/allergies",
        {"substance-0": "Pénicilline", "reaction-0": "Œdème de Quincke", "severity-0": "severe"},
    )
    assert saved.status_code == 303, saved.text
    answer = await browser.get(f"/dossiers/{dossier}/summary.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-disposition"] == 'attachment; filename="synthese-Lea-Nunez.pdf"'
    text = text_of(answer.content)
    assert "Léa Núñez" in text
    assert "Pénicilline" in text
    assert "Œdème de Quincke" in text
    assert "DOCUMENT CONFIDENTIEL" in text.upper()
    [printed] = [event for event in await trail(dossier, doctor) if event["action"] == "print"]
    assert printed["target_id"] == "pdf/summary.html"

    stranger = await signed_in_browser(new_browser, await new_professional(last_name="Autre"))
    assert (await stranger.get(f"/dossiers/{dossier}/summary.pdf")).status_code == 404


async def test_the_served_portal_starts_every_pdf_worker_warm_before_its_first_pdf(
    tmp_path, monkeypatch
):
    """`carnet serve` starts the workers with the portal, each warmed up (WeasyPrint imported,
    the fonts loaded), so that the first PDF after a start does not wait for them."""
    monkeypatch.setenv("CARNET_ENV", "test")
    monkeypatch.setenv("CARNET_DATA_DIR", str(tmp_path))
    assert pdf.start_workers in create_served_app().on_startup
    try:
        await pdf.start_workers()
        workers = list(pdf._pool._processes.values())
        assert len(workers) == pdf.WORKERS
        assert all(worker.is_alive() for worker in workers)
    finally:
        pdf.shutdown()


KILLED_PORTAL = """
import asyncio, os
from portal import pdf

async def main():
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(pdf._workers(), pdf.html_to_pdf, "<p>x</p>", {})
    print(" ".join(map(str, pdf._pool._processes)), flush=True)
    os.kill(os.getpid(), 9)

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_the_pdf_workers_end_with_a_portal_that_is_killed(tmp_path):
    script = tmp_path / "portal_killed.py"
    script.write_text(KILLED_PORTAL)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
    workers = [int(pid) for pid in run.stdout.split()]
    assert workers, run.stderr
    for _ in range(100):  # the kernel signals them at once; give them time to exit
        alive = [pid for pid in workers if Path(f"/proc/{pid}").exists()]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, f"PDF workers outlived their portal: {alive}"
