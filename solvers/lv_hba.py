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

C holds, as in the paper, the boxes, the upper constraints and the (coupled) lower constraints;
Proj_C is built once by :func:`make_projection` from :mod:`optkit.bilevel.projections` (closed
forms and cached factorisations block by block; convex nonlinear rows by warm-started sequential
linearisation; a cvxpy solve only as the fallback, or every iteration with ``projection="cvxpy"``).
Y is the lower level's box. Gradients come from the compiled oracles
(:mod:`optkit.bilevel.functions`; quadratic ones as one compiled CSR mat-vec, constraint
Jacobians as triplets of the compiled form, :class:`optkit.bilevel.projections.RowsOracle`); no
Hessians.

Beyond the paper: ``multistart=K`` (seeded starts, the best bilevel-feasible answer by the measured
lower gap, :mod:`optkit.bilevel.multistart`; ``multistart_settings`` cycles hyperparameters over
the starts), ``polish=True`` (:func:`optimistic_polish`: the optimistic point of the lower
solution set at the final x) and ``polish="active-set"`` (that, then :func:`active_set_polish`:
for LP/QP lower levels, a local search over the lower level's complementarity pattern by LPs
whose points all satisfy the lower KKT conditions — it moves the upper variables that F reaches
only through y, whose φ_k-gradient ∇ₓf(x, y) − ∇ₓf(x, θ) is damped by 1/c_k).

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
lower-level solve, both levels' feasibility) and primal_status says what it is. One run is
deterministic (θ starts at y, λ and z at 0); ``seed`` seeds the multistart draws.
"""
from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp

from optkit.bilevel import multistart as _multistart
from optkit.bilevel import projections
from optkit.bilevel.backend import BilevelBackend
from optkit.bilevel.psd import is_psd
from optkit.bilevel.result import BilevelResult, finish, lower_value, solve_convex
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
    except Exception:
        pass
    if d.f.is_quadratic and d.g.is_affine and d.h.is_affine:
        P = d.f.P if sp.issparse(d.f.P) else sp.csr_matrix(np.asarray(d.f.P))
        P = sp.csr_matrix(P)
        return is_psd(P[d.nx:][:, d.nx:])
    return False


class _CvxpyProjection:
    """The fallback projection onto C: one cvxpy solve of min ‖w − p‖² over C written with the
    model's own constraint expressions (built once, p a parameter)."""

    kind = "cvxpy"

    def __init__(self, d, model):
        import cvxpy as cp

        N, nx = d.N, d.nx
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
        self.calls = 0

    def __call__(self, v: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.p.value = v
        self.prob.solve()
        if self.w.value is None:
            raise UnsupportedProblemError(f"lv-hba: the set C is empty ({self.prob.status})")
        return np.asarray(self.w.value, float)


def make_projection(d, model, v0: np.ndarray, method: str = "auto"):
    """Proj_C for LV-HBA: C holds, as in the paper, the (coupled) lower-level constraints as well
    as the upper ones and the boxes. ``method="auto"``: closed forms and cached factorisations of
    :mod:`optkit.bilevel.projections` block by block (boxes, half-spaces, affine sets, simplices,
    small polyhedra by a warm-started active set, large ones by a cached OSQP, convex nonlinear
    rows by warm-started sequential linearisation), a cvxpy solve only as the fallback;
    ``"cvxpy"``: a cvxpy solve every iteration (the previous behaviour, kept for comparison)."""
    has_nonlinear = any(R.k and not R.is_affine for R in (d.G, d.H, d.g, d.h))
    fallback = None
    if has_nonlinear:
        fallback = _CvxpyProjection(d, model)
        if method == "cvxpy":
            return _Projection(fallback, "cvxpy", fallback)
    try:
        P = projections.build(d, v0, fallback=fallback)
    except ValueError as exc:
        raise UnsupportedProblemError(f"lv-hba: cannot project onto C: {exc}") from exc

    return _Projection(P, P.kind, fallback)


class _Projection:
    """Proj_C with its kind and fallback; a failed projection becomes UnsupportedProblemError."""

    def __init__(self, fn, kind: str, fallback):
        self.fn, self.kind, self.fallback = fn, kind, fallback

    def __call__(self, v: np.ndarray) -> np.ndarray:
        try:
            return self.fn(v)
        except ValueError as exc:
            raise UnsupportedProblemError(f"lv-hba: projection onto C failed: {exc}; is the set "
                                          f"of jointly feasible (x, y) empty?") from exc


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


def optimistic_polish(model, v: np.ndarray, gap_tol: float = 1e-8) -> np.ndarray | None:
    """The optimistic completion of the point v at its lower-level parameters (beyond the paper).

    With x̄ the upper variables that appear in the lower level, fixed at their values in v, and
    v(x̄) the lower value (an independent solve), solve the convex problem

        min F(x̄, x', y) over (x', y)  s.t.  upper and lower constraints,
                                            f(x̄, y) ≤ v(x̄) + gap_tol·(1 + |v(x̄)|)

    (x' the other upper variables): the best point of the (ε-)solution set S(x̄) for the upper
    level, bilevel-feasible by construction. Returns the new joint vector, or None when the problem
    is not DCP or the solve does not end optimal."""
    import cvxpy as cp

    from optkit.bilevel.model import substitute

    d = model.data()
    val, _ = lower_value(model, v)
    if not math.isfinite(val):
        return None
    lower_ids = {var.id for var in model.lower.used_variables()}
    fixed = [var for var in model.upper_variables if var.id in lower_ids]
    mapping = {}
    for var in fixed:
        x = v[d.index.slice(var)]
        mapping[var.id] = cp.Constant(np.reshape(x, var.shape, order="F") if var.shape else float(x[0]))
    sense_f = model.lower.sense
    f_expr = substitute(model.lower.objective.expr, mapping)
    cons = [substitute(c, mapping) for c in list(model.upper.constraints) + list(model.lower.constraints)]
    cons.append(sense_f * f_expr <= val + gap_tol * (1.0 + abs(val)))
    obj = type(model.upper.objective)(substitute(model.upper.objective.expr, mapping))
    prob = cp.Problem(obj, cons)
    if not prob.is_dcp():
        return None
    with model.preserved_values():
        try:
            solve_convex(prob)
        except Exception:  # no solver could take it: keep the point as it is
            return None
        if prob.status != "optimal":
            return None
        out = v.copy()
        fixed_ids = {var.id for var in fixed}
        for var in model.variables:
            if var.id not in fixed_ids and var.value is not None:
                out[d.index.slice(var)] = np.ravel(np.asarray(var.value, float), order="F")
    return d.project_box(out)


def active_set_polish(model, v: np.ndarray, tol: float = 1e-7, flips: bool = True,
                      max_lps: int = 500, time_limit: float | None = None) -> tuple[np.ndarray, dict] | None:
    """Local search over the lower level's active set (beyond the paper; LP/convex-QP lower levels).

    With the lower level written as in the ``kkt`` backend (inequalities L v + l ≤ 0 including the
    finite bounds of y, slacks s = −(L v + l), multipliers λ ≥ 0, equalities with free μ), fix a
    complementarity pattern 𝒜: sᵢ = 0 for i ∈ 𝒜 and λᵢ = 0 for i ∉ 𝒜. The bilevel problem
    restricted to 𝒜,

        min F(v)  s.t.  upper constraints, stationarity P_yy y + P_yx x + q_y + L_yᵀλ + A_h,yᵀμ = 0,
                        L v + l ≤ 0, A_h v + b_h = 0, λ ≥ 0, s_𝒜 = 0, λ_{∉𝒜} = 0,

    is an LP (QP for a quadratic F): every feasible point satisfies the lower level's KKT
    conditions, so it is bilevel-feasible. Starting from 𝒜 = {i : sᵢ(v) ≤ tol}, which the current
    lower solution satisfies (its multipliers vanish where sᵢ > 0), the rounds alternate the two
    patterns a solution (v, λ) admits, {i : λᵢ > tol} and {i : sᵢ ≤ tol} (they differ on the
    degenerate rows, λᵢ = sᵢ = 0), so each round's LP contains the previous answer and F never
    increases, until neither pattern improves F (relative 1e-9). Then (``flips=True``) single
    flips of the pattern are tried, first improvement, rows with the smallest multiplier or
    slack first (a binding row leaves 𝒜 or an inactive one enters it), each improving flip
    followed by the alternation again, until no flip improves, ``max_lps`` LPs or ``time_limit``.
    This is a local search over the faces of the ``kkt`` MILP (its binaries fixed), not a
    certificate of global optimality; the answer is measured independently like every other.
    The LPs go to the backend the registry ranks first for them. Returns (v, info) or None when
    the model is not in the class or no LP improved on v."""
    import optkit as ok
    from optkit import registry
    from optkit.errors import OptkitError

    from .bilevel_kkt import kkt_data, reformulate

    t0 = time.perf_counter()
    try:
        d, P, L, l = kkt_data(model)
    except UnsupportedProblemError:
        return None
    k = L.shape[0]
    if k == 0:
        return None
    ref = reformulate(d, P, L, l, comp="sos1")  # z = (v, λ, μ, s), L v + s = −l, s ≥ 0
    iL, iS = ref.iL, ref.iS
    backend = None

    def solve(active: np.ndarray):
        nonlocal backend
        ub = ref.ub.copy()
        ub[iS:iS + k] = np.where(active, 0.0, np.inf)
        ub[iL:iL + k] = np.where(active, np.inf, 0.0)
        lp = ok.LinearProblem(c=ref.c, A=ref.A, rl=ref.rl, ru=ref.ru, lb=ref.lb, ub=ub, Q=ref.Q,
                              c0=ref.c0, name="active-set-polish")
        if backend is None:
            backend = registry.choose(lp)
        try:
            r = ok.solve(lp, backend.name, tol=1e-9)
        except OptkitError:
            return None
        if r.x is None or not r.is_solved():
            return None
        return np.asarray(r.x, float)

    scale_l = tol * (1.0 + np.abs(l))
    F_start = float(d.F.value(v))
    best: dict = {"F": F_start, "z": None}
    n_lp = 0

    def out_of_time() -> bool:
        return (n_lp >= max_lps or (time_limit is not None
                                    and time.perf_counter() - t0 > time_limit))

    def descend(active: np.ndarray) -> bool:
        """Alternate the two patterns of each answer until neither improves; True if F fell."""
        nonlocal n_lp
        start, stalls, rule = best["F"], 0, 0
        while stalls < 2 and not out_of_time():
            z = solve(active)
            n_lp += 1
            if z is None:
                break
            Fn = float(d.F.value(z[:ref.N]))
            improved = Fn < best["F"] - 1e-9 * (1.0 + abs(best["F"]))
            if Fn <= best["F"] or best["z"] is None:
                best["F"], best["z"] = min(Fn, best["F"]), z
            stalls = 0 if improved else stalls + 1
            lam, sn = z[iL:iL + k], z[iS:iS + k]
            active = lam > tol if rule == 0 else sn <= scale_l
            rule = 1 - rule
        return best["F"] < start - 1e-9 * (1.0 + abs(start))

    descend(-(L @ v + l) <= scale_l)
    # single flips of the pattern (first improvement), rows with the smallest multiplier or slack
    # first: a row that binds leaves the active set, or an inactive one enters it
    improved = best["z"] is not None
    while improved and flips and not out_of_time():
        improved = False
        z = best["z"]
        lam, sn = z[iL:iL + k], z[iS:iS + k]
        base = lam > tol
        order = np.argsort(np.where(base, lam, sn), kind="stable")
        for i in order:
            if out_of_time():
                break
            trial = base.copy()
            trial[i] = not trial[i]
            if descend(trial):
                improved = True
                break
    if best["z"] is None or not best["F"] < F_start:
        return None
    v_best = best["z"][:ref.N]
    F = best["F"]
    info = {"lps": n_lp, "start_objective": model.upper.sense * F_start,
            "objective": model.upper.sense * F, "inner_solver": getattr(backend, "name", None),
            "time": time.perf_counter() - t0}
    return d.project_box(v_best), info


def _check_hyper(hp: dict) -> None:
    """Raise OptionError naming the first hyperparameter out of its domain."""
    for k in ("alpha", "beta", "eta", "gamma1", "gamma2", "c"):
        if not (isinstance(hp[k], (int, float)) and hp[k] > 0 and math.isfinite(hp[k])):
            raise OptionError(f"lv-hba: option {k} must be a positive number, got {hp[k]!r}")
    if not (isinstance(hp["p"], (int, float)) and 0 <= hp["p"] < 0.5):
        raise OptionError(f"lv-hba: option p must lie in [0, 1/2), got {hp['p']!r}")
    if hp["r"] is not None and not (isinstance(hp["r"], (int, float)) and hp["r"] > 0):
        raise OptionError(f"lv-hba: option r must be positive or None, got {hp['r']!r}")


def _matvec(M):
    """v ↦ M v without scipy's per-call dispatch: CSR data through the compiled kernel, dense
    arrays through numpy. (The operator-overloaded ``M @ v`` costs several µs per call on small
    sparse matrices, which dominated an iteration at n = 100.)"""
    if M is None:
        return None
    if not sp.issparse(M):
        Md = np.ascontiguousarray(M, float)
        return Md.dot
    M = sp.csr_matrix(M)
    M.sum_duplicates()
    m, n = M.shape
    try:
        from scipy.sparse import _sparsetools

        kernel = _sparsetools.csr_matvec
        indptr, indices, data = M.indptr, M.indices, M.data

        def mv(v):
            out = np.zeros(m)
            kernel(m, n, indptr, indices, data, v, out)
            return out
        mv(np.zeros(n))
        return mv
    except Exception:  # a scipy without the private kernel
        return M.dot


def _grad_oracle(fn):
    """∇φ for a quadratic φ = ½vᵀPv + qᵀv + r by the fast mat-vec, otherwise the compiled oracle."""
    if fn.is_quadratic:
        mv, q = _matvec(fn.P), np.asarray(fn.q, float)
        return lambda v: mv(v) + q
    return fn.grad


class LVHBABackend(BilevelBackend):
    """LV-HBA (see module docstring); all hyperparameters are options."""

    name = "lv-hba"
    priority = {"bilevel": 50}
    requires = ("cvxpy",)
    extra = None  # base install (docs/install.md)
    description = "bilevel: LV-HBA, Hessian-free single loop on the proximal Lagrangian value function"
    options = {"alpha": 0.01, "beta": 0.01, "eta": 0.03, "gamma1": 10.0, "gamma2": 0.1,
               "c": 1.0, "p": 0.49, "r": 10.0, "history_every": None, "history_gap": False,
               "measure_gap": True, "check_convexity": True, "projection": "auto",
               "multistart": 1, "multistart_settings": None, "polish": False}

    #: the hyperparameters a multistart setting may change
    TUNABLE = ("alpha", "beta", "eta", "gamma1", "gamma2", "c", "p", "r")

    def _solve_model(self, model, options: SolveOptions) -> BilevelResult:
        t_start = time.perf_counter()
        hp = {k: options.get(k, v) for k, v in self.options.items()}
        _check_hyper(hp)
        if hp["polish"] not in (False, True, "optimistic", "active-set"):
            raise OptionError(f"lv-hba: option polish must be False, True/'optimistic' or "
                              f"'active-set', got {hp['polish']!r}")
        if hp["projection"] not in ("auto", "cvxpy"):
            raise OptionError(f"lv-hba: option projection must be 'auto' or 'cvxpy', got "
                              f"{hp['projection']!r}")
        K = hp["multistart"]
        if isinstance(K, bool) or not isinstance(K, int) or K < 1:
            raise OptionError(f"lv-hba: option multistart must be a positive integer (number of "
                              f"starts), got {K!r}")
        settings = hp["multistart_settings"]
        if settings is not None:
            if not isinstance(settings, (list, tuple)) or not settings or not all(
                    isinstance(st, dict) and set(st) <= set(self.TUNABLE) for st in settings):
                raise OptionError("lv-hba: option multistart_settings must be a non-empty list of "
                                  f"dicts with keys among {', '.join(self.TUNABLE)}, got {settings!r}")
            for st in settings:
                _check_hyper({**hp, **st})
        d = model.data()
        v = model.start(options.x0)
        if hp["check_convexity"] and not lower_is_convex(model, v):
            raise UnsupportedProblemError(
                "lv-hba needs a lower level that is convex in its own variables (f(x,·), g(x,·) "
                "convex, h(x,·) affine); this one is not recognised as convex (not DCP with x "
                "fixed, nor a convex QP with affine constraints). Use vf-penalty for a local answer.")
        max_iter = options.max_iter if options.max_iter is not None else 10000
        tol = options.tol if options.tol is not None else 1e-7
        every = hp["history_every"] or max(1, max_iter // 500)
        sol = model.solution_vector()
        proj_C = make_projection(d, model, v, hp["projection"])
        oracles = self._oracles(d)

        def solve_from(v_start, time_limit, hp=hp):
            t0 = time.perf_counter()
            val0, _ = lower_value(model, v_start)
            if val0 == -math.inf:
                res = BilevelResult(termination=Termination.INVALID_PROBLEM, solver=self.name,
                                    message="the lower level is unbounded below at the start x: its "
                                            "value function is −∞ there and LV-HBA has nothing to track")
                return finish(model, v_start, res, measure_gap=False, options=options)
            out = self._loop(model, d, v_start, hp, max_iter, tol, every, time_limit, sol, t0,
                             proj_C, oracles)
            v_end, k, term, msg, history, last = out
            res = BilevelResult(termination=term, iterations=k, solver=self.name, message=msg,
                                history=history)
            res.extra.update({"hyperparameters": {k2: hp[k2] for k2 in
                                                  ("alpha", "beta", "eta", "gamma1", "gamma2", "c",
                                                   "p", "r")},
                              "theta": last["theta"], "lam": last["lam"], "z": last["z"],
                              "projection": last["projection"]})
            t_solve = time.perf_counter() - t0
            if hp["polish"]:
                t1 = time.perf_counter()
                vp = optimistic_polish(model, v_end)
                res.extra["polished"] = vp is not None
                if vp is not None:
                    res.extra["unpolished_objective"] = model.upper.sense * d.F.value(v_end)
                    v_end = vp
                if hp["polish"] == "active-set":
                    left = None
                    if time_limit is not None:
                        left = max(0.0, time_limit - (time.perf_counter() - t0))
                    out_as = active_set_polish(model, v_end, time_limit=left)
                    res.extra["active_set_polish"] = out_as[1] if out_as else None
                    if out_as is not None:
                        res.extra.setdefault("unpolished_objective",
                                             model.upper.sense * d.F.value(v_end))
                        v_end = out_as[0]
                        res.extra["polished"] = True
                res.timings["polish"] = time.perf_counter() - t1
            finish(model, v_end, res, measure_gap=bool(hp["measure_gap"]) or K > 1, options=options)
            res.timings.update({"solve": t_solve, "total": time.perf_counter() - t0})
            return res

        if K == 1:
            res = solve_from(v, options.time_limit)
        else:
            count = [0]

            def one(v_start):
                j = count[0]
                count[0] += 1
                left = None
                if options.time_limit is not None:
                    left = max(0.0, options.time_limit - (time.perf_counter() - t_start))
                hp_j = {**hp, **settings[j % len(settings)]} if settings else hp
                return solve_from(v_start, left, hp_j)

            res = _multistart.run(model, one, K, options.seed, v, time_limit=options.time_limit)
        res.timings["total"] = time.perf_counter() - t_start
        fb = getattr(proj_C, "fallback", None)
        if fb is not None:
            res.extra["projection_fallback_solves"] = fb.calls
        return res

    @staticmethod
    def _oracles(d):
        """Gradients and constraint maps for the loop, on the fast paths when the data allow."""
        N = d.N
        m = d.g.k + d.h.k
        o = {"gradF": _grad_oracle(d.F), "gradf": _grad_oracle(d.f)}
        if d.g.is_affine and d.h.is_affine:
            A = sp.vstack([d.g.A, d.h.A], format="csr")
            b = np.concatenate([d.g.b, d.h.b])
            dense = A.nnz > 0.1 * N * max(m, 1) and N * m <= 4_000_000
            Am = A.toarray() if dense else A
            Av, ATv = _matvec(Am), _matvec(Am.T if dense else sp.csr_matrix(A.T))
            o["cval"] = (lambda w: Av(w) + b) if m else (lambda w: np.zeros(0))
            o["cT"] = (lambda w, lam: ATv(lam)) if m else (lambda w, lam: np.zeros(N))
        else:
            og, oh = projections.RowsOracle(d.g, N), projections.RowsOracle(d.h, N)
            kg = d.g.k
            o["cval"] = lambda w: np.concatenate([og.value(w), oh.value(w)])
            o["cT"] = lambda w, lam: og.jT(w, lam[:kg]) + oh.jT(w, lam[kg:])
        return o

    # ------------------------------------------------------------------ the loop
    def _loop(self, model, d, v, hp, max_iter, tol, every, time_limit, sol, t0, proj_C, o):
        N, nx = d.N, d.nx
        ys = slice(nx, N)
        k_in, p_eq = d.g.k, d.h.k
        alpha, beta, eta = hp["alpha"], hp["beta"], hp["eta"]
        g1, g2, c0, pw, r = hp["gamma1"], hp["gamma2"], hp["c"], hp["p"], hp["r"]
        boxY = projections.Box(d.lb[ys], d.ub[ys])
        m = k_in + p_eq
        lam_lo = np.concatenate([np.zeros(k_in), np.full(p_eq, -np.inf if r is None else -r)])
        lam_hi = np.full(m, np.inf if r is None else r)
        boxL = projections.Box(lam_lo, lam_hi)
        gradF, gradf, cval, cT = o["gradF"], o["gradf"], o["cval"], o["cT"]

        v = np.asarray(v, float).copy()
        theta = v[ys].copy()
        lam = np.zeros(m)
        z = np.zeros(m)
        vt = v.copy()
        history = []
        xnorm = float(np.linalg.norm(sol[:nx])) if sol is not None else 1.0
        vnorm_sol = float(np.linalg.norm(sol)) if sol is not None else 1.0
        term, msg = Termination.ITERATION_LIMIT, f"iteration limit ({max_iter}) reached"
        k = 0
        step = np.zeros(N)
        inv_g1, inv_g2 = 1.0 / g1, 1.0 / g2

        def gap_estimate():
            # f(x, y) − L_γ(x, θ, λ; y, z): the penalty term f − v_γ with the saddle iterate
            wt = v.copy()
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
            yk = v[ys]
            dth = gradf(vt)[ys] + cT(vt, lam)[ys] + (theta - yk) * inv_g1
            dlam = (lam - z) * inv_g2 - cval(vt)
            theta_new = boxY(theta - eta * dth)
            lam = boxL(lam - eta * dlam)
            dtheta = theta_new - theta
            theta = theta_new
            # outer step on φ_k
            vt[ys] = theta
            gfth = gradf(vt)
            gcl = cT(vt, lam)
            dv = gradF(v) * (1.0 / ck) + gradf(v)
            dv[:nx] -= gfth[:nx] + gcl[:nx]
            dv[ys] -= (yk - theta) * inv_g1
            v_new = proj_C(v - alpha * dv)
            z = boxL(z - (beta * inv_g2) * (z - lam))
            step = v_new - v
            v = v_new
            if time_limit is not None and time.perf_counter() - t0 > time_limit:
                term, msg = Termination.TIME_LIMIT, f"time limit after {k} iterations"
                break  # checked every iteration: the overrun is at most one iteration
            if k % every == 0:
                record(k, float(np.linalg.norm(step)) / alpha)
            if k % 10:
                continue  # the finiteness and stopping tests every 10 iterations
            if not np.all(np.isfinite(v)):
                term, msg = Termination.NUMERICAL_ERROR, f"non-finite iterate at iteration {k}: " \
                    "reduce alpha/eta or scale the problem"
                break
            scale = 1.0 + float(np.linalg.norm(v))
            if (np.linalg.norm(step) / alpha <= tol * scale
                    and np.linalg.norm(dtheta) / eta <= tol * scale
                    and d.lower_feasibility(v) <= tol * scale
                    and gap_estimate() <= tol * (1.0 + abs(d.f.value(v)))):
                term, msg = Termination.LOCALLY_OPTIMAL, ("stationary for the penalised problem "
                                                          f"φ_k (c_k = {ck:.3g}) within tol")
                break
        if not history or history[-1]["iteration"] != k:
            record(k, float(np.linalg.norm(step)) / alpha if k else None)
        last = {"theta": theta, "lam": lam, "z": z, "projection": proj_C.kind}
        return v, k, term, msg, history, last
