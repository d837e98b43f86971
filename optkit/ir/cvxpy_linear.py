"""Compile an LP, convex QP or MILP written in cvxpy to a LinearForm.

We ask cvxpy for its HiGHS problem data (its own canonicalisation, no expression code of ours):
equality rows A_eq x = b_eq then inequality rows A_in x <= b_in, column bounds and integer
indices. Mapping back replays cvxpy's inverse chain on a solution built from our x and y, so
``value(var)`` and ``dual(con)`` come out exactly as cvxpy would report them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .cvxpy_chain import CvxpyChainMap
from .linear_form import LinearForm


@dataclass
class CompiledLinear(CvxpyChainMap):
    """A LinearForm with cvxpy's chain and inverse data for mapping back."""

    form: LinearForm
    chain: Any
    inverses: list

    def _chain(self) -> tuple[list, list]:
        return self.chain.reductions[:-1], self.inverses[:-1]

    def _end_solution(self, x: np.ndarray, y: np.ndarray | None) -> tuple[dict, dict]:
        from cvxpy.reductions.solvers import utilities

        solver = self.chain.solver
        sinv = self.inverses[-1]
        dual = {}
        if y is not None and not self.form.is_mip:
            dual = utilities.get_dual_values(y, utilities.extract_dual_value,
                                             sinv[solver.EQ_CONSTR] + sinv[solver.NEQ_CONSTR])
        return {solver.VAR_ID: x}, dual


def compile_linear(problem, name: str = "cvxpy-linear") -> CompiledLinear:
    """LinearForm of a cvxpy LP/QP/MILP (the caller has classified it)."""
    import cvxpy as cp
    import cvxpy.settings as s

    from ..errors import UnsupportedProblemError

    try:
        data, chain, inverses = problem.get_problem_data(cp.HIGHS)
    except cp.error.SolverError as exc:  # e.g. MIQP: cvxpy's HiGHS path refuses it
        raise UnsupportedProblemError(
            f"this problem has no LinearForm through cvxpy's HiGHS data path ({exc}); mixed-integer "
            f"QPs written in cvxpy are solved whole by the 'cvxpy' backend (SCIP)") from exc
    if "P" in data:  # QP interface: A x = b, F x <= G
        n = int(data["n_var"])
        A_eq, b_eq = sp.csr_matrix(data["A"]), np.asarray(data["b"], float)
        A_in, b_in = sp.csr_matrix(data["F"]), np.asarray(data["G"], float)
        c, Q = np.asarray(data["q"], float), sp.csr_matrix(data["P"])
    else:  # conic interface: A x + s = b, s in zero cone then nonnegative orthant
        dims = data["dims"]
        A, b = sp.csr_matrix(data["A"]), np.asarray(data["b"], float)
        c, Q, n = np.asarray(data["c"], float), None, data["c"].size
        z = dims.zero
        A_eq, b_eq, A_in, b_in = A[:z], b[:z], A[z:z + dims.nonneg], b[z:z + dims.nonneg]
    A_all = sp.vstack([A_eq, A_in], format="csr") if A_in.shape[0] or A_eq.shape[0] else sp.csr_matrix((0, n))
    rl = np.concatenate([b_eq, np.full(A_in.shape[0], -np.inf)])
    ru = np.concatenate([b_eq, b_in])
    lb = data.get("lower_bounds")
    ub = data.get("upper_bounds")
    lb = np.full(n, -np.inf) if lb is None else np.asarray(lb, float)
    ub = np.full(n, np.inf) if ub is None else np.asarray(ub, float)
    integrality = np.zeros(n, dtype=bool)
    bools = list(data.get("bool_vars_idx", []))
    integrality[bools] = True
    integrality[list(data.get("int_vars_idx", []))] = True
    if bools:
        lb[bools] = np.maximum(lb[bools], 0.0)
        ub[bools] = np.minimum(ub[bools], 1.0)
    try:
        offset = float(inverses[-1][s.OFFSET])
    except (KeyError, TypeError):
        offset = float(data.get(s.OFFSET, 0.0))
    sense = -1 if isinstance(problem.objective, cp.Maximize) else 1
    form = LinearForm(c=c, A=A_all, rl=rl, ru=ru, lb=lb, ub=ub, Q=Q, c0=offset,
                      integrality=integrality, sense=sense, name=name)
    return CompiledLinear(form=form, chain=chain, inverses=inverses)
