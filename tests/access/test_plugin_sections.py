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
