"""Sparse positive-semidefiniteness test for the Hessian blocks of quadratic bilevel data.

``is_psd`` is the core's one sparse PSD test (:func:`optkit.ir.convexity.is_psd`), re-exported
here for the bilevel backends; :func:`convex_quadratic` reads convexity from cvxpy's analysis.
"""
from __future__ import annotations


from ..ir.convexity import is_psd  # noqa: F401 - the one sparse PSD test


def convex_quadratic(expr, sign: float = 1.0) -> bool | None:
    """True when cvxpy already proves ``sign·expr`` convex (DCP), None when it cannot say."""
    try:
        e = expr if sign > 0 else -expr
        return True if e.is_convex() else None
    except Exception:
        return None
