"""A monotonic deadline, and the exception raised when it has passed.

A :class:`Deadline` is a point ``t_end`` on the monotonic clock (``time.monotonic``: never set
back, unaffected by changes of the wall-clock time). ``check(where)`` raises
:class:`DeadlineExceeded` once ``time.monotonic() > t_end``; until it is armed (or after it is
disarmed) a deadline never expires, so code can check one unconditionally.

The rule that makes a time limit hold in every in-process backend lives in one place: the compiled
form's oracles call ``form.deadline.check(name)`` *before* each evaluation (and callback NLPs check
before each user call made inside finite differences), so a solver stops at most one oracle call
after the limit; :func:`optkit.solve` arms the deadline from ``time_limit`` and turns the exception
into a ``TIME_LIMIT`` result with the last iterate. Overrun bound: the duration of one oracle call
(one user callback under finite differences) plus the backend's work between two oracle calls.
"""
from __future__ import annotations

import time

__all__ = ["Deadline", "DeadlineExceeded"]


class DeadlineExceeded(Exception):
    """The time limit passed; raised by the first deadline check after it.

    ``limit`` is the time limit in seconds, ``where`` the oracle (or step) that found it passed and
    ``overrun`` how many seconds past the deadline the check ran.
    """

    def __init__(self, limit: float | None, where: str, overrun: float):
        self.limit = limit
        self.where = where
        self.overrun = overrun
        lim = "" if limit is None else f"{limit:g} s "
        super().__init__(f"time limit {lim}reached (checked before the {where} oracle, "
                         f"{overrun:.3g} s past the deadline)")


class Deadline:
    """``t_end`` on the monotonic clock; unarmed (never expires) until :meth:`arm` is called."""

    __slots__ = ("limit", "t_end")

    def __init__(self, seconds: float | None = None, start: float | None = None):
        self.limit: float | None = None
        self.t_end: float | None = None
        if seconds is not None:
            self.arm(seconds, start)

    @classmethod
    def after(cls, seconds: float | None, start: float | None = None) -> Deadline:
        """A deadline ``seconds`` after ``start`` (default: now); unarmed when ``seconds`` is None."""
        return cls(seconds, start)

    def arm(self, seconds: float | None, start: float | None = None) -> Deadline:
        """Expire ``seconds`` after ``start`` (a ``time.monotonic()`` value; default now).
        ``seconds=None`` disarms. Returns self."""
        if seconds is None:
            return self.disarm()
        self.limit = float(seconds)
        self.t_end = (time.monotonic() if start is None else float(start)) + self.limit
        return self

    def disarm(self) -> Deadline:
        """Never expire (again). Returns self."""
        self.limit = self.t_end = None
        return self

    @property
    def armed(self) -> bool:
        """True when a time limit is set."""
        return self.t_end is not None

    def remaining(self) -> float:
        """Seconds left (may be negative); +inf when unarmed."""
        return float("inf") if self.t_end is None else self.t_end - time.monotonic()

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.t_end is not None and time.monotonic() > self.t_end

    def check(self, where: str = "oracle") -> None:
        """Raise :class:`DeadlineExceeded` when the deadline has passed (a no-op when unarmed)."""
        if self.t_end is None:
            return
        now = time.monotonic()
        if now > self.t_end:
            raise DeadlineExceeded(self.limit, where, now - self.t_end)

    def __repr__(self) -> str:
        if self.t_end is None:
            return "Deadline(unarmed)"
        return f"Deadline(limit={self.limit:g} s, remaining={self.remaining():.3g} s)"
