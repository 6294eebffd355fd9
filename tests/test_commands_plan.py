"""``randcheck plan report | draw | verify``, through a parser built like ``randcheck.cli``."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import pytest

from randcheck.cli import sample_path
from randcheck.commands_plan import add_commands
from randcheck.errors import RandcheckError

ENTITIES = sample_path("entities.csv")


def build_parser() -> argparse.ArgumentParser:
    """The same ``add`` helper as ``randcheck.cli.build_parser``."""
    parser = argparse.ArgumentParser(prog="randcheck")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace, TextIO], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    add_commands(add)
    return parser


def run(*argv: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr, with ``randcheck.cli.main``'s error handling."""
    args = build_parser().parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    old, sys.stderr = sys.stderr, err
    try:
        status = args.func(args, out)
    except RandcheckError as exc:
        err.write(f"randcheck: error: {exc}\n")
        status = 2
    finally:
        sys.stderr = old
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    (tmp_path / "items.csv").write_bytes(Path(sample_path("items.csv")).read_bytes())
    plan = {
        "name": "刚察县2026年度双随机抽查计划",
        "year": 2026,
        "items": "items.csv",
        "rounds": [
            {"label": "Q1", "date": "2026-03-20"},
            {"label": "Q2", "date": "2026-06-20"},
            {"label": "Q3", "date": "2026-09-20"},
            {"label": "Q4", "date": "2026-11-20"},
        ],
        "class_ratios": {"A": "0.03", "B": "0.05", "C": "0.2", "D": "1"},
        "general_cap": "0.05",
        "targets": [{"field": "region", "values": ["沙柳河镇"], "items": ["LY-02"]}],
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan, ensure_ascii=False), "utf-8")
    return path


def test_report_prints_a_table_and_json(plan_file: Path) -> None:
    status, out, err = run("plan", "report", "--plan", str(plan_file), "--entities", ENTITIES)
    assert status == 0, err
    assert "coverage of plan 刚察县2026年度双随机抽查计划" in out
    assert "P(≥2)" in out
    status, out, _ = run(
        "plan", "report", "--plan", str(plan_file), "--entities", ENTITIES, "--json"
    )
    rows = json.loads(out)
    overall = next(r for r in rows if r["credit_class"] == "*" and r["station"] == "*")
    assert overall["entities"] == 2000
    status, out, _ = run(
        "plan", "report", "--plan", str(plan_file), "--entities", ENTITIES, "--method", "prn"
    )
    assert "method prn" in out


def test_draw_writes_a_record_that_verifies(plan_file: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "year.json"
    status, out, err = run(
        "plan",
        "draw",
        "--plan",
        str(plan_file),
        "--entities",
        ENTITIES,
        "--seed",
        "刚察县2026年度抽查",
        "--out",
        str(out_file),
    )
    assert status == 0, err
    assert "visits per entity this year" in out
    record = json.loads(out_file.read_text("utf-8"))
    assert record["spec"] == "randcheck-year/1"
    status, out, err = run("plan", "verify", str(out_file), "--entities", ENTITIES)
    assert status == 0, err
    assert out.startswith(f"OK: {out_file} replays: year 2026, method joint, 4 rounds")
    draw = next(d for r in record["rounds"] for d in r["draws"] if d["selected"])
    draw["selected"] = draw["selected"][1:]
    out_file.write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    status, _, err = run("plan", "verify", str(out_file), "--entities", ENTITIES)
    assert status == 1
    assert "does NOT replay" in err


def test_draw_json_with_history_and_method(plan_file: Path, tmp_path: Path) -> None:
    history = tmp_path / "history.csv"
    history.write_text("round,date,entity\n2025-Q4,2025-11-20,GCSW-QS-2012-0012\n", "utf-8")
    status, out, err = run(
        "plan",
        "draw",
        "--plan",
        str(plan_file),
        "--entities",
        ENTITIES,
        "--seed",
        "42",
        "--method",
        "exclude",
        "--history",
        str(history),
        "--json",
    )
    assert status == 0, err
    record = json.loads(out)
    assert record["method"] == "exclude"
    assert record["history"]["rounds"] == 1
    year = tmp_path / "year.json"
    year.write_text(out, "utf-8")
    status, _, err = run("plan", "verify", str(year), "--entities", ENTITIES)
    assert status == 1
    assert "drawn with a history" in err
    status, _, err = run(
        "plan", "verify", str(year), "--entities", ENTITIES, "--history", str(history)
    )
    assert status == 0, err


def test_errors_are_one_line_and_status_2(plan_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"year": 2026, "items": "items.csv", "rounds": [], "class_ratios": {}}),
        "utf-8",
    )
    status, _, err = run("plan", "report", "--plan", str(bad), "--entities", ENTITIES)
    assert status == 2
    assert "bad.json" in err
    assert "rounds" in err
    status, _, err = run(
        "plan", "report", "--plan", str(plan_file), "--entities", ENTITIES, "--method", "exclude"
    )
    assert status == 2
    assert "simulate_coverage" in err
    not_json = tmp_path / "year.json"
    not_json.write_text("{", "utf-8")
    status, _, err = run("plan", "verify", str(not_json), "--entities", ENTITIES)
    assert status == 2
    assert "not a randcheck year record" in err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["plan"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["plan", "report", "--plan", "x.json"])


def test_the_sample_county_plan_reports_and_draws(tmp_path: Path) -> None:
    """The embedded sample county's year plan (data/plan.csv), end to end."""
    import subprocess
    import sys

    from randcheck.cli import sample_path

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "randcheck", *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            check=False,
        )

    plan, entities = sample_path("plan.csv"), sample_path("entities.csv")
    report = run("plan", "report", "--plan", plan, "--entities", entities)
    assert report.returncode == 0, report.stderr
    assert "刚察县2026年度双随机抽查计划" in report.stdout
    out = tmp_path / "year.json"
    drawn = run(
        "plan", "draw", "--plan", plan, "--entities", entities, "--seed", "2026", "--out", str(out)
    )
    assert drawn.returncode == 0, drawn.stderr
    ok = run("plan", "verify", str(out), "--entities", entities)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: ")
