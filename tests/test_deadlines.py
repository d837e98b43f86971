"""Time limits hold in every in-process backend (optkit.deadline, issue 11 item 2).

Each backend family runs a problem whose oracles are slow (each call sleeps), with time_limit = 1 s,
and the test asserts the status TIME_LIMIT and the measured overrun (wall time of ``ok.solve``
minus the limit, finish/verify pipeline included) ≤ 1 s. Without the form's deadline ipopt with
finite differences returned after 43 s and trust-constr after more than 60 s. The bound is on the
overrun, never on the total time of a solve that finishes.
"""
from __future__ import annotations

import time

import numpy as np
import pytest

import optkit as ok
from optkit.deadline import Deadline, DeadlineExceeded
from optkit.status import PrimalStatus, Termination
from optkit.testing.skips import require_backend

LIMIT = 1.0
MAX_OVERRUN = 1.0


def _timed(model, solver, **kw):
    t = time.perf_counter()
    res = ok.solve(model, solver, time_limit=LIMIT, **kw)
    return res, time.perf_counter() - t - LIMIT


def _assert_stopped(res, overrun):
    assert res.termination == Termination.TIME_LIMIT, (res.termination, res.message)
    assert overrun <= MAX_OVERRUN, f"overrun {overrun:.2f} s > {MAX_OVERRUN} s: {res.message}"
    assert not res.is_solved()


# ---------------------------------------------------------------------------- the clock itself
def test_unarmed_deadline_never_expires():
    d = Deadline()
    d.check("f")
    assert not d.armed and d.remaining() == np.inf and not d.expired()


def test_armed_deadline_raises_with_limit_and_overrun():
    d = Deadline.after(0.01)
    time.sleep(0.03)
    assert d.expired() and d.remaining() < 0
    with pytest.raises(DeadlineExceeded, match=r"time limit 0.01 s reached .*grad") as info:
        d.check("grad")
    assert info.value.overrun >= 0.015 and info.value.limit == 0.01
    d.disarm()
    d.check("grad")  # disarmed: no-op


def test_form_oracles_check_the_deadline():
    nlp = ok.NLP(np.ones(2), lambda x: float(x @ x), grad=lambda x: 2 * x)
    form = nlp.form()
    form.deadline.arm(0.0, start=time.monotonic() - 1.0)
    for call in (lambda: form.f(form.x0), lambda: form.grad(form.x0),
                 lambda: form.hess(form.x0, np.zeros(0))):
        with pytest.raises(DeadlineExceeded):
            call()
    assert form.counts["f"] == 0  # refused before the evaluation, not counted


def test_finite_differences_check_before_each_user_call():
    calls = []

    def f(x):
        calls.append(1)
        return float(np.sum(x ** 2))

    form = ok.NLP(np.ones(50), f).form()
    calls.clear()
    form.deadline.arm(0.0, start=time.monotonic() - 1.0)
    with pytest.raises(DeadlineExceeded, match="finite differences"):
        form.grad_fn(form.x0)  # the raw FD gradient, without the form's own check
    assert calls == []  # not one of its 100 evaluations was started


# ---------------------------------------------------------------------------- slow problems
S = 0.1  # seconds per oracle call


def _rosenbrock(slow_grad=True, slow_hess=True):
    def f(x):
        time.sleep(S)
        return float(100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2)

    def g(x):
        if slow_grad:
            time.sleep(S)
        return np.array([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]),
                         200 * (x[1] - x[0] ** 2)])

    def h(x, y):
        if slow_hess:
            time.sleep(S)
        return np.array([[1200 * x[0] ** 2 - 400 * x[1] + 2, -400 * x[0]], [-400 * x[0], 200.0]])
    return f, g, h


@pytest.mark.parametrize("derivs", ["exact", "finite-difference", "limited-memory"])
def test_ipopt_stops_within_one_oracle_call(derivs):
    require_backend("ipopt")
    f, g, h = _rosenbrock()
    kw = {}
    if derivs == "exact":
        nlp = ok.NLP([-1.2, 1.0], f, grad=g, hess=h)
    elif derivs == "limited-memory":
        nlp, kw = ok.NLP([-1.2, 1.0], f, grad=g), {"hessian": "limited-memory"}
    else:
        nlp = ok.NLP([-1.2, 1.0], f)
    res, overrun = _timed(nlp, "ipopt", **kw)
    _assert_stopped(res, overrun)
    assert res.x is not None and res.x.shape == (2,)  # the last iterate, measured
    assert res.primal_status == PrimalStatus.FEASIBLE  # unconstrained: any point is feasible
    assert res.verified is None  # a limit claims nothing


def test_ipopt_without_limit_still_solves():
    require_backend("ipopt")
    nlp = ok.NLP([-1.2, 1.0], lambda x: float(100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2))
    res = ok.solve(nlp, "ipopt")
    assert res.is_solved() and np.allclose(res.x, [1.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("method", ["SLSQP", "trust-constr", "L-BFGS-B"])
def test_scipy_methods_stop_within_one_oracle_call(method):
    require_backend("scipy")
    f, g, h = _rosenbrock()
    nlp = ok.NLP([-1.2, 1.0], f, grad=g, hess=h, lb=[-5, -5], ub=[5, 5])
    res, overrun = _timed(nlp, "scipy", method=method)
    _assert_stopped(res, overrun)
    assert res.x is not None and np.all(np.abs(res.x) <= 5)


def test_scipy_constrained_finite_differences_stop():
    # after the stop optkit measures at the returned point: f, ∇f, c, ∇c there and ∇c(x0) for
    # the row scale, i.e. 6n + 2 user calls under finite differences (0.4 s here)
    require_backend("scipy")

    def c(x):
        time.sleep(0.03)
        return np.array([x[0] ** 2 + x[1] ** 2 - 2.0])

    def f(x):
        time.sleep(0.03)
        return float(np.sum((x - 3.0) ** 4))
    nlp = ok.NLP(np.zeros(2), f, cons=c, cl=-np.inf, cu=0.0)
    res, overrun = _timed(nlp, "scipy", method="trust-constr")
    _assert_stopped(res, overrun)


def _slow_equality_nlp():
    S2 = 0.05

    def f(x):
        time.sleep(S2)
        return float(np.sum(x ** 4) + np.sum(x ** 2))

    def g(x):
        time.sleep(S2)
        return 4 * x ** 3 + 2 * x

    def c(x):
        time.sleep(S2)
        return np.array([np.sum(x) - 1.0, x[0] ** 2 + x[1] - 1.0])

    def J(x):
        time.sleep(S2)
        out = np.zeros((2, x.size))
        out[0], out[1, 0], out[1, 1] = 1.0, 2 * x[0], 1.0
        return out

    def H(x, y):
        time.sleep(S2)
        out = np.diag(12 * x ** 2 + 2.0)
        out[0, 0] += 2 * y[1]
        return out
    return ok.NLP(np.full(5, 3.0), f, grad=g, cons=c, jac=J, hess=H)


def test_sketch_newton_stops():
    require_backend("sketch-newton")
    res, overrun = _timed(_slow_equality_nlp(), "sketch-newton", max_iter=1000, tol=1e-14)
    _assert_stopped(res, overrun)
    assert res.x is not None


def _toy_bilevel():
    import cvxpy as cp

    x, y = cp.Variable(name="x"), cp.Variable(name="y")
    upper = ok.Level(cp.Minimize(cp.square(x - 1) + cp.square(y - 2)), [x >= -5, x <= 5], [x])
    lower = ok.Level(cp.Minimize(cp.square(y - x)), [y >= -5, y <= 5], [y])
    return ok.Bilevel(upper, lower)


def test_lv_hba_stops(monkeypatch):
    require_backend("lv-hba")
    from optkit.bilevel import functions

    original = functions.ScalarFunction.grad

    def slow(self, v):
        time.sleep(0.02)
        return original(self, v)
    monkeypatch.setattr(functions.ScalarFunction, "grad", slow)
    res, overrun = _timed(_toy_bilevel(), "lv-hba", max_iter=100000, tol=1e-14)
    _assert_stopped(res, overrun)


def test_vf_penalty_stops(monkeypatch):
    require_backend("vf-penalty")
    require_backend("ipopt")
    from optkit.ir.nlp_form import NLPForm

    original = NLPForm.grad

    def slow(self, x):
        out = original(self, x)  # checks the deadline first
        time.sleep(0.1)
        return out
    monkeypatch.setattr(NLPForm, "grad", slow)
    res, overrun = _timed(_toy_bilevel(), "vf-penalty", max_iter=50, nlp_solver="ipopt",
                          gap_tol=1e-14)
    _assert_stopped(res, overrun)


def test_pareto_scalarisation_stops():
    require_backend("weighted-sum")
    from optkit import registry

    # the inner solver is chosen by capability, which imports every backend module once per
    # process (about 1 s cold, not interruptible): done before the clock starts
    registry.best_for("nlp", require=frozenset({"inner-solver"}))

    def F(x):
        time.sleep(0.02)
        return np.array([float(x @ x), float((x - 1) @ (x - 1))])

    def J(x):
        time.sleep(0.02)
        return np.vstack([2 * x, 2 * (x - 1)])
    mo = ok.MultiObjective(F, n=3, jac=J, lb=-2, ub=2)
    res, overrun = _timed(mo, "weighted-sum", points=200)
    assert res.termination == Termination.TIME_LIMIT, (res.termination, res.message)
    assert overrun <= MAX_OVERRUN


def _hard_milp(n=120, m=30, seed=1):
    rng = np.random.default_rng(seed)
    A = rng.integers(1, 100, size=(m, n)).astype(float)
    c = rng.integers(1, 100, size=n).astype(float)
    return A, A.sum(axis=1) / 2, c


@pytest.mark.parametrize("solver", ["highs", "scipy"])
def test_milp_native_time_limit(solver):
    require_backend(solver)
    A, b, c = _hard_milp()
    lp = ok.LinearProblem(c=-c, A=A, rl=-np.inf, ru=b, lb=0, ub=1,
                          integrality=np.ones(c.size, bool))
    res, overrun = _timed(lp, solver)
    _assert_stopped(res, overrun)


def test_cvxpy_milp_native_time_limit():
    require_backend("cvxpy")
    import cvxpy as cp

    A, b, c = _hard_milp()
    x = cp.Variable(c.size, boolean=True)
    res, overrun = _timed(cp.Problem(cp.Maximize(c @ x), [A @ x <= b]), "cvxpy")
    _assert_stopped(res, overrun)


def test_highs_time_limit_holds_on_every_solve_of_a_process():
    # HiGHS's MIP solver measures its own run: a limit shifted by the instance's total run time
    # made the k-th time-limited MILP of a process run 2^(k-1) s (1, 2, 4, 8, 16, 32 s measured)
    require_backend("highs")
    A, b, c = _hard_milp()
    lp = ok.LinearProblem(c=-c, A=A, rl=-np.inf, ru=b, lb=0, ub=1,
                          integrality=np.ones(c.size, bool))
    for _ in range(3):
        res, overrun = _timed(lp, "highs")
        _assert_stopped(res, overrun)


@pytest.mark.parametrize("solver", ["ipopt", "scipy"])
def test_measurement_after_the_stop_is_bounded_too(solver):
    # n = 30 under finite differences: the full measurement (6n + 2 = 182 calls of 0.01 s) would
    # add 1.8 s; it gets a grace of min(0.5, T/2) s, then the point is checked for feasibility
    require_backend(solver)

    def f(x):
        time.sleep(0.01)
        return float(np.sum((x - 1) ** 2) + 0.1 * np.sum(x ** 4))

    def c(x):
        time.sleep(0.01)
        return np.array([np.sum(x ** 2) - 1.0])
    nlp = ok.NLP(np.zeros(30), f, cons=c, cl=-np.inf, cu=0.0)
    res, overrun = _timed(nlp, solver)
    _assert_stopped(res, overrun)
    assert "grace" in res.kkt.not_measured["stationarity"]
    assert res.primal_status in (PrimalStatus.FEASIBLE, PrimalStatus.NEARLY_FEASIBLE,
                                 PrimalStatus.INFEASIBLE)
    assert res.kkt["feasibility_rel"] >= 0.0
