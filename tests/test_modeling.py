"""Modelling layer: classification, validation, user units, duals, starting points."""
import cvxpy as cp
import numpy as np
import pytest

import optkit as ok
from optkit.errors import DataError, InvalidProblemError, UnsupportedProblemError


def test_classification():
    x = cp.Variable(3)
    z = cp.Variable(2, integer=True)
    cases = {
        "lp": ok.Problem(cp.Minimize(cp.sum(x)), [x >= 0]),
        "qp": ok.Problem(cp.Minimize(cp.sum_squares(x)), [cp.sum(x) == 1]),
        "milp": ok.Problem(cp.Minimize(cp.sum(z)), [z >= 1]),
        "miqp": ok.Problem(cp.Minimize(cp.sum_squares(z) + cp.sum(x)), [x >= 0]),
        "conic": ok.Problem(cp.Minimize(cp.norm(x, 2)), [cp.sum(x) == 1]),
        "nlp": ok.Problem(cp.Minimize(x[0] * x[1]), [x[2] ** 2 == 1]),
    }
    for cls, prob in cases.items():
        assert prob.problem_class == cls
    assert "nlp" in cases["lp"].kinds and "conic" in cases["qp"].kinds
    assert "nlp" not in cases["milp"].kinds


def test_unsupported_problem_is_named():
    z = cp.Variable(integer=True)
    x = cp.Variable()
    with pytest.raises(UnsupportedProblemError, match="MINLP"):
        ok.Problem(cp.Minimize(cp.exp(z) * x))
    with pytest.raises(UnsupportedProblemError, match="neither convex"):
        ok.Problem(cp.Maximize(cp.norm(cp.hstack([x, x * x]), 2)))


def test_nan_in_constant_data_is_an_error_naming_the_expression():
    x = cp.Variable(2)
    with pytest.raises(DataError, match=r"constraint 1 .*nan"):
        ok.Problem(cp.Minimize(cp.sum(x)), [x >= 0, x <= np.array([1.0, np.nan])])
    with pytest.raises(DataError, match="objective"):
        ok.Problem(cp.Minimize(np.array([np.inf, 1.0]) @ x), [x >= 0])


def test_bad_objective_and_constraint_types():
    x = cp.Variable()
    with pytest.raises(InvalidProblemError, match="Minimize"):
        ok.Problem(x, [])
    with pytest.raises(InvalidProblemError, match="not a cvxpy constraint"):
        ok.Problem(cp.Minimize(x), [True])


def test_maximisation_reported_in_user_units_and_duals_match_clarabel():
    x = cp.Variable(2, nonneg=True)
    cons = [x[0] + 2 * x[1] <= 4, 3 * x[0] + x[1] <= 6, x[0] - x[1] == 0.2]
    prob = ok.Problem(cp.Maximize(x[0] + x[1] + 1), cons)
    res = ok.solve(prob, "highs")
    ref = cp.Problem(cp.Maximize(x[0] + x[1] + 1), cons)
    ref.solve(solver=cp.CLARABEL)
    assert res.is_solved()
    assert res.objective == pytest.approx(ref.value, rel=1e-7)
    assert np.allclose(res.value(x), x.value, atol=1e-6)
    for c in cons:
        assert np.allclose(res.dual(c), c.dual_value, atol=1e-6)


def test_x0_validation():
    x = cp.Variable(2)
    y = cp.Variable()
    prob = ok.Problem(cp.Minimize(x[0] * x[1] + x[0] ** 2), [x[0] + x[1] == 1])
    with pytest.raises(InvalidProblemError, match="shape"):
        prob.check_x0({x: [1.0, 2.0, 3.0]})
    with pytest.raises(InvalidProblemError, match="not a variable"):
        prob.check_x0({y: 1.0})
    with pytest.raises(InvalidProblemError, match="non-finite"):
        prob.check_x0({x: [np.nan, 1.0]})
    form = prob.compile("nlp", {x: [0.25, 0.75]}).form
    assert np.allclose(form.x0[:2], [0.25, 0.75])


def test_solve_accepts_plain_cvxpy_problem_and_file_path(mps_dir):
    x = cp.Variable(2, nonneg=True)
    res = ok.solve(cp.Problem(cp.Minimize(x[0] + x[1]), [x[0] + x[1] >= 2]), "highs")
    assert res.objective == pytest.approx(2.0)
    res = ok.solve(str(mps_dir / "afiro.mps"), "highs")
    assert res.objective == pytest.approx(-464.7531428571, rel=1e-9)
    with pytest.raises(TypeError, match="cannot solve"):
        ok.solve(42)
