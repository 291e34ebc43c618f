"""``carnet audit verify``, ``sign`` and ``new-witness`` as an operator runs them."""

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

    assert await carnet(database, "audit", "verify") == 0
    output = capsys.readouterr().out
    assert "4 events in 1 chain, 0 signed checkpoints." in output
    assert "1 chain compared with the witness" in output
    assert "The audit trail is intact." in output
    assert await carnet(database, "audit", "sign") == 0  # every event is signed already
    assert "Signed 0 chain heads." in capsys.readouterr().out

    await drop_append_only_triggers(database)
    await raw(database, "UPDATE audit_event SET actor_name = 'nobody' WHERE seq = 3")
    assert await carnet(database, "audit", "verify", "--dossier", str(dossier)) == 1
    output = capsys.readouterr().out
    assert "TAMPERED" in output
    assert f"(#3 of dossier:{dossier}): was modified after it was written" in output


async def test_verify_says_which_events_were_cut_and_refuses_a_missing_witness(
    database, monkeypatch, capsys
):
    use_database(monkeypatch, database)
    dossier = uuid.uuid4()
    for _ in range(5):
        await record(Action.VIEW, Actor(account_id=uuid.uuid4()), dossier_id=dossier)
    await drop_append_only_triggers(database)
    await raw(database, "DELETE FROM audit_event WHERE seq > 2")
    assert await carnet(database, "audit", "verify") == 1
    assert (
        f"  #3 of dossier:{dossier}: events #3 to #5 were removed after #2 "
        "(the witness saw the chain up to #5)\n"
    ) in capsys.readouterr().out

    witness = database.settings.audit_witness
    witness.rename(witness.with_name("elsewhere"))
    assert await carnet(database, "audit", "verify") == 1
    error = capsys.readouterr().err
    assert error.startswith(f"carnet: the audit witness {witness} is missing")
    assert error.count("\n") == 1


async def test_new_witness_after_a_restore_keeps_the_old_file(database, monkeypatch, capsys):
    use_database(monkeypatch, database)
    await record(Action.VIEW, Actor(account_id=uuid.uuid4()), dossier_id=uuid.uuid4())
    witness = database.settings.audit_witness
    old = witness.read_text()
    assert await carnet(database, "audit", "new-witness") == 0
    output = capsys.readouterr().out
    [kept] = [path for path in witness.parent.iterdir() if path.name.startswith(witness.name + ".")]
    assert f"The previous witness is kept as {kept}." in output
    assert kept.read_text() == old
    assert witness.read_text() == old  # the same head, witnessed anew
    assert await carnet(database, "audit", "verify") == 0
