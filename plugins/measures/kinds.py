"""The health measures a dossier records, as data: each with its unit, the values that can be
real (outside them a reading is refused), the normal range (outside it a reading is shown as
such) and its codes (LOINC, and UCUM for the unit) for the FHIR vital-signs profile.

The normal ranges are those of an adult at rest, with their sources beside them. The body mass
index is not recorded: it is computed from a weight and the height of the patient's profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import format_decimal

from portal import gettext_lazy as _
from portal import i18n


@dataclass(frozen=True)
class Part:
    """One number of a reading (a blood pressure has two: systolic and diastolic)."""

    key: str
    label: str
    loinc: str
    #: The values a person can have: anything outside is a typing error, refused.
    plausible: tuple[float, float]
    #: The normal range, bounds included; None when the measure has none of its own.
    normal: tuple[float, float] | None


@dataclass(frozen=True)
class Kind:
    """A measure: its parts (one number, or two), unit and how it is written."""

    key: str
    label: str
    #: The unit as people read it, and as UCUM writes it (FHIR's ``valueQuantity.code``).
    unit: str
    ucum: str
    #: The digits after the decimal point a reading keeps.
    decimals: int
    parts: tuple[Part, ...]
    #: The LOINC code of the reading as a whole (the panel, for a blood pressure).
    loinc: str


WEIGHT = Kind(
    "weight",
    _("Weight"),
    "kg",
    "kg",
    1,
    # The same bounds as the profile's weight (portal.dossiers.profile).
    (Part("weight", _("Weight"), "29463-7", (0.5, 400), None),),
    "29463-7",
)
BLOOD_PRESSURE = Kind(
    "blood_pressure",
    _("Blood pressure"),
    "mmHg",
    "mm[Hg]",
    0,
    (
        # ESC/ESH 2018 guidelines for arterial hypertension (Williams et al., Eur Heart J
        # 2018;39:3021), office blood pressure: hypertension from 140 systolic or 90 diastolic
        # (grade 1); hypotension below 90/60, the usual clinical threshold.
        Part("systolic", _("Systolic"), "8480-6", (50, 300), (90, 139)),
        Part("diastolic", _("Diastolic"), "8462-4", (20, 200), (60, 89)),
    ),
    "85354-9",
)
HEART_RATE = Kind(
    "heart_rate",
    _("Heart rate"),
    "/min",
    "/min",
    0,
    # ESC 2021 guidelines on cardiac pacing: bradycardia below 50 beats per minute; ESC 2019
    # guidelines on supraventricular tachycardia: tachycardia above 100.
    (Part("heart_rate", _("Heart rate"), "8867-4", (20, 300), (50, 100)),),
    "8867-4",
)
GLUCOSE = Kind(
    "glucose",
    _("Blood glucose"),
    "g/L",
    "g/L",
    2,
    # WHO/IDF 2006, Definition and diagnosis of diabetes mellitus and intermediate
    # hyperglycaemia: a fasting glucose from 1.10 g/L (6.1 mmol/L) is impaired; ADA 2024
    # Standards of Care, 6: hypoglycaemia below 0.70 g/L (70 mg/dL). A meter reads 0.20 to
    # 6.00 g/L.
    (Part("glucose", _("Blood glucose"), "2339-0", (0.2, 6.0), (0.7, 1.09)),),
    "2339-0",
)
TEMPERATURE = Kind(
    "temperature",
    _("Temperature"),
    "°C",
    "Cel",
    1,
    # HAS 2016, fever of the child and of the adult: fever from 38.0 °C; hypothermia below
    # 35.0 °C.
    (Part("temperature", _("Temperature"), "8310-5", (30, 45), (35.0, 37.9)),),
    "8310-5",
)
OXYGEN_SATURATION = Kind(
    "oxygen_saturation",
    _("Oxygen saturation"),
    "%",
    "%",
    0,
    # BTS 2017 guideline for oxygen use in adults: the normal saturation of a healthy adult is
    # about 94 to 98 %, up to 100 % breathing air.
    (Part("oxygen_saturation", _("Oxygen saturation"), "59408-5", (50, 100), (94, 100)),),
    "59408-5",
)

#: The measures, in the order the section shows them.
KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (BLOOD_PRESSURE, HEART_RATE, WEIGHT, GLUCOSE, TEMPERATURE, OXYGEN_SATURATION)
}

#: The body mass index, from a weight and the profile's height. WHO, "A healthy lifestyle - WHO
#: recommendations" (2010): underweight below 18.5, normal weight to 24.9, overweight from 25.
BMI = Part("bmi", _("Body mass index"), "39156-5", (5, 200), (18.5, 24.9))
BMI_UNIT = "kg/m2"


def body_mass_index(weight_kg: float, height_cm: int | None) -> float | None:
    """The body mass index of ``weight_kg`` at ``height_cm``, to one decimal; None without a
    height."""
    if not height_cm:
        return None
    return round(weight_kg / (height_cm / 100) ** 2, 1)


def outside(part: Part, value: float) -> str:
    """ "low" or "high" when ``value`` is outside the normal range of ``part``, else ""."""
    if part.normal is None:
        return ""
    low, high = part.normal
    return "low" if value < low else "high" if value > high else ""


def number(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` digits after the point, as the reader writes numbers
    (72,5 in French)."""
    pattern = "0." + "0" * decimals if decimals else "0"
    return format_decimal(value, format=pattern, locale=i18n.current_language())
