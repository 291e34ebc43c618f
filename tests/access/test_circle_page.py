"""The patient's "Who has access to my record" page: the médecin traitant, the care circle and
how each professional joined it, the blocked ones; the directory, by name or RPPS number;
adding, removing, blocking and unblocking (each confirmed first, saying what it does),
designating the médecin traitant, and the two emergency opt-outs. Each action works without
JavaScript (a redirect, then the page) and with htmx (the panel alone). A block applies on the
blocked professional's very next request. Nobody but the patient's side sees the page."""

from __future__ import annotations

import re
from uuid import UUID

from portal.access.tables import Block, CircleMember, Joined
from portal.dossiers.tables import Dossier
from portal.identity.tables import Professional
from tests.access.conftest import (
    block,
    dossier_of,
    join,
    open_in_emergency,
    post_form,
    signed_in_browser,
    trail,
)
from tests.conftest import translated
from tests.identity.conftest import Browser, Person, new_patient, new_professional

HTMX = {"HX-Request": "true"}
REASON = "Patient inconscient aux urgences, pronostic vital engagé"


def fr(message: str, **names: str) -> str:
    return translated("fr", message) % names if names else translated("fr", message)


def section(page: str, heading: str) -> str:
    """The part of the page under the ``<h2>`` titled ``heading`` (in French)."""
    match = re.search(rf"<h2>{re.escape(fr(heading))}</h2>(.*?)(?=<h2|$)", page, re.S)
    assert match, heading
    return match.group(1)


def how_they_joined(page: str) -> dict[str, str]:
    """Each member of the care circle, with how they joined it, as the page says."""
    members = section(page, "My care circle")
    return dict(
        re.findall(r"<strong>([^<]+)</strong>[^<]*<br><span class=\"muted\">([^<]+)<", members)
    )


async def rpps_of(person: Person) -> str:
    row = await Professional.select(Professional.rpps).where(Professional.account == person.id)
    return row[0]["rpps"]


async def traitant_of(dossier: UUID) -> UUID | None:
    row = await Dossier.select(Dossier.medecin_traitant).where(Dossier.id == dossier).first()
    return row["medecin_traitant"]


async def is_member(dossier: UUID, person: Person) -> bool:
    return await CircleMember.exists().where(
        CircleMember.dossier == dossier, CircleMember.professional == person.id
    )


async def is_blocked(dossier: UUID, person: Person) -> bool:
    return await Block.exists().where(Block.dossier == dossier, Block.professional == person.id)


async def opens(browser: Browser, dossier: UUID) -> int:
    """The status of the dossier's overview for ``browser``."""
    return (await browser.get(f"/dossiers/{dossier}")).status_code


class Circle:
    """Alice's dossier: Dr Garcia her médecin traitant, Dr Leclerc added by her, the nurse
    Morel who declared her consent, Dr Faure blocked, and Dr Lambert in the directory only."""

    async def setup(self) -> Circle:
        self.alice = await new_patient(first_name="Alice", last_name="Roux")
        self.garcia = await new_professional(first_name="Karim", last_name="Garcia")
        self.leclerc = await new_professional(first_name="Bruno", last_name="Leclerc")
        self.morel = await new_professional(
            first_name="Paul", last_name="Morel", profession="infirmier"
        )
        self.faure = await new_professional(first_name="Inès", last_name="Faure")
        self.lambert = await new_professional(first_name="Jeanne", last_name="Lambert")
        self.dossier = await dossier_of(self.alice, medecin_traitant=self.garcia.id)
        await join(self.dossier, self.leclerc)
        await join(self.dossier, self.morel, Joined.CONSENT)
        await block(self.dossier, self.faure)
        return self

    @property
    def page(self) -> str:
        return f"/dossiers/{self.dossier}/access"

    def change(self, person: Person, change: str) -> str:
        return f"{self.page}/professionals/{person.id}/{change}"


async def circle_and_patient(new_browser) -> tuple[Circle, Browser]:
    circle = await Circle().setup()
    return circle, await signed_in_browser(new_browser, circle.alice)


# --- what the page shows --------------------------------------------------------------------


async def test_the_page_lists_who_has_access_and_how(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    page = await browser.get(circle.page)
    assert page.status_code == 200
    assert "Karim Garcia" in section(page.text, "My médecin traitant")
    assert how_they_joined(page.text) == {
        "Bruno Leclerc": fr("added by you"),
        "Paul Morel": fr("declared your consent at a consultation"),
    }
    assert "Inès Faure" in section(page.text, "Blocked professionals")
    assert "Jeanne Lambert" not in page.text


async def test_the_directory_finds_professionals_by_name_and_by_rpps(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    by_name = await browser.get(f"{circle.page}/directory?q=lambert")
    assert by_name.status_code == 200
    results = by_name.text.split('id="directory-results"')[1]
    assert "Jeanne Lambert" in results
    assert "Bruno Leclerc" not in results
    assert fr("Give %(name)s access", name="Jeanne Lambert") in results

    rpps = await rpps_of(circle.leclerc)
    by_number = await browser.get(f"{circle.page}/directory?q={rpps}")
    results = by_number.text.split('id="directory-results"')[1]
    assert "Bruno Leclerc" in results
    assert "Jeanne Lambert" not in results
    assert fr("Already has access.") in results


async def test_a_one_letter_search_is_refused_with_a_message(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    answer = await browser.get(f"{circle.page}/directory?q=L")
    assert answer.status_code == 400
    assert fr("Type at least two letters of a name, or an RPPS number.") in answer.text
    assert "Jeanne Lambert" not in answer.text


# --- adding, removing, blocking, unblocking -------------------------------------------------


async def test_the_patient_gives_a_professional_access_from_the_directory(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    lambert = await signed_in_browser(new_browser, circle.lambert)
    assert await opens(lambert, circle.dossier) == 404

    await browser.get(f"{circle.page}/directory?q=Lambert")
    added = await browser.submit(f"{circle.page}/circle")
    assert (added.status_code, added.headers["location"]) == (303, circle.page)
    page = await browser.get(circle.page)
    assert fr("%(name)s now has access to the record.", name="Jeanne Lambert") in page.text
    assert how_they_joined(page.text)["Jeanne Lambert"] == fr("added by you")
    assert await opens(lambert, circle.dossier) == 200
    changes = [
        (event["action"], event["target_id"], event["outcome"])
        for event in await trail(circle.dossier, circle.alice)
        if event["target_type"] == "care_circle" and event["action"] != "view"
    ]
    assert changes == [("rights-change", str(circle.lambert.id), "allowed")]


async def test_removing_is_confirmed_first_then_applies_on_the_next_request(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    leclerc = await signed_in_browser(new_browser, circle.leclerc)
    assert await opens(leclerc, circle.dossier) == 200

    confirm = await browser.get(circle.change(circle.leclerc, "remove"))
    assert confirm.status_code == 200
    assert (
        fr(
            "%(name)s will no longer have access to your record, from their very next click. "
            "You can give it back at any time. To also stop them from asking again, block them.",
            name="Bruno Leclerc",
        )
        in confirm.text
    )
    assert await is_member(circle.dossier, circle.leclerc)
    removed = await browser.submit(circle.change(circle.leclerc, "remove"))
    assert (removed.status_code, removed.headers["location"]) == (303, circle.page)
    assert not await is_member(circle.dossier, circle.leclerc)
    assert "Bruno Leclerc" not in how_they_joined((await browser.get(circle.page)).text)
    assert await opens(leclerc, circle.dossier) == 404


async def test_blocking_says_what_it_does_and_applies_on_the_very_next_request(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    leclerc = await signed_in_browser(new_browser, circle.leclerc)
    assert await opens(leclerc, circle.dossier) == 200

    confirm = await browser.get(circle.change(circle.leclerc, "block"))
    assert (
        fr(
            "%(name)s will no longer be able to open your record or add to it, from their very "
            "next click: not by declaring your consent, not even in an emergency. They leave "
            "your care circle. You can unblock them at any time.",
            name="Bruno Leclerc",
        )
        in confirm.text
    )
    blocked = await browser.submit(circle.change(circle.leclerc, "block"))
    assert blocked.status_code == 303
    assert await opens(leclerc, circle.dossier) == 404
    page = await browser.get(circle.page)
    assert (
        fr(
            "%(name)s is blocked: they can no longer open the record, even in an emergency.",
            name="Bruno Leclerc",
        )
        in page.text
    )
    assert "Bruno Leclerc" in section(page.text, "Blocked professionals")
    assert "Bruno Leclerc" not in how_they_joined(page.text)


async def test_unblocking_lifts_the_block_without_giving_access(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    confirm = await browser.get(circle.change(circle.faure, "unblock"))
    assert (
        fr(
            "%(name)s will no longer be blocked. They will not have access to your record for "
            "all that: you, or your consent at a consultation, can give it again.",
            name="Inès Faure",
        )
        in confirm.text
    )
    assert await is_blocked(circle.dossier, circle.faure)
    unblocked = await browser.submit(circle.change(circle.faure, "unblock"))
    assert unblocked.status_code == 303
    assert not await is_blocked(circle.dossier, circle.faure)
    page = await browser.get(circle.page)
    assert fr("%(name)s is no longer blocked.", name="Inès Faure") in page.text
    assert fr("Blocked professionals") not in page.text
    faure = await signed_in_browser(new_browser, circle.faure)
    assert await opens(faure, circle.dossier) == 404


async def test_a_block_ends_an_emergency_access_under_way(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    urgentist = await new_professional(first_name="Marc", last_name="Urgence")
    urgent = await signed_in_browser(new_browser, urgentist)
    assert (await open_in_emergency(urgent, circle.alice, REASON)).status_code == 303
    assert await opens(urgent, circle.dossier) == 200
    assert 'class="emergency-banner"' in (await urgent.get("/patients")).text

    await browser.get(circle.change(urgentist, "block"))
    assert (await browser.submit(circle.change(urgentist, "block"))).status_code == 303
    assert await opens(urgent, circle.dossier) == 404
    assert 'class="emergency-banner"' not in (await urgent.get("/patients")).text


# --- the médecin traitant -------------------------------------------------------------------


async def test_the_medecin_traitant_is_undesignated_before_being_blocked(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    await browser.get(circle.change(circle.garcia, "block"))
    refused = await browser.submit(circle.change(circle.garcia, "block"))
    assert refused.status_code == 409
    assert (
        fr(
            "This professional is your médecin traitant. Choose another médecin traitant, or "
            "none, before blocking them."
        )
        in refused.text
    )
    assert not await is_blocked(circle.dossier, circle.garcia)
    assert await traitant_of(circle.dossier) == circle.garcia.id

    await browser.get(circle.page)
    undesignated = await browser.submit(f"{circle.page}/medecin-traitant", {"professional": ""})
    assert undesignated.status_code == 303
    assert await traitant_of(circle.dossier) is None
    page = await browser.get(circle.page)
    assert fr("The record no longer has a médecin traitant.") in page.text
    await browser.get(circle.change(circle.garcia, "block"))
    assert (await browser.submit(circle.change(circle.garcia, "block"))).status_code == 303
    assert await is_blocked(circle.dossier, circle.garcia)


async def test_only_a_doctor_can_be_medecin_traitant(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    refused = await post_form(
        browser, f"{circle.page}/medecin-traitant", professional=str(circle.morel.id)
    )
    assert refused.status_code == 409
    assert fr("The médecin traitant must be a doctor.") in refused.text
    assert await traitant_of(circle.dossier) == circle.garcia.id


async def test_the_patient_changes_the_medecin_traitant(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    lambert = await signed_in_browser(new_browser, circle.lambert)
    garcia = await signed_in_browser(new_browser, circle.garcia)
    assert await opens(garcia, circle.dossier) == 200

    results = await browser.get(f"{circle.page}/directory?q=Lambert")
    assert fr("Make %(name)s my médecin traitant", name="Jeanne Lambert") in results.text
    designated = await browser.submit(
        f"{circle.page}/medecin-traitant", {"professional": str(circle.lambert.id)}
    )
    assert designated.status_code == 303
    assert await traitant_of(circle.dossier) == circle.lambert.id
    page = await browser.get(circle.page)
    assert fr("%(name)s is now the médecin traitant.", name="Jeanne Lambert") in page.text
    assert "Jeanne Lambert" in section(page.text, "My médecin traitant")
    assert await opens(lambert, circle.dossier) == 200
    assert await opens(garcia, circle.dossier) == 404


# --- the emergency opt-outs -----------------------------------------------------------------


async def opt_outs(dossier: UUID) -> tuple[bool, bool]:
    row = await Dossier.select(Dossier.refuses_emergency_access, Dossier.refuses_samu_access).where(
        Dossier.id == dossier
    )
    return row[0]["refuses_emergency_access"], row[0]["refuses_samu_access"]


async def test_the_opt_outs_form_saves_both_choices(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    await browser.get(circle.page)
    both = {"refuses_emergency_access": "on", "refuses_samu_access": "on"}
    saved = await browser.submit(f"{circle.page}/opt-outs", both)
    assert saved.status_code == 303
    assert await opt_outs(circle.dossier) == (True, True)
    page = await browser.get(circle.page)
    assert fr("Your choices for emergencies are saved.") in page.text
    assert re.search(r'id="refuses_emergency_access"[^>]* checked>', page.text)
    assert re.search(r'id="refuses_samu_access"[^>]* checked>', page.text)

    only_samu = {"refuses_emergency_access": None, "refuses_samu_access": "on"}
    await browser.submit(f"{circle.page}/opt-outs", only_samu)
    assert await opt_outs(circle.dossier) == (False, True)
    await browser.get(circle.page)
    await browser.submit(f"{circle.page}/opt-outs", dict.fromkeys(both))
    assert await opt_outs(circle.dossier) == (False, False)


# --- with htmx ------------------------------------------------------------------------------


def is_panel(response) -> bool:
    return (
        response.status_code == 200
        and 'id="access-panel"' in response.text
        and "<html" not in response.text
    )


async def test_with_htmx_each_action_answers_with_the_panel(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    actions = [
        (f"{circle.page}/circle", {"professional": str(circle.lambert.id)},
         fr("%(name)s now has access to the record.", name="Jeanne Lambert")),
        (circle.change(circle.leclerc, "remove"), {},
         fr("%(name)s no longer has access to the record.", name="Bruno Leclerc")),
        (circle.change(circle.morel, "block"), {},
         fr("%(name)s is blocked: they can no longer open the record, even in an emergency.",
            name="Paul Morel")),
        (circle.change(circle.faure, "unblock"), {},
         fr("%(name)s is no longer blocked.", name="Inès Faure")),
        (f"{circle.page}/medecin-traitant", {"professional": str(circle.leclerc.id)},
         fr("%(name)s is now the médecin traitant.", name="Bruno Leclerc")),
        (f"{circle.page}/medecin-traitant", {"professional": ""},
         fr("The record no longer has a médecin traitant.")),
        (f"{circle.page}/opt-outs", {"refuses_samu_access": "on"},
         fr("Your choices for emergencies are saved.")),
    ]  # fmt: skip
    for action, fields, notice in actions:
        answer = await post_form(browser, action, HTMX, **fields)
        assert is_panel(answer), (action, answer.status_code)
        assert notice in answer.text, action
    assert await is_member(circle.dossier, circle.lambert)
    assert not await is_member(circle.dossier, circle.leclerc)
    assert await is_blocked(circle.dossier, circle.morel)
    assert not await is_blocked(circle.dossier, circle.faure)
    assert await traitant_of(circle.dossier) is None
    assert await opt_outs(circle.dossier) == (False, True)


async def test_with_htmx_the_pages_answer_with_their_fragment(portal, new_browser):
    circle, browser = await circle_and_patient(new_browser)
    assert is_panel(await browser.get(circle.page, headers=HTMX))
    confirm = await browser.get(circle.change(circle.leclerc, "block"), headers=HTMX)
    assert is_panel(confirm)
    assert f'action="{circle.change(circle.leclerc, "block")}"' in confirm.text
    results = await browser.get(f"{circle.page}/directory?q=Lambert", headers=HTMX)
    assert results.status_code == 200
    assert 'id="directory-results"' in results.text
    assert "<html" not in results.text
    assert "Jeanne Lambert" in results.text
    refused = await post_form(browser, circle.change(circle.garcia, "block"), HTMX)
    assert refused.status_code == 409
    assert 'id="access-panel"' in refused.text
    assert "<html" not in refused.text


# --- nobody else ----------------------------------------------------------------------------


async def test_nobody_but_the_patients_side_sees_the_page(portal, new_browser):
    circle = await Circle().setup()
    bob = await new_patient(first_name="Bob", last_name="Martin")
    outsider = await new_professional(first_name="Luc", last_name="Dehors")
    pages = (
        circle.page,
        f"{circle.page}/directory?q=Lambert",
        circle.change(circle.leclerc, "block"),
    )
    for person in (bob, outsider):
        browser = await signed_in_browser(new_browser, person)
        for page in pages:
            answer = await browser.get(page)
            assert answer.status_code == 404, (person.first_name, page)
            assert "Garcia" not in answer.text
        refused = await post_form(browser, circle.change(circle.leclerc, "block"))
        assert refused.status_code == 404
    member = await signed_in_browser(new_browser, circle.leclerc)
    answer = await member.get(circle.page)
    assert answer.status_code == 403
    assert "Garcia" not in answer.text
    assert not await is_blocked(circle.dossier, circle.leclerc)
