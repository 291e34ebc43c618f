"""The yearly invitation to review one's end-of-life wishes (ACCESS.md: "yearly reminders to
review end-of-life wishes"), sent by `carnet reminders` through the send_reminders hook.

A dossier whose wishes (valid directives or a trusted person) were last changed, and whose
patient's side was last invited, more than a year ago gets one notification for each person
who acts for the patient; `Reminder` remembers when, so that it goes once a year.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from piccolo.query.functions.aggregate import Max

from plugins.end_of_life import wishes
from plugins.end_of_life.tables import Directives, Reminder, TrustedPerson
from portal import clock, db
from portal import gettext_lazy as _
from portal.access.facts import patient_side
from portal.notifications import NotificationKind, declare, notify

REVIEW_EVERY = timedelta(days=365)

REVIEW_WISHES = declare(
    NotificationKind(
        key="end_of_life_review",
        title=_("A moment to reread your end-of-life wishes"),
        body=_(
            "A year has passed since the end-of-life wishes of %(patient)s were last written "
            "or reread (%(date)s). Take a moment, when you feel ready, to check that they still "
            "say what you want, and that your trusted person can still be reached. Nothing needs "
            "to change if they still suit you."
        ),
    )
)


async def _last_changes() -> dict[UUID, datetime]:
    """For each dossier with wishes, when they last changed."""
    changed: dict[UUID, datetime] = {}
    for table in (Directives, TrustedPerson):
        rows = await table.select(table.dossier, Max(table.created_at, alias="last")).group_by(
            table.dossier
        )
        for row in rows:
            last = _timestamp(row["last"])
            known = changed.get(row["dossier"])
            changed[row["dossier"]] = max(known, last) if known else last
    return changed


def _timestamp(value: datetime | str) -> datetime:
    """An aggregate of timestamps: SQLite gives it back as the text it stores."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


async def send_due(now: datetime) -> int:
    cutoff = now - REVIEW_EVERY
    reminded = {
        row["dossier"]: row["reminded_at"]
        for row in await Reminder.select(Reminder.dossier, Reminder.reminded_at)
    }
    due = [
        dossier_id
        for dossier_id, changed in (await _last_changes()).items()
        if max(changed, reminded.get(dossier_id, changed)) <= cutoff
    ]
    sent = 0
    for dossier_id in sorted(due):
        async with db.current().write_transaction():
            sent += await _remind(dossier_id, now, cutoff)
    return sent


async def _remind(dossier_id: UUID, now: datetime, cutoff: datetime) -> int:
    """Invite the patient's side of one dossier, unless another run just did."""
    last = await Reminder.select(Reminder.reminded_at).where(Reminder.dossier == dossier_id).first()
    if last is not None and last["reminded_at"] > cutoff:
        return 0
    patient = await patient_side(dossier_id)
    has_wishes = wishes.valid(await wishes.latest_directives(dossier_id)) or wishes.designated(
        await wishes.latest_trusted_person(dossier_id)
    )
    if patient is None or not patient.open or not has_wishes:
        return 0
    accounts = patient.accounts
    changed = max(
        row["created_at"]
        for row in [
            *await Directives.select(Directives.created_at).where(Directives.dossier == dossier_id),
            *await TrustedPerson.select(TrustedPerson.created_at).where(
                TrustedPerson.dossier == dossier_id
            ),
        ]
    )
    since = max(changed, last["reminded_at"]) if last else changed
    for account_id in sorted(accounts):
        await notify(
            account_id,
            REVIEW_WISHES,
            link=f"/dossiers/{dossier_id}/end_of_life",
            dossier=dossier_id,
            patient=patient.name,
            date=clock.day(since),
        )
    if last is None:
        await Reminder.insert(Reminder(dossier=dossier_id, reminded_at=now))
    else:
        await Reminder.update({Reminder.reminded_at: now}).where(Reminder.dossier == dossier_id)
    return len(accounts)
