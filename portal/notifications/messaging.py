"""The messaging channel: how one-time codes, reset links and notifications reach a person, at
their e-mail address or, for those who have none, by text message on their mobile.

A channel is anything with ``async send(message)``. The portal's (`channel_for`) is a
`Messenger`: a message to an e-mail address goes by e-mail, one to a mobile number (in
international form, ``+33612345678``) by text message. E-mail is chosen by
``CARNET_MESSAGING``:

- ``outbox`` (development and tests): the message is stored and listed on ``/dev/outbox``;
- ``smtp``: an e-mail through the server of ``CARNET_SMTP_URL``: ``smtp://`` with STARTTLS,
  ``smtps://`` with TLS, or ``smtp://…?tls=none`` for a local relay that speaks plain SMTP.

Text messages go through the HTTP gateway of ``CARNET_SMS_URL`` (`SmsGatewayChannel`) or,
without one, to the outbox when e-mail does; with neither, the portal sends none
(`Messenger.sends_texts`), and asks for an e-mail address where it would need one.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import smtplib
import ssl
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from portal import clock
from portal.notifications.tables import OutboxMessage
from portal.settings import Settings, parse_sms_url, parse_smtp_url

SMTP_TIMEOUT = 20  # seconds
SMS_TIMEOUT = 20  # seconds


@dataclass(frozen=True)
class Message:
    #: An e-mail address, or a mobile number in international form (``+33612345678``).
    recipient: str
    subject: str  # an e-mail's; a text message is its body alone
    body: str

    @property
    def by_text(self) -> bool:
        return self.recipient.startswith("+")


def address_of(account: dict[str, Any]) -> str:
    """Where an account's messages go: its e-mail address or, without one, its mobile."""
    return account["email"] or account["phone"]


class MessageNotSent(RuntimeError):
    """The channel could not hand the message over (server down, refused, TLS or login failed).

    Deliberately not an ``OSError``: the portal takes those for "the database is unreachable"
    (`portal.db.is_unavailable_error`), which a mail server being down is not.
    """


class Channel(Protocol):
    async def send(self, message: Message) -> None:
        """Deliver the message, or raise: a code that was not sent must not be waited for."""


class OutboxChannel:
    """Keeps messages in the database for the developer to read on ``/dev/outbox``."""

    async def send(self, message: Message) -> None:
        await OutboxMessage.insert(
            OutboxMessage(
                recipient=message.recipient,
                subject=message.subject,
                body=message.body,
                created_at=clock.now(),
            )
        )


class SmtpChannel:
    """Sends e-mail through an SMTP server: ``smtp://`` with STARTTLS (refusing a server that
    does not offer it), ``smtps://`` with TLS, ``smtp://…?tls=none`` in plain text (a relay on
    the same machine, which then carries the message on)."""

    def __init__(self, url: str, sender: str):
        server = parse_smtp_url(url)
        self.tls = server.tls
        self.host = server.host
        self.port = server.port
        self.username = server.username
        self.password = server.password
        self.sender = sender

    async def send(self, message: Message) -> None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email.set_content(message.body)
        # smtplib blocks: run it in a thread so the event loop keeps serving pages.
        try:
            await asyncio.to_thread(self._deliver, email)
        except OSError as error:  # sockets, TLS, timeouts and every smtplib.SMTPException
            raise MessageNotSent(
                f"no message sent through {self.host}:{self.port}: {type(error).__name__}: {error}"
            ) from error

    def _deliver(self, email: EmailMessage) -> None:
        context = ssl.create_default_context()
        if self.tls == "tls":
            server = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
        with server:
            if self.tls == "starttls":
                server.starttls(context=context)
            if self.username:
                server.login(self.username, self.password)
            server.send_message(email)


class SmsGatewayChannel:
    """Sends text messages through an HTTP gateway: a ``POST`` of ``{"to": "+33612345678",
    "text": "…"}`` in JSON to ``CARNET_SMS_URL``, with the URL's user and password as Basic
    credentials. Any 2xx answer means the gateway took the message."""

    def __init__(self, url: str):
        gateway = parse_sms_url(url)
        self.url = gateway.url
        self.headers = {"Content-Type": "application/json"}
        if gateway.username or gateway.password:
            credentials = f"{gateway.username}:{gateway.password}".encode()
            self.headers["Authorization"] = f"Basic {base64.b64encode(credentials).decode()}"

    async def send(self, message: Message) -> None:
        content = json.dumps({"to": message.recipient, "text": message.body}).encode()
        request = urllib.request.Request(self.url, content, self.headers, method="POST")  # noqa: S310 - http(s) only, checked by the settings
        # urllib blocks: run it in a thread so the event loop keeps serving pages.
        try:
            await asyncio.to_thread(self._deliver, request)
        except (OSError, http.client.HTTPException) as error:  # refused, timed out, not 2xx
            raise MessageNotSent(
                f"no text message sent through the gateway: {type(error).__name__}: {error}"
            ) from error

    def _deliver(self, request: urllib.request.Request) -> None:
        with urllib.request.urlopen(request, timeout=SMS_TIMEOUT) as answer:  # noqa: S310
            answer.read()  # a status that is not 2xx raises HTTPError


class Messenger:
    """The portal's channel: e-mail for an e-mail address, a text message for a mobile."""

    def __init__(self, email: Channel, texts: Channel | None):
        self.email = email
        self.texts = texts

    @property
    def sends_texts(self) -> bool:
        return self.texts is not None

    async def send(self, message: Message) -> None:
        if not message.by_text:
            await self.email.send(message)
        elif self.texts is None:
            raise MessageNotSent("no text message gateway: set CARNET_SMS_URL")
        else:
            await self.texts.send(message)


def channel_for(settings: Settings) -> Messenger:
    if settings.messaging == "smtp":
        email: Channel = SmtpChannel(settings.smtp_url, settings.mail_from)
    else:
        email = OutboxChannel()
    if settings.sms_url:
        texts: Channel | None = SmsGatewayChannel(settings.sms_url)
    else:
        texts = email if settings.messaging == "outbox" else None
    return Messenger(email, texts)
