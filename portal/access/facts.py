"""The facts `policy.decide` reads, loaded from the database for every request: nothing about
rights is cached, so a change applies on the very next request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from portal.access.policy import DossierFacts, Grant, Item
from portal.access.tables import (
    Block,
    CircleMember,
    EmergencyGrant,
    GrantMode,
    Joined,
    SectionConsent,
)
from portal.dossiers.tables import Document, Dossier, DossierStatus, Representative


async def dossier_facts(
    dossier_id: UUID, session_id: UUID | None = None, now: datetime | None = None
) -> DossierFacts | None:
    """The dossier's facts, with the emergency or SAMU access that ``session_id`` holds on it
    at ``now`` (None when the dossier does not exist)."""
    row = (
        await Dossier.select(
            Dossier.id,
            Dossier.status,
            Dossier.patient.account,
            Dossier.medecin_traitant,
            Dossier.refuses_emergency_access,
            Dossier.refuses_samu_access,
        )
        .where(Dossier.id == dossier_id)
        .first()
    )
    if row is None:
        return None
    representatives = await Representative.select(Representative.account).where(
        Representative.dossier == dossier_id
    )
    circle = await CircleMember.select(CircleMember.professional, CircleMember.joined).where(
        CircleMember.dossier == dossier_id
    )
    blocked = await Block.select(Block.professional).where(Block.dossier == dossier_id)
    scoped: dict[UUID, set[str]] = {}
    for consent in await SectionConsent.select(
        SectionConsent.professional, SectionConsent.category
    ).where(SectionConsent.dossier == dossier_id):
        scoped.setdefault(consent["professional"], set()).add(consent["category"])
    grant = None
    if session_id is not None and now is not None:
        grant_row = (
            await EmergencyGrant.select()
            .where(
                EmergencyGrant.dossier == dossier_id,
                EmergencyGrant.session_id == session_id,
                EmergencyGrant.expires_at > now,
            )
            .order_by(EmergencyGrant.expires_at, ascending=False)
            .first()
        )
        if grant_row:
            grant = Grant(
                GrantMode(grant_row["mode"]), grant_row["detail"], grant_row["expires_at"]
            )
    return DossierFacts(
        id=row["id"],
        status=row["status"],
        patient_account=row["patient.account"],
        representatives=frozenset(item["account"] for item in representatives),
        medecin_traitant=row["medecin_traitant"],
        circle={item["professional"]: Joined(item["joined"]) for item in circle},
        blocked=frozenset(item["professional"] for item in blocked),
        scoped={account: frozenset(categories) for account, categories in scoped.items()},
        refuses_emergency_access=row["refuses_emergency_access"],
        refuses_samu_access=row["refuses_samu_access"],
        grant=grant,
    )


def item_of(document: dict) -> Item:
    """The policy's view of a `Document` row."""
    return Item(
        category=document["category"],
        type=document["type"],
        author=document["author"],
        masked=document["masked"],
        hidden_until=document["hidden_until"],
        hidden_from_representatives=document["hidden_from_representatives"],
    )


#: The columns of a document that lists show (its body is read on its own page).
LISTED = (
    Document.id,
    Document.category,
    Document.type,
    Document.title,
    Document.care_date,
    Document.created_at,
    Document.author,
    Document.author_name,
    Document.author_profession,
    Document.masked,
    Document.hidden_until,
    Document.hidden_from_representatives,
    Document.lineage,
    Document.file_name,
    Document.file_type,
    Document.file_size,
)


@dataclass(frozen=True)
class PatientSide:
    """Who a reminder about a dossier goes to, and how to name them in it: what a section's
    ``send_reminders`` needs, outside any request and any person's view."""

    dossier_id: UUID
    first_name: str
    last_name: str
    birth_date: date
    #: Open: the dossier is neither closed nor archived (reminders are for open ones).
    open: bool
    #: The patient (when they have an account) and their legal representatives.
    accounts: frozenset[UUID]

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


async def patient_side(dossier_id: UUID) -> PatientSide | None:
    """The patient of ``dossier_id`` and the accounts that act for them (None: no dossier)."""
    row = (
        await Dossier.select(
            Dossier.status,
            Dossier.patient.account.as_alias("account"),
            Dossier.patient.first_name.as_alias("first_name"),
            Dossier.patient.last_name.as_alias("last_name"),
            Dossier.patient.birth_date.as_alias("birth_date"),
        )
        .where(Dossier.id == dossier_id)
        .first()
    )
    if row is None:
        return None
    representatives = await Representative.select(Representative.account).where(
        Representative.dossier == dossier_id
    )
    accounts = {row["account"], *(link["account"] for link in representatives)} - {None}
    return PatientSide(
        dossier_id=dossier_id,
        first_name=row["first_name"],
        last_name=row["last_name"],
        birth_date=row["birth_date"],
        open=row["status"] == DossierStatus.OPEN,
        accounts=frozenset(accounts),
    )


async def dossiers_of(account_id: UUID) -> list[dict]:
    """The dossiers a person acts on: their own, then those of the people they represent."""
    columns = (Dossier.id, Dossier.patient.first_name, Dossier.patient.last_name)
    own = await Dossier.select(*columns).where(Dossier.patient.account == account_id)
    links = await Representative.select(Representative.dossier).where(
        Representative.account == account_id
    )
    represented = (
        await Dossier.select(*columns).where(Dossier.id.is_in([link["dossier"] for link in links]))
        if links
        else []
    )
    return [{**row, "own": True} for row in own] + [{**row, "own": False} for row in represented]


async def patients_of(account_id: UUID, limit: int, offset: int = 0) -> list[dict]:
    """The open dossiers a professional may open without an emergency access: as médecin
    traitant, in the care circle or by a consent scoped to a section, unless blocked. The most
    recently entrusted to them first (by when they joined the circle, were designated or were
    given a consent), ``limit`` of them from ``offset``; each row says ``since`` when."""
    blocked = {
        row["dossier"]
        for row in await Block.select(Block.dossier).where(Block.professional == account_id)
    }
    since: dict[UUID, datetime] = {}
    for row in await CircleMember.select(CircleMember.dossier, CircleMember.since).where(
        CircleMember.professional == account_id, CircleMember.dossier.status == DossierStatus.OPEN
    ):
        since[row["dossier"]] = row["since"]
    for row in await SectionConsent.select(SectionConsent.dossier, SectionConsent.since).where(
        SectionConsent.professional == account_id,
        SectionConsent.dossier.status == DossierStatus.OPEN,
    ):
        since[row["dossier"]] = max(row["since"], since.get(row["dossier"], row["since"]))
    for row in await Dossier.select(
        Dossier.id, Dossier.medecin_traitant_since, Dossier.created_at
    ).where(Dossier.medecin_traitant == account_id, Dossier.status == DossierStatus.OPEN):
        designated = row["medecin_traitant_since"] or row["created_at"]
        since[row["id"]] = max(designated, since.get(row["id"], designated))
    page = sorted(
        (dossier for dossier in since if dossier not in blocked),
        key=lambda dossier: (since[dossier], dossier),
        reverse=True,
    )[offset : offset + limit]
    if not page:
        return []
    names = {
        row["id"]: row
        for row in await Dossier.select(
            Dossier.id,
            Dossier.patient.first_name.as_alias("first_name"),
            Dossier.patient.last_name.as_alias("last_name"),
            Dossier.patient.birth_date.as_alias("birth_date"),
        ).where(Dossier.id.is_in(page))
    }
    return [names[dossier] | {"since": since[dossier]} for dossier in page]


async def active_grants(session_id: UUID, now: datetime) -> list[dict]:
    """The emergency and SAMU accesses a login session holds, with whose dossier they open."""
    return await EmergencyGrant.select(
        EmergencyGrant.dossier,
        EmergencyGrant.mode,
        EmergencyGrant.expires_at,
        EmergencyGrant.dossier.patient.first_name.as_alias("first_name"),
        EmergencyGrant.dossier.patient.last_name.as_alias("last_name"),
    ).where(EmergencyGrant.session_id == session_id, EmergencyGrant.expires_at > now)
