"""The demo's positions: Camille wants to be a donor; Jules refuses some removals."""

from __future__ import annotations

from datetime import timedelta

from plugins.organ_donation.position import NO_OBJECTION, PARTIAL_REFUSAL
from plugins.organ_donation.tables import Position
from portal import DemoData, clock, crypto

CAMILLE = "camille.martin@demo.carnet.fr"
JULES = "jules.petit@demo.carnet.fr"


async def add_demo_positions(demo: DemoData) -> None:
    now = clock.now()
    await crypto.insert(
        Position(
            dossier=demo.dossiers["camille"],
            stance=NO_OBJECTION,
            wants_to_donate=True,
            message=(
                "Je veux que mes organes servent à d’autres. Paul et maman le savent : "
                "ne vous opposez pas au don."
            ),
            stated_on=(now - timedelta(days=410)).date(),
            recorded_at=now - timedelta(days=410),
            recorded_by=demo.accounts[CAMILLE],
            recorded_by_name="Camille Martin",
            recorded_as="patient",
        ),
        Position(
            dossier=demo.dossiers["jules"],
            stance=PARTIAL_REFUSAL,
            refused_organs="cornees peau",
            refused_purposes="recherche",
            message=(
                "D’accord pour donner mes organes pour une greffe, mais pas mes cornées ni ma "
                "peau, et rien pour la recherche."
            ),
            stated_on=(now - timedelta(days=95)).date(),
            recorded_at=now - timedelta(days=95),
            recorded_by=demo.accounts[JULES],
            recorded_by_name="Jules Petit",
            recorded_as="patient",
        ),
    )
