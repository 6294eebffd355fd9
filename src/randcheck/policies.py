"""Draw policies: each turns the entities an item covers into inclusion probabilities.

A policy never draws; it states, before any randomness, the probability that
each entity is drawn. Probabilities are exact rationals on an integer grid: a
:class:`Design` holds integer numerators ``p`` and one integer denominator
``D`` with ``π_i = p_i / D``, ``0 <= p_i <= D`` and ``sum(p) == n * D``
exactly. The sampler in :mod:`randcheck.sampling` then draws exactly ``n``
entities with exactly these probabilities.

Policies
--------
:class:`Proportional`
    every covered entity has ``π = n / N``.
:class:`RiskWeighted`
    ``π`` proportional to an integer risk weight (credit class, blacklist,
    serious violation, verified complaints), capped at 1 with the excess spread
    over the others (R ``sampling::inclusionprobabilities``), and entities with
    a ``certain`` fact always drawn.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np
import numpy.typing as npt

from .errors import PolicyError

if TYPE_CHECKING:
    from .pools import EntityPool

__all__ = [
    "RISK_FACTS",
    "Design",
    "Policy",
    "Proportional",
    "RiskWeighted",
    "capped_pps",
    "policy_from_record",
]

#: Risk facts a policy may name in ``certain=``.
RISK_FACTS = ("blacklisted", "serious_violation", "verified_complaints", "credit_class_D")

#: ``n * D`` must stay below this, so every cumulative sum fits in int64.
_GRID_LIMIT = 1 << 62


class Design:
    """Exact inclusion probabilities ``π_i = numerators[i] / denominator``.

    ``n`` is the fixed sample size; ``sum(numerators) == n * denominator``.
    A design may also be held as *levels* (:meth:`from_levels`): a small table
    of numerators and one code per entity, ``numerators = table[codes]``, which
    is how risk-weighted designs stay a few bytes per entity.
    """

    __slots__ = ("__dict__", "_codes", "_table", "denominator", "n")

    def __init__(self, numerators: npt.ArrayLike, denominator: int, n: int) -> None:
        self.__dict__["numerators"] = np.asarray(numerators, dtype=np.int64)
        self._codes: npt.NDArray[np.integer[Any]] | None = None
        self._table: npt.NDArray[np.int64] | None = None
        self.denominator = int(denominator)
        self.n = int(n)
        p = self.numerators
        self._check(int(p.min()) if p.size else 0, int(p.max()) if p.size else 0, int(p.sum()))

    @classmethod
    def from_levels(
        cls,
        codes: npt.NDArray[np.integer[Any]],
        table: npt.ArrayLike,
        denominator: int,
        n: int,
    ) -> Design:
        """A design whose numerators are ``table[codes]``, never expanded unless asked."""
        design = cls.__new__(cls)
        design._codes = codes
        design._table = np.asarray(table, dtype=np.int64)
        design.denominator = int(denominator)
        design.n = int(n)
        counts = np.bincount(codes, minlength=design._table.size)
        used = design._table[counts > 0]
        total = sum(
            int(c) * int(v) for c, v in zip(counts.tolist(), design._table.tolist(), strict=True)
        )
        design._check(
            int(used.min()) if used.size else 0, int(used.max()) if used.size else 0, total
        )
        return design

    def _check(self, low: int, high: int, total: int) -> None:
        if low < 0 or high > self.denominator:
            raise PolicyError("inclusion probabilities must lie in [0, 1]")
        if self.n * self.denominator >= _GRID_LIMIT:
            raise PolicyError(
                f"the probability grid is too fine (n*D = {self.n * self.denominator}); "
                "use smaller integer weights"
            )
        if total != self.n * self.denominator:
            raise PolicyError(
                f"inclusion probabilities sum to {total}/{self.denominator}, not n = {self.n}"
            )

    @functools.cached_property
    def numerators(self) -> npt.NDArray[np.int64]:
        """``p_i`` for every entity, in canonical order."""
        assert self._codes is not None
        assert self._table is not None
        out: npt.NDArray[np.int64] = self._table[self._codes]
        return out

    def __len__(self) -> int:
        return int((self._codes if self._codes is not None else self.numerators).shape[0])

    @property
    def levels(self) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[np.int64]] | None:
        """``(codes, table)`` with ``numerators == table[codes]``, when held as levels."""
        if self._codes is None or self._table is None:
            return None
        return self._codes, self._table

    @property
    def probabilities(self) -> npt.NDArray[np.float64]:
        """``π`` as floats (for display; the exact values are the fractions)."""
        return np.asarray(self.numerators / float(self.denominator), dtype=np.float64)

    def fraction(self, position: int) -> Fraction:
        """The exact ``π`` of the entity at ``position``."""
        return Fraction(int(self.numerators[position]), self.denominator)

    @property
    def certain(self) -> npt.NDArray[np.bool_]:
        """Entities with ``π = 1``."""
        return np.asarray(self.numerators == self.denominator, dtype=bool)

    def __repr__(self) -> str:
        return f"<Design n={self.n} of {len(self)}, D={self.denominator}>"


class Policy(abc.ABC):
    """A draw policy: turns covered entities and a sample size into a :class:`Design`.

    Subclasses are frozen attrs classes with a ``name`` (recorded in every
    draw) and implement :meth:`design`.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def design(self, entities: EntityPool, n: int) -> Design:
        """Exact inclusion probabilities for drawing ``n`` of ``entities``.

        A policy may raise ``n`` (never lower it): :class:`RiskWeighted` draws
        every entity with a ``certain`` fact even when there are more than ``n``.
        """

    def inclusion_probabilities(self, entities: EntityPool, n: int) -> npt.NDArray[np.float64]:
        """``π`` for each entity, in the pool's canonical order, summing to ``n``."""
        return self.design(entities, n).probabilities

    @abc.abstractmethod
    def to_record(self) -> dict[str, Any]:
        """The policy and its parameters as canonical-JSON-ready data."""

    def _repr_html_(self) -> str:
        from ._repr import policy_html

        return policy_html(self)


@attrs.frozen
class Proportional(Policy):
    """Equal probability: each of the ``N`` covered entities has ``π = n / N``."""

    name: ClassVar[str] = "proportional"

    def design(self, entities: EntityPool, n: int) -> Design:
        """``p_i = n`` for every entity on the grid ``D = N``."""
        size = len(entities)
        _check_n(n, size)
        return Design(np.full(size, n, dtype=np.int64), max(size, 1), n)

    def to_record(self) -> dict[str, Any]:
        """``{"name": "proportional"}``."""
        return {"name": self.name}


def _check_n(n: int, size: int) -> None:
    if not 0 <= n <= size:
        raise PolicyError(f"cannot draw {n} of {size} entities")


def _class_weights(value: Mapping[str, int] | None) -> tuple[tuple[str, int], ...]:
    merged = {"A": 1, "B": 2, "C": 4, "D": 8, "": 2}
    if value:
        merged.update(
            {("" if k in (None, "None", "unclassified") else str(k)): v for k, v in value.items()}
        )
    return tuple(sorted(merged.items()))


def _check_weight(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError(f"{attribute.name} must be a whole number >= 0, got {value!r}")


@attrs.frozen
class RiskWeighted(Policy):
    """Probability proportional to an integer risk weight, capped at 1 (exact πps).

    The weight of an entity is::

        class_weights[credit_class]           # A 1, B 2, C 4, D 8, unclassified 2
        + blacklisted * 8                     # 黑名单 / 经营异常名录
        + serious_violation * 8               # 严重违法失信
        + complaint * min(verified_complaints, complaint_cap)   # 2 per complaint, up to 5

    Every weight is a positive integer, so no class is exempt (不免抽) and every
    ``π`` is an exact rational. With ``m`` places left after the ``certain``
    entities, ``π_i = m * w_i / W`` where ``W`` sums the weights of the
    uncertain entities; any entity whose ``π`` would exceed 1 gets ``π = 1``
    and the rest are rescaled, until none exceeds 1.

    ``certain`` names facts that force selection: ``"blacklisted"``,
    ``"serious_violation"``, ``"verified_complaints"`` (one or more) or
    ``"credit_class_D"``. When more entities are certain than ``n``, all of them
    are drawn and ``n`` grows to match.
    """

    name: ClassVar[str] = "risk-weighted"

    class_weights: tuple[tuple[str, int], ...] = attrs.field(default=None, converter=_class_weights)
    blacklisted: int = attrs.field(default=8, validator=_check_weight)
    serious_violation: int = attrs.field(default=8, validator=_check_weight)
    complaint: int = attrs.field(default=2, validator=_check_weight)
    complaint_cap: int = attrs.field(default=5, validator=_check_weight)
    certain: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    @class_weights.validator
    def _check_classes(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        for label, weight in value:
            if label not in ("", "A", "B", "C", "D"):
                raise PolicyError(f"unknown credit class {label!r} in class_weights")
            if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
                raise PolicyError(
                    f"class weight of {label or 'unclassified'} must be a whole number >= 1 "
                    f"(no class is exempt), got {weight!r}"
                )

    @certain.validator
    def _check_certain(self, attribute: attrs.Attribute[Any], value: Any) -> None:
        for fact in value:
            if fact not in RISK_FACTS:
                raise PolicyError(f"unknown risk fact {fact!r}; choose from {RISK_FACTS}")

    def levels(
        self, entities: EntityPool
    ) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """Each entity's combination of risk facts as one small code.

        Returns ``(codes, weight_of_code, certain_of_code)``: the weight of
        entity ``i`` is ``weight_of_code[codes[i]]``, and it is certain when
        ``certain_of_code[codes[i]]``. The code is
        ``(credit + 1) + 5*blacklisted + 10*serious + 20*min(complaints, max(cap, 1))``
        with ``credit`` -1 (unclassified) or 0–3 (A–D).
        """
        classes = dict(self.class_weights)
        by_class = np.array([classes[c] for c in ("", "A", "B", "C", "D")], dtype=np.int64)
        top = max(self.complaint_cap, 1)
        combos = np.arange(20 * (top + 1))
        credit, black = combos % 5, combos // 5 % 2
        serious, complaints = combos // 10 % 2, combos // 20
        weight = (
            by_class[credit]
            + self.blacklisted * black
            + self.serious_violation * serious
            + self.complaint * np.minimum(complaints, self.complaint_cap)
        )
        certain = np.zeros(combos.size, dtype=bool)
        for fact in self.certain:
            certain |= {
                "blacklisted": black == 1,
                "serious_violation": serious == 1,
                "verified_complaints": complaints > 0,
                "credit_class_D": credit == 4,
            }[fact]
        dtype = np.uint8 if combos.size <= 256 else np.int32
        code = (entities.credit_codes + 1).astype(dtype)
        code += entities.blacklisted.view(np.uint8).astype(dtype) * dtype(5)
        code += entities.serious_violation.view(np.uint8).astype(dtype) * dtype(10)
        code += np.minimum(entities.verified_complaints, top).astype(dtype) * dtype(20)
        return code, weight, certain

    def weights(self, entities: EntityPool) -> npt.NDArray[np.int64]:
        """The integer risk weight of each entity, in canonical order."""
        codes, weight, _ = self.levels(entities)
        out: npt.NDArray[np.int64] = weight[codes]
        return out

    def certain_mask(self, entities: EntityPool) -> npt.NDArray[np.bool_]:
        """Entities that a ``certain`` fact forces into the sample."""
        codes, _, certain = self.levels(entities)
        out: npt.NDArray[np.bool_] = certain[codes]
        return out

    def design(
        self, entities: EntityPool, n: int, weights: npt.NDArray[np.int64] | None = None
    ) -> Design:
        """Exact capped πps probabilities (see the class docstring).

        ``weights`` replaces :meth:`weights` (a station plugin's adjusted weights).
        Without it, the design is computed on the few combinations of risk facts
        (:meth:`levels`) and gives exactly what :func:`capped_pps` gives.
        """
        _check_n(n, len(entities))
        if weights is not None:
            certain = self.certain_mask(entities)
            return capped_pps(weights, max(n, int(certain.sum())), certain)
        codes, weight, certain = self.levels(entities)
        counts = np.bincount(codes, minlength=weight.size)
        n = max(n, int(counts[certain].sum()))
        return _levels_pps(codes, weight, certain, counts, n)

    def to_record(self) -> dict[str, Any]:
        """The policy name and every parameter."""
        return {
            "name": self.name,
            "class_weights": {k or "unclassified": v for k, v in self.class_weights},
            "blacklisted": self.blacklisted,
            "serious_violation": self.serious_violation,
            "complaint": self.complaint,
            "complaint_cap": self.complaint_cap,
            "certain": list(self.certain),
        }


def capped_pps(
    weights: npt.NDArray[np.int64], n: int, certain: npt.NDArray[np.bool_] | None = None
) -> Design:
    """Exact πps probabilities from positive integer weights, capped at 1.

    ``certain`` entities get ``π = 1``; the other ``m = n - #certain`` places are
    shared in proportion to weight. If the ``k`` heaviest remaining entities
    would get ``π >= 1`` they are made certain too, where ``k`` is the smallest
    number for which the ``(k+1)``-th heaviest satisfies
    ``(m - k) * w_(k+1) <= W_k`` (``W_k``: the weight left after removing the
    ``k`` heaviest). This is the fixed point of R's iterative
    ``inclusionprobabilities``, found in one vectorized pass. The grid is
    ``D = W_k`` and ``p_i = (m - k) * w_i`` for the uncapped: no rounding at all.
    """
    w = np.asarray(weights, dtype=np.int64)
    size = w.shape[0]
    if size and int(w.min()) < 1:
        bad = int(np.flatnonzero(w < 1)[0])
        raise PolicyError(f"weights must be positive integers; position {bad} has {w[bad]}")
    fixed = None if certain is None or not certain.any() else certain.copy()
    c = 0 if fixed is None else int(fixed.sum())
    n = max(n, c)
    _check_n(n, size)
    m = n - c
    if m == 0:
        return Design(np.zeros(size, np.int64) if fixed is None else fixed.astype(np.int64), 1, n)
    rest = w if fixed is None else w[~fixed]
    total = int(rest.sum())
    k = 0
    if m * int(rest.max()) > total:
        # Capping is needed: only the m heaviest can be capped.
        top = np.argpartition(-rest, m - 1)[:m] if m < rest.size else np.arange(rest.size)
        top = top[np.argsort(-rest[top], kind="stable")]
        heavy = rest[top]
        removed = np.concatenate(([0], np.cumsum(heavy[:-1])))
        ok = (m - np.arange(m)) * heavy <= total - removed
        k = int(np.argmax(ok))  # ok[m-1] holds whenever m <= len(rest)
        if k:
            if fixed is None:
                fixed = np.zeros(size, dtype=bool)
            fixed[np.flatnonzero(~fixed)[top[:k]]] = True
            total -= int(removed[k])
    scale = m - k
    if n * total >= _GRID_LIMIT:
        raise PolicyError(
            f"the weights are too large for an exact grid (n * D = {n * total} >= 2**62); "
            "use smaller integers"
        )
    p = w * scale
    if fixed is not None:
        p[fixed] = total
    return Design(p, total, n)


def _levels_pps(
    codes: npt.NDArray[np.integer[Any]],
    weight: npt.NDArray[np.int64],
    certain: npt.NDArray[np.bool_],
    counts: npt.NDArray[np.intp],
    n: int,
) -> Design:
    """:func:`capped_pps` when entities come in levels of equal weight and certainty.

    Capping goes a level at a time, heaviest first: entities of equal weight
    are capped together or not at all (see :func:`capped_pps`), so the result
    is identical, computed on the levels rather than the entities.
    """
    m = n - int(counts[certain].sum())
    if m == 0:
        return Design.from_levels(codes, certain.astype(np.int64), 1, n)
    free = ~certain & (counts > 0)
    total = int((counts[free] * weight[free]).sum())
    capped = certain.copy()
    k = 0
    for level in np.flatnonzero(free)[np.argsort(-weight[free], kind="stable")].tolist():
        if (m - k) * int(weight[level]) <= total:
            break
        capped[level] = True
        k += int(counts[level])
        total -= int(counts[level]) * int(weight[level])
    if n * total >= _GRID_LIMIT:
        raise PolicyError(
            f"the weights are too large for an exact grid (n * D = {n * total} >= 2**62); "
            "use smaller integers"
        )
    table = np.where(capped, total, (m - k) * weight)
    return Design.from_levels(codes, table, total, n)


def policy_from_record(record: Mapping[str, Any] | str) -> Policy:
    """Rebuild a policy from :meth:`Policy.to_record` output or a bare name."""
    if isinstance(record, str):
        record = {"name": record}
    data = dict(record)
    name = str(data.pop("name", "")).strip().lower().replace("_", "-")
    if name in ("proportional", "", "equal", "等概率", "等比例", "比例抽取"):
        return Proportional()
    if name in ("risk-weighted", "riskweighted", "risk", "风险加权", "按风险加权"):
        classes = data.pop("class_weights", None)
        if classes is not None:
            classes = {("" if k == "unclassified" else k): v for k, v in classes.items()}
        return RiskWeighted(class_weights=classes, **data)
    if name in ("class-stratified", "classstratified", "stratified"):
        from .plan import plan_policy_from_record

        return plan_policy_from_record({**data, "name": name})
    raise PolicyError(
        f"unknown policy {name!r}: use 'proportional', 'risk-weighted' or 'class-stratified'"
    )
