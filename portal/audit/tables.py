"""The audit trail: one append-only table of events, in hash chains, each event signed.

Events name their actor and dossier by id without foreign keys: the trail outlives the
accounts and dossiers it speaks of. The database itself refuses UPDATE and DELETE on both
tables (triggers created by the migration), with one exception: a purged dossier's chain
(see `AuditPurge`).
"""

from piccolo.columns import BigInt, Text, Timestamptz, Varchar
from piccolo.columns.column_types import UUID
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_event"):
    chain = Varchar(length=64)  # "system", or "dossier:<uuid>"
    seq = BigInt()  # position in its chain, from 1; (chain, seq) is unique
    occurred_at = Timestamptz()
    dossier_id = UUID(null=True, default=None)
    actor_account = UUID(null=True, default=None)
    actor_role = Varchar(length=32, default="")
    actor_profession = Varchar(length=40, default="")
    actor_name = Varchar(length=201, default="")
    #: The client application the actor went through (`portal.oauth`), "" in a browser.
    via = Varchar(length=120, default="")
    action = Varchar(length=40)
    target_type = Varchar(length=40, default="")
    target_id = Varchar(length=64, default="")
    outcome = Varchar(length=16)
    reason = Varchar(length=200, default="")
    mode = Varchar(length=16, default="normal")
    mode_detail = Text(default="")  # the emergency reason, or the SAMU call reference
    purpose = Varchar(length=16, default="")  # FHIR PurposeOfUse code: TREAT, ETREAT, ...
    client_address = Varchar(length=64, default="")
    previous_hash = Varchar(length=64)
    hash = Varchar(length=64)
    #: Ed25519 over (chain, seq, hash), hex (`portal.audit.signing`); "" for the events
    #: written before every event was signed (vouched for by the first signature after them).
    signature = Varchar(length=128, default="")


class AuditCheckpoint(Table, tablename="audit_checkpoint"):
    """A chain head signed with the audit key, for chains whose head was written before every
    event was signed (``carnet audit sign``): rewriting the whole log cannot forge these."""

    chain = Varchar(length=64, index=True)
    seq = BigInt()
    hash = Varchar(length=64)
    signed_at = Timestamptz()
    key_id = Varchar(length=16)  # the first hex digits of the public key's SHA-256
    signature = Varchar(length=128)  # Ed25519, hex


class AuditPurge(Table, tablename="audit_purge"):
    """The one door through the append-only triggers: a dossier's chain may be deleted while
    it is listed here *and* its dossier no longer exists (the system chain, never).
    `portal.dossiers.lifecycle.purge` deletes the dossier, lists its chain, deletes the chain
    and unlists it in one transaction, and leaves a tombstone event in the system chain."""

    chain = Varchar(length=64, unique=True)


class AuditActor(Table, tablename="audit_actor"):
    """Who, other than the patient, appears in each dossier's chain: kept by the database
    itself as events are inserted (a trigger), so that the history's filter by person reads a
    handful of rows however long the chain. One row per chain and account, with the name of
    their first event; derived from the events, not signed, and deleted with its chain."""

    chain = Varchar(length=64)
    account = UUID()
    name = Varchar(length=201, default="")
