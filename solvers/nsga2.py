"""Backend ``nsga2``: pymoo's NSGA-II (Deb et al. 2002) behind the optkit interface.

The problem is evaluated through the model's own counter (one evaluation = F and g at one point),
so the baseline's evaluation counts are measured exactly like those of the scalarisation methods.
Constraints enter pymoo as G(x) ≤ 0: g − cu (finite cu) and cl − g (finite cl); a cvxpy model
uses each constraint's violation. Options: ``pop_size`` (100), ``max_evals`` (default 25 000:
pymoo's ("n_eval", max_evals) termination), ``seed``. The front is the feasible nondominated part
of the final population (pymoo's ``res.opt``). A genetic algorithm has no notion of a finished
front: ``complete`` is True when it ran to its budget, ``extra["heuristic"]`` says so, and the
result never claims optimality (termination EVALUATION_LIMIT, so ``is_solved()`` is False); each
front point's feasibility is pymoo's constraint violation CV (absolute, ≥ the scaled measure).
"""
from __future__ import annotations

import numpy as np

from optkit.backend import Backend
from optkit.errors import UnsupportedProblemError
from optkit.multiobjective.scalarize import Run, single_thread
from optkit.options import SolveOptions


def _pymoo_problem(model):
    from pymoo.core.problem import Problem

    mc = model.mc if model.mode == "callback" else len(model.constraints)
    if model.mode == "callback":
        up = np.flatnonzero(np.isfinite(model.cu))
        lo = np.flatnonzero(np.isfinite(model.cl))
        n_ieq = up.size + lo.size
    else:
        n_ieq = mc
    lb, ub = model.lb, model.ub
    if not (np.all(np.isfinite(lb)) and np.all(np.isfinite(ub))):
        raise UnsupportedProblemError("nsga2 samples the box: every variable needs finite bounds "
                                      "(lb/ub, or cvxpy Variable(bounds=...))")

    class _P(Problem):
        def __init__(self):
            super().__init__(n_var=model.n, n_obj=model.m, n_ieq_constr=n_ieq, xl=lb, xu=ub)

        def _evaluate(self, X, out, *args, **kwargs):
            Gs, Cs = [], []
            for x in X:
                if model.mode == "callback":
                    G, g = model.values(x)
                    Cs.append(np.concatenate([g[up] - model.cu[up], model.cl[lo] - g[lo]]))
                else:
                    G = model.G_cvxpy(x)
                    Cs.append(np.array([float(np.max(c.violation(), initial=0))
                                        for c in model.constraints]))
                Gs.append(G)
            out["F"] = np.array(Gs)
            if n_ieq:
                out["G"] = np.array(Cs)

    return _P()


def explore(model, run: Run, n_evals: int, pop_size: int = 100, seed: int | None = None):
    """Run NSGA-II for ``n_evals`` evaluations (counted on ``run``), archiving feasible points of
    the final population; returns their x (list)."""
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.optimize import minimize

    from optkit.multiobjective.model import BudgetExhausted

    prob = _pymoo_problem(model)
    algo = NSGA2(pop_size=pop_size)
    try:
        res = minimize(prob, algo, ("n_eval", int(n_evals)), seed=seed, verbose=False)
    except BudgetExhausted:
        run.exhausted()
        return []
    pop = res.pop
    X, F, CV = pop.get("X"), pop.get("F"), pop.get("CV")
    out = []
    for i, x in enumerate(X):
        if CV is None or float(np.max(CV[i], initial=0)) <= run.feas_tol:
            cv = 0.0 if CV is None else float(np.max(CV[i], initial=0))
            run.add(x, F[i], "HEURISTIC", {"nsga2": True}, violation=cv)
            out.append(x)
    return out


class NSGA2Backend(Backend):
    """pymoo NSGA-II as an optkit multiobjective backend (the baseline)."""

    name = "nsga2"
    accepts = frozenset({"multiobjective"})
    requires = ("pymoo", "moocore")
    extra = "moo"  # pip extra that brings `requires` (docs/install.md)
    options = {"pop_size": 100, "max_evals": None, "max_points": None}
    description = "NSGA-II (pymoo): population-based baseline, counted like the other methods"

    def version(self) -> str:
        import pymoo

        return pymoo.__version__

    def solve_model(self, model, options: SolveOptions):
        return single_thread(self._solve, model, options)

    def _solve(self, model, options: SolveOptions):
        if model.mixed_integer:
            raise UnsupportedProblemError("nsga2 here handles continuous variables only; use "
                                          "exact-epsilon for bi-objective MILPs")
        budget = options.get("max_evals") or model.max_evals or 25000
        opts = options.with_(extra={**options.extra, "max_evals": None})
        run = Run(model, opts, self.name)
        run.counter.budget = None
        explore(model, run, budget, int(options.get("pop_size")), run.seed)
        res = run.finish(0, extra={"heuristic": "NSGA-II: no optimality guarantee",
                                   "budget": budget}, heuristic=True)
        return res
