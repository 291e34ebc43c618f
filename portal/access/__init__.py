"""Who may see and do what: every access decision of the portal is made in this package.

Each route states its rule with one of the guards below (Litestar's ``guards=[...]``). The
portal refuses to start when a route states none: deny by default.
"""

from portal.access.guards import (
    LoginRequired,
    administrators,
    development_only,
    is_core_guard,
    public,
    role_in,
    signed_in,
)

__all__ = [
    "LoginRequired",
    "administrators",
    "development_only",
    "is_core_guard",
    "public",
    "role_in",
    "signed_in",
]
