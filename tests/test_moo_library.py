"""Library moo: analytic Jacobians, reference fronts and the library protocol."""
from __future__ import annotations

import numpy as np
import pytest

from optkit.multiobjective import indicators as ind
from optkit.multiobjective import nondominated_mask
from optkit.problems import moo


@pytest.mark.parametrize("name", sorted(moo.CONTINUOUS))
def test_jacobians_match_finite_differences(name):
    mo, front = moo.problem(name)
    rng = np.random.default_rng(1)
    x = mo.lb + (mo.ub - mo.lb) * rng.uniform(0.1, 0.9, mo.n)
    J = np.asarray(mo._J(x))
    h = 1e-6
    Jfd = np.column_stack([(mo._F(x + h * e) - mo._F(x - h * e)) / (2 * h) for e in np.eye(mo.n)])
    assert np.allclose(J, Jfd, rtol=1e-5, atol=1e-5 * (1 + np.abs(J).max()))
    if mo.mc:
        Jg = np.atleast_2d(mo._gJ(x))
        Jgfd = np.column_stack([(mo._g(x + h * e) - mo._g(x - h * e)) / (2 * h)
                                for e in np.eye(mo.n)])
        assert np.allclose(Jg, Jgfd, rtol=1e-5, atol=1e-5 * (1 + np.abs(Jg).max()))
    assert np.all(nondominated_mask(front))


@pytest.mark.parametrize("name,hv", [("ZDT1", 0.8767), ("ZDT2", 0.5433), ("ZDT4", 0.8767)])
def test_reference_front_hypervolume_matches_exact(name, hv):
    front = moo.reference_front(name)
    assert ind.normalised_hypervolume(front, front) == pytest.approx(hv, abs=1e-3)


def test_dtlz2_front_is_the_unit_sphere_and_hv_approaches_exact():
    front = moo.reference_front("DTLZ2")
    assert np.allclose(np.linalg.norm(front, axis=1), 1.0)
    hv = ind.normalised_hypervolume(front, front)
    assert 0.78 < hv < 1.331 - np.pi / 6  # sampled front below the exact 0.8074


def test_known_front_ranges():
    assert moo.reference_front("ZDT3")[:, 1].min() == pytest.approx(-0.7733, abs=1e-3)
    d7 = moo.reference_front("DTLZ7")
    assert d7[:, 2].min() == pytest.approx(2.614, abs=0.01) and d7[:, 2].max() == pytest.approx(6)
    bnh = moo.reference_front("BNH")
    assert bnh[:, 0].max() == pytest.approx(136) and bnh[:, 1].min() == pytest.approx(4)
    osy = moo.reference_front("OSY")
    assert osy[:, 0].min() == pytest.approx(-274) and osy[:, 1].max() == pytest.approx(76)
    # fronts of constrained problems are feasible: evaluate the defining points' constraints
    mo, _ = moo.problem("BNH")
    for x in ([0, 0], [3, 3], [5, 3]):
        assert mo.violation(np.array(x, float)) <= 0


def test_library_protocol():
    insts = moo.library.instances()
    names = {i.name for i in insts}
    assert {"zdt1", "zdt6", "dtlz7", "osy", "ctp2", "knapsack10_s0", "assignment5_s1"} <= names
    inst = next(i for i in insts if i.name == "zdt2")
    mo = inst.build()
    assert mo.problem_class == "multiobjective" and mo.n == inst.n == 30 and mo.m == 2
    assert inst.meta["reference_front"]().shape[1] == 2
    ks = next(i for i in insts if i.name == "knapsack12_s1")
    assert ks.meta["exact_front"]().shape[0] >= 3
    with pytest.raises(KeyError, match="unknown moo problem"):
        moo.problem("ZDT5")


def test_indicators_against_hand_values():
    F = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    assert ind.hypervolume(F, [1.0, 1.0]) == pytest.approx(0.25)
    assert ind.igd(F, F) == 0 and ind.igd_plus(F, F) == 0
    assert ind.epsilon_additive(F + 0.1, F) == pytest.approx(0.1)
    # sparsity: sorted gaps 0.5, 0.5 in each of 2 objectives → (4 × 0.25)/2
    assert ind.sparsity(F) == pytest.approx(0.5)
    cd = ind.crowding_distance(F)
    assert np.isinf(cd[0]) and np.isinf(cd[2]) and cd[1] == pytest.approx(2.0)
    assert list(nondominated_mask(np.array([[0, 1], [1, 1], [1, 0]]))) == [True, False, True]
