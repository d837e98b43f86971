"""``ok.Problem``: a single-level problem written in cvxpy's algebra.

    prob = ok.Problem(cp.Minimize(f), [constraints...])
    prob = ok.Problem.from_cvxpy(cp_problem)      # or ok.Problem(cp_problem): the user's object kept

The problem is classified on construction (lp, qp, milp, miqp, conic, nlp; otherwise a clear
UnsupportedProblemError) and its constant data are checked for NaN/inf (in time linear in the
data: sparse constants on their stored entries). It compiles on demand to a LinearForm
(:mod:`optkit.ir.cvxpy_linear`: read directly from the expressions in O(nnz), or through cvxpy's
canonicalisation for other structure) or an NLPForm (cvxpy's DNLP engine). The compiled
LinearForm is kept; before each solve its parameter-dependent data are re-applied when a
``cp.Parameter`` value changed (never a stale cache; see docs/parameters.md). Starting points are
``{variable: value}``. Maximisation is solved as minimisation of −f and reported back as the
maximum.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError, InvalidProblemError
from ..results import Result
from .base import Model
from .checks import first_nonfinite as _first_nonfinite
from .classify import classify


def _check_constants(problem) -> None:
    """NaN or ±inf in any constant or parameter value → DataError naming the expression.

    Linear in the size of the data: each distinct constant/parameter is checked once (sparse
    constants on their stored entries), and the message (which prints the constraint) is built
    only when an entry is bad.
    """
    seen: set[int] = set()
    parts = [problem.objective] + list(problem.constraints)
    for pos, expr in enumerate(parts):
        params = expr.parameters()
        for const in expr.constants() + params:
            if id(const) in seen:
                continue
            seen.add(id(const))
            val = const.value
            if val is None:
                if any(const is q for q in params):
                    raise InvalidProblemError(f"parameter {const.name()} in the "
                                              f"{_where(parts, pos)} has no value")
                continue
            bad = _first_nonfinite(val)
            if bad is not None:
                idx, v = bad
                where = _where(parts, pos)
                raise DataError(f"the {where} contains a constant with {v} at index {idx}",
                                source=where, entry=str(idx))


def _where(parts: list, pos: int) -> str:
    """'objective' or 'constraint i (text)': built only for an error message."""
    return "objective" if pos == 0 else f"constraint {pos - 1} ({parts[pos]})"


class Problem(Model):
    """A cvxpy problem with optkit's classification, compilation and result mapping."""

    def __init__(self, objective, constraints: list | None = None, name: str | None = None):
        import time

        import cvxpy as cp

        t0 = time.perf_counter()
        if isinstance(objective, cp.Problem):  # the user's own problem object, kept as is
            if constraints is not None:
                raise InvalidProblemError("give either a cp.Problem or an objective and "
                                          "constraints, not both")
            problem = objective
        else:
            if not isinstance(objective, (cp.Minimize, cp.Maximize)):
                raise InvalidProblemError("objective must be cp.Minimize(...) or cp.Maximize(...) "
                                          f"(or a cp.Problem), got {type(objective).__name__}")
            constraints = list(constraints or [])
            for i, c in enumerate(constraints):
                if not isinstance(c, cp.constraints.constraint.Constraint):
                    raise InvalidProblemError(f"constraint {i} is a {type(c).__name__}, not a "
                                              f"cvxpy constraint (did a comparison evaluate to a "
                                              f"bool?)")
            problem = cp.Problem(objective, constraints)
        #: the cvxpy problem (the user's own object when built with :meth:`from_cvxpy`)
        self.cvxpy_problem = problem
        self.name = name or "problem"
        _check_constants(problem)
        self.problem_class, self.kinds = classify(problem)
        self._linear = None
        #: seconds spent constructing (checking and classifying) the model; the first solve
        #: that follows adds it to its timings["model"] and timings["total"]
        self.build_time = self._pending_build_time = time.perf_counter() - t0

    @classmethod
    def from_cvxpy(cls, problem, name: str | None = None) -> Problem:
        """Wrap the user's ``cp.Problem`` itself (not a copy), so cvxpy's own caches on it
        (its compiled chain, its parametrised program) are the ones reused."""
        import cvxpy as cp

        if not isinstance(problem, cp.Problem):
            raise InvalidProblemError(f"from_cvxpy needs a cp.Problem, got {type(problem).__name__}")
        return cls(problem, name=name)

    # ------------------------------------------------------------------ access
    @property
    def objective(self):
        """The cvxpy objective."""
        return self.cvxpy_problem.objective

    @property
    def constraints(self) -> list:
        """The cvxpy constraints."""
        return self.cvxpy_problem.constraints

    def variables(self) -> list:
        """The cvxpy variables."""
        return self.cvxpy_problem.variables()

    def size_hint(self) -> int:
        """Number of scalar variables."""
        return int(sum(v.size for v in self.variables()))

    @property
    def sense(self) -> int:
        """+1 for minimisation, −1 for maximisation."""
        import cvxpy as cp

        return -1 if isinstance(self.objective, cp.Maximize) else 1

    def check_x0(self, x0: Any) -> dict | None:
        """Validate a start ``{variable: value}``: known variables, right shapes, finite values."""
        if x0 is None:
            return None
        if not isinstance(x0, dict):
            raise InvalidProblemError("x0 for a cvxpy problem must be a dict {variable: value}")
        ids = {v.id for v in self.variables()}
        out = {}
        for var, val in x0.items():
            if getattr(var, "id", None) not in ids:
                raise InvalidProblemError(f"x0 names {var}, which is not a variable of this problem")
            arr = np.asarray(val, dtype=float)
            try:
                arr = np.broadcast_to(arr, var.shape)
            except ValueError:
                raise InvalidProblemError(f"x0 for {var.name()} has shape {arr.shape}, "
                                          f"expected {var.shape}") from None
            if not np.all(np.isfinite(arr)):
                raise InvalidProblemError(f"x0 for {var.name()} has a non-finite entry")
            out[var] = arr
        return out

    # ------------------------------------------------------------------ compile
    def compile(self, kind: str, x0: Any = None):
        """LinearForm ('linear': compiled once, parameter-dependent data re-applied when a
        parameter changed) or NLPForm ('nlp', built at the start point x0)."""
        if kind == "linear":
            if self._linear is None:
                from ..ir.cvxpy_linear import compile_linear

                self._linear = compile_linear(self.cvxpy_problem, name=self.name)
            else:  # re-apply parameter-dependent data whose parameters changed (cheap if none)
                self._linear.refresh()
            return self._linear
        if kind == "nlp":
            from ..ir.cvxpy_nlp import compile_nlp

            if "nlp" not in self.kinds and self.problem_class not in ("lp", "qp"):
                raise InvalidProblemError(f"a {self.problem_class} problem has no NLP form")
            return compile_nlp(self.cvxpy_problem, self.check_x0(x0), name=self.name)
        raise ValueError(f"unknown form kind {kind!r}")

    def bind(self, result: Result, compiled) -> Result:
        """Objective in user units, and value()/dual() by cvxpy variable and constraint."""
        if result.x is not None:
            x = np.asarray(result.x, float)
            form = compiled.form
            raw = form.objective(x) if hasattr(form, "objective") else form.f_fn(x)
            result.objective = float(self.sense * raw)
            # mapped back on first use only (a re-solve loop that reads the objective pays nothing)
            values = _Lazy(lambda: compiled.values(x))
            result._values = lambda var: _lookup(values.get(), var, "variable")
            if result.y is not None:
                y = np.asarray(result.y, float)
                duals = _Lazy(lambda: compiled.duals(x, y))
                result._duals = lambda con: _lookup(duals.get(), con, "constraint")
            else:
                result._duals = lambda con: None
        else:
            result._values = lambda var: None
            result._duals = lambda con: None
        return result


class _Lazy:
    """A value computed on the first ``get()`` and kept."""

    def __init__(self, make):
        self._make, self._value, self._done = make, None, False

    def get(self):
        if not self._done:
            self._value, self._done = self._make(), True
        return self._value


def _lookup(table: dict, item, what: str):
    key = getattr(item, "id", None)
    if key is None:
        raise TypeError(f"expected a cvxpy {what}, got {type(item).__name__}")
    if key not in table:
        return None
    val = table[key]
    return float(val) if np.ndim(val) == 0 else np.asarray(val)
