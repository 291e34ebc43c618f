"""Page budgets (ARCHITECTURE.md): every page fits in one TCP initial window once compressed
(14 600 bytes) and references at most 3 subresources, so a cold visit on a rural 3G phone
costs at most 4 requests.

The public pages are found by walking the routes, so every new public page is measured
without anyone having to list it here. The pages behind the login are measured as a patient,
a professional and an administrator see them, signed in through the real login.
"""

from __future__ import annotations

import gzip
import re
import uuid
from datetime import date

import pyotp
import pytest

from portal import audit, clock
from portal.access import public
from portal.access.tables import CircleMember, Joined
from portal.app import route_handlers
from portal.audit import Action, Actor, Mode
from portal.dossiers.tables import Document, Dossier
from portal.identity.accounts import NewAccount, create_account
from portal.identity.admin import PAGE_SIZE
from portal.identity.numbers import luhn_check_digit, nir_key
from portal.identity.tables import Patient, Role
from tests.conftest import sign_in

PAGE_BUDGET = 14_600
SUBRESOURCE_BUDGET = 3
NOT_PAGES = ("/health", "/static/")
SUBRESOURCE = re.compile(
    r"<(?:script|img|iframe|audio|video|source|embed)\b[^>]*\bsrc=\"(?!data:)[^\"]+\""
    r"|<link\b[^>]*\bhref=\"(?!data:)[^\"]+\"[^>]*>",
    re.I,
)


def public_pages(app) -> list[str]:
    return sorted(
        path
        for path, handler in route_handlers(app)
        if "GET" in handler.http_methods
        and public in handler.resolve_guards()
        and "{" not in path
        and not path.startswith(NOT_PAGES)
    )


async def measure(
    client, path: str, language: str = "fr", status: int | None = None
) -> tuple[int, list[str]]:
    """The compressed size of a page and its subresources (checking its status if given)."""
    # gzip, not brotli: browsers only offer brotli over HTTPS, and gzip is the larger one.
    headers = {"accept-encoding": "gzip", "accept-language": language}
    async with client.stream("GET", path, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert status is None or response.status_code == status, f"{path}: {response.status_code}"
    # Unknown URLs match no route, so Litestar's compression does not reach them: they are
    # measured as sent.
    compressed = response.headers.get("content-encoding") == "gzip"
    html = gzip.decompress(raw) if compressed else raw
    return len(raw), SUBRESOURCE.findall(html.decode())


async def test_every_public_page_fits_the_budget(app, client):
    pages = [*public_pages(app), "/no-such-page"]
    assert "/" in pages
    for path in pages:
        size, subresources = await measure(client, path)
        assert size <= PAGE_BUDGET, f"{path} is {size} bytes compressed"
        assert len(subresources) <= SUBRESOURCE_BUDGET, f"{path} loads {subresources}"


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_the_home_page_needs_only_its_stylesheet_and_htmx(client, language):
    _size, subresources = await measure(client, "/", language)
    assert len(subresources) == 2
    page = (await client.get("/")).text
    assert '<link rel="icon" href="data:,">' in page  # no favicon request either


# --- signed-in pages ------------------------------------------------------------------------

PASSWORD = "Une phrase de passe assez longue"
ACCOUNT_PAGES = ("/account", "/account/sessions", "/account/password")
ADMINISTRATOR_PAGES = (*ACCOUNT_PAGES, "/admin/accounts", "/admin/accounts/new")


def someone(role: Role, number: int = 0, totp_secret: str = "") -> NewAccount:
    """A person with long names, as the budget must hold for them too."""
    profile = {}
    if role == Role.PATIENT:
        first13 = f"2860475{number:06d}"
        profile = {"nir": first13 + nir_key(first13), "birth_date": date(1946, 4, 12)}
    elif role == Role.PROFESSIONAL:
        body = f"1{number:09d}"
        profile = {
            "rpps": body + luhn_check_digit(body),
            "profession": "masseur_kinesitherapeute",
            "specialty": "Rééducation vestibulaire et périnéale",
        }
    return NewAccount(
        role=role,
        login=f"marie-helene.de-la-fontaine-dubois.{number}@caisse-primaire-exemple.fr",
        first_name="Marie-Hélène",
        last_name=f"de La Fontaine-Dubois {number}",
        password=PASSWORD if totp_secret else "",
        totp_secret=totp_secret,
        **profile,
    )


@pytest.mark.parametrize(
    ("role", "pages"),
    [
        (Role.PATIENT, ACCOUNT_PAGES),
        (Role.PROFESSIONAL, ACCOUNT_PAGES),
        (Role.ADMINISTRATOR, ADMINISTRATOR_PAGES),
    ],
    ids=["patient", "professional", "administrator"],
)
async def test_every_signed_in_page_fits_the_budget(app, client, role, pages):
    await app.state.database.upgrade()
    secret = pyotp.random_base32(32)
    person = someone(role, totp_secret=secret)
    await create_account(person)
    if role == Role.ADMINISTRATOR:  # the list of accounts, a full page of them
        for number in range(1, PAGE_SIZE + 2):
            await create_account(someone(Role.INSURER_AGENT, number))
    await sign_in(client, person.login, PASSWORD, secret)

    for path in pages:
        size, subresources = await measure(client, path, status=200)
        assert size <= PAGE_BUDGET, f"{path} is {size} bytes compressed for a {role}"
        assert len(subresources) <= SUBRESOURCE_BUDGET, f"{path} loads {subresources}"


async def test_a_full_page_of_access_history_fits_the_budget(app, client):
    await app.state.database.upgrade()
    secret = pyotp.random_base32(32)
    person = someone(Role.PATIENT, totp_secret=secret)
    account_id = await create_account(person)
    patient = await Patient.select(Patient.id).where(Patient.account == account_id).first()
    dossier = Dossier(patient=patient["id"], created_at=clock.now(), created_through="online",
                      consent_at=clock.now())  # fmt: skip
    await dossier.save()
    doctor = Actor(uuid.uuid4(), "professional", "masseur_kinesitherapeute",
                   "Marie-Hélène de La Fontaine-Dubois")  # fmt: skip
    async with app.state.database.write_transaction():
        for _ in range(60):
            await audit.record(
                Action.EMERGENCY_ACCESS,
                doctor,
                dossier_id=dossier.id,
                mode=Mode.EMERGENCY,
                mode_detail="Patiente inconsciente " * 5,
            )
    await sign_in(client, person.login, PASSWORD, secret)
    size, _subresources = await measure(client, f"/dossiers/{dossier.id}/history", status=200)
    assert size <= PAGE_BUDGET, f"the history page is {size} bytes compressed"


async def test_the_record_pages_fit_the_budget(app, client):
    """A dossier's overview and its timeline full of documents, the "who has access" page with
    a crowded care circle, and a long document."""
    await app.state.database.upgrade()
    secret = pyotp.random_base32(32)
    person = someone(Role.PATIENT, totp_secret=secret)
    account_id = await create_account(person)
    patient = await Patient.select(Patient.id).where(Patient.account == account_id).first()
    dossier = Dossier(patient=patient["id"], created_at=clock.now(), created_through="online",
                      consent_at=clock.now())  # fmt: skip
    await dossier.save()
    professionals = [
        await create_account(someone(Role.PROFESSIONAL, number)) for number in range(1, 13)
    ]
    for professional in professionals:
        await CircleMember.insert(
            CircleMember(
                dossier=dossier.id,
                professional=professional,
                joined=Joined.CONSENT,
                since=clock.now(),
            )
        )
    for number in range(40):
        document = Document(
            dossier=dossier.id, category="compte_rendu", type="hospitalisation",
            title=f"Compte rendu d'hospitalisation en rééducation fonctionnelle n° {number}",
            care_date=date(2026, 1, 1), created_at=clock.now(), author=professionals[0],
            author_name="Marie-Hélène de La Fontaine-Dubois", body="Évolution favorable. " * 150,
        )  # fmt: skip
        await document.save()
    await sign_in(client, person.login, PASSWORD, secret)
    for path in (
        f"/dossiers/{dossier.id}",
        f"/dossiers/{dossier.id}/documents",
        f"/dossiers/{dossier.id}/documents?q=hospitalisation",
        f"/dossiers/{dossier.id}/access",
        f"/dossiers/{dossier.id}/profile",
        f"/dossiers/{dossier.id}/documents/new",
        f"/dossiers/{dossier.id}/summary",
        f"/dossiers/{dossier.id}/documents/{document.id}",
    ):
        size, subresources = await measure(client, path, status=200)
        assert size <= PAGE_BUDGET, f"{path} is {size} bytes compressed"
        assert len(subresources) <= SUBRESOURCE_BUDGET, f"{path} loads {subresources}"


async def test_a_full_page_of_patients_fits_the_budget(app, client):
    await app.state.database.upgrade()
    secret = pyotp.random_base32(32)
    doctor = someone(Role.PROFESSIONAL, totp_secret=secret)
    doctor_id = await create_account(doctor)
    for number in range(1, 60):
        account_id = await create_account(someone(Role.PATIENT, number))
        patient = await Patient.select(Patient.id).where(Patient.account == account_id).first()
        await Dossier.insert(
            Dossier(
                patient=patient["id"],
                created_at=clock.now(),
                created_through="online",
                consent_at=clock.now(),
                medecin_traitant=doctor_id,
            )
        )
    await sign_in(client, doctor.login, PASSWORD, secret)
    page = (await client.get("/patients")).text
    assert page.count('href="/dossiers/') == 50
    size, _subresources = await measure(client, "/patients", status=200)
    assert size <= PAGE_BUDGET, f"the patients page is {size} bytes compressed"
