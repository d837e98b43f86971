"""The result contract shared by every backend (scipy's OptimizeResult meets MathOptInterface).

``termination`` says why the solver stopped — the solver's claim, mapped through the backend's
declared status table — and ``primal_status`` what the point is, as optkit measured it.
``verified`` is optkit's verdict on a claim of (local) optimality: True when its own measurement
(scaled feasibility, integrality, KKT residuals; :mod:`optkit.verify`) agrees, False when it
contradicts the claim (``message`` says which residual failed by how much), None when nothing was
claimed or nothing could be measured. ``is_solved()`` needs both the claim and ``verified``.
``iterations`` counts the main algorithm's iterations, ``nodes`` branch-and-bound nodes;
``native_status``/``native_status_text`` keep the solver's own status; ``mip_gap`` is the solver's
relative gap and ``dual_bound`` its best bound, in user units like ``objective``. ``objective`` is
in user units (a maximisation is reported as a maximum). ``y`` are the multipliers of the compiled
form's rows under L = f + yᵀc (see :mod:`optkit.ir`); ``dual(constraint)`` gives them per user
constraint in cvxpy's sign convention. ``kkt`` holds residuals measured by optkit (see
:mod:`optkit.kkt`). A non-optimal outcome never raises unless ``raise_if_not_solved()`` is called.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import numpy as np

from .errors import NotSolvedError
from .status import PrimalStatus, Termination
from .verify import KKTReport


@dataclass
class Result:
    """Outcome of one solve."""

    termination: Termination
    primal_status: PrimalStatus = PrimalStatus.NO_SOLUTION
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    objective: float | None = None
    z: np.ndarray | None = None  # bound multipliers (L = f + yᵀc + zᵀx), when the solver gave them
    kkt: KKTReport = field(default_factory=KKTReport)
    iterations: int | None = None
    verified: bool | None = None
    nodes: int | None = None
    native_status: str = ""
    native_status_text: str = ""
    mip_gap: float | None = None
    dual_bound: float | None = None
    evaluations: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    solver: str = ""
    solver_version: str = ""
    message: str = ""
    history: list[dict] | None = None
    extra: dict = field(default_factory=dict)
    # bound by optkit.solve: maps user variables/constraints to the flat x and y
    _values: Callable[[Any], Any] | None = field(default=None, repr=False)
    _duals: Callable[[Any], Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.kkt, KKTReport):
            self.kkt = KKTReport(dict(self.kkt or {}))

    def is_solved(self, strict: bool = False) -> bool:
        """True when the solver claims (local) optimality **and** optkit's measurement agrees.

        An "almost" claim (ALMOST_OPTIMAL, ALMOST_LOCALLY_OPTIMAL: a solver's inaccurate or
        acceptable optimum) counts when optkit verified the point to the requested tolerances,
        unless ``strict``.
        """
        claim = (self.termination.is_success if strict else self.termination.claims_optimality)
        return bool(claim and self.verified is True
                    and self.primal_status in (PrimalStatus.FEASIBLE, PrimalStatus.NEARLY_FEASIBLE))

    def raise_if_not_solved(self) -> Result:
        """Raise :class:`NotSolvedError` unless ``is_solved()``; returns self for chaining."""
        if not self.is_solved():
            verdict = "" if self.verified is None else f", verified={self.verified}"
            raise NotSolvedError(f"{self.solver}: {self.termination} ({self.primal_status}"
                                 f"{verdict}): {self.message}")
        return self

    def value(self, variable) -> Any:
        """The value of a user variable (cvxpy Variable) at the returned point."""
        if self._values is None:
            if isinstance(variable, (int, slice, np.ndarray, list)):
                return None if self.x is None else self.x[variable]
            raise TypeError("this result has no variable mapping; index x directly")
        return self._values(variable)

    def dual(self, constraint) -> Any:
        """The multiplier of a user constraint (cvxpy sign convention: ≥ 0 for inequalities)."""
        if self._duals is None:
            if isinstance(constraint, (int, slice, np.ndarray, list)):
                return None if self.y is None else self.y[constraint]
            raise TypeError("this result has no constraint mapping; index y directly")
        return self._duals(constraint)

    @property
    def kkt_residual(self) -> float | None:
        """The overall KKT residual (∞-norm), or None when not measured."""
        return self.kkt.get("kkt")

    def to_dict(self, arrays: bool = False) -> dict:
        """A JSON-ready summary (arrays only when asked)."""
        out = {
            "termination": str(self.termination), "primal_status": str(self.primal_status),
            "objective": self.objective, "kkt": self.kkt.to_dict(), "verified": self.verified,
            "iterations": self.iterations, "nodes": self.nodes,
            "evaluations": self.evaluations, "timings": self.timings, "solver": self.solver,
            "solver_version": self.solver_version, "message": self.message,
            "native_status": self.native_status, "native_status_text": self.native_status_text,
            "mip_gap": self.mip_gap, "dual_bound": self.dual_bound,
        }
        if arrays:
            out["x"] = None if self.x is None else np.asarray(self.x).tolist()
            out["y"] = None if self.y is None else np.asarray(self.y).tolist()
        return json.loads(json.dumps(out, default=_jsonable))

    def to_dataframe(self):
        """A one-row pandas DataFrame: the fields of ``to_dict()``, KKT measures as
        ``kkt_<name>``, timings as ``time_<phase>`` (needs the ``data`` extra)."""
        from .notebook import result_frame

        return result_frame(self)

    def _repr_html_(self) -> str:
        """Jupyter's view: an autoescaped HTML summary (:mod:`optkit.notebook`)."""
        from .notebook import result_html

        return result_html(self)

    def __repr__(self) -> str:
        kkt = self.kkt.get("kkt")
        kkt_s = f"{kkt:.2e}" if isinstance(kkt, float) else "n/a"
        obj = f"{self.objective:.10g}" if self.objective is not None else "n/a"
        return (f"Result(solver={self.solver!r}, termination={self.termination}, "
                f"primal_status={self.primal_status}, verified={self.verified}, "
                f"objective={obj}, kkt={kkt_s}, iterations={self.iterations})")


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
