"""The reminder: when a vaccine of the schedule falls due for someone whose vaccinations are
recorded here, the patient's side is told once (per rule and due date), through the core's
notifications. `carnet reminders` runs it every day."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from plugins.vaccination import schedule
from plugins.vaccination.tables import Reminder, Vaccination
from portal import db
from portal import gettext_lazy as _
from portal.access.facts import dossier_facts
from portal.access.policy import patient_side_accounts
from portal.dossiers.tables import Dossier, DossierStatus
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
    patient = (
        await Dossier.select(
            Dossier.patient.first_name.as_alias("first_name"),
            Dossier.patient.last_name.as_alias("last_name"),
            Dossier.patient.birth_date.as_alias("birth_date"),
        )
        .where(Dossier.id == dossier_id)
        .first()
    )
    if patient is None or patient["birth_date"] is None:
        return 0
    rows = await Vaccination.select(Vaccination.vaccine, Vaccination.given_on).where(
        Vaccination.dossier == dossier_id, Vaccination.superseded_at.is_null()
    )
    pending = schedule.pending(schedule.schedule_for(patient["birth_date"], rows, today))
    if not pending:
        return 0
    facts = await dossier_facts(dossier_id)
    accounts = sorted(patient_side_accounts(facts), key=str) if facts else []
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
                    patient=f"{patient['first_name']} {patient['last_name']}",
                    vaccine=due.rule.label_text["fr"],
                    date=due.due_on.strftime("%d/%m/%Y"),
                )
                sent += 1
    return sent
