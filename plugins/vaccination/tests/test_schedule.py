"""The schedule as data: what is up to date, due and overdue from a birth date and records."""

from __future__ import annotations

from datetime import date

from plugins.vaccination import schedule
from plugins.vaccination.reference import RULES, SOURCE, VACCINES
from plugins.vaccination.schedule import DUE, OVERDUE, UP_TO_DATE


def given(*pairs: tuple[str, date]) -> list[dict]:
    return [{"vaccine": vaccine, "given_on": day} for vaccine, day in pairs]


def status(birth: date, records: list[dict], today: date) -> dict[str, tuple]:
    return {
        due.rule.key: (due.status, due.due_on)
        for due in schedule.schedule_for(birth, records, today)
    }


def test_the_data_file_says_where_the_schedule_comes_from():
    assert SOURCE["year"] == 2025
    assert "Calendrier des vaccinations" in SOURCE["title"]
    assert {"dtpolio_adulte", "grippe", "zona", "hpv", "ror", "dtcapolio_enfant"} <= {
        rule.key for rule in RULES
    }
    covered = {disease for vaccine in VACCINES.values() for disease in vaccine.diseases}
    assert {"tetanos", "grippe", "zona", "papillomavirus", "fievre_jaune", "rage"} <= covered


def test_adult_boosters_at_25_45_65_then_every_ten_years():
    birth = date(1986, 4, 12)
    booster_at_25 = given(("dtcapolio_rappel", date(2011, 5, 17)))
    assert status(birth, booster_at_25, date(2026, 3, 2))["dtpolio_adulte"] == (
        UP_TO_DATE,
        date(2031, 4, 12),
    )
    assert status(birth, booster_at_25, date(2031, 6, 1))["dtpolio_adulte"] == (
        DUE,
        date(2031, 4, 12),
    )
    assert status(birth, [], date(2026, 3, 2))["dtpolio_adulte"] == (OVERDUE, date(2011, 4, 12))
    seventy_six = date(1950, 1, 10)
    at_65 = given(("dtpolio", date(2015, 2, 1)))
    assert status(seventy_six, at_65, date(2026, 3, 2))["dtpolio_adulte"] == (
        DUE,
        date(2025, 1, 10),
    )
    at_65_and_75 = at_65 + given(("dtpolio", date(2025, 2, 1)))
    assert status(seventy_six, at_65_and_75, date(2026, 3, 2))["dtpolio_adulte"] == (
        UP_TO_DATE,
        date(2035, 1, 10),
    )


def test_influenza_every_autumn_from_65():
    birth = date(1955, 6, 1)
    during_campaign = date(2026, 11, 2)
    assert status(birth, [], during_campaign)["grippe"] == (DUE, date(2026, 10, 14))
    vaccinated = given(("grippe", date(2026, 10, 20)))
    assert status(birth, vaccinated, during_campaign)["grippe"] == (UP_TO_DATE, date(2027, 10, 14))
    assert status(birth, [], date(2026, 6, 1))["grippe"][0] == UP_TO_DATE
    assert "grippe" not in status(date(1990, 1, 1), [], during_campaign)


def test_shingles_from_65_and_hpv_for_the_young():
    assert status(date(1960, 1, 5), [], date(2026, 3, 2))["zona"] == (OVERDUE, date(2025, 1, 5))
    assert status(date(2013, 9, 1), [], date(2026, 3, 2))["hpv"] == (DUE, date(2024, 9, 1))
    assert "hpv" not in status(date(1986, 4, 12), [], date(2026, 3, 2))  # past catching up


def test_an_infant_schedule_partly_done():
    birth = date(2025, 11, 1)
    first_doses = given(
        ("hexavalent", date(2026, 1, 2)), ("pneumocoque_conjugue", date(2026, 1, 2))
    )
    plan = {
        due.rule.key: due for due in schedule.schedule_for(birth, first_doses, date(2026, 3, 2))
    }
    assert (plan["dtcapolio_enfant"].status, plan["dtcapolio_enfant"].dose) == (DUE, 2)
    assert plan["dtcapolio_enfant"].due_on == date(2026, 3, 1)
    assert plan["meningocoque_b"].status == DUE  # born since 2022: 3 months
    assert plan["ror"].status == UP_TO_DATE  # at 12 months
    assert "dtpolio_adulte" not in plan


def test_tetanus_status():
    birth = date(1986, 4, 12)
    records = given(("dtcapolio_rappel", date(2011, 5, 17)))
    tetanus = schedule.tetanus_status(birth, records, date(2026, 3, 2))
    assert (tetanus.status, tetanus.last_given, tetanus.next_due) == (
        UP_TO_DATE,
        date(2011, 5, 17),
        date(2031, 4, 12),
    )
    assert schedule.tetanus_status(birth, [], date(2026, 3, 2)).status == ""
    old = schedule.tetanus_status(birth, given(("tetanos", date(1998, 3, 9))), date(2026, 3, 2))
    assert old.status == OVERDUE
