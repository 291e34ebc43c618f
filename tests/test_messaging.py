"""The messaging channel: the dev outbox, e-mail through a real (local) SMTP server, text
messages through a real (local) HTTP gateway, and the portal's messenger that sends each
message the right way: by e-mail to an address, by text message to a mobile."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import smtplib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from portal.cli import upgrade_database
from portal.db import is_unavailable_error
from portal.notifications.messaging import (
    Message,
    MessageNotSent,
    OutboxChannel,
    SmsGatewayChannel,
    SmtpChannel,
    channel_for,
)
from portal.notifications.tables import OutboxMessage
from portal.settings import SettingsError, parse_sms_url, parse_smtp_url
from tests.conftest import make_settings
from tests.test_settings import PRODUCTION

SENDER = "Carnet <no-reply@carnet.test>"
TEXT_MESSAGE = Message(
    recipient="+33612345678",
    subject="Votre code de connexion à Carnet",
    body="Votre code de connexion est 123456. Il est valable 10 minutes.",
)
CODE_MESSAGE = Message(
    recipient="camille.martin@demo.carnet.fr",
    subject="Votre code de connexion à Carnet",
    body="Votre code de connexion : 123456 — valable 10 minutes.",
)


def free_port() -> int:
    """A port nothing listens on (the kernel's choice, released at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Recorder:
    """An aiosmtpd handler (and authenticator) that keeps what it receives."""

    envelopes: list = field(default_factory=list)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # mechanism, user, password

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((mechanism, login, password))
        valid = (login, password) == ("carnet@example.fr", "p@ss:w%rd/1")
        # handled=False: aiosmtpd answers the failure itself (535) instead of leaving it to us.
        return AuthResult(success=valid, handled=False)

    def received(self) -> email.message.EmailMessage:
        (envelope,) = self.envelopes
        return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    """A plain-text SMTP server on 127.0.0.1 (no STARTTLS), recording every message."""
    recorder = Recorder()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=free_port(), server_hostname="smtp.carnet.test"
    )
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        controller.stop()


@pytest.fixture
def smtp_server_with_auth(request) -> Iterator[tuple[Recorder, int, str]]:
    """The same, asking for a login by the mechanism given as the fixture's parameter."""
    recorder = Recorder()
    mechanism = request.param
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        server_hostname="smtp.carnet.test",
        authenticator=recorder.authenticate,
        auth_require_tls=False,  # the test server has no certificate
        auth_exclude_mechanism=[other for other in ("LOGIN", "PLAIN") if other != mechanism],
    )
    controller.start()
    try:
        yield recorder, controller.port, mechanism
    finally:
        controller.stop()


# --- the SMTP channel ---------------------------------------------------------------------


async def test_a_message_reaches_a_plain_relay_intact(smtp_server):
    recorder, port = smtp_server
    channel = SmtpChannel(f"smtp://127.0.0.1:{port}?tls=none", SENDER)
    await channel.send(CODE_MESSAGE)

    (envelope,) = recorder.envelopes
    assert envelope.mail_from == "no-reply@carnet.test"
    assert envelope.rcpt_tos == ["camille.martin@demo.carnet.fr"]
    received = recorder.received()
    assert received["From"] == SENDER
    assert received["To"] == "camille.martin@demo.carnet.fr"
    assert received["Subject"] == "Votre code de connexion à Carnet"
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"
    assert received.get_content().strip() == (
        "Votre code de connexion : 123456 — valable 10 minutes."
    )
    assert not recorder.logins  # no user in the URL: no AUTH


@pytest.mark.parametrize("smtp_server_with_auth", ["LOGIN", "PLAIN"], indirect=True)
async def test_the_channel_logs_in_with_the_url_credentials(smtp_server_with_auth):
    recorder, port, mechanism = smtp_server_with_auth
    # The user and password are percent-encoded in the URL (@ : % / would end them).
    url = f"smtp://carnet%40example.fr:p%40ss%3Aw%25rd%2F1@127.0.0.1:{port}?tls=none"
    await SmtpChannel(url, SENDER).send(CODE_MESSAGE)
    assert recorder.logins == [(mechanism, "carnet@example.fr", "p@ss:w%rd/1")]
    assert len(recorder.envelopes) == 1


@pytest.mark.parametrize("smtp_server_with_auth", ["PLAIN"], indirect=True)
async def test_wrong_credentials_raise_and_nothing_is_sent(smtp_server_with_auth):
    recorder, port, _mechanism = smtp_server_with_auth
    url = f"smtp://carnet%40example.fr:wrong@127.0.0.1:{port}?tls=none"
    with pytest.raises(MessageNotSent) as refused:
        await SmtpChannel(url, SENDER).send(CODE_MESSAGE)
    assert isinstance(refused.value.__cause__, smtplib.SMTPAuthenticationError)
    assert "wrong" not in str(refused.value)
    assert not recorder.envelopes


async def test_starttls_is_the_default_and_never_falls_back_to_plain_text(smtp_server):
    recorder, port = smtp_server  # this server offers no STARTTLS
    with pytest.raises(MessageNotSent) as refused:
        await SmtpChannel(f"smtp://127.0.0.1:{port}", SENDER).send(CODE_MESSAGE)
    assert isinstance(refused.value.__cause__, smtplib.SMTPNotSupportedError)
    assert not recorder.envelopes


async def test_an_unreachable_server_raises_at_once():
    port = free_port()
    channel = SmtpChannel(f"smtp://127.0.0.1:{port}?tls=none", SENDER)
    with pytest.raises(MessageNotSent, match=f"127.0.0.1:{port}") as refused:
        await channel.send(CODE_MESSAGE)
    assert isinstance(refused.value.__cause__, ConnectionRefusedError)
    # Not taken for a database outage (OSError is, in portal.db): the page must not say so.
    assert not is_unavailable_error(refused.value)


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "username", "password"),
    [
        ("smtp://mail.example.fr", "mail.example.fr", 587, "starttls", "", ""),
        (
            "smtp://u:p@mail.example.fr:2525?tls=starttls",
            "mail.example.fr",
            2525,
            "starttls",
            "u",
            "p",
        ),
        ("smtps://mail.example.fr", "mail.example.fr", 465, "tls", "", ""),
        ("smtp://localhost?tls=none", "localhost", 25, "none", "", ""),
        ("smtp://localhost:1025?tls=NONE", "localhost", 1025, "none", "", ""),
        ("smtp://a%20b:c%2Bd%40@relay:25?tls=none", "relay", 25, "none", "a b", "c+d@"),
    ],
)
def test_smtp_urls(url, host, port, tls, username, password):
    server = parse_smtp_url(url)
    assert (server.host, server.port, server.tls) == (host, port, tls)
    assert (server.username, server.password) == (username, password)


@pytest.mark.parametrize(
    "url",
    [
        "smtp://carnet:hunter2-secret@mail.example.fr?tls=maybe",
        "smtp://carnet:hunter2-secret@mail.example.fr?tls=",
        "smtp://carnet:hunter2-secret@mail.example.fr?tls=none&tls=starttls",
        "smtp://carnet:hunter2-secret@mail.example.fr?tsl=none",
        "smtps://carnet:hunter2-secret@mail.example.fr?tls=none",
        "smtp://carnet:hunter2-secret@mail.example.fr:port",
        "http://carnet:hunter2-secret@mail.example.fr",
        "smtp://carnet:hunter2-s%C3%A9cret@mail.example.fr",
    ],
)
def test_bad_smtp_urls_are_refused_without_showing_the_password(url):
    with pytest.raises(SettingsError, match="CARNET_SMTP_URL") as refused:
        parse_smtp_url(url)
    assert "hunter2" not in str(refused.value)


# --- choosing the channel; the outbox ---------------------------------------------------------


def test_the_outbox_is_the_default_channel_for_e_mail_and_texts(tmp_path):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3")
    channel = channel_for(settings)
    assert isinstance(channel.email, OutboxChannel)
    assert channel.texts is channel.email
    assert channel.sends_texts


def test_messaging_smtp_chooses_the_smtp_channel_and_sends_no_texts_alone(tmp_path):
    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path}/db.sqlite3",
        CARNET_MESSAGING="smtp",
        CARNET_SMTP_URL="smtp://relay.internal?tls=none",
        CARNET_MAIL_FROM=SENDER,
    )
    channel = channel_for(settings)
    assert isinstance(channel.email, SmtpChannel)
    assert (channel.email.host, channel.email.port, channel.email.tls, channel.email.sender) == (
        "relay.internal",
        25,
        "none",
        SENDER,
    )
    assert not channel.sends_texts


async def test_a_text_without_a_gateway_is_not_sent(tmp_path):
    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path}/db.sqlite3",
        CARNET_MESSAGING="smtp",
        CARNET_SMTP_URL="smtp://relay.internal?tls=none",
    )
    with pytest.raises(MessageNotSent, match="CARNET_SMS_URL"):
        await channel_for(settings).send(TEXT_MESSAGE)


async def test_the_outbox_keeps_the_message(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url)
    await upgrade_database(settings)
    await channel_for(settings).send(CODE_MESSAGE)
    (stored,) = await OutboxMessage.select()
    assert stored["recipient"] == CODE_MESSAGE.recipient
    assert stored["subject"] == CODE_MESSAGE.subject
    assert stored["body"] == CODE_MESSAGE.body
    assert stored["created_at"] is not None


# --- the text message gateway -----------------------------------------------------------------


@dataclass
class Gateway:
    """A local HTTP server standing for a text message gateway: it keeps each request and
    answers with ``status``."""

    port: int = 0
    status: int = 200
    requests: list[dict] = field(default_factory=list)

    def url(self, credentials: str = "") -> str:
        return f"http://{credentials}127.0.0.1:{self.port}/sms/send"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    recorded = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            recorded.requests.append(
                {
                    "path": self.path,
                    "type": self.headers["Content-Type"],
                    "authorization": self.headers.get("Authorization", ""),
                    "json": json.loads(self.rfile.read(length)),
                }
            )
            self.send_response(recorded.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *arguments):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorded.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield recorded
    server.shutdown()
    server.server_close()


async def test_a_text_message_reaches_the_gateway_with_its_credentials(gateway):
    # The user and password are percent-encoded in the URL, and sent as Basic credentials.
    channel = SmsGatewayChannel(gateway.url("carnet%40example.fr:p%40ss%3Aw%25rd@"))
    await channel.send(TEXT_MESSAGE)
    [request] = gateway.requests
    assert request["path"] == "/sms/send"
    assert request["type"] == "application/json"
    assert request["json"] == {"to": "+33612345678", "text": TEXT_MESSAGE.body}
    expected = base64.b64encode(b"carnet@example.fr:p@ss:w%rd").decode()
    assert request["authorization"] == f"Basic {expected}"


async def test_the_messenger_sends_texts_to_mobiles_and_mail_to_addresses(
    tmp_path, database_url, gateway
):
    settings = make_settings(tmp_path, database_url, CARNET_SMS_URL=gateway.url())
    await upgrade_database(settings)
    channel = channel_for(settings)
    await channel.send(TEXT_MESSAGE)
    await channel.send(CODE_MESSAGE)
    assert [request["json"]["to"] for request in gateway.requests] == ["+33612345678"]
    (stored,) = await OutboxMessage.select()  # the e-mail, to the outbox (CARNET_MESSAGING)
    assert stored["recipient"] == CODE_MESSAGE.recipient


@pytest.mark.parametrize("status", [400, 401, 500, 503])
async def test_a_gateway_that_refuses_raises(gateway, status):
    gateway.status = status
    with pytest.raises(MessageNotSent, match=str(status)) as refused:
        await SmsGatewayChannel(gateway.url("user:hunter2@")).send(TEXT_MESSAGE)
    assert not isinstance(refused.value, OSError)  # not taken for a database outage
    assert "hunter2" not in str(refused.value)


async def test_an_unreachable_gateway_raises():
    with pytest.raises(MessageNotSent):
        await SmsGatewayChannel(f"http://127.0.0.1:{free_port()}/send").send(TEXT_MESSAGE)


def test_the_sms_url_s_credentials_are_read_and_kept_out_of_its_address():
    gateway = parse_sms_url("https://carnet:s%40cret@sms.example.fr:8443/v1/send?route=fr")
    assert (gateway.url, gateway.username, gateway.password) == (
        "https://sms.example.fr:8443/v1/send?route=fr",
        "carnet",
        "s@cret",
    )
    assert "s@cret" not in repr(gateway)


@pytest.mark.parametrize(
    "url", ["sms.example.fr/send", "ftp://user:hunter2@sms.example.fr", "https://user:hunter2@"]
)
def test_bad_sms_urls_are_refused_without_showing_the_password(url):
    with pytest.raises(SettingsError, match="CARNET_SMS_URL") as refused:
        parse_sms_url(url)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://sms.example.fr/send", False),
        ("http://127.0.0.1:9000/send", False),  # a gateway on this machine
        ("http://sms.example.fr/send", True),
    ],
)
def test_production_wants_the_sms_gateway_encrypted(tmp_path, url, refused):
    production = {**PRODUCTION, "CARNET_SMS_URL": url}
    if refused:
        with pytest.raises(SettingsError, match="CARNET_SMS_URL"):
            make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3", **production)
    else:
        assert make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3", **production)
