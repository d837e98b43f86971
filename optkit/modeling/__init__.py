"""Modelling layer: problems written in cvxpy algebra, as callbacks, or read from files."""
from .base import Model
from .problem import Problem
from .nlp import NLP
from .linear import LinearProblem, read

__all__ = ["Model", "Problem", "NLP", "LinearProblem", "read"]
