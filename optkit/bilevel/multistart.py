"""Multistart for local bilevel methods: K seeded starts, the lower-level gap as the certificate.

A local method (lv-hba, vf-penalty) settles at a point that depends on where it starts; on
bilevel programs whose lower-level solution set jumps with x (LP lower levels) several
bilevel-feasible points attract it. Multistart runs the method from

    v⁽⁰⁾ = the model's (or the user's) start,   v⁽ʲ⁾ = a seeded draw, j = 1 … K−1,

where a draw is uniform in [lb, ub] for entries with both bounds finite, and start ± |N(0, s²)|
(s = max(1, |start|)) towards the finite side or on both sides otherwise. Each answer is
measured independently (:func:`optkit.bilevel.result.finish`: both levels' scaled feasibility
and the lower gap f(x, y) − v(x) from a lower-level solve). An answer is **bilevel-feasible** when
its ``primal_status`` is FEASIBLE (feasibility ≤ feas_tol, lower_gap_rel ≤ opt_tol); the returned
answer is the bilevel-feasible one with the least upper objective F, or, when none is, the one
with the least max(feasibility_rel, lower_gap_rel). The same seed gives the same starts.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..status import PrimalStatus


def starts(model, K: int, seed: int | None, v0: np.ndarray) -> list[np.ndarray]:
    """The K starting joint vectors (see module docstring); the first is ``v0``."""
    d = model.data()
    rng = np.random.default_rng(seed)
    lb, ub = d.lb, d.ub
    both = np.isfinite(lb) & np.isfinite(ub)
    only_lo = np.isfinite(lb) & ~np.isfinite(ub)
    only_hi = ~np.isfinite(lb) & np.isfinite(ub)
    s = np.maximum(1.0, np.abs(v0))
    out = [np.asarray(v0, float).copy()]
    for _ in range(1, K):
        v = v0 + s * rng.standard_normal(v0.size)
        v[both] = rng.uniform(lb[both], ub[both])
        base_lo = np.maximum(v0, lb)
        base_hi = np.minimum(v0, ub)
        v[only_lo] = base_lo[only_lo] + np.abs(s[only_lo] * rng.standard_normal(int(only_lo.sum())))
        v[only_hi] = base_hi[only_hi] - np.abs(s[only_hi] * rng.standard_normal(int(only_hi.sum())))
        out.append(v)
    return out


def _score(res, sense: int) -> tuple[int, float]:
    """(0, F) for a bilevel-feasible answer, (1, violation) otherwise: the smaller the better."""
    k = dict(res.kkt) if getattr(res, "kkt", None) is not None else {}
    F = getattr(res, "upper_objective", None)
    if res.primal_status == PrimalStatus.FEASIBLE and F is not None and math.isfinite(F):
        return 0, sense * F
    feas = k.get("feasibility_rel")
    gap = k.get("lower_gap_rel")
    viol = max(math.inf if feas is None else float(feas), math.inf if gap is None else float(gap))
    return 1, viol


def run(model, solve_one: Callable[[np.ndarray], Any], K: int, seed: int | None,
        v0: np.ndarray, time_limit: float | None = None) -> Any:
    """Run ``solve_one(start)`` from each of :func:`starts` (stopping early at ``time_limit``) and
    return the best answer (see module docstring) with ``extra["multistart"]``: starts run, seed,
    number bilevel-feasible, each start's F, lower gap and primal status, the chosen index."""
    t0 = time.perf_counter()
    results: list[Any] = []
    for j, v in enumerate(starts(model, K, seed, v0)):
        if time_limit is not None and j > 0 and time.perf_counter() - t0 > time_limit:
            break
        res = solve_one(v)
        results.append(res)
    scores = [_score(r, model.upper.sense) for r in results]
    best = min(range(len(results)), key=lambda i: scores[i])
    out = results[best]
    out.extra["multistart"] = {
        "starts": len(results), "requested": K, "seed": seed,
        "feasible": sum(1 for s in scores if s[0] == 0),
        "objectives": [getattr(r, "upper_objective", None) for r in results],
        "lower_gaps": [getattr(r, "lower_gap", None) for r in results],
        "primal_status": [str(r.primal_status) for r in results],
        "iterations": [r.iterations for r in results],
        "chosen": best,
    }
    out.iterations = int(sum(r.iterations or 0 for r in results))
    out.timings["multistart_total"] = time.perf_counter() - t0
    return out
