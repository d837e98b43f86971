"""Closed-form and cached projections (optkit.bilevel.projections) against formulas and cvxpy."""
from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

import optkit as ok
from optkit.bilevel import projections as P

warnings.filterwarnings("ignore", category=UserWarning)
warnings.filterwarnings("ignore", category=FutureWarning)


def _cvx_projection(p, cons_fn):
    u = cp.Variable(p.size)
    cp.Problem(cp.Minimize(cp.sum_squares(u - p)), cons_fn(u)).solve(solver=cp.CLARABEL)
    return np.asarray(u.value)


def test_box_with_infinite_bounds_touches_only_finite_entries():
    lo = np.array([0.0, -np.inf, -1.0, -np.inf])
    hi = np.array([1.0, np.inf, np.inf, 2.0])
    u = P.Box(lo, hi)(np.array([2.0, -7.0, -3.0, 5.0]))
    assert np.array_equal(u, [1.0, -7.0, -1.0, 2.0])
    free = P.Box(np.full(3, -np.inf), np.full(3, np.inf))
    p = np.array([1.0, 2.0, 3.0])
    out = free(p)
    assert np.array_equal(out, p) and out is not p
    with pytest.raises(ValueError, match="lower bound exceeds"):
        P.Box(np.ones(2), np.zeros(2))


def test_halfspace_formula():
    a, b = np.array([3.0, 4.0]), 5.0
    u = P.HalfSpace(a, b)(np.array([3.0, 4.0]))       # aᵀp = 25: moved by 20/25 · a
    assert np.allclose(u, [3.0 - 0.8 * 3, 4.0 - 0.8 * 4])
    assert a @ u == pytest.approx(5.0)
    inside = np.array([0.0, 0.0])
    assert np.array_equal(P.HalfSpace(a, b)(inside), inside)


@pytest.mark.parametrize("sparse_path", [False, True])
def test_affine_set_matches_the_pseudo_inverse(sparse_path, monkeypatch):
    rng = np.random.default_rng(0)
    E = rng.standard_normal((4, 9))
    e = E @ rng.standard_normal(9)
    p = rng.standard_normal(9)
    if sparse_path:
        monkeypatch.setattr(P.Affine, "DENSE_MAX", 1)
    proj = P.Affine(sp.csr_matrix(E), e)
    u = proj(p)
    ref = p - np.linalg.pinv(E) @ (E @ p - e)
    assert np.max(np.abs(u - ref)) <= 1e-10
    assert np.max(np.abs(E @ u - e)) <= 1e-10


def test_one_hyperplane_closed_form():
    u = P.Affine(np.array([[1.0, 1.0]]), np.array([1.0]))(np.array([2.0, 0.0]))
    assert np.allclose(u, [1.5, -0.5])


def test_simplex_known_answers_and_against_cvxpy():
    assert np.allclose(P.simplex_projection(np.array([0.5, 0.5, 2.0])), [0.0, 0.0, 1.0])
    assert np.allclose(P.simplex_projection(np.array([0.2, 0.3]), total=1.0), [0.45, 0.55])
    rng = np.random.default_rng(1)
    for _ in range(5):
        p = rng.standard_normal(12) * 2
        u = P.Simplex(3.0)(p)
        ref = _cvx_projection(p, lambda v: [v >= 0, cp.sum(v) == 3.0])
        assert u.min() >= 0 and u.sum() == pytest.approx(3.0)
        assert np.max(np.abs(u - ref)) <= 1e-5            # Clarabel's accuracy
        assert np.sum((u - p) ** 2) <= np.sum((ref - p) ** 2) + 1e-9   # never worse than cvxpy


def test_ball_formula():
    u = P.Ball(np.array([1.0, 1.0]), 1.0)(np.array([4.0, 5.0]))   # distance 5 → scaled by 1/5
    assert np.allclose(u, [1.0 + 0.6, 1.0 + 0.8])


def test_product_applies_each_block_and_the_box_elsewhere():
    prod = P.Product([(np.array([0, 1]), P.Simplex(1.0)), (np.array([3, 4]), P.Ball(np.zeros(2), 1.0))],
                     rest=P.Box(np.full(5, -1.0), np.full(5, 1.0)))
    u = prod(np.array([2.0, 0.0, 5.0, 3.0, 4.0]))
    assert np.allclose(u, [1.0, 0.0, 1.0, 0.6, 0.8])
    assert prod.kind == "box+ball+simplex"


def test_dense_polyhedron_against_cvxpy():
    rng = np.random.default_rng(2)
    for trial in range(8):
        n, m = 6, 5
        A = rng.standard_normal((m, n))
        b = rng.uniform(0.1, 1.0, m)             # 0 is inside
        lo, hi = np.full(n, -0.7), np.full(n, 0.9)
        proj = P.DensePolyhedron(A, b, np.zeros((0, n)), np.zeros(0), lo, hi)
        for _ in range(3):                       # warm-started calls
            p = 3 * rng.standard_normal(n)
            u = proj(p)
            ref = _cvx_projection(p, lambda v, A=A, b=b, lo=lo, hi=hi: [A @ v <= b, v >= lo, v <= hi])
            assert np.max(np.abs(u - ref)) <= 1e-6, trial


def test_convex_rows_projection_onto_a_disc_is_radial():
    # {u₁² + u₂² ≤ 1} ∩ [−5, 5]²: the projection is p/‖p‖
    def value(u):
        return np.array([u @ u - 1.0])

    def jac(u):
        return 2 * u[None, :]

    proj = P.ConvexRows(value, jac, np.full(2, -5.0), np.full(2, 5.0))
    rng = np.random.default_rng(3)
    p = np.array([2.0, 1.0])
    for _ in range(20):
        p = p + 0.05 * rng.standard_normal(2)
        u = proj(p)
        assert np.max(np.abs(u - p / np.linalg.norm(p))) <= 1e-9
    assert proj.fallbacks == 0
    assert np.array_equal(proj(np.array([0.1, 0.2])), [0.1, 0.2])   # inside: unchanged


def test_build_chooses_closed_forms_on_bilevel_sets():
    from optkit.problems import bilevel as B

    assert P.build(B.llc(5).data(), np.zeros(15)).kind == "affine"
    assert P.build(B.desilva1978().data(), np.zeros(4)).kind == "box"
    bl = B.dempe1992()
    assert P.build(bl.data(), bl.start(None)).kind == "box+quadratic-row"


def test_dempe_projection_matches_cvxpy_and_satisfies_kkt():
    from optkit.problems import bilevel as B
    from optkit.solvers.lv_hba import make_projection

    bl = B.dempe1992()
    d = bl.data()
    auto = make_projection(d, bl, bl.start(None), "auto")
    ref = make_projection(d, bl, bl.start(None), "cvxpy")
    assert auto.kind == "box+quadratic-row" and ref.kind == "cvxpy"
    rng = np.random.default_rng(4)
    p = np.array([1.6, 1.3])
    for _ in range(25):
        p = p + 0.01 * rng.standard_normal(2)
        u = auto(p)
        # KKT of min ½‖u − p‖² s.t. u₂² − u₁ ≤ 0: p − u = λ (−1, 2u₂), λ ≥ 0, on the curve
        g = np.array([-1.0, 2 * u[1]])
        lam = (p - u) @ g / (g @ g)
        assert lam >= 0 and u[1] ** 2 - u[0] == pytest.approx(0.0, abs=1e-9)
        assert np.linalg.norm(p - u - lam * g) <= 1e-9
        assert np.max(np.abs(u - ref(p))) <= 1e-5      # Clarabel's own accuracy
    assert auto.fallback.calls == 0
    assert ok is not None


def _row_box_kkt(proj, c0, a, H, lo, hi, p, u) -> float:
    """Worst KKT residual of min ½‖u − p‖² s.t. c₀ + aᵀu + ½uᵀHu ≤ 0, lo ≤ u ≤ hi at (u, λ):
    stationarity u − p + λ∇c(u) in the normal cone of the box, feasibility, complementarity."""
    lam = proj.lam
    c = c0 + a @ u + 0.5 * u @ H @ u
    r = u - p + lam * (a + H @ u)
    r = np.where(u <= lo, np.minimum(r, 0.0), np.where(u >= hi, np.maximum(r, 0.0), r))
    inside = np.all(u >= lo) and np.all(u <= hi)
    return max(float(np.max(np.abs(r))), max(c, 0.0), abs(lam * c), 0.0 if inside else np.inf)


@pytest.mark.parametrize("n,diagonal", [(2, True), (5, True), (12, True), (6, False)])
def test_quadratic_row_box_root_find_satisfies_kkt_and_matches_linearisation(n, diagonal):
    # one convex quadratic row ∩ box by the 1-D root-find on λ: scalar path (n ≤ 6) and numpy
    # path (n = 12), separable Hessian with bounds, a full Hessian without bounds; checked by the
    # projection's KKT conditions and against cvxpy
    rng = np.random.default_rng(10 + n)
    a, c0 = rng.standard_normal(n), -0.05
    if diagonal:
        H = np.diag(rng.uniform(0.0, 2.0, n))
        H[0, 0] = 0.0                              # a linear direction as in y² − x ≤ 0
        lo, hi = -rng.uniform(0.2, 1.0, n), rng.uniform(0.2, 1.0, n)
    else:
        B = rng.standard_normal((n, n))
        H, lo, hi = B @ B.T, np.full(n, -np.inf), np.full(n, np.inf)
    proj = P.QuadraticRowBox(c0, a, H, lo, hi)
    assert proj.scalar == (n <= P.QuadraticRowBox.SCALAR_MAX)
    n_active = 0
    for _ in range(60):
        p = 3.0 * rng.standard_normal(n)
        u = proj(p)
        # the projection onto a closed convex set is its unique KKT point
        assert _row_box_kkt(proj, c0, a, H, lo, hi, p, u) <= 1e-9 * (1 + np.abs(p).max())
        n_active += proj.lam > 0
    assert n_active >= 10                          # the row binds on part of the draws
    p = 3.0 * rng.standard_normal(n)
    u = cp.Variable(n)
    cons = [c0 + a @ u + 0.5 * cp.quad_form(u, H, assume_PSD=True) <= 0]
    if diagonal:
        cons += [u >= lo, u <= hi]
    cp.Problem(cp.Minimize(cp.sum_squares(u - p)), cons).solve(solver=cp.CLARABEL)
    assert np.max(np.abs(proj(p) - u.value)) <= 1e-3   # Clarabel is accurate to ~1e-4 here


def test_quadratic_row_box_refuses_empty_and_nonconvex_sets():
    # {u² + 1 ≤ 0} is empty; −u₁² ≤ 0 is not convex; a full Hessian with bounds is not this class
    empty = P.QuadraticRowBox(1.0, [0.0], [[2.0]], [-1.0], [1.0])
    with pytest.raises(ValueError, match="empty"):
        empty(np.array([0.3]))
    assert P.QuadraticRowBox(1.0, [0.0], [[2.0]], [-1.0], [1.0],
                             fallback=lambda p: p + 7.0)(np.array([0.3]))[0] == pytest.approx(7.3)
    with pytest.raises(ValueError, match="not convex"):
        P.QuadraticRowBox(0.0, [0.0, 1.0], np.diag([-2.0, 0.0]), [-1, -1], [1, 1])
    with pytest.raises(ValueError, match="non-diagonal"):
        P.QuadraticRowBox(0.0, [0.0, 0.0], [[2.0, 1.0], [1.0, 2.0]], [-1, -1], [1, 1])


def test_dempe_known_projections():
    # C = {y² ≤ x} ∩ [1, 10]²: inside → unchanged; (0, 0) → the corner (1, 1); (2, 3) → the point
    # (1.75, 3) → (2.25, 1.5): p − u = λ(−1, 2y) with λ = 1/2 on the parabola x = y²
    from optkit.problems import bilevel as B

    bl = B.dempe1992()
    proj = P.build(bl.data(), bl.start(None))
    assert np.array_equal(proj(np.array([5.0, 2.0])), [5.0, 2.0])
    assert np.allclose(proj(np.array([0.0, 0.0])), [1.0, 1.0], atol=1e-12)
    assert np.allclose(proj(np.array([1.75, 3.0])), [2.25, 1.5], atol=1e-10)
