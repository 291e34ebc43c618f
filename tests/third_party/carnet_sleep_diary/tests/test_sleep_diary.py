"""The sleep diary, tested as its author would: with plain ``pytest`` and Carnet's test kit (the
``carnet`` fixture: a running portal with this plugin, on a database holding the demo)."""

from datetime import date

from carnet_sleep_diary.tables import Night

from portal import crypto
from portal.audit import Action

CAMILLE = "camille.martin@demo.carnet.fr"
DOCTOR = "dr.bernard@demo.carnet.fr"  # her médecin traitant
DENTIST = "dr.moreau@demo.carnet.fr"  # in her care circle, a profession that does not read sleep


def diary(carnet) -> str:
    return f"/dossiers/{carnet.dossiers['camille']}/sleep_diary"


async def done_by(carnet, login: str, since: int) -> list[tuple[str, str]]:
    """What the person did in Camille's dossier after its first ``since`` events, as its audit
    trail says: (action, outcome)."""
    events = (await carnet.trail(carnet.dossiers["camille"]))[since:]
    person = carnet.accounts[login]
    return [(e["action"], e["outcome"]) for e in events if e["actor_account"] == person]


async def traced(carnet) -> int:
    """How many events Camille's dossier holds (the demo made some)."""
    return len(await carnet.trail(carnet.dossiers["camille"]))


async def test_the_patient_notes_a_night_and_her_doctor_reads_it(carnet):
    demo = await traced(carnet)
    camille = await carnet.sign_in(CAMILLE)
    page = await camille.get(diary(carnet))
    assert page.status_code == 200
    assert "Bonne nuit" in page.text  # a night of the demo

    noted = await camille.post(
        diary(carnet), data={"night_of": "2026-03-01", "hours": "8", "note": "Enfin reposée"}
    )
    assert noted.status_code == 303
    [night] = await Night.select().where(Night.night_of == date(2026, 3, 1))
    assert (night["hours"], night["author"]) == (8, carnet.accounts[CAMILLE])
    assert crypto.is_sealed(night["note"])  # stored encrypted, shown in clear below
    assert await done_by(carnet, CAMILLE, demo) == [("view", "allowed"), ("create", "allowed")]

    doctor = await carnet.sign_in(DOCTOR)
    assert "Enfin reposée" in (await doctor.get(diary(carnet))).text
    assert await done_by(carnet, DOCTOR, demo) == [("view", "allowed")]


async def test_a_profession_that_does_not_read_sleep_is_refused_and_it_is_traced(carnet):
    demo = await traced(carnet)
    dentist = await carnet.sign_in(DENTIST)
    assert (await dentist.get(diary(carnet))).status_code == 403
    assert await done_by(carnet, DENTIST, demo) == [("view", "refused")]


async def test_only_the_patients_side_notes_nights(carnet):
    demo = await traced(carnet)
    doctor = await carnet.sign_in(DOCTOR)
    page = await doctor.get(diary(carnet))
    assert "Note this night" not in page.text
    refused = await doctor.post(diary(carnet), data={"night_of": "2026-03-01", "hours": "8"})
    assert refused.status_code == 403
    assert await done_by(carnet, DOCTOR, demo) == [("view", "allowed"), ("create", "refused")]


async def test_a_wrong_night_is_explained_and_nothing_is_saved(carnet):
    camille = await carnet.sign_in(CAMILLE)
    before = await Night.count()
    for hours in ("30", "²", "sept"):
        answer = await camille.post(diary(carnet), data={"night_of": "2026-03-01", "hours": hours})
        assert answer.status_code == 400, hours
        assert "Give the hours slept, from 0 to 24." in answer.text
    assert await Night.count() == before


async def test_htmx_gets_the_panel_alone(carnet):
    camille = await carnet.sign_in(CAMILLE)
    htmx = {"HX-Request": "true"}
    panel = await camille.get(diary(carnet), headers=htmx)
    assert panel.status_code == 200
    assert '<div id="sleep-diary">' in panel.text
    assert "<html" not in panel.text
    noted = await camille.post(
        diary(carnet), data={"night_of": "2026-03-01", "hours": "6"}, headers=htmx
    )
    assert noted.status_code == 200
    assert "<html" not in noted.text


async def test_the_card_names_the_patient(carnet):
    view = await carnet.view(DOCTOR, carnet.dossiers["camille"])
    assert view.may(Action.VIEW, "sommeil")
    card = await carnet.app.state.plugins.card("sleep_diary", view)
    assert card.context == {"patient_name": "Camille"}
    overview = await (await carnet.sign_in(DOCTOR)).get(
        f"/dossiers/{carnet.dossiers['camille']}/cards/sleep_diary"
    )
    assert "Nights noted by Camille" in overview.text
