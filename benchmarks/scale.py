"""The modelling layer at scale: LP and banded convex QP from n = 10³ to 10⁶, and re-solves.

Problems (seeded, the same matrices handed to every tool; m = n/2 rows, 5 nonzeros a row):

* LP:  minimize cᵀx  s.t.  A x <= b,  0 <= x <= 1   (row i has 5 entries in columns 2i..2i+4, values
  in [0.1, 1]; b = A x_f + slack for a random x_f in [0, 1]; c in [−1, 0.2]);
* QP:  minimize cᵀx + ½‖Dx‖²  with the same rows and box, D = bidiagonal(1.5 on the diagonal, −1
  below), so Q = DᵀD is tridiagonal and positive definite. Written ``0.5 * cp.sum_squares(D @ x)``
  for optkit and cvxpy (cvxpy 1.9.3's own DCP check densifies a sparse ``quad_form`` matrix in
  ``is_nsd`` — 74.5 GiB at n = 10⁵ — so the cvxpy-friendly spelling is used for both).

Tools: ``optkit-auto`` (``ok.solve(ok.Problem(...))``, no solver named: HiGHS for the LP, Clarabel
for the QP), ``optkit-highs`` (LP, named), the raw solver on the same arrays (highspy ``passModel``
for the LP, Clarabel's ``DefaultSolver`` with the stacked rows [A; I; −I] for the QP), cvxpy's own
``prob.solve`` with the same solver, Pyomo (``appsi_highs``, LP up to 10⁵) and pyoptinterface
(its HiGHS, LP). Every measurement runs in a fresh subprocess after its imports and a tiny warm-up
solve (imports and plug-in discovery are one-time costs, reported separately); ``build`` is the
modelling step (expressions, problem object, passing data), ``solve`` the solve call including
optkit's compile, verification and mapping back, ``peak MB`` the process's ru_maxrss, ``base MB``
its RSS after imports and data generation (so peak − base is what the solve added). Sizes up to
10⁴ keep the fastest of 3 fresh processes, 10⁵ of 2, 10⁶ run once.

Re-solve: one LP (n = 2000 and n = 20) with a parameter right-hand side b, solved 200 times with
new values: through ``ok.solve(prob, "highs")`` (the compiled form re-applies b in place), raw
highspy changing the row bounds of the loaded model in place (``changeRowsBounds``: HiGHS
warm-starts from the previous basis) and passing the model afresh each time (cold), and cvxpy with
the Parameter (DPP: ``prob.solve`` after ``param.value = ...``).

    python benchmarks/scale.py [--quick] [--write]      # --quick: sizes up to 10⁵
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# ------------------------------------------------------------------------------------ problems
def lp_data(n: int, seed: int = 0):
    """(c, A, b) of the banded LP (see module docstring)."""
    rng = np.random.default_rng(seed)
    m, k = n // 2, 5
    rows = np.repeat(np.arange(m), k)
    cols = (2 * rows + np.tile(np.arange(k), m)) % n
    A = sp.csr_matrix((rng.uniform(0.1, 1.0, size=m * k), (rows, cols)), shape=(m, n))
    b = A @ rng.uniform(0, 1, n) + rng.uniform(0.1, 1.0, m)
    c = rng.uniform(-1.0, 0.2, n)
    return c, A, b


def qp_data(n: int, seed: int = 0):
    """(c, D, A, b) of the banded QP: Q = DᵀD with D lower bidiagonal."""
    c, A, b = lp_data(n, seed)
    D = sp.diags([np.full(n, 1.5), np.full(n - 1, -1.0)], [0, -1], format="csr")
    return c, D, A, b


def rss_mb() -> float:
    """Current resident set size (MB)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------ one run
NOTES = """## Notes

* Imports and plug-in discovery are not in the times: each process imports its tool and makes one
  tiny warm-up solve first. optkit's first solve without a solver named loads every registered
  backend module to read its priority (≈ 0.9 s once per process, measured separately).
* pyoptinterface solves with its own HiGHS library (the ``highsbox`` wheel, HiGHS 1.15.1; highspy
  is 1.16.0), so its solve column is not the same binary; its build adds the rows one by one in
  Python (``add_m_linear_constraints``).
* Pyomo is measured up to n = 10⁵ only: its model is built term by term in Python (at 10⁵ it
  already spends seconds building and several more writing the model into HiGHS).
* The QP is written ``0.5 * cp.sum_squares(D @ x)`` for optkit and cvxpy alike. Written
  ``0.5 * cp.quad_form(x, Q)`` with a sparse Q, cvxpy 1.9.3's own DCP check asks whether Q is
  negative semidefinite and, when Gershgorin cannot tell, densifies Q (``linalg.is_diagonal``):
  74.5 GiB at n = 10⁵, a MemoryError. optkit answers that question from Q's diagonal before cvxpy
  asks (``optkit.modeling.classify``), so ``ok.Problem`` takes the quad_form spelling too.
* optkit's ``solve`` column includes its compile (cvxpy expressions → LinearForm, read directly
  in O(nnz)), its own verification of the answer (KKT and scaled feasibility measured on the form)
  and the mapping back to the cvxpy variables and constraint duals.
* Clarabel is run by optkit with gap and feasibility tolerances 1e-10 (Clarabel's defaults are
  1e-8, used by the raw and cvxpy runs): at 1e-8 an interior point leaves the projected-gradient
  stationarity optkit measures above its 1e-5 verification tolerance (see
  solvers/clarabel_backend.py).
* At n = 10³ the QP with no solver named goes to HiGHS (the highs backend keeps the QP default
  up to 2000 variables): its active-set QP needs 0.89 s there, Clarabel 0.01 s.
* The machine is shared with other jobs: times of one size vary by up to 2–3× between runs; the
  fastest of several fresh processes is kept below 10⁶.
"""


def run_one(tool: str, kind: str, n: int) -> dict:
    """One measurement (called in a fresh subprocess)."""
    if tool.startswith("optkit"):
        import cvxpy as cp

        import optkit as ok

        xw = cp.Variable(2, bounds=[0, 1])  # warm-up: imports, backend discovery
        warm = ok.Problem(cp.Minimize(cp.sum(xw) + (cp.sum_squares(xw) if kind == "qp" else 0)))
        ok.solve(warm)
        ok.solve(warm, "clarabel" if kind == "qp" else "highs")
    elif tool == "cvxpy":
        import cvxpy as cp
    elif tool == "pyomo":
        import pyomo.environ as pyo
    elif tool == "pyoptinterface":
        import pyoptinterface as poi
        from pyoptinterface import highs as poi_highs

        poi_highs.autoload_library()
    elif tool == "raw":
        import clarabel
        import highspy
    data = lp_data(n) if kind == "lp" else qp_data(n)
    base = rss_mb()
    t0 = time.perf_counter()
    info: dict = {}
    if kind == "lp":
        c, A, b = data
        if tool == "raw":
            import highspy

            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            m = A.shape[0]
            h.passModel(n, m, A.nnz, int(highspy.MatrixFormat.kRowwise),
                        int(highspy.ObjSense.kMinimize), 0.0, c, np.zeros(n), np.ones(n),
                        np.full(m, -h.getInfinity()), b, A.indptr.astype(np.int32),
                        A.indices.astype(np.int32), A.data, np.zeros(n, np.int32))
            t1 = time.perf_counter()
            h.run()
            sol = h.getSolution()
            _ = np.array(sol.col_value)
            _ = np.array(sol.row_dual)
            obj, status = h.getInfo().objective_function_value, h.getModelStatus().name
        elif tool.startswith("optkit"):
            x_ = cp.Variable(n, bounds=[0, 1])
            prob = ok.Problem(cp.Minimize(c @ x_), [A @ x_ <= b])
            t1 = time.perf_counter()
            res = ok.solve(prob, None if tool == "optkit-auto" else "highs")
            _ = res.value(x_)
            _ = res.dual(prob.constraints[0])
            obj, status = res.objective, f"{res.termination} verified={res.verified}"
            info = {"solver": res.solver, "timings": {k: round(v, 4) for k, v in res.timings.items()}}
        elif tool == "cvxpy":
            x_ = cp.Variable(n, bounds=[0, 1])
            prob = cp.Problem(cp.Minimize(c @ x_), [A @ x_ <= b])
            t1 = time.perf_counter()
            obj = prob.solve(solver=cp.HIGHS)
            _, status = x_.value, prob.status
            _ = prob.constraints[0].dual_value
        elif tool == "pyomo":
            mdl = pyo.ConcreteModel()
            mdl.x = pyo.Var(range(n), bounds=(0, 1))
            mdl.obj = pyo.Objective(expr=pyo.quicksum(float(c[j]) * mdl.x[j] for j in range(n)))
            ip, ix, dv = A.indptr, A.indices, A.data
            mdl.rows = pyo.Constraint(range(A.shape[0]), rule=lambda mm, i: pyo.quicksum(
                float(dv[k]) * mm.x[int(ix[k])] for k in range(ip[i], ip[i + 1])) <= float(b[i]))
            t1 = time.perf_counter()
            r = pyo.SolverFactory("appsi_highs").solve(mdl)
            obj, status = pyo.value(mdl.obj), str(r.solver.termination_condition)
        elif tool == "pyoptinterface":
            mdl = poi_highs.Model()
            mdl.set_model_attribute(poi.ModelAttribute.Silent, True)
            xs = mdl.add_m_variables(n, lb=0.0, ub=1.0)
            mdl.add_m_linear_constraints(sp.csr_array(A), xs, poi.Leq, b)
            mdl.set_objective(poi.ScalarAffineFunction(c.tolist(), [v.index for v in xs]),
                              poi.ObjectiveSense.Minimize)
            t1 = time.perf_counter()
            mdl.optimize()
            obj = mdl.get_model_attribute(poi.ModelAttribute.ObjectiveValue)
            status = str(mdl.get_model_attribute(poi.ModelAttribute.TerminationStatus))
        else:
            raise ValueError(tool)
    else:
        c, D, A, b = data
        if tool == "raw":
            import clarabel

            m = A.shape[0]
            Q = (D.T @ D).tocsc()
            eye = sp.identity(n, format="csr")
            Ac = sp.vstack([A, eye, -eye], format="csc")
            bc = np.concatenate([b, np.ones(n), np.zeros(n)])
            s = clarabel.DefaultSettings()
            s.verbose = False
            solver = clarabel.DefaultSolver(sp.triu(Q, format="csc"), c, Ac, bc,
                                            [clarabel.NonnegativeConeT(m + 2 * n)], s)
            t1 = time.perf_counter()
            sol = solver.solve()
            _ = np.asarray(sol.x)
            _ = np.asarray(sol.z)
            obj, status = sol.obj_val, str(sol.status)
            info = {"iterations": int(sol.iterations)}
        elif tool.startswith("optkit"):
            x_ = cp.Variable(n, bounds=[0, 1])
            prob = ok.Problem(cp.Minimize(c @ x_ + 0.5 * cp.sum_squares(D @ x_)), [A @ x_ <= b])
            t1 = time.perf_counter()
            res = ok.solve(prob)
            _ = res.value(x_)  # timed: mapping the values back
            _ = res.dual(prob.constraints[0])
            obj, status = res.objective, f"{res.termination} verified={res.verified}"
            info = {"solver": res.solver, "iterations": res.iterations,
                    "timings": {k: round(v, 4) for k, v in res.timings.items()}}
        elif tool == "cvxpy":
            x_ = cp.Variable(n, bounds=[0, 1])
            prob = cp.Problem(cp.Minimize(c @ x_ + 0.5 * cp.sum_squares(D @ x_)), [A @ x_ <= b])
            t1 = time.perf_counter()
            obj = prob.solve(solver=cp.CLARABEL)
            status = prob.status
            info = {"iterations": prob.solver_stats.num_iters}
        else:
            raise ValueError(tool)
    t2 = time.perf_counter()
    return {"tool": tool, "kind": kind, "n": n, "build": t1 - t0, "solve": t2 - t1,
            "total": t2 - t0, "peak_mb": peak_mb(), "base_mb": base, "objective": float(obj),
            "status": str(status), **info}


def resolve_one(tool: str, n: int, count: int = 200, passes: int = 3) -> dict:
    """``count`` re-solves of the LP with a new parameter right-hand side (fresh subprocess);
    the best of ``passes`` passes over the same ``count`` values (the machine is shared)."""
    c, A, b0 = lp_data(n, seed=1)
    m = A.shape[0]
    rng = np.random.default_rng(7)
    rhs = [b0 * (1.0 + 0.05 * rng.uniform(-1, 1, m)) for _ in range(count)]
    if tool == "optkit":
        import cvxpy as cp

        import optkit as ok

        x = cp.Variable(n, bounds=[0, 1])
        bp = cp.Parameter(m, value=b0)
        prob = ok.Problem(cp.Minimize(c @ x), [A @ x <= bp])
        ok.solve(prob, "highs")

        def one(r):
            bp.value = r
            return ok.solve(prob, "highs").objective
        extra = {"stats": prob._linear.stats}
    elif tool in ("raw-warm", "raw-cold"):
        import highspy

        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        inf = h.getInfinity()
        args = (int(highspy.MatrixFormat.kRowwise), int(highspy.ObjSense.kMinimize), 0.0, c,
                np.zeros(n), np.ones(n), np.full(m, -inf))
        ip, ix = A.indptr.astype(np.int32), A.indices.astype(np.int32)
        h.passModel(n, m, A.nnz, *args, b0, ip, ix, A.data, np.zeros(n, np.int32))
        h.run()
        idx = np.arange(m, dtype=np.int32)
        lower = np.full(m, -inf)

        def one(r):
            if tool == "raw-warm":
                h.changeRowsBounds(m, idx, lower, r)
            else:
                h.clearModel()
                h.passModel(n, m, A.nnz, *args, r, ip, ix, A.data, np.zeros(n, np.int32))
            h.run()
            _ = np.array(h.getSolution().col_value)
            return h.getInfo().objective_function_value
        extra = {}
    elif tool == "cvxpy-dpp":
        import cvxpy as cp

        x = cp.Variable(n, bounds=[0, 1])
        bp = cp.Parameter(m, value=b0)
        prob = cp.Problem(cp.Minimize(c @ x), [A @ x <= bp])
        prob.solve(solver=cp.HIGHS)

        def one(r):
            bp.value = r
            return prob.solve(solver=cp.HIGHS)
        extra = {}
    else:
        raise ValueError(tool)
    el = float("inf")
    for _ in range(passes):
        t0 = time.perf_counter()
        objs = [one(r) for r in rhs]
        el = min(el, time.perf_counter() - t0)
    extra = {k: (dict(v) if isinstance(v, dict) else v) for k, v in extra.items()}
    return {"tool": tool, "n": n, "count": count, "seconds": el, "per_solve_ms": 1e3 * el / count,
            "objectives": [float(o) for o in objs], **extra}


# ------------------------------------------------------------------------------------ driver
def subprocess_run(args: list[str], timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__)] + args
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"error": tail[0][:160]}


def repeats(n: int) -> int:
    """Fresh processes per measurement (the fastest is kept: the machine is shared)."""
    return 3 if n <= 10**4 else 2 if n <= 10**5 else 1


def best_of(args: list[str], timeout: float, count: int) -> dict:
    runs = [subprocess_run(args, timeout) for _ in range(count)]
    ok_runs = [r for r in runs if "error" not in r]
    if not ok_runs:
        return runs[0]
    best = min(ok_runs, key=lambda r: r["total"])
    best["repeats"] = len(runs)
    return best


def table_scale(rows: list[dict], kind: str) -> str:
    sizes = sorted({r["n"] for r in rows if r.get("kind") == kind})
    ref_tool = "raw"
    out = ["| tool | n | build s | solve s | total s | × raw | peak MB | base MB | peak ÷ raw | "
           "objective | status |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for n in sizes:
        ref = next((r for r in rows if r.get("kind") == kind and r["n"] == n
                    and r["tool"] == ref_tool and "error" not in r), None)
        for r in [r for r in rows if r.get("kind") == kind and r["n"] == n]:
            if "error" in r:
                out.append(f"| {r['tool']} | {n} | | | | | | | | | {r['error']} |")
                continue
            ratio = f"{r['total'] / ref['total']:.2f}×" if ref else ""
            mem = f"{r['peak_mb'] / ref['peak_mb']:.2f}×" if ref else ""
            status = r["status"] + (f" ({r['solver']})" if r.get("solver") else "")
            if r.get("all_totals"):
                status += f"; totals of {len(r['all_totals'])} runs: " + ", ".join(
                    f"{t:g}" for t in r["all_totals"]) + " s"
            out.append(f"| {r['tool']} | {n} | {r['build']:.3f} | {r['solve']:.3f} | "
                       f"{r['total']:.3f} | {ratio} | {r['peak_mb']:.0f} | {r['base_mb']:.0f} | "
                       f"{mem} | {r['objective']:.8g} | {status} |")
    return "\n".join(out)


def table_growth(rows: list[dict], kind: str) -> str:
    out = ["| tool | decade | time growth | peak-memory growth (peak − base) |", "|---|---|---|---|"]
    tools = []
    for r in rows:
        if r.get("kind") == kind and r["tool"] not in tools:
            tools.append(r["tool"])
    for tool in tools:
        mine = sorted((r for r in rows if r.get("kind") == kind and r["tool"] == tool
                       and "error" not in r), key=lambda r: r["n"])
        for a, b in itertools.pairwise(mine):
            ta, tb = a["total"], b["total"]
            ma, mb = max(a["peak_mb"] - a["base_mb"], 1.0), max(b["peak_mb"] - b["base_mb"], 1.0)
            out.append(f"| {tool} | {a['n']} → {b['n']} | {tb / ta:.1f}× | {mb / ma:.1f}× |")
    return "\n".join(out)


def table_resolve(rows: list[dict]) -> str:
    out = ["| n | path | 200 re-solves s | per solve ms | × raw highspy (warm, in place) | "
           "× raw highspy (cold) | same objectives |", "|---|---|---|---|---|---|---|"]
    for n in sorted({r["n"] for r in rows}):
        mine = [r for r in rows if r["n"] == n and "error" not in r]
        warm = next((r for r in mine if r["tool"] == "raw-warm"), None)
        cold = next((r for r in mine if r["tool"] == "raw-cold"), None)
        for r in mine:
            same = (np.allclose(r["objectives"], warm["objectives"], rtol=1e-7, atol=1e-7)
                    if warm else "")
            out.append(f"| {n} | {r['tool']} | {r['seconds']:.3f} | {r['per_solve_ms']:.3f} | "
                       f"{r['seconds'] / warm['seconds']:.2f}× | {r['seconds'] / cold['seconds']:.2f}× | "
                       f"{'yes' if same is True else same} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="sizes up to 10⁵")
    ap.add_argument("--write", action="store_true", help="write docs/bench_scale.md")
    ap.add_argument("--one", nargs=3, metavar=("TOOL", "KIND", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--resolve-one", nargs=2, metavar=("TOOL", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--save", metavar="FILE", help="also save every measured row as JSON lines")
    ap.add_argument("--render", metavar="FILE", help="only render saved rows (see --save)")
    ap.add_argument("--resolve-only", action="store_true", help="only the re-solve measurements")
    a = ap.parse_args()
    if a.render:
        with open(a.render) as fh:
            saved = [json.loads(line) for line in fh if line.startswith("{")]
        rows = [r for r in saved if "kind" in r]
        res_rows = [r for r in saved if "kind" not in r and "command" not in r]
        text = render(rows, res_rows, saved_command(saved))
        print(text)
        if a.write:
            with open(os.path.join(ROOT, "docs", "bench_scale.md"), "w") as fh:
                fh.write(text)
        return
    if a.one:
        print(json.dumps(run_one(a.one[0], a.one[1], int(a.one[2]))))
        return
    if a.resolve_one:
        print(json.dumps(resolve_one(a.resolve_one[0], int(a.resolve_one[1]))))
        return
    sizes = [10**3, 10**4, 10**5] + ([] if a.quick else [10**6])
    if a.resolve_only:
        sizes = []
    rows = []
    plan = [("lp", ["raw", "optkit-auto", "optkit-highs", "cvxpy", "pyoptinterface", "pyomo"]),
            ("qp", ["raw", "optkit-auto", "cvxpy"])]
    for kind, tools in plan:
        for n in sizes:
            for tool in tools:
                if tool == "pyomo" and n > 10**5:
                    rows.append({"tool": tool, "kind": kind, "n": n,
                                 "error": "skipped: Pyomo's expression building takes minutes at "
                                          "this size"})
                    continue
                r = best_of(["--one", tool, kind, str(n)], a.timeout, repeats(n))
                r.update({"tool": tool, "kind": kind, "n": n})
                print(json.dumps({k: v for k, v in r.items() if k != "objectives"}), flush=True)
                rows.append(r)
    res_rows = []
    for n in (2000, 20):
        for tool in ("raw-warm", "raw-cold", "optkit", "cvxpy-dpp"):
            r = subprocess_run(["--resolve-one", tool, str(n)], a.timeout)
            r.update({"tool": tool, "n": n})
            print(json.dumps({k: v for k, v in r.items() if k != "objectives"}), flush=True)
            res_rows.append(r)
    cmd = "python benchmarks/scale.py" + (" --quick" if a.quick else "") + " --write"
    if a.save:
        with open(a.save, "w") as fh:
            fh.write(json.dumps({"command": cmd}) + "\n")
            for r in rows + res_rows:
                fh.write(json.dumps(r) + "\n")
    text = render(rows, res_rows, cmd)
    print(text)
    if a.write:
        with open(os.path.join(ROOT, "docs", "bench_scale.md"), "w") as fh:
            fh.write(text)


def saved_command(saved: list[dict]) -> str:
    return next((r["command"] for r in saved if "command" in r), "python benchmarks/scale.py --write")


def acceptance(rows: list[dict], res_rows: list[dict]) -> str:
    """The issue's targets, checked on the measured rows (one run)."""
    def get(tool, kind, n):
        return next((r for r in rows if r.get("tool") == tool and r.get("kind") == kind
                     and r.get("n") == n and "error" not in r), None)

    out = ["| target | measured | met |", "|---|---|---|"]
    big = max((r["n"] for r in rows if "error" not in r), default=0)
    for kind in ("lp", "qp"):
        a, raw = get("optkit-auto", kind, big), get("raw", kind, big)
        if a and raw:
            t, m = a["total"] / raw["total"], a["peak_mb"] / raw["peak_mb"]
            out.append(f"| {kind.upper()} n = {big}: total time ≤ 1.3× raw | {t:.2f}× | "
                       f"{'yes' if t <= 1.3 else 'no'} |")
            out.append(f"| {kind.upper()} n = {big}: peak memory ≤ 1.5× raw | {m:.2f}× | "
                       f"{'yes' if m <= 1.5 else 'no'} |")
            tm = a.get("timings", {})
            own = tm.get("model", 0.0) + tm.get("build", 0.0) + tm.get("finish", 0.0)
            out.append(f"| {kind.upper()} n = {big}: optkit's own work (model + compile + verify "
                       f"and map back, from res.timings) | {own:.2f} s = {own / raw['total']:.1%} "
                       f"of raw | (noise-free part) |")
    a, raw = get("optkit-auto", "qp", 10**5), get("raw", "qp", 10**5)
    if a and raw:
        t = a["total"] / raw["total"]
        out.append(f"| banded QP n = 10⁵, no solver named, ≤ 2× raw Clarabel | {t:.2f}× "
                   f"({a.get('solver', '')}) | {'yes' if t <= 2 else 'no'} |")
    for n in sorted({r["n"] for r in res_rows}):
        mine = {r["tool"]: r for r in res_rows if r["n"] == n and "error" not in r}
        if "optkit" in mine and "raw-warm" in mine:
            w = mine["optkit"]["seconds"] / mine["raw-warm"]["seconds"]
            c = mine["optkit"]["seconds"] / mine["raw-cold"]["seconds"] if "raw-cold" in mine else float("nan")
            out.append(f"| re-solve n = {n}: ≤ 1.5× raw highspy per solve | {w:.2f}× warm "
                       f"(in place), {c:.2f}× cold | {'yes' if w <= 1.5 else 'no'} |")
    return "\n".join(out)


def render(rows: list[dict], res_rows: list[dict], cmd: str) -> str:
    import platform

    import cvxpy
    import highspy

    try:
        import clarabel

        cl = clarabel.__version__
    except Exception:  # pragma: no cover
        cl = "?"
    h = highspy.Highs()
    hv = f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
    return "\n\n".join([
        "# Benchmark: the modelling layer at scale (LP, banded QP, re-solves)",
        f"Produced by `{cmd}` on {platform.machine()} with {os.cpu_count()} cores "
        f"(shared with other jobs), Python {platform.python_version()}, cvxpy {cvxpy.__version__}, "
        f"HiGHS {hv} (highspy), Clarabel {cl}. Problem definitions, tools and what each column "
        f"means: the docstring of benchmarks/scale.py. Every row is one fresh process.",
        "## LP: minimize cᵀx s.t. Ax <= b, 0 <= x <= 1 (m = n/2, 5 nonzeros a row)",
        table_scale(rows, "lp"),
        "Growth per decade (total time; peak memory above the process's base):",
        table_growth(rows, "lp"),
        "## Banded convex QP: minimize cᵀx + ½‖Dx‖² (same rows and box)",
        table_scale(rows, "qp"),
        "Growth per decade:",
        table_growth(rows, "qp"),
        "## Re-solves: 200 solves of one LP with a new parameter right-hand side",
        table_resolve(res_rows),
        "## Targets of the issue, on these measurements",
        acceptance(rows, res_rows),
        NOTES,
    ]) + "\n"


if __name__ == "__main__":
    main()
