"""The administrators' tools: open, disable and enable professional and staff accounts.

Administrators manage accounts and nothing else: these pages show who has an account and in
which role, never anything of a dossier.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal.access import administrators, development_only
from portal.i18n import gettext as _
from portal.identity import accounts, sessions
from portal.identity.professions import PROFESSIONS
from portal.identity.routes import form_page
from portal.identity.tables import Account, Role
from portal.notifications.tables import OutboxMessage
from portal.web import flash, public_url, see_other

PAGE_SIZE = 50
#: The accounts an administrator opens here; patients open their own, or get one with their
#: dossier at the pharmacy or the insurer's office.
CREATABLE_ROLES = (Role.PROFESSIONAL, Role.SAMU_REGULATOR, Role.INSURER_AGENT, Role.ADMINISTRATOR)


@get("/admin/accounts", guards=[administrators])
async def account_list(q: FromQuery[str] = "", page: FromQuery[int] = 1) -> Template:
    page = max(page, 1)
    query = Account.select(
        Account.id,
        Account.login,
        Account.first_name,
        Account.last_name,
        Account.role,
        Account.disabled_at,
    )
    if q.strip():
        pattern = f"%{q.strip()}%"
        query = query.where(
            Account.login.ilike(pattern)
            | Account.last_name.ilike(pattern)
            | Account.first_name.ilike(pattern)
        )
    rows = (
        await query.order_by(Account.last_name)
        .order_by(Account.first_name)
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    )
    return Template(
        "identity/admin_accounts.html",
        context={
            "accounts": rows[:PAGE_SIZE],
            "q": q,
            "page": page,
            "has_next": len(rows) > PAGE_SIZE,
        },
    )


@get("/admin/accounts/new", guards=[administrators])
async def new_account_form() -> Template:
    return _account_form(values={"role": Role.PROFESSIONAL}, errors={})


def _account_form(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Template:
    return form_page(
        "identity/admin_account_new.html",
        status=status,
        values=values,
        errors=errors,
        roles=CREATABLE_ROLES,
        professions=PROFESSIONS.values(),
    )


@post("/admin/accounts/new", guards=[administrators])
async def create_account(
    request: Request, data: URLEncodedBody[dict[str, Any]]
) -> Template | Redirect:
    values = {name: str(value) for name, value in data.items() if name != "csrf_token"}
    try:
        role = Role(values.get("role", ""))
        if role not in CREATABLE_ROLES:
            raise ValueError
    except ValueError:
        return _account_form(values, {"role": _("Choose a role from the list.")}, status=400)
    try:
        account_id = await accounts.create_account(
            accounts.NewAccount(
                role=role,
                login=values.get("login", ""),
                first_name=values.get("first_name", ""),
                last_name=values.get("last_name", ""),
                phone=values.get("phone", ""),
                rpps=values.get("rpps", ""),
                profession=values.get("profession", ""),
                specialty=values.get("specialty", ""),
            )
        )
    except accounts.FormErrors as problem:
        return _account_form(values, problem.errors, status=400)
    account = await Account.select().where(Account.id == account_id).first()
    await accounts.send_password_link(
        account, public_url(request), request.app.state.channel, welcome=True
    )
    flash(
        request,
        _(
            "The account of %(name)s is open: a link to choose a password has been sent "
            "to %(login)s."
        )
        % {"name": f"{account['first_name']} {account['last_name']}", "login": account["login"]},
        "success",
    )
    return see_other("/admin/accounts")


@post("/admin/accounts/{account_id:uuid}/disable", guards=[administrators])
async def disable_account(request: Request, account_id: FromPath[UUID]) -> Redirect:
    if account_id == sessions.current(request).account_id:
        raise PermissionDeniedException(_("You cannot disable your own account."))
    await _existing(account_id)
    await accounts.disable(account_id)
    flash(request, _("The account is disabled and its sessions are ended."), "success")
    return see_other("/admin/accounts")


@post("/admin/accounts/{account_id:uuid}/enable", guards=[administrators])
async def enable_account(request: Request, account_id: FromPath[UUID]) -> Redirect:
    await _existing(account_id)
    await accounts.enable(account_id)
    flash(request, _("The account is enabled again."), "success")
    return see_other("/admin/accounts")


async def _existing(account_id: UUID) -> None:
    if not await Account.exists().where(Account.id == account_id):
        raise NotFoundException()


@get("/dev/outbox", guards=[development_only])
async def outbox() -> Template:
    """The messages the development channel "sent": login codes, password links."""
    messages = (
        await OutboxMessage.select().order_by(OutboxMessage.created_at, ascending=False).limit(50)
    )
    return Template("identity/outbox.html", context={"messages": messages})


ROUTES = [account_list, new_account_form, create_account, disable_account, enable_account, outbox]
