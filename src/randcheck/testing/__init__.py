"""Assertions for testing code that draws with randcheck.

A bureau's system, a station plugin or a third-party verifier can hold its own
draws to what randcheck promises::

    from randcheck import testing as rct

    rct.assert_valid_draw(result)                  # sizes, coverage, tasks, record
    rct.assert_reproducible(result)                # same inputs, shuffled rows: same draw
    rct.assert_no_conflicts(result, conflicts)     # no recused inspector on a team
    rct.assert_inclusion_probabilities(draw_fn, expected)   # the stated odds hold

Each assertion raises :class:`AssertionError` naming what differs; its own
frames are hidden from pytest tracebacks (``__tracebackhide__``). This module
imports no hypothesis: the strategies live in
:mod:`randcheck.testing.strategies` (``import randcheck.testing.strategies as
rcst``), and the pytest fixtures in :mod:`randcheck.testing.pytest_plugin`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from ..canonical import canonical_id, canonical_json, jcs_loads
from ..draw import DrawResult, draw, verify
from ..errors import VerificationError
from ..model import Conflict, Item, Task
from ..pools import EntityPool
from ..progress import progress

if TYPE_CHECKING:
    from ..plugins import Plugins

__all__ = [
    "InclusionAudit",
    "assert_inclusion_probabilities",
    "assert_no_conflicts",
    "assert_reproducible",
    "assert_valid_draw",
]

#: Default number of draws of :func:`assert_inclusion_probabilities`.
DEFAULT_TRIALS = 10_000
#: Number of groups (by stated π) in the omnibus test.
OMNIBUS_GROUPS = 10
_SHOWN = 8


def _fail(title: str, problems: Sequence[str]) -> None:
    __tracebackhide__ = True
    shown = list(problems[:20])
    if len(problems) > len(shown):
        shown.append(f"… and {len(problems) - len(shown)} more")
    raise AssertionError(title + ":\n  - " + "\n  - ".join(shown))


def _ids(values: Iterable[str], limit: int = _SHOWN) -> str:
    listed = list(values)
    text = ", ".join(repr(v) for v in listed[:limit])
    return text + (f" … (+{len(listed) - limit})" if len(listed) > limit else "")


# -- assert_valid_draw -------------------------------------------------------------


def _check_item_draw(result: DrawResult, index: int, problems: list[str]) -> None:
    d = result.item_draws[index]
    item, pool, design = d.item, result.entities, d.design
    code = item.code
    covered = np.asarray(d.covered, dtype=np.intp)
    rule_covered = pool.covered_by(item)
    if not np.array_equal(covered, rule_covered):
        extra = sorted(set(pool.ids[covered].tolist()) - set(pool.ids[rule_covered].tolist()))
        missing = sorted(set(pool.ids[rule_covered].tolist()) - set(pool.ids[covered].tolist()))
        problems.append(
            f"item {code}: covers {covered.size} entities, its categories/station cover "
            f"{rule_covered.size} (not covered by the rule: [{_ids(extra)}]; "
            f"left out: [{_ids(missing)}])"
        )
    size = int(covered.size)
    p = np.asarray(design.numerators)
    den = int(design.denominator)
    n = int(design.n)
    if p.shape != (size,):
        problems.append(
            f"item {code}: the design has {p.shape[0]} probabilities for {size} covered"
        )
        return
    if int(p.sum()) != n * den:
        problems.append(f"item {code}: the probabilities sum to {int(p.sum())}/{den}, not n = {n}")
    rule_n = item.sample_size(size)
    certain = p == den
    if n < rule_n:
        problems.append(
            f"item {code}: draws {n} of {size}, but the item rule max(minimum {item.minimum}, "
            f"ceil({item.ratio} * {size})) capped at N asks for {rule_n}"
        )
    elif n > rule_n and int(certain.sum()) != n:
        problems.append(
            f"item {code}: draws {n} of {size}, more than the item rule's {rule_n}, "
            f"yet only {int(certain.sum())} entities are certain (π = 1)"
        )
    positions = np.asarray(d.positions, dtype=np.intp)
    if positions.size != n:
        problems.append(f"item {code}: {positions.size} entities drawn, the design says n = {n}")
    values, counts = np.unique(positions, return_counts=True)
    if values.size != positions.size:
        twice = pool.ids[values[counts > 1]].tolist()
        problems.append(f"item {code}: an entity is drawn twice ([{_ids(twice)}])")
    outside = np.setdiff1d(positions, covered)
    if outside.size:
        problems.append(
            f"item {code}: drawn but not covered by the item: [{_ids(pool.ids[outside].tolist())}]"
        )
    drawn = np.isin(covered, positions)
    missed = covered[certain & ~drawn]
    if missed.size:
        problems.append(
            f"item {code}: certain entities (π = 1) not drawn: [{_ids(pool.ids[missed].tolist())}]"
        )
    impossible = covered[(p == 0) & drawn]
    if impossible.size:
        problems.append(
            f"item {code}: entities with π = 0 drawn: [{_ids(pool.ids[impossible].tolist())}]"
        )
    expected_ids = tuple(sorted(pool.ids[positions].tolist()))
    if tuple(d.selected) != expected_ids:
        problems.append(
            f"item {code}: selected lists {_ids(d.selected)}, the drawn positions are "
            f"{_ids(expected_ids)} (canonical order)"
        )


def _expected_tasks(result: DrawResult) -> dict[str, tuple[list[str], set[str]]]:
    wanted: dict[str, tuple[list[str], set[str]]] = {}
    for d in result.item_draws:
        for ident in d.selected:
            codes, stations = wanted.setdefault(ident, ([], set()))
            codes.append(d.item.code)
            stations.add(d.item.station)
    return wanted


def _check_tasks(result: DrawResult, problems: list[str]) -> None:
    wanted = _expected_tasks(result)
    tasks = tuple(result.tasks)
    seen: set[str] = set()
    for task in tasks:
        if task.entity_id in seen:
            problems.append(f"entity {task.entity_id!r} has more than one task (one visit each)")
            continue
        seen.add(task.entity_id)
        if task.entity_id not in wanted:
            problems.append(f"task for {task.entity_id!r}, which no item drew")
            continue
        codes, stations = wanted[task.entity_id]
        if list(task.items) != codes:
            problems.append(
                f"task for {task.entity_id!r} covers items {list(task.items)}; "
                f"the entity was drawn for {codes}"
            )
        if list(task.stations) != sorted(stations):
            problems.append(
                f"task for {task.entity_id!r} names stations {list(task.stations)}; "
                f"its items are of {sorted(stations)}"
            )
        if len(set(task.team)) != len(task.team):
            problems.append(f"task for {task.entity_id!r}: an inspector is on the team twice")
        if result.inspectors is not None:
            strangers = [i for i in task.team if i not in result.inspectors]
            if strangers:
                problems.append(
                    f"task for {task.entity_id!r}: team members not in the inspector pool: "
                    f"[{_ids(strangers)}]"
                )
    missing = sorted(set(wanted) - seen)
    if missing:
        problems.append(f"entities drawn without a task (visit): [{_ids(missing)}]")
    ids = [t.entity_id for t in tasks]
    if ids != sorted(ids):
        problems.append("tasks are not in canonical (entity id) order")


def _check_record(result: DrawResult, problems: list[str]) -> None:
    try:
        record = result.record
        data = canonical_json(record)
    except (ValueError, TypeError) as exc:
        problems.append(f"the record is not exact JSON: {exc}")
        return
    if jcs_loads(data) != record:
        problems.append(
            "the record changes in a JSON round trip (a tuple, a non-NFC string or a "
            "non-string key in it)"
        )
    if jcs_loads(result.to_json()) != record:
        problems.append("to_json() is not the canonical JSON of the record")
    if record.get("seed_key") != result.seed.key.hex():
        problems.append("the record's seed_key is not the key of its seed material")
    entities = record.get("pools", {}).get("entities", {})
    if entities.get("digest") != result.entities.digest:
        problems.append("the record's entity pool digest is not the pool's")
    if entities.get("size") != len(result.entities):
        problems.append(
            f"the record's entity pool size is {entities.get('size')}, "
            f"the pool has {len(result.entities)}"
        )
    draws = record.get("draws", [])
    if len(draws) != len(result.item_draws):
        problems.append(
            f"the record lists {len(draws)} item draws, the result has {len(result.item_draws)}"
        )
    for entry, d in zip(draws, result.item_draws, strict=False):
        if entry.get("item") != d.item.code:
            problems.append(f"record draw {entry.get('item')!r} is in the place of {d.item.code}")
        if entry.get("selected") != list(d.selected):
            problems.append(f"item {d.item.code}: the record's selection is not the result's")
        if entry.get("n") != d.design.n or entry.get("covered") != int(d.covered.size):
            problems.append(
                f"item {d.item.code}: the record says n = {entry.get('n')} of "
                f"{entry.get('covered')}, the draw {d.design.n} of {int(d.covered.size)}"
            )
        if entry.get("denominator") != str(d.design.denominator):
            problems.append(f"item {d.item.code}: the record's denominator is not the design's")
    for item_record in record.get("items", []):
        try:
            again = Item.from_record(item_record).to_record()
        except (TypeError, ValueError) as exc:
            problems.append(f"item record {item_record.get('code')!r} does not rebuild: {exc}")
            continue
        if again != item_record:
            problems.append(f"item record {item_record.get('code')!r} does not rebuild to itself")
    if record.get("tasks") != [t.to_record() for t in result.tasks]:
        problems.append("the record's tasks are not the result's tasks")


def assert_valid_draw(result: DrawResult) -> None:
    """Assert that a draw keeps every rule a draw must keep.

    Checked, for every item: it covers exactly the entities its categories (or
    station) name; it draws ``max(minimum, ceil(ratio * N))`` capped at ``N``
    (more only when that many entities are certain); the stated probabilities
    sum to ``n``; each selection is distinct and covered; every entity with
    ``π = 1`` is drawn and none with ``π = 0``. Then: one task per drawn entity,
    covering exactly the items that drew it (合并检查、一次办结); teams, when
    drawn, hold distinct inspectors of the pool; and the record is exact JSON
    (no floats, canonical, round-trips) and agrees with the result.

    Parameters
    ----------
    result
        What :func:`randcheck.draw` returned.

    Raises
    ------
    AssertionError
        listing every rule broken.

    Examples
    --------
    >>> import randcheck as rc
    >>> from randcheck.testing import assert_valid_draw
    >>> pool = rc.EntityPool.from_records({"id": f"E{i}", "category": "取水许可"}
    ...                                   for i in range(40))
    >>> item = rc.Item(code="SL-01", name="取水许可检查", station="水利工作站",
    ...                legal_basis="《取水许可和水资源费征收管理条例》",
    ...                categories=["取水许可"], ratio="0.05")
    >>> assert_valid_draw(rc.draw([item], pool, seed="2026-11-26"))
    """
    __tracebackhide__ = True
    if not isinstance(result, DrawResult):
        raise TypeError(f"expected a DrawResult, got {type(result).__name__}")
    problems: list[str] = []
    for index in range(len(result.item_draws)):
        _check_item_draw(result, index, problems)
    _check_tasks(result, problems)
    _check_record(result, problems)
    if problems:
        _fail(f"the draw is not valid ({len(problems)} problems)", problems)


# -- assert_reproducible ---------------------------------------------------------


def _without_stamp(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "created_at"}


def _record_differences(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    a, b = _without_stamp(first), _without_stamp(second)
    out: list[str] = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            continue
        if key == "draws":
            old = {d.get("item"): d for d in a.get("draws", [])}
            new = {d.get("item"): d for d in b.get("draws", [])}
            for code in sorted(set(old) | set(new), key=str):
                x, y = old.get(code), new.get(code)
                if x == y:
                    continue
                if x is None or y is None:
                    out.append(f"item {code}: drawn only {'the second' if x is None else 'first'}")
                    continue
                gone = sorted(set(x.get("selected", [])) - set(y.get("selected", [])))
                added = sorted(set(y.get("selected", [])) - set(x.get("selected", [])))
                if gone or added:
                    out.append(
                        f"item {code}: selection differs (first only: [{_ids(gone)}]; "
                        f"second only: [{_ids(added)}])"
                    )
                else:
                    fields = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
                    out.append(f"item {code}: {', '.join(fields)} differ")
        elif key == "pools":
            out.append(f"pool digests differ: {a.get(key)} vs {b.get(key)}")
        else:
            out.append(f"{key!r} differs")
    return out


def _entity_rows(entities: EntityPool | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(entities, EntityPool):
        return entities.to_records()
    return [dict(row) for row in entities]


def _permutations(size: int, count: int) -> list[npt.NDArray[np.intp]]:
    perms = [np.arange(size, dtype=np.intp)[::-1]]
    # Test scaffolding only: the order of input rows, never a draw.
    rng = np.random.default_rng(20161)
    perms += [rng.permutation(size).astype(np.intp) for _ in range(max(count - 1, 0))]
    return perms[:count]


def assert_reproducible(
    subject: DrawResult | Callable[[list[dict[str, Any]]], DrawResult],
    entities: EntityPool | Iterable[Mapping[str, Any]] | None = None,
    *,
    shuffles: int = 3,
) -> None:
    """Assert that a draw is a pure function of its inputs.

    The same inputs must give the same record (``created_at`` aside), and
    the same entity rows in another order must give the same pool digest and
    the same selections, since a pool is identified by its content, not by the
    order of rows in a file. A :class:`~randcheck.DrawResult` must moreover
    replay with :func:`randcheck.verify`.

    Parameters
    ----------
    subject
        A :class:`~randcheck.DrawResult` (redrawn from its own items, pools,
        seed and date), or a function ``draw_fn(entity_rows) -> DrawResult``
        for your own pipeline (loading, policies, plugins…), called on the rows
        in the given order and shuffled.
    entities
        Entity records (or a pool, whose records are used). Required with a
        function; with a result, defaults to the result's pool.
    shuffles
        How many reorderings of the rows to try (the first is the reverse).

    Raises
    ------
    AssertionError
        naming the run that differed and what differs (items, selections,
        pool digest).
    """
    __tracebackhide__ = True
    run: Callable[[list[dict[str, Any]]], DrawResult]
    if isinstance(subject, DrawResult):
        result = subject
        rows = _entity_rows(entities if entities is not None else result.entities)
        inspectors = result.inspectors

        def redraw(given: list[dict[str, Any]]) -> DrawResult:
            return draw(
                result.items,
                EntityPool.from_records(given),
                inspectors,
                seed=result.seed,
                on=result.on,
            )

        run = redraw
        try:
            verify(result.record, result.entities, result.inspectors)
        except VerificationError as exc:
            _fail("the draw does not replay from its own record", list(exc.differences))
        first = result
        runs: list[tuple[str, list[dict[str, Any]]]] = [("the same inputs", rows)]
    elif callable(subject):
        if entities is None:
            raise TypeError("assert_reproducible(draw_fn, entities): give the entity rows")
        rows = _entity_rows(entities)
        run = subject
        first = run([dict(r) for r in rows])
        if not isinstance(first, DrawResult):
            raise TypeError(f"draw_fn must return a DrawResult, not {type(first).__name__}")
        runs = [("the same inputs", rows)]
    else:
        raise TypeError(f"expected a DrawResult or a function, not {type(subject).__name__}")
    for number, perm in enumerate(_permutations(len(rows), shuffles), start=1):
        label = "rows reversed" if number == 1 else f"rows shuffled (ordering {number})"
        runs.append((label, [rows[i] for i in perm.tolist()]))
    reference = first.record
    for label, given in runs:
        again = run([dict(r) for r in given])
        differences = _record_differences(reference, again.record)
        if differences:
            _fail(f"the draw is not reproducible: {label} gave another record", differences)


# -- assert_no_conflicts ----------------------------------------------------------


def _teams_of(subject: object) -> list[tuple[str, tuple[str, ...]]]:
    teams = getattr(subject, "teams", None)
    if isinstance(teams, Mapping):
        return [(str(k), tuple(v)) for k, v in teams.items()]
    if isinstance(subject, Mapping):
        return [(str(k), tuple(v)) for k, v in subject.items()]
    tasks = getattr(subject, "tasks", subject)
    if not isinstance(tasks, Iterable):
        raise TypeError(
            "expected a DrawResult, a team assignment, a mapping entity → team or tasks, "
            f"not {type(subject).__name__}"
        )
    out = []
    for task in tasks:
        if not isinstance(task, Task):
            raise TypeError(f"expected Task objects, got {type(task).__name__}")
        out.append((task.entity_id, tuple(task.team)))
    return out


def _conflict_pairs(
    conflicts: Iterable[Conflict | Mapping[str, Any] | tuple[str, str]],
) -> dict[tuple[str, str], str]:
    pairs: dict[tuple[str, str], str] = {}
    for c in conflicts:
        if isinstance(c, Conflict):
            inspector, entity, reason = c.inspector_id, c.entity_id, c.reason
        elif isinstance(c, Mapping):
            inspector = canonical_id(c["inspector_id"])
            entity = canonical_id(c["entity_id"])
            reason = str(c.get("reason") or "")
        else:
            inspector, entity = (canonical_id(v) for v in c)
            reason = ""
        pairs.setdefault((inspector, entity), reason)
    return pairs


def assert_no_conflicts(
    result: object,
    conflicts: Iterable[Conflict | Mapping[str, Any] | tuple[str, str]],
    *,
    plugins: Plugins | None = None,
    require_teams: bool = False,
) -> None:
    """Assert that no team holds an inspector recused (回避) from its entity.

    Parameters
    ----------
    result
        A :class:`~randcheck.DrawResult` (its tasks' ``team``), a team
        assignment with a ``teams`` mapping, a mapping entity id → inspector
        ids, or an iterable of :class:`~randcheck.Task`.
    conflicts
        :class:`~randcheck.Conflict` records, mappings with ``inspector_id``,
        ``entity_id`` (and ``reason``), or ``(inspector_id, entity_id)`` pairs.
    plugins
        When given (with a :class:`~randcheck.DrawResult` that has an inspector
        pool), every plugin's ``randcheck_conflicts`` veto is checked too.
    require_teams
        Also fail when a task has no team yet. By default tasks without a team
        are skipped: the entity draw comes before the team draw.

    Raises
    ------
    AssertionError
        naming each task, inspector and reason.
    """
    __tracebackhide__ = True
    pairs = _conflict_pairs(conflicts)
    problems: list[str] = []
    teams = _teams_of(result)
    for entity, team in teams:
        if not team and require_teams:
            problems.append(f"task for {entity!r} has no team")
        for inspector in team:
            if (inspector, entity) in pairs:
                reason = pairs[(inspector, entity)] or "no reason recorded"
                problems.append(
                    f"task for {entity!r}: inspector {inspector!r} is recused ({reason})"
                )
    if plugins is not None and isinstance(result, DrawResult) and result.inspectors is not None:
        for task in result.tasks:
            if not task.team:
                continue
            entity_obj = result.entities[task.entity_id]
            for inspector in task.team:
                reasons = plugins.conflicts(task, result.inspectors[inspector], entity_obj)
                if reasons:
                    problems.append(
                        f"task for {task.entity_id!r}: inspector {inspector!r} is vetoed by a "
                        f"plugin ({'; '.join(reasons)})"
                    )
    if problems:
        _fail(f"{len(problems)} conflicts of interest on the teams", problems)


# -- assert_inclusion_probabilities -------------------------------------------------


@attrs.frozen(eq=False)
class InclusionAudit:
    """What :func:`assert_inclusion_probabilities` measured (when it passed).

    ``observed`` and ``expected`` map each id to its frequency and stated
    probability; ``p_values`` to the exact two-sided binomial p-value of its
    count; ``omnibus_p_value`` is that of the grouped test (1.0 when it could not
    be computed); ``threshold`` is ``alpha`` divided by the number of tests.
    """

    n_trials: int
    observed: dict[str, float]
    expected: dict[str, float]
    p_values: dict[str, float]
    omnibus_p_value: float
    size_p_value: float
    alpha: float
    threshold: float

    @property
    def worst(self) -> str | None:
        """The id whose count is least likely under the stated probabilities."""
        if not self.p_values:
            return None
        return min(self.p_values, key=lambda k: (self.p_values[k], k))


def _binomial_log_p(
    counts: npt.NDArray[np.int64], trials: int, p: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Natural log of the exact two-sided binomial p-value (twice the smaller tail)."""
    from scipy import stats

    with np.errstate(divide="ignore"):
        lower = stats.binom.logcdf(counts, trials, p)  # P(X <= k)
        upper = stats.binom.logsf(counts - 1, trials, p)  # P(X >= k)
    log_p = np.minimum(np.log(2.0) + np.minimum(lower, upper), 0.0)
    return np.asarray(
        np.nan_to_num(log_p, nan=-np.inf, neginf=-np.inf, posinf=0.0), dtype=np.float64
    )


def _format_p(log_p: float) -> str:
    if log_p == -math.inf:
        return "0 (impossible under the stated probabilities)"
    if log_p > math.log(1e-300):
        return f"{math.exp(log_p):.3g}"
    return f"10^{log_p / math.log(10):.1f}"


def _omnibus(
    counts_by_group: npt.NDArray[np.int64], mu: npt.NDArray[np.float64]
) -> tuple[float, str]:
    """Hotelling's T² on the per-draw group counts: ``(p-value, description)``.

    Only directions in which the counts varied from draw to draw are tested;
    the others (a fixed sample size) are left to the sample-size check.
    """
    from scipy import stats

    trials, groups = counts_by_group.shape
    if trials < 3 or groups == 0:
        return 1.0, "not computed (too few draws)"
    y = counts_by_group.astype(np.float64)
    diff = y.mean(axis=0) - mu
    cov = np.atleast_2d(np.cov(y, rowvar=False, ddof=1))
    values, vectors = np.linalg.eigh(cov)
    keep = values > max(float(values.max(initial=0.0)), 1.0) * 1e-10 * groups
    rank = int(keep.sum())
    if rank == 0 or trials <= rank:
        return 1.0, "not computed (the group counts never varied)"
    z = vectors[:, keep].T @ diff
    t2 = float(trials * np.sum(z * z / values[keep]))
    f = t2 * (trials - rank) / (rank * (trials - 1))
    p = float(stats.f.sf(f, rank, trials - rank))
    return p, f"Hotelling T² = {t2:.1f} on {rank} directions over {groups} groups by π"


def assert_inclusion_probabilities(
    draw_fn: Callable[[Any], Iterable[Hashable]],
    expected: Mapping[str, float | Any],
    *,
    seeds: Iterable[Any] | None = None,
    n_trials: int | None = None,
    alpha: float = 1e-6,
    progress_bar: bool | None = None,
) -> InclusionAudit:
    """Assert that ``draw_fn`` selects each id with the stated probability.

    ``draw_fn(seed)`` is called once per seed and returns the ids it selected.
    Over all draws, the count of each id is held to its stated probability
    ``π`` by an **exact two-sided binomial test** (twice the smaller exact
    tail, from :data:`scipy.stats.binom`), and the whole by an **omnibus
    test** (Hotelling's T² on the per-draw counts of up to ten groups of ids
    by ``π``, which catches many small deviations in the same direction) and
    a **sample-size check** (when every draw selected the same number, the
    stated probabilities must sum to it). The tests share ``alpha`` by
    Bonferroni: each runs at ``alpha / (ids + 2)``.

    With fixed seeds the outcome is deterministic, and with a tiny ``alpha``
    a correct sampler fails with probability at most ``alpha`` for a fresh set
    of seeds, so a test built on this is never flaky. A sampler that is not
    πps, such as successive sampling (``numpy.random.Generator.choice``
    without replacement and ``p=w/w.sum()``: the heaviest of weights 1..10 gets
    0.504 instead of 0.545 with ``n = 3``), fails within 20,000 draws.

    Parameters
    ----------
    draw_fn
        ``draw_fn(seed) -> iterable of selected ids``.
    expected
        id → stated inclusion probability (floats or exact fractions). Every
        id not listed has probability 0.
    seeds
        The seeds to pass (any values ``draw_fn`` accepts). Default: the
        integers ``0, 1, 2, …``. May be endless when ``n_trials`` is given.
    n_trials
        Number of draws: the first ``n_trials`` seeds. Default: every seed
        given, or 10,000.
    alpha
        Family-wise probability of failing a correct sampler.
    progress_bar
        Show a progress bar on standard error: ``None`` (default) when it is
        a terminal.

    Returns
    -------
    InclusionAudit
        The observed frequencies and p-values (when the assertion passes).

    Raises
    ------
    AssertionError
        naming the worst id with its observed and expected frequency and
        p-value, the other ids that fail, and the omnibus result; also when a
        draw returns an id twice or an id with probability 0.
    ValueError
        for a probability outside ``[0, 1]`` or no draws.

    Examples
    --------
    >>> import randcheck as rc
    >>> from randcheck.testing import assert_inclusion_probabilities
    >>> pool = rc.EntityPool.from_records(
    ...     {"id": f"E{i}", "category": "重点排污单位", "credit_class": "ABCD"[i % 4]}
    ...     for i in range(12))
    >>> item = rc.Item(code="HB-01", name="重点排污单位检查", station="环境监察大队",
    ...                legal_basis="《排污许可管理条例》", categories=["重点排污单位"],
    ...                ratio="0.25", policy=rc.RiskWeighted())
    >>> def draw_fn(seed):
    ...     return rc.draw([item], pool, seed=seed, on="2026-11-26").selected("HB-01")
    >>> pi = rc.draw([item], pool, seed=0, on="2026-11-26").inclusion_probabilities("HB-01")
    >>> audit = assert_inclusion_probabilities(draw_fn, pi, n_trials=2000)
    """
    __tracebackhide__ = True
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    ids = [str(k) for k in expected]
    p = np.array([float(expected[k]) for k in expected], dtype=np.float64)
    if p.size and (not np.isfinite(p).all() or p.min() < 0 or p.max() > 1):
        bad = ids[int(np.flatnonzero(~((p >= 0) & (p <= 1)))[0])]
        raise ValueError(f"the stated probability of {bad!r} is not in [0, 1]")
    index = {k: i for i, k in enumerate(ids)}
    if seeds is None:
        trials = DEFAULT_TRIALS if n_trials is None else int(n_trials)
        seed_iter: Iterable[Any] = range(trials)
    else:
        seed_iter = seeds
        if n_trials is not None:
            import itertools

            seed_iter = itertools.islice(seeds, int(n_trials))
        trials = (
            n_trials if n_trials is not None else len(seeds) if isinstance(seeds, Sequence) else 0
        )

    uncertain = np.flatnonzero((p > 0) & (p < 1))
    order = uncertain[np.argsort(p[uncertain], kind="stable")]
    groups = np.full(p.size, -1, dtype=np.intp)
    group_count = min(OMNIBUS_GROUPS, order.size)
    for g, members in enumerate(np.array_split(order, group_count) if group_count else []):
        groups[members] = g

    counts = np.zeros(p.size, dtype=np.int64)
    by_group: list[npt.NDArray[np.int64]] = []
    sizes: list[int] = []
    strangers: dict[str, int] = {}
    repeats: list[str] = []
    done = 0
    for seed in progress(
        seed_iter, total=trials or None, desc="inclusion audit", enabled=progress_bar
    ):
        selected = [str(s) for s in draw_fn(seed)]
        done += 1
        if len(set(selected)) != len(selected) and len(repeats) < 3:
            twice = sorted({s for s in selected if selected.count(s) > 1})
            repeats.append(f"seed {seed!r} selected {_ids(twice)} more than once")
        known = [index[s] for s in selected if s in index]
        for ident in selected:
            if ident not in index:
                strangers[ident] = strangers.get(ident, 0) + 1
        pos = np.asarray(known, dtype=np.intp)
        np.add.at(counts, pos, 1)
        hit = groups[pos]
        by_group.append(np.bincount(hit[hit >= 0], minlength=group_count).astype(np.int64))
        sizes.append(len(selected))
    if done == 0:
        raise ValueError("no draws: give seeds or n_trials >= 1")
    if repeats:
        _fail("a draw selected the same id twice (a sample is without replacement)", repeats)
    if strangers:
        listed = sorted(strangers.items(), key=lambda kv: (-kv[1], kv[0]))
        _fail(
            "draws selected ids with stated probability 0 (not in expected)",
            [f"{k!r}: selected in {v:,} of {done:,} draws" for k, v in listed],
        )

    tests = p.size + 2
    threshold = alpha / tests
    log_p = _binomial_log_p(counts, done, p)
    freq = counts / done

    size_array = np.asarray(sizes, dtype=np.int64)
    total = float(p.sum())
    size_p = 1.0
    size_note = ""
    if size_array.size and (size_array == size_array[0]).all():
        s = int(size_array[0])
        delta = abs(total - s)
        if delta > 1e-9 * max(1.0, total):
            low, high = int((p >= 1).sum()), int((p > 0).sum())
            spread = max(s - low, high - s, 1)
            size_p = max(0.0, 1.0 - delta / spread) ** done
            size_note = (
                f"every draw selected {s}, but the stated probabilities sum to {total:.6g} "
                f"(p ≤ {size_p:.3g})"
            )
    omnibus_p, omnibus_note = _omnibus(
        np.array(by_group, dtype=np.int64).reshape(done, group_count),
        np.array([p[groups == g].sum() for g in range(group_count)], dtype=np.float64),
    )

    failing = np.flatnonzero(log_p < math.log(threshold))
    if failing.size or omnibus_p < threshold or size_p < threshold:
        problems: list[str] = []
        ranked = failing[np.lexsort((-np.abs(freq[failing] - p[failing]), log_p[failing]))]
        for rank, i in enumerate(ranked[:_SHOWN]):
            lead = "worst: " if rank == 0 else ""
            problems.append(
                f"{lead}{ids[i]!r} drawn in {counts[i]:,} of {done:,} draws "
                f"(frequency {freq[i]:.4f}), expected {p[i]:.4f}; "
                f"two-sided binomial p = {_format_p(float(log_p[i]))}"
            )
        if failing.size > _SHOWN:
            problems.append(f"… and {failing.size - _SHOWN} more ids")
        if omnibus_p < threshold:
            problems.append(f"omnibus: {omnibus_note}, p = {omnibus_p:.3g}")
        if size_p < threshold:
            problems.append(f"sample size: {size_note}")
        _fail(
            f"inclusion frequencies differ from the stated probabilities "
            f"({done:,} draws; alpha {alpha:g} over {tests} tests, each at {threshold:.3g})",
            problems,
        )
    return InclusionAudit(
        n_trials=done,
        observed=dict(zip(ids, freq.tolist(), strict=True)),
        expected=dict(zip(ids, p.tolist(), strict=True)),
        p_values=dict(zip(ids, np.exp(log_p).tolist(), strict=True)),
        omnibus_p_value=omnibus_p,
        size_p_value=size_p,
        alpha=alpha,
        threshold=threshold,
    )
