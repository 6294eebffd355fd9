"""Coverage reports: exact closed forms, agreement with simulated years, output, plots."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import pytest

import randcheck as rc
from randcheck.plan import (
    Plan,
    PlanError,
    Round,
    coverage,
    draw_year,
    plot_coverage,
    simulate_coverage,
)

from .conftest import make_entities, make_items

ROUNDS4 = [
    Round("Q1", "2026-03-01"),
    Round("Q2", "2026-06-01"),
    Round("Q3", "2026-09-01"),
    Round("Q4", "2026-12-01"),
]


def z_limit(tests: int, alpha: float = 1e-6) -> float:
    from scipy.stats import norm

    return float(norm.isf(alpha / (2 * tests)))


def tiny(ratio: str, rounds: int, *, items: int = 1) -> tuple[Plan, rc.EntityPool]:
    pool = rc.EntityPool.from_records(
        {"id": f"E{i}", "category": "取水许可", "station": "水利工作站"} for i in range(4)
    )
    made = [
        rc.Item(
            code=f"SL-0{j + 1}",
            name="取水许可检查",
            station="水利工作站",
            legal_basis="《取水许可和水资源费征收管理条例》",
            categories=["取水许可"],
            ratio=ratio,
            rounds_per_year=rounds,
        )
        for j in range(items)
    ]
    return Plan(year=2026, items=made, rounds=ROUNDS4[:rounds]), pool


def test_closed_forms_on_a_tiny_plan() -> None:
    plan, pool = tiny("0.5", 2)
    independent = coverage(plan, pool, method="independent")
    assert independent.expected.tolist() == [1.0] * 4
    assert independent.at_least_one.tolist() == [0.75] * 4
    assert independent.two_or_more.tolist() == [0.25] * 4
    for method in ("joint", "prn"):
        report = coverage(plan, pool, method=method)
        assert report.expected.tolist() == [1.0] * 4
        assert report.at_least_one.tolist() == [1.0] * 4
        assert report.two_or_more.tolist() == [0.0] * 4
        assert report.exact.all()
    plan3, _ = tiny("0.75", 2)  # C = 1.5: one or two visits, each with probability 1/2
    joint = coverage(plan3, pool, method="joint")
    assert joint.expected.tolist() == [1.5] * 4
    assert joint.two_or_more.tolist() == [0.5] * 4


def test_joint_reports_bounds_when_items_share_a_round() -> None:
    plan, pool = tiny("0.75", 1, items=2)  # two items, one round: C = 1.5, one visit at most
    report = coverage(plan, pool, method="joint")
    assert not report.exact.any()
    assert report.at_least_one.tolist() == [1.0] * 4  # exact
    assert report.two_or_more.tolist() == [0.5] * 4  # an upper bound
    assert "≤0.5000" in report.format()
    simulated = simulate_coverage(plan, pool, seeds=range(30), method="joint")
    assert simulated.two_or_more.tolist() == [0.0] * 4
    assert simulated.expected_items.sum() == pytest.approx(6.0)  # 3 + 3 in every draw
    assert ((simulated.expected_items >= 1) & (simulated.expected_items <= 2)).all()
    assert simulated.simulations == 30


def test_methods_without_a_closed_form_say_so() -> None:
    plan, pool = tiny("0.5", 2)
    with pytest.raises(PlanError, match="simulate_coverage"):
        coverage(plan, pool, method="exclude")
    fixed = Plan(year=2026, items=plan.items, rounds=plan.rounds, prn_size="fixed")
    with pytest.raises(PlanError, match="fixed-size PRN"):
        coverage(fixed, pool, method="prn")
    capped = Plan(year=2026, items=plan.items, rounds=plan.rounds, max_visits=1)
    with pytest.raises(PlanError, match="no closed form"):
        coverage(capped, pool, method="independent")
    with pytest.raises(ValueError, match="at least one seed"):
        simulate_coverage(plan, pool, seeds=[])


@pytest.fixture(scope="module")
def county() -> tuple[Plan, rc.EntityPool]:
    plan = Plan(
        year=2026,
        items=make_items(),
        rounds=ROUNDS4,
        frequency={"SL-01": 4, "HJ-01": 2, "HJ-02": 4},
        class_ratios={"A": "0.05", "B": "0.1", "C": "0.3", "D": "0.5"},
    )
    return plan, rc.EntityPool.from_records(make_entities(120))


@pytest.mark.parametrize("method", ["independent", "joint", "prn"])
def test_a_simulation_over_many_seeds_agrees(
    county: tuple[Plan, rc.EntityPool], method: str
) -> None:
    plan, pool = county
    exact = coverage(plan, pool, method=method)  # type: ignore[arg-type]
    draws = 300
    sim = simulate_coverage(
        plan,
        pool,
        seeds=(f"cov-{method}-{i}" for i in range(draws)),
        method=method,  # type: ignore[arg-type]
    )
    checks = []
    for p_exact, p_sim, exact_rows in (
        (exact.at_least_one, sim.at_least_one, np.ones(len(pool), dtype=bool)),
        (exact.two_or_more, sim.two_or_more, exact.exact),
    ):
        for i in range(len(pool)):
            p = float(p_exact[i])
            hits = round(float(p_sim[i]) * draws)
            if p in (0.0, 1.0):
                if exact_rows[i]:
                    assert hits == round(p * draws), (i, p, hits)
                elif p == 0.0:
                    assert hits == 0
                continue
            z = (hits - draws * p) / math.sqrt(draws * p * (1 - p))
            checks.append(z if exact_rows[i] else max(z, 0.0))  # bounds: only "above" fails
    limit = z_limit(max(len(checks), 1))
    assert max((abs(z) for z in checks), default=0.0) < limit
    # expected item-inspections are exact for every method: compare the totals
    totals = [
        draw_year(
            plan, pool, seed=f"tot-{method}-{i}", method=method, created_at="-"
        ).item_inspections.sum()  # type: ignore[arg-type]
        for i in range(60)
    ]
    mean, sd = float(np.mean(totals)), float(np.std(totals, ddof=1))
    target = float(exact.expected_items.sum())
    if sd == 0:
        assert mean == pytest.approx(target)
    else:
        assert abs(mean - target) / (sd / math.sqrt(len(totals))) < z_limit(3)


def test_the_check_above_would_catch_a_wrong_formula(county: tuple[Plan, rc.EntityPool]) -> None:
    plan, pool = county
    exact = coverage(plan, pool, method="independent")
    joint = coverage(plan, pool, method="joint")
    # the independent and joint figures differ where it matters: both cannot match one simulation
    gap = np.abs(exact.two_or_more - joint.two_or_more)
    assert gap.max() > 0.05


def test_records_and_format(county: tuple[Plan, rc.EntityPool]) -> None:
    plan, pool = county
    report = coverage(plan, pool, method="joint")
    rows = report.to_records()
    overall = [r for r in rows if r["credit_class"] == "*" and r["station"] == "*"]
    assert len(overall) == 1
    assert overall[0]["entities"] == len(pool)
    by_class = [r for r in rows if r["station"] == "*" and r["credit_class"] != "*"]
    assert {r["credit_class"] for r in by_class} == {"A", "B", "C", "D", "unclassified"}
    assert sum(r["entities"] for r in by_class) == len(pool)
    for r in rows:
        assert 0 <= r["two_or_more"] <= r["at_least_one"] <= 1
        assert isinstance(r["exact"], bool)
    d = next(r for r in by_class if r["credit_class"] == "D")
    a = next(r for r in by_class if r["credit_class"] == "A")
    assert d["expected_visits"] > a["expected_visits"] > 0  # no class is exempt
    text = report.format()
    assert "coverage of plan" in text
    assert "method joint" in text
    assert "环境监察大队" in text
    assert "CoverageReport 2026 joint" in repr(report)


def test_plot_coverage_draws_bars(county: tuple[Plan, rc.EntityPool]) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plan, pool = county
    report = coverage(plan, pool, method="prn")
    ax = plot_coverage(report)
    assert len(ax.patches) == 2 * 5  # Pr[>=1] and Pr[>=2] for A, B, C, D, unclassified
    ax2 = plot_coverage(report, by="station")
    assert len(ax2.patches) == 2 * 2
    with pytest.raises(ValueError, match="credit_class"):
        plot_coverage(report, by="region")
    plt.close("all")


def test_plot_coverage_names_the_extra_when_matplotlib_is_missing(
    county: tuple[Plan, rc.EntityPool], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, pool = county
    report = coverage(plan, pool, method="prn")
    blocked: dict[str, Any] = {"matplotlib": None, "matplotlib.pyplot": None}
    for name, value in blocked.items():
        monkeypatch.setitem(sys.modules, name, value)
    with pytest.raises(ImportError, match=r"randcheck\[plot\]"):
        plot_coverage(report)
