"""Where randomness comes from: the specified random stream ``randcheck-draw/1``.

Every random choice randcheck makes is read from this stream, and nothing else:
no numpy ``Generator``, no ``random`` module, no clock. The stream is a pure
function of the public seed material and a label, built only on SHA-256 and
SHAKE-256 from :mod:`hashlib`, whose output is fixed by FIPS 180-4 and FIPS 202.
``docs/spec.md`` specifies it byte for byte; :class:`ReferenceStream` is a
plain-Python transcription of that text that the tests hold the fast path to.

Layers (as numpy separates bit generators from distributions):

1. **Seed material** (:class:`Seed`): a text, or the contributions of several
   parties plus an optional public beacon value, canonicalized as JSON.
2. **Key**: ``SHA-256(b"randcheck-draw/1\\x00seed\\x00" + canonical_json(material))``.
3. **Sub-stream** for a label (a tuple of strings such as ``("item", "W-01",
   "order")``): the SHAKE-256 output of ``b"randcheck-draw/1\\x00stream\\x00" + key
   + canonical_json(list(label))``, read as big-endian 64-bit words.
4. **Conversions**: integers in ``[0, b)`` by rejection (never a bare modulo);
   order keys as big-endian 16-bit integers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from .canonical import canonical_json, nfc
from .errors import SeedError

__all__ = [
    "SPEC",
    "ReferenceStream",
    "Seed",
    "Stream",
    "as_seed",
]

#: Version tag of the stream and draw specification; it is part of every hash.
SPEC = "randcheck-draw/1"
_SEED_TAG = SPEC.encode() + b"\x00seed\x00"
_STREAM_TAG = SPEC.encode() + b"\x00stream\x00"
_TWO64 = 1 << 64


def _seed_text(value: object, what: str) -> str:
    if isinstance(value, (bool, float)) or value is None:
        raise SeedError(
            f"{what} must be a string or an integer, not {value!r}: "
            "floats and booleans lose digits or meaning"
        )
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise SeedError(f"{what} must be a string or an integer, not {type(value).__name__}")
    text = nfc(value).strip()
    if not text:
        raise SeedError(f"{what} is empty")
    return text


def _contributions(
    value: Mapping[str, object] | Iterable[tuple[str, object]],
) -> tuple[tuple[str, str], ...]:
    pairs = value.items() if isinstance(value, Mapping) else value
    out: dict[str, str] = {}
    for name, digits in pairs:
        key = _seed_text(name, "a contributor's name")
        if key in out:
            raise SeedError(f"contributor {key!r} appears twice")
        out[key] = _seed_text(digits, f"the contribution of {key!r}")
    if not out:
        raise SeedError("a ceremony seed needs at least one contribution")
    return tuple(sorted(out.items()))


def _pairs(value: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((str(a), str(b)) for a, b in value)


@attrs.frozen(repr=False)
class Seed:
    """Public seed material: a text, or contributions of several parties.

    A plain text seed (``Seed.from_text("2026-11-26 第3轮")``) is kept exactly,
    after NFC and trimming: a 30-digit number stays a 30-digit string. A
    ceremony seed records each party's contribution (for instance the digits
    each observer rolled) and optionally a public beacon value fixed in advance;
    the contributions are combined in name order, so the order in which they
    were typed does not matter.
    """

    text: str | None = None
    contributions: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)
    beacon: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.text is None) == (not self.contributions):
            raise SeedError("give either a text seed or contributions, not both or neither")
        if self.text is not None and self.beacon is not None:
            raise SeedError("a beacon value goes with contributions, not with a text seed")

    @classmethod
    def from_text(cls, text: str | int) -> Seed:
        """A seed from one public text or integer (kept as its decimal string)."""
        return cls(text=_seed_text(text, "the seed"))

    @classmethod
    def from_contributions(
        cls,
        contributions: Mapping[str, object] | Iterable[tuple[str, object]],
        *,
        beacon: str | int | None = None,
    ) -> Seed:
        """A ceremony seed: ``{"observer name": "digits", …}`` and an optional beacon."""
        return cls(
            contributions=_contributions(contributions),
            beacon=None if beacon is None else _seed_text(beacon, "the beacon value"),
        )

    @classmethod
    def from_material(cls, material: Mapping[str, Any]) -> Seed:
        """Rebuild a seed from :meth:`material` (as found in a draw record)."""
        if "text" in material:
            return cls.from_text(material["text"])
        if "contributions" in material:
            return cls.from_contributions(material["contributions"], beacon=material.get("beacon"))
        raise SeedError(f"unrecognized seed material {dict(material)!r}")

    def material(self) -> dict[str, Any]:
        """The canonical seed material, a JSON-ready dict (recorded in every draw)."""
        if self.text is not None:
            return {"text": self.text}
        return {"contributions": dict(self.contributions), "beacon": self.beacon}

    @property
    def key(self) -> bytes:
        """The 32-byte key: SHA-256 of the domain tag and the canonical material."""
        return hashlib.sha256(_SEED_TAG + canonical_json(self.material())).digest()

    def stream(self, *label: str) -> Stream:
        """The sub-stream for ``label`` (see :class:`Stream`)."""
        return Stream(self.key, label)

    def __repr__(self) -> str:
        if self.text is not None:
            return f"Seed.from_text({self.text!r})"
        extra = f", beacon={self.beacon!r}" if self.beacon is not None else ""
        return f"Seed.from_contributions({dict(self.contributions)!r}{extra})"


def as_seed(seed: Seed | str | int | Mapping[str, Any]) -> Seed:
    """Accept a :class:`Seed`, a text, an integer, or recorded seed material."""
    if isinstance(seed, Seed):
        return seed
    if isinstance(seed, Mapping):
        return Seed.from_material(seed)
    return Seed.from_text(seed)


def _label_bytes(label: Sequence[str]) -> bytes:
    for part in label:
        if not isinstance(part, str):
            raise TypeError(f"stream label parts must be strings, not {part!r}")
    return canonical_json(list(label))


class Stream:
    """One labelled sub-stream: an endless sequence of bytes read as 64-bit words.

    A stream keeps a cursor in words; :meth:`next_words` and :meth:`next_below`
    consume from it in order. :meth:`keys16` reads from the start, without the
    cursor, and is meant for sub-streams used only for order keys.
    """

    __slots__ = ("_buffer", "_cursor", "_hash", "key", "label")

    def __init__(self, key: bytes, label: Sequence[str]) -> None:
        self.key = bytes(key)
        self.label = tuple(label)
        self._hash = hashlib.shake_256(_STREAM_TAG + self.key + _label_bytes(self.label))
        self._buffer = b""
        self._cursor = 0

    def __repr__(self) -> str:
        return f"<Stream {list(self.label)!r} at word {self._cursor}>"

    def _bytes(self, end: int) -> bytes:
        if end > len(self._buffer):
            # SHAKE output is prefix-consistent: asking for more bytes extends it.
            self._buffer = self._hash.digest(max(end, 2 * len(self._buffer), 64))
        return self._buffer

    def prefix(self, nbytes: int) -> bytes:
        """The first ``nbytes`` bytes of the sub-stream (the cursor is not moved)."""
        return self._hash.digest(nbytes) if nbytes else b""

    def keys16(self, count: int) -> npt.NDArray[np.uint16]:
        """The first ``count`` big-endian 16-bit integers (order keys)."""
        raw = self._hash.digest(2 * count) if count else b""
        return np.frombuffer(raw, dtype=">u2").astype(np.uint16)

    def next_words(self, count: int) -> npt.NDArray[np.uint64]:
        """The next ``count`` big-endian 64-bit words; advances the cursor."""
        start = 8 * self._cursor
        raw = self._bytes(start + 8 * count)[start : start + 8 * count]
        self._cursor += count
        return np.frombuffer(raw, dtype=">u8").astype(np.uint64)

    def next_below(self, bounds: Sequence[int] | npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Uniform integers, the j-th in ``[0, bounds[j])``, by rejection.

        Draw j reads the next word ``w``; it is accepted when
        ``w < 2**64 - (2**64 mod b)`` and gives ``w mod b``; otherwise draw j
        reads the following word, and so on. Every bound must be in
        ``[1, 2**63)``.
        """
        b = np.asarray(bounds, dtype=np.int64).reshape(-1)
        if b.size and int(b.min()) < 1:
            raise ValueError("every bound must be at least 1")
        bu = b.astype(np.uint64)
        limits = np.uint64(_TWO64 - 1) - (np.uint64(_TWO64 - 1) % bu + np.uint64(1)) % bu
        # limits[j] = 2**64 - (2**64 mod b) - 1, the largest accepted word.
        out = np.empty(b.size, dtype=np.int64)
        done = 0
        while done < b.size:
            words = self.next_words(b.size - done)
            ok = words <= limits[done:]
            bad = np.flatnonzero(~ok)
            stop = b.size - done if bad.size == 0 else int(bad[0])
            out[done : done + stop] = (words[:stop] % bu[done : done + stop]).astype(np.int64)
            done += stop
            if bad.size:
                # Word ``stop`` was rejected: rewind to just after it and go on.
                self._cursor -= b.size - (done - stop) - stop - 1
        return out

    def below(self, bound: int) -> int:
        """One uniform integer in ``[0, bound)``, for any ``bound >= 1``.

        Bounds below 2**63 use :meth:`next_below`; larger ones apply the same
        rejection rule to ``k = ceil(bits(bound)/64) + 1`` words read as one
        big-endian integer.
        """
        if bound < 1:
            raise ValueError("the bound must be at least 1")
        if bound < 1 << 63:
            return int(self.next_below([bound])[0])
        # Large bounds: the same rejection rule on wide words made of
        # k = ceil(bits(bound) / 64) + 1 consecutive 64-bit words, big-endian.
        k = -(-bound.bit_length() // 64) + 1
        span = 1 << (64 * k)
        limit = span - (span % bound)
        while True:
            w = 0
            for part in self.next_words(k).tolist():
                w = (w << 64) | int(part)
            if w < limit:
                return w % bound


class ReferenceStream:
    """The stream in plain Python, transcribed from ``docs/spec.md``.

    Slow and obvious on purpose: tests check that :class:`Stream` agrees with
    it, and a third party can port it line by line.
    """

    def __init__(self, seed_material: Mapping[str, Any], label: Sequence[str]) -> None:
        key = hashlib.sha256(b"randcheck-draw/1\x00seed\x00" + canonical_json(seed_material))
        self.key = key.digest()
        self.label = list(label)
        self._input = b"randcheck-draw/1\x00stream\x00" + self.key + canonical_json(self.label)
        self.cursor = 0

    def word(self, index: int) -> int:
        """Word ``index`` (0-based) of the sub-stream, as a Python int."""
        data = hashlib.shake_256(self._input).digest(8 * (index + 1))
        return int.from_bytes(data[8 * index : 8 * index + 8], "big")

    def key16(self, index: int) -> int:
        """Order key ``index``: bytes ``2*index`` and ``2*index+1``, big-endian."""
        data = hashlib.shake_256(self._input).digest(2 * (index + 1))
        return int.from_bytes(data[2 * index : 2 * index + 2], "big")

    def below(self, bound: int) -> int:
        """Uniform integer in ``[0, bound)`` by rejection, consuming words in order."""
        if bound < 1 << 63:
            limit = 2**64 - (2**64 % bound)
            while True:
                w = self.word(self.cursor)
                self.cursor += 1
                if w < limit:
                    return w % bound
        k = (bound.bit_length() + 63) // 64 + 1
        limit = 2 ** (64 * k) - (2 ** (64 * k) % bound)
        while True:
            w = 0
            for _ in range(k):
                w = (w << 64) | self.word(self.cursor)
                self.cursor += 1
            if w < limit:
                return w % bound
