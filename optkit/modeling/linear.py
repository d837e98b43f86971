"""``ok.LinearProblem``: LP/QP/MILP data given as arrays, or read from an MPS/LP file.

    minimize cᵀx + ½xᵀQx + c0  s.t.  rl <= Ax <= ru,  lb <= x <= ub,  x_j integer for j in I

This is the lowest-overhead path into the linear backends (no modelling layer in between).
"""
from __future__ import annotations

import os

from ..ir.linear_form import LinearForm
from ..ir.model_file import read_model_file
from .base import Direct, Model
from .classify import KINDS


class LinearProblem(Model):
    """A LinearForm wrapped as a model; ``x`` of results is in column order."""

    def __init__(self, c=None, A=None, rl=None, ru=None, lb=None, ub=None, Q=None, c0: float = 0.0,
                 integrality=None, sense: int = 1, name: str = "linear", form: LinearForm | None = None):
        if form is None:
            form = LinearForm(c=c, A=A, rl=rl, ru=ru, lb=lb, ub=ub, Q=Q, c0=c0,
                              integrality=integrality, sense=sense, name=name)
        self.form = form
        self.name = form.name
        self.problem_class = form.problem_class
        self.kinds = frozenset(KINDS[self.problem_class])
        self._compiled = Direct(form, form.sense)

    def compile(self, kind: str, x0=None):
        """The LinearForm itself ('linear'), or its NLPForm ('nlp')."""
        if kind == "linear":
            return self._compiled
        if kind == "nlp":
            return Direct(self.form.to_nlp_form(), self.form.sense)
        raise ValueError(f"unknown form kind {kind!r}")


def read(path: str | os.PathLike) -> LinearProblem:
    """Read an MPS or LP file into a LinearProblem (bad files raise errors naming the entry)."""
    return LinearProblem(form=read_model_file(path))
