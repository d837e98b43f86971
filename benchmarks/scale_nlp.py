"""Scale benchmark of the DNLP modelling path: build and solve at n = 10³ … 10⁶.

Models (both written with cvxpy):

- ``ocp``: discretised optimal control, N steps, h = 1/N,
      min h Σ (x_k − ½)² + h Σ u_k²  s.t.  x_{k+1} − x_k = h(−sin x_k + u_k),  x_0 = 1,  |u_k| ≤ 2
  (n = 2N + 1 variables, m = N + 1 rows);
- ``sliced``: min Σ e^{0.1 x} + Σ (x − 1)² + ¼ Σ sin(2 x[1::2])
      s.t.  x[:-1]∘x[1:] ≥ 0.1,  x[1:] − x[:-1] ≥ −1   (n = N, m = 2N − 2);
- ``ocp_loop``: ``ocp`` written with a Python loop, one scalar constraint per step (only up to
  ``--loop-max``: cvxpy itself needs seconds to build 10⁴ scalar constraints).

Routes, each measured in a fresh interpreter (so peak memory and first-touch costs are its own):

- ``optkit``: ``ok.Problem(...)`` + ``ok.solve(P, "ipopt")``; build = Problem + compile;
- ``raw``: cyipopt on hand-written vectorised derivatives (the limit);
- ``cvxpy``: cvxpy's own NLP route, ``prob.solve(nlp=True, solver="IPOPT")`` (its Hessian set-up
  grows ~n², so it runs only up to ``--cvxpy-max``);
- ``casadi`` / ``casadi-mx``: candidate B, CasADi SX (scalar graph) or MX (matrix graph)
  functions built from the same lowered cvxpy tree (optkit's affine extraction, CasADi's
  derivatives and sparsity) — build and oracle times only.

Oracle times: ``eval`` = f + ∇f + c + ∇c at a new point, ``hess`` = ∇²L at a new point (both after
a first call, which builds the structures and is reported as ``first``).

Usage::

    .venv/bin/python benchmarks/scale_nlp.py --sizes 1000 10000 100000 1000000 \\
        --solve-max 100000 --out docs/bench_scale_nlp.md
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

IPOPT_OPTIONS = {"tol": 1e-8, "print_level": 0, "sb": "yes"}


# ============================================================================ models
def ocp(N: int):
    import cvxpy as cp

    h = 1.0 / N
    x = cp.Variable(N + 1)
    u = cp.Variable(N, bounds=[-2, 2])
    cons = [x[1:] - x[:-1] == h * (-cp.nlp.sin(x[:-1]) + u), x[0] == 1]
    return cp.Minimize(h * cp.sum_squares(x - 0.5) + h * cp.sum_squares(u)), cons


def sliced(N: int):
    import cvxpy as cp

    x = cp.Variable(N)
    obj = cp.Minimize(cp.sum(cp.exp(0.1 * x)) + cp.sum(cp.square(x - 1))
                      + 0.25 * cp.sum(cp.nlp.sin(2 * x[1::2])))
    return obj, [cp.multiply(x[:-1], x[1:]) >= 0.1, x[1:] - x[:-1] >= -1]


def ocp_loop(N: int):
    """``ocp`` written the way many people write it: one scalar constraint per step."""
    import cvxpy as cp

    h = 1.0 / N
    x = cp.Variable(N + 1)
    u = cp.Variable(N, bounds=[-2, 2])
    cons = [x[k + 1] - x[k] == h * (-cp.nlp.sin(x[k]) + u[k]) for k in range(N)] + [x[0] == 1]
    return cp.Minimize(h * cp.sum_squares(x - 0.5) + h * cp.sum_squares(u)), cons


MODELS = {"ocp": ocp, "sliced": sliced, "ocp_loop": ocp_loop}


# ============================================================================ raw cyipopt
class RawOCP:
    """Hand-written oracles of ``ocp`` with z = (x_0..x_N, u_0..u_{N−1}); rows: dynamics, x_0."""

    def __init__(self, N: int):
        self.N, self.h = N, 1.0 / N
        k = np.arange(N)
        n1 = N + 1
        self.n, self.m = 2 * N + 1, N + 1
        self.jr = np.concatenate([k, k, k, [N]])
        self.jc = np.concatenate([k + 1, k, n1 + k, [0]])
        self.hr = self.hc = np.arange(self.n)
        self.x0 = np.zeros(self.n)
        self.lb = np.r_[np.full(n1, -1e20), np.full(N, -2.0)]
        self.ub = np.r_[np.full(n1, 1e20), np.full(N, 2.0)]
        self.cl = np.r_[np.zeros(N), 1.0]
        self.cu = self.cl.copy()

    def objective(self, z):
        x, u = z[:self.N + 1], z[self.N + 1:]
        return self.h * (np.sum((x - 0.5) ** 2) + np.sum(u * u))

    def gradient(self, z):
        g = 2 * self.h * z
        g[:self.N + 1] -= self.h
        return g

    def constraints(self, z):
        x, u = z[:self.N + 1], z[self.N + 1:]
        return np.r_[x[1:] - x[:-1] + self.h * np.sin(x[:-1]) - self.h * u, x[0]]

    def jacobianstructure(self):
        return self.jr, self.jc

    def jacobian(self, z):
        N, h = self.N, self.h
        return np.concatenate([np.ones(N), -1 + h * np.cos(z[:N]), np.full(N, -h), [1.0]])

    def hessianstructure(self):
        return self.hr, self.hc

    def hessian(self, z, lam, s):
        d = np.full(self.n, 2 * self.h * s)
        d[:self.N] -= self.h * np.sin(z[:self.N]) * lam[:self.N]
        return d


class RawSliced:
    """Hand-written oracles of ``sliced``; rows: products (N − 1), differences (N − 1)."""

    def __init__(self, N: int):
        self.N = N
        k = np.arange(N - 1)
        self.n, self.m = N, 2 * (N - 1)
        self.jr = np.concatenate([k, k, N - 1 + k, N - 1 + k])
        self.jc = np.concatenate([k, k + 1, k + 1, k])
        self.hr = np.concatenate([np.arange(N), k + 1])
        self.hc = np.concatenate([np.arange(N), k])
        self.x0 = np.zeros(N)
        self.lb, self.ub = np.full(N, -1e20), np.full(N, 1e20)
        self.cl = np.r_[np.full(N - 1, 0.1), np.full(N - 1, -1.0)]
        self.cu = np.full(self.m, 1e20)

    def objective(self, x):
        return float(np.sum(np.exp(0.1 * x)) + np.sum((x - 1) ** 2)
                     + 0.25 * np.sum(np.sin(2 * x[1::2])))

    def gradient(self, x):
        g = 0.1 * np.exp(0.1 * x) + 2 * (x - 1)
        g[1::2] += 0.5 * np.cos(2 * x[1::2])
        return g

    def constraints(self, x):
        return np.r_[x[:-1] * x[1:], x[1:] - x[:-1]]

    def jacobianstructure(self):
        return self.jr, self.jc

    def jacobian(self, x):
        M = self.N - 1
        return np.concatenate([x[1:], x[:-1], np.ones(M), -np.ones(M)])

    def hessianstructure(self):
        return self.hr, self.hc

    def hessian(self, x, lam, s):
        d = s * (0.01 * np.exp(0.1 * x) + 2.0)
        d[1::2] -= s * np.sin(2 * x[1::2])
        return np.concatenate([d, lam[:self.N - 1]])


RAW = {"ocp": RawOCP, "sliced": RawSliced, "ocp_loop": RawOCP}


# ============================================================================ CasADi candidate
def casadi_functions(lowered, kind: str = "SX"):
    """CasADi SX functions f, ∇f, c, ∇c, tril ∇²L of the lowered problem (candidate B).

    The node arguments are the affine forms of optkit's lowering (u = A z + b), so both candidates
    start from the same cvxpy tree; CasADi builds the expression graph, differentiates it and
    works out the sparsity of ∇c and ∇²L itself.
    """
    import casadi as ca
    import scipy.sparse as sps

    def dm(A):
        C = sps.csc_matrix(A)
        C.sort_indices()
        return ca.DM(ca.Sparsity(C.shape[0], C.shape[1], C.indptr.tolist(), C.indices.tolist()),
                     C.data.tolist())

    ops = {"exp": ca.exp, "log": ca.log, "sin": ca.sin, "cos": ca.cos, "tan": ca.tan,
           "sinh": ca.sinh, "tanh": ca.tanh, "asinh": ca.asinh, "atanh": ca.atanh,
           "logistic": lambda u: ca.log1p(ca.exp(u)), "entr": lambda u: -u * ca.log(u),
           "normcdf": lambda u: 0.5 * ca.erfc(-u / np.sqrt(2.0)),
           "mul": lambda u, v: u * v, "div": lambda u, v: u / v,
           "rel_entr": lambda u, v: u * ca.log(u / v)}
    sym = getattr(ca, kind)
    x = sym.sym("x", lowered.n)
    parts = [x]
    for nd in lowered.nodes:
        z = ca.vertcat(*parts)
        args = [ca.mtimes(dm(a.A), z) + ca.DM(a.b) for a in nd.args]
        if nd.op.startswith("power("):
            p = float(nd.op[6:-1])
            w = args[0] ** 2 if p == 2.0 else args[0] ** p
        else:
            w = ops[nd.op](*args)
        parts.append(w)
    z = ca.vertcat(*parts)
    f = ca.mtimes(dm(lowered.a_f), z) + lowered.b_f
    c = ca.mtimes(dm(lowered.A_c), z) + ca.DM(lowered.b_c)
    lam = sym.sym("lam", lowered.m)
    sigma = sym.sym("sigma")
    H, _ = ca.hessian(sigma * f + ca.dot(lam, c), x)
    return {"f": ca.Function("f", [x], [f]), "grad": ca.Function("g", [x], [ca.gradient(f, x)]),
            "cons": ca.Function("c", [x], [c]), "jac": ca.Function("J", [x], [ca.jacobian(c, x)]),
            "hess": ca.Function("H", [x, lam, sigma], [ca.tril(H)])}


# ============================================================================ one measurement
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _oracle_times(f, grad, cons, jac, hess, x, m) -> dict:
    y = np.linspace(0.5, 1.5, m)
    t = time.perf_counter()
    f(x), grad(x), cons(x), jac(x)
    first = time.perf_counter() - t
    t = time.perf_counter()
    hess(x, y)
    hfirst = time.perf_counter() - t
    ev, hv = [], []
    for k in range(3):
        xk = x + 1e-3 * (k + 1)
        t = time.perf_counter()
        f(xk), grad(xk), cons(xk), jac(xk)
        ev.append(time.perf_counter() - t)
        t = time.perf_counter()
        hess(xk, y)
        hv.append(time.perf_counter() - t)
    return {"first": first, "hess_first": hfirst, "eval": min(ev), "hess": min(hv)}


def measure(model: str, N: int, route: str, solve: bool, warm: bool = True) -> dict:
    """One (model, N, route) measurement in this process (after a warm-up at N = 4 that loads
    every module, so imports are not counted)."""
    if warm:
        measure(model, 4, route, solve, warm=False)
    out: dict = {"model": model, "N": N, "route": route}
    if route == "optkit":
        import optkit as ok

        t0 = time.perf_counter()
        P = ok.Problem(*MODELS[model](N))
        t1 = time.perf_counter()
        compiled = P.compile("nlp")
        out["build"] = time.perf_counter() - t0
        out["problem"], out["compile"] = t1 - t0, out["build"] - (t1 - t0)
        out["derivatives"] = compiled.extra["derivatives"]
        form = compiled.form
        out["n"], out["m"] = form.n, form.m
        out["build_peak_mb"] = _peak_mb()
        if solve:
            t = time.perf_counter()
            res = ok.solve(P, "ipopt", tol=IPOPT_OPTIONS["tol"])
            out["solve_total"] = time.perf_counter() - t
            out["objective"], out["iterations"] = res.objective, res.iterations
            out["termination"] = res.termination.name
            out["timings"] = dict(res.timings)
            out["total"] = out["problem"] + out["solve_total"]
        x = form.x0 + 0.01
        out.update(_oracle_times(form.f, form.grad, form.cons, form.jac, form.hess, x, form.m))
    elif route == "raw":
        import cyipopt

        t0 = time.perf_counter()
        R = RAW[model](N)
        prob = cyipopt.Problem(n=R.n, m=R.m, problem_obj=R, lb=R.lb, ub=R.ub, cl=R.cl, cu=R.cu)
        for k, v in IPOPT_OPTIONS.items():
            prob.add_option(k, v)
        out["build"] = time.perf_counter() - t0
        out["n"], out["m"] = R.n, R.m
        if solve:
            t = time.perf_counter()
            _z, info = prob.solve(R.x0.copy())
            out["solve_total"] = time.perf_counter() - t
            out["total"] = out["build"] + out["solve_total"]
            out["objective"] = float(info["obj_val"])
            out["termination"] = str(info["status"])
        x = R.x0 + 0.01
        out.update(_oracle_times(R.objective, R.gradient, R.constraints, R.jacobian,
                                 lambda z, y: R.hessian(z, y, 1.0), x, R.m))
    elif route == "cvxpy":
        import cvxpy as cp

        t0 = time.perf_counter()
        prob = cp.Problem(*MODELS[model](N))
        prob.solve(nlp=True, solver="IPOPT", **IPOPT_OPTIONS)
        out["total"] = out["solve_total"] = time.perf_counter() - t0
        out["objective"] = float(prob.value)
        out["termination"] = prob.status
    elif route in ("casadi", "casadi-mx"):
        from optkit.ir.cvxpy_nlp import _Bounds, _chain, _set_start
        from optkit.ir.smooth_affine import lower_problem
        from cvxpy.reductions.inverse_data import InverseData
        import cvxpy as cp

        t0 = time.perf_counter()
        problem = cp.Problem(*MODELS[model](N))
        _set_start(problem, None)
        p = problem
        for red in _chain(problem):
            p, _ = red.apply(p)
        b = _Bounds(p)
        low = lower_problem(b.new_problem, dict(InverseData(b.new_problem).var_offsets), b.x0.size)
        t1 = time.perf_counter()
        F = casadi_functions(low, "MX" if route == "casadi-mx" else "SX")
        # CasADi works the structures out when the Function is built; evaluate once to be fair
        out["build"] = time.perf_counter() - t0
        out["lowering"] = t1 - t0
        out["n"], out["m"] = low.n, low.m
        out["build_peak_mb"] = _peak_mb()
        x = b.x0 + 0.01
        out.update(_oracle_times(lambda z: F["f"](z), lambda z: F["grad"](z),
                                 lambda z: F["cons"](z), lambda z: F["jac"](z),
                                 lambda z, y: F["hess"](z, y, 1.0), x, low.m))
    out["peak_mb"] = _peak_mb()
    return out


def run(model: str, N: int, route: str, solve: bool, timeout: float) -> dict:
    """``measure`` in a fresh interpreter."""
    cmd = [sys.executable, __file__, "--one", model, str(N), route] + (["--solve"] if solve else [])
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"model": model, "N": N, "route": route, "error": f"timeout {timeout:.0f} s"}
    if p.returncode != 0:
        return {"model": model, "N": N, "route": route, "error": p.stderr.strip().splitlines()[-1]}
    return json.loads(p.stdout.strip().splitlines()[-1])


# ============================================================================ report
def _fmt(v, unit="s") -> str:
    if v is None:
        return "—"
    if unit == "s":
        return f"{v:.3g} s" if v >= 0.1 else f"{v * 1e3:.3g} ms"
    return f"{v:.0f}"


def table(rows: list[dict]) -> str:
    by = {(r["model"], r["N"], r["route"]): r for r in rows}
    lines = ["| model | N | n | route | build | first eval | eval f+∇f+c+∇c | first ∇²L | ∇²L "
             "| solve (total) | total / raw | build peak MB | objective |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['N']:,} | | {r['route']} | {r['error']} "
                         f"| | | | | | | | |")
            continue
        raw = by.get((r["model"], r["N"], "raw"), {})
        ratio = (f"{r['total'] / raw['total']:.2f}" if "total" in r and "total" in raw
                 and r["route"] != "raw" else "")
        obj = f"{r['objective']:.10g}" if "objective" in r else ""
        lines.append(
            f"| {r['model']} | {r['N']:,} | {r.get('n', ''):,} | {r['route']} | "
            f"{_fmt(r.get('build'))} | {_fmt(r.get('first'))} | {_fmt(r.get('eval'))} | "
            f"{_fmt(r.get('hess_first'))} | {_fmt(r.get('hess'))} | {_fmt(r.get('solve_total'))} | "
            f"{ratio} | {_fmt(r.get('build_peak_mb', r.get('peak_mb')), 'mb')} | {obj} |"
            if "n" in r else
            f"| {r['model']} | {r['N']:,} | | {r['route']} | | | | | | "
            f"{_fmt(r.get('solve_total'))} "
            f"| {ratio} | {_fmt(r.get('peak_mb'), 'mb')} | {obj} |")
    return "\n".join(lines)


def acceptance(rows: list[dict]) -> str:
    """The issue's targets checked on the measured rows (build at 10⁵ ≤ 0.5 s, total at 10⁵
    within 1.5× raw cyipopt, build at 10⁶ ≤ 12× the build at 10⁵)."""
    by = {(r["model"], r["N"], r["route"]): r for r in rows if "error" not in r}
    out = ["| model | build at 10⁵ (≤ 0.5 s) | total / raw at 10⁵ (≤ 1.5) "
           "| build 10⁶ / build 10⁵ (≤ 12) |", "|---|---|---|---|"]
    for model in sorted({r["model"] for r in rows}):
        a, b = by.get((model, 100000, "optkit"), {}), by.get((model, 1000000, "optkit"), {})
        raw = by.get((model, 100000, "raw"), {})
        build = f"{a['build']:.3f} s" if "build" in a else "—"
        ratio = f"{a['total'] / raw['total']:.2f}" if "total" in a and "total" in raw else "—"
        growth = f"{b['build'] / a['build']:.1f}" if "build" in a and "build" in b else "—"
        out.append(f"| {model} | {build} | {ratio} | {growth} |")
    return "\n".join(out)


NOTES = """## Notes

- *build*: `ok.Problem(...)` + `compile("nlp")` for optkit (cvxpy's NLP chain included); the
  structure arrays and `cyipopt.Problem` for raw; chain, lowering and CasADi `Function`s for
  CasADi. *first eval* includes optkit's lazily built Jacobian structure, *first ∇²L* its
  lazily built Hessian structure (never built under IPOPT's limited-memory Hessian).
- *solve (total)*: wall time of `ok.solve(P, "ipopt", tol=1e-8)` (it compiles again, verifies the
  KKT conditions and maps the result back), of `prob.solve()` for raw (same IPOPT options) and of
  `prob.solve(nlp=True, solver="IPOPT")` for cvxpy (its own option defaults: adaptive μ, no bound
  relaxation). *total / raw* = (build + solve) over raw's.
- cvxpy's own route is not run at N ≥ 10⁵: its Hessian set-up grows ~n² when an atom's argument
  is not a bare variable (ocp: 0.4 s at N = 10⁴, 3.0 s at 3·10⁴, so roughly 40 s at 10⁵).
  Solves at N = 10⁶ are not run (IPOPT's linear algebra alone takes about a minute there); builds
  and oracles are.
- Timings on this shared machine vary by ±50 % between runs, and memory that a process touches
  for the first time costs about 1 ms per MB (page faults in the VM). That is why costs per element
  grow from 10⁵ (arrays fit in cache and the allocator reuses them) to 10⁶, for raw as much as for
  optkit.
"""


def write_report(rows: list[dict], path: str, cmd: str) -> None:
    """The Markdown page: command, table, acceptance."""
    with open(path, "w") as fh:
        fh.write(f"# DNLP modelling at scale: measured\n\nProduced by `{cmd}` (2 shared cores; "
                 f"each cell is a fresh interpreter after a warm-up at N = 4; builds are the best "
                 f"of the repeats, solves run once).\n\n{table(rows)}\n\n## Targets\n\n"
                 f"{acceptance(rows)}\n\n{NOTES}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", nargs=3, metavar=("MODEL", "N", "ROUTE"))
    ap.add_argument("--solve", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--routes", nargs="+", default=["optkit", "raw", "cvxpy", "casadi"])
    ap.add_argument("--solve-max", type=int, default=100000, help="largest N that is solved")
    ap.add_argument("--cvxpy-max", type=int, default=10000, help="largest N for cvxpy's route")
    ap.add_argument("--casadi-max", type=int, default=1000000)
    ap.add_argument("--loop-max", type=int, default=10000, help="largest N for ocp_loop")
    ap.add_argument("--repeat", type=int, default=3, help="builds: best of this many processes")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--out", help="write the Markdown table here")
    ap.add_argument("--from-log", help="re-render --out from the JSON lines of an earlier run")
    args = ap.parse_args(argv)
    if args.from_log:
        with open(args.from_log) as fh:
            logged = [json.loads(line) for line in fh if line.startswith("{")]
        with open(args.from_log) as fh:
            cmd_line = fh.readline().strip().lstrip("# ")
        print(table(logged))
        print(acceptance(logged))
        if args.out:
            write_report(logged, args.out, cmd_line)
        return
    if args.one:
        model, N, route = args.one
        print(json.dumps(measure(model, int(N), route, args.solve), default=str))
        return
    rows = []
    for model in args.models:
        for N in args.sizes:
            for route in args.routes:
                if (route == "cvxpy" and args.cvxpy_max < N) or \
                        (route.startswith("casadi") and args.casadi_max < N) or \
                        (model == "ocp_loop" and (args.loop_max < N or route.startswith("casadi"))):
                    continue
                solve = args.solve_max >= N and not route.startswith("casadi")
                if route == "cvxpy" and not solve:
                    continue
                best = None
                for rep in range(args.repeat if route != "raw" and route != "cvxpy" else 1):
                    r = run(model, N, route, solve and rep == 0, args.timeout)
                    if "error" in r:
                        best = best or r
                        break
                    if best is None:
                        best = r
                    else:  # keep the first run's solve, the best build of all runs
                        best["build"] = min(best["build"], r["build"])
                rows.append(best)
                print(json.dumps(best, default=str), flush=True)
    print(table(rows))
    print(acceptance(rows))
    if args.out:
        given = argv if argv is not None else sys.argv[1:]
        cmd = "python benchmarks/scale_nlp.py " + " ".join(given)
        write_report(rows, args.out, cmd)


if __name__ == "__main__":
    main()
