"""optkit: an optimization modelling toolkit on cvxpy's algebra.

    import cvxpy as cp, optkit as ok
    res = ok.solve(ok.Problem(cp.Minimize(f), constraints), "ipopt")
"""
from __future__ import annotations

from . import registry
from . import solvers  # type: ignore[attr-defined]  # installed from solvers/; callable: ok.solvers()
from .backend import Backend
from .errors import (DataError, InvalidProblemError, NotSolvedError, OptionError, OptkitError,
                     ReadError, ReadTimeoutError, SolverUnavailableError, UnknownSolverError, UnsupportedProblemError)
from .ir import LinearForm, NLPForm
from .linear_system import LinearSystem
from .modeling import NLP, LinearProblem, Problem, read
from .options import Option, SolveOptions
from .raw import RawSolution, iteration_record
from .results import Result
from .solving import solve
from .status import PrimalStatus, Termination
from .verify import KKTReport, Tolerances

__version__ = "0.1.0"


def __getattr__(name: str):
    # heavier subpackages load on first use
    if name in ("Bilevel", "Level"):
        from . import bilevel
        return getattr(bilevel, name)
    if name in ("MultiObjective", "ParetoResult"):
        from . import multiobjective
        return getattr(multiobjective, name)
    if name == "solve_sequence":
        from .sequence import solve_sequence
        return solve_sequence
    if name in ("batch", "problems", "testing", "decompose", "analysis", "tuning"):
        import importlib
        return importlib.import_module(f"optkit.{name}")
    raise AttributeError(f"module 'optkit' has no attribute {name!r}")


__all__ = ["solve", "solvers", "Problem", "NLP", "LinearProblem", "read", "Result", "Termination",
           "PrimalStatus", "SolveOptions", "Option", "RawSolution", "iteration_record", "KKTReport",
           "Tolerances", "Backend", "NLPForm", "LinearForm", "registry", "LinearSystem",
           "solve_sequence",
           "OptkitError", "InvalidProblemError", "DataError", "ReadError", "ReadTimeoutError",
           "UnsupportedProblemError", "UnknownSolverError", "SolverUnavailableError", "OptionError",
           "NotSolvedError"]
