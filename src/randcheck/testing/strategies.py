"""Hypothesis strategies for randcheck's inputs: codes, registers, items, seeds.

Import it as ``rcst``, the way ``hypothesis.extra.numpy`` is imported as ``npst``::

    import randcheck.testing.strategies as rcst
    from hypothesis import given

    @given(pool=rcst.entity_pools(), items=rcst.item_lists(), seed=rcst.seeds())
    def test_every_draw_is_valid(pool, items, seed):
        assert_valid_draw(randcheck.draw(items, pool, seed=seed, on="2026-11-26"))

Every strategy takes keyword-only options and builds values the way a county's
registers look: unified social credit codes with correct check characters,
bureau codes, Chinese names, credit classes A–D, blacklists and complaints,
items with a legal basis and a policy, recusals between real ids, and seeds
with Chinese text, 30-digit numbers and observers' contributions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from ..canonical import canonical_id
from ..draw import DrawResult, draw
from ..model import CREDIT_CLASSES, Conflict, Inspector, Item
from ..policies import RISK_FACTS, Policy, Proportional, RiskWeighted
from ..pools import EntityPool, InspectorPool
from ..stream import Seed
from ..uscc import USCC_ALPHABET, USCC_REGISTERING_DEPARTMENTS, uscc_check_char

__all__ = [
    "CATEGORIES",
    "REGIONS",
    "conflict_tables",
    "draw_results",
    "entity_pools",
    "entity_records",
    "inspector_pools",
    "inspector_records",
    "item_lists",
    "items",
    "policies",
    "seeds",
    "usccs",
]

#: Default entity categories and the station responsible for each.
CATEGORIES: Mapping[str, str] = {
    "取水许可": "水利工作站",
    "水土保持方案": "水利工作站",
    "重点排污单位": "环境监察大队",
    "一般排污单位": "环境监察大队",
    "林木采伐许可": "林业站",
}

#: Default regions (towns and state farms of the sample county).
REGIONS: tuple[str, ...] = (
    "沙柳河镇",
    "哈尔盖镇",
    "伊克乌兰乡",
    "泉吉乡",
    "吉尔孟乡",
    "青海湖农场",
)

_SPECIALTIES = ("水资源", "水土保持", "大气", "水污染", "固体废物", "环评", "林政")
_SURNAMES = "王李张刘陈杨赵黄周吴扎西才让冶马韩"
_GIVEN = "德明华卫东静丽文杰措吉卓玛加布"
_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_DIGITS = "0123456789"


def _category_map(categories: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    if categories is None:
        return dict(CATEGORIES)
    if isinstance(categories, Mapping):
        return {str(k): str(v) for k, v in categories.items()}
    return {str(c): CATEGORIES.get(str(c), "") for c in categories}


@st.composite
def usccs(draw: st.DrawFn, *, division: str | None = None) -> str:
    """Valid unified social credit codes (统一社会信用代码, GB 32100-2015).

    Position 1 is a registering department (``1``–``9``, ``A``, ``N``, ``Y``),
    position 2 any character of the alphabet, positions 3–8 a division code of
    six digits, 9–17 an organisation code, and 18 the check character from
    :func:`randcheck.uscc.uscc_check_char`.

    Parameters
    ----------
    division
        A fixed six-digit administrative division code (``"632224"`` is 刚察县);
        default: any six digits.

    Returns
    -------
    SearchStrategy[str]
        18-character codes that :func:`randcheck.uscc.is_valid_uscc` accepts.

    Examples
    --------
    >>> rcst.usccs(division="632224").example()  # doctest: +SKIP
    '9163222406Y0QDG1X8'
    """
    if division is not None and (len(division) != 6 or not division.isdigit()):
        raise ValueError(f"a division code is six digits, not {division!r}")
    department = draw(st.sampled_from(USCC_REGISTERING_DEPARTMENTS))
    kind = draw(st.sampled_from(USCC_ALPHABET))
    region = division or draw(st.text(_DIGITS, min_size=6, max_size=6))
    organisation = draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    first17 = department + kind + region + organisation
    return first17 + uscc_check_char(first17)


def _bureau_codes() -> st.SearchStrategy[str]:
    return st.builds(
        lambda prefix, year, number: f"{prefix}-{year}-{number:04d}",
        st.sampled_from(("GCSW-QS", "GCSW-SB", "GCHB-PW", "GCHB-HP", "GCLY-CF")),
        st.integers(2005, 2026),
        st.integers(1, 9999),
    )


def _entity_ids(id_kind: str) -> st.SearchStrategy[str]:
    uscc = usccs()
    bureau = _bureau_codes()
    legacy = st.text(_DIGITS, min_size=15, max_size=15)
    chinese = st.builds(
        lambda head, number: f"{head}-{number}",
        st.text(_CJK, min_size=1, max_size=4),
        st.integers(0, 999),
    )
    if id_kind == "uscc":
        return uscc
    if id_kind == "code":
        return bureau
    if id_kind == "mixed":
        return st.one_of(uscc, bureau, legacy, chinese)
    raise ValueError(f"id_kind must be 'uscc', 'code' or 'mixed', not {id_kind!r}")


def _chinese_name(suffix: str) -> st.SearchStrategy[str]:
    return st.builds(lambda s: f"刚察县{s}{suffix}", st.text(_CJK, min_size=1, max_size=8))


@st.composite
def entity_records(
    draw: st.DrawFn,
    *,
    min_size: int = 0,
    max_size: int = 30,
    categories: Sequence[str] | Mapping[str, str] | None = None,
    with_risk: bool = True,
    id_kind: str = "mixed",
) -> list[dict[str, Any]]:
    """Rows of an entity register (检查对象名录库), as :meth:`EntityPool.from_records` reads them.

    Ids are unique after canonicalization. Each row has ``id``, ``name``,
    ``category``, ``station``, ``region`` and, with ``with_risk``, the risk
    facts ``credit_class`` (A–D or unclassified), ``blacklisted``,
    ``verified_complaints`` and ``serious_violation``; some rows carry the free
    attributes ``industry`` and ``scale``.

    Parameters
    ----------
    min_size, max_size
        Bounds on the number of rows.
    categories
        Category names, or a mapping category → station; default
        :data:`CATEGORIES`.
    with_risk
        Include the risk facts (default); without them every entity is
        unclassified with no blacklist, complaint or violation.
    id_kind
        ``"mixed"`` (USCCs, bureau codes, 15-digit registration numbers and
        Chinese codes), ``"uscc"`` or ``"code"``.

    Returns
    -------
    SearchStrategy[list[dict[str, Any]]]

    Examples
    --------
    >>> rcst.entity_records(max_size=2).example()  # doctest: +SKIP
    [{'id': '91632224MA7Q2NXL3C', 'name': '刚察县青湖公司', 'category': '取水许可', ...}]
    """
    mapping = _category_map(categories)
    if not mapping:
        raise ValueError("give at least one category")
    ids = draw(
        st.lists(
            _entity_ids(id_kind),
            min_size=min_size,
            max_size=max_size,
            unique_by=canonical_id,
        )
    )
    rows: list[dict[str, Any]] = []
    for ident in ids:
        category = draw(st.sampled_from(sorted(mapping)))
        row: dict[str, Any] = {
            "id": ident,
            "name": draw(_chinese_name(draw(st.sampled_from(("公司", "合作社", "项目", ""))))),
            "category": category,
            "station": mapping[category],
            "region": draw(st.sampled_from(REGIONS)),
        }
        if with_risk:
            row["credit_class"] = draw(st.sampled_from((*CREDIT_CLASSES, None)))
            row["blacklisted"] = draw(st.integers(0, 9)) == 9
            row["verified_complaints"] = draw(st.sampled_from((0, 0, 0, 1, 2, 5, 8)))
            row["serious_violation"] = draw(st.integers(0, 14)) == 14
        if draw(st.booleans()):
            row["industry"] = draw(st.sampled_from(("农村供水", "工业用水", "畜牧", "建材")))
            row["scale"] = draw(st.sampled_from(("大型", "中型", "小型", "微型")))
        rows.append(row)
    return rows


@st.composite
def entity_pools(
    draw: st.DrawFn,
    *,
    min_size: int = 1,
    max_size: int = 30,
    categories: Sequence[str] | Mapping[str, str] | None = None,
    with_risk: bool = True,
    id_kind: str = "mixed",
) -> EntityPool:
    """Entity pools built from :func:`entity_records`.

    Parameters
    ----------
    min_size, max_size
        Bounds on the number of entities.
    categories
        Category names, or a mapping category → station; default
        :data:`CATEGORIES`.
    with_risk
        Include credit classes, blacklists, complaints and violations.
    id_kind
        See :func:`entity_records`.

    Returns
    -------
    SearchStrategy[EntityPool]

    Examples
    --------
    >>> rcst.entity_pools(max_size=50).example()  # doctest: +SKIP
    <EntityPool 17 entities, digest 5be0c2a1…>
    """
    rows = draw(
        entity_records(
            min_size=min_size,
            max_size=max_size,
            categories=categories,
            with_risk=with_risk,
            id_kind=id_kind,
        )
    )
    return EntityPool.from_records(rows)


@st.composite
def inspector_records(
    draw: st.DrawFn,
    *,
    min_size: int = 2,
    max_size: int = 12,
    stations: Sequence[str] | None = None,
    on: dt.date = dt.date(2026, 11, 26),
    eligible_only: bool = False,
) -> list[dict[str, Any]]:
    """Rows of an inspector register (执法检查人员名录库).

    Ids are ``GC-INS-001``-style and unique; every row has a name, station,
    enforcement certificate (执法证) number and expiry, specialties and an
    ``active`` flag. Some certificates expire before ``on`` and some
    inspectors are inactive, unless ``eligible_only``.

    Parameters
    ----------
    min_size, max_size
        Bounds on the number of rows.
    stations
        Stations to staff; default the stations of :data:`CATEGORIES`.
    on
        The date certificates are judged against.
    eligible_only
        Every inspector active with a certificate valid on ``on``.

    Returns
    -------
    SearchStrategy[list[dict[str, Any]]]

    Examples
    --------
    >>> rcst.inspector_records(max_size=3).example()  # doctest: +SKIP
    [{'id': 'GC-INS-004', 'name': '扎西措', 'station': '林业站', ...}]
    """
    chosen = tuple(stations) if stations is not None else tuple(dict.fromkeys(CATEGORIES.values()))
    numbers = draw(st.lists(st.integers(1, 999), min_size=min_size, max_size=max_size, unique=True))
    rows: list[dict[str, Any]] = []
    for number in sorted(numbers):
        valid = eligible_only or draw(st.integers(0, 5)) < 5
        days = draw(st.integers(0, 1500))
        rows.append(
            {
                "id": f"GC-INS-{number:03d}",
                "name": draw(st.sampled_from(_SURNAMES))
                + draw(st.text(_GIVEN, min_size=1, max_size=2)),
                "station": draw(st.sampled_from(chosen)),
                "certificate_no": f"青刚执字{number:04d}号",
                "certificate_valid_until": (
                    on + dt.timedelta(days=days) if valid else on - dt.timedelta(days=1 + days)
                ).isoformat(),
                "specialties": draw(
                    st.lists(st.sampled_from(_SPECIALTIES), max_size=3, unique=True)
                ),
                "active": eligible_only or draw(st.integers(0, 7)) < 7,
            }
        )
    return rows


@st.composite
def inspector_pools(
    draw: st.DrawFn,
    *,
    min_size: int = 2,
    max_size: int = 12,
    stations: Sequence[str] | None = None,
    on: dt.date = dt.date(2026, 11, 26),
    eligible_only: bool = False,
) -> InspectorPool:
    """Inspector pools built from :func:`inspector_records` (same options).

    Returns
    -------
    SearchStrategy[InspectorPool]

    Examples
    --------
    >>> rcst.inspector_pools(eligible_only=True).example()  # doctest: +SKIP
    <InspectorPool 7 inspectors, digest 0c41e9d2…>
    """
    rows = draw(
        inspector_records(
            min_size=min_size,
            max_size=max_size,
            stations=stations,
            on=on,
            eligible_only=eligible_only,
        )
    )
    return InspectorPool.from_records(rows)


@st.composite
def policies(draw: st.DrawFn, *, risk_weighted: bool | None = None) -> Policy:
    """Draw policies: :class:`~randcheck.Proportional` or :class:`~randcheck.RiskWeighted`.

    Risk-weighted policies get class weights, fact weights and ``certain``
    facts from the ranges a bureau would use (every weight at least 1, so no
    class is exempt).

    Parameters
    ----------
    risk_weighted
        ``True``: only risk-weighted; ``False``: only proportional; ``None``
        (default): either.

    Returns
    -------
    SearchStrategy[Policy]

    Examples
    --------
    >>> rcst.policies(risk_weighted=True).example()  # doctest: +SKIP
    RiskWeighted(class_weights=(('', 2), ('A', 1), ...), certain=('blacklisted',))
    """
    weighted = draw(st.booleans()) if risk_weighted is None else risk_weighted
    if not weighted:
        return Proportional()
    classes = {c: draw(st.integers(1, 12)) for c in CREDIT_CLASSES}
    classes["unclassified"] = draw(st.integers(1, 12))
    return RiskWeighted(
        class_weights=classes,
        blacklisted=draw(st.integers(0, 16)),
        serious_violation=draw(st.integers(0, 16)),
        complaint=draw(st.integers(0, 4)),
        complaint_cap=draw(st.integers(0, 6)),
        certain=draw(st.lists(st.sampled_from(RISK_FACTS), max_size=2, unique=True)),
    )


_RATIOS = ("0.05", "5%", "0.1", "0.25", "1/3", "0.5", "100%", Fraction(1, 20), 0.07)


@st.composite
def items(
    draw: st.DrawFn,
    *,
    categories: Sequence[str] | Mapping[str, str] | None = None,
    code: str | None = None,
    policy: Policy | None = None,
) -> Item:
    """Inspection items (抽查事项) with a legal basis, a ratio and a policy.

    An item covers one or two of ``categories`` (or, sometimes, every entity
    of one station, with no categories); its ratio is one a bureau would write
    (``0.05``, ``5%``, ``1/3``…), its minimum 1–3, its team size 2–3, its
    kind general (一般) or key (重点), and its policy from :func:`policies`.

    Parameters
    ----------
    categories
        Category names, or a mapping category → station; default
        :data:`CATEGORIES`.
    code
        A fixed item code (default ``XX-00``-style codes).
    policy
        A fixed policy (default: :func:`policies`).

    Returns
    -------
    SearchStrategy[Item]

    Examples
    --------
    >>> rcst.items(categories=["取水许可"]).example()  # doctest: +SKIP
    Item(code='SL-07', name='取水许可监督检查', station='水利工作站', ...)
    """
    mapping = _category_map(categories)
    names = sorted(mapping)
    covered = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    station = mapping[covered[0]] or "水利工作站"
    by_station = bool(mapping[covered[0]]) and draw(st.integers(0, 5)) == 5
    return Item(
        code=code or draw(st.from_regex(r"\A(SL|HB|LY|SB)-[0-9]{2}\Z")),
        name=f"{'、'.join(covered)}监督检查",
        station=station,
        legal_basis=draw(
            st.sampled_from(
                (
                    "《中华人民共和国水法》",
                    "《取水许可和水资源费征收管理条例》",
                    "《中华人民共和国环境保护法》；《排污许可管理条例》",
                    "《中华人民共和国森林法》",
                )
            )
        ),
        categories=() if by_station else covered,
        ratio=draw(st.sampled_from(_RATIOS)),
        minimum=draw(st.integers(1, 3)),
        rounds_per_year=draw(st.sampled_from((1, 2, 4))),
        team_size=draw(st.integers(2, 3)),
        specialty=draw(st.sampled_from((None, *_SPECIALTIES))),
        kind=draw(st.sampled_from(("general", "key"))),
        policy=policy if policy is not None else draw(policies()),
    )


@st.composite
def item_lists(
    draw: st.DrawFn,
    *,
    min_size: int = 1,
    max_size: int = 4,
    categories: Sequence[str] | Mapping[str, str] | None = None,
) -> list[Item]:
    """Item lists (随机抽查事项清单): :func:`items` with distinct codes.

    Parameters
    ----------
    min_size, max_size
        Bounds on the number of items.
    categories
        Category names, or a mapping category → station; default
        :data:`CATEGORIES`.

    Returns
    -------
    SearchStrategy[list[Item]]

    Examples
    --------
    >>> [i.code for i in rcst.item_lists(max_size=3).example()]  # doctest: +SKIP
    ['HB-31', 'SL-02']
    """
    codes = draw(
        st.lists(
            st.from_regex(r"\A(SL|HB|LY|SB)-[0-9]{2}\Z"),
            min_size=min_size,
            max_size=max_size,
            unique=True,
        )
    )
    return [draw(items(categories=categories, code=c)) for c in codes]


def _ids_of(source: EntityPool | InspectorPool | Sequence[str]) -> list[str]:
    if isinstance(source, EntityPool):
        return [str(i) for i in source.ids.tolist()]
    if isinstance(source, InspectorPool):
        return list(source.ids)
    return [str(i) for i in source]


@st.composite
def conflict_tables(
    draw: st.DrawFn,
    *,
    inspectors: InspectorPool | Sequence[str],
    entities: EntityPool | Sequence[str],
    min_size: int = 0,
    max_size: int = 10,
) -> list[Conflict]:
    """Recusal tables (回避): distinct (inspector, entity) pairs with a reason.

    Parameters
    ----------
    inspectors
        The inspector pool (or ids) to recuse from.
    entities
        The entity pool (or ids) the recusals concern.
    min_size, max_size
        Bounds on the number of recusals (fewer when there are fewer pairs).

    Returns
    -------
    SearchStrategy[list[Conflict]]

    Examples
    --------
    >>> pool = rcst.entity_pools().example()  # doctest: +SKIP
    >>> staff = rcst.inspector_pools().example()  # doctest: +SKIP
    >>> rcst.conflict_tables(inspectors=staff, entities=pool).example()  # doctest: +SKIP
    [Conflict(inspector_id='GC-INS-012', entity_id='GCSW-QS-2016-0031', reason='近亲属')]
    """
    inspector_ids = _ids_of(inspectors)
    entity_ids = _ids_of(entities)
    if not inspector_ids or not entity_ids:
        if min_size:
            raise ValueError("recusals need at least one inspector and one entity")
        return []
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(inspector_ids), st.sampled_from(entity_ids)),
            min_size=min(min_size, len(inspector_ids) * len(entity_ids)),
            max_size=max_size,
            unique=True,
        )
    )
    reasons = ("本人申请回避", "近亲属持有该单位股份", "企业申请回避", "曾参与该项目审批", "")
    return [Conflict(i, e, draw(st.sampled_from(reasons))) for i, e in pairs]


@st.composite
def seeds(draw: st.DrawFn, *, ceremony: bool | None = None) -> Seed:
    """Public seeds: texts (Chinese, dates, 30-digit numbers) and ceremony seeds.

    A text seed is any non-blank text (CJK included), a dated round name
    (``"2026-11-26 第3轮"``), or a number of up to 30 digits, as text or as an
    integer. A ceremony seed holds the digits contributed by two to five
    observers (人大代表, 政协委员, 企业代表…) and sometimes a public beacon value.

    Parameters
    ----------
    ceremony
        ``True``: only ceremony seeds; ``False``: only text seeds; ``None``
        (default): either.

    Returns
    -------
    SearchStrategy[Seed]

    Examples
    --------
    >>> rcst.seeds().example()  # doctest: +SKIP
    Seed.from_text('2026-11-26 第4轮')
    """
    use_ceremony = draw(st.integers(0, 3)) == 3 if ceremony is None else ceremony
    if use_ceremony:
        names = draw(
            st.lists(
                st.sampled_from(
                    ("人大代表", "政协委员", "企业代表", "纪检监察员", "公证员", "记者")
                ),
                min_size=2,
                max_size=5,
                unique=True,
            )
        )
        digits = st.text(_DIGITS, min_size=1, max_size=12)
        beacon = draw(st.none() | st.text("0123456789abcdef", min_size=16, max_size=64))
        return Seed.from_contributions({n: draw(digits) for n in names}, beacon=beacon)
    kind = draw(st.integers(0, 3))
    if kind == 0:
        alphabet = st.one_of(_CJK, st.characters(codec="utf-8"))
        text = draw(st.text(alphabet, min_size=1, max_size=20).filter(lambda t: t.strip()))
        return Seed.from_text(text)
    if kind == 1:
        day = draw(st.dates(dt.date(2016, 1, 1), dt.date(2035, 12, 31)))
        return Seed.from_text(f"{day.isoformat()} 第{draw(st.integers(1, 12))}轮")
    number = draw(st.integers(0, 10**30 - 1))
    return Seed.from_text(number if draw(st.booleans()) else str(number))


@st.composite
def draw_results(
    draw_: st.DrawFn,
    *,
    min_size: int = 1,
    max_size: int = 30,
    max_items: int = 4,
    with_inspectors: bool = False,
) -> DrawResult:
    """Results of :func:`randcheck.draw` on generated pools, items and seeds.

    Parameters
    ----------
    min_size, max_size
        Bounds on the number of entities.
    max_items
        Most items in the list.
    with_inspectors
        Also give an inspector pool, so that every task gets a team. The pool
        always has, for each station of the items, as many inspectors as the
        largest team, certified until 2099 and holding every required
        specialty (so a team can always be staffed), plus generated ones.

    Returns
    -------
    SearchStrategy[DrawResult]

    Examples
    --------
    >>> rcst.draw_results().example()  # doctest: +SKIP
    <DrawResult 2 items, 5 selections, 4 tasks, seed 9d1c0e77…>
    """
    pool = draw_(entity_pools(min_size=min_size, max_size=max_size))
    listed = draw_(item_lists(max_size=max_items))
    staff = None
    if with_inspectors:
        specialties = sorted({i.specialty for i in listed if i.specialty})
        size = max((i.team_size for i in listed), default=2)
        core = [
            Inspector(
                id=f"CORE-{s:02d}-{k}",
                name=f"骨干{s}{k}",
                station=station,
                certificate_no=f"青刚执字{s:02d}{k:02d}号",
                certificate_valid_until=dt.date(2099, 12, 31),
                specialties=specialties,
            )
            for s, station in enumerate(sorted({i.station for i in listed}))
            for k in range(size)
        ]
        staff = InspectorPool([*core, *draw_(inspector_pools())])
    day = draw_(st.dates(dt.date(2016, 1, 1), dt.date(2035, 12, 31)))
    return draw(
        listed, pool, staff, seed=draw_(seeds()), on=day, created_at="2026-11-26T00:00:00+00:00"
    )
