"""randcheck.testing.strategies (rcst): what each strategy generates, and the kit on it."""

from __future__ import annotations

import datetime as dt
import inspect

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

import randcheck as rc
import randcheck.testing.strategies as rcst
from randcheck.canonical import canonical_id
from randcheck.testing import assert_reproducible, assert_valid_draw
from randcheck.uscc import is_valid_uscc

RISK_KEYS = {"credit_class", "blacklisted", "verified_complaints", "serious_violation"}


@given(rcst.usccs())
def test_usccs_are_valid(code: str) -> None:
    assert is_valid_uscc(code), code


@given(rcst.usccs(division="632224"))
def test_usccs_in_a_division(code: str) -> None:
    assert is_valid_uscc(code)
    assert code[2:8] == "632224"


def test_usccs_reject_a_bad_division() -> None:
    with pytest.raises(ValueError, match="six digits"):
        find(rcst.usccs(division="6322"), lambda _: True)


@given(rcst.entity_records(min_size=3, max_size=12))
def test_entity_records(rows: list[dict[str, object]]) -> None:
    assert 3 <= len(rows) <= 12
    ids = [canonical_id(r["id"]) for r in rows]
    assert len(set(ids)) == len(ids)
    for row in rows:
        assert rcst.CATEGORIES[str(row["category"])] == row["station"]
        assert set(row) >= RISK_KEYS
    pool = rc.EntityPool.from_records(rows)
    assert len(pool) == len(rows)


@given(
    rcst.entity_records(
        max_size=8, categories={"林木采伐许可": "林业站"}, with_risk=False, id_kind="uscc"
    )
)
def test_entity_records_options(rows: list[dict[str, object]]) -> None:
    for row in rows:
        assert row["category"] == "林木采伐许可"
        assert row["station"] == "林业站"
        assert not RISK_KEYS & set(row)
        assert is_valid_uscc(str(row["id"]))


def test_entity_records_reject_unknown_options() -> None:
    with pytest.raises(ValueError, match="id_kind"):
        find(rcst.entity_records(id_kind="guid"), lambda _: True)
    with pytest.raises(ValueError, match="at least one category"):
        find(rcst.entity_records(categories=[]), lambda _: True)


def test_entity_records_reach_every_id_kind_and_risk() -> None:
    rows = rcst.entity_records(min_size=1, max_size=5)
    find(rows, lambda rs: any(is_valid_uscc(str(r["id"])) for r in rs))
    find(rows, lambda rs: any(str(r["id"]).isdigit() and len(str(r["id"])) == 15 for r in rs))
    find(rows, lambda rs: any(not str(r["id"]).isascii() for r in rs))
    find(rows, lambda rs: any(r["blacklisted"] and r["credit_class"] == "D" for r in rs))
    find(rows, lambda rs: any(r["verified_complaints"] for r in rs))
    find(rows, lambda rs: any("industry" in r for r in rs))


@given(rcst.entity_pools(min_size=2, max_size=6, categories=["取水许可"]))
def test_entity_pools(pool: rc.EntityPool) -> None:
    assert 2 <= len(pool) <= 6
    assert pool.categories == ("取水许可",)
    assert pool.stations == ("水利工作站",)


@given(rcst.inspector_records(min_size=3, max_size=6, stations=["林业站"]))
def test_inspector_records(rows: list[dict[str, object]]) -> None:
    assert 3 <= len(rows) <= 6
    assert len({r["id"] for r in rows}) == len(rows)
    assert {r["station"] for r in rows} == {"林业站"}


@given(rcst.inspector_pools(eligible_only=True, on=dt.date(2030, 1, 1)))
def test_inspector_pools_eligible(pool: rc.InspectorPool) -> None:
    assert all(i.eligible_on(dt.date(2030, 1, 1)) for i in pool)


def test_inspector_pools_include_ineligible() -> None:
    day = dt.date(2026, 11, 26)
    find(rcst.inspector_pools(on=day), lambda pool: any(not i.eligible_on(day) for i in pool))


@given(rcst.policies())
def test_policies(policy: rc.Policy) -> None:
    assert isinstance(policy, (rc.Proportional, rc.RiskWeighted))
    assert rc.policies.policy_from_record(policy.to_record()) == policy


@given(rcst.items(categories=["取水许可", "重点排污单位"]))
def test_items(item: rc.Item) -> None:
    assert set(item.categories) <= {"取水许可", "重点排污单位"}
    assert item.legal_basis
    assert 0 < item.ratio <= 1
    assert item.team_size >= 2
    assert rc.Item.from_record(item.to_record()) == item


def test_items_sometimes_cover_a_whole_station() -> None:
    item = find(rcst.items(), lambda i: not i.categories)
    assert item.station in rcst.CATEGORIES.values()


@given(rcst.item_lists(min_size=2, max_size=5))
def test_item_lists(items: list[rc.Item]) -> None:
    assert 2 <= len(items) <= 5
    assert len({i.code for i in items}) == len(items)


@given(st.data())
def test_conflict_tables(data: st.DataObject) -> None:
    pool = data.draw(rcst.entity_pools(max_size=8))
    staff = data.draw(rcst.inspector_pools())
    table = data.draw(rcst.conflict_tables(inspectors=staff, entities=pool, min_size=1))
    assert table
    pairs = [(c.inspector_id, c.entity_id) for c in table]
    assert len(set(pairs)) == len(pairs)
    assert all(i in staff and e in pool for i, e in pairs)


def test_conflict_tables_need_ids() -> None:
    assert find(rcst.conflict_tables(inspectors=[], entities=["E1"]), lambda _: True) == []
    with pytest.raises(ValueError, match="at least one inspector"):
        find(rcst.conflict_tables(inspectors=[], entities=["E1"], min_size=1), lambda _: True)


@given(rcst.seeds())
def test_seeds_are_seeds(seed: rc.Seed) -> None:
    assert rc.Seed.from_material(seed.material()) == seed
    assert len(seed.key) == 32


def test_seeds_reach_cjk_long_numbers_and_ceremonies() -> None:
    texts = rcst.seeds(ceremony=False)
    find(texts, lambda s: s.text is not None and any("\u4e00" <= c <= "\u9fa5" for c in s.text))
    find(texts, lambda s: s.text is not None and s.text.isdigit() and len(s.text) == 30)
    ceremony = find(rcst.seeds(ceremony=True), lambda s: s.beacon is not None)
    assert len(ceremony.contributions) >= 2


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(rcst.draw_results(with_inspectors=True))
def test_generated_draws_are_valid(result: rc.DrawResult) -> None:
    assert_valid_draw(result)
    assert rc.verify(result.record, result.entities, result.inspectors)


@settings(max_examples=10, deadline=None)
@given(rcst.draw_results(max_size=15))
def test_generated_draws_are_reproducible(result: rc.DrawResult) -> None:
    assert_reproducible(result, shuffles=2)


PUBLIC = [name for name in rcst.__all__ if callable(getattr(rcst, name))]


@pytest.mark.parametrize("name", PUBLIC)
def test_strategies_are_documented(name: str) -> None:
    function = getattr(rcst, name)
    doc = inspect.getdoc(function) or ""
    assert "Returns\n-------" in doc
    assert ".example()" in doc
    params = inspect.signature(function).parameters.values()
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert name.endswith("s")  # plural nouns, as hypothesis names them
