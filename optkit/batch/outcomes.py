"""Judging a batch row against the instance's expected outcome.

``verdict(row)`` is one of ``correct``, ``wrong`` (the solver claimed something false: a wrong
optimal value, or infeasible when a solution exists), ``failed`` (no claim: limits, crashes,
errors) and ``unknown`` (nothing to compare with). Agreement rules:

- a row whose solver claimed (local) optimality but whose point optkit's own measurement did not
  verify has status ``UNVERIFIED`` (the claim is kept in ``termination``): never ``correct``.
- expected ``optimal``: status OPTIMAL/LOCALLY_OPTIMAL (or an ALMOST_* level that optkit
  verified) and, when the optimum f* is known,
  |f − f*| ≤ rtol·max(1, |f*|) with rtol = 1e-6 (1e-4 for milp/miqp: HiGHS's default relative gap).
  OPTIMAL with another value is ``wrong``; LOCALLY_OPTIMAL with another value (a different local
  optimum of a nonconvex problem) is ``failed``, not wrong.
- expected ``infeasible``: INFEASIBLE, LOCALLY_INFEASIBLE or INFEASIBLE_OR_UNBOUNDED.
- expected ``unbounded``: UNBOUNDED or INFEASIBLE_OR_UNBOUNDED.
- expected ``read_error`` / ``bad_data`` / ``unsupported``: status READ_ERROR / BAD_DATA /
  UNSUPPORTED (a clear error, not a crash).
- expected ``front`` (multiobjective): status FRONT, a complete nonempty Pareto front (its
  quality against a reference front is in ``metrics``: IGD, hypervolume ratio).
"""
from __future__ import annotations

SUCCESS = ("OPTIMAL", "LOCALLY_OPTIMAL", "ALMOST_OPTIMAL", "ALMOST_LOCALLY_OPTIMAL")
CLAIMS = {
    "optimal": SUCCESS,
    "infeasible": ("INFEASIBLE", "LOCALLY_INFEASIBLE", "INFEASIBLE_OR_UNBOUNDED"),
    "unbounded": ("UNBOUNDED", "INFEASIBLE_OR_UNBOUNDED"),
    "read_error": ("READ_ERROR",),
    "bad_data": ("BAD_DATA",),
    "unsupported": ("UNSUPPORTED",),
    "front": ("FRONT",),
}
# statuses that are a claim about the problem (as opposed to "gave up")
ASSERTIVE = set(SUCCESS) | {"INFEASIBLE", "LOCALLY_INFEASIBLE", "INFEASIBLE_OR_UNBOUNDED",
                            "UNBOUNDED", "READ_ERROR", "BAD_DATA", "UNSUPPORTED"}


def objective_rtol(problem_class: str | None) -> float:
    return 1e-4 if (problem_class or "").startswith("mi") else 1e-6


def objective_ok(row: dict) -> bool | None:
    """True/False when both objective and known optimum exist, else None."""
    f, fs = row.get("objective"), row.get("known_objective")
    if f is None or fs is None:
        return None
    return abs(f - fs) <= objective_rtol(row.get("problem_class")) * max(1.0, abs(fs))


def verdict(row: dict) -> str:
    """correct | wrong | failed | unknown (see module docstring)."""
    exp, st = (row.get("expected") or "").lower(), row.get("status") or ""
    if exp not in CLAIMS:
        return "unknown"
    if st in CLAIMS[exp]:
        if exp == "optimal":
            ok = objective_ok(row)
            if ok is False:  # a different local optimum is no false claim, but no answer either
                return "failed" if "LOCALLY" in st else "wrong"
        return "correct"
    return "wrong" if st in ASSERTIVE else "failed"


INPUT_ERRORS = ("read_error", "bad_data", "unsupported")


def solved(row: dict) -> bool:
    """A success for profiles and time means: a correct answer (optimum, or a correct
    infeasibility / unboundedness claim)."""
    return verdict(row) == "correct"


def timed(row: dict) -> bool:
    """Rows that enter time statistics and profiles: instances meant to be solved (not the
    read_error / bad_data / unsupported input checks)."""
    return (row.get("expected") or "").lower() not in INPUT_ERRORS
