"""The demo: the people of CONVENTIONS.md, so that a newcomer can log in as each of them.

Every demo account has the same password and, for the second factor, the same TOTP secret
(an authenticator set up with it, or `pyotp.TOTP(DEMO_TOTP_SECRET).now()`, gives the code).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING
from uuid import uuid4

from portal import audit, clock, crypto
from portal.access.policy import OCCUPATIONAL_HEALTH
from portal.access.tables import CircleMember, Joined, SectionConsent
from portal.audit import Action, Actor, Mode, Purpose
from portal.dossiers import reimbursements, summary
from portal.dossiers.tables import Document, Dossier, Representative, SummaryVersion
from portal.hookspecs import DemoData
from portal.identity.accounts import NewAccount, create_account
from portal.identity.numbers import luhn_check_digit, nir_key
from portal.identity.tables import Account, Patient, Role

if TYPE_CHECKING:
    from portal.plugins import Plugins

DEMO_PASSWORD = "Carnet-demo-2026!"  # noqa: S105 - published on purpose, for the demo only
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105


def _rpps(body: str) -> str:
    return body + luhn_check_digit(body)


def _nir(first13: str) -> str:
    return first13 + nir_key(first13)


@dataclass(frozen=True)
class DemoPerson:
    login: str
    role: Role
    first_name: str
    last_name: str
    who: str  # shown by `carnet demo`
    profession: str = ""
    specialty: str = ""
    rpps: str = ""
    nir: str = ""
    birth_date: date | None = None


DEMO_PEOPLE = (
    DemoPerson(
        "camille.martin@demo.carnet.fr",
        Role.PATIENT,
        "Camille",
        "Martin",
        "patient, Dr Bernard is her médecin traitant; legal representative of Léo",
        nir=_nir("2860475056123"),
        birth_date=date(1986, 4, 12),
    ),
    DemoPerson(
        "jules.petit@demo.carnet.fr",
        Role.PATIENT,
        "Jules",
        "Petit",
        "patient whose care circle holds only Dr Garcia",
        nir=_nir("1791169123045"),
        birth_date=date(1979, 11, 3),
    ),
    DemoPerson(
        "dr.bernard@demo.carnet.fr",
        Role.PROFESSIONAL,
        "Sophie",
        "Bernard",
        "general practitioner, Camille's médecin traitant",
        profession="medecin",
        specialty="Médecine générale",
        rpps=_rpps("1000101001"),
    ),
    DemoPerson(
        "dr.garcia@demo.carnet.fr",
        Role.PROFESSIONAL,
        "Karim",
        "Garcia",
        "cardiologist, in Camille's care circle",
        profession="medecin",
        specialty="Cardiologie",
        rpps=_rpps("1000101002"),
    ),
    DemoPerson(
        "dr.moreau@demo.carnet.fr",
        Role.PROFESSIONAL,
        "Claire",
        "Moreau",
        "dentist, in Camille's care circle",
        profession="chirurgien_dentiste",
        rpps=_rpps("1000101003"),
    ),
    DemoPerson(
        "inf.durand@demo.carnet.fr",
        Role.PROFESSIONAL,
        "Luc",
        "Durand",
        "nurse",
        profession="infirmier",
        rpps=_rpps("1000101004"),
    ),
    DemoPerson(
        "ph.petit@demo.carnet.fr",
        Role.PROFESSIONAL,
        "Hélène",
        "Petit",
        "pharmacist, in Camille's care circle",
        profession="pharmacien",
        rpps=_rpps("1000101005"),
    ),
    DemoPerson(
        "mk.laurent@demo.carnet.fr",
        Role.PROFESSIONAL,
        "Marc",
        "Laurent",
        "physiotherapist, in Camille's care circle",
        profession="masseur_kinesitherapeute",
        rpps=_rpps("1000101006"),
    ),
    DemoPerson(
        "dr.simon@demo.carnet.fr",
        Role.PROFESSIONAL,
        "Anne",
        "Simon",
        "occupational physician",
        profession="medecin_du_travail",
        specialty="Médecine du travail",
        rpps=_rpps("1000101007"),
    ),
    DemoPerson(
        "dr.urgence@demo.carnet.fr",
        Role.PROFESSIONAL,
        "Inès",
        "Faure",
        "emergency physician, in nobody's care circle",
        profession="medecin",
        specialty="Médecine d'urgence",
        rpps=_rpps("1000101008"),
    ),
    DemoPerson(
        "samu.roux@demo.carnet.fr",
        Role.SAMU_REGULATOR,
        "Julien",
        "Roux",
        "SAMU regulator",
        profession="medecin",
        specialty="Médecine d'urgence",
        rpps=_rpps("1000101009"),
    ),
    DemoPerson(
        "agent.cpam@demo.carnet.fr",
        Role.INSURER_AGENT,
        "Nathalie",
        "Girard",
        "health insurance (CPAM) agent",
    ),
    DemoPerson("admin@demo.carnet.fr", Role.ADMINISTRATOR, "Paul", "Lambert", "administrator"),
)

#: Léo, Camille's son: a patient without an account of his own (a minor).
LEO = {
    "nir": _nir("1190675112034"),
    "first_name": "Léo",
    "last_name": "Martin",
    "birth_date": date(2019, 6, 21),
}


async def load_demo(plugins: Plugins | None = None) -> bool:
    """Create the demo people in an empty database, and the ``plugins``' demo rows; False (and
    nothing done) when the database is not empty."""
    if await Account.count() or await Patient.count():
        return False
    for person in DEMO_PEOPLE:
        await create_account(
            NewAccount(
                role=person.role,
                login=person.login,
                first_name=person.first_name,
                last_name=person.last_name,
                password=DEMO_PASSWORD,
                totp_secret=DEMO_TOTP_SECRET,
                rpps=person.rpps,
                profession=person.profession,
                specialty=person.specialty,
                nir=person.nir,
                birth_date=person.birth_date,
            )
        )
    await Patient.insert(Patient(**LEO))
    await _demo_dossiers()
    if plugins is not None:
        await plugins.add_demo_data(await read_demo())
    return True


async def read_demo() -> DemoData:
    """The demo dossiers and accounts, as the plugins' ``demo_data`` hook receives them."""
    dossiers = await Dossier.select(Dossier.id, Dossier.patient.first_name.as_alias("name"))
    accounts = await Account.select(Account.login, Account.id)
    return DemoData(
        dossiers={_plain(row["name"]): row["id"] for row in dossiers},
        accounts={row["login"]: row["id"] for row in accounts},
    )


def _plain(first_name: str) -> str:
    """``Léo`` -> ``leo``: how `DemoData` names the demo dossiers."""
    return unicodedata.normalize("NFKD", first_name).encode("ascii", "ignore").decode().lower()


async def _demo_dossiers() -> None:
    """Camille's, Jules's and Léo's dossiers; Dr Bernard is Camille's médecin traitant and
    Camille represents Léo."""
    accounts = {row["login"]: row["id"] for row in await Account.select(Account.login, Account.id)}
    patients = {row["nir"]: row["id"] for row in await Patient.select(Patient.nir, Patient.id)}
    now = clock.now()
    dossiers = {}
    for nir, traitant in (
        (DEMO_PEOPLE[0].nir, "dr.bernard@demo.carnet.fr"),
        (DEMO_PEOPLE[1].nir, None),
        (LEO["nir"], "dr.bernard@demo.carnet.fr"),
    ):
        dossier = Dossier(
            patient=patients[nir],
            created_at=now,
            created_through="demo",
            consent_at=now,
            medecin_traitant=accounts[traitant] if traitant else None,
            medecin_traitant_since=now if traitant else None,
        )
        await dossier.save()
        dossiers[nir] = dossier.id
    await Representative.insert(
        Representative(
            dossier=dossiers[LEO["nir"]],
            account=accounts["camille.martin@demo.carnet.fr"],
            since=now,
        )
    )
    camille, jules = dossiers[DEMO_PEOPLE[0].nir], dossiers[DEMO_PEOPLE[1].nir]
    for dossier, login in (
        (camille, "dr.garcia@demo.carnet.fr"),
        (camille, "dr.moreau@demo.carnet.fr"),
        (camille, "ph.petit@demo.carnet.fr"),
        (camille, "mk.laurent@demo.carnet.fr"),
        (jules, "dr.garcia@demo.carnet.fr"),
    ):
        await CircleMember.insert(
            CircleMember(
                dossier=dossier, professional=accounts[login], joined=Joined.BY_PATIENT, since=now
            )
        )
    # Camille's occupational physician reads and writes her occupational health record alone.
    await SectionConsent.insert(
        SectionConsent(
            dossier=camille,
            professional=accounts["dr.simon@demo.carnet.fr"],
            category=OCCUPATIONAL_HEALTH,
            since=now,
        )
    )
    await _demo_documents(camille, jules, dossiers[LEO["nir"]], accounts)
    await _demo_summary(camille, accounts["dr.bernard@demo.carnet.fr"])
    await _demo_accesses(dossiers)


@dataclass(frozen=True)
class DemoDocument:
    category: str
    type: str
    title: str
    care_date: date
    author: str  # a demo login, or the name of an author outside the demo
    body: str
    masked: bool = False
    hidden_days: int = 0  # hidden from the patient for this many days more


#: Camille's documents: one at least in every category of ACCESS.md.
CAMILLE_DOCUMENTS = (
    DemoDocument("synthese", "resume", "Synthèse médicale", date(2026, 9, 15),
                 "dr.bernard@demo.carnet.fr",
                 "Antécédents : appendicectomie (2004), accouchement par voie basse (2019).\n"
                 "Allergie : pénicilline (urticaire).\n"
                 "Traitement au long cours : lévothyroxine 75 µg le matin.\n"
                 "Groupe sanguin : A positif."),
    DemoDocument("compte_rendu", "consultation", "Consultation de cardiologie",
                 date(2026, 6, 3), "dr.garcia@demo.carnet.fr",
                 "Palpitations à l'effort. ECG et échographie cardiaque normaux. "
                 "Pas de traitement ; revoir si récidive."),
    DemoDocument("compte_rendu", "consultation", "Soins dentaires : détartrage",
                 date(2026, 3, 12), "dr.moreau@demo.carnet.fr",
                 "Détartrage complet. Pas de carie. Contrôle dans un an."),
    DemoDocument("compte_rendu", "consultation", "Consultation de psychiatrie",
                 date(2025, 11, 20), "Dr Paul Henry, psychiatre",
                 "Épisode anxieux après un deuil. Suivi de quatre séances, évolution favorable.",
                 masked=True),
    DemoDocument("compte_rendu", "accouchement", "Compte rendu d'accouchement",
                 date(2019, 6, 21), "Maternité Sainte-Anne, Élise Caron, sage-femme",
                 "Accouchement par voie basse à 39 SA + 2. Garçon, 3,250 kg. "
                 "Suites simples."),
    DemoDocument("compte_rendu", "biologie", "Analyse d'un grain de beauté retiré",
                 date(2026, 11, 18), "dr.bernard@demo.carnet.fr",
                 "Examen anatomopathologique de la lésion du dos : résultat à annoncer en "
                 "consultation.", hidden_days=12),
    DemoDocument("imagerie", "", "Radiographie du genou droit", date(2026, 2, 2),
                 "Centre d'imagerie du Parc, Dr Hugo Lemaire, radiologue",
                 "Pas de fracture. Discret épanchement articulaire."),
    DemoDocument("prescription", "", "Ordonnance : rééducation du genou", date(2026, 2, 5),
                 "dr.bernard@demo.carnet.fr",
                 "Quinze séances de kinésithérapie pour entorse bénigne du genou droit."),
    DemoDocument("plan_soins", "", "Plan de soins : rééducation", date(2026, 2, 5),
                 "dr.bernard@demo.carnet.fr",
                 "Renforcement musculaire et proprioception, deux séances par semaine."),
    DemoDocument("dispensation", "", "Médicaments délivrés", date(2026, 10, 2),
                 "ph.petit@demo.carnet.fr",
                 "Lévothyroxine 75 µg, 3 boîtes. Paracétamol 1 g, 1 boîte."),
    DemoDocument("traitement_administre", "", "Injection d'antibiotique à domicile",
                 date(2025, 1, 14), "inf.durand@demo.carnet.fr",
                 "Ceftriaxone 1 g en intramusculaire, trois jours (pyélonéphrite)."),
    DemoDocument("certificat", "", "Certificat de non contre-indication à la course à pied",
                 date(2026, 9, 15), "dr.bernard@demo.carnet.fr",
                 "Aucune contre-indication à la pratique de la course à pied en compétition."),
    DemoDocument("remboursement", "", "Remboursements de l'Assurance Maladie, 2026",
                 date(2026, 10, 31), "agent.cpam@demo.carnet.fr",
                 "12 actes remboursés depuis janvier 2026, dont 4 consultations."),
    DemoDocument("patient", "", "Mes relevés de tension", date(2026, 10, 20),
                 "camille.martin@demo.carnet.fr",
                 "Matin : 12/8, 11/7, 12/7. Soir : 13/8, 12/8."),
    DemoDocument("gestion", "", "Lettre de liaison du cabinet", date(2026, 9, 15),
                 "dr.bernard@demo.carnet.fr",
                 "Coordonnées du cabinet et horaires de la permanence de soins."),
)  # fmt: skip
JULES_DOCUMENTS = (
    DemoDocument("compte_rendu", "consultation", "Consultation de cardiologie",
                 date(2026, 5, 11), "dr.garcia@demo.carnet.fr",
                 "Hypertension artérielle découverte au travail. Mesures à domicile à faire."),
)  # fmt: skip
LEO_DOCUMENTS = (
    DemoDocument("compte_rendu", "consultation", "Examen de santé des 7 ans",
                 date(2026, 6, 25), "dr.bernard@demo.carnet.fr",
                 "Croissance harmonieuse. Vue et audition normales."),
)  # fmt: skip


async def _demo_documents(camille, jules, leo, accounts: dict[str, object]) -> None:
    people = {person.login: person for person in DEMO_PEOPLE}
    now = clock.now()
    for dossier, documents in (
        (camille, CAMILLE_DOCUMENTS),
        (jules, JULES_DOCUMENTS),
        (leo, LEO_DOCUMENTS),
    ):
        for item in documents:
            person = people.get(item.author)
            if item.category == reimbursements.CATEGORY:  # named as an import names it
                author_name, profession = reimbursements.AUTHOR_NAME, ""
            elif person:
                author_name, profession = (
                    f"{person.first_name} {person.last_name}",
                    person.profession,
                )
            else:
                author_name, profession = item.author, ""
            document_id, sealer = uuid4(), await crypto.writing_sealer(dossier)
            await Document.insert(
                Document(
                    **sealer.seal_row(
                        "document",
                        crypto.sealed_columns(Document),
                        document_id,
                        {"title": item.title, "body": item.body},
                    ),
                    id=document_id,
                    dossier=dossier,
                    category=item.category,
                    type=item.type,
                    care_date=item.care_date,
                    created_at=now,
                    author=accounts[item.author] if person else None,
                    author_name=author_name,
                    author_profession=profession,
                    masked=item.masked,
                    hidden_until=now + timedelta(days=item.hidden_days)
                    if item.hidden_days
                    else None,
                )
            )


#: Camille's medical summary by Dr Bernard: a first version fourteen months ago, and the one
#: of her last visit (the thyroid treatment went up, a risk factor and an infection added).
CAMILLE_SUMMARY_FIRST = {
    "problems": ["Hypothyroïdie"],
    "medical_history": [
        "Hypothyroïdie diagnostiquée en 2015",
        "Accouchement par voie basse en 2019, suites simples",
    ],
    "surgical_history": ["Appendicectomie en 2004"],
    "family_history": ["Père : infarctus du myocarde à 58 ans"],
    "allergies": [{"substance": "pénicilline", "reaction": "urticaire", "severity": "moderee"}],
    "treatments": ["Lévothyroxine 50 µg, un comprimé le matin à jeun"],
    "risk_factors": [],
    "notes": "Groupe sanguin : A positif.",
}
CAMILLE_SUMMARY = {
    **CAMILLE_SUMMARY_FIRST,
    "problems": ["Hypothyroïdie, équilibrée sous traitement"],
    "medical_history": [
        *CAMILLE_SUMMARY_FIRST["medical_history"],
        "Pyélonéphrite aiguë en janvier 2025, traitée par ceftriaxone",
    ],
    "treatments": ["Lévothyroxine 75 µg, un comprimé le matin à jeun"],
    "risk_factors": ["Tabagisme sevré en 2018 (5 paquets-années)"],
}


async def _demo_summary(camille, bernard) -> None:
    now = clock.now()
    for number, days_ago, sections in ((1, 430, CAMILLE_SUMMARY_FIRST), (2, 68, CAMILLE_SUMMARY)):
        version_id = uuid4()
        sealer = await crypto.writing_sealer(camille)
        await SummaryVersion.insert(
            SummaryVersion(
                id=version_id,
                dossier=camille,
                number=number,
                created_at=now - timedelta(days=days_ago),
                author=bernard,
                author_name="Sophie Bernard",
                sections=summary.sealed_sections(sealer, version_id, sections),
            )
        )


async def _demo_accesses(dossiers: dict[str, object]) -> None:
    """Accesses of the demo professionals, so that the access history has something to say."""
    people = {person.login: person for person in DEMO_PEOPLE}
    ids = {row["login"]: row["id"] for row in await Account.select(Account.login, Account.id)}

    def actor(login: str) -> Actor:
        person = people[login]
        return Actor(ids[login], person.role, person.profession,
                     f"{person.first_name} {person.last_name}")  # fmt: skip

    camille, jules = dossiers[DEMO_PEOPLE[0].nir], dossiers[DEMO_PEOPLE[1].nir]
    for login, dossier in (
        ("dr.bernard@demo.carnet.fr", camille),
        ("dr.garcia@demo.carnet.fr", camille),
        ("ph.petit@demo.carnet.fr", camille),
        ("dr.garcia@demo.carnet.fr", jules),
    ):
        await audit.record(Action.VIEW, actor(login), dossier_id=dossier, target_type="dossier",
                           purpose=Purpose.TREAT)  # fmt: skip
    await audit.record(
        Action.EMERGENCY_ACCESS,
        actor("dr.urgence@demo.carnet.fr"),
        dossier_id=camille,
        target_type="dossier",
        mode=Mode.EMERGENCY,
        mode_detail="Malaise dans la rue, patiente inconsciente à son arrivée aux urgences.",
        purpose=Purpose.BTG,
    )


def logins_text() -> str:
    """The demo logins, for `make run` and `carnet demo` to print."""
    width = max(len(person.login) for person in DEMO_PEOPLE)
    lines = [
        f"Demo accounts — password {DEMO_PASSWORD}, TOTP secret {DEMO_TOTP_SECRET}",
        *(f"  {person.login.ljust(width)}  {person.who}" for person in DEMO_PEOPLE),
        "  (Léo Martin, a minor, has no login: Camille manages his dossier.)",
    ]
    return "\n".join(lines)
