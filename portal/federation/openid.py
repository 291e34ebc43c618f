"""OpenID Connect's client side: Carnet as a relying party of one identity provider.

authlib builds the authentication request (authorization code with PKCE S256, ``state``,
``nonce``, the ``acr`` level asked for) and exchanges the code at the token endpoint; the ID
token is checked as OpenID Connect Core (3.1.3.7) asks of a relying party: its signature
against the provider's published keys (asymmetric algorithms only, so never ``none`` nor a
MAC keyed with the client secret), ``iss``, ``aud`` and ``azp``, ``exp`` and ``iat``, the
``nonce`` of this very request, ``at_hash``, and an ``acr`` at the required level or above.
The userinfo answer, JSON or a signed JWT, must be about the same subject.

The provider's discovery document and keys are public and change rarely: each portal
process keeps them for an hour, and fetches the keys again when a token names one it does
not know (a key rotation). Nothing about a person is kept here.
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.common.urls import add_params_to_uri
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from portal import clock
from portal.settings import OpenIDProviderSettings

#: The algorithms an ID token or userinfo JWT may be signed with: public-key signatures only.
SIGNING_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
)
#: The eIDAS levels of assurance both national providers use as ``acr`` values, lowest first.
ACR_LEVELS = ("eidas1", "eidas2", "eidas3")
#: How long Carnet waits for a provider before telling the person to use their password.
TIMEOUT = httpx2.Timeout(5.0)
#: How long a process trusts the discovery document and keys it fetched.
METADATA_LIFETIME = 3600.0
#: The keys are fetched again for an unknown key id at most this often (seconds), so that a
#: stream of forged tokens cannot make Carnet hammer the provider.
KEYS_REFRESH_INTERVAL = 60.0
#: Clock skew allowed between Carnet and the provider, in seconds.
LEEWAY = 60

# One log line per request to a provider says nothing the audit trail does not; failures are
# logged where they are handled.
logging.getLogger("httpx2").setLevel(logging.WARNING)


class ProviderUnavailable(Exception):
    """The provider did not answer, not in time, or not as OpenID Connect says it must."""


class AuthenticationRefused(Exception):
    """The provider's answer cannot be trusted. ``reason`` names the check that failed, in
    the words the audit trail keeps ("nonce", "signature", "audience", "acr"...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Authentication:
    """What the provider vouched for: a subject, at an ``acr`` level, with its claims."""

    subject: str
    acr: str
    #: The ID token's claims, completed by the userinfo answer.
    claims: dict[str, Any]
    #: The ID token as received, for the provider's logout (``id_token_hint``).
    id_token: str


def acr_level(acr: object) -> int:
    """1 for ``eidas1`` up to 3 for ``eidas3``; 0 for anything else."""
    return ACR_LEVELS.index(acr) + 1 if acr in ACR_LEVELS else 0


class OpenIDProvider:
    """One provider, as Carnet's client there sees it."""

    def __init__(
        self,
        settings: OpenIDProviderSettings,
        *,
        scope: str,
        minimum_acr: str,
        redirect_uri: str,
        timeout: httpx2.Timeout = TIMEOUT,
    ) -> None:
        self.settings = settings
        self.scope = scope
        self.minimum_acr = minimum_acr
        self.redirect_uri = redirect_uri
        self.timeout = timeout
        self._metadata: dict[str, Any] = {}
        self._metadata_at = -METADATA_LIFETIME
        self._keys: KeySet | None = None
        self._keys_at = -METADATA_LIFETIME

    # --- the authentication request -------------------------------------------------------

    async def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the person's browser to log in at the provider."""
        metadata = await self.metadata()
        async with self._client(metadata) as client:
            url, _state = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=state,
                nonce=nonce,
                code_verifier=code_verifier,
                acr_values=self._acr_to_ask(metadata),
            )
        return url

    def _acr_to_ask(self, metadata: dict[str, Any]) -> str:
        """The lowest level the provider offers at or above the one required: FranceConnect
        offers eidas1, FranceConnect+ only eidas2 and eidas3."""
        offered = metadata.get("acr_values_supported") or []
        for acr in ACR_LEVELS[acr_level(self.minimum_acr) - 1 :]:
            if acr in offered:
                return acr
        return self.minimum_acr

    # --- the answer -------------------------------------------------------------------------

    async def authenticate(
        self, *, code: str, nonce: str, code_verifier: str, issuer: str | None = None
    ) -> Authentication:
        """Exchange ``code`` and check everything the provider answers; `AuthenticationRefused`
        names what is wrong, `ProviderUnavailable` says it could not be asked. ``issuer`` is
        the ``iss`` of the authorization response (RFC 9207), which a provider that says it
        sends one must send, and must be this provider's."""
        metadata = await self.metadata()
        if issuer != self.settings.issuer and (
            issuer is not None or metadata.get("authorization_response_iss_parameter_supported")
        ):
            raise AuthenticationRefused("response issuer")
        async with self._client(metadata) as client:
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
            except OAuthError as error:
                raise AuthenticationRefused(f"token endpoint: {error.error}") from None
            except (httpx2.HTTPError, ValueError) as error:
                raise ProviderUnavailable(f"token endpoint: {error}") from None
            id_token = token.get("id_token")
            if not isinstance(id_token, str):
                raise AuthenticationRefused("no ID token")
            access_token = token.get("access_token")
            if not isinstance(access_token, str):
                raise AuthenticationRefused("no access token")
            claims = await self._checked_id_token(id_token, nonce, access_token)
            if metadata.get("userinfo_endpoint"):
                userinfo = await self._userinfo(client, metadata["userinfo_endpoint"], access_token)
                if userinfo.get("sub") != claims["sub"]:
                    raise AuthenticationRefused("userinfo subject")
                claims = {**userinfo, **claims}
        return Authentication(claims["sub"], claims["acr"], claims, id_token)

    async def _checked_id_token(
        self, id_token: str, nonce: str, access_token: str
    ) -> dict[str, Any]:
        header, claims = await self._verified(id_token)
        id_claims = CodeIDToken(
            claims,
            header,
            {
                "iss": {"essential": True, "value": self.settings.issuer},
                "aud": {"essential": True, "value": self.settings.client_id},
                "sub": {"essential": True},
                "exp": {"essential": True},
                "iat": {"essential": True},
            },
            {"nonce": nonce, "client_id": self.settings.client_id, "access_token": access_token},
        )
        try:
            id_claims.validate(now=int(clock.now().timestamp()), leeway=LEEWAY)
        except ExpiredTokenError:
            raise AuthenticationRefused("expired") from None
        except JoseError as error:
            claim = getattr(error, "claim", "") or str(error)
            raise AuthenticationRefused(_CLAIM_REASONS.get(claim, f"claim {claim}")) from None
        if acr_level(claims.get("acr")) < acr_level(self.minimum_acr):
            raise AuthenticationRefused("acr")
        return dict(claims)

    async def _userinfo(
        self, client: AsyncOAuth2Client, endpoint: str, access_token: str
    ) -> dict[str, Any]:
        """The userinfo answer: JSON, or a JWT signed by the provider (Pro Santé Connect)."""
        try:
            # The token was given a moment ago: it is sent as it is (authlib would refuse
            # one that expires within its leeway, a minute).
            response = await client.request(
                "GET",
                endpoint,
                withhold_token=True,
                headers={"authorization": f"Bearer {access_token}"},
            )
        except httpx2.HTTPError as error:
            raise ProviderUnavailable(f"userinfo: {error}") from None
        if response.status_code >= 500:
            raise ProviderUnavailable(f"userinfo: HTTP {response.status_code}")
        if response.status_code != 200:
            raise AuthenticationRefused(f"userinfo: HTTP {response.status_code}")
        if response.headers.get("content-type", "").startswith("application/jwt"):
            _header, claims = await self._verified(response.text.strip())
            # Signed, it says who issued it and for whom (OpenID Connect Core 5.3.2).
            if claims.get("iss", self.settings.issuer) != self.settings.issuer:
                raise AuthenticationRefused("userinfo issuer")
            audience = claims.get("aud", self.settings.client_id)
            if self.settings.client_id not in (
                audience if isinstance(audience, list) else [audience]
            ):
                raise AuthenticationRefused("userinfo audience")
            return claims
        try:
            claims = response.json()
        except ValueError:
            raise ProviderUnavailable("userinfo: not JSON") from None
        if not isinstance(claims, dict):
            raise ProviderUnavailable("userinfo: not a JSON object")
        return claims

    async def _verified(self, token: str) -> tuple[dict, dict[str, Any]]:
        """The header and claims of a JWT whose signature is the provider's."""
        metadata = await self.metadata()
        advertised = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [name for name in SIGNING_ALGORITHMS if name in advertised] or ["RS256"]
        for refresh in (False, True):
            try:
                decoded = jwt.decode(token, await self._key_set(refresh), algorithms=algorithms)
            except InvalidKeyIdError:  # a key the provider has added since, perhaps
                if refresh or not self._keys_may_refresh():
                    break
            except JoseError:
                break
            else:
                return dict(decoded.header), dict(decoded.claims)
        raise AuthenticationRefused("signature")

    # --- logout -----------------------------------------------------------------------------

    async def logout_url(self, id_token: str, post_logout_redirect_uri: str) -> str | None:
        """The provider's RP-initiated logout for the session ``id_token`` came from; None when
        the provider offers none (or cannot be reached: Carnet's own logout is done anyway)."""
        try:
            metadata = await self.metadata()
        except ProviderUnavailable:
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint or not id_token:
            return None
        return add_params_to_uri(
            endpoint,
            {
                "id_token_hint": id_token,
                "post_logout_redirect_uri": post_logout_redirect_uri,
                "client_id": self.settings.client_id,
            },
        )

    # --- what the provider publishes --------------------------------------------------------

    async def metadata(self) -> dict[str, Any]:
        """The discovery document, checked: it must be this issuer's and name its endpoints."""
        if time.monotonic() - self._metadata_at < METADATA_LIFETIME:
            return self._metadata
        document = await self._fetch_json(self.settings.discovery_url, "discovery document")
        if document.get("issuer") != self.settings.issuer:
            raise ProviderUnavailable(
                f"the discovery document is for {document.get('issuer')!r}, "
                f"not {self.settings.issuer!r}"
            )
        for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(endpoint), str):
                raise ProviderUnavailable(f"the discovery document names no {endpoint}")
        self._metadata, self._metadata_at = document, time.monotonic()
        return document

    async def _key_set(self, refresh: bool) -> KeySet:
        fresh = time.monotonic() - self._keys_at < METADATA_LIFETIME
        if self._keys is not None and fresh and not refresh:
            return self._keys
        metadata = await self.metadata()
        keys = await self._fetch_json(metadata["jwks_uri"], "keys")
        try:
            self._keys = KeySet.import_key_set(keys)
        except (JoseError, ValueError, TypeError, KeyError):
            raise ProviderUnavailable("the provider's keys cannot be read") from None
        self._keys_at = time.monotonic()
        return self._keys

    def _keys_may_refresh(self) -> bool:
        return time.monotonic() - self._keys_at >= KEYS_REFRESH_INTERVAL

    async def _fetch_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with httpx2.AsyncClient(timeout=self.timeout, verify=_tls()) as client:
                response = await client.get(url, headers={"accept": "application/json"})
                response.raise_for_status()
                document = response.json()
        except (httpx2.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"{what}: {error}") from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{what}: not a JSON object")
        return document

    def _client(self, metadata: dict[str, Any]) -> AsyncOAuth2Client:
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        return AsyncOAuth2Client(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            token_endpoint_auth_method=(
                "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
            ),
            scope=self.scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout,
            verify=_tls(),
        )


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS settings of every request to a provider (httpx2's defaults), made once: making
    them loads the trusted certificates, a tenth of a second each time."""
    return httpx2.create_ssl_context()


#: The ID token claim a check failed on, as the audit trail names it.
_CLAIM_REASONS = {
    "iss": "issuer",
    "aud": "audience",
    "azp": "audience",
    "nonce": "nonce",
    "at_hash": "access token hash",
    "iat": "issued at",
    "nbf": "not yet valid",
    "sub": "subject",
}
