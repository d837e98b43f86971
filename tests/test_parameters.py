"""Parameters done right: change a ``cp.Parameter`` and solve the same ``ok.Problem`` again — every
backend sees the new data (closed-form optima), and the compiled LinearForm re-applies only the
parameter-dependent data, in place, without recompiling."""
import numpy as np
import pytest

from conftest import require_backend

cp = pytest.importorskip("cvxpy")
import optkit as ok  # noqa: E402
from optkit.errors import DataError  # noqa: E402
from optkit.status import Termination  # noqa: E402


def _lp():
    """min x0 + 2x1  s.t.  x0 + x1 >= p,  0 <= x0 <= u,  x1 >= 0.

    Optimum: p when p <= u (x0 = p), else 2p − u (x0 = u, x1 = p − u)."""
    x = cp.Variable(2)
    p = cp.Parameter(nonneg=True, value=1.0)
    u = cp.Parameter(nonneg=True, value=3.0)
    cons = [cp.sum(x) >= p, x[0] <= u, x >= 0]
    return ok.Problem(cp.Minimize(x[0] + 2 * x[1]), cons), x, p, u


def _lp_optimum(p: float, u: float) -> float:
    return p if p <= u else 2 * p - u


def _qp():
    """min ‖x − a‖²  s.t.  x0 + x1 = s:  x = (s/2, s/2), optimum 2(s/2 − a)²."""
    x = cp.Variable(2)
    a = cp.Parameter(value=0.0)
    s = cp.Parameter(value=1.0)
    return ok.Problem(cp.Minimize(cp.sum_squares(x - a)), [cp.sum(x) == s]), x, a, s


LINEAR_BACKENDS = ["highs", "clarabel", "cvxpy", "scipy", "pyomo", "ipopt"]


@pytest.mark.parametrize("solver", LINEAR_BACKENDS)
def test_lp_resolve_after_parameter_change(solver):
    require_backend(solver)
    prob, x, p, u = _lp()
    for pv, uv in [(1.0, 3.0), (2.0, 3.0), (5.0, 3.0), (5.0, 4.5), (0.5, 0.1)]:
        p.value, u.value = pv, uv
        res = ok.solve(prob, solver)
        assert res.termination in (Termination.OPTIMAL, Termination.LOCALLY_OPTIMAL), (pv, uv)
        assert res.objective == pytest.approx(_lp_optimum(pv, uv), rel=1e-6, abs=1e-6), (pv, uv)
        assert res.value(x)[0] == pytest.approx(min(pv, uv), abs=1e-5)


@pytest.mark.parametrize("solver", ["highs", "clarabel", "cvxpy", "scipy", "ipopt"])
def test_qp_resolve_after_parameter_change(solver):
    require_backend(solver)
    prob, x, a, s = _qp()
    for av, sv in [(0.0, 1.0), (1.0, 1.0), (-2.0, 3.0)]:
        a.value, s.value = av, sv
        res = ok.solve(prob, solver)
        assert res.objective == pytest.approx(2 * (sv / 2 - av) ** 2, rel=1e-6, abs=1e-7)
        assert np.allclose(res.value(x), [sv / 2, sv / 2], atol=1e-5)
        # dual of x0 + x1 = s: stationarity 2(x − a) + λ·1 = 0, so λ = 2a − s (cvxpy's sign)
        assert float(res.dual(prob.constraints[0])) == pytest.approx(2 * av - sv, abs=1e-5)


@pytest.mark.parametrize("solver", ["ipopt", "sketch-newton"])
def test_nlp_resolve_after_parameter_change(solver):
    require_backend(solver)
    # min x0² + x1²  s.t.  x0·x1 = p  (p > 0): x0 = x1 = √p, optimum 2p
    x = cp.Variable(2)
    p = cp.Parameter(nonneg=True, value=1.0)
    prob = ok.Problem(cp.Minimize(cp.sum_squares(x)), [x[0] * x[1] == p])
    assert prob.problem_class == "nlp"
    for pv in (1.0, 4.0, 0.25):
        p.value = pv
        res = ok.solve(prob, solver, x0={x: np.array([1.0, 1.5])})
        assert res.termination == Termination.LOCALLY_OPTIMAL
        assert res.objective == pytest.approx(2 * pv, rel=1e-5)
        assert np.allclose(res.value(x), [np.sqrt(pv)] * 2, rtol=1e-5)


def test_parameter_data_reapplied_in_place_without_recompiling():
    prob, _x, p, _u = _lp()
    ok.solve(prob, "highs")
    compiled = prob.compile("linear")
    form, A = compiled.form, compiled.form.A
    assert compiled.path == "direct" and compiled.stats["builds"] == 1
    assert compiled.stats["updates"] == 0 and form.meta["version"] == 0
    # no change: nothing is re-read
    ok.solve(prob, "highs")
    assert compiled.stats["updates"] == 0 and compiled.stats["pieces_reread"] == 0
    p.value = 2.5
    res = ok.solve(prob, "highs")
    assert res.objective == pytest.approx(2.5)
    assert prob.compile("linear") is compiled and compiled.form is form and form.A is A
    assert compiled.stats == {"builds": 1, "updates": 1, "pieces_reread": 1, "path": "direct"}
    assert form.meta["version"] == 1 and form.meta["changed"] == ("ru",)
    # only the row that depends on p changed: −x0 − x1 <= −p
    assert form.ru[0] == pytest.approx(-2.5)


def test_parameter_in_the_matrix_same_and_new_sparsity():
    x = cp.Variable(3)
    M = cp.Parameter((2, 3), value=np.array([[1.0, 1, 0], [0, 1, 1]]))
    prob = ok.Problem(cp.Minimize(cp.sum(x)), [M @ x >= 1, x >= 0, x <= 10])
    ref_prob = cp.Problem(prob.objective, prob.constraints)
    res = ok.solve(prob, "highs")
    assert res.objective == pytest.approx(ref_prob.solve(solver=cp.CLARABEL), rel=1e-7)
    data = prob.compile("linear").form.A.data
    M.value = np.array([[2.0, 1, 0], [0, 4, 1]])  # same nonzero pattern: written in place
    res = ok.solve(prob, "highs")
    assert prob.compile("linear").form.A.data is data
    assert res.objective == pytest.approx(ref_prob.solve(solver=cp.CLARABEL), rel=1e-7)
    M.value = np.array([[0.0, 0, 3], [5, 0, 0]])  # new pattern: A is rebuilt
    res = ok.solve(prob, "highs")
    assert res.objective == pytest.approx(1 / 3 + 1 / 5, rel=1e-7)
    assert prob.compile("linear").stats["updates"] == 2


def test_parameter_in_objective_and_bounds():
    w = cp.Parameter(nonneg=True, value=1.0)
    lo = cp.Parameter(2, value=np.zeros(2))
    x = cp.Variable(2, bounds=[lo, 10])
    prob = ok.Problem(cp.Minimize(w * cp.sum_squares(x - 3) + cp.sum(x)), [])
    res = ok.solve(prob, "clarabel")
    # unconstrained in the box: x = 3 − 1/(2w)
    assert np.allclose(res.value(x), [2.5, 2.5], atol=1e-6)
    w.value = 0.25
    res = ok.solve(prob, "clarabel")
    assert np.allclose(res.value(x), [1.0, 1.0], atol=1e-6)
    lo.value = np.array([2.0, 0.0])
    res = ok.solve(prob, "clarabel")
    assert np.allclose(res.value(x), [2.0, 1.0], atol=1e-6)
    assert prob.compile("linear").stats["builds"] == 1


def test_cvxpy_path_recompiles_on_change():
    # cumsum is not read directly: cvxpy's canonicalisation compiles it, and again on a change
    x = cp.Variable(3)
    p = cp.Parameter(value=1.0)
    prob = ok.Problem(cp.Minimize(cp.sum(x)), [cp.cumsum(x) >= p, x >= -5])
    assert ok.solve(prob, "highs").objective == pytest.approx(1.0)
    compiled = prob.compile("linear")
    assert compiled.path == "cvxpy"
    p.value = 2.0
    res = ok.solve(prob, "highs")
    assert res.objective == pytest.approx(2.0)
    assert np.allclose(res.dual(prob.constraints[0]), [0, 0, 1], atol=1e-8)
    assert compiled.stats["updates"] == 1 and compiled.form.meta["version"] == 1


def test_user_problem_kept_and_resolved():
    x = cp.Variable(2, nonneg=True)
    p = cp.Parameter(value=2.0)
    user = cp.Problem(cp.Minimize(cp.sum(x)), [x[0] + 2 * x[1] >= p])
    model = ok.Problem.from_cvxpy(user)
    assert model.cvxpy_problem is user and ok.Problem(user).cvxpy_problem is user
    assert ok.solve(model, "highs").objective == pytest.approx(1.0)
    p.value = 6.0
    assert ok.solve(model, "highs").objective == pytest.approx(3.0)
    with pytest.raises(ok.errors.InvalidProblemError):
        ok.Problem(user, [x >= 0])


def test_parameter_without_value_is_refused_on_resolve():
    prob, _x, p, _u = _lp()
    ok.solve(prob, "highs")
    p.value = None
    with pytest.raises(ok.errors.InvalidProblemError, match="has no value"):
        ok.solve(prob, "highs")


def test_non_finite_parameter_value_is_refused():
    from optkit.ir.cvxpy_linear import ParamWatch

    p = cp.Parameter(2, value=np.ones(2))
    watch = ParamWatch([p])
    p._value = np.array([1.0, np.inf])  # cvxpy's setter refuses it; the check does not rely on that
    with pytest.raises(DataError, match="non-finite"):
        watch.changed()
