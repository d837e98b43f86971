"""Randomized iterative sketching (sketch-and-project) for a symmetric linear system K z = b.

Each step draws a sketch S (d×s) and projects the iterate onto {z : Sᵀ K z = Sᵀ b}:

    z ← z − K S (Sᵀ K² S)⁺ Sᵀ r,        r = K z − b          (K = Kᵀ)

so the residual moves as r ← r − K² S (Sᵀ K² S)⁺ Sᵀ r. With sketch size s = 1:

- Gaussian vector (GV): s ~ N(0, I_d),   z ← z − (sᵀr / ‖Ks‖²) K s
- randomized Kaczmarz (RK): s = e_i, i uniform on {1..d},  z ← z − (r_i / ‖K_i‖²) K_iᵀ

Block sketches (s > 1) draw S with s Gaussian columns, or s distinct unit vectors (block
Kaczmarz), and solve the small s×s system (SᵀK²S) w = Sᵀr by least squares.

Three engines, chosen by :class:`SketchSolver`:

- ``dense``: d small, K held dense, single-vector sketches. The sequential projections run in a
  compiled loop (numba; without numba, a slower numpy loop with its own random stream), one K s per
  step with sᵀr = (Ks)ᵀz − sᵀb; Kaczmarz rows come from the numpy Generator, Gaussian vectors from
  the kernel's generator seeded per chunk from it, so runs are reproducible from the seed.
- ``sparse``: K a scipy.sparse matrix (large d), any block size; block Kaczmarz factorises the
  sparse s×s Gram matrix K_I K_Iᵀ.
- ``operator``: K only through products v ↦ K v (matrix-free; B v from Hessian-vector products).
- ``structured`` (beyond the paper): a user-given discrete sketch distribution — a fixed family of
  row blocks I_1..I_p covering {1..d} (block Kaczmarz over a cover, each drawn with probability
  (1 − p_c)/p) and optionally one "coarse" sketch S_c (d×s_c, drawn with probability p_c). Each
  draw is still a sketch-and-project step: block I gives z ← z − K_Iᵀ (K_I K_Iᵀ)⁻¹ r_I, the coarse
  sketch gives z ← z − K S_c (S_cᵀK²S_c)⁻¹ S_cᵀ r. Because the distribution is fixed, the Gram
  matrices K_I K_Iᵀ (sparse LU) and S_cᵀK²S_c (dense Cholesky) are factorised once per system,
  so a step costs two triangular solves and one sparse K product. On discretised PDEs, overlapping
  subdomain blocks plus a coarse-grid S_c make the rate nearly independent of the grid size (a
  two-level Schwarz iteration on the normal equations, which sketch-and-project is in this case).

The caller gives a stopping threshold on ‖r‖₂ and a step budget; the solver returns when either
is reached, or when ‖r‖ is at the rounding-error floor ε(‖K‖_F‖z‖ + ‖b‖).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

try:  # optional accelerator: same arithmetic, compiled
    from numba import njit as _njit

    HAVE_NUMBA = True
except Exception:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

    def _njit(*args, **kwargs):
        def wrap(fn):
            return fn
        return wrap if not (args and callable(args[0])) else args[0]

SKETCHES = ("gaussian", "kaczmarz")
EPS = np.finfo(float).eps


@_njit(cache=True)
def _residual_sq(K, z, b):  # pragma: no cover - compiled
    d = z.shape[0]
    rr = 0.0
    for i in range(d):
        ri = -b[i]
        for j in range(d):
            ri += K[i, j] * z[j]
        rr += ri * ri
    return rr


@_njit(cache=True)
def _gv_chunk(K, b, z, T, seed, thr2, check):  # pragma: no cover - compiled
    """T Gaussian rank-one projections (s drawn from a generator seeded with ``seed``);
    sᵀr is formed as (Ks)ᵀz − sᵀb, so one product K s per step. Stops early when ‖r‖² ≤ thr2."""
    np.random.seed(seed)
    d = z.shape[0]
    s = np.empty(d)
    Ks = np.empty(d)
    for t in range(T):
        for j in range(d):
            s[j] = np.random.standard_normal()
        nn = 0.0
        sr = 0.0
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += K[i, j] * s[j]
            Ks[i] = acc
            nn += acc * acc
            sr += acc * z[i] - s[i] * b[i]
        if nn > 0.0:
            c = sr / nn
            for i in range(d):
                z[i] -= c * Ks[i]
        if (t + 1) % check == 0 and _residual_sq(K, z, b) <= thr2:
            return t + 1
    return T


@_njit(cache=True)
def _rk_chunk(idx, K, b, rn2, z, thr2, check):  # pragma: no cover - compiled
    """Randomized-Kaczmarz projections on rows idx (r_i = K_i z − b_i); early stop on ‖r‖²."""
    T = idx.shape[0]
    d = z.shape[0]
    for t in range(T):
        i = idx[t]
        if rn2[i] > 0.0:
            ri = -b[i]
            for j in range(d):
                ri += K[i, j] * z[j]
            c = ri / rn2[i]
            for j in range(d):
                z[j] -= c * K[i, j]
        if (t + 1) % check == 0 and _residual_sq(K, z, b) <= thr2:
            return t + 1
    return T


def _gv_chunk_numpy(K, b, z, T, rng, thr2, check):
    """Fallback without numba: the same projections with numpy vector operations."""
    S = rng.standard_normal((T, z.size))
    KS = S @ K
    nn = np.einsum("ij,ij->i", KS, KS)
    for t in range(T):
        if nn[t] > 0.0:
            z -= ((KS[t] @ z - S[t] @ b) / nn[t]) * KS[t]
        if (t + 1) % check == 0 and _residual_sq_numpy(K, z, b) <= thr2:
            return t + 1
    return T


def _rk_chunk_numpy(idx, K, b, rn2, z, thr2, check):
    """Fallback without numba: randomized Kaczmarz with numpy vector operations."""
    for t, i in enumerate(idx):
        if rn2[i] > 0.0:
            z -= ((K[i] @ z - b[i]) / rn2[i]) * K[i]
        if (t + 1) % check == 0 and _residual_sq_numpy(K, z, b) <= thr2:
            return t + 1
    return len(idx)


def _residual_sq_numpy(K, z, b) -> float:
    r = K @ z - b
    return float(r @ r)


@dataclass
class SketchOutcome:
    """What one call of :meth:`SketchSolver.run` did."""

    steps: int          # sketch steps taken in this call
    residual: float     # ‖K z − b‖₂ at return (recomputed, not the recursive estimate)
    reached: bool       # the threshold was met (or the rounding floor was reached)
    floor: bool = False  # stopped at the rounding-error floor rather than the threshold


class SketchSolver:
    """Sketch-and-project on K z = b with a persistent iterate z (warm starts across calls).

    ``K`` is a dense array, a scipy.sparse matrix, or None with ``matvec`` given (matrix-free).
    ``kfro`` is ‖K‖_F (used for the rounding floor). ``rng`` is a numpy Generator.
    """

    CHUNK = 8192

    def __init__(self, b: np.ndarray, rng: np.random.Generator, sketch: str = "gaussian",
                 block_size: int = 1, K=None, matvec: Callable | None = None,
                 kfro: float = 1.0, blocks=None, coarse=None, coarse_prob: float = 0.5):
        if sketch not in SKETCHES:
            raise ValueError(f"sketch must be one of {', '.join(SKETCHES)}, got {sketch!r}")
        self.b = np.asarray(b, dtype=float)
        self.d = self.b.size
        self.rng = rng
        self.sketch = sketch
        self.block = int(max(1, min(block_size, self.d)))
        self.kfro = float(kfro)
        self.z = np.zeros(self.d)
        self.r = -self.b.copy()
        if blocks is not None:
            if K is None:
                raise ValueError("structured sketches (blocks) need K as a matrix, not matvec")
            self.engine = "structured"
            self.K = sp.csr_matrix(K)
            self._mv = self.K.__matmul__
            self._setup_structured(blocks, coarse, coarse_prob)
        elif K is None:
            if matvec is None:
                raise ValueError("give K or matvec")
            self.engine = "operator"
            self._mv = matvec
        elif sp.issparse(K):
            self.engine = "sparse"
            self.K = sp.csr_matrix(K)
            self._mv = self.K.__matmul__
        else:
            self.K = np.asarray(K, dtype=float)
            self._mv = self.K.__matmul__
            self.engine = "dense" if self.block == 1 else "dense-block"
            if self.engine == "dense":
                self.K = np.ascontiguousarray(self.K)
                self.rn2 = np.einsum("ij,ij->i", self.K, self.K)
        self.products = 0  # K products (or K-row extractions) used

    # ------------------------------------------------------------------ public
    def residual(self) -> float:
        """Recompute r = K z − b exactly and return ‖r‖₂."""
        self.r = self._mv(self.z) - self.b
        self.products += 1
        return float(np.linalg.norm(self.r))

    def floor(self) -> float:
        """Rounding-error floor of ‖r‖: 10 ε (‖K‖_F ‖z‖ + ‖b‖)."""
        return 10.0 * EPS * (self.kfro * float(np.linalg.norm(self.z)) + float(np.linalg.norm(self.b)))

    def run(self, threshold: float, max_steps: int, deadline: float | None = None
            ) -> SketchOutcome:
        """Sketch steps until ‖r‖₂ ≤ threshold, the floor, ``max_steps`` steps, or the
        ``deadline`` (a time.perf_counter() value, checked between chunks)."""
        res = self.residual()
        steps = 0
        while True:
            fl = self.floor()
            if res <= threshold or res <= fl:
                return SketchOutcome(steps, res, True, floor=res > threshold)
            if steps >= max_steps or (deadline is not None and time.perf_counter() > deadline):
                return SketchOutcome(steps, res, False)
            todo = min(self.CHUNK if self.engine == "dense" else 32, max_steps - steps)
            steps += self._chunk(todo, max(threshold, fl))
            res = self.residual()

    # ------------------------------------------------------------------ structured engine
    def _setup_structured(self, blocks, coarse, coarse_prob: float) -> None:
        """Factorise K_I K_Iᵀ for every block and S_cᵀK²S_c for the coarse sketch (once)."""
        self._blocks = []
        for I in blocks:
            I = np.asarray(I, dtype=np.int64)
            R = self.K[I]                                   # (K E_I)ᵀ, |I|×d sparse
            M = (R @ R.T).tocsc()
            ridge = 1e-14 * max(float(M.diagonal().max(initial=0.0)), 1e-300)
            lu = spla.splu(M + ridge * sp.identity(M.shape[0], format="csc"))
            self._blocks.append((I, R.T.tocsr(), lu))
        self._coarse = None
        if coarse is not None:
            S = sp.csr_matrix(coarse) if sp.issparse(coarse) else np.asarray(coarse, dtype=float)
            KS = (self.K @ S).tocsr() if sp.issparse(S) else np.asarray(self.K @ S)
            M = KS.T @ KS
            M = np.asarray(M.toarray() if sp.issparse(M) else M)
            M += 1e-14 * max(float(np.max(np.diag(M), initial=0.0)), 1e-300) * np.eye(M.shape[0])
            self._coarse = (S.T.tocsr() if sp.issparse(S) else S.T, KS, sla.cho_factor(M))
        self._pc = float(coarse_prob) if self._coarse is not None else 0.0

    def _structured_step(self) -> None:
        if self._pc and self.rng.random() < self._pc:
            St, KS, C = self._coarse
            step = KS @ sla.cho_solve(C, St @ self.r)
        else:
            I, RT, lu = self._blocks[int(self.rng.integers(len(self._blocks)))]
            step = RT @ lu.solve(self.r[I])
        self.z -= step
        self.r -= self.K @ step
        self.products += 1

    # ------------------------------------------------------------------ engines
    def _chunk(self, T: int, threshold: float) -> int:
        thr2 = threshold * threshold
        if self.engine == "dense":
            check = max(16, min(256, 4 * self.d))
            if self.sketch == "gaussian":
                if HAVE_NUMBA:
                    seed = int(self.rng.integers(0, 2**31 - 1))
                    done = _gv_chunk(self.K, self.b, self.z, T, seed, thr2, check)
                else:
                    done = _gv_chunk_numpy(self.K, self.b, self.z, T, self.rng, thr2, check)
            else:
                idx = self.rng.integers(0, self.d, size=T)
                kernel = _rk_chunk if HAVE_NUMBA else _rk_chunk_numpy
                done = kernel(idx, self.K, self.b, self.rn2, self.z, thr2, check)
            self.products += done
            return int(done)
        stepper = self._structured_step if self.engine == "structured" else self._block_step
        for t in range(T):
            stepper()
            if (t + 1) % 8 == 0 and float(self.r @ self.r) <= thr2:
                return t + 1
        return T

    def _block_step(self) -> None:
        """One general sketch-and-project step (any engine, any block size)."""
        d, s = self.d, self.block
        if self.sketch == "kaczmarz":
            idx = np.sort(self.rng.choice(d, size=s, replace=False)) if s > 1 else \
                np.array([self.rng.integers(0, d)])
            if self.engine == "operator":
                E = np.zeros((d, s))
                E[idx, np.arange(s)] = 1.0
                KS = np.column_stack([self._mv(E[:, j]) for j in range(s)])
                self.products += s
            elif self.engine == "sparse":
                rows = self.K[idx]                       # s×d sparse = (K S)ᵀ
                w = _gram_solve_sparse(rows, self.r[idx])
                step = rows.T @ w
                self.z -= step
                self.r -= self.K @ step
                self.products += 2
                return
            else:
                KS = self.K[idx].T
            rhs = self.r[idx]
        else:
            S = self.rng.standard_normal((d, s))
            if self.engine == "operator":
                KS = np.column_stack([self._mv(S[:, j]) for j in range(s)])
                self.products += s
            else:
                KS = np.asarray(self.K @ S)
                self.products += 1
            rhs = S.T @ self.r
        w = _gram_solve_dense(KS, rhs)
        step = KS @ w
        self.z -= step
        self.r -= self._mv(step)
        self.products += 1


def _gram_solve_dense(KS: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Minimum-norm solution of (KSᵀ KS) w = rhs (pseudo-inverse through lstsq)."""
    M = KS.T @ KS
    if M.shape[0] == 1:
        return rhs / M[0, 0] if M[0, 0] > 0 else np.zeros(1)
    return sla.lstsq(M, rhs, cond=1e-13, lapack_driver="gelsy")[0]


def _gram_solve_sparse(rows: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
    """Solve (K_I K_Iᵀ) w = rhs for a sparse row block K_I (tiny ridge if singular)."""
    M = (rows @ rows.T).tocsc()
    if M.shape[0] == 1:
        v = M[0, 0]
        return rhs / v if v > 0 else np.zeros(1)
    ridge = 1e-14 * max(float(M.diagonal().max(initial=0.0)), 1e-300)
    try:
        return spla.splu(M + ridge * sp.identity(M.shape[0], format="csc")).solve(rhs)
    except RuntimeError:
        return spla.lsqr(M, rhs, atol=1e-14, btol=1e-14)[0]
