"""Backend ``cvxpy``: any solver installed under cvxpy (Clarabel, OSQP, SCS, HiGHS, SciPy).

Two paths:

* **linear** (lp, qp, milp): the LinearForm

      minimize cᵀx + ½xᵀQx + c0  s.t.  rl <= Ax <= ru,  lb <= x <= ub,  x_j ∈ Z (j ∈ I)

  is rebuilt as a cvxpy problem (column bounds as the variable's ``bounds`` attribute, rows split
  into equalities A_E x = r_E, upper rows A_U x <= ru_U and lower rows A_L x >= rl_L) and solved
  with the chosen cvxpy solver. With cvxpy's multipliers λ_E, λ_U ≥ 0, λ_L ≥ 0 of the three
  blocks (conventions in ``_row_duals``), optkit's row multipliers under L = f + yᵀAx are

      y_E = λ_E,   y_U = λ_U,   y_L = −λ_L     (summed for a two-sided row).

  optkit then measures KKT residuals on the LinearForm and maps x, y back to user variables, so
  LinearProblem and MPS/LP files also work through cvxpy.
* **model** (conic, and MIQPs written in cvxpy — optkit's LinearForm compiler reads cvxpy's HiGHS
  data, which has no MIQP; cvxpy then picks SCIP when pyscipopt is installed): a copy ``cp.Problem(objective, constraints)`` of the user's problem is solved
  as is; the objective is cvxpy's (user units), ``value()``/``dual()`` read the variables' and
  constraints' values captured right after the solve, and ``kkt['feasibility']`` is the largest
  ``constraint.violation()`` (cvxpy's own residual of each constraint at the returned point).

Status map (cvxpy → optkit): optimal → OPTIMAL; optimal_inaccurate → NUMERICAL_ERROR (the point
is returned and its primal status measured); infeasible(_inaccurate) → INFEASIBLE;
unbounded(_inaccurate) → UNBOUNDED; infeasible_or_unbounded → INFEASIBLE_OR_UNBOUNDED;
user_limit → TIME_LIMIT when a time limit was set and reached, otherwise ITERATION_LIMIT;
solver_error (or cvxpy's SolverError) → NUMERICAL_ERROR; anything else → ERROR.
"""
from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from optkit.backend import LINEAR_CLASSES, Backend
from optkit.errors import OptionError, UnsupportedProblemError
from optkit.options import SolveOptions
from optkit.results import Result
from optkit.status import PrimalStatus, Termination

FEAS_TOL = 1e-6

#: native option names per cvxpy solver for optkit's tol / max_iter / time_limit
NATIVE = {
    "CLARABEL": {"tol": ("tol_gap_abs", "tol_gap_rel", "tol_feas"), "max_iter": ("max_iter",),
                 "time_limit": ("time_limit",)},
    "OSQP": {"tol": ("eps_abs", "eps_rel"), "max_iter": ("max_iter",), "time_limit": ("time_limit",)},
    "SCS": {"tol": ("eps_abs", "eps_rel"), "max_iter": ("max_iters",),
            "time_limit": ("time_limit_secs",)},
    "HIGHS": {"tol": ("primal_feasibility_tolerance", "dual_feasibility_tolerance"),
              "max_iter": ("simplex_iteration_limit", "ipm_iteration_limit"),
              "time_limit": ("time_limit",)},
    "SCIPY": {"tol": (), "max_iter": ("maxiter",), "time_limit": ("time_limit",)},
}


def _status(cvx_status: str | None, options: SolveOptions, elapsed: float) -> Termination:
    """Map a cvxpy status string onto optkit's Termination (see module docstring)."""
    table = {
        "optimal": Termination.OPTIMAL,
        "optimal_inaccurate": Termination.NUMERICAL_ERROR,
        "infeasible": Termination.INFEASIBLE,
        "infeasible_inaccurate": Termination.INFEASIBLE,
        "unbounded": Termination.UNBOUNDED,
        "unbounded_inaccurate": Termination.UNBOUNDED,
        "infeasible_or_unbounded": Termination.INFEASIBLE_OR_UNBOUNDED,
        "solver_error": Termination.NUMERICAL_ERROR,
    }
    if cvx_status == "user_limit":
        if options.time_limit is not None and elapsed >= 0.95 * options.time_limit:
            return Termination.TIME_LIMIT
        return Termination.ITERATION_LIMIT
    return table.get(cvx_status or "", Termination.ERROR)


def native_options(solver: str, options: SolveOptions, is_mip: bool = False) -> dict:
    """optkit's tol / max_iter / time_limit as keyword options of the cvxpy solver ``solver``.

    Solvers without a mapping get only ``solver_options`` (passed through unchanged, last).
    SCIPY takes its options inside a ``scipy_options`` dict; HIGHS also gets ``mip_rel_gap``
    from ``tol`` for a MILP.
    """
    names = NATIVE.get(solver, {})
    out: dict[str, Any] = {}
    if options.tol is not None:
        for k in names.get("tol", ()):
            out[k] = float(options.tol)
        if solver == "HIGHS" and is_mip:
            out["mip_rel_gap"] = float(options.tol)
    if options.max_iter is not None:
        for k in names.get("max_iter", ()):
            out[k] = int(options.max_iter)
    if options.time_limit is not None:
        for k in names.get("time_limit", ()):
            out[k] = float(options.time_limit)
    if solver == "HIGHS" and options.seed is not None:
        out["random_seed"] = int(options.seed)
    if solver == "SCIPY" and out:
        out = {"scipy_options": out}
    user = dict(options.solver_options)
    if solver == "SCIPY" and "scipy_options" in user and "scipy_options" in out:
        out["scipy_options"].update(user.pop("scipy_options"))
    out.update(user)
    return out


def solve_cvxpy(problem, options: SolveOptions, is_mip: bool = False) -> tuple[Termination, str, dict]:
    """Solve a cvxpy problem in place with the backend's solver; (termination, message, info).

    Uses cvxpy's public two-step interface (``get_problem_data`` then the chain's
    ``solve_via_data`` and ``unpack_results``), so the solver cvxpy picks is known before the
    native options are mapped.
    """
    import cvxpy as cp

    solver = options.get("cvxpy_solver")
    if solver is not None:
        solver = str(solver).upper()
        if solver not in cp.installed_solvers():
            raise OptionError(f"cvxpy_solver={solver!r} is not installed; installed cvxpy "
                              f"solvers: {', '.join(cp.installed_solvers())}")
    t0 = time.perf_counter()
    try:
        opts: dict[str, Any] = {}  # cvxpy keeps this dict (by reference) in its inverse data
        data, chain, inverse = problem.get_problem_data(solver, solver_opts=opts)
    except (cp.error.SolverError, cp.error.DCPError) as exc:
        if isinstance(exc, cp.error.SolverError) and solver is None:
            raise UnsupportedProblemError(
                f"backend 'cvxpy': no installed cvxpy solver takes this problem ({exc}); installed: "
                f"{', '.join(cp.installed_solvers())} (a MIQP needs e.g. SCIP: pip install pyscipopt)"
            ) from None
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, cp.error.DCPError):
            text = "the problem is not convex (DCP), e.g. an indefinite quadratic objective Q: " + text
        return Termination.INVALID_PROBLEM, f"cvxpy: {text}", {"solver": solver or ""}
    name = chain.solver.name()
    opts.update(native_options(name, options, is_mip))
    info: dict[str, Any] = {"solver": name, "native_options": dict(opts)}
    try:
        with warnings.catch_warnings():  # "inaccurate" warnings: the status says it already
            warnings.simplefilter("ignore", UserWarning)
            raw = chain.solve_via_data(problem, data, False, bool(options.verbose), opts)
            problem.unpack_results(raw, chain, inverse)
    except cp.error.SolverError as exc:
        return Termination.NUMERICAL_ERROR, f"cvxpy/{name}: {exc}", info
    elapsed = time.perf_counter() - t0
    stats = problem.solver_stats
    iters = getattr(stats, "num_iters", None)
    info["iterations"] = int(iters) if iters is not None and iters >= 0 else None
    info["status"] = problem.status
    term = _status(problem.status, options, elapsed)
    return term, f"cvxpy/{name}: {problem.status}", info


class CvxpyBackend(Backend):
    """Any cvxpy solver: linear path for lp/qp/milp, whole-model path for conic (and cvxpy MIQP)."""

    name = "cvxpy"
    accepts = frozenset({"lp", "qp", "milp", "miqp", "conic"})  # miqp needs SCIP (pyscipopt)
    priority = {"lp": 40, "milp": 20, "qp": 40, "miqp": 100, "conic": 100}
    capabilities = frozenset({"duals", "integer", "inner-solver"})
    requires = ("cvxpy",)
    options = {"cvxpy_solver": None}  # None: cvxpy picks; else CLARABEL, OSQP, SCS, HIGHS, SCIPY, ...
    description = ("cvxpy with any installed solver (Clarabel, OSQP, SCS, HiGHS; SCIP for MIQP): "
                   "LP, QP, MILP, MIQP, conic")

    def version(self) -> str:
        import cvxpy as cp

        return cp.__version__

    def form_for(self, model) -> str:
        """'linear' for lp/qp/milp (and a MIQP given as data), 'model' otherwise: conic problems,
        and MIQPs written in cvxpy (optkit's LinearForm compiler goes through cvxpy's HiGHS data,
        which has no MIQP), go to cvxpy whole."""
        cls = model.problem_class
        if cls in ("lp", "qp", "milp") or (cls in LINEAR_CLASSES and not hasattr(model, "cvxpy_problem")):
            return "linear"
        return "model"

    # ------------------------------------------------------------------ linear path
    def solve_linear(self, form, options: SolveOptions) -> Result:
        """Rebuild the LinearForm in cvxpy, solve, and return x, y in form coordinates."""
        crossed = np.flatnonzero(form.lb > form.ub)
        rows_crossed = np.flatnonzero(form.rl > form.ru)
        if crossed.size or rows_crossed.size:
            what = (f"column index {int(crossed[0])}" if crossed.size else
                    f"row index {int(rows_crossed[0])}")
            return Result(termination=Termination.INFEASIBLE,
                          message=f"lower bound above upper bound at {what}: infeasible")
        if form.n == 0:
            return _empty_form_result(form)
        built = _build_linear(form)
        term, msg, info = solve_cvxpy(built.problem, options, form.is_mip)
        x = y = None
        if built.problem.status in ("optimal", "optimal_inaccurate", "user_limit"):
            x = built.x_value()
            if x is not None and not form.is_mip:
                y = built.row_duals()
        return Result(termination=term, x=x, y=y, iterations=info.get("iterations"),
                      message=msg, extra={"cvxpy_solver": info.get("solver", ""),
                                          "cvxpy_status": info.get("status")})

    # ------------------------------------------------------------------ model path
    def solve_model(self, model, options: SolveOptions) -> Result:
        """Solve a copy of the user's cvxpy problem (conic, or any class given whole)."""
        import cvxpy as cp

        prob = cp.Problem(model.objective, model.constraints)
        if options.x0 is not None and hasattr(model, "check_x0"):
            for var, val in (model.check_x0(options.x0) or {}).items():
                var.value = val
        term, msg, info = solve_cvxpy(prob, options, prob.is_mixed_integer())
        res = Result(termination=term, iterations=info.get("iterations"), message=msg,
                     extra={"cvxpy_solver": info.get("solver", ""), "cvxpy_status": info.get("status")})
        variables = prob.variables()
        has_point = prob.status in ("optimal", "optimal_inaccurate", "user_limit") and all(
            v.value is not None for v in variables)
        if not has_point:
            res._values = lambda var: None
            res._duals = lambda con: None
            res.primal_status = PrimalStatus.NO_SOLUTION
            return res
        values = {v.id: np.array(v.value, dtype=float, copy=True) for v in variables}
        duals = {c.id: (None if c.dual_value is None else
                        (np.array(c.dual_value, dtype=float, copy=True) if not isinstance(c.dual_value, list)
                         else [np.array(d, dtype=float, copy=True) for d in c.dual_value]))
                 for c in prob.constraints}
        res.x = np.concatenate([np.ravel(values[v.id], order="F") for v in variables]) if variables \
            else np.zeros(0)
        res.objective = None if prob.value is None else float(prob.value)
        res._values = lambda var: _lookup(values, var)
        res._duals = lambda con: _lookup(duals, con)
        viol = [float(np.max(np.atleast_1d(c.violation()), initial=0.0)) for c in prob.constraints]
        feas = max(viol, default=0.0)
        res.kkt = {"feasibility": feas, "stationarity": None, "complementarity": None, "kkt": None,
                   "norm": "inf", "measured": "constraint violation (cvxpy's violation())"}
        scale = 1.0 + min(max((float(np.max(np.abs(v), initial=0.0)) for v in values.values()),
                              default=0.0), 1e6)
        tol = FEAS_TOL * scale
        res.primal_status = (PrimalStatus.FEASIBLE if feas <= tol else
                             PrimalStatus.NEARLY_FEASIBLE if feas <= 100 * tol else
                             PrimalStatus.INFEASIBLE)
        return res


def _empty_form_result(form) -> Result:
    """A LinearForm without columns: feasible iff every row range contains 0."""
    if np.all(form.rl <= 0) and np.all(form.ru >= 0):
        return Result(termination=Termination.OPTIMAL, x=np.zeros(0), y=np.zeros(form.m),
                      message="no variables: the constant objective is optimal")
    return Result(termination=Termination.INFEASIBLE, message="no variables and a row range excludes 0")


def _lookup(table: dict, item):
    key = getattr(item, "id", None)
    if key is None:
        raise TypeError(f"expected a cvxpy variable or constraint, got {type(item).__name__}")
    val = table.get(key)
    if val is None or isinstance(val, list):
        return val
    return float(val) if np.ndim(val) == 0 else val


class _BuiltLinear:
    """A cvxpy problem built from a LinearForm, with the maps back to x and y."""

    def __init__(self, problem, parts, perm, m: int, blocks):
        self.problem = problem
        self.parts = parts            # cvxpy variables whose stacked values are x[perm]
        self.perm = perm              # permutation: z = x[perm]
        self.m = m                    # number of rows of the LinearForm
        self.blocks = blocks          # (kind, constraint, row indices) for kind in E, U, L

    def x_value(self) -> np.ndarray | None:
        vals = [p.value for p in self.parts]
        if any(v is None for v in vals):
            return None
        z = np.concatenate([np.atleast_1d(np.asarray(v, float)) for v in vals]) if vals else np.zeros(0)
        x = np.empty_like(z)
        x[self.perm] = z
        return x

    def row_duals(self) -> np.ndarray | None:
        """optkit's y (L = f + yᵀAx) from cvxpy's multipliers (see ``_row_duals``)."""
        return _row_duals(self.m, self.blocks)


def _row_duals(m: int, blocks) -> np.ndarray | None:
    """y_E = λ_E, y_U = λ_U, y_L = −λ_L, summed for two-sided rows.

    cvxpy's conventions: ``A x <= b`` has λ ≥ 0 with Lagrangian f + λᵀ(Ax − b); ``A x >= b`` is
    ``b <= A x`` with λ ≥ 0 and Lagrangian f + λᵀ(b − Ax); ``A x == b`` has Lagrangian
    f + λᵀ(Ax − b) (checked against HiGHS in tests/test_backend_cvxpy.py).
    """
    y = np.zeros(m)
    for kind, con, idx in blocks:
        d = con.dual_value
        if d is None:
            return None
        d = np.atleast_1d(np.asarray(d, float))
        y[idx] += -d if kind == "L" else d
    return y


def _build_linear(form) -> _BuiltLinear:
    """The cvxpy problem of a LinearForm (see module docstring); integer columns get their own
    variable so that cvxpy's ``integer=True`` applies to a whole variable."""
    import cvxpy as cp

    n = form.n
    ints = np.flatnonzero(form.integrality)
    conts = np.flatnonzero(~form.integrality)
    perm = np.concatenate([conts, ints]).astype(int)
    parts = []
    for idx, integer in ((conts, False), (ints, True)):
        if idx.size == 0:
            continue
        lb, ub = form.lb[idx], form.ub[idx]
        bounds = None if not (np.isfinite(lb).any() or np.isfinite(ub).any()) else [lb, ub]
        parts.append(cp.Variable(idx.size, integer=integer, bounds=bounds,
                                 name="xi" if integer else "xc"))
    z = parts[0] if len(parts) == 1 else cp.hstack(parts)
    c = form.c[perm]
    obj = c @ z + form.c0 if n else cp.Constant(form.c0)
    if form.Q is not None:
        Q = sp.csr_matrix(form.Q)[perm][:, perm]
        obj = obj + 0.5 * cp.quad_form(z, Q)  # cvxpy checks Q ⪰ 0 (DCP)
    A = sp.csr_matrix(form.A)[:, perm]
    rl, ru = form.rl, form.ru
    eq = np.flatnonzero(rl == ru)
    up = np.flatnonzero(np.isfinite(ru) & (rl != ru))
    lo = np.flatnonzero(np.isfinite(rl) & (rl != ru))
    cons, blocks = [], []
    for kind, idx in (("E", eq), ("U", up), ("L", lo)):
        if idx.size == 0:
            continue
        Ak = A[idx]
        if kind == "E":
            con = Ak @ z == rl[idx]
        elif kind == "U":
            con = Ak @ z <= ru[idx]
        else:
            con = Ak @ z >= rl[idx]
        cons.append(con)
        blocks.append((kind, con, idx))
    prob = cp.Problem(cp.Minimize(obj), cons)
    return _BuiltLinear(prob, parts, perm, form.m, blocks)
