"""The guards routes declare (Litestar's ``guards=[...]``). A route carrying none of them is
refused at start-up: every page says who may use it."""

from __future__ import annotations

from collections.abc import Callable

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from portal.identity.tables import Role
from portal.oauth.scopes import Requirement

Guard = Callable[[ASGIConnection, BaseRouteHandler], object]


class LoginRequired(NotAuthorizedException):
    """No signed-in session: the person is sent to the login page, then back."""


def core_guard(guard: Guard) -> Guard:
    """Mark a guard as one of the portal's own (only those satisfy the start-up check)."""
    guard.carnet_guard = True
    return guard


def is_core_guard(guard: object) -> bool:
    return getattr(guard, "carnet_guard", False) is True


@core_guard
async def public(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Anyone may open this page: it holds no personal data (home page, help, health)."""


@core_guard
async def signed_in(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Only a person who has completed both login steps."""
    session = connection.scope["state"].get("session")
    if session is None or not session.signed_in:
        raise LoginRequired()


def role_in(*roles: Role) -> Guard:
    """Only a signed-in person holding one of ``roles``."""

    @core_guard
    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        await signed_in(connection, handler)
        if connection.scope["state"]["session"].role not in roles:
            raise PermissionDeniedException()

    guard.__name__ = guard.__qualname__ = f"role_in({', '.join(roles)})"
    return guard


administrators = role_in(Role.ADMINISTRATOR)


@core_guard
async def development_only(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Development tools (the outbox): they do not exist outside ``CARNET_ENV=dev``."""
    if connection.app.state.settings.env != "dev":
        raise NotFoundException()


def bearer_token(*scopes: str) -> Guard:
    """Only software, with an access token whose SMART scopes cover ``scopes`` (each
    ``Resource.permissions``, e.g. ``DocumentReference.c``; none: any valid token). The
    request then acts as the token's person (`portal.oauth.bearer`). The route must be
    cookieless (``opt={portal.web.COOKIELESS: True}``); the portal refuses to start otherwise."""
    requirements = tuple(Requirement.parse(text) for text in scopes)

    @core_guard
    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        # Imported here: portal.oauth.bearer needs portal.web, which needs this module.
        from portal.oauth.bearer import authenticate

        await authenticate(connection, requirements)

    guard.__name__ = guard.__qualname__ = f"bearer_token({', '.join(scopes)})"
    guard.needs_cookieless = True
    return guard
