"""The backend conformance suite (after MathOptInterface's and CVXPY's solver tests).

Every case is a small model with a known answer — from a formula worked out in its docstring or
comment, or from a published optimum — and the terminations that are correct for it. A case names
the problem class a backend must *accept* to be given it (``kind``: lp, qp, milp, nlp,
nlp-equality, bilevel, multiobjective, or ``*`` for every backend), so the suite is parametrised
over every registered backend by its declarations, with *declared* exclusions
(:data:`EXCLUSIONS`: (backend, case) → reason) and *declared* allowances (:data:`ALLOWANCES`:
an extra accepted termination, e.g. INFEASIBLE_OR_UNBOUNDED from a solver that cannot tell the two
apart). Nothing is skipped silently: an excluded case is not generated, and the docs list it with
its reason (``exclusions_markdown()``).

Conventions checked (see :mod:`optkit.ir.linear_form` and :mod:`optkit.kkt`):

- the compiled form is  min f(x)  s.t.  cl <= c(x) <= cu,  lb <= x <= ub  with Lagrangian
  L = f + yᵀc + zᵀx; at a minimiser ∇f + ∇cᵀy + z = 0 with yᵢ >= 0 on an active upper row bound,
  yᵢ <= 0 on an active lower one (zⱼ likewise for columns). ``y`` cases compare ``res.y`` (rows of
  a LinearProblem or callback NLP, in the user's order); ``z`` cases compare the bound
  multipliers implied by stationarity, z = −(∇f(x) + ∇c(x)ᵀy);
- ``res.dual(con)`` of an :class:`~optkit.modeling.Problem` is in cvxpy's convention: >= 0 for an
  inequality, and for an equality the multiplier of (lhs − rhs) in L = f + ν(lhs − rhs); for a
  maximisation, the multipliers of the equivalent minimisation (as ``constraint.dual_value``);
- an optimal case must come back ``is_solved()``: the claim, ``verified`` True, a (nearly)
  feasible point, the objective to ``rtol`` (relative to max(1, |objective|)), and the measured
  ``stationarity_rel`` and ``complementarity_rel`` at most ``kkt_tol`` (integrality at most
  1e-5 for a MILP);
- infeasible / unbounded cases must be reported as such and never ``is_solved()``; a returned point
  of an infeasible case must not be measured FEASIBLE;
- limit cases (time, iterations) must end on that limit — or another ``*_LIMIT`` the backend
  declares in its ``STATUS_MAP`` — and never ``is_solved()``;
- ``trust`` cases (the silent-wrong classes: tiny-coefficient rows, a non-symmetric Q) pass when the
  result is ``is_solved()`` with the true objective, or honestly not solved (``verified`` False or
  no claim); ``is_solved()`` with a wrong objective fails;
- bad-input cases must raise the named optkit error, and its message must name the entry.

Use: :func:`run_conformance` (outcomes), :func:`conformance_cases` (for
``pytest.mark.parametrize`` in a third-party backend's tests), and the older :func:`run` /
:func:`check` (every applicable case, AssertionError listing the failures). Every case is solved
with ``tol=1e-9`` unless it says otherwise.
"""
from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..status import PrimalStatus, Termination

OPTIMAL = {Termination.OPTIMAL, Termination.LOCALLY_OPTIMAL}
INFEASIBLE = {Termination.INFEASIBLE, Termination.LOCALLY_INFEASIBLE}
UNBOUNDED = {Termination.UNBOUNDED}
FAMILIES = ("lp", "qp", "milp", "nlp", "status", "bad-input")

DEFAULT_OPTIONS = {"tol": 1e-9}
DUAL_ATOL = 1e-5  # absolute tolerance on multipliers, times max(1, |expected|)


@dataclass
class Case:
    """One conformance case (see module docstring).

    ``build()`` returns the model (``build_for(backend)`` when the model depends on the backend,
    for ``kind="*"``). ``x`` is the known point (the first variable of a Problem, the flat x of a
    LinearProblem or NLP), ``y`` the known row multipliers (optkit's convention, rows of a
    LinearProblem/NLP), ``z`` the bound multipliers implied by stationarity, ``duals`` pairs
    (constraint index, value) checked through ``res.dual`` in cvxpy's convention. ``raises`` and
    ``names`` make a bad-input case: the error type and substrings its message must contain.
    ``applies(backend)`` restricts a case beyond ``kind``. ``limit`` makes a limit case.
    """

    name: str
    build: Callable[[], Any] | None
    terminations: set = field(default_factory=set)
    objective: float | None = None
    rtol: float = 1e-6
    kkt_tol: float | None = 1e-5
    options: dict = field(default_factory=dict)
    check: Callable[[Any, Any], str | None] | None = None  # extra check(result, model) -> error text
    family: str = ""
    kind: str = ""
    x: Sequence[float] | np.ndarray | None = None
    x_atol: float = 1e-5
    y: Sequence[float] | None = None
    z: Sequence[float] | None = None
    duals: Sequence[tuple[int, Any]] = ()
    raises: type[BaseException] | None = None
    names: Sequence[str] = ()
    applies: Callable[[Any], bool] | None = None
    build_for: Callable[[Any], Any] | None = None
    limit: Termination | None = None
    trust: bool = False
    tags: frozenset = frozenset()
    doc: str = ""

    def __post_init__(self) -> None:
        if not self.family:
            self.family = self.kind if self.kind in FAMILIES else ("nlp" if "nlp" in self.kind else "")


@dataclass
class CaseOutcome:
    """What happened to one case on one backend: ``ok``, the reason (``detail``), the result."""

    case: str
    ok: bool
    detail: str
    result: Any = None
    backend: str = ""
    family: str = ""
    seconds: float = 0.0


Outcome = CaseOutcome  # the name of earlier versions


# ---------------------------------------------------------------------- declarations
#: (backend, case id | "tag:<tag>" | "family:<family>") → why the case is not generated for it
EXCLUSIONS: dict[tuple[str, str], str] = {
    ("sketch-newton", "tag:bounds"): "equality-constrained method (min f s.t. c(x) = 0): no bounds",
    ("sketch-newton", "tag:inequality"): "equality-constrained method (min f s.t. c(x) = 0): no "
                                         "inequalities",
    ("exact-newton", "tag:bounds"): "equality-constrained method (min f s.t. c(x) = 0): no bounds",
    ("exact-newton", "tag:inequality"): "equality-constrained method (min f s.t. c(x) = 0): no "
                                        "inequalities",
    ("scipy", "qp-unbounded"): "SLSQP (scipy's QP and NLP method) has no unboundedness detection: "
                               "a local method, it stops on a numerical failure instead",
}

#: (backend, case id | "tag:<tag>") → (extra accepted terminations, why)
_HIGHS_MIP_UNBOUNDED = ("HiGHS's MIP solver (this backend's MILP path) stops at 'unbounded or "
                        "infeasible' when the relaxation is unbounded and no integer point is known")
ALLOWANCES: dict[tuple[str, str], tuple[frozenset, str]] = {
    (name, "milp-unbounded"): (frozenset({Termination.INFEASIBLE_OR_UNBOUNDED}), _HIGHS_MIP_UNBOUNDED)
    for name in ("highs", "scipy", "pyomo", "cvxpy")
}


def _selectors(case: Case) -> list[str]:
    return [case.name, f"family:{case.family}"] + [f"tag:{t}" for t in sorted(case.tags)]


def exclusion(backend: str, case: Case, extra: Mapping[str, str] | None = None) -> str | None:
    """Why ``case`` is not generated for ``backend`` (None when it is)."""
    for sel in _selectors(case):
        if extra and sel in extra:
            return extra[sel]
        why = EXCLUSIONS.get((backend, sel))
        if why:
            return why
    return None


def allowed_terminations(backend: Any, case: Case) -> set:
    """The terminations accepted for ``case`` on ``backend`` (its own plus declared allowances)."""
    name = getattr(backend, "name", backend)
    ok = set(case.terminations)
    for sel in _selectors(case):
        extra = ALLOWANCES.get((name, sel))
        if extra:
            ok |= set(extra[0])
    if case.limit is not None:
        declared = set((getattr(backend, "STATUS_MAP", None) or {}).values())
        ok |= {case.limit} | {t for t in declared if t.is_limit}
    return ok


# ---------------------------------------------------------------------- known answers
def _rosenbrock_on_line_optimum(s: float = 1.5) -> float:
    """min 100(x2 − x1²)² + (1 − x1)² on x1 + x2 = s, by the roots of the 1-D derivative."""
    # g(t) = 100 (s − t − t²)² + (1 − t)²; g'(t) = 200 (s − t − t²)(−1 − 2t) − 2(1 − t)
    p = np.poly1d([-1.0, -1.0, s])
    d = 200 * p * np.poly1d([-2.0, -1.0]) - 2 * np.poly1d([-1.0, 1.0])
    ts = [r.real for r in d.r if abs(r.imag) < 1e-9]
    return min(100 * p(t) ** 2 + (1 - t) ** 2 for t in ts)


def _rosenbrock_on_line_point(s: float = 1.5) -> np.ndarray:
    """The minimiser (t, s − t) of the same 1-D problem."""
    p = np.poly1d([-1.0, -1.0, s])
    d = 200 * p * np.poly1d([-2.0, -1.0]) - 2 * np.poly1d([-1.0, 1.0])
    ts = [r.real for r in d.r if abs(r.imag) < 1e-9]
    t = min(ts, key=lambda t: 100 * p(t) ** 2 + (1 - t) ** 2)
    return np.array([t, s - t])


def market_split(m: int = 4, n: int = 30, seed: int = 1):
    """A market-split MILP (Cornuéjols–Dawande): min Σ(s⁺ + s⁻) s.t. a x + s⁺ − s⁻ = d,
    x ∈ {0,1}ⁿ, s >= 0, with aᵢⱼ ∈ [0, 100) and dᵢ = ⌊Σⱼ aᵢⱼ / 2⌋. Branch and bound needs far more
    than a second at m = 4, n = 30 (measured: HiGHS 1.x, > 20 s), so a short time limit is hit."""
    from ..modeling import LinearProblem

    rng = np.random.default_rng(seed)
    a = rng.integers(0, 100, size=(m, n)).astype(float)
    d = np.floor(a.sum(axis=1) / 2)
    A = np.hstack([a, np.eye(m), -np.eye(m)])
    c = np.concatenate([np.zeros(n), np.ones(2 * m)])
    integ = np.concatenate([np.ones(n, bool), np.zeros(2 * m, bool)])
    ub = np.concatenate([np.ones(n), np.full(2 * m, np.inf)])
    return LinearProblem(c=c, A=A, rl=d, ru=d, lb=0.0, ub=ub, integrality=integ,
                         name="market-split")


def _dense_lp(m: int = 40, n: int = 30, seed: int = 0):
    """A dense random LP with a known feasible interior point and a bounded region: min cᵀx s.t.
    A x <= A·u + 1 (u uniform in [0,1]ⁿ), 0 <= x <= 10, c < 0; no presolve reduction applies, so
    simplex and interior point need many iterations (measured: HiGHS 19, Clarabel 11)."""
    from ..modeling import LinearProblem

    rng = np.random.default_rng(seed)
    A = rng.uniform(0.1, 1.0, size=(m, n))
    u = rng.uniform(size=n)
    c = -rng.uniform(0.5, 1.5, size=n)
    return LinearProblem(c=c, A=A, ru=A @ u + 1.0, lb=0.0, ub=10.0, name="dense-lp")


def _dense_qp(n: int = 40, seed: int = 0):
    """A dense random convex QP: min ½xᵀQx + cᵀx with Q = MᵀM + I (M Gaussian), s.t.
    A x <= A u (u uniform in [0,1]ⁿ, so u is feasible), −10 <= x <= 10. Measured: HiGHS needs
    108 QP iterations, Clarabel 12, OSQP 100, SLSQP 45, IPOPT 9 — so one is never enough."""
    from ..modeling import LinearProblem

    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    A = rng.uniform(0.1, 1.0, size=(n, n))
    return LinearProblem(c=rng.normal(size=n) * 10, A=A, ru=A @ rng.uniform(size=n),
                         Q=M.T @ M + np.eye(n), lb=-10.0, ub=10.0, name="dense-qp")


def _slow_rosenbrock(delay: float = 0.02, n: int = 6):
    """Chained Rosenbrock Σ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)² with Σx = n (optimum x = 1, f = 0), whose
    oracles sleep ``delay`` s. The fastest method here needs 28 oracle calls from x0 (IPOPT: 16 f,
    12 ∇f; SLSQP 71; exact Newton 44; measured), i.e. >= 0.56 s, so a limit of 0.1 s is hit."""
    from ..modeling import NLP

    def f(x):
        time.sleep(delay)
        return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))

    def g(x):
        time.sleep(delay)
        out = np.zeros_like(x)
        r = x[1:] - x[:-1] ** 2
        out[:-1] += -400 * x[:-1] * r - 2 * (1 - x[:-1])
        out[1:] += 200 * r
        return out

    x0 = np.tile([-1.2, 1.0], n // 2)
    return NLP(x0=x0, f=f, grad=g, cons=lambda x: np.array([x.sum() - n]),
               jac=lambda x: np.ones((1, x.size)), name="slow-rosenbrock")


# ---------------------------------------------------------------------- the cases
def _cases() -> list[Case]:
    """Every case, in family order (the models are built only when a case runs)."""
    import cvxpy as cp

    from ..errors import DataError, InvalidProblemError, OptionError, UnsupportedProblemError
    from ..modeling import NLP, LinearProblem, Problem

    cases: list[Case] = []
    add = cases.append
    inf = np.inf

    # ------------------------------------------------------------------ LP
    def small_lp():
        x = cp.Variable(2, nonneg=True)
        return Problem(cp.Minimize(-x[0] - x[1]), [x[0] + 2 * x[1] <= 4, 3 * x[0] + x[1] <= 6],
                       name="small-lp")

    # both rows active at (1.6, 1.2): c + Aᵀy = 0 → y = (0.4, 0.2) >= 0 (upper rows)
    add(Case("small-lp", small_lp, OPTIMAL, -2.8, kind="lp", x=[1.6, 1.2],
             duals=[(0, 0.4), (1, 0.2)], tags=frozenset({"counters"})))
    add(Case("lp-le-rows", lambda: LinearProblem(c=[-1, -1], A=[[1, 2], [3, 1]], ru=[4, 6], lb=0,
                                                 name="lp-le-rows"),
             OPTIMAL, -2.8, kind="lp", x=[1.6, 1.2], y=[0.4, 0.2], z=[0.0, 0.0]))
    # (1.5, 0.5): 2 + y1 + y2 = 0, 3 + y1 + 3y2 = 0 → y = (−1.5, −0.5) <= 0 (lower rows)
    add(Case("lp-ge-rows", lambda: LinearProblem(c=[2, 3], A=[[1, 1], [1, 3]], rl=[2, 3], lb=0,
                                                 name="lp-ge-rows"),
             OPTIMAL, 4.5, kind="lp", x=[1.5, 0.5], y=[-1.5, -0.5], z=[0.0, 0.0]))

    def ge_rows_cvxpy():
        x = cp.Variable(2)
        return Problem(cp.Minimize(2 * x[0] + 3 * x[1]),
                       [x[0] + x[1] >= 2, x[0] + 3 * x[1] >= 3, x >= 0], name="lp-ge-rows-cvxpy")

    add(Case("lp-ge-rows-cvxpy", ge_rows_cvxpy, OPTIMAL, 4.5, kind="lp", x=[1.5, 0.5],
             duals=[(0, 1.5), (1, 0.5), (2, [0.0, 0.0])]))
    # x = (1, 0, 0): 1 + y = 0 → y = −1; z = −(c + y) = (0, −1, −2) <= 0 at the lower bounds
    add(Case("lp-equality", lambda: LinearProblem(c=[1, 2, 3], A=[[1, 1, 1]], rl=[1], ru=[1], lb=0,
                                                  name="lp-equality"),
             OPTIMAL, 1.0, kind="lp", x=[1, 0, 0], y=[-1.0], z=[0.0, -1.0, -2.0]))

    def equality_cvxpy():
        x = cp.Variable(3)
        return Problem(cp.Minimize(x[0] + 2 * x[1] + 3 * x[2]), [cp.sum(x) == 1, x >= 0],
                       name="lp-equality-cvxpy")

    # cvxpy: the equality's ν = −1, the x >= 0 duals (0, 1, 2) >= 0
    add(Case("lp-equality-cvxpy", equality_cvxpy, OPTIMAL, 1.0, kind="lp", x=[1, 0, 0],
             duals=[(0, -1.0), (1, [0.0, 1.0, 2.0])]))
    # rows 1 <= x0 + x1 <= 3 (at its upper side) and 0 <= x1 − x0/2 <= 5 (at its lower side):
    # x = (2, 1); (−2, 1) + y0 (1, 1) + y1 (−½, 1) = 0 → y = (1, −2)
    add(Case("lp-range-rows", lambda: LinearProblem(c=[-2, 1], A=[[1, 1], [-0.5, 1]], rl=[1, 0],
                                                    ru=[3, 5], lb=[-inf, 0], ub=[inf, 10],
                                                    name="lp-range-rows"),
             OPTIMAL, -3.0, kind="lp", x=[2, 1], y=[1.0, -2.0], z=[0.0, 0.0],
             tags=frozenset({"range"})))
    # min x0 − x1, x0 + x1 <= 10 inactive, 0 <= x0 <= 5, −1 <= x1 <= 2 → x = (0, 2);
    # z = −c = (−1, 1): <= 0 at x0's lower bound, >= 0 at x1's upper bound
    add(Case("lp-bound-duals", lambda: LinearProblem(c=[1, -1], A=[[1, 1]], ru=[10], lb=[0, -1],
                                                     ub=[5, 2], name="lp-bound-duals"),
             OPTIMAL, -2.0, kind="lp", x=[0, 2], y=[0.0], z=[-1.0, 1.0]))

    def lp_max():
        x = cp.Variable(2, nonneg=True)
        return Problem(cp.Maximize(3 * x[0] + 2 * x[1]), [x[0] + x[1] <= 4, 2 * x[0] + x[1] <= 6],
                       name="lp-maximize")

    # vertices (0,4)→8, (3,0)→9, (2,2)→10; in minimisation form −3 + y1 + 2y2 = 0, −2 + y1 + y2 = 0
    add(Case("lp-maximize", lp_max, OPTIMAL, 10.0, kind="lp", x=[2, 2], duals=[(0, 1.0), (1, 1.0)]))
    # free columns: x0 − x1 = 1, x0 + x1 >= 3 → x = (2, 1); 2 + y0 + y1 = 0, 1 − y0 + y1 = 0
    add(Case("lp-free-columns", lambda: LinearProblem(c=[2, 1], A=[[1, -1], [1, 1]], rl=[1, 3],
                                                      ru=[1, inf], name="lp-free-columns"),
             OPTIMAL, 5.0, kind="lp", x=[2, 1], y=[-0.5, -1.5]))
    add(Case("lp-objective-constant", lambda: LinearProblem(c=[1, 2], A=[[1, 1]], rl=[1], lb=0,
                                                            c0=5.0, name="lp-objective-constant"),
             OPTIMAL, 6.0, kind="lp", x=[1, 0], y=[-1.0], z=[0.0, -1.0]))
    # x0 fixed at 2 by its bounds; x0 + x1 >= 3 → x1 = 1, y = −1, z0 = −(3 − 1) = −2 (free sign)
    add(Case("lp-fixed-column", lambda: LinearProblem(c=[3, 1], A=[[1, 1]], rl=[3], lb=[2, 0],
                                                      ub=[2, inf], name="lp-fixed-column"),
             OPTIMAL, 7.0, kind="lp", x=[2, 1], y=[-1.0], z=[-2.0, 0.0]))

    def degenerate():
        x = cp.Variable(2)
        return Problem(cp.Minimize(-x[0] - x[1]), [x[0] <= 1, x[1] <= 1, x[0] + x[1] <= 2],
                       name="lp-degenerate")

    add(Case("lp-degenerate", degenerate, OPTIMAL, -2.0, kind="lp", x=[1, 1]))
    # no rows at all: min x0 − 2x1 on [1, 2] × [−3, 4] → (1, 4), z = −c = (−1, 2)
    add(Case("lp-no-rows", lambda: LinearProblem(c=[1, -2], A=np.zeros((0, 2)), lb=[1, -3],
                                                 ub=[2, 4], name="lp-no-rows"),
             OPTIMAL, -7.0, kind="lp", x=[1, 4], z=[-1.0, 2.0], tags=frozenset({"no-rows"})))
    # silent-wrong class: 1e-9·x >= 1e-9 is x >= 1 (objective 1); x = 0 violates it by 1e-9
    # absolutely but by 1 relative to the row's own scale
    add(Case("lp-tiny-row", lambda: LinearProblem(c=[1.0], A=[[1e-9]], rl=[1e-9], lb=0,
                                                  name="lp-tiny-row"),
             OPTIMAL, 1.0, kind="lp", trust=True, tags=frozenset({"trust"}),
             doc="the row 1e-9·x >= 1e-9 (x = 0 violates it by 1 of its own scale)"))

    def infeasible_lp():
        x = cp.Variable(2)
        return Problem(cp.Minimize(x[0] + x[1]), [x >= 1, x[0] + x[1] <= 1], name="infeasible-lp")

    add(Case("infeasible-lp", infeasible_lp, INFEASIBLE, kind="lp", kkt_tol=None,
             tags=frozenset({"infeasible"})))
    add(Case("lp-infeasible-equalities", lambda: LinearProblem(c=[1, 1], A=[[1, 1], [1, 1]],
                                                               rl=[1, 2], ru=[1, 2], lb=0,
                                                               name="lp-infeasible-equalities"),
             INFEASIBLE, kind="lp", kkt_tol=None, tags=frozenset({"infeasible"})))

    def unbounded_lp():
        x = cp.Variable(2, nonneg=True)
        return Problem(cp.Minimize(-x[0] + x[1]), [x[1] <= 3], name="unbounded-lp")

    add(Case("unbounded-lp", unbounded_lp, UNBOUNDED, kind="lp", kkt_tol=None,
             options={"max_iter": 3000}, tags=frozenset({"unbounded"})))

    # ------------------------------------------------------------------ QP
    def small_qp():
        x = cp.Variable(2)
        return Problem(cp.Minimize(cp.sum_squares(x - np.array([1.0, 2.0]))), [x[0] + x[1] <= 2],
                       name="small-qp")

    # projection of (1, 2) on x0 + x1 <= 2: (0.5, 1.5); 2(x − a) + y(1, 1) = 0 → y = 1
    add(Case("small-qp", small_qp, OPTIMAL, 0.5, kind="qp", x=[0.5, 1.5], duals=[(0, 1.0)],
             tags=frozenset({"counters"})))
    # silent-wrong class: Q given upper-triangular; ½xᵀQx only sees (Q + Qᵀ)/2 = [[2,1],[1,2]],
    # so x* = (Q+Qᵀ)/2 ⁻¹ (1, 1) = (1/3, 1/3) and f* = −1/3
    add(Case("qp-nonsymmetric-q", lambda: LinearProblem(c=[-1, -1], A=np.zeros((0, 2)),
                                                        Q=[[2, 2], [0, 2]],
                                                        name="qp-nonsymmetric-q"),
             OPTIMAL, -1.0 / 3.0, kind="qp", x=[1 / 3, 1 / 3], trust=True,
             tags=frozenset({"trust", "no-rows"}),
             doc="Q = [[2, 2], [0, 2]] given upper-triangular"))
    # (x0 − 2)² + (x1 + 1)² on [0, 1]²: x = (1, 0), ∇f = (−2, 2), z = (2, −2)
    add(Case("qp-bounds-active", lambda: LinearProblem(c=[-4, 2], A=np.zeros((0, 2)),
                                                       Q=2 * np.eye(2), c0=5.0, lb=0, ub=1,
                                                       name="qp-bounds-active"),
             OPTIMAL, 2.0, kind="qp", x=[1, 0], z=[2.0, -2.0], tags=frozenset({"no-rows"})))

    def qp_eq():
        x = cp.Variable(3)
        return Problem(cp.Minimize(cp.sum_squares(x)), [cp.sum(x) == 3], name="qp-equality")

    # 2x + ν = 0 with x = 1 → ν = −2
    add(Case("qp-equality", qp_eq, OPTIMAL, 3.0, kind="qp", x=[1, 1, 1], duals=[(0, -2.0)]))
    # ‖x‖² s.t. x0 + 2x1 >= 5 → x = (1, 2), 2x + y(1, 2) = 0 → y = −2
    add(Case("qp-ge-row", lambda: LinearProblem(c=[0, 0], A=[[1, 2]], rl=[5], Q=2 * np.eye(2),
                                                name="qp-ge-row"),
             OPTIMAL, 5.0, kind="qp", x=[1, 2], y=[-2.0]))

    def qp_max():
        x = cp.Variable(2)
        return Problem(cp.Maximize(-cp.sum_squares(x) + 2 * x[0] + 4 * x[1]), [x[0] + x[1] <= 1],
                       name="qp-maximize")

    # minimisation form ‖x‖² − 2x0 − 4x1: projection of (1, 2) on x0 + x1 <= 1 is (0, 1), y = 2
    add(Case("qp-maximize", qp_max, OPTIMAL, 3.0, kind="qp", x=[0, 1], duals=[(0, 2.0)]))
    # (x0 − x1)² + x0 s.t. x0 + x1 = 2, x >= 0 (rank-1 Q): x0 = 7/8, f = 1/16 + 7/8; y = −½
    add(Case("qp-singular-q", lambda: LinearProblem(c=[1, 0], A=[[1, 1]], rl=[2], ru=[2],
                                                    Q=2 * np.array([[1, -1], [-1, 1]]), lb=0,
                                                    name="qp-singular-q"),
             OPTIMAL, 0.9375, kind="qp", x=[0.875, 1.125], y=[-0.5]))
    # silent-wrong class in a QP: 1e-6·x0 >= 1e-6 is x0 >= 1, so min x0² + x1² = 1
    add(Case("qp-tiny-row", lambda: LinearProblem(c=[0, 0], A=[[1e-6, 0]], rl=[1e-6],
                                                  Q=2 * np.eye(2), name="qp-tiny-row"),
             OPTIMAL, 1.0, kind="qp", trust=True, tags=frozenset({"trust"}),
             doc="the row 1e-6·x0 >= 1e-6 in a QP"))
    add(Case("qp-infeasible", lambda: LinearProblem(c=[0, 0], A=[[1, 0], [1, 0]], rl=[2, -inf],
                                                    ru=[inf, 1], Q=2 * np.eye(2),
                                                    name="qp-infeasible"),
             INFEASIBLE, kind="qp", kkt_tol=None, tags=frozenset({"infeasible"})))

    # ------------------------------------------------------------------ MILP
    def small_milp():
        z = cp.Variable(3, boolean=True)
        return Problem(cp.Maximize(5 * z[0] + 4 * z[1] + 3 * z[2]),
                       [2 * z[0] + 3 * z[1] + z[2] <= 5, 4 * z[0] + z[1] + 2 * z[2] <= 11,
                        3 * z[0] + 4 * z[1] + 2 * z[2] <= 8], name="small-milp")

    add(Case("small-milp", small_milp, OPTIMAL, 9.0, kind="milp", x=[1, 1, 0], kkt_tol=1e-6))
    # −5x0 − 4x1 s.t. 6x0 + 4x1 <= 24, x0 + 2x1 <= 6, x ∈ Z²₊: LP optimum (3, 1.5) = −21;
    # the integer points (4, 0) → −20, (3, 1) → −19, (2, 2) → −18: x* = (4, 0)
    add(Case("milp-general-integer", lambda: LinearProblem(c=[-5, -4], A=[[6, 4], [1, 2]],
                                                           ru=[24, 6], lb=0, integrality=[1, 1],
                                                           name="milp-general-integer"),
             OPTIMAL, -20.0, kind="milp", x=[4, 0]))
    # x1 integer, x0 continuous: x0 + x1 <= 3.5, x1 <= 2.5 → x1 = 2, x0 = 1.5, f = −5.5
    add(Case("milp-mixed", lambda: LinearProblem(c=[-1, -2], A=[[1, 1], [0, 1]], ru=[3.5, 2.5],
                                                 lb=0, integrality=[0, 1], name="milp-mixed"),
             OPTIMAL, -5.5, kind="milp", x=[1.5, 2]))

    def assignment():
        X = cp.Variable((2, 2), boolean=True)
        C = np.array([[4.0, 1.0], [2.0, 3.0]])
        return Problem(cp.Minimize(cp.sum(cp.multiply(C, X))),
                       [cp.sum(X, axis=0) == 1, cp.sum(X, axis=1) == 1], name="milp-assignment")

    # two assignments: 4 + 3 = 7 or 1 + 2 = 3
    add(Case("milp-assignment", assignment, OPTIMAL, 3.0, kind="milp",
             check=lambda res, model: None if res.value(model.variables()[0]) is not None and
             np.allclose(res.value(model.variables()[0]), [[0, 1], [1, 0]], atol=1e-6)
             else f"X = {res.value(model.variables()[0])}",
             doc="2×2 assignment, X = [[0, 1], [1, 0]]"))
    # an unrelated continuous column bounded by 1e6 must not loosen integrality of x0:
    # 2x0 <= 5, x0 integer → x0 = 2 (not 2.5)
    add(Case("milp-big-bound", lambda: LinearProblem(c=[-1, 1], A=[[2, 0]], ru=[5], lb=0,
                                                     ub=[inf, 1e6], integrality=[1, 0],
                                                     name="milp-big-bound"),
             OPTIMAL, -2.0, kind="milp", x=[2, 0], tags=frozenset({"trust"}),
             doc="an unrelated column bound of 1e6 next to an integer column"))

    def knapsack10():
        rng = np.random.default_rng(3)
        w = rng.integers(5, 30, size=10).astype(float)
        v = rng.integers(5, 40, size=10).astype(float)
        return LinearProblem(c=-v, A=[w], ru=[w.sum() / 2], lb=0, ub=1,
                             integrality=np.ones(10, bool), name="milp-gap-reported")

    def knapsack10_optimum() -> float:
        rng = np.random.default_rng(3)
        w = rng.integers(5, 30, size=10).astype(float)
        v = rng.integers(5, 40, size=10).astype(float)
        bits = (np.arange(1024)[:, None] >> np.arange(10)) & 1  # all 2¹⁰ subsets
        fits = bits @ w <= w.sum() / 2
        return -float((bits @ v)[fits].max())

    def check_gap(res, model):
        gap = res.mip_gap
        if gap is None or not (0.0 <= gap <= 1e-6):
            return f"mip_gap = {gap!r} (expected a number in [0, 1e-6] at an optimum)"
        return None

    add(Case("milp-gap-reported", knapsack10, OPTIMAL, knapsack10_optimum(), kind="milp",
             check=check_gap, tags=frozenset({"mip-gap"}),
             doc="res.mip_gap in [0, 1e-6]; optimum by enumerating all 2¹⁰ subsets"))
    # 2x0 = 1 has the LP solution 0.5 but no integer one
    add(Case("milp-infeasible", lambda: LinearProblem(c=[1, 1], A=[[2, 0]], rl=[1], ru=[1],
                                                      lb=0, ub=5, integrality=[1, 0],
                                                      name="milp-infeasible"),
             INFEASIBLE, kind="milp", kkt_tol=None, tags=frozenset({"infeasible"})))

    # ------------------------------------------------------------------ NLP
    def hs071():
        x = cp.Variable(4, bounds=[1, 5])
        x.value = np.array([1.0, 5.0, 5.0, 1.0])
        return Problem(cp.Minimize(x[0] * x[3] * (x[0] + x[1] + x[2]) + x[2]),
                       [x[0] * x[1] * x[2] * x[3] >= 25, cp.sum_squares(x) == 40], name="hs071")

    # Hock & Schittkowski no. 71 (and IPOPT's documentation): f* = 17.0140173, multipliers
    # 0.55229366 (product >= 25, cvxpy sign) and 0.16146856 (sum of squares = 40)
    add(Case("hs071", hs071, OPTIMAL, 17.0140173, rtol=1e-6, kind="nlp",
             x=[1.0, 4.742999, 3.821150, 1.379408], x_atol=1e-4,
             duals=[(0, 0.55229366), (1, 0.16146856)],
             tags=frozenset({"bounds", "inequality", "counters"}),
             doc="Hock–Schittkowski 71 (published optimum and multipliers)"))

    def rosenbrock_eq():
        def f(x):
            return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2

        def g(x):
            return np.array([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]),
                             200 * (x[1] - x[0] ** 2)])

        def h(x, y):
            return np.array([[1200 * x[0] ** 2 - 400 * x[1] + 2, -400 * x[0]], [-400 * x[0], 200.0]])

        # start on the line inside the basin of the global minimiser t* ≈ 0.823 (the 1-D
        # function also has a local minimum at t ≈ −1.82, value 7.957)
        return NLP(x0=[0.8, 0.7], f=f, grad=g, cons=lambda x: np.array([x[0] + x[1] - 1.5]),
                   jac=lambda x: np.array([[1.0, 1.0]]), hess=h, name="rosenbrock-eq")

    add(Case("rosenbrock-eq", rosenbrock_eq, OPTIMAL, _rosenbrock_on_line_optimum(), rtol=1e-5,
             kind="nlp-equality", x=_rosenbrock_on_line_point(), x_atol=1e-4,
             doc="Rosenbrock on x0 + x1 = 1.5, optimum from the roots of a cubic"))

    def rosenbrock():
        return NLP(x0=[-1.2, 1.0], f=lambda x: 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2,
                   grad=lambda x: np.array([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]),
                                            200 * (x[1] - x[0] ** 2)]),
                   hess=lambda x, y: np.array([[1200 * x[0] ** 2 - 400 * x[1] + 2, -400 * x[0]],
                                               [-400 * x[0], 200.0]]), name="nlp-rosenbrock")

    add(Case("nlp-rosenbrock", rosenbrock, OPTIMAL, 0.0, kind="nlp-equality", x=[1, 1],
             x_atol=1e-4, tags=frozenset({"unconstrained"})))

    def bounds_active():
        return NLP(x0=[0.5, 0.5], f=lambda x: (x[0] - 2) ** 4 + (x[1] + 1) ** 2,
                   grad=lambda x: np.array([4 * (x[0] - 2) ** 3, 2 * (x[1] + 1)]),
                   hess=lambda x, y: np.diag([12 * (x[0] - 2) ** 2, 2.0]), lb=[0, 0], ub=[1, 1],
                   name="nlp-bounds-active")

    # (x0 − 2)⁴ + (x1 + 1)² on [0, 1]²: x = (1, 0), ∇f = (−4, 2), z = (4, −2)
    add(Case("nlp-bounds-active", bounds_active, OPTIMAL, 2.0, kind="nlp", x=[1, 0], z=[4.0, -2.0],
             tags=frozenset({"bounds"})))

    def inequality_active():
        x = cp.Variable(2)
        x.value = np.array([2.0, 2.0])
        return Problem(cp.Minimize(cp.sum_squares(x)), [x[0] * x[1] >= 1],
                       name="nlp-inequality-active")

    # x = (1, 1): (2, 2) + y (x1, x0) = 0 → y = −2 (lower side), cvxpy dual 2
    add(Case("nlp-inequality-active", inequality_active, OPTIMAL, 2.0, kind="nlp", x=[1, 1],
             x_atol=1e-4, duals=[(0, 2.0)], tags=frozenset({"inequality"})))

    def nlp_max():
        x = cp.Variable(2)
        x.value = np.array([0.5, 0.9])
        return Problem(cp.Maximize(x[0] * x[1]), [cp.sum_squares(x) <= 2], name="nlp-maximize")

    # max x0 x1 on the disc of radius √2: (1, 1) → 1; minimisation form −x0x1:
    # (−x1, −x0) + y (2x0, 2x1) = 0 → y = ½
    add(Case("nlp-maximize", nlp_max, OPTIMAL, 1.0, kind="nlp", x=[1, 1], x_atol=1e-4,
             duals=[(0, 0.5)], tags=frozenset({"inequality"})))

    def no_derivatives():
        return NLP(x0=[0.0, 0.0], f=lambda x: (x[0] - 3) ** 2 + (x[1] + 1) ** 2,
                   cons=lambda x: np.array([x[0] + x[1] - 1.0]), name="nlp-no-derivatives")

    def check_fd(res, model):
        fd = (res.extra or {}).get("derivatives", {})
        if not fd or fd.get("grad") == "exact" or "finite differences" not in (res.message or ""):
            return f"finite differences not reported: extra={fd!r}, message={res.message!r}"
        return None

    # projection of (3, −1) on x0 + x1 = 1: (2.5, −1.5), f = ½; ∇f = (−1, −1) + y(1, 1) = 0 → y = 1
    add(Case("nlp-no-derivatives", no_derivatives, OPTIMAL, 0.5, rtol=1e-5, kind="nlp-equality",
             x=[2.5, -1.5], x_atol=1e-4, y=[1.0], kkt_tol=1e-4, check=check_fd,
             tags=frozenset({"finite-differences"}),
             doc="f and c only: finite differences, reported in extra and message"))

    def circle_eq():
        x = cp.Variable(2)
        x.value = np.array([-0.5, -1.2])
        return Problem(cp.Minimize(x[0] + x[1]), [cp.sum_squares(x) == 2], name="nlp-circle-eq")

    # x = (−1, −1): (1, 1) + ν (2x0, 2x1) = 0 → ν = ½
    add(Case("nlp-circle-eq", circle_eq, OPTIMAL, -2.0, kind="nlp", x=[-1, -1], x_atol=1e-4,
             duals=[(0, 0.5)]))

    def range_row():
        return NLP(x0=[1.0, 0.5], f=lambda x: (x[0] - 2) ** 2 + (x[1] - 2) ** 2,
                   grad=lambda x: 2 * (x - 2), cons=lambda x: np.array([x @ x]),
                   jac=lambda x: 2 * x.reshape(1, -1), cl=[1.0], cu=[4.0], name="nlp-range-row")

    # 1 <= ‖x‖² <= 4, nearest point to (2, 2): (√2, √2); 2(x − 2) + 2yx = 0 → y = √2 − 1 >= 0
    r2 = math.sqrt(2.0)
    add(Case("nlp-range-row", range_row, OPTIMAL, 2 * (2 - r2) ** 2, kind="nlp", x=[r2, r2],
             x_atol=1e-4, y=[r2 - 1], tags=frozenset({"inequality", "range"})))

    def infeasible_nlp():
        return NLP(x0=[0.5, 0.5], f=lambda x: x[0] ** 2 + x[1] ** 2, grad=lambda x: 2 * x,
                   cons=lambda x: np.array([x @ x, x[0] + x[1]]),
                   jac=lambda x: np.vstack([2 * x, np.ones(2)]),
                   cl=[-inf, 3.0], cu=[1.0, inf], name="nlp-infeasible")

    # x0 + x1 <= √2 on the unit disc, so x0 + x1 >= 3 cannot hold
    add(Case("nlp-infeasible", infeasible_nlp, INFEASIBLE, kind="nlp", kkt_tol=None,
             options={"max_iter": 500}, tags=frozenset({"inequality", "infeasible"})))

    # ------------------------------------------------------------------ status and limits
    add(Case("lp-infeasible-and-dual-infeasible",
             lambda: LinearProblem(c=[-1, -1], A=[[1, -1], [-1, 1]], rl=[1, 1], ru=[1, 1],
                                   name="lp-infeasible-and-dual-infeasible"),
             INFEASIBLE | {Termination.INFEASIBLE_OR_UNBOUNDED}, kind="lp", family="status",
             kkt_tol=None, tags=frozenset({"infeasible"}),
             doc="x0 − x1 = 1 and x1 − x0 = 1: primal and dual infeasible (UNBOUNDED is wrong)"))
    add(Case("qp-unbounded", lambda: LinearProblem(c=[0, -1], A=np.zeros((0, 2)),
                                                   Q=[[2, 0], [0, 0]], lb=[-inf, 0],
                                                   name="qp-unbounded"),
             UNBOUNDED, kind="qp", family="status", kkt_tol=None, options={"max_iter": 3000},
             tags=frozenset({"unbounded", "no-rows"}), doc="x0² − x1 with x1 >= 0 unbounded above"))
    add(Case("milp-unbounded", lambda: LinearProblem(c=[-1, 0], A=[[1, -1]], ru=[0], lb=0,
                                                     integrality=[1, 0], name="milp-unbounded"),
             UNBOUNDED, kind="milp", family="status", kkt_tol=None, tags=frozenset({"unbounded"}),
             doc="min −x0 with x0 <= x1, both unbounded above"))
    add(Case("limit-iterations-lp", _dense_lp, set(), kind="lp", family="status",
             options={"max_iter": 1}, limit=Termination.ITERATION_LIMIT, kkt_tol=None,
             tags=frozenset({"limit", "iteration-limit"}),
             doc="a dense 40×30 LP stopped after one iteration"))
    add(Case("limit-iterations-qp", _dense_qp, set(), kind="qp", family="status",
             options={"max_iter": 1}, limit=Termination.ITERATION_LIMIT, kkt_tol=None,
             tags=frozenset({"limit", "iteration-limit"}),
             doc="a dense 40×40 convex QP stopped after one iteration"))
    add(Case("limit-iterations-nlp", rosenbrock, set(), kind="nlp-equality", family="status",
             options={"max_iter": 3}, limit=Termination.ITERATION_LIMIT, kkt_tol=None,
             tags=frozenset({"limit", "iteration-limit"}),
             doc="Rosenbrock from (−1.2, 1) stopped after three iterations (it needs > 20)"))
    add(Case("limit-time-milp", market_split, set(), kind="milp", family="status",
             options={"time_limit": 0.25}, limit=Termination.TIME_LIMIT, kkt_tol=None,
             tags=frozenset({"limit", "time-limit"}),
             doc="a market-split MILP (m = 4, n = 30) stopped after 0.25 s"))
    add(Case("limit-time-nlp", _slow_rosenbrock, set(), kind="nlp-equality", family="status",
             options={"time_limit": 0.1, "max_iter": 100000}, limit=Termination.TIME_LIMIT,
             kkt_tol=None, tags=frozenset({"limit", "time-limit"}),
             doc="a chained Rosenbrock whose oracles sleep 20 ms, stopped after 0.1 s"))

    # ------------------------------------------------------------------ bad input
    def bad(name, kind, build, raises, names, options=None, applies=None, build_for=None, doc=""):
        add(Case(name, build, set(), kind=kind, family="bad-input", raises=raises, names=names,
                 options=dict(options or {}), applies=applies, build_for=build_for, kkt_tol=None,
                 doc=doc))

    bad("bad-nan-objective", "lp",
        lambda: LinearProblem(c=[1.0, np.nan], A=[[1, 1]], rl=[1], lb=0), DataError,
        ("column index 1", "nan"), doc="NaN in c: DataError naming the column")
    def nan_constraint():
        x = cp.Variable(2)
        return Problem(cp.Minimize(cp.sum(x)), [x >= np.array([1.0, np.nan])])

    bad("bad-nan-constraint", "lp", nan_constraint, DataError, ("constraint 0", "nan"),
        doc="NaN in a cvxpy constant: DataError naming the constraint")
    bad("bad-shape", "lp", lambda: LinearProblem(c=[1, 1], A=[[1, 1, 1]], rl=[1]),
        InvalidProblemError, ("3 columns", "2 entries"), doc="A with 3 columns for c with 2")
    bad("unknown-option", "*", None, OptionError, ("no_such_option",),
        options={"no_such_option": 1}, build_for=_simple_model, doc="an unknown keyword")
    bad("bad-tol", "*", None, OptionError, ("tol",), options={"tol": -1.0},
        build_for=_simple_model, doc="a negative tolerance")
    bad("unknown-solver-option", "*", None, OptionError, ("solver_options",),
        build_for=_simple_model, applies=lambda b: _native_names(b) is not None,
        doc="a misspelt native option, refused with the close matches (backends that list "
            "their native options)")
    bad("bad-option-domain", "*", None, OptionError, (), build_for=_simple_model,
        applies=lambda b: _domain_option(b) is not None,
        doc="a value outside a declared option domain")
    bad("unsupported-class", "*", None, UnsupportedProblemError, ("does not accept",),
        build_for=_nlp_model, applies=lambda b: not ({"nlp", "nlp-equality"} & set(b.accepts)),
        doc="a smooth nonconvex problem given to a backend that does not accept nlp")

    def x0_shape():
        x = cp.Variable(2, name="xs")
        return Problem(cp.Minimize(cp.exp(x[0]) * x[1] + x[0] ** 2), [x[0] + x[1] == 1]), x

    bad("bad-x0-shape", "nlp", None, InvalidProblemError, ("xs", "shape"),
        build_for=lambda b: _with_x0(x0_shape, [1.0, 2.0, 3.0]), doc="x0 of the wrong shape")
    bad("bad-x0-nan", "nlp", None, InvalidProblemError, ("non-finite",),
        build_for=lambda b: _with_x0(x0_shape, [np.nan, 1.0]), doc="x0 with a NaN")
    bad("bad-nan-callback", "nlp",
        lambda: NLP(x0=[1.0, 1.0], f=lambda x: float("nan")), InvalidProblemError,
        ("not finite",), doc="an NLP whose f(x0) is NaN")
    bad("bad-nan-bilevel", "bilevel", _nan_bilevel, InvalidProblemError, ("nan", "lower"),
        options={"time_limit": 2.0, "max_iter": 5}, doc="NaN in the lower level's objective")
    bad("bad-nan-weights", "multiobjective", _nan_weights, InvalidProblemError,
        ("nan", "weights"), options={"time_limit": 2.0},
        doc="NaN in a multiobjective model's weights")
    return cases + _linear_system_cases()


def _linear_system_cases() -> list[Case]:
    """Cases of the ``linear-system`` kind (ok.LinearSystem: A x = b), each with a known x."""
    import scipy.sparse as sp

    from ..errors import DataError, UnsupportedProblemError
    from ..linear_system import LinearSystem

    kind, fam = "linear-system", "linear-system"
    spd_only = lambda b: "spd-only" in getattr(b, "capabilities", ())  # noqa: E731
    general = lambda b: not spd_only(b)  # noqa: E731
    iterative = lambda b: "iterative" in getattr(b, "capabilities", ())  # noqa: E731
    m = 8  # 5-point Laplacian of an 8 × 8 grid plus 0.1 I (SPD, consistently ordered)
    T = sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1])
    lap = (sp.kron(T, sp.identity(m)) + sp.kron(sp.identity(m), T) + 0.1 * sp.identity(m * m))
    x_lap = np.sin(np.arange(1, m * m + 1))
    # a nonsymmetric, strictly diagonally dominant 3 × 3 (SOR converges for ω = 1)
    G = np.array([[4.0, 1.0, 0.0], [2.0, 5.0, 1.0], [0.0, -1.0, 3.0]])
    x_g = np.array([1.0, -2.0, 3.0])
    out = [
        Case("ls-spd-laplacian", lambda: LinearSystem(lap, lap @ x_lap), OPTIMAL, kind=kind,
             family=fam, x=x_lap, x_atol=1e-6, kkt_tol=None, tags=frozenset({"counters"}),
             doc="(L + 0.1 I) x = b with x = sin(1..64): the known x to 1e-6"),
        # [[4, 1], [1, 3]] x = [1, 2]: x = [1/11, 7/11] by Cramer's rule
        Case("ls-spd-2x2", lambda: LinearSystem(np.array([[4.0, 1.0], [1.0, 3.0]]), [1.0, 2.0]),
             OPTIMAL, kind=kind, family=fam, x=[1 / 11, 7 / 11], x_atol=1e-8, kkt_tol=None),
        Case("ls-nonsymmetric", lambda: LinearSystem(G, G @ x_g), OPTIMAL, kind=kind, family=fam,
             x=x_g, x_atol=1e-7, kkt_tol=None, applies=general,
             doc="a nonsymmetric diagonally dominant 3 × 3 with x = (1, −2, 3)"),
        Case("ls-nonsymmetric-refused", lambda: LinearSystem(G, G @ x_g), set(), kind=kind,
             family="bad-input", raises=UnsupportedProblemError, names=("not symmetric",),
             kkt_tol=None, applies=spd_only,
             doc="an SPD-only method refuses a nonsymmetric A before solving"),
        Case("ls-limit-iterations", lambda: LinearSystem(lap, lap @ x_lap), set(), kind=kind,
             family="status", options={"max_iter": 2}, limit=Termination.ITERATION_LIMIT,
             kkt_tol=None, applies=iterative, doc="two iterations are not enough at tol 1e-9"),
        Case("ls-zero-diagonal-refused",
             lambda: LinearSystem(np.array([[0.0, 1.0], [1.0, 0.0]]), [1.0, 2.0]), set(),
             kind=kind, family="bad-input", raises=UnsupportedProblemError,
             names=("zero diagonal", "row 0"), kkt_tol=None, applies=iterative,
             doc="SOR-type methods divide by a_ii: a zero diagonal is refused by row"),
    ]
    for name, A, b, names, doc in (
            ("ls-singular-zero-row", np.array([[1.0, 2.0], [0.0, 0.0]]), [1.0, 1.0],
             ("singular", "row 1"), "a zero row: refused as singular, by row"),
            ("ls-structurally-singular", np.array([[1.0, 1.0, 1.0], [1.0, 0, 0], [1.0, 0, 0]]),
             np.ones(3), ("structurally singular", "rank 2"), "two rows on one column"),
            ("ls-nan-matrix", np.array([[1.0, np.nan], [0.0, 1.0]]), [1.0, 1.0],
             ("A[0, 1]", "nan"), "NaN in A, named by entry"),
            ("ls-nan-rhs", np.eye(2), [1.0, np.nan], ("b[1]", "nan"), "NaN in b, named by entry")):
        out.append(Case(name, functools.partial(LinearSystem, A, b), set(), kind=kind,
                        family="bad-input", raises=DataError, names=names, kkt_tol=None, doc=doc))
    return out


def _simple_model(backend) -> Any:
    """A trivial model of a class ``backend`` accepts (for option checks, built before solving)."""
    import cvxpy as cp

    from ..modeling import NLP, Problem

    acc = set(backend.accepts)
    x = cp.Variable(2)
    if acc & {"lp", "qp", "conic"}:
        return Problem(cp.Minimize(cp.sum(x)), [x >= 0, x[0] + x[1] >= 1])
    if "milp" in acc or "miqp" in acc:
        z = cp.Variable(2, integer=True)
        return Problem(cp.Minimize(cp.sum(z)), [z >= 0, z[0] + z[1] >= 1])
    if acc & {"nlp", "nlp-equality"}:
        return NLP(x0=[1.0, 1.0], f=lambda v: float(v @ v), grad=lambda v: 2 * v,
                   cons=lambda v: np.array([v.sum() - 1.0]), jac=lambda v: np.ones((1, 2)))
    if "bilevel" in acc:
        return _bilevel(1.0)
    if "multiobjective" in acc:
        return _multiobjective(None)
    if "linear-system" in acc:
        from ..linear_system import LinearSystem

        return LinearSystem(np.array([[2.0, 0.0], [0.0, 2.0]]), [1.0, 1.0])
    raise ValueError(f"no simple model for a backend accepting {sorted(acc)}")


def _nlp_model(backend) -> Any:
    import cvxpy as cp

    from ..modeling import Problem

    x = cp.Variable(2)
    return Problem(cp.Minimize(cp.exp(x[0]) * x[1] + x[0] ** 2), [x[0] + x[1] == 1])


def _with_x0(factory, value):
    model, var = factory()
    return model, {"x0": {var: value}}


def _bilevel(coef: float):
    """min (x − 1)² + y²  s.t. y ∈ argmin (y − coef·x)², y >= −1 (a NaN ``coef`` is bad data)."""
    import cvxpy as cp

    from ..bilevel import Bilevel, Level

    x, y = cp.Variable(name="x"), cp.Variable(name="y")
    upper = Level(cp.Minimize((x - 1) ** 2 + y ** 2), [x >= -5, x <= 5], variables=[x])
    lower = Level(cp.Minimize((y - coef * x) ** 2), [y >= -1], variables=[y])
    return Bilevel(upper, lower, name="bilevel-conformance")


def _nan_bilevel():
    return _bilevel(float("nan"))


def _multiobjective(weights):
    import cvxpy as cp

    from ..multiobjective import MultiObjective

    # integer columns in a box, integer objective coefficients: a model every method takes
    # (sampling methods need the box, exact ones integer-valued objectives)
    x = cp.Variable(2, integer=True, bounds=[0, 2])
    return MultiObjective([cp.Minimize(x[0]), cp.Minimize(x[1])], [x[0] + x[1] >= 1],
                          weights=weights, max_points=3)


def _nan_weights():
    return _multiobjective([[float("nan"), 1.0]])


def _native_names(backend) -> list[str] | None:
    try:
        return backend.solver_option_names()
    except Exception:  # a backend that cannot list them now: treat as not listing
        return None


def _domain_option(backend) -> tuple[str, Any] | None:
    """(name, a value outside its domain) for the first option declared with a tuple domain."""
    from ..options import Option

    for name, spec in (getattr(backend, "options", None) or {}).items():
        if isinstance(spec, Option) and isinstance(spec.domain, tuple) and spec.domain \
                and not isinstance(spec.domain[0], type):
            return name, "__not_a_valid_value__"
    return None


CASES = _cases


# ---------------------------------------------------------------------- running
@contextlib.contextmanager
def _registered(backend: Any) -> Iterator[Any]:
    """The backend object, registered in-process while the block runs when given as an instance."""
    from .. import registry

    if isinstance(backend, str):
        yield registry.get(backend)
        return
    inst = backend() if isinstance(backend, type) else backend
    previous = registry._extra.get(inst.name)
    if previous is inst:
        yield inst
        return
    registry.register(inst)
    try:
        yield inst
    finally:
        registry.unregister(inst.name)
        if previous is not None:
            registry.register(previous)


def applicable(case: Case, backend: Any) -> bool:
    """True when ``backend``'s declarations (``accepts``, and ``case.applies``) give it ``case``."""
    acc = set(getattr(backend, "accepts", ()) or ())
    if case.kind != "*" and case.kind not in acc:
        return False
    if case.kind == "*" and not acc:
        return False
    return case.applies is None or bool(case.applies(backend))


def cases_for(backend: Any, exclude: Mapping[str, str] | Iterable[str] | None = None,
              cases: Iterable[str | Case] | None = None) -> list[Case]:
    """The cases generated for ``backend``: applicable by its declarations, minus exclusions."""
    extra = _exclude_map(exclude)
    pool = _cases()
    if cases is not None:
        by_name = {c.name: c for c in pool}
        unknown = [c for c in cases if not isinstance(c, Case) and c not in by_name]
        if unknown:
            raise KeyError(f"unknown conformance case(s) {unknown}; cases: {sorted(by_name)}")
        pool = [c if isinstance(c, Case) else by_name[c] for c in cases]
    name = getattr(backend, "name", str(backend))
    return [c for c in pool if applicable(c, backend) and exclusion(name, c, extra) is None]


def _exclude_map(exclude) -> dict[str, str]:
    if exclude is None:
        return {}
    if isinstance(exclude, Mapping):
        return dict(exclude)
    return {str(e): "excluded by the caller" for e in exclude}


def run_case(backend: Any, case: Case) -> CaseOutcome | None:
    """Solve one case on ``backend`` (name or instance); None when its declarations exclude it."""
    with _registered(backend) as b:
        if not applicable(case, b):
            return None
        t0 = time.perf_counter()
        out = _run(b, case)
        out.seconds = time.perf_counter() - t0
        out.backend, out.family = b.name, case.family
        return out


def _build(case: Case, backend) -> tuple[Any, dict]:
    """(model, extra solve options) of a case for a backend."""
    if case.build_for is not None:
        built = case.build_for(backend)
    else:
        assert case.build is not None, f"case {case.name} has no builder"
        built = case.build()
    if isinstance(built, tuple):
        return built
    return built, {}


def _run(backend, case: Case) -> CaseOutcome:
    from ..solving import solve

    options = {**DEFAULT_OPTIONS, **case.options}
    if case.raises is not None:
        return _run_bad_input(backend, case, options)
    try:
        model, more = _build(case, backend)
        res = solve(model, backend.name, **{**options, **more})
    except Exception as exc:  # a conformance failure, not a test crash
        return CaseOutcome(case.name, False, f"raised {type(exc).__name__}: {exc}")
    problems = judge_case(case, backend, res, model)
    return CaseOutcome(case.name, not problems, "; ".join(problems) or "ok", res)


def _run_bad_input(backend, case: Case, options: dict) -> CaseOutcome:
    from ..solving import solve

    names = list(case.names)
    if case.name == "unknown-solver-option":
        valid = _native_names(backend) or []
        wrong = (valid[0] + "_x") if valid else "no_such_native_option_xyz"
        options = {**options, "solver_options": {wrong: 1}}
        names = [wrong] + ([valid[0]] if valid else [])
    if case.name == "bad-option-domain":
        domain = _domain_option(backend)
        assert domain is not None  # the case is generated only for backends with such an option
        opt, value = domain
        options = {**options, opt: value}
        names = [opt]
    raises = case.raises
    assert raises is not None  # a bad-input case names its error type
    try:
        model, more = _build(case, backend)
        solve(model, backend.name, **{**options, **more})
    except raises as exc:
        msg = str(exc)
        missing = [s for s in names if s.lower() not in msg.lower()]
        if missing:
            return CaseOutcome(case.name, False, f"{type(exc).__name__} raised but its message does "
                                                 f"not name {missing}: {msg}")
        return CaseOutcome(case.name, True, f"{type(exc).__name__}: {msg}")
    except Exception as exc:
        return CaseOutcome(case.name, False, f"raised {type(exc).__name__} instead of "
                                             f"{raises.__name__}: {exc}")
    return CaseOutcome(case.name, False, f"no {raises.__name__} raised")


def judge_case(case: Case, backend: Any, res: Any, model: Any) -> list[str]:
    """Every way ``res`` falls short of ``case`` (empty when it conforms)."""
    from ..verify import KKTReport

    problems: list[str] = []
    term = res.termination
    allowed = allowed_terminations(backend, case)
    if not isinstance(res.kkt, KKTReport):
        problems.append(f"kkt is a {type(res.kkt).__name__}, not a KKTReport")
    if case.limit is not None:
        if term not in allowed:
            problems.append(f"termination {term} is not {case.limit} (nor another declared limit)"
                            f" ({res.message})")
        if res.is_solved():
            problems.append("a limited solve is reported is_solved()")
        return problems
    if case.trust:
        return _judge_trust(case, res)
    if term not in allowed:
        problems.append(f"termination {term} not in {sorted(str(t) for t in allowed)} "
                        f"({res.message})")
        return problems
    if not (term.claims_optimality):
        if res.is_solved():
            problems.append(f"{term} reported is_solved()")
        if term in INFEASIBLE and res.primal_status == PrimalStatus.FEASIBLE:
            problems.append("an infeasible case returned a point measured FEASIBLE")
        return problems
    if res.verified is not True or not res.is_solved():
        problems.append(f"not is_solved(): verified={res.verified}, primal {res.primal_status} "
                        f"({res.message})")
    if case.objective is not None:
        obj = res.objective
        if obj is None or not abs(obj - case.objective) <= case.rtol * max(1.0, abs(case.objective)):
            problems.append(f"objective {obj} != {case.objective}")
    problems += _judge_point(case, res, model)
    problems += _judge_kkt(case, res, model)
    if "duals" in getattr(backend, "capabilities", ()) and not _is_mip(model):
        problems += _judge_duals(case, res, model)
    if "counters" in case.tags and not (isinstance(res.iterations, int) and res.iterations >= 0):
        problems.append(f"iterations = {res.iterations!r} (an int >= 0 expected)")
    if case.check is not None:
        msg = case.check(res, model)
        if msg:
            problems.append(msg)
    return problems


def _judge_trust(case: Case, res) -> list[str]:
    """Silent-wrong classes: right and solved, or honestly not solved; never solved and wrong."""
    obj = res.objective
    want = case.objective
    right = obj is not None and want is not None and abs(obj - want) <= case.rtol * max(1.0, abs(want))
    if res.is_solved():
        return [] if right else [f"SILENT WRONG ANSWER: is_solved() with objective {obj} != "
                                 f"{case.objective} ({res.message})"]
    if res.termination.claims_optimality and res.verified is not False:
        return [f"claims {res.termination} at a wrong or unmeasured point but verified = "
                f"{res.verified} ({res.message})"]
    if res.termination.claims_optimality and "contradicts" not in (res.message or ""):
        return [f"not verified but the message names no failing residual: {res.message!r}"]
    return []


def _flat(v) -> np.ndarray:
    return np.ravel(np.asarray(v, dtype=float), order="F")


def _judge_point(case: Case, res, model) -> list[str]:
    if case.x is None:
        return []
    want = _flat(case.x)
    if hasattr(model, "variables") and callable(model.variables) and \
            hasattr(model, "cvxpy_problem"):
        got = res.value(model.variables()[0])
    else:
        got = res.x
    if got is None or _flat(got).shape != want.shape or \
            not np.allclose(_flat(got), want, atol=case.x_atol, rtol=0):
        return [f"x = {None if got is None else _flat(got).round(7).tolist()} != {want.tolist()}"]
    return []


def _is_mip(model) -> bool:
    return getattr(model, "problem_class", "") in ("milp", "miqp")


def _judge_kkt(case: Case, res, model) -> list[str]:
    out = []
    kkt = res.kkt
    if _is_mip(model):
        integ = kkt.get("integrality")
        if integ is None or integ > 1e-5:
            out.append(f"integrality {integ} > 1e-5")
        return out
    if case.kkt_tol is None:
        return out
    for key in ("stationarity_rel", "complementarity_rel"):
        v = kkt.get(key)
        if v is None or not v <= case.kkt_tol:
            out.append(f"{key} {v} > {case.kkt_tol}")
    return out


def _judge_duals(case: Case, res, model) -> list[str]:
    out = []
    if case.y is not None:
        want = _flat(case.y)
        got = None if res.y is None else _flat(res.y)
        if got is None or got.shape != want.shape or \
                not np.allclose(got, want, atol=DUAL_ATOL * max(1.0, np.abs(want).max())):
            out.append(f"y = {None if got is None else got.round(7).tolist()} != {want.tolist()} "
                       f"(L = f + yᵀc)")
    if case.z is not None:
        z = _implied_bound_duals(res, model)
        want = _flat(case.z)
        if z is None or not np.allclose(z, want, atol=DUAL_ATOL * max(1.0, np.abs(want).max())):
            out.append(f"bound multipliers by stationarity z = "
                       f"{None if z is None else z.round(7).tolist()} != {want.tolist()}")
    for index, value in case.duals:
        con = model.constraints[index]
        got = res.dual(con)
        want = _flat(value)
        if got is None or _flat(got).shape != want.shape or \
                not np.allclose(_flat(got), want, atol=DUAL_ATOL * max(1.0, np.abs(want).max())):
            out.append(f"dual of constraint {index} ({con}) = {got} != {value} (cvxpy convention)")
    return out


def _implied_bound_duals(res, model) -> np.ndarray | None:
    """z = −(∇f(x) + ∇c(x)ᵀy) at the returned point, on the model's own form."""
    if res.x is None:
        return None
    x = np.asarray(res.x, dtype=float)
    form = getattr(model, "form", None)
    if form is not None and hasattr(form, "rl"):  # LinearProblem
        g = form.objective_gradient(x)
        if form.m:
            if res.y is None:
                return None
            g = g + form.A.T @ np.asarray(res.y, dtype=float)
        return -g
    if callable(form):  # callback NLP: form(x0) builds an NLPForm
        f = form()
        g = f.grad(x)
        if f.m:
            if res.y is None:
                return None
            g = g + f.jac(x).T @ np.asarray(res.y, dtype=float)
        return -g
    return None


# ---------------------------------------------------------------------- public entry points
def run_conformance(backend: Any, cases: Iterable[str | Case] | None = None,
                    exclude: Mapping[str, str] | Iterable[str] | None = None) -> list[CaseOutcome]:
    """Run the suite on ``backend`` (a registered name, or an instance/class registered while it
    runs): every case its declarations give it (or only ``cases``), minus the declared
    :data:`EXCLUSIONS` and the caller's ``exclude`` (case ids, tags as "tag:x", families as
    "family:x"; a mapping to reasons or a plain list). Returns one :class:`CaseOutcome` per case."""
    with _registered(backend) as b:
        selected = cases_for(b, exclude=exclude, cases=cases)
        return [o for c in selected if (o := run_case(b, c)) is not None]


def conformance_cases(backend: Any, exclude: Mapping[str, str] | Iterable[str] | None = None
                      ) -> list[tuple[str, Callable[[], CaseOutcome]]]:
    """(case id, callable) pairs for ``pytest.mark.parametrize``; each callable runs its case and
    raises AssertionError (with the reason) when the backend does not conform::

        @pytest.mark.parametrize("case_id, run", conformance_cases(MyBackend()))
        def test_conformance(case_id, run):
            assert run().ok
    """
    with _registered(backend) as b:
        selected = cases_for(b, exclude=exclude)

    def runner(case: Case) -> Callable[[], CaseOutcome]:
        def run_one() -> CaseOutcome:
            out = run_case(backend, case)
            if out is None or not out.ok:
                raise AssertionError(f"{getattr(backend, 'name', backend)} / {case.name}: "
                                     f"{'not applicable' if out is None else out.detail}")
            return out
        run_one.__name__ = f"conformance_{case.name}"
        return run_one

    return [(c.name, runner(c)) for c in selected]


def bad_input_checks(backend: Any) -> list[CaseOutcome]:
    """The bad-input family alone (errors that must be raised before any solve)."""
    return run_conformance(backend, cases=[c.name for c in _cases() if c.family == "bad-input"])


def run(backend: Any) -> list[CaseOutcome]:
    """Every generated case (answers, statuses, limits and bad input)."""
    return run_conformance(backend)


def check(backend: Any) -> list[CaseOutcome]:
    """Run the suite and raise AssertionError naming every failing case."""
    outcomes = run(backend)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        name = getattr(backend, "name", backend)
        raise AssertionError(f"backend {name!r} fails conformance: " +
                             "; ".join(f"{o.case}: {o.detail}" for o in failed))
    return outcomes


# ---------------------------------------------------------------------- documentation
def exclusions_markdown() -> str:
    """The declared exclusions and allowances as Markdown tables (docs/backends.md)."""
    lines = ["| backend | cases | reason |", "|---|---|---|"]
    for (backend, sel), why in sorted(EXCLUSIONS.items()):
        lines.append(f"| `{backend}` | `{sel}` | {why} |")
    if ALLOWANCES:
        lines += ["", "| backend | cases | also accepted | reason |", "|---|---|---|---|"]
        for (backend, sel), (terms, why) in sorted(ALLOWANCES.items()):
            lines.append(f"| `{backend}` | `{sel}` | {', '.join(sorted(map(str, terms)))} | {why} |")
    return "\n".join(lines)


def cases_markdown() -> str:
    """One line per case: id, family, class, what it checks (docs/backends.md)."""
    lines = ["| case | family | class | known answer / check |", "|---|---|---|---|"]
    for c in _cases():
        if c.raises is not None:
            what = f"raises {c.raises.__name__}" + (f": {c.doc}" if c.doc else "")
        elif c.limit is not None:
            what = f"{c.limit}: {c.doc}"
        elif c.objective is not None:
            what = f"objective {c.objective:.10g}" + (" (correct, or not verified)" if c.trust else "")
            extras = [k for k, v in (("x", c.x), ("y", c.y), ("z", c.z)) if v is not None]
            if c.duals:
                extras.append("dual()")
            if extras:
                what += "; " + ", ".join(extras)
            if c.doc:
                what += f" — {c.doc}"
        else:
            what = " or ".join(sorted(map(str, c.terminations))) + (f": {c.doc}" if c.doc else "")
        lines.append(f"| `{c.name}` | {c.family} | {c.kind} | {what} |")
    return "\n".join(lines)
