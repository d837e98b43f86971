"""Backend ``ipopt``: statuses, multipliers, options and derivative structure vs known answers."""
from __future__ import annotations

import subprocess
import sys

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import optkit as ok
from conftest import require_backend
from optkit.errors import OptionError
from optkit.status import PrimalStatus, Termination


@pytest.fixture
def ipopt():
    return require_backend("ipopt")


def rosenbrock_circle_reference() -> tuple[float, np.ndarray]:
    """min Rosenbrock on the unit circle by a 1-D search over the angle (no NLP code involved)."""
    def g(t):
        x, y = np.cos(t), np.sin(t)
        return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2
    grid = np.linspace(0, 2 * np.pi, 20001)
    t0 = grid[np.argmin(g(grid))]
    r = minimize_scalar(g, bounds=(t0 - 1e-3, t0 + 1e-3), method="bounded",
                        options={"xatol": 1e-12})
    return float(r.fun), np.array([np.cos(r.x), np.sin(r.x)])


def rosenbrock_circle(derivatives: bool = True) -> ok.NLP:
    def f(x):
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    kw = {}
    if derivatives:
        kw = dict(grad=lambda x: np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
                                           200 * (x[1] - x[0] ** 2)]),
                  jac=lambda x: np.array([2 * x]),
                  hess=lambda x, y: np.array([[2 - 400 * (x[1] - 3 * x[0] ** 2), -400 * x[0]],
                                              [-400 * x[0], 200.0]]) + 2 * y[0] * np.eye(2))
    return ok.NLP(x0=[0.0, 0.0], f=f, cons=lambda x: np.array([x[0] ** 2 + x[1] ** 2 - 1]),
                  name="rosenbrock-circle", **kw)


def test_is_available_does_not_import_cyipopt():
    code = ("import sys, optkit; from optkit import registry; b = registry.get('ipopt'); "
            "print(b.is_available(), 'cyipopt' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    avail, imported = out.stdout.split()
    assert imported == "False"
    assert avail in ("True", "False")


def test_accepts_and_version(ipopt):
    assert ipopt.accepts == frozenset({"nlp", "nlp-equality", "qp", "lp"})
    assert ipopt.version().startswith("3.") and "cyipopt" in ipopt.version()


def test_convex_duals_match_clarabel(ipopt):
    z = cp.Variable(2)
    c1 = z[0] + z[1] <= 1
    c2 = cp.sum_squares(z) <= 2
    c3 = z[0] - z[1] >= 0.5
    objective = cp.Minimize(cp.sum_squares(z - np.array([2.0, 1.0])) + z[0] * 0.3)
    ref = cp.Problem(objective, [c1, c2, c3])
    ref.solve(solver="CLARABEL")
    duals = [float(np.squeeze(c.dual_value)) for c in (c1, c2, c3)]
    res = ok.solve(ok.Problem(objective, [c1, c2, c3]), "ipopt", tol=1e-10)
    assert res.termination == Termination.LOCALLY_OPTIMAL
    assert res.objective == pytest.approx(ref.value, abs=1e-7)
    for con, d in zip((c1, c2, c3), duals):
        assert res.dual(con) == pytest.approx(d, abs=1e-6)
    assert duals[0] > 0.1  # the test means something: c1 is active


def test_maximisation_reported_in_user_units(ipopt):
    x = cp.Variable(2, nonneg=True)
    prob = ok.Problem(cp.Maximize(x[0] * x[1] - 0.1 * cp.square(x[0])), [x[0] + x[1] == 2])
    res = ok.solve(prob, "ipopt", x0={x: [0.5, 1.0]})
    # max x(2−x) − 0.1x² → x = 1/1.1, value (1/1.1)(2 − 1/1.1) − 0.1/1.21 = 1/1.1
    assert res.is_solved()
    assert res.objective == pytest.approx(1 / 1.1, abs=1e-7)
    np.testing.assert_allclose(res.value(x), [1 / 1.1, 2 - 1 / 1.1], atol=1e-6)


def test_infeasible_is_locally_infeasible(ipopt):
    nlp = ok.NLP(x0=[0.5, 0.5], f=lambda x: x @ x,
                 cons=lambda x: np.array([x @ x, x[0] + x[1]]), cl=[-np.inf, 3], cu=[1, np.inf])
    res = ok.solve(nlp, "ipopt")
    assert res.termination == Termination.LOCALLY_INFEASIBLE
    assert res.primal_status == PrimalStatus.INFEASIBLE
    assert res.extra["ipopt_status"] == 2


def test_unbounded(ipopt):
    nlp = ok.NLP(x0=[0.0, 0.0], f=lambda x: -x[0] - x[1], grad=lambda x: np.array([-1.0, -1.0]),
                 cons=lambda x: np.array([x[0] - x[1]]), jac=lambda x: np.array([[1.0, -1.0]]),
                 hess=lambda x, y: np.zeros((2, 2)))
    res = ok.solve(nlp, "ipopt")
    assert res.termination == Termination.UNBOUNDED
    assert res.objective < -1e19


def test_diverging_while_infeasible_is_not_unbounded(ipopt):
    # x0 − x1 = 1 and x1 − x0 = 1: primal infeasible (and its dual too); IPOPT's iterates diverge
    # with inf_pr = 1, so "unbounded" would be wrong
    lp = ok.LinearProblem(c=[-1, -1], A=[[1, -1], [-1, 1]], rl=[1, 1], ru=[1, 1])
    res = ok.solve(lp, "ipopt")
    assert res.extra["ipopt_status"] == 4 and res.native_status == "4/infeasible"
    assert res.termination == Termination.INFEASIBLE_OR_UNBOUNDED
    assert res.primal_status == PrimalStatus.INFEASIBLE and not res.is_solved()


def test_time_limit(ipopt):
    nlp = rosenbrock_circle()
    res = ok.solve(nlp, "ipopt", time_limit=1e-9)
    assert res.termination == Termination.TIME_LIMIT
    assert res.iterations == 0


def test_iteration_limit(ipopt):
    res = ok.solve(rosenbrock_circle(), "ipopt", max_iter=1)
    assert res.termination == Termination.ITERATION_LIMIT
    assert res.iterations == 1


@pytest.mark.parametrize("derivatives", [True, False])
def test_rosenbrock_with_equality(ipopt, derivatives):
    f_star, x_star = rosenbrock_circle_reference()
    res = ok.solve(rosenbrock_circle(derivatives), "ipopt")
    assert res.is_solved()
    assert res.objective == pytest.approx(f_star, abs=1e-8)
    np.testing.assert_allclose(res.x, x_star, atol=1e-6)
    assert res.kkt["kkt"] <= 1e-6


def test_unconstrained(ipopt):
    nlp = ok.NLP(x0=[-1.2, 1.0], f=lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)
    res = ok.solve(nlp, "ipopt")
    assert res.is_solved()
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)


def test_sparsity_that_changes_during_the_solve_triggers_a_restart(ipopt):
    """∂c/∂x2 is exactly 0 for x2 <= 0.5 (at x0 and the probe) and nonzero at the solution."""
    def s(t):
        return (t - 0.5) ** 3 if t > 0.5 else 0.0

    def ds(t):
        return 3 * (t - 0.5) ** 2 if t > 0.5 else 0.0

    nlp = ok.NLP(x0=[0.0, 0.0], f=lambda x: (x[0] - 2) ** 2 + (x[1] - 2) ** 2,
                 grad=lambda x: 2 * (x - 2), cons=lambda x: np.array([x[0] + s(x[1])]),
                 jac=lambda x: np.array([[1.0, ds(x[1])]]), cl=[1.0], cu=[1.0])
    # reference: eliminate x1 = 1 − s(x2) and minimise over x2
    ref = minimize_scalar(lambda t: (1 - s(t) - 2) ** 2 + (t - 2) ** 2, bounds=(0.5, 2),
                          method="bounded", options={"xatol": 1e-12})
    res = ok.solve(nlp, "ipopt")
    assert res.extra["restarts"] >= 1
    assert res.is_solved()
    assert res.objective == pytest.approx(ref.fun, abs=1e-8)
    assert res.x[1] == pytest.approx(ref.x, abs=1e-6)


def test_lp_and_qp_through_ipopt(ipopt, mps_dir):
    res = ok.solve(ok.read(mps_dir / "afiro.mps"), "ipopt")
    assert res.termination == Termination.LOCALLY_OPTIMAL
    assert res.objective == pytest.approx(-464.7531428571, rel=1e-7)
    res = ok.solve(ok.read(mps_dir / "qptestnw.lp"), "ipopt")
    assert res.objective == pytest.approx(-6.45, abs=1e-6)


def test_lp_row_multipliers_match_highs(ipopt, mixed_rows_lp):
    """Upper, lower, range and equality rows: y (L = f + yᵀAx) equals HiGHS's."""
    require_backend("highs")
    lp = mixed_rows_lp
    ref = ok.solve(lp, "highs")
    res = ok.solve(lp, "ipopt", tol=1e-10)
    assert res.objective == pytest.approx(ref.objective, abs=1e-7)
    np.testing.assert_allclose(res.y, ref.y, atol=1e-6)
    assert np.any(ref.y > 1e-3) and np.any(ref.y < -1e-3)  # both signs are exercised


def test_bad_options(ipopt):
    with pytest.raises(OptionError, match="hessian"):
        ok.solve(rosenbrock_circle(), "ipopt", hessian="bfgs")
    with pytest.raises(OptionError, match="no_such_option"):
        ok.solve(rosenbrock_circle(), "ipopt", solver_options={"no_such_option": 1})
    with pytest.raises(OptionError, match="unknown option"):
        ok.solve(rosenbrock_circle(), "ipopt", method="SLSQP")


def test_option_names_come_from_ipopt_itself(ipopt):
    names = ipopt.solver_option_names()
    assert names is not None and len(names) > 150
    assert {"tol", "max_iter", "acceptable_iter", "linear_solver", "mu_strategy", "sb"} <= set(names)
    with pytest.raises(OptionError, match="did you mean acceptable_iter"):
        ok.solve(rosenbrock_circle(), "ipopt", solver_options={"acceptable_itr": 3})


def test_refused_values_name_the_option_and_its_range(ipopt, capfd):
    with pytest.raises(OptionError, match=r"tol=-1.0 .*IPOPT documents tol: 0 < \( 1e-08\)"):
        ok.solve(rosenbrock_circle(), "ipopt", solver_options={"tol": -1.0})
    with pytest.raises(OptionError, match="mu_strategy='bogus'.*values: monotone, adaptive"):
        ok.solve(rosenbrock_circle(), "ipopt", solver_options={"mu_strategy": "bogus"})
    assert capfd.readouterr().out == ""   # IPOPT's own printout of the refusal is silenced


def test_option_refused_at_solve_time_is_named(ipopt):
    # an unavailable linear solver passes add_option and fails when IPOPT builds its algorithm
    # (status -12, "Invalid option encountered."): the error says which option and why
    with pytest.raises(OptionError, match=r"(?s)MA57 not available.*linear_solver='ma57'"):
        ok.solve(rosenbrock_circle(), "ipopt", solver_options={"linear_solver": "ma57"})


def test_status_table(ipopt):
    from optkit.solvers.ipopt import STATUS_MAP, STATUS_NAMES

    assert type(ipopt).STATUS_MAP is STATUS_MAP
    assert set(STATUS_NAMES) == {k for k in STATUS_MAP if isinstance(k, int)}
    assert STATUS_MAP["4/infeasible"] == Termination.INFEASIBLE_OR_UNBOUNDED
    rows = {0: Termination.LOCALLY_OPTIMAL, 1: Termination.ALMOST_LOCALLY_OPTIMAL,
            2: Termination.LOCALLY_INFEASIBLE, 3: Termination.NUMERICAL_ERROR,
            4: Termination.UNBOUNDED, 5: Termination.INTERRUPTED, 6: Termination.LOCALLY_OPTIMAL,
            -1: Termination.ITERATION_LIMIT, -2: Termination.NUMERICAL_ERROR,
            -4: Termination.TIME_LIMIT, -5: Termination.TIME_LIMIT,
            -10: Termination.INVALID_PROBLEM, -12: Termination.INVALID_PROBLEM,
            -13: Termination.NUMERICAL_ERROR, -102: Termination.MEMORY_LIMIT,
            -199: Termination.ERROR}
    for code, term in rows.items():
        assert STATUS_MAP[code] == term, code


def test_acceptable_level_is_almost_locally_optimal_and_measured(ipopt):
    # tol far below reach and acceptable_iter=1: IPOPT stops at its "acceptable" level (status 1)
    loose = ok.solve(rosenbrock_circle(), "ipopt", tol=1e-14,
                     solver_options={"acceptable_iter": 1, "acceptable_tol": 1e-1,
                                     "acceptable_constr_viol_tol": 1e-3})
    assert loose.extra["ipopt_status"] == 1 and loose.native_status == "1"
    assert loose.termination == Termination.ALMOST_LOCALLY_OPTIMAL
    assert loose.native_status_text == "Solved_To_Acceptable_Level"
    assert loose.verified is False and not loose.is_solved()     # optkit measures 3e-5 > 1e-5
    assert loose.kkt["stationarity_rel"] > 1e-5
    tight = ok.solve(rosenbrock_circle(), "ipopt", tol=1e-14,
                     solver_options={"acceptable_iter": 1, "acceptable_tol": 1e-6})
    assert tight.termination == Termination.ALMOST_LOCALLY_OPTIMAL
    assert tight.verified is True and tight.is_solved() and not tight.is_solved(strict=True)
    f_star, _ = rosenbrock_circle_reference()
    assert tight.objective == pytest.approx(f_star, abs=1e-8)


def test_limited_memory_never_touches_the_hessian(ipopt):
    def hess(x, y):
        raise AssertionError("the Hessian must not be evaluated under limited-memory")

    nlp = rosenbrock_circle()
    nlp_lm = ok.NLP(x0=[0.0, 0.0], f=lambda x: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2,
                    grad=lambda x: np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
                                             200 * (x[1] - x[0] ** 2)]),
                    cons=lambda x: np.array([x[0] ** 2 + x[1] ** 2 - 1]),
                    jac=lambda x: np.array([2 * x]), hess=hess)
    res = ok.solve(nlp_lm, "ipopt", hessian="limited-memory")
    assert res.is_solved() and res.evaluations["hess"] == 0 and res.extra["hessian_nnz"] == 0
    f_star, _ = rosenbrock_circle_reference()
    assert res.objective == pytest.approx(f_star, abs=1e-7)
    exact = ok.solve(nlp, "ipopt")
    assert exact.evaluations["hess"] > 0


def test_history_in_the_shared_schema(ipopt):
    from optkit.raw import HISTORY_FIELDS

    res = ok.solve(rosenbrock_circle(), "ipopt")
    assert res.history and len(res.history) == res.iterations + 1      # iterations 0..k
    assert [h["iteration"] for h in res.history] == list(range(res.iterations + 1))
    assert all(set(HISTORY_FIELDS) <= set(h) for h in res.history)
    first, last = res.history[0], res.history[-1]
    assert first["primal_infeasibility"] == pytest.approx(1.0)          # |0² + 0² − 1| at x0
    assert last["primal_infeasibility"] < 1e-8 and last["dual_infeasibility"] < 1e-8
    assert last["objective"] == pytest.approx(res.objective, abs=1e-10)
    assert 0 < first["evaluations"] <= last["evaluations"] <= sum(res.evaluations.values())
    assert 0 <= first["time"] <= last["time"] and {"mu", "alpha_pr", "alpha_du"} <= set(last)


def test_fixed_structure_of_a_compiled_form_is_used(ipopt):
    from optkit.ir.nlp_form import NLPForm

    z = cp.Variable(2)
    prob = ok.Problem(cp.Minimize(cp.sum_squares(z - np.array([2.0, 1.0]))), [cp.sum_squares(z) <= 1])
    res = ok.solve(prob, "ipopt", x0={z: [0.1, 0.1]})
    has_fixed = "jac_structure_fn" in NLPForm.__dataclass_fields__
    assert res.extra["structure"] == ("form" if has_fixed else "probed")
    assert res.extra["restarts"] == 0 and res.is_solved()
    # projection of (2, 1) onto the unit disc: (2, 1)/√5, f = (√5 − 1)²
    np.testing.assert_allclose(res.value(z), np.array([2.0, 1.0]) / np.sqrt(5), atol=1e-7)
    assert res.objective == pytest.approx((np.sqrt(5) - 1) ** 2, abs=1e-8)
    assert ok.solve(rosenbrock_circle(), "ipopt").extra["structure"] == "probed"


def test_limited_memory_never_builds_the_hessian_structure(ipopt, monkeypatch):
    from optkit.ir.nlp_form import NLPForm

    def forbidden(self, *args):
        raise AssertionError("no Hessian (values or structure) under limited-memory")

    for name in ("hess", "hess_structure", "hess_values"):
        if hasattr(NLPForm, name):
            monkeypatch.setattr(NLPForm, name, forbidden)
    z = cp.Variable(2)
    prob = ok.Problem(cp.Minimize(cp.sum_squares(z - np.array([2.0, 1.0]))), [cp.sum_squares(z) <= 1])
    res = ok.solve(prob, "ipopt", x0={z: [0.1, 0.1]}, hessian="limited-memory")
    assert res.is_solved() and res.evaluations["hess"] == 0
    assert res.objective == pytest.approx((np.sqrt(5) - 1) ** 2, abs=1e-7)


def test_solver_options_pass_through(ipopt):
    res = ok.solve(rosenbrock_circle(), "ipopt", solver_options={"max_iter": 2})
    assert res.termination == Termination.ITERATION_LIMIT


def test_evaluation_error_cuts_the_step_back(ipopt):
    """min x − log x from x0 = 10: the first Newton step lands at x < 0 where math.log raises."""
    import math

    nlp = ok.NLP(x0=[10.0], f=lambda x: x[0] - math.log(x[0]),
                 grad=lambda x: np.array([1 - 1 / x[0]]),
                 hess=lambda x, y: np.array([[1 / x[0] ** 2]]))
    res = ok.solve(nlp, "ipopt")
    assert res.is_solved()
    assert res.x[0] == pytest.approx(1.0, abs=1e-8)
    assert res.objective == pytest.approx(1.0, abs=1e-12)
    assert res.extra["evaluation_errors"] >= 1


def test_exception_in_a_callback_is_an_error_result(ipopt):
    def grad(x):
        if x[0] != 10.0:
            raise TypeError("bug in user gradient")
        return np.array([2 * x[0]])

    res = ok.solve(ok.NLP(x0=[10.0], f=lambda x: x[0] ** 2, grad=grad), "ipopt")
    assert res.termination == Termination.ERROR
    assert "bug in user gradient" in res.message


def test_too_few_degrees_of_freedom_is_invalid(ipopt):
    nlp = ok.NLP(x0=[0.5], f=lambda x: x[0] ** 2, cons=lambda x: np.array([x[0] - 1, x[0] ** 2 - 1]))
    res = ok.solve(nlp, "ipopt")
    assert res.extra["ipopt_status"] == -10
    assert res.termination == Termination.INVALID_PROBLEM
    assert res.x is None and res.primal_status == PrimalStatus.NO_SOLUTION
