"""A consent scoped to a section: the patient opens one section (occupational health,
``sante_travail``) to one named professional of a profession the policy names for it, and
nothing else of the dossier. That section is read by the patient's side, the médecin traitant
and the holder of such a consent; nobody else, whatever the matrix file says, and there is no
way for an employer (or any other role) to reach it without changing the policy itself."""

from __future__ import annotations

import pytest

from portal.access.policy import BY_SCOPED_CONSENT, READS, WRITES, Actor, Item
from portal.access.tables import GrantMode, Joined
from portal.audit import Action, Mode, Purpose
from portal.identity.professions import PROFESSIONS
from portal.identity.tables import PERSON_ROLES, Role
from tests.access.test_policy import (
    OTHER,
    PARENT,
    PATIENT,
    PLUGGED,
    PRO,
    TRAITANT,
    ask,
    dossier,
    everything,
    grant,
    in_circle,
    professional,
)

SECTION = "sante_travail"
OCCUPATIONAL = ("medecin_du_travail", "infirmier_sante_travail")
CONSENTED = {PRO: frozenset({SECTION})}


def reads_section(actor: Actor, facts, matrix=PLUGGED) -> bool:
    """Whether ``actor`` reads the section, in any way one can ask to read it."""
    answers = {
        ask(actor, facts, action, **where, matrix=matrix).allowed
        for action in READS
        for where in (
            {"category": SECTION},
            {"item": Item(SECTION, author=OTHER)},
            {"item": Item(SECTION, author=actor.account_id)},
        )
    }
    assert len(answers) == 1, (actor, answers)  # the same answer however one asks
    return answers.pop()


def standings(actor: Actor) -> dict:
    """Every way a person may stand in a dossier, as its facts."""
    return {
        "none": dossier(),
        "circle": in_circle(actor),
        "declared consent": in_circle(actor, Joined.CONSENT),
        "scoped consent": dossier(scoped={actor.account_id: frozenset({SECTION})}),
        "scoped consent and circle": in_circle(
            actor, scoped={actor.account_id: frozenset({SECTION})}
        ),
        "emergency": dossier(grant=grant(GrantMode.EMERGENCY)),
        "samu": dossier(grant=grant(GrantMode.SAMU)),
        "representative": dossier(representatives=frozenset({actor.account_id})),
        "patient": dossier(patient_account=actor.account_id),
        "médecin traitant": dossier(medecin_traitant=actor.account_id),
    }


def test_the_policy_names_who_may_hold_a_consent_for_occupational_health():
    assert dict(BY_SCOPED_CONSENT) == {SECTION: frozenset(OCCUPATIONAL)}
    with pytest.raises(TypeError):
        BY_SCOPED_CONSENT["sante_travail"] = frozenset({"employeur"})  # type: ignore[index]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("profession", ["", *PROFESSIONS])
def test_every_role_and_profession_reads_occupational_health_only_as_named(role, profession):
    """The whole table of who reads the section: any other answer is a change of policy."""
    actor = Actor(PRO, role, profession)
    for standing, facts in standings(actor).items():
        if role in PERSON_ROLES:
            expected = standing in ("representative", "patient")
        elif role == Role.PROFESSIONAL:
            expected = standing == "médecin traitant" or (
                standing.startswith("scoped consent") and profession in OCCUPATIONAL
            )
        else:  # SAMU regulators, the insurer, the administrator, and any role added later
            expected = False
        assert reads_section(actor, facts) is expected, (role, profession, standing)


def test_the_matrix_file_cannot_give_occupational_health_to_anyone_else():
    # A deployment whose file (or a plugin) gives the section to every profession.
    from portal.access.matrix import CategoryRules, Matrix, Rule

    everyone = frozenset(PROFESSIONS)
    generous = Matrix(
        categories={**PLUGGED.categories, SECTION: CategoryRules(Rule(everyone, everyone), True)},
        emergency_professions=frozenset(PROFESSIONS),
    )
    for profession in PROFESSIONS:
        actor = professional(profession)
        for standing in ("circle", "declared consent", "emergency"):
            facts = standings(actor)[standing]
            assert not reads_section(actor, facts, generous), (profession, standing)
            decision = ask(actor, facts, Action.CREATE, SECTION, matrix=generous)
            assert not decision.allowed, (profession, standing)
    regulator = Actor(PRO, Role.SAMU_REGULATOR, "medecin")
    assert not reads_section(regulator, dossier(grant=grant(GrantMode.SAMU)), generous)


@pytest.mark.parametrize("profession", OCCUPATIONAL)
def test_a_scoped_consent_reaches_the_section_and_nothing_else(profession):
    actor = professional(profession)
    facts = dossier(scoped=CONSENTED)
    opened = ask(actor, facts, Action.VIEW, matrix=PLUGGED)
    assert opened.allowed  # who the patient is
    assert opened.scope == frozenset({SECTION})
    reached = set()
    for where in everything(PLUGGED):
        for action in sorted(READS | WRITES):
            if action in WRITES and where.get("category", "") is None:
                continue
            decision = ask(actor, facts, action, **where, matrix=PLUGGED)
            if decision.allowed and where.get("category") is not None:
                reached.add(where["category"])
            if decision.allowed and "item" in where:
                reached.add(where["item"].category)
            if "item" in where and where["item"].category != SECTION:
                assert decision.status == 404  # other documents do not exist for them
    assert reached == {SECTION}
    for category in ("vaccination", "patient", "about_access", "personal_notes"):
        assert not ask(actor, facts, Action.VIEW, category, matrix=PLUGGED).allowed, category


def test_the_holder_writes_the_section_and_changes_only_what_they_wrote():
    actor = professional("medecin_du_travail")
    facts = dossier(scoped=CONSENTED)
    decision = ask(actor, facts, Action.CREATE, SECTION, matrix=PLUGGED)
    assert decision.allowed
    assert (decision.purpose, decision.mode) == (Purpose.TREAT, Mode.NORMAL)
    assert decision.reason == "consent scoped to sante_travail"
    own, theirs = Item(SECTION, author=PRO), Item(SECTION, author=OTHER)
    assert ask(actor, facts, Action.UPDATE, item=own, matrix=PLUGGED).allowed
    refused = ask(actor, facts, Action.UPDATE, item=theirs, matrix=PLUGGED)
    assert (refused.allowed, refused.status) == (False, 403)


def test_the_medecin_traitant_reads_the_section_but_does_not_write_it():
    doctor = Actor(TRAITANT, Role.PROFESSIONAL, "medecin")
    assert reads_section(doctor, dossier())
    assert not ask(doctor, dossier(), Action.CREATE, SECTION, matrix=PLUGGED).allowed


def test_the_patients_side_reads_the_section_and_does_not_write_it():
    for person in (Actor(PATIENT, Role.PATIENT), Actor(PARENT, Role.REPRESENTATIVE)):
        assert reads_section(person, dossier())
        assert not ask(person, dossier(), Action.CREATE, SECTION, matrix=PLUGGED).allowed


def test_a_revoked_consent_leaves_nothing_not_even_what_they_wrote():
    actor = professional("medecin_du_travail")
    assert not reads_section(actor, dossier())
    decision = ask(actor, dossier(), Action.VIEW, item=Item(SECTION, author=PRO), matrix=PLUGGED)
    assert (decision.allowed, decision.status) == (False, 404)
    assert not ask(actor, dossier(), Action.VIEW, matrix=PLUGGED).allowed


def test_others_are_refused_as_if_the_section_did_not_exist():
    for profession in ("medecin", "pharmacien", "chirurgien_dentiste"):
        actor = professional(profession)
        decision = ask(actor, in_circle(actor), Action.VIEW, SECTION, matrix=PLUGGED)
        assert (decision.allowed, decision.status) == (False, 404), profession


def test_a_block_and_a_closed_dossier_beat_a_scoped_consent():
    actor = professional("medecin_du_travail")
    blocked = dossier(scoped=CONSENTED, blocked=frozenset({PRO}))
    closed = dossier(scoped=CONSENTED, status="closed")
    for facts in (blocked, closed):
        assert not reads_section(actor, facts)
        assert not ask(actor, facts, Action.VIEW, matrix=PLUGGED).allowed


def test_a_consent_for_a_profession_the_policy_does_not_name_gives_nothing():
    for profession in set(PROFESSIONS) - set(OCCUPATIONAL):
        actor = professional(profession)
        assert not ask(actor, dossier(scoped=CONSENTED), Action.VIEW, matrix=PLUGGED).allowed
