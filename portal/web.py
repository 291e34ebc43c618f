"""What every request and response goes through: security headers, CSRF, language, flash
messages and error pages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from litestar import Request, Response
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import MediaType, RequestEncodingType, ScopeType
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from portal import i18n
from portal.access.guards import LoginRequired
from portal.db import is_unavailable_error
from portal.echo import MAX_ECHOED_PATH
from portal.i18n import gettext as _
from portal.notifications.messaging import MessageNotSent
from portal.settings import Settings

logger = logging.getLogger("carnet")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Static files need no session, token or message: the middlewares that read and write those
#: (and may query the database) stay out of their way.
NOT_FOR_STATIC = ("^/static/",)
#: A route's ``opt`` key for the routes software calls (a bearer token, or a client's own
#: credentials): no session is read from a cookie there, so no CSRF token is asked for.
COOKIELESS = "cookieless"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
ONE_YEAR = 365 * 24 * 3600


async def add_security_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: the SECURITY.md headers on every response, errors included.

    Pages are ``no-store`` unless the handler chose otherwise (static files are immutable), so
    that no patient data ever stays in a shared cache or the browser's back history.
    """
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in SECURITY_HEADERS.items():
        headers[name] = value
    elsewhere = scope["state"].get("form_action")
    if elsewhere:
        headers["content-security-policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {elsewhere}"
        )
    if "cache-control" not in headers:
        headers["cache-control"] = "no-store"


#: An origin as a Content-Security-Policy source: scheme, host, port, nothing else.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?")


def allow_form_action(request: Request, url: str) -> None:
    """Let this page's form lead to ``url``'s origin (CSP ``form-action``), as the consent
    page's answer sends the browser back to the application; the browser enforces it on the
    redirect too."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if not _ORIGIN.fullmatch(origin):
        raise ValueError(f"not an origin: {origin!r}")
    request.scope["state"]["form_action"] = origin


def cookie_name(settings: Settings, name: str) -> str:
    """``__Host-`` pins a cookie to this exact origin; browsers accept it only when Secure."""
    return f"__Host-{name}" if settings.cookie_secure else name


def private_cookie(
    settings: Settings, name: str, value: str, samesite: Literal["strict", "lax"] = "strict"
) -> Cookie:
    """A cookie scripts cannot read, sent only by this site's own pages (``lax``: and by the
    navigations other sites send here), for the whole site; an empty value deletes it."""
    return Cookie(
        key=cookie_name(settings, name),
        value=value,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite=samesite,
        max_age=None if value else 0,
    )


def _sign(settings: Settings, purpose: str, value: str) -> str:
    key = hashlib.sha256(f"{purpose}:{settings.secret_key}".encode()).digest()
    digest = hmac.new(key, value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


# --- host -----------------------------------------------------------------------------------


class AllowedHostsMiddleware(ASGIMiddleware):
    """Answer only for the host names the deployment lists (``CARNET_ALLOWED_HOSTS``), so a
    forged ``Host`` header cannot make the portal write links to another site."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, settings: Settings) -> None:
        self.hosts = frozenset(settings.allowed_hosts)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if "*" not in self.hosts and request_host(scope) not in self.hosts:
            raise HTTPException(status_code=400, detail=_("This address is not served here."))
        await next_app(scope, receive, send)


def request_host(scope: Scope) -> str:
    """The host name the client asked for, without port, lower case ("" when absent)."""
    host = Request(scope).headers.get("host", "").strip().lower()
    if host.startswith("["):  # an IPv6 literal: [::1]:8000
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if ":" in host else host


# --- echoed values --------------------------------------------------------------------------


class BoundedQueryMiddleware(ASGIMiddleware):
    """Refuse (414) a query string longer than `MAX_ECHOED_PATH`.

    Searches and filters are shown back to whoever typed them (the search box refilled, the
    links to the next page, a FHIR search's ``next``): this one bound, checked before any
    route runs, keeps every such echo small, whatever the route does with its parameters.
    """

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if len(scope["query_string"]) > MAX_ECHOED_PATH:
            raise HTTPException(
                status_code=414,
                detail=_(
                    "This address is too long. Shorten the search or the filters, then try again."
                ),
            )
        await next_app(scope, receive, send)


# --- language -------------------------------------------------------------------------------


def request_language(settings: Settings, scope: Scope) -> str:
    request: Request = Request(scope)
    return i18n.negotiate(
        request.cookies.get(i18n.LANGUAGE_COOKIE),
        request.headers.get("accept-language"),
        settings.language,
    )


class LanguageMiddleware(ASGIMiddleware):
    """Speak the visitor's language for the whole request (templates and Python alike)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        token = i18n.set_language(request_language(self.settings, scope))
        try:
            await next_app(scope, receive, send)
        finally:
            i18n.reset_language(token)


# --- CSRF -----------------------------------------------------------------------------------


class CsrfMiddleware(ASGIMiddleware):
    """Refuse every unsafe request that does not carry the CSRF token of its session.

    The token is an HMAC, with the secret key, of the server-side session id once the person
    is signed in, and before that of a random per-browser value kept in an HttpOnly cookie.
    Forms send it back as the ``csrf_token`` field, htmx as the ``X-CSRF-Token`` header set
    by ``hx-headers`` on the page's outer ``<div>``. A token taken from another session or
    browser does not match, and signing in changes it.
    """

    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = NOT_FOR_STATIC
    exclude_opt_key = COOKIELESS

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cookie = cookie_name(settings, "carnet_csrf")

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request: Request = Request(scope, receive)
        session = scope["state"].get("session")
        anonymous = request.cookies.get(self.cookie)
        binding = f"session:{session.id}" if session else anonymous and f"browser:{anonymous}"
        if request.method not in SAFE_METHODS:
            sent = [request.headers.get(CSRF_HEADER)]
            if request.content_type[0] in (
                RequestEncodingType.URL_ENCODED,
                RequestEncodingType.MULTI_PART,
            ):
                # A form carries its own token; it wins over a header htmx kept from the
                # page before a login changed the session.
                sent.append((await request.form()).get(CSRF_FIELD))
            expected = _sign(self.settings, "csrf", binding) if binding else None
            if not expected or not any(
                token and hmac.compare_digest(str(token), expected) for token in sent
            ):
                raise PermissionDeniedException(
                    _(
                        "This form has expired or did not come from Carnet. "
                        "Reload the page and try again."
                    )
                )
        if binding:
            # Litestar's template callable ``csrf_token()`` reads it from here.
            ScopeState.from_scope(scope).csrf_token = _sign(self.settings, "csrf", binding)
            await next_app(scope, receive, send)
            return
        anonymous = secrets.token_urlsafe(32)
        ScopeState.from_scope(scope).csrf_token = _sign(
            self.settings, "csrf", f"browser:{anonymous}"
        )
        cookie = private_cookie(self.settings, "carnet_csrf", anonymous)
        await next_app(scope, receive, _adding_cookie(send, cookie))


# --- flash messages -------------------------------------------------------------------------


class FlashMiddleware(ASGIMiddleware):
    """One-time messages shown on the next page, carried in a signed cookie.

    `flash()` queues a message during a request (typically before a redirect); the next page
    that renders receives them in ``request.state["flashes"]`` and the cookie is cleared.
    """

    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = NOT_FOR_STATIC

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cookie = cookie_name(settings, "carnet_flash")

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        incoming = Request(scope).cookies.get(self.cookie)
        scope["state"]["flashes"] = self._read(incoming) if incoming else []
        scope["state"]["flash_out"] = outgoing = []

        async def send_with_flashes(message: Message) -> None:
            if message["type"] == "http.response.start" and (outgoing or incoming):
                status = message["status"]
                if outgoing:
                    value = self._write(outgoing)
                    cookie = private_cookie(self.settings, "carnet_flash", value)
                elif 300 <= status < 400:
                    cookie = None  # a redirect: keep the messages for the page it leads to
                else:
                    cookie = private_cookie(self.settings, "carnet_flash", "")
                if cookie:
                    MutableScopeHeaders.from_message(message).add(
                        "set-cookie", cookie.to_header(header="")
                    )
            await send(message)

        await next_app(scope, receive, send_with_flashes)

    def _write(self, messages: list[dict[str, str]]) -> str:
        payload = base64.urlsafe_b64encode(json.dumps(messages).encode()).decode()
        return f"{payload}.{_sign(self.settings, 'flash', payload)}"

    def _read(self, value: str) -> list[dict[str, str]]:
        payload, _dot, signature = value.partition(".")
        if not hmac.compare_digest(signature, _sign(self.settings, "flash", payload)):
            return []
        try:
            messages = json.loads(base64.urlsafe_b64decode(payload))
        except ValueError:
            return []
        return [m for m in messages if isinstance(m, dict)][:5]


def local_path(target: str | None, default: str = "/") -> str:
    """Only ever redirect within the portal: ``//evil``, ``https://…`` and ``\\evil`` are not
    paths of ours, nor is anything longer than `MAX_ECHOED_PATH`."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or len(target) > MAX_ECHOED_PATH
    ):
        return default
    return target


def typed_date(text: str) -> date | None:
    """A date as a date field sends it (2026-03-14), or as a person types it where the browser
    shows a plain text field (14/03/2026); None when it is neither."""
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def public_url(request: Request) -> str:
    """The portal's address for links in messages and sheets: ``CARNET_BASE_URL`` or, when it
    is not set, the address the request came to (``make run PORT=8080`` gives links to 8080;
    its host is one of ``CARNET_ALLOWED_HOSTS``)."""
    settings = request.app.state.settings
    return settings.base_url if settings.base_url_set else str(request.base_url).rstrip("/")


def see_other(path: str) -> Redirect:
    """The answer to a form that worked: go (with GET) to ``path``."""
    return Redirect(path, status_code=HTTP_303_SEE_OTHER)


def flash(request: Request, message: str, level: str = "info") -> None:
    """Show ``message`` once on the next page (``level``: info, success, warning, error)."""
    request.scope["state"]["flash_out"].append({"level": level, "message": str(message)})


def _adding_cookie(send: Send, cookie: Cookie) -> Send:
    async def send_wrapper(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableScopeHeaders.from_message(message).add("set-cookie", cookie.to_header(header=""))
        await send(message)

    return send_wrapper


# --- error pages ----------------------------------------------------------------------------

ERROR_TITLES: dict[int, Callable[[], str]] = {
    400: lambda: _("The request could not be understood"),
    403: lambda: _("Access refused"),
    404: lambda: _("Page not found"),
    405: lambda: _("This action is not available here"),
    413: lambda: _("The file is too large"),
    414: lambda: _("The address is too long"),
    429: lambda: _("Too many attempts"),
    500: lambda: _("Something went wrong on our side"),
    503: lambda: _("Carnet is temporarily unavailable"),
}
ERROR_EXPLANATIONS: dict[int, Callable[[], str]] = {
    403: lambda: _("You do not have the right to see this page or to do this action."),
    404: lambda: _("The address may be mistyped, or the page no longer exists."),
    413: lambda: _(
        "Files of at most 10 MB are accepted. Go back, and choose a smaller file: a scan at a "
        "lower resolution, or one page at a time."
    ),
    500: lambda: _("The error has been recorded. Please try again in a moment."),
    503: lambda: _(
        "Carnet cannot reach its database right now. Please try again in a moment: "
        "nothing you saved has been lost."
    ),
}


@dataclass(frozen=True)
class Failure:
    """An error as it is answered: its status, what may be said of it, its headers, and for
    a failure of ours (5xx) the reference written to the log with it."""

    status: int
    detail: str
    headers: dict[str, str]
    correlation_id: str = ""

    @property
    def explanation(self) -> str:
        """What to tell the person, in the current language."""
        return self.detail or ERROR_EXPLANATIONS.get(self.status, lambda: "")()


def failure_of(request: Request, exc: Exception) -> Failure:
    """What ``exc`` answers, without any internal detail; a failure of ours is logged with
    its traceback and a reference that the person is given, so that support can find the
    one from the other."""
    correlation_id = uuid.uuid4().hex[:12]
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail if status < 500 and exc.detail != HTTPStatus(status).phrase else ""
        extra_headers = exc.headers or {}
    elif isinstance(exc, MessageNotSent):
        status, detail, extra_headers = (
            503,
            _("We could not send you a message right now. Please try again in a few minutes."),
            {"retry-after": "120"},
        )
        logger.warning("message not sent [%s]: %s", correlation_id, exc)
    elif is_unavailable_error(exc):
        status, detail, extra_headers = 503, "", {"retry-after": "30"}
        logger.warning("database unavailable [%s]: %s", correlation_id, exc)
    else:
        status, detail, extra_headers = 500, "", {}
        logger.exception(
            "unhandled error [%s] on %s %s",
            correlation_id,
            request.method,
            request.url.path,
            exc_info=exc,
        )
    if status == 503 and "retry-after" not in extra_headers:
        extra_headers = {**extra_headers, "retry-after": "30"}
    return Failure(status, detail, extra_headers, correlation_id if status >= 500 else "")


def error_response(request: Request, exc: Exception) -> Response:
    """Render every error as a page in the visitor's language (`failure_of`)."""
    if isinstance(exc, LoginRequired):
        return _to_login(request)
    settings: Settings = request.app.state.settings
    token = i18n.set_language(request_language(settings, request.scope))
    try:
        failure = failure_of(request, exc)
        status = failure.status
        title = ERROR_TITLES.get(status, lambda: HTTPStatus(status).phrase)()
        # Rendered now, while the visitor's language is set: error pages may come from outside
        # the middleware stack (an unknown URL matches no route).
        try:
            html = request.app.template_engine.get_template("error.html").render(
                request=request,
                status=status,
                title=title,
                explanation=failure.explanation,
                correlation_id=failure.correlation_id,
            )
        except Exception:  # never let a broken template hide the original error
            logger.exception("error page failed to render [%s]", failure.correlation_id)
            html = f"<!doctype html><title>{status}</title><h1>{status}</h1>"
    finally:
        i18n.reset_language(token)
    return Response(html, status_code=status, media_type=MediaType.HTML, headers=failure.headers)


def _to_login(request: Request) -> Response:
    """Send a visitor who is not signed in to the login page, and back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    back = request.method == "GET" and len(target) <= MAX_ECHOED_PATH
    location = "/login?" + urlencode({"next": target}) if back else "/login"
    headers = {"location": location}
    if request.headers.get("hx-request"):
        headers["hx-redirect"] = location  # htmx follows this header instead of swapping
    return Response(b"", status_code=303, headers=headers)


def is_htmx(request: Request) -> bool:
    """An htmx request for a fragment of a page (a boosted link or form wants the whole page)."""
    headers = request.headers
    return headers.get("hx-request") == "true" and headers.get("hx-boosted") != "true"


def page_or_fragment(
    request: Request, page: str, fragment: str, context: dict[str, Any], status_code: int = 200
) -> Template:
    """The answer of a route whose page htmx also asks for in part: ``fragment`` (a partial,
    ``_name.html``, that ``page`` includes) for an htmx request, ``page`` for any other."""
    return Template(
        fragment if is_htmx(request) else page, context=context, status_code=status_code
    )


def template_globals(settings: Settings) -> dict[str, Any]:
    """Functions every template may call."""
    return {
        "current_language": i18n.current_language,
        "local_path": local_path,
        "language_names": i18n.LANGUAGE_NAMES,
        "settings": settings,
    }
