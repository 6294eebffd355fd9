"""The records randcheck reasons about: items, entities, inspectors, conflicts, tasks.

All are frozen :mod:`attrs` classes with no I/O: hashable, safe in sets and in
records, immutable all the way down (sequences become tuples). Build them from
outside data through the pools' and loaders' factories, not ``Entity(**row)``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .canonical import canonical_id, nfc

if TYPE_CHECKING:
    from .policies import Policy

__all__ = [
    "CREDIT_CLASSES",
    "Conflict",
    "Entity",
    "Inspector",
    "Item",
    "Task",
    "format_ratio",
    "parse_date",
    "parse_ratio",
]

#: Credit-risk classes, low to high risk (国市监信发〔2022〕6号).
CREDIT_CLASSES: tuple[str, ...] = ("A", "B", "C", "D")

AttributeValue = str | int | bool | None


def _text(value: object) -> str:
    return "" if value is None else nfc(str(value)).strip()


def _text_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.replace("；", ";").split(";")
    if not isinstance(value, Iterable):
        raise TypeError(f"expected text or a list of texts, not {value!r}")
    return tuple(t for t in (_text(v) for v in value) if t)


def _unique_text_tuple(value: object) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_text_tuple(value)))


def _optional_text(value: object) -> str | None:
    return _text(value) or None


def _str_tuple(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(v) for v in value)


def parse_ratio(value: object) -> Fraction:
    """Parse a sampling ratio exactly: ``"0.05"``, ``0.05``, ``"5%"``, ``Fraction(1, 20)``.

    Floats are read through their shortest decimal form (``0.07`` is 7/100, not
    the binary fraction nearest to it), so ``ceil(ratio * N)`` is exact.
    """
    if isinstance(value, Fraction):
        ratio = value
    elif isinstance(value, bool):
        raise ValueError(f"a ratio cannot be a boolean ({value!r})")
    elif isinstance(value, int):
        ratio = Fraction(value)
    elif isinstance(value, (float, Decimal)):
        ratio = Fraction(Decimal(repr(value)) if isinstance(value, float) else value)
    elif isinstance(value, str):
        text = value.strip().replace("％", "%")
        percent = text.endswith("%")
        if percent:
            text = text[:-1].strip()
        try:
            ratio = Fraction(Decimal(text)) if "/" not in text else Fraction(text)
        except (InvalidOperation, ValueError, ZeroDivisionError):
            raise ValueError(f"not a ratio: {value!r}") from None
        if percent:
            ratio /= 100
    else:
        raise ValueError(f"not a ratio: {value!r}")
    if not 0 < ratio <= 1:
        raise ValueError(f"a ratio must be in (0, 1], got {format_ratio(ratio)}")
    return ratio


def format_ratio(ratio: Fraction) -> str:
    """Exact text of a ratio: a decimal when it has one (``"0.05"``), else ``"1/3"``."""
    den = ratio.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return f"{ratio.numerator}/{ratio.denominator}"
    places = max(twos, fives)
    scaled = ratio * 10**places
    text = f"{scaled.numerator:0{places + 1}d}"
    return text if places == 0 else f"{text[:-places]}.{text[-places:]}"


def _positive_int(name: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")

    return check


def _default_policy() -> Policy:
    from .policies import Proportional

    return Proportional()


@attrs.frozen
class Item:
    """An inspection item (抽查事项) from the published item list.

    ``categories`` names the entity categories it covers; when empty it covers
    every entity of its ``station``. The sample size in a round is
    ``max(minimum, ceil(ratio * N))`` capped at ``N`` (:meth:`sample_size`),
    where ``N`` is the number of entities it covers; ``policy`` decides who is
    likelier to be drawn.
    """

    code: str = attrs.field(converter=canonical_id)
    name: str = attrs.field(converter=_text)
    station: str = attrs.field(converter=_text)
    legal_basis: str = attrs.field(converter=_text)
    categories: tuple[str, ...] = attrs.field(default=(), converter=_unique_text_tuple)
    ratio: Fraction = attrs.field(default=Fraction(1, 20), converter=parse_ratio)
    minimum: int = attrs.field(default=1, validator=_positive_int("minimum"))
    rounds_per_year: int = attrs.field(default=2, validator=_positive_int("rounds_per_year"))
    team_size: int = attrs.field(default=2, validator=_positive_int("team_size"))
    specialty: str | None = attrs.field(default=None, converter=_optional_text)
    kind: Literal["general", "key"] = attrs.field(default="general")
    policy: Policy = attrs.field(factory=_default_policy)

    @code.validator
    def _check_code(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not value:
            raise ValueError("an item needs a code")

    @legal_basis.validator
    def _check_basis(self, attribute: attrs.Attribute[str], value: str) -> None:
        if not value:
            raise ValueError(f"item {self.code!r} has no legal basis: no basis, no inspection")

    @kind.validator
    def _check_kind(self, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in ("general", "key"):
            raise ValueError(f"item kind must be 'general' (一般) or 'key' (重点), got {value!r}")

    def sample_size(self, population: int) -> int:
        """``max(minimum, ceil(ratio * population))``, capped at ``population``."""
        want = max(self.minimum, math.ceil(self.ratio * population))
        return min(want, population)

    def to_record(self) -> dict[str, Any]:
        """The item as canonical-JSON-ready data (exact ratio as text)."""
        return {
            "code": self.code,
            "name": self.name,
            "station": self.station,
            "legal_basis": self.legal_basis,
            "categories": list(self.categories),
            "ratio": format_ratio(self.ratio),
            "minimum": self.minimum,
            "rounds_per_year": self.rounds_per_year,
            "team_size": self.team_size,
            "specialty": self.specialty,
            "kind": self.kind,
            "policy": self.policy.to_record(),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Item:
        """Rebuild an item from :meth:`to_record` output."""
        from .policies import policy_from_record

        data = dict(record)
        data["policy"] = policy_from_record(data.get("policy") or {"name": "proportional"})
        return cls(**data)


def _credit_class(value: object) -> str | None:
    text = _text(value).upper()
    if not text:
        return None
    if text not in CREDIT_CLASSES:
        raise ValueError(f"credit class must be one of A, B, C, D or empty, got {value!r}")
    return text


def _attributes(value: object) -> tuple[tuple[str, AttributeValue], ...]:
    if not value:
        return ()
    if isinstance(value, Mapping):
        pairs: Iterable[tuple[object, AttributeValue]] = value.items()
    elif isinstance(value, Iterable):
        pairs = value
    else:
        raise TypeError(f"attributes must be a mapping, not {value!r}")
    return tuple(sorted((nfc(str(k)), v) for k, v in pairs))


@attrs.frozen
class Entity:
    """An entity to inspect (检查对象): a firm, a permitted project, a pollution source.

    ``id`` is a USCC (统一社会信用代码) or a bureau code. The risk facts
    (``blacklisted``, ``verified_complaints``, ``serious_violation``,
    ``credit_class`` A–D) drive risk-weighted policies. ``attributes`` holds any
    further columns, as sorted ``(name, value)`` pairs.
    """

    id: str = attrs.field(converter=canonical_id)
    name: str = attrs.field(default="", converter=_text)
    category: str = attrs.field(default="", converter=_text)
    station: str = attrs.field(default="", converter=_text)
    region: str = attrs.field(default="", converter=_text)
    credit_class: str | None = attrs.field(default=None, converter=_credit_class)
    blacklisted: bool = False
    verified_complaints: int = 0
    serious_violation: bool = False
    attributes: tuple[tuple[str, AttributeValue], ...] = attrs.field(
        default=(), converter=_attributes
    )

    def attribute(self, name: str, default: AttributeValue = None) -> AttributeValue:
        """The value of a free attribute, or ``default``."""
        return dict(self.attributes).get(name, default)

    def to_record(self) -> dict[str, Any]:
        """The entity as canonical-JSON-ready data (the pool digest hashes this)."""
        return {
            "id": self.id,
            "name": self.name,
            "category": self.category,
            "station": self.station,
            "region": self.region,
            "credit_class": self.credit_class,
            "blacklisted": self.blacklisted,
            "verified_complaints": self.verified_complaints,
            "serious_violation": self.serious_violation,
            "attributes": dict(self.attributes),
        }


def parse_date(value: object, what: str = "the date") -> dt.date:
    """A date from a ``date``, a ``datetime`` or ISO text ``YYYY-MM-DD``.

    Raises ``ValueError`` naming ``what`` and the value otherwise.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(_text(value))
    except ValueError:
        raise ValueError(f"{what} must be a date (YYYY-MM-DD), not {value!r}") from None


def _date(value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    return parse_date(value, "the date")


@attrs.frozen
class Inspector:
    """A certified inspector (执法检查人员) from the one shared inspector pool.

    An inspector may be drawn on a date when ``active`` and the enforcement
    certificate (执法证) is valid on that date (:meth:`eligible_on`).
    """

    id: str = attrs.field(converter=canonical_id)
    name: str = attrs.field(default="", converter=_text)
    station: str = attrs.field(default="", converter=_text)
    certificate_no: str = attrs.field(default="", converter=_text)
    certificate_valid_until: dt.date | None = attrs.field(default=None, converter=_date)
    specialties: tuple[str, ...] = attrs.field(default=(), converter=_unique_text_tuple)
    active: bool = True

    def eligible_on(self, day: dt.date) -> bool:
        """Active, with a certificate number valid on ``day``."""
        return (
            self.active
            and bool(self.certificate_no)
            and self.certificate_valid_until is not None
            and self.certificate_valid_until >= day
        )

    def to_record(self) -> dict[str, Any]:
        """The inspector as canonical-JSON-ready data (the pool digest hashes this)."""
        return {
            "id": self.id,
            "name": self.name,
            "station": self.station,
            "certificate_no": self.certificate_no,
            "certificate_valid_until": (
                self.certificate_valid_until.isoformat() if self.certificate_valid_until else None
            ),
            "specialties": list(self.specialties),
            "active": self.active,
        }


@attrs.frozen
class Conflict:
    """A conflict of interest (回避): ``inspector_id`` may not inspect ``entity_id``."""

    inspector_id: str = attrs.field(converter=canonical_id)
    entity_id: str = attrs.field(converter=canonical_id)
    reason: str = attrs.field(default="", converter=_text)


@attrs.frozen
class Task:
    """One visit to one entity, covering every item drawn for it (合并检查、一次办结).

    ``team`` holds the inspector ids assigned to the visit, empty until teams
    are drawn.
    """

    entity_id: str
    items: tuple[str, ...] = attrs.field(converter=_str_tuple)
    stations: tuple[str, ...] = attrs.field(converter=_str_tuple)
    team: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)

    def to_record(self) -> dict[str, Any]:
        """The task as canonical-JSON-ready data."""
        return {
            "entity": self.entity_id,
            "items": list(self.items),
            "stations": list(self.stations),
            "team": list(self.team),
        }
