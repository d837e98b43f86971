"""Is ½xᵀQx convex? One sparse test for every path that needs a convex Q (never densifies).

Q ⪰ −δI with δ = 1e-9·max(1, max|Qᵢⱼ|) is accepted as convex (rounding, not curvature). The test
is O(nnz) for the common cases — a negative diagonal entry refutes it, Gershgorin's discs prove it —
and otherwise one sparse symmetric factorisation of Q + δI decides by Sylvester's law of inertia.
:func:`optkit.solve` runs it on the compiled LinearForm, once (cached in ``form.meta``), for every
backend that does not declare the capability ``"nonconvex-qp"`` (local NLP methods do).

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


def convexity_problem(Q: sp.spmatrix) -> str | None:
    """None when ½xᵀQx is convex (Q ⪰ −δI, δ = 1e-9·max(1, max|Q_ij|)), else what refutes it.

    Never densifies Q: a diagonal entry below −δ refutes it (e_jᵀQe_j < 0); Gershgorin's discs
    (Q_jj + δ >= Σ_{i≠j} |Q_ij| for every j) prove it; otherwise :func:`is_psd` decides.
    """
    Q = sp.csr_matrix(Q)
    if Q.nnz == 0:
        return None
    absQ = abs(Q)
    delta = 1e-9 * max(1.0, float(absQ.max()))
    d = Q.diagonal()
    neg = np.flatnonzero(d < -delta)
    if neg.size:
        j = int(neg[0])
        return f"Q[{j},{j}] = {d[j]:.6g} < 0, so Q is not positive semidefinite"
    off = np.asarray(absQ.sum(axis=1)).ravel() - np.abs(d)
    if np.all(d + delta >= off):
        return None
    if is_psd(Q, tol=1e-9):
        return None
    return (f"Q is not positive semidefinite (λ_min < −{delta:.1g}: a symmetric LDLᵀ "
            f"factorisation of Q + {delta:.1g}·I has a non-positive pivot)")


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


def cached_convexity_problem(form) -> str | None:
    """:func:`convexity_problem` of ``form.Q``, computed once per form (the data do not change)."""
    if getattr(form, "Q", None) is None:
        return None
    meta = form.meta
    key = ("_convexity", id(form.Q), form.Q.nnz)
    if meta.get("_convexity_key") != key:
        meta["_convexity"] = convexity_problem(form.Q)
        meta["_convexity_key"] = key
    return meta["_convexity"]
