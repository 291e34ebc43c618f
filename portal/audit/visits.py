"""The accesses of a history page grouped into visits, so that a patient reads "Karim Garcia,
doctor — on 7 December 2026 at 14:02: the medical summary, 2 documents: …" rather than the
dozen events of one consultation.

A visit is one person's accesses to the dossier, through the same application and in the same
mode (usual, emergency, SAMU, with the same reason), with no more than `GAP` between one and
the next: 30 minutes, the length of a consultation and of the note written after it. Visits
are cut at the page's edges: a visit across two pages of the history shows on both. Emergency
and SAMU visits come first, then the others, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_date

from portal import clock
from portal.audit import Mode
from portal.audit.naming import Told
from portal.i18n import current_language, ngettext
from portal.i18n import gettext as _
from portal.identity.professions import PROFESSIONS
from portal.identity.tables import ROLE_LABELS

#: The longest pause within one visit.
GAP = timedelta(minutes=30)


@dataclass
class Visit:
    """One person's accesses close in time, oldest first."""

    events: list[Told] = field(default_factory=list)

    @property
    def first(self) -> dict[str, Any]:
        return self.events[0].event

    @property
    def start(self) -> datetime:
        return self.first["occurred_at"]

    @property
    def mode(self) -> str:
        return self.first["mode"]

    @property
    def urgent(self) -> bool:
        """An emergency or SAMU access: shown first, and highlighted."""
        return self.mode != Mode.NORMAL

    @property
    def reason(self) -> str:
        """The reason or call reference given for an emergency or SAMU access."""
        return self.first["mode_detail"]

    @property
    def who(self) -> str:
        return who(self.first)

    @property
    def when(self) -> str:
        moment = clock.local(self.start)
        month = format_date(moment.date(), "MMMM y", locale=current_language())
        day = _("1st %(month)s") % {"month": month} if moment.day == 1 else f"{moment.day} {month}"
        return _("on %(day)s at %(time)s") % {"day": day, "time": clock.time_of_day(moment)}

    @property
    def what(self) -> str:
        """What the visit was about, each thing once: the parts of the record, then the
        documents, then the refusals."""
        things: list[str] = []
        documents: dict[str, str] = {}  # by id: two documents pending are two
        for told in self.events:
            if told.refused:
                continue
            if told.document:
                documents.setdefault(told.event["target_id"], told.document)
            elif told.what not in things:
                things.append(told.what)
        if documents:
            things.append(
                ngettext("%(count)s document: %(names)s", "%(count)s documents: %(names)s",
                         len(documents))
                % {"count": len(documents), "names": ", ".join(documents.values())}
            )  # fmt: skip
        refused = sum(told.refused for told in self.events)
        if refused:
            things.append(
                ngettext("%(count)s attempt refused", "%(count)s attempts refused", refused)
                % {"count": refused}
            )
        return ", ".join(things)


def who(event: dict[str, Any]) -> str:
    """The person as the trail keeps them: their name (with "Dr" for doctors and dentists),
    their profession or role, and the application they acted through."""
    person = event["actor_name"] or _("Someone")
    profession = PROFESSIONS.get(event["actor_profession"])
    if profession:
        if profession.doctor and event["actor_name"]:
            person = _("Dr %(name)s") % {"name": person}
        person = f"{person}, {str(profession.label).lower()}"
    elif event["actor_role"] and event["actor_role"] != "patient":
        label = ROLE_LABELS.get(event["actor_role"])
        person = f"{person}, {str(label).lower()}" if label else person
    if event["via"]:
        person = _("%(who)s, via %(application)s") % {"who": person, "application": event["via"]}
    return person


def _key(event: dict[str, Any]) -> tuple:
    """What the events of one visit share: an emergency access given another reason is
    another visit."""
    return (
        event["actor_account"],
        event["actor_name"],
        event["via"],
        event["mode"],
        event["mode_detail"],
    )


def visits(events: list[Told]) -> list[Visit]:
    """``events`` (newest first, as the page reads them) in visits: the emergency and SAMU
    ones first, then the others, newest first."""
    open_visits: dict[tuple, Visit] = {}
    found: list[Visit] = []
    for told in reversed(events):
        key = _key(told.event)
        visit = open_visits.get(key)
        if visit is None or told.event["occurred_at"] - visit.events[-1].event["occurred_at"] > GAP:
            visit = open_visits[key] = Visit()
            found.append(visit)
        visit.events.append(told)
    found.reverse()
    return [visit for visit in found if visit.urgent] + [
        visit for visit in found if not visit.urgent
    ]
