"""Pareto-front methods: fronts against analytic answers, budgets, completeness, counting."""
from __future__ import annotations

import numpy as np
import pytest

import optkit as ok
from optkit.errors import InvalidProblemError, OptionError, UnsupportedProblemError
from optkit.problems import moo

from conftest import require_backend

cp = pytest.importorskip("cvxpy")


def zdt1_error(F):
    """Distance of each point to the ZDT1 front f2 = 1 − √f1."""
    return np.abs(F[:, 1] - (1 - np.sqrt(np.clip(F[:, 0], 0, None))))


@pytest.fixture
def zdt1():
    return moo.problem("ZDT1", n=6)


@pytest.mark.parametrize("method", ["pascoletti-serafini", "epsilon-constraint", "nbi",
                                    "weighted-sum", "gap-fill"])
def test_sweep_methods_land_on_zdt1_front(zdt1, method):
    mo, _ = zdt1
    res = ok.solve(mo, method, points=15, inner="slsqp", seed=0)
    assert len(res) >= 10 if method != "weighted-sum" else len(res) >= 5
    assert np.median(zdt1_error(res.F)) < 1e-5
    assert res.counts["evaluations"] == res.counts["f_evals"] + res.counts["grad_evals"]
    assert res.counts["fd_equivalent"] == res.counts["f_evals"] + mo.n * res.counts["grad_evals"]


def test_pascoletti_serafini_concave_front_and_hv():
    mo, front = moo.problem("ZDT2", n=6)
    res = ok.solve(mo, "pascoletti-serafini", points=40, inner="slsqp", seed=0)
    F = res.F
    assert np.median(np.abs(F[:, 1] - (1 - F[:, 0] ** 2))) < 1e-5
    # 40 points on the concave front: within 2% of the exact normalised HV 0.5433
    assert res.normalised_hypervolume(front) > 0.53
    # the weighted sum cannot see the inside of a concave front (only ends / local solutions)
    ws = ok.solve(mo, "weighted-sum", points=10, inner="slsqp", seed=0)
    assert ws.normalised_hypervolume(front) < res.normalised_hypervolume(front) - 0.05


def test_mo_descent_pareto_critical():
    a, b = np.array([1.0, 0.0, 0.5]), np.array([-1.0, 0.5, 0.0])

    def F(x):
        return np.array([np.sum((x - a) ** 2), np.sum((x - b) ** 2)])

    def J(x):
        return np.vstack([2 * (x - a), 2 * (x - b)])

    mo = ok.MultiObjective(F, n=3, jac=J, lb=-2, ub=2)
    res = ok.solve(mo, "mo-descent", points=6, seed=1)
    assert len(res) >= 4 and res.complete and res.counts["subproblems"] == 6
    # Pareto set = segment [a, b]: distance of each x to the segment
    u = (b - a) / np.linalg.norm(b - a)
    for x in res.X:
        s = np.clip((x - a) @ u, 0, np.linalg.norm(b - a))
        assert np.linalg.norm(x - (a + s * u)) < 1e-3


def test_evaluation_count_is_complete():
    calls = {"F": 0, "J": 0}
    F0, J0, lb, ub = moo._zdt("ZDT1", 5)

    def F(x):
        calls["F"] += 1
        return F0(x)

    def J(x):
        calls["J"] += 1
        return J0(x)

    mo = ok.MultiObjective(F, n=5, jac=J, lb=lb, ub=ub)
    calls.update(F=0, J=0)  # the constructor probes F(x0) once
    res = ok.solve(mo, "pascoletti-serafini", points=8, inner="slsqp", seed=0)
    assert res.counts["f_evals"] == calls["F"]
    assert res.counts["grad_evals"] == calls["J"]
    # without a Jacobian, forward differences cost n function evaluations each
    mo_fd = ok.MultiObjective(F, n=5, lb=lb, ub=ub)
    calls.update(F=0, J=0)
    res_fd = ok.solve(mo_fd, "pascoletti-serafini", points=4, inner="slsqp", seed=0)
    assert res_fd.counts["f_evals"] == calls["F"] and calls["J"] == 0
    assert res_fd.counts["fd_f_evals"] > 0 and res_fd.counts["derivatives"] == "finite-difference"


def test_budget_cut_front_is_incomplete(zdt1):
    mo, _ = zdt1
    res = ok.solve(mo, "pascoletti-serafini", points=50, inner="slsqp", max_evals=300, seed=0)
    assert not res.complete
    assert any("max_evals=300" in r for r in res.reasons)
    assert res.counts["evaluations"] <= 300
    assert len(res) >= 1
    # the same through the model's own budget
    mo2, _ = moo.problem("ZDT1", n=6, max_evals=300)
    assert not ok.solve(mo2, "nbi", points=50, inner="slsqp").complete


def test_failed_subproblem_marks_front_incomplete(zdt1):
    mo, _ = zdt1
    res = ok.solve(mo, "epsilon-constraint", points=6, inner="slsqp", inner_max_iter=1, seed=0)
    assert not res.complete
    assert any("failed" in r for r in res.reasons)
    assert res.counts["failed_subproblems"] > 0


def test_time_limit_marks_incomplete(zdt1):
    mo, _ = zdt1
    res = ok.solve(mo, "pascoletti-serafini", points=2000, inner="slsqp", time_limit=0.3)  # cannot finish in 0.3 s
    assert not res.complete and any("time_limit" in r for r in res.reasons)


@pytest.mark.parametrize("name", ["BNH", "TNK", "OSY", "SRN", "CTP1"])
def test_constrained_fronts_are_feasible(name):
    mo, front = moo.problem(name)
    res = ok.solve(mo, "pascoletti-serafini", points=12, inner="slsqp", seed=0)
    assert len(res) >= 3
    for x in res.X:  # infeasible points never appear in a front
        assert mo.violation(x) <= 1e-6
    assert res.igd_plus(front) < 0.05 * np.ptp(front, axis=0).max()


def test_nsga2_baseline_counts_and_front():
    mo, front = moo.problem("ZDT1", n=6)
    res = ok.solve(mo, "nsga2", max_evals=2000, seed=3)
    assert 2000 <= res.counts["f_evals"] <= 2100
    assert len(res) > 10
    assert res.normalised_hypervolume(front) > 0.6


def test_cvxpy_model_weighted_sum_qp_and_ps():
    x = cp.Variable(2, name="x")
    f1 = cp.sum_squares(x - np.array([1.0, 0.0]))
    f2 = cp.sum_squares(x - np.array([-1.0, 0.0]))
    mo = ok.MultiObjective([cp.Minimize(f1), cp.Minimize(f2)], [x >= -3, x <= 3], names=["a", "b"])
    assert mo.problem_class == "multiobjective"
    res = ok.solve(mo, "weighted-sum", points=7)  # QP subproblems → highs
    # exact front: x = (s, 0), s ∈ [−1, 1]: √f1 + √f2 = 2
    assert np.allclose(np.sqrt(res.F[:, 0]) + np.sqrt(res.F[:, 1]), 2.0, atol=1e-5)
    assert len(res) >= 7 and res.extra["inner"] == ["highs"]
    df = res.to_dataframe()
    assert list(df.columns[:2]) == ["a", "b"] and len(df) == len(res)


def test_maximise_objective_reported_in_user_units():
    x = cp.Variable(2, name="x")
    mo = ok.MultiObjective([cp.Maximize(x[0]), cp.Maximize(x[1])],
                           [x >= 0, x[0] + x[1] <= 1])
    res = ok.solve(mo, "dichotomy")
    assert res.complete
    assert np.allclose(sorted(res.F[:, 0]), [0, 1], atol=1e-7)  # maxima, not negated
    # the vertices (1, 0), (0, 1) dominate 3 units of area up to the reference point (−1, −1)
    assert res.hypervolume(ref=[-1, -1]) == pytest.approx(3.0, abs=1e-6)


def test_ipopt_inner_on_bnh():
    require_backend("ipopt")
    mo, front = moo.problem("BNH")
    res = ok.solve(mo, "pascoletti-serafini", points=8, inner="ipopt", seed=0)
    assert len(res) >= 6
    assert res.igd_plus(front) < 0.05 * np.ptp(front, axis=0).max()
    assert "ipopt" in res.extra["inner"]
    for x in res.X:
        assert mo.violation(x) <= 1e-6


def test_bad_inputs():
    x = cp.Variable(2)
    with pytest.raises(InvalidProblemError, match="at least 2 objectives"):
        ok.MultiObjective([cp.Minimize(cp.sum(x))], [])
    with pytest.raises(InvalidProblemError, match="names"):
        ok.MultiObjective([cp.Minimize(x[0]), cp.Minimize(x[1])], [], names=["a"])
    with pytest.raises(InvalidProblemError, match="Minimize"):
        ok.MultiObjective([x[0], cp.Minimize(x[1])], [])
    with pytest.raises(InvalidProblemError, match="needs n"):
        ok.MultiObjective(lambda z: np.array([z, z]))
    with pytest.raises(InvalidProblemError, match="max_evals"):
        moo.problem("ZDT1", max_evals=0)
    mo, _ = moo.problem("BNH")
    with pytest.raises(UnsupportedProblemError, match="bound constraints only"):
        ok.solve(mo, "mo-descent")
    with pytest.raises(UnsupportedProblemError, match="cvxpy algebra"):
        ok.solve(mo, "dichotomy")
    with pytest.raises(OptionError, match="points"):
        ok.solve(mo, "pascoletti-serafini", points=0)
    with pytest.raises(OptionError, match="unknown option"):
        ok.solve(mo, "nbi", pointz=3)
    with pytest.raises(UnsupportedProblemError):
        ok.solve(mo, "highs")  # single-objective backends refuse a multiobjective model


def test_max_points_roi_and_result_views(tmp_path):
    mo, _front = moo.problem("ZDT1", n=6)
    res = ok.solve(mo, "pascoletti-serafini", points=40, inner="slsqp", max_points=6, seed=0)
    assert not res.complete and any("max_points=6" in r for r in res.reasons)
    assert 6 <= len(res) <= 8
    assert str(res.termination) == "SOLUTION_LIMIT" and not res.is_solved()
    d = res.to_dict(arrays=True)
    assert d["points"] == len(res) and len(d["F"]) == len(res)
    # region of interest: keep only points with f1 <= 0.25
    mo_roi, _ = moo.problem("ZDT1", n=6, roi=(None, [0.25, None]))
    r2 = ok.solve(mo_roi, "pascoletti-serafini", points=12, inner="slsqp", seed=0)
    assert len(r2) >= 2 and np.all(r2.F[:, 0] <= 0.25 + 1e-12)
    full = ok.solve(mo, "pascoletti-serafini", points=12, inner="slsqp", seed=0)
    assert full.is_solved() and str(full.termination) == "OPTIMAL"


def test_plots_2d_3d_parallel(tmp_path):
    mo, front = moo.problem("DTLZ2")
    res = ok.solve(mo, "pascoletti-serafini", points=10, inner="slsqp", seed=0)
    assert res.F.shape[1] == 3 and len(res) >= 8
    assert np.allclose(np.linalg.norm(res.F, axis=1), 1.0, atol=1e-4)  # on the unit sphere
    res.plot(reference=front, path=tmp_path / "d3.png")
    res.plot_parallel(path=tmp_path / "par.png")
    from optkit.multiobjective.plots import plot_runs

    plot_runs([res, res], path=tmp_path / "runs.png")
    for f in ("d3.png", "par.png", "runs.png"):
        assert (tmp_path / f).stat().st_size > 1000


def test_cvxpy_nonconvex_model_through_ipopt():
    require_backend("ipopt")
    x = cp.Variable(2, bounds=[0.1, 5], name="x")
    mo = ok.MultiObjective([cp.Minimize(x[0] * x[1]),
                            cp.Minimize((x[0] - 3) ** 2 + (x[1] - 3) ** 2)], [])
    res = ok.solve(mo, "pascoletti-serafini", points=6)
    assert res.extra["inner"] == ["ipopt"] and res.counts["f_evals"] > 0
    # Pareto set x0 = x1 = s ∈ [0.1, 3]: front f2 = 2 (3 − √f1)²
    assert len(res) >= 5
    assert np.allclose(res.F[:, 1], 2 * (3 - np.sqrt(res.F[:, 0])) ** 2, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------- verdict
def test_pareto_result_is_a_result_with_a_measured_verdict(zdt1):
    from optkit.raw import HISTORY_FIELDS

    mo, _ = zdt1
    res = ok.solve(mo, "pascoletti-serafini", points=12, inner="slsqp", seed=0)
    assert isinstance(res, ok.Result) and res.is_solved()
    assert res.termination == ok.Termination.OPTIMAL and res.verified is True
    assert res.kkt["points"] == len(res) == res.kkt["verified_points"]
    assert res.kkt["feasibility_rel"] <= 1e-6 and "stationarity" in res.kkt.not_measured
    assert res.iterations == res.counts["subproblems"] and res.evaluations is res.counts
    assert len(res.history) == res.counts["subproblems"]
    assert all(set(HISTORY_FIELDS) <= set(h) for h in res.history)
    assert res.history[-1]["evaluations"] == res.counts["evaluations"]
    assert res.to_dict()["verified"] is True and res.to_dict()["points"] == len(res)


def test_budget_cut_and_contradicted_fronts_are_not_solved(zdt1):
    from optkit.multiobjective import ParetoResult

    mo, _ = zdt1
    cut = ok.solve(mo, "pascoletti-serafini", points=50, inner="slsqp", max_evals=300, seed=0)
    assert cut.termination == ok.Termination.EVALUATION_LIMIT and cut.verified is None
    assert not cut.is_solved() and len(cut) >= 1
    # a "complete" front whose second point violates the constraints by 1e-3: contradicted
    bad = ParetoResult(X=np.zeros((2, 1)), F=np.array([[0.0, 1.0], [1.0, 0.0]]), complete=True,
                       violations=np.array([0.0, 1e-3]), counts={"subproblems": 2})
    assert bad.termination == ok.Termination.OPTIMAL and bad.verified is False
    assert not bad.is_solved() and bad.kkt["verified_points"] == 1
    assert "front point 1" in bad.message
    assert str(bad.primal_status) == "INFEASIBLE"


def test_nsga2_is_never_solved_and_inner_is_chosen_by_capability():
    mo, _ = moo.problem("ZDT1", n=6)
    res = ok.solve(mo, "nsga2", max_evals=600, seed=1)
    assert res.complete and res.termination == ok.Termination.EVALUATION_LIMIT
    assert not res.is_solved() and res.verified is None
    x = cp.Variable(2, name="x")
    qp = ok.MultiObjective([cp.Minimize(cp.sum_squares(x - 1)), cp.Minimize(cp.sum_squares(x + 1))],
                           [x >= -3, x <= 3])
    ws = ok.solve(qp, "weighted-sum", points=5)
    for name in ws.extra["inner"]:
        inner = ok.registry.get(name)
        assert "inner-solver" in inner.capabilities and "qp" in inner.accepts
    assert ws.is_solved() and ws.kkt["verified_subproblems"] == len(ws)


@pytest.mark.parametrize("kw, source, entry", [
    ({"weights": [[0.5, 0.5], [np.nan, 1.0]]}, "weights", "(1, 0)"),
    ({"weights": [[0.5, -0.5]]}, "weights", "(0, 1)"),
    ({"reference": [0.5, np.inf]}, "reference", "(0, 1)"),
    ({"ideal": [0.0, np.nan]}, "ideal", "1"),
    ({"nadir": [np.inf, 1.0]}, "nadir", "0"),
    ({"scale": [1.0, 0.0]}, "scale", "1"),
    ({"roi": ([0.0, np.nan], None)}, "roi lower", "1"),
    ({"lb": [0.0, np.nan]}, "lb", "1"),
])
def test_non_finite_preferences_are_refused_with_the_entry_named(kw, source, entry):
    args = {"n": 2, "lb": [0.0, 0.0], "ub": [1.0, 1.0], **kw}
    with pytest.raises(ok.DataError) as err:
        ok.MultiObjective(lambda z: np.array([z[0], 1 - z[0] + z[1] ** 2]), **args)
    assert err.value.source == source and err.value.entry == entry


def test_non_finite_objective_data_and_start_values_are_refused():
    x = cp.Variable(2, name="x")
    with pytest.raises(ok.DataError, match="objective 1") as err:
        ok.MultiObjective([cp.Minimize(x[0]), cp.Minimize(np.array([1.0, np.nan]) @ x)], [x >= 0])
    assert err.value.entry == "(1,)"
    import scipy.sparse as sp

    A = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, np.inf]]))
    with pytest.raises(ok.DataError, match="constraint 1") as err:
        ok.MultiObjective([cp.Minimize(x[0]), cp.Minimize(x[1])], [x >= 0, A @ x <= 1])
    assert err.value.entry == "(1, 1)"
    with pytest.raises(ok.DataError, match=r"F\(x0\)\[1\] = nan") as err, np.errstate(invalid="ignore"):
        ok.MultiObjective(lambda z: np.array([z[0], np.log(z[1] - 1)]), n=2, lb=0, ub=2,
                          x0=[0.5, 0.5])
    assert err.value.source == "objective 1"
    with pytest.raises(ok.DataError, match=r"g\(x0\)\[0\] = nan"):
        ok.MultiObjective(lambda z: np.array([z[0], z[1]]), n=2, lb=0, ub=2,
                          cons=lambda z: np.array([np.nan]))
    with pytest.raises(OptionError, match="rho"):
        ok.solve(moo.problem("ZDT1", n=4)[0], "epsilon-constraint", rho=float("nan"))


def test_nan_produced_mid_solve_fails_the_subproblem_not_the_front():
    def F(z):  # f2 is NaN where f1 > 0.7: a region some subproblems visit
        f1, g = z[0], 1 + 9 * np.mean(z[1:] ** 2)
        return np.array([f1, g * (1 - np.sqrt(f1 / g)) if f1 <= 0.7 else np.nan])

    mo = ok.MultiObjective(F, n=3, lb=0, ub=1, x0=[0.3, 0.2, 0.2])
    res = ok.solve(mo, "pascoletti-serafini", points=8, inner="slsqp", seed=0)
    statuses = [s["status"] for s in res.subproblems]
    assert "NUMERICAL_ERROR" in statuses and np.all(np.isfinite(res.F)) and len(res) >= 3
    assert not res.complete and res.termination == ok.Termination.NUMERICAL_ERROR
    assert not res.is_solved() and any("is nan" in r for r in res.reasons)
