"""Software access: OAuth 2.0 following SMART App Launch 2.x and SMART Backend Services, so
that practice software, hospital systems and patients' apps act for a person, never beyond
what that person may do by hand (docs/software-access.md).

- ``server.py``: authlib's framework-agnostic server and resource protector, adapted to Litestar.
- ``grants.py``: the grants and endpoints Carnet serves, held to RFC 9700.
- ``store.py``: clients, grants, codes and tokens in the database (digests of secrets only).
- ``scopes.py``: SMART v2 scopes, in words for the consent page, and how far they reach.
- ``bearer.py``: a request made with a token (the work of ``portal.access.bearer_token``).
- ``clients.py``, ``admin.py``: registering client applications; ``routes.py``: the endpoints,
  the consent page and the person's authorized applications; ``keys.py``: Carnet's signing
  key; ``demo.py``: the demo's two clients.
"""
