"""Logging in with the national identity providers: Pro Santé Connect for health
professionals, FranceConnect for patients, Carnet being an OpenID Connect relying party of each.

- `openid` — the protocol: the authentication request, the code exchange, every check of
  the ID token and userinfo (authlib and joserfc).
- `providers` — which providers there are, who may use each, Carnet's client at each.
- `pro_sante_connect` — a professional's RPPS number, profession and specialty from its
  claims (`pro_sante_connect.toml` maps the national codes).
- `identities` — whose account an identity is; linking, unlinking, opening a professional's
  account.
- `attempts` — a login on its way to the provider and back, bound to its browser.
- `routes` — the pages; `tables` — what is stored.
"""
