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
from typing import Any
from collections.abc import Mapping

from .errors import OptionError

COMMON_OPTIONS = ("tol", "max_iter", "time_limit", "verbose", "seed", "solver_options", "x0",
                  "feas_tol", "opt_tol", "int_tol")


@dataclass(frozen=True)
class Option:
    """A backend option with its default and typed domain (as Pyomo's ConfigValue).

    ``domain`` is a tuple of allowed values, a type (or tuple of types), or a predicate
    ``callable(value) -> bool``; ``doc`` says what the option does.
    """

    default: Any
    domain: Any = None
    doc: str = ""

    def check(self, backend: str, name: str, value: Any) -> Any:
        """``value`` if it is in the domain, else :class:`OptionError` naming the allowed values."""
        dom = self.domain
        if dom is None:
            return value
        if isinstance(dom, tuple) and dom and not isinstance(dom[0], type):
            if value not in dom:
                raise OptionError(f"option {name} of backend '{backend}' must be one of "
                                  f"{', '.join(map(repr, dom))}; got {value!r}")
            return value
        if isinstance(dom, type) or (isinstance(dom, tuple) and all(isinstance(d, type) for d in dom)):
            types = dom if isinstance(dom, tuple) else (dom,)
            if isinstance(value, bool) and bool not in types:
                ok = False
            else:
                ok = isinstance(value, types)
            if not ok:
                names = " or ".join(t.__name__ for t in types)
                raise OptionError(f"option {name} of backend '{backend}' must be {names}; "
                                  f"got {value!r}")
            return value
        if callable(dom) and not dom(value):
            raise OptionError(f"option {name} of backend '{backend}' got an invalid value "
                              f"{value!r}{': ' + self.doc if self.doc else ''}")
        return value


def option_defaults(declared: Mapping[str, Any]) -> dict:
    """{name: default} of a backend's declared options (plain values are their own default)."""
    return {k: (v.default if isinstance(v, Option) else v) for k, v in declared.items()}


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
    feas_tol: float | None = None
    opt_tol: float | None = None
    int_tol: float | None = None

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
        for name in ("feas_tol", "opt_tol", "int_tol"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool)
                                      and v > 0 and math.isfinite(v)):
                raise OptionError(f"{name} must be a positive finite number, got {v!r}")

    def get(self, name: str, default: Any = None) -> Any:
        """A backend-specific option, or ``default`` when not given."""
        return self.extra.get(name, default)

    def with_(self, **changes: Any) -> SolveOptions:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @classmethod
    def build(cls, backend_name: str, allowed_extra: Mapping[str, Any], kwargs: Mapping[str, Any]
              ) -> SolveOptions:
        """Split ``kwargs`` into common and backend options, rejecting unknown names.

        ``allowed_extra`` maps each backend option to its default; defaults fill what is missing.
        """
        if not kwargs:  # the common case of a plain solve: one cached default per backend
            key = (backend_name, tuple(sorted((k, repr(v)) for k, v in allowed_extra.items())))
            cached = _DEFAULTS.get(key)
            if cached is None:
                cached = _DEFAULTS[key] = cls(extra=MappingProxyType(option_defaults(allowed_extra)))
            return cached
        common = {k: v for k, v in kwargs.items() if k in COMMON_OPTIONS}
        extra = {k: v for k, v in kwargs.items() if k not in COMMON_OPTIONS}
        unknown = sorted(set(extra) - set(allowed_extra))
        if unknown:
            valid = ", ".join(list(COMMON_OPTIONS) + sorted(allowed_extra))
            raise OptionError(f"unknown option(s) {', '.join(unknown)} for backend "
                              f"'{backend_name}'; valid options: {valid}")
        for k, v in extra.items():
            spec = allowed_extra[k]
            if isinstance(spec, Option):
                spec.check(backend_name, k, v)
        merged = option_defaults(allowed_extra)
        merged.update(extra)
        return cls(extra=merged, **common)
