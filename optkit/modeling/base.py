"""What every single-level model offers the solve façade.

``problem_class`` is the most specific class (lp, qp, milp, miqp, conic, nlp); ``kinds`` all
classes the model belongs to (an LP is also a QP, conic and NLP), used to match backends.
``compile(kind, x0)`` returns a compiled object with ``.form`` (LinearForm or NLPForm) and
``bind(result, compiled)`` maps a form-level result back to user units and names.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..results import Result


class Model:
    """Base of Problem, NLP and LinearProblem."""

    name: str = "model"
    problem_class: str = ""
    kinds: frozenset[str] = frozenset()

    def size_hint(self) -> int:
        """Number of scalar variables (for routing; 0 when unknown before compiling)."""
        form = getattr(self, "form", None)
        return int(getattr(form, "n", 0) or getattr(self, "n", 0) or 0)

    def compile(self, kind: str, x0: Any = None):  # pragma: no cover - interface
        """Compiled object with ``.form`` for ``kind`` in {'linear', 'nlp'}."""
        raise NotImplementedError

    def bind(self, result: Result, compiled) -> Result:
        """Report the objective in user units; flat x/y stay as they are."""
        form = compiled.form
        if result.x is not None and result.objective is None:
            x = np.asarray(result.x, float)
            val = form.objective(x) if hasattr(form, "objective") else form.f_fn(x)
            result.objective = float(getattr(form, "sense", getattr(compiled, "sense", 1)) * val)
        return result


class Direct:
    """A compiled object that is just a form (no mapping back needed)."""

    def __init__(self, form, sense: int = 1):
        self.form = form
        self.sense = sense
