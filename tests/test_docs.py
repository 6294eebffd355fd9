"""The docs run: README's Python example and the spec's worked example and vectors."""

from __future__ import annotations

import re
from pathlib import Path

import randcheck as rc
from randcheck.sampling import random_order

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def test_readme_example_runs(capsys: object) -> None:
    blocks = python_blocks(ROOT / "README.md")
    assert blocks
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert isinstance(result, rc.DrawResult)
    assert len(result.selected("SL-01")) == 10
    assert result.inclusion_probabilities("HB-01")["GCHB-PW-007"] == 1.0


def test_readme_commands_are_the_ci_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci.splitlines()


def test_spec_worked_example() -> None:
    spec = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    classes = ["A", "B", "C", "D", "A", "B"]
    pool = rc.EntityPool.from_records(
        {"id": f"E{i}", "category": "重点排污单位", "credit_class": c, "blacklisted": i == 5}
        for i, c in enumerate(classes, start=1)
    )
    item = rc.Item(
        code="HB-01",
        name="重点排污单位检查",
        station="环境监察大队",
        legal_basis="《排污许可管理条例》",
        categories=["重点排污单位"],
        ratio="0.5",
        policy=rc.RiskWeighted(),
    )
    policy = rc.RiskWeighted()
    assert policy.weights(pool).tolist() == [1, 2, 4, 8, 9, 2]
    design = policy.design(pool, item.sample_size(6))
    assert design.numerators.tolist() == [2, 4, 8, 16, 17, 4]
    assert design.denominator == 17
    seed = rc.Seed.from_text("spec-example")
    assert seed.key.hex() in spec
    keys = seed.stream("item", "HB-01", "order").keys16(6).tolist()
    assert str(keys) in spec
    assert random_order(seed.stream("item", "HB-01", "order"), 6).tolist() == [5, 4, 3, 0, 1, 2]
    word = int(seed.stream("item", "HB-01", "start").next_words(1)[0])
    assert f"`{word}`" in spec
    result = rc.draw([item], pool, seed=seed, on="2026-11-26")
    entry = result.record["draws"][0]
    assert entry == {
        "item": "HB-01",
        "covered": 6,
        "n": 3,
        "denominator": "17",
        "start": "15",
        "selected": ["E3", "E4", "E5"],
    }
    text = rc.canonical.canonical_json(entry).decode()
    assert text in spec


def test_spec_vectors_match_the_tests() -> None:
    from .test_stream import VECTORS

    spec = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    for seed, key, words, keys, below in VECTORS:
        row = next(line for line in spec.splitlines() if key in line)
        assert ", ".join(map(str, words)) in row
        assert ", ".join(map(str, keys)) in row
        assert row.rstrip(" |").endswith(str(below))
        assert rc.canonical.canonical_json(seed.material()).decode() in row
