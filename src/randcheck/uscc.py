"""The unified social credit code (统一社会信用代码, USCC) of GB 32100-2015.

A USCC has 18 characters drawn from :data:`USCC_ALPHABET` (digits and the
capital letters without I, O, Z, S and V), whose values are 0–30 in that order:

====== ==========================================================
1      registering department (登记管理部门): ``1``–``9``, ``A``, ``N``, ``Y``
2      institution category (机构类别)
3–8    administrative division code (登记管理机关行政区划码), digits
9–17   organisation code (主体标识码 / 组织机构代码)
18     check character (校验码)
====== ==========================================================

The check character is ``31 - (Σ value(cᵢ)·wᵢ mod 31)`` with ``31`` written as
``0``, where the weights are ``wᵢ = 3^(i-1) mod 31`` for positions 1–17.

Validation is strict: upper case only, no surrounding white space. Entities
registered before the reform may carry only a 15-digit registration number
(注册号); :func:`is_legacy_registration_number` recognises that form so that
callers can accept it where a USCC is not required.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from randcheck.errors import InputError

__all__ = [
    "USCC_ALPHABET",
    "USCC_LENGTH",
    "USCC_REGISTERING_DEPARTMENTS",
    "USCC_WEIGHTS",
    "is_legacy_registration_number",
    "is_valid_uscc",
    "uscc_check_char",
    "uscc_valid_mask",
    "validate_uscc",
]

#: The 31 characters a USCC may use; a character's value is its index here.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

#: Number of characters in a USCC.
USCC_LENGTH = 18

#: Characters allowed in position 1 (the registering department).
USCC_REGISTERING_DEPARTMENTS = "123456789ANY"

#: Weights of positions 1–17 in the check sum: ``3 ** i % 31`` for ``i`` in 0..16.
USCC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(USCC_LENGTH - 1))

_VALUE = {char: value for value, char in enumerate(USCC_ALPHABET)}
_DIGITS = frozenset("0123456789")

# Lookup tables for the vectorized check, indexed by code point (ASCII only).
_LUT_SIZE = 128
_VALUE_LUT = np.full(_LUT_SIZE, -1, dtype=np.int64)
for _char, _value in _VALUE.items():
    _VALUE_LUT[ord(_char)] = _value
_DEPARTMENT_LUT = np.zeros(_LUT_SIZE, dtype=np.bool_)
for _char in USCC_REGISTERING_DEPARTMENTS:
    _DEPARTMENT_LUT[ord(_char)] = True
_WEIGHT_VECTOR = np.array(USCC_WEIGHTS, dtype=np.int64)
del _char, _value


def _check_value(values: list[int]) -> int:
    total = sum(v * w for v, w in zip(values, USCC_WEIGHTS, strict=True))
    return (31 - total % 31) % 31


def uscc_check_char(first17: str) -> str:
    """Return the check character (position 18) for the first 17 characters of a USCC.

    Raises :class:`~randcheck.errors.InputError` (a ``ValueError``) when
    ``first17`` is not exactly 17 characters of :data:`USCC_ALPHABET`.
    """
    if len(first17) != USCC_LENGTH - 1:
        raise InputError(f"expected 17 characters, got {len(first17)}", id=first17)
    values = []
    for position, char in enumerate(first17, start=1):
        value = _VALUE.get(char)
        if value is None:
            raise InputError(f"bad character {char!r} at position {position}", id=first17)
        values.append(value)
    return USCC_ALPHABET[_check_value(values)]


def validate_uscc(code: str) -> str | None:
    """Return ``None`` if ``code`` is a valid USCC, else a short reason why it is not.

    The checks run in this order and the first failure is reported: length,
    characters outside :data:`USCC_ALPHABET` (1-based position), registering
    department (position 1), division code (positions 3–8 must be digits), and
    finally the check character.
    """
    if len(code) != USCC_LENGTH:
        return f"wrong length: {len(code)} characters, expected {USCC_LENGTH}"
    for position, char in enumerate(code, start=1):
        if char not in _VALUE:
            return f"bad character {char!r} at position {position}"
    if code[0] not in USCC_REGISTERING_DEPARTMENTS:
        return f"bad registering-department character {code[0]!r} at position 1"
    division = code[2:8]
    if not all(char in _DIGITS for char in division):
        return f"non-digit division code {division!r} at positions 3-8"
    expected = USCC_ALPHABET[_check_value([_VALUE[char] for char in code[:17]])]
    if code[17] != expected:
        return f"wrong check character {code[17]!r}, expected {expected!r}"
    return None


def is_valid_uscc(code: str) -> bool:
    """Return whether ``code`` is a valid 18-character USCC (see :func:`validate_uscc`)."""
    return validate_uscc(code) is None


def is_legacy_registration_number(code: str) -> bool:
    """Return whether ``code`` looks like a legacy 15-digit registration number (注册号).

    Only the form is checked: exactly 15 ASCII digits.
    """
    return len(code) == 15 and all(char in _DIGITS for char in code)


def uscc_valid_mask(codes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Vectorized :func:`is_valid_uscc`: a boolean array of the same shape as ``codes``.

    ``codes`` is an array (or sequence) of strings. A unicode array is viewed as
    its UCS-4 code points and checked with lookup tables and one weighted sum,
    without a Python loop per code. Other arrays (``object`` dtype, say) are
    first converted to unicode, with non-string elements counted as invalid.
    (A numpy unicode array cannot hold trailing NUL characters: numpy drops them
    when the array is built, before this function sees it.)
    """
    array: np.ndarray[Any, Any] = np.asarray(codes)
    shape = array.shape
    if array.dtype.kind != "U":
        items = array.reshape(-1).tolist()
        # Checking the length here too catches trailing NULs, which numpy drops.
        is_str = np.array(
            [isinstance(item, str) and len(item) == USCC_LENGTH for item in items],
            dtype=np.bool_,
        )
        text = np.array([item if isinstance(item, str) else "" for item in items], dtype=str)
        mask = _mask_unicode(text) & is_str
    else:
        mask = _mask_unicode(array.reshape(-1))
    result: npt.NDArray[np.bool_] = mask.reshape(shape)
    return result


def _mask_unicode(flat: np.ndarray[Any, Any]) -> npt.NDArray[np.bool_]:
    """Check a 1-d unicode array; see :func:`uscc_valid_mask`."""
    count = flat.shape[0]
    width = flat.dtype.itemsize // 4
    if count == 0 or width < USCC_LENGTH:
        return np.zeros(count, dtype=np.bool_)
    points = np.ascontiguousarray(flat).view(np.uint32).reshape(count, width)
    # Exactly 18 characters: numpy pads shorter strings with NUL, which is not
    # in the alphabet, so a NUL among the first 18 makes the code invalid below.
    mask = np.ones(count, dtype=np.bool_)
    if width > USCC_LENGTH:
        mask &= points[:, USCC_LENGTH] == 0
    head = points[:, :USCC_LENGTH]
    ascii_ok = head < _LUT_SIZE
    index = np.where(ascii_ok, head, 0).astype(np.intp)
    values = _VALUE_LUT[index]
    mask &= np.all(ascii_ok & (values >= 0), axis=1)
    mask &= _DEPARTMENT_LUT[index[:, 0]]
    mask &= np.all(values[:, 2:8] < 10, axis=1)
    total = values[:, : USCC_LENGTH - 1] @ _WEIGHT_VECTOR
    mask &= (31 - total % 31) % 31 == values[:, USCC_LENGTH - 1]
    return mask
