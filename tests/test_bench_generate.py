"""The benchmarks' database generator (bench/generate.py) keeps up with the portal: a small
database it makes holds the demo and the dossiers asked for, its general practitioners log in
through the real login and open their patients' dossiers, and its audit trail verifies."""

from __future__ import annotations

from markupsafe import escape

from bench.generate import generate
from portal.app import create_app
from portal.audit import signing
from portal.audit.verification import verify
from portal.demo import DEMO_PEOPLE
from portal.dossiers.tables import Document, Dossier
from portal.identity.tables import Account
from tests.conftest import http_client, running, sign_in


async def test_a_generated_database_is_one_the_portal_serves(settings):
    generated = await generate(settings.database_url, 50, data_dir=settings.data_dir)

    app = create_app(settings)
    async with running(app), http_client(app) as client:
        assert await Dossier.count() == 3 + 50  # Camille's, Jules's and Léo's, then the 50
        assert await Account.exists().where(Account.login == DEMO_PEOPLE[0].login)
        assert await Document.count() > 50
        gps = await Account.select(Account.id).where(Account.login.is_in(generated.gp_logins()))
        dossier = (
            await Dossier.select(
                Dossier.id,
                Dossier.medecin_traitant.login.as_alias("gp"),
                Dossier.patient.first_name.as_alias("first_name"),
                Dossier.patient.last_name.as_alias("last_name"),
            )
            .where(
                Dossier.medecin_traitant.is_in([row["id"] for row in gps]),
                Dossier.status == "open",
            )
            .first()
        )
        await sign_in(client, dossier["gp"], generated.password, generated.totp_secret)

        page = await client.get(f"/dossiers/{dossier['id']}")

        assert page.status_code == 200
        assert str(escape(f"{dossier['first_name']} {dossier['last_name']}")) in page.text
        report = await verify(signing.installed())
        assert report.intact, report.problems
