"""The messaging channel: the dev outbox, and e-mail through a real (local) SMTP server."""

from __future__ import annotations

import email
import email.policy
import smtplib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from portal.cli import upgrade_database
from portal.db import is_unavailable_error
from portal.notifications.messaging import (
    Message,
    MessageNotSent,
    OutboxChannel,
    SmtpChannel,
    channel_for,
)
from portal.notifications.tables import OutboxMessage
from portal.settings import SettingsError, parse_smtp_url
from tests.conftest import make_settings

SENDER = "Carnet <no-reply@carnet.test>"
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


def test_the_outbox_is_the_default_channel(tmp_path):
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3")
    assert isinstance(channel_for(settings), OutboxChannel)


def test_messaging_smtp_chooses_the_smtp_channel(tmp_path):
    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path}/db.sqlite3",
        CARNET_MESSAGING="smtp",
        CARNET_SMTP_URL="smtp://relay.internal?tls=none",
        CARNET_MAIL_FROM=SENDER,
    )
    channel = channel_for(settings)
    assert isinstance(channel, SmtpChannel)
    assert (channel.host, channel.port, channel.tls, channel.sender) == (
        "relay.internal",
        25,
        "none",
        SENDER,
    )


async def test_the_outbox_keeps_the_message(tmp_path, database_url):
    settings = make_settings(tmp_path, database_url)
    await upgrade_database(settings)
    await channel_for(settings).send(CODE_MESSAGE)
    (stored,) = await OutboxMessage.select()
    assert stored["recipient"] == CODE_MESSAGE.recipient
    assert stored["subject"] == CODE_MESSAGE.subject
    assert stored["body"] == CODE_MESSAGE.body
    assert stored["created_at"] is not None
