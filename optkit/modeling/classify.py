"""Classify a cvxpy problem: lp, qp, milp, miqp, conic or nlp — or say why it is none.

Rules: mixed-integer problems must be linear or convex quadratic (milp, miqp); DCP problems are
lp, qp (convex quadratic objective, affine constraints) or conic; other problems must be DNLP
(smooth, cvxpy ≥ 1.9's differentiation engine) to be nlp.
"""
from __future__ import annotations

from ..errors import UnsupportedProblemError

KINDS = {
    "lp": {"lp", "qp", "conic", "nlp"},
    "qp": {"qp", "conic", "nlp"},
    "milp": {"milp", "miqp"},
    "miqp": {"miqp"},
    "conic": {"conic"},
    "nlp": {"nlp"},
}


def _is_lp(problem) -> bool:
    return problem.is_dcp() and problem.objective.expr.is_affine() and all(
        c.expr.is_affine() or _is_affine_constraint(c) for c in problem.constraints)


def _is_affine_constraint(con) -> bool:
    return all(arg.is_affine() for arg in con.args)


def classify(problem) -> tuple[str, frozenset[str]]:
    """(problem_class, kinds) of a cvxpy problem; UnsupportedProblemError when none applies."""
    mixed = problem.is_mixed_integer()
    affine_cons = all(_is_affine_constraint(c) and type(c).__name__ in
                      ("Equality", "Inequality", "Zero", "NonNeg", "NonPos")
                      for c in problem.constraints)
    if mixed:
        if affine_cons and problem.objective.expr.is_affine():
            return "milp", frozenset(KINDS["milp"])
        if affine_cons and problem.is_qp():
            return "miqp", frozenset(KINDS["miqp"])
        raise UnsupportedProblemError("mixed-integer problems must have affine constraints and a "
                                      "linear or convex quadratic objective (MINLP is unsupported)")
    if problem.is_dcp():
        dnlp = _safe_is_dnlp(problem)
        if affine_cons and problem.objective.expr.is_affine():
            return "lp", frozenset(KINDS["lp"])
        if affine_cons and problem.is_qp():
            return "qp", frozenset(KINDS["qp"])
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
