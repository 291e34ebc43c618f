"""`create_app()`: the one place where the Litestar application is assembled."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig

from portal import audit, crypto, pages, pdf, piccolo_app, web
from portal.access import is_core_guard, professional_routes
from portal.access import routes as access_routes
from portal.access.banner import EmergencyBannerMiddleware
from portal.access.matrix import load_matrix
from portal.audit import history as audit_history
from portal.db import (
    Database,
    DatabaseUnavailable,
    create_engine,
    describe_error,
    is_unavailable_error,
)
from portal.dossiers import (
    creation,
    documents,
    finding,
    lifecycle,
    printing,
    profile,
    reimbursements,
    summary,
    vocabulary,
)
from portal.dossiers import routes as dossier_routes
from portal.federation import providers as identity_providers
from portal.federation import routes as federation_routes
from portal.fhir import own_copy
from portal.fhir import routes as fhir_routes
from portal.identity import admin as identity_admin
from portal.identity import passwords
from portal.identity import routes as identity_routes
from portal.identity.professions import PROFESSIONS
from portal.identity.sessions import SessionMiddleware
from portal.identity.tables import ROLE_LABELS
from portal.notifications import routes as notification_routes
from portal.notifications import service as notifications
from portal.notifications.messaging import channel_for
from portal.oauth import admin as oauth_admin
from portal.oauth import grants as oauth_grants
from portal.oauth import routes as oauth_routes
from portal.plugins import PluginError, Plugins, load_plugins
from portal.settings import Settings
from portal.static import CORE_STATIC_DIR, StaticFiles, serve_static
from portal.templating import create_environment

logger = logging.getLogger("carnet")

CORE_ROUTES = [
    pages.home,
    pages.health,
    pages.switch_language,
    serve_static,
    *identity_routes.ROUTES,
    *federation_routes.ROUTES,
    *identity_admin.ROUTES,
    *notification_routes.ROUTES,
    *audit_history.ROUTES,
    *dossier_routes.ROUTES,
    *creation.ROUTES,
    *lifecycle.ROUTES,
    *printing.ROUTES,
    *documents.ROUTES,
    *finding.ROUTES,
    *profile.ROUTES,
    *reimbursements.ROUTES,
    *summary.ROUTES,
    *access_routes.ROUTES,
    *professional_routes.ROUTES,
    *oauth_routes.ROUTES,
    *oauth_admin.ROUTES,
    fhir_routes.ROUTER,
    *own_copy.ROUTES,
]


def error_response(request: Request, exc: Exception) -> Response:
    """Every error as a page, but under ``/fhir`` as the API's ``OperationOutcome``: an unknown
    path or method there matches no route, so no route's own handler sees it."""
    path = request.url.path
    if path == fhir_routes.ROUTER.path or path.startswith(f"{fhir_routes.ROUTER.path}/"):
        return fhir_routes.error_response(request, exc)
    return web.error_response(request, exc)


def create_app(settings: Settings | None = None, plugins: Plugins | None = None) -> Litestar:
    """Build the portal for ``settings`` (read from the environment when not given)."""
    settings = settings or Settings.from_env()
    plugins = plugins or load_plugins(settings.disabled_plugins)
    database = Database(
        create_engine(settings.database_url), [piccolo_app.APP_CONFIG, *plugins.piccolo_apps]
    )
    matrix = load_matrix(settings.access_matrix, plugins.categories)
    database.install()
    audit.install(settings)
    crypto.install(crypto.keyring_for(settings))
    channel = channel_for(settings)
    notifications.install(channel, settings.language)
    static = StaticFiles(
        [("", CORE_STATIC_DIR)]
        + [
            (info.key, info.static_dir)
            for info in plugins.infos.values()
            if info.static_dir.is_dir()
        ]
    )
    environment = create_environment(
        [info.templates_dir for info in plugins.infos.values()],
        overrides_dir=settings.templates_dir,
        template_globals={
            **web.template_globals(settings),
            "static_url": static.url,
            "role_labels": ROLE_LABELS,
            "profession_labels": {key: item.label for key, item in PROFESSIONS.items()},
            "category_labels": vocabulary.labels(plugins.categories),
            "type_labels": vocabulary.TYPE_LABELS,
            "identity_providers": identity_providers.configured(settings),
        },
    )

    async def start() -> None:
        # The dummy hash that unknown logins are checked against is made now, so that the
        # first unknown login does not take longer than a wrong password.
        await passwords.verify_dummy("")
        try:
            await database.connect()
            # A wrong master key: nothing is served (`carnet serve` says why in one line).
            await crypto.check_keys()
        except Exception as error:
            if not is_unavailable_error(error):
                raise
            # Serve 503 pages until it is back rather than refusing to start.
            logger.warning("database unavailable at start-up: %s", describe_error(error))

    async def reopen_database(request) -> None:
        """Open the pool the start-up could not open, as soon as the database is back."""
        if database.needs_connection:
            with contextlib.suppress(DatabaseUnavailable):
                await database.connect()

    app = Litestar(
        route_handlers=[*CORE_ROUTES, *plugins.routers()],
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment)),
        compression_config=CompressionConfig(
            backend="brotli", brotli_gzip_fallback=True, exclude_opt_key="skip_compression"
        ),
        middleware=[
            web.AllowedHostsMiddleware(settings),
            web.BoundedQueryMiddleware(),
            web.LanguageMiddleware(settings),
            SessionMiddleware(settings),
            EmergencyBannerMiddleware(),
            web.CsrfMiddleware(settings),
            web.FlashMiddleware(settings),
        ],
        before_send=[web.add_security_headers],
        exception_handlers={HTTPException: error_response, Exception: error_response},
        on_startup=[start],
        before_request=reopen_database,
        on_shutdown=[database.disconnect, pdf.shutdown],
        state=State(
            {
                "settings": settings,
                "plugins": plugins,
                "database": database,
                "static": static,
                "channel": channel,
                "matrix": matrix,
                "oauth_server": oauth_grants.create_server(settings),
                "identity_providers": identity_providers.clients(settings),
            }
        ),
        openapi_config=None,
        debug=False,
    )
    check_routes_guarded(app)
    return app


def create_served_app() -> Litestar:
    """The portal as ``carnet serve`` runs it in each worker process: `create_app`, whose
    start-up also starts the PDF workers, warm, before the first request (the first PDF would
    otherwise wait seconds for them), and ends by moving every object it made out of the
    garbage collector's reach. They live as long as the process; left in the oldest
    generation, each full collection would walk the whole application again (a pause of tens
    of milliseconds every few thousand requests)."""
    end_with_parent()
    app = create_app()
    app.on_startup.extend([pdf.start_workers, gc.freeze])
    return app


#: Linux's prctl() option asking for a signal when the parent process ends.
PR_SET_PDEATHSIG = 1


def end_with_parent() -> None:
    """In a worker of ``carnet serve --workers N``: end (SIGTERM, a graceful shutdown) as soon
    as the main process does, however it ended (``kill -9`` included), so that no worker goes
    on serving, holding the port the next start needs. Linux says so at once (``prctl``);
    elsewhere a thread watches for the parent to change."""
    parent = multiprocessing.parent_process()
    if parent is None:  # one worker: uvicorn serves in the main process itself
        return
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent.pid:  # it ended before we asked
            os.kill(os.getpid(), signal.SIGTERM)
        return

    def watch() -> None:
        while os.getppid() == parent.pid:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def check_routes_guarded(app: Litestar) -> None:
    """Deny by default: every route must state who may use it with one of the core's guards;
    and a route for software with a token must read no cookie (no session, no CSRF there)."""
    for path, handler in route_handlers(app):
        guards = handler.resolve_guards()
        owner = handler.opt.get("plugin")
        where = f"Plugin {owner!r}" if owner else "The core"
        if not any(map(is_core_guard, guards)):
            raise PluginError(
                f"{where} registers the route {path} without a guard from "
                "portal.access: every route must say who may use it."
            )
        token_guarded = any(getattr(guard, "needs_cookieless", False) for guard in guards)
        if token_guarded and not handler.opt.get(web.COOKIELESS):
            raise PluginError(
                f"{where} guards the route {path} with bearer_token without "
                "opt={portal.web.COOKIELESS: True}: a token's request must not read cookies."
            )


def route_handlers(app: Litestar) -> Iterator[tuple[str, BaseRouteHandler]]:
    """Every (path, handler) the portal serves, leaving out the OPTIONS answers Litestar adds
    by itself (they carry no data)."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            automatic = handler.http_methods == {"OPTIONS"} and "create_options_handler" in str(
                handler
            )
            if not automatic:
                yield route.path, handler
