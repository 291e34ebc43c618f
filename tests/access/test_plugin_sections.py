"""A plugin section's category is governed like the core's: its page gets a DossierView from
the core, which decides with the section's default rules and traces every answer."""

from __future__ import annotations

from portal.audit.tables import AuditEvent
from tests.access.conftest import dossier_of, join
from tests.identity.conftest import log_in, new_patient, new_professional


async def test_a_section_page_follows_its_categorys_rules(
    installed_third_party_plugin, start_portal, new_browser
):
    app = await start_portal()
    alice = await new_patient()
    dossier = await dossier_of(alice)
    doctor = await new_professional()
    dentist = await new_professional(first_name="Dora", profession="chirurgien_dentiste")
    stranger = await new_professional(first_name="Sam")
    await join(dossier, doctor)
    await join(dossier, dentist)
    for person, status in ((alice, 200), (doctor, 200), (dentist, 403), (stranger, 404)):
        browser = new_browser(app)
        await log_in(browser, person)
        response = await browser.get(f"/dossiers/{dossier}/sleep_diary")
        assert response.status_code == status, person.first_name
        if status == 200:
            assert "Sleep diary of Alice Dupont" in response.text
    refused = await AuditEvent.select(AuditEvent.actor_account, AuditEvent.reason).where(
        AuditEvent.dossier_id == dossier, AuditEvent.outcome == "refused"
    )
    assert {row["actor_account"] for row in refused} == {dentist.id, stranger.id}
    assert "chirurgien_dentiste does not read sommeil" in {row["reason"] for row in refused}


async def test_a_sections_card_shows_to_those_who_read_its_category(
    installed_third_party_plugin, start_portal, new_browser
):
    app = await start_portal()
    alice = await new_patient()
    dossier = await dossier_of(alice)
    dentist = await new_professional(first_name="Dora", profession="chirurgien_dentiste")
    await join(dossier, dentist)
    patient = new_browser(app)
    await log_in(patient, alice)
    overview = await patient.get(f"/dossiers/{dossier}")
    assert f'hx-get="/dossiers/{dossier}/cards/sleep_diary"' in overview.text
    card = await patient.get(
        f"/dossiers/{dossier}/cards/sleep_diary", headers={"HX-Request": "true"}
    )
    assert card.status_code == 200, card.text[-3000:]
    assert "Nights noted by Alice" in card.text
    assert "<html" not in card.text
    page = await patient.get(f"/dossiers/{dossier}/cards/sleep_diary")  # without JavaScript
    assert "<html" in page.text
    assert "Nights noted by Alice" in page.text

    browser = new_browser(app)
    await log_in(browser, dentist)
    assert "cards/sleep_diary" not in (await browser.get(f"/dossiers/{dossier}")).text
    assert (await browser.get(f"/dossiers/{dossier}/cards/sleep_diary")).status_code == 403
    assert (await patient.get(f"/dossiers/{dossier}/cards/no_such_section")).status_code == 404
