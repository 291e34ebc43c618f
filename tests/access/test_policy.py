"""`decide()` holds every rule of ACCESS.md: a professional of the care circle reads and writes
what the matrix file gives their profession, the médecin traitant reads everything, the patient's
side reads everything but what is hidden from them, masks hold even in an emergency, a block or
a closed dossier ends every professional access, emergency and SAMU accesses only read and
respect the patient's opt-outs, the insurer and the administrator never read medical content,
and anything else is refused."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.access.matrix import DEFAULT_MATRIX, load_matrix
from portal.access.policy import (
    ABOUT_ACCESS,
    END_OF_LIFE,
    ORGAN_DONATION,
    PATIENT_CONTROLS,
    READS,
    SUMMARY,
    WRITES,
    Act,
    Actor,
    DossierFacts,
    Grant,
    Item,
    decide,
    traced_as,
)
from portal.access.tables import GrantMode, Joined
from portal.audit import Action, Mode, Purpose
from portal.dossiers.tables import DossierStatus
from portal.hookspecs import Category
from portal.identity.professions import PROFESSIONS
from portal.identity.tables import PERSON_ROLES, PROFESSIONAL_ROLES, Role
from tests.access.test_matrix import (
    ACCESS_MD_READ,
    ACCESS_MD_WRITE,
    MATRIX_PROFESSIONS,
    SECTIONS,
)

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
DOSSIER = UUID(int=1)
PATIENT = UUID(int=2)
PARENT = UUID(int=3)
TRAITANT = UUID(int=4)
PRO = UUID(int=5)
OTHER = UUID(int=6)
STRANGER = UUID(int=7)

SANTE_TRAVAIL = Category(
    "sante_travail", read=("medecin_du_travail",), write=("medecin_du_travail",)
)
MATRIX = load_matrix()
PLUGGED = load_matrix(plugin_categories=(*SECTIONS, SANTE_TRAVAIL))
ALL_ACTIONS = tuple(Action)
EMERGENCY_PROFESSIONS = sorted(MATRIX.emergency_professions)

the_patient = Actor(PATIENT, Role.PATIENT)
the_parent = Actor(PARENT, Role.REPRESENTATIVE)
traitant = Actor(TRAITANT, Role.PROFESSIONAL, "medecin")
insurer = Actor(STRANGER, Role.INSURER_AGENT)
administrator = Actor(STRANGER, Role.ADMINISTRATOR)
regulator = Actor(PRO, Role.SAMU_REGULATOR, "medecin")


def professional(profession: str = "medecin", account: UUID = PRO) -> Actor:
    return Actor(account, Role.PROFESSIONAL, profession)


def dossier(**facts) -> DossierFacts:
    defaults = {
        "id": DOSSIER,
        "status": DossierStatus.OPEN,
        "patient_account": PATIENT,
        "representatives": frozenset({PARENT}),
        "medecin_traitant": TRAITANT,
    }
    return DossierFacts(**(defaults | facts))


def in_circle(actor: Actor, joined: Joined = Joined.BY_PATIENT, **facts) -> DossierFacts:
    return dossier(circle={actor.account_id: joined}, **facts)


def grant(mode: GrantMode = GrantMode.EMERGENCY, expires_at: datetime | None = None) -> Grant:
    return Grant(
        mode, "unconscious, brought in by the firemen", expires_at or NOW + timedelta(hours=4)
    )


def ask(actor, facts, action, category=None, item=None, *, matrix=MATRIX, now=NOW):
    return decide(actor, facts, action, category, item, matrix=matrix, now=now)


def kinds(matrix):
    """Every (category, document type) the matrix has rules for; "" is the category's own."""
    for category, rules in matrix.categories.items():
        yield category, ""
        for document_type in rules.types:
            yield category, document_type


def everything(matrix):
    """Every way of asking to read: the dossier, each category, an item of each kind."""
    yield {"category": None}
    for category, document_type in kinds(matrix):
        if not document_type:
            yield {"category": category}
        yield {"item": Item(category, document_type, author=OTHER)}


# --- the care circle and the matrix ---------------------------------------------------------


@pytest.mark.parametrize("profession", list(PROFESSIONS))
def test_a_circle_professional_does_what_the_matrix_file_says(profession):
    actor = professional(profession)
    facts = in_circle(actor)
    wrong = []
    for category, document_type in kinds(MATRIX):
        for action in sorted(READS | WRITES):
            if action in READS:
                expected = MATRIX.may_read(profession, category, document_type)
                author = OTHER
            else:
                expected = MATRIX.may_write(profession, category, document_type) and (
                    (category, document_type) != SUMMARY
                )
                author = PRO
            asks = [{"item": Item(category, document_type, author=author)}]
            if not document_type:
                asks.append({"category": category})
            for where in asks:
                decision = ask(actor, facts, action, **where)
                if decision.allowed is not expected:
                    wrong.append((action.value, category, document_type, where.keys(), decision))
                elif decision.allowed:
                    assert decision.reason == "care circle: added by the patient"
                    assert (decision.purpose, decision.mode) == (Purpose.TREAT, Mode.NORMAL)
    assert not wrong, f"{profession}: {wrong}"


@pytest.mark.parametrize("profession", MATRIX_PROFESSIONS)
def test_a_circle_professional_reads_what_access_md_says(profession):
    actor = professional(profession)
    facts = in_circle(actor, Joined.CONSENT)
    column = MATRIX_PROFESSIONS.index(profession)
    for category, row in ACCESS_MD_READ.items():
        reads = row.split()[column] == "R"
        for action in READS:
            for where in ({"category": category}, {"item": Item(category, author=OTHER)}):
                decision = ask(actor, facts, action, **where)
                assert decision.allowed is reads, (profession, category, action, where)


@pytest.mark.parametrize("profession", list(PROFESSIONS))
def test_a_circle_professional_writes_what_access_md_says(profession):
    actor = professional(profession)
    facts = in_circle(actor)
    for category, writers in ACCESS_MD_WRITE.items():
        decision = ask(actor, facts, Action.CREATE, category)
        assert decision.allowed is (profession in writers), (profession, category)


def test_only_the_medecin_traitant_writes_the_summary_whatever_the_file_says(tmp_path):
    end_of_summary = '"pedicure_podologue"]\nwrite = []\n\n[categories.imagerie]'
    text = DEFAULT_MATRIX.read_text()
    assert end_of_summary in text
    path = tmp_path / "matrix.toml"
    path.write_text(text.replace(end_of_summary, end_of_summary.replace("[]", '["medecin"]')))
    matrix = load_matrix(path)
    assert matrix.may_write("medecin", *SUMMARY)
    doctor = professional("medecin")
    facts = in_circle(doctor)
    for action in WRITES:
        own = Item(*SUMMARY, author=PRO)
        assert not ask(doctor, facts, action, item=own, matrix=matrix).allowed, action
        for deployed in (matrix, MATRIX):
            theirs = Item(*SUMMARY, author=TRAITANT)
            assert ask(traitant, facts, action, item=theirs, matrix=deployed).allowed, action
    other_synthesis = Item("synthese", author=PRO)
    assert ask(doctor, facts, Action.CREATE, item=other_synthesis, matrix=matrix).allowed


def test_a_professional_changes_only_what_they_wrote():
    nurse = professional("infirmier")
    facts = in_circle(nurse)
    assert ask(nurse, facts, Action.UPDATE, item=Item("plan_soins", author=PRO)).allowed
    decision = ask(nurse, facts, Action.UPDATE, item=Item("plan_soins", author=OTHER))
    assert not decision.allowed
    assert decision.status == 403


def test_the_medecin_traitant_changes_what_others_wrote_only_in_the_summary():
    assert ask(traitant, dossier(), Action.UPDATE, item=Item(*SUMMARY, author=OTHER)).allowed
    for category, document_type in (
        ("synthese", ""),
        ("compte_rendu", "consultation"),
        ("compte_rendu", SUMMARY[1]),
    ):
        item = Item(category, document_type, author=OTHER)
        decision = ask(traitant, dossier(), Action.UPDATE, item=item)
        assert not decision.allowed, (category, document_type)
        assert decision.reason == "only the author changes a document"


# --- the médecin traitant and blocks --------------------------------------------------------


def test_the_medecin_traitant_reads_every_category_and_masked_documents():
    facts = dossier()
    for category, document_type in kinds(PLUGGED):
        for action in READS:
            for masked in (False, True):
                item = Item(category, document_type, author=OTHER, masked=masked)
                decision = ask(traitant, facts, action, item=item, matrix=PLUGGED)
                assert decision.allowed, (category, document_type, action, masked)
                assert decision.reason == "médecin traitant"
                assert (decision.purpose, decision.mode) == (Purpose.TREAT, Mode.NORMAL)
            assert ask(traitant, facts, action, category, matrix=PLUGGED).allowed


def test_occupational_health_is_the_medecin_traitants_and_the_occupational_physicians():
    assert ask(traitant, dossier(), Action.VIEW, "sante_travail", matrix=PLUGGED).allowed
    doctor = professional("medecin")
    assert not ask(doctor, in_circle(doctor), Action.VIEW, "sante_travail", matrix=PLUGGED).allowed
    occupational = professional("medecin_du_travail")
    # The care circle is not enough: the worker consents for this section (test_section_consent).
    facts = in_circle(occupational)
    assert not ask(occupational, facts, Action.VIEW, "sante_travail", matrix=PLUGGED).allowed
    facts = dossier(scoped={PRO: frozenset({"sante_travail"})})
    assert ask(occupational, facts, Action.VIEW, "sante_travail", matrix=PLUGGED).allowed
    assert ask(occupational, facts, Action.CREATE, "sante_travail", matrix=PLUGGED).allowed


@pytest.mark.parametrize("joined", list(Joined))
def test_a_blocked_professional_is_refused_everything_even_in_the_circle(joined):
    doctor = professional("medecin")
    facts = in_circle(doctor, joined, blocked=frozenset({PRO}), grant=grant())
    for action in ALL_ACTIONS:
        for where in everything(MATRIX):
            decision = ask(doctor, facts, action, **where)
            assert not decision.allowed, (action, where)
            assert decision.reason == "blocked by the patient"


def test_a_blocked_medecin_traitant_is_refused():
    facts = dossier(blocked=frozenset({TRAITANT}))
    decision = ask(traitant, facts, Action.VIEW, "synthese")
    assert (decision.allowed, decision.reason) == (False, "blocked by the patient")


# --- the facts every deployment keeps -------------------------------------------------------


def test_a_dentist_never_reads_end_of_life_wishes():
    dentist = professional("chirurgien_dentiste")
    facts = in_circle(dentist)
    assert PLUGGED.may_read("medecin", "directives")
    assert ask(dentist, facts, Action.VIEW, "synthese", matrix=PLUGGED).allowed
    for action in READS:
        for where in ({"category": "directives"}, {"item": Item("directives", author=OTHER)}):
            assert not ask(dentist, facts, action, **where, matrix=PLUGGED).allowed, action


def test_a_podiatrist_never_reads_a_childbirth_report():
    podiatrist = professional("pedicure_podologue")
    facts = in_circle(podiatrist)
    report = Item("compte_rendu", "accouchement", author=OTHER)
    for action in READS:
        assert not ask(podiatrist, facts, action, item=report).allowed, action
    midwife = professional("sage_femme")
    assert ask(midwife, in_circle(midwife), Action.VIEW, item=report).allowed


@pytest.mark.parametrize("staff", [insurer, administrator], ids=["insurer", "administrator"])
def test_staff_never_read_medical_content(staff):
    facts = in_circle(staff, medecin_traitant=STRANGER, grant=grant())
    for action in READS:
        for where in [*everything(PLUGGED), {"category": ABOUT_ACCESS}]:
            decision = ask(staff, facts, action, **where, matrix=PLUGGED)
            assert not decision.allowed, (action, where)
            assert decision.reason == "never medical content"


def test_the_insurer_only_adds_reimbursements_to_open_dossiers():
    decision = ask(insurer, dossier(), Action.CREATE, "remboursement")
    assert decision.allowed
    assert decision.purpose == Purpose.HPAYMT
    closed = dossier(status=DossierStatus.CLOSED)
    assert not ask(insurer, closed, Action.CREATE, "remboursement").allowed
    for action in ALL_ACTIONS:
        for category in [None, ABOUT_ACCESS, *MATRIX.categories]:
            if (action, category) != (Action.CREATE, "remboursement"):
                assert not ask(insurer, dossier(), action, category).allowed, (action, category)
        item = Item("remboursement", author=STRANGER)
        assert not ask(insurer, dossier(), action, item=item).allowed, action
    assert not ask(administrator, dossier(), Action.CREATE, "remboursement").allowed


# --- masks ----------------------------------------------------------------------------------


MASKED = Item("compte_rendu", "consultation", author=OTHER, masked=True)
UNMASKED = Item("compte_rendu", "consultation", author=OTHER)


def test_a_masked_document_disappears_for_a_circle_professional():
    doctor = professional("medecin")
    facts = in_circle(doctor)
    assert ask(doctor, facts, Action.VIEW, item=UNMASKED).allowed
    for action in READS:
        decision = ask(doctor, facts, action, item=MASKED)
        assert not decision.allowed, action
        assert decision.status == 404
        assert decision.reason == "masked by the patient"


def test_a_masked_document_stays_for_its_author_the_medecin_traitant_and_the_patients_side():
    author = professional("infirmier", OTHER)
    assert ask(author, in_circle(author), Action.VIEW, item=MASKED).allowed
    for actor in (traitant, the_patient, the_parent):
        for action in READS:
            assert ask(actor, dossier(), action, item=MASKED).allowed, (actor, action)


def test_masks_hold_in_emergency_and_samu_accesses():
    doctor = professional("medecin")
    emergency = dossier(grant=grant(GrantMode.EMERGENCY))
    samu = dossier(grant=grant(GrantMode.SAMU))
    assert ask(doctor, emergency, Action.VIEW, item=UNMASKED).allowed
    assert ask(regulator, samu, Action.VIEW, item=UNMASKED).allowed
    for action in READS:
        assert not ask(doctor, emergency, action, item=MASKED).allowed, action
        assert not ask(regulator, samu, action, item=MASKED).allowed, action


# --- hidden documents -----------------------------------------------------------------------


def test_a_document_hidden_until_announced_shows_once_the_date_passes():
    until = NOW + timedelta(days=14)
    item = Item("compte_rendu", "biologie", author=OTHER, hidden_until=until)
    for actor in (the_patient, the_parent):
        for action in READS:
            decision = ask(actor, dossier(), action, item=item)
            assert not decision.allowed, (actor, action)
            assert decision.reason == "hidden from the patient until announced"
        assert not ask(
            actor, dossier(), Action.VIEW, item=item, now=until - timedelta(seconds=1)
        ).allowed
        assert ask(actor, dossier(), Action.VIEW, item=item, now=until).allowed
        assert ask(actor, dossier(), Action.VIEW, item=item, now=until + timedelta(days=1)).allowed
    doctor = professional("medecin")
    assert ask(doctor, in_circle(doctor), Action.VIEW, item=item).allowed
    assert ask(traitant, dossier(), Action.VIEW, item=item).allowed


def test_a_document_hidden_from_the_representatives_shows_to_the_patient():
    item = Item("compte_rendu", "consultation", author=OTHER, hidden_from_representatives=True)
    for action in READS:
        decision = ask(the_parent, dossier(), action, item=item)
        assert not decision.allowed, action
        assert decision.reason == "hidden from the representatives"
        assert ask(the_patient, dossier(), action, item=item).allowed, action
    doctor = professional("medecin")
    assert ask(doctor, in_circle(doctor), Action.VIEW, item=item).allowed
    assert ask(traitant, dossier(), Action.VIEW, item=item).allowed


# --- closed dossiers ------------------------------------------------------------------------


def test_a_closed_dossier_ends_every_professional_access():
    closed = {"status": DossierStatus.CLOSED}
    doctor = professional("medecin")
    askers = [
        (traitant, dossier(**closed)),
        (traitant, dossier(**closed, grant=grant())),
        (doctor, in_circle(doctor, **closed)),
        (doctor, in_circle(doctor, Joined.CONSENT, **closed)),
        (doctor, dossier(**closed, grant=grant(GrantMode.EMERGENCY))),
        (regulator, dossier(**closed, grant=grant(GrantMode.SAMU))),
    ]
    for actor, facts in askers:
        for action in ALL_ACTIONS:
            for where in everything(MATRIX):
                decision = ask(actor, facts, action, **where)
                assert not decision.allowed, (actor, facts, action, where)
                assert decision.reason == "dossier closed"


def test_the_patients_side_still_reads_a_closed_dossier_but_adds_nothing():
    facts = dossier(status=DossierStatus.CLOSED)
    for actor in (the_patient, the_parent):
        for where in everything(MATRIX):
            assert ask(actor, facts, Action.VIEW, **where).allowed, (actor, where)
        assert ask(actor, dossier(), Action.CREATE, "patient").allowed
        decision = ask(actor, facts, Action.CREATE, "patient")
        assert not decision.allowed
        assert decision.status == 403


# --- emergency access -----------------------------------------------------------------------


def test_a_professional_outside_the_circle_is_refused():
    doctor = professional("medecin")
    for facts in (dossier(), dossier(circle={OTHER: Joined.BY_PATIENT})):
        for action in sorted(READS | WRITES):
            decision = ask(doctor, facts, action, "synthese")
            assert (decision.allowed, decision.reason) == (False, "not in the care circle")
            assert decision.status == 404


@pytest.mark.parametrize("profession", EMERGENCY_PROFESSIONS)
def test_an_emergency_access_reads_the_matrix_and_writes_nothing(profession):
    actor = professional(profession)
    facts = dossier(grant=grant())
    opened = ask(actor, facts, Action.VIEW)
    assert opened.allowed
    assert (opened.reason, opened.purpose, opened.mode) == (
        "emergency access",
        Purpose.BTG,
        Mode.EMERGENCY,
    )
    for category, document_type in kinds(MATRIX):
        item = Item(category, document_type, author=OTHER)
        for action in READS:
            decision = ask(actor, facts, action, item=item)
            assert decision.allowed is MATRIX.may_read(profession, category, document_type)
            if decision.allowed:
                assert (decision.purpose, decision.mode) == (Purpose.BTG, Mode.EMERGENCY)
        for action in WRITES:
            decision = ask(actor, facts, action, category)
            assert not decision.allowed, (category, action)
            assert not ask(actor, facts, action, item=Item(category, author=PRO)).allowed


@pytest.mark.parametrize("expires_at", [NOW, NOW - timedelta(minutes=1)], ids=["now", "before"])
def test_an_expired_emergency_access_gives_nothing(expires_at):
    doctor = professional("medecin")
    facts = dossier(grant=grant(GrantMode.EMERGENCY, expires_at))
    for where in everything(MATRIX):
        decision = ask(doctor, facts, Action.VIEW, **where)
        assert (decision.allowed, decision.reason) == (False, "not in the care circle")


def test_emergency_access_is_for_doctors_midwives_and_nurses():
    for profession in PROFESSIONS:
        actor = professional(profession)
        started = ask(actor, dossier(), Action.EMERGENCY_ACCESS)
        used = ask(actor, dossier(grant=grant()), Action.VIEW, "synthese")
        expected = profession in {"medecin", "sage_femme", "infirmier"}
        assert started.allowed is expected, profession
        assert used.allowed is (expected and MATRIX.may_read(profession, "synthese"))
    pharmacist = professional("pharmacien")
    decision = ask(pharmacist, dossier(grant=grant()), Action.VIEW, "synthese")
    assert (decision.allowed, decision.status) == (False, 403)
    assert not ask(regulator, dossier(), Action.EMERGENCY_ACCESS).allowed


def test_starting_an_emergency_access_needs_an_open_dossier_and_no_block():
    doctor = professional("medecin")
    assert ask(doctor, dossier(), Action.EMERGENCY_ACCESS).allowed
    for facts in (
        dossier(status=DossierStatus.CLOSED),
        dossier(blocked=frozenset({PRO})),
        dossier(refuses_emergency_access=True),
    ):
        assert not ask(doctor, facts, Action.EMERGENCY_ACCESS).allowed, facts


@pytest.mark.parametrize("profession", EMERGENCY_PROFESSIONS)
def test_a_patient_who_opted_out_of_emergency_access_is_not_opened(profession):
    actor = professional(profession)
    opted_out = {"refuses_emergency_access": True}
    for decision in (
        ask(actor, dossier(**opted_out), Action.EMERGENCY_ACCESS),
        ask(actor, dossier(**opted_out, grant=grant()), Action.VIEW),
        ask(actor, dossier(**opted_out, grant=grant()), Action.VIEW, "synthese"),
    ):
        assert not decision.allowed
        assert decision.status == 403
        assert decision.reason == "the patient refuses emergency access"
        assert decision.message
    assert ask(actor, in_circle(actor, **opted_out), Action.VIEW, "synthese").allowed


# --- SAMU regulation ------------------------------------------------------------------------


def test_a_samu_regulator_reads_only_the_emergency_relevant_categories():
    facts = dossier(grant=grant(GrantMode.SAMU))
    assert "synthese" in PLUGGED.samu_categories
    assert "imagerie" not in PLUGGED.samu_categories
    assert ask(regulator, facts, Action.VIEW, "synthese", matrix=PLUGGED).allowed
    assert not ask(regulator, facts, Action.VIEW, "imagerie", matrix=PLUGGED).allowed
    for category, document_type in kinds(PLUGGED):
        expected = category in PLUGGED.samu_categories and PLUGGED.may_read(
            "medecin", category, document_type
        )
        item = Item(category, document_type, author=OTHER)
        for action in READS:
            decision = ask(regulator, facts, action, item=item, matrix=PLUGGED)
            assert decision.allowed is expected, (category, document_type, action)
            if decision.allowed:
                assert decision.reason == "SAMU regulation"
                assert (decision.purpose, decision.mode) == (Purpose.ETREAT, Mode.SAMU)
        for action in WRITES:
            assert not ask(regulator, facts, action, category, matrix=PLUGGED).allowed


def test_samu_access_is_for_regulators():
    assert ask(regulator, dossier(), Action.SAMU_ACCESS).allowed
    doctor = professional("medecin")
    assert not ask(doctor, dossier(), Action.SAMU_ACCESS).allowed
    assert not ask(doctor, dossier(grant=grant(GrantMode.SAMU)), Action.VIEW, "synthese").allowed


def test_the_two_opt_outs_are_separate():
    samu = grant(GrantMode.SAMU)
    doctor = professional("medecin")
    refuses_samu = {"refuses_samu_access": True}
    for decision in (
        ask(regulator, dossier(**refuses_samu), Action.SAMU_ACCESS),
        ask(regulator, dossier(**refuses_samu, grant=samu), Action.VIEW, "synthese"),
    ):
        assert (decision.allowed, decision.status) == (False, 403)
        assert decision.reason == "the patient refuses SAMU access"
    refuses_emergency = {"refuses_emergency_access": True}
    assert ask(regulator, dossier(**refuses_emergency), Action.SAMU_ACCESS).allowed
    assert ask(regulator, dossier(**refuses_emergency, grant=samu), Action.VIEW, "synthese").allowed
    assert ask(doctor, dossier(**refuses_samu), Action.EMERGENCY_ACCESS).allowed
    assert ask(doctor, dossier(**refuses_samu, grant=grant()), Action.VIEW, "synthese").allowed


# --- the patient's side ---------------------------------------------------------------------


@pytest.mark.parametrize("actor", [the_patient, the_parent], ids=["patient", "representative"])
def test_the_patients_side_reads_everything_and_holds_the_controls(actor):
    facts = dossier()
    for action in READS:
        for where in [*everything(PLUGGED), {"category": ABOUT_ACCESS}, {"item": MASKED}]:
            decision = ask(actor, facts, action, **where, matrix=PLUGGED)
            assert decision.allowed, (action, where)
            assert decision.purpose == Purpose.PATRQT
    for action in PATIENT_CONTROLS:
        assert ask(actor, facts, action).allowed, action
        assert ask(actor, facts, action, item=UNMASKED).allowed, action


@pytest.mark.parametrize("actor", [the_patient, the_parent], ids=["patient", "representative"])
def test_the_patients_side_adds_only_to_its_own_categories(actor):
    facts = dossier()
    for category in PLUGGED.categories:
        decision = ask(actor, facts, Action.CREATE, category, matrix=PLUGGED)
        assert decision.allowed is PLUGGED.by_patient(category), category
    assert [key for key in MATRIX.categories if MATRIX.by_patient(key)] == ["patient"]
    own = Item("patient", author=actor.account_id)
    assert ask(actor, facts, Action.UPDATE, item=own).allowed
    assert not ask(actor, facts, Action.UPDATE, item=Item("patient", author=PRO)).allowed


def test_professionals_keep_out_of_the_patients_business():
    doctor = professional("medecin")
    for actor, facts in ((traitant, dossier()), (doctor, in_circle(doctor))):
        for action in READS:
            decision = ask(actor, facts, action, ABOUT_ACCESS)
            assert (decision.allowed, decision.status) == (False, 403), (actor, action)
        for action in PATIENT_CONTROLS:
            assert not ask(actor, facts, action).allowed, (actor, action)
            assert not ask(actor, facts, action, item=UNMASKED).allowed, (actor, action)


@pytest.mark.parametrize("role", sorted(PERSON_ROLES))
def test_someone_elses_dossier_is_not_theirs(role):
    stranger = Actor(STRANGER, role)
    for action in ALL_ACTIONS:
        for where in everything(MATRIX):
            decision = ask(stranger, dossier(), action, **where)
            assert (decision.allowed, decision.reason) == (False, "not their dossier")
            assert decision.status == 404


def test_an_unknown_category_is_refused_to_everyone():
    for actor, facts in (
        (the_patient, dossier()),
        (traitant, dossier()),
        (insurer, dossier()),
        (regulator, dossier(grant=grant(GrantMode.SAMU))),
    ):
        for action in ALL_ACTIONS:
            assert not ask(actor, facts, action, "astrologie").allowed, (actor, action)
            assert not ask(actor, facts, action, item=Item("astrologie")).allowed


# --- the acts the policy names, and the rights that come with age ----------------------------

#: The sections whose rules depend on the patient's age, written by the patient's side.
BY_AGE = load_matrix(
    plugin_categories=(
        Category(ORGAN_DONATION, read=("medecin",), by_patient=True),
        Category(END_OF_LIFE, read=("medecin", "infirmier"), by_patient=True),
        replace(SECTIONS[0], by_patient=True),  # vaccination, copied from a paper carnet too
    )
)


def aged(years: int, **facts) -> DossierFacts:
    """The dossier of a patient ``years`` old today, named Léa."""
    return dossier(birth_date=NOW.date().replace(year=NOW.year - years), first_name="Léa", **facts)


def test_a_professional_hides_a_document_they_add_or_wrote_and_the_patients_side_never_does():
    author, colleague = professional(), professional(account=OTHER)
    report = Item("compte_rendu", author=PRO)
    assert ask(author, in_circle(author), Act.HIDE).allowed  # what they are adding
    assert ask(author, in_circle(author), Act.HIDE, item=report).allowed
    refused = ask(colleague, in_circle(colleague), Act.HIDE, item=report)
    assert (refused.allowed, refused.status) == (False, 403)
    for side in (the_patient, the_parent):
        own = Item("patient", author=side.account_id)
        refused = ask(side, dossier(), Act.HIDE, item=own)
        assert (refused.allowed, refused.status) == (False, 403)
        assert refused.message
        assert not ask(side, dossier(), Act.HIDE).allowed
    assert not ask(insurer, dossier(), Act.HIDE).allowed
    assert traced_as(Act.HIDE) == Action.UPDATE


def test_a_professional_confirms_what_the_patient_copied_as_they_would_add_it():
    def confirms(actor: Actor, facts: DossierFacts):
        mine = Item("vaccination", author=actor.account_id)
        return ask(actor, facts, Act.CONFIRM, "vaccination", mine, matrix=BY_AGE)

    pharmacist, dentist = professional("pharmacien"), professional("chirurgien_dentiste")
    assert confirms(pharmacist, in_circle(pharmacist)).allowed
    assert not confirms(dentist, in_circle(dentist)).allowed
    assert not confirms(professional("medecin"), dossier(grant=grant())).allowed  # emergency
    for side in (the_patient, the_parent):
        refused = confirms(side, dossier())
        assert (refused.allowed, refused.status) == (False, 403)
        assert refused.message
        assert ask(side, dossier(), Action.CREATE, "vaccination", matrix=BY_AGE).allowed
    assert traced_as(Act.CONFIRM) == Action.CREATE


def test_the_patients_side_alone_flags_a_summary_line_of_an_open_dossier():
    for side in (the_patient, the_parent):
        assert ask(side, dossier(), Act.FLAG).allowed
        closed = ask(side, dossier(status=DossierStatus.CLOSED), Act.FLAG)
        assert (closed.allowed, closed.status) == (False, 403)
    doctor = professional()
    for actor, facts in ((traitant, dossier()), (doctor, in_circle(doctor))):
        refused = ask(actor, facts, Act.FLAG)
        assert (refused.allowed, refused.status) == (False, 403)
    assert ask(doctor, dossier(), Act.FLAG).status == 404  # a stranger
    assert traced_as(Act.FLAG) == Action.CREATE


@pytest.mark.parametrize(
    ("years", "actor", "allowed"),
    [(12, the_patient, False), (12, the_parent, True), (13, the_patient, True),
     (13, the_parent, False), (40, the_patient, True)],
)  # fmt: skip
def test_the_position_on_organ_donation_is_the_patients_own_from_13(years, actor, allowed):
    for action in WRITES:
        decision = ask(actor, aged(years), action, ORGAN_DONATION, matrix=BY_AGE)
        assert decision.allowed is allowed, action
        if not allowed:
            assert decision.status == 403
            assert decision.message
    assert ask(actor, aged(years), Action.VIEW, ORGAN_DONATION, matrix=BY_AGE).allowed
    if years == 13 and actor == the_parent:
        assert "Léa" in ask(actor, aged(13), Action.CREATE, ORGAN_DONATION, matrix=BY_AGE).message


@pytest.mark.parametrize("actor", [the_patient, the_parent], ids=["patient", "representative"])
def test_end_of_life_wishes_are_written_from_18(actor):
    minor = ask(actor, aged(17), Action.CREATE, END_OF_LIFE, matrix=BY_AGE)
    assert (minor.allowed, minor.status) == (False, 403)
    assert "18" in minor.message
    assert ask(actor, aged(17), Action.VIEW, END_OF_LIFE, matrix=BY_AGE).allowed
    assert ask(actor, aged(18), Action.CREATE, END_OF_LIFE, matrix=BY_AGE).allowed
    # Without a date of birth, nothing is refused for the age.
    assert ask(actor, dossier(), Action.CREATE, END_OF_LIFE, matrix=BY_AGE).allowed


# --- whatever else is true ------------------------------------------------------------------

ACTOR = UUID(int=100)
SOMEONE = UUID(int=101)
#: What a professional asks of the dossier as a whole, before any standing in it.
DOSSIER_ACTIONS = frozenset({Action.CONSENT, Action.EMERGENCY_ACCESS, Action.SAMU_ACCESS})
MOMENTS = (NOW - timedelta(days=1), NOW, NOW + timedelta(seconds=1), NOW + timedelta(hours=4))
ITEM_TYPES = ("", "accouchement", "resume", "consultation")


@dataclass(frozen=True)
class Situation:
    actor: Actor
    facts: DossierFacts
    action: Action
    category: str | None
    item: Item | None


@st.composite
def situations(draw):
    """Any actor, dossier and request. The patient's side are person accounts: the patient's
    own and the representatives'."""
    role = draw(st.sampled_from(sorted(PROFESSIONAL_ROLES)) | st.sampled_from(list(Role)))
    professions = st.sampled_from(EMERGENCY_PROFESSIONS) | st.sampled_from(["", *PROFESSIONS])
    profession = draw(professions) if role in PROFESSIONAL_ROLES else ""
    side = draw(st.sampled_from(["", "patient", "representative"])) if role in PERSON_ROLES else ""
    accounts = st.sampled_from([ACTOR, SOMEONE])
    grants = st.builds(
        Grant, st.sampled_from(GrantMode), st.just("call 2026-0314-117"), st.sampled_from(MOMENTS)
    )
    facts = DossierFacts(
        id=DOSSIER,
        status=draw(st.just(DossierStatus.OPEN) | st.sampled_from(list(DossierStatus))),
        patient_account=ACTOR if side == "patient" else draw(st.sampled_from([SOMEONE, None])),
        representatives=frozenset(
            {ACTOR} if side == "representative" else draw(st.sets(st.just(SOMEONE)))
        ),
        medecin_traitant=draw(st.sampled_from([ACTOR, SOMEONE, None])),
        circle=draw(st.dictionaries(accounts, st.sampled_from(Joined))),
        blocked=frozenset(draw(st.just(set()) | st.sets(accounts))),
        refuses_emergency_access=draw(st.booleans()),
        refuses_samu_access=draw(st.booleans()),
        grant=draw(st.none() | grants),
    )
    item = draw(
        st.none()
        | st.builds(
            Item,
            st.sampled_from(["astrologie", *PLUGGED.categories]),
            st.sampled_from(ITEM_TYPES),
            st.sampled_from([ACTOR, SOMEONE, None]),
            st.booleans(),
            st.none() | st.sampled_from(MOMENTS),
            st.booleans(),
        )
    )
    return Situation(
        actor=Actor(ACTOR, role, profession),
        facts=facts,
        action=draw(st.sampled_from(sorted(READS | WRITES)) | st.sampled_from(list(Action))),
        category=draw(st.sampled_from([None, ABOUT_ACCESS, "astrologie", *PLUGGED.categories])),
        item=item,
    )


def a_professional(situation, draw):
    """The same situation, asked by a professional who is not on the patient's side."""
    actor = situation.actor
    if actor.role not in PROFESSIONAL_ROLES:
        role = draw(st.sampled_from(sorted(PROFESSIONAL_ROLES)))
        actor = Actor(ACTOR, role, draw(st.sampled_from(list(PROFESSIONS))))
    facts = situation.facts
    facts = replace(
        facts,
        patient_account=SOMEONE if facts.patient_account == ACTOR else facts.patient_account,
        representatives=facts.representatives - {ACTOR},
    )
    return replace(situation, actor=actor, facts=facts)


def without_standing(situation):
    facts = situation.facts
    return replace(
        situation,
        facts=replace(
            facts,
            medecin_traitant=None if facts.medecin_traitant == ACTOR else facts.medecin_traitant,
            circle={account: how for account, how in facts.circle.items() if account != ACTOR},
        ),
    )


def on_an_item(situation, draw, **changes):
    item = situation.item or Item(draw(st.sampled_from(list(PLUGGED.categories))), author=SOMEONE)
    return replace(situation, item=replace(item, **changes))


def other_than(situation, draw, actions):
    if situation.action not in actions:
        return situation
    return replace(situation, action=draw(st.sampled_from(sorted(READS | WRITES))))


def with_a_grant(situation, draw, mode=None, expiries=MOMENTS[2:]):
    """A professional outside the circle whose emergency or SAMU access would be used: the
    access of their role, no opt-out, no block, an open dossier; the rest as it was."""
    situation = without_standing(a_professional(situation, draw))
    mode = mode or draw(st.sampled_from(GrantMode))
    if mode == GrantMode.SAMU:
        actor = Actor(ACTOR, Role.SAMU_REGULATOR, "medecin")
    else:
        actor = Actor(ACTOR, Role.PROFESSIONAL, draw(st.sampled_from(EMERGENCY_PROFESSIONS)))
    facts = replace(
        situation.facts,
        status=DossierStatus.OPEN,
        blocked=situation.facts.blocked - {ACTOR},
        refuses_emergency_access=False,
        refuses_samu_access=False,
        grant=Grant(mode, "call 2026-0314-117", draw(st.sampled_from(expiries))),
    )
    return replace(situation, actor=actor, facts=facts)


def blocked_professional(situation, draw):
    situation = a_professional(situation, draw)
    blocked = situation.facts.blocked | {ACTOR}
    return replace(situation, facts=replace(situation.facts, blocked=blocked))


def closed_dossier(situation, draw):
    situation = (
        situation if situation.actor.role in PERSON_ROLES else a_professional(situation, draw)
    )
    facts = situation.facts
    if facts.patient_account == ACTOR or ACTOR in facts.representatives:
        situation = replace(situation, actor=Actor(ACTOR, Role.PATIENT))
        facts = replace(facts, patient_account=SOMEONE, representatives=frozenset())
    return replace(situation, facts=replace(facts, status=DossierStatus.CLOSED))


def staff_reading(situation, draw):
    facts = replace(situation.facts, patient_account=SOMEONE, representatives=frozenset())
    role = draw(st.sampled_from([Role.INSURER_AGENT, Role.ADMINISTRATOR]))
    action = draw(st.sampled_from(sorted(READS)))
    return replace(situation, actor=Actor(ACTOR, role), facts=facts, action=action)


def masked_for_a_professional(situation, draw):
    situation = other_than(a_professional(situation, draw), draw, DOSSIER_ACTIONS)
    facts = situation.facts
    if facts.medecin_traitant == ACTOR:
        situation = replace(situation, facts=replace(facts, medecin_traitant=SOMEONE))
    author = situation.item.author if situation.item else SOMEONE
    return on_an_item(situation, draw, masked=True, author=None if author == ACTOR else author)


def on_the_patients_side(situation, draw):
    side = draw(st.sampled_from(["patient", "representative"]))
    facts = situation.facts
    if side == "patient":
        facts = replace(facts, patient_account=ACTOR)
    else:
        patient = SOMEONE if facts.patient_account == ACTOR else facts.patient_account
        facts = replace(facts, patient_account=patient, representatives=frozenset({ACTOR}))
    actor = Actor(ACTOR, draw(st.sampled_from(sorted(PERSON_ROLES))))
    return replace(situation, actor=actor, facts=facts)


def hidden_from_the_patient(situation, draw):
    situation = on_the_patients_side(situation, draw)
    until = NOW + timedelta(seconds=draw(st.integers(1, 30 * 24 * 3600)))
    return on_an_item(situation, draw, hidden_until=until)


def hidden_from_a_representative(situation, draw):
    facts = situation.facts
    patient = SOMEONE if facts.patient_account == ACTOR else facts.patient_account
    facts = replace(facts, patient_account=patient, representatives=frozenset({ACTOR}))
    actor = Actor(ACTOR, draw(st.sampled_from(sorted(PERSON_ROLES))))
    situation = replace(situation, actor=actor, facts=facts)
    return on_an_item(situation, draw, hidden_from_representatives=True)


def no_standing_and_no_grant(situation, draw):
    if draw(st.booleans()):
        situation = with_a_grant(situation, draw, expiries=MOMENTS[:2])
    else:
        situation = without_standing(a_professional(situation, draw))
        grant = situation.facts.grant
        if grant is not None and grant.expires_at > NOW:
            grant = replace(grant, expires_at=draw(st.sampled_from(MOMENTS[:2])))
        situation = replace(situation, facts=replace(situation.facts, grant=grant))
    return other_than(situation, draw, DOSSIER_ACTIONS)


def emergency_grant_opted_out(situation, draw):
    situation = with_a_grant(situation, draw, GrantMode.EMERGENCY)
    situation = other_than(situation, draw, {Action.CONSENT, Action.SAMU_ACCESS})
    facts = replace(
        situation.facts, refuses_emergency_access=True, refuses_samu_access=draw(st.booleans())
    )
    return replace(situation, facts=facts)


def samu_grant_opted_out(situation, draw):
    situation = with_a_grant(situation, draw, GrantMode.SAMU)
    situation = other_than(situation, draw, {Action.CONSENT, Action.EMERGENCY_ACCESS})
    facts = replace(
        situation.facts, refuses_samu_access=True, refuses_emergency_access=draw(st.booleans())
    )
    return replace(situation, facts=facts)


def writing_under_a_grant(situation, draw):
    situation = with_a_grant(situation, draw)
    return replace(situation, action=draw(st.sampled_from(sorted(WRITES))))


def an_unknown_category(situation, draw):
    situation = replace(situation, category="astrologie")
    if situation.item is None:
        return situation
    return replace(situation, item=replace(situation.item, category="astrologie"))


OVERRIDING_RULES = {
    "a blocked professional": blocked_professional,
    "a closed dossier, off the patient's side": closed_dossier,
    "the insurer or the administrator reading": staff_reading,
    "a masked item, neither its author nor the médecin traitant": masked_for_a_professional,
    "an item hidden from the patient, on the patient's side": hidden_from_the_patient,
    "an item hidden from the representatives, for one of them": hidden_from_a_representative,
    "a professional with no standing and no grant": no_standing_and_no_grant,
    "an emergency grant the patient opted out of": emergency_grant_opted_out,
    "a SAMU grant the patient opted out of": samu_grant_opted_out,
    "writing under a grant": writing_under_a_grant,
    "an unknown category": an_unknown_category,
}


@pytest.mark.parametrize("rule", list(OVERRIDING_RULES))
@settings(max_examples=150, deadline=None)
@given(situation=situations(), data=st.data())
def test_an_overriding_rule_refuses_whatever_else_is_true(rule, situation, data):
    situation = OVERRIDING_RULES[rule](situation, data.draw)
    decision = ask(
        situation.actor,
        situation.facts,
        situation.action,
        situation.category,
        situation.item,
        matrix=PLUGGED,
    )
    assert not decision.allowed, decision


@settings(max_examples=300, deadline=None)
@given(situations())
def test_what_is_allowed_keeps_every_rule(situation):
    actor, facts, action, item = situation.actor, situation.facts, situation.action, situation.item
    decision = ask(actor, facts, action, situation.category, item, matrix=PLUGGED)
    if not decision.allowed:
        return
    patient_side = facts.patient_account == ACTOR or ACTOR in facts.representatives
    representative = ACTOR in facts.representatives and facts.patient_account != ACTOR
    professional = actor.role in PROFESSIONAL_ROLES
    standing = facts.medecin_traitant == ACTOR or ACTOR in facts.circle
    granted = facts.grant is not None and facts.grant.expires_at > NOW
    asked_about = item.category if item is not None else situation.category

    assert not (professional and ACTOR in facts.blocked), "a block beats everything"
    assert not (facts.status == DossierStatus.CLOSED and not patient_side), "closed dossier"
    assert not (actor.role in {Role.INSURER_AGENT, Role.ADMINISTRATOR} and action in READS)
    assert asked_about != "astrologie", "deny by default"
    if item is not None and item.masked and professional and action not in DOSSIER_ACTIONS:
        assert ACTOR in (item.author, facts.medecin_traitant), "a mask holds"
    if item is not None and patient_side:
        assert not item.hidden_from_patient(NOW), "hidden from the patient"
        assert not (representative and item.hidden_from_representatives), "hidden from them"
    if professional and not standing and action not in DOSSIER_ACTIONS:
        assert granted, "no standing, no grant"
        assert action not in WRITES, "a grant only reads"
    if decision.mode != Mode.NORMAL:
        expected = {Mode.EMERGENCY: (Purpose.BTG, False), Mode.SAMU: (Purpose.ETREAT, True)}
        purpose, samu = expected[decision.mode]
        assert decision.purpose == purpose
        assert not (samu and facts.refuses_samu_access), "opted out of SAMU access"
        assert samu or not facts.refuses_emergency_access, "opted out of emergency access"
        assert action not in WRITES, "a grant only reads"
        if action not in DOSSIER_ACTIONS:
            assert granted
            assert not standing
    author = item is not None and item.author == ACTOR
    if professional and action in READS and not author and facts.medecin_traitant != ACTOR:
        assert (actor.profession, asked_about) != ("chirurgien_dentiste", "directives")
        assert not (
            actor.profession == "pedicure_podologue"
            and item is not None
            and (item.category, item.type) == ("compte_rendu", "accouchement")
        )
