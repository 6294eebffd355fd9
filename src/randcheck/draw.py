"""Where a draw happens: :func:`draw` and :func:`verify`.

A draw is a pure function of the committed pools, the items and a public seed.
For each item, the covered entities are found in the entity pool, the item's
policy states their exact inclusion probabilities, and the systematic sampler
draws from the item's own labelled sub-streams (``["item", code, "order"]`` and
``["item", code, "start"]``). Entities drawn for several items become one task:
one visit covering all of them (合并检查、一次办结).

The :class:`DrawResult` carries a JSON record from which anyone holding the
same pools can replay the draw with :func:`verify`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ._version import __version__
from .canonical import canonical_json
from .errors import InputError, VerificationError
from .model import Conflict, Entity, Inspector, Item, Task
from .plugins import Plugins, get_plugins
from .policies import Design, RiskWeighted
from .pools import EntityPool, InspectorPool, conflicts_record
from .sampling import systematic
from .stream import SPEC, Seed, as_seed
from .teams import TeamAssignment, assign_teams, substitute

__all__ = ["DrawResult", "ItemDraw", "TeamInputs", "draw", "replay", "verify"]


@attrs.frozen(eq=False)
class ItemDraw:
    """The draw for one item: who was covered, the design, who was drawn.

    ``covered`` and ``positions`` are positions in the entity pool's canonical
    order; ``design`` is indexed like ``covered``.
    """

    item: Item
    pool: EntityPool = attrs.field(repr=False)
    covered: npt.NDArray[np.intp]
    design: Design
    start: int
    positions: npt.NDArray[np.intp]

    @functools.cached_property
    def selected(self) -> tuple[str, ...]:
        """Ids drawn, in canonical order."""
        return tuple(self.pool.ids[self.positions].tolist())

    def to_record(self) -> dict[str, Any]:
        """JSON-ready summary; big integers are decimal strings."""
        return {
            "item": self.item.code,
            "covered": int(self.covered.shape[0]),
            "n": self.design.n,
            "denominator": str(self.design.denominator),
            "start": str(self.start),
            "selected": list(self.selected),
        }


@attrs.frozen(eq=False)
class TeamInputs:
    """What the team draw was given besides the pools: kept for :meth:`DrawResult.recuse`."""

    conflicts: tuple[Conflict, ...] = ()
    history: Mapping[str, tuple[str, ...]] | None = None
    max_tasks: int | Mapping[str, int] | None = None
    max_pair_probability: Any = None
    plugins: Plugins | None = None

    def extra_conflicts(self, pool: EntityPool) -> Any:
        """The plugins' conflict hook as ``f(task, inspector) -> reasons``, or ``None``."""
        plugins = self.plugins
        if plugins is None or not plugins.adds_conflicts():
            return None
        return lambda task, inspector: plugins.conflicts(task, inspector, pool[task.entity_id])


@attrs.frozen(eq=False, repr=False)
class DrawResult:
    """What :func:`draw` returns: selections, tasks with their teams, and the record."""

    seed: Seed
    on: dt.date
    items: tuple[Item, ...]
    entities: EntityPool
    inspectors: InspectorPool | None
    item_draws: tuple[ItemDraw, ...]
    created_at: str
    plugins: tuple[dict[str, Any], ...] = ()
    teams: TeamAssignment | None = None
    team_inputs: TeamInputs = attrs.field(factory=TeamInputs, repr=False)
    merged: tuple[Task, ...] | None = attrs.field(default=None, repr=False)
    """The tasks without teams, when already computed (draw() passes them on)."""

    def _merged(self) -> tuple[Task, ...]:
        return _merge_tasks(self.item_draws, self.entities) if self.merged is None else self.merged

    @functools.cached_property
    def tasks(self) -> tuple[Task, ...]:
        """One task per drawn entity, covering every item drawn for it, in canonical order.

        When inspectors were given, each task carries its ``team``.
        """
        tasks = self._merged()
        if self.teams is None:
            return tasks
        return tuple(attrs.evolve(t, team=self.teams.teams.get(t.entity_id, ())) for t in tasks)

    def team_probabilities(self) -> dict[tuple[str, str], float]:
        """``{(entity id, inspector id): probability}``, stated before the team draw.

        The exact values are ``self.teams.probabilities.probability(entity, inspector)``
        (fractions); pairs not listed have probability 0.
        """
        if self.teams is None:
            raise ValueError("no teams were drawn: pass inspectors to draw()")
        return self.teams.probabilities.as_dict()

    def recuse(self, entity_id: str, inspector_id: str, reason: str) -> DrawResult:
        """Recuse an inspector from a task and draw a substitute (回避, 递补抽取).

        The substitute comes from the labelled sub-stream
        ``["substitute", entity, inspector, k]`` under the same rules as the
        team draw; the substitution is appended to the record, and
        :func:`verify` replays it. Returns the new result (results are immutable).
        """
        if self.teams is None or self.inspectors is None:
            raise ValueError("no teams were drawn: pass inspectors to draw()")
        base = self._merged()
        inputs = self.team_inputs
        new, _entry = substitute(
            self.teams,
            base,
            {i.code: i for i in self.items},
            self.inspectors,
            seed=self.seed,
            on=self.on,
            entity_id=entity_id,
            inspector_id=inspector_id,
            reason=reason,
            conflicts=inputs.conflicts,
            history=inputs.history,
            extra_conflicts=inputs.extra_conflicts(self.entities),
        )
        return attrs.evolve(self, teams=new)

    def _item_draw(self, item_code: str) -> ItemDraw:
        for item_draw in self.item_draws:
            if item_draw.item.code == item_code:
                return item_draw
        raise KeyError(f"no item {item_code!r} in this draw")

    def selected(self, item_code: str) -> tuple[str, ...]:
        """Ids drawn for ``item_code``, in canonical order."""
        return self._item_draw(item_code).selected

    def inclusion_probabilities(self, item_code: str) -> dict[str, float]:
        """``{entity id: π}`` for every entity the item covers."""
        d = self._item_draw(item_code)
        ids = self.entities.ids[d.covered].tolist()
        return dict(zip(ids, d.design.probabilities.tolist(), strict=False))

    def design(self, item_code: str) -> Design:
        """The exact design (integer numerators over one denominator) of an item."""
        return self._item_draw(item_code).design

    def task(self, entity_id: str) -> Task:
        """The task (visit) for ``entity_id``."""
        for task in self.tasks:
            if task.entity_id == entity_id:
                return task
        raise KeyError(f"entity {entity_id!r} was not drawn")

    @property
    def record(self) -> dict[str, Any]:
        """The JSON-serializable record that :func:`verify` replays.

        No floats; integers that may exceed 2**53 are decimal strings.
        """
        return {
            "spec": SPEC,
            "randcheck": __version__,
            "seed": self.seed.material(),
            "seed_key": self.seed.key.hex(),
            "on": self.on.isoformat(),
            "pools": {
                "entities": {"digest": self.entities.digest, "size": len(self.entities)},
                "inspectors": None
                if self.inspectors is None
                else {"digest": self.inspectors.digest, "size": len(self.inspectors)},
            },
            "conflicts": None
            if self.teams is None
            else conflicts_record(self.team_inputs.conflicts),
            "items": [item.to_record() for item in self.items],
            "draws": [d.to_record() for d in self.item_draws],
            "tasks": [t.to_record() for t in self.tasks],
            "teams": None if self.teams is None else self.teams.to_record(),
            "plugins": list(self.plugins),
            "created_at": self.created_at,
        }

    def to_json(self) -> str:
        """The record as canonical JSON text."""
        return canonical_json(self.record).decode("utf-8")

    def to_records(self) -> list[dict[str, Any]]:
        """One row per (item, entity drawn), with the entity's inclusion probability."""
        from ._repr import result_to_records

        return result_to_records(self)

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame`` (needs ``randcheck[pandas]``)."""
        from ._repr import result_to_pandas

        return result_to_pandas(self)

    def _repr_html_(self) -> str:
        from ._repr import draw_result_html

        return draw_result_html(self)

    def __repr__(self) -> str:
        drawn = sum(len(d.selected) for d in self.item_draws)
        return (
            f"<DrawResult {len(self.items)} items, {drawn} selections, "
            f"{len(self.tasks)} tasks, seed {self.seed.key.hex()[:8]}…>"
        )


def check_items(items: Iterable[Item]) -> tuple[Item, ...]:
    """The items sorted by code; raises :class:`InputError` on a non-item or a repeated code."""
    checked = tuple(items)
    seen: set[str] = set()
    for item in checked:
        if not isinstance(item, Item):
            raise InputError(f"expected an Item, got {type(item).__name__}")
        if item.code in seen:
            raise InputError("the item list names this item twice", id=item.code)
        seen.add(item.code)
    return tuple(sorted(checked, key=lambda i: i.code))


#: Hooks whose answers change what is drawn; plugins implementing them are recorded.
DRAW_HOOKS = ("randcheck_risk_weight", "randcheck_conflicts")


def draw_plugins(plugins: Plugins) -> list[dict[str, Any]]:
    """The plugins that can change a draw (risk weights, conflicts), for the record."""
    return [
        {"name": info.name, "version": info.version}
        for info in plugins.list_plugins()
        if not info.builtin and set(info.hooks) & set(DRAW_HOOKS)
    ]


def _design(item: Item, sub: EntityPool, plugins: Plugins) -> Design:
    n = item.sample_size(len(sub))
    policy = item.policy
    if isinstance(policy, RiskWeighted) and plugins.overrides_risk_weight():
        return policy.design(sub, n, plugins.risk_weights(item, sub, policy.weights(sub)))
    return policy.design(sub, n)


def _draw_item(item: Item, pool: EntityPool, seed: Seed, plugins: Plugins) -> ItemDraw:
    covered = pool.covered_by(item)
    sub = pool.take(covered)
    design = _design(item, sub, plugins)
    picked, start = systematic(
        design, seed.stream("item", item.code, "order"), seed.stream("item", item.code, "start")
    )
    return ItemDraw(
        item=item,
        pool=pool,
        covered=covered,
        design=design,
        start=start,
        positions=covered[picked],
    )


def _recorded_conflicts(teams: Mapping[str, Any] | None) -> tuple[Conflict, ...]:
    """The recusals a team record applied before any substitution, as conflicts."""
    if not teams:
        return ()
    substituted = {(s["entity"], s["recused"]) for s in teams.get("substitutions", ())}
    return tuple(
        Conflict(inspector_id=x["inspector"], entity_id=x["entity"], reason=reason)
        for x in teams.get("exclusions", ())
        if (x["entity"], x["inspector"]) not in substituted
        for reason in x["reasons"]
    )


def _merge_tasks(item_draws: Sequence[ItemDraw], pool: EntityPool) -> tuple[Task, ...]:
    """Group selections by entity (item draws are in item-code order)."""
    if not any(d.positions.size for d in item_draws):
        return ()
    positions = np.concatenate([d.positions for d in item_draws])
    which = np.repeat(np.arange(len(item_draws)), [d.positions.size for d in item_draws])
    order = np.lexsort((which, positions))
    positions, which = positions[order], which[order]
    starts = np.flatnonzero(np.diff(positions, prepend=-1))
    ids = pool.ids[positions[starts]].tolist()
    groups = np.split(which, starts[1:])
    tasks = []
    for ident, group in zip(ids, groups, strict=True):
        items = [item_draws[g].item for g in group.tolist()]
        tasks.append(
            Task(
                entity_id=ident,
                items=tuple(i.code for i in items),
                stations=tuple(sorted({i.station for i in items})),
            )
        )
    return tuple(tasks)


def draw(
    items: Iterable[Item],
    entities: EntityPool | Iterable[Entity | Mapping[str, Any]],
    inspectors: InspectorPool | Iterable[Inspector | Mapping[str, Any]] | None = None,
    *,
    seed: Seed | str | int | Mapping[str, Any],
    on: dt.date | str | None = None,
    conflicts: Iterable[Conflict] = (),
    history: Mapping[str, Iterable[str]] | None = None,
    max_tasks: int | Mapping[str, int] | None = None,
    max_pair_probability: Any = None,
    created_at: str | None = None,
    plugins: Plugins | None = None,
    notify: bool = True,
    plugin_conflicts: bool = True,
) -> DrawResult:
    """Draw the entities to inspect for every item, reproducibly from ``seed``.

    Parameters
    ----------
    items
        The items of the round (:class:`Item`); codes must be unique.
    entities
        The entity pool, or records / :class:`Entity` objects to build it from.
    inspectors
        The inspector pool. When given, every task gets a team drawn at random
        with exact stated odds (docs/teams.md); its digest is recorded.
    seed
        Public seed material: a text or integer (kept as its decimal string), a
        :class:`Seed`, or recorded seed material.
    on
        The date of the draw (default: today), recorded; inspectors' certificates
        must be valid on it.
    conflicts
        Conflicts of interest (回避): each keeps its inspector off its entity's
        team, and its reason is recorded.
    history
        Entity id → inspectors who inspected it last round (rotation: excluded).
    max_tasks, max_pair_probability
        An explicit workload cap (one for all, or per inspector id) and an
        anti-collusion cap on any inspector's probability of any task.
    created_at
        Timestamp to record (default: now, UTC); the only field that differs
        between two otherwise identical draws.
    plugins
        The plugins to consult (default: the installed ones). Plugins that
        adjust risk weights or add conflicts are named in the record.
    notify
        Call the ``randcheck_after_draw`` hook when done (``verify`` replays
        without notifying).
    plugin_conflicts
        Consult the plugins' ``randcheck_conflicts`` vetoes for teams (``verify``
        turns this off when it replays from the recorded recusals).

    Returns
    -------
    DrawResult
        with ``selected(code)``, ``inclusion_probabilities(code)``, ``tasks``
        and ``record``.
    """
    seed_obj = as_seed(seed)
    day = dt.date.fromisoformat(on) if isinstance(on, str) else (on or dt.date.today())
    pool = EntityPool.coerce(entities)
    inspector_pool = InspectorPool.coerce(inspectors)
    checked = check_items(items)
    plugins = plugins or get_plugins()
    item_draws = tuple(_draw_item(item, pool, seed_obj, plugins) for item in checked)
    stamp = created_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    inputs = TeamInputs(
        conflicts=tuple(conflicts),
        history=None if history is None else {k: tuple(v) for k, v in history.items()},
        max_tasks=max_tasks,
        max_pair_probability=max_pair_probability,
        plugins=plugins if plugin_conflicts else None,
    )
    teams = merged = None
    if inspector_pool is not None:
        merged = _merge_tasks(item_draws, pool)
        teams = assign_teams(
            merged,
            {i.code: i for i in checked},
            inspector_pool,
            seed=seed_obj,
            on=day,
            conflicts=inputs.conflicts,
            history=inputs.history,
            extra_conflicts=inputs.extra_conflicts(pool),
            max_tasks=max_tasks,
            max_pair_probability=max_pair_probability,
        )
    result = DrawResult(
        seed=seed_obj,
        on=day,
        items=checked,
        entities=pool,
        inspectors=inspector_pool,
        item_draws=item_draws,
        created_at=stamp,
        plugins=tuple(draw_plugins(plugins)),
        teams=teams,
        team_inputs=inputs,
        merged=merged,
    )
    if notify:
        plugins.after_draw(result)
    return result


def replay(
    record: Mapping[str, Any],
    entities: EntityPool | Iterable[Entity | Mapping[str, Any]],
    inspectors: InspectorPool | Iterable[Inspector | Mapping[str, Any]] | None = None,
    *,
    conflicts: Iterable[Conflict] | None = None,
    history: Mapping[str, Iterable[str]] | None = None,
    plugins: Plugins | None = None,
) -> DrawResult:
    """Redo the draw a record describes, with its items, seed, date and options.

    Recorded substitutions are applied in order. Teams are drawn with
    ``conflicts`` (and ``history`` and the plugins' vetoes) when given, else
    with the recusals the record lists. This checks nothing: :func:`verify`
    compares the replay with the record; :meth:`DrawResult.recuse` on the
    replay draws a later substitute.
    """
    pool = EntityPool.coerce(entities)
    teams = record.get("teams")
    options = (teams or {}).get("options", {})
    result = draw(
        [Item.from_record(r) for r in record.get("items", ())],
        pool,
        InspectorPool.coerce(inspectors) if teams is not None else None,
        seed=as_seed(record["seed"]),
        on=record.get("on"),
        conflicts=_recorded_conflicts(teams) if conflicts is None else conflicts,
        history=None if conflicts is None else history,
        max_tasks=options.get("max_tasks"),
        max_pair_probability=options.get("max_pair_probability"),
        created_at=record.get("created_at"),
        plugins=plugins,
        notify=False,
        plugin_conflicts=conflicts is not None,
    )
    for step in (teams or {}).get("substitutions", ()):
        result = result.recuse(step["entity"], step["recused"], step["reason"])
    return result


def verify(
    record: Mapping[str, Any],
    entities: EntityPool | Iterable[Entity | Mapping[str, Any]],
    inspectors: InspectorPool | Iterable[Inspector | Mapping[str, Any]] | None = None,
    *,
    items: Iterable[Item] | None = None,
    conflicts: Iterable[Conflict] | None = None,
    history: Mapping[str, Iterable[str]] | None = None,
    plugins: Plugins | None = None,
) -> bool:
    """Replay a published draw record; return True or raise :class:`VerificationError`.

    The record's pool digests must match ``entities`` (and ``inspectors``), the
    recorded items must match ``items`` when given, and redrawing with the
    recorded seed must give exactly the recorded selections, tasks, teams,
    stated odds and substitutions. The error lists every difference found.

    Teams are replayed with ``conflicts`` (and ``history`` and the installed
    plugins' vetoes) when given: that also checks the recorded recusals. Without
    ``conflicts``, the recusals recorded in the draw are taken as given, which
    checks everything random but not the recusal list itself.
    """
    if record.get("spec") != SPEC:
        raise VerificationError(
            f"this record follows {record.get('spec')!r}; this randcheck replays {SPEC!r}"
        )
    pool = EntityPool.coerce(entities)
    inspector_pool = InspectorPool.coerce(inspectors)
    differences: list[str] = []
    pools = record.get("pools", {})
    if pools.get("entities", {}).get("digest") != pool.digest:
        differences.append(
            f"entity pool digest: record {pools.get('entities', {}).get('digest')}, "
            f"given {pool.digest} ({len(pool)} entities)"
        )
    recorded_inspectors = pools.get("inspectors")
    if recorded_inspectors is not None:
        if inspector_pool is None:
            differences.append("the record names an inspector pool; none was given")
        elif recorded_inspectors.get("digest") != inspector_pool.digest:
            differences.append(
                f"inspector pool digest: record {recorded_inspectors.get('digest')}, "
                f"given {inspector_pool.digest}"
            )
    recorded_items = tuple(Item.from_record(r) for r in record.get("items", ()))
    if items is not None:
        given = {i.code: canonical_json(i.to_record()) for i in items}
        for item in recorded_items:
            if item.code not in given:
                differences.append(f"item {item.code}: in the record, not in the given items")
            elif given.pop(item.code) != canonical_json(item.to_record()):
                differences.append(f"item {item.code}: parameters differ from the given items")
        differences.extend(f"item {code}: given, not in the record" for code in given)
    if conflicts is not None:
        conflicts = tuple(conflicts)
        if record.get("conflicts") != conflicts_record(conflicts):
            differences.append(
                f"conflict table: record {record.get('conflicts')}, "
                f"given {conflicts_record(conflicts)}"
            )
    seed = as_seed(record["seed"])
    if record.get("seed_key") != seed.key.hex():
        differences.append("seed key does not match the seed material")
    plugins = plugins or get_plugins()
    if list(record.get("plugins", [])) != draw_plugins(plugins):
        differences.append(
            f"plugins that change draws: record {record.get('plugins', [])}, "
            f"installed {draw_plugins(plugins)}"
        )
    if differences:
        raise VerificationError("the record does not match the inputs", tuple(differences))
    recorded_teams = record.get("teams")
    again = replay(
        record, pool, inspector_pool, conflicts=conflicts, history=history, plugins=plugins
    ).record
    for old, new in zip(record.get("draws", ()), again["draws"], strict=False):
        if old != new:
            added = sorted(set(new["selected"]) - set(old.get("selected", ())))
            gone = sorted(set(old.get("selected", ())) - set(new["selected"]))
            differences.append(
                f"item {new['item']}: selection differs (replay adds {added}, drops {gone})"
                if added or gone
                else f"item {new['item']}: recorded {old}, replayed {new}"
            )
    if len(record.get("draws", ())) != len(again["draws"]):
        differences.append("the record lists a different number of item draws")
    if not differences and recorded_teams != again["teams"]:
        old_teams = (recorded_teams or {}).get("teams", {})
        new_teams = (again["teams"] or {}).get("teams", {})
        changed = sorted(
            e for e in set(old_teams) | set(new_teams) if old_teams.get(e) != new_teams.get(e)
        )
        differences.append(
            f"teams differ from the replay for {', '.join(changed[:10])}"
            if changed
            else "the team record (odds, recusals or options) differs from the replay"
        )
    if not differences and record.get("tasks") != again["tasks"]:
        differences.append("tasks differ from the replay")
    if differences:
        raise VerificationError("the draw does not replay", tuple(differences))
    return True
