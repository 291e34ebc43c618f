"""`carnet keys rotate`: re-wrap every dossier's data key under the current key-encryption
key, without touching the data the data keys seal.

The portal keeps serving meanwhile: it runs with the new key as CARNET_MASTER_KEY and the
old one in CARNET_PREVIOUS_MASTER_KEYS, so it opens data keys under either. Each batch is one
transaction that changes a data key only if it is still the one read (another process may
have made it meanwhile); an interrupted rotation resumes where it stopped, since only the
keys still under another key are left to do. Once none is, the old key is no longer needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portal import crypto, db
from portal.crypto.keys import KeyUnavailable

#: Data keys re-wrapped per transaction.
BATCH_SIZE = 500


@dataclass
class Rotation:
    """What a rotation did, and what it could not."""

    key_id: str
    rewrapped: int = 0
    #: Dossiers purged since this copy of the database was taken: their keys stay refused.
    shredded: int = 0
    #: Key-encryption keys not configured, with how many data keys each wraps.
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing


async def rotate(batch_size: int = BATCH_SIZE, *, batches: int | None = None) -> Rotation:
    """Re-wrap, batch after batch, the data keys not under the current key (``batches``: stop
    after that many, as an interruption would)."""
    from portal.dossiers.tables import Dossier

    ring = crypto.keyring()
    rotation = Rotation(ring.current.key_id)
    done = 0
    after = None  # the dossiers in the order of their ids, from the last one seen
    while batches is None or done < batches:
        query = Dossier.select(Dossier.id, Dossier.data_key_id, Dossier.data_key).where(
            Dossier.data_key.is_not_null(), Dossier.data_key_id != ring.current.key_id
        )
        if after is not None:
            query = query.where(Dossier.id > after)
        rows = await query.order_by(Dossier.id).limit(batch_size)
        if not rows:
            break
        after = rows[-1]["id"]
        async with db.current().write_transaction():
            for row in rows:
                try:
                    data_key = ring.unwrap(row["data_key_id"], row["data_key"], row["id"])
                except KeyUnavailable:
                    if row["id"] in ring.shredded:
                        rotation.shredded += 1
                    else:
                        key_id = row["data_key_id"]
                        rotation.missing[key_id] = rotation.missing.get(key_id, 0) + 1
                    continue
                key_id, wrapped = ring.wrap(data_key, row["id"])
                changed = (
                    await Dossier.update({Dossier.data_key: wrapped, Dossier.data_key_id: key_id})
                    .where(Dossier.id == row["id"], Dossier.data_key_id == row["data_key_id"])
                    .returning(Dossier.id)
                )
                rotation.rewrapped += len(changed)
        done += 1
    return rotation
