"""Finite differences for missing callback derivatives, through scipy's ``approx_derivative``.

scipy (1.17) exposes ``approx_derivative`` only from its private module
``scipy.optimize._numdiff``; this module is the one place that imports it, so a move in scipy
touches one line.

- Steps: scipy's '3-point' scheme, h_i = eps^(1/3)·max(1, |x_i|) (eps machine epsilon), error
  O(h²). Central differences in the interior; within h of a bound lb ≤ x ≤ ub the step is
  one-sided (the second-order one-sided formula (−3f(x) + 4f(x + h) − f(x + 2h)) / 2h, or its
  mirror), so f is never evaluated outside the bounds: f = −log x at x = 1e-6 with lb = 0 gives a
  finite gradient, where the former symmetric step gave NaN (the one-sided step keeps h, so near a
  singularity at the bound the value is finite and of the right sign but only as accurate as an
  O(h²) formula with h ≈ 6e-6 allows). A fixed variable (lb = ub) is differenced centrally, and
  a point a solver visits slightly outside the bounds is differenced at its projection onto them.
- Sparsity: given the Jacobian's pattern (an m×n 0/1 structure, sparse), the columns are grouped
  so that no two columns of a group share a row (scipy's ``group_columns``, computed once per
  pattern) and one pair of evaluations serves a whole group: 2·(number of groups) evaluations
  instead of 2n (plus one evaluation at x), and the result is sparse CSR — no dense m×n matrix
  is built. Groups are formed greedily in the natural column order: for a banded Jacobian of
  bandwidth b (b nonzeros per row, consecutive) that gives b groups, whatever n.
- Hessian of the Lagrangian: the same machinery on x ↦ ∇ₓL(x, y) (with the Hessian's pattern when
  given), symmetrised ½(H + Hᵀ).

Every function accepts ``check``, a callable run before each evaluation of the differenced
function (the form's deadline check), so a long finite-difference sweep stops at its first
evaluation after the time limit.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from scipy.optimize._numdiff import approx_derivative, group_columns

__all__ = ["fd_gradient", "fd_jacobian", "fd_hessian", "Sparsity"]


class Sparsity:
    """A derivative's 0/1 pattern with its column groups (computed once, reused every call)."""

    def __init__(self, pattern, shape: tuple[int, int]):
        P = sp.csr_matrix(pattern, dtype=float)
        if tuple(P.shape) != tuple(shape):
            from ..errors import InvalidProblemError

            raise InvalidProblemError(f"sparsity pattern has shape {P.shape}, expected {shape}")
        P.data[:] = 1.0
        self.structure = P
        # greedy colouring in the natural column order (scipy's default order is a random
        # permutation, which gives 4-5 groups for a tridiagonal pattern where this gives 3)
        self.groups = group_columns(P, order=np.arange(P.shape[1]))

    @property
    def n_groups(self) -> int:
        """Number of column groups: one pair of evaluations each."""
        return int(self.groups.max()) + 1 if self.groups.size else 0

    def as_arg(self):
        return (self.structure, self.groups)


def _bounds(x: np.ndarray, lb, ub) -> tuple:
    """(lo, hi) for scipy; a fixed variable (lb = ub) has no room for a step inside its bounds, so
    it is differenced as if free (central steps) rather than given a zero step (NaN)."""
    lo = np.full(x.size, -np.inf) if lb is None else np.array(np.broadcast_to(
        np.asarray(lb, float), x.shape))
    hi = np.full(x.size, np.inf) if ub is None else np.array(np.broadcast_to(
        np.asarray(ub, float), x.shape))
    fixed = lo >= hi
    if fixed.any():
        lo[fixed], hi[fixed] = -np.inf, np.inf
    return lo, hi


def _checked(fn: Callable, check: Callable[[], None] | None) -> Callable:
    if check is None:
        return fn

    def wrapped(z):
        check()
        return fn(z)
    return wrapped


def _inside(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """x clipped into the bounds (scipy requires the point itself to be feasible)."""
    return np.clip(np.asarray(x, float), lo, hi)


def fd_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, lb=None, ub=None,
                check: Callable[[], None] | None = None) -> np.ndarray:
    """∇f(x) by 3-point differences respecting lb ≤ x ≤ ub (2n evaluations of f)."""
    lo, hi = _bounds(x, lb, ub)
    g = approx_derivative(_checked(lambda z: float(f(z)), check), _inside(x, lo, hi),
                          method="3-point", bounds=(lo, hi))
    return np.asarray(g, dtype=float).reshape(-1)


def fd_jacobian(c: Callable[[np.ndarray], np.ndarray], x: np.ndarray, m: int, lb=None, ub=None,
                sparsity: Sparsity | None = None, check: Callable[[], None] | None = None
                ) -> sp.csr_matrix:
    """∇c(x) (m×n, CSR) by 3-point differences respecting the bounds; with ``sparsity``
    2·(groups) evaluations and no dense m×n matrix, else 2n evaluations."""
    lo, hi = _bounds(x, lb, ub)
    fun = _checked(lambda z: np.asarray(c(z), dtype=float).reshape(m), check)
    J = approx_derivative(fun, _inside(x, lo, hi), method="3-point", bounds=(lo, hi),
                          sparsity=None if sparsity is None else sparsity.as_arg())
    if sparsity is not None:
        return sp.csr_matrix(J)
    return sp.csr_matrix(np.asarray(J, dtype=float).reshape(m, x.size))


def fd_hessian(lag_grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray, lb=None, ub=None,
               sparsity: Sparsity | None = None, check: Callable[[], None] | None = None
               ) -> sp.csr_matrix:
    """½(H + Hᵀ) for H the 3-point difference of x ↦ ∇ₓL(x, y) (respecting the bounds; with
    ``sparsity`` 2·(groups) gradient evaluations, else 2n)."""
    n = x.size
    H = fd_jacobian(lambda z: np.asarray(lag_grad(z), float), x, n, lb, ub, sparsity, check)
    return sp.csr_matrix(0.5 * (H + H.T))
