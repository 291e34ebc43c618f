"""The reminder: when a vaccine of the schedule falls due for someone whose vaccinations are
recorded here, the patient's side is told once (per rule and due date), through the core's
notifications. `carnet reminders` runs it every day."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from plugins.vaccination import schedule
from plugins.vaccination.tables import Reminder, Vaccination
from portal import clock, db
from portal import gettext_lazy as _
from portal.access.facts import patient_side
from portal.dossiers.tables import DossierStatus
from portal.notifications import NotificationKind, declare, notify

VACCINE_DUE = declare(
    NotificationKind(
        key="vaccination_due",
        title=_("A vaccine is due"),
        body=_(
            "The vaccination schedule recommends for %(patient)s: %(vaccine)s, since "
            "%(date)s. Talk about it with your doctor, pharmacist, midwife or nurse."
        ),
    )
)


async def send(now: datetime) -> int:
    """Remind every open dossier with recorded vaccinations of what fell due; how many
    notifications went."""
    today = now.date()
    sent = 0
    dossiers = (
        await Vaccination.select(Vaccination.dossier)
        .where(
            Vaccination.superseded_at.is_null(), Vaccination.dossier.status == DossierStatus.OPEN
        )
        .distinct()
    )
    for dossier_id in sorted({row["dossier"] for row in dossiers}, key=str):
        sent += await _remind(dossier_id, now, today)
    return sent


async def _remind(dossier_id: UUID, now: datetime, today) -> int:
    patient = await patient_side(dossier_id)
    if patient is None:
        return 0
    rows = await Vaccination.select(Vaccination.vaccine, Vaccination.given_on).where(
        Vaccination.dossier == dossier_id, Vaccination.superseded_at.is_null()
    )
    pending = schedule.pending(schedule.schedule_for(patient.birth_date, rows, today))
    if not pending:
        return 0
    accounts = sorted(patient.accounts, key=str)
    sent = 0
    for due in pending:
        async with db.current().write_transaction():
            already = await Reminder.exists().where(
                Reminder.dossier == dossier_id,
                Reminder.rule == due.rule.key,
                Reminder.due_on == due.due_on,
            )
            if already:
                continue
            await Reminder.insert(
                Reminder(dossier=dossier_id, rule=due.rule.key, due_on=due.due_on, sent_at=now)
            )
            for account_id in accounts:
                await notify(
                    account_id,
                    VACCINE_DUE,
                    link=f"/dossiers/{dossier_id}/vaccination",
                    dossier=dossier_id,
                    patient=patient.name,
                    vaccine=due.rule.label_text["fr"],
                    date=clock.day(due.due_on),
                )
                sent += 1
    return sent
