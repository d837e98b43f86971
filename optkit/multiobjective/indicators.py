"""Front quality indicators (all for minimisation of every column).

* hypervolume HV(P; r) = λ(∪_{p∈P} [p, r]) — moocore;
* normalised HV: objectives mapped by (F − z*)/(z^nad − z*) with z*, z^nad the ideal and nadir of a
  reference front, reference point r = (1.1, …, 1.1);
* IGD(P; R) = mean_{r∈R} min_{p∈P} ‖p − r‖, IGD⁺ with d⁺(p, r) = ‖max(p − r, 0)‖, additive ε —
  moocore;
* sparsity S(P) = 1/(|P|−1) Σ_j Σ_i (P̃_j(i) − P̃_j(i+1))², P̃_j the sorted j-th objective (C-MORL);
* crowding distance (NSGA-II), extremes = ∞.
"""
from __future__ import annotations

import numpy as np

from ..extras import require


def _moocore():
    """moocore (the ``moo`` extra), or one line naming the extra."""
    return require("moocore", "moo", "front indicators (hypervolume, IGD, ε)")


def _pts(F) -> np.ndarray:
    F = np.atleast_2d(np.asarray(F, dtype=float))
    return F[np.all(np.isfinite(F), axis=1)]


def nondominated_mask(F) -> np.ndarray:
    """Boolean mask of the nondominated rows of F (minimisation); duplicates keep the first."""
    F = np.atleast_2d(np.asarray(F, float))
    if F.shape[0] == 0:
        return np.zeros(0, bool)
    moocore = _moocore()

    mask = np.asarray(moocore.is_nondominated(F, keep_weakly=False), bool)
    return mask


def hypervolume(F, ref) -> float:
    """Hypervolume dominated by F and bounded by ref (points not dominating ref add nothing)."""
    moocore = _moocore()

    F = _pts(F)
    ref = np.asarray(ref, float)
    F = F[np.all(ref > F, axis=1)]
    return float(moocore.hypervolume(F, ref=ref)) if len(F) else 0.0


def normalise(F, ideal, nadir) -> np.ndarray:
    """(F − ideal)/(nadir − ideal), columnwise."""
    ideal, nadir = np.asarray(ideal, float), np.asarray(nadir, float)
    span = np.where(nadir - ideal > 0, nadir - ideal, 1.0)
    return (np.atleast_2d(np.asarray(F, float)) - ideal) / span


def normalised_hypervolume(F, reference_front, ref: float = 1.1) -> float:
    """HV after normalising by the reference front's ideal and nadir, reference point ``ref``."""
    R = _pts(reference_front)
    ideal, nadir = R.min(axis=0), R.max(axis=0)
    return hypervolume(normalise(_pts(F), ideal, nadir), np.full(R.shape[1], ref))


def igd(F, reference_front) -> float:
    """Inverted generational distance of F to the reference front."""
    moocore = _moocore()

    return float(moocore.igd(_pts(F), ref=_pts(reference_front)))


def igd_plus(F, reference_front) -> float:
    """IGD⁺ (Ishibuchi et al.): weakly Pareto-compliant variant of IGD."""
    moocore = _moocore()

    return float(moocore.igd_plus(_pts(F), ref=_pts(reference_front)))


def epsilon_additive(F, reference_front) -> float:
    """Smallest ε such that F − ε weakly dominates every reference point."""
    moocore = _moocore()

    return float(moocore.epsilon_additive(_pts(F), ref=_pts(reference_front)))


def sparsity(F, normalise_by=None) -> float:
    """C-MORL/PGMORL sparsity (lower is denser); 0 for fewer than two points."""
    F = _pts(F)
    if normalise_by is not None:
        F = normalise(F, *normalise_by)
    if len(F) < 2:
        return 0.0
    S = np.sort(F, axis=0)
    return float(np.sum(np.diff(S, axis=0) ** 2) / (len(F) - 1))


def crowding_distance(F) -> np.ndarray:
    """NSGA-II crowding distance of each row (columns normalised by their range)."""
    F = np.atleast_2d(np.asarray(F, float))
    k, m = F.shape
    d = np.zeros(k)
    if k <= 2:
        return np.full(k, np.inf)
    for j in range(m):
        order = np.argsort(F[:, j], kind="stable")
        col = F[order, j]
        span = col[-1] - col[0]
        d[order[0]] = d[order[-1]] = np.inf
        if span > 0:
            d[order[1:-1]] += (col[2:] - col[:-2]) / span
    return d
