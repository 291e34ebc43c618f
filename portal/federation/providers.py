"""The national identity providers: who may log in with each, and Carnet's client there.

A provider is offered only when it is configured (``CARNET_PSC_*``, ``CARNET_FRANCECONNECT_*``).
Carnet's client at each, with the provider's discovery document and keys, lives in
``app.state.identity_providers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import NotFoundException
from litestar.response import Template

from portal.federation.openid import OpenIDProvider
from portal.i18n import gettext_lazy as _
from portal.identity.sessions import CurrentSession
from portal.identity.tables import PERSON_ROLES, PROFESSIONAL_ROLES, LoginSession, Role
from portal.settings import OpenIDProviderSettings, Settings


@dataclass(frozen=True)
class Provider:
    #: In URLs, the database and the audit trail; never changes once released.
    key: str
    #: Its own name, the same in every language.
    name: str
    scope: str
    #: The lowest ``acr`` accepted.
    minimum_acr: str
    #: From this ``acr`` on, the provider's login also stands for Carnet's second factor.
    second_factor_acr: str
    #: The roles whose accounts may log in through it.
    roles: frozenset[Role]
    #: Who it is for, under its button on the login page.
    audience: Any

    def settings_in(self, settings: Settings) -> OpenIDProviderSettings | None:
        return getattr(settings, self.key)


#: Professionals, with their CPS card or the e-CPS app. Its only level is eidas1, and its
#: authentication has two factors: Carnet asks for no code of its own.
PRO_SANTE_CONNECT = Provider(
    key="psc",
    name="Pro Santé Connect",
    scope="openid scope_all",
    minimum_acr="eidas1",
    second_factor_acr="eidas1",
    roles=PROFESSIONAL_ROLES,
    audience=_("Health professionals: CPS card or e-CPS app."),
)
#: Patients and their legal representatives. FranceConnect's eidas1 logins (an account at
#: the tax office or the health insurance, say) are one factor: Carnet asks for its code
#: after them, not after FranceConnect+'s (eidas2 and above).
FRANCECONNECT = Provider(
    key="franceconnect",
    name="FranceConnect",
    scope="openid",
    minimum_acr="eidas1",
    second_factor_acr="eidas2",
    roles=PERSON_ROLES,
    audience=_("Patients who have linked it to their account."),
)
PROVIDERS = {provider.key: provider for provider in (PRO_SANTE_CONNECT, FRANCECONNECT)}


def configured(settings: Settings) -> list[Provider]:
    """The providers this portal offers."""
    return [provider for provider in PROVIDERS.values() if provider.settings_in(settings)]


def callback_url(settings: Settings, provider: Provider) -> str:
    """Where the provider sends the browser back: the redirect URI registered with it."""
    return f"{settings.base_url}/login/{provider.key}/callback"


def clients(settings: Settings) -> dict[str, OpenIDProvider]:
    """Carnet's client at each configured provider, by key."""
    return {
        provider.key: OpenIDProvider(
            provider.settings_in(settings),
            scope=provider.scope,
            minimum_acr=provider.minimum_acr,
            redirect_uri=callback_url(settings, provider),
        )
        for provider in configured(settings)
    }


def offered(request: Request, key: str) -> tuple[Provider, OpenIDProvider]:
    """The provider of a URL and Carnet's client there; 404 when this portal does not offer it."""
    client = request.app.state.identity_providers.get(key)
    if client is None:
        raise NotFoundException()
    return PROVIDERS[key], client


async def logout_url(request: Request, session: CurrentSession) -> str | None:
    """Where to end, at its provider, the login ``session`` was opened with (None: nowhere)."""
    client = request.app.state.identity_providers.get(session.provider)
    if client is None:  # no longer configured
        return None
    row = (
        await LoginSession.select(LoginSession.provider_id_token)
        .where(LoginSession.id == session.id)
        .first()
    )
    settings = request.app.state.settings
    return await client.logout_url(row["provider_id_token"] if row else "", f"{settings.base_url}/")


def onwards(url: str, title: str, message: str, link: str = "") -> Template:
    """A page that moves on to ``url`` by itself (and offers a link there).

    A page, not a redirect. After a provider's answer, which is a navigation from another
    site: a redirect would still be one, and would carry no SameSite=Strict cookie (the
    session's), so the next page would not know the person. Before a provider's logout: the
    logout is a form, and browsers hold a form's redirects to the page's ``form-action``.
    """
    return Template(
        "federation/onwards.html",
        context={"url": url, "title": title, "message": message, "link": link or _("Continue")},
    )


def leave_for(url: str, key: str) -> Template:
    """Once logged out of Carnet, on to the provider to log out there too."""
    name = PROVIDERS[key].name
    return onwards(
        url,
        _("You are logged out"),
        _("You are logged out of Carnet. Now logging you out of %(provider)s…")
        % {"provider": name},
        _("Log out of %(provider)s") % {"provider": name},
    )
