"""Policies: exact inclusion probabilities on an integer grid."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import randcheck as rc
from randcheck.errors import PolicyError
from randcheck.model import format_ratio, parse_ratio
from randcheck.policies import RISK_FACTS, capped_pps, policy_from_record
from randcheck.testing import strategies as rcst


def float_capped(weights: list[int], n: int) -> list[float]:
    """R's iterative inclusionprobabilities, in floats, as an independent oracle."""
    w = np.array(weights, dtype=float)
    pik = n * w / w.sum()
    capped = np.zeros(len(w), dtype=bool)
    while (pik[~capped] >= 1).any():
        capped |= pik >= 1
        rest = ~capped
        pik[capped] = 1
        pik[rest] = (n - capped.sum()) * w[rest] / w[rest].sum()
    return pik.tolist()


@given(st.lists(st.integers(1, 1000), min_size=1, max_size=60), st.data())
def test_capped_pps_is_exact_and_matches_r(weights: list[int], data: st.DataObject) -> None:
    n = data.draw(st.integers(0, len(weights)))
    design = capped_pps(np.array(weights), n)
    p, den = design.numerators, design.denominator
    assert int(p.sum()) == n * den
    assert ((p >= 0) & (p <= den)).all()
    np.testing.assert_allclose(design.probabilities, float_capped(weights, n), atol=1e-9)
    # heavier never less likely
    order = np.argsort(weights, kind="stable")
    assert (np.diff(p[order]) >= 0).all()


@given(st.lists(st.integers(1, 50), min_size=2, max_size=30), st.data())
def test_certain_entities_have_probability_one(weights: list[int], data: st.DataObject) -> None:
    certain = np.array(
        data.draw(st.lists(st.booleans(), min_size=len(weights), max_size=len(weights)))
    )
    n = data.draw(st.integers(0, len(weights)))
    design = capped_pps(np.array(weights), n, certain)
    assert (design.numerators[certain] == design.denominator).all()
    assert design.n == max(n, int(certain.sum()))


def test_small_case_by_hand() -> None:
    design = capped_pps(np.array([1, 1, 50, 100]), 3)
    assert [design.fraction(i) for i in range(4)] == [Fraction(1, 2), Fraction(1, 2), 1, 1]
    design = capped_pps(np.array([1, 2, 3, 4]), 2)
    assert [design.fraction(i) for i in range(4)] == [Fraction(k, 5) for k in (1, 2, 3, 4)]


def test_weights_must_be_positive() -> None:
    with pytest.raises(PolicyError, match="position 1"):
        capped_pps(np.array([1, 0, 2]), 1)


def test_proportional(entities: rc.EntityPool) -> None:
    design = rc.Proportional().design(entities, 7)
    assert {design.fraction(i) for i in range(len(entities))} == {Fraction(7, 120)}
    assert rc.Proportional().inclusion_probabilities(entities, 7).sum() == pytest.approx(7)
    with pytest.raises(PolicyError, match="cannot draw 121"):
        rc.Proportional().design(entities, 121)


def test_risk_weights_follow_the_documented_formula(entities: rc.EntityPool) -> None:
    policy = rc.RiskWeighted()
    w = policy.weights(entities)
    for position, entity in enumerate(entities):
        expected = {"A": 1, "B": 2, "C": 4, "D": 8, None: 2}[entity.credit_class]
        expected += 8 * entity.blacklisted + 8 * entity.serious_violation
        expected += 2 * min(entity.verified_complaints, 5)
        assert w[position] == expected, entity.id


def test_risk_weighted_certain_and_raised_n(entities: rc.EntityPool) -> None:
    policy = rc.RiskWeighted(certain=["blacklisted"])
    design = policy.design(entities, 2)
    blacklisted = entities.blacklisted
    assert blacklisted.sum() == 6
    assert design.n == 6  # more certain entities than n: all drawn
    assert (design.numerators[blacklisted] == design.denominator).all()


def test_risk_weighted_validation() -> None:
    with pytest.raises(PolicyError, match="no class is exempt"):
        rc.RiskWeighted(class_weights={"A": 0})
    with pytest.raises(PolicyError, match="unknown risk fact"):
        rc.RiskWeighted(certain=["rich"])
    with pytest.raises(PolicyError, match="blacklisted"):
        rc.RiskWeighted(blacklisted=-1)


def test_policy_records_round_trip() -> None:
    for policy in [
        rc.Proportional(),
        rc.RiskWeighted(),
        rc.RiskWeighted(class_weights={"D": 20}, certain=["serious_violation"]),
    ]:
        assert policy_from_record(policy.to_record()) == policy
    assert policy_from_record("risk-weighted") == rc.RiskWeighted()
    with pytest.raises(PolicyError, match="unknown policy"):
        policy_from_record("lottery")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.05", Fraction(1, 20)),
        (0.07, Fraction(7, 100)),
        ("5%", Fraction(1, 20)),
        ("1/3", Fraction(1, 3)),
        (1, Fraction(1)),
    ],
)
def test_ratios_are_exact(text: object, value: Fraction) -> None:
    assert parse_ratio(text) == value


@pytest.mark.parametrize("bad", [0, "0", "1.5", -0.1, "abc", True])
def test_bad_ratios(bad: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several messages
        parse_ratio(bad)


def test_ratio_text() -> None:
    assert [format_ratio(Fraction(x)) for x in ("1/20", "1/3", "1", "1/8")] == [
        "0.05",
        "1/3",
        "1",
        "0.125",
    ]


def test_sample_size_rule_is_exact() -> None:
    item = rc.Item(code="X", name="x", station="s", legal_basis="法", ratio=0.07, minimum=2)
    assert item.sample_size(100) == 7  # float 0.07*100 would ceil to 8
    assert item.sample_size(10) == 2  # minimum
    assert item.sample_size(1) == 1  # capped at N
    assert item.sample_size(0) == 0


@given(
    rcst.entity_pools(min_size=1, max_size=60),
    st.data(),
    st.lists(st.sampled_from(RISK_FACTS), unique=True, max_size=2),
    st.integers(0, 6),
    st.integers(1, 30),
)
def test_level_design_equals_capped_pps_on_weights(
    pool: rc.EntityPool, data: st.DataObject, certain: list[str], cap: int, heavy: int
) -> None:
    """The fast path over combinations of risk facts is capped_pps, exactly."""
    policy = rc.RiskWeighted(
        certain=certain, complaint_cap=cap, blacklisted=heavy, class_weights={"D": heavy + 3}
    )
    n = data.draw(st.integers(0, len(pool)))
    fast = policy.design(pool, n)
    mask = policy.certain_mask(pool)
    slow = capped_pps(policy.weights(pool), max(n, int(mask.sum())), mask)
    assert fast.denominator == slow.denominator
    assert fast.n == slow.n
    assert fast.numerators.tolist() == slow.numerators.tolist()
    assert fast.levels is not None
