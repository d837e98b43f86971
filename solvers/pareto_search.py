"""Backend ``front-search``: Pascoletti–Serafini subproblems aimed where the front is missing.

A front approximation is refined where it is sparsest, and a gap between two components of a
disconnected front is told apart from a stretch that merely lacks points (methods/pareto.md:
"crowding distance cannot see gaps between disconnected components and is weak for m > 2").

1. **Anchors, then jumps past them.** The m anchors min Ĝᵢ + ρ Σ_{j≠i} Ĝⱼ (multistart, as every
   sweep method) may be local: on ZDT3 a local anchor of f₂ hides the two rightmost components
   and shrinks the normalised box. For each anchor i and objective j ≠ i the jump subproblem
   min Ĝᵢ + ρ Σ_{l≠i} Ĝ_l s.t. Ĝⱼ ≥ Ĝⱼ(aᵢ) + δ_jump (warm-started at aᵢ) looks beyond the
   extreme; a better Ĝᵢ replaces the anchor and the normalisation, and the jump repeats.
2. **A reference-direction sweep**: min t s.t. Ĝ(x) − t·r ≤ a over ``initial`` reference points a
   (6 on the unit simplex for m = 2; for m ≥ 3 a Das–Dennis lattice of about ``points``
   directions on the simplex extended by 1.5 about its centroid, so that rays reach the edges of
   curved fronts, with the Pascoletti–Serafini backend's ray warm starts and polish), r = 1.
3. **Edge refinement.** The front's neighbour edges (:mod:`optkit.multiobjective.gaps`:
   consecutive points for m = 2, the k-nearest-neighbour graph for m ≥ 3) are split longest
   first: the subproblem min t s.t. Ĝ(x) − t·r ≤ (Ĝ_p + Ĝ_q)/2 with r normal to the edge
   (m = 2: r ∝ (|Δ₂|, |Δ₁|); m ≥ 3: r = 1), warm-started at the secant predictor (x_p + x_q)/2.
   A nondominated answer off every front point (farther than ``hole_tol``) and near the edge
   splits it; otherwise the reference moves to a tenth of the edge from each endpoint, started
   at that endpoint (a local solve started in the middle of a gap may stop on the dominated
   boundary, one started at an endpoint slides along its own component). When no start splits it
   (the ray met the dominated boundary between two components, or returned an endpoint) the edge
   is a **hole**: a gap of the front, never tried again.
   Refinement ends at ``points`` front points, when every edge is a hole or shorter than
   ``min_spacing``, or at the budget.

Cost is counted like every method (an evaluation is F at one point or one Jacobian of F; the
finite-difference equivalent counts a Jacobian as n evaluations); ``extra`` reports the number of
front components found (single linkage, :func:`optkit.multiobjective.gaps.components`) and the
holes. Beyond the methods file: the jump step and the hole test are optkit's own.
"""
from __future__ import annotations

import numpy as np

from optkit.multiobjective.gaps import components, edge_lengths, front_edges
from optkit.multiobjective.indicators import nondominated_mask
from optkit.multiobjective.scalarize import Run, Scalarization, simplex_points
from optkit.options import Option, SolveOptions
from optkit.solvers.pareto import (COMMON, _extended_simplex, _finite, _ParetoBackend,
                                   _ps_polish, _ps_retry, _start_t, _sweep)


class FrontSearchBackend(_ParetoBackend):
    """Anchors with jumps, a reference-direction sweep, then longest-edge refinement with holes."""

    name = "front-search"
    priority = {"multiobjective": 90}
    description = ("reference-point search aimed at the sparsest edges of the front; tells gaps "
                   "between components from missing points (disconnected and many-objective fronts)")
    options = {**COMMON,
               "initial": Option(None, _finite(low=1, none_ok=True),
                                 "reference points of the first sweep (default 6 for m = 2, "
                                 "a lattice of about `points` directions for m ≥ 3)"),
               "hole_tol": Option(1e-3, _finite(strict=True),
                                  "an answer within hole_tol (normalised) of an edge's endpoint, "
                                  "or dominated, from every start marks the edge a hole"),
               "min_spacing": Option(1e-3, _finite(strict=True),
                                     "edges shorter than this (normalised units) are not split"),
               "jump": Option(None, _finite(none_ok=True),
                              "first step δ of the pushes beyond the front's ends (0: none; "
                              "default 0.05 for m = 2, none for m ≥ 3: m(m − 1) directions)"),
               "max_jumps": 5, "restart": True}

    def _solve(self, model, options: SolveOptions):
        run = Run(model, options, self.name)
        if options.get("anchor_starts") is None:
            run.anchor_starts = 2  # the pushes below repair a local anchor more cheaply
        if options.get("inner_max_evals") is None and model.mode == "callback":
            # warm-started subproblems converge in a few iterations; one that does not (pushed
            # into a gap of a disconnected front) is cut early and tried from another start
            run.inner_max_evals = 60
        target = self._points(run, options)
        m = model.m
        run.anchors()
        ends = 0
        jump = options.get("jump")
        jump = (0.05 if m == 2 else 0.0) if jump is None else float(jump)
        if run.G and jump > 0:
            ends = _extend_ends(run, jump, int(options.get("max_jumps")))
            _normalise_by_front(run)
        initial = options.get("initial")
        # m = 2: a coarse sweep, the edges do the rest; m ≥ 3: a reference-direction lattice of
        # about ``points`` directions (kNN edges are a weaker guide than a lattice there)
        k0 = int(initial) if initial is not None else (6 if m == 2 else target)
        refs = simplex_points(m, k0) if m == 2 else _extended_simplex(m, k0, None)
        r1 = np.ones(m)

        def make(a):
            scal = Scalarization(c=np.zeros(m), ct=1.0, A=np.eye(m), at=-r1, hi=a, has_t=True)
            return scal, _start_t(run, a, r1), {"reference": a.tolist(), "direction": r1.tolist()}

        left = _sweep(run, refs, make, retry=_ps_retry(run, r1) if options.get("restart") else None,
                      ray=(lambda a: (a, r1)) if m > 2 else None,
                      polish=_ps_polish(run, r1) if m > 2 else None)
        holes, splits = _refine(run, target, float(options.get("hole_tol")),
                                float(options.get("min_spacing")))
        G = np.asarray(run.G) if run.G else np.zeros((0, m))
        found = int(nondominated_mask(G).sum()) if len(G) else 0
        short = target - found if (run.stopped and found < target) else 0
        res = run.finish(left + short, extra={"holes": len(holes), "splits": splits,
                                              "new_ends": ends})
        res.extra["components"] = front_components(res.F)
        return res


def front_components(F: np.ndarray) -> int:
    """Number of components of a front (single linkage on the front normalised to [0, 1]ᵐ)."""
    F = np.asarray(F, float)
    if len(F) < 3:
        return len(F)
    span = np.where(np.ptp(F, axis=0) > 0, np.ptp(F, axis=0), 1.0)
    return components((F - F.min(axis=0)) / span)[0]


def _extend_ends(run: Run, delta: float, doublings: int, rho: float = 1e-2) -> int:
    """Push each end of the front beyond itself while that finds new nondominated points
    (module doc, 1); returns the number of new ends found.

    For the end e = argmin Ĝᵢ over the front and each j ≠ i (see :func:`_push`): one inward push
    min Ĝᵢ + ρ Σ_{l≠i} Ĝ_l s.t. Ĝⱼ ≤ Ĝⱼ(e) − δ (an answer better in Ĝᵢ exposes e as a local
    anchor), then pushes beyond, Ĝⱼ ≥ Ĝⱼ(e) + δ·2ᵏ, k = 0, 1, … (warm-started at e): a new end
    restarts k at 0, a worse answer doubles the step (the ray crossed a gap), an answer with the
    same Ĝᵢ (the front is flat beyond e) ends the push."""
    m = run.m
    found = 0
    for i in range(m):
        c = np.full(m, rho)
        c[i] = 1.0
        for j in (j for j in range(m) if j != i):
            found += _push(run, c, i, j, -delta) or 0  # inward, once: is the end only a local one?
            k = 0
            while k <= doublings and not run.exhausted():
                new = _push(run, c, i, j, delta * 2.0 ** k)
                if new is None:
                    break
                found += new
                k = 0 if new else k + 1
    return found


def _push(run: Run, c: np.ndarray, i: int, j: int, step: float) -> int | None:
    """One push of the end e = argmin Ĝᵢ: min cᵀĜ s.t. Ĝⱼ ≥ Ĝⱼ(e) + step (step > 0, beyond the
    end) or Ĝⱼ ≤ Ĝⱼ(e) + step (step < 0, inward). Returns 1 when the answer is a new end (a
    nondominated point with a smaller Ĝᵢ), 0 when the push should go on (a larger step may land
    elsewhere), None when it should stop (flat beyond the end, or out of budget)."""
    m = run.m
    if run.exhausted():
        return None
    G = np.asarray(run.G)
    nd = np.flatnonzero(nondominated_mask(G))
    Gn = run.norm(G[nd])
    e = int(np.lexsort((Gn @ c, Gn[:, i]))[0])
    bound = np.array([Gn[e, j] + step])
    scal = (Scalarization(c=c, A=np.eye(m)[[j]], lo=bound) if step > 0 else
            Scalarization(c=c, A=np.eye(m)[[j]], hi=bound))
    meta = {"extend": i, "beyond" if step > 0 else "inward": j, "step": float(step)}
    sub = run.solve(scal, run.X[nd[e]], None, meta, record=False)
    if sub is None:
        return None
    if sub.x is None or not sub.feasible or sub.G is None:
        return 0 if step > 0 else None  # a longer push beyond may still land
    run.add_sub(sub, meta)
    g = run.norm(sub.G)
    if g[i] < Gn[e, i] - 1e-6 and not _dominated(Gn, g):
        # settle the new end: the anchor subproblem without the push row, started there
        settled = run.solve(Scalarization(c=c), sub.x, None, {**meta, "settle": True},
                            record=False)
        if settled is not None and settled.x is not None and settled.feasible and \
                settled.G is not None and c @ run.norm(settled.G) < c @ g:
            run.add_sub(settled, {**meta, "settle": True})
        return 1
    if step > 0 and abs(g[i] - Gn[e, i]) <= 1e-6:
        return None  # flat beyond the end: a weakly efficient extension only
    return 0 if step > 0 else None


def _dominated(Gn: np.ndarray, g: np.ndarray, tol: float = 1e-9) -> bool:
    """True when some row of Gn dominates g (minimisation, with a tolerance)."""
    return bool(np.any(np.all(Gn <= g + tol, axis=1) & np.any(Gn < g - tol, axis=1)))


def _normalise_by_front(run: Run) -> None:
    """Ideal and nadir from the current nondominated front (user-given values still win)."""
    G = np.asarray(run.G)
    front = G[nondominated_mask(G)]
    if len(front) >= 2:
        run.set_normalisation(front.min(axis=0), front.max(axis=0))


def _edge_direction(d: np.ndarray) -> np.ndarray:
    """PS direction for the edge Δ = Ĝ_q − Ĝ_p: normal to it for m = 2, else 1 (both > 0)."""
    if d.size != 2:
        return np.ones(d.size)
    r = np.array([abs(d[1]), abs(d[0])])
    r = np.maximum(r / max(np.linalg.norm(r), 1e-300), 0.05)
    return r / np.linalg.norm(r)


def _refine(run: Run, target: int, hole_tol: float, min_spacing: float):
    """Split the longest non-hole edge until ``target`` front points (module doc, 3)."""
    m = run.m
    holes: list = []  # midpoints (normalised) of the edges found to be gaps of the front
    splits = 0
    while not run.exhausted():
        G = np.asarray(run.G)
        nd = np.flatnonzero(nondominated_mask(G))
        if len(nd) >= target or len(nd) < 2:
            break
        Gn = run.norm(G[nd])
        edges = front_edges(Gn)
        length = edge_lengths(Gn, edges)
        keys = [(int(nd[a]), int(nd[b])) for a, b in edges]
        mids = 0.5 * (Gn[edges[:, 0]] + Gn[edges[:, 1]])
        if holes:  # an edge whose midpoint is a known hole's (endpoints may have moved by ~tol)
            H = np.asarray(holes)
            near = np.min(np.linalg.norm(mids[:, None, :] - H[None, :, :], axis=2), axis=1)
            is_hole = near <= np.maximum(10 * hole_tol, 0.05 * length)
        else:
            is_hole = np.zeros(len(edges), bool)
        open_ = np.flatnonzero(~is_hole & (length > min_spacing))
        if open_.size == 0:
            break
        e = int(open_[np.argmax(length[open_])])
        a, b = edges[e]
        gp, gq = Gn[a], Gn[b]
        r = _edge_direction(gq - gp)
        meta = {"direction": r.tolist(), "edge": list(keys[e])}
        xp, xq = run.X[nd[a]], run.X[nd[b]]
        # the midpoint from the secant predictor first; then a reference a tenth of the edge
        # from each endpoint, started there: a local solve from the middle of a gap may stop on
        # the dominated boundary, one from an endpoint slides along its own component
        tries = ((0.5 * (gp + gq), 0.5 * (xp + xq)), (gq + 0.1 * (gp - gq), xq),
                 (gp + 0.1 * (gq - gp), xp))
        split = False
        for ref, x0 in tries:
            scal = Scalarization(c=np.zeros(m), ct=1.0, A=np.eye(m), at=-r, hi=ref, has_t=True)
            sub = run.solve(scal, x0, _start_t(run, ref, r)(x0),
                            {**meta, "reference": ref.tolist()}, record=False)
            if sub is None:
                return holes, splits
            if _splits_edge(run, sub, Gn, gp, gq, hole_tol):
                run.add_sub(sub, {**meta, "reference": ref.tolist()})
                splits += 1
                split = True
                break
        if not split:
            holes.append(mids[e])
    return holes, splits


def _splits_edge(run: Run, sub, Gn: np.ndarray, gp: np.ndarray, gq: np.ndarray,
                 off: float) -> bool:
    """True when the answer is a new nondominated point near the edge: off every front point
    by more than ``off`` and within one edge length of the edge's midpoint."""
    if sub.x is None or not sub.feasible or sub.G is None or not np.all(np.isfinite(sub.G)):
        return False
    g = run.norm(sub.G)
    if np.min(np.linalg.norm(Gn - g, axis=1)) <= off:
        return False
    if np.linalg.norm(g - 0.5 * (gp + gq)) > np.linalg.norm(gq - gp):
        return False
    return not _dominated(Gn, g)


__all__ = ["FrontSearchBackend"]
