"""The demo's readings: four months of Camille's home blood pressure (slightly high at times),
her weight, and a flu in the autumn; a few readings taken by Dr Bernard at the surgery."""

from __future__ import annotations

import random
from datetime import timedelta

from plugins.measures.tables import Reading
from portal import DemoData, clock

CAMILLE = "camille.martin@demo.carnet.fr"
DOCTOR = "dr.bernard@demo.carnet.fr"
DAYS = 120


async def add(demo: DemoData) -> None:
    now = clock.now().replace(minute=0, second=0, microsecond=0)
    draw = random.Random(24)  # noqa: S311 - the same readings in every demo, no secret
    patient = (demo.accounts[CAMILLE], "Camille Martin")
    doctor = (demo.accounts[DOCTOR], "Sophie Bernard")
    rows: list[Reading] = []

    def reading(days_ago: float, kind: str, value: float, second=None, by=patient) -> None:
        rows.append(
            Reading(
                dossier=demo.dossiers["camille"],
                kind=kind,
                value=value,
                second_value=second,
                measured_at=now - timedelta(days=days_ago),
                author=by[0],
                author_name=by[1],
                recorded_at=now - timedelta(days=days_ago),
            )
        )

    for days_ago in range(DAYS, 0, -3):  # her blood pressure and pulse, mornings at home
        systolic = round(draw.gauss(131, 6))
        reading(days_ago, "blood_pressure", systolic, round(systolic * 0.64 + draw.gauss(0, 3)))
        reading(days_ago, "heart_rate", round(draw.gauss(72, 5)))
    for days_ago in range(DAYS, 0, -14):
        reading(days_ago, "weight", round(65.2 + days_ago * 0.01 + draw.random() * 0.6, 1))
    for days_ago, temperature, saturation in ((52, 38.6, 96), (51.5, 38.1, 97), (50, 37.2, 98)):
        reading(days_ago, "temperature", temperature)
        reading(days_ago, "oxygen_saturation", saturation)
    for days_ago, glucose in ((90, 0.92), (45, 0.98), (2, 1.12)):
        reading(days_ago, "glucose", glucose, by=doctor)
    reading(2, "blood_pressure", 142, 91, by=doctor)  # at the surgery: above normal
    await Reading.insert(*rows)
