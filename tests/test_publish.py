"""The public notice: no private fields, the 20-working-day deadline, escaping, atomic writes."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import randcheck as rc
from randcheck import ceremony as cer
from randcheck import publish as pub
from randcheck.cli import sample_path
from randcheck.ledger import Entry, Ledger
from randcheck.loaders import load_entities, load_inspectors, load_items

from .conftest import make_entities, make_items

ON = "2026-11-26"
CONTRIBUTIONS = {"观察员甲": "3821", "observer B": "0042"}
REASON = "近亲属持有该单位股份"
NOTE = "内部备注：举报人为隔壁企业"
#: Field names of the registers that must never reach a notice.
PRIVATE_NAMES = (
    "credit_class",
    "blacklisted",
    "verified_complaints",
    "serious_violation",
    "attributes",
    "class_weights",
    "complaint",
)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# -- working days ---------------------------------------------------------------------------


def test_twenty_working_days_across_weekends() -> None:
    # Wednesday: 20 working days later is the Wednesday four weeks on, not 20 calendar days.
    assert pub.publication_due(d("2026-12-02")) == d("2026-12-30")
    # Saturday and Sunday do not count; the count starts on Monday.
    assert pub.publication_due(d("2026-12-05")) == d("2027-01-01")
    assert pub.publication_due(d("2026-12-06")) == d("2027-01-01")
    # Friday: the next working day is Monday.
    assert pub.add_working_days(d("2026-12-04"), 1) == d("2026-12-07")
    assert pub.add_working_days(d("2026-12-04"), 0) == d("2026-12-04")
    assert pub.working_days_between(d("2026-12-02"), d("2026-12-30")) == 20
    assert pub.working_days_between(d("2026-12-02"), d("2027-01-02")) == 22
    assert pub.working_days_between(d("2026-12-05"), d("2026-12-06")) == 0


def test_holidays_and_makeup_workdays_only_when_given() -> None:
    holidays = {d("2027-01-01")}
    assert pub.publication_due(d("2026-12-05"), holidays=holidays) == d("2027-01-04")
    # A weekend made a working day (调休) counts.
    assert pub.publication_due(
        d("2026-12-05"), holidays=holidays, makeup_workdays={d("2026-12-27")}
    ) == d("2026-12-31")
    assert pub.add_working_days(d("2026-12-25"), 1, makeup_workdays={d("2026-12-26")}) == d(
        "2026-12-26"
    )
    assert not pub.is_working_day(d("2027-01-01"), holidays=holidays)
    assert pub.is_working_day(d("2027-01-01"))
    with pytest.raises(ValueError, match=">= 0"):
        pub.add_working_days(d("2026-12-25"), -1)


# -- a round on the sample county ------------------------------------------------------------


@pytest.fixture(scope="module")
def registers() -> dict[str, Any]:
    return {
        "items": load_items(sample_path("items.csv")),
        "entities": load_entities(sample_path("entities.csv")),
        "inspectors": load_inspectors(sample_path("inspectors.csv")),
    }


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "randcheck.db") as opened:
        yield opened


def run_round(ledger: Ledger, registers: dict[str, Any]) -> tuple[Entry, rc.DrawResult]:
    commitment = cer.commit(
        ledger,
        items=registers["items"],
        entities=registers["entities"],
        inspectors=registers["inspectors"],
        on=ON,
        operator="张三",
        observers=list(CONTRIBUTIONS),
    )
    cer.reveal_seed(ledger, commitment.entry_hash, CONTRIBUTIONS)
    result, draw = cer.draw_committed(
        ledger,
        commitment.entry_hash,
        items=registers["items"],
        entities=registers["entities"],
        inspectors=registers["inspectors"],
    )
    cer.lock(ledger, draw.entry_hash)
    first, second, third = (t.entity_id for t in result.tasks[:3])
    cer.draw_substitute(
        ledger,
        draw.entry_hash,
        entities=registers["entities"],
        inspectors=registers["inspectors"],
        entity_id=first,
        inspector_id=result.tasks[0].team[0],
        reason=REASON,
    )
    cer.record_outcome(
        ledger,
        draw.entry_hash,
        first,
        result="未发现问题",
        inspected_on="2026-12-02",
        inspectors=cer.load_round(ledger, draw.entry_hash).team(draw.entry_hash, first),
        note=NOTE,
    )
    cer.record_outcome(
        ledger,
        draw.entry_hash,
        second,
        result="不合格",
        inspected_on="2026-12-05",
        rectification_deadline="2027-01-15",
        follow_up="责令限期整改",
    )
    cer.record_outcome(
        ledger, draw.entry_hash, third, result="通过登记的住所无法联系", inspected_on="2026-12-03"
    )
    return draw, result


def test_notice_has_the_results_and_no_private_field(
    ledger: Ledger, registers: dict[str, Any], tmp_path: Path
) -> None:
    draw, result = run_round(ledger, registers)
    notice = pub.notice(
        ledger,
        registers["entities"],
        registers["inspectors"],
        draw=draw.entry_hash[:10],
        today="2026-12-20",
    )
    files = pub.write_notice(notice, tmp_path / "out")
    assert set(files) == {"notice.csv", "notice.json", "notice.html"}
    texts = {}
    for name, digest in files.items():
        data = (tmp_path / "out" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest
        texts[name] = data.decode("utf-8-sig")

    first, second, third = (t.entity_id for t in result.tasks[:3])
    entities = registers["entities"]
    inspectors = registers["inspectors"]
    team = [
        inspectors[i] for i in cer.load_round(ledger, draw.entry_hash).team(draw.entry_hash, first)
    ]
    recused = result.tasks[0].team[0]
    for name, text in texts.items():
        for private in (*PRIVATE_NAMES, REASON, NOTE):
            assert private not in text, (name, private)
        # The results and who inspected are public ...
        assert entities[first].name in text
        assert team[0].name in text
        assert team[0].certificate_no in text
        assert "不合格" in text
        assert "2027-01-15" in text
        # ... and so is what anyone needs to verify the draw.
        assert draw.entry_hash in text, name
    assert recused not in texts["notice.html"]  # inspector ids are not published

    data = json.loads(texts["notice.json"])
    # No free register column (the sample has industry and scale) is a field of the notice.
    keys: set[str] = set()

    def collect(value: object) -> None:
        if isinstance(value, dict):
            keys.update(value)
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(data)
    assert {"industry", "scale", "region", "category"}.isdisjoint(keys)
    assert data["notice"] == pub.NOTICE_FORMAT
    assert data["published_on"] == "2026-12-20"
    assert data["draw_on"] == ON
    verification = data["verification"]
    assert verification["draw_entry"] == draw.entry_hash
    assert verification["commitment_entry"] == draw.body["commitment"]
    assert verification["seed_entry"] == draw.body["seed_entry"]
    assert verification["record_sha256"] == cer.record_sha256(result.record)
    assert verification["seed"] == {"contributions": CONTRIBUTIONS, "beacon": None}
    assert verification["seed_key"] == result.seed.key.hex()
    assert rc.Seed.from_material(verification["seed"]).key.hex() == verification["seed_key"]
    assert "3821" in texts["notice.html"]
    rows = {r["entity_id"]: r for r in data["results"]}
    assert len(rows) == len(result.tasks)
    assert rows[first]["inspectors"] == [
        {"name": i.name, "certificate_no": i.certificate_no} for i in team
    ]
    assert rows[second]["result"] == "不合格"
    assert rows[second]["follow_up"] == "责令限期整改"
    assert rows[second]["publish_by"] == "2027-01-01"
    assert rows[third]["result"] == "通过登记的住所无法联系"
    assert data["items"][0]["code"] == min(i.code for i in registers["items"])
    assert {"policy", "minimum"}.isdisjoint(data["items"][0])
    # Entities still to be inspected are listed as pending, with a warning each.
    pending = [w for w in data["warnings"] if "no result recorded yet" in w]
    assert len(pending) == len(result.tasks) - 3
    assert not [w for w in data["warnings"] if "working days" in w]

    table = list(csv.reader(io.StringIO(texts["notice.csv"])))
    assert table[0][0] == "检查对象编号"
    assert not {"industry", "scale", "行业", "规模"} & set(table[0])
    assert len(table) == 1 + len(result.tasks)
    assert (tmp_path / "out" / "notice.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_late_results_are_warned_after_twenty_working_days(
    ledger: Ledger, registers: dict[str, Any]
) -> None:
    draw, result = run_round(ledger, registers)
    first, second = result.tasks[0].entity_id, result.tasks[1].entity_id

    def late(today: str, **kwargs: Any) -> dict[str, str]:
        built = pub.notice(
            ledger,
            registers["entities"],
            registers["inspectors"],
            draw=draw.entry_hash,
            today=today,
            **kwargs,
        )
        assert {r.entity_id for r in built.rows if r.late} == {
            w.split()[0] for w in built.warnings if "working days" in w
        }
        return {w.split()[0]: w for w in built.warnings if "working days" in w}

    # first: inspected Wednesday 2026-12-02, due Wednesday 2026-12-30.
    # second: inspected Saturday 2026-12-05, due Friday 2027-01-01.
    assert late("2026-12-30") == {}
    warned = late("2026-12-31")
    assert list(warned) == [first]
    assert "due by 2026-12-30" in warned[first]
    assert "21 working days later" in warned[first]
    assert set(late("2027-01-02")) == {first, second, result.tasks[2].entity_id}
    # A public holiday is a working day unless it is passed.
    assert late("2026-12-31", holidays={d("2026-12-25")}) == {}


def test_notice_of_a_replaced_draw_is_refused(ledger: Ledger, registers: dict[str, Any]) -> None:
    commitment = cer.commit(
        ledger, items=registers["items"], entities=registers["entities"], on=ON, operator="张三"
    )
    cer.reveal_seed(ledger, commitment.entry_hash, CONTRIBUTIONS)
    kwargs: dict[str, Any] = {"items": registers["items"], "entities": registers["entities"]}
    _, first = cer.draw_committed(ledger, commitment.entry_hash, **kwargs)
    _, second = cer.draw_committed(ledger, commitment.entry_hash, reason="断电", **kwargs)
    with pytest.raises(cer.CeremonyError, match="replaced by the redraw"):
        pub.notice(ledger, registers["entities"], draw=first.entry_hash, today="2026-12-01")
    built = pub.notice(ledger, registers["entities"], draw=second.entry_hash, today="2026-12-01")
    assert built.verification["redraw"] is True
    assert "the draw is not locked yet (randcheck lock)" in built.warnings
    with pytest.raises(cer.UnknownEntryError):
        pub.notice(ledger, registers["entities"], draw="ab" * 32, today="2026-12-01")


# -- escaping and atomic writes -----------------------------------------------------------------


def small_round(name: str) -> tuple[Entry, rc.EntityPool, rc.DrawResult]:
    records = make_entities(30)
    for record in records:
        record["name"] = name
    pool = rc.EntityPool.from_records(records)
    result = rc.draw(make_items(), pool, seed="4711", on=ON)
    body = {
        "ceremony": cer.CEREMONY,
        "commitment": "c" * 64,
        "seed_entry": "d" * 64,
        "record": result.record,
        "record_sha256": cer.record_sha256(result.record),
        "redraw": False,
    }
    entry = Entry(seq=3, kind="draw", body=body, prev_hash="e" * 64, entry_hash="f" * 64)
    return entry, pool, result


def test_every_user_string_is_escaped_in_html(tmp_path: Path) -> None:
    evil = '<script>alert("x")</script> & <b>Co</b>'
    entry, pool, result = small_round(evil)
    outcomes = [
        {
            "draw": entry.entry_hash,
            "entity": result.tasks[0].entity_id,
            "result": "发现问题待后续处理",
            "inspected_on": "2026-12-01",
            "rectification_deadline": "2026-12-20",
            "follow_up": '<img src=x onerror="alert(1)">',
        }
    ]
    built = pub.notice(entry, pool, None, outcomes, today="2026-12-02", title="<i>公示</i>")
    built.write_html(tmp_path / "n.html")
    page = (tmp_path / "n.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "<img" not in page
    assert "<i>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;Co&lt;/b&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    assert "src=" not in page.replace("&lt;img src=x", "")  # nothing loaded from elsewhere


def test_csv_cells_cannot_become_formulas(tmp_path: Path) -> None:
    entry, pool, _ = small_round('=HYPERLINK("http://x")')
    built = pub.notice(entry, pool, today="2026-12-02")
    built.write_csv(tmp_path / "n.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "n.csv").read_text(encoding="utf-8-sig"))))
    assert all(row[1].startswith("'=") for row in rows[1:])


def test_notice_from_a_draw_entry_checks_its_outcomes() -> None:
    entry, pool, result = small_round("单位")
    other = next(e.id for e in pool if e.id not in {t.entity_id for t in result.tasks})
    with pytest.raises(pub.PublishError, match=f"did not draw: {other}"):
        pub.notice(entry, pool, outcomes=[{"entity": other, "result": "未发现问题"}], today=ON)
    lock = Entry(seq=4, kind="lock", body={}, prev_hash="f" * 64, entry_hash="1" * 64)
    with pytest.raises(pub.PublishError, match="not a draw"):
        pub.notice(lock, pool, today=ON)


def test_a_failing_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry, pool, _ = small_round("单位")
    built = pub.notice(entry, pool, today="2026-12-02")
    target = tmp_path / "notice.json"

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pub.os, "fsync", broken_fsync)
    with pytest.raises(pub.PublishError, match="No space left"):
        built.write_json(target)
    assert list(tmp_path.iterdir()) == []

    monkeypatch.undo()
    target.write_text("the old notice", encoding="utf-8")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(pub.os, "replace", broken_replace)
    with pytest.raises(pub.PublishError, match="Input/output error"):
        built.write_html(target)
    assert target.read_text(encoding="utf-8") == "the old notice"
    assert [p.name for p in tmp_path.iterdir()] == ["notice.json"]

    monkeypatch.undo()
    digest = built.write_json(target)
    assert json.loads(target.read_text(encoding="utf-8"))["notice"] == pub.NOTICE_FORMAT
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest
    assert os.stat(target).st_mode & 0o777 == 0o644
