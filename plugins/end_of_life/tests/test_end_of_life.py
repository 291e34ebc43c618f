"""End-of-life wishes: the patient writes the advance directives and names the trusted person;
doctors and nurses read them, a dentist never; every version is kept and only the latest
counts; the forms explain what is wrong and keep what was typed; the two PDFs print."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from plugins.end_of_life.tables import Directives, TrustedPerson
from portal.access.tables import Joined
from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from portal.dossiers.tables import Dossier
from portal.identity.tables import Account, Patient
from portal.notifications.tables import Notification
from tests.access.conftest import (
    dossier_of,
    join,
    post_form,
    refusals,
    represent,
    signed_in_browser,
    trail,
)
from tests.identity.conftest import (
    START,
    Person,
    field_error,
    new_nir,
    new_patient,
    new_professional,
)
from tests.pdf.test_render_pdf import text_of

DIRECTIVES = {
    "kind": "written",
    "situation": "illness",
    "resuscitation": "refuse",
    "ventilation": "refuse",
    "nutrition": "unsure",
    "sedation": "want",
    "place_of_care": "Chez moi, près du jardin.",
    "what_matters": "Que ma fille Inès soit là.",
}
PERSON = {
    "name": "Inès Roux",
    "relation": "fille",
    "phone": "06 98 76 54 32",
    "email": "",
    "accepted_on": "2026-02-10",
}


def pages(dossier) -> dict[str, str]:
    base = f"/dossiers/{dossier}/end_of_life"
    return {
        "wishes": base,
        "directives": f"{base}/directives",
        "person": f"{base}/trusted_person",
        "revisions": f"{base}/revisions",
    }


async def test_the_patient_writes_names_and_prints_and_the_care_team_reads(portal, new_browser):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    doctor = await new_professional(first_name="Hugo", last_name="Bernard")
    nurse = await new_professional(first_name="Luc", last_name="Durand", profession="infirmier")
    await join(dossier, doctor)
    await join(dossier, nurse, Joined.CONSENT)
    page = pages(dossier)

    browser = await signed_in_browser(new_browser, alice)
    saved = await browser.open_and_submit(page["directives"], page["directives"], DIRECTIVES)
    assert saved.status_code == 303
    named = await browser.open_and_submit(page["person"], page["person"], PERSON)
    assert named.status_code == 303
    shown = (await browser.get(page["wishes"])).text
    assert "Chez moi, près du jardin." in shown
    assert "Inès Roux" in shown

    directives_pdf = await browser.get(f"{page['wishes']}/directives.pdf")
    assert directives_pdf.status_code == 200
    assert directives_pdf.headers["content-type"] == "application/pdf"
    printed = text_of(directives_pdf.content)
    assert "Alice Roux" in printed
    assert "Que ma fille Inès soit là." in printed
    person_pdf = await browser.get(f"{page['wishes']}/trusted_person.pdf")
    printed = text_of(person_pdf.content)
    assert "Inès Roux" in printed
    assert "06 98 76 54 32" in printed
    assert "10/02/2026" in printed

    for professional in (doctor, nurse):
        reader = await signed_in_browser(new_browser, professional)
        read = await reader.get(page["wishes"])
        assert read.status_code == 200
        assert "Chez moi, près du jardin." in read.text
        assert "06 98 76 54 32" in read.text
        assert f'{page["wishes"]}/directives"' not in read.text  # no form offered
    reads = [
        (event["actor_account"], event["action"], event["outcome"])
        for event in await trail(dossier)
        if event["target_id"] == "end_of_life"
    ]
    assert (doctor.id, "view", "allowed") in reads
    assert (nurse.id, "view", "allowed") in reads
    assert (alice.id, "create", "allowed") in reads


async def test_a_dentist_never_reads_and_no_professional_writes(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    dentist = await new_professional(profession="chirurgien_dentiste")
    doctor = await new_professional()
    await join(dossier, dentist)
    await join(dossier, doctor)
    page = pages(dossier)
    patient = await signed_in_browser(new_browser, alice)
    await patient.open_and_submit(page["directives"], page["directives"], DIRECTIVES)

    dentists = await signed_in_browser(new_browser, dentist)
    for address in (page["wishes"], page["revisions"], f"{page['wishes']}/directives.pdf"):
        answer = await dentists.get(address)
        assert answer.status_code == 403, address
        assert "jardin" not in answer.text
    overview = (await dentists.get(f"/dossiers/{dossier}")).text
    assert "/cards/end_of_life" not in overview
    assert len(await refusals(dossier, dentist)) == 3

    doctors = await signed_in_browser(new_browser, doctor)
    assert (await doctors.get(page["directives"])).status_code == 403
    tries = [
        (page["directives"], {**DIRECTIVES, "free_text": "Écrit par le médecin"}),
        (page["person"], PERSON),
        (f"{page['wishes']}/directives/revoke", {}),
        (f"{page['wishes']}/trusted_person/remove", {}),
    ]
    for address, form in tries:
        answer = await post_form(doctors, address, **form)
        assert answer.status_code == 403, address
    assert len(await refusals(dossier, doctor)) == 5
    assert await Directives.count().where(Directives.dossier == dossier) == 1
    assert not await TrustedPerson.exists().where(TrustedPerson.dossier == dossier)


async def test_every_version_is_kept_and_only_the_latest_counts(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    page = pages(dossier)
    browser = await signed_in_browser(new_browser, alice)
    await browser.open_and_submit(page["directives"], page["directives"], DIRECTIVES)
    again = await browser.submit(page["directives"], DIRECTIVES)  # the same form, sent twice
    assert again.status_code == 303
    assert await Directives.count().where(Directives.dossier == dossier) == 1

    changed = {**DIRECTIVES, "place_of_care": "À l’hôpital de Rennes."}
    await browser.open_and_submit(page["directives"], page["directives"], changed)
    shown = (await browser.get(page["wishes"])).text
    assert "Rennes" in shown
    assert "près du jardin" not in shown
    history = (await browser.get(page["revisions"])).text
    assert "Rennes" in history
    assert "près du jardin" in history

    revoked = await browser.open_and_submit(page["wishes"], f"{page['wishes']}/directives/revoke")
    assert revoked.status_code == 303
    shown = (await browser.get(page["wishes"])).text
    assert "Rennes" not in shown
    assert "Rennes" in (await browser.get(page["revisions"])).text
    rows = await Directives.select(Directives.number, Directives.kind).where(
        Directives.dossier == dossier
    )
    assert sorted((row["number"], row["kind"]) for row in rows) == [
        (1, "written"),
        (2, "written"),
        (3, "revoked"),
    ]

    await browser.open_and_submit(page["person"], page["person"], PERSON)
    await browser.open_and_submit(page["person"], page["person"], {**PERSON, "name": "Paul Roux"})
    await browser.open_and_submit(page["wishes"], f"{page['wishes']}/trusted_person/remove")
    assert "Paul Roux" not in (await browser.get(page["wishes"])).text
    history = (await browser.get(page["revisions"])).text
    assert "Paul Roux" in history
    assert "Inès Roux" in history
    assert await TrustedPerson.count().where(TrustedPerson.dossier == dossier) == 3


async def test_bad_input_is_explained_and_nothing_saved_is_lost(portal, new_browser):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    page = pages(dossier)
    browser = await signed_in_browser(new_browser, alice)
    await browser.open_and_submit(page["directives"], page["directives"], DIRECTIVES)
    await browser.open_and_submit(page["person"], page["person"], PERSON)

    empty = await browser.open_and_submit(
        page["directives"],
        page["directives"],
        {key: "" for key in DIRECTIVES} | {"kind": "written", "situation": ""},
    )
    assert empty.status_code == 400
    assert field_error(empty.text, "situation")

    unwitnessed = await browser.submit(
        page["directives"],
        {**DIRECTIVES, "cannot_write": "on", "witness_1_name": "Jeanne Roux",
         "witness_1_quality": "sœur", "what_matters": "<script>alert(1)</script>"},
    )  # fmt: skip
    assert unwitnessed.status_code == 400
    assert field_error(unwitnessed.text, "witness_2_name")
    assert field_error(unwitnessed.text, "witness_2_quality")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in unwitnessed.text  # kept, shown as text
    same_twice = await browser.submit(
        page["directives"],
        {**DIRECTIVES, "cannot_write": "on", "witness_1_name": "Jeanne Roux",
         "witness_1_quality": "sœur", "witness_2_name": "jeanne roux",
         "witness_2_quality": "voisine"},
    )  # fmt: skip
    assert same_twice.status_code == 400
    assert field_error(same_twice.text, "witness_2_name")
    nowhere = await browser.submit(page["directives"], {"kind": "elsewhere"})
    assert nowhere.status_code == 400
    assert field_error(nowhere.text, "elsewhere_place")
    assert field_error(nowhere.text, "elsewhere_holder")

    unreachable = await browser.open_and_submit(
        page["person"], page["person"], {**PERSON, "phone": "", "email": ""}
    )
    assert unreachable.status_code == 400
    assert field_error(unreachable.text, "phone")
    assert 'value="Inès Roux"' in unreachable.text
    future = await browser.submit(page["person"], {**PERSON, "accepted_on": "2099-01-01"})
    assert future.status_code == 400
    assert field_error(future.text, "accepted_on")

    assert await Directives.count().where(Directives.dossier == dossier) == 1
    assert await TrustedPerson.count().where(TrustedPerson.dossier == dossier) == 1
    shown = (await browser.get(page["wishes"])).text
    assert "Chez moi, près du jardin." in shown
    assert "06 98 76 54 32" in shown


async def test_witnessed_directives_and_directives_kept_elsewhere(portal, new_browser):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    page = pages(dossier)
    browser = await signed_in_browser(new_browser, alice)
    witnessed = await browser.open_and_submit(
        page["directives"],
        page["directives"],
        {**DIRECTIVES, "cannot_write": "on", "witness_1_name": "Jeanne Roux",
         "witness_1_quality": "sœur", "witness_2_name": "Marc Lenoir",
         "witness_2_quality": "voisin"},
    )  # fmt: skip
    assert witnessed.status_code == 303
    printed = text_of((await browser.get(f"{page['wishes']}/directives.pdf")).content)
    assert "Jeanne Roux (sœur)" in printed
    assert "Marc Lenoir (voisin)" in printed

    elsewhere = await browser.open_and_submit(
        page["directives"],
        page["directives"],
        {"kind": "elsewhere", "elsewhere_place": "Dans le dossier du Dr Leroy",
         "elsewhere_holder": "Dr Leroy, Rennes", "cannot_write": None},
    )  # fmt: skip
    assert elsewhere.status_code == 303
    shown = (await browser.get(page["wishes"])).text
    assert "Dans le dossier du Dr Leroy" in shown
    assert "Jeanne Roux" not in shown


async def test_a_representative_needs_the_authorisation_and_a_minor_writes_none(
    portal, new_browser
):
    adult = await new_patient(first_name="Simone", last_name="Lenoir")
    dossier = await dossier_of(adult)
    tutor = await new_patient(first_name="Marc", last_name="Lenoir")
    await represent(dossier, tutor)
    page = pages(dossier)
    browser = await signed_in_browser(new_browser, tutor)
    refused = await browser.open_and_submit(page["person"], page["person"], PERSON)
    assert refused.status_code == 400
    assert field_error(refused.text, "authorised")
    accepted = await browser.submit(page["person"], {**PERSON, "authorised": "on"})
    assert accepted.status_code == 303
    row = await TrustedPerson.select().where(TrustedPerson.dossier == dossier).first()
    assert row["on_behalf"] is True
    assert row["author"] == tutor.id


async def test_a_minor_writes_no_directives(portal, new_browser):
    parent = await new_patient(first_name="Marc", last_name="Lenoir")
    child = Patient(
        nir=new_nir(), first_name="Léa", last_name="Lenoir", birth_date=date(2015, 5, 1)
    )
    await child.save()
    dossier = Dossier(
        patient=child.id, created_at=START, created_through="online", consent_at=START
    )
    await dossier.save()
    await represent(dossier.id, parent)
    page = pages(dossier.id)
    browser = await signed_in_browser(new_browser, parent)
    answer = await browser.open_and_submit(page["directives"], page["directives"], DIRECTIVES)
    assert answer.status_code == 400
    assert field_error(answer.text, "kind")
    assert not await Directives.exists().where(Directives.dossier == dossier.id)


async def test_the_card_the_emergency_lines_and_the_dossier_pdf(portal, new_browser):
    alice = await new_patient(first_name="Alice", last_name="Roux")
    dossier = await dossier_of(alice)
    nurse = await new_professional(profession="infirmier")
    await join(dossier, nurse)
    page = pages(dossier)
    browser = await signed_in_browser(new_browser, alice)
    await browser.open_and_submit(page["directives"], page["directives"], DIRECTIVES)
    await browser.open_and_submit(page["person"], page["person"], PERSON)

    nurses = await signed_in_browser(new_browser, nurse)
    card = await nurses.get(
        f"/dossiers/{dossier}/cards/end_of_life", headers={"HX-Request": "true"}
    )
    assert card.status_code == 200
    assert "02/03/2026" in card.text  # the directives' date
    assert "Inès Roux" in card.text

    plugins = portal.state.plugins
    view = SimpleNamespace(id=dossier)  # the hooks read only the dossier's id
    lines = {line.key: line.value for line in await plugins.emergency_items("end_of_life", view)}
    assert lines.keys() == {"directives", "trusted_person", "trusted_person_phone"}
    assert "02/03/2026" in lines["directives"]
    assert lines["trusted_person"] == "Inès Roux (fille)"
    assert lines["trusted_person_phone"] == "06 98 76 54 32"
    printed = await plugins.print_section("end_of_life", view)
    html = portal.template_engine.get_template(printed.template).render(
        **printed.context, view=view
    )
    assert "Chez moi, près du jardin." in html
    assert "Inès Roux" in html


async def test_a_yearly_invitation_to_review_the_wishes(portal, new_browser, clock):
    alice = await new_patient()
    dossier = await dossier_of(alice)
    page = pages(dossier)
    browser = await signed_in_browser(new_browser, alice)
    await browser.open_and_submit(page["directives"], page["directives"], DIRECTIVES)
    nothing = await new_patient(first_name="Rose")  # no wishes: nothing to review
    await dossier_of(nothing)
    plugins = portal.state.plugins

    def invitations():
        return Notification.count().where(
            Notification.account == alice.id, Notification.kind == "end_of_life_review"
        )

    clock.advance(days=300)
    assert await plugins.send_reminders(clock()) == 0
    clock.advance(days=70)
    assert await plugins.send_reminders(clock()) == 1
    assert await plugins.send_reminders(clock()) == 0  # the next day's run: once a year
    clock.advance(days=200)
    assert await plugins.send_reminders(clock()) == 0
    assert await invitations() == 1
    clock.advance(days=170)
    assert await plugins.send_reminders(clock()) == 1
    assert await invitations() == 2
    notification = await Notification.select().where(Notification.account == alice.id).first()
    assert notification["link"] == page["wishes"]


async def test_the_demo_camille_prints_her_wishes_the_gp_and_nurse_read_the_dentist_is_refused(
    portal, new_browser
):
    assert await load_demo(portal.state.plugins)
    people = {
        person.login: person
        for person in [
            Person(row["id"], row["login"], row["role"], row["first_name"], row["last_name"],
                   DEMO_PASSWORD, DEMO_TOTP_SECRET)
            for row in await Account.select()
        ]
    }  # fmt: skip
    camille = people["camille.martin@demo.carnet.fr"]
    dossier = (await Dossier.select(Dossier.id).where(Dossier.patient.account == camille.id))[0]
    page = pages(dossier["id"])

    browser = await signed_in_browser(new_browser, camille)
    shown = (await browser.get(page["wishes"])).text
    assert "Hélène Martin" in shown
    assert "soins palliatifs" in shown
    changed = await browser.open_and_submit(
        page["person"], page["person"], {"phone": "06 11 22 33 44"}
    )
    assert changed.status_code == 303
    for pdf in ("directives.pdf", "trusted_person.pdf"):
        printed = await browser.get(f"{page['wishes']}/{pdf}")
        assert printed.status_code == 200
        assert "Camille Martin" in text_of(printed.content)

    for login in ("dr.bernard@demo.carnet.fr", "inf.durand@demo.carnet.fr"):
        reader = await signed_in_browser(new_browser, people[login])
        read = await reader.get(page["wishes"])
        assert read.status_code == 200, login
        assert "06 11 22 33 44" in read.text
    dentist = await signed_in_browser(new_browser, people["dr.moreau@demo.carnet.fr"])
    assert (await dentist.get(page["wishes"])).status_code == 403

    events = [
        (event["actor_name"], event["action"], event["outcome"])
        for event in await trail(dossier["id"])
        if event["target_id"] == "end_of_life" or event["target_type"] == "pdf"
    ]
    assert events == [
        ("Camille Martin", "view", "allowed"),  # her wishes
        ("Camille Martin", "view", "allowed"),  # the form
        ("Camille Martin", "create", "allowed"),  # the new phone number
        ("Camille Martin", "print", "allowed"),
        ("Camille Martin", "print", "allowed"),
        ("Sophie Bernard", "view", "allowed"),
        ("Luc Durand", "view", "allowed"),
        ("Claire Moreau", "view", "refused"),
    ]
    history = (await browser.get(f"/dossiers/{dossier['id']}/history")).text
    for person in ("dr.bernard@demo.carnet.fr", "inf.durand@demo.carnet.fr",
                   "dr.moreau@demo.carnet.fr"):  # fmt: skip
        assert people[person].last_name in history
