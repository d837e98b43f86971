"""Exceptions raised by optkit. Every message names what is wrong and where."""
from __future__ import annotations


class OptkitError(Exception):
    """Base class of optkit's errors."""


class InvalidProblemError(OptkitError, ValueError):
    """The problem data are malformed: NaN/inf where a finite number is needed, wrong shapes, ..."""


class DataError(InvalidProblemError):
    """Bad numbers in problem data, located by ``source`` (file or expression) and ``entry``."""

    def __init__(self, message: str, source: str | None = None, entry: str | None = None):
        self.source = source
        self.entry = entry
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{message}")


class ReadError(InvalidProblemError):
    """A model file could not be read (not MPS/LP, truncated, missing)."""


class ReadTimeoutError(ReadError, TimeoutError):
    """Reading a model file did not finish within its time limit (the reader was stopped)."""


class UnsupportedProblemError(OptkitError, ValueError):
    """The problem uses a construct optkit (or the chosen backend) does not support."""


class UnknownSolverError(OptkitError, KeyError):
    """No backend of that name is registered."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class SolverUnavailableError(OptkitError, RuntimeError):
    """The backend is registered but its native library is not installed."""


class MissingExtraError(OptkitError, ImportError):
    """A feature needs an optional dependency that is not installed; the message names the pip
    extra that brings it (raised by :func:`optkit.extras.require`)."""


class OptionError(OptkitError, ValueError):
    """An unknown or ill-typed solve option."""


class NotSolvedError(OptkitError, RuntimeError):
    """Raised by ``Result.raise_if_not_solved()`` when the caller asks for it."""
