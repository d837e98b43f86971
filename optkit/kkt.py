"""KKT residuals measured by optkit itself from a compiled form (never copied from a solver).

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


def _violation(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    if v.size == 0:
        return 0.0
    return float(max(np.max(lo - v, initial=0.0), np.max(v - hi, initial=0.0)))


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
    sol = lsq_linear(JA if active.size < 2000 else JA, -g, bounds=(lo, hi),
                     lsmr_tol="auto" if sp.issparse(JA) else None)
    y[active] = sol.x
    return y


def kkt_residuals(x: np.ndarray, g: np.ndarray, c: np.ndarray, J: sp.spmatrix | None,
                  y: np.ndarray | None, lb: np.ndarray, ub: np.ndarray, cl: np.ndarray,
                  cu: np.ndarray) -> dict:
    """Residuals at (x, y) given the objective gradient g, constraint values c and Jacobian J."""
    multipliers = "solver"
    if c.size and y is None:
        y = estimate_multipliers(g, J, c, cl, cu)
        multipliers = "estimated"
    if y is None or c.size == 0:
        y = np.zeros(c.size)
    lag = g + (J.T @ y if c.size else 0.0)
    stat = float(np.max(np.abs(x - np.clip(x - lag, lb, ub)), initial=0.0))
    feas = max(_violation(c, cl, cu), _violation(x, lb, ub))
    yp, ym = np.maximum(y, 0.0), np.maximum(-y, 0.0)
    with np.errstate(invalid="ignore"):
        gap_up = np.where(np.isinf(cu), np.where(yp > 0, 1.0, 0.0), cu - c)
        gap_lo = np.where(np.isinf(cl), np.where(ym > 0, 1.0, 0.0), c - cl)
        comp = float(max(np.max(np.abs(yp * gap_up), initial=0.0),
                         np.max(np.abs(ym * gap_lo), initial=0.0)))
    return {"stationarity": stat, "feasibility": feas, "complementarity": comp,
            "kkt": max(stat, feas, comp), "norm": "inf", "multipliers": multipliers}


def nlp_kkt(form, x: np.ndarray, y: np.ndarray | None) -> dict:
    """KKT residuals of an NLPForm at (x, y). Evaluations made here are not counted."""
    saved = dict(form.counts)
    try:
        g = form.grad(x)
        c = form.cons(x)
        J = form.jac(x) if form.m else None
        return kkt_residuals(x, g, c, J, y, form.lb, form.ub, form.cl, form.cu)
    finally:
        form.counts.update(saved)


def linear_kkt(form, x: np.ndarray, y: np.ndarray | None) -> dict:
    """KKT residuals of a LinearForm; for a MIP only feasibility and integrality are measured."""
    c = form.A @ x
    if form.is_mip:
        frac = x[form.integrality] - np.round(x[form.integrality])
        integ = float(np.max(np.abs(frac), initial=0.0))
        feas = max(_violation(c, form.rl, form.ru), _violation(x, form.lb, form.ub), integ)
        return {"stationarity": None, "feasibility": feas, "complementarity": None,
                "integrality": integ, "kkt": feas, "norm": "inf", "multipliers": None}
    return kkt_residuals(x, form.objective_gradient(x), c, form.A, y, form.lb, form.ub,
                         form.rl, form.ru)
