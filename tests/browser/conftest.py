"""Real-browser tests: the portal served by ``carnet serve``, driven by Debian's chromium.

Fixtures: ``portal`` (the server with the demo people, one per session), ``browser`` (one
chromium per module), ``new_page`` (a page in a fresh browser context, closed after the test),
``javascript`` and ``page`` (every test that uses ``page`` runs with JavaScript on and off),
``totp`` (second-factor codes for the demo accounts, see `TotpCodes`).

Helpers for the tests: `record_console_errors`, `assert_no_console_errors`, `assert_layout`,
`assert_accessible`, `translated`, `log_in`, `messages_to`, `run_carnet`, and `serve` and
`free_port` for a portal of a test's own.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple
from weakref import WeakSet

import pyotp
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from portal.i18n import translations
from portal.identity.second_factor import TOTP_PERIOD

REPOSITORY = Path(__file__).resolve().parents[2]
AXE_SCRIPT = REPOSITORY / "node_modules" / "axe-core" / "axe.min.js"
CARNET = Path(sys.executable).with_name("carnet")
CHROMIUM = Path("/usr/bin/chromium")
# Headless without the sandbox (tests run as root in CI) and without any traffic of chromium's
# own: the network is closed, so background requests would only slow it down.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERVER_START_TIMEOUT = 30  # seconds
# Carnet's audience is French: pages open as a browser set to French would.
DEFAULT_LOCALE = "fr-FR"
#: Contexts opened with JavaScript off, where axe cannot run.
_WITHOUT_JAVASCRIPT: WeakSet[BrowserContext] = WeakSet()


# --- the server -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Portal:
    url: str
    data_dir: Path
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_environment(data_dir: Path, url: str) -> dict[str, str]:
    # The settings refuse unknown CARNET_* names, and the developer's own ones (a PostgreSQL
    # URL, a secret key) must not leak into the test server: start from none of them.
    environ = {name: value for name, value in os.environ.items() if not name.startswith("CARNET_")}
    environ.update(
        CARNET_ENV="test",
        CARNET_DATA_DIR=str(data_dir),
        CARNET_DATABASE_URL=f"sqlite:///{data_dir}/carnet.sqlite3",
        # Its public address: software addresses its signed assertions to it.
        CARNET_BASE_URL=url,
    )  # and the default CARNET_ALLOWED_HOSTS: the browser sends "Host: 127.0.0.1:PORT"
    return environ


def _wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    # No proxy for the loopback, whatever the environment says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"carnet serve exited with status {process.returncode}:\n{log.read_text()}")
        try:
            with opener.open(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:
            if error.code != 503:  # 503: the database is not ready yet; anything else won't heal
                pytest.fail(f"{url}/health answered {error.code}: {error.read()!r}")
        except (urllib.error.URLError, ConnectionError):
            pass  # not listening yet
        time.sleep(0.1)
    pytest.fail(
        f"carnet serve did not answer {url}/health within {SERVER_START_TIMEOUT} s:\n"
        f"{log.read_text()}"
    )


@contextmanager
def serve(data_dir: Path, port: int, **settings: str) -> Iterator[Portal]:
    """The real portal, as `make run` serves it, on ``port`` with a fresh SQLite database in
    ``data_dir`` holding the demo people (`carnet demo`, CONVENTIONS.md), and nothing else;
    ``settings`` are CARNET_* settings added to the defaults."""
    url = f"http://127.0.0.1:{port}"
    environ = {**_server_environment(data_dir, url), **settings}
    log = data_dir / "server.log"
    with log.open("wb") as output:  # a file, not a pipe: a full pipe would block the server
        for command in (["db", "upgrade"], ["demo"]):
            done = subprocess.run(
                [str(CARNET), *command], env=environ, stdout=output, stderr=subprocess.STDOUT
            )
            if done.returncode:
                pytest.fail(f"carnet {' '.join(command)} failed:\n{log.read_text()}")
        process = subprocess.Popen(
            [str(CARNET), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environ,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(url, process, log)
        yield Portal(url=url, data_dir=data_dir, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def portal(tmp_path_factory) -> Iterator[Portal]:
    """The portal of `serve`, with its default settings, for the whole session."""
    with serve(tmp_path_factory.mktemp("portal"), free_port()) as portal:
        yield portal


def messages_to(portal: Portal, recipient: str) -> list[str]:
    """The bodies of the messages the portal sent to ``recipient`` (an e-mail address, or a
    mobile in international form), newest first: the test portal keeps them in its outbox."""
    with closing(sqlite3.connect(portal.data_dir / "carnet.sqlite3")) as database:
        rows = database.execute(
            "SELECT body FROM outbox_message WHERE recipient = ? ORDER BY created_at DESC",
            (recipient,),
        ).fetchall()
    return [body for (body,) in rows]


def run_carnet(portal: Portal, *arguments: str, stdin: str = "") -> str:
    """Run ``carnet ARGUMENTS`` on the portal's database (``carnet user create …``, say);
    returns its output, and fails the test if it fails."""
    done = subprocess.run(
        [str(CARNET), *arguments],
        input=stdin,
        env=_server_environment(portal.data_dir, portal.url),
        capture_output=True,
        text=True,
    )
    if done.returncode:
        pytest.fail(f"carnet {' '.join(arguments)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


# --- the browser ----------------------------------------------------------------------------


# One per module, not per session: while Playwright's sync API is alive, asyncio believes a loop
# runs in this thread, and every pytest-asyncio test after it fails ("Runner.run() cannot be
# called from a running event loop"). Closing it with its module lets the async tests follow.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium; Playwright never downloads a browser of its own."""
    if not CHROMIUM.exists() or not AXE_SCRIPT.exists():
        pytest.fail("The browser tests need chromium and axe-core: run `make browser`.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, portal) -> Iterator[Callable[..., Page]]:
    """Open pages, each in a fresh context (no cookies shared), all closed after the test.

    ``new_page(javascript=False, locale="en-GB", **context_options)``; relative URLs given to
    ``page.goto`` are resolved against the portal.
    """
    contexts: list[BrowserContext] = []

    def open_page(*, javascript: bool = True, locale: str = DEFAULT_LOCALE, **options) -> Page:
        context = browser.new_context(
            base_url=portal.url, java_script_enabled=javascript, locale=locale, **options
        )
        contexts.append(context)
        if not javascript:
            _WITHOUT_JAVASCRIPT.add(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def javascript(request) -> bool:
    """Every page must work without JavaScript (htmx only enhances it): test both."""
    return request.param


@pytest.fixture
def page(new_page, javascript) -> Page:
    return new_page(javascript=javascript)


class TotpCodes:
    """Authenticator codes for the demo accounts, each one the portal will accept.

    The portal accepts a code once per account and 30-second time step (a replayed step is
    refused), for the current step and the ones just before and after it (clock drift). So
    each code given here is for the current step or the next one, whichever this account has
    not used yet: an account may log in twice within a step, and a code stays valid if the
    step changes between here and the server. Only these tests log in to the session's
    portal, so what they used is all that the portal has seen. A third login of one account
    within a step waits (bounded) for the next step; the tests are arranged never to need it.
    """

    def __init__(self, secret: str = DEMO_TOTP_SECRET) -> None:
        self._totp = pyotp.TOTP(secret, interval=TOTP_PERIOD)
        self._last_step: dict[str, int] = {}

    def code(self, login: str) -> str:
        deadline = time.monotonic() + 2 * TOTP_PERIOD
        while True:
            current = int(time.time()) // TOTP_PERIOD
            step = max(current, self._last_step.get(login, -1) + 1)
            if step <= current + 1:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"no TOTP step left for {login}")
            time.sleep(0.2)  # bounded polling: waiting for the clock to reach the next step
        self._last_step[login] = step
        return self._totp.at(step * TOTP_PERIOD)


@pytest.fixture(scope="session")
def totp() -> TotpCodes:
    return TotpCodes()


@pytest.fixture
def console_errors(page) -> list[ConsoleError]:
    """The errors ``page`` reports from now on (load failures, CSP violations, exceptions)."""
    return record_console_errors(page)


# --- helpers --------------------------------------------------------------------------------


class ConsoleError(NamedTuple):
    text: str
    url: str  # where it happened: the failing resource, the script, or the page

    def __str__(self) -> str:
        return f"{self.text} ({self.url})"


def record_console_errors(page: Page) -> list[ConsoleError]:
    """Start collecting ``page``'s errors; call it before ``page.goto``.

    Chromium reports every Content-Security-Policy violation as a console error, so an empty
    list also means that the CSP blocked nothing.
    """
    errors: list[ConsoleError] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(ConsoleError(message.text, message.location.get("url", "")))

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(ConsoleError(str(error), page.url)))
    return errors


def assert_no_console_errors(errors: list[ConsoleError]) -> None:
    if errors:
        pytest.fail("The browser reported errors:\n" + "\n".join(f"- {e}" for e in errors))


def translated(message: str, language: str = "fr") -> str:
    """``message`` as the portal shows it in ``language``, from the same compiled catalog."""
    return translations(language).gettext(message)


def log_in(page: Page, login: str, totp: TotpCodes, password: str = DEMO_PASSWORD) -> None:
    """Both login steps of a demo account, in French, as a person would do them; the page
    ends on the person's home."""
    page.goto("/login")
    page.get_by_label(translated("E-mail address or mobile number"), exact=True).fill(login)
    page.get_by_label(translated("Password"), exact=True).fill(password)
    page.get_by_role("button", name=translated("Continue")).click()
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.get_by_label(translated("Code"), exact=True).fill(totp.code(login))
    page.get_by_role("button", name=translated("Log in")).click()
    expect(page.get_by_role("button", name=translated("Log out"))).to_be_visible()


def assert_layout(page: Page, language: str = "fr") -> None:
    """What every page of the portal has: its language, a title, a skip link, one h1."""
    assert page.locator("html").get_attribute("lang") == language
    assert page.title().endswith(" · Carnet"), page.title()
    skip_link = page.locator("a.skip-link")
    assert skip_link.get_attribute("href") == "#main"
    assert page.locator("#main").count() == 1, "the skip link's target is missing"
    headings = page.locator("h1")
    assert headings.count() == 1, f"{headings.count()} h1 on {page.url}"
    assert headings.inner_text().strip(), f"empty h1 on {page.url}"


@cache
def _axe_source() -> str:
    return AXE_SCRIPT.read_text(encoding="utf-8")


# Only what a violation report needs; axe's full result is large to send back from the page.
_RUN_AXE = """async tags => {
    const results = await axe.run(document, {runOnly: {type: "tag", values: tags}});
    return results.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
    }));
}"""


def assert_accessible(page: Page) -> None:
    """Run axe-core's WCAG 2.1 A and AA rules on the page as it is now; list any violation.

    axe is evaluated through the DevTools protocol rather than ``page.add_script_tag``: that
    inserts an inline <script>, which the portal's CSP (``script-src 'self'``) rightly blocks,
    and ``bypass_csp=True`` would switch off the very policy these tests must see enforced.
    The page needs JavaScript on: without it ``axe.run`` never settles (its timers never fire).
    """
    if page.context in _WITHOUT_JAVASCRIPT:
        pytest.fail("axe needs JavaScript: check accessibility in a page opened with it on.")
    if not page.evaluate("typeof window.axe === 'object'"):  # once per document
        page.evaluate(_axe_source())
    violations = page.evaluate(_RUN_AXE, WCAG_TAGS)
    report = [f"{len(violations)} accessibility violation(s) on {page.url}:"]
    for violation in violations:
        report.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        report.extend(f"    {node['target']}: {node['summary']}" for node in violation["nodes"])
    if violations:
        pytest.fail("\n".join(report))


@pytest.fixture(scope="session", autouse=True)
def page_figures() -> Iterator[None]:
    """At the end of the run, the figures of every page the journeys checked, for review
    (``var/screenshots/pages.tsv``, next to the screenshots)."""
    yield
    from .pages import SCREENSHOTS, write_measures

    write_measures(SCREENSHOTS / "pages.tsv")
