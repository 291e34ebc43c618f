"""docs/verify_audit.py, as a patient runs it on their own computer: Camille's signed history
and the receipts she kept check out offline; a history with an event removed or changed, a
history cut in the database, or a receipt of another record do not."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from html import unescape
from pathlib import Path

import pytest

from portal import audit, db
from portal.audit import Action, Actor, Purpose
from tests.audit.conftest import drop_append_only_triggers, raw
from tests.audit.test_history import dossier_of
from tests.identity.conftest import log_in, new_patient

VERIFIER = Path(__file__).parents[2] / "docs" / "verify_audit.py"
GARCIA = Actor(uuid.uuid4(), "professional", "medecin", "Karim Garcia")


def run(*arguments: str | Path) -> tuple[int, str]:
    """The verifier in a Python of its own, as on the patient's computer."""
    done = subprocess.run(
        [sys.executable, VERIFIER, *map(str, arguments)], capture_output=True, text=True
    )
    return done.returncode, done.stdout + done.stderr


async def views(dossier, count: int) -> None:
    for number in range(count):
        await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="dossier",
                           target_id=str(number), purpose=Purpose.TREAT)  # fmt: skip


class Patient:
    """A patient with her dossier, signed in, keeping what the portal gives her."""

    def __init__(self, browser, dossier, folder: Path):
        self.browser, self.dossier, self.folder = browser, dossier, folder

    async def receipt(self, name: str) -> Path:
        page = (await self.browser.get(f"/dossiers/{self.dossier}/history")).text
        [text] = re.findall(r'<div class="receipt".*?<pre>(.*?)</pre>', page, re.S)
        path = self.folder / name
        path.write_text(unescape(text))
        return path

    async def history(self, name: str = "history.json") -> Path:
        response = await self.browser.get(f"/dossiers/{self.dossier}/history.json")
        assert response.status_code == 200
        path = self.folder / name
        path.write_bytes(response.content)
        return path


async def patient(portal, new_browser, tmp_path, first_name: str) -> Patient:
    person = await new_patient(first_name=first_name, last_name="Martin")
    dossier = await dossier_of(person)
    browser = new_browser()
    await log_in(browser, person)
    return Patient(browser, dossier, tmp_path / first_name)


@pytest.fixture
async def camille(portal, new_browser, tmp_path) -> Patient:
    camille = await patient(portal, new_browser, tmp_path, "Camille")
    camille.folder.mkdir()
    return camille


@pytest.fixture
async def key(camille, tmp_path) -> Path:
    response = await camille.browser.get("/.well-known/carnet-audit-key")
    assert response.json()["algorithm"] == "Ed25519"
    path = tmp_path / "carnet-audit-key.json"
    path.write_bytes(response.content)
    return path


def edited(path: Path, change) -> Path:
    history = json.loads(path.read_text())
    change(history["events"])
    edited = path.with_name(f"edited-{path.name}")
    edited.write_text(json.dumps(history))
    return edited


async def test_camille_s_history_and_receipts_verify_offline(camille, key):
    await views(camille.dossier, 3)
    early = await camille.receipt("early.txt")
    await views(camille.dossier, 2)
    late = await camille.receipt("late.txt")
    history = await camille.history()

    status, output = run(history, "--key", key, "--receipt", early, "--receipt", late)
    assert status == 0, output
    events = len(json.loads(history.read_text())["events"])
    assert output.startswith(f"OK: {events} events of dossier:{camille.dossier}, each following")
    assert "OK: receipt of event #4: in the history, unchanged." in output
    assert "OK: receipt of event #7: in the history, unchanged." in output
    # The receipt as the e-mail gives it, and the key as 64 hex digits, do too.
    footer = f"Reçu de l'historique : {early.read_text()}\n"
    hex_key = json.loads(key.read_text())["public_key"]
    status, output = run(history, "--key", hex_key, "--receipt", footer)
    assert status == 0, output


async def test_a_removed_or_changed_event_fails(camille, key):
    await views(camille.dossier, 4)
    receipt = await camille.receipt("receipt.txt")
    history = await camille.history()

    removed = edited(history, lambda events: events.pop(2))
    assert run(removed, "--key", key) == (
        1, "FAILED: event #3 is missing or out of place (the history was cut or reordered).\n"
    )  # fmt: skip
    changed = edited(history, lambda events: events[1].update(actor_name="Nobody"))
    assert run(changed, "--key", key) == (1, "FAILED: event #2 was changed after it was written.\n")
    cut = edited(history, lambda events: events.__delitem__(slice(3, None)))
    assert run(cut, "--key", key, "--receipt", receipt) == (
        1, "FAILED: the history ends at event #3, but the receipt shows event #5: "
           "events #4 to #5 were removed.\n",
    )  # fmt: skip


async def test_a_history_cut_in_the_database_no_longer_holds_the_receipt(
    camille, key, database_url
):
    await views(camille.dossier, 4)
    receipt = await camille.receipt("receipt.txt")  # event #5: her opening of the history
    await drop_append_only_triggers(db.current())
    await raw(db.current(), "DELETE FROM audit_event WHERE chain = {} AND seq > 3",
              f"dossier:{camille.dossier}")  # fmt: skip
    history = await camille.history()  # its own event is #4, signed anew
    status, output = run(history, "--key", key, "--receipt", receipt)
    assert (status, output) == (
        1, "FAILED: the history ends at event #4, but the receipt shows event #5: "
           "event #5 was removed.\n",
    )  # fmt: skip


async def test_a_receipt_of_another_record_is_refused(camille, key, portal, new_browser, tmp_path):
    other = await patient(portal, new_browser, tmp_path, "Rose")
    other.folder.mkdir()
    foreign = await other.receipt("rose.txt")
    history = await camille.history()
    status, output = run(history, "--key", key, "--receipt", foreign)
    assert status == 1
    assert output == (
        f"FAILED: the receipt is of another record (dossier:{other.dossier}), not of this "
        f"history (dossier:{camille.dossier}).\n"
    )
