"""Finite differences through scipy's approx_derivative (issue 14 item 7).

Known answers: analytic derivatives of the same functions; evaluations counted to check that a
banded Jacobian costs O(bandwidth) evaluations whatever n; bounds respected (no evaluation outside
them, no NaN at the bound of −log x).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import optkit as ok
from optkit.ir.finite_differences import Sparsity, fd_gradient, fd_hessian, fd_jacobian
from optkit.testing.skips import require_backend


def _f(x):
    return float(np.sum(np.sin(x) * x ** 2) + x[0] * x[-1])


def _g(x):
    g = np.cos(x) * x ** 2 + 2 * x * np.sin(x)
    g[0] += x[-1]
    g[-1] += x[0]
    return g


def test_gradient_matches_analytic():
    x = np.linspace(-1.0, 2.0, 7)
    assert np.allclose(fd_gradient(_f, x), _g(x), rtol=1e-8, atol=1e-8)


def test_minus_log_at_the_bound_is_finite_and_stays_inside():
    seen = []

    def f(x):
        seen.append(float(x[0]))
        return float(-np.log(x[0]))
    g = fd_gradient(f, np.array([1e-6]), lb=[0.0], ub=[np.inf])
    assert np.all(np.isfinite(g)) and g[0] < -1e5  # analytic −1e6; the old central step: NaN
    assert min(seen) >= 1e-6  # one-sided: never below the point, let alone below lb = 0
    g_in = fd_gradient(f, np.array([1e-2]), lb=[0.0], ub=[np.inf])
    assert g_in[0] == pytest.approx(-100.0, rel=1e-6)  # interior: central, accurate


def test_callback_nlp_at_the_bound_solves():
    require_backend("ipopt")
    nlp = ok.NLP([1e-6], lambda x: float(-np.log(x[0]) + x[0]), lb=[0.0])
    form = nlp.form()
    assert np.all(np.isfinite(form.grad(form.x0)))
    res = ok.solve(nlp, "ipopt")
    assert res.is_solved() and res.x[0] == pytest.approx(1.0, abs=1e-5)  # min of x − log x


def test_fixed_variable_gets_a_finite_derivative():
    g = fd_gradient(lambda x: float(x @ x + x.sum()), np.array([1.0, 2.0]), [1.0, 0.0], [1.0, 5.0])
    assert np.allclose(g, [3.0, 5.0], atol=1e-8)


def _band_cons(x):
    """c_i = x_{i-1} − 2x_i + x_{i+1} + x_i³ (tridiagonal Jacobian)."""
    c = -2 * x + x ** 3
    c[1:] += x[:-1]
    c[:-1] += x[1:]
    return c


def _band_jac(x):
    n = x.size
    return sp.diags([np.ones(n - 1), -2 + 3 * x ** 2, np.ones(n - 1)], [-1, 0, 1], format="csr")


def test_dense_jacobian_matches_analytic():
    x = np.linspace(-1.0, 1.0, 6)
    J = fd_jacobian(_band_cons, x, 6)
    assert sp.issparse(J) and np.allclose(J.toarray(), _band_jac(x).toarray(), atol=1e-8)


def test_banded_jacobian_of_1e4_variables_costs_o_bandwidth_evaluations():
    n = 10_000
    calls = {"c": 0}

    def cons(x):
        calls["c"] += 1
        return _band_cons(x)
    x0 = np.linspace(-1.0, 1.0, n)
    pattern = _band_jac(x0) != 0
    nlp = ok.NLP(x0, lambda x: float(x @ x), grad=lambda x: 2 * x, cons=cons,
                 jac_sparsity=pattern)
    form = nlp.form()
    calls["c"] = 0
    J = form.jac(x0)
    assert calls["c"] <= 2 * 3 + 1  # 3 column groups for a tridiagonal pattern, 2 evaluations
    # each, and one at x0
    assert sp.issparse(J) and J.nnz == 3 * n - 2
    assert abs(J - _band_jac(x0)).max() < 1e-7


def test_sparsity_groups():
    s = Sparsity(_band_jac(np.ones(50)) != 0, (50, 50))
    assert s.n_groups == 3


def test_sparsity_of_wrong_shape_is_refused():
    with pytest.raises(ok.errors.InvalidProblemError, match=r"sparsity pattern has shape"):
        ok.NLP(np.ones(3), lambda x: float(x @ x), cons=lambda x: x[:2], jac_sparsity=np.ones((2, 4)))


def test_lagrangian_hessian_matches_analytic():
    # HS071's objective and constraints: x1 x4 (x1 + x2 + x3) + x3, x1 x2 x3 x4 ≥ 25, Σx² = 40
    def f(x):
        return float(x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2])

    def g(x):
        return np.array([x[3] * (2 * x[0] + x[1] + x[2]), x[0] * x[3], x[0] * x[3] + 1,
                         x[0] * (x[0] + x[1] + x[2])])

    def c(x):
        return np.array([np.prod(x), x @ x])

    def J(x):
        p = np.prod(x)
        return np.vstack([p / x, 2 * x])
    x, y = np.array([1.0, 5.0, 5.0, 1.0]), np.array([0.7, -0.3])
    H_exact = np.array([[2 * x[3], x[3], x[3], 2 * x[0] + x[1] + x[2]],
                        [x[3], 0, 0, x[0]], [x[3], 0, 0, x[0]],
                        [2 * x[0] + x[1] + x[2], x[0], x[0], 0]])
    for i in range(4):
        for j in range(4):
            if i != j:
                H_exact[i, j] += y[0] * np.prod([x[k] for k in range(4) if k not in (i, j)])
    H_exact += y[1] * 2 * np.eye(4)
    H = fd_hessian(lambda z: g(z) + J(z).T @ y, x)
    assert np.allclose(H.toarray(), H_exact, atol=1e-6)
    assert np.allclose(H.toarray(), H.toarray().T)
    form = ok.NLP(x, f, grad=g, cons=c, jac=J, cl=[25, 40], cu=[np.inf, 40]).form()
    assert np.allclose(form.hess(x, y).toarray(), H_exact, atol=1e-6)


def test_hessian_sparsity_uses_few_gradient_calls():
    n = 2000
    calls = {"g": 0}

    def grad(x):
        calls["g"] += 1
        out = 4 * x ** 3
        out[:-1] += x[1:]
        out[1:] += x[:-1]
        return out

    def f(x):
        return float(np.sum(x ** 4) + x[:-1] @ x[1:])
    x0 = np.linspace(0.1, 1.0, n)
    pattern = sp.diags([np.ones(n - 1), np.ones(n), np.ones(n - 1)], [-1, 0, 1])
    form = ok.NLP(x0, f, grad=grad, hess_sparsity=pattern).form()
    calls["g"] = 0
    H = form.hess(x0, np.zeros(0))
    assert calls["g"] <= 2 * 3 + 1  # 3 groups, whatever n
    exact = sp.diags([np.ones(n - 1), 12 * x0 ** 2, np.ones(n - 1)], [-1, 0, 1])
    assert abs(H - exact).max() < 1e-5


def test_solve_with_finite_differences_says_so():
    require_backend("ipopt")
    nlp = ok.NLP([2.0, 2.0], lambda x: float((x[0] - 1) ** 2 + (x[1] + 0.5) ** 2), lb=[0, -1],
                 ub=[3, 3])
    res = ok.solve(nlp, "ipopt")
    assert res.is_solved() and np.allclose(res.x, [1.0, -0.5], atol=1e-6)
    assert res.extra["derivatives"]["grad"] == "finite-difference"


def test_lbfgsb_with_finite_differences_at_an_active_bound():
    require_backend("scipy")
    # min (x0 + 1)² + (x1 − 2)² on [0, 5]²: x* = (0, 2), the first bound active (z = −2 there)
    nlp = ok.NLP([3.0, 3.0], lambda x: float((x[0] + 1) ** 2 + (x[1] - 2) ** 2), lb=0, ub=5)
    res = ok.solve(nlp, "scipy", method="L-BFGS-B")
    assert res.is_solved() and np.allclose(res.x, [0.0, 2.0], atol=1e-6)
    assert res.native_status == "l-bfgs-b:0"
