"""Who is who: accounts, the people behind them, and how they prove it.

An `Account` is what logs in. A `Patient` is the person a dossier is about (a minor may have
no account of their own); a `Professional` carries the RPPS number and profession that the
access policy reads. Secrets are never stored as sent: session ids, one-time codes and reset
tokens are kept as SHA-256 digests, passwords as Argon2id hashes.
"""

from __future__ import annotations

from enum import StrEnum

from piccolo.columns import (
    UUID,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.i18n import gettext_lazy


class Role(StrEnum):
    PATIENT = "patient"
    REPRESENTATIVE = "representative"  # a legal representative without a dossier of their own
    PROFESSIONAL = "professional"
    SAMU_REGULATOR = "samu_regulator"  # a médecin who regulates emergency calls
    INSURER_AGENT = "insurer_agent"
    ADMINISTRATOR = "administrator"


ROLE_LABELS = {
    Role.PATIENT: gettext_lazy("Patient"),
    Role.REPRESENTATIVE: gettext_lazy("Legal representative"),
    Role.PROFESSIONAL: gettext_lazy("Health professional"),
    Role.SAMU_REGULATOR: gettext_lazy("SAMU regulator"),
    Role.INSURER_AGENT: gettext_lazy("Health insurance agent"),
    Role.ADMINISTRATOR: gettext_lazy("Administrator"),
}

#: Roles that act on behalf of patients (their own dossier or a minor's).
PERSON_ROLES = frozenset({Role.PATIENT, Role.REPRESENTATIVE})
#: Roles that carry an RPPS number and a profession.
PROFESSIONAL_ROLES = frozenset({Role.PROFESSIONAL, Role.SAMU_REGULATOR})


class SecondFactor(StrEnum):
    TOTP = "totp"  # an authenticator application
    CODE = "code"  # a one-time code through the messaging channel (patients only)


class Account(Table, tablename="account"):
    id = UUID(primary_key=True)
    #: An e-mail address in lower case, or the mobile number (``+33612345678``) of a patient
    #: without e-mail.
    login = Varchar(length=254, unique=True)
    password_hash = Text(default="")  # empty until the person sets a password
    role = Varchar(length=32, choices=Role)
    first_name = Varchar(length=100)
    last_name = Varchar(length=100)
    email = Varchar(length=254, default="")  # where messages go; empty: to the phone
    phone = Varchar(length=32, default="")  # a mobile, in international form when it is a login
    second_factor = Varchar(length=8, default=SecondFactor.TOTP, choices=SecondFactor)
    totp_secret = Varchar(length=64, default="")
    totp_confirmed = Boolean(default=False)
    totp_last_step = BigInt(default=0)  # a TOTP code is accepted once: never this step again
    failed_logins = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    disabled_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    password_changed_at = Timestamptz(null=True, default=None)
    #: Also send notifications through the messaging channel (they are always in the centre).
    notify_by_message = Boolean(default=True)
    #: Kept by portal.notifications, so that every page shows it without a query of its own.
    unread_notifications = Integer(default=0)


class Professional(Table, tablename="professional"):
    account = ForeignKey(Account, unique=True, on_delete=OnDelete.cascade)
    rpps = Varchar(length=11, unique=True)
    profession = Varchar(length=40)
    specialty = Varchar(length=120, default="")


class Patient(Table, tablename="patient"):
    id = UUID(primary_key=True)
    account = ForeignKey(Account, null=True, unique=True, on_delete=OnDelete.set_null)
    nir = Varchar(length=15, unique=True)
    first_name = Varchar(length=100)
    last_name = Varchar(length=100)
    birth_date = Date()


class LoginSession(Table, tablename="login_session"):
    """A server-side session. The browser holds a random token; only its digest is here."""

    id = UUID(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    account = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    stage = Varchar(length=16)  # see portal.identity.sessions.Stage
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    expires_at = Timestamptz()  # the absolute end, whatever the activity
    client_address = Varchar(length=64, default="")
    user_agent = Varchar(length=200, default="")
    #: Opened for an emergency or SAMU access (`portal.access.controls.start_emergency`): only
    #: such a session holds grants, so only its requests look for them.
    emergency = Boolean(default=False)
    #: The national identity provider the person logged in with (`portal.federation`), if
    #: any, and the ID token it gave, for logging out there too.
    provider = Varchar(length=20, default="")
    provider_id_token = Text(default="")


class OneTimeCode(Table, tablename="one_time_code"):
    """A single-use secret: a 6-digit login code or a password-reset token."""

    id = UUID(primary_key=True)
    account = ForeignKey(Account, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=20)
    secret_hash = Varchar(length=64, index=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)


class RateLimitWindow(Table, tablename="rate_limit_window"):
    """Hits per key and fixed time window, shared by every worker process."""

    key = Varchar(length=200, unique=True)
    hits = Integer(default=0)
    expires_at = Timestamptz()
