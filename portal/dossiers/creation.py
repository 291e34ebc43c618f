"""Opening a dossier, always with the patient's recorded consent (ACCESS.md, "Creation").

- **Online, by the patient** (``/register``): social security number, identity and e-mail
  address. An activation code goes out through the messaging channel; with it
  (``/activate``) the patient chooses a password, then a second factor at the first login.
  Until then the registration proved only an address: it gives way to a dossier opened in
  person for the same number, and to a new registration once its codes have expired.
- **At the pharmacy, the insurer's office, or by any professional** (``/dossiers/new``): the
  patient is in front of them and agrees. The answer is the sheet to print and hand over, with
  the activation code: the only place it is ever shown (only its digest is stored). The same
  form sent twice prints a new sheet with new codes, and opens nothing more. A patient without
  e-mail gives their mobile number instead: it is their login, and their codes come by text
  message (when the portal sends them: `Messenger.sends_texts`).
- **A minor's dossier** is managed by the legal representatives: a professional or the
  insurer's agent gives the representative's e-mail address (an existing personal account is
  linked, otherwise one is opened, with its own activation code); a person already signed in
  opens their child's dossier from the same page and represents them. Come of age, the
  patient receives it in person on the same form (`hand_over`): an account of their own, and
  the representatives stop acting for them.

Who may open one is decided by `portal.access.policy.may_create`. A professional who opens a
dossier joins its care circle as with a consent declared at a consultation (the patient is
told at their first access). The creation is the first event of the dossier's audit chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from portal import audit, clock, db
from portal.access import public, role_in, signed_in
from portal.access.facts import patient_side
from portal.access.policy import ADULT_AGE, may_create
from portal.access.policy import Actor as PolicyActor
from portal.access.tables import CircleMember, Joined
from portal.audit import Action, Outcome, Purpose
from portal.audit.tables import AuditEvent
from portal.audit.trail import chain_of
from portal.clock import age_on
from portal.dossiers.lifecycle import MAINTENANCE, Reason, purge
from portal.dossiers.tables import Dossier, Representative
from portal.i18n import gettext as _
from portal.i18n import gettext_lazy
from portal.identity import abuse, accounts, second_factor, sessions
from portal.identity.numbers import InvalidNumber, validate_mobile, validate_nir
from portal.identity.routes import limit_attempts
from portal.identity.tables import PERSON_ROLES, Account, OneTimeCode, Patient, Role
from portal.notifications import NotificationKind, declare, notify
from portal.notifications.messaging import Message, address_of
from portal.pdf import attachment, to_pdf
from portal.web import flash, public_url, see_other, typed_date

Form = URLEncodedBody[dict[str, Any]]
#: An activation code sent by message is used at once; one printed on a sheet travels home.
SENT_CODE_LIFETIME = timedelta(days=2)
SHEET_CODE_LIFETIME = timedelta(days=30)
EARLIEST_BIRTH = date(1900, 1, 1)
PATIENT_FIELDS = ("nir", "first_name", "last_name", "birth_date", "email", "phone")
REPRESENTATIVE_FIELDS = ("rep_email", "rep_first_name", "rep_last_name")
creators = role_in(Role.PROFESSIONAL, Role.INSURER_AGENT, Role.PATIENT, Role.REPRESENTATIVE)
#: Who the trail names for a registration replaced by a new one made online.
ONLINE_REGISTRATION = audit.Actor(account_id=None, role="system", name="online registration")


class Through(StrEnum):
    """How a dossier was opened (``Dossier.created_through``)."""

    ONLINE = "online"
    PHARMACY = "pharmacy"
    INSURER = "insurer"
    PROFESSIONAL = "professional"
    DEMO = "demo"


DOSSIER_OPENED = declare(
    NotificationKind(
        key="dossier_opened",
        title=gettext_lazy("A Carnet record was opened"),
        body=gettext_lazy(
            "The record of %(patient)s was opened on %(date)s by %(who)s, with your consent. "
            "If you did not agree to it, close it from your space or contact your health "
            "insurance office."
        ),
    )
)


DOSSIER_HANDED_OVER = declare(
    NotificationKind(
        key="dossier_handed_over",
        title=gettext_lazy("A record you managed is now in its patient's hands"),
        body=gettext_lazy(
            "%(patient)s, now of age, took their Carnet record in hand on %(date)s with "
            "%(who)s. You no longer act for them and no longer have access to it."
        ),
    )
)
#: The trail's reason for a hand-over.
HANDED_OVER = "handed to the patient, now of age: the representatives no longer act for them"


@dataclass
class Application:
    """The creation form as typed, what is wrong with it, and what it means."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    nir: str = ""
    birth_date: date | None = None
    consent: bool = False
    submission: UUID | None = None

    @property
    def login(self) -> str:
        """The adult patient's login: their e-mail address, or their mobile without one."""
        return self.values["email"] or self.values["phone"]

    @property
    def by_phone(self) -> bool:
        """An adult without e-mail, whose mobile is their login."""
        return not self.minor and not self.values["email"] and bool(self.values["phone"])

    @property
    def minor(self) -> bool:
        if self.birth_date is None:
            return False
        return age_on(self.birth_date, clock.now().date()) < ADULT_AGE


@dataclass(frozen=True)
class Activation:
    """A code printed on the sheet, for the person who will log in with ``login``."""

    name: str
    login: str
    code: str


@dataclass(frozen=True)
class Opened:
    dossier_id: UUID
    patient_name: str
    expires_at: datetime
    activations: tuple[Activation, ...] = ()
    #: Opened long ago for a minor, now given to its patient (`hand_over`).
    handed_over: bool = False


def parse_birth_date(value: str, today: date) -> tuple[date | None, str]:
    """The date of birth as typed (1986-04-12, as a date field sends it, or 12/04/1986), or
    why it cannot be one."""
    parsed = typed_date(value)
    if parsed is None:
        return None, _("Give the date of birth as day/month/year, for example 12/04/1986.")
    if parsed > today:
        return None, _("The date of birth cannot be in the future.")
    if parsed < EARLIEST_BIRTH:
        return None, _("The date of birth cannot be before 1900.")
    return parsed, ""


def nir_matches_birth(nir: str, birth_date: date) -> bool:
    """The NIR's 2nd to 5th digits are the year and month of birth (a month above 12 means an
    unknown month, as for some people born abroad)."""
    month = int(nir[3:5])
    return nir[1:3] == f"{birth_date.year % 100:02d}" and (month > 12 or month == birth_date.month)


def read_application(
    data: dict[str, Any], *, with_login: bool, by_text: bool = False
) -> Application:
    """Check the form. ``with_login``: the patient, if an adult, gets an account of their own
    (always, except for a minor, who has none); ``by_text``: a mobile number may stand for
    their e-mail address (the portal sends text messages)."""
    names = (*PATIENT_FIELDS, *REPRESENTATIVE_FIELDS)
    application = Application({name: str(data.get(name, "")).strip() for name in names})
    values, errors = application.values, application.errors
    try:
        application.nir = validate_nir(values["nir"])
    except InvalidNumber as problem:
        errors["nir"] = str(problem)
    _check_names(values, errors, "first_name", "last_name")
    application.birth_date, problem = parse_birth_date(values["birth_date"], clock.now().date())
    if problem:
        errors["birth_date"] = problem
    elif application.nir and not nir_matches_birth(application.nir, application.birth_date):
        errors["birth_date"] = _(
            "This date of birth does not match the social security number, whose 2nd to 5th "
            "digits are the year and month of birth: check both."
        )
    if values["phone"]:
        try:
            values["phone"] = validate_mobile(values["phone"])
        except InvalidNumber as problem:
            errors["phone"] = str(problem)
    adult_login = application.birth_date and not application.minor and with_login
    if adult_login and not (by_text and application.by_phone):
        _check_login(values, errors, "email", by_text=by_text)
    application.consent = data.get("consent") in ("on", "yes", "true", "1")
    if not application.consent:
        errors["consent"] = _("A record is only opened with the patient's consent.")
    try:
        application.submission = UUID(str(data.get("submission", "")))
    except ValueError:
        application.submission = None
    return application


def _check_names(values: dict[str, str], errors: dict[str, str], *names: str) -> None:
    for name in names:
        if not values[name]:
            errors[name] = _("This field is required.")
        elif len(values[name]) > accounts.NAME_LIMIT:
            errors[name] = _("At most 100 characters.")


def _check_login(
    values: dict[str, str], errors: dict[str, str], name: str, *, by_text: bool = False
) -> None:
    """The e-mail address of field ``name``; ``by_text``: a mobile number could replace it."""
    values[name] = values[name].strip().lower()
    if not values[name] and by_text:
        errors[name] = _(
            "Give the patient's e-mail address or, if they have none, their mobile number: "
            "their codes will then come by text message."
        )
    elif not accounts.LOGIN_PATTERN.match(values[name]) or len(values[name]) > 254:
        errors[name] = _("Enter an e-mail address, such as prenom.nom@exemple.fr.")


def _already_registered(through: Through, *, has_account: bool) -> str:
    if through == Through.ONLINE and not has_account:
        return _(
            "Your record was opened when you were a minor. To manage it yourself, go to a "
            "pharmacy or to your health insurance office with your identity card."
        )
    if through == Through.ONLINE:
        return _(
            "A record already exists for this social security number. If it is yours, log "
            "in, or activate it with the code you were given; if you did not open it, "
            "contact your health insurance office."
        )
    return _(
        "A record already exists for this social security number: there is nothing to "
        "open. To read it, ask the patient for their consent from “My patients”."
    )


# --- opening ---------------------------------------------------------------------------------


async def open_for(
    application: Application,
    through: Through,
    creator: audit.Actor | None,
    representative: UUID | None = None,
) -> Opened:
    """Open the dossier the checked ``application`` describes; `accounts.FormErrors` if the
    NIR or an address is taken. ``creator``: who opens it (None: the patient, online);
    ``representative``: the signed-in person opening their child's dossier. In person, for a
    dossier opened when its patient was a minor, the answer is `hand_over`'s."""
    if through != Through.ONLINE and not application.minor:
        handed = await hand_over(application, through, creator)
        if handed is not None:
            return handed
    values, now = application.values, clock.now()
    name = f"{values['first_name']} {values['last_name']}"
    lifetime = SENT_CODE_LIFETIME if through == Through.ONLINE else SHEET_CODE_LIFETIME
    to_activate: list[tuple[UUID, str, str]] = []  # account, name, login
    async with db.current().write_transaction():
        await _refuse_duplicates(application, through, creator, representative)
        patient_account = None
        if not application.minor:
            patient_account = await _new_account(
                Role.PATIENT,
                application.login,
                values["first_name"],
                values["last_name"],
                phone=values["phone"],
                now=now,
            )
            to_activate.append((patient_account, name, application.login))
        patient = Patient(
            account=patient_account,
            nir=application.nir,
            first_name=values["first_name"],
            last_name=values["last_name"],
            birth_date=application.birth_date,
        )
        await patient.save()
        dossier = Dossier(
            patient=patient.id,
            created_at=now,
            created_through=through,
            created_by=creator.account_id if creator else None,
            submission=application.submission,
            consent_at=now,
        )
        await dossier.save()
        if application.minor:
            if representative is None:
                representative, new = await _representative(values, now)
                to_activate.extend([(representative, new, values["rep_email"])] if new else [])
            await Representative.insert(
                Representative(dossier=dossier.id, account=representative, since=now)
            )
        if creator is not None and creator.role == Role.PROFESSIONAL:
            await CircleMember.insert(
                CircleMember(
                    dossier=dossier.id,
                    professional=creator.account_id,
                    joined=Joined.CONSENT,
                    since=now,
                )
            )
        actor = creator or audit.Actor(patient_account, Role.PATIENT, name=name)
        await audit.record(
            Action.CREATE,
            actor,
            dossier_id=dossier.id,
            target_type="dossier",
            target_id=str(dossier.id),
            reason=f"opened {through}, with the patient's consent",
            purpose=_purpose(through),
        )
        activations = await _issue_codes(to_activate, lifetime)
    if creator is not None:
        await _tell_opened(dossier.id, name, creator, representative, patient_account)
    return Opened(dossier.id, name, now + lifetime, tuple(activations))


def _purpose(through: Through) -> Purpose:
    if through == Through.INSURER:
        return Purpose.HOPERAT
    if through in (Through.PHARMACY, Through.PROFESSIONAL):
        return Purpose.TREAT
    return Purpose.PATRQT


async def _refuse_duplicates(
    application: Application,
    through: Through,
    creator: audit.Actor | None,
    representative: UUID | None,
) -> None:
    """`accounts.FormErrors` if the NIR or an address is taken. A registration waiting for
    its activation that this application outranks is purged first, in the caller's
    transaction: if the application is refused after all, the registration stays."""
    values, errors = application.values, {}
    waiting = await waiting_registration(application.nir)
    if waiting is not None and (through != Through.ONLINE or not waiting.live):
        # Identity checked in person outranks an e-mail address; an expired one holds nothing.
        replaced_by = creator or ONLINE_REGISTRATION
        await purge(waiting.dossier_id, replaced_by, Reason.REGISTRATION_REPLACED)
    elif waiting is not None:
        errors["nir"] = _(
            "A registration for this social security number waits for its activation code. "
            "If it is yours, enter the code or ask for a new one; if it is not, open your record "
            "at a pharmacy or at your health insurance office with your identity card: it "
            "replaces this registration."
        )
    else:
        patient = await Patient.select(Patient.account).where(Patient.nir == application.nir)
        if patient:
            errors["nir"] = _already_registered(through, has_account=bool(patient[0]["account"]))
    if not application.minor:
        await _refuse_taken_address(application, errors)
    if application.minor and representative is None:
        existing = (
            await Account.select(Account.role).where(Account.login == values["rep_email"]).first()
        )
        if existing is not None and existing["role"] not in PERSON_ROLES:
            errors["rep_email"] = _(
                "This address belongs to a professional or staff account: a legal "
                "representative acts with a personal account."
            )
    if errors:
        raise accounts.FormErrors(errors)


async def _refuse_taken_address(application: Application, errors: dict[str, str]) -> None:
    if not await Account.exists().where(Account.login == application.login):
        return
    if application.values["email"]:
        errors["email"] = _(
            "An account already uses this e-mail address: give the patient's own address."
        )
    else:
        errors["phone"] = _(
            "An account already uses this mobile number: give the patient's own number, or "
            "their e-mail address."
        )


async def _new_account(
    role: Role, login: str, first_name: str, last_name: str, *, phone: str = "", now: datetime
) -> UUID:
    """An account without a password yet: its owner activates it with a code. ``login`` is an
    e-mail address, or the mobile number of a patient without one."""
    account = Account(
        login=login,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email="" if login == phone else login,
        phone=phone,
        created_at=now,
    )
    await account.save()
    return account.id


async def _representative(values: dict[str, str], now: datetime) -> tuple[UUID, str]:
    """The legal representative's personal account: theirs if they have one, else a new one
    to activate (then its holder's name comes too)."""
    existing = await Account.select(Account.id).where(Account.login == values["rep_email"]).first()
    if existing is not None:
        return existing["id"], ""
    first_name, last_name = values["rep_first_name"], values["rep_last_name"]
    account = await _new_account(
        Role.REPRESENTATIVE, values["rep_email"], first_name, last_name, now=now
    )
    return account, f"{first_name} {last_name}"


async def _issue_codes(
    to_activate: list[tuple[UUID, str, str]], lifetime: timedelta
) -> list[Activation]:
    return [
        Activation(name, login, await second_factor.create_activation_code(account, lifetime))
        for account, name, login in to_activate
    ]


async def _tell_opened(
    dossier_id: UUID,
    patient_name: str,
    creator: audit.Actor,
    representative: UUID | None,
    patient_account: UUID | None,
) -> None:
    """The patient (or their representative) hears of it from Carnet too, not only from the
    sheet: a record opened without their knowledge does not go unnoticed."""
    told = patient_account or representative
    if told is not None and told != creator.account_id:
        await notify(
            told,
            DOSSIER_OPENED,
            link=f"/dossiers/{dossier_id}",
            dossier=dossier_id,
            patient=patient_name,
            date=clock.day(clock.now()),
            who=creator.name,
        )


async def reissue(dossier_id: UUID, creator: UUID) -> Opened | None:
    """The same creation form sent again by the same person: new codes for the accounts of the
    dossier nobody has activated yet, the sheet again; nothing else."""
    patient = await patient_side(dossier_id)
    if patient is None or not await _sent_by(dossier_id, creator):
        return None
    waiting = Account.select(Account.id, Account.login, Account.first_name, Account.last_name)
    accounts = list(patient.accounts)
    rows = (
        await waiting.where(Account.id.is_in(accounts), Account.password_hash == "")
        if accounts
        else []
    )
    to_activate = [
        (row["id"], f"{row['first_name']} {row['last_name']}", row["login"]) for row in rows
    ]
    async with db.current().write_transaction():
        activations = await _issue_codes(to_activate, SHEET_CODE_LIFETIME)
    return Opened(dossier_id, patient.name, clock.now() + SHEET_CODE_LIFETIME, tuple(activations))


# --- coming of age ---------------------------------------------------------------------------


async def hand_over(
    application: Application, through: Through, creator: audit.Actor
) -> Opened | None:
    """Give a dossier opened for a minor to its patient, now an adult and in front of
    ``creator`` (None if the NIR is not such a dossier's, or its patient has an account).

    The patient gets an account of their own, to activate with the code on the sheet, and the
    representatives of their minority stop acting for them (they are told). The identity typed
    must be the dossier's: `accounts.FormErrors` otherwise, or if the address is taken."""
    values, now = application.values, clock.now()
    async with db.current().write_transaction():
        dossier = (
            await Dossier.select(
                Dossier.id,
                Dossier.patient,
                Dossier.patient.first_name.as_alias("first_name"),
                Dossier.patient.last_name.as_alias("last_name"),
                Dossier.patient.birth_date.as_alias("birth_date"),
            )
            .where(Dossier.patient.nir == application.nir, Dossier.patient.account.is_null())
            .first()
        )
        if dossier is None:
            return None
        errors = {}
        if not _same_person(dossier, application):
            errors["nir"] = _(
                "The record opened for this social security number is in another name or "
                "date of birth: check them against the patient's identity card."
            )
        await _refuse_taken_address(application, errors)
        if errors:
            raise accounts.FormErrors(errors)
        name = f"{dossier['first_name']} {dossier['last_name']}"
        account = await _new_account(
            Role.PATIENT,
            application.login,
            dossier["first_name"],
            dossier["last_name"],
            phone=values["phone"],
            now=now,
        )
        await Patient.update({Patient.account: account}).where(Patient.id == dossier["patient"])
        # The patient's own consent, from now on; a second sending of the same form reprints
        # the sheet (see `reissue`).
        await Dossier.update(
            {Dossier.consent_at: now, Dossier.submission: application.submission}
        ).where(Dossier.id == dossier["id"])
        representatives = (
            await Representative.delete()
            .where(Representative.dossier == dossier["id"])
            .returning(Representative.account)
        )
        await audit.record(
            Action.RIGHTS_CHANGE,
            creator,
            dossier_id=dossier["id"],
            target_type="dossier",
            target_id=str(dossier["id"]),
            reason=HANDED_OVER,
            purpose=_purpose(through),
        )
        activations = await _issue_codes([(account, name, application.login)], SHEET_CODE_LIFETIME)
    for representative in representatives:
        await notify(
            representative["account"],
            DOSSIER_HANDED_OVER,
            dossier=dossier["id"],
            patient=name,
            date=clock.day(now),
            who=creator.name,
        )
    return Opened(
        dossier["id"], name, now + SHEET_CODE_LIFETIME, tuple(activations), handed_over=True
    )


def _same_person(patient: dict[str, Any], application: Application) -> bool:
    def same(recorded: str, typed: str) -> bool:
        return recorded.strip().casefold() == typed.strip().casefold()

    values = application.values
    return (
        same(patient["first_name"], values["first_name"])
        and same(patient["last_name"], values["last_name"])
        and patient["birth_date"] == application.birth_date
    )


async def _sent_by(dossier_id: UUID, person: UUID) -> bool:
    """Did ``person`` open the dossier, or hand it over to its patient?"""
    if await Dossier.exists().where(Dossier.id == dossier_id, Dossier.created_by == person):
        return True
    return await AuditEvent.exists().where(
        AuditEvent.chain == chain_of(dossier_id),
        AuditEvent.actor_account == person,
        AuditEvent.action == Action.RIGHTS_CHANGE,
        AuditEvent.reason == HANDED_OVER,
    )


# --- registrations never activated -----------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """A dossier opened online that nobody has activated and nothing has happened in yet."""

    dossier_id: UUID
    #: Its account still holds a code that has not expired (sent, sent again, or being used).
    live: bool


async def _waiting(*conditions: Any) -> list[Waiting]:
    rows = await Dossier.select(Dossier.id, Dossier.patient.account.as_alias("account")).where(
        Dossier.created_through == Through.ONLINE,
        Dossier.patient.account.password_hash == "",
        *conditions,
    )
    now, waiting = clock.now(), []
    for row in rows:
        happened = await AuditEvent.exists().where(
            AuditEvent.chain == chain_of(row["id"]), AuditEvent.action != Action.CREATE
        )
        if not happened:
            live = await OneTimeCode.exists().where(
                OneTimeCode.account == row["account"], OneTimeCode.expires_at > now
            )
            waiting.append(Waiting(row["id"], live))
    return waiting


async def waiting_registration(nir: str) -> Waiting | None:
    """The registration made online with this NIR that waits for its activation, if any.

    Only an e-mail address was proved by it, so it holds the number loosely: a dossier opened
    in person for the same NIR replaces it, and so does a new online one once its codes have
    expired. Anything in its audit chain but its creation (a read, a consent, a document)
    makes it a dossier like any other."""
    found = await _waiting(Dossier.patient.nir == nir)
    return found[0] if found else None


async def purge_abandoned_registrations() -> int:
    """Purge the registrations made online whose codes all expired unused; how many were
    (`carnet purge`). Their number and address are free again; the trail keeps a tombstone."""
    abandoned = [waiting for waiting in await _waiting() if not waiting.live]
    for waiting in abandoned:
        await purge(waiting.dossier_id, MAINTENANCE, Reason.NEVER_ACTIVATED)
    return len(abandoned)


# --- online: the patient opens their own ------------------------------------------------------


def _register_page(application: Application | None = None, status: int = 200) -> Template:
    return Template(
        "dossiers/register.html",
        context={
            "values": application.values if application else {},
            "errors": application.errors if application else {},
        },
        status_code=status,
    )


@get("/register", guards=[public])
async def register_form(request: Request) -> Template | Redirect:
    session = sessions.current(request)
    if session and session.signed_in:
        return see_other("/dossiers/new")
    return _register_page()


@post("/register", guards=[public])
async def register(request: Request, data: Form) -> Template | Redirect:
    await limit_attempts(request, "register")
    application = read_application(data, with_login=True)
    if application.minor and "birth_date" not in application.errors:
        application.errors["birth_date"] = _(
            "A minor's record is opened by a legal representative: open your own record "
            "first, then your child's from your space, or ask at a pharmacy."
        )
    if application.errors:
        return _register_page(application, 400)
    try:
        opened = await open_for(application, Through.ONLINE, creator=None)
    except accounts.FormErrors as problem:
        application.errors.update(problem.errors)
        return _register_page(application, 400)
    await _send_code(request, application.values["email"], opened.activations[0].code)
    flash(
        request,
        _("Your record is open. We have sent an activation code to %(address)s.")
        % {"address": application.values["email"]},
        "success",
    )
    return _to_activation(application.values["email"])


async def _send_code(request: Request, recipient: str, code: str) -> None:
    await request.app.state.channel.send(
        Message(
            recipient=recipient,
            subject=_("Your Carnet activation code"),
            body=_(
                "Your activation code is %(code)s. It is valid for two days. Enter it at "
                "%(link)s, then choose your password. If you did not ask for a Carnet record, "
                "ignore this message."
            )
            % {"code": code, "link": f"{public_url(request)}/activate"},
        )
    )


# --- activation -------------------------------------------------------------------------------


def _activate_page(login: str = "", error: str = "", status: int = 200) -> Template:
    return Template(
        "dossiers/activate.html", context={"login": login, "error": error}, status_code=status
    )


async def _waiting_account(login: str) -> dict | None:
    """The account with this login if it still waits for its activation."""
    account = (
        await Account.select(
            Account.id, Account.email, Account.phone, Account.password_hash, Account.disabled_at
        )
        .where(Account.login == accounts.normalize_login(login))
        .first()
    )
    if account is None or account["password_hash"] or account["disabled_at"] is not None:
        return None
    return account


@get("/activate", guards=[public])
async def activate_form(login: FromQuery[str] = "") -> Template:
    return _activate_page(accounts.echoed_login(login))


@post("/activate", guards=[public])
async def activate(request: Request, data: Form) -> Template | Redirect:
    """The activation code opens the choice of a password; the answer to a wrong one is the
    same whatever was wrong (unknown address, account already active, wrong or old code)."""
    await limit_attempts(request, "activate")
    login = str(data.get("login", "")).strip()
    account = await _waiting_account(login)
    code = str(data.get("code", ""))
    if account is None or not await second_factor.check_activation_code(account["id"], code):
        if account is not None:
            await abuse.record_failure(account["id"])
        return _activate_page(
            accounts.echoed_login(login),
            _(
                "This code does not open an account with this address. Check both, or ask for "
                "a new code."
            ),
            400,
        )
    token = await second_factor.create_reset_token(account["id"])
    flash(request, _("Your code is right. Now choose your password."), "success")
    return see_other(f"/password/reset/{token}")


@post("/activate/resend", guards=[public])
async def resend_activation(request: Request, data: Form) -> Redirect:
    """A new code by message; the same answer whether the address waits for one or not."""
    await limit_attempts(request, "activate-resend")
    login = str(data.get("login", "")).strip()
    account = await _waiting_account(login)
    if account is not None:
        code = await second_factor.create_activation_code(account["id"], SENT_CODE_LIFETIME)
        await _send_code(request, address_of(account), code)
    flash(
        request,
        _("If an account with this address waits for its activation, a new code is on its way."),
        "success",
    )
    return _to_activation(accounts.normalize_login(login))


def _to_activation(login: str) -> Redirect:
    """The activation page, its login filled in when it can be one."""
    login = accounts.echoed_login(login)
    return see_other(f"/activate?{urlencode({'login': login}, safe='@')}" if login else "/activate")


# --- at the counter, or by a professional ----------------------------------------------------


async def _creator(request: Request) -> tuple[audit.Actor, Through]:
    session = sessions.current(request)
    actor = await accounts.audit_actor(session.account_id)
    if session.role == Role.INSURER_AGENT:
        return actor, Through.INSURER
    if session.role == Role.PROFESSIONAL:
        return actor, Through.PHARMACY if actor.profession == "pharmacien" else Through.PROFESSIONAL
    return actor, Through.ONLINE


def _new_page(
    request: Request, application: Application | None = None, status: int = 200
) -> Template:
    session = sessions.current(request)
    values = application.values if application else {}
    return Template(
        "dossiers/new.html",
        context={
            "values": values,
            "errors": application.errors if application else {},
            "submission": str(application.submission if application else uuid4()),
            "for_a_child": session.role in PERSON_ROLES,
            "by_text": request.app.state.channel.sends_texts,
        },
        status_code=status,
    )


@get("/dossiers/new", guards=[creators])
async def new_dossier_form(request: Request) -> Template:
    return _new_page(request)


@post("/dossiers/new", guards=[creators])
async def new_dossier(request: Request, data: Form) -> Template | Redirect:
    creator, through = await _creator(request)
    by_person = through == Through.ONLINE
    application = read_application(data, with_login=not by_person, by_text=True)
    if application.by_phone and not request.app.state.channel.sends_texts:
        application.errors["email"] = _(
            "This portal cannot send text messages: give the patient's e-mail address."
        )
    if application.birth_date is not None and "birth_date" not in application.errors:
        decision = may_create(
            PolicyActor(creator.account_id, creator.role, creator.profession),
            minor=application.minor,
        )
        if not decision.allowed:
            await audit.record(
                Action.CREATE,
                creator,
                outcome=Outcome.REFUSED,
                target_type="dossier",
                reason=decision.reason,
            )
            application.errors["birth_date"] = str(decision.message)
    if application.minor and not by_person:
        _check_login(application.values, application.errors, "rep_email")
        _check_names(application.values, application.errors, "rep_first_name", "rep_last_name")
    if application.errors:
        return _new_page(request, application, 400)
    try:
        opened = await open_for(
            application,
            through,
            creator,
            representative=creator.account_id if by_person else None,
        )
    except accounts.FormErrors as problem:
        again = await _resubmitted(application, creator.account_id)
        if again is not None:
            return _sheet(request, again)
        application.errors.update(problem.errors)
        return _new_page(request, application, 400)
    if by_person:
        flash(request, _("Your child's record is open: you manage it."), "success")
        return see_other(f"/dossiers/{opened.dossier_id}")
    return _sheet(request, opened)


async def _resubmitted(application: Application, creator: UUID) -> Opened | None:
    if application.submission is None:
        return None
    row = (
        await Dossier.select(Dossier.id).where(Dossier.submission == application.submission).first()
    )
    return await reissue(row["id"], creator) if row else None


def _sheet(request: Request, opened: Opened) -> Template:
    return Template(
        "dossiers/activation_sheet.html",
        context={"opened": opened, "base_url": public_url(request)},
    )


@post("/dossiers/{dossier_id:uuid}/activation-sheet.pdf", guards=[signed_in], status_code=200)
async def activation_sheet_pdf(request: Request, dossier_id: FromPath[UUID]) -> Response:
    """The sheet as a PDF, for the person who opened the dossier: with new codes (a code is
    only ever shown once), for the accounts nobody has activated yet. Also how a lost sheet is
    replaced."""
    creator, through = await _creator(request)
    if not await Dossier.exists().where(Dossier.id == dossier_id):
        raise NotFoundException()
    opened = await reissue(dossier_id, creator.account_id)
    await audit.record(
        Action.PRINT,
        creator,
        outcome=Outcome.ALLOWED if opened else Outcome.REFUSED,
        dossier_id=dossier_id,
        target_type="activation_sheet",
        reason="whoever opened the dossier prints new codes" if opened else "not who opened it",
        purpose=_purpose(through) if opened else "",
    )
    if opened is None:
        raise NotFoundException()
    content = await to_pdf(
        request, "pdf/activation_sheet.html", {"opened": opened, "base_url": public_url(request)}
    )
    return attachment(_("activation"), content)


ROUTES = [
    register_form,
    register,
    activate_form,
    activate,
    resend_activation,
    new_dossier_form,
    new_dossier,
    activation_sheet_pdf,
]
