"""The audit trail: one record() that chains, an append-only table, and a verify that finds
every kind of tampering — an edited, removed or moved event, or a whole log swapped."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from portal.audit import Action, Actor, Mode, Outcome, Purpose, record, signing, trail
from portal.audit.tables import AuditCheckpoint, AuditEvent
from portal.audit.trail import GENESIS, SYSTEM_CHAIN
from portal.audit.verification import verify
from tests.audit.conftest import drop_append_only_triggers, raw

GARCIA = Actor(account_id=uuid.uuid4(), role="professional", profession="medecin",
               name="Karim Garcia")  # fmt: skip


async def record_views(count: int, dossier_id) -> None:
    for number in range(count):
        await record(Action.VIEW, GARCIA, dossier_id=dossier_id, target_type="document",
                     target_id=f"doc-{number}", purpose=Purpose.TREAT)  # fmt: skip


def key(database):
    return signing.key_from_text(database.settings.audit_key)


async def test_an_event_keeps_who_what_when_how_and_why(database):
    dossier = uuid.uuid4()
    event = await record(
        Action.EMERGENCY_ACCESS, GARCIA, dossier_id=dossier, outcome=Outcome.ALLOWED,
        mode=Mode.EMERGENCY, mode_detail="Patient inconscient aux urgences",
        purpose=Purpose.BTG, client_address="203.0.113.9",
    )  # fmt: skip
    stored = await AuditEvent.select().where(AuditEvent.id.is_not_null()).first()
    assert stored["chain"] == f"dossier:{dossier}"
    assert stored["seq"] == 1
    assert stored["previous_hash"] == GENESIS
    assert stored["hash"] == event["hash"]
    assert stored["occurred_at"].utcoffset().total_seconds() == 0
    assert (stored["actor_account"], stored["actor_profession"]) == (GARCIA.account_id, "medecin")
    assert (stored["mode"], stored["purpose"]) == ("emergency", "BTG")
    assert stored["mode_detail"] == "Patient inconscient aux urgences"


async def test_each_dossier_has_its_chain_and_logins_the_system_chain(database):
    first, second = uuid.uuid4(), uuid.uuid4()
    await record_views(2, first)
    await record_views(1, second)
    await record(Action.LOGIN, GARCIA, purpose=Purpose.HOPERAT)
    rows = await AuditEvent.select(AuditEvent.chain, AuditEvent.seq).order_by(AuditEvent.id)
    assert [(row["chain"], row["seq"]) for row in rows] == [
        (f"dossier:{first}", 1), (f"dossier:{first}", 2), (f"dossier:{second}", 1),
        (SYSTEM_CHAIN, 1),
    ]  # fmt: skip
    chain = (
        await AuditEvent.select()
        .where(AuditEvent.chain == f"dossier:{first}")
        .order_by(AuditEvent.seq)
    )
    assert chain[1]["previous_hash"] == chain[0]["hash"]
    assert (await verify(key(database))).intact


async def test_the_database_refuses_to_change_or_delete_events(database):
    await record_views(1, uuid.uuid4())
    for statement in (
        "UPDATE audit_event SET reason = 'nothing happened'",
        "DELETE FROM audit_event",
    ):
        with pytest.raises(Exception, match="append-only"):
            await raw(database, statement)
    assert await AuditEvent.count() == 1
    if not database.is_sqlite:
        with pytest.raises(Exception, match="append-only"):
            await raw(database, "TRUNCATE audit_event")


async def test_an_event_is_rolled_back_with_its_action(database):
    async def failing_action():
        async with database.write_transaction():
            await record_views(1, uuid.uuid4())
            raise RuntimeError("the action failed")

    with pytest.raises(RuntimeError, match="the action failed"):
        await failing_action()
    assert await AuditEvent.count() == 0


async def test_sqlite_refuses_a_read_transaction(database):
    if not database.is_sqlite:
        return  # PostgreSQL serialises with an advisory lock in any transaction

    async def record_in_a_read_transaction():
        async with database.engine.transaction():
            await record_views(1, uuid.uuid4())

    with pytest.raises(RuntimeError, match="write_transaction"):
        await record_in_a_read_transaction()


# --- tampering ------------------------------------------------------------------------------


async def test_an_edited_event_is_named(database):
    dossier = uuid.uuid4()
    await record_views(5, dossier)
    await drop_append_only_triggers(database)
    await raw(database, "UPDATE audit_event SET target_id = 'doc-x' WHERE seq = 3")
    report = await verify(key(database), dossier_id=dossier)
    assert not report.intact
    assert [(problem.seq, problem.what) for problem in report.problems] == [
        (3, "was modified after it was written")
    ]


async def test_a_deleted_event_is_named(database):
    dossier = uuid.uuid4()
    await record_views(5, dossier)
    await drop_append_only_triggers(database)
    await raw(database, "DELETE FROM audit_event WHERE seq = 2")
    report = await verify(key(database))
    assert [(problem.seq, problem.what) for problem in report.problems] == [
        (2, "event #2 is missing")
    ]


async def test_reordered_events_are_found(database):
    dossier = uuid.uuid4()
    await record_views(4, dossier)
    await drop_append_only_triggers(database)
    # Swap events 2 and 3, renumbering them so that the sequence looks whole.
    await raw(database, "UPDATE audit_event SET seq = -2 WHERE seq = 2")
    await raw(database, "UPDATE audit_event SET seq = 2 WHERE seq = 3")
    await raw(database, "UPDATE audit_event SET seq = 3 WHERE seq = -2")
    report = await verify(key(database))
    assert report.problems[0].seq == 2
    assert not report.intact


async def test_every_event_is_signed_and_a_recomputed_event_is_not(database):
    dossier = uuid.uuid4()
    await record_views(3, dossier)
    rows = await AuditEvent.select().where(AuditEvent.chain == f"dossier:{dossier}")
    assert all(key(database).verify(row["chain"], row["seq"], row["hash"], row["signature"])
               for row in rows)  # fmt: skip
    await drop_append_only_triggers(database)
    # The last event rewritten with its hash recomputed, as anyone can: the chain holds...
    forged = {**rows[2], "target_id": "doc-x"}
    await raw(database, "UPDATE audit_event SET target_id = 'doc-x', hash = {} WHERE seq = 3",
              trail.event_hash(forged))  # fmt: skip
    report = await verify(key(database))
    # ...but only the audit key could have signed it.
    assert [(problem.seq, problem.what) for problem in report.problems] == [
        (3, "its signature is not valid")
    ]


async def test_a_whole_log_swapped_for_another_fails_the_signatures(database, monkeypatch):
    dossier = uuid.uuid4()
    await record_views(3, dossier)
    await drop_append_only_triggers(database)
    await raw(database, "DELETE FROM audit_event")
    # A new, self-consistent history of the same dossier, signed with another key.
    monkeypatch.setattr(signing, "_key", signing.key_from_text("B" * 43 + "="))
    await record_views(3, dossier)
    report = await verify(key(database))
    assert [(problem.seq, problem.what) for problem in report.problems] == [
        (1, "its signature is not valid")
    ]


async def test_an_unsigned_event_after_signed_ones_is_refused(database, monkeypatch):
    dossier = uuid.uuid4()
    await record_views(2, dossier)
    monkeypatch.setattr(
        signing, "_key", None
    )  # as someone writing to the database without the key would
    await record_views(1, dossier)
    report = await verify(key(database))
    assert [(problem.seq, problem.what) for problem in report.problems] == [
        (3, "is not signed: the portal did not write it")
    ]


async def test_events_from_before_every_event_was_signed_are_vouched_for(database, monkeypatch):
    """The chains written before every event was signed: their first signed event, or a
    checkpoint (``carnet audit sign``), vouches for the unsigned events before it."""
    legacy, continued = uuid.uuid4(), uuid.uuid4()
    monkeypatch.setattr(signing, "_key", None)
    await record_views(3, legacy)
    await record_views(2, continued)
    report = await verify(key(database))
    assert report.intact
    assert report.unsigned == {f"dossier:{legacy}": 3, f"dossier:{continued}": 2}

    monkeypatch.setattr(signing, "_key", key(database))
    await record_views(1, continued)  # signed: it vouches for the two before it
    assert (await verify(key(database))).unsigned == {f"dossier:{legacy}": 3}
    assert await signing.sign_heads(key(database)) == 1  # the legacy chain's head only
    assert await signing.sign_heads(key(database)) == 0
    assert await AuditCheckpoint.count() == 1
    report = await verify(key(database))
    assert report.intact
    assert report.unsigned == {}


async def test_checkpoints_from_another_key_are_refused(database, monkeypatch):
    monkeypatch.setattr(signing, "_key", None)
    await record_views(1, uuid.uuid4())
    forger = signing.key_from_text("B" * 43 + "=")
    await signing.sign_heads(forger)
    report = await verify(key(database))
    assert [problem.what for problem in report.problems] == [
        "checkpoint signed with an unknown audit key"
    ]


# --- concurrency ----------------------------------------------------------------------------


async def test_a_hundred_concurrent_writers_leave_one_unbroken_chain(database):
    dossier = uuid.uuid4()

    async def writer(number: int) -> None:
        async with database.write_transaction():
            await record(Action.VIEW, GARCIA, dossier_id=dossier, target_id=f"doc-{number}")

    await asyncio.gather(*(writer(number) for number in range(100)))
    rows = await AuditEvent.select(AuditEvent.seq).where(AuditEvent.chain == f"dossier:{dossier}")
    assert sorted(row["seq"] for row in rows) == list(range(1, 101))
    report = await verify(key(database), dossier_id=dossier)
    assert report.intact
    assert report.events == 100


async def test_events_recorded_at_the_same_moment_share_one_commit(database, monkeypatch):
    """Outside any transaction (a page about to be read, a refusal), the events of concurrent
    requests are written in one transaction; each caller gets its own event, in one unbroken
    chain per dossier."""
    opened = []
    write_transaction = database.write_transaction

    def counted():
        opened.append(1)
        return write_transaction()

    monkeypatch.setattr(database, "write_transaction", counted)
    dossiers = [uuid.uuid4() for _ in range(3)]
    events = await asyncio.gather(
        *(
            record(Action.VIEW, GARCIA, dossier_id=dossiers[number % 3], target_id=f"doc-{number}")
            for number in range(30)
        )
    )
    assert len(opened) == 1
    assert [event["target_id"] for event in events] == [f"doc-{number}" for number in range(30)]
    assert [event["seq"] for event in events[::3]] == list(range(1, 11))
    stored = await AuditEvent.select(AuditEvent.hash).where(AuditEvent.chain.like("dossier:%"))
    assert {row["hash"] for row in stored} == {event["hash"] for event in events}
    report = await verify(key(database))
    assert report.intact
    assert report.events == 30


async def test_an_event_that_cannot_be_written_fails_only_its_own_caller(database, monkeypatch):
    dossier = uuid.uuid4()
    hash_of = trail.event_hash

    def failing(fields):
        if fields["target_id"] == "doc-bad":
            raise RuntimeError("the disk is full")
        return hash_of(fields)

    monkeypatch.setattr(trail, "event_hash", failing)
    results = await asyncio.gather(
        *(
            record(Action.VIEW, GARCIA, dossier_id=dossier, target_id=name)
            for name in ("doc-1", "doc-2", "doc-bad", "doc-3")
        ),
        return_exceptions=True,
    )
    assert isinstance(results[2], RuntimeError)
    assert [result["seq"] for result in results if isinstance(result, dict)] == [1, 2, 3]
    report = await verify(key(database), dossier_id=dossier)
    assert report.intact
    assert report.events == 3


async def test_a_caller_that_goes_away_does_not_stop_the_others_events(database):
    dossier = uuid.uuid4()
    callers = [
        asyncio.create_task(
            record(Action.VIEW, GARCIA, dossier_id=dossier, target_id=f"doc-{number}")
        )
        for number in range(3)
    ]
    await asyncio.sleep(0)  # all three wait for their events to be written
    callers[0].cancel()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    assert [result["target_id"] for result in results[1:]] == ["doc-1", "doc-2"]
    # The decision was made: its event, already on its way, is kept with the others.
    report = await verify(key(database), dossier_id=dossier)
    assert report.intact
    assert report.events == 3
