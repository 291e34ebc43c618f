"""Dossiers with documents, care circles and blocks, for the access tests; and the identity
tests' portal, browsers and people."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import portal.clock
from portal.access.tables import Block, CircleMember, Joined
from portal.dossiers.tables import Document, Dossier, Representative
from portal.identity.tables import Patient
from tests.identity.conftest import (  # noqa: F401
    Person,
    clock,
    database_url,
    migrated_template,
    new_browser,
    outbox,
    portal,
    quick_hashing,
    start_portal,
)


async def dossier_of(person: Person, **facts) -> UUID:
    """A new dossier for a patient (``facts``: the dossier's columns to set)."""
    patient = await Patient.select(Patient.id).where(Patient.account == person.id).first()
    now = portal.clock.now()
    dossier = Dossier(
        patient=patient["id"], created_at=now, created_through="online", consent_at=now, **facts
    )
    await dossier.save()
    return dossier.id


async def add_document(
    dossier: UUID, category: str = "compte_rendu", *, author: Person | None = None, **columns
) -> UUID:
    document = Document(
        dossier=dossier,
        category=category,
        title=columns.pop("title", f"Document {category}"),
        care_date=columns.pop("care_date", date(2026, 10, 1)),
        created_at=portal.clock.now(),
        author=author.id if author else None,
        author_name=f"{author.first_name} {author.last_name}" if author else "",
        body=columns.pop("body", f"Texte du document {category}"),
        **columns,
    )
    await document.save()
    return document.id


async def join(dossier: UUID, professional: Person, joined: Joined = Joined.BY_PATIENT) -> None:
    await CircleMember.insert(
        CircleMember(
            dossier=dossier, professional=professional.id, joined=joined, since=portal.clock.now()
        )
    )


async def block(dossier: UUID, professional: Person) -> None:
    await Block.insert(
        Block(dossier=dossier, professional=professional.id, since=portal.clock.now())
    )


async def represent(dossier: UUID, person: Person) -> None:
    await Representative.insert(
        Representative(dossier=dossier, account=person.id, since=portal.clock.now())
    )
