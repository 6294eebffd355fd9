"""The year: annual plans, credit-risk classes, rounds, and no over-inspection.

A :class:`Plan` (年度抽查计划) says which items are drawn in which rounds of a
year, at which ratio for each credit-risk class (A–D, no class exempt: 不免抽),
with a cap for general (一般) items, targeted (定向) filters, and how the rounds
are coordinated so that nobody is inspected more than the plan intends
(避免执法扰民). :func:`draw_year` draws every round of the year from one public
seed, :func:`verify_year` replays the record, :func:`coverage` states before any
draw how often each entity can expect to be inspected, and
:func:`simulate_coverage` checks it.

Burden control (``method``):

``"joint"``
    dependent rounding of the entity × (item, round) matrix: every round keeps
    its exact sample sizes and exact inclusion probabilities, and each entity's
    number of item-inspections in the year is ``⌊C⌋`` or ``⌈C⌉`` of its
    expected number ``C`` (so an entity with ``C < 1`` is inspected at most once).
``"prn"``
    permanent random numbers with rotation: each entity keeps one number for the
    year and each round's selection window starts where the previous one ended;
    Poisson sizes with exact probabilities, or fixed sizes (sequential Poisson)
    with approximate probabilities.
``"exclude"``
    leave out entities inspected in the last ``k`` rounds, or this year.
``"independent"``
    every round drawn on its own (no coordination).

Everything is exact integer arithmetic on the stream of :mod:`randcheck.stream`;
``docs/plan.md`` specifies the file format, each method, its guarantees and the
stream labels precisely enough for an independent replay.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast, get_args

import attrs
import numpy as np
import numpy.typing as npt

from ._version import __version__
from .canonical import canonical_id, canonical_json, nfc
from .draw import draw_plugins
from .errors import InputError, PolicyError, VerificationError
from .model import CREDIT_CLASSES, Item, Task, format_ratio, parse_date, parse_ratio
from .plugins import Plugins, get_plugins
from .policies import _GRID_LIMIT, Design, Policy, Proportional, RiskWeighted, policy_from_record
from .pools import EntityPool, parse_bool
from .progress import progress
from .sampling import random_order, systematic
from .stream import SPEC, ReferenceStream, Seed, Stream, as_seed

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "METHODS",
    "PLAN_SPEC",
    "STRATA",
    "ClassStratified",
    "ColumnDraw",
    "CoverageReport",
    "History",
    "Method",
    "PastRound",
    "Plan",
    "PlanError",
    "Round",
    "RoundDraw",
    "Target",
    "YearDraw",
    "coverage",
    "draw_year",
    "joint_rounding",
    "plan_policy_from_record",
    "plot_coverage",
    "reference_joint_rounding",
    "simulate_coverage",
    "verify_year",
]

#: Version tag of the year record (the stream inside is ``randcheck-draw/1``).
PLAN_SPEC = "randcheck-year/1"

#: Burden-control methods of :func:`draw_year`.
Method = Literal["joint", "independent", "prn", "exclude"]
METHODS: tuple[str, ...] = get_args(Method)

#: Credit strata in the order the plan draws them.
STRATA: tuple[str, ...] = (*CREDIT_CLASSES, "unclassified")

PrnSize = Literal["poisson", "fixed"]

_TARGET_FIELDS = (
    "category",
    "station",
    "region",
    "credit_class",
    "blacklisted",
    "serious_violation",
    "verified_complaints",
    "name",
    "id",
)
_MAX_INT_GRID = 1 << 62


class PlanError(InputError):
    """A plan that is malformed or cannot be honoured.

    ``column`` names the plan field (``"class_ratios.A"``, ``"frequency.SL-01"``),
    ``source`` and ``row`` the plan file and row when known.
    """


def _relocated(exc: InputError, source: str | None, row: int | None = None) -> PlanError:
    return PlanError(
        exc.message,
        source=source if exc.source is None else exc.source,
        row=row if exc.row is None else exc.row,
        column=exc.column,
        id=exc.id,
    )


# -- small converters -------------------------------------------------------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        raise ValueError(f"expected text, not the number {value!r}")
    return nfc(str(value)).strip()


def _date(value: object) -> dt.date:
    return parse_date(value, "the date")


def _whole(value: object, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    if isinstance(value, (float, Decimal)) and value == int(value):
        value = int(value)
    if isinstance(value, str) and value.strip().lstrip("+").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{what} must be at least {minimum}, got {value}")
    return value


def _stratum_label(value: object) -> str:
    text = _text(value)
    upper = text.upper().rstrip("类级")
    if upper in CREDIT_CLASSES:
        return upper
    if text.lower() in ("unclassified", "none", "未分类", "") or text == "*":
        return "unclassified"
    raise ValueError(f"unknown credit class {value!r}: use A, B, C, D or unclassified")


def _is_zero(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, Decimal, Fraction)):
        return value == 0
    text = str(value).strip().rstrip("%％").strip()
    try:
        return Fraction(text) == 0 if "/" in text else Decimal(text) == 0
    except (ValueError, ArithmeticError, ZeroDivisionError):
        return False


def _ratio(value: object, what: str) -> Fraction:
    try:
        return parse_ratio(value)
    except ValueError as exc:
        if _is_zero(value):
            raise ValueError(
                f"{what} is 0: no class is exempt (不免抽); give a positive ratio"
            ) from None
        raise ValueError(f"{what}: {exc}") from None


# -- plan records -----------------------------------------------------------------------


@attrs.frozen
class Round:
    """One round of the year: a label (``"Q1"``, ``"第一轮"``) and its date."""

    label: str = attrs.field(converter=canonical_id)
    date: dt.date = attrs.field(converter=_date)

    @label.validator
    def _check_label(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not value:
            raise ValueError("a round needs a label")

    def to_record(self) -> dict[str, Any]:
        """``{"label": …, "date": "YYYY-MM-DD"}``."""
        return {"label": self.label, "date": self.date.isoformat()}


def _text_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.replace("；", ";").replace("、", ";").split(";")
    if not isinstance(value, Iterable):
        raise TypeError(f"expected a list of texts, not {value!r}")
    return tuple(dict.fromkeys(t for t in (_text(v) for v in value) if t))


@attrs.frozen
class Target:
    """A targeted (定向) filter: entities whose ``field`` is one of ``values``.

    ``field`` is an entity field (``category``, ``station``, ``region``,
    ``credit_class``, ``blacklisted``, ``serious_violation``,
    ``verified_complaints``) or a free attribute column of the pool
    (``industry``, ``scale``…). ``items`` names the item codes the filter
    applies to; empty means every item. An item's frame is what it covers
    (its categories, or its station) restricted by every target that applies
    to it.
    """

    field: str = attrs.field(converter=_text)
    values: tuple[str, ...] = attrs.field(converter=_text_tuple)
    items: tuple[str, ...] = attrs.field(default=(), converter=_text_tuple)

    @field.validator
    def _check_field(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not value:
            raise ValueError("a target needs a field")

    @values.validator
    def _check_values(self, attribute: attrs.Attribute[tuple[str, ...]], value: Any) -> None:
        if not value:
            raise ValueError(f"the target on {self.field!r} lists no values")

    def applies_to(self, code: str) -> bool:
        """Whether this filter restricts the frame of item ``code``."""
        return not self.items or code in self.items

    def mask(self, pool: EntityPool) -> npt.NDArray[np.bool_]:
        """Entities of ``pool`` that pass the filter."""
        if self.field == "credit_class":
            codes = [
                -1 if s == "unclassified" else CREDIT_CLASSES.index(s)
                for s in map(_stratum_label, self.values)
            ]
            return np.isin(pool.credit_codes, codes)
        if self.field in ("blacklisted", "serious_violation"):
            wanted = {parse_bool(v) for v in self.values}
            column = np.asarray(pool.column(self.field), dtype=bool)
            if len(wanted) == 2:
                return np.ones(len(pool), dtype=bool)
            return column if True in wanted else ~column
        if self.field == "verified_complaints":
            counts = [_whole(v, "a complaint count", 0) for v in self.values]
            return np.isin(np.asarray(pool.column(self.field)), counts)
        try:
            column = pool.column(self.field)
        except KeyError:
            raise PlanError(
                f"the target field {self.field!r} is neither an entity field "
                f"({', '.join(_TARGET_FIELDS)}) nor an attribute column of the pool "
                f"({', '.join(pool.attribute_names) or 'none'})",
                column="targets.field",
            ) from None
        values: npt.NDArray[Any] = np.asarray(column, dtype=object)
        blank: npt.NDArray[np.bool_] = np.asarray(values == None, dtype=bool)  # noqa: E711
        texts: Any = np.where(blank, "", values).astype(str)
        labels, inverse = np.unique(texts, return_inverse=True)
        keep = np.array([nfc(str(x)).strip() in self.values for x in labels], dtype=bool)
        return np.asarray(keep[inverse.reshape(-1)], dtype=bool)

    def to_record(self) -> dict[str, Any]:
        """``{"field", "values", "items"}``."""
        return {"field": self.field, "values": list(self.values), "items": list(self.items)}


def _items(value: Iterable[Item]) -> tuple[Item, ...]:
    checked = tuple(value)
    for item in checked:
        if not isinstance(item, Item):
            raise TypeError(f"expected an Item, got {type(item).__name__}")
    return tuple(sorted(checked, key=lambda i: i.code))


def _rounds(value: Iterable[Round | Mapping[str, Any]]) -> tuple[Round, ...]:
    out = []
    for r in value:
        if isinstance(r, Round):
            out.append(r)
        else:
            out.append(Round(label=r.get("label", r.get("round")), date=r.get("date")))
    return tuple(out)


def _frequency(
    value: Mapping[str, int | Sequence[str]] | Iterable[tuple[str, int | Sequence[str]]] | None,
) -> tuple[tuple[str, int | tuple[str, ...]], ...]:
    if not value:
        return ()
    pairs = value.items() if isinstance(value, Mapping) else value
    out: dict[str, int | tuple[str, ...]] = {}
    for code, spec in pairs:
        key = canonical_id(code)
        if isinstance(spec, (str, list, tuple)) and not (
            isinstance(spec, str) and spec.strip().isdigit()
        ):
            out[key] = tuple(canonical_id(x) for x in _text_tuple(spec))
        else:
            try:
                out[key] = _whole(spec, f"the frequency of {key}")
            except ValueError as exc:
                raise PlanError(str(exc), column=f"frequency.{key}") from None
    return tuple(sorted(out.items()))


def _class_ratios(
    value: Mapping[str, object] | Iterable[tuple[str, object]] | None,
) -> tuple[tuple[str, Fraction], ...]:
    if not value:
        return ()
    pairs = value.items() if isinstance(value, Mapping) else value
    out: dict[str, Fraction] = {}
    for label, ratio in pairs:
        try:
            stratum = _stratum_label(label)
        except ValueError as exc:
            raise PlanError(str(exc), column=f"class_ratios.{label}") from None
        if stratum in out:
            raise PlanError(f"class {stratum} is given twice", column=f"class_ratios.{label}")
        try:
            out[stratum] = _ratio(ratio, f"the ratio of class {stratum}")
        except ValueError as exc:
            raise PlanError(str(exc), column=f"class_ratios.{stratum}") from None
    return tuple(sorted(out.items(), key=lambda kv: STRATA.index(kv[0])))


def _optional_ratio(value: object) -> Fraction | None:
    if value is None or value == "":
        return None
    try:
        return _ratio(value, "general_cap")
    except ValueError as exc:
        raise PlanError(str(exc), column="general_cap") from None


def _optional_whole(value: object, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return _whole(value, name)
    except ValueError as exc:
        raise PlanError(str(exc), column=name) from None


def _max_visits(value: object) -> int | None:
    return _optional_whole(value, "max_visits")


def _exclude_last(value: object) -> int | None:
    return _optional_whole(value, "exclude_last")


def _targets(value: Iterable[Target | Mapping[str, Any]]) -> tuple[Target, ...]:
    out = []
    for i, t in enumerate(value):
        if isinstance(t, Target):
            out.append(t)
            continue
        try:
            out.append(Target(field=t.get("field"), values=t.get("values"), items=t.get("items")))
        except (TypeError, ValueError) as exc:
            raise PlanError(str(exc), column=f"targets[{i}]") from None
    return tuple(out)


@attrs.frozen
class Plan:
    """An annual inspection plan (年度双随机抽查计划).

    Parameters
    ----------
    year
        The calendar year; every round's date lies in it.
    items
        The items (:class:`~randcheck.Item`) of the plan.
    rounds
        The rounds of the year (:class:`Round`), in date order.
    frequency
        Per item code, how many rounds it is drawn in (default: the item's
        ``rounds_per_year``), or the labels of those rounds. An item drawn in
        ``f`` of the ``R`` rounds takes rounds ``⌊j·R/f⌋`` for ``j = 0 … f-1``.
    class_ratios
        Per credit class (``A``–``D``, ``unclassified``), the share of the class
        drawn for every item in each of its rounds: ``n_c = ⌈ratio_c × N_c⌉``
        (at most ``N_c``). A class not listed uses the item's own ratio. A ratio
        of 0 is refused: no class is exempt (不免抽). Without class ratios each
        item draws ``max(minimum, ⌈ratio × N⌉)`` over its whole frame.
    general_cap
        The largest ratio a general (一般) item may use in a round, in any class;
        key (重点) items are not capped.
    targets
        Targeted (定向) filters restricting item frames (:class:`Target`).
    method
        Burden control used by :func:`draw_year` and :func:`coverage`:
        ``"joint"``, ``"prn"``, ``"exclude"`` or ``"independent"``.
    max_visits
        At most this many visits (rounds with at least one item) per entity and
        year, all items together (history of the year included).
    exclude_last
        For ``method="exclude"``: leave out entities inspected in the last
        ``exclude_last`` rounds (the history's and this year's); ``None``: every
        entity inspected earlier this year.
    prn_size
        For ``method="prn"``: ``"poisson"`` (exact probabilities, random sizes)
        or ``"fixed"`` (sequential Poisson: exact sizes, approximate
        probabilities).
    name
        A title.
    """

    year: int = attrs.field()
    items: tuple[Item, ...] = attrs.field(converter=_items)
    rounds: tuple[Round, ...] = attrs.field(converter=_rounds)
    frequency: tuple[tuple[str, int | tuple[str, ...]], ...] = attrs.field(
        default=(), converter=_frequency
    )
    class_ratios: tuple[tuple[str, Fraction], ...] = attrs.field(
        default=(), converter=_class_ratios
    )
    general_cap: Fraction | None = attrs.field(default=None, converter=_optional_ratio)
    targets: tuple[Target, ...] = attrs.field(default=(), converter=_targets)
    method: Method = attrs.field(default="joint")
    max_visits: int | None = attrs.field(default=None, converter=_max_visits)
    exclude_last: int | None = attrs.field(default=None, converter=_exclude_last)
    prn_size: PrnSize = attrs.field(default="poisson")
    name: str = attrs.field(default="", converter=_text)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise PlanError(f"the year must be a whole number, got {self.year!r}", column="year")
        if not self.items:
            raise PlanError("a plan needs at least one item", column="items")
        codes = [i.code for i in self.items]
        for code in codes:
            if codes.count(code) > 1:
                raise PlanError("the plan lists this item twice", column="items", id=code)
        if not self.rounds:
            raise PlanError("a plan needs at least one round", column="rounds")
        labels = [r.label for r in self.rounds]
        for i, rnd in enumerate(self.rounds):
            if labels.count(rnd.label) > 1:
                raise PlanError(f"round {rnd.label!r} is listed twice", column="rounds")
            if rnd.date.year != self.year:
                raise PlanError(
                    f"round {rnd.label!r} is dated {rnd.date.isoformat()}, not in {self.year}",
                    column=f"rounds[{i}].date",
                )
            if i and rnd.date < self.rounds[i - 1].date:
                raise PlanError(
                    f"round {rnd.label!r} ({rnd.date.isoformat()}) comes before the round "
                    f"listed ahead of it; list the rounds in date order",
                    column=f"rounds[{i}].date",
                )
        for code, spec in self.frequency:
            where = f"frequency.{code}"
            if code not in codes:
                raise PlanError(f"no item {code!r} in the plan", column=where)
            if isinstance(spec, tuple):
                if not spec:
                    raise PlanError("an item needs at least one round", column=where)
                for label in spec:
                    if label not in labels:
                        raise PlanError(
                            f"no round {label!r} in the plan (rounds: {', '.join(labels)})",
                            column=where,
                        )
        for item in self.items:
            wanted = dict(self.frequency).get(item.code, item.rounds_per_year)
            if isinstance(wanted, int) and wanted > len(self.rounds):
                raise PlanError(
                    f"item {item.code} is to be drawn {wanted} times a year but the plan has "
                    f"only {len(self.rounds)} rounds; add rounds or set its frequency",
                    column=f"frequency.{item.code}",
                )
        for i, target in enumerate(self.targets):
            for code in target.items:
                if code not in codes:
                    raise PlanError(f"no item {code!r} in the plan", column=f"targets[{i}].items")
        if self.method not in METHODS:
            raise PlanError(
                f"unknown method {self.method!r}; use one of {', '.join(METHODS)}",
                column="method",
            )
        if self.prn_size not in get_args(PrnSize):
            raise PlanError(
                f"prn_size must be 'poisson' or 'fixed', got {self.prn_size!r}",
                column="prn_size",
            )

    # -- derived ---------------------------------------------------------------------

    @property
    def stratified(self) -> bool:
        """Whether items are drawn per credit class (``class_ratios`` given)."""
        return bool(self.class_ratios)

    def item(self, code: str) -> Item:
        """The item with ``code``."""
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(f"no item {code!r} in the plan")

    def schedule(self, code: str) -> tuple[int, ...]:
        """Indices of the rounds item ``code`` is drawn in."""
        spec = dict(self.frequency).get(code, self.item(code).rounds_per_year)
        if isinstance(spec, tuple):
            labels = [r.label for r in self.rounds]
            return tuple(sorted(labels.index(x) for x in spec))
        total = len(self.rounds)
        return tuple(sorted({(j * total) // spec for j in range(spec)}))

    def ratio(self, item: Item, stratum: str = "all") -> Fraction:
        """The ratio ``item`` uses in ``stratum`` (a credit class, or ``"all"``).

        The class ratio when given, else the item's ratio; capped at
        ``general_cap`` for general (一般) items.
        """
        base = dict(self.class_ratios).get(stratum, item.ratio)
        if item.kind == "general" and self.general_cap is not None:
            return min(base, self.general_cap)
        return base

    def sample_size(self, item: Item, stratum: str, size: int) -> int:
        """Sample size of ``item`` in a stratum of ``size`` entities.

        Stratified: ``min(N_c, ⌈ratio_c × N_c⌉)``. Whole frame:
        ``min(N, max(minimum, ⌈ratio × N⌉))``.
        """
        want = math.ceil(self.ratio(item, stratum) * size)
        if stratum == "all":
            want = max(item.minimum, want)
        return min(want, size)

    def frame(self, item: Item, pool: EntityPool) -> npt.NDArray[np.intp]:
        """Positions of the entities ``item`` draws from: what it covers, within its targets."""
        covered = pool.covered_by(item)
        targets = [t for t in self.targets if t.applies_to(item.code)]
        if not targets or covered.size == 0:
            return covered
        keep = np.ones(len(pool), dtype=bool)
        for target in targets:
            keep &= target.mask(pool)
        return covered[keep[covered]]

    # -- records ---------------------------------------------------------------------

    def to_record(self) -> dict[str, Any]:
        """The plan as canonical-JSON-ready data (items inline, exact ratios as text)."""
        return {
            "name": self.name,
            "year": self.year,
            "items": [i.to_record() for i in self.items],
            "rounds": [r.to_record() for r in self.rounds],
            "frequency": {
                code: list(spec) if isinstance(spec, tuple) else spec
                for code, spec in self.frequency
            },
            "class_ratios": {k: format_ratio(v) for k, v in self.class_ratios},
            "general_cap": None if self.general_cap is None else format_ratio(self.general_cap),
            "targets": [t.to_record() for t in self.targets],
            "method": self.method,
            "max_visits": self.max_visits,
            "exclude_last": self.exclude_last,
            "prn_size": self.prn_size,
        }

    @classmethod
    def from_records(
        cls,
        record: Mapping[str, Any],
        *,
        source: str | None = None,
        base: str | os.PathLike[str] | None = None,
        items: Iterable[Item] | None = None,
    ) -> Plan:
        """Build a plan from a mapping (a parsed plan file, or :meth:`to_record` output).

        ``record["items"]`` is a list of item records (validated as an item
        register) or the path of an item list file, relative to ``base``;
        ``items`` given here take precedence. Errors are :class:`PlanError`
        naming ``source`` and the field.
        """
        known = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(record) - known)
        if unknown:
            raise PlanError(
                f"unknown plan field {unknown[0]!r}; fields: {', '.join(sorted(known))}",
                source=source,
                column=unknown[0],
            )
        for field in ("year", "rounds"):
            if record.get(field) in (None, "", []):
                raise PlanError(f"the plan has no {field}", source=source, column=field)
        try:
            year = _whole(record["year"], "the year")
        except ValueError as exc:
            raise PlanError(str(exc), source=source, column="year") from None
        plan_items = tuple(items) if items is not None else _load_plan_items(record, source, base)
        rounds = record["rounds"]
        if not isinstance(rounds, (list, tuple)):
            raise PlanError("rounds must be a list", source=source, column="rounds")
        parsed_rounds = []
        for i, r in enumerate(rounds):
            try:
                if not isinstance(r, (Mapping, Round)):
                    raise ValueError(f"expected {{label, date}}, got {r!r}")
                parsed_rounds.append(r if isinstance(r, Round) else _rounds([r])[0])
            except (TypeError, ValueError) as exc:
                raise PlanError(str(exc), source=source, column=f"rounds[{i}]") from None
        kwargs: dict[str, Any] = {
            k: record[k] for k in known - {"year", "items", "rounds"} if k in record
        }
        for key in ("frequency", "class_ratios"):
            if kwargs.get(key) is not None and not isinstance(kwargs[key], Mapping):
                raise PlanError(f"{key} must be an object", source=source, column=key)
        if kwargs.get("targets") is not None and not isinstance(kwargs["targets"], list):
            raise PlanError("targets must be a list", source=source, column="targets")
        for key in ("frequency", "class_ratios", "targets"):
            if kwargs.get(key) is None:
                kwargs.pop(key, None)
        try:
            return cls(year=year, items=plan_items, rounds=parsed_rounds, **kwargs)
        except PlanError as exc:
            raise _relocated(exc, source) from None
        except (TypeError, ValueError) as exc:
            raise PlanError(str(exc), source=source) from None

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], *, items: Iterable[Item] | None = None
    ) -> Plan:
        """Read a plan file: JSON (an object, or ``{"plan": {…}}``) or CSV (section,key,value).

        See ``docs/plan.md`` for both layouts. The item list may be a file
        named in the plan (relative to the plan file) or inline.
        """
        from .loaders.files import decode

        file = os.fspath(path)
        base = Path(file).parent
        suffix = Path(file).suffix.lower()
        if suffix not in (".json", ".csv", ".txt", ".tsv"):
            raise PlanError(
                f"cannot tell the plan format from the suffix {suffix or '(none)'!r}: "
                "use .json or .csv",
                source=file,
            )
        if suffix == ".json":
            try:
                data = Path(file).read_bytes()
            except FileNotFoundError:
                raise PlanError("no such file", source=file) from None
            except OSError as exc:
                raise PlanError(
                    f"cannot read the file: {exc.strerror or exc}", source=file
                ) from None
            text, _ = decode(data, file=file)
            try:
                record = json.loads(text, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                raise PlanError(
                    f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                    source=file,
                ) from None
            if isinstance(record, Mapping) and set(record) == {"plan"}:
                record = record["plan"]
            if not isinstance(record, Mapping):
                raise PlanError("expected a JSON object describing the plan", source=file)
            return cls.from_records(record, source=file, base=base, items=items)
        table, rows = _read_plan_csv(file)
        try:
            return cls.from_records(table, source=file, base=base, items=items)
        except PlanError as exc:
            row = rows.get(str(exc.column)) or rows.get(str(exc.column).split("[")[0])
            raise _relocated(exc, file, row) from None


def _load_plan_items(
    record: Mapping[str, Any], source: str | None, base: str | os.PathLike[str] | None
) -> tuple[Item, ...]:
    from .errors import LoaderError
    from .loaders import load_items
    from .loaders.files import Table
    from .loaders.validate import build_register
    from .plugins import get_plugins

    spec = record.get("items")
    if spec in (None, "", []):
        raise PlanError("the plan has no items", source=source, column="items")
    try:
        if isinstance(spec, str):
            path = Path(spec)
            if not path.is_absolute() and base is not None:
                path = Path(base) / path
            return tuple(load_items(str(path)))
        if isinstance(spec, list) and all(isinstance(r, Item) for r in spec):
            return tuple(spec)
        if not isinstance(spec, list) or not all(isinstance(r, Mapping) for r in spec):
            raise PlanError(
                "items must be an item list file name or a list of item records",
                source=source,
                column="items",
            )
        table = Table.from_records(spec, file=f"{source or 'plan'} (items)", typed=True)
        register, report, _ = build_register(table, "items", columns=get_plugins().columns())
        report.raise_for_errors(f"{report.counts()} in the plan's items", source=source)
        return tuple(cast(tuple[Item, ...], register))
    except LoaderError as exc:
        problems = "; ".join(str(p) for p in exc.problems[:3])
        raise PlanError(
            f"{exc.message}{': ' + problems if problems else ''}",
            source=exc.source or source,
            column="items",
        ) from None


_CSV_SECTIONS = ("plan", "round", "class_ratio", "frequency", "target")


def _csv_rows(file: str) -> list[tuple[int, list[str]]]:
    """The non-empty rows of a CSV file (UTF-8 or GB 18030), with their row numbers."""
    import csv
    import io

    from .loaders.files import decode

    try:
        data = Path(file).read_bytes()
    except FileNotFoundError:
        raise PlanError("no such file", source=file) from None
    except OSError as exc:
        raise PlanError(f"cannot read the file: {exc.strerror or exc}", source=file) from None
    text, _ = decode(data, file=file)
    delimiter = "\t" if file.lower().endswith(".tsv") else ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [(n, r) for n, r in enumerate(rows, start=1) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise PlanError(f"malformed CSV: {exc}", source=file) from None


def _read_plan_csv(file: str) -> tuple[dict[str, Any], dict[str, int]]:
    """A ``section,key,value`` plan sheet as a plan record, and the row of each field."""
    table = _csv_rows(file)
    header = tuple(h.strip().lower() for h in table[0][1]) if table else ()
    if header[:3] != ("section", "key", "value"):
        raise PlanError(
            "a CSV plan has the columns section,key,value; found "
            + (", ".join(table[0][1]) if table else "an empty file"),
            source=file,
            row=table[0][0] if table else 1,
        )
    record: dict[str, Any] = {}
    rows: dict[str, int] = {}
    for row, cells in table[1:]:
        section, key, value = (nfc(c).strip() for c in (*cells, "", "")[:3])
        section = section.lower()

        def bad(message: str, field: str = "value", *, r: int = row) -> PlanError:
            return PlanError(message, source=file, row=r, column=field)

        if section not in _CSV_SECTIONS:
            raise bad(
                f"unknown section {section!r}; use one of {', '.join(_CSV_SECTIONS)}", "section"
            )
        if not key and section != "plan":
            raise bad(f"a {section} row needs a key", "key")
        if section == "plan":
            if not key:
                raise bad("a plan row needs a key (year, name, items, …)", "key")
            record[key] = value if value != "" else None
            rows[key] = row
        elif section == "round":
            record.setdefault("rounds", []).append({"label": key, "date": value})
            rows.setdefault("rounds", row)
        elif section == "class_ratio":
            record.setdefault("class_ratios", {})[key] = value
            rows[f"class_ratios.{_safe_stratum(key)}"] = row
            rows.setdefault("class_ratios", row)
        elif section == "frequency":
            spec: int | list[str] = int(value) if value.isdigit() else list(_text_tuple(value))
            record.setdefault("frequency", {})[key] = spec
            rows[f"frequency.{key}"] = row
        else:
            field, _, codes = key.partition("@")
            record.setdefault("targets", []).append(
                {"field": field, "values": value, "items": codes}
            )
            rows.setdefault("targets", row)
    return record, rows


def _safe_stratum(key: str) -> str:
    try:
        return _stratum_label(key)
    except ValueError:
        return key


# -- the class-stratified policy ------------------------------------------------------


def _strata_of(pool: EntityPool) -> list[tuple[str, npt.NDArray[np.intp]]]:
    codes = pool.credit_codes
    out = []
    for label in STRATA:
        code = -1 if label == "unclassified" else CREDIT_CLASSES.index(label)
        positions = np.flatnonzero(codes == code)
        if positions.size:
            out.append((label, positions))
    return out


def _ratio_table(value: Mapping[str, object] | Iterable[tuple[str, object]]) -> Any:
    try:
        return _class_ratios(value)
    except PlanError as exc:
        raise PolicyError(exc.message) from None


@attrs.frozen
class ClassStratified(Policy):
    """Per-credit-class sample sizes: ``n_c = min(N_c, ⌈ratio_c × N_c⌉)`` in each class.

    Within a class the ``within`` policy shares the class's ``n_c`` places
    (default :class:`~randcheck.Proportional`: equal ``π = n_c / N_c``). A class
    not in ``class_ratios`` uses ``default_ratio``; without one, a pool holding
    such a class is refused. A ratio of 0 is refused: no class is exempt.

    The design's size is ``Σ n_c``; the ``n`` passed to :meth:`design` is not
    used, because the class ratios decide the size. The combined design puts
    every class on one grid (the least common multiple of the class
    denominators); :func:`draw_year` instead draws each class as its own
    stratum, which also fixes every class's size exactly.
    """

    name: ClassVar[str] = "class-stratified"

    class_ratios: tuple[tuple[str, Fraction], ...] = attrs.field(converter=_ratio_table)
    within: Policy = attrs.field(factory=Proportional)
    default_ratio: Fraction | None = attrs.field(
        default=None, converter=attrs.converters.optional(parse_ratio)
    )

    def ratio(self, stratum: str) -> Fraction:
        """The ratio of ``stratum``."""
        table = dict(self.class_ratios)
        if stratum in table:
            return table[stratum]
        if self.default_ratio is None:
            raise PolicyError(
                f"the pool has entities of class {stratum} but class_ratios gives no ratio "
                "for it (no class is exempt: give one, or a default_ratio)"
            )
        return self.default_ratio

    def sizes(self, entities: EntityPool) -> dict[str, tuple[npt.NDArray[np.intp], int]]:
        """``{class: (positions, n_c)}`` for every class present in ``entities``."""
        return {
            label: (pos, min(pos.size, math.ceil(self.ratio(label) * pos.size)))
            for label, pos in _strata_of(entities)
        }

    def design(self, entities: EntityPool, n: int) -> Design:
        """Exact per-class probabilities on one grid; the size is ``Σ n_c`` (``n`` unused)."""
        parts = [
            (pos, self.within.design(entities.take(pos), size))
            for pos, size in self.sizes(entities).values()
        ]
        total = sum(d.n for _, d in parts)
        grid = 1
        for _, d in parts:
            grid = math.lcm(grid, _reduced_denominator(d.numerators, d.denominator))
        if total * grid >= _GRID_LIMIT:
            raise PolicyError(
                f"the classes need a common grid of {grid}, too fine for one design; "
                "draw the plan with randcheck.plan.draw_year, which draws each class on its own"
            )
        p = np.zeros(len(entities), dtype=np.int64)
        for pos, d in parts:
            p[pos] = d.numerators * (grid // d.denominator)
        return Design(p, grid, total)

    def to_record(self) -> dict[str, Any]:
        """The policy name, the class ratios as exact text, and the within-class policy."""
        return {
            "name": self.name,
            "class_ratios": {k: format_ratio(v) for k, v in self.class_ratios},
            "within": self.within.to_record(),
            "default_ratio": None
            if self.default_ratio is None
            else format_ratio(self.default_ratio),
        }


def plan_policy_from_record(record: Mapping[str, Any] | str) -> Policy:
    """:func:`randcheck.policies.policy_from_record`, knowing :class:`ClassStratified` too."""
    if isinstance(record, str):
        record = {"name": record}
    name = str(record.get("name", "")).strip().lower().replace("_", "-")
    if name not in ("class-stratified", "classstratified", "stratified"):
        return policy_from_record(record)
    data = dict(record)
    data.pop("name", None)
    within = data.pop("within", None)
    ratios = data.pop("class_ratios", None)
    if not isinstance(ratios, Mapping) or not ratios:
        raise PolicyError("a class-stratified policy needs class_ratios")
    return ClassStratified(
        class_ratios=ratios,
        within=plan_policy_from_record(within) if within else Proportional(),
        **data,
    )


def _reduced_denominator(numerators: npt.NDArray[np.int64], denominator: int) -> int:
    """The least ``d`` with every ``numerators[i] / denominator`` a multiple of ``1/d``."""
    if numerators.size == 0:
        return 1
    g = math.gcd(int(np.gcd.reduce(numerators)), denominator)
    return denominator // g if g else 1


# -- strata and columns --------------------------------------------------------------------


@attrs.frozen(eq=False)
class _Stratum:
    """One item × credit class (or the item's whole frame): who, and how many."""

    item: Item
    label: str
    positions: npt.NDArray[np.intp]
    n: int


def _plan_strata(plan: Plan, pool: EntityPool) -> list[_Stratum]:
    out = []
    codes = pool.credit_codes
    for item in plan.items:
        frame = plan.frame(item, pool)
        if not plan.stratified:
            out.append(_Stratum(item, "all", frame, plan.sample_size(item, "all", frame.size)))
            continue
        for label in STRATA:
            code = -1 if label == "unclassified" else CREDIT_CLASSES.index(label)
            pos = frame[codes[frame] == code]
            if pos.size:
                out.append(_Stratum(item, label, pos, plan.sample_size(item, label, pos.size)))
    return out


@attrs.frozen(eq=False)
class _Column:
    """One stratum in one round, with its exact design over ``positions``."""

    round: int
    stratum: _Stratum
    positions: npt.NDArray[np.intp]
    design: Design


def _design(
    stratum: _Stratum, pool: EntityPool, positions: npt.NDArray[np.intp], plugins: Plugins
) -> Design:
    """The item's design for ``min(n, |positions|)`` entities, with the plugins' risk weights."""
    n = min(stratum.n, positions.size)
    sub = pool.take(positions)
    policy = stratum.item.policy
    if isinstance(policy, RiskWeighted) and plugins.overrides_risk_weight():
        return policy.design(sub, n, plugins.risk_weights(stratum.item, sub, policy.weights(sub)))
    return policy.design(sub, n)


def _fixed_columns(plan: Plan, pool: EntityPool, plugins: Plugins) -> list[_Column]:
    """Columns of the whole year when frames do not change between rounds."""
    designs = {}
    columns = []
    strata = _plan_strata(plan, pool)
    for r in range(len(plan.rounds)):
        for s in strata:
            if r not in plan.schedule(s.item.code):
                continue
            if id(s) not in designs:
                designs[id(s)] = _design(s, pool, s.positions, plugins)
            columns.append(_Column(r, s, s.positions, designs[id(s)]))
    return columns


# -- the joint rounding engine ------------------------------------------------------------

Decide = Callable[[npt.NDArray[Any], npt.NDArray[Any]], npt.NDArray[np.bool_]]
DecideFactory = Callable[[str, int], Decide]

_ONE = np.uint64(1)
_DEBRUIJN = np.uint64(0x03F79D71B4CB0A89)
_DEBRUIJN_TABLE = np.zeros(64, dtype=np.int64)
for _bit in range(64):
    _DEBRUIJN_TABLE[(((1 << _bit) * 0x03F79D71B4CB0A89) % (1 << 64)) >> 58] = _bit


_LOW16 = np.zeros(1 << 16, dtype=np.int8)
_SECOND16 = np.zeros(1 << 16, dtype=np.int8)
_every16 = np.arange(1 << 16)
for _bit in range(15, -1, -1):
    _LOW16[(_every16 >> _bit) & 1 == 1] = _bit
_rest16 = _every16 & (_every16 - 1)
_SECOND16[_rest16 > 0] = _LOW16[_rest16[_rest16 > 0]]
del _every16, _rest16


def _two_lowest_bits(
    mask: npt.NDArray[np.uint64], narrow: bool
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """The two lowest set bits of masks with at least two bits (tables when ``narrow``)."""
    if narrow:
        index = mask.astype(np.intp)
        return _LOW16[index], _SECOND16[index]
    return _lowest_bit(mask), _lowest_bit(mask & (mask - _ONE))


def _lowest_bit(mask: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Index of the lowest set bit of each (non-zero) 64-bit mask (de Bruijn)."""
    low = mask & (~mask + _ONE)
    return np.asarray(_DEBRUIJN_TABLE[(low * _DEBRUIJN) >> np.uint64(58)], dtype=np.int64)


class _Slots:
    """The fractional part of the matrix, row by row, in processing order.

    Row ``i`` holds up to ``w`` entries: column ``cols[i, j]`` (ascending in
    ``j``; ``k`` marks an empty slot) with value ``vals[i, j]`` on the row's grid
    ``grid[i]`` (``0 <= v <= grid``). ``mask[i]`` has bit ``j`` set while entry
    ``j`` is fractional (``0 < v < grid``).
    """

    def __init__(
        self,
        cols: npt.NDArray[np.int64],
        vals: npt.NDArray[Any],
        grid: npt.NDArray[Any],
        n_columns: int,
    ) -> None:
        self.rows, self.w = cols.shape
        self.k = n_columns
        if self.w > 64:
            raise PlanError(
                f"an entity takes part in {self.w} draws of the year; at most 64 are supported"
            )
        self.cols = np.ascontiguousarray(cols)
        self.vals = np.ascontiguousarray(vals)
        self.grid = grid
        self.mask = _fraction_mask(self.vals, grid)


def _fraction_mask(vals: npt.NDArray[Any], grid: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """Bit ``j`` of row ``i`` set when ``0 < vals[i, j] < grid[i]``."""
    mask = np.zeros(vals.shape[0], dtype=np.uint64)
    for j in range(vals.shape[1]):
        frac = np.asarray((vals[:, j] > 0) & (vals[:, j] < grid), dtype=bool)
        mask |= frac.astype(np.uint64) << np.uint64(j)
    return mask


def _pair_leaders(keys: npt.NDArray[Any]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Sort stably by key; pair the 1st and 2nd, 3rd and 4th … of each key group.

    Returns the sorting order and the positions (in sorted order) of each
    pair's first member.
    """
    order = np.argsort(keys, kind="stable")
    size = order.size
    if size < 2:
        return order, np.zeros(0, dtype=np.intp)
    ks = keys[order]
    same = ks[1:] == ks[:-1]
    new = np.empty(size, dtype=bool)
    new[0] = True
    np.logical_not(same, out=new[1:])
    starts = np.maximum.accumulate(np.where(new, np.arange(size), 0))
    lead = np.zeros(size, dtype=bool)
    lead[:-1] = same & ((np.arange(size - 1) - starts[:-1]) % 2 == 0)
    return order, np.flatnonzero(lead)


def _phase_cycles(s: _Slots, decide_for: DecideFactory) -> None:
    """Phase 1: 4-cycles between pairs of rows sharing their first two fractional columns.

    The rows with two or more fractional entries form a list, first in
    processing order. Each pass sorts the list stably by the key
    ``k1 × K + k2`` of each row's first two fractional columns, pairs the 1st
    and 2nd, 3rd and 4th … rows of each key, applies one step per pair (in list
    order), and drops the rows left with fewer than two fractional entries.
    """
    w = s.w
    small = s.k * s.k < 1 << 16
    cols = s.cols.reshape(-1).astype(np.uint16 if small else np.int64)
    vals = s.vals.reshape(-1)
    grid, m = s.grid, s.mask
    live = np.flatnonzero(m & (m - _ONE))
    width = np.uint16(s.k) if small else s.k
    iteration = 0
    while live.size >= 2:
        s1, s2 = _two_lowest_bits(m[live], w <= 16)
        base = live * w
        keys = cols[base + s1] * width + cols[base + s2]
        order, lead = _pair_leaders(keys)
        if lead.size == 0:
            break
        iteration += 1
        live, s1, s2 = live[order], s1[order], s2[order]
        a, b = live[lead], live[lead + 1]
        ia1, ia2 = a * w + s1[lead], a * w + s2[lead]
        ib1, ib2 = b * w + s1[lead + 1], b * w + s2[lead + 1]
        big = grid[a]
        x1, x4, x2, x3 = vals[ia1], vals[ia2], vals[ib1], vals[ib2]
        alpha = np.minimum(np.minimum(big - x1, x2), np.minimum(big - x3, x4))
        beta = np.minimum(np.minimum(x1, big - x2), np.minimum(x3, big - x4))
        delta = np.where(decide_for("1", iteration)(alpha, beta), alpha, -beta)
        for rows, i1, i2, n1, n2 in (
            (a, ia1, ia2, x1 + delta, x4 - delta),
            (b, ib1, ib2, x2 - delta, x3 + delta),
        ):
            vals[i1] = n1
            vals[i2] = n2
            b1 = _ONE << (i1 - rows * w).astype(np.uint64)
            b2 = _ONE << (i2 - rows * w).astype(np.uint64)
            f1 = np.asarray((n1 > 0) & (n1 < big), dtype=bool).astype(np.uint64)
            f2 = np.asarray((n2 > 0) & (n2 < big), dtype=bool).astype(np.uint64)
            m[rows] = (m[rows] & ~(b1 | b2)) | (b1 * f1) | (b2 * f2)
        ml = m[live]
        live = live[(ml & (ml - _ONE)) != 0]


def _phase_leaves(s: _Slots, decide_for: DecideFactory) -> None:
    """Phase 2: pivots between pairs of rows whose only fractional entry is in one column.

    The rows with exactly one fractional entry form a list, first in
    processing order. Each pass sorts it stably by that entry's column, pairs
    the 1st and 2nd, 3rd and 4th … rows of each column, applies one step per
    pair, and drops the rows whose entry became 0 or 1.
    """
    mask = s.mask
    live = np.flatnonzero((mask != 0) & ((mask & (mask - _ONE)) == 0))
    slot = _lowest_bit(mask[live])
    rows, col, val, grid = live, s.cols[live, slot], s.vals[live, slot], s.grid[live]
    iteration = 0
    while rows.size >= 2:
        order, lead = _pair_leaders(col)
        if lead.size == 0:
            break
        iteration += 1
        rows, col, val, grid, slot = rows[order], col[order], val[order], grid[order], slot[order]
        a, b = lead, lead + 1
        big = grid[a]
        xa, xb = val[a], val[b]
        alpha = np.minimum(big - xa, xb)
        beta = np.minimum(xa, big - xb)
        delta = np.where(decide_for("2", iteration)(alpha, beta), alpha, -beta)
        val[a] = xa + delta
        val[b] = xb - delta
        keep = np.asarray((val > 0) & (val < grid), dtype=bool)
        if not keep.all():
            gone = ~keep
            s.vals[rows[gone], slot[gone]] = val[gone]
            s.mask[rows[gone]] &= ~(_ONE << slot[gone].astype(np.uint64))
            rows, col, val, grid, slot = rows[keep], col[keep], val[keep], grid[keep], slot[keep]
    s.vals[rows, slot] = val


def _phase_walks(s: _Slots, decide_for: DecideFactory) -> None:
    """Phase 3: what is left (a few rows), one cycle or leaf-to-leaf path at a time."""
    w = s.w
    row_edges: dict[int, list[tuple[int, int]]] = {}
    col_rows: dict[int, list[int]] = {}
    for r in np.flatnonzero(s.mask).tolist():
        m = int(s.mask[r])
        edges = [(int(s.cols[r, j]), j) for j in range(w) if m >> j & 1]
        row_edges[r] = edges
        for k, _ in edges:
            col_rows.setdefault(k, []).append(r)
    decide = decide_for("3", 0)
    while row_edges:
        leaves = [r for r, e in row_edges.items() if len(e) == 1]
        start = min(leaves) if leaves else min(row_edges)
        path: list[tuple[int, int, int]] = []
        seen: dict[tuple[str, int], int] = {("r", start): 0}
        vertex = ("r", start)
        came = -1
        while True:
            if vertex[0] == "r":
                options = [(k, j) for k, j in row_edges[vertex[1]] if k != came]
                if not options:
                    break
                k, j = options[0]
                path.append((vertex[1], k, j))
                came, vertex = vertex[1], ("c", k)
            else:
                k = vertex[1]
                r = min(x for x in col_rows[k] if x != came)
                j = next(j for kk, j in row_edges[r] if kk == k)
                path.append((r, k, j))
                came, vertex = k, ("r", r)
            if vertex in seen:
                path = path[seen[vertex] :]
                break
            seen[vertex] = len(path)
        rr = np.array([r for r, _, _ in path], dtype=np.intp)
        jj = np.array([j for _, _, j in path], dtype=np.intp)
        x = s.vals[rr, jj]
        big = s.grid[path[0][0]]
        plus = np.arange(len(path)) % 2 == 0
        alpha = min(np.where(plus, big - x, x).tolist())
        beta = min(np.where(plus, x, big - x).tolist())
        up = bool(decide(np.array([alpha], dtype=x.dtype), np.array([beta], dtype=x.dtype))[0])
        delta = alpha if up else -beta
        new = np.where(plus, x + delta, x - delta)
        s.vals[rr, jj] = new
        for (r, k, j), v in zip(path, new.tolist(), strict=True):
            if 0 < v < big:
                continue
            s.mask[r] &= ~(_ONE << np.uint64(j))
            row_edges[r] = [(kk, j2) for kk, j2 in row_edges[r] if j2 != j]
            if not row_edges[r]:
                del row_edges[r]
            col_rows[k].remove(r)


def _round_slots(s: _Slots, decide_for: DecideFactory) -> None:
    """Round every entry to 0 or its grid (the three phases of docs/plan.md §5)."""
    _phase_cycles(s, decide_for)
    _phase_leaves(s, decide_for)
    _phase_walks(s, decide_for)


def _stream_decider(seed: Seed, label: Sequence[str]) -> DecideFactory:
    """Decisions from the stream: ``up`` iff ``below(α+β) < β``, one sub-stream per pass."""
    walk: list[Stream] = []

    def factory(phase: str, iteration: int) -> Decide:
        if phase == "3":
            if not walk:
                walk.append(seed.stream(*label, "3"))
            stream = walk[0]
        else:
            stream = seed.stream(*label, phase, str(iteration))

        def decide(alpha: npt.NDArray[Any], beta: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
            total = alpha + beta
            if total.dtype != object and (total.size == 0 or int(total.max()) < 1 << 63):
                w: npt.NDArray[Any] = stream.next_below(total)
            else:
                w = np.array([stream.below(int(t)) for t in total.tolist()], dtype=object)
            return np.asarray(w < beta, dtype=bool)

        return decide

    return factory


def _components(
    n_columns: int, links: npt.NDArray[np.int64], denominators: Sequence[int]
) -> tuple[list[int], dict[int, int]]:
    """Connected components of columns (``links``: pairs sharing an entity); each one's grid."""
    parent = list(range(n_columns))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    comp = [find(k) for k in range(n_columns)]
    grids: dict[int, int] = {}
    for k in range(n_columns):
        grids[comp[k]] = math.lcm(grids.get(comp[k], 1), denominators[k])
    return comp, grids


@attrs.frozen(eq=False)
class _Matrix:
    """The entity × column matrix on component grids (sparse, by rows)."""

    positions: npt.NDArray[np.intp]  # pool position of each row, canonical order
    cols: npt.NDArray[np.int64]  # (rows, w), ascending, ``k`` for empty
    vals: npt.NDArray[Any]  # (rows, w) scaled numerators
    grid: npt.NDArray[Any]  # (rows,)
    n_columns: int


def _matrix(
    entries: Sequence[tuple[npt.NDArray[np.intp], npt.NDArray[np.int64], int]],
    size: int,
    *,
    fractional_only: bool,
) -> _Matrix:
    """Build the matrix from columns ``(positions, numerators, denominator)``.

    Rows are the entities with a fractional entry (``fractional_only``) or any
    positive entry, in canonical order. Each component of columns (linked by
    shared rows) gets the grid ``L`` = lcm of its columns' reduced
    denominators; an entry ``p/D`` is stored as ``p × L / D``.
    """
    k_total = len(entries)
    keep = []
    count = np.zeros(size, dtype=np.int64)
    first = np.full(size, -1, dtype=np.int64)
    links = [np.zeros((0, 2), dtype=np.int64)]
    reduced = []
    for k, (pos, p, den) in enumerate(entries):
        sel = (p > 0) & (p < den) if fractional_only else p > 0
        kpos, kp = pos[sel], p[sel]
        keep.append((kpos, kp))
        reduced.append(_reduced_denominator(p[(p > 0) & (p < den)], den))
        count[kpos] += 1
        seen = first[kpos]
        linked = seen >= 0
        if linked.any():
            earlier = np.flatnonzero(np.bincount(seen[linked], minlength=k_total))
            links.append(np.stack((earlier, np.full(earlier.size, k, dtype=np.int64)), axis=1))
        first[kpos[~linked]] = k
    comp, grids = _components(k_total, np.concatenate(links).astype(np.int64), reduced)
    big = max(grids.values(), default=1)
    exact_ints = big < _MAX_INT_GRID
    dtype: Any = np.int64 if exact_ints else object
    positions = np.flatnonzero(count).astype(np.intp)
    rows = positions.size
    width = int(count.max()) if size else 0
    row_of = np.full(size, -1, dtype=np.int64)
    row_of[positions] = np.arange(rows)
    cols = np.full(rows * width, k_total, dtype=np.int64)
    vals = np.zeros(rows * width, dtype=dtype)
    fill = row_of * width  # flat index of each row's next free slot
    for k, (kpos, kp) in enumerate(keep):
        if kpos.size == 0:
            continue
        at = fill[kpos]
        cols[at] = k
        # p / D = (p / g) / D' with g = D / D': the entry is (p / g) × (L / D')
        g = entries[k][2] // reduced[k]
        scale = grids[comp[k]] // reduced[k]
        vals[at] = (kp // g) * scale if exact_ints else (kp // g).astype(object) * scale
        fill[kpos] += 1
    grid_of_column = np.array([grids[comp[k]] for k in range(k_total)] + [1], dtype=dtype)
    grid = grid_of_column[cols[::width]] if width else np.ones(0, dtype=dtype)
    return _Matrix(positions, cols.reshape(rows, width), vals.reshape(rows, width), grid, k_total)


def _joint_select(
    entries: Sequence[tuple[npt.NDArray[np.intp], npt.NDArray[np.int64], int]],
    size: int,
    decide_for: DecideFactory,
    order: Callable[[int], npt.NDArray[np.intp]],
) -> list[npt.NDArray[np.intp]]:
    """Run the engine on the columns; the selected positions of each column."""
    matrix = _matrix(entries, size, fractional_only=True)
    rows = matrix.positions.size
    perm = order(rows)
    slots = _Slots(matrix.cols[perm], matrix.vals[perm], matrix.grid[perm], matrix.n_columns)
    _round_slots(slots, decide_for)
    hit_r, hit_j = np.nonzero(np.asarray(slots.vals == slots.grid[:, None], dtype=bool))
    hit_col = slots.cols[hit_r, hit_j]
    hit_pos = matrix.positions[perm][hit_r]
    by = np.lexsort((hit_pos, hit_col))
    hit_col, hit_pos = hit_col[by], hit_pos[by]
    bounds = np.searchsorted(hit_col, np.arange(len(entries) + 1))
    out = []
    for k, (pos, p, den) in enumerate(entries):
        chosen = np.concatenate((pos[p == den], hit_pos[bounds[k] : bounds[k + 1]]))
        chosen.sort()
        out.append(chosen.astype(np.intp))
    return out


def joint_rounding(
    numerators: npt.ArrayLike,
    denominators: Sequence[int],
    *,
    seed: Seed | str | int | Mapping[str, Any],
    label: Sequence[str] = ("joint",),
) -> npt.NDArray[np.bool_]:
    """Round a matrix of exact probabilities to 0/1, keeping every column's sum.

    ``numerators[i][k] / denominators[k]`` is the probability that row ``i``
    (an entity) is selected in column ``k`` (a round, or an item in a round);
    every column must sum to a whole number. The result ``X`` (booleans) has

    * ``Pr[X[i, k]] = numerators[i][k] / denominators[k]`` exactly;
    * every column's sum equal to the column's expected sum, in every outcome;
    * every row's sum equal to ``⌊C_i⌋`` or ``⌈C_i⌉``, ``C_i`` the row's expected sum.

    Randomness comes from ``seed`` through the sub-streams ``label + ("order",)``,
    ``label + ("1", t)``, ``label + ("2", t)`` and ``label + ("3",)`` (docs/plan.md
    §5); :func:`draw_year` uses ``label = ("year", YEAR, "joint")``.
    """
    p = np.asarray(numerators, dtype=np.int64)
    if p.ndim != 2 or p.shape[1] != len(denominators):
        raise ValueError("numerators must be a matrix with one column per denominator")
    dens = [int(d) for d in denominators]
    for k, d in enumerate(dens):
        col = p[:, k]
        if d < 1 or (col.size and (int(col.min()) < 0 or int(col.max()) > d)):
            raise ValueError(f"column {k}: every entry must lie in [0, {d}]")
        total = sum(col.tolist())
        if total % d:
            raise ValueError(f"column {k} sums to {Fraction(total, d)}, not a whole number")
    seed_obj = as_seed(seed)
    rows = np.arange(p.shape[0], dtype=np.intp)
    entries = [(rows, p[:, k].copy(), dens[k]) for k in range(len(dens))]
    chosen = _joint_select(
        entries,
        p.shape[0],
        _stream_decider(seed_obj, label),
        lambda m: random_order(seed_obj.stream(*label, "order"), m),
    )
    out = np.zeros(p.shape, dtype=bool)
    for k, pos in enumerate(chosen):
        out[pos, k] = True
    return out


def reference_joint_rounding(
    numerators: Sequence[Sequence[int]],
    denominators: Sequence[int],
    *,
    seed_material: Mapping[str, Any],
    label: Sequence[str] = ("joint",),
) -> list[list[bool]]:
    """:func:`joint_rounding` in plain Python, transcribed from docs/plan.md §5.

    Slow and obvious on purpose: the tests hold the fast engine to it, and a
    third party can port it line by line.
    """
    size = len(numerators)
    k_total = len(denominators)
    lab = list(label)
    # Grids: components of columns linked by rows with fractional entries.
    parent = list(range(k_total))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    frac_cols = [
        [k for k in range(k_total) if 0 < numerators[i][k] < denominators[k]] for i in range(size)
    ]
    for cols in frac_cols:
        for k in cols[1:]:
            a, b = find(cols[0]), find(k)
            if a != b:
                parent[max(a, b)] = min(a, b)
    reduced = []
    for k in range(k_total):
        g = denominators[k]
        for i in range(size):
            if 0 < numerators[i][k] < denominators[k]:
                g = math.gcd(g, numerators[i][k])
        reduced.append(denominators[k] // g)
    grid_of: dict[int, int] = {}
    for k in range(k_total):
        grid_of[find(k)] = math.lcm(grid_of.get(find(k), 1), reduced[k])
    rows = [i for i in range(size) if frac_cols[i]]
    order_stream = ReferenceStream(seed_material, [*lab, "order"])
    rows = [rows[j] for j in sorted(range(len(rows)), key=lambda j: (order_stream.key16(j), j))]
    # value[(row index in processing order, column)] on the row's grid
    big = [grid_of[find(frac_cols[e][0])] for e in rows]
    value = {
        (r, k): numerators[e][k] // (denominators[k] // reduced[k]) * (big[r] // reduced[k])
        for r, e in enumerate(rows)
        for k in frac_cols[e]
    }

    def fractional(r: int) -> list[int]:
        return [k for k in frac_cols[rows[r]] if 0 < value[(r, k)] < big[r]]

    def step(edges: list[tuple[int, int]], stream: ReferenceStream) -> None:
        x = [value[e] for e in edges]
        g = big[edges[0][0]]
        alpha = min(g - v if j % 2 == 0 else v for j, v in enumerate(x))
        beta = min(v if j % 2 == 0 else g - v for j, v in enumerate(x))
        delta = alpha if stream.below(alpha + beta) < beta else -beta
        for j, e in enumerate(edges):
            value[e] += delta if j % 2 == 0 else -delta

    def wanted(phase: str, c: list[int]) -> bool:
        return len(c) >= 2 if phase == "1" else len(c) == 1

    for phase in ("1", "2"):
        live = [r for r in range(len(rows)) if wanted(phase, fractional(r))]
        iteration = 0
        while len(live) >= 2:
            if phase == "1":
                keys = {r: fractional(r)[0] * k_total + fractional(r)[1] for r in live}
            else:
                keys = {r: fractional(r)[0] for r in live}
            live.sort(key=lambda r: keys[r])  # stable: ties keep the list order
            pairs = []
            j = 0
            while j + 1 < len(live):
                if keys[live[j]] == keys[live[j + 1]]:
                    pairs.append((live[j], live[j + 1]))
                    j += 2
                else:
                    j += 1
            if not pairs:
                break
            iteration += 1
            stream = ReferenceStream(seed_material, [*lab, phase, str(iteration)])
            for a, b in pairs:
                c = fractional(a)
                if phase == "1":
                    step([(a, c[0]), (b, c[0]), (b, c[1]), (a, c[1])], stream)
                else:
                    step([(a, c[0]), (b, c[0])], stream)
            live = [r for r in live if wanted(phase, fractional(r))]
    walk_stream = ReferenceStream(seed_material, [*lab, "3"])
    while True:
        live_rows = [r for r in range(len(rows)) if fractional(r)]
        if not live_rows:
            break
        leaves = [r for r in live_rows if len(fractional(r)) == 1]
        start = min(leaves) if leaves else min(live_rows)
        path: list[tuple[int, int]] = []
        seen: dict[tuple[str, int], int] = {("r", start): 0}
        vertex = ("r", start)
        came = -1
        while True:
            if vertex[0] == "r":
                options = [k for k in fractional(vertex[1]) if k != came]
                if not options:
                    break
                path.append((vertex[1], options[0]))
                came, vertex = vertex[1], ("c", options[0])
            else:
                k = vertex[1]
                r = min(x for x in live_rows if x != came and k in fractional(x))
                path.append((r, k))
                came, vertex = k, ("r", r)
            if vertex in seen:
                path = path[seen[vertex] :]
                break
            seen[vertex] = len(path)
        step(path, walk_stream)
    out = [[numerators[i][k] == denominators[k] for k in range(k_total)] for i in range(size)]
    for r, e in enumerate(rows):
        for k in frac_cols[e]:
            if value[(r, k)] == big[r]:
                out[e][k] = True
    return out


# -- permanent random numbers ------------------------------------------------------------


def _smallest_exact(
    d: npt.NDArray[Any], p: npt.NDArray[Any], rank: npt.NDArray[np.intp], m: int
) -> npt.NDArray[np.intp]:
    """Indices of the ``m`` smallest ``d/p`` (ties by ``rank``), exactly.

    Floats sort the bulk; every entry within a relative ``2**-40`` of the
    ``m``-th float is then ordered with exact fractions, so float rounding never
    decides (docs/plan.md §6).
    """
    size = d.shape[0]
    if m <= 0:
        return np.zeros(0, dtype=np.intp)
    if m >= size:
        return np.arange(size, dtype=np.intp)
    f = d.astype(np.float64) / p.astype(np.float64)
    cut = float(np.partition(f, m - 1)[m - 1])
    lo, hi = cut * (1 - 2.0**-40), cut * (1 + 2.0**-40)
    sure = np.flatnonzero(f < lo)
    near = np.flatnonzero((f >= lo) & (f <= hi))
    exact = sorted(near.tolist(), key=lambda i: (Fraction(int(d[i]), int(p[i])), int(rank[i])))
    take = np.array(exact[: m - sure.size], dtype=np.intp)
    return np.sort(np.concatenate((sure, take))).astype(np.intp)


def _row_sums(vals: npt.NDArray[Any], grid: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Row sums of grid values, in Python integers when int64 could overflow."""
    if vals.dtype != object and vals.shape[1] * int(grid.max(initial=1)) >= 1 << 63:
        vals = vals.astype(object)
    return np.asarray(vals.sum(axis=1))


def _windows(matrix: _Matrix, rounds_of: npt.NDArray[np.int64], n_rounds: int) -> npt.NDArray[Any]:
    """Per row and round, the largest entry of the round (items of a round are nested)."""
    rows = matrix.positions.size
    window = np.zeros(rows * (n_rounds + 1), dtype=matrix.vals.dtype)
    base = np.arange(rows) * (n_rounds + 1)
    for j in range(matrix.cols.shape[1]):
        at = base + rounds_of[matrix.cols[:, j]]
        window[at] = np.maximum(window[at], matrix.vals[:, j])
    return window.reshape(rows, n_rounds + 1)[:, :n_rounds]


def _prn_select(
    columns: Sequence[_Column], n_rounds: int, size: int, seed: Seed, year: int, fixed: bool
) -> list[npt.NDArray[np.intp]]:
    """PRN rotation: each entity's round windows follow each other on its circle."""
    entries = [(c.positions, c.design.numerators, c.design.denominator) for c in columns]
    matrix = _matrix(entries, size, fractional_only=False)
    rows = matrix.positions.size
    grid_all: npt.NDArray[Any] = np.ones(size, dtype=matrix.grid.dtype)
    grid_all[matrix.positions] = matrix.grid
    stream = seed.stream("prn", str(year))
    if grid_all.dtype == object:
        u_all: npt.NDArray[Any] = np.array(
            [stream.below(int(g)) for g in grid_all.tolist()], dtype=object
        )
    else:
        u_all = stream.next_below(grid_all)
    u = u_all[matrix.positions]
    cols = matrix.cols
    rounds_of = np.array([c.round for c in columns] + [n_rounds], dtype=np.int64)
    window = _windows(matrix, rounds_of, n_rounds)
    # round r's window starts where round r-1's ended: a_r = (w_0 + … + w_{r-1}) mod L
    starts = np.zeros_like(window)
    for r in range(1, n_rounds):
        starts[:, r] = (starts[:, r - 1] + window[:, r - 1]) % matrix.grid
    offset = (u[:, None] - starts) % matrix.grid[:, None]  # (rows, rounds)
    rows_all = np.repeat(np.arange(rows), cols.shape[1])
    flat_cols = cols.reshape(-1)
    used = flat_cols < len(columns)
    rows_all, flat_cols = rows_all[used], flat_cols[used]
    x = matrix.vals.reshape(-1)[used]
    d = offset[rows_all, rounds_of[flat_cols]]
    # rows are in canonical order, so a stable sort by column keeps positions ascending
    by = np.argsort(
        flat_cols.astype(np.uint16) if len(columns) < 1 << 16 else flat_cols, kind="stable"
    )
    rows_all, flat_cols, x, d = rows_all[by], flat_cols[by], x[by], d[by]
    bounds = np.searchsorted(flat_cols, np.arange(len(columns) + 1))
    out = []
    for k, col in enumerate(columns):
        lo, hi = bounds[k], bounds[k + 1]
        pos_k = matrix.positions[rows_all[lo:hi]]
        xk, dk = x[lo:hi], d[lo:hi]
        if not fixed:
            out.append(pos_k[np.asarray(dk < xk, dtype=bool)])
            continue
        certain = np.asarray(xk == matrix.grid[rows_all[lo:hi]], dtype=bool)
        rest = np.flatnonzero(~certain)
        pick = _smallest_exact(dk[rest], xk[rest], pos_k[rest], col.design.n - int(certain.sum()))
        out.append(np.sort(np.concatenate((pos_k[certain], pos_k[rest[pick]]))).astype(np.intp))
    return out


# -- history -----------------------------------------------------------------------------


def _id_set(value: Iterable[object]) -> tuple[str, ...]:
    return tuple(sorted({canonical_id(x) for x in value}))


@attrs.frozen
class PastRound:
    """A past round: its label, date, and the ids of the entities visited."""

    label: str = attrs.field(converter=canonical_id)
    date: dt.date = attrs.field(converter=_date)
    entities: tuple[str, ...] = attrs.field(converter=_id_set)

    def to_record(self) -> dict[str, Any]:
        """``{"round", "date", "entities"}``."""
        return {"round": self.label, "date": self.date.isoformat(), "entities": list(self.entities)}


def _past_rounds(value: Iterable[PastRound]) -> tuple[PastRound, ...]:
    rounds = list(value)
    order = sorted(range(len(rounds)), key=lambda i: (rounds[i].date, i))
    return tuple(rounds[i] for i in order)


@attrs.frozen
class History:
    """Past inspections, round by round (oldest first): the input of burden control.

    Build with :meth:`from_records` (``[{"round", "date", "entities": [ids]}]``,
    or flat rows ``{"round", "date", "entity"}``), :meth:`from_file` (JSON or
    CSV with columns ``round,date,entity``) or :meth:`YearDraw.as_history`.
    """

    rounds: tuple[PastRound, ...] = attrs.field(default=(), converter=_past_rounds)

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], *, source: str | None = None
    ) -> History:
        """History from round records or flat (round, date, entity) rows."""
        grouped: dict[tuple[str, str], list[str]] = {}
        for row, record in enumerate(records, start=1):
            try:
                label = canonical_id(record.get("round", record.get("label")))
                day = _date(record.get("date")).isoformat()
                if "entities" in record:
                    ids = record["entities"]
                    if isinstance(ids, str) or not isinstance(ids, Iterable):
                        raise ValueError("entities must be a list of ids")
                    grouped.setdefault((label, day), []).extend(canonical_id(x) for x in ids)
                else:
                    grouped.setdefault((label, day), []).append(canonical_id(record["entity"]))
            except (TypeError, ValueError, KeyError) as exc:
                raise PlanError(
                    f"bad history record: {exc}", source=source, row=row, column="history"
                ) from None
        return cls(tuple(PastRound(label, day, ids) for (label, day), ids in grouped.items()))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> History:
        """Read a history file: JSON (a list, or ``{"history": [...]}``) or CSV."""
        from .loaders.files import Source, cell_text, decode, read_csv

        file = os.fspath(path)
        suffix = Path(file).suffix.lower()
        if suffix == ".json":
            try:
                text, _ = decode(Path(file).read_bytes(), file=file)
                data = json.loads(text)
            except FileNotFoundError:
                raise PlanError("no such file", source=file) from None
            except json.JSONDecodeError as exc:
                raise PlanError(f"malformed JSON: {exc.msg}", source=file) from None
            if isinstance(data, Mapping):
                data = data.get("history", data.get("rounds"))
            if not isinstance(data, list):
                raise PlanError("expected a list of history records", source=file)
            return cls.from_records(data, source=file)
        if not Path(file).exists():
            raise PlanError("no such file", source=file)
        table = read_csv(Source(path=file))
        header = [h.strip().lower() for h in table.header]
        missing = [c for c in ("round", "date", "entity") if c not in header]
        if missing:
            raise PlanError(
                f"a history CSV needs the columns round, date, entity; missing {missing}",
                source=file,
                row=1,
            )
        at = {c: header.index(c) for c in ("round", "date", "entity")}
        return cls.from_records(
            ({c: cell_text(cells[i]) for c, i in at.items()} for cells in table.rows),
            source=file,
        )

    def to_records(self) -> list[dict[str, Any]]:
        """Every round as ``{"round", "date", "entities"}``, oldest first."""
        return [r.to_record() for r in self.rounds]

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 (hex) of ``canonical_json(to_records())``."""
        return hashlib.sha256(canonical_json(self.to_records())).hexdigest()

    def positions(self, pool: EntityPool) -> tuple[list[npt.NDArray[np.intp]], int]:
        """Per round, the positions in ``pool`` of its entities; and how many ids were absent."""
        out = []
        missing = 0
        ids = pool.ids
        for rnd in self.rounds:
            wanted = np.asarray(rnd.entities, dtype=str)
            if wanted.size == 0 or len(pool) == 0:
                out.append(np.zeros(0, dtype=np.intp))
                missing += wanted.size
                continue
            at = np.searchsorted(ids, wanted)
            ok = at < len(pool)
            ok[ok] = ids[at[ok]] == wanted[ok]
            missing += int((~ok).sum())
            out.append(np.sort(at[ok]).astype(np.intp))
        return out, missing

    def __add__(self, other: History) -> History:
        return History(self.rounds + other.rounds)


# -- the year draw -------------------------------------------------------------------------


@attrs.frozen(eq=False)
class ColumnDraw:
    """The draw of one item in one credit stratum (or its whole frame) in one round.

    ``covered`` are the pool positions the draw was made from (after any
    exclusion), ``frame`` the size of the stratum before exclusion; ``design``
    is indexed like ``covered``; ``start`` the systematic start, when the
    round was drawn on its own.
    """

    item: Item
    stratum: str
    pool: EntityPool = attrs.field(repr=False)
    covered: npt.NDArray[np.intp]
    frame: int
    design: Design
    start: int | None
    positions: npt.NDArray[np.intp]

    @functools.cached_property
    def selected(self) -> tuple[str, ...]:
        """Ids drawn, in canonical order."""
        return tuple(self.pool.ids[self.positions].tolist())

    def to_record(self) -> dict[str, Any]:
        """JSON-ready summary; big integers are decimal strings."""
        return {
            "item": self.item.code,
            "stratum": self.stratum,
            "frame": self.frame,
            "covered": int(self.covered.shape[0]),
            "n": int(self.positions.shape[0]),
            "expected": _exact_text(
                Fraction(int(self.design.numerators.sum()), self.design.denominator)
            ),
            "denominator": str(self.design.denominator),
            "start": None if self.start is None else str(self.start),
            "selected": list(self.selected),
        }


def _exact_text(value: Fraction) -> str:
    """An exact non-negative rational as text: ``"3"``, ``"2.5"``, ``"7/3"``."""
    whole, rest = divmod(value, 1)
    if rest == 0:
        return str(int(whole))
    frac = format_ratio(Fraction(rest))
    if "/" in frac:
        return f"{value.numerator}/{value.denominator}"
    return f"{int(whole)}{frac[1:]}"


@attrs.frozen(eq=False, repr=False)
class RoundDraw:
    """The selections of one round: per item and stratum, and the merged visits."""

    round: Round
    pool: EntityPool = attrs.field(repr=False)
    draws: tuple[ColumnDraw, ...]

    @functools.cached_property
    def visited(self) -> npt.NDArray[np.intp]:
        """Positions of the entities visited in this round (drawn for any item)."""
        if not self.draws:
            return np.zeros(0, dtype=np.intp)
        return np.unique(np.concatenate([d.positions for d in self.draws])).astype(np.intp)

    def positions(self, item_code: str) -> npt.NDArray[np.intp]:
        """Positions drawn for ``item_code`` (all strata), sorted."""
        parts = [d.positions for d in self.draws if d.item.code == item_code]
        if not parts:
            raise KeyError(f"item {item_code!r} is not drawn in round {self.round.label!r}")
        return np.sort(np.concatenate(parts)).astype(np.intp)

    def selected(self, item_code: str) -> tuple[str, ...]:
        """Ids drawn for ``item_code`` in this round, in canonical order."""
        return tuple(self.pool.ids[self.positions(item_code)].tolist())

    @property
    def items(self) -> tuple[str, ...]:
        """Codes of the items drawn in this round."""
        return tuple(dict.fromkeys(d.item.code for d in self.draws))

    def inclusion_probabilities(self, item_code: str) -> dict[str, Fraction]:
        """``{id: π}`` (exact) for every entity the item's draw in this round covered."""
        out: dict[str, Fraction] = {}
        for d in self.draws:
            if d.item.code != item_code:
                continue
            ids = self.pool.ids[d.covered].tolist()
            den = d.design.denominator
            for ident, p in zip(ids, d.design.numerators.tolist(), strict=True):
                out[ident] = Fraction(p, den)
        return out

    @functools.cached_property
    def tasks(self) -> tuple[Task, ...]:
        """One task (visit) per entity drawn, covering all its items (合并检查、一次办结)."""
        if not self.draws:
            return ()
        positions = np.concatenate([d.positions for d in self.draws])
        which = np.repeat(np.arange(len(self.draws)), [d.positions.size for d in self.draws])
        order = np.lexsort((which, positions))
        positions, which = positions[order], which[order]
        starts = np.flatnonzero(np.diff(positions, prepend=-1))
        ids = self.pool.ids[positions[starts]].tolist()
        tasks = []
        for ident, group in zip(ids, np.split(which, starts[1:]), strict=True):
            items = sorted({self.draws[g].item for g in group.tolist()}, key=lambda i: i.code)
            tasks.append(
                Task(
                    entity_id=ident,
                    items=tuple(i.code for i in items),
                    stations=tuple(sorted({i.station for i in items})),
                )
            )
        return tuple(tasks)

    def to_record(self) -> dict[str, Any]:
        """The round's draws and tasks, JSON-ready."""
        return {
            "round": self.round.label,
            "date": self.round.date.isoformat(),
            "draws": [d.to_record() for d in self.draws],
            "tasks": [
                {"entity": t.entity_id, "items": list(t.items), "stations": list(t.stations)}
                for t in self.tasks
            ],
        }

    def __repr__(self) -> str:
        return (
            f"<RoundDraw {self.round.label} {self.round.date.isoformat()}: "
            f"{len(self.draws)} draws, {self.visited.size} visits>"
        )


@attrs.frozen(eq=False, repr=False)
class YearDraw:
    """What :func:`draw_year` returns: every round of the year and the replayable record."""

    plan: Plan
    entities: EntityPool = attrs.field(repr=False)
    seed: Seed
    method: Method
    history: History | None
    rounds: tuple[RoundDraw, ...]
    created_at: str
    history_missing: int = 0
    plugins: tuple[dict[str, Any], ...] = ()

    def round(self, label: str) -> RoundDraw:
        """The round labelled ``label``."""
        for r in self.rounds:
            if r.round.label == label:
                return r
        raise KeyError(f"no round {label!r} in this year")

    @functools.cached_property
    def visits(self) -> npt.NDArray[np.int64]:
        """Visits per entity this year (rounds with at least one item), canonical order."""
        out = np.zeros(len(self.entities), dtype=np.int64)
        for r in self.rounds:
            out[r.visited] += 1
        return out

    @functools.cached_property
    def item_inspections(self) -> npt.NDArray[np.int64]:
        """Item-inspections per entity this year (an entity drawn for two items counts 2)."""
        out = np.zeros(len(self.entities), dtype=np.int64)
        for r in self.rounds:
            for d in r.draws:
                out[d.positions] += 1
        return out

    def as_history(self) -> History:
        """This year's visits as a :class:`History`, to carry into the next draw."""
        return History(
            tuple(
                PastRound(r.round.label, r.round.date, self.entities.ids[r.visited].tolist())
                for r in self.rounds
            )
        )

    @property
    def record(self) -> dict[str, Any]:
        """The JSON-serializable record that :func:`verify_year` replays (no floats)."""
        visits = np.bincount(self.visits, minlength=1)
        return {
            "spec": PLAN_SPEC,
            "stream": SPEC,
            "randcheck": __version__,
            "seed": self.seed.material(),
            "seed_key": self.seed.key.hex(),
            "year": self.plan.year,
            "method": self.method,
            "plan": self.plan.to_record(),
            "pools": {"entities": {"digest": self.entities.digest, "size": len(self.entities)}},
            "plugins": list(self.plugins),
            "history": None
            if self.history is None
            else {
                "digest": self.history.digest,
                "rounds": len(self.history.rounds),
                "missing": self.history_missing,
            },
            "rounds": [r.to_record() for r in self.rounds],
            "visits": {str(k): int(v) for k, v in enumerate(visits.tolist()) if v},
            "created_at": self.created_at,
        }

    def to_json(self) -> str:
        """The record as canonical JSON text."""
        return canonical_json(self.record).decode("utf-8")

    def __repr__(self) -> str:
        twice = int((self.visits >= 2).sum())
        return (
            f"<YearDraw {self.plan.year} {self.method}: {len(self.rounds)} rounds, "
            f"{int((self.visits > 0).sum())} entities visited, {twice} twice or more>"
        )


def _as_pool(entities: EntityPool | Iterable[Mapping[str, Any]]) -> EntityPool:
    if isinstance(entities, EntityPool):
        return entities
    return EntityPool.from_records(list(entities))


def _bounds(
    columns: Sequence[_Column], n_rounds: int, size: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per entity: ``⌈Σ π⌉`` over all columns, and the number of rounds with ``π > 0``."""
    entries = [(c.positions, c.design.numerators, c.design.denominator) for c in columns]
    ceil_total = np.zeros(size, dtype=np.int64)
    if entries:
        matrix = _matrix(entries, size, fractional_only=False)
        sums = _row_sums(matrix.vals, matrix.grid)
        ceil_total[matrix.positions] = np.asarray(-(-sums // matrix.grid), dtype=np.int64)
    in_round = np.zeros((n_rounds, size), dtype=bool)
    for c in columns:
        in_round[c.round, c.positions[c.design.numerators > 0]] = True
    return ceil_total, in_round.sum(axis=0).astype(np.int64)


def _check_cap(
    plan: Plan, pool: EntityPool, columns: Sequence[_Column], prior: npt.NDArray[np.int64]
) -> None:
    if plan.max_visits is None:
        return
    ceil_total, rounds = _bounds(columns, len(plan.rounds), len(pool))
    worst = prior + np.minimum(ceil_total, rounds)
    over = np.flatnonzero(worst > plan.max_visits)
    if over.size:
        first = int(over[0])
        raise PlanError(
            f"{over.size} entities could be visited more than max_visits = {plan.max_visits} "
            f"times this year (e.g. {pool.ids[first]}: up to {int(worst[first])}, "
            f"{int(prior[first])} already); lower their ratios, or use method 'exclude' or "
            "'independent', which leave out entities at the cap",
            column="max_visits",
            id=str(pool.ids[first]),
        )


def _prior_visits(
    history: History | None, pool: EntityPool, year: int
) -> tuple[npt.NDArray[np.int64], list[npt.NDArray[np.intp]], int]:
    prior = np.zeros(len(pool), dtype=np.int64)
    if history is None:
        return prior, [], 0
    past, missing = history.positions(pool)
    for rnd, pos in zip(history.rounds, past, strict=True):
        if rnd.date.year == year:
            prior[pos] += 1
    return prior, past, missing


def _sequential_rounds(
    plan: Plan,
    pool: EntityPool,
    seed: Seed,
    method: Method,
    prior: npt.NDArray[np.int64],
    past: list[npt.NDArray[np.intp]],
    plugins: Plugins,
) -> list[RoundDraw]:
    strata = _plan_strata(plan, pool)
    visits = prior.copy()
    recent = list(past)
    year = str(plan.year)
    out = []
    for r, rnd in enumerate(plan.rounds):
        eligible = np.ones(len(pool), dtype=bool)
        if plan.max_visits is not None:
            eligible &= visits < plan.max_visits
        if method == "exclude":
            if plan.exclude_last is None:
                eligible &= visits == 0
            else:
                for pos in recent[-plan.exclude_last :]:
                    eligible[pos] = False
        draws = []
        for s in strata:
            if r not in plan.schedule(s.item.code):
                continue
            covered = s.positions[eligible[s.positions]]
            design = _design(s, pool, covered, plugins)
            label = ("year", year, "round", rnd.label, "item", s.item.code, "stratum", s.label)
            picked, start = systematic(
                design, seed.stream(*label, "order"), seed.stream(*label, "start")
            )
            draws.append(
                ColumnDraw(
                    s.item, s.label, pool, covered, s.positions.size, design, start, covered[picked]
                )
            )
        result = RoundDraw(rnd, pool, tuple(draws))
        visits[result.visited] += 1
        recent.append(result.visited)
        out.append(result)
    return out


def _coordinated_rounds(
    plan: Plan,
    pool: EntityPool,
    seed: Seed,
    method: Method,
    prior: npt.NDArray[np.int64],
    plugins: Plugins,
) -> list[RoundDraw]:
    if method == "prn" and plan.prn_size == "fixed" and plan.max_visits is not None:
        raise PlanError(
            "fixed-size PRN rotation does not bound the visits of an entity, so it cannot "
            "honour max_visits; use prn_size 'poisson', or method 'joint' or 'exclude'",
            column="max_visits",
        )
    columns = _fixed_columns(plan, pool, plugins)
    _check_cap(plan, pool, columns, prior)
    year = str(plan.year)
    if method == "joint":
        label = ("year", year, "joint")
        chosen = _joint_select(
            [(c.positions, c.design.numerators, c.design.denominator) for c in columns],
            len(pool),
            _stream_decider(seed, label),
            lambda m: random_order(seed.stream(*label, "order"), m),
        )
    else:
        chosen = _prn_select(
            columns, len(plan.rounds), len(pool), seed, plan.year, plan.prn_size == "fixed"
        )
    by_round: list[list[ColumnDraw]] = [[] for _ in plan.rounds]
    for c, pos in zip(columns, chosen, strict=True):
        by_round[c.round].append(
            ColumnDraw(
                c.stratum.item,
                c.stratum.label,
                pool,
                c.positions,
                c.positions.size,
                c.design,
                None,
                pos,
            )
        )
    return [RoundDraw(rnd, pool, tuple(d)) for rnd, d in zip(plan.rounds, by_round, strict=True)]


def draw_year(
    plan: Plan,
    entities: EntityPool | Iterable[Mapping[str, Any]],
    *,
    seed: Seed | str | int | Mapping[str, Any],
    history: History | None = None,
    method: Method | None = None,
    created_at: str | None = None,
    plugins: Plugins | None = None,
) -> YearDraw:
    """Draw every round of the plan's year, reproducibly from ``seed``.

    Parameters
    ----------
    plan
        The :class:`Plan`.
    entities
        The entity pool (or records to build it from).
    seed
        Public seed material (text, integer, :class:`~randcheck.Seed` or recorded
        material). It decides every round, so keep the record sealed until the
        rounds are due.
    history
        Earlier rounds (:class:`History`): visits dated in the plan's year count
        towards ``max_visits``; ``method="exclude"`` leaves out their entities.
    method
        ``"joint"``, ``"prn"``, ``"exclude"`` or ``"independent"``; default
        ``plan.method``. See the module docstring and docs/plan.md.
    created_at
        Timestamp to record (default: now, UTC).
    plugins
        The plugins whose risk weights apply (default: the installed ones), as
        in :func:`randcheck.draw`; they are named in the record.

    Returns
    -------
    YearDraw
        with ``rounds`` (each a :class:`RoundDraw`), ``visits`` and ``record``.

    Raises
    ------
    PlanError
        when the plan cannot be honoured, e.g. ``"joint"`` or ``"prn"`` with a
        ``max_visits`` some entity could exceed.
    """
    chosen_method: Method = plan.method if method is None else method
    if chosen_method not in METHODS:
        raise PlanError(f"unknown method {chosen_method!r}; use one of {', '.join(METHODS)}")
    seed_obj = as_seed(seed)
    pool = _as_pool(entities)
    plugs = plugins or get_plugins()
    prior, past, missing = _prior_visits(history, pool, plan.year)
    if chosen_method in ("independent", "exclude"):
        rounds = _sequential_rounds(plan, pool, seed_obj, chosen_method, prior, past, plugs)
    else:
        rounds = _coordinated_rounds(plan, pool, seed_obj, chosen_method, prior, plugs)
    stamp = created_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return YearDraw(
        plan=plan,
        entities=pool,
        seed=seed_obj,
        method=chosen_method,
        history=history,
        rounds=tuple(rounds),
        created_at=stamp,
        history_missing=missing,
        plugins=tuple(draw_plugins(plugs)),
    )


def verify_year(
    record: Mapping[str, Any],
    entities: EntityPool | Iterable[Mapping[str, Any]],
    *,
    history: History | None = None,
    plugins: Plugins | None = None,
) -> bool:
    """Replay a year record; return True or raise :class:`~randcheck.VerificationError`.

    The pool digest, the seed key and (when the record names one) the history
    digest must match; redrawing with the recorded plan, method and seed must
    give exactly the recorded rounds. The error lists every difference.
    """
    if record.get("spec") != PLAN_SPEC:
        raise VerificationError(
            f"this record follows {record.get('spec')!r}; this randcheck replays {PLAN_SPEC!r}"
        )
    pool = _as_pool(entities)
    differences: list[str] = []
    recorded_pool = record.get("pools", {}).get("entities", {})
    if recorded_pool.get("digest") != pool.digest:
        differences.append(
            f"entity pool digest: record {recorded_pool.get('digest')}, given {pool.digest} "
            f"({len(pool)} entities)"
        )
    recorded_history = record.get("history")
    if recorded_history is not None:
        if history is None:
            differences.append("the record was drawn with a history; none was given")
        elif recorded_history.get("digest") != history.digest:
            differences.append(
                f"history digest: record {recorded_history.get('digest')}, given {history.digest}"
            )
    elif history is not None:
        differences.append("a history was given; the record was drawn without one")
    seed = as_seed(record["seed"])
    if record.get("seed_key") != seed.key.hex():
        differences.append("seed key does not match the seed material")
    try:
        plan = Plan.from_records(record["plan"], source="record")
    except PlanError as exc:
        differences.append(f"the recorded plan is not valid: {exc}")
    if differences:
        raise VerificationError("the record does not match the inputs", tuple(differences))
    replay = draw_year(
        plan,
        pool,
        seed=seed,
        history=history,
        method=record.get("method"),
        created_at=record.get("created_at"),
        plugins=plugins,
    )
    if replay.record["plugins"] != record.get("plugins", []):
        differences.append(
            f"plugins: record {record.get('plugins', [])}, here {replay.record['plugins']}"
        )
    old_rounds = record.get("rounds", [])
    new_rounds = [r.to_record() for r in replay.rounds]
    if len(old_rounds) != len(new_rounds):
        differences.append("the record lists a different number of rounds")
    for old, new in zip(old_rounds, new_rounds, strict=False):
        label = new["round"]
        if old.get("round") != label or old.get("date") != new["date"]:
            differences.append(f"round {label}: label or date differs")
            continue
        if len(old.get("draws", [])) != len(new["draws"]):
            differences.append(f"round {label}: a different number of draws")
        for a, b in zip(old.get("draws", []), new["draws"], strict=False):
            if a != b:
                added = sorted(set(b["selected"]) - set(a.get("selected", ())))
                gone = sorted(set(a.get("selected", ())) - set(b["selected"]))
                differences.append(
                    f"round {label}, item {b['item']} ({b['stratum']}): "
                    + (
                        f"selection differs (replay adds {added}, drops {gone})"
                        if added or gone
                        else f"recorded {a}, replayed {b}"
                    )
                )
        if old.get("tasks") != new["tasks"] and not differences:
            differences.append(f"round {label}: tasks differ from the replay")
    if differences:
        raise VerificationError("the year does not replay", tuple(differences))
    return True


# -- coverage --------------------------------------------------------------------------------


@attrs.frozen(eq=False, repr=False)
class CoverageReport:
    """How often each entity can expect to be inspected in the plan's year.

    Per entity (canonical order): ``expected`` visits, ``at_least_one`` =
    Pr[one visit or more], ``two_or_more`` = Pr[two or more], and
    ``expected_items`` (item-inspections, an entity drawn for two items in one
    round counting 2). Where ``exact`` is False the visit figures are upper
    bounds (method ``"joint"`` with several items for one entity in one round).
    ``simulations`` is the number of simulated years for an empirical report,
    ``None`` for an exact one.
    """

    plan: Plan
    method: str
    pool: EntityPool = attrs.field(repr=False)
    expected: npt.NDArray[np.float64]
    expected_items: npt.NDArray[np.float64]
    at_least_one: npt.NDArray[np.float64]
    two_or_more: npt.NDArray[np.float64]
    exact: npt.NDArray[np.bool_]
    simulations: int | None = None

    @functools.cached_property
    def _groups(self) -> tuple[npt.NDArray[np.int64], tuple[str, ...]]:
        stations = np.asarray(self.pool.column("station"), dtype=object)
        labels, inverse = np.unique(
            np.asarray(np.where(stations == "", "(none)", stations), dtype=str),
            return_inverse=True,
        )
        return inverse.reshape(-1).astype(np.int64), tuple(str(x) for x in labels)

    def to_records(self) -> list[dict[str, Any]]:
        """One row per credit class × station, per class, per station, and overall.

        Figures are means over the entities of the row (``"*"`` = all), as
        floats rounded to 6 places.
        """
        station_codes, station_labels = self._groups
        credit = self.pool.credit_codes.astype(np.int64)
        class_labels = [*CREDIT_CLASSES, "unclassified"]
        class_codes = np.where(credit < 0, 4, credit)
        rows = []
        combos: list[tuple[str, str, npt.NDArray[np.bool_]]] = []
        for c, cl in enumerate(class_labels):
            for s, st in enumerate(station_labels):
                combos.append((cl, st, (class_codes == c) & (station_codes == s)))
        for c, cl in enumerate(class_labels):
            combos.append((cl, "*", class_codes == c))
        for s, st in enumerate(station_labels):
            combos.append(("*", st, station_codes == s))
        combos.append(("*", "*", np.ones(len(self.pool), dtype=bool)))
        for cl, st, sel in combos:
            count = int(sel.sum())
            if not count:
                continue
            rows.append(
                {
                    "credit_class": cl,
                    "station": st,
                    "entities": count,
                    "covered": int((self.expected_items[sel] > 0).sum()),
                    "expected_visits": round(float(self.expected[sel].mean()), 6),
                    "expected_items": round(float(self.expected_items[sel].mean()), 6),
                    "at_least_one": round(float(self.at_least_one[sel].mean()), 6),
                    "two_or_more": round(float(self.two_or_more[sel].mean()), 6),
                    "max_expected": round(float(self.expected[sel].max()), 6),
                    "exact": bool(self.exact[sel].all()),
                }
            )
        return rows

    def format(self) -> str:
        """A plain-text table (class × station, then per class, per station, overall)."""
        from .cli import format_table

        kind = "exact" if self.simulations is None else f"simulated over {self.simulations} years"
        head = [
            f"coverage of plan {self.plan.name or self.plan.year} ({self.plan.year}), "
            f"method {self.method}, {len(self.plan.rounds)} rounds, {kind}",
            "per entity and year: E[visits], Pr[≥1 visit], Pr[≥2 visits] "
            "(means over the entities of each row; ≤ marks upper bounds)",
            "",
        ]
        body = []
        for row in self.to_records():
            bound = "" if row["exact"] else "≤"
            body.append(
                (
                    row["credit_class"],
                    row["station"],
                    row["entities"],
                    row["covered"],
                    f"{bound}{row['expected_visits']:.4f}",
                    f"{row['at_least_one']:.4f}",
                    f"{bound}{row['two_or_more']:.4f}",
                    f"{row['max_expected']:.3f}",
                )
            )
        table = format_table(
            ("class", "station", "entities", "covered", "E[visits]", "P(≥1)", "P(≥2)", "max E"),
            body,
        )
        return "\n".join(head) + table

    def __repr__(self) -> str:
        return (
            f"<CoverageReport {self.plan.year} {self.method}: {len(self.pool)} entities, "
            f"mean E[visits] {float(self.expected.mean()) if len(self.pool) else 0.0:.4f}>"
        )


def _count_tail(total: npt.NDArray[Any], grid: npt.NDArray[Any]) -> tuple[Any, Any, Any]:
    """For a count that is ⌊C⌋ or ⌈C⌉ with mean C = total/grid: E, Pr[≥1], Pr[≥2]."""
    whole = np.asarray(total // grid, dtype=np.int64)
    frac = np.asarray((total % grid) / grid, dtype=np.float64)
    mean = whole + frac
    one = np.where(whole >= 1, 1.0, frac)
    two = np.where(whole >= 2, 1.0, np.where(whole == 1, frac, 0.0))
    return mean, one, two


def coverage(
    plan: Plan,
    entities: EntityPool | Iterable[Mapping[str, Any]],
    *,
    method: Method | None = None,
    plugins: Plugins | None = None,
) -> CoverageReport:
    """Expected visits and Pr[≥1], Pr[≥2] visits per entity, before any draw.

    Exact for ``"independent"`` (without a binding ``max_visits``), ``"joint"``
    (upper bounds where one entity has several items in one round) and
    ``"prn"`` with Poisson sizes. The other cases have no closed form:
    :func:`simulate_coverage` estimates them.

    Raises
    ------
    PlanError
        for a method without a closed form.
    """
    chosen: str = plan.method if method is None else method
    pool = _as_pool(entities)
    size = len(pool)
    columns = _fixed_columns(plan, pool, plugins or get_plugins())
    n_rounds = len(plan.rounds)
    simulate = "; use randcheck.plan.simulate_coverage to estimate it"
    if chosen == "exclude":
        raise PlanError("the coverage of method 'exclude' has no closed form" + simulate)
    if chosen == "prn" and plan.prn_size == "fixed":
        raise PlanError("the coverage of fixed-size PRN rotation has no closed form" + simulate)
    if chosen not in METHODS:
        raise PlanError(f"unknown method {chosen!r}; use one of {', '.join(METHODS)}")
    entries = [(c.positions, c.design.numerators, c.design.denominator) for c in columns]
    items = np.zeros(size, dtype=np.float64)
    for pos, p, den in entries:
        items[pos] += p / float(den)
    exact = np.ones(size, dtype=bool)
    if chosen == "independent":
        if plan.max_visits is not None:
            _, rounds = _bounds(columns, n_rounds, size)
            if (rounds > plan.max_visits).any():
                raise PlanError(
                    "with max_visits the rounds of method 'independent' depend on each other "
                    "and the coverage has no closed form" + simulate
                )
        missed = np.ones((n_rounds, size), dtype=np.float64)
        for c in columns:
            missed[c.round, c.positions] *= 1.0 - c.design.numerators / float(c.design.denominator)
        q0 = np.ones(size)
        q1 = np.zeros(size)
        for r in range(n_rounds):
            v = 1.0 - missed[r]
            q0, q1 = q0 * (1.0 - v), q1 * (1.0 - v) + q0 * v
        mean = (1.0 - missed).sum(axis=0)
        one = 1.0 - q0
        two = np.clip(1.0 - q0 - q1, 0.0, 1.0)
    else:
        mean = np.zeros(size)
        one = np.zeros(size)
        two = np.zeros(size)
        if entries:
            matrix = _matrix(entries, size, fractional_only=False)
            rounds_of = np.array([c.round for c in columns] + [n_rounds], dtype=np.int64)
            if chosen == "joint":
                total = _row_sums(matrix.vals, matrix.grid)
                # several entries of a row in one round: visits < item-inspections possible
                in_round = np.zeros((matrix.positions.size, n_rounds + 1), dtype=np.int64)
                every = np.arange(matrix.positions.size)
                for j in range(matrix.cols.shape[1]):
                    in_round[every, rounds_of[matrix.cols[:, j]]] += 1
                exact[matrix.positions] = (in_round[:, :n_rounds] <= 1).all(axis=1)
            else:
                total = _row_sums(_windows(matrix, rounds_of, n_rounds), matrix.grid)
            m, o, t = _count_tail(total, matrix.grid)
            mean[matrix.positions] = m
            one[matrix.positions] = o
            two[matrix.positions] = t
    return CoverageReport(
        plan=plan,
        method=chosen,
        pool=pool,
        expected=np.asarray(mean, dtype=np.float64),
        expected_items=items,
        at_least_one=np.asarray(one, dtype=np.float64),
        two_or_more=np.asarray(two, dtype=np.float64),
        exact=exact,
    )


def simulate_coverage(
    plan: Plan,
    entities: EntityPool | Iterable[Mapping[str, Any]],
    *,
    seeds: Iterable[Seed | str | int],
    method: Method | None = None,
    history: History | None = None,
    plugins: Plugins | None = None,
    progress_bar: bool | None = None,
) -> CoverageReport:
    """Estimate the coverage by drawing the year once per seed.

    The report's figures are the shares over the simulated years;
    ``simulations`` is their number. ``progress_bar`` shows progress on
    standard error (default: only when it is a terminal).
    """
    pool = _as_pool(entities)
    size = len(pool)
    visits = np.zeros(size, dtype=np.float64)
    items = np.zeros(size, dtype=np.float64)
    one = np.zeros(size, dtype=np.float64)
    two = np.zeros(size, dtype=np.float64)
    count = 0
    chosen: Method = plan.method if method is None else method
    plugs = plugins or get_plugins()
    listed = list(seeds)
    for seed in progress(listed, total=len(listed), desc="simulated years", enabled=progress_bar):
        year = draw_year(
            plan,
            pool,
            seed=seed,
            method=chosen,
            history=history,
            created_at="-",
            plugins=plugs,
        )
        v = year.visits
        visits += v
        items += year.item_inspections
        one += v >= 1
        two += v >= 2
        count += 1
    if not count:
        raise ValueError("give at least one seed")
    return CoverageReport(
        plan=plan,
        method=chosen,
        pool=pool,
        expected=visits / count,
        expected_items=items / count,
        at_least_one=one / count,
        two_or_more=two / count,
        exact=np.ones(size, dtype=bool),
        simulations=count,
    )


_PLOT_HINT = "plot_coverage needs matplotlib, which is not installed: pip install 'randcheck[plot]'"


def plot_coverage(
    report: CoverageReport, ax: Axes | None = None, *, by: str = "credit_class"
) -> Axes:
    """Bar chart of Pr[≥1 visit] and Pr[≥2 visits] per credit class (or per station).

    Parameters
    ----------
    report
        A :class:`CoverageReport`.
    ax
        Axes to draw on (default: a new figure's).
    by
        ``"credit_class"`` or ``"station"``.

    Raises
    ------
    ImportError
        naming ``randcheck[plot]`` when matplotlib is not installed.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_PLOT_HINT) from exc
    if by not in ("credit_class", "station"):
        raise ValueError("by must be 'credit_class' or 'station'")
    other = "station" if by == "credit_class" else "credit_class"
    rows = [r for r in report.to_records() if r[other] == "*" and r[by] != "*"]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(rows) + 2), 3.5))
    labels = [r[by] for r in rows]
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["at_least_one"] for r in rows], width=0.4, label="Pr[≥1 visit]")
    ax.bar(x + 0.2, [r["two_or_more"] for r in rows], width=0.4, label="Pr[≥2 visits]")
    for xi, r in zip(x.tolist(), rows, strict=True):
        ax.annotate(
            f"E={r['expected_visits']:.2f}",
            (xi, max(r["at_least_one"], r["two_or_more"])),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("share of entities")
    ax.set_title(f"{report.plan.year} · {report.method}")
    ax.legend(fontsize=8)
    return ax
