"""HS071 (Hock & Schittkowski 71) through ipopt and scipy, in cvxpy algebra and as callbacks.

    min x1 x4 (x1 + x2 + x3) + x3  s.t.  x1 x2 x3 x4 >= 25,  Σ xᵢ² = 40,  1 <= x <= 5

from x0 = (1, 5, 5, 1). Published optimum f* = 17.0140173 at x* ≈ (1, 4.742999, 3.821150, 1.379408).
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import optkit as ok
from conftest import require_backend
from optkit.status import Termination

F_STAR = 17.0140173
X_STAR = np.array([1.0, 4.742999, 3.821150, 1.379408])
X0 = np.array([1.0, 5.0, 5.0, 1.0])


def hs071_cvxpy():
    x = cp.Variable(4, bounds=[1, 5])
    c1 = x[0] * x[1] * x[2] * x[3] >= 25
    c2 = cp.sum_squares(x) == 40
    prob = ok.Problem(cp.Minimize(x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2]), [c1, c2])
    return prob, x, c1, c2


def _f(x):
    return x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2]


def _grad(x):
    return np.array([x[3] * (2 * x[0] + x[1] + x[2]), x[0] * x[3], x[0] * x[3] + 1.0,
                     x[0] * (x[0] + x[1] + x[2])])


def _cons(x):
    return np.array([np.prod(x), np.sum(x ** 2)])


def _jac(x):
    p = np.prod(x)
    return np.array([p / x, 2 * x])


def _hess(x, y):
    H = np.zeros((4, 4))
    H[0, 0] = 2 * x[3]
    H[0, 1] = H[1, 0] = x[3]
    H[0, 2] = H[2, 0] = x[3]
    H[0, 3] = H[3, 0] = 2 * x[0] + x[1] + x[2]
    H[1, 3] = H[3, 1] = x[0]
    H[2, 3] = H[3, 2] = x[0]
    P = np.zeros((4, 4))  # ∇²(x1x2x3x4): off-diagonal products of the other two
    for i in range(4):
        for j in range(4):
            if i != j:
                P[i, j] = np.prod([x[k] for k in range(4) if k not in (i, j)])
    return H + y[0] * P + y[1] * 2 * np.eye(4)


def hs071_callbacks(derivatives: bool) -> ok.NLP:
    kw = dict(grad=_grad, jac=_jac, hess=_hess) if derivatives else {}
    return ok.NLP(x0=X0, f=_f, cons=_cons, cl=[25, 40], cu=[np.inf, 40], lb=1, ub=5,
                  name="hs071", **kw)


@pytest.mark.backend("ipopt")
def test_hs071_cvxpy_ipopt():
    prob, x, c1, c2 = hs071_cvxpy()
    res = ok.solve(prob, "ipopt", x0={x: X0}, tol=1e-8, time_limit=10)
    assert res.termination == Termination.LOCALLY_OPTIMAL
    assert res.is_solved()
    assert res.objective == pytest.approx(F_STAR, abs=1e-6)
    assert res.kkt["kkt"] <= 1e-6
    assert res.kkt["multipliers"] == "solver"
    np.testing.assert_allclose(res.value(x), X_STAR, atol=1e-5)
    # published multipliers (cvxpy sign: ≥ 0 for the ≥ constraint): λ1 ≈ 0.552294, λ2 ≈ 0.161469
    assert res.dual(c1) == pytest.approx(0.552294, abs=1e-5)
    assert abs(res.dual(c2)) == pytest.approx(0.161469, abs=1e-5)
    assert res.iterations is not None and 5 <= res.iterations <= 60
    keys = {"iteration", "objective", "primal_infeasibility", "dual_infeasibility", "evaluations",
            "time", "mu", "alpha_pr"}
    assert res.history and keys <= set(res.history[-1])
    assert res.history[-1]["objective"] == pytest.approx(F_STAR, abs=1e-6)
    assert res.solver_version.startswith("3.")


@pytest.mark.parametrize("method", ["SLSQP", "trust-constr"])
def test_hs071_cvxpy_scipy(method):
    prob, x, c1, _c2 = hs071_cvxpy()
    res = ok.solve(prob, "scipy", method=method, x0={x: X0})
    assert res.termination == Termination.LOCALLY_OPTIMAL
    assert res.objective == pytest.approx(F_STAR, abs=1e-5)
    assert res.kkt["kkt"] <= 1e-5
    np.testing.assert_allclose(res.value(x), X_STAR, atol=1e-4)
    assert res.dual(c1) == pytest.approx(0.552294, abs=1e-4)


def test_hs071_duals_agree_between_backends():
    require_backend("ipopt")
    prob, x, _c1, _c2 = hs071_cvxpy()
    a = ok.solve(prob, "ipopt", x0={x: X0})
    b = ok.solve(prob, "scipy", method="SLSQP", x0={x: X0})
    c = ok.solve(prob, "scipy", method="trust-constr", x0={x: X0})
    np.testing.assert_allclose(b.y, a.y, atol=1e-5)
    np.testing.assert_allclose(c.y, a.y, atol=1e-4)


@pytest.mark.parametrize("solver,kw", [("ipopt", {}), ("scipy", {"method": "SLSQP"}),
                                       ("scipy", {"method": "trust-constr"})])
def test_hs071_callbacks_exact(solver, kw):
    if solver == "ipopt":
        require_backend("ipopt")
    res = ok.solve(hs071_callbacks(True), solver, **kw)
    assert res.termination == Termination.LOCALLY_OPTIMAL
    assert res.objective == pytest.approx(F_STAR, abs=1e-6 if solver == "ipopt" else 1e-5)
    np.testing.assert_allclose(res.x, X_STAR, atol=1e-4)
    assert "derivatives" not in res.extra
    assert "finite differences" not in res.message
    assert res.evaluations["grad"] > 0 and res.evaluations["jac"] > 0


@pytest.mark.parametrize("solver,kw,tol", [("ipopt", {}, 1e-5),
                                           ("scipy", {"method": "SLSQP"}, 1e-5),
                                           ("scipy", {"method": "trust-constr"}, 1e-4)])
def test_hs071_callbacks_finite_differences(solver, kw, tol):
    if solver == "ipopt":
        require_backend("ipopt")
    res = ok.solve(hs071_callbacks(False), solver, **kw)
    assert res.termination == Termination.LOCALLY_OPTIMAL
    assert res.objective == pytest.approx(F_STAR, abs=tol)
    np.testing.assert_allclose(res.x, X_STAR, atol=1e-3)
    assert res.extra["derivatives"] == {"grad": "finite-difference", "jac": "finite-difference",
                                        "hess": "finite-difference"}
    assert "finite differences for: grad, jac, hess" in res.message


@pytest.mark.backend("ipopt")
def test_hs071_ipopt_limited_memory_hessian():
    prob, x, _, _ = hs071_cvxpy()
    res = ok.solve(prob, "ipopt", x0={x: X0}, hessian="limited-memory")
    assert res.termination == Termination.LOCALLY_OPTIMAL
    assert res.objective == pytest.approx(F_STAR, abs=1e-6)
    assert res.evaluations["hess"] == 0


@pytest.mark.parametrize("solver,kw", [("ipopt", {}), ("scipy", {"method": "SLSQP"}),
                                       ("scipy", {"method": "trust-constr"})])
def test_hs071_iteration_limit(solver, kw):
    if solver == "ipopt":
        require_backend("ipopt")
    prob, x, _, _ = hs071_cvxpy()
    res = ok.solve(prob, solver, x0={x: X0}, max_iter=2, **kw)
    assert res.termination == Termination.ITERATION_LIMIT
    assert not res.is_solved()
    assert res.x is not None


def test_backends_nlp_doc_examples_run(monkeypatch):
    """The ```python blocks of docs/backends_nlp.md execute and their assertions hold."""
    import re
    from pathlib import Path

    require_backend("ipopt")
    root = Path(__file__).resolve().parents[1]
    doc = root / "docs" / "backends_nlp.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(root)
    for block in blocks:
        exec(compile(block, str(doc), "exec"), {})
