"""``ok.MultiObjective``: minimise/maximise several objectives over one feasible set.

Two ways in:

* cvxpy algebra — ``MultiObjective([cp.Minimize(f1), cp.Maximize(f2)], constraints)``;
* callbacks (ZDT/DTLZ style) — ``MultiObjective(F, n=30, jac=J, lb=0, ub=1, cons=g, cl=, cu=)``
  with ``F(x) -> R^m``, optional Jacobian ``J(x) -> m×n`` and constraints ``cl <= g(x) <= cu``
  (default ``g(x) <= 0``, the usual convention of multiobjective test problems).

Non-finite data are refused at construction with the entry named (a
:class:`~optkit.errors.DataError`, as ``ok.Problem`` does): NaN/±inf in a constant or parameter of
an objective or constraint; NaN/±inf in F(x0) or g(x0) of a callback model (x0 is where every
method starts); NaN in a bound (±inf is "no bound"); NaN/±inf in ``ideal``, ``nadir``, ``scale``,
``weights``, ``reference`` points, and NaN in ``roi`` (±inf there means "open"). Weights must be
≥ 0 with a positive sum in every row. A NaN that appears later, at a point a subproblem visits, makes
that subproblem fail with status NUMERICAL_ERROR (its point is never on the front).

``mode`` is "cvxpy" (expressions in cvxpy algebra) or "callback".

Internally every method minimises ``G = s ⊙ F`` where ``s_i = +1`` for a minimised and ``−1`` for
a maximised objective; results are reported in user units (F). Preferences and budgets are stored
on the model: ``ideal``, ``nadir``, ``scale`` (user units), ``weights``, ``reference`` points,
``roi`` = (lower, upper) bounds of the region of interest, ``max_evals``, ``time_limit``,
``max_points``, ``seed``.

Evaluation counting (callback form): one *function evaluation* is one evaluation of the vector
F(x) together with g(x) at a new point x (as in pymoo); one *gradient evaluation* is one Jacobian of
F (with that of g) at a new point. Finite-difference Jacobians are counted as the n function
evaluations they cost. Every call made by any subproblem solver, line search or finite-difference
routine goes through the same counter, so the count is complete.
"""
from __future__ import annotations

from typing import Any, cast
from collections.abc import Callable, Sequence

import numpy as np

from ..bilevel.checks import check_constants, check_vector, first_nonfinite
from ..errors import DataError, InvalidProblemError, OptkitError

MO_KINDS = frozenset({"multiobjective"})


class BudgetExhausted(OptkitError):
    """Raised inside an evaluation when the model's ``max_evals`` budget is spent."""


class SubproblemBudget(BudgetExhausted):
    """Raised when one subproblem uses more evaluations than its cap (``inner_max_evals``)."""


class Counter:
    """Evaluation counter with an optional hard budget (function + gradient evaluations)."""

    def __init__(self, budget: int | None = None, n: int = 0):
        self.f = 0
        self.grad = 0
        self.fd_f = 0  # function evaluations spent inside finite differences
        self.n = n
        self.budget = budget
        self.exhausted = False
        self.sub_limit: int | None = None  # absolute total at which the current subproblem stops

    @property
    def total(self) -> int:
        """Function evaluations + gradient evaluations (each Jacobian counts as one)."""
        return self.f + self.grad

    def charge(self, kind: str, k: int = 1) -> None:
        if self.budget is not None and self.total + k > self.budget:
            self.exhausted = True
            raise BudgetExhausted(f"evaluation budget max_evals={self.budget} exhausted")
        if self.sub_limit is not None and self.total + k > self.sub_limit:
            raise SubproblemBudget("subproblem evaluation cap reached")
        setattr(self, kind, getattr(self, kind) + k)

    def as_dict(self) -> dict:
        return {"f_evals": self.f, "grad_evals": self.grad, "evaluations": self.total,
                "fd_equivalent": self.f + self.n * self.grad, "fd_f_evals": self.fd_f}


def _sense(obj) -> int:
    import cvxpy as cp

    if isinstance(obj, cp.Maximize):
        return -1
    if isinstance(obj, cp.Minimize):
        return 1
    raise InvalidProblemError(f"each objective must be cp.Minimize(...) or cp.Maximize(...), got "
                              f"{type(obj).__name__}")


def _vec(value, size: int, what: str, allow_inf: bool = False) -> np.ndarray | None:
    """A length-``size`` float vector (a scalar is broadcast); NaN (and ±inf unless ``allow_inf``)
    is a DataError naming ``what`` and the entry."""
    if value is None:
        return None
    arr = np.asarray(value, dtype=float).reshape(-1)
    if arr.size == 1:
        arr = np.full(size, float(arr[0]))
    if arr.size != size:
        raise InvalidProblemError(f"{what} has {arr.size} entries, expected {size}")
    check_vector(arr, what, allow_inf=allow_inf)
    return arr


def _rows(value, m: int, what: str) -> np.ndarray | None:
    """Preference points as a k×m array of finite numbers (a single point may be 1-D)."""
    if value is None:
        return None
    arr = np.atleast_2d(np.asarray(value, dtype=float))
    if arr.ndim != 2 or arr.shape[1] != m:
        raise InvalidProblemError(f"{what} must have {m} columns (one per objective), got shape "
                                  f"{np.shape(value)}")
    check_vector(arr, what)
    return arr


class MultiObjective:
    """A multiobjective problem (see module docstring)."""

    problem_class = "multiobjective"
    kinds = MO_KINDS

    def __init__(self, objectives, constraints: Sequence | None = None, *, names=None, senses=None,
                 n: int | None = None, x0=None, jac: Callable | None = None, lb=None, ub=None,
                 cons: Callable | None = None, cons_jac: Callable | None = None, cl=None, cu=None,
                 m: int | None = None, ideal=None, nadir=None, scale=None, weights=None,
                 reference=None, roi=None, max_evals: int | None = None,
                 time_limit: float | None = None, max_points: int | None = None,
                 seed: int | None = None, name: str = "multiobjective"):
        self.name = name
        if callable(objectives):
            self.mode = "callback"
            self._init_callback(objectives, n, x0, jac, lb, ub, cons, cons_jac, cl, cu, m, senses)
        else:
            self.mode = "cvxpy"
            if constraints is not None and callable(constraints):
                raise InvalidProblemError("constraints must be a list of cvxpy constraints")
            self._init_cvxpy(list(objectives), list(constraints or []))
        mm = self.m
        self.names = list(names) if names is not None else [f"f{i + 1}" for i in range(mm)]
        if len(self.names) != mm:
            raise InvalidProblemError(f"names has {len(self.names)} entries for {mm} objectives")
        self.ideal = _vec(ideal, mm, "ideal")
        self.nadir = _vec(nadir, mm, "nadir")
        self.scale = _vec(scale, mm, "scale")
        if self.scale is not None and np.any(self.scale <= 0):
            j = int(np.flatnonzero(self.scale <= 0)[0])
            raise DataError(f"scale must be positive, entry {j} is {self.scale[j]}", source="scale",
                            entry=str(j))
        self.weights = _rows(weights, mm, "weights")
        if self.weights is not None:
            neg = np.argwhere(self.weights < 0)
            if neg.size:
                i, j = (int(t) for t in neg[0])
                raise DataError(f"weights must be nonnegative, row {i} entry {j} is "
                                f"{self.weights[i, j]}", source="weights", entry=str((i, j)))
            zero = np.flatnonzero(self.weights.sum(axis=1) <= 0)
            if zero.size:
                raise DataError(f"weights row {int(zero[0])} sums to 0", source="weights",
                                entry=str(int(zero[0])))
        self.reference = _rows(reference, mm, "reference")
        if roi is not None:
            lo, hi = roi

            def side(v, fill, what):
                if v is None:
                    return np.full(mm, fill)
                v = [fill if e is None else e for e in np.atleast_1d(np.asarray(v, object))]
                return _vec(np.asarray(v, float), mm, what, allow_inf=True)

            roi = (side(lo, -np.inf, "roi lower"), side(hi, np.inf, "roi upper"))
        self.roi = roi
        for what, val in (("max_evals", max_evals), ("max_points", max_points)):
            if val is not None and (not isinstance(val, (int, np.integer)) or val <= 0):
                raise InvalidProblemError(f"{what} must be a positive integer, got {val!r}")
        if time_limit is not None and not time_limit > 0:
            raise InvalidProblemError(f"time_limit must be positive, got {time_limit!r}")
        self.max_evals, self.time_limit, self.max_points, self.seed = (max_evals, time_limit,
                                                                       max_points, seed)

    # ------------------------------------------------------------------ construction
    def _init_cvxpy(self, objectives: list, constraints: list) -> None:
        import cvxpy as cp

        if len(objectives) < 2:
            raise InvalidProblemError(f"a multiobjective problem needs at least 2 objectives, got "
                                      f"{len(objectives)}")
        self.senses = np.array([_sense(o) for o in objectives], dtype=float)
        for i, o in enumerate(objectives):
            if o.expr.size != 1:
                raise InvalidProblemError(f"objective {i} is not scalar (shape {o.expr.shape})")
        for i, c in enumerate(constraints):
            if not isinstance(c, cp.constraints.constraint.Constraint):
                raise InvalidProblemError(f"constraint {i} is a {type(c).__name__}, not a cvxpy "
                                          "constraint (did a comparison evaluate to a bool?)")
        check_constants([(f"objective {i}", o) for i, o in enumerate(objectives)]
                        + [(f"constraint {i}", c) for i, c in enumerate(constraints)])
        self.objectives = objectives
        self.constraints = constraints
        probe = cp.Problem(cp.Minimize(0), constraints + [o.expr == 0 for o in objectives])
        self.variables = sorted(probe.variables(), key=lambda v: v.id)
        self.m = len(objectives)
        self.n = int(sum(v.size for v in self.variables))
        self.linear = all(o.expr.is_affine() for o in objectives)
        self.mixed_integer = any(v.attributes.get("integer") or v.attributes.get("boolean")
                                 for v in self.variables)
        self.counter = Counter(None, self.n)

    def _init_callback(self, F, n, x0, jac, lb, ub, cons, cons_jac, cl, cu, m, senses) -> None:
        if n is None:
            for v in (x0, lb, ub):
                if v is not None and np.ndim(v) > 0:
                    n = int(np.size(v))
                    break
        if n is None:
            raise InvalidProblemError("callback MultiObjective needs n (or x0, or vector bounds)")
        self.n = int(n)
        self.lb = _vec(lb, self.n, "lb", allow_inf=True) if lb is not None else np.full(self.n, -np.inf)
        self.ub = _vec(ub, self.n, "ub", allow_inf=True) if ub is not None else np.full(self.n, np.inf)
        if np.any(self.lb > self.ub):
            i = int(np.flatnonzero(self.lb > self.ub)[0])
            raise InvalidProblemError(f"bounds cross at index {i}: {self.lb[i]} > {self.ub[i]}")
        if x0 is None:
            mid = np.where(np.isfinite(self.lb) & np.isfinite(self.ub), 0.5 * (self.lb + self.ub),
                           np.clip(0.0, self.lb, self.ub))
            x0 = mid
        self.x0 = _vec(x0, self.n, "x0")
        self._F, self._J, self._g, self._gJ = F, jac, cons, cons_jac
        try:
            f0 = np.asarray(F(self.x0), float).reshape(-1)
        except Exception as exc:
            raise InvalidProblemError(f"{self.name}: F(x0) failed: {exc}") from exc
        if m is not None and f0.size != m:
            raise InvalidProblemError(f"F(x0) has {f0.size} entries, expected m={m}")
        if f0.size < 2:
            raise InvalidProblemError(f"a multiobjective problem needs at least 2 objectives, "
                                      f"F(x0) has {f0.size}")
        self.m = f0.size
        bad = first_nonfinite(f0)
        if bad is not None:
            j = bad[0][0]
            raise DataError(f"F(x0)[{j}] = {bad[1]} at the start point x0 of {self.name!r} (every "
                            f"method starts there; give an x0 where F is finite)",
                            source=f"objective {j}", entry=str(j))
        try:
            g0 = np.zeros(0) if cons is None else np.asarray(cons(self.x0), float).reshape(-1)
        except Exception as exc:
            raise InvalidProblemError(f"{self.name}: g(x0) failed: {exc}") from exc
        bad = first_nonfinite(g0)
        if bad is not None:
            j = bad[0][0]
            raise DataError(f"g(x0)[{j}] = {bad[1]} at the start point x0 of {self.name!r}",
                            source=f"constraint {j}", entry=str(j))
        self.mc = g0.size
        self.cl: np.ndarray = np.full(self.mc, -np.inf) if cl is None else \
            cast(np.ndarray, _vec(cl, self.mc, "cl", allow_inf=True))
        self.cu: np.ndarray = np.zeros(self.mc) if cu is None else \
            cast(np.ndarray, _vec(cu, self.mc, "cu", allow_inf=True))
        if senses is None:
            self.senses = np.ones(self.m)
        else:
            s = [{"min": 1, "max": -1, 1: 1, -1: -1}.get(v) for v in senses]
            if None in s or len(s) != self.m:
                raise InvalidProblemError("senses must list 'min'/'max' for each objective")
            self.senses = np.array(s, float)
        self.linear = False
        self.mixed_integer = False
        self.counter = Counter(None, self.n)
        self._cache_v: tuple | None = None
        self._cache_j: tuple | None = None

    # ------------------------------------------------------------------ evaluation
    def reset(self, max_evals: int | None = None) -> Counter:
        """Fresh counters (with a budget) for one run of a method."""
        self.counter = Counter(max_evals if max_evals is not None else self.max_evals, self.n)
        self._cache_v = self._cache_j = None
        return self.counter

    def values(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(G(x), g(x)) for the callback form; G in minimisation units. Counted, cached."""
        x = np.asarray(x, float)
        key = x.tobytes()
        if self._cache_v is not None and self._cache_v[0] == key:
            return self._cache_v[1], self._cache_v[2]
        self.counter.charge("f")
        G = self.senses * np.asarray(self._F(x), float).reshape(self.m)
        g = np.asarray(self._g(x), float).reshape(self.mc) if self.mc else np.zeros(0)
        self._cache_v = (key, G, g)
        return G, g

    def jacobians(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(∇G(x) m×n, ∇g(x) mc×n); exact when given, else forward differences (counted)."""
        x = np.asarray(x, float)
        key = x.tobytes()
        if self._cache_j is not None and self._cache_j[0] == key:
            return self._cache_j[1], self._cache_j[2]
        if self._J is not None and (self._gJ is not None or self.mc == 0):
            self.counter.charge("grad")
            JG = self.senses[:, None] * np.asarray(_dense(self._J(x)), float).reshape(self.m, self.n)
            Jg = (np.asarray(_dense(self._gJ(x)), float).reshape(self.mc, self.n) if self.mc
                  else np.zeros((0, self.n)))
        else:
            JG, Jg = self._fd_jacobians(x)
        self._cache_j = (key, JG, Jg)
        return JG, Jg

    def _fd_jacobians(self, x: np.ndarray):
        G0, g0 = self.values(x)
        h = 1e-7 * np.maximum(1.0, np.abs(x))
        JG = np.empty((self.m, self.n))
        Jg = np.empty((self.mc, self.n))
        for j in range(self.n):  # n function evaluations: the cost of a forward difference
            xp = x.copy()
            xp[j] = x[j] + h[j] if x[j] + h[j] <= self.ub[j] else x[j] - h[j]
            step = xp[j] - x[j]
            self.counter.charge("f")
            self.counter.fd_f += 1
            Gp = self.senses * np.asarray(self._F(xp), float).reshape(self.m)
            gp = np.asarray(self._g(xp), float).reshape(self.mc) if self.mc else np.zeros(0)
            JG[:, j] = (Gp - G0) / step
            Jg[:, j] = (gp - g0) / step
        if self._J is not None:
            JG = self.senses[:, None] * np.asarray(_dense(self._J(x)), float).reshape(self.m, self.n)
        return JG, Jg

    @property
    def derivatives(self) -> str:
        """'exact' or 'finite-difference' (callback form)."""
        if self.mode == "cvxpy":
            return "exact"
        return "exact" if self._J is not None and (self._gJ is not None or not self.mc) else \
            "finite-difference"

    def violation(self, x: np.ndarray, g: np.ndarray | None = None) -> float:
        """Largest violation of bounds and constraints at x (∞-norm, absolute)."""
        x = np.asarray(x, float)
        v = max(0.0, float(np.max(self.lb - x, initial=0)), float(np.max(x - self.ub, initial=0)))
        if self.mode == "callback":
            if g is None:
                g = self.values(x)[1]
            if self.mc:
                v = max(v, float(np.max(self.cl - g, initial=0)), float(np.max(g - self.cu, initial=0)))
            return v
        self.assign(x)
        return max([v] + [float(np.max(c.violation(), initial=0)) for c in self.constraints])

    def scaled_violation(self, x: np.ndarray, g: np.ndarray | None = None) -> float:
        """Violation at x relative to scale, as front points are judged (docs/multiobjective.md).

        Callback form: every bound lb ≤ xⱼ ≤ ub and row cl ≤ gᵢ(x) ≤ cu violated by r counts
        r / max(1, |bound|) (the core's rule for bounds; rows are not divided by ‖∇gᵢ‖∞, whose
        evaluation would cost counted Jacobians). cvxpy form: the largest cvxpy
        ``constraint.violation()`` divided by max(1, ‖x‖∞). NaN anywhere counts as +inf.
        """
        from ..kkt import scaled_violation

        x = np.asarray(x, float)
        if not np.all(np.isfinite(x)):
            return float("inf")
        if self.mode == "callback":
            if g is None:
                g = self.values(x)[1]
            v, _ = scaled_violation(x, self.lb, self.ub, 1.0)
            if self.mc:
                v = max(v, scaled_violation(np.asarray(g, float), self.cl, self.cu, 1.0)[0])
            return float(v)
        viol = self.violation(x)
        return float(viol / max(1.0, float(np.max(np.abs(x), initial=0.0)))) \
            if np.isfinite(viol) else float("inf")

    # ------------------------------------------------------------------ cvxpy helpers
    def assign(self, x: np.ndarray) -> None:
        """Set the cvxpy variables' values from a flat x (variables sorted by id)."""
        off = 0
        for v in self.variables:
            v.value = np.asarray(x[off:off + v.size]).reshape(v.shape, order="F")
            off += v.size

    def flatten(self, values: dict) -> np.ndarray:
        """Flat x from {variable id: value}."""
        return np.concatenate([np.asarray(values[v.id], float).reshape(-1, order="F")
                               for v in self.variables])

    def G_cvxpy(self, x: np.ndarray) -> np.ndarray:
        """G(x) for the cvxpy form (counted as one function evaluation)."""
        self.assign(x)
        self.counter.f += 1
        return self.senses * np.array([float(o.expr.value) for o in self.objectives])

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """F(x) in user units (counted)."""
        G = self.values(x)[0] if self.mode == "callback" else self.G_cvxpy(x)
        return self.senses * G

    @property
    def lb(self) -> np.ndarray:  # cvxpy form: variable bounds, for population methods
        if self.mode == "callback":
            return cast(np.ndarray, self.__dict__.get("_lb_cb"))
        return self._var_bounds()[0]

    @lb.setter
    def lb(self, v):
        self.__dict__["_lb_cb"] = v

    @property
    def ub(self) -> np.ndarray:
        if self.mode == "callback":
            return cast(np.ndarray, self.__dict__.get("_ub_cb"))
        return self._var_bounds()[1]

    @ub.setter
    def ub(self, v):
        self.__dict__["_ub_cb"] = v

    def _var_bounds(self):
        lo, hi = [], []
        for v in self.variables:
            b: Any = v.attributes.get("bounds")
            l_ = np.full(v.size, -np.inf)
            u_ = np.full(v.size, np.inf)
            if b is not None:
                l_ = np.broadcast_to(np.asarray(b[0] if b[0] is not None else -np.inf, float),
                                     v.shape).reshape(-1, order="F").copy()
                u_ = np.broadcast_to(np.asarray(b[1] if b[1] is not None else np.inf, float),
                                     v.shape).reshape(-1, order="F").copy()
            if v.attributes.get("boolean"):
                l_, u_ = np.maximum(l_, 0), np.minimum(u_, 1)
            if v.attributes.get("nonneg"):
                l_ = np.maximum(l_, 0)
            lo.append(l_)
            hi.append(u_)
        return np.concatenate(lo), np.concatenate(hi)

    def __repr__(self) -> str:
        return (f"MultiObjective({self.name!r}, mode={self.mode}, m={self.m}, n={self.n}, "
                f"senses={['min' if s > 0 else 'max' for s in self.senses]})")


def _dense(a: Any) -> np.ndarray:
    return a.toarray() if hasattr(a, "toarray") else np.asarray(a)
