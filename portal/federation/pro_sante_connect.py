"""Who Pro Santé Connect says a professional is: their RPPS number, name, profession and
specialty, read from its claims.

The professional is identified by ``SubjectNameID``, the national identifier of health
professionals: ``8`` followed by the RPPS number (an identifier starting otherwise is an ADELI
one, which Carnet does not use). The profession and specialty come from the practice data
(``SubjectRefPro.exercices``), mapped as `pro_sante_connect.toml` says.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal.federation.refusal import LoginRefused
from portal.i18n import gettext_lazy as _
from portal.identity.numbers import InvalidNumber, validate_rpps
from portal.identity.professions import PROFESSIONS

MAPPING_FILE = Path(__file__).with_suffix(".toml")
#: The first character of a national identifier made of an RPPS number.
RPPS_PREFIX = "8"


@dataclass(frozen=True)
class Practitioner:
    rpps: str
    first_name: str
    last_name: str
    email: str
    profession: str  # a key of portal.identity.professions
    specialty: str  # its French label, or ""


@dataclass(frozen=True)
class Mapping:
    """`pro_sante_connect.toml`, with the profession of each national code it implies."""

    by_code: dict[str, str]
    by_specialty: dict[str, str]
    specialties: dict[str, str]

    def profession(self, code: str, specialty: str) -> str | None:
        refined = self.by_specialty.get(specialty)
        if refined and PROFESSIONS[refined].rpps_code == code:
            return refined
        return self.by_code.get(code)


def load_mapping(path: Path = MAPPING_FILE) -> Mapping:
    """Read the mapping and check it against Carnet's professions (`ValueError` naming what is
    wrong: it is part of the portal, a mistake there is a programming error)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    shared, by_specialty = data["shared_codes"], data["professions_by_specialty"]
    by_code: dict[str, str] = {}
    for key, profession in PROFESSIONS.items():
        code = profession.rpps_code
        if code is None:
            continue
        if code in by_code and code not in shared:
            raise ValueError(f"{path}: national code {code} is shared, and not in shared_codes")
        by_code[code] = shared.get(code, key)
    for key in [*shared.values(), *by_specialty.values()]:
        if key not in PROFESSIONS:
            raise ValueError(f"{path}: no profession {key!r} in portal.identity.professions")
    return Mapping(by_code, by_specialty, data["specialties"])


MAPPING = load_mapping()


def practitioner(claims: dict[str, Any]) -> Practitioner:
    """The professional the claims describe; `LoginRefused` says why there is none."""
    rpps = _rpps(claims.get("SubjectNameID"))
    references = claims.get("SubjectRefPro")
    practices = references.get("exercices") if isinstance(references, dict) else None
    if not isinstance(practices, list) or not any(isinstance(p, dict) for p in practices):
        raise LoginRefused(
            "no practice data",
            _(
                "Pro Santé Connect did not say which profession you practise: Carnet cannot "
                "tell what you may read. Check your record in the RPPS directory."
            ),
        )
    practices = [practice for practice in practices if isinstance(practice, dict)]
    for practice in practices:
        code = str(practice.get("codeProfession") or "")
        specialty = str(practice.get("codeSavoirFaire") or "")
        profession = MAPPING.profession(code, specialty)
        if not profession:
            continue
        first_name = _name(claims.get("given_name") or practice.get("prenomDexercice"))
        last_name = _name(claims.get("family_name") or practice.get("nomDexercice"))
        if not (first_name and last_name):
            raise LoginRefused(
                "no name", _("Pro Santé Connect did not give your name: Carnet cannot show it.")
            )
        return Practitioner(
            rpps=rpps,
            first_name=first_name,
            last_name=last_name,
            email=str(claims.get("email") or "")[:254],
            profession=profession,
            specialty=MAPPING.specialties.get(specialty, ""),
        )
    codes = ", ".join(sorted({str(practice.get("codeProfession")) for practice in practices}))[:80]
    raise LoginRefused(
        f"profession {codes}",
        _(
            "Carnet does not know your profession (national code %(codes)s): it cannot tell "
            "what you may read. Ask the administrator of Carnet."
        ),
        codes=codes,
    )


def _rpps(identifier: object) -> str:
    if not isinstance(identifier, str) or not identifier:
        raise LoginRefused(
            "no RPPS number",
            _("Pro Santé Connect did not give your RPPS number: Carnet cannot tell who you are."),
        )
    try:
        if not identifier.startswith(RPPS_PREFIX):
            raise InvalidNumber(identifier)
        return validate_rpps(identifier[len(RPPS_PREFIX) :])
    except InvalidNumber:
        raise LoginRefused(
            "not an RPPS number",
            _(
                "Carnet identifies professionals by their RPPS number, and the identity Pro Santé "
                "Connect gave is not one (an ADELI number, for instance)."
            ),
        ) from None


def _name(value: object) -> str:
    return " ".join(str(value or "").split())[:100]
