"""NLPForm: the smooth nonlinear program every NLP backend consumes.

    minimize f(x)  subject to  cl <= c(x) <= cu,  lb <= x <= ub,   x ∈ Rⁿ, c(x) ∈ Rᵐ.

Lagrangian L(x, y) = f(x) + yᵀc(x) (so y ≥ 0 on an active upper bound c_i = cu_i and y ≤ 0 on an
active lower bound). ``hess(x, y, s)`` is ∇²(s·f + yᵀc), symmetric, scipy.sparse.
Every oracle call is counted in ``counts``; ``derivatives`` says for each derivative whether it is
"exact" or "finite-difference".

Optional fixed-structure oracles (a form built from a model knows its sparsity; callbacks do not):

- ``jac_structure_fn()`` → (rows, cols) of ∇c, and ``jac_values_fn(x)`` → the values of ∇c(x) on
  exactly those positions, in that order (structural zeros included);
- ``hess_structure_fn()`` → (rows, cols) of the *lower triangle* (row ≥ col) of ∇²ₓL, and
  ``hess_values_fn(x, y, s)`` → the values of ∇²(s·f + yᵀc) there.

Both structures are computed on first request only: a backend that approximates the Hessian
never calls the Hessian ones, and never pays for the Hessian's structure. ``has_structure``
says whether a form has them; :meth:`NLPForm.jac_structure` and friends count like the oracles.

Deadline (:mod:`optkit.deadline`): every counted oracle first calls ``deadline.check(name)``, so
once the form's deadline (armed by :func:`optkit.solve` from ``time_limit``) has passed, the next
oracle call raises :class:`~optkit.deadline.DeadlineExceeded` and no solver can run on past one
oracle call. The point of the last completed objective evaluation is kept (``last_x``); a backend
may record its accepted iterate with :meth:`NLPForm.note_iterate`, and :attr:`NLPForm.iterate`
(noted iterate, else ``last_x``, else x0) is what a stopped solve returns.

Output shapes are checked on every call (a comparison of two tuples): an oracle that returns the
wrong shape raises :class:`~optkit.errors.InvalidProblemError` naming the oracle, the expected and
the received shape, for every backend alike. Bounds: NaN, a lower bound of +inf, an upper bound of
−inf (no value satisfies them) and crossed bounds are refused by index when the form is built.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from ..deadline import Deadline
from ..errors import InvalidProblemError

ArrayFn = Callable[[np.ndarray], np.ndarray]

COUNTERS = ("f", "grad", "cons", "jac", "hess", "hvp", "jvp", "vjp")


def as_vector(value, size: int, what: str, fill: float | None = None) -> np.ndarray:
    """``value`` as a float vector of length ``size`` (scalars broadcast; None → ``fill``)."""
    if value is None:
        if fill is None:
            raise InvalidProblemError(f"{what} is required")
        return np.full(size, float(fill))
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(size, float(arr))
    arr = arr.reshape(-1) if arr.ndim > 1 and arr.size == size else arr
    if arr.shape != (size,):
        raise InvalidProblemError(f"{what} has shape {np.shape(value)}, expected ({size},)")
    return arr.copy()


def check_bounds(lo: np.ndarray, hi: np.ndarray, what: str) -> None:
    """Bounds may be ±inf but not NaN, and lo <= hi entrywise."""
    for arr, side in ((lo, "lower"), (hi, "upper")):
        bad = np.flatnonzero(np.isnan(arr))
        if bad.size:
            raise InvalidProblemError(f"{what} {side} bound has NaN at index {bad[0]}")
    crossed = np.flatnonzero(lo > hi)
    if crossed.size:
        i = crossed[0]
        raise InvalidProblemError(f"{what} bounds cross at index {i}: {lo[i]} > {hi[i]}")


def check_infinite_sides(lo: np.ndarray, hi: np.ndarray, what: str, names: tuple[str, str]) -> None:
    """Refuse a lower bound of +inf or an upper bound of −inf (no value satisfies it), by index."""
    for arr, bad_value, side, label in ((lo, np.inf, "lower", names[0]),
                                        (hi, -np.inf, "upper", names[1])):
        bad = np.flatnonzero(arr == bad_value)
        if bad.size:
            k = int(bad[0])
            raise InvalidProblemError(
                f"{what} index {k}: {side} bound {label}[{k}] = {arr[k]} admits no value (use a "
                f"finite bound, or {-bad_value} for none)"
                + (f"; {bad.size} such bounds in all" if bad.size > 1 else ""))


@dataclass
class NLPForm:
    """A compiled smooth NLP with counted oracles (see module docstring for the form)."""

    n: int
    m: int
    x0: np.ndarray
    f_fn: Callable[[np.ndarray], float]
    grad_fn: ArrayFn
    cons_fn: ArrayFn
    jac_fn: Callable[[np.ndarray], sp.spmatrix]
    hess_fn: Callable[[np.ndarray, np.ndarray, float], sp.spmatrix]
    lb: np.ndarray
    ub: np.ndarray
    cl: np.ndarray
    cu: np.ndarray
    y0: np.ndarray | None = None
    hvp_fn: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray] | None = None
    derivatives: dict = field(default_factory=lambda: {"grad": "exact", "jac": "exact",
                                                        "hess": "exact"})
    name: str = "nlp"
    counts: dict = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    jac_structure_fn: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None
    jac_values_fn: ArrayFn | None = None
    hess_structure_fn: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None
    hess_values_fn: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None = None
    deadline: Deadline = field(default_factory=Deadline)

    def __post_init__(self) -> None:
        self.x0 = as_vector(self.x0, self.n, "x0")
        bad = np.flatnonzero(~np.isfinite(self.x0))
        if bad.size:
            raise InvalidProblemError(f"x0 has a non-finite entry at index {bad[0]}")
        self.lb = as_vector(self.lb, self.n, "lb", -np.inf)
        self.ub = as_vector(self.ub, self.n, "ub", np.inf)
        self.cl = as_vector(self.cl, self.m, "cl", 0.0)
        self.cu = as_vector(self.cu, self.m, "cu", 0.0)
        check_bounds(self.lb, self.ub, "variable")
        check_bounds(self.cl, self.cu, "constraint")
        check_infinite_sides(self.lb, self.ub, "variable", ("lb", "ub"))
        check_infinite_sides(self.cl, self.cu, "constraint", ("cl", "cu"))
        if self.y0 is not None:
            self.y0 = as_vector(self.y0, self.m, "y0")
        self.last_x: np.ndarray | None = None
        self._noted: np.ndarray | None = None
        self.noted_iteration: int | None = None

    # ---------------------------------------------------------------- deadline and iterate
    def note_iterate(self, x: np.ndarray, iteration: int | None = None) -> None:
        """Record the backend's current (accepted) iterate, and optionally how many iterations
        led to it: both are returned if the deadline stops the solve."""
        self._noted = np.array(x, dtype=float, copy=True)
        if iteration is not None:
            self.noted_iteration = int(iteration)

    def clear_iterate(self) -> None:
        """Forget the iterate of an earlier solve (a compiled form may be solved again)."""
        self.last_x = self._noted = self.noted_iteration = None

    @property
    def iterate(self) -> np.ndarray:
        """The best point known for a stopped solve: the backend's noted iterate, else the point
        of the last completed objective evaluation, else x0 (a copy)."""
        for x in (self._noted, self.last_x):
            if x is not None and np.shape(x) == (self.n,):
                return np.array(x, dtype=float, copy=True)
        return self.x0.copy()

    def _shape_error(self, oracle: str, got, expected: tuple) -> InvalidProblemError:
        want = "(" + ", ".join(map(str, expected)) + ("," if len(expected) == 1 else "") + ")"
        return InvalidProblemError(f"{self.name}: the {oracle} oracle returned an array of shape "
                                   f"{tuple(np.shape(got))}, expected {want}")

    def _vector(self, oracle: str, value, size: int) -> np.ndarray:
        arr = np.asarray(value, dtype=float)
        if arr.size != size or arr.ndim > 2:
            raise self._shape_error(oracle, arr, (size,))
        return arr.reshape(size)

    def _matrix(self, oracle: str, value, shape: tuple[int, int]) -> sp.csr_matrix:
        M = value if sp.issparse(value) else np.asarray(value, dtype=float)
        if tuple(M.shape) != shape:
            raise self._shape_error(oracle, M, shape)
        return sp.csr_matrix(M)

    # ---------------------------------------------------------------- counted oracles
    def f(self, x: np.ndarray) -> float:
        """Objective value f(x)."""
        self.deadline.check("f")
        self.counts["f"] += 1
        value = float(self.f_fn(x))
        self.last_x = np.array(x, dtype=float, copy=True)  # solvers may reuse their buffers
        return value

    def grad(self, x: np.ndarray) -> np.ndarray:
        """∇f(x), length n."""
        self.deadline.check("grad")
        self.counts["grad"] += 1
        return self._vector("grad", self.grad_fn(x), self.n)

    def cons(self, x: np.ndarray) -> np.ndarray:
        """c(x), length m."""
        self.deadline.check("cons")
        self.counts["cons"] += 1
        if self.m == 0:
            return np.zeros(0)
        return self._vector("cons", self.cons_fn(x), self.m)

    def jac(self, x: np.ndarray) -> sp.csr_matrix:
        """Constraint Jacobian ∇c(x), m×n, CSR."""
        self.deadline.check("jac")
        self.counts["jac"] += 1
        if self.m == 0:
            return sp.csr_matrix((0, self.n))
        return self._matrix("jac", self.jac_fn(x), (self.m, self.n))

    def hess(self, x: np.ndarray, y: np.ndarray, obj_factor: float = 1.0) -> sp.csr_matrix:
        """∇²ₓ(obj_factor·f + yᵀc), n×n symmetric, CSR."""
        self.deadline.check("hess")
        self.counts["hess"] += 1
        y = np.zeros(self.m) if y is None else np.asarray(y, dtype=float)
        return self._matrix("hess", self.hess_fn(x, y, obj_factor), (self.n, self.n))

    def hvp(self, x: np.ndarray, y: np.ndarray, v: np.ndarray) -> np.ndarray:
        """∇²ₓL(x, y) v without forming the Hessian when a product oracle exists."""
        self.deadline.check("hvp")
        self.counts["hvp"] += 1
        if self.hvp_fn is not None:
            return self._vector("hvp", self.hvp_fn(x, y, v), self.n)
        H = self._matrix("hess", self.hess_fn(x, np.asarray(y, float), 1.0), (self.n, self.n))
        return H @ v

    def jvp(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        """∇c(x) v (length m)."""
        self.deadline.check("jvp")
        self.counts["jvp"] += 1
        if not self.m:
            return np.zeros(0)
        return self._matrix("jac", self.jac_fn(x), (self.m, self.n)) @ v

    def vjp(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """∇c(x)ᵀ w (length n)."""
        self.deadline.check("vjp")
        self.counts["vjp"] += 1
        if not self.m:
            return np.zeros(self.n)
        return self._matrix("jac", self.jac_fn(x), (self.m, self.n)).T @ w

    # ---------------------------------------------------------------- fixed structures
    @property
    def has_structure(self) -> bool:
        """True when the form gives fixed Jacobian and Hessian structures with aligned values."""
        return None not in (self.jac_structure_fn, self.jac_values_fn, self.hess_structure_fn,
                            self.hess_values_fn)

    def jac_structure(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) of the constraint Jacobian's fixed structure."""
        if self.jac_structure_fn is None:
            raise AttributeError(f"{self.name}: this form has no fixed Jacobian structure")
        if self.m == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        r, c = self.jac_structure_fn()
        return np.asarray(r, np.int64), np.asarray(c, np.int64)

    def jac_values(self, x: np.ndarray) -> np.ndarray:
        """∇c(x) on :meth:`jac_structure` (counted as a ``jac`` call)."""
        if self.jac_values_fn is None:
            raise AttributeError(f"{self.name}: this form has no fixed Jacobian structure")
        self.deadline.check("jac")
        self.counts["jac"] += 1
        if self.m == 0:
            return np.zeros(0)
        return np.asarray(self.jac_values_fn(x), dtype=float)

    def hess_structure(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols), row ≥ col, of the Lagrangian Hessian's fixed lower-triangle structure."""
        if self.hess_structure_fn is None:
            raise AttributeError(f"{self.name}: this form has no fixed Hessian structure")
        r, c = self.hess_structure_fn()
        return np.asarray(r, np.int64), np.asarray(c, np.int64)

    def hess_values(self, x: np.ndarray, y: np.ndarray, obj_factor: float = 1.0) -> np.ndarray:
        """∇²ₓ(obj_factor·f + yᵀc) on :meth:`hess_structure` (counted as a ``hess`` call)."""
        if self.hess_values_fn is None:
            raise AttributeError(f"{self.name}: this form has no fixed Hessian structure")
        self.deadline.check("hess")
        self.counts["hess"] += 1
        y = np.zeros(self.m) if y is None else np.asarray(y, dtype=float)
        return np.asarray(self.hess_values_fn(x, y, float(obj_factor)), dtype=float)

    # ---------------------------------------------------------------- structure
    @property
    def equality_rows(self) -> np.ndarray:
        """Boolean mask of rows with cl == cu."""
        return self.cl == self.cu

    @property
    def is_equality_only(self) -> bool:
        """True when every constraint is an equality and no variable is bounded."""
        return bool(np.all(self.equality_rows) and np.all(np.isinf(self.lb))
                    and np.all(np.isinf(self.ub)))

    @property
    def total_evaluations(self) -> int:
        """All oracle calls added up."""
        return int(sum(self.counts.values()))

    def reset_counts(self) -> None:
        """Set every counter back to zero."""
        for k in self.counts:
            self.counts[k] = 0

    def lagrangian_gradient(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """∇ₓL = ∇f + ∇cᵀy."""
        g = self.grad(x)
        return g + self.vjp(x, y) if self.m else g
