"""Tests of the register loaders: formats, encodings, header mapping, validation, check()."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import randcheck
from randcheck.errors import LoaderError
from randcheck.loaders import (
    BUILTIN_ALIASES,
    FIELDS,
    KINDS,
    ColumnMap,
    Loaded,
    Problem,
    Report,
    check,
    check_registers,
    load_conflicts,
    load_entities,
    load_inspectors,
    load_items,
    load_register,
    normalize_header,
)
from randcheck.loaders.validate import parse_date, parse_rounds
from randcheck.model import Conflict, Inspector, Item
from randcheck.plugins import Plugins
from randcheck.policies import Proportional, RiskWeighted
from randcheck.pools import EntityPool, InspectorPool

DATA = Path(randcheck.__file__).parent / "data"
DOCS = Path(__file__).resolve().parents[1] / "docs"

USCC_A = "91350100M000100Y43"
USCC_B = "91512081MA62K0260E"
USCC_BAD = "91350100M000100Y4Z"
LEGACY = "632224000012345"

ENTITY_HEADER_ZH = [
    "统一社会信用代码",
    "单位名称",
    "监管类别",
    "所属站所",
    "所属乡镇",
    "信用风险等级",
    "是否列入黑名单",
    "投诉举报（核实）",
    "严重违法记录",
    "行业",
]
ENTITY_ROWS_ZH = [
    [
        USCC_A,
        "刚察县青海湖畜产品有限公司",
        "一般排污单位",
        "环境监察大队",
        "沙柳河镇",
        "B",
        "否",
        "2",
        "否",
        "畜产品加工",
    ],
    [
        USCC_B,
        "刚察县哈尔盖镇砂石料场",
        "一般排污单位",
        "环境监察大队",
        "哈尔盖镇",
        "D",
        "是",
        "0",
        "是",
        "砂石",
    ],
    [
        LEGACY,
        "刚察县泉吉乡牧家乐",
        "一般排污单位",
        "环境监察大队",
        "泉吉乡",
        "",
        "否",
        "",
        "否",
        "",
    ],
]


@pytest.fixture
def plugins() -> Plugins:
    """Only the built-in plugin: installed station plugins do not leak into these tests."""
    return Plugins.isolated()


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    encoding: str = "utf-8",
    above: Sequence[str] = (),
) -> Path:
    lines = [",".join(above)] if above else []
    lines.append(",".join(header))
    lines.extend(",".join("" if c is None else str(c) for c in row) for row in rows)
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    workbook = openpyxl.Workbook()
    first = True
    for name, rows in sheets.items():
        sheet = workbook.active if first else workbook.create_sheet()
        assert sheet is not None
        sheet.title = name
        first = False
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def errors_of(report: Report) -> list[Problem]:
    return list(report.errors)


def only(problems: Sequence[Problem], pattern: str) -> Problem:
    found = [p for p in problems if re.search(pattern, p.reason)]
    assert len(found) == 1, [p.format() for p in problems]
    return found[0]


# -- the sample county -------------------------------------------------------------------


def test_sample_county_loads_strictly(plugins: Plugins) -> None:
    pool = load_entities(DATA / "entities.csv", plugins=plugins)
    inspectors = load_inspectors(DATA / "inspectors.csv", plugins=plugins)
    items = load_items(DATA / "items.csv", plugins=plugins)
    conflicts = load_conflicts(DATA / "conflicts.csv", plugins=plugins)
    with open(DATA / "entities.csv", encoding="utf-8", newline="") as f:
        assert isinstance(pool, EntityPool)
        assert len(pool) == sum(1 for _ in csv.DictReader(f))
    assert isinstance(inspectors, InspectorPool)
    assert len(inspectors) == 40
    assert [i.code for i in items][:2] == ["SL-01", "SL-02"]
    assert isinstance(items[2].policy, RiskWeighted)
    assert items[2].kind == "key"
    assert all(isinstance(c, Conflict) for c in conflicts)
    assert conflicts
    assert pool.attribute_names == ("industry", "scale")


def test_sample_digest_matches_building_from_records(plugins: Plugins) -> None:
    with open(DATA / "entities.csv", encoding="utf-8", newline="") as f:
        direct = EntityPool.from_records(csv.DictReader(f))
    assert load_entities(DATA / "entities.csv", plugins=plugins).digest == direct.digest


def test_sample_check_is_clean_of_errors(plugins: Plugins) -> None:
    names = ["entities.csv", "inspectors.csv", "items.csv", "conflicts.csv"]
    report = check([DATA / n for n in names], on=dt.date(2026, 11, 26), plugins=plugins)
    assert report.ok, report.format()
    assert [s.kind for s in report.summaries] == ["entities", "inspectors", "items", "conflicts"]
    with open(DATA / "entities.csv", encoding="utf-8", newline="") as f:
        expected = sum(1 for row in csv.DictReader(f) if len(row["id"]) == 15)
    legacy = [p for p in report.warnings if "registration number" in p.reason]
    assert len(legacy) == expected
    assert all(p.file and p.file.endswith("entities.csv") and p.row for p in legacy)


# -- encodings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_chinese_csv_in_every_encoding_gives_one_pool(
    tmp_path: Path, plugins: Plugins, encoding: str, detected: str
) -> None:
    path = write_csv(tmp_path / "名录库.csv", ENTITY_HEADER_ZH, ENTITY_ROWS_ZH, encoding)
    pool, report = load_entities(path, strict=False, plugins=plugins)
    reference = load_entities(
        write_csv(tmp_path / "ref.csv", ENTITY_HEADER_ZH, ENTITY_ROWS_ZH), plugins=plugins
    )
    assert pool.digest == reference.digest
    assert report.summaries[0].encoding == detected
    entity = pool[USCC_B]
    assert (entity.name, entity.category, entity.region) == (
        "刚察县哈尔盖镇砂石料场",
        "一般排污单位",
        "哈尔盖镇",
    )
    assert entity.credit_class == "D"
    assert entity.blacklisted
    assert entity.serious_violation
    assert pool[USCC_A].verified_complaints == 2
    assert pool[USCC_A].attribute("行业") == "畜产品加工"
    assert pool[LEGACY].attribute("行业") is None  # an empty cell is no attribute


def test_declared_encoding_is_used_and_a_wrong_one_names_the_file(
    tmp_path: Path, plugins: Plugins
) -> None:
    path = write_csv(tmp_path / "gbk.csv", ENTITY_HEADER_ZH, ENTITY_ROWS_ZH, "gbk")
    assert len(load_entities(path, encoding="gbk", plugins=plugins)) == 3
    with pytest.raises(LoaderError, match=r"gbk\.csv: the file is not valid utf-8: byte \d+"):
        load_entities(path, encoding="utf-8", plugins=plugins)
    with pytest.raises(LoaderError, match="unknown text encoding 'klingon'"):
        load_entities(path, encoding="klingon", plugins=plugins)


def test_undecodable_bytes_are_reported(tmp_path: Path, plugins: Plugins) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(b"id,name\n1,\xff\xfe\xfd\xff\n")
    # 0xFF is neither UTF-8 nor a GB 18030 lead byte.
    with pytest.raises(LoaderError, match=r"junk\.csv: the file is neither UTF-8 nor GBK"):
        load_entities(path, plugins=plugins)


# -- JSON ----------------------------------------------------------------------------------


def test_json_list_and_keyed_object(tmp_path: Path, plugins: Plugins) -> None:
    records = [
        {"id": USCC_A, "name": "甲", "category": "取水许可", "blacklisted": True, "scale": 3},
        {"id": "GCSW-QS-2012-0001", "name": "乙", "category": "取水许可", "verified_complaints": 2},
    ]
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    keyed = tmp_path / "keyed.json"
    keyed.write_text(json.dumps({"entities": records}, ensure_ascii=False), encoding="utf-8")
    a = load_entities(listed, plugins=plugins)
    b = load_entities(keyed, plugins=plugins)
    assert a.digest == b.digest
    assert a[USCC_A].blacklisted
    assert a[USCC_A].attribute("scale") == 3
    assert a["GCSW-QS-2012-0001"].verified_complaints == 2


def test_json_round_trips_to_records(tmp_path: Path, plugins: Plugins) -> None:
    pool = load_entities(DATA / "entities.csv", plugins=plugins)
    path = tmp_path / "pool.json"
    path.write_text(json.dumps(pool.to_records(), ensure_ascii=False), encoding="utf-8")
    assert load_entities(path, plugins=plugins).digest == pool.digest
    items = load_items(DATA / "items.csv", plugins=plugins)
    item_path = tmp_path / "items.json"
    item_path.write_text(
        json.dumps({"items": [i.to_record() for i in items]}, ensure_ascii=False), "utf-8"
    )
    assert load_items(item_path, plugins=plugins) == items


def test_json_errors_name_file_and_record(tmp_path: Path, plugins: Plugins) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[{"id": "A-1"}, 7, {"id": ""}]', encoding="utf-8")
    loaded = load_entities(path, strict=False, plugins=plugins)
    assert [str(i) for i in loaded.value.ids] == ["A-1"]
    assert only(loaded.report.errors, "expected an object").row == 2
    empty = only(loaded.report.errors, "the id is empty")
    assert (empty.file, empty.row, empty.column) == (str(path), 3, "id")
    broken = tmp_path / "broken.json"
    broken.write_text('{"entities": [', encoding="utf-8")
    with pytest.raises(LoaderError, match=r"broken\.json: malformed JSON: .*line 1"):
        load_entities(broken, plugins=plugins)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"inspectors": [], "items": []}', encoding="utf-8")
    with pytest.raises(LoaderError, match=r'wrong\.json: expected a list .* "entities"'):
        load_entities(wrong, plugins=plugins)


# -- Excel -------------------------------------------------------------------------------


def test_xlsx_with_title_row_dates_and_numbers(tmp_path: Path, plugins: Plugins) -> None:
    path = write_xlsx(
        tmp_path / "人员.xlsx",
        {
            "执法人员": [
                ["刚察县执法检查人员名录库"],
                [],
                ["工号", "姓名", "所属站所", "执法证号", "有效期至", "专业领域", "在岗状态"],
                [
                    101,
                    "石有才",
                    "水利工作站",
                    "青刚执字0667号",
                    dt.datetime(2029, 1, 27),
                    "水资源；水土保持",
                    "在岗",
                ],
                [102, "拉加旦正", "水利工作站", "青刚执字0234号", "2028/1/4", "水土保持", "离岗"],
                [103, "何青松", "林业站", "青刚执字0427号", "2025年7月24日", "林政", "退休"],
            ]
        },
    )
    pool, report = load_inspectors(path, strict=False, on=dt.date(2026, 11, 26), plugins=plugins)
    assert pool.ids == ("101", "102", "103")
    first = pool["101"]
    assert first.certificate_valid_until == dt.date(2029, 1, 27)
    assert first.specialties == ("水资源", "水土保持")
    assert first.active
    assert not pool["102"].active
    assert not pool["103"].active
    assert pool["102"].certificate_valid_until == dt.date(2028, 1, 4)
    skipped = only(report.warnings, "above the header")
    assert (skipped.sheet, skipped.row, skipped.value) == (
        "执法人员",
        1,
        "刚察县执法检查人员名录库",
    )
    expired = only(report.warnings, "expired on 2025-07-24")
    assert (expired.file, expired.sheet, expired.row, expired.column) == (
        str(path),
        "执法人员",
        6,
        "有效期至",
    )
    assert report.summaries[0].format == "xlsx"


def test_xlsx_items_with_percent_ratio_and_chinese_values(tmp_path: Path, plugins: Plugins) -> None:
    header = [
        "事项编码",
        "抽查事项",
        "实施主体",
        "抽查依据",
        "检查对象类别",
        "抽查比例",
        "最少抽查数",
        "抽查频次",
        "检查人数",
        "专业要求",
        "事项类型",
        "抽取方式",
    ]
    path = write_xlsx(
        tmp_path / "清单.xlsx",
        {
            "事项清单": [
                header,
                [
                    "SL-01",
                    "取水许可监督检查",
                    "水利工作站",
                    "《水法》",
                    "取水许可",
                    0.05,
                    2,
                    "每年2次",
                    2,
                    "水资源",
                    "一般",
                    "按比例",
                ],
                [
                    "HB-01",
                    "重点排污单位检查",
                    "环境监察大队",
                    "《环境保护法》",
                    "重点排污单位",
                    "25%",
                    2.0,
                    "每季度1次",
                    3,
                    "",
                    "重点",
                    "风险加权",
                ],
                [
                    "HB-02",
                    "排放检查",
                    "环境监察大队",
                    "《大气法》",
                    "重点排污单位；一般排污单位",
                    "1/3",
                    None,
                    "每年两次",
                    None,
                    None,
                    "key",
                    "risk-weighted",
                ],
            ]
        },
    )
    items = load_items(path, plugins=plugins)
    sl, hb, hb2 = items
    assert sl.ratio == Fraction(1, 20)
    assert sl.rounds_per_year == 2
    assert sl.kind == "general"
    assert isinstance(sl.policy, Proportional)
    assert sl.minimum == 2
    assert hb.ratio == Fraction(1, 4)
    assert hb.rounds_per_year == 4
    assert hb.kind == "key"
    assert isinstance(hb.policy, RiskWeighted)
    assert hb.team_size == 3
    assert hb.specialty is None
    assert hb2.ratio == Fraction(1, 3)
    assert hb2.categories == ("重点排污单位", "一般排污单位")
    assert (hb2.minimum, hb2.team_size, hb2.rounds_per_year) == (1, 2, 2)


def test_workbook_sheet_is_chosen_by_kind_name_or_index(tmp_path: Path, plugins: Plugins) -> None:
    path = write_xlsx(
        tmp_path / "一单两库.xlsx",
        {
            "说明": [["本工作簿含检查对象名录库与执法检查人员名录库"]],
            "人员": [["编号", "姓名", "执法证号", "有效期至"], ["GC-1", "甲", "证1", "2030-01-01"]],
            "对象": [["单位编码", "单位名称"], ["GCSW-1", "某取水户"]],
        },
    )
    assert load_entities(path, plugins=plugins).ids.tolist() == ["GCSW-1"]
    assert load_inspectors(path, plugins=plugins).ids == ("GC-1",)
    assert load_entities(path, sheet="对象", plugins=plugins).ids.tolist() == ["GCSW-1"]
    assert load_entities(path, sheet=2, plugins=plugins).ids.tolist() == ["GCSW-1"]
    with pytest.raises(LoaderError, match=r"一单两库\.xlsx: no sheet '项目'; sheets: '说明'"):
        load_entities(path, sheet="项目", plugins=plugins)
    with pytest.raises(LoaderError, match="there is no sheet 5"):
        load_entities(path, sheet=5, plugins=plugins)


def test_xlsx_numeric_ids_error_cells_and_lost_digits(tmp_path: Path, plugins: Plugins) -> None:
    path = write_xlsx(
        tmp_path / "对象.xlsx",
        {
            "Sheet": [
                ["编号", "单位名称", "所属乡镇"],
                [632224000012345, "老字号", "泉吉乡"],
                [913501001234567890, "存成数字的信用代码", "泉吉乡"],
                ["GC-3", "#N/A", "泉吉乡"],
            ]
        },
    )
    pool, report = load_entities(path, strict=False, plugins=plugins)
    assert pool.ids.tolist() == ["632224000012345"]
    lost = only(report.errors, "lost digits")
    assert (lost.sheet, lost.row, lost.column) == ("Sheet", 3, "编号")
    excel = only(report.errors, "Excel error")
    assert (excel.row, excel.column, excel.value) == (4, "单位名称", "#N/A")


def test_missing_openpyxl_names_the_extra(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "x.xlsx", {"Sheet": [["id"], ["A"]]})
    code = (
        "import sys; sys.modules['openpyxl'] = None\n"
        "from randcheck.loaders import load_entities\n"
        "from randcheck.plugins import Plugins\n"
        "try:\n"
        f"    load_entities({str(path)!r}, plugins=Plugins.isolated())\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    src = str(Path(randcheck.__file__).parents[1])
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": src, "RANDCHECK_DISABLE_PLUGIN_AUTOLOAD": "1"},
    ).stdout
    assert out.startswith("LoaderError ")
    assert "pip install 'randcheck[excel]'" in out
    assert "x.xlsx" in out


# -- header mapping --------------------------------------------------------------------


def test_normalize_header() -> None:
    assert normalize_header("投诉举报（核实）") == normalize_header("投诉举报(核实)")
    assert normalize_header(" Credit Class ") == normalize_header("credit_class")
    assert normalize_header("统一社会信用代码*") == "统一社会信用代码"
    assert normalize_header("CREDIT-CLASS") == "creditclass"


def test_column_map_guesses_kinds(plugins: Plugins) -> None:
    columns = plugins.columns()
    assert columns.guess_kind(ENTITY_HEADER_ZH) == "entities"
    assert columns.guess_kind(["工号", "姓名", "执法证号", "有效期至"]) == "inspectors"
    assert columns.guess_kind(["事项编码", "抽查事项", "实施主体", "抽查依据"]) == "items"
    assert columns.guess_kind(["执法人员编号", "检查对象编码", "回避原因"]) == "conflicts"
    assert columns.guess_kind(["甲", "乙"]) is None


def test_column_map_refuses_conflicting_aliases() -> None:
    base = ColumnMap().with_alias("entities", "编号", "id")
    with pytest.raises(ValueError, match="already maps to entities field 'id'"):
        base.with_alias("entities", "编号", "name")
    with pytest.raises(ValueError, match="no field 'colour'"):
        base.with_alias("entities", "颜色", "colour")
    with pytest.raises(ValueError, match="unknown register kind"):
        base.with_alias("projects", "编号", "id")  # type: ignore[arg-type]


def test_call_level_columns_and_unknown_columns(tmp_path: Path, plugins: Plugins) -> None:
    path = write_csv(tmp_path / "e.csv", ["对象代码", "对象全称", "备注"], [["GC-1", "甲", "x"]])
    pool = load_entities(path, columns={"对象代码": "id", "对象全称": "name"}, plugins=plugins)
    assert pool["GC-1"].name == "甲"
    assert pool["GC-1"].attribute("备注") == "x"
    with pytest.raises(ValueError, match="not a field of entities registers"):
        load_entities(path, columns={"对象代码": "colour"}, plugins=plugins)
    inspectors = write_csv(
        tmp_path / "i.csv",
        ["编号", "执法证号", "有效期至", "手机"],
        [["I-1", "证", "2030-1-1", "138"]],
    )
    _pool_i, report = load_inspectors(inspectors, strict=False, plugins=plugins)
    ignored = only(report.warnings, "not a field of the inspector register")
    assert (ignored.file, ignored.column) == (str(inspectors), "手机")


def test_every_builtin_alias_is_in_the_docs() -> None:
    text = (DOCS / "loaders.md").read_text(encoding="utf-8")
    missing = [
        (kind, header)
        for kind in KINDS
        for header in BUILTIN_ALIASES[kind]
        if f"`{header}`" not in text
    ]
    assert not missing, f"document these aliases in docs/loaders.md: {missing}"
    for kind in KINDS:
        for field in FIELDS[kind]:
            assert f"`{field}`" in text


# -- validation: entities ------------------------------------------------------------------


def test_uscc_column_is_validated_strictly(tmp_path: Path, plugins: Plugins) -> None:
    rows = [[USCC_A, "甲"], [USCC_BAD, "乙"], ["GCSW-QS-2012-0001", "丙"], [LEGACY, "丁"]]
    path = write_csv(
        tmp_path / "uscc.csv",
        ["统一社会信用代码", "单位名称", "类别"],
        [[*r, "取水许可"] for r in rows],
    )
    with pytest.raises(LoaderError) as info:
        load_entities(path, plugins=plugins)
    message = str(info.value)
    assert message.startswith(f"{path}: 2 errors, 1 warning in the entities register:")
    assert (
        f"{path}, row 3, column '统一社会信用代码': error: not a valid unified social credit "
        "code (GB 32100-2015): bad character 'Z' at position 18"
    ) in message
    assert f"{path}, row 4, column '统一社会信用代码': error:" in message
    assert f"{path}, row 5, column '统一社会信用代码': warning: a 15-digit" in message
    assert [p.row for p in info.value.problems] == [3, 4, 5]  # errors first, then warnings
    pool, report = load_entities(path, strict=False, plugins=plugins)
    assert sorted(pool.ids.tolist()) == sorted([USCC_A, LEGACY])
    assert [p.value for p in report.errors] == [USCC_BAD, "GCSW-QS-2012-0001"]


def test_generic_id_column_checks_only_uscc_shaped_ids(tmp_path: Path, plugins: Plugins) -> None:
    rows = [[USCC_A], [USCC_BAD], ["GCSW-QS-2012-0001"], [LEGACY], ["HB2017000000000001"]]
    path = write_csv(
        tmp_path / "auto.csv", ["编号", "所属站所"], [[*r, "水利工作站"] for r in rows]
    )
    pool, report = load_entities(path, strict=False, plugins=plugins)
    assert sorted(pool.ids.tolist()) == sorted([USCC_A, "GCSW-QS-2012-0001", LEGACY])
    assert [p.row for p in report.errors] == [3, 6]
    assert [p.row for p in report.warnings] == [5]
    everything = load_entities(path, id_kind="code", plugins=plugins)
    assert len(everything) == 5
    declared = load_entities(path, strict=False, id_kind="uscc", plugins=plugins)
    assert [p.row for p in declared.report.errors] == [3, 4, 6]


def test_duplicate_ids(tmp_path: Path, plugins: Plugins) -> None:
    rows = [["A-1", "甲"], ["A-2", "乙"], ["A-1", "甲乙"], ["A-3", "丙"], ["A-3", "丙"]]
    path = write_csv(
        tmp_path / "dup.csv", ["编号", "名称", "类别"], [[*r, "取水许可"] for r in rows]
    )
    with pytest.raises(
        LoaderError, match=r"row 2, column '编号': error: duplicate id \(rows 2, 4\)"
    ):
        load_entities(path, plugins=plugins)
    pool, report = load_entities(path, strict=False, plugins=plugins)
    assert pool.ids.tolist() == ["A-2", "A-3"]
    assert [(p.row, p.severity) for p in report.problems] == [
        (2, "error"),
        (4, "error"),
        (6, "warning"),
    ]
    assert "repeats row 5 exactly; loaded once" in report.warnings[0].reason


def test_bad_cells_are_reported_and_good_rows_load(tmp_path: Path, plugins: Plugins) -> None:
    header = ["编号", "名称", "信用等级", "黑名单", "核实投诉数", "严重违法"]
    rows = [
        ["A-1", "甲", "B类", "是", "3", "否"],
        ["A-2", "乙", "E", "否", "", ""],
        ["A-3", "丙", "", "也许", "-1", "无"],
        ["", "丁", "", "", "", ""],
        ["A-5", "戊", "d", "", "2.0", "有"],
    ]
    path = write_csv(tmp_path / "cells.csv", header, rows)
    pool, report = load_entities(path, strict=False, plugins=plugins)
    assert pool.ids.tolist() == ["A-1", "A-5"]
    assert pool["A-1"].credit_class == "B"
    assert pool["A-5"].credit_class == "D"
    assert pool["A-5"].verified_complaints == 2
    assert pool["A-5"].serious_violation
    located = {(p.row, p.column) for p in report.errors}
    assert located == {(3, "信用等级"), (4, "黑名单"), (4, "核实投诉数"), (5, "编号")}
    # No row is dropped silently: every row not loaded has an error naming it.
    loaded_rows = {2, 6}
    assert {p.row for p in report.errors} | loaded_rows == {2, 3, 4, 5, 6}
    assert report.summaries[0].rows == 5
    assert report.summaries[0].loaded == 2
    bad_flag = only(report.errors, "expected yes or no")
    assert bad_flag.value == "也许"
    assert bad_flag.id == "A-3"


def test_missing_required_column_loads_nothing(tmp_path: Path, plugins: Plugins) -> None:
    path = write_csv(tmp_path / "noid.csv", ["单位名称", "类别"], [["甲", "取水许可"]])
    with pytest.raises(LoaderError, match=r"missing required column id / 统一社会信用代码") as info:
        load_entities(path, plugins=plugins)
    assert "none of the 1 rows were loaded" in str(info.value)
    assert info.value.source == str(path)
    pool, report = load_entities(path, strict=False, plugins=plugins)
    assert len(pool) == 0
    assert not report.ok


def test_two_columns_for_one_field(tmp_path: Path, plugins: Plugins) -> None:
    path = write_csv(tmp_path / "two.csv", ["编号", "名称", "单位名称"], [["A", "甲", "乙"]])
    with pytest.raises(LoaderError, match="columns '名称', '单位名称' all map to the field 'name'"):
        load_entities(path, plugins=plugins)


def test_ragged_and_blank_rows(tmp_path: Path, plugins: Plugins) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        "编号,名称,类别\nA-1,甲,取水许可\n\nA-2,乙\nA-3,丙,取水许可,多余\n,,\n", encoding="utf-8"
    )
    pool, report = load_entities(path, strict=False, plugins=plugins)
    assert pool.ids.tolist() == ["A-1", "A-2"]
    short = only(report.warnings, "read as empty")
    assert short.row == 4
    spill = only(report.errors, "cells past the header")
    assert (spill.row, spill.value) == (5, "多余")


def test_empty_registers(tmp_path: Path, plugins: Plugins) -> None:
    path = write_csv(tmp_path / "empty.csv", ["编号", "名称"], [])
    with pytest.raises(LoaderError, match=r"empty\.csv: .*the entity register is empty"):
        load_entities(path, plugins=plugins)
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("", encoding="utf-8")
    with pytest.raises(LoaderError, match="the file is empty: no header row"):
        load_items(nothing, plugins=plugins)
    recusals = write_csv(
        tmp_path / "conflicts.csv", ["执法人员编号", "检查对象编码", "回避原因"], []
    )
    assert load_conflicts(recusals, plugins=plugins) == ()


def test_control_characters_in_ids(tmp_path: Path, plugins: Plugins) -> None:
    path = tmp_path / "ctl.json"
    path.write_text(json.dumps([{"id": "A\u200b1"}, {"id": "A-2"}]), encoding="utf-8")
    pool, report = load_entities(path, strict=False, plugins=plugins)
    assert pool.ids.tolist() == ["A-2"]
    assert only(report.errors, "control character").row == 1


# -- validation: inspectors, items, conflicts ------------------------------------------------


def test_inspector_problems(tmp_path: Path, plugins: Plugins) -> None:
    header = ["工号", "姓名", "所属站所", "执法证号", "有效期至", "专业领域", "是否在岗"]
    rows = [
        ["I-1", "甲", "水利工作站", "证1", "2029-01-27", "水资源;水土保持", "在岗"],
        ["I-2", "乙", "水利工作站", "证2", "明年", "水资源", "在岗"],
        ["I-3", "丙", "水利工作站", "证3", "2026-01-01", "水资源", "请假"],
        ["I-4", "丁", "水利工作站", "", "2030-01-01", "", "true"],
        ["I-1", "甲", "林业站", "证1", "2029-01-27", "", "在岗"],
    ]
    path = write_csv(tmp_path / "人员.csv", header, rows)
    with pytest.raises(LoaderError) as info:
        load_inspectors(path, on=dt.date(2026, 11, 26), plugins=plugins)
    text = str(info.value)
    assert f"{path}, row 3, column '有效期至': error: expected a date such as 2029-01-27" in text
    assert f"{path}, row 4, column '是否在岗': error: expected an on-duty status" in text
    assert f"{path}, row 2, column '工号': error: duplicate inspector id (rows 2, 6)" in text
    pool, report = load_inspectors(path, strict=False, on=dt.date(2026, 11, 26), plugins=plugins)
    assert pool.ids == ("I-4",)
    assert only(report.warnings, "no enforcement certificate").row == 5


def test_expired_certificate_is_relative_to_on(tmp_path: Path, plugins: Plugins) -> None:
    path = write_csv(
        tmp_path / "i.csv", ["编号", "执法证号", "有效期至"], [["I-1", "证", "2026-06-30"]]
    )
    early = load_inspectors(path, strict=False, on=dt.date(2026, 6, 30), plugins=plugins)
    late = load_inspectors(path, strict=False, on=dt.date(2026, 7, 1), plugins=plugins)
    assert early.report.problems == ()
    assert "expired on 2026-06-30" in late.report.warnings[0].reason
    assert len(late.value) == 1  # a warning never keeps a row out


def test_item_problems(tmp_path: Path, plugins: Plugins) -> None:
    header = [
        "事项编码",
        "抽查事项",
        "实施主体",
        "抽查依据",
        "检查对象类别",
        "抽查比例",
        "抽查频次",
        "检查人数",
        "事项类型",
        "抽取方式",
    ]
    rows = [
        [
            "SL-01",
            "取水",
            "水利工作站",
            "《水法》",
            "取水许可",
            "5%",
            "每年2次",
            "2",
            "一般",
            "按比例",
        ],
        ["SL-02", "水保", "水利工作站", "", "水土保持方案", "150%", "每年2次", "2", "一般", ""],
        ["SL-03", "水保", "水利工作站", "《水保法》", "", "0", "偶尔", "0", "特别", "抽签"],
        ["SL-04", "水保", "水利工作站", "《水保法》", "", "2%", "每年1次", "1", "", ""],
    ]
    path = write_csv(tmp_path / "清单.csv", header, rows)
    loaded = load_items(path, strict=False, plugins=plugins)
    assert isinstance(loaded, Loaded)
    items, report = loaded
    assert [i.code for i in items] == ["SL-01", "SL-04"]
    errors = {(p.row, p.column): p.reason for p in report.errors}
    assert errors[(3, "抽查依据")] == "the item has no legal basis: no basis, no inspection"
    assert "must be in (0, 1]" in errors[(3, "抽查比例")]
    assert "must be in (0, 1]" in errors[(4, "抽查比例")]
    assert "rounds per year" in errors[(4, "抽查频次")]
    assert "at least 1" in errors[(4, "检查人数")]
    assert "一般 (general) or 重点 (key)" in errors[(4, "事项类型")]
    assert "proportional" in errors[(4, "抽取方式")]
    warned = {(p.row, p.column) for p in report.warnings}
    assert warned == {(5, "抽查比例"), (5, "抽查频次"), (5, "检查人数")}


@pytest.mark.parametrize(
    ("text", "rounds"),
    [
        ("2", 2),
        ("每年2次", 2),
        ("每年两次", 2),
        ("每半年一次", 2),
        ("每季度1次", 4),
        ("每月1次", 12),
        ("2次/年", 2),
        ("每年十二次", 12),
        (3, 3),
    ],
)
def test_parse_rounds(text: object, rounds: int) -> None:
    assert parse_rounds(text) == rounds


@pytest.mark.parametrize("text", ["", "每年零次", "偶尔", "0", "-2"])
def test_parse_rounds_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"whole number|rounds per year"):
        parse_rounds(text)


@pytest.mark.parametrize(
    "text",
    [
        "2029-01-27",
        "2029/1/27",
        "2029.1.27",
        "2029年1月27日",
        "20290127",
        dt.datetime(2029, 1, 27, 0, 0),
    ],
)
def test_parse_date(text: object) -> None:
    assert parse_date(text) == dt.date(2029, 1, 27)


def test_conflicts_with_chinese_headers(tmp_path: Path, plugins: Plugins) -> None:
    rows = [
        ["GC-INS-002", USCC_A, "企业申请回避"],
        ["GC-INS-003", USCC_B, ""],
        ["GC-INS-002", USCC_A, "企业申请回避"],
        ["", USCC_B, "亲属"],
    ]
    path = write_csv(tmp_path / "回避.csv", ["执法人员编号", "统一社会信用代码", "回避原因"], rows)
    conflicts, report = load_conflicts(path, strict=False, plugins=plugins)
    assert conflicts == (
        Conflict("GC-INS-002", USCC_A, "企业申请回避"),
        Conflict("GC-INS-003", USCC_B, ""),
    )
    assert {(p.row, p.severity) for p in report.problems} == {
        (3, "warning"),
        (4, "warning"),
        (5, "error"),
    }


# -- sources and prefixes ---------------------------------------------------------------------


def test_prefixes_and_suffixes(tmp_path: Path, plugins: Plugins) -> None:
    data = tmp_path / "entities.dat"
    data.write_text("id,name\nA-1,甲\n", encoding="utf-8")
    assert load_entities(f"csv:{data}", plugins=plugins).ids.tolist() == ["A-1"]
    with pytest.raises(LoaderError, match=r"cannot tell the format from the suffix '\.dat'"):
        load_entities(data, plugins=plugins)
    with pytest.raises(LoaderError, match=r"unknown loader prefix 'ftp:'; registered: csv:, json:"):
        load_entities("ftp:somewhere/entities.csv", plugins=plugins)
    with pytest.raises(LoaderError, match=r"missing\.csv: no such file"):
        load_entities(tmp_path / "missing.csv", plugins=plugins)
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(LoaderError, match=r"save the file as \.xlsx"):
        load_entities(old, plugins=plugins)
    tabbed = tmp_path / "tabbed.tsv"
    tabbed.write_text("编号\t名称\nA-9\t己\n", encoding="utf-8")
    assert load_entities(tabbed, plugins=plugins)["A-9"].name == "己"


def test_load_register_guesses_the_kind(plugins: Plugins) -> None:
    loaded = load_register(DATA / "inspectors.csv", plugins=plugins)
    assert isinstance(loaded.value, InspectorPool)
    assert loaded.report.summaries[0].kind == "inspectors"


# -- check and cross-checks -------------------------------------------------------------------


def test_check_cross_checks_and_locates(tmp_path: Path, plugins: Plugins) -> None:
    entities = write_csv(
        tmp_path / "对象.csv",
        ["统一社会信用代码", "单位名称", "监管类别", "所属站所"],
        [[USCC_A, "甲", "取水许可", "水利工作站"], [USCC_B, "乙", "林木采伐许可", "林业站"]],
    )
    items = write_csv(
        tmp_path / "事项.csv",
        ["事项编码", "抽查事项", "实施主体", "抽查依据", "检查对象类别", "专业要求"],
        [
            ["SL-01", "取水", "水利工作站", "《水法》", "取水许可证", "水资源"],
            ["LY-01", "采伐", "林业站", "《森林法》", "林木采伐许可", ""],
        ],
    )
    inspectors = write_csv(
        tmp_path / "人员.csv",
        ["编号", "姓名", "所属站所", "执法证号", "有效期至", "专业领域"],
        [
            ["I-1", "甲", "水利工作站", "证1", "2030-01-01", "水土保持"],
            ["I-2", "乙", "林业站", "证2", "2030-01-01", "林政"],
            ["I-3", "丙", "林业站", "证3", "2030-01-01", "林政"],
        ],
    )
    conflicts = write_csv(
        tmp_path / "回避.csv",
        ["执法人员编号", "检查对象编码", "回避原因"],
        [["I-2", USCC_B, "亲属"], ["I-9", "GC-404", "曾处罚"]],
    )
    report = check(
        [entities, items, inspectors, conflicts], on=dt.date(2026, 11, 26), plugins=plugins
    )
    assert not report.ok
    unknown = only(report.errors, "no entity has the category")
    assert (unknown.file, unknown.row, unknown.column, unknown.value) == (
        str(items),
        2,
        "categories",
        "取水许可证",
    )
    assert "did you mean '取水许可'?" in unknown.reason
    missing = [p for p in report.warnings if "not in the" in p.reason]
    assert {(p.file, p.row, p.column) for p in missing} == {
        (str(conflicts), 3, "inspector_id"),
        (str(conflicts), 3, "entity_id"),
    }
    assert only(report.warnings, "specialty '水资源'").row == 2
    assert only(report.warnings, "covered by no item").register == "entities"
    text = report.format()
    assert text.splitlines()[0] == f"{entities}: entities, 2 rows, 2 loaded (csv, utf-8)"
    assert f"{items}, row 2, column 'categories': error: no entity has the category" in text
    assert text.splitlines()[-1] == report.counts()


def test_check_reads_every_sheet_and_keeps_going(tmp_path: Path, plugins: Plugins) -> None:
    workbook = write_xlsx(
        tmp_path / "registers.xlsx",
        {
            "对象": [["单位编码", "单位名称", "监管类别"], ["GCSW-1", "甲", "取水许可"]],
            "事项": [
                ["事项编码", "抽查事项", "实施主体", "抽查依据", "检查对象类别"],
                ["SL-01", "取水", "水利工作站", "《水法》", "取水许可"],
            ],
            "备注": [["说明"], ["随便写写"]],
        },
    )
    report = check([workbook, tmp_path / "nowhere.csv"], plugins=plugins)
    kinds = [(s.sheet, s.kind) for s in report.summaries]
    assert kinds == [("对象", "entities"), ("事项", "items"), ("备注", None), (None, None)]
    assert only(report.warnings, "cannot tell from the header").sheet == "备注"
    assert only(report.errors, "no such file").file == str(tmp_path / "nowhere.csv")
    items_only = check(workbook, kind="items", plugins=plugins)
    assert [(s.sheet, s.kind, s.loaded) for s in items_only.summaries] == [("事项", "items", 1)]


def test_check_with_explicit_kind(tmp_path: Path, plugins: Plugins) -> None:
    path = write_csv(tmp_path / "x.csv", ["id"], [["A-1"]])
    assert check(path, kind="entities", plugins=plugins).summaries[0].kind == "entities"
    report = check(path, kind="items", plugins=plugins)
    assert only(report.errors, "missing required column code").file == str(path)


def test_check_registers_on_objects() -> None:
    pool = EntityPool.from_records([{"id": "A", "category": "取水许可", "station": "水利工作站"}])
    item = Item(code="X", name="x", station="林业站", legal_basis="法", categories=())
    inspectors = InspectorPool([Inspector(id="I", station="林业站")])
    report = check_registers(pool, [item], inspectors, on=dt.date(2026, 1, 1))
    assert only(report.errors, "no entity belongs to its station").id == "X"
    assert only(report.warnings, "fewer than a team of 2").register == "items"
    assert "empty" in check_registers(EntityPool.from_records([]), []).errors[0].reason


def test_report_formatting_and_addition() -> None:
    a = Report((Problem("bad", file="f.csv", row=3, column="编号", value="x"),))
    b = Report((Problem("meh", severity="warning", id="A"),))
    both = a + b
    assert both.counts() == "1 error, 1 warning"
    assert both.format(warnings=False).splitlines() == [
        "f.csv, row 3, column '编号': error: bad (value 'x')",
        "1 error, 1 warning",
    ]
    assert "id 'A': warning: meh" in both.format()
    assert both.to_records()[0]["row"] == 3
    with pytest.raises(LoaderError, match="1 error, 1 warning in the register"):
        both.raise_for_errors()
    with pytest.raises(ValueError, match="severity"):
        Problem("x", severity="fatal")  # type: ignore[arg-type]
