"""The doors of software access: the SMART metadata and Carnet's public key, the consent page,
the token, revocation and introspection endpoints, the identity endpoint, and the person's
list of the applications they authorized.

The endpoints software calls are cookieless (`portal.web.COOKIELESS`) and answer JSON; the
consent page is an ordinary page of a signed-in person (both login steps, CSRF token).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

from authlib.oauth2 import OAuth2Error
from litestar import Request, Response, Router, get, post
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from portal import clock, web
from portal.access import bearer_token, public, signed_in
from portal.access.facts import dossiers_of
from portal.i18n import gettext as _
from portal.identity import abuse, sessions
from portal.identity.tables import PERSON_ROLES, Role
from portal.oauth import bearer, grants, keys, scopes, store
from portal.oauth.server import read
from portal.web import COOKIELESS, flash, see_other

#: Who may let an application act for them: patients, their representatives, professionals of
#: care. Staff accounts never hand their access to software.
AUTHORIZING_ROLES = PERSON_ROLES | {Role.PROFESSIONAL}


#: Examples of what may be asked (any SMART v2 scope an application is registered for may be).
SCOPES_SUPPORTED = [
    "openid",
    "fhirUser",
    "launch/patient",
    "offline_access",
    "online_access",
    "user/*.crus",
    "user/*.rs",
    "user/DocumentReference.crs",
    "user/Patient.rs",
    "patient/*.rs",
    "patient/DocumentReference.crs",
    "system/DocumentReference.c",
]
#: SMART App Launch 2.x capabilities.
CAPABILITIES = [
    "launch-standalone",
    "client-public",
    "client-confidential-asymmetric",
    "context-standalone-patient",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v2",
    "sso-openid-connect",
]


def metadata(base_url: str) -> dict[str, Any]:
    """What software needs to know of Carnet's authorization server (SMART App Launch 2.x
    §"Conformance", with the OpenID Connect discovery fields)."""
    return {
        "issuer": base_url,
        "jwks_uri": f"{base_url}/oauth/jwks",
        "authorization_endpoint": f"{base_url}/oauth/authorize",
        "token_endpoint": f"{base_url}/oauth/token",
        "revocation_endpoint": f"{base_url}/oauth/revoke",
        "introspection_endpoint": f"{base_url}/oauth/introspect",
        "userinfo_endpoint": f"{base_url}/oauth/me",
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": list(grants.ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
        "introspection_endpoint_auth_methods_supported": ["private_key_jwt", "none"],
        "id_token_signing_alg_values_supported": [keys.ALGORITHM],
        "subject_types_supported": ["public"],
        "scopes_supported": SCOPES_SUPPORTED,
        "claims_supported": ["sub", "name", "given_name", "family_name", "fhirUser"],
        "capabilities": CAPABILITIES,
    }


@get("/.well-known/smart-configuration", guards=[public])
async def smart_configuration(request: Request) -> dict[str, Any]:
    return metadata(request.app.state.settings.base_url)


@get("/.well-known/openid-configuration", guards=[public])
async def openid_configuration(request: Request) -> dict[str, Any]:
    return metadata(request.app.state.settings.base_url)


@get("/oauth/jwks", guards=[public])
async def public_key_set(request: Request) -> dict[str, Any]:
    return keys.public_key_set(request.app.state.settings)


def _client_address(request: Request) -> str:
    return abuse.client_address(request, request.app.state.settings.trusted_proxies)


async def _read(request: Request, **context: Any):
    return await read(
        request,
        request.app.state.settings.base_url,
        client_address=_client_address(request),
        **context,
    )


async def _respond(request: Request, call: Callable[..., Response]) -> Response:
    """A token endpoint's answer: ``call`` (authlib's) with the request, or the error that
    reading the request met."""
    server = request.app.state.oauth_server
    try:
        oauth_request = await _read(request)
    except OAuth2Error as error:
        return server.handle_error_response(None, error)
    return await server.run(call, oauth_request)


@post("/oauth/token", guards=[public])
async def token(request: Request) -> Response:
    return await _respond(request, request.app.state.oauth_server.create_token_response)


@post("/oauth/revoke", guards=[public])
async def revoke(request: Request) -> Response:
    server = request.app.state.oauth_server
    return await _respond(request, partial(server.create_endpoint_response, "revocation"))


@post("/oauth/introspect", guards=[public])
async def introspect(request: Request) -> Response:
    server = request.app.state.oauth_server
    return await _respond(request, partial(server.create_endpoint_response, "introspection"))


@get("/oauth/me", guards=[bearer_token()])
async def identity(request: Request) -> dict[str, Any]:
    """Who a token acts for (an OpenID-style userinfo), or which backend service holds it and
    the professionals it may name."""
    token = bearer.software(request).token
    answer: dict[str, Any] = {
        "client_id": token.client_id,
        "client_name": token.client_name,
        "scope": token.scope,
        "expires_at": token.expires_at.isoformat(),
    }
    if token.dossier:
        answer["patient"] = str(token.dossier)
    person = token.person
    if person is not None:
        answer |= {
            "sub": str(person.account_id),
            "name": person.name,
            "role": person.role,
            "profession": person.profession,
            "fhirUser": grants.fhir_user(request.app.state.settings, person),
        }
    else:
        client = await store.find_client(token.client_id)
        answer["professionals"] = await store.members(client.id)
    return answer


#: The endpoints software calls: no cookie is read there, and errors answer JSON.
SOFTWARE_ROUTER = Router(
    path="/",
    route_handlers=[
        smart_configuration,
        openid_configuration,
        public_key_set,
        token,
        revoke,
        introspect,
        identity,
    ],
    opt={COOKIELESS: True},
    exception_handlers={HTTPException: bearer.error_response},
)


# --- the consent page ---------------------------------------------------------------------------

Form = URLEncodedBody[dict[str, Any]]


async def _consent_grant(
    request: Request, dossier_chosen: Any = None
) -> tuple[store.Person, list[dict], Any]:
    """The signed-in person, the dossiers they act for, and the authorization request as
    authlib validated it for them (its grant); `OAuth2Error` when it cannot be granted."""
    session = sessions.current(request)
    if session.role not in AUTHORIZING_ROLES:
        raise PermissionDeniedException(
            _("Applications act only for patients, their representatives and professionals.")
        )
    person = store.Person(
        account_id=session.account_id,
        role=session.role,
        first_name=session.first_name,
        last_name=session.last_name,
        login=session.login,
        profession=session.profession,
    )
    dossiers = await dossiers_of(session.account_id)
    oauth_request = await _read(
        request,
        auth_time=session.created_at,
        dossiers=dossiers,
        dossier=_chosen_dossier(dossier_chosen, dossiers),
    )
    server = request.app.state.oauth_server
    grant = await server.run(server.get_consent_grant, oauth_request, person)
    return person, dossiers, grant


@get("/oauth/authorize", guards=[signed_in])
async def authorization_page(request: Request) -> Template | Response:
    """What the application asks, in words, with accept and refuse."""
    try:
        _person, dossiers, grant = await _consent_grant(request)
    except OAuth2Error as error:
        return _authorization_error(request, error)
    return _consent_page(request, grant, dossiers)


def _consent_page(
    request: Request, grant, dossiers: list[dict], error: str = "", status: int = 200
) -> Template:
    web.allow_form_action(request, grant.redirect_uri)  # registered: authlib checked it
    scope = grant.request.scope
    choose = grants.about_one_patient(scope)
    patient = (
        f"{dossiers[0]['patient.first_name']} {dossiers[0]['patient.last_name']}"
        if len(dossiers) == 1
        else _("the patient you choose below")
    )
    lifetime = store.grant_lifetime(scope)
    refreshed = bool(scopes.REFRESH & set(scope.split()))
    return Template(
        "oauth/consent.html",
        context={
            "client": grant.client,
            "sentences": scopes.describe(scope, patient),
            "until": clock.now() + lifetime if refreshed else None,
            "minutes": int(lifetime.total_seconds() // 60),
            "parameters": [
                (name, value)
                for name, values in grant.request.payload.datalist.items()
                if name not in ("csrf_token", "decision", "dossier")
                for value in values
            ],
            "dossiers": dossiers if choose else [],
            "error": error,
        },
        status_code=status,
    )


def _authorization_error(request: Request, error: OAuth2Error) -> Template | Response:
    """Back to the application with the error when its address is known and registered
    (RFC 6749 §4.1.2.1); otherwise a page for the person, and nowhere to be sent."""
    if error.redirect_uri:
        return request.app.state.oauth_server.handle_error_response(None, error)
    return Template(
        "oauth/authorization_error.html",
        context={"error": error.error, "description": error.description or ""},
        status_code=400,
    )


@post("/oauth/authorize", guards=[signed_in])
async def authorization_decision(request: Request, data: Form) -> Template | Response:
    """The person's answer: a code sent back to the application, or ``access_denied``."""
    try:
        person, dossiers, grant = await _consent_grant(request, data.get("dossier"))
    except OAuth2Error as error:
        return _authorization_error(request, error)
    accepted = data.get("decision") == "accept"
    if (
        accepted
        and grant.request.context["dossier"] is None
        and grants.about_one_patient(grant.request.scope)
    ):
        return _consent_page(
            request, grant, dossiers, _("Choose the record the application may use."), 400
        )
    server = request.app.state.oauth_server
    return await server.run(
        server.create_authorization_response,
        grant.request,
        person if accepted else None,
        grant,
    )


def _chosen_dossier(value: Any, dossiers: list[dict]) -> UUID | None:
    """The dossier picked on the consent page, if it is one the person acts for."""
    mine = {str(row["id"]): row["id"] for row in dossiers}
    if len(mine) == 1 and not value:
        return next(iter(mine.values()))
    return mine.get(str(value or ""))


# --- the person's applications ------------------------------------------------------------------


@get("/account/applications", guards=[signed_in])
async def applications(request: Request) -> Template:
    rows = await store.applications_of(sessions.current(request).account_id)
    return Template("oauth/applications.html", context={"applications": rows})


@post("/account/applications/{client_id:str}/revoke", guards=[signed_in])
async def revoke_application(request: Request, client_id: FromPath[str]) -> Redirect:
    revoked = await store.revoke_application(
        sessions.current(request).account_id, client_id, _client_address(request)
    )
    if not revoked:
        raise NotFoundException()
    flash(request, _("The application no longer has access: its tokens are revoked."), "success")
    return see_other("/account/applications")


ROUTES = [
    SOFTWARE_ROUTER,
    authorization_page,
    authorization_decision,
    applications,
    revoke_application,
]
