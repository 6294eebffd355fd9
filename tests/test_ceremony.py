"""The ceremony on the ledger: commit, seed, draw, lock, recusal, outcomes, follow-ups, audit."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import randcheck as rc
from randcheck import ceremony as cer
from randcheck.canonical import canonical_json
from randcheck.cli import sample_path
from randcheck.ledger import Entry, Ledger
from randcheck.loaders import load_entities, load_inspectors, load_items

ON = "2026-11-26"
CONTRIBUTIONS = {"观察员甲": "3821", "observer B": "0042"}


@attrs.frozen
class County:
    items: tuple[rc.Item, ...]
    entities: rc.EntityPool
    inspectors: rc.InspectorPool


@pytest.fixture(scope="module")
def county() -> County:
    return County(
        items=load_items(sample_path("items.csv")),
        entities=load_entities(sample_path("entities.csv")),
        inspectors=load_inspectors(sample_path("inspectors.csv")),
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "randcheck.db") as opened:
        yield opened


def commit(ledger: Ledger, county: County, **extra: Any) -> Entry:
    args: dict[str, Any] = {
        "items": county.items,
        "entities": county.entities,
        "inspectors": county.inspectors,
        "on": ON,
        "operator": "张三",
        "observers": ["观察员甲", "observer B"],
    }
    args.update(extra)
    return cer.commit(ledger, **args)


def drawn(ledger: Ledger, county: County, *, locked: bool = False) -> tuple[Entry, rc.DrawResult]:
    """Commit, reveal the seed, draw (and lock); return the draw entry and the result."""
    commitment = commit(ledger, county)
    cer.reveal_seed(ledger, commitment.entry_hash, CONTRIBUTIONS)
    result, entry = cer.draw_committed(
        ledger,
        commitment.entry_hash,
        items=county.items,
        entities=county.entities,
        inspectors=county.inspectors,
    )
    if locked:
        cer.lock(ledger, entry.entry_hash)
    return entry, result


def rewrite_entity(
    records: list[dict[str, Any]], index: int, **changes: Any
) -> list[dict[str, Any]]:
    out = [dict(r) for r in records]
    out[index].update(changes)
    return out


# -- the whole ceremony ---------------------------------------------------------------------


def test_the_whole_ceremony_in_order(ledger: Ledger, county: County) -> None:
    commitment = commit(ledger, county, note="2026年第四季度")
    seed = cer.reveal_seed(ledger, commitment.entry_hash, CONTRIBUTIONS)
    result, draw = cer.draw_committed(
        ledger,
        commitment.entry_hash,
        items=county.items,
        entities=county.entities,
        inspectors=county.inspectors,
    )
    lock = cer.lock(ledger, draw.entry_hash)
    first, second = result.tasks[0].entity_id, result.tasks[1].entity_id
    out = result.task(first).team[0]
    after = result.recuse(first, out, "近亲属持有该单位股份")  # 递补抽取 from the stream
    assert after.teams is not None
    substitution = after.teams.substitutions[-1]
    recusal = cer.record_recusal(
        ledger,
        draw.entry_hash,
        entity_id=first,
        inspector_id=out,
        reason="近亲属持有该单位股份",
        substitute=substitution["substitute"],
        requested_by="检查人员本人",
        substitution=substitution,
    )
    ok = cer.record_outcome(
        ledger,
        draw.entry_hash,
        first,
        result="未发现问题",
        inspected_on="2026-12-01",
        inspectors=list(after.task(first).team),
    )
    bad = cer.record_outcome(
        ledger,
        draw.entry_hash,
        second,
        result="发现问题待后续处理",
        inspected_on="2026-12-02",
        rectification_deadline="2026-12-31",
        follow_up="责令限期整改，到期回访",
    )
    rnd = cer.load_round(ledger, commitment.entry_hash)
    follow_up = rnd.follow_up_of(bad.entry_hash)
    assert follow_up is not None
    closed = cer.close_follow_up(ledger, follow_up.entry_hash, closed_on="2027-01-04")
    published = cer.record_publication(
        ledger, draw.entry_hash, published_on="2027-01-05", files={"notice.csv": "a" * 64}
    )

    kinds = [e.kind for e in ledger.entries()]
    assert kinds == [
        "commitment",
        "seed",
        "draw",
        "lock",
        "recusal",
        "outcome",
        "outcome",
        "follow-up",
        "follow-up-closed",
        "publication",
    ]
    assert [commitment.seq, seed.seq, draw.seq, lock.seq, recusal.seq] == [1, 2, 3, 4, 5]
    assert [ok.seq, bad.seq, follow_up.seq, closed.seq, published.seq] == [6, 7, 8, 9, 10]
    # Every step names the steps it builds on by their ledger hash.
    assert seed.body["commitment"] == commitment.entry_hash
    assert draw.body["commitment"] == commitment.entry_hash
    assert draw.body["seed_entry"] == seed.entry_hash
    assert draw.body["redraw"] is False
    assert draw.body["record"] == result.record
    assert draw.body["record_sha256"] == cer.record_sha256(result.record)
    assert lock.body["draw"] == draw.entry_hash
    assert follow_up.body["outcome"] == bad.entry_hash
    assert follow_up.body["due"] == "2026-12-31"
    # The draw used the ceremony seed and the committed date.
    assert result.seed == rc.Seed.from_contributions(CONTRIBUTIONS)
    assert result.record["on"] == ON
    assert cer.seed_of(ledger, commitment.entry_hash[:12]) == result.seed

    assert ledger.verify() == 10
    assert cer.audit_ledger(ledger) == []
    replays = cer.replay_ledger(ledger, county.entities, county.inspectors)
    assert [(r.seq, r.status) for r in replays] == [(3, "ok")]
    assert rnd.team(draw.entry_hash, first) == after.task(first).team
    assert cer.open_follow_ups(ledger) == []


def test_commitment_holds_every_parameter_before_the_seed(ledger: Ledger, county: County) -> None:
    entry = commit(ledger, county, beacon="drand quicknet round 1234567")
    body = entry.body
    assert body["ceremony"] == cer.CEREMONY
    assert body["spec"] == rc.SPEC
    assert body["on"] == ON
    assert body["operator"] == "张三"
    assert body["observers"] == ["观察员甲", "observer B"]
    assert body["beacon"] == "drand quicknet round 1234567"
    assert body["pools"] == {
        "entities": {"digest": county.entities.digest, "size": len(county.entities)},
        "inspectors": {"digest": county.inspectors.digest, "size": len(county.inspectors)},
    }
    expected = [i.to_record() for i in sorted(county.items, key=lambda i: i.code)]
    assert canonical_json(body["items"]) == canonical_json(expected)
    assert "seed" not in body
    # The body is canonical JSON without floats: the ledger stored it as given.
    assert ledger.get(1).body == body


def test_commit_refuses_duplicate_items_and_no_items(ledger: Ledger, county: County) -> None:
    with pytest.raises(rc.InputError, match="twice"):
        commit(ledger, county, items=[county.items[0], county.items[0]])
    with pytest.raises(rc.InputError, match="at least one item"):
        commit(ledger, county, items=[])
    with pytest.raises(rc.InputError, match="operator"):
        commit(ledger, county, operator="  ")
    assert ledger.head()[0] == 0


# -- the seed -------------------------------------------------------------------------------


def test_seed_for_an_unknown_commitment_is_refused(ledger: Ledger, county: County) -> None:
    with pytest.raises(cer.UnknownEntryError, match="no commitment"):
        cer.reveal_seed(ledger, "ab" * 32, CONTRIBUTIONS)
    assert ledger.head()[0] == 0
    commitment = commit(ledger, county)
    with pytest.raises(cer.UnknownEntryError, match="at least the first 8"):
        cer.reveal_seed(ledger, commitment.entry_hash[:6], CONTRIBUTIONS)
    seed = cer.reveal_seed(ledger, commitment.entry_hash[:8], CONTRIBUTIONS)
    with pytest.raises(cer.UnknownEntryError, match="is a seed entry"):
        cer.reveal_seed(ledger, seed.entry_hash, CONTRIBUTIONS)


def test_second_seed_for_a_commitment_is_refused(ledger: Ledger, county: County) -> None:
    commitment = commit(ledger, county)
    first = cer.reveal_seed(ledger, commitment.entry_hash, CONTRIBUTIONS)
    with pytest.raises(cer.AlreadyRecordedError, match="exactly one seed"):
        cer.reveal_seed(ledger, commitment.entry_hash, {"观察员甲": "9999"})
    assert ledger.head() == (2, first.entry_hash)
    assert first.body["seed"] == {"beacon": None, "contributions": CONTRIBUTIONS}
    assert first.body["seed_key"] == rc.Seed.from_contributions(CONTRIBUTIONS).key.hex()


def test_beacon_must_be_announced_in_the_commitment(ledger: Ledger, county: County) -> None:
    plain = commit(ledger, county)
    with pytest.raises(cer.OutOfOrderError, match="announced no beacon"):
        cer.reveal_seed(ledger, plain.entry_hash, CONTRIBUTIONS, beacon="ab12")
    announced = commit(ledger, county, beacon="drand round 1234")
    with pytest.raises(cer.OutOfOrderError, match="its value is needed"):
        cer.reveal_seed(ledger, announced.entry_hash, CONTRIBUTIONS)
    seed = cer.reveal_seed(ledger, announced.entry_hash, CONTRIBUTIONS, beacon="ab12")
    assert seed.body["seed"]["beacon"] == "ab12"


# -- the draw -------------------------------------------------------------------------------


def test_draw_before_the_seed_is_refused(ledger: Ledger, county: County) -> None:
    commitment = commit(ledger, county)
    with pytest.raises(cer.OutOfOrderError, match="no seed yet"):
        cer.draw_committed(
            ledger,
            commitment.entry_hash,
            items=county.items,
            entities=county.entities,
            inspectors=county.inspectors,
        )
    result = rc.draw(county.items, county.entities, county.inspectors, seed="x", on=ON)
    with pytest.raises(cer.OutOfOrderError, match="no seed yet"):
        cer.record_draw(ledger, commitment.entry_hash, result)
    assert ledger.head()[0] == 1


def test_draw_from_other_pools_than_committed_is_refused(ledger: Ledger, county: County) -> None:
    commitment = commit(ledger, county)
    cer.reveal_seed(ledger, commitment.entry_hash, CONTRIBUTIONS)
    records = county.entities.to_records()
    edited = rc.EntityPool.from_records(rewrite_entity(records, 7, verified_complaints=3))
    with pytest.raises(cer.CommitmentMismatchError, match="entity pool") as caught:
        cer.draw_committed(
            ledger,
            commitment.entry_hash,
            items=county.items,
            entities=edited,
            inspectors=county.inspectors,
        )
    assert county.entities.digest in str(caught.value)
    assert edited.digest in str(caught.value)
    with pytest.raises(cer.CommitmentMismatchError, match="inspector pool"):
        cer.draw_committed(
            ledger,
            commitment.entry_hash,
            items=county.items,
            entities=county.entities,
            inspectors=list(county.inspectors)[1:],
        )
    changed = [attrs.evolve(county.items[0], ratio="0.5"), *county.items[1:]]
    with pytest.raises(cer.CommitmentMismatchError, match=f"item {county.items[0].code}"):
        cer.draw_committed(
            ledger,
            commitment.entry_hash,
            items=changed,
            entities=county.entities,
            inspectors=county.inspectors,
        )
    with pytest.raises(cer.CommitmentMismatchError, match="committed, not drawn"):
        cer.draw_committed(
            ledger,
            commitment.entry_hash,
            items=county.items[1:],
            entities=county.entities,
            inspectors=county.inspectors,
        )
    # A draw made elsewhere, with another seed, another date or other pools, is refused too.
    seed = rc.Seed.from_contributions(CONTRIBUTIONS)
    for result, message in (
        (rc.draw(county.items, county.entities, county.inspectors, seed="4711", on=ON), "seed"),
        (
            rc.draw(county.items, county.entities, county.inspectors, seed=seed, on="2026-11-27"),
            "date",
        ),
        (rc.draw(county.items, edited, county.inspectors, seed=seed, on=ON), "entity pool"),
    ):
        with pytest.raises(cer.CommitmentMismatchError, match=message):
            cer.record_draw(ledger, commitment.entry_hash, result)
    assert [e.kind for e in ledger.entries()] == ["commitment", "seed"]


def test_a_draw_that_does_not_replay_is_refused(ledger: Ledger, county: County) -> None:
    commitment = commit(ledger, county)
    cer.reveal_seed(ledger, commitment.entry_hash, CONTRIBUTIONS)
    seed = rc.Seed.from_contributions(CONTRIBUTIONS)
    result = rc.draw(county.items, county.entities, county.inspectors, seed=seed, on=ON)
    forged = result.item_draws[0]
    positions = forged.positions.copy()
    positions[0] = next(p for p in forged.covered if p not in positions)
    fake = attrs.evolve(
        result, item_draws=(attrs.evolve(forged, positions=positions), *result.item_draws[1:])
    )
    with pytest.raises(cer.CommitmentMismatchError, match="does not replay"):
        cer.record_draw(ledger, commitment.entry_hash, fake)
    assert cer.record_draw(ledger, commitment.entry_hash, result).seq == 3


def test_redraw_needs_a_reason_and_is_marked(ledger: Ledger, county: County) -> None:
    first, result = drawn(ledger, county)
    commitment = first.body["commitment"]
    kwargs: dict[str, Any] = {
        "items": county.items,
        "entities": county.entities,
        "inspectors": county.inspectors,
    }
    with pytest.raises(cer.AlreadyRecordedError, match="stated reason"):
        cer.draw_committed(ledger, commitment, **kwargs)
    with pytest.raises(cer.AlreadyRecordedError, match="stated reason"):
        cer.draw_committed(ledger, commitment, reason="  ", **kwargs)
    again, entry = cer.draw_committed(ledger, commitment, reason="抽取时断电，记录未保存", **kwargs)
    assert entry.body["redraw"] is True
    assert entry.body["replaces"] == first.entry_hash
    assert entry.body["reason"] == "抽取时断电，记录未保存"
    # The same commitment and seed draw the same entities: a redraw cannot change who is drawn.
    assert again.record["draws"] == result.record["draws"]
    assert cer.load_round(ledger, commitment).current_draw == entry
    with pytest.raises(cer.OutOfOrderError, match="replaced by the redraw"):
        cer.lock(ledger, first.entry_hash)
    assert cer.audit_ledger(ledger) == []


def test_no_draw_after_the_lock(ledger: Ledger, county: County) -> None:
    entry, _ = drawn(ledger, county, locked=True)
    commitment = entry.body["commitment"]
    with pytest.raises(cer.DrawLockedError, match="locked at seq 4"):
        cer.draw_committed(
            ledger,
            commitment,
            items=county.items,
            entities=county.entities,
            inspectors=county.inspectors,
            reason="想换一批",
        )
    result = rc.draw(
        county.items,
        county.entities,
        county.inspectors,
        seed=rc.Seed.from_contributions(CONTRIBUTIONS),
        on=ON,
    )
    with pytest.raises(cer.DrawLockedError):
        cer.record_draw(ledger, commitment, result, reason="想换一批")
    with pytest.raises(cer.AlreadyRecordedError, match="already locked"):
        cer.lock(ledger, entry.entry_hash)
    assert ledger.head()[0] == 4


# -- recusals and outcomes --------------------------------------------------------------------


def test_outcome_categories(ledger: Ledger, county: County) -> None:
    entry, result = drawn(ledger, county, locked=True)
    entities = [t.entity_id for t in result.tasks]
    for entity, category in zip(entities, cer.RESULT_CATEGORIES, strict=False):
        deadline = "2026-12-31" if category in cer.RECTIFICATION_RESULTS else None
        outcome = cer.record_outcome(
            ledger,
            entry.entry_hash,
            entity,
            result=category,
            inspected_on="2026-12-01",
            rectification_deadline=deadline,
        )
        assert outcome.body["result"] == category
    with pytest.raises(cer.UnknownResultError) as caught:
        cer.record_outcome(
            ledger, entry.entry_hash, entities[20], result="合格", inspected_on="2026-12-01"
        )
    assert all(category in str(caught.value) for category in cer.RESULT_CATEGORIES)
    variant = cer.record_outcome(
        ledger,
        entry.entry_hash,
        entities[21],
        result=" 注销·吊销·撤销·迁出 ",
        inspected_on="2026-12-01",
    )
    assert variant.body["result"] == "注销・吊销・撤销・迁出"
    assert cer.normalize_result("注销/吊销/撤销/迁出") == "注销・吊销・撤销・迁出"
    assert len(cer.RESULT_CATEGORIES) == 9
    assert cer.audit_ledger(ledger) == []


def test_outcomes_need_a_locked_current_draw_and_a_drawn_entity(
    ledger: Ledger, county: County
) -> None:
    entry, result = drawn(ledger, county)
    entity = result.tasks[0].entity_id
    with pytest.raises(cer.OutOfOrderError, match="not locked"):
        cer.record_outcome(
            ledger, entry.entry_hash, entity, result="未发现问题", inspected_on="2026-12-01"
        )
    cer.lock(ledger, entry.entry_hash)
    not_drawn = next(
        e.id for e in county.entities if e.id not in {t.entity_id for t in result.tasks}
    )
    with pytest.raises(cer.RuleError, match="was not drawn"):
        cer.record_outcome(
            ledger, entry.entry_hash, not_drawn, result="未发现问题", inspected_on="2026-12-01"
        )
    with pytest.raises(cer.RuleError, match="before the draw"):
        cer.record_outcome(
            ledger, entry.entry_hash, entity, result="未发现问题", inspected_on="2026-11-25"
        )
    with pytest.raises(cer.RuleError, match="at least 2 inspectors"):
        cer.record_outcome(
            ledger,
            entry.entry_hash,
            entity,
            result="未发现问题",
            inspected_on="2026-12-01",
            inspectors="GC-INS-002",
        )
    assert ledger.head()[0] == 4


def test_problem_result_needs_a_deadline_and_gets_a_follow_up(
    ledger: Ledger, county: County
) -> None:
    entry, result = drawn(ledger, county, locked=True)
    entity = result.tasks[3].entity_id
    with pytest.raises(cer.RuleError, match="needs a rectification deadline"):
        cer.record_outcome(
            ledger, entry.entry_hash, entity, result="不合格", inspected_on="2026-12-01"
        )
    with pytest.raises(cer.RuleError, match="must come after the inspection"):
        cer.record_outcome(
            ledger,
            entry.entry_hash,
            entity,
            result="不合格",
            inspected_on="2026-12-01",
            rectification_deadline="2026-12-01",
        )
    outcome = cer.record_outcome(
        ledger,
        entry.entry_hash,
        entity,
        result="不合格",
        inspected_on="2026-12-01",
        rectification_deadline="2026-12-15",
    )
    follow_up = ledger.get(outcome.seq + 1)
    assert follow_up.kind == "follow-up"
    assert follow_up.body["outcome"] == outcome.entry_hash
    assert follow_up.body["entity"] == entity
    assert follow_up.body["due"] == "2026-12-15"
    assert follow_up.body["measure"] == cer.DEFAULT_FOLLOW_UP
    [open_one] = cer.open_follow_ups(ledger, today="2026-12-16")
    assert (open_one.entity_id, open_one.overdue, open_one.result) == (entity, True, "不合格")
    assert not cer.open_follow_ups(ledger, today="2026-12-15")[0].overdue
    with pytest.raises(cer.RuleError, match="before the inspection"):
        cer.close_follow_up(ledger, follow_up.entry_hash, closed_on="2026-11-30")
    cer.close_follow_up(ledger, follow_up.entry_hash, closed_on="2026-12-14", note="已整改到位")
    assert cer.open_follow_ups(ledger, today="2026-12-16") == []
    with pytest.raises(cer.AlreadyRecordedError, match="already closed"):
        cer.close_follow_up(ledger, follow_up.entry_hash, closed_on="2026-12-15")
    # A result without a problem creates no follow-up.
    quiet = cer.record_outcome(
        ledger,
        entry.entry_hash,
        result.tasks[4].entity_id,
        result="发现问题经责令已改正",
        inspected_on="2026-12-01",
    )
    assert ledger.head() == (quiet.seq, quiet.entry_hash)


def test_a_second_outcome_is_a_stated_correction(ledger: Ledger, county: County) -> None:
    entry, result = drawn(ledger, county, locked=True)
    entity = result.tasks[0].entity_id
    first = cer.record_outcome(
        ledger, entry.entry_hash, entity, result="未发现问题", inspected_on="2026-12-01"
    )
    with pytest.raises(cer.AlreadyRecordedError, match="needs a stated reason"):
        cer.record_outcome(
            ledger,
            entry.entry_hash,
            entity,
            result="不合格",
            inspected_on="2026-12-01",
            rectification_deadline="2026-12-20",
        )
    fixed = cer.record_outcome(
        ledger,
        entry.entry_hash,
        entity,
        result="不合格",
        inspected_on="2026-12-01",
        rectification_deadline="2026-12-20",
        correction="录入错误，检测报告显示不合格",
    )
    assert fixed.body["corrects"] == first.entry_hash
    rnd = cer.load_round(ledger, entry.entry_hash)
    assert rnd.outcomes_of(entry.entry_hash)[entity] == fixed
    [follow_up] = cer.open_follow_ups(ledger, today="2026-12-02")
    assert follow_up.seq == fixed.seq + 1
    # Corrected back to no problem: the follow-up of the corrected outcome is no longer open.
    cer.record_outcome(
        ledger,
        entry.entry_hash,
        entity,
        result="未发现问题",
        inspected_on="2026-12-01",
        correction="复检合格，原检测报告有误",
    )
    assert cer.open_follow_ups(ledger, today="2026-12-02") == []
    assert cer.audit_ledger(ledger) == []
    with pytest.raises(rc.InputError, match="nothing to correct"):
        cer.record_outcome(
            ledger,
            entry.entry_hash,
            result.tasks[1].entity_id,
            result="未发现问题",
            inspected_on="2026-12-01",
            correction="x",
        )


def test_recused_inspector_cannot_inspect(ledger: Ledger, county: County) -> None:
    entry, result = drawn(ledger, county, locked=True)
    entity = result.tasks[0].entity_id
    out, stays = result.tasks[0].team[:2]
    with pytest.raises(rc.InputError, match="reason for the recusal is empty"):
        cer.record_recusal(ledger, entry.entry_hash, entity_id=entity, inspector_id=out, reason=" ")
    with pytest.raises(cer.RuleError, match="themself"):
        cer.record_recusal(
            ledger,
            entry.entry_hash,
            entity_id=entity,
            inspector_id=out,
            reason="本人申请回避",
            substitute=out,
        )
    after = result.recuse(entity, out, "本人申请回避")
    assert after.teams is not None
    cer.record_recusal(
        ledger,
        entry.entry_hash,
        entity_id=entity,
        inspector_id=out,
        reason="本人申请回避",
        substitute=after.teams.substitutions[-1]["substitute"],
    )
    with pytest.raises(cer.RuleError, match=f"{out} were recused"):
        cer.record_outcome(
            ledger,
            entry.entry_hash,
            entity,
            result="未发现问题",
            inspected_on="2026-12-01",
            inspectors=[out, stays],
        )


def test_recusal_follows_a_drawn_team(ledger: Ledger, county: County) -> None:
    """When the draw recorded teams, the recused inspector is on it and is replaced."""
    commitment = commit(ledger, county)
    cer.reveal_seed(ledger, commitment.entry_hash, CONTRIBUTIONS)
    seed = rc.Seed.from_contributions(CONTRIBUTIONS)
    result = rc.draw(county.items, county.entities, county.inspectors, seed=seed, on=ON)
    record = result.record
    record["tasks"][0]["team"] = ["GC-INS-002", "GC-INS-003"]
    body = {
        "ceremony": cer.CEREMONY,
        "commitment": commitment.entry_hash,
        "seed_entry": ledger.get(2).entry_hash,
        "record": record,
        "record_sha256": cer.record_sha256(record),
        "redraw": False,
        "replaces": None,
        "reason": None,
    }
    draw = ledger.append("draw", body)
    entity = record["tasks"][0]["entity"]
    with pytest.raises(cer.RuleError, match="not on the team"):
        cer.record_recusal(
            ledger, draw.entry_hash, entity_id=entity, inspector_id="GC-INS-009", reason="r"
        )
    with pytest.raises(cer.RuleError, match="already on the team"):
        cer.record_recusal(
            ledger,
            draw.entry_hash,
            entity_id=entity,
            inspector_id="GC-INS-003",
            reason="r",
            substitute="GC-INS-002",
        )
    cer.record_recusal(
        ledger,
        draw.entry_hash,
        entity_id=entity,
        inspector_id="GC-INS-003",
        reason="r",
        substitute="GC-INS-005",
    )
    rnd = cer.load_round(ledger, draw.entry_hash)
    assert rnd.team(draw.entry_hash, entity) == ("GC-INS-002", "GC-INS-005")


# -- audit and replay ---------------------------------------------------------------------------


def test_audit_catches_steps_that_bypass_the_ceremony(ledger: Ledger, county: County) -> None:
    entry, result = drawn(ledger, county)
    # A draw appended directly, without the ceremony, and a seed for no commitment.
    ledger.append("draw", {"record": result.record})
    ledger.append(
        "seed",
        {"ceremony": cer.CEREMONY, "commitment": "cd" * 32, "seed": {"text": "x"}},
    )
    # A second seed and a second, reasonless draw for the same commitment, appended raw.
    seed = ledger.get(2)
    ledger.append("seed", seed.body)
    ledger.append("draw", {**entry.body, "redraw": False})
    problems = cer.audit_ledger(ledger)
    assert [(p.seq, p.kind) for p in problems] == [
        (4, "draw"),
        (5, "seed"),
        (6, "seed"),
        (7, "draw"),
    ]
    assert "not recorded through the ceremony" in problems[0].message
    assert "no commitment" in problems[1].message
    assert "exactly one seed" in problems[2].message
    assert "already drawn" in problems[3].message
    assert str(problems[0]).startswith("seq 4 (draw): ")


def test_audit_reports_a_seed_recorded_before_its_commitment(
    ledger: Ledger, county: County, tmp_path: Path
) -> None:
    """A seed names its commitment by hash, and that hash covers every entry before the
    commitment: a seed placed before its commitment can never name it, and is flagged."""
    with Ledger.open(tmp_path / "other.db") as other:
        commitment = commit(other, county)
        seed = cer.reveal_seed(other, commitment.entry_hash, CONTRIBUTIONS)
    ledger.append("seed", seed.body)  # the seed first ...
    ledger.append("commitment", commitment.body)  # ... then a commitment with the same body
    problems = cer.audit_ledger(ledger)
    assert [(p.seq, p.kind) for p in problems] == [(1, "seed")]
    assert "must follow the commitment" in problems[0].message


def test_replay_ledger_finds_a_forged_draw(ledger: Ledger, county: County) -> None:
    entry, result = drawn(ledger, county)
    record = result.record
    forged = dict(record["draws"][0])
    others = [e.id for e in county.entities if e.category == "取水许可"]
    forged["selected"] = sorted(
        [*forged["selected"][1:], next(i for i in others if i not in forged["selected"])]
    )
    record["draws"][0] = forged
    body = {
        **entry.body,
        "record": record,
        "record_sha256": cer.record_sha256(record),
        "redraw": True,
        "replaces": entry.entry_hash,
        "reason": "重新抽取",
    }
    forged_entry = ledger.append("draw", body)  # passes every rule that needs no register
    assert cer.audit_ledger(ledger) == []
    replays = cer.replay_ledger(ledger, county.entities, county.inspectors)
    assert [(r.seq, r.status) for r in replays] == [(3, "ok"), (forged_entry.seq, "failed")]
    assert not replays[1].ok
    assert "selection differs" in replays[1].differences[0]
    # Registers the draws did not use: skipped, not failed.
    other = rc.EntityPool.from_records(rewrite_entity(county.entities.to_records(), 0, name="改名"))
    skipped = cer.replay_ledger(ledger, other, county.inspectors)
    assert {r.status for r in skipped} == {"skipped"}
    no_inspectors = cer.replay_ledger(ledger, county.entities)
    assert "none was given" in no_inspectors[0].differences[0]


# -- the next round ---------------------------------------------------------------------------


def test_apply_outcomes_updates_risk_facts_by_the_documented_rule() -> None:
    records = [
        {"id": "E1", "name": "甲", "verified_complaints": 0, "blacklisted": False},
        {"id": "E2", "name": "乙", "verified_complaints": "2", "blacklisted": "false"},
        {"id": "E3", "name": "丙"},
        {"id": "E4", "name": "丁", "serious_violation": False, "credit_class": "A"},
        {"id": "E5", "name": "戊"},
        {"id": "E6", "name": "己", "verified_complaints": 1},
    ]
    snapshot = [dict(r) for r in records]
    outcomes = [
        {"entity": "E1", "result": "不合格"},
        {"entity": "E2", "result": "发现问题待后续处理"},
        {"entity": "E3", "result": "不配合检查情节严重"},
        {"entity": "E4", "result": "通过登记的住所无法联系"},
        {"entity": "E5", "result": "注销・吊销・撤销・迁出"},
        {"entity": "E6", "result": "不合格"},
        {"entity": "E6", "result": "未发现问题"},  # a correction: the last one counts
    ]
    updated = cer.apply_outcomes(records, outcomes)
    assert records == snapshot  # pure: the input is untouched
    assert updated[0]["verified_complaints"] == 1
    assert updated[1]["verified_complaints"] == 3
    assert updated[2]["blacklisted"] is True
    assert updated[3]["blacklisted"] is True
    assert updated[3]["serious_violation"] is False
    assert updated[3]["credit_class"] == "A"
    assert updated[4] == records[4]
    assert updated[5] == records[5]
    assert [r["id"] for r in cer.apply_outcomes(records, outcomes, drop_closed=True)] == [
        "E1",
        "E2",
        "E3",
        "E4",
        "E6",
    ]
    pool = rc.EntityPool.from_records(updated)
    assert pool["E3"].blacklisted
    assert pool["E1"].verified_complaints == 1
    with pytest.raises(rc.InputError, match="not in the register: E9"):
        cer.apply_outcomes(records, [{"entity": "E9", "result": "不合格"}])
    with pytest.raises(cer.UnknownResultError):
        cer.apply_outcomes(records, [{"entity": "E1", "result": "良好"}])


def test_apply_outcomes_from_the_ledger(ledger: Ledger, county: County, tmp_path: Path) -> None:
    entry, result = drawn(ledger, county, locked=True)
    entity = result.tasks[0].entity_id
    cer.record_outcome(
        ledger, entry.entry_hash, entity, result="不配合检查情节严重", inspected_on="2026-12-01"
    )
    outcomes = ledger.find("outcome")
    updated = rc.EntityPool.from_records(cer.apply_outcomes(county.entities.to_records(), outcomes))
    assert updated[entity].blacklisted
    assert updated.digest != county.entities.digest
    # The sample register keeps its free columns through the round trip.
    with open(sample_path("entities.csv"), encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert set(header) - set(updated[entity].to_record()) <= {"industry", "scale"}
    assert dict(updated[entity].attributes) == dict(county.entities[entity].attributes)


def test_the_how_to_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = Path(__file__).resolve().parent.parent / "docs" / "ceremony.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], str(doc), "exec"), namespace)
    assert sorted(p.name for p in (tmp_path / "public").iterdir()) == [
        "notice.csv",
        "notice.html",
        "notice.json",
    ]
    assert len(namespace["next_round"]) == len(namespace["entities"])
    with Ledger.open(tmp_path / "randcheck.db", readonly=True) as ledger:
        assert [e.kind for e in ledger.entries()][-2:] == ["follow-up", "publication"]


def test_substitutes_are_drawn_from_the_stream_and_replay(ledger: Ledger, county: County) -> None:
    entry, result = drawn(ledger, county, locked=True)
    task = result.tasks[0]
    first = cer.draw_substitute(
        ledger,
        entry.entry_hash,
        entities=county.entities,
        inspectors=county.inspectors,
        entity_id=task.entity_id,
        inspector_id=task.team[0],
        reason="本人申请回避",
    )
    expected = result.recuse(task.entity_id, task.team[0], "本人申请回避")
    assert first.body["substitute"] == expected.teams.substitutions[-1]["substitute"]
    assert first.body["substitution"]["stream"] == ["substitute", task.entity_id, task.team[0], "0"]
    # The substitute is recused in turn: the second draw builds on the first.
    second = cer.draw_substitute(
        ledger,
        entry.entry_hash,
        entities=county.entities,
        inspectors=county.inspectors,
        entity_id=task.entity_id,
        inspector_id=first.body["substitute"],
        reason="生病",
    )
    twice = expected.recuse(task.entity_id, first.body["substitute"], "生病")
    assert second.body["substitute"] == twice.teams.substitutions[-1]["substitute"]
    rnd = cer.load_round(ledger, entry.entry_hash)
    assert rnd.team(entry.entry_hash, task.entity_id) == twice.task(task.entity_id).team
    assert cer.audit_ledger(ledger) == []


def test_a_rule_checked_on_a_stale_read_cannot_land(ledger: Ledger, county: County) -> None:
    """Two operators reveal a seed at once: the second is refused, not appended."""
    from randcheck.ledger import LedgerConflictError

    commitment = commit(ledger, county)
    stale = cer._State.load(ledger)  # operator B reads the ledger ...
    cer.reveal_seed(ledger, commitment.entry_hash, CONTRIBUTIONS)  # ... A reveals first
    body = {
        "ceremony": cer.CEREMONY,
        "commitment": commitment.entry_hash,
        "seed": rc.Seed.from_contributions({"乙": "1"}).material(),
        "seed_key": rc.Seed.from_contributions({"乙": "1"}).key.hex(),
    }
    with pytest.raises(LedgerConflictError):
        cer._append(ledger, "seed", body, stale)  # B's check passed on the stale read
    assert [e.kind for e in ledger.entries()] == ["commitment", "seed"]
    assert cer.audit_ledger(ledger) == []
