"""Conformance suite that every single-level backend must pass (after MathOptInterface's tests).

Each case builds a small model with a known answer (by formula or published optimum), names the
problem kind it needs, and says which terminations are correct. ``run(backend)`` solves every case
the backend accepts and returns the outcomes; ``check(backend)`` raises AssertionError listing
every failure. Every case is solved with ``tol=1e-9`` unless it says otherwise. Bad-input cases check that errors are raised before any solve.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..status import Termination

OPTIMAL = {Termination.OPTIMAL, Termination.LOCALLY_OPTIMAL}
INFEASIBLE = {Termination.INFEASIBLE, Termination.LOCALLY_INFEASIBLE,
              Termination.INFEASIBLE_OR_UNBOUNDED}
UNBOUNDED = {Termination.UNBOUNDED, Termination.INFEASIBLE_OR_UNBOUNDED}


@dataclass
class Case:
    """One conformance case: a model factory, the known answer, the accepted terminations."""

    name: str
    build: Callable[[], Any]
    terminations: set
    objective: float | None = None
    rtol: float = 1e-6
    kkt_tol: float | None = 1e-5
    options: dict = field(default_factory=dict)
    check: Callable[[Any, Any], str | None] | None = None  # extra check(result, model) -> error text


@dataclass
class Outcome:
    """What happened to one case on one backend."""

    case: str
    ok: bool
    detail: str
    result: Any = None


def _rosenbrock_on_line_optimum(s: float = 1.5) -> float:
    """min 100(x2 − x1²)² + (1 − x1)² on x1 + x2 = s, by the roots of the 1-D derivative."""
    # g(t) = 100 (s − t − t²)² + (1 − t)²; g'(t) = 200 (s − t − t²)(−1 − 2t) − 2(1 − t)
    p = np.poly1d([-1.0, -1.0, s])
    d = 200 * p * np.poly1d([-2.0, -1.0]) - 2 * np.poly1d([-1.0, 1.0])
    ts = [r.real for r in d.r if abs(r.imag) < 1e-9]
    return min(100 * p(t) ** 2 + (1 - t) ** 2 for t in ts)


def _cases() -> list[Case]:
    import cvxpy as cp

    from ..modeling import NLP, Problem

    def small_lp():
        x = cp.Variable(2, nonneg=True)
        return Problem(cp.Minimize(-x[0] - x[1]), [x[0] + 2 * x[1] <= 4, 3 * x[0] + x[1] <= 6],
                       name="small-lp")

    def small_qp():
        x = cp.Variable(2)
        return Problem(cp.Minimize(cp.sum_squares(x - np.array([1.0, 2.0]))), [x[0] + x[1] <= 2],
                       name="small-qp")

    def small_milp():
        z = cp.Variable(3, boolean=True)
        return Problem(cp.Maximize(5 * z[0] + 4 * z[1] + 3 * z[2]),
                       [2 * z[0] + 3 * z[1] + z[2] <= 5, 4 * z[0] + z[1] + 2 * z[2] <= 11,
                        3 * z[0] + 4 * z[1] + 2 * z[2] <= 8], name="small-milp")

    def hs071():
        x = cp.Variable(4, bounds=[1, 5])
        x.value = np.array([1.0, 5.0, 5.0, 1.0])
        return Problem(cp.Minimize(x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2]),
                       [x[0] * x[1] * x[2] * x[3] >= 25, cp.sum_squares(x) == 40], name="hs071")

    def rosenbrock_eq():
        def f(x):
            return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2

        def g(x):
            return np.array([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200 * (x[1] - x[0] ** 2)])

        def h(x, y):
            return np.array([[1200 * x[0] ** 2 - 400 * x[1] + 2, -400 * x[0]], [-400 * x[0], 200.0]])

        # start on the line inside the basin of the global minimiser t* ≈ 0.823 (the 1-D
        # function also has a local minimum at t ≈ −1.82, value 7.957)
        return NLP(x0=[0.8, 0.7], f=f, grad=g, cons=lambda x: np.array([x[0] + x[1] - 1.5]),
                   jac=lambda x: np.array([[1.0, 1.0]]), hess=h, name="rosenbrock-eq")

    def infeasible_lp():
        x = cp.Variable(2)
        return Problem(cp.Minimize(x[0] + x[1]), [x >= 1, x[0] + x[1] <= 1], name="infeasible-lp")

    def unbounded_lp():
        x = cp.Variable(2, nonneg=True)
        return Problem(cp.Minimize(-x[0] + x[1]), [x[1] <= 3], name="unbounded-lp")

    def check_lp_point(res, model):
        x = model.variables()[0]
        v = res.value(x)
        return None if v is not None and np.allclose(v, [1.6, 1.2], atol=1e-5) else f"x = {v}"

    def check_hs071_point(res, model):
        v = res.value(model.variables()[0])
        want = [1.0, 4.742999, 3.821150, 1.379408]
        return None if v is not None and np.allclose(v, want, atol=1e-4) else f"x = {v}"

    return [
        Case("small-lp", small_lp, OPTIMAL, -2.8, check=check_lp_point),
        Case("small-qp", small_qp, OPTIMAL, 0.5),
        Case("small-milp", small_milp, OPTIMAL, 9.0, kkt_tol=1e-6),
        Case("hs071", hs071, OPTIMAL, 17.0140173, rtol=1e-6, check=check_hs071_point),
        Case("rosenbrock-eq", rosenbrock_eq, OPTIMAL, _rosenbrock_on_line_optimum(), rtol=1e-5),
        Case("infeasible-lp", infeasible_lp, INFEASIBLE, kkt_tol=None),
        Case("unbounded-lp", unbounded_lp, UNBOUNDED, kkt_tol=None, options={"max_iter": 3000}),
    ]


CASES = _cases


def run_case(backend: str, case: Case) -> Outcome | None:
    """Solve one case (None when the backend does not accept its kind)."""
    from .. import registry
    from ..solve import solve

    model = case.build()
    if not registry.get(backend).accepts & set(model.kinds):
        return None
    try:
        res = solve(model, backend, **{"tol": 1e-9, **case.options})
    except Exception as exc:  # a conformance failure, not a test crash
        return Outcome(case.name, False, f"raised {type(exc).__name__}: {exc}")
    problems = []
    if res.termination not in case.terminations:
        problems.append(f"termination {res.termination} not in "
                        f"{sorted(str(t) for t in case.terminations)} ({res.message})")
    elif case.objective is not None:
        obj = res.objective
        if obj is None or abs(obj - case.objective) > case.rtol * max(1.0, abs(case.objective)):
            problems.append(f"objective {obj} != {case.objective}")
        kkt = res.kkt.get("kkt")
        if case.kkt_tol is not None and (kkt is None or kkt > case.kkt_tol):
            problems.append(f"KKT residual {kkt} > {case.kkt_tol}")
        if case.check is not None:
            msg = case.check(res, model)
            if msg:
                problems.append(msg)
    return Outcome(case.name, not problems, "; ".join(problems) or "ok", res)


def bad_input_checks(backend: str) -> list[Outcome]:
    """Errors that must be raised before solving: unknown option, wrong class, bad start."""
    import cvxpy as cp

    from .. import registry
    from ..errors import InvalidProblemError, OptionError, UnsupportedProblemError
    from ..modeling import Problem
    from ..solve import solve

    out = []
    b = registry.get(backend)
    x = cp.Variable(2, nonneg=True)
    lp = Problem(cp.Minimize(cp.sum(x)), [x[0] + x[1] >= 1])
    nlp_only = Problem(cp.Minimize(cp.exp(x[0]) * x[1] + x[0] ** 2), [x[0] + x[1] == 1])

    def expect(name, exc_type, fn):
        try:
            fn()
        except exc_type as exc:
            out.append(Outcome(name, True, f"{type(exc).__name__}: {exc}"))
        except Exception as exc:
            out.append(Outcome(name, False, f"raised {type(exc).__name__} instead of {exc_type.__name__}: {exc}"))
        else:
            out.append(Outcome(name, False, f"no {exc_type.__name__} raised"))

    target = lp if b.accepts & lp.kinds else nlp_only
    expect("unknown-option", OptionError, lambda: solve(target, backend, no_such_option=1))
    expect("bad-tol", OptionError, lambda: solve(target, backend, tol=-1.0))
    if not b.accepts & nlp_only.kinds:
        expect("unsupported-class", UnsupportedProblemError, lambda: solve(nlp_only, backend))
    if b.accepts & nlp_only.kinds:
        expect("bad-x0-shape", InvalidProblemError, lambda: solve(nlp_only, backend, x0={x: [1.0, 2.0, 3.0]}))
    return out


def run(backend: str) -> list[Outcome]:
    """Every accepted case plus the bad-input checks."""
    outcomes = [o for c in _cases() if (o := run_case(backend, c)) is not None]
    return outcomes + bad_input_checks(backend)


def check(backend: str) -> list[Outcome]:
    """Run the suite and raise AssertionError naming every failing case."""
    outcomes = run(backend)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise AssertionError(f"backend {backend!r} fails conformance: " +
                             "; ".join(f"{o.case}: {o.detail}" for o in failed))
    return outcomes
