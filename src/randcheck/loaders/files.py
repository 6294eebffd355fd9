"""Reading register files into :class:`Table` objects: CSV, JSON and .xlsx.

A loader (built-in or from a station plugin) turns a :class:`Source` into a
:class:`Table`: a header row, the data rows as raw cells and the row number of
each. Everything after that (header mapping, validation, building the pools) is
shared, so a station's own layout gets the same checks and the same
file/row/column messages as a built-in format.

* CSV (``.csv``, ``.txt``; ``.tsv`` is tab separated): UTF-8, UTF-8 with BOM,
  UTF-16 with BOM, or GBK/GB 18030. Without a declared ``encoding`` the bytes
  are tried as UTF-8 (a BOM is dropped), then as GB 18030, a superset of GBK.
  Row numbers count records as a spreadsheet shows them: the header is row 1.
* JSON (``.json``): a list of objects, or an object holding the list under the
  register kind (``{"entities": [...]}``). Rows are numbered 1, 2, … in list
  order. Numbers with a fraction are read as exact decimals.
* Excel (``.xlsx``, ``.xlsm``) through openpyxl (``pip install 'randcheck[excel]'``),
  read only, cached values of formulas. Row numbers are the sheet's.

Above the header a file may carry a title (``刚察县检查对象名录库``): the header
row is the first of the first ten non-empty rows in which a cell names a known
field; non-empty rows above it are skipped with a warning, never silently.
Entirely empty rows are skipped.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from ..errors import LoaderError
from .columns import KINDS, REQUIRED, ColumnMap, IdKind, RegisterKind
from .validate import Problem

__all__ = [
    "CSV_SUFFIXES",
    "EXCEL_SUFFIXES",
    "JSON_SUFFIXES",
    "Source",
    "Table",
    "cell_text",
    "decode",
    "read_csv",
    "read_json",
    "read_table",
    "read_xlsx",
    "xlsx_sheet_names",
]

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
JSON_SUFFIXES = (".json",)
EXCEL_SUFFIXES = (".xlsx", ".xlsm")

_EXCEL_HINT = "reading .xlsx files needs openpyxl: pip install 'randcheck[excel]'"
_HEADER_SCAN = 10
_EXCEL_ERRORS = frozenset(
    ("#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#GETTING_DATA")
)


@attrs.frozen
class Source:
    """What a loader is asked to read.

    ``path`` is the file (or whatever the loader's prefix addresses), as the
    user wrote it after the ``prefix:``; ``kind`` the register wanted, when
    known; ``encoding`` a declared text encoding; ``sheet`` a worksheet name or
    0-based index; ``columns`` the header mapping in force, which a loader may
    use to find its header row.
    """

    path: str
    kind: RegisterKind | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    columns: ColumnMap = attrs.field(factory=ColumnMap)
    prefix: str | None = None


def _rows(value: Iterable[Sequence[Any]]) -> tuple[tuple[Any, ...], ...]:
    return tuple(map(tuple, value))


def _strs(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _ints(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(value)


def _problems(value: Iterable[Problem]) -> tuple[Problem, ...]:
    return tuple(value)


@attrs.frozen(repr=False)
class Table:
    """A register read from a file, before validation.

    ``rows`` hold raw cells (``str`` from CSV; ``int``, ``float``, dates,
    ``None`` … from Excel and JSON), each row as long as ``header``;
    ``row_numbers[i]`` is the file row of ``rows[i]``. A loader may add
    ``columns`` (header → field aliases for its own layout), ``defaults``
    (field → value for fields its files lack, e.g. the station) and
    ``id_kind``; ``problems`` carries what was found while reading (a skipped
    title row, a ragged row). ``typed`` marks cells whose types are meaningful
    (JSON): there, free entity attributes keep integers and booleans.
    """

    file: str
    header: tuple[str, ...] = attrs.field(converter=_strs)
    rows: tuple[tuple[Any, ...], ...] = attrs.field(converter=_rows)
    row_numbers: tuple[int, ...] = attrs.field(converter=_ints)
    sheet: str | None = None
    format: str = "csv"
    encoding: str | None = None
    kind: RegisterKind | None = None
    columns: Mapping[str, str] = attrs.field(factory=dict)
    defaults: Mapping[str, Any] = attrs.field(factory=dict)
    id_kind: IdKind | None = None
    typed: bool = False
    problems: tuple[Problem, ...] = attrs.field(default=(), converter=_problems)

    @row_numbers.validator
    def _check_rows(self, attribute: attrs.Attribute[Any], value: tuple[int, ...]) -> None:
        if len(value) != len(self.rows):
            raise ValueError(f"{len(self.rows)} rows but {len(value)} row numbers")
        widths = set(map(len, self.rows))
        if widths and widths != {len(self.header)}:
            raise ValueError(
                f"every row must have as many cells as the header ({len(self.header)}); "
                f"found rows of {', '.join(map(str, sorted(widths)))}"
            )

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        *,
        file: str,
        first_row: int = 1,
        **options: Any,
    ) -> Table:
        """A table from mappings (one per row); the header is every key, in first-seen order."""
        listed = list(records)
        header: dict[str, None] = {}
        for record in listed:
            header.update(dict.fromkeys(str(k) for k in record))
        keys = list(header)
        rows = [tuple(r.get(k) for k in keys) for r in listed]
        numbers = range(first_row, first_row + len(rows))
        return cls(file=file, header=keys, rows=rows, row_numbers=numbers, **options)

    def evolve(self, **changes: Any) -> Table:
        """A copy with ``changes`` (``attrs.evolve``)."""
        return attrs.evolve(self, **changes)

    def column(self, name: str) -> list[Any]:
        """The cells of the column headed ``name`` (exactly as written)."""
        index = self.header.index(name)
        return [row[index] for row in self.rows]

    def __repr__(self) -> str:
        where = f"{self.file}" + (f" [{self.sheet}]" if self.sheet else "")
        return f"<Table {where}: {len(self.header)} columns, {len(self.rows):,} rows>"


# -- cells ------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """The text of a cell: trimmed NFC; whole floats without ``.0``; dates in ISO form.

    ``None`` is ``""``; booleans are ``"true"``/``"false"``; lists are joined
    with ``;``.
    """
    import unicodedata

    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()
        return text if text.isascii() else unicodedata.normalize("NFC", text)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ";".join(cell_text(v) for v in value)
    return cell_text(str(value))


def _blank(row: Sequence[Any]) -> bool:
    for value in row:
        if value is None or value == "":
            continue
        if isinstance(value, str) and value.isspace():
            continue
        return False
    return True


# -- text -------------------------------------------------------------------------


def decode(data: bytes, encoding: str | None = None, *, file: str = "") -> tuple[str, str]:
    """Decode file bytes; return ``(text, encoding used)``.

    With ``encoding`` given, that codec (errors raise :class:`LoaderError`
    naming the byte offset). Otherwise: a UTF-16 BOM means UTF-16; else UTF-8
    (a UTF-8 BOM is dropped); else GB 18030 (which reads GBK and GB 2312).
    """
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise LoaderError(f"unknown text encoding {encoding!r}", source=file) from None
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise LoaderError(
                f"the file is not valid {encoding}: byte {exc.start} "
                f"({data[exc.start : exc.start + 1]!r})",
                source=file,
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("utf-8-sig")
        return text, "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    except UnicodeDecodeError as first:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            raise LoaderError(
                f"the file is neither UTF-8 nor GBK/GB 18030 (byte {first.start} is not UTF-8); "
                "pass encoding= to name its encoding",
                source=file,
            ) from None


def _read_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise LoaderError("no such file", source=path) from None
    except IsADirectoryError:
        raise LoaderError("is a directory, not a register file", source=path) from None
    except OSError as exc:
        raise LoaderError(f"cannot read the file: {exc.strerror or exc}", source=path) from None


def _delimiter(path: str, first_line: str) -> str:
    if path.lower().endswith(".tsv"):
        return "\t"
    if "\t" in first_line and "," not in first_line:
        return "\t"
    return ","


def _locate_header(
    rows: Sequence[Sequence[Any]],
    source: Source,
    file: str,
    sheet: str | None,
) -> tuple[tuple[str, ...], int, list[Problem]]:
    """Find the header among the first non-empty rows: ``(header, its index, problems)``.

    The index is -1 when the file has no non-empty row.
    """
    scanned: list[int] = []
    for index, row in enumerate(rows):
        if _blank(row):
            continue
        scanned.append(index)
        if len(scanned) >= _HEADER_SCAN:
            break
    if not scanned:
        return (), -1, []
    at = scanned[0]
    for index in scanned:
        if source.columns.recognised(cell_text(c) for c in rows[index]) > 0:
            at = index
            break
    problems = [
        Problem(
            reason="a row above the header was skipped",
            severity="warning",
            file=file,
            sheet=sheet,
            row=index + 1,
            value=" ".join(cell_text(c) for c in rows[index] if cell_text(c)),
        )
        for index in scanned
        if index < at
    ]
    return tuple(cell_text(c) for c in rows[at]), at, problems


def _tabulate(
    source: Source,
    everything: Sequence[Sequence[Any]],
    *,
    file: str,
    sheet: str | None,
    fmt: str,
    encoding: str | None,
) -> Table:
    """Make a table of all the rows of a file (row ``i`` of the list is file row ``i + 1``)."""
    header, at, problems = _locate_header(everything, source, file, sheet)
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    header = header[:width]
    data = everything[at + 1 :]
    first = at + 2
    if at >= 0 and data and set(map(len, data)) == {width} and all(map(any, data)):
        # The common case: every row complete and none empty; no per-row work.
        return Table(
            file=file,
            header=header,
            rows=data,
            row_numbers=range(first, first + len(data)),
            sheet=sheet,
            format=fmt,
            encoding=encoding,
            kind=source.kind,
            problems=problems,
        )
    rows: list[tuple[Any, ...]] = []
    numbers: list[int] = []
    for number, row in enumerate(data, start=first):
        if _blank(row):
            continue
        size = len(row)
        if size == width:
            rows.append(tuple(row))
        elif size > width:
            spill = row[width:]
            if not _blank(spill):
                problems.append(
                    Problem(
                        reason=f"the row has {size} cells but the header only {width}; "
                        "the cells past the header cannot be placed",
                        file=file,
                        sheet=sheet,
                        row=number,
                        value=" ".join(cell_text(c) for c in spill if cell_text(c)),
                    )
                )
            rows.append(tuple(row[:width]))
        else:
            if fmt == "csv":
                problems.append(
                    Problem(
                        reason=f"the row has {size} cells, the header {width}; "
                        "the missing cells are read as empty",
                        severity="warning",
                        file=file,
                        sheet=sheet,
                        row=number,
                    )
                )
            rows.append((*row, *(["" if fmt == "csv" else None] * (width - size))))
        numbers.append(number)
    if at < 0:
        problems.append(Problem(reason="the file is empty: no header row", file=file, sheet=sheet))
    return Table(
        file=file,
        header=header,
        rows=rows,
        row_numbers=numbers,
        sheet=sheet,
        format=fmt,
        encoding=encoding,
        kind=source.kind,
        problems=problems,
    )


# -- readers ----------------------------------------------------------------------


def read_csv(source: Source) -> Table:
    """Read a CSV (or tab-separated) register; see the module docstring for encodings."""
    file = source.path
    text, used = decode(_read_bytes(file), source.encoding, file=file)
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(file, first_line))
    try:
        return _tabulate(
            source,
            list(reader),
            file=file,
            sheet=None,
            fmt="csv",
            encoding=used,
        )
    except csv.Error as exc:
        raise LoaderError(f"malformed CSV: {exc}", source=file, row=reader.line_num) from None


def read_json(source: Source) -> Table:
    """Read a JSON register: a list of objects, or ``{"<kind>": [...]}``."""
    file = source.path
    text, used = decode(_read_bytes(file), source.encoding, file=file)
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise LoaderError(
            f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", source=file
        ) from None
    if isinstance(data, Mapping):
        lists = {k: v for k, v in data.items() if isinstance(v, list)}
        wanted = [source.kind] if source.kind else [k for k in KINDS if k in lists]
        keys = [k for k in wanted if k in lists] or (list(lists) if len(lists) == 1 else [])
        if len(keys) != 1:
            expected = f'"{source.kind}"' if source.kind else "a register kind"
            raise LoaderError(
                f"expected a list of records, or an object with the list under {expected}; "
                f"found keys {', '.join(map(repr, data)) or 'none'}",
                source=file,
            )
        kind_key = keys[0]
        data = lists[kind_key]
        kind = kind_key if kind_key in KINDS else source.kind
    else:
        kind = source.kind
    if not isinstance(data, list):
        raise LoaderError("expected a list of records (JSON objects)", source=file)
    problems: list[Problem] = []
    records: list[Mapping[str, Any]] = []
    numbers: list[int] = []
    for number, record in enumerate(data, start=1):
        if not isinstance(record, Mapping):
            problems.append(
                Problem(
                    reason=f"expected an object, got {type(record).__name__}",
                    file=file,
                    row=number,
                    value=cell_text(record)[:80],
                )
            )
            continue
        flat = dict(record)
        attributes = flat.pop("attributes", None)
        if isinstance(attributes, Mapping):
            flat.update({str(k): v for k, v in attributes.items()})
        elif attributes is not None:
            flat["attributes"] = attributes
        records.append(flat)
        numbers.append(number)
    table = Table.from_records(records, file=file)
    table = table.evolve(
        row_numbers=numbers,
        format="json",
        encoding=used,
        kind=kind,
        typed=True,
        problems=problems,
    )
    return table


def _open_workbook(path: str) -> Any:
    try:
        import openpyxl
    except ImportError:
        raise LoaderError(_EXCEL_HINT, source=path) from None
    if not Path(path).is_file():
        _read_bytes(path)  # raises the right LoaderError
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise LoaderError(f"not a readable .xlsx workbook: {exc}", source=path) from None


def xlsx_sheet_names(path: str) -> list[str]:
    """The worksheet names of an .xlsx workbook, in order."""
    workbook = _open_workbook(path)
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def _excel_rows(
    worksheet: Any, file: str, sheet: str, problems: list[Problem]
) -> Iterator[Sequence[Any]]:
    for number, row in enumerate(worksheet.iter_rows(min_row=1, values_only=True), start=1):
        if any(isinstance(v, str) and v in _EXCEL_ERRORS for v in row):
            cells = list(row)
            for i, v in enumerate(cells):
                if isinstance(v, str) and v in _EXCEL_ERRORS:
                    problems.append(
                        Problem(
                            reason=f"the cell holds the Excel error {v}",
                            file=file,
                            sheet=sheet,
                            row=number,
                            column=f"#{i + 1}",
                            value=v,
                        )
                    )
                    cells[i] = None
            yield cells
        else:
            yield row


def read_xlsx(source: Source) -> Table:
    """Read one worksheet of an .xlsx workbook (``source.sheet``, else the only or first one).

    With several worksheets and no ``sheet``, the first one whose header names
    a field of ``source.kind`` is read.
    """
    file = source.path
    workbook = _open_workbook(file)
    try:
        names = list(workbook.sheetnames)
        if isinstance(source.sheet, int):
            if not 0 <= source.sheet < len(names):
                raise LoaderError(
                    f"the workbook has {len(names)} sheets; there is no sheet {source.sheet}",
                    source=file,
                )
            name = names[source.sheet]
        elif source.sheet is not None:
            if source.sheet not in names:
                raise LoaderError(
                    f"no sheet {source.sheet!r}; sheets: {', '.join(map(repr, names))}",
                    source=file,
                )
            name = source.sheet
        else:
            name = _pick_sheet(workbook, names, source)
        worksheet = workbook[name]
        if hasattr(worksheet, "reset_dimensions"):
            worksheet.reset_dimensions()
        problems: list[Problem] = []
        table = _tabulate(
            source,
            list(_excel_rows(worksheet, file, name, problems)),
            file=file,
            sheet=name,
            fmt="xlsx",
            encoding=None,
        )
        header = table.header
        located = [
            attrs.evolve(p, column=header[int(p.column[1:]) - 1])
            if p.column and p.column.startswith("#") and int(p.column[1:]) <= len(header)
            else p
            for p in problems
        ]
        return table.evolve(problems=(*table.problems, *located))
    finally:
        workbook.close()


def _pick_sheet(workbook: Any, names: list[str], source: Source) -> str:
    """The only sheet; else the first whose header is most like ``source.kind``'s."""
    if len(names) == 1 or source.kind is None:
        return names[0]
    headers: list[tuple[str, list[str]]] = []
    for name in names:
        rows = workbook[name].iter_rows(min_row=1, max_row=_HEADER_SCAN, values_only=True)
        cells = [[cell_text(c) for c in row] for row in rows]
        best = max(cells, key=lambda r: source.columns.recognised(r, source.kind), default=[])
        headers.append((name, best))
    for name, header in headers:
        if source.columns.guess_kind(header) == source.kind:
            return name
    required = REQUIRED[source.kind]
    for name, header in headers:
        found = source.columns.match(source.kind, header).fields
        if all(field in found for field in required):
            return name
    return names[0]


def read_table(source: Source) -> Table:
    """Read a register file by its suffix: CSV, JSON or Excel."""
    suffix = os.path.splitext(source.path)[1].lower()
    if suffix in CSV_SUFFIXES:
        return read_csv(source)
    if suffix in JSON_SUFFIXES:
        return read_json(source)
    if suffix in EXCEL_SUFFIXES:
        return read_xlsx(source)
    if suffix == ".xls":
        raise LoaderError(
            "old-style .xls workbooks are not read; save the file as .xlsx or .csv",
            source=source.path,
        )
    raise LoaderError(
        f"cannot tell the format from the suffix {suffix or '(none)'!r}: use .csv, .json or "
        ".xlsx, or address the file with a loader prefix such as csv:FILE",
        source=source.path,
    )
