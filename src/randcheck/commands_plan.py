"""The ``randcheck plan`` commands: coverage report, year draw and its verification.

::

    randcheck plan report --plan plan.json --entities entities.csv [--method joint] [--json]
    randcheck plan draw   --plan plan.json --entities entities.csv --seed TEXT
                          [--method …] [--history history.json] [--out year.json] [--json]
    randcheck plan verify year.json --entities entities.csv [--history history.json]

:func:`add_commands` registers them with the ``add(name, func, help)`` helper of
:func:`randcheck.cli.build_parser`. Errors are :class:`~randcheck.RandcheckError`
(one line on stderr, exit status 2, from ``randcheck.cli.main``); ``verify``
exits 1 when the record does not replay.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .canonical import jcs_loads
from .errors import RandcheckError, VerificationError

if TYPE_CHECKING:
    from .plan import History, Plan, YearDraw
    from .pools import EntityPool

__all__ = ["add_commands"]

Command = Callable[[argparse.Namespace, TextIO], int]
AddCommand = Callable[[str, Command, str], argparse.ArgumentParser]

_METHODS = ("joint", "prn", "exclude", "independent")


def _write_atomic(path: str, text: str) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _inputs(args: argparse.Namespace) -> tuple[Plan | None, EntityPool, History | None]:
    from .loaders import load_entities
    from .plan import History, Plan

    plan = Plan.from_file(args.plan) if getattr(args, "plan", None) else None
    entities = load_entities(args.entities)
    history = History.from_file(args.history) if getattr(args, "history", None) else None
    return plan, entities, history


def _cmd_plan(args: argparse.Namespace, out: TextIO) -> int:
    # argparse requires an action; this is reached only if that ever changes
    raise RandcheckError("give an action: randcheck plan report | draw | verify")


def _cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from .plan import coverage

    plan, entities, _ = _inputs(args)
    assert plan is not None
    report = coverage(plan, entities, method=args.method)
    if args.json:
        out.write(json.dumps(report.to_records(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(report.format() + "\n")
    return 0


def _year_summary(year: YearDraw) -> str:
    from .cli import format_table

    lines = [
        f"year {year.plan.year} · method {year.method} · seed {year.seed!r}",
        f"seed key {year.seed.key.hex()}",
        f"entity pool {len(year.entities):,} entities",
        "",
    ]
    rows = []
    for r in year.rounds:
        for code in r.items:
            drawn = r.positions(code)
            covered = sum(d.covered.size for d in r.draws if d.item.code == code)
            rows.append((r.round.label, r.round.date.isoformat(), code, covered, drawn.size))
    lines.append(format_table(("round", "date", "item", "covered", "drawn"), rows))
    counts = year.visits
    lines.append("")
    lines.append(
        "visits per entity this year: "
        + ", ".join(f"{k}× {int((counts == k).sum()):,}" for k in range(int(counts.max()) + 1))
        if counts.size
        else "no entities"
    )
    return "\n".join(lines)


def _cmd_draw(args: argparse.Namespace, out: TextIO) -> int:
    from .plan import draw_year

    plan, entities, history = _inputs(args)
    assert plan is not None
    year = draw_year(plan, entities, seed=args.seed, history=history, method=args.method)
    text = json.dumps(year.record, ensure_ascii=False, indent=2) + "\n"
    if args.out:
        _write_atomic(args.out, text)
    out.write(text if args.json else _year_summary(year) + "\n")
    return 0


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    from .plan import verify_year

    try:
        record = jcs_loads(Path(args.record).read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RandcheckError(f"{args.record}: not a randcheck year record ({exc})") from None
    _, entities, history = _inputs(args)
    try:
        verify_year(record, entities, history=history)
    except VerificationError as exc:
        sys.stderr.write(f"randcheck: {args.record} does NOT replay: {exc}\n")
        return 1
    rounds = record.get("rounds", [])
    out.write(
        f"OK: {args.record} replays: year {record.get('year')}, method {record.get('method')}, "
        f"{len(rounds)} rounds, {sum(len(r.get('tasks', [])) for r in rounds)} visits, "
        f"seed key {str(record.get('seed_key'))[:16]}…\n"
    )
    return 0


def add_commands(add: AddCommand) -> None:
    """Register ``randcheck plan report | draw | verify`` through the ``add`` helper."""
    plan = add("plan", _cmd_plan, "Annual plans: coverage report, year draw, verification.")
    actions = plan.add_subparsers(dest="plan_action", required=True, metavar="ACTION")

    def action(name: str, func: Command, help: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    report = action(
        "report",
        _cmd_report,
        "Expected visits per entity and Pr[≥1], Pr[≥2] per credit class and station.",
    )
    report.add_argument("--plan", required=True, help="plan file (JSON or CSV, docs/plan.md)")
    report.add_argument("--entities", required=True, help="entity register")
    report.add_argument(
        "--method", choices=_METHODS, help="burden control (default: the plan's method)"
    )
    report.add_argument("--json", action="store_true", help="print the rows as JSON")

    drw = action("draw", _cmd_draw, "Draw every round of the plan's year from one public seed.")
    drw.add_argument("--plan", required=True, help="plan file (JSON or CSV)")
    drw.add_argument("--entities", required=True, help="entity register")
    drw.add_argument("--seed", required=True, help="public seed (text or digits)")
    drw.add_argument("--method", choices=_METHODS, help="default: the plan's method")
    drw.add_argument("--history", help="earlier rounds (JSON or CSV round,date,entity)")
    drw.add_argument("--out", help="write the year record (JSON) to this file")
    drw.add_argument("--json", action="store_true", help="print the record as JSON")

    ver = action("verify", _cmd_verify, "Replay a year record against the entity register.")
    ver.add_argument("record", help="year.json written by 'randcheck plan draw --out'")
    ver.add_argument("--entities", required=True, help="entity register")
    ver.add_argument("--history", help="the history the year was drawn with")
