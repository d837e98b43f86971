"""Exact fronts of bi-objective linear problems (methods/pareto.md, "Exact fronts").

``dichotomy`` (NISE / Aneja–Nair): the front of a bi-objective LP is convex piecewise linear;
its vertices are found by weighted-sum LPs. Start from the lexicographic optima z¹ (min G₁, then
min G₂ with G₁ ≤ z¹₁) and z² (the other way round); for a pair (a, b) with a₁ < b₁, a₂ > b₂ solve
min w·G with w = (a₂ − b₂, b₁ − a₁) (the normal of segment ab). If the optimum c has
w·c < w·a − tol, c is a new vertex: recurse on (a, c) and (c, b); otherwise ab is an edge of the
front. Finite: each LP either finds a new vertex or closes an edge. On a MILP the same procedure
returns the supported nondominated points only (said in the result).

``exact-epsilon``: the ε-constraint method for bi-objective MILP. From the lexicographic optimum
z = lexmin(G₁, G₂), repeat: solve min G₁ s.t. G₂ ≤ z₂ − Δ, then min G₂ s.t. G₁ ≤ z₁', G₂ ≤ z₂ − Δ
(lexicographic, so every point is nondominated); stop when infeasible. With integer objective
coefficients on integer variables Δ = 1 enumerates the whole nondominated set; otherwise give
``step`` (the smallest gap between distinct G₂ values one wants to separate).
Both run their subproblems through the LP/MILP backend named in ``inner`` or, by default, the one
the registry ranks first by capability (``inner-solver``, and ``integer`` for a MILP).
"""
from __future__ import annotations

import numpy as np

from optkit.backend import Backend
from optkit.errors import OptionError, UnsupportedProblemError
from optkit.multiobjective.scalarize import INFEASIBLE, Run, Scalarization
from optkit.options import SolveOptions


def _check(model, name: str, allow_integer: bool) -> None:
    if model.mode != "cvxpy":
        raise UnsupportedProblemError(f"{name} needs a MultiObjective in cvxpy algebra with linear "
                                      "objectives (got a callback model)")
    if model.m != 2:
        raise UnsupportedProblemError(f"{name} is for bi-objective problems (m = 2), got m = {model.m}")
    if not model.linear:
        raise UnsupportedProblemError(f"{name} needs linear (affine) objectives")
    if model.mixed_integer and not allow_integer:
        raise UnsupportedProblemError(f"{name} is for continuous LPs")


class _ExactBase(Backend):
    accepts = frozenset({"multiobjective"})
    requires = ("highspy", "moocore")
    extra = "moo"  # pip extra that brings `requires` (docs/install.md)
    options = {"inner": None, "max_points": None, "tol": None}

    def version(self) -> str:
        import optkit

        return optkit.__version__

    def _lexmin(self, run: Run, first: int, extra_rows=None, tol: float = 1e-9):
        """lexmin(G_first, G_other) with optional extra rows (A, hi); returns the Sub or None."""
        other = 1 - first
        A0, h0 = extra_rows if extra_rows is not None else (np.zeros((0, 2)), np.zeros(0))
        c = np.zeros(2)
        c[first] = 1.0
        s1 = run.solve(Scalarization(c=c, A=A0, hi=h0), None, None,
                       {"lexmin": first, "stage": 1}, record=False, expect_infeasible=True)
        if s1 is None or s1.G is None:
            return s1
        c2 = np.zeros(2)
        c2[other] = 1.0
        row = np.eye(2)[first][None, :]
        bound = s1.G[first] + tol * (1 + abs(s1.G[first]))
        s2 = run.solve(Scalarization(c=c2, A=np.vstack([A0, row]), hi=np.concatenate([h0, [bound]])),
                       None, None, {"lexmin": first, "stage": 2}, record=False)
        return s2 if s2 is not None and s2.G is not None else s1


class DichotomyBackend(_ExactBase):
    """Exact front of a bi-objective LP by dichotomic weighted sums (NISE)."""

    name = "dichotomy"
    description = "exact bi-objective LP front (vertices) by dichotomic weighted sums"

    def solve_model(self, model, options: SolveOptions):
        _check(model, self.name, allow_integer=True)
        run = Run(model, options, self.name)
        tol = options.tol or 1e-9
        za = self._lexmin(run, 0, tol=tol)
        zb = self._lexmin(run, 1, tol=tol)
        ends = [z for z in (za, zb) if z is not None and z.G is not None and z.feasible]
        if len(ends) < 2:
            res = run.finish(1)
            res.complete = False
            res.reasons.insert(0, "the lexicographic end points could not be computed")
            return res.judge()
        for z, lab in ((za, 0), (zb, 1)):
            run.add_sub(z, {"lexmin": lab})
        stack = [(za, zb)]
        edges = []
        while stack and not run.exhausted():
            a, b = stack.pop()
            if np.allclose(a.G, b.G, atol=tol * (1 + np.abs(a.G).max())):
                continue
            w = np.array([a.G[1] - b.G[1], b.G[0] - a.G[0]])
            w = w / np.abs(w).max()
            sub = run.solve(Scalarization(c=w), None, None, {"weights": w.tolist()}, record=False)
            if sub is None or sub.G is None:
                continue
            scale = tol * (1 + np.abs(w @ a.G))
            if w @ sub.G < w @ a.G - scale:
                run.add_sub(sub, {"weights": w.tolist()})
                stack += [(a, sub), (sub, b)]
            else:
                edges.append((a.G * model.senses, b.G * model.senses))
        left = len(stack)
        res = run.finish(left, extra={"edges": edges,
                                      "supported_only": bool(model.mixed_integer)})
        if model.mixed_integer:
            res.reasons.append("mixed-integer problem: dichotomy returns the supported "
                               "nondominated points only (use exact-epsilon for all)")
            res.complete = False
            res.message = "; ".join(res.reasons)
            res.judge()
        return res


class ExactEpsilonBackend(_ExactBase):
    """Exact nondominated set of a bi-objective MILP by lexicographic ε-constraint steps."""

    name = "exact-epsilon"
    description = "exact bi-objective MILP nondominated set (epsilon-constraint, lexicographic)"
    options = {**_ExactBase.options, "step": None}

    def solve_model(self, model, options: SolveOptions):
        _check(model, self.name, allow_integer=True)
        run = Run(model, options, self.name)
        tol = options.tol or 1e-9
        step = options.get("step")
        if step is None:
            step = _integer_step(model)
            if step is None:
                raise OptionError("exact-epsilon needs step= (the objectives are not integer-valued "
                                  "combinations of integer variables, so no safe default exists)")
        if isinstance(step, bool) or not isinstance(step, (int, float)) or \
                not (np.isfinite(step) and step > 0):
            raise OptionError(f"exact-epsilon: step must be a positive finite number, got {step!r}")
        step = float(step)
        z = self._lexmin(run, 0, tol=tol)
        if z is None or z.G is None or not z.feasible:
            res = run.finish(1)
            if z is not None and z.status in INFEASIBLE:
                res.reasons = ["the problem is infeasible"]
                res.complete = True
                res.message = "the problem is infeasible"
                res.judge()
            return res
        run.add_sub(z, {"epsilon": None})
        left = 1
        while not run.exhausted():
            eps = z.G[1] - step + tol * (1 + abs(z.G[1]))
            nxt = self._lexmin(run, 0, extra_rows=(np.array([[0.0, 1.0]]), np.array([eps])), tol=tol)
            if nxt is None:
                break
            if nxt.G is None:
                if nxt.status in INFEASIBLE:
                    left = 0
                break
            run.add_sub(nxt, {"epsilon": float(eps * model.senses[1])})
            z = nxt
        return run.finish(left, extra={"step": step})


def _integer_step(model) -> float | None:
    """1.0 when every variable is integer and both objectives have integer coefficients."""
    if not all(v.attributes.get("integer") or v.attributes.get("boolean") for v in model.variables):
        return None
    n = model.n
    for o in model.objectives:
        base = None
        for j in range(-1, n):
            x = np.zeros(n)
            if j >= 0:
                x[j] = 1.0
            model.assign(x)
            val = float(o.expr.value)
            if base is None:
                base = val
                continue
            coef = val - base
            if abs(coef - round(coef)) > 1e-9:
                return None
    return 1.0
