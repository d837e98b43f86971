"""The hs-eq library: formulas, derivatives and known optima."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

import optkit as ok
from optkit.problems import hs_eq
from optkit.problems_api import load

INSTANCES = hs_eq.make_instances()
PAPER_FAILS = {"GOTTFR", "PRICE4NE", "TRIGON1NE", "HELIXNE"}  # singular-Jacobian stops


def test_library_size_and_names():
    names = [i.name for i in INSTANCES]
    assert len(names) >= 30
    assert set(names) <= set(hs_eq.PAPER_NAMES)
    assert len(hs_eq.PAPER_NAMES) == 47
    assert load("hs-eq").names() == names          # registered entry point


@pytest.mark.parametrize("inst", INSTANCES, ids=lambda i: i.name)
def test_derivatives_match_finite_differences(inst):
    form = inst.build().form()
    rng = np.random.default_rng(0)
    x = form.x0 + 0.1 * rng.standard_normal(form.n)
    y = rng.standard_normal(form.m)
    g = form.grad(x)
    assert np.allclose(g, approx_fprime(x, form.f, 1e-7), atol=1e-4 * (1 + np.abs(g).max()))
    J = form.jac(x).toarray()
    Jfd = np.array([approx_fprime(x, lambda z, i=i: form.cons(z)[i], 1e-7) for i in range(form.m)])
    assert np.allclose(J, Jfd, atol=1e-4 * (1 + np.abs(J).max()))
    H = form.hess(x, y).toarray()
    lag = lambda z: form.grad(z) + form.jac(z).T @ y   # noqa: E731
    Hfd = np.array([approx_fprime(x, lambda z, i=i: lag(z)[i], 1e-6) for i in range(form.n)])
    assert np.allclose(H, Hfd, atol=1e-3 * (1 + np.abs(H).max()))
    assert np.allclose(H, H.T)


@pytest.mark.parametrize("inst", INSTANCES, ids=lambda i: i.name)
def test_exact_newton_reaches_known_optimum(inst):
    res = ok.solve(inst.build(), "exact-newton")
    if inst.name in PAPER_FAILS:
        assert res.termination == ok.Termination.NUMERICAL_ERROR
        assert "singular constraint Jacobian" in res.message
        return
    assert res.is_solved(), res.message
    assert res.objective == pytest.approx(inst.known_objective, abs=1e-4 * (1 + abs(inst.known_objective)))


@pytest.mark.parametrize("sketch", ["gaussian", "kaczmarz"])
def test_acceptance_solved_fraction_and_median(sketch):
    # the acceptance: ≥ 90% of hs-eq to KKT ≤ 1e-4 with median iterations ≤ 6
    its, failed = [], []
    for inst in INSTANCES:
        res = ok.solve(inst.build(), "sketch-newton", sketch=sketch)
        if res.is_solved() and res.extra["kkt_2norm"] <= 1e-4:
            its.append(res.iterations)
        else:
            failed.append(inst.name)
    assert set(failed) <= PAPER_FAILS
    assert len(its) >= 0.9 * len(INSTANCES)
    assert float(np.median(its)) <= 6
