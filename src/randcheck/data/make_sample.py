"""Make the synthetic sample county shipped with randcheck.

The sample is a made-up register of 刚察县 (Gangcha County, Qinghai) as its
Environmental Protection, Forestry and Water Bureau would keep it under its 2016
random-inspection rule: one item list and two pools (一单两库). Running this
script writes, into ``src/randcheck/data/`` or the directory given:

``entities.csv``
    about 2,000 entities to inspect (检查对象名录库) in seven categories of the
    three stations: firms with GB 32100 unified social credit codes (division
    code 632224), permits and projects with bureau codes, a few legacy 15-digit
    registration numbers;
``inspectors.csv``
    the one shared inspector pool (执法检查人员名录库), 40 certified inspectors;
``items.csv``
    the item list (随机抽查事项清单), nine items with legal basis and ratio;
``conflicts.csv``
    recusals (回避) of inspectors from entities;
``README.md``
    a description of the county, the files and their columns.

Every name, code and number is invented. The output is a pure function of the
fixed seed below, so running the script again reproduces the files byte for
byte::

    python src/randcheck/data/make_sample.py [OUTPUT_DIR]

This script uses :class:`random.Random` only to invent data; randcheck's draws
never use it.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from randcheck.loaders.columns import FIELDS

__all__ = [
    "CATEGORIES",
    "CONFLICT_COLUMNS",
    "ENTITY_COLUMNS",
    "INSPECTOR_COLUMNS",
    "ITEM_COLUMNS",
    "REGIONS",
    "SEED",
    "STATIONS",
    "main",
    "make_files",
]

#: Seed of the generator (the date of the county rule's deadline, 2016-07-13).
SEED = 20160713

#: Day the sample describes; some certificates have expired by then.
REFERENCE_DATE = dt.date(2026, 11, 26)

WATER = "水利工作站"
ENVIRONMENT = "环境监察大队"
FORESTRY = "林业站"

#: The three stations of the bureau.
STATIONS: tuple[str, ...] = (WATER, ENVIRONMENT, FORESTRY)

#: Entity categories, their station and how many entities each has.
CATEGORIES: tuple[tuple[str, str, int], ...] = (
    ("取水许可", WATER, 150),
    ("水土保持方案", WATER, 120),
    ("重点排污单位", ENVIRONMENT, 60),
    ("一般排污单位", ENVIRONMENT, 1250),
    ("建设项目", ENVIRONMENT, 180),
    ("林木采伐许可", FORESTRY, 140),
    ("使用林地审核", FORESTRY, 100),
)

#: Towns and state farms of the county with a sampling weight (the county seat is largest).
REGIONS: tuple[tuple[str, int], ...] = (
    ("沙柳河镇", 35),
    ("哈尔盖镇", 20),
    ("伊克乌兰乡", 12),
    ("泉吉乡", 12),
    ("吉尔孟乡", 10),
    ("青海湖农场", 6),
    ("黄玉农场", 5),
)

ENTITY_COLUMNS: tuple[str, ...] = (*FIELDS["entities"], "industry", "scale")
INSPECTOR_COLUMNS: tuple[str, ...] = FIELDS["inspectors"]
ITEM_COLUMNS: tuple[str, ...] = FIELDS["items"]
CONFLICT_COLUMNS: tuple[str, ...] = FIELDS["conflicts"]

DIVISION = "632224"  # 青海省海北藏族自治州刚察县

# ---------------------------------------------------------------------------
# Codes

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _uscc_check(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _org_check(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def _legacy_check(body14: str) -> str:
    """ISO 7064 MOD 11,10 check digit of a 14-digit registration number body."""
    p = 10
    for char in body14:
        s = (p + int(char)) % 10 or 10
        p = s * 2 % 11
    return str((11 - p) % 10)


class _Codes:
    """Issues unique entity ids."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        self.sequence: Counter[str] = Counter()

    def _claim(self, code: str) -> bool:
        if code in self.used:
            return False
        self.used.add(code)
        return True

    def uscc(self, prefix: str, *, new: bool) -> str:
        """A USCC ``prefix`` (department + category) ``632224`` organisation code, check."""
        while True:
            if new:
                body = "MA" + "".join(self.rng.choice(_ORG_BODY) for _ in range(6))
            elif prefix == "92":  # individual business re-registered from a licence
                body = "L" + "".join(self.rng.choice("0123456789") for _ in range(7))
            else:
                body = "".join(self.rng.choice("0123456789") for _ in range(8))
            first17 = prefix + DIVISION + body + _org_check(body)
            code = first17 + _uscc_check(first17)
            if self._claim(code):
                return code

    def legacy(self) -> str:
        """A 15-digit registration number of the county registry (个体 series 6xxxxxxx)."""
        while True:
            body = DIVISION + "6" + "".join(self.rng.choice("0123456789") for _ in range(7))
            code = body + _legacy_check(body)
            if self._claim(code):
                return code

    def bureau(self, prefix: str, year: int) -> str:
        """A bureau code such as ``GCSW-QS-2016-0012``, numbered within its year."""
        key = f"{prefix}-{year}"
        self.sequence[key] += self.rng.randint(1, 6)
        code = f"{key}-{self.sequence[key]:04d}"
        if not self._claim(code):  # pragma: no cover - numbers only grow
            raise AssertionError(code)
        return code


# ---------------------------------------------------------------------------
# Vocabulary


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


BRANDS: tuple[str, ...] = _words(
    "宏达 鑫源 瑞丰 兴隆 恒通 华盛 嘉禾 福源 安泰 丰泽 康达 金穗 绿洲 青湖 雪域 圣湖 "
    "牧源 草原 高原 昆仑 祁连 环湖 金滩 沙柳 格桑 吉祥 雪莲 藏源 德吉 扎西 卓越 宏盛 "
    "永盛 盛达 腾飞 天宇 博源 利民 惠民 众鑫 晟源 汇通 鼎盛 新源 湖畔 云杉 牦乡 裕丰 "
    "富源 金牛 通达 凯达 佳美 聚源 和顺 昌盛 宏远 长青 益民 诚信 同心 锦程 华瑞 伟业 "
    "信达 正源 泰和 金阳 天润 润泽 清源 碧水 蓝天 阳光 仁和 德隆 宝丰 源丰 鸿运 隆昌"
)

VILLAGES: dict[str, tuple[str, ...]] = {
    "沙柳河镇": ("潘保村", "尕曲村", "果洛藏贡麻村", "果洛藏秀麻村", "新海村", "塘渠村"),
    "哈尔盖镇": ("环仓贡麻村", "环仓秀麻村", "察拉村", "塘曲村", "若索村", "贡巴村"),
    "伊克乌兰乡": ("刚察贡麻村", "刚察秀麻村", "角什科贡麻村", "角什科秀麻村", "亚秀麻村"),
    "泉吉乡": ("泉吉村", "年乃亥村", "切吉村", "冶合茂村", "新泉村", "宁夏村"),
    "吉尔孟乡": ("吉尔孟村", "秀脑贡麻村", "秀脑秀麻村", "达玉村", "向阳村", "日芒村"),
    "青海湖农场": ("一大队", "二大队", "三大队", "场部"),
    "黄玉农场": ("一分场", "二分场", "场部"),
}

SCALES = ("大型", "中型", "小型", "微型")


@dataclass(frozen=True)
class _Kind:
    """One kind of entity within a category: how it is named and keyed."""

    weight: int
    pattern: str  # {brand}, {town}, {village}, {county}
    industry: str
    key: str  # a USCC prefix ("91", "92", "93", "12"), "legacy", or a bureau prefix
    scales: tuple[int, int, int, int]  # weights of 大型, 中型, 小型, 微型


KINDS: dict[str, tuple[_Kind, ...]] = {
    "一般排污单位": (
        _Kind(8, "刚察县{brand}畜牧产品加工有限公司", "畜牧产品加工", "91", (0, 2, 6, 4)),
        _Kind(5, "刚察县{brand}牛羊肉加工有限公司", "肉制品加工", "91", (0, 2, 6, 4)),
        _Kind(3, "青海{brand}乳业有限责任公司", "乳制品制造", "91", (0, 2, 5, 3)),
        _Kind(3, "刚察县{brand}饲料有限公司", "饲料加工", "91", (0, 1, 5, 4)),
        _Kind(4, "刚察县{brand}建材有限公司", "建筑材料", "91", (0, 1, 6, 4)),
        _Kind(3, "刚察县{brand}砂石料有限公司", "砂石开采", "91", (0, 1, 5, 4)),
        _Kind(2, "刚察县{brand}商品混凝土有限公司", "水泥制品制造", "91", (0, 2, 5, 1)),
        _Kind(2, "刚察县{town}{brand}石材加工厂", "石材加工", "92", (0, 0, 3, 7)),
        _Kind(3, "刚察县{town}{brand}加油站", "机动车燃油零售", "91", (0, 1, 5, 4)),
        _Kind(5, "刚察县{brand}汽车修理厂", "机动车维修", "91", (0, 0, 4, 6)),
        _Kind(7, "刚察县{town}{brand}汽车修理部", "机动车维修", "92", (0, 0, 1, 9)),
        _Kind(4, "刚察县{town}{brand}洗车行", "洗车服务", "92", (0, 0, 1, 9)),
        _Kind(5, "刚察县{brand}宾馆", "住宿业", "92", (0, 0, 3, 7)),
        _Kind(2, "刚察县{brand}大酒店有限公司", "住宿业", "91", (0, 2, 6, 2)),
        _Kind(9, "刚察县{town}{brand}餐厅", "餐饮业", "92", (0, 0, 1, 9)),
        _Kind(4, "刚察县{town}{brand}清真餐厅", "餐饮业", "92", (0, 0, 1, 9)),
        _Kind(4, "刚察县{village}{brand}农家乐", "餐饮住宿", "92", (0, 0, 1, 9)),
        _Kind(2, "刚察县{brand}洗涤有限公司", "洗染服务", "91", (0, 0, 4, 6)),
        _Kind(1, "刚察县{brand}印刷厂", "印刷", "92", (0, 0, 3, 7)),
        _Kind(2, "青海{brand}生物科技有限公司", "有机肥制造", "91", (0, 1, 5, 4)),
        _Kind(2, "刚察县{brand}藏毯有限公司", "地毯织造", "91", (0, 1, 5, 4)),
        _Kind(2, "刚察县{brand}民族用品加工厂", "民族用品制造", "92", (0, 0, 3, 7)),
        _Kind(6, "刚察县{village}{brand}畜牧养殖专业合作社", "牲畜饲养", "93", (0, 0, 4, 6)),
        _Kind(4, "刚察县{village}生态畜牧业专业合作社", "牲畜饲养", "93", (0, 1, 5, 4)),
        _Kind(2, "刚察县{town}{brand}诊所", "卫生诊所", "92", (0, 0, 1, 9)),
        _Kind(1, "刚察县{town}{brand}液化气站", "燃气供应", "91", (0, 0, 4, 6)),
        _Kind(2, "刚察县{town}{brand}供热站", "热力供应", "91", (0, 0, 5, 5)),
        _Kind(1, "刚察县{town}{brand}废旧物资回收站", "再生资源回收", "92", (0, 0, 2, 8)),
        _Kind(1, "刚察县{town}{brand}小卖部", "餐饮业", "legacy", (0, 0, 0, 1)),
    ),
    "重点排污单位": (
        _Kind(3, "青海{brand}煤业有限公司", "煤炭开采", "91", (3, 5, 2, 0)),
        _Kind(3, "青海{brand}矿业有限公司", "非金属矿采选", "91", (2, 5, 3, 0)),
        _Kind(4, "刚察县{brand}热力有限公司", "热力供应", "91", (1, 5, 4, 0)),
        _Kind(5, "刚察县{brand}畜牧产品加工有限公司", "畜牧产品加工", "91", (1, 5, 4, 0)),
        _Kind(4, "刚察县{brand}屠宰有限公司", "畜禽屠宰", "91", (1, 5, 4, 0)),
        _Kind(3, "青海{brand}乳业有限责任公司", "乳制品制造", "91", (1, 5, 4, 0)),
        _Kind(3, "刚察县{brand}新型建材有限公司", "砖瓦制造", "91", (0, 5, 5, 0)),
        _Kind(3, "刚察县{brand}商品混凝土有限公司", "水泥制品制造", "91", (0, 5, 5, 0)),
        _Kind(2, "青海{brand}路桥工程有限公司沥青搅拌站", "沥青混合料制造", "91", (1, 5, 4, 0)),
        _Kind(2, "刚察县{brand}洗毛有限公司", "毛纺洗毛", "91", (0, 4, 6, 0)),
        _Kind(2, "青海{brand}有机肥有限公司", "有机肥制造", "91", (0, 4, 6, 0)),
        _Kind(2, "刚察县{brand}皮革制品有限公司", "皮革鞣制加工", "91", (0, 4, 6, 0)),
    ),
    "取水许可": (
        _Kind(8, "刚察县{village}饮水安全工程取水许可", "农村供水", "GCSW-QS", (0, 1, 5, 4)),
        _Kind(5, "刚察县{village}人工草地灌溉工程取水许可", "农业灌溉", "GCSW-QS", (0, 1, 5, 4)),
        _Kind(
            4,
            "刚察县{brand}畜牧产品加工有限公司自备井取水许可",
            "工业用水",
            "GCSW-QS",
            (0, 1, 5, 4),
        ),
        _Kind(2, "刚察县{brand}宾馆自备井取水许可", "服务业用水", "GCSW-QS", (0, 0, 3, 7)),
        _Kind(2, "青海{brand}矿业有限公司生产取水许可", "工业用水", "GCSW-QS", (1, 4, 5, 0)),
        _Kind(2, "刚察县{brand}商品混凝土有限公司取水许可", "工业用水", "GCSW-QS", (0, 2, 6, 2)),
        _Kind(1, "刚察县{town}{brand}洗车行取水许可", "服务业用水", "GCSW-QS", (0, 0, 1, 9)),
    ),
    "水土保持方案": (
        _Kind(4, "{town}至{town2}公路{work}工程", "公路工程", "GCSW-SB", (1, 5, 4, 0)),
        _Kind(3, "刚察县{brand}光伏电站{phase}项目", "光伏发电", "GCSW-SB", (2, 5, 3, 0)),
        _Kind(2, "刚察县{brand}风电场{phase}项目", "风力发电", "GCSW-SB", (2, 5, 3, 0)),
        _Kind(3, "刚察县{village}牧民定居点建设项目", "房屋建筑", "GCSW-SB", (0, 2, 6, 2)),
        _Kind(2, "青海{brand}矿业有限公司矿区{work}工程", "矿山开采", "GCSW-SB", (1, 5, 4, 0)),
        _Kind(2, "刚察县{town}{brand}砂石料场开采项目", "砂石开采", "GCSW-SB", (0, 2, 6, 2)),
        _Kind(2, "刚察县{town}{infra}工程", "市政工程", "GCSW-SB", (0, 3, 6, 1)),
        _Kind(1, "刚察县{village}{brand}输变电工程", "输变电工程", "GCSW-SB", (0, 3, 6, 1)),
    ),
    "建设项目": (
        _Kind(3, "刚察县{brand}畜牧产品加工{phase}项目", "畜牧产品加工", "GCHB-HP", (0, 3, 6, 1)),
        _Kind(2, "刚察县{town}{infra}工程", "市政工程", "GCHB-HP", (0, 3, 6, 1)),
        _Kind(2, "刚察县{brand}光伏电站{phase}项目", "光伏发电", "GCHB-HP", (2, 5, 3, 0)),
        _Kind(2, "{town}至{town2}公路{work}工程", "公路工程", "GCHB-HP", (1, 5, 4, 0)),
        _Kind(2, "刚察县{brand}加油站{work}项目", "机动车燃油零售", "GCHB-HP", (0, 0, 5, 5)),
        _Kind(2, "刚察县{brand}屠宰场{work}项目", "畜禽屠宰", "GCHB-HP", (0, 3, 6, 1)),
        _Kind(1, "刚察县{town}卫生院{work}项目", "卫生", "GCHB-HP", (0, 1, 6, 3)),
        _Kind(2, "刚察县{brand}商品混凝土搅拌站建设项目", "水泥制品制造", "GCHB-HP", (0, 3, 6, 1)),
        _Kind(1, "刚察县{village}{brand}养殖小区建设项目", "牲畜饲养", "GCHB-HP", (0, 1, 6, 3)),
    ),
    "林木采伐许可": (
        _Kind(4, "刚察县{village}{tree}{cut}", "林木采伐", "GCLY-CF", (0, 0, 4, 6)),
        _Kind(2, "刚察县{town}{road}两侧{tree}{cut}", "林木采伐", "GCLY-CF", (0, 1, 5, 4)),
        _Kind(1, "刚察县{brand}苗木专业合作社{tree}{cut}", "林木采伐", "GCLY-CF", (0, 0, 4, 6)),
    ),
    "使用林地审核": (
        _Kind(3, "{town}至{town2}公路{work}工程使用林地", "公路工程", "GCLY-LD", (0, 4, 5, 1)),
        _Kind(2, "刚察县{brand}光伏电站{phase}项目使用林地", "光伏发电", "GCLY-LD", (1, 4, 5, 0)),
        _Kind(2, "刚察县{village}{infra}工程使用林地", "市政工程", "GCLY-LD", (0, 2, 6, 2)),
        _Kind(1, "青海{brand}矿业有限公司探矿使用林地", "矿产勘查", "GCLY-LD", (0, 3, 6, 1)),
        _Kind(1, "刚察县{village}{brand}输变电工程使用林地", "输变电工程", "GCLY-LD", (0, 3, 6, 1)),
    ),
}

_FILLERS: dict[str, tuple[str, ...]] = {
    "work": ("新建", "改建", "改扩建", "提升改造", "养护维修"),
    "phase": ("一期", "二期", "三期", "扩建", ""),
    "infra": (
        "供排水管网",
        "集中供热管网",
        "污水处理厂",
        "生活垃圾填埋场",
        "防洪堤",
        "农贸市场",
        "小城镇道路",
        "人饮水源地保护",
    ),
    "tree": ("青杨", "小叶杨", "青海云杉", "祁连圆柏", "旱柳", "沙棘"),
    "cut": ("更新采伐", "抚育采伐", "卫生采伐", "低效林改造采伐"),
    "road": ("G315国道", "S204省道", "环湖东路", "沙柳河"),
}

# Public institutions that discharge (boilers, medical waste, sewage): USCC 12.
INSTITUTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("刚察县人民医院", "沙柳河镇", "医疗卫生", "中型"),
    ("刚察县藏医院", "沙柳河镇", "医疗卫生", "中型"),
    ("刚察县妇幼保健计划生育服务中心", "沙柳河镇", "医疗卫生", "小型"),
    ("刚察县沙柳河镇卫生院", "沙柳河镇", "医疗卫生", "小型"),
    ("刚察县哈尔盖镇卫生院", "哈尔盖镇", "医疗卫生", "小型"),
    ("刚察县伊克乌兰乡卫生院", "伊克乌兰乡", "医疗卫生", "小型"),
    ("刚察县泉吉乡卫生院", "泉吉乡", "医疗卫生", "小型"),
    ("刚察县吉尔孟乡卫生院", "吉尔孟乡", "医疗卫生", "小型"),
    ("刚察县民族寄宿制中学", "沙柳河镇", "教育", "中型"),
    ("刚察县第一完全小学", "沙柳河镇", "教育", "小型"),
    ("刚察县哈尔盖镇寄宿制小学", "哈尔盖镇", "教育", "小型"),
    ("刚察县职业技术学校", "沙柳河镇", "教育", "小型"),
    ("刚察县殡仪馆", "沙柳河镇", "殡葬服务", "小型"),
    ("刚察县动物疫病预防控制中心", "沙柳河镇", "动物防疫", "小型"),
)

# Key units the county always has, with fixed names.
KEY_FIXED: tuple[tuple[str, str, str, str, str], ...] = (
    ("刚察县城市污水处理厂", "沙柳河镇", "污水处理", "中型", "91"),
    ("刚察县哈尔盖镇污水处理站", "哈尔盖镇", "污水处理", "小型", "91"),
    ("刚察县生活垃圾卫生填埋场", "沙柳河镇", "垃圾处理", "小型", "12"),
    ("刚察县医疗废物集中处置中心", "沙柳河镇", "危险废物处置", "小型", "91"),
    ("刚察县人民医院污水处理站", "沙柳河镇", "医疗卫生", "小型", "12"),
)

# ---------------------------------------------------------------------------
# Entities


def _weighted(rng: random.Random, options: Sequence[str], weights: Sequence[int]) -> str:
    return rng.choices(list(options), weights=list(weights))[0]


def _region(rng: random.Random) -> str:
    return _weighted(rng, [r for r, _ in REGIONS], [w for _, w in REGIONS])


def _fill(rng: random.Random, pattern: str, region: str) -> str:
    towns = [r for r, _ in REGIONS if r.endswith(("镇", "乡"))]
    town = region if region in towns else rng.choice(towns)
    town2 = rng.choice([t for t in towns if t != town])
    values = {
        "brand": rng.choice(BRANDS),
        "town": town,
        "town2": town2,
        "village": region + rng.choice(VILLAGES[region]),
        "county": "刚察县",
    }
    for key, options in _FILLERS.items():
        values[key] = rng.choice(options)
    return pattern.format(**values)


def _risk(rng: random.Random, category: str) -> tuple[str, bool, int, bool]:
    """Credit class, blacklisted, verified complaints, serious violation."""
    is_permit = category not in ("重点排污单位", "一般排污单位")
    classes = ["A", "B", "C", "D", ""]
    weights = [38, 32, 9, 3, 18] if is_permit else [42, 38, 11, 4, 5]
    credit = _weighted(rng, classes, weights)
    black_p = {"A": 0.002, "B": 0.007, "C": 0.04, "D": 0.2, "": 0.015}[credit]
    serious_p = {"A": 0.005, "B": 0.015, "C": 0.08, "D": 0.35, "": 0.03}[credit]
    complaint_p = {"A": 0.04, "B": 0.08, "C": 0.2, "D": 0.4, "": 0.08}[credit]
    if category == "重点排污单位":
        complaint_p *= 2
    blacklisted = rng.random() < black_p
    serious = rng.random() < serious_p
    complaints = 0
    if rng.random() < complaint_p:
        complaints = int(_weighted(rng, "12345", [50, 25, 12, 8, 5]))
    return credit, blacklisted, complaints, serious


def _entity_row(
    rng: random.Random,
    codes: _Codes,
    names: set[str],
    category: str,
    station: str,
    kinds: Sequence[_Kind],
) -> list[str]:
    for _ in range(1000):
        kind = rng.choices(list(kinds), weights=[k.weight for k in kinds])[0]
        region = _region(rng)
        year = rng.randint(2012, 2026)
        name = _fill(rng, kind.pattern, region)
        if name not in names:
            break
        if category in ("林木采伐许可", "取水许可"):
            candidate = f"{name}（{year}年）"
            if candidate not in names:
                name = candidate
                break
    else:  # pragma: no cover - the vocabulary is large enough
        raise AssertionError(f"cannot name a new {category} entity")
    names.add(name)
    if kind.key == "legacy":
        entity_id = codes.legacy()
    elif kind.key[0].isdigit():
        entity_id = codes.uscc(kind.key, new=rng.random() < 0.6)
    else:
        entity_id = codes.bureau(kind.key, year)
    scale = _weighted(rng, SCALES, kind.scales)
    return [
        entity_id,
        name,
        category,
        station,
        region,
        *_risk_text(rng, category),
        kind.industry,
        scale,
    ]


def _risk_text(rng: random.Random, category: str) -> list[str]:
    credit, blacklisted, complaints, serious = _risk(rng, category)
    return [credit, _bool(blacklisted), str(complaints), _bool(serious)]


def _bool(value: bool) -> str:
    return "true" if value else "false"


def make_entities(rng: random.Random) -> list[list[str]]:
    """The entity pool rows, category by category."""
    codes = _Codes(rng)
    names: set[str] = set()
    rows: list[list[str]] = []
    for category, station, count in CATEGORIES:
        block: list[list[str]] = []
        if category == "一般排污单位":
            for name, region, industry, scale in INSTITUTIONS:
                names.add(name)
                entity_id = codes.uscc("12", new=False)
                block.append(
                    [
                        entity_id,
                        name,
                        category,
                        station,
                        region,
                        *_risk_text(rng, category),
                        industry,
                        scale,
                    ]
                )
        if category == "重点排污单位":
            for name, region, industry, scale, prefix in KEY_FIXED:
                names.add(name)
                entity_id = codes.uscc(prefix, new=False)
                block.append(
                    [
                        entity_id,
                        name,
                        category,
                        station,
                        region,
                        *_risk_text(rng, category),
                        industry,
                        scale,
                    ]
                )
        while len(block) < count:
            block.append(_entity_row(rng, codes, names, category, station, KINDS[category]))
        block.sort(key=lambda row: row[0])
        rows.extend(block)
    return rows


# ---------------------------------------------------------------------------
# Inspectors

HAN_SURNAMES = _words("王 李 张 刘 陈 杨 赵 马 韩 祁 冶 孙 朱 何 郭 罗 谢 宋 石 魏")
HAN_GIVEN = _words(
    "建国 海军 永福 志强 晓燕 丽 娟 伟 明 军 红梅 玉兰 生林 得福 有才 文斌 秀英 小龙 "
    "国庆 海燕 成林 青松 占福 存良 春花 晓东 卫东 宏伟 亮 静"
)
TIBETAN_NAMES = _words(
    "才让 卓玛 扎西 多杰 拉毛 索南 更登 周毛 仁青 旦正 尖措 公保 华旦 德吉 桑杰 "
    "完玛 当周 吉毛 措毛 才旦 南加 东智 本加 贡保 昂秀 拉加 万德 加羊"
)

SPECIALTIES: dict[str, tuple[str, ...]] = {
    WATER: ("水资源", "水土保持"),
    ENVIRONMENT: ("大气", "水污染", "固体废物", "环评"),
    FORESTRY: ("林政", "森林防火"),
}


def _person_name(rng: random.Random, used: set[str]) -> str:
    while True:
        if rng.random() < 0.45:
            first = rng.choice(TIBETAN_NAMES)
            second = rng.choice(TIBETAN_NAMES)
            name = first + second if first != second else first + "吉"
            if rng.random() < 0.3:
                name = rng.choice(TIBETAN_NAMES)
        else:
            name = rng.choice(HAN_SURNAMES) + rng.choice(HAN_GIVEN)
        if name not in used:
            used.add(name)
            return name


def make_inspectors(rng: random.Random) -> list[list[str]]:
    """The inspector pool rows: 12 water, 16 environment, 12 forestry."""
    plan = [(WATER, 12), (ENVIRONMENT, 16), (FORESTRY, 12)]
    names: set[str] = set()
    certificates = rng.sample(range(1, 1000), 40)
    inactive = set(rng.sample(range(40), 3))
    rows: list[list[str]] = []
    index = 0
    for station, count in plan:
        own = SPECIALTIES[station]
        for _ in range(count):
            k = rng.randint(1, len(own)) if station != ENVIRONMENT else rng.randint(2, 3)
            chosen = rng.sample(own, k)
            if station == WATER and rng.random() < 0.2:
                chosen.append("环评")
            if station == FORESTRY and rng.random() < 0.25:
                chosen.append("水土保持")
            specialties = [s for s in _all_specialties() if s in chosen]
            year = int(_weighted(rng, ["2025", "2026", "2027", "2028", "2029"], [2, 5, 10, 11, 10]))
            valid_until = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
            rows.append(
                [
                    f"GC-INS-{index + 1:03d}",
                    _person_name(rng, names),
                    station,
                    f"青刚执字{certificates[index]:04d}号",
                    valid_until.isoformat(),
                    ";".join(specialties),
                    _bool(index not in inactive),
                ]
            )
            index += 1
    return rows


def _all_specialties() -> list[str]:
    return [s for station in STATIONS for s in SPECIALTIES[station]]


# ---------------------------------------------------------------------------
# Items

ITEMS: tuple[tuple[str, ...], ...] = (
    (
        "SL-01",
        "取水许可实施情况监督检查",
        WATER,
        "《中华人民共和国水法》；《取水许可和水资源费征收管理条例》；《取水许可管理办法》",
        "取水许可",
        "0.05",
        "2",
        "2",
        "2",
        "水资源",
        "general",
        "proportional",
    ),
    (
        "SL-02",
        "生产建设项目水土保持方案实施情况检查",
        WATER,
        "《中华人民共和国水土保持法》；《中华人民共和国水土保持法实施条例》",
        "水土保持方案;建设项目",
        "0.05",
        "2",
        "2",
        "2",
        "水土保持",
        "general",
        "proportional",
    ),
    (
        "HB-01",
        "重点排污单位污染防治设施运行情况检查",
        ENVIRONMENT,
        "《中华人民共和国环境保护法》；《中华人民共和国水污染防治法》；"
        "《中华人民共和国大气污染防治法》",
        "重点排污单位",
        "0.25",
        "2",
        "4",
        "2",
        "水污染",
        "key",
        "risk-weighted",
    ),
    (
        "HB-02",
        "重点排污单位污染物排放情况检查",
        ENVIRONMENT,
        "《中华人民共和国环境保护法》；《中华人民共和国大气污染防治法》；"
        "《中华人民共和国固体废物污染环境防治法》",
        "重点排污单位",
        "0.25",
        "2",
        "4",
        "2",
        "大气",
        "key",
        "risk-weighted",
    ),
    (
        "HB-03",
        "一般排污单位污染防治设施运行及污染物排放情况检查",
        ENVIRONMENT,
        "《中华人民共和国环境保护法》；《中华人民共和国水污染防治法》；"
        "《中华人民共和国大气污染防治法》",
        "一般排污单位",
        "0.05",
        "3",
        "2",
        "2",
        "",
        "general",
        "proportional",
    ),
    (
        "HB-04",
        "建设项目环境影响评价及“三同时”制度执行情况检查",
        ENVIRONMENT,
        "《中华人民共和国环境影响评价法》；《建设项目环境保护管理条例》",
        "建设项目",
        "0.05",
        "2",
        "2",
        "2",
        "环评",
        "general",
        "proportional",
    ),
    (
        "HB-05",
        "排污许可证执行情况检查",
        ENVIRONMENT,
        "《排污许可管理条例》；《中华人民共和国环境保护法》",
        "重点排污单位;一般排污单位",
        "0.05",
        "3",
        "2",
        "2",
        "",
        "general",
        "risk-weighted",
    ),
    (
        "LY-01",
        "林木采伐许可证执行情况监督检查",
        FORESTRY,
        "《中华人民共和国森林法》；《中华人民共和国森林法实施条例》",
        "林木采伐许可",
        "0.05",
        "2",
        "2",
        "2",
        "林政",
        "general",
        "proportional",
    ),
    (
        "LY-02",
        "建设项目使用林地审核审批事项监督检查",
        FORESTRY,
        "《中华人民共和国森林法》；《建设项目使用林地审核审批管理办法》",
        "使用林地审核",
        "0.05",
        "2",
        "2",
        "2",
        "林政",
        "general",
        "proportional",
    ),
)


def make_items() -> list[list[str]]:
    """The item list rows."""
    return [list(item) for item in ITEMS]


# ---------------------------------------------------------------------------
# Conflicts

CONFLICT_REASONS: tuple[str, ...] = (
    "亲属关系：配偶系该单位法定代表人",
    "亲属关系：兄弟在该单位任职",
    "近亲属持有该单位股份",
    "曾在该单位任职",
    "本人申请回避",
    "企业申请回避：曾参与对该单位的行政处罚",
    "企业申请回避",
    "曾参与该项目行政许可审查",
    "曾参与该项目环评文件技术审查",
    "与该单位存在经济往来",
)


def make_conflicts(
    rng: random.Random, inspectors: Sequence[Sequence[str]], entities: Sequence[Sequence[str]]
) -> list[list[str]]:
    """Fifteen recusals, mostly between an inspector and an entity of the same station."""
    by_station: dict[str, list[str]] = {s: [] for s in STATIONS}
    for row in entities:
        by_station[row[3]].append(row[0])
    pairs: set[tuple[str, str]] = set()
    rows: list[list[str]] = []
    while len(rows) < 15:
        inspector = rng.choice(inspectors)
        same = rng.random() < 0.85
        station = inspector[2] if same else rng.choice(STATIONS)
        entity_id = rng.choice(by_station[station])
        if (inspector[0], entity_id) in pairs:
            continue
        pairs.add((inspector[0], entity_id))
        rows.append([inspector[0], entity_id, rng.choice(CONFLICT_REASONS)])
    rows.sort()
    return rows


# ---------------------------------------------------------------------------
# Output


def _csv_text(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def _readme(
    entities: Sequence[Sequence[str]],
    inspectors: Sequence[Sequence[str]],
    items: Sequence[Sequence[str]],
    conflicts: Sequence[Sequence[str]],
) -> str:
    per_category = Counter(row[2] for row in entities)
    per_region = Counter(row[4] for row in entities)
    per_station = Counter(row[2] for row in inspectors)
    eligible = sum(
        1
        for row in inspectors
        if row[6] == "true" and dt.date.fromisoformat(row[4]) >= REFERENCE_DATE
    )
    category_lines = "\n".join(
        f"| {category} | {station} | {per_category[category]} |"
        for category, station, _ in CATEGORIES
    )
    region_lines = "\n".join(f"| {region} | {per_region[region]} |" for region, _ in REGIONS)
    item_lines = "\n".join(
        f"| {row[0]} | {row[1]} | {row[2]} | {row[4]} | {row[5]} | {row[10]} | {row[11]} |"
        for row in items
    )
    blacklisted = sum(row[6] == "true" for row in entities)
    serious = sum(row[8] == "true" for row in entities)
    complaints = sum(row[7] != "0" for row in entities)
    unclassified = sum(row[5] == "" for row in entities)
    legacy = sum(len(row[0]) == 15 and row[0].isdigit() for row in entities)
    return f"""# The sample county: 刚察县

A synthetic register of 刚察县 (Gangcha County, 海北藏族自治州, Qinghai, on the north
shore of 青海湖) as its Environmental Protection, Forestry and Water Bureau
(刚察县环境保护和林业水利局) would keep it under its 2016 random-inspection rule:
one item list and two pools (一单两库). The bureau has three stations: {", ".join(STATIONS)}.

**Every name, code and number here is invented.** The unified social credit codes
are well formed (GB 32100-2015, division code 632224 刚察县, correct check
characters) but belong to no real organisation.

The files are written by `make_sample.py` from a fixed seed; regenerate them with

    python src/randcheck/data/make_sample.py [OUTPUT_DIR]

All files are UTF-8 CSV with a header row, comma separated, `\\n` line ends.
Booleans are `true`/`false`, lists are joined with `;`, dates are `YYYY-MM-DD`.

## entities.csv — the entity pool (检查对象名录库), {len(entities)} rows

| column | meaning |
|---|---|
| `id` | entity id: a USCC, a bureau code or a legacy registration number (below) |
| `name` | name of the entity, permit or project |
| `category` | entity category (below) |
| `station` | the station responsible |
| `region` | town or state farm |
| `credit_class` | credit-risk class `A`–`D` (low → high risk), blank if unclassified |
| `blacklisted` | on a blacklist ({blacklisted} rows) |
| `verified_complaints` | number of verified complaints ({complaints} rows above 0) |
| `serious_violation` | has a serious violation record ({serious} rows) |
| `industry` | industry (extra attribute) |
| `scale` | `大型`, `中型`, `小型` or `微型` (extra attribute) |

Ids: firms, cooperatives and public institutions have a USCC (统一社会信用代码, 18
characters: `91…` companies, `92…` individual businesses, `93…` farmers' cooperatives,
`12…` public institutions); permits and projects have a bureau code, numbered by year
(`GCSW-QS-…` 取水许可, `GCSW-SB-…` 水土保持方案, `GCHB-HP-…` 建设项目, `GCLY-CF-…`
林木采伐许可, `GCLY-LD-…` 使用林地审核); {legacy} small businesses registered before
the reform have only a 15-digit registration number (注册号). {unclassified} entities
have no credit class yet.

| category | station | entities |
|---|---|---|
{category_lines}

| region | entities |
|---|---|
{region_lines}

## inspectors.csv — the inspector pool (执法检查人员名录库), {len(inspectors)} rows

One pool shared by all items: {per_station[WATER]} in {WATER}, {per_station[ENVIRONMENT]} in
{ENVIRONMENT}, {per_station[FORESTRY]} in {FORESTRY}. On {REFERENCE_DATE.isoformat()},
{eligible} are active with a valid certificate; the others have an expired certificate or
are inactive.

| column | meaning |
|---|---|
| `id` | `GC-INS-001` … |
| `name` | personal name |
| `station` | the inspector's station |
| `certificate_no` | enforcement certificate (执法证) number |
| `certificate_valid_until` | last day the certificate is valid |
| `specialties` | `;`-joined: {", ".join(_all_specialties())} |
| `active` | still on staff and available |

## items.csv — the item list (随机抽查事项清单), {len(items)} rows

| column | meaning |
|---|---|
| `code` | item code |
| `name` | item name |
| `station` | the station that inspects |
| `legal_basis` | the laws and regulations the inspection rests on |
| `categories` | `;`-joined entity categories the item covers |
| `ratio` | share of the covered entities drawn per round, as a decimal |
| `minimum` | least number drawn per round |
| `rounds_per_year` | rounds per year |
| `team_size` | inspectors per visit (at least 2) |
| `specialty` | specialty an inspector on the team must have, blank for none |
| `kind` | `general` (一般) or `key` (重点) |
| `policy` | `proportional` (equal chance) or `risk-weighted` (more intensity for risk) |

| code | name | station | categories | ratio | kind | policy |
|---|---|---|---|---|---|---|
{item_lines}

## conflicts.csv — recusals (回避), {len(conflicts)} rows

| column | meaning |
|---|---|
| `inspector_id` | an inspector id from inspectors.csv |
| `entity_id` | an entity id from entities.csv |
| `reason` | why the inspector may not inspect the entity |

## The same registers as stations keep them

`entities-gbk.csv` (GBK, Chinese headers, 是/否), `inspectors.xlsx` (Excel, 在岗/离岗),
`items-zh.csv` and `conflicts-zh.csv` (UTF-8 with BOM, Chinese headers) hold the same
registers; `randcheck demo` draws from these.

## plan.csv — the year plan (not generated)

Four rounds in 2026 over items.csv, with credit-class ratios A 3 %, B 5 %, C 20 %, D 100 %
and general items capped at 5 %: `randcheck plan report --plan plan.csv --entities entities.csv`.
"""


#: The registers again, as stations keep them: Chinese headers and cell values,
#: the entity register in GBK, the inspector register as an Excel workbook.
STATION_FILES = {
    "entities": "entities-gbk.csv",
    "inspectors": "inspectors.xlsx",
    "items": "items-zh.csv",
    "conflicts": "conflicts-zh.csv",
}
ENTITY_HEADERS_ZH = (
    "检查对象编码",
    "单位名称",
    "监管类别",
    "所属站所",
    "所属乡镇",
    "信用风险等级",
    "是否列入黑名单",
    "投诉举报(核实)",
    "严重违法记录",
    "行业",
    "规模",
)
INSPECTOR_HEADERS_ZH = ("工号", "姓名", "所属站所", "执法证号", "有效期至", "专业领域", "在岗状态")
ITEM_HEADERS_ZH = (
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
)
CONFLICT_HEADERS_ZH = ("执法人员编号", "检查对象编码", "回避原因")


def _yes_no(value: str) -> str:
    return "是" if value == "true" else "否"


def station_tables(
    entities: Sequence[Sequence[str]],
    inspectors: Sequence[Sequence[str]],
    items: Sequence[Sequence[str]],
    conflicts: Sequence[Sequence[str]],
) -> dict[str, tuple[tuple[str, ...], list[list[str]]]]:
    """The registers with Chinese headers and values, as ``{kind: (headers, rows)}``."""
    ent = [[*r[:6], _yes_no(r[6]), r[7], _yes_no(r[8]), *r[9:]] for r in entities]
    ins = [[*r[:6], "在岗" if r[6] == "true" else "离岗"] for r in inspectors]
    kind = {"general": "一般", "key": "重点"}
    policy = {"proportional": "等概率", "risk-weighted": "风险加权"}
    its = [
        [
            *r[:5],
            f"{float(Fraction(r[5]) * 100):g}%",
            r[6],
            f"每年{r[7]}次",
            r[8],
            r[9],
            kind[r[10]],
            policy[r[11]],
        ]
        for r in items
    ]
    return {
        "entities": (ENTITY_HEADERS_ZH, ent),
        "inspectors": (INSPECTOR_HEADERS_ZH, ins),
        "items": (ITEM_HEADERS_ZH, its),
        "conflicts": (CONFLICT_HEADERS_ZH, [list(r) for r in conflicts]),
    }


def write_station_files(
    target: Path, tables: dict[str, tuple[tuple[str, ...], list[list[str]]]]
) -> list[Path]:
    """Write the station-format registers: GBK and UTF-8 (BOM) CSV, and .xlsx.

    The workbook needs openpyxl; its bytes carry a timestamp, so only its cells
    are reproducible.
    """
    from openpyxl import Workbook

    written = []
    for kind, encoding in (("entities", "gbk"), ("items", "utf-8-sig"), ("conflicts", "utf-8-sig")):
        headers, rows = tables[kind]
        path = target / STATION_FILES[kind]
        path.write_bytes(_csv_text(headers, rows).encode(encoding))
        written.append(path)
    headers, rows = tables["inspectors"]
    book = Workbook()
    sheet = book.active
    sheet.title = "执法检查人员名录库"
    sheet.append(list(headers))
    for row in rows:
        sheet.append([*row[:4], dt.date.fromisoformat(row[4]), *row[5:]])
        sheet.cell(row=sheet.max_row, column=5).number_format = "yyyy-mm-dd"
    book.properties.creator = "刚察县环境保护和林业水利局"
    book.properties.created = dt.datetime(2026, 11, 1)
    path = target / STATION_FILES["inspectors"]
    book.save(path)
    written.append(path)
    return written


def make_files() -> dict[str, str]:
    """The sample files as ``{file name: text}``, a pure function of :data:`SEED`."""
    rng = random.Random(SEED)
    entities = make_entities(rng)
    inspectors = make_inspectors(rng)
    items = make_items()
    conflicts = make_conflicts(rng, inspectors, entities)
    return {
        "entities.csv": _csv_text(ENTITY_COLUMNS, entities),
        "inspectors.csv": _csv_text(INSPECTOR_COLUMNS, inspectors),
        "items.csv": _csv_text(ITEM_COLUMNS, items),
        "conflicts.csv": _csv_text(CONFLICT_COLUMNS, conflicts),
        "README.md": _readme(entities, inspectors, items, conflicts),
    }


def main(out_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Write the sample files into ``out_dir`` (default: this file's directory).

    Returns the paths written.
    """
    target = Path(out_dir) if out_dir is not None else Path(__file__).resolve().parent
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in make_files().items():
        path = target / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        written.append(path)
    rng = random.Random(SEED)
    entities = make_entities(rng)
    inspectors = make_inspectors(rng)
    tables = station_tables(
        entities, inspectors, make_items(), make_conflicts(rng, inspectors, entities)
    )
    written += write_station_files(target, tables)
    return written


def _cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out_dir", nargs="?", help="output directory (default: next to this file)")
    args = parser.parse_args()
    for path in main(args.out_dir):
        print(path)


if __name__ == "__main__":
    _cli()
