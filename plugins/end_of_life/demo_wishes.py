"""Camille's end-of-life wishes in the demo: directives written in good health, replaced once,
and her trusted person; and the nurse Luc Durand in her care circle (he declared Camille's consent
at a home visit), so that the demo shows a nurse reading the wishes next to the GP."""

from __future__ import annotations

from datetime import timedelta

from plugins.end_of_life import wishes
from plugins.end_of_life.tables import DirectivesKind
from portal import audit, clock
from portal.access.tables import CircleMember, Joined
from portal.audit import Action, Purpose
from portal.hookspecs import DemoData
from portal.identity.accounts import audit_actor

CAMILLE_FIRST = {
    "kind": DirectivesKind.WRITTEN,
    "situation": "health",
    "answers": {
        "resuscitation": "unsure",
        "ventilation": "refuse",
        "free_text": "Je ne veux pas que l’on s’acharne si je ne peux plus communiquer.",
    },
}
CAMILLE_DIRECTIVES = {
    "kind": DirectivesKind.WRITTEN,
    "situation": "health",
    "answers": {
        "resuscitation": "want",
        "ventilation": "refuse",
        "dialysis": "unsure",
        "nutrition": "refuse",
        "surgery": "unsure",
        "sedation": "want",
        "treatments_note": (
            "Si je suis dans le coma sans espoir raisonnable de reprendre conscience, je ne "
            "veux pas être maintenue en vie par des machines."
        ),
        "suffering_note": "Je veux être soulagée, même si les médicaments me font dormir.",
        "place_of_care": "À la maison si c’est possible, sinon en unité de soins palliatifs.",
        "what_matters": "Avoir mon fils Léo et ma sœur Hélène près de moi.",
    },
}
CAMILLE_TRUSTED_PERSON = {
    "removed": False,
    "name": "Hélène Martin",
    "relation": "sœur",
    "phone": "06 12 34 56 78",
    "email": "helene.martin@exemple.fr",
    "on_behalf": False,
}


async def add(demo: DemoData) -> None:
    camille = demo.dossiers["camille"]
    author = demo.accounts["camille.martin@demo.carnet.fr"]
    now = clock.now()
    for columns, days_ago in ((CAMILLE_FIRST, 420), (CAMILLE_DIRECTIVES, 80)):
        await wishes.add_directives(
            camille,
            columns,
            author=author,
            author_name="Camille Martin",
            now=now - timedelta(days=days_ago),
        )
    designated = now - timedelta(days=80)
    await wishes.add_trusted_person(
        camille,
        {**CAMILLE_TRUSTED_PERSON, "accepted_on": designated.date()},
        author=author,
        author_name="Camille Martin",
        now=designated,
    )
    nurse = demo.accounts.get("inf.durand@demo.carnet.fr")
    if nurse and not await CircleMember.exists().where(
        CircleMember.dossier == camille, CircleMember.professional == nurse
    ):
        await CircleMember.insert(
            CircleMember(dossier=camille, professional=nurse, joined=Joined.CONSENT, since=now)
        )
        await audit.record(
            Action.CONSENT,
            await audit_actor(nurse),
            dossier_id=camille,
            target_type="care_circle",
            target_id=str(nurse),
            purpose=Purpose.TREAT,
        )
