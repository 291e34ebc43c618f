"""`decide()`: the one function that says whether a person may do something on a dossier.

It is pure: it reads only the facts it is given, so every rule can be tested alone and a
reviewer reads the whole policy here. Deny by default: a case no rule allows is refused.

The rules in force today are the patient's side of ACCESS.md: the patient acts on their own
dossier, and a legal representative on the dossier of the person they represent. The rules
for professionals (the care circle and the matrix, blocks, masks, emergency and SAMU access)
join them with the access policy; until then, a professional is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from portal.audit import Purpose
from portal.dossiers.tables import Dossier, Representative


@dataclass(frozen=True)
class Asker:
    """The signed-in person asking."""

    account_id: UUID
    role: str


@dataclass(frozen=True)
class DossierFacts:
    """What the policy needs to know of a dossier, loaded fresh for every request (a change
    of rights applies on the very next one)."""

    id: UUID
    status: str
    patient_account: UUID | None
    representatives: frozenset[UUID]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: Why, as the audit trail keeps it ("patient", "representative", "not in the care circle").
    reason: str
    purpose: Purpose | str = ""


REFUSED_OUTSIDE_CIRCLE = Decision(False, "not in the care circle")


def decide(asker: Asker, dossier: DossierFacts, action: str) -> Decision:
    """May ``asker`` do ``action`` on ``dossier``? (Every action of the patient's side: their
    own record, its history, its integrity check, its export.)"""
    if dossier.patient_account is not None and asker.account_id == dossier.patient_account:
        return Decision(True, "patient", Purpose.PATRQT)
    if asker.account_id in dossier.representatives:
        return Decision(True, "representative", Purpose.PATRQT)
    return REFUSED_OUTSIDE_CIRCLE


async def dossier_facts(dossier_id: UUID) -> DossierFacts | None:
    row = (
        await Dossier.select(Dossier.id, Dossier.status, Dossier.patient.account)
        .where(Dossier.id == dossier_id)
        .first()
    )
    if row is None:
        return None
    representatives = await Representative.select(Representative.account).where(
        Representative.dossier == dossier_id
    )
    return DossierFacts(
        id=row["id"],
        status=row["status"],
        patient_account=row["patient.account"],
        representatives=frozenset(item["account"] for item in representatives),
    )


async def dossiers_of(account_id: UUID) -> list[dict]:
    """The dossiers a person acts on: their own, then those of the people they represent."""
    own = await Dossier.select(
        Dossier.id, Dossier.patient.first_name, Dossier.patient.last_name
    ).where(Dossier.patient.account == account_id)
    links = await Representative.select(Representative.dossier).where(
        Representative.account == account_id
    )
    represented = (
        await Dossier.select(
            Dossier.id, Dossier.patient.first_name, Dossier.patient.last_name
        ).where(Dossier.id.is_in([link["dossier"] for link in links]))
        if links
        else []
    )
    return [{**row, "own": True} for row in own] + [{**row, "own": False} for row in represented]
