"""Requests made by software with an access token (RFC 6750).

A route for software is guarded by ``portal.access.bearer_token("DocumentReference.c", …)``
(the SMART permissions it needs, on the resources it touches) and marked cookieless
(``opt={portal.web.COOKIELESS: True}``: no cookie, no session, no CSRF token there). The guard
checks the token on every request against the database, so a revoked grant, a suspended
client or a disabled account is refused on the very next request, then:

- for a token acting for a person, puts that person in the request exactly where a signed-in
  browser's session is (`portal.identity.sessions.current`), with the application's name and
  its `Reach`: `portal.access.view` then decides and traces as for that person, held to the
  token's scopes, and every event names the application;
- for a backend service's token, puts nobody there: the route calls `acting_professional`
  with the professional the request names (the author of what it deposits), who must belong
  to the system; the service then acts as them, for writing only.

Refusals answer RFC 6750 errors: 401 with ``WWW-Authenticate`` for a missing, unknown,
expired or revoked token, 403 ``insufficient_scope`` for a token whose scopes do not cover the
route. A refused token that names a person, on a route about a dossier (a ``dossier_id`` path
parameter), is traced in that dossier's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from uuid import UUID

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import MissingAuthorizationError, UnsupportedTokenTypeError
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError, InvalidTokenError
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, PermissionDeniedException, ValidationException

from portal import audit, web
from portal.access.policy import Reach
from portal.audit import Action, Outcome
from portal.dossiers.tables import Dossier
from portal.i18n import gettext as _
from portal.identity import abuse
from portal.identity.numbers import InvalidNumber, validate_rpps
from portal.identity.sessions import CurrentSession, Stage
from portal.identity.tables import Professional, Role
from portal.oauth import scopes, store
from portal.oauth.scopes import Requirement
from portal.oauth.server import ResourceProtector
from portal.oauth.tables import ClientKind

REALM = "Carnet"


@dataclass(frozen=True)
class Software:
    """The token a request was made with, and how far it reaches on this route."""

    token: store.Bearer
    reach: Reach


class Validator(BearerTokenValidator):
    """A token acts while it is known, unexpired and not ended, for the routes its scopes
    cover (`portal.oauth.scopes.reach`)."""

    def validate_token(
        self, token: store.Bearer | None, requirements: tuple[Requirement, ...], request: Any
    ) -> None:
        if token is None:
            raise InvalidTokenError(description="The access token is unknown.", realm=REALM)
        if token.is_revoked():
            raise InvalidTokenError(
                description=f"The access token no longer acts ({token.ended}).", realm=REALM
            )
        if token.is_expired():
            raise InvalidTokenError(description="The access token has expired.", realm=REALM)
        if scopes.reach(token.scope, requirements, token.dossier) is None:
            raise InsufficientScopeError(
                description=f"This needs the scope {' '.join(map(str, requirements))}."
            )


async def _refused(
    connection: ASGIConnection,
    token: store.Bearer | None,
    requirements: tuple[Requirement, ...],
    error: OAuth2Error,
) -> None:
    """Trace the refusal of a person's token on a route about one of the dossiers, unless the
    token merely expired (applications then refresh it: that is not news for the patient)."""
    if token is None or token.person is None or (token.is_expired() and not token.ended):
        return
    dossier_id = connection.path_params.get("dossier_id")
    if not isinstance(dossier_id, UUID) or not await Dossier.exists().where(
        Dossier.id == dossier_id
    ):
        return
    writes = all(set(requirement.permissions) <= {"c", "u"} for requirement in requirements)
    await audit.record(
        Action.CREATE if writes else Action.VIEW,
        token.person.audit_actor(token.client_name),
        outcome=Outcome.REFUSED,
        dossier_id=dossier_id,
        target_type="dossier",
        target_id=str(dossier_id),
        reason=f"access token: {token.ended or 'outside the application scopes'}",
        client_address=abuse.client_address(
            Request(connection.scope), connection.app.state.settings.trusted_proxies
        ),
    )


_protector = ResourceProtector(store.find_bearer, _refused)
_protector.register_token_validator(Validator(realm=REALM))


class BearerRefusal(HTTPException):
    """An RFC 6750 refusal, with its ``WWW-Authenticate`` challenge."""

    def __init__(self, error: OAuth2Error, requirements: tuple[Requirement, ...]):
        if isinstance(error, MissingAuthorizationError | UnsupportedTokenTypeError):
            # No token at all: the challenge names no error (RFC 6750 §3.1).
            code, description = "invalid_request", "An access token is required."
            challenge = f'Bearer realm="{REALM}"'
        else:
            code, description = error.error, error.description
            challenge = f'Bearer realm="{REALM}", error="{code}"'
            if isinstance(error, InsufficientScopeError):
                challenge += f', scope="{" ".join(_scopes_for(requirements))}"'
        super().__init__(
            status_code=error.status_code,
            detail=description,
            headers={"www-authenticate": challenge},
        )
        self.error = code


def _scopes_for(requirements: tuple[Requirement, ...]) -> list[str]:
    """The scopes that would do, in the contexts a person's application is granted."""
    return [
        f"{context}/{requirement}"
        for requirement in requirements
        for context in ("user", "patient")
    ]


async def authenticate(connection: ASGIConnection, requirements: tuple[Requirement, ...]) -> None:
    """The guard of routes for software (see `portal.access.guards.bearer_token`)."""
    try:
        token = await _protector.acquire(connection, requirements)
    except OAuth2Error as error:
        raise BearerRefusal(error, requirements) from None
    reach = scopes.reach(token.scope, requirements, token.dossier)
    state = connection.scope["state"]
    state["software"] = Software(token, reach)
    state["session"] = _session(token.person, token, reach) if token.person else None


def _session(person: store.Person, token: store.Bearer, reach: Reach) -> CurrentSession:
    """The person a token acts for, as a signed-in browser's session presents them."""
    return CurrentSession(
        id=token.id,
        stage=Stage.SIGNED_IN,
        account_id=person.account_id,
        role=Role(person.role),
        first_name=person.first_name,
        last_name=person.last_name,
        login=person.login,
        created_at=token.issued_at,
        profession=person.profession,
        via=token.client_name,
        reach=reach,
    )


def software(request: Request) -> Software:
    """The token of a request that passed `authenticate`."""
    return request.scope["state"]["software"]


async def acting_professional(request: Request, rpps: str) -> CurrentSession:
    """The professional a request for software acts as, who authors what it deposits.

    With a person's token, that person (naming someone else is refused). With a backend
    service's token, the professional of RPPS number ``rpps``, who must belong to the system
    (403 otherwise): from then on the request is theirs, made through the system, which may
    only write. The answer is also the request's session for `portal.access.view`.
    """
    current = software(request)
    session = request.scope["state"]["session"]
    if current.token.kind != ClientKind.SYSTEM:
        person = current.token.person
        if session is None or (rpps and rpps != await _rpps_of(person.account_id)):
            raise PermissionDeniedException(_("The author must be the person the token acts for."))
        return session
    try:
        rpps = validate_rpps(rpps)
    except InvalidNumber as problem:
        message = _("The author's RPPS number: %(problem)s") % {"problem": problem}
        raise ValidationException(message) from None
    client = await store.find_client(current.token.client_id)
    member = await store.professional_of(client, rpps) if client else None
    if member is None:
        raise PermissionDeniedException(
            _("This professional does not belong to the system, or their account is disabled.")
        )
    writing_only = Reach(current.reach.actions - scopes.ACTIONS["r"], current.reach.dossier)
    session = _session(member, current.token, writing_only)
    request.scope["state"]["session"] = session
    return session


async def _rpps_of(account_id: UUID) -> str:
    row = (
        await Professional.select(Professional.rpps)
        .where(Professional.account == account_id)
        .first()
    )
    return row["rpps"] if row else ""


def error_response(request: Request, exc: Exception) -> Response:
    """Errors on the routes for software, as JSON (``error``, ``error_description``); what is
    not a refusal (a failure of ours, the database down) answers as everywhere else."""
    if not isinstance(exc, HTTPException) or exc.status_code >= 500:
        return web.error_response(request, exc)
    status = exc.status_code
    code = getattr(exc, "error", "") or HTTPStatus(status).phrase.lower().replace(" ", "_")
    description = exc.detail if exc.detail != HTTPStatus(status).phrase else ""
    return Response(
        {"error": code, "error_description": str(description)},
        status_code=status,
        headers=exc.headers or {},
    )
