"""Camille's health measures in a real browser, on a 360 × 640 phone, with JavaScript and
without: her blood-pressure chart drawn within the screen with its values beside it, the page
checked like every other (layout, accessibility, budgets), and a reading she records, refused
first when it cannot be right."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import log_in, translated
from .pages import PHONE, checked, journey_page

pytestmark = pytest.mark.browser

CAMILLE = "camille.martin@demo.carnet.fr"


def test_camille_reads_her_blood_pressure_chart_and_records_a_reading(new_page, javascript, totp):
    camille = journey_page(new_page, javascript, "measures")
    log_in(camille, CAMILLE, totp)
    expect(camille).to_have_url(re.compile(r"/dossiers/[0-9a-f-]{36}$"))
    camille.goto(f"{camille.url}/measures")

    title = translated("%(measure)s over time; the values are in the table.")
    chart = camille.get_by_role("img", name=title % {"measure": translated("Blood pressure")})
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert box["width"] > 0.8 * PHONE["width"] - 40  # drawn across the screen, not shrunk
    expect(camille.get_by_text(translated("The values, as a table")).first).to_be_visible()
    checked(camille, "measures")

    camille.get_by_label(translated("Measure"), exact=True).select_option("blood_pressure")
    camille.get_by_label(translated("Value"), exact=True).fill("400")
    camille.get_by_label(translated("Diastolic"), exact=True).fill("80")
    camille.get_by_role("button", name=translated("Save the reading")).click()
    expect(camille.locator("#value-error")).to_contain_text("400 mmHg")
    checked(camille, "measures-refused")

    camille.get_by_label(translated("Value"), exact=True).fill("128")
    camille.get_by_role("button", name=translated("Save the reading")).click()
    expect(camille.get_by_text(translated("The reading is saved."))).to_be_visible()
    expect(camille.get_by_text("128/80 mmHg").first).to_be_visible()
