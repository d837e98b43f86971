"""Backend ``vf-penalty``: a value-function penalty baseline for bilevel problems, each subproblem
solved by an NLP backend — the one the registry ranks first for NLPs (``registry.best_for("nlp")``,
asked by capability), or the backend named by option ``nlp_solver``.

With v(x) = min_y {f(x, y) : lower constraints} the bilevel problem is
min F(x, y) s.t. upper and lower constraints, f(x, y) − v(x) ≤ 0. v is not smooth in general, so
at outer iteration j it is replaced by its linearisation at x_j,

    v(x) ≈ v(x_j) + ∇v(x_j)ᵀ(x − x_j),   ∇v(x_j) = ∇ₓf(x_j, y_j*) + Σ λ_jᵢ ∇ₓgᵢ(x_j, y_j*)

(Danskin / envelope theorem for a convex lower level with lower solution y_j* and multipliers
λ_j from an independent lower-level solve), and the NLP

    min_{x, y} F(x, y) + ρ_j (f(x, y) − v(x_j) − ∇v(x_j)ᵀ(x − x_j))  s.t. upper and lower constraints

is solved from the previous point; ρ_{j+1} = ``rho_growth``·ρ_j until the measured gap
f(x, y) − v(x) ≤ ``gap_tol``·(1 + |v|) (LOCALLY_OPTIMAL) or ``max_iter`` outer iterations
(ITERATION_LIMIT). The answer is local: the NLP solver is local and the linearisation is exact
only where v is differentiable.

History: one :func:`optkit.raw.iteration_record` per outer iteration j — ``objective`` F (user
units), ``primal_infeasibility`` max(lower, upper feasibility), ``evaluations`` the NLP iterations
spent so far, ``time``; extra keys ``rho``, ``lower_gap`` (f − v(x) by the lower solve of that
iteration), ``lower_feasibility``, ``upper_feasibility``.
"""
from __future__ import annotations

import math
import time

import numpy as np

from optkit.bilevel.backend import BilevelBackend
from optkit.bilevel.functions import VectorFunction
from optkit.bilevel.model import _constraint_expr, substitute
from optkit.bilevel.result import BilevelResult, finish, solve_convex
from optkit.errors import UnsupportedProblemError
from optkit.options import SolveOptions
from optkit.raw import iteration_record
from optkit.status import Termination


class ValueFunctionPenaltyBackend(BilevelBackend):
    """Sequential linearised value-function penalty (see module docstring)."""

    name = "vf-penalty"
    requires = ("cvxpy",)
    extra = None  # base install (docs/install.md)
    description = "bilevel: linearised value-function penalty, NLP subproblems by the best NLP backend"
    options = {"rho0": 1.0, "rho_growth": 10.0, "gap_tol": 1e-6, "nlp_solver": "auto",
               "measure_gap": True}

    def _solve_model(self, model, options: SolveOptions) -> BilevelResult:
        import cvxpy as cp

        import optkit as ok

        t0 = time.perf_counter()
        d = model.data()
        nlp = options.get("nlp_solver", "auto")
        if nlp == "auto":
            from optkit import registry

            nlp = registry.best_for("nlp", exclude=(self.name,)).name
        rho = float(options.get("rho0", 1.0))
        growth = float(options.get("rho_growth", 10.0))
        gap_tol = float(options.get("gap_tol", 1e-6))
        max_outer = options.max_iter if options.max_iter is not None else 12
        # per-constraint x-Jacobians for the envelope gradient
        lower_cons = list(model.lower.constraints)
        exprs = [_constraint_expr(c)[0] for c in lower_cons]
        vfs = [VectorFunction([e], d.index) for e in exprs]
        xs = [cp.vec(v, order="F") if v.ndim > 1 else (cp.reshape(v, (1,), order="F") if v.ndim == 0 else v)
              for v in model.upper_variables]
        xvec = cp.hstack(xs) if len(xs) > 1 else (xs[0] if xs else None)
        F_min = model.upper.sense * model.upper.objective.expr
        f_min = model.lower.sense * model.lower.objective.expr
        v = model.start(options.x0)
        history = []
        term, msg = Termination.ITERATION_LIMIT, f"{max_outer} outer iterations"
        inner_iters = 0
        for j in range(max_outer):
            if options.time_limit is not None and j and \
                    time.perf_counter() - t0 > options.time_limit:
                term, msg = Termination.TIME_LIMIT, "time limit"  # before building the next NLP
                break
            val, grad_v, ok_lower = self._lower(model, d, v, lower_cons, vfs)
            if not ok_lower and j == 0:
                # the lower level is infeasible at the start x: start from the high-point
                # relaxation min F s.t. all constraints (a jointly feasible point)
                hpr = ok.Problem(cp.Minimize(F_min), list(model.upper.constraints) + lower_cons)
                r = ok.solve(hpr, nlp, x0=dict(d.index.values(v)), tol=options.tol or 1e-8)
                if r.x is not None:
                    v = d.index.pack({var: r.value(var) for var in model.variables})
                    val, grad_v, ok_lower = self._lower(model, d, v, lower_cons, vfs)
            if not ok_lower:
                term, msg = Termination.NUMERICAL_ERROR, f"lower-level solve failed at outer iteration {j}"
                break
            gap = d.f.value(v) - val
            low, up = d.lower_feasibility(v), d.upper_feasibility(v)
            history.append(iteration_record(
                j, objective=model.upper.sense * d.F.value(v), primal_infeasibility=max(low, up),
                evaluations=inner_iters, time=time.perf_counter() - t0, rho=rho, lower_gap=gap,
                lower_feasibility=low, upper_feasibility=up))
            if j > 0 and gap <= gap_tol * (1 + abs(val)) and d.lower_feasibility(v) <= 1e-6:
                term, msg = Termination.LOCALLY_OPTIMAL, f"lower gap {gap:.2e} after {j} NLP solves"
                break
            xk = v[:d.nx]
            lin = val
            obj = F_min + rho * (f_min - lin)
            if xvec is not None and d.nx:
                obj = obj - rho * (grad_v @ (xvec - xk))
            prob = ok.Problem(cp.Minimize(obj), list(model.upper.constraints) + lower_cons)
            x0 = {var: val_ for var, val_ in d.index.values(v).items()}
            kw = {"x0": x0, "tol": options.tol or 1e-8}
            if options.time_limit is not None:
                kw["time_limit"] = max(options.time_limit - (time.perf_counter() - t0), 1e-3)
            r = ok.solve(prob, nlp, **kw)
            inner_iters += r.iterations or 0
            if r.x is None:
                term, msg = r.termination, f"NLP subproblem failed: {r.message}"
                break
            v = d.index.pack({var: r.value(var) for var in model.variables})
            rho *= growth
            if options.time_limit is not None and time.perf_counter() - t0 > options.time_limit:
                term, msg = Termination.TIME_LIMIT, "time limit"
                break
        res = BilevelResult(termination=term, iterations=len(history), solver=self.name,
                            message=msg, history=history)
        res.extra.update({"nlp_solver": nlp, "nlp_iterations": inner_iters, "rho": rho})
        finish(model, v, res, measure_gap=bool(options.get("measure_gap", True)), options=options)
        res.timings.update({"total": time.perf_counter() - t0})
        return res

    @staticmethod
    def _lower(model, d, v, lower_cons, vfs):
        """v(x), ∇v(x) (envelope theorem) and success, by a cvxpy lower-level solve at x."""
        import cvxpy as cp

        mapping = {}
        for var in model.upper_variables:
            val = np.reshape(v[d.index.slice(var)], var.shape, order="F") if var.shape \
                else float(v[d.index.slice(var)][0])
            mapping[var.id] = cp.Constant(val)
        obj = model.lower.objective
        cons = [substitute(c, mapping) for c in lower_cons]
        prob = cp.Problem(type(obj)(substitute(obj.expr, mapping)), cons)
        if not prob.is_dcp():
            raise UnsupportedProblemError("vf-penalty: the lower level is not convex (DCP) for fixed x; "
                                          "its value function cannot be computed reliably")
        try:
            solve_convex(prob)
            if prob.status in ("infeasible", "infeasible_inaccurate"):
                # x on the edge of the lower level's domain: solve with inequalities relaxed
                eps = 1e-7 * (1.0 + float(np.max(np.abs(v), initial=0.0)))
                relaxed = []
                for c in cons:
                    expr, kind = _constraint_expr(c)
                    relaxed.append(expr <= eps if kind == "ineq" else expr == 0)
                cons = relaxed
                prob = cp.Problem(prob.objective, cons)
                solve_convex(prob)
        except cp.SolverError:
            return math.nan, None, False
        if prob.status not in ("optimal", "optimal_inaccurate"):
            return math.nan, None, False
        w = v.copy()
        for var in model.lower_variables:
            w[d.index.slice(var)] = np.ravel(np.asarray(var.value, float), order="F")
        sense = model.lower.sense
        grad = d.f.grad(w)[:d.nx].copy()
        for con, vf in zip(cons, vfs):
            dual = con.dual_value
            if dual is None or d.nx == 0:
                continue
            lam = sense * np.ravel(np.asarray(dual, float), order="F")
            grad += (vf.jac(w)[:, :d.nx].T @ lam)
        return sense * float(prob.value), grad, True
