"""Central finite differences for missing derivatives.

Step h_i = eps^(1/3) * max(1, |x_i|) (eps machine epsilon), error O(h²). Gradient and Jacobian
cost 2n evaluations of f or c; the Lagrangian Hessian differences the Lagrangian gradient
∇f + Jᵀy (2n gradient and Jacobian evaluations) and is symmetrised.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp

_EPS3 = np.finfo(float).eps ** (1.0 / 3.0)


def _steps(x: np.ndarray) -> np.ndarray:
    return _EPS3 * np.maximum(1.0, np.abs(x))


def fd_gradient(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h."""
    h = _steps(x)
    g = np.empty_like(x, dtype=float)
    for i in range(x.size):
        e = np.zeros_like(x, dtype=float)
        e[i] = h[i]
        g[i] = (f(x + e) - f(x - e)) / (2 * h[i])
    return g


def fd_jacobian(c: Callable[[np.ndarray], np.ndarray], x: np.ndarray, m: int) -> sp.csr_matrix:
    """J[:, i] ≈ (c(x + h e_i) − c(x − h e_i)) / 2h, returned sparse (exact zeros dropped)."""
    h = _steps(x)
    J = np.empty((m, x.size))
    for i in range(x.size):
        e = np.zeros_like(x, dtype=float)
        e[i] = h[i]
        J[:, i] = (np.asarray(c(x + e), float) - np.asarray(c(x - e), float)) / (2 * h[i])
    return sp.csr_matrix(J)


def fd_hessian(lag_grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> sp.csr_matrix:
    """Symmetrised central difference of the Lagrangian gradient x ↦ ∇f + Jᵀy."""
    h = _steps(x)
    n = x.size
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h[i]
        H[:, i] = (lag_grad(x + e) - lag_grad(x - e)) / (2 * h[i])
    return sp.csr_matrix(0.5 * (H + H.T))
