"""Classify a cvxpy problem: lp, qp, milp, miqp, conic or nlp — or say why it is none.

Rules: mixed-integer problems must be linear or convex quadratic (milp, miqp); DCP problems are
lp, qp (convex quadratic objective, affine constraints) or conic; other problems must be DNLP
(smooth, cvxpy ≥ 1.9's differentiation engine) to be nlp.

Cost: linear in the size of the expression tree. cvxpy's DNLP analysis is run only when the answer
matters (a conic or non-DCP problem), and before cvxpy's DCP analysis the definiteness questions
that sparse ``quad_form`` matrices raise are answered from the diagonal where it decides them
(:func:`_presettle_definiteness`): cvxpy 1.9.3 answers "is P negative semidefinite?" for a sparse
P that Gershgorin cannot settle by densifying it (``cvxpy.utilities.linalg.is_diagonal``), which
is 74.5 GiB at n = 10⁵.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import UnsupportedProblemError

KINDS = {
    "lp": {"lp", "qp", "conic", "nlp"},
    "qp": {"qp", "conic", "nlp"},
    "milp": {"milp", "miqp"},
    "miqp": {"miqp"},
    "conic": {"conic"},
    "nlp": {"nlp"},
}

_LINEAR_CONSTRAINTS = ("Equality", "Inequality", "Zero", "NonNeg", "NonPos")


def _is_affine_constraint(con) -> bool:
    return all(arg.is_affine() for arg in con.args)


def _presettle_definiteness(problem) -> None:
    """Record, on each sparse constant P of a ``quad_form``, the definiteness answers its
    diagonal decides: a positive diagonal entry means P is not negative semidefinite, a negative
    one that it is not positive semidefinite (every PSD matrix has a nonnegative diagonal). cvxpy
    then never reaches its dense fallback for those questions; undecided ones are left to it."""
    from cvxpy.atoms.quad_form import QuadForm
    from cvxpy.expressions.constants.constant import Constant

    stack = [problem.objective.args[0]] + [a for c in problem.constraints for a in c.args]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, QuadForm):
            P = node.args[1]
            val = getattr(P, "_value", None)
            if isinstance(P, Constant) and val is not None and sp.issparse(val):
                d = val.diagonal()
                if getattr(P, "_nsd_test", False) is None and np.any(d > 0):
                    P._nsd_test = False
                if getattr(P, "_psd_test", False) is None and np.any(d < 0):
                    P._psd_test = False
        stack.extend(getattr(node, "args", ()))


def classify(problem) -> tuple[str, frozenset[str]]:
    """(problem_class, kinds) of a cvxpy problem; UnsupportedProblemError when none applies."""
    _presettle_definiteness(problem)
    mixed = problem.is_mixed_integer()
    affine_cons = all(type(c).__name__ in _LINEAR_CONSTRAINTS and _is_affine_constraint(c)
                      for c in problem.constraints)
    if mixed:
        if affine_cons and problem.objective.expr.is_affine():
            return "milp", frozenset(KINDS["milp"])
        if affine_cons and problem.is_qp():
            return "miqp", frozenset(KINDS["miqp"])
        raise UnsupportedProblemError("mixed-integer problems must have affine constraints and a "
                                      "linear or convex quadratic objective (MINLP is unsupported)")
    if problem.is_dcp():
        if affine_cons and problem.objective.expr.is_affine():
            return "lp", frozenset(KINDS["lp"])
        if affine_cons and problem.is_qp():
            return "qp", frozenset(KINDS["qp"])
        dnlp = _safe_is_dnlp(problem)
        return "conic", frozenset(KINDS["conic"] | ({"nlp"} if dnlp else set()))
    if _safe_is_dnlp(problem):
        return "nlp", frozenset(KINDS["nlp"])
    raise UnsupportedProblemError(
        "the problem is neither convex (DCP) nor smooth (DNLP); nonsmooth atoms such as abs, "
        "maximum or norms are only allowed where convexity makes them safe. Rewrite them smoothly "
        "(e.g. abs(t) as a variable s >= t, s >= -t).")


def _safe_is_dnlp(problem) -> bool:
    try:
        return bool(problem.is_dnlp())
    except Exception:  # older cvxpy or an atom without DNLP support
        return False
