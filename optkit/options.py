"""The one options vocabulary every backend understands.

``tol`` (optimality/KKT tolerance, absolute), ``max_iter`` (outer iterations), ``time_limit``
(seconds of wall time), ``verbose``, ``seed``, ``x0`` (start point); ``solver_options`` is passed to the native solver
unchanged. Any other keyword given to :func:`optkit.solve` must be one of the backend's own
declared options (e.g. ``sketch="kaczmarz"`` for sketch-newton), otherwise :class:`OptionError`.
"""
from __future__ import annotations

import math
from types import MappingProxyType
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from .errors import OptionError

COMMON_OPTIONS = ("tol", "max_iter", "time_limit", "verbose", "seed", "solver_options", "x0")


_DEFAULTS: dict = {}


@dataclass(frozen=True)
class SolveOptions:
    """Options common to all backends; ``extra`` holds the backend's own declared options."""

    tol: float | None = None
    max_iter: int | None = None
    time_limit: float | None = None
    verbose: bool = False
    seed: int | None = None
    solver_options: Mapping[str, Any] = field(default_factory=dict)
    x0: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.tol is not None and not (isinstance(self.tol, (int, float)) and self.tol > 0
                                         and math.isfinite(self.tol)):
            raise OptionError(f"tol must be a positive finite number, got {self.tol!r}")
        if self.max_iter is not None and not (isinstance(self.max_iter, int) and self.max_iter >= 0):
            raise OptionError(f"max_iter must be a nonnegative integer, got {self.max_iter!r}")
        if self.time_limit is not None and not (isinstance(self.time_limit, (int, float))
                                                and self.time_limit > 0):
            raise OptionError(f"time_limit must be a positive number of seconds, got {self.time_limit!r}")
        if self.seed is not None and not isinstance(self.seed, int):
            raise OptionError(f"seed must be an integer, got {self.seed!r}")
        if not isinstance(self.solver_options, Mapping):
            raise OptionError("solver_options must be a dict of native solver options")

    def get(self, name: str, default: Any = None) -> Any:
        """A backend-specific option, or ``default`` when not given."""
        return self.extra.get(name, default)

    def with_(self, **changes: Any) -> "SolveOptions":
        """A copy with some fields changed."""
        return replace(self, **changes)

    @classmethod
    def build(cls, backend_name: str, allowed_extra: Mapping[str, Any], kwargs: Mapping[str, Any]
              ) -> "SolveOptions":
        """Split ``kwargs`` into common and backend options, rejecting unknown names.

        ``allowed_extra`` maps each backend option to its default; defaults fill what is missing.
        """
        if not kwargs:  # the common case of a plain solve: one cached default per backend
            key = (backend_name, tuple(sorted((k, repr(v)) for k, v in allowed_extra.items())))
            cached = _DEFAULTS.get(key)
            if cached is None:
                cached = _DEFAULTS[key] = cls(extra=MappingProxyType(dict(allowed_extra)))
            return cached
        common = {k: v for k, v in kwargs.items() if k in COMMON_OPTIONS}
        extra = {k: v for k, v in kwargs.items() if k not in COMMON_OPTIONS}
        unknown = sorted(set(extra) - set(allowed_extra))
        if unknown:
            valid = ", ".join(list(COMMON_OPTIONS) + sorted(allowed_extra))
            raise OptionError(f"unknown option(s) {', '.join(unknown)} for backend "
                              f"'{backend_name}'; valid options: {valid}")
        merged = dict(allowed_extra)
        merged.update(extra)
        return cls(extra=merged, **common)
