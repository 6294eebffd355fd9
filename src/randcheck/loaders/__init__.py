"""Loading and checking the registers of 一单两库: entities, inspectors, items, recusals.

::

    from randcheck.loaders import load_entities, load_inspectors, load_items, check

    pool = load_entities("检查对象名录库.xlsx")               # strict: raises on any error
    pool, report = load_entities("entities.csv", strict=False)  # lenient: valid rows + report
    print(check(["entities.csv", "items.csv"]).format())

A *source* is a path (the format follows the suffix: ``.csv``/``.txt``/``.tsv``,
``.json``, ``.xlsx``) or ``prefix:path`` to pick a loader by name: ``csv:``,
``json:``, ``xlsx:`` or one a station plugin registered (``water:台账.xlsx``).

Strict loading (the default) returns the register or raises
:class:`~randcheck.LoaderError` whose ``problems`` list every problem found.
Lenient loading (``strict=False``) returns :class:`Loaded`: the register built
from every valid row, and the :class:`Report` naming each row left out and why.
Warnings never stop a load. See ``docs/loaders.md`` for formats, the header
mapping and the validation rules.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, Literal, TypeVar, overload

import attrs

from ..errors import LoaderError
from ..model import Conflict, Item
from ..plugins import PluginError, Plugins, get_plugins
from ..pools import EntityPool, InspectorPool
from .columns import (
    BUILTIN_ALIASES,
    FIELDS,
    KINDS,
    REQUIRED,
    ColumnMap,
    IdKind,
    RegisterKind,
    normalize_header,
)
from .files import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    JSON_SUFFIXES,
    Source,
    Table,
    read_csv,
    read_json,
    read_table,
    read_xlsx,
    xlsx_sheet_names,
)
from .validate import (
    Problem,
    Register,
    Report,
    Summary,
    build_register,
    check_registers,
)

__all__ = [
    "BUILTIN_ALIASES",
    "FIELDS",
    "KINDS",
    "REQUIRED",
    "ColumnMap",
    "IdKind",
    "Loaded",
    "Problem",
    "Register",
    "RegisterKind",
    "Report",
    "Source",
    "SourceLike",
    "Summary",
    "Table",
    "check",
    "check_registers",
    "load_conflicts",
    "load_entities",
    "load_inspectors",
    "load_items",
    "load_register",
    "normalize_header",
    "read_csv",
    "read_json",
    "read_table",
    "read_xlsx",
]

#: A register source: a path, or ``"prefix:path"`` naming a loader.
SourceLike = str | os.PathLike[str]

T = TypeVar("T")

_PREFIXED = re.compile(r"^([a-z][a-z0-9_-]+):(.+)$", re.DOTALL)
_BY_SUFFIX = {
    **dict.fromkeys(CSV_SUFFIXES, "csv"),
    **dict.fromkeys(JSON_SUFFIXES, "json"),
    **dict.fromkeys(EXCEL_SUFFIXES, "xlsx"),
}


@attrs.frozen
class Loaded(Generic[T]):
    """What lenient loading returns: the register of valid rows, and the report.

    Unpacks as a pair: ``pool, report = load_entities(path, strict=False)``.
    """

    value: T
    report: Report

    def __iter__(self) -> Iterator[Any]:
        yield self.value
        yield self.report


def _resolve(source: SourceLike, plugins: Plugins) -> tuple[Any, str, str | None]:
    """The loader, the path and the prefix a source names."""
    if isinstance(source, os.PathLike):
        path, prefix = os.fspath(source), None
    elif isinstance(source, str):
        path, prefix = source, None
        match = _PREFIXED.match(source)
        if match:
            loaders = plugins.loaders()
            if match[1] in loaders:
                return loaders[match[1]], match[2], match[1]
            if not os.path.exists(source):
                known = ", ".join(f"{p}:" for p in sorted(loaders)) or "none"
                raise LoaderError(
                    f"unknown loader prefix {match[1] + ':'!r}; registered: {known}",
                    source=source,
                )
    else:
        raise TypeError(f"a source is a path or 'prefix:path', not {type(source).__name__}")
    by_suffix = _BY_SUFFIX.get(os.path.splitext(path)[1].lower())
    loaders = plugins.loaders()
    if by_suffix is not None and by_suffix in loaders:
        return loaders[by_suffix], path, None
    return read_table, path, prefix


def _read(loader: Any, source: Source) -> Table:
    table = loader(source)
    if not isinstance(table, Table):
        raise PluginError(
            f"the loader {source.prefix or ''}: returned {type(table).__name__}, not a Table"
        )
    return table


def load_register(
    source: SourceLike,
    kind: RegisterKind | None = None,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    id_kind: IdKind | None = None,
    on: dt.date | None = None,
    plugins: Plugins | None = None,
) -> Loaded[Register]:
    """Load any register leniently; ``kind=None`` guesses it from the header row.

    Raises :class:`LoaderError` only when the file cannot be read at all or
    its kind cannot be told; every other finding is in the report.
    """
    plugins = plugins or get_plugins()
    base = plugins.columns()
    loader, path, prefix = _resolve(source, plugins)
    detect = base.overridden(kind, columns or {}) if kind else base
    table = _read(
        loader,
        Source(path=path, kind=kind, encoding=encoding, sheet=sheet, columns=detect, prefix=prefix),
    )
    value, report, _ = _build(table, kind, base, columns, id_kind, on, plugins)
    return Loaded(value, report)


def _build(
    table: Table,
    kind: RegisterKind | None,
    base: ColumnMap,
    columns: Mapping[str, str] | None,
    id_kind: IdKind | None,
    on: dt.date | None,
    plugins: Plugins,
) -> tuple[Register, Report, dict[str, int]]:
    if kind is not None and table.kind is not None and table.kind != kind:
        raise LoaderError(
            f"this source holds a {table.kind} register, not {kind}", source=table.file
        )
    wanted = kind or table.kind or base.guess_kind(table.header)
    if wanted is None:
        raise LoaderError(
            "cannot tell from the header which register this is (entities, inspectors, "
            f"items or conflicts); header: {', '.join(table.header) or '(none)'}",
            source=table.file,
        )
    return build_register(
        table,
        wanted,
        columns=base,
        extra_columns=columns,
        id_kind=id_kind,
        on=on,
        plugins=plugins,
    )


def _load(
    kind: RegisterKind,
    source: SourceLike,
    strict: bool,
    encoding: str | None,
    sheet: str | int | None,
    columns: Mapping[str, str] | None,
    id_kind: IdKind | None,
    on: dt.date | None,
    plugins: Plugins | None,
) -> Any:
    loaded = load_register(
        source,
        kind,
        encoding=encoding,
        sheet=sheet,
        columns=columns,
        id_kind=id_kind,
        on=on,
        plugins=plugins,
    )
    if strict:
        file = loaded.report.summaries[0].file if loaded.report.summaries else str(source)
        loaded.report.raise_for_errors(
            f"{loaded.report.counts()} in the {kind} register", source=file
        )
        return loaded.value
    return loaded


_LOADER_PARAMETERS = """
    Parameters
    ----------
    source
        A path (format by suffix: .csv/.txt/.tsv, .json, .xlsx) or ``prefix:path``.
    strict
        ``True`` (default): return the register, or raise :class:`LoaderError`
        listing every problem when there is any error. ``False``: return
        :class:`Loaded` (register of the valid rows, :class:`Report`).
    encoding
        Text encoding of a CSV/JSON file; default: UTF-8 (BOM or not), else GB 18030.
    sheet
        Worksheet name or 0-based index of an .xlsx workbook.
    columns
        Extra header aliases for this file, ``{"header": "field"}``, overriding the map.
"""


@overload
def load_entities(
    source: SourceLike,
    *,
    strict: Literal[True] = ...,
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    id_kind: IdKind | None = ...,
    plugins: Plugins | None = ...,
) -> EntityPool: ...
@overload
def load_entities(
    source: SourceLike,
    *,
    strict: Literal[False],
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    id_kind: IdKind | None = ...,
    plugins: Plugins | None = ...,
) -> Loaded[EntityPool]: ...
@overload
def load_entities(
    source: SourceLike,
    *,
    strict: bool,
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    id_kind: IdKind | None = ...,
    plugins: Plugins | None = ...,
) -> EntityPool | Loaded[EntityPool]: ...
def load_entities(
    source: SourceLike,
    *,
    strict: bool = True,
    encoding: str | None = None,
    sheet: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    id_kind: IdKind | None = None,
    plugins: Plugins | None = None,
) -> EntityPool | Loaded[EntityPool]:
    """Load the entity pool (检查对象名录库).

    Columns other than the entity fields become free attributes (text; in
    JSON, strings, integers and booleans as given; empty cells are absent).
    ``id_kind`` sets the USCC rule of the id column (``"uscc"``, ``"auto"``,
    ``"code"``); by default it is ``"uscc"`` when the column is headed
    统一社会信用代码, else ``"auto"``.
    """
    return _load(  # type: ignore[no-any-return]
        "entities", source, strict, encoding, sheet, columns, id_kind, None, plugins
    )


@overload
def load_inspectors(
    source: SourceLike,
    *,
    strict: Literal[True] = ...,
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    on: dt.date | None = ...,
    plugins: Plugins | None = ...,
) -> InspectorPool: ...
@overload
def load_inspectors(
    source: SourceLike,
    *,
    strict: Literal[False],
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    on: dt.date | None = ...,
    plugins: Plugins | None = ...,
) -> Loaded[InspectorPool]: ...
@overload
def load_inspectors(
    source: SourceLike,
    *,
    strict: bool,
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    on: dt.date | None = ...,
    plugins: Plugins | None = ...,
) -> InspectorPool | Loaded[InspectorPool]: ...
def load_inspectors(
    source: SourceLike,
    *,
    strict: bool = True,
    encoding: str | None = None,
    sheet: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    on: dt.date | None = None,
    plugins: Plugins | None = None,
) -> InspectorPool | Loaded[InspectorPool]:
    """Load the inspector pool (执法检查人员名录库).

    A certificate that has expired on ``on`` (default: today) is a warning,
    not an error: the inspector is loaded and simply cannot be drawn.
    """
    return _load(  # type: ignore[no-any-return]
        "inspectors", source, strict, encoding, sheet, columns, None, on, plugins
    )


@overload
def load_items(
    source: SourceLike,
    *,
    strict: Literal[True] = ...,
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    plugins: Plugins | None = ...,
) -> tuple[Item, ...]: ...
@overload
def load_items(
    source: SourceLike,
    *,
    strict: Literal[False],
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    plugins: Plugins | None = ...,
) -> Loaded[tuple[Item, ...]]: ...
@overload
def load_items(
    source: SourceLike,
    *,
    strict: bool,
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    plugins: Plugins | None = ...,
) -> tuple[Item, ...] | Loaded[tuple[Item, ...]]: ...
def load_items(
    source: SourceLike,
    *,
    strict: bool = True,
    encoding: str | None = None,
    sheet: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    plugins: Plugins | None = None,
) -> tuple[Item, ...] | Loaded[tuple[Item, ...]]:
    """Load the item list (随机抽查事项清单), in file order.

    ``ratio`` accepts ``0.05``, ``5%``, ``1/20``; ``rounds_per_year`` accepts
    ``2`` or ``每年2次``; ``kind`` ``一般``/``重点`` or ``general``/``key``;
    ``policy`` ``proportional``/``risk-weighted`` (按比例/风险加权).
    """
    return _load(  # type: ignore[no-any-return]
        "items", source, strict, encoding, sheet, columns, None, None, plugins
    )


@overload
def load_conflicts(
    source: SourceLike,
    *,
    strict: Literal[True] = ...,
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    plugins: Plugins | None = ...,
) -> tuple[Conflict, ...]: ...
@overload
def load_conflicts(
    source: SourceLike,
    *,
    strict: Literal[False],
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    plugins: Plugins | None = ...,
) -> Loaded[tuple[Conflict, ...]]: ...
@overload
def load_conflicts(
    source: SourceLike,
    *,
    strict: bool,
    encoding: str | None = ...,
    sheet: str | int | None = ...,
    columns: Mapping[str, str] | None = ...,
    plugins: Plugins | None = ...,
) -> tuple[Conflict, ...] | Loaded[tuple[Conflict, ...]]: ...
def load_conflicts(
    source: SourceLike,
    *,
    strict: bool = True,
    encoding: str | None = None,
    sheet: str | int | None = None,
    columns: Mapping[str, str] | None = None,
    plugins: Plugins | None = None,
) -> tuple[Conflict, ...] | Loaded[tuple[Conflict, ...]]:
    """Load the recusals (回避): which inspector may not inspect which entity, and why.

    An empty file is a valid, empty list.
    """
    return _load(  # type: ignore[no-any-return]
        "conflicts", source, strict, encoding, sheet, columns, None, None, plugins
    )


for _function in (load_entities, load_inspectors, load_items, load_conflicts):
    _function.__doc__ = (_function.__doc__ or "") + _LOADER_PARAMETERS


# -- check ----------------------------------------------------------------------------


@attrs.define
class _Found:
    kind: RegisterKind
    value: Register
    file: str
    sheet: str | None
    locations: dict[str, int]


def _tables(
    source: SourceLike,
    kind: RegisterKind | None,
    encoding: str | None,
    base: ColumnMap,
    plugins: Plugins,
) -> list[Table]:
    """The tables a source holds: one, or every non-empty sheet of a workbook (no kind given)."""
    loader, path, prefix = _resolve(source, plugins)
    builtin_xlsx = loader is plugins.loaders().get("xlsx") and (
        prefix == "xlsx" or os.path.splitext(path)[1].lower() in EXCEL_SUFFIXES
    )
    if kind is not None or not builtin_xlsx:
        return [
            _read(
                loader, Source(path=path, kind=kind, encoding=encoding, columns=base, prefix=prefix)
            )
        ]
    tables = []
    for name in xlsx_sheet_names(path):
        table = _read(loader, Source(path=path, kind=kind, sheet=name, columns=base, prefix=prefix))
        if table.header:
            tables.append(table)
    return tables


def check(
    sources: SourceLike | Iterable[SourceLike],
    *,
    kind: RegisterKind | None = None,
    on: dt.date | None = None,
    encoding: str | None = None,
    id_kind: IdKind | None = None,
    plugins: Plugins | None = None,
) -> Report:
    """Validate register files and cross-check them; never raises for bad data.

    Each source is loaded leniently; its register kind is ``kind`` or guessed
    from its header row. Without ``kind`` every non-empty sheet of a workbook is
    checked; with it, the sheet that holds that register. When
    the sources include one entity register and one item list,
    :func:`check_registers` cross-checks them (with the inspectors and
    recusals when present), and its problems are located in the files.
    ``Report.format()`` is the text of ``randcheck check``; ``Report.ok`` its
    exit status.
    """
    plugins = plugins or get_plugins()
    base = plugins.columns()
    listed = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    report = Report()
    found: list[_Found] = []
    for source in listed:
        try:
            tables = _tables(source, kind, encoding, base, plugins)
        except LoaderError as exc:
            report += Report(
                (
                    Problem(
                        reason=exc.message,
                        file=exc.source or str(source),
                        row=exc.row,
                        column=exc.column,
                    ),
                ),
                (Summary(file=str(source), kind=kind, rows=0, loaded=0),),
            )
            continue
        for table in tables:
            try:
                value, part, locations = _build(table, kind, base, None, id_kind, on, plugins)
            except LoaderError as exc:
                severity: Literal["error", "warning"] = (
                    "warning" if table.sheet and len(tables) > 1 else "error"
                )
                report += Report(
                    (
                        Problem(
                            reason=exc.message,
                            severity=severity,
                            file=table.file,
                            sheet=table.sheet,
                        ),
                    ),
                    (
                        Summary(
                            file=table.file,
                            kind=None,
                            rows=len(table.rows),
                            loaded=0,
                            sheet=table.sheet,
                            format=table.format,
                            encoding=table.encoding,
                        ),
                    ),
                )
                continue
            report += part
            summary_kind = part.summaries[0].kind if part.summaries else None
            if summary_kind is not None:
                found.append(_Found(summary_kind, value, table.file, table.sheet, locations))
    return report + _cross_check(found, on)


def _cross_check(found: list[_Found], on: dt.date | None) -> Report:
    by_kind: dict[str, list[_Found]] = {}
    for f in found:
        by_kind.setdefault(f.kind, []).append(f)

    def one(kind: str) -> _Found | None:
        return by_kind[kind][0] if len(by_kind.get(kind, ())) == 1 else None

    entities, items = one("entities"), one("items")
    if entities is None or items is None:
        return Report()
    inspectors, conflicts = one("inspectors"), one("conflicts")
    assert isinstance(entities.value, EntityPool)
    crossed = check_registers(
        entities.value,
        items.value,  # type: ignore[arg-type]
        inspectors.value if inspectors else None,  # type: ignore[arg-type]
        conflicts.value if conflicts else None,  # type: ignore[arg-type]
        on=on,
    )
    located = []
    for problem in crossed.problems:
        home = one(problem.register) if problem.register else None
        if home is None:
            located.append(problem)
            continue
        located.append(
            attrs.evolve(
                problem,
                file=home.file,
                sheet=home.sheet,
                row=home.locations.get(problem.id) if problem.id else None,
            )
        )
    return Report(located)
