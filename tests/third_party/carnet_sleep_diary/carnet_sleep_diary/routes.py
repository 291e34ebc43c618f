"""The sleep diary's pages: what it is about, and a dossier's diary with the form that notes a
night (the whole page, or its panel for htmx)."""

from datetime import date
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from carnet_sleep_diary.tables import Night
from portal import crypto
from portal import gettext_lazy as _
from portal.access import public, signed_in
from portal.access.view import DossierView, open_dossier
from portal.audit import Action
from portal.web import flash, is_htmx, page_or_fragment, see_other, typed_date

CATEGORY = "sommeil"
FIELDS = ("night_of", "hours", "note")
NOTE_MAX = 500


@get("/sections/sleep_diary", guards=[public], sync_to_thread=False)
def about() -> Template:
    return Template("sleep_diary/about.html")


@get("/dossiers/{dossier_id:uuid}/sleep_diary", guards=[signed_in])
async def diary(request: Request, dossier_id: FromPath[UUID]) -> Template:
    """The section's page in a dossier: the core decides and traces, the plugin gets a view."""
    view = await open_dossier(request, dossier_id, target_type="sleep_diary")
    await view.require(Action.VIEW, CATEGORY, target_type="sleep_diary")
    return await _diary(request, view)


async def _diary(
    request: Request,
    view: DossierView,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    """The diary (for htmx, its panel): the nights, newest first, and the form to note one."""
    nights = await crypto.opened(
        view.id,
        Night,
        await Night.select()
        .where(Night.dossier == view.id)
        .order_by(Night.night_of, ascending=False),
    )
    context = {
        "view": view,
        "nights": nights,
        "writes": view.may(Action.CREATE, CATEGORY),
        "values": values or {"night_of": view.now.date().isoformat(), "hours": "", "note": ""},
        "errors": errors or {},
    }
    return page_or_fragment(
        request, "sleep_diary/diary.html", "sleep_diary/_nights.html", context, status
    )


def read_night(data: dict[str, Any], today: date) -> tuple[dict[str, Any], dict[str, str]]:
    """The night the form describes, and what is wrong with it."""
    errors = {}
    night_of = typed_date(str(data.get("night_of", "")))
    if night_of is None or night_of > today:
        errors["night_of"] = str(_("Give a night that is not to come, e.g. 14/03/2026."))
    hours = str(data.get("hours", "")).strip()
    if not hours.isdecimal() or int(hours) > 24:
        errors["hours"] = str(_("Give the hours slept, from 0 to 24."))
    note = str(data.get("note", "")).strip()
    if len(note) > NOTE_MAX:
        errors["note"] = str(_("Keep the note under %(count)s characters.") % {"count": NOTE_MAX})
    if errors:
        return {}, errors
    return {"night_of": night_of, "hours": int(hours), "note": note}, {}


@post("/dossiers/{dossier_id:uuid}/sleep_diary", guards=[signed_in])
async def add_night(
    request: Request, dossier_id: FromPath[UUID], data: URLEncodedBody[dict[str, Any]]
) -> Template | Redirect:
    """Note a night: the patient's side only (the section's category is theirs to write)."""
    view = await open_dossier(
        request, dossier_id, Action.CREATE, CATEGORY, target_type="sleep_diary"
    )
    night, errors = read_night(data, view.now.date())
    if errors:  # nothing saved; the diary is shown again, a reading traced as such
        await view.require(Action.VIEW, CATEGORY, target_type="sleep_diary")
        typed = {name: str(data.get(name, "")) for name in FIELDS}
        return await _diary(request, view, typed, errors, 400)
    # Decided again and traced in the transaction that writes: both happen, or neither.
    async with view.acting(Action.CREATE, CATEGORY, target_type="sleep_diary"):
        await crypto.insert(
            Night(
                dossier=view.id,
                author=view.actor.account_id,
                author_name=view.trace_actor.name,
                noted_at=view.now,
                **night,
            )
        )
    if is_htmx(request):
        return await _diary(request, view)
    flash(request, _("The night is noted."), "success")
    return see_other(f"/dossiers/{view.id}/sleep_diary")
