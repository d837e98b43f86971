"""Shared shell of the bilevel backends: version and leaving the user's variable values alone."""
from __future__ import annotations

from ..backend import Backend
from ..options import SolveOptions
from .result import BilevelResult


class BilevelBackend(Backend):
    """A whole-model backend for ``ok.Bilevel``; subclasses implement ``_solve_model``."""

    accepts = frozenset({"bilevel"})

    def version(self) -> str:
        from .. import __version__

        return __version__

    def solve_model(self, model, options: SolveOptions) -> BilevelResult:
        """Solve; the variables' ``.value`` are left as they were (the result holds the point)."""
        with model.preserved_values():
            return self._solve_model(model, options)

    def _solve_model(self, model, options: SolveOptions) -> BilevelResult:  # pragma: no cover
        raise NotImplementedError
