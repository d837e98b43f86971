"""Compile an LP, convex QP or MILP written in cvxpy to a LinearForm — in O(nnz), parameters kept live.

Two paths, the same conventions:

* **direct** (the common structure, O(nnz) time and memory): affine expressions built from
  variables, constants and parameters with ``+ - * / @``, ``sum``, indexing, ``reshape``,
  transposes and stacking; constraints ``==``, ``<=``, ``>=`` (and Zero/NonNeg/NonPos) between
  them; an objective that is affine plus ``quad_form(e, P)``, ``sum_squares(e)``,
  ``sum(square(e))`` / ``square(e)`` terms (e affine, P and the scale constant) — read straight
  from the expression tree into sparse matrices. Each affine expression e becomes
  vec(e) = J x + r (cvxpy's column-major vec, x the variables stacked in ``problem.variables()``
  order, each flattened column-major: cvxpy's own column order), so
  a constraint ``lhs <= rhs`` gives the rows  (J_lhs − J_rhs) x <= r_rhs − r_lhs,  ``lhs == rhs``
  the rows  (J_lhs − J_rhs) x = r_rhs − r_lhs,  NonNeg(e) the rows −J x <= r, NonPos(e) the rows
  J x <= −r; equality rows come first, then inequality rows, each in constraint order (cvxpy's
  HiGHS data order). A quadratic term contributes to ½xᵀQx + cᵀx + c0: quad_form(Jx + r, P) gives
  Q += 2JᵀPJ, c += 2JᵀPr, c0 += rᵀPr; sum_squares(Jx + r)/s gives Q += 2JᵀJ/s, c += 2Jᵀr/s,
  c0 += rᵀr/s. Variable attributes nonneg/nonpos/bounds/boolean/integer become column bounds and
  integrality, as in cvxpy's HiGHS path. Every row is written "≤" (or "="), so the multiplier y of
  its rows under L = f + yᵀAx is cvxpy's dual of the constraint itself (≥ 0 for inequalities,
  L = f + λᵀ(lhs − rhs) for ``lhs <= rhs`` and ``lhs == rhs``, f − λᵀe for NonNeg(e)),
  reshaped column-major to the constraint's shape.
* **cvxpy** (anything else: other atoms, matrix attributes, a problem the direct reader does not
  take): cvxpy's own canonicalisation, ``problem.get_problem_data(HIGHS)`` (equality rows
  A_eq x = b_eq then inequality rows A_in x <= b_in, column bounds, integer indices), mapped back
  by replaying cvxpy's inverse chain (:mod:`optkit.ir.cvxpy_chain`).

**Parameters.** A compiled problem records which of its pieces (the objective, each constraint,
the variable bounds) contain which parameters, and keeps a copy of every parameter's value.
:meth:`refresh` (called by ``Problem.compile("linear")`` before each solve) compares the values
(O(parameter size)); when some changed, the direct path re-reads only the pieces that depend on
them — subexpressions without parameters are cached, so for ``A @ x <= b_param`` only the right-hand
side is recomputed — and writes the new numbers into the existing LinearForm's arrays (same
sparsity pattern: in place; a changed pattern rebuilds A in O(nnz)); the cvxpy path asks cvxpy
again, which re-applies its own parametrised program (DPP) or recompiles (non-DPP). A changed
value is never served stale. ``stats`` counts builds and updates; ``form.meta["version"]`` is
bumped on every update and ``form.meta["changed"]`` names the arrays that changed; keys of
``form.meta`` that start with "_" (caches derived from the data, such as optkit's row scales)
are dropped on every update.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import DataError
from .cvxpy_chain import CvxpyChainMap
from .linear_form import LinearForm, symmetrized


class _Unsupported(Exception):
    """Structure the direct reader does not take: the cvxpy path compiles the problem instead."""


# ---------------------------------------------------------------------------------- parameters
class ParamWatch:
    """Copies of parameter values, to tell which parameters changed since the last compile."""

    def __init__(self, params: list) -> None:
        self.params = list(params)
        self.values = {p.id: _copy_value(p) for p in self.params}

    def changed(self) -> list:
        """Parameters whose value differs from the recorded copy (NaN/inf values are refused)."""
        out = []
        for p in self.params:
            old, new = self.values[p.id], p.value
            if new is None:
                from ..errors import InvalidProblemError

                raise InvalidProblemError(f"parameter {p.name()} has no value")
            if not _same_value(old, new):
                _check_finite_param(p, new)
                out.append(p)
        return out

    def record(self, params: list) -> None:
        """Remember the current values of ``params``."""
        for p in params:
            self.values[p.id] = _copy_value(p)


def _copy_value(p) -> Any:
    v = p.value
    if v is None:
        return None
    return v.copy() if hasattr(v, "copy") else np.array(v, dtype=float)


def _same_value(old, new) -> bool:
    if old is None:
        return False
    if sp.issparse(new) or sp.issparse(old):
        if not (sp.issparse(new) and sp.issparse(old)) or old.shape != new.shape:
            return False
        return (abs(old - new)).nnz == 0
    new = np.asarray(new)
    return old.shape == new.shape and bool(np.array_equal(old, new))


def _check_finite_param(p, value) -> None:
    data = value.data if sp.issparse(value) else np.asarray(value, dtype=float)
    if not np.all(np.isfinite(data)):
        bad = np.flatnonzero(~np.isfinite(np.ravel(data)))[0]
        raise DataError(f"parameter {p.name()} has the non-finite value "
                        f"{np.ravel(data)[bad]} (flat index {int(bad)})",
                        source=f"parameter {p.name()}", entry=str(int(bad)))


# ---------------------------------------------------------------------------------- affine data
class _Aff:
    """vec(e) = J x + r for an affine expression e of size k (column-major vec).

    ``J`` is CSR k×N (None when e has no variables), ``r`` a length-k vector (None: zero).
    A whole variable keeps only its column offset until its matrix is needed; a constant keeps
    its value (``value``, any shape, sparse allowed) and flattens it only when it is added.
    """

    __slots__ = ("k", "_J", "_r", "value", "var", "N")

    def __init__(self, k: int, N: int, J: sp.csr_matrix | None = None, r: np.ndarray | None = None,
                 value: Any = None, var: int | None = None) -> None:
        self.k, self.N, self._J, self._r, self.value, self.var = k, N, J, r, value, var

    @property
    def const(self) -> bool:
        """True when e has no variables."""
        return self._J is None and self.var is None

    @property
    def J(self) -> sp.csr_matrix | None:
        if self._J is None and self.var is not None:  # identity block at the variable's offset
            k = self.k
            self._J = sp.csr_matrix((np.ones(k), np.arange(self.var, self.var + k, dtype=np.int32),
                                     np.arange(k + 1, dtype=np.int32)), shape=(k, self.N))
        return self._J

    @property
    def r(self) -> np.ndarray | None:
        if self._r is None and self.value is not None:
            v = _dense(self.value)
            self._r = np.broadcast_to(v, ()).reshape(1).astype(float) if v.ndim == 0 else \
                np.ravel(v, order="F").astype(float, copy=False)
        return self._r

    def r_or_zeros(self) -> np.ndarray:
        r = self.r
        return np.zeros(self.k) if r is None else r


def _dense(v) -> np.ndarray:
    """A constant's value as a plain float ndarray (sparse densified: only for addends)."""
    if sp.issparse(v):
        return v.toarray()
    if isinstance(v, np.matrix):
        return np.asarray(v.A, dtype=float)
    return np.asarray(v, dtype=float)


def _index_grid(shape: tuple, start: int = 0) -> np.ndarray:
    """Positions start.. of a column-major vec, laid out in ``shape``."""
    size = int(np.prod(shape)) if shape else 1
    return np.arange(start, start + size).reshape(shape, order="F") if shape else \
        np.array(start)


def _gather(a: _Aff, idx: np.ndarray) -> _Aff:
    """Rows ``idx`` of a (vec(e)[idx])."""
    idx = np.asarray(idx, dtype=np.int64).reshape(-1)
    k = idx.size
    if a.var is not None and a._J is None:
        J = sp.csr_matrix((np.ones(k), (a.var + idx).astype(np.int32),
                           np.arange(k + 1, dtype=np.int32)), shape=(k, a.N))
    else:
        J = a.J[idx] if a.J is not None else None
    r = a.r
    return _Aff(k, a.N, J=J, r=None if r is None else r[idx])


def _scale_rows(a: _Aff, w: np.ndarray) -> _Aff:
    """diag(w)·(Jx + r) for a length-k weight vector (or a scalar)."""
    w = np.asarray(w, dtype=float)
    J = a.J
    if w.size == 1:
        s = float(w.reshape(-1)[0])
        J2 = None if J is None else J * s
        r = a.r
        return _Aff(a.k, a.N, J=J2, r=None if r is None else r * s)
    J2 = None
    if J is not None:
        J2 = sp.csr_matrix((J.data * np.repeat(w, np.diff(J.indptr)), J.indices, J.indptr),
                           shape=J.shape)
    r = a.r
    return _Aff(a.k, a.N, J=J2, r=None if r is None else r * w)


def _sum_csr(mats: list, shape: tuple) -> sp.csr_matrix | None:
    """Σ mats in one COO pass (no pairwise additions: linear in the total nnz)."""
    mats = [M for M in mats if M is not None]
    if not mats:
        return None
    if len(mats) == 1:
        return mats[0]
    rows = np.concatenate([np.repeat(np.arange(M.shape[0]), np.diff(M.indptr)) for M in mats])
    cols = np.concatenate([M.indices for M in mats])
    vals = np.concatenate([M.data for M in mats])
    out = sp.csr_matrix((vals, (rows, cols)), shape=shape)
    out.sum_duplicates()
    return out


def _as_matrix(value) -> sp.csr_matrix:
    """A constant operand of ``@`` as CSR (1-D → one row); dense input in one pass."""
    if sp.issparse(value):
        return sp.csr_matrix(value, dtype=float)
    arr = _dense(value)
    arr = arr.reshape(1, -1) if arr.ndim <= 1 else arr
    mask = arr != 0
    indptr = np.zeros(arr.shape[0] + 1, dtype=np.int64)
    np.cumsum(mask.sum(axis=1), out=indptr[1:])
    cols = np.nonzero(mask)[1]
    itype = np.int32 if max(arr.shape[1], cols.size) < 2**31 - 1 else np.int64
    return sp.csr_matrix((arr[mask], cols.astype(itype), indptr.astype(itype)), shape=arr.shape)


_LEAVES: tuple = ()


def _leaf_types() -> tuple:
    """(Variable, Parameter, Constant) of cvxpy, imported once."""
    global _LEAVES
    if not _LEAVES:
        from cvxpy.expressions.constants.constant import Constant
        from cvxpy.expressions.constants.parameter import Parameter
        from cvxpy.expressions.variable import Variable

        _LEAVES = (Variable, Parameter, Constant)
    return _LEAVES


_GATHER_ATOMS = frozenset({"index", "special_index", "transpose", "reshape", "Promote", "Hstack",
                           "Vstack", "Concatenate", "broadcast_to"})


class _Reader:
    """Reads affine and quadratic cvxpy expressions into sparse data (see module docstring).

    Results of subexpressions without parameters are cached by node, so a re-read after a
    parameter change recomputes only what depends on the parameter.
    """

    def __init__(self, offsets: dict[int, int], N: int) -> None:
        self.offsets = offsets
        self.N = N
        self.memo: dict[int, tuple[Any, _Aff]] = {}
        self.qmemo: dict[int, tuple[Any, tuple]] = {}

    # -------------------------------------------------------------- affine
    def aff(self, node) -> _Aff:
        """vec(node) = J x + r."""
        return self._aff(node)[0]

    def _aff(self, node) -> tuple[_Aff, bool]:
        """(affine data, whether the node depends on a parameter)."""
        hit = self.memo.get(id(node))
        if hit is not None and hit[0] is node:  # (the node is kept: its id is not reused)
            return hit[1], False
        Variable, Parameter, Constant = _leaf_types()
        if isinstance(node, Variable):
            out, has_p = _Aff(node.size, self.N, var=self.offsets[node.id]), False
        elif isinstance(node, Parameter):
            return _Aff(node.size, self.N, value=node.value), True
        elif isinstance(node, Constant):
            out, has_p = _Aff(node.size, self.N, value=node.value), False
        else:
            kids = [self._aff(a) for a in node.args]
            has_p = any(h for _, h in kids)
            args = [a for a, _ in kids]
            if all(a.const for a in args):
                out = _Aff(node.size, self.N, value=self._fold(node, args))
            else:
                out = self._combine(node, args)
        if not has_p:
            self.memo[id(node)] = (node, out)
        return out, has_p

    @staticmethod
    def _fold(node, args: list[_Aff]) -> Any:
        """Numeric value of a node whose arguments are all constant."""
        try:
            return node.numeric([a.value for a in args])
        except Exception:  # an atom whose numeric() wants other formats: cvxpy evaluates it
            return node.value

    def _combine(self, node, args: list[_Aff]) -> _Aff:
        name = type(node).__name__
        N, k = self.N, node.size
        if name == "AddExpression":
            parts = [self._broadcast(a, arg.shape, node.shape) for a, arg in zip(args, node.args)]
            J = _sum_csr([p.J for p in parts if not p.const], (k, N))
            rs = [p.r for p in parts if p.r is not None]
            r = None if not rs else (rs[0].copy() if len(rs) == 1 else np.sum(rs, axis=0))
            if len(rs) == 1 and rs[0].size != k:
                r = np.broadcast_to(rs[0], (k,)).copy()
            return _Aff(k, N, J=J, r=r)
        if name == "NegExpression":
            a = args[0]
            return _Aff(k, N, J=None if a.J is None else -a.J, r=None if a.r is None else -a.r)
        if name == "multiply":
            const, other, ocvx = ((args[0], args[1], node.args[1]) if args[0].const else
                                  (args[1], args[0], node.args[0]))
            if not const.const:
                raise _Unsupported("product of two variable expressions")
            w = _dense(const.value)
            other = self._broadcast(other, ocvx.shape, node.shape)
            w = w if w.size == 1 else np.ravel(np.broadcast_to(w, node.shape), order="F")
            return _scale_rows(other, w)
        if name == "DivExpression":
            if not args[1].const or args[0].const:
                raise _Unsupported("division by a variable expression")
            w = _dense(args[1].value)
            other = self._broadcast(args[0], node.args[0].shape, node.shape)
            w = w if w.size == 1 else np.ravel(np.broadcast_to(w, node.shape), order="F")
            return _scale_rows(other, 1.0 / w)
        if name == "MulExpression":
            return self._matmul(node, args)
        if name == "Sum":
            return self._sum(node, args[0])
        if name in _GATHER_ATOMS:
            return self._structural(node, args)
        raise _Unsupported(f"atom {name}")

    def _broadcast(self, a: _Aff, shape: tuple, out_shape: tuple) -> _Aff:
        if tuple(shape) == tuple(out_shape):
            return a
        if a.const:
            v = _dense(a.value)
            return _Aff(int(np.prod(out_shape)), self.N, value=np.broadcast_to(v, out_shape))
        idx = np.broadcast_to(_index_grid(tuple(shape)), out_shape)
        return _gather(a, np.ravel(idx, order="F"))

    def _matmul(self, node, args: list[_Aff]) -> _Aff:
        lhs, rhs = node.args
        N, k = self.N, node.size
        if lhs.ndim == 0 or rhs.ndim == 0:  # scalar times expression: elementwise
            const, other, ocvx = ((args[0], args[1], rhs) if args[0].const else
                                  (args[1], args[0], lhs))
            if not const.const:
                raise _Unsupported("product of two variable expressions")
            other = self._broadcast(other, ocvx.shape, node.shape)
            return _scale_rows(other, _dense(const.value).reshape(-1)[:1])
        if args[0].const and not args[1].const:  # L @ R, L constant
            L = _as_matrix(args[0].value)
            R = args[1]
            t = 1 if rhs.ndim == 1 else rhs.shape[1]
            if t == 1 and R.var is not None and R._J is None:
                # L @ x for a whole vector variable: L itself, columns shifted (no product)
                J = sp.csr_matrix((L.data, L.indices + R.var, L.indptr), shape=(L.shape[0], N))
            else:
                M = L if t == 1 else sp.kron(sp.identity(t, format="csr"), L, format="csr")
                J = (M @ R.J).tocsr()
            r = None
            if R.r is not None:
                q = rhs.shape[0]
                r = np.ravel(L @ R.r.reshape((q, t), order="F"), order="F")
            return _Aff(k, N, J=J, r=r)
        if args[1].const and not args[0].const:  # X @ R, R constant: vec(XR) = (Rᵀ ⊗ I_p) vec(X)
            Rv = args[1].value
            Rm = _as_matrix(Rv).T.tocsr() if (np.ndim(Rv) == 1 and not sp.issparse(Rv)) else \
                _as_matrix(Rv)
            p = 1 if lhs.ndim == 1 else lhs.shape[0]
            M = sp.kron(Rm.T, sp.identity(p, format="csr"), format="csr")
            X = args[0]
            J = (M @ X.J).tocsr()
            r = None if X.r is None else M @ X.r
            return _Aff(k, N, J=J, r=r)
        raise _Unsupported("product of two variable expressions")

    def _sum(self, node, a: _Aff) -> _Aff:
        N = self.N
        if getattr(node, "axis", None) is None:
            J = a.J
            if J is not None:
                cols, inv = np.unique(J.indices, return_inverse=True)
                vals = np.bincount(inv, weights=J.data, minlength=cols.size)
                J = sp.csr_matrix((vals, cols.astype(np.int32), np.array([0, cols.size], np.int32)),
                                  shape=(1, N))
            r = a.r
            return _Aff(1, N, J=J, r=None if r is None else np.array([r.sum()]))
        grid = _index_grid(tuple(node.args[0].shape))
        out = np.sum(np.zeros(grid.shape), axis=node.axis, keepdims=True)  # reduced shape
        owner = np.broadcast_to(_index_grid(out.shape), grid.shape)
        S = sp.csr_matrix((np.ones(grid.size), (np.ravel(owner, order="F"), np.ravel(grid, order="F"))),
                          shape=(out.size, grid.size))
        J = None if a.J is None else (S @ a.J).tocsr()
        r = None if a.r is None else S @ a.r
        return _Aff(out.size, N, J=J, r=r)

    def _structural(self, node, args: list[_Aff]) -> _Aff:
        """Indexing, reshapes, transposes and stacking: a row gather of the arguments' rows."""
        name = type(node).__name__
        grids, start = [], 0
        for arg in node.args:
            grids.append(_index_grid(tuple(arg.shape), start))
            start += arg.size
        g0 = grids[0]
        if name in ("index", "special_index"):
            idx = g0[node.key] if g0.ndim else g0
        elif name == "transpose":
            idx = np.transpose(g0, axes=node.axes)
        elif name == "reshape":
            idx = np.reshape(g0, node.shape, order=node.order)
        elif name in ("Promote", "broadcast_to"):
            idx = np.broadcast_to(g0, node.shape)
        elif name == "Hstack":
            idx = np.hstack(grids)
        elif name == "Vstack":
            idx = np.vstack(grids)
        else:  # Concatenate
            idx = np.concatenate(grids, axis=node.axis)
        idx = np.ravel(np.asarray(idx), order="F")
        if idx.size != node.size:
            raise _Unsupported(f"{name} with an unexpected shape")
        if len(args) == 1:
            return _gather(args[0], idx)
        mats = [a.J if a.J is not None else sp.csr_matrix((a.k, self.N)) for a in args]
        stacked = _Aff(start, self.N, J=sp.vstack(mats, format="csr"),
                       r=np.concatenate([a.r_or_zeros() for a in args]))
        return _gather(stacked, idx)

    # -------------------------------------------------------------- quadratic (objective)
    def quad(self, node) -> tuple[sp.csr_matrix | None, np.ndarray, float]:
        """(H, g, g0) with node = xᵀHx + gᵀx + g0 (scalar node, H symmetric or None)."""
        hit = self.qmemo.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        out = self._quad(node)
        if not node.parameters():
            self.qmemo[id(node)] = (node, out)
        return out

    def _is_const(self, node) -> bool:
        return not node.variables()

    def _scalar(self, node) -> float:
        v = _dense(node.value)
        if v.size != 1:
            raise _Unsupported("a non-scalar factor of a quadratic term")
        return float(v.reshape(-1)[0])

    def _quad(self, node) -> tuple[sp.csr_matrix | None, np.ndarray, float]:
        name = type(node).__name__
        N = self.N
        if name == "AddExpression":
            if any(a.size != 1 for a in node.args):
                raise _Unsupported("a non-scalar sum in the objective")
            parts = [self.quad(a) for a in node.args]
            H = _sum_csr([h for h, _, _ in parts], (N, N))
            return H, np.sum([g for _, g, _ in parts], axis=0), float(sum(g0 for _, _, g0 in parts))
        if name == "NegExpression":
            return _qscale(self.quad(node.args[0]), -1.0)
        if name in ("multiply", "MulExpression") and node.size == 1:
            a, b = node.args
            if a.size == 1 and b.size == 1:  # a scalar factor times a scalar term
                if self._is_const(a) and not self._is_const(b):
                    return _qscale(self.quad(b), self._scalar(a))
                if self._is_const(b) and not self._is_const(a):
                    return _qscale(self.quad(a), self._scalar(b))
        if name == "DivExpression" and self._is_const(node.args[1]) and node.size == 1:
            return _qscale(self.quad(node.args[0]), 1.0 / self._scalar(node.args[1]))
        if name == "QuadForm":
            e, P = node.args
            if not self._is_const(P):
                raise _Unsupported("quad_form with a variable matrix")
            return self._quadratic(self.aff(e), P.value, 1.0)
        if name == "quad_over_lin" and getattr(node, "axis", None) is None:
            e, s = node.args
            if not self._is_const(s):
                raise _Unsupported("quad_over_lin with a variable denominator")
            return self._quadratic(self.aff(e), None, 1.0 / self._scalar(s))
        if name == "Sum" and getattr(node, "axis", None) is None:
            inner = node.args[0]
            w = None
            if type(inner).__name__ == "multiply":
                a, b = inner.args
                if self._is_const(a) and _is_square(b):
                    w, inner = a, b
                elif self._is_const(b) and _is_square(a):
                    w, inner = b, a
            if _is_square(inner):
                weights = None
                if w is not None:
                    weights = np.ravel(np.broadcast_to(_dense(w.value), inner.shape), order="F")
                return self._quadratic(self.aff(inner.args[0]), None, 1.0, weights)
        if _is_square(node) and node.size == 1:
            return self._quadratic(self.aff(node.args[0]), None, 1.0)
        a = self.aff(node)  # affine (raises _Unsupported for anything else)
        if a.k != 1:
            raise _Unsupported("a non-scalar objective")
        g = np.zeros(N) if a.J is None else np.bincount(a.J.indices, weights=a.J.data,
                                                        minlength=N)
        return None, g, float(a.r_or_zeros()[0])

    def _quadratic(self, a: _Aff, P, s: float, w: np.ndarray | None = None
                   ) -> tuple[sp.csr_matrix | None, np.ndarray, float]:
        """s·(Jx + r)ᵀ W (Jx + r) with W = P (a constant matrix), diag(w), or the identity."""
        N = self.N
        r = a.r_or_zeros()
        if P is not None:
            Pm = sp.csr_matrix(P, dtype=float) if sp.issparse(P) else \
                sp.csr_matrix(np.atleast_2d(np.asarray(P, dtype=float)))
            Pr = Pm @ r
        else:
            Pm = None
            Pr = r if w is None else w * r
        g0 = s * float(r @ Pr)
        if a.const:
            return None, np.zeros(N), g0
        if a.var is not None and a._J is None:  # whole variable: W itself at the offset
            o, k = a.var, a.k
            if Pm is not None:
                C = Pm.tocoo()
                H = sp.csr_matrix((C.data * s if s != 1.0 else C.data, (C.row + o, C.col + o)),
                                  shape=(N, N))
            else:
                d = np.full(k, s) if w is None else s * w
                H = sp.csr_matrix((d, (np.arange(o, o + k), np.arange(o, o + k))), shape=(N, N))
            g = np.zeros(N)
            g[o:o + k] = 2 * s * Pr
            return H, g, g0
        J = a.J
        assert J is not None  # constant arguments were answered above
        JT = J.T.tocsr()
        if Pm is not None:
            H = (JT @ (Pm @ J)).tocsr()
        elif w is not None:
            H = (JT @ _scale_rows(_Aff(J.shape[0], N, J=J), w).J).tocsr()
        else:
            H = (JT @ J).tocsr()
        if s != 1.0:
            H.data *= s
        g = 2 * s * (JT @ Pr)
        return H, np.asarray(g).reshape(-1), g0


def _is_square(node) -> bool:
    """power(e, 2) (cvxpy's square)."""
    if type(node).__name__ not in ("power", "Power", "PowerApprox"):
        return False
    p = getattr(node, "p", None)
    p = getattr(p, "value", p)
    if p is None:
        return False
    try:
        return float(p) == 2.0
    except (TypeError, ValueError):
        return False


def _qscale(q: tuple, s: float) -> tuple:
    H, g, g0 = q
    return (None if H is None else H * s), g * s, g0 * s


# ---------------------------------------------------------------------------------- direct path
@dataclass
class _Piece:
    """One constraint's rows: J x (= or <=) rhs, with the sources its matrix was built from."""

    con: Any
    kind: str                      # "eq" or "le"
    params: list
    src: tuple = ()                # the J objects the block came from (identity: unchanged)
    J: Any = None                  # CSR rows and right-hand side, set by DirectLinear._read_piece
    rhs: Any = None
    start: int = 0                 # first row in the form


class DirectLinear:
    """A LinearForm read straight from a cvxpy problem, and the maps back (see module docstring)."""

    path = "direct"

    def __init__(self, problem, name: str) -> None:
        import cvxpy as cp

        self.problem = problem
        self.name = name
        self.variables = problem.variables()
        self.offsets: dict[int, int] = {}
        off = 0
        for v in self.variables:
            _check_variable(v)
            self.offsets[v.id] = off
            off += v.size
        self.N = off
        self.reader = _Reader(self.offsets, self.N)
        self.sense = -1 if isinstance(problem.objective, cp.Maximize) else 1
        self.obj_params = problem.objective.parameters()
        self.bound_params = [p for v in self.variables for b in (v.attributes.get("bounds") or [])
                             if isinstance(b, cp.Expression) for p in b.parameters()]
        self.pieces: list[_Piece] = []
        for con in problem.constraints:
            kind = _constraint_kind(con)
            self.pieces.append(_Piece(con=con, kind=kind, params=con.parameters()))
        self.pieces.sort(key=lambda p: 0 if p.kind == "eq" else 1)  # stable: eq rows first
        params = list(problem.parameters())
        known = {p.id for p in params}
        for p in self.bound_params:
            if p.id not in known:
                known.add(p.id)
                params.append(p)
        self.watch = ParamWatch(params)
        self.stats: dict[str, Any] = {"builds": 1, "updates": 0, "pieces_reread": 0, "path": "direct"}
        for piece in self.pieces:
            self._read_piece(piece)
        start = 0
        for piece in self.pieces:
            piece.start = start
            start += piece.J.shape[0]
        c, Q, c0 = self._objective()
        lb, ub, integrality = self._bounds()
        A = self._stack()
        rhs = [p.rhs for p in self.pieces]
        ru = np.concatenate(rhs) if rhs else np.zeros(0)
        rl = np.concatenate([p.rhs if p.kind == "eq" else np.full(p.rhs.size, -np.inf)
                             for p in self.pieces]) if rhs else np.zeros(0)
        self.form = LinearForm(c=c, A=A, rl=rl, ru=ru, lb=lb, ub=ub, Q=Q, c0=c0,
                               integrality=integrality, sense=self.sense, name=name)
        self.form.meta.update({"version": 0, "changed": (), "compiled_by": "optkit-direct"})

    # ------------------------------------------------------------------ reading
    def _read_piece(self, piece: _Piece) -> None:
        rd = self.reader
        con = piece.con
        name = type(con).__name__
        if name in ("Equality", "Inequality"):
            lhs, rhs = rd.aff(con.args[0]), rd.aff(con.args[1])
            src: tuple = (lhs.J, rhs.J)
            shape = con.shape
            lhs = self._fit(lhs, con.args[0].shape, shape)
            rhs = self._fit(rhs, con.args[1].shape, shape)
            if piece.J is not None and len(piece.src) == 2 and all(
                    a is b for a, b in zip(src, piece.src)):
                J = piece.J
            else:
                J = _sum_csr([lhs.J, None if rhs.J is None else -rhs.J], (con.size, self.N))
            b = rhs.r_or_zeros() - lhs.r_or_zeros()
        else:  # Zero, NonNeg, NonPos of one expression e = Jx + r
            e = self._fit(rd.aff(con.args[0]), con.args[0].shape, con.shape)
            src = (e.J,)
            same = piece.J is not None and len(piece.src) == 1 and piece.src[0] is e.J
            if name == "NonNeg":  # e >= 0  ⇔  −J x <= r
                J = piece.J if same else (None if e.J is None else -e.J)
                b = e.r_or_zeros().copy()
            else:  # Zero: J x = −r ; NonPos: J x <= −r
                J = piece.J if same else e.J
                b = -e.r_or_zeros()
        if J is None:
            J = sp.csr_matrix((con.size, self.N))
        J.sort_indices()
        piece.src, piece.J, piece.rhs = src, J, np.asarray(b, dtype=float).reshape(-1)
        if piece.rhs.size != con.size:
            piece.rhs = np.broadcast_to(piece.rhs, (con.size,)).copy()

    def _fit(self, a: _Aff, shape: tuple, out_shape: tuple) -> _Aff:
        return self.reader._broadcast(a, shape, out_shape) if tuple(shape) != tuple(out_shape) else a

    def _objective(self) -> tuple[np.ndarray, sp.csr_matrix | None, float]:
        H, g, g0 = self.reader.quad(self.problem.objective.args[0])
        s = float(self.sense)
        # a new matrix: H may be a cached subexpression's own (never scaled in place)
        Q = None if H is None or H.nnz == 0 else H * (2.0 * s)
        return s * g, Q, s * g0

    def _bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        N = self.N
        lb, ub = np.full(N, -np.inf), np.full(N, np.inf)
        integrality = np.zeros(N, dtype=bool)
        for v in self.variables:
            o, k = self.offsets[v.id], v.size
            at = v.attributes
            sl = slice(o, o + k)
            if at.get("nonneg"):
                lb[sl] = 0.0
            if at.get("nonpos"):
                ub[sl] = 0.0
            bounds = at.get("bounds")
            if bounds is not None:
                for side, arr, pick in ((0, lb, np.maximum), (1, ub, np.minimum)):
                    bnd = bounds[side]
                    val = getattr(bnd, "value", bnd)
                    if val is None:
                        continue
                    val = np.asarray(val, dtype=float)
                    arr[sl] = pick(arr[sl], np.ravel(np.broadcast_to(val, v.shape), order="F"))
            if at.get("boolean"):
                integrality[sl] = True
                lb[sl] = np.maximum(lb[sl], 0.0)
                ub[sl] = np.minimum(ub[sl], 1.0)
            if at.get("integer"):
                integrality[sl] = True
        return lb, ub, integrality

    def _stack(self) -> sp.csr_matrix:
        if not self.pieces:
            return sp.csr_matrix((0, self.N))
        if len(self.pieces) == 1:  # a copy: the form's data are updated in place later
            return self.pieces[0].J.copy()
        return sp.vstack([p.J for p in self.pieces], format="csr")

    # ------------------------------------------------------------------ parameters
    def refresh(self) -> bool:
        """Re-apply changed parameter values to the form's data (see module docstring)."""
        changed = self.watch.changed()
        if not changed:
            return False
        ids = {p.id for p in changed}
        form = self.form
        what: set[str] = set()
        rebuild = False
        for piece in self.pieces:
            if not any(p.id in ids for p in piece.params):
                continue
            old_J = piece.J
            self._read_piece(piece)
            self.stats["pieces_reread"] += 1
            rows = slice(piece.start, piece.start + piece.rhs.size)
            form.ru[rows] = piece.rhs
            if piece.kind == "eq":
                form.rl[rows] = piece.rhs
                what.add("rl")
            what.add("ru")
            if piece.J is not old_J:
                what.add("A")
                a0, a1 = form.A.indptr[rows.start], form.A.indptr[rows.stop]
                J = piece.J
                J.sort_indices()
                if (not rebuild and J.nnz == a1 - a0
                        and np.array_equal(np.diff(form.A.indptr[rows.start:rows.stop + 1]),
                                           np.diff(J.indptr))
                        and np.array_equal(form.A.indices[a0:a1], J.indices)):
                    form.A.data[a0:a1] = J.data
                else:
                    rebuild = True
        if rebuild:
            form.A = self._stack()
        if any(p.id in ids for p in self.obj_params):
            c, Q, c0 = self._objective()
            form.c[:] = c
            form.c0 = c0
            form.Q = None if Q is None else symmetrized(sp.csr_matrix(Q, dtype=float))
            what.update({"c", "c0", "Q"})
        if any(p.id in ids for p in self.bound_params):
            lb, ub, _ = self._bounds()
            form.lb[:], form.ub[:] = lb, ub
            what.update({"lb", "ub"})
        # caches derived from the old data: row scales depend on A, convexity on Q
        stale = {"A": ("_row_scale", "_row_factors"), "Q": ("_convexity", "_convexity_key")}
        drop = {k for part, keys in stale.items() if part in what for k in keys}
        drop |= {k for k in form.meta if k.startswith("_") and not any(
            k in keys for keys in stale.values())}
        for key in drop:
            form.meta.pop(key, None)
        form.validate()
        self.watch.record(changed)
        self.stats["updates"] += 1
        form.meta["version"] = form.meta.get("version", 0) + 1
        form.meta["changed"] = tuple(sorted(what))
        return True

    # ------------------------------------------------------------------ mapping back
    def values(self, x: np.ndarray) -> dict[int, Any]:
        """User variable id → value at the flat point x (column-major, cvxpy's shapes)."""
        x = np.asarray(x, dtype=float)
        out = {}
        for v in self.variables:
            o = self.offsets[v.id]
            out[v.id] = x[o:o + v.size].reshape(v.shape, order="F")
        return out

    def duals(self, x: np.ndarray, y: np.ndarray) -> dict[int, Any]:
        """User constraint id → multiplier in cvxpy's convention (the rows' own y, reshaped)."""
        if self.form.is_mip:
            return {}
        y = np.asarray(y, dtype=float)
        out = {}
        for piece in self.pieces:
            k = piece.rhs.size
            out[piece.con.id] = y[piece.start:piece.start + k].reshape(piece.con.shape, order="F")
        return out


def _check_variable(v) -> None:
    at = v.attributes
    for name, val in at.items():
        if name in ("nonneg", "nonpos", "boolean", "integer"):
            if not isinstance(val, (bool, np.bool_)):
                raise _Unsupported(f"{name} attribute with an index list")
            continue
        if name == "bounds":
            continue
        if not (val is None or (isinstance(val, (bool, np.bool_)) and not val)):
            raise _Unsupported(f"variable attribute {name}")


def _constraint_kind(con) -> str:
    name = type(con).__name__
    if name in ("Equality", "Zero"):
        return "eq"
    if name in ("Inequality", "NonNeg", "NonPos"):
        return "le"
    raise _Unsupported(f"constraint {name}")


# ---------------------------------------------------------------------------------- cvxpy path
@dataclass
class CompiledLinear(CvxpyChainMap):
    """A LinearForm with cvxpy's chain and inverse data for mapping back."""

    form: LinearForm
    chain: Any
    inverses: list
    problem: Any = None
    watch: Any = None
    stats: dict = field(default_factory=lambda: {"builds": 1, "updates": 0, "path": "cvxpy"})
    path: str = "cvxpy"

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

    def refresh(self) -> bool:
        """Recompile through cvxpy when a parameter changed (cvxpy re-applies its DPP tensors)."""
        if self.watch is None:
            return False
        changed = self.watch.changed()
        if not changed:
            return False
        version = self.form.meta.get("version", 0) + 1
        fresh = _compile_via_cvxpy(self.problem, self.form.name)
        self.form, self.chain, self.inverses = fresh.form, fresh.chain, fresh.inverses
        self.form.meta.update({"version": version, "changed": ("all",)})
        self.watch.record(changed)
        self.stats["builds"] += 1
        self.stats["updates"] += 1
        return True


def compile_linear(problem, name: str = "cvxpy-linear", direct: bool | None = None):
    """LinearForm of a cvxpy LP/QP/MILP (the caller has classified it).

    The direct reader is tried first (``direct=None``); structure it does not take goes through
    cvxpy's canonicalisation. ``direct=True`` insists on the direct reader (raising
    UnsupportedProblemError), ``direct=False`` forces cvxpy's path.
    """
    from ..errors import UnsupportedProblemError

    if direct is not False:
        try:
            return DirectLinear(problem, name)
        except (_Unsupported, RecursionError) as exc:
            if direct:
                raise UnsupportedProblemError(f"the direct LinearForm reader does not take this "
                                              f"problem: {exc}") from None
    return _compile_via_cvxpy(problem, name)


def _compile_via_cvxpy(problem, name: str) -> CompiledLinear:
    """LinearForm through cvxpy's HiGHS problem data (see module docstring)."""
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
    form.meta.update({"version": 0, "changed": (), "compiled_by": "cvxpy"})
    params = problem.parameters()
    return CompiledLinear(form=form, chain=chain, inverses=inverses, problem=problem,
                          watch=ParamWatch(params) if params else None)
