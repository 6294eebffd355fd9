"""The hash-chained, append-only ledger ``randcheck-ledger/1`` (全程留痕).

Every step of an inspection campaign — the commitment to the pools, the seed
ceremony, the draw, the lock, each recusal and substitute, the outcomes and the
publication — is appended to a :class:`Ledger` as an :class:`Entry`. Each entry
carries the hash of the one before it, so changing, removing, reordering or
inserting any entry changes every hash after it. A bureau publishes a small
:meth:`Ledger.checkpoint` (size and head hash) from time to time; anyone holding
a checkpoint can later prove that the ledger still extends it, unedited.

The format is specified in ``docs/ledger.md`` precisely enough to verify an
export (:meth:`Ledger.export_jsonl`) in another language:

* an entry's canonical form is ``canonical_json({"seq": seq, "kind": kind,
  "prev_hash": prev_hash, "body": body})`` (RFC 8785 subset, see
  :mod:`randcheck.canonical`);
* ``entry_hash = SHA-256(b"randcheck-ledger/1\\x00entry\\x00" + canonical
  form)``, as 64 lowercase hexadecimal digits;
* ``seq`` counts from 1 without gaps; the first entry's ``prev_hash`` is
  :data:`GENESIS_HASH` (64 zeros), every other entry's is the ``entry_hash`` of
  the entry before it.

Storage is one SQLite file (stdlib :mod:`sqlite3`). An append reads the head and
inserts the new entry inside one ``BEGIN IMMEDIATE`` transaction, so two
processes appending at once queue up (each waits up to the busy timeout) and
the chain never forks; a writer killed mid-append leaves the ledger as it was
before that append, because SQLite rolls the unfinished transaction back.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import attrs

from ._files import atomic_writer
from .canonical import canonical_json, jcs_loads, nfc
from .errors import LedgerError

__all__ = [
    "ENTRY_TAG",
    "GENESIS_HASH",
    "KINDS",
    "LEDGER_FORMAT",
    "Entry",
    "Ledger",
    "LedgerConflictError",
    "LedgerVerificationError",
    "hash_entry",
    "verify_jsonl",
]

#: Version tag of the ledger format; it is part of every entry hash and every checkpoint.
LEDGER_FORMAT: Final = "randcheck-ledger/1"
#: Domain-separation prefix hashed in front of an entry's canonical form.
ENTRY_TAG: Final = LEDGER_FORMAT.encode("ascii") + b"\x00entry\x00"
#: ``prev_hash`` of the first entry.
GENESIS_HASH: Final = "0" * 64

#: The entry kinds randcheck itself writes, with what each body records. Kinds
#: are free strings; these are documented in ``docs/ledger.md``.
KINDS: Final[Mapping[str, str]] = {
    "commitment": "pool digests, items, policies, date, operator, observers; "
    "appended BEFORE the seed exists",
    "seed": "the seed material: contributions of each party, the public beacon value",
    "draw": "the draw record: what was drawn, from which commitment and seed",
    "lock": "the drawn list is locked; later changes need their own logged entries",
    "recusal": "an inspector recused or unavailable, the reason, the substitute drawn",
    "outcome": "the result of one inspection (standard result category, follow-up)",
    "follow-up": "a rectification follow-up (整改回访) opened by an outcome",
    "follow-up-closed": "a follow-up closed (整改销号)",
    "publication": "what was published, where and when",
}

_HEX64 = re.compile(r"[0-9a-f]{64}")
_PAGE = 512
_DEFAULT_TIMEOUT = 30.0
_FIELDS = frozenset({"seq", "kind", "body", "prev_hash", "entry_hash"})

_SCHEMA: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
    "CREATE TABLE entries ("
    " seq INTEGER PRIMARY KEY CHECK (seq >= 1),"
    " kind TEXT NOT NULL CHECK (typeof(kind) = 'text' AND length(kind) > 0),"
    " body TEXT NOT NULL CHECK (typeof(body) = 'text'),"
    " prev_hash TEXT NOT NULL CHECK (typeof(prev_hash) = 'text' AND length(prev_hash) = 64),"
    " entry_hash TEXT NOT NULL CHECK (typeof(entry_hash) = 'text' AND length(entry_hash) = 64)"
    ")",
    "CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries"
    " BEGIN SELECT RAISE(ABORT, 'randcheck ledger entries are append-only'); END",
    "CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries"
    " BEGIN SELECT RAISE(ABORT, 'randcheck ledger entries are append-only'); END",
)

_PROBLEMS: Final[Mapping[str, str]] = {
    "seq-gap": "seq gap",
    "malformed": "malformed entry",
    "non-canonical": "non-canonical body",
    "broken-link": "broken prev link",
    "hash-mismatch": "hash mismatch",
    "truncated": "truncated against the checkpoint",
    "head-mismatch": "head differs from the checkpoint",
}


class LedgerConflictError(LedgerError):
    """A conditional append found that another writer appended first."""


class LedgerVerificationError(LedgerError):
    """A ledger (or an export of one) failed verification.

    ``seq`` is the FIRST entry found bad (for ``truncated``, the first missing
    one; for ``head-mismatch``, the checkpoint's size), ``problem`` one of:

    ``seq-gap``
        the entries do not count 1, 2, 3, … (one deleted, duplicated or moved);
    ``malformed``
        the kind is not a non-empty NFC string, the body is not a JSON object
        without floats, or an export line lacks or mistypes a field;
    ``non-canonical``
        the stored body (or export line) is not byte-for-byte canonical JSON;
    ``broken-link``
        ``prev_hash`` is not the previous entry's hash (genesis for seq 1);
    ``hash-mismatch``
        the stored ``entry_hash`` is not the hash of the entry's canonical form;
    ``truncated``
        the ledger is shorter than a checkpoint says it was;
    ``head-mismatch``
        the entry at the checkpoint's size does not have the checkpoint's head hash.

    ``detail`` says what was found and what was expected.
    """

    def __init__(self, seq: int, problem: str, detail: str) -> None:
        self.seq = seq
        self.problem = problem
        self.detail = detail
        super().__init__(
            f"ledger verification failed at seq {seq}: {_PROBLEMS.get(problem, problem)}: {detail}"
        )


def hash_entry(seq: int, kind: str, prev_hash: str, body: Mapping[str, Any]) -> str:
    """Return the ``entry_hash`` of an entry, as 64 lowercase hexadecimal digits.

    ``SHA-256(ENTRY_TAG + canonical_json({"seq": seq, "kind": kind,
    "prev_hash": prev_hash, "body": body}))``. Raises :class:`ValueError` for
    values canonical JSON refuses (floats, integers beyond 2**53 - 1, …).
    """
    data = canonical_json({"seq": seq, "kind": kind, "prev_hash": prev_hash, "body": body})
    return hashlib.sha256(ENTRY_TAG + data).hexdigest()


@attrs.frozen
class Entry:
    """One ledger entry, as stored and as hashed.

    ``body`` is the parsed canonical body (strings in Unicode NFC, no floats).
    """

    seq: int
    kind: str
    body: dict[str, Any]
    prev_hash: str
    entry_hash: str

    def to_json(self) -> dict[str, Any]:
        """Return the entry as a JSON object: the five fields, as in an export line."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "body": self.body,
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
        }

    def canonical_bytes(self) -> bytes:
        """Return the canonical form that :attr:`entry_hash` is the tagged SHA-256 of."""
        return canonical_json(
            {"seq": self.seq, "kind": self.kind, "prev_hash": self.prev_hash, "body": self.body}
        )


# ---------------------------------------------------------------------------
# Verification, shared by the SQLite store and JSONL exports.


def _parse_checkpoint(checkpoint: Mapping[str, Any]) -> tuple[int, str]:
    if not isinstance(checkpoint, Mapping):
        raise LedgerError(f"a checkpoint must be a JSON object, not {type(checkpoint).__name__}")
    fmt = checkpoint.get("ledger")
    if fmt != LEDGER_FORMAT:
        raise LedgerError(f"checkpoint is for ledger format {fmt!r}, not {LEDGER_FORMAT!r}")
    size = checkpoint.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise LedgerError(f"checkpoint size must be a non-negative integer, not {size!r}")
    head = checkpoint.get("head")
    if not isinstance(head, str) or not _HEX64.fullmatch(head):
        raise LedgerError(f"checkpoint head must be 64 lowercase hex digits, not {head!r}")
    return size, head


@attrs.frozen
class _Stored:
    """A stored column value that is not valid text (shown by its description)."""

    description: str

    def __repr__(self) -> str:
        return f"<{self.description}>"


def _describe(value: object) -> str:
    return repr(value) if isinstance(value, _Stored) else type(value).__name__


def _stored_text(sql_type: str, raw: bytes | None) -> str | _Stored:
    """Decode a column read as ``typeof(x), CAST(x AS BLOB)``, never failing."""
    if sql_type != "text" or raw is None:
        return _Stored(f"a stored {sql_type} value")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return _Stored("stored text that is not valid UTF-8")


class _ChainVerifier:
    """Checks entries fed in storage order; raises at the first bad one."""

    def __init__(self, checkpoint: Mapping[str, Any] | None) -> None:
        self.count = 0
        self.prev = GENESIS_HASH
        self.checkpoint = None if checkpoint is None else _parse_checkpoint(checkpoint)
        if self.checkpoint is not None and self.checkpoint[0] == 0:
            head = self.checkpoint[1]
            if head != GENESIS_HASH:
                raise LedgerVerificationError(
                    0,
                    "head-mismatch",
                    f"a checkpoint of size 0 must have the genesis head {GENESIS_HASH}, not {head}",
                )

    def feed(
        self, seq: int, kind: object, body: object, prev_hash: object, entry_hash: object
    ) -> Entry:
        """Check one entry (``body`` as stored text); return it, parsed."""
        expected = self.count + 1
        if seq != expected:
            raise LedgerVerificationError(
                expected, "seq-gap", f"expected seq {expected}, found seq {seq}"
            )
        if not isinstance(kind, str) or not kind or nfc(kind) != kind:
            raise LedgerVerificationError(
                seq, "malformed", f"kind must be a non-empty NFC string, not {kind!r}"
            )
        if not isinstance(body, str):
            raise LedgerVerificationError(
                seq, "malformed", f"body must be text, not {_describe(body)}"
            )
        try:
            obj = jcs_loads(body)
        except ValueError as exc:
            raise LedgerVerificationError(
                seq, "malformed", f"body is not JSON without floats: {exc}"
            ) from None
        if not isinstance(obj, dict):
            raise LedgerVerificationError(
                seq, "malformed", f"body must be a JSON object, not {type(obj).__name__}"
            )
        try:
            canonical = canonical_json(obj)
        except ValueError as exc:
            raise LedgerVerificationError(seq, "malformed", f"body: {exc}") from None
        if canonical != body.encode("utf-8", "surrogatepass"):
            raise LedgerVerificationError(
                seq,
                "non-canonical",
                "the stored body text is not canonical JSON "
                f"(canonical form: {canonical.decode('utf-8')[:200]!r})",
            )
        if prev_hash != self.prev:
            previous = "the genesis value" if seq == 1 else f"entry {seq - 1}'s hash"
            raise LedgerVerificationError(
                seq, "broken-link", f"prev_hash is {prev_hash!r}, but {previous} is {self.prev}"
            )
        computed = hash_entry(seq, kind, self.prev, obj)
        if entry_hash != computed:
            raise LedgerVerificationError(
                seq,
                "hash-mismatch",
                f"stored entry_hash is {entry_hash!r}, the entry hashes to {computed}",
            )
        if self.checkpoint is not None and seq == self.checkpoint[0]:
            head = self.checkpoint[1]
            if computed != head:
                raise LedgerVerificationError(
                    seq,
                    "head-mismatch",
                    f"entry {seq} has hash {computed}, but the checkpoint's head is {head}: "
                    f"the ledger was rewritten at or before seq {seq}",
                )
        entry = Entry(seq=seq, kind=kind, body=obj, prev_hash=self.prev, entry_hash=computed)
        self.prev = computed
        self.count = seq
        return entry

    def finish(self) -> int:
        """Check the end of the ledger against the checkpoint; return the entry count."""
        if self.checkpoint is not None and self.checkpoint[0] > self.count:
            size = self.checkpoint[0]
            raise LedgerVerificationError(
                self.count + 1,
                "truncated",
                f"the ledger has {self.count} entries, but the checkpoint covers {size}: "
                f"seq {self.count + 1} to {size} are missing",
            )
        return self.count


def _read_export(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read the export: {exc}") from exc


def _export_rows(
    path: Path, checkpoint: Mapping[str, Any] | None
) -> Iterator[tuple[int, str, str, str, str]]:
    """Verify an export line by line, yielding ``(seq, kind, body, prev, hash)`` rows."""
    verifier = _ChainVerifier(checkpoint)
    data = _read_export(path)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for lineno, raw in enumerate(lines, start=1):

        def bad(problem: str, detail: str, lineno: int = lineno) -> LedgerVerificationError:
            return LedgerVerificationError(lineno, problem, f"{path}, line {lineno}: {detail}")

        try:
            obj = jcs_loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise bad("malformed", f"not UTF-8 JSON without floats: {exc}") from None
        if not isinstance(obj, dict) or set(obj) != _FIELDS:
            keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
            raise bad("malformed", f"expected an object with keys {sorted(_FIELDS)}, got {keys}")
        seq, kind, body = obj["seq"], obj["kind"], obj["body"]
        prev_hash, entry_hash = obj["prev_hash"], obj["entry_hash"]
        if isinstance(seq, bool) or not isinstance(seq, int):
            raise bad("malformed", f"seq must be an integer, not {seq!r}")
        if not isinstance(body, dict):
            raise bad("malformed", f"body must be a JSON object, not {type(body).__name__}")
        if not isinstance(prev_hash, str) or not isinstance(entry_hash, str):
            raise bad("malformed", "prev_hash and entry_hash must be strings")
        try:
            canonical = canonical_json(obj)
        except ValueError as exc:
            raise bad("malformed", str(exc)) from None
        if canonical != raw:
            raise bad("non-canonical", "the line is not the canonical JSON of its entry")
        body_text = canonical_json(body).decode("utf-8")
        verifier.feed(seq, kind, body_text, prev_hash, entry_hash)
        yield seq, kind, body_text, prev_hash, entry_hash
    verifier.finish()


def verify_jsonl(path: str | os.PathLike[str], checkpoint: Mapping[str, Any] | None = None) -> int:
    """Verify a JSONL export (see :meth:`Ledger.export_jsonl`) without importing it.

    Every line must be the canonical JSON of one entry object, in seq order.
    Returns the number of entries; raises :class:`LedgerVerificationError` at
    the first bad line (its ``seq`` is the line number), or :class:`LedgerError`
    if the file cannot be read or the checkpoint is malformed.
    """
    count = 0
    for _ in _export_rows(Path(path), checkpoint):
        count += 1
    return count


# ---------------------------------------------------------------------------
# SQLite storage.


def _connect(path: Path, *, readonly: bool, timeout: float) -> sqlite3.Connection:
    try:
        if readonly:
            uri = path.resolve().as_uri() + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        else:
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise LedgerError(f"{path}: cannot open the ledger: {exc}") from exc
    return conn


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _schema_state(conn: sqlite3.Connection, path: Path) -> str:
    """Return ``"empty"`` or ``"ledger"``; raise if the file is something else."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not names:
        return "empty"
    if not {"meta", "entries"} <= names:
        raise LedgerError(f"{path}: not a randcheck ledger (tables: {sorted(names)})")
    row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    if row is None or row[0] != LEDGER_FORMAT:
        found = None if row is None else row[0]
        raise LedgerError(f"{path}: ledger format is {found!r}, expected {LEDGER_FORMAT!r}")
    return "ledger"


def _create_schema(conn: sqlite3.Connection) -> None:
    """Create the tables; the caller holds a write transaction."""
    for statement in _SCHEMA:
        conn.execute(statement)
    conn.execute("INSERT INTO meta (key, value) VALUES ('format', ?)", (LEDGER_FORMAT,))


def _prepare(conn: sqlite3.Connection, path: Path, *, create: bool) -> None:
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("BEGIN")
    try:
        state = _schema_state(conn, path)
    finally:
        _rollback(conn)
    if state == "ledger":
        return
    if not create:
        raise LedgerError(f"{path}: not a randcheck ledger (the database is empty)")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if _schema_state(conn, path) == "empty":  # another process may have won the race
            _create_schema(conn)
        conn.execute("COMMIT")
    finally:
        _rollback(conn)


def _canonical_body(kind: str, body: Mapping[str, Any]) -> str:
    if not isinstance(body, Mapping):
        raise LedgerError(
            f"the body of a {kind!r} entry must be a JSON object (a mapping), "
            f"not {type(body).__name__}"
        )
    try:
        return canonical_json(body).decode("utf-8")
    except (ValueError, TypeError) as exc:
        raise LedgerError(f"cannot record the body of a {kind!r} entry: {exc}") from exc


def _check_kind(kind: str) -> str:
    if not isinstance(kind, str):
        raise LedgerError(f"an entry kind must be a string, not {type(kind).__name__}")
    kind = nfc(kind)
    if not kind.strip() or kind != kind.strip():
        raise LedgerError(f"an entry kind must be a non-empty string without padding: {kind!r}")
    return kind


def _canonical_value(value: object) -> object:
    try:
        return jcs_loads(canonical_json(value))
    except ValueError as exc:
        raise LedgerError(f"cannot match on {value!r}: {exc}") from exc


_SELECT = "SELECT seq, kind, body, prev_hash, entry_hash FROM entries"
_VERIFY_SELECT = (
    "SELECT seq, "
    + ", ".join(
        f"typeof({name}), CAST({name} AS BLOB)"
        for name in ("kind", "body", "prev_hash", "entry_hash")
    )
    + " FROM entries ORDER BY seq"
)


@attrs.define(eq=False)
class Ledger:
    """An append-only, hash-chained ledger stored in one SQLite file.

    Open with :meth:`Ledger.open` (or :meth:`Ledger.import_jsonl`) and close
    with :meth:`close`, or use it as a context manager::

        with Ledger.open("randcheck.db") as ledger:
            ledger.append("commitment", {"pools": {...}, "date": "2024-03-01"})
            print(ledger.checkpoint())

    The ``entries`` table has the columns ``seq``, ``kind``, ``body`` (canonical
    JSON text), ``prev_hash`` and ``entry_hash``, and nothing else: every stored
    byte is covered by the chain. Triggers refuse ``UPDATE`` and ``DELETE`` on
    entries as a guard against accidents; they are not the security — anyone
    with the file can drop them, which is what :meth:`verify` and published
    checkpoints are for.

    A ``Ledger`` object belongs to one thread; use one per process or thread.
    Several processes may append to the same file concurrently.
    """

    path: Path
    _conn: sqlite3.Connection | None = attrs.field(repr=False, alias="conn")
    readonly: bool = False

    # -- opening and closing ------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        timeout: float = _DEFAULT_TIMEOUT,
    ) -> Ledger:
        """Open the ledger at ``path``, creating an empty one if the file is new.

        ``readonly=True`` opens an existing ledger without write access (to
        verify a copy a bureau handed over); appending then fails.
        ``timeout`` is SQLite's busy timeout in seconds: how long an append
        waits for another process's append to finish.

        Raises :class:`~randcheck.errors.LedgerError` if the file cannot be
        opened, is not SQLite, or holds a database that is not a randcheck ledger.
        """
        path = Path(path)
        if readonly and not path.is_file():
            raise LedgerError(f"{path}: no such ledger file")
        conn = _connect(path, readonly=readonly, timeout=timeout)
        try:
            _prepare(conn, path, create=not readonly)
        except sqlite3.Error as exc:
            conn.close()
            raise LedgerError(f"{path}: cannot open the ledger: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return cls(path=path, conn=conn, readonly=readonly)

    def _repr_html_(self) -> str:
        from ._repr import ledger_html

        return ledger_html(self)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per entry (seq, kind, hashes, body as canonical JSON text)."""
        from ._repr import ledger_to_records

        return ledger_to_records(self)

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame`` (needs ``randcheck[pandas]``)."""
        from ._repr import ledger_to_pandas

        return ledger_to_pandas(self)

    def close(self) -> None:
        """Close the database connection. Closing twice is harmless."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._conn is None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LedgerError(f"{self.path}: the ledger is closed")
        return self._conn

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one state of the file."""
        conn = self._db()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                _rollback(conn)
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot read the ledger: {exc}") from exc

    # -- writing --------------------------------------------------------------

    def append(
        self, kind: str, body: Mapping[str, Any], *, expect_head: tuple[int, str] | None = None
    ) -> Entry:
        """Append one entry and return it, with its ``seq`` and hashes.

        ``body`` must be a JSON object without floats (record quantities as
        integers or strings); its strings are stored in Unicode NFC. The head
        is read and the entry inserted in one ``BEGIN IMMEDIATE`` transaction,
        so concurrent appends from other processes cannot fork the chain, and
        an interrupted append leaves no trace.

        ``expect_head`` (``(size, head hash)`` as the caller last read it) makes
        the append conditional: if any entry was appended since, nothing is
        written and :class:`LedgerConflictError` is raised, so a rule checked
        against what the caller read still holds when the entry lands.
        """
        kind = _check_kind(kind)
        body_text = _canonical_body(kind, body)
        parsed = jcs_loads(body_text)
        conn = self._db()
        if self.readonly:
            raise LedgerError(f"{self.path}: the ledger is open read-only")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1"
                ).fetchone()
                seq, prev = (1, GENESIS_HASH) if row is None else (row[0] + 1, row[1])
                if expect_head is not None and (seq - 1, prev) != tuple(expect_head):
                    raise LedgerConflictError(
                        f"{self.path}: the ledger changed since it was read (now {seq - 1} "
                        f"entries, expected {expect_head[0]}); read it again and retry"
                    )
                digest = hash_entry(seq, kind, prev, parsed)
                conn.execute(
                    "INSERT INTO entries (seq, kind, body, prev_hash, entry_hash)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (seq, kind, body_text, prev, digest),
                )
                conn.execute("COMMIT")
            finally:
                _rollback(conn)
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot append a {kind!r} entry: {exc}") from exc
        return Entry(seq=seq, kind=kind, body=parsed, prev_hash=prev, entry_hash=digest)

    # -- reading --------------------------------------------------------------

    def _row_entry(self, row: tuple[Any, ...]) -> Entry:
        seq, kind, body, prev_hash, entry_hash = row
        try:
            parsed = jcs_loads(body)
        except (ValueError, TypeError) as exc:
            raise LedgerError(
                f"{self.path}: entry {seq} has an unreadable body ({exc}); run verify()"
            ) from exc
        return Entry(seq=seq, kind=kind, body=parsed, prev_hash=prev_hash, entry_hash=entry_hash)

    def _iter(self, kind: str | None) -> Iterator[Entry]:
        last = 0
        while True:
            args: tuple[object, ...]
            if kind is None:
                sql, args = f"{_SELECT} WHERE seq > ? ORDER BY seq LIMIT ?", (last, _PAGE)
            else:
                sql = f"{_SELECT} WHERE seq > ? AND kind = ? ORDER BY seq LIMIT ?"
                args = (last, kind, _PAGE)
            with self._snapshot() as conn:
                rows = conn.execute(sql, args).fetchall()
            for row in rows:
                yield self._row_entry(row)
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def entries(self) -> Iterator[Entry]:
        """Iterate over the entries in seq order (read in pages; not verified)."""
        return self._iter(None)

    def get(self, seq: int) -> Entry:
        """Return the entry with this ``seq``; raise :class:`LedgerError` if there is none."""
        with self._snapshot() as conn:
            row = conn.execute(f"{_SELECT} WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise LedgerError(f"{self.path}: no entry with seq {seq}")
        return self._row_entry(row)

    def find(self, kind: str | None, /, **match: Any) -> list[Entry]:
        """Return the entries of ``kind`` (``None``: any kind) whose body has every
        ``key=value`` of ``match``, in seq order.

        Values compare as canonical JSON values (NFC strings, tuples as lists),
        e.g. ``ledger.find("draw", item="W-01")``.
        """
        wanted = {nfc(key): _canonical_value(value) for key, value in match.items()}
        return [
            entry
            for entry in self._iter(None if kind is None else _check_kind(kind))
            if all(key in entry.body and entry.body[key] == v for key, v in wanted.items())
        ]

    def commitments(self) -> list[Entry]:
        """Return the ``commitment`` entries, in seq order."""
        return self.find("commitment")

    def head(self) -> tuple[int, str]:
        """Return ``(size, head_hash)``: the last entry's seq and hash.

        An empty ledger gives ``(0, GENESIS_HASH)``. Not verified; see
        :meth:`checkpoint`.
        """
        with self._snapshot() as conn:
            return self._head(conn)

    @staticmethod
    def _head(conn: sqlite3.Connection) -> tuple[int, str]:
        row = conn.execute(
            "SELECT seq, entry_hash FROM entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))

    def checkpoint(self, *, verify: bool = True) -> dict[str, Any]:
        """Return ``{"ledger": "randcheck-ledger/1", "size": n, "head": hash}``.

        This is what a bureau publishes (and observers keep): later, anyone can
        check with ``verify(checkpoint)`` that the ledger still starts with
        exactly these ``n`` entries. With ``verify=True`` (the default) the
        whole chain is verified first, in the same read transaction, so a
        checkpoint is never issued for a broken ledger.
        """
        with self._snapshot() as conn:
            if verify:
                self._verify(conn, None)
            size, head = self._head(conn)
        return {"ledger": LEDGER_FORMAT, "size": size, "head": head}

    # -- verification ---------------------------------------------------------

    def _verified_rows(
        self, conn: sqlite3.Connection, checkpoint: Mapping[str, Any] | None
    ) -> Iterator[Entry]:
        verifier = _ChainVerifier(checkpoint)
        # Read every column as (SQL type, raw bytes): whatever a tamperer stored,
        # the verifier sees it and names the entry, instead of failing to decode.
        cursor = conn.execute(_VERIFY_SELECT)
        try:
            for seq, t_kind, kind, t_body, body, t_prev, prev, t_hash, digest in cursor:
                yield verifier.feed(
                    seq,
                    _stored_text(t_kind, kind),
                    _stored_text(t_body, body),
                    _stored_text(t_prev, prev),
                    _stored_text(t_hash, digest),
                )
        finally:
            cursor.close()
        verifier.finish()

    def _verify(self, conn: sqlite3.Connection, checkpoint: Mapping[str, Any] | None) -> int:
        count = 0
        for _ in self._verified_rows(conn, checkpoint):
            count += 1
        return count

    def verify(self, checkpoint: Mapping[str, Any] | None = None) -> int:
        """Verify the whole chain; return the number of entries checked.

        Checks, entry by entry in seq order: seq counts 1, 2, 3, …; the kind is
        a non-empty NFC string; the body is canonical JSON of an object;
        ``prev_hash`` links to the previous entry (genesis for seq 1); the
        stored ``entry_hash`` is the hash of the canonical form. With a
        ``checkpoint`` (from :meth:`checkpoint`, possibly published long ago),
        also that the ledger has at least ``size`` entries and that entry
        ``size`` hashes to ``head``.

        Raises :class:`LedgerVerificationError` naming the FIRST bad seq and
        the problem, or :class:`LedgerError` for a malformed checkpoint.
        """
        with self._snapshot() as conn:
            return self._verify(conn, checkpoint)

    # -- export and import ----------------------------------------------------

    def export_jsonl(
        self, path: str | os.PathLike[str], *, checkpoint: Mapping[str, Any] | None = None
    ) -> int:
        """Write the ledger as JSON Lines and return the number of entries.

        Line ``k`` is the canonical JSON of entry ``k``'s :meth:`Entry.to_json`
        object, followed by ``\\n``. The chain is verified (against
        ``checkpoint`` if given) while writing, from one read transaction; the
        file appears under ``path`` (replacing it) only if verification passed.
        """
        self._db()
        count = 0
        try:
            with atomic_writer(path) as out, self._snapshot() as conn:
                for entry in self._verified_rows(conn, checkpoint):
                    out.write(canonical_json(entry.to_json()) + b"\n")
                    count += 1
        except OSError as exc:
            raise LedgerError(f"{path}: cannot write the export: {exc}") from exc
        return count

    @classmethod
    def import_jsonl(
        cls,
        jsonl_path: str | os.PathLike[str],
        db_path: str | os.PathLike[str],
        *,
        checkpoint: Mapping[str, Any] | None = None,
        timeout: float = _DEFAULT_TIMEOUT,
    ) -> Ledger:
        """Build a ledger at ``db_path`` from a JSONL export and return it, open.

        The export is verified in full (against ``checkpoint`` if given) before
        anything is written. The target must be new, or an empty ledger; the
        entries are written in one transaction, so a failure leaves the target
        as it was (a file this call created is removed again).
        """
        rows = list(_export_rows(Path(jsonl_path), checkpoint))
        target = Path(db_path)
        existed = target.exists()
        conn = _connect(target, readonly=False, timeout=timeout)
        try:
            try:
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if _schema_state(conn, target) == "empty":
                        _create_schema(conn)
                    (present,) = conn.execute("SELECT count(*) FROM entries").fetchone()
                    if present:
                        raise LedgerError(
                            f"{target}: refusing to import into a ledger that already has "
                            f"{present} entries"
                        )
                    conn.executemany(
                        "INSERT INTO entries (seq, kind, body, prev_hash, entry_hash)"
                        " VALUES (?, ?, ?, ?, ?)",
                        rows,
                    )
                    conn.execute("COMMIT")
                finally:
                    _rollback(conn)
            except sqlite3.Error as exc:
                raise LedgerError(f"{target}: cannot import {jsonl_path}: {exc}") from exc
        except BaseException:
            conn.close()
            if not existed:
                for suffix in ("", "-journal"):
                    Path(f"{target}{suffix}").unlink(missing_ok=True)
            raise
        return cls(path=target, conn=conn, readonly=False)
