"""What lets a patient check their dossier's trail without trusting the portal: receipts, the
verifiable export, and the public key.

A receipt is the dossier chain's current head, signed (chain, seq, hash, signature): every
notification about the dossier and every page of its access history carry one. The export
gives every event of the chain with the fields its hash covers and its signature. With the
public key, published at `signing.PUBLIC_KEY_PATH`, ``docs/verify_audit.py`` checks offline
that an export is whole and signed, and that it contains each earlier receipt unchanged:
nothing removed, nothing changed, the chain only grew.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from litestar import Response, get

from portal.access import public
from portal.audit import signing
from portal.audit.tables import AuditEvent
from portal.audit.trail import HASHED_FIELDS, HASHED_WHEN_SET, canonical_value, chain_of
from portal.audit.witness import Head

#: What a receipt's JSON says it is, for the verifier and the person reading it.
RECEIPT_KIND = "carnet-audit-receipt"
EXPORT_KIND = "carnet-audit-export"


async def current(dossier_id: UUID) -> Head | None:
    """The signed head of the dossier's chain (None before its first signed event)."""
    row = (
        await AuditEvent.select(
            AuditEvent.chain, AuditEvent.seq, AuditEvent.hash, AuditEvent.signature
        )
        .where(AuditEvent.chain == chain_of(dossier_id))
        .order_by(AuditEvent.seq, ascending=False)
        .first()
    )
    if row is None or not row["signature"]:
        return None
    return Head(row["chain"], row["seq"], row["hash"], row["signature"])


def as_text(head: Head) -> str:
    """The receipt as one line of JSON: what a patient keeps, and gives the verifier."""
    return json.dumps(
        {"kind": RECEIPT_KIND, "chain": head.chain, "seq": head.seq, "hash": head.hash,
         "signature": head.signature},
        separators=(",", ":"),
    )  # fmt: skip


def export(dossier_id: UUID, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The chain's events, oldest first, each with the fields its hash covers as they were
    hashed, its hash and its signature."""
    key = signing.installed()
    return {
        "kind": EXPORT_KIND,
        "chain": chain_of(dossier_id),
        "key_id": key.key_id if key else "",
        "events": [_exported(event) for event in events],
    }


def _exported(event: dict[str, Any]) -> dict[str, Any]:
    hashed = HASHED_FIELDS + tuple(name for name in HASHED_WHEN_SET if event.get(name))
    return {
        **{name: canonical_value(event[name]) for name in hashed},
        "hash": event["hash"],
        "signature": event["signature"],
    }


@get(signing.PUBLIC_KEY_PATH, guards=[public])
async def public_key() -> Response:
    """The audit key's public half: what anyone checks the receipts and exports with."""
    key = signing.installed()
    if key is None:  # the app always installs one; a bare process has none to publish
        return Response({"detail": "no audit key"}, status_code=404)
    return Response({"algorithm": "Ed25519", "key_id": key.key_id, "public_key": key.public_hex})


ROUTES = [public_key]
