"""The section as FHIR R4 resources, for the patient summary (IPS): the valid advance
directives as a ``Consent`` of the advance-directive scope, and the trusted person as a
``RelatedPerson``."""

from __future__ import annotations

from typing import Any

from plugins.end_of_life import wishes
from plugins.end_of_life.tables import DirectivesKind
from portal import clock
from portal.access.view import DossierView
from portal.fhir.ips import advance_directive, narrative
from portal.i18n import gettext as _
from portal.i18n import with_colon


async def resources(view: DossierView) -> list[dict[str, Any]]:
    """The wishes that count now (a revoked directive gives nothing)."""
    current = await wishes.current(view.id)
    found = []
    directives, person = current["directives"], current["person"]
    if directives:
        if directives["kind"] == DirectivesKind.ELSEWHERE:
            text = _("Advance directives of %(date)s, kept at %(place)s, held by %(holder)s") % {
                "date": clock.day(directives["created_at"]),
                "place": directives["elsewhere_place"],
                "holder": directives["elsewhere_holder"],
            }
        else:
            text = _("Advance directives of %(date)s, written in Carnet") % {
                "date": clock.day(directives["created_at"])
            }
        found.append(
            advance_directive(
                f"end-of-life-{directives['id']}", view.id, directives["created_at"], text
            )
        )
    if person:
        related: dict[str, Any] = {
            "resourceType": "RelatedPerson",
            "id": f"end-of-life-{person['id']}",
            "text": narrative(
                with_colon(_("Trusted person")) + f" {person['name']}{_relation(person)}"
            ),
            "patient": {"reference": f"Patient/{view.id}"},
            # No terminology has the French "personne de confiance": said in words.
            "relationship": [{"text": _("Trusted person") + _relation(person)}],
            "name": [{"text": person["name"]}],
        }
        telecom = [
            {"system": system, "value": person[column]}
            for system, column in (("phone", "phone"), ("email", "email"))
            if person[column]
        ]
        if telecom:
            related["telecom"] = telecom
        found.append(related)
    return found


def _relation(person: dict[str, Any]) -> str:
    return f" ({person['relation']})" if person["relation"] else ""
