"""The facts `policy.decide` reads, loaded from the database for every request: nothing about
rights is cached, so a change applies on the very next request."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from portal import crypto
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

# The statements behind every decision on a dossier, written out once: Piccolo would build
# their SQL anew at each request, which costs more than running them.

#: The dossier, with its patient's account, name and date of birth, and everyone named on it:
#: one row per person (kind, account, detail), the dossier's columns on each (one row, with
#: no person, when nobody is named). One statement is one snapshot: what a decision reads is
#: consistent without a transaction around it.
_FACTS = """
SELECT dossier.id, dossier.status, patient.account AS patient_account, dossier.medecin_traitant,
    dossier.refuses_emergency_access, dossier.refuses_samu_access, patient.first_name,
    patient.last_name, patient.birth_date, people.kind, people.account, people.detail,
    dossier.data_key, dossier.data_key_id
FROM dossier JOIN patient ON patient.id = dossier.patient
LEFT JOIN (
    SELECT 'representative' AS kind, account, '' AS detail FROM representative WHERE dossier = {}
    UNION ALL SELECT 'circle', professional, joined FROM care_circle WHERE dossier = {}
    UNION ALL SELECT 'blocked', professional, '' FROM access_block WHERE dossier = {}
    UNION ALL SELECT 'scoped', professional, category FROM section_consent WHERE dossier = {}
    UNION ALL SELECT 'unannounced', professional, '' FROM care_circle
        WHERE dossier = {} AND joined = {} AND first_access_at IS NULL
) AS people ON TRUE
WHERE dossier.id = {}
"""

#: The emergency and SAMU accesses of a session (`active_grants`), read at every request of
#: a professional.
_GRANTS = """
SELECT emergency_grant.dossier, emergency_grant.mode, emergency_grant.detail,
    emergency_grant.expires_at, patient.first_name, patient.last_name
FROM emergency_grant JOIN dossier ON dossier.id = emergency_grant.dossier
    JOIN patient ON patient.id = dossier.patient
WHERE emergency_grant.session_id = {} AND emergency_grant.expires_at > {}
"""


async def dossier_facts(
    dossier_id: UUID, grants: Iterable[dict] = ()
) -> tuple[DossierFacts, dict[str, Any]] | None:
    """The dossier's facts, and its patient's name and date of birth (to show only if the
    decision allows); None when the dossier does not exist. ``grants`` are the emergency and
    SAMU accesses the asking session holds (`active_grants`): the facts keep the one on this
    dossier. One statement, whatever the size of the circle."""
    rows = await Dossier.raw(_FACTS, *[dossier_id] * 5, Joined.CONSENT.value, dossier_id)
    if not rows:
        return None
    row = rows[0]
    crypto.remember(row["id"], row["data_key_id"], row["data_key"])  # read with the dossier
    people: dict[str, list[tuple[UUID, str]]] = {
        kind: [] for kind in ("representative", "circle", "blocked", "scoped", "unannounced")
    }
    for person in rows:
        account = person["account"]  # SQLite gives a union's values as text
        if account is not None:
            people[person["kind"]].append(
                (account if isinstance(account, UUID) else UUID(account), person["detail"])
            )
    scoped: dict[UUID, set[str]] = {}
    for account, category in people["scoped"]:
        scoped.setdefault(account, set()).add(category)
    grant = max(
        (grant for grant in grants if grant["dossier"] == dossier_id),
        key=lambda grant: grant["expires_at"],
        default=None,
    )
    facts = DossierFacts(
        id=row["id"],
        status=row["status"],
        patient_account=row["patient_account"],
        representatives=frozenset(account for account, _ in people["representative"]),
        medecin_traitant=row["medecin_traitant"],
        circle={account: Joined(joined) for account, joined in people["circle"]},
        blocked=frozenset(account for account, _ in people["blocked"]),
        scoped={account: frozenset(categories) for account, categories in scoped.items()},
        refuses_emergency_access=row["refuses_emergency_access"],
        refuses_samu_access=row["refuses_samu_access"],
        unannounced=frozenset(account for account, _ in people["unannounced"]),
        birth_date=row["birth_date"],
        first_name=row["first_name"],
        grant=Grant(GrantMode(grant["mode"]), grant["detail"], grant["expires_at"])
        if grant
        else None,
    )
    patient = {key: row[key] for key in ("first_name", "last_name", "birth_date")}
    return facts, patient


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


async def patients_of(
    account_id: UUID,
    limit: int,
    offset: int = 0,
    wanted: Callable[[dict[str, Any]], bool] | None = None,
) -> list[dict]:
    """The open dossiers a professional may open without an emergency access: as médecin
    traitant, in the care circle or by a consent scoped to a section, unless blocked. The most
    recently entrusted to them first (by when they joined the circle, were designated or were
    given a consent), ``limit`` of them from ``offset``; each row says ``since`` when.
    ``wanted``: keep only the patients it accepts (their first and last names, birth date)."""
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
    ordered = sorted(
        (dossier for dossier in since if dossier not in blocked),
        key=lambda dossier: (since[dossier], dossier),
        reverse=True,
    )
    if wanted is None:
        ordered = ordered[offset : offset + limit]
    if not ordered:
        return []
    identities = {
        row["id"]: row
        for row in await Dossier.select(
            Dossier.id,
            Dossier.patient.first_name.as_alias("first_name"),
            Dossier.patient.last_name.as_alias("last_name"),
            Dossier.patient.birth_date.as_alias("birth_date"),
        ).where(Dossier.id.is_in(ordered))
    }
    if wanted is not None:
        ordered = [dossier for dossier in ordered if wanted(identities[dossier])]
        ordered = ordered[offset : offset + limit]
    return [identities[dossier] | {"since": since[dossier]} for dossier in ordered]


async def active_grants(session_id: UUID, now: datetime) -> list[dict]:
    """The emergency and SAMU accesses a login session holds, with whose dossier they open."""
    return await EmergencyGrant.raw(_GRANTS, session_id, now)
