#!/usr/bin/env python3
"""Check a Carnet access history offline, without trusting Carnet.

    python verify_audit.py HISTORY.json --key KEY [--receipt RECEIPT ...]

HISTORY.json is the signed history downloaded from the access history page
("Download the signed history"). KEY is Carnet's public key: the file saved from
https://<your Carnet>/.well-known/carnet-audit-key, or the hex string it holds. Each RECEIPT
is a receipt kept earlier (from the history page, a notification or its e-mail): a file
holding it, or the receipt itself.

It checks that every event follows the one before it, that its hash is the hash of what it
says, and that Carnet's key signed it; then that each receipt was signed by that key, is of
this record, and is in the history unchanged: nothing removed, nothing changed, the history
only grew. It exits 0 when all holds, 1 with one line saying what does not.

Needs Python 3.9+ and the ``cryptography`` package (pip install cryptography). See
docs/verify-audit.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS = "0" * 64
#: The fields each event's hash covers ("via" only when not empty), as Carnet hashes them.
HASHED = (
    "chain", "seq", "occurred_at", "dossier_id", "actor_account", "actor_role",
    "actor_profession", "actor_name", "action", "target_type", "target_id", "outcome",
    "reason", "mode", "mode_detail", "purpose", "client_address", "previous_hash",
)  # fmt: skip
HASHED_WHEN_SET = ("via",)


class Failed(Exception):
    """What does not hold, in one line."""


def event_hash(event: dict) -> str:
    names = HASHED + tuple(name for name in HASHED_WHEN_SET if event.get(name))
    canonical = json.dumps(
        {name: event[name] for name in names},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def signed(key: Ed25519PublicKey, chain: str, seq: int, head_hash: str, signature: str) -> bool:
    message = f"carnet-audit-checkpoint\n{chain}\n{seq}\n{head_hash}".encode()
    try:
        key.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def contents(argument: str) -> str:
    """The file the argument names, or the argument itself."""
    try:
        return Path(argument).read_text(encoding="utf-8")
    except (OSError, ValueError):  # not a file's name (too long, or with a NUL byte)
        return argument


def read_key(text: str) -> Ed25519PublicKey:
    """The key from the published JSON, or its 64 hex digits."""
    text = contents(text)
    found = re.search(r"\b[0-9a-fA-F]{64}\b", text)
    if not found:
        raise Failed("the key is not Carnet's public key (64 hexadecimal digits)")
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(found.group()))


def read_receipt(text: str) -> dict:
    """A receipt from a file, or as given; it may be within other text (an e-mail)."""
    text = contents(text)
    found = re.search(r"\{[^{}]*\"carnet-audit-receipt\"[^{}]*\}", text)
    try:
        receipt = json.loads(found.group()) if found else None
        fields = (str(receipt["chain"]), int(receipt["seq"]), str(receipt["hash"]),
                  str(receipt["signature"]))  # fmt: skip
    except (ValueError, KeyError, TypeError):
        raise Failed("a receipt is not a Carnet receipt") from None
    return dict(zip(("chain", "seq", "hash", "signature"), fields, strict=True))


def check_history(history: dict, key: Ed25519PublicKey) -> list[dict]:
    """The history's events, once every one is checked."""
    if history.get("kind") != "carnet-audit-export" or not isinstance(history.get("events"), list):
        raise Failed("the history is not a signed Carnet history (JSON export)")
    chain, events = history["chain"], history["events"]
    if not events:
        raise Failed("the history holds no event")
    previous, first_signed = GENESIS, None
    for number, event in enumerate(events, start=1):
        where = f"event #{number}"
        if event.get("chain") != chain or event.get("seq") != number:
            raise Failed(f"{where} is missing or out of place (the history was cut or reordered)")
        if event["previous_hash"] != previous:
            raise Failed(f"{where} does not follow the event before it (one was removed)")
        if event_hash(event) != event["hash"]:
            raise Failed(f"{where} was changed after it was written")
        if event["signature"]:
            if not signed(key, chain, number, event["hash"], event["signature"]):
                raise Failed(f"{where} is not signed by this key")
            first_signed = first_signed or number
        elif first_signed:
            raise Failed(f"{where} is not signed, though events before it are")
        previous = event["hash"]
    if not events[-1]["signature"]:
        raise Failed("the last events are not signed: nothing vouches for them")
    return events


def check_receipt(receipt: dict, chain: str, events: list[dict], key) -> str:
    if receipt["chain"] != chain:
        raise Failed(
            f"the receipt is of another record ({receipt['chain']}), not of this history ({chain})"
        )
    seq = receipt["seq"]
    if not signed(key, chain, seq, receipt["hash"], receipt["signature"]):
        raise Failed(f"the receipt of event #{seq} is not signed by this key")
    if seq > len(events):
        first = len(events) + 1
        removed = f"event #{seq} was" if first == seq else f"events #{first} to #{seq} were"
        raise Failed(
            f"the history ends at event #{len(events)}, but the receipt shows event #{seq}: "
            f"{removed} removed"
        )
    if events[seq - 1]["hash"] != receipt["hash"]:
        raise Failed(f"event #{seq} is not the one the receipt shows: the history was rewritten")
    return f"receipt of event #{seq}: in the history, unchanged"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("history", help="the signed history (JSON) downloaded from Carnet")
    parser.add_argument("--key", required=True, help="Carnet's public key: its file, or hex")
    parser.add_argument("--receipt", action="append", default=[], help="a receipt kept earlier")
    arguments = parser.parse_args(argv)
    try:
        key = read_key(arguments.key)
        try:
            history = json.loads(Path(arguments.history).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise Failed(f"cannot read the history {arguments.history}: {error}") from None
        events = check_history(history, key)
        lines = [check_receipt(read_receipt(text), history["chain"], events, key)
                 for text in arguments.receipt]  # fmt: skip
    except Failed as failure:
        print(f"FAILED: {failure}.")
        return 1
    except (KeyError, TypeError, AttributeError):
        print("FAILED: the history is not a signed Carnet history (JSON export).")
        return 1
    print(f"OK: {len(events)} events of {history['chain']}, each following the one before it, "
          "unchanged and signed by this key.")  # fmt: skip
    for line in lines:
        print(f"OK: {line}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
