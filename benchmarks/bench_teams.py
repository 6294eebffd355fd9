"""Benchmarks of inspector team assignment (pytest-benchmark).

Run on their own::

    PYTHONPATH=src python -m pytest benchmarks/bench_teams.py --benchmark-only

The target: 5,000 tasks × 300 inspectors, teams of 2, 5% random conflicts —
feasibility, stated odds and one draw in under two seconds on a 2-core machine.
Beside it, a random-shuffle greedy baseline (numpy's RNG: it is a baseline, not
the draw path) runs on the same instance, with and without tight workload caps,
and reports how often it fails where ``assign_teams`` always succeeds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from randcheck.model import Conflict, Inspector, Item, Task
from randcheck.pools import InspectorPool
from randcheck.teams import TeamAssignment, assign_teams

TASKS = 5_000
INSPECTORS = 300
CONFLICT_RATE = 0.05
LIMIT_SECONDS = 2.0
GREEDY_TRIALS = 20
ON = dt.date(2026, 6, 1)
STATION = "环境监察大队"


class World:
    """The benchmark instance, with the conflict matrix kept for the baseline."""

    def __init__(self, seed: int = 20160713) -> None:
        rng = np.random.default_rng(seed)
        self.items = {
            "HB-03": Item(
                code="HB-03",
                name="一般排污单位检查",
                station=STATION,
                legal_basis="《中华人民共和国环境保护法》",
                team_size=2,
            )
        }
        self.pool = InspectorPool(
            Inspector(
                id=f"GC-INS-{k:04d}",
                station=STATION,
                certificate_no=f"青刚执字{k:04d}号",
                certificate_valid_until="2029-12-31",
            )
            for k in range(INSPECTORS)
        )
        self.tasks = [
            Task(entity_id=f"9163222400{t:08d}", items=("HB-03",), stations=(STATION,))
            for t in range(TASKS)
        ]
        self.conflicted = rng.random((TASKS, INSPECTORS)) < CONFLICT_RATE
        rows, cols = np.nonzero(self.conflicted)
        self.conflicts = [
            Conflict(f"GC-INS-{k:04d}", f"9163222400{t:08d}", "企业申请回避")
            for t, k in zip(rows.tolist(), cols.tolist(), strict=True)
        ]
        # Tight caps: total capacity equals total demand (10,000 places).
        demand = 2 * TASKS
        base, extra = divmod(demand, INSPECTORS)
        self.tight_caps = {
            inspector.id: base + (1 if k < extra else 0) for k, inspector in enumerate(self.pool)
        }


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def greedy_fails(world: World, caps: Mapping[str, int] | None, seed: int) -> bool:
    """Random-shuffle greedy: tasks in random order, each takes 2 random candidates
    with room left. True when some task cannot be staffed."""
    rng = np.random.default_rng(seed)
    cap = np.array([caps[i] if caps is not None else TASKS for i in world.pool.ids], dtype=np.int64)
    load = np.zeros(INSPECTORS, dtype=np.int64)
    for t in rng.permutation(TASKS).tolist():
        free = np.flatnonzero(~world.conflicted[t] & (load < cap))
        if free.size < 2:
            return True
        load[rng.choice(free, size=2, replace=False)] += 1
    return False


def check(result: TeamAssignment, world: World, caps: Mapping[str, int] | None) -> None:
    assert len(result.teams) == TASKS
    conflicted = {(c.entity_id, c.inspector_id) for c in world.conflicts}
    loads = result.loads()
    for entity, team in result.teams.items():
        assert len(set(team)) == 2
        assert not any((entity, i) in conflicted for i in team)
    for ident, n in loads.items():
        expected = result.probabilities.expected_load(ident)
        assert expected.__floor__() <= n <= expected.__ceil__()
        if caps is not None:
            assert n <= caps[ident]


def test_assign_5000_tasks_300_inspectors(benchmark: BenchmarkFixture, world: World) -> None:
    result = benchmark.pedantic(
        assign_teams,
        args=(world.tasks, world.items, world.pool),
        kwargs={"seed": "2026 第1轮", "on": ON, "conflicts": world.conflicts},
        rounds=3,
        iterations=1,
    )
    check(result, world, None)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["min_seconds"] = stats.stats.min
        assert stats.stats.min < LIMIT_SECONDS, f"{stats.stats.min:.2f} s"


def test_greedy_baseline_same_instance(benchmark: BenchmarkFixture, world: World) -> None:
    loose = sum(greedy_fails(world, None, seed) for seed in range(GREEDY_TRIALS))
    tight = benchmark.pedantic(
        lambda: sum(greedy_fails(world, world.tight_caps, seed) for seed in range(GREEDY_TRIALS)),
        rounds=1,
        iterations=1,
    )
    benchmark.extra_info["greedy_failures_uncapped"] = f"{loose}/{GREEDY_TRIALS}"
    benchmark.extra_info["greedy_failures_tight_caps"] = f"{tight}/{GREEDY_TRIALS}"
    print(
        f"\nrandom-shuffle greedy failed {loose}/{GREEDY_TRIALS} times without caps and "
        f"{tight}/{GREEDY_TRIALS} times with tight caps (capacity = demand)"
    )
    assert loose == 0  # without caps greedy cannot get stuck on this instance
    assert tight > 0


def test_assign_with_tight_caps(benchmark: BenchmarkFixture, world: World) -> None:
    """Capacity equals demand: every inspector ends exactly at its cap."""
    result = benchmark.pedantic(
        assign_teams,
        args=(world.tasks, world.items, world.pool),
        kwargs={
            "seed": "2026 第1轮",
            "on": ON,
            "conflicts": world.conflicts,
            "max_tasks": world.tight_caps,
        },
        rounds=1,
        iterations=1,
    )
    check(result, world, world.tight_caps)
    assert result.loads() == world.tight_caps
