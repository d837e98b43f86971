"""Compiled forms: derivatives from cvxpy's DNLP engine agree with finite differences."""
import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

import optkit as ok
from optkit.errors import DataError, InvalidProblemError
from optkit.ir.finite_differences import fd_gradient, fd_hessian, fd_jacobian


def _fd_check(prob: ok.Problem, x0: dict, rtol=1e-5):
    form = prob.compile("nlp", x0).form
    x = form.x0 + 0.01 * np.arange(form.n)  # off the start so nothing is symmetric by chance
    y = np.linspace(0.5, 1.5, form.m)
    g = form.grad(x)
    assert np.allclose(g, fd_gradient(form.f, x), rtol=rtol, atol=1e-6)
    if form.m:
        J = form.jac(x).toarray()
        assert np.allclose(J, fd_jacobian(form.cons, x, form.m).toarray(), rtol=rtol, atol=1e-6)
    H = form.hess(x, y).toarray()
    lag = lambda z: form.grad(z) + (form.jac(z).T @ y if form.m else 0)  # noqa: E731
    assert np.allclose(H, fd_hessian(lag, x).toarray(), rtol=1e-4, atol=1e-5)
    assert np.allclose(H, H.T)
    return form


def test_products_quotients_powers_trig_match_finite_differences():
    x = cp.Variable(3)
    obj = x[0] * x[1] / x[2] + cp.nlp.sin(x[0]) * cp.nlp.cos(x[1]) + x[2] ** 3 + cp.exp(0.3 * x[1])
    cons = [x[0] * x[1] * x[2] == 2, cp.log(x[2]) + x[0] ** 2 <= 3, x[1] / x[0] >= 0.1]
    form = _fd_check(ok.Problem(cp.Minimize(obj), cons), {x: [1.0, 2.0, 1.5]})
    # the quotient's denominator has its own auxiliary variable (cvxpy's Dnlp2Smooth), so the
    # gradient in x[2] is not frozen at zero
    assert form.n > 3


def test_quotient_gradient_in_denominator_is_not_zero():
    x = cp.Variable(2)
    prob = ok.Problem(cp.Minimize(x[0] / x[1]), [x[1] >= 0.5])
    res = prob.compile("nlp", {x: [1.0, 2.0]})
    form = res.form
    g = form.grad(form.x0)
    # d/dx1 (x0/x1) = -x0/x1² = -0.25, wherever the chain placed it
    assert np.any(np.isclose(g, -0.25)) or np.isclose(fd_gradient(form.f, form.x0), g).all()
    assert np.allclose(g, fd_gradient(form.f, form.x0), atol=1e-6)


def test_maximisation_is_compiled_as_minimisation_of_minus_f():
    x = cp.Variable(2)
    prob = ok.Problem(cp.Maximize(-(x[0] - 1) ** 2 - x[0] * x[1] ** 2), [x[0] + x[1] == 1])
    c = prob.compile("nlp", {x: [0.5, 0.5]})
    assert c.sense == -1
    v = c.form.f(np.array([0.5, 0.5]))
    assert v == pytest.approx((0.5 - 1) ** 2 + 0.5 * 0.25)


def test_nlp_callback_form_counts_and_fd_flags():
    nlp = ok.NLP(x0=[1.0, 2.0], f=lambda x: x[0] ** 2 + x[1] ** 3,
                 cons=lambda x: np.array([x[0] * x[1] - 1.0]))
    form = nlp.form()
    assert form.derivatives == {"grad": "finite-difference", "jac": "finite-difference",
                                "hess": "finite-difference"}
    g = form.grad(np.array([1.0, 2.0]))
    assert np.allclose(g, [2.0, 12.0], atol=1e-6)
    assert form.counts["grad"] == 1
    H = form.hess(np.array([1.0, 2.0]), np.array([2.0])).toarray()
    assert np.allclose(H, [[2.0, 2.0], [2.0, 12.0]], atol=1e-4)


def test_lagrangian_hessian_callback_with_objective_factor():
    hess = lambda x, y: np.array([[2.0 + 0 * y[0], y[0]], [y[0], 6 * x[1]]])  # noqa: E731
    nlp = ok.NLP(x0=[1.0, 2.0], f=lambda x: x[0] ** 2 + x[1] ** 3, grad=lambda x: np.array([2 * x[0], 3 * x[1] ** 2]),
                 cons=lambda x: np.array([x[0] * x[1] - 1.0]), jac=lambda x: np.array([[x[1], x[0]]]), hess=hess)
    form = nlp.form()
    # ∇²(0.5 f + y c) = 0.5 ∇²f + y ∇²c
    H = form.hess(np.array([1.0, 2.0]), np.array([3.0]), 0.5).toarray()
    assert np.allclose(H, [[1.0, 3.0], [3.0, 6.0]])
    H0 = form.hess(np.array([1.0, 2.0]), np.array([3.0]), 0.0).toarray()
    assert np.allclose(H0, [[0.0, 3.0], [3.0, 0.0]])


def test_linear_form_rejects_nan_and_bad_shapes():
    with pytest.raises(DataError, match=r"objective coefficient .*index 1"):
        ok.LinearProblem(c=[1.0, np.nan], A=sp.eye(2), rl=[0, 0], ru=[1, 1])
    with pytest.raises(DataError, match=r"constraint matrix entry .*row index 1"):
        ok.LinearProblem(c=[1.0, 1.0], A=np.array([[1.0, 0.0], [np.inf, 1.0]]), rl=[0, 0], ru=[1, 1])
    with pytest.raises(InvalidProblemError, match="columns"):
        ok.LinearProblem(c=[1.0, 1.0, 1.0], A=np.eye(2), rl=[0, 0], ru=[1, 1])
    with pytest.raises(InvalidProblemError, match="shape"):
        ok.LinearProblem(c=[1.0, 1.0], A=np.eye(2), rl=[0, 0, 0], ru=[1, 1])
    with pytest.raises(DataError, match="NaN"):
        ok.LinearProblem(c=[1.0, 1.0], A=np.eye(2), rl=[0, np.nan], ru=[1, 1])


def test_nlp_form_rejects_bad_start_and_bounds():
    with pytest.raises(InvalidProblemError, match="not finite"):
        ok.NLP(x0=[1.0], f=lambda x: np.log(x[0] - 2))
    with pytest.raises(InvalidProblemError, match="cross"):
        ok.NLP(x0=[1.0, 1.0], f=lambda x: x @ x, lb=[0, 2], ub=[1, 1]).form()
    with pytest.raises(InvalidProblemError, match="shape"):
        ok.NLP(x0=[1.0, 1.0], f=lambda x: x @ x, cons=lambda x: np.array([x[0]]),
               jac=lambda x: np.ones((2, 2)))


def test_hessian_is_right_when_asked_before_any_gradient():
    # cvxpy 1.9.3's engine returns a zero Hessian unless first-order passes ran after the
    # forward pass; the compiled form makes sure they do
    x = cp.Variable(2)
    prob = ok.Problem(cp.Minimize(cp.sum_squares(x - np.array([1.0, 2.0]))), [x[0] + x[1] <= 2])
    form = prob.compile("nlp").form
    H = form.hess(np.array([0.3, 0.7]), np.ones(form.m)).toarray()
    assert np.allclose(H, 2 * np.eye(2))
