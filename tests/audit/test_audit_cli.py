"""``carnet audit verify`` and ``carnet audit sign`` as an operator runs them."""

from __future__ import annotations

import asyncio
import uuid

from portal.audit import Action, Actor, record
from portal.cli import main
from tests.audit.conftest import drop_append_only_triggers, raw


def use_database(monkeypatch, database) -> None:
    monkeypatch.setenv("CARNET_DATA_DIR", str(database.settings.data_dir))
    monkeypatch.setenv("CARNET_DATABASE_URL", database.settings.database_url)


async def carnet(database, *arguments: str) -> int:
    """Run the command as from a shell (its own event loop), then give the test its database
    back (the command installs one of its own)."""
    status = await asyncio.to_thread(main, list(arguments))
    database.install()
    return status


async def test_verify_says_the_trail_is_intact_then_names_the_first_broken_event(
    database, monkeypatch, capsys
):
    use_database(monkeypatch, database)
    dossier = uuid.uuid4()
    for _ in range(4):
        await record(Action.VIEW, Actor(account_id=uuid.uuid4()), dossier_id=dossier)

    assert await carnet(database, "audit", "sign") == 0
    assert "Signed 1 chain head." in capsys.readouterr().out
    assert await carnet(database, "audit", "verify") == 0
    assert "The audit trail is intact." in capsys.readouterr().out

    await drop_append_only_triggers(database)
    await raw(database, "UPDATE audit_event SET actor_name = 'nobody' WHERE seq = 3")
    assert await carnet(database, "audit", "verify", "--dossier", str(dossier)) == 1
    output = capsys.readouterr().out
    assert "TAMPERED" in output
    assert f"(#3 of dossier:{dossier}): was modified after it was written" in output
