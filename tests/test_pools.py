"""Pools: canonical order, digests, lookups and clear errors on bad records."""

from __future__ import annotations

import random
import unicodedata

import numpy as np
import pytest

import randcheck as rc
from randcheck.errors import DuplicateIdError, InputError

from .conftest import make_entities


def test_canonical_order_and_row_order_independence() -> None:
    rows = make_entities(50)
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    a = rc.EntityPool.from_records(rows)
    b = rc.EntityPool.from_records(shuffled)
    assert a.ids.tolist() == sorted(r["id"] for r in rows)  # type: ignore[type-var]
    assert a.digest == b.digest
    assert a == b


def test_digest_changes_with_any_field() -> None:
    rows = make_entities(10)
    base = rc.EntityPool.from_records(rows).digest
    for field, value in [
        ("name", "改名"),
        ("credit_class", "A"),
        ("blacklisted", True),
        ("verified_complaints", 9),
        ("region", "泉吉乡"),
    ]:
        changed = [dict(r) for r in rows]
        changed[3][field] = value
        assert rc.EntityPool.from_records(changed).digest != base, field


def test_ids_are_nfc_and_trimmed() -> None:
    decomposed = unicodedata.normalize("NFD", "站é-1")
    pool = rc.EntityPool.from_records([{"id": f"  {decomposed} "}])
    assert pool.ids.tolist() == ["站é-1"]
    assert "站é-1" in pool
    assert pool[decomposed].id == "站é-1"


def test_duplicates_are_named() -> None:
    rows = [{"id": "A"}, {"id": "B"}, {"id": "A"}]
    with pytest.raises(DuplicateIdError, match=r"'A'.*rows 2, 4") as info:
        rc.EntityPool.from_records(rows, source="entities.csv", first_row=2)
    assert info.value.source == "entities.csv"
    assert info.value.id == "A"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("credit_class", "E", "credit class"),
        ("blacklisted", "maybe", "yes/no"),
        ("verified_complaints", "-1", "zero or more"),
        ("verified_complaints", "two", "whole number"),
    ],
)
def test_bad_values_name_file_row_column_id(field: str, value: str, message: str) -> None:
    rows = make_entities(5)
    rows[2][field] = value
    with pytest.raises(InputError, match=message) as info:
        rc.EntityPool.from_records(rows, source="e.csv", first_row=2)
    err = info.value
    assert (err.source, err.row, err.column, err.id) == ("e.csv", 4, field, "E0002")
    assert str(err).startswith("e.csv, row 4, column")


@pytest.mark.parametrize("bad", [None, "", "  ", 1.5, "a\x00b"])
def test_bad_ids(bad: object) -> None:
    with pytest.raises(InputError) as info:
        rc.EntityPool.from_records([{"id": "ok"}, {"id": bad}], first_row=2)
    assert info.value.row == 3
    assert info.value.column == "id"


def test_from_arrays_matches_from_records() -> None:
    rows = make_entities(40)
    a = rc.EntityPool.from_records(rows)
    b = rc.EntityPool.from_arrays(
        [r["id"] for r in rows],
        names=[r["name"] for r in rows],
        category=[r["category"] for r in rows],
        station=[r["station"] for r in rows],
        region=[r["region"] for r in rows],
        credit_class=[r["credit_class"] for r in rows],
        blacklisted=[r["blacklisted"] for r in rows],
        verified_complaints=[r["verified_complaints"] for r in rows],
        serious_violation=[r["serious_violation"] for r in rows],
    )
    assert a.digest == b.digest


def test_from_arrays_errors() -> None:
    with pytest.raises(InputError, match="credit class") as info:
        rc.EntityPool.from_arrays(["a", "b"], credit_class=["A", "Z"])
    assert info.value.row == 2
    with pytest.raises(InputError, match="trimmed"):
        rc.EntityPool.from_arrays(["a", " b"])
    with pytest.raises(InputError, match="2 values for 3 ids"):
        rc.EntityPool.from_arrays(["a", "b", "c"], blacklisted=[True, False])
    with pytest.raises(DuplicateIdError):
        rc.EntityPool.from_arrays(np.array(["x", "y", "x"]))


def test_lookup_and_iteration(entities: rc.EntityPool) -> None:
    e = entities["E0023"]
    assert e.blacklisted
    assert e.category == "重点排污单位"
    assert [x.id for x in entities][:3] == ["E0000", "E0001", "E0002"]
    assert "nope" not in entities
    with pytest.raises(KeyError, match="nope"):
        entities["nope"]
    assert len(entities.take(entities.mask(categories=["取水许可"]))) == 40


def test_attributes_are_kept() -> None:
    pool = rc.EntityPool.from_records([{"id": "a", "industry": "畜牧"}, {"id": "b"}])
    assert pool["a"].attribute("industry") == "畜牧"
    assert pool["b"].attribute("industry") is None
    assert pool.column("industry").tolist() == ["畜牧", None]


def test_covered_by(entities: rc.EntityPool, items: list[rc.Item]) -> None:
    by_code = {i.code: i for i in items}
    covered = entities.covered_by(by_code["HJ-02"])
    assert set(entities.column("category")[covered]) == {"重点排污单位", "一般排污单位"}
    station_only = rc.Item(code="X", name="x", station="水利工作站", legal_basis="法")
    assert len(entities.covered_by(station_only)) == 40


def test_repr(entities: rc.EntityPool) -> None:
    assert repr(entities).startswith("<EntityPool 120 entities, digest ")


def test_inspector_pool() -> None:
    pool = rc.InspectorPool.from_records(
        [
            {
                "id": "I2",
                "name": "李四",
                "certificate_no": "青刚执字2号",
                "certificate_valid_until": "2027-01-01",
                "specialties": "水资源;环评",
            },
            {"id": "I1", "name": "张三", "active": "否"},
        ]
    )
    assert pool.ids == ("I1", "I2")
    assert pool["I2"].specialties == ("水资源", "环评")
    assert not pool["I1"].active
    with pytest.raises(InputError) as info:
        rc.InspectorPool.from_records(
            [{"id": "I1", "certificate_valid_until": "2027-13-01"}], source="i.csv", first_row=2
        )
    assert (info.value.row, info.value.column) == (2, "certificate_valid_until")
    with pytest.raises(DuplicateIdError):
        rc.InspectorPool.from_records([{"id": "I1"}, {"id": "I1"}])
