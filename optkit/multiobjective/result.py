"""``ParetoResult``: the front found by a multiobjective method — a :class:`~optkit.results.Result`.

``X`` (k×n) and ``F`` (k×m, user units: a maximised objective is reported as its value) hold the
nondominated, feasible points only; ``status[i]`` and ``params[i]`` say how point i was produced
(termination of its subproblem and the scalarisation parameters). ``archive`` keeps every feasible
point evaluated as a solution (dominated ones too). ``complete`` is False whenever the method was
cut short (budget, time, max_points) or a subproblem failed; ``reasons`` says why.
Indicators work in minimisation units (G = s ⊙ F) internally, so they are right for any sense.

The Result fields mean, for a front:

- ``termination``: OPTIMAL for a complete nonempty front (every planned subproblem answered);
  INFEASIBLE for a complete empty one; otherwise what cut it short — EVALUATION_LIMIT
  (max_evals), TIME_LIMIT, SOLUTION_LIMIT (max_points), NUMERICAL_ERROR (failed subproblems),
  OTHER_LIMIT (the method's own limit, e.g. dichotomy on a MILP finds supported points only). A
  heuristic method (NSGA-II) never claims optimality: EVALUATION_LIMIT when it spent its budget.
- ``kkt``: what optkit measured per point — ``points``, ``feasibility_rel`` (the largest scaled
  violation over the front, :meth:`MultiObjective.scaled_violation`), ``verified_points`` (points
  within feas_tol), ``verified_subproblems`` (points whose inner solve optkit itself verified:
  ``ok.solve`` inner backends; None for SLSQP called directly and heuristic points),
  ``subproblems``/``failed_subproblems``; ``not_measured``: Pareto criticality of the points.
- ``primal_status``: FEASIBLE when every point is within feas_tol (NEARLY_FEASIBLE within 100×),
  NO_SOLUTION for an empty front.
- ``verified`` (for an OPTIMAL claim): True when the front has at least one point and every point
  was measured feasible within feas_tol with finite objectives; False when a check fails; None
  when some point carries no measurement (a front built by hand without ``violations``).

So ``is_solved()`` (the core's rule) means: a complete sweep, at least one point, every point
verified feasible. ``iterations`` is the number of subproblems, ``evaluations`` the same dict as
``counts``, ``history`` one :func:`optkit.raw.iteration_record` per subproblem.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..results import Result
from ..status import PrimalStatus, Termination
from ..verify import KKTReport, Tolerances
from . import indicators as ind

_NOT_CRITICALITY = ("front points are not checked for Pareto criticality; each subproblem's own "
                    "verdict is counted in verified_subproblems")


@dataclass(repr=False)
class ParetoResult(Result):
    """Outcome of a Pareto-front search (see module docstring)."""

    termination: Termination = None  # type: ignore[assignment]  # None: derived from complete/reasons
    X: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    F: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    status: list = field(default_factory=list)
    params: list = field(default_factory=list)
    method: str = ""
    names: list = field(default_factory=list)
    senses: np.ndarray | None = None
    ideal: np.ndarray | None = None
    nadir: np.ndarray | None = None
    payoff: np.ndarray | None = None
    counts: dict = field(default_factory=dict)
    seed: int | None = None
    complete: bool = True
    reasons: list = field(default_factory=list)
    archive: dict = field(default_factory=dict)
    subproblems: list = field(default_factory=list)
    violations: np.ndarray | None = None        # per front point: scaled violation (measured)
    inner_verified: list | None = None          # per front point: the inner solve's verdict
    heuristic: bool = False                     # a method without an optimality claim
    tolerances: Tolerances | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.F = np.asarray(self.F, float)
        self.X = np.asarray(self.X, float)
        if self.F.ndim == 1:
            self.F = self.F.reshape(-1, 1) if self.F.size else np.zeros((0, 0))
        if self.counts and not self.evaluations:
            self.evaluations = self.counts  # one dict under both names
        elif self.evaluations and not self.counts:
            self.counts = self.evaluations
        self.judge(keep_termination=self.termination is not None)

    # ------------------------------------------------------------------ verdict
    def _derived_termination(self) -> Termination:
        if self.complete:
            if self.heuristic:
                return Termination.EVALUATION_LIMIT
            return Termination.OPTIMAL if len(self) else Termination.INFEASIBLE
        text = " ".join(self.reasons)
        if "max_evals" in text:
            return Termination.EVALUATION_LIMIT
        if "time_limit" in text:
            return Termination.TIME_LIMIT
        if "max_points" in text:
            return Termination.SOLUTION_LIMIT
        if "supported" in text:
            return Termination.OTHER_LIMIT
        return Termination.NUMERICAL_ERROR

    def judge(self, tolerances: Tolerances | None = None, keep_termination: bool = False
              ) -> ParetoResult:
        """(Re)compute termination, kkt, primal_status, verified and iterations from the front
        and the per-point measurements (see module docstring); returns self."""
        tol = tolerances or self.tolerances or Tolerances()
        self.tolerances = tol
        if not keep_termination or self.termination is None:
            self.termination = self._derived_termination()
        k = len(self)
        values: dict[str, Any] = {"points": k, "complete": bool(self.complete),
                                  "subproblems": int(self.counts.get("subproblems", 0)),
                                  "failed_subproblems": int(self.counts.get("failed_subproblems", 0))}
        not_measured = {"stationarity": _NOT_CRITICALITY, "complementarity": _NOT_CRITICALITY}
        viol = None if self.violations is None else np.asarray(self.violations, float)
        finite_F = bool(np.all(np.isfinite(self.F))) if k else True
        if k and viol is not None and viol.size == k and not np.all(np.isnan(viol)):
            measured = ~np.isnan(viol)  # NaN: a point archived without a measurement
            worst_i = int(np.flatnonzero(measured)[np.argmax(viol[measured])])
            worst = float(viol[worst_i])
            values["feasibility_rel"] = worst
            values["verified_points"] = int(np.sum(viol[measured] <= tol.feas))
            if worst > 0:
                values["worst"] = f"front point {worst_i}"
            if not np.all(measured):
                not_measured["feasibility_rel"] = (f"{int(np.sum(~measured))} point(s) were "
                                                   "archived without a measured violation")
        elif k:
            not_measured["feasibility_rel"] = "per-point violations were not recorded"
        else:
            not_measured["feasibility_rel"] = "the front has no point"
        if self.inner_verified is not None and len(self.inner_verified) == k:
            measured = [v for v in self.inner_verified if v is not None]
            values["verified_subproblems"] = int(sum(bool(v) for v in measured))
            if len(measured) < k:
                not_measured["verified_subproblems"] = (
                    f"{k - len(measured)} point(s) come from solves optkit did not verify "
                    "(SLSQP called directly, heuristic or descent points)")
        self.kkt = KKTReport(values, not_measured)
        feas = values.get("feasibility_rel")
        if k == 0:
            self.primal_status = PrimalStatus.NO_SOLUTION
        elif feas is None:
            self.primal_status = PrimalStatus.FEASIBLE if finite_F else PrimalStatus.INFEASIBLE
        elif feas <= tol.feas and finite_F:
            self.primal_status = PrimalStatus.FEASIBLE
        elif feas <= 100 * tol.feas and finite_F:
            self.primal_status = PrimalStatus.NEARLY_FEASIBLE
        else:
            self.primal_status = PrimalStatus.INFEASIBLE
        self.iterations = int(self.counts.get("subproblems", 0))
        if self.termination.claims_optimality:
            failures = []
            if k == 0:
                failures.append("the front has no point")
            if not finite_F:
                failures.append("a front point has a non-finite objective value")
            if feas is not None and not feas <= tol.feas:
                failures.append(f"scaled violation {feas:.3g} at {values.get('worst', '?')} "
                                f"> {tol.feas:.0e}")
            unmeasured = "feasibility_rel" in not_measured and k > 0
            self.verified = False if failures else (None if unmeasured else True)
            if failures:
                note = "optkit's measurement contradicts the claim OPTIMAL: " + "; ".join(failures)
                self.message = f"{self.message} [{note}]" if self.message else note
        else:
            self.verified = None
        return self

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return int(self.F.shape[0])

    @property
    def G(self) -> np.ndarray:
        """F in minimisation units."""
        s = np.ones(self.F.shape[1]) if self.senses is None else self.senses
        return self.F * s

    def _min_units(self, R) -> np.ndarray:
        s = np.ones(self.F.shape[1]) if self.senses is None else self.senses
        return np.atleast_2d(np.asarray(R, float)) * s

    def to_dict(self, arrays: bool = False) -> dict:
        """Result.to_dict plus the front's summary (with F and X when ``arrays``)."""
        out = super().to_dict(arrays=False)
        out.update(self.summary())
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
        """One row per front point: objectives by name, status, parameters, x (needs the
        ``data`` extra)."""
        from ..notebook import pareto_frame

        return pareto_frame(self)

    def _repr_html_(self) -> str:
        """Jupyter's view: the front's summary and first points (:mod:`optkit.notebook`)."""
        from ..notebook import pareto_html

        return pareto_html(self)

    def summary(self) -> dict:
        """A JSON-ready summary."""
        return {"method": self.method, "points": len(self), "complete": self.complete,
                "reasons": list(self.reasons), "counts": dict(self.counts),
                "timings": dict(self.timings), "seed": self.seed,
                "ideal": None if self.ideal is None else np.asarray(self.ideal).tolist(),
                "nadir": None if self.nadir is None else np.asarray(self.nadir).tolist()}

    # ------------------------------------------------------------------ plots
    def plot(self, reference=None, ax=None, path=None, title: str | None = None, **kw: Any):
        """2-D or 3-D scatter of the front (with an optional reference front); returns the
        matplotlib Figure (see :mod:`optkit.multiobjective.plots`)."""
        from .plots import plot_front

        return plot_front(self, reference=reference, ax=ax, path=path, title=title, **kw)

    def plot_parallel(self, ax=None, path=None):
        """Parallel-coordinates plot of the front (normalised columns); returns the Figure."""
        from .plots import plot_parallel

        return plot_parallel(self, ax=ax, path=path)

    def __repr__(self) -> str:
        c = self.counts
        return (f"ParetoResult(method={self.method!r}, points={len(self)}, complete={self.complete}"
                f", termination={self.termination}, verified={self.verified}"
                f", evaluations={c.get('evaluations')}, subproblems={c.get('subproblems')}"
                + (f", reasons={self.reasons}" if self.reasons else "") + ")")
