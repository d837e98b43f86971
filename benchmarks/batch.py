"""Batch throughput: 1,000 small LP jobs through ok.batch.run, against its peers in the same run.

Measured (all on the same 1,000 random feasible LPs, n=20 variables, m=10 rows, HiGHS):

- raw optkit:    an in-process loop ``ok.solve(build(), "highs")`` (build + solve, nothing else)
- raw highspy:   an in-process loop passing the same data straight to highspy (the floor)
- ProcessPool:   concurrent.futures.ProcessPoolExecutor(workers) mapping ok.solve over the jobs
                 (no isolation, no deadline, no store) — the peer a user would write by hand
- ok.batch local, reused workers (the fast path), 1 and 2 workers: isolated slots with hard
  deadlines, captured logs, and one SQLite row per job
- ok.batch local, one process per job (reuse=False), on a subset
- ok.batch dask (LocalCluster, 2 workers; one forked process per job inside the Dask worker), subset

Per-job overhead = batch wall time × workers / jobs − raw optkit time per job. On a shared,
oversubscribed machine wall times are inflated by waiting for a core, so the table also gives CPU
time per job (this process plus its reaped children: user + system), which is what the runner
itself costs.

    .venv/bin/python benchmarks/batch.py            # full: 1,000 jobs
    .venv/bin/python benchmarks/batch.py --quick    # 200 jobs, small subsets
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

import optkit as ok
from optkit.problems_api import Instance, SimpleLibrary

N_VARS, N_ROWS = 20, 10


def lp_data(seed: int):
    """A feasible bounded LP: min cᵀx s.t. Ax ≤ b, 0 ≤ x ≤ 10, with b = A·x̂ + 1 for x̂ ∈ [0, 10]."""
    rng = np.random.default_rng(seed)
    A = rng.uniform(-1, 1, (N_ROWS, N_VARS))
    xh = rng.uniform(0, 10, N_VARS)
    b = A @ xh + 1.0
    c = rng.normal(size=N_VARS)
    return c, A, b


def build(seed: int):
    c, A, b = lp_data(seed)
    return ok.LinearProblem(c=c, A=A, rl=np.full(N_ROWS, -np.inf), ru=b,
                            lb=np.zeros(N_VARS), ub=np.full(N_VARS, 10.0))


class _Builder:  # picklable (ProcessPool, Dask)
    def __init__(self, seed):
        self.seed = seed

    def __call__(self):
        return build(self.seed)


def make_instances(count: int = 1000, offset: int = 0):
    return [Instance(f"lp{s}", _Builder(s), "lp", N_VARS, N_ROWS, source="random")
            for s in range(offset, offset + count)]


library = SimpleLibrary("bench-lp", "random feasible LPs 20×10", make_instances)


def solve_one(seed: int) -> float:
    return ok.solve(build(seed), "highs").objective


def highspy_one(seed: int) -> float:
    import highspy

    c, A, b = lp_data(seed)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    import scipy.sparse as sp

    M = sp.csc_matrix(A)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = N_VARS, N_ROWS
    lp.col_cost_ = c
    lp.col_lower_, lp.col_upper_ = np.zeros(N_VARS), np.full(N_VARS, 10.0)
    lp.row_lower_, lp.row_upper_ = np.full(N_ROWS, -inf), b
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = M.indptr, M.indices, M.data
    h.passModel(lp)
    h.run()
    return h.getInfo().objective_function_value


CPU: dict[int, float] = {}


def _forkserver_cpu() -> float:
    """CPU seconds of multiprocessing's fork server and its reaped children (the batch workers)."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if not pid:
        return 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    f = stat[stat.rindex(")") + 2:].split()
    return sum(int(v) for v in f[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


def _cpu() -> float:
    """CPU seconds of this process, its reaped children and the fork server's reaped workers."""
    import resource

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime + _forkserver_cpu()


def timed(f):
    """(wall seconds, result); the CPU seconds (self + children) go to CPU[id(result)]."""
    c, t = _cpu(), time.perf_counter()
    out = f()
    wall = time.perf_counter() - t
    CPU["last"] = _cpu() - c
    return wall, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--out", default=None, help="write the Markdown table here")
    a = ap.parse_args(argv)
    N = a.jobs or (200 if a.quick else 1000)
    sub = max(20, N // 10)
    tmp = Path(tempfile.mkdtemp(prefix="optkit-bench-"))
    seeds = list(range(N))
    rows = []

    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        ok.solve(build(0), "highs")  # warm imports
    t_raw, objs = timed(lambda: [solve_one(s) for s in seeds])
    cpu_raw = CPU["last"]
    t_hpy, objs_h = timed(lambda: [highspy_one(s) for s in seeds])
    cpu_hpy = CPU["last"]
    assert np.allclose(objs, objs_h, rtol=1e-7, atol=1e-7), "optkit and highspy disagree"
    per_raw = t_raw / N
    rows.append(("raw optkit loop (in-process)", 1, N, t_raw, cpu_raw, ""))
    rows.append(("raw highspy loop (in-process)", 1, N, t_hpy, cpu_hpy, ""))

    for w in (1, 2):
        c0 = _cpu()
        with ProcessPoolExecutor(w) as ex:
            list(ex.map(solve_one, range(2 * w)))  # start and warm the pool
            t, _ = timed(lambda: list(ex.map(solve_one, seeds, chunksize=8)))
        rows.append(("ProcessPoolExecutor map (no isolation/store)", w, N, t, _cpu() - c0,
                     "CPU incl. pool start"))

    lib = ok.problems.load(library, count=N)
    # start the fork server (a clean interpreter importing optkit) once, outside the timings
    t_fs, _ = timed(lambda: ok.batch.run(ok.problems.load(library, count=2, offset=10**6),
                                         ["highs"], store=tmp / "warm.sqlite", progress=False))
    walls = {}
    for w in (1, 2):
        store = tmp / f"local{w}.sqlite"
        t, runs = timed(lambda w=w, store=store: ok.batch.run(lib, ["highs"], workers=w, time_limit=30,
                                                              store=store, progress=False))
        assert runs.ran == N and all(r["status"] == "OPTIMAL" for r in runs)
        got = np.array([r["objective"] for r in sorted(runs, key=lambda r: int(r["instance"][2:]))])
        assert np.allclose(got, objs, rtol=1e-7, atol=1e-7)
        inside = np.mean([r["build_time"] + r["solve_time"] for r in runs])
        walls[w] = t
        rows.append(("ok.batch local, reused workers", w, N, t, CPU["last"],
                     f"in-worker build+solve {1e3 * inside:.2f} ms"))
        t2, again = timed(lambda w=w, store=store: ok.batch.run(lib, ["highs"], workers=w, time_limit=30,
                                                                store=store, progress=False))
        assert again.ran == 0
        if w == 1:
            rows.append(("ok.batch re-run, all stored (resume check)", w, N, t2, CPU["last"], ""))

    store = tmp / "fork1.sqlite"
    t, runs = timed(lambda: ok.batch.run(lib, ["highs"], workers=1, time_limit=30, store=store,
                                         start_method="fork", progress=False))
    assert runs.ran == N and all(r["status"] == "OPTIMAL" for r in runs)
    rows.append(("ok.batch local, reused workers, start_method='fork'", 1, N, t, CPU["last"],
                 "workers forked from this process: nothing pickled"))

    libs = ok.problems.load(library, count=sub)
    t, runs = timed(lambda: ok.batch.run(libs, ["highs"], workers=2, time_limit=30, reuse=False,
                                         store=tmp / "noreuse.sqlite", progress=False))
    assert all(r["status"] == "OPTIMAL" for r in runs)
    rows.append(("ok.batch local, process per job (reuse=False)", 2, sub, t, CPU["last"], ""))
    try:
        import distributed  # noqa: F401

        t, runs = timed(lambda: ok.batch.run(libs, ["highs"], workers=2, time_limit=30,
                                             executor="dask", store=tmp / "dask.sqlite",
                                             progress=False))
        assert all(r["status"] == "OPTIMAL" for r in runs)
        rows.append(("ok.batch dask LocalCluster (incl. cluster start)", 2, sub, t, None,
                     "CPU of Dask workers not counted"))
    except ImportError:
        pass

    cmd = "python benchmarks/batch.py" + (" --quick" if a.quick else "") + \
        (f" --jobs {a.jobs}" if a.jobs else "")
    lines = [f"Command: `{cmd}` · {N} LPs ({N_VARS} variables × {N_ROWS} rows) · "
             f"{os.cpu_count()} cores (shared) · raw optkit solve {1e3 * per_raw:.2f} ms/job", "",
             "| runner | workers | jobs | wall [s] | jobs/s | wall ms/job/worker | overhead vs raw "
             "[ms/job] | CPU ms/job | CPU overhead vs raw [ms/job] | note |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    cpu_per_raw = 1e3 * cpu_raw / N
    for name, w, n, t, cpu, note in rows:
        per = 1e3 * t * w / n
        cpu_s = f"{1e3 * cpu / n:.2f} | {1e3 * cpu / n - cpu_per_raw:+.2f}" if cpu is not None else " | "
        lines.append(f"| {name} | {w} | {n} | {t:.2f} | {n / t:.0f} | {per:.2f} | "
                     f"{per - 1e3 * per_raw:+.2f} | {cpu_s} | {note} |")
    load = os.getloadavg()[0]
    lines += ["", f"Worker start-up (fork server importing optkit, once per Python session, not "
              f"in the rows above): {t_fs:.2f} s.", "", f"Scaling 1 → 2 workers (ok.batch, reused workers): "
              f"{walls[1] / walls[2]:.2f}× throughput. Load average at the end: {load:.1f} "
              f"on {os.cpu_count()} cores."]
    text = "\n".join(lines)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
