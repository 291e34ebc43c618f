"""The occupational health record: the worker consents for their occupational physician, who
records visits and exposures; the worker and their médecin traitant read them; the other
professionals of the care circle see nothing of the section, not even that it exists; a
revoked consent is refused from the next request, and every refusal is traced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

import pytest

from plugins.occupational_health.tables import Exposure, Job, Visit
from portal.access.tables import SectionConsent
from portal.audit import Action
from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from portal.identity.tables import Account, Role
from tests.access.conftest import (
    Person,
    dossier_of,
    join,
    log_in,
    post_form,
    refusals,
    signed_in_browser,
    trail,
)
from tests.identity.conftest import new_patient, new_professional
from tests.pdf.test_render_pdf import text_of

SECTION = "/occupational_health"


@dataclass
class Setting:
    patient: Person
    dossier: UUID
    traitant: Person
    occupational: Person
    others: dict[str, Person]  # the circle's cardiologist, pharmacist and dentist


@pytest.fixture
async def setting(portal) -> Setting:
    patient = await new_patient(first_name="Camille", last_name="Martin")
    traitant = await new_professional(first_name="Sophie", last_name="Bernard")
    occupational = await new_professional(
        first_name="Anne", last_name="Simon", profession="medecin_du_travail"
    )
    dossier = await dossier_of(patient, medecin_traitant=traitant.id)
    others = {
        "medecin": await new_professional(first_name="Paul", last_name="Garcia"),
        "pharmacien": await new_professional(
            first_name="Luc", last_name="Petit", profession="pharmacien"
        ),
        "chirurgien_dentiste": await new_professional(
            first_name="Nina", last_name="Moreau", profession="chirurgien_dentiste"
        ),
    }
    for person in others.values():
        await join(dossier, person)
    return Setting(patient, dossier, traitant, occupational, others)


async def consent(patient_browser, setting: Setting) -> None:
    """The patient finds the occupational physician in the directory and consents for the
    occupational health section only."""
    base = f"/dossiers/{setting.dossier}/access"
    found = await patient_browser.get(f"{base}/directory?q=Simon")
    assert found.status_code == 200
    assert "Anne Simon" in found.text
    answer = await patient_browser.submit(
        f"{base}/sections", {"professional": str(setting.occupational.id)}
    )
    assert answer.status_code == 303, answer.text
    page = await patient_browser.get(base)
    assert "Anne Simon" in page.text
    assert "Withdraw my consent" in page.text or "Retirer mon consentement" in page.text


VISIT = {
    "visit_kind": "periodique",
    "visit_visited_on": "2025-06-03",
    "visit_notice": "aptitude",
    "visit_adjustments": "",
    "visit_note": "Audiogramme stable <script>alert(1)</script>",
}
EXPOSURE = {
    "exposure_agent": "amiante",
    "exposure_started": "2001-02-01",
    "exposure_ended": "2004-12-31",
    "exposure_intensity": "moyenne",
    "exposure_assessment": "etude_de_poste",
    "exposure_note": "Désamiantage de faux plafonds",
}


async def test_the_worker_consents_the_physician_records_and_only_the_allowed_see_it(
    setting, new_browser
):
    patient = await signed_in_browser(new_browser, setting.patient)
    await consent(patient, setting)

    simon = await signed_in_browser(new_browser, setting.occupational)
    patients = await simon.get("/patients")  # "My patients" lists the worker
    assert f"/dossiers/{setting.dossier}" in patients.text
    overview = await simon.get(f"/dossiers/{setting.dossier}")
    assert overview.status_code == 200
    assert "Camille Martin" in overview.text
    assert "/cards/occupational_health" in overview.text
    # Nothing else of the dossier: no documents, no summary, no profile, no other section.
    assert "/documents" not in overview.text
    assert "/profile" not in overview.text
    assert overview.text.count('class="card"') == 1
    record = f"/dossiers/{setting.dossier}{SECTION}"
    answer = await simon.open_and_submit(record, f"{record}/visits", VISIT)
    assert answer.status_code == 303, answer.text
    answer = await simon.open_and_submit(record, f"{record}/exposures", EXPOSURE)
    assert answer.status_code == 303, answer.text
    page = await simon.get(record)
    assert "03/06/2025" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text
    assert (await simon.get(f"/dossiers/{setting.dossier}/profile")).status_code in (403, 404)
    assert (await simon.get(f"/dossiers/{setting.dossier}/summary")).status_code in (403, 404)

    for reader in (patient, await signed_in_browser(new_browser, setting.traitant)):
        page = await reader.get(record)
        assert page.status_code == 200
        assert "03/06/2025" in page.text
        assert "01/02/2001" in page.text
        card = await reader.get(f"/dossiers/{setting.dossier}/cards/occupational_health")
        assert card.status_code == 200
        assert "03/06/2025" in card.text  # the last visit
        assert "CT" in card.text or "scanner" in card.text  # the asbestos follow-up due
        assert f"{record}/visits" not in page.text  # the forms are the physician's

    for profession, person in setting.others.items():
        other = await signed_in_browser(new_browser, person)
        overview = await other.get(f"/dossiers/{setting.dossier}")
        assert overview.status_code == 200
        assert "occupational_health" not in overview.text, profession
        assert "Santé au travail" not in overview.text, profession
        assert "Occupational health" not in overview.text, profession
        for path in (
            record,
            f"{record}/attestation.pdf",
            f"/dossiers/{setting.dossier}/cards/occupational_health",
        ):
            assert (await other.get(path)).status_code == 404, (profession, path)
        answer = await post_form(other, f"{record}/visits", **VISIT)
        assert answer.status_code == 404, profession
        assert len(await refusals(setting.dossier, person)) == 4, profession
    assert await Visit.count().where(Visit.dossier == setting.dossier) == 1


async def test_without_consent_the_occupational_physician_is_refused_and_it_is_traced(
    setting, new_browser
):
    simon = await signed_in_browser(new_browser, setting.occupational)
    record = f"/dossiers/{setting.dossier}{SECTION}"
    assert (await simon.get(f"/dossiers/{setting.dossier}")).status_code == 404
    assert (await simon.get(record)).status_code == 404
    assert (await post_form(simon, f"{record}/visits", **VISIT)).status_code == 404
    assert len(await refusals(setting.dossier, setting.occupational)) == 3
    # Being in the care circle is not a consent for this section.
    await join(setting.dossier, setting.occupational)
    assert (await simon.get(record)).status_code == 404
    assert await Visit.count() == 0


async def test_a_consent_revoked_mid_session_is_refused_on_the_next_request(setting, new_browser):
    patient = await signed_in_browser(new_browser, setting.patient)
    await consent(patient, setting)
    simon = await signed_in_browser(new_browser, setting.occupational)
    record = f"/dossiers/{setting.dossier}{SECTION}"
    assert (await simon.get(record)).status_code == 200
    token = simon.csrf_token  # the form, with its token, stays on Simon's screen

    page = await patient.get(f"/dossiers/{setting.dossier}/access")
    revoked = await patient.submit(
        f"/dossiers/{setting.dossier}/access/sections/revoke",
        {"professional": str(setting.occupational.id)},
    )
    assert revoked.status_code == 303
    assert await SectionConsent.count() == 0
    assert page.status_code == 200

    assert (await simon.get(record)).status_code == 404
    answer = await simon.post(f"{record}/visits", {"csrf_token": token, **VISIT})
    assert answer.status_code == 404
    assert await Visit.count() == 0
    refused = await refusals(setting.dossier, setting.occupational)
    assert [event["action"] for event in refused][-2:] == [Action.VIEW, Action.CREATE]
    changes = [
        event
        for event in await trail(setting.dossier, setting.patient)
        if event["target_type"] == "section_consent"
    ]
    assert len(changes) == 2  # given, then withdrawn


async def test_only_occupational_professionals_may_be_given_the_section(setting, new_browser):
    patient = await signed_in_browser(new_browser, setting.patient)
    cardiologist = setting.others["medecin"]
    page = await patient.get(f"/dossiers/{setting.dossier}/access/directory?q=Garcia")
    assert "/access/sections" not in page.text
    answer = await post_form(
        patient,
        f"/dossiers/{setting.dossier}/access/sections",
        professional=str(cardiologist.id),
        category="sante_travail",
    )
    assert answer.status_code == 409
    answer = await post_form(
        patient,
        f"/dossiers/{setting.dossier}/access/sections",
        professional=str(setting.occupational.id),
        category="compte_rendu",
    )
    assert answer.status_code == 409
    assert await SectionConsent.count() == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"exposure_ended": "1999-01-01"}, "exposure_ended"),  # before it started
        ({"exposure_agent": "uranium"}, "exposure_agent"),  # not in the shipped list
        ({"exposure_started": "2099-01-01"}, "exposure_started"),
        ({"exposure_started": "31/02/2001"}, "exposure_started"),
        ({"exposure_intensity": ""}, "exposure_intensity"),
    ],
)
async def test_a_bad_exposure_is_refused_next_to_its_field(setting, new_browser, values, field):
    patient = await signed_in_browser(new_browser, setting.patient)
    await consent(patient, setting)
    simon = await signed_in_browser(new_browser, setting.occupational)
    record = f"/dossiers/{setting.dossier}{SECTION}"
    answer = await simon.open_and_submit(record, f"{record}/exposures", {**EXPOSURE, **values})
    assert answer.status_code == 400
    assert f'id="{field}-error"' in answer.text
    assert f'aria-describedby="{field}-error' in answer.text
    assert await Exposure.count() == 0


async def test_overlapping_periods_are_refused_and_a_double_submit_records_once(
    setting, new_browser
):
    patient = await signed_in_browser(new_browser, setting.patient)
    await consent(patient, setting)
    simon = await signed_in_browser(new_browser, setting.occupational)
    record = f"/dossiers/{setting.dossier}{SECTION}"
    job = {
        "job_employer": "Imprimerie Rotative",
        "job_job_title": "Conductrice offset",
        "job_sector": "Imprimerie",
        "job_started": "2009-09-01",
        "job_ended": "2015-06-30",
    }
    await simon.get(record)
    for _ in range(2):
        assert (await simon.submit(f"{record}/jobs", job)).status_code == 303
    assert await Job.count() == 1
    await simon.get(record)
    overlapping = {**job, "job_employer": "Mutuelle", "job_started": "2014-01-01", "job_ended": ""}
    answer = await simon.submit(f"{record}/jobs", overlapping)
    assert answer.status_code == 400
    assert 'id="job_started-error"' in answer.text
    assert "Conductrice offset" in answer.text
    assert await Job.count() == 1
    for _ in range(2):
        await simon.get(record)
        assert (await simon.submit(f"{record}/exposures", EXPOSURE)).status_code == 303
    await simon.get(record)
    again = {**EXPOSURE, "exposure_started": "2003-01-01", "exposure_ended": ""}
    assert (await simon.submit(f"{record}/exposures", again)).status_code == 400
    assert await Exposure.count() == 1


async def test_the_attestation_lists_the_exposures_and_the_follow_up_due(setting, new_browser):
    patient = await signed_in_browser(new_browser, setting.patient)
    await consent(patient, setting)
    simon = await signed_in_browser(new_browser, setting.occupational)
    record = f"/dossiers/{setting.dossier}{SECTION}"
    await simon.open_and_submit(record, f"{record}/exposures", EXPOSURE)
    pdf = await patient.get(f"{record}/attestation.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = text_of(pdf.content)
    assert "Camille Martin" in text
    assert "01/02/2001" in text
    assert "31/12/2004" in text
    assert "Anne Simon" in text


async def test_the_whole_dossier_pdf_shows_the_section_only_to_those_who_read_it(
    setting, new_browser
):
    patient = await signed_in_browser(new_browser, setting.patient)
    await consent(patient, setting)
    simon = await signed_in_browser(new_browser, setting.occupational)
    record = f"/dossiers/{setting.dossier}{SECTION}"
    await simon.open_and_submit(record, f"{record}/exposures", EXPOSURE)
    export = f"/dossiers/{setting.dossier}/export.pdf"
    for reader in (patient, await signed_in_browser(new_browser, setting.traitant)):
        pdf = await reader.get(export)
        assert pdf.status_code == 200
        assert "Désamiantage de faux plafonds" in text_of(pdf.content)
    cardiologist = await signed_in_browser(new_browser, setting.others["medecin"])
    pdf = await cardiologist.get(export)
    assert pdf.status_code == 200
    text = text_of(pdf.content)
    assert "Désamiantage" not in text
    assert "Santé au travail" not in text
    assert "Occupational health" not in text


async def test_the_demo_has_camilles_career_noise_and_a_visit_by_dr_simon(portal, new_browser):
    assert await load_demo(portal.state.plugins)
    accounts = {row["login"]: row for row in await Account.select()}
    camille = accounts["camille.martin@demo.carnet.fr"]
    dossier = await SectionConsent.select(
        SectionConsent.dossier, SectionConsent.professional
    ).first()
    assert dossier["professional"] == accounts["dr.simon@demo.carnet.fr"]["id"]
    exposures = await Exposure.select().where(Exposure.dossier == dossier["dossier"])
    assert [exposure["agent"] for exposure in exposures] == ["bruit"]
    assert exposures[0]["ended"] < date(2020, 1, 1)
    visits = await Visit.select().where(Visit.dossier == dossier["dossier"])
    assert visits[0]["kind"] == "periodique"
    assert visits[0]["author"] == accounts["dr.simon@demo.carnet.fr"]["id"]
    assert await Job.count().where(Job.dossier == dossier["dossier"]) == 2

    def demo_person(login: str, role: Role = Role.PROFESSIONAL) -> Person:
        row = accounts[login]
        return Person(row["id"], login, role, row["first_name"], row["last_name"],
                      DEMO_PASSWORD, DEMO_TOTP_SECRET)  # fmt: skip

    for login in ("dr.garcia@demo.carnet.fr", "ph.petit@demo.carnet.fr",
                  "dr.moreau@demo.carnet.fr"):  # fmt: skip
        browser = new_browser()
        await log_in(browser, demo_person(login))
        overview = await browser.get(f"/dossiers/{dossier['dossier']}")
        assert overview.status_code == 200, login
        assert "occupational_health" not in overview.text, login
    browser = new_browser()
    await log_in(browser, demo_person("dr.simon@demo.carnet.fr"))
    page = await browser.get(f"/dossiers/{dossier['dossier']}{SECTION}")
    assert page.status_code == 200
    assert "87 dB(A)" in page.text
    assert camille["id"]
