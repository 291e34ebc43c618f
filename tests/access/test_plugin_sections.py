"""A plugin section's category is governed like the core's: its page gets a DossierView from
the core, which decides with the section's default rules and traces every answer. The
dossier's overview shows a card per section the asker reads: all of them in one htmx request
after the page, or, without JavaScript, a link to each."""

from __future__ import annotations

import re

from portal.audit.tables import AuditEvent
from tests.access.conftest import dossier_of, join, post_form, signed_in_browser, trail
from tests.identity.conftest import log_in, new_patient, new_professional

#: What htmx adds to the requests it makes for a fragment of a page.
HTMX = {"HX-Request": "true"}


def sections(app) -> list[str]:
    """Every section's key, in their order: what the patient's side reads (the built-in ones,
    the example plugin, and any other installed)."""
    return [section.key for section in app.state.plugins.sections]


def read_by(app, profession: str) -> list[str]:
    """The sections one of ``profession`` reads a category of, in their order."""
    return [
        section.key
        for section in app.state.plugins.sections
        if any(app.state.matrix.may_read(profession, c.key) for c in section.categories)
    ]


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
    assert f'href="/dossiers/{dossier}/cards/sleep_diary"' in overview.text
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


def card_keys(html: str) -> list[str]:
    """The sections whose cards an answer holds, in order."""
    return re.findall(r'<section class="card" id="card-([a-z_]+)"', html)


def section_reads(events: list[dict]) -> list[tuple[str, str, str]]:
    """What a run of events read: (target type, target id, outcome) each."""
    return [(event["target_type"], event["target_id"], event["outcome"]) for event in events]


async def test_the_overview_asks_for_every_card_in_one_request(
    installed_third_party_plugin, start_portal, new_browser
):
    app = await start_portal()
    alice = await new_patient()
    dossier = await dossier_of(alice)
    patient = await signed_in_browser(lambda: new_browser(app), alice)
    overview = (await patient.get(f"/dossiers/{dossier}")).text
    assert overview.count("hx-get=") == 2  # the cards, and the PDF prepared on the way
    assert f'hx-get="/dossiers/{dossier}/cards" hx-trigger="load"' in overview
    # Without JavaScript, a placeholder for each card with a link to it.
    every = sections(app)
    assert re.findall(r'aria-labelledby="card-([a-z_]+)-title"', overview) == every
    links = re.findall(rf'href="(/dossiers/{dossier}/cards/[a-z_]+)"', overview)
    assert links == [f"/dossiers/{dossier}/cards/{key}" for key in every]
    for link in links:  # each leads to its card, as a page
        page = await patient.get(link)
        assert page.status_code == 200, link
        assert "<html" in page.text
    diary = await patient.get(links[every.index("sleep_diary")])
    assert "Nights noted by Alice" in diary.text


async def test_the_cards_come_in_one_answer_with_one_read_traced_per_section(
    installed_third_party_plugin, start_portal, new_browser
):
    app = await start_portal()
    alice = await new_patient()
    dossier = await dossier_of(alice)
    patient = await signed_in_browser(lambda: new_browser(app), alice)
    before = len(await trail(dossier))

    cards = await patient.get(f"/dossiers/{dossier}/cards", headers=HTMX)
    assert cards.status_code == 200, cards.text[-3000:]
    assert "<html" not in cards.text
    every = sections(app)
    assert card_keys(cards.text) == every
    assert "Nights noted by Alice" in cards.text
    for key in every:
        assert f'aria-labelledby="card-{key}-title"' in cards.text
        assert f'<h2 id="card-{key}-title">' in cards.text
    events = (await trail(dossier))[before:]
    assert {event["actor_account"] for event in events} == {alice.id}
    assert section_reads(events) == [("section", key, "allowed") for key in every]

    page = await patient.get(f"/dossiers/{dossier}/cards")  # asked as a page
    assert page.status_code == 200
    assert "<html" in page.text
    assert card_keys(page.text) == every


async def test_a_section_the_asker_may_not_read_is_neither_shown_nor_fetched(
    installed_third_party_plugin, start_portal, new_browser
):
    app = await start_portal()
    alice = await new_patient()
    dossier = await dossier_of(alice)
    pharmacist = await new_professional(first_name="Paul", profession="pharmacien")
    await join(dossier, pharmacist)
    browser = await signed_in_browser(lambda: new_browser(app), pharmacist)
    overview = (await browser.get(f"/dossiers/{dossier}")).text
    read = read_by(app, "pharmacien")
    assert "vaccination" in read
    assert "sleep_diary" not in read
    assert re.findall(r'aria-labelledby="card-([a-z_]+)-title"', overview) == read
    before = len(await trail(dossier))

    cards = await browser.get(f"/dossiers/{dossier}/cards", headers=HTMX)
    assert cards.status_code == 200
    assert card_keys(cards.text) == read
    assert "Nights noted by" not in cards.text
    # The sections left out are not asked for: no refusal in the trail.
    assert section_reads((await trail(dossier))[before:]) == [
        ("section", key, "allowed") for key in read
    ]


async def test_a_consent_scoped_to_a_section_brings_that_card_alone(
    installed_third_party_plugin, start_portal, new_browser
):
    app = await start_portal()
    alice = await new_patient()
    dossier = await dossier_of(alice)
    physician = await new_professional(first_name="Anne", profession="medecin_du_travail")
    patient = await signed_in_browser(lambda: new_browser(app), alice)
    given = await post_form(
        patient,
        f"/dossiers/{dossier}/access/sections",
        professional=str(physician.id),
        category="sante_travail",
    )
    assert given.status_code == 303
    browser = await signed_in_browser(lambda: new_browser(app), physician)
    overview = (await browser.get(f"/dossiers/{dossier}")).text
    assert re.findall(r'aria-labelledby="card-([a-z_]+)-title"', overview) == [
        "occupational_health"
    ]
    before = len(await trail(dossier))
    cards = await browser.get(f"/dossiers/{dossier}/cards", headers=HTMX)
    assert card_keys(cards.text) == ["occupational_health"]
    assert section_reads((await trail(dossier))[before:]) == [
        ("section", "occupational_health", "allowed")
    ]


async def test_the_cards_are_refused_to_whoever_reads_none_of_them(
    installed_third_party_plugin, start_portal, new_browser
):
    """A stranger is refused as by a section's own card (404: no such record for them); a
    dentist of the circle, who reads no section, too (403); each refusal traced once."""
    app = await start_portal()
    assert read_by(app, "chirurgien_dentiste") == []
    alice = await new_patient()
    dossier = await dossier_of(alice)
    dentist = await new_professional(first_name="Dora", profession="chirurgien_dentiste")
    await join(dossier, dentist)
    stranger = await new_professional(first_name="Sam")
    for person, status in ((stranger, 404), (dentist, 403)):
        browser = await signed_in_browser(lambda: new_browser(app), person)
        overview = (await browser.get(f"/dossiers/{dossier}")).text
        assert "/cards" not in overview, person.first_name
        for path in (f"/dossiers/{dossier}/cards", f"/dossiers/{dossier}/cards/vaccination"):
            for headers in ({}, HTMX):
                before = len(await trail(dossier, person))
                answer = await browser.get(path, headers=headers)
                assert answer.status_code == status, (person.first_name, path)
                assert "Alice" not in answer.text
                events = (await trail(dossier, person))[before:]
                assert [event["outcome"] for event in events] == ["refused"], path
