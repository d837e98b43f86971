"""Backend registry: names, errors that list alternatives, in-process registration, routing by the
priorities backends declare (the core names none), inner solvers by capability."""
import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

import optkit as ok
from optkit import registry
from optkit.errors import OptionError, SolverUnavailableError, UnknownSolverError, UnsupportedProblemError
from optkit.options import Option
from optkit.raw import RawSolution
from optkit.status import PrimalStatus, Termination


def test_listing_includes_the_reference_backends():
    names = {row["name"] for row in ok.solvers()}
    assert {"highs", "ipopt", "scipy", "cvxpy", "pyomo", "clarabel"} <= names
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
    """Gradient descent x ← x − step·∇f(x) on an unconstrained NLPForm (the new contract: a
    RawSolution with a native status of its declared table)."""

    name = "toy-gradient"
    accepts = frozenset({"nlp"})
    options = {"step": Option(0.1, lambda v: isinstance(v, float) and 0 < v < 1, "step in (0, 1)")}
    STATUS_MAP = {"converged": Termination.LOCALLY_OPTIMAL, "budget": Termination.ITERATION_LIMIT}

    def solve_nlp(self, form, options):
        x = form.x0.copy()
        budget = options.max_iter or 200
        for k in range(budget):
            g = form.grad(x)
            if np.abs(g).max() <= 1e-10:
                return RawSolution(status="converged", x=x, iterations=k)
            x = x - options.get("step") * g
        return RawSolution(status="budget", x=x, iterations=budget)


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
        assert res.termination == Termination.LOCALLY_OPTIMAL and res.native_status == "converged"
        assert res.is_solved() and res.verified is True
        assert res.kkt["stationarity"] < 1e-6 and res.evaluations["grad"] >= 50
        res = ok.solve(prob, "toy-gradient", x0={x: [0.0, 0.0]}, max_iter=3)
        assert res.termination == Termination.ITERATION_LIMIT and res.iterations == 3
        assert not res.is_solved() and res.primal_status == PrimalStatus.FEASIBLE
        with pytest.raises(OptionError, match="valid options.*step"):
            ok.solve(prob, "toy-gradient", stepsize=1)
        with pytest.raises(OptionError, match="step in"):
            ok.solve(prob, "toy-gradient", step=2.0)
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


class _Preferred(ok.Backend):
    """Declares a high LP priority; solves nothing itself (delegates to the best other LP solver)."""

    name = "toy-preferred"
    accepts = frozenset({"lp"})
    priority = {"lp": 10_000}
    capabilities = frozenset({"toy-capability"})

    def solve_linear(self, form, options):
        from optkit.finish import to_result

        inner = registry.best_for("lp", exclude=(self.name,))
        return to_result(inner.solve_linear(form, options), inner)


def test_default_is_chosen_by_declared_priority():
    lp = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[1.0])
    assert registry.choose(lp).name == "highs"
    registry.register(_Preferred)
    try:
        assert registry.choose(lp).name == "toy-preferred"
        res = ok.solve(lp)
        assert res.solver == "toy-preferred" and res.objective == pytest.approx(1.0)
        assert registry.best_for("lp", exclude=("toy-preferred",)).name == "highs"
        assert registry.best_for("lp", require={"toy-capability"}).name == "toy-preferred"
    finally:
        registry.unregister("toy-preferred")
    assert registry.choose(lp).name == "highs"
    with pytest.raises(SolverUnavailableError, match="no available backend solves lp.*toy-capability"):
        registry.best_for("lp", require={"toy-capability"})


def test_priority_refined_by_size():
    # HiGHS's QP solver is active-set: it declares a low rank for QPs above 200 variables
    n = 201
    big = ok.LinearProblem(c=np.ones(n), A=sp.csr_matrix((0, n)), Q=sp.identity(n, format="csr"))
    small = ok.LinearProblem(c=np.ones(2), A=np.zeros((0, 2)), Q=np.eye(2))
    highs = registry.get("highs")
    assert highs.priority_for(small) == highs.priority["qp"]
    assert highs.priority_for(big) < highs.priority["qp"]
    assert registry.choose(small).name == "highs"
    assert registry.choose(big).name != "highs"


def test_unknown_solver_option_refused_with_close_matches():
    highs = registry.get("highs")
    names = highs.solver_option_names()
    assert names is not None and "presolve" in names
    lp = ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[1.0])
    with pytest.raises(OptionError, match="did you mean presolve"):
        ok.solve(lp, "highs", solver_options={"presolv": "off"})
    res = ok.solve(lp, "highs", solver_options={"presolve": "off"})
    assert res.is_solved() and res.objective == pytest.approx(1.0)


def test_module_class_name_loads_an_unregistered_backend():
    b = registry.get("optkit.testing.faulty:RaiseBackend")
    assert b.name == "raise" and "raise" not in registry.names()
    with pytest.raises(UnknownSolverError, match="cannot load backend"):
        registry.get("optkit.testing.faulty:NoSuchBackend")
