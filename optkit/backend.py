"""The backend interface: what a solver plug-in declares and implements.

A backend declares ``name``, the problem classes it ``accepts`` (lp, milp, qp, miqp, conic, nlp,
nlp-equality, bilevel, multiobjective), its own ``options`` with defaults, ``is_available()``
(without importing heavy native code) and ``version()``. It implements ``solve_linear`` (on a
:class:`~optkit.ir.LinearForm`), ``solve_nlp`` (on an :class:`~optkit.ir.NLPForm`), or overrides
``solve_model`` for problems that are not single-level (bilevel, multiobjective) or that it takes
whole (cvxpy). Results come back in form coordinates; :func:`optkit.solve` measures KKT residuals,
fills timings and maps the point back to user variables.
"""
from __future__ import annotations

import importlib.util
from typing import Any, ClassVar

from .options import SolveOptions
from .results import Result

LINEAR_CLASSES = frozenset({"lp", "qp", "milp", "miqp"})


class Backend:
    """Base class of every optkit backend (see module docstring)."""

    name: ClassVar[str] = ""
    accepts: ClassVar[frozenset[str]] = frozenset()
    options: ClassVar[dict[str, Any]] = {}
    requires: ClassVar[tuple[str, ...]] = ()  # importable modules the backend needs
    description: ClassVar[str] = ""

    # ---------------------------------------------------------------- declarations
    def is_available(self) -> bool:
        """True when every module in ``requires`` can be found (nothing is imported)."""
        return all(importlib.util.find_spec(mod) is not None for mod in self.requires)

    def unavailable_reason(self) -> str:
        """Why the backend cannot run here (empty when available)."""
        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        return f"missing Python module(s): {', '.join(missing)}" if missing else ""

    def version(self) -> str:
        """Version of the underlying solver (empty when unknown)."""
        return ""

    def form_for(self, model) -> str:
        """Which compiled form this backend wants for ``model``: 'linear', 'nlp' or 'model'."""
        if model.problem_class in LINEAR_CLASSES and type(self).solve_linear is not Backend.solve_linear:
            return "linear"
        if type(self).solve_nlp is not Backend.solve_nlp:
            return "nlp"
        return "model"

    # ---------------------------------------------------------------- solving
    def solve_linear(self, form, options: SolveOptions) -> Result:  # pragma: no cover - interface
        """Solve a LinearForm; return x, y in form coordinates."""
        raise NotImplementedError

    def solve_nlp(self, form, options: SolveOptions) -> Result:  # pragma: no cover - interface
        """Solve an NLPForm; return x, y in form coordinates."""
        raise NotImplementedError

    def solve_model(self, model, options: SolveOptions) -> Result:  # pragma: no cover - interface
        """Solve a whole model (bilevel, multiobjective, or a cvxpy problem handed over as is)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<optkit backend {self.name!r} accepts={sorted(self.accepts)}>"
