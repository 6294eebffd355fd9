"""Validation of register tables: :class:`Problem` records and the :class:`Report`.

Every finding is a :class:`Problem` naming file, sheet, row, column (the
header as written in the file), the offending value, the reason and a
severity: an ``"error"`` keeps the row out (lenient mode) or stops the load
(strict mode); a ``"warning"`` is reported and the row is loaded. No row is
dropped without a problem that names it.

The rules are listed in ``docs/loaders.md``. In short:

* entities: a non-empty id without control characters; the USCC rule of the id
  column (``id_kind``); no duplicate ids (a row repeated verbatim is loaded
  once, with a warning); credit class A–D or empty; yes/no flags; counts ≥ 0;
* inspectors: a readable certificate expiry date (a warning when it has passed
  on the day given as ``on``); a known on-duty status;
* items: a code, name, station and legal basis; a ratio in (0, 1]; positive
  whole numbers; ``一般``/``重点``; a known policy;
* conflicts: both ids; a warning when no reason is recorded;
* every register but conflicts: at least one row.

:func:`check_registers` cross-checks loaded registers (unknown categories,
inspectors and entities named by recusals, specialties nobody has …).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np

from ..errors import LoaderError, PolicyError
from ..model import Conflict, Inspector, Item, format_ratio, parse_ratio
from ..policies import Policy, policy_from_record
from ..pools import EntityPool, InspectorPool
from ..uscc import is_legacy_registration_number, uscc_valid_mask, validate_uscc
from .columns import (
    BUILTIN_ALIASES,
    FIELDS,
    ID_FIELDS,
    REQUIRED,
    ColumnMap,
    IdKind,
    RegisterKind,
)

if TYPE_CHECKING:
    from ..plugins import Plugins
    from .files import Table

__all__ = [
    "Problem",
    "Register",
    "Report",
    "Severity",
    "Summary",
    "build_register",
    "check_registers",
    "parse_date",
    "parse_flag",
    "parse_list",
    "parse_rounds",
]

#: How bad a problem is: an error keeps the row out, a warning does not.
Severity = Literal["error", "warning"]

#: What a register file loads into.
Register = EntityPool | InspectorPool | tuple[Item, ...] | tuple[Conflict, ...]

_KIND_NAMES: Mapping[str, str] = {
    "entities": "entity",
    "inspectors": "inspector",
    "items": "item",
    "conflicts": "conflict",
}


def _short(value: object) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= 120 else text[:119] + "…"


@attrs.frozen
class Problem:
    """One finding about a register: where it is, what is wrong, how bad it is.

    ``column`` is the header as written in the file (or the field name when
    the column is missing); ``row`` the row number in the file (the header is
    row 1 of a CSV file; for JSON, the 1-based position of the record);
    ``id`` the key of the record concerned when known; ``register`` its kind.
    """

    reason: str
    severity: Severity = attrs.field(default="error")
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = attrs.field(default=None, converter=_short)
    id: str | None = None
    register: RegisterKind | None = None

    @severity.validator
    def _check_severity(self, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in ("error", "warning"):
            raise ValueError(f"severity must be 'error' or 'warning', got {value!r}")

    @property
    def is_error(self) -> bool:
        """Whether this problem is an error (not a warning)."""
        return self.severity == "error"

    @property
    def where(self) -> str:
        """``file [sheet], row N, column 'C'``: as much of the location as is known."""
        parts: list[str] = []
        if self.file is not None:
            parts.append(self.file + (f" [{self.sheet}]" if self.sheet else ""))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.id is not None and self.row is None:
            parts.append(f"id {self.id!r}")
        return ", ".join(parts)

    def format(self) -> str:
        """One line: ``where: severity: reason (value '…')``."""
        head = f"{self.where}: " if self.where else ""
        tail = f" (value {self.value!r})" if self.value not in (None, "") else ""
        return f"{head}{self.severity}: {self.reason}{tail}"

    def to_record(self) -> dict[str, Any]:
        """The problem as JSON-ready data."""
        return attrs.asdict(self)

    def __str__(self) -> str:
        return self.format()


@attrs.frozen
class Summary:
    """What was read from one table: ``rows`` data rows, of which ``loaded`` were loaded."""

    file: str
    kind: RegisterKind | None
    rows: int
    loaded: int
    sheet: str | None = None
    format: str | None = None
    encoding: str | None = None

    def format_line(self) -> str:
        """``file [sheet]: entities, 2,000 rows, 1,998 loaded (csv, utf-8)``."""
        where = self.file + (f" [{self.sheet}]" if self.sheet else "")
        how = ", ".join(x for x in (self.format, self.encoding) if x)
        what = self.kind or "unknown register"
        return f"{where}: {what}, {self.rows:,} rows, {self.loaded:,} loaded" + (
            f" ({how})" if how else ""
        )


def _problem_tuple(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    return tuple(problems)


def _summary_tuple(summaries: Iterable[Summary]) -> tuple[Summary, ...]:
    return tuple(summaries)


@attrs.frozen
class Report:
    """Every problem found while loading or checking registers, and what was read.

    ``ok`` is true when there is no error (warnings allowed). Reports add up
    with ``+``. :meth:`format` is the text ``randcheck check`` prints.
    """

    problems: tuple[Problem, ...] = attrs.field(default=(), converter=_problem_tuple)
    summaries: tuple[Summary, ...] = attrs.field(default=(), converter=_summary_tuple)

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems of severity ``"error"``."""
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The problems of severity ``"warning"``."""
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def ok(self) -> bool:
        """No errors (there may be warnings)."""
        return not any(p.severity == "error" for p in self.problems)

    def __add__(self, other: Report) -> Report:
        if not isinstance(other, Report):
            return NotImplemented
        return Report(
            problems=self.problems + other.problems, summaries=self.summaries + other.summaries
        )

    def counts(self) -> str:
        """``"2 errors, 1 warning"``."""
        e, w = len(self.errors), len(self.warnings)
        return f"{e} error{'s' * (e != 1)}, {w} warning{'s' * (w != 1)}"

    def format(self, *, warnings: bool = True, limit: int | None = None) -> str:
        """The report as text: one line per file read, one per problem, then the counts.

        ``warnings=False`` leaves warnings out; ``limit`` caps the problem lines.
        """
        lines = [s.format_line() for s in self.summaries]
        shown = [p for p in self.problems if warnings or p.severity == "error"]
        cut = shown if limit is None else shown[:limit]
        lines.extend(p.format() for p in cut)
        if len(cut) < len(shown):
            lines.append(f"… and {len(shown) - len(cut)} more")
        lines.append(self.counts())
        return "\n".join(lines)

    def to_records(self) -> list[dict[str, Any]]:
        """Every problem as JSON-ready data."""
        return [p.to_record() for p in self.problems]

    def raise_for_errors(self, message: str | None = None, *, source: str | None = None) -> None:
        """Raise :class:`LoaderError` listing every problem when there is an error.

        The message shows up to 200 problems; ``error.problems`` holds them all,
        errors first.
        """
        if self.ok:
            return
        ordered = self.errors + self.warnings
        head = message or f"{self.counts()} in the register"
        body = "\n  ".join(p.format() for p in ordered[:200])
        more = f"\n  … and {len(ordered) - 200} more (see .problems)" if len(ordered) > 200 else ""
        raise LoaderError(f"{head}:\n  {body}{more}", problems=ordered, source=source)

    def __repr__(self) -> str:
        return f"<Report {len(self.summaries)} files, {self.counts()}>"


# -- cell parsers -------------------------------------------------------------------

_TRUE = ("true", "1", "yes", "y", "t", "是", "√", "✓", "有", "已列入", "列入")
_FALSE = ("false", "0", "no", "n", "f", "否", "", "无", "未列入", "×")
_FLAGS: dict[str, bool] = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
_FLAGS_FAST: dict[Any, bool] = {
    **_FLAGS,
    **{k.upper(): v for k, v in _FLAGS.items()},
    **{k.capitalize(): v for k, v in _FLAGS.items()},
    True: True,
    False: False,
    None: False,
}
_ON_DUTY = ("在岗", "在职", "正常")
_OFF_DUTY = ("离岗", "退休", "调离", "离职", "停职", "借调")
_ACTIVE: dict[str, bool] = {
    **_FLAGS,
    **dict.fromkeys(_ON_DUTY, True),
    **dict.fromkeys(_OFF_DUTY, False),
    "": True,
}
_LIST_SPLIT = re.compile(r"[;；、]")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_PERIODS = {"年": 1, "半年": 2, "季度": 4, "季": 4, "月": 12}
_ROUNDS = (
    re.compile(r"^(?:每|一)?(半年|年|季度|季|月)(?:抽查|检查)?(?P<n>\S+?)次$"),
    re.compile(r"^(?P<n>\S+?)次\s*/\s*(半年|年|季度|季|月)$"),
)
_KINDS = {
    "general": "general",
    "一般": "general",
    "一般事项": "general",
    "": "general",
    "key": "key",
    "重点": "key",
    "重点事项": "key",
}
_POLICIES = {
    "proportional": "proportional",
    "比例": "proportional",
    "按比例": "proportional",
    "等比例": "proportional",
    "等概率": "proportional",
    "随机": "proportional",
    "risk-weighted": "risk-weighted",
    "risk_weighted": "risk-weighted",
    "riskweighted": "risk-weighted",
    "风险加权": "risk-weighted",
    "按风险": "risk-weighted",
    "按信用风险": "risk-weighted",
    "信用风险": "risk-weighted",
    "": "proportional",
}
_CREDIT: dict[object, str | None] = {"": None, None: None}
for _c in "ABCD":
    for _form in (_c, _c.lower(), _c + "类", _c + "级", _c.lower() + "类", _c.lower() + "级"):
        _CREDIT[_form] = _c
_COUNTS: dict[object, int] = {
    "": 0,
    None: 0,
    **{str(i): i for i in range(100)},
    **{i: i for i in range(100)},
}


def _text(value: object) -> str:
    from .files import cell_text

    return cell_text(value)


def _texts(values: Sequence[Any]) -> list[str]:
    """Cell texts of a column; for all-text columns, one NFC pass over the joined column."""
    if set(map(type, values)) <= {str}:
        joined = "\x1f".join(values)
        if not joined.isascii():
            # NFC never composes across the control character U+001F.
            joined = unicodedata.normalize("NFC", joined)
        parts = joined.split("\x1f")
        if len(parts) == len(values):
            return list(map(str.strip, parts))
    return [_text(v) for v in values]


def parse_flag(value: object) -> bool:
    """A yes/no cell: ``true/false``, ``1/0``, ``yes/no``, ``是/否``, ``有/无``; empty is no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = unicodedata.normalize("NFKC", _text(value)).casefold()
    if text in _FLAGS:
        return _FLAGS[text]
    raise ValueError("expected yes or no (true/false, 1/0, 是/否, 有/无)")


def _parse_active(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = unicodedata.normalize("NFKC", _text(value)).casefold()
    if text in _ACTIVE:
        return _ACTIVE[text]
    raise ValueError("expected an on-duty status: 在岗 / 离岗 / 退休, or true / false")


def _parse_count(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, int):
        number = value
    else:
        text = unicodedata.normalize("NFKC", _text(value))
        if re.fullmatch(r"[+-]?\d+(\.0*)?", text) is None:
            raise ValueError("expected a whole number")
        number = int(text.split(".")[0])
    if number < 0:
        raise ValueError("expected a count of zero or more")
    return number


def _parse_positive(value: object) -> int:
    number = _parse_count(value)
    if number < 1:
        raise ValueError("expected a whole number of at least 1")
    return number


def _credit(value: object) -> str | None:
    text = unicodedata.normalize("NFKC", _text(value)).upper().rstrip("类级").strip()
    if text in ("", "A", "B", "C", "D"):
        return text or None
    raise ValueError("expected a credit-risk class A, B, C or D (or empty for unclassified)")


def parse_date(value: object) -> dt.date | None:
    """A date cell: a date, ``2029-01-27``, ``2029/1/27``, ``2029.1.27``, ``2029年1月27日``.

    Empty is ``None``. Anything else raises ``ValueError``.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        raise ValueError(
            "expected a date (YYYY-MM-DD); a number here is often an Excel date "
            "in a cell not formatted as a date"
        )
    text = unicodedata.normalize("NFKC", _text(value))
    if not text:
        return None
    match = _DATE.match(text)
    try:
        if match:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("expected a date such as 2029-01-27") from None


def parse_list(value: object) -> tuple[str, ...]:
    """A list cell: a JSON list, or text joined with ``;``, ``；`` or ``、``."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        parts = [_text(v) for v in value]
    else:
        parts = _LIST_SPLIT.split(_text(value))
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def _cn_int(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text and all(ch in _CN_DIGITS or ch == "十" for ch in text):
        if "十" not in text:
            return int("".join(str(_CN_DIGITS[ch]) for ch in text))
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    raise ValueError(text)


def parse_rounds(value: object) -> int:
    """Rounds per year: ``2``, ``每年2次``, ``每年两次``, ``每半年一次``, ``每季度1次``, ``2次/年``.

    Raises ``ValueError`` for anything else.
    """
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return _parse_positive(value)
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", _text(value)))
    if re.fullmatch(r"\d+", text):
        return _parse_positive(text)
    for pattern in _ROUNDS:
        match = pattern.match(text)
        if match:
            period = next(g for g in match.groups() if g in _PERIODS)
            try:
                count = _cn_int(match["n"])
            except (ValueError, KeyError):
                break
            if count >= 1:
                return count * _PERIODS[period]
    raise ValueError("expected rounds per year: a whole number, or 每年N次 / 每半年N次 / 每季度N次")


def _parse_kind(value: object) -> str:
    text = _text(value).casefold()
    if text in _KINDS:
        return _KINDS[text]
    raise ValueError("expected the item kind 一般 (general) or 重点 (key)")


def _parse_policy(value: object) -> Policy:
    if isinstance(value, Mapping):
        try:
            return policy_from_record(value)
        except (PolicyError, TypeError) as exc:
            raise ValueError(str(exc)) from None
    text = _text(value).casefold().replace(" ", "")
    if text in _POLICIES:
        return policy_from_record(_POLICIES[text])
    raise ValueError("expected the policy proportional (按比例) or risk-weighted (风险加权)")


def _parse_ratio(value: object) -> Fraction:
    if value is None or _text(value) == "":
        raise ValueError("the ratio is empty")
    return parse_ratio(value if not isinstance(value, str) else _text(value))


# -- the build ----------------------------------------------------------------------


class _Bad:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


_MISS = object()


def _convert(
    values: Sequence[Any], fast: Mapping[object, Any], slow: Callable[[Any], Any]
) -> list[Any]:
    """Map cells through a lookup table, with a parsing function for the rest."""
    get = fast.get
    try:
        out = [get(v, _MISS) for v in values]
    except TypeError:  # an unhashable cell (a JSON list or object)
        out = [_MISS] * len(values)
    if _MISS in out:
        for i in [i for i, result in enumerate(out) if result is _MISS]:
            try:
                out[i] = slow(values[i])
            except (ValueError, TypeError) as exc:
                out[i] = _Bad(str(exc))
    return out


@attrs.define
class _Context:
    table: Table
    kind: RegisterKind
    header_fields: Mapping[str, int]
    id_kind: IdKind
    on: dt.date
    problems: list[Problem] = attrs.field(factory=list)
    bad: bytearray = attrs.field(factory=bytearray)
    skip: bytearray = attrs.field(factory=bytearray)
    _columns: list[tuple[Any, ...]] | None = None

    def column_cells(self, index: int) -> Sequence[Any]:
        """The cells of column ``index`` (the table is transposed once, on first use)."""
        if self._columns is None:
            self._columns = list(zip(*self.table.rows, strict=True))
        return self._columns[index] if self._columns else ()

    def cells(self, field: str) -> Sequence[Any] | None:
        index = self.header_fields.get(field)
        if index is None:
            if field in self.table.defaults:
                return [self.table.defaults[field]] * len(self.table.rows)
            return None
        return self.column_cells(index)

    def column_name(self, field: str) -> str:
        index = self.header_fields.get(field)
        return self.table.header[index] if index is not None else field

    def report(
        self,
        i: int | None,
        field: str | None,
        reason: str,
        *,
        value: object = None,
        severity: Severity = "error",
        ident: str | None = None,
        column: str | None = None,
    ) -> None:
        t = self.table
        self.problems.append(
            Problem(
                reason=reason,
                severity=severity,
                file=t.file,
                sheet=t.sheet,
                row=None if i is None else t.row_numbers[i],
                column=column
                if column is not None
                else (None if field is None else self.column_name(field)),
                value=None if value is None else _text(value),
                id=ident or None,
                register=self.kind,
            )
        )
        if severity == "error" and i is not None:
            self.bad[i] = 1

    def check(
        self, field: str, converted: list[Any], raw: Sequence[Any], ids: Sequence[str] | None = None
    ) -> None:
        if _Bad not in set(map(type, converted)):
            return
        for i, value in enumerate(converted):
            if type(value) is _Bad:
                self.report(
                    i, field, value.reason, value=raw[i], ident=None if ids is None else ids[i]
                )


def _uscc_shaped(text: str) -> bool:
    return len(text) == 18 and text.isascii() and text.isalnum() and text[2:8].isdigit()


def _check_ids(ctx: _Context, field: str, raw: Sequence[Any]) -> list[str]:
    ids = _texts(raw)
    for i in [i for i, ident in enumerate(ids) if not ident or not ident.isprintable()]:
        ident = ids[i]
        if not ident:
            ctx.report(i, field, "the id is empty")
        elif any(unicodedata.category(ch) in ("Cc", "Cf") for ch in ident):
            ctx.report(i, field, "the id contains a control character", value=repr(ident))
    if not set(map(type, raw)) <= {str}:
        for i, v in enumerate(raw):
            if isinstance(v, float) and abs(v) >= 1e15:
                ctx.report(
                    i,
                    field,
                    "the id was stored as a number in the spreadsheet and has lost digits; "
                    "format the column as text and type the ids again",
                    value=v,
                )
    return ids


def _check_uscc(ctx: _Context, ids: list[str]) -> None:
    if ctx.id_kind == "code" or not ids:
        return
    array = np.array(ids, dtype=str)
    lengths = np.char.str_len(array)
    suspect = ~uscc_valid_mask(array) & (lengths > 0)
    if ctx.id_kind == "auto":
        suspect &= (lengths == 15) | (lengths == 18)
    for i in np.flatnonzero(suspect).tolist():
        ident = ids[i]
        if is_legacy_registration_number(ident):
            ctx.report(
                i,
                "id",
                "a 15-digit registration number (注册号), not a unified social credit code; "
                "kept as the id (ask the entity for its USCC)",
                severity="warning",
                ident=ident,
            )
        elif ctx.id_kind == "uscc" or _uscc_shaped(ident):
            why = validate_uscc(ident) or "not a unified social credit code"
            ctx.report(
                i,
                "id",
                f"not a valid unified social credit code (GB 32100-2015): {why}",
                value=ident,
                ident=ident,
            )


def _check_duplicates(ctx: _Context, keys: Sequence[str], field: str, label: str) -> None:
    if len(set(keys)) == len(keys):
        return
    first: dict[str, int] = {}
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if not key:
            continue
        j = first.setdefault(key, i)
        if j != i:
            groups.setdefault(key, [j]).append(i)
    rows = ctx.table.rows
    numbers = ctx.table.row_numbers
    for key, members in groups.items():
        head = members[0]
        different = [i for i in members[1:] if rows[i] != rows[head]]
        if not different:
            for i in members[1:]:
                ctx.report(
                    i,
                    field,
                    f"repeats row {numbers[head]} exactly; loaded once",
                    severity="warning",
                    ident=key,
                )
                ctx.skip[i] = 1
            continue
        where = ", ".join(str(numbers[i]) for i in members)
        for i in members:
            ctx.report(i, field, f"duplicate {label} (rows {where})", value=key, ident=key)


def _unknown_columns(ctx: _Context, unknown: Sequence[int], *, as_attributes: bool) -> list[int]:
    """Report columns that feed no field; return those that become attributes."""
    kept: list[int] = []
    table = ctx.table
    for index in unknown:
        name = table.header[index]
        if not name:
            values = sum(1 for row in table.rows if _text(row[index]))
            if values:
                ctx.report(
                    None,
                    None,
                    f"column {index + 1} has no header; its {values} values were not loaded",
                    severity="warning",
                    column=f"#{index + 1}",
                )
            continue
        if as_attributes:
            kept.append(index)
        else:
            ctx.report(
                None,
                None,
                f"not a field of the {_KIND_NAMES[ctx.kind]} register; the column was ignored "
                f"(fields: {', '.join(FIELDS[ctx.kind])})",
                severity="warning",
                column=name,
            )
    return kept


def _build_entities(
    ctx: _Context, attribute_columns: Sequence[int]
) -> tuple[EntityPool, list[int], list[str]]:
    table = ctx.table
    n = len(table.rows)
    raw_ids = ctx.cells("id") or [None] * n
    ids = _check_ids(ctx, "id", raw_ids)
    _check_uscc(ctx, ids)
    _check_duplicates(ctx, ids, "id", "id")

    def text_column(field: str) -> list[str]:
        raw = ctx.cells(field)
        return [""] * n if raw is None else _texts(raw)

    names, categories = text_column("name"), text_column("category")
    stations, regions = text_column("station"), text_column("region")
    converted: dict[str, list[Any]] = {}
    for field, fast, slow in (
        ("credit_class", _CREDIT, _credit),
        ("blacklisted", _FLAGS_FAST, parse_flag),
        ("serious_violation", _FLAGS_FAST, parse_flag),
        ("verified_complaints", _COUNTS, _parse_count),
    ):
        raw = ctx.cells(field)
        if raw is None:
            continue
        converted[field] = _convert(raw, fast, slow)
        ctx.check(field, converted[field], raw, ids)

    everything = not any(ctx.bad) and not any(ctx.skip)
    keep = (
        list(range(n))
        if everything
        else [i for i in range(n) if not ctx.bad[i] and not ctx.skip[i]]
    )

    def pick(values: Sequence[Any]) -> Sequence[Any]:
        return values if everything else [values[i] for i in keep]

    attributes: dict[str, Any] = {}
    values: list[Any]
    for index in attribute_columns:
        raw = pick(ctx.column_cells(index))
        if table.typed:
            values = [
                v if isinstance(v, (bool, int)) or v is None else (_text(v) or None) for v in raw
            ]
        else:
            values = [t or None for t in _texts(raw)]
        attributes[table.header[index]] = np.array(values, dtype=object)
    credit = converted.get("credit_class")
    blacklisted = converted.get("blacklisted")
    serious = converted.get("serious_violation")
    complaints = converted.get("verified_complaints")
    pool = EntityPool.from_arrays(
        np.array(pick(ids), dtype=str),
        names=np.array(pick(names), dtype=object),
        category=pick(categories),
        station=pick(stations),
        region=pick(regions),
        credit_class=None if credit is None else [c or "" for c in pick(credit)],
        blacklisted=None if blacklisted is None else pick(blacklisted),
        verified_complaints=None if complaints is None else pick(complaints),
        serious_violation=None if serious is None else pick(serious),
        attributes=attributes,
        source=table.file,
    )
    return pool, keep, ids


def _row_values(ctx: _Context, fields: Sequence[str]) -> list[dict[str, Any]]:
    n = len(ctx.table.rows)
    columns = {f: ctx.cells(f) for f in fields}
    return [{f: (None if c is None else c[i]) for f, c in columns.items()} for i in range(n)]


def _parse_cell(
    ctx: _Context, i: int, field: str, value: Any, parse: Callable[[Any], Any], ident: str
) -> Any:
    try:
        return parse(value)
    except (ValueError, TypeError, PolicyError) as exc:
        ctx.report(i, field, str(exc), value=value, ident=ident)
        return None


def _build_inspectors(ctx: _Context) -> tuple[InspectorPool, list[int], list[str]]:
    records = _row_values(ctx, FIELDS["inspectors"])
    ids = _check_ids(ctx, "id", [r["id"] for r in records])
    _check_duplicates(ctx, ids, "id", "inspector id")
    inspectors: list[Inspector] = []
    keep: list[int] = []
    for i, record in enumerate(records):
        ident = ids[i]
        until = _parse_cell(
            ctx, i, "certificate_valid_until", record["certificate_valid_until"], parse_date, ident
        )
        active = _parse_cell(ctx, i, "active", record["active"], _parse_active, ident)
        if ctx.bad[i] or ctx.skip[i]:
            continue
        certificate = _text(record["certificate_no"])
        try:
            inspector = Inspector(
                id=ident,
                name=_text(record["name"]),
                station=_text(record["station"]),
                certificate_no=certificate,
                certificate_valid_until=until,
                specialties=parse_list(record["specialties"]),
                active=True if active is None else active,
            )
        except (ValueError, TypeError) as exc:
            ctx.report(i, None, str(exc), ident=ident)
            continue
        if not certificate:
            ctx.report(
                i,
                "certificate_no",
                "no enforcement certificate (执法证) number: the inspector can never be drawn",
                severity="warning",
                ident=ident,
            )
        if until is None:
            ctx.report(
                i,
                "certificate_valid_until",
                "no certificate expiry date: the inspector can never be drawn",
                severity="warning",
                ident=ident,
            )
        elif until < ctx.on:
            ctx.report(
                i,
                "certificate_valid_until",
                f"the enforcement certificate expired on {until.isoformat()} "
                f"(checked on {ctx.on.isoformat()}): the inspector cannot be drawn",
                value=record["certificate_valid_until"],
                severity="warning",
                ident=ident,
            )
        inspectors.append(inspector)
        keep.append(i)
    return InspectorPool(inspectors, source=ctx.table.file), keep, ids


def _build_items(ctx: _Context) -> tuple[tuple[Item, ...], list[int], list[str]]:
    records = _row_values(ctx, FIELDS["items"])
    codes = _check_ids(ctx, "code", [r["code"] for r in records])
    _check_duplicates(ctx, codes, "code", "item code")
    items: list[Item] = []
    keep: list[int] = []
    for i, record in enumerate(records):
        code = codes[i]
        values: dict[str, Any] = {}
        for field in ("name", "station", "legal_basis"):
            values[field] = _text(record[field])
            if not values[field]:
                reason = {
                    "name": "the item has no name",
                    "station": "the item names no inspecting station (实施主体)",
                    "legal_basis": "the item has no legal basis: no basis, no inspection",
                }[field]
                ctx.report(i, field, reason, ident=code)
        raw_ratio = record["ratio"]
        if raw_ratio is None or _text(raw_ratio) == "":
            values["ratio"] = Fraction(1, 20)
            if ctx.cells("ratio") is not None:
                ctx.report(
                    i,
                    "ratio",
                    "no ratio given: the default 5% applies",
                    severity="warning",
                    ident=code,
                )
        else:
            values["ratio"] = _parse_cell(ctx, i, "ratio", raw_ratio, _parse_ratio, code)
        for field, parse, default in (
            ("minimum", _parse_positive, 1),
            ("rounds_per_year", parse_rounds, 2),
            ("team_size", _parse_positive, 2),
        ):
            raw = record[field]
            values[field] = (
                default
                if raw is None or _text(raw) == ""
                else _parse_cell(ctx, i, field, raw, parse, code)
            )
        values["kind"] = _parse_cell(ctx, i, "kind", record["kind"], _parse_kind, code)
        values["policy"] = _parse_cell(ctx, i, "policy", record["policy"], _parse_policy, code)
        if ctx.bad[i] or ctx.skip[i]:
            continue
        try:
            item = Item(
                code=code,
                categories=parse_list(record["categories"]),
                specialty=_text(record["specialty"]) or None,
                **values,
            )
        except (ValueError, TypeError) as exc:
            ctx.report(i, None, str(exc), ident=code)
            continue
        if item.ratio < Fraction(1, 20):
            ctx.report(
                i,
                "ratio",
                f"ratio {format_ratio(item.ratio)} is below the 5% the county rule asks for",
                value=raw_ratio,
                severity="warning",
                ident=code,
            )
        if item.rounds_per_year < 2:
            ctx.report(
                i,
                "rounds_per_year",
                "fewer than two rounds a year; the county rule asks for at least two",
                value=record["rounds_per_year"],
                severity="warning",
                ident=code,
            )
        if item.team_size < 2:
            ctx.report(
                i,
                "team_size",
                "a team of fewer than two inspectors; the rules ask for at least two per visit",
                value=record["team_size"],
                severity="warning",
                ident=code,
            )
        items.append(item)
        keep.append(i)
    return tuple(items), keep, codes


def _build_conflicts(ctx: _Context) -> tuple[tuple[Conflict, ...], list[int], list[str]]:
    records = _row_values(ctx, FIELDS["conflicts"])
    inspector_ids = _check_ids(ctx, "inspector_id", [r["inspector_id"] for r in records])
    entity_ids = _check_ids(ctx, "entity_id", [r["entity_id"] for r in records])
    pairs = [_pair(a, b) if a and b else "" for a, b in zip(inspector_ids, entity_ids, strict=True)]
    first: dict[str, int] = {}
    conflicts: list[Conflict] = []
    keep: list[int] = []
    rows = ctx.table.rows
    for i, record in enumerate(records):
        if ctx.bad[i]:
            continue
        j = first.setdefault(pairs[i], i)
        if j != i and rows[j] == rows[i]:
            ctx.report(
                i,
                "inspector_id",
                f"repeats row {ctx.table.row_numbers[j]} exactly; loaded once",
                severity="warning",
                ident=inspector_ids[i],
            )
            continue
        reason = _text(record["reason"])
        if not reason:
            ctx.report(
                i,
                "reason",
                "no reason recorded for the recusal (回避原因)",
                severity="warning",
                ident=inspector_ids[i],
            )
        conflicts.append(Conflict(inspector_ids[i], entity_ids[i], reason))
        keep.append(i)
    return tuple(conflicts), keep, pairs


def _aliases_of(kind: RegisterKind, field: str) -> str:
    names = [h for h, f in BUILTIN_ALIASES[kind].items() if f == field][:3]
    return " / ".join([field, *names])


def _empty(kind: RegisterKind) -> Register:
    if kind == "entities":
        return EntityPool.from_arrays([], source=None)
    if kind == "inspectors":
        return InspectorPool(())
    return ()


def _pair(inspector_id: str, entity_id: str) -> str:
    return f"{inspector_id} → {entity_id}"


def _key(kind: RegisterKind, value: Any) -> str:
    """The key problems name a record by: its id or code; ``"inspector → entity"`` for recusals."""
    if isinstance(value, Conflict):
        return _pair(value.inspector_id, value.entity_id)
    return str(getattr(value, ID_FIELDS[kind]))


def build_register(
    table: Table,
    kind: RegisterKind,
    *,
    columns: ColumnMap,
    extra_columns: Mapping[str, str] | None = None,
    id_kind: IdKind | None = None,
    on: dt.date | None = None,
    plugins: Plugins | None = None,
) -> tuple[Register, Report, dict[str, int]]:
    """Validate a table and build its register, keeping every valid row.

    Returns the register, the :class:`Report` and a map from each loaded key
    (entity id, inspector id, item code; ``"inspector_id → entity_id"`` for
    recusals) to its row number. Never raises for bad data: strictness is the
    caller's choice (:meth:`Report.raise_for_errors`).
    """
    day = on or dt.date.today()
    match = columns.match(kind, table.header, {**table.columns, **(extra_columns or {})})
    declared = id_kind or table.id_kind or match.id_kind or "auto"
    n = len(table.rows)
    ctx = _Context(
        table=table,
        kind=kind,
        header_fields=match.fields,
        id_kind=declared,
        on=day,
        bad=bytearray(n),
        skip=bytearray(n),
    )
    ctx.problems.extend(attrs.evolve(p, register=kind) for p in table.problems)
    failed = {p.row for p in table.problems if p.severity == "error" and p.row is not None}
    if failed:
        for i, number in enumerate(table.row_numbers):
            if number in failed:
                ctx.bad[i] = 1

    def summary(loaded: int) -> Summary:
        return Summary(
            file=table.file,
            kind=kind,
            rows=n,
            loaded=loaded,
            sheet=table.sheet,
            format=table.format,
            encoding=table.encoding,
        )

    fatal = False
    for field, indices in match.duplicates:
        fatal = True
        heads = ", ".join(repr(table.header[i]) for i in indices)
        ctx.report(
            None,
            field,
            f"columns {heads} all map to the field {field!r}; keep one",
            column=table.header[indices[0]],
        )
    for field in REQUIRED[kind]:
        if field not in match.fields and field not in table.defaults:
            fatal = True
            ctx.report(
                None, None, f"missing required column {_aliases_of(kind, field)}", column=field
            )
    if table.header and n == 0 and kind != "conflicts":
        ctx.report(None, None, f"the {_KIND_NAMES[kind]} register is empty: no data rows")
    if fatal:
        if n:
            ctx.report(None, None, f"none of the {n} rows were loaded")
        return _empty(kind), Report(ctx.problems, (summary(0),)), {}

    unknown = _unknown_columns(ctx, match.unknown, as_attributes=kind == "entities")
    value: Register
    if kind == "entities":
        value, keep, keys = _build_entities(ctx, unknown)
    elif kind == "inspectors":
        value, keep, keys = _build_inspectors(ctx)
    elif kind == "items":
        value, keep, keys = _build_items(ctx)
    else:
        value, keep, keys = _build_conflicts(ctx)
    numbers = table.row_numbers
    locations = {keys[i]: numbers[i] for i in keep}
    loaded = len(keep)
    if plugins is not None:
        value, loaded = _plugin_checks(ctx, value, plugins, locations, loaded)
    return value, Report(ctx.problems, (summary(loaded),)), locations


def _plugin_checks(
    ctx: _Context,
    value: Register,
    plugins: Plugins,
    locations: Mapping[str, int],
    loaded: int,
) -> tuple[Register, int]:
    found = plugins.validate_pool(value, ctx.kind)
    if not found:
        return value, loaded
    table = ctx.table
    rejected: set[str] = set()
    for problem in found:
        row = problem.row
        if row is None and problem.id is not None:
            row = locations.get(problem.id)
        ctx.problems.append(
            attrs.evolve(
                problem,
                file=problem.file or table.file,
                sheet=problem.sheet or table.sheet,
                row=row,
                register=ctx.kind,
            )
        )
        if problem.severity == "error" and problem.id is not None:
            rejected.add(problem.id)
    if not rejected:
        return value, loaded
    if isinstance(value, EntityPool):
        mask = ~np.isin(value.ids, np.array(sorted(rejected), dtype=str))
        return value.take(mask), int(mask.sum())
    if isinstance(value, InspectorPool):
        kept = [i for i in value if i.id not in rejected]
        return InspectorPool(kept, source=value.source), len(kept)
    if ctx.kind == "items":
        kept_items = tuple(v for v in value if isinstance(v, Item) and v.code not in rejected)
        return kept_items, len(kept_items)
    kept_conflicts = tuple(
        v for v in value if isinstance(v, Conflict) and _key("conflicts", v) not in rejected
    )
    return kept_conflicts, len(kept_conflicts)


# -- cross-checks ---------------------------------------------------------------------


def _near(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_registers(
    entities: EntityPool,
    items: Iterable[Item],
    inspectors: InspectorPool | None = None,
    conflicts: Iterable[Conflict] | None = None,
    *,
    on: dt.date | None = None,
) -> Report:
    """Cross-check loaded registers; return a :class:`Report` (problems carry ids, not rows).

    * error: an item names a category no entity has (usually a typo); an item
      without categories whose station has no entity; an empty entity pool or
      item list; an empty inspector pool;
    * warning: entities no item covers; an item's station without two
      inspectors eligible on ``on``; a specialty no eligible inspector has;
      a recusal naming an unknown inspector or entity.
    """
    day = on or dt.date.today()
    problems: list[Problem] = []
    item_list = tuple(items)

    def add(
        reason: str,
        register: RegisterKind,
        *,
        ident: str | None = None,
        column: str | None = None,
        value: object = None,
        severity: Severity = "error",
    ) -> None:
        problems.append(
            Problem(
                reason=reason,
                severity=severity,
                id=ident,
                column=column,
                value=None if value is None else str(value),
                register=register,
            )
        )

    if len(entities) == 0:
        add("the entity pool is empty", "entities")
    if not item_list:
        add("the item list is empty", "items")
    if inspectors is not None and len(inspectors) == 0:
        add("the inspector pool is empty", "inspectors")
    known = set(entities.categories)
    stations = set(entities.stations)
    covered = np.zeros(len(entities), dtype=bool)
    for item in item_list:
        for category in item.categories:
            if category not in known:
                add(
                    f"no entity has the category {category!r}{_near(category, known)}",
                    "items",
                    ident=item.code,
                    column="categories",
                    value=category,
                )
        if not item.categories and item.station not in stations:
            add(
                f"the item has no categories and no entity belongs to its station "
                f"{item.station!r}{_near(item.station, stations)}",
                "items",
                ident=item.code,
                column="station",
                value=item.station,
            )
        if len(entities):
            covered[entities.covered_by(item)] = True
    if len(entities) and item_list and not covered.all():
        missing = entities.ids[~covered].tolist()
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        add(
            f"{len(missing)} entities are covered by no item ({shown})",
            "entities",
            severity="warning",
        )
    if inspectors is not None and len(inspectors):
        eligible = [i for i in inspectors if i.eligible_on(day)]
        for item in item_list:
            team = [i for i in eligible if i.station == item.station]
            if len(team) < max(item.team_size, 2):
                add(
                    f"station {item.station!r} has {len(team)} inspectors eligible on "
                    f"{day.isoformat()}, fewer than a team of {max(item.team_size, 2)}",
                    "items",
                    ident=item.code,
                    column="team_size",
                    severity="warning",
                )
            if item.specialty and not any(item.specialty in i.specialties for i in eligible):
                add(
                    f"no inspector eligible on {day.isoformat()} has the specialty "
                    f"{item.specialty!r}",
                    "items",
                    ident=item.code,
                    column="specialty",
                    value=item.specialty,
                    severity="warning",
                )
    for conflict in conflicts or ():
        if inspectors is not None and conflict.inspector_id not in inspectors:
            add(
                "the recusal names an inspector who is not in the inspector pool",
                "conflicts",
                ident=_key("conflicts", conflict),
                column="inspector_id",
                value=conflict.inspector_id,
                severity="warning",
            )
        if conflict.entity_id not in entities:
            add(
                "the recusal names an entity that is not in the entity pool",
                "conflicts",
                ident=_key("conflicts", conflict),
                column="entity_id",
                value=conflict.entity_id,
                severity="warning",
            )
    return Report(problems)
