"""Backend ``clarabel``: Clarabel's interior point on LinearForms — statuses, multiplier signs
against HiGHS (an independent solver), declared options and refusals."""
import numpy as np
import pytest
import scipy.sparse as sp

from conftest import require_backend

import optkit as ok
from optkit.errors import OptionError, UnsupportedProblemError
from optkit.status import PrimalStatus, Termination


@pytest.fixture(autouse=True)
def _backend():
    require_backend("clarabel")


def _rows_problem(Q=None) -> ok.LinearProblem:
    """One equality, one upper, one lower and one two-sided row, boxed columns."""
    A = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, -1, 1.0]])
    return ok.LinearProblem(c=[1, 2, 3], A=A, rl=[1, -np.inf, 1.5, -1], ru=[1, 3, np.inf, 0.2],
                            lb=[0, 0, 0], ub=[5, 5, 5], Q=Q)


def test_lp_duals_match_highs_and_the_hand_answer():
    p = _rows_problem()
    ref = ok.solve(p, "highs")
    res = ok.solve(p, "clarabel")
    assert res.termination == Termination.OPTIMAL and res.verified is True and res.is_solved()
    assert res.solver == "clarabel" and res.native_status == "Solved"
    assert res.objective == pytest.approx(3.5, rel=1e-8)
    assert np.allclose(ref.y, [1, 0, -3, 0], atol=1e-9)
    assert np.allclose(res.y, ref.y, atol=1e-7)
    assert np.allclose(res.x, ref.x, atol=1e-7)


def test_mixed_rows_and_fixed_column_duals_match_highs(mixed_rows_lp):
    form = mixed_rows_lp.form
    lb = form.lb.copy()
    ub = form.ub.copy()
    lb[2] = ub[2] = 0.3  # a fixed column goes to Clarabel's zero cone
    lp = ok.LinearProblem(c=form.c, A=form.A, rl=form.rl, ru=form.ru, lb=lb, ub=ub)
    ref = ok.solve(lp, "highs")
    res = ok.solve(lp, "clarabel")
    assert res.is_solved() and ref.is_solved()
    assert res.objective == pytest.approx(ref.objective, rel=1e-8, abs=1e-9)
    assert np.abs(res.y).max() > 0.1  # some row is active: the comparison has teeth
    assert np.allclose(res.y, ref.y, atol=1e-6)


def test_qp_duals_match_highs():
    Q = sp.csr_matrix(np.diag([2.0, 1.0, 4.0]) + 0.5 * (np.eye(3, k=1) + np.eye(3, k=-1)))
    p = _rows_problem(Q=Q)
    ref = ok.solve(p, "highs")
    res = ok.solve(p, "clarabel")
    assert res.termination == Termination.OPTIMAL and res.verified is True
    assert res.objective == pytest.approx(ref.objective, rel=1e-8)
    assert np.allclose(res.x, ref.x, atol=1e-6)
    assert np.abs(ref.y).max() > 0.5
    assert np.allclose(res.y, ref.y, atol=1e-6)


def test_cvxpy_qp_duals_match_highs_per_constraint():
    cp = pytest.importorskip("cvxpy")
    x = cp.Variable(3)
    cons = [cp.sum(x) == 1, x[0] - x[1] >= 0.2, x <= 0.6]
    prob = ok.Problem(cp.Minimize(cp.sum_squares(x - np.array([1.0, 0.0, 0.5])) + x[2]), cons)
    ref = ok.solve(prob, "highs")
    res = ok.solve(prob, "clarabel")
    assert res.is_solved() and res.objective == pytest.approx(ref.objective, rel=1e-8)
    for con in cons:
        assert np.allclose(res.dual(con), ref.dual(con), atol=1e-6)
    assert abs(float(res.dual(cons[0]))) > 0.1


def test_infeasible_lp_status():
    p = ok.LinearProblem(c=[1, 1], A=[[1, 1], [1, 1]], rl=[2, -np.inf], ru=[np.inf, 1])
    res = ok.solve(p, "clarabel")
    assert res.termination == Termination.INFEASIBLE
    assert res.native_status in ("PrimalInfeasible", "AlmostPrimalInfeasible")
    assert not res.is_solved()


def test_unbounded_lp_status():
    p = ok.LinearProblem(c=[-1, 0], A=[[1, -1]], ru=[0], lb=[0, 0])
    res = ok.solve(p, "clarabel")
    assert res.termination == Termination.UNBOUNDED
    assert res.native_status in ("DualInfeasible", "AlmostDualInfeasible")


def test_dual_infeasible_and_primal_infeasible_is_not_called_unbounded():
    # x0 − x1 = 1 and x1 − x0 = 1: both primal and dual infeasible
    p = ok.LinearProblem(c=[-1, -1], A=[[1, -1], [-1, 1]], rl=[1, 1], ru=[1, 1])
    res = ok.solve(p, "clarabel")
    assert res.termination in (Termination.INFEASIBLE, Termination.INFEASIBLE_OR_UNBOUNDED)
    assert res.termination != Termination.UNBOUNDED


def test_iteration_limit_status_keeps_the_point():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(30, 40))
    p = ok.LinearProblem(c=rng.normal(size=40), A=A, ru=A @ rng.uniform(size=40) + 1, lb=-1, ub=1)
    res = ok.solve(p, "clarabel", max_iter=1)
    assert res.termination == Termination.ITERATION_LIMIT
    assert res.native_status == "MaxIterations" and res.x is not None and res.x.shape == (40,)


def test_status_map_covers_clarabel_enum():
    import clarabel

    from optkit.solvers.clarabel_backend import STATUS_MAP

    names = [a for a in dir(clarabel.SolverStatus) if not a.startswith("_")]
    assert names and all(name in STATUS_MAP for name in names)
    assert STATUS_MAP["AlmostSolved"] == Termination.ALMOST_OPTIMAL


def test_unknown_solver_option_refused_by_name_with_close_match():
    with pytest.raises(OptionError, match=r"tol_gap_abss.*did you mean tol_gap_abs"):
        ok.solve(_rows_problem(), "clarabel", solver_options={"tol_gap_abss": 1e-9})


def test_native_option_is_passed_through():
    res = ok.solve(_rows_problem(), "clarabel", solver_options={"max_iter": 2})
    assert res.termination == Termination.ITERATION_LIMIT and res.iterations == 2


def test_typed_backend_option_domain():
    with pytest.raises(OptionError, match="direct_solve_method"):
        ok.solve(_rows_problem(), "clarabel", direct_solve_method="cholmod")
    with pytest.raises(OptionError, match="equilibrate_enable"):
        ok.solve(_rows_problem(), "clarabel", equilibrate_enable="yes")
    res = ok.solve(_rows_problem(), "clarabel", direct_solve_method="qdldl")
    assert res.objective == pytest.approx(3.5, rel=1e-8)


def test_integer_problem_refused():
    p = ok.LinearProblem(c=[1.0, 1.0], A=[[1.0, 1.0]], rl=[1.5], integrality=[1, 0])
    with pytest.raises(UnsupportedProblemError):
        ok.solve(p, "clarabel")


def test_no_rows_qp():
    p = ok.LinearProblem(c=[-2.0, 0.0], A=np.zeros((0, 2)), Q=np.eye(2), lb=[-np.inf, 1.0])
    res = ok.solve(p, "clarabel")
    assert res.is_solved() and np.allclose(res.x, [2.0, 1.0], atol=1e-7)
    assert res.objective == pytest.approx(-1.5, rel=1e-8)
    assert res.primal_status == PrimalStatus.FEASIBLE


def test_declarations():
    b = require_backend("clarabel")
    assert b.priority == {"qp": 80, "lp": 20}
    assert {"duals", "inner-solver"} <= set(b.capabilities)
    names = b.solver_option_names()
    assert "tol_gap_abs" in names and "max_iter" in names and "default" not in names
