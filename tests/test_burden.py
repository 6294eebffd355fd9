"""Burden control: joint rounding, PRN rotation, exclusion and caps.

Exact checks enumerate every outcome with fractions on small cases; statistical
checks use fixed seeds and a tiny significance level (Bonferroni-corrected), so
they are deterministic and can fail only if the method is wrong.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import randcheck as rc
from randcheck import plan as rp
from randcheck.plan import History, Plan, PlanError, Round, draw_year
from randcheck.plugins import get_plugins

from .conftest import make_entities, make_items

ROUNDS4 = [
    Round("Q1", "2026-03-01"),
    Round("Q2", "2026-06-01"),
    Round("Q3", "2026-09-01"),
    Round("Q4", "2026-12-01"),
]
CLASS_RATIOS = {"A": "0.05", "B": "0.1", "C": "0.2", "D": "0.5", "unclassified": "0.1"}


def z_limit(tests: int, alpha: float = 1e-6) -> float:
    """Two-sided normal quantile for ``alpha`` shared by ``tests`` tests (Bonferroni)."""
    from scipy.stats import norm

    return float(norm.isf(alpha / (2 * tests)))


# -- exact enumeration of the joint engine --------------------------------------------


def enumerate_engine(
    numerators: Sequence[Sequence[int]], denominators: Sequence[int]
) -> list[tuple[npt.NDArray[np.bool_], Fraction]]:
    """Every outcome of the joint engine and its exact probability.

    The engine's decisions are replaced by a depth-first walk over both
    branches of every step, each weighted by its exact probability.
    """
    num = np.asarray(numerators, dtype=np.int64)
    rows = np.arange(num.shape[0])
    entries = [(rows, num[:, k].copy(), int(d)) for k, d in enumerate(denominators)]
    outcomes: dict[bytes, tuple[npt.NDArray[np.bool_], Fraction]] = {}
    pending: list[list[bool]] = [[]]
    while pending:
        walk = _Branches(pending.pop(), pending)
        chosen = rp._joint_select(entries, num.shape[0], walk.factory, lambda m: np.arange(m))
        x = np.zeros(num.shape, dtype=bool)
        for k, pos in enumerate(chosen):
            x[pos, k] = True
        key = x.tobytes()
        old = outcomes.get(key, (x, Fraction(0)))[1]
        outcomes[key] = (x, old + walk.probability)
    return list(outcomes.values())


class _Branches:
    """Replays a prefix of decisions, then takes the ``-`` branch and queues the ``+`` one."""

    def __init__(self, prefix: list[bool], pending: list[list[bool]]) -> None:
        self.prefix = prefix
        self.pending = pending
        self.index = 0
        self.probability = Fraction(1)

    def factory(self, phase: str, iteration: int) -> Callable[..., Any]:
        return self.decide

    def decide(self, alpha: npt.NDArray[Any], beta: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
        out = []
        for a, b in zip(alpha.tolist(), beta.tolist(), strict=True):
            if self.index == len(self.prefix):
                self.pending.append([*self.prefix, True])
                self.prefix.append(False)
            up = self.prefix[self.index]
            self.probability *= Fraction(b, a + b) if up else Fraction(a, a + b)
            self.index += 1
            out.append(up)
        return np.array(out, dtype=bool)


def check_joint_exact(numerators: Sequence[Sequence[int]], denominators: Sequence[int]) -> int:
    outcomes = enumerate_engine(numerators, denominators)
    assert sum(p for _, p in outcomes) == 1
    rows, cols = len(numerators), len(denominators)
    for i in range(rows):
        expected = sum(Fraction(numerators[i][k], denominators[k]) for k in range(cols))
        for k in range(cols):
            got = sum(p for x, p in outcomes if x[i, k])
            assert got == Fraction(numerators[i][k], denominators[k]), (i, k)
        for x, _ in outcomes:
            assert int(x[i].sum()) in (math.floor(expected), math.ceil(expected))
    for k in range(cols):
        size = Fraction(sum(numerators[i][k] for i in range(rows)), denominators[k])
        assert all(int(x[:, k].sum()) == size for x, _ in outcomes)
    return len(outcomes)


def balanced_matrix(rng: random.Random, rows: int, denominators: Sequence[int]) -> list[list[int]]:
    """Random numerators whose columns sum to whole numbers."""
    while True:
        num = [
            [rng.randint(0, d) if rng.random() < 0.8 else rng.choice((0, d)) for d in denominators]
            for _ in range(rows)
        ]
        for k, d in enumerate(denominators):
            short = (-sum(r[k] for r in num)) % d
            for r in num:
                add = min(short, d - r[k])
                r[k] += add
                short -= add
        if all(sum(r[k] for r in num) % d == 0 for k, d in enumerate(denominators)):
            return num


def test_joint_is_exact_on_a_small_year_by_enumeration() -> None:
    # 5 entities x 3 rounds on the grid 3: sums 6/3, 6/3, 6/3
    outcomes = check_joint_exact([[1, 1, 1], [2, 2, 2], [1, 2, 0], [2, 1, 3], [0, 0, 0]], [3, 3, 3])
    assert outcomes > 1


def test_joint_is_exact_with_different_denominators_and_certain_entries() -> None:
    check_joint_exact([[1, 2, 1], [1, 1, 2], [0, 1, 2], [2, 0, 1]], [2, 4, 3])
    check_joint_exact([[1, 1, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1], [2, 1, 1, 0]], [2, 3, 3, 3])


@pytest.mark.parametrize("trial", range(12))
def test_joint_is_exact_on_random_small_matrices(trial: int) -> None:
    rng = random.Random(1000 + trial)
    cols = rng.randint(2, 4)
    dens = [rng.randint(2, 6) for _ in range(cols)]
    check_joint_exact(balanced_matrix(rng, rng.randint(2, 5), dens), dens)


def test_the_enumeration_would_catch_a_biased_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    # A wrong step rule (always the + direction) must fail the exactness check.
    real = rp._phase_cycles

    def biased(s: Any, decide_for: Any) -> None:
        real(s, lambda phase, it: lambda a, b: np.ones(a.shape, dtype=bool))

    monkeypatch.setattr(rp, "_phase_cycles", biased)
    with pytest.raises(AssertionError):
        check_joint_exact([[1, 1, 1], [2, 2, 2], [1, 2, 0], [2, 1, 3], [0, 0, 0]], [3, 3, 3])


@pytest.mark.parametrize("trial", range(10))
def test_joint_fast_path_agrees_with_the_reference(trial: int) -> None:
    rng = random.Random(trial)
    cols = rng.randint(2, 7)
    if trial % 3 == 0:  # grids beyond int64: exact big integers
        dens = [rng.choice((10**18 + 9, 10**18 + 7, 999999937 * 3)) for _ in range(cols)]
    else:
        dens = [rng.randint(2, 40) for _ in range(cols)]
    num = balanced_matrix(rng, rng.randint(20, 150), dens)
    fast = rc.plan.joint_rounding(num, dens, seed=f"ref-{trial}")
    ref = rc.plan.reference_joint_rounding(num, dens, seed_material={"text": f"ref-{trial}"})
    assert fast.tolist() == ref
    for k, d in enumerate(dens):
        assert int(fast[:, k].sum()) * d == sum(r[k] for r in num)


def test_joint_worked_example_of_the_docs() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "plan.md").read_text("utf-8")
    num, dens = [[1, 2, 1], [1, 1, 2], [0, 1, 2], [2, 0, 1]], [2, 4, 3]
    x = rc.plan.joint_rounding(num, dens, seed="plan-example")
    assert str(x.astype(int).tolist()).replace(" ", "") in doc
    seed = rc.Seed.from_text("plan-example")
    assert str(seed.stream("joint", "order").keys16(4).tolist()) in doc
    assert str(int(seed.stream("joint", "1", "1").next_words(1)[0])) in doc


def test_joint_rounding_refuses_columns_that_are_not_whole() -> None:
    with pytest.raises(ValueError, match="not a whole number"):
        rc.plan.joint_rounding([[1, 1], [1, 0]], [2, 2], seed="x")
    with pytest.raises(ValueError, match=r"lie in \[0, 2\]"):
        rc.plan.joint_rounding([[3, 1], [1, 1]], [2, 2], seed="x")


# -- plans used below ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> rc.EntityPool:
    return rc.EntityPool.from_records(make_entities(120))


def year_plan(**changes: Any) -> Plan:
    base: dict[str, Any] = {
        "year": 2026,
        "items": make_items(),
        "rounds": ROUNDS4,
        "frequency": {"SL-01": 4, "HJ-01": 4, "HJ-02": 4},
        "class_ratios": CLASS_RATIOS,
    }
    base.update(changes)
    return Plan(**base)


def exact_year_columns(
    plan: Plan, pool: rc.EntityPool
) -> tuple[dict[tuple[int, str, str], dict[int, Fraction]], dict[int, Fraction]]:
    """Per (round, item, stratum) column: {position: π}; and per entity its expected C."""
    columns: dict[tuple[int, str, str], dict[int, Fraction]] = {}
    expected: dict[int, Fraction] = {}
    for col in rp._fixed_columns(plan, pool, get_plugins()):
        d = col.design
        probs = {
            int(pos): Fraction(int(p), d.denominator)
            for pos, p in zip(col.positions.tolist(), d.numerators.tolist(), strict=True)
        }
        columns[(col.round, col.stratum.item.code, col.stratum.label)] = probs
        for pos, pi in probs.items():
            expected[pos] = expected.get(pos, Fraction(0)) + pi
    return columns, expected


def selections(year: rp.YearDraw) -> dict[tuple[int, str, str], set[int]]:
    out = {}
    for r, rnd in enumerate(year.rounds):
        for d in rnd.draws:
            out[(r, d.item.code, d.stratum)] = set(d.positions.tolist())
    return out


# -- joint on a plan ------------------------------------------------------------------------


def test_joint_year_keeps_sizes_and_counts_in_every_draw(pool: rc.EntityPool) -> None:
    plan = year_plan()
    columns, expected = exact_year_columns(plan, pool)
    for i in range(20):
        year = draw_year(plan, pool, seed=f"joint-{i}", created_at="-")
        chosen = selections(year)
        for key, probs in columns.items():
            assert len(chosen[key]) == sum(probs.values())  # exact size, per class
            assert chosen[key] <= {p for p, pi in probs.items() if pi > 0}
            assert {p for p, pi in probs.items() if pi == 1} <= chosen[key]
        counts = year.item_inspections
        for pos, c in expected.items():
            assert math.floor(c) <= counts[pos] <= math.ceil(c)
        low = [pos for pos, c in expected.items() if c < 1]
        assert (year.visits[low] <= 1).all()


def test_joint_year_inclusion_probabilities_statistically(pool: rc.EntityPool) -> None:
    plan = year_plan()
    columns, _ = exact_year_columns(plan, pool)
    draws = 300
    hits = {key: dict.fromkeys(probs, 0) for key, probs in columns.items()}
    for i in range(draws):
        for key, chosen in selections(
            draw_year(plan, pool, seed=f"pi-{i}", created_at="-")
        ).items():
            for pos in chosen:
                hits[key][pos] += 1
    cells = [
        (hits[key][pos], float(pi))
        for key, probs in columns.items()
        for pos, pi in probs.items()
        if 0 < pi < 1
    ]
    limit = z_limit(len(cells))
    worst = max(abs(h - draws * p) / math.sqrt(draws * p * (1 - p)) for h, p in cells)
    assert worst < limit, f"max |z| {worst:.2f} >= {limit:.2f}"


def test_joint_spreads_low_risk_inspections_unlike_independent_draws() -> None:
    pool = rc.EntityPool.from_records(make_entities(600))
    plan = year_plan()
    _, expected = exact_year_columns(plan, pool)
    low = np.array([pos for pos, c in expected.items() if c < 1], dtype=np.intp)
    twice = {"joint": 0, "independent": 0}
    for i in range(15):
        for method in twice:
            year = draw_year(plan, pool, seed=f"spread-{i}", method=method, created_at="-")
            twice[method] += int((year.visits[low] >= 2).sum())
    assert twice["joint"] == 0
    assert twice["independent"] > 0


# -- PRN rotation -----------------------------------------------------------------------------


class _FixedNumbers:
    """A stand-in seed whose PRN stream gives every entity the number ``t mod L``."""

    def __init__(self, t: int) -> None:
        self.t = t

    def stream(self, *label: str) -> Any:
        t = self.t

        class _Stream:
            def next_below(self, bounds: Any) -> npt.NDArray[np.int64]:
                b = np.asarray(bounds, dtype=np.int64)
                return np.asarray(t % b, dtype=np.int64)

        return _Stream()


def test_prn_poisson_is_exact_and_rotates_by_enumeration(pool: rc.EntityPool) -> None:
    small = pool.take(np.arange(0, 120, 4))
    plan = year_plan(method="prn")
    columns = rp._fixed_columns(plan, small, get_plugins())
    matrix = rp._matrix(
        [(c.positions, c.design.numerators, c.design.denominator) for c in columns],
        len(small),
        fractional_only=False,
    )
    big = math.lcm(*[int(g) for g in matrix.grid.tolist()])
    assert big < 10**6, "keep the enumeration small"
    window: dict[int, list[Fraction]] = {}
    exact: dict[tuple[int, int], Fraction] = {}
    for k, c in enumerate(columns):
        for pos, p in zip(c.positions.tolist(), c.design.numerators.tolist(), strict=True):
            exact[(k, pos)] = Fraction(p, c.design.denominator)
            row = window.setdefault(pos, [Fraction(0)] * len(ROUNDS4))
            row[c.round] = max(row[c.round], Fraction(p, c.design.denominator))
    hits = dict.fromkeys(exact, 0)
    for t in range(big):  # u_e = t mod L_e is uniform on each entity's grid as t runs over big
        chosen = rp._prn_select(columns, len(ROUNDS4), len(small), _FixedNumbers(t), 2026, False)  # type: ignore[arg-type]
        for k, pos in enumerate(chosen):
            for q in pos.tolist():
                hits[(k, q)] += 1
        by_round = np.zeros((len(ROUNDS4), len(small)), dtype=bool)
        for k, pos in enumerate(chosen):
            by_round[columns[k].round, pos] = True
        for pos, w in window.items():
            v = sum(w)
            assert math.floor(v) <= by_round[:, pos].sum() <= math.ceil(v)
        for r in range(len(ROUNDS4)):  # nesting: the largest item of a round contains the others
            ks = [k for k, c in enumerate(columns) if c.round == r]
            for a in ks:
                for b in ks:
                    for q in set(chosen[a].tolist()) & set(columns[b].positions.tolist()):
                        if exact[(a, q)] <= exact[(b, q)]:
                            assert q in set(chosen[b].tolist())
    for key, pi in exact.items():
        assert Fraction(hits[key], big) == pi


def test_prn_poisson_statistically_and_fixed_sizes(pool: rc.EntityPool) -> None:
    plan = year_plan(method="prn")
    columns, _ = exact_year_columns(plan, pool)
    fixed = year_plan(method="prn", prn_size="fixed")
    draws = 300
    hits = {key: dict.fromkeys(probs, 0) for key, probs in columns.items()}
    for i in range(draws):
        for key, chosen in selections(
            draw_year(plan, pool, seed=f"prn-{i}", created_at="-")
        ).items():
            for pos in chosen:
                hits[key][pos] += 1
        if i < 20:
            for key, chosen in selections(
                draw_year(fixed, pool, seed=f"f-{i}", created_at="-")
            ).items():
                assert len(chosen) == sum(columns[key].values())
    cells = [
        (hits[key][pos], float(pi))
        for key, probs in columns.items()
        for pos, pi in probs.items()
        if 0 < pi < 1
    ]
    limit = z_limit(len(cells))
    worst = max(abs(h - draws * p) / math.sqrt(draws * p * (1 - p)) for h, p in cells)
    assert worst < limit, f"max |z| {worst:.2f} >= {limit:.2f}"


def test_smallest_exact_is_exact_where_floats_tie() -> None:
    big = 2**60
    d = np.array([big + 1, big, 3, big + 2, 0], dtype=np.int64)
    p = np.array([big, big - 1, 2, big + 1, 5], dtype=np.int64)
    ranks = np.arange(5)
    # exact ratios: 1+1/2^60, 1+1/(2^60-1), 1.5, 1+1/(2^60+1), 0 -> order 4, 3, 0, 1, 2
    assert rp._smallest_exact(d, p, ranks, 3).tolist() == [0, 3, 4]
    assert rp._smallest_exact(d, p, ranks, 4).tolist() == [0, 1, 3, 4]


# -- exclusion, caps, history -----------------------------------------------------------------


def test_exclude_the_year_leaves_out_everyone_already_visited(pool: rc.EntityPool) -> None:
    plan = year_plan(method="exclude")
    for i in range(10):
        year = draw_year(plan, pool, seed=f"ex-{i}", created_at="-")
        assert year.visits.max() <= 1
        for r, rnd in enumerate(year.rounds):
            earlier = set().union(*(set(x.visited.tolist()) for x in year.rounds[:r]))
            for d in rnd.draws:
                assert not set(d.covered.tolist()) & earlier
                # the design is the item's own policy over the eligible stratum, exactly
                n = min(year.plan.sample_size(d.item, d.stratum, d.frame), d.covered.size)
                again = d.item.policy.design(pool.take(d.covered), n)
                assert again.numerators.tolist() == d.design.numerators.tolist()
                assert again.denominator == d.design.denominator


def test_exclude_is_exact_on_a_tiny_pool() -> None:
    # 4 entities, ratio 1/2, two rounds, no repeat this year: round 2 is round 1's complement
    pool = rc.EntityPool.from_records({"id": f"E{i}", "category": "取水许可"} for i in range(4))
    item = rc.Item(
        code="SL-01",
        name="取水许可",
        station="水利工作站",
        legal_basis="《取水许可和水资源费征收管理条例》",
        categories=["取水许可"],
        ratio="0.5",
        rounds_per_year=2,
    )
    plan = Plan(year=2026, items=[item], rounds=ROUNDS4[:2], method="exclude")
    firsts = set()
    for i in range(40):
        year = draw_year(plan, pool, seed=f"tiny-{i}", created_at="-")
        a, b = (set(r.visited.tolist()) for r in year.rounds)
        assert len(a) == len(b) == 2
        assert a | b == {0, 1, 2, 3}
        firsts.add(frozenset(a))
    assert len(firsts) > 2  # round 1 is a real draw


def test_exclude_last_k_rounds_uses_the_history(pool: rc.EntityPool) -> None:
    history = History.from_records(
        [{"round": "2025-Q4", "date": "2025-12-01", "entities": list(pool.ids[:60])}]
    )
    plan = year_plan(method="exclude", exclude_last=1)
    year = draw_year(plan, pool, seed="hist", history=history, created_at="-")
    first = set(year.rounds[0].visited.tolist())
    assert not first & set(range(60))
    for r in range(1, len(year.rounds)):
        assert not set(year.rounds[r].visited.tolist()) & set(year.rounds[r - 1].visited.tolist())
    assert year.record["history"]["digest"] == history.digest


@pytest.mark.parametrize("method", ["exclude", "independent"])
def test_caps_are_never_exceeded_by_sequential_methods(pool: rc.EntityPool, method: str) -> None:
    history = History.from_records(
        [{"round": "early", "date": "2026-01-15", "entities": list(pool.ids[:10])}]
    )
    plan = year_plan(method=method, max_visits=2, exclude_last=1)
    for i in range(10):
        year = draw_year(plan, pool, seed=f"cap-{i}", history=history, created_at="-")
        total = year.visits.copy()
        total[:10] += 1
        assert total.max() <= 2


def test_joint_refuses_a_cap_it_could_break_and_honours_one_it_cannot(
    pool: rc.EntityPool,
) -> None:
    _, expected = exact_year_columns(year_plan(), pool)
    bound = max(math.ceil(c) for c in expected.values())
    with pytest.raises(PlanError, match=r"could be visited more than max_visits = 1") as info:
        draw_year(year_plan(max_visits=1), pool, seed="x")
    assert info.value.column == "max_visits"
    plan = year_plan(max_visits=bound)
    for i in range(5):
        assert draw_year(plan, pool, seed=f"ok-{i}", created_at="-").visits.max() <= bound
    with pytest.raises(PlanError, match="cannot honour max_visits"):
        draw_year(year_plan(method="prn", prn_size="fixed", max_visits=4), pool, seed="x")


def test_history_files_round_trip(tmp_path: Any, pool: rc.EntityPool) -> None:
    year = draw_year(year_plan(), pool, seed="h", created_at="-")
    history = year.as_history()
    assert [r.label for r in history.rounds] == ["Q1", "Q2", "Q3", "Q4"]
    path = tmp_path / "history.json"
    import json

    path.write_text(json.dumps({"history": history.to_records()}, ensure_ascii=False), "utf-8")
    assert History.from_file(path).digest == history.digest
    csv_path = tmp_path / "history.csv"
    lines = ["round,date,entity"] + [
        f"{r.label},{r.date.isoformat()},{e}" for r in history.rounds for e in r.entities
    ]
    csv_path.write_text("\n".join(lines) + "\n", "utf-8")
    assert History.from_file(csv_path).digest == history.digest
    bad = tmp_path / "bad.csv"
    bad.write_text("round,when\nQ1,2026-01-01\n", "utf-8")
    with pytest.raises(PlanError, match="round, date, entity"):
        History.from_file(bad)
    with pytest.raises(PlanError, match="bad history record"):
        History.from_records([{"round": "Q1", "date": "not a date", "entity": "E1"}])
    unknown = History.from_records([{"round": "Q0", "date": "2026-01-01", "entity": "nobody"}])
    drawn = draw_year(year_plan(), pool, seed="h", history=unknown, created_at="-")
    assert drawn.record["history"]["missing"] == 1
