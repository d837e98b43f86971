"""Benchmarking statistics: shifted geometric mean, Dolan–Moré and Moré–Wild profiles.

**Shifted geometric mean** of times t_1..t_N with shift s (10 s):
    sgm = exp( (1/N) Σ log(t_i + s) ) − s,
failures (no correct answer) charged at the time limit.

**Performance profile** (Dolan & Moré 2002): with t_{p,s} the time solver s needs on problem p
(∞ on failure), r_{p,s} = t_{p,s} / min_s' t_{p,s'} and
    ρ_s(τ) = |{p : r_{p,s} ≤ τ}| / |P|,
ρ_s(1) is the fraction of problems where s is fastest, ρ_s(∞) its success rate. Times below
``floor`` (1 ms) are raised to it, so that timer noise on trivial problems does not make ratios.

**Data profile** (Moré & Wild 2009): from per-iteration histories, problem p counts as solved
by s after k units when  f(x_0) − f(x_k) ≥ (1 − τ) (f(x_0) − f_L),  f_L the best feasible value
any solver reached on p (or the known optimum if lower), and
    d_s(α) = |{p : k_{p,s} ≤ α}| / |P|.
A unit is one function evaluation divided by (n_p + 1) ("simplex gradients") when the history
records evaluations (keys ``nfev``/``evals``/``evaluations``), else one iteration. Points whose recorded
constraint violation (keys ``viol``/``infeasibility``/``feasibility``/``inf_pr``) exceeds
``feas_tol`` do not count; on constrained problems (m > 0) histories without a violation key are
left out.

:func:`plot_performance_profile` and :func:`plot_data_profile` draw them as matplotlib
``Figure`` objects (not tied to pyplot, so a notebook displays the returned figure once).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

F_KEYS = ("f", "objective", "obj", "fval")
EVAL_KEYS = ("nfev", "evals", "fevals", "n_evals", "evaluations")
VIOL_KEYS = ("primal_infeasibility", "viol", "infeasibility", "feasibility", "constraint_violation", "cv", "inf_pr")


def shifted_geometric_mean(times: Iterable[float], shift: float = 10.0) -> float:
    """exp(mean(log(t + shift))) − shift; NaN for an empty list."""
    t = np.asarray(list(times), dtype=float)
    if t.size == 0:
        return float("nan")
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("shifted geometric mean needs finite nonnegative times")
    return float(np.exp(np.mean(np.log(t + shift))) - shift)


def performance_profile(T: np.ndarray, taus: np.ndarray | None = None, floor: float = 1e-3
                        ) -> tuple[np.ndarray, np.ndarray]:
    """ρ_s(τ) for a (problems × solvers) time matrix T (np.inf = failure).

    Returns (taus, rho) with rho of shape (len(taus), solvers). Problems no solver solved count
    in |P| (they lower every curve equally).
    """
    T = np.maximum(np.asarray(T, dtype=float), floor)
    best = T.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        R = np.where(np.isfinite(T), T / best, np.inf)
    if taus is None:
        finite = R[np.isfinite(R)]
        hi = max(2.0, float(finite.max()) * 1.05) if finite.size else 2.0
        taus = np.unique(np.concatenate([[1.0], np.sort(finite), [hi]]))
    rho = (R[None, :, :] <= taus[:, None, None]).mean(axis=1)
    return taus, rho


def _first(d: dict, keys) -> float | None:
    for k in keys:
        if k in d and d[k] is not None:
            try:
                v = float(d[k])
            except (TypeError, ValueError):
                continue
            return v if math.isfinite(v) else None
    return None


def history_trace(history: list[dict] | None, n: int | None = None, feas_tol: float = 1e-6,
                  constrained: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """(budget units, objective) of the feasible points of a history; None without objectives.

    For a ``constrained`` problem only points with a recorded violation ≤ ``feas_tol`` count, so
    a history without a violation key gives None (an infeasible iterate must not look solved).
    """
    if not history:
        return None
    if constrained and not any(_first(h, VIOL_KEYS) is not None for h in history):
        return None
    units, fs = [], []
    use_evals = any(_first(h, EVAL_KEYS) is not None for h in history)
    for k, h in enumerate(history):
        f = _first(h, F_KEYS)
        if f is None:
            continue
        v = _first(h, VIOL_KEYS)
        if v is not None and abs(v) > feas_tol:
            continue
        if use_evals:
            e = _first(h, EVAL_KEYS)
            if e is None:
                continue
            units.append(e / ((n or 0) + 1))
        else:
            it = _first(h, ("iter", "iteration", "k"))
            units.append(float(it) if it is not None else float(k))
        fs.append(f)
    if not fs:
        return None
    return np.asarray(units), np.asarray(fs)


def data_profile(traces: dict, f0: dict, tau: float = 1e-3, known: dict | None = None,
                 alphas: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list]:
    """d_s(α) from ``traces[(p, s)] = (units, f)``; ``f0[p]`` is the start value f(x_0).

    Returns (alphas, d of shape (len(alphas), solvers), solver order). A problem without f0 uses
    the first recorded value of each trace. Problems where f(x_0) = f_L count as solved at 0.
    """
    problems = sorted({p for p, _ in traces})
    solvers = sorted({s for _, s in traces})
    K = np.full((len(problems), len(solvers)), np.inf)
    for i, p in enumerate(problems):
        fl = min((tr[1].min() for (pp, _), tr in traces.items() if pp == p), default=np.inf)
        if known and known.get(p) is not None:
            fl = min(fl, known[p])
        for j, s in enumerate(solvers):
            tr = traces.get((p, s))
            if tr is None:
                continue
            u, f = tr
            start = f0.get(p, f[0]) if f0 else f[0]
            target = start - (1 - tau) * (start - fl)
            hit = np.nonzero(f <= target + 1e-12 * max(1.0, abs(target)))[0]
            if hit.size:
                K[i, j] = u[hit[0]]
    if alphas is None:
        finite = K[np.isfinite(K)]
        hi = max(1.0, float(finite.max()) * 1.05) if finite.size else 1.0
        alphas = np.unique(np.concatenate([[0.0], np.sort(finite), [hi]]))
    d = (K[None, :, :] <= alphas[:, None, None]).mean(axis=1)
    return alphas, d, solvers


# ------------------------------------------------------------------ figures
def _figure(**kw):
    """A matplotlib Figure not tied to pyplot (no global state; notebooks display it)."""
    from ..extras import require

    require("matplotlib", "plot", "profile plots")
    from matplotlib.figure import Figure

    return Figure(**kw)


def plot_performance_profile(T: np.ndarray, labels: list[str], taus: np.ndarray | None = None,
                             path=None, floor: float = 1e-3):
    """Step plot of ρ_s(τ) (log₂ τ axis) for the time matrix T; returns the matplotlib Figure
    (written to ``path`` as well when given)."""
    taus, rho = performance_profile(T, taus, floor)
    fig = _figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    for j, lab in enumerate(labels):
        ax.step(taus, rho[:, j], where="post", label=lab)
    ax.set_xscale("log", base=2)
    ax.set_xlim(1, taus[-1])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("τ (time ratio to the fastest solver)")
    ax.set_ylabel("ρ(τ): fraction of problems")
    ax.set_title(f"Performance profile (solve time, {np.asarray(T).shape[0]} problems)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig


def plot_data_profile(alphas: np.ndarray, d: np.ndarray, solvers: list, tau: float = 1e-3,
                      unit: str = "iterations", problems: int | None = None, path=None):
    """Step plot of d_s(α) from :func:`data_profile`'s output; returns the matplotlib Figure
    (written to ``path`` as well when given)."""
    fig = _figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    for j, lab in enumerate(solvers):
        ax.step(alphas, d[:, j], where="post", label=lab)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"α ({unit})")
    ax.set_ylabel("d(α): fraction of problems")
    n = f", {problems} problems" if problems is not None else ""
    ax.set_title(f"Data profile (τ = {tau:g}{n})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    return fig
