"""sketch-newton's inner-solver knobs: relaxation, block size (fixed / adaptive), the tuner hook,
the numpy fallback, and the cheaper exact tests (Gershgorin, capped λ_min(GGᵀ))."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import optkit as ok
from optkit.errors import OptionError
from optkit.problems import hs_eq
from optkit.solvers.sketch_newton import constraint_singularity, gershgorin_lower
from optkit.solvers.sketching import SketchSolver


class StubTuner:
    """Records every call; always proposes the same settings."""

    def __init__(self, choice):
        self.choice = choice
        self.contexts: list = []
        self.costs: list = []

    def choose(self, context):
        self.contexts.append(np.array(context))
        return dict(self.choice)

    def observe(self, cost):
        self.costs.append(cost)


def test_tuner_called_once_per_newton_system_and_applied():
    tuner = StubTuner({"sketch_relaxation": 1.3, "sketch_block_size": 2})
    res = ok.solve(hs_eq.build("HS47"), "sketch-newton", sketch="kaczmarz", sketch_tuner=tuner)
    assert res.is_solved()
    k = res.iterations
    assert len(tuner.contexts) == k and len(tuner.costs) == k       # one Newton system each
    assert [h["relaxation"] for h in res.history] == [1.3] * k
    assert [h["block"] for h in res.history] == [2] * k
    assert tuner.costs == [float(h["sketch_steps"]) for h in res.history]
    assert sum(tuner.costs) == res.extra["sketch_steps"]
    ctx = np.array(tuner.contexts)
    assert ctx.shape == (k, 3)
    assert list(ctx[:, 1]) == list(range(k))                           # Newton iteration index
    assert np.all(ctx[:, 2] == 5 + 3)                                   # n + m
    form = hs_eq.build("HS47").form()                                  # λ0 = 0: ‖(∇f, c)(x0)‖
    kkt0 = np.linalg.norm(np.r_[form.grad(form.x0), form.cons(form.x0)])
    assert ctx[0, 0] == pytest.approx(np.log10(kkt0), abs=1e-12)
    assert list(ctx[1:, 0]) == pytest.approx([np.log10(h["kkt"]) for h in res.history[:-1]])


def test_tuner_bad_answers_are_refused():
    with pytest.raises(OptionError, match="unknown key"):
        ok.solve(hs_eq.build("HS6"), "sketch-newton", sketch_tuner=StubTuner({"theta": 2}))
    with pytest.raises(OptionError, match="sketch_relaxation"):
        ok.solve(hs_eq.build("HS6"), "sketch-newton",
                 sketch_tuner=StubTuner({"sketch_relaxation": 2.5}))
    with pytest.raises(OptionError, match="choose"):
        ok.solve(hs_eq.build("HS6"), "sketch-newton", sketch_tuner=object())


def test_relaxation_and_block_size_options():
    for omega in (0.7, 1.0, 1.5):
        res = ok.solve(hs_eq.build("HS78"), "sketch-newton", sketch="kaczmarz",
                       sketch_relaxation=omega, sketch_block_size=1)
        assert res.is_solved() and res.objective == pytest.approx(-2.91970041, abs=1e-4)
    with pytest.raises(OptionError, match="sketch_relaxation"):
        ok.solve(hs_eq.build("HS6"), "sketch-newton", sketch_relaxation=0.0)
    with pytest.raises(OptionError, match="sketch_block_size"):
        ok.solve(hs_eq.build("HS6"), "sketch-newton", sketch_block_size=0)
    with pytest.raises(OptionError, match="not both"):
        ok.solve(hs_eq.build("HS6"), "sketch-newton", sketch_block_size=2, block_size=3)


@pytest.mark.parametrize("omega", [0.5, 1.0, 1.8])
def test_relaxed_projections_converge(omega):
    # ω ∈ (0, 2) keeps sketch-and-project convergent on a symmetric nonsingular system
    rng = np.random.default_rng(1)
    Q = np.linalg.qr(rng.standard_normal((30, 30)))[0]
    K = Q @ np.diag(np.r_[-np.linspace(1, 3, 10), np.linspace(1, 3, 20)]) @ Q.T   # indefinite
    b = rng.standard_normal(30)
    for sketch in ("gaussian", "kaczmarz"):
        S = SketchSolver(b, np.random.default_rng(0), sketch, 1, K=K,
                         kfro=np.linalg.norm(K), relaxation=omega)
        out = S.run(1e-8, 2_000_000)
        assert out.reached and np.linalg.norm(K @ S.z - b) <= 1e-8


def test_adaptive_block_reaches_full_sketch_when_cheaper():
    # BA-L1SP: the paper's size-1 sketches hit the 10⁶-step budget in every system; the adaptive
    # rule measures the contraction and switches to the full sketch (s = n + m)
    res = ok.solve(hs_eq.build("BA-L1SP"), "sketch-newton")
    assert res.is_solved() and res.extra["cap_hits"] == 0
    assert max(h["block"] for h in res.history) == 57 + 12
    assert res.extra["sketch_steps"] < 5_000
    res1 = ok.solve(hs_eq.build("BA-L1SP"), "sketch-newton", sketch_block_size=1,
                    max_sketch_steps=2000)
    assert res1.extra["cap_hits"] == res1.iterations                  # every system capped


def test_numpy_fallback_gives_the_same_answers():
    for sketch in ("gaussian", "kaczmarz"):
        a = ok.solve(hs_eq.build("BT11"), "sketch-newton", sketch=sketch, sketch_block_size=1,
                     numba=False)
        assert a.is_solved() and a.objective == pytest.approx(0.8248917783, abs=1e-4)


def test_cheap_exact_certificates():
    rng = np.random.default_rng(0)
    G = sp.csr_matrix(rng.standard_normal((4, 9)))
    lam = np.linalg.eigvalsh((G @ G.T).toarray())[0]
    assert constraint_singularity(G) == pytest.approx(lam, rel=1e-8)
    assert constraint_singularity(G, cap=1.0) == pytest.approx(min(lam, 1.0), rel=1e-8)
    Gs = sp.csr_matrix(0.01 * G.toarray())                               # λ_min < 1: exact value
    assert constraint_singularity(Gs, cap=1.0) == pytest.approx(1e-4 * lam, rel=1e-8)
    H = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.0], [0.5, 0.0, 2.0]])
    assert gershgorin_lower(H) == pytest.approx(1.5)
    assert gershgorin_lower(H) <= np.linalg.eigvalsh(H)[0]
    assert gershgorin_lower(sp.csr_matrix(H)) == pytest.approx(1.5)


def test_tune_sketch_builds_a_tuner_and_records_its_choices():
    """tune_sketch=True: a Tsallis-INF tuner over (relaxation, block size) picks the inner
    solver's parameters per Newton system; the solve still reaches the paper's KKT target."""
    res = ok.solve(hs_eq.build("HS47"), "sketch-newton", tune_sketch=True, seed=0)
    assert res.is_solved()
    systems = [h for h in res.history if h.get("sketch_steps") is not None]
    assert systems and sum(h["sketch_steps"] for h in systems) == res.extra["sketch_steps"]
    assert all(0 < h["relaxation"] < 2 for h in systems)


def test_full_block_is_one_sketch_step_per_newton_system():
    res = ok.solve(hs_eq.build("HS47"), "sketch-newton", sketch_block_size="full")
    assert res.is_solved()
    systems = [h for h in res.history if h.get("sketch_steps") is not None]
    assert res.extra["sketch_steps"] == len(systems)
    with pytest.raises(OptionError, match="'full'"):
        ok.solve(hs_eq.build("HS47"), "sketch-newton", sketch_block_size="whole")


def test_tuner_over_block_sizes_spends_fewer_sketch_steps_than_the_default():
    """A Tsallis-INF tuner shared across instances, arms {adaptive, full}: it learns that a
    direct solve is the cheapest inner solve on these sizes (fewer steps, same problems solved)."""
    from optkit.tuning.sketch import sketch_tuner

    tuner = sketch_tuner(relaxations=(1.0,), block_sizes=(None, "full"), seed=0)
    steps = {"default": 0, "tuned": 0}
    solved = {"default": 0, "tuned": 0}
    for name in ("HS6", "HS7", "HS28", "HS40", "HS42", "HS47", "HS48", "HS50", "HS51", "HS52",
                 "HS56", "HS77", "HS78", "HS79", "BT2", "BT3", "BT5", "BT6", "BT9", "BT10"):
        model = hs_eq.build(name)
        for key, kw in (("default", {}), ("tuned", {"sketch_tuner": tuner})):
            res = ok.solve(model, "sketch-newton", **kw)
            steps[key] += res.extra["sketch_steps"]
            solved[key] += int(res.is_solved())
    assert solved["tuned"] >= solved["default"]
    assert steps["tuned"] < steps["default"]
