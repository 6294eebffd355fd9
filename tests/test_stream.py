"""The random stream: known answers, the plain-Python reference, seed rules."""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from randcheck.canonical import canonical_json
from randcheck.errors import SeedError
from randcheck.stream import ReferenceStream, Seed, as_seed

# Known-answer vectors, also printed in docs/spec.md. They pin the stream forever:
# a change here is a new spec version, never a silent edit.
VECTORS = [
    (
        Seed.from_text("2026-11-26"),
        "d4cafb92b9ceec9d2b5b8ef934a2fc7fdd31326106e3b8fd204633fd86503116",
        [15321049764913160472, 6179979825315897068],
        [23547, 29995, 49694, 6725],
        472,
    ),
    (
        Seed.from_text("刚察县2026年第一轮双随机抽查"),
        "06a70e9360127c0f3f11522e600f7f0fcbeee670bb0392d7a99c57f22edeaf1c",
        [9847778772340009681, 9976946006370577538],
        [65158, 19862, 6021, 32856],
        681,
    ),
    (
        Seed.from_text("123456789012345678901234567890"),
        "ad24acf6f8cc61be85406893f510515317a075b9fa7519fac82e29d5c3989840",
        [10248576190319124235, 946098793247599505],
        [60947, 8700, 6868, 2213],
        235,
    ),
    (
        Seed.from_contributions(
            {"观察员甲": "3821", "observer B": "0042"}, beacon="drand-round-1234:ab12"
        ),
        "c7e33604a2e668a670f77ed5bdfd64d2c566d35fa93944538bdb15c1c207e138",
        [6599587438915237349, 15296275310403011356],
        [31334, 7161, 27771, 59117],
        349,
    ),
]


@pytest.mark.parametrize(("seed", "key", "words", "keys", "below"), VECTORS)
def test_known_answers(seed: Seed, key: str, words: list[int], keys: list[int], below: int) -> None:
    assert seed.key.hex() == key
    assert seed.stream("item", "SL-01", "start").next_words(2).tolist() == words
    assert seed.stream("item", "SL-01", "order").keys16(4).tolist() == keys
    assert seed.stream("item", "SL-01", "start").below(1000) == below


def test_spec_text_by_hand() -> None:
    """The spec's byte layout, written out with nothing but hashlib."""
    material = b'{"text":"2026-11-26"}'
    key = hashlib.sha256(b"randcheck-draw/1\x00seed\x00" + material).digest()
    assert key == Seed.from_text("2026-11-26").key
    label = b'["item","SL-01","start"]'
    out = hashlib.shake_256(b"randcheck-draw/1\x00stream\x00" + key + label).digest(8)
    assert int.from_bytes(out, "big") == VECTORS[0][2][0]


def test_thirty_digit_seed_as_int_and_text_agree() -> None:
    assert Seed.from_text(123456789012345678901234567890).key == VECTORS[2][0].key


def test_nfc_makes_equal_text_equal_seeds() -> None:
    composed = "Café 抽查"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert Seed.from_text(composed).key == Seed.from_text(decomposed).key


def test_contribution_order_does_not_matter() -> None:
    a = Seed.from_contributions([("甲", "12"), ("乙", "34")])
    b = Seed.from_contributions([("乙", "34"), ("甲", "12")])
    assert a.key == b.key
    assert a.key != Seed.from_contributions([("甲", "34"), ("乙", "12")]).key


def test_beacon_changes_key() -> None:
    plain = Seed.from_contributions({"甲": "12"})
    assert plain.key != Seed.from_contributions({"甲": "12"}, beacon="1").key


@pytest.mark.parametrize("bad", [1.5, True, None, "", "   ", b"abc"])
def test_bad_text_seeds_are_refused(bad: object) -> None:
    with pytest.raises(SeedError):
        Seed.from_text(bad)  # type: ignore[arg-type]


def test_bad_ceremony_seeds_are_refused() -> None:
    with pytest.raises(SeedError, match="at least one"):
        Seed.from_contributions({})
    with pytest.raises(SeedError, match="twice"):
        Seed.from_contributions([("甲", "1"), ("甲", "2")])
    with pytest.raises(SeedError, match="float"):
        Seed.from_contributions({"甲": 0.5})
    with pytest.raises(SeedError, match="either"):
        Seed(text="a", contributions=(("b", "c"),))


def test_material_round_trip() -> None:
    for seed, *_ in VECTORS:
        assert as_seed(seed.material()).key == seed.key
        assert canonical_json(seed.material())  # JSON-ready, no floats


def test_labels_are_independent() -> None:
    seed = Seed.from_text("x")
    assert seed.stream("a").prefix(32) != seed.stream("b").prefix(32)
    assert seed.stream("a", "b").prefix(32) != seed.stream("ab").prefix(32)


@given(st.text(min_size=1).filter(str.strip), st.lists(st.text(max_size=5), max_size=3))
def test_words_agree_with_reference(text: str, label: list[str]) -> None:
    seed = Seed.from_text(text)
    fast = seed.stream(*label).next_words(5).tolist()
    ref = ReferenceStream(seed.material(), label)
    assert fast == [ref.word(i) for i in range(5)]
    assert seed.stream(*label).keys16(7).tolist() == [ref.key16(i) for i in range(7)]


@given(
    st.lists(
        st.one_of(
            st.integers(1, 10),
            st.integers(1, 2**63 - 1),
            st.sampled_from([2**62 + 1, 3 * 2**61, 2**63 - 1]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.text(max_size=8),
)
def test_bounded_integers_agree_with_reference(bounds: list[int], text: str) -> None:
    """Vectorized rejection sampling consumes words exactly as the spec says."""
    seed = Seed.from_text(text.strip() or "seed")
    fast = seed.stream("t").next_below(bounds).tolist()
    ref = ReferenceStream(seed.material(), ["t"])
    assert fast == [ref.below(b) for b in bounds]
    assert all(0 <= v < b for v, b in zip(fast, bounds, strict=False))


def test_rejection_actually_happens_and_matches() -> None:
    # Bound 2**62 + 1 rejects about a quarter of all words.
    seed = Seed.from_text("rejection")
    stream = seed.stream("r")
    fast = stream.next_below([2**62 + 1] * 400).tolist()
    ref = ReferenceStream(seed.material(), ["r"])
    assert fast == [ref.below(2**62 + 1) for _ in range(400)]
    assert ref.cursor > 450  # several words were rejected on the way


@given(st.integers(2**63, 2**200))
def test_large_bounds_agree_with_reference(bound: int) -> None:
    seed = Seed.from_text("big")
    ref = ReferenceStream(seed.material(), ["b"])
    value = seed.stream("b").below(bound)
    assert value == ref.below(bound)
    assert 0 <= value < bound


def test_below_is_uniform() -> None:
    """Chi-square on 60,000 draws in [0, 6): fixed seed, so never flaky."""
    values = Seed.from_text("dice").stream("d").next_below([6] * 60_000)
    counts = np.bincount(values, minlength=6)
    chi2 = float(((counts - 10_000) ** 2 / 10_000).sum())
    assert chi2 < 40  # p < 1e-6 at 5 degrees of freedom


def test_bad_bounds() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Seed.from_text("x").stream("a").below(0)
    with pytest.raises(ValueError, match="at least 1"):
        Seed.from_text("x").stream("a").next_below([3, 0])
