"""Every hook randcheck offers to plugins, with the markers to implement them.

A plugin is a module (or any object) with functions named after these specs
and marked with :data:`hookimpl`; a station package exposes it under the entry
point group ``randcheck`` (see ``docs/plugins.md``)::

    from randcheck.hookspecs import hookimpl

    @hookimpl
    def randcheck_conflicts(task, inspector, entity):
        if entity.region == "哈尔盖镇" and inspector.id == "GC-INS-007":
            yield "水利工作站回避规则：户籍所在乡镇与取水地点相同"

An implementation may accept any subset of a spec's arguments, by name. Core
code never calls these hooks directly: it goes through the typed façade
:class:`randcheck.plugins.Plugins`. Importing this module has no side effects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

import pluggy

if TYPE_CHECKING:
    from .draw import DrawResult
    from .loaders.columns import IdKind, RegisterKind
    from .loaders.files import Source, Table
    from .loaders.validate import Problem, Register
    from .model import Entity, Inspector, Item, Task

__all__ = [
    "PROJECT_NAME",
    "ColumnRegistrar",
    "Loader",
    "LoaderRegistrar",
    "hookimpl",
    "hookspec",
    "randcheck_after_draw",
    "randcheck_conflicts",
    "randcheck_register_columns",
    "randcheck_register_loaders",
    "randcheck_risk_weight",
    "randcheck_validate_pool",
]

#: The pluggy project name; also the entry point group of plugin distributions.
PROJECT_NAME = "randcheck"

#: Marks a function in this module as a hook specification.
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

#: Marks a plugin function as a hook implementation: ``@hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class Loader(Protocol):
    """A register loader: reads what ``source.path`` addresses into a :class:`Table`.

    Its docstring (first line) is what ``randcheck plugins`` shows. Raise
    :class:`randcheck.LoaderError` for a file it cannot read at all; report
    row-level findings in ``Table.problems`` or leave them to the shared
    validation.
    """

    def __call__(self, source: Source) -> Table: ...


class LoaderRegistrar(Protocol):
    """The ``register`` callback of :func:`randcheck_register_loaders`."""

    def __call__(self, prefix: str, loader: Loader) -> None: ...


class ColumnRegistrar(Protocol):
    """The ``register`` callback of :func:`randcheck_register_columns`."""

    def __call__(
        self, kind: RegisterKind, header: str, field: str, *, id_kind: IdKind | None = None
    ) -> None: ...


@hookspec
def randcheck_register_loaders(register: LoaderRegistrar) -> None:
    """Register loaders for register sources addressed as ``prefix:path``.

    Call ``register(prefix, loader)`` once per loader. ``prefix`` is two or
    more lower-case letters, digits, ``-`` or ``_``, starting with a letter
    (so ``C:\\data.csv`` stays a path); a prefix taken by another plugin is an
    error. The built-in plugin registers ``csv``, ``json`` and ``xlsx``.
    """


@hookspec
def randcheck_register_columns(register: ColumnRegistrar) -> None:
    """Add header aliases: ``register(kind, header, field, id_kind=None)``.

    ``kind`` is ``"entities"``, ``"inspectors"``, ``"items"`` or
    ``"conflicts"``; ``field`` a field of that register; ``header`` a column
    title as a station writes it (compared after normalization: NFKC, case and
    separators ignored). ``id_kind`` (entity ``id`` columns only) declares the
    USCC rule for that header: ``"uscc"``, ``"auto"`` or ``"code"``. Mapping a
    header already mapped to another field is an error.
    """


@hookspec
def randcheck_conflicts(task: Task, inspector: Inspector, entity: Entity) -> Iterable[str] | None:
    """Why ``inspector`` may not inspect ``entity`` on ``task``: reasons, or nothing.

    Return (or yield) one human-readable reason per rule that vetoes the
    pairing, naming the rule (``"水利工作站：户籍所在乡镇与取水地点相同"``); return
    ``None`` or nothing when the pairing is fine. The answers of every plugin
    are combined and every reason is kept on record: any reason vetoes.
    """


@hookspec(firstresult=True)
def randcheck_risk_weight(item: Item, entity: Entity, weight: int) -> int | None:
    """Replace the integer risk weight of ``entity`` for ``item``, or return ``None``.

    ``weight`` is what the item's risk-weighted policy computed. The first
    plugin that returns an integer decides (``firstresult``); it must be a
    whole number ≥ 1, since no entity may be exempt (不免抽). The plugins in
    force are part of a draw's inputs: a draw replays only with the same ones.
    """


@hookspec
def randcheck_validate_pool(pool: Register, kind: RegisterKind) -> Iterable[Problem] | None:
    """Check a loaded register; return (or yield) :class:`Problem` records, or nothing.

    ``pool`` is an :class:`EntityPool` (``kind == "entities"``), an
    :class:`InspectorPool` (``"inspectors"``), a tuple of :class:`Item`
    (``"items"``) or of :class:`Conflict` (``"conflicts"``). Name the record
    in ``Problem.id`` (the entity id, inspector id, item code, or
    ``"inspector_id → entity_id"``): randcheck fills in file and row. In
    lenient loading a record with an ``"error"`` is left out; in strict loading
    any error fails the load. Problems of every plugin are collected.
    """


@hookspec
def randcheck_after_draw(result: DrawResult) -> None:
    """Told of every finished draw (publish it, log it, notify someone).

    The result is immutable; an exception raised here propagates to the
    caller of the draw.
    """
