"""The health measures section through the portal, on the test kit's demo: who reads and
records readings (and the traces of both), every kind of bad reading refused with its message,
what is outside the normal range said as such, the chart and its table on the page and in the
PDF, the card, the emergency line, the demo's readings and the purge."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from plugins.measures.kinds import KINDS
from plugins.measures.readings import SHOWN_MAX
from plugins.measures.tables import Reading
from portal import clock, i18n
from portal.audit import Action
from portal.dossiers.lifecycle import MAINTENANCE, Reason, purge
from tests.pdf.test_render_pdf import text_of

CAMILLE = "camille.martin@demo.carnet.fr"  # the patient
DOCTOR = "dr.bernard@demo.carnet.fr"  # her médecin traitant
PHARMACIST = "ph.petit@demo.carnet.fr"  # in her care circle
DENTIST = "dr.moreau@demo.carnet.fr"  # in her care circle; dentists do not read measures
PHYSIOTHERAPIST = "mk.laurent@demo.carnet.fr"  # in her care circle; nor do physiotherapists
HTMX = {"HX-Request": "true"}
ENGLISH = {"Accept-Language": "en"}


def page_of(carnet) -> str:
    return f"/dossiers/{carnet.dossiers['camille']}/measures"


async def sign_in(carnet, login: str):
    client = await carnet.sign_in(login)
    client.headers.update(ENGLISH)
    return client


def a_reading(**fields: str) -> dict[str, str]:
    """The form for a reading of an hour ago (a weight of 64.5 kg, unless ``fields`` say)."""
    moment = clock.local(clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    return {"kind": "weight", "value": "64.5", "second_value": "", "measured_at": moment} | fields


async def done_by(carnet, login: str, since: int) -> list[tuple[str, str]]:
    """What ``login`` did in Camille's dossier after its first ``since`` events: (action,
    outcome), as her access history says."""
    events = (await carnet.trail(carnet.dossiers["camille"]))[since:]
    return [
        (e["action"], e["outcome"]) for e in events if e["actor_account"] == carnet.accounts[login]
    ]


async def traced(carnet) -> int:
    return len(await carnet.trail(carnet.dossiers["camille"]))


async def test_the_patient_records_her_blood_pressure_and_her_pharmacist_reads_it(carnet):
    since = await traced(carnet)
    camille = await sign_in(carnet, CAMILLE)
    added = await camille.post(
        page_of(carnet), data=a_reading(kind="blood_pressure", value="163", second_value="99")
    )
    assert added.status_code == 303
    [row] = await Reading.select().where(Reading.value == 163)
    assert (row["kind"], row["second_value"], row["author"]) == (
        "blood_pressure",
        99,
        carnet.accounts[CAMILLE],
    )
    assert await done_by(carnet, CAMILLE, since) == [("create", "allowed")]

    pharmacist = await sign_in(carnet, PHARMACIST)
    page = (await pharmacist.get(page_of(carnet))).text
    assert '<strong>163/99 mmHg</strong> <span class="badge warning">above normal</span>' in page
    assert await done_by(carnet, PHARMACIST, since) == [("view", "allowed")]


@pytest.mark.parametrize("login", [PHARMACIST, DOCTOR])
async def test_medecins_and_pharmaciens_record_readings_too(carnet, login):
    professional = await sign_in(carnet, login)
    added = await professional.post(page_of(carnet), data=a_reading(kind="heart_rate", value="44"))
    assert added.status_code == 303
    [row] = await Reading.select().where(Reading.kind == "heart_rate", Reading.value == 44)
    assert row["author"] == carnet.accounts[login]
    # Camille's access history tells it in the section's words.
    camille = await sign_in(carnet, CAMILLE)
    history = await camille.get(f"/dossiers/{carnet.dossiers['camille']}/history")
    assert "recorded a health measure" in history.text


async def test_the_matrix_says_who_reads_and_writes_the_measures(carnet):
    camille = carnet.dossiers["camille"]
    for login, reads in [
        (CAMILLE, True),
        (DOCTOR, True),
        (PHARMACIST, True),
        (DENTIST, False),
        (PHYSIOTHERAPIST, False),
    ]:
        view = await carnet.view(login, camille)
        assert view.may(Action.VIEW, "mesures") is reads, login
        assert view.may(Action.CREATE, "mesures") is reads, login
    [category] = carnet.app.state.plugins.section("measures").categories
    assert set(category.read) == set(category.write) == {"medecin", "infirmier", "pharmacien"}


@pytest.mark.parametrize("login", [DENTIST, PHYSIOTHERAPIST])
async def test_a_profession_that_does_not_read_measures_is_refused_and_traced(carnet, login):
    since = await traced(carnet)
    before = await Reading.count()
    professional = await sign_in(carnet, login)
    assert (await professional.get(page_of(carnet))).status_code == 403
    assert (await professional.post(page_of(carnet), data=a_reading())).status_code == 403
    assert await Reading.count() == before
    assert await done_by(carnet, login, since) == [("view", "refused"), ("create", "refused")]


async def test_every_bad_reading_is_refused_with_its_message_and_nothing_is_saved(carnet):
    camille = await sign_in(carnet, CAMILLE)
    future = clock.local(clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    out_of_range = {  # a value that cannot be real, for each measure
        "weight": "700",
        "blood_pressure": "400",
        "heart_rate": "7",
        "glucose": "12",
        "temperature": "52",
        "oxygen_saturation": "104",
    }
    assert set(out_of_range) == set(KINDS)
    cases = [
        *(
            (
                a_reading(
                    kind=kind, value=value, second_value="80" if len(KINDS[kind].parts) > 1 else ""
                ),
                "value",
                "cannot be right",
            )
            for kind, value in out_of_range.items()
        ),
        (a_reading(value="heavy"), "value", "Weight: give a number in kg."),
        (a_reading(value=""), "value", "Weight: give a number in kg."),
        (a_reading(value="nan"), "value", "cannot be right"),
        (a_reading(value="9" * 5000), "value", "cannot be right"),  # shown back cut short
        (
            a_reading(kind="temperature", value="38,5 °C"),
            "value",
            "Temperature: give a number in °C.",
        ),
        (a_reading(kind="stress", value="3"), "kind", "Choose a measure from the list."),
        (a_reading(second_value="80"), "second_value", "Only a blood pressure has a second"),
        (
            a_reading(kind="blood_pressure", value="120", second_value=""),
            "second_value",
            "Diastolic: give a number in mmHg.",
        ),
        (
            a_reading(kind="blood_pressure", value="80", second_value="120"),
            "second_value",
            "must be below the systolic",
        ),
        (a_reading(measured_at=future), "measured_at", "not in the future"),
        (a_reading(measured_at="yesterday"), "measured_at", "e.g. 14/03/2026 08:30"),
        (a_reading(measured_at="1960-01-01T08:00"), "measured_at", "after the birth date"),
    ]
    before = await Reading.count()
    for form, field, message in cases:
        answer = await camille.post(page_of(carnet), data=form)
        assert answer.status_code == 400, form
        assert f'<p class="error" id="{field}-error">' in answer.text, form
        error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', answer.text)
        assert message in error.group(1), (form, error.group(1))
        if field != "kind":
            assert f'value="{form[field][:40]}"' in answer.text, form  # as typed
        assert "9" * 41 not in answer.text
    assert await Reading.count() == before


async def test_a_reading_typed_the_french_way_keeps_its_unit_and_decimals(carnet):
    camille = await carnet.sign_in(CAMILLE)  # in French, the portal's language
    typed = a_reading(
        value="64,75", measured_at=clock.local(clock.now()).strftime("%d/%m/%Y %H:%M")
    )
    assert (await camille.post(page_of(carnet), data=typed)).status_code == 303
    [row] = (
        await Reading.select()
        .where(Reading.kind == "weight")
        .order_by(Reading.measured_at, ascending=False)
        .limit(1)
    )
    assert row["value"] == 64.8  # a weight keeps one decimal
    page = (await camille.get(page_of(carnet))).text
    assert "<strong>64,8 kg</strong>" in page


async def test_the_body_mass_index_comes_from_the_profile_s_height(carnet):
    camille = await sign_in(carnet, CAMILLE)
    assert "body mass index" not in (await camille.get(page_of(carnet))).text.lower()  # no height
    profile = f"/dossiers/{carnet.dossiers['camille']}/profile"
    assert (await camille.post(profile, data={"height_cm": "160"})).status_code == 303
    assert (await camille.post(page_of(carnet), data=a_reading(value="81"))).status_code == 303
    page = (await camille.get(page_of(carnet))).text
    # 81 / 1.60² = 31.6: obesity by the WHO's categories.
    assert 'body mass index: 31.6 <span class="badge warning">above normal</span>' in page
    assert '<td data-label="Body mass index">31.6 <span class' in page


async def test_the_page_shows_each_chart_beside_its_table_at_phone_width(carnet):
    camille = await sign_in(carnet, CAMILLE)
    page = (await camille.get(page_of(carnet))).text
    charts = re.findall(r"<svg .*?</svg>", page, re.DOTALL)
    assert len(charts) == len(KINDS)  # the demo has readings of each measure
    pressure = next(svg for svg in charts if 'aria-labelledby="chart-blood_pressure"' in svg)
    # It scales to the page's width (360 px on a phone) and weighs a few KB.
    assert 'viewBox="0 0 320 150" width="100%"' in pressure
    assert 'height="' not in pressure.split(">", 1)[0]
    assert len(pressure.encode()) < 8000
    assert "Blood pressure over time; the values are in the table." in pressure
    assert pressure.count("<polyline") == 2  # systolic and diastolic
    assert 'fill="#b91c1c"' in pressure  # the reading above normal stands out
    assert "style=" not in page.split('<div id="measures">', 1)[1]  # the CSP allows no style
    # The values beside it, each cell naming its column for the phone's layout.
    table = page.split('aria-labelledby="chart-blood_pressure"', 1)[1].split("</table>", 1)[0]
    cells = re.findall(r"<td[^>]*>", table)
    assert len(cells) > 40 * 3
    assert all("data-label=" in cell for cell in cells)


async def test_a_first_reading_draws_a_chart_of_one_point(carnet):
    jules = await sign_in(carnet, "jules.petit@demo.carnet.fr")  # no reading yet
    page = f"/dossiers/{carnet.dossiers['jules']}/measures"
    assert "No measure recorded yet." in (await jules.get(page)).text
    assert (await jules.post(page, data=a_reading(value="81.5"))).status_code == 303
    shown = (await jules.get(page)).text
    [chart] = re.findall(r"<svg .*?</svg>", shown, re.DOTALL)
    assert chart.count("<circle") == 1
    assert 'text-anchor="middle"' in chart  # its one day, under its one point
    assert "<strong>81.5 kg</strong>" in shown


async def test_the_page_shows_the_latest_readings_of_a_year_and_keeps_the_others(carnet):
    jules = carnet.dossiers["jules"]
    now = clock.now()
    await Reading.insert(
        *(
            Reading(
                dossier=jules,
                kind="heart_rate",
                value=60 + index % 20,
                measured_at=now - timedelta(days=400) + timedelta(hours=index),
                recorded_at=now,
            )
            for index in range(SHOWN_MAX + 30)  # thirty more than shown, over a year ago
        ),
        *(
            Reading(
                dossier=jules,
                kind="heart_rate",
                value=70,
                measured_at=now - timedelta(hours=index + 1),
                recorded_at=now,
            )
            for index in range(SHOWN_MAX + 10)  # ten more than shown
        ),
    )
    client = await sign_in(carnet, "jules.petit@demo.carnet.fr")
    page = (await client.get(f"/dossiers/{jules}/measures")).text
    [chart] = re.findall(r"<svg .*?</svg>", page, re.DOTALL)
    assert chart.count("<circle") == SHOWN_MAX
    assert page.count('<td data-label="Heart rate">') == SHOWN_MAX
    assert await Reading.count().where(Reading.dossier == jules) == 2 * SHOWN_MAX + 40


async def test_htmx_gets_the_panel_alone_and_a_saved_reading_in_it(carnet):
    camille = await sign_in(carnet, CAMILLE)
    panel = await camille.get(page_of(carnet), headers=HTMX)
    assert panel.status_code == 200
    assert '<div id="measures">' in panel.text
    assert "<html" not in panel.text
    added = await camille.post(
        page_of(carnet), data=a_reading(kind="oxygen_saturation", value="91"), headers=HTMX
    )
    assert added.status_code == 200
    assert "<html" not in added.text
    assert "The reading is saved." in added.text
    assert '<strong>91 %</strong> <span class="badge warning">below normal</span>' in added.text


async def test_the_card_shows_the_latest_reading_of_each_measure(carnet):
    doctor = await sign_in(carnet, DOCTOR)
    card = await doctor.get(f"/dossiers/{carnet.dossiers['camille']}/cards/measures", headers=HTMX)
    assert card.status_code == 200
    assert "Blood pressure: 142/91 mmHg" in card.text  # taken by Dr Bernard, 2 days ago
    assert card.text.count("<li>") == len(KINDS)
    assert f'href="{page_of(carnet)}"' in card.text


async def test_the_dossier_pdf_holds_the_blood_pressure_chart(carnet):
    camille = carnet.dossiers["camille"]
    view = await carnet.view(CAMILLE, camille)
    printed = await carnet.app.state.plugins.print_section("measures", view)
    html = carnet.app.template_engine.get_template(printed.template).render(
        view=view, **printed.context
    )
    assert 'aria-labelledby="chart-blood_pressure"' in html
    assert "<details>" not in html  # the table is unfolded on paper

    doctor = await sign_in(carnet, DOCTOR)
    pdf = await doctor.get(f"/dossiers/{camille}/export.pdf")
    assert pdf.status_code == 200
    text = text_of(pdf.content)
    assert "Health measures Blood pressure Latest: 142/91 mmHg above normal" in text
    assert "Systolic Diastolic" in text  # the chart's legend: WeasyPrint drew the SVG


async def test_the_emergency_card_shows_the_latest_blood_pressure(carnet):
    view = await carnet.view(DOCTOR, carnet.dossiers["camille"])
    plugins = carnet.app.state.plugins
    token = i18n.set_language("en")
    try:
        [item] = await plugins.emergency_items("measures", view)
    finally:
        i18n.reset_language(token)
    [latest] = (
        await Reading.select()
        .where(Reading.kind == "blood_pressure")
        .order_by(Reading.measured_at, ascending=False)
        .limit(1)
    )
    day = clock.day(latest["measured_at"])
    assert (item.key, item.label, item.value) == (
        "blood_pressure",
        "Blood pressure",
        f"142/91 mmHg ({day})",
    )
    camille = await sign_in(carnet, CAMILLE)
    card = await camille.get(f"/dossiers/{carnet.dossiers['camille']}/emergency-card")
    assert f"142/91 mmHg ({day})" in card.text


async def test_the_demo_holds_months_of_camille_s_readings(carnet):
    rows = await Reading.select().where(Reading.dossier == carnet.dossiers["camille"])
    pressures = [row for row in rows if row["kind"] == "blood_pressure"]
    assert len(pressures) >= 40
    span = max(r["measured_at"] for r in pressures) - min(r["measured_at"] for r in pressures)
    assert span >= timedelta(days=110)
    assert {row["kind"] for row in rows} == set(KINDS)
    for row in rows:  # every demo reading is one the form accepts
        kind = KINDS[row["kind"]]
        for part, value in zip(kind.parts, (row["value"], row["second_value"]), strict=False):
            assert part.plausible[0] <= value <= part.plausible[1]
    assert not await Reading.exists().where(Reading.dossier == carnet.dossiers["jules"])


async def test_the_readings_go_with_a_purged_dossier(carnet):
    camille = carnet.dossiers["camille"]
    assert await Reading.count().where(Reading.dossier == camille) > 0
    await purge(camille, MAINTENANCE, Reason.REQUEST)
    assert await Reading.count().where(Reading.dossier == camille) == 0
