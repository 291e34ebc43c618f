"""What the section shows outside its own page: the overview's card, its part of the
whole-dossier PDF, and its rows in the demo."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from plugins.occupational_health import records
from plugins.occupational_health.tables import Exposure, Job, Visit
from portal import crypto
from portal.access.view import DossierView
from portal.hookspecs import Card, DemoData


async def card(view: DossierView) -> Card:
    """Active follow-ups due and the last visit."""
    record = await records.record_of(view)
    return Card(
        "occupational_health/card.html",
        {
            "follow_ups": records.follow_ups(record["exposures"]),
            "last_visit": record["visits"][0] if record["visits"] else None,
            "next_visit": records.next_visit_due(record["visits"]),
            "labels": records.labels(),
        },
    )


async def printed(view: DossierView) -> Card:
    record = await records.record_of(view)
    return Card(
        "occupational_health/_print.html",
        {
            **record,
            "follow_ups": records.follow_ups(record["exposures"]),
            "labels": records.labels(),
        },
    )


async def add_demo(demo: DemoData) -> None:
    """Camille's career, a past exposure to noise, and a periodic visit by Dr Simon (the core's
    demo has Camille's consent for her to this section)."""
    camille = demo.dossiers["camille"]
    simon = demo.accounts["dr.simon@demo.carnet.fr"]
    at = datetime.combine(date(2024, 3, 12), time(9, 30), tzinfo=UTC)
    author = {"author": simon, "author_name": "Anne Simon", "created_at": at}
    await Job.insert(
        Job(
            dossier=camille,
            employer="Imprimerie Lyonnaise Rotatives",
            job_title="Conductrice de machine offset",
            sector="Imprimerie (C18.11)",
            started=date(2009, 9, 1),
            ended=date(2015, 6, 30),
            **author,
        ),
        Job(
            dossier=camille,
            employer="Mutuelle du Rhône",
            job_title="Chargée de clientèle",
            sector="Assurance (K65.12)",
            started=date(2015, 9, 1),
            **author,
        ),
    )
    exposure = Exposure(
        dossier=camille,
        agent="bruit",
        started=date(2009, 9, 1),
        ended=date(2015, 6, 30),
        intensity="forte",
        assessment="mesure",
        note="Lex,8h mesuré à 87 dB(A) près des rotatives ; protections auditives fournies.",
        **author,
    )
    visit = Visit(
        dossier=camille,
        kind="periodique",
        visited_on=date(2024, 3, 12),
        notice="",
        adjustments="",
        note=(
            "Audiogramme : légère encoche à 4 kHz des deux côtés, stable depuis 2015. "
            "Travail sur écran : pauses régulières conseillées."
        ),
        **author,
    )
    await crypto.insert(exposure, visit)
