"""Tests of the hash-chained ledger ``randcheck-ledger/1``.

Every test works on real SQLite files under ``tmp_path``. Tampering is done the
way an insider with the file would do it: a raw :mod:`sqlite3` connection that
drops the append-only triggers and edits rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from randcheck.canonical import canonical_json
from randcheck.errors import LedgerError
from randcheck.ledger import (
    ENTRY_TAG,
    GENESIS_HASH,
    KINDS,
    LEDGER_FORMAT,
    Entry,
    Ledger,
    LedgerVerificationError,
    hash_entry,
    verify_jsonl,
)

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DOCS = ROOT / "docs" / "ledger.md"

Row = tuple[Any, ...]

# A small campaign, one entry of each kind randcheck writes.
CAMPAIGN: list[tuple[str, dict[str, Any]]] = [
    (
        "commitment",
        {
            "date": "2024-03-01",
            "operator": "张三",
            "observers": ["李四 (人大代表)", "王五 (政协委员)"],
            "pools": {"entities": "ab" * 32, "inspectors": "cd" * 32},
            "items": ["W-01", "E-02"],
            "policy": {"ratio": "1/20", "min_team": 2},
        },
    ),
    ("seed", {"contributions": [["李四", "4711"], ["王五", "0815"]], "beacon": None}),
    (
        "draw",
        {
            "item": "E-02",
            "selected": ["91350100M000100Y43", "91512081MA62K0260E"],
            "commitment_seq": 1,
            "seed_seq": 2,
        },
    ),
    ("lock", {"draw_seq": 3, "locked": True}),
    (
        "recusal",
        {"inspector": "ZF-0007", "entity": "91350100M000100Y43", "reason": "亲属关系"},
    ),
    (
        "outcome",
        {"entity": "91350100M000100Y43", "result": "未发现问题", "count": 2**53 - 1},
    ),
    ("publication", {"where": "county website", "date": "2024-03-20", "items": 2}),
]


def build(path: Path) -> list[Entry]:
    with Ledger.open(path) as ledger:
        return [ledger.append(kind, body) for kind, body in CAMPAIGN]


@contextlib.contextmanager
def raw_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A raw write transaction on the file, with the append-only triggers dropped."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DROP TRIGGER IF EXISTS entries_no_update")
        conn.execute("DROP TRIGGER IF EXISTS entries_no_delete")
        yield conn
        conn.execute("COMMIT")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


def read_rows(path: Path) -> list[Row]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT seq, kind, body, prev_hash, entry_hash FROM entries ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


def rewrite(path: Path, rows: list[Row]) -> None:
    """Replace the whole entries table by ``rows``."""
    with raw_db(path) as conn:
        conn.execute("DELETE FROM entries")
        conn.executemany(
            "INSERT INTO entries (seq, kind, body, prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?)",
            rows,
        )


def set_column(path: Path, seq: int, column: str, value: str) -> None:
    assert column in {"kind", "body", "prev_hash", "entry_hash"}
    with raw_db(path) as conn:
        conn.execute(f"UPDATE entries SET {column} = ? WHERE seq = ?", (value, seq))


def verify(path: Path, checkpoint: dict[str, Any] | None = None) -> int:
    with Ledger.open(path) as ledger:
        return ledger.verify(checkpoint)


def verify_error(path: Path, checkpoint: dict[str, Any] | None = None) -> LedgerVerificationError:
    with Ledger.open(path) as ledger, pytest.raises(LedgerVerificationError) as info:
        ledger.verify(checkpoint)
    return info.value


def checkpoint_of(path: Path) -> dict[str, Any]:
    with Ledger.open(path) as ledger:
        return ledger.checkpoint()


def forged(seq: int, kind: str, body: dict[str, Any], prev: str) -> Row:
    """A row whose own hash is correct for its seq, kind, body and prev_hash."""
    text = canonical_json(body).decode()
    return (seq, kind, text, prev, hash_entry(seq, kind, prev, body))


@contextlib.contextmanager
def child(script: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """Run ``python -c script args…``; it is killed if the test leaves early."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    with subprocess.Popen(
        [sys.executable, "-c", script, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()


# ---------------------------------------------------------------------------
# Format


def test_known_answer_vector(tmp_path: Path) -> None:
    body = {"operator": "张三", "date": "2024-03-01"}
    expected_bytes = (
        '{"body":{"date":"2024-03-01","operator":"张三"},"kind":"commitment",'
        '"prev_hash":"' + "0" * 64 + '","seq":1}'
    ).encode()
    expected = "e9a479d8d1b7a738199a551ab280b6689176417e89ea70726a09d80500144dc3"
    assert ENTRY_TAG == b"randcheck-ledger/1\x00entry\x00"
    assert hashlib.sha256(ENTRY_TAG + expected_bytes).hexdigest() == expected
    assert hash_entry(1, "commitment", GENESIS_HASH, body) == expected
    with Ledger.open(tmp_path / "l.db") as ledger:
        entry = ledger.append("commitment", body)
    assert entry.canonical_bytes() == expected_bytes
    assert entry.entry_hash == expected
    assert entry.prev_hash == GENESIS_HASH == "0" * 64


def test_second_entry_links_to_the_first(tmp_path: Path) -> None:
    entries = build(tmp_path / "l.db")
    assert [e.seq for e in entries] == list(range(1, len(CAMPAIGN) + 1))
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
        assert after.entry_hash == hash_entry(after.seq, after.kind, after.prev_hash, after.body)


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    appended = build(path)
    with Ledger.open(path) as ledger:
        assert list(ledger.entries()) == appended
        assert [e.kind for e in ledger.entries()] == [k for k, _ in CAMPAIGN]
        assert [e.body for e in ledger.entries()] == [b for _, b in CAMPAIGN]
        assert ledger.head() == (len(CAMPAIGN), appended[-1].entry_hash)
        assert ledger.checkpoint() == {
            "ledger": LEDGER_FORMAT,
            "size": len(CAMPAIGN),
            "head": appended[-1].entry_hash,
        }
        assert ledger.verify() == len(CAMPAIGN)
        assert ledger.get(3) == appended[2]
        with pytest.raises(LedgerError, match="no entry with seq 99"):
            ledger.get(99)
        assert appended[2].to_json() == {
            "seq": 3,
            "kind": "draw",
            "body": CAMPAIGN[2][1],
            "prev_hash": appended[1].entry_hash,
            "entry_hash": appended[2].entry_hash,
        }
    # The stored body is exactly the canonical JSON text.
    assert [row[2] for row in read_rows(path)] == [
        canonical_json(body).decode() for _, body in CAMPAIGN
    ]


def test_empty_ledger(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db") as ledger:
        assert list(ledger.entries()) == []
        assert ledger.head() == (0, GENESIS_HASH)
        assert ledger.verify() == 0
        assert ledger.checkpoint() == {"ledger": LEDGER_FORMAT, "size": 0, "head": GENESIS_HASH}


def test_entries_pages_through_a_long_ledger(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.db") as ledger:
        for i in range(1100):
            ledger.append("outcome", {"i": i})
        assert [e.body["i"] for e in ledger.entries()] == list(range(1100))
        assert len(ledger.find("outcome")) == 1100
        assert ledger.verify() == 1100


def test_strings_are_stored_in_nfc(tmp_path: Path) -> None:
    decomposed = "Cafe\u0301"
    with Ledger.open(tmp_path / "l.db") as ledger:
        entry = ledger.append("outcome", {"entity": decomposed})
        assert entry.body == {"entity": "Caf\u00e9"}
        assert ledger.find("outcome", entity=decomposed) == [entry]
        assert ledger.verify() == 1


def test_append_refuses_bad_input_and_leaves_the_ledger_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    with Ledger.open(path) as ledger:
        before = ledger.head()
        with pytest.raises(LedgerError, match=r"\$\.policy\.ratio: floats are not allowed"):
            ledger.append("commitment", {"policy": {"ratio": 0.05}})
        with pytest.raises(LedgerError, match="too large"):
            ledger.append("outcome", {"count": 2**53})
        with pytest.raises(LedgerError, match="must be a JSON object"):
            ledger.append("outcome", ["not", "an", "object"])  # type: ignore[arg-type]
        with pytest.raises(LedgerError, match="kind"):
            ledger.append("", {})
        with pytest.raises(LedgerError, match="kind"):
            ledger.append(" draw", {})
        with pytest.raises(LedgerError, match="kind"):
            ledger.append(7, {})  # type: ignore[arg-type]
        assert ledger.head() == before
        assert ledger.verify() == len(CAMPAIGN)


def test_documented_kinds() -> None:
    assert set(KINDS) == {
        "commitment",
        "seed",
        "draw",
        "lock",
        "recusal",
        "outcome",
        "follow-up",
        "follow-up-closed",
        "publication",
    }
    text = DOCS.read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"`{kind}`" in text


def test_find_and_commitments(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    entries = build(path)
    with Ledger.open(path) as ledger:
        second = ledger.append("commitment", {"date": "2024-09-01", "operator": "张三"})
        assert ledger.commitments() == [entries[0], second]
        assert ledger.find("commitment", date="2024-09-01") == [second]
        assert ledger.find("commitment", operator="张三") == [entries[0], second]
        assert ledger.find("draw", selected=("91350100M000100Y43", "91512081MA62K0260E")) == [
            entries[2]
        ]
        assert ledger.find(None, entity="91350100M000100Y43") == [entries[4], entries[5]]
        assert ledger.find("draw", item="nope") == []
        assert ledger.find("nope") == []


# ---------------------------------------------------------------------------
# Opening


def test_open_refuses_what_is_not_a_ledger(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all, not even close" * 100)
    with pytest.raises(LedgerError, match=r"garbage\.db"):
        Ledger.open(garbage)

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    try:
        conn.execute("CREATE TABLE people (name TEXT)")
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(LedgerError, match="not a randcheck ledger"):
        Ledger.open(other)

    with pytest.raises(LedgerError, match="no such ledger"):
        Ledger.open(tmp_path / "missing.db", readonly=True)
    assert not (tmp_path / "missing.db").exists()

    with pytest.raises(LedgerError, match="cannot open"):
        Ledger.open(tmp_path / "no-such-dir" / "l.db")


def test_open_refuses_another_format(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    with raw_db(path) as conn:
        conn.execute("UPDATE meta SET value = 'randcheck-ledger/2' WHERE key = 'format'")
    with pytest.raises(LedgerError, match="randcheck-ledger/2"):
        Ledger.open(path)


def test_readonly_and_closed(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    with Ledger.open(path, readonly=True) as ledger:
        assert ledger.verify() == len(CAMPAIGN)
        with pytest.raises(LedgerError, match="read-only"):
            ledger.append("outcome", {})
    assert ledger.closed
    with pytest.raises(LedgerError, match="closed"):
        ledger.verify()
    with pytest.raises(LedgerError, match="closed"):
        ledger.append("outcome", {})
    ledger.close()  # closing twice is harmless
    assert verify(path) == len(CAMPAIGN)


def test_triggers_refuse_update_and_delete(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE entries SET body = '{}' WHERE seq = 2")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM entries WHERE seq = 7")
        conn.rollback()
    finally:
        conn.close()
    assert verify(path) == len(CAMPAIGN)


# ---------------------------------------------------------------------------
# Tampering


def test_flipping_any_byte_of_any_body_is_detected_at_that_seq(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    rows = read_rows(path)
    flips = invalid = 0
    with Ledger.open(path) as ledger:
        for seq, _kind, body, _prev, _hash in rows:
            data = body.encode()
            # Flipping bit 0 keeps UTF-8 valid; flipping bit 6 of a non-ASCII byte breaks it.
            for pos, mask in itertools.product(range(len(data)), (0x01, 0x40)):
                changed = bytearray(data)
                changed[pos] ^= mask
                try:
                    set_column(path, seq, "body", changed.decode("utf-8"))
                except UnicodeDecodeError:  # store the broken UTF-8 as it is
                    with raw_db(path) as conn:
                        conn.execute(
                            "UPDATE entries SET body = CAST(? AS TEXT) WHERE seq = ?",
                            (bytes(changed), seq),
                        )
                    invalid += 1
                with pytest.raises(LedgerVerificationError) as info:
                    ledger.verify()
                assert info.value.seq == seq, (seq, pos, bytes(changed))
                assert info.value.problem in {"malformed", "non-canonical", "hash-mismatch"}
                flips += 1
            set_column(path, seq, "body", body)
            assert ledger.verify() == len(rows)
    assert flips == 2 * sum(len(row[2].encode()) for row in rows)  # every byte of every body
    assert invalid > 50


def test_flipping_any_digit_of_any_entry_hash_is_detected_at_that_seq(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    rows = read_rows(path)
    with Ledger.open(path) as ledger:
        for seq, _kind, _body, _prev, digest in rows:
            for pos in range(64):
                other = "0" if digest[pos] != "0" else "1"
                set_column(path, seq, "entry_hash", digest[:pos] + other + digest[pos + 1 :])
                with pytest.raises(LedgerVerificationError, match=f"at seq {seq}: hash mismatch"):
                    ledger.verify()
            set_column(path, seq, "entry_hash", digest)
        assert ledger.verify() == len(rows)


def test_editing_prev_hash_or_kind_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    entries = build(path)
    set_column(path, 4, "prev_hash", entries[1].entry_hash)
    err = verify_error(path)
    assert (err.seq, err.problem) == (4, "broken-link")
    set_column(path, 4, "prev_hash", entries[2].entry_hash)
    set_column(path, 4, "kind", "draw")
    err = verify_error(path)
    assert (err.seq, err.problem) == (4, "hash-mismatch")
    set_column(path, 4, "kind", "Cafe\u0301")
    err = verify_error(path)
    assert (err.seq, err.problem) == (4, "malformed")
    set_column(path, 4, "kind", "lock")
    assert verify(path) == len(CAMPAIGN)


def test_editing_a_selected_id_with_valid_json_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    entries = build(path)
    checkpoint = checkpoint_of(path)
    draw = entries[2]
    edited = dict(draw.body, selected=["91350100M000100Y43", "91110000600037341L"])

    # 1. The body alone: the entry no longer hashes to its stored hash.
    set_column(path, 3, "body", canonical_json(edited).decode())
    err = verify_error(path)
    assert (err.seq, err.problem) == (3, "hash-mismatch")
    assert "at seq 3: hash mismatch" in str(err)

    # 2. Body and its own hash: the next entry's link breaks.
    rows = read_rows(path)
    rows[2] = forged(3, "draw", edited, entries[1].entry_hash)
    rewrite(path, rows)
    err = verify_error(path)
    assert (err.seq, err.problem) == (4, "broken-link")

    # 3. Everything after it re-hashed: the chain is consistent again, and only
    # the published checkpoint tells.
    prev = rows[2][4]
    for i in range(3, len(rows)):
        seq, kind, body, _p, _h = rows[i]
        rows[i] = forged(seq, kind, json.loads(body), prev)
        prev = rows[i][4]
    rewrite(path, rows)
    assert verify(path) == len(CAMPAIGN)
    err = verify_error(path, checkpoint)
    assert (err.seq, err.problem) == (len(CAMPAIGN), "head-mismatch")
    # An older checkpoint taken before the edited entry is still honoured.
    early = {"ledger": LEDGER_FORMAT, "size": 2, "head": entries[1].entry_hash}
    assert verify(path, early) == len(CAMPAIGN)


def test_non_canonical_body_is_detected_even_though_the_hash_matches(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    entries = build(path)
    draw = entries[2]
    pretty = json.dumps(draw.body, ensure_ascii=False, indent=1)
    assert json.loads(pretty) == draw.body
    # The hash covers the parsed body, so only the canonical-form check catches this.
    assert hash_entry(3, "draw", draw.prev_hash, json.loads(pretty)) == draw.entry_hash
    set_column(path, 3, "body", pretty)
    err = verify_error(path)
    assert (err.seq, err.problem) == (3, "non-canonical")
    assert "non-canonical body" in str(err)


def test_reordering_two_entries_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    rows = read_rows(path)
    third, fourth = rows[2], rows[3]
    rows[2] = (3, *fourth[1:])
    rows[3] = (4, *third[1:])
    rewrite(path, rows)
    err = verify_error(path)
    assert err.seq == 3
    assert err.problem in {"broken-link", "hash-mismatch"}


def test_deleting_an_entry_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    with raw_db(path) as conn:
        conn.execute("DELETE FROM entries WHERE seq = 5")
    err = verify_error(path)
    assert (err.seq, err.problem) == (5, "seq-gap")
    assert "expected seq 5, found seq 6" in str(err)


def test_deleting_the_first_entry_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    with raw_db(path) as conn:
        conn.execute("DELETE FROM entries WHERE seq = 1")
    err = verify_error(path)
    assert (err.seq, err.problem) == (1, "seq-gap")


def test_renumbering_after_a_deletion_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    rows = read_rows(path)
    del rows[4]
    rows = [(i, *row[1:]) for i, row in enumerate(rows, start=1)]
    rewrite(path, rows)
    err = verify_error(path)
    assert err.seq == 5
    assert err.problem in {"broken-link", "hash-mismatch"}


def test_truncation_is_detected_against_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    checkpoint = checkpoint_of(path)
    with raw_db(path) as conn:
        conn.execute("DELETE FROM entries WHERE seq >= 6")
    assert verify(path) == 5  # a shorter chain is still a valid chain...
    err = verify_error(path, checkpoint)  # ...but not the one that was published
    assert (err.seq, err.problem) == (6, "truncated")
    assert "the ledger has 5 entries, but the checkpoint covers 7" in str(err)


def test_a_grown_ledger_still_verifies_against_an_old_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    checkpoint = checkpoint_of(path)
    with Ledger.open(path) as ledger:
        ledger.append("outcome", {"entity": "91512081MA62K0260E", "result": "不合格"})
        assert ledger.verify(checkpoint) == len(CAMPAIGN) + 1
        assert ledger.checkpoint()["size"] == len(CAMPAIGN) + 1


def test_inserting_a_forged_entry_with_a_correct_own_hash_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    entries = build(path)
    rows = read_rows(path)
    fake = forged(4, "recusal", {"inspector": "ZF-0001", "reason": "出差"}, entries[2].entry_hash)
    assert fake[4] == hash_entry(4, "recusal", entries[2].entry_hash, json.loads(fake[2]))
    shifted = rows[:3] + [fake] + [(row[0] + 1, *row[1:]) for row in rows[3:]]
    rewrite(path, shifted)
    err = verify_error(path)
    # The forged entry itself is consistent; the entry after it is not.
    assert (err.seq, err.problem) == (5, "broken-link")


def test_appending_a_forged_entry_with_a_wrong_link_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    n = len(CAMPAIGN)
    fake = forged(n + 1, "outcome", {"entity": "x", "result": "未发现问题"}, GENESIS_HASH)
    with raw_db(path) as conn:
        conn.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", fake)
    err = verify_error(path)
    assert (err.seq, err.problem) == (n + 1, "broken-link")


def test_replaying_an_old_entry_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    rows = read_rows(path)
    n = len(rows)
    # A copy of the draw appended at the end, as is.
    with raw_db(path) as conn:
        conn.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", (n + 1, *rows[2][1:]))
    err = verify_error(path)
    assert (err.seq, err.problem) == (n + 1, "broken-link")
    # A copy linked to the head but keeping its old hash.
    with raw_db(path) as conn:
        conn.execute("UPDATE entries SET prev_hash = ? WHERE seq = ?", (rows[-1][4], n + 1))
    err = verify_error(path)
    assert (err.seq, err.problem) == (n + 1, "hash-mismatch")
    # An old entry copied over a later one.
    with raw_db(path) as conn:
        conn.execute("DELETE FROM entries WHERE seq = ?", (n + 1,))
        conn.execute(
            "UPDATE entries SET kind = ?, body = ?, prev_hash = ?, entry_hash = ? WHERE seq = 4",
            rows[2][1:],
        )
    err = verify_error(path)
    assert err.seq == 4
    assert err.problem in {"broken-link", "hash-mismatch"}


def test_malformed_checkpoints_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    entries = build(path)
    good = checkpoint_of(path)
    bad_ones: list[Any] = [
        dict(good, ledger="randcheck-ledger/2"),
        dict(good, size=-1),
        dict(good, size=True),
        dict(good, size="7"),
        dict(good, head=good["head"].upper()),
        dict(good, head=good["head"][:-1]),
        {"size": 7, "head": good["head"]},
        [7, good["head"]],
    ]
    with Ledger.open(path) as ledger:
        for bad in bad_ones:
            with pytest.raises(LedgerError) as info:
                ledger.verify(bad)
            assert not isinstance(info.value, LedgerVerificationError), bad
        wrong_head = dict(good, head=entries[0].entry_hash)
        with pytest.raises(LedgerVerificationError, match="head differs") as vinfo:
            ledger.verify(wrong_head)
        assert (vinfo.value.seq, vinfo.value.problem) == (7, "head-mismatch")
        zero = {"ledger": LEDGER_FORMAT, "size": 0, "head": entries[0].entry_hash}
        with pytest.raises(LedgerVerificationError) as vinfo:
            ledger.verify(zero)
        assert (vinfo.value.seq, vinfo.value.problem) == (0, "head-mismatch")
        assert ledger.verify(dict(zero, head=GENESIS_HASH)) == len(CAMPAIGN)
        assert ledger.verify(dict(good, note="published on the county website")) == 7


def test_checkpoint_refuses_a_broken_ledger(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    set_column(path, 2, "kind", "draw")
    with Ledger.open(path) as ledger:
        with pytest.raises(LedgerVerificationError, match="at seq 2"):
            ledger.checkpoint()
        assert ledger.checkpoint(verify=False)["size"] == len(CAMPAIGN)


# ---------------------------------------------------------------------------
# Export and import


def test_export_import_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    export = tmp_path / "ledger.jsonl"
    entries = build(path)
    with Ledger.open(path) as ledger:
        checkpoint = ledger.checkpoint()
        assert ledger.export_jsonl(export, checkpoint=checkpoint) == len(CAMPAIGN)
    lines = export.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert lines[:-1] == [canonical_json(e.to_json()) for e in entries]
    assert verify_jsonl(export) == len(CAMPAIGN)
    assert verify_jsonl(export, checkpoint) == len(CAMPAIGN)
    assert not list(tmp_path.glob(".*.tmp"))

    copy = tmp_path / "copy.db"
    with Ledger.import_jsonl(export, copy, checkpoint=checkpoint) as imported:
        assert list(imported.entries()) == entries
        assert imported.checkpoint() == checkpoint
        assert imported.verify(checkpoint) == len(CAMPAIGN)
        imported.append("outcome", {"after": "import"})
        assert imported.verify(checkpoint) == len(CAMPAIGN) + 1
    assert read_rows(copy)[: len(CAMPAIGN)] == read_rows(path)


def test_import_into_an_existing_empty_ledger(tmp_path: Path) -> None:
    path, export, target = tmp_path / "l.db", tmp_path / "l.jsonl", tmp_path / "t.db"
    build(path)
    with Ledger.open(path) as ledger:
        ledger.export_jsonl(export)
    Ledger.open(target).close()
    with Ledger.import_jsonl(export, target) as imported:
        assert imported.verify() == len(CAMPAIGN)


def test_import_refuses_a_non_empty_target(tmp_path: Path) -> None:
    path, export, target = tmp_path / "l.db", tmp_path / "l.jsonl", tmp_path / "t.db"
    build(path)
    with Ledger.open(path) as ledger:
        ledger.export_jsonl(export)
    with Ledger.open(target) as other:
        mine = other.append("commitment", {"date": "2025-01-01"})
    with pytest.raises(LedgerError, match="already has 1 entries"):
        Ledger.import_jsonl(export, target)
    with Ledger.open(target) as other:
        assert list(other.entries()) == [mine]


def test_import_refuses_a_non_ledger_target(tmp_path: Path) -> None:
    path, export, target = tmp_path / "l.db", tmp_path / "l.jsonl", tmp_path / "t.db"
    build(path)
    with Ledger.open(path) as ledger:
        ledger.export_jsonl(export)
    conn = sqlite3.connect(target)
    try:
        conn.execute("CREATE TABLE people (name TEXT)")
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(LedgerError, match="not a randcheck ledger"):
        Ledger.import_jsonl(export, target)
    assert target.exists()


def export_lines(tmp_path: Path) -> tuple[Path, list[bytes], dict[str, Any]]:
    path, export = tmp_path / "l.db", tmp_path / "l.jsonl"
    build(path)
    with Ledger.open(path) as ledger:
        ledger.export_jsonl(export)
        checkpoint = ledger.checkpoint()
    return export, export.read_bytes().splitlines(), checkpoint


@pytest.mark.parametrize(
    ("edit", "seq", "problem"),
    [
        ("body", 3, "hash-mismatch"),
        ("space", 2, "non-canonical"),
        ("duplicate", 5, "seq-gap"),
        ("drop", 4, "seq-gap"),
        ("swap", 3, "seq-gap"),
        ("float", 6, "malformed"),
        ("extra-field", 2, "malformed"),
        ("not-json", 5, "malformed"),
        ("truncate", 6, "truncated"),
        ("crlf", 1, "non-canonical"),
    ],
)
def test_import_verifies_before_writing_anything(
    tmp_path: Path, edit: str, seq: int, problem: str
) -> None:
    export, lines, checkpoint = export_lines(tmp_path)
    if edit == "body":
        lines[2] = lines[2].replace(b"91512081MA62K0260E", b"91110000600037341L")
    elif edit == "space":
        lines[1] = lines[1].replace(b'"kind":', b'"kind": ')
    elif edit == "duplicate":
        lines.insert(4, lines[3])
    elif edit == "drop":
        del lines[3]
    elif edit == "swap":
        lines[2], lines[3] = lines[3], lines[2]
    elif edit == "float":
        lines[5] = lines[5].replace(b'"count":9007199254740991', b'"count":1.5')
    elif edit == "extra-field":
        obj = json.loads(lines[1])
        obj["note"] = "x"
        lines[1] = canonical_json(obj)
    elif edit == "not-json":
        lines[4] = lines[4][:-1]
    elif edit == "truncate":
        del lines[5:]
    elif edit == "crlf":
        lines = [line + b"\r" for line in lines]
    export.write_bytes(b"".join(line + b"\n" for line in lines))
    target = tmp_path / "target.db"
    with pytest.raises(LedgerVerificationError) as info:
        Ledger.import_jsonl(export, target, checkpoint=checkpoint)
    assert (info.value.seq, info.value.problem) == (seq, problem)
    assert not target.exists()
    with pytest.raises(LedgerVerificationError):
        verify_jsonl(export, checkpoint)


def test_import_writes_in_one_transaction(tmp_path: Path) -> None:
    export, _lines, _cp = export_lines(tmp_path)
    target = tmp_path / "target.db"
    Ledger.open(target).close()
    conn = sqlite3.connect(target)
    try:  # the disk "fails" while the fifth entry is written
        conn.execute(
            "CREATE TRIGGER fail_at_five BEFORE INSERT ON entries WHEN NEW.seq = 5"
            " BEGIN SELECT RAISE(ABORT, 'simulated failure'); END"
        )
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(LedgerError, match="simulated failure"):
        Ledger.import_jsonl(export, target)
    assert read_rows(target) == []
    assert verify(target) == 0


def test_export_refuses_a_broken_ledger_and_writes_nothing(tmp_path: Path) -> None:
    path, export = tmp_path / "l.db", tmp_path / "l.jsonl"
    build(path)
    with raw_db(path) as conn:
        conn.execute("DELETE FROM entries WHERE seq = 2")
    with Ledger.open(path) as ledger, pytest.raises(LedgerVerificationError, match="at seq 2"):
        ledger.export_jsonl(export)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.db"]


def test_export_to_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path)
    with Ledger.open(path) as ledger, pytest.raises(LedgerError, match="cannot write"):
        ledger.export_jsonl(tmp_path / "missing" / "l.jsonl")


def test_import_of_an_unreadable_export(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="cannot read"):
        Ledger.import_jsonl(tmp_path / "missing.jsonl", tmp_path / "t.db")
    assert not (tmp_path / "t.db").exists()


# ---------------------------------------------------------------------------
# The verifier in docs/ledger.md


def docs_verifier() -> Any:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    (source,) = [b for b in blocks if "def verify_export" in b]
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOCS), "exec"), namespace)
    return namespace["verify_export"]


def test_the_verifier_in_the_docs_agrees(tmp_path: Path) -> None:
    verify_export = docs_verifier()
    export, lines, checkpoint = export_lines(tmp_path)
    assert verify_export(export) == len(CAMPAIGN)
    assert verify_export(export, checkpoint) == len(CAMPAIGN)
    tampered = tmp_path / "tampered.jsonl"
    for i in range(len(lines)):
        changed = list(lines)
        changed[i] = changed[i].replace(b'"seq":', b'"seq": ')
        tampered.write_bytes(b"".join(line + b"\n" for line in changed))
        with pytest.raises(ValueError, match=f"seq {i + 1}"):
            verify_export(tampered)
        changed = list(lines)
        old = json.loads(lines[i])["prev_hash"]
        new = old[:10] + ("1" if old[10] == "0" else "0") + old[11:]
        changed[i] = lines[i].replace(
            f'"prev_hash":"{old}"'.encode(), f'"prev_hash":"{new}"'.encode()
        )
        assert changed[i] != lines[i]
        tampered.write_bytes(b"".join(line + b"\n" for line in changed))
        with pytest.raises(ValueError, match=f"seq {i + 1}: broken prev link"):
            verify_export(tampered)
    tampered.write_bytes(b"".join(line + b"\n" for line in lines[:5]))
    assert verify_export(tampered) == 5
    with pytest.raises(ValueError, match="truncated"):
        verify_export(tampered, checkpoint)


# ---------------------------------------------------------------------------
# Processes: concurrent writers and killed writers

WRITER = r"""
import random, sys, time
from pathlib import Path
from randcheck.ledger import Ledger

path, tag, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
rng = random.Random(tag)
with Ledger.open(path) as ledger:
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    for i in range(count):
        ledger.append("outcome", {"writer": tag, "i": i})
        time.sleep(rng.random() * 0.002)  # so that the two writers interleave, and collide
"""


def test_concurrent_appends_from_two_processes(tmp_path: Path) -> None:
    path, go = tmp_path / "l.db", tmp_path / "go"
    count = 200
    with contextlib.ExitStack() as stack:
        procs = [
            stack.enter_context(child(WRITER, str(path), tag, str(count), str(go)))
            for tag in ("A", "B")
        ]
        for proc in procs:  # both have opened the (new) file before either appends
            assert proc.stdout is not None
            assert proc.stdout.readline() == "ready\n"
        go.touch()
        for proc in procs:
            _out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
    with Ledger.open(path) as ledger:
        assert ledger.verify() == 2 * count
        entries = list(ledger.entries())
    assert [e.seq for e in entries] == list(range(1, 2 * count + 1))
    for tag in ("A", "B"):
        assert [e.body["i"] for e in entries if e.body["writer"] == tag] == list(range(count))
    # The writers really ran at the same time (their appends interleave).
    switches = sum(a.body["writer"] != b.body["writer"] for a, b in itertools.pairwise(entries))
    assert switches >= 5


KILLED = r"""
import sys
from randcheck.ledger import Ledger

pad = "账" * 40000
with Ledger.open(sys.argv[1]) as ledger:
    i = 0
    while True:
        entry = ledger.append("draw", {"round": int(sys.argv[2]), "i": i, "pad": pad})
        print(entry.seq, flush=True)
        i += 1
"""


def test_a_writer_killed_mid_loop_leaves_a_valid_ledger(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    rng = random.Random(20240301)
    seen = 0
    for round_ in range(8):
        with child(KILLED, str(path), str(round_)) as proc:
            assert proc.stdout is not None
            for _ in range(rng.randint(2, 6)):
                line = proc.stdout.readline()
                assert line, "the writer died before it was killed"
                seen = int(line)
            time.sleep(rng.uniform(0, 0.02))
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
            assert proc.returncode == -signal.SIGKILL
        with Ledger.open(path) as ledger:
            size = ledger.verify()
            assert size >= seen
            assert ledger.head()[0] == size
            assert [e.seq for e in ledger.entries()] == list(range(1, size + 1))
    with Ledger.open(path) as ledger:
        entry = ledger.append("lock", {"after": "kills"})
        assert ledger.verify() == entry.seq


PAUSED = r"""
import sys, time
from randcheck.ledger import Ledger


class PauseBeforeCommit:
    # Delegates to the real connection, but hangs instead of committing append n.
    def __init__(self, conn, n):
        self.conn, self.n = conn, n

    def execute(self, sql, *args):
        if sql == "COMMIT":
            self.n -= 1
            if self.n == 0:
                print("inside", flush=True)
                time.sleep(120)
                sys.exit(3)
        return self.conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.conn, name)


ledger = Ledger.open(sys.argv[1])
ledger._conn = PauseBeforeCommit(ledger._conn, int(sys.argv[2]))
for i in range(100):
    ledger.append("draw", {"i": i, "pad": "x" * 5000})
"""


def test_a_writer_killed_inside_its_transaction_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with child(PAUSED, str(path), "6") as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "inside\n"
        # Entry 6 is inserted but not committed: other processes see 5 entries,
        # and the rollback journal of the open transaction is on disk.
        assert Path(f"{path}-journal").exists()
        with Ledger.open(path, readonly=True) as reader:
            assert reader.verify() == 5
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    with Ledger.open(path) as ledger:
        assert ledger.verify() == 5
        assert ledger.append("draw", {"i": "after"}).seq == 6
        assert ledger.verify() == 6


def test_conditional_append_refuses_a_moved_head(tmp_path: Path) -> None:
    from randcheck.ledger import LedgerConflictError

    with Ledger.open(tmp_path / "l.db") as ledger:
        first = ledger.append("commitment", {"n": 1})
        head = ledger.head()
        assert head == (1, first.entry_hash)
        ledger.append("seed", {"n": 2}, expect_head=head)
        with pytest.raises(LedgerConflictError, match="changed since it was read"):
            ledger.append("seed", {"n": 3}, expect_head=head)  # stale: nothing written
        assert ledger.head()[0] == 2
        assert ledger.verify() == 2
