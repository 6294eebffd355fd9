"""A risk-weighted draw beside numpy's weighted choice and one pass over the data.

Run::

    python -m pytest benchmarks/bench_draw.py --benchmark-only --benchmark-group-by=param:size

Three contenders at each size, in the same run:

- ``randcheck``: ``randcheck.draw`` of one risk-weighted item covering the whole pool
  (5 %, exact πps with capping, randomized systematic sampling from the specified
  stream). Targets on a 2-core machine: 1e6 within 50 ms, 1e7 within 0.5 s.
- ``numpy_choice``: ``Generator.choice(N, n, replace=False, p=w/w.sum())`` — fast, but
  NOT πps: its inclusion probabilities are not proportional to w, and its stream may
  change between numpy releases.
- ``numpy_sum``: ``np.sum(w)``, one pass over the weights: the floor for any method.

Memory: the peak traced during one draw stays below 10x the weights array
(asserted; it does not depend on timing).
"""

from __future__ import annotations

import functools
import tracemalloc

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import randcheck as rc

SIZES = [10_000, 100_000, 1_000_000, 10_000_000]
ITEM = rc.Item(
    code="HB-03",
    name="一般排污单位污染防治设施运行及污染物排放情况检查",
    station="环境监察大队",
    legal_basis="《中华人民共和国环境保护法》",
    categories=["一般排污单位"],
    ratio="0.05",
    policy=rc.RiskWeighted(),
)


@functools.cache
def pool_of(size: int) -> rc.EntityPool:
    """A synthetic pool (made with numpy's generator: test data, not a draw)."""
    rng = np.random.default_rng(size)
    ids = np.char.add("GCHB-", np.arange(size).astype(f"U{len(str(size))}"))
    return rc.EntityPool.from_arrays(
        ids,
        category=np.full(size, "一般排污单位"),
        credit_class=np.array(["A", "B", "C", "D", ""])[
            rng.choice(5, size, p=[0.45, 0.35, 0.1, 0.04, 0.06])
        ],
        blacklisted=rng.random(size) < 0.02,
        serious_violation=rng.random(size) < 0.03,
        verified_complaints=rng.poisson(0.1, size),
    )


def weights_of(size: int) -> np.ndarray:
    return rc.RiskWeighted().weights(pool_of(size))


def _rounds(size: int) -> dict[str, int]:
    return {"rounds": 3, "iterations": 1} if size >= 10_000_000 else {"rounds": 10}


@pytest.mark.parametrize("size", SIZES)
def test_randcheck(benchmark: BenchmarkFixture, size: int) -> None:
    pool = pool_of(size)
    result = benchmark.pedantic(
        lambda: rc.draw([ITEM], pool, seed="bench", on="2026-11-26", created_at="-"),
        **_rounds(size),
    )
    assert len(result.item_draws[0].positions) >= ITEM.sample_size(size)
    benchmark.extra_info["n"] = int(result.item_draws[0].design.n)


@pytest.mark.parametrize("size", SIZES)
def test_numpy_choice(benchmark: BenchmarkFixture, size: int) -> None:
    w = weights_of(size)
    p = w / w.sum()
    rng = np.random.default_rng(0)
    n = ITEM.sample_size(size)
    chosen = benchmark.pedantic(lambda: rng.choice(size, n, replace=False, p=p), **_rounds(size))
    assert len(chosen) == n


@pytest.mark.parametrize("size", SIZES)
def test_numpy_sum(benchmark: BenchmarkFixture, size: int) -> None:
    w = weights_of(size)
    total = benchmark.pedantic(lambda: np.sum(w), **_rounds(size))
    assert total > 0


@pytest.mark.parametrize("size", [1_000_000, 10_000_000])
def test_peak_memory_below_ten_times_the_weights(size: int) -> None:
    pool = pool_of(size)
    weights_bytes = weights_of(size).nbytes
    tracemalloc.start()
    try:
        rc.draw([ITEM], pool, seed="memory", on="2026-11-26", created_at="-")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    ratio = peak / weights_bytes
    print(f"\nN={size:,}: peak {peak / 1e6:.0f} MB = {ratio:.1f}x the weights array")
    assert ratio < 10
