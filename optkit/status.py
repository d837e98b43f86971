"""Termination and primal statuses of a solve, in the style of MathOptInterface.

``Termination`` says *why the solver stopped* (the solver's claim, mapped through the backend's
declared status table); ``PrimalStatus`` says *what the returned point is*, as optkit measured it.
The two are independent: a solve may stop on ITERATION_LIMIT with a FEASIBLE point. The ALMOST_*
levels are a solver's own "inaccurate"/"acceptable" optimum; whether it counts as solved is decided
by optkit's measurement (``Result.verified``), never by the claim alone.
"""
from __future__ import annotations

from enum import Enum


class Termination(str, Enum):
    """Why a backend stopped."""

    OPTIMAL = "OPTIMAL"
    LOCALLY_OPTIMAL = "LOCALLY_OPTIMAL"
    ALMOST_OPTIMAL = "ALMOST_OPTIMAL"                # solver's "inaccurate" optimum (cvxpy, SCS)
    ALMOST_LOCALLY_OPTIMAL = "ALMOST_LOCALLY_OPTIMAL"  # IPOPT's "acceptable level"
    INFEASIBLE = "INFEASIBLE"
    LOCALLY_INFEASIBLE = "LOCALLY_INFEASIBLE"
    UNBOUNDED = "UNBOUNDED"
    INFEASIBLE_OR_UNBOUNDED = "INFEASIBLE_OR_UNBOUNDED"
    ITERATION_LIMIT = "ITERATION_LIMIT"
    TIME_LIMIT = "TIME_LIMIT"
    EVALUATION_LIMIT = "EVALUATION_LIMIT"
    NODE_LIMIT = "NODE_LIMIT"
    SOLUTION_LIMIT = "SOLUTION_LIMIT"
    OBJECTIVE_LIMIT = "OBJECTIVE_LIMIT"                # stopped at an objective bound or target
    MEMORY_LIMIT = "MEMORY_LIMIT"
    OTHER_LIMIT = "OTHER_LIMIT"                        # a solver limit not named above
    NUMERICAL_ERROR = "NUMERICAL_ERROR"
    INVALID_PROBLEM = "INVALID_PROBLEM"
    INTERRUPTED = "INTERRUPTED"
    ERROR = "ERROR"

    def __str__(self) -> str:  # print as the bare name
        return self.value

    @property
    def is_success(self) -> bool:
        """True for OPTIMAL and LOCALLY_OPTIMAL (the full claims)."""
        return self in (Termination.OPTIMAL, Termination.LOCALLY_OPTIMAL)

    @property
    def claims_optimality(self) -> bool:
        """True for a full or an "almost" (inaccurate/acceptable) claim of (local) optimality."""
        return self in CLAIMS_OPTIMALITY

    @property
    def is_limit(self) -> bool:
        """True for every *_LIMIT termination (the solver stopped on a budget, not a verdict)."""
        return self.value.endswith("_LIMIT")


class PrimalStatus(str, Enum):
    """What the returned primal point is."""

    FEASIBLE = "FEASIBLE"
    NEARLY_FEASIBLE = "NEARLY_FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    NO_SOLUTION = "NO_SOLUTION"

    def __str__(self) -> str:
        return self.value


CLAIMS_OPTIMALITY = frozenset({Termination.OPTIMAL, Termination.LOCALLY_OPTIMAL,
                               Termination.ALMOST_OPTIMAL, Termination.ALMOST_LOCALLY_OPTIMAL})
