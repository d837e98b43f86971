"""Backend ``pyomo``: LinearForm → Pyomo model, plug-ins HiGHS (default), appsi_highs, GLPK, CBC.
Known answers from formulas or from the ``highs`` backend (HiGHS through highspy directly); the
declared status table, HiGHS's own statuses and counters through the HiGHS plug-ins."""
import shutil

import numpy as np
import pytest

from conftest import MPS_DIR, require_backend

pytest.importorskip("pyomo")
import optkit as ok
from optkit.errors import OptionError, SolverUnavailableError, UnsupportedProblemError
from optkit.options import SolveOptions
from optkit.status import PrimalStatus, Termination


def _plugins():
    """Plug-ins to exercise: HiGHS always (it is the backend's requirement), GLPK/CBC when their
    executables exist — in CI they are installed (glpk-utils, coinor-cbc), so a missing one fails."""
    import os

    out = ["highs", "appsi_highs"]
    for name, exe in (("glpk", "glpsol"), ("cbc", "cbc")):
        if shutil.which(exe) or os.environ.get("OPTKIT_REQUIRE_BACKENDS") == "1":
            out.append(name)
    return out


PLUGINS = _plugins()


def _need(exe: str) -> None:
    """Skip without the executable locally; fail in CI (OPTKIT_REQUIRE_BACKENDS=1)."""
    import os

    if shutil.which(exe) is None:
        if os.environ.get("OPTKIT_REQUIRE_BACKENDS") == "1":
            pytest.fail(f"executable {exe!r} missing (OPTKIT_REQUIRE_BACKENDS=1)")
        pytest.skip(f"executable {exe!r} missing")


pytestmark = pytest.mark.backend("pyomo")  # every test here needs the pyomo backend


def _rows_problem():
    """One equality, one upper, one lower and one two-sided row; unique primal and dual."""
    A = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, -1, 1.0]])
    return ok.LinearProblem(c=[1, 2, 3], A=A, rl=[1, -np.inf, 1.5, -1], ru=[1, 3, np.inf, 0.2],
                            lb=[0, 0, 0], ub=[5, 5, 5])


@pytest.mark.parametrize("plugin", PLUGINS)
def test_lp_duals_match_highs(plugin):
    p = _rows_problem()
    ref = ok.solve(p, "highs")
    res = ok.solve(p, "pyomo", pyomo_solver=plugin)
    assert res.termination == Termination.OPTIMAL, res.message
    assert res.objective == pytest.approx(3.5, rel=1e-9)
    assert np.allclose(res.x, [0, 1, 0.5], atol=1e-9)
    assert np.allclose(res.y, ref.y, atol=1e-9)       # y = (1, 0, -3, 0), L = f + yᵀAx
    assert res.kkt["kkt"] < 1e-8
    assert res.extra["pyomo_solver"] == plugin


@pytest.mark.parametrize("plugin", PLUGINS)
def test_problem_values_and_duals(plugin):
    import cvxpy as cp

    z = cp.Variable(2, nonneg=True)
    c1, c2 = z[0] + 2 * z[1] <= 4, 3 * z[0] + z[1] <= 6
    res = ok.solve(ok.Problem(cp.Maximize(z[0] + z[1]), [c1, c2]), "pyomo", pyomo_solver=plugin)
    assert res.objective == pytest.approx(2.8, rel=1e-9)
    assert np.allclose(res.value(z), [1.6, 1.2], atol=1e-9)
    assert res.dual(c1) == pytest.approx(0.4, abs=1e-9) and res.dual(c2) == pytest.approx(0.2, abs=1e-9)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_milp_knapsack(plugin):
    import cvxpy as cp

    z = cp.Variable(3, boolean=True)
    rows, rhs = np.array([[2, 3, 1], [4, 1, 2], [3, 4, 2]]), np.array([5, 11, 8])
    best = max(5 * a + 4 * b + 3 * c for a in (0, 1) for b in (0, 1) for c in (0, 1)
               if np.all(rows @ np.array([a, b, c]) <= rhs))
    res = ok.solve(ok.Problem(cp.Maximize(np.array([5, 4, 3]) @ z), [rows @ z <= rhs]), "pyomo",
                   pyomo_solver=plugin)
    assert res.termination == Termination.OPTIMAL
    assert res.objective == pytest.approx(best)
    assert res.y is None


def test_qp_through_highs():
    # min ½(x0² + x1²) − x0 − 2x1 s.t. x0 + x1 <= 2: x = (0.5, 1.5), f = −2.25, y = 0.5
    p = ok.LinearProblem(c=[-1, -2], A=[[1, 1]], rl=[-np.inf], ru=[2], Q=np.eye(2))
    res = ok.solve(p, "pyomo")
    assert res.termination == Termination.OPTIMAL
    assert res.objective == pytest.approx(-2.25, rel=1e-7)
    assert np.allclose(res.x, [0.5, 1.5], atol=1e-6)
    assert res.y == pytest.approx([0.5], abs=1e-6)


def test_qp_with_offdiagonal_terms_matches_highs():
    p = ok.read(MPS_DIR / "qptestnw.lp")
    ref, res = ok.solve(p, "highs"), ok.solve(p, "pyomo")
    assert res.objective == pytest.approx(-6.45, rel=1e-7) == ref.objective


@pytest.mark.parametrize("plugin", ["glpk", "cbc", "appsi_highs"])
def test_qp_refused_by_linear_only_plugins(plugin):
    p = ok.LinearProblem(c=[-1, -2], A=[[1, 1]], rl=[-np.inf], ru=[2], Q=np.eye(2))
    with pytest.raises(UnsupportedProblemError, match=f"'{plugin}' does not solve qp"):
        ok.solve(p, "pyomo", pyomo_solver=plugin)


@pytest.mark.parametrize("plugin", PLUGINS)
def test_infeasible_and_unbounded(plugin):
    inf = ok.LinearProblem(c=[1, 1], A=[[1, 1]], rl=[3], ru=[np.inf], lb=[0, 0], ub=[1, 1])
    unb = ok.LinearProblem(c=[-1, 0], A=[[0, 1]], rl=[0], ru=[1], lb=[0, 0])
    r_inf = ok.solve(inf, "pyomo", pyomo_solver=plugin)
    r_unb = ok.solve(unb, "pyomo", pyomo_solver=plugin)
    # (GLPK: Pyomo reports both as unbounded; the backend's feasibility re-solve separates them)
    assert r_inf.termination == Termination.INFEASIBLE, r_inf.message
    assert r_unb.termination == Termination.UNBOUNDED, r_unb.message
    assert r_inf.primal_status == PrimalStatus.NO_SOLUTION


@pytest.mark.parametrize("name", ["bgetam", "klein1", "woodinfe"])
def test_glpk_infeasible_netlib_lps(name):
    _need("glpsol")
    res = ok.solve(ok.read(MPS_DIR / f"{name}.mps"), "pyomo", pyomo_solver="glpk")
    assert res.termination == Termination.INFEASIBLE, res.message


def test_crossed_bounds_are_answered_by_the_core():
    p = ok.LinearProblem(c=[1, 1], A=[[1, 1]], rl=[2], ru=[1], lb=[0, 0], ub=[1, 1])
    res = ok.solve(p, "pyomo")
    assert res.termination == Termination.INFEASIBLE and res.verified is True
    assert res.native_status == "presolve"
    assert res.message == "bounds of row index 0 cross: 2.0 > 1.0 (1 crossed in all)"


def test_unused_variable_gets_a_feasible_value():
    # x1 appears nowhere: it must come back inside its bounds, not NaN
    p = ok.LinearProblem(c=[1, 0], A=[[1, 0]], rl=[1], ru=[2], lb=[0, 3], ub=[5, 4])
    res = ok.solve(p, "pyomo")
    assert res.x[0] == pytest.approx(1.0) and 3 <= res.x[1] <= 4


def test_time_limit_reached_on_a_hard_milp():
    # GLPK needs far more than one second on sp150x300d: it must stop and say TIME_LIMIT
    _need("glpsol")
    res = ok.solve(ok.read(MPS_DIR / "sp150x300d.mps"), "pyomo", pyomo_solver="glpk", time_limit=1)
    assert res.termination == Termination.TIME_LIMIT


def test_unavailable_and_unknown_solvers():
    p = _rows_problem()
    if shutil.which("ipopt") is None:
        with pytest.raises(SolverUnavailableError, match="ipopt"):
            ok.solve(p, "pyomo", pyomo_solver="ipopt")
    with pytest.raises(OptionError, match="pyomo_solver of backend 'pyomo' must be one of "
                                          "'appsi_highs', 'highs', 'glpk', 'cbc', 'ipopt'"):
        ok.solve(p, "pyomo", pyomo_solver="no_such_solver")
    with pytest.raises(UnsupportedProblemError, match="does not accept a nlp"):
        import cvxpy as cp

        x = cp.Variable(2)
        ok.solve(ok.Problem(cp.Minimize(cp.exp(x[0]) * x[1]), [x[0] + x[1] == 1]), "pyomo")


def test_native_option_mapping():
    from optkit.solvers._highs_options import highs_options
    from optkit.solvers.pyomo_backend import native_options

    o = SolveOptions(tol=1e-7, max_iter=50, time_limit=2.5, seed=3, solver_options={"presolve": "off"})
    for plugin in ("highs", "appsi_highs"):
        assert native_options(plugin, o, is_mip=True) == highs_options(o, True) == {
            "output_flag": False, "time_limit": 2.5, "primal_feasibility_tolerance": 1e-7,
            "dual_feasibility_tolerance": 1e-7, "ipm_optimality_tolerance": 1e-7,
            "mip_rel_gap": 1e-7, "mip_max_nodes": 50, "random_seed": 3, "presolve": "off"}
    g = native_options("glpk", SolveOptions(time_limit=2.5, tol=1e-6), is_mip=True)
    assert g == {"tmlim": 3, "mipgap": 1e-6}
    assert native_options("glpk", SolveOptions(), is_mip=False) == {"nopresol": None}
    c = native_options("cbc", o, is_mip=True)
    assert c["sec"] == 2.5 and c["ratioGap"] == 1e-7 and c["maxNodes"] == 50
    assert native_options("cbc", o, is_mip=False)["maxIterations"] == 50


def test_status_table():
    from pyomo.opt import TerminationCondition as TC

    from optkit.solvers._highs_options import HIGHS_STATUS_MAP
    from optkit.solvers.pyomo_backend import STATUS_MAP, PyomoBackend

    assert PyomoBackend.STATUS_MAP is STATUS_MAP
    assert all(isinstance(v, Termination) for v in STATUS_MAP.values())
    assert {t.name for t in TC} <= set(STATUS_MAP)  # every Pyomo condition has a row
    assert {f"highs:{k}" for k in HIGHS_STATUS_MAP} <= set(STATUS_MAP)
    expected = {"locallyOptimal": Termination.LOCALLY_OPTIMAL, "optimal": Termination.OPTIMAL,
                "maxTimeLimit": Termination.TIME_LIMIT, "maxIterations": Termination.ITERATION_LIMIT,
                "maxEvaluations": Termination.EVALUATION_LIMIT,
                "minFunctionValue": Termination.OBJECTIVE_LIMIT,
                "infeasibleOrUnbounded": Termination.INFEASIBLE_OR_UNBOUNDED,
                "feasible": Termination.OTHER_LIMIT, "feasible:time_limit": Termination.TIME_LIMIT,
                "unbounded:infeasible": Termination.INFEASIBLE,
                "highs:kSolutionLimit": Termination.SOLUTION_LIMIT}
    assert {k: STATUS_MAP[k] for k in expected} == expected


@pytest.mark.parametrize("plugin", ["highs", "appsi_highs"])
def test_highs_plugins_report_highs_statuses_and_counters(plugin):
    lseu = ok.read(MPS_DIR / "lseu.mps")
    res = ok.solve(lseu, "pyomo", pyomo_solver=plugin)
    assert res.native_status == "highs:kOptimal" and res.is_solved()
    assert res.objective == pytest.approx(1120.0, rel=1e-9)
    assert res.nodes >= 1 and res.iterations > res.nodes  # LP iterations, never nodes
    assert res.mip_gap == pytest.approx(0.0, abs=1e-4)
    assert res.dual_bound == pytest.approx(1120.0, rel=1e-4)
    # Pyomo's own condition would be maxIterations here; HiGHS's status keeps the reason
    res = ok.solve(lseu, "pyomo", pyomo_solver=plugin, solver_options={"mip_max_improving_sols": 1})
    assert res.termination == Termination.SOLUTION_LIMIT and not res.is_solved()
    assert res.extra["termination_condition"] == "maxIterations"
    res = ok.solve(lseu, "pyomo", pyomo_solver=plugin, max_iter=1)
    assert res.termination == Termination.NODE_LIMIT and res.nodes == 1
    res = ok.solve(ok.read(MPS_DIR / "afiro.mps"), "pyomo", pyomo_solver=plugin, max_iter=1)
    assert res.termination == Termination.ITERATION_LIMIT and res.iterations == 1
    assert res.nodes is None


def test_cbc_counters_come_from_pyomos_statistics():
    _need("cbc")
    res = ok.solve(ok.read(MPS_DIR / "lseu.mps"), "pyomo", pyomo_solver="cbc")
    assert res.native_status == "optimal" and res.objective == pytest.approx(1120.0, rel=1e-9)
    assert res.nodes >= 1 and res.iterations > res.nodes
    assert res.dual_bound == pytest.approx(1120.0, rel=1e-6)


def test_solver_options_are_checked_for_highs_plugins_only():
    p = _rows_problem()
    with pytest.raises(OptionError, match="did you mean mip_max_improving_sols"):
        ok.solve(p, "pyomo", solver_options={"mip_max_improving_sol": 1})
    from optkit.solvers.pyomo_backend import PyomoBackend

    b = PyomoBackend()
    assert b.solver_option_names() is None and b.solver_option_names("glpk") is None
    assert "mip_max_improving_sols" in b.solver_option_names("appsi_highs")


def test_model_build_is_exact():
    # the Pyomo model reproduces the LinearForm: objective and row activities at a random point
    import pyomo.environ as pyo

    from optkit.solvers.pyomo_backend import build_model

    form = ok.read(MPS_DIR / "primal1.mps").form
    model, rows = build_model(form, with_duals=False)
    x = np.random.default_rng(0).uniform(-1, 1, form.n)
    for j in range(form.n):
        model.x[j].value = x[j]
    assert pyo.value(model.obj) == pytest.approx(form.objective(x), rel=1e-12)
    act = form.A @ x
    body = np.array([pyo.value(model.rows[int(i)].body) for i in rows])
    assert np.allclose(body, act[rows], atol=1e-12)


@pytest.mark.parametrize("backend", ["pyomo", "cvxpy"])
def test_form_without_variables(backend):
    import scipy.sparse as sp

    require_backend(backend)
    ok_form = ok.LinearProblem(c=np.zeros(0), A=sp.csr_matrix((1, 0)), rl=[-1], ru=[1], c0=2.0)
    res = ok.solve(ok_form, backend)
    assert res.termination == Termination.OPTIMAL and res.objective == pytest.approx(2.0)
    bad = ok.LinearProblem(c=np.zeros(0), A=sp.csr_matrix((1, 0)), rl=[1], ru=[2])
    assert ok.solve(bad, backend).termination == Termination.INFEASIBLE
