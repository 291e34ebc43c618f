"""What every page a journey passes through must be, checked where the journey stands.

`Journey(page, javascript, name)` watches ``page``'s network traffic as Chromium reports it
(Playwright's request events, with the sizes the browser received), and
``journey.check("label")`` checks the page as it is now:

- the layout every page has (`assert_layout`), and axe-core's WCAG 2.1 AA rules with JavaScript
  on (`assert_accessible`);
- nothing wider than the screen (the journeys run on a 360 × 640 phone): no sideways scrolling,
  and no table cut off in a box that scrolls sideways (at phone width, its rows are stacked);
- every control a thumb must hit (field, checkbox, radio button, list, button) at least
  24 × 24 px (WCAG 2.2, 2.5.8), whatever its label;
- a screenshot at that size, saved for review under ``var/screenshots/`` (git-ignored);
- the budgets of ARCHITECTURE.md, from the bytes the browser received: the page's HTML
  compressed ≤ 14 600 bytes (whether loaded as a document or, with htmx boosting a link or a
  form, fetched whole); every htmx fragment ≤ 8 KB compressed; a cold visit ≤ 4 requests and
  ≤ 45 KB transferred in all, headers included. A cold visit's requests are every one the
  browser sends until the page settles: the document, what it references (the stylesheet,
  htmx) and the htmx fragments the page then loads by itself (the dossier's cards). The cold
  visit is the page's address opened by the same person in a new browser context (nothing
  cached, no connection open), once per kind of page in a journey.

Each check's figures are kept in `MEASURED`, written to ``var/screenshots/pages.tsv`` at the
end of the run (see conftest), from which docs/performance.md reports them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, Response

from .conftest import DEFAULT_LOCALE, REPOSITORY, assert_accessible, assert_layout

PHONE = {"width": 360, "height": 640}
#: The smallest target a thumb is given, in CSS pixels (WCAG 2.2, 2.5.8).
TARGET_SIZE = 24
#: The visible controls smaller than that, and the tables wider than their box.
_SMALL_CONTROLS = """size => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')]
  .filter(control => control.getClientRects().length)
  .map(control => [control, control.getBoundingClientRect()])
  .filter(([, box]) => box.width < size || box.height < size)
  .map(([control, box]) => `${control.tagName.toLowerCase()}#${control.id || control.name}: `
    + `${Math.round(box.width)} × ${Math.round(box.height)} px`)"""
_CUT_TABLES = """() => [...document.querySelectorAll('table')]
  .filter(table => table.scrollWidth > table.clientWidth + 1)
  .map(table => `a table of ${table.scrollWidth} px in ${table.clientWidth}`)"""
PAGE_BUDGET = 14_600
FRAGMENT_BUDGET = 8 * 1024
COLD_REQUEST_BUDGET = 4
FIRST_VISIT_BUDGET = 45 * 1024
SCREENSHOTS = REPOSITORY / "var" / "screenshots"
#: How long the page must stay without a request in flight to count as settled, and the
#: longest wait for it (a bound, never asserted: a page still busy then is checked as it is).
QUIET = 0.15  # seconds
SETTLE_LIMIT = 10  # seconds
_IDENTIFIER = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Exchange:
    """One request and its answer, as the browser saw them."""

    url: str
    kind: str  # "page", "fragment", "subresource", "redirect", "download" or "failed"
    status: int
    body: int  # bytes of the body as received (compressed)
    transfer: int  # bytes received in all, headers included
    document: bool  # loaded as the tab's document (not fetched by htmx)

    @property
    def path(self) -> str:
        return re.sub(r"^https?://[^/]+", "", self.url)


@dataclass
class Measure:
    """The figures of one checked page."""

    journey: str
    javascript: bool
    label: str
    path: str
    html: int  # compressed bytes of the page's HTML
    cold_requests: int  # every request of a cold visit, the fragments below included
    lazy_fragments: int  # of which htmx fragments the page loads by itself
    cold_transfer: int  # everything a cold visit received, fragments included
    fragments: list[int] = field(default_factory=list)  # fragments asked since the last check


#: Every page checked in this run.
MEASURED: list[Measure] = []


def _kind(request: Request, response: Response) -> str:
    if 300 <= response.status < 400:
        return "redirect"
    if request.resource_type in {"xhr", "fetch"}:
        return "page" if _boosted(request) else "fragment"
    if request.resource_type == "document":
        content_type = response.headers.get("content-type", "")
        return "page" if content_type.startswith("text/html") else "download"
    return "subresource"


def _boosted(request: Request | None) -> bool:
    """A boosted link or form fetches a whole page: htmx says so in a header, which the
    request after a redirect does not carry, but the request redirected does."""
    while request is not None:
        if request.headers.get("hx-boosted") == "true":
            return True
        request = request.redirected_from
    return False


def _exchange(request: Request) -> Exchange:
    response = request.response()
    if response is None:
        return Exchange(request.url, "failed", 0, 0, 0, False)
    sizes = request.sizes()
    body = sizes["responseBodySize"]
    return Exchange(
        request.url,
        _kind(request, response),
        response.status,
        body,
        body + sizes["responseHeadersSize"],
        request.resource_type == "document",
    )


class _Recorder:
    """The requests one page sends, in order, and which are still in flight."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.finished: list[Request] = []
        self.in_flight: set[Request] = set()
        page.on("request", lambda request: self.in_flight.add(request))
        page.on("requestfinished", self._done)
        page.on("requestfailed", self._done)

    def _done(self, request: Request) -> None:
        self.in_flight.discard(request)
        self.finished.append(request)

    def settle(self) -> None:
        """Wait until no request has been in flight for a moment (the lazy cards included)."""
        deadline = time.monotonic() + SETTLE_LIMIT
        quiet_since = None
        while time.monotonic() < deadline:
            if self.in_flight:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= QUIET:
                return
            self.page.wait_for_timeout(25)

    def take(self) -> list[Exchange]:
        """The exchanges finished since the last call."""
        taken, self.finished = self.finished, []
        return [_exchange(request) for request in taken]


@dataclass
class ColdVisit:
    html: int
    requests: int  # every request the browser sent, the document and the fragments included
    lazy_fragments: int
    transfer: int
    paths: list[str]  # what was asked after the document


class Journey:
    """A person's way through the portal in one page, checked page by page."""

    def __init__(self, page: Page, javascript: bool, name: str) -> None:
        self.page = page
        self.javascript = javascript
        self.name = f"{name}-{'js' if javascript else 'no-js'}"
        self._recorder = _Recorder(page)
        self._cold: dict[str, ColdVisit | None] = {}
        self._count = 0
        self.folder = SCREENSHOTS / self.name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()

    def check(self, label: str) -> Measure:
        """Check the page as it is now (see the module's docstring); ``label`` names it in the
        screenshots and the figures."""
        page = self.page
        self._recorder.settle()
        exchanges = self._recorder.take()
        self._count += 1
        page.screenshot(path=self.folder / f"{self._count:02d}-{label}.png", full_page=True)
        assert_layout(page)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{label} ({page.url}) is {overflow}px wider than the screen"
        cut = page.evaluate(_CUT_TABLES)
        assert not cut, f"{label} ({page.url}) cuts tables off: {', '.join(cut)}"
        small = page.evaluate(_SMALL_CONTROLS, TARGET_SIZE)
        assert not small, f"{label} ({page.url}) has targets under 24 px: {', '.join(small)}"
        if self.javascript:
            assert_accessible(page)

        problems = []
        measure = Measure(self.name, self.javascript, label, _path(page.url), 0, 0, 0, 0)
        for exchange in exchanges:
            if exchange.kind == "page":
                measure.html = exchange.body  # the last one is the page shown
                if exchange.body > PAGE_BUDGET:
                    problems.append(f"{exchange.path}: {exchange.body} bytes of HTML")
            if exchange.kind == "fragment":
                measure.fragments.append(exchange.body)
                if exchange.body > FRAGMENT_BUDGET:
                    problems.append(f"{exchange.path}: a fragment of {exchange.body} bytes")
        cold = self._cold_visit(page.url)
        if cold is not None:
            measure.cold_requests = cold.requests
            measure.lazy_fragments = cold.lazy_fragments
            measure.cold_transfer = cold.transfer
            if cold.html > PAGE_BUDGET:
                problems.append(f"{cold.html} bytes of HTML on a cold visit")
            if cold.requests > COLD_REQUEST_BUDGET:
                names = ", ".join(cold.paths)
                problems.append(f"{cold.requests} requests on a cold visit (the page, {names})")
            if cold.transfer > FIRST_VISIT_BUDGET:
                problems.append(f"{cold.transfer} bytes transferred on a cold visit")
        MEASURED.append(measure)
        if problems:
            pytest.fail(f"{label} ({page.url}) is over budget:\n- " + "\n- ".join(problems))
        return measure

    def _cold_visit(self, url: str) -> ColdVisit | None:
        """``url`` opened by the same person in a new browser context: nothing cached, no
        connection open. Measured once per kind of page in a journey; None for a page only a
        form's answer shows (a GET does not bring it back)."""
        key = _path(url).split("?")[0]
        if key in self._cold:
            return self._cold[key]
        context = self.page.context
        fresh = context.browser.new_context(
            base_url=None,
            storage_state=context.storage_state(),
            java_script_enabled=self.javascript,
            viewport=self.page.viewport_size,
            locale=DEFAULT_LOCALE,
        )
        try:
            recorder = _Recorder(fresh.new_page())
            response = recorder.page.goto(url)
            recorder.settle()
            exchanges = recorder.take()
        finally:
            fresh.close()
        arrived = response is not None and response.status == 200
        if not arrived or _path(response.url) != _path(url):
            self._cold[key] = None
            return None
        document = next(e for e in exchanges if e.kind == "page" and e.document)
        rest = [e for e in exchanges if e is not document]
        self._cold[key] = ColdVisit(
            html=document.body,
            requests=len(exchanges),  # failed ones too: they were sent all the same
            lazy_fragments=sum(e.kind == "fragment" for e in rest),
            transfer=sum(e.transfer for e in exchanges),
            paths=[e.path for e in rest],
        )
        return self._cold[key]


#: The journey each page opened by `journey_page` belongs to.
_JOURNEYS: dict[Page, Journey] = {}


def journey_page(new_page, javascript: bool, name: str, **options) -> Page:
    """A page from the ``new_page`` fixture on the 360 × 640 phone, whose journey `checked`
    checks."""
    page = new_page(javascript=javascript, viewport=PHONE, **options)
    _JOURNEYS[page] = Journey(page, javascript, name)
    return page


def checked(page: Page, label: str) -> Measure:
    """`Journey.check` for a page opened by `journey_page`."""
    return _JOURNEYS[page].check(label)


def _path(url: str) -> str:
    """The page's path, with its identifiers as ``{id}``, so that runs compare."""
    return _IDENTIFIER.sub("{id}", re.sub(r"^https?://[^/]+", "", url))


def write_measures(path: Path) -> None:
    """The figures of every checked page, one line each, tab-separated."""
    if not MEASURED:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "journey\tlabel\tpath\thtml_bytes\tcold_requests\tlazy_fragments\tcold_transfer_bytes\t"
        "fragments_bytes"
    ]
    lines.extend(
        f"{m.journey}\t{m.label}\t{m.path}\t{m.html}\t{m.cold_requests}\t{m.lazy_fragments}\t"
        f"{m.cold_transfer}\t{','.join(map(str, m.fragments))}"
        for m in MEASURED
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
