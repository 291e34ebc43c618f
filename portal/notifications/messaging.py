"""The messaging channel: how one-time codes, reset links and notifications reach a person.

A channel is anything with ``async send(message)``. Two ship with Carnet, chosen by
``CARNET_MESSAGING``:

- ``outbox`` (development and tests): the message is stored and listed on ``/dev/outbox``;
- ``smtp``: an e-mail through the server of ``CARNET_SMTP_URL``: ``smtp://`` with STARTTLS,
  ``smtps://`` with TLS, or ``smtp://…?tls=none`` for a local relay that speaks plain SMTP.

An SMS gateway is one more class with the same method, and one more name in the settings.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from portal import clock
from portal.notifications.tables import OutboxMessage
from portal.settings import Settings, parse_smtp_url

SMTP_TIMEOUT = 20  # seconds


@dataclass(frozen=True)
class Message:
    recipient: str  # an e-mail address (or, for an SMS gateway, a phone number)
    subject: str
    body: str


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


def channel_for(settings: Settings) -> Channel:
    if settings.messaging == "smtp":
        return SmtpChannel(settings.smtp_url, settings.mail_from)
    return OutboxChannel()
