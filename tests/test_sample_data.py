"""Checks of the sample county shipped in ``randcheck/data``."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import randcheck.uscc
from randcheck.loaders.columns import FIELDS
from randcheck.uscc import is_legacy_registration_number, is_valid_uscc, uscc_valid_mask

DATA_DIR = Path(randcheck.uscc.__file__).resolve().parent / "data"
REFERENCE_DATE = dt.date(2026, 11, 26)

ENTITY_COLUMNS = list(FIELDS["entities"])
INSPECTOR_COLUMNS = list(FIELDS["inspectors"])
ITEM_COLUMNS = list(FIELDS["items"])
CONFLICT_COLUMNS = list(FIELDS["conflicts"])

STATIONS = {"水利工作站", "环境监察大队", "林业站"}
CATEGORY_STATION = {
    "取水许可": "水利工作站",
    "水土保持方案": "水利工作站",
    "重点排污单位": "环境监察大队",
    "一般排污单位": "环境监察大队",
    "建设项目": "环境监察大队",
    "林木采伐许可": "林业站",
    "使用林地审核": "林业站",
}
REGIONS = {"沙柳河镇", "哈尔盖镇", "伊克乌兰乡", "泉吉乡", "吉尔孟乡", "青海湖农场", "黄玉农场"}
SPECIALTIES = {"水资源", "水土保持", "大气", "水污染", "固体废物", "环评", "林政", "森林防火"}
BOOLEANS = {"true", "false"}
FILES = ["entities.csv", "inspectors.csv", "items.csv", "conflicts.csv", "README.md"]
STATION_FILES = ["entities-gbk.csv", "items-zh.csv", "conflicts-zh.csv", "inspectors.xlsx"]


def _read(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def entities() -> list[dict[str, str]]:
    return _read("entities.csv")[1]


@pytest.fixture(scope="module")
def inspectors() -> list[dict[str, str]]:
    return _read("inspectors.csv")[1]


@pytest.fixture(scope="module")
def items() -> list[dict[str, str]]:
    return _read("items.csv")[1]


@pytest.fixture(scope="module")
def conflicts() -> list[dict[str, str]]:
    return _read("conflicts.csv")[1]


def _load_make_sample() -> ModuleType:
    path = DATA_DIR / "make_sample.py"
    spec = importlib.util.spec_from_file_location("_randcheck_make_sample", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while building
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def _is_uscc_shaped(entity_id: str) -> bool:
    return len(entity_id) == 18 and not entity_id.startswith("GC")


# -- files -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        ("entities.csv", [*ENTITY_COLUMNS, "industry", "scale"]),
        ("inspectors.csv", INSPECTOR_COLUMNS),
        ("items.csv", ITEM_COLUMNS),
        ("conflicts.csv", CONFLICT_COLUMNS),
    ],
)
def test_headers_and_shape(name: str, columns: list[str]) -> None:
    raw = (DATA_DIR / name).read_bytes()
    text = raw.decode("utf-8")
    assert not raw.startswith(b"\xef\xbb\xbf"), "no byte-order mark"
    assert "\r" not in text
    assert text.endswith("\n")
    header, rows = _read(name)
    assert header == columns
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        for record in csv.reader(handle):
            assert len(record) == len(columns)
            assert all(field == field.strip() for field in record)
    assert rows


def test_readme_mentions_every_file() -> None:
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    for name in FILES[:-1]:
        assert name in readme
    assert "刚察县" in readme


# -- entities ----------------------------------------------------------------


def test_entity_ids_unique_and_valid(entities: list[dict[str, str]]) -> None:
    ids = [e["id"] for e in entities]
    assert len(set(ids)) == len(ids)
    assert len({e["name"] for e in entities}) == len(entities)
    kinds: Counter[str] = Counter()
    for e in entities:
        entity_id = e["id"]
        if _is_uscc_shaped(entity_id):
            assert is_valid_uscc(entity_id), entity_id
            assert entity_id[2:8] == "632224", entity_id
            kinds["uscc"] += 1
        elif entity_id.startswith("GC"):
            prefix, sub, year, number = entity_id.split("-")
            assert prefix in {"GCSW", "GCHB", "GCLY"}
            assert len(sub) == 2
            assert 2000 <= int(year) <= 2026
            assert len(number) == 4
            assert number.isdigit()
            kinds["bureau"] += 1
        else:
            assert is_legacy_registration_number(entity_id), entity_id
            kinds["legacy"] += 1
    assert kinds["uscc"] > 1000
    assert kinds["bureau"] > 500
    assert 1 <= kinds["legacy"] <= 40


def test_entity_usccs_valid_vectorized(entities: list[dict[str, str]]) -> None:
    codes = np.array([e["id"] for e in entities if _is_uscc_shaped(e["id"])])
    assert uscc_valid_mask(codes).all()


def test_entity_fields(entities: list[dict[str, str]]) -> None:
    for e in entities:
        assert e["name"]
        assert e["category"] in CATEGORY_STATION
        assert e["station"] == CATEGORY_STATION[e["category"]]
        assert e["region"] in REGIONS
        assert e["credit_class"] in {"", "A", "B", "C", "D"}
        assert e["blacklisted"] in BOOLEANS
        assert e["serious_violation"] in BOOLEANS
        assert e["verified_complaints"].isdigit()
        assert 0 <= int(e["verified_complaints"]) <= 5
        assert e["industry"]
        assert e["scale"] in {"大型", "中型", "小型", "微型"}


def test_entity_counts(entities: list[dict[str, str]]) -> None:
    n = len(entities)
    assert 1800 <= n <= 2200
    per_category = Counter(e["category"] for e in entities)
    assert set(per_category) == set(CATEGORY_STATION)
    assert 50 <= per_category["重点排污单位"] <= 70
    assert per_category["一般排污单位"] == max(per_category.values())
    assert set(Counter(e["station"] for e in entities)) == STATIONS
    assert set(Counter(e["region"] for e in entities)) == REGIONS
    credit = Counter(e["credit_class"] for e in entities)
    assert credit["A"] + credit["B"] > 0.6 * n
    assert 0 < credit["D"] < 0.1 * n
    assert 0 < credit[""] < 0.15 * n
    blacklisted = sum(e["blacklisted"] == "true" for e in entities)
    serious = sum(e["serious_violation"] == "true" for e in entities)
    complaints = Counter(int(e["verified_complaints"]) for e in entities)
    assert 0.01 * n <= blacklisted <= 0.03 * n
    assert 0.02 * n <= serious <= 0.045 * n
    assert complaints[0] > 0.8 * n
    assert set(complaints) == {0, 1, 2, 3, 4, 5}


# -- inspectors --------------------------------------------------------------


def test_inspectors(inspectors: list[dict[str, str]]) -> None:
    ids = [i["id"] for i in inspectors]
    assert len(set(ids)) == len(ids)
    assert len({i["certificate_no"] for i in inspectors}) == len(inspectors)
    assert len({i["name"] for i in inspectors}) == len(inspectors)
    assert 36 <= len(inspectors) <= 44
    per_station = Counter(i["station"] for i in inspectors)
    assert set(per_station) == STATIONS
    assert 10 <= per_station["水利工作站"] <= 14
    assert 14 <= per_station["环境监察大队"] <= 18
    assert 10 <= per_station["林业站"] <= 14
    expired = 0
    for i in inspectors:
        assert i["id"].startswith("GC-INS-")
        assert i["certificate_no"]
        until = dt.date.fromisoformat(i["certificate_valid_until"])
        assert 2025 <= until.year <= 2029
        expired += until < REFERENCE_DATE
        specialties = i["specialties"].split(";")
        assert specialties
        assert set(specialties) <= SPECIALTIES
        assert i["active"] in BOOLEANS
    assert 1 <= expired <= 12
    inactive = sum(i["active"] == "false" for i in inspectors)
    assert 1 <= inactive <= 5


# -- items -------------------------------------------------------------------


def test_items(items: list[dict[str, str]], entities: list[dict[str, str]]) -> None:
    assert 8 <= len(items) <= 10
    codes = [item["code"] for item in items]
    assert len(set(codes)) == len(codes)
    categories = {e["category"] for e in entities}
    covered: set[str] = set()
    for item in items:
        assert item["station"] in STATIONS
        assert item["legal_basis"].startswith("《")
        item_categories = item["categories"].split(";")
        assert set(item_categories) <= categories
        covered.update(item_categories)
        ratio = float(item["ratio"])
        assert 0 < ratio <= 1
        assert item["ratio"] == f"{ratio:.2f}"
        for field in ("minimum", "rounds_per_year", "team_size"):
            assert item[field].isdigit()
            assert int(item[field]) >= 1
        assert int(item["team_size"]) >= 2
        assert int(item["rounds_per_year"]) >= 2
        assert item["specialty"] in SPECIALTIES | {""}
        assert item["kind"] in {"general", "key"}
        assert item["policy"] in {"proportional", "risk-weighted"}
        if item["kind"] == "key":
            assert item_categories == ["重点排污单位"]
            assert ratio >= 0.25
        else:
            assert ratio >= 0.05
    assert covered == categories


def test_items_can_be_staffed(
    items: list[dict[str, str]], inspectors: list[dict[str, str]]
) -> None:
    eligible = [
        i
        for i in inspectors
        if i["active"] == "true"
        and dt.date.fromisoformat(i["certificate_valid_until"]) >= REFERENCE_DATE
    ]
    for item in items:
        pool = [i for i in eligible if i["station"] == item["station"]]
        assert len(pool) >= 2 * int(item["team_size"]), item["code"]
        if item["specialty"]:
            with_specialty = [i for i in pool if item["specialty"] in i["specialties"].split(";")]
            assert len(with_specialty) >= 2, item["code"]


# -- conflicts ---------------------------------------------------------------


def test_conflicts(
    conflicts: list[dict[str, str]],
    inspectors: list[dict[str, str]],
    entities: list[dict[str, str]],
) -> None:
    assert 12 <= len(conflicts) <= 18
    inspector_ids = {i["id"] for i in inspectors}
    entity_ids = {e["id"] for e in entities}
    pairs = [(c["inspector_id"], c["entity_id"]) for c in conflicts]
    assert len(set(pairs)) == len(pairs)
    for c in conflicts:
        assert c["inspector_id"] in inspector_ids
        assert c["entity_id"] in entity_ids
        assert c["reason"]


# -- regeneration ------------------------------------------------------------


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    make_sample = _load_make_sample()
    written = make_sample.main(tmp_path)
    assert sorted(p.name for p in written) == sorted(FILES + STATION_FILES)
    for name in FILES + STATION_FILES[:-1]:
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name
    # A workbook's bytes carry a timestamp: compare its cells.
    from openpyxl import load_workbook

    def cells(path: Path) -> list[tuple[object, ...]]:
        book = load_workbook(path, read_only=True)
        try:
            return [tuple(row) for row in book.active.iter_rows(values_only=True)]
        finally:
            book.close()

    assert cells(tmp_path / "inspectors.xlsx") == cells(DATA_DIR / "inspectors.xlsx")


def test_generator_is_a_pure_function() -> None:
    make_sample = _load_make_sample()
    assert make_sample.make_files() == make_sample.make_files()


def test_station_format_files_hold_the_same_registers() -> None:
    """The GBK CSV, Excel and Chinese-header files load to the same registers."""
    import randcheck as rc
    from randcheck.cli import sample_path

    gbk = rc.load_entities(sample_path("entities-gbk.csv"))
    plain = rc.load_entities(sample_path("entities.csv"))
    rename = {"行业": "industry", "规模": "scale"}
    assert [
        {**e.to_record(), "attributes": {rename[k]: v for k, v in e.attributes}} for e in gbk
    ] == plain.to_records()
    assert Path(sample_path("entities-gbk.csv")).read_bytes().decode("gbk")
    xlsx = rc.load_inspectors(sample_path("inspectors.xlsx"))
    assert xlsx.digest == rc.load_inspectors(sample_path("inspectors.csv")).digest
    assert rc.load_items(sample_path("items-zh.csv")) == rc.load_items(sample_path("items.csv"))
    assert rc.load_conflicts(sample_path("conflicts-zh.csv")) == rc.load_conflicts(
        sample_path("conflicts.csv")
    )
