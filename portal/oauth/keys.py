"""Carnet's own signing key: it signs the ID tokens given to software, and its public half is
published at ``/oauth/jwks`` so that anyone can check them (``CARNET_OAUTH_KEY``, or in
development a key generated into the data directory the first time it is needed)."""

from __future__ import annotations

import functools
from pathlib import Path

from joserfc.jwk import RSAKey

from portal.settings import Settings, generated_oauth_key

#: RS256: the algorithm every OpenID Connect client supports.
ALGORITHM = "RS256"


def signing_key(settings: Settings) -> RSAKey:
    return _key(settings.oauth_key, settings.data_dir)


@functools.cache
def _key(configured: str, data_dir: Path) -> RSAKey:
    pem = configured or generated_oauth_key(data_dir)
    key = RSAKey.import_key(pem, {"use": "sig", "alg": ALGORITHM})
    key.ensure_kid()
    return key


def public_key_set(settings: Settings) -> dict:
    """The JSON Web Key Set of the public key."""
    return {"keys": [signing_key(settings).as_dict(private=False)]}
