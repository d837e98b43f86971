"""Exact bi-objective fronts: dichotomy (LP) and exact-epsilon (MILP) against enumeration."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import optkit as ok
from optkit.errors import OptionError, UnsupportedProblemError
from optkit.multiobjective import nondominated_mask
from optkit.problems import moo

from conftest import require_backend

cp = pytest.importorskip("cvxpy")


def _sorted(F):
    F = np.asarray(F, float)
    return F[np.lexsort(F.T[::-1])]


@pytest.mark.parametrize("kind,size,seed", [("knapsack", 10, 0), ("knapsack", 12, 1),
                                            ("assignment", 4, 0), ("assignment", 5, 1)])
def test_exact_epsilon_matches_enumeration(kind, size, seed):
    require_backend("highs")
    mo = moo.knapsack(size, seed) if kind == "knapsack" else moo.assignment(size, seed)
    res = ok.solve(mo, "exact-epsilon")
    exact = moo.enumerate_front(kind, size, seed)
    assert res.complete and not res.reasons
    assert isinstance(res, ok.Result) and res.is_solved() and res.verified is True
    assert res.kkt["verified_points"] == len(res)
    assert res.F.shape == exact.shape
    assert np.allclose(_sorted(res.F), _sorted(exact), atol=1e-6)
    # every point is a feasible 0/1 solution
    assert np.allclose(res.X, np.round(res.X), atol=1e-6)


def _lp_front_by_enumeration(A, b, C):
    """Vertices of {x ∈ R²: A x >= b}, mapped by C, then the nondominated vertices of the
    image's lower-left convex hull (the exact front of a bi-objective LP)."""
    pts = []
    for i, j in itertools.combinations(range(len(b)), 2):
        M = A[[i, j]]
        if abs(np.linalg.det(M)) < 1e-12:
            continue
        x = np.linalg.solve(M, b[[i, j]])
        if np.all(A @ x >= b - 1e-9):
            pts.append(C @ x)
    P = np.unique(np.round(np.array(pts), 9), axis=0)
    P = P[nondominated_mask(P)]
    P = _sorted(P)
    keep = [0]  # drop nondominated vertices that lie on a segment (not extreme) or above it
    for k in range(1, len(P) - 1):
        a, c = P[keep[-1]], P[k + 1]
        w = np.array([a[1] - c[1], c[0] - a[0]])
        if w @ P[k] < w @ a - 1e-9:
            keep.append(k)
    keep.append(len(P) - 1)
    return P[keep]


def test_dichotomy_reproduces_lp_front():
    require_backend("highs")
    A = np.array([[1, 0], [0, 1], [1, 2], [3, 1], [1, 1], [2, 5], [-1, 0], [0, -1]], float)
    b = np.array([0, 0, 2, 3, 1.5, 4, -6, -6], float)
    C = np.array([[1.0, 0.2], [0.1, 1.0]])
    x = cp.Variable(2, name="x")
    mo = ok.MultiObjective([cp.Minimize(C[0] @ x), cp.Minimize(C[1] @ x)], [A @ x >= b])
    res = ok.solve(mo, "dichotomy")
    exact = _lp_front_by_enumeration(A, b, C)
    assert res.complete and res.is_solved()
    assert res.F.shape == exact.shape
    assert np.allclose(_sorted(res.F), exact, atol=1e-6)
    assert len(res.extra["edges"]) == len(exact) - 1


def test_dichotomy_on_milp_says_supported_only():
    mo = moo.knapsack(10, 0)
    res = ok.solve(mo, "dichotomy")
    exact = moo.enumerate_front("knapsack", 10, 0)
    assert not res.complete and any("supported" in r for r in res.reasons)
    assert str(res.termination) == "OTHER_LIMIT" and not res.is_solved()
    # the supported points are a subset of the exact front
    for f in res.F:
        assert np.min(np.abs(exact - f).sum(axis=1)) < 1e-6


def test_exact_epsilon_needs_step_for_continuous_objectives():
    x = cp.Variable(2)
    mo = ok.MultiObjective([cp.Minimize(x[0]), cp.Minimize(x[1])], [x >= 0, cp.sum(x) >= 1])
    with pytest.raises(OptionError, match="step"):
        ok.solve(mo, "exact-epsilon")
    y = cp.Variable(2)
    mo3 = ok.MultiObjective([cp.Minimize(y[0]), cp.Minimize(y[1]), cp.Minimize(cp.sum(y))],
                            [y >= 0])
    with pytest.raises(UnsupportedProblemError, match="m = 2"):
        ok.solve(mo3, "dichotomy")


def test_exact_epsilon_infeasible_problem():
    x = cp.Variable(3, boolean=True)
    mo = ok.MultiObjective([cp.Maximize(cp.sum(x)), cp.Minimize(x[0])], [cp.sum(x) >= 4])
    res = ok.solve(mo, "exact-epsilon")
    assert len(res) == 0 and res.complete and res.reasons == ["the problem is infeasible"]
    assert str(res.termination) == "INFEASIBLE" and not res.is_solved()
    assert str(res.primal_status) == "NO_SOLUTION"


def test_exact_epsilon_step_must_be_finite():
    mo = moo.knapsack(6, 0)
    with pytest.raises(OptionError, match="step"):
        ok.solve(mo, "exact-epsilon", step=float("nan"))
