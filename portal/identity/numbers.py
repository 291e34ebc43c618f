"""The numbers Carnet checks: the NIR of a patient and the RPPS of a professional, and the
mobile number a patient without e-mail receives their codes at.

The NIR and the RPPS carry a check key, so a mistyped digit is caught when it is typed rather
than when a dossier cannot be found. An `InvalidNumber` says, in the reader's language, what
exactly is wrong so that the patient or the administrator can fix it; it never repeats the
whole number, which may end up in a log.
"""

from __future__ import annotations

import re

from portal.echo import shown_back
from portal.i18n import gettext as _

NIR_LENGTH = 15
RPPS_LENGTH = 11
DIGITS = frozenset("0123456789")
#: What people put between the groups of a NIR (any space, including non-breaking ones).
NIR_SEPARATORS = re.compile(r"[\s.\-]")
#: Corsica's departments are letters; the key is computed with these numbers in their place.
CORSICA = {"2A": "19", "2B": "18"}
#: What people put in a phone number: spaces, dots, dashes, parentheses.
PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
#: A number in international form (E.164): a plus, then 8 to 15 digits.
E164 = re.compile(r"\+[1-9][0-9]{7,14}")
#: France's country code, and its mobile numbers: 06 and 07, then eight digits.
FRANCE = "+33"
FRENCH_MOBILE = re.compile(r"\+33[67][0-9]{8}")
#: 1 man, 2 woman; 7 and 8 are temporary numbers (NIA) given while a person born abroad is
#: being registered, and they are used as NIR until then. The older temporary digits 3 and 4
#: are no longer issued and are refused.
NIR_SEX_DIGITS = frozenset("1278")


class InvalidNumber(ValueError):
    """A NIR or RPPS number that cannot be right; the message, already translated, says why."""


def normalize_nir(text: str) -> str:
    """The NIR without its separators and in capitals (``2a`` -> ``2A``); not checked."""
    return NIR_SEPARATORS.sub("", text).upper()


def validate_nir(text: str) -> str:
    """The normalized NIR (15 characters) if ``text`` can be one; `InvalidNumber` otherwise.

    Checks the shape (sex, month, department) and the key, not that INSEE issued the number.
    """
    compact = NIR_SEPARATORS.sub("", text)
    if not compact:
        raise InvalidNumber(_("Enter the social security number."))
    wrong = _unexpected(compact, DIGITS | frozenset("aAbB"))
    if wrong:
        raise InvalidNumber(
            _(
                "A social security number is made of digits (and 2A or 2B for Corsica); "
                "remove: %(characters)s"
            )
            % {"characters": wrong}
        )
    nir = compact.upper()
    if len(nir) == NIR_LENGTH - 2:
        raise InvalidNumber(
            _("The 2-digit key is missing at the end: a social security number has 15 characters.")
        )
    if len(nir) != NIR_LENGTH:
        raise InvalidNumber(
            _(
                "A social security number has 15 characters (13, then a 2-digit key); "
                "this one has %(count)s."
            )
            % {"count": len(nir)}
        )
    department = nir[5:7]
    if not (nir[:5] + nir[7:]).isdigit() or not (department.isdigit() or department in CORSICA):
        raise InvalidNumber(
            _(
                "Letters are only possible in the department of birth, 6th and 7th "
                "characters: 2A or 2B for Corsica."
            )
        )
    if nir[0] not in NIR_SEX_DIGITS:
        raise InvalidNumber(
            _(
                "The first digit must be 1 (man) or 2 (woman), or 7 or 8 for a temporary "
                "number, not %(digit)s."
            )
            % {"digit": nir[0]}
        )
    if not _possible_month(int(nir[3:5])):
        raise InvalidNumber(
            _("The 4th and 5th digits are the month of birth: 01 to 12, not %(month)s.")
            % {"month": nir[3:5]}
        )
    if department == "00":
        raise InvalidNumber(
            _(
                "The 6th and 7th characters are the department of birth: 01 to 99, 2A or "
                "2B, not %(department)s."
            )
            % {"department": department}
        )
    if nir[13:] != nir_key(nir[:13]):
        raise InvalidNumber(_("The key does not match the number: check each digit."))
    return nir


def nir_key(first13: str) -> str:
    """The 2-digit key of a NIR: 97 minus the number modulo 97, 2A and 2B counted as 19 and 18.

    Raises `ValueError` (untranslated: a programming error) if ``first13`` is not 13 digits,
    2A or 2B allowed as department.
    """
    first13 = normalize_nir(first13)
    department = first13[5:7]
    numeric = first13[:5] + CORSICA.get(department, department) + first13[7:]
    if len(numeric) != NIR_LENGTH - 2 or _unexpected(numeric, DIGITS):
        raise ValueError("nir_key needs the first 13 characters of a NIR")
    return f"{97 - int(numeric) % 97:02d}"


def format_nir(nir: str) -> str:
    """A NIR grouped as on the carte Vitale, for display: ``1 85 05 78 006 084 91``."""
    nir = normalize_nir(nir)
    if len(nir) != NIR_LENGTH:
        raise ValueError("format_nir needs a NIR of 15 characters")
    groups = (nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:])
    return " ".join(groups)


def validate_rpps(text: str) -> str:
    """The 11 digits of an RPPS number (spaces removed); `InvalidNumber` if it cannot be one."""
    rpps = "".join(text.split())
    if not rpps:
        raise InvalidNumber(_("Enter the RPPS number."))
    wrong = _unexpected(rpps, DIGITS)
    if wrong:
        raise InvalidNumber(
            _("An RPPS number is made of digits only; remove: %(characters)s")
            % {"characters": wrong}
        )
    if len(rpps) != RPPS_LENGTH:
        raise InvalidNumber(
            _("An RPPS number has 11 digits; this one has %(count)s.") % {"count": len(rpps)}
        )
    if luhn_check_digit(rpps[:-1]) != rpps[-1]:
        raise InvalidNumber(_("The RPPS number is not valid: check each digit."))
    return rpps


def luhn_check_digit(digits: str) -> str:
    """The Luhn digit that completes ``digits`` (the last digit of an RPPS number).

    From the right, every other digit starting with the last one is doubled (minus 9 when it
    exceeds 9); the check digit brings the sum to a multiple of 10.
    """
    if not digits or _unexpected(digits, DIGITS):
        raise ValueError("luhn_check_digit needs a string of digits")
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return str(-total % 10)


def phone_number(text: str) -> str | None:
    """``text`` in international form if it is written as a phone number (``06 12 34 56 78``,
    ``+33 6 12 34 56 78``, ``0033…``: ``+33612345678``), None if it is not one."""
    compact = PHONE_SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif compact.startswith("0") and len(compact) == 10:
        compact = FRANCE + compact[1:]
    compact = compact.replace(FRANCE + "0", FRANCE, 1)  # +33 (0)6…
    return compact if E164.fullmatch(compact) else None


def validate_mobile(text: str) -> str:
    """The mobile number, in international form, that text messages will be sent to;
    `InvalidNumber` if ``text`` cannot be one."""
    number = phone_number(text)
    if number is None:
        raise InvalidNumber(_("Give a mobile number as it is dialled, for example 06 12 34 56 78."))
    if number.startswith(FRANCE) and not FRENCH_MOBILE.fullmatch(number):
        raise InvalidNumber(
            _("Text messages only reach a mobile: in France, a number starting with 06 or 07.")
        )
    return number


def readable_address(address: str) -> str:
    """Where messages go, as people read it: an e-mail address as it is, a French mobile
    number in pairs (``06 12 34 56 78``), another number in international form."""
    if not FRENCH_MOBILE.fullmatch(address):
        return address
    national = "0" + address[len(FRANCE) :]
    return " ".join(national[i : i + 2] for i in range(0, len(national), 2))


def _possible_month(month: int) -> bool:
    """01-12, or 20-42 and 50-99: INSEE's months for people registered without a known one."""
    return 1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99


def _unexpected(text: str, allowed: frozenset[str]) -> str:
    """The characters of ``text`` not in ``allowed``, each once, in order of appearance (the
    first of them, when there are very many)."""
    return shown_back(" ".join(dict.fromkeys(char for char in text if char not in allowed)))
