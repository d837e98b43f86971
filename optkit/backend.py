"""The backend interface: what a solver plug-in declares and implements.

A backend declares ``name``, the problem classes it ``accepts`` (lp, milp, qp, miqp, conic, nlp,
nlp-equality, bilevel, multiobjective), its own ``options`` with defaults, ``is_available()``
(without importing heavy native code) and ``version()``. It implements ``solve_linear`` (on a
:class:`~optkit.ir.LinearForm`), ``solve_nlp`` (on an :class:`~optkit.ir.NLPForm`), or overrides
``solve_model`` for problems that are not single-level (bilevel, multiobjective) or that it takes
whole (cvxpy). ``solve_linear``/``solve_nlp`` return a :class:`~optkit.raw.RawSolution` in form
coordinates; :func:`optkit.finish.finish` maps its status through ``STATUS_MAP``, measures KKT
residuals and feasibility, and decides the verdict. (Returning a :class:`Result` still works for
methods whose statuses are optkit's own; it is measured the same way.)

Declarations, as CVXPY's solver files and Pyomo's typed options:

- ``STATUS_MAP``: native status → :class:`~optkit.status.Termination` (the docs' status tables are
  generated from it; a native status missing from it becomes ERROR with the status named).
- ``options``: the backend's own options, each an :class:`~optkit.options.Option` with a typed
  domain (plain values are defaults without a domain).
- ``accepts`` (problem classes) and :meth:`refuse` (structure it cannot take, checked on the
  compiled form before any solve; one error type, :class:`UnsupportedProblemError`).
- ``priority``: problem class → rank when no solver is named (higher wins; absent = never a
  default); :meth:`priority_for` may refine it by size. ``capabilities``: what the backend offers
  beyond solving (``duals``, ``integer``, ``inner-solver``, ...), used when one method looks for
  another through the registry.
- ``requires`` and ``extra``: the importable modules the backend needs, and the pip extra that
  brings them (None for the base install); :meth:`unavailable_reason` names both.
- :meth:`solver_option_names`: the native option names, when the solver can list them, so that
  an unknown key in ``solver_options`` is refused with the valid names.
"""
from __future__ import annotations

import importlib.util
from typing import Any, ClassVar

from .extras import install_hint
from .options import SolveOptions
from .results import Result
from .status import Termination

LINEAR_CLASSES = frozenset({"lp", "qp", "milp", "miqp"})


class Backend:
    """Base class of every optkit backend (see module docstring)."""

    name: ClassVar[str] = ""
    accepts: ClassVar[frozenset[str]] = frozenset()
    options: ClassVar[dict[str, Any]] = {}
    requires: ClassVar[tuple[str, ...]] = ()  # importable modules the backend needs
    description: ClassVar[str] = ""
    STATUS_MAP: ClassVar[dict[Any, Termination]] = {}
    priority: ClassVar[dict[str, float]] = {}
    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: the pip extra that brings the modules in ``requires`` (None: they are in the base install);
    #: an unavailable backend's reason names it (``pip install 'optkit[EXTRA]'``, docs/install.md)
    extra: ClassVar[str | None] = None
    #: the tolerance the method aims at when no ``tol`` is given (None: a mature solver's own
    #: tight defaults); optkit's verdict then uses it (:meth:`optkit.verify.Tolerances.from_options`)
    default_tol: ClassVar[float | None] = None

    def priority_for(self, model) -> float | None:
        """Rank of this backend as the default for ``model`` (None: never chosen by default)."""
        return self.priority.get(getattr(model, "problem_class", ""))

    def refuse(self, form) -> str | None:
        """Why this backend cannot take the compiled ``form`` (None when it can)."""
        return None

    def solver_option_names(self) -> list[str] | None:
        """The native option names ``solver_options`` may use, or None when they cannot be listed."""
        return None

    # ---------------------------------------------------------------- declarations
    def is_available(self) -> bool:
        """True when every module in ``requires`` can be found (nothing is imported); looked up
        once per backend instance (installed modules do not come and go within a process)."""
        cached = self.__dict__.get("_available")
        if cached is None:
            cached = all(importlib.util.find_spec(mod) is not None for mod in self.requires)
            self.__dict__["_available"] = cached
        return cached

    def unavailable_reason(self) -> str:
        """Why the backend cannot run here (empty when available)."""
        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if not missing:
            return ""
        hint = f"; {install_hint(self.extra)}" if self.extra else ""
        return f"missing Python module(s): {', '.join(missing)}{hint}"

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
