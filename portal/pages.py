"""The core's public pages: home, health check and the language switch."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from portal import i18n
from portal.access import public
from portal.db import Database, DatabaseUnavailable
from portal.i18n import gettext as _
from portal.web import flash, local_path, see_other


@get("/", guards=[public], sync_to_thread=False)
def home(request: Request) -> Template:
    """What Carnet is, for someone who has never heard of it."""
    return Template("home.html", context={"sections": request.app.state.plugins.sections})


@get("/health", guards=[public], opt={"skip_compression": True})
async def health(request: Request) -> Response[dict[str, str]]:
    """For load balancers and monitoring: 200 when the database answers, 503 when it does not."""
    database: Database = request.app.state.database
    try:
        await database.ping()
    except DatabaseUnavailable:
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return Response({"status": "ok", "database": "ok"})


@post("/language", guards=[public], status_code=HTTP_303_SEE_OTHER)
async def switch_language(
    request: Request,
    data: URLEncodedBody[dict[str, Any]],
) -> Redirect:
    """The visible language switch: remembered in a cookie, then back to the page it came from."""
    language = str(data.get("language", ""))
    target = local_path(str(data.get("next", "/")))
    if language not in i18n.LANGUAGE_NAMES:
        flash(request, _("This language is not available."), "error")
        return see_other(target)
    token = i18n.set_language(language)  # confirm in the language just chosen
    try:
        flash(request, _("Language changed."), "success")
    finally:
        i18n.reset_language(token)
    redirect = see_other(target)
    redirect.set_cookie(
        i18n.LANGUAGE_COOKIE,
        language,
        max_age=365 * 24 * 3600,
        path="/",
        samesite="lax",
        httponly=True,
        secure=request.app.state.settings.cookie_secure,
    )
    return redirect
