"""Messages that used to mislead now say what is wrong (issue 11 item 8).

Each test asserts the new message (or status): a Hessian of the wrong shape (was "Invalid option
encountered."), a 1e300 coefficient (was "rejected (e.g. a nonconvex Q)"), an infeasible
multiobjective problem (was NUMERICAL_ERROR), lb = +inf on a callback NLP (was "solved" at 1e20),
and the same kinds: wrong-shaped gradient / Jacobian / constraints, NaN from a callback at x0.
"""
from __future__ import annotations

import numpy as np
import pytest

import optkit as ok
from optkit.errors import DataError, InvalidProblemError
from optkit.ir.linear_form import COEFFICIENT_LIMIT
from optkit.status import Termination
from optkit.testing.skips import require_backend


def _sq(x):
    return float(x @ x)


# ---------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("solver", ["ipopt", "scipy"])
def test_hessian_of_wrong_shape_names_oracle_and_shapes(solver):
    require_backend(solver)
    nlp = ok.NLP(np.ones(2), _sq, grad=lambda x: 2 * x, hess=lambda x, y: np.eye(3))
    kw = {"method": "trust-constr"} if solver == "scipy" else {}
    with pytest.raises(InvalidProblemError, match=r"hess oracle returned an array of shape "
                                                  r"\(3, 3\), expected \(2, 2\)"):
        ok.solve(nlp, solver, **kw)  # was "Invalid option encountered." from ipopt


@pytest.mark.parametrize("solver", ["ipopt", "scipy"])
def test_hessian_of_wrong_shape_later_names_oracle_and_shapes(solver):
    require_backend(solver)
    x0 = np.ones(2)

    def hess(x, y):  # right at x0, wrong elsewhere
        return 2 * np.eye(2) if np.array_equal(x, x0) else np.eye(3)
    nlp = ok.NLP(x0, lambda x: float(x @ x + x[0] ** 4), grad=lambda x: 2 * x + [4 * x[0] ** 3, 0],
                 hess=hess)
    kw = {"method": "trust-constr"} if solver == "scipy" else {}
    with pytest.raises(InvalidProblemError, match=r"hess oracle returned an array of shape "
                                                  r"\(3, 3\), expected \(2, 2\)"):
        ok.solve(nlp, solver, **kw)


def test_gradient_and_jacobian_of_wrong_shape_are_named():
    with pytest.raises(InvalidProblemError, match=r"grad\(x0\) has 3 entries, expected 2"):
        ok.NLP(np.ones(2), _sq, grad=lambda x: np.ones(3))
    with pytest.raises(InvalidProblemError, match=r"jac\(x0\) has shape \(1, 3\), expected \(1, 2\)"):
        ok.NLP(np.ones(2), _sq, cons=lambda x: np.array([x.sum()]), jac=lambda x: np.ones((1, 3)))


def test_form_oracle_of_wrong_shape_is_named():
    calls = {"n": 0}

    def cons(x):
        calls["n"] += 1
        return np.array([x.sum()]) if calls["n"] == 1 else np.array([x.sum(), 0.0])
    form = ok.NLP(np.ones(2), _sq, cons=cons, cl=-np.inf, cu=1.0).form()
    with pytest.raises(InvalidProblemError, match=r"cons oracle returned an array of shape "
                                                  r"\(2,\), expected \(1,\)"):
        form.cons(form.x0)


# ---------------------------------------------------------------------------- NaN at x0
def test_nan_from_a_callback_at_x0_names_oracle_and_index():
    with pytest.raises(InvalidProblemError, match=r"f\(x0\) = nan is not finite"):
        ok.NLP(np.ones(2), lambda x: float("nan"))
    with pytest.raises(DataError, match=r"grad\(x0\)\[1\] = nan is not finite"):
        ok.NLP(np.ones(2), _sq, grad=lambda x: np.array([1.0, np.nan]))
    with pytest.raises(InvalidProblemError, match=r"cons\(x0\)\[0\] = inf is not finite"):
        ok.NLP(np.ones(2), _sq, cons=lambda x: np.array([np.inf]))


# ---------------------------------------------------------------------------- bounds
@pytest.mark.parametrize("lb, ub, pattern", [
    ([np.inf, 0.0], None, r"variable index 0: lower bound lb\[0\] = inf admits no value"),
    (None, [1.0, -np.inf], r"variable index 1: upper bound ub\[1\] = -inf admits no value"),
    ([0.0, 2.0], [1.0, 1.0], r"variable bounds cross at index 1: 2.0 > 1.0"),
])
def test_impossible_variable_bounds_of_a_callback_nlp_are_refused(lb, ub, pattern):
    nlp = ok.NLP(np.ones(2), _sq, lb=lb, ub=ub)
    with pytest.raises(InvalidProblemError, match=pattern):
        ok.solve(nlp, "ipopt")


def test_infinite_constraint_side_is_refused():
    nlp = ok.NLP(np.ones(2), _sq, cons=lambda x: np.array([x.sum()]), cl=np.inf, cu=np.inf)
    with pytest.raises(InvalidProblemError, match=r"constraint index 0: lower bound cl\[0\] = inf"):
        nlp.form()


# ---------------------------------------------------------------------------- coefficients
def test_huge_coefficient_is_refused_with_place_and_value():
    with pytest.raises(DataError, match=r"constraint matrix entry at row index 0, column index 1 "
                                        r"= 1e\+300 is out of range \(\|a\| > 1e\+20"):
        ok.LinearProblem(c=[1, 1], A=[[1.0, 1e300]], rl=[1], ru=[np.inf], lb=0, ub=10)
    with pytest.raises(DataError, match=r"objective coefficient of column index 0 = -1e\+25 is "
                                        r"out of range"):
        ok.LinearProblem(c=[-1e25, 1], A=[[1.0, 1.0]], rl=[1], ru=[np.inf], lb=0, ub=10)
    lp = ok.LinearProblem(c=[1, 1], A=[[COEFFICIENT_LIMIT, 1.0]], rl=[1], ru=[np.inf], lb=0, ub=10)
    assert lp.form.A.max() == COEFFICIENT_LIMIT  # the limit itself is accepted


def test_huge_coefficient_in_a_cvxpy_model_is_refused():
    require_backend("highs")
    import cvxpy as cp

    x = cp.Variable(2)
    prob = cp.Problem(cp.Minimize(x[0] + x[1]), [1e300 * x[0] + x[1] >= 1, x >= 0])
    with pytest.raises(DataError, match=r"1e\+300 is out of range"):
        ok.solve(prob, "highs")


def test_huge_coefficient_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "huge.mps"
    path.write_text("NAME HUGE\nROWS\n N obj\n G r1\nCOLUMNS\n    x obj 1 r1 1e300\n"
                    "    y obj 1 r1 1\nRHS\n    rhs r1 1\nENDATA\n")
    # refused by the reader (HiGHS's own range check) or by the form: either names file and value
    with pytest.raises(InvalidProblemError, match=r"huge\.mps.*1e\+300"):
        ok.solve(str(path), "highs")


# ---------------------------------------------------------------------------- multiobjective
@pytest.mark.parametrize("method", ["weighted-sum", "epsilon-constraint"])
def test_infeasible_multiobjective_is_infeasible(method):
    require_backend(method)
    import cvxpy as cp

    x = cp.Variable(2)
    mo = ok.MultiObjective([cp.Minimize(x[0]), cp.Minimize(x[1])], [x >= 1, x <= 0])
    res = ok.solve(mo, method, points=5)
    assert res.termination == Termination.INFEASIBLE
    assert "constraints are infeasible" in res.message and "anchor" in res.message
    assert len(res) == 0 and not res.is_solved()
    # the sweep stops once every anchor proved the feasible set empty
    assert all("anchor" in e["params"] for e in res.subproblems)


def test_infeasible_callback_multiobjective_is_locally_infeasible():
    require_backend("weighted-sum")
    # 1 ≤ |x|² ≤ 0.25 has no solution; local inner solvers can only claim local infeasibility
    mo = ok.MultiObjective(lambda x: np.array([x @ x, (x - 1) @ (x - 1)]), n=2, lb=-2, ub=2,
                           cons=lambda x: np.array([1.0 - x @ x, x @ x - 0.25]),
                           cl=[-np.inf, -np.inf], cu=[0.0, 0.0])
    res = ok.solve(mo, "weighted-sum", points=3)
    assert res.termination == Termination.LOCALLY_INFEASIBLE
    assert "appear infeasible" in res.message and "anchor" in res.message


@pytest.mark.parametrize("solver", ["ipopt", "scipy"])
def test_constraints_of_wrong_shape_during_a_solve_are_named(solver):
    require_backend(solver)
    x0 = np.array([2.0, 2.0])

    def cons(x):  # right at x0, wrong elsewhere (ipopt must not read it as a NaN evaluation)
        return np.array([x @ x]) if np.array_equal(x, x0) else np.array([x @ x, 0.0])
    nlp = ok.NLP(x0, lambda x: float((x - 1) @ (x - 1)), grad=lambda x: 2 * (x - 1), cons=cons,
                 jac=lambda x: 2 * x.reshape(1, -1), cl=-np.inf, cu=4.0)
    with pytest.raises(InvalidProblemError, match=r"cons oracle returned an array of shape "
                                                  r"\(2,\), expected \(1,\)"):
        ok.solve(nlp, solver)


def test_lbfgsb_refuses_constraint_rows_by_name():
    require_backend("scipy")
    nlp = ok.NLP(np.ones(2), _sq, cons=lambda x: np.array([x.sum()]), cl=1.0, cu=1.0)
    with pytest.raises(ok.errors.OptionError, match=r"'L-BFGS-B' takes bound constraints only; "
                                                    r"this problem has 1 constraint rows"):
        ok.solve(nlp, "scipy", method="L-BFGS-B")


def test_coefficient_beyond_highs_range_names_the_entry():
    require_backend("highs")
    # 1e16 is within optkit's limit (1e20) but above HiGHS's large_matrix_value (1e15)
    lp = ok.LinearProblem(c=[1, 1], A=[[1.0, 1.0], [1.0, 1e16]], rl=[1, 1], ru=[np.inf, np.inf],
                          lb=0, ub=10)
    res = ok.solve(lp, "highs")
    assert res.termination == Termination.INVALID_PROBLEM
    assert "first at row index 1, column index 1 = 1e+16" in res.message
