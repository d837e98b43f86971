"""Backend registry: names, errors that list alternatives, in-process registration."""
import cvxpy as cp
import numpy as np
import pytest

import optkit as ok
from optkit import registry
from optkit.errors import OptionError, SolverUnavailableError, UnknownSolverError, UnsupportedProblemError
from optkit.status import Termination


def test_listing_includes_the_five_reference_backends():
    names = {row["name"] for row in ok.solvers()}
    assert {"highs", "ipopt", "scipy", "cvxpy", "pyomo"} <= names
    highs = next(r for r in ok.solvers() if r["name"] == "highs")
    assert highs["available"] and highs["version"].count(".") == 2


def test_unknown_solver_lists_registered_names():
    x = cp.Variable()
    with pytest.raises(UnknownSolverError, match=r"unknown solver 'nope'.*highs"):
        ok.solve(ok.Problem(cp.Minimize(x), [x >= 0]), "nope")


def test_backend_refusing_a_class_names_backends_that_accept_it():
    x = cp.Variable(2)
    nlp = ok.Problem(cp.Minimize(x[0] * x[1]), [x[0] ** 2 + x[1] ** 2 == 1])
    with pytest.raises(UnsupportedProblemError, match=r"'highs' does not accept a nlp problem"):
        ok.solve(nlp, "highs")


class _Toy(ok.Backend):
    name = "toy-gradient"
    accepts = frozenset({"nlp"})
    options = {"step": 0.1}

    def solve_nlp(self, form, options):
        x = form.x0.copy()
        for _ in range(options.max_iter or 200):
            x = x - options.get("step") * form.grad(x)
        return ok.Result(termination=Termination.LOCALLY_OPTIMAL, x=x, iterations=200)


class _Missing(ok.Backend):
    name = "toy-missing"
    accepts = frozenset({"lp"})
    requires = ("no_such_module_for_optkit",)


def test_in_process_backend_gets_measured_and_mapped():
    registry.register(_Toy)
    try:
        x = cp.Variable(2)
        prob = ok.Problem(cp.Minimize(cp.sum_squares(x - np.array([1.0, -2.0])) + x[0] * 0.0 * x[1]))
        res = ok.solve(prob, "toy-gradient", x0={x: [0.0, 0.0]})
        assert np.allclose(res.value(x), [1.0, -2.0], atol=1e-6)
        assert res.kkt["stationarity"] < 1e-6 and res.evaluations["grad"] >= 200
        with pytest.raises(OptionError, match="valid options.*step"):
            ok.solve(prob, "toy-gradient", stepsize=1)
    finally:
        registry.unregister("toy-gradient")


def test_unavailable_backend_is_reported_not_crashing():
    registry.register(_Missing)
    try:
        row = next(r for r in ok.solvers() if r["name"] == "toy-missing")
        assert row["available"] is False and "no_such_module_for_optkit" in row["note"]
        x = cp.Variable()
        with pytest.raises(SolverUnavailableError, match="not available"):
            ok.solve(ok.Problem(cp.Minimize(x), [x >= 0]), "toy-missing")
    finally:
        registry.unregister("toy-missing")


def test_default_backend_by_class():
    x = cp.Variable(nonneg=True)
    res = ok.solve(ok.Problem(cp.Minimize(x + 1)))
    assert res.solver == "highs" and res.objective == pytest.approx(1.0)
