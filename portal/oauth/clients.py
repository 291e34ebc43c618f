"""Registering client applications (the administrator's business): what a registration must
hold to be accepted, and suspending, resuming and deleting one.

A vendor sends the administrator its software's name, its redirect URIs (an app) or its
public keys (a backend service, or an app that authenticates), and the scopes it needs; a
hospital or laboratory also lists the professionals (RPPS numbers) its system acts for.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from portal import clock, db
from portal.echo import shown_back
from portal.i18n import gettext as _
from portal.identity.accounts import FormErrors
from portal.identity.numbers import InvalidNumber, validate_rpps
from portal.identity.tables import Professional
from portal.oauth import scopes
from portal.oauth.tables import ClientKind, ClientProfessional, OAuthClient

CLIENT_ID = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
NAME_LIMIT = 120
JWKS_LIMIT = 20000
#: JWK members that only a private key has: a key set holding one is refused.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})


@dataclass
class NewClient:
    name: str
    kind: str
    client_id: str = ""  # empty: made from the name
    redirect_uris: str = ""  # one per line
    jwks: str = ""
    jwks_uri: str = ""
    scope: str = ""
    professionals: str = ""  # RPPS numbers, one per line (a backend service)


async def register(new: NewClient, *, production: bool) -> UUID:
    """Check a registration and store it; `FormErrors` by field when it cannot be accepted.
    In ``production`` every address must be ``https://`` (loopback addresses aside, which
    only an application on the person's own computer listens on)."""
    errors: dict[str, str] = {}
    name = new.name.strip()
    if not name or len(name) > NAME_LIMIT:
        errors["name"] = _("Give the name people will see, at most 120 characters.")
    if new.kind not in set(ClientKind):
        errors["kind"] = _("Choose the kind of software.")
    client_id = new.client_id.strip().lower() or _client_id_from(name)
    if not CLIENT_ID.fullmatch(client_id):
        errors["client_id"] = _("3 to 64 lowercase letters, digits, dots, hyphens or underscores.")
    elif await OAuthClient.exists().where(OAuthClient.client_id == client_id):
        errors["client_id"] = _("Another application already uses this identifier.")
    redirect_uris = new.redirect_uris.split()
    jwks, jwks_uri = new.jwks.strip(), new.jwks_uri.strip()
    system = new.kind == ClientKind.SYSTEM
    if system and redirect_uris:
        errors["redirect_uris"] = _("A backend service has no redirect URI.")
    elif not system and not redirect_uris:
        errors["redirect_uris"] = _("Give at least one redirect URI.")
    elif not all(_acceptable_address(uri, production) for uri in redirect_uris):
        errors["redirect_uris"] = _(
            "Each redirect URI must be a complete https:// address without a fragment "
            "(http:// only on 127.0.0.1 or localhost)."
        )
    if jwks and jwks_uri:
        errors["jwks"] = _("Give the key set or its address, not both.")
    elif system and not (jwks or jwks_uri):
        errors["jwks"] = _("A backend service authenticates with its keys: give its key set.")
    elif jwks and not _public_key_set(jwks):
        errors["jwks"] = _("This is not a JSON Web Key Set of public keys.")
    elif jwks_uri and not _acceptable_address(jwks_uri, production):
        errors["jwks_uri"] = _("The key set's address must be a complete https:// address.")
    try:
        requested = scopes.resource_scopes(new.scope)
    except scopes.InvalidScope as problem:
        errors["scope"] = _("Unknown or malformed scope: %(problem)s") % {"problem": problem}
    else:
        contexts = {scope.context for scope in requested}
        if system:
            fitting = contexts == {"system"} and len(requested) == len(new.scope.split())
        else:
            fitting = bool(new.scope.split()) and "system" not in contexts
        if not fitting:
            errors["scope"] = _(
                "Give the scopes it may be granted: system/….c ones only for a backend "
                "service, none of those for an application."
            )
    members = await _members(new.professionals.split(), errors) if system else []
    if errors:
        raise FormErrors(errors)
    async with db.current().write_transaction():
        client = OAuthClient(
            client_id=client_id,
            name=name,
            kind=new.kind,
            redirect_uris="\n".join(redirect_uris),
            jwks=jwks,
            jwks_uri=jwks_uri,
            scopes=" ".join(scopes.split(new.scope)),
            created_at=clock.now(),
        )
        await client.save()
        for account in members:
            await ClientProfessional.insert(
                ClientProfessional(client=client.id, professional=account)
            )
    return client.id


def _client_id_from(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower().encode("ascii", "ignore").decode()).strip("-")
    return f"{slug[:50] or 'app'}-{secrets.token_hex(3)}"


def _acceptable_address(uri: str, production: bool) -> bool:
    parts = urlsplit(uri)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    secure = parts.scheme == "https" or (parts.scheme == "http" and (loopback or not production))
    return secure and bool(parts.hostname) and not parts.fragment and len(uri) <= 500


def _public_key_set(text: str) -> bool:
    if len(text) > JWKS_LIMIT:
        return False
    try:
        data = json.loads(text)
        KeySet.import_key_set(data)
    except (ValueError, TypeError, JoseError):
        return False
    keys = data.get("keys") if isinstance(data, dict) else None
    return bool(keys) and not any(PRIVATE_MEMBERS & set(key) for key in keys)


async def _members(numbers: list[str], errors: dict[str, str]) -> list[UUID]:
    """The accounts of the professionals whose RPPS numbers are listed."""
    accounts = []
    for number in dict.fromkeys(numbers):
        try:
            rpps = validate_rpps(number)
        except InvalidNumber as problem:
            errors["professionals"] = f"{shown_back(number)}: {problem}"
            return []
        row = (
            await Professional.select(Professional.account).where(Professional.rpps == rpps).first()
        )
        if row is None:
            errors["professionals"] = _("No professional has the RPPS number %(rpps)s.") % {
                "rpps": rpps
            }
            return []
        accounts.append(row["account"])
    return accounts


async def all_clients() -> list[dict]:
    return await OAuthClient.select().order_by(OAuthClient.name)


async def set_suspended(client_id: UUID, suspended: bool) -> bool:
    """Suspend a client (refused everything, its live tokens included, at once) or resume
    it; False when there is no such client."""
    changed = (
        await OAuthClient.update({OAuthClient.suspended_at: clock.now() if suspended else None})
        .where(OAuthClient.id == client_id)
        .returning(OAuthClient.id)
    )
    return bool(changed)


async def delete(client_id: UUID) -> bool:
    """Delete a client with its grants and tokens; the audit trail keeps its name in the
    events it made."""
    deleted = (
        await OAuthClient.delete().where(OAuthClient.id == client_id).returning(OAuthClient.id)
    )
    return bool(deleted)
