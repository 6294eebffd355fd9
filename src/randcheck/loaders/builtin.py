"""The built-in plugin: the ``csv``, ``json`` and ``xlsx`` loaders, the built-in
header aliases, and a pool-level check.

It is registered like any station plugin (see
:data:`randcheck.plugins.DEFAULT_PLUGINS`), so the built-in behaviour goes
through the same hooks as a station's and shows in ``randcheck plugins``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..hookspecs import ColumnRegistrar, LoaderRegistrar, hookimpl
from ..pools import EntityPool
from .columns import BUILTIN_ALIASES, KINDS, USCC_HEADERS, RegisterKind
from .files import Source, Table, read_csv, read_json, read_xlsx
from .validate import Problem, Register

__all__ = [
    "load_csv",
    "load_json",
    "load_xlsx",
    "randcheck_register_columns",
    "randcheck_register_loaders",
    "randcheck_validate_pool",
]


def load_csv(source: Source) -> Table:
    """CSV text (.csv, .txt; .tsv tab-separated) in UTF-8, UTF-8 with BOM or GBK/GB 18030."""
    return read_csv(source)


def load_json(source: Source) -> Table:
    """JSON: a list of records, or {"<register kind>": [records…]}."""
    return read_json(source)


def load_xlsx(source: Source) -> Table:
    """Excel .xlsx workbooks through openpyxl (pip install 'randcheck[excel]')."""
    return read_xlsx(source)


@hookimpl
def randcheck_register_loaders(register: LoaderRegistrar) -> None:
    """Register ``csv:``, ``json:`` and ``xlsx:``."""
    register("csv", load_csv)
    register("json", load_json)
    register("xlsx", load_xlsx)


@hookimpl
def randcheck_register_columns(register: ColumnRegistrar) -> None:
    """Register the Chinese header aliases of :data:`BUILTIN_ALIASES`."""
    for kind in KINDS:
        for header, field in BUILTIN_ALIASES[kind].items():
            uscc = kind == "entities" and header in USCC_HEADERS
            register(kind, header, field, id_kind="uscc" if uscc else None)


@hookimpl
def randcheck_validate_pool(pool: Register, kind: RegisterKind) -> Iterator[Problem]:
    """Pool-level check: entities with neither a category nor a station, which no item covers."""
    if kind == "entities" and isinstance(pool, EntityPool) and len(pool):
        unplaced = np.flatnonzero((pool.column("category") == "") & (pool.column("station") == ""))
        if unplaced.size:
            shown = ", ".join(pool.ids[unplaced[:5]].tolist())
            more = " …" if unplaced.size > 5 else ""
            yield Problem(
                reason=f"{unplaced.size} entities have neither a category nor a station, so "
                f"no item covers them ({shown}{more})",
                severity="warning",
                column="category",
            )
