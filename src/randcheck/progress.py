"""A tiny progress bar for long loops (statistical audits, big pools).

:func:`progress` wraps an iterable and, while it is consumed, redraws one line
on standard error::

    inclusion audit [##########----------]  50% 10,000/20,000

It prints only when standard error is a terminal (or when asked to), so logs,
CI output and captured test output stay clean. It never changes what the loop
yields.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Sized
from typing import TextIO, TypeVar

__all__ = ["progress"]

T = TypeVar("T")

_WIDTH = 24
_INTERVAL = 0.1


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _line(desc: str, done: int, total: int | None) -> str:
    label = f"{desc} " if desc else ""
    if total is None or total <= 0:
        return f"\r{label}{done:,}"
    filled = min(_WIDTH, _WIDTH * done // total)
    bar = "#" * filled + "-" * (_WIDTH - filled)
    return f"\r{label}[{bar}] {100 * done // total:3d}% {done:,}/{total:,}"


def progress(
    iterable: Iterable[T],
    total: int | None = None,
    desc: str = "",
    enabled: bool | None = None,
    *,
    file: TextIO | None = None,
) -> Iterator[T]:
    """Yield from ``iterable``, drawing a progress bar on standard error.

    Parameters
    ----------
    iterable
        What to loop over; its items are yielded unchanged.
    total
        Number of items, for the bar and percentage; taken from ``len(iterable)``
        when it has one. Without it only a count is shown.
    desc
        A short label in front of the bar.
    enabled
        ``None`` (default): draw only when the output stream is a terminal.
        ``True``/``False``: always / never draw.
    file
        The stream to draw on (default: ``sys.stderr``).

    Yields
    ------
    T
        The items of ``iterable``.

    Examples
    --------
    >>> sum(progress(range(3), desc="counting", enabled=False))
    3
    """
    stream = file if file is not None else sys.stderr
    show = _is_terminal(stream) if enabled is None else enabled
    if not show:
        yield from iterable
        return
    if total is None and isinstance(iterable, Sized):
        total = len(iterable)
    done = 0
    last = 0.0
    stream.write(_line(desc, 0, total))
    stream.flush()
    try:
        for value in iterable:
            yield value
            done += 1
            now = time.monotonic()
            if now - last >= _INTERVAL:
                last = now
                stream.write(_line(desc, done, total))
                stream.flush()
    finally:
        stream.write(_line(desc, done, total) + "\n")
        stream.flush()
