"""Backend ``lv-hba``: the Hessian-free single-loop method of Yao, Yu, Zeng and Zhang (ICLR 2024,
arXiv 2401.16164) on the proximal Lagrangian value function.

Problem: min F(x, y) over (x, y) ∈ C subject to y ∈ S(x) = argmin_{θ ∈ Y} {f(x, θ) : c(x, θ) ∈ K},
with c = (g, h), K = R₋ᵏ × {0}ᵖ (lower inequalities, and equalities with *free* multipliers).
f(x, ·), g(x, ·) convex and h(x, ·) affine. With γ = (γ₁, γ₂),

    v_γ(x, y, z) = min_{θ ∈ Y} max_{λ ∈ Λ} f(x, θ) + λᵀc(x, θ) + ‖θ − y‖²/(2γ₁) − ‖λ − z‖²/(2γ₂),

Λ = R₊ᵏ × Rᵖ (truncated to [0, r]ᵏ × [−r, r]ᵖ when r is given), and the method minimises
φ_k = F/c_k + f − v_γ, c_k = c (k+1)^p, with one projected gradient descent–ascent step on the
inner saddle problem and one projected gradient step on (x, y, z) per iteration:

    dθ = ∇_y f(x, θ) + ∇_y c(x, θ)ᵀλ + (θ − y)/γ₁,      dλ = −c(x, θ) + (λ − z)/γ₂
    θ⁺ = Proj_Y(θ − η dθ),                              λ⁺ = Proj_Λ(λ − η dλ)
    dx = ∇ₓF/c_k + ∇ₓf(x, y) − ∇ₓf(x, θ⁺) − ∇ₓc(x, θ⁺)ᵀλ⁺
    dy = ∇_yF/c_k + ∇_y f(x, y) − (y − θ⁺)/γ₁,          dz = (z − λ⁺)/γ₂
    (x, y)⁺ = Proj_C((x, y) − α (dx, dy)),              z⁺ = Proj_Z(z − β dz).

C is the upper level's set: the boxes of x and y, the upper affine constraints (closed-form
projection for an affine set on x alone, a cached cvxpy QP otherwise). Y is the lower level's box.
Gradients come from the compiled oracles (:mod:`optkit.bilevel.functions`); no Hessians.

Defaults: α = β = 0.01, η = 0.03, γ₁ = 10, γ₂ = 0.1, c = 1, p = 0.49, r = 10. The paper's LLC
setting is α = β = 0.002, p = 0.3 (``PAPER_SETTINGS``); the defaults take larger outer steps and a
faster-growing penalty, which on the LLC toy (n = 100) gives ‖x − x*‖/‖x*‖ ≈ 1e-3 after 2·10⁴
iterations instead of ≈ 1e-2 after 10⁵, and more classic problems within 1e-2 (docs/bilevel.md).

History (``history_every``): one :func:`optkit.raw.iteration_record` per sample — ``objective`` F
(user units), ``primal_infeasibility`` max(lower, upper feasibility) (absolute), ``dual_infeasibility``
‖Δ(x,y)‖/α (the projected-gradient step of φ_k, its first-order stationarity measure),
``evaluations`` the gradient evaluations so far (4 per iteration: ∇F once, ∇f three times),
``time``; extra keys ``f``, ``gap_estimate`` (f − L_γ at the saddle iterate), ``lower_feasibility``,
``upper_feasibility``, ``rel_error_x``/``rel_error`` (with a known solution) and ``lower_gap`` (with
``history_gap=True``).

Stopping: the projected-gradient step lengths ‖Δ(x,y)‖/α and ‖Δθ‖/η and the lower feasibility of
(x, y) all below ``tol`` (relative to 1 + ‖v‖) → LOCALLY_OPTIMAL ("stationary for φ_k"); else
ITERATION_LIMIT or TIME_LIMIT. The returned point is always measured independently (lower gap by a
lower-level solve, both levels' feasibility) and primal_status says what it is. The method is
deterministic (θ starts at y, λ and z at 0); ``seed`` is accepted for the common interface.
"""
from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp

from optkit.bilevel.backend import BilevelBackend
from optkit.bilevel.psd import is_psd
from optkit.bilevel.result import BilevelResult, finish, lower_value
from optkit.errors import OptionError, UnsupportedProblemError
from optkit.options import SolveOptions
from optkit.raw import iteration_record
from optkit.status import Termination


def lower_is_convex(model, v: np.ndarray) -> bool:
    """True when the lower level is convex in its own variables: DCP with x fixed, or a QP with
    affine constraints whose P_yy passes the sparse PSD test (:func:`optkit.bilevel.psd.is_psd`;
    no dense eigen-decomposition)."""
    d = model.data()
    try:
        if model.lower_problem(v).is_dcp():
            return True
    except Exception:  # noqa: BLE001
        pass
    if d.f.is_quadratic and d.g.is_affine and d.h.is_affine:
        P = d.f.P if sp.issparse(d.f.P) else sp.csr_matrix(np.asarray(d.f.P))
        P = sp.csr_matrix(P)
        return is_psd(P[d.nx:][:, d.nx:])
    return False


class _Projector:
    """Projection onto C = {v : lb ≤ v ≤ ub, Ax x = bx, G(v) ≤ 0, H(v) = 0, g(v) ≤ 0, h(v) = 0}.

    As in the paper, C holds the (coupled) lower-level constraints as well as the upper ones.
    Closed form for a box, and for affine equalities on entries without bounds (plus a box on the
    others); OSQP (warm-started) for a general polyhedron; a cvxpy problem (Clarabel, one solve
    per iteration: slow) for convex nonlinear constraints.
    """

    def __init__(self, d, model=None):
        self.d = d
        N, nx = d.N, d.nx
        rows = [(d.G, "ineq"), (d.H, "eq"), (d.g, "ineq"), (d.h, "eq")]
        Axf = sp.hstack([d.Ax, sp.csr_matrix((d.Ax.shape[0], N - nx))], format="csr")
        n_rows = sum(R.k for R, _ in rows) + Axf.shape[0]
        self.kind = "box"
        if n_rows == 0:
            return
        if all(R.is_affine for R, _ in rows):
            E = sp.vstack([Axf, d.H.A, d.h.A], format="csr")
            e = np.concatenate([d.bx, -d.H.b, -d.h.b])
            I = sp.vstack([d.G.A, d.g.A], format="csr")
            ib = np.concatenate([-d.G.b, -d.g.b])
            touched = np.zeros(N, bool)
            touched[np.unique(sp.coo_matrix(E).col)] = True
            boxed = np.isfinite(d.lb) | np.isfinite(d.ub)
            if I.shape[0] == 0 and not np.any(touched & boxed):
                self._setup_affine(E, e)
                self.kind = "affine"
                return
            import osqp

            fin = np.flatnonzero(boxed)
            B = sp.csr_matrix((np.ones(fin.size), (np.arange(fin.size), fin)), shape=(fin.size, N))
            M = sp.vstack([B, E, I], format="csc")
            lo = np.concatenate([d.lb[fin], e, np.full(I.shape[0], -np.inf)])
            hi = np.concatenate([d.ub[fin], e, ib])
            self.solver = osqp.OSQP()
            self.solver.setup(sp.identity(N, format="csc"), np.zeros(N), M, lo, hi, eps_abs=1e-10,
                              eps_rel=1e-10, polishing=False, verbose=False, max_iter=200000,
                              warm_starting=True)
            self.kind = "osqp"
            return
        import cvxpy as cp

        self.w = cp.Variable(N)
        self.p = cp.Parameter(N)
        cons = []
        fin_l, fin_u = np.isfinite(d.lb), np.isfinite(d.ub)
        if fin_l.any():
            cons.append(self.w[np.flatnonzero(fin_l)] >= d.lb[fin_l])
        if fin_u.any():
            cons.append(self.w[np.flatnonzero(fin_u)] <= d.ub[fin_u])
        if d.Ax.shape[0]:
            cons.append(d.Ax @ self.w[:nx] == d.bx)
        self.prob = _convex_projection(model, d, self.w, self.p, cons)
        self.kind = "cvxpy"

    #: above this many entries of E (rows × N) the affine projection is factored sparsely
    DENSE_MAX = 4_000_000

    def _setup_affine(self, E: sp.csr_matrix, e: np.ndarray) -> None:
        """Projection onto {v : E v = e}: v − E⁺(E v − e). Small E: the pseudo-inverse (rank
        deficiency allowed, e.g. LLSC's Bx = 0 with B of rank m/2). Large E: E⁺r = Eᵀw with
        (EEᵀ + δI) w = r factored once (sparse LU, δ = 1e-12·max|EEᵀ|) and one refinement step,
        which gives the minimum-norm correction for a consistent r."""
        self.E, self.e = E, e
        if E.shape[0] * E.shape[1] <= self.DENSE_MAX:
            Ed = E.toarray()
            self.E = Ed
            self.pinvE = np.linalg.pinv(Ed)
            self._solve_w = None
            return
        from scipy.sparse.linalg import splu

        G = sp.csr_matrix(E @ E.T)
        delta = 1e-12 * max(1.0, float(np.abs(G.data).max(initial=0.0)))
        lu = splu((G + delta * sp.identity(G.shape[0])).tocsc())

        def solve_w(r: np.ndarray) -> np.ndarray:
            w = lu.solve(r)
            return w + lu.solve(r - G @ w)

        self.pinvE = None
        self._solve_w = solve_w

    def __call__(self, v: np.ndarray) -> np.ndarray:
        d = self.d
        if self.kind == "box":
            return np.clip(v, d.lb, d.ub)
        if self.kind == "affine":
            out = np.clip(v, d.lb, d.ub)
            r = self.E @ out - self.e
            if self._solve_w is None:
                return out - self.pinvE @ r
            return out - self.E.T @ self._solve_w(r)
        if self.kind == "osqp":
            self.solver.update(q=-v)
            r = self.solver.solve(raise_error=False)
            if r.info.status not in ("solved", "solved inaccurate") or r.x is None:
                raise UnsupportedProblemError(f"lv-hba: projection onto C failed ({r.info.status}); "
                                              f"is the set of jointly feasible (x, y) empty?")
            return np.clip(np.asarray(r.x, float), d.lb, d.ub)
        self.p.value = v
        try:
            self.prob.solve(solver="CLARABEL")
        except Exception:  # noqa: BLE001
            self.prob.solve()
        if self.w.value is None:
            raise UnsupportedProblemError(f"lv-hba: the set C is empty ({self.prob.status})")
        return np.asarray(self.w.value, float)


def _convex_projection(model, d, w, p, cons):
    """cvxpy problem min ‖w − p‖² over C written with the model's own constraint expressions
    (variables replaced by slices of w); C must be convex (DCP)."""
    import cvxpy as cp

    from optkit.bilevel.model import substitute

    mapping = {var.id: (cp.reshape(w[d.index.slice(var)], var.shape, order="F") if var.shape
                        else w[d.index.slice(var)][0]) for var in model.variables}
    cons = list(cons)
    for c in list(model.upper.constraints) + list(model.lower.constraints):
        cons.append(substitute(c, mapping))
    prob = cp.Problem(cp.Minimize(cp.sum_squares(w - p)), cons)
    if not prob.is_dcp():
        raise UnsupportedProblemError("lv-hba: the set C of jointly feasible (x, y) (upper constraints "
                                      "and coupled lower constraints) is not convex (DCP), so it "
                                      "cannot be projected onto")
    return prob


#: the hyperparameters of the paper's LLC experiment
PAPER_SETTINGS = {"alpha": 0.002, "beta": 0.002, "eta": 0.03, "gamma1": 10.0, "gamma2": 0.1,
                  "c": 1.0, "p": 0.3, "r": 10.0}


class LVHBABackend(BilevelBackend):
    """LV-HBA (see module docstring); all hyperparameters are options."""

    name = "lv-hba"
    priority = {"bilevel": 50}
    requires = ("cvxpy",)
    description = "bilevel: LV-HBA, Hessian-free single loop on the proximal Lagrangian value function"
    options = {"alpha": 0.01, "beta": 0.01, "eta": 0.03, "gamma1": 10.0, "gamma2": 0.1,
               "c": 1.0, "p": 0.49, "r": 10.0, "history_every": None, "history_gap": False,
               "measure_gap": True, "check_convexity": True}

    def _solve_model(self, model, options: SolveOptions) -> BilevelResult:
        t_start = time.perf_counter()
        hp = {k: options.get(k, v) for k, v in self.options.items()}
        for k in ("alpha", "beta", "eta", "gamma1", "gamma2", "c"):
            if not (isinstance(hp[k], (int, float)) and hp[k] > 0 and math.isfinite(hp[k])):
                raise OptionError(f"lv-hba: option {k} must be a positive number, got {hp[k]!r}")
        if not (0 <= hp["p"] < 0.5):
            raise OptionError(f"lv-hba: option p must lie in [0, 1/2), got {hp['p']!r}")
        if hp["r"] is not None and not hp["r"] > 0:
            raise OptionError(f"lv-hba: option r must be positive or None, got {hp['r']!r}")
        d = model.data()
        v = model.start(options.x0)
        if hp["check_convexity"] and not lower_is_convex(model, v):
            raise UnsupportedProblemError(
                "lv-hba needs a lower level that is convex in its own variables (f(x,·), g(x,·) "
                "convex, h(x,·) affine); this one is not recognised as convex (not DCP with x "
                "fixed, nor a convex QP with affine constraints). Use vf-penalty for a local answer.")
        val0, _ = lower_value(model, v)
        if val0 == -math.inf:
            res = BilevelResult(termination=Termination.INVALID_PROBLEM, solver=self.name,
                                message="the lower level is unbounded below at the start x: its value "
                                        "function is −∞ there and LV-HBA has nothing to track")
            return finish(model, v, res, measure_gap=False, options=options)
        rng = np.random.default_rng(options.seed)
        max_iter = options.max_iter if options.max_iter is not None else 10000
        tol = options.tol if options.tol is not None else 1e-7
        every = hp["history_every"] or max(1, max_iter // 500)
        sol = model.solution_vector()
        out = self._loop(model, d, v, hp, max_iter, tol, every, options.time_limit, sol, rng,
                         t_start)
        v, k, term, msg, history, last = out
        res = BilevelResult(termination=term, iterations=k, solver=self.name, message=msg,
                            history=history)
        res.extra.update({"hyperparameters": {k2: hp[k2] for k2 in
                                              ("alpha", "beta", "eta", "gamma1", "gamma2", "c", "p", "r")},
                          "theta": last["theta"], "lam": last["lam"], "z": last["z"],
                          "projection": last["projection"]})
        t_solve = time.perf_counter() - t_start
        finish(model, v, res, measure_gap=bool(hp["measure_gap"]), options=options)
        res.timings.update({"solve": t_solve, "total": time.perf_counter() - t_start})
        return res

    # ------------------------------------------------------------------ the loop
    def _loop(self, model, d, v, hp, max_iter, tol, every, time_limit, sol, rng, t0):
        N, nx = d.N, d.nx
        ys = slice(nx, N)
        k_in, p_eq = d.g.k, d.h.k
        alpha, beta, eta = hp["alpha"], hp["beta"], hp["eta"]
        g1, g2, c0, pw, r = hp["gamma1"], hp["gamma2"], hp["c"], hp["p"], hp["r"]
        proj_C = _Projector(d, model)
        ylo, yhi = d.lb[ys], d.ub[ys]
        m = k_in + p_eq
        lam_lo = np.concatenate([np.zeros(k_in), np.full(p_eq, -np.inf if r is None else -r)])
        lam_hi = np.full(m, np.inf if r is None else r)

        # oracles (fast paths for quadratic objectives and affine constraints)
        gradF, gradf = d.F.grad, d.f.grad
        if d.g.is_affine and d.h.is_affine:
            A = sp.vstack([d.g.A, d.h.A], format="csr")
            b = np.concatenate([d.g.b, d.h.b])
            A = A.toarray() if A.nnz > 0.1 * N * max(m, 1) and N * m <= 4_000_000 else A
            AT = A.T

            def cval(w):
                return A @ w + b

            def cT(w, lam):
                return AT @ lam
        else:
            def cval(w):
                return np.concatenate([d.g.value(w), d.h.value(w)])

            def cT(w, lam):
                J = sp.vstack([d.g.jac(w), d.h.jac(w)], format="csr")
                return J.T @ lam

        theta = v[ys].copy()
        lam = np.zeros(m)
        z = np.zeros(m)
        vt = v.copy()
        history = []
        xnorm = float(np.linalg.norm(sol[:nx])) if sol is not None else None
        vnorm_sol = float(np.linalg.norm(sol)) if sol is not None else None
        term, msg = Termination.ITERATION_LIMIT, f"iteration limit ({max_iter}) reached"
        k = 0

        def gap_estimate():
            # f(x, y) − L_γ(x, θ, λ; y, z): the penalty term f − v_γ with the saddle iterate
            wt = vt.copy()
            wt[ys] = theta
            Lg = (d.f.value(wt) + lam @ cval(wt) + np.sum((theta - v[ys]) ** 2) / (2 * g1)
                  - np.sum((lam - z) ** 2) / (2 * g2))
            return d.f.value(v) - Lg

        def record(k, step_norm=None):
            Fv, fv = d.F.value(v), d.f.value(v)
            low, up = d.lower_feasibility(v), d.upper_feasibility(v)
            extra = {"f": model.lower.sense * fv, "gap_estimate": gap_estimate(),
                     "lower_feasibility": low, "upper_feasibility": up}
            if sol is not None:
                extra["rel_error_x"] = float(np.linalg.norm(v[:nx] - sol[:nx]) / max(xnorm, 1e-12))
                extra["rel_error"] = float(np.linalg.norm(v - sol) / max(vnorm_sol, 1e-12))
            if hp["history_gap"]:
                val, _ = lower_value(model, v)
                extra["lower_gap"] = fv - val
            history.append(iteration_record(
                k, objective=model.upper.sense * Fv, primal_infeasibility=max(low, up),
                dual_infeasibility=step_norm, evaluations=4 * k,
                time=time.perf_counter() - t0, **extra))

        record(0)
        for k in range(1, max_iter + 1):
            ck = c0 * k ** pw  # c_k = c (k+1)^p with k counted from 0
            # inner saddle step at (x_k, y_k, z_k)
            vt[:nx] = v[:nx]
            vt[ys] = theta
            gfth = gradf(vt)
            ct = cval(vt)
            dth = gfth[ys] + cT(vt, lam)[ys] + (theta - v[ys]) / g1
            dlam = -ct + (lam - z) / g2
            theta_new = np.clip(theta - eta * dth, ylo, yhi)
            lam = np.clip(lam - eta * dlam, lam_lo, lam_hi)
            dtheta = theta_new - theta
            theta = theta_new
            # outer step on φ_k
            vt[ys] = theta
            gfth = gradf(vt)
            gcl = cT(vt, lam)
            gF, gf = gradF(v), gradf(v)
            dv = gF / ck + gf
            dv[:nx] -= gfth[:nx] + gcl[:nx]
            dv[ys] -= (v[ys] - theta) / g1
            dz = (z - lam) / g2
            v_new = proj_C(v - alpha * dv)
            z = np.clip(z - beta * dz, lam_lo, lam_hi)
            step = v_new - v
            v = v_new
            if not np.all(np.isfinite(v)):
                term, msg = Termination.NUMERICAL_ERROR, f"non-finite iterate at iteration {k}: " \
                    "reduce alpha/eta or scale the problem"
                break
            if k % every == 0:
                record(k, float(np.linalg.norm(step)) / alpha)
            if k % 10:
                continue  # the stopping test every 10 iterations (its cost is not negligible)
            scale = 1.0 + float(np.linalg.norm(v))
            if (np.linalg.norm(step) / alpha <= tol * scale
                    and np.linalg.norm(dtheta) / eta <= tol * scale
                    and d.lower_feasibility(v) <= tol * scale
                    and gap_estimate() <= tol * (1.0 + abs(d.f.value(v)))):
                term, msg = Termination.LOCALLY_OPTIMAL, ("stationary for the penalised problem "
                                                          f"φ_k (c_k = {ck:.3g}) within tol")
                break
            if time_limit is not None and k % 50 == 0 and time.perf_counter() - t0 > time_limit:
                term, msg = Termination.TIME_LIMIT, f"time limit after {k} iterations"
                break
        if not history or history[-1]["iteration"] != k:
            record(k, float(np.linalg.norm(step)) / alpha if k else None)
        last = {"theta": theta, "lam": lam, "z": z, "projection": proj_C.kind}
        return v, k, term, msg, history, last
