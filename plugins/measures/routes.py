"""The section's page in a dossier (for htmx, its panel) and the form that records a reading.

Each route opens the dossier through the core, which decides and traces a refusal; a reading
is traced by ``view.require``, a change by ``view.acting``, in the transaction that makes it.
"""

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from plugins.measures import readings
from plugins.measures.kinds import KINDS
from plugins.measures.readings import CATEGORY
from portal import gettext_lazy as _
from portal.access import signed_in
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.web import flash, is_htmx, page_or_fragment, see_other

KEY = "measures"
PAGE = "/dossiers/{dossier_id:uuid}/measures"
Form = URLEncodedBody[dict[str, Any]]


async def page_context(view: DossierView) -> dict[str, Any]:
    """What the page and the PDF show: each measure's readings and chart."""
    return {"series": await readings.series(view), "kinds": list(KINDS.values())}


async def _page(
    request: Request,
    view: DossierView,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    notice: str = "",
) -> Template:
    context = {
        "view": view,
        **await page_context(view),
        "folded": True,
        "writes": view.may(Action.CREATE, CATEGORY),
        "values": values or readings.blank(view.now),
        "errors": errors or {},
        "notice": notice,
    }
    return page_or_fragment(request, "measures/page.html", "measures/_panel.html", context, status)


@get(PAGE, guards=[signed_in])
async def measures_page(request: Request, dossier_id: FromPath[UUID]) -> Template:
    view = await open_dossier(request, dossier_id, target_type=KEY)
    await view.require(Action.VIEW, CATEGORY, target_type=KEY)
    return await _page(request, view)


@post(PAGE, guards=[signed_in])
async def record_reading(
    request: Request, dossier_id: FromPath[UUID], data: Form
) -> Template | Redirect:
    """Record a reading: the patient's side, and the professions that write the category."""
    view = await open_dossier(request, dossier_id, Action.CREATE, CATEGORY, target_type=KEY)
    columns, errors = readings.read_form(data, view.now, view.patient["birth_date"])
    if errors:  # nothing saved; the page is shown again, a reading traced as such
        await view.require(Action.VIEW, CATEGORY, target_type=KEY)
        return await _page(request, view, columns, errors, 400)
    async with view.acting(Action.CREATE, CATEGORY, target_type=KEY):
        await readings.add(view, columns)
    message = str(_("The reading is saved."))
    if is_htmx(request):
        return await _page(request, view, notice=message)
    flash(request, message, "success")
    return see_other(f"/dossiers/{view.id}/measures")


ROUTES = [measures_page, record_reading]
