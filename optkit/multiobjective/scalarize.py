"""Scalarisations as problem transformations, and the machinery shared by the sweep methods.

Every scalarisation used by optkit has the template (in normalised minimisation units
Ĝ = (G − shift)/scale, G = s ⊙ F, optional extra scalar variable t)

    minimise   cᵀĜ(x) + c_t·t
    subject to lo ≤ A Ĝ(x) + a_t·t ≤ hi,     x ∈ X   (the problem's own constraints),

which covers weighted sums (c = w), augmented ε-constraint (c = e_k + ρ Σ_{j≠k} e_j,
rows Ĝ_j ≤ ε_j), Pascoletti–Serafini (min t s.t. Ĝ(x) − t r ≤ a), NBI (max t s.t.
Ĝ(x) − t n̂ = Φβ, an equality row block) and the gap-filling subproblems (min Ĝ_l s.t.
Ĝ_j ≤ Ĝ_j(x_r) + δ). :func:`build` turns a template into an ordinary single-objective model:
an ``ok.Problem`` (cvxpy algebra, so an LP stays an LP) or an ``ok.NLP`` (callbacks), solved by the
backend named in ``inner`` or, by default, by the one the registry ranks first for the
subproblem's class among backends that declare the ``inner-solver`` capability (and ``integer`` for
a MILP): :func:`pick_inner` asks by capability, never by name. ``inner="slsqp"`` instead calls
scipy's SLSQP directly on the callback template (every evaluation still goes through the model's
counter); it is also the fallback for callback subproblems when no NLP backend is installed, as
cvxpy's own solve (``inner="direct"``) is for conic ones.

Each accepted point is measured (scaled violation, :meth:`MultiObjective.scaled_violation`,
against feas_tol of :class:`~optkit.verify.Tolerances`) and carries its inner solve's verdict;
:meth:`Run.finish` hands both to the :class:`ParetoResult`, whose verdict they decide. A point
whose objectives are not finite is a failed subproblem (status NUMERICAL_ERROR).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SolverUnavailableError
from ..raw import iteration_record
from ..verify import Tolerances
from .indicators import nondominated_mask
from .model import BudgetExhausted, MultiObjective, SubproblemBudget
from .result import ParetoResult

LINEAR = ("lp", "milp", "qp")
INFEASIBLE = ("INFEASIBLE", "LOCALLY_INFEASIBLE", "INFEASIBLE_OR_UNBOUNDED")
#: inner modes that are not registered backends: scipy's SLSQP on the template, cvxpy's own solve
SLSQP, DIRECT = "slsqp", "direct"


@dataclass
class Scalarization:
    """minimise cᵀĜ + c_t t  s.t.  lo ≤ AĜ + a_t t ≤ hi (normalised units; see module doc)."""

    c: np.ndarray
    ct: float = 0.0
    A: np.ndarray | None = None
    at: np.ndarray | None = None
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    t_bounds: tuple = (-np.inf, np.inf)
    has_t: bool = False

    def rows(self, m: int):
        A = np.zeros((0, m)) if self.A is None else np.atleast_2d(np.asarray(self.A, float))
        k = A.shape[0]
        at = np.zeros(k) if self.at is None else np.asarray(self.at, float)
        lo = np.full(k, -np.inf) if self.lo is None else np.asarray(self.lo, float)
        hi = np.full(k, np.inf) if self.hi is None else np.asarray(self.hi, float)
        return A, at, lo, hi


@dataclass
class Sub:
    """One subproblem outcome: point, objective values (minimisation units), status."""

    x: np.ndarray | None
    G: np.ndarray | None
    feasible: bool
    ok: bool
    status: str
    message: str = ""
    t: float | None = None
    violation: float | None = None   # scaled violation at x, measured by optkit
    verified: bool | None = None     # the inner solve's verdict (None: not an ok.solve)


def single_thread(fn, *args, **kw):
    """Call fn with BLAS/OpenMP pools limited to one thread (when threadpoolctl is installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return fn(*args, **kw)
    with threadpool_limits(limits=1):
        return fn(*args, **kw)


# ---------------------------------------------------------------------------- inner solver choice
def pick_inner(inner: str | None, klass: str) -> str:
    """The inner solver for a subproblem of class ``klass`` (lp, milp, qp, conic, nlp).

    ``inner`` when given; otherwise the available backend with the highest declared priority for
    ``klass`` among those declaring the ``inner-solver`` capability (and ``integer`` for MILP),
    through :func:`optkit.registry.best_for`. With none: :data:`DIRECT` (cvxpy's own solve) for
    conic subproblems, :data:`SLSQP` for NLP ones.
    """
    if inner not in (None, "auto"):
        return inner
    from .. import registry

    need = {"inner-solver"} | ({"integer"} if klass in ("milp", "miqp") else set())
    try:
        return registry.best_for(klass, require=frozenset(need)).name
    except SolverUnavailableError:
        if klass == "conic":
            return DIRECT
        if klass == "nlp":
            return SLSQP
        raise


# ---------------------------------------------------------------------------- reference sets
def simplex_lattice(m: int, h: int) -> np.ndarray:
    """Das–Dennis lattice {w ≥ 0, Σw = 1, w ∈ (1/h)ℤ^m}: C(h+m−1, m−1) points."""
    if m == 1:
        return np.ones((1, 1))
    out = []
    for i in range(h + 1):
        for rest in simplex_lattice(m - 1, h - i) * (h - i) if h - i > 0 else [np.zeros(m - 1)]:
            out.append(np.concatenate([[i], rest]))
    return np.asarray(out, float) / h


def simplex_points(m: int, k: int) -> np.ndarray:
    """About k points spread on the unit simplex (a lattice with at least k points, m ≥ 2)."""
    if m == 2:
        s = np.linspace(0.0, 1.0, max(k, 2))
        return np.column_stack([s, 1 - s])
    h = 1
    from math import comb

    while comb(h + m - 1, m - 1) < k:
        h += 1
    return simplex_lattice(m, h)


def iter_spread_order(P: np.ndarray, first: int = 0):
    """Greedy farthest-point order, lazily: each index costs O(k), so a sweep that stops early
    (budget, time limit) never pays for the whole O(k²) order."""
    P = np.asarray(P, float)
    k = len(P)
    if k == 0:
        return
    yield first
    d = np.linalg.norm(P - P[first], axis=1)
    d[first] = -1.0
    for _ in range(k - 1):
        i = int(np.argmax(d))
        yield i
        d = np.minimum(d, np.linalg.norm(P - P[i], axis=1))
        d[i] = -1.0


def spread_order(P: np.ndarray, first: int = 0, limit: int | None = None) -> np.ndarray:
    """Greedy farthest-point order: every prefix of the order is spread over the set."""
    k = len(P) if limit is None else min(limit, len(P))
    it = iter_spread_order(P, first)
    return np.fromiter((next(it) for _ in range(k)), dtype=int, count=k)


def anchor_entries(log: list) -> list:
    """The subproblem-log entries of the anchor solves (params carry "anchor")."""
    return [e for e in log if isinstance(e.get("params"), dict) and "anchor" in e["params"]]


# ---------------------------------------------------------------------------- one run
class Run:
    """State of one method run: budgets, counters, archive of feasible points, subproblem log."""

    def __init__(self, model: MultiObjective, options, method: str):
        self.model = model
        self.method = method
        self.t_start = time.perf_counter()
        g = options.get
        self.max_evals = g("max_evals") or model.max_evals
        self.time_limit = options.time_limit or model.time_limit
        self.max_points = g("max_points") or model.max_points
        self.seed = options.seed if options.seed is not None else model.seed
        self.tol = options.tol or 1e-8
        self.inner = g("inner", None)
        self.inner_max_iter = g("inner_max_iter", None) or options.max_iter or 100
        self.inner_max_evals = g("inner_max_evals", None)
        if self.inner_max_evals is None and model.mode == "callback":
            self.inner_max_evals = 400
        self.solver_options = dict(options.solver_options)
        self.verbose = options.verbose
        self.counter = model.reset(self.max_evals if model.mode == "callback" else None)
        self.tolerances = Tolerances.from_options(options)
        self.X: list = []
        self.G: list = []
        self.status: list = []
        self.params: list = []
        self.viol: list = []
        self.verified: list = []
        self.log: list = []
        self.history: list = []
        self._inner: dict = {}
        self.reasons: list = []
        self.failed = 0
        self.m = model.m
        self.shift = np.zeros(self.m)
        self.scale = np.ones(self.m)
        self.payoff: np.ndarray | None = None
        self.inner_used: set = set()
        self.stopped: str | None = None
        self.feas_tol = self.tolerances.feas
        self.anchor_starts = g("anchor_starts", None)

    def inner_for(self, klass: str) -> str:
        """The inner solver for class ``klass`` (cached per run; see :func:`pick_inner`)."""
        if klass not in self._inner:
            self._inner[klass] = pick_inner(self.inner, klass)
        return self._inner[klass]

    # --------------------------------------------------------------- budgets
    def elapsed(self) -> float:
        return time.perf_counter() - self.t_start

    def exhausted(self) -> str | None:
        """Reason to stop now (budget, time, points), or None."""
        if self.stopped:
            return self.stopped
        if self.max_evals is not None and (self.counter.total >= self.max_evals
                                           or self.counter.exhausted):
            self.stopped = f"evaluation budget max_evals={self.max_evals} exhausted"
        elif self.time_limit is not None and self.elapsed() >= self.time_limit:
            self.stopped = f"time_limit={self.time_limit}s reached"
        elif self.max_points is not None and len(self.X) and \
                int(nondominated_mask(np.asarray(self.G)).sum()) >= self.max_points:
            self.stopped = f"max_points={self.max_points} reached"
        return self.stopped

    # --------------------------------------------------------------- normalisation
    def set_normalisation(self, ideal: np.ndarray, nadir: np.ndarray) -> None:
        """Ĝ = (G − ideal)/(nadir − ideal) (minimisation units); user ideal/nadir/scale win."""
        mdl = self.model
        s = mdl.senses
        if mdl.ideal is not None:
            ideal = s * mdl.ideal
        if mdl.nadir is not None:
            nadir = s * mdl.nadir
        span = nadir - ideal
        if mdl.scale is not None:
            span = mdl.scale
        span = np.where(np.abs(span) > 1e-12, np.abs(span), 1.0)
        self.shift, self.scale = np.asarray(ideal, float), np.asarray(span, float)

    def norm(self, G: np.ndarray) -> np.ndarray:
        return (np.asarray(G, float) - self.shift) / self.scale

    # --------------------------------------------------------------- solving
    def solve(self, scal: Scalarization, x0: np.ndarray | None, t0: float | None,
              params: dict, record: bool = True, expect_infeasible: bool = False) -> Sub | None:
        """Solve one scalarised subproblem and archive its point; None when out of budget.

        ``expect_infeasible``: an infeasible subproblem is an answer (ε too tight), not a failure.
        """
        if self.exhausted():
            return None
        before = self.counter.total
        if self.inner_max_evals:
            self.counter.sub_limit = before + int(self.inner_max_evals)
        try:
            if self.model.mode == "callback":
                sub = self._solve_callback(scal, x0, t0)
            else:
                sub = self._solve_cvxpy(scal, x0)
        except SubproblemBudget:
            sub = Sub(None, None, False, False, "EVALUATION_LIMIT",
                      f"subproblem used its cap of inner_max_evals={self.inner_max_evals}")
        except BudgetExhausted:
            self.exhausted()
            self.log.append({"params": params, "status": "EVALUATION_LIMIT",
                             "evaluations": self.counter.total - before})
            return None
        finally:
            self.counter.sub_limit = None
        self.log.append({"params": params, "status": sub.status, "message": sub.message,
                         "evaluations": self.counter.total - before})
        value = None
        if sub.G is not None and np.all(np.isfinite(sub.G)):
            value = float(np.asarray(scal.c) @ self.norm(sub.G) + scal.ct * (sub.t or 0.0))
        self.history.append(iteration_record(
            len(self.log), objective=value, primal_infeasibility=sub.violation,
            evaluations=self.counter.total, time=self.elapsed(), status=sub.status,
            archive=len(self.X) + int(bool(record and sub.feasible and sub.x is not None))))
        if expect_infeasible and sub.status in INFEASIBLE:
            sub.ok = True
        if not sub.ok:
            self.failed += 1
            if self.failed <= 3:
                self.reasons.append(f"subproblem {params} failed: {sub.status} {sub.message}".strip())
        if record and sub.feasible and sub.x is not None:
            self.add(sub.x, sub.G, sub.status, params, sub.violation, sub.verified)
        return sub

    def add(self, x, G, status, params, violation: float | None = None,
            verified: bool | None = None) -> None:
        """Archive a feasible point with its measured scaled violation and inner verdict."""
        self.X.append(np.asarray(x, float))
        self.G.append(np.asarray(G, float))
        self.status.append(status)
        self.params.append(params)
        self.viol.append(np.nan if violation is None else float(violation))
        self.verified.append(verified)

    def add_sub(self, sub: Sub, params) -> None:
        """Archive a subproblem's point (see :meth:`add`)."""
        self.add(sub.x, sub.G, sub.status, params, sub.violation, sub.verified)

    def _nonfinite(self, x: np.ndarray, G: np.ndarray) -> Sub | None:
        """A failed Sub when some objective is not finite at x (NaN produced mid-solve)."""
        if np.all(np.isfinite(G)):
            return None
        j = int(np.flatnonzero(~np.isfinite(G))[0])
        name = self.model.names[j] if j < len(self.model.names) else f"objective {j}"
        return Sub(None, None, False, False, "NUMERICAL_ERROR",
                   f"objective {name} is {G[j]} at the subproblem's point")

    def _solve_callback(self, scal: Scalarization, x0, t0) -> Sub:
        mdl = self.model
        x0 = mdl.x0 if x0 is None else np.clip(np.asarray(x0, float), mdl.lb, mdl.ub)
        if scal.has_t and t0 is None:
            t0 = 0.0
        inner = self.inner_for("nlp")
        self.inner_used.add(inner)
        verified = None
        if inner == SLSQP:
            x, t, status, ok, msg = _slsqp(mdl, scal, self, x0, t0)
        else:
            x, t, status, ok, msg, verified = _registry_nlp(mdl, scal, self, x0, t0, inner)
        if x is None:
            return Sub(None, None, False, False, status, msg)
        x = np.clip(x, mdl.lb, mdl.ub)
        G, g = mdl.values(x)
        bad = self._nonfinite(x, G)
        if bad is not None:
            return bad
        viol = mdl.scaled_violation(x, g)
        feas = viol <= self.feas_tol
        return Sub(x, G, feas, ok and feas, status, msg, t, viol, verified)

    def _solve_cvxpy(self, scal: Scalarization, x0) -> Sub:
        import cvxpy as cp

        from .. import solve as ok_solve
        from ..modeling import Problem

        mdl = self.model
        A, at, lo, hi = scal.rows(self.m)
        g = [mdl.senses[i] * o.expr for i, o in enumerate(mdl.objectives)]
        gh = [(g[i] - self.shift[i]) / self.scale[i] for i in range(self.m)]
        t = cp.Variable(name="t") if scal.has_t else None
        obj = sum(float(scal.c[i]) * gh[i] for i in range(self.m) if scal.c[i] != 0)
        if t is not None and scal.ct:
            obj = obj + scal.ct * t
        cons = list(mdl.constraints)
        for r in range(A.shape[0]):
            e = sum(float(A[r, i]) * gh[i] for i in range(self.m) if A[r, i] != 0)
            if t is not None and at[r]:
                e = e + float(at[r]) * t
            if lo[r] == hi[r]:
                cons.append(e == lo[r])
            else:
                if np.isfinite(hi[r]):
                    cons.append(e <= hi[r])
                if np.isfinite(lo[r]):
                    cons.append(e >= lo[r])
        if t is not None:
            if np.isfinite(scal.t_bounds[0]):
                cons.append(t >= scal.t_bounds[0])
            if np.isfinite(scal.t_bounds[1]):
                cons.append(t <= scal.t_bounds[1])
        obj = obj if not isinstance(obj, int) else cp.Constant(0.0)
        sub = Problem(cp.Minimize(obj), cons, name=f"{mdl.name}-{self.method}")
        inner = self.inner_for(sub.problem_class)
        self.inner_used.add(inner)
        opts: dict[str, Any] = {}
        if self.time_limit is not None:
            opts["time_limit"] = max(self.time_limit - self.elapsed(), 1e-3)
        verified = None
        if inner == DIRECT:
            try:
                sub.cvxpy_problem.solve()
                st = sub.cvxpy_problem.status
            except Exception as exc:  # solver failure is a status, not a crash
                return Sub(None, None, False, False, "ERROR", str(exc))
            okk = st in ("optimal", "optimal_inaccurate")
            if not okk:
                return Sub(None, None, False, False,
                           "INFEASIBLE" if st == "infeasible" else st.upper(), "")
            x = np.concatenate([np.asarray(v.value, float).reshape(-1, order="F")
                                for v in mdl.variables])
            status = "OPTIMAL"
        else:
            if x0 is not None and sub.problem_class == "nlp":
                mdl.assign(x0)
                opts["x0"] = {v: v.value for v in mdl.variables}
            if self.solver_options:
                opts["solver_options"] = self.solver_options
            res = ok_solve(sub, inner, **opts)
            ev = res.evaluations or {}
            self.counter.f += int(max(ev.get("f", 0), ev.get("cons", 0)))
            self.counter.grad += int(max(ev.get("grad", 0), ev.get("jac", 0)))
            status = str(res.termination)
            if res.x is None or not res.is_solved():
                return Sub(None, None, False, False, status, res.message)
            verified = res.verified
            vals = [res.value(v) for v in mdl.variables]
            x = np.concatenate([np.asarray(v, float).reshape(-1, order="F") for v in vals])
        G = mdl.G_cvxpy(x)
        bad = self._nonfinite(x, G)
        if bad is not None:
            return bad
        viol = mdl.scaled_violation(x)
        feas = viol <= self.feas_tol
        return Sub(x, G, feas, feas, status, "", None, viol, verified)

    # --------------------------------------------------------------- anchors / payoff
    def anchors(self, rho: float = 1e-2, x0=None, starts: int | None = None,
                starts_X: list | None = None) -> list:
        """Solve min G_i + ρ Σ_{j≠i} G_j for each i; payoff table, ideal and nadir estimates.

        Callback models with a finite box use ``starts`` Latin-hypercube starts per anchor (the
        model's x0 first; default 5, option ``anchor_starts``) and keep the best: a single local
        solve easily returns a local anchor on multimodal problems (ZDT3), which would shrink the
        normalised box and hide part of the front.
        """
        mdl = self.model
        k = int(starts if starts is not None else (self.anchor_starts or 5))
        X0 = [x0]
        if mdl.mode == "callback" and k > 1 and np.all(np.isfinite(mdl.lb)) and \
                np.all(np.isfinite(mdl.ub)):
            rng = np.random.default_rng(self.seed)
            u = (np.argsort(rng.random((k - 1, mdl.n)), axis=0) + rng.random((k - 1, mdl.n))) / (k - 1)
            X0 += list(mdl.lb + (mdl.ub - mdl.lb) * u)
        if starts_X:
            X0 = list(starts_X) + X0
        subs = []
        for i in range(self.m):
            c = np.full(self.m, rho)
            c[i] = 1.0
            best = None
            for j, xs in enumerate(X0):
                sub = self.solve(Scalarization(c=c), xs, None, {"anchor": i, "start": j})
                if sub is not None and sub.feasible and (best is None or c @ sub.G < c @ best.G):
                    best = sub
            subs.append(best)
        good = [s for s in subs if s is not None and s.feasible]
        if good:
            P = np.array([s.G for s in good])
            self.payoff = P
            self.set_normalisation(P.min(axis=0), P.max(axis=0))
        else:
            tried = anchor_entries(self.log)
            if tried and all(e.get("status") in INFEASIBLE for e in tried) and not self.stopped:
                # the anchors share the model's feasible set: no other subproblem can be feasible
                self.stopped = (f"the model's constraints are infeasible: all {len(tried)} "
                                "anchor subproblems report so")
        return subs

    # --------------------------------------------------------------- result
    def finish(self, planned_left: int = 0, extra: dict | None = None,
               heuristic: bool = False) -> ParetoResult:
        """The ParetoResult: nondominated archived points (ROI-filtered, near-duplicates
        dropped), completeness and reasons, counts, per-point measurements and history; its
        verdict is decided by :meth:`ParetoResult.judge` with this run's tolerances."""
        mdl = self.model
        s = mdl.senses
        X = np.array(self.X) if self.X else np.zeros((0, mdl.n))
        G = np.array(self.G) if self.G else np.zeros((0, self.m))
        # dominance on values rounded to 1e-9 of the objective scale: numerical noise (1e-15
        # instead of 0) must not keep a weakly dominated boundary point on the front
        q = np.maximum(self.scale, 1e-300) * 1e-9
        keep = nondominated_mask(np.round(G / q) * q) if len(G) else np.zeros(0, bool)
        if mdl.roi is not None and len(G):
            F = G * s
            keep &= np.all((mdl.roi[0] <= F) & (mdl.roi[1] >= F), axis=1)
        idx = np.flatnonzero(keep)
        if len(idx) > 1:  # drop near-duplicates (within 1e-5 of the objective scale)
            Z = G[idx] / np.maximum(self.scale, 1e-300)
            kept: list = []
            for j in range(len(idx)):
                if not kept or np.min(np.max(np.abs(Z[kept] - Z[j]), axis=1)) > 1e-5:
                    kept.append(j)
            idx = idx[kept]
        reasons = list(self.reasons)
        if self.failed > 3:
            reasons.append(f"{self.failed} subproblems failed in total")
        if self.stopped and planned_left > 0:
            reasons.insert(0, f"{self.stopped} with {planned_left} planned subproblems left")
        elif self.stopped and self.stopped.startswith("evaluation budget"):
            reasons.insert(0, self.stopped)
        complete = self.failed == 0 and not (self.stopped and (planned_left > 0 or
                                                                self.counter.exhausted))
        ideal = nadir = None
        if len(idx):
            ideal = (G[idx].min(axis=0)) * s
            nadir = (G[idx].max(axis=0)) * s
        counts = self.counter.as_dict()
        counts["subproblems"] = len(self.log)
        counts["failed_subproblems"] = self.failed
        counts["derivatives"] = mdl.derivatives
        order = idx[np.lexsort(G[idx].T[::-1])] if len(idx) else idx
        viol = np.asarray(self.viol, float)[order] if len(order) else np.zeros(0)
        return ParetoResult(
            X=X[order], F=G[order] * s, status=[self.status[i] for i in order],
            params=[self.params[i] for i in order], method=self.method, names=list(mdl.names),
            senses=s.copy(), ideal=ideal, nadir=nadir,
            payoff=None if self.payoff is None else self.payoff * s, counts=counts,
            timings={"total": self.elapsed()}, seed=self.seed, complete=bool(complete),
            reasons=reasons, archive={"X": X, "F": G * s, "status": list(self.status)},
            subproblems=self.log, extra={"inner": sorted(self.inner_used), **(extra or {})},
            solver=self.method, history=self.history, heuristic=heuristic,
            violations=viol, inner_verified=[self.verified[i] for i in order],
            tolerances=self.tolerances,
            message="complete" if complete else "; ".join(reasons))


# ---------------------------------------------------------------------------- callback subproblems
def _parts(mdl: MultiObjective, scal: Scalarization, run: Run):
    """f, grad, cons, jac, cl, cu of the template on z = (x[, t]) for the callback form."""
    n, m = mdl.n, mdl.m
    A, at, lo, hi = scal.rows(m)
    sh, sc = run.shift, run.scale
    c = np.asarray(scal.c, float)
    nt = 1 if scal.has_t else 0

    def split(z):
        return z[:n], (z[n] if nt else 0.0)

    def f(z):
        x, t = split(z)
        return float(c @ ((mdl.values(x)[0] - sh) / sc) + scal.ct * t)

    def grad(z):
        x, _ = split(z)
        gx = (c / sc) @ mdl.jacobians(x)[0]
        return np.concatenate([gx, [scal.ct]]) if nt else gx

    def cons(z):
        x, t = split(z)
        G, g = mdl.values(x)
        return np.concatenate([A @ ((G - sh) / sc) + at * t, g])

    def jac(z):
        x, _ = split(z)
        JG, Jg = mdl.jacobians(x)
        top = (A / sc) @ JG
        J = np.vstack([top, Jg])
        if nt:
            J = np.hstack([J, np.concatenate([at, np.zeros(mdl.mc)])[:, None]])
        return J

    cl = np.concatenate([lo, mdl.cl])
    cu = np.concatenate([hi, mdl.cu])
    lb = np.concatenate([mdl.lb, [scal.t_bounds[0]]]) if nt else mdl.lb
    ub = np.concatenate([mdl.ub, [scal.t_bounds[1]]]) if nt else mdl.ub
    return f, grad, cons, jac, cl, cu, lb, ub


_SLSQP_STATUS = {0: "LOCALLY_OPTIMAL", 9: "ITERATION_LIMIT", 2: "NUMERICAL_ERROR",
                 4: "LOCALLY_INFEASIBLE", 8: "NUMERICAL_ERROR", 5: "NUMERICAL_ERROR",
                 6: "NUMERICAL_ERROR", 7: "NUMERICAL_ERROR", 3: "NUMERICAL_ERROR"}


def _slsqp(mdl, scal, run: Run, x0, t0):
    """scipy SLSQP on the template (z = (x, t)); every oracle goes through the model counter."""
    from scipy.optimize import minimize

    f, grad, cons, jac, cl, cu, lb, ub = _parts(mdl, scal, run)
    z0 = np.concatenate([x0, [t0]]) if scal.has_t else x0.copy()
    eq = np.flatnonzero(cl == cu)
    up = np.flatnonzero((cl != cu) & np.isfinite(cu))
    low = np.flatnonzero((cl != cu) & np.isfinite(cl))
    constraints = []
    if up.size or low.size:
        constraints.append({"type": "ineq",
                            "fun": lambda z: np.concatenate([cu[up] - cons(z)[up],
                                                             cons(z)[low] - cl[low]]),
                            "jac": lambda z: np.vstack([-jac(z)[up], jac(z)[low]])})
    if eq.size:
        constraints.append({"type": "eq", "fun": lambda z: cons(z)[eq] - cl[eq],
                            "jac": lambda z: jac(z)[eq]})
    bounds = list(zip(np.where(np.isfinite(lb), lb, -np.inf), np.where(np.isfinite(ub), ub, np.inf)))
    opts = {"maxiter": run.inner_max_iter, "ftol": run.solver_options.get("ftol", 1e-9)}
    try:
        res = minimize(f, z0, jac=grad, method="SLSQP", bounds=bounds, constraints=constraints,
                       options=opts)
    except BudgetExhausted:
        raise
    except Exception as exc:  # an oracle failing inside the solver is a subproblem failure
        return None, None, "ERROR", False, f"{type(exc).__name__}: {exc}"
    z = np.asarray(res.x, float)
    status = _SLSQP_STATUS.get(int(res.status), "NUMERICAL_ERROR")
    x, t = z[:mdl.n], (float(z[mdl.n]) if scal.has_t else None)
    return x, t, status, bool(res.success), "" if res.success else str(res.message)


def _registry_nlp(mdl, scal, run: Run, x0, t0, inner: str):
    """Build an ``ok.NLP`` from the template and solve it with backend ``inner`` (a name the
    registry chose, or the user's ``inner``); returns (x, t, status, ok, message, verified)."""
    from .. import solve as ok_solve
    from ..modeling import NLP

    f, grad, cons, jac, cl, cu, lb, ub = _parts(mdl, scal, run)
    z0 = np.concatenate([x0, [t0]]) if scal.has_t else x0.copy()
    m_all = cl.size
    nlp = NLP(z0, f, grad=grad, cons=cons if m_all else None, jac=jac if m_all else None,
              cl=cl if m_all else None, cu=cu if m_all else None, lb=lb, ub=ub,
              name=f"{mdl.name}-sub")
    opts: dict[str, Any] = {"tol": run.tol}
    if run.time_limit is not None:
        opts["time_limit"] = max(run.time_limit - run.elapsed(), 1e-3)
    if run.solver_options:
        opts["solver_options"] = run.solver_options
    res = ok_solve(nlp, inner, **opts)
    if mdl.counter.exhausted:
        raise BudgetExhausted("evaluation budget exhausted inside a subproblem")
    if res.x is None:
        return None, None, str(res.termination), False, res.message, res.verified
    z = np.asarray(res.x, float)
    return (z[:mdl.n], (float(z[mdl.n]) if scal.has_t else None), str(res.termination),
            bool(res.is_solved()), res.message, res.verified)
