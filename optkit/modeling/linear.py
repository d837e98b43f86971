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

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, strict: bool = True,
                  time_limit: float | None = None) -> LinearProblem:
        """The model of an MPS/LP file: :func:`read` (same arguments)."""
        return cls(form=read_model_file(path, strict=strict, time_limit=time_limit))

    def bind(self, result, compiled):
        """As Model.bind; a lenient read's warnings go to ``result.extra["read_warnings"]``."""
        result = super().bind(result, compiled)
        warnings = self.form.meta.get("read_warnings")
        if warnings:
            result.extra.setdefault("read_warnings", list(warnings))
        return result

    def compile(self, kind: str, x0=None):
        """The LinearForm itself ('linear'), or its NLPForm ('nlp')."""
        if kind == "linear":
            return self._compiled
        if kind == "nlp":
            return Direct(self.form.to_nlp_form(), self.form.sense)
        raise ValueError(f"unknown form kind {kind!r}")


def read(path: str | os.PathLike, *, strict: bool = True,
         time_limit: float | None = None) -> LinearProblem:
    """Read an MPS or LP file (optionally .gz/.bz2/.xz) into a LinearProblem.

    Bad files raise errors naming the file, the line and the entry; ``strict=False`` accepts
    what HiGHS's reader accepts and keeps the warnings in ``form.meta["read_warnings"]`` (copied
    to ``result.extra["read_warnings"]`` of each solve); ``time_limit`` bounds the read (seconds).
    See :func:`optkit.ir.model_file.read_model_file`.
    """
    return LinearProblem(form=read_model_file(path, strict=strict, time_limit=time_limit))
