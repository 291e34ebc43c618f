"""The witness and the purge door: cutting the last events of a chain, or a whole chain, shows;
only the purge of its dossier may remove a chain; a restore starts a new witness."""

from __future__ import annotations

import uuid

import pytest

from portal import audit
from portal.audit import Action, Actor, Purpose, signing, witness
from portal.audit.tables import AuditEvent
from portal.audit.verification import verify
from portal.dossiers.lifecycle import MAINTENANCE, purge
from tests.audit.conftest import drop_append_only_triggers, raw
from tests.audit.test_history import dossier_of
from tests.identity.conftest import new_patient

GARCIA = Actor(uuid.uuid4(), "professional", "medecin", "Karim Garcia")


def key(database) -> signing.AuditKey:
    return signing.key_from_text(database.settings.audit_key)


async def views(dossier, count: int) -> None:
    for number in range(count):
        await audit.record(Action.VIEW, GARCIA, dossier_id=dossier, target_type="document",
                           target_id=f"doc-{number}", purpose=Purpose.TREAT)  # fmt: skip


async def checked(database, dossier=None):
    """`carnet audit verify`, as the command runs it."""
    heads = await witness.load(database.settings.audit_witness, key(database))
    return await verify(key(database), dossier_id=dossier, witness=heads)


async def camille(database) -> uuid.UUID:
    return await dossier_of(await new_patient(first_name="Camille", last_name="Martin"))


async def test_the_witness_keeps_each_chain_s_committed_head(database):
    first, second = uuid.uuid4(), uuid.uuid4()
    await views(first, 3)
    async with database.write_transaction():
        await views(second, 2)
    heads = witness.read(database.settings.audit_witness, key(database))
    assert {chain: head.seq for chain, head in heads.items()} == {
        f"dossier:{first}": 3,
        f"dossier:{second}": 2,
    }

    async def rolled_back():
        async with database.write_transaction():
            await views(second, 1)
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError):
        await rolled_back()
    assert witness.read(database.settings.audit_witness, key(database))[
        f"dossier:{second}"
    ].seq == 2  # fmt: skip
    report = await checked(database)
    assert report.intact
    assert report.witnessed == 2


async def test_the_last_three_events_deleted_in_sql_are_named(database):
    dossier = await camille(database)
    await views(dossier, 7)
    await drop_append_only_triggers(database)
    await raw(
        database, "DELETE FROM audit_event WHERE chain = {} AND seq > 4", f"dossier:{dossier}"
    )
    report = await checked(database)
    assert [str(problem) for problem in report.problems] == [
        f"#5 of dossier:{dossier}: events #5 to #7 were removed after #4 "
        "(the witness saw the chain up to #7)"
    ]


async def test_a_rewritten_tail_does_not_match_the_witness(database, monkeypatch):
    dossier = uuid.uuid4()
    await views(dossier, 3)
    await drop_append_only_triggers(database)
    await raw(
        database, "DELETE FROM audit_event WHERE chain = {} AND seq = 3", f"dossier:{dossier}"
    )
    monkeypatch.setattr(witness, "_path", None)  # the forger cannot write the witness
    await views(dossier, 1)  # a new #3, even signed with the real key
    report = await checked(database)
    assert [(problem.seq, problem.what) for problem in report.problems] == [
        (3, "does not match the witness: the chain was rewritten up to here")
    ]


async def test_the_purge_flag_cannot_remove_a_live_dossier_s_chain(database):
    dossier = await camille(database)
    await views(dossier, 4)
    await raw(database, "INSERT INTO audit_purge (chain) VALUES ({})", f"dossier:{dossier}")
    with pytest.raises(Exception, match="append-only"):
        await raw(database, "DELETE FROM audit_event WHERE chain = {}", f"dossier:{dossier}")
    await audit.record(Action.LOGIN, GARCIA, purpose=Purpose.HOPERAT)
    await raw(database, "INSERT INTO audit_purge (chain) VALUES ('system')")
    with pytest.raises(Exception, match="append-only"):
        await raw(database, "DELETE FROM audit_event WHERE chain = 'system'")
    assert await AuditEvent.count().where(AuditEvent.chain == f"dossier:{dossier}") == 4


async def test_a_whole_chain_removed_is_named(database):
    """With the triggers dropped (the database's owner), the chain can go: verify says so."""
    dossier = await camille(database)
    await views(dossier, 4)
    await drop_append_only_triggers(database)
    await raw(database, "DELETE FROM audit_event WHERE chain = {}", f"dossier:{dossier}")
    report = await checked(database)
    assert [str(problem) for problem in report.problems] == [
        f"#1 of dossier:{dossier}: events #1 to #4 were removed: the whole chain is gone, and "
        "no purge of its dossier was recorded (the witness saw the chain up to #4)"
    ]
    assert not (await checked(database, dossier)).intact


async def test_a_purged_dossier_s_chain_goes_with_its_tombstone(database):
    dossier = await camille(database)
    await views(dossier, 4)
    await purge(dossier, MAINTENANCE, "archive kept ten years")
    assert await AuditEvent.count().where(AuditEvent.chain == f"dossier:{dossier}") == 0
    report = await checked(database)
    assert report.intact, report.problems


async def test_an_edited_or_missing_witness_is_refused(database):
    await views(uuid.uuid4(), 2)
    path = database.settings.audit_witness
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[1].replace('"seq":2', '"seq":1'))
    with pytest.raises(witness.WitnessError, match="line 2 is not a head signed"):
        await checked(database)
    path.write_text(lines[0] + "not a head\n")
    with pytest.raises(witness.WitnessError, match="was edited: line 2"):
        await checked(database)
    path.unlink()
    with pytest.raises(witness.WitnessError, match="is missing"):
        await checked(database)


async def test_a_new_database_needs_no_witness_yet(database):
    assert (await checked(database)).intact


async def test_a_restore_starts_a_new_witness_and_keeps_the_old_one(database):
    kept_dossier, lost_dossier = uuid.uuid4(), uuid.uuid4()
    await views(kept_dossier, 3)
    await views(lost_dossier, 2)
    path = database.settings.audit_witness
    old = path.read_text()
    # A restore brings back an older database: the last event of one chain is not in it.
    await drop_append_only_triggers(database)
    await raw(database, "DELETE FROM audit_event WHERE chain = {}", f"dossier:{lost_dossier}")
    assert not (await checked(database)).intact

    kept = await witness.restart(path, key(database))
    assert kept is not None
    assert kept.read_text() == old
    assert kept.parent == path.parent
    heads = witness.read(path, key(database))
    assert {chain: head.seq for chain, head in heads.items()} == {f"dossier:{kept_dossier}": 3}
    assert (await checked(database)).intact


async def test_no_new_witness_vouches_for_a_broken_database(database):
    dossier = uuid.uuid4()
    await views(dossier, 3)
    await drop_append_only_triggers(database)
    await raw(database, "UPDATE audit_event SET target_id = 'doc-x' WHERE seq = 2")
    path = database.settings.audit_witness
    before = path.read_text()
    with pytest.raises(witness.WitnessError, match="does not verify"):
        await witness.restart(path, key(database))
    assert path.read_text() == before
