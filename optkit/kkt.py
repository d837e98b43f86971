"""KKT residuals measured by optkit itself from a compiled form (never copied from a solver).

Besides the absolute residuals below, every row and bound is judged against **its own scale**
(``feasibility_rel``, see :func:`scaled_violation`): a row lo <= aᵢᵀx <= hi violated by vᵢ on the
side of bound b counts vᵢ / max(‖aᵢ‖∞, |b|) (‖∇cᵢ(x)‖∞ for a nonlinear row), a bound
lo <= xⱼ <= hi counts vⱼ / max(1, |b|). So ``1e-9·x >= 1e-9`` at x = 0 is violated by 1 (relative),
whatever other numbers the problem holds. (A nonlinear row's coefficient size is
max(‖∇cᵢ(x)‖∞, ‖∇cᵢ(x0)‖∞): its gradient may vanish at a degenerate solution.) Integrality is
max |xⱼ − round(xⱼ)| over integer columns, measured on its own. ``stationarity_rel`` divides by max(1, ‖∇f(x)‖∞) and
``complementarity_rel`` by max(1, |f(x)|).

For  min f(x)  s.t.  cl <= c(x) <= cu,  lb <= x <= ub  with L = f + yᵀc (infinity norms):

- stationarity   ‖x − Proj_[lb,ub](x − ∇ₓL(x, y))‖∞   (the projected Lagrangian gradient; equals
  ‖∇ₓL‖∞ for unbounded variables, and allows the sign the bound multipliers need at active bounds)
- feasibility    max(cl − c, c − cu, lb − x, x − ub, 0)
- complementarity max over rows of y⁺ᵢ·(cuᵢ − cᵢ) and y⁻ᵢ·(cᵢ − clᵢ) (a multiplier of the wrong
  sign for an infinite side counts in full)
- kkt            the largest of the three.

When a backend returns no multipliers, y is estimated by bound-constrained least squares on the
rows active within ``active_tol`` (``multipliers: "estimated"``).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import lsq_linear


def row_abs_max(M: sp.spmatrix) -> np.ndarray:
    """‖Mᵢ‖∞ for every row of a sparse matrix, in O(nnz) (0 for an empty row)."""
    M = M if sp.isspmatrix_csr(M) else sp.csr_matrix(M)
    out = np.zeros(M.shape[0])
    if M.nnz:
        nonempty = np.flatnonzero(np.diff(M.indptr))
        out[nonempty] = np.maximum.reduceat(np.abs(M.data), M.indptr[nonempty])
    return out


def _signed_excess(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """max(lo − v, v − hi) per entry: ≤ 0 inside the bounds, NaN where v is NaN."""
    with np.errstate(invalid="ignore"):
        return np.maximum(lo - v, v - hi)


def scaled_violation(v: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                     row_scale: np.ndarray | float,
                     excess: np.ndarray | None = None) -> tuple[float, int]:
    """max over entries of the violation of lo <= v <= hi, each divided by its own scale.

    Entry i violated below counts (loᵢ − vᵢ)/max(sᵢ, |loᵢ|), above (vᵢ − hiᵢ)/max(sᵢ, |hiᵢ|), with
    sᵢ = ``row_scale`` (the row's coefficient size; 1 for a variable bound). A scale of 0 (an
    empty row) falls back to 1. ``excess`` is :func:`_signed_excess` of (v, lo, hi) when the
    caller has it. Returns (largest relative violation, its index or −1).
    """
    if v.size == 0:
        return 0.0, -1
    worst = _signed_excess(v, lo, hi) if excess is None else excess
    top = worst.max()
    if top <= 0.0:  # the common case at a solver's answer: nothing violated (NaN compares False)
        return 0.0, -1
    s = np.broadcast_to(np.asarray(row_scale, dtype=float), v.shape)
    with np.errstate(invalid="ignore"):
        below = np.where(lo > v, lo - v, 0.0)
        above = np.where(v > hi, v - hi, 0.0)
        s_lo = np.maximum(s, np.where(np.isfinite(lo), np.abs(lo), 0.0))
        s_hi = np.maximum(s, np.where(np.isfinite(hi), np.abs(hi), 0.0))
        rel = np.maximum(below / np.where(s_lo > 0, s_lo, 1.0),
                         above / np.where(s_hi > 0, s_hi, 1.0))
    rel = np.where(np.isnan(v), np.inf, rel)
    k = int(np.argmax(rel))
    return float(rel[k]), (k if rel[k] > 0 else -1)


def estimate_multipliers(g: np.ndarray, J: sp.spmatrix, c: np.ndarray, cl: np.ndarray,
                         cu: np.ndarray, active_tol: float = 1e-6) -> np.ndarray:
    """Least-squares y with ∇f + Jᵀy ≈ 0 over active rows, sign-constrained as the bounds require."""
    m = c.size
    y = np.zeros(m)
    scale = active_tol * np.maximum(1.0, np.abs(c))
    at_up = np.abs(c - cu) <= scale
    at_lo = np.abs(c - cl) <= scale
    active = np.flatnonzero(at_up | at_lo)
    if active.size == 0:
        return y
    lo = np.where(at_lo[active], -np.inf, 0.0)
    hi = np.where(at_up[active], np.inf, 0.0)
    JA = sp.csr_matrix(J)[active].T.tocsc()
    sol = lsq_linear(JA, -g, bounds=(lo, hi),
                     lsmr_tol="auto" if sp.issparse(JA) else None)
    y[active] = sol.x
    return y


def kkt_residuals(x: np.ndarray, g: np.ndarray, c: np.ndarray, J: sp.spmatrix | None,
                  y: np.ndarray | None, lb: np.ndarray, ub: np.ndarray, cl: np.ndarray,
                  cu: np.ndarray, JT: sp.spmatrix | None = None,
                  y_for_comp: np.ndarray | None = None, row_scale: np.ndarray | None = None,
                  f: float | None = None, z: np.ndarray | None = None) -> dict:
    """Residuals at (x, y) given the objective gradient g, constraint values c and Jacobian J
    (``JT``, Jᵀ, may be given when it is at hand). A caller that already folded Jᵀy into g
    passes y = 0 and the real multipliers as ``y_for_comp`` (used for complementarity).
    ``row_scale`` holds ‖Jᵢ‖∞ per row (computed from J when omitted); ``f`` the objective value,
    for the relative complementarity.

    Bound multipliers: without ``z`` the projected gradient implies the best ones (exact
    complementarity at the bounds). A solver's own z (L = f + yᵀc + zᵀx: z ≥ 0 at an active upper
    bound, ≤ 0 at a lower one) is a second certificate, ‖∇ₓL + z‖∞ with its bound complementarity
    z⁺(ub − x), z⁻(x − lb); the better of the two is reported (``bound_multipliers``). An interior
    point sits at distance ~μ from its active bounds, where only its own z certifies it.
    """
    multipliers = "solver"
    if c.size and y is None:
        y = estimate_multipliers(g, J, c, cl, cu)
        multipliers = "estimated"
    if y is None or c.size == 0:
        y = np.zeros(c.size)
    if c.size and JT is not None:
        lag = g + JT @ y
    elif c.size and J is not None:
        lag = g + J.T @ y
    else:
        lag = g
    stat = float(np.abs(x - np.clip(x - lag, lb, ub)).max(initial=0.0))
    bound_mult, comp_z = "projected", 0.0
    if z is not None and z.shape == x.shape and np.all(np.isfinite(z)):
        stat_z = float(np.abs(lag + z).max(initial=0.0))
        gap_ub = np.where(np.isinf(ub), 1.0, ub - x)
        gap_lb = np.where(np.isinf(lb), 1.0, x - lb)
        comp_bounds = float(max(np.abs(np.maximum(z, 0.0) * gap_ub).max(initial=0.0),
                                np.abs(np.maximum(-z, 0.0) * gap_lb).max(initial=0.0)))
        if max(stat_z, comp_bounds) < stat:
            stat, comp_z, bound_mult = stat_z, comp_bounds, "solver"
    ex_rows, ex_cols = _signed_excess(c, cl, cu), _signed_excess(x, lb, ub)
    feas = float(max(ex_rows.max(initial=0.0), ex_cols.max(initial=0.0), 0.0))
    if row_scale is None:
        row_scale = row_abs_max(J) if (J is not None and c.size) else np.ones(c.size)
    rows_rel, worst_row = scaled_violation(c, cl, cu, row_scale, ex_rows)
    cols_rel, worst_col = scaled_violation(x, lb, ub, 1.0, ex_cols)
    if rows_rel >= cols_rel and worst_row >= 0:
        feas_rel, worst = rows_rel, f"row {worst_row}"
    elif worst_col >= 0:
        feas_rel, worst = cols_rel, f"bound of column {worst_col}"
    else:
        feas_rel, worst = 0.0, ""
    if y_for_comp is not None:
        y = y_for_comp
    if c.size:
        # y⁺(cu − c) and y⁻(c − cl); a multiplier on an infinite side counts in full (gap 1)
        gap_up = np.where(np.isinf(cu), 1.0, cu - c)
        gap_lo = np.where(np.isinf(cl), 1.0, c - cl)
        comp = float(max(np.abs(np.maximum(y, 0.0) * gap_up).max(),
                         np.abs(np.maximum(-y, 0.0) * gap_lo).max()))
    else:
        comp = 0.0
    comp = max(comp, comp_z)
    gscale = max(1.0, float(np.abs(g).max(initial=0.0))) if multipliers else 1.0
    fscale = max(1.0, abs(f)) if (f is not None and np.isfinite(f)) else 1.0
    return {"stationarity": stat, "feasibility": feas, "complementarity": comp,
            "kkt": max(stat, feas, comp), "stationarity_rel": stat / gscale,
            "feasibility_rel": feas_rel, "complementarity_rel": comp / fscale,
            "worst": worst, "norm": "inf", "multipliers": multipliers,
            "bound_multipliers": bound_mult}


def nlp_kkt(form, x: np.ndarray, y: np.ndarray | None, z: np.ndarray | None = None) -> dict:
    """KKT residuals of an NLPForm at (x, y). Evaluations made here are not counted."""
    saved = dict(form.counts)
    try:
        f = form.f(x)
        g = form.grad(x)
        c = form.cons(x)
        J = form.jac(x) if form.m else None
        scale = None
        if J is not None:
            scale = np.maximum(row_abs_max(J), _start_row_scale(form))
        return kkt_residuals(x, g, c, J, y, form.lb, form.ub, form.cl, form.cu, f=f, z=z,
                             row_scale=scale)
    finally:
        form.counts.update(saved)


def _start_row_scale(form) -> np.ndarray:
    """‖∇cᵢ(x0)‖∞ per row of an NLPForm, computed once per form.

    A nonlinear row's scale is the larger of its gradient size at the returned point and at the
    start: at a degenerate solution ∇cᵢ(x) may vanish (a singular Jacobian), and the row would
    otherwise be judged against a scale of almost 0."""
    cached = form.__dict__.get("_row_scale_x0")
    if cached is None or cached.size != form.m:
        try:
            cached = row_abs_max(form.jac(form.x0))
        except Exception:
            cached = np.zeros(form.m)
        form.__dict__["_row_scale_x0"] = cached
    return cached


def linear_row_scale(form) -> np.ndarray:
    """‖Aᵢ‖∞ per row of a LinearForm, cached in ``form.meta`` (the data do not change)."""
    meta = getattr(form, "meta", None)
    cached = meta.get("_row_scale") if meta is not None else None
    if cached is None or cached.size != form.m:
        cached = row_abs_max(form.A)
        if meta is not None:
            meta["_row_scale"] = cached
    return cached


def integrality_violation(form, x: np.ndarray) -> tuple[float, int]:
    """max |xⱼ − round(xⱼ)| over the integer columns, and the worst column (−1 if none)."""
    idx = np.flatnonzero(form.integrality)
    if idx.size == 0:
        return 0.0, -1
    frac = np.abs(x[idx] - np.round(x[idx]))
    k = int(np.argmax(frac))
    return float(frac[k]), int(idx[k])


def linear_kkt(form, x: np.ndarray, y: np.ndarray | None, z: np.ndarray | None = None) -> dict:
    """KKT residuals of a LinearForm; for a MIP only feasibility and integrality are measured."""
    c = form.A @ x
    scale = linear_row_scale(form)
    integ, worst_int = integrality_violation(form, x)
    if form.is_mip:
        base = kkt_residuals(x, np.zeros(form.n), c, None, np.zeros(c.size), form.lb, form.ub,
                             form.rl, form.ru, row_scale=scale)
        return {"stationarity": None, "feasibility": base["feasibility"],
                "feasibility_rel": base["feasibility_rel"], "worst": base["worst"],
                "complementarity": None, "stationarity_rel": None, "complementarity_rel": None,
                "integrality": integ, "worst_integer": worst_int,
                "kkt": max(base["feasibility"], integ), "norm": "inf", "multipliers": None}
    from .ir.linear_form import transpose_matvec

    g = form.objective_gradient(x)
    f = form.objective(x)
    if y is not None and c.size:  # Aᵀy without building Aᵀ: the hot path of many small LPs
        out = kkt_residuals(x, g + transpose_matvec(form.A, y), c, None, np.zeros(c.size),
                            form.lb, form.ub, form.rl, form.ru, y_for_comp=y, row_scale=scale,
                            f=f, z=z)
        out["stationarity_rel"] = out["stationarity"] / max(1.0, float(np.abs(g).max(initial=0.0)))
    else:
        out = kkt_residuals(x, g, c, form.A, y, form.lb, form.ub, form.rl, form.ru,
                            row_scale=scale, f=f, z=z)
    out["integrality"] = 0.0
    return out
