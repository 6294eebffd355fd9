"""Plans: validation, files, strata, schedule, targets, the class-stratified policy, records."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import randcheck as rc
from randcheck.canonical import canonical_json, jcs_loads
from randcheck.cli import sample_path
from randcheck.plan import (
    ClassStratified,
    Plan,
    PlanError,
    Round,
    Target,
    draw_year,
    plan_policy_from_record,
    verify_year,
)

from .conftest import make_entities, make_items

ROUNDS = [
    {"label": "Q1", "date": "2026-03-20"},
    {"label": "Q2", "date": "2026-06-20"},
    {"label": "Q3", "date": "2026-09-20"},
    {"label": "Q4", "date": "2026-11-20"},
]


def record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "测试计划",
        "year": 2026,
        "items": [i.to_record() for i in make_items()],
        "rounds": ROUNDS,
        "class_ratios": {"A": "0.05", "B": "10%", "C": "1/5", "D": "1"},
        "general_cap": "0.1",
    }
    base.update(changes)
    return base


@pytest.fixture(scope="module")
def pool() -> rc.EntityPool:
    return rc.EntityPool.from_records(make_entities(120))


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("zero", ["0", "0%", 0, "0.0", "0/7"])
def test_a_class_ratio_of_zero_is_refused(zero: object) -> None:
    with pytest.raises(PlanError, match=r"no class is exempt \(不免抽\)") as info:
        Plan.from_records(record(class_ratios={"A": zero, "B": "0.1"}), source="plan.json")
    assert info.value.column == "class_ratios.A"
    assert "plan.json" in str(info.value)


@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        ({"class_ratios": {"E": "0.1"}}, "class_ratios.E", "unknown credit class"),
        ({"class_ratios": {"B": "1.5"}}, "class_ratios.B", r"\(0, 1\]"),
        ({"frequency": {"SL-01": 5}}, "frequency.SL-01", "only 4 rounds"),
        ({"frequency": {"XX-99": 2}}, "frequency.XX-99", "no item 'XX-99'"),
        ({"frequency": {"SL-01": ["Q9"]}}, "frequency.SL-01", "no round 'Q9'"),
        ({"general_cap": "0"}, "general_cap", "is 0"),
        ({"max_visits": 0}, "max_visits", "at least 1"),
        ({"method": "lottery"}, "method", "unknown method"),
        ({"prn_size": "big"}, "prn_size", "poisson"),
        ({"colour": "red"}, "colour", "unknown plan field"),
        ({"year": "twenty"}, "year", "whole number"),
        ({"rounds": []}, "rounds", "no rounds"),
        ({"targets": [{"field": "region", "values": []}]}, "targets[0]", "lists no values"),
        (
            {"targets": [{"field": "region", "values": ["x"], "items": ["NOPE"]}]},
            "targets[0].items",
            "no item 'NOPE'",
        ),
        ({"frequency": ["SL-01"]}, "frequency", "must be an object"),
    ],
)
def test_plan_errors_name_the_field(changes: dict[str, Any], column: str, message: str) -> None:
    with pytest.raises(PlanError, match=message) as info:
        Plan.from_records(record(**changes))
    assert info.value.column == column


def test_rounds_must_be_in_the_year_in_order_and_unique() -> None:
    with pytest.raises(PlanError, match="not in 2026") as info:
        Plan.from_records(record(rounds=[{"label": "Q1", "date": "2025-12-31"}]))
    assert info.value.column == "rounds[0].date"
    with pytest.raises(PlanError, match="date order"):
        Plan.from_records(record(rounds=[ROUNDS[1], ROUNDS[0]]))
    with pytest.raises(PlanError, match="listed twice"):
        Plan.from_records(record(rounds=[ROUNDS[0], {"label": "Q1", "date": "2026-12-01"}]))
    with pytest.raises(PlanError, match="YYYY-MM-DD") as info:
        Plan.from_records(record(rounds=[{"label": "Q1", "date": "March"}]))
    assert info.value.column == "rounds[0]"


def test_inline_items_are_validated_like_an_item_register() -> None:
    items = [i.to_record() for i in make_items()]
    items[1]["ratio"] = "7"
    with pytest.raises(PlanError, match="ratio") as info:
        Plan.from_records(record(items=items))
    assert info.value.column == "items"
    items = [i.to_record() for i in make_items()]
    items.append({**items[0], "name": "另一个名称"})
    with pytest.raises(PlanError, match="SL-01"):
        Plan.from_records(record(items=items))


# -- derived values ------------------------------------------------------------------------


def test_schedule_spreads_an_items_rounds_over_the_year() -> None:
    plan = Plan.from_records(record(frequency={"SL-01": 2, "HJ-01": 3, "HJ-02": ["Q2", "Q4"]}))
    assert plan.schedule("SL-01") == (0, 2)
    assert plan.schedule("HJ-01") == (0, 1, 2)
    assert plan.schedule("HJ-02") == (1, 3)
    one = Plan.from_records(record(frequency={"SL-01": 1}))
    assert one.schedule("SL-01") == (0,)


def test_ratios_caps_and_sizes_are_exact() -> None:
    plan = Plan.from_records(record())
    general, key = plan.item("HJ-01"), plan.item("HJ-02")
    assert general.kind == "general"
    assert key.kind == "key"
    assert plan.ratio(general, "A") == Fraction(1, 20)
    assert plan.ratio(general, "D") == Fraction(1, 10)  # capped
    assert plan.ratio(key, "D") == 1  # key items are not capped
    assert plan.ratio(general, "unclassified") == Fraction(1, 20)  # the item's own ratio
    assert plan.sample_size(key, "C", 7) == 2  # ceil(7/5)
    assert plan.sample_size(key, "A", 3) == 1  # ceil(0.15): no class is exempt
    unstratified = Plan.from_records(record(class_ratios=None, general_cap=None))
    assert unstratified.sample_size(unstratified.item("SL-01"), "all", 20) == 2
    assert unstratified.sample_size(unstratified.item("SL-01"), "all", 5) == 1  # minimum 1


def test_targets_restrict_frames(pool: rc.EntityPool) -> None:
    plan = Plan.from_records(
        record(
            targets=[
                {"field": "region", "values": ["沙柳河镇"], "items": ["SL-01"]},
                {"field": "credit_class", "values": ["A", "unclassified"], "items": ["HJ-02"]},
                {"field": "blacklisted", "values": ["否"], "items": ["HJ-02"]},
            ]
        )
    )
    sl = plan.frame(plan.item("SL-01"), pool)
    assert set(pool.column("region")[sl].tolist()) == {"沙柳河镇"}
    assert sl.size == pool.covered_by(plan.item("SL-01")).size // 2
    hj = plan.frame(plan.item("HJ-02"), pool)
    assert set(pool.column("credit_class")[hj].tolist()) <= {"A", None}
    assert not pool.blacklisted[hj].any()
    untouched = plan.frame(plan.item("HJ-01"), pool)
    assert untouched.tolist() == pool.covered_by(plan.item("HJ-01")).tolist()


def test_targets_on_attribute_columns(tmp_path: Path) -> None:
    entities = rc.EntityPool.from_records(
        {"id": f"E{i}", "category": "取水许可", "industry": ("农业", "工业", None)[i % 3]}
        for i in range(9)
    )
    target = Target(field="industry", values=["工业"])
    assert entities.ids[target.mask(entities)].tolist() == ["E1", "E4", "E7"]
    assert Target(field="industry", values=["农业", "工业"]).mask(entities).sum() == 6
    with pytest.raises(PlanError, match=r"neither an entity field .* nor an attribute column"):
        Target(field="colour", values=["red"]).mask(entities)


# -- files --------------------------------------------------------------------------------


def test_plan_json_with_an_item_file(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_bytes(Path(sample_path("items.csv")).read_bytes())
    data = {
        "plan": {
            "year": 2026,
            "items": "items.csv",
            "rounds": ROUNDS,
            "class_ratios": {"A": "0.03", "D": 1},
            "frequency": {"HB-01": ["Q1", "Q2", "Q3", "Q4"]},
        }
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    plan = Plan.from_file(path)
    assert len(plan.items) == 9
    assert plan.schedule("HB-01") == (0, 1, 2, 3)
    assert dict(plan.class_ratios) == {"A": Fraction(3, 100), "D": 1}
    (tmp_path / "broken.json").write_text('{"year": 2026,', "utf-8")
    with pytest.raises(PlanError, match="malformed JSON"):
        Plan.from_file(tmp_path / "broken.json")
    with pytest.raises(PlanError, match="no such file"):
        Plan.from_file(tmp_path / "missing.json")
    with pytest.raises(PlanError, match="suffix"):
        Plan.from_file(tmp_path / "plan.yaml")


def test_plan_csv_sheet_and_its_row_numbers(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_bytes(Path(sample_path("items.csv")).read_bytes())
    lines = [
        "section,key,value",
        "plan,year,2026",
        "plan,items,items.csv",
        "plan,general_cap,5%",
        "round,Q1,2026-03-20",
        "round,Q2,2026-09-20",
        "class_ratio,A,0.03",
        "class_ratio,D,1",
        "frequency,SL-01,1",
        "frequency,HB-01,Q1;Q2",
        "frequency,HB-02,2",
        "target,region@LY-02,沙柳河镇;哈尔盖镇",
    ]
    path = tmp_path / "plan.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    plan = Plan.from_file(path)
    assert plan.general_cap == Fraction(1, 20)
    assert [r.label for r in plan.rounds] == ["Q1", "Q2"]
    assert plan.targets == (Target("region", ["沙柳河镇", "哈尔盖镇"], ["LY-02"]),)
    assert plan.schedule("HB-01") == (0, 1)
    lines[6] = "class_ratio,A,0"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(PlanError, match="no class is exempt") as info:
        Plan.from_file(path)
    assert info.value.row == 7
    assert info.value.column == "class_ratios.A"
    path.write_text("field,value\nyear,2026\n", "utf-8")
    with pytest.raises(PlanError, match="section,key,value"):
        Plan.from_file(path)
    path.write_text("section,key,value\nplans,year,2026\n", "utf-8")
    with pytest.raises(PlanError, match="unknown section") as info:
        Plan.from_file(path)
    assert info.value.row == 2


def test_plan_record_round_trips(pool: rc.EntityPool) -> None:
    plan = Plan.from_records(
        record(
            frequency={"SL-01": 2, "HJ-02": ["Q1", "Q3"]},
            targets=[{"field": "region", "values": ["沙柳河镇"], "items": ["SL-01"]}],
            max_visits=3,
            method="prn",
        )
    )
    again = Plan.from_records(jcs_loads(canonical_json(plan.to_record())))
    assert again == plan
    assert canonical_json(again.to_record()) == canonical_json(plan.to_record())


# -- the class-stratified policy -----------------------------------------------------------


def test_class_stratified_design_is_exact_per_class(pool: rc.EntityPool) -> None:
    policy = ClassStratified({"A": "0.05", "B": "0.1", "C": "0.2", "D": "1"}, default_ratio="1/3")
    design = policy.design(pool, 0)
    codes = pool.credit_codes
    total = 0
    for code, ratio in ((0, Fraction(1, 20)), (1, Fraction(1, 10)), (2, Fraction(1, 5)), (3, 1)):
        members = np.flatnonzero(codes == code)
        n_c = min(members.size, -(-ratio * members.size // 1))
        assert {design.fraction(int(i)) for i in members} == {Fraction(int(n_c), members.size)}
        total += int(n_c)
    members = np.flatnonzero(codes == -1)
    n_u = -(-Fraction(1, 3) * members.size // 1)
    assert {design.fraction(int(i)) for i in members} == {Fraction(int(n_u), members.size)}
    assert design.n == total + n_u
    result = rc.draw(
        [
            rc.Item(
                code="ALL",
                name="全体",
                station="",
                legal_basis="《测试》",
                categories=["取水许可", "一般排污单位", "重点排污单位"],
                policy=policy,
            )
        ],
        pool,
        seed="stratified",
    )
    assert len(result.selected("ALL")) == design.n


def test_class_stratified_refusals_and_records(pool: rc.EntityPool) -> None:
    with pytest.raises(rc.PolicyError, match="no class is exempt"):
        ClassStratified({"A": "0"})
    with pytest.raises(rc.PolicyError, match="class C but class_ratios gives no ratio"):
        ClassStratified({"A": "0.1", "B": "0.1", "D": "0.1"}).design(pool, 0)
    policy = ClassStratified({"A": "0.05", "unclassified": "1/3"}, within=rc.RiskWeighted())
    rebuilt = plan_policy_from_record(json.loads(json.dumps(policy.to_record())))
    assert rebuilt == policy
    assert plan_policy_from_record("risk-weighted") == rc.RiskWeighted()
    with pytest.raises(rc.PolicyError, match="needs class_ratios"):
        plan_policy_from_record({"name": "class-stratified"})


# -- the year draw and its record ----------------------------------------------------------


@pytest.mark.parametrize("method", ["joint", "independent", "prn", "exclude"])
def test_year_record_verifies_and_catches_tampering(pool: rc.EntityPool, method: str) -> None:
    plan = Plan.from_records(record(method=method, frequency={"SL-01": 4, "HJ-02": 4}))
    year = draw_year(plan, pool, seed="2026年度", created_at="2026-01-05T00:00:00+00:00")
    data = jcs_loads(canonical_json(year.record))  # no floats, JSON-safe integers
    assert data["spec"] == "randcheck-year/1"
    assert data["method"] == method
    assert verify_year(data, pool)
    assert data == jcs_loads(canonical_json(draw_year(plan, pool, seed="2026年度").record)) | {
        "created_at": data["created_at"]
    }
    rounds = data["rounds"]
    victim = next(d for r in rounds for d in r["draws"] if d["selected"])
    victim["selected"][0] = next(i for i in pool.ids.tolist() if i not in victim["selected"])
    with pytest.raises(rc.VerificationError, match="selection differs"):
        verify_year(data, pool)
    other = rc.EntityPool.from_records(make_entities(121))
    with pytest.raises(rc.VerificationError, match="entity pool digest"):
        verify_year(year.record, other)


def test_year_draw_sizes_tasks_and_probabilities(pool: rc.EntityPool) -> None:
    plan = Plan.from_records(record(frequency={"SL-01": 4, "HJ-01": 4, "HJ-02": 4}))
    year = draw_year(plan, pool, seed="tasks")
    q1 = year.round("Q1")
    assert set(q1.items) == {"HJ-01", "HJ-02", "SL-01"}
    for d in q1.draws:
        assert d.positions.size == plan.sample_size(d.item, d.stratum, d.frame)
    probabilities = q1.inclusion_probabilities("HJ-01")
    assert all(isinstance(p, Fraction) for p in probabilities.values())
    both = set(q1.selected("HJ-01")) & set(q1.selected("HJ-02"))
    for task in q1.tasks:
        assert task.items == tuple(sorted(task.items))
        if task.entity_id in both:
            assert task.items == ("HJ-01", "HJ-02")
    assert len(q1.tasks) == q1.visited.size
    assert int(year.visits.sum()) == sum(r.visited.size for r in year.rounds)
    with pytest.raises(KeyError):
        year.round("Q9")
    with pytest.raises(KeyError):
        q1.selected("NOPE")
    assert "YearDraw 2026 joint" in repr(year)
    assert year.to_json().startswith('{"created_at"')


def test_verify_year_wants_the_same_history(pool: rc.EntityPool) -> None:
    from randcheck.plan import History

    plan = Plan.from_records(record(method="exclude"))
    history = History.from_records(
        [{"round": "2025-Q4", "date": "2025-11-01", "entities": pool.ids[:5].tolist()}]
    )
    year = draw_year(plan, pool, seed="h", history=history)
    assert verify_year(year.record, pool, history=history)
    with pytest.raises(rc.VerificationError, match="drawn with a history"):
        verify_year(year.record, pool)
    plain = draw_year(plan, pool, seed="h")
    with pytest.raises(rc.VerificationError, match="drawn without one"):
        verify_year(plain.record, pool, history=history)
    with pytest.raises(rc.VerificationError, match="randcheck-year/1"):
        verify_year({"spec": "randcheck-draw/1"}, pool)


def test_a_plan_where_everything_is_certain(pool: rc.EntityPool) -> None:
    plan = Plan.from_records(
        record(class_ratios={"A": 1, "B": 1, "C": 1, "D": 1}, general_cap=None)
    )
    for method in ("joint", "prn"):
        year = draw_year(plan, pool, seed="all", method=method)
        covered = plan.frame(plan.item("HJ-02"), pool)
        classified = covered[pool.credit_codes[covered] >= 0]
        assert set(classified.tolist()) <= set(year.round("Q1").positions("HJ-02").tolist())


def test_round_and_plan_constructors() -> None:
    plan = Plan(
        year=2026,
        items=make_items(),
        rounds=[Round("第一轮", "2026-04-01"), Round("第二轮", "2026-10-01")],
    )
    assert plan.method == "joint"
    assert plan.schedule("SL-01") == (0, 1)
    with pytest.raises(ValueError, match="needs a label"):
        Round("", "2026-01-01")
    with pytest.raises(PlanError, match="at least one item"):
        Plan(year=2026, items=[], rounds=[Round("Q1", "2026-01-01")])


class _TripleClassA:
    """A station plugin that triples the risk weight of class-A entities."""

    from randcheck.hookspecs import hookimpl

    @hookimpl
    def randcheck_risk_weight(self, entity: rc.Entity, weight: int) -> int | None:
        return 3 * weight if entity.credit_class == "A" else None


def test_plugins_risk_weights_apply_and_are_recorded(pool: rc.EntityPool) -> None:
    from randcheck.plugins import Plugins

    plan = Plan.from_records(record(class_ratios=None, general_cap=None, method="independent"))
    plain, custom = Plugins.isolated(), Plugins.isolated(_TripleClassA())
    covered = plan.frame(plan.item("HJ-02"), pool)
    chosen = covered[(pool.credit_codes[covered] == 0) & ~pool.blacklisted[covered]][0]
    ident = str(pool.ids[chosen])
    base = draw_year(plan, pool, seed="p", plugins=plain).round("Q1")
    tuned = draw_year(plan, pool, seed="p", plugins=custom)
    pi_base = base.inclusion_probabilities("HJ-02")[ident]
    pi_tuned = tuned.round("Q1").inclusion_probabilities("HJ-02")[ident]
    assert pi_tuned > pi_base
    assert [p["name"] for p in tuned.record["plugins"]] == ["_TripleClassA"]
    assert verify_year(tuned.record, pool, plugins=custom)
    with pytest.raises(rc.VerificationError, match="plugins"):
        verify_year(tuned.record, pool, plugins=plain)
    from randcheck.plan import coverage

    before = coverage(plan, pool, method="independent", plugins=plain).expected_items[chosen]
    after = coverage(plan, pool, method="independent", plugins=custom).expected_items[chosen]
    assert after > before
