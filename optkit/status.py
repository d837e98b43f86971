"""Termination and primal statuses of a solve, in the style of MathOptInterface.

``Termination`` says *why the solver stopped*; ``PrimalStatus`` says *what the returned point is*.
The two are independent: a solve may stop on ITERATION_LIMIT with a FEASIBLE point.
"""
from __future__ import annotations

from enum import Enum


class Termination(str, Enum):
    """Why a backend stopped."""

    OPTIMAL = "OPTIMAL"
    LOCALLY_OPTIMAL = "LOCALLY_OPTIMAL"
    INFEASIBLE = "INFEASIBLE"
    LOCALLY_INFEASIBLE = "LOCALLY_INFEASIBLE"
    UNBOUNDED = "UNBOUNDED"
    INFEASIBLE_OR_UNBOUNDED = "INFEASIBLE_OR_UNBOUNDED"
    ITERATION_LIMIT = "ITERATION_LIMIT"
    TIME_LIMIT = "TIME_LIMIT"
    EVALUATION_LIMIT = "EVALUATION_LIMIT"
    NUMERICAL_ERROR = "NUMERICAL_ERROR"
    INVALID_PROBLEM = "INVALID_PROBLEM"
    INTERRUPTED = "INTERRUPTED"
    ERROR = "ERROR"

    def __str__(self) -> str:  # print as the bare name
        return self.value

    @property
    def is_success(self) -> bool:
        """True for OPTIMAL and LOCALLY_OPTIMAL."""
        return self in (Termination.OPTIMAL, Termination.LOCALLY_OPTIMAL)


class PrimalStatus(str, Enum):
    """What the returned primal point is."""

    FEASIBLE = "FEASIBLE"
    NEARLY_FEASIBLE = "NEARLY_FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    NO_SOLUTION = "NO_SOLUTION"

    def __str__(self) -> str:
        return self.value
