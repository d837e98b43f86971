"""Randomized iterative sketching (sketch-and-project) for a symmetric linear system K z = b.

Each step draws a sketch S (d×s) and projects the iterate onto {z : Sᵀ K z = Sᵀ b}:

    z ← z − K S (Sᵀ K² S)⁺ Sᵀ r,        r = K z − b          (K = Kᵀ)

so the residual moves as r ← r − K² S (Sᵀ K² S)⁺ Sᵀ r. With sketch size s = 1:

- Gaussian vector (GV): s ~ N(0, I_d),   z ← z − (sᵀr / ‖Ks‖²) K s
- randomized Kaczmarz (RK): s = e_i, i uniform on {1..d},  z ← z − (r_i / ‖K_i‖²) K_iᵀ

Block sketches (s > 1) draw S with s Gaussian columns, or s distinct unit vectors (block
Kaczmarz); with M = K S the step is M (MᵀM)⁺ Sᵀ r = (Mᵀ)⁺ Sᵀ r, the minimum-norm solution of
Mᵀ u = Sᵀ r (pivoted QR). A full sketch (s = d, S invertible) projects onto the whole system:
its step is K⁻¹ r whatever S is, taken with one LU of K per system. Every step can be relaxed,
z ← z − ω K S (SᵀK²S)⁺ Sᵀ r with ω ∈ (0, 2) (ω = 1: the projection).

Block size: fixed (``block_size`` an int; 1 is the paper's GV/RK) or adaptive (None; beyond the
paper): start at s = 1; after a probe and after each chunk, the observed contraction per step
ρ̂ = (‖r_end‖/‖r_start‖)^(1/steps) predicts the steps still needed, N = log(thr/‖r‖)/log ρ̂.
Dense K: switch to the full sketch when N size-1 steps cost more flops than one full step.
Sparse / matrix-free K: double s (≤ ADAPTIVE_SPARSE_MAX) when N·s > GROW_WORK·d.

Engines, chosen by :class:`SketchSolver`:

- ``dense``: K held dense (d ≤ 4000). Size-1 steps run in the kernels of
  :mod:`optkit.solvers.sketch_kernels` (numba when installed, else vectorised numpy), one K s per
  GV step with sᵀr = (Ks)ᵀz − sᵀb; Kaczmarz rows come from the numpy Generator, Gaussian vectors
  from the kernel's generator seeded per chunk from it, so runs are reproducible from the seed.
- ``sparse``: K a scipy.sparse matrix (large d), any block size.
- ``operator``: K only through products v ↦ K v (matrix-free; B v from Hessian-vector products).
- ``structured`` (beyond the paper): a user-given discrete sketch distribution — a fixed family of
  row blocks I_1..I_p covering {1..d} (block Kaczmarz over a cover, each drawn with probability
  (1 − p_c)/p) and optionally one "coarse" sketch S_c (d×s_c, drawn with probability p_c). Each
  draw is still a sketch-and-project step: block I gives z ← z − K_Iᵀ (K_I K_Iᵀ)⁻¹ r_I, the coarse
  sketch gives z ← z − K S_c (S_cᵀK²S_c)⁻¹ S_cᵀ r. Because the distribution is fixed, the Gram
  matrices K_I K_Iᵀ and S_cᵀK²S_c are factorised once per system by sparse LU in a symmetric
  minimum-degree order (no dense factor at any size), so a step costs two sparse triangular solves
  and one sparse K product. On discretised PDEs, overlapping subdomain blocks plus a coarse-grid
  S_c make the rate nearly independent of the grid size (a two-level Schwarz iteration on the
  normal equations, which sketch-and-project is in this case).

The caller gives a stopping threshold on ‖r‖₂ and a step budget; the solver returns when either
is reached, or when ‖r‖ is at the rounding-error floor ε(‖K‖_F‖z‖ + ‖b‖).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .sketch_kernels import (HAVE_NUMBA, gv_chunk_numba, gv_chunk_numpy, rk_chunk_numba,
                             rk_chunk_numpy)

SKETCHES = ("gaussian", "kaczmarz")
EPS = np.finfo(float).eps
ADAPTIVE_SPARSE_MAX = 64     # largest adaptive block on a sparse or matrix-free K
GROW_WORK = 2.0              # grow the block when the predicted rest costs > 2 passes over K's rows


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
    ``block_size``: an int s (fixed sketch size; 1 is the paper's GV/RK) or None (adaptive: start
    at s = 1 and double s after a chunk whose observed contraction predicts more than
    ``GROW_WORK`` passes over K's rows to reach the threshold; beyond the paper).
    ``relaxation`` ω ∈ (0, 2): every step is z ← z − ω K S (SᵀK²S)⁺ Sᵀ r (ω = 1: the projection).
    ``use_numba``: None = numba when installed; False forces the numpy kernels.
    """

    CHUNK = 8192

    def __init__(self, b: np.ndarray, rng: np.random.Generator, sketch: str = "gaussian",
                 block_size: int | str | None = 1, K=None, matvec: Callable | None = None,
                 kfro: float = 1.0, blocks=None, coarse=None, coarse_prob: float = 0.5,
                 relaxation: float = 1.0, use_numba: bool | None = None):
        if sketch not in SKETCHES:
            raise ValueError(f"sketch must be one of {', '.join(SKETCHES)}, got {sketch!r}")
        if not 0.0 < relaxation < 2.0:
            raise ValueError(f"relaxation must lie in (0, 2), got {relaxation!r}")
        self.b = np.asarray(b, dtype=float)
        self.d = self.b.size
        self.rng = rng
        self.sketch = sketch
        self.omega = float(relaxation)
        self.adaptive = block_size is None
        if block_size == "full":  # the whole system in one sketch: one step is a direct solve
            block_size = self.d
        self.block = 1 if self.adaptive else int(max(1, min(block_size, self.d)))
        self.max_block = self.block
        self.numba = HAVE_NUMBA if use_numba is None else bool(use_numba and HAVE_NUMBA)
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
            self.engine = "dense"
            self.K = np.ascontiguousarray(np.asarray(K, dtype=float))
            self._mv = self.K.__matmul__
            self.rn2 = np.einsum("ij,ij->i", self.K, self.K)
        self.smax = self.d if self.engine == "dense" else min(self.d, ADAPTIVE_SPARSE_MAX)
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
        ``deadline`` (a time.perf_counter() value, checked between chunks).

        The small dense products of a step run with one BLAS thread (threadpoolctl, when
        installed): on a shared machine, threaded BLAS on d ≲ 10³ costs far more than it gains."""
        with _single_thread_blas():
            return self._run(threshold, max_steps, deadline)

    def _run(self, threshold: float, max_steps: int, deadline: float | None) -> SketchOutcome:
        res = self.residual()
        steps = 0
        while True:
            fl = self.floor()
            if res <= threshold or res <= fl:
                return SketchOutcome(steps, res, True, floor=res > threshold)
            if steps >= max_steps or (deadline is not None and time.perf_counter() > deadline):
                return SketchOutcome(steps, res, False)
            todo = min(self._chunk_length(), max_steps - steps)
            done = self._chunk(todo, max(threshold, fl))
            steps += done
            new = self.residual()
            if self.adaptive:
                if self.block >= self.d and new > 0.5 * res and new > threshold:
                    # full sketches (S spans R^d: every step is an exact projection) stopped
                    # contracting: the residual is at the attainable rounding level
                    return SketchOutcome(steps, new, True, floor=True)
                self._adapt(res, new, done, max(threshold, fl))
            res = new

    # ------------------------------------------------------------------ adaptive block size
    def _chunk_length(self) -> int:
        if self.engine == "structured":
            return 32
        if self.adaptive:
            if self.engine == "dense" and self.block == 1:
                # a short probe first (half a pass over K), then longer chunks
                self._probes = getattr(self, "_probes", 0) + 1
                return int(max(16, self.d // 2)) if self._probes == 1 else \
                    int(min(self.CHUNK, max(64, 2 * self.d)))
            return int(max(1, min(32, math.ceil(4 * self.d / self.block))))
        return self.CHUNK if (self.engine == "dense" and self.block == 1) else 32

    def _step_cost(self, s: int) -> float:
        """Flops of one step with a block of s (dense K), the exact residual checks included."""
        d = self.d
        if s >= d:                                   # full sketch: one LU (once) + 2 solves
            return 2.0 * d * d + (0.0 if getattr(self, "_lu", None) is not None else 2 * d ** 3 / 3)
        if s == 1:
            check = max(16, min(256, 4 * d))
            return (2.0 * d * d if self.sketch == "gaussian" else 2.0 * d) + 2.0 * d * d / check
        return 2.0 * d * d * s + 4.0 * d * s * s

    def _adapt(self, before: float, after: float, steps: int, threshold: float) -> None:
        """Grow the sketch when the observed contraction predicts a costly rest (beyond the paper).

        Observed rate per step ρ̂ = (after / before)^(1/steps); the steps still needed at the
        current size are N = log(threshold / after) / log ρ̂. Dense K: switch to the full sketch
        (s = d, one exact projection) when N steps would cost more than it. Sparse or matrix-free
        K: double s (up to ADAPTIVE_SPARSE_MAX) when N·s exceeds GROW_WORK passes over K's rows."""
        if self.block >= self.smax or steps == 0 or after <= threshold:
            return
        if after >= before:
            need = math.inf
        else:
            rate = math.log(after / before) / steps
            need = math.log(threshold / after) / rate
        if self.engine == "dense":
            if need * self._step_cost(self.block) > self._step_cost(self.d):
                self.block = self.d
        elif need * self.block > GROW_WORK * self.d:
            self.block = min(2 * self.block, self.smax)
        self.max_block = max(self.max_block, self.block)

    # ------------------------------------------------------------------ structured engine
    def _setup_structured(self, blocks, coarse, coarse_prob: float) -> None:
        """Factorise K_I K_Iᵀ for every block and S_cᵀK²S_c for the coarse sketch (once), with
        sparse LU in a symmetric fill-reducing order (no dense factor at any size)."""
        self._blocks = []
        for I in blocks:
            I = np.asarray(I, dtype=np.int64)
            R = self.K[I]                                   # (K E_I)ᵀ, |I|×d sparse
            self._blocks.append((I, R.T.tocsr(), _sym_splu((R @ R.T).tocsc())))
        self._coarse = None
        if coarse is not None:
            S = sp.csr_matrix(coarse)
            KS = (self.K @ S).tocsc()
            self._coarse = (S.T.tocsr(), KS.tocsr(), _sym_splu((KS.T @ KS).tocsc()))
        self._pc = float(coarse_prob) if self._coarse is not None else 0.0

    def _structured_step(self) -> None:
        if self._pc and self.rng.random() < self._pc:
            St, KS, lu = self._coarse
            step = KS @ lu.solve(St @ self.r)
        else:
            I, RT, lu = self._blocks[int(self.rng.integers(len(self._blocks)))]
            step = RT @ lu.solve(self.r[I])
        if self.omega != 1.0:
            step *= self.omega
        self.z -= step
        self.r -= self.K @ step
        self.products += 1

    # ------------------------------------------------------------------ engines
    def _chunk(self, T: int, threshold: float) -> int:
        thr2 = threshold * threshold
        if self.engine == "dense" and self.block == 1:
            check = max(16, min(256, 4 * self.d))
            if self.sketch == "gaussian":
                if self.numba:
                    seed = int(self.rng.integers(0, 2**31 - 1))
                    done = gv_chunk_numba(self.K, self.b, self.z, T, seed, thr2, check, self.omega)
                else:
                    done = gv_chunk_numpy(self.K, self.b, self.z, T, self.rng, thr2, check,
                                          self.omega)
            else:
                idx = self.rng.integers(0, self.d, size=T)
                kernel = rk_chunk_numba if self.numba else rk_chunk_numpy
                done = kernel(idx, self.K, self.b, self.rn2, self.z, thr2, check, self.omega)
            self.products += done
            return int(done)
        stepper = self._structured_step if self.engine == "structured" else self._block_step
        every = 1 if self.block * 4 >= self.d else 8
        for t in range(T):
            stepper()
            if (t + 1) % every == 0 and float(self.r @ self.r) <= thr2:
                return t + 1
        return T

    def _block_step(self) -> None:
        """One sketch-and-project step with a block of s Gaussian columns or s distinct rows:
        with M = K S, the step is M (MᵀM)⁺ Sᵀ r = (Mᵀ)⁺ Sᵀ r, taken as the minimum-norm
        least-squares solution of Mᵀ u = Sᵀ r (pivoted QR; stable when M is ill-conditioned)."""
        d, s = self.d, self.block
        if s >= d and self.engine == "dense":
            self._full_step()
            return
        if self.sketch == "kaczmarz":
            idx = self.rng.choice(d, size=s, replace=False) if s > 1 else \
                np.array([self.rng.integers(0, d)])
            if self.engine == "operator":
                E = np.zeros((d, s))
                E[idx, np.arange(s)] = 1.0
                M = np.column_stack([self._mv(E[:, j]) for j in range(s)])
                self.products += s
            elif self.engine == "sparse":
                M = self.K[idx].T.toarray()              # K symmetric: K E_I = K_Iᵀ
            else:
                M = self.K[idx].T
            rhs = self.r[idx]
        else:
            S = self.rng.standard_normal((d, s))
            if self.engine == "operator":
                M = np.column_stack([self._mv(S[:, j]) for j in range(s)])
                self.products += s
            else:
                M = np.asarray(self.K @ S)
                self.products += 1
            rhs = S.T @ self.r
        step = _min_norm_solve(M, rhs)
        if self.omega != 1.0:
            step *= self.omega
        self.z -= step
        self.r -= self._mv(step)
        self.products += 1


    def _full_step(self) -> None:
        """A full sketch (S d×d invertible: all rows, or d Gaussian columns) spans R^d, so its
        projection K S (SᵀK²S)⁻¹ Sᵀ r equals K⁻¹ r for every such S; it is taken with one LU of K
        per system (pseudo-inverse through least squares if K is singular)."""
        if getattr(self, "_lu", None) is None:
            try:
                with np.errstate(all="raise"):
                    self._lu = ("lu", sla.lu_factor(self.K, check_finite=False))
                if not np.all(np.isfinite(self._lu[1][0])) or \
                        np.min(np.abs(np.diag(self._lu[1][0]))) <= EPS * self.kfro:
                    raise sla.LinAlgError("singular")
            except (sla.LinAlgError, FloatingPointError, ValueError):
                self._lu = ("pinv", None)
        if self._lu[0] == "lu":
            step = sla.lu_solve(self._lu[1], self.r, check_finite=False)
        else:
            step = sla.lstsq(self.K, self.r, cond=1e-13, check_finite=False)[0]
        if self.omega != 1.0:
            step *= self.omega
        self.z -= step
        self.r -= self._mv(step)
        self.products += 1


def _min_norm_solve(M: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """u = (Mᵀ)⁺ rhs, the minimum-norm solution of Mᵀ u = rhs (M is d×s)."""
    if M.shape[1] == 1:
        nn = float(M[:, 0] @ M[:, 0])
        return M[:, 0] * (rhs[0] / nn) if nn > 0 else np.zeros(M.shape[0])
    return sla.lstsq(M.T, rhs, cond=1e-13, lapack_driver="gelsy", check_finite=False)[0]


_CONTROLLER = []


def _single_thread_blas():
    """Context limiting BLAS to one thread (a no-op without threadpoolctl)."""
    import contextlib

    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER.append(ThreadpoolController())
        except Exception:  # pragma: no cover - threadpoolctl missing
            _CONTROLLER.append(None)
    ctl = _CONTROLLER[0]
    return contextlib.nullcontext() if ctl is None else ctl.limit(limits=1, user_api="blas")


def _sym_splu(M: sp.csc_matrix):
    """Sparse LU of a symmetric positive semidefinite Gram matrix in a symmetric minimum-degree
    order (a tiny ridge makes it definite when a block is rank deficient)."""
    ridge = 1e-14 * max(float(M.diagonal().max(initial=0.0)), 1e-300)
    A = (M + ridge * sp.identity(M.shape[0], format="csc")).tocsc()
    try:
        return spla.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                         options={"SymmetricMode": True})
    except RuntimeError:          # a zero pivot in the symmetric order: partial pivoting
        return spla.splu(A)
