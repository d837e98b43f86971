"""Oracles on the joint vector v = (x, y) of a bilevel model, compiled from cvxpy expressions.

Every variable of the model owns a contiguous slice of v (upper-level variables first, each
flattened in column-major order as cvxpy does). A scalar expression φ becomes a
:class:`ScalarFunction` with ``value(v)`` and ``grad(v)``; a vector expression e becomes a
:class:`VectorFunction` with ``value(v)`` (= vec(e), column-major) and ``jac(v)`` (∂e/∂v, CSR).

How derivatives are obtained (never Hessians at solve time):

1. cvxpy's DNLP engine through :func:`optkit.ir.cvxpy_nlp.compile_nlp` (exact sparse gradients and
   Jacobians computed in C), on a problem ``min φ`` or ``min 0 s.t. e == 0``. The engine is used
   only when cvxpy's NLP chain added no auxiliary variable, so that the compiled columns are
   exactly the model's variables (a column map sends them to v).
2. When φ is quadratic (``is_quadratic()``, e.g. products and squares of affine terms), its
   constant data φ(v) = ½vᵀPv + qᵀv + r are read once from the engine (value, gradient and
   Hessian at 0) and every later call is a sparse mat-vec; affine e likewise gives e(v) = Av + b.
3. When the chain introduced auxiliary variables t (e.g. for a quotient or the argument of a
   log) defined by equality rows c(v, t) = 0, a scalar φ is still evaluated by the engine:
   t(v) by Newton's method on c, and ∇φ = ∇ᵥφ̃ − J_vᵀ J_t⁻ᵀ ∇ₜφ̃ (implicit function theorem).
4. Otherwise the derivative comes from cvxpy's own ``expr.grad`` at the point: exact but slow.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import InvalidProblemError, UnsupportedProblemError


@dataclass
class JointIndex:
    """Positions of each cvxpy variable in the joint vector v (column-major within a variable)."""

    variables: list
    offsets: dict = field(default_factory=dict)  # var id -> (start, size)
    size: int = 0

    def __post_init__(self) -> None:
        start = 0
        for var in self.variables:
            self.offsets[var.id] = (start, int(var.size))
            start += int(var.size)
        self.size = start

    def slice(self, var) -> slice:
        """The slice of v that holds ``var``."""
        s, n = self.offsets[var.id]
        return slice(s, s + n)

    def values(self, v: np.ndarray) -> dict:
        """{variable: value with its shape}."""
        return {var: np.reshape(v[self.slice(var)], var.shape, order="F") if var.shape else
                float(v[self.slice(var)][0]) for var in self.variables}

    def set_values(self, v: np.ndarray) -> None:
        """Give every variable its value from v (for cvxpy's ``.value``/``.grad``)."""
        for var in self.variables:
            val = v[self.slice(var)]
            var.value = np.reshape(val, var.shape, order="F") if var.shape else float(val[0])

    def pack(self, values: dict, default: np.ndarray | None = None) -> np.ndarray:
        """A joint vector from {variable: value}; missing variables from ``default`` (or 0)."""
        v = np.zeros(self.size) if default is None else np.array(default, float)
        for var, val in values.items():
            if var.id not in self.offsets:
                raise InvalidProblemError(f"{var.name()} is not a variable of this bilevel model")
            arr = np.broadcast_to(np.asarray(val, float), var.shape)
            v[self.slice(var)] = np.ravel(arr, order="F")
        return v

    def column_map(self, compiled) -> np.ndarray | None:
        """Joint position of each compiled column, or None when the chain added variables."""
        cols = np.empty(compiled.form.n, dtype=np.int64)
        covered = 0
        for vid, off in compiled.var_offsets.items():
            if vid not in self.offsets:
                return None
            s, n = self.offsets[vid]
            cols[off:off + n] = np.arange(s, s + n)
            covered += n
        return cols if covered == compiled.form.n else None


def _engine_compile(problem, index: JointIndex, rows: int | None = None):
    """(compiled, columns) of ``problem`` on the joint vector; columns None when the compiled
    form is not a plain reindexing (auxiliary variables, or a row count other than ``rows``)."""
    try:
        comp = _quiet_compile(problem)
        cols = index.column_map(comp)
        if cols is not None and rows is not None and comp.form.m != rows:
            cols = None
        return comp, cols
    except Exception:  # not compilable by the engine: callers fall back to cvxpy's gradients
        return None, None


def _quiet_compile(problem):
    from ..ir.cvxpy_nlp import compile_nlp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compile_nlp(problem)


class ScalarFunction:
    """φ(v) with value and gradient on the joint vector (see module docstring)."""

    def __init__(self, expr, index: JointIndex, sign: float = 1.0, name: str = "function"):
        import cvxpy as cp

        self.expr, self.index, self.sign, self.name = expr, index, float(sign), name
        self.N = index.size
        self.mode = "cvxpy-grad"
        self.P = self.q = None
        self.r = 0.0
        if not expr.variables():
            self.mode, self.q, self.r = "constant", np.zeros(self.N), sign * float(np.asarray(expr.value))
            self.P = sp.csr_matrix((self.N, self.N))
            return
        comp, cols = _engine_compile(cp.Problem(cp.Minimize(expr)), index)
        if cols is None:
            if comp is not None and self._setup_implicit(comp, index):
                self.mode = "engine-implicit"
            return
        self._form, self._cols = comp.form, cols
        self.mode = "engine"
        if expr.is_quadratic() or expr.is_affine():
            z = np.zeros(comp.form.n)
            self.r = sign * float(comp.form.f(z))
            self.q = np.zeros(self.N)
            self.q[cols] = sign * comp.form.grad(z)
            H = sp.coo_matrix(comp.form.hess(z, np.zeros(comp.form.m)))
            self.P = sp.csr_matrix((sign * H.data, (cols[H.row], cols[H.col])), shape=(self.N, self.N))
            if self.N <= 2000 and self.P.nnz > 0.1 * self.N ** 2:
                self.P = self.P.toarray()  # dense mat-vec is faster for dense data
            self.mode = "quadratic"

    # ------------------------------------------------------------------ implicit auxiliaries
    def _setup_implicit(self, comp, index: JointIndex) -> bool:
        """Use the engine on a chain output with auxiliary variables t defined by equality rows
        c(v, t) = 0 (e.g. t = argument of a log): t(v) by Newton, and by the implicit function
        theorem ∇φ = ∇ᵥφ̃ − J_vᵀ J_t⁻ᵀ ∇ₜφ̃."""
        form = comp.form
        pos = np.full(form.n, -1, dtype=np.int64)
        for vid, off in comp.var_offsets.items():
            size = int(np.prod(comp.var_shapes[vid], dtype=int))
            if vid in index.offsets:
                s0, _ = index.offsets[vid]
                pos[off:off + size] = np.arange(s0, s0 + size)
        aux = np.flatnonzero(pos < 0)
        if aux.size == 0 or form.m != aux.size or not np.array_equal(form.cl, form.cu):
            return False
        self._form = form
        self._org = np.flatnonzero(pos >= 0)
        self._pos = pos[self._org]
        self._aux = aux
        self._z = np.array(form.x0, float)
        self._zv: np.ndarray | None = None
        return True

    def _solve_aux(self, v: np.ndarray) -> np.ndarray:
        if self._zv is not None and np.array_equal(v, self._zv):
            return self._z
        form, z = self._form, self._z.copy()
        z[self._org] = v[self._pos]
        for _ in range(50):
            r = form.cons(z) - form.cl
            if np.max(np.abs(r), initial=0.0) <= 1e-13 * (1.0 + np.max(np.abs(z[self._aux]))):
                break
            Jt = form.jac(z)[:, self._aux].toarray()
            z[self._aux] -= np.linalg.solve(Jt, r)
        self._z, self._zv = z, v.copy()
        return z

    def _implicit_grad(self, v: np.ndarray) -> np.ndarray:
        z = self._solve_aux(v)
        g = self._form.grad(z)
        J = self._form.jac(z)
        mu = np.linalg.solve(J[:, self._aux].toarray().T, g[self._aux])
        gv = g[self._org] - J[:, self._org].T @ mu
        out = np.zeros(self.N)
        np.add.at(out, self._pos, self.sign * gv)
        return out

    @property
    def is_quadratic(self) -> bool:
        """True when φ = ½vᵀPv + qᵀv + r with constant data."""
        return self.mode in ("quadratic", "constant")

    def value(self, v: np.ndarray) -> float:
        """φ(v)."""
        if self.is_quadratic:
            return float(0.5 * v @ (self.P @ v) + self.q @ v + self.r)
        if self.mode == "engine":
            return self.sign * float(self._form.f(v[self._cols]))
        if self.mode == "engine-implicit":
            return self.sign * float(self._form.f(self._solve_aux(v)))
        self.index.set_values(v)
        return self.sign * float(np.asarray(self.expr.value))

    def grad(self, v: np.ndarray) -> np.ndarray:
        """∇φ(v) (length N)."""
        if self.is_quadratic:
            return self.P @ v + self.q
        g = np.zeros(self.N)
        if self.mode == "engine":
            g[self._cols] = self.sign * self._form.grad(v[self._cols])
            return g
        if self.mode == "engine-implicit":
            return self._implicit_grad(v)
        self.index.set_values(v)
        for var, d in self.expr.grad.items():
            if d is None:
                raise UnsupportedProblemError(f"{self.name}: no gradient of {self.expr} at this point")
            g[self.index.slice(var)] = self.sign * np.ravel(d.toarray() if sp.issparse(d) else d)
        return g


class VectorFunction:
    """e(v) ∈ R^k with value and Jacobian on the joint vector (see module docstring)."""

    def __init__(self, exprs: list, index: JointIndex, name: str = "constraints"):
        import cvxpy as cp

        self.exprs = [cp.vec(e, order="F") if e.ndim > 1 else (cp.reshape(e, (1,), order="F") if e.ndim == 0 else e)
                      for e in exprs]
        self.index, self.name = index, name
        self.N = index.size
        self.k = int(sum(e.size for e in self.exprs))
        self.mode = "cvxpy-grad"
        self.A: Any = None  # A, b: set in affine mode only (then sparse k×N and a k-vector)
        self.b: Any = None
        if self.k == 0:
            self.mode, self.A, self.b = "affine", sp.csr_matrix((0, self.N)), np.zeros(0)
            return
        stacked = cp.hstack(self.exprs) if len(self.exprs) > 1 else self.exprs[0]
        self.stacked = stacked
        if not stacked.variables():
            self.mode, self.A = "affine", sp.csr_matrix((self.k, self.N))
            self.b = np.ravel(np.asarray(stacked.value, float))
            return
        comp, cols = _engine_compile(cp.Problem(cp.Minimize(0), [stacked == 0]), index,
                                     rows=self.k)
        if cols is None:  # auxiliary variables or rows: evaluate through cvxpy's own gradients
            return
        self._form, self._cols = comp.form, cols
        self.mode = "engine"
        if stacked.is_affine():
            z = np.zeros(comp.form.n)
            self.b = np.asarray(comp.form.cons(z), float)
            self.A = self._remap(comp.form.jac(z))
            self.mode = "affine"

    def _remap(self, J) -> sp.csr_matrix:
        J = sp.coo_matrix(J)
        return sp.csr_matrix((J.data, (J.row, self._cols[J.col])), shape=(self.k, self.N))

    @property
    def is_affine(self) -> bool:
        """True when e(v) = A v + b with constant data."""
        return self.mode == "affine"

    def value(self, v: np.ndarray) -> np.ndarray:
        """e(v)."""
        if self.is_affine:
            return self.A @ v + self.b
        if self.mode == "engine":
            return np.asarray(self._form.cons(v[self._cols]), float)
        self.index.set_values(v)
        return np.ravel(np.asarray(self.stacked.value, float))

    def jac(self, v: np.ndarray) -> sp.csr_matrix:
        """∂e/∂v (k×N, CSR)."""
        if self.is_affine:
            return self.A
        if self.mode == "engine":
            return self._remap(self._form.jac(v[self._cols]))
        self.index.set_values(v)
        J = sp.lil_matrix((self.k, self.N))
        for var, d in self.stacked.grad.items():
            if d is None:
                raise UnsupportedProblemError(f"{self.name}: no derivative of {self.stacked} here")
            d = d.toarray() if sp.issparse(d) else np.asarray(d)
            J[:, self.index.slice(var)] = np.reshape(d, (var.size, self.k)).T
        return J.tocsr()
