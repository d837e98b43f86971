"""Is ½xᵀQx convex? One sparse test for every path that needs a convex Q (never densifies).

Q ⪰ −δI with δ = 1e-9·max(1, max|Qᵢⱼ|) is accepted as convex (rounding, not curvature). The test
is O(nnz) for the common cases — a negative diagonal entry refutes it, Gershgorin's discs prove it —
and otherwise one sparse symmetric factorisation of Q + δI decides by Sylvester's law of inertia.
:func:`optkit.solve` runs it on the compiled LinearForm, once (cached in ``form.meta``), for every
backend that does not declare the capability ``"nonconvex-qp"`` (local NLP methods do).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def convexity_problem(Q: sp.spmatrix) -> str | None:
    """None when ½xᵀQx is convex (Q ⪰ −δI, δ = 1e-9·max(1, max|Q_ij|)), else what refutes it.

    Never densifies Q: a diagonal entry below −δ refutes it (e_jᵀQe_j < 0); Gershgorin's discs
    (Q_jj + δ >= Σ_{i≠j} |Q_ij| for every j) prove it; otherwise Q + δI is factorised as LDLᵀ by a
    sparse LU with symmetric, diagonal pivoting — Q + δI ≻ 0 iff every pivot is positive
    (Sylvester's law of inertia); a zero pivot (off-diagonal pivoting) means a singular leading
    minor, so Q + δI is not positive definite either.
    """
    Q = sp.csr_matrix(Q)
    n = Q.shape[0]
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
    from scipy.sparse.linalg import splu

    M = (Q + delta * sp.identity(n, format="csr")).tocsc()
    try:
        lu = splu(M, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                  options={"SymmetricMode": True})
    except RuntimeError:
        return "Q + δI is singular in a symmetric factorisation, so Q is not positive semidefinite"
    pivots = lu.U.diagonal()
    if np.array_equal(lu.perm_r, lu.perm_c) and np.all(pivots > 0):
        return None
    k = int(np.argmin(pivots))
    return (f"Q is not positive semidefinite (pivot {pivots[k]:.3g} < 0 in a symmetric LDLᵀ "
            f"factorisation of Q + {delta:.1g}·I)")


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
