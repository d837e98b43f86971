"""Judging a batch row against the instance's expected outcome.

:func:`outcome` sorts every row into one of six classes (and ``unknown`` when the instance
states no expectation):

==========================  =====================================================================
``correct``                 the solver's claim agrees with the expected outcome (below)
``wrong``                   a false claim: a wrong optimal value, infeasible when a solution
                            exists, optimal when the file should have been refused, ...
``unverified``              status UNVERIFIED: the solver claimed (local) optimality but optkit's
                            own measurement did not confirm the point; never correct
``refused_expected``        a refusal (READ_ERROR, BAD_DATA, UNSUPPORTED) where the instance
                            expects exactly that refusal (a damaged file refused, a QCQP declined)
``refused_unexpected``      a refusal (READ_ERROR, BAD_DATA, UNSUPPORTED, INVALID_PROBLEM) of an
                            instance that expects an answer (or another refusal): not a wrong
                            answer — the solver said it cannot take the model
``failed``                  no claim: limits, crashes, timeouts, memory, errors, a different
                            local optimum of a nonconvex problem
==========================  =====================================================================

Agreement rules for ``correct``:

- expected ``optimal``: status OPTIMAL/LOCALLY_OPTIMAL (or an ALMOST_* level that optkit
  verified) and, when the optimum f* is known,
  |f − f*| ≤ rtol·max(1, |f*|) with rtol = 1e-6 (1e-4 for milp/miqp: HiGHS's default relative gap).
  OPTIMAL with another value is ``wrong``; LOCALLY_OPTIMAL with another value (a different local
  optimum of a nonconvex problem) is ``failed``, not wrong.
- expected ``infeasible``: INFEASIBLE, LOCALLY_INFEASIBLE or INFEASIBLE_OR_UNBOUNDED.
- expected ``unbounded``: UNBOUNDED or INFEASIBLE_OR_UNBOUNDED.
- expected ``front`` (multiobjective): status FRONT, a complete nonempty Pareto front (its
  quality against a reference front is in ``metrics``: IGD, hypervolume ratio).

:func:`verdict` is the older four-way reading used by reports and profiles: ``correct``
(correct or refused as expected), ``wrong``, ``failed`` (unverified, refused unexpectedly,
failed) and ``unknown``. A refusal is never ``wrong``.
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
#: statuses that say "this input is refused" (an error naming what is wrong, before any answer)
REFUSALS = ("READ_ERROR", "BAD_DATA", "UNSUPPORTED", "INVALID_PROBLEM")
#: expected outcomes that are refusals
INPUT_ERRORS = ("read_error", "bad_data", "unsupported")
# statuses that are a claim about the problem (as opposed to "gave up" or "refused")
ASSERTIVE = set(SUCCESS) | {"INFEASIBLE", "LOCALLY_INFEASIBLE", "INFEASIBLE_OR_UNBOUNDED",
                            "UNBOUNDED", "FRONT"}
#: the classes of :func:`outcome`, in the order summaries print them
OUTCOMES = ("correct", "wrong", "unverified", "refused_expected", "refused_unexpected", "failed")
#: classes that make ``optkit batch`` exit with status 1 (the batch ran, not every row agrees)
NOT_OK = ("wrong", "unverified", "refused_unexpected", "failed")


def objective_rtol(problem_class: str | None) -> float:
    return 1e-4 if (problem_class or "").startswith("mi") else 1e-6


def objective_ok(row: dict) -> bool | None:
    """True/False when both objective and known optimum exist, else None."""
    f, fs = row.get("objective"), row.get("known_objective")
    if f is None or fs is None:
        return None
    return abs(f - fs) <= objective_rtol(row.get("problem_class")) * max(1.0, abs(fs))


def outcome(row: dict) -> str:
    """One of :data:`OUTCOMES` or ``unknown`` (see the module docstring)."""
    exp, st = (row.get("expected") or "").lower(), row.get("status") or ""
    if st in REFUSALS:
        return "refused_expected" if st in CLAIMS.get(exp, ()) and exp in INPUT_ERRORS \
            else "refused_unexpected"
    if exp not in CLAIMS:
        return "unknown"
    if st == "UNVERIFIED":
        return "unverified"
    if st in CLAIMS[exp]:
        if exp == "optimal" and objective_ok(row) is False:
            # a different local optimum is no false claim, but no answer either
            return "failed" if "LOCALLY" in st else "wrong"
        return "correct"
    return "wrong" if st in ASSERTIVE else "failed"


def verdict(row: dict) -> str:
    """correct | wrong | failed | unknown: :func:`outcome` folded into four classes (a refusal
    as expected is correct; unverified and unexpected refusals are failed)."""
    o = outcome(row)
    if o in ("correct", "refused_expected"):
        return "correct"
    if o == "wrong":
        return "wrong"
    if o == "unknown":
        return "unknown"
    return "failed"


def counts(rows: list[dict]) -> dict[str, int]:
    """{class: number of rows} over :data:`OUTCOMES` (plus ``unknown`` when any)."""
    out = dict.fromkeys(OUTCOMES, 0)
    for r in rows:
        o = outcome(r)
        out[o] = out.get(o, 0) + 1
    return out


def solved(row: dict) -> bool:
    """A success for profiles and time means: a correct answer (optimum, or a correct
    infeasibility / unboundedness claim, or the expected refusal)."""
    return verdict(row) == "correct"


def timed(row: dict) -> bool:
    """Rows that enter time statistics and profiles: instances meant to be solved (not the
    read_error / bad_data / unsupported input checks)."""
    return (row.get("expected") or "").lower() not in INPUT_ERRORS
