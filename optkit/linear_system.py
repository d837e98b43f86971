"""Linear systems as a problem type: ``ok.LinearSystem(A, b)`` — find x with A x = b.

A is square (n × n), sparse (any scipy.sparse format) or dense, symmetric positive definite or
general; b has n entries. The data are checked once, here, and refused by name:

- a non-finite entry of A (``A[i, j]``) or of b (``b[i]``) raises :class:`DataError`;
- a structurally singular A raises :class:`DataError`: a zero row i (equation i reads 0 = bᵢ), a
  zero column j (xⱼ appears nowhere), or a structural rank below n (maximum bipartite matching
  of the pattern, :func:`scipy.sparse.csgraph.structural_rank`), so that no backend is handed a
  matrix that no choice of values could make invertible.

Backends of the kind ``linear-system`` (see :class:`LinearSystemBackend`) take a
:class:`LinearSystemForm` and return a :class:`~optkit.raw.RawSolution` with ``x`` and the
iteration count; optkit measures the answer itself (:meth:`LinearSystemForm.residuals`, called by
:func:`optkit.finish.measure`): the relative residual

    residual_rel = ‖b − A x‖₂ / max(‖b‖₂, tiny)      (‖b‖ = 0: the absolute ‖A x‖₂)

which is reported as ``feasibility_rel`` and judged against ``feas_tol`` (default
max(1e-6, 10·tol), :mod:`optkit.verify`). A claim of convergence (OPTIMAL) is ``verified`` only
when that measurement agrees.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from .backend import Backend
from .errors import DataError, InvalidProblemError, UnsupportedProblemError
from .modeling.base import Direct, Model
from .results import Result

KIND = "linear-system"


@dataclass
class LinearSystemForm:
    """The compiled system A x = b: A as CSR (sorted indices, explicit zeros removed), b float.

    Cached views the iterative kernels share: ``diagonal`` (aᵢᵢ), ``is_symmetric`` (A = Aᵀ to
    1e-12 relative to max|aᵢⱼ|), ``lower``/``upper`` (strict triangles L, U with A = L + D + U).
    """

    A: sp.csr_matrix
    b: np.ndarray
    name: str = "linear-system"
    meta: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of unknowns (and equations)."""
        return int(self.A.shape[0])

    @property
    def m(self) -> int:
        """Number of rows (= n; the form has no separate constraint rows)."""
        return int(self.A.shape[0])

    @cached_property
    def diagonal(self) -> np.ndarray:
        """The diagonal entries aᵢᵢ."""
        return np.asarray(self.A.diagonal(), dtype=float)

    @cached_property
    def asymmetry(self) -> tuple[float, tuple[int, int]]:
        """(max |aᵢⱼ − aⱼᵢ| / max|A|, the (i, j) where it occurs)."""
        diff = (self.A - self.A.T).tocoo()
        if diff.nnz == 0:
            return 0.0, (-1, -1)
        k = int(np.argmax(np.abs(diff.data)))
        scale = float(np.max(np.abs(self.A.data))) if self.A.nnz else 1.0
        return float(abs(diff.data[k])) / scale, (int(diff.row[k]), int(diff.col[k]))

    @property
    def is_symmetric(self) -> bool:
        """A = Aᵀ up to 1e-12 relative to the largest entry."""
        return self.asymmetry[0] <= 1e-12

    @cached_property
    def lower(self) -> sp.csr_matrix:
        """The strict lower triangle L."""
        return sp.tril(self.A, k=-1, format="csr")

    @cached_property
    def upper(self) -> sp.csr_matrix:
        """The strict upper triangle U."""
        return sp.triu(self.A, k=1, format="csr")

    def residuals(self, x: np.ndarray) -> dict:
        """optkit's measurement of a returned x: ``residual_rel`` = ‖b − Ax‖₂/‖b‖₂ (also given as
        ``feasibility_rel``, the quantity the verdict judges), ``residual`` = ‖b − Ax‖₂,
        ``residual_inf`` = ‖b − Ax‖∞ and ``worst`` (the row with the largest |b − Ax|ᵢ)."""
        r = self.b - self.A @ x
        rn = float(np.linalg.norm(r))
        bn = float(np.linalg.norm(self.b))
        rel = rn / bn if bn > 0 else rn
        k = int(np.argmax(np.abs(r))) if r.size else -1
        return {"residual_rel": rel, "feasibility_rel": rel, "residual": rn,
                "residual_inf": float(np.max(np.abs(r))) if r.size else 0.0,
                "worst": f"row {k} of A x = b" if k >= 0 else ""}


class LinearSystem(Model):
    """The problem A x = b (see module docstring for the checks made here).

    ``LinearSystem(A, b, name=None, check_rank=True)``: ``check_rank=False`` skips the
    structural-rank test (zero rows and columns are still refused) when a caller builds many
    systems with one known pattern.
    """

    problem_class: str = KIND
    kinds: frozenset[str] = frozenset({KIND})

    def __init__(self, A: Any, b: Any, name: str | None = None, check_rank: bool = True):
        self.name = name or "linear-system"
        self.form = LinearSystemForm(_as_csr(A), _as_rhs(b), name=self.name)
        _check(self.form, check_rank)

    @property
    def A(self) -> sp.csr_matrix:
        """The matrix (CSR)."""
        return self.form.A

    @property
    def b(self) -> np.ndarray:
        """The right-hand side."""
        return self.form.b

    @property
    def n(self) -> int:
        """Number of unknowns."""
        return self.form.n

    def compile(self, kind: str, x0: Any = None) -> Direct:
        """The form itself (a linear system has nothing to translate)."""
        return Direct(self.form)

    def bind(self, result: Result, compiled) -> Result:
        """Nothing to map back: ``x`` is the solution vector, there is no objective."""
        return result

    def __repr__(self) -> str:
        return f"LinearSystem(n={self.n}, nnz={self.form.A.nnz}, name={self.name!r})"


class LinearSystemBackend(Backend):
    """Base of the backends that solve A x = b (kind ``linear-system``).

    A subclass implements :meth:`solve_system` (form, options) → RawSolution and may refuse a
    form (:meth:`Backend.refuse`). ``tol`` is the relative residual ‖b − Ax‖/‖b‖ to reach,
    ``max_iter`` the iteration budget, ``x0`` the start.
    """

    accepts: ClassVar[frozenset[str]] = frozenset({KIND})
    default_tol: ClassVar[float | None] = 1e-8

    def form_for(self, model) -> str:
        """Always the system form."""
        return "system"

    def solve_system(self, form: LinearSystemForm, options) -> Any:  # pragma: no cover
        """Solve A x = b; return a RawSolution (x, status, iterations)."""
        raise NotImplementedError


def solve_system(model: LinearSystem, backend: Any, opts: Any, t_start: float,
                 model_time: float = 0.0) -> Result:
    """The façade's path for a linear system: refuse, solve, then optkit's measurement.

    Called by :func:`optkit.solve` when the backend's form is ``"system"``; the measurement is the
    one result pipeline's (:func:`optkit.finish.measure`, which calls
    :meth:`LinearSystemForm.residuals`).
    """
    from .finish import measure
    from .solving import _run
    from .verify import Tolerances

    if not hasattr(backend, "solve_system"):
        raise UnsupportedProblemError(f"backend '{backend.name}' declares linear systems but has no "
                                      f"solve_system method")
    t0 = time.perf_counter()
    form = model.compile("system", opts.x0).form
    if opts.x0 is not None:
        x0 = np.asarray(opts.x0, dtype=float).ravel()
        if x0.shape != (form.n,) or not np.all(np.isfinite(x0)):
            raise InvalidProblemError(f"x0 must be {form.n} finite numbers; got shape {x0.shape}")
    reason = backend.refuse(form)
    if reason:
        raise UnsupportedProblemError(f"backend '{backend.name}' cannot solve this linear system: "
                                      f"{reason}")
    t1 = time.perf_counter()
    res = _run(lambda: backend.solve_system(form, opts), backend)
    t2 = time.perf_counter()
    measure(res, form, Tolerances.from_options(opts, backend.default_tol))
    t3 = time.perf_counter()
    res.timings.update({"model": model_time, "build": t1 - t0, "solve": t2 - t1,
                        "finish": t3 - t2, "total": t3 - t_start + model_time})
    return res


# ---------------------------------------------------------------------- checks
def _as_csr(A: Any) -> sp.csr_matrix:
    if sp.issparse(A):
        M = sp.csr_matrix(A, dtype=None)
    else:
        try:
            arr = np.asarray(A)
        except Exception as exc:
            raise InvalidProblemError(f"A must be a matrix (numpy array or scipy.sparse); "
                                      f"{type(A).__name__}: {exc}") from exc
        if arr.ndim != 2:
            raise InvalidProblemError(f"A must be a 2-D matrix; got {arr.ndim} dimension(s)")
        M = sp.csr_matrix(arr)
    if np.iscomplexobj(M.data):
        raise InvalidProblemError("A has complex entries; optkit's linear systems are real")
    try:
        M = M.astype(float)
    except (TypeError, ValueError) as exc:
        raise InvalidProblemError(f"A must hold numbers: {exc}") from exc
    if M.shape[0] != M.shape[1]:
        raise InvalidProblemError(f"A must be square; got shape {M.shape[0]} x {M.shape[1]}")
    if M.shape[0] == 0:
        raise InvalidProblemError("A is empty (0 x 0): a linear system needs at least one unknown")
    bad = np.flatnonzero(~np.isfinite(M.data))
    if bad.size:
        coo = M.tocoo()
        k = int(bad[0])
        raise DataError(f"A[{int(coo.row[k])}, {int(coo.col[k])}] is {M.data[k]} (A must be finite; "
                        f"{bad.size} non-finite entr{'y' if bad.size == 1 else 'ies'})", source="A")
    M.eliminate_zeros()
    M.sort_indices()
    return M


def _as_rhs(b: Any) -> np.ndarray:
    try:
        v = np.asarray(b, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidProblemError(f"b must be a vector of numbers: {exc}") from exc
    if v.ndim == 2 and 1 in v.shape:
        v = v.ravel()
    if v.ndim != 1:
        raise InvalidProblemError(f"b must be a vector; got shape {v.shape}")
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raise DataError(f"b[{int(bad[0])}] is {v[bad[0]]} (b must be finite; {bad.size} non-finite "
                        f"entr{'y' if bad.size == 1 else 'ies'})", source="b")
    return v


def _check(form: LinearSystemForm, check_rank: bool) -> None:
    A, n = form.A, form.n
    if form.b.shape != (n,):
        raise InvalidProblemError(f"b has {form.b.size} entries but A is {n} x {n}")
    row_nnz = np.diff(A.indptr)
    zero_rows = np.flatnonzero(row_nnz == 0)
    if zero_rows.size:
        raise DataError(f"A is singular: row {int(zero_rows[0])} is zero ({zero_rows.size} zero "
                        f"row(s))", source="A")
    col_nnz = np.bincount(A.indices, minlength=n)
    zero_cols = np.flatnonzero(col_nnz == 0)
    if zero_cols.size:
        raise DataError(f"A is singular: column {int(zero_cols[0])} is zero ({zero_cols.size} zero "
                        f"column(s))", source="A")
    if check_rank and A.nnz < n * n:  # a full pattern always has full structural rank
        from scipy.sparse.csgraph import structural_rank

        rank = int(structural_rank(A))
        if rank < n:
            raise DataError(f"A is structurally singular: structural rank {rank} < n = {n} "
                            f"(no choice of its nonzero values makes it invertible)", source="A")
