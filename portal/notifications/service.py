"""`notify()`: the one way every part of the portal (plugins included) tells a person something.

A notification is stored for the person's notification centre and, if they asked for it,
sent through the messaging channel. It is kept as a *kind* and its parameters: the words are
chosen when it is shown, in the reader's language. Each kind is declared once with
`NotificationKind` (the core's below; a plugin declares its own the same way).

A notification about a dossier carries the receipt of its audit chain at that moment
(`portal.audit.receipts`), shown under it and at the foot of its message, so that the person
can later check that nothing recorded until then was removed or changed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from portal import clock, i18n
from portal.audit import receipts
from portal.i18n import gettext_lazy as _
from portal.identity.tables import Account
from portal.notifications.messaging import Channel, Message, MessageNotSent, address_of
from portal.notifications.tables import Notification

logger = logging.getLogger("carnet.notifications")


@dataclass(frozen=True)
class NotificationKind:
    key: str
    title: Any  # a lazy string
    body: Any  # a lazy string with %(name)s placeholders filled from the parameters

    def render(self, params: dict[str, Any]) -> tuple[str, str]:
        return str(self.title) % params, str(self.body) % params


KINDS: dict[str, NotificationKind] = {}


def declare(kind: NotificationKind) -> NotificationKind:
    if kind.key in KINDS and KINDS[kind.key] != kind:
        raise ValueError(f"Two notification kinds are named {kind.key!r}.")
    KINDS[kind.key] = kind
    return kind


NEW_DEVICE = declare(
    NotificationKind(
        key="new_device",
        title=_("New login to your account"),
        body=_(
            "Your account was opened on %(date)s from a browser it had not been used from "
            "before (%(device)s). If this was not you, change your password and end that "
            "session from “My sessions”."
        ),
    )
)

#: The parameter that holds the dossier's audit receipt (`portal.audit.receipts`).
RECEIPT = "audit_receipt"
RECEIPT_FOOTER = _(
    "Receipt of the record's access history at that moment (keep it to check later that "
    "nothing was removed): %(receipt)s"
)

_channel: Channel | None = None
_language = "fr"


def install(channel: Channel, language: str) -> None:
    """Send messages through ``channel``, written in ``language`` (the portal's default)."""
    global _channel, _language
    _channel, _language = channel, language


async def notify(
    account_id: UUID,
    kind: NotificationKind,
    link: str = "",
    *,
    dossier: UUID | None = None,
    **params: Any,
) -> None:
    """Store a notification for the account and, if it wants them, send it as a message.
    ``dossier``: the dossier it is about, if any; the notification is deleted with it."""
    if kind.key not in KINDS:
        raise LookupError(f"Declare the notification kind {kind.key!r} before using it.")
    if dossier is None and link.startswith("/dossiers/"):
        # Its words name the patient: it must go when the dossier is purged.
        raise ValueError(f"A notification linking to {link} must name its dossier.")
    head = await receipts.current(dossier) if dossier is not None else None
    if head is not None:
        params = {**params, RECEIPT: receipts.as_text(head)}
    await Notification.insert(
        Notification(
            account=account_id,
            kind=kind.key,
            params=params,
            link=link,
            dossier=dossier,
            created_at=clock.now(),
        )
    )
    counted = (
        await Account.update({Account.unread_notifications: Account.unread_notifications + 1})
        .where(Account.id == account_id)
        .returning(Account.email, Account.phone, Account.notify_by_message)
    )
    account = counted[0] if counted else None
    if _channel is None or not account or not account["notify_by_message"]:
        return
    token = i18n.set_language(_language)
    try:
        title, body = kind.render(params)
        if RECEIPT in params:
            body = f"{body}\n\n{_receipt_footer(params[RECEIPT])}"
    finally:
        i18n.reset_language(token)
    try:
        await _channel.send(Message(recipient=address_of(account), subject=title, body=body))
    except MessageNotSent as problem:
        # The notification is in the centre; a message that could not leave must not undo
        # the action that caused it.
        logger.warning("notification %s not sent to %s: %s", kind.key, account_id, problem)


async def latest(account_id: UUID, limit: int = 50) -> list[dict[str, Any]]:
    """The account's notifications, newest first, with their words in the reader's language."""
    rows = (
        await Notification.select()
        .where(Notification.account == account_id)
        .order_by(Notification.created_at, ascending=False)
        .limit(limit)
        .output(load_json=True)
    )
    for row in rows:
        kind = KINDS.get(row["kind"])
        params = row["params"] if isinstance(row["params"], dict) else {}
        row["title"], row["body"] = kind.render(params) if kind else (row["kind"], "")
        row["receipt"] = params.get(RECEIPT, "")
    return rows


def _receipt_footer(receipt: str) -> str:
    return str(RECEIPT_FOOTER) % {"receipt": receipt}


async def mark_all_read(account_id: UUID) -> None:
    await Notification.update({Notification.read_at: clock.now()}).where(
        Notification.account == account_id, Notification.read_at.is_null()
    )
    await Account.update({Account.unread_notifications: 0}).where(Account.id == account_id)
