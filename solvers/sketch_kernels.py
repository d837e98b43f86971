"""Compiled (numba) and numpy kernels of single-vector sketch-and-project on a dense K z = b.

One step with sketch s and relaxation ω ∈ (0, 2) (ω = 1 is the plain projection):

    z ← z − ω (sᵀr / ‖Ks‖²) K s,        r = K z − b,  K = Kᵀ.

- Gaussian vector (GV): s ~ N(0, I_d); sᵀr is formed as (Ks)ᵀz − sᵀb, so a step costs one
  product K s (O(d²)).
- randomized Kaczmarz (RK): s = e_i, z ← z − ω (r_i/‖K_i‖²) K_iᵀ (O(d) per step).

For 0 < ω < 2 the expected squared error in the K²-norm still contracts (Gower–Richtárik,
relaxed sketch-and-project), with rate 1 − ω(2 − ω) λ_min(E[Z]) for the unrelaxed projection
matrix Z; ω = 1 maximises that bound, other values can help in practice.

Every ``check`` steps the residual ‖r‖² is recomputed exactly (O(d²)) and the loop stops early
when it is ≤ thr2. numba is optional (extra ``fast``); without it the numpy kernels run the same
projections — GV in blocks of precomputed products K S (one BLAS-3 call per ``check`` steps), RK
with the row norms precomputed — so the fallback stays vectorised.
"""
from __future__ import annotations

import numpy as np

try:  # optional accelerator: same arithmetic, compiled
    from numba import njit as _njit

    HAVE_NUMBA = True
except Exception:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

    def _njit(*args, **kwargs):
        def wrap(fn):
            return fn
        return wrap if not (args and callable(args[0])) else args[0]


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
def gv_chunk_numba(K, b, z, T, seed, thr2, check, omega):  # pragma: no cover - compiled
    """T Gaussian rank-one projections (s from a generator seeded with ``seed``)."""
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
            c = omega * sr / nn
            for i in range(d):
                z[i] -= c * Ks[i]
        if (t + 1) % check == 0 and _residual_sq(K, z, b) <= thr2:
            return t + 1
    return T


@_njit(cache=True)
def rk_chunk_numba(idx, K, b, rn2, z, thr2, check, omega):  # pragma: no cover - compiled
    """Randomized-Kaczmarz projections on rows idx (r_i = K_i z − b_i)."""
    T = idx.shape[0]
    d = z.shape[0]
    for t in range(T):
        i = idx[t]
        if rn2[i] > 0.0:
            ri = -b[i]
            for j in range(d):
                ri += K[i, j] * z[j]
            c = omega * ri / rn2[i]
            for j in range(d):
                z[j] -= c * K[i, j]
        if (t + 1) % check == 0 and _residual_sq(K, z, b) <= thr2:
            return t + 1
    return T


def _residual_sq_numpy(K, z, b) -> float:
    r = K @ z - b
    return float(r @ r)


def gv_chunk_numpy(K, b, z, T, rng, thr2, check, omega):
    """Without numba: the same Gaussian projections; the products K S of a block of ``check``
    sketches come from one matrix product, the sequential updates are O(d) numpy operations."""
    done = 0
    while done < T:
        q = min(check, T - done)
        S = rng.standard_normal((q, z.size))
        KS = S @ K                                     # rows (K s_t)ᵀ, K symmetric
        nn = np.einsum("ij,ij->i", KS, KS)
        Sb = S @ b
        for t in range(q):
            if nn[t] > 0.0:
                z -= (omega * (KS[t] @ z - Sb[t]) / nn[t]) * KS[t]
        done += q
        if _residual_sq_numpy(K, z, b) <= thr2:
            return done
    return T


def rk_chunk_numpy(idx, K, b, rn2, z, thr2, check, omega):
    """Without numba: randomized Kaczmarz with numpy row operations."""
    for t, i in enumerate(idx):
        if rn2[i] > 0.0:
            Ki = K[i]
            z -= (omega * (Ki @ z - b[i]) / rn2[i]) * Ki
        if (t + 1) % check == 0 and _residual_sq_numpy(K, z, b) <= thr2:
            return t + 1
    return len(idx)
