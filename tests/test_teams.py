"""Tests of inspector team assignment: validity, feasibility, exact odds, substitutes."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import randcheck.teams as tm
from randcheck.canonical import canonical_json, jcs_loads
from randcheck.errors import InfeasibleAssignment, InputError
from randcheck.model import Conflict, Inspector, Item, Task
from randcheck.pools import InspectorPool
from randcheck.stream import Seed
from randcheck.teams import (
    PairCapTooSmall,
    TeamAssignment,
    UnstaffableTasks,
    assign_teams,
    substitute,
)

ON = dt.date(2026, 6, 1)
WATER, ENV = "水利工作站", "环境监察大队"
SPECS = ("水资源", "大气")

ITEMS: dict[str, Item] = {
    "W1": Item(code="W1", name="取水许可", station=WATER, legal_basis="水法", specialty="水资源"),
    "W2": Item(code="W2", name="水土保持", station=WATER, legal_basis="水土保持法"),
    "H1": Item(code="H1", name="排放", station=ENV, legal_basis="大气法", specialty="大气"),
    "H2": Item(code="H2", name="排污许可", station=ENV, legal_basis="条例", team_size=3),
}


def person(
    k: int, station: str, specs: Sequence[str] = (), *, valid: bool = True, active: bool = True
) -> Inspector:
    return Inspector(
        id=f"I{k:02d}",
        name=f"inspector {k}",
        station=station,
        certificate_no=f"青刚执字{k:04d}号",
        certificate_valid_until="2030-12-31" if valid else "2025-01-01",
        specialties=tuple(specs),
        active=active,
    )


def task(entity: str, *codes: str) -> Task:
    return Task(entity_id=entity, items=codes, stations=())


# -- an independent checker and brute force ---------------------------------------------


def requirements(t: Task, items: Mapping[str, Item]) -> tuple[int, dict[str, set[str]]]:
    its = [items[c] for c in t.items]
    stations = {it.station for it in its}
    size = max(max(it.team_size for it in its), len(stations))
    specs: dict[str, set[str]] = {s: set() for s in stations}
    for it in its:
        if it.specialty:
            specs[it.station].add(it.specialty)
    return size, specs


def excluded_pairs(
    conflicts: Iterable[Conflict], history: Mapping[str, Iterable[str]] | None
) -> set[tuple[str, str]]:
    out = {(c.entity_id, c.inspector_id) for c in conflicts}
    for entity, ids in (history or {}).items():
        out.update((entity, i) for i in ids)
    return out


def team_ok(
    team: Sequence[Inspector],
    size: int,
    specs: Mapping[str, set[str]],
    entity: str,
    excluded: set[tuple[str, str]],
) -> bool:
    if len(team) != size or len({m.id for m in team}) != size:
        return False
    if any(not m.eligible_on(ON) or m.station not in specs for m in team):
        return False
    if any((entity, m.id) in excluded for m in team):
        return False
    return all(
        any(m.station == s and need <= set(m.specialties) for m in team)
        for s, need in specs.items()
    )


def cap_of(caps: int | Mapping[str, int] | None, ident: str) -> int | None:
    if caps is None:
        return None
    if isinstance(caps, int):
        return caps
    return caps.get(ident)


def check_assignment(
    result: TeamAssignment,
    tasks: Sequence[Task],
    items: Mapping[str, Item],
    pool: InspectorPool,
    *,
    conflicts: Iterable[Conflict] = (),
    history: Mapping[str, Iterable[str]] | None = None,
    caps: int | Mapping[str, int] | None = None,
    check_loads: bool = True,
) -> None:
    __tracebackhide__ = True
    excluded = excluded_pairs(conflicts, history)
    assert set(result.teams) == {t.entity_id for t in tasks}
    for t in tasks:
        size, specs = requirements(t, items)
        team = result.teams[t.entity_id]
        assert list(team) == sorted(team)
        members = [pool[i] for i in team]
        assert team_ok(members, size, specs, t.entity_id, excluded), (t, team)
    loads = Counter(i for team in result.teams.values() for i in team)
    for ident in pool.ids:
        cap = cap_of(caps, ident)
        if cap is not None:
            assert loads[ident] <= cap, (ident, loads[ident], cap)
        if check_loads:
            expected = result.probabilities.expected_load(ident)
            assert math.floor(expected) <= loads[ident] <= math.ceil(expected), (
                ident,
                loads[ident],
                expected,
            )


def brute_force_feasible(
    tasks: Sequence[Task],
    items: Mapping[str, Item],
    pool: InspectorPool,
    *,
    conflicts: Iterable[Conflict] = (),
    caps: int | Mapping[str, int] | None = None,
) -> bool:
    excluded = excluded_pairs(conflicts, None)
    options: list[list[tuple[str, ...]]] = []
    for t in tasks:
        size, specs = requirements(t, items)
        teams = [
            tuple(m.id for m in combo)
            for combo in itertools.combinations(list(pool), size)
            if team_ok(combo, size, specs, t.entity_id, excluded)
        ]
        if not teams:
            return False
        options.append(teams)
    for choice in itertools.product(*options):
        loads = Counter(i for team in choice for i in team)
        if all(
            cap_of(caps, i) is None or n <= cap_of(caps, i)  # type: ignore[operator]
            for i, n in loads.items()
        ):
            return True
    return False


# -- exact distribution of the whole procedure ------------------------------------------


def exact_marginals(
    plan: Any, seed: Seed, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[tuple[str, str], Fraction], list[dict[str, tuple[str, ...]]]]:
    """Pr[inspector on task] by enumerating every coin of every level and every shuffle."""
    net, bits = plan.net, plan.odds.bits
    inst = plan.inst
    leaves: list[tuple[np.ndarray, Fraction]] = []

    def walk(num: np.ndarray, level: int, weight: Fraction) -> None:
        if level == bits:
            assert not (num % (1 << bits)).any()
            leaves.append((num >> bits, weight))
            return
        phase = tm._stream_bits(seed.stream("teams", "phase", str(level)), net.n_rows)
        lp = tm._level_plan(net, num, level, phase)
        if lp.empty:
            walk(num, level + 1, weight)
            return
        leaders = sorted(set(lp.lead.tolist()) | set(lp.load_lead.tolist()))
        for bits_ in itertools.product((False, True), repeat=len(leaders)):
            coins = np.zeros(net.n_edges, dtype=bool)
            coins[leaders] = bits_
            nxt = num.copy()
            lp.apply(nxt, coins, level)
            walk(nxt, level + 1, weight / (1 << len(leaders)))

    walk(plan.numerators(), 0, Fraction(1))
    place = tm._class_places
    marg: Counter[tuple[str, str]] = Counter()
    outcomes: list[dict[str, tuple[str, ...]]] = []
    for counts, weight in leaves:

        def run(choose: Callable[[int], int], counts: np.ndarray = counts) -> Any:
            monkeypatch.setattr(tm, "_class_places", lambda k, mu, _below: place(k, mu, choose))
            try:
                return tm._teams_from_counts(plan, counts[: inst.n_pairs], seed)
            finally:
                monkeypatch.undo()

        for teams, w in enumerate_choices(run):
            outcomes.append(teams)
            for entity, team in teams.items():
                for ident in team:
                    marg[(entity, ident)] += weight * w  # type: ignore[assignment]
    return dict(marg), outcomes


class _NeedChoiceError(Exception):
    pass


def enumerate_choices(run: Callable[[Callable[[int], int]], Any]) -> list[tuple[Any, Fraction]]:
    """Run ``run(choose)`` for every sequence of answers to ``choose(n)`` (uniform in
    ``range(n)``); return each result with its probability."""
    results: list[tuple[Any, Fraction]] = []
    stack: list[tuple[list[int], Fraction]] = [([], Fraction(1))]
    while stack:
        prefix, weight = stack.pop()
        pos, need = 0, 0

        def choose(n: int, prefix: list[int] = prefix) -> int:
            nonlocal pos, need
            if pos < len(prefix):
                pos += 1
                return prefix[pos - 1]
            need = n
            raise _NeedChoiceError

        try:
            result = run(choose)
        except _NeedChoiceError:
            stack.extend(([*prefix, v], weight / need) for v in range(need))
            continue
        results.append((result, weight))
    return results


def test_class_places_balance_members_and_keep_teams_distinct() -> None:
    counts = [2, 3, 1, 3, 3, 2]
    for result, weight in enumerate_choices(lambda choose: tm._class_places(counts, 3, choose))[
        ::7
    ]:
        assert weight > 0
        assert Counter(result) == Counter({0: 5, 1: 5, 2: 4}) or sorted(
            Counter(result).values()
        ) == [4, 5, 5]
        start = 0
        for k in counts:
            assert len(set(result[start : start + k])) == k
            start += k
    # Every member is on every task with probability counts[t] / mu.
    outcomes = enumerate_choices(lambda choose: tm._class_places([2, 2, 1], 3, choose))
    for _t, (lo, hi) in enumerate([(0, 2), (2, 4), (4, 5)]):
        for m in range(3):
            p = sum(w for r, w in outcomes if m in r[lo:hi])
            assert p == Fraction(hi - lo, 3)


# -- fixtures --------------------------------------------------------------------------


def small_world() -> tuple[list[Task], InspectorPool, list[Conflict]]:
    pool = InspectorPool(
        [
            person(1, WATER, ["水资源"]),
            person(2, WATER, ["水资源"]),
            person(3, WATER),
            person(4, WATER, ["水资源"], valid=False),
            person(5, ENV, ["大气"]),
            person(6, ENV),
            person(7, ENV, ["大气"]),
            person(8, ENV),
            person(9, WATER),
        ]
    )
    tasks = [
        task("E1", "W1"),
        task("E2", "W1", "W2"),
        task("E3", "H1"),
        task("E4", "W2", "H1"),
        task("E5", "H2"),
    ]
    conflicts = [Conflict("I01", "E2", "亲属关系"), Conflict("I07", "E3", "企业申请回避")]
    return tasks, pool, conflicts


# -- validity ---------------------------------------------------------------------------


def test_every_rule_holds_on_a_small_world() -> None:
    tasks, pool, conflicts = small_world()
    for k in range(20):
        result = assign_teams(tasks, ITEMS, pool, seed=f"s{k}", on=ON, conflicts=conflicts)
        check_assignment(result, tasks, ITEMS, pool, conflicts=conflicts)
    assert result.teams["E5"]
    assert len(result.teams["E5"]) == 3
    assert set(result.teams["E4"]) & {"I01", "I02", "I03", "I09"}  # a water inspector
    assert set(result.teams["E4"]) & {"I05", "I07"}  # an 大气 holder
    assert result.ineligible == {"I04": "certificate expired 2025-01-01 (before 2026-06-01)"}


def test_sample_county_assigns_valid_teams() -> None:
    data = Path(__file__).resolve().parents[1] / "src" / "randcheck" / "data"
    with open(data / "inspectors.csv", encoding="utf-8-sig") as f:
        pool = InspectorPool.from_records(list(csv.DictReader(f)))
    with open(data / "conflicts.csv", encoding="utf-8-sig") as f:
        conflicts = [Conflict(**row) for row in csv.DictReader(f)]
    items: dict[str, Item] = {}
    with open(data / "items.csv", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            items[row["code"]] = Item(
                code=row["code"],
                name=row["name"],
                station=row["station"],
                legal_basis=row["legal_basis"],
                categories=row["categories"],
                team_size=int(row["team_size"]),
                specialty=row["specialty"] or None,
            )
    by_category: dict[str, list[str]] = {}
    for item in items.values():
        for category in item.categories:
            by_category.setdefault(category, []).append(item.code)
    with open(data / "entities.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    tasks = []
    for row in rows[::50]:
        codes = by_category.get(row.get("category", ""), [])
        if codes:
            tasks.append(task(row["id"], *sorted(codes)))
    assert len(tasks) > 20
    result = assign_teams(
        tasks, items, pool, seed="刚察县 2026 第1轮", on=ON, conflicts=conflicts, max_tasks=12
    )
    assert max(result.loads().values()) <= 12
    check_assignment(result, tasks, items, pool, conflicts=conflicts, caps=12)
    record = jcs_loads(canonical_json(result.to_record()))
    assert record["teams"] == {e: list(t) for e, t in sorted(result.teams.items())}


def test_same_seed_same_teams_and_seeds_matter() -> None:
    tasks, pool, conflicts = small_world()
    a = assign_teams(tasks, ITEMS, pool, seed="2026 第1轮", on=ON, conflicts=conflicts)
    b = assign_teams(
        list(reversed(tasks)),
        ITEMS,
        pool,
        seed="2026 第1轮",
        on=ON,
        conflicts=list(reversed(conflicts)),
    )
    assert a.teams == b.teams
    assert canonical_json(a.to_record()) == canonical_json(b.to_record())
    others = {
        tuple(
            sorted(
                assign_teams(
                    tasks, ITEMS, pool, seed=f"other {k}", on=ON, conflicts=conflicts
                ).teams.items()
            )
        )
        for k in range(12)
    }
    assert len(others) > 1


def test_loads_stay_within_floor_and_ceiling_of_expected_load() -> None:
    rng = np.random.default_rng(7)
    pool = InspectorPool([person(k, WATER, ["水资源"] if k % 3 else []) for k in range(13)])
    tasks = [task(f"E{t:03d}", "W1" if t % 2 else "W2") for t in range(90)]
    conflicts = [
        Conflict(f"I{k:02d}", f"E{t:03d}", "x")
        for t, k in zip(*np.nonzero(rng.random((90, 13)) < 0.15), strict=True)
    ]
    for k in range(15):
        result = assign_teams(tasks, ITEMS, pool, seed=k, on=ON, conflicts=conflicts)
        check_assignment(result, tasks, ITEMS, pool, conflicts=conflicts)
    assert sum(result.probabilities.expected_load(i) for i in pool.ids) == 180


# -- feasibility ------------------------------------------------------------------------


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(2, 6))
    people = []
    for k in range(n):
        station = draw(st.sampled_from([WATER, ENV]))
        usual = SPECS[0] if station == WATER else SPECS[1]
        specs = draw(st.sampled_from([[], [usual], [usual], list(SPECS)]))
        valid = draw(st.sampled_from([True, True, True, True, False]))
        people.append(person(k, station, specs, valid=valid))
    n_tasks = draw(st.integers(1, 3))
    tasks = [
        Task(
            entity_id=f"E{t}",
            items=tuple(
                draw(
                    st.lists(
                        st.sampled_from(["W1", "W2", "H1"]), min_size=1, max_size=2, unique=True
                    )
                )
            ),
            stations=(),
        )
        for t in range(n_tasks)
    ]
    pairs = [(t.entity_id, p.id) for t in tasks for p in people]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=3))
    conflicts = [Conflict(i, e, "回避") for e, i in chosen]
    caps = draw(
        st.none()
        | st.integers(1, 3)
        | st.dictionaries(st.sampled_from([p.id for p in people]), st.integers(0, 2), max_size=2)
    )
    return {"pool": InspectorPool(people), "tasks": tasks, "conflicts": conflicts, "caps": caps}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.integers(0, 10**6))
def test_assign_succeeds_exactly_when_a_solution_exists(world: dict[str, Any], salt: int) -> None:
    pool, tasks, conflicts, caps = world["pool"], world["tasks"], world["conflicts"], world["caps"]
    exists = brute_force_feasible(tasks, ITEMS, pool, conflicts=conflicts, caps=caps)
    kwargs: dict[str, Any] = {"conflicts": conflicts, "max_tasks": caps, "grid_bits": 8}
    if exists:
        result = assign_teams(tasks, ITEMS, pool, seed=salt, on=ON, **kwargs)
        check_assignment(result, tasks, ITEMS, pool, conflicts=conflicts, caps=caps)
        return
    with pytest.raises(UnstaffableTasks) as info:
        assign_teams(tasks, ITEMS, pool, seed=salt, on=ON, **kwargs)
    error = info.value
    # The named tasks alone already cannot be staffed: a real bottleneck.
    named = [t for t in tasks if t.entity_id in error.tasks]
    assert named
    assert not brute_force_feasible(named, ITEMS, pool, conflicts=conflicts, caps=caps)
    assert error.shortfall >= 1
    assert "cannot staff" in str(error)


def test_infeasibility_names_the_scarce_certification() -> None:
    pool = InspectorPool(
        [
            person(1, WATER, ["水资源"]),
            person(2, WATER, ["水资源"], valid=False),
            person(3, WATER, ["水资源"]),
            person(4, WATER),
            person(5, WATER),
            person(6, ENV, ["大气"]),
            person(7, ENV),
        ]
    )
    tasks = [task(f"E{t}", "W1") for t in range(3)] + [task("E9", "H1")]
    conflicts = [Conflict("I03", "E0", "亲属关系"), Conflict("I03", "E1", "企业申请回避")]
    with pytest.raises(UnstaffableTasks) as info:
        assign_teams(tasks, ITEMS, pool, seed=1, on=ON, conflicts=conflicts, max_tasks=1)
    error = info.value
    text = str(error)
    assert "水利工作站 inspector holding 水资源" in text
    assert "I03 on E0 (亲属关系)" in text
    assert "I02 (certificate expired" in text
    assert set(error.tasks) <= {"E0", "E1", "E2"}
    assert len(error.tasks) >= 2
    assert "E9" not in error.tasks
    assert error.bottlenecks[0]["candidates"]
    assert error.shortfall >= 1
    assert not brute_force_feasible(
        [t for t in tasks if t.entity_id in error.tasks],
        ITEMS,
        pool,
        conflicts=conflicts,
        caps=1,
    )
    # Lifting the cap makes it feasible: the bottleneck was capacity, not eligibility.
    assign_teams(tasks, ITEMS, pool, seed=1, on=ON, conflicts=conflicts)


def test_empty_pool_and_empty_task_list() -> None:
    with pytest.raises(InfeasibleAssignment, match="inspector pool is empty"):
        assign_teams([task("E1", "W1")], ITEMS, InspectorPool([]), seed=1, on=ON)
    result = assign_teams([], ITEMS, InspectorPool([person(1, WATER)]), seed=1, on=ON)
    assert result.teams == {}
    with pytest.raises(UnstaffableTasks, match="0 such inspector"):
        assign_teams([task("E1", "W1")], ITEMS, InspectorPool([person(1, ENV)]), seed=1, on=ON)


def test_bad_input_is_refused() -> None:
    tasks, pool, _ = small_world()
    with pytest.raises(InputError, match="unknown item"):
        assign_teams([task("E1", "XX")], ITEMS, pool, seed=1, on=ON)
    with pytest.raises(InputError, match="same entity"):
        assign_teams([task("E1", "W1"), task("E1", "W2")], ITEMS, pool, seed=1, on=ON)
    with pytest.raises(InputError, match="max_tasks"):
        assign_teams(tasks, ITEMS, pool, seed=1, on=ON, max_tasks={"nobody": 1})
    with pytest.raises(InputError, match="grid_bits"):
        assign_teams(tasks, ITEMS, pool, seed=1, on=ON, grid_bits=0)
    with pytest.raises(InputError, match="max_pair_probability"):
        assign_teams(tasks, ITEMS, pool, seed=1, on=ON, max_pair_probability=0)


# -- exact odds -------------------------------------------------------------------------


def tiny_world() -> tuple[list[Task], InspectorPool, list[Conflict]]:
    pool = InspectorPool(
        [
            person(1, WATER, ["水资源"]),
            person(2, WATER, ["水资源"]),  # interchangeable with I01
            person(3, WATER),
            person(4, WATER),  # interchangeable with I03
            person(5, WATER, ["水资源"]),
        ]
    )
    tasks = [task("E1", "W1"), task("E2", "W2"), task("E3", "W1")]
    conflicts = [Conflict("I05", "E3", "x")]
    return tasks, pool, conflicts


@pytest.mark.parametrize(("bits", "caps"), [(3, None), (4, None), (3, 2), (3, {"I05": 1})])
def test_odds_are_exact_by_enumeration(
    bits: int, caps: int | dict[str, int] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks, pool, conflicts = tiny_world()
    plan = tm._plan(tasks, ITEMS, pool, on=ON, conflicts=conflicts, max_tasks=caps, grid_bits=bits)
    assert int(plan.inst.class_mu.max()) == 2  # the member stage is enumerated too
    odds = tm.TeamOdds(plan.inst, plan.odds)
    for salt in ("a", "b"):
        seed = Seed.from_text(salt)
        marg, outcomes = exact_marginals(plan, seed, monkeypatch)
        for t in tasks:
            for ident in pool.ids:
                assert marg.get((t.entity_id, ident), Fraction(0)) == odds.probability(
                    t.entity_id, ident
                ), (t.entity_id, ident)
        # Every outcome of the procedure is a valid assignment with balanced loads.
        for teams in outcomes:
            fake = TeamAssignment(
                teams=teams,
                probabilities=odds,
                exclusions=(),
                ineligible={},
                seed=seed,
                on=ON,
                options={},
            )
            check_assignment(fake, tasks, ITEMS, pool, conflicts=conflicts, caps=caps)
    # and the rounding really is random
    assert len({tuple(sorted(o.items())) for o in outcomes}) > 3


def test_capped_odds_are_exact_by_enumeration(monkeypatch: pytest.MonkeyPatch) -> None:
    # Water filling would give I00 a load of 3/2 > 1: the capped stage must act.
    pool = InspectorPool([person(k, WATER) for k in range(4)])
    tasks = [task(f"E{t}", "W2") for t in range(3)]
    plan = tm._plan(tasks, ITEMS, pool, on=ON, max_tasks={"I00": 1}, grid_bits=3)
    assert plan.odds.method.startswith("capped scaling")
    odds = tm.TeamOdds(plan.inst, plan.odds)
    assert odds.expected_load("I00") <= 1
    assert odds.expected_load("I01") == odds.expected_load("I03")
    marg, outcomes = exact_marginals(plan, Seed.from_text("cap"), monkeypatch)
    for t in tasks:
        for ident in pool.ids:
            assert marg.get((t.entity_id, ident), Fraction(0)) == odds.probability(
                t.entity_id, ident
            )
    for teams in outcomes:
        fake = TeamAssignment(
            teams=teams,
            probabilities=odds,
            exclusions=(),
            ineligible={},
            seed=Seed.from_text("cap"),
            on=ON,
            options={},
        )
        check_assignment(fake, tasks, ITEMS, pool, caps={"I00": 1})


def test_fast_path_agrees_with_the_enumerated_procedure() -> None:
    tasks, pool, conflicts = tiny_world()
    plan = tm._plan(tasks, ITEMS, pool, on=ON, conflicts=conflicts, grid_bits=3)
    for salt in range(5):
        seed = Seed.from_text(str(salt))
        num = plan.numerators()
        for level in range(3):
            phase = tm._stream_bits(seed.stream("teams", "phase", str(level)), plan.net.n_rows)
            edges, signs, leaders = tm._level_cycles(plan.net, num, level, phase)
            odd = np.flatnonzero((num >> level) & 1)
            assert sorted(edges.tolist()) == odd.tolist()  # every odd edge exactly once
            coins = tm._stream_bits(seed.stream("teams", "coin", str(level)), plan.net.n_edges)
            step = np.where(coins[leaders], signs, -signs)
            num[edges] += step << level
        expected = tm._round(plan.net, plan.numerators(), 3, seed)
        assert (num >> 3 == expected).all()


def reference_level(
    net: Any, num: list[int], level: int, phase: list[bool], coins: list[bool]
) -> list[int]:
    """One level of docs/teams.md §5, transcribed literally in plain Python."""
    e_n, r_n, c_n, t_n = net.n_pairs, net.n_rows, net.n_classes, net.n_tasks
    sink = r_n + c_n + t_n
    pair_row = net.pair_row.tolist()
    pair_cls = net.pair_cls.tolist()
    row_task = net.row_task.tolist()
    tail: list[int] = []
    head: list[int] = []
    for e in range(e_n):
        tail.append(pair_row[e])
        head.append(r_n + pair_cls[e])
    for r in range(r_n):
        tail.append(r_n + c_n + row_task[r])
        head.append(r)
    for c in range(c_n):
        tail.append(r_n + c)
        head.append(sink)
    odd = [e for e in range(len(num)) if num[e] >> level & 1]
    # 1. rows
    virtual: list[tuple[int, int, int, int]] = []  # (edge 1, edge 2, end 1, end 2)
    for r in range(r_n):
        listed = [e for e in odd if e < e_n and pair_row[e] == r]
        if e_n + r in odd:
            listed.append(e_n + r)
        if phase[r] and listed:
            listed = [*listed[1:], listed[0]]
        for k in range(0, len(listed), 2):
            a, b = listed[k], listed[k + 1]
            far_a = head[a] if a < e_n else tail[a]
            far_b = head[b] if b < e_n else tail[b]
            virtual.append((a, b, far_a, far_b))
    # 2. parallel virtual edges
    ranked = sorted(
        range(len(virtual)), key=lambda v: (min(virtual[v][2:]), max(virtual[v][2:]), v)
    )
    cycles: list[list[tuple[int, int, bool]]] = []  # (virtual edge, from end, forward?)
    left: list[int] = []
    k = 0
    while k < len(ranked):
        j = k
        while j < len(ranked) and sorted(virtual[ranked[j]][2:]) == sorted(virtual[ranked[k]][2:]):
            j += 1
        run = ranked[k:j]
        for m in range(0, len(run) - 1, 2):
            v, w = run[m], run[m + 1]
            lo = min(virtual[v][2:])
            cycles.append([(v, lo, True), (w, max(virtual[w][2:]), True)])
        if len(run) % 2:
            left.append(run[-1])
        k = j
    # 3. the rest
    rest = [virtual[v] for v in sorted(left)]
    rest += [(e_n + r_n + c, -1, r_n + c, sink) for c in range(c_n) if e_n + r_n + c in odd]
    ends = sorted((rest[i][2 + s], i, s) for i in range(len(rest)) for s in (0, 1))
    partner = {}
    for m in range(0, len(ends), 2):
        (_, i, s), (_, j, t) = ends[m], ends[m + 1]
        partner[(i, s)] = (j, t)
        partner[(j, t)] = (i, s)
    seen: set[int] = set()
    rest_cycles: list[list[tuple[int, int]]] = []  # (index in rest, side we leave from)
    for i in range(len(rest)):
        if i in seen:
            continue
        walk, cur, side = [], i, 0
        while cur not in seen:
            seen.add(cur)
            walk.append((cur, side))
            cur, side = partner[(cur, 1 - side)]
        rest_cycles.append(walk)

    def traverse(a: int, b: int, from_end1: bool) -> list[tuple[int, bool]]:
        # real edges of a virtual edge, in traversal order, forward?
        if b < 0:
            return [(a, from_end1)]
        first = [(a, a >= e_n), (b, b < e_n)]  # end 1 → end 2
        return first if from_end1 else [(b, b >= e_n), (a, a < e_n)]

    out = list(num)
    trails: list[list[tuple[int, bool]]] = []
    for cyc in cycles:
        trail: list[tuple[int, bool]] = []
        for v, start, _ in cyc:
            a, b, end1, _end2 = virtual[v]
            trail += traverse(a, b, start == end1)
        trails.append(trail)
    for walk in rest_cycles:
        trail = []
        for i, side in walk:
            a, b, _, _ = rest[i]
            trail += traverse(a, b, side == 0)
        trails.append(trail)
    for trail in trails:
        leader = min(e for e, _ in trail)
        flip = not dict(trail)[leader]
        up = coins[leader]
        for e, forward in trail:
            out[e] += (1 if (forward != flip) == up else -1) << level
    assert sorted(e for t in trails for e, _ in t) == odd
    return out


@pytest.mark.parametrize("salt", range(6))
def test_vectorized_rounding_matches_the_written_procedure(salt: int) -> None:
    rng = np.random.default_rng(salt)
    people = [person(k, (WATER, ENV)[k % 2], [SPECS[k % 2]] if k % 3 else []) for k in range(9)]
    tasks = [task(f"E{t}", *(["W1", "H1"], ["W2"], ["H2", "W1"], ["H1"])[t % 4]) for t in range(7)]
    conflicts = [
        Conflict(f"I{k:02d}", f"E{t}", "x")
        for t, k in zip(*np.nonzero(rng.random((7, 9)) < 0.2), strict=True)
    ]
    try:
        plan = tm._plan(
            tasks, ITEMS, InspectorPool(people), on=ON, conflicts=conflicts, grid_bits=7
        )
    except InfeasibleAssignment:
        pytest.skip("infeasible draw of conflicts")
    seed = Seed.from_text(f"ref {salt}")
    num = plan.numerators()
    ref = num.tolist()
    for level in range(7):
        phase = tm._stream_bits(seed.stream("teams", "phase", str(level)), plan.net.n_rows)
        coins = tm._stream_bits(seed.stream("teams", "coin", str(level)), plan.net.n_edges)
        ref = reference_level(plan.net, ref, level, phase.tolist(), coins.tolist())
        lp = tm._level_plan(plan.net, num, level, phase)
        if not lp.empty:
            lp.apply(num, coins, level)
        assert num.tolist() == ref, level
    assert (tm._round(plan.net, plan.numerators(), 7, seed) == np.asarray(ref) >> 7).all()


def test_interchangeable_inspectors_get_equal_odds() -> None:
    tasks, pool, conflicts = tiny_world()
    result = assign_teams(tasks, ITEMS, pool, seed=3, on=ON, conflicts=conflicts)
    p = result.probabilities
    for t in tasks:
        assert p.probability(t.entity_id, "I01") == p.probability(t.entity_id, "I02")
        assert p.probability(t.entity_id, "I03") == p.probability(t.entity_id, "I04")
        assert sum(p.probability(t.entity_id, i) for i in pool.ids) == 2
    # I05 differs from I01 only by its conflict on E3: on E3 its odds are 0.
    assert p.probability("E3", "I05") == 0 < p.probability("E3", "I01")
    # Holders are needed for W1: on E1 a holder is likelier than a non-holder.
    assert p.probability("E1", "I01") > p.probability("E1", "I03")
    # Odds of a 2-of-3 choice are thirds: not representable on a dyadic grid.
    pool3 = InspectorPool([person(k, WATER) for k in range(3)])
    odds3 = assign_teams([task("E", "W2")], ITEMS, pool3, seed=1, on=ON).probabilities
    assert {odds3.probability("E", i) for i in pool3.ids} == {Fraction(2, 3)}


def test_odds_are_the_water_filling_point() -> None:
    pool = InspectorPool(
        [
            person(1, WATER, ["水资源"]),
            person(3, WATER),
            person(4, WATER),
            person(5, WATER),
            person(6, ENV, ["大气"]),
            person(7, ENV),
        ]
    )
    tasks = [task("E1", "W1"), task("E2", "W2"), task("E3", "W2", "H1"), task("E4", "W1", "H2")]
    p = assign_teams(tasks, ITEMS, pool, seed=1, on=ON, grid_bits=12).probabilities
    # E1: the only 水资源 holder is certain; the other place is shared by three.
    assert p.probability("E1", "I01") == 1
    assert {p.probability("E1", i) for i in ("I03", "I04", "I05")} == {Fraction(1, 3)}
    # E2: two places among four water inspectors, evenly.
    assert {p.probability("E2", i) for i in ("I01", "I03", "I04", "I05")} == {Fraction(1, 2)}
    assert p.probability("E2", "I06") == 0
    # E3: one place per station; the 大气 holder is certain.
    assert p.probability("E3", "I06") == 1
    assert p.probability("E3", "I07") == 0
    assert sum(p.probability("E3", i) for i in ("I01", "I03", "I04", "I05")) == 1
    # E4: team of 3 (H2); the 水资源 holder is certain, the rest is even.
    assert p.probability("E4", "I01") == 1
    assert p.expected_load("I01") == 1 + Fraction(1, 2) + Fraction(1, 4) + 1


def test_grid_split_gives_leftover_units_to_inexact_shares_in_order() -> None:
    bucket = np.array([0, 0, 0, 1, 1], dtype=np.int64)
    weight = np.array([4, 1, 1, 1, 1], dtype=np.int64)
    total = np.array([3, 5], dtype=np.int64)
    denom = np.array([6, 2], dtype=np.int64)
    # exact shares 2, 1/2, 1/2 | 5/2, 5/2
    assert tm._split_exact(bucket, weight, total, denom).tolist() == [2, 1, 0, 3, 2]


def test_relabelling_inspectors_does_not_change_odds() -> None:
    rng = np.random.default_rng(11)
    people = [
        person(k, WATER if k < 5 else ENV, ["水资源"] if k % 2 else ["大气"]) for k in range(10)
    ]
    tasks = [task(f"E{t}", *(["W1"], ["W2", "H1"], ["H2"])[t % 3]) for t in range(12)]
    conflicts = [
        Conflict(f"I{k:02d}", f"E{t}", "x")
        for t, k in zip(*np.nonzero(rng.random((12, 10)) < 0.1), strict=True)
    ]
    rename = {f"I{k:02d}": f"Z{(7 * k) % 10:02d}" for k in range(10)}
    renamed = InspectorPool([Inspector(**{**p.to_record(), "id": rename[p.id]}) for p in people])
    renamed_conflicts = [Conflict(rename[c.inspector_id], c.entity_id, c.reason) for c in conflicts]
    for caps in (None, 4):
        a = assign_teams(
            tasks, ITEMS, InspectorPool(people), seed=5, on=ON, conflicts=conflicts, max_tasks=caps
        ).probabilities
        b = assign_teams(
            tasks, ITEMS, renamed, seed=5, on=ON, conflicts=renamed_conflicts, max_tasks=caps
        ).probabilities
        for t in tasks:
            for p in people:
                assert a.probability(t.entity_id, p.id) == b.probability(t.entity_id, rename[p.id])


def test_odds_match_frequencies_over_many_draws() -> None:
    rng = np.random.default_rng(3)
    people = [
        person(k, WATER if k < 7 else ENV, ["水资源", "大气"][k % 2 : k % 2 + 1]) for k in range(11)
    ]
    pool = InspectorPool(people)
    tasks = [
        task(f"E{t:02d}", *(["W1"], ["W1", "W2"], ["H1"], ["W2", "H1"])[t % 4]) for t in range(24)
    ]
    conflicts = [
        Conflict(f"I{k:02d}", f"E{t:02d}", "x")
        for t, k in zip(*np.nonzero(rng.random((24, 11)) < 0.15), strict=True)
    ]
    plan = tm._plan(tasks, ITEMS, pool, on=ON, conflicts=conflicts, max_tasks=7, grid_bits=10)
    odds = tm.TeamOdds(plan.inst, plan.odds)
    draws = 2000
    seen: Counter[tuple[str, str]] = Counter()
    for k in range(draws):
        seed = Seed.from_text(f"stat-{k}")
        counts = tm._round(plan.net, plan.numerators(), 10, seed)[: plan.inst.n_pairs]
        for entity, team in tm._teams_from_counts(plan, counts, seed).items():
            seen.update((entity, i) for i in team)
    worst = 0.0
    for t in tasks:
        for ident in pool.ids:
            p = float(odds.probability(t.entity_id, ident))
            n = seen[(t.entity_id, ident)]
            if p in (0.0, 1.0):
                assert n == p * draws
                continue
            worst = max(worst, abs(n - draws * p) / math.sqrt(draws * p * (1 - p)))
    # 264 pairs; |z| > 6.5 has probability below 1e-10 per pair.
    assert worst < 6.5


def test_capped_odds_respect_caps_and_stay_exact() -> None:
    # Capacity equals demand: 8 tasks × 2 = 16 places, 4 inspectors × cap 4.
    pool = InspectorPool([person(k, WATER, ["水资源"] if k < 2 else []) for k in range(4)])
    tasks = [task(f"E{t}", "W1" if t < 4 else "W2") for t in range(8)]
    result = assign_teams(tasks, ITEMS, pool, seed=9, on=ON, max_tasks=4)
    p = result.probabilities
    for ident in pool.ids:
        assert p.expected_load(ident) <= 4
    assert sum(p.expected_load(i) for i in pool.ids) == 16
    for k in range(10):
        r = assign_teams(tasks, ITEMS, pool, seed=k, on=ON, max_tasks=4)
        check_assignment(r, tasks, ITEMS, pool, caps=4)
        assert set(r.loads().values()) == {4}
    # A per-inspector cap: I00 may take one task only.
    r = assign_teams(tasks, ITEMS, pool, seed=1, on=ON, max_tasks={"I00": 1})
    check_assignment(r, tasks, ITEMS, pool, caps={"I00": 1})
    assert r.probabilities.expected_load("I00") <= 1


def test_pair_cap_is_applied_and_refused_below_the_smallest_feasible_value() -> None:
    tasks, pool, conflicts = small_world()
    result = assign_teams(tasks, ITEMS, pool, seed=1, on=ON, conflicts=conflicts)
    top = max(result.probabilities.as_dict().values())
    with pytest.raises(PairCapTooSmall) as info:
        assign_teams(
            tasks, ITEMS, pool, seed=1, on=ON, conflicts=conflicts, max_pair_probability="1/3"
        )
    low, high = info.value.smallest
    assert low == high
    assert Fraction(1, 3) < low <= Fraction(top).limit_denominator(10**6)
    assert "smallest feasible value" in str(info.value)
    capped = assign_teams(
        tasks, ITEMS, pool, seed=1, on=ON, conflicts=conflicts, max_pair_probability=low
    )
    assert max(capped.probabilities.as_dict().values()) <= float(low)
    check_assignment(capped, tasks, ITEMS, pool, conflicts=conflicts)
    # With workload caps the smallest feasible value moves up; it is bracketed.
    pool4 = InspectorPool([person(k, WATER) for k in range(4)])
    tasks4 = [task(f"E{t}", "W2") for t in range(4)]
    caps = {"I00": 1, "I01": 1}  # I02 and I03 must take 6 of the 8 places: q >= 3/4
    uncapped = assign_teams(tasks4, ITEMS, pool4, seed=1, on=ON, max_pair_probability="1/2")
    assert max(uncapped.probabilities.as_dict().values()) == 0.5
    with pytest.raises(PairCapTooSmall) as info:
        assign_teams(
            tasks4, ITEMS, pool4, seed=1, on=ON, max_pair_probability="1/2", max_tasks=caps
        )
    low, high = info.value.smallest
    assert low < Fraction(3, 4) <= high
    assert high - low <= Fraction(1, 1 << 10)
    ok = assign_teams(
        tasks4, ITEMS, pool4, seed=1, on=ON, max_pair_probability="3/4", max_tasks=caps
    )
    assert max(ok.probabilities.as_dict().values()) == 0.75
    check_assignment(ok, tasks4, ITEMS, pool4, caps=caps)


# -- exclusions, records, substitutes ---------------------------------------------------


def test_every_exclusion_keeps_its_reasons() -> None:
    tasks, pool, conflicts = small_world()
    history = {"E1": ["I02"], "E4": ["I05", "nobody"]}

    def veto(t: Task, inspector: Inspector) -> list[str]:
        return ["户籍所在乡镇"] if t.entity_id == "E5" and inspector.id == "I06" else []

    result = assign_teams(
        tasks,
        ITEMS,
        pool,
        seed=2,
        on=ON,
        conflicts=conflicts,
        history=history,
        extra_conflicts=veto,
    )
    reasons = {(x.entity_id, x.inspector_id): x.reasons for x in result.exclusions}
    assert reasons[("E1", "I02")] == ("rotation",)
    assert reasons[("E5", "I06")] == ("户籍所在乡镇",)
    assert reasons[("E2", "I01")] == ("亲属关系",)
    assert "I02" not in result.teams["E1"]
    assert "I06" not in result.teams["E5"]
    assert result.probabilities.probability("E5", "I06") == 0
    check_assignment(
        result,
        tasks,
        ITEMS,
        pool,
        conflicts=[*conflicts, Conflict("I06", "E5", "veto")],
        history=history,
    )
    both = assign_teams(
        tasks,
        ITEMS,
        pool,
        seed=2,
        on=ON,
        conflicts=[*conflicts, Conflict("I02", "E1", "企业申请")],
        history=history,
    )
    assert {x.reasons for x in both.exclusions if x.entity_id == "E1"} == {("rotation", "企业申请")}


def test_record_is_canonical_and_exact() -> None:
    tasks, pool, conflicts = tiny_world()
    result = assign_teams(
        tasks,
        ITEMS,
        pool,
        seed="记录",
        on=ON,
        conflicts=conflicts,
        max_pair_probability=Fraction(3, 4),
    )
    record = jcs_loads(canonical_json(result.to_record()))
    odds = record["odds"]
    den = odds["denominator"]
    for entity, shares in odds["tasks"].items():
        for c, numerator in shares:
            cls = odds["classes"][c]
            for ident in cls["members"]:
                assert Fraction(numerator, cls["multiplicity"] * den) == (
                    result.probabilities.probability(entity, ident)
                )
    assert record["options"]["max_pair_probability"] == "3/4"
    assert record["exclusions"] == [{"entity": "E3", "inspector": "I05", "reasons": ["x"]}]
    assert record["seed"] == {"text": "记录"}
    assert "<TeamAssignment 3 teams" in repr(result)


def test_substitute_respects_every_rule_and_replays() -> None:
    tasks, pool, conflicts = small_world()
    kw: dict[str, Any] = {"conflicts": conflicts}
    # E1 needs a 水资源 holder; I01 and I02 hold it (I04's certificate expired).
    # Take a draw whose E1 team has a single holder: its substitute must hold 水资源.
    seed = next(
        f"递补{k}"
        for k in range(100)
        if sum(
            "水资源" in pool[i].specialties
            for i in assign_teams(
                tasks, ITEMS, pool, seed=f"递补{k}", on=ON, max_tasks=3, **kw
            ).teams["E1"]
        )
        == 1
    )
    result = assign_teams(tasks, ITEMS, pool, seed=seed, on=ON, max_tasks=3, **kw)
    team = result.teams["E1"]
    holder = next(i for i in team if "水资源" in pool[i].specialties)
    other_holder = ({"I01", "I02"} - {holder}).pop()
    new, entry = substitute(
        result,
        tasks,
        ITEMS,
        pool,
        seed=seed,
        on=ON,
        entity_id="E1",
        inspector_id=holder,
        reason="生病",
        **kw,
    )
    again, entry2 = substitute(
        result,
        tasks,
        ITEMS,
        pool,
        seed=seed,
        on=ON,
        entity_id="E1",
        inspector_id=holder,
        reason="生病",
        **kw,
    )
    assert new.teams == again.teams
    assert entry == entry2
    assert entry["stream"] == ["substitute", "E1", holder, "0"]
    assert entry["candidates"][entry["draw"]] == entry["substitute"]
    rest = [pool[i] for i in team if i != holder]
    size, specs = requirements(tasks[0], ITEMS)
    excluded = excluded_pairs([*conflicts, Conflict(holder, "E1", "生病")], None)
    valid = sorted(
        p.id for p in pool if p.id not in team and team_ok([*rest, p], size, specs, "E1", excluded)
    )
    assert entry["candidates"] == valid  # every valid candidate, nothing else, sorted
    assert valid == [other_holder]  # the remaining member holds no 水资源
    assert entry["substitute"] == other_holder
    check_assignment(
        new,
        tasks,
        ITEMS,
        pool,
        caps=4,
        check_loads=False,
        conflicts=[*conflicts, Conflict(holder, "E1", "生病")],
    )
    assert ("E1", holder, ("生病",)) in new.exclusions
    assert new.substitutions == (entry,)
    assert result.substitutions == ()
    assert new.probabilities is result.probabilities
    record = jcs_loads(canonical_json(new.to_record()))
    assert record["substitutions"] == [entry]
    # Recusing every 水资源 holder leaves no valid substitute: a clear error.
    cur, message = new, ""
    for _ in range(3):
        member = next(i for i in cur.teams["E1"] if "水资源" in pool[i].specialties)
        try:
            cur, _entry = substitute(
                cur,
                tasks,
                ITEMS,
                pool,
                seed=seed,
                on=ON,
                entity_id="E1",
                inspector_id=member,
                reason="回避",
                **kw,
            )
        except InfeasibleAssignment as exc:
            message = str(exc)
            break
    assert "no substitute" in message
    assert "水利工作站 holding 水资源" in message
    with pytest.raises(InputError, match="not on the team"):
        substitute(
            result,
            tasks,
            ITEMS,
            pool,
            seed=seed,
            on=ON,
            entity_id="E1",
            inspector_id="I08",
            reason="x",
            **kw,
        )
    with pytest.raises(InputError, match="seed differs"):
        substitute(
            result,
            tasks,
            ITEMS,
            pool,
            seed="other",
            on=ON,
            entity_id="E1",
            inspector_id=holder,
            reason="x",
            **kw,
        )
    with pytest.raises(InputError, match="reason"):
        substitute(
            result,
            tasks,
            ITEMS,
            pool,
            seed=seed,
            on=ON,
            entity_id="E1",
            inspector_id=holder,
            reason=" ",
            **kw,
        )


def test_substitute_is_uniform_and_prefers_inspectors_below_their_cap() -> None:
    pool = InspectorPool([person(k, WATER) for k in range(6)])
    tasks = [task("E1", "W2")]
    result = assign_teams(tasks, ITEMS, pool, seed="u", on=ON)
    out = result.teams["E1"][0]
    chosen: Counter[str] = Counter()
    cands: list[str] = []
    history = result
    for k in range(400):
        _new, entry = substitute(
            history,
            tasks,
            ITEMS,
            pool,
            seed="u",
            on=ON,
            entity_id="E1",
            inspector_id=out,
            reason=f"r{k}",
        )
        assert entry["k"] == k
        assert entry["stream"][-1] == str(k)
        cands = entry["candidates"]
        chosen[entry["substitute"]] += 1
        # The k-th substitution for the same (entity, inspector) reads index k.
        history = attrs.evolve(history, substitutions=(*history.substitutions, entry))
    assert len(cands) == 4
    assert set(chosen) == set(cands)
    chi2 = sum((n - 100) ** 2 / 100 for n in chosen.values())
    assert chi2 < 40  # 3 degrees of freedom: P(chi2 > 40) < 1e-8
    # Caps: a candidate at its cap is used only when no one below it is left.
    tasks3 = [task(f"E{t}", "W2") for t in range(3)]
    tiers = set()
    for n_people in (3, 4):
        pool_n = InspectorPool([person(k, WATER) for k in range(n_people)])
        for k in range(6):
            r = assign_teams(tasks3, ITEMS, pool_n, seed=f"c{k}", on=ON, max_tasks=2)
            loads = r.loads()
            member = r.teams["E1"][0]
            others = [i for i in pool_n.ids if i not in r.teams["E1"]]
            below = sorted(i for i in others if loads[i] < 2)
            _r2, entry = substitute(
                r,
                tasks3,
                ITEMS,
                pool_n,
                seed=f"c{k}",
                on=ON,
                entity_id="E1",
                inspector_id=member,
                reason="x",
            )
            tiers.add(entry["tier"])
            if below:
                assert entry["tier"] == "within caps"
                assert entry["candidates"] == below
            else:
                assert entry["tier"] == "over caps"
                assert entry["candidates"] == sorted(others)
    assert tiers == {"within caps", "over caps"}


def test_stream_bits_are_specified() -> None:
    seed = Seed.from_text("bits")
    stream = seed.stream("teams", "coin", "0")
    raw = stream.prefix(2)
    bits = tm._stream_bits(seed.stream("teams", "coin", "0"), 16)
    expected = [(raw[k // 8] >> (7 - k % 8)) & 1 for k in range(16)]
    assert bits.astype(int).tolist() == expected
