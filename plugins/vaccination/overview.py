"""The section seen from elsewhere: its card on the dossier overview and its line on the
emergency card."""

from __future__ import annotations

from typing import Any

from plugins.vaccination import records, schedule
from plugins.vaccination.reference import vaccine_name
from portal import EmergencyItem, clock
from portal.access.view import DossierView
from portal.i18n import gettext as _

LATEST = 3


async def card(view: DossierView) -> dict[str, Any]:
    rows = await records.current(view.id)
    birth = view.patient.get("birth_date")
    plan = schedule.schedule_for(birth, rows, view.now.date()) if birth else []
    return {
        "latest": [{**row, "name": vaccine_name(row["vaccine"])} for row in rows[:LATEST]],
        "total": len(rows),
        "pending": schedule.pending(plan),
    }


async def tetanus_item(view: DossierView) -> EmergencyItem:
    """ "Tétanos: à jour, dernier rappel le 12/03/2021", short enough for a wallet card."""
    rows = await records.current(view.id)
    birth = view.patient.get("birth_date")
    status = schedule.tetanus_status(birth, rows, view.now.date()) if birth else None
    if status is None or status.last_given is None:
        value = _("no vaccination recorded")
    else:
        last = clock.day(status.last_given)
        if status.status == schedule.UP_TO_DATE:
            value = _("up to date, last dose on %(date)s") % {"date": last}
        elif status.status == schedule.DUE:
            value = _("booster due, last dose on %(date)s") % {"date": last}
        else:
            value = _("booster overdue, last dose on %(date)s") % {"date": last}
    return EmergencyItem("tetanus", _("Tetanus"), value)
