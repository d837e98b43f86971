"""Pareto-front backends built on scalarisations (methods/pareto.md).

Each method turns an ``ok.MultiObjective`` into a sequence of ordinary single-objective
subproblems (``optkit.multiobjective.scalarize``), solved by the backend named in option ``inner``
or, by default, by the backend the registry ranks first for the subproblem's class among those
declaring the ``inner-solver`` capability (``integer`` too for MILP subproblems); scipy's SLSQP
called directly (``inner="slsqp"``) when no NLP backend is installed. Normalisation: Ĝ = (G − z*)/(z^nad − z*) with z*,
z^nad from the payoff table of the m anchor solves (min G_i + ρ Σ_{j≠i} G_j), unless the model
gives ideal/nadir/scale.

* ``weighted-sum``: min wᵀĜ over a simplex lattice of weights (supported points only).
* ``epsilon-constraint``: augmented ε-constraint (AUGMECON in minimisation form):
  min Ĝ_k + ρ Σ_{j≠k} Ĝ_j s.t. Ĝ_j ≤ ε_j — equivalent to min Ĝ_k − ρ Σ s_j, Ĝ_j + s_j = ε_j,
  s ≥ 0 up to a constant; the ρ term makes every solution efficient, not only weakly.
* ``pascoletti-serafini``: min t s.t. Ĝ(x) − t r ≤ a with a on the unit simplex and r = 1.
* ``nbi``: max t s.t. Φβ + t n̂ = Ĝ(x), Φ the normalised payoff matrix, n̂ = −Φ1/‖Φ1‖.
* ``gap-fill``: a Pascoletti–Serafini start, then C-MORL gap filling: pick the k points of largest
  crowding distance, for each l solve min Ĝ_l s.t. Ĝ_j ≤ Ĝ_j(x_r) + δ (j ≠ l), warm-started at x_r.
* ``mo-descent``: Fliege–Svaiter steepest descent from several starts: d solves
  min_{d,τ} τ + ½‖d‖² s.t. ∇Ĝ_i d ≤ τ, lb ≤ x + d ≤ ub (for free x: d = −Σλ_i∇Ĝ_i with λ the
  min-norm element of conv{∇Ĝ_i}); Armijo steps Ĝ(x+αd) ≤ Ĝ(x) + σα∇Ĝ d componentwise.

Parameter sweeps are visited in farthest-point order, so a run cut short by the budget still
leaves an evenly spread (coarser) front; each subproblem is warm-started at the solution of the
nearest parameter already solved.
"""
from __future__ import annotations

import numpy as np

import math

from optkit.backend import Backend
from optkit.errors import UnsupportedProblemError
from optkit.multiobjective.indicators import crowding_distance, nondominated_mask
from optkit.multiobjective.scalarize import (Run, Scalarization, simplex_points, single_thread,
                                             iter_spread_order, spread_order)
from optkit.multiobjective.scalarize import INFEASIBLE, anchor_entries
from optkit.options import Option, SolveOptions
from optkit.raw import iteration_record
from optkit.status import Termination


def _finite(low: float = 0.0, strict: bool = False, none_ok: bool = False):
    """Predicate for a numeric option: a finite number ≥ low (> low when strict), or None."""
    def check(v) -> bool:
        if v is None:
            return none_ok
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            return False
        return math.isfinite(v) and (v > low if strict else v >= low)
    return check


#: options of every sweep method (feas_tol, like tol, is a common option of ok.solve)
COMMON = {"points": 25, "inner": None, "inner_max_iter": None, "max_evals": None,
          "max_points": None, "anchor_starts": None, "inner_max_evals": None}


class _ParetoBackend(Backend):
    accepts = frozenset({"multiobjective"})
    requires = ("moocore",)
    extra = "moo"  # pip extra that brings `requires` (docs/install.md)
    options = dict(COMMON)

    def version(self) -> str:
        import optkit

        return optkit.__version__

    def solve_model(self, model, options: SolveOptions):
        """Run the method with BLAS limited to one thread: the subproblems are small and dense,
        and threaded BLAS on a busy machine made each SLSQP iteration ~10× slower."""
        return empty_feasible_set(single_thread(self._solve, model, options))

    def _points(self, run: Run, options: SolveOptions) -> int:
        p = options.get("points")
        if not isinstance(p, (int, np.integer)) or p < 1:
            from optkit.errors import OptionError

            raise OptionError(f"points must be a positive integer, got {p!r}")
        return int(p)


def empty_feasible_set(res):
    """INFEASIBLE, not a failed sweep, when no point was archived and the anchor subproblems
    (min G_i + ρ Σ_{j≠i} G_j over the model's own constraints, no scalarisation row) say the
    feasible set is empty: INFEASIBLE when every anchor reports INFEASIBLE (a proof: they share
    the model's feasible set), LOCALLY_INFEASIBLE when at least one reports (locally)
    infeasible and none found a feasible point (a local solver's claim)."""
    log = getattr(res, "subproblems", None) or []
    archive = getattr(res, "archive", None) or {}
    anchors = anchor_entries(log)
    infeasible = [e for e in anchors if e.get("status") in INFEASIBLE]
    if len(res) or len(archive.get("X", ())) or not infeasible:
        return res
    first = infeasible[0]
    proven = len(infeasible) == len(anchors) and all(e["status"] == "INFEASIBLE" for e in anchors)
    res.termination = Termination.INFEASIBLE if proven else Termination.LOCALLY_INFEASIBLE
    res.message = (f"the model's constraints {'are' if proven else 'appear'} infeasible: "
                   f"{len(infeasible)} of "
                   f"{len(anchors)} anchor subproblems (min G_i + ρ·Σ G_j subject to the "
                   f"model's constraints only) report {first['status']}, e.g. {first['params']}"
                   + (f": {first.get('message')}" if first.get("message") else "")
                   + ("" if proven else "; no subproblem found a feasible point"))
    return res


def _sweep(run: Run, params: np.ndarray, make, order=None, expect_infeasible=False, retry=None,
           ray=None, polish=None):
    """Solve make(p) for each parameter p (spread order, warm start at the nearest solved p).

    ``retry(p, sub)`` → True asks for a second, cold start (from a random point of the box when
    it is bounded, else the model's x0) when the warm-started solution looks like a spurious
    stationary point; the better of the two (smaller t, or objective) is kept as warm start.
    ``ray(p)`` → (a, r): warm-start instead at the archived nondominated point whose normalised
    objective vector lies nearest the ray a + t·r (Pascoletti–Serafini).
    ``polish(p, sub)`` → True adds a second stage that makes a weakly efficient point efficient.
    """
    rng = np.random.default_rng(run.seed)
    left = len(params) if order is None else len(order)
    order = iter_spread_order(params) if order is None else order
    solved_p, solved_x = [], []
    for idx in order:
        if run.exhausted():
            break
        p = params[idx]
        x0 = None
        if ray is not None and run.X:
            x0 = _nearest_to_ray(run, *ray(p))
        elif solved_p:
            j = int(np.argmin(np.linalg.norm(np.asarray(solved_p) - p, axis=1)))
            x0 = solved_x[j]
        scal, t0fun, meta = make(p)
        t0 = t0fun(x0) if t0fun is not None else None
        failed0, nreasons0 = run.failed, len(run.reasons)
        sub = run.solve(scal, x0, t0, meta, expect_infeasible=expect_infeasible, record=False)
        left -= 1
        if sub is None:
            left += 1
            break
        bad = sub.x is None or not sub.ok or not sub.feasible
        if retry is not None and (bad or retry(p, sub)) and not run.exhausted():
            xc = _cold_start(run, rng)
            sub2 = run.solve(scal, xc, t0fun(xc) if t0fun is not None else None,
                             {**meta, "restart": True}, expect_infeasible=expect_infeasible,
                             record=False)
            if sub2 is not None and sub2.x is not None and sub2.feasible and (
                    bad or _value(run, scal, sub2) < _value(run, scal, sub)):
                if bad and sub2.ok and run.failed > failed0:
                    # the warm start failed but the cold start solved the subproblem: the
                    # parameter is answered, so the failure does not make the front incomplete
                    run.failed = failed0
                    del run.reasons[nreasons0:]
                    run.log[-2]["recovered"] = True
                sub = sub2
        if polish is not None and sub.x is not None and sub.feasible and polish(p, sub) \
                and not run.exhausted():
            # second stage: a Pareto improvement of a weakly efficient point,
            # min Σ Ĝ_i s.t. Ĝ(x) ≤ Ĝ(x_ps), warm-started at x_ps
            g0 = run.norm(sub.G)
            pol = run.solve(Scalarization(c=np.ones(run.m), A=np.eye(run.m), hi=g0 + 1e-9),
                            sub.x, None, {**meta, "polish": True}, record=False)
            if pol is not None and pol.x is not None and pol.feasible and \
                    np.all(run.norm(pol.G) <= g0 + 1e-7):
                sub = pol
                meta = {**meta, "polish": True}
        if sub.x is not None and sub.feasible:
            run.add_sub(sub, meta)
            solved_p.append(p)
            solved_x.append(sub.x)
    return left


def _ps_polish(run: Run, r: np.ndarray):
    """Polish a PS point when it has a slack row or its reference point lies outside the unit
    simplex (extended rays can only meet the front's boundary, where weakly efficient points
    with all rows active are common)."""
    slack = _ps_retry(run, r)
    return lambda a, sub: bool(np.any(a < 0)) or slack(a, sub)


def _extreme_starts(run: Run):
    """Archived points that are best in each objective (from an exploration phase), or None."""
    if not run.X:
        return None
    G = np.asarray(run.G)
    return [run.X[int(i)] for i in np.unique(np.argmin(G, axis=0))]


def _nearest_to_ray(run: Run, a: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The archived nondominated x whose Ĝ is nearest the line a + t r (after an exploration
    phase: the explored point nearest the line, which seeds every component of the front)."""
    G = np.asarray(run.G)
    pool = getattr(run, "explored", None)
    nd = np.asarray(pool) if pool else np.flatnonzero(nondominated_mask(G))
    D = run.norm(G[nd]) - a
    u = r / np.linalg.norm(r)
    perp = D - np.outer(D @ u, u)
    return run.X[nd[int(np.argmin(np.linalg.norm(perp, axis=1)))]]


def _explore(run: Run, options, model) -> None:
    """Optional exploration phase: NSGA-II for ``explore`` evaluations (counted), so that later
    subproblems can warm-start on every component of a disconnected front."""
    k = int(options.get("explore") or 0)
    if k > 0 and model.mode == "callback":
        from optkit.solvers.nsga2 import explore

        n0 = len(run.X)
        explore(model, run, k, 50, run.seed)
        run.explored = list(range(n0, len(run.X)))
        return run.explored
    return []


def _descend_explored(run: Run, idx: list, limit: int = 20) -> None:
    """Move the nondominated explored points onto the front: for each, solve the Pareto
    improvement min Σ Ĝ_i s.t. Ĝ(x) ≤ Ĝ(x_e), warm-started at x_e. This lands on every
    component of the front that the exploration population reached."""
    if not idx:
        return
    G = np.asarray([run.G[i] for i in idx])
    nd = [idx[i] for i in np.flatnonzero(nondominated_mask(G))]
    if len(nd) > limit:  # a spread subset, by farthest-point order in normalised objectives
        order = spread_order(run.norm(np.asarray([run.G[i] for i in nd])), limit=limit)
        nd = [nd[i] for i in order]
    for i in nd:
        if run.exhausted():
            return
        g0 = run.norm(run.G[i])
        run.solve(Scalarization(c=np.ones(run.m), A=np.eye(run.m), hi=g0), run.X[i], None,
                  {"improve_explored": i})


def _value(run: Run, scal: Scalarization, sub) -> float:
    """Objective value of a solved template: t when it has one, else cᵀĜ."""
    if sub.t is not None:
        return float(sub.t)
    return float(np.asarray(scal.c) @ run.norm(sub.G))


def _cold_start(run: Run, rng) -> np.ndarray | None:
    mdl = run.model
    if mdl.mode != "callback":
        return None
    lb, ub = mdl.lb, mdl.ub
    if np.all(np.isfinite(lb)) and np.all(np.isfinite(ub)):
        return lb + (ub - lb) * rng.random(mdl.n)
    return mdl.x0


def _ps_retry(run: Run, r: np.ndarray, tol: float = 1e-3):
    """A Pascoletti–Serafini solution with a slack row (Ĝ_i < a_i + t r_i) is only weakly
    efficient or a spurious stationary point: try a cold start too."""
    def retry(a, sub):
        if sub.t is None or sub.G is None:
            return False
        slack = a + sub.t * r - run.norm(sub.G)
        return bool(np.max(slack) > tol)
    return retry


def _extended_simplex(m: int, P: int, extend: float | None) -> np.ndarray:
    """Reference points on the hyperplane Σa = 1: the unit simplex for m = 2; for m ≥ 3 the
    simplex scaled by ``extend`` (default 1.5) about its centroid, so that rays a + t·1 also
    reach the edges of curved fronts (whose projection along 1 overhangs the simplex)."""
    A = simplex_points(m, P)
    s = (1.0 if m == 2 else 1.5) if extend is None else extend
    c = np.full(m, 1.0 / m)
    return c + s * (A - c)


def _start_t(run: Run, a: np.ndarray, r: np.ndarray):
    """t0 = max_i (Ĝ_i(x0) − a_i)/r_i, the smallest feasible t at the start point."""
    def t0(x0):
        mdl = run.model
        if mdl.mode != "callback":
            return None
        x = mdl.x0 if x0 is None else x0
        G = run.norm(mdl.values(x)[0])
        return float(np.max((G - a) / r))
    return t0


class WeightedSumBackend(_ParetoBackend):
    """min Σ w_i Ĝ_i over a lattice of weights (supported efficient points only)."""

    name = "weighted-sum"
    priority = {"multiobjective": 50}
    description = "weighted-sum scalarisation sweep (supported points; LP stays LP)"

    def _solve(self, model, options: SolveOptions):
        run = Run(model, options, self.name)
        P = self._points(run, options)
        run.anchors()
        W = model.weights if model.weights is not None else simplex_points(model.m, P)
        W = W / W.sum(axis=1, keepdims=True)
        left = _sweep(run, W, lambda w: (Scalarization(c=w), None, {"weights": w.tolist()}))
        return run.finish(left)


class EpsilonConstraintBackend(_ParetoBackend):
    """Augmented ε-constraint: min Ĝ_k + ρ Σ_{j≠k} Ĝ_j s.t. Ĝ_j ≤ ε_j."""

    name = "epsilon-constraint"
    description = "augmented epsilon-constraint sweep (every efficient point)"
    options = {**COMMON, "objective": 0,
               "rho": Option(1e-3, _finite(), "augmentation weight ρ ≥ 0 (finite)"),
               "restart": True}

    def _solve(self, model, options: SolveOptions):
        run = Run(model, options, self.name)
        P = self._points(run, options)
        m, k, rho = model.m, int(options.get("objective")), float(options.get("rho"))
        run.anchors()
        others = [j for j in range(m) if j != k]
        per = max(2, int(round(P ** (1.0 / (m - 1)))))
        grid = np.linspace(0.0, 1.0, per if m > 2 else P)
        E = np.array(np.meshgrid(*([grid] * (m - 1)), indexing="ij")).reshape(m - 1, -1).T
        c = np.full(m, rho)
        c[k] = 1.0
        A = np.eye(m)[others]

        def make(eps):
            return (Scalarization(c=c, A=A, hi=eps + 1e-9), None,
                    {"objective": k, "epsilon": (run.shift[others] + eps * run.scale[others]).tolist()})

        def retry(eps, sub):  # an inactive ε-row may be a spurious stationary point
            return sub.G is not None and bool(np.max(eps - run.norm(sub.G)[others]) > 1e-3)

        left = _sweep(run, E, make, expect_infeasible=m > 2,
                      retry=retry if options.get("restart") else None)
        return run.finish(left)


class PascolettiSerafiniBackend(_ParetoBackend):
    """min t s.t. Ĝ(x) − t r ≤ a, reference points a on the unit simplex, r = 1."""

    name = "pascoletti-serafini"
    priority = {"multiobjective": 100}
    description = "Pascoletti-Serafini reference-point sweep (any front shape)"
    options = {**COMMON, "restart": True,
               "extend": Option(None, _finite(strict=True, none_ok=True),
                                "scale of the reference simplex (> 0, finite) or None"),
               "explore": 0}

    def _solve(self, model, options: SolveOptions):
        run = Run(model, options, self.name)
        P = self._points(run, options)
        m = model.m
        _explore(run, options, model)
        run.anchors(starts_X=_extreme_starts(run))
        if model.reference is not None:  # user reference points (user units) → normalised
            Aref = run.norm(model.reference * model.senses)
        else:
            Aref = _extended_simplex(m, P, options.get("extend"))
        r = np.ones(m)

        def make(a):
            scal = Scalarization(c=np.zeros(m), ct=1.0, A=np.eye(m), at=-r, hi=a, has_t=True)
            return scal, _start_t(run, a, r), {"reference": a.tolist(), "direction": r.tolist()}

        left = _sweep(run, Aref, make, retry=_ps_retry(run, r) if options.get("restart") else None,
                      ray=lambda a: (a, r), polish=_ps_polish(run, r))
        return run.finish(left)


class NBIBackend(_ParetoBackend):
    """Normal boundary intersection: max t s.t. Φβ + t n̂ = Ĝ(x)."""

    name = "nbi"
    description = "normal boundary intersection (even spacing; may return dominated points, filtered)"

    def _solve(self, model, options: SolveOptions):
        run = Run(model, options, self.name)
        P = self._points(run, options)
        m = model.m
        run.anchors()
        if run.payoff is None or len(run.payoff) < m:
            return run.finish(P)
        Phi = run.norm(run.payoff).T  # column i: anchor i, normalised
        nhat = -Phi @ np.ones(m)
        nrm = np.linalg.norm(nhat)
        nhat = nhat / nrm if nrm > 0 else -np.ones(m) / np.sqrt(m)
        B = simplex_points(m, P)

        def make(beta):
            scal = Scalarization(c=np.zeros(m), ct=-1.0, A=np.eye(m), at=-nhat, lo=Phi @ beta,
                                 hi=Phi @ beta, has_t=True)
            return scal, (lambda x0: 0.0), {"beta": beta.tolist()}

        left = _sweep(run, B, make)
        return run.finish(left)


class GapFillBackend(_ParetoBackend):
    """C-MORL gap filling around the sparsest points, after a Pascoletti–Serafini start."""

    name = "gap-fill"
    description = "PS start + constrained gap filling at the sparsest points (C-MORL, additive slack)"
    options = {**COMMON, "initial": 11, "k": 4,
               "delta": Option(0.05, _finite(strict=True), "gap-filling slack δ > 0 (finite)"),
               "rounds": 1000, "explore": 0}

    def _solve(self, model, options: SolveOptions):
        run = Run(model, options, self.name)
        P = self._points(run, options)
        m = model.m
        k, delta = int(options.get("k")), float(options.get("delta"))
        explored = _explore(run, options, model)
        run.anchors(starts_X=_extreme_starts(run))
        _descend_explored(run, explored)
        A0 = simplex_points(m, int(options.get("initial")))
        r = np.ones(m)

        def make(a):
            scal = Scalarization(c=np.zeros(m), ct=1.0, A=np.eye(m), at=-r, hi=a, has_t=True)
            return scal, _start_t(run, a, r), {"reference": a.tolist()}

        left = _sweep(run, A0, make, retry=_ps_retry(run, r), ray=lambda a: (a, r),
                      polish=_ps_retry(run, r))
        extended: set = set()
        rounds = 0
        # warm-started extension subproblems converge in a few iterations; one that does not
        # (typically pushed into a gap of a disconnected front) is cut early
        if options.get("inner_max_evals") is None and model.mode == "callback":
            run.inner_max_evals = 100
        while not run.exhausted() and rounds < int(options.get("rounds")):
            rounds += 1
            G = np.asarray(run.G)
            nd = np.flatnonzero(nondominated_mask(G))
            if len(nd) >= P:
                break
            Gn = run.norm(G[nd])
            cd = crowding_distance(Gn)
            keys = [tuple(np.round(Gn[i], 9)) for i in range(len(nd))]
            cand = [i for i in np.argsort(-cd, kind="stable") if keys[i] not in extended][:k]
            if not cand:
                if delta < 1e-3:
                    break
                delta /= 2  # everything extended at this slack: refine
                extended.clear()
                continue
            for i in cand:
                extended.add(keys[i])
                xr, gr = run.X[nd[i]], Gn[i]
                for l_ in range(m):
                    others = [j for j in range(m) if j != l_]
                    c = np.zeros(m)
                    c[l_] = 1.0
                    scal = Scalarization(c=c, A=np.eye(m)[others], hi=gr[others] + delta)
                    sub = run.solve(scal, xr, None, {"anchor_point": gr.tolist(), "objective": l_,
                                                     "delta": delta})
                    if sub is None:
                        break
        short = 0
        if run.stopped and run.G:
            short = max(0, P - int(nondominated_mask(np.asarray(run.G)).sum()))
        return run.finish(left + short, extra={"rounds": rounds, "final_delta": delta})


class MODescentBackend(_ParetoBackend):
    """Fliege–Svaiter multiobjective steepest descent with multistart (callback models)."""

    name = "mo-descent"
    description = "multiobjective steepest descent (Fliege-Svaiter), multistart"
    options = {**COMMON, "descent_iters": 200,
               "sigma": Option(1e-4, _finite(strict=True), "Armijo constant σ > 0 (finite)"),
               "stationarity": Option(1e-6, _finite(strict=True), "criticality tolerance > 0")}

    def _solve(self, model, options: SolveOptions):
        if model.mode != "callback":
            raise UnsupportedProblemError("mo-descent needs a callback MultiObjective (F, jac)")
        if model.mc:
            raise UnsupportedProblemError("mo-descent handles bound constraints only; use "
                                          "pascoletti-serafini or epsilon-constraint for g(x) <= 0")
        if not (np.all(np.isfinite(model.lb)) and np.all(np.isfinite(model.ub))):
            raise UnsupportedProblemError("mo-descent draws starts in the box: give finite bounds")
        run = Run(model, options, self.name)
        P = self._points(run, options)
        rng = np.random.default_rng(run.seed)
        iters = int(options.get("descent_iters"))
        sigma, eps = float(options.get("sigma")), float(options.get("stationarity"))
        sc = model.scale if model.scale is not None else np.ones(model.m)
        starts = model.lb + (model.ub - model.lb) * rng.random((P, model.n))
        done = 0
        from optkit.multiobjective.model import BudgetExhausted

        for s, x in enumerate(starts):
            if run.exhausted():
                break
            try:
                x, theta, it = _descent(model, x, sc, iters, sigma, eps)
            except BudgetExhausted:
                run.exhausted()
                break
            done += 1
            G, g = model.values(x)
            bad = run._nonfinite(x, G)
            ok = bad is None and abs(theta) <= eps
            status = bad.status if bad is not None else (
                "LOCALLY_OPTIMAL" if ok else "ITERATION_LIMIT")
            run.log.append({"params": {"start": s}, "status": status, "iterations": it})
            run.history.append(iteration_record(
                len(run.log), objective=None, primal_infeasibility=None,
                dual_infeasibility=abs(theta), evaluations=run.counter.total,
                time=run.elapsed(), status=status, archive=len(run.X) + int(bad is None)))
            if not ok:
                run.failed += 1
                if run.failed <= 3:
                    run.reasons.append(f"start {s}: " + (bad.message if bad is not None else
                                       f"not Pareto-critical after {it} iterations "
                                       f"(theta={theta:.2e})"))
            if bad is not None:  # NaN produced on the way: a failed start, not a front point
                continue
            run.add(x, G, status, {"start": s, "iterations": it, "theta": theta},
                    violation=model.scaled_violation(x, g))
        return run.finish(P - done)


def _direction(J: np.ndarray, x: np.ndarray, lb: np.ndarray, ub: np.ndarray):
    """argmin_{d} max_i J_i d + ½‖d‖² within the box; returns (d, θ = optimal value ≤ 0)."""
    m = J.shape[0]
    free_lb, free_ub = lb - x, ub - x
    # dual: λ in the simplex minimising ½‖P(−Jᵀλ)‖²-type objective; solve the primal QP directly
    from scipy.optimize import minimize

    d0 = np.clip(-J.mean(axis=0), free_lb, free_ub)
    z0 = np.concatenate([d0, [float(np.max(J @ d0))]])
    n = x.size
    cons = {"type": "ineq", "fun": lambda z: z[n] - J @ z[:n],
            "jac": lambda z: np.hstack([-J, np.ones((m, 1))])}
    res = minimize(lambda z: z[n] + 0.5 * z[:n] @ z[:n], z0,
                   jac=lambda z: np.concatenate([z[:n], [1.0]]), method="SLSQP",
                   bounds=list(zip(free_lb, free_ub)) + [(None, None)], constraints=[cons],
                   options={"maxiter": 200, "ftol": 1e-12})
    d = np.clip(res.x[:n], free_lb, free_ub)
    theta = float(np.max(J @ d) + 0.5 * d @ d)
    return d, min(theta, 0.0)


def _descent(model, x, sc, iters, sigma, eps):
    lb, ub = model.lb, model.ub
    x = np.clip(x, lb, ub)
    theta = -np.inf
    it = 0
    for it in range(1, iters + 1):  # noqa: B007 - the count is read after the loop
        G = model.values(x)[0] / sc
        J = model.jacobians(x)[0] / sc[:, None]
        d, theta = _direction(J, x, lb, ub)
        if abs(theta) <= eps:
            break
        slope = J @ d
        alpha = 1.0
        while alpha > 1e-12:
            xn = np.clip(x + alpha * d, lb, ub)
            if np.all(model.values(xn)[0] / sc <= G + sigma * alpha * slope):
                break
            alpha *= 0.5
        if alpha <= 1e-12:
            break
        x = xn
    return x, theta, it
