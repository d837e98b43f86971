"""A tuner for the inner sketch-and-project solver of a sketching Newton method.

The hook (option ``sketch_tuner`` of the sketching Newton backend) calls ``choose(context)``
before each Newton system K z = b and ``observe(steps)`` after it, with the number of sketch steps
that system took; the accuracy threshold does not depend on the choice, so fewer steps means a
cheaper solve of the same quality. The tunable options are ``sketch_relaxation`` ω ∈ (0, 2)
(every step z ← z − ω K S (SᵀK²S)⁺ Sᵀ r) and ``sketch_block_size`` (a positive int s, None for
the method's adaptive size, or "full": the whole system, one step = one direct solve).

    tuner = sketch_tuner(seed=0)
    for model in library:
        ok.solve(model, <sketching backend>, sketch_tuner=tuner)   # learns across systems and
                                                                  # across instances

The default policy is Tsallis-INF over ω ∈ {0.6, 0.8, 1.0, 1.2, 1.4} × s ∈ {None, 1, 2, 4, 8, "full"}
(cost = sketch steps, normalised by the largest seen). With ``policy="chebcb"`` the context is the
first coordinate the hook passes, log₁₀ ‖(∇ₓL, c)‖₂ (the KKT residual at the iterate), over
``context_range`` (default (−6, 3)).
"""
from __future__ import annotations

from typing import Any
from collections.abc import Sequence

import numpy as np

from .space import Categorical, Grid, Space
from .tuner import Tuner

RELAXATIONS = (0.6, 0.8, 1.0, 1.2, 1.4)
BLOCK_SIZES = (None, 1, 2, 4, 8, "full")


class SketchTuner(Tuner):
    """A :class:`Tuner` whose context is reduced to log₁₀ ‖(∇ₓL, c)‖₂ for contextual policies."""

    def choose(self, context: Any = None, key: str | None = None) -> dict:
        if self.policy.contextual and context is not None:
            context = float(np.atleast_1d(np.asarray(context, dtype=float))[0])
        elif not self.policy.contextual:
            context = None  # the raw vector is not needed for the history
        return super().choose(context, key)


def sketch_tuner(policy: str = "tsallis-inf", relaxations: Sequence[float] = RELAXATIONS,
                 block_sizes: Sequence[Any] = BLOCK_SIZES, seed: int | None = 0,
                 context_range: tuple[float, float] = (-6.0, 3.0), **policy_options: Any
                 ) -> SketchTuner:
    """A tuner over (``sketch_relaxation``, ``sketch_block_size``) for the ``sketch_tuner`` hook.

    Tsallis-INF here keeps losses in [0, 1] (cost / largest cost so far, ``normalise="loss"``,
    ``estimator="baseline"``, η₀ = 4) unless told otherwise: the sketch steps of a Newton system
    vary widely from one problem of a library to the next, and on hs-eq these settings took
    1.035× the untuned steps against 1.081× for the running-mean defaults chosen for SOR
    sequences (docs/bench_relax.md)."""
    space = Space(Grid("sketch_relaxation", tuple(float(w) for w in relaxations)),
                  Categorical("sketch_block_size", tuple(block_sizes)))
    if policy == "chebcb":
        policy_options.setdefault("context_range", context_range)
    if policy == "tsallis-inf":
        for k, v in (("eta0", 4.0), ("estimator", "baseline"), ("normalise", "loss")):
            policy_options.setdefault(k, v)
    return SketchTuner(space, policy=policy, seed=seed, **policy_options)
