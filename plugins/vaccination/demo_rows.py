"""The demo's vaccinations: Camille's since childhood (the oldest copied from her paper carnet,
some confirmed by her médecin traitant), and Léo's infant schedule, partly done, so that his
record shows what is due (the second ROR dose and the booster of his sixth year)."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from plugins.vaccination.tables import Vaccination
from portal import DemoData, clock, crypto
from portal.demo import DEMO_PEOPLE

CAMILLE = "camille.martin@demo.carnet.fr"
BERNARD = "dr.bernard@demo.carnet.fr"
PETIT = "ph.petit@demo.carnet.fr"
DURAND = "inf.durand@demo.carnet.fr"
PLACES = {
    BERNARD: "Cabinet du Dr Bernard, Lyon 3e",
    PETIT: "Pharmacie Petit, Lyon 3e",
    DURAND: "Centre de vaccination, Lyon 7e",
}

# (vaccine, date, dose, lot, who recorded it, confirmed by the médecin traitant, notes)
CAMILLE_RECORDS = (
    ("bcg", date(1986, 5, 6), "", "", CAMILLE, True, "Maternité de la Croix-Rousse"),
    ("dtcapolio", date(1986, 6, 16), "1", "", CAMILLE, True, "Tetracoq, Dr Lefèvre"),
    ("dtcapolio", date(1986, 7, 18), "2", "", CAMILLE, True, "Tetracoq, Dr Lefèvre"),
    ("dtcapolio", date(1986, 8, 20), "3", "", CAMILLE, True, "Tetracoq, Dr Lefèvre"),
    ("ror", date(1987, 4, 22), "1", "", CAMILLE, True, "ROR Vax, Dr Lefèvre"),
    ("dtcapolio", date(1987, 9, 14), "booster", "", CAMILLE, True, "Dr Lefèvre"),
    ("dtpolio", date(1992, 5, 4), "booster", "", CAMILLE, False, "Médecine scolaire"),
    ("dtpolio", date(1998, 3, 9), "booster", "", CAMILLE, False, "Médecine scolaire"),
    ("hepatite_b", date(1998, 10, 12), "1", "", CAMILLE, False, "Campagne au collège"),
    ("hepatite_b", date(1998, 11, 16), "2", "", CAMILLE, False, "Campagne au collège"),
    ("hepatite_b", date(1999, 5, 10), "3", "", CAMILLE, False, "Campagne au collège"),
    ("ror", date(2004, 3, 15), "2", "", CAMILLE, True, "Rattrapage, Dr Roussel"),
    ("dtcapolio_rappel", date(2011, 5, 17), "booster", "L4521AB", BERNARD, False, ""),
    ("covid19", date(2021, 5, 20), "1", "FD7958", DURAND, False, ""),
    ("covid19", date(2021, 6, 24), "2", "FE3380", DURAND, False, ""),
    ("covid19", date(2021, 12, 20), "booster", "FK5127", DURAND, False, ""),
    ("grippe", date(2025, 10, 21), "", "X4B72", PETIT, False, ""),
)
LEO_RECORDS = (
    ("hexavalent", date(2019, 8, 22), "1", "A21CD312A"),
    ("pneumocoque_conjugue", date(2019, 8, 22), "1", "HK2871"),
    ("hexavalent", date(2019, 10, 24), "2", "A21CD312A"),
    ("pneumocoque_conjugue", date(2019, 10, 24), "2", "HK2871"),
    ("meningocoque_c", date(2019, 11, 25), "1", "NC1093"),
    ("hexavalent", date(2020, 5, 26), "3", "A21CD788B"),
    ("pneumocoque_conjugue", date(2020, 5, 26), "3", "HL0455"),
    ("ror", date(2020, 6, 25), "1", "T021587"),
    ("meningocoque_c", date(2020, 6, 25), "2", "NC1204"),
)
SITE = {"hexavalent": "cuisse_droite", "pneumocoque_conjugue": "cuisse_gauche"}


async def add(demo: DemoData) -> None:
    people = {person.login: person for person in DEMO_PEOPLE}

    def name(login: str) -> str:
        return f"{people[login].first_name} {people[login].last_name}"

    now = clock.now()
    rows = []
    for vaccine, given_on, dose, lot, login, confirmed, notes in CAMILLE_RECORDS:
        declared = login == CAMILLE
        author = BERNARD if declared and confirmed else login
        rows.append(
            Vaccination(
                dossier=demo.dossiers["camille"],
                vaccine=vaccine,
                given_on=given_on,
                dose=dose,
                lot=lot,
                vaccinator_name="" if declared else name(login),
                place="" if declared else PLACES[login],
                route="" if declared else "IM",
                site="" if declared else "deltoide_gauche",
                notes=notes,
                author=demo.accounts[author],
                author_name=name(author),
                author_profession=people[author].profession,
                created_at=now,
                declared_by_patient=declared and not confirmed,
                confirmed_by_name=name(BERNARD) if declared and confirmed else "",
            )
        )
    for vaccine, given_on, dose, lot in LEO_RECORDS:
        rows.append(
            Vaccination(
                dossier=demo.dossiers["leo"],
                vaccine=vaccine,
                given_on=given_on,
                dose=dose,
                lot=lot,
                vaccinator_name=name(BERNARD),
                place=PLACES[BERNARD],
                route="IM" if vaccine != "ror" else "SC",
                site=SITE.get(vaccine, "deltoide_gauche"),
                author=demo.accounts[BERNARD],
                author_name=name(BERNARD),
                author_profession="medecin",
                created_at=now,
            )
        )
    for row in rows:
        row.id = uuid4()
        row.lineage = row.id
    await crypto.insert(*rows)
