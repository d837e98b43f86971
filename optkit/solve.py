"""``ok.solve``: one entry point for every problem and backend.

Steps: wrap the input as a model (cvxpy problem → ok.Problem, path → ok.read), pick the backend
(by name, or the first available one for the problem class), check it accepts the class, build
the options, compile the form the backend wants, solve, then measure KKT residuals and primal
feasibility with optkit's own code, fill timings and counters, and map the point back.
"""
from __future__ import annotations

import os
import time
import traceback
from typing import Any

import numpy as np

from . import registry
from .errors import OptkitError
from .kkt import linear_kkt, nlp_kkt
from .options import SolveOptions
from .results import Result
from .status import PrimalStatus, Termination

FEAS_TOL = 1e-6


def as_model(problem: Any):
    """Accept an optkit model, a cvxpy problem or a path to an MPS/LP file."""
    from .modeling import Problem, read
    from .modeling.base import Model

    if isinstance(problem, Model) or hasattr(problem, "problem_class"):
        return problem
    if isinstance(problem, (str, os.PathLike)):
        return read(problem)
    try:
        import cvxpy as cp

        if isinstance(problem, cp.Problem):
            return Problem(problem.objective, problem.constraints)
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"cannot solve a {type(problem).__name__}: give an ok.Problem, ok.NLP, "
                    f"ok.LinearProblem, ok.Bilevel, ok.MultiObjective, a cvxpy Problem or a file path")


def _scale(form) -> float:
    """1 + the largest finite bound (capped at 10⁶), cached on forms that carry ``meta``."""
    meta = getattr(form, "meta", None)
    if meta is not None and "_scale" in meta:
        return meta["_scale"]
    bounds = [getattr(form, k) for k in ("cl", "cu", "rl", "ru", "lb", "ub") if hasattr(form, k)]
    finite = [np.abs(b[np.isfinite(b)]) for b in bounds if b.size]
    big = max((float(f.max()) for f in finite if f.size), default=0.0)
    scale = 1.0 + min(big, 1e6)
    if meta is not None:
        meta["_scale"] = scale
    return scale


def measure(result: Result, form) -> Result:
    """Fill ``kkt`` and derive ``primal_status`` from optkit's own feasibility measurement."""
    if result.x is None:
        result.primal_status = PrimalStatus.NO_SOLUTION
        return result
    x = np.asarray(result.x, dtype=float)
    y = None if result.y is None else np.asarray(result.y, dtype=float)
    try:
        result.kkt = linear_kkt(form, x, y) if hasattr(form, "rl") else nlp_kkt(form, x, y)
    except Exception as exc:  # a failing oracle at the returned point is itself a finding
        result.kkt = {"error": f"{type(exc).__name__}: {exc}"}
        result.primal_status = PrimalStatus.INFEASIBLE
        return result
    feas = result.kkt.get("feasibility")
    if feas is None or not np.isfinite(feas):
        result.primal_status = PrimalStatus.INFEASIBLE
    elif feas <= FEAS_TOL:  # feasible at any scale: skip computing the scale
        result.primal_status = PrimalStatus.FEASIBLE
    else:
        tol = FEAS_TOL * _scale(form)
        result.primal_status = (PrimalStatus.FEASIBLE if feas <= tol else
                                PrimalStatus.NEARLY_FEASIBLE if feas <= 100 * tol else
                                PrimalStatus.INFEASIBLE)
    return result


def solve(problem: Any, solver: str | None = None, **options: Any) -> Result:
    """Solve ``problem`` with backend ``solver`` (default: chosen by problem class).

    Common options: tol, max_iter, time_limit, verbose, seed, x0, solver_options; a backend's own
    options by name. Returns a :class:`Result`; raises only for bad input (unknown solver or option,
    unsupported class, malformed data), never for a non-optimal outcome.
    """
    t_start = time.perf_counter()
    model = as_model(problem)
    backend = registry.get(solver) if solver is not None else registry.choose(model)
    registry.check(backend, model)
    opts = SolveOptions.build(backend.name, backend.options, options)
    kind = backend.form_for(model)
    if kind == "model":
        res = _run(lambda: backend.solve_model(model, opts), backend)
        res.timings.setdefault("total", time.perf_counter() - t_start)
        return res
    t0 = time.perf_counter()
    compiled = model.compile(kind, opts.x0)
    form = compiled.form
    t1 = time.perf_counter()
    res = _run(lambda: backend.solve_linear(form, opts) if kind == "linear"
               else backend.solve_nlp(form, opts), backend)
    t2 = time.perf_counter()
    measure(res, form)
    if hasattr(form, "counts"):
        res.evaluations = {**dict(form.counts), **res.evaluations}
        if any(v != "exact" for v in form.derivatives.values()):
            res.extra["derivatives"] = dict(form.derivatives)
            fd = [k for k, v in form.derivatives.items() if v != "exact"]
            res.message = (res.message + " " if res.message else "") + \
                f"[finite differences for: {', '.join(fd)}]"
    model.bind(res, compiled)
    res.timings.update({"build": t1 - t0, "solve": t2 - t1, "total": time.perf_counter() - t_start})
    return res


def _run(call, backend) -> Result:
    """Call the backend; an exception inside it becomes an ERROR result, not a crash."""
    try:
        res = call()
    except OptkitError:
        raise
    except Exception as exc:
        res = Result(termination=Termination.ERROR,
                     message=f"{backend.name} raised {type(exc).__name__}: {exc}",
                     extra={"traceback": traceback.format_exc()})
    res.solver = res.solver or backend.name
    if not res.solver_version:
        try:
            res.solver_version = backend.version()
        except Exception:  # pragma: no cover
            res.solver_version = ""
    return res
