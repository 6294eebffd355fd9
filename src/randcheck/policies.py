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


@attrs.frozen(eq=False)
class Design:
    """Exact inclusion probabilities ``π_i = numerators[i] / denominator``.

    ``n`` is the fixed sample size; ``sum(numerators) == n * denominator``.
    """

    numerators: npt.NDArray[np.int64]
    denominator: int
    n: int

    def __attrs_post_init__(self) -> None:
        p = self.numerators
        if p.size and (int(p.min()) < 0 or int(p.max()) > self.denominator):
            raise PolicyError("inclusion probabilities must lie in [0, 1]")
        if self.n * self.denominator >= _GRID_LIMIT:
            raise PolicyError(
                f"the probability grid is too fine (n*D = {self.n * self.denominator}); "
                "use smaller integer weights"
            )
        if int(p.sum()) != self.n * self.denominator:
            raise PolicyError(
                f"inclusion probabilities sum to {p.sum()}/{self.denominator}, not n = {self.n}"
            )

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

    def weights(self, entities: EntityPool) -> npt.NDArray[np.int64]:
        """The integer risk weight of each entity, in canonical order."""
        table = dict(self.class_weights)
        by_class = np.array([table[c] for c in ("", "A", "B", "C", "D")], dtype=np.int64)
        cap = self.complaint_cap
        # Every combination of the risk facts, as one small code per entity:
        # code = (credit + 1) + 5*blacklisted + 10*serious + 20*min(complaints, cap).
        combos = np.arange(5 * 2 * 2 * (cap + 1))
        lookup = (
            by_class[combos % 5]
            + self.blacklisted * (combos // 5 % 2)
            + self.serious_violation * (combos // 10 % 2)
            + self.complaint * (combos // 20)
        )
        dtype = np.uint8 if lookup.size <= 256 else np.int32
        code = (entities.credit_codes + 1).astype(dtype)
        code += entities.blacklisted.view(np.uint8).astype(dtype) * dtype(5)
        code += entities.serious_violation.view(np.uint8).astype(dtype) * dtype(10)
        complaints = np.minimum(entities.verified_complaints, cap)
        code += complaints.astype(dtype) * dtype(20)
        return lookup[code]

    def certain_mask(self, entities: EntityPool) -> npt.NDArray[np.bool_]:
        """Entities that a ``certain`` fact forces into the sample."""
        mask = np.zeros(len(entities), dtype=bool)
        for fact in self.certain:
            if fact == "blacklisted":
                mask |= entities.blacklisted
            elif fact == "serious_violation":
                mask |= entities.serious_violation
            elif fact == "verified_complaints":
                mask |= entities.verified_complaints > 0
            else:
                mask |= entities.credit_codes == 3
        return mask

    def design(
        self, entities: EntityPool, n: int, weights: npt.NDArray[np.int64] | None = None
    ) -> Design:
        """Exact capped πps probabilities (see the class docstring).

        ``weights`` replaces :meth:`weights` (a station plugin's adjusted weights).
        """
        _check_n(n, len(entities))
        certain = self.certain_mask(entities)
        n = max(n, int(certain.sum()))
        return capped_pps(self.weights(entities) if weights is None else weights, n, certain)

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
    raise PolicyError(f"unknown policy {name!r}: use 'proportional' or 'risk-weighted'")
