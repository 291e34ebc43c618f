"""The banner that stays on every page while a professional's session holds an emergency or
SAMU access (ACCESS.md): which records it opens, and until when."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from portal import clock
from portal.access.facts import active_grants
from portal.web import NOT_FOR_STATIC


class EmergencyBannerMiddleware(ASGIMiddleware):
    """Put the session's emergency accesses in ``request.state["emergency_grants"]``: looked
    for in a session opened for one (every emergency or SAMU access opens a new session), an
    empty list for any other."""

    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = NOT_FOR_STATIC

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        session = scope["state"].get("session")
        grants = []
        if session is not None and session.signed_in and session.emergency:
            grants = await active_grants(session.id, clock.now())
        scope["state"]["emergency_grants"] = grants
        await next_app(scope, receive, send)
