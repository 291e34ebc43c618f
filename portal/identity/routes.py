"""Logging in and out, the second factor, one's account and sessions, and password resets.

Login is in two steps (CONVENTIONS.md): ``POST /login`` checks the password and opens a
pending session, ``/login/code`` checks the second factor and replaces it with a signed-in
session under a new id. Every answer to a wrong login is the same, whatever was wrong.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Request, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal import clock, db, web
from portal.access import public, signed_in
from portal.access.facts import dossiers_of
from portal.audit import Action
from portal.federation import identities, providers
from portal.i18n import gettext as _
from portal.identity import abuse, accounts, devices, passwords, second_factor, sessions
from portal.identity.professions import PROFESSIONS
from portal.identity.sessions import Stage
from portal.identity.tables import (
    PERSON_ROLES,
    PROFESSIONAL_ROLES,
    Account,
    Professional,
    Role,
    SecondFactor,
)
from portal.notifications import service as notifications
from portal.notifications.messaging import address_of
from portal.web import flash, public_url, see_other

Form = URLEncodedBody[dict[str, Any]]


def local_path(target: str | None, default: str = "/me") -> str:
    """A path within the portal to go to after a form (``/me`` unless one was asked for)."""
    return web.local_path(target, default)


async def home_for(account_id: UUID, role: Role) -> str:
    """Where ``/me`` leads each role: a patient to their dossier (a representative to the one
    they manage, or to the list of them), a professional to their patients, the insurer's
    agent to the reimbursement import, an administrator to the accounts."""
    if role == Role.ADMINISTRATOR:
        return "/admin/accounts"
    if role in PROFESSIONAL_ROLES:
        return "/patients"
    if role == Role.INSURER_AGENT:
        return "/reimbursements/import"
    dossiers = await dossiers_of(account_id)
    own = [row for row in dossiers if row["own"]]
    if own or len(dossiers) == 1:  # their own, or the one dossier they manage
        return f"/dossiers/{(own or dossiers)[0]['id']}"
    return "/account"


def form_page(template: str, status: int = 200, **context: Any) -> Template:
    return Template(template, context=context, status_code=status)


async def limit_attempts(request: Request, action: str) -> None:
    """At most `abuse.ADDRESS_LIMIT` attempts per client address and window, per action."""
    settings = request.app.state.settings
    address = abuse.client_address(request, settings.trusted_proxies)
    if not await abuse.hit(f"{action}:{address}", abuse.ADDRESS_LIMIT, abuse.ADDRESS_WINDOW):
        raise HTTPException(
            status_code=429,
            detail=_("Too many attempts from this connection. Wait a few minutes, then try again."),
            headers={"retry-after": str(int(abuse.ADDRESS_WINDOW.total_seconds()))},
        )


# --- login ----------------------------------------------------------------------------------


@get("/login", guards=[public])
async def login_form(request: Request, next: FromQuery[str | None] = None) -> Template | Redirect:
    session = sessions.current(request)
    if session and session.signed_in:
        return see_other(local_path(next))
    return form_page("identity/login.html", next=local_path(next), login="", error="")


@post("/login", guards=[public])
async def login(request: Request, data: Form) -> Template | Redirect:
    await limit_attempts(request, "login")
    login_name = str(data.get("login", ""))
    target = local_path(data.get("next"))
    account = await accounts.authenticate(login_name, str(data.get("password", "")))
    if account is None:
        await accounts.trace_login(
            request, Action.LOGIN_FAILURE, None, reason="password", login=login_name
        )
        return form_page(
            "identity/login.html",
            status=400,
            next=target,
            login=accounts.echoed_login(login_name),
            error=_(
                "Login or password incorrect. After several failed attempts, the account is "
                "locked for a few minutes."
            ),
        )
    previous = sessions.current(request)
    if previous:
        await sessions.end(previous.id)
    return see_other(await start_second_step(request, account, target))


async def start_second_step(
    request: Request,
    account: dict,
    target: str,
    *,
    provider: str = "",
    provider_id_token: str = "",
) -> str:
    """The first factor is right (the password, or a national identity ``provider``'s login
    that does not stand for the second): a pending session, and the path of the next step,
    the code (sent now when it goes by message) or setting up an authenticator."""
    if account["second_factor"] == SecondFactor.CODE and account["role"] in PERSON_ROLES:
        await second_factor.send_login_code(
            account["id"], address_of(account), request.app.state.channel
        )
        stage = Stage.SECOND_FACTOR
    else:
        stage = Stage.SECOND_FACTOR if account["totp_confirmed"] else Stage.ENROL
    token = await sessions.start(
        account["id"], stage, request, provider=provider, provider_id_token=provider_id_token
    )
    sessions.issue_cookie(request, token)
    step = "/login/code" if stage == Stage.SECOND_FACTOR else "/login/enrol"
    return f"{step}?{urlencode({'next': target})}" if target != "/me" else step


def _pending(request: Request, stage: Stage) -> sessions.CurrentSession | None:
    session = sessions.current(request)
    return session if session and session.stage == stage else None


@get("/login/code", guards=[public])
async def code_form(request: Request, next: FromQuery[str | None] = None) -> Template | Redirect:
    session = _pending(request, Stage.SECOND_FACTOR)
    if session is None:
        return see_other("/login")
    account = await _account(session.account_id)
    return form_page("identity/code.html", next=local_path(next), account=account, error="")


@post("/login/code", guards=[public])
async def check_code(request: Request, data: Form) -> Template | Redirect:
    await limit_attempts(request, "code")
    session = _pending(request, Stage.SECOND_FACTOR)
    if session is None:
        return see_other("/login")
    account = await _account(session.account_id)
    code = str(data.get("code", ""))
    # A locked account waits for the end of its lock here too (as at the password step, the
    # attempt is neither checked nor counted): the password alone must not open unlimited
    # guesses at the code.
    locked = abuse.is_locked(account)
    if locked:
        valid = False
    elif account["second_factor"] == SecondFactor.CODE and account["role"] in PERSON_ROLES:
        valid = await second_factor.check_login_code(account["id"], code)
    else:
        valid = await second_factor.check_totp(account["id"], account["totp_secret"], code)
    target = local_path(data.get("next"))
    if not valid:
        await _wrong_code(request, session, account, locked)
        return form_page(
            "identity/code.html",
            status=400,
            next=target,
            account=account,
            error=_("This code is not valid. Check it, or wait for the next one, and try again."),
        )
    await abuse.record_success(account["id"])
    await complete_login(request, account, pending=session)
    return see_other(await landing(target, account))


async def _wrong_code(
    request: Request, session: sessions.CurrentSession, account: dict, locked: bool
) -> None:
    """A wrong code, or a code while the account is locked (neither checked nor counted then:
    the lock holds), traced."""
    if not locked:
        await abuse.record_failure(account["id"])
    await accounts.trace_login(
        request, Action.LOGIN_FAILURE, account, reason="second factor", provider=session.provider
    )


async def landing(target: str | None, account: dict) -> str:
    """Where a completed login leads: the page asked for, or the person's home."""
    target = local_path(target)
    return target if target != "/me" else await home_for(account["id"], Role(account["role"]))


async def complete_login(
    request: Request,
    account: dict,
    *,
    pending: sessions.CurrentSession | None = None,
    provider: str = "",
    provider_id_token: str = "",
) -> None:
    """Both factors are right: a signed-in session under a new id, traced; and the owner is
    told when the browser is one the account has never used.

    The session replaces the ``pending`` one of the steps before; without one, the login is
    a national identity ``provider``'s whose authentication stands for both factors.
    """
    async with db.current().write_transaction():
        if pending:
            token = await sessions.replace(pending, Stage.SIGNED_IN, request)
            provider = pending.provider
        else:
            token = await sessions.start(
                account["id"],
                Stage.SIGNED_IN,
                request,
                provider=provider,
                provider_id_token=provider_id_token,
            )
        await accounts.trace_login(request, Action.LOGIN, account, provider=provider)
    sessions.issue_cookie(request, token)
    user_agent = request.headers.get("user-agent", "")
    if await devices.is_new_device(account["id"], user_agent):
        await notifications.notify(
            account["id"],
            notifications.NEW_DEVICE,
            link="/account/sessions",
            date=clock.day_and_time(clock.now()),
            device=devices.describe(user_agent),
        )


@post("/login/code/resend", guards=[public])
async def resend_code(request: Request) -> Redirect:
    await limit_attempts(request, "resend")
    session = _pending(request, Stage.SECOND_FACTOR)
    if session is None:
        return see_other("/login")
    account = await _account(session.account_id)
    if account["second_factor"] == SecondFactor.CODE:
        await second_factor.send_login_code(
            account["id"], address_of(account), request.app.state.channel
        )
        flash(request, _("A new code has been sent."), "success")
    return see_other("/login/code")


@get("/login/enrol", guards=[public])
async def enrol_form(request: Request, next: FromQuery[str | None] = None) -> Template | Redirect:
    """Set up an authenticator: a new secret at each display, so each QR code is shown once."""
    session = _pending(request, Stage.ENROL)
    if session is None:
        return see_other("/login")
    secret = second_factor.new_totp_secret()
    await Account.update({Account.totp_secret: secret}).where(Account.id == session.account_id)
    uri = second_factor.provisioning_uri(secret, session.login)
    return form_page(
        "identity/enrol.html",
        next=local_path(next),
        account=await _account(session.account_id),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        uri=uri,
        qr_code=second_factor.qr_code_svg(uri),
        may_use_messages=session.role in PERSON_ROLES,
        error="",
    )


@post("/login/enrol", guards=[public])
async def confirm_enrolment(request: Request, data: Form) -> Template | Redirect:
    await limit_attempts(request, "code")
    session = _pending(request, Stage.ENROL)
    if session is None:
        return see_other("/login")
    account = await _account(session.account_id)
    locked = abuse.is_locked(account)
    if locked or not await second_factor.check_totp(
        account["id"], account["totp_secret"], str(data.get("code", ""))
    ):
        await _wrong_code(request, session, account, locked)
        flash(request, _("This code is not valid: scan the new QR code and try again."), "error")
        return see_other("/login/enrol")
    await Account.update({Account.totp_confirmed: True}).where(Account.id == account["id"])
    await complete_login(request, account, pending=session)
    flash(request, _("Your authenticator application is set up."), "success")
    return see_other(await landing(data.get("next"), account))


@post("/login/enrol/messages", guards=[public])
async def choose_codes_by_message(request: Request) -> Redirect:
    """Patients without an authenticator application receive their codes by message."""
    session = _pending(request, Stage.ENROL)
    if session is None or session.role not in PERSON_ROLES:
        return see_other("/login")
    account = await _account(session.account_id)
    await Account.update({Account.second_factor: SecondFactor.CODE, Account.totp_secret: ""}).where(
        Account.id == account["id"]
    )
    await second_factor.send_login_code(
        account["id"], address_of(account), request.app.state.channel
    )
    sessions.issue_cookie(request, await sessions.replace(session, Stage.SECOND_FACTOR, request))
    return see_other("/login/code")


@post("/logout", guards=[public])
async def logout(request: Request) -> Redirect | Template:
    """End the session; one opened through a national identity provider is ended there too,
    when the provider offers it (RP-initiated logout)."""
    session = sessions.current(request)
    provider_logout = None
    if session:
        if session.signed_in and session.provider:
            provider_logout = await providers.logout_url(request, session)
        async with db.current().write_transaction():
            await sessions.end(session.id)
            if session.signed_in:
                await accounts.trace_login(
                    request,
                    Action.LOGOUT,
                    await _account(session.account_id),
                    provider=session.provider,
                )
    sessions.issue_cookie(request, None)
    if provider_logout:
        return providers.leave_for(provider_logout, session.provider)
    flash(request, _("You are logged out."), "success")
    return see_other("/")


@get("/me", guards=[signed_in])
async def me(request: Request) -> Redirect:
    session = sessions.current(request)
    return see_other(await home_for(session.account_id, session.role))


async def _account(account_id: UUID) -> dict:
    account = await Account.select().where(Account.id == account_id).first()
    if account is None:
        raise NotFoundException()
    return account


# --- one's own account ----------------------------------------------------------------------


@get("/account", guards=[signed_in])
async def account_page(request: Request) -> Template:
    session = sessions.current(request)
    account = await _account(session.account_id)
    professional = await Professional.select().where(Professional.account == account["id"]).first()
    return Template(
        "identity/account.html",
        context={
            "dossiers": await dossiers_of(account["id"]),
            "account": account,
            "professional": professional,
            "profession": PROFESSIONS.get(professional["profession"]) if professional else None,
            "provider_links": await identities.links_of(request, account),
        },
    )


@get("/account/sessions", guards=[signed_in])
async def sessions_page(request: Request) -> Template:
    session = sessions.current(request)
    rows = await sessions.list_for(session.account_id)
    for row in rows:
        row["device"] = devices.describe(row["user_agent"]) if row["user_agent"] else ""
    return Template("identity/sessions.html", context={"sessions": rows, "current": session.id})


@post("/account/sessions/{session_id:uuid}/end", guards=[signed_in])
async def end_session(request: Request, session_id: FromPath[UUID]) -> Redirect:
    session = sessions.current(request)
    mine = [row["id"] for row in await sessions.list_for(session.account_id)]
    if session_id not in mine:
        raise NotFoundException()
    await sessions.end(session_id)
    if session_id == session.id:
        sessions.issue_cookie(request, None)
        flash(request, _("You are logged out."), "success")
        return see_other("/")
    flash(request, _("The session has been ended."), "success")
    return see_other("/account/sessions")


@post("/account/sessions/end-others", guards=[signed_in])
async def end_other_sessions(request: Request) -> Redirect:
    session = sessions.current(request)
    await sessions.end_all(session.account_id, keep=session.id)
    flash(request, _("Your other sessions have been ended."), "success")
    return see_other("/account/sessions")


@get("/account/password", guards=[signed_in])
async def password_form(request: Request) -> Template:
    return form_page("identity/password_change.html", errors={})


@post("/account/password", guards=[signed_in])
async def change_password(request: Request, data: Form) -> Template | Redirect:
    await limit_attempts(request, "password")
    session = sessions.current(request)
    account = await _account(session.account_id)
    errors = {}
    # A wrong current password counts like a wrong login: an open session must not allow
    # guessing the password as fast as hashing goes.
    locked = abuse.is_locked(account)
    check = await passwords.verify_password(account["password_hash"], str(data.get("current", "")))
    if locked or not check.valid:
        if not locked:
            await abuse.record_failure(account["id"])
        errors["current"] = _("This is not your current password.")
    new = str(data.get("password", ""))
    errors |= accounts.new_password_errors(account, new, str(data.get("confirm", "")))
    if errors:
        return form_page("identity/password_change.html", status=400, errors=errors)
    await accounts.set_password(account["id"], new)
    if data.get("end_others"):
        await sessions.end_all(account["id"], keep=session.id)
    flash(request, _("Your password has been changed."), "success")
    return see_other("/account")


# --- forgotten password ---------------------------------------------------------------------


@get("/password/forgot", guards=[public])
async def forgot_form() -> Template:
    return form_page("identity/password_forgot.html")


@post("/password/forgot", guards=[public])
async def forgot(request: Request, data: Form) -> Redirect:
    """Send a reset link; the answer is the same whether the address has an account or not."""
    await limit_attempts(request, "forgot")
    login = accounts.normalize_login(str(data.get("login", "")))
    account = await Account.select().where(Account.login == login).first()
    if account and account["disabled_at"] is None:
        await accounts.send_password_link(
            account, public_url(request), request.app.state.channel, welcome=False
        )
    flash(
        request,
        _("If an account uses this address, we have sent it a link to choose a new password."),
        "success",
    )
    return see_other("/login")


@get("/password/reset/{token:str}", guards=[public])
async def reset_form(token: FromPath[str]) -> Template:
    if await second_factor.reset_token_account(token) is None:
        return form_page("identity/password_reset.html", status=400, expired=True, errors={})
    return form_page("identity/password_reset.html", expired=False, errors={})


@post("/password/reset/{token:str}", guards=[public])
async def reset(request: Request, token: FromPath[str], data: Form) -> Template | Redirect:
    await limit_attempts(request, "reset")
    account_id = await second_factor.reset_token_account(token)
    if account_id is None:
        return form_page("identity/password_reset.html", status=400, expired=True, errors={})
    account = await _account(account_id)
    new = str(data.get("password", ""))
    errors = accounts.new_password_errors(account, new, str(data.get("confirm", "")))
    if errors:
        return form_page("identity/password_reset.html", status=400, expired=False, errors=errors)
    if await second_factor.use_reset_token(token) != account_id:  # used meanwhile: once only
        return form_page("identity/password_reset.html", status=400, expired=True, errors={})
    await accounts.set_password(account_id, new)
    await sessions.end_all(account_id)
    if account["password_hash"]:
        flash(request, _("Your password has been changed. You can log in."), "success")
    else:  # an activation, or a welcome link: the first password
        flash(request, _("Your password is chosen. You can now log in with it."), "success")
    return see_other("/login")


ROUTES = [
    login_form,
    login,
    code_form,
    check_code,
    resend_code,
    enrol_form,
    confirm_enrolment,
    choose_codes_by_message,
    logout,
    me,
    account_page,
    sessions_page,
    end_session,
    end_other_sessions,
    password_form,
    change_password,
    forgot_form,
    forgot,
    reset_form,
    reset,
]
