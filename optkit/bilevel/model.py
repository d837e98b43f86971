"""``ok.Level`` and ``ok.Bilevel``: a bilevel problem in cvxpy algebra.

    bl = ok.Bilevel(upper=ok.Level(cp.Minimize(F), upper_constraints, variables=[x]),
                    lower=ok.Level(cp.Minimize(f), lower_constraints, variables=[y]))

is the optimistic bilevel problem

    min_{x, y} F(x, y)  s.t.  G(x, y) ≤ 0, H(x, y) = 0 (upper constraints),  y ∈ S(x),
    S(x) = argmin_y { f(x, y) : g(x, y) ≤ 0, h(x, y) = 0, y ∈ Y }   (lower constraints).

Every variable is owned by exactly one level (``variables=``; one level may leave it out and
gets every variable the other level does not own). ``cp.Maximize`` is allowed in either level and
is turned into minimisation of the negative. :meth:`Bilevel.data` compiles the model once into
:class:`BilevelData`: oracles on the joint vector v = (x, y) and the recognised simple sets:

- boxes: bounds from variable attributes (``nonneg``, ``nonpos``, ``bounds``) and constraints of
  one level whose rows each touch a single variable entry of that level (``y >= 0``, ``x <= 3``);
- upper-level affine equalities touching only upper variables (an affine set for x);
- the rest: upper rows G ≤ 0, H = 0 and lower rows g ≤ 0, h = 0 (lower equalities get free
  multipliers in the methods).

Non-finite data are refused when the model is built (:mod:`optkit.bilevel.checks`): a NaN or ±inf
in any constant or parameter value of either level raises :class:`~optkit.errors.DataError` with
``source`` naming the level and piece ("lower level constraint 0") and ``entry`` the index.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import InvalidProblemError, UnsupportedProblemError
from ..kkt import row_abs_max, scaled_violation
from .checks import check_constants, check_vector
from .functions import JointIndex, ScalarFunction, VectorFunction


class Level:
    """One level of a bilevel problem: objective, constraints and the variables it owns."""

    def __init__(self, objective, constraints: list | None = None, variables: list | None = None,
                 name: str | None = None):
        import cvxpy as cp

        if not isinstance(objective, (cp.Minimize, cp.Maximize)):
            raise InvalidProblemError("a Level objective must be cp.Minimize(...) or cp.Maximize(...), "
                                      f"got {type(objective).__name__}")
        self.objective = objective
        self.constraints = list(constraints or [])
        for i, c in enumerate(self.constraints):
            if not isinstance(c, cp.constraints.constraint.Constraint):
                raise InvalidProblemError(f"{name or 'level'} constraint {i} is a {type(c).__name__}, "
                                          f"not a cvxpy constraint (did a comparison evaluate to a bool?)")
        if variables is not None:
            variables = list(variables)
            for v in variables:
                if not isinstance(v, cp.Variable):
                    raise InvalidProblemError(f"variables= must list cvxpy Variables, got {type(v).__name__}")
        self.variables = variables
        self.name = name

    @property
    def sense(self) -> int:
        """+1 for minimisation, −1 for maximisation."""
        import cvxpy as cp

        return -1 if isinstance(self.objective, cp.Maximize) else 1

    def label(self, role: str) -> str:
        """'upper level' / 'lower level', with the level's own name when it has one."""
        return f"{role} level" + (f" {self.name!r}" if self.name else "")

    def pieces(self, role: str) -> list[tuple[str, Any]]:
        """(where, expression) for the objective and every constraint, named for error messages."""
        where = self.label(role)
        return [(f"{where} objective", self.objective)] + [
            (f"{where} constraint {i}", c) for i, c in enumerate(self.constraints)]

    def used_variables(self) -> list:
        """Variables appearing in the objective or the constraints (cvxpy order, unique)."""
        seen, out = set(), []
        for e in [self.objective.expr] + self.constraints:
            for v in e.variables():
                if v.id not in seen:
                    seen.add(v.id)
                    out.append(v)
        return out


def _unique(vs: list) -> list:
    seen, out = set(), []
    for v in vs:
        if v.id not in seen:
            seen.add(v.id)
            out.append(v)
    return out


def substitute(obj, mapping: dict):
    """Copy of a cvxpy expression/constraint with variables replaced (``mapping``: id → expr)."""
    import cvxpy as cp

    if isinstance(obj, cp.Variable):
        return mapping.get(obj.id, obj)
    if not obj.args:
        return obj
    return obj.copy([substitute(a, mapping) for a in obj.args])


def _constraint_expr(con) -> tuple[Any, str]:
    """(expression, 'ineq'|'eq') with the constraint meaning expression ≤ 0 or = 0."""
    from cvxpy.constraints import Equality, Inequality, NonNeg, NonPos, Zero

    if isinstance(con, Inequality):
        return con.args[0] - con.args[1], "ineq"
    if isinstance(con, Equality):
        return con.args[0] - con.args[1], "eq"
    if isinstance(con, Zero):
        return con.args[0], "eq"
    if isinstance(con, NonPos):
        return con.args[0], "ineq"
    if isinstance(con, NonNeg):
        return -con.args[0], "ineq"
    raise UnsupportedProblemError(f"constraint {con} ({type(con).__name__}) is not supported in a "
                                  f"bilevel model; write it with ==, <= or >=")


def _attribute_bounds(var) -> tuple[np.ndarray, np.ndarray]:
    attrs = var.attributes
    for bad in ("boolean", "integer"):
        if attrs.get(bad):
            raise UnsupportedProblemError(f"variable {var.name()} is {bad}: integer variables are not "
                                          f"supported in bilevel models")
    lo = np.full(var.size, -np.inf)
    hi = np.full(var.size, np.inf)
    if attrs.get("nonneg") or attrs.get("pos"):
        lo[:] = 0.0
    if attrs.get("nonpos") or attrs.get("neg"):
        hi[:] = 0.0
    b = attrs.get("bounds")
    if b is not None:
        blo = b[0].value if hasattr(b[0], "value") else b[0]
        bhi = b[1].value if hasattr(b[1], "value") else b[1]
        if blo is not None:
            lo = np.maximum(lo, np.ravel(np.broadcast_to(np.asarray(blo, float), var.shape), order="F"))
        if bhi is not None:
            hi = np.minimum(hi, np.ravel(np.broadcast_to(np.asarray(bhi, float), var.shape), order="F"))
    return lo, hi


class Rows:
    """Stacked constraint rows r(v) (≤ 0 or = 0) from several VectorFunctions with row masks."""

    def __init__(self, parts: list[tuple[VectorFunction, np.ndarray]], N: int):
        self.parts = [(vf, mask) for vf, mask in parts if mask.any()]
        self.N = N
        self.k = int(sum(m.sum() for _, m in self.parts))
        self.is_affine = all(vf.is_affine for vf, _ in self.parts)
        if self.is_affine:
            self.A = sp.vstack([vf.A[m] for vf, m in self.parts], format="csr") if self.parts \
                else sp.csr_matrix((0, N))
            self.b = np.concatenate([vf.b[m] for vf, m in self.parts]) if self.parts else np.zeros(0)

    def value(self, v: np.ndarray) -> np.ndarray:
        """r(v)."""
        if self.is_affine:
            return self.A @ v + self.b
        return np.concatenate([vf.value(v)[m] for vf, m in self.parts]) if self.parts else np.zeros(0)

    def scaled_violation(self, v: np.ndarray, equality: bool) -> tuple[float, int]:
        """Largest violation of r(v) ≤ 0 (or = 0), each row relative to its own scale, as the core
        measures rows (:func:`optkit.kkt.scaled_violation`): an affine row aᵢᵀv + bᵢ is the row
        aᵢᵀv ≤ −bᵢ with scale max(‖aᵢ‖∞, |bᵢ|); a nonlinear row rᵢ(v) ≤ 0 has scale ‖∇rᵢ(v)‖∞.
        Returns (value, row index or −1)."""
        if self.k == 0:
            return 0.0, -1
        if self.is_affine:
            if getattr(self, "_scale", None) is None:
                self._scale = row_abs_max(self.A)
            Av = self.A @ v
            lo = -self.b if equality else np.full(self.k, -np.inf)
            return scaled_violation(Av, lo, -self.b, self._scale)
        r = self.value(v)
        lo = np.zeros(self.k) if equality else np.full(self.k, -np.inf)
        return scaled_violation(r, lo, np.zeros(self.k), row_abs_max(self.jac(v)))

    def jac(self, v: np.ndarray) -> sp.csr_matrix:
        """∂r/∂v."""
        if self.is_affine:
            return self.A
        if not self.parts:
            return sp.csr_matrix((0, self.N))
        return sp.vstack([vf.jac(v)[m] for vf, m in self.parts], format="csr")


@dataclass
class BilevelData:
    """A compiled bilevel model on the joint vector v = (x, y); all levels as minimisation."""

    index: JointIndex
    nx: int
    F: ScalarFunction
    f: ScalarFunction
    lb: np.ndarray
    ub: np.ndarray
    G: Rows  # upper inequalities G(v) ≤ 0
    H: Rows  # upper equalities H(v) = 0 (not touching only x, or not affine)
    Ax: sp.csr_matrix  # upper affine set on x: Ax x = bx  (columns: x only)
    bx: np.ndarray
    g: Rows  # lower inequalities g(v) ≤ 0
    h: Rows  # lower equalities h(v) = 0
    extra: dict = field(default_factory=dict)

    @property
    def N(self) -> int:
        """Length of v."""
        return self.index.size

    @property
    def ny(self) -> int:
        """Number of lower-level variables."""
        return self.N - self.nx

    def project_box(self, v: np.ndarray) -> np.ndarray:
        """Projection onto lb ≤ v ≤ ub."""
        return np.clip(v, self.lb, self.ub)

    def lower_feasibility(self, v: np.ndarray) -> float:
        """max(g⁺, |h|, box violation of y) at v."""
        ys = slice(self.nx, self.N)
        viol = [np.max(self.g.value(v), initial=0.0), np.max(np.abs(self.h.value(v)), initial=0.0),
                np.max(self.lb[ys] - v[ys], initial=0.0), np.max(v[ys] - self.ub[ys], initial=0.0)]
        return float(max(viol))

    def scaled_feasibility(self, v: np.ndarray) -> dict:
        """Both levels' feasibility at v with every row and bound relative to its own scale
        (rows: :meth:`Rows.scaled_violation`; bounds lb ≤ vⱼ ≤ ub: violation / max(1, |bound|)).

        Returns {"upper_feasibility_rel", "lower_feasibility_rel", "worst"} — "worst" names the
        row or bound of the larger one (e.g. "lower inequality row 3")."""
        xs, ys = slice(0, self.nx), slice(self.nx, self.N)
        Ax_scale = row_abs_max(self.Ax) if self.Ax.shape[0] else np.zeros(0)
        upper = [("upper inequality row", self.G.scaled_violation(v, False)),
                 ("upper equality row", self.H.scaled_violation(v, True)),
                 ("upper affine row on x", scaled_violation(self.Ax @ v[xs], self.bx, self.bx,
                                                             Ax_scale)),
                 ("bound of upper entry", scaled_violation(v[xs], self.lb[xs], self.ub[xs], 1.0))]
        lower = [("lower inequality row", self.g.scaled_violation(v, False)),
                 ("lower equality row", self.h.scaled_violation(v, True)),
                 ("bound of lower entry", scaled_violation(v[ys], self.lb[ys], self.ub[ys], 1.0))]
        up_name, (up_val, up_k) = max(upper, key=lambda t: t[1][0])
        lo_name, (lo_val, lo_k) = max(lower, key=lambda t: t[1][0])
        worst = ""
        if max(up_val, lo_val) > 0:
            name, k = (up_name, up_k) if up_val >= lo_val else (lo_name, lo_k)
            worst = f"{name} {k}"
        return {"upper_feasibility_rel": float(up_val), "lower_feasibility_rel": float(lo_val),
                "worst": worst}

    def upper_feasibility(self, v: np.ndarray) -> float:
        """max(G⁺, |H|, |Ax x − bx|, box violation of x) at v."""
        xs = slice(0, self.nx)
        viol = [np.max(self.G.value(v), initial=0.0), np.max(np.abs(self.H.value(v)), initial=0.0),
                np.max(np.abs(self.Ax @ v[xs] - self.bx), initial=0.0),
                np.max(self.lb[xs] - v[xs], initial=0.0), np.max(v[xs] - self.ub[xs], initial=0.0)]
        return float(max(viol))


class Bilevel:
    """A bilevel model (problem_class 'bilevel'); see the module docstring."""

    problem_class = "bilevel"
    kinds = frozenset({"bilevel"})

    def __init__(self, upper: Level, lower: Level, name: str = "bilevel",
                 solution: dict | None = None, known_objective: float | None = None):
        if not isinstance(upper, Level) or not isinstance(lower, Level):
            raise InvalidProblemError("Bilevel(upper=..., lower=...) takes two ok.Level objects")
        self.upper, self.lower, self.name = upper, lower, name
        used = _unique(upper.used_variables() + lower.used_variables())
        self.upper_variables, self.lower_variables = self._ownership(used)
        if not self.lower_variables:
            raise InvalidProblemError("the lower level owns no variable: give "
                                      "Level(..., variables=[y]) for the lower level")
        low_ids = {v.id for v in self.lower_variables}
        if not any(v.id in low_ids for v in lower.objective.expr.variables()) and \
                not any(v.id in low_ids for c in lower.constraints for v in c.variables()):
            raise InvalidProblemError("the lower level's objective and constraints do not involve "
                                      "any lower-level variable")
        for role, level in (("upper", upper), ("lower", lower)):
            check_constants(level.pieces(role))
        if solution is not None:
            for var, val in solution.items():
                check_vector(val, f"solution value of {getattr(var, 'name', lambda var=var: var)()}")
        if known_objective is not None:
            check_vector(known_objective, "known_objective")
        self.solution = solution  # {variable: value}, optional (distance in histories)
        self.known_objective = known_objective
        self._data: BilevelData | None = None

    # ------------------------------------------------------------------ ownership
    def _ownership(self, used: list) -> tuple[list, list]:
        up = self.upper.variables
        lo = self.lower.variables
        if up is None and lo is None:
            raise InvalidProblemError("say which variables each level owns: "
                                      "Level(..., variables=[...]) on at least one level")
        if up is not None and lo is not None:
            both = {v.id for v in up} & {v.id for v in lo}
            if both:
                names = [v.name() for v in up if v.id in both]
                raise InvalidProblemError(f"variable(s) {', '.join(names)} are owned by both levels; "
                                          f"each variable belongs to exactly one level")
            owned = {v.id for v in up} | {v.id for v in lo}
            none = [v.name() for v in used if v.id not in owned]
            if none:
                raise InvalidProblemError(f"variable(s) {', '.join(none)} are owned by no level; "
                                          f"add them to the variables= of one Level")
            return _unique(list(up)), _unique(list(lo))
        if up is None:
            assert lo is not None  # one of the two is given (checked above)
            lo_ids = {v.id for v in lo}
            return [v for v in used if v.id not in lo_ids], _unique(list(lo))
        up_ids = {v.id for v in up}
        return _unique(list(up)), [v for v in used if v.id not in up_ids]

    @property
    def variables(self) -> list:
        """Upper-level variables, then lower-level variables (the joint vector's order)."""
        return self.upper_variables + self.lower_variables

    # ------------------------------------------------------------------ compile
    def data(self) -> BilevelData:
        """Compile once: oracles, boxes and constraint rows (see module docstring)."""
        if self._data is None:
            self._data = self._compile()
        return self._data

    def _compile(self) -> BilevelData:
        index = JointIndex(self.variables)
        N = index.size
        nx = int(sum(v.size for v in self.upper_variables))
        F = ScalarFunction(self.upper.objective.expr, index, self.upper.sense, "upper objective")
        f = ScalarFunction(self.lower.objective.expr, index, self.lower.sense, "lower objective")
        lb, ub = np.full(N, -np.inf), np.full(N, np.inf)
        for var in self.variables:
            lo, hi = _attribute_bounds(var)
            s = index.slice(var)
            lb[s], ub[s] = lo, hi
        own_up = np.zeros(N, bool)
        own_up[:nx] = True
        G_parts: list[tuple] = []
        H_parts: list[tuple] = []
        Hx_parts: list[tuple] = []
        g_parts: list[tuple] = []
        h_parts: list[tuple] = []
        for level, own in ((self.upper, own_up), (self.lower, ~own_up)):
            for con in level.constraints:
                expr, kind = _constraint_expr(con)
                vf = VectorFunction([expr], index, name=str(con))
                keep = np.ones(vf.k, bool)
                if vf.is_affine and kind == "ineq":
                    keep = ~self._absorb_bounds(vf, own, lb, ub)
                if level is self.upper:
                    if kind == "ineq":
                        G_parts.append((vf, keep))
                    elif vf.is_affine and vf.A[:, nx:].nnz == 0:
                        Hx_parts.append((vf, keep))
                    else:
                        H_parts.append((vf, keep))
                else:
                    (g_parts if kind == "ineq" else h_parts).append((vf, keep))
        if np.any(lb > ub):
            j = int(np.argmax(lb > ub))
            raise InvalidProblemError(f"empty box for entry {j} of the joint vector: "
                                      f"lower bound {lb[j]} > upper bound {ub[j]}")
        Hx = Rows(Hx_parts, N)
        return BilevelData(index=index, nx=nx, F=F, f=f, lb=lb, ub=ub, G=Rows(G_parts, N),
                           H=Rows(H_parts, N), Ax=sp.csr_matrix(Hx.A[:, :nx]), bx=-Hx.b,
                           g=Rows(g_parts, N), h=Rows(h_parts, N))

    @staticmethod
    def _absorb_bounds(vf: VectorFunction, own: np.ndarray, lb: np.ndarray, ub: np.ndarray
                       ) -> np.ndarray:
        """Rows a·v_j + b ≤ 0 on one owned entry j become bounds; returns the absorbed mask."""
        A = sp.csr_matrix(vf.A)
        counts = np.diff(A.indptr)
        single = np.flatnonzero(counts == 1)
        absorbed = np.zeros(vf.k, bool)
        if single.size == 0:
            return absorbed
        cols = A.indices[A.indptr[single]]
        vals = A.data[A.indptr[single]]
        ok = own[cols] & (vals != 0)
        single, cols, vals = single[ok], cols[ok], vals[ok]
        bound = -vf.b[single] / vals
        up = vals > 0
        np.minimum.at(ub, cols[up], bound[up])
        np.maximum.at(lb, cols[~up], bound[~up])
        absorbed[single] = True
        return absorbed

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def preserved_values(self):
        """Restore every variable's ``.value`` on exit: solves never leak state into later ones."""
        saved = [(var, var.value) for var in self.variables]
        try:
            yield
        finally:
            for var, val in saved:
                var.value = val

    def start(self, x0: dict | None = None) -> np.ndarray:
        """Start vector: x0 entries, else current variable values, else 0; clipped to the boxes."""
        d = self.data()
        v = np.zeros(d.N)
        for var in self.variables:
            if var.value is not None:
                v[d.index.slice(var)] = np.ravel(np.asarray(var.value, float), order="F")
        if x0:
            if not isinstance(x0, dict):
                raise InvalidProblemError("x0 for a bilevel model must be a dict {variable: value}")
            v = d.index.pack(x0, default=v)
        if not np.all(np.isfinite(v)):
            raise InvalidProblemError("the start point has a non-finite entry")
        return d.project_box(v)

    def solution_vector(self) -> np.ndarray | None:
        """The known solution as a joint vector (None when not given)."""
        if self.solution is None:
            return None
        return self.data().index.pack(self.solution)

    def lower_problem(self, x_values: np.ndarray, relax: float = 0.0):
        """cvxpy problem min_y f(x̄, y) s.t. lower constraints, with x fixed at ``x_values``
        (inequalities relaxed to g ≤ ``relax`` when relax > 0)."""
        import cvxpy as cp

        d = self.data()
        mapping = {}
        for var in self.upper_variables:
            val = np.reshape(x_values[d.index.slice(var)], var.shape, order="F") if var.shape \
                else float(x_values[d.index.slice(var)][0])
            mapping[var.id] = cp.Constant(val)
        obj = self.lower.objective
        obj = type(obj)(substitute(obj.expr, mapping))
        cons = [substitute(c, mapping) for c in self.lower.constraints]
        if relax > 0:
            relaxed = []
            for c in cons:
                expr, kind = _constraint_expr(c)
                relaxed.append(expr <= relax if kind == "ineq" else expr == 0)
            cons = relaxed
        return cp.Problem(obj, cons)

    def __repr__(self) -> str:
        d = self._data
        size = f" nx={d.nx} ny={d.ny}" if d else ""
        return f"<Bilevel {self.name!r}{size}>"
