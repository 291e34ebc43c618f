"""The medical summary (volet de synthèse médicale): the médecin traitant writes it section by
section, inline with htmx or page by page without JavaScript; each save is a new version and
the versions page says what each one added and removed; the patient's side reads it and
reports a line as wrong, which the médecin traitant is told of, sees and marks handled; the
other professionals read it as far as their profession reads summaries, and nobody else gets
anything. Bad input is refused with a message and saves nothing; an edit based on an older
version is refused (409) with the typed text kept; a summary over a year old is pointed out,
on the page and by a reminder to the médecin traitant."""

from __future__ import annotations

import gzip
import re
import secrets
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest

from portal import clock as wall_clock
from portal import crypto
from portal.access.tables import Joined
from portal.audit.tables import AuditEvent
from portal.demo import DEMO_PASSWORD, DEMO_PEOPLE, DEMO_TOTP_SECRET, load_demo
from portal.dossiers import summary
from portal.dossiers.tables import Dossier, DossierStatus, SummaryFlag, SummaryVersion
from portal.identity.tables import Account, Role
from portal.notifications.tables import Notification
from tests.access.conftest import dossier_of, join, post_form, represent, signed_in_browser, trail
from tests.conftest import translated
from tests.identity.conftest import Browser, Person, log_in, new_patient, new_professional
from tests.pdf.test_render_pdf import text_of

HTMX = {"HX-Request": "true"}
PAGE_BUDGET = 14_600


def fr(message: str, **names) -> str:
    return translated("fr", message) % names if names else translated("fr", message)


@dataclass
class Practice:
    """Camille, her médecin traitant Dr Bernard, and Dr Garcia in her care circle."""

    patient: Person
    traitant: Person
    colleague: Person
    dossier: UUID

    @property
    def page(self) -> str:
        return f"/dossiers/{self.dossier}/summary"

    def section(self, key: str) -> str:
        return f"{self.page}/sections/{key}"


async def practice() -> Practice:
    patient = await new_patient(first_name="Camille", last_name="Martin")
    traitant = await new_professional(first_name="Sophie", last_name="Bernard")
    colleague = await new_professional(first_name="Karim", last_name="Garcia")
    dossier = await dossier_of(patient, medecin_traitant=traitant.id)
    await join(dossier, colleague)
    return Practice(patient, traitant, colleague, dossier)


async def edit(
    browser: Browser, path: str, values: dict, headers: dict | None = None, status: int = 303
):
    """Open a section's form and send it with ``values``."""
    form = await browser.get(path, headers=headers)
    assert form.status_code == 200, form.status_code
    answer = await browser.submit(path, values, headers=headers)
    assert answer.status_code == status, (answer.status_code, answer.text[-2000:])
    return answer


async def versions(dossier: UUID) -> list[dict]:
    """The summary's versions as stored, their sealed sections opened."""
    rows = await (
        SummaryVersion.select()
        .where(SummaryVersion.dossier == dossier)
        .order_by(SummaryVersion.number)
        .output(load_json=True)
    )
    return await summary.opened_versions(dossier, rows)


async def flags(dossier: UUID) -> list[dict]:
    """The lines reported as wrong, as stored, opened."""
    rows = await SummaryFlag.select().where(SummaryFlag.dossier == dossier)
    return await crypto.opened(dossier, SummaryFlag, rows)


async def with_a_summary(browser: Browser, setting: Practice) -> None:
    """The médecin traitant writes the problems, an allergy and a treatment."""
    await edit(browser, setting.section("problems"), {"problems": "Hypothyroïdie\nAsthme"})
    await edit(
        browser,
        setting.section("allergies"),
        {"substance-0": "pénicilline", "reaction-0": "urticaire", "severity-0": "moderee"},
    )
    await edit(browser, setting.section("treatments"), {"treatments": "Lévothyroxine 75 µg"})


def error_text(page: str, name: str) -> str:
    match = re.search(rf'<p class="error" id="{re.escape(name)}-error">(.*?)</p>', page, re.S)
    return match.group(1).strip() if match else ""


# --- the médecin traitant writes it ---------------------------------------------------------


async def test_the_medecin_traitant_starts_the_summary_without_javascript(portal, new_browser):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    empty = await browser.get(setting.page)
    assert empty.status_code == 200
    assert fr("No summary yet.") in empty.text
    assert 'href="' + setting.section("problems") + '"' in empty.text

    form = await browser.get(setting.section("problems"))
    assert form.status_code == 200
    assert '<label for="problems">' in form.text
    assert 'name="based_on" value="0"' in form.text
    saved = await browser.submit(
        setting.section("problems"), {"problems": "\n  Hypothyroïdie  \n\n\nAsthme\n   \n"}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{setting.page}#summary-problems"
    [first] = await versions(setting.dossier)
    assert first["number"] == 1
    assert first["author"] == setting.traitant.id
    assert first["author_name"] == "Sophie Bernard"
    assert first["sections"]["problems"] == ["Hypothyroïdie", "Asthme"]  # empty lines dropped
    page = await browser.get(setting.page)
    assert fr("Saved: the summary is now at version %(number)s.", number=1) in page.text
    assert "<li>Hypothyroïdie" in page.text
    today = wall_clock.now().strftime("%d/%m/%Y")
    version = fr("Version %(number)s of %(date)s, by %(name)s.", number=1, date=today,
                 name="Sophie Bernard")  # fmt: skip
    assert version in page.text
    events = [
        (event["action"], event["target_type"], event["outcome"])
        for event in await trail(setting.dossier, setting.traitant)
        if event["action"] != "view"
    ]
    assert events == [("create", "summary", "allowed")]


async def test_sections_are_edited_inline_with_htmx(portal, new_browser):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    await edit(browser, setting.section("problems"), {"problems": "Hypothyroïdie"})

    form = await browser.get(setting.section("allergies"), headers=HTMX)
    assert form.status_code == 200
    assert "<html" not in form.text
    assert form.text.lstrip().startswith('<section id="summary-allergies"')
    assert f'hx-post="{setting.section("allergies")}"' in form.text
    assert 'hx-target="#summary-allergies"' in form.text
    assert 'name="based_on" value="1"' in form.text
    assert 'id="substance-0"' in form.text  # one empty line to fill in, and a button to add one
    assert 'id="substance-1"' not in form.text
    assert f'name="add" value="1" class="secondary">{fr("Add an allergy")}</button>' in form.text
    assert 'name="substance-0" type="text" value="" autofocus>' in form.text
    saved = await browser.submit(
        setting.section("allergies"),
        {"substance-0": "pénicilline", "reaction-0": "urticaire", "severity-0": "moderee",
         "substance-1": "  ", "reaction-1": "", "substance-2": "latex"},
        headers=HTMX,
    )  # fmt: skip
    assert saved.status_code == 200
    assert "<html" not in saved.text
    assert '<section id="summary-allergies"' in saved.text
    assert f"pénicilline (urticaire, {fr('moderate')})" in saved.text
    assert "<li>latex" in saved.text
    # The version shown at the top of the page is replaced as well.
    assert '<div id="summary-status" hx-swap-oob="true">' in saved.text
    assert fr("Saved: the summary is now at version %(number)s.", number=2) in saved.text

    first, second = await versions(setting.dossier)
    assert second["number"] == 2
    assert second["sections"]["problems"] == ["Hypothyroïdie"]  # the other sections are kept
    assert second["sections"]["allergies"] == [
        {"substance": "pénicilline", "reaction": "urticaire", "severity": "moderee"},
        {"substance": "latex", "reaction": "", "severity": ""},
    ]
    assert first["sections"]["allergies"] == []  # the first version is as it was


async def test_each_allergy_is_one_line_and_add_gives_one_more(portal, new_browser):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(browser, setting)
    for headers in ({}, HTMX):
        form = await browser.get(setting.section("allergies"), headers=headers)
        assert 'value="pénicilline"' in form.text
        assert 'id="substance-1"' in form.text
        assert 'id="substance-2"' not in form.text
        # "Add an allergy": what was typed comes back with one more empty line, focused.
        added = await browser.submit(
            setting.section("allergies"),
            {"substance-0": "pénicilline", "reaction-0": "urticaire", "severity-0": "moderee",
             "substance-1": "latex", "add": "1"},
            headers=headers,
        )  # fmt: skip
        assert added.status_code == 200
        assert 'value="latex"' in added.text
        assert 'name="substance-2" type="text" value="" autofocus>' in added.text
        assert 'id="substance-3"' not in added.text
        label = fr("Allergy %(number)s, substance", number=3)
        assert f'<label for="substance-2" class="visually-hidden">{label}</label>' in added.text
    assert len(await versions(setting.dossier)) == 3  # nothing saved by "add"


async def test_allergies_come_first_on_the_summary_page_and_in_its_pdf(portal, new_browser):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(browser, setting)
    page = (await browser.get(setting.page)).text
    headings = re.findall(r'<h2 id="summary-([a-z_]+)-title">', page)
    assert headings[:3] == ["allergies", "treatments", "problems"]
    printed = text_of((await browser.get(f"{setting.page}.pdf")).content)
    allergies, problems = fr("Allergies and intolerances"), fr("Active problems")
    assert printed.index(allergies) < printed.index(problems)


async def test_every_section_can_be_written_and_notes_are_a_text(portal, new_browser):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    for key in ("medical_history", "surgical_history", "family_history", "risk_factors"):
        await edit(browser, setting.section(key), {key: f"Ligne de {key}"})
    await edit(browser, setting.section("notes"), {"notes": "Groupe A+.\n\nVit seule."})
    latest = (await versions(setting.dossier))[-1]
    assert latest["number"] == 5
    assert latest["sections"]["family_history"] == ["Ligne de family_history"]
    assert latest["sections"]["notes"] == "Groupe A+.\n\nVit seule."
    page = (await browser.get(setting.page)).text
    for section in summary.SECTIONS:
        assert f'<h2 id="summary-{section.key}-title">{fr(str(section.label))}</h2>' in page


async def test_the_versions_page_shows_what_was_added_and_removed(portal, new_browser):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(browser, setting)
    await edit(
        browser, setting.section("treatments"), {"treatments": "Lévothyroxine 100 µg\nVentoline"}
    )
    page = await browser.get(f"{setting.page}/versions")
    assert page.status_code == 200
    text = page.text
    latest = text.split('id="version-4"')[1].split('id="version-3"')[0]
    added, removed = fr("added:"), fr("removed:")
    assert f"<strong>{added}</strong> Lévothyroxine 100 µg" in latest
    assert f"<strong>{added}</strong> Ventoline" in latest
    assert f"<strong>{removed}</strong> Lévothyroxine 75 µg" in latest
    assert "Hypothyroïdie" not in latest  # unchanged sections are not repeated
    allergy = text.split('id="version-2"')[1].split('id="version-1"')[0]
    assert f"<strong>{added}</strong> pénicilline (urticaire, {fr('moderate')})" in allergy
    first = text.split('id="version-1"')[1]
    assert f"<strong>{added}</strong> Hypothyroïdie" in first
    assert f"<strong>{added}</strong> Asthme" in first


def test_changes_count_repeated_lines():
    before = summary.normalised({"problems": ["A", "B", "A"], "notes": "x\ny"})
    after = summary.normalised({"problems": ["A", "C"], "notes": "y\nz"})
    found = {change["section"].key: change for change in summary.changes(before, after)}
    assert (found["problems"]["added"], found["problems"]["removed"]) == (["C"], ["A", "B"])
    assert (found["notes"]["added"], found["notes"]["removed"]) == (["z"], ["x"])
    assert set(found) == {"problems", "notes"}


# --- who reads, who writes ------------------------------------------------------------------


async def test_a_colleague_of_the_circle_reads_but_cannot_edit(portal, new_browser):
    setting = await practice()
    traitant = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(traitant, setting)
    colleague = await signed_in_browser(new_browser, setting.colleague)

    page = await colleague.get(setting.page)
    assert page.status_code == 200
    assert "Hypothyroïdie" in page.text
    assert f'href="{setting.section("problems")}"' not in page.text
    section = await colleague.get(setting.section("problems"))
    assert section.status_code == 200  # as it reads, without a form
    assert "Hypothyroïdie" in section.text
    assert f'action="{setting.section("problems")}"' not in section.text

    for headers in ({}, HTMX):
        refused = await post_form(
            colleague,
            setting.section("problems"),
            headers,
            problems="Rien",
            based_on="3",
        )
        assert refused.status_code == 403
    assert len(await versions(setting.dossier)) == 3
    refusals = [
        (event["action"], event["target_type"], event["reason"])
        for event in await trail(setting.dossier, setting.colleague)
        if event["outcome"] == "refused"
    ]
    assert refusals == [("update", "summary", "the médecin traitant writes the summary")] * 2


@pytest.mark.parametrize(
    ("profession", "status"),
    [("chirurgien_dentiste", 200), ("pharmacien", 200), ("medecin_du_travail", 404)],
)
async def test_professions_read_the_summary_as_the_matrix_says(
    portal, new_browser, profession, status
):
    setting = await practice()
    traitant = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(traitant, setting)
    someone = await new_professional(first_name="Claire", last_name="Moreau", profession=profession)
    await join(setting.dossier, someone)
    browser = await signed_in_browser(new_browser, someone)
    for path in (setting.page, f"{setting.page}/versions", setting.section("allergies")):
        answer = await browser.get(path)
        assert answer.status_code == status, path
        assert ("pénicilline" in answer.text) == (status == 200)
    refused = await post_form(browser, setting.section("problems"), problems="Rien")
    assert refused.status_code in (403, 404)
    assert len(await versions(setting.dossier)) == 3


async def test_a_stranger_gets_nothing(portal, new_browser):
    setting = await practice()
    traitant = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(traitant, setting)
    stranger = await new_professional(first_name="Inès", last_name="Faure")
    browser = await signed_in_browser(new_browser, stranger)
    for path in (setting.page, f"{setting.page}/versions", setting.section("problems")):
        for headers in ({}, HTMX):
            answer = await browser.get(path, headers=headers)
            assert answer.status_code == 404
            assert "Hypothyroïdie" not in answer.text
    for path, fields in (
        (setting.section("problems"), {"problems": "Rien", "based_on": "3"}),
        (f"{setting.page}/flags", {"section": "problems", "line": "Asthme"}),
        (f"{setting.page}/flags/{uuid4()}/resolve", {}),
    ):
        assert (await post_form(browser, path, **fields)).status_code == 404
    assert len(await versions(setting.dossier)) == 3
    outcomes = {event["outcome"] for event in await trail(setting.dossier, stranger)}
    assert outcomes == {"refused"}


async def test_an_unknown_section_is_not_found(portal, new_browser):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    assert (await browser.get(setting.section("secrets"))).status_code == 404
    answer = await post_form(browser, setting.section("secrets"), secrets="x", based_on="0")
    assert answer.status_code == 404
    assert await versions(setting.dossier) == []


async def test_each_page_traces_one_read(portal, new_browser):
    setting = await practice()
    for person in (setting.patient, setting.traitant):
        browser = await signed_in_browser(new_browser, person)
        for path in (setting.page, f"{setting.page}/versions", setting.section("allergies")):
            for headers in ({}, HTMX):
                last = (
                    await AuditEvent.select(AuditEvent.id)
                    .order_by(AuditEvent.id, ascending=False)
                    .first()
                )
                assert (await browser.get(path, headers=headers)).status_code == 200
                new = await AuditEvent.select().where(AuditEvent.id > last["id"])
                assert [
                    (event["action"], event["target_type"], event["actor_account"]) for event in new
                ] == [("view", "summary", person.id)], path


# --- the patient reads and flags ------------------------------------------------------------


async def test_the_patient_reports_a_line_and_the_medecin_traitant_handles_it(portal, new_browser):
    setting = await practice()
    traitant = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(traitant, setting)
    patient = await signed_in_browser(new_browser, setting.patient)

    page = await patient.get(setting.page)
    assert page.status_code == 200
    assert "Asthme" in page.text
    assert f'href="{setting.section("problems")}"' not in page.text  # no editing
    # The button's accessible name says which line it reports.
    assert (
        f'{fr("Report this line")}<span class="visually-hidden"> — Asthme</span></button>'
        in page.text
    )
    flagged = await patient.post(
        f"{setting.page}/flags",
        {"csrf_token": patient.csrf_token, "section": "problems", "line": "Asthme",
         "note": "Je n’ai jamais eu d’asthme."},
    )  # fmt: skip
    assert (flagged.status_code, flagged.headers["location"]) == (303, setting.page)
    [flag] = await flags(setting.dossier)
    assert (flag["section"], flag["line"], flag["flagged_by"]) == (
        "problems",
        "Asthme",
        setting.patient.id,
    )
    assert flag["resolved_at"] is None
    mine = await patient.get(setting.page)
    assert fr("Thank you: your médecin traitant will see that you reported this line.") in (
        mine.text
    )
    assert fr("Lines reported as wrong") in mine.text
    traced = [
        (event["action"], event["target_type"], event["outcome"])
        for event in await trail(setting.dossier, setting.patient)
        if event["action"] != "view"
    ]
    assert traced == [("create", "summary_flag", "allowed")]

    [notice] = await Notification.select().where(Notification.account == setting.traitant.id)
    assert notice["kind"] == "summary_flag"
    assert notice["link"] == setting.page
    seen = await traitant.get(setting.page)
    reported = seen.text.split(fr("Lines reported as wrong"))[1]
    assert "Asthme" in reported
    assert "Je n’ai jamais eu d’asthme." in reported
    assert "Camille Martin" in reported
    colleague = await signed_in_browser(new_browser, setting.colleague)
    assert fr("Lines reported as wrong") not in (await colleague.get(setting.page)).text

    resolve = f"{setting.page}/flags/{flag['id']}/resolve"
    assert (await post_form(colleague, resolve)).status_code == 403
    assert (await post_form(patient, resolve)).status_code == 403
    handled = await traitant.submit(resolve)
    assert (handled.status_code, handled.headers["location"]) == (303, setting.page)
    [flag] = await flags(setting.dossier)
    assert flag["resolved_at"] is not None
    assert fr("Lines reported as wrong") not in (await traitant.get(setting.page)).text


async def test_a_representative_reports_a_line_too(portal, new_browser):
    setting = await practice()
    traitant = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(traitant, setting)
    parent = await new_patient(first_name="Paul", last_name="Martin")
    await represent(setting.dossier, parent)
    browser = await signed_in_browser(new_browser, parent)
    await browser.get(setting.page)
    answer = await browser.post(
        f"{setting.page}/flags",
        {"csrf_token": browser.csrf_token, "section": "treatments",
         "line": "Lévothyroxine 75 µg"},
    )  # fmt: skip
    assert answer.status_code == 303
    assert await SummaryFlag.count() == 1


async def test_bad_reports_are_refused_with_a_message(portal, new_browser):
    setting = await practice()
    traitant = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(traitant, setting)
    patient = await signed_in_browser(new_browser, setting.patient)
    await patient.get(setting.page)
    flags = f"{setting.page}/flags"
    for fields, status, message in (
        ({"section": "problems", "line": "Diabète"}, 409,
         fr("This line is no longer in the summary: it has changed since.")),
        ({"section": "nowhere", "line": "Asthme"}, 400,
         fr("Choose the line that is wrong with its button “This line is wrong”.")),
        ({"section": "problems", "line": "Asthme", "note": "x" * 1001}, 400,
         fr("Your note is %(length)s characters long: at most %(max)s are allowed.",
            length=1001, max=1000)),
    ):  # fmt: skip
        answer = await patient.post(flags, {"csrf_token": patient.csrf_token, **fields})
        assert answer.status_code == status, fields
        assert message in answer.text
    # A professional does not report lines, not even the médecin traitant.
    refused = await post_form(traitant, flags, section="problems", line="Asthme")
    assert refused.status_code == 403
    assert await SummaryFlag.count() == 0
    assert await Notification.count() == 0


async def test_no_report_on_a_closed_record_nor_before_there_is_a_summary(portal, new_browser):
    setting = await practice()
    patient = await signed_in_browser(new_browser, setting.patient)
    page = await patient.get(setting.page)
    assert page.status_code == 200
    assert fr("No summary yet.") in page.text
    assert fr("This line is wrong") not in page.text
    answer = await post_form(patient, f"{setting.page}/flags", section="problems", line="x")
    assert answer.status_code == 409
    traitant = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(traitant, setting)
    await Dossier.update({Dossier.status: DossierStatus.CLOSED}).where(
        Dossier.id == setting.dossier
    )
    closed = await patient.get(setting.page)
    assert closed.status_code == 200
    assert "Asthme" in closed.text
    assert fr("This line is wrong") not in closed.text
    answer = await post_form(patient, f"{setting.page}/flags", section="problems", line="Asthme")
    assert answer.status_code == 403
    assert await SummaryFlag.count() == 0


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "fields", "field", "message"),
    [
        ("problems", {"problems": "Asthme\n" + "x" * 301}, "problems",
         ("Line %(number)s is %(length)s characters long: at most %(max)s are allowed. "
          "Shorten it, or split it into two lines.", {"number": 2, "length": 301, "max": 300})),
        ("treatments", {"treatments": "\n".join(f"T{n}" for n in range(101))}, "treatments",
         ("%(count)s lines: at most %(max)s are allowed.", {"count": 101, "max": 100})),
        ("allergies", {"substance-0": "", "reaction-0": "urticaire", "severity-0": "severe"},
         "substance-0",
         ("Name the substance, or empty the whole row to leave it out.", {})),
        ("allergies", {"substance-0": "latex", "severity-0": "mortelle"}, "severity-0",
         ("Unknown severity: choose mild, moderate or severe, or leave it unspecified.", {})),
        ("allergies", {"substance-0": "latex", "reaction-0": "r" * 301}, "reaction-0",
         ("%(length)s characters: at most %(max)s are allowed.", {"length": 301, "max": 300})),
        ("notes", {"notes": "n" * 5001}, "notes",
         ("The notes are %(length)s characters long: at most %(max)s are allowed.",
          {"length": 5001, "max": 5000})),
    ],
    ids=["long-line", "too-many-lines", "allergy-without-substance", "unknown-severity",
         "long-reaction", "long-notes"],
)  # fmt: skip
async def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(
    portal, new_browser, section, fields, field, message
):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(browser, setting)
    for headers in ({}, HTMX):
        answer = await edit(browser, setting.section(section), fields, headers, status=400)
        assert error_text(answer.text, field) == fr(message[0], **message[1])
        assert f'aria-describedby="{field}-error' in answer.text
        assert f'href="#{field}"' in answer.text  # the error summary leads to the field
        assert ("<html" in answer.text) == (not headers)
    assert len(await versions(setting.dossier)) == 3


async def test_html_is_shown_as_text(portal, new_browser):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    script = '<script>alert("x")</script>'
    await edit(browser, setting.section("problems"), {"problems": script})
    await edit(browser, setting.section("allergies"), {"substance-0": "<b>latex</b>"})
    for path in (setting.page, f"{setting.page}/versions", setting.section("problems")):
        page = (await browser.get(path)).text
        assert script not in page
        assert "<b>latex" not in page
    page = (await browser.get(setting.page)).text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert (await versions(setting.dossier))[-1]["sections"]["problems"] == [script]


async def test_control_characters_are_dropped(portal, new_browser):
    """Nothing a person types, and PostgreSQL refuses the NUL character."""
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    await edit(browser, setting.section("problems"), {"problems": "Asth\x00me\r\nHTA\x07"})
    await edit(browser, setting.section("allergies"), {"substance-0": "la\x00tex"})
    latest = (await versions(setting.dossier))[-1]["sections"]
    assert latest["problems"] == ["Asthme", "HTA"]
    assert latest["allergies"][0]["substance"] == "latex"
    patient = await signed_in_browser(new_browser, setting.patient)
    await patient.get(setting.page)
    answer = await patient.post(
        f"{setting.page}/flags",
        {"csrf_token": patient.csrf_token, "section": "problems", "line": "HTA",
         "note": "Jamais\x00 eu"},
    )  # fmt: skip
    assert answer.status_code == 303
    [flag] = await flags(setting.dossier)
    assert flag["note"] == "Jamais eu"


async def test_an_edit_based_on_an_older_version_is_refused_and_the_text_kept(portal, new_browser):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(browser, setting)
    # The form is opened in a first tab...
    first_tab = await browser.get(setting.section("problems"), headers=HTMX)
    assert 'name="based_on" value="3"' in first_tab.text
    # ...another tab saves the same section meanwhile...
    other = await signed_in_browser(new_browser, setting.traitant)
    await edit(other, setting.section("problems"), {"problems": "Hypothyroïdie\nHTA"})
    # ...and the first tab's save comes second.
    for headers in (HTMX, {}):
        stale = await browser.post(
            setting.section("problems"),
            {"csrf_token": browser.csrf_token, "based_on": "3",
             "problems": "Hypothyroïdie\nAsthme sévère"},
            headers=headers,
        )  # fmt: skip
        assert stale.status_code == 409
        assert (
            fr(
                "%(name)s saved a new version of the summary (version %(number)s) since you "
                "opened this form. Your text below is not saved yet: compare it with the "
                "section as it is now, then save again.",
                name="Sophie Bernard",
                number=4,
            )
            in stale.text
        )
        assert "Hypothyroïdie\nAsthme sévère</textarea>" in stale.text  # what was typed
        assert "<li>HTA</li>" in stale.text  # the section as it is now
        assert 'name="based_on" value="4"' in stale.text  # saving again is now possible
    assert len(await versions(setting.dossier)) == 4
    # A form without the version it was based on is stale too.
    missing = await post_form(browser, setting.section("problems"), problems="Rien")
    assert missing.status_code == 409
    again = await browser.post(
        setting.section("problems"),
        {"csrf_token": browser.csrf_token, "based_on": "4",
         "problems": "Hypothyroïdie\nHTA\nAsthme"},
    )  # fmt: skip
    assert again.status_code == 303
    assert (await versions(setting.dossier))[-1]["sections"]["problems"] == [
        "Hypothyroïdie",
        "HTA",
        "Asthme",
    ]


# --- a year later ---------------------------------------------------------------------------


async def test_a_summary_over_a_year_old_is_pointed_out_and_reminded_once(
    portal, new_browser, clock
):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(browser, setting)
    warning = fr("This summary is more than a year old: it may no longer be accurate.")
    assert warning not in (await browser.get(setting.page)).text
    assert await summary.remind_outdated(clock()) == 0

    clock.advance(days=366)
    assert await summary.remind_outdated(clock()) == 1
    reminders = (
        await Notification.select()
        .where(Notification.account == setting.traitant.id, Notification.kind == "summary_outdated")
        .output(load_json=True)
    )
    assert [(row["link"], row["params"]["patient"]) for row in reminders] == [
        (setting.page, "Camille Martin")
    ]
    clock.advance(hours=6)
    assert await summary.remind_outdated(clock()) == 0  # not again the same day
    clock.advance(days=31)
    assert await summary.remind_outdated(clock()) == 1  # a month later, once more

    browser = await signed_in_browser(new_browser, setting.traitant)
    assert warning in (await browser.get(setting.page)).text
    patient = await signed_in_browser(new_browser, setting.patient)
    assert warning in (await patient.get(setting.page)).text
    # Updated, it is no longer outdated.
    await edit(browser, setting.section("risk_factors"), {"risk_factors": "Tabac"})
    assert warning not in (await browser.get(setting.page)).text
    clock.advance(days=40)
    assert await summary.remind_outdated(clock()) == 0


async def test_no_reminder_without_a_medecin_traitant_or_for_a_closed_record(
    portal, new_browser, clock
):
    setting = await practice()
    browser = await signed_in_browser(new_browser, setting.traitant)
    await with_a_summary(browser, setting)
    clock.advance(days=400)
    await Dossier.update({Dossier.medecin_traitant: None}).where(Dossier.id == setting.dossier)
    assert await summary.remind_outdated(clock()) == 0
    await Dossier.update(
        {Dossier.medecin_traitant: setting.traitant.id, Dossier.status: DossierStatus.CLOSED}
    ).where(Dossier.id == setting.dossier)
    assert await summary.remind_outdated(clock()) == 0


# --- what the overview shows, the demo, the budget ------------------------------------------


async def test_the_card_shows_allergies_first(portal):
    setting = await practice()
    sections = summary.normalised(
        {"allergies": [{"substance": "pénicilline", "reaction": "urticaire",
                        "severity": "moderee"}],
         "treatments": ["Lévothyroxine 75 µg"], "problems": ["Hypothyroïdie"],
         "notes": "Secret"}
    )  # fmt: skip
    latest = {"number": 2, "created_at": wall_clock.now(), "author_name": "Sophie Bernard",
              "sections": sections}  # fmt: skip
    template = portal.template_engine.get_template("dossiers/_summary_card.html")

    class View:
        id = setting.dossier
        now = wall_clock.now()

    card = template.render(summary=latest, view=View())  # in French, the default language
    assert fr("Allergies:") in card
    allergies = card.index(f"pénicilline (urticaire, {fr('moderate')})")
    assert allergies < card.index("Lévothyroxine 75 µg") < card.index("Hypothyroïdie")
    assert "Secret" not in card
    assert f'href="/dossiers/{setting.dossier}/summary"' in card
    assert fr("No summary yet.") in template.render(summary=None, view=View())


async def test_the_demo_gives_camille_a_summary_by_dr_bernard(portal, new_browser):
    assert await load_demo()
    camille = await Account.select().where(Account.login == DEMO_PEOPLE[0].login).first()
    bernard = await Account.select().where(Account.login == DEMO_PEOPLE[2].login).first()
    dossier = await Dossier.select(Dossier.id).where(Dossier.patient.account == camille["id"])
    dossier_id = dossier[0]["id"]
    first, second = await versions(dossier_id)
    assert second["author"] == bernard["id"]
    assert second["sections"]["allergies"] == [
        {"substance": "pénicilline", "reaction": "urticaire", "severity": "moderee"}
    ]
    assert summary.changes(first["sections"], summary.normalised(second["sections"]))

    browser = new_browser()
    await log_in(browser, Person(camille["id"], camille["login"], Role.PATIENT, "Camille",
                                 "Martin", DEMO_PASSWORD, DEMO_TOTP_SECRET))  # fmt: skip
    page = await browser.get(f"/dossiers/{dossier_id}/summary")
    assert page.status_code == 200
    assert f"pénicilline (urticaire, {fr('moderate')})" in page.text
    assert "Lévothyroxine 75 µg" in page.text
    assert "Appendicectomie en 2004" in page.text
    versions_page = await browser.get(f"/dossiers/{dossier_id}/summary/versions")
    assert "Lévothyroxine 50 µg" in versions_page.text


async def compressed_size(browser: Browser, path: str) -> int:
    headers = {"accept-encoding": "gzip"}
    async with browser.http.stream("GET", path, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200
    assert gzip.decompress(raw)
    return len(raw)


async def test_the_summary_pages_fit_the_budget(portal, new_browser):
    """A full summary, every line with its report form, and the forms of long sections."""
    setting = await practice()
    traitant = await signed_in_browser(new_browser, setting.traitant)
    long_line = "Insuffisance rénale chronique modérée, suivie en néphrologie, créatinine stable "
    words = [
        "aorte",
        "bronche",
        "cæcum",
        "duodénum",
        "estomac",
        "fémur",
        "glande",
        "hanche",
        "iléon",
        "jéjunum",
    ]
    for number, key in enumerate(("problems", "medical_history", "surgical_history", "treatments")):
        lines = "\n".join(
            f"{long_line}{n}, {words[(n + number) % 10]} {secrets.token_hex(4)}" for n in range(8)
        )
        await edit(traitant, setting.section(key), {key: lines})
    rows = {}
    for n in range(6):
        rows |= {f"substance-{n}": f"Substance {n}", f"reaction-{n}": "Œdème de Quincke",
                 f"severity-{n}": "severe"}  # fmt: skip
    await edit(traitant, setting.section("allergies"), rows)
    await post_form(
        (patient := await signed_in_browser(new_browser, setting.patient)),
        f"{setting.page}/flags",
        section="problems",
        line=(await versions(setting.dossier))[-1]["sections"]["problems"][0],
    )
    for browser, path in (
        (patient, setting.page),
        (traitant, setting.page),
        (traitant, f"{setting.page}/versions"),
        (traitant, setting.section("allergies")),
        (traitant, setting.section("problems")),
    ):
        size = await compressed_size(browser, path)
        assert size <= PAGE_BUDGET, f"{path} is {size} bytes compressed"


async def test_a_consultation_consent_professional_is_the_patients_news_on_first_read(
    portal, new_browser
):
    """Reading the summary is a first access like any other for a professional who declared
    the patient's consent."""
    setting = await practice()
    nurse = await new_professional(first_name="Luc", last_name="Durand", profession="infirmier")
    await join(setting.dossier, nurse, Joined.CONSENT)
    browser = await signed_in_browser(new_browser, nurse)
    assert (await browser.get(setting.page)).status_code == 200
    kinds = [
        row["kind"]
        for row in await Notification.select().where(Notification.account == setting.patient.id)
    ]
    assert kinds == ["first_access"]
