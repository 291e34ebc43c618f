"""Who may see and do what: every access decision of the portal is made in this package.

- ``guards.py``: each route states who may use it (Litestar's ``guards=[...]``); the portal
  refuses to start when a route states none.
- ``matrix.toml`` / ``matrix.py``: which professions read and write each category (data).
- ``policy.py``: ``decide()``, the one pure function that applies ACCESS.md to the facts.
- ``facts.py``: those facts, loaded fresh for every request.
- ``view.py``: ``open_dossier()`` and the ``DossierView`` every page about a dossier works
  from; each decision is traced in the audit trail.
- ``controls.py``: every change of rights (care circle, blocks, masks, médecin traitant,
  opt-outs, declared consent, emergency and SAMU access).
- ``routes.py``, ``professional_routes.py``, ``banner.py``: the pages for all that.

Deny by default: what no rule allows is refused.
"""

from portal.access.guards import (
    LoginRequired,
    administrators,
    bearer_token,
    development_only,
    is_core_guard,
    public,
    role_in,
    signed_in,
)

__all__ = [
    "LoginRequired",
    "administrators",
    "bearer_token",
    "development_only",
    "is_core_guard",
    "public",
    "role_in",
    "signed_in",
]
