"""The audit trail: one append-only table of events, in hash chains, and signed checkpoints.

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


class AuditCheckpoint(Table, tablename="audit_checkpoint"):
    """A chain head signed with the audit key: rewriting the whole log cannot forge these."""

    chain = Varchar(length=64, index=True)
    seq = BigInt()
    hash = Varchar(length=64)
    signed_at = Timestamptz()
    key_id = Varchar(length=16)  # the first hex digits of the public key's SHA-256
    signature = Varchar(length=128)  # Ed25519, hex


class AuditPurge(Table, tablename="audit_purge"):
    """The one door through the append-only triggers: while a chain is listed here, its events
    and checkpoints may be deleted. `portal.dossiers.lifecycle.purge` lists a purged dossier's
    chain, deletes it and unlists it in one transaction, and leaves a tombstone event in the
    system chain."""

    chain = Varchar(length=64, unique=True)
