"""A newcomer to the demo clicks "Se connecter avec Pro Santé Connect" and lands as Dr Bernard,
in chromium, with and without JavaScript; logging out of Carnet logs out of the provider too.

The portal and the local providers are this module's own, as `make run-with-providers` runs
them. What only a browser shows is checked here: the session's cookie (SameSite=Strict) is
there once the provider's answer is in, and the logout reaches the provider although it is a
form (held to the page's form-action).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.identity.identity_providers import LocalProviders

from .conftest import DEFAULT_LOCALE, Portal, assert_accessible, free_port, serve, translated

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def providers_and_portal(tmp_path_factory) -> Iterator[tuple[LocalProviders, Portal]]:
    folder = tmp_path_factory.mktemp("national-logins")
    port = free_port()
    providers = LocalProviders(free_port(), folder / "providers.log", f"http://127.0.0.1:{port}")
    try:
        with serve(folder, port, **providers.settings()) as portal:
            yield providers, portal
    finally:
        providers.stop()


@pytest.fixture
def page(browser, providers_and_portal, javascript) -> Iterator[Page]:
    _providers, portal = providers_and_portal
    context = browser.new_context(
        base_url=portal.url, java_script_enabled=javascript, locale=DEFAULT_LOCALE
    )
    yield context.new_page()
    context.close()


def test_dr_bernard_logs_in_with_pro_sante_connect_and_out_of_both(
    page, providers_and_portal, javascript
):
    providers, portal = providers_and_portal
    page.goto("/login")
    if javascript:
        assert_accessible(page)
    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(providers.origin)}/psc/interaction/"))
    page.get_by_label("Dr Sophie Bernard, médecin généraliste").check()
    page.get_by_role("button", name="Se connecter").click()

    expect(page).to_have_url(f"{portal.url}/patients")
    page.get_by_role("link", name="Martin Camille").click()  # without a Carnet code
    expect(page.get_by_role("heading", level=1)).to_contain_text("Camille Martin")
    page.goto("/account")
    expect(page.get_by_text("Pro Santé Connect est lié à mon compte")).to_be_visible()
    if javascript:
        assert_accessible(page)
    page.get_by_role("button", name=translated("Log out")).click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(providers.origin)}/psc/session/end"))
    page.get_by_role("button", name="Me déconnecter de Pro Santé Connect").click()
    expect(page).to_have_url(f"{portal.url}/")
    expect(page.get_by_role("link", name=translated("Log in"), exact=True)).to_be_visible()
