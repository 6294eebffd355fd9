"""The plugin manager and the typed façade core code calls plugins through.

Plugins are loaded lazily: importing randcheck loads nothing; the first call to
:func:`get_plugins` creates the process-wide :class:`Plugins`, registering the
built-in plugins (:data:`DEFAULT_PLUGINS`) and then every plugin installed
under the entry point group ``randcheck``, unless the environment variable
``RANDCHECK_DISABLE_PLUGIN_AUTOLOAD`` is set to a non-empty value.

Tests and embedding systems make their own manager with
:meth:`Plugins.isolated`, which never looks at entry points.

Core code never calls ``pm.hook`` itself: the methods of :class:`Plugins`
call the hooks, check what plugins answer and return plain typed values.
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt
import pluggy

from . import hookspecs
from ._version import __version__
from .errors import RandcheckError

if TYPE_CHECKING:
    from .draw import DrawResult
    from .hookspecs import Loader
    from .loaders.columns import ColumnMap, IdKind, RegisterKind
    from .loaders.validate import Problem, Register
    from .model import Entity, Inspector, Item, Task
    from .pools import EntityPool

__all__ = [
    "DEFAULT_PLUGINS",
    "DISABLE_AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
    "LoaderInfo",
    "PluginError",
    "PluginInfo",
    "Plugins",
    "get_plugins",
    "set_plugins",
]

#: Entry point group under which station distributions expose their plugin.
ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME

#: Set to a non-empty value to keep installed plugins from loading automatically.
DISABLE_AUTOLOAD_ENV = "RANDCHECK_DISABLE_PLUGIN_AUTOLOAD"

#: The built-in behaviour, as internal plugins (modules), registered first.
DEFAULT_PLUGINS: tuple[str, ...] = ("randcheck.loaders.builtin",)

_PREFIX = re.compile(r"^[a-z][a-z0-9_-]+$")


class PluginError(RandcheckError):
    """A plugin failed to load, collided with another, or answered a hook wrongly."""


@attrs.frozen
class PluginInfo:
    """A registered plugin: its name, version, the hooks it implements and where it comes from.

    ``distribution`` is the installed distribution that provided it (``None``
    for built-ins and plugins registered by hand); ``builtin`` marks the
    internal plugins of randcheck itself.
    """

    name: str
    version: str | None
    hooks: tuple[str, ...]
    builtin: bool = False
    distribution: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The plugin as JSON-ready data (``randcheck plugins --json``)."""
        return {
            "name": self.name,
            "version": self.version,
            "hooks": list(self.hooks),
            "builtin": self.builtin,
            "distribution": self.distribution,
        }


@attrs.frozen
class LoaderInfo:
    """A registered loader: ``prefix``, the plugin that registered it, its description."""

    prefix: str
    plugin: str
    description: str
    loader: Loader = attrs.field(eq=False, repr=False)


def _first_line(obj: object) -> str:
    doc = getattr(obj, "__doc__", None) or ""
    for line in doc.strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def _autoload_disabled() -> bool:
    return bool(os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip())


class Plugins:
    """Typed access to the plugin manager (one per process, or isolated for tests).

    Build one with :func:`get_plugins` (the process-wide one), :meth:`create`
    or :meth:`isolated`; wrap an existing ``pluggy.PluginManager`` with
    ``Plugins(pm)``.
    """

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self._pm = manager

    # -- construction -------------------------------------------------------------

    @staticmethod
    def _manager() -> pluggy.PluginManager:
        pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        pm.add_hookspecs(hookspecs)
        return pm

    @classmethod
    def create(cls, *, autoload: bool | None = None, builtins: bool = True) -> Plugins:
        """A new manager with the built-ins and, unless disabled, installed plugins.

        ``autoload=None`` loads entry points unless ``RANDCHECK_DISABLE_PLUGIN_AUTOLOAD``
        is set; ``True``/``False`` decide regardless of the environment.

        Raises
        ------
        PluginError
            when an installed plugin cannot be imported or does not match the
            hook specifications; the message names the environment variable
            that starts randcheck without plugins.
        """
        plugins = cls(cls._manager())
        if builtins:
            plugins._register_builtins()
        if autoload if autoload is not None else not _autoload_disabled():
            try:
                plugins._pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
            except Exception as exc:
                raise PluginError(
                    f"cannot load an installed randcheck plugin: {type(exc).__name__}: {exc} "
                    f"(set {DISABLE_AUTOLOAD_ENV}=1 to start without installed plugins)"
                ) from exc
        return plugins

    @classmethod
    def isolated(cls, *plugins: object, builtins: bool = True) -> Plugins:
        """A manager with only the built-ins (unless ``builtins=False``) and ``plugins``.

        Entry points and the environment are ignored: for tests, and for systems
        that decide themselves which plugins run.
        """
        made = cls.create(autoload=False, builtins=builtins)
        for plugin in plugins:
            made.register(plugin)
        return made

    def _register_builtins(self) -> None:
        for name in DEFAULT_PLUGINS:
            self._pm.register(importlib.import_module(name), name=name)

    @property
    def manager(self) -> pluggy.PluginManager:
        """The underlying ``pluggy.PluginManager`` (for tooling, not for calling hooks)."""
        return self._pm

    def register(self, plugin: object, name: str | None = None) -> str:
        """Register ``plugin`` (a module or object with hook implementations); return its name.

        The name defaults to the module's name, or else the class name of the
        object (when free). Raises :class:`PluginError` when the name is taken or
        an implementation does not match its specification.
        """
        if name is None and not hasattr(plugin, "__name__"):
            candidate = type(plugin).__name__
            if not self._pm.has_plugin(candidate):
                name = candidate
        try:
            registered = self._pm.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as exc:
            raise PluginError(str(exc)) from exc
        if registered is None:
            raise PluginError(f"plugin {name!r} is blocked")
        return registered

    def unregister(self, name: str) -> None:
        """Remove the plugin registered under ``name``."""
        self._pm.unregister(name=name)

    # -- registrations ------------------------------------------------------------

    def _each_impl(self, hook_name: str) -> list[tuple[str, Callable[..., Any], list[str]]]:
        """Implementations of a registration hook, built-ins first: (plugin, function, args).

        Registration hooks are called once per plugin, in registration order, so
        that a collision names the plugin that came second.
        """
        caller = getattr(self._pm.hook, hook_name)
        return [
            (impl.plugin_name, impl.function, list(impl.argnames))
            for impl in caller.get_hookimpls()
        ]

    def loader_infos(self) -> list[LoaderInfo]:
        """Every registered loader with the plugin that registered it, sorted by prefix.

        Raises :class:`PluginError` for a malformed or duplicate prefix, naming
        both plugins.
        """
        found: dict[str, LoaderInfo] = {}
        for plugin, function, argnames in self._each_impl("randcheck_register_loaders"):

            def register(prefix: str, loader: Loader, _plugin: str = plugin) -> None:
                if not isinstance(prefix, str) or not _PREFIX.match(prefix):
                    raise PluginError(
                        f"plugin {_plugin!r} registered the loader prefix {prefix!r}: a prefix is "
                        "two or more of a-z, 0-9, '-', '_', starting with a letter"
                    )
                if not callable(loader):
                    raise PluginError(
                        f"plugin {_plugin!r}: the loader for {prefix!r} is not callable"
                    )
                if prefix in found:
                    raise PluginError(
                        f"the loader prefix {prefix!r} is registered by both "
                        f"{found[prefix].plugin!r} and {_plugin!r}"
                    )
                found[prefix] = LoaderInfo(prefix, _plugin, _first_line(loader), loader)

            function(**{arg: register for arg in argnames if arg == "register"})
        return [found[p] for p in sorted(found)]

    def loaders(self) -> dict[str, Loader]:
        """``{prefix: loader}`` for every registered loader."""
        return {info.prefix: info.loader for info in self.loader_infos()}

    def columns(self) -> ColumnMap:
        """The header mapping: English field names, built-in aliases and plugins' aliases.

        Raises :class:`PluginError` when a plugin maps a header to an unknown
        field, or to another field than an earlier plugin did.
        """
        from .loaders.columns import ColumnMap

        state = {"map": ColumnMap()}
        for plugin, function, argnames in self._each_impl("randcheck_register_columns"):

            def register(
                kind: RegisterKind,
                header: str,
                field: str,
                *,
                id_kind: IdKind | None = None,
                _plugin: str = plugin,
            ) -> None:
                try:
                    state["map"] = state["map"].with_alias(kind, header, field, id_kind=id_kind)
                except ValueError as exc:
                    raise PluginError(f"plugin {_plugin!r}: {exc}") from None

            function(**{arg: register for arg in argnames if arg == "register"})
        return state["map"]

    # -- hooks of the draw --------------------------------------------------------

    def conflicts(self, task: Task, inspector: Inspector, entity: Entity) -> list[str]:
        """Every reason, from every plugin, why ``inspector`` may not inspect ``entity``.

        An empty list means no plugin objects. Reasons keep plugin order
        (last registered first, as pluggy calls them).
        """
        answers = self._pm.hook.randcheck_conflicts(task=task, inspector=inspector, entity=entity)
        reasons: list[str] = []
        for answer in answers:
            for reason in [answer] if isinstance(answer, str) else answer:
                if not isinstance(reason, str) or not reason.strip():
                    raise PluginError(
                        f"randcheck_conflicts must give non-empty reason strings, got {reason!r}"
                    )
                reasons.append(reason.strip())
        return reasons

    def adds_conflicts(self) -> bool:
        """Whether any plugin implements ``randcheck_conflicts``."""
        return bool(self._pm.hook.randcheck_conflicts.get_hookimpls())

    def overrides_risk_weight(self) -> bool:
        """Whether any plugin implements ``randcheck_risk_weight``."""
        return bool(self._pm.hook.randcheck_risk_weight.get_hookimpls())

    def risk_weight(self, item: Item, entity: Entity, weight: int) -> int:
        """The risk weight of ``entity`` for ``item``: a plugin's answer, else ``weight``."""
        answer = self._pm.hook.randcheck_risk_weight(item=item, entity=entity, weight=int(weight))
        if answer is None:
            return int(weight)
        if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)) or answer < 1:
            raise PluginError(
                f"randcheck_risk_weight gave {answer!r} for entity {entity.id!r}: a weight must "
                "be a whole number >= 1 (no entity is exempt)"
            )
        return int(answer)

    def risk_weights(
        self, item: Item, pool: EntityPool, weights: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """Apply :meth:`risk_weight` to a whole pool (canonical order); no plugin, no copy."""
        if not self.overrides_risk_weight():
            return weights
        out = np.array(weights, dtype=np.int64, copy=True)
        for position in range(len(pool)):
            out[position] = self.risk_weight(item, pool.entity(position), int(weights[position]))
        return out

    def validate_pool(self, pool: Register, kind: RegisterKind) -> list[Problem]:
        """Every :class:`Problem` plugins find in a loaded register."""
        from .loaders.validate import Problem

        found: list[Problem] = []
        for answer in self._pm.hook.randcheck_validate_pool(pool=pool, kind=kind):
            for problem in [answer] if isinstance(answer, Problem) else answer:
                if not isinstance(problem, Problem):
                    raise PluginError(
                        f"randcheck_validate_pool must give Problem records, got {problem!r}"
                    )
                found.append(problem)
        return found

    def after_draw(self, result: DrawResult) -> None:
        """Tell every plugin that a draw finished."""
        self._pm.hook.randcheck_after_draw(result=result)

    # -- listing ------------------------------------------------------------------

    def list_plugins(self) -> list[PluginInfo]:
        """Every registered plugin: name, version, hooks (for ``randcheck plugins``)."""
        dists = {id(plugin): dist for plugin, dist in self._pm.list_plugin_distinfo()}
        infos: list[PluginInfo] = []
        for name, plugin in self._pm.list_name_plugin():
            if plugin is None:
                continue
            callers = self._pm.get_hookcallers(plugin) or []
            hooks = tuple(sorted(c.name for c in callers))
            dist = dists.get(id(plugin))
            builtin = name in DEFAULT_PLUGINS
            if dist is not None:
                version: str | None = dist.version
                distribution: str | None = dist.project_name
            else:
                version = __version__ if builtin else getattr(plugin, "__version__", None)
                distribution = None
            infos.append(PluginInfo(name, version, hooks, builtin, distribution))
        return sorted(infos, key=lambda i: (not i.builtin, i.name))

    def describe(self) -> str:
        """Text for ``randcheck plugins``: each plugin with its hooks, then the loaders."""
        lines = ["plugins:"]
        for info in self.list_plugins():
            origin = "built-in" if info.builtin else (info.distribution or "registered")
            version = f" {info.version}" if info.version else ""
            lines.append(f"  {info.name}{version} ({origin})")
            lines.extend(f"    {hook}" for hook in info.hooks)
        lines.append("loaders:")
        for loader in self.loader_infos():
            lines.append(f"  {loader.prefix}: {loader.description} [{loader.plugin}]")
        return "\n".join(lines)

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self._pm.list_name_plugin())
        return f"<Plugins {names}>"


_plugins: Plugins | None = None
_lock = threading.Lock()


def get_plugins() -> Plugins:
    """The process-wide :class:`Plugins`, created (and plugins loaded) on first use."""
    global _plugins
    if _plugins is None:
        with _lock:
            if _plugins is None:
                _plugins = Plugins.create()
    return _plugins


def set_plugins(plugins: Plugins | None) -> Plugins | None:
    """Replace the process-wide façade and return the previous one.

    ``None`` makes the next :func:`get_plugins` load plugins afresh. For
    embedding systems that decide which plugins run, and for tests.
    """
    global _plugins
    with _lock:
        old, _plugins = _plugins, plugins
    return old
