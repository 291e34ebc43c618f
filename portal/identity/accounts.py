"""Creating, checking and disabling accounts; the one place that decides whether a login and
password open a session.

Bad input is reported field by field (`FormErrors`) in words a person can act on. A number
already in use is refused without saying whose it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from litestar import Request

from portal import audit, clock, db
from portal.audit import Action, Actor, Outcome, Purpose
from portal.i18n import gettext as _
from portal.identity import abuse, passwords, second_factor, sessions
from portal.identity.numbers import InvalidNumber, phone_number, validate_nir, validate_rpps
from portal.identity.professions import PROFESSIONS
from portal.identity.tables import (
    PERSON_ROLES,
    PROFESSIONAL_ROLES,
    Account,
    Patient,
    Professional,
    Role,
    SecondFactor,
)
from portal.notifications.messaging import Channel, Message, address_of

LOGIN_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: The longest e-mail address (RFC 5321's path limit), and so the longest login.
MAX_LOGIN = 254
NAME_LIMIT = 100


class FormErrors(ValueError):
    """Field name → what is wrong with it, ready to show next to the field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class NewAccount:
    role: Role
    login: str
    first_name: str
    last_name: str
    phone: str = ""
    password: str = ""  # empty: the person sets it through a link sent to them
    second_factor: SecondFactor = SecondFactor.TOTP
    totp_secret: str = ""  # demo accounts only: an authenticator already set up
    # Professionals and SAMU regulators
    rpps: str = ""
    profession: str = ""
    specialty: str = ""
    # Patients
    nir: str = ""
    birth_date: date | None = None


def normalize_login(login: str) -> str:
    """A login as stored: an e-mail address in lower case, or a mobile number (the login of a
    patient without e-mail) in international form, however it was typed."""
    return phone_number(login) or login.strip().lower()


def personal_words(account: dict) -> tuple[str, ...]:
    """What a password may not contain: the login, its part before the @, the names."""
    login = normalize_login(account["login"])
    return (login, login.partition("@")[0], account["first_name"], account["last_name"])


def echoed_login(typed: str) -> str:
    """What was typed as a login, to fill in again (in a form, a redirect): nothing when no
    login is that long."""
    return typed if len(typed) <= MAX_LOGIN else ""


async def create_account(new: NewAccount) -> UUID:
    """Validate and create an account with its patient or professional profile."""
    errors: dict[str, str] = {}
    login = normalize_login(new.login)
    if not LOGIN_PATTERN.match(login) or len(login) > MAX_LOGIN:
        errors["login"] = _("Enter an e-mail address, such as prenom.nom@exemple.fr.")
    for name in ("first_name", "last_name"):
        value = getattr(new, name).strip()
        if not value:
            errors[name] = _("This field is required.")
        elif len(value) > NAME_LIMIT:
            errors[name] = _("At most 100 characters.")
    if new.password:
        problems = passwords.check_password(new.password, personal=personal_words(new.__dict__))
        if problems:
            errors["password"] = " ".join(problems)
    rpps = nir = ""
    if new.role in PROFESSIONAL_ROLES:
        rpps = _checked_number(validate_rpps, new.rpps, "rpps", errors)
        if new.profession not in PROFESSIONS:
            errors["profession"] = _("Choose a profession from the list.")
        if new.role == Role.SAMU_REGULATOR and new.profession != "medecin":
            errors["profession"] = _("A SAMU regulator is a doctor.")
    if new.role == Role.PATIENT:
        nir = _checked_number(validate_nir, new.nir, "nir", errors)
        if new.birth_date is None:
            errors["birth_date"] = _("Enter the date of birth.")
        elif new.birth_date > clock.now().date() or new.birth_date.year < 1900:
            errors["birth_date"] = _("This date of birth is not possible.")
    if new.second_factor == SecondFactor.CODE and new.role not in PERSON_ROLES:
        errors["second_factor"] = _("Professionals and staff use an authenticator application.")
    if errors:
        raise FormErrors(errors)

    await _refuse_duplicates(login, rpps, nir)
    now = clock.now()
    password_hash = await passwords.hash_password(new.password) if new.password else ""
    async with db.current().write_transaction():
        account = Account(
            login=login,
            password_hash=password_hash,
            role=new.role,
            first_name=new.first_name.strip(),
            last_name=new.last_name.strip(),
            email=login,
            phone=new.phone.strip(),
            second_factor=new.second_factor,
            totp_secret=new.totp_secret,
            totp_confirmed=bool(new.totp_secret),
            created_at=now,
            password_changed_at=now if password_hash else None,
        )
        await account.save()
        if new.role in PROFESSIONAL_ROLES:
            await Professional.insert(
                Professional(
                    account=account.id,
                    rpps=rpps,
                    profession=new.profession,
                    specialty=new.specialty.strip(),
                )
            )
        if new.role == Role.PATIENT:
            await Patient.insert(
                Patient(
                    account=account.id,
                    nir=nir,
                    first_name=account.first_name,
                    last_name=account.last_name,
                    birth_date=new.birth_date,
                )
            )
    return account.id


def _checked_number(validate, value: str, name: str, errors: dict[str, str]) -> str:
    try:
        return validate(value)
    except InvalidNumber as problem:
        errors[name] = str(problem)
        return ""


async def _refuse_duplicates(login: str, rpps: str, nir: str) -> None:
    errors = {}
    if await Account.exists().where(Account.login == login):
        errors["login"] = _("An account already uses this e-mail address.")
    if rpps and await Professional.exists().where(Professional.rpps == rpps):
        errors["rpps"] = _("This RPPS number is already registered.")
    if nir and await Patient.exists().where(Patient.nir == nir):
        errors["nir"] = _("This social security number is already registered.")
    if errors:
        raise FormErrors(errors)


async def authenticate(login: str, password: str) -> dict | None:
    """The account whose login and password these are, or None — with the same answer, and
    the same work, whether the login is unknown, the password wrong, the account locked or
    disabled."""
    account = await Account.select().where(Account.login == normalize_login(login)).first()
    usable = (
        account is not None
        and account["disabled_at"] is None
        and account["password_hash"]
        and not abuse.is_locked(account)
    )
    if not usable:
        await passwords.verify_dummy(password)
        return None
    check = await passwords.verify_password(account["password_hash"], password)
    if not check.valid:
        await abuse.record_failure(account["id"])
        return None
    await abuse.record_success(account["id"])
    if check.needs_rehash:
        await Account.update(
            {Account.password_hash: await passwords.hash_password(password)}
        ).where(Account.id == account["id"])
    return account


def new_password_errors(account: dict, password: str, confirm: str) -> dict[str, str]:
    """What is wrong with a new password typed twice in a form, by field."""
    problems = passwords.check_password(password, personal=personal_words(account))
    if problems:
        return {"password": " ".join(problems)}
    if password != confirm:
        return {"confirm": _("The two passwords are not the same.")}
    return {}


async def trace_login(
    request: Request,
    action: Action,
    account: dict | None,
    *,
    reason: str = "",
    login: str = "",
    provider: str = "",
    outcome: Outcome | None = None,
) -> None:
    """Logins, failures and logouts, and changes to how one logs in, go to the audit trail's
    system chain, naming the login typed or the identity provider (`portal.federation`) the
    person came through. A login failure is a refusal; anything else is allowed unless
    ``outcome`` says otherwise."""
    settings = request.app.state.settings
    actor = await audit_actor(account["id"]) if account else Actor(account_id=None)
    target_type, target_id = ("identity-provider", provider) if provider else ("login", login)
    if outcome is None:
        outcome = Outcome.REFUSED if action == Action.LOGIN_FAILURE else Outcome.ALLOWED
    await audit.record(
        action,
        actor,
        outcome=outcome,
        reason=reason,
        target_type=target_type if target_id else "",
        target_id=target_id.strip().lower()[:64],
        purpose=Purpose.HOPERAT,
        client_address=abuse.client_address(request, settings.trusted_proxies),
    )


async def audit_actor(account_id: UUID) -> Actor:
    """The account as the audit trail keeps it: role, profession and name as they are now."""
    rows = await Account.raw(
        "SELECT account.role, account.first_name, account.last_name, professional.profession "
        "FROM account LEFT JOIN professional ON professional.account = account.id "
        "WHERE account.id = {}",
        account_id,
    )
    row = rows[0] if rows else None
    if row is None:
        return Actor(account_id=account_id)
    return actor_of(
        account_id, row["role"], row["profession"] or "", row["first_name"], row["last_name"]
    )


def actor_of(
    account_id: UUID, role: str, profession: str, first_name: str, last_name: str, via: str = ""
) -> Actor:
    """An account as the audit trail keeps it, from what is already read of it (a session),
    acting ``via`` a client application or in a browser."""
    return Actor(account_id, role, profession, f"{first_name} {last_name}", via)


async def set_password(account_id: UUID, password: str) -> None:
    """Store a new password (already checked against the policy) and unlock the account."""
    await Account.update(
        {
            Account.password_hash: await passwords.hash_password(password),
            Account.password_changed_at: clock.now(),
            Account.failed_logins: 0,
            Account.locked_until: None,
        }
    ).where(Account.id == account_id)


async def disable(account_id: UUID) -> None:
    """Stop an account at once: no login, and every open session ends on the server."""
    await Account.update({Account.disabled_at: clock.now()}).where(Account.id == account_id)
    await sessions.end_all(account_id)


async def enable(account_id: UUID) -> None:
    await Account.update({Account.disabled_at: None}).where(Account.id == account_id)


async def send_password_link(account: dict, base_url: str, channel: Channel, welcome: bool) -> None:
    """Send a single-use link to choose a password (a new account's first one, or a reset),
    to the portal at ``base_url``."""
    token = await second_factor.create_reset_token(account["id"])
    link = f"{base_url}/password/reset/{token}"
    if welcome:
        subject = _("Your Carnet account")
        body = _(
            "An account has been opened for you on Carnet. Choose your password with this "
            "link, valid for one hour: %(link)s"
        )
    else:
        subject = _("Choose a new Carnet password")
        body = _(
            "To choose a new password, follow this link, valid for one hour: %(link)s\n"
            "If you did not ask for it, ignore this message: your password stays the same."
        )
    await channel.send(
        Message(recipient=address_of(account), subject=subject, body=body % {"link": link})
    )
