"""Backend ``scipy``: SciPy's SLSQP, trust-constr, L-BFGS-B, linprog (HiGHS) and milp (HiGHS).

Method choice (own option ``method``): "auto" → ``linprog`` for an LP, ``milp`` for a MILP,
``SLSQP`` for a QP or an NLP; or name one of SLSQP, trust-constr, L-BFGS-B (bound constraints
only: a model with constraint rows is refused), linprog, milp.

Multipliers are returned in optkit's convention L = f + yᵀc (y ≥ 0 on an active upper row bound,
y ≤ 0 on an active lower one); each method's convention was checked against IPOPT and HiGHS:

- SLSQP solves  min f  s.t.  g_E(x) = 0,  g_I(x) ≥ 0  with L = f − λᵀg, λ_I ≥ 0. optkit passes
  equality rows as g = c − cl, lower sides as g = c − cl and upper sides as g = cu − c, so
  y = −λ on equalities and lower sides and y = +λ on upper sides (a range row adds both).
- trust-constr's ``v`` of a NonlinearConstraint lb ≤ c(x) ≤ ub already follows L = f + vᵀc.
- linprog (HiGHS): ``marginals`` are ∂f*/∂b. optkit passes A_ub = [A_U; −A_L], b_ub = [cu; −cl]
  and A_eq = A_E, so y = −marginal on upper sides and equalities and y = +marginal on lower
  sides. milp gives no duals (y = None).

Options:

- linprog / milp: optkit's vocabulary goes through the shared HiGHS mapper
  (:func:`optkit.solvers._highs_options.highs_options`), as for the ``highs`` and ``pyomo``
  backends; scipy hands HiGHS option names it does not document to HiGHS verbatim, so the
  native dict is passed as it is, except ``output_flag`` → scipy's ``disp`` (which also sets
  HiGHS's ``log_to_console``) and HiGHS's "on"/"off" for ``presolve``/``parallel`` → scipy's
  booleans. So ``max_iter`` caps simplex/IPM iterations in linprog and branch-and-bound nodes in
  milp (``mip_max_nodes``, scipy's ``node_limit``), tol sets the feasibility tolerances and, for a
  MILP, ``mip_rel_gap``. ``solver_options`` may use scipy's names and HiGHS's names.
- SLSQP: tol → ``ftol`` = max(tol², 1e-12) (SLSQP stops on the change of f, which near a
  minimiser is of the order of the squared KKT residual; tol defaults to 1e-6 here, so ftol to
  1e-12; the floor: :data:`SLSQP_FTOL_FLOOR`); max_iter → ``maxiter`` (default 500 here).
- trust-constr: tol → ``gtol`` and ``barrier_tol`` (default 1e-8), and it starts with
  ``initial_barrier_parameter=1e-4`` (from scipy's 0.1 its interior-point method stops on ``gtol``
  while the barrier parameter is still ~1e-4, an objective error of that size on HS071 and on
  convex QCQPs); max_iter → ``maxiter``.
- L-BFGS-B: tol → ``gtol`` (projected gradient, default 1e-8 here) and ``ftol`` = tol²;
  max_iter → ``maxiter``.
- time_limit → HiGHS ``time_limit`` for linprog/milp; for SLSQP, trust-constr and L-BFGS-B the
  form's deadline (:mod:`optkit.deadline`, armed by the core, or here when the backend is called
  directly): every oracle checks it, and the exception an oracle raises once it has passed is
  turned into TIME_LIMIT at the last iterate the per-iteration callback saw (which also stops the
  method at the end of an iteration past the deadline); verbose → ``disp`` / ``verbose``.
  Unknown ``solver_options`` keys are
  refused per method (:meth:`ScipyBackend.solver_option_names`).

Statuses (one table, :data:`STATUS_MAP`, keyed "method:status"):

- linprog / milp: scipy's message carries HiGHS's model status number; it is named by scipy's
  HiGHS enum and mapped as for every HiGHS path ("highs:kOptimal", "highs:kSolutionLimit",
  "highs:kObjectiveBound", ...). Only when the message has no HiGHS status, scipy's own code is
  used ("linprog:1" iteration or time limit → OTHER_LIMIT, ...).
- SLSQP exit modes "slsqp:0" … "slsqp:9", as SLSQP states them: 0 → LOCALLY_OPTIMAL, 4
  (inequality constraints incompatible) → LOCALLY_INFEASIBLE, 3, 5–7 → NUMERICAL_ERROR, 9 →
  ITERATION_LIMIT, 2 → INVALID_PROBLEM. Mode 8 (positive directional derivative in the line
  search) says only that no descent is possible: SLSQP ends there both at a minimiser where
  rounding stalls the line search and at an infeasible stall point; it is refined by the core's
  own measurement and tolerances (:func:`slsqp_stall_key`): "slsqp:8:stationary" →
  LOCALLY_OPTIMAL, "slsqp:8:infeasible" → LOCALLY_INFEASIBLE, else "slsqp:8" → NUMERICAL_ERROR.
- trust-constr "trust-constr:0" … "trust-constr:4": 1 (gtol met) → LOCALLY_OPTIMAL, 2 (xtol: the
  trust region collapsed, scipy's other success) → ALMOST_LOCALLY_OPTIMAL, 0 → ITERATION_LIMIT,
  4 (converged with the constraint violation above gtol) → LOCALLY_INFEASIBLE.
- L-BFGS-B "l-bfgs-b:0" converged → LOCALLY_OPTIMAL, 1 (maxiter / maxfun) → ITERATION_LIMIT,
  2 (abnormal line search) → NUMERICAL_ERROR.
- "slsqp:time_limit", "trust-constr:time_limit", "l-bfgs-b:time_limit": the deadline → TIME_LIMIT.
"""
from __future__ import annotations

import inspect
import re
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from optkit.backend import Backend
from optkit.deadline import Deadline, DeadlineExceeded
from optkit.errors import OptionError
from optkit.options import Option, SolveOptions
from optkit.raw import RawSolution, iteration_record
from optkit.status import Termination

from ._highs_options import HIGHS_STATUS_MAP, highs_options, keeps_point, status_key

METHODS = ("auto", "SLSQP", "trust-constr", "L-BFGS-B", "linprog", "milp")
#: the methods of the NLP path
NLP_METHODS = ("SLSQP", "trust-constr", "L-BFGS-B")

_T = Termination
#: native status ("method:status") → termination, for every method of this backend
STATUS_MAP: dict[str, Termination] = {
    **{f"highs:{k}": v for k, v in HIGHS_STATUS_MAP.items()},
    # scipy's own linprog / milp codes (used only when the message names no HiGHS status)
    "linprog:0": _T.OPTIMAL, "linprog:1": _T.OTHER_LIMIT, "linprog:2": _T.INFEASIBLE,
    "linprog:3": _T.UNBOUNDED, "linprog:4": _T.NUMERICAL_ERROR,
    "milp:0": _T.OPTIMAL, "milp:1": _T.OTHER_LIMIT, "milp:2": _T.INFEASIBLE,
    "milp:3": _T.UNBOUNDED, "milp:4": _T.NUMERICAL_ERROR,
    # SLSQP exit modes
    "slsqp:0": _T.LOCALLY_OPTIMAL,      # Optimization terminated successfully
    "slsqp:2": _T.INVALID_PROBLEM,      # More equality constraints than independent variables
    "slsqp:3": _T.NUMERICAL_ERROR,      # More than 3*n iterations in LSQ subproblem
    "slsqp:4": _T.LOCALLY_INFEASIBLE,   # Inequality constraints incompatible
    "slsqp:5": _T.NUMERICAL_ERROR,      # Singular matrix E in LSQ subproblem
    "slsqp:6": _T.NUMERICAL_ERROR,      # Singular matrix C in LSQ subproblem
    "slsqp:7": _T.NUMERICAL_ERROR,      # Rank-deficient equality constraint subproblem HFTI
    "slsqp:8": _T.NUMERICAL_ERROR,      # Positive directional derivative for linesearch
    "slsqp:8:stationary": _T.LOCALLY_OPTIMAL,    # ... at a point that passes the KKT checks
    "slsqp:8:infeasible": _T.LOCALLY_INFEASIBLE,  # ... at a point that fails feasibility
    "slsqp:9": _T.ITERATION_LIMIT,      # Iteration limit reached
    "slsqp:99": _T.INTERRUPTED,         # callback raised StopIteration
    "slsqp:time_limit": _T.TIME_LIMIT,  # optkit's wall-clock check in the callback
    # trust-constr statuses
    "trust-constr:0": _T.ITERATION_LIMIT,         # maximum number of iterations
    "trust-constr:1": _T.LOCALLY_OPTIMAL,         # gtol termination condition satisfied
    "trust-constr:2": _T.ALMOST_LOCALLY_OPTIMAL,  # xtol: trust region below xtol
    "trust-constr:3": _T.INTERRUPTED,             # callback raised StopIteration
    "trust-constr:4": _T.LOCALLY_INFEASIBLE,      # converged, constraint violation > gtol
    "trust-constr:time_limit": _T.TIME_LIMIT,
    # L-BFGS-B statuses
    "l-bfgs-b:0": _T.LOCALLY_OPTIMAL,     # CONVERGENCE
    "l-bfgs-b:1": _T.ITERATION_LIMIT,     # maxiter or maxfun reached
    "l-bfgs-b:2": _T.NUMERICAL_ERROR,     # ABNORMAL (line search failed)
    "l-bfgs-b:time_limit": _T.TIME_LIMIT,
}

_HIGHS_STATUS_IN_MESSAGE = re.compile(r"HiGHS Status (\d+)")
#: scipy's documented milp options (scipy.optimize.milp docstring)
_MILP_OPTIONS = ("disp", "presolve", "time_limit", "node_limit", "mip_rel_gap")
#: the arguments of scipy's method functions that are the problem, not options
_NOT_OPTIONS = frozenset({"func", "fun", "x0", "args", "jac", "grad", "hess", "hessp", "bounds",
                          "constraints", "callback", "lp", "solver"})


#: lowest SLSQP ftol: its stop test asks |Δf| < ftol *and* summed constraint violation < ftol,
#: both absolute; below ~1e-12 rounding makes that unreachable (measured on the conformance suite
#: at tol=1e-9: with a floor of 1e-16 four smooth cases ended on mode 8 or 9 at KKT residuals of
#: 1e-13 to 1e-10, with 1e-14 two, with 1e-12 one)
SLSQP_FTOL_FLOOR = 1e-12


def slsqp_stall_key(form, x: np.ndarray, y: np.ndarray | None, options: SolveOptions) -> str:
    """Refine SLSQP's mode 8 (positive directional derivative in the line search: no descent
    possible), which SLSQP gives both at a minimiser where rounding stalls the line search and at
    an infeasible point where its relaxed subproblem can no longer reduce the violation (scipy ≥
    1.16). The point is measured with the core's own KKT code and tolerances (``optkit.kkt``,
    ``optkit.verify``, as :func:`optkit.finish.measure` does after the solve), no constant of this
    backend: "slsqp:8:stationary" → LOCALLY_OPTIMAL when every check passes,
    "slsqp:8:infeasible" → LOCALLY_INFEASIBLE when the scaled feasibility check fails, else
    "slsqp:8" → NUMERICAL_ERROR."""
    from optkit.kkt import nlp_kkt
    from optkit.verify import KKTReport, Tolerances, judge

    tolerances = Tolerances.from_options(options)
    try:
        values = nlp_kkt(form, x, y)
    except Exception:  # an oracle failing at x: no refinement
        return "slsqp:8"
    passed, _ = judge(KKTReport(values), tolerances)
    if passed and values.get("stationarity_rel") is not None:
        return "slsqp:8:stationary"
    feas = values.get("feasibility_rel")
    if feas is not None and not feas <= tolerances.feas:
        return "slsqp:8:infeasible"
    return "slsqp:8"


class _Cache:
    """Memoises c(x) and ∇c(x) at the last point (SLSQP asks for them per constraint block)."""

    def __init__(self, form):
        self.form = form
        self._cx = self._jx = None
        self._c = self._j = None

    def cons(self, x: np.ndarray) -> np.ndarray:
        if self._cx is None or not np.array_equal(x, self._cx):
            self._c, self._cx = self.form.cons(x), np.array(x, copy=True)
        return self._c

    def jac(self, x: np.ndarray) -> sp.csr_matrix:
        if self._jx is None or not np.array_equal(x, self._jx):
            self._j, self._jx = self.form.jac(x), np.array(x, copy=True)
        return self._j


class _Monitor:
    """Callback: per-iteration history (``iteration_record``), the iterate noted on the form, and
    the form's deadline (raises StopIteration once it has passed). trust-constr reports
    ``constr_violation`` (primal) and ``optimality`` (dual)."""

    def __init__(self, form, deadline: Deadline, evaluations: Callable[[], int | None]):
        self.start = time.perf_counter()
        self.form = form
        self.deadline = deadline
        self.history: list[dict] = []
        self.timed_out = False
        self._evaluations = evaluations

    def __call__(self, intermediate_result) -> None:
        r = intermediate_result
        now = time.perf_counter()
        if hasattr(self.form, "note_iterate") and getattr(r, "x", None) is not None:
            self.form.note_iterate(r.x)
        extra = {k: float(r[k]) for k in ("tr_radius", "barrier_parameter") if k in r}
        self.history.append(iteration_record(
            len(self.history) + 1, objective=float(r.fun),
            primal_infeasibility=float(r["constr_violation"]) if "constr_violation" in r else None,
            dual_infeasibility=float(r["optimality"]) if "optimality" in r else None,
            evaluations=self._evaluations(), time=now - self.start, **extra))
        if self.deadline.expired():
            self.timed_out = True
            raise StopIteration


def _row_sets(cl: np.ndarray, cu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of equality rows, finite lower sides and finite upper sides (non-equality rows)."""
    eq = cl == cu
    return (np.flatnonzero(eq), np.flatnonzero(~eq & np.isfinite(cl)),
            np.flatnonzero(~eq & np.isfinite(cu)))


def highs_status_name(message: str) -> str | None:
    """HiGHS's model status name from a linprog/milp message "... (HiGHS Status 7: ...)"."""
    match = _HIGHS_STATUS_IN_MESSAGE.search(message)
    if match is None:
        return None
    code = int(match.group(1))
    try:
        from scipy.optimize._highspy._core import HighsModelStatus  # scipy's HiGHS build
        return HighsModelStatus(code).name
    except Exception:  # an enum scipy no longer exposes: the number stays unnamed
        return None


def scipy_highs_options(options: SolveOptions, is_mip: bool) -> dict[str, Any]:
    """The options dict for linprog(method="highs") / milp: the shared HiGHS mapping, with
    ``output_flag`` → ``disp``, scipy's ``node_limit`` → HiGHS's ``mip_max_nodes`` and HiGHS's
    "on"/"off" for presolve/parallel → scipy's booleans."""
    out: dict[str, Any] = dict(highs_options(options, is_mip))
    out["disp"] = bool(out.pop("output_flag", False))
    if "node_limit" in out:  # scipy's name of HiGHS's mip_max_nodes (so status_key sees it)
        out["mip_max_nodes"] = out.pop("node_limit")
    for key in ("presolve", "parallel"):
        if out.get(key) in ("on", "off"):
            out[key] = out[key] == "on"
    return out


def _signature_options(func_path: str) -> list[str] | None:
    """Keyword options of a scipy method function (by signature), or None when not importable."""
    module, _, name = func_path.rpartition(".")
    try:
        import importlib

        fn = getattr(importlib.import_module(module), name)
        params = inspect.signature(fn).parameters.values()
    except Exception:
        return None
    return [p.name for p in params if p.name not in _NOT_OPTIONS
            and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def _scipy_highs_names() -> list[str]:
    """HiGHS option names scipy's HiGHS build accepts verbatim (its HighsOptions attributes that
    its option manager knows)."""
    try:
        from scipy.optimize._highspy import _core, _highs_options

        manager = _highs_options.HighsOptionsManager()
        return [a for a in dir(_core.HighsOptions()) if not a.startswith("_")
                and manager.get_option_type(a) != -1]
    except Exception:
        return []


_OPTION_NAMES: dict[str, list[str] | None] = {}


def method_option_names(method: str) -> list[str] | None:
    """Names ``solver_options`` may use with scipy method ``method`` (None: cannot be listed)."""
    if method not in _OPTION_NAMES:
        if method == "SLSQP":
            names = _signature_options("scipy.optimize._slsqp_py._minimize_slsqp")
        elif method == "trust-constr":
            names = _signature_options("scipy.optimize._trustregion_constr."
                                       "minimize_trustregion_constr._minimize_trustregion_constr")
        elif method == "L-BFGS-B":
            names = _signature_options("scipy.optimize._lbfgsb_py._minimize_lbfgsb")
        else:
            own = (_signature_options("scipy.optimize._linprog_highs._linprog_highs")
                   if method == "linprog" else list(_MILP_OPTIONS))
            hi = _scipy_highs_names()
            names = None if own is None or not hi else sorted(set(own) | set(hi))
        _OPTION_NAMES[method] = names
    names = _OPTION_NAMES[method]
    return None if names is None else list(names)


class _MethodOptions:
    """The backend seen through one method, for the core's ``check_solver_options``."""

    def __init__(self, method: str):
        self.name = f"scipy (method {method})"
        self.method = method

    def solver_option_names(self) -> list[str] | None:
        return method_option_names(self.method)


class ScipyBackend(Backend):
    """SciPy's constrained optimisers behind optkit's interface (see module docstring)."""

    name = "scipy"
    accepts = frozenset({"nlp", "nlp-equality", "lp", "milp", "qp"})
    priority = {"lp": 50, "milp": 50, "qp": 20, "nlp": 50}
    capabilities = frozenset({"duals", "integer", "inner-solver", "nonconvex-qp"})
    requires = ("scipy",)
    extra = None  # base install (docs/install.md)
    options = {"method": Option("auto", METHODS, "auto (linprog for LP, milp for MILP, SLSQP "
                                                 "otherwise), SLSQP, trust-constr, linprog, milp")}
    description = "SciPy: SLSQP, trust-constr (NLP/QP), linprog and milp via HiGHS (LP/MILP)"
    STATUS_MAP = STATUS_MAP

    def version(self) -> str:
        import scipy

        return scipy.__version__

    def solver_option_names(self, method: str | None = None) -> list[str] | None:
        """Option names of ``method`` (every method's together when None; each solve checks its
        own method's list again): SLSQP and trust-constr from their scipy function signatures,
        linprog from its signature, milp from its documented options, both with the HiGHS names
        scipy's HiGHS accepts verbatim."""
        if method is not None:
            return method_option_names(method)
        lists = [method_option_names(m) for m in METHODS[1:]]
        if any(names is None for names in lists):
            return None
        return sorted({n for names in lists for n in names or ()})

    @staticmethod
    def _check(method: str, options: SolveOptions) -> None:
        """Refuse solver_options keys the chosen method does not take (close matches listed)."""
        if options.solver_options:
            from optkit.solving import check_solver_options

            check_solver_options(_MethodOptions(method), options)

    # ================================================================== linear path
    def solve_linear(self, form, options: SolveOptions) -> RawSolution:
        """LP → linprog, MILP → milp, QP (or an explicit NLP method) → the NLP path."""
        method = options.get("method", "auto")
        if method == "auto":
            method = "milp" if form.is_mip else ("SLSQP" if form.is_qp else "linprog")
        if form.is_mip and method != "milp":
            raise OptionError(f"scipy method {method!r} ignores integrality; use method='milp' "
                              f"(or 'auto') for a {form.problem_class} problem")
        if form.is_qp and method in ("linprog", "milp"):
            raise OptionError(f"scipy method {method!r} cannot take a quadratic objective; use "
                              f"'SLSQP' or 'trust-constr' (or 'auto')")
        self._check(method, options)
        if method in NLP_METHODS:
            nlp = form.to_nlp_form()
            raw = self._solve_nlp(nlp, options, method)
            raw.evaluations = dict(nlp.counts)
            return raw
        return self._milp(form, options) if method == "milp" else self._linprog(form, options)

    @staticmethod
    def _call_highs(fn: Callable[[], Any]) -> Any:
        """Run a scipy HiGHS call: its notes that undocumented names go to HiGHS verbatim are
        expected (that is how the shared options reach HiGHS); a value HiGHS refuses is bad input."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = fn()
        for w in caught:
            text = str(w.message)
            if "verbatim" in text:
                continue
            if "option" in text.lower():
                raise OptionError(f"scipy's HiGHS refused an option: {text}")
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return res

    @staticmethod
    def _key(method: str, res, native: dict, nodes: int | None = None) -> str:
        name = highs_status_name(str(res.message))
        if name is None:
            return f"{method}:{int(res.status)}"
        return "highs:" + status_key(name, nodes, native)

    def _linprog(self, form, options: SolveOptions) -> RawSolution:
        from scipy.optimize import linprog

        eq, lo, up = _row_sets(form.rl, form.ru)
        A = form.A
        A_ub = sp.vstack([A[up], -A[lo]], format="csr") if (up.size + lo.size) else None
        b_ub = np.concatenate([form.ru[up], -form.rl[lo]]) if A_ub is not None else None
        A_eq = A[eq] if eq.size else None
        b_eq = form.rl[eq] if eq.size else None
        bounds = np.column_stack([form.lb, form.ub])
        native = scipy_highs_options(options, is_mip=False)
        try:
            res = self._call_highs(lambda: linprog(form.c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq,
                                                   b_eq=b_eq, bounds=bounds, method="highs",
                                                   options=dict(native)))
        except OptionError:
            raise
        except ValueError as exc:
            raise OptionError(f"linprog rejected the call: {exc}") from exc
        key = self._key("linprog", res, native)
        x = y = None
        if res.x is not None and keeps_point(key.removeprefix("highs:")):
            x = np.asarray(res.x, float)
            y = np.zeros(form.m)
            if A_ub is not None and res.ineqlin is not None:
                mu = np.asarray(res.ineqlin.marginals, float)
                y[up] -= mu[:up.size]
                y[lo] += mu[up.size:]
            if eq.size and res.eqlin is not None:
                y[eq] = -np.asarray(res.eqlin.marginals, float)
        nit = getattr(res, "nit", None)
        return RawSolution(status=key, status_text=str(res.message), x=x, y=y,
                           objective=None if x is None else float(res.fun) + float(form.c0),
                           iterations=None if nit is None else int(nit),
                           extra={"scipy_method": "linprog/highs", "scipy_status": int(res.status),
                                  "native_options": native})

    def _milp(self, form, options: SolveOptions) -> RawSolution:
        from scipy.optimize import Bounds, LinearConstraint, milp

        cons = [LinearConstraint(form.A, form.rl, form.ru)] if form.m else []
        native = scipy_highs_options(options, is_mip=form.is_mip)
        res = self._call_highs(lambda: milp(form.c, integrality=form.integrality.astype(int),
                                            bounds=Bounds(form.lb, form.ub), constraints=cons,
                                            options=dict(native)))
        count = getattr(res, "mip_node_count", None)
        nodes = int(count) if count is not None and form.is_mip else None
        key = self._key("milp", res, native, nodes)
        x = None
        if res.x is not None and keeps_point(key.removeprefix("highs:")):
            x = np.asarray(res.x, float)
        raw = RawSolution(status=key, status_text=str(res.message), x=x, y=None,
                          objective=None if x is None else float(res.fun) + float(form.c0),
                          iterations=None, nodes=nodes,
                          extra={"scipy_method": "milp/highs", "scipy_status": int(res.status),
                                 "native_options": native})
        if form.is_mip:
            if getattr(res, "mip_gap", None) is not None:
                raw.mip_gap = float(res.mip_gap)
            if getattr(res, "mip_dual_bound", None) is not None:
                raw.dual_bound = float(res.mip_dual_bound) + float(form.c0)
        return raw

    # ================================================================== NLP path
    def solve_nlp(self, form, options: SolveOptions) -> RawSolution:
        """SLSQP (default), trust-constr or L-BFGS-B with the form's derivatives."""
        method = options.get("method", "auto")
        if method in ("linprog", "milp"):
            raise OptionError(f"scipy method {method!r} solves LP/MILP only; this is a "
                              f"nonlinear problem (use 'SLSQP', 'trust-constr' or 'auto')")
        method = "SLSQP" if method == "auto" else method
        self._check(method, options)
        return self._solve_nlp(form, options, method)

    def _solve_nlp(self, form, options: SolveOptions, method: str) -> RawSolution:
        """One NLP method under the form's deadline (armed here when the core has not armed it,
        e.g. the NLP form of a QP); an oracle's DeadlineExceeded → TIME_LIMIT at the last iterate
        with the history so far."""
        if method == "L-BFGS-B" and form.m:
            raise OptionError(f"scipy method 'L-BFGS-B' takes bound constraints only; this "
                              f"problem has {form.m} constraint rows (use 'SLSQP' or "
                              f"'trust-constr')")
        deadline = getattr(form, "deadline", None)
        if not isinstance(deadline, Deadline):
            deadline = Deadline()
        own = not deadline.armed and options.time_limit is not None
        if own:
            deadline.arm(options.time_limit)
        mon = self._monitor(form, deadline)
        run = {"SLSQP": self._slsqp, "trust-constr": self._trust_constr,
               "L-BFGS-B": self._lbfgsb}[method]
        try:
            return run(form, options, mon)
        except DeadlineExceeded as exc:
            return RawSolution(status=f"{method.lower()}:time_limit", status_text=str(exc),
                               x=getattr(form, "iterate", None), iterations=len(mon.history),
                               history=mon.history, message=f"{exc}; last iterate returned",
                               extra={"scipy_method": method, "deadline_overrun": exc.overrun})
        finally:
            if own:
                deadline.disarm()

    @staticmethod
    def _bounds(form):
        from scipy.optimize import Bounds

        if np.all(np.isinf(form.lb)) and np.all(np.isinf(form.ub)):
            return None
        return Bounds(form.lb, form.ub)

    @staticmethod
    def _monitor(form, deadline: Deadline) -> _Monitor:
        counts = getattr(form, "counts", None)
        return _Monitor(form, deadline,
                        (lambda: int(counts.get("f", 0))) if counts is not None else (lambda: None))

    def _slsqp(self, form, options: SolveOptions, mon: _Monitor) -> RawSolution:
        from scipy.optimize import minimize

        cache = _Cache(form)
        eq, lo, up = _row_sets(form.cl, form.cu)
        cons = []
        if eq.size:
            cons.append({"type": "eq", "fun": lambda x: cache.cons(x)[eq] - form.cl[eq],
                         "jac": lambda x: cache.jac(x)[eq].toarray()})
        if lo.size + up.size:
            cons.append({"type": "ineq",
                         "fun": lambda x: np.concatenate([cache.cons(x)[lo] - form.cl[lo],
                                                          form.cu[up] - cache.cons(x)[up]]),
                         "jac": lambda x: np.vstack([cache.jac(x)[lo].toarray(),
                                                     -cache.jac(x)[up].toarray()])})
        tol = float(options.tol) if options.tol is not None else 1e-6
        opts = {"ftol": max(tol * tol, SLSQP_FTOL_FLOOR),
                "maxiter": int(options.max_iter) if options.max_iter is not None else 500,
                "disp": bool(options.verbose)}
        opts.update(dict(options.solver_options))
        res = minimize(form.f, form.x0.copy(), jac=form.grad, method="SLSQP",
                       bounds=self._bounds(form), constraints=cons, options=opts, callback=mon)
        x = np.asarray(res.x, float)
        y = None
        lam = getattr(res, "multipliers", None)
        if lam is not None and form.m:
            lam = np.asarray(lam, float)
            y = np.zeros(form.m)
            y[eq] = -lam[:eq.size]
            k = eq.size
            y[lo] -= lam[k:k + lo.size]
            y[up] += lam[k + lo.size:k + lo.size + up.size]
        elif form.m == 0:
            y = np.zeros(0)
        status = int(res.status)
        key, msg = f"slsqp:{status}", str(res.message)
        if mon.timed_out:
            key, msg = "slsqp:time_limit", f"time limit {mon.deadline.limit} s reached"
        elif status == 8 and np.all(np.isfinite(x)):
            key = slsqp_stall_key(form, x, y, options)
        return RawSolution(status=key, status_text=msg, x=x, y=y, objective=float(res.fun),
                           iterations=int(getattr(res, "nit", 0) or 0), history=mon.history,
                           extra={"scipy_method": "SLSQP", "scipy_status": status})

    def _trust_constr(self, form, options: SolveOptions, mon: _Monitor) -> RawSolution:
        from scipy.optimize import NonlinearConstraint, minimize

        cache = _Cache(form)
        zeros = np.zeros(form.m)
        cons = []
        if form.m:
            cons.append(NonlinearConstraint(cache.cons, form.cl, form.cu, jac=cache.jac,
                                            hess=lambda x, v: form.hess(x, v, 0.0)))
        tol = float(options.tol) if options.tol is not None else 1e-8
        opts: dict = {"verbose": 2 if options.verbose else 0, "gtol": tol, "barrier_tol": tol,
                      "initial_barrier_parameter": 1e-4}
        if options.max_iter is not None:
            opts["maxiter"] = int(options.max_iter)
        opts.update(dict(options.solver_options))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "delta_grad == 0.0" and similar chatter
            res = minimize(form.f, form.x0.copy(), jac=form.grad,
                           hess=lambda x: form.hess(x, zeros, 1.0), method="trust-constr",
                           bounds=self._bounds(form), constraints=cons, options=opts,
                           callback=mon)
        x = np.asarray(res.x, float)
        y = np.asarray(res.v[0], float) if form.m else np.zeros(0)
        status = int(res.status)
        key, msg = f"trust-constr:{status}", str(res.message)
        if mon.timed_out:
            key, msg = ("trust-constr:time_limit", f"time limit {mon.deadline.limit} s reached")
        return RawSolution(status=key, status_text=msg, x=x, y=y, objective=float(res.fun),
                           iterations=int(res.nit), history=mon.history,
                           extra={"scipy_method": f"trust-constr/{res.method}",
                                  "scipy_status": status, "optimality": float(res.optimality),
                                  "constr_violation": float(res.constr_violation)})

    def _lbfgsb(self, form, options: SolveOptions, mon: _Monitor) -> RawSolution:
        from scipy.optimize import minimize

        tol = float(options.tol) if options.tol is not None else 1e-8
        opts: dict = {"gtol": tol, "ftol": max(tol * tol, 1e-15)}
        if options.max_iter is not None:
            opts["maxiter"] = int(options.max_iter)
        opts.update(dict(options.solver_options))
        res = minimize(form.f, form.x0.copy(), jac=form.grad, method="L-BFGS-B",
                       bounds=self._bounds(form), options=opts, callback=mon)
        x = np.asarray(res.x, float)
        status = int(res.status)
        key, msg = f"l-bfgs-b:{status}", str(res.message)
        if mon.timed_out:
            key, msg = "l-bfgs-b:time_limit", f"time limit {mon.deadline.limit} s reached"
        return RawSolution(status=key, status_text=msg, x=x, y=np.zeros(0),
                           objective=float(res.fun), iterations=int(getattr(res, "nit", 0) or 0),
                           history=mon.history,
                           extra={"scipy_method": "L-BFGS-B", "scipy_status": status})
