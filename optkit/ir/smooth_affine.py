"""Linear-time derivatives of smooth cvxpy models: elementwise atoms over affine arguments.

The input is the smooth problem at the end of cvxpy's NLP chain (FlipObjective, CvxAttr2Constr,
Dnlp2Smooth, then the row lowering), whose objective and constraint rows are trees of affine
atoms and smooth elementwise atoms.

Lowering
--------
Every nonlinear atom becomes a *node* k with output wₖ ∈ R^{sₖ}. The nodes' outputs extend the
variable vector to z = (x, w₁, …, w_K), and every expression is lowered to an affine form over z,

    e(x) = A z + b,        A sparse (size(e) × dim z),

built by a linear-time coefficient extractor over cvxpy's affine atoms (variables, constants and
parameters at their current values, +, −, scalar and constant elementwise products, constant
matrix products, sums, and every atom that only *moves* entries: indexing, slicing, reshape,
transpose, promotion, broadcasting, stacking, diagonals). A node is

    unary   wₖ = φ(u),     u = A_u z + b_u                       (exp, log, sin, cos, tan, sinh,
                                                                    tanh, asinh, atanh, logistic,
                                                                    normcdf, entr, u^p)
    binary  wₖ = ψ(u, v),  u = A_u z + b_u, v = A_v z + b_v      (u∘v, u/v, u·log(u/v))

and composite atoms are written with them (quad_over_lin(X, y) = Σ X²/y, quad_form(x, P) =
Σ x∘(Px), x @ y = Σ x∘y, X @ Y = (Σⱼ Xᵢⱼ Yⱼₖ)ᵢₖ). Node arguments only read x and earlier nodes,
so the creation order is a topological order.

Derivatives
-----------
With Jₖ = ∂wₖ/∂x and the total argument Jacobian J_u = A_u[:, x] + Σⱼ A_u[:, wⱼ] Jⱼ,

    unary   Jₖ = diag(φ′(u)) J_u
    binary  Jₖ = diag(ψ_u) J_u + diag(ψ_v) J_v

and for u = A x + b (a first-level node) J_u = A is a constant. The objective's gradient is a
reverse sweep: z̄ = a_f, and for k = K…1, w̄ = z̄[wₖ], z̄ += A_uᵀ(w̄∘ψ_u) + A_vᵀ(w̄∘ψ_v); ∇f = z̄[x].
The Lagrangian L = σf + yᵀc is linear in z, so with the adjoints z̄ of the same sweep started at
z̄ = σ a_f + A_cᵀ y,

    ∇²ₓL = Σₖ  J_uᵀ diag(w̄∘ψ_uu) J_u + J_uᵀ diag(w̄∘ψ_uv) J_v + J_vᵀ diag(w̄∘ψ_uv) J_u
               + J_vᵀ diag(w̄∘ψ_vv) J_v

(for φ(Ax + b): Aᵀ diag(λ∘φ″) A; for the product (Ax + a)∘(Bx + b): Aᵀ diag(λ) B + Bᵀ diag(λ) A).
Each term's sparsity is fixed: its entries are the pairs (p, q) of nonzeros that share a row of
J_u and J_v, so the values are one gather-multiply per pair and one ``bincount`` into the slots
of the Hessian pattern. Every pattern, and the scatter of every sum and product of sparse
matrices with constant factors, is worked out once (``_Pattern``); an evaluation only multiplies
and scatters arrays. Work and memory are linear in the number of structural nonzeros.

The Hessian's pattern and its pair lists are built on the first Hessian request only, so a
solver that approximates the Hessian (IPOPT's limited-memory mode) never pays for them.

Anything outside this set raises :class:`NotCovered`; the caller then uses cvxpy's own engine for
the whole problem.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy import special

__all__ = ["NotCovered", "SmoothAffineOracles", "lower_problem"]


class NotCovered(Exception):
    """The expression uses an atom (or an atom configuration) this reduction does not compile."""


# ============================================================================ sparse patterns
IDX = np.int32  # index dtype of every CSR structure built here (int64 beyond 2³¹ entries)


def _idx_dtype(*sizes: int):
    return IDX if max(sizes, default=0) < np.iinfo(IDX).max else np.int64


_CSR_TEMPLATE: list = []


def _csr(data, indices, indptr, shape) -> sp.csr_matrix:
    """A CSR matrix from arrays known to be valid (duplicates allowed), without scipy's
    constructor and format check: a shallow copy of an empty template gets the arrays (about 7 µs
    instead of 50 µs, which matters for models built from many small expressions)."""
    if not _CSR_TEMPLATE:
        _CSR_TEMPLATE.append(sp.csr_matrix((1, 1)))
    dt = _idx_dtype(int(shape[1]), int(np.size(data)))
    M = copy.copy(_CSR_TEMPLATE[0])
    M.data = data
    M.indices = np.asarray(indices).astype(dt, copy=False)
    M.indptr = np.asarray(indptr).astype(dt, copy=False)
    M._shape = (int(shape[0]), int(shape[1]))
    return M


def _rows_of(indptr: np.ndarray) -> np.ndarray:
    """Row index of every stored entry of a CSR structure."""
    return np.repeat(np.arange(indptr.size - 1, dtype=_idx_dtype(indptr.size)), np.diff(indptr))


@dataclass
class _Pattern:
    """A CSR sparsity structure (sorted, unique columns per row) and where entries land in it.

    Built from a list of entries (rᵢ, cᵢ), duplicates allowed: ``slot[i]`` is the position of
    entry i in the structure, so values v add up as ``bincount(slot, v)``. The entries are
    grouped by row with a stable sort of the rows (a linear merge: they arrive in a few row-sorted
    runs, one per CSR matrix they come from), then each row's few columns are sorted by scipy's
    per-row sort, and equal neighbours share a slot. No global sort of r·ncols + c keys.
    """

    indptr: np.ndarray
    indices: np.ndarray
    shape: tuple[int, int]
    slot: np.ndarray | None  # None: the entries were already the structure, in order

    @classmethod
    def from_entries(cls, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> _Pattern:
        """Structure of the entries (rows, cols) of a matrix of the given shape."""
        nr, nc = int(shape[0]), int(shape[1])
        rows, cols = np.asarray(rows), np.asarray(cols)
        nnz = rows.size
        dt = _idx_dtype(nc, nnz)
        if nnz == 0:
            return cls(np.zeros(nr + 1, dt), np.zeros(0, dt), (nr, nc), None)
        grouped = bool(np.all(rows[1:] >= rows[:-1]))
        order = None if grouped else np.argsort(rows, kind="stable")
        r = rows if grouped else rows[order]
        c = (cols if grouped else cols[order]).astype(dt)
        indptr = np.zeros(nr + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=nr), out=indptr[1:])
        indptr = indptr.astype(dt)
        # sort each row's columns, carrying the entries' positions along as the values
        M = _csr(np.arange(nnz, dtype=float), c, indptr, (nr, nc))
        M.sort_indices()
        perm = M.data.astype(np.int64)  # sorted position → grouped position
        cs = M.indices
        first = np.empty(nnz, dtype=bool)
        first[0] = True
        np.not_equal(cs[1:], cs[:-1], out=first[1:])
        starts = indptr[:-1][np.diff(indptr) > 0]
        first[starts] = True  # a new row always starts a new slot
        # (cumsum of an int array: numpy's bool → int cumsum is ~8× slower)
        running = np.empty(nnz + 1, dtype=np.int64)
        running[0] = 0
        np.cumsum(first.astype(np.int64), out=running[1:])
        sorted_slot = running[1:] - 1
        new_ptr = running[indptr]  # unique entries per row → the structure's row pointer
        if grouped and bool(first.all()) and bool(np.all(perm == np.arange(nnz))):
            return cls(indptr, cs, (nr, nc), None)
        slot_grouped = np.empty(nnz, dtype=np.int64)
        slot_grouped[perm] = sorted_slot
        if grouped:
            slot = slot_grouped
        else:
            slot = np.empty(nnz, dtype=np.int64)
            slot[order] = slot_grouped
        return cls(new_ptr.astype(dt), cs[first], (nr, nc), slot)

    @property
    def nnz(self) -> int:
        """Number of structural nonzeros."""
        return int(self.indices.size)

    def rows(self) -> np.ndarray:
        """Row of every structural nonzero."""
        return _rows_of(self.indptr)

    def scatter(self, values: np.ndarray) -> np.ndarray:
        """Values of the structure from per-entry values (duplicates add)."""
        if self.slot is None:
            return values
        return np.bincount(self.slot, weights=values, minlength=self.nnz)

    def matrix(self, data: np.ndarray) -> sp.csr_matrix:
        """The CSR matrix with this structure and these values."""
        return _csr(data, self.indices, self.indptr, self.shape)


def _product_entries(L: sp.csr_matrix, indptr: np.ndarray, indices: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Entries of L·M for a constant L and a structure M (its data varies): every product term.

    (L M)[i, k] = Σ_r L[i, r] M[r, k]; returns (i, k, L[i, r], position of M[r, k] in M's data)
    for every pair of nonzeros L[i, r], M[r, k], in row order of L.
    """
    L = sp.csr_matrix(L)
    li, lr, ld = _rows_of(L.indptr), L.indices.astype(np.int64), L.data
    cnt = indptr[lr + 1] - indptr[lr]
    total = int(cnt.sum())
    rep = np.repeat(np.arange(li.size), cnt)
    start = np.cumsum(cnt) - cnt
    src = indptr[lr][rep] + (np.arange(total) - np.repeat(start, cnt))
    return li[rep], indices[src], ld[rep], src


def _row_pairs(pa: tuple[np.ndarray, np.ndarray], pb: tuple[np.ndarray, np.ndarray]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (p, q) of stored entries of two CSR structures that share a row.

    Returns (row, p, q) with p indexing the first structure's data and q the second's.
    """
    ia, ib = pa[0], pb[0]
    na, nb = np.diff(ia), np.diff(ib)
    cnt = na * nb
    total = int(cnt.sum())
    R = np.repeat(np.arange(na.size, dtype=np.int64), cnt)
    local = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    nbR = nb[R]
    return R, ia[R] + local // nbR, ib[R] + local % nbR


# ============================================================================ affine forms
class Affine:
    """e = A z + b over the extended vector z (b dense, A sparse: size × width).

    A is kept as *row-aligned terms* plus an optional general part M: term t = (cols, vals) puts
    the entry vals[r] (an array, or one number for every row) in row r, column cols[r]. Variables,
    node outputs, their gathers, sums, scalings and negations are all such terms, so an
    elementwise model's affine algebra never builds an intermediate sparse matrix: A is
    materialised once (T terms → T entries per row, no sorting) when a node or a row needs it.
    Sums over entries and constant matrix products go into M (CSR).
    """

    __slots__ = ("terms", "M", "b", "shape", "width", "_A")

    def __init__(self, A: sp.csr_matrix | None, b: np.ndarray, shape: tuple,
                 terms: list | None = None, width: int | None = None):
        self.M = A
        self.terms = terms or []
        self.b = b
        self.shape = tuple(shape)
        if width is None:
            assert A is not None, "an Affine without a matrix needs its width"
            width = A.shape[1]
        self.width = int(width)
        self._A = A if not self.terms else None

    @property
    def size(self) -> int:
        """Number of entries of the expression."""
        return int(self.b.size)

    @property
    def A(self) -> sp.csr_matrix:
        """The coefficient matrix (materialised once, duplicates allowed)."""
        if self._A is None or self._A.shape[1] != self.width:
            self._A = self._materialise()
        return self._A

    def _materialise(self) -> sp.csr_matrix:
        size, width, T = self.size, self.width, len(self.terms)
        if T == 0:
            return _widen(self.M, width) if self.M is not None else sp.csr_matrix((size, width))
        dt = _idx_dtype(width, size * T)
        if T == 1:
            cols, vals = self.terms[0]
            data = np.full(size, float(vals)) if np.ndim(vals) == 0 else np.asarray(vals, float)
            indices = np.asarray(cols).astype(dt, copy=False)
        else:
            indices = np.empty((size, T), dtype=dt)
            data = np.empty((size, T))
            for j, (cols, vals) in enumerate(self.terms):
                indices[:, j] = cols
                data[:, j] = vals
            indices, data = indices.reshape(-1), data.reshape(-1)
        At = _csr(data, indices, np.arange(0, size * T + 1, T, dtype=dt), (size, width))
        return _csr_add(_widen(self.M, width), At) if self.M is not None else At

    def widened(self, width: int) -> Affine:
        """The same form over a longer z."""
        if width == self.width:
            return self
        out = Affine(None if self.M is None else _widen(self.M, width), self.b, self.shape,
                     self.terms, width)
        if self._A is not None and not self.terms:
            out._A = _widen(self._A, width)
        return out


def _leaf(start: int, size: int, width: int, shape: tuple) -> Affine:
    """The form of z[start:start + size] (a variable or a node output)."""
    cols = np.arange(start, start + size, dtype=_idx_dtype(width))
    return Affine(None, np.zeros(size), shape, [(cols, 1.0)], width)


def _widen(A: sp.csr_matrix, width: int) -> sp.csr_matrix:
    """The same matrix with more (empty) columns."""
    if A.shape[1] == width:
        return A
    return _csr(A.data, A.indices, A.indptr, (A.shape[0], width))


def _gather(a: Affine, src: np.ndarray, shape: tuple) -> Affine:
    """Rows src of the form (src < 0: a zero entry)."""
    src = np.asarray(src)
    if src.size == a.size and src.size and src[0] == 0 and src[-1] == a.size - 1 and \
            np.array_equal(src, np.arange(a.size)):
        return Affine(a.M, a.b, shape, a.terms, a.width)
    if src.size == 0 or src.min() >= 0:
        terms = [(c[src], v if np.ndim(v) == 0 else v[src]) for c, v in a.terms]
        M = None if a.M is None else sp.csr_matrix(a.M[src])
        if M is None and not terms:
            M = sp.csr_matrix((src.size, a.width))
        return Affine(M, a.b[src], shape, terms, a.width)
    keep = src >= 0
    safe = np.where(keep, src, 0)
    rows = a.A[safe]
    rows = sp.diags(keep.astype(float)) @ rows
    rows.eliminate_zeros()
    return Affine(sp.csr_matrix(rows), np.where(keep, a.b[safe], 0.0), shape)


def _scale(a: Affine, c: np.ndarray | float) -> Affine:
    """diag(c)·e for a constant vector c (length size)."""
    c = np.broadcast_to(np.asarray(c, float).reshape(-1), (a.size,))
    uniform = a.size == 0 or bool(np.all(c == c[0]))
    cs = float(c[0]) if uniform and a.size else c
    terms = [(cols, vals * cs) for cols, vals in a.terms]
    M = a.M
    if M is not None and M.nnz:
        data = M.data * (cs if uniform else np.repeat(c, np.diff(M.indptr)))
        M = _csr(data, M.indices, M.indptr, M.shape)
    return Affine(M, a.b * c, a.shape, terms, a.width)


def _neg(a: Affine) -> Affine:
    """−e."""
    M = None if a.M is None else _csr(-a.M.data, a.M.indices, a.M.indptr, a.M.shape)
    return Affine(M, -a.b, a.shape, [(c, -v) for c, v in a.terms], a.width)


def _add_forms(a: Affine, b: Affine, width: int) -> Affine:
    """e₁ + e₂ (same shape): the terms side by side, the general parts added."""
    if a.M is None:
        M = None if b.M is None else _widen(b.M, width)
    else:
        M = _widen(a.M, width) if b.M is None else _csr_add(_widen(a.M, width),
                                                             _widen(b.M, width))
    if M is not None and M.nnz == 0 and (a.terms or b.terms):
        M = None
    return Affine(M, a.b + b.b, a.shape, a.terms + b.terms, width)


def _csr_add(A: sp.csr_matrix, B: sp.csr_matrix) -> sp.csr_matrix:
    """A + B by concatenating each row's entries (duplicates are kept; they add up wherever the
    matrix is used): one vectorised scatter instead of a row-by-row merge."""
    if B.nnz == 0:
        return A
    if A.nnz == 0:
        return B
    dt = _idx_dtype(A.shape[1], A.nnz + B.nnz)
    ia, ib = A.indptr.astype(dt, copy=False), B.indptr.astype(dt, copy=False)
    indptr = ia + ib
    nnz = int(indptr[-1])
    pa = np.arange(ia[-1], dtype=dt)
    pa += np.repeat(ib[:-1], np.diff(ia))
    pb = np.arange(ib[-1], dtype=dt)
    pb += np.repeat(ia[1:], np.diff(ib))
    data = np.empty(nnz)
    indices = np.empty(nnz, dtype=dt)
    data[pa], data[pb] = A.data, B.data
    indices[pa], indices[pb] = A.indices, B.indices
    return _csr(data, indices, indptr, A.shape)


def _csr_vstack(mats: list[sp.csr_matrix], width: int) -> sp.csr_matrix:
    """Rows of the matrices one under the other (same width)."""
    if len(mats) == 1:
        return _widen(mats[0], width)
    offsets = np.cumsum([0] + [M.nnz for M in mats])
    dt = _idx_dtype(width, int(offsets[-1]))
    shifted = [M.indptr[1:].astype(dt) + off for M, off in zip(mats, offsets[:-1], strict=True)]
    indptr = np.concatenate([np.zeros(1, dt)] + shifted)
    return _csr(np.concatenate([M.data for M in mats]),
                np.concatenate([M.indices.astype(dt, copy=False) for M in mats]), indptr,
                (sum(M.shape[0] for M in mats), width))


def _lmul(L: sp.spmatrix, a: Affine, shape: tuple) -> Affine:
    """L·e for a constant sparse L."""
    L = sp.csr_matrix(L)
    return Affine(sp.csr_matrix(L @ a.A), np.asarray(L @ a.b).reshape(-1), shape)


def _sum_rows(a: Affine) -> Affine:
    """1ᵀe as one sparse row (column sums of the terms and of M, no materialisation)."""
    cols = [c for c, _ in a.terms]
    vals = [np.broadcast_to(v, c.shape) for c, v in a.terms]
    if a.M is not None:
        cols.append(a.M.indices)
        vals.append(a.M.data)
    if cols:
        ind = np.concatenate(cols) if len(cols) > 1 else cols[0]
        dat = np.concatenate(vals) if len(vals) > 1 else vals[0]
    else:
        ind, dat = np.zeros(0, np.int64), np.zeros(0)
    lo = int(ind.min()) if ind.size else 0
    span = int(ind.max()) - lo + 1 if ind.size else 0
    local = ind - lo
    keep = np.flatnonzero(np.bincount(local, minlength=span))
    row = np.bincount(local, weights=dat, minlength=span)[keep]
    A = _csr(row, keep + lo, np.array([0, keep.size]), (1, a.width))
    return Affine(A, np.array([a.b.sum()]), ())


def _size(shape: tuple) -> int:
    return math.prod(int(d) for d in shape)


def _index_grid(shape: tuple) -> np.ndarray:
    """Flat (column-major, as cvxpy stores values) positions arranged in the shape."""
    return np.arange(_size(shape), dtype=np.int64).reshape(shape, order="F")


def _broadcast_src(shape: tuple, out_shape: tuple) -> np.ndarray:
    """Source positions of np.broadcast_to(e, out_shape), flattened column-major."""
    if tuple(shape) == tuple(out_shape):
        return np.arange(_size(shape), dtype=np.int64)
    return np.broadcast_to(_index_grid(shape), out_shape).reshape(-1, order="F")


# ============================================================================ node functions
Fn = Callable[..., np.ndarray]


def _logistic_d1(u):
    return special.expit(u)


def _logistic_d2(u):
    s = special.expit(u)
    return s * (1.0 - s)


_SQRT2PI = np.sqrt(2.0 * np.pi)

#: name → (φ, φ′, φ″)
UNARY: dict[str, tuple[Fn, Fn, Fn]] = {
    "exp": (np.exp, np.exp, np.exp),
    "log": (np.log, lambda u: 1.0 / u, lambda u: -1.0 / u ** 2),
    "sin": (np.sin, np.cos, lambda u: -np.sin(u)),
    "cos": (np.cos, lambda u: -np.sin(u), lambda u: -np.cos(u)),
    "tan": (np.tan, lambda u: 1.0 + np.tan(u) ** 2,
            lambda u: 2.0 * np.tan(u) * (1.0 + np.tan(u) ** 2)),
    "sinh": (np.sinh, np.cosh, np.sinh),
    "tanh": (np.tanh, lambda u: 1.0 - np.tanh(u) ** 2,
             lambda u: -2.0 * np.tanh(u) * (1.0 - np.tanh(u) ** 2)),
    "asinh": (np.arcsinh, lambda u: 1.0 / np.sqrt(1.0 + u * u),
              lambda u: -u / (1.0 + u * u) ** 1.5),
    "atanh": (np.arctanh, lambda u: 1.0 / (1.0 - u * u),
              lambda u: 2.0 * u / (1.0 - u * u) ** 2),
    "logistic": (lambda u: np.logaddexp(0.0, u), _logistic_d1, _logistic_d2),
    "normcdf": (special.ndtr, lambda u: np.exp(-0.5 * u * u) / _SQRT2PI,
                lambda u: -u * np.exp(-0.5 * u * u) / _SQRT2PI),
    "entr": (lambda u: -special.xlogy(u, u), lambda u: -np.log(u) - 1.0, lambda u: -1.0 / u),
}


def _power_fns(p: float) -> tuple[Fn, Fn, Fn]:
    """u^p, p u^(p−1), p(p−1) u^(p−2)."""
    if p == 2.0:
        return (lambda u: u * u, lambda u: 2.0 * u, lambda u: np.full_like(u, 2.0))
    return (lambda u: np.power(u, p), lambda u: p * np.power(u, p - 1.0),
            lambda u: p * (p - 1.0) * np.power(u, p - 2.0))


#: name → (ψ, (ψ_u, ψ_v), (ψ_uu, ψ_uv, ψ_vv) with None for an identically zero entry)
BINARY: dict[str, tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]] = {
    "mul": (lambda u, v: u * v, lambda u, v: (v, u),
            lambda u, v: (None, np.ones_like(u), None)),
    "div": (lambda u, v: u / v, lambda u, v: (1.0 / v, -u / v ** 2),
            lambda u, v: (None, -1.0 / v ** 2, 2.0 * u / v ** 3)),
    "rel_entr": (lambda u, v: special.rel_entr(u, v), lambda u, v: (np.log(u / v) + 1.0, -u / v),
                 lambda u, v: (1.0 / u, -1.0 / v, u / v ** 2)),
}


@dataclass
class _Node:
    """wₖ = φ(u) or ψ(u, v), stored in z[start:start + size]."""

    op: str
    args: list  # list[Affine], A widened to ``start`` columns
    start: int
    size: int
    fns: tuple
    key: tuple = field(default=())  # nodes with equal keys compute the same function

    @property
    def stop(self) -> int:
        return self.start + self.size


# ============================================================================ lowering
def _atom_tables():
    """cvxpy classes → how the lowering treats them (imported lazily)."""
    from cvxpy.atoms.affine import (add_expr, binary_operators as bo, broadcast_to, concatenate,
                                    diag, hstack, index, promote, reshape, sum as sum_, transpose,
                                    unary_operators, upper_tri, vstack)
    from cvxpy.atoms.elementwise import (entr, exp, hyperbolic, kl_div, log, logistic, normcdf,
                                         power, rel_entr, trig)
    from cvxpy.atoms.quad_form import QuadForm
    from cvxpy.atoms.quad_over_lin import quad_over_lin

    unary = {exp.exp: "exp", log.log: "log", trig.sin: "sin", trig.cos: "cos", trig.tan: "tan",
             hyperbolic.sinh: "sinh", hyperbolic.tanh: "tanh", hyperbolic.asinh: "asinh",
             hyperbolic.atanh: "atanh", logistic.logistic: "logistic",
             normcdf.normcdf: "normcdf", entr.entr: "entr"}
    gathers: tuple = (index.index, index.special_index, reshape.reshape, transpose.transpose,
               promote.Promote, broadcast_to.broadcast_to, hstack.Hstack, vstack.Vstack,
               concatenate.Concatenate, diag.diag_vec, diag.diag_mat, upper_tri.upper_tri)
    try:
        from cvxpy.atoms.affine.squeeze import squeeze
        gathers = gathers + (squeeze,)
    except ImportError:  # pragma: no cover - older cvxpy
        pass
    return dict(unary=unary, gathers=gathers, index=index.index, add=add_expr.AddExpression,
                neg=unary_operators.NegExpression, multiply=bo.multiply,
                matmul=bo.MulExpression, div=bo.DivExpression, sum=sum_.Sum,
                power=(power.Power, power.PowerApprox), quad_over_lin=quad_over_lin,
                quad_form=QuadForm, rel_entr=rel_entr.rel_entr, kl_div=kl_div.kl_div)


class Lowering:
    """Lowers cvxpy expressions to affine forms over z = (x, node outputs), creating nodes."""

    def __init__(self, var_offsets: dict, n: int):
        from cvxpy.expressions.variable import Variable

        self._Variable = Variable
        self.T = _atom_tables()
        self.var_offsets = var_offsets
        self.n = n
        self.width = n
        self.nodes: list[_Node] = []
        self._memo: dict[int, tuple[object, Affine]] = {}
        self._const_memo: dict[int, tuple[object, bool]] = {}

    # ---------------------------------------------------------------- helpers
    def _zero_form(self, shape: tuple, value=None) -> Affine:
        size = _size(shape)
        b = np.zeros(size) if value is None else \
            np.asarray(np.broadcast_to(_dense(value), shape), float).reshape(-1, order="F")
        return Affine(None, b, tuple(shape), [], self.width)

    def _fit(self, a: Affine) -> Affine:
        return a.widened(self.width)

    def _new_node(self, op: str, args: list[Affine], fns: tuple, shape: tuple,
                  key: tuple | None = None) -> Affine:
        size = _size(shape)
        start = self.width
        node = _Node(op, [self._fit(a) for a in args], start, size, fns, key or (op,))
        self.nodes.append(node)
        self.width += size
        return _leaf(start, size, self.width, tuple(shape))

    def _add(self, a: Affine, b: Affine) -> Affine:
        return _add_forms(a, b, self.width)

    def _bcast(self, a: Affine, shape: tuple) -> Affine:
        if tuple(a.shape) == tuple(shape):
            return a
        return _gather(a, _broadcast_src(a.shape, shape), tuple(shape))

    def _sum_all(self, a: Affine) -> Affine:
        """1ᵀe: the column sums of A as one sparse row."""
        return _sum_rows(a.widened(self.width))

    def _is_const(self, expr) -> bool:
        """No variable below ``expr`` (memoised: one visit per node of the tree)."""
        key = id(expr)
        hit = self._const_memo.get(key)
        if hit is not None and hit[0] is expr:
            return hit[1]
        if isinstance(expr, self._Variable):
            out = False
        elif not expr.args:
            out = True
        else:
            out = all(self._is_const(a) for a in expr.args)
        self._const_memo[key] = (expr, out)
        return out

    # ---------------------------------------------------------------- entry point
    def lower(self, expr) -> Affine:
        """The affine form of ``expr`` over the current z (nodes are created as needed)."""
        key = id(expr)
        hit = self._memo.get(key)
        if hit is not None and hit[0] is expr:
            return self._fit(hit[1])
        out = self._lower(expr)
        if _size(out.shape) != out.size:  # pragma: no cover - internal consistency
            raise NotCovered(f"internal shape mismatch lowering {type(expr).__name__}")
        self._memo[key] = (expr, out)
        return self._fit(out)

    def _lower(self, expr) -> Affine:
        T = self.T
        shape = tuple(expr.shape)
        if isinstance(expr, self._Variable):
            if expr.is_complex():
                raise NotCovered("complex variables are not supported")
            off = self.var_offsets.get(expr.id)
            if off is None:
                raise NotCovered(f"variable {expr.name()} is not in the problem's variable map")
            return _leaf(off, _size(shape), self.width, shape)
        if self._is_const(expr):  # constants and parameters, at their current values
            val = expr.value
            if val is None:
                raise NotCovered(f"{expr} has no value (a parameter without a value?)")
            if np.iscomplexobj(val):
                raise NotCovered("complex constants are not supported")
            return self._zero_form(shape, val)
        t = type(expr)
        if t is T["add"]:
            out = None
            for arg in expr.args:
                a = self._bcast(self.lower(arg), shape)
                out = a if out is None else self._add(out, a)
            assert out is not None  # an AddExpression has arguments
            return Affine(out.M, out.b, shape, out.terms, out.width)
        if t is T["neg"]:
            a = self.lower(expr.args[0])
            out = _neg(a)
            out.shape = shape
            return out
        if t in T["gathers"]:
            return self._lower_gather(expr)
        if t is T["sum"]:
            return self._lower_sum(expr)
        if t is T["multiply"]:
            return self._lower_multiply(expr)
        if t is T["matmul"]:
            return self._lower_matmul(expr)
        if t is T["div"]:
            num, den = expr.args
            if self._is_const(den):
                a = self._bcast(self.lower(num), shape)
                d = np.broadcast_to(_dense(den.value), den.shape)
                return _scale(a, 1.0 / np.broadcast_to(d, shape).reshape(-1, order="F"))
            u = self._bcast(self.lower(num), shape)
            v = self._bcast(self.lower(den), shape)
            return self._new_node("div", [u, v], BINARY["div"], shape)
        if t in T["unary"]:
            name = T["unary"][t]
            u = self.lower(expr.args[0])
            return self._new_node(name, [self._bcast(u, shape)], UNARY[name], shape)
        if t in T["power"]:
            p = float(expr.p.value)
            u = self._bcast(self.lower(expr.args[0]), shape)
            if p == 0.0:
                return self._zero_form(shape, np.ones(shape))
            if p == 1.0:
                return u
            return self._new_node(f"power({p:g})", [u], _power_fns(p), shape, ("power", p))
        if t is T["quad_over_lin"]:
            X, y = expr.args
            a = self.lower(X)
            sq = self._new_node("power(2)", [a], _power_fns(2.0), a.shape, ("power", 2.0))
            s = self._sum_all(sq)
            if self._is_const(y):
                return _scale(s, 1.0 / float(np.asarray(y.value).reshape(-1)[0]))
            return self._new_node("div", [s, self.lower(y)], BINARY["div"], ())
        if t is T["quad_form"]:
            x, P = expr.args
            if not self._is_const(P):
                raise NotCovered("quad_form with a variable matrix")
            a = self.lower(x)
            Pv = sp.csr_matrix(_dense(P.value) if not sp.issparse(P.value) else P.value)
            Pa = _lmul(Pv, a, a.shape)
            w = self._new_node("mul", [a, Pa], BINARY["mul"], a.shape)
            return self._sum_all(w)
        if t is T["rel_entr"] or t is T["kl_div"]:
            u = self._bcast(self.lower(expr.args[0]), shape)
            v = self._bcast(self.lower(expr.args[1]), shape)
            w = self._new_node("rel_entr", [u, v], BINARY["rel_entr"], shape)
            if t is T["kl_div"]:
                w = self._add(self._add(w, _neg(u)), v)
            return w
        raise NotCovered(f"atom {t.__name__} is not compiled by optkit's smooth-affine reduction")

    # ---------------------------------------------------------------- affine atoms
    def _lower_gather(self, expr) -> Affine:
        """Atoms that only move entries: evaluate the atom on position labels."""
        args = [self.lower(a) for a in expr.args]
        if type(expr) is self.T["index"] and len(args) == 1:  # basic indexing: integer labels
            if len(args[0].shape) == 1 and len(expr.key) == 1:  # 1-D: no label array needed
                sel = range(args[0].size)[expr.key[0]]
                src = np.arange(sel.start, sel.stop, sel.step) if isinstance(sel, range) else \
                    np.array([sel])
            else:
                src = _index_grid(args[0].shape)[expr.key]
            # cvxpy's normalised keys are not always numpy's (a reversed slice stops at −1):
            # when the sizes disagree, the label evaluation below decides
            if src.size == _size(expr.shape):
                if src.ndim > 1:
                    src = np.reshape(src, expr.shape, order="F").reshape(-1, order="F")
                return _gather(args[0], src.reshape(-1), tuple(expr.shape))
        labels, offset = [], 0
        for a in args:
            labels.append((_index_grid(a.shape) + 1 + offset).astype(float))
            offset += a.size
        out = np.asarray(expr.numeric(labels), dtype=float)
        if out.size != _size(expr.shape):
            raise NotCovered(f"{type(expr).__name__}: unexpected result size")
        src = np.rint(np.reshape(out, expr.shape, order="F").reshape(-1, order="F")).astype(
            np.int64) - 1
        if len(args) == 1:
            stacked = args[0]
        else:
            stacked = Affine(_csr_vstack([_widen(a.A, self.width) for a in args], self.width),
                             np.concatenate([a.b for a in args]), (offset,))
        return _gather(stacked, src, tuple(expr.shape))

    def _lower_sum(self, expr) -> Affine:
        a = self.lower(expr.args[0])
        axis = expr.axis
        if axis is None:
            out = self._sum_all(a)
            out.shape = tuple(expr.shape)
            return out
        in_shape = a.shape
        axes = (axis,) if np.isscalar(axis) else tuple(axis)
        axes = tuple(ax % len(in_shape) for ax in axes)
        kept = tuple(1 if i in axes else d for i, d in enumerate(in_shape))
        out_pos = np.broadcast_to(_index_grid(kept), in_shape).reshape(-1, order="F")
        L = sp.csr_matrix((np.ones(a.size), (out_pos, np.arange(a.size))),
                          shape=(_size(kept), a.size))
        return _lmul(L, a, tuple(expr.shape))

    def _lower_multiply(self, expr) -> Affine:
        shape = tuple(expr.shape)
        lhs, rhs = expr.args
        if self._is_const(lhs) or self._is_const(rhs):
            const, var = (lhs, rhs) if self._is_const(lhs) else (rhs, lhs)
            a = self._bcast(self.lower(var), shape)
            c = np.broadcast_to(_dense(const.value), const.shape)
            return _scale(a, np.broadcast_to(c, shape).reshape(-1, order="F"))
        u = self._bcast(self.lower(lhs), shape)
        v = self._bcast(self.lower(rhs), shape)
        return self._new_node("mul", [u, v], BINARY["mul"], shape)

    def _lower_matmul(self, expr) -> Affine:
        lhs, rhs = expr.args
        shape = tuple(expr.shape)
        if self._is_const(lhs):
            C = _as_2d_const(lhs.value, row=True)
            a = self.lower(rhs)
            r = 1 if len(rhs.shape) < 2 else rhs.shape[1]
            L = sp.kron(sp.identity(r, format="csr"), C, format="csr") if r > 1 else C
            return _lmul(L, a, shape)
        if self._is_const(rhs):
            C = _as_2d_const(rhs.value, row=False)
            a = self.lower(lhs)
            p = 1 if len(lhs.shape) < 2 else lhs.shape[0]
            L = sp.kron(C.T, sp.identity(p, format="csr"), format="csr") if p > 1 else \
                sp.csr_matrix(C.T)
            return _lmul(L, a, shape)
        # X @ Y with both sides variable: (XY)ᵢₖ = Σⱼ Xᵢⱼ Yⱼₖ as a product node and a sum
        X, Y = self.lower(lhs), self.lower(rhs)
        xs = lhs.shape if len(lhs.shape) == 2 else (1, lhs.shape[0])
        ys = rhs.shape if len(rhs.shape) == 2 else (rhs.shape[0], 1)
        if len(xs) != 2 or len(ys) != 2:
            raise NotCovered("matmul of expressions with more than two dimensions")
        p, q = xs
        r = ys[1]
        i3, j3, k3 = np.meshgrid(np.arange(p), np.arange(q), np.arange(r), indexing="ij")
        i, j, k = i3.ravel(), j3.ravel(), k3.ravel()
        Xg = _gather(Affine(X.M, X.b, xs, X.terms, X.width), i + j * p, (i.size,))
        Yg = _gather(Affine(Y.M, Y.b, ys, Y.terms, Y.width), j + k * q, (i.size,))
        w = self._new_node("mul", [Xg, Yg], BINARY["mul"], (i.size,))
        L = sp.csr_matrix((np.ones(i.size), (i + k * p, np.arange(i.size))), shape=(p * r, i.size))
        return _lmul(L, w, shape)


def _dense(value) -> np.ndarray:
    if sp.issparse(value):
        return np.asarray(value.toarray(), float)
    return np.asarray(value, float)


def _as_2d_const(value, row: bool) -> sp.csr_matrix:
    """A constant matmul factor as a sparse 2-D matrix (a 1-D left factor is a row)."""
    if sp.issparse(value):
        return sp.csr_matrix(value, dtype=float)
    v = np.asarray(value, float)
    if v.ndim == 0:
        v = v.reshape(1, 1)
    elif v.ndim == 1:
        v = v.reshape(1, -1) if row else v.reshape(-1, 1)
    elif v.ndim > 2:
        raise NotCovered("matmul with a constant of more than two dimensions")
    return sp.csr_matrix(v)


# ============================================================================ oracles
@dataclass
class _JacPart:
    """A Jacobian with a fixed structure: data = const + Σₖ scatter(coef · Jₖ.data[src]).

    The product terms are grouped by node k: ``segments`` lists (k, lo, hi), the range of the
    term arrays that reads Jₖ.
    """

    pattern: _Pattern
    const: np.ndarray
    segments: list
    coef: np.ndarray
    src: np.ndarray
    tslot: np.ndarray
    rows: np.ndarray

    @property
    def is_const(self) -> bool:
        return self.coef.size == 0


class _Eval:
    """Cached forward values at one point."""

    __slots__ = ("x", "z", "u", "d1", "d2", "jdata")

    def __init__(self, x: np.ndarray, width: int):
        self.x = x
        self.z = np.empty(width)
        self.u: list = []
        self.d1: dict = {}
        self.d2: dict = {}
        self.jdata: dict = {}


class SmoothAffineOracles:
    """Oracles of  min f(x) s.t. c(x) (rows)  built from lowered forms (module docstring)."""

    def __init__(self, nodes: list[_Node], obj: Affine, cons: Affine, n: int, width: int):
        self.nodes = nodes
        self.n, self.m, self.width = n, cons.size, width
        self.a_f = _widen(obj.A, width)
        self.b_f = float(obj.b.reshape(-1)[0]) if obj.b.size else 0.0
        self.A_c = _widen(cons.A, width)
        self.b_c = cons.b
        self.starts = np.array([nd.start for nd in nodes], dtype=np.int64)
        self._ev: _Eval | None = None
        self._at_cache: dict = {}  # (node, arg) → (columns read or None, transposed argument)
        self._argjac: dict = {}   # (node, arg) → _JacPart
        self._nodejac: dict = {}  # node → (pattern, slots) for the node Jacobian
        self._cjac: _JacPart | None = None
        self._hess: Any = None  # (terms, pattern) once built
        self.atoms = len(nodes)  # atoms lowered before fusion (set by the builder)
        self.a_f_dense = np.bincount(self.a_f.indices, weights=self.a_f.data, minlength=width)

    # ---------------------------------------------------------------- forward values
    def _at(self, x: np.ndarray) -> _Eval:
        ev = self._ev
        if ev is not None and np.array_equal(ev.x, x):
            return ev
        x = np.array(x, dtype=float).reshape(-1)
        ev = _Eval(x, self.width)
        z = ev.z
        z[:self.n] = x
        with np.errstate(all="ignore"):
            for nd in self.nodes:
                us = [a.A @ z[:nd.start] + a.b for a in nd.args]
                ev.u.append(us)
                z[nd.start:nd.stop] = nd.fns[0](*us)
        self._ev = ev
        return ev

    def _d1(self, ev: _Eval, k: int) -> tuple:
        got = ev.d1.get(k)
        if got is None:
            nd = self.nodes[k]
            with np.errstate(all="ignore"):
                got = nd.fns[1](*ev.u[k])
            got = (got,) if len(nd.args) == 1 else tuple(got)
            got = tuple(np.broadcast_to(g, (nd.size,)) for g in got)
            ev.d1[k] = got
        return got

    def _d2(self, ev: _Eval, k: int) -> tuple:
        got = ev.d2.get(k)
        if got is None:
            nd = self.nodes[k]
            with np.errstate(all="ignore"):
                got = nd.fns[2](*ev.u[k])
            got = (got,) if len(nd.args) == 1 else tuple(got)
            got = tuple(None if g is None else np.broadcast_to(g, (nd.size,)) for g in got)
            ev.d2[k] = got
        return got

    # ---------------------------------------------------------------- value oracles
    def f(self, x: np.ndarray) -> float:
        """f(x) = a_f·z + b_f."""
        ev = self._at(x)
        return float((self.a_f @ ev.z)[0]) + self.b_f

    def cons(self, x: np.ndarray) -> np.ndarray:
        """c(x) = A_c z + b_c."""
        ev = self._at(x)
        return self.A_c @ ev.z + self.b_c

    # ---------------------------------------------------------------- reverse sweep
    def _adjoint(self, ev: _Eval, zbar: np.ndarray) -> np.ndarray:
        """Back-propagate z̄ through the nodes (in place); returns z̄."""
        for k in range(len(self.nodes) - 1, -1, -1):
            nd = self.nodes[k]
            wbar = zbar[nd.start:nd.stop]
            if not wbar.any():
                continue
            for i, d in enumerate(self._d1(ev, k)):
                cols, AT = self._transpose(k, i)
                if cols is None:
                    zbar[:nd.start] += AT @ (wbar * d)
                else:
                    zbar[cols] += AT @ (wbar * d)
        return zbar

    def _transpose(self, k: int, i: int) -> tuple[np.ndarray | None, sp.csr_matrix]:
        """A_uᵀ of node k's argument i, restricted to the columns it reads when those are few
        (so a sweep costs the arguments' nonzeros, not K times the length of z)."""
        got = self._at_cache.get((k, i))
        if got is None:
            A = self.nodes[k].args[i].A
            if 8 * A.nnz < A.shape[1]:
                cols, local = np.unique(A.indices, return_inverse=True)
                L = _csr(A.data, local.reshape(-1), A.indptr, (A.shape[0], cols.size))
                got = (cols, sp.csr_matrix(L.T))
            else:
                got = (None, sp.csr_matrix(A.T))
            self._at_cache[(k, i)] = got
        return got

    def grad(self, x: np.ndarray) -> np.ndarray:
        """∇f(x) by one reverse sweep."""
        ev = self._at(x)
        return self._adjoint(ev, self.a_f_dense.copy())[:self.n].copy()

    # ---------------------------------------------------------------- Jacobians
    def _combo(self, A: sp.csr_matrix) -> _JacPart:
        """Structure and scatter plan of A[:, x] + Σₖ A[:, wₖ] Jₖ."""
        n = self.n
        A = sp.csr_matrix(A)
        Ax = A[:, :n] if A.shape[1] > n else A
        C = Ax.tocoo()
        rows = [C.row]
        cols = [C.col]
        coefs, srcs, segments, pos = [], [], [], 0
        if A.shape[1] > n and A[:, n:].nnz:
            used = np.unique(np.searchsorted(self.starts, A.indices[A.indices >= n],
                                             side="right") - 1)
            for k in used:
                nd = self.nodes[k]
                Lk = A[:, nd.start:nd.stop]
                pat = self._node_jacobian(int(k))
                r, c, co, s = _product_entries(sp.csr_matrix(Lk), pat.indptr, pat.indices)
                rows.append(r)
                cols.append(c)
                coefs.append(co)
                srcs.append(s)
                segments.append((int(k), pos, pos + s.size))
                pos += s.size
        nconst = rows[0].size
        pattern = _Pattern.from_entries(np.concatenate(rows), np.concatenate(cols),
                                        (A.shape[0], n))
        slot = np.arange(pattern.nnz) if pattern.slot is None else pattern.slot
        const = np.bincount(slot[:nconst], weights=C.data, minlength=pattern.nnz)
        cat = (lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dt))  # noqa: E731
        return _JacPart(pattern, const, segments, cat(coefs, float), cat(srcs, IDX),
                        slot[nconst:], pattern.rows())

    def _combo_data(self, ev: _Eval, part: _JacPart) -> np.ndarray:
        if part.is_const:
            return part.const
        w = np.empty(part.coef.size)
        for k, lo, hi in part.segments:
            w[lo:hi] = part.coef[lo:hi] * self._node_jac_data(ev, k)[part.src[lo:hi]]
        return part.const + np.bincount(part.tslot, weights=w, minlength=part.pattern.nnz)

    def _arg_part(self, k: int, i: int) -> _JacPart:
        key = (k, i)
        part = self._argjac.get(key)
        if part is None:
            part = self._combo(self.nodes[k].args[i].A)
            self._argjac[key] = part
        return part

    def _node_jacobian(self, k: int) -> _Pattern:
        """Structure of Jₖ (the union of its arguments' structures)."""
        got = self._nodejac.get(k)
        if got is None:
            parts = [self._arg_part(k, i) for i in range(len(self.nodes[k].args))]
            if len(parts) == 1:
                got = parts[0].pattern
            else:
                P, Q = parts[0].pattern, parts[1].pattern
                got = _Pattern.from_entries(np.concatenate([P.rows(), Q.rows()]),
                                            np.concatenate([P.indices, Q.indices]),
                                            (self.nodes[k].size, self.n))
            self._nodejac[k] = got
        return got

    def _node_jac_data(self, ev: _Eval, k: int) -> np.ndarray:
        got = ev.jdata.get(k)
        if got is None:
            pat = self._node_jacobian(k)
            d1 = self._d1(ev, k)
            vals = [d[self._arg_part(k, i).rows] * self._combo_data(ev, self._arg_part(k, i))
                    for i, d in enumerate(d1)]
            got = vals[0] if len(vals) == 1 else pat.scatter(np.concatenate(vals))
            ev.jdata[k] = got
        return got

    def _cons_part(self) -> _JacPart:
        if self._cjac is None:
            self._cjac = self._combo(self.A_c)
        return self._cjac

    def jac_structure(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) of the constraint Jacobian's structure, in value order."""
        pat = self._cons_part().pattern
        return pat.rows(), pat.indices.copy()

    def jac_values(self, x: np.ndarray) -> np.ndarray:
        """Values of ∇c(x) on :meth:`jac_structure`."""
        return self._combo_data(self._at(x), self._cons_part())

    def jac(self, x: np.ndarray) -> sp.csr_matrix:
        """∇c(x), m×n CSR with a fixed structure (structural zeros kept)."""
        part = self._cons_part()
        return part.pattern.matrix(np.array(self.jac_values(x), dtype=float))

    # ---------------------------------------------------------------- Hessian
    def _hessian_plan(self):
        """Pair lists of every second-order term and the Hessian structure (built once)."""
        if self._hess is not None:
            return self._hess
        n = self.n
        terms = []  # (node, which second derivative, arg a, arg b, R, p, q, mirror)
        keys_r, keys_c = [], []
        for k, nd in enumerate(self.nodes):
            nargs = len(nd.args)
            # which second derivatives are structurally nonzero: evaluate on a probe
            probe = [np.full(nd.size, 0.7) for _ in range(nargs)]
            with np.errstate(all="ignore"):
                d2 = nd.fns[2](*probe)
            d2 = (d2,) if nargs == 1 else d2
            combos = [(0, 0, 0)] if nargs == 1 else [(0, 0, 0), (1, 0, 1), (2, 1, 1)]
            for which, ia, ib in combos:
                if d2[which] is None:
                    continue
                Pa, Pb = self._arg_part(k, ia).pattern, self._arg_part(k, ib).pattern
                R, p, q = _row_pairs((Pa.indptr, Pa.indices), (Pb.indptr, Pb.indices))
                mirror = ia != ib
                ca, cb = Pa.indices[p], Pb.indices[q]
                keys_r.append(ca)
                keys_c.append(cb)
                if mirror:
                    keys_r.append(cb)
                    keys_c.append(ca)
                terms.append((k, which, ia, ib, R, p, q, mirror))
        if keys_r:
            pattern = _Pattern.from_entries(np.concatenate(keys_r), np.concatenate(keys_c), (n, n))
        else:
            pattern = _Pattern(np.zeros(n + 1, IDX), np.zeros(0, IDX), (n, n), None)
        self._hess = (terms, pattern)
        return self._hess

    def hess_values(self, x: np.ndarray, y: np.ndarray, obj_factor: float = 1.0) -> np.ndarray:
        """Values of ∇²ₓ(σf + yᵀc) on the full (both triangles) Hessian structure."""
        terms, pattern = self._hessian_plan()
        ev = self._at(x)
        zbar = float(obj_factor) * self.a_f_dense
        if self.m:
            zbar = zbar + self.A_c.T @ np.asarray(y, float)
        zbar = self._adjoint(ev, np.array(zbar, dtype=float))
        vals = []
        for k, which, ia, ib, R, p, q, mirror in terms:
            nd = self.nodes[k]
            wbar = zbar[nd.start:nd.stop]
            d = wbar * self._d2(ev, k)[which]
            da = self._combo_data(ev, self._arg_part(k, ia))
            db = da if ia == ib else self._combo_data(ev, self._arg_part(k, ib))
            v = da[p] * db[q] * d[R]
            vals.append(v)
            if mirror:
                vals.append(v)
        if not vals:
            return np.zeros(0)
        return pattern.scatter(np.concatenate(vals))

    def hess(self, x: np.ndarray, y: np.ndarray, obj_factor: float = 1.0) -> sp.csr_matrix:
        """∇²ₓ(σf + yᵀc), n×n symmetric CSR with a fixed structure."""
        _, pattern = self._hessian_plan()
        return pattern.matrix(np.array(self.hess_values(x, y, obj_factor), dtype=float))

    def hess_structure(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) of the lower triangle of the Hessian structure."""
        _, pattern = self._hessian_plan()
        r, c = pattern.rows(), pattern.indices
        keep = r >= c
        return r[keep], c[keep].copy()

    def hess_lower_values(self, x: np.ndarray, y: np.ndarray, obj_factor: float = 1.0
                          ) -> np.ndarray:
        """Values of ∇²ₓ(σf + yᵀc) on :meth:`hess_structure` (lower triangle)."""
        _, pattern = self._hessian_plan()
        v = self.hess_values(x, y, obj_factor)
        return v[pattern.rows() >= pattern.indices]

    # ---------------------------------------------------------------- description
    def summary(self) -> dict:
        """Counts for ``compiled.extra``."""
        return {"nodes": len(self.nodes), "atoms": getattr(self, "atoms", len(self.nodes)),
                "extended_dim": self.width, "ops": sorted({nd.op for nd in self.nodes})}


def lower_problem(problem, var_offsets: dict, n: int) -> SmoothAffineOracles:
    """Lower the smooth problem at the end of cvxpy's NLP chain (objective and lowered rows).

    Rows are the constraints' expressions in order (``Zero(lhs − rhs)``, ``NonNeg(rhs − lhs)``),
    each flattened column-major, as cvxpy's engine orders them.
    """
    low = Lowering(var_offsets, n)
    obj = low.lower(problem.objective.expr)
    if obj.size != 1:
        raise NotCovered("the objective is not a scalar")
    rows = [low.lower(con.expr) for con in problem.constraints]
    width = low.width
    if rows:
        A = _csr_vstack([_widen(r.A, width) for r in rows], width)
        cons = Affine(A, np.concatenate([r.b for r in rows]), (A.shape[0],))
    else:
        cons = Affine(sp.csr_matrix((0, width)), np.zeros(0), (0,))
    obj = Affine(_widen(obj.A, width), obj.b, ())
    atoms = len(low.nodes)
    nodes, perm = _fuse(low.nodes, n, width)
    if perm is not None:
        obj = Affine(_remap(obj.A, perm, width), obj.b, ())
        cons = Affine(_remap(cons.A, perm, width), cons.b, cons.shape)
    oracles = SmoothAffineOracles(nodes, obj, cons, n, width)
    oracles.atoms = atoms
    return oracles


def _remap(A: sp.csr_matrix, perm: np.ndarray, width: int) -> sp.csr_matrix:
    """A with its columns renumbered: column j moves to perm[j]."""
    return _csr(A.data, perm[A.indices], A.indptr, (A.shape[0], width))


def _fuse(nodes: list[_Node], n: int, width: int) -> tuple[list[_Node], np.ndarray | None]:
    """Batch nodes that compute the same function and do not depend on one another.

    A node's depth is 0 when its arguments read x only, else 1 + the largest depth among the
    nodes they read. Nodes with equal (depth, function) become one node: their outputs get
    adjacent columns of z (a renumbering ``perm`` of z's node columns, applied to every matrix),
    and their arguments are stacked. A model written with a Python loop over scalars thus costs
    as many node evaluations per oracle call as its vectorised twin.
    """
    K = len(nodes)
    if K <= 1:
        return nodes, None
    starts = np.array([nd.start for nd in nodes], dtype=np.int64)
    depth = np.zeros(K, dtype=np.int64)
    for k, nd in enumerate(nodes):
        d = 0
        for a in nd.args:
            ind = a.A.indices
            ind = ind[ind >= n]
            if ind.size:
                refs = np.searchsorted(starts, ind, side="right") - 1
                d = max(d, int(depth[refs].max()) + 1)
        depth[k] = d
    groups: dict = {}
    for k, nd in enumerate(nodes):
        groups.setdefault((int(depth[k]), nd.key, len(nd.args)), []).append(k)
    if len(groups) == K:
        return nodes, None
    order = sorted(groups.values(), key=lambda ks: (int(depth[ks[0]]), ks[0]))
    perm = np.arange(width, dtype=np.int64)
    pos = n
    layout = []
    for ks in order:
        start = pos
        for k in ks:
            nd = nodes[k]
            perm[nd.start:nd.stop] = np.arange(pos, pos + nd.size)
            pos += nd.size
        layout.append((ks, start, pos - start))
    fused = []
    for ks, start, size in layout:
        first = nodes[ks[0]]
        args = []
        for i in range(len(first.args)):
            mats = [_widen(_remap(nodes[k].args[i].A, perm, width), width) for k in ks]
            A = _csr_vstack(mats, width) if len(mats) > 1 else mats[0]
            A = _csr(A.data, A.indices, A.indptr, (A.shape[0], start))
            b = np.concatenate([nodes[k].args[i].b for k in ks])
            args.append(Affine(A, b, (size,)))
        fused.append(_Node(first.op, args, start, size, first.fns, first.key))
    return fused, perm
