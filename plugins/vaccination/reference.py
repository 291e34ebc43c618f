"""The shipped data, read once at import: the vaccines used in France (``data/vaccines.toml``)
and the French vaccination schedule (``data/calendrier.toml``), with its source and year.

A deployment updates the schedule by editing the data file; the code below only reads it and
refuses, at start-up, a rule that names an unknown vaccine or kind.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from portal.i18n import current_language

DATA = Path(__file__).parent / "data"
KINDS = ("series", "boosters", "seasonal")


def _localized(text: dict[str, str] | str) -> str:
    """A text of the data files in the reader's language (French when it lacks one)."""
    if isinstance(text, str):
        return text
    return text.get(current_language(), text["fr"])


@dataclass(frozen=True)
class Vaccine:
    key: str
    name: str
    brands: str
    diseases: tuple[str, ...]

    @property
    def covers(self) -> str:
        """The diseases it protects against, in the reader's language."""
        return ", ".join(_localized(DISEASES[disease]) for disease in self.diseases)


@dataclass(frozen=True)
class Rule:
    """One line of the schedule (see the comments of ``data/calendrier.toml``)."""

    key: str
    kind: str
    label_text: dict[str, str]
    note_text: dict[str, str]
    vaccines: frozenset[str]
    doses_at_months: tuple[int, ...] = ()
    counts_from_months: int = 0
    until_months: int | None = None
    born_from: date | None = None
    ages_years: tuple[int, ...] = ()
    every_years: int = 10
    early_years: int = 0
    from_age_years: int = 0
    season_start: str = "09-01"
    campaign_start: str = "10-01"
    campaign_end: str = "01-31"
    grace_months: int = 6

    @property
    def label(self) -> str:
        return _localized(self.label_text)

    @property
    def note(self) -> str:
        return _localized(self.note_text)


def _read(name: str) -> dict[str, Any]:
    with (DATA / name).open("rb") as file:
        return tomllib.load(file)


def _vaccines(data: dict[str, Any]) -> dict[str, Vaccine]:
    vaccines = {}
    for key, entry in data["vaccines"].items():
        unknown = set(entry["diseases"]) - set(data["diseases"])
        if unknown:
            raise ValueError(f"vaccines.toml: {key} names unknown diseases {sorted(unknown)}")
        vaccines[key] = Vaccine(
            key, entry["name"], entry.get("brands", ""), tuple(entry["diseases"])
        )
    return vaccines


def _rules(data: dict[str, Any]) -> tuple[Rule, ...]:
    rules = []
    for entry in data["rules"]:
        entry = dict(entry)
        key = entry.pop("key")
        if entry["kind"] not in KINDS:
            raise ValueError(f"calendrier.toml: {key} has an unknown kind {entry['kind']!r}")
        unknown = set(entry["vaccines"]) - set(VACCINES)
        if unknown:
            raise ValueError(f"calendrier.toml: {key} names unknown vaccines {sorted(unknown)}")
        rules.append(
            Rule(
                key=key,
                kind=entry.pop("kind"),
                label_text=entry.pop("label"),
                note_text=entry.pop("note"),
                vaccines=frozenset(entry.pop("vaccines")),
                doses_at_months=tuple(entry.pop("doses_at_months", ())),
                ages_years=tuple(entry.pop("ages_years", ())),
                **entry,
            )
        )
    return tuple(rules)


_VACCINE_DATA = _read("vaccines.toml")
DISEASES: dict[str, dict[str, str]] = _VACCINE_DATA["diseases"]
VACCINES: dict[str, Vaccine] = _vaccines(_VACCINE_DATA)
_SCHEDULE_DATA = _read("calendrier.toml")
#: Where the schedule comes from: title, publisher, year, url.
SOURCE: dict[str, Any] = _SCHEDULE_DATA["source"]
RULES: tuple[Rule, ...] = _rules(_SCHEDULE_DATA)
#: The vaccines that protect against tetanus: the emergency card's line.
TETANUS_VACCINES = frozenset(
    key for key, vaccine in VACCINES.items() if "tetanos" in vaccine.diseases
)


def vaccine_name(key: str) -> str:
    """How a record's vaccine reads (its key, should the list one day drop it)."""
    vaccine = VACCINES.get(key)
    return vaccine.name if vaccine else key
