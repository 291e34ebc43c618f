"""The second factor: TOTP from an authenticator application, or a one-time code sent through
the messaging channel (patients who prefer it). Also the single-use password-reset tokens,
and the activation codes with which a new patient or representative starts their account.

Every secret here is single-use: a TOTP code is refused once its time step has been used, a
sent code or a reset token is marked used by a conditional update that only one request can
win. Login codes have 6 digits and live 10 minutes at most; activation codes have 10
characters (about 50 bits) and live days, as they travel on paper; both are void after
`CODE_ATTEMPTS` wrong tries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from uuid import UUID

import pyotp
import segno
from markupsafe import Markup

from portal import clock
from portal.i18n import gettext as _
from portal.identity.tables import Account, OneTimeCode
from portal.notifications.messaging import Channel, Message

TOTP_ISSUER = "Carnet"
TOTP_PERIOD = 30  # seconds
TOTP_DRIFT_STEPS = 1  # accept the previous and next code too: phones' clocks drift
CODE_LIFETIME = timedelta(minutes=10)
CODE_ATTEMPTS = 5  # wrong guesses before a sent code is void
RESET_LIFETIME = timedelta(hours=1)


ACTIVATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # nothing to mistake: no 0/O, 1/I
ACTIVATION_LENGTH = 10


class Purpose:
    LOGIN = "login"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a password
    ACTIVATION = "activation"  # a new account's first step: then a password and a factor


def new_totp_secret() -> str:
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret, interval=TOTP_PERIOD).provisioning_uri(
        name=login, issuer_name=TOTP_ISSUER
    )


def qr_code_svg(uri: str) -> Markup:
    """The enrolment QR code as inline SVG (no image request, nothing for the CSP to allow)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#1b1f24", light="#fff")
    return Markup(svg)  # noqa: S704 - segno's own markup: the URI is encoded in modules, not text


def _step(offset: int = 0) -> int:
    return int(clock.now().timestamp()) // TOTP_PERIOD + offset


async def check_totp(account_id: UUID, secret: str, code: str) -> bool:
    """True once per valid code: the step it belongs to is recorded so it cannot be replayed."""
    code = code.strip().replace(" ", "")
    if not secret or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret, interval=TOTP_PERIOD)
    for offset in range(-TOTP_DRIFT_STEPS, TOTP_DRIFT_STEPS + 1):
        step = _step(offset)
        if hmac.compare_digest(totp.at(step * TOTP_PERIOD), code):
            # Conditional update: of two requests carrying the same code, only one wins.
            won = (
                await Account.update({Account.totp_last_step: step})
                .returning(Account.id)
                .where(Account.id == account_id, Account.totp_last_step < step)
            )
            return bool(won)
    return False


def _digest(purpose: str, secret: str, account_id: UUID | None = None) -> str:
    """Only digests are stored. A 6-digit code is mixed with its account (it is looked up by
    account); a reset token is 256 random bits, looked up by its digest alone."""
    return hashlib.sha256(f"{purpose}:{account_id or ''}:{secret}".encode()).hexdigest()


async def send_login_code(account_id: UUID, recipient: str, channel: Channel) -> None:
    """Send a fresh 6-digit code; earlier unused login codes stop working."""
    code = f"{secrets.randbelow(10**6):06d}"
    await _store(account_id, Purpose.LOGIN, _digest(Purpose.LOGIN, code, account_id), CODE_LIFETIME)
    await channel.send(
        Message(
            recipient=recipient,
            subject=_("Your Carnet login code"),
            body=_(
                "Your login code is %(code)s. It is valid for 10 minutes. If you did not try "
                "to log in to Carnet, change your password."
            )
            % {"code": code},
        )
    )


async def check_login_code(account_id: UUID, code: str) -> bool:
    return await _check_code(account_id, Purpose.LOGIN, code.strip().replace(" ", ""))


def normalize_activation_code(code: str) -> str:
    return "".join(character for character in code.upper() if character.isalnum())


async def create_activation_code(account_id: UUID, lifetime: timedelta) -> str:
    """A fresh activation code for an account that has no password yet, shown grouped as
    ``ABCD-EFGH-JK``; earlier unused ones stop working."""
    code = "".join(secrets.choice(ACTIVATION_ALPHABET) for _ in range(ACTIVATION_LENGTH))
    await _store(
        account_id, Purpose.ACTIVATION, _digest(Purpose.ACTIVATION, code, account_id), lifetime
    )
    return "-".join(code[i : i + 4] for i in range(0, ACTIVATION_LENGTH, 4))


async def check_activation_code(account_id: UUID, code: str) -> bool:
    return await _check_code(account_id, Purpose.ACTIVATION, normalize_activation_code(code))


async def _check_code(account_id: UUID, purpose: str, code: str) -> bool:
    """Use up the account's live code of ``purpose`` if ``code`` is it; every try counts, and
    after `CODE_ATTEMPTS` wrong ones the code is void."""
    row = (
        await OneTimeCode.select(OneTimeCode.id, OneTimeCode.secret_hash, OneTimeCode.attempts)
        .where(
            OneTimeCode.account == account_id,
            OneTimeCode.purpose == purpose,
            OneTimeCode.used_at.is_null(),
            OneTimeCode.expires_at > clock.now(),
        )
        .order_by(OneTimeCode.created_at, ascending=False)
        .first()
    )
    if row is None or row["attempts"] >= CODE_ATTEMPTS:
        return False
    await OneTimeCode.update({OneTimeCode.attempts: OneTimeCode.attempts + 1}).where(
        OneTimeCode.id == row["id"]
    )
    if not hmac.compare_digest(row["secret_hash"], _digest(purpose, code, account_id)):
        return False
    return await _use(row["id"])


async def create_reset_token(account_id: UUID) -> str:
    token = secrets.token_urlsafe(32)
    await _store(
        account_id, Purpose.PASSWORD_RESET, _digest(Purpose.PASSWORD_RESET, token), RESET_LIFETIME
    )
    return token


async def reset_token_account(token: str) -> UUID | None:
    """The account a live reset token belongs to (without using it up)."""
    row = await _live_token(token)
    return row["account"] if row else None


async def use_reset_token(token: str) -> UUID | None:
    """Use a reset token up; returns its account, or None when it is unknown, used or old."""
    row = await _live_token(token)
    if row is None or not await _use(row["id"]):
        return None
    return row["account"]


async def _live_token(token: str) -> dict | None:
    return (
        await OneTimeCode.select(OneTimeCode.id, OneTimeCode.account)
        .where(
            OneTimeCode.secret_hash == _digest(Purpose.PASSWORD_RESET, token),
            OneTimeCode.used_at.is_null(),
            OneTimeCode.expires_at > clock.now(),
        )
        .first()
    )


async def _store(account_id: UUID, purpose: str, secret_hash: str, lifetime: timedelta) -> None:
    now = clock.now()
    await OneTimeCode.update({OneTimeCode.used_at: now}).where(
        OneTimeCode.account == account_id,
        OneTimeCode.purpose == purpose,
        OneTimeCode.used_at.is_null(),
    )
    await OneTimeCode.insert(
        OneTimeCode(
            account=account_id,
            purpose=purpose,
            secret_hash=secret_hash,
            created_at=now,
            expires_at=now + lifetime,
        )
    )


async def _use(code_id: UUID) -> bool:
    won = (
        await OneTimeCode.update({OneTimeCode.used_at: clock.now()})
        .returning(OneTimeCode.id)
        .where(OneTimeCode.id == code_id, OneTimeCode.used_at.is_null())
    )
    return bool(won)
