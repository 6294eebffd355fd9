"""The ``randcheck`` command: parses arguments, calls the library, prints.

Every command that reads files turns a :class:`~randcheck.RandcheckError` or an
unreadable file into one line on stderr and exit status 2, and writes nothing.
``verify`` exits 1 when a record does not replay.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import unicodedata
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .canonical import jcs_loads
from .commands_ledger import add_commands as add_ledger_commands
from .commands_ledger import date_argument as _date
from .commands_plan import add_commands as add_plan_commands
from .draw import DrawResult, draw, replay, verify
from .errors import RandcheckError, VerificationError
from .publish import write_atomic

__all__ = ["main"]

#: Seed and date of ``randcheck demo`` unless given.
DEMO_SEED = "刚察县2026年第四季度双随机抽查"
DEMO_DATE = "2026-11-26"


def sample_path(name: str) -> str:
    """Path of a file of the embedded sample county (``entities.csv``, …)."""
    return str(resources.files("randcheck") / "data" / name)


# -- output -----------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table whose columns line up with Chinese text too."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _shorten(ids: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" … (+{len(ids) - limit})" if len(ids) > limit else "")


def summary(result: DrawResult) -> str:
    """The human-readable report of a draw: one row per item, then the merged tasks."""
    pool = result.entities
    item_rows = [
        (
            d.item.code,
            d.item.name,
            d.item.station,
            f"{d.covered.shape[0]:,}",
            d.design.n,
            _shorten(d.selected),
        )
        for d in result.item_draws
    ]
    out = [
        f"randcheck {__version__} · spec {result.record['spec']} · on {result.on.isoformat()}",
        f"seed {result.seed!r}",
        f"seed key {result.seed.key.hex()}",
        f"entity pool {len(pool):,} entities, digest {pool.digest}",
    ]
    if result.inspectors is not None:
        out.append(
            f"inspector pool {len(result.inspectors):,} inspectors, "
            f"digest {result.inspectors.digest}"
        )
    out += ["", format_table(("item", "name", "station", "N", "n", "drawn"), item_rows), ""]
    merged = sum(1 for t in result.tasks if len(t.items) > 1)
    out.append(f"{len(result.tasks)} tasks (one visit per entity; {merged} cover several items):")
    task_rows = []
    for task in result.tasks:
        entity = pool[task.entity_id]
        row: list[object] = [task.entity_id, entity.name, " + ".join(task.items)]
        if result.inspectors is not None:
            row.append(", ".join(f"{result.inspectors[i].name}" for i in task.team) or "-")
        task_rows.append(row)
    headers = ["entity", "name", "items"] + (["team"] if result.inspectors is not None else [])
    out.append(format_table(headers, task_rows))
    return "\n".join(out)


def _record_text(result: DrawResult) -> str:
    return json.dumps(result.record, ensure_ascii=False, indent=2) + "\n"


# -- commands -----------------------------------------------------------------------


def _load_inputs(args: argparse.Namespace) -> dict[str, Any]:
    from .loaders import load_conflicts, load_entities, load_inspectors, load_items

    conflicts = getattr(args, "conflicts", None)
    inputs: dict[str, Any] = {
        "items": load_items(args.items),
        "entities": load_entities(args.entities),
        "inspectors": load_inspectors(args.inspectors) if args.inspectors else None,
        "conflicts": load_conflicts(conflicts) if conflicts else None,
    }
    return inputs


def _cmd_draw(args: argparse.Namespace, out: TextIO) -> int:
    if getattr(args, "commitment", None):
        from .commands_ledger import draw_committed_command

        return draw_committed_command(args, out)
    if args.seed is None:
        raise RandcheckError("give --seed, or --commitment to draw a committed round")
    inputs = _load_inputs(args)
    result = draw(
        inputs["items"],
        inputs["entities"],
        inputs["inspectors"],
        seed=args.seed,
        on=args.on,
        conflicts=inputs["conflicts"] or (),
    )
    if args.out:
        write_atomic(args.out, _record_text(result).encode("utf-8"))
    out.write(_record_text(result) if args.json else summary(result) + "\n")
    return 0


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    # The sample registers as the stations keep them: GBK CSV, Excel, Chinese headers.
    args.items = sample_path("items-zh.csv")
    args.entities = sample_path("entities-gbk.csv")
    args.inspectors = sample_path("inspectors.xlsx")
    args.conflicts = sample_path("conflicts-zh.csv")
    args.out = None
    return _cmd_draw(args, out)


def _cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    from .loaders import check

    report = check(args.files, kind=args.kind, on=args.on, encoding=args.encoding)
    if args.json:
        out.write(json.dumps(report.to_records(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(report.format(warnings=not args.quiet) + "\n")
    return 0 if report.ok else 1


def _cmd_plugins(args: argparse.Namespace, out: TextIO) -> int:
    from .plugins import get_plugins

    plugins = get_plugins()
    if args.json:
        data = {
            "plugins": [info.to_record() for info in plugins.list_plugins()],
            "loaders": [
                {"prefix": i.prefix, "plugin": i.plugin, "description": i.description}
                for i in plugins.loader_infos()
            ],
        }
        out.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(plugins.describe() + "\n")
    return 0


def _read_record(path: str) -> Any:
    try:
        return jcs_loads(Path(path).read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RandcheckError(f"{path}: not a randcheck record ({exc})") from None


def _cmd_recuse(args: argparse.Namespace, out: TextIO) -> int:
    record = _read_record(args.record)
    if record.get("teams") is None:
        raise RandcheckError(f"{args.record}: this draw has no teams (draw with --inspectors)")
    inputs = _load_inputs(args)
    try:
        verify(record, inputs["entities"], inputs["inspectors"], conflicts=inputs["conflicts"])
    except VerificationError as exc:
        raise RandcheckError(f"{args.record} does not replay, so no substitute: {exc}") from None
    result = replay(record, inputs["entities"], inputs["inspectors"], conflicts=inputs["conflicts"])
    after = result.recuse(args.entity, args.inspector, args.reason)
    assert after.teams is not None
    step = after.teams.substitutions[-1]
    write_atomic(args.out or args.record, _record_text(after).encode("utf-8"))
    names = after.inspectors
    assert names is not None
    out.write(
        f"{step['recused']} ({names[step['recused']].name}) recused from {step['entity']}: "
        f"{step['reason']}\n"
        f"substitute {step['substitute']} ({names[step['substitute']].name}), drawn from "
        f"{len(step['candidates'])} candidates with stream {step['stream']}\n"
        f"team now: {', '.join(after.task(step['entity']).team)}\n"
    )
    return 0


def _cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    record = _read_record(args.record)
    inputs = _load_inputs(args)
    try:
        verify(
            record,
            inputs["entities"],
            inputs["inspectors"],
            items=inputs["items"],
            conflicts=inputs["conflicts"],
        )
    except VerificationError as exc:
        sys.stderr.write(f"randcheck: {args.record} does NOT replay: {exc}\n")
        return 1
    draws = record.get("draws", [])
    out.write(
        f"OK: {args.record} replays: {len(draws)} items, "
        f"{sum(len(d['selected']) for d in draws)} selections, "
        f"{len(record.get('tasks', []))} tasks, seed key {record['seed_key'][:16]}…\n"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``randcheck`` command."""
    parser = argparse.ArgumentParser(
        prog="randcheck",
        description="Random inspections (双随机、一公开) that anyone can replay.",
    )
    parser.add_argument("--version", action="version", version=f"randcheck {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace, TextIO], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    demo = add("demo", _cmd_demo, "Draw on the embedded sample county (刚察县) and print it.")
    demo.add_argument("--seed", default=DEMO_SEED, help=f"public seed (default {DEMO_SEED!r})")
    demo.add_argument(
        "--on", type=_date, default=_date(DEMO_DATE), help=f"date of the draw (default {DEMO_DATE})"
    )
    demo.add_argument("--json", action="store_true", help="print the record as JSON")

    drw = add("draw", _cmd_draw, "Draw entities for every item of an item list.")
    drw.add_argument("--items", required=True, help="item list (CSV, JSON, .xlsx)")
    drw.add_argument("--entities", required=True, help="entity register")
    drw.add_argument("--inspectors", help="inspector register: draw a team for every task")
    drw.add_argument("--conflicts", help="conflicts of interest (回避): inspector, entity, reason")
    drw.add_argument("--seed", help="public seed (text or digits)")
    drw.add_argument(
        "--commitment",
        metavar="HASH",
        help="draw a committed round with the seed from the ledger (see 'randcheck commit')",
    )
    drw.add_argument("--reason", help="with --commitment: why a second draw (a redraw)")
    drw.add_argument(
        "--ledger", metavar="PATH", help="with --commitment: the ledger (default ./randcheck.db)"
    )
    drw.add_argument(
        "--on", type=_date, default=dt.date.today(), help="date of the draw (default today)"
    )
    drw.add_argument("--out", help="write the record (JSON) to this file")
    drw.add_argument("--json", action="store_true", help="print the record as JSON")

    ver = add("verify", _cmd_verify, "Replay a published draw record against the registers.")
    ver.add_argument("record", help="record.json written by 'randcheck draw --out'")
    ver.add_argument("--items", required=True, help="item list")
    ver.add_argument("--entities", required=True, help="entity register")
    ver.add_argument("--inspectors", help="inspector register")
    ver.add_argument(
        "--conflicts",
        help="conflict table: also check the recorded recusals (default: take them as recorded)",
    )
    rec = add(
        "recuse",
        _cmd_recuse,
        "Recuse an inspector from a drawn task and draw the substitute (回避, 递补抽取).",
    )
    rec.add_argument("record", help="record.json of a draw with teams")
    rec.add_argument("--entity", required=True, help="the drawn entity")
    rec.add_argument("--inspector", required=True, help="the inspector recused")
    rec.add_argument("--reason", required=True, help="why (kept in the record)")
    rec.add_argument("--items", required=True, help="item list")
    rec.add_argument("--entities", required=True, help="entity register")
    rec.add_argument("--inspectors", required=True, help="inspector register")
    rec.add_argument("--conflicts", help="the conflict table the draw used")
    rec.add_argument("--out", help="write the updated record here (default: replace RECORD)")
    chk = add("check", _cmd_check, "Validate register files and print every problem found.")
    chk.add_argument("files", nargs="+", metavar="FILE", help="registers (CSV, JSON, .xlsx)")
    chk.add_argument(
        "--kind",
        choices=("entities", "inspectors", "items", "conflicts"),
        help="the register kind (default: guessed from the headers)",
    )
    chk.add_argument(
        "--on", type=_date, default=None, help="date for certificate checks (default: today)"
    )
    chk.add_argument("--encoding", help="text encoding of CSV files (default: detect)")
    chk.add_argument("--quiet", action="store_true", help="leave warnings out")
    chk.add_argument("--json", action="store_true", help="print the problems as JSON")

    plg = add("plugins", _cmd_plugins, "List installed plugins, their hooks and loaders.")
    plg.add_argument("--json", action="store_true", help="print as JSON")

    add_ledger_commands(add)  # commit, seed, draw-committed, lock, outcome, publish, ledger …
    add_plan_commands(add)  # plan report | draw | verify
    return parser


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 not verified, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    try:
        status: int = args.func(args, out)
    except RandcheckError as exc:
        sys.stderr.write(f"randcheck: error: {exc}\n")
        return 2
    except OSError as exc:
        name = exc.filename if exc.filename is not None else ""
        sys.stderr.write(f"randcheck: error: {name}: {exc.strerror or exc}\n")
        return 2
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
