"""`carnet backup` and `carnet restore`: round trips on both engines while the portal serves,
and every bad backup refused before the database is touched."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from portal.audit import signing
from portal.audit.tables import AuditEvent
from portal.audit.verification import verify
from portal.backup import (
    MANIFEST,
    BackupError,
    create_backup,
    known_migrations,
    restore_backup,
)
from portal.db import Database, create_engine
from portal.identity.tables import Account
from portal.piccolo_app import APP_CONFIG
from portal.plugins import load_plugins
from portal.testing import (
    ENGINES,
    copy_database,
    create_postgres_database,
    drop_postgres_database,
)
from tests.test_cli import run_carnet

PLUGINS = load_plugins()
KNOWN = known_migrations([APP_CONFIG, *PLUGINS.piccolo_apps])
DOCTOR, CHANGED = "dr.garcia@demo.carnet.fr", "changed@example.fr"


@contextlib.asynccontextmanager
async def opened(url: str) -> AsyncIterator[None]:
    """The tables bound to the database at ``url`` for the block."""
    database = Database(create_engine(url), [APP_CONFIG, *PLUGINS.piccolo_apps])
    database.install()
    await database.connect()
    try:
        yield
    finally:
        await database.disconnect()


async def _contents(url: str, audit_key: str) -> tuple[list, list, bool]:
    """The logins, the audit events and whether the audit trail verifies, of the database at
    ``url``."""
    async with opened(url):
        logins = await Account.select(Account.login).order_by(Account.login)
        events = await AuditEvent.select(
            AuditEvent.chain, AuditEvent.seq, AuditEvent.hash
        ).order_by(AuditEvent.id)
        return logins, events, (await verify(signing.key_from_text(audit_key))).intact


@pytest.fixture(params=ENGINES)
async def demo_url(request, tmp_path, carnet_templates):
    """A closed database of the engine holding the demo, with every plugin's tables."""
    template = await carnet_templates.get(request.param, PLUGINS, demo=True)
    url = await copy_database(template, tmp_path)
    yield url
    if request.param == "postgres":
        await drop_postgres_database(url)


@pytest.fixture
async def empty_url(demo_url, tmp_path):
    """An empty database of the same engine (no file, no table)."""
    if demo_url.startswith("sqlite:"):
        yield f"sqlite:///{tmp_path}/restored/carnet.sqlite3"
        return
    url = await create_postgres_database()
    yield url
    await drop_postgres_database(url)


async def test_round_trip_into_an_empty_database(demo_url, empty_url, tmp_path, carnet_templates):
    backup = tmp_path / "carnet.backup"
    manifest = await create_backup(demo_url, backup)
    assert manifest.rows > 0
    assert {"account", "audit_event", "migration"} <= set(manifest.row_counts)
    # The plugins' tables are in it too.
    assert all(
        any(name.startswith(f"{config.app_name}:") for name in manifest.migrations)
        for config in PLUGINS.piccolo_apps
    )

    restored = await restore_backup(empty_url, backup, KNOWN)

    assert restored == manifest
    audit_key = carnet_templates.settings(demo_url, tmp_path).audit_key
    logins, events, intact = await _contents(empty_url, audit_key)
    assert (logins, events, intact) == await _contents(demo_url, audit_key)
    assert intact
    assert events


async def test_a_backup_is_consistent_while_the_portal_writes(carnet, tmp_path):
    """Every page read is written to the audit trail: a backup taken amid reads holds whole
    chains, and restoring it (over the database the portal serves) takes the portal back to
    that moment."""
    doctor = await carnet.sign_in(DOCTOR)
    dossier = f"/dossiers/{carnet.dossiers['camille']}"
    backup = tmp_path / "carnet.backup"

    answers = await asyncio.gather(
        create_backup(carnet.settings.database_url, backup),
        *(doctor.get(dossier) for _ in range(4)),
    )
    manifest = answers[0]
    assert all(answer.status_code == 200 for answer in answers[1:])
    later = await doctor.get(dossier)  # after the backup: not in it
    assert later.status_code == 200
    assert await AuditEvent.count() > manifest.row_counts["audit_event"]

    with pytest.raises(BackupError, match=r"not empty.*--force"):
        await restore_backup(carnet.settings.database_url, backup, KNOWN)
    await restore_backup(carnet.settings.database_url, backup, KNOWN, force=True)

    assert await AuditEvent.count() == manifest.row_counts["audit_event"]
    assert (await verify(signing.key_from_text(carnet.settings.audit_key))).intact
    assert (await doctor.get(dossier)).status_code == 200


# --- bad backups --------------------------------------------------------------------------


def _rewrite(source: Path, target: Path, *, manifest=None, dump=None) -> None:
    """A copy of the backup at ``source`` with its manifest fields or dump bytes changed."""
    with tarfile.open(source) as tar:
        members = {member.name: tar.extractfile(member).read() for member in tar.getmembers()}
    fields = json.loads(members.pop(MANIFEST))
    ((dump_name, data),) = members.items()
    fields.update(manifest or {})
    with tarfile.open(target, "w") as tar:
        for name, content in ((MANIFEST, json.dumps(fields).encode()), (dump_name, dump or data)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))


@pytest.fixture
async def backup_and_target(demo_url, tmp_path):
    """A backup of the demo, and a database holding other data to restore it over: the
    demo's database itself, once a login has changed."""
    backup = tmp_path / "carnet.backup"
    await create_backup(demo_url, backup)
    async with opened(demo_url):
        await Account.update({Account.login: CHANGED}).where(Account.login == DOCTOR)
    return backup, demo_url


async def _logins(url: str) -> set[str]:
    async with opened(url):
        return {row["login"] for row in await Account.select(Account.login)}


def _truncated(backup: Path, bad: Path) -> None:
    bad.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])


def _not_a_backup(backup: Path, bad: Path) -> None:
    bad.write_text("hello")


def _corrupted(backup: Path, bad: Path) -> None:
    with tarfile.open(backup) as tar:
        dump = tar.extractfile(tar.getmembers()[1]).read()
    middle = len(dump) // 2
    _rewrite(backup, bad, dump=dump[:middle] + bytes([dump[middle] ^ 0xFF]) + dump[middle + 1 :])


def _newer_format(backup: Path, bad: Path) -> None:
    _rewrite(backup, bad, manifest={"format": 2})


def _newer_migrations(backup: Path, bad: Path) -> None:
    _rewrite(backup, bad, manifest={"migrations": ["sleep_diary:2030-01-01T00:00:00:000000"]})


def _wrong_counts(backup: Path, bad: Path) -> None:
    """A manifest whose row counts the dump does not have: caught in the backup on SQLite,
    at the end of the restore's transaction on PostgreSQL, which rolls back."""
    with tarfile.open(backup) as tar:
        counts = json.loads(tar.extractfile(MANIFEST).read())["row_counts"]
    _rewrite(backup, bad, manifest={"row_counts": {**counts, "account": counts["account"] + 1}})


def _unreadable_manifest(backup: Path, bad: Path) -> None:
    _rewrite(backup, bad, manifest={"engine": "oracle"})


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_truncated, "is not a whole Carnet backup"),
        (_not_a_backup, "is not a whole Carnet backup"),
        (_corrupted, "damaged: its database dump does not match the checksum"),
        (_newer_format, "made by a newer version of Carnet .*format 2"),
        (_newer_migrations, "plugins not installed here .*sleep_diary:2030"),
        (_wrong_counts, r"differ from the manifest \(account: \d+ rows, \d+ recorded"),
        (_unreadable_manifest, "not a Carnet backup: its manifest is unreadable"),
    ],
)
async def test_a_bad_backup_is_refused_and_changes_nothing(
    backup_and_target, tmp_path, spoil, message
):
    backup, url = backup_and_target
    bad = tmp_path / "bad.backup"
    spoil(backup, bad)

    with pytest.raises(BackupError, match=message):
        await restore_backup(url, bad, KNOWN, force=True)

    logins = await _logins(url)
    assert CHANGED in logins
    assert DOCTOR not in logins


async def test_a_backup_restores_into_its_own_engine_only(backup_and_target):
    backup, url = backup_and_target
    other = (
        "postgresql://nobody@127.0.0.1:1/carnet"
        if url.startswith("sqlite:")
        else "sqlite:///nowhere/carnet.sqlite3"
    )
    with pytest.raises(BackupError, match=r"is a backup of a .* database; CARNET_DATABASE_URL"):
        await restore_backup(other, backup, KNOWN)


async def test_a_good_backup_over_other_data_with_force(backup_and_target):
    backup, url = backup_and_target
    await restore_backup(url, backup, KNOWN, force=True)
    logins = await _logins(url)
    assert DOCTOR in logins
    assert CHANGED not in logins


async def test_a_newcomer_backs_up_the_demo_deletes_it_and_restores_it(tmp_path, carnet_templates):
    """The README's steps, with the ``carnet`` command, on the demo's database."""
    await copy_database(await carnet_templates.get("sqlite", PLUGINS, demo=True), tmp_path)
    keys = {"CARNET_DATA_DIR": str(carnet_templates.folder / "var")}  # the demo's audit key
    result = await asyncio.to_thread(run_carnet, "backup", "demo.backup", tmp_path=tmp_path, **keys)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Backed up ")
    (tmp_path / "carnet.sqlite3").unlink()

    restored = await asyncio.to_thread(
        run_carnet, "restore", "demo.backup", tmp_path=tmp_path, **keys
    )
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip().endswith("audit: intact.")
    verified = await asyncio.to_thread(run_carnet, "audit", "verify", tmp_path=tmp_path, **keys)
    assert "The audit trail is intact." in verified.stdout


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (("restore", "garbage.backup"), "carnet: garbage.backup is not a Carnet backup"),
        (("restore", "missing.backup"), "carnet: there is no backup file missing.backup."),
        (("backup", "carnet.backup"), "carnet: there is no database at "),
        (("backup", "nowhere/carnet.backup"), "carnet: cannot write nowhere/carnet.backup"),
    ],
)
def test_what_cannot_be_done_is_said_in_one_line(tmp_path, command, message):
    (tmp_path / "garbage.backup").write_bytes(b"\0" * 2048)
    result = run_carnet(*command, tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "carnet.sqlite3").exists()
