"""Backend ``clarabel``: Clarabel's interior-point method on a LinearForm (LP, convex QP), natively.

Clarabel solves

    minimize ½xᵀPx + qᵀx   subject to  A_c x + s = b,  s ∈ K,

with dual z ∈ K* and stationarity  Px + q + A_cᵀz = 0  (z ≥ 0 on the nonnegative cone, free on the
zero cone). The LinearForm  min cᵀx + ½xᵀQx + c0  s.t.  rl <= Ax <= ru,  lb <= x <= ub  is passed
as P = triu(Q) (CSC, upper triangle: Clarabel reads only that triangle), q = c, and the stacked
rows (rows with an infinite side are left out; nothing is densified):

    block  rows of A_c    b        cone          meaning
    E      A_E            r_E      ZeroCone      A_E x = r_E        (rl = ru)
    F      I_F            l_F      ZeroCone      x_F = l_F          (fixed columns, lb = ub)
    U      A_U            ru_U     Nonnegative   ru_U − A_U x >= 0  (finite upper row bound)
    L      −A_L           −rl_L    Nonnegative   A_L x − rl_L >= 0  (finite lower row bound)
    B+     I_{B+}         ub       Nonnegative   ub − x >= 0        (finite upper column bound)
    B−     −I_{B−}        −lb      Nonnegative   x − lb >= 0        (finite lower column bound)

**Multipliers.** With Clarabel's duals z_E, z_F, z_U, z_L, z_B± its stationarity reads

    c + Qx + A_Eᵀz_E + A_Uᵀz_U − A_Lᵀz_L + (z_B+ − z_B− + z_F)  = 0 .

optkit's convention is L = f + yᵀAx + z_colᵀx with c + Qx + Aᵀy + z_col = 0, y ≥ 0 at an active
upper row bound and ≤ 0 at an active lower one. Matching the two term by term:

    y_i = z_E,i (equality row),   y_i = z_U,i − z_L,i (a row with one or two finite sides),
    z_col,j = z_B+,j − z_B−,j (+ z_F,j for a fixed column).

Since z_U, z_L ≥ 0, y ≥ 0 where the upper side is active and ≤ 0 where the lower side is, as
optkit requires. The claimed objective is Clarabel's ``obj_val`` + c0.

Status map (Clarabel's ``SolverStatus`` → optkit): Solved → OPTIMAL; AlmostSolved →
ALMOST_OPTIMAL (reduced tolerances met; optkit's measurement decides ``verified``);
PrimalInfeasible, AlmostPrimalInfeasible → INFEASIBLE; DualInfeasible, AlmostDualInfeasible →
UNBOUNDED only once the primal is shown feasible: a dual-infeasibility certificate (a ray d with
Pd = 0, cᵀd < 0, A_c d ∈ −K) proves unboundedness of a *feasible* problem only, so the backend
re-solves the feasibility problem (P = 0, q = 0, same rows): Solved keeps UNBOUNDED, a primal
infeasibility certificate gives "DualInfeasible+PrimalInfeasible" → INFEASIBLE, anything else
"DualInfeasible+FeasibilityUnknown" → INFEASIBLE_OR_UNBOUNDED; MaxIterations → ITERATION_LIMIT;
MaxTime → TIME_LIMIT; NumericalError, InsufficientProgress → NUMERICAL_ERROR; CallbackTerminated →
INTERRUPTED; Unsolved → ERROR.

Common options: tol → tol_gap_abs, tol_gap_rel, tol_feas (default 1e-10, see ``DEFAULT_TOL``;
the bound multipliers z are returned, so optkit verifies an interior point by its own certificate);
max_iter → max_iter; time_limit → time_limit; verbose → verbose. ``solver_options`` sets any field of
Clarabel's DefaultSettings by name (unknown names are refused by the core with the valid ones).
Integer columns are refused (Clarabel has no branch-and-bound); Q must be positive semidefinite —
the core refuses a nonconvex Q before the solve (:mod:`optkit.ir.convexity`), so it is not re-checked here.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from optkit.backend import Backend
from optkit.options import Option, SolveOptions
from optkit.raw import RawSolution
from optkit.status import Termination

STATUS_MAP = {
    "Solved": Termination.OPTIMAL,
    "AlmostSolved": Termination.ALMOST_OPTIMAL,
    "PrimalInfeasible": Termination.INFEASIBLE,
    "AlmostPrimalInfeasible": Termination.INFEASIBLE,
    # a dual-infeasibility certificate proves unboundedness only for a feasible primal: the
    # backend then checks primal feasibility (a re-solve with P = 0, q = 0) and names the outcome
    "DualInfeasible": Termination.UNBOUNDED,
    "AlmostDualInfeasible": Termination.UNBOUNDED,
    "DualInfeasible+PrimalInfeasible": Termination.INFEASIBLE,
    "DualInfeasible+FeasibilityUnknown": Termination.INFEASIBLE_OR_UNBOUNDED,
    "MaxIterations": Termination.ITERATION_LIMIT,
    "MaxTime": Termination.TIME_LIMIT,
    "NumericalError": Termination.NUMERICAL_ERROR,
    "InsufficientProgress": Termination.NUMERICAL_ERROR,
    "CallbackTerminated": Termination.INTERRUPTED,
    "Unsolved": Termination.ERROR,
}

#: Clarabel's gap and feasibility tolerances when ``tol`` is not given. Clarabel's own 1e-8 is
#: relative to the whole problem's norms: on shell.mps it leaves row 2 violated by 4e-3 of that
#: row's own scale (verified=False); 1e-10 solves it. (Stationarity is certified with Clarabel's
#: own bound multipliers z: ~1e-13 on a banded QP with n = 10⁴, where the projected-gradient
#: certificate alone leaves min(z_j, x_j − bound) ≈ √μ ~ 1e-4.)
DEFAULT_TOL = 1e-10

#: statuses whose x (and z) are a solution estimate worth returning
_WITH_POINT = frozenset({"Solved", "AlmostSolved", "MaxIterations", "MaxTime",
                         "InsufficientProgress", "NumericalError"})


def _nonneg_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


class ClarabelBackend(Backend):
    """Clarabel (interior point) on LP and convex QP LinearForms (see module docstring)."""

    name = "clarabel"
    accepts = frozenset({"lp", "qp"})
    requires = ("clarabel",)
    extra = None  # base install (docs/install.md)
    priority = {"qp": 80, "lp": 20}
    capabilities = frozenset({"duals", "inner-solver", "interior-point"})
    STATUS_MAP = STATUS_MAP
    description = "Clarabel interior-point solver: LP and convex QP (native, no cvxpy in between)"
    options = {
        "direct_solve_method": Option("auto", ("auto", "qdldl", "faer"),
                                      "sparse LDLᵀ factorisation used for the KKT systems"),
        "equilibrate_enable": Option(True, bool, "Ruiz equilibration of the data"),
        "presolve_enable": Option(True, bool, "drop rows with infinite bounds before solving"),
        "max_threads": Option(0, _nonneg_int, "threads of the factorisation (0: automatic)"),
    }

    _version: str | None = None
    _fields: list[str] | None = None

    def version(self) -> str:
        if ClarabelBackend._version is None:
            try:
                import clarabel

                ClarabelBackend._version = str(getattr(clarabel, "__version__", ""))
            except ImportError:  # pragma: no cover
                ClarabelBackend._version = ""
        return ClarabelBackend._version

    def solver_option_names(self) -> list[str] | None:
        """The fields of Clarabel's DefaultSettings."""
        if ClarabelBackend._fields is None:
            import clarabel

            s = clarabel.DefaultSettings()
            ClarabelBackend._fields = sorted(a for a in dir(s) if not a.startswith("_")
                                             and not callable(getattr(s, a)))
        return list(ClarabelBackend._fields)

    def refuse(self, form) -> str | None:
        if getattr(form, "is_mip", False):
            k = int(np.flatnonzero(form.integrality)[0])
            return (f"Clarabel has no integer variables (column index {k} is integer); use a "
                    f"MIP backend such as highs")
        return None

    # ------------------------------------------------------------------ solving
    def solve_linear(self, form, options: SolveOptions) -> RawSolution:
        """Stack the LinearForm into Clarabel's cone form, solve, convert the multipliers."""
        import clarabel

        data = stack(form)
        settings = clarabel.DefaultSettings()
        settings.verbose = bool(options.verbose)
        t = DEFAULT_TOL if options.tol is None else float(options.tol)
        settings.tol_gap_abs = settings.tol_gap_rel = settings.tol_feas = t
        if options.max_iter is not None:
            settings.max_iter = int(options.max_iter)
        if options.time_limit is not None:
            settings.time_limit = float(options.time_limit)
        for key in self.options:
            setattr(settings, key, options.get(key, self.options[key].default))
        for key, value in dict(options.solver_options).items():
            try:
                setattr(settings, key, value)
            except (TypeError, ValueError) as exc:
                return RawSolution(status="Unsolved", iterations=0,
                                   status_text=f"solver_options[{key!r}] = {value!r}: {exc}",
                                   message=f"Clarabel refused solver_options[{key!r}] = "
                                           f"{value!r}: {exc}")
        cones = []
        if data.n_zero:
            cones.append(clarabel.ZeroConeT(data.n_zero))
        if data.n_nonneg:
            cones.append(clarabel.NonnegativeConeT(data.n_nonneg))
        try:
            solver = clarabel.DefaultSolver(data.P, form.c, data.A, data.b, cones, settings)
        except BaseException as exc:  # Clarabel raises a bare Exception on bad settings/data
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return RawSolution(status="Unsolved", status_text=f"Clarabel refused the data: {exc}",
                               message=f"Clarabel refused the data: {exc}", iterations=0)
        sol = solver.solve()
        key = str(sol.status)
        if key in ("DualInfeasible", "AlmostDualInfeasible"):
            key = self._primal_feasibility(clarabel, data, form.n, cones, settings, key)
        x = y = z = None
        if key in _WITH_POINT:
            x = np.asarray(sol.x, dtype=float)
            y, z = data.multipliers(np.asarray(sol.z, dtype=float))
        obj = float(sol.obj_val) + float(form.c0) if key in _WITH_POINT else None
        return RawSolution(status=key, status_text=key, x=x, y=y, z=z, objective=obj,
                           iterations=int(sol.iterations), message=key,
                           extra={"solve_time": float(sol.solve_time),
                                  "primal_residual": float(sol.r_prim),
                                  "dual_residual": float(sol.r_dual)})


    @staticmethod
    def _primal_feasibility(clarabel, data: Stacked, n: int, cones: list, settings, key: str
                            ) -> str:
        """``key`` when the rows admit a point, else the composite status (see module docstring)."""
        try:
            feas = clarabel.DefaultSolver(sp.csc_matrix((n, n)), np.zeros(n), data.A, data.b,
                                          cones, settings).solve()
        except BaseException as exc:  # pragma: no cover - Clarabel accepted the same data once
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            return "DualInfeasible+FeasibilityUnknown"
        status = str(feas.status)
        if status in ("Solved", "AlmostSolved"):
            return key
        if status in ("PrimalInfeasible", "AlmostPrimalInfeasible"):
            return "DualInfeasible+PrimalInfeasible"
        return "DualInfeasible+FeasibilityUnknown"


class Stacked:
    """The LinearForm in Clarabel's cone form, and the map from its duals back to (y, z_col)."""

    def __init__(self, P, A, b, n_zero: int, n_nonneg: int, blocks: dict, m: int, n: int):
        self.P, self.A, self.b = P, A, b
        self.n_zero, self.n_nonneg = n_zero, n_nonneg
        self.blocks = blocks          # block name -> (row or column indices, start in A_c)
        self.m, self.n = m, n

    def multipliers(self, zc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(y, z_col) in optkit's convention from Clarabel's z (see module docstring)."""
        y = np.zeros(self.m)
        zcol = np.zeros(self.n)

        def part(name: str) -> tuple[np.ndarray, np.ndarray]:
            idx, start = self.blocks[name]
            return idx, zc[start:start + idx.size]

        for name, target, sign in (("E", y, 1.0), ("U", y, 1.0), ("L", y, -1.0),
                                   ("F", zcol, 1.0), ("B+", zcol, 1.0), ("B-", zcol, -1.0)):
            idx, v = part(name)
            target[idx] += sign * v
        return y, zcol


def stack(form) -> Stacked:
    """Clarabel's (P, A_c, b, cone sizes) for a LinearForm, in O(nnz) (see module docstring)."""
    n, m = form.n, form.m
    A = form.A
    rl, ru, lb, ub = form.rl, form.ru, form.lb, form.ub
    eq = np.flatnonzero(rl == ru)
    up = np.flatnonzero(np.isfinite(ru) & (rl != ru))
    lo = np.flatnonzero(np.isfinite(rl) & (rl != ru))
    fixed = np.flatnonzero(lb == ub)
    bup = np.flatnonzero(np.isfinite(ub) & (lb != ub))
    blo = np.flatnonzero(np.isfinite(lb) & (lb != ub))

    def rows(idx: np.ndarray, sign: float) -> sp.csr_matrix:
        R = A[idx] if idx.size != m else A
        return -R if sign < 0 else R

    def cols(idx: np.ndarray, sign: float) -> sp.csr_matrix:
        k = idx.size
        return sp.csr_matrix((np.full(k, sign), idx, np.arange(k + 1)), shape=(k, n))

    parts = [("E", eq, rows(eq, 1.0), rl[eq]), ("F", fixed, cols(fixed, 1.0), lb[fixed]),
             ("U", up, rows(up, 1.0), ru[up]), ("L", lo, rows(lo, -1.0), -rl[lo]),
             ("B+", bup, cols(bup, 1.0), ub[bup]), ("B-", blo, cols(blo, -1.0), -lb[blo])]
    blocks, start = {}, 0
    for name, idx, _, _ in parts:
        blocks[name] = (idx, start)
        start += idx.size
    Ac = sp.vstack([M for _, _, M, _ in parts], format="csc")
    b = np.concatenate([v for _, _, _, v in parts]).astype(float)
    if form.Q is not None:
        P = sp.triu(form.Q, format="csc")
    else:
        P = sp.csc_matrix((n, n))
    n_zero = eq.size + fixed.size
    return Stacked(P, Ac, b, n_zero, start - n_zero, blocks, m, n)
