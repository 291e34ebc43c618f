"""Generate a database for the benchmarks: the demo's people, then any number of dossiers.

    .venv/bin/python bench/generate.py --dossiers 100000 [--database-url URL] [--seed 1]

The database is migrated, the demo loaded (`carnet demo`: Camille, Dr Bernard and the others,
their logins unchanged, with the sections' demo rows), then ``--dossiers`` generated patients
are added with what a dossier holds after a few years of care: an account for every adult
(minors have a legal representative instead), a médecin traitant for most, a care circle of
specialists, nurses, pharmacists and physiotherapists, documents in every category (a few
masked, announced, replaced by a newer version), versions of the medical summary, and the
audit trail of the deposits and of the professionals' visits (valid hash chains, see
`carnet audit verify`). The sections' own tables get no generated rows.

Generated professionals log in like the demo people: password `portal.demo.DEMO_PASSWORD`,
TOTP secret `portal.demo.DEMO_TOTP_SECRET`. The general practitioners are
``generaliste.0001@bench.carnet.fr`` and so on (`gp_login`); there are at least 32 of them, one
per thousand dossiers beyond that, each the médecin traitant of an equal share of the patients.

Rows are written in bulk (``executemany`` on SQLite, ``COPY`` on PostgreSQL), a few thousand
dossiers at a time; only the password is hashed with Argon2, once. The same ``--seed`` gives
the same people and documents.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import time
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

import asyncpg
from piccolo.columns import Serial
from piccolo.table import Table

from portal import audit, clock
from portal.access.tables import Block, CircleMember, Joined
from portal.audit import Action, Outcome, Purpose
from portal.audit.tables import AuditEvent
from portal.audit.trail import GENESIS, event_hash
from portal.cli import upgrade_database
from portal.db import Database, create_engine
from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from portal.dossiers.tables import Document, Dossier, Representative, SummaryVersion
from portal.identity import passwords
from portal.identity.numbers import luhn_check_digit, nir_key
from portal.identity.tables import Account, Patient, Professional, Role
from portal.piccolo_app import APP_CONFIG
from portal.plugins import load_plugins
from portal.settings import Settings, parse_database_url

#: Dossiers written per transaction (or COPY).
CHUNK = 2000
#: General practitioners: at least this many (a benchmark client each), one per thousand
#: dossiers beyond (a French GP is the médecin traitant of about a thousand patients).
MIN_GPS = 32
PATIENTS_PER_GP = 1000
DOMAIN = "bench.carnet.fr"


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(","))


FEMALE = _words(
    "Camille, Léa, Manon, Emma, Chloé, Inès, Jade, Louise, Alice, Lina, Sarah, Julie, Marie, "
    "Anne, Claire, Sophie, Nathalie, Isabelle, Sylvie, Catherine, Christine, Martine, "
    "Françoise, Monique, Hélène, Élise, Margaux, Zoé, Agathe, Juliette, Céline, Aurélie, "
    "Émilie, Laura, Pauline, Yasmine, Fatima, Nadia, Mélanie, Brigitte"
)
MALE = _words(
    "Lucas, Hugo, Louis, Gabriel, Arthur, Jules, Raphaël, Adam, Léo, Nathan, Thomas, Nicolas, "
    "Julien, Pierre, Jean, Michel, Philippe, Alain, Patrick, Bernard, Éric, Laurent, "
    "Christophe, Olivier, Stéphane, François, David, Sébastien, Antoine, Maxime, Karim, Mehdi, "
    "Youssef, Paul, Marc, Luc, Henri, André, Yves"
)
LAST = _words(
    "Martin, Bernard, Thomas, Petit, Robert, Richard, Durand, Dubois, Moreau, Laurent, Simon, "
    "Michel, Lefèvre, Leroy, Roux, David, Bertrand, Morel, Fournier, Girard, Bonnet, Dupont, "
    "Lambert, Fontaine, Rousseau, Vincent, Muller, Lefebvre, Faure, André, Mercier, Blanc, "
    "Guérin, Boyer, Garnier, Chevalier, François, Legrand, Gauthier, Garcia, Perrin, Robin, "
    "Clément, Morin, Nicolas, Henry, Roussel, Mathieu, Gautier, Masson, Marchand, Duval, "
    "Denis, Dumont, Marie, Lemaire, Noël, Meyer, Dufour, Meunier, Brun, Blanchard, Giraud, "
    "Joly, Rivière, Lucas, Brunet, Gaillard, Barbier, Arnaud, Martinez, Gérard, Roche, "
    "Renard, Schmitt, Roy, Leroux, Colin, Vidal, Caron, Picard, Roger, Fabre, Aubert, "
    "Lemoine, Renaud, Dumas, Lacroix, Olivier, Philippe, Bourgeois, Pierre, Benoît, Rey, "
    "Leclerc, Payet, Rolland, Leclercq, Guillaume, Lecomte, López, Jean, Dupuy, Guillot, "
    "Hubert, Berger, Carpentier, Sanchez, Dupuis, Moulin, Louis, Deschamps, Huet, Vasseur, "
    "Perez, Boucher, Fleury, Royer, Klein, Jacquet, Adam, Paris, Poirier, Marty, Aubry, "
    "Guyot, Carré, Charles, Renault, Charpentier, Ménard, Maillard, Baron, Bertin, Bailly, "
    "Hervé, Schneider, Fernandez, Le Gall, Collet, Léger, Bouvier, Julien, Prévost, Millet, "
    "Perrot, Daniel, Le Roux, Cousin, Germain, Breton, Besson, Langlois, Rémy, Le Goff, "
    "Pelletier, Lévêque, Perrier, Leblanc, Barré, Lebrun, Marchal, Weber, Mallet, Hamon, "
    "Boulanger, Jacob, Monnier, Michaud, Rodriguez, Guichard, Gillet, Étienne, Grondin, "
    "Poulain, Tessier, Chevallier, Collin, Chauvin, Da Silva, Bouchet, Gay, Lemaître, Bénard, "
    "Maréchal, Humbert, Reynaud, Antoine, Hoarau, Perret, Barthélemy, Cordier, Pichon, "
    "Lejeune, Gilbert, Lamy, Delaunay, Pasquier, Carlier, Laporte"
)
TOWNS = _words(
    "Lyon, Marseille, Toulouse, Nantes, Rennes, Lille, Bordeaux, Grenoble, Dijon, Angers, "
    "Tours, Limoges, Brest, Metz, Amiens, Nancy, Rouen, Caen, Poitiers, Pau"
)

#: The circle's professions: (profession, specialty, how many per thousand dossiers, at least).
CIRCLE_PROFESSIONS = (
    ("medecin", "Cardiologie", 0.5, 4),
    ("medecin", "Dermatologie", 0.3, 2),
    ("medecin", "Endocrinologie", 0.2, 2),
    ("medecin", "Pédiatrie", 0.3, 2),
    ("medecin", "Gynécologie médicale", 0.3, 2),
    ("chirurgien_dentiste", "", 0.6, 4),
    ("pharmacien", "", 0.5, 4),
    ("infirmier", "", 1.0, 6),
    ("masseur_kinesitherapeute", "", 0.6, 4),
    ("sage_femme", "", 0.2, 2),
)

#: Documents: (weight, category, type, titles, bodies). Authors are chosen by `_author`.
DOCUMENT_KINDS = (
    (20, "compte_rendu", "consultation",
     ("Consultation de suivi", "Consultation de médecine générale", "Consultation de cardiologie",
      "Consultation de dermatologie", "Consultation d'endocrinologie", "Consultation de pédiatrie"),
     ("Examen clinique sans particularité. Tension artérielle 12/8, auscultation normale. "
      "Poursuite du traitement en cours, revoir dans trois mois.",
      "Motif : fatigue depuis un mois. Bilan biologique prescrit. Pas de signe de gravité.",
      "Douleurs lombaires mécaniques sans irradiation. Antalgiques et kinésithérapie.")),
    (5, "compte_rendu", "hospitalisation",
     ("Compte rendu d'hospitalisation", "Séjour en service de médecine interne",
      "Passage aux urgences"),
     ("Admission pour pneumopathie communautaire, antibiothérapie par amoxicilline, évolution "
      "favorable. Sortie à J5 avec un contrôle radiologique à six semaines.",
      "Chute à domicile sans perte de connaissance. Bilan radiologique sans fracture.")),
    (2, "compte_rendu", "operatoire",
     ("Compte rendu opératoire", "Cholécystectomie sous cœlioscopie"),
     ("Intervention sans incident, suites opératoires simples. Ablation des fils à J10.",)),
    (10, "compte_rendu", "biologie",
     ("Bilan sanguin", "Numération formule sanguine", "Bilan lipidique", "TSH", "HbA1c"),
     ("Résultats dans les normes du laboratoire. Cholestérol LDL 1,2 g/l.",
      "Hémoglobine 13,5 g/dl, plaquettes 250 G/l, leucocytes 6,8 G/l. Glycémie 0,92 g/l.")),
    (6, "imagerie", "",
     ("Radiographie du thorax", "Échographie abdominale", "IRM du genou", "Mammographie",
      "Scanner des sinus"),
     ("Pas d'anomalie décelable. Conclusion : examen normal.",
      "Discrète lésion dégénérative sans caractère de gravité. À corréler à la clinique.")),
    (18, "prescription", "",
     ("Ordonnance", "Ordonnance de renouvellement", "Prescription de kinésithérapie",
      "Prescription d'examens biologiques"),
     ("Paracétamol 1 g, trois fois par jour pendant cinq jours si douleur.",
      "Renouvellement du traitement habituel pour trois mois.",
      "Dix séances de kinésithérapie, renforcement musculaire.")),
    (14, "dispensation", "",
     ("Médicaments délivrés", "Délivrance en pharmacie"),
     ("Délivrance conforme à l'ordonnance, trois boîtes.", "Délivrance d'un générique.")),
    (4, "plan_soins", "",
     ("Plan de soins infirmiers", "Plan de soins : rééducation"),
     ("Pansement tous les deux jours, surveillance de la cicatrisation.",)),
    (4, "traitement_administre", "",
     ("Vaccination antigrippale", "Injection à domicile", "Vaccin contre le tétanos"),
     ("Injection intramusculaire dans le deltoïde gauche, sans réaction immédiate.",)),
    (5, "certificat", "",
     ("Certificat de non contre-indication au sport", "Certificat médical"),
     ("Aucune contre-indication à la pratique du sport en compétition.",)),
    (8, "remboursement", "",
     ("Remboursements de l'Assurance Maladie",),
     ("Actes remboursés sur la période : consultations, pharmacie, biologie.",)),
    (2, "patient", "",
     ("Mes relevés de tension", "Mon carnet de glycémie", "Mes vaccinations"),
     ("Matin : 12/8, 13/8, 12/7. Soir : 13/8, 12/8.",)),
    (2, "gestion", "",
     ("Lettre de liaison", "Coordonnées du cabinet"),
     ("Coordonnées du cabinet et horaires de la permanence de soins.",)),
)  # fmt: skip
KIND_WEIGHTS = [kind[0] for kind in DOCUMENT_KINDS]
#: How many documents a dossier holds: from none (a new dossier) to a few dozen.
DOCUMENT_COUNTS = (0, 1, 2, 3, 5, 8, 10, 12, 15, 20, 25, 35)

SUMMARY_LINES = {
    "problems": ("Hypertension artérielle", "Diabète de type 2", "Hypothyroïdie", "Asthme",
                 "Lombalgie chronique", "Dépression, en rémission", "Surpoids"),
    "medical_history": ("Pneumopathie en 2019", "Fracture du poignet en 2012",
                        "Zona en 2021", "Migraine depuis l'adolescence"),
    "surgical_history": ("Appendicectomie en 2004", "Cholécystectomie en 2018",
                         "Amygdalectomie dans l'enfance"),
    "family_history": ("Père : infarctus du myocarde à 58 ans", "Mère : diabète de type 2",
                       "Sœur : cancer du sein à 45 ans"),
    "treatments": ("Ramipril 5 mg, un comprimé le matin", "Metformine 1000 mg, matin et soir",
                   "Lévothyroxine 75 µg le matin à jeun", "Salbutamol à la demande"),
    "risk_factors": ("Tabagisme actif, 10 paquets-années", "Sédentarité",
                     "Consommation d'alcool modérée"),
}  # fmt: skip
ALLERGIES = (
    {"substance": "pénicilline", "reaction": "urticaire", "severity": "moderee"},
    {"substance": "aspirine", "reaction": "œdème", "severity": "severe"},
    {"substance": "pollens", "reaction": "rhinite", "severity": "legere"},
    {"substance": "iode", "reaction": "", "severity": ""},
)


def gp_login(number: int) -> str:
    """The login of the ``number``-th generated general practitioner (from 1)."""
    return f"generaliste.{number:04d}@{DOMAIN}"


@dataclass
class Person:
    """A generated account holder, as documents and audit events name them."""

    account: uuid.UUID
    first_name: str
    last_name: str
    role: str
    profession: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Batch:
    """The rows of a few thousand dossiers, by table, each row a dict of column values."""

    rows: dict[type[Table], list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: type[Table], **values: Any) -> dict[str, Any]:
        self.rows.setdefault(table, []).append(values)
        return values


@dataclass
class Generated:
    """What the benchmark (or a test) needs to know of the generated database."""

    dossiers: int
    gps: int
    seconds: float
    password: str = DEMO_PASSWORD
    totp_secret: str = DEMO_TOTP_SECRET

    def gp_logins(self) -> list[str]:
        return [gp_login(number) for number in range(1, self.gps + 1)]


class Generator:
    """Makes the rows; deterministic for a given seed."""

    def __init__(self, dossiers: int, seed: int, password_hash: str, now: datetime) -> None:
        self.random = random.Random(seed)  # noqa: S311 - made-up people, not secrets
        self.dossiers = dossiers
        self.password_hash = password_hash
        self.now = now
        self.gps: list[Person] = []
        self.circle_pool: list[Person] = []
        self.numbers = iter(range(1, 10**9))

    def _id(self) -> uuid.UUID:
        return uuid.UUID(int=self.random.getrandbits(128), version=4)

    # --- people -------------------------------------------------------------------------------

    def professionals(self) -> Batch:
        batch = Batch()
        gp_count = max(MIN_GPS, -(-self.dossiers // PATIENTS_PER_GP))
        for number in range(1, gp_count + 1):
            self.gps.append(
                self._professional(batch, gp_login(number), "medecin", "Médecine générale")
            )
        for profession, specialty, per_thousand, least in CIRCLE_PROFESSIONS:
            count = max(least, round(self.dossiers * per_thousand / 1000))
            key = profession.replace("_", "-")
            for number in range(1, count + 1):
                suffix = f"-{_ascii(specialty.split()[0]).lower()}" if specialty else ""
                login = f"{key}{suffix}.{number:04d}@{DOMAIN}"
                self.circle_pool.append(self._professional(batch, login, profession, specialty))
        return batch

    def _professional(self, batch: Batch, login: str, profession: str, specialty: str) -> Person:
        first, last = self._name()
        person = Person(self._id(), first, last, Role.PROFESSIONAL.value, profession)
        self._account(batch, person, login)
        body = f"2{next(self.numbers):09d}"
        batch.add(
            Professional,
            account=person.account,
            rpps=body + luhn_check_digit(body),
            profession=profession,
            specialty=specialty,
        )
        return person

    def _account(self, batch: Batch, person: Person, login: str) -> None:
        created = self.now - timedelta(days=self.random.randint(30, 2000))
        batch.add(
            Account,
            id=person.account,
            login=login,
            password_hash=self.password_hash,
            role=person.role,
            first_name=person.first_name,
            last_name=person.last_name,
            email=login,
            phone=f"06{self.random.randint(0, 99_999_999):08d}",
            second_factor="totp",
            totp_secret=DEMO_TOTP_SECRET,
            totp_confirmed=True,
            created_at=created,
            password_changed_at=created,
        )

    def _name(self, female: bool | None = None) -> tuple[str, str]:
        if female is None:
            female = self.random.random() < 0.5
        return self.random.choice(FEMALE if female else MALE), self.random.choice(LAST)

    # --- dossiers -----------------------------------------------------------------------------

    def dossier_batch(self, first: int, count: int) -> Batch:
        batch = Batch()
        parents: list[Person] = []
        for index in range(first, first + count):
            self._dossier(batch, index, parents)
        return batch

    def _dossier(self, batch: Batch, index: int, parents: list[Person]) -> None:
        rng = self.random
        female = rng.random() < 0.52
        age = rng.choices((rng.randint(0, 17), rng.randint(18, 95)), weights=(18, 82))[0]
        birth = date(self.now.year - age, 1, 1) + timedelta(days=rng.randint(0, 364))
        minor = age < 18 and bool(parents)
        first, last = self._name(female)
        if minor:
            parent = rng.choice(parents)
            last = parent.last_name
        patient_account = None
        if minor:
            acting = parent
        else:
            person = Person(self._id(), first, last, Role.PATIENT.value)
            login = f"{_ascii(first)}.{_ascii(last)}.{index}@patients.{DOMAIN}".lower()
            self._account(batch, person, login)
            patient_account = acting = person
            parents.append(person)
        patient_id = self._id()
        batch.add(
            Patient,
            id=patient_id,
            account=patient_account.account if patient_account else None,
            nir=_nir(index, female, birth),
            first_name=first,
            last_name=last,
            birth_date=birth,
        )
        created = self.now - timedelta(days=rng.randint(1, 5 * 365), seconds=rng.randint(0, 86399))
        closed = rng.random() < 0.02
        gp = self.gps[index % len(self.gps)] if rng.random() < 0.9 else None
        dossier_id = self._id()
        batch.add(
            Dossier,
            id=dossier_id,
            patient=patient_id,
            status="closed" if closed else "open",
            created_at=created,
            created_through=rng.choice(("online", "pharmacy", "professional", "insurer")),
            consent_at=created,
            medecin_traitant=gp.account if gp else None,
            medecin_traitant_since=created if gp else None,
            refuses_emergency_access=rng.random() < 0.03,
            refuses_samu_access=rng.random() < 0.02,
            closed_at=self.now - timedelta(days=rng.randint(1, 30)) if closed else None,
        )
        if minor:
            batch.add(Representative, dossier=dossier_id, account=parent.account, since=created)
        circle = rng.sample(self.circle_pool, rng.choice((0, 1, 2, 2, 3, 3, 4, 5)))
        for member in circle:
            consent = rng.random() < 0.3
            batch.add(
                CircleMember,
                dossier=dossier_id,
                professional=member.account,
                joined=(Joined.CONSENT if consent else Joined.BY_PATIENT).value,
                since=created,
                first_access_at=created if consent else None,
            )
        if circle and rng.random() < 0.01:
            outsider = rng.choice(self.circle_pool)
            if outsider not in circle:
                batch.add(Block, dossier=dossier_id, professional=outsider.account, since=created)
        chain = Chain(dossier_id)
        self._documents(batch, chain, dossier_id, created, gp, circle, acting, minor)
        if gp and rng.random() < 0.75:
            self._summary(batch, dossier_id, created, gp)
        for member in [*([gp] if gp else []), *circle]:
            chain.add(Action.VIEW, member, self._after(created), "dossier", "")
        chain.write(batch)

    def _after(self, moment: datetime) -> datetime:
        seconds = int((self.now - moment).total_seconds())
        return moment + timedelta(seconds=self.random.randint(0, max(seconds, 1)))

    def _documents(self, batch, chain, dossier_id, created, gp, circle, patient, minor) -> None:
        """The dossier's documents; ``patient``: who acts for the patient (the patient, or the
        parent of a minor)."""
        rng = self.random
        for _number in range(rng.choice(DOCUMENT_COUNTS)):
            _weight, category, kind, titles, bodies = rng.choices(
                DOCUMENT_KINDS, weights=KIND_WEIGHTS
            )[0]
            care_date = (self.now - timedelta(days=rng.randint(1, 10 * 365))).date()
            deposited = datetime.combine(care_date, datetime.min.time(), UTC) + timedelta(
                days=rng.randint(0, 20), seconds=rng.randint(8 * 3600, 19 * 3600)
            )
            # Deposited once the dossier existed (older care: history added at its opening).
            deposited = min(max(deposited, created + timedelta(hours=1)), self.now)
            author, author_name, profession = self._author(category, gp, circle, patient)
            document_id = self._id()
            row = dict(
                id=document_id,
                dossier=dossier_id,
                category=category,
                type=kind,
                title=rng.choice(titles),
                care_date=care_date,
                created_at=deposited,
                author=author.account if author else None,
                author_name=author_name,
                author_profession=profession,
                body=" ".join(rng.choices(bodies, k=rng.randint(1, 3))),
                masked=rng.random() < 0.02,
                hidden_until=deposited + timedelta(days=10)
                if kind == "biologie" and rng.random() < 0.1
                else None,
                hidden_from_representatives=bool(minor) and rng.random() < 0.05,
                lineage=document_id,
            )
            if rng.random() < 0.03:
                # An earlier version, replaced by the one above some days later.
                first = batch.add(
                    Document,
                    **{**row, "body": "Version initiale. " + row["body"],
                       "superseded_at": deposited + timedelta(days=2)},
                )  # fmt: skip
                row.update(id=self._id(), lineage=first["id"])
                row["created_at"] = first["superseded_at"]
            batch.add(Document, **row)
            chain.add(
                Action.CREATE, author, row["created_at"], "document", str(row["id"]), author_name
            )

    def _author(self, category: str, gp, circle, patient) -> tuple[Person | None, str, str]:
        rng = self.random
        by_profession: dict[str, list[Person]] = {}
        for member in circle:
            by_profession.setdefault(member.profession, []).append(member)
        wanted = {
            "dispensation": "pharmacien",
            "traitement_administre": "infirmier",
            "plan_soins": "infirmier",
        }.get(category)
        if category == "patient":
            return patient, patient.name, ""
        if category == "remboursement":
            return None, "Assurance Maladie", ""
        if category == "imagerie" or (category == "compte_rendu" and rng.random() < 0.3):
            town = rng.choice(TOWNS)
            return None, f"{rng.choice(('Centre hospitalier', 'Clinique', 'Centre'))} de {town}", ""
        if wanted and wanted in by_profession:
            person = rng.choice(by_profession[wanted])
            return person, person.name, person.profession
        candidates = [*([gp] if gp else []), *by_profession.get("medecin", [])]
        if candidates:
            person = rng.choice(candidates)
            return person, person.name, person.profession
        first, last = self._name()
        return None, f"Dr {first} {last}", ""

    def _summary(self, batch: Batch, dossier_id: uuid.UUID, created: datetime, gp: Person) -> None:
        rng = self.random
        moment = created
        for number in range(1, rng.choice((1, 1, 2, 3)) + 1):
            moment = self._after(moment)
            sections = {
                key: rng.sample(lines, rng.randint(0, min(3, len(lines))))
                for key, lines in SUMMARY_LINES.items()
            }
            sections["allergies"] = rng.sample(ALLERGIES, rng.choice((0, 0, 1, 2)))
            sections["notes"] = rng.choice(("", "Groupe sanguin : A positif.", "Vit seul."))
            batch.add(
                SummaryVersion,
                id=self._id(),
                dossier=dossier_id,
                number=number,
                created_at=moment,
                author=gp.account,
                author_name=gp.name,
                sections=json.dumps(sections, ensure_ascii=False),
            )


class Chain:
    """A dossier's audit chain, as `portal.audit.record` would have written it."""

    def __init__(self, dossier_id: uuid.UUID) -> None:
        self.dossier_id = dossier_id
        self.events: list[tuple[datetime, Action, Person | None, str, str, str]] = []

    def add(self, action, actor, moment, target_type, target_id, name="") -> None:
        self.events.append((moment, action, actor, target_type, target_id, name))

    def write(self, batch: Batch) -> None:
        previous = GENESIS
        chain = f"dossier:{self.dossier_id}"
        self.events.sort(key=lambda event: event[0])
        for seq, (moment, action, actor, target_type, target_id, name) in enumerate(
            self.events, start=1
        ):
            fields = {
                "chain": chain,
                "seq": seq,
                "occurred_at": moment,
                "dossier_id": self.dossier_id,
                "actor_account": actor.account if actor else None,
                "actor_role": actor.role if actor else Role.INSURER_AGENT.value,
                "actor_profession": actor.profession if actor else "",
                "actor_name": actor.name if actor else name,
                "action": action.value,
                "target_type": target_type,
                "target_id": target_id,
                "outcome": Outcome.ALLOWED.value,
                "reason": "",
                "mode": "normal",
                "mode_detail": "",
                "purpose": (Purpose.PATRQT if actor and actor.role == "patient" else Purpose.TREAT)
                if actor
                else Purpose.HPAYMT,
                "client_address": "127.0.0.1",
                "previous_hash": previous,
            }
            fields["purpose"] = str(fields["purpose"])
            fields["hash"] = previous = event_hash(fields)
            batch.add(AuditEvent, **fields)


def _nir(index: int, female: bool, birth: date) -> str:
    """A valid NIR, different for every ``index``: the commune and order number carry it."""
    department = 1 + (index // 1_000_000) % 95
    department += department >= 20  # 20 is Corsica's, written 2A or 2B
    first13 = (
        f"{2 if female else 1}{birth.year % 100:02d}{birth.month:02d}"
        f"{department:02d}{index % 1_000_000:06d}"
    )
    return first13 + nir_key(first13)


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in plain if char.isalnum())


# --- writing --------------------------------------------------------------------------------


def _columns(table: type[Table]) -> list:
    return [column for column in table._meta.columns if not isinstance(column, Serial)]


def _value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _records(table: type[Table], rows: list[dict[str, Any]]) -> Iterator[tuple]:
    """The rows as tuples of every column: the column's default where a row says nothing, and
    what a row says of a column the table does not have (yet) left out."""
    columns = _columns(table)
    for row in rows:
        yield tuple(
            _value(row[column._meta.name])
            if column._meta.name in row
            else _value(column.get_default_value())
            for column in columns
        )


#: Parents first, so that foreign keys hold at every step.
ORDER = (Account, Professional, Patient, Dossier, Representative, CircleMember, Block, Document,
         SummaryVersion, AuditEvent)  # fmt: skip


class SQLiteWriter:
    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        # Written once for a benchmark, not a patient's data: no flush at every chunk.
        self.connection.execute("PRAGMA synchronous = OFF")

    async def write(self, batch: Batch) -> None:
        self.connection.execute("BEGIN")
        for table in ORDER:
            rows = batch.rows.get(table)
            if rows:
                names = [column._meta.db_column_name for column in _columns(table)]
                self.connection.executemany(
                    f'INSERT INTO "{table._meta.tablename}" ({", ".join(names)}) '  # noqa: S608
                    f"VALUES ({', '.join('?' * len(names))})",
                    _records(table, rows),
                )
        self.connection.execute("COMMIT")

    async def close(self) -> None:
        self.connection.close()


class PostgresWriter:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, dsn: str) -> PostgresWriter:
        return cls(await asyncpg.connect(dsn))

    async def write(self, batch: Batch) -> None:
        async with self.connection.transaction():
            for table in ORDER:
                rows = batch.rows.get(table)
                if rows:
                    await self.connection.copy_records_to_table(
                        table._meta.tablename,
                        records=list(_records(table, rows)),
                        columns=[column._meta.db_column_name for column in _columns(table)],
                    )

    async def close(self) -> None:
        # What autovacuum would have done by the time a real database is this size.
        await self.connection.execute("ANALYZE")
        await self.connection.close()


async def generate(
    database_url: str,
    dossiers: int,
    *,
    data_dir: Path,
    seed: int = 1,
    progress: bool = False,
) -> Generated:
    """Migrate the database at ``database_url``, load the demo, then add ``dossiers``."""
    start = time.perf_counter()
    settings = Settings.from_env(
        {"CARNET_DATA_DIR": str(data_dir), "CARNET_DATABASE_URL": database_url}
    )
    await upgrade_database(settings)
    # As `carnet demo` does: the sections' demo rows too.
    plugins = load_plugins(settings.disabled_plugins)
    database = Database(create_engine(database_url), [APP_CONFIG, *plugins.piccolo_apps])
    database.install()
    audit.install(settings)
    await database.connect()
    try:
        if not await load_demo(plugins):
            raise SystemExit(f"{database_url} is not empty: generate into a new database.")
        password_hash = await passwords.hash_password(DEMO_PASSWORD)
    finally:
        await database.disconnect()
    url = parse_database_url(database_url)
    if url.engine == "sqlite":
        writer = SQLiteWriter(url.path)
    else:
        writer = await PostgresWriter.open(url.dsn)
    generator = Generator(dossiers, seed, password_hash, clock.now())
    try:
        await writer.write(generator.professionals())
        for first in range(0, dossiers, CHUNK):
            await writer.write(generator.dossier_batch(first, min(CHUNK, dossiers - first)))
            if progress:
                done = first + min(CHUNK, dossiers - first)
                print(f"\r  {done} / {dossiers} dossiers", end="", flush=True)
    finally:
        await writer.close()
    if progress and dossiers:
        print()
    return Generated(dossiers, len(generator.gps), time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=100)
    parser.add_argument(
        "--database-url",
        default="sqlite:///var/bench.sqlite3",
        help="a new SQLite file or an empty PostgreSQL database (default: %(default)s)",
    )
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    generated = asyncio.run(
        generate(
            arguments.database_url,
            arguments.dossiers,
            data_dir=arguments.data_dir,
            seed=arguments.seed,
            progress=True,
        )
    )
    print(
        f"{generated.dossiers} dossiers and {generated.gps} general practitioners "
        f"(e.g. {gp_login(1)}) in {generated.seconds:.0f} s"
    )


if __name__ == "__main__":
    main()
