"""Backends ``sketch-newton`` (AdaSketch-Newton) and ``exact-newton`` (same method, direct solve).

Problem: minimize f(x) subject to c(x) = 0 (x ∈ Rⁿ, c(x) ∈ Rᵐ, no bounds, no inequalities).
Lagrangian L(x, λ) = f(x) + λᵀc(x) (optkit's convention, so y = λ), G = ∇c (m×n),
KKT residual ‖(∇ₓL, c)‖₂.

Merit function (exact augmented Lagrangian of Hong, Na, Mahoney & Kolar, ICML 2023):

    L_η(x, λ) = f + λᵀc + (η₁/2)‖c‖² + (η₂/2)‖∇ₓL‖²
    ∇ₓL_η = ∇ₓL + η₂ ∇²ₓL ∇ₓL + η₁ Gᵀc,        ∇_λL_η = c + η₂ G ∇ₓL

(the η₂ term uses the Hessian of the *Lagrangian*, which makes the Armijo slope exact when the
constraints are nonlinear).

Newton system K z = b, K = [[B, Gᵀ], [G, 0]], b = −(∇ₓL; c), z = (Δx, Δλ), with B = ∇²ₓL,
shifted to B + (ξ_B + ‖∇²ₓL‖_F) I when the reduced Hessian ZᵀBZ has λ_min < 1e-6.
``sketch-newton`` solves it inexactly by sketch-and-project (:mod:`optkit.solvers.sketching`)
until ‖K‖_F ψ ‖r‖ ≤ θ δ ‖b‖ (or the step budget), with
ψ = 20 max(‖B‖_F², 1) / (min(ξ_G, 1) min(ξ_B, 1)), ξ_G = λ_min(GGᵀ),
Υ = max(‖G‖_F, ‖∇²ₓL‖_F, 1), δ_trial = (0.5 − β) η₂ / ((1 + η₁ + η₂) Υ² ψ²),
δ ← max(min(δ, δ_trial), 1e-6). The direction is accepted when ∇L_ηᵀz ≤ −(η₂/2)‖b‖²;
otherwise η₁ ← ν²η₁, η₂ ← η₂/ν, δ ← max(min(δ/ν⁴, δ_trial), 1e-6) and sketching continues from
the current z. Then Armijo backtracking α ∈ {1, ½, ¼, …} ≥ ``min_step`` on L_η with slope
β ∇L_ηᵀz. η₁ only grows, η₂ only shrinks, and δ is carried over between iterations.
``exact-newton`` is the same loop with z from a direct (sparse LU / dense) solve of K z = b.

Equilibration (``equilibrate=True``, beyond the paper): the sketches run on D K D z̃ = D b with a
symmetric Ruiz scaling D (z = D z̃), i.e. sketch-and-project in the D⁻²-weighted norm; the
accuracy test is still applied to the residual of the unscaled system.

Structured sketches (``sketch_blocks`` [+ ``coarse_sketch``], beyond the paper): the sketch is
drawn from a fixed, user-given family — row blocks I_1..I_p of K covering all n + m rows, each
with probability (1 − p_c)/p (block Kaczmarz, z ← z − K_Iᵀ(K_I K_Iᵀ)⁻¹ r_I), and a d×s_c matrix
S_c with probability p_c = ``coarse_prob`` (z ← z − K S_c(S_cᵀK²S_c)⁻¹ S_cᵀ r). It is still
sketch-and-project with the paper's accuracy test and merit; only the sketch distribution differs.
A square Gaussian mixing of a block's rows spans the same rows, so the ``sketch`` option does not
change the step here. ``optkit.problems.pde_control.sketch_structure(N)`` builds overlapping
grid-strip blocks plus a coarse-grid S_c for the PDE family.

Inner-solver knobs: ``sketch_block_size`` (an int s; 1 is the paper's method; None, the default,
is the adaptive size of :mod:`optkit.solvers.sketching` — beyond the paper, same accuracy test),
``sketch_relaxation`` ω ∈ (0, 2), and ``sketch_tuner`` (an object with ``choose(context)`` and
``observe(cost)``, asked before each Newton system with context [log10 ‖b‖, k, n + m] and told the
system's sketch steps; :mod:`optkit.solvers.sketch_tuning`). Exact shortcuts that keep the
paper's decisions: the reduced-Hessian test is skipped when the Gershgorin bound of ∇²ₓL passes
it, and ξ_G is certified ≥ 1 by a Cholesky factorisation of GGᵀ − I (only min(ξ_G, 1) is used).

Superlinear variant (``superlinear=True``): the accuracy test uses θ_k = θ·min(1, ‖b_k‖), a
forcing term that goes to 0 with the KKT residual (the paper's "sharpened" condition).

Statuses: LOCALLY_OPTIMAL when ‖(∇ₓL, c)‖₂ ≤ tol; INVALID_PROBLEM "structurally singular
equality Jacobian" before any iteration when the pattern of ∇c(x0) has no matching of every row to
a distinct variable (:func:`optkit.analysis.singular_equality_message`; always the case when m > n),
naming the unmatched rows; NUMERICAL_ERROR "singular constraint Jacobian" when
λ_min(GGᵀ) < ``singular_tol`` (1e-2, the method's own test); INVALID_PROBLEM for bounds or
inequality rows (the method's form is c(x) = 0 only); ITERATION_LIMIT / TIME_LIMIT;
NUMERICAL_ERROR on non-finite values.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from optkit.analysis import singular_equality_message
from optkit.backend import Backend
from optkit.raw import iteration_record
from optkit.errors import OptionError
from optkit.log import backend_logger
from optkit.options import SolveOptions
from optkit.results import Result
from optkit.status import Termination

from .sketch_tuning import check_block_size, check_relaxation, tuned, tuner_context
from .sketching import SKETCHES, SketchSolver

DENSE_MAX = 600   # n + m up to which K, GGᵀ and the null-space basis are handled densely
SKETCH_DENSE_MAX = 4000  # single-vector sketches use the compiled dense kernels up to this n + m
ETA1_MAX, ETA2_MIN, DELTA_MIN = 1e8, 1e-8, 1e-6

COMMON_DEFAULTS = {"tol": 1e-4, "max_iter": 10_000}

BASE_OPTIONS = {
    "eta1": 1.0, "eta2": 0.1, "delta": 0.1, "xi_B": 0.1, "beta": 0.1, "nu": 1.5, "theta": 1.0,
    "superlinear": False, "min_step": 1e-6, "singular_tol": 1e-2, "hessian_tol": 1e-6,
}


@dataclass
class _Point:
    """Oracle values at (x, λ)."""

    x: np.ndarray
    lam: np.ndarray
    f: float
    c: np.ndarray
    G: sp.csr_matrix
    gL: np.ndarray

    def merit(self, eta1: float, eta2: float) -> float:
        """L_η(x, λ) = f + λᵀc + (η₁/2)‖c‖² + (η₂/2)‖∇ₓL‖²."""
        return float(self.f + self.lam @ self.c + 0.5 * eta1 * (self.c @ self.c)
                     + 0.5 * eta2 * (self.gL @ self.gL))

    @property
    def kkt(self) -> float:
        return float(np.sqrt(self.gL @ self.gL + self.c @ self.c))

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.f) and np.all(np.isfinite(self.c))
                    and np.all(np.isfinite(self.gL)))


def _evaluate(form, x: np.ndarray, lam: np.ndarray) -> _Point:
    f = form.f(x)
    g = form.grad(x)
    c = form.cons(x)
    G = form.jac(x)
    gL = g + (G.T @ lam if form.m else 0.0)
    return _Point(x, lam, f, c, G, np.asarray(gL, dtype=float))


def _fro(M) -> float:
    if sp.issparse(M):
        return float(np.sqrt(np.sum(np.abs(M.data) ** 2)))
    return float(np.linalg.norm(M))


def constraint_singularity(G: sp.csr_matrix, cap: float = np.inf) -> float:
    """ξ_G = λ_min(G Gᵀ) (0 when m > n or GGᵀ is numerically singular), or ``cap`` when
    λ_min(GGᵀ) ≥ cap is certified first — the method only uses min(ξ_G, 1), so cap = 1 is exact
    for it. The certificate is a Cholesky factorisation of GGᵀ − cap·I (dense) or a pivot-free
    symmetric LU with positive pivots (sparse), both much cheaper than an eigenvalue."""
    m, n = G.shape
    if m == 0:
        return np.inf
    if m > n:
        return 0.0
    GGt = (G @ G.T)
    if np.isfinite(cap) and _certify_min_eig(GGt, cap, dense=m <= DENSE_MAX):
        return float(cap)
    if m <= DENSE_MAX:
        low = sla.eigh(GGt.toarray(), eigvals_only=True, subset_by_index=[0, 0])[0]
        return float(max(low, 0.0))
    try:
        lu = spla.splu(GGt.tocsc())
        op = spla.LinearOperator((m, m), matvec=lu.solve, dtype=float)
        mu = spla.eigsh(op, k=1, which="LM", tol=1e-6, return_eigenvectors=False)[0]
        return float(1.0 / mu) if mu > 0 else 0.0
    except (RuntimeError, spla.ArpackNoConvergence):
        return 0.0


def _certify_min_eig(M, cap: float, dense: bool) -> bool:
    """True when M − cap·I is positive definite (so λ_min(M) > cap)."""
    try:
        if dense:
            A = M.toarray() if sp.issparse(M) else np.array(M, dtype=float)
            A[np.diag_indices_from(A)] -= cap
            sla.cholesky(A, lower=True, check_finite=False)
            return True
        A = (M - cap * sp.identity(M.shape[0], format="csc")).tocsc()
        lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                       options={"SymmetricMode": True})
        return bool(np.all(lu.U.diagonal() > 0) and np.all(lu.perm_r == lu.perm_c))
    except (sla.LinAlgError, RuntimeError, ValueError):
        return False


def reduced_hessian_min_eig(Hmv, G: sp.csr_matrix, n: int, H_dense=None, scale: float = 1.0
                            ) -> float:
    """λ_min(ZᵀHZ), Z an orthonormal basis of null(G) (+inf when null(G) = {0}).

    Small problems: dense null-space basis. Large ones: Lanczos (ARPACK, smallest algebraic) on
    P H P + c (I − P), P = I − Gᵀ(GGᵀ)⁻¹G the projector onto null(G) and c = scale + 1 > ‖H‖₂,
    whose smallest eigenvalue is min(λ_min(ZᵀHZ), c).
    """
    m = G.shape[0]
    if m >= n:
        return np.inf
    if H_dense is not None:
        # G has full row rank here (the singular-Jacobian test ran first): Z from a full QR of Gᵀ
        Z = sla.qr(G.toarray().T, mode="full")[0][:, m:] if m else np.eye(n)
        if Z.shape[1] == 0:
            return np.inf
        return float(sla.eigh(Z.T @ H_dense @ Z, eigvals_only=True, subset_by_index=[0, 0])[0])
    if m:
        lu = spla.splu((G @ G.T).tocsc())
        GT = G.T.tocsr()

        def proj(v):
            return v - GT @ lu.solve(G @ v)
    else:
        def proj(v):
            return v
    c = scale + 1.0

    def mv(v):
        pv = proj(v)
        return proj(Hmv(pv)) + c * (v - pv)

    op = spla.LinearOperator((n, n), matvec=mv, dtype=float)
    try:
        return float(spla.eigsh(op, k=1, which="SA", tol=1e-3, maxiter=20 * n,
                                return_eigenvectors=False)[0])
    except spla.ArpackNoConvergence as exc:
        vals = exc.eigenvalues
        return float(vals[0]) if len(vals) else -np.inf


def gershgorin_lower(H) -> float:
    """Gershgorin lower bound on λ_min(H): min_i (H_ii − Σ_{j≠i} |H_ij|)."""
    if H.shape[0] == 0:
        return np.inf
    if sp.issparse(H):
        A = abs(sp.csr_matrix(H))
        diag = H.diagonal()
        off = np.asarray(A.sum(axis=1)).ravel() - np.abs(diag)
    else:
        Hd = np.asarray(H)
        diag = np.diag(Hd)
        off = np.abs(Hd).sum(axis=1) - np.abs(diag)
    return float(np.min(diag - off))


def ruiz_scaling(K, sweeps: int = 10) -> np.ndarray:
    """Symmetric Ruiz equilibration: D with max_j |(DKD)_ij| ≈ 1 for every row i.

    Sketch-and-project on DKD z̃ = Db (z = Dz̃) is sketch-and-project on Kz = b in the D⁻²-weighted
    norm (Gower–Richtárik's general form), so the method is unchanged; only the rate improves.
    """
    d = K.shape[0]
    D = np.ones(d)
    A = sp.csr_matrix(K) if sp.issparse(K) else np.abs(np.asarray(K))
    for _ in range(sweeps):
        if sp.issparse(A):
            M = abs(sp.diags(D) @ A @ sp.diags(D))
            rmax = np.asarray(M.max(axis=1).todense()).ravel()
        else:
            rmax = (D[:, None] * A * D[None, :]).max(axis=1)
        rmax = np.where(rmax > 0, rmax, 1.0)
        D = D / np.sqrt(rmax)
    return D


class SketchNewtonBackend(Backend):
    """AdaSketch-Newton: adaptive inexact Newton with sketch-and-project on an exact AL merit."""

    name = "sketch-newton"
    default_tol = COMMON_DEFAULTS["tol"]  # the paper's KKT target, 1e-4
    accepts = frozenset({"nlp-equality", "nlp"})
    requires = ()
    extra = None  # base install (docs/install.md)
    description = ("AdaSketch-Newton (Hong-Na-Mahoney-Kolar 2023): minimize f(x) s.t. c(x) = 0, "
                   "randomized sketching on the Newton system, exact augmented Lagrangian merit")
    options = {**BASE_OPTIONS, "sketch": "gaussian", "sketch_block_size": None, "block_size": None,
               "sketch_relaxation": 1.0, "sketch_tuner": None, "tune_sketch": False, "numba": True,
               "max_sketch_steps": 1_000_000, "matrix_free": False, "equilibrate": False,
               "sketch_blocks": None, "coarse_sketch": None, "coarse_prob": 0.5}
    exact = False

    def version(self) -> str:
        import optkit

        return getattr(optkit, "__version__", "")

    # ------------------------------------------------------------------ option checks
    def _check_options(self, o: SolveOptions) -> dict:
        opt = {k: o.get(k, v) for k, v in self.options.items()}
        for k in ("eta1", "eta2", "delta", "xi_B", "theta", "min_step", "singular_tol"):
            if not (isinstance(opt[k], (int, float)) and opt[k] > 0):
                raise OptionError(f"{self.name}: option {k} must be a positive number, got {opt[k]!r}")
        if not 0 < opt["beta"] < 0.5:
            raise OptionError(f"{self.name}: option beta must lie in (0, 0.5), got {opt['beta']!r}")
        if not opt["nu"] > 1:
            raise OptionError(f"{self.name}: option nu must be > 1, got {opt['nu']!r}")
        if not self.exact:
            if opt["sketch"] not in SKETCHES:
                raise OptionError(f"{self.name}: option sketch must be one of "
                                  f"{', '.join(SKETCHES)}, got {opt['sketch']!r}")
            if opt["block_size"] is not None:        # the earlier name of sketch_block_size
                if opt["sketch_block_size"] is not None and opt["sketch_block_size"] != opt["block_size"]:
                    raise OptionError(f"{self.name}: give sketch_block_size or its alias block_size, "
                                      "not both")
                opt["sketch_block_size"] = opt["block_size"]
            check_block_size(self.name, opt["sketch_block_size"])
            check_relaxation(self.name, opt["sketch_relaxation"])
            if opt["tune_sketch"] and opt["sketch_tuner"] is None:
                # a Tsallis-INF tuner over (relaxation, block size) that learns within this
                # solve; pass sketch_tuner= (optkit.tuning.sketch.sketch_tuner()) to learn across
                from optkit.tuning.sketch import sketch_tuner

                opt["sketch_tuner"] = sketch_tuner()
            tuner = opt["sketch_tuner"]
            if tuner is not None and not (callable(getattr(tuner, "choose", None))
                                          and callable(getattr(tuner, "observe", None))):
                raise OptionError(f"{self.name}: option sketch_tuner must have methods "
                                  "choose(context) -> dict and observe(cost), "
                                  f"got {type(tuner).__name__}")
            if not (isinstance(opt["max_sketch_steps"], int) and opt["max_sketch_steps"] >= 1):
                raise OptionError(f"{self.name}: option max_sketch_steps must be a positive integer")
            if opt["sketch_blocks"] is not None:
                if opt.get("matrix_free"):
                    raise OptionError(f"{self.name}: sketch_blocks needs K as a sparse matrix; "
                                      "it cannot be combined with matrix_free=True")
                try:
                    opt["sketch_blocks"] = [np.asarray(I, dtype=np.int64).ravel()
                                            for I in opt["sketch_blocks"]]
                except (TypeError, ValueError) as exc:
                    raise OptionError(f"{self.name}: option sketch_blocks must be a list of integer "
                                      f"row-index arrays ({exc})") from None
                if not opt["sketch_blocks"] or any(I.size == 0 for I in opt["sketch_blocks"]):
                    raise OptionError(f"{self.name}: option sketch_blocks must be a non-empty list "
                                      "of non-empty row-index arrays")
            elif opt["coarse_sketch"] is not None:
                raise OptionError(f"{self.name}: option coarse_sketch is used only together with "
                                  "sketch_blocks")
            if not (isinstance(opt["coarse_prob"], (int, float)) and 0 < opt["coarse_prob"] < 1):
                raise OptionError(f"{self.name}: option coarse_prob must lie in (0, 1), "
                                  f"got {opt['coarse_prob']!r}")
        opt["tol"] = o.tol if o.tol is not None else COMMON_DEFAULTS["tol"]
        opt["max_iter"] = o.max_iter if o.max_iter is not None else COMMON_DEFAULTS["max_iter"]
        opt["seed"] = 0 if o.seed is None else o.seed
        return opt

    @staticmethod
    def unsupported_reason(form) -> str:
        """Why the form is outside minimize f(x) s.t. c(x) = 0 (empty when it is inside)."""
        if form.is_equality_only:
            return ""
        ineq = int(np.sum(form.cl != form.cu))
        bnd = int(np.sum(np.isfinite(form.lb) | np.isfinite(form.ub)))
        parts = []
        if ineq:
            parts.append(f"{ineq} inequality row(s)")
        if bnd:
            parts.append(f"{bnd} bounded variable(s)")
        return ("this method solves only  minimize f(x) subject to c(x) = 0  with free variables "
                f"(no bounds, no inequalities); the problem has {' and '.join(parts)}. "
                "Use an interior-point backend (e.g. 'ipopt') or reformulate with equality "
                "constraints and free variables.")

    # ------------------------------------------------------------------ solve
    def solve_nlp(self, form, options: SolveOptions) -> Result:
        """Run AdaSketch-Newton (or its exact variant) on an equality-only NLPForm."""
        opt = self._check_options(options)
        why = self.unsupported_reason(form)
        if why:
            return Result(termination=Termination.INVALID_PROBLEM, message=why)
        singular = singular_equality_message(form)  # pattern of ∇c(x0): one jac call, no Newton step
        if singular:
            return Result(termination=Termination.INVALID_PROBLEM, iterations=0,
                          message=singular + "; no Newton iteration was run")
        if not self.exact and opt["sketch_blocks"] is not None:
            self._check_structure(opt, form.n + form.m)
        # shift the rows so the constraints read c(x) − cl = 0
        if np.any(form.cl != 0):
            rhs_shift = form.cl.copy()
        else:
            rhs_shift = None
        t0 = time.perf_counter()
        deadline = None if options.time_limit is None else t0 + float(options.time_limit)
        rng = np.random.default_rng(opt["seed"])
        n, m = form.n, form.m
        x = np.asarray(form.x0, dtype=float).copy()
        lam = np.zeros(m) if form.y0 is None else np.asarray(form.y0, dtype=float).copy()
        eta1, eta2, delta = float(opt["eta1"]), float(opt["eta2"]), float(opt["delta"])
        beta, nu, theta = float(opt["beta"]), float(opt["nu"]), float(opt["theta"])
        history: list[dict] = []
        stats = {"sketch_steps": 0, "cap_hits": 0, "unit_steps": 0, "shifts": 0,
                 "eta_updates": 0, "ls_failures": 0}

        def evaluate(xv, lv):
            p = _evaluate(form, xv, lv)
            if rhs_shift is not None:
                p.c = p.c - rhs_shift
            return p

        def finish(term, msg, P=None):
            res = Result(termination=term, message=msg, history=history,
                         iterations=len(history),
                         x=None if P is None else P.x, y=None if P is None else P.lam)
            # objective stays None: optkit fills it in user units (maximisation sign) from x
            res.extra.update(stats)
            res.extra["kkt_2norm"] = None if P is None else P.kkt
            res.extra["eta1"], res.extra["eta2"], res.extra["delta"] = eta1, eta2, delta
            if self.exact:
                res.extra["method"] = "exact"
            elif opt["sketch_blocks"] is not None:
                cs = opt["coarse_sketch"]
                res.extra["method"] = (f"structured({len(opt['sketch_blocks'])} blocks"
                                       + (f" + coarse {cs.shape[1]}" if cs is not None else "") + ")")
            else:
                bsz = opt["sketch_block_size"]
                res.extra["method"] = f"{opt['sketch']}(block {'adaptive' if bsz is None else bsz})"
            its = max(len(history), 1)
            res.extra["unit_step_fraction"] = stats["unit_steps"] / its if history else None
            return res

        if hasattr(form, "note_iterate"):
            form.note_iterate(x, 0)
        P = evaluate(x, lam)
        if not P.finite:
            return finish(Termination.NUMERICAL_ERROR, "non-finite f, c or ∇L at the start point", P)
        for k in range(opt["max_iter"] + 1):
            kkt = P.kkt
            if kkt <= opt["tol"]:
                return finish(Termination.LOCALLY_OPTIMAL,
                              f"KKT residual ‖(∇L, c)‖₂ = {kkt:.3e} ≤ tol = {opt['tol']:g}", P)
            if k == opt["max_iter"]:
                return finish(Termination.ITERATION_LIMIT,
                              f"max_iter = {opt['max_iter']} reached; KKT residual {kkt:.3e}", P)
            if options.time_limit is not None and time.perf_counter() - t0 > options.time_limit:
                return finish(Termination.TIME_LIMIT,
                              f"time_limit = {options.time_limit:g} s reached; KKT residual {kkt:.3e}", P)
            G = P.G
            xi_G = constraint_singularity(G, cap=1.0)
            if xi_G < opt["singular_tol"]:
                return finish(Termination.NUMERICAL_ERROR,
                              f"singular constraint Jacobian: λ_min(GGᵀ) = {xi_G:.3e} < "
                              f"{opt['singular_tol']:g} at iteration {k}"
                              + (f" (m = {m} > n = {n})" if m > n else ""), P)
            # ---- Hessian of the Lagrangian and its shift
            small = n + m <= DENSE_MAX
            if opt.get("matrix_free") and not self.exact:
                xk, lk = P.x, P.lam

                def Hmv(v, xk=xk, lk=lk):
                    return form.hvp(xk, lk, v)
                probes = rng.standard_normal((n, 8))
                normH = float(np.sqrt(np.mean([np.sum(Hmv(probes[:, j]) ** 2) for j in range(8)])))
                H = None
                H_dense = None
            else:
                H = form.hess(P.x, P.lam)
                normH = _fro(H)
                Hmv = H.__matmul__
                H_dense = H.toarray() if small else None
            low = gershgorin_lower(H) if H is not None else -np.inf
            # λ_min(ZᵀBZ) ≥ λ_min(B) ≥ the Gershgorin bound: when that bound already passes the
            # test, the eigenvalue computation is skipped (same decision, exact sufficient test)
            mu = low if low >= opt["hessian_tol"] else \
                reduced_hessian_min_eig(Hmv, G, n, H_dense=H_dense, scale=normH)
            shift = (opt["xi_B"] + normH) if mu < opt["hessian_tol"] else 0.0
            if shift:
                stats["shifts"] += 1
            normG = _fro(G)
            normB = float(np.sqrt(normH ** 2 + 2 * shift * (H.diagonal().sum() if H is not None else 0.0)
                                  + n * shift ** 2)) if shift else normH
            normK = float(np.sqrt(normB ** 2 + 2 * normG ** 2))
            psi = 20.0 * max(normB ** 2, 1.0) / (min(xi_G, 1.0) * min(opt["xi_B"], 1.0))
            ups = max(normG, normH, 1.0)

            def delta_trial(e1, e2, ups=ups, psi=psi):
                return (0.5 - beta) * e2 / ((1.0 + e1 + e2) * ups ** 2 * psi ** 2)

            delta = max(min(delta, delta_trial(eta1, eta2)), DELTA_MIN)
            b = -np.concatenate([P.gL, P.c])
            nb = float(np.linalg.norm(b))
            HgL = Hmv(P.gL)
            GgL = G @ P.gL
            Gtc = G.T @ P.c
            theta_k = theta * min(1.0, nb) if opt["superlinear"] else theta

            # ---- the Newton system
            solver = None
            bs, omega = (None, None) if self.exact else (opt["sketch_block_size"],
                                                          float(opt["sketch_relaxation"]))
            if self.exact:
                z = self._direct_solve(H, shift, G, b, small)
                steps_k = 0
            else:
                if opt["sketch_tuner"] is not None:
                    bs, omega = tuned(self.name, opt["sketch_tuner"], tuner_context(nb, k, n + m),
                                      bs, omega)
                solver = self._sketch_solver(H, Hmv, shift, G, b, small, normK, opt, rng, form,
                                             bs, omega)
                steps_k = 0
            cap_hit = False
            while True:
                if solver is not None:
                    thr = theta_k * delta * nb / (normK * psi)
                    # with equilibration, ‖K z − b‖ = ‖D⁻¹(K̃ z̃ − b̃)‖ ≤ ‖r̃‖ / min D
                    out = solver.run(thr * float(np.min(solver.scale)),
                                     opt["max_sketch_steps"] - steps_k, deadline)
                    steps_k += out.steps
                    if not out.reached:
                        cap_hit = True
                    z = solver.scale * solver.z
                dx, dl = z[:n], z[n:]
                slope = float((P.gL + eta2 * HgL + eta1 * Gtc) @ dx + (P.c + eta2 * GgL) @ dl)
                if eta1 > ETA1_MAX or eta2 < ETA2_MIN:
                    break
                if slope > -0.5 * eta2 * nb ** 2:
                    eta1, eta2 = nu ** 2 * eta1, eta2 / nu
                    delta = max(min(delta / nu ** 4, delta_trial(eta1, eta2)), DELTA_MIN)
                    stats["eta_updates"] += 1
                    continue
                break
            if cap_hit:
                stats["cap_hits"] += 1
            stats["sketch_steps"] += steps_k
            if solver is not None and opt["sketch_tuner"] is not None:
                opt["sketch_tuner"].observe(float(steps_k))
            if not np.all(np.isfinite(z)):
                return finish(Termination.NUMERICAL_ERROR, "non-finite Newton direction", P)
            # ---- Armijo backtracking on L_η
            m0 = P.merit(eta1, eta2)
            alpha, accepted = 1.0, None
            while True:
                Q = evaluate(P.x + alpha * dx, P.lam + alpha * dl)
                if Q.finite and Q.merit(eta1, eta2) <= m0 + alpha * beta * slope:
                    accepted = Q
                    break
                if alpha / 2 < opt["min_step"]:
                    break
                alpha /= 2
            if accepted is None:
                stats["ls_failures"] += 1
                if not Q.finite:
                    return finish(Termination.NUMERICAL_ERROR,
                                  "line search reached min_step at non-finite values", P)
                accepted = Q          # take the minimum step (the method's safeguard)
            if alpha == 1.0:
                stats["unit_steps"] += 1
            P = accepted
            if hasattr(form, "note_iterate"):  # returned if the form's deadline stops the solve
                form.note_iterate(P.x, k + 1)
            history.append(iteration_record(
                k + 1, objective=P.f, primal_infeasibility=float(np.abs(P.c).max(initial=0.0)),
                dual_infeasibility=float(np.abs(P.gL).max(initial=0.0)),
                evaluations=form.total_evaluations, time=time.perf_counter() - t0,
                iter=k + 1, kkt=P.kkt, step=alpha, sketch_steps=steps_k, eta1=eta1, eta2=eta2,
                delta=delta, cap_hit=cap_hit, shift=shift, slope=slope,
                block=None if solver is None else solver.max_block, relaxation=omega))
            if options.verbose:
                backend_logger(self.name).info("%s", history[-1])
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_structure(self, opt: dict, d: int) -> None:
        """sketch_blocks must cover the rows 0..d−1 of K; coarse_sketch must have d rows."""
        cover = np.zeros(d, dtype=bool)
        for I in opt["sketch_blocks"]:
            if I.min() < 0 or I.max() >= d:
                raise OptionError(f"{self.name}: sketch_blocks indices must lie in 0..{d - 1} "
                                  f"(K has n + m = {d} rows)")
            cover[I] = True
        if not cover.all():
            raise OptionError(f"{self.name}: sketch_blocks must cover every row of K "
                              f"({int((~cover).sum())} of {d} rows are in no block)")
        cs = opt["coarse_sketch"]
        if cs is not None:
            if not sp.issparse(cs):
                cs = np.asarray(cs, dtype=float)
                if cs.ndim == 1:
                    cs = cs[:, None]
            if cs.ndim != 2 or cs.shape[0] != d:
                raise OptionError(f"{self.name}: coarse_sketch must be a d×s matrix with "
                                  f"d = n + m = {d} rows, got shape {getattr(cs, 'shape', None)}")
            opt["coarse_sketch"] = cs

    # ------------------------------------------------------------------ linear algebra
    @staticmethod
    def _kkt_matrix(H, shift, G, small):
        n = G.shape[1]
        B = H + shift * sp.identity(n, format="csr") if shift else H
        K = sp.bmat([[B, G.T], [G, None]], format="csr")
        return K.toarray() if small else K

    def _direct_solve(self, H, shift, G, b, small):
        K = self._kkt_matrix(H, shift, G, small)
        if small:
            try:
                return sla.solve(K, b, assume_a="sym")
            except (sla.LinAlgError, ValueError):
                return sla.lstsq(K, b)[0]
        try:
            return spla.splu(sp.csc_matrix(K)).solve(b)
        except RuntimeError:
            return spla.lsqr(K, b, atol=1e-14, btol=1e-14)[0]

    def _sketch_solver(self, H, Hmv, shift, G, b, small, normK, opt, rng, form, bs, omega):
        n = G.shape[1]
        kw = {"relaxation": omega, "use_numba": bool(opt["numba"])}
        if opt.get("matrix_free"):
            GT = G.T.tocsr()

            def matvec(v):
                vx, vl = v[:n], v[n:]
                top = Hmv(vx) + shift * vx + GT @ vl
                return np.concatenate([top, G @ vx])
            solver = SketchSolver(b, rng, opt["sketch"], bs, matvec=matvec, kfro=normK, **kw)
            solver.scale = np.ones(b.size)
            return solver
        structured = opt["sketch_blocks"] is not None
        K = self._kkt_matrix(H, shift, G, False if structured else small)
        if not structured and sp.issparse(K) and K.shape[0] <= SKETCH_DENSE_MAX:
            K = K.toarray()
        scale = np.ones(K.shape[0])
        if opt.get("equilibrate"):
            scale = ruiz_scaling(K)
            K = (sp.diags(scale) @ K @ sp.diags(scale)).tocsr() if sp.issparse(K) else \
                scale[:, None] * K * scale[None, :]
            b = scale * b
            normK = _fro(K)
        if structured:
            solver = SketchSolver(b, rng, opt["sketch"], 1, K=K, kfro=normK,
                                  blocks=opt["sketch_blocks"], coarse=opt["coarse_sketch"],
                                  coarse_prob=opt["coarse_prob"], **kw)
        else:
            solver = SketchSolver(b, rng, opt["sketch"], bs, K=K, kfro=normK, **kw)
        solver.scale = scale
        return solver


class ExactNewtonBackend(SketchNewtonBackend):
    """The same globalised Newton method with a direct solve of the KKT system."""

    name = "exact-newton"
    description = ("Newton on minimize f(x) s.t. c(x) = 0 with the AdaSketch-Newton merit and "
                   "line search, KKT system solved directly (baseline for sketch-newton)")
    options = dict(BASE_OPTIONS)
    exact = True
