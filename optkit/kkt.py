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
    return float(max((lo - v).max(), (v - hi).max(), 0.0))


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
                  cu: np.ndarray, JT: sp.spmatrix | None = None,
                  y_for_comp: np.ndarray | None = None) -> dict:
    """Residuals at (x, y) given the objective gradient g, constraint values c and Jacobian J
    (``JT``, Jᵀ, may be given when it is at hand). A caller that already folded Jᵀy into g
    passes y = 0 and the real multipliers as ``y_for_comp`` (used for complementarity)."""
    multipliers = "solver"
    if c.size and y is None:
        y = estimate_multipliers(g, J, c, cl, cu)
        multipliers = "estimated"
    if y is None or c.size == 0:
        y = np.zeros(c.size)
    if c.size and (J is not None or JT is not None):
        lag = g + (JT if JT is not None else J.T) @ y
    else:
        lag = g
    stat = float(np.abs(x - np.clip(x - lag, lb, ub)).max(initial=0.0))
    feas = max(_violation(c, cl, cu), _violation(x, lb, ub))
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
    from .ir.linear_form import transpose_matvec

    g = form.objective_gradient(x)
    if y is not None and c.size:  # Aᵀy without building Aᵀ: the hot path of many small LPs
        return kkt_residuals(x, g + transpose_matvec(form.A, y), c, None, np.zeros(c.size),
                             form.lb, form.ub, form.rl, form.ru, y_for_comp=y)
    return kkt_residuals(x, g, c, form.A, y, form.lb, form.ub, form.rl, form.ru)
