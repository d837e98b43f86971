"""Library ``pde-control``: discretised PDE-constrained control on an N×N grid (any N).

    minimize  ½‖w − w*‖² + 0.05‖z‖²   subject to  Δ_h w + z = 0,

x = (w, z) ∈ R^{2N²}, m = N². Δ_h is the 5-point Laplacian on the N×N interior grid of a square
with mesh width h = 2/(N + 1) and zero Dirichlet boundary,
(Δ_h w)_{ij} = (w_{i+1,j} + w_{i−1,j} + w_{i,j+1} + w_{i,j−1} − 4 w_{ij}) / h², and
w*_{ij} = sin(4 + (0.1/√15)(i − (N+1)/2)) + cos(3 + (0.1/√15)(j − (N+1)/2)), i, j = 1..N.
Start x = 1, λ = 1 (Hong et al., ICML 2023, who ran N = 3).

The problem is a convex QP with linear constraints, so its optimum solves one linear KKT system;
``known_objective`` is computed from that system with a sparse direct solve (source "KKT solve").
Derivatives are exact and sparse; ``hvp`` is given (the Hessian is the constant diag(1, 0.1)).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from optkit.problems_api import Instance, SimpleLibrary


def laplacian(N: int) -> sp.csr_matrix:
    """5-point Laplacian Δ_h on the N×N interior grid, h = 2/(N+1), zero Dirichlet boundary."""
    h = 2.0 / (N + 1)
    T = sp.diags([np.ones(N - 1), -2.0 * np.ones(N), np.ones(N - 1)], [-1, 0, 1])
    I = sp.identity(N)
    return ((sp.kron(I, T) + sp.kron(T, I)) / h ** 2).tocsr()


def target(N: int) -> np.ndarray:
    """w* on the grid, flattened row-major (index i*N + j)."""
    k = np.arange(1, N + 1) - (N + 1) / 2
    a = 0.1 / np.sqrt(15.0)
    return (np.sin(4 + a * k)[:, None] + np.cos(3 + a * k)[None, :]).ravel()


def optimum(N: int) -> float:
    """The optimal objective from the (linear) KKT system, solved directly."""
    L = laplacian(N)
    n2 = N * N
    H = sp.diags(np.r_[np.ones(n2), 0.1 * np.ones(n2)])
    G = sp.hstack([L, sp.identity(n2)]).tocsr()
    K = sp.bmat([[H, G.T], [G, None]], format="csc")
    rhs = np.r_[target(N), np.zeros(n2), np.zeros(n2)]
    sol = spla.spsolve(K, rhs)
    w, z = sol[:n2], sol[n2:2 * n2]
    return float(0.5 * np.sum((w - target(N)) ** 2) + 0.05 * np.sum(z ** 2))


def build(N: int = 3):
    """The ok.NLP of the N×N control problem."""
    import optkit as ok

    if not (isinstance(N, (int, np.integer)) and N >= 1):
        raise ValueError(f"pde-control: N must be a positive integer, got {N!r}")
    n2 = N * N
    L = laplacian(N)
    wstar = target(N)
    G = sp.hstack([L, sp.identity(n2)]).tocsr()
    dH = np.r_[np.ones(n2), 0.1 * np.ones(n2)]
    Hm = sp.diags(dH).tocsr()

    def f(x):
        w, z = x[:n2], x[n2:]
        return 0.5 * float(np.sum((w - wstar) ** 2)) + 0.05 * float(z @ z)

    def grad(x):
        return np.r_[x[:n2] - wstar, 0.1 * x[n2:]]

    return ok.NLP(x0=np.ones(2 * n2), f=f, grad=grad, cons=lambda x: G @ x, jac=lambda x: G,
                  hess=lambda x, y: Hm, hvp=lambda x, y, v: dH * v, y0=np.ones(n2),
                  name=f"PDE-N{N}")


def _hat(N: int, Nc: int) -> np.ndarray:
    """1-D linear interpolation (hat functions) from Nc to N interior points of the same interval."""
    xf = np.arange(1, N + 1) / (N + 1)
    xc = np.arange(1, Nc + 1) / (Nc + 1)
    return np.maximum(0.0, 1.0 - np.abs(xf[:, None] - xc[None, :]) * (Nc + 1))


def sketch_structure(N: int, strips: int = 4, overlap: int = 2, coarse_ratio: int = 4) -> dict:
    """Options for sketch-newton's structured sketches on the N×N problem (beyond the paper).

    K's rows are ordered (w, z, λ), each block of N² grid-point rows row-major. Returns
    ``sketch_blocks``: ``strips`` horizontal strips of grid lines, each widened by ``overlap``
    lines on both sides, taking the w-, z- and λ-rows of its grid points (block Kaczmarz over an
    overlapping cover); and ``coarse_sketch`` S_c = diag(P, P, P), P = P₁ ⊗ P₁ the bilinear
    interpolation from an Nc×Nc grid, Nc = max(1, N // coarse_ratio), so S_c has 3Nc² columns.
    Use as ``ok.solve(model, "sketch-newton", sketch="kaczmarz", equilibrate=True,
    **sketch_structure(N))``.
    """
    if not (isinstance(N, (int, np.integer)) and N >= 1):
        raise ValueError(f"pde-control: N must be a positive integer, got {N!r}")
    n2 = N * N
    blocks = []
    for s in np.array_split(np.arange(N), max(1, min(strips, N))):
        lines = np.arange(max(0, s[0] - overlap), min(N, s[-1] + overlap + 1))
        pts = (lines[:, None] * N + np.arange(N)[None, :]).ravel()
        blocks.append(np.sort(np.r_[pts, pts + n2, pts + 2 * n2]))
    P1 = _hat(N, max(1, N // coarse_ratio))
    P = sp.csr_matrix(np.kron(P1, P1))
    return {"sketch_blocks": blocks, "coarse_sketch": sp.block_diag([P, P, P], format="csr")}


class _Builder:
    def __init__(self, N: int):
        self.N = N

    def __call__(self):
        return build(self.N)


def make_instances(sizes=(3, 8, 16, 32)) -> list[Instance]:
    """One instance per grid size N (n = 2N², m = N²)."""
    return [Instance(name=f"PDE-N{N}", build=_Builder(int(N)), problem_class="nlp",
                     n=2 * N * N, m=N * N, known_objective=optimum(int(N)), expected="optimal",
                     source="KKT solve (convex QP)", meta={"N": int(N)}) for N in sizes]


library = SimpleLibrary("pde-control", "PDE-constrained control, 5-point Laplacian, any N×N grid",
                        make_instances)
