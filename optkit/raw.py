"""What a backend hands back: a raw solution record, before optkit has judged it.

A backend's ``solve_linear`` / ``solve_nlp`` returns a :class:`RawSolution` in *form coordinates*
(the compiled LinearForm/NLPForm, minimisation units). It carries the solver's claim — the native
status ``status`` (a key of the backend's declared ``STATUS_MAP``, or an optkit
:class:`~optkit.status.Termination` for native methods whose statuses are optkit's own) — and the
point: x, row multipliers y under L = f + yᵀc (y ≥ 0 on an active upper row bound, ≤ 0 on an
active lower one), optional bound multipliers z (same sign rule for lb <= x <= ub), and counters
by kind. :func:`optkit.finish.finish` turns it into a :class:`~optkit.results.Result`: maps the
status, measures KKT residuals and scaled feasibility itself, and decides the verdict.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: the fields of one per-iteration record, for every backend that reports history
HISTORY_FIELDS = ("iteration", "objective", "primal_infeasibility", "dual_infeasibility",
                  "evaluations", "time")


def iteration_record(iteration: int, objective: float | None = None,
                     primal_infeasibility: float | None = None,
                     dual_infeasibility: float | None = None, evaluations: int | None = None,
                     time: float | None = None, **extra: Any) -> dict:
    """One history entry in the shared schema (:data:`HISTORY_FIELDS`), plus method-specific keys.

    ``time`` is seconds since the solve started; ``evaluations`` the oracle calls so far.
    """
    rec = {"iteration": int(iteration), "objective": objective,
           "primal_infeasibility": primal_infeasibility, "dual_infeasibility": dual_infeasibility,
           "evaluations": evaluations, "time": time}
    rec.update(extra)
    return rec


@dataclass
class RawSolution:
    """A solver's answer in form coordinates (see module docstring)."""

    status: Any                                   # native status key, or an optkit Termination
    status_text: str = ""                         # the solver's own words for it
    x: np.ndarray | None = None
    y: np.ndarray | None = None                   # row multipliers, L = f + yᵀc
    z: np.ndarray | None = None                   # bound multipliers (optional)
    objective: float | None = None                # the solver's claimed objective (form units)
    iterations: int | None = None                 # iterations of the main algorithm
    nodes: int | None = None                      # branch-and-bound nodes (MIP)
    evaluations: dict = field(default_factory=dict)
    mip_gap: float | None = None                  # relative gap the solver reports (MIP)
    dual_bound: float | None = None               # best bound (MIP), form units
    history: list[dict] | None = None             # iteration_record(...) entries
    message: str = ""
    extra: dict = field(default_factory=dict)
