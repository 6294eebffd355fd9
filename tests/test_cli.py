"""The randcheck command, run as a user runs it: a real subprocess and real files."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from randcheck.cli import main, sample_path


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "randcheck", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        check=False,
    )


def test_demo_needs_no_arguments() -> None:
    proc = run("demo")
    assert proc.returncode == 0, proc.stderr
    assert "SL-01" in proc.stdout
    assert "取水许可实施情况监督检查" in proc.stdout
    assert "tasks (one visit per entity" in proc.stdout


def test_demo_json_is_a_record_that_verifies(tmp_path: Path) -> None:
    proc = run("demo", "--json", "--seed", "123456789012345678901234567890")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["seed"] == {"text": "123456789012345678901234567890"}
    path = tmp_path / "record.json"
    path.write_text(proc.stdout, encoding="utf-8")
    ok = run(
        "verify",
        str(path),
        "--items",
        sample_path("items-zh.csv"),
        "--entities",
        sample_path("entities-gbk.csv"),
        "--inspectors",
        sample_path("inspectors.xlsx"),
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: ")


def test_draw_writes_record_and_verify_detects_tampering(tmp_path: Path) -> None:
    out = tmp_path / "record.json"
    args = ["--items", sample_path("items.csv"), "--entities", sample_path("entities.csv")]
    proc = run("draw", *args, "--seed", "4711", "--on", "2026-11-26", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["on"] == "2026-11-26"
    record["draws"][0]["selected"][0] = "XXX"
    out.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    bad = run("verify", str(out), *args)
    assert bad.returncode == 1
    assert "does NOT replay" in bad.stderr
    assert "XXX" in bad.stderr


def test_verify_with_a_changed_register(tmp_path: Path) -> None:
    out = tmp_path / "record.json"
    args = ["--items", sample_path("items.csv")]
    assert (
        run(
            "draw",
            *args,
            "--entities",
            sample_path("entities.csv"),
            "--seed",
            "1",
            "--out",
            str(out),
        ).returncode
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(Path(sample_path("entities.csv")).read_text("utf-8"))))
    rows[0]["name"] = rows[0]["name"] + "（已更名）"
    changed = tmp_path / "entities.csv"
    with changed.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    proc = run("verify", str(out), *args, "--entities", str(changed))
    assert proc.returncode == 1
    assert "entity pool digest" in proc.stderr


def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path: Path) -> None:
    bad = tmp_path / "entities.csv"
    bad.write_text("id,name,credit_class\nA1,甲,A\nA2,乙,Q\n", encoding="utf-8")
    out = tmp_path / "record.json"
    proc = run(
        "draw",
        "--items",
        sample_path("items.csv"),
        "--entities",
        str(bad),
        "--seed",
        "1",
        "--out",
        str(out),
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("randcheck: error: ")
    assert str(bad) in proc.stderr
    assert "row 3" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_missing_file(tmp_path: Path) -> None:
    proc = run(
        "draw",
        "--items",
        str(tmp_path / "nope.csv"),
        "--entities",
        sample_path("entities.csv"),
        "--seed",
        "1",
    )
    assert proc.returncode == 2
    assert "nope.csv" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_verify_refuses_a_non_record(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"spec": 1.5}', encoding="utf-8")
    proc = run(
        "verify",
        str(path),
        "--items",
        sample_path("items.csv"),
        "--entities",
        sample_path("entities.csv"),
    )
    assert proc.returncode == 2
    assert "not a randcheck record" in proc.stderr


def test_bad_date_is_a_usage_error() -> None:
    proc = run("demo", "--on", "2026-02-30")
    assert proc.returncode == 2
    assert "not a date" in proc.stderr


def test_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    buffer = io.StringIO()
    assert main(["demo", "--seed", "x"], stdout=buffer) == 0
    assert "HB-01" in buffer.getvalue()


def test_check_reports_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "entities.csv"
    bad.write_text(
        "统一社会信用代码,单位名称,信用风险等级\n91350100M000100Y43,甲,A\n91350100M000100Y4Z,乙,Q\n",
        encoding="gbk",
    )
    proc = run("check", str(bad))
    assert proc.returncode == 1
    assert "row 3" in proc.stdout
    assert "信用风险等级" in proc.stdout
    assert "统一社会信用代码" in proc.stdout  # the bad check character is named too


def test_check_sample_county_is_clean() -> None:
    proc = run(
        "check",
        "--on",
        "2026-11-26",
        "--quiet",
        sample_path("entities-gbk.csv"),
        sample_path("items-zh.csv"),
        sample_path("inspectors.xlsx"),
        sample_path("conflicts-zh.csv"),
    )
    assert proc.returncode == 0, proc.stdout
    assert "2,000 loaded" in proc.stdout


def test_plugins_lists_the_builtin_loaders() -> None:
    proc = run("plugins", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"csv", "json", "xlsx"} <= {loader["prefix"] for loader in data["loaders"]}


def test_whole_ceremony_from_the_command_line(tmp_path: Path) -> None:
    """commit → seed → draw-committed → lock → outcome → publish → ledger verify."""
    ledger = str(tmp_path / "round.db")
    regs = [
        "--items",
        sample_path("items-zh.csv"),
        "--entities",
        sample_path("entities-gbk.csv"),
        "--inspectors",
        sample_path("inspectors.xlsx"),
        "--conflicts",
        sample_path("conflicts-zh.csv"),
    ]
    commit = run(
        "commit",
        *regs,
        "--on",
        "2026-11-26",
        "--operator",
        "办公室 李明",
        "--observer",
        "县人大代表 王芳",
        "--ledger",
        ledger,
    )
    assert commit.returncode == 0, commit.stderr
    commitment = re.search(r"\b[0-9a-f]{64}\b", commit.stdout)
    assert commitment, commit.stdout
    seed = run(
        "seed",
        "--commitment",
        commitment.group(),
        "--contribution",
        "王芳=3821",
        "--contribution",
        "李明=0042",
        "--ledger",
        ledger,
    )
    assert seed.returncode == 0, seed.stderr
    out = tmp_path / "record.json"
    drawn = run(
        "draw",
        "--commitment",
        commitment.group(),
        *regs,
        "--out",
        str(out),
        "--ledger",
        ledger,
    )
    assert drawn.returncode == 0, drawn.stderr
    record = json.loads(out.read_text(encoding="utf-8"))
    again = run("draw-committed", "--commitment", commitment.group(), *regs, "--ledger", ledger)
    assert again.returncode == 2
    assert "reason" in again.stderr
    verified = run(
        "ledger",
        "verify",
        "--entities",
        sample_path("entities-gbk.csv"),
        "--inspectors",
        sample_path("inspectors.xlsx"),
        "--ledger",
        ledger,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    ok = run("verify", str(out), *regs)
    assert ok.returncode == 0, ok.stderr
    assert record["seed"]["contributions"] == {"王芳": "3821", "李明": "0042"}
    assert record["conflicts"]["size"] == 15  # committed by digest, reasons kept private
    # A conflict table other than the committed one is refused before anything is drawn.
    other = tmp_path / "conflicts.csv"
    other.write_text(
        "inspector_id,entity_id,reason\nGC-INS-002,GCSW-QS-2012-0006,亲属\n", encoding="utf-8"
    )
    wrong = [*regs[:-1], str(other)]
    refused = run(
        "draw", "--commitment", commitment.group(), *wrong, "--reason", "再抽", "--ledger", ledger
    )
    assert refused.returncode == 2
    assert "conflict table" in refused.stderr


def test_recuse_draws_a_substitute_that_verify_replays(tmp_path: Path) -> None:
    regs = [
        "--items",
        sample_path("items-zh.csv"),
        "--entities",
        sample_path("entities-gbk.csv"),
        "--inspectors",
        sample_path("inspectors.xlsx"),
        "--conflicts",
        sample_path("conflicts-zh.csv"),
    ]
    path = tmp_path / "record.json"
    assert (
        run("draw", *regs, "--seed", "递补", "--on", "2026-11-26", "--out", str(path)).returncode
        == 0
    )
    task = json.loads(path.read_text(encoding="utf-8"))["tasks"][0]
    out = tmp_path / "after.json"
    proc = run(
        "recuse",
        str(path),
        "--entity",
        task["entity"],
        "--inspector",
        task["team"][0],
        "--reason",
        "本人申请回避",
        *regs,
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    after = json.loads(out.read_text(encoding="utf-8"))
    (step,) = after["teams"]["substitutions"]
    assert step["recused"] == task["team"][0]
    assert task["team"][0] not in after["teams"]["teams"][task["entity"]]
    assert run("verify", str(out), *regs).returncode == 0
    # The substitution is part of the record: changing its reason breaks the replay.
    step["reason"] = "别的理由"
    out.write_text(json.dumps(after, ensure_ascii=False), encoding="utf-8")
    assert run("verify", str(out), *regs).returncode == 1
    # A record without teams has nothing to substitute.
    plain = tmp_path / "plain.json"
    assert run("draw", *regs[:4], "--seed", "1", "--out", str(plain)).returncode == 0
    refused = run("recuse", str(plain), "--entity", "x", "--inspector", "y", "--reason", "r", *regs)
    assert refused.returncode == 2
    assert "no teams" in refused.stderr
