"""Accounts from the shell (`carnet user create`) and the demo people (`carnet demo`).

The commands run in-process through `portal.cli.main`, with the environment a shell would give
them (CARNET_DATA_DIR, CARNET_DATABASE_URL), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from portal import cli
from portal.app import create_app
from portal.demo import DEMO_PASSWORD, DEMO_PEOPLE, DEMO_TOTP_SECRET
from portal.dossiers import reimbursements
from portal.dossiers.tables import Document
from portal.identity import accounts
from portal.identity.numbers import InvalidNumber, luhn_check_digit, validate_nir
from portal.identity.tables import Account, Patient, Professional, Role
from portal.notifications.tables import OutboxMessage
from tests.conftest import (
    ENGINES,
    create_postgres_database,
    drop_postgres_database,
    make_settings,
    running,
)
from tests.identity.conftest import PASSWORD, Person, enter_password, log_in, new_nir

CONVENTIONS = Path(__file__).parents[2].parent / "shared" / "design" / "CONVENTIONS.md"
#: CONVENTIONS.md's demo logins, for a checkout without the design folder next to it.
CONVENTIONS_LOGINS = {
    "camille.martin@demo.carnet.fr",
    "jules.petit@demo.carnet.fr",
    "dr.bernard@demo.carnet.fr",
    "dr.garcia@demo.carnet.fr",
    "dr.moreau@demo.carnet.fr",
    "inf.durand@demo.carnet.fr",
    "ph.petit@demo.carnet.fr",
    "mk.laurent@demo.carnet.fr",
    "dr.simon@demo.carnet.fr",
    "dr.urgence@demo.carnet.fr",
    "samu.roux@demo.carnet.fr",
    "agent.cpam@demo.carnet.fr",
    "admin@demo.carnet.fr",
}
DEMO_LOGINS = [person.login for person in DEMO_PEOPLE]


@dataclass
class Run:
    status: int
    out: str
    err: str


def shell_environment(monkeypatch, data_dir: Path, database_url: str) -> None:
    """Only the settings a person would export in their shell."""
    for name in list(os.environ):
        if name.startswith("CARNET_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CARNET_ENV", "test")
    monkeypatch.setenv("CARNET_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CARNET_DATABASE_URL", database_url)


def query(awaitable):
    """Read the database from a test without an event loop (the commands run their own)."""

    async def run():
        return await awaitable

    return asyncio.run(run())


# --- carnet user create ---------------------------------------------------------------------


@pytest.fixture
def carnet(monkeypatch, tmp_path, database_url, capsys):
    """``carnet(*arguments, stdin=...)`` runs the command on the test's (migrated) database."""
    shell_environment(monkeypatch, tmp_path / "var", database_url)

    def run(*arguments: str, stdin: str = "") -> Run:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        status = cli.main(list(arguments))
        captured = capsys.readouterr()
        return Run(status, captured.out, captured.err)

    assert run("db", "upgrade").status == 0
    return run


def rpps(body: str) -> str:
    return body + luhn_check_digit(body)


def test_user_create_opens_a_professional_account_and_sends_a_link(carnet):
    result = carnet(
        "user", "create", "professional",
        "--login", "Eric.Blanc@Exemple.fr",
        "--first-name", "Éric",
        "--last-name", "Blanc",
        "--rpps", rpps("1098765432"),
        "--profession", "pharmacien",
    )  # fmt: skip
    assert result.status == 0, result.err
    assert "eric.blanc@exemple.fr" in result.out

    professional = query(
        Professional.select(
            Professional.rpps, Professional.profession, Professional.account.login
        ).first()
    )
    assert professional == {
        "rpps": rpps("1098765432"),
        "profession": "pharmacien",
        "account.login": "eric.blanc@exemple.fr",
    }
    [message] = query(OutboxMessage.select())
    assert message["recipient"] == "eric.blanc@exemple.fr"
    assert re.search(r"/password/reset/\S+", message["body"])


def test_user_create_refuses_an_invalid_nir_in_one_line(carnet):
    with pytest.raises(InvalidNumber) as refusal:
        validate_nir("2 86 04 75 056 123 00")
    result = carnet(
        "user", "create", "patient",
        "--login", "lucie.roy@exemple.fr",
        "--first-name", "Lucie",
        "--last-name", "Roy",
        "--nir", "2 86 04 75 056 123 00",
        "--birth-date", "1986-04-12",
    )  # fmt: skip
    assert result.status == 1
    assert result.out == ""
    assert result.err.count("\n") == 1, "one line"
    assert result.err == f"carnet: nir: {refusal.value}\n"
    assert "Traceback" not in result.err
    assert query(Account.count()) == 0


def test_user_create_with_password_stdin_sets_the_password(carnet):
    result = carnet(
        "user", "create", "patient",
        "--login", "lucie.roy@exemple.fr",
        "--first-name", "Lucie",
        "--last-name", "Roy",
        "--nir", new_nir(),
        "--birth-date", "1986-04-12",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert result.status == 0, result.err
    assert result.out == "Account lucie.roy@exemple.fr opened.\n"
    assert query(OutboxMessage.count()) == 0, "no link: the password is set"
    account = query(accounts.authenticate("lucie.roy@exemple.fr", PASSWORD))
    assert account is not None
    assert account["role"] == Role.PATIENT
    assert query(accounts.authenticate("lucie.roy@exemple.fr", PASSWORD + "x")) is None


def test_user_create_applies_the_password_policy(carnet):
    result = carnet(
        "user", "create", "insurer_agent",
        "--login", "agent@exemple.fr",
        "--first-name", "Marc",
        "--last-name", "Noël",
        "--password-stdin",
        stdin="court\n",
    )  # fmt: skip
    assert result.status == 1
    assert result.err.startswith("carnet: password: ")
    assert result.err.count("\n") == 1
    assert query(Account.count()) == 0


def test_user_create_refuses_a_login_in_use(carnet):
    arguments = ("user", "create", "administrator", "--first-name", "Rose", "--last-name", "Vidal")
    assert carnet(*arguments, "--login", "rose.vidal@exemple.fr").status == 0
    again = carnet(*arguments, "--login", "ROSE.VIDAL@exemple.fr")
    assert again.status == 1
    assert again.err.startswith("carnet: login: ")
    assert query(Account.count()) == 1


# --- carnet demo ----------------------------------------------------------------------------


def conventions_logins() -> set[str]:
    """The logins of CONVENTIONS.md's demo table (the list above if the file is not here)."""
    if not CONVENTIONS.exists():
        return CONVENTIONS_LOGINS
    section = CONVENTIONS.read_text(encoding="utf-8").partition("## Demo data")[2]
    section = section.partition("\n## ")[0]
    cells = re.findall(r"^\| `([^`]+)`", section, re.M)
    assert "leo.martin" in cells, "the table lists Léo, without a login"
    return {cell for cell in cells if "@" in cell}


def test_the_demo_people_are_those_of_conventions_md():
    assert set(DEMO_LOGINS) == conventions_logins()
    assert len(DEMO_LOGINS) == len(set(DEMO_LOGINS))


@dataclass
class DemoDatabase:
    url: str
    data_dir: Path
    output: str


@pytest.fixture(scope="module", params=ENGINES)
def demo_database(request, tmp_path_factory) -> Iterator[DemoDatabase]:
    """One database per engine, loaded once by `carnet demo` for the whole module."""
    data_dir = tmp_path_factory.mktemp("demo")
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir}/carnet.sqlite3"
    else:
        url = asyncio.run(create_postgres_database())
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            shell_environment(monkeypatch, data_dir / "var", url)
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                assert cli.main(["db", "upgrade"]) == 0
                assert cli.main(["demo"]) == 0
        yield DemoDatabase(url, data_dir, output.getvalue())
    finally:
        if request.param != "sqlite":
            asyncio.run(drop_postgres_database(url))


@pytest.fixture
async def demo_portal(demo_database, clock):
    app = create_app(make_settings(demo_database.data_dir, demo_database.url))
    async with running(app):
        yield app


def test_the_demo_prints_every_login(demo_database):
    assert "Demo data loaded." in demo_database.output
    for login in DEMO_LOGINS:
        assert login in demo_database.output
    assert DEMO_PASSWORD in demo_database.output
    assert DEMO_TOTP_SECRET in demo_database.output


@pytest.mark.parametrize("login", DEMO_LOGINS)
async def test_every_demo_person_logs_in_with_the_demo_password_and_secret(
    demo_portal, new_browser, login
):
    person = next(person for person in DEMO_PEOPLE if person.login == login)
    account = await Account.select().where(Account.login == login).first()
    assert account["role"] == person.role
    assert account["totp_confirmed"], "no enrolment step: the demo authenticator is set up"

    browser = new_browser(demo_portal, address=f"192.0.2.{DEMO_LOGINS.index(login) + 1}")
    landing = await log_in(
        browser,
        Person(
            id=account["id"],
            login=login,
            role=person.role,
            first_name=person.first_name,
            last_name=person.last_name,
            password=DEMO_PASSWORD,
            totp_secret=DEMO_TOTP_SECRET,
        ),
    )
    homes = {Role.ADMINISTRATOR: "/admin/accounts", Role.PATIENT: "/dossiers/",
             Role.PROFESSIONAL: "/patients", Role.SAMU_REGULATOR: "/patients",
             Role.INSURER_AGENT: "/reimbursements/import"}  # fmt: skip
    assert landing.headers["location"].startswith(homes.get(person.role, "/account"))
    home = await browser.get(landing.headers["location"])
    assert home.status_code == 200
    if person.role == Role.PATIENT:
        assert f"{person.first_name} {person.last_name}" in home.text


async def test_the_demo_password_is_needed(demo_portal, new_browser):
    response = await enter_password(new_browser(demo_portal), DEMO_LOGINS[0], "Carnet-demo-2025!")
    assert response.status_code == 400


async def test_leo_is_a_patient_without_an_account(demo_portal):
    [leo] = await Patient.select().where(Patient.first_name == "Léo")
    assert leo["last_name"] == "Martin"
    assert leo["account"] is None
    assert not await Account.exists().where(Account.login.like("leo%"))


async def test_the_demo_reimbursements_come_from_the_insurer_as_an_import_names_them(demo_portal):
    [document] = await Document.select(Document.author_name, Document.author).where(
        Document.category == reimbursements.CATEGORY
    )
    assert document["author_name"] == reimbursements.AUTHOR_NAME
    agent = await Account.select(Account.id).where(Account.role == Role.INSURER_AGENT).first()
    assert document["author"] == agent["id"]  # the agent stays the author account


def snapshot() -> tuple[list, list]:
    async def read():
        people = await Account.select(
            Account.id, Account.login, Account.role, Account.password_hash, Account.totp_secret
        ).order_by(Account.login)
        patients = await Patient.select().order_by(Patient.nir)
        return people, patients

    return query(read())


def test_running_the_demo_again_changes_nothing(demo_database, monkeypatch, capsys):
    shell_environment(monkeypatch, demo_database.data_dir / "var", demo_database.url)
    before = snapshot()
    assert cli.main(["demo"]) == 0
    assert "The database is not empty: demo data left as it is." in capsys.readouterr().out
    assert snapshot() == before
    assert len(before[0]) == len(DEMO_PEOPLE)
    assert len(before[1]) == 3  # Camille, Jules and Léo
