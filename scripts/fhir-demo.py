#!/usr/bin/env python3
"""Dr Bernard's practice software on Carnet's FHIR API, against a running demo (`make run`):

    .venv/bin/python scripts/fhir-demo.py [--base-url http://127.0.0.1:8000] [--browser]
                                          [--code <dr.bernard's authenticator code>]

1. gets a token as the practice software (`scripts/smart-demo.py practice`: the script logs in
   as dr.bernard and consents; ``--browser``: you do, in your own browser);
2. finds Camille Martin by her INS-NIR (``GET /fhir/Patient?identifier=…``);
3. deposits a consultation report, a PDF, into her dossier (ITI-65: ``POST /fhir``), then
   sends the same bundle again, as software retrying after a timeout does: nothing new;
4. finds the report again (ITI-67: ``GET /fhir/DocumentReference?patient=…``) and downloads
   its file (ITI-68) into ``compte-rendu.pdf``;
5. downloads Camille's patient summary (``GET /fhir/Patient/{id}/$summary``, an IPS document)
   into ``synthese-ips.json``, and lists its sections.

Camille then sees the report in her dossier and, in her access history, "via Logiciel
Médical Démo".
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import uuid
from datetime import date
from pathlib import Path

from authlib.integrations.httpx_client import OAuth2Client

HERE = Path(__file__).resolve().parent
INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
CAMILLE_NIR = "286047505612370"
CLASS_CODES = "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument"
LOINC_CONSULTATION = "11488-4"


def smart_demo():
    """`scripts/smart-demo.py`, which gets the demo's tokens."""
    spec = importlib.util.spec_from_file_location("smart_demo", HERE / "smart-demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def report_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` (plain ASCII), with its cross-reference table."""
    stream = f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return pdf


def find_patient(client: OAuth2Client, fhir: str) -> str:
    answer = client.get(f"{fhir}/Patient", params={"identifier": f"{INS_NIR}|{CAMILLE_NIR}"})
    answer.raise_for_status()
    [entry] = answer.json()["entry"]
    name = entry["resource"]["name"][0]
    print(f"Patient/{entry['resource']['id']}: {name['given'][0]} {name['family']}")
    return entry["resource"]["id"]


def consultation_bundle(patient: str) -> dict:
    """An ITI-65 transaction: the submission set, the report's DocumentReference, its PDF."""
    pdf = report_pdf("Compte rendu de consultation - examen clinique normal.")
    binary = f"urn:uuid:{uuid.uuid4()}"
    subject = {"reference": f"Patient/{patient}"}
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {"resourceType": "List", "status": "current", "mode": "working",
                             "subject": subject},
                "request": {"method": "POST", "url": "List"},
            },
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "DocumentReference",
                    "masterIdentifier": {"system": "urn:ietf:rfc:3986",
                                         "value": f"urn:uuid:{uuid.uuid4()}"},
                    "status": "current",
                    "category": [{"coding": [{"system": CLASS_CODES, "code": "10"}]}],
                    "type": {"coding": [{"system": "http://loinc.org",
                                         "code": LOINC_CONSULTATION}]},
                    "subject": subject,
                    "description": "Compte rendu de consultation",
                    "content": [{"attachment": {"contentType": "application/pdf", "url": binary,
                                                "size": len(pdf)}}],
                    "context": {"period": {"start": date.today().isoformat()}},
                },
                "request": {"method": "POST", "url": "DocumentReference"},
            },
            {
                "fullUrl": binary,
                "resource": {"resourceType": "Binary", "contentType": "application/pdf",
                             "data": base64.b64encode(pdf).decode()},
                "request": {"method": "POST", "url": "Binary"},
            },
        ],
    }  # fmt: skip


def deposit(client: OAuth2Client, fhir: str, patient: str) -> None:
    bundle = consultation_bundle(patient)
    first = client.post(fhir, json=bundle)
    if first.status_code != 200:
        raise SystemExit(f"POST /fhir answered {first.status_code}: {first.text}")
    print("POST /fhir:", [entry["response"] for entry in first.json()["entry"]])
    again = client.post(fhir, json=bundle)
    same = "the same answer, nothing new" if again.json() == first.json() else again.text
    print("The same bundle again:", same)


def find_and_download(client: OAuth2Client, fhir: str, patient: str) -> None:
    answer = client.get(
        f"{fhir}/DocumentReference",
        params={"patient": f"Patient/{patient}", "type": f"http://loinc.org|{LOINC_CONSULTATION}"},
    )
    answer.raise_for_status()
    found = answer.json()
    print(f"{found['total']} consultation report(s) in the dossier:")
    for entry in found["entry"]:
        resource = entry["resource"]
        print(f"  {resource['context']['period']['start']}  {resource['description']}")
    url = found["entry"][0]["resource"]["content"][0]["attachment"]["url"]
    Path("compte-rendu.pdf").write_bytes(client.get(url).content)
    print(f"Downloaded {url} into compte-rendu.pdf")


def download_summary(client: OAuth2Client, fhir: str, patient: str) -> None:
    answer = client.get(f"{fhir}/Patient/{patient}/$summary")
    answer.raise_for_status()
    Path("synthese-ips.json").write_bytes(answer.content)
    composition = answer.json()["entry"][0]["resource"]
    print(f"Downloaded the patient summary (IPS) into synthese-ips.json: {composition['title']}")
    for section in composition["section"]:
        print(f"  {section['title']}: {len(section.get('entry', []))} entries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--browser", action="store_true", help="consent in your own browser")
    parser.add_argument("--code", help="the GP's authenticator code (default: the demo's)")
    arguments = parser.parse_args()
    base_url = arguments.base_url.rstrip("/")
    fhir = f"{base_url}/fhir"
    client = smart_demo().practice_token(base_url, arguments.browser, arguments.code)
    patient = find_patient(client, fhir)
    deposit(client, fhir, patient)
    find_and_download(client, fhir, patient)
    download_summary(client, fhir, patient)


if __name__ == "__main__":
    main()
