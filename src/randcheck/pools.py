"""The two pools of 一单两库: entities to inspect and certified inspectors.

An :class:`EntityPool` is columnar: one numpy array per field, in canonical
order (ids in Unicode code-point order after NFC), so a pool of ten million
entities is a handful of arrays rather than ten million objects, and a draw is
a few passes over them. :class:`Entity` objects are made only on demand.

Both pools have a :attr:`digest`: the SHA-256 of a canonical serialization that
does not depend on the order of the input rows. A draw record names the digests
of the pools it was drawn from, and :func:`randcheck.verify` checks them.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .canonical import canonical_id, canonical_json
from .errors import DuplicateIdError, InputError
from .model import CREDIT_CLASSES, AttributeValue, Conflict, Entity, Inspector, Item

__all__ = ["ENTITY_FIELDS", "EntityPool", "InspectorPool", "conflicts_record", "parse_bool"]

_POOL_TAG = b"randcheck-pool/1\x00"
#: The fields of an entity record, in model order (the columns of an entity register).
ENTITY_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "category",
    "station",
    "region",
    "credit_class",
    "blacklisted",
    "verified_complaints",
    "serious_violation",
)
_TRUE = {"true", "1", "yes", "y", "t", "是", "√", "✓"}
_FALSE = {"false", "0", "no", "n", "f", "否", ""}


def parse_bool(value: object) -> bool:
    """Read a yes/no cell: ``true/false``, ``1/0``, ``yes/no``, ``是/否``; empty is no."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected a yes/no value (true/false, 1/0, 是/否), got {value!r}")


def _parse_count(value: object) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        count = int(str(value).strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {value!r}") from None
    if count < 0:
        raise ValueError(f"expected a count of zero or more, got {count}")
    return count


def _check_id(value: object) -> str:
    ident = canonical_id(value)
    if not ident:
        raise ValueError("the id is empty")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in ident):
        raise ValueError(f"the id {ident!r} contains a control character")
    return ident


def _categorical(values: npt.ArrayLike) -> tuple[tuple[str, ...], npt.NDArray[np.int32]]:
    labels, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return tuple(str(x) for x in labels), codes.astype(np.int32).reshape(-1)


def _frozen(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    array.setflags(write=False)
    return array


class EntityPool:
    """The entity pool (检查对象名录库), columnar and in canonical order.

    Build it with :meth:`from_records` (mappings, one per entity, as read from
    a register) or :meth:`from_arrays` (large pools); never from its
    constructor. ``len(pool)``, ``pool["91350100M000100Y43"]`` (an
    :class:`Entity`), ``id in pool`` and iteration work as for a mapping of ids
    to entities.
    """

    __slots__ = (
        "__dict__",
        "_blacklisted",
        "_category",
        "_complaints",
        "_credit",
        "_lazy",
        "_region",
        "_serious",
        "_station",
        "source",
    )

    def __init__(
        self,
        *,
        ids: npt.NDArray[np.str_],
        names: npt.NDArray[Any],
        category: tuple[tuple[str, ...], npt.NDArray[np.int32]],
        station: tuple[tuple[str, ...], npt.NDArray[np.int32]],
        region: tuple[tuple[str, ...], npt.NDArray[np.int32]],
        credit: npt.NDArray[np.int8],
        blacklisted: npt.NDArray[np.bool_],
        complaints: npt.NDArray[np.int32],
        serious: npt.NDArray[np.bool_],
        attributes: Mapping[str, npt.NDArray[Any]],
        source: str | None = None,
    ) -> None:
        # The heavy columns (ids, names, attributes) live in the instance dict,
        # where a sub-pool from take() fills them only when first read.
        self.__dict__["_ids"] = _frozen(ids)
        self.__dict__["_names"] = _frozen(names)
        self.__dict__["_attributes"] = {k: _frozen(v) for k, v in attributes.items()}
        self._lazy: tuple[EntityPool, npt.NDArray[np.intp]] | None = None
        self._category = (category[0], _frozen(category[1]))
        self._station = (station[0], _frozen(station[1]))
        self._region = (region[0], _frozen(region[1]))
        self._credit = _frozen(credit)
        self._blacklisted = _frozen(blacklisted)
        self._complaints = _frozen(complaints)
        self._serious = _frozen(serious)
        self.source = source

    @functools.cached_property
    def _ids(self) -> npt.NDArray[np.str_]:
        base, pos = self._lazy  # type: ignore[misc]
        return _frozen(base._ids[pos])

    @functools.cached_property
    def _names(self) -> npt.NDArray[Any]:
        base, pos = self._lazy  # type: ignore[misc]
        return _frozen(base._names[pos])

    @functools.cached_property
    def _attributes(self) -> dict[str, npt.NDArray[Any]]:
        base, pos = self._lazy  # type: ignore[misc]
        return {k: _frozen(v[pos]) for k, v in base._attributes.items()}

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        *,
        source: str | None = None,
        first_row: int = 1,
    ) -> EntityPool:
        """Build a pool from mappings with the fields of :class:`Entity`.

        Keys other than the entity fields become free attributes. ``source``
        and ``first_row`` (the row number of the first record, e.g. 2 for a
        CSV file with a header) let errors name the file and row.

        Raises
        ------
        InputError
            naming the source, row, column and id of the first bad value.
        DuplicateIdError
            naming every id that occurs more than once.
        """
        cols: dict[str, list[Any]] = {f: [] for f in ENTITY_FIELDS}
        extra: dict[str, list[AttributeValue]] = {}
        count = 0
        for count, record in enumerate(records, start=1):
            row = first_row + count - 1
            ident = record.get("id")
            try:
                ident = _check_id(ident)
            except (TypeError, ValueError) as exc:
                raise InputError(str(exc), source=source, row=row, column="id") from None
            for field in ENTITY_FIELDS[1:]:
                value = record.get(field)
                try:
                    if field in ("blacklisted", "serious_violation"):
                        value = parse_bool(value)
                    elif field == "verified_complaints":
                        value = _parse_count(value)
                    elif field == "credit_class":
                        value = Entity(id=ident, credit_class=value).credit_class
                    else:
                        value = unicodedata.normalize("NFC", str(value or "")).strip()
                except ValueError as exc:
                    raise InputError(
                        str(exc), source=source, row=row, column=field, id=ident
                    ) from None
                cols[field].append(value)
            cols["id"].append(ident)
            for key, value in record.items():
                if key in ENTITY_FIELDS:
                    continue
                if key == "attributes" and isinstance(value, Mapping):
                    pairs: Iterable[tuple[str, Any]] = value.items()
                else:
                    pairs = ((key, value),)
                for name, val in pairs:
                    column = extra.setdefault(str(name), [None] * (count - 1))
                    column.append(val)
            for column in extra.values():
                if len(column) < count:
                    column.append(None)
        credit = np.array(
            [-1 if c is None else CREDIT_CLASSES.index(c) for c in cols["credit_class"]],
            dtype=np.int8,
        )
        return cls._build(
            ids=cols["id"],
            names=cols["name"],
            category=cols["category"],
            station=cols["station"],
            region=cols["region"],
            credit=credit,
            blacklisted=np.array(cols["blacklisted"], dtype=bool),
            complaints=np.array(cols["verified_complaints"], dtype=np.int32),
            serious=np.array(cols["serious_violation"], dtype=bool),
            attributes={k: np.array(v, dtype=object) for k, v in extra.items()},
            source=source,
            first_row=first_row,
        )

    @classmethod
    def coerce(cls, entities: EntityPool | Iterable[Entity | Mapping[str, Any]]) -> EntityPool:
        """A pool as given, or built from :class:`Entity` objects or records."""
        if isinstance(entities, EntityPool):
            return entities
        rows = list(entities)
        if rows and all(isinstance(r, Entity) for r in rows):
            return cls.from_entities(r for r in rows if isinstance(r, Entity))
        return cls.from_records(r for r in rows if not isinstance(r, Entity))

    @classmethod
    def from_entities(cls, entities: Iterable[Entity]) -> EntityPool:
        """Build a pool from :class:`Entity` objects."""
        return cls.from_records(
            {**e.to_record(), "attributes": dict(e.attributes)} for e in entities
        )

    @classmethod
    def from_arrays(
        cls,
        ids: npt.ArrayLike,
        *,
        names: npt.ArrayLike | None = None,
        category: npt.ArrayLike | None = None,
        station: npt.ArrayLike | None = None,
        region: npt.ArrayLike | None = None,
        credit_class: npt.ArrayLike | None = None,
        blacklisted: npt.ArrayLike | None = None,
        verified_complaints: npt.ArrayLike | None = None,
        serious_violation: npt.ArrayLike | None = None,
        attributes: Mapping[str, npt.ArrayLike] | None = None,
        source: str | None = None,
    ) -> EntityPool:
        """Build a large pool from columns without making an object per entity.

        ``ids`` are strings (or integers, written in decimal). ``credit_class``
        holds ``"A"``–``"D"`` or ``""`` for unclassified. Ids must already be
        trimmed and in NFC; anything else raises :class:`InputError`.
        """
        id_array = np.asarray(ids)
        if id_array.dtype.kind in "iu":
            id_array = id_array.astype(str)
        if id_array.dtype.kind != "U":
            id_array = id_array.astype(str)
        n = id_array.shape[0]
        codes = id_array.view(np.uint32).reshape(n, -1) if n else np.zeros((0, 1), np.uint32)
        if n and (codes.max() >= 128 or (codes[:, 0] <= 32).any()):
            # Only non-ASCII or oddly spaced ids pay for the per-id check.
            for i, raw in enumerate(id_array.tolist()):
                try:
                    if _check_id(raw) != raw:
                        raise ValueError(f"id {raw!r} is not trimmed NFC text")
                except ValueError as exc:
                    raise InputError(str(exc), source=source, row=i + 1, column="id") from None
        if n and (np.char.str_len(id_array) == 0).any():
            row = int(np.flatnonzero(np.char.str_len(id_array) == 0)[0]) + 1
            raise InputError("the id is empty", source=source, row=row, column="id")

        def col(values: npt.ArrayLike | None, dtype: Any, fill: Any) -> npt.NDArray[Any]:
            if values is None:
                return np.full(n, fill, dtype=dtype)
            arr = np.asarray(values, dtype=dtype)
            if arr.shape != (n,):
                raise InputError(f"a column has {arr.shape[0]} values for {n} ids", source=source)
            return arr

        credit_text = col(credit_class, str, "")
        credit = np.full(n, -1, dtype=np.int8)
        for code, label in enumerate(CREDIT_CLASSES):
            credit[credit_text == label] = code
        bad = (credit == -1) & (credit_text != "")
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"credit class must be one of A, B, C, D or empty, got {credit_text[i]!r}",
                source=source,
                row=i + 1,
                column="credit_class",
                id=str(id_array[i]),
            )
        complaints = col(verified_complaints, np.int64, 0)
        if (complaints < 0).any():
            i = int(np.flatnonzero(complaints < 0)[0])
            raise InputError(
                "expected a count of zero or more",
                source=source,
                row=i + 1,
                column="verified_complaints",
                id=str(id_array[i]),
            )
        return cls._build(
            ids=id_array,
            names=col(names, object, ""),
            category=col(category, str, ""),
            station=col(station, str, ""),
            region=col(region, str, ""),
            credit=credit,
            blacklisted=col(blacklisted, bool, False),
            complaints=complaints.astype(np.int32),
            serious=col(serious_violation, bool, False),
            attributes={k: np.asarray(v, dtype=object) for k, v in (attributes or {}).items()},
            source=source,
            first_row=1,
        )

    @classmethod
    def _build(
        cls,
        *,
        ids: Sequence[str] | npt.NDArray[np.str_],
        names: Sequence[str] | npt.NDArray[Any],
        category: Sequence[str] | npt.NDArray[Any],
        station: Sequence[str] | npt.NDArray[Any],
        region: Sequence[str] | npt.NDArray[Any],
        credit: npt.NDArray[np.int8],
        blacklisted: npt.NDArray[np.bool_],
        complaints: npt.NDArray[np.int32],
        serious: npt.NDArray[np.bool_],
        attributes: Mapping[str, npt.NDArray[Any]],
        source: str | None,
        first_row: int,
    ) -> EntityPool:
        id_array = np.asarray(ids, dtype=str)
        order = np.argsort(id_array, kind="stable")
        sorted_ids = id_array[order]
        if sorted_ids.size > 1:
            dup = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
            if dup.size:
                names_dup = sorted(set(sorted_ids[dup].tolist()))
                rows = np.flatnonzero(np.isin(id_array, names_dup)) + first_row
                shown = ", ".join(repr(x) for x in names_dup[:10])
                more = f" and {len(names_dup) - 10} more" if len(names_dup) > 10 else ""
                raise DuplicateIdError(
                    f"duplicate id {shown}{more} (rows {', '.join(map(str, rows[:20].tolist()))})",
                    source=source,
                    id=names_dup[0],
                )
        cat = _categorical(np.asarray(category, dtype=str)[order])
        sta = _categorical(np.asarray(station, dtype=str)[order])
        reg = _categorical(np.asarray(region, dtype=str)[order])
        return cls(
            ids=sorted_ids,
            names=np.asarray(names, dtype=object)[order],
            category=cat,
            station=sta,
            region=reg,
            credit=np.asarray(credit, dtype=np.int8)[order],
            blacklisted=np.asarray(blacklisted, dtype=bool)[order],
            complaints=np.asarray(complaints, dtype=np.int32)[order],
            serious=np.asarray(serious, dtype=bool)[order],
            attributes={k: np.asarray(v, dtype=object)[order] for k, v in attributes.items()},
            source=source,
        )

    # -- columns ------------------------------------------------------------------

    @property
    def ids(self) -> npt.NDArray[np.str_]:
        """Entity ids in canonical order (read-only array)."""
        return self._ids

    @property
    def credit_codes(self) -> npt.NDArray[np.int8]:
        """Credit class as codes: 0–3 for A–D, -1 for unclassified."""
        return self._credit

    @property
    def blacklisted(self) -> npt.NDArray[np.bool_]:
        """On a blacklist (黑名单) or the abnormal-operations list."""
        return self._blacklisted

    @property
    def serious_violation(self) -> npt.NDArray[np.bool_]:
        """On the serious-violation list (严重违法失信名单) or with such a record."""
        return self._serious

    @property
    def verified_complaints(self) -> npt.NDArray[np.int32]:
        """Number of verified complaints (投诉举报, 经查属实)."""
        return self._complaints

    def column(self, name: str) -> npt.NDArray[Any]:
        """A column by field name (``category``, ``region``, ``credit_class``…) or attribute."""
        if name in ("category", "station", "region"):
            labels, codes = {
                "category": self._category,
                "station": self._station,
                "region": self._region,
            }[name]
            values: npt.NDArray[Any] = np.asarray(labels, dtype=object)[codes]
            return values
        if name == "name":
            return self._names
        if name == "id":
            return self._ids
        if name == "credit_class":
            return np.asarray(np.array((*CREDIT_CLASSES, None), dtype=object)[self._credit])
        if name in ("blacklisted", "serious_violation", "verified_complaints"):
            return {
                "blacklisted": self._blacklisted,
                "serious_violation": self._serious,
                "verified_complaints": self._complaints,
            }[name]
        try:
            return self._attributes[name]
        except KeyError:
            raise KeyError(f"the entity pool has no column {name!r}") from None

    @property
    def attribute_names(self) -> tuple[str, ...]:
        """Names of the free attribute columns."""
        return tuple(sorted(self._attributes))

    @property
    def categories(self) -> tuple[str, ...]:
        """The distinct categories in the pool."""
        return tuple(c for c in self._category[0] if c)

    @property
    def stations(self) -> tuple[str, ...]:
        """The distinct stations in the pool."""
        return tuple(s for s in self._station[0] if s)

    # -- selection ----------------------------------------------------------------

    def mask(
        self, *, categories: Iterable[str] = (), station: str | None = None
    ) -> npt.NDArray[np.bool_]:
        """Boolean mask of entities in any of ``categories`` and/or of ``station``."""
        result = np.ones(len(self), dtype=bool)
        cats = tuple(categories)
        if cats:
            labels, codes = self._category
            wanted = np.array([label in cats for label in labels], dtype=bool)
            result &= wanted[codes] if wanted.size else False
        if station is not None:
            labels, codes = self._station
            result &= codes == (labels.index(station) if station in labels else -1)
        return result

    def covered_by(self, item: Item) -> npt.NDArray[np.intp]:
        """Positions (canonical order) of the entities ``item`` covers.

        An item with categories covers the entities in those categories; an
        item without categories covers every entity of its station.
        """
        if item.categories:
            return np.flatnonzero(self.mask(categories=item.categories))
        return np.flatnonzero(self.mask(station=item.station))

    def take(self, positions: npt.ArrayLike) -> EntityPool:
        """The sub-pool at ``positions`` (or a boolean mask), in canonical order.

        Cheap: the risk columns are copied, the ids, names and attributes only
        when first read.
        """
        pos = np.asarray(positions)
        if pos.dtype == bool:
            pos = np.flatnonzero(pos)
        pos = pos.astype(np.intp, copy=False)
        if pos.size > 1 and not (pos[1:] > pos[:-1]).all():
            pos = np.sort(pos)
            pos = pos[np.concatenate(([True], pos[1:] != pos[:-1]))]
        if pos.size and (pos[0] < 0 or pos[-1] >= len(self)):
            raise IndexError(f"positions must lie in [0, {len(self)})")
        if pos.size == len(self):
            return self  # every entity: the pool itself (pools are immutable)
        sub = EntityPool.__new__(EntityPool)
        sub._category = (self._category[0], _frozen(self._category[1][pos]))
        sub._station = (self._station[0], _frozen(self._station[1][pos]))
        sub._region = (self._region[0], _frozen(self._region[1][pos]))
        sub._credit = _frozen(self._credit[pos])
        sub._blacklisted = _frozen(self._blacklisted[pos])
        sub._complaints = _frozen(self._complaints[pos])
        sub._serious = _frozen(self._serious[pos])
        sub._lazy = (self, pos)  # ids, names and attributes are copied only when read
        sub.source = self.source
        return sub

    def positions(self, ids: Iterable[str]) -> npt.NDArray[np.intp]:
        """Positions of ``ids``; raises ``KeyError`` naming the ids not in the pool."""
        wanted = np.asarray([canonical_id(i) for i in ids], dtype=str)
        if wanted.size == 0:
            return np.zeros(0, dtype=np.intp)
        pos = np.searchsorted(self._ids, wanted)
        pos_c = np.minimum(pos, max(len(self) - 1, 0))
        found = (pos < len(self)) & (self._ids[pos_c] == wanted) if len(self) else pos < 0
        if not found.all():
            missing = wanted[~found].tolist()
            raise KeyError(f"not in the entity pool: {', '.join(map(repr, missing[:10]))}")
        return pos.astype(np.intp)

    # -- mapping protocol ---------------------------------------------------------

    def __len__(self) -> int:
        return int(self._credit.shape[0])

    def __contains__(self, ident: object) -> bool:
        if not isinstance(ident, (str, int)) or isinstance(ident, bool):
            return False
        try:
            self.positions([str(ident)])
        except KeyError:
            return False
        return True

    def __getitem__(self, ident: str) -> Entity:
        return self.entity(int(self.positions([ident])[0]))

    def __iter__(self) -> Iterator[Entity]:
        return (self.entity(i) for i in range(len(self)))

    def entity(self, position: int) -> Entity:
        """The :class:`Entity` at ``position`` in canonical order."""
        credit = int(self._credit[position])
        return Entity(
            id=str(self._ids[position]),
            name=str(self._names[position]),
            category=self._category[0][self._category[1][position]],
            station=self._station[0][self._station[1][position]],
            region=self._region[0][self._region[1][position]],
            credit_class=None if credit < 0 else CREDIT_CLASSES[credit],
            blacklisted=bool(self._blacklisted[position]),
            verified_complaints=int(self._complaints[position]),
            serious_violation=bool(self._serious[position]),
            attributes={
                k: v[position] for k, v in self._attributes.items() if v[position] is not None
            },
        )

    def to_records(self) -> list[dict[str, Any]]:
        """Every entity as a plain dict, in canonical order."""
        return [e.to_record() for e in self]

    def to_pandas(self) -> Any:
        """The pool as a ``pandas.DataFrame``, one row per entity (needs ``randcheck[pandas]``)."""
        from ._repr import pool_to_pandas

        return pool_to_pandas(self)

    def _repr_html_(self) -> str:
        from ._repr import entity_pool_html

        return entity_pool_html(self)

    # -- identity -----------------------------------------------------------------

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 (hex) of the canonical serialization; independent of input row order.

        The bytes hashed are ``b"randcheck-pool/1\\x00entities\\x00"`` followed, for
        each entity in canonical order, by ``canonical_json(entity.to_record())``
        and a newline (docs/spec.md).
        """
        h = hashlib.sha256(_POOL_TAG + b"entities\x00")
        for entity in self:
            h.update(canonical_json(entity.to_record()) + b"\n")
        return h.hexdigest()

    def __repr__(self) -> str:
        digest = self.__dict__.get("digest")
        if digest is None and len(self) <= 100_000:
            digest = self.digest
        shown = f", digest {digest[:8]}…" if digest else ""
        return f"<EntityPool {len(self):,} entities{shown}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EntityPool):
            return NotImplemented
        return len(self) == len(other) and self.digest == other.digest

    __hash__ = None  # type: ignore[assignment]


class InspectorPool:
    """The inspector pool (执法检查人员名录库): one pool shared by all items.

    Small (hundreds), so it keeps :class:`Inspector` objects, sorted by id.
    """

    __slots__ = ("__dict__", "_by_id", "_inspectors", "source")

    def __init__(self, inspectors: Iterable[Inspector], *, source: str | None = None) -> None:
        ordered = sorted(inspectors, key=lambda i: i.id)
        for a, b in itertools.pairwise(ordered):
            if a.id == b.id:
                raise DuplicateIdError(f"duplicate inspector id {a.id!r}", source=source, id=a.id)
        self._inspectors = tuple(ordered)
        self._by_id = {i.id: i for i in ordered}
        self.source = source

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], *, source: str | None = None, first_row: int = 1
    ) -> InspectorPool:
        """Build the pool from mappings with the fields of :class:`Inspector`.

        ``specialties`` may be a list or a ``;``-separated text; ``active`` a
        yes/no cell (default yes); ``certificate_valid_until`` an ISO date.
        """
        inspectors = []
        for row, record in enumerate(records, start=first_row):
            ident: str | None = None
            column = "id"
            try:
                ident = _check_id(record.get("id"))
                column = "active"
                active = (
                    parse_bool(record.get("active", True))
                    if record.get("active", "") != ""
                    else True
                )
                column = "certificate_valid_until"
                inspectors.append(
                    Inspector(
                        id=ident,
                        name=record.get("name") or "",
                        station=record.get("station") or "",
                        certificate_no=record.get("certificate_no") or "",
                        certificate_valid_until=record.get("certificate_valid_until"),
                        specialties=record.get("specialties") or (),
                        active=active,
                    )
                )
            except (TypeError, ValueError) as exc:
                raise InputError(
                    str(exc), source=source, row=row, column=column, id=ident
                ) from None
        return cls(inspectors, source=source)

    @classmethod
    def coerce(
        cls, inspectors: InspectorPool | Iterable[Inspector | Mapping[str, Any]] | None
    ) -> InspectorPool | None:
        """A pool as given (or ``None``), or built from :class:`Inspector` objects or records."""
        if inspectors is None or isinstance(inspectors, InspectorPool):
            return inspectors
        rows = list(inspectors)
        if all(isinstance(r, Inspector) for r in rows):
            return cls(r for r in rows if isinstance(r, Inspector))
        return cls.from_records(r for r in rows if not isinstance(r, Inspector))

    def __len__(self) -> int:
        return len(self._inspectors)

    def __iter__(self) -> Iterator[Inspector]:
        return iter(self._inspectors)

    def __getitem__(self, ident: str) -> Inspector:
        try:
            return self._by_id[canonical_id(ident)]
        except KeyError:
            raise KeyError(f"not in the inspector pool: {ident!r}") from None

    def __contains__(self, ident: object) -> bool:
        return isinstance(ident, str) and canonical_id(ident) in self._by_id

    @property
    def ids(self) -> tuple[str, ...]:
        """Inspector ids in canonical order."""
        return tuple(self._by_id)

    def to_records(self) -> list[dict[str, Any]]:
        """Every inspector as a plain dict, in canonical order."""
        return [i.to_record() for i in self._inspectors]

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 (hex) of the canonical serialization, as for :attr:`EntityPool.digest`."""
        h = hashlib.sha256(_POOL_TAG + b"inspectors\x00")
        for inspector in self._inspectors:
            h.update(canonical_json(inspector.to_record()) + b"\n")
        return h.hexdigest()

    def __repr__(self) -> str:
        return f"<InspectorPool {len(self):,} inspectors, digest {self.digest[:8]}…>"


def conflicts_record(conflicts: Iterable[Conflict]) -> dict[str, Any] | None:
    """``{"digest", "size"}`` of a conflict table, or ``None`` for an empty one.

    The digest is SHA-256 of ``b"randcheck-pool/1\x00conflicts\x00"`` and, for each
    row sorted by (entity, inspector, reason), ``canonical_json({"entity",
    "inspector", "reason"})`` and a newline: the table is committed to without
    publishing its reasons.
    """
    rows = sorted({(c.entity_id, c.inspector_id, c.reason) for c in conflicts})
    if not rows:
        return None
    h = hashlib.sha256(_POOL_TAG + b"conflicts\x00")
    for entity, inspector, reason in rows:
        h.update(
            canonical_json({"entity": entity, "inspector": inspector, "reason": reason}) + b"\n"
        )
    return {"digest": h.hexdigest(), "size": len(rows)}
