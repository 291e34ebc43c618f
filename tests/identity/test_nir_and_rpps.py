"""NIR and RPPS numbers: what is accepted, and what a person reads when theirs is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from portal import i18n
from portal.identity.numbers import (
    InvalidNumber,
    format_nir,
    luhn_check_digit,
    nir_key,
    normalize_nir,
    validate_nir,
    validate_rpps,
)
from tests.conftest import translated

KEY_MISMATCH = "La clé ne correspond pas au numéro\u00a0: vérifiez chaque chiffre."


@pytest.fixture(autouse=True)
def french() -> Iterator[None]:
    """French is the portal's default language: the messages below are what people read."""
    token = i18n.set_language("fr")
    yield
    i18n.reset_language(token)


def with_key(first13: str) -> str:
    return first13 + nir_key(first13)


# -- NIR ---------------------------------------------------------------------------------------


def test_the_key_is_97_minus_the_number_modulo_97():
    assert nir_key("1850578006084") == f"{97 - 1850578006084 % 97:02d}" == "91"
    assert nir_key("2 69 03 2A 123 456") == f"{97 - 2690319123456 % 97:02d}"
    assert nir_key("155042b001123") == f"{97 - 1550418001123 % 97:02d}"


def test_a_key_below_10_keeps_its_leading_zero():
    assert nir_key("1850578006069") == "09"
    assert validate_nir("1 85 05 78 006 069 09") == "185057800606909"


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("1 85 05 78 006 084 91", "185057800608491"),
        ("185057800608491", "185057800608491"),
        ("1.85.05.78.006.084.91", "185057800608491"),
        ("1-85-05-78-006-084-91", "185057800608491"),
        (" 1 85 05 78\u00a0006 084 91 ", "185057800608491"),  # pasted with non-breaking spaces
        (f"2 69 03 2a 123 456 {nir_key('269032A123456')}", with_key("269032A123456")),  # Corsica
        (f"1 55 04 2B 001 123 {nir_key('155042B001123')}", with_key("155042B001123")),
        (f"1 85 30 99 123 456 {nir_key('1853099123456')}", with_key("1853099123456")),  # month 30
        (f"1 85 50 99 123 456 {nir_key('1855099123456')}", with_key("1855099123456")),  # month 50
        (f"2 85 12 971 23 456 {nir_key('2851297123456')}", with_key("2851297123456")),  # overseas
        (f"7 85 05 99 123 456 {nir_key('7850599123456')}", with_key("7850599123456")),  # NIA
        (f"8 85 05 99 123 456 {nir_key('8850599123456')}", with_key("8850599123456")),
    ],
)
def test_a_valid_nir_is_accepted_and_normalized(typed, normalized):
    assert validate_nir(typed) == normalized
    assert len(normalized) == 15


def test_normalize_removes_separators_and_capitalizes_corsica():
    assert normalize_nir(" 2.69-03 2a 123 456 56") == "269032A12345656"


def test_format_groups_the_nir_as_on_the_card():
    assert format_nir("185057800608491") == "1 85 05 78 006 084 91"
    assert format_nir("2690 32a1 2345 656") == "2 69 03 2A 123 456 56"
    with pytest.raises(ValueError, match="15 characters"):
        format_nir("1850578006084")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Saisissez le numéro de sécurité sociale."),
        (" . - ", "Saisissez le numéro de sécurité sociale."),
        (
            "1 85 05 78 006 O84 91",
            "Un numéro de sécurité sociale ne contient que des chiffres (et 2A ou 2B pour la "
            "Corse)\u00a0; retirez\u00a0: O",
        ),
        (
            "1/85/05/78/006/084/9l",
            "Un numéro de sécurité sociale ne contient que des chiffres (et 2A ou 2B pour la "
            "Corse)\u00a0; retirez\u00a0: / l",
        ),
        (
            "1 85 05 78 006 084",
            "Il manque la clé de 2 chiffres à la fin\u00a0: un numéro de sécurité sociale compte "
            "15 caractères.",
        ),
        (
            "1 85 05 78 006 084 9",
            "Un numéro de sécurité sociale compte 15 caractères (13, puis une clé de 2 "
            "chiffres)\u00a0; celui-ci en compte 14.",
        ),
        (
            "1 85 05 78 006 084 91 1",
            "Un numéro de sécurité sociale compte 15 caractères (13, puis une clé de 2 "
            "chiffres)\u00a0; celui-ci en compte 16.",
        ),
        (
            "1 85 05 7A 006 084 91",
            "Seul le département de naissance, aux 6e et 7e caractères, peut contenir une "
            "lettre\u00a0: 2A ou 2B pour la Corse.",
        ),
        (
            "1 85 05 2A 006 084 AB",
            "Seul le département de naissance, aux 6e et 7e caractères, peut contenir une "
            "lettre\u00a0: 2A ou 2B pour la Corse.",
        ),
        (
            with_key("3850578006084"),
            "Le premier chiffre doit être 1 (homme) ou 2 (femme), ou 7 ou 8 pour un numéro "
            "provisoire, et non 3.",
        ),
        (
            with_key("0850578006084"),
            "Le premier chiffre doit être 1 (homme) ou 2 (femme), ou 7 ou 8 pour un numéro "
            "provisoire, et non 0.",
        ),
        (
            with_key("1851378006084"),
            "Les 4e et 5e chiffres sont le mois de naissance\u00a0: de 01 à 12, et non 13.",
        ),
        (
            with_key("1850078006084"),
            "Les 4e et 5e chiffres sont le mois de naissance\u00a0: de 01 à 12, et non 00.",
        ),
        (
            with_key("1854578006084"),
            "Les 4e et 5e chiffres sont le mois de naissance\u00a0: de 01 à 12, et non 45.",
        ),
        (
            with_key("1850500006084"),
            "Les 6e et 7e caractères sont le département de naissance\u00a0: de 01 à 99, 2A ou 2B, "
            "et non 00.",
        ),
        ("1 85 05 78 006 084 92", KEY_MISMATCH),
        ("1 85 05 78 006 048 91", KEY_MISMATCH),
        ("1 85 05 78 006 084 00", KEY_MISMATCH),
    ],
)
def test_a_wrong_nir_is_refused_saying_what_to_fix(typed, message):
    with pytest.raises(InvalidNumber) as refused:
        validate_nir(typed)
    assert str(refused.value) == message


def test_messages_speak_the_readers_language():
    token = i18n.set_language("en")
    try:
        with pytest.raises(InvalidNumber) as refused:
            validate_nir("1 85 05 78 006 084 92")
    finally:
        i18n.reset_language(token)
    english = "The key does not match the number: check each digit."
    assert str(refused.value) == english
    assert translated("fr", english) == KEY_MISMATCH


def test_the_refusal_never_repeats_the_whole_number():
    """Exceptions end up in logs; a NIR is personal data."""
    for typed in ("185057800608492", "385057800608491", "1850578006084910"):
        with pytest.raises(InvalidNumber) as refused:
            validate_nir(typed)
        assert typed[:13] not in str(refused.value)


def test_nir_key_refuses_what_is_not_the_start_of_a_nir():
    for wrong in ("185057800608", "18505780060849", "1850578X06084", "18505A8006084"):
        with pytest.raises(ValueError, match="13 characters"):
            nir_key(wrong)


MONTHS = [f"{month:02d}" for month in [*range(1, 13), *range(20, 43), *range(50, 100)]]
DEPARTMENTS = [f"{department:02d}" for department in range(1, 100)] + ["2A", "2B"]
first13s = st.builds(
    lambda sex, year, month, department, rest: f"{sex}{year:02d}{month}{department}{rest}",
    st.sampled_from("1278"),
    st.integers(0, 99),
    st.sampled_from(MONTHS),
    st.sampled_from(DEPARTMENTS),
    st.from_regex(r"[0-9]{6}", fullmatch=True),
)


@given(first13s)
def test_the_computed_key_validates(first13):
    nir = with_key(first13)
    assert validate_nir(nir) == nir
    assert validate_nir(format_nir(nir).lower()) == nir


@given(first13s, st.data())
def test_any_single_digit_change_is_refused(first13, data):
    """97 is a prime that divides no change of one digit: the key catches every such typo."""
    nir = with_key(first13)
    position = data.draw(st.sampled_from([i for i, char in enumerate(nir) if char.isdigit()]))
    digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != nir[position]))
    with pytest.raises(InvalidNumber):
        validate_nir(nir[:position] + digit + nir[position + 1 :])


# -- RPPS --------------------------------------------------------------------------------------


def test_luhn_check_digit():
    assert luhn_check_digit("7992739871") == "3"  # the textbook example
    assert luhn_check_digit("1010047314") == "8"
    with pytest.raises(ValueError, match="digits"):
        luhn_check_digit("")
    with pytest.raises(ValueError, match="digits"):
        luhn_check_digit("10100 4731")


@pytest.mark.parametrize("typed", ["10100473148", "101 0047 3148", " 10100473148\t"])
def test_a_valid_rpps_is_accepted_without_its_spaces(typed):
    assert validate_rpps(typed) == "10100473148"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Saisissez le numéro RPPS."),
        ("   ", "Saisissez le numéro RPPS."),
        ("1010O473148", "Un numéro RPPS ne contient que des chiffres\u00a0; retirez\u00a0: O"),
        ("10-10-047-31-48", "Un numéro RPPS ne contient que des chiffres\u00a0; retirez\u00a0: -"),
        ("1010047314", "Un numéro RPPS compte 11 chiffres\u00a0; celui-ci en compte 10."),
        ("810100473148", "Un numéro RPPS compte 11 chiffres\u00a0; celui-ci en compte 12."),
        ("10100473149", "Ce numéro RPPS n’est pas valide\u00a0: vérifiez chaque chiffre."),
        ("10100437148", "Ce numéro RPPS n’est pas valide\u00a0: vérifiez chaque chiffre."),
        # Unicode digits are digits to Python, not in an RPPS number.
        (
            "1010047314\u0668",
            "Un numéro RPPS ne contient que des chiffres\u00a0; retirez\u00a0: \u0668",
        ),
    ],
)
def test_a_wrong_rpps_is_refused_saying_what_to_fix(typed, message):
    with pytest.raises(InvalidNumber) as refused:
        validate_rpps(typed)
    assert str(refused.value) == message


rpps_numbers = st.from_regex(r"[0-9]{10}", fullmatch=True).map(lambda p: p + luhn_check_digit(p))


@given(rpps_numbers)
def test_the_computed_luhn_digit_validates(rpps):
    assert validate_rpps(rpps) == rpps


@given(rpps_numbers, st.integers(0, 10), st.sampled_from("0123456789"))
def test_any_single_digit_change_of_an_rpps_is_refused(rpps, position, digit):
    assume(rpps[position] != digit)
    with pytest.raises(InvalidNumber):
        validate_rpps(rpps[:position] + digit + rpps[position + 1 :])


@given(rpps_numbers, st.integers(0, 9))
def test_swapping_two_adjacent_digits_is_refused(rpps, position):
    """Luhn misses one swap only: 09 and 90."""
    pair = rpps[position : position + 2]
    assume(pair[0] != pair[1] and set(pair) != {"0", "9"})
    with pytest.raises(InvalidNumber):
        validate_rpps(rpps[:position] + pair[::-1] + rpps[position + 2 :])
