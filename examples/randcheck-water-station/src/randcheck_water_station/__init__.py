"""randcheck plugin of a county water station (水利工作站).

What it adds to randcheck, through the hooks of :mod:`randcheck.hookspecs`:

* a loader ``water:`` for the station's water-withdrawal permit ledger
  (取水许可台账, .xlsx or .csv): each permit becomes an entity of category
  ``取水许可`` of the ``水利工作站``, its township (``region``) taken from the
  ``所在乡镇`` column or, failing that, from the head of ``取水地点``;
* the ledger's headers (``取水许可证号``, ``取水权人名称``, ``所在乡镇``) in the
  header mapping, so the ledger also loads as a plain entity register;
* checks of the ledger (``许可水量(万m³)`` a positive number, ``有效期至`` a
  date and not passed, the permit holder's USCC well formed);
* a recusal rule: an inspector does not inspect a permit in the township where
  the inspector's household is registered (户籍所在乡镇). The townships come
  from the CSV file named by the environment variable
  ``RANDCHECK_WATER_TOWNSHIPS`` (columns ``执法人员编号``, ``户籍所在乡镇``).

randcheck loads this module through the entry point group ``randcheck``
(see ``pyproject.toml``); nothing here runs on import but definitions.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import attrs

from randcheck.hookspecs import ColumnRegistrar, LoaderRegistrar, hookimpl
from randcheck.loaders import Problem, RegisterKind, Source, Table, read_table
from randcheck.loaders.validate import Register, parse_date
from randcheck.model import Entity, Inspector, Task
from randcheck.pools import EntityPool
from randcheck.uscc import validate_uscc

__all__ = [
    "CATEGORY",
    "STATION",
    "TOWNSHIPS_ENV",
    "load_permit_ledger",
    "randcheck_conflicts",
    "randcheck_register_columns",
    "randcheck_register_loaders",
    "randcheck_validate_pool",
    "township_of",
    "townships",
]

__version__ = "0.1.0"

#: The station this plugin speaks for, and the entity category of a permit.
STATION = "水利工作站"
CATEGORY = "取水许可"

#: Environment variable naming the CSV of inspectors' registered townships.
TOWNSHIPS_ENV = "RANDCHECK_WATER_TOWNSHIPS"

#: Ledger headers → entity fields. Every other ledger column stays an attribute.
LEDGER_COLUMNS = {
    "取水许可证号": "id",
    "许可证号": "id",
    "取水权人名称": "name",
    "取水权人": "name",
    "所在乡镇": "region",
}

QUANTITY = "许可水量(万m³)"
VALID_UNTIL = "有效期至"
HOLDER_USCC = "取水权人统一社会信用代码"
LOCATION = "取水地点"

_TOWNSHIP = re.compile(r"^\s*(.+?(?:镇|乡|农场|牧场))")


def township_of(location: str) -> str | None:
    """The township at the head of a location: ``哈尔盖镇环仓秀麻村`` → ``哈尔盖镇``."""
    match = _TOWNSHIP.match(location or "")
    return match[1] if match else None


def load_permit_ledger(source: Source) -> Table:
    """取水许可台账 of the 水利工作站 (.xlsx/.csv): 取水许可证号, 取水权人名称, 取水地点…

    Each permit becomes an entity of category 取水许可 of the 水利工作站; its
    township (``region``) is the ``所在乡镇`` column or, failing that, the head of
    ``取水地点``. Other ledger columns (许可水量(万m³), 有效期至 …) stay attributes.
    """
    table = read_table(attrs.evolve(source, prefix=None))
    header = list(table.header)
    problems = list(table.problems)
    if LOCATION in header:
        where = header.index(LOCATION)
        own = next((i for i, h in enumerate(header) if h.strip() == "所在乡镇"), None)
        rows = []
        for number, row in zip(table.row_numbers, table.rows, strict=True):
            given = str(row[own] or "").strip() if own is not None else ""
            location = str(row[where] or "")
            town = given or township_of(location) or ""
            if not town:
                problems.append(
                    Problem(
                        reason="cannot tell the township from 取水地点; add a 所在乡镇 column",
                        severity="warning",
                        file=table.file,
                        sheet=table.sheet,
                        row=number,
                        column=LOCATION,
                        value=location,
                    )
                )
            if own is None:
                rows.append((*row, town))
            else:
                rows.append((*row[:own], town, *row[own + 1 :]))
        if own is None:
            header.append("所在乡镇")
        table = table.evolve(header=header, rows=rows, problems=problems)
    return table.evolve(
        kind="entities",
        columns=LEDGER_COLUMNS,
        defaults={"category": CATEGORY, "station": STATION},
        id_kind="code",
    )


@hookimpl
def randcheck_register_loaders(register: LoaderRegistrar) -> None:
    """Register ``water:`` for the permit ledger."""
    register("water", load_permit_ledger)


@hookimpl
def randcheck_register_columns(register: ColumnRegistrar) -> None:
    """Teach the entity register the ledger's headers."""
    register("entities", "取水许可证号", "id", id_kind="code")
    register("entities", "取水权人名称", "name")


def _decimal(text: object) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


@hookimpl
def randcheck_validate_pool(pool: Register, kind: RegisterKind) -> Iterator[Problem]:
    """Check permits: quantity, expiry date, the holder's USCC."""
    if kind != "entities" or not isinstance(pool, EntityPool):
        return
    names = set(pool.attribute_names)
    today = dt.date.today()
    ids = pool.ids.tolist()
    if QUANTITY in names:
        for ident, value in zip(ids, pool.column(QUANTITY).tolist(), strict=True):
            amount = _decimal(value) if value is not None else None
            if amount is None or amount <= 0:
                yield Problem(
                    reason="the permitted quantity must be a positive number of 万m³",
                    id=ident,
                    column=QUANTITY,
                    value=None if value is None else str(value),
                )
    if VALID_UNTIL in names:
        for ident, value in zip(ids, pool.column(VALID_UNTIL).tolist(), strict=True):
            try:
                until = parse_date(value)
            except ValueError as exc:
                yield Problem(reason=str(exc), id=ident, column=VALID_UNTIL, value=str(value))
                continue
            if until is not None and until < today:
                yield Problem(
                    reason=f"the permit expired on {until.isoformat()}; inspect it as an "
                    "unpermitted withdrawal or renew it",
                    severity="warning",
                    id=ident,
                    column=VALID_UNTIL,
                    value=str(value),
                )
    if HOLDER_USCC in names:
        for ident, value in zip(ids, pool.column(HOLDER_USCC).tolist(), strict=True):
            if value is None:
                continue
            why = validate_uscc(str(value))
            if why is not None:
                yield Problem(
                    reason=f"the permit holder's unified social credit code is invalid: {why}",
                    id=ident,
                    column=HOLDER_USCC,
                    value=str(value),
                )


_cache: dict[tuple[str, float], dict[str, str]] = {}


def townships() -> dict[str, str]:
    """``{inspector id: registered township}`` from the file in ``RANDCHECK_WATER_TOWNSHIPS``.

    Empty when the variable is unset. The file is read again when it changes.
    """
    path = os.environ.get(TOWNSHIPS_ENV, "").strip()
    if not path:
        return {}
    key = (path, Path(path).stat().st_mtime)
    if key not in _cache:
        table = read_table(Source(path=path))
        who = table.header.index("执法人员编号")
        where = table.header.index("户籍所在乡镇")
        _cache.clear()
        _cache[key] = {
            str(row[who]).strip(): str(row[where]).strip()
            for row in table.rows
            if row[who] and row[where]
        }
    return _cache[key]


@hookimpl
def randcheck_conflicts(task: Task, inspector: Inspector, entity: Entity) -> Iterator[str]:
    """An inspector does not inspect a permit in the township of the inspector's household."""
    if entity.category != CATEGORY and entity.station != STATION:
        return
    home = townships().get(inspector.id)
    if home and entity.region and home == entity.region:
        yield (f"{STATION}回避规则：执法人员户籍所在乡镇（{home}）与取水地点所在乡镇相同")
