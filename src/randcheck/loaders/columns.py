"""The header mapping: which column of a register file feeds which field.

Bureaus write their registers with Chinese headers (``统一社会信用代码``,
``单位名称``, ``所属站所`` …), programs with the English field names of
:mod:`randcheck.model` (``id``, ``name``, ``station`` …). A :class:`ColumnMap`
maps both to the fields, per register kind. The built-in aliases
(:data:`BUILTIN_ALIASES`) are registered by the built-in plugin
:mod:`randcheck.loaders.builtin` through the ``randcheck_register_columns``
hook, exactly as a station plugin adds its own; the table in
``docs/loaders.md`` lists them.

Headers are compared after :func:`normalize_header`: Unicode NFKC (full-width
parentheses and letters become ASCII), case folded, with white space, ``_``,
``-``, ``·`` and the required-field markers ``*`` and ``※`` removed. So
``Credit Class``, ``credit_class`` and ``CREDIT-CLASS`` are one header, and so
are ``投诉举报（核实）`` and ``投诉举报(核实)``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Literal, get_args

import attrs

from ..pools import ENTITY_FIELDS

__all__ = [
    "BUILTIN_ALIASES",
    "FIELDS",
    "ID_FIELDS",
    "KINDS",
    "REQUIRED",
    "USCC_HEADERS",
    "ColumnMap",
    "HeaderMatch",
    "IdKind",
    "RegisterKind",
    "normalize_header",
]

#: The four registers of 一单两库 plus recusals.
RegisterKind = Literal["entities", "inspectors", "items", "conflicts"]

#: How strictly entity ids are checked as USCCs (see ``docs/loaders.md``):
#: ``"uscc"`` every id must be a USCC (a 15-digit 注册号 passes with a warning);
#: ``"auto"`` ids shaped like a USCC are checked, bureau codes pass;
#: ``"code"`` no USCC check at all.
IdKind = Literal["uscc", "auto", "code"]

#: Register kinds, in the order they are guessed and reported.
KINDS: tuple[RegisterKind, ...] = get_args(RegisterKind)

#: The fields of each register, in model order.
FIELDS: Mapping[RegisterKind, tuple[str, ...]] = {
    "entities": ENTITY_FIELDS,
    "inspectors": (
        "id",
        "name",
        "station",
        "certificate_no",
        "certificate_valid_until",
        "specialties",
        "active",
    ),
    "items": (
        "code",
        "name",
        "station",
        "legal_basis",
        "categories",
        "ratio",
        "minimum",
        "rounds_per_year",
        "team_size",
        "specialty",
        "kind",
        "policy",
    ),
    "conflicts": ("inspector_id", "entity_id", "reason"),
}

#: Columns a register file must have.
REQUIRED: Mapping[RegisterKind, tuple[str, ...]] = {
    "entities": ("id",),
    "inspectors": ("id", "certificate_no", "certificate_valid_until"),
    "items": ("code", "name", "station", "legal_basis"),
    "conflicts": ("inspector_id", "entity_id"),
}

#: The key field of each register (what duplicates and problems are named by).
ID_FIELDS: Mapping[RegisterKind, str] = {
    "entities": "id",
    "inspectors": "id",
    "items": "code",
    "conflicts": "inspector_id",
}

#: Headers of the entity id column that declare it a USCC column (``id_kind="uscc"``).
USCC_HEADERS: tuple[str, ...] = ("统一社会信用代码", "社会信用代码", "信用代码", "uscc")

#: The built-in header aliases, per register: header as written → field.
#: Every field also answers to its own English name.
BUILTIN_ALIASES: Mapping[RegisterKind, Mapping[str, str]] = {
    "entities": {
        "统一社会信用代码": "id",
        "社会信用代码": "id",
        "信用代码": "id",
        "uscc": "id",
        "单位编码": "id",
        "编号": "id",
        "对象编码": "id",
        "检查对象编码": "id",
        "注册号": "id",
        "单位名称": "name",
        "名称": "name",
        "企业名称": "name",
        "对象名称": "name",
        "检查对象名称": "name",
        "项目名称": "name",
        "类别": "category",
        "监管类别": "category",
        "对象类别": "category",
        "所属站所": "station",
        "站所": "station",
        "监管站所": "station",
        "所属区域": "region",
        "所属乡镇": "region",
        "所在乡镇": "region",
        "乡镇": "region",
        "区域": "region",
        "信用风险等级": "credit_class",
        "信用等级": "credit_class",
        "信用风险分类": "credit_class",
        "风险等级": "credit_class",
        "是否列入黑名单": "blacklisted",
        "黑名单": "blacklisted",
        "列入黑名单": "blacklisted",
        "投诉举报(核实)": "verified_complaints",
        "核实投诉数": "verified_complaints",
        "核实投诉举报数": "verified_complaints",
        "严重违法记录": "serious_violation",
        "严重违法": "serious_violation",
        "是否有严重违法记录": "serious_violation",
    },
    "inspectors": {
        "编号": "id",
        "工号": "id",
        "人员编号": "id",
        "执法人员编号": "id",
        "姓名": "name",
        "所属站所": "station",
        "站所": "station",
        "执法证号": "certificate_no",
        "执法证编号": "certificate_no",
        "有效期至": "certificate_valid_until",
        "执法证有效期至": "certificate_valid_until",
        "证件有效期至": "certificate_valid_until",
        "专业领域": "specialties",
        "专业": "specialties",
        "在岗状态": "active",
        "是否在岗": "active",
    },
    "items": {
        "事项编码": "code",
        "事项编号": "code",
        "抽查事项": "name",
        "事项名称": "name",
        "抽查事项名称": "name",
        "所属站所": "station",
        "实施主体": "station",
        "检查实施主体": "station",
        "抽查依据": "legal_basis",
        "检查依据": "legal_basis",
        "法律依据": "legal_basis",
        "检查对象类别": "categories",
        "对象类别": "categories",
        "抽查比例": "ratio",
        "最少抽查数": "minimum",
        "最低抽查数": "minimum",
        "抽查频次": "rounds_per_year",
        "检查人数": "team_size",
        "专业要求": "specialty",
        "事项类型": "kind",
        "事项类别": "kind",
        "抽取方式": "policy",
        "抽查策略": "policy",
    },
    "conflicts": {
        "执法人员编号": "inspector_id",
        "检查人员编号": "inspector_id",
        "人员编号": "inspector_id",
        "检查对象编码": "entity_id",
        "对象编码": "entity_id",
        "统一社会信用代码": "entity_id",
        "单位编码": "entity_id",
        "回避原因": "reason",
        "原因": "reason",
    },
}

_DROP = re.compile(r"[\s_\-·*※]+")


def normalize_header(header: object) -> str:
    """The comparison form of a header: NFKC, case folded, separators and ``*`` removed."""
    text = "" if header is None else str(header)
    text = unicodedata.normalize("NFKC", text).casefold()
    return _DROP.sub("", text)


@attrs.frozen
class HeaderMatch:
    """How the header row of one table maps to fields.

    ``fields`` maps each field to the index of its column; ``unknown`` lists
    the indices of columns that feed no field (entity attributes, or ignored);
    ``duplicates`` lists ``(field, indices)`` where several columns claim one
    field; ``id_kind`` is the USCC rule declared by the id header, if any.
    """

    fields: Mapping[str, int]
    unknown: tuple[int, ...]
    duplicates: tuple[tuple[str, tuple[int, ...]], ...]
    id_kind: IdKind | None


def _default_aliases() -> dict[RegisterKind, dict[str, str]]:
    return {kind: {normalize_header(f): f for f in FIELDS[kind]} for kind in KINDS}


@attrs.frozen
class ColumnMap:
    """Header aliases per register kind (normalized header → field).

    ``ColumnMap()`` knows only the English field names; the process-wide map,
    with the built-in Chinese aliases and those of station plugins, comes from
    :meth:`randcheck.plugins.Plugins.columns`. Build variants with
    :meth:`with_alias` / :meth:`with_aliases`; a map is immutable.
    """

    aliases: Mapping[RegisterKind, Mapping[str, str]] = attrs.field(factory=_default_aliases)
    id_kinds: Mapping[str, IdKind] = attrs.field(factory=dict)
    labels: Mapping[RegisterKind, Mapping[str, str]] = attrs.field(factory=dict)

    def with_alias(
        self, kind: RegisterKind, header: str, field: str, *, id_kind: IdKind | None = None
    ) -> ColumnMap:
        """A copy with ``header`` mapped to ``field`` in ``kind`` registers.

        Raises ``ValueError`` for an unknown kind or field, an empty header, or a
        header already mapped to another field.
        """
        if kind not in FIELDS:
            raise ValueError(f"unknown register kind {kind!r}; use one of {', '.join(KINDS)}")
        if field not in FIELDS[kind]:
            raise ValueError(
                f"{kind} registers have no field {field!r}; fields: {', '.join(FIELDS[kind])}"
            )
        key = normalize_header(header)
        if not key:
            raise ValueError("an empty header cannot be an alias")
        current = self.aliases[kind].get(key)
        if current is not None and current != field:
            raise ValueError(
                f"header {header!r} already maps to {kind} field {current!r}, not {field!r}"
            )
        if id_kind is not None and (kind, field) not in (("entities", "id"),):
            raise ValueError("id_kind applies only to the id column of entity registers")
        if id_kind is not None and id_kind not in get_args(IdKind):
            raise ValueError(f"id_kind must be one of {get_args(IdKind)}, got {id_kind!r}")
        aliases = {k: dict(v) for k, v in self.aliases.items()}
        aliases[kind][key] = field
        labels = {k: dict(v) for k, v in self.labels.items()}
        labels.setdefault(kind, {}).setdefault(key, str(header).strip())
        id_kinds = dict(self.id_kinds)
        if id_kind is not None:
            id_kinds[key] = id_kind
        return ColumnMap(aliases=aliases, id_kinds=id_kinds, labels=labels)

    def with_aliases(self, kind: RegisterKind, mapping: Mapping[str, str]) -> ColumnMap:
        """A copy with every ``header → field`` of ``mapping`` added (see :meth:`with_alias`)."""
        result = self
        for header, field in mapping.items():
            result = result.with_alias(kind, header, field)
        return result

    def overridden(self, kind: RegisterKind, mapping: Mapping[str, str]) -> ColumnMap:
        """A copy where ``mapping`` (header → field) replaces any alias of those headers."""
        if not mapping:
            return self
        aliases = {k: dict(v) for k, v in self.aliases.items()}
        for header, field in mapping.items():
            if field not in FIELDS[kind]:
                raise ValueError(
                    f"column {header!r} is mapped to {field!r}, which is not a field of "
                    f"{kind} registers ({', '.join(FIELDS[kind])})"
                )
            aliases[kind][normalize_header(header)] = field
        return attrs.evolve(self, aliases=aliases)

    def field(self, kind: RegisterKind, header: object) -> str | None:
        """The field ``header`` feeds in a ``kind`` register, or ``None``."""
        return self.aliases[kind].get(normalize_header(header))

    def match(
        self,
        kind: RegisterKind,
        header: Iterable[object],
        extra: Mapping[str, str] | None = None,
    ) -> HeaderMatch:
        """Map a header row; ``extra`` (header → field) takes precedence over the map."""
        own = {normalize_header(k): v for k, v in (extra or {}).items()}
        for title, wanted in (extra or {}).items():
            if wanted not in FIELDS[kind]:
                raise ValueError(
                    f"column {title!r} is mapped to {wanted!r}, which is not a field of "
                    f"{kind} registers ({', '.join(FIELDS[kind])})"
                )
        known = self.aliases[kind]
        claims: dict[str, list[int]] = {}
        unknown: list[int] = []
        id_kind: IdKind | None = None
        for index, cell in enumerate(header):
            key = normalize_header(cell)
            field = own.get(key) or known.get(key)
            if field is None:
                unknown.append(index)
                continue
            claims.setdefault(field, []).append(index)
            if kind == "entities" and field == "id":
                declared = self.id_kinds.get(key)
                if declared is None and key in {normalize_header(h) for h in USCC_HEADERS}:
                    declared = "uscc"
                id_kind = declared
        return HeaderMatch(
            fields={f: idx[0] for f, idx in claims.items()},
            unknown=tuple(unknown),
            duplicates=tuple((f, tuple(idx)) for f, idx in claims.items() if len(idx) > 1),
            id_kind=id_kind,
        )

    def recognised(self, header: Iterable[object], kind: RegisterKind | None = None) -> int:
        """How many cells of ``header`` name a field (of ``kind``, or of any register)."""
        kinds = KINDS if kind is None else (kind,)
        keys = [normalize_header(cell) for cell in header]
        return max(sum(1 for k in keys if k and k in self.aliases[x]) for x in kinds)

    def guess_kind(self, header: Iterable[object]) -> RegisterKind | None:
        """The register a header row most likely belongs to, or ``None`` when unclear.

        A kind qualifies when every required column is present; among those,
        the one with most recognised fields wins. A tie is ``None``.
        """
        cells = list(header)
        scores: list[tuple[int, RegisterKind]] = []
        for kind in KINDS:
            found = self.match(kind, cells).fields
            if all(f in found for f in REQUIRED[kind]):
                scores.append((len(found), kind))
        if not scores:
            return None
        scores.sort(key=lambda s: -s[0])
        if len(scores) > 1 and scores[0][0] == scores[1][0]:
            return None
        return scores[0][1]

    def table(self, kind: RegisterKind) -> list[tuple[str, str]]:
        """``(header, field)`` pairs of ``kind`` as registered, for documentation."""
        labels = self.labels.get(kind, {})
        return [(labels.get(key, key), field) for key, field in self.aliases[kind].items()]
