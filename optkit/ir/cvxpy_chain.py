"""Mapping a compiled point back through a cvxpy reduction chain.

A compiled cvxpy problem keeps the reductions that produced its form and their inverse data.
Given the form's point x and multipliers y, it builds the solution the last reduction's output
would have had and replays ``invert`` backwards, so values and duals come out exactly as cvxpy
reports them for the user's own variables and constraints.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class CvxpyChainMap:
    """Base of CompiledLinear and CompiledNLP: subclasses say how x, y look at the chain's end."""

    def _chain(self) -> tuple[list, list]:  # pragma: no cover - interface
        """(reductions, inverse data) to invert, in the order they were applied."""
        raise NotImplementedError

    def _end_solution(self, x: np.ndarray, y: np.ndarray | None) -> tuple[dict, dict]:
        """(primal, dual) dictionaries keyed as the chain's last problem names them."""
        raise NotImplementedError  # pragma: no cover - interface

    def _solution(self, x: np.ndarray, y: np.ndarray | None):
        import cvxpy.settings as s
        from cvxpy.reductions.solution import Solution

        primal, dual = self._end_solution(np.asarray(x, float), None if y is None else np.asarray(y, float))
        sol = Solution(s.OPTIMAL, 0.0, primal, dual, {})
        reductions, inverses = self._chain()
        for red, inv in zip(reversed(reductions), reversed(inverses)):
            sol = red.invert(sol, inv)
        return sol

    def values(self, x: np.ndarray) -> dict[int, Any]:
        """User variable id → value at the flat point x."""
        return self._solution(x, None).primal_vars

    def duals(self, x: np.ndarray, y: np.ndarray) -> dict[int, Any]:
        """User constraint id → multiplier (cvxpy's convention)."""
        return self._solution(x, y).dual_vars
