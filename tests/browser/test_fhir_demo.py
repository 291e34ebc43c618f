"""The FHIR API as the README tells it, on the real portal with the demo: the practice
software's script (`scripts/fhir-demo.py`) finds Camille by her INS-NIR, deposits a
consultation report, finds it and downloads it, then downloads her patient summary (IPS);
Camille sees the report, and in her access history, the application; she downloads her own
IPS from her dossier's page."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.fhir.ips_checks import check_ips

from .conftest import REPOSITORY, log_in

pytestmark = pytest.mark.browser
GP = "dr.bernard@demo.carnet.fr"
CAMILLE = "camille.martin@demo.carnet.fr"


def test_the_practice_software_deposits_a_report_camille_then_sees(
    portal, totp, new_page, tmp_path
):
    done = subprocess.run(
        [sys.executable, str(REPOSITORY / "scripts" / "fhir-demo.py"), "--base-url", portal.url,
         "--code", totp.code(GP)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": Camille Martin" in done.stdout
    assert "The same bundle again: the same answer, nothing new" in done.stdout
    downloaded = PdfReader(tmp_path / "compte-rendu.pdf").pages[0].extract_text()
    assert "Compte rendu de consultation" in downloaded
    fhir = f"{portal.url.rstrip('/')}/fhir"
    check_ips(json.loads((tmp_path / "synthese-ips.json").read_text()), fhir)

    page = new_page(javascript=False)
    log_in(page, CAMILLE, totp)
    page.goto("/me")
    dossier = page.url.rstrip("/")
    page.goto(f"{dossier}/documents?q=compte+rendu+de+consultation")
    assert page.get_by_text("Compte rendu de consultation").count() >= 1
    page.goto(f"{dossier}/history")
    assert "Sophie Bernard, médecin, via Logiciel Médical Démo" in page.content()

    page.goto(dossier)
    assert page.get_by_role("heading", name="Télécharger mon dossier (format européen)").count()
    with page.expect_download() as download:
        page.get_by_role("link", name="Ma synthèse du patient (IPS)").click()
    summary = check_ips(json.loads(Path(download.value.path()).read_text()), fhir)
    assert summary["entry"][1]["resource"]["name"][0]["family"] == "Martin"
