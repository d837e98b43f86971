"""``ok.solve_sequence``: solve problems one after another, a tuner choosing options per instance.

    seq = ok.solve_sequence(systems, "sor", tune=Tuner(space, "tsallis-inf", seed=0), tol=1e-8)
    seq.costs, seq.options, seq.cumulative        # per instance; seq.tuner holds the learned state

For instance t: the context cₜ (an item given as a ``(problem, context)`` pair, or
``context(problem)`` when a function is given) → ``options = tuner.choose(cₜ)`` → ``ok.solve(problem,
solver, **fixed options, **options)`` → ``tuner.observe(costₜ)``. The cost is ``cost(result)``
when a function is given, else by name: ``"iterations"`` (default), ``"time"`` (the solve's wall
time) or any key of ``result.evaluations``/``result.extra`` holding a number (``"sketch_steps"``).
A solve that is not ``is_solved()`` costs ``failure_cost`` (default: the iteration budget
``max_iter`` when given, else twice the largest cost seen), so the learner is pushed away from
options that fail. ``problems`` may be any iterable, a generator included (consumed once).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable, Iterable

import numpy as np

from .errors import OptionError
from .results import Result


@dataclass
class SequenceResult:
    """Per-instance results, chosen options, costs, contexts; ``cumulative`` is the running total."""

    results: list[Result] = field(default_factory=list)
    options: list[dict] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)
    tuner: Any = None
    seconds: float = 0.0

    @property
    def cumulative(self) -> np.ndarray:
        """Cumulative cost after each instance."""
        return np.cumsum(np.asarray(self.costs, dtype=float))

    @property
    def total_cost(self) -> float:
        """Σ costs."""
        return float(sum(self.costs))

    @property
    def solved(self) -> int:
        """Number of instances with ``is_solved()``."""
        return sum(1 for r in self.results if r.is_solved())

    def __len__(self) -> int:
        return len(self.results)

    def __repr__(self) -> str:
        return (f"SequenceResult(instances={len(self)}, solved={self.solved}, "
                f"total_cost={self.total_cost:g})")


def cost_of(result: Result, cost: str | Callable[[Result], float]) -> float | None:
    """The cost of one solve by name or function (None when the result does not carry it)."""
    if callable(cost):
        return float(cost(result))
    if cost == "iterations":
        return None if result.iterations is None else float(result.iterations)
    if cost == "time":
        return float(result.timings.get("solve", result.timings.get("total", 0.0)))
    for where in (result.evaluations, result.extra):
        v = where.get(cost) if isinstance(where, dict) else None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


def solve_sequence(problems: Iterable[Any], solver: str | None = None, tune: Any = None,
                   context: Callable[[Any], Any] | None = None,
                   cost: str | Callable[[Result], float] = "iterations",
                   failure_cost: float | None = None, **options: Any) -> SequenceResult:
    """Solve each problem in turn with ``solver``, options chosen by the tuner ``tune``
    (a :class:`~optkit.tuning.Tuner`, or None for the fixed ``options``); see module docstring."""
    from .solving import solve

    if tune is not None and not (hasattr(tune, "choose") and hasattr(tune, "observe")):
        raise OptionError(f"tune must be a tuner with choose(context) and observe(cost); got "
                          f"{type(tune).__name__}")
    if isinstance(cost, str) and not cost:
        raise OptionError("cost must be a name ('iterations', 'time', ...) or a function")
    budget = failure_cost if failure_cost is not None else options.get("max_iter")
    out = SequenceResult(tuner=tune)
    t0 = time.perf_counter()
    largest = 0.0
    for item in problems:
        if isinstance(item, tuple) and len(item) == 2:
            problem, ctx = item
        else:
            problem, ctx = item, (context(item) if context is not None else None)
        if context is not None and isinstance(item, tuple) and len(item) == 2:
            ctx = context(problem)
        chosen = tune.choose(ctx) if tune is not None else {}
        clash = sorted(set(chosen) & set(options))
        if clash:
            raise OptionError(f"option(s) {', '.join(clash)} are both fixed and tuned; give each "
                              f"once")
        res = solve(problem, solver, **options, **chosen)
        c = cost_of(res, cost)
        if c is None or not math.isfinite(c):
            if cost == "iterations" or callable(cost):
                raise OptionError(f"the result of {solver or res.solver!r} carries no cost "
                                  f"{cost!r}; give cost= a function of the Result")
            raise OptionError(f"the result carries no numeric {cost!r} (in evaluations or extra)")
        if not res.is_solved():
            c = float(budget) if budget is not None else max(2.0 * largest, c)
        largest = max(largest, c)
        if tune is not None:
            tune.observe(c)
        out.results.append(res)
        out.options.append(dict(chosen))
        out.costs.append(c)
        out.contexts.append(ctx)
    out.seconds = time.perf_counter() - t0
    return out
