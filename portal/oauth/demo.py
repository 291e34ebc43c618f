"""The demo's software (`carnet demo`): Dr Bernard's practice software, an application that
acts for the GP once she consents, and the demo hospital's system, which deposits documents
for its two doctors with a signed assertion. The hospital's private key is written into the
data directory, for `scripts/smart-demo.py` to sign with."""

from __future__ import annotations

import json
import os
from pathlib import Path

from joserfc.jwk import RSAKey

from portal.demo import DEMO_PEOPLE
from portal.oauth import clients
from portal.oauth.tables import ClientKind

PRACTICE_CLIENT_ID = "logiciel-medical-demo"
#: The practice software adds documents, and reads what the GP may read (the patient summary
#: gathers many resource types).
PRACTICE_SCOPES = (
    "openid fhirUser offline_access online_access user/DocumentReference.crs user/*.rs"
)
#: Where `scripts/smart-demo.py` listens for the consent's answer (or where a browser lands).
PRACTICE_REDIRECT_URI = "http://127.0.0.1:8765/callback"
HOSPITAL_CLIENT_ID = "ch-demo-dpi"
HOSPITAL_SCOPES = "system/DocumentReference.c"
HOSPITAL_KEY_FILE = "demo-hospital-key.json"
#: The hospital's doctors: the cardiologist of Camille's care circle, and the emergency doctor.
HOSPITAL_DOCTORS = ("dr.garcia@demo.carnet.fr", "dr.urgence@demo.carnet.fr")


async def register_demo_software(data_dir: Path) -> None:
    """Register the two demo clients; the hospital's private key goes to the data directory."""
    await clients.register(
        clients.NewClient(
            name="Logiciel Médical Démo",
            kind=ClientKind.APP,
            client_id=PRACTICE_CLIENT_ID,
            redirect_uris=PRACTICE_REDIRECT_URI,
            scope=PRACTICE_SCOPES,
        ),
        production=False,
    )
    key = RSAKey.generate_key(2048, {"use": "sig", "alg": "RS384"})
    key.ensure_kid()
    key_file = data_dir / HOSPITAL_KEY_FILE
    key_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as output:
        json.dump(key.as_dict(private=True), output)
    await clients.register(
        clients.NewClient(
            name="Centre Hospitalier Démo",
            kind=ClientKind.SYSTEM,
            client_id=HOSPITAL_CLIENT_ID,
            jwks=json.dumps({"keys": [key.as_dict(private=False)]}),
            scope=HOSPITAL_SCOPES,
            professionals="\n".join(
                person.rpps for person in DEMO_PEOPLE if person.login in HOSPITAL_DOCTORS
            ),
        ),
        production=False,
    )


def software_text(data_dir: Path) -> str:
    """How to get a token as each demo client, for `carnet demo` to print."""
    return "\n".join(
        [
            "Demo software (OAuth 2.0 / SMART, see docs/software-access.md):",
            f"  {PRACTICE_CLIENT_ID}  Logiciel Médical Démo, acts for Dr Bernard once she "
            "consents:",
            "      .venv/bin/python scripts/smart-demo.py practice",
            f"  {HOSPITAL_CLIENT_ID}  Centre Hospitalier Démo, deposits for Dr Garcia and "
            f"Dr Faure (key in {data_dir / HOSPITAL_KEY_FILE}):",
            "      .venv/bin/python scripts/smart-demo.py hospital",
        ]
    )
