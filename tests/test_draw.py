"""draw() and verify(): reproducible, row-order free, replayable, and strict about mismatches."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

import randcheck as rc
from randcheck.canonical import MAX_SAFE_INTEGER

from .conftest import make_entities, make_items

SEED = "2026-11-26 刚察县第一轮"


def run(entities: Any = None, items: Any = None, seed: str = SEED) -> rc.DrawResult:
    return rc.draw(
        items if items is not None else make_items(),
        entities if entities is not None else make_entities(),
        seed=seed,
        on="2026-11-26",
        created_at="2026-11-26T08:00:00+00:00",
    )


def walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in walk(v)]
    if isinstance(value, list):
        return [x for v in value for x in walk(v)]
    return [value]


def test_sizes_follow_the_item_rule() -> None:
    result = run()
    assert len(result.selected("SL-01")) == 4  # ceil(0.1 * 40)
    assert len(result.selected("HJ-01")) == 2  # ceil(0.05 * 40)
    hj02 = result.selected("HJ-02")
    assert len(hj02) >= 20  # ceil(0.25 * 80), or more when certain entities exceed it


def test_selection_comes_from_covered_entities() -> None:
    result = run()
    pool = result.entities
    for code, cats in [("SL-01", {"取水许可"}), ("HJ-02", {"重点排污单位", "一般排污单位"})]:
        assert {pool[i].category for i in result.selected(code)} <= cats


def test_certain_entities_always_drawn() -> None:
    for seed in ("a", "b", "c"):
        result = run(seed=seed)
        blacklisted_covered = {
            e.id
            for e in result.entities
            if e.blacklisted and e.category in ("重点排污单位", "一般排污单位")
        }
        assert blacklisted_covered <= set(result.selected("HJ-02"))


def test_same_inputs_same_record() -> None:
    a, b = run(), run()
    assert a.record == b.record
    assert a.to_json() == b.to_json()


def test_created_at_is_the_only_free_field() -> None:
    a = rc.draw(make_items(), make_entities(), seed=SEED, on="2026-11-26")
    b = run()
    ra, rb = a.record, b.record
    ra.pop("created_at"), rb.pop("created_at")
    assert ra == rb


def test_row_order_does_not_matter() -> None:
    rows = make_entities()
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    items = make_items()
    assert (
        run(entities=rows, items=items).record == run(entities=shuffled, items=items[::-1]).record
    )


def test_different_seeds_differ() -> None:
    selections = {run(seed=f"s{k}").selected("HJ-02") for k in range(5)}
    assert len(selections) == 5


def test_inclusion_probabilities_are_stated() -> None:
    result = run()
    pi = result.inclusion_probabilities("SL-01")
    assert len(pi) == 40
    assert set(pi.values()) == {0.1}
    pi2 = result.inclusion_probabilities("HJ-02")
    assert sum(pi2.values()) == pytest.approx(len(result.selected("HJ-02")))
    assert all(pi2[i] == 1.0 for i in result.selected("HJ-02") if result.entities[i].blacklisted)


def test_tasks_merge_items_per_entity() -> None:
    result = run()
    drawn = {(code, i) for code in ("SL-01", "HJ-01", "HJ-02") for i in result.selected(code)}
    from_tasks = {(code, t.entity_id) for t in result.tasks for code in t.items}
    assert drawn == from_tasks
    assert len({t.entity_id for t in result.tasks}) == len(result.tasks)
    both = [t for t in result.tasks if len(t.items) > 1]
    assert both, "HJ-01 and HJ-02 overlap, so some entity should carry both"
    assert all(t.items == tuple(sorted(t.items)) for t in result.tasks)
    assert result.task(both[0].entity_id) == both[0]


def test_record_is_exact_json() -> None:
    record = run().record
    text = json.dumps(record, ensure_ascii=False)
    assert json.loads(text) == record
    for value in walk(record):
        assert not isinstance(value, float)
        if isinstance(value, int) and not isinstance(value, bool):
            assert abs(value) <= MAX_SAFE_INTEGER
    assert record["spec"] == "randcheck-draw/1"
    assert record["seed"] == {"text": SEED}
    assert [d["item"] for d in record["draws"]] == ["HJ-01", "HJ-02", "SL-01"]


def test_verify_replays() -> None:
    result = run()
    record = json.loads(json.dumps(result.record))
    assert rc.verify(record, make_entities(), items=make_items())
    shuffled = make_entities()
    random.Random(5).shuffle(shuffled)
    assert rc.verify(record, shuffled)


def test_verify_names_a_changed_pool() -> None:
    record = run().record
    rows = make_entities()
    rows[5]["credit_class"] = "A" if rows[5]["credit_class"] != "A" else "B"
    with pytest.raises(rc.VerificationError, match="entity pool digest"):
        rc.verify(record, rows)


def test_verify_names_an_edited_selection() -> None:
    record = copy.deepcopy(run().record)
    chosen = record["draws"][2]["selected"]
    others = [
        r["id"] for r in make_entities() if r["category"] == "取水许可" and r["id"] not in chosen
    ]
    chosen[0] = others[0]
    with pytest.raises(rc.VerificationError, match="item SL-01: selection differs") as info:
        rc.verify(record, make_entities())
    assert others[0] in str(info.value)


def test_verify_names_a_changed_seed() -> None:
    record = copy.deepcopy(run().record)
    record["seed"] = {"text": "another"}
    with pytest.raises(rc.VerificationError, match="seed key"):
        rc.verify(record, make_entities())
    record["seed_key"] = rc.Seed.from_text("another").key.hex()
    with pytest.raises(rc.VerificationError, match="selection differs"):
        rc.verify(record, make_entities())


def test_verify_compares_given_items() -> None:
    record = run().record
    items = make_items()
    items[0] = rc.Item(**{**items[0].to_record(), "ratio": "0.2", "policy": rc.Proportional()})
    with pytest.raises(rc.VerificationError, match="SL-01: parameters differ"):
        rc.verify(record, make_entities(), items=items)
    with pytest.raises(rc.VerificationError, match="SL-01: in the record, not in the given"):
        rc.verify(record, make_entities(), items=items[1:])


def test_verify_refuses_another_spec() -> None:
    record = {**run().record, "spec": "randcheck-draw/9"}
    with pytest.raises(rc.VerificationError, match="randcheck-draw/9"):
        rc.verify(record, make_entities())


def test_duplicate_item_codes_are_refused() -> None:
    items = make_items()
    with pytest.raises(rc.InputError, match="twice"):
        run(items=[*items, items[0]])


def test_item_with_no_entities_draws_nothing() -> None:
    item = rc.Item(
        code="LY-01",
        name="林木采伐许可检查",
        station="林业站",
        legal_basis="《森林法》",
        categories=["林木采伐许可"],
    )
    result = run(items=[item])
    assert result.selected("LY-01") == ()
    assert result.tasks == ()


def test_items_need_a_legal_basis() -> None:
    with pytest.raises(ValueError, match="no legal basis"):
        rc.Item(code="X", name="x", station="s", legal_basis=" ")


def test_accepts_entity_objects_and_seed_objects() -> None:
    pool = rc.EntityPool.from_records(make_entities())
    a = rc.draw(
        make_items(), list(pool), seed=rc.Seed.from_text(SEED), on="2026-11-26", created_at="x"
    )
    b = run()
    assert a.selected("HJ-02") == b.selected("HJ-02")


def test_repr() -> None:
    assert repr(run()).startswith("<DrawResult 3 items")


class HeavierDClass:
    """A station plugin that doubles the weight of class-D entities."""

    __version__ = "1.0"

    def __init__(self) -> None:
        self.notified: list[rc.DrawResult] = []

    @rc.hookimpl
    def randcheck_risk_weight(self, item: rc.Item, entity: rc.Entity, weight: int) -> int | None:
        return weight * 2 if entity.credit_class == "D" else None

    @rc.hookimpl
    def randcheck_after_draw(self, result: rc.DrawResult) -> None:
        self.notified.append(result)


def test_risk_weight_plugin_changes_design_and_is_recorded() -> None:
    from randcheck.plugins import Plugins

    plugin = HeavierDClass()
    plugins = Plugins.isolated(plugin)
    items = make_items()
    with_plugin = rc.draw(items, make_entities(), seed=SEED, on="2026-11-26", plugins=plugins)
    plain = rc.draw(items, make_entities(), seed=SEED, on="2026-11-26", plugins=Plugins.isolated())
    pool = with_plugin.entities
    d = next(
        i
        for i in range(len(pool))
        if pool.entity(i).credit_class == "D"
        and pool.entity(i).category == "重点排污单位"
        and not pool.entity(i).blacklisted
    )
    ident = pool.entity(d).id
    assert (
        with_plugin.inclusion_probabilities("HJ-02")[ident]
        > plain.inclusion_probabilities("HJ-02")[ident]
    )
    (recorded,) = with_plugin.record["plugins"]
    assert recorded["version"] == "1.0"
    assert plugins.manager.get_plugin(recorded["name"]) is plugin
    assert plain.record["plugins"] == []
    assert plugin.notified == [with_plugin]
    assert rc.verify(with_plugin.record, make_entities(), plugins=plugins)
    assert plugin.notified == [with_plugin]  # replays do not notify
    with pytest.raises(rc.VerificationError, match="plugins that change draws"):
        rc.verify(with_plugin.record, make_entities(), plugins=Plugins.isolated())


# -- teams ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def county() -> dict[str, Any]:
    from randcheck.cli import sample_path

    return {
        "items": rc.load_items(sample_path("items.csv")),
        "entities": rc.load_entities(sample_path("entities.csv")),
        "inspectors": rc.load_inspectors(sample_path("inspectors.csv")),
        "conflicts": rc.load_conflicts(sample_path("conflicts.csv")),
    }


def county_draw(county: dict[str, Any], seed: str = "teams") -> rc.DrawResult:
    return rc.draw(
        county["items"],
        county["entities"],
        county["inspectors"],
        seed=seed,
        on="2026-11-26",
        conflicts=county["conflicts"],
        created_at="-",
    )


def test_every_task_gets_a_valid_team(county: dict[str, Any]) -> None:
    import datetime as dt

    result = county_draw(county)
    inspectors = county["inspectors"]
    banned = {(c.entity_id, c.inspector_id) for c in county["conflicts"]}
    items = {i.code: i for i in county["items"]}
    for task in result.tasks:
        team = [inspectors[i] for i in task.team]
        assert len(team) >= max(items[c].team_size for c in task.items)
        assert len(set(task.team)) == len(task.team)
        assert {i.station for i in team} >= set(task.stations)
        assert all(i.eligible_on(dt.date(2026, 11, 26)) for i in team)
        assert not any((task.entity_id, i) in banned for i in task.team)
    assert result.record["teams"]["teams"] == {t.entity_id: list(t.team) for t in result.tasks}


def test_team_odds_are_stated_and_sum_to_team_sizes(county: dict[str, Any]) -> None:
    result = county_draw(county)
    odds = result.team_probabilities()
    per_task: dict[str, float] = {}
    for (entity, _inspector), p in odds.items():
        per_task[entity] = per_task.get(entity, 0.0) + p
    for task in result.tasks:
        assert per_task[task.entity_id] == pytest.approx(len(task.team))
    banned = {(c.entity_id, c.inspector_id) for c in county["conflicts"]}
    assert all(odds.get(pair, 0.0) == 0.0 for pair in banned)


def test_teams_replay_with_and_without_the_conflict_table(county: dict[str, Any]) -> None:
    first = county_draw(county).tasks[0]
    # A recusal that bites: the first task's first inspector declares a conflict.
    conflicts = [*county["conflicts"], rc.Conflict(first.team[0], first.entity_id, "亲属关系")]
    result = rc.draw(
        county["items"],
        county["entities"],
        county["inspectors"],
        seed="teams",
        on="2026-11-26",
        conflicts=conflicts,
        created_at="-",
    )
    assert first.team[0] not in result.task(first.entity_id).team
    record = json.loads(json.dumps(result.record))
    assert {
        "entity": first.entity_id,
        "inspector": first.team[0],
        "reasons": ["亲属关系"],
    } in record["teams"]["exclusions"]
    assert rc.verify(record, county["entities"], county["inspectors"])
    assert rc.verify(record, county["entities"], county["inspectors"], conflicts=conflicts)
    with pytest.raises(rc.VerificationError, match="conflict table: record"):
        rc.verify(record, county["entities"], county["inspectors"], conflicts=county["conflicts"])


def test_an_edited_team_is_named(county: dict[str, Any]) -> None:
    record = copy.deepcopy(county_draw(county).record)
    entity, team = next(iter(record["teams"]["teams"].items()))
    others = [i for i in county["inspectors"].ids if i not in team]
    record["teams"]["teams"][entity] = sorted([others[0], *team[1:]])
    record["tasks"] = [
        {**t, "team": record["teams"]["teams"][t["entity"]]} for t in record["tasks"]
    ]
    with pytest.raises(rc.VerificationError, match=f"teams differ from the replay for {entity}"):
        rc.verify(record, county["entities"], county["inspectors"])


def test_recuse_draws_a_substitute_that_replays(county: dict[str, Any]) -> None:
    result = county_draw(county)
    task = result.tasks[0]
    out = task.team[0]
    after = result.recuse(task.entity_id, out, "本人申请回避")
    new_team = after.task(task.entity_id).team
    assert out not in new_team
    assert len(new_team) == len(task.team)
    assert after.teams is not None
    (entry,) = after.teams.substitutions
    assert entry["substitute"] in new_team
    assert entry["stream"] == ["substitute", task.entity_id, out, "0"]
    record = json.loads(json.dumps(after.record))
    assert rc.verify(record, county["entities"], county["inspectors"])
    assert result.task(task.entity_id).team == task.team  # results are immutable
    record["teams"]["substitutions"][0]["reason"] = "另一个理由"
    with pytest.raises(rc.VerificationError):
        rc.verify(record, county["entities"], county["inspectors"])


def test_no_inspectors_no_teams() -> None:
    result = run()
    assert result.record["teams"] is None
    with pytest.raises(ValueError, match="no teams"):
        result.team_probabilities()


def test_import_is_light() -> None:
    """Importing randcheck loads no plugins and none of the heavy optional packages."""
    import subprocess
    import sys

    code = (
        "import sys, randcheck; "
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('scipy', 'pandas', 'matplotlib', 'openpyxl', 'hypothesis', 'pytest')]; "
        "print(heavy); print(randcheck.plugins._plugins)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]", "None"]
