"""Structured sketches (overlapping row blocks + coarse sketch; beyond the paper) on PDE control."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import optkit as ok
from optkit.errors import OptionError
from optkit.problems import pde_control
from optkit.solvers.sketching import SketchSolver
from optkit.status import Termination


@pytest.mark.parametrize("N", [8, 16])
def test_structured_sketch_reaches_tol_on_pde(N):
    model = pde_control.build(N)
    res = ok.solve(model, "sketch-newton", sketch="kaczmarz", equilibrate=True,
                   **pde_control.sketch_structure(N))
    assert res.termination == Termination.LOCALLY_OPTIMAL
    assert res.extra["kkt_2norm"] <= 1e-4
    assert res.iterations <= 3 and res.extra["cap_hits"] == 0
    assert res.extra["method"] == f"structured(4 blocks + coarse {3 * (N // 4) ** 2})"
    assert res.objective == pytest.approx(pde_control.optimum(N), rel=1e-8)


def test_structured_sketch_same_seed_same_iterates():
    model = pde_control.build(8)
    kw = dict(sketch="kaczmarz", equilibrate=True, seed=3, **pde_control.sketch_structure(8))
    a, b = (ok.solve(model, "sketch-newton", **kw) for _ in range(2))
    assert [h["sketch_steps"] for h in a.history] == [h["sketch_steps"] for h in b.history]
    assert np.array_equal(a.x, b.x)


def test_structured_step_is_a_projection():
    # one block step makes the sketched equations exact: K_I z = b_I afterwards
    rng = np.random.default_rng(0)
    A = sp.random(12, 12, density=0.5, random_state=1)
    K = (A + A.T + 6 * sp.identity(12)).tocsr()
    b = rng.standard_normal(12)
    blocks = [np.arange(0, 7), np.arange(5, 12)]
    S = SketchSolver(b, rng, "kaczmarz", K=K, blocks=blocks, coarse=np.ones((12, 1)),
                     coarse_prob=0.5)
    for _ in range(6):
        S._structured_step()
        r = K @ S.z - b
        assert np.allclose(S.r, r)
    # after a coarse step 1ᵀ(Kz − b) = 0, after a block step r_I = 0: one of them holds now
    assert np.isclose(r.sum(), 0, atol=1e-10) or any(np.allclose(r[I], 0, atol=1e-10) for I in blocks)
    out = S.run(1e-10, 10_000)
    assert out.reached and np.linalg.norm(K @ S.z - b) <= 1e-10


def test_structured_option_errors():
    model = pde_control.build(4)
    st = pde_control.sketch_structure(4)
    with pytest.raises(OptionError, match="cover every row"):
        ok.solve(model, "sketch-newton", sketch_blocks=st["sketch_blocks"][:1])
    with pytest.raises(OptionError, match="only together with sketch_blocks"):
        ok.solve(model, "sketch-newton", coarse_sketch=st["coarse_sketch"])
    with pytest.raises(OptionError, match="coarse_sketch must be"):
        ok.solve(model, "sketch-newton", sketch_blocks=st["sketch_blocks"],
                 coarse_sketch=np.ones((5, 2)))
    with pytest.raises(OptionError, match="matrix_free"):
        ok.solve(model, "sketch-newton", matrix_free=True, **st)
    with pytest.raises(OptionError, match="coarse_prob"):
        ok.solve(model, "sketch-newton", coarse_prob=1.5, **st)
