"""Encryption at rest: the master key, the dossiers' data keys, and the medical content
sealed in the database while the portal shows it as before."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import sqlite3
import stat
import uuid
from pathlib import Path

import pytest

from portal import cli, crypto
from portal.app import create_app
from portal.audit.tables import AuditEvent
from portal.audit.trail import chain_of
from portal.crypto.backfill import seal_existing, verify
from portal.crypto.keys import MasterKey, new_master_key_text
from portal.crypto.sealing import Sealer
from portal.dossiers.tables import Document, SummaryVersion
from portal.settings import SettingsError
from portal.testing import http_client, make_settings, running
from tests.conftest import translated

CAMILLE = "camille.martin@demo.carnet.fr"


def database_file(carnet) -> Path:
    return Path(carnet.settings.database_url.removeprefix("sqlite:///"))


def unreadable() -> str:
    """What a value that does not open shows, as a French reader sees it."""
    return translated("fr", "[unreadable: this content could not be decrypted]")


# --- the master key -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["CARNET_MASTER_KEY", "CARNET_PREVIOUS_MASTER_KEYS"])
def test_a_master_key_that_is_not_32_bytes_in_base64_is_refused_by_name(tmp_path, name):
    short = base64.b64encode(os.urandom(16)).decode()
    for value in ("not base64!", short):
        with pytest.raises(SettingsError, match=f"{name} must be 32 random bytes in base64"):
            make_settings(tmp_path, "sqlite:///db.sqlite3", **{name: value})


def test_the_development_master_key_is_made_once_and_readable_by_its_owner_alone(tmp_path):
    first = make_settings(tmp_path, "sqlite:///db.sqlite3")
    again = make_settings(tmp_path, "sqlite:///db.sqlite3")
    key_file = tmp_path / "var" / "master_key"
    assert first.master_key == again.master_key == key_file.read_text().strip()
    assert first.master_key_generated
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_data_key_unwraps_only_for_its_own_dossier_and_under_its_own_master_key():
    master, other = MasterKey(os.urandom(32)), MasterKey(os.urandom(32))
    dossier, data_key = uuid.uuid4(), os.urandom(32)
    wrapped = master.wrap(data_key, dossier)
    assert master.unwrap(wrapped, dossier) == data_key
    with pytest.raises(crypto.KeyUnavailable):
        master.unwrap(wrapped, uuid.uuid4())
    with pytest.raises(crypto.KeyUnavailable):
        other.unwrap(wrapped, dossier)


# --- sealing --------------------------------------------------------------------------------


def test_a_sealed_value_opens_only_in_its_own_dossier_table_column_and_row():
    dossier, row, data_key = uuid.uuid4(), uuid.uuid4(), os.urandom(32)
    sealer = Sealer(dossier, data_key)
    title = sealer.seal("document", "title", row, "Hypertension artérielle")
    assert "Hypertension" not in title
    assert sealer.open("document", "title", row, title) == ("Hypertension artérielle", True)
    for table, column, where in (
        ("document", "title", uuid.uuid4()),
        ("document", "body", row),
        ("summary_flag", "title", row),
    ):
        assert sealer.open(table, column, where, title) == (crypto.unreadable(), False)
    assert Sealer(uuid.uuid4(), data_key).open("document", "title", row, title)[1] is False
    pdf = b"%PDF-1.4 compte rendu"
    sealed = sealer.seal("document", "file_data", row, pdf)
    assert b"compte rendu" not in sealed
    assert sealer.open("document", "file_data", row, sealed) == (pdf, True)
    assert sealer.open("document", "file_data", uuid.uuid4(), sealed) == (None, False)
    # What was stored before encryption was turned on reads as it is.
    assert sealer.open("document", "title", row, "Radiographie") == ("Radiographie", True)


# --- the demo, sealed -----------------------------------------------------------------------


#: For a test that reads the SQLite file itself.
demo_on_sqlite = pytest.mark.parametrize("carnet", ["sqlite"], indirect=True)


@demo_on_sqlite
async def test_the_demo_holds_no_medical_text_in_clear_and_shows_it_as_before(carnet):
    await carnet.app.state.database.disconnect()  # everything written to the file
    # What `sqlite3 var/carnet.sqlite3 .dump | grep -i hypertension` reads.
    with contextlib.closing(sqlite3.connect(database_file(carnet))) as connection:
        dump = "\n".join(connection.iterdump()).lower()
    for clear in ("hypertension", "hypothyroïdie", "consultation de cardiologie", "pénicilline"):
        assert clear not in dump, clear
    camille = await carnet.sign_in(CAMILLE)
    documents = await camille.get(f"/dossiers/{carnet.dossiers['camille']}/documents")
    assert "Consultation de cardiologie" in documents.text
    assert "Mes relevés de tension" in documents.text
    summary = await camille.get(f"/dossiers/{carnet.dossiers['camille']}/summary")
    assert "Hypothyroïdie, équilibrée sous traitement" in summary.text
    search = await camille.get(
        f"/dossiers/{carnet.dossiers['camille']}/documents", params={"q": "échographie"}
    )
    assert "Consultation de cardiologie" in search.text
    assert "Radiographie du genou droit" not in search.text


async def test_a_deposit_is_stored_sealed_and_reads_back_whole(carnet):
    camille = carnet.dossiers["camille"]
    bernard = await carnet.sign_in("dr.bernard@demo.carnet.fr")
    form = await bernard.get(f"/dossiers/{camille}/documents/new")
    submission = form.text.split('name="submission" value="')[1].split('"')[0]
    pdf = b"%PDF-1.4\n% fibrillation atriale\n%%EOF\n"
    answer = await bernard.post(
        f"/dossiers/{camille}/documents/new",
        data={"category": "compte_rendu", "type": "consultation", "submission": submission,
              "title": "Fibrillation atriale", "care_date": "2026-11-02",
              "body": "Anticoagulation discutée."},
        files={"file": ("fibrillation.pdf", pdf, "application/pdf")},
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    [row] = await Document.select().where(Document.submission == uuid.UUID(submission))
    for column in ("title", "body", "file_name"):
        assert crypto.is_sealed(row[column]), column
        assert "ibrillation" not in row[column], column
    assert crypto.is_sealed(row["file_data"])
    assert b"fibrillation" not in bytes(row["file_data"])
    page = await bernard.get(answer.headers["location"])
    assert "Fibrillation atriale" in page.text
    assert "Anticoagulation discutée." in page.text
    download = await bernard.get(answer.headers["location"] + "/file")
    assert download.content == pdf


async def test_a_value_moved_from_another_dossier_is_unreadable_traced_and_the_rest_opens(carnet):
    camille, jules = carnet.dossiers["camille"], carnet.dossiers["jules"]
    [stolen] = await Document.select(Document.title).where(Document.dossier == jules)
    target = (
        await Document.select(Document.id)
        .where(Document.dossier == camille, Document.category == "imagerie")
        .first()
    )
    await Document.update({Document.title: stolen["title"]}).where(Document.id == target["id"])
    # A summary's sealed sections damaged on disk.
    latest = await SummaryVersion.select().where(SummaryVersion.dossier == camille)
    newest = max(latest, key=lambda row: row["number"])
    stored, middle = newest["sections"], len(newest["sections"]) // 2
    damaged = stored[:middle] + ("A" if stored[middle] != "A" else "B") + stored[middle + 1 :]
    await SummaryVersion.update({SummaryVersion.sections: damaged}).where(
        SummaryVersion.id == newest["id"]
    )

    patient = await carnet.sign_in(CAMILLE)
    listing = await patient.get(f"/dossiers/{camille}/documents")
    assert listing.status_code == 200
    assert unreadable() in listing.text
    assert "Consultation de cardiologie" in listing.text  # the rest of the dossier opens
    assert "Jules" not in listing.text
    page = await patient.get(f"/dossiers/{camille}/documents/{target['id']}")
    assert page.status_code == 200
    assert "Pas de fracture" in page.text
    summary = await patient.get(f"/dossiers/{camille}/summary")
    assert summary.status_code == 200
    traced = await AuditEvent.select().where(
        AuditEvent.chain == chain_of(camille), AuditEvent.outcome == "refused",
        AuditEvent.actor_role == "system",
    )  # fmt: skip
    assert {(event["target_type"], event["target_id"]) for event in traced} >= {
        ("document", str(target["id"])),
        ("summary_version", str(newest["id"])),
    }
    assert all("does not decrypt" in event["reason"] for event in traced)


async def test_a_wrong_master_key_stops_the_start_up_naming_the_key_needed(
    carnet, tmp_path, monkeypatch, capsys
):
    needed = crypto.keyring().current.key_id
    url = carnet.settings.database_url
    wrong = make_settings(tmp_path / "wrong", url, CARNET_MASTER_KEY=new_master_key_text())
    app = create_app(wrong)
    with pytest.raises(BaseExceptionGroup) as stopped:
        async with running(app), http_client(app) as client:
            await client.get("/health")
    assert stopped.group_contains(crypto.WrongMasterKey, match=f"wrapped by the key {needed}")

    for name, value in (
        ("CARNET_DATA_DIR", str(tmp_path / "wrong" / "var")),
        ("CARNET_DATABASE_URL", url),
        ("CARNET_MASTER_KEY", wrong.master_key),
    ):
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(cli.main, ["serve"]) == 1
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("carnet:")]
    assert said == [said[0]]
    assert said[0].startswith("carnet: the master key does not open this database")


# --- the rows stored before encryption ------------------------------------------------------


async def test_the_rows_stored_in_clear_are_sealed_in_batches_and_checked(carnet):
    camille = carnet.dossiers["camille"]
    documents = await Document.select(Document.id).where(Document.dossier == camille).limit(3)
    # As a portal before encryption at rest stored them: in clear.
    for number, row in enumerate(documents):
        await Document.update({Document.title: f"Hypertension, bilan {number}"}).where(
            Document.id == row["id"]
        )
    newest = await SummaryVersion.select(SummaryVersion.id).where(
        SummaryVersion.dossier == camille, SummaryVersion.number == 2
    )
    clear_sections = {"problems": ["Hypertension artérielle"]}
    await SummaryVersion.update({SummaryVersion.sections: json.dumps(clear_sections)}).where(
        SummaryVersion.id == newest[0]["id"]
    )
    untouched = await Document.select(Document.id, Document.body).where(Document.dossier == camille)

    report = await seal_existing(batch_size=2)
    assert (report.sealed, report.problems) == (4, [])
    stored = await Document.select(Document.id, Document.title, Document.body).where(
        Document.dossier == camille
    )
    assert all(crypto.is_sealed(row["title"]) for row in stored)
    # What was sealed already is left as it was: a second run (as after an interruption)
    # has nothing to do.
    assert {row["id"]: row["body"] for row in stored} == {
        row["id"]: row["body"] for row in untouched
    }
    assert (await seal_existing()).sealed == 0

    patient = await carnet.sign_in(CAMILLE)
    listing = await patient.get(f"/dossiers/{camille}/documents")
    assert "Hypertension, bilan 2" in listing.text
    summary = await patient.get(f"/dossiers/{camille}/summary")
    assert "Hypertension artérielle" in summary.text

    # The check names a value that does not decrypt.
    await Document.update({Document.title: stored[1]["title"]}).where(
        Document.id == stored[0]["id"]
    )
    [problem] = await verify()
    assert (
        problem == f"document.title of row {stored[0]['id']} (dossier {camille}) does not decrypt"
    )
