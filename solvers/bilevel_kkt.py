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

The single-level problem min F(v) over (v, λ, μ, u) is an LP/QP/MILP solved by optkit's ``highs``
backend, or — when F is quadratic and binaries are needed (MIQP), F is nonconvex, or SOS1 is
asked for — by SCIP through ``pyscipopt``. The upper level must have a linear or quadratic
objective and affine constraints; other models are refused with UnsupportedProblemError.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from optkit.bilevel.backend import BilevelBackend
from optkit.bilevel.result import BilevelResult, finish, lower_value
from optkit.errors import OptionError, UnsupportedProblemError
from optkit.options import SolveOptions
from optkit.status import Termination


def _psd(P, what: str, tol: float = 1e-9) -> bool:
    P = P.toarray() if sp.issparse(P) else np.asarray(P)
    if P.size == 0 or not np.any(P):
        return True
    w = np.linalg.eigvalsh(0.5 * (P + P.T))
    return bool(w.min() >= -tol * max(1.0, abs(w).max()))


def kkt_data(model):
    """Check the lower level is an LP/convex QP and return its data (see module docstring)."""
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
    P = d.f.P.toarray() if sp.issparse(d.f.P) else np.asarray(d.f.P)
    if not _psd(P[ys, ys], "lower"):
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


class KKTBackend(BilevelBackend):
    """Exact KKT/MPCC reformulation of LP/convex-QP lower levels, solved as MILP/MIQP."""

    name = "kkt"
    priority = {"bilevel": 100}
    requires = ("highspy",)
    description = "bilevel: KKT reformulation (big-M or SOS1), MILP/MIQP by HiGHS or SCIP"
    options = {"complementarity": "bigm", "big_m": 1e3, "bigm_retries": 3, "measure_gap": True,
               "mip_solver": "auto"}  # auto | highs | scip

    def _solve_model(self, model, options: SolveOptions) -> BilevelResult:
        t0 = time.perf_counter()
        d, P, L, l = kkt_data(model)
        comp = options.get("complementarity", "bigm")
        if comp not in ("bigm", "sos1"):
            raise UnsupportedProblemError(f"kkt: complementarity must be 'bigm' or 'sos1', got {comp!r}")
        big_m = options.get("big_m", 1e3)
        if not (isinstance(big_m, (int, float)) and big_m > 0 and np.isfinite(big_m)):
            raise OptionError(f"kkt: big_m must be a positive finite number, got {big_m!r}")
        big_m = float(big_m)
        if options.get("mip_solver", "auto") not in ("auto", "highs", "scip"):
            raise OptionError(f"kkt: mip_solver must be 'auto', 'highs' or 'scip', got "
                              f"{options.get('mip_solver')!r}")
        M_lam = big_m
        M_s, guessed = self._slack_bounds(d, L, l, big_m)
        retries = int(options.get("bigm_retries", 3))
        t_build = time.perf_counter() - t0
        for attempt in range(retries + 1):
            v, lam, mu, res_term, msg, solver, iters = self._solve_once(d, P, L, l, M_lam, M_s,
                                                                        comp, options)
            active = []
            if v is not None and comp == "bigm" and L.shape[0]:
                s = -(L @ v + l)
                if np.any(lam >= 0.999 * M_lam):
                    active.append("lambda")
                if np.any(guessed & (s >= 0.999 * M_s)):
                    active.append("slack")
            elif v is None and comp == "bigm" and L.shape[0] and res_term in (
                    Termination.INFEASIBLE, Termination.INFEASIBLE_OR_UNBOUNDED):
                active.append("infeasible with these big-M values")  # may be too small
            if not active or attempt == retries:
                break
            M_lam *= 10.0
            M_s = np.where(guessed, M_s * 10.0, M_s)
        res = BilevelResult(termination=res_term, iterations=iters, solver=self.name,
                            message=f"{solver}: {msg}")
        res.extra.update({"mip_solver": solver, "complementarity": comp, "big_m_lambda": M_lam,
                          "lower_rows": int(L.shape[0]), "bigm_active": bool(active)})
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
        if v is None and res_term in (Termination.INFEASIBLE, Termination.INFEASIBLE_OR_UNBOUNDED):
            x_try = model.start(options.x0)
            val, _ = lower_value(model, x_try)
            if val == -np.inf:
                res.message += "; the lower level is unbounded below (at the start x), so no x has " \
                               "a lower-level solution there"
                res.extra["lower_unbounded"] = True
        finish(model, v, res, measure_gap=bool(options.get("measure_gap", True)))
        res.timings.update({"build": t_build, "total": time.perf_counter() - t0})
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

    def _solve_once(self, d, P, L, l, M_lam, M_s, comp, options):
        N, nx = d.N, d.nx
        ys = slice(nx, N)
        k, p = L.shape[0], d.h.k
        Lyt = L[:, ys].T
        Ahyt = d.h.A[:, ys].T
        Pyv = sp.csr_matrix(P[ys, :])
        nb = k if comp == "bigm" else 0
        ns = k if comp == "sos1" else 0
        nz = N + k + p + nb + ns
        iL, iM, iU, iS = N, N + k, N + k + p, N + k + p + nb

        def place(M, col0, ncols_total=nz):
            M = sp.coo_matrix(M)
            return sp.csr_matrix((M.data, (M.row, M.col + col0)), shape=(M.shape[0], ncols_total))

        rows, rl, ru = [], [], []

        def add(M, lo, hi):
            rows.append(M)
            rl.append(np.broadcast_to(lo, (M.shape[0],)))
            ru.append(np.broadcast_to(hi, (M.shape[0],)))

        add(place(d.G.A, 0), -np.inf, -d.G.b)
        add(place(d.H.A, 0), -d.H.b, -d.H.b)
        add(place(d.Ax, 0), d.bx, d.bx)
        add(place(L, 0), -np.inf, -l)
        add(place(d.h.A, 0), -d.h.b, -d.h.b)
        stat = place(Pyv, 0) + place(Lyt, iL) + place(Ahyt, iM)
        qy = d.f.q[ys]
        add(stat, -qy, -qy)
        if comp == "bigm" and k:
            I = sp.identity(k, format="csr")
            add(place(I, iL) + place(-M_lam * I, iU), -np.inf, 0.0)
            add(place(-L, 0) + place(sp.diags(M_s), iU), -np.inf, M_s + l)
        if comp == "sos1" and k:
            I = sp.identity(k, format="csr")
            add(place(L, 0) + place(I, iS), -l, -l)  # s = −(L v + l)
        A = sp.vstack(rows, format="csr")
        rl, ru = np.concatenate(rl), np.concatenate(ru)
        lb = np.concatenate([d.lb, np.zeros(k), np.full(p, -np.inf), np.zeros(nb), np.zeros(ns)])
        ub = np.concatenate([d.ub, np.full(k, np.inf), np.full(p, np.inf), np.ones(nb),
                             np.full(ns, np.inf)])
        integrality = np.zeros(nz, bool)
        integrality[iU:iU + nb] = True
        c = np.concatenate([d.F.q, np.zeros(nz - N)])
        PF = d.F.P.toarray() if sp.issparse(d.F.P) else np.asarray(d.F.P)
        quad = bool(np.any(PF))
        Q = None
        if quad:
            Q = sp.block_diag([sp.csr_matrix(PF), sp.csr_matrix((nz - N, nz - N))], format="csr")
        choice = options.get("mip_solver", "auto")
        need_scip = comp == "sos1" or (quad and (nb > 0 or not _psd(PF, "upper")))
        use_scip = choice == "scip" or (choice == "auto" and need_scip)
        if use_scip:
            if comp == "sos1":
                sos = [(iL + i, iS + i) for i in range(k)]
            else:
                sos = []
            return _scip_solve(c, Q, d.F.r, A, rl, ru, lb, ub, integrality, sos, options, N, iL, iM, k, p)
        if need_scip:
            raise UnsupportedProblemError("kkt: this reformulation is a mixed-integer or nonconvex QP, "
                                          "which HiGHS does not solve; use mip_solver='scip' "
                                          "(pyscipopt) or 'auto'")
        import optkit as ok

        lp = ok.LinearProblem(c=c, A=A, rl=rl, ru=ru, lb=lb, ub=ub, Q=Q, c0=d.F.r,
                              integrality=integrality if nb else None, name="kkt-single-level")
        kw = {}
        if options.time_limit is not None:
            kw["time_limit"] = options.time_limit
        r = ok.solve(lp, "highs", tol=options.tol or 1e-9, **kw)
        if r.x is None:
            return None, None, None, r.termination, r.message, "highs", r.iterations
        z = np.asarray(r.x)
        return (z[:N], z[iL:iL + k], z[iM:iM + p], r.termination, r.message, "highs",
                r.iterations)


def _scip_solve(c, Q, c0, A, rl, ru, lb, ub, integrality, sos, options, N, iL, iM, k, p):
    """Solve min cᵀz + ½zᵀQz + c0 s.t. rl ≤ Az ≤ ru, bounds, integrality, SOS1 pairs with SCIP."""
    try:
        import pyscipopt as scip
    except ImportError as exc:
        raise UnsupportedProblemError("kkt: this reformulation needs SCIP (pip install pyscipopt) "
                                      "for a mixed-integer QP or SOS1 constraints") from exc
    m = scip.Model()
    m.hideOutput(not options.verbose)
    if options.time_limit is not None:
        m.setParam("limits/time", float(options.time_limit))
    m.setParam("limits/gap", float(options.tol or 1e-9))
    nz = c.size
    big = 1e20
    z = [m.addVar(lb=None if not np.isfinite(lb[j]) else float(lb[j]),
                  ub=None if not np.isfinite(ub[j]) else float(ub[j]),
                  vtype="B" if integrality[j] else "C") for j in range(nz)]
    Ac = sp.csr_matrix(A)
    for i in range(Ac.shape[0]):
        cols, vals = Ac.indices[Ac.indptr[i]:Ac.indptr[i + 1]], Ac.data[Ac.indptr[i]:Ac.indptr[i + 1]]
        expr = scip.quicksum(float(a) * z[j] for j, a in zip(cols, vals))
        lo = float(rl[i]) if np.isfinite(rl[i]) else -big
        hi = float(ru[i]) if np.isfinite(ru[i]) else big
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
    if Q is not None:
        Qc = sp.coo_matrix(sp.triu(Q))
        quad = scip.quicksum((0.5 if r == s else 1.0) * float(val) * z[r] * z[s]
                             for r, s, val in zip(Qc.row, Qc.col, Qc.data))
        t = m.addVar(lb=None, ub=None, name="objective")
        m.addCons(t >= obj + quad)
        m.setObjective(t + c0, "minimize")
    else:
        m.setObjective(obj + c0, "minimize")
    m.optimize()
    status = m.getStatus()
    term = {"optimal": Termination.OPTIMAL, "infeasible": Termination.INFEASIBLE,
            "unbounded": Termination.UNBOUNDED, "inforunbd": Termination.INFEASIBLE_OR_UNBOUNDED,
            "timelimit": Termination.TIME_LIMIT}.get(status, Termination.ERROR)
    iters = int(m.getNNodes())
    if m.getNSols() == 0:
        return None, None, None, term, f"SCIP status {status}", "scip", iters
    sol = m.getBestSol()
    zv = np.array([m.getSolVal(sol, var) for var in z])
    return zv[:N], zv[iL:iL + k], zv[iM:iM + p], term, f"SCIP status {status}", "scip", iters
