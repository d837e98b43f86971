"""Sequences of linear systems of the kind Khodak et al. (ICLR 2024) tune SOR on.

- :func:`shifted_laplacians`: Aₜ = L + cₜ I with L the 5-point Laplacian of an m × m grid
  (stencil 4, −1, unscaled; eigenvalues 8 sin²(πj/(2(m+1))) + 8 sin²(πk/(2(m+1))) in (0, 8)) and a
  diagonal shift cₜ drawn uniformly from ``c_range``; bₜ ~ N(0, I). The context is cₜ. The
  Jacobi matrix has ρ(J) = 4cos(π/(m+1))/(4 + c) and the matrix is consistently ordered, so the
  instance-optimal ω* = 2/(1 + √(1 − ρ(J)²)) moves from ≈ 1.8 (c = 0.02, m = 100) to ≈ 1.25 (c = 1).
- :func:`heat_steps`: implicit-Euler time stepping of u_t = ∇·(κₜ ∇u) + f on the unit square
  (Dirichlet, m × m interior grid, h = 1/(m+1)): (I + Δtₜ Kₜ) uₜ₊₁ = uₜ + Δtₜ f, where Kₜ is the
  variable-coefficient 5-point operator with κₜ(x, y) = 1 + aₜ sin(2πx) sin(2πy) (face values at
  midpoints), aₜ slowly varying in [0, 0.9] and Δtₜ varying around ``dt``. The context is
  (h²/Δtₜ), the relative diagonal shift of the scaled system. The next right-hand side uses the
  exact (sparse direct) solution, so every policy sees the same sequence.

Both yield ``(LinearSystem, context)`` pairs and are seeded.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from ..linear_system import LinearSystem


def laplacian_2d(m: int) -> sp.csr_matrix:
    """The 5-point Laplacian of an m × m grid (4 on the diagonal, −1 off), CSR, n = m²."""
    T = sp.diags([-np.ones(m - 1), 2.0 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1])
    I = sp.identity(m)
    return (sp.kron(T, I) + sp.kron(I, T)).tocsr()


def shifted_laplacians(T: int, m: int = 100, c_range: tuple[float, float] = (0.02, 1.0),
                       seed: int = 0) -> Iterator[tuple[LinearSystem, float]]:
    """T systems (L + cₜ I) x = bₜ, cₜ ~ U(c_range), bₜ ~ N(0, I); yields (system, cₜ)."""
    rng = np.random.default_rng(seed)
    L = laplacian_2d(m)
    n = m * m
    eye = sp.identity(n, format="csr")
    for _ in range(T):
        c = float(rng.uniform(*c_range))
        b = rng.standard_normal(n)
        yield LinearSystem((L + c * eye).tocsr(), b, name=f"laplacian+{c:.4f}I",
                           check_rank=False), c


def heat_operator(m: int, kappa) -> sp.csr_matrix:
    """−∇·(κ∇·) on the m × m interior grid of the unit square, times h² (5-point, Dirichlet):
    row (i, j) has Σ κ_face on the diagonal and −κ_face towards each neighbour."""
    h = 1.0 / (m + 1)
    idx = np.arange(m * m).reshape(m, m)
    xs = (np.arange(m) + 1) * h
    rows, cols, vals = [], [], []
    diag = np.zeros((m, m))
    # faces between (i, j) and (i+1, j) (x-direction) and (i, j) and (i, j+1) (y-direction)
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    for di, dj in ((1, 0), (0, 1)):
        kf = kappa(X + di * h / 2, Y + dj * h / 2)  # face values, shape (m, m)
        diag += kf                                   # the face on the +side of each node
        shifted = np.zeros((m, m))                   # the face on the −side (from the neighbour)
        if di:
            shifted[1:, :] = kf[:-1, :]
            a, b = idx[:-1, :], idx[1:, :]
            k = kf[:-1, :]
        else:
            shifted[:, 1:] = kf[:, :-1]
            a, b = idx[:, :-1], idx[:, 1:]
            k = kf[:, :-1]
        # the boundary faces on the −side of the first row/column still couple to the boundary
        if di:
            shifted[0, :] = kappa(X[0, :] - h / 2, Y[0, :])
        else:
            shifted[:, 0] = kappa(X[:, 0], Y[:, 0] - h / 2)
        diag += shifted
        rows += [a.ravel(), b.ravel()]
        cols += [b.ravel(), a.ravel()]
        vals += [-k.ravel(), -k.ravel()]
    rows.append(idx.ravel())
    cols.append(idx.ravel())
    vals.append(diag.ravel())
    n = m * m
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n, n))


def heat_steps(T: int, m: int = 100, dt: float = 2e-4, seed: int = 0
               ) -> Iterator[tuple[LinearSystem, float]]:
    """T implicit-Euler steps of the heat equation with varying coefficients (module docstring);
    each system is scaled by h²: (h²/Δt I + K) u⁺ = h²/Δt (u + Δt f); yields (system, h²/Δt)."""
    import scipy.sparse.linalg as spla

    rng = np.random.default_rng(seed)
    h = 1.0 / (m + 1)
    n = m * m
    xs = (np.arange(m) + 1) * h
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    f = (np.exp(-40 * ((X - 0.3) ** 2 + (Y - 0.6) ** 2))).ravel() * 50.0
    u = np.zeros(n)
    eye = sp.identity(n, format="csr")
    phase = rng.uniform(0, 2 * np.pi)
    for t in range(T):
        a = 0.45 * (1 + np.sin(phase + 2 * np.pi * t / 250.0))          # slowly varying in [0, 0.9]
        step = dt * float(np.exp(rng.uniform(np.log(0.25), np.log(4.0))))  # Δt in [dt/4, 4 dt]
        K = heat_operator(m, lambda x, y, a=a: 1.0 + a * np.sin(2 * np.pi * x) * np.sin(2 * np.pi * y))
        shift = h * h / step
        A = (K + shift * eye).tocsr()
        b = shift * (u + step * f)
        system = LinearSystem(A, b, name=f"heat step {t}", check_rank=False)
        yield system, shift
        u = spla.spsolve(A.tocsc(), b)
