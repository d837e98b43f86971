"""Bilevel modelling, oracles, results and the kkt / lv-hba / vf-penalty backends.

Every test checks a number, a status or an error against a known answer: closed forms (LLC toy),
published optima (classic problems), finite differences (oracles).
"""
from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest

import optkit as ok
from optkit.errors import DataError, InvalidProblemError, UnsupportedProblemError
from optkit.raw import HISTORY_FIELDS
from optkit.status import PrimalStatus, Termination
from optkit.testing.skips import require_backend, require_module

warnings.filterwarnings("ignore", category=UserWarning)
warnings.filterwarnings("ignore", category=FutureWarning)


def _lib():
    from optkit.problems import bilevel as B

    return B


# ---------------------------------------------------------------------------- modelling
def test_variable_in_both_levels_is_an_error():
    x, y = cp.Variable(name="x"), cp.Variable(name="y")
    with pytest.raises(InvalidProblemError, match="owned by both levels"):
        ok.Bilevel(ok.Level(cp.Minimize(x + y), [], [x, y]), ok.Level(cp.Minimize(y ** 2), [], [y]))


def test_variable_in_no_level_is_an_error():
    x, y, z = cp.Variable(name="x"), cp.Variable(name="y"), cp.Variable(name="z")
    with pytest.raises(InvalidProblemError, match="z.*owned by no level"):
        ok.Bilevel(ok.Level(cp.Minimize(x + z), [], [x]), ok.Level(cp.Minimize(cp.square(y - x)), [], [y]))


def test_ownership_needs_at_least_one_declaration():
    x, y = cp.Variable(), cp.Variable()
    with pytest.raises(InvalidProblemError, match="say which variables"):
        ok.Bilevel(ok.Level(cp.Minimize(x)), ok.Level(cp.Minimize(cp.square(y - x))))


def test_lower_level_must_involve_its_variables():
    x, y = cp.Variable(name="x"), cp.Variable(name="y")
    with pytest.raises(InvalidProblemError, match="do not involve"):
        ok.Bilevel(ok.Level(cp.Minimize(x + y), [y >= 0], [x]), ok.Level(cp.Minimize(x), [], [y]))


def test_implicit_ownership_and_problem_class():
    x, y = cp.Variable(2, name="x"), cp.Variable(name="y")
    bl = ok.Bilevel(ok.Level(cp.Minimize(cp.sum(x) + y)), ok.Level(cp.Minimize(cp.square(y - x[0])), [], [y]))
    assert bl.problem_class == "bilevel" and bl.kinds == frozenset({"bilevel"})
    assert [v.name() for v in bl.upper_variables] == ["x"] and bl.data().nx == 2


def test_simple_sets_are_recognised():
    x = cp.Variable(2, nonneg=True, name="x")
    y = cp.Variable(3, bounds=[-1, 4], name="y")
    bl = ok.Bilevel(ok.Level(cp.Minimize(cp.sum(x) + cp.sum(y)), [x[1] <= 5, cp.sum(x) == 1], [x]),
                    ok.Level(cp.Minimize(cp.sum_squares(y - x[0])), [y >= 0, 2 * y[2] <= 3, y[0] + y[1] <= x[1]], [y]))
    d = bl.data()
    np.testing.assert_allclose(d.lb, [0, 0, 0, 0, 0])
    np.testing.assert_allclose(d.ub, [np.inf, 5, 4, 4, 1.5])
    assert d.g.k == 1 and d.h.k == 0 and d.G.k == 0  # only the coupled row stays a row
    assert d.Ax.shape == (1, 2) and d.bx.tolist() == [1.0]  # affine set on x


def test_integer_variables_are_refused():
    x, y = cp.Variable(integer=True), cp.Variable()
    bl = ok.Bilevel(ok.Level(cp.Minimize(x + y), [], [x]), ok.Level(cp.Minimize(cp.square(y - x)), [], [y]))
    with pytest.raises(UnsupportedProblemError, match="integer"):
        bl.data()


# ---------------------------------------------------------------------------- oracles
def _fd_grad(fn, v, h=1e-6):
    E = np.eye(v.size)
    return np.array([(fn(v + h * E[i]) - fn(v - h * E[i])) / (2 * h) for i in range(v.size)])


@pytest.mark.parametrize("kind", ["quadratic", "engine", "implicit"])
def test_gradients_match_finite_differences(kind):
    x, y = cp.Variable(2, name="x"), cp.Variable(2, name="y")
    F = {"quadratic": cp.sum_squares(x - y) + x[0] * y[1] - 3 * y[0],
         "engine": cp.exp(x[0]) * cp.square(y[1]) + x[1] * y[0] ** 3,
         "implicit": x[0] / (y[0] + 3) + cp.log(cp.sum_squares(x + y) + 1)}[kind]
    bl = ok.Bilevel(ok.Level(cp.Minimize(F), [], [x]), ok.Level(cp.Minimize(cp.sum_squares(y - x)), [], [y]))
    d = bl.data()
    assert d.F.mode.startswith({"quadratic": "quadratic", "engine": "engine", "implicit": "engine-implicit"}[kind])
    v = np.array([0.3, -0.7, 0.5, 1.1])
    np.testing.assert_allclose(d.F.grad(v), _fd_grad(d.F.value, v), atol=1e-6)
    x.value, y.value = v[:2], v[2:]
    assert d.F.value(v) == pytest.approx(float(F.value), rel=1e-12)


def test_maximize_levels_are_turned_into_minimisation():
    x, y = cp.Variable(name="x"), cp.Variable(name="y")
    bl = ok.Bilevel(ok.Level(cp.Maximize(-cp.square(x - 1) - cp.square(y)), [], [x]),
                    ok.Level(cp.Maximize(-cp.square(y - x)), [], [y]))
    res = ok.solve(bl, "kkt")
    # y = x, F = −(x−1)² − x² maximal at x = 1/2: F* = −1/2 (reported in user units)
    assert res.upper_objective == pytest.approx(-0.5, abs=1e-7)
    assert res.value(x) == pytest.approx(0.5, abs=1e-6)


# ---------------------------------------------------------------------------- BilevelResult
def test_lower_gap_matches_closed_form_on_llc():
    B = _lib()
    n = 5
    bl = B.llc(n)
    bl.data()
    rng = np.random.default_rng(3)
    x, y1 = rng.standard_normal(n), rng.standard_normal(n)
    y2 = rng.standard_normal(n)
    y2 += (-x.sum() - y1.sum() - y2.sum()) / n  # lower-feasible
    v = np.concatenate([x, y1, y2])
    from optkit.bilevel.result import BilevelResult, finish

    res = finish(bl, v, BilevelResult(termination=Termination.OPTIMAL))
    f = 0.5 * y1 @ y1 - x @ y1 + y2.sum()
    value = -0.5 * np.sum((x + 1) ** 2) - x.sum()  # v(x) = min over S(x)
    assert res.lower_objective == pytest.approx(f, rel=1e-12)
    assert res.lower_value == pytest.approx(value, rel=1e-6, abs=1e-6)
    assert res.lower_gap == pytest.approx(f - value, rel=1e-6, abs=1e-6)
    assert res.lower_feasibility < 1e-12 and res.primal_status == PrimalStatus.INFEASIBLE


# ---------------------------------------------------------------------------- kkt
def test_kkt_llc_n100_exact():
    require_backend("highs")
    B = _lib()
    bl = B.llc(100)
    res = ok.solve(bl, "kkt")
    xs = np.asarray(res.value(bl.upper_variables[0]))
    assert res.termination == Termination.OPTIMAL and res.primal_status == PrimalStatus.FEASIBLE
    assert np.linalg.norm(xs + 0.3) / np.linalg.norm(0.3 * np.ones(100)) <= 1e-6
    assert abs(res.upper_objective - 0.05 * 100) <= 1e-6
    assert abs(res.lower_gap) <= 1e-7


def _classic(lower_kinds):
    B = _lib()
    return [pytest.param(b, id=b.__name__) for b, lo, ex in B.CLASSIC if lo in lower_kinds and ex == "optimal"]


# quadratic upper objective and complementarity binaries: a mixed-integer QP, solved by SCIP
NEEDS_SCIP = {"bard1988_ex1", "desilva1978", "shimizu_aiyoshi1981_ex1", "shimizu_aiyoshi1981_ex2", "tuy2007"}


@pytest.mark.parametrize("builder", _classic({"lp", "qp"}))
def test_kkt_matches_published_optimum(builder):
    require_backend("highs")
    if builder.__name__ in NEEDS_SCIP:
        require_module("pyscipopt")
    bl = builder()
    res = ok.solve(bl, "kkt")
    assert res.termination == Termination.OPTIMAL, res.message
    assert res.primal_status == PrimalStatus.FEASIBLE
    assert abs(res.upper_objective - bl.known_objective) <= 1e-4 * max(1.0, abs(bl.known_objective))
    assert abs(res.lower_gap) <= 1e-6 * (1 + abs(res.lower_objective))


def test_kkt_sos1_and_bigm_agree_on_bard1988():
    require_backend("highs")
    require_module("pyscipopt")
    B = _lib()
    r1 = ok.solve(B.bard1988_ex1(), "kkt", complementarity="sos1")
    r2 = ok.solve(B.bard1988_ex1(), "kkt", complementarity="bigm")
    assert r1.upper_objective == pytest.approx(17.0, abs=1e-6) and r2.upper_objective == pytest.approx(17.0, abs=1e-6)
    assert r1.extra["mip_solver"] == "scip"  # SOS1 sets: only the native SCIP path takes them
    # big-M binaries with a quadratic upper objective (an MIQP): the registry's best backend
    # declaring the "integer" capability, asked by capability
    inner = ok.registry.get(r2.extra["mip_solver"])
    assert "integer" in inner.capabilities and "miqp" in inner.accepts
    assert r1.is_solved() and r2.is_solved()


def test_default_backend_is_kkt_and_options_are_checked():
    require_backend("highs")
    B = _lib()
    res = ok.solve(B.liu_hart1994())
    assert res.solver == "kkt" and res.upper_objective == pytest.approx(-16.0, abs=1e-7)
    with pytest.raises(ok.OptionError, match="big_m"):
        ok.solve(B.liu_hart1994(), "kkt", big_m=-1)
    with pytest.raises(ok.OptionError, match="complementarity|unknown option"):
        ok.solve(B.liu_hart1994(), "kkt", complementarity_mode="x")


def test_kkt_infeasible_bilevel_problem():
    require_backend("highs")
    B = _lib()
    res = ok.solve(B.mitsos_barton_32(), "kkt")
    assert res.termination == Termination.INFEASIBLE and res.primal_status == PrimalStatus.NO_SOLUTION


def test_kkt_refuses_nonaffine_lower_constraints():
    B = _lib()
    with pytest.raises(UnsupportedProblemError, match="not affine"):
        ok.solve(B.dempe1992(), "kkt")


def test_kkt_refuses_nonconvex_lower_objective():
    x, y = cp.Variable(bounds=[0, 1]), cp.Variable(bounds=[-1, 1])
    bl = ok.Bilevel(ok.Level(cp.Minimize(x + y), [], [x]), ok.Level(cp.Minimize(-cp.square(y) + x * y), [], [y]))
    with pytest.raises(UnsupportedProblemError, match="not convex"):
        ok.solve(bl, "kkt")


def test_unbounded_lower_level_is_reported():
    x, y = cp.Variable(bounds=[0, 1], name="x"), cp.Variable(name="y")
    bl = ok.Bilevel(ok.Level(cp.Minimize(x + cp.square(y)), [], [x]), ok.Level(cp.Minimize(-y + x), [y >= x], [y]))
    res = ok.solve(bl, "kkt")
    assert res.termination == Termination.INFEASIBLE and res.extra.get("lower_unbounded") is True
    res2 = ok.solve(bl, "lv-hba", max_iter=10)
    assert res2.termination == Termination.INVALID_PROBLEM and "unbounded" in res2.message


def test_kkt_big_m_active_is_detected_and_enlarged():
    # lower multipliers are large (≈ 50) and the box of v is open: with big_m = 1 the first
    # solve hits the bound; the backend enlarges M and reaches the exact answer
    x, y = cp.Variable(name="x"), cp.Variable(name="y")
    bl = ok.Bilevel(ok.Level(cp.Minimize(cp.square(x - 2) + cp.square(y)), [], [x]),
                    ok.Level(cp.Minimize(50 * y), [y >= x - 1], [y]))
    res = ok.solve(bl, "kkt", big_m=1.0)
    # y = x − 1 (the lower level pushes y down to its bound), F = (x−2)² + (x−1)², x* = 1.5
    assert res.upper_objective == pytest.approx(0.5, abs=1e-6)
    assert res.extra["big_m_lambda"] >= 50 and not res.extra["bigm_active"]


# ---------------------------------------------------------------------------- lv-hba
@pytest.mark.slow
def test_lv_hba_llc_n100_reaches_1e_2():
    """Acceptance: LLC toy n = 100 from 10·1, paper hyperparameters, 10⁵ iterations (~6 s)."""
    from optkit.solvers.lv_hba import PAPER_SETTINGS

    B = _lib()
    bl = B.llc(100)
    res = ok.solve(bl, "lv-hba", max_iter=100_000, x0=bl.start_point, seed=0, measure_gap=False,
                   **PAPER_SETTINGS)
    rel = res.history[-1]["rel_error_x"]
    assert rel <= 1e-2, rel
    assert res.iterations == 100_000 and res.termination == Termination.ITERATION_LIMIT
    assert res.history[0]["rel_error_x"] == pytest.approx(np.linalg.norm(10.3 * np.ones(100)) / 3.0)
    assert set(HISTORY_FIELDS) | {"f", "gap_estimate", "lower_feasibility", "rel_error_x"} \
        <= set(res.history[-1])
    assert res.history[-1]["iteration"] == 100_000 and res.history[-1]["evaluations"] == 400_000
    assert res.lower_feasibility <= 1e-10  # the coupled equality is kept by the projection onto C


def test_lv_hba_llc_n100_defaults_reach_2e_3_in_20000_iterations():
    B = _lib()
    bl = B.llc(100)
    res = ok.solve(bl, "lv-hba", max_iter=20_000, x0=bl.start_point, measure_gap=False)
    assert res.history[-1]["rel_error_x"] <= 2e-3
    assert abs(res.upper_objective - 5.0) <= 0.1


@pytest.mark.parametrize("name", ["bard1984_ex1", "aiyoshi_shimizu1984", "bard1988_ex1", "tuy2007",
                                  "shimizu_aiyoshi1981_ex1", "shimizu_aiyoshi1981_ex2", "desilva1978"])
def test_lv_hba_reaches_published_optimum(name):
    B = _lib()
    bl = getattr(B, name)()
    res = ok.solve(bl, "lv-hba", max_iter=20_000)
    assert abs(res.upper_objective - bl.known_objective) <= 1e-2 * max(1.0, abs(bl.known_objective))
    assert res.primal_status in (PrimalStatus.FEASIBLE, PrimalStatus.NEARLY_FEASIBLE)


def test_lv_hba_refuses_nonconvex_lower_level():
    B = _lib()
    with pytest.raises(UnsupportedProblemError, match="convex in its own variables"):
        ok.solve(B.mitsos_barton_33(), "lv-hba")


def test_lv_hba_bad_hyperparameters():
    B = _lib()
    with pytest.raises(ok.OptionError, match="p must lie"):
        ok.solve(B.llc(3), "lv-hba", p=0.7)
    with pytest.raises(ok.OptionError, match="alpha"):
        ok.solve(B.llc(3), "lv-hba", alpha=-1.0)


def test_lv_hba_llsc_keeps_constraints_and_decreases_F():
    B = _lib()
    bl = B.llsc(n=20, m=18, rank_b=9, seed=1)
    res = ok.solve(bl, "lv-hba", max_iter=300, x0=bl.start_point, measure_gap=False)
    assert res.extra["projection"] == "affine"
    assert res.upper_feasibility <= 1e-9 and res.lower_feasibility <= 1e-9
    assert res.history[-1]["objective"] < res.history[0]["objective"]


def test_lv_hba_is_seeded_and_deterministic():
    B = _lib()
    r1 = ok.solve(B.llc(4), "lv-hba", max_iter=500, seed=1, measure_gap=False)
    r2 = ok.solve(B.llc(4), "lv-hba", max_iter=500, seed=1, measure_gap=False)
    np.testing.assert_array_equal(r1.x, r2.x)


# ---------------------------------------------------------------------------- vf-penalty
def test_vf_penalty_nonlinear_lower_constraint():
    B = _lib()
    bl = B.dempe1992()
    res = ok.solve(bl, "vf-penalty")
    assert res.upper_objective == pytest.approx(31.25, rel=1e-4)
    assert res.primal_status == PrimalStatus.FEASIBLE


# ---------------------------------------------------------------------------- library
def test_library_lists_toys_and_classics():
    lib = ok.problems.load("bilevel") if hasattr(ok.problems, "load") else _lib().library
    insts = lib.instances() if hasattr(lib, "instances") else list(lib)
    names = {i.name for i in insts}
    assert {"llc-10", "llc-100", "llsc-100", "svm-hyper"} <= names
    classic = [i for i in insts if i.meta.get("lower") in ("lp", "qp", "nlp", "nonconvex")
               and not i.name.startswith("llc")]
    assert len(classic) >= 12
    assert all(i.source for i in classic)
    mb = next(i for i in insts if i.name == "bard1988-ex1")
    assert mb.known_objective == 17.0 and mb.build().name == "bard1988-ex1"


def test_start_point_errors_and_exact_gap_history():
    B = _lib()
    bl, other = B.llc(3), B.llc(3)
    with pytest.raises(InvalidProblemError, match="not a variable of this bilevel model"):
        ok.solve(bl, "lv-hba", max_iter=5, x0=other.start_point)
    res = ok.solve(bl, "lv-hba", max_iter=200, x0=bl.start_point, history_every=100, history_gap=True)
    # the recorded exact gap is f(x, y) − v(x) with v(x) = −½‖x + 1‖² − 1ᵀx (closed form)
    assert [h["iteration"] for h in res.history] == [0, 100, 200]
    x, y1, y2 = res.x[:3], res.x[3:6], res.x[6:]
    f = 0.5 * y1 @ y1 - x @ y1 + y2.sum()
    assert res.history[-1]["lower_gap"] == pytest.approx(f + 0.5 * np.sum((x + 1) ** 2) + x.sum(), abs=1e-6)


def test_solves_do_not_leak_state_through_variable_values():
    """A solve leaves the variables' .value as they were, so a later solve starts the same way."""
    B = _lib()
    bl = B.shimizu_aiyoshi1981_ex2()
    fresh = ok.solve(B.shimizu_aiyoshi1981_ex2(), "vf-penalty").upper_objective
    ok.solve(bl, "kkt")
    ok.solve(bl, "lv-hba", max_iter=300)
    assert all(v.value is None for v in bl.variables)
    assert ok.solve(bl, "vf-penalty").upper_objective == pytest.approx(fresh, rel=1e-9)


# ---------------------------------------------------------------------------- data refusal
def _nan_model(where: str):
    x, y = cp.Variable(2, name="x"), cp.Variable(2, name="y")
    c = np.array([1.0, np.nan])
    inf = np.array([0.0, np.inf])
    up_obj = cp.Minimize(cp.sum(x) + (c @ y if where == "upper objective" else 0))
    up_con = [x >= inf] if where == "upper level constraint 0" else []
    lo_obj = cp.Minimize(cp.sum_squares(y - x) + (c @ y if where == "lower objective" else 0))
    lo_con = []
    if where == "lower level constraint 0":
        lo_con = [y <= c]
    elif where == "sparse":
        import scipy.sparse as sp

        lo_con = [sp.csr_matrix(np.array([[1.0, 0.0], [0.0, np.nan]])) @ y <= 1]
    elif where == "parameter":
        p = cp.Parameter(2, name="p", value=np.array([np.inf, 1.0]))
        lo_con = [y <= p]
    return ok.Bilevel(ok.Level(up_obj, up_con, [x]), ok.Level(lo_obj, lo_con, [y]))


@pytest.mark.parametrize("where, source, entry, value", [
    ("upper objective", "upper level objective", "(1,)", "nan"),
    ("upper level constraint 0", "upper level constraint 0", "(1,)", "inf"),
    ("lower objective", "lower level objective", "(1,)", "nan"),
    ("lower level constraint 0", "lower level constraint 0", "(1,)", "nan"),
    ("sparse", "lower level constraint 0", "(1, 1)", "nan"),
    ("parameter", "lower level constraint 0", "(0,)", "inf"),
])
def test_non_finite_level_data_is_refused_with_the_entry_named(where, source, entry, value):
    with pytest.raises(DataError) as err:
        _nan_model(where)
    assert err.value.source == source and err.value.entry == entry
    assert str(err.value).startswith(source) and value in str(err.value)


def test_non_finite_known_solution_is_refused():
    x, y = cp.Variable(name="x"), cp.Variable(name="y")
    with pytest.raises(DataError, match="known_objective"):
        ok.Bilevel(ok.Level(cp.Minimize(x), [], [x]), ok.Level(cp.Minimize(cp.square(y - x)), [], [y]),
                   known_objective=float("nan"))


# ---------------------------------------------------------------------------- verdict
def test_bilevel_result_is_a_result_and_is_solved_when_verified():
    require_backend("highs")
    B = _lib()
    res = ok.solve(B.liu_hart1994(), "kkt")
    assert isinstance(res, ok.Result) and res.is_solved()
    assert res.verified is True and res.termination == Termination.OPTIMAL
    assert res.kkt["lower_gap_rel"] <= 1e-5 and res.kkt["feasibility_rel"] <= 1e-6
    assert {"stationarity", "complementarity"} <= set(res.kkt.not_measured)
    assert res.to_dict()["verified"] is True and res.to_dict()["lower_gap"] == pytest.approx(0, abs=1e-7)
    res_vf = ok.solve(B.dempe1992(), "vf-penalty")
    assert res_vf.is_solved() and res_vf.upper_objective == pytest.approx(31.25, rel=1e-6)


def test_iteration_limit_is_not_solved_and_a_contradicted_claim_is_flagged():
    B = _lib()
    # cut short: no claim, nothing to verify, the measured gap is large
    bl5 = B.llc(5)
    short = ok.solve(bl5, "lv-hba", max_iter=5, x0=bl5.start_point)
    assert short.termination == Termination.ITERATION_LIMIT and short.verified is None
    assert not short.is_solved() and short.lower_gap > 1.0
    # a loose stopping tolerance makes lv-hba claim LOCALLY_OPTIMAL at a point whose lower-level
    # gap is large; judged with opt_tol = 1e-5 the claim is contradicted (kept, not verified)
    bl = B.bard1984_ex1()
    res = ok.solve(bl, "lv-hba", tol=0.5, opt_tol=1e-5)
    assert res.termination == Termination.LOCALLY_OPTIMAL and res.verified is False
    assert not res.is_solved() and res.kkt["lower_gap_rel"] > 1e-5
    assert "lower-level gap" in res.message


def test_finish_contradicts_a_claim_at_a_bad_point_and_turns_nan_into_a_status():
    from optkit.bilevel.result import BilevelResult, finish

    B = _lib()
    bl = B.bard1984_ex1()
    # at x = 2 the lower level max y s.t. y ≤ 2.5 (and rows that do not bind) has y* = 2.5:
    # y = 1 is lower-feasible with f = −11 against v(x) = −12.5, a gap of 1.5
    res = finish(bl, np.array([2.0, 1.0]), BilevelResult(termination=Termination.OPTIMAL))
    assert res.lower_gap == pytest.approx(1.5, abs=1e-6) and res.kkt["feasibility_rel"] == 0
    assert res.verified is False and not res.is_solved()
    assert res.primal_status == PrimalStatus.INFEASIBLE  # y ∉ S(x): not bilevel-feasible
    assert "contradicts the claim OPTIMAL" in res.message
    # NaN produced at the returned point (log of a negative number): a clear status, not OPTIMAL
    x, y = cp.Variable(name="x"), cp.Variable(name="y")
    bad = ok.Bilevel(ok.Level(cp.Minimize(-cp.log(x) + y), [], [x]),
                     ok.Level(cp.Minimize(cp.square(y - x)), [], [y]))
    with np.errstate(invalid="ignore"):
        res2 = finish(bad, np.array([-1.0, -1.0]), BilevelResult(termination=Termination.OPTIMAL))
    assert res2.termination == Termination.NUMERICAL_ERROR and res2.verified is False
    assert "upper objective is nan" in res2.message


def test_histories_share_the_iteration_record_schema():
    B = _lib()
    r1 = ok.solve(B.llc(3), "lv-hba", max_iter=50, history_every=10, measure_gap=False)
    r2 = ok.solve(B.dempe1992(), "vf-penalty")
    for res in (r1, r2):
        assert res.history and all(set(HISTORY_FIELDS) <= set(h) for h in res.history)
        assert [h["iteration"] for h in res.history] == sorted(h["iteration"] for h in res.history)
    assert r1.history[-1]["evaluations"] == 4 * 50
    assert r2.history[-1]["objective"] == pytest.approx(31.25, rel=1e-4)


# ---------------------------------------------------------------------------- kkt at scale
def test_sparse_psd_test_matches_eigenvalues():
    import scipy.sparse as sp

    from optkit.bilevel.psd import is_psd

    rng = np.random.default_rng(0)
    for trial in range(60):
        n = int(rng.integers(2, 30))
        Bm = sp.random(n, max(1, n // 2), density=0.4, random_state=trial)
        S = (Bm @ Bm.T).toarray() - (0.3 * np.eye(n) if trial % 2 else 0.0)
        w_min = np.linalg.eigvalsh(S)[0]
        if abs(w_min) < 1e-6:
            continue
        for dense_max in (0, 300):  # the sparse LDLᵀ path and the small dense path agree
            assert is_psd(sp.csr_matrix(S), dense_max=dense_max) == (w_min > 0)
    n = 20000  # 1-D Laplacian: PSD (λ_min ≈ π²/n²); shifted by −1e-3 it is not
    Lap = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1], format="csr")
    assert is_psd(Lap) and not is_psd(Lap - 1e-3 * sp.identity(n))
    assert is_psd(sp.diags(np.r_[np.ones(n), np.zeros(n)]))  # diagonal fast path


def test_kkt_llc_n1000_matches_the_direct_sparse_kkt_solve():
    """The LLC toy at n = 1000 through kkt (convexity tested sparsely, the equality-constrained QP
    reformulation sent to an interior-point QP backend by the registry) gives the answer of the
    direct sparse solve of the reformulation's KKT system, and the known solution."""
    require_backend("clarabel")
    from optkit.solvers.bilevel_kkt import direct_solve, kkt_data, reformulate

    B = _lib()
    n = 1000
    bl = B.llc(n)
    res = ok.solve(bl, "kkt")
    assert res.is_solved() and res.termination == Termination.OPTIMAL
    assert "qp" in ok.registry.get(res.extra["inner_solver"]).accepts
    ref = reformulate(*kkt_data(B.llc(n)))
    z = direct_solve(ref)
    np.testing.assert_allclose(res.x, z[:ref.N], atol=1e-6)
    np.testing.assert_allclose(res.x[:n], -0.3, atol=1e-6)
    assert res.upper_objective == pytest.approx(0.05 * n, rel=1e-8)
    assert abs(res.lower_gap) <= 1e-6


def test_core_bilevel_and_multiobjective_name_no_backend():
    from tests.test_dependency_rule import violations

    mine = [v for v in violations() if v.startswith(("optkit/bilevel/", "optkit/multiobjective/"))]
    assert mine == []
