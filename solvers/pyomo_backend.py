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

Status map (Pyomo TerminationCondition → optkit): optimal/globallyOptimal/locallyOptimal →
OPTIMAL; infeasible/invalidProblem-with-infeasibility → INFEASIBLE; unbounded → UNBOUNDED;
infeasibleOrUnbounded → INFEASIBLE_OR_UNBOUNDED; maxTimeLimit → TIME_LIMIT; maxIterations →
ITERATION_LIMIT; maxEvaluations → EVALUATION_LIMIT; userInterrupt → INTERRUPTED;
solverFailure/internalSolverError/error → NUMERICAL_ERROR; invalidProblem → INVALID_PROBLEM;
GLPK's "unbounded" is checked by a feasibility re-solve (Pyomo's GLPK reader reports an infeasible
LP as unbounded too): a feasible zero-objective problem → UNBOUNDED, otherwise INFEASIBLE; "feasible" (stopped at a limit with a point) → TIME_LIMIT / ITERATION_LIMIT when
such a limit was set; anything else → ERROR.

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
from optkit.errors import OptionError, SolverUnavailableError, UnsupportedProblemError
from optkit.options import SolveOptions
from optkit.results import Result
from optkit.status import Termination

#: what each known plug-in can solve, and the executable or module it needs
SOLVERS: dict[str, dict[str, Any]] = {
    "appsi_highs": {"classes": {"lp", "milp"}, "module": "highspy"},  # no quadratic objectives
    "highs": {"classes": {"lp", "milp", "qp"}, "module": "highspy"},
    "glpk": {"classes": {"lp", "milp"}, "executable": "glpsol"},
    "cbc": {"classes": {"lp", "milp"}, "executable": "cbc"},
    "ipopt": {"classes": {"lp", "qp"}, "executable": "ipopt"},
}


def _termination_table():
    from pyomo.opt import TerminationCondition as TC

    return {
        TC.optimal: Termination.OPTIMAL,
        TC.globallyOptimal: Termination.OPTIMAL,
        TC.locallyOptimal: Termination.OPTIMAL,
        TC.infeasible: Termination.INFEASIBLE,
        TC.unbounded: Termination.UNBOUNDED,
        TC.infeasibleOrUnbounded: Termination.INFEASIBLE_OR_UNBOUNDED,
        TC.maxTimeLimit: Termination.TIME_LIMIT,
        TC.maxIterations: Termination.ITERATION_LIMIT,
        TC.maxEvaluations: Termination.EVALUATION_LIMIT,
        TC.userInterrupt: Termination.INTERRUPTED,
        TC.solverFailure: Termination.NUMERICAL_ERROR,
        TC.internalSolverError: Termination.NUMERICAL_ERROR,
        TC.error: Termination.NUMERICAL_ERROR,
        TC.invalidProblem: Termination.INVALID_PROBLEM,
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
        raise OptionError(f"pyomo_solver={name!r} is not a Pyomo solver name; supported here: "
                          f"{', '.join(SOLVERS)} (any other name registered with "
                          f"pyo.SolverFactory is tried as is)")
    try:
        ok = pyo.SolverFactory(name).available(exception_flag=False)
    except Exception as exc:  # unknown plug-in names give an 'UnknownSolver' object
        return f"Pyomo solver {name!r} cannot be created: {exc}"
    return "" if ok else f"Pyomo solver {name!r} is not available (SolverFactory(...).available() is False)"


def native_options(name: str, options: SolveOptions, is_mip: bool) -> tuple[dict, float | None]:
    """(solver options, timelimit keyword) for optkit's tol / max_iter / time_limit / seed.

    HiGHS: time limit through Pyomo's ``timelimit``; tol → primal/dual feasibility tolerances (and
    mip_rel_gap for a MILP); max_iter → simplex and IPM iteration limits; seed → random_seed.
    GLPK: time_limit → ``tmlim`` (whole seconds, rounded up); tol → ``mipgap`` for a MILP; LPs
    run with ``--nopresol`` (with the presolver, glpsol reports an infeasible LP as "undefined").
    CBC: time_limit → ``sec``; tol → ``ratioGap`` for a MILP; max_iter → ``maxIterations``.
    IPOPT: time_limit → ``max_cpu_time``; tol → ``tol``; max_iter → ``max_iter``.
    ``solver_options`` are passed through unchanged and win over the mapped ones.
    """
    out: dict[str, Any] = {}
    timelimit = None
    t, it, tl = options.tol, options.max_iter, options.time_limit
    if name in ("appsi_highs", "highs"):
        timelimit = tl
        if t is not None:
            out["primal_feasibility_tolerance"] = float(t)
            out["dual_feasibility_tolerance"] = float(t)
            if is_mip:
                out["mip_rel_gap"] = float(t)
        if it is not None:
            out["simplex_iteration_limit"] = int(it)
            out["ipm_iteration_limit"] = int(it)
        if options.seed is not None:
            out["random_seed"] = int(options.seed)
    elif name == "glpk":
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
        if it is not None:
            out["maxIterations"] = int(it)
    elif name == "ipopt":
        if tl is not None:
            out["max_cpu_time"] = float(tl)
        if t is not None:
            out["tol"] = float(t)
        if it is not None:
            out["max_iter"] = int(it)
    out.update(dict(options.solver_options))
    return out, timelimit


def build_model(form, with_duals: bool):
    """The Pyomo ConcreteModel of a LinearForm (see module docstring) and its used row indices."""
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression

    n, m = form.n, form.m
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


def _glpk_disambiguate(model, opt, kwargs) -> tuple[Termination, str]:
    """Pyomo's GLPK reader reports "no primal feasible solution" (pstat 'n') as unbounded, like a
    dual-infeasible LP. Re-solve the feasibility problem (objective 0, which cannot be unbounded):
    feasible → the LP is UNBOUNDED; otherwise → INFEASIBLE."""
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
        return Termination.UNBOUNDED, " (feasibility re-solve: feasible, so unbounded)"
    if feas in (TC.unbounded, TC.infeasible):
        return Termination.INFEASIBLE, " (feasibility re-solve: no feasible point, so infeasible)"
    return Termination.INFEASIBLE_OR_UNBOUNDED, f" (feasibility re-solve inconclusive: {feas})"


class PyomoBackend(Backend):
    """Pyomo with a solver plug-in: highs (default), appsi_highs, glpk, cbc (ipopt for LP/QP)."""

    name = "pyomo"
    accepts = frozenset({"lp", "milp", "qp"})
    priority = {"lp": 30, "milp": 30, "qp": 10}
    capabilities = frozenset({"duals", "integer"})
    requires = ("pyomo", "highspy")  # the default plug-in, highs, runs HiGHS via highspy
    options = {"pyomo_solver": "highs"}
    description = "Pyomo with HiGHS, GLPK or CBC: LP, MILP (QP with HiGHS)"

    def version(self) -> str:
        import pyomo

        return pyomo.__version__

    def solve_linear(self, form, options: SolveOptions) -> Result:
        """Build the Pyomo model, solve it with the chosen plug-in, return x and y = −dual."""
        import pyomo.environ as pyo
        from pyomo.opt import SolverStatus

        name = str(options.get("pyomo_solver") or "highs")
        cls = form.problem_class
        info = SOLVERS.get(name)
        if info is not None and cls not in info["classes"]:
            raise UnsupportedProblemError(
                f"Pyomo solver {name!r} does not solve {cls} problems (it handles "
                f"{', '.join(sorted(info['classes']))}); use pyomo_solver='highs'")
        why = solver_unavailable_reason(name)
        if why:
            raise SolverUnavailableError(f"backend 'pyomo': {why}")
        lo_bad = np.flatnonzero(form.lb > form.ub)
        row_bad = np.flatnonzero(form.rl > form.ru)
        if lo_bad.size or row_bad.size:
            what = (f"column index {int(lo_bad[0])}" if lo_bad.size else f"row index {int(row_bad[0])}")
            return Result(termination=Termination.INFEASIBLE,
                          message=f"lower bound above upper bound at {what}: infeasible")
        if form.n == 0:  # nothing for Pyomo to build: feasible iff every row range holds 0
            ok = bool(np.all(form.rl <= 0) and np.all(form.ru >= 0))
            return Result(termination=Termination.OPTIMAL if ok else Termination.INFEASIBLE,
                          x=np.zeros(0) if ok else None, y=np.zeros(form.m) if ok else None,
                          message="no variables")
        with_duals = not form.is_mip
        model, rows = build_model(form, with_duals)
        opt = pyo.SolverFactory(name)
        native, timelimit = native_options(name, options, form.is_mip)
        kwargs: dict[str, Any] = {"tee": bool(options.verbose), "load_solutions": False}
        if timelimit is not None:
            kwargs["timelimit"] = float(timelimit)
        for k, v in native.items():
            opt.options[k] = v
        res = opt.solve(model, **kwargs)
        tc = res.solver.termination_condition
        term = _termination_table().get(tc, Termination.ERROR)
        status = res.solver.status
        msg = f"pyomo/{name}: {status}, {tc}"
        x = y = None
        has_solution = len(getattr(res, "solution", [])) > 0 and term not in (
            Termination.INFEASIBLE, Termination.UNBOUNDED, Termination.INFEASIBLE_OR_UNBOUNDED)
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
        if name == "glpk" and term is Termination.UNBOUNDED:
            term, note = _glpk_disambiguate(model, opt, kwargs)
            msg += note
        if str(tc) == "feasible":  # stopped early with a feasible point (GLPK/CBC limits)
            term = (Termination.TIME_LIMIT if options.time_limit is not None
                    else Termination.ITERATION_LIMIT if options.max_iter is not None
                    else Termination.ERROR)
        if status == SolverStatus.aborted and term is Termination.ERROR:
            term = Termination.INTERRUPTED
        return Result(termination=term, x=x, y=y, message=msg,
                      extra={"pyomo_solver": name, "termination_condition": str(tc)})
