"""LinearForm: LP, convex QP and MILP data in one shape.

    minimize  cᵀx + ½ xᵀQx + c0   subject to  rl <= A x <= ru,  lb <= x <= ub,  x_j ∈ Z for j ∈ I.

Q is symmetric (both triangles stored) or None; A is CSR m×n. **One rule for Q:** the objective
½xᵀQx depends only on the symmetric part of Q, so a Q given non-symmetric (say one triangle, as
some file formats and solvers store it) is replaced by (Q + Qᵀ)/2 before anything reads it — every
backend and optkit's own KKT measurement then see the same, value-preserving data. (HiGHS reads
one triangle of its Hessian: a triangle passed as is would silently mean a different problem.)
Row duals follow the Lagrangian L = cᵀx + ½xᵀQx + yᵀ(Ax) + zᵀx: at a minimiser c + Qx + Aᵀy + z = 0,
with y_i ≥ 0 on an active upper row bound and ≤ 0 on an active lower one (z likewise for columns).
``sense`` is +1 for a model given as minimisation and −1 for one given as maximisation; the data
here are always of the minimisation, and results are reported back in user units.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..errors import DataError, InvalidProblemError
from .nlp_form import NLPForm, as_vector, check_bounds

#: the largest |coefficient| of c, A or Q accepted: beyond it (where solvers read "infinity",
#: 1e20 in HiGHS and IPOPT) a coefficient is a data error, refused by name (DataError)
COEFFICIENT_LIMIT = 1e20


def _dense_to_csr(A: np.ndarray) -> sp.csr_matrix:
    """CSR of a dense matrix in one constructor call (no COO detour); NaN entries are kept."""
    A = np.asarray(A, dtype=float)
    mask = A != 0  # NaN != 0 is True, so NaNs survive for validation to find
    indptr = np.concatenate(([0], np.cumsum(mask.sum(axis=1))))
    return sp.csr_matrix((A[mask], np.nonzero(mask)[1], indptr), shape=A.shape)


def transpose_matvec(A: sp.csr_matrix, y: np.ndarray) -> np.ndarray:
    """Aᵀy for CSR A without building Aᵀ (one bincount over the stored entries)."""
    rows = np.repeat(y, np.diff(A.indptr))
    return np.bincount(A.indices, weights=A.data * rows, minlength=A.shape[1])


def symmetrized(Q: sp.csr_matrix) -> sp.csr_matrix:
    """Q itself when symmetric, else (Q + Qᵀ)/2 (O(nnz); the value of ½xᵀQx is unchanged)."""
    QT = Q.T.tocsr()
    diff = Q - QT
    if diff.nnz == 0 or not np.any(diff.data):
        return Q
    out = ((Q + QT) * 0.5).tocsr()
    out.eliminate_zeros()
    return out


def _first_nan(values: np.ndarray) -> int | None:
    bad = np.flatnonzero(np.isnan(values))
    return int(bad[0]) if bad.size else None


@dataclass
class LinearForm:
    """Compiled LP/QP/MILP (see module docstring)."""

    c: np.ndarray
    A: sp.csr_matrix
    rl: np.ndarray
    ru: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    Q: sp.csr_matrix | None = None
    c0: float = 0.0
    integrality: np.ndarray = None  # type: ignore[assignment]  # None: all continuous (__post_init__)
    sense: int = 1
    name: str = "linear"
    col_names: list[str] | None = None
    row_names: list[str] | None = None
    source: str | None = None
    x0: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.c = np.asarray(self.c, dtype=float).reshape(-1)
        n = self.c.size
        if self.A is None:
            self.A = sp.csr_matrix((0, n))
        elif isinstance(self.A, np.ndarray) and self.A.ndim == 2:
            self.A = _dense_to_csr(self.A)
        elif not (sp.isspmatrix_csr(self.A) and self.A.dtype == np.float64):
            self.A = sp.csr_matrix(self.A, dtype=float)
        if self.A.shape[1] != n:
            raise InvalidProblemError(f"{self._where()}A has {self.A.shape[1]} columns but c has {n} entries")
        m = self.A.shape[0]
        self.rl = as_vector(self.rl, m, "row lower bounds", -np.inf)
        self.ru = as_vector(self.ru, m, "row upper bounds", np.inf)
        self.lb = as_vector(self.lb, n, "column lower bounds", -np.inf)
        self.ub = as_vector(self.ub, n, "column upper bounds", np.inf)
        if self.Q is not None:
            self.Q = sp.csr_matrix(self.Q, dtype=float)
            if self.Q.shape != (n, n):
                raise InvalidProblemError(f"{self._where()}Q has shape {self.Q.shape}, expected ({n}, {n})")
            if self.Q.nnz == 0:
                self.Q = None
            else:
                self.Q = symmetrized(self.Q)
        if self.integrality is None:
            self.integrality = np.zeros(n, dtype=bool)
        self.integrality = np.asarray(self.integrality, dtype=bool).reshape(-1)
        if self.integrality.size != n:
            raise InvalidProblemError(f"{self._where()}integrality has {self.integrality.size} entries, expected {n}")
        self.validate()

    # ------------------------------------------------------------------ checks
    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""

    def _col(self, j: int) -> str:
        return f"column {self.col_names[j]!r} (index {j})" if self.col_names else f"column index {j}"

    def _row(self, i: int) -> str:
        return f"row {self.row_names[i]!r} (index {i})" if self.row_names else f"row index {i}"

    def validate(self) -> None:
        """Reject NaN anywhere, ±inf where a finite number is required and a coefficient of c, A
        or Q with |a| > :data:`COEFFICIENT_LIMIT` (out of range), naming the entry."""
        src = self.source
        lim = COEFFICIENT_LIMIT
        finite_data = (bool(np.all(np.abs(self.c) <= lim)) and np.isfinite(self.c0)
                       and bool(np.all(np.abs(self.A.data) <= lim))
                       and (self.Q is None or bool(np.all(np.abs(self.Q.data) <= lim))))
        if finite_data and not (np.isnan(self.rl).any() or np.isnan(self.ru).any()
                                or np.isnan(self.lb).any() or np.isnan(self.ub).any()
                                or (self.rl == np.inf).any() or (self.ru == -np.inf).any()
                                or (self.lb == np.inf).any() or (self.ub == -np.inf).any()):
            return  # the common case: nothing to locate
        j = _first_nan(self.c)
        if j is not None or not np.all(np.isfinite(self.c)):
            j = j if j is not None else int(np.flatnonzero(~np.isfinite(self.c))[0])
            raise DataError(f"objective coefficient of {self._col(j)} is {self.c[j]}", src,
                            f"objective[{j}]")
        if not np.isfinite(self.c0):
            raise DataError(f"objective constant is {self.c0}", src, "objective constant")
        A = self.A.tocoo()
        bad = np.flatnonzero(~np.isfinite(A.data))
        if bad.size:
            i, j = int(A.row[bad[0]]), int(A.col[bad[0]])
            raise DataError(f"constraint matrix entry at {self._row(i)}, {self._col(j)} is "
                            f"{A.data[bad[0]]}", src, f"A[{i},{j}]")
        if self.Q is not None:
            Q = self.Q.tocoo()
            bad = np.flatnonzero(~np.isfinite(Q.data))
            if bad.size:
                i, j = int(Q.row[bad[0]]), int(Q.col[bad[0]])
                raise DataError(f"quadratic objective entry Q[{i},{j}] is {Q.data[bad[0]]}", src,
                                f"Q[{i},{j}]")
        self._refuse_out_of_range()
        for arr, what, name in ((self.rl, "lower", self._row), (self.ru, "upper", self._row),
                                (self.lb, "lower", self._col), (self.ub, "upper", self._col)):
            k = _first_nan(arr)
            if k is not None:
                raise DataError(f"{what} bound of {name(k)} is NaN", src, f"{what} bound {k}")
        for lo, hi, name in ((self.rl, self.ru, self._row), (self.lb, self.ub, self._col)):
            bad = np.flatnonzero((lo == np.inf) | (hi == -np.inf))
            if bad.size:
                k = int(bad[0])
                raise DataError(f"bounds of {name(k)} are [{lo[k]}, {hi[k]}]: an infinite bound "
                                f"on the wrong side", src, f"bound {k}")
        try:
            check_bounds(self.rl, self.ru, "row")
            check_bounds(self.lb, self.ub, "column")
        except InvalidProblemError as exc:
            # crossed bounds are a legitimate (infeasible) model, not bad data: keep them
            if "NaN" in str(exc):
                raise

    def _refuse_out_of_range(self) -> None:
        """DataError naming the first finite coefficient with |a| > COEFFICIENT_LIMIT."""
        src, lim = self.source, COEFFICIENT_LIMIT
        note = (f"is out of range (|a| > {lim:g}, where solvers read infinity; rescale the "
                f"model)")
        big = np.flatnonzero(np.abs(self.c) > lim)
        if big.size:
            j = int(big[0])
            raise DataError(f"objective coefficient of {self._col(j)} = {self.c[j]:g} {note}",
                            src, f"objective[{j}]")
        for M, key in ((self.A, "A"), (self.Q, "Q")):
            if M is None:
                continue
            M = M.tocoo()
            big = np.flatnonzero(np.abs(M.data) > lim)
            if big.size:
                i, j = int(M.row[big[0]]), int(M.col[big[0]])
                where = (f"constraint matrix entry at {self._row(i)}, {self._col(j)}" if key == "A"
                         else f"quadratic objective entry Q[{i},{j}]")
                raise DataError(f"{where} = {M.data[big[0]]:g} {note}", src, f"{key}[{i},{j}]")

    # ------------------------------------------------------------------ properties
    @property
    def n(self) -> int:
        """Number of columns (variables)."""
        return self.c.size

    @property
    def m(self) -> int:
        """Number of rows (constraints)."""
        return self.A.shape[0]

    @property
    def is_mip(self) -> bool:
        """True when some column is integer."""
        return bool(self.integrality.any())

    @property
    def is_qp(self) -> bool:
        """True when the objective has a quadratic part."""
        return self.Q is not None

    @property
    def problem_class(self) -> str:
        """One of lp, qp, milp, miqp."""
        return ("mi" if self.is_mip else "") + ("qp" if self.is_qp else "lp")

    def objective(self, x: np.ndarray) -> float:
        """cᵀx + ½xᵀQx + c0 (minimisation units)."""
        val = float(self.c @ x) + self.c0
        if self.Q is not None:
            val += 0.5 * float(x @ (self.Q @ x))
        return val

    def objective_gradient(self, x: np.ndarray) -> np.ndarray:
        """c + Qx."""
        return self.c + (self.Q @ x if self.Q is not None else 0.0)

    def to_nlp_form(self) -> NLPForm:
        """The same problem as an NLPForm (integrality dropped: callers must check ``is_mip``)."""
        Q = self.Q if self.Q is not None else sp.csr_matrix((self.n, self.n))
        A = self.A
        zero_h = sp.csr_matrix((self.n, self.n))

        def hess(x: np.ndarray, y: np.ndarray, s: float = 1.0) -> sp.spmatrix:
            return (s * Q) if self.Q is not None else zero_h

        x0 = self.x0 if self.x0 is not None else np.clip(np.zeros(self.n), self.lb, self.ub)
        return NLPForm(
            n=self.n, m=self.m, x0=x0,
            f_fn=self.objective,
            grad_fn=self.objective_gradient,
            cons_fn=lambda x: A @ x,
            jac_fn=lambda x: A,
            hess_fn=hess,
            lb=self.lb, ub=self.ub, cl=self.rl, cu=self.ru, name=self.name,
        )
