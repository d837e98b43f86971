"""Backend ``scipy``: linprog/milp on shared MPS files; SLSQP/trust-constr statuses, multipliers;
the declared status table, HiGHS options through the shared mapper, per-method option names."""
from __future__ import annotations

import csv

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import optkit as ok
from conftest import require_backend
from optkit.errors import OptionError, UnsupportedProblemError
from optkit.status import PrimalStatus, Termination

NLP_METHODS = ["SLSQP", "trust-constr"]
MPS_CASES = ["afiro", "sctest", "small_mip", "infeasible-mip0", "galenet", "blending", "flugpl",
             "woodinfe"]


def manifest(mps_dir) -> dict[str, dict]:
    with open(mps_dir / "manifest.csv") as fh:
        return {row["name"]: row for row in csv.DictReader(fh)}


@pytest.mark.parametrize("name", MPS_CASES)
def test_mps_instances_match_manifest(mps_dir, name):
    row = manifest(mps_dir)[name]
    prob = ok.read(mps_dir / row["file"])
    res = ok.solve(prob, "scipy")
    assert res.extra["scipy_method"] == ("milp/highs" if row["kind"] == "MILP" else "linprog/highs")
    if row["expected"] == "optimal":
        assert res.termination == Termination.OPTIMAL
        assert res.primal_status == PrimalStatus.FEASIBLE
        assert res.objective == pytest.approx(float(row["objective"]), rel=1e-6, abs=1e-6)
    else:
        assert row["expected"] == "infeasible"
        assert res.termination == Termination.INFEASIBLE
        assert res.x is None


def test_linprog_row_multipliers_match_highs(mixed_rows_lp):
    """Upper, lower, range and equality rows: y (L = f + yᵀAx) equals HiGHS's for every method."""
    require_backend("highs")
    lp = mixed_rows_lp
    ref = ok.solve(lp, "highs")
    assert np.any(ref.y > 1e-3) and np.any(ref.y < -1e-3)  # both signs are exercised
    for method, atol in [("linprog", 1e-9), ("SLSQP", 1e-7), ("trust-constr", 1e-5)]:
        res = ok.solve(lp, "scipy", method=method)
        assert res.is_solved(), method
        assert res.objective == pytest.approx(ref.objective, abs=10 * atol), method
        np.testing.assert_allclose(res.y, ref.y, atol=atol, err_msg=method)


def test_unbounded_lp_and_milp():
    lp = ok.LinearProblem(c=[-1.0, 0.0], A=[[1.0, -1.0]], rl=[-1.0], ru=[1.0], lb=[0, 0])
    assert ok.solve(lp, "scipy").termination == Termination.UNBOUNDED
    mip = ok.LinearProblem(c=[-1.0, 0.0], A=[[1.0, -1.0]], rl=[-1.0], ru=[1.0], lb=[0, 0],
                           integrality=[True, False])
    res = ok.solve(mip, "scipy")
    assert res.termination in (Termination.UNBOUNDED, Termination.INFEASIBLE_OR_UNBOUNDED)


def test_crossed_bounds_are_answered_by_the_core():
    lp = ok.LinearProblem(c=[1.0, 1.0], A=[[1.0, 1.0]], rl=[2.0], ru=[1.0], lb=0, ub=5)
    res = ok.solve(lp, "scipy")
    assert res.termination == Termination.INFEASIBLE and res.verified is True
    assert res.native_status == "presolve"
    assert res.message == "bounds of row index 0 cross: 2.0 > 1.0 (1 crossed in all)"


def test_milp_maximisation_in_user_units():
    # max 5a + 4b  s.t. 6a + 4b <= 24, a + 2b <= 6, a, b integer >= 0 → (4, 0), value 20
    a, b = cp.Variable(integer=True), cp.Variable(integer=True)
    prob = ok.Problem(cp.Maximize(5 * a + 4 * b), [6 * a + 4 * b <= 24, a + 2 * b <= 6, a >= 0,
                                                   b >= 0])
    res = ok.solve(prob, "scipy")
    assert res.termination == Termination.OPTIMAL
    assert res.objective == pytest.approx(20.0)
    assert res.value(a) == pytest.approx(4.0)


def test_qp_goes_to_slsqp(mps_dir):
    res = ok.solve(ok.read(mps_dir / "qptestnw.lp"), "scipy")
    assert res.extra["scipy_method"] == "SLSQP"
    assert res.is_solved()
    assert res.objective == pytest.approx(-6.45, abs=1e-7)
    assert res.evaluations["f"] > 0


def test_method_errors():
    nlp = ok.NLP(x0=[1.0], f=lambda x: (x[0] - 2) ** 2)
    with pytest.raises(OptionError, match="LP/MILP only"):
        ok.solve(nlp, "scipy", method="linprog")
    with pytest.raises(OptionError, match="method of backend 'scipy' must be one of"):
        ok.solve(nlp, "scipy", method="newton")
    mip = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[0.5], ru=[3], integrality=[True])
    with pytest.raises(OptionError, match="ignores integrality"):
        ok.solve(mip, "scipy", method="linprog")
    qp = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[0.5], ru=[3], Q=[[2.0]])
    with pytest.raises(OptionError, match="quadratic objective"):
        ok.solve(qp, "scipy", method="linprog")
    miqp = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[0.5], ru=[3], Q=[[2.0]], integrality=[True])
    with pytest.raises(UnsupportedProblemError):
        ok.solve(miqp, "scipy")


def test_convex_duals_match_clarabel():
    z = cp.Variable(2)
    c1 = z[0] + z[1] <= 1
    c2 = cp.sum_squares(z) <= 2
    c3 = z[0] - z[1] >= 0.5
    objective = cp.Minimize(cp.sum_squares(z - np.array([2.0, 1.0])) + z[0] * 0.3)
    ref = cp.Problem(objective, [c1, c2, c3])
    ref.solve(solver="CLARABEL")
    for method, atol in [("SLSQP", 1e-6), ("trust-constr", 1e-5)]:
        res = ok.solve(ok.Problem(objective, [c1, c2, c3]), "scipy", method=method)
        assert res.is_solved(), method
        assert res.objective == pytest.approx(ref.value, abs=atol), method
        for con in (c1, c2, c3):
            assert res.dual(con) == pytest.approx(float(np.squeeze(con.dual_value)), abs=atol)


def rosenbrock_circle_reference() -> float:
    def g(t):
        return (1 - np.cos(t)) ** 2 + 100 * (np.sin(t) - np.cos(t) ** 2) ** 2
    grid = np.linspace(0, 2 * np.pi, 20001)
    t0 = grid[np.argmin(g(grid))]
    return float(minimize_scalar(g, bounds=(t0 - 1e-3, t0 + 1e-3), method="bounded",
                                 options={"xatol": 1e-12}).fun)


@pytest.mark.parametrize("method", NLP_METHODS)
def test_rosenbrock_with_equality(method):
    x = cp.Variable(2)
    prob = ok.Problem(cp.Minimize(cp.square(1 - x[0]) + 100 * cp.square(x[1] - cp.square(x[0]))),
                      [cp.sum_squares(x) == 1])
    res = ok.solve(prob, "scipy", method=method, x0={x: [0.5, 0.5]})
    assert res.termination == Termination.LOCALLY_OPTIMAL
    assert res.objective == pytest.approx(rosenbrock_circle_reference(), abs=1e-7)


@pytest.mark.parametrize("method", NLP_METHODS)
def test_maximisation_in_user_units(method):
    x = cp.Variable(2, nonneg=True)
    prob = ok.Problem(cp.Maximize(x[0] * x[1] - 0.1 * cp.square(x[0])), [x[0] + x[1] == 2])
    res = ok.solve(prob, "scipy", method=method, x0={x: [0.5, 1.0]})
    assert res.is_solved()
    assert res.objective == pytest.approx(1 / 1.1, abs=1e-6)


def _infeasible_nlp():
    """x·x <= 1 and x1 + x2 >= 3 cannot both hold."""
    return ok.NLP(x0=[0.5, 0.5], f=lambda x: x @ x, grad=lambda x: 2 * x,
                  cons=lambda x: np.array([x @ x, x[0] + x[1]]),
                  jac=lambda x: np.array([2 * x, [1.0, 1.0]]),
                  hess=lambda x, y: 2 * (1 + y[0]) * np.eye(2), cl=[-np.inf, 3], cu=[1, np.inf])


@pytest.mark.parametrize("method", NLP_METHODS)
def test_infeasible_nlp_is_not_reported_solved(method):
    res = ok.solve(_infeasible_nlp(), "scipy", method=method, max_iter=100)
    assert not res.termination.is_success
    assert res.primal_status == PrimalStatus.INFEASIBLE
    assert res.kkt["feasibility"] > 0.1


def test_status_table_rows_are_terminations():
    from optkit.solvers.scipy_backend import STATUS_MAP, ScipyBackend

    assert ScipyBackend.STATUS_MAP is STATUS_MAP
    assert all(isinstance(v, Termination) for v in STATUS_MAP.values())
    assert len(STATUS_MAP) == 54  # 21 HiGHS rows, 10 linprog/milp codes, 13 SLSQP, 6 trust-constr,
    # 4 L-BFGS-B
    expected = {"slsqp:0": Termination.LOCALLY_OPTIMAL, "slsqp:4": Termination.LOCALLY_INFEASIBLE,
                "slsqp:8": Termination.NUMERICAL_ERROR, "slsqp:9": Termination.ITERATION_LIMIT,
                "slsqp:2": Termination.INVALID_PROBLEM,
                "slsqp:8:stationary": Termination.LOCALLY_OPTIMAL,
                "slsqp:8:infeasible": Termination.LOCALLY_INFEASIBLE,
                "trust-constr:1": Termination.LOCALLY_OPTIMAL,
                "trust-constr:2": Termination.ALMOST_LOCALLY_OPTIMAL,
                "trust-constr:0": Termination.ITERATION_LIMIT,
                "trust-constr:4": Termination.LOCALLY_INFEASIBLE,
                "highs:kObjectiveBound": Termination.OBJECTIVE_LIMIT,
                "highs:kSolutionLimit": Termination.SOLUTION_LIMIT,
                "highs:kSolutionLimit:mip_max_nodes": Termination.NODE_LIMIT,
                "highs:kMemoryLimit": Termination.MEMORY_LIMIT,
                "linprog:1": Termination.OTHER_LIMIT}
    assert {k: STATUS_MAP[k] for k in expected} == expected


def test_highs_status_is_read_from_the_message():
    from optkit.solvers.scipy_backend import highs_status_name

    assert highs_status_name("Iteration limit reached. (HiGHS Status 14: ...)") == "kIterationLimit"
    assert highs_status_name("The HiGHS status code was not recognized. (HiGHS Status 16: "
                             "Solution limit reached)") == "kSolutionLimit"
    assert highs_status_name("no status here") is None


def test_slsqp_mode_8_is_refined_by_the_cores_measurement():
    from optkit.options import SolveOptions
    from optkit.solvers.scipy_backend import slsqp_stall_key

    # min (x-2)² s.t. x <= 1: x = 1 with y = 2 is a KKT point, x = 1.5 violates the row by 0.5
    form = ok.NLP(x0=[0.0], f=lambda x: (x[0] - 2) ** 2, cons=lambda x: np.array([x[0]]),
                  cl=[-np.inf], cu=[1.0]).form()
    o = SolveOptions()
    assert slsqp_stall_key(form, np.array([1.0]), np.array([2.0]), o) == "slsqp:8:stationary"
    assert slsqp_stall_key(form, np.array([1.5]), np.array([0.0]), o) == "slsqp:8:infeasible"
    assert slsqp_stall_key(form, np.array([0.5]), np.array([0.0]), o) == "slsqp:8"


def test_slsqp_on_infeasible_linear_constraints():
    # x >= 1 and x <= 0: scipy >= 1.16 relaxes the subproblem and stops on mode 8
    nlp = ok.NLP(x0=[0.5], f=lambda x: x[0] ** 2, cons=lambda x: np.array([x[0], x[0]]),
                 cl=[1, -np.inf], cu=[np.inf, 0])
    res = ok.solve(nlp, "scipy", method="SLSQP")
    assert res.extra["scipy_status"] in (4, 8)
    assert res.native_status in ("slsqp:4", "slsqp:8:infeasible")
    assert res.termination == Termination.LOCALLY_INFEASIBLE
    assert res.primal_status == PrimalStatus.INFEASIBLE
    assert res.kkt["feasibility"] == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("method", NLP_METHODS)
def test_time_limit(method):
    nlp = ok.NLP(x0=[-1.2, 1.0], f=lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)
    res = ok.solve(nlp, "scipy", method=method, time_limit=1e-9)
    assert res.termination == Termination.TIME_LIMIT
    # the deadline counts from ok.solve and every oracle checks it: stopped before an iteration
    assert len(res.history) <= 1 and res.x is not None


def test_history_and_callbacks_counted():
    nlp = ok.NLP(x0=[-1.2, 1.0], f=lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)
    res = ok.solve(nlp, "scipy", method="trust-constr")
    assert res.is_solved()
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-5)
    last = res.history[-1]
    assert last["iteration"] == len(res.history) == res.iterations
    assert {"objective", "dual_infeasibility", "primal_infeasibility", "evaluations", "time",
            "tr_radius"} <= set(last)
    assert last["objective"] == pytest.approx(0.0, abs=1e-10)
    assert 0 < last["evaluations"] <= res.evaluations["f"]
    assert res.evaluations["hess"] > 0


def test_more_equalities_than_variables_is_invalid_for_slsqp():
    nlp = ok.NLP(x0=[0.5], f=lambda x: x[0] ** 2, cons=lambda x: np.array([x[0] - 1, x[0] ** 2 - 1]))
    res = ok.solve(nlp, "scipy", method="SLSQP")
    assert res.extra["scipy_status"] == 2
    assert res.termination == Termination.INVALID_PROBLEM


def test_linprog_iteration_limit(mps_dir):
    res = ok.solve(ok.read(mps_dir / "afiro.mps"), "scipy", max_iter=2)
    assert res.termination == Termination.ITERATION_LIMIT
    assert res.native_status == "highs:kIterationLimit" and res.iterations == 2
    assert not res.is_solved()


def test_milp_path_honours_max_iter(mps_dir):
    # an LP through scipy's milp: max_iter caps the simplex iterations (mapped, not ignored)
    res = ok.solve(ok.read(mps_dir / "afiro.mps"), "scipy", method="milp", max_iter=1)
    assert res.termination == Termination.ITERATION_LIMIT
    assert res.native_status == "highs:kIterationLimit"
    # a MILP: max_iter caps branch-and-bound nodes (HiGHS's MIP ignores LP iteration limits)
    res = ok.solve(ok.read(mps_dir / "lseu.mps"), "scipy", max_iter=1)
    assert res.termination == Termination.NODE_LIMIT and res.nodes == 1
    assert res.extra["native_options"]["mip_max_nodes"] == 1
    assert not res.is_solved()


def test_highs_limits_through_linprog_and_milp(mps_dir):
    lseu, afiro = ok.read(mps_dir / "lseu.mps"), ok.read(mps_dir / "afiro.mps")
    res = ok.solve(lseu, "scipy", solver_options={"mip_max_improving_sols": 1})
    assert res.termination == Termination.SOLUTION_LIMIT and not res.is_solved()
    assert res.native_status == "highs:kSolutionLimit" and res.objective > 1120
    res = ok.solve(lseu, "scipy", solver_options={"node_limit": 1})  # scipy's name of mip_max_nodes
    assert res.termination == Termination.NODE_LIMIT
    res = ok.solve(afiro, "scipy", solver_options={"objective_bound": -500.0, "presolve": "off"})
    assert res.termination == Termination.OBJECTIVE_LIMIT and not res.is_solved()
    assert res.x is None  # scipy's linprog returns no point after a stop that is not optimal


def test_solver_options_are_checked_per_method(mps_dir):
    afiro = ok.read(mps_dir / "afiro.mps")
    with pytest.raises(OptionError, match=r"method linprog\)': 'ftol'"):  # an SLSQP name given to linprog
        ok.solve(afiro, "scipy", solver_options={"ftol": 1e-3})
    with pytest.raises(OptionError, match="did you mean mip_max_improving_sols"):
        ok.solve(afiro, "scipy", solver_options={"mip_max_improving_sol": 1})
    with pytest.raises(OptionError, match="did you mean maxiter"):
        ok.solve(ok.NLP(x0=[1.0], f=lambda x: x[0] ** 2), "scipy", solver_options={"maxiterr": 3})
    from optkit.solvers.scipy_backend import ScipyBackend

    b = ScipyBackend()
    assert {"ftol", "eps", "maxiter"} <= set(b.solver_option_names("SLSQP"))
    assert {"gtol", "xtol", "initial_barrier_parameter"} <= set(b.solver_option_names("trust-constr"))
    assert {"node_limit", "mip_rel_gap", "mip_max_improving_sols"} <= set(b.solver_option_names("milp"))
    assert "ftol" not in b.solver_option_names("milp")


def test_trust_constr_xtol_stop_is_an_almost_claim():
    # trust-constr's status 2 (trust region below xtol) is scipy's other success: ALMOST, which
    # counts as solved only when optkit's measurement verifies the point
    nlp = ok.NLP(x0=[-1.2, 1.0], f=lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)
    res = ok.solve(nlp, "scipy", method="trust-constr", solver_options={"xtol": 1e-3, "gtol": 1e-14})
    assert res.native_status == "trust-constr:2"
    assert res.termination == Termination.ALMOST_LOCALLY_OPTIMAL
    assert res.is_solved() is (res.verified is True)
    assert res.is_solved(strict=True) is False
