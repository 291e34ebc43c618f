"""Carnet's authorization server: authlib's grants and endpoints, held to SMART App Launch 2.x,
SMART Backend Services and RFC 9700, their storage hooks wired to `portal.oauth.store`.

- Authorization code (apps acting for a person): PKCE with S256, always; exact redirect
  URIs; an ID token for ``openid``; a refresh token only for ``offline_access`` or
  ``online_access``, rotated at every use.
- Client credentials (backend services): ``private_key_jwt`` only, ``system/….c`` scopes.
- Client authentication: none (a public app) or ``private_key_jwt`` (RFC 7523: the client
  signs an assertion with its key; Carnet checks it with the key set the administrator
  registered, or fetched from its registered URL). No shared secrets.
- Revocation (RFC 7009) and introspection (RFC 7662), for the client the token belongs to.

The hooks run in authlib's worker thread (`portal.oauth.server`) and reach the database
with `blocking`. What authlib cannot know of the request (the client's address, when the
person logged in, the dossiers they act for) travels in the request's ``context``.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, ClassVar

import httpx2
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode as _OpenIDCode
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from portal.identity.tables import PERSON_ROLES, PROFESSIONAL_ROLES
from portal.oauth import keys, scopes, store
from portal.oauth.server import AuthorizationServer, LitestarOAuth2Request, blocking
from portal.oauth.store import Client, Person
from portal.settings import Settings

#: SMART Backend Services: clients sign with RS384 or ES384; RS256 and ES256 are accepted too.
ASSERTION_ALGORITHMS = ("RS384", "ES384", "RS256", "ES256", "PS384", "PS256")
#: SMART: an assertion expires at most five minutes after it is made.
ASSERTION_MAX_LIFETIME = 300
#: Clock skew tolerated on an assertion's times, in seconds.
LEEWAY = 30
#: Beyond this, an assertion is refused before it is parsed (a few hundred bytes is usual).
MAX_ASSERTION_LENGTH = 8192
#: A registered JWKS URL: how long to wait, and how much to read.
JWKS_TIMEOUT = 5
MAX_JWKS_BYTES = 65536
#: The token endpoint's authentication methods for every client (`Client.check_endpoint_auth_method`
#: then accepts the one its registration allows).
AUTH_METHODS = ["none", "private_key_jwt"]


class CarnetAuthorizationServer(AuthorizationServer):
    def __init__(self, settings: Settings):
        super().__init__(scopes_supported=None)
        self.settings = settings
        self.token_endpoint = f"{settings.base_url}/oauth/token"

    def query_client(self, client_id: str) -> Client | None:
        client = blocking(store.find_client, client_id)
        if client is not None and client.suspended:
            raise InvalidClientError(description="This client is suspended.")
        return client

    def validate_requested_scope(self, scope: str | None) -> None:
        try:
            scopes.split(scope)
        except scopes.InvalidScope as problem:
            raise InvalidScopeError(description=str(problem)) from None

    def save_token(self, token: dict, request: LitestarOAuth2Request) -> None:
        issued_under = request.authorization_code or request.refresh_token
        blocking(
            store.save_token,
            token,
            request.client,
            grant_id=issued_under.grant_id if issued_under else None,
            refresh_expires_at=issued_under.grant_expires_at if issued_under else None,
        )


class TokenGenerator(BearerTokenGenerator):
    """Random 256-bit tokens; access tokens live `store.ACCESS_TOKEN_LIFETIME`; a refresh
    token only when the scope asks for one."""

    def __init__(self) -> None:
        super().__init__(
            _random_token,
            _random_token,
            int(store.ACCESS_TOKEN_LIFETIME.total_seconds()),
        )

    def generate(self, grant_type: str, client: Client, user=None, scope=None, **options: Any):
        scope = self.get_allowed_scope(client, scope)
        options["include_refresh_token"] = options.get("include_refresh_token", True) and bool(
            scopes.REFRESH & set(scope.split())
        )
        return super().generate(grant_type, client, user=user, scope=scope, **options)


def _random_token(*args: Any, **kwargs: Any) -> str:
    return secrets.token_urlsafe(32)


class PrivateKeyJWT(JWTBearerClientAssertion):
    """RFC 7523 client authentication, as SMART Backend Services profiles it."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, token_endpoint: str):
        super().__init__(validate_jti=True, leeway=LEEWAY)
        self.token_endpoint = token_endpoint

    def __call__(self, query_client, request: LitestarOAuth2Request):
        if len(request.form.get("client_assertion", "")) > MAX_ASSERTION_LENGTH:
            raise InvalidClientError(description="The client assertion is too large.")
        return super().__call__(query_client, request)

    def get_audiences(self) -> list[str]:
        return [self.token_endpoint]  # Carnet's token endpoint, and nothing else

    def process_assertion_claims(self, assertion: str, resolve_key) -> dict:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=list(ASSERTION_ALGORITHMS))
        except (JoseError, ValueError) as error:
            raise InvalidClientError(
                description="The client assertion is not signed by the client's key."
            ) from error
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: jwt.Claims) -> None:
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp > time.time() + ASSERTION_MAX_LIFETIME + LEEWAY:
            raise InvalidClientError(
                description="The client assertion must expire within five minutes."
            )
        super().verify_claims(claims)

    def validate_jti(self, claims: dict, jti: Any) -> bool:
        if not isinstance(jti, str) or not 0 < len(jti) <= 255:
            raise InvalidClientError(description="Invalid claim: 'jti'.")
        return blocking(store.first_unseen_assertion, claims["sub"], jti)

    def resolve_client_public_key(self, client: Client) -> KeySet:
        if client.jwks:
            return KeySet.import_key_set(store.public_keys(client))
        return KeySet.import_key_set(_fetch_key_set(client.jwks_uri))


def _fetch_key_set(url: str) -> dict:
    """A client's key set from the URL it registered (from authlib's worker thread)."""
    try:
        with httpx2.stream("GET", url, timeout=JWKS_TIMEOUT, follow_redirects=False) as answer:
            answer.raise_for_status()
            body = b""
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError("key set too large")
        key_set = json.loads(body)
    except (httpx2.HTTPError, ValueError) as error:
        raise InvalidClientError(
            description="The client's key set could not be fetched."
        ) from error
    if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
        raise InvalidClientError(description="The client's key set is not a JWKS.")
    return key_set


class S256CodeChallenge(CodeChallenge):
    """PKCE on every authorization, with S256 only (a plain challenge is the verifier itself)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send a code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is accepted.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_authorization_request(self) -> str:
        """authlib's checks, then the scopes narrowed to what this person may grant."""
        redirect_uri = super().validate_authorization_request()
        request = self.request
        audience = request.payload.data.get("aud")
        if audience and audience.rstrip("/") != f"{self.server.settings.base_url}/fhir":
            raise InvalidRequestError(
                "aud must be Carnet's FHIR base URL.",
                redirect_uri=redirect_uri,
                state=request.payload.state,
            )
        granted = grantable(request.scope, request.user, request.context["dossiers"])
        if not granted:
            raise InvalidScopeError(
                description="Nothing asked can be granted by this person.",
                redirect_uri=redirect_uri,
                state=request.payload.state,
            )
        request.scope = granted
        return redirect_uri

    def save_authorization_code(self, code: str, request: LitestarOAuth2Request) -> None:
        context = request.context
        blocking(
            store.save_code,
            code,
            request.client,
            request.user,
            scope=request.scope,
            redirect_uri=request.payload.redirect_uri,
            code_challenge=request.payload.data["code_challenge"],
            nonce=request.payload.data.get("nonce", ""),
            auth_time=context["auth_time"],
            dossier=context["dossier"] if about_one_patient(request.scope) else None,
            client_address=context["client_address"],
        )

    def query_authorization_code(self, code: str, client: Client) -> store.Code | None:
        return blocking(store.use_code, code, client, self.request.context["client_address"])

    def delete_authorization_code(self, authorization_code: store.Code) -> None:
        """Nothing to do: `store.use_code` used it up."""

    def authenticate_user(self, authorization_code: store.Code) -> Person:
        return authorization_code.person

    def create_token_response(self):
        return _with_patient(super().create_token_response(), self.request.authorization_code)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: every refresh token is used once

    def authenticate_refresh_token(self, refresh_token: str) -> store.IssuedToken | None:
        return blocking(
            store.use_refresh_token,
            refresh_token,
            self.request.client,
            self.request.context["client_address"],
        )

    def authenticate_user(self, refresh_token: store.IssuedToken) -> Person | None:
        return refresh_token.person

    def revoke_old_credential(self, refresh_token: store.IssuedToken) -> None:
        """Nothing to do: `store.use_refresh_token` used it up."""

    def create_token_response(self):
        return _with_patient(super().create_token_response(), self.request.refresh_token)


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar = ["private_key_jwt"]


def _with_patient(response: tuple, issued_under: Any) -> tuple:
    """SMART's launch context: the dossier of the grant's ``patient/`` scopes."""
    status, token, headers = response
    if issued_under.dossier is not None:
        token["patient"] = str(issued_under.dossier)
    return status, token, headers


class OpenIDCode(_OpenIDCode):
    """An ID token (signed with Carnet's key) when ``openid`` is granted."""

    def __init__(self, settings: Settings):
        super().__init__(require_nonce=False)
        self.settings = settings

    def exists_nonce(self, nonce: str, request: LitestarOAuth2Request) -> bool:
        return blocking(store.nonce_used, request.payload.client_id, nonce)

    def resolve_client_private_key(self, client: Client):
        return keys.signing_key(self.settings)

    def get_client_algorithm(self, client: Client) -> str:
        return keys.ALGORITHM

    def get_encode_header(self, client: Client) -> dict:
        return {"alg": keys.ALGORITHM, "kid": keys.signing_key(self.settings).kid}

    def get_client_claims(self, client: Client) -> dict:
        # JWT times are the real clock's, as the libraries that check them read it.
        return {
            "iss": self.settings.base_url,
            "aud": [client.client_id],
            "exp": int(time.time() + store.ACCESS_TOKEN_LIFETIME.total_seconds()),
        }

    def generate_user_info(self, user: Person, scope: str) -> UserInfo:
        info = UserInfo(
            sub=str(user.account_id),
            name=user.name,
            given_name=user.first_name,
            family_name=user.last_name,
        )
        if "fhirUser" in scope.split():
            info["fhirUser"] = fhir_user(self.settings, user)
        return info


def fhir_user(settings: Settings, person: Person) -> str:
    """SMART's ``fhirUser``: the FHIR resource of the person, a Practitioner for professionals."""
    kind = "Practitioner" if person.role in PROFESSIONAL_ROLES else "Person"
    return f"{settings.base_url}/fhir/{kind}/{person.account_id}"


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None):
        return blocking(store.find_token, token_string, token_type_hint)

    def revoke_token(self, token: store.IssuedToken, request: LitestarOAuth2Request) -> None:
        blocking(store.revoke_token, token, request.context["client_address"])


class IntrospectionEndpoint(_IntrospectionEndpoint):
    """A client learns about its own tokens only."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, server: CarnetAuthorizationServer):
        super().__init__(server)
        self.issuer = server.settings.base_url

    def query_token(self, token_string: str, token_type_hint: str | None):
        return blocking(store.find_token, token_string, token_type_hint)

    def check_permission(self, token: store.IssuedToken, client: Client, request) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: store.IssuedToken) -> dict:
        payload = {
            "active": True,
            "client_id": token.client_id,
            "token_type": "Bearer" if token.found_as == "access_token" else "refresh_token",
            "scope": token.scope,
            "iss": self.issuer,
            "iat": int(token.issued_at.timestamp()),
            "exp": int(
                (
                    token.refresh_expires_at
                    if token.found_as == "refresh_token"
                    else token.expires_at
                ).timestamp()
            ),
        }
        if token.person is not None:
            payload["sub"] = str(token.person.account_id)
            payload["username"] = token.person.login
        if token.dossier is not None:
            payload["patient"] = str(token.dossier)
        return payload


# --- which scopes a person may grant -----------------------------------------------------------


def grantable(scope: str, person: Person, dossiers: list[dict]) -> str:
    """The scopes ``person`` may give an application: ``patient/`` scopes and
    ``launch/patient`` only by the patient's side (the patient, a legal representative),
    about one of their dossiers; never ``system/`` scopes."""
    patient_side = person.role in PERSON_ROLES and bool(dossiers)
    kept = []
    for text in scope.split():
        parsed = scopes.ResourceScope.parse(text)
        if parsed is not None and parsed.context == "system":
            continue
        about_patient = text == scopes.LAUNCH_PATIENT or (
            parsed is not None and parsed.context == "patient"
        )
        if about_patient and not patient_side:
            continue
        kept.append(text)
    return " ".join(kept)


def about_one_patient(scope: str) -> bool:
    """Whether a grant of ``scope`` is about one patient, chosen at the consent."""
    return any(
        text == scopes.LAUNCH_PATIENT or text.startswith("patient/") for text in scope.split()
    )


def create_server(settings: Settings) -> CarnetAuthorizationServer:
    server = CarnetAuthorizationServer(settings)
    server.register_token_generator("default", TokenGenerator().generate)
    server.register_client_auth_method("private_key_jwt", PrivateKeyJWT(server.token_endpoint))
    server.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(), OpenIDCode(settings)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(RevocationEndpoint)
    server.register_endpoint(IntrospectionEndpoint)
    return server
