"""The demo, as the issue's journey walks it: the demo pharmacist records a flu shot for
Camille with its lot, Camille sees it and downloads her attestation, and Léo's record shows
which infant vaccines are due."""

from __future__ import annotations

from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from portal.dossiers.tables import Dossier
from portal.identity.tables import Account, Role
from tests.access.conftest import signed_in_browser
from tests.conftest import translated
from tests.identity.conftest import Person
from tests.pdf.test_render_pdf import text_of


async def demo_person(login: str, role: Role) -> Person:
    row = await Account.select(Account.id).where(Account.login == login).first()
    return Person(row["id"], login, role, "", "", DEMO_PASSWORD, DEMO_TOTP_SECRET)


async def dossier_of_first_name(name: str):
    row = await Dossier.select(Dossier.id).where(Dossier.patient.first_name == name).first()
    return row["id"]


async def test_the_demo_journey(portal, new_browser):
    assert await load_demo(portal.state.plugins)
    camille_record = await dossier_of_first_name("Camille")
    leo_record = await dossier_of_first_name("Léo")
    page = f"/dossiers/{camille_record}/vaccination"

    pharmacist = await signed_in_browser(
        new_browser, await demo_person("ph.petit@demo.carnet.fr", Role.PROFESSIONAL)
    )
    shot = {"vaccine": "grippe", "given_on": "2026-02-27", "lot": "U7301A"}
    assert (await pharmacist.open_and_submit(page, page, shot)).status_code == 303

    camille = await signed_in_browser(
        new_browser, await demo_person("camille.martin@demo.carnet.fr", Role.PATIENT)
    )
    shown = (await camille.get(page)).text
    assert "U7301A" in shown
    assert "Hélène Petit" in shown
    assert translated("fr", "declared by the patient") in shown  # her copied school boosters
    attestation = await camille.get(f"/dossiers/{camille_record}/vaccination/attestation.pdf")
    text = text_of(attestation.content)
    assert "U7301A" in text
    assert "27/02/2026" in text
    assert "Hélène Petit" in text

    leo = (await camille.get(f"/dossiers/{leo_record}/vaccination")).text
    assert "Rougeole, oreillons, rubéole" in leo  # the second dose, from 16 months
    assert "Diphtérie, tétanos, coqueluche, poliomyélite" in leo  # the booster at 6
    card = (await camille.get(f"/dossiers/{leo_record}/cards/vaccination")).text
    assert '<span class="badge warning">2</span>' in card
    assert "Rougeole, oreillons, rubéole" in card
