"""Notebook views (randcheck._repr): escaped, self-contained HTML and table exports."""

from __future__ import annotations

import sys
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path

import pytest

import randcheck as rc
from randcheck import _repr
from randcheck.ledger import Ledger

EVIL = "<script>alert('x')</script> & \"引号\""
VOID = {"br", "hr", "img", "meta", "link", "input"}


class _Checker(HTMLParser):
    """Collects text and checks that every tag is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.pre: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1]}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.stack and self.stack[-1] == "pre":
            self.pre.append(data)


def parse(fragment: str) -> _Checker:
    checker = _Checker()
    checker.feed(fragment)
    checker.close()
    assert not checker.stack, f"unclosed tags {checker.stack}"
    assert "script" not in checker.tags
    return checker


@pytest.fixture
def evil_pool() -> rc.EntityPool:
    rows = [
        {
            "id": f"E{i:02d}",
            "name": EVIL if i == 3 else f"单位{i}",
            "category": "取水许可",
            "station": "水利工作站",
            "credit_class": "ABCD"[i % 4],
            "blacklisted": i == 5,
            "industry": "农村供水" if i % 2 else None,
        }
        for i in range(25)
    ]
    return rc.EntityPool.from_records(rows, source="<名录>.csv")


@pytest.fixture
def evil_draw(evil_pool: rc.EntityPool) -> rc.DrawResult:
    item = rc.Item(
        code="SL-01",
        name=EVIL,
        station="水利工作站",
        legal_basis="《水法》",
        categories=["取水许可"],
        ratio="0.5",
        policy=rc.RiskWeighted(certain=["blacklisted"]),
    )
    return rc.draw([item], evil_pool, seed="<b>第1轮</b>", on="2026-11-26")


def test_entity_pool_html(evil_pool: rc.EntityPool) -> None:
    fragment = _repr.entity_pool_html(evil_pool)
    checker = parse(fragment)
    assert EVIL in "".join(checker.text)  # shown, as text
    assert "<script>" not in fragment
    assert "&lt;script&gt;" in fragment
    assert "".join(checker.pre) == repr(evil_pool)  # the text fallback
    assert "<style>" in fragment
    assert 'class="rc-wrap" style="display:none"' in fragment
    assert "EntityPool · 25 entities" in fragment
    assert "… 15 more entities" in fragment
    assert fragment.count("<tr>") == 1 + 10
    assert "&lt;名录&gt;.csv" in fragment
    assert "blacklisted 1" in fragment


def test_rows_option_and_empty_pool(evil_pool: rc.EntityPool) -> None:
    assert _repr.entity_pool_html(evil_pool, rows=30).count("<tr>") == 1 + 25
    empty = rc.EntityPool.from_records([])
    fragment = _repr.entity_pool_html(empty)
    parse(fragment)
    assert "0 entities" in fragment
    assert "<table>" not in fragment


def test_policy_html() -> None:
    weighted = _repr.policy_html(rc.RiskWeighted(certain=["blacklisted", "credit_class_D"]))
    parse(weighted)
    assert "Policy · risk-weighted" in weighted
    assert "unclassified 2, A 1, B 2, C 4, D 8" in weighted
    assert "blacklisted, credit_class_D" in weighted
    plain = _repr.policy_html(rc.Proportional())
    parse(plain)
    assert "Policy · proportional" in plain
    assert "Equal probability" in plain
    assert "<table>" not in plain


def test_draw_result_html(evil_draw: rc.DrawResult) -> None:
    fragment = _repr.draw_result_html(evil_draw)
    checker = parse(fragment)
    text = "".join(checker.text)
    assert EVIL in text
    assert "<b>" not in fragment
    assert "Seed.from_text('<b>第1轮</b>')" in text
    assert "".join(checker.pre) == repr(evil_draw)
    assert "DrawResult · 1 items, 13 selections" in fragment
    assert "risk-weighted" in fragment
    assert "13 tasks (one visit per entity; 0 cover several items)" in text
    assert "… 3 more tasks" in fragment


def test_draw_result_html_of_the_sample_county() -> None:
    from randcheck.testing.pytest_plugin import load_sample_county

    county = load_sample_county()
    result = rc.draw(
        county.items, county.entities, county.inspectors, seed=county.seed, on=county.on
    )
    fragment = _repr.draw_result_html(result)
    parse(fragment)
    for item in county.items:
        assert f"<td>{item.code}</td>" in fragment
    assert "inspector pool 40 inspectors" in fragment
    assert f"{len(result.tasks):,} tasks" in fragment


def test_ledger_html(tmp_path: Path) -> None:
    path = tmp_path / "账本<1>.db"
    with Ledger.open(path) as ledger:
        for k in range(12):
            ledger.append("commitment" if k == 0 else "outcome", {"note": EVIL, "k": k})
        fragment = _repr.ledger_html(ledger)
        _, head = ledger.head()
    checker = parse(fragment)
    assert "<script>alert('x')</script>" in "".join(checker.text)
    assert "<script>" not in fragment
    assert "Ledger · 12 entries" in fragment
    assert head in fragment
    assert "… 2 more entries" in fragment
    assert "账本&lt;1&gt;.db" in fragment
    assert "".join(checker.pre).startswith("<Ledger ")
    closed = _repr.ledger_html(ledger)
    parse(closed)
    assert "closed" in closed


def test_pool_to_records_flattens_attributes(evil_pool: rc.EntityPool) -> None:
    records = _repr.pool_to_records(evil_pool)
    assert len(records) == 25
    assert records[1]["industry"] == "农村供水"
    assert records[2]["industry"] is None
    assert "attributes" not in records[0]
    assert rc.EntityPool.from_records(records).digest == evil_pool.digest


def test_result_to_records(evil_draw: rc.DrawResult) -> None:
    records = _repr.result_to_records(evil_draw)
    assert [r["entity"] for r in records] == list(evil_draw.selected("SL-01"))
    stated = evil_draw.inclusion_probabilities("SL-01")
    design = evil_draw.design("SL-01")
    for row in records:
        assert row["pi"] == stated[row["entity"]]
        assert Fraction(row["pi_exact"]) * design.denominator in set(design.numerators.tolist())
        assert row["covered"] == 25
        assert row["n"] == 13
        assert row["task_items"] == ["SL-01"]
    certain = [r for r in records if r["certain"]]
    assert "E05" in [r["entity"] for r in certain]  # blacklisted: certain
    assert {r["pi_exact"] for r in certain} == {"1"}
    assert {r["pi"] for r in certain} == {1.0}


def test_to_pandas(evil_pool: rc.EntityPool, evil_draw: rc.DrawResult) -> None:
    pd = pytest.importorskip("pandas")
    frame = _repr.pool_to_pandas(evil_pool)
    assert isinstance(frame, pd.DataFrame)
    assert frame.shape == (25, 10)
    assert list(frame.columns)[-1] == "industry"
    selections = _repr.result_to_pandas(evil_draw)
    assert selections.shape == (13, 15)
    assert selections["pi"].sum() == pytest.approx(
        sum(r["pi"] for r in _repr.result_to_records(evil_draw))
    )
    empty = _repr.result_to_pandas(rc.draw([], evil_pool, seed="x"))
    assert list(empty.columns) == list(_repr._RESULT_COLUMNS)


def test_to_pandas_without_pandas(
    monkeypatch: pytest.MonkeyPatch, evil_pool: rc.EntityPool
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'randcheck\[pandas\]'"):
        _repr.pool_to_pandas(evil_pool)


def test_ledger_to_records_and_pandas(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    from randcheck.ledger import Ledger

    with Ledger.open(tmp_path / "l.db") as ledger:
        ledger.append("commitment", {"on": "2026-11-26", "operator": "李明"})
        ledger.append("seed", {"contributions": {"王芳": "3821"}})
        records = ledger.to_records()
        frame = ledger.to_pandas()
    assert [r["kind"] for r in records] == ["commitment", "seed"]
    assert records[1]["prev_hash"] == records[0]["entry_hash"]
    assert '"王芳":"3821"' in records[1]["body"]
    assert isinstance(frame, pd.DataFrame)
    assert frame["seq"].tolist() == [1, 2]
