"""The ``randcheck`` subcommands of the ceremony and the ledger.

:func:`add_commands` registers them through the ``add(name, func, help)``
helper of :func:`randcheck.cli.build_parser`:

==================  =====================================================================
``commit``          commit to the pools and items of a round; prints the commitment hash
``seed``            record the observers' contributions (and the beacon value)
``draw-committed``  draw with the seed from the ledger; refuses registers not committed
``lock``            lock the drawn list; no redraw after it
``recusal``         record a recusal (回避) and the substitute drawn (递补抽取)
``outcome``         record the result of one inspection (and its follow-up)
``publish``         write notice.csv, notice.json and notice.html; print warnings
``ledger verify``   verify the chain (and a checkpoint), audit the ceremony, replay draws
``ledger checkpoint``  print (or write) a checkpoint to publish
``ledger export``   write the ledger as JSON Lines
==================  =====================================================================

Every command works on the ledger ``--ledger PATH``, else ``$RANDCHECK_LEDGER``,
else ``./randcheck.db``. Only ``commit`` creates a ledger. An error is a
:class:`~randcheck.RandcheckError`, which ``randcheck`` prints as one line, with
exit status 2. ``ledger verify`` exits with 1 when the ledger is bad.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from . import ceremony
from .canonical import jcs_loads
from .errors import LedgerError, RandcheckError
from .ledger import Ledger, LedgerVerificationError
from .publish import notice, write_atomic, write_notice

__all__ = ["DEFAULT_LEDGER", "ENV_LEDGER", "add_commands", "ledger_path"]

#: The ledger used when neither ``--ledger`` nor ``$RANDCHECK_LEDGER`` names one.
DEFAULT_LEDGER = "randcheck.db"
#: The environment variable naming the ledger.
ENV_LEDGER = "RANDCHECK_LEDGER"

Command = Callable[[argparse.Namespace, TextIO], int]
AddCommand = Callable[[str, Command, str], argparse.ArgumentParser]


def ledger_path(given: str | None) -> Path:
    """The ledger to use: ``given``, else ``$RANDCHECK_LEDGER``, else ``./randcheck.db``."""
    return Path(given or os.environ.get(ENV_LEDGER) or DEFAULT_LEDGER)


def _open(args: argparse.Namespace, *, create: bool = False, readonly: bool = False) -> Ledger:
    path = ledger_path(args.ledger)
    if not create and not path.is_file():
        raise LedgerError(
            f"{path}: no such ledger (start one with 'randcheck commit', or name it with "
            f"--ledger or ${ENV_LEDGER})"
        )
    return Ledger.open(path, readonly=readonly)


def date_argument(text: str) -> dt.date:
    """An argparse ``type`` for ``YYYY-MM-DD`` options (shared by every command)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _contribution(text: str) -> tuple[str, str]:
    name, sep, value = text.rpartition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=DIGITS, got {text!r}")
    return name.strip(), value.strip()


def _load(args: argparse.Namespace, *, items: bool = True) -> dict[str, Any]:
    from .loaders import load_conflicts, load_entities, load_inspectors, load_items

    conflicts = getattr(args, "conflicts", None)
    return {
        "items": load_items(args.items) if items else None,
        "entities": load_entities(args.entities),
        "inspectors": load_inspectors(args.inspectors) if args.inspectors else None,
        "conflicts": load_conflicts(conflicts) if conflicts else (),
    }


def _with_ledger(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--ledger",
        metavar="PATH",
        help=f"the ledger file (default ${ENV_LEDGER}, else ./{DEFAULT_LEDGER})",
    )
    return parser


def _short(digest: str) -> str:
    return digest[:16] + "…"


# -- the commands ------------------------------------------------------------------------


def _cmd_commit(args: argparse.Namespace, out: TextIO) -> int:
    inputs = _load(args)
    with _open(args, create=True) as ledger:
        entry = ceremony.commit(
            ledger,
            items=inputs["items"],
            entities=inputs["entities"],
            inspectors=inputs["inspectors"],
            on=args.on,
            operator=args.operator,
            observers=args.observer,
            note=args.note,
            beacon=args.beacon_source,
            conflicts=inputs["conflicts"],
        )
    pools = entry.body["pools"]
    out.write(f"commitment {entry.entry_hash}\n")
    out.write(f"  ledger {ledger.path}, seq {entry.seq}, draw date {entry.body['on']}\n")
    out.write(
        f"  entity pool {pools['entities']['size']} entities, "
        f"digest {pools['entities']['digest']}\n"
    )
    if pools["inspectors"] is not None:
        out.write(
            f"  inspector pool {pools['inspectors']['size']} inspectors, "
            f"digest {pools['inspectors']['digest']}\n"
        )
    out.write(f"  items {', '.join(i['code'] for i in entry.body['items'])}\n")
    if entry.body["beacon"]:
        out.write(f"  beacon announced: {entry.body['beacon']}\n")
    out.write(
        "Publish the commitment hash (and hand it to the observers) BEFORE the seed ceremony.\n"
    )
    return 0


def _cmd_seed(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as ledger:
        entry = ceremony.reveal_seed(
            ledger, args.commitment, dict(args.contribution), beacon=args.beacon
        )
    out.write(f"seed {entry.entry_hash}\n")
    out.write(f"  for commitment {entry.body['commitment']}, seq {entry.seq}\n")
    for name, value in entry.body["seed"]["contributions"].items():
        out.write(f"  {name}: {value}\n")
    if entry.body["seed"]["beacon"] is not None:
        out.write(f"  beacon: {entry.body['seed']['beacon']}\n")
    out.write(f"  seed key {entry.body['seed_key']}\n")
    return 0


def draw_committed_command(args: argparse.Namespace, out: TextIO) -> int:
    """``randcheck draw --commitment HASH …`` (the same as ``draw-committed``)."""
    return _cmd_draw_committed(args, out)


def _cmd_draw_committed(args: argparse.Namespace, out: TextIO) -> int:
    from .cli import summary

    inputs = _load(args)
    with _open(args) as ledger:
        result, entry = ceremony.draw_committed(
            ledger,
            args.commitment,
            items=inputs["items"],
            entities=inputs["entities"],
            inspectors=inputs["inspectors"],
            conflicts=inputs["conflicts"],
            reason=args.reason,
        )
    text = json.dumps(result.record, ensure_ascii=False, indent=2) + "\n"
    if args.out:
        write_atomic(args.out, text.encode("utf-8"))
    if args.json:
        out.write(text)
        return 0
    out.write(summary(result) + "\n\n")
    label = "REDRAW" if entry.body["redraw"] else "draw"
    out.write(f"{label} {entry.entry_hash} (seq {entry.seq})\n")
    if entry.body["redraw"]:
        out.write(f"  replaces {entry.body['replaces']}; reason: {entry.body['reason']}\n")
    out.write(f"  record SHA-256 {entry.body['record_sha256']}\n")
    out.write(f"Lock it with: randcheck lock --draw {entry.entry_hash}\n")
    return 0


def _cmd_lock(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as ledger:
        entry = ceremony.lock(ledger, args.draw)
    out.write(f"locked draw {entry.body['draw']} (lock seq {entry.seq}, {entry.entry_hash})\n")
    return 0


def _cmd_recusal(args: argparse.Namespace, out: TextIO) -> int:
    if args.substitute is None and args.entities and args.inspectors:
        from .loaders import load_conflicts, load_entities, load_inspectors

        with _open(args) as ledger:
            entry = ceremony.draw_substitute(
                ledger,
                args.draw,
                entities=load_entities(args.entities),
                inspectors=load_inspectors(args.inspectors),
                entity_id=args.entity,
                inspector_id=args.inspector,
                reason=args.reason,
                requested_by=args.requested_by,
                conflicts=load_conflicts(args.conflicts) if args.conflicts else None,
            )
    else:
        with _open(args) as ledger:
            entry = ceremony.record_recusal(
                ledger,
                args.draw,
                entity_id=args.entity,
                inspector_id=args.inspector,
                reason=args.reason,
                substitute=args.substitute,
                requested_by=args.requested_by,
            )
    sub = entry.body["substitute"] or "none"
    out.write(
        f"recusal {entry.entry_hash} (seq {entry.seq}): {entry.body['inspector']} from "
        f"{entry.body['entity']}, substitute {sub}\n"
    )
    return 0


def _cmd_outcome(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args) as ledger:
        entry = ceremony.record_outcome(
            ledger,
            args.draw,
            args.entity,
            result=args.result,
            inspected_on=args.inspected_on,
            rectification_deadline=args.deadline,
            follow_up=args.follow_up,
            inspectors=args.inspector,
            note=args.note,
            correction=args.correction,
        )
        follow_up = ceremony.load_round(ledger, entry.entry_hash).follow_up_of(entry.entry_hash)
    out.write(
        f"outcome {entry.entry_hash} (seq {entry.seq}): {entry.body['entity']} "
        f"{entry.body['result']}\n"
    )
    if follow_up is not None:
        out.write(
            f"follow-up {follow_up.entry_hash} (seq {follow_up.seq}): "
            f"{follow_up.body['measure']} due {follow_up.body['due']}\n"
        )
    return 0


def _cmd_publish(args: argparse.Namespace, out: TextIO) -> int:
    inputs = _load(args, items=False)
    today = args.today or dt.date.today()
    with _open(args) as ledger:
        built = notice(
            ledger,
            inputs["entities"],
            inputs["inspectors"],
            draw=args.draw,
            today=today,
            holidays=frozenset(args.holiday),
            makeup_workdays=frozenset(args.workday),
        )
        files = write_notice(built, args.out_dir)
        if not args.no_record:
            entry = ceremony.record_publication(
                ledger,
                str(built.verification["draw_entry"]),
                published_on=today,
                files=files,
                where=args.where,
                warnings=built.warnings,
            )
    for name, digest in files.items():
        out.write(f"wrote {Path(args.out_dir) / name}  sha256 {digest}\n")
    done = sum(1 for r in built.rows if r.result is not None)
    out.write(f"{len(built.rows)} entities, {done} with a result, published {today.isoformat()}\n")
    if not args.no_record:
        out.write(f"publication {entry.entry_hash} (seq {entry.seq})\n")
    for warning in built.warnings:
        sys.stderr.write(f"randcheck: warning: {warning}\n")
    return 0


def _read_checkpoint(path: str) -> dict[str, Any]:
    try:
        value = jcs_loads(Path(path).read_bytes())
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read the checkpoint: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise LedgerError(f"{path}: not a checkpoint ({exc})") from None
    if not isinstance(value, dict):
        raise LedgerError(f"{path}: a checkpoint is a JSON object")
    return value


def _cmd_ledger(args: argparse.Namespace, out: TextIO) -> int:
    func: Command = args.ledger_func
    return func(args, out)


def _cmd_ledger_verify(args: argparse.Namespace, out: TextIO) -> int:
    checkpoint = _read_checkpoint(args.checkpoint) if args.checkpoint else None
    if args.inspectors and not args.entities:
        raise RandcheckError("--inspectors needs --entities: replaying a draw needs both")
    with _open(args, readonly=True) as ledger:
        try:
            count = ledger.verify(checkpoint)
        except LedgerVerificationError as exc:
            sys.stderr.write(f"randcheck: {ledger.path}: BAD at seq {exc.seq}: {exc}\n")
            return 1
        problems = ceremony.audit_ledger(ledger)
        replays = None
        if args.entities:
            inputs = _load(args, items=False)
            replays = ceremony.replay_ledger(ledger, inputs["entities"], inputs["inspectors"])
    against = f", extends checkpoint of size {checkpoint['size']}" if checkpoint else ""
    out.write(f"chain OK: {count} entries{against}\n")
    status = 0
    if problems:
        for problem in problems:
            sys.stderr.write(f"randcheck: {ledger.path}: ceremony BAD at {problem}\n")
        status = 1
    else:
        out.write("ceremony OK: every step follows its commitment, seed and lock\n")
    if replays is not None:
        for replay in replays:
            line = f"draw seq {replay.seq} {_short(replay.entry_hash)}: {replay.status}"
            if replay.status == "failed":
                sys.stderr.write(f"randcheck: {line}: {'; '.join(replay.differences)}\n")
                status = 1
            else:
                detail = f" ({'; '.join(replay.differences)})" if replay.differences else ""
                out.write(line + detail + "\n")
        replayed = sum(1 for r in replays if r.ok)
        out.write(f"replayed {replayed} of {len(replays)} draws\n")
        if replays and not replayed:
            sys.stderr.write(
                "randcheck: no draw of this ledger was drawn from the registers given\n"
            )
            status = 1
    return status


def _cmd_ledger_checkpoint(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args, readonly=True) as ledger:
        checkpoint = ledger.checkpoint()
    text = json.dumps(checkpoint, ensure_ascii=False) + "\n"
    if args.out:
        write_atomic(args.out, text.encode("utf-8"))
    out.write(text)
    return 0


def _cmd_ledger_export(args: argparse.Namespace, out: TextIO) -> int:
    checkpoint = _read_checkpoint(args.checkpoint) if args.checkpoint else None
    with _open(args, readonly=True) as ledger:
        count = ledger.export_jsonl(args.file, checkpoint=checkpoint)
    out.write(f"exported {count} entries to {args.file}\n")
    return 0


# -- registration ------------------------------------------------------------------------


def _registers(parser: argparse.ArgumentParser, *, items: bool = True) -> None:
    if items:
        parser.add_argument("--items", required=True, help="item list (CSV, JSON, .xlsx)")
    parser.add_argument("--entities", required=True, help="entity register")
    parser.add_argument("--inspectors", help="inspector register")
    parser.add_argument(
        "--conflicts", help="conflicts of interest (回避), committed by digest with the pools"
    )


def add_commands(add: AddCommand) -> None:
    """Register the ceremony and ledger subcommands with ``add(name, func, help)``.

    ``add`` is the helper :func:`randcheck.cli.build_parser` defines: it adds a
    subparser with that help and sets its ``func``.
    """
    categories = " / ".join(ceremony.RESULT_CATEGORIES)

    p = add(
        "commit",
        _cmd_commit,
        "Commit to the pools and items of a round before the seed exists; print the "
        "commitment hash to publish.",
    )
    _registers(p)
    p.add_argument("--on", type=date_argument, required=True, help="date of the draw (YYYY-MM-DD)")
    p.add_argument("--operator", required=True, help="who runs the draw")
    p.add_argument(
        "--observer", action="append", default=[], metavar="NAME", help="an observer (repeat)"
    )
    p.add_argument(
        "--beacon-source",
        metavar="TEXT",
        help="the public beacon value the seed will include, named now "
        "(e.g. 'drand quicknet round 1234567')",
    )
    p.add_argument("--note", help="a note kept in the ledger")
    _with_ledger(p)

    p = add(
        "seed",
        _cmd_seed,
        "Record the seed of a committed round: each observer's contribution, and the "
        "beacon value if the commitment named one.",
    )
    p.add_argument("--commitment", required=True, metavar="HASH", help="the commitment hash")
    p.add_argument(
        "--contribution",
        action="append",
        required=True,
        type=_contribution,
        metavar="NAME=DIGITS",
        help="one party's contribution (repeat)",
    )
    p.add_argument("--beacon", metavar="VALUE", help="the public beacon value")
    _with_ledger(p)

    p = add(
        "draw-committed",
        _cmd_draw_committed,
        "Draw a committed round with the seed from the ledger, and record the draw.",
    )
    p.add_argument("--commitment", required=True, metavar="HASH", help="the commitment hash")
    _registers(p)
    p.add_argument("--reason", help="why the round is drawn again (required for a redraw)")
    p.add_argument("--out", help="write the draw record (JSON) to this file")
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    _with_ledger(p)

    p = add("lock", _cmd_lock, "Lock the drawn list of a round; no redraw after it.")
    p.add_argument("--draw", required=True, metavar="HASH", help="the draw entry's hash")
    _with_ledger(p)

    p = add(
        "recusal",
        _cmd_recusal,
        "Record that an inspector is recused from a drawn entity (回避), and the substitute.",
    )
    p.add_argument("--draw", required=True, metavar="HASH", help="the draw entry's hash")
    p.add_argument("--entity", required=True, metavar="ID", help="the drawn entity")
    p.add_argument("--inspector", required=True, metavar="ID", help="the inspector recused")
    p.add_argument("--reason", required=True, help="why (kept in the ledger, never published)")
    p.add_argument(
        "--substitute",
        metavar="ID",
        help="record a substitute chosen elsewhere (default: draw one, given the registers)",
    )
    p.add_argument("--entities", help="entity register: replay the draw and draw the substitute")
    p.add_argument("--inspectors", help="inspector register (with --entities)")
    p.add_argument("--conflicts", help="conflict table used for the draw, if any")
    p.add_argument("--requested-by", help="who asked for the recusal")
    _with_ledger(p)

    p = add("outcome", _cmd_outcome, "Record the result of the inspection of a drawn entity.")
    p.add_argument("--draw", required=True, metavar="HASH", help="the draw entry's hash")
    p.add_argument("--entity", required=True, metavar="ID", help="the entity inspected")
    p.add_argument("--result", required=True, metavar="CATEGORY", help=f"one of: {categories}")
    p.add_argument(
        "--inspected-on",
        type=date_argument,
        required=True,
        help="date of the inspection (YYYY-MM-DD)",
    )
    p.add_argument(
        "--deadline",
        type=date_argument,
        help="rectification deadline (required for 发现问题待后续处理 and 不合格)",
    )
    p.add_argument(
        "--follow-up", help=f"the follow-up measure (default {ceremony.DEFAULT_FOLLOW_UP})"
    )
    p.add_argument(
        "--inspector", action="append", default=[], metavar="ID", help="an inspector (repeat)"
    )
    p.add_argument("--note", help="a note kept in the ledger, never published")
    p.add_argument("--correction", metavar="REASON", help="why an earlier outcome is corrected")
    _with_ledger(p)

    p = add(
        "publish",
        _cmd_publish,
        "Write the public notice of a round (notice.csv, .json, .html) and record it.",
    )
    p.add_argument("--draw", required=True, metavar="HASH", help="the draw entry's hash")
    _registers(p, items=False)
    p.add_argument("--out-dir", required=True, metavar="DIR", help="where to write the files")
    p.add_argument(
        "--today",
        type=date_argument,
        help="the publication date (default today), for the deadlines",
    )
    p.add_argument(
        "--holiday",
        type=date_argument,
        action="append",
        default=[],
        metavar="DATE",
        help="a public holiday on a weekday (repeat); not modelled otherwise",
    )
    p.add_argument(
        "--workday",
        type=date_argument,
        action="append",
        default=[],
        metavar="DATE",
        help="a weekend day that is a working day (调休; repeat)",
    )
    p.add_argument("--where", help="where the notice is published (recorded)")
    p.add_argument(
        "--no-record", action="store_true", help="do not record the publication in the ledger"
    )
    _with_ledger(p)

    led = add("ledger", _cmd_ledger, "Verify, checkpoint or export the ledger.")
    sub = led.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")

    def action(name: str, func: Command, help: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help, description=help)
        parser.set_defaults(ledger_func=func)
        return _with_ledger(parser)

    p = action(
        "verify",
        _cmd_ledger_verify,
        "Verify the chain (against a checkpoint), audit the ceremony, and with the "
        "registers replay every draw; exit 1 when anything is bad.",
    )
    p.add_argument("--checkpoint", metavar="FILE", help="a checkpoint published earlier")
    p.add_argument("--entities", help="entity register, to replay the draws")
    p.add_argument("--inspectors", help="inspector register, to replay the draws")

    p = action("checkpoint", _cmd_ledger_checkpoint, "Print a checkpoint (size, head) to publish.")
    p.add_argument("--out", metavar="FILE", help="also write it to this file")

    p = action("export", _cmd_ledger_export, "Write the ledger as JSON Lines (verified first).")
    p.add_argument("file", help="the export file")
    p.add_argument("--checkpoint", metavar="FILE", help="verify against this checkpoint first")
