"""Compile a cvxpy problem to an NLPForm through cvxpy's DNLP differentiation engine.

The engine's oracles are only right on a problem that went through cvxpy's own NLP reduction
chain (FlipObjective for maximisation, CvxAttr2Constr, Dnlp2Smooth): built on the original problem
a quotient x0/x1 is differentiated with x1 frozen. We apply that chain, build the oracles on its
output, and invert the chain to map points and multipliers back to the user's variables.

Row multipliers y follow L = f + yᵀc on the lowered rows (equalities lhs − rhs = 0, inequalities
as nonnegative slacks expr ≥ 0); :meth:`CompiledNLP.duals` converts them to cvxpy's convention
(inequality duals ≥ 0).

Derivatives come from one of two engines, chosen per problem (``compiled.extra["derivatives"]``):

- ``"optkit"`` (:mod:`optkit.ir.smooth_affine`): smooth elementwise atoms, products and quotients
  over affine arguments, assembled in time and memory linear in the number of nonzeros;
- ``"cvxpy"``: cvxpy's C differentiation engine, for every problem the first one does not cover
  (``extra["fallback_reason"]`` says which atom). Its Hessian structure — whose set-up grows
  ~n² when an atom's argument is not a bare variable — is built on the first Hessian request.

Both read parameters at their values when the problem is compiled, and both expose the fixed
Jacobian and lower-triangle Hessian structures of :class:`NLPForm`, built lazily.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..errors import UnsupportedProblemError
from .cvxpy_chain import CvxpyChainMap
from .nlp_form import NLPForm


def _chain(problem):
    import cvxpy as cp
    from cvxpy.reductions.cvx_attr2constr import CvxAttr2Constr
    from cvxpy.reductions.dnlp2smooth.dnlp2smooth import Dnlp2Smooth
    from cvxpy.reductions.flip_objective import FlipObjective

    reductions: list = [FlipObjective()] if isinstance(problem.objective, cp.Maximize) else []
    reductions += [CvxAttr2Constr(reduce_bounds=False), Dnlp2Smooth()]
    return reductions


def _set_start(problem, x0: dict | None) -> dict:
    """Give every variable a start value (user's x0 first, then cvxpy's rule); returns old values."""
    from cvxpy.reductions.solvers.nlp_solving_chain import _set_nlp_initial_point

    saved = {v.id: v.value for v in problem.variables()}
    for var, val in (x0 or {}).items():
        arr = np.broadcast_to(np.asarray(val, dtype=float), var.shape)
        var.value = np.array(arr)
    _set_nlp_initial_point(problem)
    return saved


class _Bounds:
    """cvxpy's ``Bounds`` (nlp_solver.py) with vectorised bookkeeping (same results).

    Rows: an equality lhs == rhs becomes Zero(lhs − rhs) with cl = cu = 0, an inequality
    lhs <= rhs becomes NonNeg(rhs − lhs) with cl = 0, cu = +inf. Variable bounds come from
    ``var.get_bounds()`` and x0 from the variables' values, both flattened column-major, in the
    order of ``problem.variables()``.
    """

    def __init__(self, problem):
        from cvxpy.constraints import Equality, Inequality
        from cvxpy.reductions.utilities import lower_equality, lower_ineq_to_nonneg

        cl, cu, rows = [], [], []
        for con in problem.constraints:
            if isinstance(con, Equality):
                rows.append(lower_equality(con))
                cu.append(np.zeros(con.size))
            elif isinstance(con, Inequality):
                rows.append(lower_ineq_to_nonneg(con))
                cu.append(np.full(con.size, np.inf))
            else:  # pragma: no cover - rejected before
                continue
            cl.append(np.zeros(con.size))
        self.new_problem = problem.copy([problem.objective, rows])
        self.cl = np.concatenate(cl) if cl else np.zeros(0)
        self.cu = np.concatenate(cu) if cu else np.zeros(0)
        lbs, ubs, x0 = [], [], []
        for var in problem.variables():
            lo, hi = var.get_bounds()
            lbs.append(np.broadcast_to(np.asarray(lo, float), var.shape).reshape(-1, order="F"))
            ubs.append(np.broadcast_to(np.asarray(hi, float), var.shape).reshape(-1, order="F"))
            if var.value is None:  # pragma: no cover - _set_start gives every variable a value
                raise ValueError(f"variable {var.name()} has no start value")
            x0.append(np.atleast_1d(np.asarray(var.value, float)).reshape(-1, order="F"))
        self.lb = np.concatenate(lbs) if lbs else np.zeros(0)
        self.ub = np.concatenate(ubs) if ubs else np.zeros(0)
        self.x0 = np.concatenate(x0) if x0 else np.zeros(0)


class _CSRPattern:
    """A fixed COO pattern turned into CSR once; each evaluation only permutes and sums values."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]):
        self.shape = shape
        order = np.lexsort((cols, rows))
        r, c = rows[order], cols[order]
        first = np.ones(r.size, dtype=bool)
        first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
        self.order = order
        self.slot = np.cumsum(first) - 1  # duplicates (if any) add into one slot
        self.nslots = int(first.sum())
        self.indices = c[first].astype(np.int32)
        self.indptr = np.concatenate(([0], np.cumsum(np.bincount(r[first], minlength=shape[0])))
                                     ).astype(np.int32)
        self.unique = self.nslots == r.size

    def matrix(self, values: np.ndarray) -> sp.csr_matrix:
        v = values[self.order]
        if not self.unique:
            v = np.bincount(self.slot, weights=v, minlength=self.nslots)
        return sp.csr_matrix((v, self.indices, self.indptr), shape=self.shape)


class _EngineOracles:
    """The C engine's oracles with the forward pass cached per point (derivatives need it).

    Checked with cvxpy 1.9.3: the engine's Lagrangian Hessian comes out as zeros unless the
    gradient and the Jacobian were evaluated (at some point) after the forward pass, so ``hess``
    makes sure both were evaluated at the current point first.
    """

    def __init__(self, problem, n: int, m: int):
        from cvxpy.reductions.solvers.nlp_solvers.diff_engine import C_problem

        self.cp = C_problem(problem, verbose=False)
        self.cp.init_jacobian_coo()
        self.n, self.m = n, m
        self.jac_rows = self.jac_cols = np.zeros(0, np.int64)
        if m:
            r, c = self.cp.get_jacobian_sparsity_coo()
            self.jac_rows, self.jac_cols = np.asarray(r, np.int64), np.asarray(c, np.int64)
            self.jac_pattern = _CSRPattern(self.jac_rows, self.jac_cols, (m, n))
        self._hess_ready = False  # the Hessian structure is built on the first request
        self._x: np.ndarray | None = None
        self._first_order_done = False
        self._f = 0.0
        self._c = np.zeros(m)

    def _forward(self, x: np.ndarray) -> None:
        if self._x is None or not np.array_equal(x, self._x):
            x = np.ascontiguousarray(x, dtype=float)
            self._f = float(self.cp.objective_forward(x))
            self._c = np.array(self.cp.constraint_forward(x), dtype=float) if self.m else np.zeros(0)
            self._x = x.copy()
            self._first_order_done = False

    def _first_order(self) -> None:
        if not self._first_order_done:
            self.cp.gradient()
            if self.m:
                self.cp.eval_jacobian_vals()
            self._first_order_done = True

    def f(self, x):
        self._forward(x)
        return self._f

    def grad(self, x):
        self._forward(x)
        return np.array(self.cp.gradient(), dtype=float)

    def cons(self, x):
        self._forward(x)
        return self._c.copy()

    def jac(self, x):
        self._forward(x)
        return self.jac_pattern.matrix(np.asarray(self.cp.eval_jacobian_vals(), dtype=float))

    def _hessian_structure(self) -> None:
        if not self._hess_ready:
            self.cp.init_hessian_coo_lower_tri()
            r, c = self.cp.get_problem_hessian_sparsity_coo()
            self.hess_rows, self.hess_cols = np.asarray(r, np.int64), np.asarray(c, np.int64)
            self.hoff = self.hess_rows != self.hess_cols  # strict lower part, mirrored above
            self.hess_pattern = _CSRPattern(
                np.concatenate([self.hess_rows, self.hess_cols[self.hoff]]),
                np.concatenate([self.hess_cols, self.hess_rows[self.hoff]]), (self.n, self.n))
            self._hess_ready = True

    def jac_structure(self):
        return self.jac_rows, self.jac_cols

    def jac_values(self, x):
        self._forward(x)
        return np.asarray(self.cp.eval_jacobian_vals(), dtype=float)

    def hess_structure(self):
        self._hessian_structure()
        return self.hess_rows, self.hess_cols

    def hess_lower_values(self, x, y, obj_factor=1.0):
        self._hessian_structure()
        self._forward(x)
        self._first_order()
        y = np.ascontiguousarray(y, dtype=float) if self.m else np.zeros(0)
        return np.asarray(self.cp.eval_hessian_vals_coo_lower_tri(float(obj_factor), y), float)

    def hess(self, x, y, obj_factor=1.0):
        vals = self.hess_lower_values(x, y, obj_factor)
        return self.hess_pattern.matrix(np.concatenate([vals, vals[self.hoff]]))


@dataclass
class CompiledNLP(CvxpyChainMap):
    """An NLPForm with the maps back to the user's cvxpy variables and constraints."""

    form: NLPForm
    reductions: list
    inverses: list
    var_offsets: dict
    var_shapes: dict
    row_blocks: list  # (constraint id, first row, shape, is_equality)
    sense: int
    extra: dict = field(default_factory=dict)

    def _chain(self) -> tuple[list, list]:
        return self.reductions, self.inverses

    def _end_solution(self, x: np.ndarray, y: np.ndarray | None) -> tuple[dict, dict]:
        primal = {vid: np.reshape(x[off:off + int(np.prod(self.var_shapes[vid], dtype=int))],
                                  self.var_shapes[vid], order="F")
                  for vid, off in self.var_offsets.items()}
        dual = {}
        if y is not None:
            for cid, start, shape, is_eq in self.row_blocks:
                size = int(np.prod(shape, dtype=int))
                block = np.reshape(y[start:start + size], shape, order="F")
                dual[cid] = block if is_eq else -block
        return primal, dual


DERIVATIVE_ENGINES = ("auto", "optkit", "cvxpy")


def _optkit_oracles(problem, var_offsets: dict, n: int):
    """optkit's linear-time oracles, or (None, reason) when the problem uses an uncovered atom."""
    from .smooth_affine import NotCovered, lower_problem

    try:
        return lower_problem(problem, var_offsets, n), None
    except NotCovered as exc:
        return None, str(exc)


def compile_nlp(problem, x0: dict | None = None, name: str = "cvxpy-nlp",
                derivatives: str = "auto") -> CompiledNLP:
    """Apply cvxpy's NLP chain to ``problem`` and build an NLPForm on its smooth output.

    ``derivatives``: "auto" (optkit's linear-time reduction when it covers every term of the
    problem, else cvxpy's engine), "optkit" (raise when not covered) or "cvxpy" (the engine).
    """
    if derivatives not in DERIVATIVE_ENGINES:
        raise ValueError(f"derivatives must be one of {DERIVATIVE_ENGINES}, got {derivatives!r}")
    import cvxpy as cp
    from cvxpy.constraints import Equality, Inequality
    from cvxpy.reductions.inverse_data import InverseData

    saved = _set_start(problem, x0)
    try:
        reductions = _chain(problem)
        p, inverses = problem, []
        for red in reductions:
            p, inv = red.apply(p)
            inverses.append(inv)
        for con in p.constraints:
            if not isinstance(con, (Equality, Inequality)):
                raise UnsupportedProblemError(
                    f"constraint {con} ({type(con).__name__}) cannot be compiled to a smooth NLP; "
                    f"write it with ==, <= or >=")
        bounds = _Bounds(p)
    finally:
        for var in problem.variables():
            if var.id in saved:
                var.value = saved[var.id]
    blocks, start = [], 0
    for con in p.constraints:
        blocks.append((con.id, start, con.shape, isinstance(con, Equality)))
        start += con.size
    inv_data = InverseData(bounds.new_problem)
    n, m = bounds.x0.size, bounds.cl.size
    extra: dict = {}
    oracles = None
    if derivatives != "cvxpy":
        oracles, reason = _optkit_oracles(bounds.new_problem, dict(inv_data.var_offsets), n)
        if oracles is None:
            if derivatives == "optkit":
                raise UnsupportedProblemError(f"optkit's smooth-affine derivatives do not cover "
                                              f"this problem: {reason}")
            extra["fallback_reason"] = reason
        else:
            extra["derivatives"] = "optkit"
            extra["smooth_affine"] = oracles.summary()
    if oracles is None:
        oracles = _EngineOracles(bounds.new_problem, n, m)
        extra["derivatives"] = "cvxpy"
    form = NLPForm(n=n, m=m, x0=bounds.x0, f_fn=oracles.f, grad_fn=oracles.grad,
                   cons_fn=oracles.cons, jac_fn=oracles.jac, hess_fn=oracles.hess,
                   lb=bounds.lb, ub=bounds.ub, cl=bounds.cl, cu=bounds.cu, name=name,
                   jac_structure_fn=oracles.jac_structure, jac_values_fn=oracles.jac_values,
                   hess_structure_fn=oracles.hess_structure,
                   hess_values_fn=oracles.hess_lower_values)
    sense = -1 if isinstance(problem.objective, cp.Maximize) else 1
    return CompiledNLP(form=form, reductions=reductions, inverses=inverses,
                       var_offsets=dict(inv_data.var_offsets), var_shapes=dict(inv_data.var_shapes),
                       row_blocks=blocks, sense=sense, extra=extra)
