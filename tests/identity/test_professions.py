"""The professions an account may carry: the keys the access matrix uses, named in French."""

from __future__ import annotations

import re

import pytest

from portal import i18n
from portal.identity.professions import PROFESSIONS, Profession, profession

#: The professions of the default read matrix (ACCESS.md).
MATRIX = [
    "medecin",
    "sage_femme",
    "chirurgien_dentiste",
    "pharmacien",
    "infirmier",
    "masseur_kinesitherapeute",
    "pedicure_podologue",
    "medecin_du_travail",
]

FRENCH_LABELS = {
    "medecin": "Médecin",
    "sage_femme": "Sage-femme",
    "chirurgien_dentiste": "Chirurgien-dentiste",
    "pharmacien": "Pharmacien",
    "infirmier": "Infirmier",
    "masseur_kinesitherapeute": "Masseur-kinésithérapeute",
    "pedicure_podologue": "Pédicure-podologue",
    "medecin_du_travail": "Médecin du travail",
    "infirmier_sante_travail": "Infirmier de santé au travail",
    "orthophoniste": "Orthophoniste",
    "orthoptiste": "Orthoptiste",
    "ergotherapeute": "Ergothérapeute",
    "psychomotricien": "Psychomotricien",
    "audioprothesiste": "Audioprothésiste",
    "opticien_lunetier": "Opticien-lunetier",
    "manipulateur_electroradiologie": "Manipulateur en électroradiologie médicale",
    "dieteticien": "Diététicien",
    "technicien_laboratoire": "Technicien de laboratoire médical",
    "psychologue": "Psychologue",
}


def label_in(language: str, item: Profession) -> str:
    token = i18n.set_language(language)
    try:
        return str(item.label)
    finally:
        i18n.reset_language(token)


def test_keys_are_stable_lowercase_identifiers():
    for key, item in PROFESSIONS.items():
        assert re.fullmatch(r"[a-z][a-z_]*[a-z]", key), key
        assert item.key == key


def test_every_profession_of_the_access_matrix_is_there_first_in_its_order():
    assert list(PROFESSIONS)[: len(MATRIX)] == MATRIX


def test_labels_are_unique_and_french_by_default():
    assert {key: label_in("fr", item) for key, item in PROFESSIONS.items()} == FRENCH_LABELS
    english = [label_in("en", item) for item in PROFESSIONS.values()]
    assert len(set(english)) == len(english)
    assert str(profession("sage_femme").label) == "Sage-femme"  # the default language


def test_rpps_codes_are_two_digits_of_the_nomenclature():
    for item in PROFESSIONS.values():
        assert item.rpps_code is None or re.fullmatch(r"[0-9]{2}", item.rpps_code), item
    assert profession("medecin").rpps_code == "10"
    assert profession("pharmacien").rpps_code == "21"
    # In the RPPS these are a médecin and an infirmier with an occupational health specialty.
    assert profession("medecin_du_travail").rpps_code == profession("medecin").rpps_code
    assert profession("infirmier_sante_travail").rpps_code == profession("infirmier").rpps_code


def test_a_profession_is_found_by_key_and_an_unknown_key_is_named():
    assert profession("infirmier") is PROFESSIONS["infirmier"]
    with pytest.raises(KeyError, match=r"'infirmiere'.*infirmier, masseur_kinesitherapeute"):
        profession("infirmiere")


def test_professions_cannot_be_changed():
    with pytest.raises(AttributeError):
        profession("medecin").key = "doctor"  # type: ignore[misc]
