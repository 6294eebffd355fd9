"""Benchmarks of the register loaders (pytest-benchmark).

Run on their own::

    PYTHONPATH=src python -m pytest benchmarks/bench_loaders.py --benchmark-only

The target: a 100,000-row entity register in CSV loads, validated, in under
two seconds.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from randcheck.loaders import load_entities
from randcheck.plugins import Plugins
from randcheck.pools import EntityPool
from randcheck.uscc import USCC_ALPHABET, uscc_check_char

ROWS = 100_000
LIMIT_SECONDS = 2.0

HEADER = [
    "统一社会信用代码",
    "单位名称",
    "监管类别",
    "所属站所",
    "所属乡镇",
    "信用风险等级",
    "是否列入黑名单",
    "投诉举报(核实)",
    "严重违法记录",
    "行业",
    "规模",
]
CATEGORIES = [
    ("一般排污单位", "环境监察大队"),
    ("重点排污单位", "环境监察大队"),
    ("取水许可", "水利工作站"),
    ("林木采伐许可", "林业站"),
]
REGIONS = ["沙柳河镇", "哈尔盖镇", "伊克乌兰乡", "泉吉乡", "吉尔孟乡", "青海湖农场", "黄玉农场"]


def _uscc(rng: random.Random) -> str:
    first17 = (
        rng.choice("9159")
        + rng.choice("123")
        + "632224"
        + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    )
    return first17 + uscc_check_char(first17)


def write_register(path: Path, rows: int, seed: int = 20160713) -> Path:
    """A county-like entity register with a USCC column (1% legacy registration numbers)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            ident = f"632224{i:09d}" if i % 100 == 0 else _uscc(rng)
            while ident in seen:
                ident = _uscc(rng)
            seen.add(ident)
            category, station = rng.choice(CATEGORIES)
            writer.writerow(
                [
                    ident,
                    f"刚察县第{i}号单位有限公司",
                    category,
                    station,
                    rng.choice(REGIONS),
                    rng.choice("ABCD") if rng.random() < 0.9 else "",
                    "是" if rng.random() < 0.02 else "否",
                    rng.choice("0000000123"),
                    "否",
                    "畜牧业",
                    rng.choice("大中小微"),
                ]
            )
    return path


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_register(tmp_path_factory.mktemp("bench") / "entities.csv", ROWS)


def test_load_100k_entities_from_csv(benchmark: BenchmarkFixture, register: Path) -> None:
    plugins = Plugins.isolated()
    pool = benchmark.pedantic(
        load_entities, args=(register,), kwargs={"plugins": plugins}, rounds=3, iterations=1
    )
    assert isinstance(pool, EntityPool)
    assert len(pool) == ROWS
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable
        assert stats.stats.min < LIMIT_SECONDS, f"{stats.stats.min:.2f} s for {ROWS:,} rows"


def test_lenient_load_100k_entities_from_csv(benchmark: BenchmarkFixture, register: Path) -> None:
    plugins = Plugins.isolated()
    loaded = benchmark.pedantic(
        load_entities,
        args=(register,),
        kwargs={"plugins": plugins, "strict": False},
        rounds=3,
        iterations=1,
    )
    assert len(loaded.value) == ROWS
    assert loaded.report.ok
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        assert stats.stats.min < LIMIT_SECONDS, f"{stats.stats.min:.2f} s for {ROWS:,} rows"
