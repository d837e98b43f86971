"""Backend ``cvxpy``: linear path (LinearForm rebuilt in cvxpy), whole-model conic path, statuses,
options. Known answers come from formulas or from the ``highs`` backend (an independent solver)."""
import numpy as np
import pytest

from conftest import require_backend, require_module

cp = pytest.importorskip("cvxpy")
import optkit as ok  # noqa: E402
from optkit.errors import OptionError  # noqa: E402
from optkit.options import SolveOptions  # noqa: E402
from optkit.status import PrimalStatus, Termination  # noqa: E402


@pytest.fixture(autouse=True)
def _backend():
    require_backend("cvxpy")


def _rows_problem():
    """One equality, one upper, one lower and one two-sided row; unique primal and dual."""
    A = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, -1, 1.0]])
    return ok.LinearProblem(c=[1, 2, 3], A=A, rl=[1, -np.inf, 1.5, -1], ru=[1, 3, np.inf, 0.2],
                            lb=[0, 0, 0], ub=[5, 5, 5])


@pytest.mark.parametrize("solver", ["CLARABEL", "HIGHS", "OSQP"])
def test_row_duals_follow_optkit_sign_convention(solver):
    # y must agree with HiGHS (y = -row_dual, L = f + yᵀAx): y = (1, 0, -3, 0) by hand
    p = _rows_problem()
    ref = ok.solve(p, "highs")
    res = ok.solve(p, "cvxpy", cvxpy_solver=solver, tol=1e-9)
    assert res.termination == Termination.OPTIMAL
    assert res.objective == pytest.approx(3.5, rel=1e-6)
    assert np.allclose(ref.y, [1, 0, -3, 0], atol=1e-9)
    assert np.allclose(res.y, ref.y, atol=1e-5)
    assert res.kkt["kkt"] < 1e-5


def test_problem_lp_values_and_duals_match_highs():
    z = cp.Variable(2, nonneg=True)
    c1, c2 = z[0] + 2 * z[1] <= 4, 3 * z[0] + z[1] <= 6
    prob = ok.Problem(cp.Maximize(z[0] + z[1]), [c1, c2])
    ref = ok.solve(prob, "highs")
    res = ok.solve(prob, "cvxpy")
    assert res.objective == pytest.approx(2.8, rel=1e-7)          # vertex (1.6, 1.2)
    assert np.allclose(res.value(z), [1.6, 1.2], atol=1e-6)
    assert res.dual(c1) == pytest.approx(ref.dual(c1), abs=1e-6)   # 0.4
    assert res.dual(c2) == pytest.approx(ref.dual(c2), abs=1e-6)   # 0.2
    assert res.dual(c1) == pytest.approx(0.4, abs=1e-6)
    assert res.primal_status == PrimalStatus.FEASIBLE


def test_qp_projection_onto_halfspace():
    # min ||x - (1, 2)||² s.t. x0 + x1 <= 2: x* = (0.5, 1.5), f* = 0.5, multiplier 1
    x = cp.Variable(2)
    con = x[0] + x[1] <= 2
    res = ok.solve(ok.Problem(cp.Minimize(cp.sum_squares(x - np.array([1.0, 2.0]))), [con]), "cvxpy",
                   tol=1e-9)
    assert res.termination == Termination.OPTIMAL
    assert res.extra["cvxpy_solver"] in ("OSQP", "CLARABEL", "HIGHS", "SCS")
    assert res.objective == pytest.approx(0.5, rel=1e-6)
    assert np.allclose(res.value(x), [0.5, 1.5], atol=1e-5)
    assert res.dual(con) == pytest.approx(1.0, abs=1e-5)


def test_milp_knapsack():
    # max 5a + 4b + 3c over binaries under three knapsack rows; the optimum by enumeration
    z = cp.Variable(3, boolean=True)
    rows = np.array([[2, 3, 1], [4, 1, 2], [3, 4, 2]])
    rhs = np.array([5, 11, 8])
    prob = ok.Problem(cp.Maximize(np.array([5, 4, 3]) @ z), [rows @ z <= rhs])
    best = max(5 * a + 4 * b + 3 * c for a in (0, 1) for b in (0, 1) for c in (0, 1)
               if np.all(rows @ np.array([a, b, c]) <= rhs))
    res = ok.solve(prob, "cvxpy")
    assert res.termination == Termination.OPTIMAL
    assert res.objective == pytest.approx(best)
    assert res.y is None  # no duals for a MILP


@pytest.mark.parametrize("solver", ["CLARABEL", "SCS"])
def test_conic_socp_projection(solver):
    # min ||x - a||₂ s.t. Σx = 1: distance |Σa − 1|/√n = 9/2, x = a − 2.25, multiplier 1/2
    a = np.array([1.0, 2.0, 3.0, 4.0])
    x = cp.Variable(4)
    con = cp.sum(x) == 1
    prob = ok.Problem(cp.Minimize(cp.norm(x - a)), [con])
    assert prob.problem_class == "conic"
    res = ok.solve(prob, "cvxpy", cvxpy_solver=solver, tol=1e-8)
    assert res.termination == Termination.OPTIMAL
    assert res.objective == pytest.approx(4.5, rel=1e-5)
    assert np.allclose(res.value(x), a - 2.25, atol=1e-4)
    assert res.dual(con) == pytest.approx(0.5, abs=1e-4)
    assert res.primal_status == PrimalStatus.FEASIBLE
    assert res.kkt["feasibility"] < 1e-6


def test_conic_exponential_cone_maximisation():
    # max Σ log x s.t. Σx = 1: x = 1/n, value n·log(1/n), multiplier n (user units)
    n = 4
    y = cp.Variable(n)
    con = cp.sum(y) == 1
    res = ok.solve(ok.Problem(cp.Maximize(cp.sum(cp.log(y))), [con]), "cvxpy")
    assert res.objective == pytest.approx(n * np.log(1 / n), rel=1e-6)
    assert np.allclose(res.value(y), 1 / n, atol=1e-6)
    assert abs(res.dual(con)) == pytest.approx(n, rel=1e-3)
    assert res.x.shape == (n,)


def test_conic_values_are_a_snapshot():
    # value() keeps the solve's point even when the same variables are solved again elsewhere
    x = cp.Variable(2)
    prob = ok.Problem(cp.Minimize(cp.norm(x - np.array([3.0, 4.0]))), [x >= 0])
    res = ok.solve(prob, "cvxpy")
    cp.Problem(cp.Minimize(cp.norm(x)), [x >= 1]).solve()
    assert np.allclose(res.value(x), [3.0, 4.0], atol=1e-6)


def test_conic_infeasible_and_unbounded():
    x = cp.Variable(3)
    res = ok.solve(ok.Problem(cp.Minimize(cp.norm(x)), [cp.norm(x) <= 1, x[0] >= 2]), "cvxpy")
    assert res.termination == Termination.INFEASIBLE
    assert res.primal_status == PrimalStatus.NO_SOLUTION and res.value(x) is None
    t = cp.Variable()
    res = ok.solve(ok.Problem(cp.Minimize(-t), [cp.norm(x) <= t]), "cvxpy")  # t → ∞
    assert res.termination in (Termination.UNBOUNDED, Termination.INFEASIBLE_OR_UNBOUNDED)


def test_linear_infeasible_unbounded_crossed():
    inf = ok.LinearProblem(c=[1, 1], A=[[1, 1]], rl=[3], ru=[np.inf], lb=[0, 0], ub=[1, 1])
    assert ok.solve(inf, "cvxpy").termination == Termination.INFEASIBLE
    unb = ok.LinearProblem(c=[-1, 0], A=[[0, 1]], rl=[0], ru=[1], lb=[0, 0])
    assert ok.solve(unb, "cvxpy").termination == Termination.UNBOUNDED
    crossed = ok.LinearProblem(c=[1, 1], A=[[1, 1]], rl=[0], ru=[1], lb=[0, 2], ub=[1, 1])
    res = ok.solve(crossed, "cvxpy")
    assert res.termination == Termination.INFEASIBLE and "column index 1" in res.message


def test_nonconvex_q_is_an_invalid_problem():
    q = ok.LinearProblem(c=[0, 0], A=np.zeros((0, 2)), Q=[[1, 0], [0, -1]], lb=[-1, -1], ub=[1, 1])
    res = ok.solve(q, "cvxpy")
    assert res.termination == Termination.INVALID_PROBLEM
    assert "not convex" in res.message


def test_options_errors():
    p = _rows_problem()
    with pytest.raises(OptionError, match="NOPE"):
        ok.solve(p, "cvxpy", cvxpy_solver="NOPE")
    with pytest.raises(OptionError, match="unknown option"):
        ok.solve(p, "cvxpy", not_an_option=1)


def test_native_option_mapping():
    from optkit.solvers.cvxpy_backend import native_options

    o = SolveOptions(tol=1e-7, max_iter=50, time_limit=3.0, seed=4, solver_options={"verbose": False})
    assert native_options("CLARABEL", o) == {"tol_gap_abs": 1e-7, "tol_gap_rel": 1e-7, "tol_feas": 1e-7,
                                              "max_iter": 50, "time_limit": 3.0, "verbose": False}
    assert native_options("SCS", o)["max_iters"] == 50 and native_options("SCS", o)["time_limit_secs"] == 3.0
    h = native_options("HIGHS", o, is_mip=True)
    assert h["mip_rel_gap"] == 1e-7 and h["random_seed"] == 4 and h["time_limit"] == 3.0
    assert native_options("SCIPY", SolveOptions(time_limit=2.0)) == {"scipy_options": {"time_limit": 2.0}}


def test_iteration_limit_status():
    p = ok.read(__import__("conftest").MPS_DIR / "adlittle.mps")
    res = ok.solve(p, "cvxpy", cvxpy_solver="CLARABEL", max_iter=2)
    assert res.termination == Termination.ITERATION_LIMIT
    assert res.iterations == 2


def test_status_table():
    from optkit.solvers.cvxpy_backend import _status

    o = SolveOptions(time_limit=1.0)
    assert _status("optimal", o, 0.1) == Termination.OPTIMAL
    assert _status("optimal_inaccurate", o, 0.1) == Termination.NUMERICAL_ERROR
    assert _status("infeasible_inaccurate", o, 0.1) == Termination.INFEASIBLE
    assert _status("unbounded_inaccurate", o, 0.1) == Termination.UNBOUNDED
    assert _status("infeasible_or_unbounded", o, 0.1) == Termination.INFEASIBLE_OR_UNBOUNDED
    assert _status("user_limit", o, 1.0) == Termination.TIME_LIMIT
    assert _status("user_limit", SolveOptions(), 5.0) == Termination.ITERATION_LIMIT
    assert _status("solver_error", o, 0.1) == Termination.NUMERICAL_ERROR
    assert _status(None, o, 0.1) == Termination.ERROR


def test_maximisation_linear_problem_reports_user_units():
    # max x0 + x1 on the box [0, 2]² with x0 + x1 <= 3: 3
    p = ok.LinearProblem(c=[-1, -1], A=[[1, 1]], rl=[-np.inf], ru=[3], lb=[0, 0], ub=[2, 2], sense=-1)
    assert ok.solve(p, "cvxpy").objective == pytest.approx(3.0, rel=1e-7)


def test_miqp_through_scip():
    require_module("pyscipopt")
    if "SCIP" not in cp.installed_solvers():
        pytest.skip("cvxpy does not see SCIP")
    # min Σ(x − (0.4, 1.6))² + (y − 0.3)², x integer, x0 + x1 <= 3: x = (0, 2), y = 0.3, f = 0.32
    x, y = cp.Variable(2, integer=True), cp.Variable()
    prob = ok.Problem(cp.Minimize(cp.sum_squares(x - np.array([0.4, 1.6])) + cp.square(y - 0.3)),
                      [x[0] + x[1] <= 3])
    assert prob.problem_class == "miqp"
    res = ok.solve(prob, "cvxpy")
    assert res.termination == Termination.OPTIMAL
    assert res.objective == pytest.approx(0.32, abs=1e-6)
    assert np.allclose(res.value(x), [0, 2])


def test_miqp_with_a_solver_that_cannot_take_it():
    # HiGHS has no MIQP: an honest INVALID_PROBLEM naming the solver, not a crash
    q = ok.LinearProblem(c=[-1, -1], A=[[1, 1]], rl=[0], ru=[3.5], Q=np.eye(2), integrality=[True, False])
    res = ok.solve(q, "cvxpy", cvxpy_solver="HIGHS")
    assert res.termination == Termination.INVALID_PROBLEM
    assert "HIGHS" in res.message


def test_docs_examples_run():
    # every ```python block of docs/backends_modelling.md runs as written (asserts inside)
    import re
    from pathlib import Path

    require_backend("pyomo")
    doc = (Path(__file__).resolve().parents[1] / "docs" / "backends_modelling.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    assert len(blocks) >= 2
    for i, block in enumerate(blocks):
        exec(compile(block, f"backends_modelling.md[block {i}]", "exec"), {})
