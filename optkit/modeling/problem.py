"""``ok.Problem``: a single-level problem written in cvxpy's algebra.

    prob = ok.Problem(cp.Minimize(f), [constraints...])

The problem is classified on construction (lp, qp, milp, miqp, conic, nlp; otherwise a clear
UnsupportedProblemError) and its constant data are checked for NaN/inf. It compiles to a
LinearForm (cvxpy's canonicalisation) or an NLPForm (cvxpy's DNLP engine) on demand. Starting
points are ``{variable: value}``. Maximisation is solved as minimisation of −f and reported back
as the maximum.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError, InvalidProblemError
from ..results import Result
from .base import Model
from .classify import classify


def _check_constants(problem) -> None:
    """NaN or ±inf in any constant or parameter value → DataError naming the expression."""
    for where, expr in [("objective", problem.objective)] + [
            (f"constraint {i} ({c})", c) for i, c in enumerate(problem.constraints)]:
        for const in expr.constants() + expr.parameters():
            val = const.value
            if val is None:
                if const in expr.parameters():
                    raise InvalidProblemError(f"parameter {const.name()} in the {where} has no value")
                continue
            arr = val.toarray() if hasattr(val, "toarray") else np.asarray(val, dtype=float)
            bad = np.argwhere(~np.isfinite(arr))
            if bad.size:
                idx = tuple(int(i) for i in bad[0])
                raise DataError(f"the {where} contains a constant with {arr[idx]} at index {idx}",
                                source=where, entry=str(idx))


class Problem(Model):
    """A cvxpy problem with optkit's classification, compilation and result mapping."""

    def __init__(self, objective, constraints: list | None = None, name: str | None = None):
        import time

        import cvxpy as cp

        t0 = time.perf_counter()

        if not isinstance(objective, (cp.Minimize, cp.Maximize)):
            raise InvalidProblemError("objective must be cp.Minimize(...) or cp.Maximize(...), "
                                      f"got {type(objective).__name__}")
        constraints = list(constraints or [])
        for i, c in enumerate(constraints):
            if not isinstance(c, cp.constraints.constraint.Constraint):
                raise InvalidProblemError(f"constraint {i} is a {type(c).__name__}, not a cvxpy "
                                          f"constraint (did a comparison evaluate to a bool?)")
        self.cvxpy_problem = cp.Problem(objective, constraints)
        self.name = name or "problem"
        _check_constants(self.cvxpy_problem)
        self.problem_class, self.kinds = classify(self.cvxpy_problem)
        self._linear = None
        #: seconds spent constructing (checking and classifying) the model; the first solve
        #: that follows adds it to its timings["model"] and timings["total"]
        self.build_time = self._pending_build_time = time.perf_counter() - t0

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
        """LinearForm ('linear', cached) or NLPForm ('nlp', built at the start point x0)."""
        if kind == "linear":
            if self._linear is None:
                from ..ir.cvxpy_linear import compile_linear

                self._linear = compile_linear(self.cvxpy_problem, name=self.name)
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
            values = compiled.values(x)
            result._values = lambda var: _lookup(values, var, "variable")
            if result.y is not None:
                duals = compiled.duals(x, np.asarray(result.y, float))
                result._duals = lambda con: _lookup(duals, con, "constraint")
            else:
                result._duals = lambda con: None
        else:
            result._values = lambda var: None
            result._duals = lambda con: None
        return result


def _lookup(table: dict, item, what: str):
    key = getattr(item, "id", None)
    if key is None:
        raise TypeError(f"expected a cvxpy {what}, got {type(item).__name__}")
    if key not in table:
        return None
    val = table[key]
    return float(val) if np.ndim(val) == 0 else np.asarray(val)
