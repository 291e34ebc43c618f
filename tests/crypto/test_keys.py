"""The life of the keys: crypto-shredding at the purge, reaching the backups taken before,
and the rotation of the master key."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from litestar import Litestar

from portal import cli, crypto
from portal.app import create_app
from portal.backup import create_backup, known_migrations, restore_backup
from portal.crypto.keys import new_master_key_text
from portal.crypto.rotation import rotate
from portal.demo import DEMO_PASSWORD
from portal.dossiers.tables import Document, Dossier
from portal.piccolo_app import APP_CONFIG
from portal.plugins import load_plugins
from portal.testing import (
    Carnet,
    create_postgres_database,
    drop_postgres_database,
    http_client,
    make_settings,
    running,
)

JULES = "jules.petit@demo.carnet.fr"
CAMILLE = "camille.martin@demo.carnet.fr"
DELETED = "Ce dossier a été supprimé\u00a0: plus rien ne peut en être lu."


def on(carnet: Carnet, app: Litestar, client: httpx.AsyncClient) -> Carnet:
    """The demo as served by another portal on the same data (restored, or other keys)."""
    return dataclasses.replace(carnet, app=app, client=client, _clients=[])


async def deleted_by_its_patient(carnet, login: str, dossier) -> None:
    patient = await carnet.sign_in(login)
    closed = await patient.post(f"/dossiers/{dossier}/close")
    assert closed.status_code == 303
    deleted = await patient.post(f"/dossiers/{dossier}/delete", data={"password": DEMO_PASSWORD})
    assert deleted.status_code == 303, deleted.text
    assert not await Dossier.exists().where(Dossier.id == dossier)


async def test_a_backup_taken_before_a_deletion_and_restored_after_holds_nothing_readable_of_it(
    carnet, tmp_path
):
    jules, camille = carnet.dossiers["jules"], carnet.dossiers["camille"]
    backup = tmp_path / "before.tar"
    await create_backup(carnet.settings.database_url, backup)
    await deleted_by_its_patient(carnet, JULES, jules)

    on_postgres = not carnet.settings.database_url.startswith("sqlite:")
    url = await create_postgres_database() if on_postgres else f"sqlite:///{tmp_path}/back.sqlite3"
    try:
        plugins = load_plugins()
        known = known_migrations([APP_CONFIG, *plugins.piccolo_apps])
        await restore_backup(url, backup, known, force=False)
        # The same installation, its database put back as it was before the deletion.
        restored = create_app(make_settings(tmp_path, url, **{
            "CARNET_AUDIT_KEY": carnet.settings.audit_key,
            "CARNET_MASTER_KEY": carnet.settings.master_key,
        }), plugins)  # fmt: skip
        async with running(restored), http_client(restored) as client:
            stored = await Document.select().where(Document.dossier == jules)
            assert stored, "the backup holds Jules's documents"
            assert all(crypto.is_sealed(row["title"]) for row in stored)
            opened = await crypto.opened(jules, Document, stored)
            assert {row["title"] for row in opened} == {crypto.unreadable()}
            assert {row["body"] for row in opened} == {crypto.unreadable()}
            with pytest.raises(crypto.KeyUnavailable):
                await crypto.sealer(jules)

            back = on(carnet, restored, client)
            for login in (JULES, "dr.garcia@demo.carnet.fr"):
                page = await (await back.sign_in(login)).get(f"/dossiers/{jules}")
                assert page.status_code == 410, login
                assert DELETED in page.text
                assert "Hypertension" not in page.text
            camille_page = await (await back.sign_in(CAMILLE)).get(f"/dossiers/{camille}/documents")
            assert "Consultation de cardiologie" in camille_page.text  # the others still open
            await back.close()
    finally:
        if on_postgres:
            await drop_postgres_database(url)


async def stored_documents() -> list[dict]:
    return await Document.select(Document.id, Document.title, Document.body).order_by(Document.id)


async def test_a_rotation_rewraps_every_data_key_resumes_when_interrupted_and_retires_the_old_key(
    carnet, tmp_path, monkeypatch, capsys
):
    url, old = carnet.settings.database_url, carnet.settings.master_key
    new = new_master_key_text()
    sealed_before = await stored_documents()
    with_both = make_settings(tmp_path / "both", url, CARNET_MASTER_KEY=new,
                              CARNET_PREVIOUS_MASTER_KEYS=old,
                              CARNET_AUDIT_KEY=carnet.settings.audit_key)  # fmt: skip
    crypto.install(crypto.keyring_for(with_both))
    interrupted = await rotate(batch_size=1, batches=1)
    assert (interrupted.rewrapped, interrupted.complete) == (1, True)
    under = await Dossier.select(Dossier.data_key_id).where(Dossier.data_key.is_not_null())
    assert sorted(row["data_key_id"] for row in under).count(interrupted.key_id) == 1

    # Half-way, the portal running with both keys opens every record.
    portal = create_app(with_both)
    async with running(portal), http_client(portal) as client:
        both = on(carnet, portal, client)
        camille = await both.sign_in(CAMILLE)
        for dossier in (carnet.dossiers["camille"], carnet.dossiers["leo"]):
            page = await camille.get(f"/dossiers/{dossier}/documents")
            assert page.status_code == 200
            assert crypto.unreadable() not in page.text
        await both.close()

    for name, value in (
        ("CARNET_DATA_DIR", str(tmp_path / "both" / "var")),
        ("CARNET_DATABASE_URL", url),
        ("CARNET_MASTER_KEY", new),
        ("CARNET_PREVIOUS_MASTER_KEYS", old),
    ):
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(cli.main, ["keys", "rotate"]) == 0
    said = capsys.readouterr().out
    assert f"2 data keys re-wrapped under the master key {interrupted.key_id}." in said
    assert "the previous ones are no longer needed" in said
    assert await stored_documents() == sealed_before  # the data itself is not re-encrypted

    # The old key is no longer needed: the new one alone opens everything; the old one alone
    # opens nothing.
    monkeypatch.delenv("CARNET_PREVIOUS_MASTER_KEYS")
    new_only = make_settings(tmp_path / "new", url, CARNET_MASTER_KEY=new,
                             CARNET_AUDIT_KEY=carnet.settings.audit_key)  # fmt: skip
    portal = create_app(new_only)
    async with running(portal), http_client(portal) as client:
        alone = on(carnet, portal, client)
        camille = await alone.sign_in(CAMILLE)
        page = await camille.get(f"/dossiers/{carnet.dossiers['camille']}/documents")
        assert "Consultation de cardiologie" in page.text
        summary = await camille.get(f"/dossiers/{carnet.dossiers['camille']}/summary")
        assert "Hypothyroïdie, équilibrée sous traitement" in summary.text
        await alone.close()
    crypto.install(crypto.keyring_for(make_settings(tmp_path / "old", url, CARNET_MASTER_KEY=old)))
    with pytest.raises(crypto.WrongMasterKey):
        await crypto.check_keys()


def test_a_rotation_without_a_configured_master_key_says_how_in_one_line(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("CARNET_DATA_DIR", str(tmp_path / "var"))
    assert cli.main(["keys", "rotate"]) == 1
    [said] = capsys.readouterr().err.splitlines()
    assert said.startswith("carnet: set CARNET_MASTER_KEY to the new master key")
