"""Euclidean projections Proj_C(p) = argmin_{u ∈ C} ½‖u − p‖², closed form or cached.

Closed forms (each O(n), the simplex O(n log n)):

- box ``lo ≤ u ≤ hi``: u = min(max(p, lo), hi), applied only to the entries with a finite bound;
- half-space ``aᵀu ≤ b``: u = p − max(0, aᵀp − b)/‖a‖² · a;
- affine set ``E u = e``: u = p − E⁺(E p − e), E⁺ cached once (dense pseudo-inverse when small;
  otherwise (EEᵀ + δI) w = r factored once by a sparse LU, one refinement step, u = p − Eᵀw);
- simplex ``u ≥ 0, 1ᵀu = s``: u = max(p − τ, 0) with τ from the sorted p (Held, Wolfe, Crowder
  1974; Duchi et al. 2008);
- ball ``‖u − c‖ ≤ ρ``: u = c + (p − c)·min(1, ρ/‖p − c‖);
- Cartesian products of the above on disjoint index sets (:class:`Product`).

Cached / warm-started, for what has no closed form:

- small polyhedra ``A u ≤ b, lo ≤ u ≤ hi`` (:func:`project_polyhedron_dense`): a dense active-set
  method on the KKT system u − p + A_Sᵀλ − μ_L + μ_U = 0, A_S u = b_S, u_L = lo_L, u_U = hi_U,
  warm-started from the previous active set (usually one linear solve per call);
- large polyhedra (:class:`OSQPPolyhedron`): OSQP set up once — its KKT factorisation is cached
  and only q = −p changes between calls, warm-started from the previous answer;
- one convex quadratic row ``c₀ + aᵀu + ½uᵀHu ≤ 0`` with a box (:class:`QuadraticRowBox`; H
  diagonal, or a full H without bounds): a 1-D safeguarded Newton root-find on the multiplier λ of
  φ(λ) = c(u(λ)), u(λ) in closed form, warm-started from the previous λ, Python floats on tiny
  blocks;
- other convex nonlinear rows ``c(u) ≤ 0`` with a box (:class:`ConvexRows`): if the box projection is
  feasible it is the answer; otherwise sequential linearisation — u_{j+1} = projection of p onto
  {c(u_j) + J(u_j)(u − u_j) ≤ 0} ∩ box (a small polyhedron, above) — whose fixed points are the
  KKT points of the projection; started from the previous answer, it converges in a few steps
  (Anderson-accelerated). When every row is quadratic (constant Hessians Hᵢ, read once), each call
  first tries Newton's method on the KKT system u − p + J_Sᵀλ_S = 0, c_S(u) = 0 with the previous
  active set S and multipliers (two or three steps, kept only if the answer is a KKT point of the
  projection). When neither converges, the caller's fallback (a cvxpy solve) answers.

:func:`build` splits the set C of a bilevel model (boxes, upper and lower constraints, the upper
affine set on x) into independent blocks by the connected components of the rows' column
supports (``scipy.sparse.csgraph``) and chooses the cheapest of the above for each.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp


class Box:
    """Projection onto {lo ≤ u ≤ hi}; infinite bounds cost nothing."""

    kind = "box"

    def __init__(self, lo: np.ndarray, hi: np.ndarray):
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        if np.any(lo > hi):
            raise ValueError("box projection: a lower bound exceeds its upper bound")
        self.lo, self.hi = lo, hi
        self.il = np.flatnonzero(np.isfinite(lo))
        self.iu = np.flatnonzero(np.isfinite(hi))
        self.all_finite = self.il.size == lo.size and self.iu.size == hi.size
        self.none = self.il.size == 0 and self.iu.size == 0

    def __call__(self, p: np.ndarray) -> np.ndarray:
        if self.none:
            return p.copy()
        if self.all_finite:
            return np.clip(p, self.lo, self.hi)
        u = p.copy()
        if self.il.size:
            u[self.il] = np.maximum(u[self.il], self.lo[self.il])
        if self.iu.size:
            u[self.iu] = np.minimum(u[self.iu], self.hi[self.iu])
        return u


class HalfSpace:
    """Projection onto {aᵀu ≤ b}: u = p − max(0, aᵀp − b)/‖a‖² · a."""

    kind = "halfspace"

    def __init__(self, a: np.ndarray, b: float):
        self.a = np.asarray(a, float).ravel()
        self.b = float(b)
        nrm = float(self.a @ self.a)
        if nrm == 0.0:
            raise ValueError("half-space projection: the normal vector a is zero")
        self.inv = 1.0 / nrm

    def __call__(self, p: np.ndarray) -> np.ndarray:
        s = float(self.a @ p) - self.b
        return p - (s * self.inv) * self.a if s > 0 else p.copy()


class Affine:
    """Projection onto {E u = e} (E may be rank deficient; e must be in its range):
    u = p − E⁺(E p − e), with E⁺ (or a factorisation of EEᵀ) computed once."""

    kind = "affine"
    #: above this many entries of E the correction is computed with a sparse factorisation
    DENSE_MAX = 4_000_000

    def __init__(self, E, e: np.ndarray):
        self.e = np.asarray(e, float)
        self.pinv: np.ndarray | None
        m, n = E.shape
        if m * n <= self.DENSE_MAX:
            Ed = E.toarray() if sp.issparse(E) else np.asarray(E, float)
            self.E, self.pinv, self._solve = Ed, np.linalg.pinv(Ed), None
            if m == 1:  # one hyperplane: u = p − (aᵀp − e)/‖a‖² a
                self.a = Ed[0]
                self.inv = 1.0 / float(self.a @ self.a) if self.a @ self.a > 0 else 0.0
            return
        from scipy.sparse.linalg import splu

        E = sp.csr_matrix(E)
        G = sp.csr_matrix(E @ E.T)
        delta = 1e-12 * max(1.0, float(np.abs(G.data).max(initial=0.0)))
        lu = splu((G + delta * sp.identity(m)).tocsc())

        def solve(r: np.ndarray) -> np.ndarray:
            w = lu.solve(r)
            return w + lu.solve(r - G @ w)

        self.E, self.pinv, self._solve = E, None, solve

    def __call__(self, p: np.ndarray) -> np.ndarray:
        if self.pinv is not None and self.E.shape[0] == 1:
            s = float(self.a @ p) - self.e[0]
            return p - (s * self.inv) * self.a
        r = self.E @ p - self.e
        if self._solve is None:
            return p - self.pinv @ r
        return p - self.E.T @ self._solve(r)


def simplex_projection(p: np.ndarray, total: float = 1.0) -> np.ndarray:
    """Projection onto {u ≥ 0, 1ᵀu = total}: u = max(p − τ, 0), τ the largest (Σ_{i≤j} sᵢ − total)/j
    with s = sort(p) descending and sⱼ > that value."""
    if total <= 0:
        if total == 0:
            return np.zeros_like(p)
        raise ValueError("simplex projection: the total must be non-negative")
    s = np.sort(p)[::-1]
    css = np.cumsum(s) - total
    j = np.arange(1, p.size + 1)
    k = np.flatnonzero(s - css / j > 0)[-1]
    tau = css[k] / (k + 1)
    return np.maximum(p - tau, 0.0)


class Simplex:
    """Projection onto {u ≥ 0, 1ᵀu = total} (:func:`simplex_projection`)."""

    kind = "simplex"

    def __init__(self, total: float = 1.0):
        self.total = float(total)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        return simplex_projection(p, self.total)


class Ball:
    """Projection onto {‖u − c‖₂ ≤ ρ}: u = c + (p − c)·min(1, ρ/‖p − c‖)."""

    kind = "ball"

    def __init__(self, center, radius: float):
        if not radius >= 0:
            raise ValueError("ball projection: the radius must be non-negative")
        self.c, self.r = np.asarray(center, float), float(radius)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        d = p - self.c
        nrm = float(np.linalg.norm(d))
        return p.copy() if nrm <= self.r else self.c + d * (self.r / nrm)


class Product:
    """Projection onto a Cartesian product: ``blocks`` are (index array, projection) on disjoint
    index sets; the entries in no block go through ``rest`` (a :class:`Box` on all entries, or
    None for no constraint)."""

    def __init__(self, blocks: list, rest: Box | None = None):
        self.blocks = [(np.asarray(idx, np.int64), P) for idx, P in blocks]
        self.rest = rest
        kinds = sorted({P.kind for _, P in self.blocks})
        if rest is not None and not rest.none:
            kinds = ["box"] + [k for k in kinds if k != "box"]
        self.kind = "+".join(kinds) if kinds else "box"
        # one block on every entry, in order (its projection includes its box): call it directly
        self.whole = None
        if len(self.blocks) == 1 and rest is not None:
            idx, P = self.blocks[0]
            if idx.size == rest.lo.size and np.array_equal(idx, np.arange(idx.size)):
                self.whole = P

    def __call__(self, p: np.ndarray) -> np.ndarray:
        if self.whole is not None:
            return self.whole(p)
        u = self.rest(p) if self.rest is not None else p.copy()
        for idx, P in self.blocks:
            u[idx] = P(p[idx])
        return u


# ---------------------------------------------------------------------------- polyhedra
_njit: Any
_loop_impl: Any
_compiled_loop: Any
try:  # optional accelerator for the small dense active-set projections (same arithmetic)
    from numba import njit as _njit

    HAVE_NUMBA = True
except Exception:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False
    _njit = None


def _active_set_loop(p, A, b, lo, hi, S, scale, tbs, tol, dtol, max_iter):
    """The working-set iteration of :func:`project_polyhedron_dense` written with explicit loops
    (compiled by numba when it is installed). Returns (u, S, converged)."""
    m, n = A.shape
    L = p < lo
    U = p > hi
    u = p.copy()
    lam = np.zeros(m)
    for _ in range(max_iter):
        for j in range(n):
            u[j] = lo[j] if L[j] else (hi[j] if U[j] else p[j])
        lam[:] = 0.0
        rows = np.flatnonzero(S)
        if rows.size:
            free = np.flatnonzero(~(L | U))
            AS = np.ascontiguousarray(A[rows])
            ASF = np.ascontiguousarray(AS[:, free])
            rhs = ASF @ p[free] - (b[rows] - (AS @ u - ASF @ u[free]))
            M = ASF @ ASF.T
            lamS = np.linalg.lstsq(M, rhs)[0]
            uF = p[free] - ASF.T @ lamS
            for t in range(free.size):
                u[free[t]] = uF[t]
            for t in range(rows.size):
                lam[rows[t]] = lamS[t]
        grad = u - p + A.T @ lam
        worst, kind, idx = tol, -1, -1
        Au = A @ u
        for i in range(m):
            if S[i]:
                if abs(Au[i] - b[i]) / scale[i] > 1e3 * tol:
                    return u, S, False  # an inconsistent working set: let the caller fall back
            else:
                r = (Au[i] - b[i]) / scale[i]
                if r > worst:
                    worst, kind, idx = r, 0, i
        for j in range(n):
            if not (L[j] or U[j]):
                r = (lo[j] - u[j]) / tbs[j]
                if r > worst:
                    worst, kind, idx = r, 1, j
                r = (u[j] - hi[j]) / tbs[j]
                if r > worst:
                    worst, kind, idx = r, 2, j
        if kind == 0:
            S[idx] = True
            continue
        if kind == 1:
            L[idx] = True
            continue
        if kind == 2:
            U[idx] = True
            continue
        worst, kind, idx = -dtol, -1, -1
        for i in range(m):
            if S[i] and lam[i] < worst:
                worst, kind, idx = lam[i], 0, i
        for j in range(n):
            if L[j] and grad[j] < worst:
                worst, kind, idx = grad[j], 1, j
            if U[j] and -grad[j] < worst:
                worst, kind, idx = -grad[j], 2, j
        if kind == -1:
            return u, S, True
        if kind == 0:
            S[idx] = False
        elif kind == 1:
            L[idx] = False
        else:
            U[idx] = False
    return u, S, False


def _active_set_full(p, A, b, lo, hi, S, tol, max_iter):
    """Row scales, bound scales and the dual tolerance, then :func:`_active_set_loop` (one
    compiled call: the per-call numpy preparation cost more than the iteration itself)."""
    m, n = A.shape
    scale = np.empty(m)
    for i in range(m):
        s = max(1.0, abs(b[i]))
        for j in range(n):
            s = max(s, abs(A[i, j]))
        scale[i] = s
    tbs = np.empty(n)
    pmax = 1.0
    for j in range(n):
        t = 1.0
        if np.isfinite(lo[j]):
            t = max(t, abs(lo[j]))
        if np.isfinite(hi[j]):
            t = max(t, abs(hi[j]))
        tbs[j] = t
        pmax = max(pmax, abs(p[j]))
    return _loop_impl(p, A, b, lo, hi, S, scale, tbs, tol, tol * pmax, max_iter)


if HAVE_NUMBA:
    _loop_impl = _njit(cache=True)(_active_set_loop)
    _compiled_loop = _njit(cache=True)(_active_set_full)
else:  # pragma: no cover
    _loop_impl = _compiled_loop = None
#: polyhedral blocks up to this many columns go to the dense active set (OSQP above)
DENSE_COLS = 200 if HAVE_NUMBA else 30


def project_polyhedron_dense(p: np.ndarray, A: np.ndarray, b: np.ndarray, lo: np.ndarray,
                             hi: np.ndarray, active: np.ndarray | None = None,
                             tol: float = 1e-10, max_iter: int | None = None):
    """argmin ½‖u − p‖² s.t. A u ≤ b, lo ≤ u ≤ hi (A dense, small), by an active-set method on the
    KKT system (see module docstring), warm-started from the row set ``active`` (bool mask).

    Returns (u, active rows) or None when the working-set iteration does not settle (the caller
    falls back to a general solver). The answer is checked: primal feasibility within ``tol``
    (relative to each row's scale) and multipliers of the right sign."""
    m, n = A.shape
    S = np.zeros(m, bool) if active is None else active.copy()
    if _compiled_loop is not None:
        u, S, ok = _compiled_loop(p, A if A.flags.c_contiguous else np.ascontiguousarray(A), b, lo,
                                  hi, S, tol, max_iter or 3 * (m + n) + 10)
        return (u, S) if ok else None
    L = np.zeros(n, bool)
    U = np.zeros(n, bool)
    L[p < lo] = True
    U[p > hi] = True
    scale = np.maximum(np.abs(A).max(axis=1, initial=0.0), np.maximum(np.abs(b), 1.0))
    tb = tol * np.maximum(1.0, np.maximum(np.abs(np.where(np.isfinite(lo), lo, 0)),
                                          np.abs(np.where(np.isfinite(hi), hi, 0))))
    max_iter = max_iter or 3 * (m + n) + 10
    for _ in range(max_iter):
        fix = L | U
        u = p.copy()
        u[L], u[U] = lo[L], hi[U]
        lam = np.zeros(m)
        if S.any():
            F = ~fix
            AS = A[S]
            ASF = AS[:, F]
            rhs = ASF @ p[F] - (b[S] - AS[:, fix] @ u[fix])
            M = ASF @ ASF.T
            try:
                lamS = np.linalg.solve(M, rhs)
                if not np.all(np.isfinite(lamS)):
                    raise np.linalg.LinAlgError
            except np.linalg.LinAlgError:
                lamS = np.linalg.lstsq(M, rhs, rcond=None)[0]
            u[F] = p[F] - ASF.T @ lamS
            lam[S] = lamS
        grad = u - p + A.T @ lam           # = μ_L − μ_U on fixed entries
        # primal violations
        rv = (A @ u - b) / scale
        if S.any() and np.max(np.abs(rv[S])) > 1e3 * tol:
            return None  # an inconsistent working set: let the caller fall back
        rv[S] = -np.inf
        bl = np.where(fix, -np.inf, lo - u)
        bu = np.where(fix, -np.inf, u - hi)
        worst = max(float(rv.max(initial=-np.inf)), float((bl / (tb / tol)).max(initial=-np.inf)),
                    float((bu / (tb / tol)).max(initial=-np.inf)))
        if worst > tol:
            i_r = int(np.argmax(rv)) if m else -1
            v_r = rv[i_r] if m else -np.inf
            i_l, i_u = int(np.argmax(bl)), int(np.argmax(bu))
            if v_r >= max(bl[i_l], bu[i_u]):
                S[i_r] = True
            elif bl[i_l] >= bu[i_u]:
                L[i_l] = True
            else:
                U[i_u] = True
            continue
        # dual signs: λ ≥ 0, μ_L = grad ≥ 0 on L, μ_U = −grad ≥ 0 on U
        dl = np.where(S, lam, np.inf)
        ml = np.where(L, grad, np.inf)
        mu = np.where(U, -grad, np.inf)
        cand = [(float(dl.min(initial=np.inf)), 0), (float(ml.min(initial=np.inf)), 1),
                (float(mu.min(initial=np.inf)), 2)]
        val, which = min(cand)
        if val >= -tol * max(1.0, float(np.abs(p).max(initial=0.0))):
            return u, S
        if which == 0:
            S[int(np.argmin(dl))] = False
        elif which == 1:
            L[int(np.argmin(ml))] = False
        else:
            U[int(np.argmin(mu))] = False
    return None


class DensePolyhedron:
    """Projection onto {A u ≤ b, E u = e, lo ≤ u ≤ hi} for small dense data
    (:func:`project_polyhedron_dense`, equalities as two inequalities, warm-started), with OSQP
    as the fallback when the working-set iteration does not settle."""

    kind = "polyhedron"

    def __init__(self, A, b, E, e, lo, hi):
        A = A.toarray() if sp.issparse(A) else np.asarray(A, float)
        E = E.toarray() if sp.issparse(E) else np.asarray(E, float)
        self.A = np.vstack([A, E, -E])
        self.b = np.concatenate([b, e, -e])
        self.lo, self.hi = np.asarray(lo, float), np.asarray(hi, float)
        self.active = None
        self._osqp = None
        self._args = (A, b, E, e)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        out = project_polyhedron_dense(p, self.A, self.b, self.lo, self.hi, self.active)
        if out is not None:
            u, self.active = out
            return u
        if self._osqp is None:
            A, b, E, e = self._args
            self._osqp = OSQPPolyhedron(sp.csr_matrix(A), b, sp.csr_matrix(E), e, self.lo, self.hi)
        return self._osqp(p)


class OSQPPolyhedron:
    """Projection onto {A u ≤ b, E u = e, lo ≤ u ≤ hi} by OSQP (set up once: its factorisation of
    the KKT matrix of min ½‖u‖² − pᵀu is cached, only q = −p changes; warm-started)."""

    kind = "osqp"

    def __init__(self, A, b, E, e, lo, hi):
        import osqp

        n = A.shape[1] if A.shape[0] else E.shape[1]
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        fin = np.flatnonzero(np.isfinite(lo) | np.isfinite(hi))
        B = sp.csr_matrix((np.ones(fin.size), (np.arange(fin.size), fin)), shape=(fin.size, n))
        M = sp.vstack([B, sp.csr_matrix(E), sp.csr_matrix(A)], format="csc")
        lo_r = np.concatenate([lo[fin], e, np.full(A.shape[0], -np.inf)])
        hi_r = np.concatenate([hi[fin], e, b])
        self.lo, self.hi = lo, hi
        self.solver = osqp.OSQP()
        self.solver.setup(sp.identity(n, format="csc"), np.zeros(n), M, lo_r, hi_r, eps_abs=1e-10,
                          eps_rel=1e-10, polishing=False, verbose=False, max_iter=200000,
                          warm_starting=True)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        self.solver.update(q=-p)
        r = self.solver.solve(raise_error=False)
        status = getattr(r.info, "status", "")
        if status not in ("solved", "solved inaccurate") or r.x is None:
            raise ValueError(f"projection onto the polyhedron failed ({status}); is it empty?")
        return np.clip(np.asarray(r.x, float), self.lo, self.hi)


class ConvexRows:
    """Projection onto {c(u) ≤ 0, lo ≤ u ≤ hi} for convex differentiable rows c with value and
    Jacobian oracles, by sequential linearisation warm-started from the previous answer (module
    docstring). ``fallback(p)`` answers when the iteration does not converge."""

    kind = "convex-rows"

    def __init__(self, value: Callable, jac: Callable, lo, hi, fallback: Callable | None = None,
                 tol: float = 1e-10, max_outer: int = 40, hess: Callable | None = None):
        self.value, self.jac, self.hess = value, jac, hess
        self.newton_state: Any = None
        self.box = Box(lo, hi)
        self.lo, self.hi = self.box.lo, self.box.hi
        self.fallback, self.tol, self.max_outer = fallback, tol, max_outer
        self.last: Any = None
        self.last_c: Any = None
        self.last_J: Any = None
        self.active: Any = None
        self.fallbacks = 0

    def _newton(self, p: np.ndarray):
        """Newton's method on the projection's KKT system with the previous answer's active rows
        S and bound-fixed entries (exact Hessians ∇²(λᵀc), constant for quadratic rows):

            u_F − p_F + J_S,Fᵀ λ_S = 0,   c_S(u) = 0,   u_fixed at their bounds,

        from the previous (u, λ); two or three steps converge quadratically. The answer is kept
        only if it is a KKT point of the projection (λ_S ≥ 0, inactive rows feasible, free entries
        inside the box, bound multipliers of the right sign); otherwise None."""
        u, S, lam, fixed = self.newton_state
        u, lam = u.copy(), lam.copy()
        hess = self.hess
        if hess is None:
            return None
        F = ~fixed
        nF, nS = int(F.sum()), int(S.sum())
        if nF == 0:
            return None
        scale = 1.0 + float(np.max(np.abs(p), initial=0.0))
        for _ in range(6):
            c = self.value(u)
            J = self.jac(u)
            JS = J[S]
            g = u - p + JS.T @ lam[S]
            r = np.concatenate([g[F], c[S]])
            if np.max(np.abs(r), initial=0.0) <= 1e-12 * scale:
                break
            H = np.eye(u.size) + hess(u, lam)
            K = np.zeros((nF + nS, nF + nS))
            K[:nF, :nF] = H[np.ix_(F, F)]
            K[:nF, nF:] = JS[:, F].T
            K[nF:, :nF] = JS[:, F]
            try:
                step = np.linalg.solve(K, -r)
            except np.linalg.LinAlgError:
                return None
            u[F] += step[:nF]
            lam[S] += step[nF:]
        else:
            return None
        tolf = 1e-9 * scale
        if np.any(lam[S] < -tolf) or np.any(c[~S] > 1e-9):
            return None
        if np.any(u[F] < self.lo[F] - tolf) or np.any(u[F] > self.hi[F] + tolf):
            return None
        gfix = g[fixed]
        at_lo = np.isclose(u[fixed], self.lo[fixed])
        if np.any(np.where(at_lo, gfix < -tolf, gfix > tolf)):
            return None
        self.newton_state = (u, S, lam, fixed)
        return u

    def _remember(self, u: np.ndarray, p: np.ndarray) -> None:
        """Multipliers of the answer u (least squares on the free entries) for the Newton path."""
        if self.hess is None or self.active is None:
            return
        fixed = (u <= self.lo) | (u >= self.hi)
        S = self.active.copy()
        lam = np.zeros(S.size)
        if S.any():
            J = self.jac(u)
            A = J[S][:, ~fixed].T
            lam[S] = np.linalg.lstsq(A, -(u - p)[~fixed], rcond=None)[0]
        self.newton_state = (u.copy(), S, lam, fixed)

    def __call__(self, p: np.ndarray) -> np.ndarray:
        if self.newton_state is not None:
            u = self._newton(p)
            if u is not None:
                return u
        u = self.box(p)
        if self.last is not None:
            # c convex: c(u) ≥ c(w) + J(w)(u − w); a positive linearisation proves u infeasible
            # without evaluating c at u
            lin = self.last_c + self.last_J @ (u - self.last)
            c = None if np.any(lin > 0.0) else self.value(u)
            w, cw, J = self.last, self.last_c, self.last_J
        else:
            c = self.value(u)
            w, cw, J = u, c, None
        if c is not None and np.all(c <= 0.0):
            return u
        T_prev = f_prev = None
        for _ in range(self.max_outer):
            if J is None:
                J = self.jac(w)
                J = J.toarray() if sp.issparse(J) else np.asarray(J, float)
            out = project_polyhedron_dense(p, J, J @ w - cw, self.lo, self.hi, self.active)
            if out is None:
                break
            T, self.active = out
            w_lin, c_lin, J_lin = w, cw, J
            J = None
            f = T - w
            step = float(np.max(np.abs(f), initial=0.0))
            un = T
            if f_prev is not None:
                # Anderson (depth 1) on the fixed-point map w ↦ T(w): the linear contraction of
                # sequential linearisation (rate ≈ λ‖∇²c‖) becomes superlinear
                df = f - f_prev
                dd = float(df @ df)
                if dd > 0:
                    un = self.box(T - (float(f @ df) / dd) * (T - T_prev))
            T_prev, f_prev = T, f
            w = un
            cw = self.value(w)
            if step <= self.tol * (1.0 + float(np.max(np.abs(w), initial=0.0))) \
                    and np.all(cw <= 1e-9):
                # the last linearisation (at a point within tol of w) serves the next call
                self.last, self.last_c, self.last_J = w_lin, c_lin, J_lin
                self._remember(w, p)
                return w
        if self.fallback is None:
            raise ValueError("projection onto the convex set did not converge")
        self.fallbacks += 1
        self.newton_state = None
        self.last = self.last_c = self.last_J = None
        self.active = None
        return self.fallback(p)


#: project a block of one convex quadratic row and a box by :class:`QuadraticRowBox` (False: the
#: general sequential-linearisation path, kept for the benchmark's before/after comparison)
USE_ROOT_FIND = True


class QuadraticRowBox:
    """Projection onto {c(u) = c₀ + aᵀu + ½uᵀHu ≤ 0} ∩ {lo ≤ u ≤ hi}, H ⪰ 0: one convex quadratic
    row and a box, by a 1-D root-find on the row's multiplier λ (no linear solve, no active set).

    KKT: u(λ) = argmin_{lo ≤ u ≤ hi} ½‖u − p‖² + λ c(u), λ ≥ 0, λ c(u(λ)) = 0, c(u(λ)) ≤ 0.

    - H diagonal (h = diag H): the minimisation separates, uᵢ(λ) = clip((pᵢ − λaᵢ)/(1 + λhᵢ),
      loᵢ, hiᵢ);
    - H not diagonal and no finite bound: with H = QΛQᵀ (eigen-decomposition cached once),
      ũ = Qᵀu solves ũᵢ(λ) = (wᵢ − λbᵢ)/(1 + λΛᵢ), w = Qᵀp, b = Qᵀa, and the row reads
      c₀ + bᵀũ + ½ Σ Λᵢ ũᵢ² — the diagonal case without clipping.

    φ(λ) = c(u(λ)) is continuous and nonincreasing (φ'(λ) = −Σ_free gᵢ²/(1 + λhᵢ) ≤ 0, g = ∇c(u(λ))
    in the separable coordinates). If φ(0) ≤ 0 the answer is the box projection (λ = 0); else the
    unique root λ* > 0 of φ is found by Newton's method safeguarded by a bracket (bisection when a
    step leaves it), started at the previous call's λ (consecutive LV-HBA points are close, so it
    usually takes two or three steps). On blocks of at most ``SCALAR_MAX`` entries the arithmetic
    runs on Python floats (a numpy call on a 2-vector costs more than the arithmetic). A set with
    no point (φ > 0 for every λ) raises ValueError, or calls ``fallback`` when given."""

    kind = "quadratic-row"
    SCALAR_MAX = 6

    def __init__(self, c0: float, a, H, lo, hi, fallback: Callable | None = None,
                 tol: float = 1e-13, max_iter: int = 100):
        a = np.asarray(a, float).ravel()
        H = np.asarray(H, float)
        H = 0.5 * (H + H.T)
        n = a.size
        self.box = Box(lo, hi)
        self.c0, self.tol, self.max_iter, self.fallback = float(c0), tol, max_iter, fallback
        self.Q: Any = None
        offdiag = H - np.diag(np.diag(H))
        hmax = float(np.max(np.abs(H), initial=0.0))
        if np.all(np.abs(offdiag) <= 1e-14 * max(hmax, 1.0)):
            h = np.diag(H).copy()
        elif self.box.none:
            h, Q = np.linalg.eigh(H)
            self.Q = Q
            a = Q.T @ a
        else:
            raise ValueError("QuadraticRowBox: a non-diagonal Hessian needs a block without bounds")
        if np.any(h < -1e-12 * max(hmax, 1.0)):
            raise ValueError("QuadraticRowBox: the row is not convex (its Hessian has a negative "
                             "eigenvalue)")
        self.h, self.a = np.maximum(h, 0.0), a
        self.lo = self.box.lo if self.Q is None else np.full(n, -np.inf)
        self.hi = self.box.hi if self.Q is None else np.full(n, np.inf)
        self.scalar = n <= self.SCALAR_MAX
        if self.scalar:
            self._al, self._hl = self.a.tolist(), self.h.tolist()
            self._lol, self._hil = self.lo.tolist(), self.hi.tolist()
        self.lam = 0.0  # the previous call's multiplier (warm start)
        self.fallbacks = 0

    # φ and φ' at λ for the projected point p (separable coordinates)
    def _phi_scalar(self, p: list, lam: float):
        c, dphi, u = self.c0, 0.0, []
        for pi, ai, hi_, l, h in zip(p, self._al, self._hl, self._lol, self._hil):
            den = 1.0 + lam * hi_
            ui = (pi - lam * ai) / den
            free = True
            if ui < l:
                ui, free = l, False
            elif ui > h:
                ui, free = h, False
            gi = ai + hi_ * ui
            c += ui * (ai + 0.5 * hi_ * ui)
            if free:
                dphi -= gi * gi / den
            u.append(ui)
        return c, dphi, u

    def _phi_vector(self, p: np.ndarray, lam: float):
        den = 1.0 + lam * self.h
        u = np.minimum(np.maximum((p - lam * self.a) / den, self.lo), self.hi)
        g = self.a + self.h * u
        free = (u > self.lo) & (u < self.hi)
        c = self.c0 + float(u @ (self.a + 0.5 * self.h * u))
        dphi = -float(np.sum(np.where(free, g * g / den, 0.0)))
        return c, dphi, u

    def __call__(self, p: np.ndarray) -> np.ndarray:
        q: Any = p if self.Q is None else self.Q.T @ p
        phi: Callable[[Any, float], Any]
        if self.scalar:
            q = q.tolist()  # plain floats: tiny blocks are faster without numpy's per-call cost
            phi = self._phi_scalar
            scale = 1.0 + max(abs(x) for x in q) if q else 1.0
        else:
            phi = self._phi_vector
            scale = 1.0 + float(np.max(np.abs(q), initial=0.0))
        tol = self.tol * scale * (1.0 + abs(self.c0))
        c, dphi, u = phi(q, 0.0)
        if c <= tol:
            self.lam = 0.0
            return self._out(u)
        lo_l, hi_l = 0.0, math.inf  # φ(lo_l) > 0 ≥ φ(hi_l)
        lam = self.lam if self.lam > 0.0 else (c / -dphi if dphi < 0.0 else 1.0)
        for _ in range(self.max_iter):
            c, dphi, u = phi(q, lam)
            if abs(c) <= tol or (c < 0.0 and hi_l - lo_l <= 1e-15 * (1.0 + lam)):
                break
            if c > 0.0:
                lo_l = lam
            else:
                hi_l = lam
            nxt = lam - c / dphi if dphi < 0.0 else math.nan
            if not (lo_l < nxt < hi_l):
                nxt = 0.5 * (lo_l + hi_l) if math.isfinite(hi_l) else 2.0 * lam + 1.0
            lam = nxt
            if lam > 1e300:
                break
        else:
            c = math.inf
        if not c <= tol:
            if c > 0.0 and not math.isfinite(hi_l) and self.fallback is not None:
                self.fallbacks += 1
                return self.fallback(p)
            if c > 0.0 and not math.isfinite(hi_l):
                raise ValueError("projection onto {c(u) ≤ 0} ∩ box: the set is empty")
            # the bracket collapsed: take its feasible end
            c, dphi, u = phi(q, hi_l)
            lam = hi_l
        self.lam = lam
        return self._out(u)

    def _out(self, u) -> np.ndarray:
        u = np.asarray(u, float) if not isinstance(u, np.ndarray) else u
        return u if self.Q is None else self.Q @ u


# ---------------------------------------------------------------------------- bilevel sets
def _quadratic_rows(vf, max_cols: int = 300, max_rows: int = 100):
    """(c₀, J₀, H) with rows cᵢ(z) = c₀ᵢ + J₀ᵢz + ½zᵀHᵢz (z the compiled columns) when the rows are
    quadratic and small: read once from the compiled form (value, Jacobian at 0, one Hessian per
    row) and checked at a random point; None otherwise. Evaluating them is then two small dense
    products instead of a call into the expression engine."""
    form, cols = vf._form, vf._cols
    try:
        if cols.size > max_cols or vf.k > max_rows or not vf.stacked.is_quadratic():
            return None
        z0 = np.zeros(cols.size)
        c0 = np.asarray(form.cons(z0), float)
        J0 = np.asarray(sp.csr_matrix(form.jac(z0)).toarray(), float)
        H = np.empty((vf.k, cols.size, cols.size))
        for i in range(vf.k):
            e = np.zeros(vf.k)
            e[i] = 1.0
            Hi = sp.csr_matrix(form.hess(z0, e, 0.0)).toarray()
            if not np.allclose(Hi, Hi.T):  # one triangle stored: symmetrise
                Hi = Hi + Hi.T - np.diag(np.diag(Hi))
            H[i] = Hi
        z1 = np.random.default_rng(0).uniform(-1.0, 1.0, cols.size)
        ok_val = np.allclose(c0 + J0 @ z1 + 0.5 * ((H @ z1) @ z1), form.cons(z1), rtol=1e-10, atol=1e-10)
        ok_jac = np.allclose(J0 + H @ z1, sp.csr_matrix(form.jac(z1)).toarray(), rtol=1e-10, atol=1e-10)
        return (c0, J0, H) if ok_val and ok_jac else None
    except Exception:  # the engine cannot give the data: the general path answers
        return None


class RowsOracle:
    """Value and Jacobian of stacked constraint rows r(v) (:class:`optkit.bilevel.model.Rows`)
    straight from the compiled forms: the Jacobian as (row, column, value) triplets on the joint
    vector, without building a sparse matrix per call (``Rows.jac`` stacks and re-indexes CSR
    matrices, ~1 ms on a one-row constraint; the compiled form's own Jacobian takes ~40 µs)."""

    def __init__(self, R, N: int):
        self.R, self.N, self.k = R, N, R.k
        self.parts: list[tuple[str, Any, Any, Any]] = []
        off = 0
        for vf, mask in R.parts:
            renum = np.full(mask.size, -1, np.int64)
            renum[mask] = off + np.arange(int(mask.sum()))
            off += int(mask.sum())
            if vf.is_affine:
                A = sp.coo_matrix(sp.csr_matrix(vf.A)[mask])
                self.parts.append(("affine", vf, mask, (A.row + renum[mask][0] if A.nnz else A.row,
                                                        A.col, A.data)))
            elif getattr(vf, "mode", "") == "engine" and (quad := _quadratic_rows(vf)) is not None:
                self.parts.append(("quadratic", vf, mask, (renum, quad)))
            elif getattr(vf, "mode", "") == "engine" and vf._form.has_structure:
                r0, c0 = vf._form.jac_structure()
                keep = mask[r0]
                self.parts.append(("structured", vf, mask, (keep, renum[r0[keep]],
                                                            vf._cols[c0[keep]])))
            elif getattr(vf, "mode", "") == "engine":
                self.parts.append(("engine", vf, mask, renum))
            else:
                self.parts.append(("generic", vf, mask, renum))

    def value(self, v: np.ndarray) -> np.ndarray:
        """r(v)."""
        out = []
        for kind, vf, mask, aux in self.parts:
            if kind == "quadratic":
                c0, J0, H = aux[1]
                zc = v[vf._cols]
                out.append((c0 + J0 @ zc + 0.5 * ((H @ zc) @ zc))[mask])
            elif kind in ("engine", "structured"):
                out.append(np.asarray(vf._form.cons(v[vf._cols]), float)[mask])
            else:
                out.append(vf.value(v)[mask])
        return np.concatenate(out) if out else np.zeros(0)

    def triplets(self, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, columns, values) of ∂r/∂v at v."""
        rr, cc, xx = [], [], []
        for kind, vf, mask, aux in self.parts:
            if kind == "affine":
                r, c, x = aux
            elif kind == "structured":
                keep, r, c = aux
                x = vf._form.jac_values(v[vf._cols])[keep]
            elif kind == "quadratic":
                renum, (_, J0, H) = aux
                Jd = (J0 + H @ v[vf._cols])[mask]
                rows, cols = np.nonzero(Jd)
                r, c, x = renum[mask][rows], vf._cols[cols], Jd[rows, cols]
            else:
                if kind == "engine":
                    J = vf._form.jac(v[vf._cols])
                    J = J if sp.isspmatrix_csr(J) else sp.csr_matrix(J)
                    rows = np.repeat(np.arange(J.shape[0]), np.diff(J.indptr))
                    cols, x = vf._cols[J.indices], J.data
                else:
                    J = sp.coo_matrix(vf.jac(v))
                    rows, cols, x = J.row, J.col, J.data
                keep = mask[rows]
                r, c, x = aux[rows[keep]], cols[keep], x[keep]
            rr.append(r)
            cc.append(c)
            xx.append(x)
        if not rr:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(rr), np.concatenate(cc), np.concatenate(xx)

    def row_hessians(self):
        """[(row, columns on v, dense Hessian)] of the quadratic rows when every row is affine or
        quadratic (constant Hessians, read once); None otherwise."""
        out = []
        for kind, vf, mask, aux in self.parts:
            if kind == "affine":
                continue
            if kind != "quadratic":
                return None
            renum, (_, _, H) = aux
            for i in np.flatnonzero(mask):
                out.append((int(renum[i]), vf._cols, H[i]))
        return out

    def jT(self, v: np.ndarray, lam: np.ndarray) -> np.ndarray:
        """(∂r/∂v)ᵀ λ."""
        if self.parts and all(kind == "quadratic" for kind, _, _, _ in self.parts):
            out = np.zeros(self.N)
            off = 0
            for _, vf, mask, (_, (_, J0, H)) in self.parts:
                k = int(mask.sum())
                Jm = (J0 + H @ v[vf._cols])[mask]
                np.add.at(out, vf._cols, Jm.T @ lam[off:off + k])
                off += k
            return out
        r, c, x = self.triplets(v)
        return np.bincount(c, weights=x * lam[r], minlength=self.N)


def _support(J, k: int) -> list[np.ndarray]:
    J = sp.csr_matrix(J)
    return [J.indices[J.indptr[i]:J.indptr[i + 1]] for i in range(k)]


def build(d, v0: np.ndarray, fallback: Callable | None = None):
    """The projection onto C = {lb ≤ v ≤ ub, Ax x = bx, G(v) ≤ 0, H(v) = 0, g(v) ≤ 0, h(v) = 0} of a
    compiled bilevel model ``d`` (:class:`optkit.bilevel.model.BilevelData`), as a product of
    blocks (connected components of the rows' column supports), each projected by the cheapest
    method of this module. Nonlinear rows use their Jacobian pattern at ``v0``. ``fallback(p)``
    (a general convex solver on the whole vector) backs up the nonlinear blocks."""
    N, nx = d.N, d.nx
    Axf = sp.hstack([d.Ax, sp.csr_matrix((d.Ax.shape[0], N - nx))], format="csr")
    eq_aff = [Axf] + [R.A for R in (d.H, d.h) if R.k and R.is_affine]
    eq_b = [d.bx] + [-R.b for R in (d.H, d.h) if R.k and R.is_affine]
    in_aff = [R.A for R in (d.G, d.g) if R.k and R.is_affine]
    in_b = [-R.b for R in (d.G, d.g) if R.k and R.is_affine]
    nonlin = [(R, eq) for R, eq in ((d.G, False), (d.H, True), (d.g, False), (d.h, True))
              if R.k and not R.is_affine]
    E = sp.vstack(eq_aff, format="csr") if eq_aff else sp.csr_matrix((0, N))
    e = np.concatenate(eq_b) if eq_b else np.zeros(0)
    I = sp.vstack(in_aff, format="csr") if in_aff else sp.csr_matrix((0, N))
    ib = np.concatenate(in_b) if in_b else np.zeros(0)
    box = Box(d.lb, d.ub)
    if any(eq for _, eq in nonlin):
        # a nonlinear equality makes C nonconvex unless it is affine in disguise: general solver
        if fallback is None:
            raise ValueError("C has nonlinear equality rows and no general projection was given")
        return _Whole(fallback, "cvxpy")
    if nonlin:  # the rows' pattern: Jacobians at v0 and at a perturbed point (no accidental zeros)
        v1 = v0 + 0.1 * np.maximum(1.0, np.abs(v0)) * np.random.default_rng(0).uniform(0.5, 1.0, N)
        NL = sp.vstack([abs(sp.csr_matrix(R.jac(v0))) + abs(sp.csr_matrix(R.jac(v1)))
                        for R, _ in nonlin], format="csr")
    else:
        NL = sp.csr_matrix((0, N))
    # bipartite graph rows–columns → components over columns
    R_all = sp.vstack([E, I, NL], format="csr")
    if R_all.shape[0] == 0:
        return box
    from scipy.sparse.csgraph import connected_components

    pat = sp.csr_matrix((np.ones(R_all.nnz), R_all.indices, R_all.indptr), shape=R_all.shape)
    Gc = sp.bmat([[None, pat], [pat.T, None]], format="csr")
    _, labels = connected_components(Gc, directed=False)
    col_lab = labels[R_all.shape[0]:]
    row_lab = labels[:R_all.shape[0]]
    nE, nI = E.shape[0], I.shape[0]
    finite = np.isfinite(d.lb) | np.isfinite(d.ub)
    blocks = []
    for lab in np.unique(row_lab):
        cols = np.flatnonzero(col_lab == lab)
        rows = np.flatnonzero(row_lab == lab)
        rE, rI, rN = rows[rows < nE], rows[(rows >= nE) & (rows < nE + nI)] - nE, rows[rows >= nE + nI] - nE - nI
        lo, hi = d.lb[cols], d.ub[cols]
        boxed = finite[cols].any()
        Eb, Ib = E[rE][:, cols], I[rI][:, cols]
        if rN.size:
            blocks.append((cols, _nonlinear_block(nonlin, rN, cols, Eb, e[rE], Ib, ib[rI], lo, hi,
                                                  fallback, N)))
        elif rI.size == 0 and not boxed:
            blocks.append((cols, Affine(Eb, e[rE])))
        elif rE.size == 0 and rI.size == 1 and not boxed:
            blocks.append((cols, HalfSpace(Ib.toarray()[0], ib[rI][0])))
        elif _is_simplex(Eb, e[rE], Ib, lo, hi):
            a = Eb.toarray()[0]
            blocks.append((cols, Simplex(e[rE][0] / a[0])))
        elif cols.size <= DENSE_COLS and rE.size * 2 + rI.size <= 2 * DENSE_COLS:
            blocks.append((cols, DensePolyhedron(Ib, ib[rI], Eb, e[rE], lo, hi)))
        else:
            blocks.append((cols, OSQPPolyhedron(Ib, ib[rI], Eb, e[rE], lo, hi)))
    return Product(blocks, rest=box)


def _is_simplex(Eb, eb, Ib, lo, hi) -> bool:
    """One equality row a·1ᵀu = s with a ≠ 0, s/a ≥ 0, no inequality, u ≥ 0 and no binding upper bound."""
    if Eb.shape[0] != 1 or Ib.shape[0] != 0:
        return False
    a = Eb.toarray()[0]
    if a.size == 0 or a[0] == 0 or not np.all(a == a[0]):
        return False
    s = eb[0] / a[0]
    return bool(s >= 0 and np.all(lo == 0) and np.all(hi >= s))


class _Whole:
    """A projection on the whole vector by a general solver."""

    def __init__(self, fn: Callable, kind: str):
        self.fn, self.kind = fn, kind

    def __call__(self, p: np.ndarray) -> np.ndarray:
        return self.fn(p)


def _nonlinear_block(nonlin, rN, cols, Eb, eb, Ib, ibb, lo, hi, fallback, N):
    """ConvexRows on one block: affine equalities as two inequalities, affine inequalities and the
    nonlinear rows ``rN`` (indices into the stacked nonlinear rows) on the block's columns."""
    Ed = Eb.toarray()
    Id = Ib.toarray()
    full = np.zeros(N)
    oracles = [RowsOracle(R, N) for R, _ in nonlin]
    offs = np.cumsum([0] + [o.k for o in oracles])
    pos = np.full(N, -1, np.int64)
    pos[cols] = np.arange(cols.size)
    rmap = np.full(offs[-1], -1, np.int64)
    rmap[rN] = np.arange(rN.size)

    def value(u):
        full[cols] = u
        parts = np.concatenate([o.value(full) for o in oracles])[rN]
        return np.concatenate([Id @ u - ibb, Ed @ u - eb, eb - Ed @ u, parts])

    def jac(u):
        full[cols] = u
        Jn = np.zeros((rN.size, cols.size))
        for o, off in zip(oracles, offs):
            r, c, x = o.triplets(full)
            rb, cb = rmap[r + off], pos[c]
            keep = (rb >= 0) & (cb >= 0)
            np.add.at(Jn, (rb[keep], cb[keep]), x[keep])
        return np.vstack([Id, Ed, -Ed, Jn])

    fb = None
    if fallback is not None:
        def fb(pb):
            pf = np.zeros(N)
            pf[cols] = pb
            return fallback(pf)[cols]
    hess = None
    rows_h = [o.row_hessians() for o in oracles]
    if Ed.shape[0] == 0 and all(h is not None for h in rows_h):
        Hb = np.zeros((rN.size, cols.size, cols.size))
        for o_rows, off in zip(rows_h, offs):
            for r, vcols, Hr in o_rows:
                kb = rmap[r + off]
                pb = pos[vcols]
                if kb < 0 or np.any(pb < 0):
                    continue
                Hb[kb][np.ix_(pb, pb)] += Hr
        n_lin = Id.shape[0]

        def hess(u, lam):
            return np.tensordot(lam[n_lin:], Hb, axes=1)

        # every row quadratic or affine: value and Jacobian from the block's own data (checked)
        z0 = np.zeros(cols.size)
        c0, J0 = value(z0), jac(z0)
        Hall = np.zeros((c0.size, cols.size, cols.size))
        Hall[n_lin:] = Hb
        z1 = np.random.default_rng(1).uniform(-1.0, 1.0, cols.size) + np.where(np.isfinite(lo), lo, 0)
        fast_value = lambda u: c0 + J0 @ u + 0.5 * ((Hall @ u) @ u)  # noqa: E731
        fast_jac = lambda u: J0 + Hall @ u  # noqa: E731
        if np.allclose(fast_value(z1), value(z1), rtol=1e-9, atol=1e-9) and \
                np.allclose(fast_jac(z1), jac(z1), rtol=1e-9, atol=1e-9):
            value, jac = fast_value, fast_jac
            if c0.size == 1 and USE_ROOT_FIND:  # one convex quadratic row ∩ box: 1-D root-find
                try:
                    return QuadraticRowBox(c0[0], J0[0], Hall[0], lo, hi, fallback=fb)
                except ValueError:
                    pass  # non-diagonal Hessian with bounds, or not convex: the general path
    return ConvexRows(value, jac, lo, hi, fallback=fb, hess=hess)
