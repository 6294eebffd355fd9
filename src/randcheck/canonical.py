"""Canonical text and bytes: Unicode NFC identifiers and canonical JSON.

Canonical JSON here is RFC 8785 (JCS) restricted to the values randcheck
records: strings, integers with absolute value below 2**53, booleans, null,
arrays and objects. Floats are refused, because their decimal form is where
implementations disagree; record exact quantities as integers or strings.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MAX_SAFE_INTEGER", "canonical_id", "canonical_json", "jcs_loads", "nfc"]

#: Largest integer that survives a round trip through every JSON implementation.
MAX_SAFE_INTEGER = 2**53 - 1


def nfc(text: str) -> str:
    """Return ``text`` in Unicode normalization form C."""
    return unicodedata.normalize("NFC", text)


def canonical_id(value: object) -> str:
    """Canonicalize a record id: ``str``, NFC, surrounding white space removed.

    Integers are accepted (``str(value)``); floats, booleans and ``None`` are not,
    since ``1.0`` vs ``1`` and ``True`` vs ``"True"`` are exactly the silent
    changes a published record must not suffer.
    """
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise TypeError(f"an id must be a string or an integer, not {value!r}")
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"an id must be a string or an integer, not {type(value).__name__}")
    return nfc(value).strip()


def _check(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{path}: integer {value} is too large for exact JSON; use a string")
        return value
    if isinstance(value, float):
        raise ValueError(f"{path}: floats are not allowed in canonical JSON ({value!r})")
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{path}: object keys must be strings, not {key!r}")
            out[nfc(key)] = _check(item, f"{path}.{key}")
        return out
    if isinstance(value, Sequence):
        return [_check(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise ValueError(f"{path}: {type(value).__name__} is not a JSON value")


def _serialize(value: Any) -> str:
    if isinstance(value, dict):
        # RFC 8785 sorts object keys by their UTF-16 code units.
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(_serialize(k) + ":" + _serialize(value[k]) for k in keys) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_serialize(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def canonical_json(value: Any) -> bytes:
    """Serialize ``value`` as canonical JSON (RFC 8785 subset), UTF-8 encoded.

    Strings are normalized to NFC first. Equal values give equal bytes, on any
    machine and any Python version.
    """
    return _serialize(_check(value, "$")).encode("utf-8")


def jcs_loads(data: bytes | str) -> Any:
    """Parse JSON, refusing floats (the inverse of :func:`canonical_json`)."""

    def no_float(text: str) -> Any:
        raise ValueError(f"floats are not allowed in a randcheck record ({text})")

    return json.loads(data, parse_float=no_float)
