"""Online tuning of solver options across a sequence of problems (Learning to Relax).

``Space`` (grids, intervals, categorical) → arms; ``Tuner(space, policy, seed)`` with
``choose(context) -> options`` and ``observe(cost)``; policies ``tsallis-inf``, ``chebcb``
(contextual), ``fixed`` and ``random``; ``to_dict``/``from_dict`` to save and resume;
``regret(reference)`` against the best fixed arm and the instance-optimal choice.
See ``docs/tuning.md`` and Khodak, Chow, Balcan, Talwalkar (ICLR 2024).
"""
from __future__ import annotations

from .policies import POLICIES, ChebCB, Fixed, Policy, TsallisINF, Uniform
from .space import Categorical, Grid, Interval, Space
from .tuner import Tuner, fixed, replay

__all__ = ["Space", "Grid", "Interval", "Categorical", "Tuner", "fixed", "replay", "Policy", "TsallisINF",
           "ChebCB", "Fixed", "Uniform", "POLICIES"]
