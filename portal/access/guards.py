"""The guards routes declare. A route without one of these is refused at start-up."""

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler


async def public(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Anyone may open this page: it holds no personal data (home page, help, health)."""


CORE_GUARDS = frozenset({public})
