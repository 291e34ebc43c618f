"""The access matrix is data: the shipped file says exactly what ACCESS.md's table says, a
deployment may replace it, and a file that cannot be right stops the portal, naming why."""

from __future__ import annotations

import shutil

import pytest

from portal import Category
from portal.access.matrix import CORE_CATEGORIES, DEFAULT_MATRIX, MatrixError, load_matrix
from portal.app import create_app
from portal.cli import main
from portal.identity.professions import PROFESSIONS
from tests.conftest import make_settings

# ACCESS.md, "Default read matrix", for the core categories: R = may read.
MATRIX_PROFESSIONS = (
    "medecin", "sage_femme", "chirurgien_dentiste", "pharmacien", "infirmier",
    "masseur_kinesitherapeute", "pedicure_podologue", "medecin_du_travail",
)  # fmt: skip
ACCESS_MD_READ = {
    "compte_rendu":          "R R R – R R – –",
    "synthese":              "R R R R R R R –",
    "imagerie":              "R R R – – R – –",
    "prescription":          "R R R R R R R –",
    "dispensation":          "R R R R R – – –",
    "plan_soins":            "R R – – R R R –",
    "traitement_administre": "R R R R R – – –",
    "certificat":            "R R R – R – – –",
    "remboursement":         "R – – – – – – –",
    "patient":               "R R R R R R R –",
    "gestion":               "R R R R R R R –",
}  # fmt: skip
# ACCESS.md, "who writes", as profession keys ("professionals who may read it" and so on).
ACCESS_MD_WRITE = {
    "compte_rendu": {"medecin", "sage_femme", "chirurgien_dentiste", "infirmier",
                     "masseur_kinesitherapeute"},
    "synthese": {"medecin"},
    "imagerie": {"medecin", "sage_femme", "chirurgien_dentiste"},
    "prescription": {"medecin", "sage_femme", "chirurgien_dentiste", "infirmier",
                     "masseur_kinesitherapeute", "pedicure_podologue"},
    "dispensation": {"pharmacien"},
    "plan_soins": {"medecin", "sage_femme", "infirmier"},
    "traitement_administre": {"medecin", "sage_femme", "chirurgien_dentiste", "pharmacien",
                              "infirmier"},
    "certificat": {"medecin", "sage_femme", "chirurgien_dentiste"},
    "remboursement": set(),  # the insurer's import only
    "patient": set(),  # the patient or their representative only
    "gestion": {"medecin", "sage_femme", "chirurgien_dentiste", "pharmacien", "infirmier",
                "masseur_kinesitherapeute", "pedicure_podologue"},
}  # fmt: skip
SECTIONS = (
    Category("vaccination", read=("medecin", "sage_femme", "pharmacien", "infirmier",
                                  "medecin_du_travail"),
             write=("medecin", "sage_femme", "pharmacien", "infirmier"), samu=True),
    Category("directives", read=("medecin", "infirmier"), samu=True),
)  # fmt: skip


@pytest.fixture(scope="module")
def matrix():
    return load_matrix(plugin_categories=SECTIONS)


def every_case():
    for category, row in ACCESS_MD_READ.items():
        for profession, mark in zip(MATRIX_PROFESSIONS, row.split(), strict=True):
            yield profession, category, mark == "R"


@pytest.mark.parametrize(("profession", "category", "reads"), list(every_case()))
def test_reading_follows_access_md(matrix, profession, category, reads):
    assert matrix.may_read(profession, category) is reads


@pytest.mark.parametrize("category", CORE_CATEGORIES)
@pytest.mark.parametrize("profession", list(PROFESSIONS))
def test_writing_follows_access_md(matrix, profession, category):
    assert matrix.may_write(profession, category) is (profession in ACCESS_MD_WRITE[category])


def test_professions_outside_the_table_read_nothing(matrix):
    others = set(PROFESSIONS) - set(MATRIX_PROFESSIONS)
    assert others  # orthophonistes, psychologues...: until a deployment says otherwise
    for profession in others:
        assert not any(matrix.may_read(profession, category) for category in matrix.categories)


def test_a_type_refines_its_category(matrix):
    assert matrix.may_read("masseur_kinesitherapeute", "compte_rendu")
    assert not matrix.may_read("masseur_kinesitherapeute", "compte_rendu", "accouchement")
    assert not matrix.may_read("pedicure_podologue", "compte_rendu", "accouchement")
    assert matrix.may_read("sage_femme", "compte_rendu", "accouchement")
    assert matrix.may_read("masseur_kinesitherapeute", "compte_rendu", "consultation")


def test_emergency_and_samu(matrix):
    assert matrix.emergency_professions == {"medecin", "sage_femme", "infirmier"}
    assert matrix.samu_categories == {
        "synthese", "vaccination", "directives", "prescription", "traitement_administre",
        "compte_rendu",
    }  # fmt: skip


def test_sections_bring_their_categories_and_rules(matrix):
    assert matrix.may_read("pharmacien", "vaccination")
    assert matrix.may_write("pharmacien", "vaccination")
    assert not matrix.may_read("chirurgien_dentiste", "directives")
    assert not matrix.may_write("medecin", "directives")  # the patient only


# --- a deployment's own file ----------------------------------------------------------------


def deployment_file(tmp_path, old: str, new: str):
    text = DEFAULT_MATRIX.read_text()
    assert old in text
    path = tmp_path / "matrix.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_deployment_can_widen_a_rule(tmp_path):
    path = deployment_file(
        tmp_path,
        '[categories.imagerie]\nread = ["medecin",',
        '[categories.imagerie]\nread = ["orthophoniste", "medecin",',
    )
    assert load_matrix(path).may_read("orthophoniste", "imagerie")


def test_a_file_may_override_a_sections_defaults(tmp_path):
    path = deployment_file(
        tmp_path,
        "[emergency]",
        '[categories.vaccination]\nread = ["medecin"]\nwrite = []\n\n[emergency]',
    )
    matrix = load_matrix(path, SECTIONS)
    assert not matrix.may_read("pharmacien", "vaccination")


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        (
            'read = ["medecin", "sage_femme", "chirurgien_dentiste", "masseur_kinesitherapeute"]',
            'read = ["medecin", "sorcier"]',
            "unknown profession 'sorcier'",
        ),
        (
            "[emergency]",
            "[categories.astrologie]\nread = []\nwrite = []\n\n[emergency]",
            "unknown category 'astrologie'",
        ),
        ("[categories.certificat]", "[categories.certificats]", "unknown category 'certificats'"),
        ("[emergency]", "[urgence]", "unknown key 'urgence'"),
        (
            "[categories.remboursement]\n",
            "[categories.remboursement]\ncolor = 'blue'\n",
            "unknown key 'color'",
        ),
        (
            "[categories.remboursement]\n",
            "[categories.remboursement]\nsamu = 'yes'\n",
            "samu must be true or false",
        ),
        ('read = ["medecin"]\nwrite = []', 'read = "medecin"\nwrite = []', "must be a list"),
        ("[emergency]", "[emergency", "not valid TOML"),
    ],
)
def test_a_wrong_file_is_refused_by_name(tmp_path, old, new, named):
    with pytest.raises(MatrixError, match=named):
        load_matrix(deployment_file(tmp_path, old, new))


def test_a_missing_category_is_refused(tmp_path):
    text = DEFAULT_MATRIX.read_text()
    start = text.index("[categories.gestion]")
    path = tmp_path / "matrix.toml"
    path.write_text(text[:start] + text[text.index("[emergency]") :])
    with pytest.raises(MatrixError, match="no rules for the categories gestion"):
        load_matrix(path)


CHILDBIRTH = "the mother.\nread = ["
DENTIST_READS_DIRECTIVES = '[categories.directives]\nread = ["chirurgien_dentiste"]\nwrite = []'


@pytest.mark.parametrize(
    ("old", "new", "fact"),
    [
        (CHILDBIRTH, CHILDBIRTH + '"pedicure_podologue", ',
         "pedicure_podologue may never read compte_rendu/accouchement"),
        ("[emergency]", DENTIST_READS_DIRECTIVES + "\n\n[emergency]",
         "chirurgien_dentiste may never read directives"),
    ],
)  # fmt: skip
def test_facts_every_deployment_keeps(tmp_path, old, new, fact):
    with pytest.raises(MatrixError, match=fact):
        load_matrix(deployment_file(tmp_path, old, new), SECTIONS)


def test_a_section_cannot_take_a_core_category():
    with pytest.raises(MatrixError, match="'synthese', which is the core's"):
        load_matrix(plugin_categories=[Category("synthese", read=("medecin",))])


def test_a_section_naming_an_unknown_profession_is_refused():
    with pytest.raises(MatrixError, match="unknown profession 'chaman'"):
        load_matrix(plugin_categories=[Category("rites", read=("chaman",))])


# --- at start-up ----------------------------------------------------------------------------


def test_the_portal_uses_the_deployments_file(tmp_path):
    path = tmp_path / "ours.toml"
    shutil.copy(DEFAULT_MATRIX, path)
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3",
                             CARNET_ACCESS_MATRIX=str(path))  # fmt: skip
    assert create_app(settings).state.matrix.may_read("medecin", "synthese")


def test_a_wrong_file_stops_the_portal_in_one_line(tmp_path, monkeypatch, capsys):
    path = deployment_file(tmp_path, "[emergency]", "[urgence]")
    monkeypatch.setenv("CARNET_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CARNET_ACCESS_MATRIX", str(path))
    assert main(["serve"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("carnet: ")
    assert "unknown key 'urgence'" in error
    assert len(error.splitlines()) == 1
