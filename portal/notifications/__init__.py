"""Telling people what happened: `notify()` (the notification centre, and a message through
the channel when the person wants one) and the messaging channel itself (e-mail, SMS, the
development outbox)."""

from portal.notifications.service import NotificationKind, declare, notify

__all__ = ["NotificationKind", "declare", "notify"]
