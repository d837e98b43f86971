"""Overhead of optkit's paths against raw solvers, in the same run.

Part 1: a batch of small random feasible LPs (n = 20, m = 10, box 0 <= x <= 10, rows A x <= b with
b = A x_f + slack), solved one at a time by: raw highspy (HighsLp + passModel + run, then the
objective and the point: the floor),
optkit's LinearForm path (ok.LinearProblem → "highs"), optkit from cvxpy (ok.Problem → "highs"),
scipy.linprog(method="highs"), cvxpy (fresh problems; and one Parameter-ised problem re-solved), and
Pyomo (appsi HiGHS). Each is reported as total seconds and as a ratio to raw highspy; every path
must reach the same objectives (checked).

Part 2: NLPForm build and 100 evaluations each of f, ∇f, J and ∇²L for a smooth problem with
n = 10⁵ variables (see nlp_eval), and the build time of atoms with scaled or sliced arguments,
where cvxpy 1.9.3's engine grows about quadratically (see engine_build_scaling).

    python benchmarks/overhead.py [--quick] [--count 200] [--n-nlp 100000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
from datetime import UTC


def make_lps(count: int, n: int = 20, m: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        A = rng.normal(size=(m, n))
        xf = rng.uniform(0, 1, n)
        b = A @ xf + rng.uniform(0.1, 1.0, m)
        c = rng.normal(size=n)
        out.append((c, A, b))
    return out


def raw_highspy(lps):
    import highspy

    objs = []
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = h.getInfinity()
    for c, A, b in lps:
        m, n = A.shape
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_ = c
        lp.col_lower_ = np.zeros(n)
        lp.col_upper_ = np.full(n, 10.0)
        lp.row_lower_ = np.full(m, -inf)
        lp.row_upper_ = b
        Acsc = sp.csc_matrix(A)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = Acsc.indptr
        lp.a_matrix_.index_ = Acsc.indices
        lp.a_matrix_.value_ = Acsc.data
        h.passModel(lp)
        h.run()
        x = np.array(h.getSolution().col_value)  # a user needs the point, not only the value
        objs.append(h.getInfo().objective_function_value + 0.0 * x[0])
        h.clearModel()
    return objs


def optkit_linear(lps):
    import optkit as ok

    objs = []
    for c, A, b in lps:
        prob = ok.LinearProblem(c=c, A=A, rl=None, ru=b, lb=0.0, ub=10.0)
        objs.append(ok.solve(prob, "highs").objective)
    return objs


def optkit_cvxpy(lps):
    import cvxpy as cp

    import optkit as ok

    objs = []
    for c, A, b in lps:
        x = cp.Variable(c.size, bounds=[0, 10])
        objs.append(ok.solve(ok.Problem(cp.Minimize(c @ x), [A @ x <= b]), "highs").objective)
    return objs


def scipy_linprog(lps):
    from scipy.optimize import linprog

    return [linprog(c, A_ub=A, b_ub=b, bounds=(0, 10), method="highs").fun for c, A, b in lps]


def cvxpy_fresh(lps):
    import cvxpy as cp

    objs = []
    for c, A, b in lps:
        x = cp.Variable(c.size, bounds=[0, 10])
        objs.append(cp.Problem(cp.Minimize(c @ x), [A @ x <= b]).solve(solver=cp.HIGHS))
    return objs


def cvxpy_params(lps):
    import cvxpy as cp

    m, n = lps[0][1].shape
    cP, AP, bP = cp.Parameter(n), cp.Parameter((m, n)), cp.Parameter(m)
    x = cp.Variable(n, bounds=[0, 10])
    prob = cp.Problem(cp.Minimize(cP @ x), [AP @ x <= bP])
    objs = []
    for c, A, b in lps:
        cP.value, AP.value, bP.value = c, A, b
        objs.append(prob.solve(solver=cp.HIGHS))
    return objs


def pyomo_appsi(lps):
    import pyomo.environ as pyo

    objs = []
    opt = pyo.SolverFactory("appsi_highs")
    for c, A, b in lps:
        m, n = A.shape
        mdl = pyo.ConcreteModel()
        mdl.I = pyo.RangeSet(0, n - 1)
        mdl.J = pyo.RangeSet(0, m - 1)
        mdl.x = pyo.Var(mdl.I, bounds=(0, 10))
        mdl.obj = pyo.Objective(expr=sum(float(c[i]) * mdl.x[i] for i in range(n)))
        mdl.rows = pyo.Constraint(mdl.J, rule=lambda mm, j, A=A, b=b, n=n:
                                  sum(float(A[j, i]) * mm.x[i] for i in range(n)) <= float(b[j]))
        opt.solve(mdl)
        objs.append(pyo.value(mdl.obj))
    return objs


def timed(fn, lps, repeat: int):
    best, objs = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        objs = fn(lps)
        best = min(best, time.perf_counter() - t0)
    return best, np.asarray(objs, float)


def lp_overhead(count: int, repeat: int) -> list[tuple[str, float, float, str]]:
    lps = make_lps(count)
    fns = [("raw highspy", raw_highspy), ("optkit LinearProblem → highs", optkit_linear),
           ("optkit ok.Problem (cvxpy) → highs", optkit_cvxpy), ("scipy.linprog (highs)", scipy_linprog),
           ("cvxpy fresh problems (HIGHS)", cvxpy_fresh), ("cvxpy with Parameters (HIGHS)", cvxpy_params),
           ("Pyomo appsi_highs", pyomo_appsi)]
    optkit_linear(lps[:3])  # warm imports for everyone
    cvxpy_fresh(lps[:3])
    rows = []
    base_t, base_obj = timed(raw_highspy, lps, repeat)
    for name, fn in fns:
        try:
            t, objs = (base_t, base_obj) if fn is raw_highspy else timed(fn, lps, repeat)
            agree = "yes" if np.allclose(objs, base_obj, rtol=1e-6, atol=1e-7) else "NO"
        except Exception as exc:  # a missing peer is reported, not fatal
            rows.append((name, float("nan"), float("nan"), f"failed: {exc}"))
            continue
        rows.append((name, t, t / base_t, agree))
    return rows


def nlp_eval(n: int, evals: int = 100) -> list[tuple[str, float]]:
    """Build and evaluate a smooth n-variable problem compiled through cvxpy's DNLP engine.

    u, v ∈ R^{n/2}: minimize Σ w u⁴/4 + Σ v⁴/4 + Σ exp(u) + Σ u v
    s.t. u ∘ v + u = 1 (n/2 equalities), ‖u‖² + ‖v‖² <= 4n.
    """
    import cvxpy as cp

    import optkit as ok

    rng = np.random.default_rng(1)
    h = n // 2
    u, v = cp.Variable(h), cp.Variable(h)
    w = rng.uniform(0.5, 1.5, h)
    obj = (cp.sum(cp.multiply(w, u ** 4)) / 4 + cp.sum(v ** 4) / 4 + cp.sum(cp.exp(u))
           + cp.sum(cp.multiply(u, v)))
    cons = [cp.multiply(u, v) + u == 1, cp.sum_squares(u) + cp.sum_squares(v) <= 4 * n]
    t0 = time.perf_counter()
    prob = ok.Problem(cp.Minimize(obj), cons)
    form = prob.compile("nlp", {u: np.full(h, 0.5), v: np.ones(h)}).form
    t_build = time.perf_counter() - t0
    pts = [form.x0 + 0.01 * k for k in range(evals)]
    y = np.ones(form.m)
    rows = [("build (ok.Problem + NLPForm)", t_build)]
    for label, fn in [("f", lambda z: form.f(z)), ("grad", lambda z: form.grad(z)),
                      ("jac", lambda z: form.jac(z)), ("hess", lambda z: form.hess(z, y))]:
        t0 = time.perf_counter()
        for z in pts:
            fn(z)
        rows.append((f"{evals} × {label}", time.perf_counter() - t0))
    rows.append((f"(n = {form.n}, m = {form.m}, nnz J = {form.jac(form.x0).nnz}, "
                 f"nnz ∇²L = {form.hess(form.x0, y).nnz})", float("nan")))
    return rows


def engine_build_scaling(sizes=(10_000, 30_000)) -> list[tuple[str, int, float]]:
    """Build time of atoms whose argument is a scaled or sliced variable (cvxpy 1.9.3's engine
    initialises their Hessian sparsity in time that grows about quadratically in n)."""
    import cvxpy as cp

    import optkit as ok

    out = []
    for n in sizes:
        x = cp.Variable(n)
        for label, expr in [("Σ exp(x)", cp.sum(cp.exp(x))), ("Σ exp(0.1 x)", cp.sum(cp.exp(0.1 * x))),
                            ("Σ x_i x_(i+1) (slices)", cp.sum(cp.multiply(x[:-1], x[1:])))]:
            t0 = time.perf_counter()
            ok.Problem(cp.Minimize(expr)).compile("nlp", {x: np.ones(n)})
            out.append((label, n, time.perf_counter() - t0))
    return out


def main() -> None:
    import contextlib
    import io
    import platform
    import sys
    from datetime import datetime
    from pathlib import Path

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="50 LPs, 1 repeat, n = 10⁴ for the NLP part")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n-nlp", type=int, default=100_000)
    ap.add_argument("--write", action="store_true", help="also write docs/bench_overhead.md")
    args = ap.parse_args()
    if args.quick:
        args.count, args.repeat, args.n_nlp = 50, 1, 10_000
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        _report(args)
    text = buf.getvalue()
    print(text)
    if args.write:
        cmd = "python benchmarks/overhead.py " + " ".join(sys.argv[1:])
        head = (f"Command: `{cmd.replace(' --write', '').strip()}` — run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
                f"on {platform.machine()}, {platform.python_version()}, 2 cores.\n\n")
        out = Path(__file__).resolve().parents[1] / "docs" / "bench_overhead.md"
        out.write_text("# Overhead of optkit's paths\n\n" + head + text.replace("## ", "### "))


def _report(args) -> None:
    """Print both tables as Markdown."""
    print(f"## LP overhead: {args.count} random LPs (n = 20, m = 10), best of {args.repeat}\n")
    print("| path | total s | per LP ms | ratio to raw highspy | same objectives |")
    print("|---|---|---|---|---|")
    for name, t, ratio, agree in lp_overhead(args.count, args.repeat):
        print(f"| {name} | {t:.3f} | {1000 * t / args.count:.3f} | {ratio:.2f}× | {agree} |")
    print(f"\n## NLPForm from cvxpy's DNLP engine, n = {args.n_nlp}\n")
    print("| step | seconds |")
    print("|---|---|")
    for name, t in nlp_eval(args.n_nlp):
        print(f"| {name} | {'' if np.isnan(t) else f'{t:.3f}'} |")
    print("\n## Engine limit: build time when atoms take scaled or sliced arguments\n")
    print("| objective | n | build s |")
    print("|---|---|---|")
    for label, n, t in engine_build_scaling((3000, 10_000) if args.quick else (10_000, 30_000)):
        print(f"| {label} | {n} | {t:.3f} |")


if __name__ == "__main__":
    main()
