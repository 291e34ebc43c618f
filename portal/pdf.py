"""`render_pdf`: every PDF of the portal, the core's and the plugins', and the only caller of
WeasyPrint.

A PDF is a Jinja template that extends ``pdf/base.html``: the shared print stylesheet (A4, the
patient's name, the print date and "document confidentiel" at the top of every page, the page
number at the bottom, DejaVu fonts embedded so that accents and symbols render wherever the
file is opened). The HTML is rendered here, in the reader's language, from what the route
gathered through its `DossierView`; WeasyPrint turns it into a PDF in a worker process of a
bounded pool, at a lower CPU priority, so that a burst of exports neither blocks the event
loop nor slows the pages much. Each worker warms up as it starts (WeasyPrint imported, the
fonts loaded, one small page rendered), and the served portal starts them all before it takes
its first request (`start_workers`), so that no one waits seconds for the first PDF.

What WeasyPrint may load goes through `fetch`: the portal's own static files (by their
``static_url``), nothing else: no ``file://``, no network, no ``data:``, whatever a template or
an SVG asks for. The print is traced (`Action.PRINT`) before the file leaves, as an attachment
the browser does not keep.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import re
import signal
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from litestar import Request, Response

from portal import clock
from portal.audit import Action

if TYPE_CHECKING:
    from portal.access.policy import Item
    from portal.access.view import DossierView

#: Relative URLs in a PDF's HTML (``/static/…``) resolve against this made-up origin, which
#: `fetch` recognises; nothing is ever requested from it.
BASE_URL = "https://pdf.carnet.invalid/"
#: The file types a PDF may embed from the static files.
PRINTABLE = ("text/css", "image/png", "image/svg+xml")
WORKERS = 2
#: How much lower the workers' CPU priority is than the pages' (Unix ``nice``).
NICENESS = 10
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
#: What each worker renders as it starts: WeasyPrint imported, the print fonts found and loaded.
WARM_UP = (
    '<!doctype html><html lang="fr"><meta charset="utf-8"><style>html { font-family: '
    '"DejaVu Sans", sans-serif; }</style><h1>Carnet</h1><p>Synthèse — <b>µg</b> œ 37,5 °C</p>'
)
SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")

#: What a PDF's template gets: a mapping, or an async function gathering it.
Context = Mapping[str, Any] | Callable[[], Awaitable[Mapping[str, Any]]]

_pool: ProcessPoolExecutor | None = None


class RefusedResource(ValueError):
    """A PDF asked for something other than the portal's own static files."""


def fetch(url: str, resources: dict[str, tuple[bytes, str]]) -> tuple[bytes, str]:
    """One of the portal's static files (its content and type) for ``url``, or a refusal."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}/" != BASE_URL or parts.path not in resources:
        raise RefusedResource(f"a PDF may only use the portal's static files, not {url[:80]!r}")
    return resources[parts.path]


def html_to_pdf(html: str, resources: dict[str, tuple[bytes, str]]) -> bytes:
    """The PDF of ``html`` (run in a worker process)."""
    import logging

    import weasyprint
    from weasyprint.urls import URLFetcherResponse

    class StaticFilesOnly(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            content, media_type = fetch(url, resources)
            return URLFetcherResponse(url, content, {"Content-Type": media_type})

    # A refused resource is logged by WeasyPrint as a warning, and left out of the document.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    document = weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFilesOnly())
    return document.write_pdf()


def _start_worker() -> None:
    """Run at the start of each worker: pages come first, a PDF takes what CPU is left; the
    worker ends with the portal process, however that one ends (Linux); and it warms up."""
    os.nice(NICENESS)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    html_to_pdf(WARM_UP, {})


def _started() -> int:
    """A task for a worker that has started (and warmed up): its process id."""
    return os.getpid()


def _workers() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # "spawn": a fresh interpreter, rather than a fork of a process with an event loop,
        # threads and database connections.
        _pool = ProcessPoolExecutor(
            WORKERS,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
        )
    return _pool


async def start_workers() -> None:
    """Start every worker and wait until each has warmed up (the served portal's start-up):
    one task each, given at once, makes the pool start them all."""
    loop = asyncio.get_running_loop()
    pool = _workers()
    await asyncio.gather(*(loop.run_in_executor(pool, _started) for _ in range(WORKERS)))


def shutdown() -> None:
    """Stop the worker processes (at the portal's shutdown), once the PDFs being made are:
    the pool's own thread then ends cleanly, before the interpreter's exit would wake it."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def printable_resources(static) -> dict[str, tuple[bytes, str]]:
    """The static files a PDF may embed, by the URL path `static_url` gives them."""
    return {
        f"/static/{hashed}": (file.content, file.media_type)
        for hashed, file in static.files.items()
        if file.media_type in PRINTABLE
    }


async def to_pdf(request: Request, template: str, context: dict[str, Any]) -> bytes:
    """Render ``template`` with ``context`` and turn it into a PDF, off the event loop."""
    html = request.app.template_engine.get_template(template).render(
        **{"patient": None, "printed_at": clock.now(), **context}
    )
    resources = printable_resources(request.app.state.static)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_workers(), html_to_pdf, html, resources)


async def render_pdf(
    request: Request,
    view: DossierView,
    template: str,
    context: Context,
    *,
    title: str,
    category: str | None = None,
    item: Item | None = None,
) -> Response:
    """The PDF of ``template`` for ``view``, sent as "<title>-<patient's name>.pdf".

    The print is decided and traced first, as a read of the dossier (of ``category`` or
    ``item`` of it, when given); only then is ``context`` gathered, when it is an async
    function, so nothing is read for a refused print. ``view`` and ``patient`` are added to it.
    """
    await view.require(Action.PRINT, category, item, target_type="pdf", target_id=template)
    return attachment(filename_for(view, title), await rendered(request, view, template, context))


async def rendered(request: Request, view: DossierView, template: str, context: Context) -> bytes:
    """The PDF itself, once the print has been decided (`render_pdf` decides, then calls it)."""
    gathered = await context() if callable(context) else context
    return await to_pdf(request, template, {"view": view, "patient": view.patient, **gathered})


def filename_for(view: DossierView, title: str) -> str:
    return safe_filename(f"{title}-{view.patient['first_name']} {view.patient['last_name']}")


def attachment(filename: str, content: bytes) -> Response:
    """A PDF sent to be saved, never kept by a cache or the browser's history."""
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "content-disposition": f'attachment; filename="{safe_filename(filename)}"',
            "cache-control": "no-store",
        },
    )


def safe_filename(name: str) -> str:
    """``name`` as a file name any system accepts (ASCII letters, digits, ``.``, ``_``, ``-``):
    ``Léo Martin`` becomes ``Leo-Martin``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = SAFE_FILENAME.sub("-", ascii_name).strip("-.") or "document"
    return cleaned if cleaned.endswith(".pdf") else f"{cleaned}.pdf"
