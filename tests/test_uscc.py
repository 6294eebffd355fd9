"""Tests of the GB 32100-2015 unified social credit code validator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from randcheck.errors import InputError
from randcheck.uscc import (
    USCC_ALPHABET,
    USCC_REGISTERING_DEPARTMENTS,
    USCC_WEIGHTS,
    is_legacy_registration_number,
    is_valid_uscc,
    uscc_check_char,
    uscc_valid_mask,
    validate_uscc,
)

VALID = ["91350100M000100Y43", "91512081MA62K0260E"]
INVALID = ["91350100M000100Y4Z"]

alphabet_char = st.sampled_from(USCC_ALPHABET)
digit = st.sampled_from("0123456789")


@st.composite
def first17(draw: st.DrawFn) -> str:
    """Seventeen characters forming the body of a well-formed USCC."""
    department = draw(st.sampled_from(USCC_REGISTERING_DEPARTMENTS))
    category = draw(alphabet_char)
    division = "".join(draw(st.lists(digit, min_size=6, max_size=6)))
    organisation = "".join(draw(st.lists(alphabet_char, min_size=9, max_size=9)))
    return department + category + division + organisation


@st.composite
def valid_uscc(draw: st.DrawFn) -> str:
    """A valid USCC: a well-formed body and its check character."""
    body = draw(first17())
    return body + uscc_check_char(body)


def test_weights_are_powers_of_three() -> None:
    assert USCC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(USCC_ALPHABET) == 31
    assert not set("IOZSV") & set(USCC_ALPHABET)


@pytest.mark.parametrize("code", VALID)
def test_known_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert validate_uscc(code) is None
    assert uscc_check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", INVALID)
def test_known_invalid(code: str) -> None:
    assert not is_valid_uscc(code)
    assert validate_uscc(code) is not None


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("9135010", "wrong length"),
        ("91350100M000100Y43X", "wrong length"),
        ("", "wrong length"),
        ("91350100M000100Y4Z", "position 18"),
        ("91350100m000100Y43", "position 9"),
        ("91350100M000100YI3", "position 17"),
        (" 1350100M000100Y43", "position 1"),
        ("01350100M000100Y43", "registering-department"),
        ("B1350100M000100Y43", "registering-department"),
        ("9135A100M000100Y43", "division"),
        ("91350100M000100Y44", "expected '3'"),
    ],
)
def test_reasons(code: str, fragment: str) -> None:
    reason = validate_uscc(code)
    assert reason is not None
    assert fragment in reason


def test_check_char_rejects_bad_input() -> None:
    with pytest.raises(InputError, match="17"):
        uscc_check_char("9135")
    with pytest.raises(ValueError, match="position 3"):
        uscc_check_char("91I50100M000100Y4")


def test_legacy_registration_number() -> None:
    assert is_legacy_registration_number("632224000012345")
    assert not is_legacy_registration_number("63222400001234")
    assert not is_legacy_registration_number("63222400001234X")
    assert not is_legacy_registration_number("91350100M000100Y43")
    assert not is_legacy_registration_number("６３２２２４００００１２３４５")


@given(valid_uscc())
def test_appending_check_char_gives_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert bool(uscc_valid_mask(np.array([code]))[0])


@given(valid_uscc(), st.integers(0, 17), st.integers(1, 30))
def test_any_single_change_is_detected(code: str, position: int, shift: int) -> None:
    old = USCC_ALPHABET.index(code[position])
    new = USCC_ALPHABET[(old + shift) % 31]
    changed = code[:position] + new + code[position + 1 :]
    assert changed != code
    assert not is_valid_uscc(changed)
    assert not bool(uscc_valid_mask(np.array([changed]))[0])


@given(valid_uscc(), st.integers(0, 17), st.sampled_from("IOZSVaz -中\x00"))
def test_foreign_character_is_detected(code: str, position: int, char: str) -> None:
    changed = code[:position] + char + code[position + 1 :]
    assert not is_valid_uscc(changed)
    assert not bool(uscc_valid_mask(np.array([changed]))[0])


mixed_code = st.one_of(
    valid_uscc(),
    st.text(alphabet=USCC_ALPHABET + "IOZa中 \x00", min_size=0, max_size=20),
    valid_uscc().map(lambda c: c[:17] + USCC_ALPHABET[(USCC_ALPHABET.index(c[17]) + 1) % 31]),
    valid_uscc().map(lambda c: c + "0"),
    valid_uscc().map(lambda c: c[:17]),
)


@given(st.lists(mixed_code, max_size=40))
def test_vectorized_agrees_with_scalar(codes: list[str]) -> None:
    expected = [is_valid_uscc(code) for code in codes]
    got = uscc_valid_mask(np.array(codes, dtype=str))
    assert got.dtype == np.bool_
    assert got.shape == (len(codes),)
    assert got.tolist() == expected
    assert uscc_valid_mask(np.array(codes, dtype=object)).tolist() == expected


def test_vectorized_shapes_and_non_strings() -> None:
    grid = np.array([[VALID[0], INVALID[0]], [VALID[1], "x"]])
    assert uscc_valid_mask(grid).tolist() == [[True, False], [True, False]]
    assert uscc_valid_mask(np.array([], dtype=str)).shape == (0,)
    assert uscc_valid_mask(np.array(["short"])).tolist() == [False]
    assert uscc_valid_mask(np.array([VALID[0], None, 3], dtype=object)).tolist() == [
        True,
        False,
        False,
    ]
    assert uscc_valid_mask(np.array([VALID[0] + " "])).tolist() == [False]
    assert uscc_valid_mask(np.array([VALID[0] + "\x00"], dtype=object)).tolist() == [False]
    assert uscc_valid_mask(VALID[0]).shape == ()
    assert bool(uscc_valid_mask(VALID[0]))
