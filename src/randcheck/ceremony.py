"""The inspection ceremony on the ledger: commit, seed, draw, lock, outcomes (全程留痕).

A round of 双随机、一公开 inspections goes through these steps. Each one is an
entry of the hash-chained :class:`~randcheck.ledger.Ledger`, and each entry
refers to the entries it builds on by their ledger hash:

1. :func:`commit`: a ``commitment`` entry. It holds the digests and sizes of the
   entity and inspector pools, every item with every parameter, the date of the
   draw, the operator and the observers. It is made **before** the seed exists.
   Its ``entry_hash`` is the commitment hash that the bureau publishes.
2. :func:`reveal_seed`: the ``seed`` entry. It holds each observer's
   contribution and the public beacon value, if the commitment announced one.
   A commitment gets exactly one seed.
3. :func:`draw_committed` (or :func:`draw` plus :func:`record_draw`): the
   ``draw`` entry. It holds the draw record and the hashes of the commitment
   and seed entries. It is refused when the pools, the items, the date or the
   seed differ from the commitment and its seed. A second draw for the same
   commitment needs a stated reason and is marked ``"redraw": true``. With the
   same commitment and seed it draws the same entities again.
4. :func:`lock`: the ``lock`` entry. After it, no redraw is accepted.
5. :func:`record_recusal`: ``recusal`` entries (回避, 递补抽取).
6. :func:`record_outcome`: ``outcome`` entries, one standard result category
   (:data:`RESULT_CATEGORIES`) per inspected entity. A result that needs
   rectification (:data:`RECTIFICATION_RESULTS`) must have a deadline, and a
   ``follow-up`` entry (整改回访) is appended with it.
   :func:`close_follow_up` closes the follow-up (整改销号).
7. :func:`record_publication`: the ``publication`` entry (公示), written by
   ``randcheck publish`` (see :mod:`randcheck.publish`).

Every body carries ``"ceremony": "randcheck-ceremony/1"``. The rules each step
enforces are the rules :func:`audit_ledger` checks afterwards on a whole ledger.
The audit therefore also catches entries appended directly with
``Ledger.append``, bypassing these functions. :func:`replay_ledger` replays
every recorded draw against the registers.

Each step checks its rules against the ledger as read, then appends only if
the ledger is still as read (``Ledger.append(..., expect_head=...)``): when
two operators record conflicting steps at the same moment, the second gets
:class:`~randcheck.ledger.LedgerConflictError` and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal, cast

import attrs

from .canonical import canonical_id, canonical_json, jcs_loads, nfc
from .draw import DrawResult, check_items, draw, replay, verify
from .errors import InputError, LedgerError, RandcheckError, VerificationError
from .ledger import GENESIS_HASH, Entry, Ledger
from .model import Conflict, Entity, Inspector, Item, parse_date
from .pools import EntityPool, InspectorPool, conflicts_record
from .stream import SPEC, Seed

__all__ = [
    "CEREMONY",
    "CEREMONY_KINDS",
    "DEFAULT_FOLLOW_UP",
    "RECTIFICATION_RESULTS",
    "RESULT_CATEGORIES",
    "AlreadyRecordedError",
    "AuditProblem",
    "CeremonyError",
    "CommitmentMismatchError",
    "DrawLockedError",
    "FollowUp",
    "OutOfOrderError",
    "Replay",
    "Round",
    "RuleError",
    "UnknownEntryError",
    "UnknownResultError",
    "apply_outcomes",
    "audit_ledger",
    "close_follow_up",
    "commit",
    "draw_committed",
    "draw_substitute",
    "load_round",
    "lock",
    "normalize_result",
    "open_follow_ups",
    "record_draw",
    "record_outcome",
    "record_publication",
    "record_recusal",
    "record_sha256",
    "replay_ledger",
    "reveal_seed",
    "seed_of",
]

#: Version tag of the ceremony entries; every body written here carries it as ``"ceremony"``.
CEREMONY: Final = "randcheck-ceremony/1"

#: The entry kinds of the ceremony, with what each body records.
CEREMONY_KINDS: Final[Mapping[str, str]] = {
    "commitment": "pools (digest, size), items with every parameter, date, operator, "
    "observers, the beacon announced; before the seed exists",
    "seed": "the commitment it is for, each party's contribution, the beacon value, the key",
    "draw": "the commitment and seed entries, the draw record and its SHA-256, redraw flag, reason",
    "lock": "the draw that is locked; no redraw after it",
    "recusal": "the draw, entity, inspector, reason, substitute (回避, 递补抽取)",
    "outcome": "the draw, entity, result category, inspection date, rectification deadline, "
    "follow-up measure, inspectors",
    "follow-up": "the outcome it follows up, the entity, the due date, the measure (整改回访)",
    "follow-up-closed": "the follow-up closed, the date, whether rectified (整改销号)",
    "publication": "the draw published, the date, the SHA-256 of each published file (公示)",
}

#: The standard result categories of a random inspection.
RESULT_CATEGORIES: Final[tuple[str, ...]] = (
    "未发现问题",
    "发现问题待后续处理",
    "发现问题经责令已改正",
    "未发现开展本次抽查涉及的经营活动",
    "已关闭停业或正在组织清算",
    "不配合检查情节严重",
    "通过登记的住所无法联系",
    "注销・吊销・撤销・迁出",
    "不合格",
)

#: Results that leave a problem to correct: they need a rectification deadline,
#: and :func:`record_outcome` appends a follow-up (整改回访) with them.
RECTIFICATION_RESULTS: Final = frozenset({"发现问题待后续处理", "不合格"})

#: The follow-up measure recorded when none is given.
DEFAULT_FOLLOW_UP: Final = "整改回访"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX_PREFIX = re.compile(r"[0-9a-f]{8,64}")
# Separators people type between 注销, 吊销, 撤销 and 迁出.
_DOTS = re.compile(r"\s*[·•・･、/／,，]\s*")


# -- errors -------------------------------------------------------------------------


class CeremonyError(LedgerError):
    """The ledger refused a step of the ceremony; the message says why."""


class UnknownEntryError(CeremonyError):
    """No commitment, draw or other entry with this hash (or hash prefix) is in the ledger."""


class OutOfOrderError(CeremonyError):
    """A step came before the step it needs: a draw without a seed, an outcome before the lock."""


class AlreadyRecordedError(CeremonyError):
    """The step was already recorded. A second seed or lock is refused. A redraw or a
    corrected outcome needs a stated reason."""


class DrawLockedError(CeremonyError):
    """The draw of this commitment is locked; no redraw is accepted."""


class CommitmentMismatchError(CeremonyError):
    """A draw does not match its commitment or seed; ``differences`` lists what differs."""

    def __init__(self, message: str, differences: Sequence[str] = ()) -> None:
        self.differences = tuple(differences)
        text = message if not differences else message + ": " + "; ".join(differences)
        super().__init__(text)


class RuleError(CeremonyError):
    """The step breaks a rule of the ceremony: an entity that was not drawn, dates out of
    order, a recused inspector on the inspection, a result without its deadline."""


class UnknownResultError(CeremonyError):
    """A result that is not one of the standard categories (:data:`RESULT_CATEGORIES`)."""


# -- small helpers ------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_sha256(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a draw record."""
    return _sha256(canonical_json(record))


def _normalized(kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The body as it will be stored: canonical JSON, parsed back (NFC, lists)."""
    try:
        parsed = jcs_loads(canonical_json(body))
    except (TypeError, ValueError) as exc:
        raise CeremonyError(f"cannot record the {kind} entry: {exc}") from None
    return cast("dict[str, Any]", parsed)


def _malformed(kind: str, detail: str) -> CeremonyError:
    return CeremonyError(f"malformed {kind} entry: {detail}")


def _str(body: Mapping[str, Any], key: str, kind: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _malformed(kind, f"{key!r} must be a non-empty text, not {value!r}")
    return value


def _opt_str(body: Mapping[str, Any], key: str, kind: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _malformed(kind, f"{key!r} must be a non-empty text or null, not {value!r}")
    return value


def _day(body: Mapping[str, Any], key: str, kind: str) -> dt.date:
    value = body.get(key)
    try:
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise _malformed(kind, f"{key!r} must be a date YYYY-MM-DD, not {value!r}")


def _hash(body: Mapping[str, Any], key: str, kind: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise _malformed(kind, f"{key!r} must be an entry hash (64 hex digits), not {value!r}")
    return value


def _as_date(value: dt.date | str, what: str) -> dt.date:
    try:
        return parse_date(value, what)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _clean_text(value: object, what: str, *, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise InputError(f"{what} is required")
        return None
    if not isinstance(value, str):
        raise InputError(f"{what} must be a text, not {type(value).__name__}")
    text = nfc(value).strip()
    if not text:
        if required:
            raise InputError(f"{what} is empty")
        return None
    return text


def _pools_record(entities: EntityPool, inspectors: InspectorPool | None) -> dict[str, Any]:
    return {
        "entities": {"digest": entities.digest, "size": len(entities)},
        "inspectors": None
        if inspectors is None
        else {"digest": inspectors.digest, "size": len(inspectors)},
    }


def _items_record(items: Iterable[Item]) -> list[dict[str, Any]]:
    checked = check_items(items)
    if not checked:
        raise InputError("a commitment needs at least one item")
    return [item.to_record() for item in checked]


def normalize_result(text: str) -> str:
    """Return the standard result category ``text`` names, or raise :class:`UnknownResultError`.

    Surrounding white space is ignored. For 注销・吊销・撤销・迁出, any of the
    usual separators (``·``, ``・``, ``、``, ``/``) is accepted.
    """
    if not isinstance(text, str):
        raise UnknownResultError(f"a result category is a text, not {type(text).__name__}")
    cleaned = nfc(text).strip()
    if cleaned in RESULT_CATEGORIES:
        return cleaned
    dotted = _DOTS.sub("・", cleaned)
    if dotted in RESULT_CATEGORIES:
        return dotted
    raise UnknownResultError(
        f"unknown result category {text!r}; the standard categories are: "
        + " / ".join(RESULT_CATEGORIES)
    )


# -- what the ledger says about one round ------------------------------------------------


@attrs.define(eq=False)
class Round:
    """Everything the ledger holds about one round (one commitment), in seq order.

    Built by :func:`load_round`; read it, don't change it. ``draws`` lists every
    draw entry, the last one current (earlier ones were replaced by redraws).
    """

    commitment: Entry
    seed: Entry | None = None
    draws: list[Entry] = attrs.Factory(list)
    lock: Entry | None = None
    recusals: list[Entry] = attrs.Factory(list)
    outcomes: list[Entry] = attrs.Factory(list)
    follow_ups: list[Entry] = attrs.Factory(list)
    closures: list[Entry] = attrs.Factory(list)
    publications: list[Entry] = attrs.Factory(list)

    @property
    def commitment_hash(self) -> str:
        """The commitment hash: the ``entry_hash`` of the commitment entry."""
        return self.commitment.entry_hash

    @property
    def on(self) -> dt.date:
        """The date of the draw, as committed."""
        return dt.date.fromisoformat(self.commitment.body["on"])

    @property
    def current_draw(self) -> Entry | None:
        """The latest draw entry (``None`` before the draw)."""
        return self.draws[-1] if self.draws else None

    @property
    def items(self) -> tuple[Item, ...]:
        """The committed items."""
        return tuple(Item.from_record(r) for r in self.commitment.body["items"])

    def draw_entry(self, draw_hash: str) -> Entry:
        """The draw entry with this hash."""
        for entry in self.draws:
            if entry.entry_hash == draw_hash:
                return entry
        raise UnknownEntryError(f"no draw {draw_hash} in this round")

    def tasks(self, draw_hash: str) -> dict[str, dict[str, Any]]:
        """The tasks of a draw by entity id, in canonical order."""
        record = self.draw_entry(draw_hash).body.get("record") or {}
        return {t["entity"]: dict(t) for t in record.get("tasks", ()) if isinstance(t, Mapping)}

    def recusals_of(self, draw_hash: str, entity_id: str | None = None) -> list[Entry]:
        """The recusals recorded for a draw (and an entity), in seq order."""
        return [
            e
            for e in self.recusals
            if e.body.get("draw") == draw_hash
            and (entity_id is None or e.body.get("entity") == entity_id)
        ]

    def team(self, draw_hash: str, entity_id: str) -> tuple[str, ...]:
        """The team recorded with the draw, with every recusal's substitute put in."""
        task = self.tasks(draw_hash).get(entity_id)
        team = list(task.get("team", ())) if task else []
        for recusal in self.recusals_of(draw_hash, entity_id):
            gone, sub = recusal.body.get("inspector"), recusal.body.get("substitute")
            if gone in team:
                index = team.index(gone)
                if sub:
                    team[index] = sub
                else:
                    del team[index]
        return tuple(team)

    def outcomes_of(self, draw_hash: str) -> dict[str, Entry]:
        """The latest outcome per entity of a draw (a correction replaces the earlier one)."""
        latest: dict[str, Entry] = {}
        for entry in self.outcomes:
            if entry.body.get("draw") == draw_hash:
                latest[entry.body.get("entity", "")] = entry
        return latest

    def follow_up_of(self, outcome_hash: str) -> Entry | None:
        """The follow-up entry created with an outcome, if any."""
        for entry in self.follow_ups:
            if entry.body.get("outcome") == outcome_hash:
                return entry
        return None

    def closure_of(self, follow_up_hash: str) -> Entry | None:
        """The entry that closed a follow-up, if any."""
        for entry in self.closures:
            if entry.body.get("follow_up") == follow_up_hash:
                return entry
        return None


_ROUND_LISTS: Final[Mapping[str, str]] = {
    "recusal": "recusals",
    "outcome": "outcomes",
    "follow-up": "follow_ups",
    "follow-up-closed": "closures",
    "publication": "publications",
}


class _State:
    """The rounds of a ledger, replayed entry by entry; checks proposed entries."""

    def __init__(self) -> None:
        self.rounds: dict[str, Round] = {}
        self.owner: dict[str, str] = {}  # entry hash -> commitment hash
        self.entries: dict[str, Entry] = {}  # every ceremony entry, by hash
        self.head: tuple[int, str] = (0, GENESIS_HASH)  # the ledger as read

    @classmethod
    def load(cls, ledger: Ledger) -> _State:
        state = cls()
        for entry in ledger.entries():
            state.add(entry)
        return state

    # -- adding entries that are in the ledger ------------------------------------------

    def add(self, entry: Entry) -> None:
        """Take in an entry of the ledger (tolerant: a bad entry is only remembered)."""
        self.head = (entry.seq, entry.entry_hash)
        body = entry.body
        if body.get("ceremony") != CEREMONY or entry.kind not in CEREMONY_KINDS:
            return
        self.entries[entry.entry_hash] = entry
        if entry.kind == "commitment":
            self.rounds.setdefault(entry.entry_hash, Round(commitment=entry))
            self.owner[entry.entry_hash] = entry.entry_hash
            return
        rnd = self.rounds.get(body.get("commitment", ""))
        if rnd is None:
            return
        self.owner[entry.entry_hash] = rnd.commitment_hash
        if entry.kind == "seed":
            if rnd.seed is None:
                rnd.seed = entry
        elif entry.kind == "draw":
            rnd.draws.append(entry)
        elif entry.kind == "lock":
            if rnd.lock is None:
                rnd.lock = entry
        else:
            getattr(rnd, _ROUND_LISTS[entry.kind]).append(entry)

    # -- finding entries -------------------------------------------------------------

    def resolve(self, ref: str, kinds: Sequence[str]) -> Entry:
        """The ceremony entry of one of ``kinds`` whose hash is ``ref`` or starts with it."""
        what = " or ".join(kinds)
        text = ref.strip().lower() if isinstance(ref, str) else ""
        if not _HEX_PREFIX.fullmatch(text):
            raise UnknownEntryError(
                f"{ref!r} is not a {what} hash (64 hex digits, or at least the first 8)"
            )
        exact = self.entries.get(text)
        if exact is not None and exact.kind in kinds:
            return exact
        found = [e for h, e in self.entries.items() if h.startswith(text) and e.kind in kinds]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UnknownEntryError(
                f"{ref!r} matches {len(found)} {what} entries; give more digits"
            )
        other = [e for h, e in self.entries.items() if h.startswith(text)]
        if other:
            raise UnknownEntryError(
                f"{ref!r} is a {other[0].kind} entry (seq {other[0].seq}), not a {what}"
            )
        raise UnknownEntryError(f"no {what} {ref!r} in the ledger")

    def round_of(self, entry: Entry) -> Round:
        return self.rounds[self.owner[entry.entry_hash]]

    def _round(self, body: Mapping[str, Any], kind: str) -> Round:
        ref = _hash(body, "commitment", kind)
        rnd = self.rounds.get(ref)
        if rnd is None:
            raise UnknownEntryError(
                f"no commitment {ref} precedes this {kind}: a {kind} must follow the "
                "commitment it is for"
            )
        return rnd

    def _current_draw(self, body: Mapping[str, Any], kind: str) -> tuple[Round, Entry]:
        rnd = self._round(body, kind)
        ref = _hash(body, "draw", kind)
        try:
            entry = rnd.draw_entry(ref)
        except UnknownEntryError:
            raise UnknownEntryError(f"no draw {ref} of commitment {rnd.commitment_hash}") from None
        current = rnd.current_draw
        if current is not None and current.entry_hash != ref:
            raise OutOfOrderError(
                f"draw {ref[:12]}… (seq {entry.seq}) was replaced by the redraw "
                f"{current.entry_hash[:12]}… (seq {current.seq}); use the current draw"
            )
        return rnd, entry

    # -- checking proposed entries ---------------------------------------------------------

    def check(self, kind: str, body: Mapping[str, Any]) -> None:
        """Raise :class:`CeremonyError` if appending this entry would break a rule."""
        if kind not in CEREMONY_KINDS:
            return
        if body.get("ceremony") != CEREMONY:
            if kind in ("commitment", "publication"):
                return  # someone else's entry of that name; nothing builds on it
            raise CeremonyError(
                f'a {kind} entry without "ceremony": {CEREMONY!r}: it was not recorded '
                "through the ceremony, so nothing ties it to a commitment and seed"
            )
        try:
            getattr(self, "_check_" + kind.replace("-", "_"))(body)
        except CeremonyError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, RandcheckError) as exc:
            raise _malformed(kind, str(exc)) from None

    def _check_commitment(self, body: Mapping[str, Any]) -> None:
        kind = "commitment"
        if body.get("spec") != SPEC:
            raise _malformed(kind, f"spec must be {SPEC!r}, not {body.get('spec')!r}")
        _day(body, "on", kind)
        _str(body, "operator", kind)
        observers = body.get("observers")
        if not isinstance(observers, list) or not all(
            isinstance(o, str) and o.strip() for o in observers
        ):
            raise _malformed(kind, "observers must be a list of names")
        _opt_str(body, "beacon", kind)
        _opt_str(body, "note", kind)
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise _malformed(kind, "items must be a non-empty list")
        codes = [Item.from_record(r).code for r in items]
        if codes != sorted(set(codes)):
            raise _malformed(kind, "items must have unique codes, in code order")
        for record in items:
            if canonical_json(Item.from_record(record).to_record()) != canonical_json(record):
                raise _malformed(kind, f"item {record.get('code')!r} is not a complete item record")
        pools = body.get("pools")
        if not isinstance(pools, Mapping):
            raise _malformed(kind, "pools must be an object")
        for name in ("entities", "inspectors"):
            pool = pools.get(name)
            if pool is None and name == "inspectors":
                continue
            if not isinstance(pool, Mapping) or not isinstance(pool.get("size"), int):
                raise _malformed(kind, f"pools.{name} must have a digest and a size")
            _hash(pool, "digest", kind)

    def _check_seed(self, body: Mapping[str, Any]) -> None:
        rnd = self._round(body, "seed")
        if rnd.seed is not None:
            raise AlreadyRecordedError(
                f"the seed of commitment {rnd.commitment_hash[:12]}… was already revealed "
                f"(seq {rnd.seed.seq}); a commitment gets exactly one seed"
            )
        material = body.get("seed")
        if not isinstance(material, Mapping) or "contributions" not in material:
            raise _malformed("seed", "the seed must be the contributions of the parties")
        seed = Seed.from_material(material)
        if canonical_json(seed.material()) != canonical_json(material):
            raise _malformed("seed", "the seed material is not in canonical form")
        if body.get("seed_key") != seed.key.hex():
            raise _malformed("seed", "seed_key is not the key of the seed material")
        announced = rnd.commitment.body.get("beacon")
        if announced is not None and seed.beacon is None:
            raise OutOfOrderError(
                f"the commitment announced the beacon {announced!r}; its value is needed"
            )
        if announced is None and seed.beacon is not None:
            raise OutOfOrderError(
                "the commitment announced no beacon, so none may be added now: a value chosen "
                "after the contributions are known could be picked to steer the draw"
            )

    def _check_draw(self, body: Mapping[str, Any]) -> None:
        kind = "draw"
        rnd = self._round(body, kind)
        if rnd.seed is None:
            raise OutOfOrderError(
                f"commitment {rnd.commitment_hash[:12]}… has no seed yet: reveal the seed "
                "before drawing"
            )
        if _hash(body, "seed_entry", kind) != rnd.seed.entry_hash:
            raise CommitmentMismatchError(
                "the draw names another seed entry than the one of its commitment"
            )
        if rnd.lock is not None:
            raise DrawLockedError(
                f"the draw of commitment {rnd.commitment_hash[:12]}… was locked at seq "
                f"{rnd.lock.seq}; no redraw after the lock"
            )
        record = body.get("record")
        if not isinstance(record, Mapping):
            raise _malformed(kind, "record must be the draw record")
        differences = _differences(record, rnd.commitment.body, rnd.seed.body)
        if differences:
            raise CommitmentMismatchError(
                f"the draw does not match commitment {rnd.commitment_hash[:12]}… and its seed",
                differences,
            )
        if body.get("record_sha256") != record_sha256(record):
            raise _malformed(kind, "record_sha256 is not the SHA-256 of the record")
        previous = rnd.current_draw
        redraw, reason, replaces = body.get("redraw"), body.get("reason"), body.get("replaces")
        if previous is None:
            if redraw is not False or replaces is not None:
                raise _malformed(kind, "the first draw of a commitment is not a redraw")
            _opt_str(body, "reason", kind)
            return
        if redraw is not True or not isinstance(reason, str) or not reason.strip():
            raise AlreadyRecordedError(
                f"commitment {rnd.commitment_hash[:12]}… was already drawn (seq {previous.seq}); "
                "a redraw needs a stated reason and is recorded as a redraw"
            )
        if replaces != previous.entry_hash:
            raise _malformed(
                kind, f"a redraw must name the draw it replaces ({previous.entry_hash})"
            )

    def _check_lock(self, body: Mapping[str, Any]) -> None:
        rnd, entry = self._current_draw(body, "lock")
        if rnd.lock is not None:
            raise AlreadyRecordedError(f"this draw is already locked (seq {rnd.lock.seq})")
        if body.get("record_sha256") != entry.body.get("record_sha256"):
            raise _malformed("lock", "record_sha256 differs from the draw's")

    def _check_recusal(self, body: Mapping[str, Any]) -> None:
        kind = "recusal"
        rnd, entry = self._current_draw(body, kind)
        entity = _str(body, "entity", kind)
        if entity not in rnd.tasks(entry.entry_hash):
            raise RuleError(f"entity {entity!r} was not drawn in this draw")
        inspector = _str(body, "inspector", kind)
        _str(body, "reason", kind)
        substitute = _opt_str(body, "substitute", kind)
        _opt_str(body, "requested_by", kind)
        if substitute == inspector:
            raise RuleError(f"inspector {inspector!r} cannot substitute for themself")
        team = rnd.team(entry.entry_hash, entity)
        if team and inspector not in team:
            raise RuleError(
                f"inspector {inspector!r} is not on the team of {entity!r} ({', '.join(team)})"
            )
        if substitute is not None and substitute in team:
            raise RuleError(f"the substitute {substitute!r} is already on the team of {entity!r}")
        recused = {r.body.get("inspector") for r in rnd.recusals_of(entry.entry_hash, entity)}
        if substitute is not None and substitute in recused:
            raise RuleError(f"the substitute {substitute!r} was recused from {entity!r}")

    def _check_outcome(self, body: Mapping[str, Any]) -> None:
        kind = "outcome"
        rnd, entry = self._current_draw(body, kind)
        if rnd.lock is None:
            raise OutOfOrderError(
                f"draw {entry.entry_hash[:12]}… is not locked: lock the drawn list before "
                "recording outcomes"
            )
        entity = _str(body, "entity", kind)
        if entity not in rnd.tasks(entry.entry_hash):
            raise RuleError(f"entity {entity!r} was not drawn in this draw")
        result = normalize_result(_str(body, "result", kind))
        if result != body["result"]:
            raise _malformed(kind, f"result must be written {result!r}")
        inspected = _day(body, "inspected_on", kind)
        if inspected < rnd.on:
            raise RuleError(f"inspected on {inspected}, before the draw of {rnd.on.isoformat()}")
        deadline = body.get("rectification_deadline")
        if deadline is not None:
            due = _day(body, "rectification_deadline", kind)
            if due <= inspected:
                raise RuleError(
                    f"the rectification deadline {due} must come after the inspection ({inspected})"
                )
        elif result in RECTIFICATION_RESULTS:
            raise RuleError(
                f"the result {result} needs a rectification deadline (整改期限), for the "
                "follow-up (整改回访)"
            )
        _opt_str(body, "follow_up", kind)
        _opt_str(body, "note", kind)
        inspectors = body.get("inspectors")
        if not isinstance(inspectors, list) or not all(
            isinstance(i, str) and i.strip() for i in inspectors
        ):
            raise _malformed(kind, "inspectors must be a list of inspector ids")
        if len(set(inspectors)) != len(inspectors):
            raise RuleError("an inspector is named twice")
        if len(inspectors) == 1:
            raise RuleError("an inspection needs at least 2 inspectors; one is named")
        recused = {str(r.body.get("inspector")) for r in rnd.recusals_of(entry.entry_hash, entity)}
        barred = sorted(recused.intersection(inspectors))
        if barred:
            raise RuleError(f"inspector(s) {', '.join(barred)} were recused from {entity!r}")
        earlier = rnd.outcomes_of(entry.entry_hash).get(entity)
        if earlier is None:
            if body.get("corrects") is not None or body.get("correction") is not None:
                raise _malformed(kind, "a first outcome corrects nothing")
            return
        correction = body.get("correction")
        if not isinstance(correction, str) or not correction.strip():
            raise AlreadyRecordedError(
                f"an outcome for {entity!r} is already recorded (seq {earlier.seq}); "
                "a corrected outcome needs a stated reason"
            )
        if body.get("corrects") != earlier.entry_hash:
            raise _malformed(
                kind, f"a correction must name the outcome it corrects ({earlier.entry_hash})"
            )

    def _check_follow_up(self, body: Mapping[str, Any]) -> None:
        kind = "follow-up"
        rnd = self._round(body, kind)
        ref = _hash(body, "outcome", kind)
        outcome = next((o for o in rnd.outcomes if o.entry_hash == ref), None)
        if outcome is None:
            raise UnknownEntryError(f"no outcome {ref} in this round")
        if outcome.body.get("result") not in RECTIFICATION_RESULTS:
            raise RuleError(f"the result {outcome.body.get('result')} has nothing to follow up")
        if rnd.follow_up_of(ref) is not None:
            raise AlreadyRecordedError("this outcome already has its follow-up")
        for key in ("draw", "entity"):
            if body.get(key) != outcome.body.get(key):
                raise _malformed(kind, f"{key} differs from the outcome's")
        if _day(body, "due", kind).isoformat() != outcome.body.get("rectification_deadline"):
            raise _malformed(kind, "the due date is not the outcome's rectification deadline")
        _str(body, "measure", kind)

    def _check_follow_up_closed(self, body: Mapping[str, Any]) -> None:
        kind = "follow-up-closed"
        rnd = self._round(body, kind)
        ref = _hash(body, "follow_up", kind)
        follow_up = next((f for f in rnd.follow_ups if f.entry_hash == ref), None)
        if follow_up is None:
            raise UnknownEntryError(f"no follow-up {ref} in this round")
        earlier = rnd.closure_of(ref)
        if earlier is not None:
            raise AlreadyRecordedError(f"this follow-up was already closed (seq {earlier.seq})")
        closed = _day(body, "closed_on", kind)
        outcome = self.entries[follow_up.body["outcome"]]
        if closed < dt.date.fromisoformat(outcome.body["inspected_on"]):
            raise RuleError(f"closed on {closed}, before the inspection")
        if not isinstance(body.get("rectified"), bool):
            raise _malformed(kind, "rectified must be true or false")
        _opt_str(body, "note", kind)

    def _check_publication(self, body: Mapping[str, Any]) -> None:
        kind = "publication"
        self._current_draw(body, kind)
        _day(body, "published_on", kind)
        files = body.get("files")
        if not isinstance(files, Mapping) or not files:
            raise _malformed(kind, "files must map file names to their SHA-256")
        for name in files:
            _hash(files, name, kind)

    # -- the end of a ledger ----------------------------------------------------------------

    def final_problems(self) -> list[AuditProblem]:
        """Problems only the whole ledger shows: a rectification without its follow-up."""
        problems = []
        for rnd in self.rounds.values():
            current = rnd.current_draw
            if current is None:
                continue
            for entity, outcome in rnd.outcomes_of(current.entry_hash).items():
                if (
                    outcome.body.get("result") in RECTIFICATION_RESULTS
                    and rnd.follow_up_of(outcome.entry_hash) is None
                ):
                    problems.append(
                        AuditProblem(
                            outcome.seq,
                            "outcome",
                            f"the result {outcome.body['result']} for {entity!r} has no "
                            "follow-up (整改回访) entry",
                        )
                    )
        return problems


def _differences(
    record: Mapping[str, Any], commitment: Mapping[str, Any], seed: Mapping[str, Any]
) -> list[str]:
    """What differs between a draw record and the commitment and seed it claims."""
    out: list[str] = []
    if record.get("spec") != SPEC:
        out.append(f"the record follows {record.get('spec')!r}, the commitment {SPEC!r}")
    pools, committed = record.get("pools") or {}, commitment.get("pools") or {}
    for name, label in (("entities", "entity"), ("inspectors", "inspector")):
        got, want = pools.get(name), committed.get(name)
        if got == want:
            continue
        if want is None:
            out.append(f"the draw used an {label} pool; the commitment named none")
        elif got is None:
            out.append(f"the commitment named an {label} pool; the draw used none")
        else:
            out.append(
                f"{label} pool: committed {want.get('digest')} ({want.get('size')}), "
                f"drawn from {got.get('digest')} ({got.get('size')})"
            )
    if record.get("conflicts") != commitment.get("conflicts"):
        out.append(
            f"conflict table: committed {commitment.get('conflicts')}, "
            f"drawn with {record.get('conflicts')}"
        )
    given = {r.get("code"): canonical_json(r) for r in record.get("items", ())}
    for item in commitment.get("items", ()):
        code = item.get("code")
        if code not in given:
            out.append(f"item {code}: committed, not drawn")
        elif given.pop(code) != canonical_json(item):
            out.append(f"item {code}: parameters differ from the commitment")
    out.extend(f"item {code}: drawn, not committed" for code in given)
    if record.get("on") != commitment.get("on"):
        out.append(f"date: committed {commitment.get('on')}, drawn on {record.get('on')}")
    if canonical_json(record.get("seed")) != canonical_json(seed.get("seed")):
        out.append("seed: the draw did not use the revealed seed")
    if record.get("seed_key") != seed.get("seed_key"):
        out.append("seed key: not the key of the revealed seed")
    return out


def _append(ledger: Ledger, kind: str, body: Mapping[str, Any], state: _State) -> Entry:
    stored = _normalized(kind, body)
    state.check(kind, stored)
    # Conditional on the ledger being as read: a rule checked above cannot be
    # broken by another process appending in between.
    entry = ledger.append(kind, stored, expect_head=state.head)
    state.add(entry)
    return entry


def load_round(ledger: Ledger, ref: str) -> Round:
    """The round that the entry ``ref`` belongs to (the hash of its commitment, its draw,
    or any other of its entries; a unique prefix of at least 8 hex digits will do)."""
    state = _State.load(ledger)
    return state.round_of(state.resolve(ref, tuple(CEREMONY_KINDS)))


def seed_of(ledger: Ledger, commitment_hash: str) -> Seed:
    """The seed revealed for a commitment; :class:`OutOfOrderError` if none yet."""
    rnd = load_round(ledger, commitment_hash)
    if rnd.seed is None:
        raise OutOfOrderError(f"commitment {rnd.commitment_hash[:12]}… has no seed yet")
    return Seed.from_material(rnd.seed.body["seed"])


# -- the steps ---------------------------------------------------------------------------


def commit(
    ledger: Ledger,
    *,
    items: Iterable[Item],
    entities: EntityPool | Iterable[Entity | Mapping[str, Any]],
    inspectors: InspectorPool | Iterable[Inspector | Mapping[str, Any]] | None = None,
    on: dt.date | str,
    operator: str,
    observers: Iterable[str] = (),
    note: str | None = None,
    beacon: str | None = None,
    conflicts: Iterable[Conflict] = (),
) -> Entry:
    """Commit to the pools and items of a round, before its seed exists.

    Appends a ``commitment`` entry holding the digests and sizes of both pools,
    every item with every parameter (:meth:`Item.to_record`), the date of the
    draw, the operator and the observers. Its ``entry_hash`` is the
    **commitment hash**: publish it (and hand it to the observers) before the
    seed ceremony. ``beacon`` names the public beacon value the seed will
    include (say ``"drand quicknet round 1234567"``). It must be fixed now,
    while that value is unknown. Without it, the seed has no beacon.
    ``conflicts``, the recusal table for the team draw, is committed by its
    digest (:func:`randcheck.pools.conflicts_record`), so its reasons stay private.
    """
    pool = EntityPool.coerce(entities)
    inspector_pool = InspectorPool.coerce(inspectors)
    if isinstance(observers, str):
        observers = [observers]
    names = [_clean_text(o, "an observer's name") for o in observers]
    if len(set(names)) != len(names):
        raise InputError("an observer is named twice")
    body = {
        "ceremony": CEREMONY,
        "spec": SPEC,
        "on": _as_date(on, "the date of the draw").isoformat(),
        "operator": _clean_text(operator, "the operator"),
        "observers": names,
        "pools": _pools_record(pool, inspector_pool),
        "conflicts": conflicts_record(conflicts),
        "items": _items_record(items),
        "beacon": _clean_text(beacon, "the beacon", required=False),
        "note": _clean_text(note, "the note", required=False),
    }
    return _append(ledger, "commitment", body, _State.load(ledger))


def reveal_seed(
    ledger: Ledger,
    commitment_hash: str,
    contributions: Mapping[str, str] | Iterable[tuple[str, str]],
    beacon: str | None = None,
) -> Entry:
    """Record the seed of a committed round: each party's contribution, and the beacon value.

    RuleError for a commitment that is not in the ledger (:class:`UnknownEntryError`),
    for a commitment that already has a seed (:class:`AlreadyRecordedError`), and
    for a beacon value the commitment did not announce, or a missing one it
    did (:class:`OutOfOrderError`).
    """
    state = _State.load(ledger)
    commitment = state.resolve(commitment_hash, ("commitment",))
    seed = Seed.from_contributions(contributions, beacon=beacon)
    body = {
        "ceremony": CEREMONY,
        "commitment": commitment.entry_hash,
        "seed": seed.material(),
        "seed_key": seed.key.hex(),
    }
    return _append(ledger, "seed", body, state)


def record_draw(
    ledger: Ledger,
    commitment_hash: str,
    result: DrawResult,
    *,
    reason: str | None = None,
    replay: bool = True,
) -> Entry:
    """Record a draw of a committed round; return the ``draw`` entry.

    The draw's pool digests and sizes, items, date and seed must be those of
    the commitment and its seed entry (:class:`CommitmentMismatchError` lists what
    differs). With ``replay`` (the default), the result must also replay
    (:func:`randcheck.verify`). A second draw for the same commitment needs a
    ``reason``; it is recorded with ``"redraw": true`` and the hash of the draw
    it replaces. No draw is accepted after :func:`lock` (:class:`DrawLockedError`).
    """
    state = _State.load(ledger)
    commitment = state.resolve(commitment_hash, ("commitment",))
    rnd = state.round_of(commitment)
    if rnd.seed is None:
        raise OutOfOrderError(
            f"commitment {commitment.entry_hash[:12]}… has no seed yet: reveal the seed "
            "before drawing"
        )
    record = result.record
    if replay and not _differences(record, commitment.body, rnd.seed.body):
        try:
            verify(record, result.entities, result.inspectors, items=rnd.items)
        except VerificationError as exc:
            raise CommitmentMismatchError("the draw does not replay", exc.differences) from None
    previous = rnd.current_draw
    text = _clean_text(reason, "the reason", required=False)
    body = {
        "ceremony": CEREMONY,
        "commitment": commitment.entry_hash,
        "seed_entry": rnd.seed.entry_hash,
        "record": record,
        "record_sha256": record_sha256(record),
        "redraw": previous is not None,
        "replaces": None if previous is None else previous.entry_hash,
        "reason": text,
    }
    return _append(ledger, "draw", body, state)


def draw_committed(
    ledger: Ledger,
    commitment_hash: str,
    *,
    items: Iterable[Item],
    entities: EntityPool | Iterable[Entity | Mapping[str, Any]],
    inspectors: InspectorPool | Iterable[Inspector | Mapping[str, Any]] | None = None,
    conflicts: Iterable[Conflict] = (),
    reason: str | None = None,
    created_at: str | None = None,
) -> tuple[DrawResult, Entry]:
    """Draw a committed round with the seed from the ledger, and record it.

    The registers and items given must be the committed ones: their digests are
    compared before anything is drawn. The draw date is the committed date.
    Returns the result and its ``draw`` entry. The refusals are those of
    :func:`record_draw`.
    """
    state = _State.load(ledger)
    commitment = state.resolve(commitment_hash, ("commitment",))
    rnd = state.round_of(commitment)
    if rnd.lock is not None:
        raise DrawLockedError(
            f"the draw of commitment {commitment.entry_hash[:12]}… was locked at seq "
            f"{rnd.lock.seq}; no redraw after the lock"
        )
    if rnd.seed is None:
        raise OutOfOrderError(
            f"commitment {commitment.entry_hash[:12]}… has no seed yet: reveal the seed "
            "before drawing"
        )
    pool = EntityPool.coerce(entities)
    inspector_pool = InspectorPool.coerce(inspectors)
    checked = list(items)
    conflicts = tuple(conflicts)
    probe = {
        "spec": SPEC,
        "pools": _pools_record(pool, inspector_pool),
        "conflicts": conflicts_record(conflicts) if inspector_pool is not None else None,
        "items": _items_record(checked),
        "on": commitment.body["on"],
        "seed": rnd.seed.body["seed"],
        "seed_key": rnd.seed.body["seed_key"],
    }
    differences = _differences(probe, commitment.body, rnd.seed.body)
    if differences:
        raise CommitmentMismatchError(
            f"the registers given are not those of commitment {commitment.entry_hash[:12]}…",
            differences,
        )
    result = draw(
        checked,
        pool,
        inspector_pool,
        seed=Seed.from_material(rnd.seed.body["seed"]),
        on=commitment.body["on"],
        conflicts=conflicts,
        created_at=created_at,
    )
    entry = record_draw(ledger, commitment.entry_hash, result, reason=reason, replay=False)
    return result, entry


def lock(ledger: Ledger, draw_hash: str) -> Entry:
    """Lock the drawn list of a round; no redraw is accepted after it.

    Only the current draw of its round can be locked, and only once.
    """
    state = _State.load(ledger)
    entry = state.resolve(draw_hash, ("draw",))
    body = {
        "ceremony": CEREMONY,
        "commitment": entry.body["commitment"],
        "draw": entry.entry_hash,
        "record_sha256": entry.body.get("record_sha256"),
    }
    return _append(ledger, "lock", body, state)


def record_recusal(
    ledger: Ledger,
    draw_hash: str,
    *,
    entity_id: str,
    inspector_id: str,
    reason: str,
    substitute: str | None = None,
    requested_by: str | None = None,
    substitution: Mapping[str, Any] | None = None,
) -> Entry:
    """Record that an inspector is recused from (or unavailable for) one drawn entity.

    ``reason`` is the conflict of interest or the unavailability. It stays in
    the ledger and is never published. ``substitute`` is the inspector drawn
    in their place (递补抽取), ``requested_by`` who asked for it (the
    inspector, the entity, the bureau). ``substitution`` may hold the record of
    how the substitute was drawn (:func:`randcheck.teams.substitute`). When the
    draw recorded teams, the inspector must be on the entity's team and the
    substitute must not be.
    """
    state = _State.load(ledger)
    entry = state.resolve(draw_hash, ("draw",))
    body = {
        "ceremony": CEREMONY,
        "commitment": entry.body["commitment"],
        "draw": entry.entry_hash,
        "entity": canonical_id(entity_id),
        "inspector": canonical_id(inspector_id),
        "reason": _clean_text(reason, "the reason for the recusal"),
        "substitute": None if substitute is None else canonical_id(substitute),
        "requested_by": _clean_text(requested_by, "requested_by", required=False),
        "substitution": None if substitution is None else dict(substitution),
    }
    return _append(ledger, "recusal", body, state)


def draw_substitute(
    ledger: Ledger,
    draw_hash: str,
    *,
    entities: EntityPool | Iterable[Entity | Mapping[str, Any]],
    inspectors: InspectorPool | Iterable[Inspector | Mapping[str, Any]],
    entity_id: str,
    inspector_id: str,
    reason: str,
    requested_by: str | None = None,
    conflicts: Iterable[Conflict] | None = None,
) -> Entry:
    """Recuse an inspector and draw the substitute from the stream (递补抽取); record both.

    The draw is replayed from its record (:func:`randcheck.draw.replay`) with the
    registers, every substitution recorded so far for this draw is applied in
    ledger order, and :meth:`DrawResult.recuse` draws the substitute from the
    sub-stream ``["substitute", entity, inspector, k]``. The ``recusal`` entry
    holds the substitution record, so anyone can replay it.
    """
    state = _State.load(ledger)
    entry = state.resolve(draw_hash, ("draw",))
    record = entry.body.get("record") or {}
    if record.get("teams") is None:
        raise RuleError("this draw recorded no teams: there is no substitute to draw")
    result = replay(record, entities, inspectors, conflicts=conflicts)
    for earlier in state.round_of(entry).recusals_of(entry.entry_hash):
        if earlier.body.get("substitution"):
            result = result.recuse(
                earlier.body["entity"], earlier.body["inspector"], earlier.body["reason"]
            )
    after = result.recuse(canonical_id(entity_id), canonical_id(inspector_id), reason)
    assert after.teams is not None
    step = after.teams.substitutions[-1]
    return record_recusal(
        ledger,
        entry.entry_hash,
        entity_id=entity_id,
        inspector_id=inspector_id,
        reason=reason,
        substitute=step["substitute"],
        requested_by=requested_by,
        substitution=step,
    )


def record_outcome(
    ledger: Ledger,
    draw_hash: str,
    entity_id: str,
    *,
    result: str,
    inspected_on: dt.date | str,
    rectification_deadline: dt.date | str | None = None,
    follow_up: str | None = None,
    inspectors: Iterable[str] = (),
    note: str | None = None,
    correction: str | None = None,
) -> Entry:
    """Record the result of the inspection of one drawn entity; return the ``outcome`` entry.

    ``result`` must be one of :data:`RESULT_CATEGORIES` (:class:`UnknownResultError`
    lists them otherwise). The draw must be locked and current, the entity
    drawn, and the inspection no earlier than the draw. ``inspectors``, when
    given, are at least two, none of them recused from this entity. A result in
    :data:`RECTIFICATION_RESULTS` needs ``rectification_deadline``. It gets a
    ``follow-up`` entry (整改回访, measure ``follow_up`` or
    :data:`DEFAULT_FOLLOW_UP`), appended right after the outcome. A second
    outcome for the same entity corrects the first. It needs a ``correction``
    reason, and it is recorded with the hash of the outcome it corrects.

    ``follow_up`` is published with the result. ``note`` stays in the ledger.
    """
    state = _State.load(ledger)
    entry = state.resolve(draw_hash, ("draw",))
    rnd = state.round_of(entry)
    entity = canonical_id(entity_id)
    category = normalize_result(result)
    earlier = rnd.outcomes_of(entry.entry_hash).get(entity)
    deadline = (
        None
        if rectification_deadline is None
        else _as_date(rectification_deadline, "the rectification deadline").isoformat()
    )
    measure = _clean_text(follow_up, "the follow-up measure", required=False)
    body = {
        "ceremony": CEREMONY,
        "commitment": entry.body["commitment"],
        "draw": entry.entry_hash,
        "entity": entity,
        "result": category,
        "inspected_on": _as_date(inspected_on, "the inspection date").isoformat(),
        "rectification_deadline": deadline,
        "follow_up": measure,
        "inspectors": [
            canonical_id(i) for i in ([inspectors] if isinstance(inspectors, str) else inspectors)
        ],
        "note": _clean_text(note, "the note", required=False),
        "corrects": None if earlier is None else earlier.entry_hash,
        "correction": _clean_text(correction, "the correction reason", required=False),
    }
    if earlier is None and body["correction"] is not None:
        raise InputError(f"nothing to correct: no outcome for {entity!r} is recorded yet")
    outcome = _append(ledger, "outcome", body, state)
    if category in RECTIFICATION_RESULTS:
        _append(
            ledger,
            "follow-up",
            {
                "ceremony": CEREMONY,
                "commitment": entry.body["commitment"],
                "draw": entry.entry_hash,
                "outcome": outcome.entry_hash,
                "entity": entity,
                "due": deadline,
                "measure": measure or DEFAULT_FOLLOW_UP,
            },
            state,
        )
    return outcome


def close_follow_up(
    ledger: Ledger,
    follow_up_hash: str,
    *,
    closed_on: dt.date | str,
    rectified: bool = True,
    note: str | None = None,
) -> Entry:
    """Close a follow-up (整改销号): the date, and whether the problem was rectified."""
    state = _State.load(ledger)
    entry = state.resolve(follow_up_hash, ("follow-up",))
    body = {
        "ceremony": CEREMONY,
        "commitment": entry.body["commitment"],
        "draw": entry.body["draw"],
        "follow_up": entry.entry_hash,
        "closed_on": _as_date(closed_on, "the closing date").isoformat(),
        "rectified": bool(rectified),
        "note": _clean_text(note, "the note", required=False),
    }
    return _append(ledger, "follow-up-closed", body, state)


def record_publication(
    ledger: Ledger,
    draw_hash: str,
    *,
    published_on: dt.date | str,
    files: Mapping[str, str],
    where: str | None = None,
    warnings: Iterable[str] = (),
) -> Entry:
    """Record a publication (公示) of a draw's results: the date, the SHA-256 of each
    published file, where it was published, and the warnings the notice carried."""
    state = _State.load(ledger)
    entry = state.resolve(draw_hash, ("draw",))
    body = {
        "ceremony": CEREMONY,
        "commitment": entry.body["commitment"],
        "draw": entry.entry_hash,
        "published_on": _as_date(published_on, "the publication date").isoformat(),
        "files": dict(files),
        "where": _clean_text(where, "where", required=False),
        "warnings": list(warnings),
    }
    return _append(ledger, "publication", body, state)


# -- reading the ledger back ---------------------------------------------------------------


@attrs.frozen
class FollowUp:
    """An open follow-up (整改回访): which entity, due when, and what to check."""

    entry_hash: str
    seq: int
    entity_id: str
    due: dt.date
    measure: str
    result: str
    overdue: bool


def open_follow_ups(ledger: Ledger, *, today: dt.date | str | None = None) -> list[FollowUp]:
    """The follow-ups not yet closed, in due-date order; ``overdue`` is relative to
    ``today`` (default: today's date). A follow-up whose outcome was corrected since is
    not listed: the correction, if it still finds a problem, has its own."""
    day = dt.date.today() if today is None else _as_date(today, "today")
    state = _State.load(ledger)
    found = []
    for rnd in state.rounds.values():
        for entry in rnd.follow_ups:
            if rnd.closure_of(entry.entry_hash) is not None:
                continue
            outcome = state.entries.get(entry.body.get("outcome", ""))
            latest = rnd.outcomes_of(entry.body.get("draw", "")).get(entry.body.get("entity", ""))
            if outcome is None or latest is None or latest.entry_hash != outcome.entry_hash:
                continue  # its outcome was corrected; the correction has its own follow-up
            due = dt.date.fromisoformat(entry.body["due"])
            found.append(
                FollowUp(
                    entry_hash=entry.entry_hash,
                    seq=entry.seq,
                    entity_id=entry.body["entity"],
                    due=due,
                    measure=entry.body["measure"],
                    result=outcome.body["result"],
                    overdue=due < day,
                )
            )
    return sorted(found, key=lambda f: (f.due, f.seq))


@attrs.frozen
class AuditProblem:
    """An entry that breaks a rule of the ceremony: ``seq``, ``kind`` and what is wrong."""

    seq: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"seq {self.seq} ({self.kind}): {self.message}"


def audit_ledger(ledger: Ledger) -> list[AuditProblem]:
    """Check every entry against the rules of the ceremony; return the problems found.

    The rules are the ones the recording functions enforce. A seed comes after
    its commitment and only once. A draw matches its commitment and seed, and a
    redraw states its reason and comes before the lock. Outcomes come after the
    lock, with standard categories and follow-ups. Entries appended directly
    with ``Ledger.append`` are held to the same rules. The chain itself is
    checked by :meth:`Ledger.verify`; run that first.
    """
    state = _State()
    problems: list[AuditProblem] = []
    for entry in ledger.entries():
        try:
            state.check(entry.kind, entry.body)
        except RandcheckError as exc:
            problems.append(AuditProblem(entry.seq, entry.kind, str(exc)))
        state.add(entry)
    return problems + state.final_problems()


@attrs.frozen
class Replay:
    """The replay of one recorded draw: ``status`` is ``"ok"``, ``"failed"`` (it does not
    replay; ``differences`` says how) or ``"skipped"`` (the registers given are not the
    ones it was drawn from; ``differences`` says which)."""

    seq: int
    entry_hash: str
    commitment: str | None
    status: Literal["ok", "failed", "skipped"]
    differences: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the draw replayed exactly."""
        return self.status == "ok"


def replay_ledger(
    ledger: Ledger,
    entities: EntityPool | Iterable[Entity | Mapping[str, Any]],
    inspectors: InspectorPool | Iterable[Inspector | Mapping[str, Any]] | None = None,
) -> list[Replay]:
    """Replay every ``draw`` entry of the ledger with :func:`randcheck.verify`.

    The chain is verified first (:class:`~randcheck.ledger.LedgerVerificationError`
    if it is broken). Each draw is replayed from the committed items and the
    recorded seed against ``entities`` (and ``inspectors``). A draw whose
    registers have other digests than the ones given is ``"skipped"``, since a
    ledger spans rounds drawn from different registers. The result lists one
    :class:`Replay` per draw entry, in seq order.
    """
    ledger.verify()
    pool = EntityPool.coerce(entities)
    inspector_pool = InspectorPool.coerce(inspectors)
    commitments = {e.entry_hash: e for e in ledger.commitments()}
    out: list[Replay] = []
    for entry in ledger.find("draw"):
        out.append(_replay_one(entry, commitments, pool, inspector_pool))
    return out


def _replay_one(
    entry: Entry,
    commitments: Mapping[str, Entry],
    pool: EntityPool,
    inspector_pool: InspectorPool | None,
) -> Replay:
    ref = entry.body.get("commitment")
    ref = ref if isinstance(ref, str) else None

    def result(status: Literal["ok", "failed", "skipped"], *diffs: str) -> Replay:
        return Replay(entry.seq, entry.entry_hash, ref, status, tuple(diffs))

    record = entry.body.get("record")
    if not isinstance(record, Mapping):
        return result("failed", "the entry holds no draw record")
    pools = record.get("pools") or {}
    recorded = (pools.get("entities") or {}).get("digest")
    if recorded != pool.digest:
        return result("skipped", f"drawn from entity pool {recorded}, not the one given")
    wanted = pools.get("inspectors")
    if wanted is not None and (
        inspector_pool is None or wanted.get("digest") != inspector_pool.digest
    ):
        given = "none was given" if inspector_pool is None else "not the one given"
        return result("skipped", f"drawn with inspector pool {wanted.get('digest')}; {given}")
    commitment = commitments.get(ref or "")
    try:
        items = None
        if commitment is not None and commitment.body.get("ceremony") == CEREMONY:
            items = [Item.from_record(r) for r in commitment.body["items"]]
        verify(record, pool, inspector_pool, items=items)
    except VerificationError as exc:
        return result("failed", *(exc.differences or (str(exc),)))
    except (RandcheckError, KeyError, TypeError, ValueError) as exc:
        return result("failed", f"cannot replay: {exc}")
    return result("ok")


# -- the next round ---------------------------------------------------------------------


def _count(value: object) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise InputError(f"verified_complaints must be a count, not {value!r}")
    try:
        count = int(str(value).strip())
    except ValueError:
        raise InputError(f"verified_complaints must be a count, not {value!r}") from None
    if count < 0:
        raise InputError(f"verified_complaints must be a count, not {value!r}")
    return count


def apply_outcomes(
    entity_records: Iterable[Mapping[str, Any]],
    outcomes: Iterable[Entry | Mapping[str, Any]],
    *,
    drop_closed: bool = False,
) -> list[dict[str, Any]]:
    """Carry the results of a round into the risk facts of the next round's entity register.

    A pure function: returns new records (input order, copies) and changes
    nothing it is given. ``outcomes`` are ``outcome`` entries or their bodies
    (``{"entity": id, "result": category, …}``). When an entity has several,
    the last one counts, as a correction replaces what it corrects. The rule:

    - 发现问题待后续处理, 不合格: ``verified_complaints`` + 1 (a problem the
      inspection verified weighs like a verified complaint in risk-weighted draws);
    - 不配合检查情节严重, 通过登记的住所无法联系: ``blacklisted`` = true (these
      results put an enterprise on the abnormal-operations list, 经营异常名录);
    - 注销・吊销・撤销・迁出: left out of the result when ``drop_closed``;
    - any other result: no change.

    ``credit_class`` and ``serious_violation`` are never changed here. A
    credit class or a listing as a serious violator (严重违法失信名单) is an
    administrative decision of its own. Record it in the register itself.
    Apply a round's outcomes once: applying them twice counts the problems
    twice. An outcome for an entity that is not in the records raises
    :class:`~randcheck.InputError`.
    """
    latest: dict[str, str] = {}
    for outcome in outcomes:
        body = outcome.body if isinstance(outcome, Entry) else outcome
        latest[canonical_id(body["entity"])] = normalize_result(body["result"])
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for record in entity_records:
        updated = dict(record)
        ident = canonical_id(record.get("id"))
        seen.add(ident)
        result = latest.get(ident)
        if result in RECTIFICATION_RESULTS:
            updated["verified_complaints"] = _count(record.get("verified_complaints")) + 1
        elif result in ("不配合检查情节严重", "通过登记的住所无法联系"):
            updated["blacklisted"] = True
        elif result == "注销・吊销・撤销・迁出" and drop_closed:
            continue
        out.append(updated)
    missing = sorted(set(latest) - seen)
    if missing:
        raise InputError(f"outcomes for entities not in the register: {', '.join(missing)}")
    return out
