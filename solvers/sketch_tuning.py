"""The tuner hook of sketch-newton: per-system choice of the inner solver's parameters.

A tuner is any object with

    choose(context: numpy.ndarray | None) -> dict     # keys among TUNABLE
    observe(cost: float) -> None

sketch-newton calls ``choose`` before each Newton system K z = b with the context vector

    context = [log10 ‖b‖₂,  k,  n + m]

(‖b‖₂ = ‖(∇ₓL, c)‖₂ the KKT residual at the current iterate, k the Newton iteration index from 0,
n + m the size of K), applies the returned values to that system only, and calls ``observe`` with
the number of sketch steps the system took (its cost; the threshold of the accuracy test is the
same whatever the tuner chooses, so fewer steps means a cheaper solve of the same quality).

Tunable keys: ``sketch_relaxation`` (ω ∈ (0, 2); every step z ← z − ω K S(SᵀK²S)⁺Sᵀr) and
``sketch_block_size`` (a positive int s, or None for the adaptive size).
"""
from __future__ import annotations

import math

import numpy as np

from optkit.errors import OptionError

TUNABLE = ("sketch_relaxation", "sketch_block_size")


#: sketch_block_size value meaning "the whole system": one sketch step is one direct solve
FULL = "full"


def check_block_size(who: str, value) -> None:
    """sketch_block_size is None (adaptive), a positive int, or "full" (the whole system)."""
    if value is None or value == FULL:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OptionError(f"{who}: option sketch_block_size must be a positive integer, None "
                          f"(adaptive) or 'full' (the whole system), got {value!r}")


def check_relaxation(who: str, value) -> None:
    """sketch_relaxation ω must lie in the open interval (0, 2)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not 0.0 < float(value) < 2.0:
        raise OptionError(f"{who}: option sketch_relaxation must be a number in (0, 2), "
                          f"got {value!r}")


def tuner_context(kkt: float, k: int, d: int) -> np.ndarray:
    """[log10 ‖(∇ₓL, c)‖₂, Newton iteration index, n + m]."""
    return np.array([math.log10(max(kkt, 1e-300)), float(k), float(d)])


def tuned(who: str, tuner, context: np.ndarray, block_size, relaxation) -> tuple:
    """Ask the tuner for this system's (block size, relaxation); check what it returns."""
    choice = tuner.choose(context)
    if choice is None:
        return block_size, relaxation
    if not isinstance(choice, dict):
        raise OptionError(f"{who}: sketch_tuner.choose must return a dict, got "
                          f"{type(choice).__name__}")
    unknown = sorted(set(choice) - set(TUNABLE))
    if unknown:
        raise OptionError(f"{who}: sketch_tuner.choose returned unknown key(s) {unknown}; "
                          f"tunable: {', '.join(TUNABLE)}")
    if "sketch_block_size" in choice:
        check_block_size(f"{who} (sketch_tuner)", choice["sketch_block_size"])
        block_size = choice["sketch_block_size"]
    if "sketch_relaxation" in choice:
        check_relaxation(f"{who} (sketch_tuner)", choice["sketch_relaxation"])
        relaxation = float(choice["sketch_relaxation"])
    return block_size, relaxation
