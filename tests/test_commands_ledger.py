"""The ceremony and ledger subcommands, through a parser built as ``randcheck.cli`` builds it."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import pytest

from randcheck.canonical import canonical_json
from randcheck.cli import sample_path
from randcheck.commands_ledger import DEFAULT_LEDGER, ENV_LEDGER, add_commands
from randcheck.errors import RandcheckError
from randcheck.ledger import hash_entry

ITEMS = sample_path("items.csv")
ENTITIES = sample_path("entities.csv")
INSPECTORS = sample_path("inspectors.csv")
REGISTERS = ("--items", ITEMS, "--entities", ENTITIES, "--inspectors", INSPECTORS)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``randcheck.cli.build_parser``, with only these subcommands."""
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


class Run:
    def __init__(self, status: int, out: str, err: str) -> None:
        self.status, self.out, self.err = status, out, err

    def __repr__(self) -> str:
        return f"<Run {self.status}\n{self.out}\n{self.err}>"


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run a command as ``randcheck.cli.main`` does: an error is one line and status 2."""

    def invoke(*argv: str) -> Run:
        args = build_parser().parse_args(argv)
        out = io.StringIO()
        capsys.readouterr()
        try:
            status = args.func(args, out)
        except RandcheckError as exc:
            sys.stderr.write(f"randcheck: error: {exc}\n")
            status = 2
        return Run(status, out.getvalue(), capsys.readouterr().err)

    return invoke


def first_hash(text: str, label: str) -> str:
    for line in text.splitlines():
        if line.startswith(label + " "):
            return line.split()[1]
    raise AssertionError(f"no {label!r} line in {text!r}")


def ceremony(run: Callable[..., Run], db: Path) -> dict[str, str]:
    """commit, seed, draw-committed, lock; return the hashes."""
    ledger = ("--ledger", str(db))
    committed = run(
        "commit",
        *REGISTERS,
        "--on",
        "2026-11-26",
        "--operator",
        "张三",
        "--observer",
        "观察员甲",
        "--observer",
        "observer B",
        *ledger,
    )
    assert committed.status == 0, committed
    commitment = first_hash(committed.out, "commitment")
    assert "BEFORE the seed ceremony" in committed.out
    seeded = run(
        "seed",
        "--commitment",
        commitment[:12],
        "--contribution",
        "观察员甲=3821",
        "--contribution",
        "observer B=0042",
        *ledger,
    )
    assert seeded.status == 0, seeded
    drawn = run("draw-committed", "--commitment", commitment, *REGISTERS, *ledger)
    assert drawn.status == 0, drawn
    draw = first_hash(drawn.out, "draw")
    locked = run("lock", "--draw", draw, *ledger)
    assert locked.status == 0, locked
    return {"commitment": commitment, "draw": draw}


def test_the_ceremony_on_the_command_line(run: Callable[..., Run], tmp_path: Path) -> None:
    db = tmp_path / "round.db"
    ledger = ("--ledger", str(db))
    hashes = ceremony(run, db)
    record = tmp_path / "record.json"
    again = run(
        "draw-committed",
        "--commitment",
        hashes["commitment"],
        *REGISTERS,
        "--reason",
        "x",
        "--out",
        str(record),
        *ledger,
    )
    assert again.status == 2
    assert "locked" in again.err
    assert not record.exists()

    # Outcomes: the categories are checked, a problem needs a deadline, a follow-up is created.
    export = tmp_path / "ledger.jsonl"
    assert run("ledger", "export", str(export), *ledger).status == 0
    draw_entry = json.loads(export.read_text(encoding="utf-8").splitlines()[2])
    entities = [t["entity"] for t in draw_entry["body"]["record"]["tasks"]]
    teams = {t["entity"]: t["team"] for t in draw_entry["body"]["record"]["tasks"]}
    bad = run(
        "outcome",
        "--draw",
        hashes["draw"],
        "--entity",
        entities[0],
        "--result",
        "合格",
        "--inspected-on",
        "2026-12-01",
        *ledger,
    )
    assert bad.status == 2
    assert "未发现问题 / 发现问题待后续处理" in bad.err
    assert bad.err.count("\n") == 1
    ok = run(
        "outcome",
        "--draw",
        hashes["draw"],
        "--entity",
        entities[0],
        "--result",
        "不合格",
        "--inspected-on",
        "2026-12-01",
        "--deadline",
        "2026-12-31",
        *[f"--inspector={i}" for i in teams[entities[0]]],
        *ledger,
    )
    assert ok.status == 0, ok
    assert "follow-up " in ok.out
    assert "due 2026-12-31" in ok.out
    recusal = run(
        "recusal",
        "--draw",
        hashes["draw"],
        "--entity",
        entities[1],
        "--inspector",
        teams[entities[1]][0],
        "--reason",
        "近亲属持有该单位股份",
        "--entities",
        ENTITIES,
        "--inspectors",
        INSPECTORS,
        *ledger,
    )
    assert recusal.status == 0, recusal
    substitute = recusal.out.split("substitute ")[-1].strip()
    assert substitute not in teams[entities[1]]
    assert substitute in {
        line.split(",")[0] for line in Path(INSPECTORS).read_text("utf-8").splitlines()
    }

    # Publish: three files, the publication recorded, late results warned on stderr.
    out_dir = tmp_path / "public"
    published = run(
        "publish",
        "--draw",
        hashes["draw"],
        "--entities",
        ENTITIES,
        "--inspectors",
        INSPECTORS,
        "--out-dir",
        str(out_dir),
        "--today",
        "2026-12-30",
        *ledger,
    )
    assert published.status == 0, published
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "notice.csv",
        "notice.html",
        "notice.json",
    ]
    assert "publication " in published.out
    assert "randcheck: warning: " in published.err
    assert "working days later" in published.err  # inspected 12-01, due 12-29
    assert "近亲属" not in (out_dir / "notice.html").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO((out_dir / "notice.csv").read_text(encoding="utf-8-sig"))))
    assert rows[1][-1] == hashes["draw"]

    # Verify: chain, ceremony and the replay of every draw.
    checkpoint = tmp_path / "checkpoint.json"
    made = run("ledger", "checkpoint", "--out", str(checkpoint), *ledger)
    assert made.status == 0
    assert json.loads(checkpoint.read_text(encoding="utf-8")) == json.loads(made.out)
    verified = run(
        "ledger",
        "verify",
        "--checkpoint",
        str(checkpoint),
        "--entities",
        ENTITIES,
        "--inspectors",
        INSPECTORS,
        *ledger,
    )
    assert verified.status == 0, verified
    assert "chain OK: 8 entries" in verified.out
    assert "ceremony OK" in verified.out
    assert "replayed 1 of 1 draws" in verified.out


def test_draw_with_registers_that_were_not_committed_is_refused(
    run: Callable[..., Run], tmp_path: Path
) -> None:
    db = tmp_path / "round.db"
    ledger = ("--ledger", str(db))
    committed = run("commit", *REGISTERS, "--on", "2026-11-26", "--operator", "张三", *ledger)
    commitment = first_hash(committed.out, "commitment")
    run("seed", "--commitment", commitment, "--contribution", "甲=1234", *ledger)
    # The same register, one risk fact changed after the commitment.
    with open(ENTITIES, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[5]["verified_complaints"] = "4"
    edited = tmp_path / "entities.csv"
    with edited.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    refused = run(
        "draw-committed",
        "--commitment",
        commitment,
        "--items",
        ITEMS,
        "--entities",
        str(edited),
        "--inspectors",
        INSPECTORS,
        "--out",
        str(tmp_path / "r.json"),
        *ledger,
    )
    assert refused.status == 2
    assert "entity pool: committed" in refused.err
    assert refused.err.count("\n") == 1
    assert not (tmp_path / "r.json").exists()
    listed = run("ledger", "export", str(tmp_path / "l.jsonl"), *ledger)
    assert "exported 2 entries" in listed.out


def test_seed_needs_an_existing_ledger_and_commitment(
    run: Callable[..., Run], tmp_path: Path
) -> None:
    missing = tmp_path / "none.db"
    refused = run(
        "seed", "--commitment", "ab" * 32, "--contribution", "甲=1", "--ledger", str(missing)
    )
    assert refused.status == 2
    assert "no such ledger" in refused.err
    assert not missing.exists()
    db = tmp_path / "round.db"
    committed = run(
        "commit", *REGISTERS, "--on", "2026-11-26", "--operator", "张三", "--ledger", str(db)
    )
    assert committed.status == 0
    unknown = run("seed", "--commitment", "ab" * 32, "--contribution", "甲=1", "--ledger", str(db))
    assert unknown.status == 2
    assert "no commitment" in unknown.err
    commitment = first_hash(committed.out, "commitment")
    assert (
        run(
            "seed", "--commitment", commitment, "--contribution", "甲=1", "--ledger", str(db)
        ).status
        == 0
    )
    second = run("seed", "--commitment", commitment, "--contribution", "甲=2", "--ledger", str(db))
    assert second.status == 2
    assert "exactly one seed" in second.err


def test_ledger_path_from_the_environment_and_the_default(
    run: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_LEDGER, raising=False)
    assert run("commit", *REGISTERS, "--on", "2026-11-26", "--operator", "甲").status == 0
    assert (tmp_path / DEFAULT_LEDGER).is_file()
    elsewhere = tmp_path / "env.db"
    monkeypatch.setenv(ENV_LEDGER, str(elsewhere))
    assert run("commit", *REGISTERS, "--on", "2026-11-26", "--operator", "乙").status == 0
    assert elsewhere.is_file()
    checked = run("ledger", "verify")
    assert "chain OK: 1 entries" in checked.out
    assert "chain OK: 1 entries" in run("ledger", "verify", "--ledger", DEFAULT_LEDGER).out


def raw_db(path: Path) -> sqlite3.Connection:
    """Open the ledger as an attacker with the file would: no triggers in the way."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS entries_no_update")
    conn.execute("DROP TRIGGER IF EXISTS entries_no_delete")
    return conn


def test_ledger_verify_names_the_tampered_seq(run: Callable[..., Run], tmp_path: Path) -> None:
    db = tmp_path / "round.db"
    hashes = ceremony(run, db)
    assert run("ledger", "verify", "--ledger", str(db)).status == 0
    conn = raw_db(db)
    try:
        (body,) = conn.execute("SELECT body FROM entries WHERE seq = 2").fetchone()
        conn.execute("UPDATE entries SET body = ? WHERE seq = 2", (body.replace("3821", "3822"),))
    finally:
        conn.close()
    bad = run("ledger", "verify", "--ledger", str(db))
    assert bad.status == 1
    assert "BAD at seq 2" in bad.err
    assert "hash mismatch" in bad.err
    assert hashes["draw"]  # the draw after it is no longer trustworthy either


def test_a_rewritten_chain_is_caught_by_an_earlier_checkpoint(
    run: Callable[..., Run], tmp_path: Path
) -> None:
    """An insider who edits the seed AND recomputes every hash after it keeps the chain
    consistent; only the checkpoint published before shows the rewrite."""
    db = tmp_path / "round.db"
    ceremony(run, db)
    checkpoint = tmp_path / "checkpoint.json"
    assert run("ledger", "checkpoint", "--out", str(checkpoint), "--ledger", str(db)).status == 0
    conn = raw_db(db)
    try:
        rows = conn.execute("SELECT seq, kind, body FROM entries ORDER BY seq").fetchall()
        prev = "0" * 64
        for seq, kind, body in rows:
            parsed = json.loads(body)
            if seq == 2:
                parsed["seed"]["contributions"]["观察员甲"] = "3822"
            text = canonical_json(parsed).decode("utf-8")
            digest = hash_entry(seq, kind, prev, parsed)
            conn.execute(
                "UPDATE entries SET body = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
                (text, prev, digest, seq),
            )
            prev = digest
    finally:
        conn.close()
    chain_only = run("ledger", "verify", "--ledger", str(db))
    assert "chain OK" in chain_only.out
    # ... but the ceremony audit sees a draw whose seed is not the revealed one,
    assert chain_only.status == 1
    assert "ceremony BAD at seq 3 (draw)" in chain_only.err
    # ... and the checkpoint names the rewrite.
    against = run("ledger", "verify", "--checkpoint", str(checkpoint), "--ledger", str(db))
    assert against.status == 1
    assert "BAD at seq 4" in against.err
    assert "head differs from the checkpoint" in against.err


def test_ledger_verify_replays_with_the_registers(run: Callable[..., Run], tmp_path: Path) -> None:
    db = tmp_path / "round.db"
    ceremony(run, db)
    ok = run(
        "ledger",
        "verify",
        "--entities",
        ENTITIES,
        "--inspectors",
        INSPECTORS,
        "--ledger",
        str(db),
    )
    assert ok.status == 0, ok
    assert ": ok" in ok.out
    other = tmp_path / "entities.csv"
    text = Path(ENTITIES).read_text(encoding="utf-8")
    other.write_text(text.replace(",false,0,false,", ",false,1,false,", 1), encoding="utf-8")
    wrong = run(
        "ledger",
        "verify",
        "--entities",
        str(other),
        "--inspectors",
        INSPECTORS,
        "--ledger",
        str(db),
    )
    assert wrong.status == 1
    assert "skipped" in wrong.out
    assert "no draw of this ledger was drawn from the registers given" in wrong.err
    lonely = run("ledger", "verify", "--inspectors", INSPECTORS, "--ledger", str(db))
    assert lonely.status == 2


def test_verify_and_export_do_not_create_a_ledger(run: Callable[..., Run], tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    for argv in (
        ("ledger", "verify"),
        ("ledger", "checkpoint"),
        ("ledger", "export", str(tmp_path / "x.jsonl")),
        ("lock", "--draw", "ab" * 32),
    ):
        result = run(*argv, "--ledger", str(missing))
        assert result.status == 2, argv
        assert "no such ledger" in result.err
    assert list(tmp_path.iterdir()) == []


def test_help_lists_every_command() -> None:
    text = build_parser().format_help()
    for name in (
        "commit",
        "seed",
        "draw-committed",
        "lock",
        "recusal",
        "outcome",
        "publish",
        "ledger",
    ):
        assert name in text
    with pytest.raises(SystemExit):
        build_parser().parse_args(["seed", "--commitment", "x", "--contribution", "no-equals"])
