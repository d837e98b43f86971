"""Compiled kernels of the iterative linear-system backends (SOR sweeps, SSOR-preconditioned CG).

A = L + D + U (strict lower, diagonal, strict upper), held as CSR (indptr, indices, data) with
sorted column indices.

- SOR, one sweep: xᵢ ← (1 − ω) xᵢ + ω (bᵢ − Σ_{j<i} aᵢⱼ xⱼ(new) − Σ_{j>i} aᵢⱼ xⱼ(old)) / aᵢᵢ,
  i.e. x ← x + ω (D + ωL)⁻¹ (b − A x); then ‖b − A x‖₂ for the stopping test.
- SSOR preconditioner: M_ω = ω/(2 − ω) · (D/ω + L) (D/ω)⁻¹ (D/ω + U), applied as a forward
  solve with (D/ω + L), a scaling by D/ω and a backward solve with (D/ω + U) (the positive factor
  ω/(2 − ω) does not change the CG iterates, but is kept so M_ω is the textbook matrix).
- PCG: the standard preconditioned conjugate-gradient recursion on r = b − A x, stopped at
  ‖r‖₂ ≤ atol; pᵀAp ≤ 0 is a breakdown (A not positive definite).

With numba the loops are compiled (``cache=True``); without it the same arithmetic runs through
scipy (triangular solves by :func:`scipy.sparse.linalg.spsolve_triangular`, products by CSR
matvecs), with a Python loop over iterations only. Status codes: 0 converged, 1 iteration budget
spent, 2 diverged (non-finite or ‖r‖ > 1e12 ‖r₀‖), 3 CG breakdown.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

try:  # optional accelerator (the `fast` extra); the scipy path below gives the same iterates
    from numba import njit as _njit

    HAVE_NUMBA = True
except Exception:  # pragma: no cover - exercised only without numba
    HAVE_NUMBA = False

CONVERGED, BUDGET, DIVERGED, BREAKDOWN = 0, 1, 2, 3


def _residual_norm_py(indptr, indices, data, b, x):
    """‖b − A x‖₂ (reference for the compiled kernel)."""
    n = b.shape[0]
    total = 0.0
    for i in range(n):
        s = b[i]
        for k in range(indptr[i], indptr[i + 1]):
            s -= data[k] * x[indices[k]]
        total += s * s
    return np.sqrt(total)


def _sor_py(indptr, indices, data, diag, b, x, omega, atol, max_iter, r0):
    """SOR sweeps until ‖b − Ax‖ ≤ atol or max_iter; returns (iterations, status, ‖r‖)."""
    n = b.shape[0]
    res = r0
    for it in range(1, max_iter + 1):
        for i in range(n):
            s = b[i]
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                if j != i:
                    s -= data[k] * x[j]
            x[i] = (1.0 - omega) * x[i] + omega * s / diag[i]
        res = _residual_norm(indptr, indices, data, b, x)
        if res <= atol:
            return it, CONVERGED, res
        if not np.isfinite(res) or res > 1e12 * max(r0, 1e-300):
            return it, DIVERGED, res
    return max_iter, BUDGET, res


def _ssor_apply_py(indptr, indices, data, diag, omega, r, z, work):
    """z = M_ω⁻¹ r (forward solve, scaling, backward solve; see module docstring)."""
    n = r.shape[0]
    for i in range(n):  # (D/ω + L) w = r
        s = r[i]
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            if j < i:
                s -= data[k] * work[j]
        work[i] = s * omega / diag[i]
    scale = (2.0 - omega) / omega
    for i in range(n):  # w ← (D/ω) w · (2 − ω)/ω
        work[i] = work[i] * diag[i] / omega * scale
    for i in range(n - 1, -1, -1):  # (D/ω + U) z = w
        s = work[i]
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            if j > i:
                s -= data[k] * z[j]
        z[i] = s * omega / diag[i]


def _matvec_py(indptr, indices, data, x, out):
    n = out.shape[0]
    for i in range(n):
        s = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            s += data[k] * x[indices[k]]
        out[i] = s


def _pcg_py(indptr, indices, data, diag, b, x, omega, atol, max_iter):
    """SSOR-preconditioned CG; returns (iterations, status, ‖r‖)."""
    n = b.shape[0]
    r = np.empty(n)
    _matvec(indptr, indices, data, x, r)
    for i in range(n):
        r[i] = b[i] - r[i]
    res = np.sqrt(np.dot(r, r))
    if res <= atol:
        return 0, CONVERGED, res
    z = np.zeros(n)
    work = np.zeros(n)
    _ssor_apply(indptr, indices, data, diag, omega, r, z, work)
    p = z.copy()
    q = np.empty(n)
    rz = np.dot(r, z)
    for it in range(1, max_iter + 1):
        _matvec(indptr, indices, data, p, q)
        pq = np.dot(p, q)
        if not pq > 0.0:
            return it, BREAKDOWN, res
        alpha = rz / pq
        for i in range(n):
            x[i] += alpha * p[i]
            r[i] -= alpha * q[i]
        res = np.sqrt(np.dot(r, r))
        if res <= atol:
            return it, CONVERGED, res
        if not np.isfinite(res):
            return it, DIVERGED, res
        _ssor_apply(indptr, indices, data, diag, omega, r, z, work)
        rz_new = np.dot(r, z)
        beta = rz_new / rz
        rz = rz_new
        for i in range(n):
            p[i] = z[i] + beta * p[i]
    return max_iter, BUDGET, res


if HAVE_NUMBA:
    _residual_norm = _njit(cache=True)(_residual_norm_py)
    _matvec = _njit(cache=True)(_matvec_py)
    _ssor_apply = _njit(cache=True)(_ssor_apply_py)
    _sor_compiled = _njit(cache=True)(_sor_py)
    _pcg_compiled = _njit(cache=True)(_pcg_py)
else:  # pragma: no cover
    _residual_norm = _residual_norm_py
    _matvec = _matvec_py
    _ssor_apply = _ssor_apply_py
    _sor_compiled = _pcg_compiled = None


# ---------------------------------------------------------------------- scipy fallbacks
def _sor_scipy(A: sp.csr_matrix, diag, b, x, omega, atol, max_iter, r0):
    """SOR as x ← x + (D/ω + L)⁻¹ (b − A x), one triangular solve per sweep."""
    T = (sp.tril(A, k=-1) + sp.diags(diag / omega)).tocsr()
    res = r0
    for it in range(1, max_iter + 1):
        x += spla.spsolve_triangular(T, b - A @ x, lower=True)
        res = float(np.linalg.norm(b - A @ x))
        if res <= atol:
            return it, CONVERGED, res
        if not np.isfinite(res) or res > 1e12 * max(r0, 1e-300):
            return it, DIVERGED, res
    return max_iter, BUDGET, res


def _pcg_scipy(A: sp.csr_matrix, diag, b, x, omega, atol, max_iter):
    """SSOR-PCG with scipy triangular solves (same recursion as the compiled kernel)."""
    lower = (sp.tril(A, k=-1) + sp.diags(diag / omega)).tocsr()
    upper = (sp.triu(A, k=1) + sp.diags(diag / omega)).tocsr()
    scale = (2.0 - omega) / omega * diag / omega

    def prec(r):
        w = spla.spsolve_triangular(lower, r, lower=True)
        return spla.spsolve_triangular(upper, w * scale, lower=False)

    r = b - A @ x
    res = float(np.linalg.norm(r))
    if res <= atol:
        return 0, CONVERGED, res
    z = prec(r)
    p = z.copy()
    rz = float(r @ z)
    for it in range(1, max_iter + 1):
        q = A @ p
        pq = float(p @ q)
        if not pq > 0.0:
            return it, BREAKDOWN, res
        alpha = rz / pq
        x += alpha * p
        r -= alpha * q
        res = float(np.linalg.norm(r))
        if res <= atol:
            return it, CONVERGED, res
        if not np.isfinite(res):
            return it, DIVERGED, res
        z = prec(r)
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return max_iter, BUDGET, res


# ---------------------------------------------------------------------- entry points
def sor(A: sp.csr_matrix, diag: np.ndarray, b: np.ndarray, x: np.ndarray, omega: float,
        atol: float, max_iter: int, compiled: bool = True) -> tuple[int, int, float]:
    """Run SOR in place on x; (iterations, status code, final ‖b − Ax‖₂)."""
    r0 = float(np.linalg.norm(b - A @ x))
    if r0 <= atol:
        return 0, CONVERGED, r0
    if max_iter == 0:
        return 0, BUDGET, r0
    if compiled and HAVE_NUMBA:
        it, st, res = _sor_compiled(A.indptr, A.indices, A.data, diag, b, x, float(omega),
                                    float(atol), int(max_iter), r0)
        return int(it), int(st), float(res)
    return _sor_scipy(A, diag, b, x, omega, atol, max_iter, r0)


def pcg(A: sp.csr_matrix, diag: np.ndarray, b: np.ndarray, x: np.ndarray, omega: float,
        atol: float, max_iter: int, compiled: bool = True) -> tuple[int, int, float]:
    """Run SSOR-PCG in place on x; (iterations, status code, final recursive ‖r‖₂)."""
    if compiled and HAVE_NUMBA:
        it, st, res = _pcg_compiled(A.indptr, A.indices, A.data, diag, b, x, float(omega),
                                    float(atol), int(max_iter))
        return int(it), int(st), float(res)
    return _pcg_scipy(A, diag, b, x, omega, atol, max_iter)
