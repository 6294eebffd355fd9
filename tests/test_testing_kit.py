"""randcheck.testing: the assertions, the progress bar and the pytest fixtures."""

from __future__ import annotations

import doctest
import importlib
import importlib.metadata
import io
import itertools
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import numpy as np
import pytest

import randcheck as rc
import randcheck.testing
from randcheck.hookspecs import hookimpl
from randcheck.plugins import Plugins
from randcheck.progress import progress
from randcheck.testing import (
    InclusionAudit,
    assert_inclusion_probabilities,
    assert_no_conflicts,
    assert_reproducible,
    assert_valid_draw,
)
from randcheck.testing.pytest_plugin import SampleCounty, load_sample_county

from .conftest import make_entities, make_items

pytest_plugins = ["pytester"]

PLUGIN = "randcheck.testing.pytest_plugin"
WEIGHTS = np.arange(1, 11)
IDS = [f"E{i:02d}" for i in range(1, 11)]
#: πps for weights 1..10 and n = 3: π_i = 3 w_i / 55.
PPS = {ident: 3 * int(w) / 55 for ident, w in zip(IDS, WEIGHTS, strict=True)}


@pytest.fixture(scope="module")
def county() -> SampleCounty:
    return load_sample_county()


@pytest.fixture(scope="module")
def county_draw(county: SampleCounty) -> rc.DrawResult:
    return rc.draw(county.items, county.entities, county.inspectors, seed=county.seed, on=county.on)


@pytest.fixture
def small_draw(entities: rc.EntityPool, items: list[rc.Item]) -> rc.DrawResult:
    return rc.draw(items, entities, seed="2026-11-26 第1轮", on="2026-11-26")


def plugin_args() -> list[str]:
    """``-p`` for the fixtures plugin, unless an installed entry point already loads it."""
    for ep in importlib.metadata.entry_points(group="pytest11"):
        if ep.value == PLUGIN:
            return []
    return ["-p", PLUGIN]


def test_testing_imports_no_hypothesis() -> None:
    code = (
        "import sys, randcheck.testing, randcheck.testing.pytest_plugin; "
        "assert 'hypothesis' not in sys.modules, 'hypothesis was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- assert_valid_draw -------------------------------------------------------------


def test_valid_draws_pass(county_draw: rc.DrawResult, small_draw: rc.DrawResult) -> None:
    assert_valid_draw(county_draw)
    assert_valid_draw(small_draw)


def test_valid_draw_rejects_a_non_result() -> None:
    with pytest.raises(TypeError, match="DrawResult"):
        assert_valid_draw({"draws": []})  # type: ignore[arg-type]


def _with_item_draw(result: rc.DrawResult, code: str, **changes: Any) -> rc.DrawResult:
    draws = tuple(
        attrs.evolve(d, **changes) if d.item.code == code else d for d in result.item_draws
    )
    return attrs.evolve(result, item_draws=draws)


def test_too_few_drawn_is_named(small_draw: rc.DrawResult) -> None:
    d = small_draw.item_draws[0]
    broken = _with_item_draw(small_draw, d.item.code, positions=d.positions[1:])
    with pytest.raises(AssertionError, match=rf"item {d.item.code}: .* drawn, the design says n"):
        assert_valid_draw(broken)


def test_double_selection_is_named(small_draw: rc.DrawResult) -> None:
    d = next(x for x in small_draw.item_draws if x.item.code == "HJ-02")
    positions = np.sort(np.concatenate([d.positions[1:], d.positions[-1:]]))
    broken = _with_item_draw(small_draw, "HJ-02", positions=positions)
    twice = small_draw.entities.ids[d.positions[-1]]
    with pytest.raises(
        AssertionError, match=rf"item HJ-02: an entity is drawn twice \(\['{twice}'\]\)"
    ):
        assert_valid_draw(broken)


def test_uncovered_selection_is_named(small_draw: rc.DrawResult) -> None:
    d = next(x for x in small_draw.item_draws if x.item.code == "SL-01")
    stranger = int(np.setdiff1d(np.arange(len(small_draw.entities)), d.covered)[0])
    positions = np.sort(np.concatenate([d.positions[1:], [stranger]]))
    broken = _with_item_draw(small_draw, "SL-01", positions=positions)
    name = small_draw.entities.ids[stranger]
    with pytest.raises(AssertionError, match=rf"not covered by the item: \['{name}'\]"):
        assert_valid_draw(broken)


def test_certain_entity_left_out_is_named(small_draw: rc.DrawResult) -> None:
    d = next(x for x in small_draw.item_draws if x.item.code == "HJ-02")
    certain = d.covered[d.design.certain]
    assert certain.size  # blacklisted entities are certain in HJ-02
    other = np.setdiff1d(d.covered, d.positions)[0]
    positions = np.sort(np.concatenate([np.setdiff1d(d.positions, certain[:1]), [other]]))
    broken = _with_item_draw(small_draw, "HJ-02", positions=positions)
    with pytest.raises(AssertionError, match=r"certain entities \(π = 1\) not drawn"):
        assert_valid_draw(broken)


def test_wrong_sample_size_rule_is_named(small_draw: rc.DrawResult) -> None:
    d = next(x for x in small_draw.item_draws if x.item.code == "SL-01")
    item = attrs.evolve(d.item, ratio="0.5")
    broken = _with_item_draw(small_draw, "SL-01", item=item)
    with pytest.raises(AssertionError, match=r"item SL-01: draws 4 of 40, but the item rule"):
        assert_valid_draw(broken)


class _Tampered(rc.DrawResult):
    """A result whose tasks are replaced (for the tests only)."""

    @property
    def tasks(self) -> tuple[rc.Task, ...]:  # type: ignore[override]
        return self.__dict__["_fake_tasks"]


def _tampered(result: rc.DrawResult, tasks: tuple[rc.Task, ...]) -> rc.DrawResult:
    fake = _Tampered(
        seed=result.seed,
        on=result.on,
        items=result.items,
        entities=result.entities,
        inspectors=result.inspectors,
        item_draws=result.item_draws,
        created_at=result.created_at,
    )
    fake.__dict__["_fake_tasks"] = tasks
    return fake


def test_unmerged_tasks_are_named(small_draw: rc.DrawResult) -> None:
    tasks = small_draw.tasks
    merged = next(t for t in tasks if len(t.items) > 1)
    split = [rc.Task(merged.entity_id, (code,), merged.stations) for code in merged.items]
    broken = _tampered(small_draw, tuple(t for t in tasks if t is not merged) + tuple(split))
    with pytest.raises(AssertionError, match=rf"entity '{merged.entity_id}' has more than one"):
        assert_valid_draw(broken)


def test_missing_task_is_named(small_draw: rc.DrawResult) -> None:
    tasks = small_draw.tasks
    broken = _tampered(small_draw, tasks[1:])
    with pytest.raises(
        AssertionError, match=rf"without a task \(visit\): \['{tasks[0].entity_id}'"
    ):
        assert_valid_draw(broken)


def test_float_in_the_record_is_named(small_draw: rc.DrawResult) -> None:
    broken = attrs.evolve(small_draw, created_at=1.5)
    with pytest.raises(AssertionError, match="not exact JSON"):
        assert_valid_draw(broken)


def test_non_nfc_text_in_the_record_is_named(small_draw: rc.DrawResult) -> None:
    broken = attrs.evolve(small_draw, created_at="2026-11-26 cafe\u0301")
    with pytest.raises(AssertionError, match="changes in a JSON round trip"):
        assert_valid_draw(broken)


# -- assert_reproducible ---------------------------------------------------------


def test_reproducible_result_passes(small_draw: rc.DrawResult) -> None:
    assert_reproducible(small_draw)


def test_reproducible_function_passes() -> None:
    items = make_items()

    def draw_fn(rows: list[dict[str, Any]]) -> rc.DrawResult:
        return rc.draw(items, rows, seed="第2轮", on="2026-11-26")

    assert_reproducible(draw_fn, make_entities(60))


def test_row_order_dependence_is_caught() -> None:
    """A peer that takes a seed from the first row of the file (database order)."""
    items = make_items()

    def draw_fn(rows: list[dict[str, Any]]) -> rc.DrawResult:
        return rc.draw(items, rows, seed=str(rows[0]["id"]), on="2026-11-26")

    with pytest.raises(AssertionError, match=r"rows reversed gave another record:\n.*selection"):
        assert_reproducible(draw_fn, make_entities(60))


def test_hidden_state_is_caught() -> None:
    items = make_items()
    counter = itertools.count()

    def draw_fn(rows: list[dict[str, Any]]) -> rc.DrawResult:
        return rc.draw(items, rows, seed=f"round {next(counter)}", on="2026-11-26")

    with pytest.raises(AssertionError, match="the same inputs gave another record"):
        assert_reproducible(draw_fn, make_entities(60))


def test_result_that_does_not_replay_is_caught(small_draw: rc.DrawResult) -> None:
    d = small_draw.item_draws[0]
    others = np.setdiff1d(d.covered, d.positions)
    swapped = np.sort(np.concatenate([d.positions[1:], others[:1]]))
    broken = _with_item_draw(small_draw, d.item.code, positions=swapped)
    with pytest.raises(AssertionError, match="does not replay from its own record"):
        assert_reproducible(broken)


def test_reproducible_needs_rows_for_a_function() -> None:
    with pytest.raises(TypeError, match="give the entity rows"):
        assert_reproducible(lambda rows: None)  # type: ignore[arg-type,return-value]


# -- assert_no_conflicts --------------------------------------------------------


def test_no_conflicts_passes_and_fails(county: SampleCounty) -> None:
    conflict = county.conflicts[0]
    clean = [rc.Task(conflict.entity_id, ("SL-02",), ("水利工作站",), ("GC-INS-099", "GC-INS-098"))]
    assert_no_conflicts(clean, county.conflicts)
    dirty = [rc.Task(conflict.entity_id, ("SL-02",), ("水利工作站",), (conflict.inspector_id,))]
    with pytest.raises(
        AssertionError,
        match=rf"inspector '{conflict.inspector_id}' is recused \({conflict.reason}\)",
    ):
        assert_no_conflicts(dirty, county.conflicts)


def test_no_conflicts_accepts_team_mappings_and_pairs() -> None:
    assignment = SimpleNamespace(teams={"E1": ("I1", "I2"), "E2": ("I3",)})
    assert_no_conflicts(assignment, [("I1", "E2")])
    with pytest.raises(AssertionError, match="'E1': inspector 'I2' is recused"):
        assert_no_conflicts({"E1": ["I2"]}, [{"inspector_id": "I2", "entity_id": "E1"}])


def test_no_conflicts_skips_or_requires_teams(small_draw: rc.DrawResult) -> None:
    assert_no_conflicts(small_draw, [])
    with pytest.raises(AssertionError, match="has no team"):
        assert_no_conflicts(small_draw, [], require_teams=True)


class _Veto:
    @hookimpl
    def randcheck_conflicts(
        self, task: rc.Task, inspector: rc.Inspector, entity: rc.Entity
    ) -> Iterator[str]:
        if inspector.id == "GC-INS-002":
            yield "水利工作站：户籍所在乡镇与取水地点相同"


def test_no_conflicts_asks_plugins(county: SampleCounty, county_draw: rc.DrawResult) -> None:
    first = county_draw.tasks[0]
    teamed = (attrs.evolve(first, team=("GC-INS-002", "GC-INS-003")), *county_draw.tasks[1:])
    result = _tampered(county_draw, teamed)
    assert_no_conflicts(result, county.conflicts)
    with pytest.raises(AssertionError, match=r"vetoed by a plugin .*户籍所在乡镇"):
        assert_no_conflicts(result, county.conflicts, plugins=Plugins.isolated(_Veto()))


# -- assert_inclusion_probabilities -------------------------------------------------


def numpy_successive(seed: int) -> list[str]:
    """numpy's weighted choice without replacement: successive sampling, not πps."""
    rng = np.random.default_rng(seed)
    return rng.choice(IDS, 3, replace=False, p=WEIGHTS / WEIGHTS.sum()).tolist()


@pytest.mark.slow
def test_catches_a_sampler_that_is_not_pps() -> None:
    with pytest.raises(AssertionError) as info:
        assert_inclusion_probabilities(numpy_successive, PPS, n_trials=20_000)
    text = str(info.value)
    assert (
        "worst: 'E10' drawn in 10,066 of 20,000 draws (frequency 0.5033), expected 0.5455" in text
    )
    assert "two-sided binomial p = 7.13e-33" in text
    assert "omnibus: Hotelling" in text


def test_catches_it_with_fewer_draws() -> None:
    with pytest.raises(AssertionError, match=r"worst: 'E10' .* expected 0\.5455"):
        assert_inclusion_probabilities(numpy_successive, PPS, n_trials=5_000)


@attrs.frozen
class ByNumber(rc.Policy):
    """πps on the weight written in the id (E01 → 1, …, E10 → 10)."""

    name = "by-number"

    def design(self, entities: rc.EntityPool, n: int) -> rc.Design:
        from randcheck.policies import capped_pps

        return capped_pps(np.array([int(i[1:]) for i in entities.ids.tolist()]), n)

    def to_record(self) -> dict[str, Any]:
        return {"name": self.name}


@pytest.mark.slow
def test_randchecks_sampler_passes() -> None:
    pool = rc.EntityPool.from_records({"id": ident, "category": "重点排污单位"} for ident in IDS)
    item = rc.Item(
        code="HB-01",
        name="重点排污单位检查",
        station="环境监察大队",
        legal_basis="《排污许可管理条例》",
        categories=["重点排污单位"],
        ratio="0.3",
        policy=ByNumber(),
    )
    stated = rc.draw([item], pool, seed=0, on="2026-11-26").inclusion_probabilities("HB-01")
    assert stated == pytest.approx(PPS)

    def draw_fn(seed: int) -> tuple[str, ...]:
        return rc.draw([item], pool, seed=seed, on="2026-11-26").selected("HB-01")

    audit = assert_inclusion_probabilities(draw_fn, stated, n_trials=20_000)
    assert isinstance(audit, InclusionAudit)
    assert audit.n_trials == 20_000
    assert min(audit.p_values.values()) > audit.threshold
    assert audit.observed["E10"] == pytest.approx(30 / 55, abs=0.01)


@pytest.mark.slow
def test_risk_weighted_county_item_passes(county_draw: rc.DrawResult) -> None:
    county = load_sample_county()
    item = next(i for i in county.items if i.code == "HB-01")
    stated = county_draw.inclusion_probabilities("HB-01")
    assert len(set(stated.values())) > 2  # really unequal

    def draw_fn(seed: str) -> tuple[str, ...]:
        return rc.draw([item], county.entities, seed=seed, on=county.on).selected("HB-01")

    seeds = (f"2026 第{k}轮" for k in itertools.count())
    audit = assert_inclusion_probabilities(draw_fn, stated, seeds=seeds, n_trials=6_000)
    assert audit.omnibus_p_value > audit.threshold


def test_wrong_stated_probabilities_fail(county_draw: rc.DrawResult) -> None:
    county = load_sample_county()
    item = next(i for i in county.items if i.code == "HB-01")
    stated = county_draw.inclusion_probabilities("HB-01")
    equal = dict.fromkeys(stated, sum(stated.values()) / len(stated))

    def draw_fn(seed: int) -> tuple[str, ...]:
        return rc.draw([item], county.entities, seed=seed, on=county.on).selected("HB-01")

    with pytest.raises(AssertionError, match="inclusion frequencies differ"):
        assert_inclusion_probabilities(draw_fn, equal, n_trials=2_000)


def test_omnibus_catches_small_deviations_everywhere() -> None:
    """Forty ids each off by 0.02: no single id fails, the grouped test does."""
    ids = [f"U{i:02d}" for i in range(40)]
    tilt = np.where(np.arange(40) < 20, 0.52, 0.48)

    def draw_fn(seed: int) -> list[str]:
        hits = np.random.default_rng(seed).random(40) < tilt
        return [ids[i] for i in np.flatnonzero(hits)]

    with pytest.raises(AssertionError) as info:
        assert_inclusion_probabilities(draw_fn, dict.fromkeys(ids, 0.5), n_trials=5_000)
    text = str(info.value)
    assert "omnibus: Hotelling" in text
    assert "worst:" not in text


def test_sample_size_check() -> None:
    """Always 3 of 40 while the stated probabilities sum to 3.2."""
    ids = [f"U{i:02d}" for i in range(40)]

    def draw_fn(seed: int) -> list[str]:
        return np.random.default_rng(seed).choice(ids, 3, replace=False).tolist()

    with pytest.raises(AssertionError) as info:
        assert_inclusion_probabilities(draw_fn, dict.fromkeys(ids, 0.08), n_trials=5_000)
    text = str(info.value)
    assert "sample size: every draw selected 3, but the stated probabilities sum to 3.2" in text
    assert "worst:" not in text
    audit = assert_inclusion_probabilities(draw_fn, dict.fromkeys(ids, 3 / 40), n_trials=5_000)
    assert audit.size_p_value == 1.0


def test_certain_and_impossible_ids_are_exact() -> None:
    expected = {"A": 1.0, "B": 0.0, "C": 0.5, "D": 0.5}

    def fair(seed: int) -> list[str]:
        return ["A", "C" if seed % 2 else "D"]

    audit = assert_inclusion_probabilities(fair, expected, n_trials=200)
    assert audit.p_values["A"] == 1.0
    with pytest.raises(AssertionError, match=r"worst: 'A' .* p = 0 \(impossible"):
        assert_inclusion_probabilities(
            lambda seed: ["A", "C"] if seed else ["C", "D"], expected, n_trials=200
        )
    with pytest.raises(AssertionError, match=r"worst: 'B' drawn in 1 of 200"):
        assert_inclusion_probabilities(
            lambda seed: ["A", "B"] if seed == 7 else fair(seed), expected, n_trials=200
        )


def test_repeats_and_strangers_fail() -> None:
    with pytest.raises(AssertionError, match=r"seed 0 selected 'A' more than once"):
        assert_inclusion_probabilities(lambda seed: ["A", "A"], {"A": 1.0}, n_trials=3)
    with pytest.raises(AssertionError, match=r"'Z': selected in 3 of 3 draws"):
        assert_inclusion_probabilities(lambda seed: ["A", "Z"], {"A": 1.0}, n_trials=3)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"'A' is not in \[0, 1\]"):
        assert_inclusion_probabilities(lambda s: [], {"A": 1.5}, n_trials=3)
    with pytest.raises(ValueError, match="no draws"):
        assert_inclusion_probabilities(lambda s: [], {"A": 0.5}, seeds=[])
    with pytest.raises(ValueError, match="alpha"):
        assert_inclusion_probabilities(lambda s: [], {"A": 0.5}, alpha=0)


def test_seeds_are_passed_through() -> None:
    seen: list[object] = []

    def draw_fn(seed: object) -> list[str]:
        seen.append(seed)
        return ["A"]

    assert_inclusion_probabilities(draw_fn, {"A": 1.0}, seeds=["甲", "乙"])
    assert seen == ["甲", "乙"]
    seen.clear()
    assert_inclusion_probabilities(draw_fn, {"A": 1.0}, seeds=itertools.count(5), n_trials=3)
    assert seen == [5, 6, 7]
    seen.clear()
    assert_inclusion_probabilities(draw_fn, {"A": 1.0}, n_trials=2)
    assert seen == [0, 1]


def test_audit_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    assert_inclusion_probabilities(lambda s: ["A"], {"A": 1.0}, n_trials=5, progress_bar=True)
    assert "inclusion audit [" in capsys.readouterr().err
    assert_inclusion_probabilities(lambda s: ["A"], {"A": 1.0}, n_trials=5)
    assert capsys.readouterr().err == ""


def test_assertions_hide_their_frames(small_draw: rc.DrawResult) -> None:
    with pytest.raises(AssertionError) as info:
        assert_inclusion_probabilities(lambda s: ["A", "A"], {"A": 1.0}, n_trials=1)
    kit = Path(randcheck.testing.__file__).parent

    def in_kit(entries: Iterable[Any]) -> list[Any]:
        return [e for e in entries if Path(str(e.path)).parent == kit]

    assert in_kit(info.traceback)  # the assertion's own frames are in the traceback …
    assert not in_kit(info.traceback.filter(info))  # … and pytest hides them


@pytest.mark.parametrize("module", ["randcheck.testing", "randcheck.progress"])
def test_docstring_examples_run(module: str) -> None:
    failures, tried = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert tried
    assert not failures


# -- progress --------------------------------------------------------------------------


def test_progress_off_and_on() -> None:
    quiet = io.StringIO()
    assert list(progress(range(4), desc="x", enabled=False, file=quiet)) == [0, 1, 2, 3]
    assert quiet.getvalue() == ""
    auto = io.StringIO()  # not a terminal
    assert list(progress(range(4), file=auto)) == [0, 1, 2, 3]
    assert auto.getvalue() == ""
    loud = io.StringIO()
    assert list(progress(range(4), desc="审计", enabled=True, file=loud)) == [0, 1, 2, 3]
    text = loud.getvalue()
    assert text.endswith("\r审计 [########################] 100% 4/4\n")


def test_progress_without_total_and_early_stop() -> None:
    out = io.StringIO()
    bar = progress(iter("abc"), enabled=True, file=out)
    assert next(bar) == "a"
    bar.close()
    assert out.getvalue().endswith("\r0\n")
    out = io.StringIO()
    assert list(progress(iter("ab"), total=4, enabled=True, file=out)) == ["a", "b"]
    assert out.getvalue().endswith(" 50% 2/4\n")


def test_progress_auto_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    assert list(progress([1, 2], file=out)) == [1, 2]
    assert "100% 2/2" in out.getvalue()


# -- the pytest plugin --------------------------------------------------------------


def test_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import randcheck as rc
        from randcheck.hookspecs import hookimpl
        from randcheck.plugins import get_plugins

        class Shout:
            @hookimpl
            def randcheck_conflicts(self, task, inspector, entity):
                yield "shout"

        def test_plugins_are_isolated_and_current(randcheck_plugins):
            assert get_plugins() is randcheck_plugins
            names = [p.name for p in randcheck_plugins.list_plugins()]
            assert names == ["randcheck.loaders.builtin"]
            randcheck_plugins.register(Shout())

        def test_registration_does_not_leak(randcheck_plugins):
            assert len(randcheck_plugins.list_plugins()) == 1

        def test_sample_county(sample_county):
            assert len(sample_county.items) == 9
            assert len(sample_county.entities) == 2000
            assert len(sample_county.inspectors) == 40
            assert len(sample_county.conflicts) == 15
            result = rc.draw(sample_county.items, sample_county.entities,
                             seed=sample_county.seed, on=sample_county.on)
            assert len(result.selected("SL-01")) == 8
            assert repr(sample_county).startswith("<SampleCounty 9 items, 2,000 entities")
        """
    )
    outcome = pytester.runpytest_inprocess(*plugin_args(), "-p", "no:cacheprovider")
    outcome.assert_outcomes(passed=3)
