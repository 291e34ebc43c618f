"""What the identity tests share: a frozen clock, portals on the test's database, browsers
that fill in the real forms, people to log in as, and the development outbox.

- ``clock``: `portal.clock.now` frozen at a fixed instant; ``clock.advance(minutes=31)``
  moves it. TOTP codes, idle timeouts, locks and expiring links all read this clock.
- ``database_url``: as tests/conftest.py's (a fresh database for each test, once on SQLite
  and once on PostgreSQL) but already migrated, copied from a template made once
  (``carnet_templates``, from the test kit `portal.testing`).
- ``start_portal(**CARNET_settings)``: a running portal (lifespan started) on the test's
  database; call it twice for two app instances, as two worker processes would be.
  ``portal`` is one started with the default test settings. Argon2 is cheap in them unless
  the test asks for ``real_argon2`` (see ``quick_hashing``).
- ``new_browser(app, address=..., https=..., user_agent=...)``: a `Browser`, which keeps its
  cookies, remembers the last page and sends forms with the hidden fields (CSRF token
  included) that the page gave it, like a person's browser.
- `new_patient`, `new_professional`, `new_administrator` create accounts through
  `portal.identity.accounts.create_account`; `log_in`, `enter_password` and `enter_code` go
  through ``/login`` and ``/login/code`` as a person does.
- ``outbox``: the messages the development channel sent (login codes, password links).
- ``local_providers``, ``at_provider``, ``fake_provider``: OpenID Connect providers for the
  national logins (`tests.identity.identity_providers`); ``real_time`` sets the frozen clock
  to the real time, which their tokens carry.

The app runs in the test's own event loop (httpx's ASGI transport), as it does under uvicorn:
requests can really run concurrently, and the test may query the database between requests,
on SQLite as on PostgreSQL, without crossing event loops.
"""

from __future__ import annotations

import re
import secrets
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import pyotp
import pytest
from argon2 import PasswordHasher
from litestar import Litestar

from portal import clock as portal_clock
from portal.app import create_app
from portal.identity import passwords, second_factor
from portal.identity.accounts import NewAccount, create_account
from portal.identity.numbers import luhn_check_digit, nir_key
from portal.identity.tables import Role, SecondFactor
from portal.notifications.tables import OutboxMessage
from portal.plugins import load_plugins
from portal.testing import copy_database
from tests.conftest import (
    ENGINES,
    TEST_HOST,
    drop_postgres_database,
    make_settings,
    running,
)
from tests.identity.identity_providers import REPOSITORY, AtProvider, FakeProvider, LocalProviders

#: A password that passes the policy and contains nobody's name.
PASSWORD = "Une phrase de passe assez longue"
#: Monday 2 March 2026, 09:00:10 UTC: 10 seconds into a TOTP step.
START = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)
GENERIC_LOGIN_ERROR = (
    "Login or password incorrect. After several failed attempts, the account is locked for a "
    "few minutes."
)
INVALID_CODE = "This code is not valid. Check it, or wait for the next one, and try again."
FORM_EXPIRED = "This form has expired or did not come from Carnet. Reload the page and try again."
DB_FILE = "carnet.sqlite3"
CSRF_TOKEN = re.compile(r'(name="csrf_token" value=")[^"]+(")|("X-CSRF-Token": ")[^"]+(")')


# --- the clock ------------------------------------------------------------------------------


class FrozenClock:
    """Stands in for `portal.clock.now`: the time only moves when the test says so."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> FrozenClock:
    frozen = FrozenClock(START)
    monkeypatch.setattr(portal_clock, "now", frozen)
    return frozen


def frozen_clock() -> FrozenClock:
    """The clock the ``clock`` fixture installed (helpers reach it without a parameter)."""
    frozen = portal_clock.now
    # Duck-typed: pytest loads this file as a conftest, the tests import it as a module.
    assert hasattr(frozen, "advance"), "use the `clock` fixture"
    return frozen


# --- databases ------------------------------------------------------------------------------


@pytest.fixture(params=ENGINES)
async def database_url(request, tmp_path, carnet_templates) -> AsyncIterator[str]:
    """As the suite's `database_url` (a fresh database for each test, on SQLite and PostgreSQL),
    but with the migrations of the core and of the installed plugins already applied: a copy
    of a template made once per engine (`portal.testing`), which saves a tenth of a second per
    test, hundreds of times."""
    if "installed_third_party_plugin" in request.fixturenames:
        request.getfixturevalue("installed_third_party_plugin")  # its tables too, then
    template = await carnet_templates.get(request.param, load_plugins(), demo=False)
    url = await copy_database(template, tmp_path)
    try:
        yield url
    finally:
        if request.param == "postgres":
            await drop_postgres_database(url)


# --- portals --------------------------------------------------------------------------------


@pytest.fixture
async def start_portal(
    request, tmp_path, database_url, clock
) -> AsyncIterator[Callable[..., Awaitable]]:
    """Start portals on the test's (migrated) database, with cheap Argon2 unless the test
    asks for ``real_argon2``."""
    if "real_argon2" not in request.fixturenames:
        request.getfixturevalue("quick_hashing")
    async with AsyncExitStack() as stack:

        async def start(**environ: str) -> Litestar:
            app = create_app(make_settings(tmp_path, database_url, **environ))
            await stack.enter_async_context(running(app))
            return app

        yield start


@pytest.fixture
async def portal(start_portal) -> Litestar:
    return await start_portal()


@pytest.fixture
def quick_hashing(monkeypatch) -> None:
    """Cheap Argon2 (the same code, tiny parameters) for the tests that are about something
    else than hashing: sessions, codes, locks, forms. A real hash costs 0.1 s of CPU and
    these tests make hundreds. What is about hashing (the parameters, the rehash, the equal
    work of a wrong login, a burst of logins) asks for ``real_argon2``."""
    cheap = PasswordHasher(memory_cost=64, time_cost=1, parallelism=1)
    dummy = cheap.hash(secrets.token_hex(16))
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_dummy_hash", lambda: dummy)


@pytest.fixture
def real_argon2() -> None:
    """The portal hashes with its real Argon2id parameters in this test (see quick_hashing)."""


# --- browsers -------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormReader(HTMLParser):
    """The forms of a page with the values a browser would send without the person typing."""

    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.forms: list[Form] = []
        self.select: str | None = None  # the name of the <select> being read
        self.chosen = False  # whether it has a selected option yet

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            action = attributes.get("action") or self.page_path
            self.forms.append(Form(action, attributes.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "select" and attributes.get("name"):
            self.select, self.chosen = attributes["name"], False
        elif tag == "option" and self.select:
            # The first option, unless a later one is marked selected.
            if "selected" in attributes or self.select not in self.forms[-1].fields:
                if not self.chosen:
                    self.forms[-1].fields[self.select] = attributes.get("value", "")
                self.chosen = self.chosen or "selected" in attributes
        elif tag in ("input", "textarea") and attributes.get("name"):
            kind = attributes.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            self.forms[-1].fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None


def forms_of(page: str, page_path: str = "/") -> list[Form]:
    reader = _FormReader(page_path)
    reader.feed(page)
    return reader.forms


def without_csrf_token(page: str) -> str:
    """The page with every CSRF token blanked out (they differ from browser to browser)."""
    return CSRF_TOKEN.sub(lambda m: "".join(part or "" for part in m.groups()), page)


def field_error(page: str, name: str) -> str:
    """The error shown next to the field ``name`` ("" when there is none)."""
    match = re.search(rf'<p class="error" id="{re.escape(name)}-error">(.*?)</p>', page, re.S)
    return match.group(1).strip() if match else ""


class Browser:
    """One person's browser: its cookies, the last page it showed, the forms on that page."""

    def __init__(
        self, app: Litestar, *, address: str, https: bool, user_agent: str, cookie_prefix: str
    ) -> None:
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(address, 50000)),
            base_url=f"{'https' if https else 'http'}://{TEST_HOST}",
            headers={"user-agent": user_agent},
        )
        self.cookie_prefix = cookie_prefix
        self.page = ""
        self.path = "/"

    # Requests

    async def get(self, path: str, **options) -> httpx.Response:
        response = await self.http.get(path, **options)
        self._remember(response)
        return response

    async def post(self, path: str, data: dict | None = None, **options) -> httpx.Response:
        """A raw POST: only what is given is sent (no CSRF token unless it is in ``data``)."""
        response = await self.http.post(path, data=data, **options)
        self._remember(response)
        return response

    async def submit(self, action: str, values: dict | None = None, **options) -> httpx.Response:
        """Send the form of the last page whose action is ``action``, with ``values`` typed in
        (a value of None unticks a box: the field is not sent)."""
        candidates = [form for form in forms_of(self.page, self.path) if form.action == action]
        assert candidates, f"no form for {action} on {self.path}"
        data = {**candidates[0].fields, **(values or {})}
        data = {name: value for name, value in data.items() if value is not None}
        return await self.post(action, data=data, **options)

    async def open_and_submit(
        self, page: str, action: str, values: dict | None = None, **options
    ) -> httpx.Response:
        """Open ``page``, then send its form for ``action``."""
        response = await self.get(page)
        assert response.status_code == 200, (page, response.status_code)
        return await self.submit(action, values, **options)

    def _remember(self, response: httpx.Response) -> None:
        if response.headers.get("content-type", "").startswith("text/html") and response.text:
            self.page = response.text
            self.path = response.request.url.path

    # What the browser holds

    @property
    def csrf_token(self) -> str:
        """The token the last page gave to its forms."""
        return re.search(r'name="csrf_token" value="([^"]+)"', self.page).group(1)

    @property
    def htmx_token(self) -> str:
        """The token the last page gave htmx, for its ``X-CSRF-Token`` header."""
        return re.search(r"hx-headers='\{\"X-CSRF-Token\": \"([^\"]+)\"\}'", self.page).group(1)

    @property
    def session_cookie_name(self) -> str:
        return f"{self.cookie_prefix}carnet_session"

    @property
    def session_cookie(self) -> str | None:
        return self.http.cookies.get(self.session_cookie_name)

    def set_session_cookie(self, value: str) -> None:
        self.http.cookies.set(self.session_cookie_name, value, domain=TEST_HOST, path="/")

    async def is_signed_in(self) -> bool:
        """Whether a page for signed-in people opens, or sends this browser to the login."""
        response = await self.get("/account")
        if response.status_code == 200:
            return True
        assert response.status_code == 303, response.status_code
        assert response.headers["location"].startswith("/login")
        return False


@pytest.fixture
async def new_browser(request) -> AsyncIterator[Callable[..., Browser]]:
    """``new_browser()`` opens a browser on ``portal``; ``new_browser(app)`` on another one."""
    async with AsyncExitStack() as stack:

        def open_browser(
            app: Litestar | None = None,
            *,
            address: str = "127.0.0.1",
            user_agent: str = "Firefox de test",
        ) -> Browser:
            app = app or request.getfixturevalue("portal")
            secure = app.state.settings.cookie_secure
            browser = Browser(
                app,
                address=address,
                https=secure,
                user_agent=user_agent,
                cookie_prefix="__Host-" if secure else "",
            )
            stack.push_async_callback(browser.http.aclose)
            return browser

        yield open_browser


@pytest.fixture
def browser(portal, new_browser) -> Browser:
    return new_browser(portal)


# --- people ---------------------------------------------------------------------------------


@dataclass
class Person:
    id: UUID
    login: str
    role: Role
    first_name: str
    last_name: str
    password: str = PASSWORD
    totp_secret: str = ""
    #: The last TOTP step this person used: a code is accepted once, so `log_in` waits for
    #: the next step (moves the clock 30 s) when the current one is spent.
    last_step: int = -1

    def totp_code(self, steps: int = 0) -> str:
        """The code the person's authenticator shows now (or ``steps`` steps away)."""
        moment = frozen_clock()() + timedelta(seconds=steps * second_factor.TOTP_PERIOD)
        return pyotp.TOTP(self.totp_secret, interval=second_factor.TOTP_PERIOD).at(moment)


def _unique_login(first_name: str, last_name: str) -> str:
    return f"{first_name}.{last_name}.{secrets.token_hex(3)}@exemple.fr".lower()


def new_rpps() -> str:
    body = "1" + "".join(str(secrets.randbelow(10)) for _ in range(9))
    return body + luhn_check_digit(body)


def new_nir() -> str:
    first13 = f"2860475{secrets.randbelow(10**6):06d}"
    return first13 + nir_key(first13)


async def _create(new: NewAccount) -> Person:
    account_id = await create_account(new)
    return Person(
        id=account_id,
        login=new.login,
        role=new.role,
        first_name=new.first_name,
        last_name=new.last_name,
        password=new.password,
        totp_secret=new.totp_secret,
    )


async def new_patient(
    *,
    first_name: str = "Alice",
    last_name: str = "Dupont",
    second_factor: SecondFactor = SecondFactor.TOTP,
    with_authenticator: bool = True,
    password: str = PASSWORD,
) -> Person:
    """A patient with a password and, unless told otherwise, an authenticator set up."""
    return await _create(
        NewAccount(
            role=Role.PATIENT,
            login=_unique_login(first_name, last_name),
            first_name=first_name,
            last_name=last_name,
            password=password,
            second_factor=second_factor,
            totp_secret=(
                pyotp.random_base32(32)
                if with_authenticator and second_factor == SecondFactor.TOTP
                else ""
            ),
            nir=new_nir(),
            birth_date=date(1986, 4, 12),
        )
    )


async def new_professional(
    *,
    first_name: str = "Bruno",
    last_name: str = "Leclerc",
    with_authenticator: bool = True,
    password: str = PASSWORD,
    role: Role = Role.PROFESSIONAL,
    profession: str = "medecin",
    specialty: str = "",
    rpps: str = "",
) -> Person:
    """A professional (a médecin unless told otherwise) with an RPPS number (a new one unless
    told otherwise), a password and (unless told otherwise) a TOTP app."""
    return await _create(
        NewAccount(
            role=role,
            login=_unique_login(first_name, last_name),
            first_name=first_name,
            last_name=last_name,
            password=password,
            totp_secret=pyotp.random_base32(32) if with_authenticator else "",
            rpps=rpps or new_rpps(),
            profession=profession,
            specialty=specialty,
        )
    )


async def new_administrator(*, first_name: str = "Chantal", last_name: str = "Roche") -> Person:
    return await _create(
        NewAccount(
            role=Role.ADMINISTRATOR,
            login=_unique_login(first_name, last_name),
            first_name=first_name,
            last_name=last_name,
            password=PASSWORD,
            totp_secret=pyotp.random_base32(32),
        )
    )


# --- logging in -----------------------------------------------------------------------------


async def enter_password(
    browser: Browser,
    login: str,
    password: str,
    *,
    page: str = "/login",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The first step: open the login page and send the login form."""
    return await browser.open_and_submit(
        page, "/login", {"login": login, "password": password}, headers=headers
    )


async def enter_code(browser: Browser, code: str) -> httpx.Response:
    """The second step: open the code page and send the code."""
    return await browser.open_and_submit("/login/code", "/login/code", {"code": code})


def fresh_totp_code(person: Person) -> str:
    """The current code, after waiting for the next step if this one has been used."""
    step = int(frozen_clock()().timestamp()) // second_factor.TOTP_PERIOD
    if step <= person.last_step:
        frozen_clock().advance(seconds=second_factor.TOTP_PERIOD * (person.last_step - step + 1))
        step = person.last_step + 1
    person.last_step = step
    return person.totp_code()


async def log_in(browser: Browser, person: Person, *, page: str = "/login") -> httpx.Response:
    """Both steps with a TOTP code; returns the redirect to where the person lands."""
    first = await enter_password(browser, person.login, person.password, page=page)
    assert first.status_code == 303, first.text
    assert urlsplit(first.headers["location"]).path == "/login/code"
    second = await enter_code(browser, fresh_totp_code(person))
    assert second.status_code == 303, second.text
    return second


# --- the outbox -----------------------------------------------------------------------------


class Outbox:
    """The development channel's messages, each handed out once (``new``)."""

    def __init__(self) -> None:
        self.seen: set[UUID] = set()

    async def new(self, recipient: str | None = None) -> list[dict]:
        """Messages sent since the last call (to ``recipient`` only, when given)."""
        query = OutboxMessage.select()
        if recipient is not None:
            query = query.where(OutboxMessage.recipient == recipient)
        fresh = [message for message in await query if message["id"] not in self.seen]
        self.seen.update(message["id"] for message in fresh)
        return fresh

    async def one_code(self, recipient: str) -> str:
        """The 6-digit code of the one login-code message just sent to ``recipient``."""
        [code] = [
            match.group(1)
            for message in await self.new(recipient)
            if (match := re.search(r"\b(\d{6})\b", message["body"]))
        ]
        return code

    async def one_link(self, recipient: str) -> str:
        """The path of the password link of the one such message just sent to ``recipient``."""
        [url] = [
            match.group(0)
            for message in await self.new(recipient)
            if (match := re.search(r"https?://\S+/password/reset/\S+", message["body"]))
        ]
        return urlsplit(url).path

    @staticmethod
    async def count() -> int:
        return await OutboxMessage.count()


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


# --- national identity providers ------------------------------------------------------------


@pytest.fixture(scope="session")
def local_providers(tmp_path_factory) -> Iterator[LocalProviders]:
    """The local Pro Santé Connect and FranceConnect (oidc-provider, run by
    ``scripts/identity-providers.mjs``), started once for the session."""
    if shutil.which("node") is None or not (REPOSITORY / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("The national login tests need node and oidc-provider: run `make browser`.")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    providers = LocalProviders(port, tmp_path_factory.mktemp("providers") / "providers.log")
    yield providers
    providers.stop()


@pytest.fixture
async def at_provider(local_providers) -> AsyncIterator[AtProvider]:
    """A person at the local providers (their session there lasts the test)."""
    person = AtProvider(local_providers)
    yield person
    await person.close()


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    """A provider that misbehaves as the test says (`identity_providers.FakeProvider`)."""
    provider = FakeProvider()
    server = provider.serve()
    yield provider
    server.shutdown()
    server.server_close()


@pytest.fixture
def real_time(clock) -> FrozenClock:
    """The frozen clock set to the real time: the providers sign with theirs."""
    clock.current = datetime.now(UTC)
    return clock
