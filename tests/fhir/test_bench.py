"""The FHIR benchmark (bench/fhir.py) measures what it says: its prepared deposits are real
ITI-65 deposits, each a new document, and its searches page through the 1 000 documents."""

from __future__ import annotations

from bench import fhir as bench
from portal.dossiers.tables import Document
from tests.fhir.test_fhir_client import served  # noqa: F401


async def test_the_benchmark_deposits_documents_and_searches_them(portal, served):  # noqa: F811
    base = served.removesuffix("/fhir")
    token, dossiers, searched = await bench.prepare(2)

    rate = await bench.deposits(base, token, dossiers, 0.5)

    made = await Document.select(Document.master_identifier).where(Document.dossier.is_in(dossiers))
    assert rate > 0
    assert len(made) >= 2  # at least one each, all kept
    assert len({row["master_identifier"] for row in made}) == len(made)  # each one new
    latencies = await bench.searches(base, token, searched, 2, 2)
    assert len(latencies) == 4  # each answer checked: 1 000 found, a page of 20
