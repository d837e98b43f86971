"""Backend ``pyomo``: Pyomo solver plug-ins (HiGHS through highspy; GLPK, CBC when installed).

The LinearForm

    minimize cᵀx + ½xᵀQx + c0  s.t.  rl <= Ax <= ru,  lb <= x <= ub,  x_j ∈ Z (j ∈ I)

becomes a ``pyo.ConcreteModel``: one indexed variable ``x`` (domain Integers on I, bounds from
lb/ub with ±inf as None), one indexed constraint per row (``LinearExpression`` built from the CSR
row; ``rl == ru`` → equality, otherwise a ranged constraint (rl, aᵢᵀx, ru) with an infinite side
as None; rows free on both sides are skipped), and the objective
``LinearExpression(c0, c, x) + Σ_{i<=j} q_ij x_i x_j`` with q_ii = ½Q_ii, q_ij = Q_ij (i < j).

Duals: Pyomo reports, for a minimisation, the sensitivity ∂f*/∂b of each constraint (≤ 0 on an
active upper bound, ≥ 0 on an active lower bound). optkit's rows follow L = f + yᵀAx, with y ≥ 0
on an active upper bound, so y = −dual (checked against HiGHS in tests/test_backend_pyomo.py).
MILPs return no duals.

Options: ``pyomo_solver`` (one of :data:`SOLVERS`). The HiGHS plug-ins (highs, appsi_highs) get
optkit's vocabulary through the shared HiGHS mapper
(:func:`optkit.solvers._highs_options.highs_options`, the same dict the ``highs`` and ``scipy``
backends hand HiGHS), and their ``solver_options`` are checked against HiGHS's option names;
GLPK, CBC and IPOPT get their own names (:func:`native_options`).

Status (one table, :data:`STATUS_MAP`): with a HiGHS plug-in the native status is HiGHS's own
model status, read from the plug-in's highspy object ("highs:kOptimal", "highs:kSolutionLimit",
... as for every HiGHS path; Pyomo's legacy conditions merge kSolutionLimit and kIterationLimit
into maxIterations). Otherwise it is Pyomo's TerminationCondition name: optimal/globallyOptimal
→ OPTIMAL, locallyOptimal → LOCALLY_OPTIMAL, maxTimeLimit → TIME_LIMIT, maxIterations →
ITERATION_LIMIT, maxEvaluations → EVALUATION_LIMIT, minFunctionValue → OBJECTIVE_LIMIT,
infeasibleOrUnbounded → INFEASIBLE_OR_UNBOUNDED, ... Refined keys say what Pyomo leaves open:
"feasible" (stopped with a feasible point) is "feasible:time_limit" → TIME_LIMIT when a time limit
was set, "feasible:max_iter" → ITERATION_LIMIT when an iteration limit was, else OTHER_LIMIT;
GLPK's "unbounded" (Pyomo's GLPK reader reports an infeasible LP as unbounded too) is settled by
a feasibility re-solve: "unbounded:feasible" → UNBOUNDED, "unbounded:infeasible" → INFEASIBLE,
"unbounded:inconclusive" → INFEASIBLE_OR_UNBOUNDED.

Counters: with a HiGHS plug-in, ``iterations`` = simplex + IPM + PDLP + QP iterations and
``nodes`` = mip_node_count, as in the ``highs`` backend; otherwise what Pyomo's results report
(``statistics.black_box.number_of_iterations``, ``statistics.branch_and_bound.
number_of_created_subproblems``: CBC gives both, GLPK nodes), else None.

Nonlinear problems are not accepted: Pyomo has no generic way to call back into an optkit
NLPForm short of pynumero's grey-box models (which need the cyipopt/ASL build), so the backend
declares lp, milp and qp only.
"""
from __future__ import annotations

import importlib.util
import math
import shutil
from typing import Any

import numpy as np
import scipy.sparse as sp

from optkit.backend import Backend
from optkit.errors import SolverUnavailableError, UnsupportedProblemError
from optkit.options import Option, SolveOptions
from optkit.raw import RawSolution
from optkit.status import Termination

from ._highs_options import (HIGHS_STATUS_MAP, highs_option_names, highs_options, keeps_point,
                             lp_iterations, mip_nodes, status_key)

#: what each known plug-in can solve, and the executable or module it needs
SOLVERS: dict[str, dict[str, Any]] = {
    "appsi_highs": {"classes": {"lp", "milp"}, "module": "highspy"},  # no quadratic objectives
    "highs": {"classes": {"lp", "milp", "qp"}, "module": "highspy"},
    "glpk": {"classes": {"lp", "milp"}, "executable": "glpsol"},
    "cbc": {"classes": {"lp", "milp"}, "executable": "cbc"},
    "ipopt": {"classes": {"lp", "qp"}, "executable": "ipopt"},
}
HIGHS_PLUGINS = ("highs", "appsi_highs")

_T = Termination
#: native status → termination: Pyomo's TerminationCondition names (and refined "name:reason"
#: keys, see the module docstring), and HiGHS's model statuses for the HiGHS plug-ins
STATUS_MAP: dict[str, Termination] = {
    "optimal": _T.OPTIMAL,
    "globallyOptimal": _T.OPTIMAL,
    "locallyOptimal": _T.LOCALLY_OPTIMAL,
    "feasible": _T.OTHER_LIMIT,               # stopped with a feasible point, reason not given
    "feasible:time_limit": _T.TIME_LIMIT,
    "feasible:max_iter": _T.ITERATION_LIMIT,
    "maxTimeLimit": _T.TIME_LIMIT,
    "maxIterations": _T.ITERATION_LIMIT,
    "maxEvaluations": _T.EVALUATION_LIMIT,
    "minFunctionValue": _T.OBJECTIVE_LIMIT,
    "minStepLength": _T.NUMERICAL_ERROR,
    "infeasible": _T.INFEASIBLE,
    "unbounded": _T.UNBOUNDED,
    "unbounded:feasible": _T.UNBOUNDED,
    "unbounded:infeasible": _T.INFEASIBLE,
    "unbounded:inconclusive": _T.INFEASIBLE_OR_UNBOUNDED,
    "infeasibleOrUnbounded": _T.INFEASIBLE_OR_UNBOUNDED,
    "invalidProblem": _T.INVALID_PROBLEM,
    "intermediateNonInteger": _T.OTHER_LIMIT,  # stopped at a point that is not integral
    "noSolution": _T.ERROR,                    # no solution, infeasibility not proven
    "solverFailure": _T.NUMERICAL_ERROR,
    "internalSolverError": _T.ERROR,
    "error": _T.ERROR,
    "other": _T.ERROR,
    "unknown": _T.ERROR,
    "userInterrupt": _T.INTERRUPTED,
    "resourceInterrupt": _T.OTHER_LIMIT,
    "licensingProblems": _T.ERROR,
    **{f"highs:{k}": v for k, v in HIGHS_STATUS_MAP.items()},
}


def solver_unavailable_reason(name: str) -> str:
    """Why the Pyomo plug-in ``name`` cannot run here ('' when it can)."""
    info = SOLVERS.get(name, {})
    if "module" in info and importlib.util.find_spec(info["module"]) is None:
        return f"Pyomo solver {name!r} needs the Python module {info['module']!r}"
    if "executable" in info and shutil.which(info["executable"]) is None:
        return f"Pyomo solver {name!r} needs the executable {info['executable']!r} on PATH"
    import pyomo.environ as pyo

    if name not in set(pyo.SolverFactory):
        return f"Pyomo {pyomo_version()} has no plug-in named {name!r}"
    try:
        ok = pyo.SolverFactory(name).available(exception_flag=False)
    except Exception as exc:  # unknown plug-in names give an 'UnknownSolver' object
        return f"Pyomo solver {name!r} cannot be created: {exc}"
    return "" if ok else f"Pyomo solver {name!r} is not available (SolverFactory(...).available() is False)"


def pyomo_version() -> str:
    """Pyomo's version string."""
    import pyomo

    return pyomo.__version__


def native_options(name: str, options: SolveOptions, is_mip: bool) -> dict[str, Any]:
    """The plug-in's options for optkit's tol / max_iter / time_limit / seed / verbose.

    HiGHS plug-ins (highs, appsi_highs): the shared HiGHS mapping
    (:func:`~optkit.solvers._highs_options.highs_options`, solver_options included).
    GLPK: time_limit → ``tmlim`` (whole seconds, rounded up); tol → ``mipgap`` for a MILP; LPs
    run with ``--nopresol`` (with the presolver, glpsol reports an infeasible LP as "undefined").
    CBC: time_limit → ``sec``; tol → ``ratioGap`` for a MILP; max_iter → ``maxIterations`` for an
    LP and ``maxNodes`` for a MILP (the meaning max_iter has for HiGHS).
    IPOPT: time_limit → ``max_cpu_time``; tol → ``tol``; max_iter → ``max_iter``.
    ``solver_options`` are passed through unchanged and win over the mapped ones.
    """
    if name in HIGHS_PLUGINS:
        return highs_options(options, is_mip)
    out: dict[str, Any] = {}
    t, it, tl = options.tol, options.max_iter, options.time_limit
    if name == "glpk":
        if not is_mip:  # with its presolver GLPK cannot tell an infeasible LP from a failure
            out["nopresol"] = None
        if tl is not None:
            out["tmlim"] = max(1, int(math.ceil(tl)))
        if t is not None and is_mip:
            out["mipgap"] = float(t)
    elif name == "cbc":
        if tl is not None:
            out["sec"] = float(tl)
        if t is not None and is_mip:
            out["ratioGap"] = float(t)
        if it is not None:  # as for HiGHS: LP iterations for an LP, nodes for a MIP
            out["maxNodes" if is_mip else "maxIterations"] = int(it)
    elif name == "ipopt":
        if tl is not None:
            out["max_cpu_time"] = float(tl)
        if t is not None:
            out["tol"] = float(t)
        if it is not None:
            out["max_iter"] = int(it)
    out.update(dict(options.solver_options))
    return out


def build_model(form, with_duals: bool):
    """The Pyomo ConcreteModel of a LinearForm (see module docstring) and its used row indices."""
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    n = form.n
    model = pyo.ConcreteModel(name=form.name)
    lb = [None if not np.isfinite(v) else float(v) for v in form.lb]
    ub = [None if not np.isfinite(v) else float(v) for v in form.ub]
    integ = form.integrality
    model.x = pyo.Var(range(n), within=pyo.Reals,
                      bounds=lambda _, j: (lb[j], ub[j]))
    for j in np.flatnonzero(integ):
        model.x[int(j)].domain = pyo.Integers
    xs = [model.x[j] for j in range(n)]
    A = sp.csr_matrix(form.A)
    indptr, indices, data = A.indptr, A.indices, A.data
    rl, ru = form.rl, form.ru
    rows = np.flatnonzero(np.isfinite(rl) | np.isfinite(ru))

    def row_rule(_, i):
        s, e = indptr[i], indptr[i + 1]
        expr = LinearExpression(constant=0.0, linear_coefs=data[s:e].tolist(),
                                linear_vars=[xs[j] for j in indices[s:e]])
        lo, hi = rl[i], ru[i]
        if lo == hi:
            return expr == float(lo)
        return (float(lo) if np.isfinite(lo) else None, expr, float(hi) if np.isfinite(hi) else None)

    model.rows = pyo.Constraint(rows.tolist(), rule=row_rule)
    nz = np.flatnonzero(form.c)
    obj = LinearExpression(constant=float(form.c0), linear_coefs=form.c[nz].tolist(),
                           linear_vars=[xs[j] for j in nz])
    if form.Q is not None:
        U = sp.triu(form.Q, format="coo")
        coef = np.where(U.row == U.col, 0.5 * U.data, U.data)
        obj = obj + pyo.quicksum(float(q) * xs[i] * xs[j] for i, j, q in zip(U.row, U.col, coef))
    model.obj = pyo.Objective(expr=obj, sense=pyo.minimize)
    if with_duals:
        model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    return model, rows


def _glpk_disambiguate(model, opt, kwargs) -> str:
    """Pyomo's GLPK reader reports "no primal feasible solution" (pstat 'n') as unbounded, like a
    dual-infeasible LP. Re-solve the feasibility problem (objective 0, which cannot be unbounded)
    and return the refined key: "unbounded:feasible" (so the LP is unbounded),
    "unbounded:infeasible" or "unbounded:inconclusive"."""
    import pyomo.environ as pyo
    from pyomo.opt import TerminationCondition as TC

    model.obj.deactivate()
    model.zero_obj = pyo.Objective(expr=0.0 * model.x[0] if len(model.x) else 0.0)
    try:
        feas = opt.solve(model, **kwargs).solver.termination_condition
    finally:
        model.del_component(model.zero_obj)
        model.obj.activate()
    if feas in (TC.optimal, TC.feasible, TC.globallyOptimal, TC.locallyOptimal):
        return "unbounded:feasible"
    if feas in (TC.unbounded, TC.infeasible):
        return "unbounded:infeasible"
    return "unbounded:inconclusive"


def _statistic(results, *path: str) -> int | None:
    """An integer statistic of Pyomo's legacy results (None when the plug-in did not report it)."""
    obj = results.solver.statistics
    for name in path:
        try:
            obj = getattr(obj, name)
        except Exception:
            return None
    value = getattr(obj, "value", obj)
    try:
        out = int(value)
    except (TypeError, ValueError):
        return None
    return out if out >= 0 else None


class PyomoBackend(Backend):
    """Pyomo with a solver plug-in: highs (default), appsi_highs, glpk, cbc (ipopt for LP/QP)."""

    name = "pyomo"
    accepts = frozenset({"lp", "milp", "qp"})
    priority = {"lp": 30, "milp": 30, "qp": 10}
    capabilities = frozenset({"duals", "integer"})
    requires = ("pyomo", "highspy")  # the default plug-in, highs, runs HiGHS via highspy
    extra = "pyomo"  # pip extra that brings `requires` (docs/install.md)
    options = {"pyomo_solver": Option("highs", tuple(SOLVERS),
                                      "Pyomo solver plug-in: " + ", ".join(SOLVERS))}
    description = "Pyomo with HiGHS, GLPK or CBC: LP, MILP (QP with HiGHS)"
    STATUS_MAP = STATUS_MAP

    def version(self) -> str:
        return pyomo_version()

    def solver_option_names(self, pyomo_solver: str | None = None) -> list[str] | None:
        """HiGHS's option names for the HiGHS plug-ins; None otherwise (GLPK and CBC take any
        command-line option; without a plug-in named, the names cannot be listed). Each solve
        checks its plug-in's list."""
        if pyomo_solver in HIGHS_PLUGINS:
            return highs_option_names()
        return None

    def refuse(self, form) -> str | None:
        """MIQP: no plug-in here solves mixed-integer QPs."""
        if form.is_mip and form.is_qp:
            return "no Pyomo plug-in used here solves mixed-integer QPs (MIQP)"
        return None

    def solve_linear(self, form, options: SolveOptions) -> RawSolution:
        """Build the Pyomo model, solve it with the chosen plug-in, return x and y = −dual."""
        import pyomo.environ as pyo

        name = str(options.get("pyomo_solver") or "highs")
        cls = form.problem_class
        info = SOLVERS[name]
        if cls not in info["classes"]:
            raise UnsupportedProblemError(
                f"Pyomo solver {name!r} does not solve {cls} problems (it handles "
                f"{', '.join(sorted(info['classes']))}); use pyomo_solver='highs'")
        why = solver_unavailable_reason(name)
        if why:
            raise SolverUnavailableError(f"backend 'pyomo': {why}")
        if name in HIGHS_PLUGINS and options.solver_options:
            from optkit.solving import check_solver_options

            check_solver_options(_PluginOptions(self, name), options)
        with_duals = not form.is_mip
        model, rows = build_model(form, with_duals)
        opt = pyo.SolverFactory(name)
        native = native_options(name, options, form.is_mip)
        kwargs: dict[str, Any] = {"tee": bool(options.verbose), "load_solutions": False}
        for k, v in native.items():
            opt.options[k] = v
        res = opt.solve(model, **kwargs)
        tc = res.solver.termination_condition
        key = str(tc.name if hasattr(tc, "name") else tc)
        highs = getattr(opt, "_solver_model", None) if name in HIGHS_PLUGINS else None
        iterations = _statistic(res, "black_box", "number_of_iterations")
        nodes = _statistic(res, "branch_and_bound", "number_of_created_subproblems")
        mip_gap = dual_bound = None
        if highs is not None and hasattr(highs, "getInfo"):  # the plug-in's highspy object
            hinfo = highs.getInfo()
            iterations = lp_iterations(hinfo)
            nodes = mip_nodes(hinfo) if form.is_mip else None
            key = "highs:" + status_key(highs.getModelStatus().name, nodes, native)
            if form.is_mip:
                mip_gap, dual_bound = float(hinfo.mip_gap), float(hinfo.mip_dual_bound)
        elif form.is_mip:
            bound = getattr(res.problem, "lower_bound", None)
            if isinstance(bound, (int, float)) and math.isfinite(bound):
                dual_bound = float(bound)
        if not form.is_mip:
            nodes = None
        msg = f"pyomo/{name}: {res.solver.status}, {tc}"
        if name == "glpk" and key == "unbounded":
            key = _glpk_disambiguate(model, opt, kwargs)
        elif key == "feasible":  # stopped early with a feasible point (GLPK/CBC limits)
            key = ("feasible:time_limit" if options.time_limit is not None
                   else "feasible:max_iter" if options.max_iter is not None else key)
        x = y = None
        has_solution = (len(getattr(res, "solution", [])) > 0
                        and STATUS_MAP.get(key) not in (_T.INFEASIBLE, _T.UNBOUNDED,
                                                        _T.INFEASIBLE_OR_UNBOUNDED)
                        and keeps_point(key.removeprefix("highs:")))
        if has_solution:
            try:
                model.solutions.load_from(res)
            except Exception as exc:  # e.g. an interface that has nothing to load
                msg += f" (no solution loaded: {exc})"
                has_solution = False
        if has_solution:
            x = np.array([model.x[j].value if model.x[j].value is not None else np.nan
                          for j in range(form.n)], dtype=float)
            free = np.isnan(x)  # variables in no row and not in the objective
            x[free] = np.clip(0.0, form.lb[free], form.ub[free])
            if with_duals and len(model.dual):
                y = np.zeros(form.m)
                get = model.dual.get
                y[rows] = [-(get(model.rows[int(i)]) or 0.0) for i in rows]
        return RawSolution(status=key, status_text=msg, x=x, y=y, iterations=iterations,
                           nodes=nodes, mip_gap=mip_gap, dual_bound=dual_bound,
                           extra={"pyomo_solver": name, "termination_condition": str(tc),
                                  "native_options": native})


class _PluginOptions:
    """The backend seen through one plug-in, for the core's ``check_solver_options``."""

    def __init__(self, backend: PyomoBackend, plugin: str):
        self.name = f"pyomo (pyomo_solver {plugin})"
        self._backend, self._plugin = backend, plugin

    def solver_option_names(self) -> list[str] | None:
        return self._backend.solver_option_names(self._plugin)
