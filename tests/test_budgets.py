"""Page budgets (ARCHITECTURE.md): every page fits in one TCP initial window once compressed
(14 600 bytes) and references at most 3 subresources, so a cold visit on a rural 3G phone
costs at most 4 requests; every htmx fragment stays under 8 KB.

The pages are found by walking the routes: every GET route is asked by every role (a visitor,
a patient, a legal representative acting on a minor's dossier, a professional of the care
circle, the médecin traitant, a professional in emergency access, a SAMU regulator, an insurer
agent and an administrator), each signed in through the real login, with the route's path
parameters filled from a world of heavy data: long names, full pages of every list, a long
report with its versions, a full medical summary with a full page of versions. So a page
added later is measured for everyone who can open it without anyone listing it here; a route
whose path parameter the walk cannot fill fails it, until a filler is added below.
"""

from __future__ import annotations

import gzip
import random
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import product
from typing import NamedTuple

import pyotp
import pytest
from litestar import get
from litestar.params import FromPath

from bench.overview import count_statements
from portal import audit, clock, hookimpl
from portal.access import public, signed_in
from portal.access.routes import CHANGES
from portal.access.tables import Block, CircleMember, Joined
from portal.app import create_app, route_handlers
from portal.audit import Action, Actor, Mode
from portal.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
from portal.dossiers.summary import SECTIONS, SUMMARY_FLAG
from portal.dossiers.tables import (
    Document,
    Dossier,
    EmergencyContact,
    PatientProfile,
    Representative,
    SummaryFlag,
    SummaryVersion,
)
from portal.identity import second_factor
from portal.identity.accounts import NewAccount, create_account
from portal.identity.admin import PAGE_SIZE as ACCOUNTS_PAGE_SIZE
from portal.identity.numbers import luhn_check_digit, nir_key
from portal.identity.tables import Patient, Role
from portal.notifications.tables import Notification
from tests.conftest import CSRF_FIELD, plugins_with, sign_in
from tests.identity.conftest import quick_hashing  # noqa: F401

PAGE_BUDGET = 14_600
SUBRESOURCE_BUDGET = 3
#: An htmx fragment, compressed as pages are.
FRAGMENT_BUDGET = 8 * 1024
SUBRESOURCE = re.compile(
    r"<(?:script|img|iframe|audio|video|source|embed)\b[^>]*\bsrc=\"(?!data:)[^\"]+\""
    r"|<link\b[^>]*\bhref=\"(?!data:)[^\"]+\"[^>]*>",
    re.I,
)
PARAMETER = re.compile(r"\{[^}]+\}")
HTMX = {"HX-Request": "true"}
PASSWORD = "Une phrase de passe assez longue"

#: The GET routes that answer with something else than a page, and why they are not measured.
NOT_PAGES = {
    "/health": "a JSON answer for monitoring",
    "/static/{name:path}": "the stylesheet and scripts themselves, counted as subresources",
    "/dev/outbox": "a developer's tool, absent outside CARNET_ENV=dev",
    "/dossiers/{dossier_id:uuid}/documents/{document_id:uuid}/file": "a download: the file "
    "attached to a document, as it was deposited",
    "/dossiers/{dossier_id:uuid}/history.csv": "a download: the access history as a spreadsheet",
    "/dossiers/{dossier_id:uuid}/history.json": "a download: the signed access history, for "
    "docs/verify_audit.py",
    "/.well-known/carnet-audit-key": "JSON for anyone checking the trail: its public key",
    "/.well-known/smart-configuration": "JSON for software: the SMART metadata",
    "/.well-known/openid-configuration": "JSON for software: the same metadata",
    "/oauth/jwks": "JSON for software: Carnet's public key",
    "/oauth/me": "JSON for software with a token",
    "/dossiers/{dossier_id:uuid}/export/ips.json": "a download: the patient summary (IPS)",
    "/dossiers/{dossier_id:uuid}/export/documents.json": "a download: the documents as FHIR",
    "/login/{key:str}": "a redirect to a national identity provider (none is configured here)",
    "/account/providers/{key:str}/link": "a redirect to a national identity provider, the same",
    "/login/{key:str}/callback": "a provider's answer: the login page (measured at /login) or "
    "a page of two lines that moves on by itself",
}
#: Every route ending in ``.pdf`` is a download of `portal.pdf.render_pdf`, not a page.
PDF_SUFFIX = ".pdf"
#: The FHIR API answers software with JSON, never with a page.
FHIR_API = "/fhir/"
#: Addresses measured besides the bare route: the states of a page that make it heavier (a
#: search with many results, the form of a new version). Parameters are filled as in paths.
VARIANTS = {
    "/dossiers/{dossier_id:uuid}/documents": ("?q=traitement médecin", "?category=compte_rendu"),
    "/dossiers/{dossier_id:uuid}/documents/new": ("?replaces={document_id:uuid}",),
    "/dossiers/{dossier_id:uuid}/access/directory": ("?q=ar",),
}

DOSSIER = "/dossiers/{dossier_id:uuid}"
ACCOUNT_PAGES = {
    "/account",
    "/account/sessions",
    "/account/password",
    "/account/applications",
    "/notifications",
}
PATIENT_SIDE_PAGES = {
    DOSSIER,
    f"{DOSSIER}/documents",
    f"{DOSSIER}/documents/{{document_id:uuid}}",
    f"{DOSSIER}/documents/new",
    f"{DOSSIER}/summary",
    f"{DOSSIER}/summary/sections/{{section:str}}",
    f"{DOSSIER}/summary/versions",
    f"{DOSSIER}/access",
    f"{DOSSIER}/access/directory",
    f"{DOSSIER}/access/professionals/{{account_id:uuid}}/{{change:str}}",
    f"{DOSSIER}/history",
    f"{DOSSIER}/profile",
    f"{DOSSIER}/cards",
    f"{DOSSIER}/cards/{{section_key:str}}",
    f"{DOSSIER}/sleep_diary",
    f"{DOSSIER}/closing",
    "/dossiers/new",  # a child's
}
CARE_PAGES = {
    "/patients",
    DOSSIER,
    f"{DOSSIER}/cards",  # each reads a section at least
    f"{DOSSIER}/documents",
    f"{DOSSIER}/documents/{{document_id:uuid}}",
    f"{DOSSIER}/summary",
    f"{DOSSIER}/summary/sections/{{section:str}}",
    f"{DOSSIER}/summary/versions",
}
#: The pages each role is meant to open (answered 200): the walk must not measure only
#: refusals. Each role's home (where /me leads) is checked besides.
OPENS = {
    "visitor": {
        "/",
        "/login",
        "/password/forgot",
        "/password/reset/{token:str}",
        "/register",
        "/activate",
    },
    "patient": PATIENT_SIDE_PAGES | ACCOUNT_PAGES,
    "representative": PATIENT_SIDE_PAGES | ACCOUNT_PAGES,
    "professional": CARE_PAGES
    | ACCOUNT_PAGES
    | {f"{DOSSIER}/documents/new", f"{DOSSIER}/profile", "/dossiers/new"},
    "medecin_traitant": CARE_PAGES
    | ACCOUNT_PAGES
    | {f"{DOSSIER}/documents/new", f"{DOSSIER}/profile", f"{DOSSIER}/sleep_diary", "/dossiers/new"},
    "emergency": CARE_PAGES | ACCOUNT_PAGES,
    "samu_regulator": CARE_PAGES | ACCOUNT_PAGES,
    "insurer_agent": {"/reimbursements/import", "/dossiers/new"} | ACCOUNT_PAGES,
    "administrator": {
        "/admin/accounts",
        "/admin/accounts/new",
        "/admin/clients",
        "/admin/clients/new",
    }
    | ACCOUNT_PAGES,
}
ROLES = list(OPENS)
#: The lists each role sees full (a marker of their rows, and how many): the walk checks them
#: so as not to measure them light.
NOTIFICATIONS = {"/notifications": ('<li class="unread">', 50)}
CARE_LISTS = {
    f"{DOSSIER}/documents": ("<td data-label", 25 * 4),  # four cells a row
    f"{DOSSIER}/summary/versions": ("<h2", 20),
    **NOTIFICATIONS,
}
PATIENT_SIDE_LISTS = {
    **CARE_LISTS,
    f"{DOSSIER}/history": ("<li", 50),
    f"{DOSSIER}/access": ("/access/professionals/", 13),  # the circle, the blocked one
}
FULL_LISTS = {
    "visitor": {},
    "patient": PATIENT_SIDE_LISTS,
    "representative": PATIENT_SIDE_LISTS,
    "professional": {**CARE_LISTS, "/patients": ('<li><a href="/dossiers/', 50)},
    "medecin_traitant": {**CARE_LISTS, "/patients": ('<li><a href="/dossiers/', 50)},
    "emergency": CARE_LISTS,
    "samu_regulator": NOTIFICATIONS,  # reads some categories only: 22 documents
    "insurer_agent": NOTIFICATIONS,
    "administrator": {**NOTIFICATIONS, "/admin/accounts": ("<tr>", ACCOUNTS_PAGE_SIZE + 1)},
}


# --- measuring ------------------------------------------------------------------------------


class Answer(NamedTuple):
    status: int
    size: int  # as sent: compressed when the portal compresses it
    html: str  # "" when the answer is not HTML
    content_type: str

    @property
    def subresources(self) -> list[str]:
        return SUBRESOURCE.findall(self.html)


async def fetch(client, path: str, language: str = "fr", headers=None) -> Answer:
    """GET ``path`` as a browser asks for it, and what the answer weighs."""
    # gzip, not brotli: browsers only offer brotli over HTTPS, and gzip is the larger one.
    headers = {"accept-encoding": "gzip", "accept-language": language, **(headers or {})}
    async with client.stream("GET", path, headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    # Unknown URLs match no route, so Litestar's compression does not reach them: they are
    # measured as sent.
    compressed = response.headers.get("content-encoding") == "gzip"
    content_type = response.headers.get("content-type", "")
    html = ""
    if content_type.startswith("text/html"):
        html = (gzip.decompress(raw) if compressed else raw).decode()
    return Answer(response.status_code, len(raw), html, content_type)


async def measure(
    client, path: str, language: str = "fr", status: int | None = None
) -> tuple[int, list[str]]:
    """The compressed size of a page and its subresources (checking its status if given)."""
    answer = await fetch(client, path, language)
    assert status is None or answer.status == status, f"{path}: {answer.status}"
    return answer.size, answer.subresources


def page_routes(app) -> list[str]:
    """The path of every GET route that answers with a page."""
    return sorted(
        {
            path
            for path, handler in route_handlers(app)
            if "GET" in handler.http_methods
            and path not in NOT_PAGES
            and not path.endswith(PDF_SUFFIX)
            and not path.startswith(FHIR_API)
        }
    )


def addresses(path: str, fill: dict[str, list[str]]) -> list[str]:
    """Every address of the route ``path`` (and of its VARIANTS), its parameters filled with
    each of their values."""
    found = []
    for variant in (path, *(path + query for query in VARIANTS.get(path, ()))):
        parameters = PARAMETER.findall(variant)
        for values in product(*(fill[parameter] for parameter in parameters)):
            address = variant
            for parameter, value in zip(parameters, values, strict=True):
                address = address.replace(parameter, value, 1)
            found.append(address)
    return found


def unfilled(app) -> list[str]:
    """The pages with a path parameter the walk has no filler for."""
    known = set(fillers(World(), Visit()))
    return [
        f"GET {path}: no filler for {', '.join(missing)}"
        for path in page_routes(app)
        if (missing := [name for name in PARAMETER.findall(path) if name not in known])
    ]


# --- the heavy world ------------------------------------------------------------------------

WORDS = """\
patiente patient douleur thoracique examen clinique normal antécédents traitement
surveillance biologie créatinine hémoglobine échographie scanner contrôle consultation
hospitalisation rééducation évolution favorable fièvre toux dyspnée effort tension artérielle
fréquence cardiaque saturation oxygène bilan hépatique rénal thyroïdien glycémie insuline
metformine lévothyroxine amoxicilline paracétamol ibuprofène anticoagulant kinésithérapie
séances semaines mois jours matin soir repas allergie pénicilline urticaire œdème genou
épaule hanche lombaire cervical fracture entorse suture cicatrisation pansement infirmier
domicile sortie retour médecin traitant cardiologue pneumologue néphrologue radiologue
avis spécialisé prochain rendez-vous prévoir renouveler arrêter poursuivre diminuer
augmenter posologie comprimé gélule injection perfusion sous-cutanée intramusculaire
régime alimentaire activité physique tabac alcool sevrage sommeil anxiété fatigue poids
taille imagerie radiographie IRM électrocardiogramme holter épreuve stable amélioration
aggravation récidive chronique aiguë modérée sévère légère absence présence signe"""
JOINERS = "de la le les du des et avec sans sous pour après avant dans une un en au"


def prose(seed: object, length: int) -> str:
    """Medical-sounding French of about ``length`` characters, varied enough to compress as
    written reports do (about 2.8 times), not as a repeated phrase does."""
    rng = random.Random(str(seed))  # noqa: S311 - the same text every run, not a secret
    words, joiners = WORDS.split(), JOINERS.split()
    sentences: list[str] = []
    while sum(len(sentence) + 1 for sentence in sentences) < length:
        chosen = []
        for _ in range(rng.randint(6, 16)):
            chosen.append(rng.choice(words) if rng.random() < 0.7 else rng.choice(joiners))
            if rng.random() < 0.08:
                chosen.append(str(rng.randint(2, 400)))
        sentences.append(" ".join(chosen).capitalize() + ".")
    return " ".join(sentences)[:length].strip()


FIRST_NAMES = """Marie-Hélène Jean-Baptiste Anne-Charlotte Pierre-Emmanuel Marie-Bénédicte
François-Xavier Louise-Éléonore Charles-Édouard Hélène-Victoire Guillaume-Olivier Aïcha-Yasmine
Thi-Thu-Trang"""
LAST_NAMES = """de La Fontaine-Dubois, Lefebvre-Beauchamp, de Saint-Exupéry, Vasseur-Delacroix,
Moreau-Lambertini, d'Harcourt-Rousseau, Benhamou-Castellane, Nguyen-Van-Duc, Ould-Mohamed-Chérif,
Kowalczyk-Dupont, Le Goff-Kerboriou, Da Silva-Ferreira"""
SURNAMES = """Martin Bernard Thomas Petit Robert Richard Durand Leroy Moreau Simon Laurent Michel
Garcia David Bertrand Roux"""
#: The professions of a crowded care circle, and their specialties.
CIRCLE = (
    ("medecin", "Cardiologie et maladies vasculaires"),
    ("infirmier", ""),
    ("masseur_kinesitherapeute", "Rééducation vestibulaire et périnéale"),
    ("pharmacien", "Pharmacie d'officine"),
    ("chirurgien_dentiste", "Orthodontie"),
    ("sage_femme", "Rééducation périnéale"),
    ("medecin", "Endocrinologie, diabétologie"),
    ("pedicure_podologue", "Podologie du sport"),
)
#: The categories of the documents, as a long-followed patient's dossier mixes them.
CATEGORIES = (
    ("compte_rendu", "hospitalisation"),
    ("compte_rendu", "consultation"),
    ("synthese", ""),
    ("imagerie", ""),
    ("prescription", ""),
    ("dispensation", ""),
    ("plan_soins", ""),
    ("traitement_administre", ""),
    ("certificat", ""),
    ("patient", ""),
    ("gestion", ""),
    ("compte_rendu", "biologie"),
)


def name_of(number: int) -> tuple[str, str]:
    """Long names, varied as real ones are (a list of one name repeated compresses away)."""
    rng = random.Random(f"name {number}")  # noqa: S311 - the same names every run
    first_name = rng.choice(FIRST_NAMES.split())
    last_name = rng.choice([name.strip() for name in LAST_NAMES.split(",")])
    return first_name, f"{last_name} {rng.choice(SURNAMES.split())}"


def someone(
    role: Role,
    number: int = 0,
    totp_secret: str = "",
    profession: str = "masseur_kinesitherapeute",
    specialty: str = "Rééducation vestibulaire et périnéale",
) -> NewAccount:
    """A person with long names, as the budget must hold for them too."""
    profile = {}
    if role == Role.PATIENT:
        first13 = f"2860475{number:06d}"
        profile = {"nir": first13 + nir_key(first13), "birth_date": date(1946, 4, 12)}
    elif role in (Role.PROFESSIONAL, Role.SAMU_REGULATOR):
        body = f"1{number:09d}"
        profile = {
            "rpps": body + luhn_check_digit(body),
            "profession": profession,
            "specialty": specialty,
        }
    first_name, last_name = name_of(number)
    login = unicodedata.normalize("NFKD", f"{first_name}.{last_name}.{number}").lower()
    login = re.sub(r"[^a-z0-9.-]+", "-", login.encode("ascii", "ignore").decode())
    return NewAccount(
        role=role,
        login=f"{login}@caisse-primaire-exemple.fr",
        first_name=first_name,
        last_name=last_name,
        password=PASSWORD if totp_secret else "",
        totp_secret=totp_secret,
        **profile,
    )


@dataclass
class Visit:
    """Someone the walk signs in as (nobody for a visitor), and the dossier they ask about."""

    login: str = ""
    secret: str = ""
    dossier: uuid.UUID | None = None
    document: uuid.UUID | None = None  # the long report with its versions
    #: Opened after signing in, from /patients: "emergency" or "samu" (the form's action).
    opening: str = ""


@dataclass
class World:
    visits: dict[str, Visit] = field(default_factory=dict)
    #: The care circles' professionals (the last one blocked), by account id, with their names.
    circle: dict[uuid.UUID, str] = field(default_factory=dict)
    nir: str = ""  # the adult patient's, to open their dossier in an emergency
    sections: list[str] = field(default_factory=list)  # the plugins' sections
    reset_token: str = ""


def fillers(world: World, visit: Visit) -> dict[str, list[str]]:
    """The values of each path parameter, for ``visit``; the walk asks for every combination.
    A new page with a parameter not named here fails the walk: add its filler."""
    return {
        "{dossier_id:uuid}": [str(visit.dossier)],
        "{document_id:uuid}": [str(visit.document)],
        "{account_id:uuid}": [str(account) for account in list(world.circle)[:1]],
        "{change:str}": list(CHANGES),
        "{section:str}": [section.key for section in SECTIONS],
        "{section_key:str}": world.sections,
        "{token:str}": [world.reset_token],
    }


async def new_person(role: Role, number: int, **details: str) -> tuple[uuid.UUID, Visit]:
    secret = pyotp.random_base32(32)
    person = someone(role, number, totp_secret=secret, **details)
    return await create_account(person), Visit(person.login, secret)


async def patient_id(account_id: uuid.UUID) -> uuid.UUID:
    return (await Patient.select(Patient.id).where(Patient.account == account_id).first())["id"]


async def new_dossier(patient: uuid.UUID, traitant: uuid.UUID) -> uuid.UUID:
    dossier = Dossier(
        patient=patient,
        created_at=clock.now(),
        created_through="online",
        consent_at=clock.now(),
        medecin_traitant=traitant,
    )
    await dossier.save()
    return dossier.id


SUMMARY_LINES = {
    "problems": 6,
    "medical_history": 12,
    "surgical_history": 5,
    "family_history": 5,
    "treatments": 10,
    "risk_factors": 5,
}


def full_summary(version: int) -> dict:
    """A long-followed patient's summary: each version adds a line to the medical history and
    rewrites a line of another section, as a visit does."""
    sections: dict = {
        key: [prose((key, line), 90) for line in range(count)]
        for key, count in SUMMARY_LINES.items()
    }
    sections["medical_history"] += [prose(("history", n), 90) for n in range(version)]
    changed = list(SUMMARY_LINES)[version % len(SUMMARY_LINES)]
    sections[changed][0] = prose((changed, "version", version), 90)
    sections["allergies"] = [
        {
            "substance": prose(("substance", n), 40),
            "reaction": prose(("reaction", n), 80),
            "severity": ("legere", "moderee", "severe")[n % 3],
        }
        for n in range(8)
    ]
    sections["notes"] = prose("notes", 900)
    return sections


async def fill_dossier(
    dossier: uuid.UUID, circle: dict[uuid.UUID, str], traitant: uuid.UUID, patient: uuid.UUID
) -> uuid.UUID:
    """A crowded care circle and a blocked professional, 40 documents of every category by
    its members and a long report in three versions, a full summary with a full page of
    versions and open reports of wrong lines, the patient's profile, and 60 emergency accesses
    in the history. Returns the long report."""
    now = clock.now()
    *members, blocked = circle
    for professional in members:
        await CircleMember.insert(
            CircleMember(
                dossier=dossier, professional=professional, joined=Joined.CONSENT, since=now
            )
        )
    await Block.insert(Block(dossier=dossier, professional=blocked, since=now))
    documents = []
    for number in range(40):
        category, kind = CATEGORIES[number % len(CATEGORIES)]
        author = members[number % len(members)]
        documents.append(
            Document(
                dossier=dossier,
                category=category,
                type=kind,
                title=prose(("title", number), 60 + number % 5 * 15),
                care_date=date(2026, 1, 1) - timedelta(days=number * 9),
                created_at=now,
                author=author,
                author_name=circle[author],
                body=prose(("document", number), 1500),
            )
        )
    await Document.insert(*documents)
    lineage = uuid.uuid4()
    for version in range(3):
        report = Document(
            id=lineage if version == 0 else uuid.uuid4(),
            lineage=lineage,
            dossier=dossier,
            category="compte_rendu",
            type="hospitalisation",
            title="Compte rendu d'hospitalisation en service de médecine polyvalente et "
            "de rééducation fonctionnelle après une chute avec fracture du col fémoral",
            care_date=date(2026, 2, 1),
            created_at=now + timedelta(minutes=version),
            author=members[0],
            author_name=circle[members[0]],
            author_profession="medecin",
            body=prose(("report", version), 7000),
            superseded_at=None if version == 2 else now + timedelta(minutes=version + 1),
        )
        await report.save()
    versions = [
        SummaryVersion(
            dossier=dossier,
            number=number,
            created_at=now - timedelta(days=30 - number),
            author=traitant,
            author_name=" ".join(name_of(100)),
            sections=full_summary(number),
        )
        for number in range(1, 22)
    ]
    await SummaryVersion.insert(*versions)
    latest = await SummaryVersion.select(SummaryVersion.id).where(
        SummaryVersion.dossier == dossier, SummaryVersion.number == 21
    )
    for section in ("problems", "treatments", "medical_history"):
        await SummaryFlag.insert(
            SummaryFlag(
                dossier=dossier,
                version=latest[0]["id"],
                section=section,
                line=full_summary(21)[section][0],
                note=prose(("flag", section), 400),
                flagged_by=patient,
                flagged_at=now,
            )
        )
    await PatientProfile.insert(
        PatientProfile(
            dossier=dossier,
            height_cm=168,
            weight_kg=61.5,
            blood_group="AB-",
            notes=prose("notes", 2000),
            updated_at=now,
        )
    )
    await EmergencyContact.insert(
        *(
            EmergencyContact(
                dossier=dossier,
                position=position,
                name=" ".join(name_of(900 + position)),
                relation="Frère, tuteur et personne de confiance",
                phone="+33 6 12 34 56 78",
            )
            for position in range(3)
        )
    )
    for number in range(60):
        account = members[number % len(members)]
        doctor = Actor(account, "professional", "medecin", circle[account])
        await audit.record(
            Action.EMERGENCY_ACCESS,
            doctor,
            dossier_id=dossier,
            mode=Mode.EMERGENCY,
            mode_detail=prose(("reason", number), 300),
        )
    return lineage


async def notify_fully(account: uuid.UUID) -> None:
    """A full page of unread notifications."""
    await Notification.insert(
        *(
            Notification(
                account=account,
                kind=SUMMARY_FLAG.key,
                link="/notifications",
                params={"who": " ".join(name_of(number)), "patient": " ".join(name_of(number + 1))},
                created_at=clock.now() - timedelta(minutes=number),
            )
            for number in range(55)
        )
    )


async def heavy_world(app) -> World:
    async with app.state.database.write_transaction():  # one commit: ten times quicker
        return await _heavy_world(app)


async def _heavy_world(app) -> World:
    """A patient and a minor (represented) with heavy dossiers; the professionals of their
    circles (one of them blocked) and more in the directory; their médecin traitant and a
    professional of the circle who each have a full page of patients; an urgentiste, a SAMU
    regulator, an insurer agent, an administrator with a full page of accounts; everyone with
    a full page of notifications."""
    world = World(sections=[section.key for section in app.state.plugins.sections])
    visits = world.visits
    visits["visitor"] = Visit()
    traitant, visits["medecin_traitant"] = await new_person(
        Role.PROFESSIONAL, 100, profession="medecin", specialty="Médecine générale"
    )
    member, visits["professional"] = await new_person(
        Role.PROFESSIONAL,
        101,
        profession="medecin",
        specialty="Cardiologie et maladies vasculaires",
    )
    world.circle = {member: " ".join(name_of(101))}
    for number in range(1, 13):
        profession, specialty = CIRCLE[number % len(CIRCLE)]
        account = await create_account(
            someone(Role.PROFESSIONAL, number, "", profession, specialty)
        )
        world.circle[account] = " ".join(name_of(number))
    for number in range(13, 40):  # the directory: more médecins than a search shows
        await create_account(someone(Role.PROFESSIONAL, number, "", "medecin", "Médecine générale"))
    patient, visits["patient"] = await new_person(Role.PATIENT, 0)
    representative, visits["representative"] = await new_person(Role.REPRESENTATIVE, 200)
    world.nir = someone(Role.PATIENT, 0).nir
    first_name, last_name = name_of(201)
    minor = Patient(
        nir="1190675112034" + nir_key("1190675112034"),
        first_name=first_name,
        last_name=last_name,
        birth_date=date(2019, 6, 21),
    )
    await minor.save()
    for visit, patient_row, side in (
        (visits["patient"], await patient_id(patient), patient),
        (visits["representative"], minor.id, representative),
    ):
        visit.dossier = await new_dossier(patient_row, traitant)
        visit.document = await fill_dossier(visit.dossier, world.circle, traitant, side)
    await Representative.insert(
        Representative(
            dossier=visits["representative"].dossier, account=representative, since=clock.now()
        )
    )
    for number in range(500, 559):  # a full page of patients for the traitant and the member
        dossier = await new_dossier(
            await patient_id(await create_account(someone(Role.PATIENT, number))), traitant
        )
        await CircleMember.insert(
            CircleMember(
                dossier=dossier, professional=member, joined=Joined.CONSENT, since=clock.now()
            )
        )
    urgentiste, visits["emergency"] = await new_person(
        Role.PROFESSIONAL, 102, profession="medecin", specialty="Médecine d'urgence"
    )
    regulator, visits["samu_regulator"] = await new_person(
        Role.SAMU_REGULATOR, 103, profession="medecin", specialty="Médecine d'urgence"
    )
    visits["emergency"].opening, visits["samu_regulator"].opening = "emergency", "samu"
    agent, visits["insurer_agent"] = await new_person(Role.INSURER_AGENT, 300)
    administrator, visits["administrator"] = await new_person(Role.ADMINISTRATOR, 301)
    for visit in visits.values():  # the others ask about the patient's (refused or not)
        visit.dossier = visit.dossier or visits["patient"].dossier
        visit.document = visit.document or visits["patient"].document
    everyone = (traitant, member, patient, representative, urgentiste, regulator, agent)
    for account in (*everyone, administrator):
        await notify_fully(account)
    world.reset_token = await second_factor.create_reset_token(patient)
    return world


async def open_urgently(client, world: World, opening: str) -> None:
    """Open the patient's dossier in emergency access or for a SAMU call, as the form of
    /patients does."""
    page = await client.get("/patients")
    fields = {
        "csrf_token": CSRF_FIELD.search(page.text).group(1),
        "nir": world.nir,
        "reason": prose("emergency", 400),
        "reference": "SAMU-75/2026-11-000123",
    }
    response = await client.post(f"/patients/{opening}", data=fields, follow_redirects=False)
    assert response.status_code == 303, f"/patients/{opening}: {response.status_code}"


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture
def app(request, installed_third_party_plugin, settings):
    """The portal with the example plugin, whose pages are walked too; with cheap password
    hashing, as the accounts are many and hashing is measured elsewhere."""
    request.getfixturevalue("quick_hashing")
    return create_app(settings)


def test_every_page_parameter_has_a_filler(app):
    """A new page whose path carries a parameter the walk cannot fill would go unmeasured."""
    assert unfilled(app) == [], (
        "Add a filler to `fillers` in tests/test_budgets.py, or the route to NOT_PAGES with the "
        "reason it is not a page."
    )
    assert "/dossiers/{dossier_id:uuid}/sleep_diary" in page_routes(app)


class _Letters:
    """A plugin's page with a parameter the walk does not know: what it must report."""

    @hookimpl
    def register_routes(self):
        @get(
            "/dossiers/{dossier_id:uuid}/letters/{letter_id:uuid}",
            guards=[signed_in],
            sync_to_thread=False,
        )
        def letter(dossier_id: FromPath[uuid.UUID], letter_id: FromPath[uuid.UUID]) -> str:
            return "a letter"

        return [letter]


def test_a_page_whose_parameter_has_no_filler_is_reported(settings):
    app = create_app(settings, plugins_with(letters=_Letters()))
    assert unfilled(app) == [
        "GET /dossiers/{dossier_id:uuid}/letters/{letter_id:uuid}: no filler for {letter_id:uuid}"
    ]


@pytest.mark.parametrize("role", ROLES)
async def test_every_page_fits_the_budget(app, client, role):
    await app.state.database.upgrade()
    world = await heavy_world(app)
    visit = world.visits[role]
    if visit.login:
        await sign_in(client, visit.login, PASSWORD, visit.secret)
    if visit.opening:
        await open_urgently(client, world, visit.opening)
    assert unfilled(app) == []
    fill = fillers(world, visit)
    over, opened, answered = [], set(), set()
    for path in page_routes(app):
        for address in addresses(path, fill):
            page = await fetch(client, address)
            if page.size > PAGE_BUDGET or len(page.subresources) > SUBRESOURCE_BUDGET:
                over.append(f"{address}: {page.size} bytes compressed, loads {page.subresources}")
            if page.status != 200:
                continue  # a refusal or a redirection, measured all the same
            assert page.html, (
                f"GET {address} answers {page.content_type!r}, not a page: add {path} to "
                "NOT_PAGES in tests/test_budgets.py with the reason it is not one"
            )
            opened.add(path)
            answered.add(address)
            marker, count = FULL_LISTS[role].get(path, ("", 0))
            rows = page.html.count(marker)
            assert "?" in address or rows >= count, f"{address} shows {rows} rows, not {count}"
            fragment = await fetch(client, address, headers=HTMX)
            if "<html" not in fragment.html and fragment.size > FRAGMENT_BUDGET:
                over.append(f"{address} as an htmx fragment: {fragment.size} bytes compressed")
    assert not over, f"over budget for the {role}:\n" + "\n".join(over)

    missing = OPENS[role] - opened
    assert not missing, f"the {role} could not open {sorted(missing)}"
    if visit.login:
        home = (await client.get("/me")).headers["location"]
        assert home in answered, f"the {role}'s home {home} was not measured"


#: The statements of the professional's overview, the page opened most (docs/performance.md):
#: the session, the dossier's facts (who the patient is and everyone named on it), the chain's
#: head and the read's event, the documents, the summary; the emergency grants in a session
#: opened for an emergency access; on PostgreSQL, the chain's lock.
OVERVIEW_STATEMENTS = {"medecin_traitant": 6, "professional": 6, "emergency": 7}


@pytest.mark.parametrize("role", OVERVIEW_STATEMENTS)
async def test_the_overview_runs_a_few_statements_whatever_the_dossier_holds(app, client, role):
    """Counted on the heavy world's dossier (full pages of documents, versions and care
    circle): a statement per document, person or section would show here. Counted at the
    second visit: the first may do what is done once (telling the patient that a consent
    declared at a consultation was used)."""
    await app.state.database.upgrade()
    world = await heavy_world(app)
    visit = world.visits[role]
    await sign_in(client, visit.login, PASSWORD, visit.secret)
    if visit.opening:
        await open_urgently(client, world, visit.opening)
    await client.get(f"/dossiers/{visit.dossier}")
    with count_statements(app.state.database.engine) as counted:
        page = await client.get(f"/dossiers/{visit.dossier}")
    assert page.status_code == 200
    expected = OVERVIEW_STATEMENTS[role] + (not app.state.database.is_sqlite)
    assert len(counted.queries) == expected, "\n".join(counted.queries)


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_the_home_page_needs_only_its_stylesheet_and_htmx(client, language):
    _size, subresources = await measure(client, "/", language)
    assert len(subresources) == 2
    page = (await client.get("/")).text
    assert '<link rel="icon" href="data:,">' in page  # no favicon request either


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_the_public_pages_and_page_not_found_fit_the_budget_in_both_languages(
    app, client, language
):
    pages = [
        path
        for path, handler in route_handlers(app)
        if "GET" in handler.http_methods
        and public in handler.resolve_guards()
        and "{" not in path
        and path not in NOT_PAGES
    ]
    for path in [*pages, "/no-such-page"]:
        size, subresources = await measure(client, path, language)
        assert size <= PAGE_BUDGET, f"{path} is {size} bytes compressed"
        assert len(subresources) <= SUBRESOURCE_BUDGET, f"{path} loads {subresources}"


async def test_the_cards_of_the_demos_fullest_record_fit_in_one_fragment(app, client):
    """The overview's cards come in one htmx fragment: with the demo's data (Camille's record
    has the most), as she sees them and as her médecin traitant, who reads every section."""
    await app.state.database.upgrade()
    assert await load_demo(app.state.plugins)
    camille = await Dossier.select(Dossier.id).where(Dossier.patient.first_name == "Camille")
    cards = f"/dossiers/{camille[0]['id']}/cards"
    for login in ("camille.martin@demo.carnet.fr", "dr.bernard@demo.carnet.fr"):
        await sign_in(client, login, DEMO_PASSWORD, DEMO_TOTP_SECRET)
        fragment = await fetch(client, cards, headers=HTMX)
        assert fragment.status == 200, login
        shown = fragment.html.count('<section class="card"')
        assert shown == len(app.state.plugins.sections), login
        assert fragment.size <= FRAGMENT_BUDGET, f"{login}: {fragment.size} bytes compressed"
        page = await client.get("/account")
        await client.post("/logout", data={"csrf_token": CSRF_FIELD.search(page.text).group(1)})


async def test_the_traitant_measures_the_summary_forms_and_the_member_does_not(app, client):
    """The médecin traitant sees each section of the summary as a form, the allergies with a
    line for each and an empty one; the walk measures those."""
    await app.state.database.upgrade()
    world = await heavy_world(app)
    for role, forms in (("medecin_traitant", 9), ("professional", 0)):
        visit = world.visits[role]
        await sign_in(client, visit.login, PASSWORD, visit.secret)
        page = await client.get(f"/dossiers/{visit.dossier}/summary/sections/allergies")
        assert page.text.count('name="substance') == forms, role
        await client.post("/logout", data={"csrf_token": CSRF_FIELD.search(page.text).group(1)})
