"""Every exception randcheck raises on purpose derives from :class:`RandcheckError`.

Errors about input say *where* the problem is (file, row, column, id) and *what*
is wrong, so that a command-line user sees one clear line and a library user can
inspect the fields.
"""

from __future__ import annotations

__all__ = [
    "DuplicateIdError",
    "InfeasibleAssignment",
    "InputError",
    "LedgerError",
    "LoaderError",
    "PolicyError",
    "RandcheckError",
    "SeedError",
    "VerificationError",
]


class RandcheckError(Exception):
    """Base class of every error randcheck raises on purpose."""


class InputError(RandcheckError, ValueError):
    """Bad input data: a record, a file row, a parameter.

    ``source``, ``row``, ``column`` and ``id`` locate the problem where they are
    known; ``str(error)`` puts them in front of the message.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
        id: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.row = row
        self.column = column
        self.id = id
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.source is not None:
            where.append(str(self.source))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.id is not None:
            where.append(f"id {self.id!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class DuplicateIdError(InputError):
    """Two records of one pool share an id (after Unicode NFC and trimming)."""


class LoaderError(InputError):
    """A register file could not be loaded; ``problems`` lists every problem found."""

    def __init__(self, message: str, *, problems: tuple[object, ...] = (), **where: object) -> None:
        self.problems = tuple(problems)
        super().__init__(message, **where)  # type: ignore[arg-type]


class PolicyError(RandcheckError, ValueError):
    """A draw policy was given parameters it cannot honour."""


class SeedError(RandcheckError, ValueError):
    """Seed material that cannot be canonicalized (a float, an empty seed, …)."""


class VerificationError(RandcheckError):
    """A published draw record does not replay from the given inputs.

    ``differences`` lists what differs, one human-readable line each.
    """

    def __init__(self, message: str, differences: tuple[str, ...] = ()) -> None:
        self.differences = tuple(differences)
        text = message if not differences else message + ":\n  " + "\n  ".join(differences)
        super().__init__(text)


class InfeasibleAssignment(RandcheckError):  # noqa: N818 - the name users search for
    """No valid inspector assignment exists; the message names the bottleneck."""


class LedgerError(RandcheckError):
    """The ledger refused an operation, or failed verification."""
