"""``ParetoResult``: the front found by a multiobjective method.

``X`` (k×n) and ``F`` (k×m, user units: a maximised objective is reported as its value) hold the
nondominated, feasible points only; ``status[i]`` and ``params[i]`` say how point i was produced
(termination of its subproblem and the scalarisation parameters). ``archive`` keeps every feasible
point evaluated as a solution (dominated ones too). ``complete`` is False whenever the method was
cut short (budget, time, max_points) or a subproblem failed; ``reasons`` says why.
Indicators work in minimisation units (G = s ⊙ F) internally, so they are right for any sense.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import indicators as ind


@dataclass
class ParetoResult:
    """Outcome of a Pareto-front search (see module docstring)."""

    X: np.ndarray
    F: np.ndarray
    status: list = field(default_factory=list)
    params: list = field(default_factory=list)
    method: str = ""
    names: list = field(default_factory=list)
    senses: np.ndarray | None = None
    ideal: np.ndarray | None = None
    nadir: np.ndarray | None = None
    payoff: np.ndarray | None = None
    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    seed: int | None = None
    complete: bool = True
    reasons: list = field(default_factory=list)
    archive: dict = field(default_factory=dict)
    subproblems: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    solver: str = ""
    solver_version: str = ""
    message: str = ""

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return int(self.F.shape[0])

    @property
    def evaluations(self) -> dict:
        """Alias of ``counts`` (the name single-objective results use)."""
        return self.counts

    @property
    def G(self) -> np.ndarray:
        """F in minimisation units."""
        s = np.ones(self.F.shape[1]) if self.senses is None else self.senses
        return self.F * s

    def _min_units(self, R) -> np.ndarray:
        s = np.ones(self.F.shape[1]) if self.senses is None else self.senses
        return np.atleast_2d(np.asarray(R, float)) * s

    def is_solved(self) -> bool:
        """True when the front is nonempty and complete."""
        return self.complete and len(self) > 0

    # ------------------------------------------------------------------ Result-like view
    @property
    def termination(self):
        """OPTIMAL for a complete nonempty front; otherwise the limit that cut it short
        (EVALUATION_LIMIT, TIME_LIMIT, ITERATION_LIMIT for max_points) or NUMERICAL_ERROR
        (failed subproblems); INFEASIBLE for an empty complete front."""
        from ..status import Termination

        if self.complete:
            return Termination.OPTIMAL if len(self) else Termination.INFEASIBLE
        text = " ".join(self.reasons)
        if "max_evals" in text:
            return Termination.EVALUATION_LIMIT
        if "time_limit" in text:
            return Termination.TIME_LIMIT
        if "max_points" in text:
            return Termination.ITERATION_LIMIT
        return Termination.NUMERICAL_ERROR

    @property
    def primal_status(self):
        """FEASIBLE when the front has points (every point is feasible), else NO_SOLUTION."""
        from ..status import PrimalStatus

        return PrimalStatus.FEASIBLE if len(self) else PrimalStatus.NO_SOLUTION

    @property
    def objective(self):
        """A front has no single objective value (None); see F."""
        return None

    @property
    def iterations(self) -> int:
        """Number of subproblems solved."""
        return int(self.counts.get("subproblems", 0))

    def to_dict(self, arrays: bool = False) -> dict:
        """A JSON-ready summary (with F and X when ``arrays``)."""
        out = {"termination": str(self.termination), "primal_status": str(self.primal_status),
               "solver": self.solver, "solver_version": self.solver_version,
               "message": self.message, **self.summary()}
        if arrays:
            out["F"] = self.F.tolist()
            out["X"] = self.X.tolist()
        return out

    # ------------------------------------------------------------------ indicators
    def hypervolume(self, ref=None, normalise: bool = False) -> float:
        """Hypervolume w.r.t. ``ref`` (user units). ``normalise=True`` maps objectives by this
        result's ideal/nadir first and uses ref 1.1 by default."""
        G = self.G
        if normalise:
            ideal, nadir = self._min_units(self.ideal)[0], self._min_units(self.nadir)[0]
            lo, hi = np.minimum(ideal, nadir), np.maximum(ideal, nadir)
            r = np.full(G.shape[1], 1.1) if ref is None else np.asarray(ref, float)
            return ind.hypervolume(ind.normalise(G, lo, hi), r)
        if ref is None:
            raise ValueError("hypervolume needs a reference point ref (or normalise=True)")
        return ind.hypervolume(G, self._min_units(ref)[0])

    def normalised_hypervolume(self, reference_front, ref: float = 1.1) -> float:
        """HV after normalising by the reference front's ideal/nadir, reference point 1.1."""
        return ind.normalised_hypervolume(self.G, self._min_units(reference_front), ref)

    def igd(self, reference_front) -> float:
        """IGD to a reference front (user units)."""
        return ind.igd(self.G, self._min_units(reference_front))

    def igd_plus(self, reference_front) -> float:
        """IGD⁺ to a reference front (user units)."""
        return ind.igd_plus(self.G, self._min_units(reference_front))

    def epsilon(self, reference_front) -> float:
        """Additive ε indicator to a reference front (user units)."""
        return ind.epsilon_additive(self.G, self._min_units(reference_front))

    def sparsity(self, normalise: bool = True) -> float:
        """C-MORL sparsity, by default after normalising with ideal/nadir."""
        G = self.G
        by = None
        if normalise and self.ideal is not None and self.nadir is not None:
            a, b = self._min_units(self.ideal)[0], self._min_units(self.nadir)[0]
            by = (np.minimum(a, b), np.maximum(a, b))
        return ind.sparsity(G, by)

    # ------------------------------------------------------------------ export
    def to_dataframe(self):
        """One row per front point: objectives by name, status, parameters, x."""
        import pandas as pd

        df = pd.DataFrame(self.F, columns=self.names or [f"f{i+1}" for i in range(self.F.shape[1])])
        df["status"] = self.status if len(self.status) == len(df) else None
        df["params"] = [dict(p) for p in self.params] if len(self.params) == len(df) else None
        df["x"] = list(self.X)
        return df

    def summary(self) -> dict:
        """A JSON-ready summary."""
        return {"method": self.method, "points": len(self), "complete": self.complete,
                "reasons": list(self.reasons), "counts": dict(self.counts),
                "timings": dict(self.timings), "seed": self.seed,
                "ideal": None if self.ideal is None else self.ideal.tolist(),
                "nadir": None if self.nadir is None else self.nadir.tolist()}

    # ------------------------------------------------------------------ plots
    def plot(self, reference=None, ax=None, path=None, title: str | None = None, **kw: Any):
        """2-D or 3-D scatter of the front (with an optional reference front); returns the axes."""
        from .plots import plot_front

        return plot_front(self, reference=reference, ax=ax, path=path, title=title, **kw)

    def plot_parallel(self, ax=None, path=None):
        """Parallel-coordinates plot of the front (normalised columns)."""
        from .plots import plot_parallel

        return plot_parallel(self, ax=ax, path=path)

    def __repr__(self) -> str:
        c = self.counts
        return (f"ParetoResult(method={self.method!r}, points={len(self)}, complete={self.complete}"
                f", evaluations={c.get('evaluations')}, subproblems={c.get('subproblems')}"
                + (f", reasons={self.reasons}" if self.reasons else "") + ")")
