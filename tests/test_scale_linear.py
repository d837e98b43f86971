"""The modelling layer at scale: cvxpy objects → LinearForm in O(nnz), no dense copy of user data,
and the direct reader agreeing with cvxpy's own canonicalisation and duals."""
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import require_backend

cp = pytest.importorskip("cvxpy")
import optkit as ok  # noqa: E402
from optkit.errors import DataError  # noqa: E402
from optkit.ir.cvxpy_linear import compile_linear  # noqa: E402
from optkit.status import Termination  # noqa: E402


def _banded(n: int, seed: int = 0) -> sp.csr_matrix:
    """m = n/2 rows, row i with 5 entries in columns 2i..2i+4 (mod n), values in [0.1, 1]."""
    rng = np.random.default_rng(seed)
    m = n // 2
    rows = np.repeat(np.arange(m), 5)
    cols = (2 * rows + np.tile(np.arange(5), m)) % n
    return sp.csr_matrix((rng.uniform(0.1, 1.0, m * 5), (rows, cols)), shape=(m, n))


@pytest.mark.slow
def test_lp_with_a_million_variables():
    require_backend("highs")
    n = 10**6
    A = _banded(n)
    c = np.random.default_rng(1).uniform(-1.0, 1.0, n)
    b = np.asarray(A.sum(axis=1)).ravel() + 1.0  # every row is slack on the box: x = 1[c < 0]
    x = cp.Variable(n, bounds=[0, 1])
    prob = ok.Problem(cp.Minimize(c @ x), [A @ x <= b])
    res = ok.solve(prob, "highs")
    form = prob.compile("linear").form
    assert prob.compile("linear").path == "direct"
    assert (form.n, form.m, form.A.nnz) == (n, n // 2, A.nnz)
    assert res.termination == Termination.OPTIMAL and res.is_solved()
    assert res.objective == pytest.approx(float(np.minimum(c, 0).sum()), rel=1e-9)
    assert res.value(x).shape == (n,) and res.dual(prob.constraints[0]).shape == (n // 2,)
    assert np.array_equal(res.value(x) > 0.5, c < 0)


@pytest.mark.slow
def test_banded_qp_goes_to_an_interior_point_backend_by_default():
    require_backend("clarabel")
    n = 10**5
    A = _banded(n)
    Q = sp.diags([np.full(n - 1, -1.0), np.full(n, 2.5), np.full(n - 1, -1.0)], [-1, 0, 1],
                 format="csc")
    xs = np.full(n, 0.5)  # interior optimum: c = −Q x*, rows slack at x*
    c = -(Q @ xs)
    x = cp.Variable(n, bounds=[0, 1])
    prob = ok.Problem(cp.Minimize(c @ x + 0.5 * cp.quad_form(x, Q)), [A @ x <= A @ xs + 1.0])
    assert prob.problem_class == "qp"
    res = ok.solve(prob)
    assert res.solver == "clarabel"
    assert res.termination == Termination.OPTIMAL
    assert res.objective == pytest.approx(-0.5 * float(xs @ (Q @ xs)), rel=1e-7)
    assert np.abs(res.value(x) - xs).max() < 1e-5


def test_sparse_constant_with_nan_is_named_without_densifying():
    n = 10**5
    A = _banded(n)
    A.data[123456] = np.nan
    i, j = int(np.searchsorted(A.indptr, 123456, side="right") - 1), int(A.indices[123456])
    x = cp.Variable(n)
    expr = A @ x
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            ok.Problem(cp.Minimize(cp.sum(x)), [x >= 0, expr <= 1])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "constraint 1" in str(info.value) and f"({i}, {j})" in str(info.value)
    assert "nan" in str(info.value)
    assert peak < 50 * 2**20  # a dense copy would be 8·n²/2 = 40 GB


def test_sparse_quad_form_matrix_is_classified_without_densifying():
    n = 10**5
    Q = sp.diags([np.full(n - 1, -1.0), np.full(n, 2.5), np.full(n - 1, -1.0)], [-1, 0, 1],
                 format="csc")
    x = cp.Variable(n)
    obj = cp.Minimize(cp.sum(x) + cp.quad_form(x, Q))
    tracemalloc.start()
    try:
        prob = ok.Problem(obj, [x >= 0])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert prob.problem_class == "qp"
    assert peak < 100 * 2**20  # cvxpy's own NSD test would densify Q: 80 GB


def _mixed_problem():
    rng = np.random.default_rng(1)
    x = cp.Variable(4, name="x")
    y = cp.Variable((2, 3), nonneg=True)
    z = cp.Variable(bounds=[-1, 2])
    A = rng.normal(size=(3, 4))
    B = sp.random(2, 4, density=0.6, random_state=1, format="csr")
    cons = [A @ x <= 1, x >= -2, cp.sum(y, axis=0) == np.arange(3) + 1, B @ x + z >= -1,
            y[0, 1] <= 3 * z + 2, x[1:3] <= y[1, :2] + 1, cp.hstack([x[0], z]) <= 4,
            cp.NonNeg(x + 3), y.T @ np.ones(2) <= 5, x[3] == 0.5 * x[2] - 0.1,
            cp.reshape(y, (6,), order="C") <= 4]
    f = rng.normal(size=4) @ x + cp.sum(y) - z + 3
    return f, cons, [x, y, z]


def test_direct_reader_matches_cvxpy_canonicalisation_on_an_lp():
    f, cons, _ = _mixed_problem()
    prob = cp.Problem(cp.Minimize(f), cons)
    direct, chain = compile_linear(prob, direct=True), compile_linear(prob, direct=False)
    assert (direct.path, chain.path) == ("direct", "cvxpy")
    d, c = direct.form, chain.form
    assert (d.n, d.m) == (c.n, c.m) == (11, 31)
    for name in ("c", "rl", "ru", "lb", "ub"):
        assert np.array_equal(getattr(d, name), getattr(c, name)), name
    assert abs(d.A - c.A).max() == 0.0 and d.c0 == c.c0 == 3.0


@pytest.mark.parametrize("qp", [False, True])
@pytest.mark.parametrize("sense", ["min", "max"])
def test_values_and_duals_match_cvxpy_own_solve(qp, sense):
    f, cons, variables = _mixed_problem()
    if qp:
        x, y = variables[0], variables[1]
        quad = (0.5 * cp.sum_squares(x - 1) + cp.quad_form(y[:, 0], np.eye(2))
                + cp.sum(cp.square(y[1])) / 4)
        f = f + quad if sense == "min" else -f - quad
    elif sense == "max":
        f = -f
    prob = cp.Problem(cp.Minimize(f) if sense == "min" else cp.Maximize(f), cons)
    ref = prob.solve(solver=cp.CLARABEL)
    ref_values = [np.copy(v.value) for v in prob.variables()]
    ref_duals = [np.copy(c.dual_value) for c in prob.constraints]
    model = ok.Problem.from_cvxpy(prob)
    res = ok.solve(model, "clarabel")
    assert model.compile("linear").path == "direct"
    assert res.is_solved() and res.objective == pytest.approx(ref, rel=1e-7)
    if qp:  # x enters strictly convexly: unique
        x = variables[0]
        rv = next(v for v, var in zip(ref_values, prob.variables()) if var.id == x.id)
        assert np.allclose(res.value(x), rv, atol=1e-5)
    for con, rd in zip(prob.constraints, ref_duals):
        assert np.allclose(res.dual(con), rd, atol=1e-5), str(con)
    assert max(float(np.abs(d).max()) for d in ref_duals) > 0.1


def test_nonpos_zero_stacking_and_matrix_products_match_cvxpy():
    x = cp.Variable(4)
    X = cp.Variable((2, 2))
    R = np.array([[1.0, -1.0, 2.0], [0.5, 1.0, 0.0]])
    cons = [cp.NonPos(-x - 1), cp.Zero(x[0] + x[1] - 1), cp.vstack([x[:2], x[2:]]) >= -2,
            x <= 5, X @ R <= 1, cp.reshape(X, (4,), order="C") >= -3,
            X[0, 0] + X[1, 1] >= 0.5 + x[3], X.T @ np.ones(2) <= 2]
    prob = cp.Problem(cp.Minimize(np.arange(1, 5) @ x + cp.sum(X @ R) + cp.sum_squares(X)), cons)
    ref = prob.solve(solver=cp.CLARABEL)
    ref_duals = [np.copy(c.dual_value) for c in prob.constraints]
    res = ok.solve(ok.Problem.from_cvxpy(prob), "clarabel")
    assert res.objective == pytest.approx(ref, rel=1e-7)
    for con, rd in zip(prob.constraints, ref_duals):
        assert np.allclose(res.dual(con), rd, atol=1e-5), str(con)


def test_milp_through_the_direct_reader():
    require_backend("highs")
    x = cp.Variable(3, integer=True)
    b = cp.Variable(2, boolean=True)
    prob = ok.Problem(cp.Maximize(x @ np.array([1, 2, 3.0]) + 5 * cp.sum(b)),
                      [cp.sum(x) <= 7.5, x >= 0, x[2] <= 1.5 + b[0], b[1] + b[0] <= 1])
    res = ok.solve(prob, "highs")
    assert prob.compile("linear").path == "direct"
    # x2 <= 2 with b0 = 1 (b1 = 0), the rest of Σx <= 7 on x1: 2·5 + 3·2 + 5 = 21
    assert res.objective == pytest.approx(21.0) and res.is_solved()
    assert np.allclose(res.value(b), [1, 0]) and res.dual(prob.constraints[0]) is None


def test_unsupported_structure_falls_back_to_cvxpy():
    x = cp.Variable(3)
    prob = cp.Problem(cp.Minimize(cp.sum(x)), [cp.cumsum(x) >= 1, cp.diag(x) <= 4 * np.eye(3)])
    compiled = compile_linear(prob)
    assert compiled.path == "cvxpy"
    with pytest.raises(ok.errors.UnsupportedProblemError, match="cumsum|diag"):
        compile_linear(prob, direct=True)
    assert ok.solve(ok.Problem.from_cvxpy(prob), "highs").objective == pytest.approx(1.0)
