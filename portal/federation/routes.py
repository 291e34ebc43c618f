"""Logging in with Pro Santé Connect or FranceConnect, and linking them to one's account.

``GET /login/{provider}`` sends the browser to the provider, whose answer comes back to
``GET /login/{provider}/callback``; ``GET /account/providers/{provider}/link`` does the same
from a signed-in session, to link the identity to its account. Each starts from a link, not
a form: a form's redirect to another site would be held to the page's ``form-action``.

The answer is checked whole (`portal.federation.openid`) before anything else happens. A
refusal of any kind is traced and answers a page saying what to do, with a 4xx; no session
is opened. A login that succeeds answers a page that moves on by itself to where the person
is going (`providers.onwards` says why a page).
"""

from __future__ import annotations

import logging
from uuid import UUID

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.access import public, signed_in
from portal.audit import Action
from portal.federation import attempts, identities, pro_sante_connect, providers
from portal.federation.attempts import Attempt
from portal.federation.openid import (
    Authentication,
    AuthenticationRefused,
    OpenIDProvider,
    ProviderUnavailable,
    acr_level,
)
from portal.federation.providers import PRO_SANTE_CONNECT, Provider
from portal.federation.refusal import LoginRefused
from portal.i18n import gettext as _
from portal.i18n import gettext_lazy
from portal.identity import accounts, sessions
from portal.identity.routes import (
    complete_login,
    landing,
    limit_attempts,
    local_path,
    start_second_step,
)
from portal.identity.sessions import Stage
from portal.identity.tables import Account, LoginSession
from portal.web import flash, see_other

logger = logging.getLogger("carnet.federation")

LOGIN, LINK = "login", "link"
UNAVAILABLE = gettext_lazy(
    "%(provider)s is not answering right now. Try again in a few minutes, or log in with your "
    "e-mail address and password."
)
NOT_CHECKED = gettext_lazy(
    "The answer of %(provider)s could not be checked, so you are not logged in. Start again; "
    "if this happens again, log in with your e-mail address and password."
)


@get("/login/{key:str}", guards=[public])
async def start_login(
    request: Request, key: FromPath[str], next: FromQuery[str | None] = None
) -> Template | Redirect:
    provider, client = providers.offered(request, key)
    session = sessions.current(request)
    if session and session.signed_in:
        return see_other(local_path(next))
    return await _send_to_provider(request, provider, client, LOGIN, session, local_path(next))


@get("/account/providers/{key:str}/link", guards=[signed_in])
async def start_link(request: Request, key: FromPath[str]) -> Template | Redirect:
    provider, client = providers.offered(request, key)
    session = sessions.current(request)
    if session.role not in provider.roles:
        raise NotFoundException()
    return await _send_to_provider(request, provider, client, LINK, session, "/account")


async def _send_to_provider(
    request: Request,
    provider: Provider,
    client: OpenIDProvider,
    purpose: str,
    session: sessions.CurrentSession | None,
    next: str,
) -> Template | Redirect:
    await limit_attempts(request, "provider")
    try:
        await client.metadata()  # whether the provider answers: now, not on its page
    except ProviderUnavailable as problem:
        logger.warning("%s unavailable: %s", provider.name, problem)
        account = await _account(session.account_id) if purpose == LINK else None
        refusal = LoginRefused("provider unavailable", UNAVAILABLE, account, provider=provider.name)
        return await _refuse(request, provider, purpose, refusal, next)
    attempt = await attempts.begin(provider.key, purpose, session.id if session else None, next)
    url = await client.authorization_url(
        state=attempt.state, nonce=attempt.nonce, code_verifier=attempt.code_verifier
    )
    return Redirect(
        url,
        status_code=303,
        cookies=[attempts.browser_cookie(request.app.state.settings, attempt)],
    )


@get("/login/{key:str}/callback", guards=[public])
async def answer(request: Request, key: FromPath[str]) -> Template:
    """The provider's answer: a code to exchange, or an error. Used once, in the browser that
    was sent there."""
    provider, client = providers.offered(request, key)
    await limit_attempts(request, "provider")
    attempt = await attempts.take(request, provider.key, request.query_params.get("state", ""))
    try:
        if attempt is None:
            raise LoginRefused(
                "state",
                _(
                    "This answer from %(provider)s does not belong to a login started in this "
                    "browser in the last ten minutes. Start again."
                ),
                provider=provider.name,
            )
        account = await _linking_account(provider, attempt) if attempt.purpose == LINK else None
        authentication = await _authentication(request, provider, client, attempt, account)
        if attempt.purpose == LINK:
            response = await _link(request, provider, authentication, account)
        else:
            response = await _log_in(request, provider, authentication, attempt)
    except LoginRefused as refusal:
        purpose, next = (attempt.purpose, attempt.next) if attempt else (LOGIN, "/me")
        response = await _refuse(request, provider, purpose, refusal, next)
    response.cookies.append(attempts.browser_cookie(request.app.state.settings, None))
    return response


async def _authentication(
    request: Request,
    provider: Provider,
    client: OpenIDProvider,
    attempt: Attempt,
    account: dict | None,
) -> Authentication:
    """Who the provider vouches for, every check passed; `LoginRefused` otherwise."""
    query = request.query_params
    if query.get("error"):
        raise LoginRefused(
            f"provider error: {query['error']}"[:120],
            _("%(provider)s did not confirm your identity, so you are not logged in."),
            account,
            provider=provider.name,
        )
    if not query.get("code"):
        raise LoginRefused("no code", NOT_CHECKED, account, provider=provider.name)
    try:
        return await client.authenticate(
            code=query["code"],
            nonce=attempt.nonce,
            code_verifier=attempt.code_verifier,
            issuer=query.get("iss"),
        )
    except AuthenticationRefused as problem:
        raise LoginRefused(problem.reason, NOT_CHECKED, account, provider=provider.name) from None
    except ProviderUnavailable as problem:
        logger.warning("%s unavailable: %s", provider.name, problem)
        raise LoginRefused(
            "provider unavailable", UNAVAILABLE, account, provider=provider.name
        ) from None


async def _log_in(
    request: Request, provider: Provider, authentication: Authentication, attempt: Attempt
) -> Template:
    if provider is PRO_SANTE_CONNECT:
        practitioner = pro_sante_connect.practitioner(authentication.claims)
        account = await identities.professional_account(request, practitioner)
    else:
        account = await identities.linked_account(request, provider, authentication.subject)
        if account is None:
            await accounts.trace_login(
                request,
                Action.LOGIN_FAILURE,
                None,
                reason="unknown identity",
                provider=provider.key,
            )
            return Template(
                "federation/unknown_identity.html",
                context={"provider": provider},
                status_code=403,
            )
    if attempt.session:  # what this browser had before: a login replaces it
        await sessions.end(attempt.session)
    if acr_level(authentication.acr) >= acr_level(provider.second_factor_acr):
        await complete_login(
            request,
            account,
            provider=provider.key,
            provider_id_token=authentication.id_token,
        )
        return providers.onwards(
            await landing(attempt.next, account),
            _("You are logged in"),
            _("%(provider)s has confirmed who you are.") % {"provider": provider.name},
        )
    path = await start_second_step(
        request,
        account,
        attempt.next,
        provider=provider.key,
        provider_id_token=authentication.id_token,
    )
    return providers.onwards(
        path,
        _("One more step"),
        _("%(provider)s has confirmed who you are; Carnet now asks for its own code.")
        % {"provider": provider.name},
    )


async def _link(
    request: Request, provider: Provider, authentication: Authentication, account: dict
) -> Template:
    subject = authentication.subject
    if provider is PRO_SANTE_CONNECT:
        subject = pro_sante_connect.practitioner(authentication.claims).rpps
    await identities.link(request, provider, account, subject)
    flash(
        request,
        _("%(provider)s is linked to your account: you may log in with it.")
        % {"provider": provider.name},
        "success",
    )
    return providers.onwards(
        "/account",
        _("%(provider)s is linked") % {"provider": provider.name},
        _("You may now log in with %(provider)s.") % {"provider": provider.name},
    )


async def _refuse(
    request: Request, provider: Provider, purpose: str, refusal: LoginRefused, next: str
) -> Template:
    """Trace the refusal, and tell the person: on the login page, where the password still
    works, or for a link, on a page leading back to their account."""
    if purpose == LINK:
        await identities.refuse_link(request, provider, refusal)
        return _refused_page(
            _("%(provider)s was not linked") % {"provider": provider.name}, refusal, 400
        )
    await accounts.trace_login(
        request,
        Action.LOGIN_FAILURE,
        refusal.account,
        reason=refusal.reason,
        provider=provider.key,
    )
    return Template(
        "identity/login.html",
        context={"next": local_path(next), "login": "", "error": refusal.message},
        status_code=400,
    )


async def _linking_account(provider: Provider, attempt: Attempt) -> dict:
    """The account a link is for: the one of the session that asked for it, still open."""
    session = (
        await LoginSession.select(LoginSession.account, LoginSession.stage)
        .where(LoginSession.id == attempt.session)
        .first()
    )
    if session is None or session.get("stage") != Stage.SIGNED_IN:
        raise LoginRefused(
            "session ended",
            _("Your session has ended. Log in again, then link %(provider)s from “My account”."),
            provider=provider.name,
        )
    return await _account(session["account"])


async def _account(account_id: UUID) -> dict:
    return await Account.select().where(Account.id == account_id).first()


@post("/account/providers/{key:str}/unlink", guards=[signed_in])
async def unlink(request: Request, key: FromPath[str]) -> Template | Redirect:
    provider, _client = providers.offered(request, key)
    account = await _account(sessions.current(request).account_id)
    try:
        await identities.unlink(request, provider, account)
    except LoginRefused as refusal:
        return _refused_page(
            _("%(provider)s is still linked") % {"provider": provider.name}, refusal, 409
        )
    flash(
        request,
        _("%(provider)s is unlinked from your account.") % {"provider": provider.name},
        "success",
    )
    return see_other("/account")


def _refused_page(title: str, refusal: LoginRefused, status: int) -> Template:
    return Template(
        "federation/refused.html",
        context={"title": title, "message": refusal.message},
        status_code=status,
    )


ROUTES = [start_login, start_link, answer, unlink]
