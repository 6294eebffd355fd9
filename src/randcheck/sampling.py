"""Fixed-size πps sampling over exact inclusion probabilities.

:func:`systematic` is randcheck's sampler: randomized systematic sampling on an
integer grid (docs/spec.md, "Drawing an item").

1. Order the ``N`` entities by a 16-bit key read from the ``order`` sub-stream,
   ties broken by canonical position.
2. Read a start ``u`` uniform in ``[0, D)`` from the ``start`` sub-stream.
3. Lay the numerators ``p_i`` end to end in that order; the entity whose
   interval holds ``u + j*D`` is drawn, for ``j = 0 … n-1``.

Because ``0 <= p_i <= D``, no entity is hit twice, exactly ``n`` are drawn, and
since ``u`` is uniform and independent of the order, entity ``i`` is drawn with
probability exactly ``p_i / D`` whatever the order. The random order gives every
pair of entities a positive chance to be drawn together. Everything is integer
arithmetic, so there is no rounding to drift.

:func:`reference_systematic` is the same algorithm in plain Python, for tests
and for porting.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .policies import Design
from .stream import ReferenceStream, Stream

__all__ = ["random_order", "reference_systematic", "systematic"]


def _sorted_keys(
    stream: Stream, size: int, payload: npt.NDArray[np.uint8] | None = None
) -> npt.NDArray[np.uint64]:
    """``key << 48 | position << 8 | payload``, sorted: (key, position) order.

    Positions are unique, so the payload below them never decides the order,
    and any sort algorithm gives the same result.
    """
    if size >= 1 << 40:
        raise ValueError("a frame of 2**40 entities or more is not supported")
    packed = np.frombuffer(stream.prefix(2 * size), dtype=">u2").astype(np.uint64)
    packed <<= np.uint64(48)
    positions = np.arange(size, dtype=np.uint64)
    positions <<= np.uint64(8)
    packed |= positions
    if payload is not None:
        packed |= payload
    packed.sort()
    return packed


def random_order(stream: Stream, size: int) -> npt.NDArray[np.intp]:
    """Positions ``0 … size-1`` sorted by (16-bit key, position).

    The key of position ``i`` is bytes ``2i, 2i+1`` of ``stream``, big-endian.
    """
    packed = _sorted_keys(stream, size)
    packed >>= np.uint64(8)
    packed &= np.uint64((1 << 40) - 1)
    return packed.view(np.int64).astype(np.intp, copy=False)


def systematic(
    design: Design, order_stream: Stream, start_stream: Stream
) -> tuple[npt.NDArray[np.intp], int]:
    """Draw ``design.n`` positions with probabilities exactly ``design``.

    Returns the drawn positions, sorted, and the start ``u`` (recorded so that
    observers can follow the draw by hand).
    """
    n = design.n
    if n == 0:
        return np.zeros(0, dtype=np.intp), 0
    levels = design.levels
    few_levels = levels is not None and levels[1].size <= 256
    if levels is not None and few_levels:
        # Few levels: carry each entity's level code inside the sort key, so the
        # numerators come out in order without a random-access gather.
        codes, table = levels
        packed = _sorted_keys(order_stream, len(design), codes.astype(np.uint8, copy=False))
        ends = np.cumsum(table[(packed & np.uint64(0xFF)).astype(np.uint8)])
    else:
        order = random_order(order_stream, len(design))
        ends = np.cumsum(design.numerators[order])
    den = design.denominator
    u = start_stream.below(den)
    points = u + den * np.arange(n, dtype=np.int64)
    hit = np.searchsorted(ends, points, side="right")
    if few_levels:
        chosen = ((packed[hit] >> np.uint64(8)) & np.uint64((1 << 40) - 1)).astype(np.intp)
    else:
        chosen = order[hit]
    chosen.sort()
    return chosen, u


def reference_systematic(
    numerators: list[int],
    denominator: int,
    order_stream: ReferenceStream,
    start_stream: ReferenceStream,
) -> list[int]:
    """:func:`systematic` in plain Python, transcribed from docs/spec.md."""
    size = len(numerators)
    total = sum(numerators)
    n = total // denominator
    if n == 0:
        return []
    order = sorted(range(size), key=lambda i: (order_stream.key16(i), i))
    u = start_stream.below(denominator)
    chosen = []
    cumulative = 0
    j = 0
    for position in order:
        low, cumulative = cumulative, cumulative + numerators[position]
        while j < n and low <= u + j * denominator < cumulative:
            chosen.append(position)
            j += 1
    return sorted(chosen)
