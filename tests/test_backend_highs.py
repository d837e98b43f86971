"""Backend ``highs`` and the one HiGHS option mapper / status table every HiGHS path shares
(``highs``; ``scipy``'s linprog and milp; ``pyomo``'s highs and appsi_highs plug-ins).

Known answers: lseu (MILP, optimum 1120) and afiro (LP, optimum −464.7531428571) from the shared
MPS collection; the limits are set so that HiGHS stops on them (an objective bound below afiro's
optimum with presolve off, one improving solution, one node, one simplex iteration)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import MPS_DIR, require_backend

import optkit as ok
from optkit.errors import OptionError, UnsupportedProblemError
from optkit.options import SolveOptions
from optkit.status import PrimalStatus, Termination

HIGHS_PATHS = [("highs", {}), ("scipy", {}), ("pyomo", {"pyomo_solver": "highs"}),
               ("pyomo", {"pyomo_solver": "appsi_highs"})]
IDS = ["highs", "scipy", "pyomo-highs", "pyomo-appsi"]


@pytest.fixture(autouse=True)
def _backend():
    require_backend("highs")


def _path(backend: str) -> None:
    require_backend(backend)


def lseu():
    return ok.read(MPS_DIR / "lseu.mps")


def afiro():
    return ok.read(MPS_DIR / "afiro.mps")


# ---------------------------------------------------------------------- the status table
def test_every_highs_model_status_has_a_row():
    import highspy

    from optkit.solvers._highs_options import HIGHS_STATUS_MAP
    from optkit.solvers.highs import HighsBackend

    assert set(highspy.HighsModelStatus.__members__) <= set(HIGHS_STATUS_MAP)
    assert all(isinstance(t, Termination) for t in HighsBackend.STATUS_MAP.values())
    assert set(HIGHS_STATUS_MAP) <= set(HighsBackend.STATUS_MAP)
    expected = {"kOptimal": Termination.OPTIMAL, "kObjectiveBound": Termination.OBJECTIVE_LIMIT,
                "kObjectiveTarget": Termination.OBJECTIVE_LIMIT,
                "kSolutionLimit": Termination.SOLUTION_LIMIT,
                "kSolutionLimit:mip_max_nodes": Termination.NODE_LIMIT,
                "kMemoryLimit": Termination.MEMORY_LIMIT, "kTimeLimit": Termination.TIME_LIMIT,
                "kIterationLimit": Termination.ITERATION_LIMIT,
                "kInterrupt": Termination.INTERRUPTED, "kInfeasible": Termination.INFEASIBLE,
                "kUnbounded": Termination.UNBOUNDED,
                "kUnboundedOrInfeasible": Termination.INFEASIBLE_OR_UNBOUNDED,
                "kModelError": Termination.INVALID_PROBLEM, "kSolveError": Termination.NUMERICAL_ERROR,
                "kError": Termination.INVALID_PROBLEM}
    assert {k: HighsBackend.STATUS_MAP[k] for k in expected} == expected


def test_status_key_refines_a_node_limit_only():
    from optkit.solvers._highs_options import keeps_point, status_key

    assert status_key("kSolutionLimit", 1, {"mip_max_nodes": 1}) == "kSolutionLimit:mip_max_nodes"
    assert status_key("kSolutionLimit", 0, {"mip_max_nodes": 1}) == "kSolutionLimit"
    assert status_key("kSolutionLimit", 5, {}) == "kSolutionLimit"
    assert status_key("kOptimal", 5, {"mip_max_nodes": 1}) == "kOptimal"
    assert [keeps_point(k) for k in ("kOptimal", "kInfeasible", "kUnbounded",
                                     "kSolutionLimit:mip_max_nodes")] == [True, False, False, True]


# ---------------------------------------------------------------------- one option mapper
def test_mapper_vocabulary_and_clamp():
    from optkit.solvers._highs_options import TOL_FLOOR, highs_options

    o = SolveOptions(tol=1e-12, max_iter=7, time_limit=3, seed=5, verbose=True,
                     solver_options={"presolve": "off", "random_seed": 9})
    assert highs_options(o, is_mip=False) == {
        "output_flag": True, "time_limit": 3.0, "primal_feasibility_tolerance": TOL_FLOOR,
        "dual_feasibility_tolerance": TOL_FLOOR, "ipm_optimality_tolerance": TOL_FLOOR,
        "simplex_iteration_limit": 7, "ipm_iteration_limit": 7, "pdlp_iteration_limit": 7,
        "qp_iteration_limit": 7, "random_seed": 9, "presolve": "off"}  # solver_options win
    mip = highs_options(SolveOptions(tol=1e-4, max_iter=7), is_mip=True)
    assert mip == {"output_flag": False, "primal_feasibility_tolerance": 1e-4,
                   "dual_feasibility_tolerance": 1e-4, "ipm_optimality_tolerance": 1e-4,
                   "mip_rel_gap": 1e-4, "mip_max_nodes": 7}
    assert TOL_FLOOR == 1e-10


@pytest.mark.parametrize("mip", [False, True], ids=["lp", "milp"])
def test_the_backends_hand_highs_the_same_options(mip):
    """One mapper: for the same SolveOptions, every path gives HiGHS the same native dict."""
    for b in ("scipy", "pyomo"):
        require_backend(b)
    model = lseu() if mip else afiro()
    kw = {"tol": 1e-8, "max_iter": 100000, "time_limit": 30.0, "seed": 4,
          "solver_options": {"presolve": "on"}}
    seen = {}
    for (backend, extra), name in zip(HIGHS_PATHS, IDS):
        res = ok.solve(model, backend, **kw, **extra)
        assert res.is_solved(), name
        native = dict(res.extra["native_options"])
        if backend == "scipy":  # scipy's names for two HiGHS options
            native["output_flag"] = native.pop("disp")
            native["presolve"] = "on" if native["presolve"] is True else native["presolve"]
        seen[name] = native
    from optkit.solvers._highs_options import highs_options

    want = highs_options(SolveOptions(**kw), is_mip=mip)
    assert all(native == want for native in seen.values()), seen
    assert want["mip_max_nodes" if mip else "simplex_iteration_limit"] == 100000


# ---------------------------------------------------------------------- limits and statuses
@pytest.mark.parametrize("backend, extra", HIGHS_PATHS, ids=IDS)
def test_objective_bound_stop_is_objective_limit(backend, extra):
    _path(backend)
    # afiro's optimum is −464.75 > −1000: HiGHS's dual simplex stops once its dual objective
    # passes the bound (presolve off; the row-by-row Pyomo model passes −1000 only, not −500)
    res = ok.solve(afiro(), backend, **extra,
                   solver_options={"objective_bound": -1000.0, "presolve": "off"})
    assert res.termination == Termination.OBJECTIVE_LIMIT
    assert res.native_status.endswith("kObjectiveBound")
    assert not res.is_solved()


def test_objective_target_stop_is_objective_limit():
    res = ok.solve(lseu(), "highs", solver_options={"objective_target": 5000.0})
    assert res.termination == Termination.OBJECTIVE_LIMIT and res.native_status == "kObjectiveTarget"
    assert res.primal_status == PrimalStatus.FEASIBLE and res.objective > 1120
    assert not res.is_solved()


@pytest.mark.parametrize("backend, extra", HIGHS_PATHS, ids=IDS)
def test_solution_limit(backend, extra):
    _path(backend)
    res = ok.solve(lseu(), backend, **extra, solver_options={"mip_max_improving_sols": 1})
    assert res.termination == Termination.SOLUTION_LIMIT
    assert res.native_status.endswith("kSolutionLimit")
    assert res.primal_status == PrimalStatus.FEASIBLE and res.objective > 1120  # first incumbent
    assert not res.is_solved()


@pytest.mark.parametrize("backend, extra", HIGHS_PATHS + [("scipy", {"method": "milp"})],
                         ids=IDS + ["scipy-milp"])
def test_iteration_limit_on_an_lp(backend, extra):
    _path(backend)
    res = ok.solve(afiro(), backend, **extra, max_iter=1)  # afiro needs 6 simplex iterations
    assert res.termination == Termination.ITERATION_LIMIT
    assert res.native_status.endswith("kIterationLimit")
    assert res.iterations in (1, None)  # scipy's milp reports no LP iteration count
    assert not res.is_solved()


@pytest.mark.parametrize("backend, extra", HIGHS_PATHS, ids=IDS)
def test_max_iter_caps_nodes_on_a_milp(backend, extra):
    _path(backend)
    res = ok.solve(lseu(), backend, **extra, max_iter=1)
    assert res.termination == Termination.NODE_LIMIT
    assert res.native_status.endswith("kSolutionLimit:mip_max_nodes")
    assert res.nodes == 1 and not res.is_solved()


@pytest.mark.parametrize("backend, extra", HIGHS_PATHS, ids=IDS)
def test_counters_mean_the_same_on_a_milp(backend, extra):
    """nodes = branch-and-bound nodes (≥ 1 on lseu), iterations = LP iterations or None."""
    _path(backend)
    res = ok.solve(lseu(), backend, **extra)
    assert res.is_solved() and res.objective == pytest.approx(1120.0, rel=1e-9)
    assert res.nodes >= 1
    if backend == "scipy":
        assert res.iterations is None  # scipy's milp does not report LP iterations
    else:
        assert res.iterations > res.nodes
    assert res.mip_gap <= 1e-4 and res.dual_bound == pytest.approx(1120.0, rel=1e-4)


def test_lp_counters_and_methods():
    for method in ("simplex", "ipm"):
        res = ok.solve(afiro(), "highs", method=method)
        assert res.is_solved(), method
        assert res.iterations > 0 and res.nodes is None
        assert res.objective == pytest.approx(-464.7531428571, rel=1e-9)
    assert ok.solve(afiro(), "highs", method="simplex").iterations == 6
    with pytest.raises(OptionError, match="must be one of 'choose', 'simplex', 'ipm', 'pdlp'"):
        ok.solve(afiro(), "highs", method="dual")


@pytest.mark.parametrize("backend, extra", HIGHS_PATHS, ids=IDS)
def test_unknown_solver_option_lists_close_matches(backend, extra):
    _path(backend)
    with pytest.raises(OptionError, match="did you mean mip_max_improving_sols"):
        ok.solve(lseu(), backend, **extra, solver_options={"mip_max_improving_sol": 1})


def test_highs_option_names_come_from_highspy():
    import highspy

    from optkit.solvers._highs_options import highs_option_names

    names = highs_option_names()
    assert len(names) >= 100 and names == sorted(names)
    assert {"presolve", "time_limit", "mip_rel_gap", "objective_bound", "mip_max_improving_sols",
            "simplex_iteration_limit"} <= set(names)
    h = highspy.Highs()
    assert all(h.getOptionType(n)[0] == highspy.HighsStatus.kOk for n in names)
    assert ok.registry.get("highs").solver_option_names() == names


def test_a_value_highs_refuses_is_an_option_error():
    with pytest.raises(OptionError, match="'presolve' .*HiGHS wants string"):
        ok.solve(afiro(), "highs", solver_options={"presolve": 3})


# ---------------------------------------------------------------------- data the core answers
@pytest.mark.parametrize("backend, extra", HIGHS_PATHS, ids=IDS)
def test_crossed_bounds_give_the_cores_one_message(backend, extra):
    _path(backend)
    p = ok.LinearProblem(c=[1.0, 1.0], A=[[1.0, 1.0]], rl=[0.0], ru=[4.0], lb=[0, 3], ub=[5, 2])
    res = ok.solve(p, backend, **extra)
    assert res.termination == Termination.INFEASIBLE and res.verified is True
    assert res.native_status == "presolve" and res.x is None
    assert res.message == "bounds of column index 1 cross: 3.0 > 2.0 (1 crossed in all)"


def test_empty_form_is_answered_before_highs():
    p = ok.LinearProblem(c=np.zeros(0), A=sp.csr_matrix((1, 0)), rl=[-1], ru=[1], c0=2.0)
    res = ok.solve(p, "highs")
    assert res.termination == Termination.OPTIMAL and res.objective == pytest.approx(2.0)
    assert res.native_status == "presolve" and res.iterations == 0


# ---------------------------------------------------------------------- structure refused
def test_miqp_is_refused_before_solving():
    miqp = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[0.5], ru=[3], Q=[[2.0]], integrality=[True])
    with pytest.raises(UnsupportedProblemError):
        ok.solve(miqp, "highs")
    from optkit.solvers.highs import HighsBackend

    assert "MIQP" in HighsBackend().refuse(miqp.form)


def test_nonconvex_q_is_refused_before_the_solve():
    from optkit.ir.convexity import convexity_problem

    assert convexity_problem(sp.csr_matrix([[2.0, 1.0], [1.0, 2.0]])) is None  # eigenvalues 1, 3
    assert convexity_problem(sp.csr_matrix([[1.0, 1.0], [1.0, 1.0]])) is None  # singular PSD
    neg = convexity_problem(sp.csr_matrix([[-2.0, 0.0], [0.0, 1.0]]))
    assert "Q[0,0] = -2 < 0" in neg
    minor = convexity_problem(sp.csr_matrix([[1.0, 3.0], [3.0, 1.0]]))  # eigenvalues −2, 4
    assert "not positive semidefinite" in minor
    # HiGHS itself would answer this one "Optimal" at a saddle point: the backend refuses it
    p = ok.LinearProblem(c=[0.0, 0.0], A=[[1.0, 1.0]], rl=[-1], ru=[1], lb=[-1, -1], ub=[1, 1],
                         Q=[[1.0, 3.0], [3.0, 1.0]])
    with pytest.raises(UnsupportedProblemError, match="not convex"):
        ok.solve(p, "highs")


def test_highs_own_refusal_is_invalid_problem_with_its_message():
    from optkit.solvers.highs import HighsBackend

    # bypass refuse(): HiGHS rejects a negative Hessian diagonal itself
    form = ok.LinearProblem(c=[0.0, 0.0], A=[[1.0, 1.0]], rl=[-1], ru=[1], lb=[-1, -1],
                            ub=[1, 1], Q=[[-2.0, 0.0], [0.0, 1.0]]).form
    backend = HighsBackend()
    raw = backend.solve_linear(form, SolveOptions())
    assert raw.status == "kError" and backend.STATUS_MAP[raw.status] == Termination.INVALID_PROBLEM
    assert "not positive semidefinite" in raw.status_text


# ---------------------------------------------------------------------- multipliers
def test_row_duals_follow_optkits_sign_convention():
    # min −x0 − x1 s.t. x0 + 2x1 <= 4 (an upper row), −3x0 − x1 >= −6 (a lower row), x >= 0:
    # both rows active at x = (1.6, 1.2)
    p = ok.LinearProblem(c=[-1.0, -1.0], A=[[1.0, 2.0], [-3.0, -1.0]], rl=[-np.inf, -6.0],
                         ru=[4.0, np.inf], lb=0)
    res = ok.solve(p, "highs")
    assert res.is_solved() and res.objective == pytest.approx(-2.8)
    np.testing.assert_allclose(res.x, [1.6, 1.2], atol=1e-9)
    # ∇f + Aᵀy = 0 with y ≥ 0 on the active upper row, y ≤ 0 on the active lower row
    np.testing.assert_allclose(res.y, [0.4, -0.2], atol=1e-9)


def test_parameter_resolve_changes_data_in_place_and_warm_starts():
    """After a cost/bound-only parameter change the held HiGHS model is updated in place (warm
    start from the previous basis); each answer equals an independent cold solve."""
    import cvxpy as cp

    rng = np.random.default_rng(3)
    n, m = 300, 150
    A = (sp.random(m, n, density=0.02, random_state=3, format="csr")
         + sp.hstack([sp.identity(m), sp.csr_matrix((m, n - m))])).tocsr()
    b = cp.Parameter(m, value=rng.random(m))
    cost = cp.Parameter(n, value=rng.random(n))
    x = cp.Variable(n, bounds=[0, 10])
    prob = ok.Problem(cp.Minimize(cost @ x), [A @ x >= b])
    first = ok.solve(prob, "highs")
    assert first.is_solved() and first.extra["warm_start"] is False
    for _ in range(3):
        b.value, cost.value = rng.random(m), rng.random(n)
        res = ok.solve(prob, "highs")
        cold = ok.solve(ok.LinearProblem(c=cost.value, A=A, rl=b.value, lb=np.zeros(n),
                                         ub=np.full(n, 10.0)), "scipy")  # scipy's own HiGHS
        assert res.extra["warm_start"] is True and res.is_solved()
        assert res.objective == pytest.approx(cold.objective, rel=1e-9)
    other = ok.solve(ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[2.0]), "highs")  # another model
    assert other.objective == pytest.approx(2.0) and other.extra["warm_start"] is False
    again = ok.solve(prob, "highs")  # the held model was replaced: a cold pass, same answer
    assert again.extra["warm_start"] is False and again.objective == pytest.approx(res.objective)


def test_time_limit_counts_this_solve_only_on_a_reused_instance():
    """HiGHS compares time_limit with its instance's total run time; optkit reuses one instance
    per thread, so a limit shorter than the time already spent must not stop the next solve."""
    from optkit.solvers.highs import HighsBackend

    rng = np.random.default_rng(0)
    n, m = 20000, 10000
    rows, cols = np.repeat(np.arange(m), 5), rng.integers(0, n, 5 * m)  # 5 entries a row
    A = sp.csr_matrix((rng.random(5 * m), (rows, cols)), shape=(m, n))
    big = ok.LinearProblem(c=-rng.random(n), A=A, ru=rng.random(m) + 1, lb=np.zeros(n),
                           ub=np.ones(n))
    assert ok.solve(big, "highs").is_solved()
    spent = HighsBackend._local.highs.getRunTime()
    limit = max(0.05, spent / 4)  # shorter than the instance's run time so far
    res = ok.solve(ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[2.0]), "highs", time_limit=limit)
    assert res.termination == Termination.OPTIMAL and res.objective == pytest.approx(2.0)
