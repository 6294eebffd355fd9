"""Inspector teams: always feasible when possible, exact stated odds, recusal and substitutes.

After the entities are drawn, every task (one visit to one entity) gets a team of
certified inspectors. :func:`assign_teams` does it in four steps, all specified
in ``docs/teams.md`` precisely enough to reimplement:

1. **Rules as a network flow.** Each task has one *station slot* per station
   concerned, filled by an inspector of that station who holds every specialty
   its items of that station require, plus *any* slots (any candidate of a
   concerned station) up to the team size. Inspectors who cannot be told apart
   by any rule (same station, same cap, same slot on every task) form a class.
   ``source → task → (task, slot group) → class → sink`` with integer
   capacities is a flow network; :func:`scipy.sparse.csgraph.maximum_flow`
   decides exactly whether every task can be staffed, and when not, the
   minimum cut names the tasks and the bottleneck (:class:`UnstaffableTasks`).
2. **Stated odds.** The most even fractional assignment ``P`` (per-task water
   filling; capped scaling when workload caps bind) is put on the integer grid
   ``1/2**grid_bits`` with every constraint exact.
3. **Dependent rounding, bit by bit.** At level ``j`` the edges whose numerator
   has bit ``j`` set form an even subgraph; it is split into cycles and each
   cycle moves by ``±2**j`` on one fair coin read from the labelled sub-stream
   ``("teams", "coin", j)``. Every edge's expectation is kept, so
   ``Pr[inspector i on task t] = P[t, i]`` exactly, team sizes and slot
   requirements hold, and every inspector's task count is ``⌊L⌋`` or ``⌈L⌉`` of
   its expected load ``L``.
4. **Members of a class** take the class's places in rounds, every member once
   a round, in an order drawn from ``("teams", "members", first member id)``.

:func:`substitute` recuses one inspector from one task (递补抽取) and draws a
substitute uniformly among the valid candidates from
``("substitute", entity_id, inspector_id, k)``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import attrs
import numpy as np
import numpy.typing as npt

from .canonical import MAX_SAFE_INTEGER, canonical_id, nfc
from .errors import InfeasibleAssignment, InputError
from .model import Conflict, Inspector, Item, Task
from .pools import InspectorPool
from .stream import SPEC, Seed, Stream, as_seed

__all__ = [
    "DEFAULT_GRID_BITS",
    "Exclusion",
    "PairCapTooSmall",
    "TeamAssignment",
    "TeamOdds",
    "UnstaffableTasks",
    "assign_teams",
    "substitute",
]

#: Default grid: stated odds are multiples of ``1 / (multiplicity * 2**16)``.
DEFAULT_GRID_BITS = 16
#: Largest supported grid.
MAX_GRID_BITS = 40
#: Reason recorded for an exclusion by the rotation rule (``history``).
ROTATION = "rotation"
#: Reason recorded for a conflict of interest given without a reason.
CONFLICT = "conflict of interest (回避)"

_INT32_MAX = (1 << 31) - 1
_CLIP = 1 << 30
_MAX_CELLS = 1 << 28
_UNCAPPED_KEY = 1 << 62

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
ExtraConflicts = Callable[[Task, Inspector], Iterable[str]]
MaxTasks = int | Mapping[str, int] | None


class UnstaffableTasks(InfeasibleAssignment):
    """No valid team assignment exists; the minimum cut names the bottleneck.

    Attributes
    ----------
    tasks : tuple of str
        Entity ids of the tasks on the source side of a minimum cut: these
        tasks alone already cannot all be staffed.
    shortfall : int
        How many inspector places cannot be filled (total demand minus the
        maximum flow).
    bottlenecks : tuple of dict
        One entry per kind of place that is short: the requirement, the tasks,
        the inspectors who could fill it and those recused or ineligible.
    """

    def __init__(
        self,
        message: str,
        *,
        tasks: Sequence[str] = (),
        shortfall: int = 0,
        bottlenecks: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.tasks = tuple(tasks)
        self.shortfall = int(shortfall)
        self.bottlenecks = tuple(dict(b) for b in bottlenecks)


class PairCapTooSmall(InfeasibleAssignment):
    """``max_pair_probability`` is below the smallest feasible pair cap.

    Attributes
    ----------
    requested : Fraction
        The cap asked for.
    smallest : tuple of Fraction
        ``(low, high)``: the smallest feasible cap is in ``(low, high]``; both are
        equal when it is known exactly (no workload cap binds).
    """

    def __init__(
        self, message: str, *, requested: Fraction, smallest: tuple[Fraction, Fraction]
    ) -> None:
        super().__init__(message)
        self.requested = requested
        self.smallest = smallest


class Exclusion(NamedTuple):
    """An inspector recused from a task, with every reason that applied (sorted).

    ``reasons`` are conflict reasons, ``"rotation"``, plugin vetoes or a
    substitution's reason.
    """

    entity_id: str
    inspector_id: str
    reasons: tuple[str, ...]

    def to_record(self) -> dict[str, Any]:
        """JSON-ready form: ``{"entity", "inspector", "reasons"}``."""
        return {
            "entity": self.entity_id,
            "inspector": self.inspector_id,
            "reasons": list(self.reasons),
        }


def _sparse() -> Any:
    """scipy.sparse, imported on first use so that ``import randcheck`` stays light."""
    import scipy.sparse

    return scipy.sparse


def _csgraph() -> Any:
    """scipy.sparse.csgraph, imported on first use."""
    import scipy.sparse.csgraph

    return scipy.sparse.csgraph


def _json_int(value: int) -> int | str:
    return value if abs(value) <= MAX_SAFE_INTEGER else str(value)


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


# --------------------------------------------------------------------------------------
# The instance: tasks, slot groups, candidates, classes
# --------------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class _Instance:
    """Everything the rules say, as arrays (tasks and inspectors in canonical order)."""

    tasks: tuple[Task, ...]
    entity_ids: tuple[str, ...]
    team_size: IntArray  # [T]
    stations: tuple[str, ...]
    requirements: tuple[tuple[tuple[int, tuple[str, ...]], ...], ...]  # per task
    inspectors: tuple[Inspector, ...]
    inspector_ids: tuple[str, ...]
    inspector_station: IntArray  # [I], -1 if the station is not known
    eligible: BoolArray  # [I]
    ineligible: dict[str, str]
    caps: IntArray  # [I], -1 = no cap
    membership: npt.NDArray[np.int16]  # [T, I] slot-group code or -1
    exclusions: tuple[Exclusion, ...]
    row_task: IntArray  # [R]
    row_code: IntArray  # [R]
    row_lower: IntArray  # [R]
    row_of: IntArray  # [T, 2 * stations]
    class_members: tuple[IntArray, ...]
    class_mu: IntArray  # [C]
    class_cap: IntArray  # [C] per member, -1 = none
    class_of: IntArray  # [I], -1 if never a candidate
    pair_row: IntArray  # [E]
    pair_cls: IntArray  # [E]

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def n_rows(self) -> int:
        return int(self.row_task.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.class_members)

    @property
    def n_pairs(self) -> int:
        return int(self.pair_row.shape[0])

    def row_members(self) -> IntArray:
        """Number of candidate inspectors (members, with multiplicity) of each row."""
        counts = np.bincount(
            self.pair_row, weights=self.class_mu[self.pair_cls], minlength=self.n_rows
        )
        return counts.astype(np.int64)

    def requirement_text(self, row: int) -> str:
        code = int(self.row_code[row])
        station = self.stations[code // 2]
        specs = dict(self.requirements[int(self.row_task[row])]).get(code // 2, ())
        if code % 2 == 0:
            if specs:
                return f"a {station} inspector holding {'+'.join(specs)}"
            return f"a {station} inspector"
        return f"another {station} inspector"


def _ineligible_reason(inspector: Inspector, on: dt.date) -> str:
    if not inspector.active:
        return "inactive"
    if not inspector.certificate_no:
        return "no enforcement certificate"
    if inspector.certificate_valid_until is None:
        return "certificate validity unknown"
    return f"certificate expired {inspector.certificate_valid_until.isoformat()} (before {on})"


def _as_pool(inspectors: InspectorPool | Iterable[Inspector]) -> InspectorPool:
    if isinstance(inspectors, InspectorPool):
        return inspectors
    return InspectorPool(list(inspectors))


def _caps(max_tasks: MaxTasks, ids: Sequence[str]) -> IntArray:
    caps = np.full(len(ids), -1, dtype=np.int64)
    if max_tasks is None:
        return caps
    if isinstance(max_tasks, Mapping):
        index = {ident: k for k, ident in enumerate(ids)}
        for key, value in max_tasks.items():
            ident = canonical_id(key)
            if ident not in index:
                raise InputError("max_tasks names an inspector not in the pool", id=ident)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(
                    f"max_tasks must be a non-negative integer, got {value!r}", id=ident
                )
            caps[index[ident]] = value
        return caps
    if isinstance(max_tasks, bool) or not isinstance(max_tasks, int) or max_tasks < 0:
        raise InputError(f"max_tasks must be a non-negative integer, got {max_tasks!r}")
    caps[:] = max_tasks
    return caps


def _build_instance(
    tasks: Sequence[Task],
    items: Mapping[str, Item],
    inspectors: InspectorPool | Iterable[Inspector],
    *,
    on: dt.date,
    conflicts: Iterable[Conflict],
    history: Mapping[str, Iterable[str]] | None,
    extra_conflicts: ExtraConflicts | None,
    max_tasks: MaxTasks,
) -> _Instance:
    pool = _as_pool(inspectors)
    task_list = sorted(tasks, key=lambda t: t.entity_id)
    entity_ids = tuple(t.entity_id for t in task_list)
    for a, b in itertools.pairwise(entity_ids):
        if a == b:
            raise InputError("two tasks for the same entity (one visit per entity)", id=a)
    insp = tuple(pool)
    ids = tuple(i.id for i in insp)
    if task_list and not insp:
        raise InfeasibleAssignment(
            f"the inspector pool is empty: {len(task_list)} task(s) need inspectors"
        )
    caps = _caps(max_tasks, ids)

    # Items of each task, stations, team sizes, specialty requirements.
    task_items: list[tuple[Item, ...]] = []
    station_set: set[str] = {i.station for i in insp}
    seen: dict[tuple[str, ...], tuple[Item, ...]] = {}
    for task in task_list:
        its = seen.get(task.items)
        if its is None:
            found: list[Item] = []
            for code in task.items:
                try:
                    found.append(items[code])
                except KeyError:
                    raise InputError(
                        f"the task names an unknown item {code!r}", id=task.entity_id
                    ) from None
            if not found:
                raise InputError("the task has no items", id=task.entity_id)
            its = seen[task.items] = tuple(found)
            station_set.update(it.station for it in its)
        task_items.append(its)
    stations = tuple(sorted(station_set))
    station_code = {s: k for k, s in enumerate(stations)}
    team_size = np.zeros(len(task_list), dtype=np.int64)
    requirements: list[tuple[tuple[int, tuple[str, ...]], ...]] = []
    rules: dict[tuple[Item, ...], tuple[int, tuple[tuple[int, tuple[str, ...]], ...]]] = {}
    for t, its in enumerate(task_items):
        rule = rules.get(its)
        if rule is None:
            names = sorted({it.station for it in its})
            rule = rules[its] = (
                max(max(it.team_size for it in its), len(names)),
                tuple(
                    (
                        station_code[s],
                        tuple(
                            sorted({it.specialty for it in its if it.station == s and it.specialty})
                        ),
                    )
                    for s in names
                ),
            )
        team_size[t] = rule[0]
        requirements.append(rule[1])

    n_t, n_i = len(task_list), len(insp)
    if n_t * n_i > _MAX_CELLS:
        raise InputError(
            f"{n_t:,} tasks × {n_i:,} inspectors is too large for one assignment; "
            "assign teams per station or per batch of tasks"
        )
    inspector_station = np.array([station_code[i.station] for i in insp], dtype=np.int64)
    eligible = np.array([i.eligible_on(on) for i in insp], dtype=bool) & (caps != 0)
    ineligible = {
        i.id: (_ineligible_reason(i, on) if not i.eligible_on(on) else "max_tasks is 0")
        for k, i in enumerate(insp)
        if not eligible[k]
    }

    # Slot-group code of inspector i on task t: 2*station + (0 holder, 1 other), -1 none.
    membership = np.full((n_t, n_i), -1, dtype=np.int16)
    combos: dict[tuple[int, tuple[str, ...]], list[int]] = {}
    for t, reqs in enumerate(requirements):
        for req in reqs:
            combos.setdefault(req, []).append(t)
    for (s, specs), combo_tasks in combos.items():
        cols = np.flatnonzero(eligible & (inspector_station == s))
        if cols.size == 0:
            continue
        wanted = set(specs)
        holder = np.array([wanted <= set(insp[i].specialties) for i in cols], dtype=bool)
        codes = (2 * s + np.where(holder, 0, 1)).astype(np.int16)
        membership[np.ix_(np.asarray(combo_tasks, dtype=np.int64), cols)] = codes[None, :]

    # Exclusions (回避): conflicts, rotation, plugin vetoes; every reason kept.
    task_index = {e: t for t, e in enumerate(entity_ids)}
    insp_index = {ident: k for k, ident in enumerate(ids)}
    conflict_list = list(conflicts)
    ex_t = [task_index.get(c.entity_id, -1) for c in conflict_list]
    ex_k = [insp_index.get(c.inspector_id, -1) for c in conflict_list]
    ex_r = [c.reason or CONFLICT for c in conflict_list]
    if history:
        for entity, previous in history.items():
            t_at = task_index.get(canonical_id(entity), -1)
            for ident in previous:
                ex_t.append(t_at)
                ex_k.append(insp_index.get(canonical_id(ident), -1))
                ex_r.append(ROTATION)
    if extra_conflicts is not None:
        cand_t, cand_i = np.nonzero(membership >= 0)
        for t, k in zip(cand_t.tolist(), cand_i.tolist(), strict=True):
            for r in extra_conflicts(task_list[t], insp[k]):
                text = nfc(str(r)).strip()
                if text:
                    ex_t.append(t)
                    ex_k.append(k)
                    ex_r.append(text)
    exclusions: tuple[Exclusion, ...] = ()
    et = np.asarray(ex_t, dtype=np.int64)
    ek = np.asarray(ex_k, dtype=np.int64)
    valid = np.flatnonzero((et >= 0) & (ek >= 0))
    if valid.size:
        key = et[valid] * n_i + ek[valid]
        order = valid[np.argsort(key, kind="stable")]
        key = et[order] * n_i + ek[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        ends = np.r_[starts[1:], key.size]
        ut, uk = et[order[starts]], ek[order[starts]]
        membership[ut, uk] = -1
        texts = [ex_r[j] for j in order.tolist()]
        reasons_of = [
            (texts[a],) if b - a == 1 else tuple(sorted(set(texts[a:b])))
            for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
        ]
        exclusions = tuple(
            map(
                Exclusion,
                [entity_ids[t] for t in ut.tolist()],
                [ids[k] for k in uk.tolist()],
                reasons_of,
            )
        )

    # Classes of interchangeable inspectors, in canonical order of their signature.
    usable = eligible & (membership >= 0).any(axis=0)
    cols = np.flatnonzero(usable)
    signature: dict[tuple[int, bytes], list[int]] = {}
    if cols.size:
        vectors = (membership[:, cols].astype(np.int64) + 1).astype(">u2")
        for j, k in enumerate(cols.tolist()):
            cap_key = int(caps[k]) if caps[k] >= 0 else _UNCAPPED_KEY
            signature.setdefault((cap_key, vectors[:, j].tobytes()), []).append(k)
    ordered = sorted(signature.items())
    class_members = tuple(np.asarray(m, dtype=np.int64) for _, m in ordered)
    class_mu = np.array([m.size for m in class_members], dtype=np.int64)
    class_cap = np.array([caps[m[0]] for m in class_members], dtype=np.int64)
    class_of = np.full(n_i, -1, dtype=np.int64)
    for c, members in enumerate(class_members):
        class_of[members] = c

    # Rows (slot groups): per task and station, the holders' group (one place
    # required) and, when a specialty is required, the other inspectors' group.
    n_codes = 2 * max(len(stations), 1)
    row_of = np.full((n_t, n_codes), -1, dtype=np.int64)
    r_task: list[int] = []
    r_code: list[int] = []
    r_lower: list[int] = []
    for t, reqs in enumerate(requirements):
        for s, specs in reqs:
            row_of[t, 2 * s] = len(r_task)
            r_task.append(t)
            r_code.append(2 * s)
            r_lower.append(1)
            if specs:
                row_of[t, 2 * s + 1] = len(r_task)
                r_task.append(t)
                r_code.append(2 * s + 1)
                r_lower.append(0)
    if class_members:
        firsts = np.array([m[0] for m in class_members], dtype=np.int64)
        by_class = membership[:, firsts]
        tt, cc = np.nonzero(by_class >= 0)
        rows = row_of[tt, by_class[tt, cc].astype(np.int64)]
        if rows.size > 1 and bool((rows[1:] < rows[:-1]).any()):
            order = np.argsort(rows, kind="stable")
            rows, cc = rows[order], cc[order]
        pair_row, pair_cls = rows.astype(np.int64), cc.astype(np.int64)
    else:
        pair_row = np.zeros(0, dtype=np.int64)
        pair_cls = np.zeros(0, dtype=np.int64)
    return _Instance(
        tasks=tuple(task_list),
        entity_ids=entity_ids,
        team_size=team_size,
        stations=stations,
        requirements=tuple(requirements),
        inspectors=insp,
        inspector_ids=ids,
        inspector_station=inspector_station,
        eligible=eligible,
        ineligible=ineligible,
        caps=caps,
        membership=membership,
        exclusions=exclusions,
        row_task=np.asarray(r_task, dtype=np.int64),
        row_code=np.asarray(r_code, dtype=np.int64),
        row_lower=np.asarray(r_lower, dtype=np.int64),
        row_of=row_of,
        class_members=class_members,
        class_mu=class_mu,
        class_cap=class_cap,
        class_of=class_of,
        pair_row=pair_row,
        pair_cls=pair_cls,
    )


# --------------------------------------------------------------------------------------
# Feasibility: maximum flow, and the minimum cut when it fails
# --------------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class _FlowNet:
    graph: Any  # scipy.sparse.csr_array
    tails: IntArray
    heads: IntArray
    caps: IntArray
    source: int
    sink: int
    demand: int


def _flow_network(inst: _Instance, *, pair_cap: IntArray | None = None, scale: int = 1) -> _FlowNet:
    """``S → task → row → class → Z``; capacities times ``scale`` (fractional checks)."""
    n_t, n_r, n_c = inst.n_tasks, inst.n_rows, inst.n_classes
    source, sink = 0, 1 + n_t + n_r + n_c
    lower_sum = np.bincount(inst.row_task, weights=inst.row_lower, minlength=n_t).astype(np.int64)
    members = inst.row_members()
    if n_c:
        uncapped = np.minimum(inst.class_mu * max(n_t, 1), int(inst.team_size.sum()))
        class_cap = np.where(inst.class_cap >= 0, inst.class_mu * inst.class_cap, uncapped)
    else:
        class_cap = np.zeros(0, dtype=np.int64)
    tails = np.concatenate(
        [
            np.zeros(n_t, dtype=np.int64),
            np.zeros(n_r, dtype=np.int64),
            1 + inst.row_task,
            1 + n_t + inst.pair_row,
            1 + n_t + n_r + np.arange(n_c, dtype=np.int64),
        ]
    )
    heads = np.concatenate(
        [
            1 + np.arange(n_t, dtype=np.int64),
            1 + n_t + np.arange(n_r, dtype=np.int64),
            1 + n_t + np.arange(n_r, dtype=np.int64),
            1 + n_t + n_r + inst.pair_cls,
            np.full(n_c, sink, dtype=np.int64),
        ]
    )
    pair = inst.class_mu[inst.pair_cls] * scale if pair_cap is None else pair_cap
    caps = np.concatenate(
        [
            (inst.team_size - lower_sum) * scale,
            inst.row_lower * scale,
            np.maximum(members - inst.row_lower, 0) * scale,
            pair,
            class_cap * scale,
        ]
    ).astype(np.int64)
    if caps.size and int(caps.max()) > _INT32_MAX:
        raise InputError("capacities exceed the range of the flow solver (2**31)")
    keep = caps > 0
    n = sink + 1
    # Edges are listed by tail, and by head within a tail, without repeats: the CSR
    # arrays can be written down directly.
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails[keep], minlength=n), out=indptr[1:])
    graph = _sparse().csr_array(
        (caps[keep].astype(np.int32), heads[keep].astype(np.int32), indptr.astype(np.int32)),
        shape=(n, n),
    )
    demand = int(inst.team_size.sum()) * scale
    if demand > _INT32_MAX:
        raise InputError("total demand exceeds the range of the flow solver (2**31)")
    return _FlowNet(graph, tails, heads, caps, source, sink, demand)


def _max_flow(net: _FlowNet) -> tuple[int, Any]:
    if net.demand == 0:
        return 0, None
    result = _csgraph().maximum_flow(net.graph, net.source, net.sink)
    return int(result.flow_value), result


def _source_side(net: _FlowNet, result: Any) -> BoolArray:
    """Nodes reachable from the source in the residual graph of a maximum flow."""
    n = net.sink + 1
    flow = _sparse().csr_array(result.flow)
    f = np.asarray(flow[net.tails, net.heads]).reshape(-1).astype(np.int64)
    fwd = f < net.caps
    back = f > 0
    rows = np.concatenate([net.tails[fwd], net.heads[back]])
    cols = np.concatenate([net.heads[fwd], net.tails[back]])
    residual = _sparse().csr_array((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(n, n))
    reach = _csgraph().breadth_first_order(
        residual, net.source, directed=True, return_predecessors=False
    )
    side = np.zeros(n, dtype=bool)
    side[reach] = True
    return side


def _listing(values: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f", … ({len(values)} in all)" if len(values) > limit else "")


def _explain(inst: _Instance, net: _FlowNet, flow_value: int, result: Any) -> UnstaffableTasks:
    side = _source_side(net, result)
    n_t, n_r = inst.n_tasks, inst.n_rows
    task_side = side[1 : 1 + n_t]
    row_side = side[1 + n_t : 1 + n_t + n_r]
    in_cut = task_side.copy()
    in_cut[inst.row_task[row_side]] = True
    shortfall = net.demand - flow_value
    cut_tasks = [inst.entity_ids[t] for t in np.flatnonzero(in_cut).tolist()]
    # One bottleneck per kind of place on the source side.
    kinds: dict[tuple[int, tuple[str, ...], int], list[int]] = {}
    for r in np.flatnonzero(row_side).tolist():
        t = int(inst.row_task[r])
        code = int(inst.row_code[r])
        specs = dict(inst.requirements[t]).get(code // 2, ())
        kinds.setdefault((code, specs if code % 2 == 0 else (), int(inst.row_lower[r])), []).append(
            r
        )
    bottlenecks: list[dict[str, Any]] = []
    clauses: list[str] = []
    exclusion_map = {(x.entity_id, x.inspector_id): x.reasons for x in inst.exclusions}
    for (code, specs, lower), rows in sorted(kinds.items()):
        station = code // 2
        tasks_k = sorted({int(inst.row_task[r]) for r in rows})
        ents = [inst.entity_ids[t] for t in tasks_k]
        want = set(specs)
        qualified = [
            k
            for k in range(len(inst.inspectors))
            if inst.inspector_station[k] == station
            and (code % 2 == 1 or want <= set(inst.inspectors[k].specialties))
        ]
        candidates = sorted(
            {int(k) for t in tasks_k for k in np.flatnonzero(inst.membership[t] == code).tolist()}
        )
        recused = sorted(
            (
                inst.inspector_ids[k],
                inst.entity_ids[t],
                exclusion_map[(inst.entity_ids[t], inst.inspector_ids[k])],
            )
            for t in tasks_k
            for k in qualified
            if (inst.entity_ids[t], inst.inspector_ids[k]) in exclusion_map
        )
        unfit = sorted(
            (inst.inspector_ids[k], inst.ineligible[inst.inspector_ids[k]])
            for k in qualified
            if inst.inspector_ids[k] in inst.ineligible
        )
        need = inst.requirement_text(rows[0])
        cand_text = [
            inst.inspector_ids[k]
            + (
                f" (at most {int(inst.caps[k])} task{'s' if inst.caps[k] != 1 else ''})"
                if inst.caps[k] >= 0
                else ""
            )
            for k in candidates
        ]
        places = len(rows) if lower else None
        clause = (
            f"{len(tasks_k)} task(s) ({_listing(ents)}) need {need}"
            + (f" ({places} place(s))" if places is not None else "")
            + f"; {len(candidates)} {'such' if lower else 'more'} inspector(s) are eligible"
            + (f" ({_listing(cand_text)})" if candidates else "")
        )
        if recused:
            clause += " after recusals of " + _listing(
                [f"{i} on {e} ({'; '.join(r)})" for i, e, r in recused]
            )
        if unfit:
            clause += "; not eligible: " + _listing([f"{i} ({r})" for i, r in unfit])
        clauses.append(clause)
        bottlenecks.append(
            {
                "requirement": need,
                "tasks": ents,
                "candidates": [inst.inspector_ids[k] for k in candidates],
                "recused": [
                    {"inspector": i, "entity": e, "reasons": list(r)} for i, e, r in recused
                ],
                "ineligible": [{"inspector": i, "reason": r} for i, r in unfit],
            }
        )
    short = np.flatnonzero(task_side & ~np.isin(np.arange(n_t), inst.row_task[row_side]))
    for t in short.tolist()[:8]:
        names = [inst.stations[s] for s, _ in inst.requirements[t]]
        cands = sorted({int(k) for k in np.flatnonzero(inst.membership[t] >= 0).tolist()})
        out = sorted(
            (x.inspector_id, x.reasons)
            for x in inst.exclusions
            if x.entity_id == inst.entity_ids[t]
            and inst.inspectors[inst.inspector_ids.index(x.inspector_id)].station in names
        )
        clause = (
            f"task {inst.entity_ids[t]} needs a team of {int(inst.team_size[t])} from "
            f"{'/'.join(names)}; {len(cands)} inspector(s) are eligible"
            + (f" ({_listing([inst.inspector_ids[k] for k in cands])})" if cands else "")
        )
        if out:
            clause += " after recusals of " + _listing([f"{i} ({'; '.join(r)})" for i, r in out])
        clauses.append(clause)
        bottlenecks.append(
            {
                "requirement": f"a team of {int(inst.team_size[t])}",
                "tasks": [inst.entity_ids[t]],
                "candidates": [inst.inspector_ids[k] for k in cands],
                "recused": [{"inspector": i, "reasons": list(r)} for i, r in out],
                "ineligible": [],
            }
        )
    if short.size > 8:
        clauses.append(f"… and {short.size - 8} more task(s) short of inspectors")
    message = (
        f"cannot staff {len(cut_tasks)} task(s) (short by {shortfall} inspector place(s)): "
        + "; ".join(clauses)
    )
    return UnstaffableTasks(message, tasks=cut_tasks, shortfall=shortfall, bottlenecks=bottlenecks)


def _check_feasible(inst: _Instance) -> None:
    if inst.n_tasks == 0:
        return
    net = _flow_network(inst)
    value, result = _max_flow(net)
    if value < net.demand:
        raise _explain(inst, net, value, result)


# --------------------------------------------------------------------------------------
# Stated odds: the most even assignment on the grid
# --------------------------------------------------------------------------------------


def _first_units(bucket: IntArray, eligible: BoolArray, units: IntArray) -> BoolArray:
    """Mark, in each bucket (entries sorted by bucket), the first ``units[b]`` eligible entries."""
    if bucket.size == 0:
        return np.zeros(0, dtype=bool)
    e = eligible.astype(np.int64)
    run = np.cumsum(e)
    counts = np.bincount(bucket, weights=e, minlength=units.size).astype(np.int64)
    before = np.cumsum(counts) - counts
    rank = run - before[bucket] - 1
    return eligible & (rank < units[bucket])


def _split_exact(bucket: IntArray, weight: IntArray, total: IntArray, denom: IntArray) -> IntArray:
    """Integer split of ``total[b]`` among entries in proportion ``weight / denom[b]``.

    Entry ``e`` of bucket ``b`` gets ``⌊weight[e]·total[b]/denom[b]⌋`` plus one
    unit if it is among the first ``total[b] - Σ floors`` entries (canonical
    order) whose exact share is not an integer.
    """
    num = weight * total[bucket]
    den = denom[bucket]
    base = num // den
    rest = num % den
    short = total - np.bincount(bucket, weights=base, minlength=total.size).astype(np.int64)
    return base + _first_units(bucket, rest > 0, short)


@attrs.frozen(eq=False)
class _Odds:
    """Stated odds on the grid: numerators of every edge of the rounding network."""

    bits: int
    pair: IntArray  # [E] class share in task, units of 1/D
    extra: IntArray  # [R] places of the row beyond its required one, units of 1/D
    load: IntArray  # [C] expected load of the class, units of 1/D
    pair_cap: Fraction | None
    method: str


def _water_fill(inst: _Instance) -> tuple[BoolArray, IntArray, IntArray, IntArray]:
    """Exact per-task water filling: raised rows, and per task R_t (places) and M_t (members)."""
    n_t = inst.n_tasks
    members = inst.row_members()
    lower = inst.row_lower
    raised = np.zeros(inst.n_rows, dtype=bool)
    while True:
        free = ~raised
        places = inst.team_size - np.bincount(
            inst.row_task, weights=lower * raised, minlength=n_t
        ).astype(np.int64)
        pool = np.bincount(inst.row_task, weights=members * free, minlength=n_t).astype(np.int64)
        below = free & (lower == 1) & (pool[inst.row_task] > places[inst.row_task] * members)
        if not below.any():
            return raised, places, pool, members
        raised |= below


def _grid_cap(q: Fraction | None, denominator: int) -> int | None:
    return None if q is None else math.floor(q * denominator)


def _exact_odds(inst: _Instance, bits: int, q: Fraction | None) -> _Odds:
    """Per-task water filling, snapped to the grid (no workload cap involved)."""
    d = 1 << bits
    lower = inst.row_lower
    raised, places, pool, members = _water_fill(inst)
    qd = _grid_cap(q, d)
    if qd is not None:
        free_rows = ~raised & (members > 0)
        tight = [
            Fraction(int(places[t]), int(pool[t]))
            for t in np.unique(inst.row_task[free_rows]).tolist()
            if pool[t] > 0 and places[t] * d > qd * pool[t]
        ]
        tight += [Fraction(1, int(m)) for m in members[raised].tolist() if d > qd * m]
        if tight and q is not None:
            floor = _min_pair_cap_uncapped(inst)
            raise PairCapTooSmall(
                f"max_pair_probability={_fraction_text(q)} (applied as {qd}/{d}) is below "
                f"the smallest feasible value {_fraction_text(floor)} "
                f"(≈{float(floor):.6f}): some task has too few candidates for its team",
                requested=q,
                smallest=(floor, floor),
            )
    # Row totals, units of 1/D: raised rows exactly one place; free rows share R_t.
    free = ~raised
    total_units = places * d
    row_units = np.where(raised, lower * d, 0)
    fr = np.flatnonzero(free)
    row_units[fr] = _split_exact(inst.row_task[fr], members[fr], total_units, np.maximum(pool, 1))
    # Class shares within each row, in proportion to multiplicity.
    pair = _split_exact(
        inst.pair_row, inst.class_mu[inst.pair_cls], row_units, np.maximum(members, 1)
    )
    extra = row_units - lower * d
    load = np.bincount(inst.pair_cls, weights=pair, minlength=inst.n_classes).astype(np.int64)
    return _Odds(bits, pair, extra, load, q, "water-filling")


def _min_pair_cap_uncapped(inst: _Instance) -> Fraction:
    raised, places, pool, members = _water_fill(inst)
    best = Fraction(0)
    for t in range(inst.n_tasks):
        if pool[t] > 0 and places[t] > 0:
            best = max(best, Fraction(int(places[t]), int(pool[t])))
    for m in members[raised].tolist():
        best = max(best, Fraction(1, int(m)))
    return best


# -- capped case: scaling, snapping, repair ------------------------------------------------


def _weighted_fill(
    inst: _Instance, weight: FloatArray, u: float, task_of_pair: IntArray
) -> tuple[FloatArray, BoolArray]:
    """Per-task water filling with class weights: share ∝ μ·w, member value ≤ u."""
    n_t, n_r = inst.n_tasks, inst.n_rows
    mu = inst.class_mu[inst.pair_cls]
    a = mu * weight[inst.pair_cls]
    h = mu * u
    lower = inst.row_lower.astype(np.float64)
    raised = np.zeros(n_r, dtype=bool)
    bucket = task_of_pair
    x = np.zeros(inst.n_pairs)
    for _ in range(n_r + 2):
        target = np.zeros(n_t + n_r)
        target[:n_t] = inst.team_size - np.bincount(
            inst.row_task, weights=lower * raised, minlength=n_t
        )
        target[n_t:] = np.where(raised, lower, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = target / np.bincount(bucket, weights=a, minlength=n_t + n_r)
        x = a * np.nan_to_num(lam, posinf=0.0)[bucket]
        if bool((x > h).any()):
            # Some members reach the cap u: fix them at u, refill the rest.
            capped = np.zeros(inst.n_pairs, dtype=bool)
            for _ in range(inst.n_pairs + 2):
                new = ~capped & (x >= h)
                if not new.any():
                    break
                capped |= new
                a_free = np.bincount(bucket, weights=np.where(capped, 0.0, a), minlength=n_t + n_r)
                h_cap = np.bincount(bucket, weights=np.where(capped, h, 0.0), minlength=n_t + n_r)
                with np.errstate(divide="ignore", invalid="ignore"):
                    lam = np.where(a_free > 0, (target - h_cap) / a_free, 0.0)
                x = np.where(capped, h, a * lam[bucket])
        totals = np.bincount(inst.pair_row, weights=x, minlength=n_r)
        below = ~raised & (inst.row_lower == 1) & (totals < 1.0 - 1e-12)
        if not below.any():
            break
        raised |= below
        bucket = np.where(raised[inst.pair_row], n_t + inst.pair_row, task_of_pair)
    return x, raised


def _fix_sums(
    values: IntArray, bucket: IntArray, target: IntArray, lo: IntArray, hi: IntArray
) -> IntArray:
    """Move ``values`` (entries sorted by bucket) to the bucket targets within [lo, hi],
    one unit per entry per pass, first entries first."""
    v = np.clip(values, lo, hi)
    for _ in range(64 + int(values.size)):
        gap = target - np.bincount(bucket, weights=v, minlength=target.size).astype(np.int64)
        if not gap.any():
            return v
        up = _first_units(bucket, (v < hi) & (gap[bucket] > 0), np.maximum(gap, 0))
        down = _first_units(bucket, (v > lo) & (gap[bucket] < 0), np.maximum(-gap, 0))
        if not (up.any() or down.any()):
            break
        v = v + up - down
    raise InfeasibleAssignment("the odds cannot be put on the grid within the caps")


def _snap(inst: _Instance, x: FloatArray, raised: BoolArray, bits: int, qd: int | None) -> _Odds:
    d = 1 << bits
    lower = inst.row_lower
    row_total = np.bincount(inst.pair_row, weights=x, minlength=inst.n_rows)
    mu = inst.class_mu[inst.pair_cls]
    row_hi = np.bincount(
        inst.pair_row, weights=(mu * (d if qd is None else qd)), minlength=inst.n_rows
    ).astype(np.int64)
    rows_units = np.where(raised, lower * d, np.floor(row_total * d).astype(np.int64))
    row_lo = lower * d
    row_hi = np.where(raised, lower * d, row_hi)
    rows_units = _fix_sums(rows_units, inst.row_task, inst.team_size * d, row_lo, row_hi)
    hi = mu * (d if qd is None else qd)
    pair = _fix_sums(
        np.floor(x * d).astype(np.int64),
        inst.pair_row,
        rows_units,
        np.zeros(inst.n_pairs, dtype=np.int64),
        hi,
    )
    extra = rows_units - lower * d
    load = np.bincount(inst.pair_cls, weights=pair, minlength=inst.n_classes).astype(np.int64)
    return _Odds(bits, pair, extra, load, None, "capped scaling")


def _repair(inst: _Instance, odds: _Odds, qd: int | None) -> _Odds:
    """Move the excess load of over-cap classes to classes with room, along a maximum
    flow in the residual network (grid units), until every cap holds."""
    d = 1 << odds.bits
    n_t, n_r, n_c, _n_e = inst.n_tasks, inst.n_rows, inst.n_classes, inst.n_pairs
    pair = odds.pair.copy()
    rows_units = odds.extra + inst.row_lower * d
    mu = inst.class_mu[inst.pair_cls]
    pair_hi = mu * (d if qd is None else qd)
    row_hi = np.bincount(inst.pair_row, weights=pair_hi, minlength=n_r).astype(np.int64)
    cap_units = np.where(inst.class_cap >= 0, inst.class_mu * inst.class_cap * d, -1)
    for _ in range(64):
        load = np.bincount(inst.pair_cls, weights=pair, minlength=n_c).astype(np.int64)
        excess = np.where(cap_units >= 0, np.maximum(load - cap_units, 0), 0)
        if not excess.any():
            return _Odds(
                odds.bits,
                pair,
                rows_units - inst.row_lower * d,
                load,
                odds.pair_cap,
                odds.method + " + repair",
            )
        budget = np.minimum(excess, _CLIP // max(n_c, 1))
        budget = np.maximum(budget, np.minimum(excess, 1))
        slack = np.where(cap_units >= 0, np.maximum(cap_units - load, 0), _CLIP)
        # nodes: SS, classes, rows, tasks, TT
        ss, tt = 0, 1 + n_c + n_r + n_t
        cls_node = 1 + np.arange(n_c, dtype=np.int64)
        row_node = 1 + n_c + np.arange(n_r, dtype=np.int64)
        task_node = 1 + n_c + n_r + np.arange(n_t, dtype=np.int64)
        tails = np.concatenate(
            [
                np.zeros(n_c, dtype=np.int64),
                cls_node[inst.pair_cls],
                row_node[inst.pair_row],
                row_node,
                task_node[inst.row_task],
                cls_node,
            ]
        )
        heads = np.concatenate(
            [
                cls_node,
                row_node[inst.pair_row],
                cls_node[inst.pair_cls],
                task_node[inst.row_task],
                row_node,
                np.full(n_c, tt, dtype=np.int64),
            ]
        )
        caps = np.concatenate(
            [
                budget,
                pair,
                pair_hi - pair,
                rows_units - inst.row_lower * d,
                row_hi - rows_units,
                slack,
            ]
        )
        caps = np.minimum(caps, _CLIP).astype(np.int64)
        keep = caps > 0
        n = tt + 1
        graph = _sparse().csr_array(
            (caps[keep].astype(np.int32), (tails[keep], heads[keep])), shape=(n, n)
        )
        graph.sum_duplicates()
        result = _csgraph().maximum_flow(graph, ss, tt)
        if int(result.flow_value) == 0:
            break
        # Antiparallel edges carry one net flow: read it in the "increase" direction.
        flow = _sparse().csr_array(result.flow)
        pair = pair + np.asarray(flow[row_node[inst.pair_row], cls_node[inst.pair_cls]]).reshape(
            -1
        ).astype(np.int64)
        rows_units = rows_units + np.asarray(flow[task_node[inst.row_task], row_node]).reshape(
            -1
        ).astype(np.int64)
    raise InfeasibleAssignment(
        "no assignment meets the workload caps with this max_pair_probability"
    )


def _capped_odds(inst: _Instance, bits: int, q: Fraction | None, iterations: int) -> _Odds:
    d = 1 << bits
    qd = _grid_cap(q, d)
    u = 1.0 if qd is None else qd / d
    n_c = inst.n_classes
    task_of_pair = inst.row_task[inst.pair_row]
    w = np.ones(n_c)
    capped = inst.class_cap >= 0
    cap_f = (inst.class_mu * np.maximum(inst.class_cap, 0)).astype(np.float64)
    x, raised = _weighted_fill(inst, w, u, task_of_pair)
    for _ in range(iterations):
        load = np.bincount(inst.pair_cls, weights=x, minlength=n_c)
        over = np.where(capped, load - cap_f, 0.0)
        if float(over.max(initial=0.0)) <= 1e-9 * max(float(cap_f.max(initial=0.0)), 1.0):
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(capped & (load > 0), cap_f / load, 1.0)
        w = np.minimum(1.0, w * ratio)
        x, raised = _weighted_fill(inst, w, u, task_of_pair)
    odds = _snap(inst, x, raised, bits, qd)
    odds = _repair(inst, odds, qd)
    return attrs.evolve(odds, pair_cap=q)


def _stated_odds(inst: _Instance, bits: int, q: Fraction | None, iterations: int = 40) -> _Odds:
    odds = _exact_odds(inst, bits, q)
    if (inst.class_cap >= 0).any():
        d = 1 << bits
        limit = np.where(inst.class_cap >= 0, inst.class_mu * inst.class_cap * d, -1)
        if bool(((limit >= 0) & (odds.load > limit)).any()):
            return _capped_odds(inst, bits, q, iterations)
    return odds


def _min_pair_cap_bounds(inst: _Instance) -> tuple[Fraction, Fraction]:
    """Bounds on the smallest feasible pair cap with workload caps (bisection, dyadic)."""
    total = max(int(inst.team_size.sum()), 1)
    k = 1
    while k < 16 and (1 << (k + 1)) * total * max(int(inst.class_mu.max(initial=1)), 1) < _CLIP:
        k += 1
    scale = 1 << k
    lo, hi = 0, scale  # infeasible at lo/scale (unless 0), feasible at hi/scale
    floor = _min_pair_cap_uncapped(inst)
    lo = max(lo, math.ceil(floor * scale) - 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        net = _flow_network(inst, pair_cap=inst.class_mu[inst.pair_cls] * mid, scale=scale)
        value, _ = _max_flow(net)
        if value >= net.demand:
            hi = mid
        else:
            lo = mid
    return Fraction(lo, scale), Fraction(hi, scale)


# --------------------------------------------------------------------------------------
# Dependent rounding on the grid
# --------------------------------------------------------------------------------------


@attrs.frozen(eq=False)
class _RoundNet:
    """The circulation rounded bit by bit (integral edges left out).

    Edge index space: pair edges ``row → class`` ``[0, E)``, extra edges
    ``task → row`` ``[E, E + R)``, load edges ``class → sink`` ``[E + R, E + R + C)``.
    Node ids: rows ``[0, R)``, classes ``[R, R + C)``, tasks ``[R + C, R + C + T)``,
    the sink ``R + C + T``.
    """

    n_tasks: int
    n_rows: int
    n_classes: int
    pair_row: IntArray
    pair_cls: IntArray
    row_task: IntArray

    @property
    def n_pairs(self) -> int:
        return int(self.pair_row.shape[0])

    @property
    def n_edges(self) -> int:
        return self.n_pairs + self.n_rows + self.n_classes


def _stream_bits(stream: Stream, count: int) -> BoolArray:
    """The first ``count`` bits of a sub-stream, most significant bit of each byte first."""
    if count == 0:
        return np.zeros(0, dtype=bool)
    raw = np.frombuffer(stream.prefix((count + 7) // 8), dtype=np.uint8)
    return np.unpackbits(raw, count=count).astype(bool)


@attrs.frozen(eq=False)
class _LevelPlan:
    """The cycles of one level, per virtual edge.

    Row virtual edge ``v`` joins real edges ``va[v]`` and ``vb[v]``; traversing it
    as stored moves them by ``sa[v]``, ``sb[v]`` (±1). Its cycle, oriented so that
    the cycle's smallest edge ``lead[v]`` goes forward, traverses it in direction
    ``dir[v]``. Odd load edges are virtual edges of their own.
    """

    va: IntArray
    vb: IntArray
    sa: IntArray
    sb: IntArray
    lead: IntArray
    dir: IntArray
    load_edge: IntArray
    load_lead: IntArray
    load_dir: IntArray

    @property
    def empty(self) -> bool:
        return self.va.size == 0 and self.load_edge.size == 0

    def expand(self) -> tuple[IntArray, IntArray, IntArray]:
        """``(edges, signs, leaders)``, one entry per odd real edge."""
        return (
            np.concatenate([self.va, self.vb, self.load_edge]),
            np.concatenate([self.dir * self.sa, self.dir * self.sb, self.load_dir]),
            np.concatenate([self.lead, self.lead, self.load_lead]),
        )

    def apply(self, num: IntArray, coins: BoolArray, level: int) -> None:
        """Move every cycle by ``±2**level``: its forward edges up when its coin is 1."""
        step = np.where(coins[self.lead], self.dir, -self.dir) << level
        num[self.va] += step * self.sa
        num[self.vb] += step * self.sb
        if self.load_edge.size:
            num[self.load_edge] += (
                np.where(coins[self.load_lead], self.load_dir, -self.load_dir) << level
            )


def _level_plan(
    net: _RoundNet,
    num: IntArray,
    level: int,
    phase: BoolArray,
    alive: IntArray | None = None,
) -> _LevelPlan:
    """Split the edges with bit ``level`` set into cycles (docs/teams.md, "Rounding").

    ``alive``, when given, is a sorted superset of the edges with bit ``level``
    set (it only saves time).
    """
    e_n, r_n, c_n, t_n = net.n_pairs, net.n_rows, net.n_classes, net.n_tasks
    sink = r_n + c_n + t_n
    n_nodes = sink + 1
    bit = 1 << level
    odd = np.flatnonzero((num & bit) != 0) if alive is None else alive[(num[alive] & bit) != 0]
    i1 = int(np.searchsorted(odd, e_n))
    i2 = int(np.searchsorted(odd, e_n + r_n))
    odd_p = odd[:i1]
    odd_x = odd[i1:i2] - e_n
    odd_l = odd[i2:] - e_n - r_n

    # 1. At every row, list its odd edges (pair edges in class order, then its extra
    #    edge); a phase bit of 1 moves the first to the end; pair them in order. Each
    #    pair is a virtual edge joining the far ends of its two edges.
    prow = net.pair_row[odd_p]
    cnt = np.bincount(prow, minlength=r_n)
    far = r_n + net.pair_cls[odd_p]
    seq = odd_p
    if odd_x.size:
        cp = cnt
        cnt = cp.copy()
        cnt[odd_x] += 1
        start = np.cumsum(cnt) - cnt
        cx = np.zeros(r_n, dtype=np.int64)
        cx[odd_x] = 1
        at_p = np.arange(odd_p.size) + (np.cumsum(cx) - cx)[prow]
        at_x = start[odd_x] + cp[odd_x]
        seq = np.empty(int(cnt.sum()), dtype=np.int64)
        seq[at_p] = odd_p
        seq[at_x] = e_n + odd_x
        far_all = np.empty(seq.size, dtype=np.int64)
        far_all[at_p] = far
        far_all[at_x] = r_n + c_n + net.row_task[odd_x]
        far = far_all
    else:
        start = np.cumsum(cnt) - cnt
    turn = phase & (cnt > 0)
    if turn.any():
        index = np.arange(seq.size, dtype=np.int64) + np.repeat(turn.astype(np.int64), cnt)
        rows = np.flatnonzero(turn)
        index[start[rows] + cnt[rows] - 1] = start[rows]
        seq = seq[index]
        far = far[index]
    va, vb = seq[0::2], seq[1::2]
    pa, pb = far[0::2], far[1::2]
    n_v = va.size
    if odd_x.size:
        # Traversing a virtual edge from pa to pb enters its first edge at the far
        # end and leaves by the second: a pair edge (row → class) is entered
        # backward and left forward, an extra edge (task → row) the reverse.
        sa = np.where(va >= e_n, 1, -1).astype(np.int64)
        sb = np.where(vb >= e_n, -1, 1).astype(np.int64)
    else:
        sa = np.full(n_v, -1, dtype=np.int64)
        sb = np.ones(n_v, dtype=np.int64)

    # 2. Parallel virtual edges (same two ends), in order, pair up into 2-cycles.
    flip = pa > pb
    lo = np.where(flip, pb, pa)
    hi = np.where(flip, pa, pb)
    shift_bits = max(n_v - 1, 1).bit_length()
    if n_nodes * n_nodes < (1 << (62 - shift_bits)):
        packed = ((lo * n_nodes + hi) << shift_bits) | np.arange(n_v, dtype=np.int64)
        packed.sort()
        order = packed & ((1 << shift_bits) - 1)
        ks = packed >> shift_bits
    else:  # pragma: no cover - astronomically large instances
        order = np.lexsort((np.arange(n_v), lo * n_nodes + hi))
        ks = (lo * n_nodes + hi)[order]
    new = np.ones(n_v + 1, dtype=bool)
    np.not_equal(ks[1:], ks[:-1], out=new[1:n_v])
    pos = np.arange(n_v, dtype=np.int64)
    gstart = np.maximum.accumulate(np.where(new[:n_v], pos, 0)) if n_v else pos
    even = ((pos - gstart) & 1) == 0
    p1 = np.flatnonzero(even & ~new[1:])
    v1, v2 = order[p1], order[p1 + 1]
    left = order[even & new[1:]]
    # v1 (traversed lo → hi) comes from an earlier row than v2 (traversed hi → lo),
    # so the cycle's smallest edge is v1's smallest edge: extra edges have the
    # largest indices and each virtual edge holds a pair edge. Orient the cycle so
    # that this edge goes forward.
    a1, b1 = va[v1], vb[v1]
    first_a = a1 < b1
    lead1 = np.where(first_a, a1, b1)
    # (with no extra edge, sa = -1 and sb = +1 everywhere)
    s_lead = np.where(first_a, sa[v1], sb[v1]) if odd_x.size else np.where(first_a, -1, 1)
    vdir = np.zeros(n_v, dtype=np.int64)
    vlead = np.zeros(n_v, dtype=np.int64)
    vdir[v1] = s_lead
    vdir[v2] = np.where(flip[v1] == flip[v2], -s_lead, s_lead)
    vlead[v1] = lead1
    vlead[v2] = lead1

    # 3. The rest: at most one virtual edge per pair of ends, and the odd load edges
    #    (class → sink). At every node pair the remaining ends in order of virtual
    #    edge (rows' first, then loads by class); the components are cycles.
    n_left, n_load = left.size, odd_l.size
    n_l = n_left + n_load
    load_edge = e_n + r_n + odd_l
    load_dir = np.zeros(n_load, dtype=np.int64)
    load_lead = np.zeros(n_load, dtype=np.int64)
    if n_l:
        left = np.sort(left)
        gpa = np.concatenate([pa[left], r_n + odd_l])
        gpb = np.concatenate([pb[left], np.full(n_load, sink, dtype=np.int64)])
        node = np.concatenate([gpa, gpb])
        vix = np.concatenate([np.arange(n_l), np.arange(n_l)])
        side = np.concatenate([np.zeros(n_l, dtype=np.int64), np.ones(n_l, dtype=np.int64)])
        o = np.lexsort((side, vix, node))
        av, a_side = vix[o][0::2], side[o][0::2]
        bv, b_side = vix[o][1::2], side[o][1::2]
        # State 2v: v traversed from its first end to its second; 2v+1: back.
        src = np.concatenate([2 * av + (a_side == 0), 2 * bv + (b_side == 0)])
        dst = np.concatenate([2 * bv + (b_side == 1), 2 * av + (a_side == 1)])
        graph = _sparse().csr_array(
            (np.ones(src.size, dtype=np.int8), (src, dst)), shape=(2 * n_l, 2 * n_l)
        )
        _, lab = _csgraph().connected_components(graph, directed=False)
        lab = lab.astype(np.int64)
        lf, lb = lab[0::2], lab[1::2]
        cyc = np.minimum(lf, lb)
        dv = np.where(lf == cyc, 1, -1)
        # real edges of every remaining virtual edge, with their signs
        ga = np.concatenate([va[left], load_edge])
        gsa = np.concatenate([sa[left], np.ones(n_load, dtype=np.int64)])
        ge = np.concatenate([ga, vb[left]])
        gs = np.concatenate([dv * gsa, dv[:n_left] * sb[left]])
        gc = np.concatenate([cyc, cyc[:n_left]])
        lead = np.full(int(lab.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(lead, gc, ge)
        lead_sign = np.zeros(lead.size, dtype=np.int64)
        at_lead = ge == lead[gc]
        lead_sign[gc[at_lead]] = gs[at_lead]
        vdir[left] = dv[:n_left] * lead_sign[cyc[:n_left]]
        vlead[left] = lead[cyc[:n_left]]
        load_dir = dv[n_left:] * lead_sign[cyc[n_left:]]
        load_lead = lead[cyc[n_left:]]
    return _LevelPlan(va, vb, sa, sb, vlead, vdir, load_edge, load_lead, load_dir)


def _level_cycles(
    net: _RoundNet, num: IntArray, level: int, phase: BoolArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Every edge with bit ``level`` set once: ``(edges, signs, leaders)``.

    The sign is +1 when the edge's cycle, oriented so that its smallest edge
    (its leader) is traversed forward, traverses the edge forward.
    """
    return _level_plan(net, num, level, phase).expand()


def _round(
    net: _RoundNet,
    num: IntArray,
    bits: int,
    seed: Seed,
) -> IntArray:
    """Round the numerators to multiples of ``2**bits``; returns the integers."""
    num = num.copy()
    alive: IntArray | None = None
    for level in range(bits):
        phase = _stream_bits(seed.stream("teams", "phase", str(level)), net.n_rows)
        plan = _level_plan(net, num, level, phase, alive)
        if not plan.empty:
            coins = _stream_bits(seed.stream("teams", "coin", str(level)), net.n_edges)
            plan.apply(num, coins, level)
        if level + 1 < bits and (alive is not None or 8 * plan.va.size < num.size):
            # Edges with a bit left in [level + 1, bits): the only candidates from now on.
            high = ((1 << bits) - 1) ^ ((1 << (level + 1)) - 1)
            pool = np.arange(num.size) if alive is None else alive
            alive = pool[(num[pool] & high) != 0]
    return num >> bits


def _class_places(counts: Sequence[int], mu: int, choose: Callable[[int], int]) -> list[int]:
    """Members (indices ``0 … mu-1``) for the places of one class, task after task.

    Task ``t`` takes ``counts[t]`` consecutive places. Places go in rounds of
    ``mu``; in each round every member gets one place, in an order drawn
    position by position: the candidates for a position are the members not yet
    placed in this round, in member order (and, for the first positions of a
    round that continue a task begun in the previous round, not already on that
    task); the member taken is ``candidates[choose(len(candidates))]``.
    """
    total = sum(counts)
    owner: list[int] = []
    for t, k in enumerate(counts):
        owner.extend([t] * k)
    out: list[int] = []
    for start in range(0, total, mu):
        carry = owner[start] if start and owner[start - 1] == owner[start] else -1
        taken = {out[p] for p in range(start) if owner[p] == carry} if carry >= 0 else set()
        free = list(range(mu))
        for q in range(mu):
            continuing = carry >= 0 and start + q < total and owner[start + q] == carry
            cands = [m for m in free if not (continuing and m in taken)]
            pick = cands[choose(len(cands))]
            free.remove(pick)
            if start + q < total:
                out.append(pick)
    return out


def _members_on_tasks(inst: _Instance, counts: IntArray, seed: Seed) -> tuple[IntArray, IntArray]:
    """(task, inspector) pairs: each class's places go to its members (:func:`_class_places`)."""
    sel = np.flatnonzero(counts > 0)
    tasks_out: list[IntArray] = []
    insp_out: list[IntArray] = []
    single = inst.class_mu[inst.pair_cls[sel]] == 1
    s1 = sel[single]
    firsts = np.array([m[0] for m in inst.class_members], dtype=np.int64)
    tasks_out.append(inst.row_task[inst.pair_row[s1]])
    insp_out.append(firsts[inst.pair_cls[s1]])
    multi = sel[~single]
    for c in np.unique(inst.pair_cls[multi]).tolist():
        members = inst.class_members[c]
        edges = multi[inst.pair_cls[multi] == c]  # in task order
        k = counts[edges]
        stream = seed.stream("teams", "members", inst.inspector_ids[int(members[0])])
        places = np.asarray(
            _class_places(k.tolist(), int(members.size), stream.below), dtype=np.int64
        )
        tasks_out.append(np.repeat(inst.row_task[inst.pair_row[edges]], k))
        insp_out.append(members[places])
    return np.concatenate(tasks_out), np.concatenate(insp_out)


# --------------------------------------------------------------------------------------
# Public results
# --------------------------------------------------------------------------------------


class TeamOdds:
    """The stated odds: ``Pr[inspector on the team of entity]`` exactly, before the draw.

    The odds of member ``i`` of class ``c`` on task ``t`` are
    ``numerator[t, c] / (multiplicity[c] * denominator)``.
    """

    __slots__ = ("_class_of", "_entity_index", "_inst", "_load", "_num", "denominator")

    def __init__(self, inst: _Instance, odds: _Odds) -> None:
        self._inst = inst
        self.denominator = 1 << odds.bits
        num = np.zeros((inst.n_tasks, inst.n_classes), dtype=np.int64)
        num[inst.row_task[inst.pair_row], inst.pair_cls] = odds.pair
        self._num = num
        self._load = odds.load
        self._entity_index = {e: t for t, e in enumerate(inst.entity_ids)}
        self._class_of = {
            inst.inspector_ids[k]: int(c) for k, c in enumerate(inst.class_of.tolist()) if c >= 0
        }

    def probability(self, entity_id: str, inspector_id: str) -> Fraction:
        """Exact probability that ``inspector_id`` is on the team of ``entity_id``.

        Parameters
        ----------
        entity_id, inspector_id
            Ids as in the tasks and the pool (NFC, trimmed).

        Returns
        -------
        Fraction
            ``numerator / (multiplicity * denominator)``; 0 for an inspector who
            is not a candidate for that task.

        Raises
        ------
        KeyError
            The entity has no task, or the inspector is not in the pool.
        """
        t = self._entity_index.get(canonical_id(entity_id))
        if t is None:
            raise KeyError(f"no task for entity {entity_id!r}")
        ident = canonical_id(inspector_id)
        if ident not in self._inst.inspector_ids:
            raise KeyError(f"not in the inspector pool: {inspector_id!r}")
        c = self._class_of.get(ident)
        if c is None:
            return Fraction(0)
        return Fraction(int(self._num[t, c]), int(self._inst.class_mu[c]) * self.denominator)

    def expected_load(self, inspector_id: str) -> Fraction:
        """Expected number of tasks ``L`` of ``inspector_id``.

        Returns
        -------
        Fraction
            The sum of its odds over all tasks; every draw gives it ``⌊L⌋`` or
            ``⌈L⌉`` tasks (before any substitution).
        """
        c = self._class_of.get(canonical_id(inspector_id))
        if c is None:
            return Fraction(0)
        return Fraction(int(self._load[c]), int(self._inst.class_mu[c]) * self.denominator)

    def as_dict(self) -> dict[tuple[str, str], float]:
        """Every positive probability, as floats (for display; use :meth:`probability`
        for exact values).

        Returns
        -------
        dict
            ``{(entity id, inspector id): probability}``.
        """
        inst = self._inst
        out: dict[tuple[str, str], float] = {}
        t_idx, c_idx = np.nonzero(self._num)
        values = self._num[t_idx, c_idx] / (inst.class_mu[c_idx] * float(self.denominator))
        for t, c, v in zip(t_idx.tolist(), c_idx.tolist(), values.tolist(), strict=True):
            entity = inst.entity_ids[t]
            for k in inst.class_members[c].tolist():
                out[(entity, inst.inspector_ids[k])] = v
        return out

    def to_record(self) -> dict[str, Any]:
        """The exact odds as canonical-JSON-ready data.

        Returns
        -------
        dict
            ``denominator``; ``classes`` (members, multiplicity, expected load
            as ``"p/q"``); ``tasks``: entity → ``[[class, numerator], …]``. The
            odds of a member of class ``c`` are
            ``numerator / (multiplicity[c] * denominator)``.
        """
        inst = self._inst
        tasks: dict[str, list[list[int | str]]] = {}
        for t, entity in enumerate(inst.entity_ids):
            row = self._num[t]
            nz = np.flatnonzero(row)
            tasks[entity] = [[int(c), _json_int(int(row[c]))] for c in nz.tolist()]
        return {
            "denominator": _json_int(self.denominator),
            "rule": "Pr[member of class c on task] = numerator / (multiplicity[c] * denominator)",
            "classes": [
                {
                    "members": [inst.inspector_ids[k] for k in m.tolist()],
                    "multiplicity": int(m.size),
                    "expected_load": _fraction_text(
                        Fraction(int(self._load[c]), int(m.size) * self.denominator)
                    ),
                }
                for c, m in enumerate(inst.class_members)
            ],
            "tasks": tasks,
        }

    def __repr__(self) -> str:
        return (
            f"<TeamOdds {len(self._inst.entity_ids):,} tasks, {len(self._class_of):,} "
            f"candidate inspectors, denominator 2**{self.denominator.bit_length() - 1}>"
        )


@attrs.frozen(eq=False, repr=False)
class TeamAssignment:
    """The teams drawn for every task, the stated odds, and everything needed to replay.

    Attributes
    ----------
    teams : Mapping[str, tuple[str, ...]]
        Entity id → inspector ids of its team, sorted.
    probabilities : TeamOdds
        The exact odds stated before the draw.
    exclusions : tuple of Exclusion
        Every recusal applied (conflicts, rotation, plugin vetoes, substitutions).
    ineligible : Mapping[str, str]
        Inspectors who could not be drawn on ``on``, with the reason.
    seed : Seed
        The seed the teams were drawn from.
    on : datetime.date
        The date of the inspections (certificates checked on it).
    options : Mapping[str, Any]
        ``grid_bits``, ``max_tasks``, ``max_pair_probability`` and how the odds
        were made, as recorded.
    substitutions : tuple of dict
        Record entries of :func:`substitute`, in order.
    """

    teams: Mapping[str, tuple[str, ...]]
    probabilities: TeamOdds
    exclusions: tuple[Exclusion, ...]
    ineligible: Mapping[str, str]
    seed: Seed
    on: dt.date
    options: Mapping[str, Any]
    substitutions: tuple[dict[str, Any], ...] = ()

    def loads(self) -> dict[str, int]:
        """Number of tasks of every inspector in the pool (zero included).

        Returns
        -------
        dict
            Inspector id → number of teams it is on.
        """
        out = dict.fromkeys(self.probabilities._inst.inspector_ids, 0)
        for team in self.teams.values():
            for ident in team:
                out[ident] += 1
        return out

    def to_record(self) -> dict[str, Any]:
        """The record of the team draw (docs/teams.md §7).

        Returns
        -------
        dict
            Canonical-JSON-ready: no floats, integers above ``2**53 - 1`` as
            decimal strings; teams, exact odds, every exclusion with its reasons,
            ineligible inspectors, options, stream labels and substitutions.
        """
        return {
            "spec": SPEC,
            "procedure": "randcheck-teams/1",
            "seed": self.seed.material(),
            "on": self.on.isoformat(),
            "options": dict(self.options),
            "streams": {
                "phase": ["teams", "phase", "<level>"],
                "coin": ["teams", "coin", "<level>"],
                "members": ["teams", "members", "<first member id>"],
                "substitute": ["substitute", "<entity>", "<inspector>", "<k>"],
            },
            "teams": {e: list(team) for e, team in sorted(self.teams.items())},
            "odds": self.probabilities.to_record(),
            "exclusions": [x.to_record() for x in self.exclusions],
            "ineligible": dict(sorted(self.ineligible.items())),
            "substitutions": [dict(s) for s in self.substitutions],
        }

    def __repr__(self) -> str:
        return (
            f"<TeamAssignment {len(self.teams):,} teams, {len(self.exclusions):,} recusals, "
            f"{len(self.substitutions)} substitutions, seed {self.seed.key.hex()[:8]}…>"
        )


def _parse_q(value: object) -> Fraction | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(f"max_pair_probability must be a number in (0, 1], not {value!r}")
    if isinstance(value, Fraction):
        q = value
    elif isinstance(value, int):
        q = Fraction(value)
    elif isinstance(value, float):
        q = Fraction(repr(value))
    elif isinstance(value, str):
        try:
            q = Fraction(value.strip())
        except ValueError:
            raise InputError(f"max_pair_probability is not a number: {value!r}") from None
    else:
        raise InputError(f"max_pair_probability must be a number, not {type(value).__name__}")
    if not 0 < q <= 1:
        raise InputError(f"max_pair_probability must be in (0, 1], got {_fraction_text(q)}")
    return q


def _options_record(
    max_tasks: MaxTasks, q: Fraction | None, bits: int, method: str
) -> dict[str, Any]:
    if isinstance(max_tasks, Mapping):
        caps: Any = {canonical_id(k): int(v) for k, v in sorted(max_tasks.items())}
    else:
        caps = max_tasks
    return {
        "grid_bits": bits,
        "max_tasks": caps,
        "max_pair_probability": None if q is None else _fraction_text(q),
        "odds": method,
    }


@attrs.frozen(eq=False)
class _Plan:
    """Everything before the random draw (exposed to the tests)."""

    inst: _Instance
    net: _RoundNet
    odds: _Odds

    def numerators(self) -> IntArray:
        return np.concatenate([self.odds.pair, self.odds.extra, self.odds.load]).astype(np.int64)


def _plan(
    tasks: Sequence[Task],
    items: Mapping[str, Item],
    inspectors: InspectorPool | Iterable[Inspector],
    *,
    on: dt.date,
    conflicts: Iterable[Conflict] = (),
    history: Mapping[str, Iterable[str]] | None = None,
    extra_conflicts: ExtraConflicts | None = None,
    max_tasks: MaxTasks = None,
    max_pair_probability: object = None,
    grid_bits: int = DEFAULT_GRID_BITS,
) -> _Plan:
    if (
        isinstance(grid_bits, bool)
        or not isinstance(grid_bits, int)
        or not (1 <= grid_bits <= MAX_GRID_BITS)
    ):
        raise InputError(f"grid_bits must be an integer in 1..{MAX_GRID_BITS}, got {grid_bits!r}")
    q = _parse_q(max_pair_probability)
    inst = _build_instance(
        tasks,
        items,
        inspectors,
        on=on,
        conflicts=conflicts,
        history=history,
        extra_conflicts=extra_conflicts,
        max_tasks=max_tasks,
    )
    _check_feasible(inst)
    try:
        odds = _stated_odds(inst, grid_bits, q)
    except PairCapTooSmall:
        raise
    except InfeasibleAssignment:
        if q is None or (inst.class_cap < 0).all():
            raise
        lo, hi = _min_pair_cap_bounds(inst)
        raise PairCapTooSmall(
            f"max_pair_probability={_fraction_text(q)} is below the smallest value feasible "
            f"with these workload caps, which lies in ({_fraction_text(lo)}, "
            f"{_fraction_text(hi)}] (≈{float(hi):.6f})",
            requested=q,
            smallest=(lo, hi),
        ) from None
    net = _RoundNet(
        n_tasks=inst.n_tasks,
        n_rows=inst.n_rows,
        n_classes=inst.n_classes,
        pair_row=inst.pair_row,
        pair_cls=inst.pair_cls,
        row_task=inst.row_task,
    )
    return _Plan(inst, net, odds)


def _teams_from_counts(plan: _Plan, counts: IntArray, seed: Seed) -> dict[str, tuple[str, ...]]:
    inst = plan.inst
    t_idx, i_idx = _members_on_tasks(inst, counts, seed)
    order = np.lexsort((i_idx, t_idx))
    t_idx, i_idx = t_idx[order], i_idx[order]
    teams: dict[str, list[str]] = {e: [] for e in inst.entity_ids}
    for t, k in zip(t_idx.tolist(), i_idx.tolist(), strict=True):
        teams[inst.entity_ids[t]].append(inst.inspector_ids[k])
    return {e: tuple(m) for e, m in teams.items()}


def assign_teams(
    tasks: Sequence[Task],
    items: Mapping[str, Item],
    inspectors: InspectorPool,
    *,
    seed: Seed | str | int | Mapping[str, Any],
    on: dt.date,
    conflicts: Iterable[Conflict] = (),
    history: Mapping[str, Iterable[str]] | None = None,
    extra_conflicts: ExtraConflicts | None = None,
    max_tasks: MaxTasks = None,
    max_pair_probability: Fraction | float | str | None = None,
    grid_bits: int = DEFAULT_GRID_BITS,
) -> TeamAssignment:
    """Draw a team of inspectors for every task, with exact stated odds.

    Parameters
    ----------
    tasks
        The tasks (visits); one per entity. ``Task.items`` are item codes.
    items
        Item code → :class:`Item` (team size, station, specialty).
    inspectors
        The inspector pool.
    seed
        Public seed material (the same seed as the entity draw is fine: the
        team draw reads only its own labelled sub-streams).
    on
        Date of the inspections: certificates must be valid on it.
    conflicts
        Conflicts of interest (回避); each excludes its inspector from its entity.
    history
        Entity id → inspectors who inspected it in the previous round; they are
        excluded with the reason ``"rotation"``.
    extra_conflicts
        ``f(task, inspector) -> reasons``; called once for every candidate pair
        (eligible inspector of a station the task concerns); a non-empty result
        excludes the inspector, with those reasons.
    max_tasks
        A cap on the number of tasks of every inspector, or a mapping inspector
        id → cap (inspectors not named are uncapped).
    max_pair_probability
        Anti-collusion cap ``q``: no inspector's odds on any task exceed ``q``
        (applied as ``⌊q·2**grid_bits⌋ / 2**grid_bits``). Refused when below the
        smallest feasible value.
    grid_bits
        The odds are multiples of ``1 / (multiplicity · 2**grid_bits)``.

    Returns
    -------
    TeamAssignment

    Raises
    ------
    UnstaffableTasks
        No valid assignment exists; names the tasks and the bottleneck.
    InfeasibleAssignment
        The inspector pool is empty, or ``max_pair_probability`` is too small.
    InputError
        Unknown items, duplicate tasks, bad options.
    """
    seed_obj = as_seed(seed)
    plan = _plan(
        tasks,
        items,
        inspectors,
        on=on,
        conflicts=conflicts,
        history=history,
        extra_conflicts=extra_conflicts,
        max_tasks=max_tasks,
        max_pair_probability=max_pair_probability,
        grid_bits=grid_bits,
    )
    counts = _round(plan.net, plan.numerators(), grid_bits, seed_obj)[: plan.inst.n_pairs]
    teams = _teams_from_counts(plan, counts, seed_obj)
    return TeamAssignment(
        teams=teams,
        probabilities=TeamOdds(plan.inst, plan.odds),
        exclusions=plan.inst.exclusions,
        ineligible=dict(plan.inst.ineligible),
        seed=seed_obj,
        on=on,
        options=_options_record(max_tasks, plan.odds.pair_cap, grid_bits, plan.odds.method),
    )


# --------------------------------------------------------------------------------------
# Substitutes (递补抽取)
# --------------------------------------------------------------------------------------


def _slot_ok(
    team: Sequence[Inspector], requirements: Sequence[tuple[str, tuple[str, ...]]]
) -> bool:
    for station, specs in requirements:
        need = set(specs)
        if not any(m.station == station and need <= set(m.specialties) for m in team):
            return False
    return True


def substitute(
    assignment: TeamAssignment,
    tasks: Sequence[Task],
    items: Mapping[str, Item],
    inspectors: InspectorPool,
    *,
    seed: Seed | str | int | Mapping[str, Any],
    on: dt.date,
    entity_id: str,
    inspector_id: str,
    reason: str,
    conflicts: Iterable[Conflict] = (),
    history: Mapping[str, Iterable[str]] | None = None,
    extra_conflicts: ExtraConflicts | None = None,
) -> tuple[TeamAssignment, dict[str, Any]]:
    """Recuse ``inspector_id`` from the task of ``entity_id`` and draw a substitute.

    Candidates are the inspectors who are eligible on ``on``, of a station the
    task concerns, not on the team, not excluded from this entity (conflicts,
    rotation, ``extra_conflicts``, earlier recusals), and with whom the team
    still fills every station slot (so a recused specialist is replaced by a
    holder of the same specialties when no one else on the team holds them).
    Candidates below their ``max_tasks`` cap come first; only when none is
    left are capped-out candidates used (the record says so). The substitute
    is ``candidates[below(len(candidates))]`` from the sub-stream
    ``("substitute", entity_id, inspector_id, str(k))``, candidates sorted by
    id, ``k`` the number of earlier substitutions for this entity and inspector.

    Parameters
    ----------
    assignment
        The assignment to change (it is not modified).
    tasks, items, inspectors, on, conflicts, history, extra_conflicts
        As given to :func:`assign_teams`; the caps are taken from
        ``assignment.options``.
    seed
        The seed of the assignment.
    entity_id, inspector_id
        The task and the team member to recuse.
    reason
        Why (recorded; required).

    Returns
    -------
    (TeamAssignment, dict)
        The new assignment (odds unchanged, team replaced, the recusal and the
        record entry appended) and the record entry.

    Raises
    ------
    InfeasibleAssignment
        No valid candidate is left; the message names the missing requirement.
    InputError
        The inspector is not on that team, the seed differs, the reason is empty.
    """
    seed_obj = as_seed(seed)
    if seed_obj.key != assignment.seed.key:
        raise InputError("the seed differs from the seed of the assignment")
    entity = canonical_id(entity_id)
    old = canonical_id(inspector_id)
    reason_text = nfc(str(reason)).strip()
    if not reason_text:
        raise InputError("a recusal needs a reason (全程留痕)")
    if entity not in assignment.teams:
        raise InputError("no task for this entity in the assignment", id=entity)
    team = assignment.teams[entity]
    if old not in team:
        raise InputError(f"inspector {old!r} is not on the team of this entity", id=entity)
    task = next((t for t in tasks if t.entity_id == entity), None)
    if task is None:
        raise InputError("the tasks do not include this entity", id=entity)
    pool = _as_pool(inspectors)
    its = []
    for code in task.items:
        if code not in items:
            raise InputError(f"the task names an unknown item {code!r}", id=entity)
        its.append(items[code])
    stations = sorted({it.station for it in its})
    requirements = [
        (s, tuple(sorted({it.specialty for it in its if it.station == s and it.specialty})))
        for s in stations
    ]
    excluded: dict[str, list[str]] = {}
    for conflict in conflicts:
        if conflict.entity_id == entity:
            excluded.setdefault(conflict.inspector_id, []).append(conflict.reason or CONFLICT)
    if history:
        for key, previous in history.items():
            if canonical_id(key) == entity:
                for ident in previous:
                    excluded.setdefault(canonical_id(ident), []).append(ROTATION)
    for x in assignment.exclusions:
        if x.entity_id == entity:
            excluded.setdefault(x.inspector_id, []).extend(x.reasons)
    excluded.setdefault(old, []).append(reason_text)
    rest = [pool[i] for i in team if i != old]
    loads = assignment.loads()
    caps_option = assignment.options.get("max_tasks")
    caps = _caps(caps_option, pool.ids)
    cap_of = dict(zip(pool.ids, caps.tolist(), strict=True))
    valid: list[str] = []
    for candidate in pool:
        if candidate.id in team or candidate.station not in stations:
            continue
        if not candidate.eligible_on(on) or cap_of[candidate.id] == 0:
            continue
        if candidate.id in excluded:
            continue
        if extra_conflicts is not None:
            vetoes = [nfc(str(r)).strip() for r in extra_conflicts(task, candidate)]
            if any(vetoes):
                continue
        if _slot_ok([*rest, candidate], requirements):
            valid.append(candidate.id)
    within = [i for i in valid if cap_of[i] < 0 or loads[i] < cap_of[i]]
    tier = "within caps" if within else "over caps"
    candidates = sorted(within or valid)
    k = sum(
        1 for s in assignment.substitutions if s.get("entity") == entity and s.get("recused") == old
    )
    label = ("substitute", entity, old, str(k))
    if not candidates:
        missing = [
            f"{s} holding {'+'.join(sp)}" if sp else s
            for s, sp in requirements
            if not _slot_ok([*rest], [(s, sp)])
        ]
        need = f" ({', '.join(missing)})" if missing else ""
        raise InfeasibleAssignment(
            f"no substitute for {old} on {entity}{need}: every eligible inspector of "
            f"{', '.join(stations)} is on the team, recused or ineligible on {on}"
        )
    draw = seed_obj.stream(*label).below(len(candidates))
    chosen = candidates[draw]
    new_team = tuple(sorted([*(i for i in team if i != old), chosen]))
    entry: dict[str, Any] = {
        "entity": entity,
        "recused": old,
        "reason": reason_text,
        "k": k,
        "stream": list(label),
        "candidates": candidates,
        "tier": tier,
        "draw": draw,
        "substitute": chosen,
        "team_before": list(team),
        "team_after": list(new_team),
    }
    teams = dict(assignment.teams)
    teams[entity] = new_team
    kept = [x for x in assignment.exclusions if (x.entity_id, x.inspector_id) != (entity, old)]
    merged = sorted(
        {
            *(
                r
                for x in assignment.exclusions
                if (x.entity_id, x.inspector_id) == (entity, old)
                for r in x.reasons
            ),
            reason_text,
        }
    )
    exclusions = tuple(
        sorted(
            [*kept, Exclusion(entity, old, tuple(merged))],
            key=lambda x: (x.entity_id, x.inspector_id),
        )
    )
    new = attrs.evolve(
        assignment,
        teams=teams,
        exclusions=exclusions,
        substitutions=(*assignment.substitutions, entry),
    )
    return new, entry
