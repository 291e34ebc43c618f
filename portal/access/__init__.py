"""Who may see and do what: every access decision of the portal is made in this package.

Each route states its rule with one of the guards below (Litestar's ``guards=[...]``). The
portal refuses to start when a plugin registers a route that states none: deny by default.
"""

from portal.access.guards import CORE_GUARDS, public

__all__ = ["CORE_GUARDS", "public"]
