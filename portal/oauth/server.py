"""authlib's framework-agnostic OAuth 2.0 server, adapted to Litestar (as authlib's own Flask
and Django integrations adapt it to theirs).

authlib's server is synchronous: its grants call the storage hooks (find a client, save a
code, …) as plain functions. Litestar is asynchronous, and so is the database. So a request
is read first, on the event loop (its form, `read`); then authlib runs in a worker thread
(`AuthorizationServer.run`), where a hook reaches the database with `blocking`, which runs a
coroutine back on the event loop and waits for it. Each such coroutine is one statement or
one transaction of its own: a hook never leaves a transaction open across another.

The resource side needs no thread: `ResourceProtector.acquire` reads the token's row
asynchronously, then hands it to a validator, which checks it without any I/O.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Callable, Coroutine, Mapping
from functools import cached_property
from typing import Any, TypeVar

import anyio.from_thread
import anyio.to_thread
from authlib.oauth2 import AuthorizationServer as _AuthorizationServer
from authlib.oauth2 import OAuth2Error, OAuth2Request
from authlib.oauth2 import ResourceProtector as _ResourceProtector
from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Payload
from litestar import Request, Response
from litestar.connection import ASGIConnection

T = TypeVar("T")


def blocking(function: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
    """From authlib's worker thread: run ``function(*args, **kwargs)`` on the event loop, and
    wait for it."""
    return anyio.from_thread.run(functools.partial(function, *args, **kwargs))


class LitestarPayload(OAuth2Payload):
    """The parameters of a request: its query string, then its form (both may repeat a name,
    which the grants refuse)."""

    def __init__(self, query: Mapping[str, list[str]], form: Mapping[str, list[str]]):
        self._lists: defaultdict[str, list] = defaultdict(list)
        for source in (query, form):
            for name, values in source.items():
                self._lists[name].extend(values)

    @cached_property
    def data(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._lists.items() if values}

    @property
    def datalist(self) -> defaultdict[str, list]:
        return self._lists


class LitestarOAuth2Request(OAuth2Request):
    def __init__(
        self,
        request: Request,
        uri: str,
        query: Mapping[str, list[str]],
        form: Mapping[str, list[str]],
        context: Mapping[str, Any],
    ):
        super().__init__(request.method, uri, headers=request.headers)
        self.payload = LitestarPayload(query, form)
        self._query, self._form = query, form
        #: What the application knows of the request that authlib does not (its hooks read it).
        self.context = context

    @property
    def args(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._query.items() if values}

    @property
    def form(self) -> dict[str, str]:
        return {name: values[0] for name, values in self._form.items() if values}


#: The parameters authlib may quote in an error's description, which RFC 6749 restricts to
#: printable ASCII without ``"`` or ``\`` (authlib raises ValueError on anything else).
QUOTED_PARAMETERS = frozenset(
    {"response_type", "client_id", "redirect_uri", "scope", "grant_type", "token_type_hint"}
)


async def read(request: Request, base_url: str, **context: Any) -> LitestarOAuth2Request:
    """The request as authlib reads it, its form read now (authlib cannot await it), with the
    application's ``context``. Its address is the portal's public one (``base_url``), not
    what a proxy forwarded. `InvalidRequestError` for a parameter no RFC 6749 value can be."""
    form: dict[str, list[str]] = {}
    if request.method == "POST":
        body = await request.form()
        form = {name: [str(value) for value in body.getall(name)] for name in body}
    query = {name: request.query_params.getall(name) for name in request.query_params}
    for name, values in (*query.items(), *form.items()):
        if name in QUOTED_PARAMETERS and any(map(invalid_error_characters, values)):
            raise InvalidRequestError(f"The parameter {name} holds characters it may not.")
    return LitestarOAuth2Request(request, base_url + request.url.path, query, form, context)


class AuthorizationServer(_AuthorizationServer):
    """authlib's server answering with Litestar responses; `run` calls it off the loop."""

    async def run(self, call: Callable[..., T], *args: Any) -> T:
        """``call(*args)`` (one of authlib's entry points, with a request from `read`) in a
        worker thread, where the storage hooks may use `blocking`."""
        return await anyio.to_thread.run_sync(call, *args)

    def create_oauth2_request(self, request: LitestarOAuth2Request) -> LitestarOAuth2Request:
        return request

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no endpoint of this server reads JSON")

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else body
        return Response(content, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's signals (a client authenticated, a token revoked): nothing listens."""


class ResourceProtector(_ResourceProtector):
    """authlib's resource protector, with the token read asynchronously: ``load`` finds the
    token a bearer string names (or None); the registered validator then checks it, and
    ``refused(request, token, scopes, error)`` hears of every token it refuses before the
    error is raised."""

    def __init__(
        self,
        load: Callable[[str], Coroutine[Any, Any, Any]],
        refused: Callable[[Any, Any, Any, OAuth2Error], Coroutine[Any, Any, None]],
    ):
        super().__init__()
        self.load = load
        self.refused = refused

    async def acquire(self, request: ASGIConnection, scopes: Any = None) -> Any:
        """The request's valid token; authlib's RFC 6750 errors otherwise (no token, or an
        unknown, expired or revoked one: 401; too narrow a scope: 403)."""
        validator, token_string = self.parse_request_authorization(request)
        token = await self.load(token_string)
        try:
            validator.validate_token(token, scopes, request)
        except OAuth2Error as error:
            await self.refused(request, token, scopes, error)
            raise
        return token
