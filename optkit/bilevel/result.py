"""``BilevelResult``: a :class:`~optkit.results.Result` with both levels' measures, and its verdict.

Fields added to Result:

- ``upper_objective`` F(x, y) and ``lower_objective`` f(x, y) in user units (sense restored);
- ``lower_value`` v(x) = min_y {f(x, y) : lower constraints} from an independent lower-level solve
  at the returned x (cvxpy's own default solver when the lower level is DCP with x fixed, else the
  NLP backend the registry ranks first — chosen by capability), and ``lower_gap`` = f(x, y) − v(x)
  in minimisation units (≥ 0 up to solver accuracy; +inf when the lower level is unbounded at x,
  −inf when it is infeasible there);
- ``upper_feasibility`` and ``lower_feasibility``: max absolute constraint violations of each level.

``objective`` is the upper objective. What optkit measures (``kkt``, a
:class:`~optkit.verify.KKTReport`), with the core's tolerances (:class:`~optkit.verify.Tolerances`:
feas_tol = max(1e-6, 10·tol), opt_tol = max(1e-5, 10·tol), overridable per solve):

- ``feasibility_rel`` = max(upper_feasibility_rel, lower_feasibility_rel): every row and bound of
  both levels relative to its own scale, as the core measures single-level rows (a row aᵀv ≤ b
  violated by r counts r / max(‖a‖∞, |b|), a bound r / max(1, |bound|)); judged against feas_tol;
- ``lower_gap_rel`` = max(f − v(x), 0) / (1 + |f|): how far y is from the lower level's optimum at
  x (the bilevel feasibility condition y ∈ S(x)); judged against opt_tol;
- not measured: upper-level stationarity/complementarity (a bilevel program has no checkable
  first-order conditions in general), and the gap itself when ``measure_gap=False``.

``primal_status``: FEASIBLE when feasibility_rel ≤ feas_tol and lower_gap_rel ≤ opt_tol (or the gap
is not measured), NEARLY_FEASIBLE within 100 times both, INFEASIBLE otherwise (and when the lower
level has no solution at x). ``verified`` (only for a claim of (local) optimality): True when both
checks pass, False when one fails (``message`` says which, by how much), None when the gap could
not be measured. ``is_solved()`` is the core's: claim, verified and a (nearly) feasible point. A
non-finite objective at the returned point (NaN produced mid-solve) turns the termination into
NUMERICAL_ERROR, never an OPTIMAL with nan.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..results import Result
from ..status import PrimalStatus, Termination
from ..verify import KKTReport, Tolerances, judge

#: why upper-level KKT quantities are absent from a bilevel report
_NO_UPPER_KKT = ("bilevel: the upper level has no first-order conditions optkit can check "
                 "(the lower-level solution map is not differentiable in general)")


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
                f"primal_status={self.primal_status}, verified={self.verified}, "
                f"F={fmt(self.upper_objective)}, f={fmt(self.lower_objective)}, "
                f"gap={fmt(self.lower_gap)}, iterations={self.iterations})")

    def _repr_html_(self) -> str:
        """Jupyter's view: Result's summary plus both levels' measures (:mod:`optkit.notebook`)."""
        from ..notebook import bilevel_html

        return bilevel_html(self)

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
            return val2, how2 + f" (relaxed by {relax:.1e})"
    return val, how


def _lower_value(model, v: np.ndarray, relax: float) -> tuple[float, str]:
    prob = model.lower_problem(v, relax=relax)
    sense = model.lower.sense
    try:
        if prob.is_dcp():
            how = "convex: " + solve_convex(prob)
        else:
            from .. import registry
            from ..solving import solve

            backend = registry.best_for("nlp")
            res = solve(prob, backend.name, tol=1e-9)
            if res.objective is None:
                return math.nan, f"nlp ({backend.name}): {res.termination}"
            return sense * float(res.objective), f"nlp ({backend.name}, local)"
    except Exception as exc:
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
    """Solve a DCP cvxpy problem with cvxpy's own default choice of solver, then, if that fails to
    decide, with the other installed solvers in cvxpy's order; returns the solver cvxpy used."""
    import cvxpy as cp

    last: Exception | None = None
    decided = ("optimal", "infeasible", "unbounded")
    for solver in [None] + list(cp.installed_solvers()):
        try:
            prob.solve(solver=solver)
            if prob.status in decided:
                stats = getattr(prob, "solver_stats", None)
                return getattr(stats, "solver_name", None) or "default"
        except (cp.SolverError, ValueError) as exc:  # this solver cannot take it: the next one
            last = exc
    if prob.status is None and last is not None:
        raise last
    return "fallback"


def _note(result: Result, text: str) -> None:
    result.message = f"{result.message} [{text}]" if result.message else text


def finish(model, v: np.ndarray | None, result: BilevelResult, measure_gap: bool = True,
           gap_tol: float | None = None, options: Any = None) -> BilevelResult:
    """Measure the point v of a bilevel answer and decide the verdict (see module docstring).

    Fills objectives, feasibilities, the lower gap, ``kkt``, ``primal_status``, ``verified`` and
    the variable map. ``options`` (the solve's SolveOptions) give the tolerances; ``gap_tol``
    overrides opt_tol for the lower gap.
    """
    tol = Tolerances.from_options(options)
    opt = tol.opt if gap_tol is None else float(gap_tol)
    claims = result.termination.claims_optimality
    d = model.data()
    if v is None or not np.all(np.isfinite(v)):
        result.primal_status = PrimalStatus.NO_SOLUTION
        result._values = lambda var: None
        result.kkt = KKTReport({}, {"all": "no point returned" if v is None else
                                    "the returned point has non-finite entries"})
        if claims:
            result.verified = False
            _note(result, f"the method claims {result.termination} but returned no finite point")
            if v is not None:  # NaN produced mid-solve: a numerical failure, not an optimum
                result.termination = Termination.NUMERICAL_ERROR
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
    if not (math.isfinite(Fmin) and math.isfinite(fmin)):
        which = "upper" if not math.isfinite(Fmin) else "lower"
        value = Fmin if which == "upper" else fmin
        _note(result, f"the {which} objective is {value} at the returned point "
                      f"(claimed: {result.termination})")
        result.termination = Termination.NUMERICAL_ERROR
        result.primal_status = PrimalStatus.INFEASIBLE
        result.kkt = KKTReport({}, {"all": f"the {which} objective is not finite there"})
        result.verified = False if claims else None
        return result
    scaled = d.scaled_feasibility(v)
    feas_rel = max(scaled["upper_feasibility_rel"], scaled["lower_feasibility_rel"])
    values = {"feasibility": max(result.upper_feasibility, result.lower_feasibility),
              "feasibility_rel": feas_rel, **scaled,
              "upper_feasibility": result.upper_feasibility,
              "lower_feasibility": result.lower_feasibility}
    not_measured = {"stationarity": _NO_UPPER_KKT, "complementarity": _NO_UPPER_KKT}
    gap = gap_rel = None
    lower_has_solution = True
    if measure_gap:
        val, how = lower_value(model, v)
        result.extra["lower_value_by"] = how
        if math.isnan(val):
            not_measured["lower_gap"] = f"the independent lower-level solve did not decide ({how})"
        else:
            result.lower_value = model.lower.sense * val
            gap = fmin - val
            lower_has_solution = val != math.inf
            gap_rel = max(gap, 0.0) / (1.0 + abs(fmin)) if math.isfinite(gap) else math.inf
            values.update({"lower_value": val, "lower_gap": gap, "lower_gap_rel": gap_rel})
    else:
        not_measured["lower_gap"] = "measure_gap=False: y ∈ S(x) was not checked"
    result.lower_gap = gap
    result.kkt = KKTReport(values, not_measured)
    gap_ok = gap_rel is None or gap_rel <= opt
    if not lower_has_solution:
        result.primal_status = PrimalStatus.INFEASIBLE  # no lower-level solution at this x
    elif feas_rel <= tol.feas and gap_ok:
        result.primal_status = PrimalStatus.FEASIBLE
    elif feas_rel <= 100 * tol.feas and (gap_rel is None or gap_rel <= 100 * opt):
        result.primal_status = PrimalStatus.NEARLY_FEASIBLE
    else:
        result.primal_status = PrimalStatus.INFEASIBLE
    if claims:
        _ok, failures = judge(result.kkt, tol)
        if not lower_has_solution:
            failures.append("the lower level is infeasible at the returned x")
        elif gap_rel is not None and not gap_rel <= opt:
            failures.append(f"lower-level gap f − v(x) = {gap:.3g} (relative {gap_rel:.3g}) "
                            f"> {opt:.0e}")
        if failures:
            result.verified = False
            _note(result, f"optkit's measurement contradicts the claim {result.termination}: "
                          + "; ".join(failures))
        else:
            result.verified = True if gap_rel is not None else None
    else:
        result.verified = None
    return result
