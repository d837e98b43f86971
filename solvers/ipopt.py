"""Backend ``ipopt``: IPOPT (primal-dual interior point) through cyipopt, on an NLPForm.

IPOPT solves  min f(x)  s.t.  g_L <= g(x) <= g_U,  x_L <= x <= x_U  with the Lagrangian
L = f + λᵀg (+ bound terms), which is optkit's L = f + yᵀc, so y = λ (``info["mult_g"]``) with
no sign change: y ≥ 0 on an active upper row bound, y ≤ 0 on an active lower one.

Derivatives are the form's own, passed as sparse triplets:

- Jacobian ∇c(x): the sparsity *structure* is fixed before the solve as the union of the
  patterns of ``form.jac`` at x0 and at one perturbed probe point (explicit zeros included).
  Every later evaluation is aligned to that structure by index (entries that became zero are
  sent as zeros). If an evaluation has a nonzero outside the structure, the solve is stopped at
  the next iteration and restarted from x0 with the enlarged structure (``extra["restarts"]``).
- Hessian ∇²(σf + λᵀc): the lower triangle of ``form.hess(x, λ, σ)``, handled the same way.

Options: tol → ``tol`` (IPOPT's scaled overall NLP error; absolute sub-tolerances such as
``constr_viol_tol`` keep their defaults: set them through solver_options); max_iter →
``max_iter``; time_limit → ``max_wall_time`` on IPOPT ≥ 3.14 (``max_cpu_time`` before that)
and, in every case, a wall-clock check in the intermediate callback; verbose → ``print_level`` 5
(else 0 and ``sb=yes``); ``solver_options`` are passed to IPOPT unchanged. Own option
``hessian``: "exact" (the form's Hessian, exact or finite-difference as the form provides) or
"limited-memory" (IPOPT's L-BFGS).
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from optkit.backend import Backend
from optkit.errors import OptionError
from optkit.options import SolveOptions
from optkit.results import Result
from optkit.status import Termination

IPOPT_INF = 1e20  # IPOPT treats |bound| >= 1e19 as infinite

#: IPOPT ApplicationReturnStatus → optkit termination
STATUS = {
    0: Termination.LOCALLY_OPTIMAL,        # Solve_Succeeded
    1: Termination.LOCALLY_OPTIMAL,        # Solved_To_Acceptable_Level
    2: Termination.LOCALLY_INFEASIBLE,     # Infeasible_Problem_Detected
    3: Termination.NUMERICAL_ERROR,        # Search_Direction_Becomes_Too_Small
    4: Termination.UNBOUNDED,              # Diverging_Iterates
    5: Termination.INTERRUPTED,            # User_Requested_Stop
    6: Termination.LOCALLY_OPTIMAL,        # Feasible_Point_Found (square problems)
    -1: Termination.ITERATION_LIMIT,       # Maximum_Iterations_Exceeded
    -2: Termination.NUMERICAL_ERROR,       # Restoration_Failed
    -3: Termination.NUMERICAL_ERROR,       # Error_In_Step_Computation
    -4: Termination.TIME_LIMIT,            # Maximum_CpuTime_Exceeded
    -5: Termination.TIME_LIMIT,            # Maximum_WallTime_Exceeded
    -10: Termination.INVALID_PROBLEM,      # Not_Enough_Degrees_Of_Freedom
    -11: Termination.INVALID_PROBLEM,      # Invalid_Problem_Definition
    -12: Termination.INVALID_PROBLEM,      # Invalid_Option
    -13: Termination.NUMERICAL_ERROR,      # Invalid_Number_Detected
    -100: Termination.ERROR,               # Unrecoverable_Exception
    -101: Termination.ERROR,               # NonIpopt_Exception_Thrown
    -102: Termination.ERROR,               # Insufficient_Memory
    -199: Termination.ERROR,               # Internal_Error
}

MAX_RESTARTS = 3


def _finite(v: np.ndarray) -> np.ndarray:
    """±inf → ±1e20, which IPOPT reads as 'no bound'."""
    return np.clip(np.asarray(v, dtype=float), -IPOPT_INF, IPOPT_INF)


class _Pattern:
    """A fixed sparsity structure (sorted linear keys row·ncols + col) and value alignment."""

    def __init__(self, mats: list[sp.spmatrix], ncols: int, lower: bool = False):
        self.ncols = ncols
        self.lower = lower
        keys = [self._keys(M)[0] for M in mats]
        self.keys = np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
        self.missed = np.zeros(0, np.int64)

    def _keys(self, M: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
        C = sp.coo_matrix(M)
        r, c, d = C.row.astype(np.int64), C.col.astype(np.int64), C.data
        if self.lower:
            keep = r >= c
            r, c, d = r[keep], c[keep], d[keep]
        return r * self.ncols + c, d

    def structure(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) of the structure, in the order values are returned."""
        return self.keys // self.ncols, self.keys % self.ncols

    def values(self, M: sp.spmatrix) -> np.ndarray:
        """Values of M at the structure's positions; nonzeros outside it are remembered."""
        k, d = self._keys(M)
        out = np.zeros(self.keys.size)
        if k.size == 0:
            return out
        pos = np.searchsorted(self.keys, k)
        pos_c = np.minimum(pos, max(self.keys.size - 1, 0))
        found = (pos < self.keys.size) & (self.keys[pos_c] == k) if self.keys.size else \
            np.zeros(k.size, bool)
        np.add.at(out, pos[found], d[found])
        miss = ~found & (d != 0)
        if miss.any():
            self.missed = np.union1d(self.missed, k[miss])
        return out

    def enlarged(self) -> "_Pattern":
        """A copy whose structure also holds every missed position."""
        new = _Pattern([], self.ncols, self.lower)
        new.keys = np.union1d(self.keys, self.missed)
        return new


class _Callbacks:
    """The problem object handed to cyipopt: counted NLPForm oracles plus bookkeeping."""

    def __init__(self, form, jpat: _Pattern, hpat: _Pattern, deadline: float | None):
        self.form, self.jpat, self.hpat = form, jpat, hpat
        self.deadline = deadline
        self.history: list[dict] = []
        self.iterations = 0
        self.timed_out = False
        self.eval_errors = 0

    # -- zeroth order: an arithmetic failure becomes NaN so IPOPT cuts the step back
    def objective(self, x):
        try:
            return self.form.f(x)
        except (ArithmeticError, ValueError):
            self.eval_errors += 1
            return float("nan")

    def constraints(self, x):
        try:
            return self.form.cons(x)
        except (ArithmeticError, ValueError):
            self.eval_errors += 1
            return np.full(self.form.m, np.nan)

    def gradient(self, x):
        return self.form.grad(x)

    def jacobianstructure(self):
        return self.jpat.structure()

    def jacobian(self, x):
        return self.jpat.values(self.form.jac(x)) if self.form.m else np.zeros(0)

    def hessianstructure(self):
        return self.hpat.structure()

    def hessian(self, x, lagrange, obj_factor):
        return self.hpat.values(self.form.hess(x, np.asarray(lagrange, float), float(obj_factor)))

    def intermediate(self, alg_mod, iter_count, obj_value, inf_pr, inf_du, mu, d_norm,
                     regularization_size, alpha_du, alpha_pr, ls_trials):
        self.iterations = int(iter_count)
        self.history.append({"iter": int(iter_count), "obj": float(obj_value),
                             "inf_pr": float(inf_pr), "inf_du": float(inf_du), "mu": float(mu),
                             "alpha_pr": float(alpha_pr), "alpha_du": float(alpha_du),
                             "restoration": bool(alg_mod)})
        if self.jpat.missed.size or self.hpat.missed.size:
            return False  # derivative outside the fixed structure: restart with a larger one
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.timed_out = True
            return False
        return True


class IpoptBackend(Backend):
    """IPOPT via cyipopt with exact sparse derivatives of the NLPForm."""

    name = "ipopt"
    accepts = frozenset({"nlp", "nlp-equality", "qp", "lp"})
    priority = {"nlp": 100, "qp": 30, "lp": 10}
    capabilities = frozenset({"duals", "inner-solver"})
    requires = ("cyipopt",)
    options = {"hessian": "exact"}  # exact | limited-memory
    description = "IPOPT interior point (cyipopt) on NLPForm with exact sparse derivatives"

    def version(self) -> str:
        import cyipopt

        v = ".".join(str(p) for p in getattr(cyipopt, "IPOPT_VERSION", ()))
        return f"{v} (cyipopt {cyipopt.__version__})" if v else f"cyipopt {cyipopt.__version__}"

    @staticmethod
    def _ipopt_version() -> tuple[int, ...]:
        import cyipopt

        return tuple(getattr(cyipopt, "IPOPT_VERSION", (0, 0, 0)))

    # ------------------------------------------------------------------ patterns
    @staticmethod
    def _probe_point(form) -> tuple[np.ndarray, np.ndarray]:
        """A deterministic perturbation of x0 inside the bounds, and a dense multiplier vector."""
        rng = np.random.default_rng(12345)
        x = form.x0 + 1e-3 * (1.0 + np.abs(form.x0)) * rng.uniform(0.5, 1.0, form.n)
        return np.clip(x, form.lb, form.ub), rng.uniform(0.5, 1.5, form.m)

    def _patterns(self, form, exact_hessian: bool = True) -> tuple[_Pattern, _Pattern]:
        x0 = form.x0
        ones = np.ones(form.m)
        jac_mats = [form.jac(x0)] if form.m else []
        hess_mats = [form.hess(x0, ones, 1.0)] if exact_hessian else []
        xp, yp = self._probe_point(form)
        try:  # a probe is a hint only; a failing evaluation there is not an error
            if form.m:
                jac_mats.append(form.jac(xp))
            if exact_hessian:
                hess_mats.append(form.hess(xp, yp, 1.0))
        except Exception:
            pass
        return _Pattern(jac_mats, form.n), _Pattern(hess_mats, form.n, lower=True)

    # ------------------------------------------------------------------ options
    def _apply_options(self, prob, form, options: SolveOptions) -> None:
        opts: dict = {"print_level": 5 if options.verbose else 0}
        if not options.verbose:
            opts["sb"] = "yes"
        if options.tol is not None:
            opts["tol"] = float(options.tol)
        if options.max_iter is not None:
            opts["max_iter"] = int(options.max_iter)
        if options.time_limit is not None:
            key = "max_wall_time" if self._ipopt_version() >= (3, 14) else "max_cpu_time"
            opts[key] = float(options.time_limit)
        hessian = options.get("hessian", "exact")
        if hessian not in ("exact", "limited-memory"):
            raise OptionError(f"ipopt option hessian must be 'exact' or 'limited-memory', "
                              f"got {hessian!r}")
        if hessian == "limited-memory":
            opts["hessian_approximation"] = "limited-memory"
        opts.update(dict(options.solver_options))
        for key, val in opts.items():
            if isinstance(val, bool):
                val = "yes" if val else "no"
            elif isinstance(val, (np.integer,)):
                val = int(val)
            elif isinstance(val, (np.floating,)):
                val = float(val)
            try:
                prob.add_option(key, val)
            except (TypeError, ValueError) as exc:
                raise OptionError(f"IPOPT rejected option {key}={val!r}: {exc}") from exc

    # ------------------------------------------------------------------ solve
    def solve_nlp(self, form, options: SolveOptions) -> Result:
        """Run IPOPT on the NLPForm; restart with a larger structure if derivatives leave it."""
        import cyipopt

        t0 = time.perf_counter()
        deadline = None if options.time_limit is None else t0 + float(options.time_limit)
        jpat, hpat = self._patterns(form, options.get("hessian", "exact") != "limited-memory")
        restarts = 0
        while True:
            cb = _Callbacks(form, jpat, hpat, deadline)
            prob = cyipopt.Problem(n=form.n, m=form.m, problem_obj=cb, lb=_finite(form.lb),
                                   ub=_finite(form.ub), cl=_finite(form.cl), cu=_finite(form.cu))
            self._apply_options(prob, form, options)
            x, info = prob.solve(form.x0.copy())
            grew = jpat.missed.size or hpat.missed.size
            if not grew or restarts >= MAX_RESTARTS:
                break
            restarts += 1
            jpat, hpat = jpat.enlarged(), hpat.enlarged()

        status = int(info["status"])
        msg = info["status_msg"]
        msg = msg.decode() if isinstance(msg, bytes) else str(msg)
        term = STATUS.get(status, Termination.ERROR)
        if status == 5 and cb.timed_out:
            term = Termination.TIME_LIMIT
            msg = f"wall-clock time limit {options.time_limit} s reached ({msg})"
        elif status == 5 and grew:
            term = Termination.NUMERICAL_ERROR
            msg = (f"derivative sparsity kept changing after {restarts} restarts; "
                   f"last run stopped ({msg})")
        elif status == 1:
            msg = f"solved to IPOPT's acceptable (looser) level only: {msg}"
        x = np.asarray(x, dtype=float)
        has_point = np.all(np.isfinite(x)) and term not in (Termination.INVALID_PROBLEM,)
        y = np.asarray(info["mult_g"], dtype=float) if form.m else np.zeros(0)
        extra = {"ipopt_status": status, "restarts": restarts,
                 "mult_x_L": np.asarray(info["mult_x_L"], float),
                 "mult_x_U": np.asarray(info["mult_x_U"], float),
                 "jacobian_nnz": int(jpat.keys.size), "hessian_nnz": int(hpat.keys.size)}
        if cb.eval_errors:
            extra["evaluation_errors"] = cb.eval_errors
        return Result(termination=term, x=x if has_point else None,
                      y=y if has_point and np.all(np.isfinite(y)) else None,
                      iterations=cb.iterations, message=msg, history=cb.history, extra=extra)
