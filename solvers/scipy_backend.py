"""Backend ``scipy``: SciPy's SLSQP, trust-constr, linprog (HiGHS) and milp (HiGHS).

Method choice (own option ``method``): "auto" → ``linprog`` for an LP, ``milp`` for a MILP,
``SLSQP`` for a QP or an NLP; or name one of SLSQP, trust-constr, linprog, milp.

Multipliers are returned in optkit's convention L = f + yᵀc (y ≥ 0 on an active upper row bound,
y ≤ 0 on an active lower one); each method's convention was checked against IPOPT and HiGHS:

- SLSQP solves  min f  s.t.  g_E(x) = 0,  g_I(x) ≥ 0  with L = f − λᵀg, λ_I ≥ 0. optkit passes
  equality rows as g = c − cl, lower sides as g = c − cl and upper sides as g = cu − c, so
  y = −λ on equalities and lower sides and y = +λ on upper sides (a range row adds both).
- trust-constr's ``v`` of a NonlinearConstraint lb ≤ c(x) ≤ ub already follows L = f + vᵀc.
- linprog (HiGHS): ``marginals`` are ∂f*/∂b. optkit passes A_ub = [A_U; −A_L], b_ub = [cu; −cl]
  and A_eq = A_E, so y = −marginal on upper sides and equalities and y = +marginal on lower
  sides. milp gives no duals (y = None).

Options (details and the status table: docs/backends_nlp.md):

- tol → SLSQP ``ftol`` = max(tol², 1e-16): SLSQP stops on the change of f, which near a
  minimiser is of the order of the squared KKT residual (tol defaults to 1e-6 here, so ftol to
  1e-12; scipy's ftol of 1e-6 leaves KKT residuals ~1e-4 in a Rosenbrock valley). An exit on
  mode 8 ("positive directional derivative") at a point whose optkit-measured KKT residual is
  ≤ max(tol, 1e-6)·(1 + |f|) is reported LOCALLY_OPTIMAL: the line search then only stalls on
  rounding, and the message says so.
- tol → trust-constr ``gtol`` and ``barrier_tol`` (default 1e-8). trust-constr also starts with
  ``initial_barrier_parameter=1e-4``: from scipy's 0.1 its interior-point method stops on
  ``gtol`` while the barrier parameter is still ~1e-4, an objective error of that size on HS071
  and on convex QCQPs; from 1e-4 the KKT residual there is ~1e-7.
- tol → linprog primal and dual feasibility tolerances; milp ``mip_rel_gap``.
- max_iter → ``maxiter`` (SLSQP default 500 here); time_limit → HiGHS ``time_limit`` for
  linprog/milp and a wall-clock check in the SLSQP / trust-constr callback; verbose → ``disp``;
  ``solver_options`` go into scipy's ``options`` dict unchanged.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from optkit.backend import Backend
from optkit.errors import OptionError
from optkit.kkt import nlp_kkt
from optkit.options import SolveOptions
from optkit.results import Result
from optkit.status import Termination

METHODS = ("auto", "SLSQP", "trust-constr", "linprog", "milp")

#: SLSQP exit mode → termination (4 is refined by the measured feasibility, see slsqp_termination)
SLSQP_STATUS = {
    0: Termination.LOCALLY_OPTIMAL,    # Optimization terminated successfully
    2: Termination.INVALID_PROBLEM,    # More equality constraints than independent variables
    3: Termination.NUMERICAL_ERROR,    # More than 3*n iterations in LSQ subproblem
    4: Termination.LOCALLY_INFEASIBLE,  # Inequality constraints incompatible
    5: Termination.NUMERICAL_ERROR,    # Singular matrix E in LSQ subproblem
    6: Termination.NUMERICAL_ERROR,    # Singular matrix C in LSQ subproblem
    7: Termination.NUMERICAL_ERROR,    # Rank-deficient equality constraint subproblem HFTI
    8: Termination.NUMERICAL_ERROR,    # Positive directional derivative for linesearch
    9: Termination.ITERATION_LIMIT,    # Iteration limit reached
}

def slsqp_termination(status: int, feasible: bool | None = None) -> Termination:
    """SLSQP exit mode → termination. Mode 4 (linearised inequalities incompatible) means local
    infeasibility at an infeasible point, a failed QP subproblem (NUMERICAL_ERROR) at a feasible
    one. Mode 8 (positive directional derivative in the line search) stays NUMERICAL_ERROR: since
    scipy 1.16 SLSQP relaxes incompatible subproblems and usually ends an infeasible problem on
    mode 8, but a merely badly scaled feasible one can end there too; the measured primal status
    (INFEASIBLE) tells the two apart for the caller."""
    if status == 4 and feasible:
        return Termination.NUMERICAL_ERROR
    return SLSQP_STATUS.get(status, Termination.ERROR)


def trust_constr_termination(status: int, optimality: float, violation: float,
                             gtol: float) -> tuple[Termination, str]:
    """trust-constr status → (termination, note for the message).

    1 (gtol met) → LOCALLY_OPTIMAL; 0 (iteration limit) → ITERATION_LIMIT. 2 (xtol: the trust
    region collapsed) → LOCALLY_OPTIMAL only when scipy's optimality ≤ max(1e3·gtol, 1e-6) and the
    violation ≤ 1e-6, else NUMERICAL_ERROR. 4 (scipy ≥ 1.15: converged with violation > gtol) →
    LOCALLY_INFEASIBLE when the violation exceeds 1e-6 (a stationary point of the infeasibility),
    otherwise it is judged as 1/2 would be (a violation just above a tiny gtol is not infeasibility).
    """
    small = optimality <= max(1e3 * gtol, 1e-6) and violation <= FEAS_TOL
    if status == 1:
        return Termination.LOCALLY_OPTIMAL, ""
    if status == 0:
        return Termination.ITERATION_LIMIT, ""
    if status == 4 and violation > FEAS_TOL:
        return Termination.LOCALLY_INFEASIBLE, f" (violation {violation:.1e})"
    if status in (2, 4):
        if small:
            return Termination.LOCALLY_OPTIMAL, (" (accepted: optimality and constraint violation"
                                                 " small)")
        return Termination.NUMERICAL_ERROR, ""
    return Termination.ERROR, ""


#: linprog / milp status → termination (1 is split into iteration / time limit by message)
LINEAR_STATUS = {
    0: Termination.OPTIMAL,
    1: Termination.ITERATION_LIMIT,
    2: Termination.INFEASIBLE,
    3: Termination.UNBOUNDED,
    4: Termination.NUMERICAL_ERROR,
}

FEAS_TOL = 1e-6


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
    """Callback: per-iteration history and a wall-clock deadline (raises StopIteration)."""

    def __init__(self, time_limit: float | None):
        self.deadline = None if time_limit is None else time.perf_counter() + float(time_limit)
        self.history: list[dict] = []
        self.timed_out = False

    def __call__(self, intermediate_result) -> None:
        r = intermediate_result
        rec = {"iter": len(self.history) + 1, "obj": float(r.fun)}
        for key in ("constr_violation", "optimality", "tr_radius", "barrier_parameter"):
            if key in r:
                rec[key] = float(r[key])
        self.history.append(rec)
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.timed_out = True
            raise StopIteration


def _row_sets(cl: np.ndarray, cu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of equality rows, finite lower sides and finite upper sides (non-equality rows)."""
    eq = cl == cu
    return (np.flatnonzero(eq), np.flatnonzero(~eq & np.isfinite(cl)),
            np.flatnonzero(~eq & np.isfinite(cu)))


def _crossed(form) -> str:
    lo = getattr(form, "rl", getattr(form, "cl", None))
    hi = getattr(form, "ru", getattr(form, "cu", None))
    for a, b, what in ((form.lb, form.ub, "variable"), (lo, hi, "row")):
        bad = np.flatnonzero(a > b)
        if bad.size:
            i = int(bad[0])
            return f"{what} {i} has crossed bounds [{a[i]}, {b[i]}]"
    return ""


def _finite_or_error(x: np.ndarray, y, term: Termination):
    """A point with NaN/inf is no solution: drop it, and a claimed success becomes NUMERICAL_ERROR."""
    if np.all(np.isfinite(x)):
        return x, y, term
    return None, None, (Termination.NUMERICAL_ERROR if term.is_success else term)


class ScipyBackend(Backend):
    """SciPy's constrained optimisers behind optkit's interface (see module docstring)."""

    name = "scipy"
    accepts = frozenset({"nlp", "nlp-equality", "lp", "milp", "qp"})
    priority = {"lp": 50, "milp": 50, "qp": 20, "nlp": 50}
    capabilities = frozenset({"duals", "integer", "inner-solver"})
    requires = ("scipy",)
    options = {"method": "auto"}
    description = "SciPy: SLSQP, trust-constr (NLP/QP), linprog and milp via HiGHS (LP/MILP)"

    def version(self) -> str:
        import scipy

        return scipy.__version__

    @staticmethod
    def _method(options: SolveOptions) -> str:
        method = options.get("method", "auto")
        if method not in METHODS:
            raise OptionError(f"scipy option method must be one of {', '.join(METHODS)}, "
                              f"got {method!r}")
        return method

    # ================================================================== linear path
    def solve_linear(self, form, options: SolveOptions) -> Result:
        """LP → linprog, MILP → milp, QP (or an explicit NLP method) → the NLP path."""
        method = self._method(options)
        if method == "auto":
            method = "milp" if form.is_mip else ("SLSQP" if form.is_qp else "linprog")
        if form.is_mip and method != "milp":
            raise OptionError(f"scipy method {method!r} ignores integrality; use method='milp' "
                              f"(or 'auto') for a {form.problem_class} problem")
        if form.is_qp and method in ("linprog", "milp"):
            raise OptionError(f"scipy method {method!r} cannot take a quadratic objective; use "
                              f"'SLSQP' or 'trust-constr' (or 'auto')")
        if method in ("SLSQP", "trust-constr"):
            nlp = form.to_nlp_form()
            res = self._solve_nlp(nlp, options, method)
            res.evaluations = dict(nlp.counts)
            return res
        why = _crossed(form)
        if why:
            return Result(termination=Termination.INFEASIBLE, message=f"infeasible: {why}")
        return self._milp(form, options) if method == "milp" else self._linprog(form, options)

    @staticmethod
    def _highs_options(options: SolveOptions, mip: bool) -> dict:
        opts: dict = {"disp": bool(options.verbose)}
        if options.time_limit is not None:
            opts["time_limit"] = float(options.time_limit)
        if options.tol is not None:
            if mip:
                opts["mip_rel_gap"] = float(options.tol)
            else:
                t = max(float(options.tol), 1e-10)
                opts["primal_feasibility_tolerance"] = t
                opts["dual_feasibility_tolerance"] = t
        if options.max_iter is not None and not mip:
            opts["maxiter"] = int(options.max_iter)
        opts.update(dict(options.solver_options))
        return opts

    @staticmethod
    def _limit_status(status: int, message: str) -> Termination:
        if status == 1 and "time" in message.lower():
            return Termination.TIME_LIMIT
        if status == 2 and "unbounded" in message.lower() and "infeasible" in message.lower():
            return Termination.INFEASIBLE_OR_UNBOUNDED
        return LINEAR_STATUS.get(status, Termination.ERROR)

    def _linprog(self, form, options: SolveOptions) -> Result:
        from scipy.optimize import linprog

        eq, lo, up = _row_sets(form.rl, form.ru)
        A = form.A
        A_ub = sp.vstack([A[up], -A[lo]], format="csr") if (up.size + lo.size) else None
        b_ub = np.concatenate([form.ru[up], -form.rl[lo]]) if A_ub is not None else None
        A_eq = A[eq] if eq.size else None
        b_eq = form.rl[eq] if eq.size else None
        bounds = np.column_stack([form.lb, form.ub])
        try:
            res = linprog(form.c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds,
                          method="highs", options=self._highs_options(options, mip=False))
        except ValueError as exc:
            raise OptionError(f"linprog rejected the call: {exc}") from exc
        term = self._limit_status(int(res.status), str(res.message))
        x = y = None
        if res.x is not None and term not in (Termination.INFEASIBLE, Termination.UNBOUNDED,
                                              Termination.INFEASIBLE_OR_UNBOUNDED):
            x = np.asarray(res.x, float)
            y = np.zeros(form.m)
            if A_ub is not None and res.ineqlin is not None:
                mu = np.asarray(res.ineqlin.marginals, float)
                y[up] -= mu[:up.size]
                y[lo] += mu[up.size:]
            if eq.size and res.eqlin is not None:
                y[eq] = -np.asarray(res.eqlin.marginals, float)
        return Result(termination=term, x=x, y=y, iterations=int(getattr(res, "nit", 0) or 0),
                      message=str(res.message), extra={"scipy_method": "linprog/highs",
                                                       "scipy_status": int(res.status)})

    def _milp(self, form, options: SolveOptions) -> Result:
        from scipy.optimize import Bounds, LinearConstraint, milp

        cons = [LinearConstraint(form.A, form.rl, form.ru)] if form.m else []
        res = milp(form.c, integrality=form.integrality.astype(int),
                   bounds=Bounds(form.lb, form.ub), constraints=cons,
                   options=self._highs_options(options, mip=True))
        term = self._limit_status(int(res.status), str(res.message))
        x = None
        if res.x is not None and term not in (Termination.INFEASIBLE, Termination.UNBOUNDED,
                                              Termination.INFEASIBLE_OR_UNBOUNDED):
            x = np.asarray(res.x, float)
        extra = {"scipy_method": "milp/highs", "scipy_status": int(res.status)}
        for key in ("mip_gap", "mip_dual_bound", "mip_node_count"):
            if getattr(res, key, None) is not None:
                extra[key] = float(res[key])
        return Result(termination=term, x=x, y=None,
                      iterations=int(getattr(res, "mip_node_count", 0) or 0),
                      message=str(res.message), extra=extra)

    # ================================================================== NLP path
    def solve_nlp(self, form, options: SolveOptions) -> Result:
        """SLSQP (default) or trust-constr with the form's exact derivatives."""
        method = self._method(options)
        if method in ("linprog", "milp"):
            raise OptionError(f"scipy method {method!r} solves LP/MILP only; this is a "
                              f"nonlinear problem (use 'SLSQP', 'trust-constr' or 'auto')")
        return self._solve_nlp(form, options, "SLSQP" if method == "auto" else method)

    def _solve_nlp(self, form, options: SolveOptions, method: str) -> Result:
        if method == "SLSQP":
            return self._slsqp(form, options)
        return self._trust_constr(form, options)

    @staticmethod
    def _bounds(form):
        from scipy.optimize import Bounds

        if np.all(np.isinf(form.lb)) and np.all(np.isinf(form.ub)):
            return None
        return Bounds(form.lb, form.ub)

    def _slsqp(self, form, options: SolveOptions) -> Result:
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
        opts = {"ftol": max(tol * tol, 1e-16),
                "maxiter": int(options.max_iter) if options.max_iter is not None else 500,
                "disp": bool(options.verbose)}
        opts.update(dict(options.solver_options))
        mon = _Monitor(options.time_limit)
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
        msg = str(res.message)
        if mon.timed_out:
            term = Termination.TIME_LIMIT
            msg = f"wall-clock time limit {options.time_limit} s reached"
        else:
            feasible = None
            if status == 4:
                feas = nlp_kkt(form, x, y).get("feasibility", np.inf)
                feasible = feas <= FEAS_TOL * (1.0 + float(np.max(np.abs(x), initial=0.0)))
            term = slsqp_termination(status, feasible)
            if status == 8 and np.all(np.isfinite(x)):
                kkt = nlp_kkt(form, x, y).get("kkt", np.inf)
                accept = max(tol, 1e-6) * (1.0 + abs(float(res.fun)))
                if kkt <= accept:
                    term = Termination.LOCALLY_OPTIMAL
                    msg += (f" (line search stalled on rounding: measured KKT residual {kkt:.1e}"
                            f" <= {accept:.1e})")
        x, y, term = _finite_or_error(x, y, term)
        return Result(termination=term, x=x, y=y, iterations=int(getattr(res, "nit", 0) or 0),
                      message=msg, history=mon.history,
                      extra={"scipy_method": "SLSQP", "scipy_status": status})

    def _trust_constr(self, form, options: SolveOptions) -> Result:
        import warnings

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
        mon = _Monitor(options.time_limit)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "delta_grad == 0.0" and similar chatter
            res = minimize(form.f, form.x0.copy(), jac=form.grad,
                           hess=lambda x: form.hess(x, zeros, 1.0), method="trust-constr",
                           bounds=self._bounds(form), constraints=cons, options=opts,
                           callback=mon)
        x = np.asarray(res.x, float)
        y = np.asarray(res.v[0], float) if form.m else np.zeros(0)
        status = int(res.status)
        msg = str(res.message)
        if mon.timed_out:
            term = Termination.TIME_LIMIT
            msg = f"wall-clock time limit {options.time_limit} s reached"
        else:
            term, note = trust_constr_termination(status, float(res.optimality),
                                                  float(res.constr_violation), opts["gtol"])
            msg += note
        x, y, term = _finite_or_error(x, y, term)
        return Result(termination=term, x=x, y=y, iterations=int(res.nit), message=msg,
                      history=mon.history,
                      extra={"scipy_method": f"trust-constr/{res.method}", "scipy_status": status,
                             "optimality": float(res.optimality),
                             "constr_violation": float(res.constr_violation)})
