"""Whose account an identity at a national provider is: finding it, opening one for a
professional new to Carnet, linking and unlinking. Every change is traced in the transaction
that makes it, naming the provider.

Pro Santé Connect identifies a professional by their RPPS number, a national identifier the
provider has checked: a known number is its account, linked at its first such login. A
FranceConnect identity is never matched to an account by name: the person links it from
their account, once logged in the usual way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Request

from portal import clock, db
from portal.audit import Action, Outcome
from portal.federation.pro_sante_connect import Practitioner
from portal.federation.providers import PRO_SANTE_CONNECT, Provider, configured
from portal.federation.refusal import LoginRefused
from portal.federation.tables import FederatedIdentity
from portal.i18n import gettext_lazy as _
from portal.identity import accounts
from portal.identity.tables import Account, Professional, Role
from portal.notifications import service as notifications

#: The login of an account opened through Pro Santé Connect: its RPPS number at a domain
#: that receives no mail (its messages go to the address the provider gave, if any).
PSC_LOGIN = "{rpps}@pro-sante-connect.invalid"

PROFESSIONAL_ACCOUNT_OPENED = notifications.declare(
    notifications.NotificationKind(
        key="professional_account_opened",
        title=_("A professional's account was opened through Pro Santé Connect"),
        body=_(
            "%(name)s (RPPS %(rpps)s) logged in with Pro Santé Connect for the first time: an "
            "account was opened with the profession the provider gave. Check it in the list "
            "of accounts."
        ),
    )
)


# --- logging in -----------------------------------------------------------------------------


async def professional_account(request: Request, practitioner: Practitioner) -> dict:
    """The account of the professional Pro Santé Connect vouches for, opened (and the
    administrators told) if their RPPS number is new to Carnet. Their profession and
    specialty follow the provider's claims."""
    known = await Professional.select().where(Professional.rpps == practitioner.rpps).first()
    if known is None:
        return await _open_professional_account(request, practitioner)
    account = await _usable(PRO_SANTE_CONNECT, known["account"], practitioner.rpps)
    if account["role"] == Role.SAMU_REGULATOR and practitioner.profession != "medecin":
        raise LoginRefused(
            "regulator not a doctor",
            _(
                "A SAMU regulator's account is a doctor's, and Pro Santé Connect gives another "
                "profession. Contact the administrator of Carnet."
            ),
            account,
        )
    changes = {
        column: value
        for column, value in (
            ("profession", practitioner.profession),
            ("specialty", practitioner.specialty),
        )
        if known[column] != value
    }
    async with db.current().write_transaction():
        if changes:
            await Professional.update(changes).where(Professional.id == known["id"])
            change = "; ".join(
                f"{name} {known[name]} -> {value}" for name, value in changes.items()
            )
            await accounts.trace_login(
                request,
                Action.ACCOUNT_CHANGE,
                account,
                reason=f"from the provider's claims: {change}"[:200],
                provider=PRO_SANTE_CONNECT.key,
            )
        await _logged_in(request, PRO_SANTE_CONNECT, account, practitioner.rpps)
    return account


async def _open_professional_account(request: Request, practitioner: Practitioner) -> dict:
    try:
        account_id = await accounts.create_account(
            accounts.NewAccount(
                role=Role.PROFESSIONAL,
                login=PSC_LOGIN.format(rpps=practitioner.rpps),
                first_name=practitioner.first_name,
                last_name=practitioner.last_name,
                rpps=practitioner.rpps,
                profession=practitioner.profession,
                specialty=practitioner.specialty,
            )
        )
    except accounts.FormErrors as problem:  # another login of theirs opened it meanwhile
        raise LoginRefused(
            f"account not opened: {', '.join(problem.errors)}",
            _("Your account could not be opened just now. Please try again."),
        ) from None
    async with db.current().write_transaction():
        await Account.update(
            {Account.email: practitioner.email, Account.notify_by_message: bool(practitioner.email)}
        ).where(Account.id == account_id)
        account = await Account.select().where(Account.id == account_id).first()
        await accounts.trace_login(
            request,
            Action.ACCOUNT_CHANGE,
            account,
            reason="account opened from the provider's claims",
            provider=PRO_SANTE_CONNECT.key,
        )
        await _logged_in(request, PRO_SANTE_CONNECT, account, practitioner.rpps)
    administrators = await Account.select(Account.id).where(
        Account.role == Role.ADMINISTRATOR, Account.disabled_at.is_null()
    )
    for administrator in administrators:
        await notifications.notify(
            administrator["id"],
            PROFESSIONAL_ACCOUNT_OPENED,
            link="/admin/accounts",
            name=f"{account['first_name']} {account['last_name']}",
            rpps=practitioner.rpps,
        )
    return account


async def linked_account(request: Request, provider: Provider, subject: str) -> dict | None:
    """The account ``subject`` at ``provider`` is linked to, or None if it is linked to none."""
    link = await _link_of_subject(provider, subject)
    if link is None:
        return None
    account = await _usable(provider, link["account"], subject)
    async with db.current().write_transaction():
        await _logged_in(request, provider, account, subject)
    return account


async def _usable(provider: Provider, account_id: UUID, subject: str) -> dict:
    """The account, if ``provider`` may log in to it (`LoginRefused` otherwise)."""
    account = await Account.select().where(Account.id == account_id).first()
    if account["disabled_at"] is not None:
        raise LoginRefused(
            "account disabled",
            _("This account is disabled. Contact the administrator of Carnet."),
            account,
        )
    if account["role"] not in provider.roles:
        raise LoginRefused(
            "role",
            _("%(provider)s is not a way to log in to this account."),
            account,
            provider=provider.name,
        )
    link = await _link_of_account(provider, account_id)
    if link and link["unlinked_at"] is not None and link["subject"] == subject:
        raise LoginRefused(
            "unlinked",
            _(
                "You have unlinked %(provider)s from your account. Log in with your password, "
                "then link it again from “My account” if you wish."
            ),
            account,
            provider=provider.name,
        )
    return account


async def _logged_in(request: Request, provider: Provider, account: dict, subject: str) -> None:
    """Record a login through ``provider``: the identity is linked at the first one (a
    professional's, by RPPS number), the time of the last one is kept."""
    now = clock.now()
    updated = (
        await FederatedIdentity.update({FederatedIdentity.last_login_at: now})
        .where(
            FederatedIdentity.account == account["id"],
            FederatedIdentity.provider == provider.key,
            FederatedIdentity.subject == subject,
        )
        .returning(FederatedIdentity.id)
    )
    if not updated:
        await _link(request, provider, account, subject, last_login_at=now)


# --- linking from one's account ---------------------------------------------------------------


async def link(request: Request, provider: Provider, account: dict, subject: str) -> None:
    """Link the identity ``subject`` at ``provider`` to ``account`` (whose owner has just
    logged in there, from a signed-in session)."""
    if provider is PRO_SANTE_CONNECT:
        own = (
            await Professional.select(Professional.rpps)
            .where(Professional.account == account["id"])
            .first()
        )
        if own is None or own["rpps"] != subject:
            raise LoginRefused(
                "another RPPS number",
                _("Pro Santé Connect identified another professional (another RPPS number)."),
                account,
            )
    async with db.current().write_transaction():
        other = await _link_of_subject(provider, subject)
        if other and other["account"] != account["id"]:
            raise _linked_elsewhere(provider, account)
        await _link(request, provider, account, subject)


def _linked_elsewhere(provider: Provider, account: dict) -> LoginRefused:
    return LoginRefused(
        "linked to another account",
        _("This %(provider)s identity is already linked to another Carnet account."),
        account,
        provider=provider.name,
    )


async def _link(
    request: Request,
    provider: Provider,
    account: dict,
    subject: str,
    last_login_at: datetime | None = None,
) -> None:
    """Link, in the current transaction: the account's row for this provider (it may hold an
    identity unlinked before) now holds ``subject``."""
    now = clock.now()
    relinked = (
        await FederatedIdentity.update(
            {
                FederatedIdentity.subject: subject,
                FederatedIdentity.linked_at: now,
                FederatedIdentity.unlinked_at: None,
                FederatedIdentity.last_login_at: last_login_at,
            }
        )
        .where(
            FederatedIdentity.account == account["id"],
            FederatedIdentity.provider == provider.key,
        )
        .returning(FederatedIdentity.id)
    )
    if not relinked:
        inserted = (
            await FederatedIdentity.insert(
                FederatedIdentity(
                    account=account["id"],
                    provider=provider.key,
                    subject=subject,
                    linked_at=now,
                    last_login_at=last_login_at,
                )
            )
            # Another account's link, made since it was looked for.
            .on_conflict(action="DO NOTHING")
            .returning(FederatedIdentity.id)
        )
        if not inserted:
            raise _linked_elsewhere(provider, account)
    await accounts.trace_login(
        request, Action.ACCOUNT_CHANGE, account, reason="linked", provider=provider.key
    )


async def unlink(request: Request, provider: Provider, account: dict) -> None:
    """Stop ``provider``'s logins to ``account``; refused while it is the only way in."""
    if not account["password_hash"]:
        raise LoginRefused(
            "only way in",
            _(
                "%(provider)s is the only way to log in to your account: choose a password "
                "first (“Forgotten password?” on the login page sends you a link)."
            ),
            account,
            provider=provider.name,
        )
    async with db.current().write_transaction():
        unlinked = (
            await FederatedIdentity.update({FederatedIdentity.unlinked_at: clock.now()})
            .where(
                FederatedIdentity.account == account["id"],
                FederatedIdentity.provider == provider.key,
                FederatedIdentity.unlinked_at.is_null(),
            )
            .returning(FederatedIdentity.id)
        )
        if unlinked:
            await accounts.trace_login(
                request, Action.ACCOUNT_CHANGE, account, reason="unlinked", provider=provider.key
            )


async def refuse_link(request: Request, provider: Provider, refusal: LoginRefused) -> None:
    """Trace a link that was refused."""
    await accounts.trace_login(
        request,
        Action.ACCOUNT_CHANGE,
        refusal.account,
        reason=f"link refused: {refusal.reason}",
        provider=provider.key,
        outcome=Outcome.REFUSED,
    )


async def links_of(request: Request, account: dict) -> list[dict[str, Any]]:
    """For the account page: each provider this portal offers to the account's role, with
    its link (``linked_at``, ``last_login_at``), or ``linked`` False."""
    offered = [
        provider
        for provider in configured(request.app.state.settings)
        if account["role"] in provider.roles
    ]
    rows = {
        row["provider"]: row
        for row in await FederatedIdentity.select().where(
            FederatedIdentity.account == account["id"]
        )
    }
    return [
        {
            "provider": provider,
            "linked": provider.key in rows and rows[provider.key]["unlinked_at"] is None,
            "linked_at": rows.get(provider.key, {}).get("linked_at"),
            "last_login_at": rows.get(provider.key, {}).get("last_login_at"),
        }
        for provider in offered
    ]


async def _link_of_subject(provider: Provider, subject: str) -> dict | None:
    return (
        await FederatedIdentity.select()
        .where(FederatedIdentity.provider == provider.key, FederatedIdentity.subject == subject)
        .first()
    )


async def _link_of_account(provider: Provider, account_id: UUID) -> dict | None:
    return (
        await FederatedIdentity.select()
        .where(FederatedIdentity.provider == provider.key, FederatedIdentity.account == account_id)
        .first()
    )
