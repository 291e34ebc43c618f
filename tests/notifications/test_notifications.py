"""The notification service: stored for the centre, sent by message when the person wants it,
shown in the reader's language, counted in every page's navigation."""

from __future__ import annotations

import importlib
from datetime import date
from uuid import UUID, uuid4

import pytest

from portal import audit, clock, i18n
from portal.audit import receipts
from portal.dossiers.tables import Dossier
from portal.i18n import gettext_lazy
from portal.identity.accounts import NewAccount, create_account
from portal.identity.numbers import nir_key
from portal.identity.tables import Account, Patient, Role
from portal.notifications import service
from portal.notifications.messaging import Message, MessageNotSent, OutboxChannel
from portal.notifications.service import NotificationKind, declare, notify
from portal.notifications.tables import Notification, OutboxMessage

NEWS = declare(
    NotificationKind(
        key="test_news",
        title=gettext_lazy("New login to your account"),
        body=gettext_lazy("Hello %(name)s"),
    )
)


class RecordingChannel:
    def __init__(self, fail: bool = False):
        self.sent: list[Message] = []
        self.fail = fail

    async def send(self, message: Message) -> None:
        if self.fail:
            raise MessageNotSent("the mail server is down")
        self.sent.append(message)


@pytest.fixture
async def person(database):
    """A patient, in a database whose messages go to the development outbox."""
    service.install(OutboxChannel(), "fr")
    nir = "2671075056123"
    return await create_account(
        NewAccount(role=Role.PATIENT, login="marie.curie@example.fr", first_name="Marie",
                   last_name="Curie", nir=nir + nir_key(nir), birth_date=date(1967, 10, 7))
    )  # fmt: skip


async def test_a_notification_is_stored_counted_and_sent(person, monkeypatch):
    channel = RecordingChannel()
    monkeypatch.setattr(service, "_channel", channel)
    await notify(person, NEWS, link="/account", name="Marie")
    assert await Notification.count().where(Notification.account == person) == 1
    account = await Account.select(Account.unread_notifications).where(Account.id == person).first()
    assert account["unread_notifications"] == 1
    [message] = channel.sent
    assert message.recipient == "marie.curie@example.fr"
    assert message.body == "Hello Marie"  # no French for this test-only message: as written


async def test_no_message_when_the_person_does_not_want_them(person, monkeypatch):
    channel = RecordingChannel()
    monkeypatch.setattr(service, "_channel", channel)
    await Account.update({Account.notify_by_message: False}).where(Account.id == person)
    await notify(person, NEWS, name="Marie")
    assert channel.sent == []
    assert await Notification.count() == 1


async def test_a_message_that_cannot_leave_does_not_undo_the_notification(person, monkeypatch):
    monkeypatch.setattr(service, "_channel", RecordingChannel(fail=True))
    await notify(person, NEWS, name="Marie")
    assert await Notification.count() == 1


async def test_kinds_must_be_declared(person):
    stray = NotificationKind(key="stray", title="x", body="y")
    with pytest.raises(LookupError, match="Declare"):
        await notify(person, stray)
    with pytest.raises(ValueError, match="Two notification kinds"):
        declare(NotificationKind(key="test_news", title="other", body="other"))


async def test_the_words_follow_the_reader(person):
    await notify(person, service.NEW_DEVICE, date="22/11/2026 21:00", device="Firefox")
    for language in ("fr", "en"):
        token = i18n.set_language(language)
        try:
            [row] = await service.latest(person)
            assert row["title"] == i18n.gettext("New login to your account")
        finally:
            i18n.reset_language(token)


async def test_the_default_channel_is_the_outbox(person):
    await notify(person, service.NEW_DEVICE, date="22/11/2026 21:00", device="Firefox")
    [message] = await OutboxMessage.select()
    token = i18n.set_language("fr")
    try:
        assert message["subject"] == i18n.gettext("New login to your account")
    finally:
        i18n.reset_language(token)
    assert "Firefox" in message["body"]


async def test_mark_all_read_clears_the_count(person):
    await notify(person, NEWS, name="Marie")
    await notify(person, NEWS, name="Marie")
    await service.mark_all_read(person)
    account = await Account.select(Account.unread_notifications).where(Account.id == person).first()
    assert account["unread_notifications"] == 0
    assert all(row["read_at"] for row in await service.latest(person))


async def dossier_of_person(person) -> UUID:
    patient = await Patient.select(Patient.id).where(Patient.account == person).first()
    now = clock.now()
    dossier = Dossier(
        patient=patient["id"], created_at=now, created_through="online", consent_at=now
    )
    await dossier.save()
    return dossier.id


async def test_a_notification_about_a_dossier_goes_with_it(person):
    dossier = await dossier_of_person(person)
    await notify(person, NEWS, link=f"/dossiers/{dossier}/summary", dossier=dossier, name="M")
    await notify(person, NEWS, link="/account", name="Marie")
    with pytest.raises(ValueError, match="must name its dossier"):
        await notify(person, NEWS, link=f"/dossiers/{dossier}", name="Marie")
    await Dossier.delete().where(Dossier.id == dossier)
    assert [row["link"] for row in await Notification.select()] == ["/account"]


async def test_the_upgrade_gives_the_earlier_notifications_their_dossier(person, database):
    """The migration that adds the column fills it from each notification's link."""
    dossier = await dossier_of_person(person)
    links = [f"/dossiers/{dossier}/history", f"/dossiers/{uuid4()}", "/account", ""]
    await Notification.insert(
        *(
            Notification(account=person, kind=NEWS.key, link=link, created_at=clock.now())
            for link in links
        )
    )
    migration = importlib.import_module(
        "portal.piccolo_migrations.portal_2026_12_07t02_49_01_000000"
    )
    await migration.name_their_dossiers()
    named = {row["link"]: row["dossier"] for row in await Notification.select()}
    assert named == dict.fromkeys(links) | {links[0]: dossier}


async def test_a_notification_about_a_dossier_carries_its_audit_receipt(person, monkeypatch):
    channel = RecordingChannel()
    monkeypatch.setattr(service, "_channel", channel)
    dossier = await dossier_of_person(person)
    await notify(person, NEWS, link="/account", name="Marie")  # about no dossier: no receipt
    for _ in range(2):
        await audit.record(audit.Action.VIEW, audit.Actor(uuid4()), dossier_id=dossier)
    await notify(person, NEWS, link=f"/dossiers/{dossier}", dossier=dossier, name="Marie")

    head = await receipts.current(dossier)
    assert head.seq == 2
    newest, oldest = await service.latest(person)
    assert (newest["receipt"], oldest["receipt"]) == (receipts.as_text(head), "")
    about_dossier, plain = reversed(channel.sent)
    assert plain.body == "Hello Marie"
    token = i18n.set_language("fr")  # the portal's language, which its messages are written in
    try:
        footer = str(service.RECEIPT_FOOTER) % {"receipt": receipts.as_text(head)}
    finally:
        i18n.reset_language(token)
    assert about_dossier.body == f"Hello Marie\n\n{footer}"
    assert '"seq":2' in footer
