"""The patient's "Who has access to my record" page and consents scoped to a section: given
from the directory to an occupational physician for the occupational health section alone,
listed with a way to withdraw it, withdrawn from the next request, ended by a block; each
change traced."""

from __future__ import annotations

from portal.access.tables import SectionConsent
from tests.access.conftest import dossier_of, post_form, signed_in_browser, trail
from tests.identity.conftest import new_patient, new_professional


async def test_a_consent_for_one_section_is_given_listed_withdrawn_and_traced(portal, new_browser):
    patient = await new_patient()
    physician = await new_professional(
        first_name="Anne", last_name="Simon", profession="medecin_du_travail"
    )
    dossier = await dossier_of(patient)
    browser = await signed_in_browser(new_browser, patient)
    access = f"/dossiers/{dossier}/access"
    found = await browser.get(f"{access}/directory?q=Simon")
    assert f'action="{access}/sections"' in found.text
    sent = {"csrf_token": browser.csrf_token, "professional": str(physician.id),
            "category": "sante_travail"}  # fmt: skip
    for _ in range(2):  # the same form sent twice
        answer = await browser.post(f"{access}/sections", sent)
    assert answer.status_code == 409  # the second one: already given
    assert await SectionConsent.count() == 1
    page = await browser.get(access)
    assert "Anne Simon" in page.text
    assert f'action="{access}/sections/revoke"' in page.text

    answer = await browser.submit(f"{access}/sections/revoke", {"professional": str(physician.id)})
    assert answer.status_code == 303
    assert await SectionConsent.count() == 0
    page = await browser.get(access)
    assert f'action="{access}/sections/revoke"' not in page.text
    changes = [event for event in await trail(dossier, patient)
               if event["target_type"] == "section_consent"]  # fmt: skip
    # Given, then withdrawn; the refused second gift changed nothing and left no trace.
    assert [event["outcome"] for event in changes] == ["allowed", "allowed"]


async def test_blocking_the_professional_ends_their_consent_for_a_section(portal, new_browser):
    patient = await new_patient()
    physician = await new_professional(profession="medecin_du_travail")
    dossier = await dossier_of(patient)
    browser = await signed_in_browser(new_browser, patient)
    access = f"/dossiers/{dossier}/access"
    answer = await post_form(
        browser, f"{access}/sections", professional=str(physician.id), category="sante_travail"
    )
    assert answer.status_code == 303
    answer = await post_form(browser, f"{access}/professionals/{physician.id}/block")
    assert answer.status_code == 303
    assert await SectionConsent.count() == 0
    again = await post_form(
        browser, f"{access}/sections", professional=str(physician.id), category="sante_travail"
    )
    assert again.status_code == 409


async def test_nobody_but_the_patients_side_gives_or_withdraws_a_section(portal, new_browser):
    patient = await new_patient()
    physician = await new_professional(profession="medecin_du_travail")
    dossier = await dossier_of(patient)
    browser = await signed_in_browser(new_browser, physician)
    for path in ("sections", "sections/revoke"):
        answer = await post_form(
            browser,
            f"/dossiers/{dossier}/access/{path}",
            professional=str(physician.id),
            category="sante_travail",
        )
        assert answer.status_code == 404
    assert await SectionConsent.count() == 0
