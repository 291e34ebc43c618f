"""The messaging channel: how one-time codes, reset links and notifications reach a person.

A channel is anything with ``async send(message)``. Two ship with Carnet, chosen by
``CARNET_MESSAGING``:

- ``outbox`` (development and tests): the message is stored and listed on ``/dev/outbox``;
- ``smtp``: an e-mail through the server of ``CARNET_SMTP_URL``.

An SMS gateway is one more class with the same method, and one more name in the settings.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

from portal import clock
from portal.notifications.tables import OutboxMessage
from portal.settings import Settings

SMTP_TIMEOUT = 20  # seconds


@dataclass(frozen=True)
class Message:
    recipient: str  # an e-mail address (or, for an SMS gateway, a phone number)
    subject: str
    body: str


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
    """Sends e-mail through an SMTP server: ``smtp://`` with STARTTLS, ``smtps://`` with TLS."""

    def __init__(self, url: str, sender: str):
        parts = urlsplit(url)
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.username = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.sender = sender

    async def send(self, message: Message) -> None:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email.set_content(message.body)
        # smtplib blocks: run it in a thread so the event loop keeps serving pages.
        await asyncio.to_thread(self._deliver, email)

    def _deliver(self, email: EmailMessage) -> None:
        context = ssl.create_default_context()
        if self.implicit_tls:
            server = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
        with server:
            if not self.implicit_tls:
                server.starttls(context=context)
            if self.username:
                server.login(self.username, self.password)
            server.send_message(email)


def channel_for(settings: Settings) -> Channel:
    if settings.messaging == "smtp":
        return SmtpChannel(settings.smtp_url, settings.mail_from)
    return OutboxChannel()
