"""``BilevelResult``: a :class:`~optkit.results.Result` with both levels' measures.

Fields added to Result:

- ``upper_objective`` F(x, y) and ``lower_objective`` f(x, y) in user units (sense restored);
- ``lower_value`` v(x) = min_y {f(x, y) : lower constraints} from an independent lower-level solve
  at the returned x (cvxpy's default conic/QP solver when the lower level is convex, else an NLP
  backend), and ``lower_gap`` = f(x, y) − v(x) in minimisation units (≥ 0 up to solver accuracy;
  +inf when the lower level is infeasible at x, and v = −inf when it is unbounded);
- ``upper_feasibility`` and ``lower_feasibility``: max constraint violations of each level.

``objective`` is the upper objective. ``primal_status`` is FEASIBLE when both levels' constraints
hold within 1e-6·(1+scale) and the lower gap is at most ``gap_tol`` (1e-5·(1+|v|)), NEARLY_FEASIBLE
within 100 times that, INFEASIBLE otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..results import Result
from ..status import PrimalStatus


@dataclass(repr=False)
class BilevelResult(Result):
    """Result of a bilevel solve (see module docstring)."""

    upper_objective: float | None = None
    lower_objective: float | None = None
    lower_value: float | None = None
    lower_gap: float | None = None
    upper_feasibility: float | None = None
    lower_feasibility: float | None = None

    def __repr__(self) -> str:
        def fmt(v):
            return "n/a" if v is None else f"{v:.6g}"
        return (f"BilevelResult(solver={self.solver!r}, termination={self.termination}, "
                f"primal_status={self.primal_status}, F={fmt(self.upper_objective)}, "
                f"f={fmt(self.lower_objective)}, gap={fmt(self.lower_gap)}, "
                f"iterations={self.iterations})")

    def to_dict(self, arrays: bool = False) -> dict:
        """Result.to_dict plus the bilevel measures."""
        out = super().to_dict(arrays)
        for k in ("upper_objective", "lower_objective", "lower_value", "lower_gap",
                  "upper_feasibility", "lower_feasibility"):
            val = getattr(self, k)
            out[k] = None if val is None else float(val)
        return out


def lower_value(model, v: np.ndarray, relax: float | None = None) -> tuple[float, str]:
    """v(x) in minimisation units at the x part of v, by an independent lower-level solve.

    Returns (value, how): −inf for an unbounded and +inf for an infeasible lower level, NaN when
    no solver could decide. When the lower level is infeasible at x only by rounding (x on the
    edge of its domain, e.g. where two lower constraints pinch y to a point), it is solved again
    with the inequalities relaxed by 1e-7·(1 + ‖v‖∞) and ``how`` says "relaxed".
    """
    val, how = _lower_value(model, v, 0.0)
    if relax is None:
        relax = 1e-7 * (1.0 + float(np.max(np.abs(v), initial=0.0)))
    if val == math.inf and relax > 0:
        val2, how2 = _lower_value(model, v, relax)
        if math.isfinite(val2):
            return val2, how2 + " (relaxed by %.1e)" % relax
    return val, how


def _lower_value(model, v: np.ndarray, relax: float) -> tuple[float, str]:
    prob = model.lower_problem(v, relax=relax)
    sense = model.lower.sense
    try:
        if prob.is_dcp():
            how = "cvxpy/" + solve_convex(prob)
        else:
            from ..solve import solve

            res = solve(prob, "ipopt" if _has("ipopt") else "scipy", tol=1e-9)
            if res.objective is None:
                return math.nan, f"nlp: {res.termination}"
            return sense * float(res.objective), "nlp (local)"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return math.nan, f"failed: {type(exc).__name__}: {exc}"
    status = prob.status
    if status in ("unbounded", "unbounded_inaccurate"):
        return -math.inf, how
    if status in ("infeasible", "infeasible_inaccurate"):
        return math.inf, how
    if prob.value is None:
        return math.nan, f"{how}: {status}"
    return sense * float(prob.value), how


def solve_convex(prob) -> str:
    """Solve a DCP cvxpy problem, trying cvxpy's default, then HiGHS, Clarabel, SCS; the name used."""
    import cvxpy as cp

    last = None
    for solver in (None, "HIGHS", "CLARABEL", "SCS"):
        if solver is not None and solver not in cp.installed_solvers():
            continue
        try:
            prob.solve(solver=solver)
            if prob.status in ("optimal", "infeasible", "unbounded"):
                return solver or "default"
        except (cp.SolverError, ValueError) as exc:  # try the next solver
            last = exc
    if prob.status is None and last is not None:
        raise last
    return "fallback"


def _has(name: str) -> bool:
    from .. import registry

    try:
        return registry.get(name).is_available()
    except Exception:  # noqa: BLE001
        return False


def finish(model, v: np.ndarray | None, result: BilevelResult, measure_gap: bool = True,
           gap_tol: float = 1e-5) -> BilevelResult:
    """Fill objectives, feasibilities, lower gap, primal status and the variable map at v."""
    d = model.data()
    if v is None or not np.all(np.isfinite(v)):
        result.primal_status = PrimalStatus.NO_SOLUTION
        result._values = lambda var: None
        return result
    v = np.asarray(v, float)
    result.x = v
    vals = d.index.values(v)
    by_id = {var.id: val for var, val in vals.items()}
    result._values = lambda var: by_id.get(getattr(var, "id", None))
    Fmin, fmin = d.F.value(v), d.f.value(v)
    result.upper_objective = model.upper.sense * Fmin
    result.lower_objective = model.lower.sense * fmin
    result.objective = result.upper_objective
    result.upper_feasibility = d.upper_feasibility(v)
    result.lower_feasibility = d.lower_feasibility(v)
    if measure_gap:
        val, how = lower_value(model, v)
        result.lower_value = None if math.isnan(val) else model.lower.sense * val
        result.lower_gap = fmin - val if not math.isnan(val) else None
        result.extra["lower_value_by"] = how
    scale = 1.0 + min(float(np.max(np.abs(v), initial=0.0)), 1e6)
    feas = max(result.upper_feasibility, result.lower_feasibility)
    gap = result.lower_gap
    gtol = gap_tol * (1.0 + abs(fmin))
    if result.lower_value is not None and model.lower.sense * result.lower_value == math.inf:
        result.primal_status = PrimalStatus.INFEASIBLE  # no lower-level solution at this x
    elif gap is not None and math.isinf(gap) and gap > 0:
        result.primal_status = PrimalStatus.INFEASIBLE
    elif feas <= 1e-6 * scale and (gap is None or gap <= gtol):
        result.primal_status = PrimalStatus.FEASIBLE
    elif feas <= 1e-4 * scale and (gap is None or gap <= 100 * gtol):
        result.primal_status = PrimalStatus.NEARLY_FEASIBLE
    else:
        result.primal_status = PrimalStatus.INFEASIBLE
    result.kkt = {"feasibility": feas, "lower_gap": gap}
    return result
