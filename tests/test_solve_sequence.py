"""ok.solve_sequence: a tuner choosing options per instance of a sequence (generators included)."""
from __future__ import annotations

import numpy as np
import pytest

import optkit as ok
from optkit.tuning import Interval, Space, Tuner, replay
from optkit.tuning.families import heat_steps, shifted_laplacians


def test_sequence_with_a_tuner_matches_the_replayed_table():
    """Live bandit feedback equals replaying the cost table (SOR is deterministic)."""
    space = Space(Interval("omega", 1.0, 1.8, 5))
    items = list(shifted_laplacians(25, m=12, seed=1))
    table = np.array([[ok.solve(s, "sor", tol=1e-8, **arm).iterations for arm in space.arms]
                      for s, _ in items], dtype=float)
    seq = ok.solve_sequence(iter(items), "sor", tune=Tuner(space, "tsallis-inf", seed=2), tol=1e-8)
    assert len(seq) == 25 and seq.solved == 25
    ref = replay(Tuner(space, "tsallis-inf", seed=2), table)
    assert seq.costs == ref.costs
    assert seq.options == ref.chosen()
    assert seq.cumulative[-1] == pytest.approx(table[np.arange(25), ref.arms].sum())
    assert [c for c in seq.contexts] == [c for _, c in items]


def test_contextual_sequence_uses_the_context_function():
    space = Space(omega=[1.2, 1.6])
    systems = [s for s, _ in shifted_laplacians(6, m=8, seed=3)]
    shift = lambda s: float(s.A.diagonal()[0] - 4.0)  # noqa: E731 - c of L + cI
    seq = ok.solve_sequence(systems, "sor", context=shift,
                            tune=Tuner(space, "chebcb", seed=0, context_range=(0.0, 1.0)))
    assert np.allclose(seq.contexts, [c for _, c in shifted_laplacians(6, m=8, seed=3)])
    assert seq.solved == 6 and seq.tuner.rounds == 6


def test_untuned_sequence_and_cost_by_name():
    systems = (s for s, _ in heat_steps(3, m=8))
    seq = ok.solve_sequence(systems, "ssor-cg", omega=1.3, cost="time")
    assert len(seq) == 3 and all(c >= 0 for c in seq.costs) and seq.options == [{}] * 3


def test_failure_costs_the_budget():
    space = Space(omega=[1.0])
    items = list(shifted_laplacians(2, m=10, c_range=(0.01, 0.02), seed=0))
    seq = ok.solve_sequence(items, "sor", tune=Tuner(space, "fixed"), max_iter=3)
    assert seq.solved == 0 and seq.costs == [3.0, 3.0]


def test_bad_calls_are_refused():
    items = list(shifted_laplacians(1, m=4))
    with pytest.raises(ok.OptionError, match="both fixed and tuned"):
        ok.solve_sequence(items, "sor", tune=Tuner(Space(omega=[1.0]), "fixed"), omega=1.2)
    with pytest.raises(ok.OptionError, match="choose"):
        ok.solve_sequence(items, "sor", tune=object())
