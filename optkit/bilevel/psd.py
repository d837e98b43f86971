"""Sparse positive-semidefiniteness test for the Hessian blocks of quadratic bilevel data.

``is_psd(P, tol)`` decides whether the symmetric part S = ½(P + Pᵀ) satisfies

    λ_min(S) ≥ −tol · s,     s = max(1, max_ij |S_ij|),

without an eigen-decomposition, by these steps (each O(nnz) except the last):

1. S = 0 → PSD. S diagonal → PSD iff every S_jj ≥ −tol·s (the eigenvalues are the diagonal).
2. Necessary conditions: a diagonal entry S_jj < −tol·s, or an entry with |S_ij| > 0 in a row
   whose diagonal is 0 while S is PSD-within-tolerance impossible (|S_ij|² ≤ S_ii S_jj for a PSD
   matrix) → not PSD. Rows and columns that are entirely zero are dropped (they add eigenvalue 0).
3. Shifted factorisation: S + δI with δ = tol·s is positive definite iff λ_min(S) > −δ. It is
   factored as LDLᵀ by Gaussian elimination in a *symmetric* ordering (SuperLU with a fill-reducing
   column order on Sᵀ + S and diagonal pivoting, ``diag_pivot_thresh=0``): a symmetric matrix is
   positive definite iff elimination in any symmetric order meets only positive pivots (Sylvester).
   A pivot ≤ 0, a row permutation that differs from the column permutation (elimination had to
   leave the diagonal, which a positive definite matrix never needs) or an exactly singular factor
   all mean "not PSD within tol". Cost: one sparse factorisation, O(nnz(L)).

Matrices with at most ``dense_max`` (= 300) rows after step 2 are decided by ``eigvalsh`` instead
(cheap at that size, and exact where rounding in a nearly singular factorisation could mislead).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def is_psd(P, tol: float = 1e-9, dense_max: int = 300) -> bool:
    """True when ½(P + Pᵀ) has λ_min ≥ −tol·max(1, max|P|) (see module docstring)."""
    if P is None:
        return True
    if not sp.issparse(P):
        arr = np.asarray(P, dtype=float)
        if arr.size == 0 or not np.any(arr):
            return True
        P = sp.csr_matrix(arr)
    S = sp.csr_matrix(0.5 * (P + P.T))
    S.eliminate_zeros()
    if S.nnz == 0:
        return True
    scale = max(1.0, float(np.abs(S.data).max()))
    shift = tol * scale
    diag = S.diagonal()
    if np.any(diag < -shift):
        return False
    C = S.tocoo()
    off = C.row != C.col
    if not np.any(off):  # diagonal: its entries are the eigenvalues
        return True
    # a PSD matrix has |S_ij|² ≤ S_ii S_jj: an off-diagonal entry in a row with a zero diagonal
    # (within the shift) makes it indefinite by more than the tolerance allows
    r, c, v = C.row[off], C.col[off], C.data[off]
    dpos = np.maximum(diag, 0.0) + shift
    if np.any(v * v > dpos[r] * dpos[c] * (1.0 + 1e-12)):
        return False
    keep = np.flatnonzero(np.diff(S.indptr) > 0)  # drop all-zero rows (eigenvalue 0)
    if keep.size < S.shape[0]:
        S = S[keep][:, keep]
    n = S.shape[0]
    if n <= dense_max:
        w = np.linalg.eigvalsh(S.toarray())
        return bool(w[0] >= -shift)
    return _shifted_ldl_is_pd(S, shift)


def _shifted_ldl_is_pd(S: sp.csr_matrix, shift: float) -> bool:
    """Positive definiteness of S + shift·I by symmetric Gaussian elimination (SuperLU)."""
    from scipy.sparse.linalg import splu

    n = S.shape[0]
    M = (S + shift * sp.identity(n, format="csr")).tocsc()
    try:
        lu = splu(M, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                  options={"SymmetricMode": True})
    except RuntimeError:  # exactly singular: a zero pivot, impossible for a PD matrix
        return False
    if not np.array_equal(lu.perm_r, lu.perm_c):
        return False  # elimination left the diagonal: some pivot was not positive
    pivots = lu.U.diagonal()
    return bool(np.all(pivots > 0.0))


def convex_quadratic(expr, sign: float = 1.0) -> bool | None:
    """True when cvxpy already proves ``sign·expr`` convex (DCP), None when it cannot say."""
    try:
        e = expr if sign > 0 else -expr
        return True if e.is_convex() else None
    except Exception:  # noqa: BLE001 - an expression cvxpy cannot classify: no proof
        return None
