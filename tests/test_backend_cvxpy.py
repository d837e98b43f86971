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


def _banded_qp(n: int) -> "ok.LinearProblem":
    """min ½xᵀQx − Σx s.t. Σx <= n/10, −10 <= x <= 10, Q = tridiag(−1, 4, −1) (sparse)."""
    import scipy.sparse as sp

    Q = sp.diags([np.full(n - 1, -1.0), np.full(n, 4.0), np.full(n - 1, -1.0)], [-1, 0, 1],
                 format="csr")
    return ok.LinearProblem(c=-np.ones(n), A=sp.csr_matrix(np.ones((1, n))), rl=[-np.inf],
                            ru=[n / 10], Q=Q, lb=-10, ub=10)


def _banded_qp_optimum(n: int) -> float:
    """The optimum by hand: the row is active, Qx = (1 − λ)·1, so x = t·u with Qu = 1 and
    t = (n/10)/Σu (|x| < 10), and f* = ½t²Σu − tΣu (uᵀQu = Σu)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    Q = sp.diags([np.full(n - 1, -1.0), np.full(n, 4.0), np.full(n - 1, -1.0)], [-1, 0, 1],
                 format="csc")
    S = float(spsolve(Q, np.ones(n)).sum())
    t = (n / 10) / S
    return 0.5 * t * t * S - t * S


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
    # optkit's own conic measurement on the solver's data: stationarity and gap, not only feasibility
    assert res.kkt["stationarity_rel"] < 1e-6 and res.kkt["duality_gap_rel"] < 1e-6
    assert res.kkt["multipliers"] == "solver" and not res.kkt.not_measured
    assert res.verified is True and res.is_solved()


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
    assert res.kkt["cone_violation_rel"] <= 1e-9           # s in the exponential cones
    assert res.kkt["dual_cone_violation_rel"] <= 1e-9      # y in their dual cones
    assert res.kkt["stationarity_rel"] < 1e-6 and res.verified is True


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
    assert res.kkt is not None and "all" in res.kkt.not_measured and res.verified is None
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


def test_unbounded_claims_are_settled_by_a_feasibility_solve():
    # Clarabel's "unbounded" is a dual-infeasibility ray; x0 − x1 = 1 = x1 − x0 is primal
    # infeasible too, so the honest answer is INFEASIBLE
    both = ok.LinearProblem(c=[-1, -1], A=[[1, -1], [-1, 1]], rl=[1, 1], ru=[1, 1])
    res = ok.solve(both, "cvxpy", cvxpy_solver="CLARABEL")
    assert res.termination == Termination.INFEASIBLE
    assert res.native_status == "unbounded/primal-infeasible" and "DualInfeasible" in res.message
    # min −x0 over x1 ∈ [0, 1], x0 >= 0: feasible (x = 0), hence truly unbounded
    unb = ok.LinearProblem(c=[-1, 0], A=[[0, 1]], rl=[0], ru=[1], lb=[0, 0])
    res = ok.solve(unb, "cvxpy", cvxpy_solver="CLARABEL")
    assert res.termination == Termination.UNBOUNDED and "found a feasible point" in res.message
    # HiGHS answers a MIP with kUnboundedOrInfeasible; the feasibility solve finds x = 0 feasible
    mip = ok.LinearProblem(c=[-1, 0], A=[[1, -1]], ru=[0], lb=0, integrality=[1, 0])
    res = ok.solve(mip, "cvxpy", cvxpy_solver="HIGHS")
    assert res.termination == Termination.UNBOUNDED
    assert res.native_status == "infeasible_or_unbounded/primal-feasible"


def test_nonconvex_q_is_an_invalid_problem():
    q = ok.LinearProblem(c=[0, 0], A=np.zeros((0, 2)), Q=[[1, 0], [0, -1]], lb=[-1, -1], ub=[1, 1])
    with pytest.raises(ok.UnsupportedProblemError, match="not convex"):  # refused before solving
        ok.solve(q, "cvxpy")


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
    h = native_options("HIGHS", o, is_mip=True)   # the shared HiGHS vocabulary
    assert h["mip_rel_gap"] == 1e-7 and h["random_seed"] == 4 and h["time_limit"] == 3.0
    assert h["mip_max_nodes"] == 50 and h["output_flag"] is False
    assert native_options("HIGHS", o)["simplex_iteration_limit"] == 50
    assert native_options("SCIPY", SolveOptions(time_limit=2.0)) == {"scipy_options": {"time_limit": 2.0}}


def test_iteration_and_time_limits_come_from_the_solvers_own_status(mps_dir):
    # cvxpy says user_limit for both; Clarabel's own status says which limit it was
    p = ok.read(mps_dir / "adlittle.mps")
    res = ok.solve(p, "cvxpy", cvxpy_solver="CLARABEL", max_iter=2)
    assert res.termination == Termination.ITERATION_LIMIT
    assert res.native_status == "CLARABEL:MaxIterations" and res.extra["cvxpy_status"] == "user_limit"
    assert res.iterations == 2
    res = ok.solve(p, "cvxpy", cvxpy_solver="CLARABEL", time_limit=1e-6)
    assert res.termination == Termination.TIME_LIMIT
    assert res.native_status == "CLARABEL:MaxTime"
    res = ok.solve(_banded_qp(30), "cvxpy", cvxpy_solver="OSQP", max_iter=3)
    assert res.termination == Termination.ITERATION_LIMIT and res.iterations == 3
    assert res.native_status == "OSQP:maximum iterations reached"


def test_status_table():
    from optkit.solvers.cvxpy_backend import STATUS_MAP, CvxpyBackend

    assert CvxpyBackend.STATUS_MAP is STATUS_MAP
    rows = {"optimal": Termination.OPTIMAL,
            "optimal_inaccurate": Termination.ALMOST_OPTIMAL,
            "infeasible": Termination.INFEASIBLE,
            "infeasible_inaccurate": Termination.INFEASIBLE,
            "unbounded": Termination.UNBOUNDED,
            "unbounded_inaccurate": Termination.UNBOUNDED,
            "infeasible_or_unbounded": Termination.INFEASIBLE_OR_UNBOUNDED,
            "user_limit": Termination.OTHER_LIMIT,           # never guessed from elapsed time
            "solver_error": Termination.NUMERICAL_ERROR,
            "CLARABEL:MaxIterations": Termination.ITERATION_LIMIT,
            "CLARABEL:MaxTime": Termination.TIME_LIMIT,
            "OSQP:maximum iterations reached": Termination.ITERATION_LIMIT,
            "OSQP:run time limit reached": Termination.TIME_LIMIT,
            "SCIP:timelimit": Termination.TIME_LIMIT,       # cvxpy: optimal_inaccurate
            "SCIP:nodelimit": Termination.NODE_LIMIT,       # cvxpy: optimal_inaccurate
            "SCIP:gaplimit": Termination.OPTIMAL,
            "SCIP:memlimit": Termination.MEMORY_LIMIT,
            "HIGHS:kTimeLimit": Termination.TIME_LIMIT,
            "HIGHS:kIterationLimit": Termination.ITERATION_LIMIT,
            "HIGHS:kSolutionLimit": Termination.SOLUTION_LIMIT,
            "HIGHS:kObjectiveBound": Termination.OBJECTIVE_LIMIT}
    for key, term in rows.items():
        assert STATUS_MAP[key] == term, key
    from optkit.finish import map_status
    from optkit.raw import RawSolution

    term, note = map_status(RawSolution(status="not-a-status"), CvxpyBackend())
    assert term == Termination.ERROR and "not-a-status" in note


def test_optimal_inaccurate_is_almost_optimal_and_measured():
    # SCS stopped after 5 iterations says "solved (inaccurate - reached max_iters)": ALMOST_OPTIMAL,
    # and optkit's conic measurement finds the point far from optimal
    rng = np.random.default_rng(1)
    A, b = rng.normal(size=(30, 20)), rng.normal(size=30)
    x = cp.Variable(20)
    prob = ok.Problem(cp.Minimize(cp.norm(A @ x - b) + cp.norm(x, 1)), [x >= -1, x <= 1])
    res = ok.solve(prob, "cvxpy", cvxpy_solver="SCS", max_iter=5)
    assert res.termination == Termination.ALMOST_OPTIMAL
    assert res.native_status == "optimal_inaccurate" and "reached max_iters" in res.message
    assert res.verified is False and not res.is_solved()
    assert res.kkt["stationarity_rel"] > 1e-3
    ref = ok.solve(prob, "cvxpy", cvxpy_solver="CLARABEL", tol=1e-9)
    assert ref.is_solved(strict=True) and ref.termination == Termination.OPTIMAL


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
    # measured on SCIP's conic data: feasibility and integrality; no KKT conditions for a MIP
    assert res.kkt["measured_on"] == "cvxpy conic data (SCIP)" and res.kkt["integrality"] < 1e-9
    assert "stationarity" in res.kkt.not_measured and res.verified is True
    assert res.nodes is not None and res.nodes >= 1 and res.kkt["mip_gap_rel"] < 1e-6


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


# ---------------------------------------------------------------------- conic KKT measurement
def _portfolio():
    """max μᵀw s.t. Σw = 1, w >= 0, ‖Fᵀw‖₂ <= σ (a second-order cone), seeded data; σ is the
    risk of equal weights, so the problem is feasible and the risk row is active."""
    rng = np.random.default_rng(0)
    n = 6
    mu, F = rng.uniform(0.01, 0.1, n), rng.normal(size=(n, n)) * 0.1
    sigma = float(np.linalg.norm(F.T @ np.full(n, 1 / n)))
    w = cp.Variable(n)
    return cp.Problem(cp.Maximize(mu @ w), [cp.sum(w) == 1, w >= 0, cp.norm(F.T @ w) <= sigma]), w


def test_conic_kkt_measured_on_a_portfolio_socp():
    prob, _w = _portfolio()
    res = ok.solve(ok.Problem(prob.objective, prob.constraints), "cvxpy", cvxpy_solver="CLARABEL")
    assert res.termination == Termination.OPTIMAL and res.verified is True
    assert res.kkt["measured_on"] == "cvxpy conic data (CLARABEL)"
    assert res.kkt["feasibility_rel"] < 1e-8
    assert res.kkt["lagrangian_gradient_rel"] < 1e-8
    assert res.kkt["duality_gap_rel"] < 1e-8
    assert res.kkt["dual_cone_violation_rel"] <= 1e-12
    # the same numbers from the solver's own residuals: cvxpy's reference solve agrees on the value
    assert res.objective == pytest.approx(prob.solve(solver="CLARABEL"), rel=1e-7)


def test_conic_kkt_contradicts_a_wrong_point():
    from optkit.solvers._conic_kkt import ConicData, conic_kkt, verdict
    from optkit.verify import Tolerances

    prob, _w = _portfolio()
    opts: dict = {}
    data, chain, _inverse = prob.get_problem_data("CLARABEL", solver_opts=opts)
    raw = chain.solve_via_data(prob, data, False, False, opts)
    conic = ConicData.from_cvxpy(data, chain.solver)
    x, s, y = (np.asarray(v, float) for v in (raw.x, raw.s, raw.z))
    good = conic_kkt(conic, x, s, y)
    status, verified, failures = verdict(good, Termination.OPTIMAL, Tolerances())
    assert verified is True and status == PrimalStatus.FEASIBLE and failures == []
    # a perturbed primal point: the residual Ax + s − b no longer vanishes
    bad = conic_kkt(conic, x + 1e-3, s, y)
    status, verified, failures = verdict(bad, Termination.OPTIMAL, Tolerances())
    assert verified is False and status == PrimalStatus.INFEASIBLE
    assert bad["primal_residual_rel"] > 1e-4 and "infeasibility" in failures[0]
    # a perturbed dual: stationarity c + Aᵀy fails while the primal stays feasible
    bad = conic_kkt(conic, x, s, y * 1.01)
    status, verified, failures = verdict(bad, Termination.OPTIMAL, Tolerances())
    assert status == PrimalStatus.FEASIBLE and verified is False
    assert bad["lagrangian_gradient_rel"] > 1e-5
    # a dual outside its cone (nonnegative rows with y < 0)
    y_neg = y.copy()
    y_neg[conic.zero:conic.zero + conic.nonneg] = -1.0
    assert conic_kkt(conic, x, s, y_neg)["dual_cone_violation_rel"] >= 1.0 / max(
        1.0, float(np.abs(conic.c).max()))


def test_conic_kkt_psd_cone_measured():
    # min tr(CX) s.t. X ⪰ 0, tr X = 1: the smallest eigenvalue of C
    C = np.array([[1.0, 2.0, 0.0], [2.0, 3.0, 1.0], [0.0, 1.0, 5.0]])
    X = cp.Variable((3, 3), symmetric=True)
    prob = ok.Problem(cp.Minimize(cp.trace(C @ X)), [X >> 0, cp.trace(X) == 1])
    for solver in ("CLARABEL", "SCS"):
        res = ok.solve(prob, "cvxpy", cvxpy_solver=solver, tol=1e-9)
        assert res.objective == pytest.approx(np.linalg.eigvalsh(C)[0], abs=1e-6)
        assert "psd" not in res.kkt.not_measured and "psd_dual" not in res.kkt.not_measured
        assert res.kkt["cone_violation_rel"] < 1e-7 and res.verified is True


def test_cone_distances_by_hand():
    from optkit.solvers._conic_kkt import ConicData, cone_violation

    data = ConicData(c=np.zeros(1), A=__import__("scipy.sparse").sparse.csr_matrix((8, 1)),
                     b=np.zeros(8), zero=1, nonneg=1, soc=[3], exp=1)
    # zero row 0.5; orthant row −2; SOC (t, u) = (0, 3, 4): ‖u‖ = 5 > |t| → (5 − 0)/√2;
    # exp triple (1, 1, 1): y·e^{x/y} = e > 1 → residual x − y·log(z/y) = 1
    v = np.array([0.5, -2.0, 0.0, 3.0, 4.0, 1.0, 1.0, 1.0])
    absolute, _rel, where, nm = cone_violation(data, v, False, np.ones(8))
    assert absolute == pytest.approx(5 / np.sqrt(2)) and "second-order" in where and not nm
    inside = np.array([0.0, 2.0, 5.0, 3.0, 4.0, 0.0, 1.0, 1.0])
    assert cone_violation(data, inside, False, np.ones(8))[0] == 0.0
    # dual side: the zero cone's dual is free, the orthant is self-dual
    assert cone_violation(data, np.array([7.0, 1.0, 5.0, 3.0, 4.0, -1.0, 0.0, 1.0]), True,
                          np.ones(8))[0] == 0.0


# ---------------------------------------------------------------------- parameters
def test_parameters_take_their_current_values_on_resolve():
    # min ‖x − a‖ s.t. Σx = 1: distance |Σa − 1|/√2 and x = a − (Σa − 1)/2
    a = cp.Parameter(2, value=np.array([1.0, 2.0]))
    x = cp.Variable(2)
    prob = ok.Problem(cp.Minimize(cp.norm(x - a)), [cp.sum(x) == 1])
    first = ok.solve(prob, "cvxpy")
    assert first.objective == pytest.approx(2 / np.sqrt(2), rel=1e-7)
    a.value = np.array([3.0, 5.0])
    second = ok.solve(prob, "cvxpy")
    assert second.objective == pytest.approx(7 / np.sqrt(2), rel=1e-7)
    assert np.allclose(second.value(x), [-0.5, 1.5], atol=1e-6)
    assert np.allclose(first.value(x), [0.0, 1.0], atol=1e-6)   # the first result is a snapshot
    assert second.verified is True


# ---------------------------------------------------------------------- linear path at scale
def test_qp_is_built_once_without_a_dense_psd_test(monkeypatch):
    from cvxpy.expressions.constants.constant import Constant
    from cvxpy.problems.problem import Problem as CvxProblem

    calls = {"data": 0, "psd": 0}
    real = CvxProblem.get_problem_data

    def counting(self, *a, **k):
        calls["data"] += 1
        return real(self, *a, **k)

    def psd_test(self, *a, **k):  # cvxpy's PSD test of a constant Q (it densifies a sparse Q)
        calls["psd"] += 1
        raise AssertionError("cvxpy's PSD test must not run")

    monkeypatch.setattr(CvxProblem, "get_problem_data", counting)
    monkeypatch.setattr(Constant, "is_psd", psd_test)
    monkeypatch.setattr(Constant, "is_nsd", psd_test)
    res = ok.solve(_banded_qp(200), "cvxpy")
    assert calls == {"data": 1, "psd": 0}
    assert res.is_solved() and res.objective == pytest.approx(_banded_qp_optimum(200), rel=1e-4)


def test_banded_qp_at_1e5_never_densifies():
    import tracemalloc

    n = 100_000
    p = _banded_qp(n)
    tracemalloc.start()
    try:
        res = ok.solve(p, "cvxpy")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.termination == Termination.OPTIMAL and res.verified is True
    assert res.objective == pytest.approx(_banded_qp_optimum(n), rel=1e-4)
    assert peak < n * n * 8 / 100       # measured ≈ 0.24 GB; a dense Q alone is 80 GB


def test_convexity_check_without_densifying():
    import scipy.sparse as sp

    from optkit.solvers.cvxpy_backend import convexity_problem

    rng = np.random.default_rng(3)
    B = sp.random(40, 30, density=0.1, random_state=4, format="csr")
    assert convexity_problem(B.T @ B) is None                         # PSD, not dominant
    assert convexity_problem(sp.csr_matrix([[1.0, 1.0], [1.0, 1.0]])) is None   # singular PSD
    assert "not positive semidefinite" in convexity_problem(sp.csr_matrix([[1.0, 2.0], [2.0, 1.0]]))
    assert "Q[1,1]" in convexity_problem(sp.csr_matrix(np.diag([1.0, -1.0])))
    M = rng.normal(size=(20, 20))
    assert (convexity_problem(sp.csr_matrix(M + M.T)) is None) == (
        np.linalg.eigvalsh(M + M.T)[0] >= 0)                         # decided like eigvalsh
    q = ok.LinearProblem(c=[0, 0], A=np.zeros((0, 2)), Q=[[1, 2], [2, 1]], lb=[-1, -1], ub=[1, 1])
    with pytest.raises(ok.UnsupportedProblemError, match="not convex"):  # refused before solving
        ok.solve(q, "cvxpy")


def test_tiny_row_is_never_reported_solved_at_zero():
    # min x² s.t. 1e-6·x >= 1e-6: x* = 1, f* = 1; a solver's absolute tolerance may accept x = 0
    z = cp.Variable()
    prob = ok.Problem(cp.Minimize(cp.square(z)), [1e-6 * z >= 1e-6])
    assert prob.problem_class == "qp"
    res = ok.solve(prob, "cvxpy")
    if res.is_solved():
        assert res.objective == pytest.approx(1.0, rel=1e-5)
    else:
        assert res.verified is False and res.kkt["feasibility_rel"] > 0.5
    assert not (res.is_solved() and abs(res.objective) < 0.5)


def test_osqp_prints_nothing_unless_verbose(capfd):
    # OSQP writes "Polishing not needed - no active set detected at optimal point" to stdout
    q = ok.LinearProblem(c=[0, 0], A=np.zeros((0, 2)), Q=np.eye(2), lb=-1, ub=1)
    res = ok.solve(q, "cvxpy", cvxpy_solver="OSQP")
    out = capfd.readouterr()
    assert res.termination == Termination.OPTIMAL and res.objective == pytest.approx(0.0, abs=1e-9)
    assert out.out == "" and out.err == ""
    ok.solve(q, "cvxpy", cvxpy_solver="OSQP", verbose=True)
    assert "OSQP" in capfd.readouterr().out


def test_solver_options_names_are_checked_for_the_chosen_solver():
    from optkit.solvers.cvxpy_backend import solver_option_names_for

    assert {"tol_gap_abs", "max_iter", "time_limit"} <= set(solver_option_names_for("CLARABEL"))
    assert {"eps_abs", "polishing", "max_iter"} <= set(solver_option_names_for("OSQP"))
    assert "max_iters" in solver_option_names_for("SCS")
    assert "mip_rel_gap" in solver_option_names_for("HIGHS")
    with pytest.raises(OptionError, match="did you mean tol_gap_abs"):
        ok.solve(_rows_problem(), "cvxpy", cvxpy_solver="CLARABEL",
                 solver_options={"tol_gap_ab": 1e-8})
    res = ok.solve(_rows_problem(), "cvxpy", cvxpy_solver="CLARABEL",
                   solver_options={"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10})
    assert res.is_solved() and res.objective == pytest.approx(3.5, rel=1e-8)


def test_mip_counters_and_gap():
    # a MILP through HiGHS reports nodes and a dual bound (user units, like the objective): max 5a + 4b + 3c with
    # 2a + 3b + c <= 4 over binaries is 8 at (1, 0, 1)
    z = cp.Variable(3, boolean=True)
    prob = ok.Problem(cp.Maximize(np.array([5, 4, 3]) @ z), [np.array([[2, 3, 1]]) @ z <= 4])
    res = ok.solve(prob, "cvxpy", cvxpy_solver="HIGHS")
    assert res.termination == Termination.OPTIMAL and res.objective == pytest.approx(8.0)
    assert res.nodes is not None and res.nodes >= 0
    assert res.mip_gap == pytest.approx(0.0, abs=1e-9)
    assert res.dual_bound == pytest.approx(8.0, abs=1e-6)     # user units: a bound on the maximum
    assert res.kkt["mip_gap_rel"] == pytest.approx(0.0, abs=1e-9)   # the core's own gap
