"""Results you can trust: optkit's verdict on a claim, independent of any real solver.

A fake backend registered in-process returns a chosen point with a chosen claim (OPTIMAL, almost
optimal, infeasible); the core must measure it on the form the solver saw and decide. The
silent-wrong classes of the issue: a row 1e-9·x >= 1e-9 (or 1e-6·x >= 1e-6 in a QP) answered
x = 0, an integer variable at 0.5 next to an unrelated bound of 1e6, an equality violated by 50
next to large unrelated data, a non-symmetric Q — none may come back FEASIBLE or ``is_solved()``,
and the message must name the failing residual. Real backends meet the same cases in the
conformance suite (lp-tiny-row, qp-tiny-row, qp-nonsymmetric-q, milp-big-bound).
"""
from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

import optkit as ok
from optkit import registry
from optkit.errors import DataError, InvalidProblemError, OptionError, UnsupportedProblemError
from optkit.options import Option
from optkit.raw import RawSolution
from optkit.status import PrimalStatus, Termination

from conftest import require_backend

inf = np.inf


class FakeBackend(ok.Backend):
    """Returns ``answer`` (a RawSolution) whatever the problem; counts its calls."""

    name = "test-fake"
    accepts = frozenset({"lp", "qp", "milp", "nlp"})
    STATUS_MAP = {"claimed-optimal": Termination.OPTIMAL,
                  "claimed-almost": Termination.ALMOST_OPTIMAL,
                  "claimed-infeasible": Termination.INFEASIBLE,
                  "claimed-local": Termination.LOCALLY_OPTIMAL}
    options = {"method": Option("a", ("a", "b"), "which fake")}

    def __init__(self):
        self.answer: RawSolution | None = None
        self.calls = 0

    def solver_option_names(self):
        return ["presolve", "primal_feasibility_tolerance"]

    def refuse(self, form):
        if form.n > 50:
            return "the fake takes at most 50 columns"
        return None

    def _answer(self):
        self.calls += 1
        a = self.answer
        return RawSolution(status=a.status, x=None if a.x is None else np.array(a.x, float),
                           y=None if a.y is None else np.array(a.y, float), iterations=1)

    def solve_linear(self, form, options):
        return self._answer()

    def solve_nlp(self, form, options):
        return self._answer()


@pytest.fixture
def fake():
    backend = FakeBackend()
    registry.register(backend)
    yield backend
    registry.unregister(backend.name)


def _claim(fake, x, status="claimed-optimal", y=None):
    fake.answer = RawSolution(status=status, x=x, y=y)


# ---------------------------------------------------------------------- silent-wrong classes
def test_tiny_row_lp_answered_zero_is_not_verified(fake):
    model = ok.LinearProblem(c=[1.0], A=[[1e-9]], rl=[1e-9], lb=0)  # x >= 1 in disguise
    _claim(fake, [0.0])
    res = ok.solve(model, "test-fake")
    assert res.termination == Termination.OPTIMAL and res.objective == 0.0  # the claim is kept
    assert res.verified is False and not res.is_solved()
    assert res.primal_status == PrimalStatus.INFEASIBLE
    assert res.kkt["feasibility_rel"] == pytest.approx(1.0)
    assert res.kkt["feasibility"] == pytest.approx(1e-9)  # absolutely tiny, relatively total
    assert "scaled primal infeasibility 1 at row 0" in res.message
    # the true optimum x = 1. The backend saw the row rescaled by d = 2^30 (optkit.ir.equilibrate):
    # its multiplier y' = −1/(d·1e-9) of the row it saw maps back to y = d·y' = −1e9 for the user's
    d = 2.0 ** 30
    _claim(fake, [1.0], y=[-1.0 / (d * 1e-9)])
    res = ok.solve(model, "test-fake")
    assert res.is_solved() and res.objective == pytest.approx(1.0)
    assert res.extra["row_scaling"] == 1 and res.y[0] == pytest.approx(-1e9)


def test_tiny_row_qp_answered_zero_is_not_verified(fake):
    model = ok.LinearProblem(c=[0, 0], A=[[1e-6, 0]], rl=[1e-6], Q=2 * np.eye(2))
    _claim(fake, [0.0, 0.0])
    res = ok.solve(model, "test-fake")
    assert res.verified is False and not res.is_solved()
    assert res.primal_status == PrimalStatus.INFEASIBLE
    assert res.kkt["feasibility_rel"] == pytest.approx(1.0)
    assert "at row 0" in res.message


def test_integer_at_half_next_to_a_large_bound(fake):
    model = ok.LinearProblem(c=[-1, 1], A=[[2, 0]], ru=[5], lb=0, ub=[inf, 1e6],
                             integrality=[1, 0])
    _claim(fake, [0.5, 0.0])
    res = ok.solve(model, "test-fake")
    assert res.primal_status == PrimalStatus.INFEASIBLE  # not NEARLY_FEASIBLE
    assert res.verified is False and not res.is_solved()
    assert res.kkt["integrality"] == pytest.approx(0.5) and res.kkt["worst_integer"] == 0
    assert "integrality violation 0.5 at column 0" in res.message
    assert "stationarity" in res.kkt.not_measured  # a MIP has no KKT conditions to measure
    _claim(fake, [2.0 + 1e-7, 0.0])  # within int_tol = 1e-5
    res = ok.solve(model, "test-fake")
    assert res.verified is True and res.is_solved() and res.objective == pytest.approx(-2.0)


def test_equality_violated_by_50_next_to_large_data(fake):
    # x0 + x1 = 100, with an unrelated row of scale 1e8 and an unrelated bound of 1e6:
    # the violation of row 0 is judged against row 0's own scale (50 / 100), nothing else
    model = ok.LinearProblem(c=[1, 1, 1], A=[[1, 1, 0], [0, 0, 1e8]], rl=[100, -inf],
                             ru=[100, 1e14], lb=0, ub=[inf, inf, 1e6])
    _claim(fake, [100.0, 50.0, 0.0])
    res = ok.solve(model, "test-fake")
    assert res.primal_status == PrimalStatus.INFEASIBLE
    assert res.verified is False and not res.is_solved()
    assert res.kkt["feasibility"] == pytest.approx(50.0)
    assert res.kkt["feasibility_rel"] == pytest.approx(0.5)
    assert res.kkt["worst"] == "row 0" and "at row 0" in res.message


def test_nonsymmetric_q_is_symmetrised_by_one_rule(fake):
    model = ok.LinearProblem(c=[-1, -1], A=np.zeros((0, 2)), Q=[[2, 2], [0, 2]])
    assert np.allclose(model.form.Q.toarray(), [[2, 1], [1, 2]])
    # the true optimum of ½xᵀ((Q + Qᵀ)/2)x − 1ᵀx: x = (1/3, 1/3), f = −1/3
    _claim(fake, [1 / 3, 1 / 3])
    res = ok.solve(model, "test-fake")
    assert res.is_solved() and res.objective == pytest.approx(-1 / 3)
    assert res.kkt["stationarity_rel"] < 1e-12
    # what a solver reading the upper triangle as a full symmetric Q = [[2,2],[2,2]] returns:
    # x0 + x1 = ½ (f = −1/4 in its reading) — optkit's measurement on the symmetrised Q rejects it
    _claim(fake, [0.25, 0.25])
    res = ok.solve(model, "test-fake")
    assert res.verified is False and not res.is_solved()
    assert res.objective == pytest.approx(-0.3125)  # ½xᵀQx − 1ᵀx at (¼, ¼) with the true Q
    assert res.kkt["stationarity_rel"] == pytest.approx(0.25)
    assert "relative stationarity" in res.message


def test_real_backend_on_the_nonsymmetric_q():
    model = ok.LinearProblem(c=[-1, -1], A=np.zeros((0, 2)), Q=[[2, 2], [0, 2]])
    res = ok.solve(model, "highs")
    assert res.is_solved() and res.objective == pytest.approx(-1 / 3, abs=1e-9)


# ---------------------------------------------------------------------- the verdict's other rules
def test_feasible_but_not_optimal_point_is_not_verified(fake):
    model = ok.LinearProblem(c=[-1, -1], A=[[1, 2], [3, 1]], ru=[4, 6], lb=0)
    _claim(fake, [0.0, 0.0], y=[0.0, 0.0])  # a feasible vertex, not the optimum (1.6, 1.2)
    res = ok.solve(model, "test-fake")
    assert res.primal_status == PrimalStatus.FEASIBLE
    assert res.verified is False and not res.is_solved()
    assert "relative stationarity" in res.message


def test_claim_without_a_point_or_with_a_bad_one(fake):
    model = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[1.0])
    _claim(fake, None)
    res = ok.solve(model, "test-fake")
    assert res.verified is False and res.primal_status == PrimalStatus.NO_SOLUTION
    assert "no point" in res.message and not res.is_solved()
    _claim(fake, [np.nan])
    res = ok.solve(model, "test-fake")
    assert res.verified is False and "non-finite" in res.message and not res.is_solved()


def test_point_of_the_wrong_shape_is_reported_not_raised(fake):
    model = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[1.0])
    _claim(fake, [1.0, 2.0])
    res = ok.solve(model, "test-fake")
    assert res.verified is False and "shape" in res.message and not res.is_solved()


def test_infeasibility_claim_contradicted_by_a_feasible_point(fake):
    model = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[1.0])
    _claim(fake, [2.0], status="claimed-infeasible")
    res = ok.solve(model, "test-fake")
    assert res.termination == Termination.INFEASIBLE and res.verified is False
    assert res.primal_status == PrimalStatus.FEASIBLE and "feasible" in res.message


def test_almost_optimal_counts_only_when_verified_and_not_strictly(fake):
    model = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[1.0])
    _claim(fake, [1.0], status="claimed-almost", y=[-1.0])
    res = ok.solve(model, "test-fake")
    assert res.termination == Termination.ALMOST_OPTIMAL and res.verified is True
    assert res.is_solved() and not res.is_solved(strict=True)
    _claim(fake, [0.9], status="claimed-almost", y=[-1.0])
    res = ok.solve(model, "test-fake")
    assert res.verified is False and not res.is_solved()


def test_unmapped_native_status_becomes_error(fake):
    model = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[1.0])
    _claim(fake, [1.0], status="kSomethingNew")
    res = ok.solve(model, "test-fake")
    assert res.termination == Termination.ERROR and not res.is_solved()
    assert "'kSomethingNew'" in res.message and "test-fake" in res.message
    assert res.native_status == "kSomethingNew"


def test_tolerances_can_be_set_per_solve(fake):
    model = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[1.0], lb=0)
    _claim(fake, [1.0 - 1e-5], y=[-1.0])  # violates x >= 1 by 1e-5 (relative to max(1, 1))
    res = ok.solve(model, "test-fake")
    assert res.verified is False and res.primal_status == PrimalStatus.NEARLY_FEASIBLE
    res = ok.solve(model, "test-fake", feas_tol=1e-4)
    assert res.verified is True and res.is_solved()
    res = ok.solve(model, "test-fake", tol=1e-5)  # feas_tol = max(1e-6, 10·tol) = 1e-4
    assert res.verified is True


def test_crossed_bounds_are_answered_before_the_backend(fake):
    model = ok.LinearProblem(c=[1.0, 1.0], A=[[1.0, 1.0]], rl=[1.0], lb=[0, 3], ub=[1, 2])
    _claim(fake, [0.0, 0.0])
    res = ok.solve(model, "test-fake")
    assert fake.calls == 0
    assert res.termination == Termination.INFEASIBLE and res.verified is True
    assert "column index 1" in res.message and res.native_status == "presolve"


def test_refused_structure_and_bad_options_raise_before_the_backend(fake):
    big = ok.LinearProblem(c=np.ones(60), A=np.ones((1, 60)), rl=[1.0], lb=0)
    with pytest.raises(UnsupportedProblemError, match="at most 50 columns"):
        ok.solve(big, "test-fake")
    small = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[1.0])
    with pytest.raises(OptionError, match="did you mean presolve"):
        ok.solve(small, "test-fake", solver_options={"presolv": 1})
    with pytest.raises(OptionError, match="must be one of 'a', 'b'"):
        ok.solve(small, "test-fake", method="c")
    assert fake.calls == 0


def test_nan_in_a_bilevel_level_is_refused():
    x, y = cp.Variable(name="x"), cp.Variable(name="y")
    upper = ok.Level(cp.Minimize((x - 1) ** 2 + y ** 2), [x >= -5], variables=[x])
    lower = ok.Level(cp.Minimize((y - np.nan * x) ** 2), [y >= -1], variables=[y])
    with pytest.raises(InvalidProblemError, match="(?i)lower.*nan"):
        ok.solve(ok.Bilevel(upper, lower), "kkt")


def test_nan_in_multiobjective_weights_is_refused():
    x = cp.Variable(2)
    with pytest.raises(InvalidProblemError, match="(?i)weights.*nan|nan.*weights"):
        mo = ok.MultiObjective([cp.Minimize(x[0]), cp.Minimize(x[1])],
                               [x >= 0, x <= 2, x[0] + x[1] >= 1], weights=[[np.nan, 1.0]])
        ok.solve(mo, "weighted-sum")


def test_bad_data_errors_name_the_entry():
    with pytest.raises(DataError) as info:
        ok.LinearProblem(c=[1.0, np.nan], A=[[1, 1]], rl=[1])
    assert info.value.entry == "objective[1]" and "column index 1" in str(info.value)


@pytest.mark.parametrize("solver", ["highs", "scipy", "clarabel", "cvxpy", "pyomo"])
def test_extreme_rows_are_rescaled_before_the_solver_sees_them(solver):
    """Rows with coefficients of size 1e-9 are handed to every linear backend scaled up by a
    power of two, so absolute solver tolerances no longer accept x = 0 for x >= 1, nor
    unboundedness for y <= 1; duals come back for the user's rows. A row of size 1e9 is left
    as written (scaling it down would loosen the solver's tolerance on it)."""
    require_backend(solver)
    lp = ok.LinearProblem(c=[1.0, 2.0], A=[[1e-9, 0.0], [0.0, 1e9]], rl=[1e-9, 2e9], lb=[0, 0])
    res = ok.solve(lp, solver)
    assert res.is_solved() and res.objective == pytest.approx(5.0, rel=1e-7)
    assert res.y == pytest.approx([-1e9, -2e-9], rel=1e-6)  # c + Aᵀy = 0 on the user's rows
    y = cp.Variable(nonneg=True)
    mx = ok.solve(ok.Problem(cp.Maximize(y), [1e-9 * y <= 1e-9]), solver)
    assert mx.is_solved() and mx.objective == pytest.approx(1.0, rel=1e-7)
