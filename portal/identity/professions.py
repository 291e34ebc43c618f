"""The professions a professional account may carry, as data in code.

The ``key`` is what the access matrix (docs: ACCESS.md) and the database store; it never
changes once released. The ``rpps_code`` is the profession's code in the RPPS nomenclature of
health professions (ANS, TRE_G15-ProfessionSante), used to check an account against the RPPS
directory.

Two keys are not RPPS professions of their own: in the RPPS a médecin du travail is a médecin
(10) and an infirmier de santé au travail an infirmier (60), each with an occupational health
specialty. The portal needs them apart because occupational health data (``sante_travail``)
is theirs alone, and what they read otherwise differs from a treating doctor's or nurse's.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.support import LazyProxy

from portal.i18n import gettext_lazy as _


@dataclass(frozen=True)
class Profession:
    key: str
    #: The name shown to people, translated when shown.
    label: LazyProxy
    #: The TRE_G15 code, or None when the profession has none there.
    rpps_code: str | None
    #: Addressed as "Dr": doctors and dentists hold a state doctorate.
    doctor: bool = False


PROFESSIONS: dict[str, Profession] = {
    profession.key: profession
    for profession in (
        # The professions of the access matrix (ACCESS.md), in its order.
        Profession("medecin", _("Doctor"), "10", doctor=True),
        Profession("sage_femme", _("Midwife"), "50"),
        Profession("chirurgien_dentiste", _("Dentist"), "40", doctor=True),
        Profession("pharmacien", _("Pharmacist"), "21"),
        Profession("infirmier", _("Nurse"), "60"),
        Profession("masseur_kinesitherapeute", _("Physiotherapist"), "70"),
        Profession("pedicure_podologue", _("Podiatrist"), "80"),
        Profession("medecin_du_travail", _("Occupational physician"), "10", doctor=True),
        # Other health professions of the RPPS.
        Profession("infirmier_sante_travail", _("Occupational health nurse"), "60"),
        Profession("orthophoniste", _("Speech therapist"), "91"),
        Profession("orthoptiste", _("Orthoptist"), "92"),
        Profession("ergotherapeute", _("Occupational therapist"), "94"),
        Profession("psychomotricien", _("Psychomotor therapist"), "96"),
        Profession("audioprothesiste", _("Hearing aid specialist"), "26"),
        Profession("opticien_lunetier", _("Optician"), "28"),
        Profession("manipulateur_electroradiologie", _("Radiographer"), "98"),
        Profession("dieteticien", _("Dietitian"), "95"),
        Profession("technicien_laboratoire", _("Medical laboratory technician"), "86"),
        # Psychologists are registered in the RPPS as holders of a protected title
        # (TRE_R95-UsagerTitre, code 93), not as a health profession of TRE_G15.
        Profession("psychologue", _("Psychologist"), None),
    )
}


def profession(key: str) -> Profession:
    """The profession of ``key``; `KeyError` naming the known keys if there is none."""
    try:
        return PROFESSIONS[key]
    except KeyError:
        known = ", ".join(PROFESSIONS)
        raise KeyError(f"No profession {key!r}; the professions are: {known}") from None
