"""The one result pipeline: a backend's raw answer → a :class:`~optkit.results.Result` optkit trusts.

``finish(raw, form, backend, options)``:

1. maps the native status through the backend's declared ``STATUS_MAP`` (an unmapped status
   becomes ERROR and is named; a status that is already a Termination is kept);
2. measures, on the very form the solver saw: KKT residuals, scaled per-row feasibility and
   integrality (:mod:`optkit.kkt`), into a :class:`~optkit.verify.KKTReport`;
3. decides ``primal_status`` from that measurement and, for a claim of (local) optimality,
   ``verified``: True when every measured quantity is within tolerance
   (:class:`~optkit.verify.Tolerances`), False otherwise — the claim is kept as ``termination``
   and ``message`` says which residual failed by how much. A claim of infeasibility contradicted
   by a measured-feasible point is flagged the same way.

Rules shared by every backend live here too: :func:`presolve_verdict` answers, without calling
the solver, the models whose outcome the data decide (crossed bounds, no variables), and
:func:`time_limit_result` is the answer of a solve stopped by the form's deadline.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .deadline import DeadlineExceeded
from .kkt import linear_kkt, nlp_kkt, scaled_violation
from .raw import RawSolution
from .results import Result
from .status import PrimalStatus, Termination
from .verify import KKTReport, Tolerances, judge

_INFEASIBLE_CLAIMS = (Termination.INFEASIBLE, Termination.LOCALLY_INFEASIBLE)


def map_status(raw: RawSolution, backend: Any) -> tuple[Termination, str]:
    """(termination, note) for a raw status, through the backend's declared table."""
    status = raw.status
    if isinstance(status, Termination):
        return status, ""
    table = getattr(backend, "STATUS_MAP", {}) or {}
    if status in table:
        return table[status], ""
    return Termination.ERROR, (f"native status {status!r} of backend "
                               f"'{getattr(backend, 'name', '?')}' is not in its status table")


def to_result(raw: RawSolution | Result, backend: Any) -> Result:
    """A Result carrying the raw record's claim and point (not yet measured)."""
    if isinstance(raw, Result):
        return raw
    term, note = map_status(raw, backend)
    message = raw.message or raw.status_text or (str(raw.status) if raw.status is not None else "")
    if note:
        message = f"{message} [{note}]" if message else note
    return Result(termination=term, x=raw.x, y=raw.y, z=raw.z, iterations=raw.iterations,
                  nodes=raw.nodes,
                  evaluations=dict(raw.evaluations), message=message, history=raw.history,
                  extra=dict(raw.extra), native_status="" if raw.status is None else
                  (raw.status.value if isinstance(raw.status, Termination) else str(raw.status)),
                  native_status_text=raw.status_text, mip_gap=raw.mip_gap,
                  dual_bound=raw.dual_bound)


def primal_status_from(feas_rel: float, integrality: float, tol: Tolerances) -> PrimalStatus:
    """The one rule: FEASIBLE within feas_tol (and integral within int_tol), NEARLY_FEASIBLE
    within 100·feas_tol, INFEASIBLE otherwise (NaN counts as infeasible)."""
    if not np.isfinite(feas_rel) or not integrality <= tol.integrality:
        return PrimalStatus.INFEASIBLE
    if feas_rel <= tol.feas:
        return PrimalStatus.FEASIBLE
    if feas_rel <= 100 * tol.feas:
        return PrimalStatus.NEARLY_FEASIBLE
    return PrimalStatus.INFEASIBLE


def measure(result: Result, form: Any, tolerances: Tolerances | None = None) -> Result:
    """Fill ``kkt``, ``primal_status`` and ``verified`` from optkit's own measurement at result.x."""
    tol = tolerances or Tolerances()
    claims = result.termination.claims_optimality
    if result.x is None:
        result.primal_status = PrimalStatus.NO_SOLUTION
        result.kkt = KKTReport({}, {"all": "no point returned"})
        if claims:
            result.verified = False
            _note(result, "the solver claims optimality but returned no point")
        return result
    x = np.asarray(result.x, dtype=float)
    if x.shape != (form.n,) or not np.all(np.isfinite(x)):
        result.primal_status = PrimalStatus.INFEASIBLE
        bad = "has shape " + str(x.shape) if x.shape != (form.n,) else "has non-finite entries"
        result.kkt = KKTReport({}, {"all": f"the returned point {bad}"})
        if x.shape != (form.n,):  # unusable: kept for inspection, never mapped back
            result.extra["returned_x"] = result.x
            result.x = result.y = None
            result.primal_status = PrimalStatus.NO_SOLUTION
        result.verified = False if claims else None
        _note(result, f"the returned point {bad}")
        return result
    y = None if result.y is None else np.asarray(result.y, dtype=float)
    if y is not None and (y.shape != (form.m,) or not np.all(np.isfinite(y))):
        _note(result, "the solver's multipliers are malformed; estimated instead")
        y = None
    try:
        z = None if result.z is None else np.asarray(result.z, dtype=float)
        values = (form.residuals(x) if hasattr(form, "residuals")  # A x = b: optkit.linear_system
                  else linear_kkt(form, x, y, z) if hasattr(form, "rl") else nlp_kkt(form, x, y, z))
    except DeadlineExceeded as exc:  # the measurement's own time ran out after a TIME_LIMIT stop
        return _feasibility_only(result, form, x, tol, exc)
    except Exception as exc:  # a failing oracle at the returned point is itself a finding
        result.kkt = KKTReport({"error": f"{type(exc).__name__}: {exc}"},
                               {"all": "an oracle failed at the returned point"})
        result.primal_status = PrimalStatus.INFEASIBLE
        result.verified = False if claims else None
        return result
    not_measured = {}
    if values.get("stationarity") is None and "residual_rel" not in values:
        not_measured["stationarity"] = ("integer problem: no KKT conditions" if
                                        getattr(form, "is_mip", False) else "not available")
        not_measured["complementarity"] = not_measured["stationarity"]
    if getattr(form, "is_mip", False) and result.dual_bound is not None and \
            np.isfinite(result.dual_bound):
        f = float(form.objective(x))
        values["mip_gap_rel"] = max(0.0, f - float(result.dual_bound)) / max(1.0, abs(f))
    report = KKTReport(values, not_measured)
    result.kkt = report
    feas_rel = values.get("feasibility_rel", np.inf)
    integ = values.get("integrality") or 0.0
    result.primal_status = primal_status_from(feas_rel, integ, tol)
    if claims:
        ok, failures = judge(report, tol)
        result.verified = ok
        if not ok:
            _note(result, f"optkit's measurement contradicts the claim {result.termination}: "
                          + "; ".join(failures))
    elif result.termination in _INFEASIBLE_CLAIMS and result.primal_status == PrimalStatus.FEASIBLE:
        result.verified = False
        _note(result, f"the solver claims {result.termination} but the returned point is "
                      f"feasible (scaled violation {feas_rel:.2g})")
    return result


def _feasibility_only(result: Result, form: Any, x: np.ndarray, tol: Tolerances,
                      exc: DeadlineExceeded) -> Result:
    """The measurement of a deadline-stopped point whose full measurement did not fit in its
    grace time (:func:`measure_grace`): bounds, and c(x) by one more call, each row scaled by
    max(1, |bound|) only (its Jacobian was not evaluated); stationarity is not measured."""
    viol, _ = scaled_violation(x, form.lb, form.ub, 1.0)
    if getattr(form, "m", 0):
        form.deadline.disarm()
        c = np.asarray(form.cons(x), dtype=float)
        row_viol, _ = scaled_violation(c, form.cl, form.cu, 1.0)
        viol = max(viol, row_viol)
    why = (f"not measured: optkit's measurement did not fit in its {exc.limit:g} s grace after "
           f"the time limit")
    result.kkt = KKTReport({"feasibility_rel": viol}, {
        "stationarity": why, "complementarity": why,
        "feasibility_rel": "rows scaled by their bounds only (the Jacobian was not evaluated)"})
    result.primal_status = primal_status_from(viol, 0.0, tol)
    result.verified = False if result.termination.claims_optimality else None
    return result


#: the most seconds optkit's measurement may take after a solve its deadline stopped
MEASURE_GRACE = 0.5


def measure_grace(time_limit: float) -> float:
    """The measurement's grace after a deadline stop: min(0.5, limit/2), at least 0.1 s. Past
    it the point is measured for feasibility only (:func:`_feasibility_only`)."""
    return min(MEASURE_GRACE, max(0.1, 0.5 * float(time_limit)))


def finish(raw: RawSolution | Result, form: Any, backend: Any, options: Any = None) -> Result:
    """Map, measure and judge one backend answer (see module docstring)."""
    result = to_result(raw, backend)
    return measure(result, form, Tolerances.from_options(options, getattr(backend, "default_tol", None)))


def time_limit_result(form: Any, exc: Exception) -> Result:
    """TIME_LIMIT at the form's last iterate (``form.iterate``: the backend's noted iterate, else
    the last point where f was evaluated, else x0), for a solve that the form's deadline stopped
    (:class:`optkit.deadline.DeadlineExceeded` raised by an oracle); ``iterations`` is the count
    the backend noted with its iterate (None when it noted none). The point then goes through
    :func:`measure` like any other; TIME_LIMIT never claims optimality."""
    x = getattr(form, "iterate", None)
    return Result(termination=Termination.TIME_LIMIT, x=x, native_status="deadline",
                  iterations=getattr(form, "noted_iteration", None),
                  message=f"{exc}; returning the last iterate",
                  extra={"deadline_overrun": float(getattr(exc, "overrun", 0.0))})


def presolve_verdict(form: Any) -> Result | None:
    """The outcome of a model whose data alone decide it, or None when a solve is needed.

    Crossed bounds (lb > ub, rl > ru, cl > cu) make the model INFEASIBLE (verified: the data prove
    it); a LinearForm with no variables is OPTIMAL at x = () when every row admits 0, else
    INFEASIBLE.
    """
    lo_hi = [("column", form.lb, form.ub)]
    if hasattr(form, "rl"):
        lo_hi.append(("row", form.rl, form.ru))
    else:
        lo_hi.append(("constraint", form.cl, form.cu))
    for what, lo, hi in lo_hi:
        crossed = np.flatnonzero(lo > hi)
        if crossed.size:
            k = int(crossed[0])
            names = getattr(form, "row_names" if what != "column" else "col_names", None)
            label = f"{what} {names[k]!r} (index {k})" if names else f"{what} index {k}"
            return Result(termination=Termination.INFEASIBLE, verified=True,
                          message=f"bounds of {label} cross: {lo[k]} > {hi[k]} "
                                  f"({crossed.size} crossed in all)",
                          native_status="presolve", iterations=0)
    if hasattr(form, "rl") and form.n == 0:
        zero = np.zeros(form.m)
        viol, k = scaled_violation(zero, form.rl, form.ru, 1.0)
        if viol > 0:
            return Result(termination=Termination.INFEASIBLE, verified=True, iterations=0,
                          native_status="presolve",
                          message=f"model has no variables and row index {k} excludes 0")
        return Result(termination=Termination.OPTIMAL, x=np.zeros(0), y=np.zeros(form.m),
                      iterations=0, native_status="presolve", message="empty model")
    return None


def _note(result: Result, text: str) -> None:
    result.message = f"{result.message} [{text}]" if result.message else text
