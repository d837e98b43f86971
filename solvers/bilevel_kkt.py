"""Backend ``kkt``: exact single-level reformulation of a bilevel problem whose lower level is an LP
or a convex QP in its own variables.

Lower level (minimisation units, v = (x, y)):  min_y ½yᵀP_yy y + yᵀ(P_yx x + q_y)
s.t. L v + l ≤ 0 (lower inequalities and the finite bounds of y, k rows), A_h v + b_h = 0 (p rows).
For fixed x it is convex, so y ∈ S(x) iff there are λ ∈ R₊ᵏ, μ ∈ Rᵖ with

    P_yy y + P_yx x + q_y + L_yᵀ λ + A_h,yᵀ μ = 0            (stationarity)
    L v + l ≤ 0,  A_h v + b_h = 0,  λ ≥ 0,  λᵢ (L v + l)ᵢ = 0  (feasibility, complementarity).

Complementarity λᵢ sᵢ = 0 with sᵢ = −(L v + l)ᵢ ≥ 0 is modelled with binaries uᵢ:

- ``complementarity="bigm"``: λᵢ ≤ M_λ uᵢ and sᵢ ≤ M_sᵢ (1 − uᵢ). M_sᵢ is inferred from the
  boxes of v when they are finite (then it is exact); otherwise, and always for M_λ, the option
  ``big_m`` is used and checked after the solve: a bound that is active (≥ 0.999 M) is multiplied
  by 10 and the problem solved again (``bigm_retries`` times); if still active, the result says so
  (termination LOCALLY_OPTIMAL, ``extra["bigm_active"]``).
- ``complementarity="sos1"``: {λᵢ, sᵢ} as SOS1 sets (needs SCIP through pyscipopt).

With no lower inequality (k = 0) no binary is needed. The single-level problem
min F(v) over z = (v, λ, μ, u) is an LP/QP/MILP/MIQP in the LinearForm shape

    min cᵀz + ½zᵀQz + c0   s.t.  rl ≤ A z ≤ ru,  lb ≤ z ≤ ub,  u binary

(:func:`reformulate`), solved by the backend the registry ranks first for it — asked by
capability, never by name: a continuous reformulation goes where ``ok.solve`` would send it
(``registry.choose``, whose ranking sees the problem's size, so a large QP goes to an
interior-point backend), a mixed-integer one to ``registry.best_for(class, require={"integer"})``.
Only what no registered backend offers uses SCIP (``pyscipopt``) natively: SOS1 sets, and a
nonconvex quadratic upper objective. Option ``mip_solver``: "auto" (the rule above), "scip" (the
native SCIP path), or the name of a registered backend that accepts the reformulation's class.

Convexity checks never form a dense matrix: P_yy and the upper Hessian are tested by
:func:`optkit.bilevel.psd.is_psd` (diagonal fast path, sparse shifted LDLᵀ), and the upper
objective's convexity is taken from cvxpy's DCP analysis when cvxpy can prove it.
The upper level must have a linear or quadratic objective and affine constraints; other models
are refused with UnsupportedProblemError.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from optkit.bilevel.backend import BilevelBackend
from optkit.bilevel.psd import convex_quadratic, is_psd
from optkit.bilevel.result import BilevelResult, finish, lower_value
from optkit.errors import OptionError, UnsupportedProblemError
from optkit.options import Option, SolveOptions
from optkit.status import Termination

#: the native path's own name (SCIP through pyscipopt), besides registered backend names
NATIVE_SCIP = "scip"


def _csr(P, n: int) -> sp.csr_matrix:
    """P (sparse or dense) as CSR, without densifying sparse data."""
    if P is None:
        return sp.csr_matrix((n, n))
    return P.tocsr() if sp.issparse(P) else sp.csr_matrix(np.asarray(P, float))


def kkt_data(model):
    """Check the lower level is an LP/convex QP and return (data, P, L, l) (see module docstring).

    P is the lower objective's Hessian on v (CSR), L v + l ≤ 0 the lower inequalities with the
    finite bounds of y appended.
    """
    d = model.data()
    nx, N = d.nx, d.N
    ys = slice(nx, N)
    if not d.f.is_quadratic:
        raise UnsupportedProblemError("kkt: the lower-level objective is not linear or quadratic "
                                      "(the KKT reformulation needs an LP or convex QP lower level); "
                                      "use lv-hba or vf-penalty")
    if not (d.g.is_affine and d.h.is_affine):
        raise UnsupportedProblemError("kkt: the lower-level constraints are not affine in (x, y); "
                                      "use lv-hba or vf-penalty")
    P = _csr(d.f.P, N)
    if not is_psd(P[ys][:, ys]):
        raise UnsupportedProblemError("kkt: the lower-level objective is not convex in the lower "
                                      "variables (P_yy is not positive semidefinite)")
    if not d.F.is_quadratic:
        raise UnsupportedProblemError("kkt: the upper-level objective must be linear or quadratic")
    if not (d.G.is_affine and d.H.is_affine):
        raise UnsupportedProblemError("kkt: the upper-level constraints must be affine")
    # lower inequality rows: g rows and the finite bounds of y
    ylo, yhi = d.lb[ys], d.ub[ys]
    jl, ju = np.flatnonzero(np.isfinite(ylo)), np.flatnonzero(np.isfinite(yhi))
    Ilo = sp.csr_matrix((-np.ones(jl.size), (np.arange(jl.size), nx + jl)), shape=(jl.size, N))
    Iup = sp.csr_matrix((np.ones(ju.size), (np.arange(ju.size), nx + ju)), shape=(ju.size, N))
    L = sp.vstack([d.g.A, Ilo, Iup], format="csr")
    l = np.concatenate([d.g.b, ylo[jl], -yhi[ju]])
    return d, P, L, l


def upper_is_convex(model, d) -> bool:
    """F convex in v: proved by cvxpy's DCP analysis, else by the sparse PSD test of its Hessian."""
    if convex_quadratic(model.upper.objective.expr, model.upper.sense):
        return True
    return is_psd(_csr(d.F.P, d.N))


@dataclass
class Reformulation:
    """The single-level problem min cᵀz + ½zᵀQz + c0 s.t. rl ≤ Az ≤ ru, lb ≤ z ≤ ub, z_U binary,
    z = (v, λ, μ, u, s): v at [0, N), λ at [iL, iL+k), μ at [iM, iM+p), u at [iU, iU+nb),
    s (SOS1 slacks) at [iS, iS+ns)."""

    c: np.ndarray
    Q: sp.csr_matrix | None
    c0: float
    A: sp.csr_matrix
    rl: np.ndarray
    ru: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integrality: np.ndarray
    N: int
    k: int
    p: int
    nb: int
    ns: int

    @property
    def iL(self) -> int:
        return self.N

    @property
    def iM(self) -> int:
        return self.N + self.k

    @property
    def iU(self) -> int:
        return self.N + self.k + self.p

    @property
    def iS(self) -> int:
        return self.N + self.k + self.p + self.nb

    @property
    def integer(self) -> bool:
        return self.nb > 0

    def split(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(v, λ, μ) from a solution z."""
        z = np.asarray(z, float)
        return z[:self.N], z[self.iL:self.iL + self.k], z[self.iM:self.iM + self.p]


def reformulate(d, P: sp.csr_matrix, L: sp.csr_matrix, l: np.ndarray, M_lam: float = 1e3,
                M_s: np.ndarray | None = None, comp: str = "bigm") -> Reformulation:
    """Assemble the single-level reformulation (module docstring) as sparse LinearForm data.

    Rows, in order: G v ≤ −b_G; H v = −b_H; A_x x = b_x; L v ≤ −l; A_h v = −b_h; stationarity
    P_yv v + L_yᵀλ + A_h,yᵀμ = −q_y; then, for big-M, λ − M_λ u ≤ 0 and −L v + M_s u ≤ M_s + l,
    or, for SOS1, L v + s = −l.
    """
    N, nx = d.N, d.nx
    ys = slice(nx, N)
    k, p = L.shape[0], d.h.k
    nb = k if comp == "bigm" else 0
    ns = k if comp == "sos1" else 0
    nz = N + k + p + nb + ns
    iL, iM, iU, iS = N, N + k, N + k + p, N + k + p + nb
    if M_s is None:
        M_s = np.full(k, M_lam)

    def place(M, col0: int) -> sp.csr_matrix:
        M = sp.coo_matrix(M)
        return sp.csr_matrix((M.data, (M.row, M.col + col0)), shape=(M.shape[0], nz))

    rows, rl, ru = [], [], []

    def add(M, lo, hi) -> None:
        rows.append(M)
        rl.append(np.broadcast_to(np.asarray(lo, float), (M.shape[0],)))
        ru.append(np.broadcast_to(np.asarray(hi, float), (M.shape[0],)))

    add(place(d.G.A, 0), -np.inf, -d.G.b)
    add(place(d.H.A, 0), -d.H.b, -d.H.b)
    add(place(d.Ax, 0), d.bx, d.bx)
    add(place(L, 0), -np.inf, -l)
    add(place(d.h.A, 0), -d.h.b, -d.h.b)
    stat = place(P[ys], 0) + place(L[:, ys].T, iL) + place(d.h.A[:, ys].T, iM)
    qy = d.f.q[ys]
    add(stat, -qy, -qy)
    if nb:
        I = sp.identity(k, format="csr")
        add(place(I, iL) + place(-M_lam * I, iU), -np.inf, 0.0)
        add(place(-L, 0) + place(sp.diags(M_s), iU), -np.inf, M_s + l)
    if ns:
        I = sp.identity(k, format="csr")
        add(place(L, 0) + place(I, iS), -l, -l)  # s = −(L v + l)
    A = sp.vstack(rows, format="csr")
    lb = np.concatenate([d.lb, np.zeros(k), np.full(p, -np.inf), np.zeros(nb), np.zeros(ns)])
    ub = np.concatenate([d.ub, np.full(k, np.inf), np.full(p, np.inf), np.ones(nb),
                         np.full(ns, np.inf)])
    integrality = np.zeros(nz, bool)
    integrality[iU:iU + nb] = True
    c = np.concatenate([d.F.q, np.zeros(nz - N)])
    PF = _csr(d.F.P, N)
    PF.eliminate_zeros()
    Q = None
    if PF.nnz:
        Q = sp.block_diag([PF, sp.csr_matrix((nz - N, nz - N))], format="csr")
    return Reformulation(c=c, Q=Q, c0=float(d.F.r), A=A, rl=np.concatenate(rl),
                         ru=np.concatenate(ru), lb=lb, ub=ub, integrality=integrality, N=N, k=k,
                         p=p, nb=nb, ns=ns)


def direct_solve(ref: Reformulation, delta: float = 1e-9, refine: int = 10) -> np.ndarray:
    """z of an equality-constrained convex reformulation by one sparse factorisation: the
    reference answer (benchmarks, tests) for reformulations with no inequality, bound or binary.

    The KKT system of min cᵀz + ½zᵀQz s.t. Az = b is [Q Aᵀ; A 0][z; w] = [−c; b]. Its matrix is
    singular when rows of A are redundant (the LLC stationarity rows for y₂ all read μ = −1), so
    the regularised K_δ = [Q + δI, Aᵀ; A, −δI] is factored (sparse LU) and the solution refined
    on the unregularised system, z ← z + K_δ⁻¹(r), r = rhs − K z, until ‖r‖∞ ≤ 1e-12·(1 + ‖rhs‖∞).
    """
    from scipy.sparse.linalg import splu

    if ref.integer or ref.ns or np.any(ref.rl != ref.ru) or np.any(np.isfinite(ref.lb)) or \
            np.any(np.isfinite(ref.ub)):
        raise UnsupportedProblemError("direct_solve: only equality-constrained reformulations "
                                      "without bounds or binaries have a linear KKT system")
    m, nz = ref.A.shape
    Q = ref.Q if ref.Q is not None else sp.csr_matrix((nz, nz))
    K = sp.bmat([[Q, ref.A.T], [ref.A, None]], format="csc")
    reg = sp.diags(np.concatenate([np.full(nz, delta), np.full(m, -delta)]))
    lu = splu((K + reg).tocsc())
    rhs = np.concatenate([-ref.c, ref.rl])
    sol = lu.solve(rhs)
    stop = 1e-12 * (1.0 + float(np.abs(rhs).max(initial=0.0)))
    for _ in range(refine):
        r = rhs - K @ sol
        if float(np.abs(r).max(initial=0.0)) <= stop:
            break
        sol = sol + lu.solve(r)
    return sol[:nz]


def _mip_solver_ok(value) -> bool:
    return isinstance(value, str) and bool(value)


class KKTBackend(BilevelBackend):
    """Exact KKT/MPCC reformulation of LP/convex-QP lower levels (inner solver by capability)."""

    name = "kkt"
    priority = {"bilevel": 100}
    requires = ("cvxpy",)
    extra = None  # base install (docs/install.md)
    description = ("bilevel: KKT reformulation (big-M or SOS1), LP/QP/MILP/MIQP by the registry's "
                   "best backend (SCIP natively for SOS1)")
    options = {
        "complementarity": Option("bigm", ("bigm", "sos1"), "big-M binaries or SOS1 pairs"),
        "big_m": Option(1e3, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
                        and v > 0 and np.isfinite(v), "a positive finite number"),
        "bigm_retries": Option(3, lambda v: isinstance(v, int) and v >= 0, "retries with 10× M"),
        "measure_gap": Option(True, bool, "solve the lower level independently at the answer"),
        "mip_solver": Option("auto", _mip_solver_ok,
                             "'auto', 'scip' (native), or a registered backend name"),
    }

    def _solve_model(self, model, options: SolveOptions) -> BilevelResult:
        t0 = time.perf_counter()
        d, P, L, l = kkt_data(model)
        comp = options.get("complementarity", "bigm")
        if comp not in ("bigm", "sos1"):
            raise OptionError(f"kkt: complementarity must be 'bigm' or 'sos1', got {comp!r}")
        big_m = options.get("big_m", 1e3)
        if not (isinstance(big_m, (int, float)) and big_m > 0 and np.isfinite(big_m)):
            raise OptionError(f"kkt: big_m must be a positive finite number, got {big_m!r}")
        big_m = float(big_m)
        convex_upper = upper_is_convex(model, d)
        M_lam = big_m
        M_s, guessed = self._slack_bounds(d, L, l, big_m)
        retries = int(options.get("bigm_retries", 3))
        t_build = time.perf_counter() - t0
        t_inner = 0.0
        for attempt in range(retries + 1):
            ref = reformulate(d, P, L, l, M_lam, M_s, comp)
            ti = time.perf_counter()
            out = self._solve_once(ref, convex_upper, comp, options)
            t_inner += time.perf_counter() - ti
            v, lam, mu = out["v"], out["lam"], out["mu"]
            active = []
            if v is not None and comp == "bigm" and L.shape[0]:
                s = -(L @ v + l)
                if np.any(lam >= 0.999 * M_lam):
                    active.append("lambda")
                if np.any(guessed & (s >= 0.999 * M_s)):
                    active.append("slack")
            elif v is None and comp == "bigm" and L.shape[0] and out["termination"] in (
                    Termination.INFEASIBLE, Termination.INFEASIBLE_OR_UNBOUNDED):
                active.append("infeasible with these big-M values")  # may be too small
            if not active or attempt == retries:
                break
            M_lam *= 10.0
            M_s = np.where(guessed, M_s * 10.0, M_s)
        res = BilevelResult(termination=out["termination"], iterations=out["iterations"],
                            nodes=out["nodes"], solver=self.name,
                            message=f"{out['solver']}: {out['message']}",
                            native_status=out["native_status"], mip_gap=out["mip_gap"])
        res.extra.update({"mip_solver": out["solver"], "inner_solver": out["solver"],
                          "inner_verified": out["verified"], "complementarity": comp,
                          "big_m_lambda": M_lam, "lower_rows": int(L.shape[0]),
                          "bigm_active": bool(active), "reformulation": {
                              "variables": int(ref.A.shape[1]), "rows": int(ref.A.shape[0]),
                              "binaries": int(ref.nb), "nnz": int(ref.A.nnz)}})
        if active and v is not None:
            res.termination = Termination.LOCALLY_OPTIMAL
            res.message += (f"; big-M bound still active ({', '.join(active)}) after {retries} "
                            f"increases: global optimality not certified")
        if active and v is None:
            res.message += (f"; infeasible even with big-M = {M_lam:g} (the bilevel problem is "
                            f"infeasible, or its multipliers exceed that bound)")
        if lam is not None:
            res.extra["lower_multipliers"] = {"inequalities": lam, "equalities": mu}
            res.y = np.concatenate([lam, mu])
        if v is None and res.termination in (Termination.INFEASIBLE,
                                             Termination.INFEASIBLE_OR_UNBOUNDED):
            x_try = model.start(options.x0)
            val, _ = lower_value(model, x_try)
            if val == -np.inf:
                res.message += "; the lower level is unbounded below (at the start x), so no x has " \
                               "a lower-level solution there"
                res.extra["lower_unbounded"] = True
        t_fin = time.perf_counter()
        finish(model, v, res, measure_gap=bool(options.get("measure_gap", True)), options=options)
        res.timings.update({"build": t_build, "inner": t_inner,
                            "measure": time.perf_counter() - t_fin,
                            "total": time.perf_counter() - t0})
        return res

    @staticmethod
    def _slack_bounds(d, L, l, big_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Upper bounds of s = −(L v + l) over the box of v (big_m where the box is open)."""
        k = L.shape[0]
        if k == 0:
            return np.zeros(0), np.zeros(0, bool)
        Lc = sp.coo_matrix(L)
        lo, hi = d.lb[Lc.col], d.ub[Lc.col]
        a = -Lc.data
        with np.errstate(invalid="ignore"):
            term = np.where(a > 0, a * hi, a * lo)
        term = np.where(a == 0, 0.0, term)
        smax = -l + np.bincount(Lc.row, weights=term, minlength=k)
        guessed = ~np.isfinite(smax)
        M = np.where(guessed, big_m, np.maximum(smax, 0.0))
        return M, guessed

    def _solve_once(self, ref: Reformulation, convex_upper: bool, comp: str,
                    options: SolveOptions) -> dict:
        """Solve one reformulation; a dict with v, lam, mu, termination, message, solver, ..."""
        choice = options.get("mip_solver", "auto")
        native_needed = comp == "sos1" or (ref.Q is not None and not convex_upper)
        if choice == NATIVE_SCIP or (choice == "auto" and native_needed):
            sos = [(ref.iL + i, ref.iS + i) for i in range(ref.ns)]
            return _scip_solve(ref, sos, options)
        if native_needed:
            raise UnsupportedProblemError(
                "kkt: this reformulation has SOS1 sets or a nonconvex quadratic objective, which "
                f"only the native SCIP path solves; use mip_solver='{NATIVE_SCIP}' (pyscipopt) "
                "or 'auto'")
        import optkit as ok
        from optkit import registry

        lp = ok.LinearProblem(c=ref.c, A=ref.A, rl=ref.rl, ru=ref.ru, lb=ref.lb, ub=ref.ub,
                              Q=ref.Q, c0=ref.c0,
                              integrality=ref.integrality if ref.integer else None,
                              name="kkt-single-level")
        if choice == "auto":
            if ref.integer:
                backend = registry.best_for(lp.problem_class, exclude=(self.name,),
                                            require=frozenset({"integer"}))
            else:
                backend = registry.choose(lp)
        else:
            backend = registry.get(choice)
            if not (backend.accepts & set(lp.kinds)):
                raise OptionError(f"kkt: mip_solver={choice!r} does not accept the reformulation "
                                  f"(a {lp.problem_class} problem)")
        kw = {"tol": options.tol or 1e-9}
        if options.time_limit is not None:
            kw["time_limit"] = options.time_limit
        r = ok.solve(lp, backend.name, **kw)
        out = {"v": None, "lam": None, "mu": None, "termination": r.termination,
               "message": r.message, "solver": backend.name, "iterations": r.iterations,
               "nodes": r.nodes, "native_status": r.native_status, "mip_gap": r.mip_gap,
               "verified": r.verified}
        if r.x is not None:  # a non-finite point is judged (NUMERICAL_ERROR) by finish
            out["v"], out["lam"], out["mu"] = ref.split(r.x)
        return out


_SCIP_STATUS = {"optimal": Termination.OPTIMAL, "infeasible": Termination.INFEASIBLE,
                "unbounded": Termination.UNBOUNDED,
                "inforunbd": Termination.INFEASIBLE_OR_UNBOUNDED,
                "timelimit": Termination.TIME_LIMIT, "nodelimit": Termination.NODE_LIMIT,
                "totalnodelimit": Termination.NODE_LIMIT, "sollimit": Termination.SOLUTION_LIMIT,
                "bestsollimit": Termination.SOLUTION_LIMIT, "gaplimit": Termination.OPTIMAL,
                "memlimit": Termination.MEMORY_LIMIT, "userinterrupt": Termination.INTERRUPTED}


def _scip_solve(ref: Reformulation, sos: list, options: SolveOptions) -> dict:
    """Solve the reformulation with SCIP (pyscipopt), with SOS1 pairs; the same dict as
    :meth:`KKTBackend._solve_once`. Rows are added one by one (SCIP's API has no matrix input);
    the reformulations that need this path (SOS1, nonconvex MIQP) are small."""
    try:
        import pyscipopt as scip
    except ImportError as exc:
        raise UnsupportedProblemError("kkt: this reformulation needs SCIP, the 'mip' extra: "
                                      "pip install 'optkit[mip]' (a mixed-integer QP or SOS1 "
                                      "constraints)") from exc
    m = scip.Model()
    m.hideOutput(not options.verbose)
    if options.time_limit is not None:
        m.setParam("limits/time", float(options.time_limit))
    m.setParam("limits/gap", float(options.tol or 1e-9))
    c, lb, ub = ref.c, ref.lb, ref.ub
    nz = c.size
    big = 1e20
    z = [m.addVar(lb=None if not np.isfinite(lb[j]) else float(lb[j]),
                  ub=None if not np.isfinite(ub[j]) else float(ub[j]),
                  vtype="B" if ref.integrality[j] else "C") for j in range(nz)]
    Ac = ref.A
    for i in range(Ac.shape[0]):
        sl = slice(Ac.indptr[i], Ac.indptr[i + 1])
        expr = scip.quicksum(float(a) * z[j] for j, a in zip(Ac.indices[sl], Ac.data[sl]))
        lo = float(ref.rl[i]) if np.isfinite(ref.rl[i]) else -big
        hi = float(ref.ru[i]) if np.isfinite(ref.ru[i]) else big
        if lo == hi:
            m.addCons(expr == hi)
        else:
            if lo > -big:
                m.addCons(expr >= lo)
            if hi < big:
                m.addCons(expr <= hi)
    for a, b in sos:
        m.addConsSOS1([z[a], z[b]])
    obj = scip.quicksum(float(c[j]) * z[j] for j in np.flatnonzero(c))
    if ref.Q is not None:
        Qc = sp.coo_matrix(sp.triu(ref.Q))
        quad = scip.quicksum((0.5 if r == s else 1.0) * float(val) * z[r] * z[s]
                             for r, s, val in zip(Qc.row, Qc.col, Qc.data))
        t = m.addVar(lb=None, ub=None, name="objective")
        m.addCons(t >= obj + quad)
        m.setObjective(t + ref.c0, "minimize")
    else:
        m.setObjective(obj + ref.c0, "minimize")
    m.optimize()
    status = m.getStatus()
    out = {"v": None, "lam": None, "mu": None,
           "termination": _SCIP_STATUS.get(status, Termination.ERROR),
           "message": f"SCIP status {status}", "solver": NATIVE_SCIP,
           "iterations": int(m.getNLPIterations()), "nodes": int(m.getNNodes()),
           "native_status": status, "mip_gap": float(m.getGap()) if m.getNSols() else None,
           "verified": None}
    if m.getNSols() > 0:
        sol = m.getBestSol()
        out["v"], out["lam"], out["mu"] = ref.split(np.array([m.getSolVal(sol, var) for var in z]))
    return out
