"""A measure's readings over time, as the geometry of a small SVG chart drawn on the server
(``templates/measures/_chart.html``): no JavaScript, a few KB, the same in the page and in the
PDF. The values themselves are in the table beside it; the chart shows their course, the normal
range (a band, or the upper limits of a blood pressure's two numbers) and the readings outside
it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from plugins.measures.kinds import Kind, number, outside
from portal import clock

WIDTH, HEIGHT = 320, 150
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 8, 18
TICKS = 4


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    flag: str


@dataclass(frozen=True)
class Line:
    """The course of one number of the measure (a blood pressure has two)."""

    label: str
    points: str
    dots: tuple[Dot, ...]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    lines: tuple[Line, ...]
    #: The value axis: (y, label) of each tick.
    y_ticks: tuple[tuple[float, str], ...]
    #: The time axis: (x, day) of the first and last readings.
    x_ticks: tuple[tuple[float, str], ...]
    #: The normal range as a band (its top and bottom y), for a measure of one number.
    band: tuple[float, float] | None
    #: The upper normal limits (y), for a measure of two numbers.
    limits: tuple[float, ...]


def _step(span: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about `TICKS` ticks over
    ``span``."""
    rough = span / TICKS
    power = 10 ** math.floor(math.log10(rough))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= rough)


def draw(kind: Kind, rows: list[dict[str, Any]]) -> Chart:
    """The chart of ``rows`` (readings of ``kind``, oldest first)."""
    columns = ("value", "second_value")[: len(kind.parts)]
    values = [row[column] for row in rows for column in columns]
    bounds = [bound for part in kind.parts if part.normal for bound in part.normal]
    if len(kind.parts) > 1:  # only the upper limits are drawn
        bounds = [part.normal[1] for part in kind.parts if part.normal]
    low, high = min(values + bounds), max(values + bounds)
    step = _step(max(high - low, 10.0**-kind.decimals))
    bottom_value, top_value = math.floor(low / step) * step, math.ceil(high / step) * step
    if top_value == bottom_value:
        top_value += step

    first, last = rows[0]["measured_at"], rows[-1]["measured_at"]
    if first == last:
        first, last = first - timedelta(days=1), last + timedelta(days=1)
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment) -> float:
        return round(LEFT + plot_width * (moment - first) / (last - first), 1)

    def y(value: float) -> float:
        share = (value - bottom_value) / (top_value - bottom_value)
        return round(TOP + plot_height * (1 - share), 1)

    lines = []
    for part, column in zip(kind.parts, columns, strict=True):
        dots = tuple(
            Dot(x(row["measured_at"]), y(row[column]), outside(part, row[column])) for row in rows
        )
        lines.append(Line(str(part.label), " ".join(f"{d.x},{d.y}" for d in dots), dots))
    ticks = round((top_value - bottom_value) / step)
    decimals = max(0, -math.floor(math.log10(step)))
    band = None
    if len(kind.parts) == 1 and kind.parts[0].normal:
        normal_low, normal_high = kind.parts[0].normal
        band = (y(normal_high), y(normal_low))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        lines=tuple(lines),
        y_ticks=tuple(
            (y(bottom_value + i * step), number(bottom_value + i * step, decimals))
            for i in range(ticks + 1)
        ),
        x_ticks=((x(rows[0]["measured_at"]), clock.day(rows[0]["measured_at"])),)
        + (
            ((x(rows[-1]["measured_at"]), clock.day(rows[-1]["measured_at"])),)
            if len(rows) > 1
            else ()
        ),
        band=band,
        limits=tuple(y(part.normal[1]) for part in kind.parts if part.normal)
        if len(kind.parts) > 1
        else (),
    )
