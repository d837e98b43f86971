"""Row equilibration of a LinearForm before a solver sees it (one rule for every linear backend).

Solvers judge a row against an *absolute* tolerance: ``1e-9·x >= 1e-9`` (that is, x >= 1) is
"satisfied" at x = 0 within 1e-7, and ``1e-9·y <= 1e-9`` leaves y unbounded — claims optkit's
scaled measurement refuses afterwards. So the core hands the solver a copy whose tiny rows are
scaled up by a power of two,

    row i:  dᵢ·rlᵢ <= dᵢ·aᵢᵀx <= dᵢ·ruᵢ,   dᵢ = 2^(−round(log₂‖aᵢ‖∞))   when log₂‖aᵢ‖∞ < −10,

(dᵢ = 1 for every other row; powers of two scale without rounding error), and maps the answer
back: with L = f + y'ᵀ(D A x), the multipliers of the original rows are y = D y'. x, the
objective and the column bounds are untouched; optkit measures the result on the original form.

Rows with *large* coefficients are left as written: scaling them down would loosen the solver's
absolute tolerance on them (a big-M row λ <= 1e6·z, scaled by 2⁻²⁰, lets λ reach 0.1 at z = 0 —
measured on a bilevel KKT reformulation, where it turned an infeasible problem "optimal").
"""
from __future__ import annotations

import numpy as np

from .linear_form import LinearForm

#: rows whose coefficient size is below 2^-LIMIT (about 1e-3) are scaled up
LIMIT = 10


def row_factors(form: LinearForm) -> np.ndarray | None:
    """The factors dᵢ (see module docstring), or None when no row needs rescaling."""
    if form.m == 0 or form.A.nnz == 0:
        return None
    cached = form.meta.get("_row_factors")  # dropped with "_row_scale" when A changes
    if cached is not None and cached[0] is form.A:
        return cached[1]
    d = _factors(form)
    form.meta["_row_factors"] = (form.A, d)
    return d


def _factors(form: LinearForm) -> np.ndarray | None:
    from ..kkt import linear_row_scale

    size = linear_row_scale(form)
    exponent = np.zeros(form.m)
    nonempty = size > 0
    exponent[nonempty] = np.round(np.log2(size[nonempty]))
    extreme = exponent < -LIMIT
    if not extreme.any():
        return None
    return np.where(extreme, np.exp2(-exponent), 1.0)


def equilibrated(form: LinearForm) -> tuple[LinearForm, np.ndarray] | None:
    """(the rescaled copy, its row factors d), or None when the form needs no rescaling.

    The copy is cached in ``form.meta`` per data version (a re-solve after a parameter change
    rescales again; an unchanged form reuses it)."""
    key = ("_equilibrated", form.meta.get("version", 0), id(form.A))
    cached = form.meta.get("_equilibrated")
    if cached is not None and cached[0] == key:
        return cached[1]
    d = row_factors(form)
    out = None
    if d is not None:
        A = form.A.copy()
        A.data = A.data * np.repeat(d, np.diff(A.indptr))
        scaled = LinearForm(c=form.c, A=A, rl=d * form.rl, ru=d * form.ru, lb=form.lb,
                            ub=form.ub, Q=form.Q, c0=form.c0, integrality=form.integrality,
                            sense=form.sense, name=form.name, col_names=form.col_names,
                            row_names=form.row_names, source=form.source, x0=form.x0)
        scaled.meta["row_scaling"] = int(np.count_nonzero(d != 1.0))
        out = (scaled, d)
    form.meta["_equilibrated"] = (key, out)
    return out
