"""Encryption at rest of the built-in plugins' medical text: stored sealed under the dossier's
data key, shown in its section as before, and sealed by each plugin's migration when it was
stored in clear."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import dataclass

import pytest
from piccolo.columns import JSON
from piccolo.table import Table

from plugins.end_of_life.tables import Directives, TrustedPerson
from plugins.occupational_health.tables import Exposure, Visit
from plugins.organ_donation.tables import Position
from plugins.vaccination.tables import Vaccination
from portal import crypto
from portal.crypto.backfill import migrate
from tests.crypto.test_encryption import CAMILLE, database_file, demo_on_sqlite

SIMON = "dr.simon@demo.carnet.fr"  # Camille's occupational physician


@dataclass(frozen=True)
class Demo:
    """A text of Camille's demo in a plugin's column, and the page that shows it to whom."""

    table: type[Table]
    column: str
    text: str
    page: str
    reader: str = CAMILLE


DEMO = [
    Demo(Vaccination, "notes", "Maternité de la Croix-Rousse", "vaccination"),
    Demo(Exposure, "note", "protections auditives fournies", "occupational_health", SIMON),
    Demo(Visit, "note", "légère encoche à 4 kHz", "occupational_health", SIMON),
    Demo(Position, "message", "Je veux que mes organes servent", "organ_donation"),
    Demo(Directives, "answers", "Avoir mon fils Léo et ma sœur Hélène", "end_of_life"),
    Demo(TrustedPerson, "name", "Hélène Martin", "end_of_life"),
]


def _ids(demo: Demo) -> str:
    return f"{demo.table._meta.tablename}.{demo.column}"


@pytest.mark.parametrize("demo", DEMO, ids=_ids)
async def test_a_plugin_s_medical_text_is_stored_sealed_and_shown_as_before(carnet, demo):
    camille = carnet.dossiers["camille"]
    column = demo.table._meta.get_column_by_name(demo.column)
    stored = [
        row[demo.column]
        for row in await demo.table.select(column).where(demo.table.dossier == camille)
    ]
    assert stored
    # A JSON column holds its sealed value as a JSON string.
    unquoted = [json.loads(value) if isinstance(column, JSON) else value for value in stored]
    assert all(crypto.is_sealed(value) for value in unquoted if value)
    assert not any(demo.text in value for value in stored)
    reader = await carnet.sign_in(demo.reader)
    page = await reader.get(f"/dossiers/{camille}/{demo.page}")
    assert page.status_code == 200
    assert demo.text in page.text


@demo_on_sqlite
async def test_the_demo_dump_holds_no_plugin_s_medical_text_in_clear(carnet):
    await carnet.app.state.database.disconnect()  # everything written to the file
    # What `sqlite3 var/carnet.sqlite3 .dump | grep -i "croix-rousse"` reads.
    with contextlib.closing(sqlite3.connect(database_file(carnet))) as connection:
        dump = "\n".join(connection.iterdump()).lower()
    for demo in DEMO:
        assert demo.text.lower() not in dump, demo.text


async def test_each_plugin_s_migration_seals_the_rows_stored_in_clear(carnet):
    camille = carnet.dossiers["camille"]
    # As a portal before the plugins' encryption at rest stored them: in clear.
    [record] = (
        await Vaccination.select(Vaccination.id)
        .where(Vaccination.dossier == camille, Vaccination.superseded_at.is_null())
        .limit(1)
    )
    await Vaccination.update({Vaccination.notes: "Rappel fait au cabinet"}).where(
        Vaccination.id == record["id"]
    )
    await Position.update({Position.message: "Je donne tout"}).where(
        Position.dossier == camille, Position.superseded_at.is_null()
    )
    latest = (
        await Directives.select(Directives.id, Directives.number)
        .where(Directives.dossier == camille)
        .order_by(Directives.number, ascending=False)
        .first()
    )
    answers = {"what_matters": "Le jardin au printemps"}
    await Directives.update({Directives.answers: json.dumps(answers)}).where(
        Directives.id == latest["id"]
    )

    await migrate([Vaccination, Position, Directives])

    note = await Vaccination.select(Vaccination.notes).where(Vaccination.id == record["id"])
    message = await Position.select(Position.message).where(Position.dossier == camille)
    stored = await Directives.select(Directives.answers).where(Directives.id == latest["id"])
    assert crypto.is_sealed(note[0]["notes"])
    assert all(crypto.is_sealed(row["message"]) for row in message)
    assert crypto.is_sealed(json.loads(stored[0]["answers"]))
    patient = await carnet.sign_in(CAMILLE)
    assert "Rappel fait au cabinet" in (await patient.get(f"/dossiers/{camille}/vaccination")).text
    assert "Je donne tout" in (await patient.get(f"/dossiers/{camille}/organ_donation")).text
    assert "Le jardin au printemps" in (await patient.get(f"/dossiers/{camille}/end_of_life")).text
