"""The administrators' account tools, and who may open them (or the development outbox)."""

from __future__ import annotations

import pytest
from markupsafe import escape

from portal.identity.numbers import InvalidNumber, luhn_check_digit, validate_rpps
from portal.identity.tables import Account, Professional
from portal.notifications.tables import OutboxMessage
from tests.conftest import translated
from tests.identity.conftest import (
    GENERIC_LOGIN_ERROR,
    PASSWORD,
    enter_password,
    field_error,
    log_in,
    new_administrator,
    new_patient,
    new_professional,
    new_rpps,
)

NEW_PASSWORD = "Une soignante qui aime le vélo"


@pytest.fixture
async def admin_browser(portal, new_browser):
    """An administrator, signed in, on the form to open an account."""
    browser = new_browser()
    browser.person = await new_administrator()
    await log_in(browser, browser.person)
    return browser


def new_professional_form(**changes: str) -> dict[str, str]:
    body = "1234567890"
    return {
        "role": "professional",
        "login": "denise.faure@exemple.fr",
        "first_name": "Denise",
        "last_name": "Faure",
        "phone": "",
        "rpps": body + luhn_check_digit(body),
        "profession": "infirmier",
        "specialty": "",
    } | changes


async def open_account(browser, **changes: str):
    await browser.get("/admin/accounts/new")
    return await browser.submit("/admin/accounts/new", new_professional_form(**changes))


async def rows() -> tuple[int, int, int]:
    return (await Account.count(), await Professional.count(), await OutboxMessage.count())


def rpps_message(text: str) -> str:
    """What the portal says of this RPPS number, as the page shows it (HTML-escaped)."""
    with pytest.raises(InvalidNumber) as refusal:
        validate_rpps(text)
    return str(escape(str(refusal.value)))


# --- opening an account ---------------------------------------------------------------------


async def test_an_administrator_opens_a_professional_account_and_a_link_is_sent(
    admin_browser, new_browser, outbox
):
    response = await open_account(admin_browser)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/accounts"
    listing = await admin_browser.get("/admin/accounts")
    assert "denise.faure@exemple.fr" in listing.text

    professional = await Professional.select(
        Professional.rpps, Professional.profession, Professional.account.role
    ).first()
    assert professional == {
        "rpps": new_professional_form()["rpps"],
        "profession": "infirmier",
        "account.role": "professional",
    }

    link = await outbox.one_link("denise.faure@exemple.fr")
    denise = new_browser()
    await denise.get(link)
    chosen = await denise.submit(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert chosen.headers["location"] == "/login"
    first_login = await enter_password(denise, "denise.faure@exemple.fr", NEW_PASSWORD)
    assert first_login.headers["location"] == "/login/enrol", "then sets up an authenticator"


async def test_the_account_cannot_be_used_before_its_password_is_chosen(admin_browser, new_browser):
    await open_account(admin_browser)
    for guess in ("", PASSWORD):
        response = await enter_password(new_browser(), "denise.faure@exemple.fr", guess)
        assert response.status_code == 400


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"rpps": "12345678901"}, "rpps", lambda: rpps_message("12345678901")),
        ({"rpps": "1234"}, "rpps", lambda: rpps_message("1234")),
        ({"rpps": ""}, "rpps", lambda: rpps_message("")),
        (
            {"profession": "sorcier"},
            "profession",
            lambda: translated("fr", "Choose a profession from the list."),
        ),
        (
            {"login": "pas-une-adresse"},
            "login",
            lambda: translated("fr", "Enter an e-mail address, such as prenom.nom@exemple.fr."),
        ),
        ({"last_name": "  "}, "last_name", lambda: translated("fr", "This field is required.")),
        (
            {"role": "patient"},
            "role",
            lambda: translated("fr", "Choose a role from the list."),
        ),
    ],
    ids=["rpps-key", "rpps-length", "rpps-missing", "profession", "login", "name", "role"],
)
async def test_bad_input_is_refused_next_to_its_field_and_nothing_is_created(
    admin_browser, changes, field, message
):
    before = await rows()
    response = await open_account(admin_browser, **changes)
    assert response.status_code == 400
    assert field_error(response.text, field) == message()
    assert 'value="Denise"' in response.text, "what was typed is kept"
    assert await rows() == before


async def test_an_rpps_number_in_use_is_refused_without_saying_whose(admin_browser):
    bruno = await new_professional(first_name="Bruno", last_name="Leclerc")
    [taken] = await Professional.select(Professional.rpps).where(Professional.account == bruno.id)
    before = await rows()

    response = await open_account(admin_browser, rpps=taken["rpps"])
    assert response.status_code == 400
    assert field_error(response.text, "rpps") == translated(
        "fr", "This RPPS number is already registered."
    )
    for revealing in ("Bruno", "Leclerc", bruno.login):
        assert revealing not in response.text
    assert await rows() == before


async def test_a_login_in_use_is_refused(admin_browser):
    bruno = await new_professional()
    before = await rows()
    response = await open_account(admin_browser, login=bruno.login.upper(), rpps=new_rpps())
    assert response.status_code == 400
    assert field_error(response.text, "login") == translated(
        "fr", "An account already uses this e-mail address."
    )
    assert await rows() == before


async def test_names_are_shown_as_typed_never_run_as_html(admin_browser):
    response = await open_account(
        admin_browser, first_name="<script>alert('x')</script>", last_name='<b onclick="x">Gras</b>'
    )
    assert response.status_code == 303
    for page in ((await admin_browser.get("/admin/accounts")).text,):
        assert "<script>alert" not in page
        assert "<b onclick" not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
        assert "&lt;b onclick=&#34;x&#34;&gt;Gras&lt;/b&gt;" in page


# --- disabling ------------------------------------------------------------------------------


async def test_disable_then_enable_an_account(admin_browser, new_browser):
    bruno = await new_professional()
    await admin_browser.get("/admin/accounts")
    assert (await admin_browser.submit(f"/admin/accounts/{bruno.id}/disable")).status_code == 303

    refused = await enter_password(new_browser(), bruno.login, bruno.password)
    assert refused.status_code == 400
    assert translated("fr", GENERIC_LOGIN_ERROR) in refused.text

    await admin_browser.get("/admin/accounts")
    assert (await admin_browser.submit(f"/admin/accounts/{bruno.id}/enable")).status_code == 303
    assert (await enter_password(new_browser(), bruno.login, bruno.password)).status_code == 303


async def test_an_administrator_cannot_disable_their_own_account(admin_browser):
    await admin_browser.get("/admin/accounts")
    own = f"/admin/accounts/{admin_browser.person.id}/disable"
    response = await admin_browser.submit(own)
    assert response.status_code == 403
    assert translated("fr", "You cannot disable your own account.") in response.text
    assert await admin_browser.is_signed_in()
    row = await Account.select(Account.disabled_at).where(Account.id == admin_browser.person.id)
    assert row[0]["disabled_at"] is None


async def test_disabling_an_unknown_account_is_404(admin_browser):
    await admin_browser.get("/admin/accounts")
    response = await admin_browser.post(
        "/admin/accounts/00000000-0000-4000-8000-000000000000/disable",
        {"csrf_token": admin_browser.csrf_token},
    )
    assert response.status_code == 404


# --- who may open these pages ---------------------------------------------------------------


async def test_the_accounts_are_for_administrators_only(portal, new_browser):
    anonymous = await new_browser().get("/admin/accounts")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=%2Fadmin%2Faccounts"

    for person in (await new_patient(), await new_professional()):
        browser = new_browser()
        await log_in(browser, person)
        for path in ("/admin/accounts", "/admin/accounts/new"):
            assert (await browser.get(path)).status_code == 403


async def test_the_outbox_exists_only_in_development(start_portal, new_browser, outbox):
    testing = await start_portal()
    assert testing.state.settings.env == "test"
    assert (await new_browser(testing).get("/dev/outbox")).status_code == 404

    development = await start_portal(CARNET_ENV="dev")
    browser = new_browser(development)
    await browser.open_and_submit(
        "/password/forgot", "/password/forgot", {"login": (await new_patient()).login}
    )
    page = await browser.get("/dev/outbox")
    assert page.status_code == 200
    [message] = await outbox.new()
    assert message["subject"] in page.text
