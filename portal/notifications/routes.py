"""The notification centre: what happened, newest first; the count of unread ones is in the
navigation of every page."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Template

from portal.access import signed_in
from portal.identity import sessions
from portal.notifications import service
from portal.web import see_other


@get("/notifications", guards=[signed_in])
async def centre(request: Request) -> Template:
    account_id = sessions.current(request).account_id
    return Template(
        "notifications/centre.html",
        context={"notifications": await service.latest(account_id)},
    )


@post("/notifications/read", guards=[signed_in])
async def mark_read(request: Request) -> Redirect:
    await service.mark_all_read(sessions.current(request).account_id)
    return see_other("/notifications")


ROUTES = [centre, mark_read]
