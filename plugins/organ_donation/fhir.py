"""The section as FHIR R4 resources, for the patient summary (IPS): the current position on
organ donation as a ``Consent`` of the advance-directive scope, a refusal as a "deny"."""

from __future__ import annotations

from typing import Any

from plugins.organ_donation import position
from portal.access.view import DossierView
from portal.fhir.ips import advance_directive
from portal.i18n import gettext as _
from portal.i18n import with_colon


async def resources(view: DossierView) -> list[dict[str, Any]]:
    """The current position, if the patient's side recorded one."""
    current = await position.current(view.id)
    if current is None:
        return []
    text = with_colon(_("Organ donation")) + f" {position.line(current)}"
    return [
        advance_directive(
            f"organ-donation-{current['id']}",
            view.id,
            current["recorded_at"],
            text,
            permit=not position.is_refusal(current),
        )
    ]
