"""Tests of the plugin manager, the typed façade, and a station plugin installed with pip."""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest

import randcheck
from randcheck.errors import LoaderError
from randcheck.hookspecs import PROJECT_NAME, LoaderRegistrar, hookimpl
from randcheck.loaders import Problem, Source, Table, load_entities, read_table
from randcheck.model import Entity, Inspector, Item, Task
from randcheck.plugins import (
    DEFAULT_PLUGINS,
    DISABLE_AUTOLOAD_ENV,
    ENTRY_POINT_GROUP,
    PluginError,
    Plugins,
    get_plugins,
    set_plugins,
)
from randcheck.policies import RiskWeighted
from randcheck.pools import EntityPool

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(randcheck.__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "randcheck-water-station"
LEDGER = EXAMPLE / "sample" / "permit-ledger.csv"
TOWNSHIPS = EXAMPLE / "sample" / "inspector-townships.csv"
BUILTIN = DEFAULT_PLUGINS[0]


def _builds_offline() -> bool:
    """Whether the running interpreter can build the example without fetching anything."""
    try:
        setuptools = tuple(int(x) for x in importlib.metadata.version("setuptools").split(".")[:2])
    except importlib.metadata.PackageNotFoundError:
        return False
    if setuptools >= (70, 1):
        return True
    try:
        importlib.metadata.version("wheel")
    except importlib.metadata.PackageNotFoundError:
        return False
    return setuptools >= (64, 0)


@pytest.fixture(scope="session")
def water_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Install examples/randcheck-water-station with pip, for the running interpreter.

    pip installs into a fresh target directory (so the shared site-packages is left
    alone) that is put on ``sys.path``; importlib.metadata then finds the
    distribution and its ``randcheck`` entry point exactly as for a site install.
    The source is copied first so the build leaves nothing in the repository.
    """
    work = tmp_path_factory.mktemp("water-station")
    source = work / "randcheck-water-station"
    shutil.copytree(
        EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    target = work / "site"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-input",
        "--disable-pip-version-check",
        "--target",
        str(target),
        str(source),
    ]
    if _builds_offline():
        command.insert(4, "--no-build-isolation")
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode:
        pytest.fail(f"pip could not install the example plugin:\n{done.stdout}\n{done.stderr}")
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    yield target
    sys.path.remove(str(target))
    sys.modules.pop("randcheck_water_station", None)
    importlib.invalidate_caches()


@pytest.fixture
def installed(water_site: Path, monkeypatch: pytest.MonkeyPatch) -> Plugins:
    """A fresh manager that autoloads entry points (the installed water station)."""
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    return Plugins.create()


def water_entity(ident: str = "GCSW-QS-2012-0001", region: str = "哈尔盖镇") -> Entity:
    return Entity(id=ident, name="取水户", category="取水许可", station="水利工作站", region=region)


def an_item(**changes: Any) -> Item:
    fields: dict[str, Any] = {
        "code": "SL-01",
        "name": "取水许可监督检查",
        "station": "水利工作站",
        "legal_basis": "《水法》",
        "categories": ["取水许可"],
    }
    fields.update(changes)
    return Item(**fields)


def a_task(entity: Entity) -> Task:
    return Task(entity_id=entity.id, items=("SL-01",), stations=("水利工作站",))


# -- the installed station plugin --------------------------------------------------------


def test_installed_plugin_is_found_through_its_entry_point(installed: Plugins) -> None:
    points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    assert [(p.name, p.value) for p in points if p.name == "water"] == [
        ("water", "randcheck_water_station")
    ]
    infos = {info.name: info for info in installed.list_plugins()}
    water = infos["water"]
    assert (water.version, water.distribution, water.builtin) == (
        "0.1.0",
        "randcheck-water-station",
        False,
    )
    assert water.hooks == (
        "randcheck_conflicts",
        "randcheck_register_columns",
        "randcheck_register_loaders",
        "randcheck_validate_pool",
    )
    assert infos[BUILTIN].builtin
    assert infos[BUILTIN].version == randcheck.__version__
    assert next(i.name for i in installed.list_plugins()) == BUILTIN
    assert sorted(installed.loaders()) == ["csv", "json", "water", "xlsx"]
    assert "  water: 取水许可台账 of the 水利工作站" in installed.describe()


def test_environment_variable_disables_autoload(
    water_site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    assert [i.name for i in Plugins.create().list_plugins()] == [BUILTIN]
    assert "water" in [i.name for i in Plugins.create(autoload=True).list_plugins()]
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "")
    assert "water" in [i.name for i in Plugins.create().list_plugins()]


def test_installed_loader_reads_the_sample_ledger(installed: Plugins) -> None:
    pool, report = load_entities(f"water:{LEDGER}", strict=False, plugins=installed)
    assert len(pool) == 6
    assert report.ok
    permit = pool["GCSW-QS-2012-0006"]
    assert (permit.category, permit.station, permit.region) == (
        "取水许可",
        "水利工作站",
        "青海湖农场",
    )
    assert permit.credit_class == "C"
    assert permit.attribute("许可水量(万m³)") == "3.6"
    assert permit.attribute("取水地点") == "青海湖农场二大队"
    assert pool["GCSW-QS-2021-0077"].blacklisted
    title = [p for p in report.warnings if "above the header" in p.reason]
    assert [(p.file, p.row) for p in title] == [(str(LEDGER), 1)]


def test_installed_plugin_checks_an_xlsx_ledger(installed: Plugins, tmp_path: Path) -> None:
    header = [
        "取水许可证号",
        "取水权人名称",
        "取水权人统一社会信用代码",
        "取水地点",
        "所在乡镇",
        "许可水量(万m³)",
        "有效期至",
    ]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "台账"
    for row in (
        header,
        [
            "GCSW-QS-2020-0001",
            "甲",
            "91350100M000100Y43",
            "泉吉乡年乃索麻村",
            "",
            2.5,
            dt.datetime(2030, 1, 1),
        ],
        ["GCSW-QS-2020-0002", "乙", "", "沙柳河镇城北", "哈尔盖镇", -1, "2030-01-01"],
        ["GCSW-QS-2020-0003", "丙", "91350100M000100Y4Z", "吉尔孟乡", "", 1, "2030-01-01"],
        ["GCSW-QS-2020-0004", "丁", "", "湖边", "", 1, "长期"],
    ):
        sheet.append(row)
    path = tmp_path / "台账.xlsx"
    workbook.save(path)
    pool, report = load_entities(f"water:{path}", strict=False, plugins=installed)
    assert pool.ids.tolist() == ["GCSW-QS-2020-0001"]
    assert pool["GCSW-QS-2020-0001"].region == "泉吉乡"  # from 取水地点
    located = {(p.row, p.column, p.severity) for p in report.problems}
    assert located == {
        (3, "许可水量(万m³)", "error"),
        (4, "取水权人统一社会信用代码", "error"),
        (5, "取水地点", "warning"),
        (5, "有效期至", "error"),
    }
    assert all(p.file == str(path) and p.sheet == "台账" for p in report.problems)
    with pytest.raises(LoaderError, match=r"台账\.xlsx \[台账\], row 3, column '许可水量\(万m³\)'"):
        load_entities(f"water:{path}", plugins=installed)


def test_installed_conflict_rule(
    installed: Plugins, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    inspector = Inspector(id="GC-INS-002", station="水利工作站")
    same = water_entity(region="哈尔盖镇")
    other = water_entity(region="泉吉乡")
    assert installed.conflicts(a_task(same), inspector, same) == []  # no township file yet
    monkeypatch.setenv("RANDCHECK_WATER_TOWNSHIPS", str(TOWNSHIPS))
    reasons = installed.conflicts(a_task(same), inspector, same)
    assert reasons == ["水利工作站回避规则：执法人员户籍所在乡镇（哈尔盖镇）与取水地点所在乡镇相同"]
    assert installed.conflicts(a_task(other), inspector, other) == []
    forest = Entity(id="GCLY-CF-1", category="林木采伐许可", station="林业站", region="哈尔盖镇")
    assert installed.conflicts(a_task(forest), inspector, forest) == []


def test_a_fresh_interpreter_loads_plugins_lazily(water_site: Path) -> None:
    code = (
        "import sys\n"
        "import randcheck\n"
        "assert 'randcheck_water_station' not in sys.modules\n"
        "assert 'randcheck.loaders.builtin' not in sys.modules\n"
        "assert getattr(sys.modules.get('randcheck.plugins'), '_plugins', None) is None\n"
        "from randcheck.plugins import get_plugins\n"
        "plugins = get_plugins()\n"
        "assert plugins is get_plugins()\n"
        "print(' '.join(info.name for info in plugins.list_plugins()))\n"
    )
    base = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(water_site), str(SRC)]),
    }
    names = subprocess.run(
        [sys.executable, "-c", code], env=base, capture_output=True, text=True, check=True
    ).stdout.split()
    assert names == [BUILTIN, "water"]
    names = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, DISABLE_AUTOLOAD_ENV: "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert names == [BUILTIN]


# -- the process-wide manager ------------------------------------------------------------


def test_get_plugins_is_created_once_and_can_be_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    previous = set_plugins(None)
    try:
        first = get_plugins()
        assert first is get_plugins()
        assert [i.name for i in first.list_plugins()] == [BUILTIN]
        mine = Plugins.isolated()
        assert set_plugins(mine) is first
        assert get_plugins() is mine
    finally:
        set_plugins(previous)


def test_isolated_managers() -> None:
    plain = Plugins.isolated()
    assert sorted(plain.loaders()) == ["csv", "json", "xlsx"]
    bare = Plugins.isolated(builtins=False)
    assert bare.loaders() == {}
    assert bare.list_plugins() == []
    assert bare.columns().field("entities", "统一社会信用代码") is None
    assert plain.columns().field("entities", "统一社会信用代码") == "id"
    assert repr(plain) == f"<Plugins {BUILTIN}>"


def test_hookimpl_marker() -> None:
    assert PROJECT_NAME == ENTRY_POINT_GROUP == "randcheck"
    assert hookimpl.project_name == "randcheck"


# -- the façade over each hook -----------------------------------------------------------


class TwoReasons:
    @hookimpl
    def randcheck_conflicts(self, inspector: Inspector, entity: Entity) -> Iterator[str]:
        if inspector.id == "GC-INS-001":
            yield "亲属关系：兄弟在该单位任职"
            yield "曾在该单位任职（三年内）"


class OneReason:
    @hookimpl
    def randcheck_conflicts(self, entity: Entity) -> str | None:
        return "企业申请回避" if entity.region == "哈尔盖镇" else None


class NotAReason:
    @hookimpl
    def randcheck_conflicts(self) -> list[object]:
        return [42]


def test_conflicts_are_combined_and_every_reason_kept() -> None:
    plugins = Plugins.isolated(TwoReasons(), OneReason())
    entity = water_entity()
    reasons = plugins.conflicts(a_task(entity), Inspector(id="GC-INS-001"), entity)
    assert sorted(reasons) == sorted(
        ["亲属关系：兄弟在该单位任职", "曾在该单位任职（三年内）", "企业申请回避"]
    )
    assert plugins.conflicts(a_task(entity), Inspector(id="GC-INS-009"), entity) == ["企业申请回避"]
    far = water_entity(region="泉吉乡")
    assert plugins.conflicts(a_task(far), Inspector(id="GC-INS-009"), far) == []
    broken = Plugins.isolated(NotAReason())
    with pytest.raises(PluginError, match="non-empty reason strings, got 42"):
        broken.conflicts(a_task(entity), Inspector(id="X"), entity)


class TripleBlacklisted:
    @hookimpl
    def randcheck_risk_weight(self, entity: Entity, weight: int) -> int | None:
        return weight * 3 if entity.blacklisted else None


class FlatForKeyItems:
    @hookimpl
    def randcheck_risk_weight(self, item: Item) -> int | None:
        return 1 if item.kind == "key" else None


class Exempting:
    @hookimpl
    def randcheck_risk_weight(self) -> int:
        return 0


def test_risk_weight_takes_the_first_answer() -> None:
    plugins = Plugins.isolated(TripleBlacklisted(), FlatForKeyItems())
    black = Entity(id="A", blacklisted=True)
    plain = Entity(id="B")
    general, key = an_item(), an_item(kind="key")
    assert plugins.overrides_risk_weight()
    assert plugins.risk_weight(general, black, 10) == 30
    assert plugins.risk_weight(general, plain, 10) == 10
    # The plugin registered last is asked first and its answer stands.
    assert plugins.risk_weight(key, black, 10) == 1
    assert not Plugins.isolated().overrides_risk_weight()
    with pytest.raises(PluginError, match="whole number >= 1 \\(no entity is exempt\\)"):
        Plugins.isolated(Exempting()).risk_weight(general, plain, 4)


def test_risk_weights_over_a_pool() -> None:
    pool = EntityPool.from_records(
        [{"id": "A", "credit_class": "A", "blacklisted": True}, {"id": "B", "credit_class": "D"}]
    )
    weights = RiskWeighted().weights(pool)
    assert Plugins.isolated().risk_weights(an_item(), pool, weights) is weights
    changed = Plugins.isolated(TripleBlacklisted()).risk_weights(an_item(), pool, weights)
    assert changed.tolist() == [int(weights[0]) * 3, int(weights[1])]
    assert changed.dtype == np.int64


class RejectSome:
    @hookimpl
    def randcheck_validate_pool(self, pool: Any, kind: str) -> Iterable[Problem]:
        if kind == "entities":
            yield Problem("该单位已注销", id="A-2", column="名称")
            yield Problem("名称含空格", severity="warning", id="A-3", column="名称")


def test_validate_pool_problems_are_located_and_applied(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "编号,名称,类别\nA-1,甲,取水许可\nA-2,乙,取水许可\nA-3,丙 丁,取水许可\n", encoding="utf-8"
    )
    plugins = Plugins.isolated(RejectSome())
    pool, report = load_entities(path, strict=False, plugins=plugins)
    assert pool.ids.tolist() == ["A-1", "A-3"]
    assert report.summaries[0].loaded == 2
    assert [(p.file, p.row, p.column, p.severity) for p in report.problems] == [
        (str(path), 3, "名称", "error"),
        (str(path), 4, "名称", "warning"),
    ]
    with pytest.raises(LoaderError, match=r"e\.csv, row 3, column '名称': error: 该单位已注销"):
        load_entities(path, plugins=plugins)
    assert plugins.validate_pool(pool, "entities")[0].reason == "该单位已注销"


class Recorder:
    def __init__(self) -> None:
        self.seen: list[object] = []

    @hookimpl
    def randcheck_after_draw(self, result: object) -> None:
        self.seen.append(result)


def test_after_draw_is_told_of_the_result() -> None:
    pool = EntityPool.from_records(
        [{"id": f"E{i:03d}", "category": "取水许可", "station": "水利工作站"} for i in range(40)]
    )
    result = randcheck.draw([an_item()], pool, seed="2026-11-26 第1轮", on="2026-11-26")
    recorder = Recorder()
    Plugins.isolated(recorder).after_draw(result)
    assert recorder.seen == [result]


# -- registration errors -----------------------------------------------------------------


def _table(source: Source) -> Table:
    """A loader that reads CSV."""
    return read_table(source)


class WaterA:
    @hookimpl
    def randcheck_register_loaders(self, register: LoaderRegistrar) -> None:
        register("water", _table)


class WaterB(WaterA):
    pass


class BadPrefix:
    @hookimpl
    def randcheck_register_loaders(self, register: LoaderRegistrar) -> None:
        register("W", _table)


class NotATable:
    @hookimpl
    def randcheck_register_loaders(self, register: LoaderRegistrar) -> None:
        register("odd", lambda source: {"rows": []})


class Remap:
    @hookimpl
    def randcheck_register_columns(self, register: Any) -> None:
        register("entities", "编号", "name")


class Misspelt:
    @hookimpl
    def randcheck_conflicts(self, task: Task, inspektor: Inspector) -> None:
        return None


def test_loader_registration_errors(tmp_path: Path) -> None:
    clash = Plugins.isolated()
    clash.register(WaterA(), name="station-a")
    clash.register(WaterB(), name="station-b")
    with pytest.raises(
        PluginError, match="'water' is registered by both 'station-a' and 'station-b'"
    ):
        clash.loaders()
    with pytest.raises(PluginError, match="registered the loader prefix 'W'"):
        Plugins.isolated(BadPrefix()).loaders()
    path = tmp_path / "x.csv"
    path.write_text("id\nA\n", encoding="utf-8")
    with pytest.raises(PluginError, match="odd: returned dict, not a Table"):
        load_entities(f"odd:{path}", plugins=Plugins.isolated(NotATable()))
    plugins = Plugins.isolated(WaterA())
    assert load_entities(f"water:{path}", plugins=plugins).ids.tolist() == ["A"]
    infos = {info.prefix: info for info in plugins.loader_infos()}
    assert infos["water"].description == "A loader that reads CSV."
    assert infos["water"].plugin == "WaterA"


def test_column_and_hook_validation_errors() -> None:
    with pytest.raises(PluginError, match="already maps to entities field 'id', not 'name'"):
        Plugins.isolated(Remap()).columns()
    with pytest.raises(PluginError, match="inspektor"):
        Plugins.isolated(Misspelt())
    plugins = Plugins.isolated()
    plugins.register(OneReason(), name="one")
    with pytest.raises(PluginError, match="one"):
        plugins.register(OneReason(), name="one")
    plugins.unregister("one")
    assert [i.name for i in plugins.list_plugins()] == [BUILTIN]


def test_list_plugins_of_registered_objects() -> None:
    plugins = Plugins.isolated()
    plugins.register(TwoReasons(), name="relatives")
    info = plugins.list_plugins()[1]
    assert (info.name, info.version, info.hooks, info.builtin) == (
        "relatives",
        None,
        ("randcheck_conflicts",),
        False,
    )
    assert info.to_record()["hooks"] == ["randcheck_conflicts"]
    text = plugins.describe()
    assert "  relatives (registered)\n    randcheck_conflicts" in text
    assert "  csv: CSV text" in text
