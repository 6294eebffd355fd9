"""Benchmarks of the year draw (pytest-benchmark).

Run on their own::

    python -m pytest benchmarks/bench_plan.py --benchmark-only -p no:cacheprovider

The target: a year of 4 rounds over 1,000,000 entities, two overlapping items
(a general item over every entity and a key risk-weighted item over the key
pollution units), stratified by credit class, drawn with joint rounding in under
five seconds. The same run draws the year with independent rounds and reports,
for the low-risk entities (expected yearly count below 1), the share inspected
twice or more: joint rounding guarantees none.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from randcheck import EntityPool, Item, RiskWeighted
from randcheck.plan import Plan, Round, YearDraw, coverage, draw_year

N = 1_000_000
LIMIT_SECONDS = 5.0
SEED = "刚察县2026年度双随机抽查"


@pytest.fixture(scope="module")
def pool() -> EntityPool:
    rng = np.random.default_rng(20160713)  # only to make up a register, never to draw
    ids = np.char.add("91632224MA", np.char.zfill(np.arange(N).astype(str), 8))
    category = np.where(rng.random(N) < 0.2, "重点排污单位", "一般排污单位")
    credit = rng.choice(np.array(["A", "B", "C", "D", ""]), N, p=[0.4, 0.35, 0.15, 0.05, 0.05])
    return EntityPool.from_arrays(
        ids,
        category=category,
        station=np.full(N, "环境监察大队"),
        credit_class=credit,
        blacklisted=rng.random(N) < 0.01,
    )


@pytest.fixture(scope="module")
def plan() -> Plan:
    items = [
        Item(
            code="HB-05",
            name="排污许可证执行情况检查",
            station="环境监察大队",
            legal_basis="《排污许可管理条例》",
            categories=["一般排污单位", "重点排污单位"],
            ratio="0.05",
            rounds_per_year=4,
        ),
        Item(
            code="HB-01",
            name="重点排污单位污染防治设施运行情况检查",
            station="环境监察大队",
            legal_basis="《中华人民共和国环境保护法》",
            categories=["重点排污单位"],
            ratio="0.25",
            rounds_per_year=4,
            kind="key",
            policy=RiskWeighted(),
        ),
    ]
    rounds = [Round(f"Q{q}", f"2026-{3 * q:02d}-15") for q in range(1, 5)]
    return Plan(
        year=2026,
        items=items,
        rounds=rounds,
        class_ratios={"A": "0.02", "B": "0.04", "C": "0.1", "D": "0.5"},
    )


@pytest.fixture(scope="module")
def low_risk(plan: Plan, pool: EntityPool) -> npt.NDArray[np.intp]:
    """Entities whose expected number of inspections in the year is below 1."""
    expected = coverage(plan, pool, method="joint").expected_items
    return np.flatnonzero(expected < 1)


def _share_twice(year: YearDraw, low: npt.NDArray[np.intp]) -> float:
    return float((year.visits[low] >= 2).mean())


def test_year_of_four_rounds_joint_1e6(
    benchmark: BenchmarkFixture, plan: Plan, pool: EntityPool, low_risk: npt.NDArray[np.intp]
) -> None:
    year = benchmark.pedantic(
        draw_year,
        args=(plan, pool),
        kwargs={"seed": SEED, "method": "joint", "created_at": "-"},
        rounds=3,
        iterations=1,
    )
    start = time.perf_counter()
    independent = draw_year(plan, pool, seed=SEED, method="independent", created_at="-")
    independent_seconds = time.perf_counter() - start
    joint_share = _share_twice(year, low_risk)
    independent_share = _share_twice(independent, low_risk)
    benchmark.extra_info.update(
        {
            "entities": N,
            "low_risk_entities": int(low_risk.size),
            "low_risk_twice_joint": joint_share,
            "low_risk_twice_independent": independent_share,
            "independent_seconds": round(independent_seconds, 3),
        }
    )
    print(
        f"\n{low_risk.size:,} low-risk entities (expected yearly count < 1) inspected twice "
        f"or more: joint {joint_share:.4%}, independent {independent_share:.4%} "
        f"(independent year drawn in {independent_seconds:.2f} s)"
    )
    assert joint_share == 0.0
    assert independent_share > 0.0
    for rnd in year.rounds:  # every round keeps its exact sizes
        for d in rnd.draws:
            assert d.positions.size == d.design.n
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable
        assert stats.stats.min < LIMIT_SECONDS, f"{stats.stats.min:.2f} s for {N:,} entities"


def test_year_of_four_rounds_independent_1e6(
    benchmark: BenchmarkFixture, plan: Plan, pool: EntityPool
) -> None:
    year = benchmark.pedantic(
        draw_year,
        args=(plan, pool),
        kwargs={"seed": SEED, "method": "independent", "created_at": "-"},
        rounds=3,
        iterations=1,
    )
    assert len(year.rounds) == 4


def test_year_of_four_rounds_prn_1e6(
    benchmark: BenchmarkFixture, plan: Plan, pool: EntityPool, low_risk: npt.NDArray[np.intp]
) -> None:
    year = benchmark.pedantic(
        draw_year,
        args=(plan, pool),
        kwargs={"seed": SEED, "method": "prn", "created_at": "-"},
        rounds=3,
        iterations=1,
    )
    share = _share_twice(year, low_risk)
    benchmark.extra_info["low_risk_twice_prn"] = share
    print(f"\nPRN rotation (Poisson): low-risk entities inspected twice or more: {share:.4%}")
    assert share == 0.0
