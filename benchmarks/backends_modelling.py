"""cvxpy and pyomo backends against their peers, on the shared MPS/LP collection.

For each instance (read once with ``ok.read``; reading is not timed):

- ``ok cvxpy``: ``ok.solve(model, "cvxpy")`` — rebuild in cvxpy, solve, KKT measurement, mapping
- ``cvxpy``:    the peer a cvxpy user writes by hand: ``cp.Variable`` with bounds, ``A @ x`` rows,
                ``prob.solve()`` with the solver cvxpy picks (the same one ``ok cvxpy`` uses)
- ``ok pyomo``: ``ok.solve(model, "pyomo")`` (Pyomo's ``highs`` plug-in)
- ``pyomo``:    the peer a Pyomo user writes by hand: a ConcreteModel with ``Var``, one
                ``Constraint`` rule per row (quicksum) and ``SolverFactory("highs").solve``
- ``ok highs``: ``ok.solve(model, "highs")``, for reference

Ratios ok/peer > 1 are optkit's overhead (form checks, KKT measurement, mapping back).

    .venv/bin/python benchmarks/backends_modelling.py            # every solvable instance
    .venv/bin/python benchmarks/backends_modelling.py --quick    # seven instances
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import optkit as ok

MPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "mps"
QUICK = ["afiro", "adlittle", "shell", "qptestnw", "primal1", "lseu", "p0548"]


def cvxpy_by_hand(form) -> float:
    """min cᵀx + ½xᵀQx + c0 s.t. rl <= Ax <= ru, lb <= x <= ub written directly in cvxpy."""
    import cvxpy as cp

    x = cp.Variable(form.n, bounds=[form.lb, form.ub])
    ints = np.flatnonzero(form.integrality)
    cons = []
    if ints.size:  # integer columns tied to an integer variable
        cons.append(x[ints] == cp.Variable(ints.size, integer=True))
    obj = form.c @ x + form.c0
    if form.Q is not None:
        obj = obj + 0.5 * cp.quad_form(x, form.Q)
    A = form.A
    eq = form.rl == form.ru
    if eq.any():
        cons.append(A[eq] @ x == form.rl[eq])
    up = ~eq & np.isfinite(form.ru)
    lo = ~eq & np.isfinite(form.rl)
    if up.any():
        cons.append(A[up] @ x <= form.ru[up])
    if lo.any():
        cons.append(A[lo] @ x >= form.rl[lo])
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve()
    return prob.value


def pyomo_by_hand(form) -> float:
    """The same problem as a plain Pyomo model solved with SolverFactory('highs')."""
    import pyomo.environ as pyo

    m = pyo.ConcreteModel()
    n = form.n
    fin = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731
    m.x = pyo.Var(range(n), bounds=lambda _, j: (fin(form.lb[j]), fin(form.ub[j])),
                  domain=lambda _, j: pyo.Integers if form.integrality[j] else pyo.Reals)
    A = form.A.tocsr()

    def row(_, i):
        s, e = A.indptr[i], A.indptr[i + 1]
        if s == e:  # an empty row (here always 0 within its bounds)
            return pyo.Constraint.Skip
        body = pyo.quicksum(A.data[k] * m.x[int(A.indices[k])] for k in range(s, e))
        if form.rl[i] == form.ru[i]:
            return body == float(form.rl[i])
        return (fin(form.rl[i]), body, fin(form.ru[i]))

    keep = [i for i in range(form.m) if np.isfinite(form.rl[i]) or np.isfinite(form.ru[i])]
    m.rows = pyo.Constraint(keep, rule=row)
    obj = pyo.quicksum(float(form.c[j]) * m.x[j] for j in range(n) if form.c[j]) + form.c0
    if form.Q is not None:
        Q = form.Q.tocoo()
        obj = obj + 0.5 * pyo.quicksum(float(q) * m.x[int(i)] * m.x[int(j)]
                                       for i, j, q in zip(Q.row, Q.col, Q.data))
    m.obj = pyo.Objective(expr=obj)
    pyo.SolverFactory("highs").solve(m)
    return pyo.value(m.obj)


def timed(fn, repeat: int):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="seven instances only")
    ap.add_argument("--repeat", type=int, default=2, help="best of this many runs per timing")
    ap.add_argument("--out", default=None, help="write the Markdown table here")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    with open(MPS / "manifest.csv") as fh:
        rows = [r for r in csv.DictReader(fh)
                if r["expected"] == "optimal" and (not args.quick or r["name"] in QUICK)]
    head = ("| instance | kind | ok highs | ok cvxpy | cvxpy | ratio | ok pyomo | pyomo | ratio | "
            "objectives agree |\n|---|---|---|---|---|---|---|---|---|---|")
    lines, r_cvx, r_pyo = [head], [], []
    warm = ok.read(MPS / "afiro.mps")  # imports and first-call costs out of the timings
    for fn in (lambda: ok.solve(warm, "cvxpy"), lambda: ok.solve(warm, "pyomo"),
               lambda: ok.solve(warm, "highs"), lambda: cvxpy_by_hand(warm.form),
               lambda: pyomo_by_hand(warm.form)):
        fn()
    for r in rows:
        model = ok.read(MPS / r["file"])
        form = model.form
        want = float(r["objective"])
        t_h, res_h = timed(lambda model=model: ok.solve(model, "highs"), args.repeat)
        t_oc, res_c = timed(lambda model=model: ok.solve(model, "cvxpy"), args.repeat)
        t_c, v_c = timed(lambda form=form: cvxpy_by_hand(form), args.repeat)
        t_op, res_p = timed(lambda model=model: ok.solve(model, "pyomo"), args.repeat)
        t_p, v_p = timed(lambda form=form: pyomo_by_hand(form), args.repeat)
        sense = form.sense
        vals = [res_h.objective, res_c.objective, sense * v_c, res_p.objective, sense * v_p]
        agree = all(v is not None and abs(v - want) <= 1e-6 * max(1, abs(want)) for v in vals)
        r_cvx.append(t_oc / t_c)
        r_pyo.append(t_op / t_p)
        lines.append(f"| {r['name']} | {r['kind']} | {t_h:.3f} | {t_oc:.3f} | {t_c:.3f} | "
                     f"{t_oc / t_c:.2f} | {t_op:.3f} | {t_p:.3f} | {t_op / t_p:.2f} | "
                     f"{'yes' if agree else 'NO'} |")
        print(lines[-1], flush=True)
    gm = lambda v: float(np.exp(np.mean(np.log(v))))  # noqa: E731
    summary = (f"\nGeometric mean of ok/peer time: cvxpy {gm(r_cvx):.2f}, pyomo {gm(r_pyo):.2f} "
               f"({len(rows)} instances, best of {args.repeat}, seconds).")
    print(summary)
    if args.out:
        cmd = "python benchmarks/backends_modelling.py" + (" --quick" if args.quick else "")
        Path(args.out).write_text(f"Command: `{cmd}`\n\n" + "\n".join(lines) + "\n" + summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
