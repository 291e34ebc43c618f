"""A dossier's readings: the form checked against the values that can be real, saving a
reading, and the readings of each measure as the page, the card, the PDF and the emergency card
show them (in the reader's language, with what is outside the normal range said as such)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from plugins.measures import chart
from plugins.measures.kinds import BMI, KINDS, Kind, body_mass_index, number, outside
from plugins.measures.tables import Reading
from portal import clock
from portal import gettext_lazy as _
from portal.access.view import DossierView
from portal.audit import Action
from portal.dossiers.tables import PatientProfile

#: The section's category in the access matrix (ACCESS.md).
CATEGORY = "mesures"
#: The category of the patient's profile, where their height is (portal.dossiers.profile).
PROFILE_CATEGORY = "patient"
#: The page and the PDF show a year of readings, at most the latest `SHOWN_MAX` of each
#: measure (a chart of a few KB, a table that stays readable); older ones are kept.
SHOWN_SPAN = timedelta(days=366)
SHOWN_MAX = 100
#: The form's fields: a reading's first and second numbers (a blood pressure's diastolic).
FIELDS = ("kind", "value", "second_value", "measured_at")
MOMENT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%Y")
#: The longest text of a field the page shows back when the form is refused.
ECHOED_MAX = 40


def typed_number(text: str) -> float | None:
    """A number as a person types it: 72.5 or 72,5; None when it is not one."""
    try:
        return float(text.strip().replace(",", ".").replace(" ", ""))
    except ValueError:
        return None


def typed_moment(text: str) -> datetime | None:
    """A time as a datetime field sends it (2026-03-14T08:30), or typed (14/03/2026 08:30), in
    French time; in UTC, or None when it is neither."""
    for pattern in MOMENT_FORMATS:
        try:
            moment = datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
        return moment.replace(tzinfo=clock.ZONE).astimezone(UTC)
    return None


def blank(now: datetime) -> dict[str, str]:
    return {
        "kind": "",
        "value": "",
        "second_value": "",
        "measured_at": clock.local(now).strftime("%Y-%m-%dT%H:%M"),
    }


def read_form(
    data: dict[str, Any], now: datetime, birth_date
) -> tuple[dict[str, Any], dict[str, str]]:
    """The reading the form describes (its columns) and no errors; or, when something is
    wrong, the form as typed and what is wrong with it: a measure off the list, a number
    missing, not a number or that cannot be real, a time to come."""
    typed = {name: str(data.get(name, "")).strip() for name in FIELDS}
    echoed = {name: text[:ECHOED_MAX] for name, text in typed.items()}
    errors: dict[str, str] = {}
    kind = KINDS.get(typed["kind"])
    if kind is None:
        errors["kind"] = str(_("Choose a measure from the list."))
    values: list[float | None] = []
    for part, name in zip(kind.parts if kind else (), ("value", "second_value"), strict=False):
        value = typed_number(typed[name]) if typed[name] else None
        low, high = part.plausible
        if value is None:
            errors[name] = str(
                _("%(part)s: give a number in %(unit)s.") % {"part": part.label, "unit": kind.unit}
            )
        elif not low <= value <= high:
            errors[name] = str(
                _("%(value)s %(unit)s cannot be right: give a value from %(low)s to %(high)s.")
                % {
                    "value": number(value, kind.decimals),
                    "unit": kind.unit,
                    "low": number(low, kind.decimals),
                    "high": number(high, kind.decimals),
                }
            )
        values.append(None if name in errors else round(value, kind.decimals))
    if kind is not None and len(kind.parts) == 1 and typed["second_value"]:
        errors["second_value"] = str(_("Only a blood pressure has a second number."))
    if len(values) == 2 and None not in values and values[1] >= values[0]:
        errors["second_value"] = str(
            _("The diastolic pressure (the lower number) must be below the systolic.")
        )
    measured_at = typed_moment(typed["measured_at"])
    if measured_at is None:
        errors["measured_at"] = str(
            _("Give the date and time of the reading, e.g. 14/03/2026 08:30.")
        )
    elif measured_at > now:
        errors["measured_at"] = str(_("Give a time that is not in the future."))
    elif birth_date is not None and measured_at < clock.start_of(birth_date):
        errors["measured_at"] = str(_("Give a time after the birth date."))
    if errors:
        return echoed, errors
    columns = {
        "kind": kind.key,
        "value": values[0],
        "second_value": values[1] if len(values) == 2 else None,
        "measured_at": measured_at,
    }
    return columns, {}


async def add(view: DossierView, columns: dict[str, Any]) -> None:
    """Save a reading by the person of ``view``, inside its ``view.acting(…)`` block: the
    reading and the trace of its writing are one transaction."""
    await Reading.insert(
        Reading(
            dossier=view.id,
            author=view.actor.account_id,
            author_name=view.trace_actor.name,
            recorded_at=view.now,
            **columns,
        )
    )


# --- as people read them ----------------------------------------------------------------------


async def height_cm(view: DossierView) -> int | None:
    """The height of the patient's profile, for the body mass index, when ``view`` may read
    the profile."""
    if not view.may(Action.VIEW, PROFILE_CATEGORY):
        return None
    profile = (
        await PatientProfile.select(PatientProfile.height_cm)
        .where(PatientProfile.dossier == view.id)
        .first()
    )
    return profile["height_cm"] if profile else None


def shown(row: dict[str, Any], height: int | None = None) -> dict[str, Any]:
    """A reading as people read it: "128/82 mmHg", whether each number is low or high, and a
    weight's body mass index."""
    kind = KINDS[row["kind"]]
    numbers = [row["value"], row["second_value"]][: len(kind.parts)]
    flags = [outside(part, value) for part, value in zip(kind.parts, numbers, strict=True)]
    reading = {
        "row": row,
        "kind": kind,
        "text": f"{'/'.join(number(value, kind.decimals) for value in numbers)} {kind.unit}",
        "flags": flags,
        "flag": "high" if "high" in flags else "low" if "low" in flags else "",
        "bmi": "",
        "bmi_flag": "",
    }
    bmi = body_mass_index(row["value"], height) if kind.key == "weight" else None
    if bmi is not None:
        reading["bmi"] = number(bmi, 1)
        reading["bmi_flag"] = outside(BMI, bmi)
    return reading


async def series(view: DossierView) -> list[dict[str, Any]]:
    """Each measure with readings in the shown span: its readings (newest first), the latest,
    and its chart."""
    rows = (
        await Reading.select()
        .where(Reading.dossier == view.id, Reading.measured_at >= view.now - SHOWN_SPAN)
        .order_by(Reading.measured_at)
    )
    height = await height_cm(view)
    result = []
    for kind in KINDS.values():
        readings = [row for row in rows if row["kind"] == kind.key][-SHOWN_MAX:]
        if readings:
            newest_first = [shown(row, height) for row in reversed(readings)]
            result.append(
                {
                    "kind": kind,
                    "readings": newest_first,
                    "with_bmi": any(reading["bmi"] for reading in newest_first),
                    "chart": chart.draw(kind, readings),
                }
            )
    return result


async def latest(view: DossierView, kind: Kind) -> dict[str, Any] | None:
    """The latest reading of ``kind`` in ``view``'s dossier, if any."""
    return (
        await Reading.select()
        .where(Reading.dossier == view.id, Reading.kind == kind.key)
        .order_by(Reading.measured_at, ascending=False)
        .first()
    )


async def latest_each(view: DossierView) -> list[dict[str, Any]]:
    """The latest reading of each measure recorded, as people read it."""
    height = await height_cm(view)
    readings = [await latest(view, kind) for kind in KINDS.values()]
    return [shown(row, height) for row in readings if row is not None]
