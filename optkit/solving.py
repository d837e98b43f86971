"""``ok.solve``: one entry point for every problem and backend (this module is ``optkit.solving``,
so that ``optkit.solve`` names only the function).

Steps: wrap the input as a model (cvxpy problem → ok.Problem, path → ok.read), pick the backend
(by name, or by the priorities backends declare), check it accepts the class, build and check the
options, compile the form the backend wants, let the backend refuse structure it cannot take,
answer data-decided models without a solve (crossed bounds, empty models), solve, then hand the
raw answer to :mod:`optkit.finish` (status table, optkit's own KKT and scaled-feasibility
measurement, verdict), fill timings (model construction included) and counters, and map back.
"""
from __future__ import annotations

import difflib
import os
import time
import traceback
from typing import Any

import numpy as np

from . import registry
from .deadline import Deadline, DeadlineExceeded
from .errors import OptionError, OptkitError, UnsupportedProblemError
from .finish import measure as _measure
from .finish import measure_grace, presolve_verdict, time_limit_result, to_result
from .ir.convexity import cached_convexity_problem
from .ir.equilibrate import equilibrated
from .log import log_result, verbose_scope
from .options import SolveOptions
from .results import Result
from .status import Termination
from .verify import KKTReport, Tolerances

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
            return Problem.from_cvxpy(problem)  # the user's object: cvxpy's caches are reused
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"cannot solve a {type(problem).__name__}: give an ok.Problem, ok.NLP, "
                    f"ok.LinearProblem, ok.Bilevel, ok.MultiObjective, a cvxpy Problem or a file path")


def measure(result: Result, form, options: SolveOptions | None = None) -> Result:
    """Measure ``result`` on ``form`` with optkit's own code (see :mod:`optkit.finish`)."""
    return _measure(result, form, Tolerances.from_options(options))


def check_solver_options(backend, opts: SolveOptions) -> None:
    """Refuse unknown ``solver_options`` keys when the backend can list its native options."""
    if not opts.solver_options:
        return
    valid = backend.solver_option_names()
    if valid is None:
        return
    valid_set = set(valid)
    unknown = sorted(k for k in opts.solver_options if k not in valid_set)
    if unknown:
        close = {k: difflib.get_close_matches(k, valid, n=3) for k in unknown}
        hints = "; ".join(f"{k!r}" + (f" (did you mean {', '.join(close[k])}?)" if close[k] else "")
                          for k in unknown)
        raise OptionError(f"unknown solver_options for backend '{backend.name}': {hints}; "
                          f"{len(valid)} native options exist (see backend.solver_option_names())")


def solve(problem: Any, solver: str | None = None, decompose: bool = False,
          workers: int | None = None, **options: Any) -> Result:
    """Solve ``problem`` with backend ``solver`` (default: chosen by declared priorities).

    Common options: tol, max_iter, time_limit, verbose, seed, x0, solver_options, and the
    verification tolerances feas_tol, opt_tol, int_tol (:mod:`optkit.verify`); a backend's own
    options by name. ``decompose=True`` splits a separable LP/QP/MILP into independent blocks
    solved in ``workers`` processes (:mod:`optkit.decompose`). Returns a :class:`Result`; raises
    only for bad input (unknown solver or option, unsupported class, malformed data), never for a
    non-optimal outcome. ``verbose`` True/1 logs one INFO line per solve on the backend's logger
    ``optkit.solvers.<name>`` (2: DEBUG, with the KKT report; :mod:`optkit.log`).
    """
    with verbose_scope(options.get("verbose")):
        res = _solve(problem, solver, decompose, workers, **options)
        log_result(res)
    return res


def _solve(problem: Any, solver: str | None, decompose: bool, workers: int | None,
           **options: Any) -> Result:
    """:func:`solve` without the logging scope."""
    t_start = time.perf_counter()
    t_clock = time.monotonic()  # the deadline counts from here (optkit.deadline)
    model = as_model(problem)
    model_time = float(getattr(model, "_pending_build_time", 0.0) or 0.0)
    if model_time:
        model._pending_build_time = 0.0  # counted once, by the first solve that follows it
    if decompose:
        from .decompose import solve_decomposed

        res = solve_decomposed(model, solver, workers, **options)
        res.timings["model"] = model_time
        res.timings["total"] = time.perf_counter() - t_start + model_time
        return res
    backend = registry.get(solver) if solver is not None else registry.choose(model)
    registry.check(backend, model)
    opts = SolveOptions.build(backend.name, backend.options, options)
    check_solver_options(backend, opts)
    kind = backend.form_for(model)
    if kind == "system":  # A x = b (optkit.linear_system): refusal, solve, residual measurement
        from .linear_system import solve_system

        return solve_system(model, backend, opts, t_start, model_time)
    if kind == "model":
        res = _run(lambda: backend.solve_model(model, opts), backend)
        if not isinstance(res.kkt, KKTReport):
            res.kkt = KKTReport(dict(res.kkt or {}))
        res.timings["model"] = model_time
        res.timings.setdefault("total", time.perf_counter() - t_start + model_time)
        return res
    t0 = time.perf_counter()
    compiled = model.compile(kind, opts.x0)
    form = compiled.form
    reason = backend.refuse(form)
    if not reason and getattr(form, "Q", None) is not None and \
            "nonconvex-qp" not in backend.capabilities:
        why = cached_convexity_problem(form)
        if why:
            reason = (f"the quadratic objective is not convex: {why}; backends that take "
                      f"nonconvex QPs locally: "
                      f"{', '.join(registry.with_capability('nonconvex-qp')) or 'none'}")
    if reason:
        raise UnsupportedProblemError(f"backend '{backend.name}' cannot solve this model: {reason}")
    t1 = time.perf_counter()
    early = presolve_verdict(form)
    if early is not None:
        res = early
        res.solver = backend.name
    else:
        scaled = equilibrated(form) if kind == "linear" else None
        solver_form = scaled[0] if scaled is not None else form
        deadline = getattr(form, "deadline", None)
        if isinstance(deadline, Deadline) and opts.time_limit is not None:
            deadline.arm(opts.time_limit, start=t_clock)  # every oracle checks it
        if hasattr(form, "clear_iterate"):
            form.clear_iterate()  # a re-solved form: no iterate of an earlier solve
        try:
            res = _run(lambda: backend.solve_linear(solver_form, opts) if kind == "linear"
                       else backend.solve_nlp(form, opts), backend, form)
        finally:
            if isinstance(deadline, Deadline):
                deadline.disarm()  # optkit's own measurement below is not cut short
        if scaled is not None:  # multipliers of the original rows: y = D y' (optkit.ir.equilibrate)
            if res.y is not None and len(res.y) == form.m:
                res.y = scaled[1] * np.asarray(res.y, dtype=float)
            res.extra["row_scaling"] = solver_form.meta["row_scaling"]
    t2 = time.perf_counter()
    if early is None or early.x is not None:
        grace = (isinstance(getattr(form, "deadline", None), Deadline) and opts.time_limit
                 is not None and res.termination == Termination.TIME_LIMIT)
        if grace:  # a stopped solve's measurement is bounded too (optkit.finish.measure_grace)
            form.deadline.arm(measure_grace(opts.time_limit or 0.0))  # time_limit is set (grace)
        try:
            _measure(res, form, Tolerances.from_options(opts, backend.default_tol))
        finally:
            if grace:
                form.deadline.disarm()
    if hasattr(form, "counts"):
        res.evaluations = {**dict(form.counts), **res.evaluations}
        if any(v != "exact" for v in form.derivatives.values()):
            res.extra["derivatives"] = dict(form.derivatives)
            fd = [k for k, v in form.derivatives.items() if v != "exact"]
            res.message = (res.message + " " if res.message else "") + \
                f"[finite differences for: {', '.join(fd)}]"
    model.bind(res, compiled)
    if res.dual_bound is not None:  # RawSolution gives it in form units (minimisation)
        res.dual_bound = float(getattr(form, "sense", getattr(compiled, "sense", 1))) * res.dual_bound
    t3 = time.perf_counter()
    res.timings.update({"model": model_time, "build": t1 - t0, "solve": t2 - t1,
                        "finish": t3 - t2, "total": t3 - t_start + model_time})
    return res


def _run(call, backend, form=None) -> Result:
    """Call the backend; an exception inside it becomes an ERROR result, not a crash. A raw
    record is turned into a Result through the backend's status table (:func:`to_result`). The
    form's deadline passing inside the backend becomes a TIME_LIMIT result at the form's last
    iterate (:func:`optkit.finish.time_limit_result`)."""
    try:
        res = to_result(call(), backend)
    except DeadlineExceeded as exc:
        res = time_limit_result(form, exc)
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
