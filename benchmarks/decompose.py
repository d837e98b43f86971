"""Benchmark: a separable LP / convex QP of 8 blocks, solved whole vs block by block (1 and 2 workers).

    .venv/bin/python benchmarks/decompose.py [--kind lp|qp|both] [--blocks 8] [--lp-n 12000]
                                             [--qp-n 1500] [--repeat 2] [--no-whole]
                                             [--whole-time-limit 30]

Each block is a random sparse problem with n columns and n/2 + 1 rows (6 nonzeros per column on
average, 30% equality rows, the rest ≤ rows, plus one budget row Σx ≤ b on every column so the block
is connected; all feasible at a random interior point), 0 ≤ x ≤ 10, objective cᵀx (LP) or
cᵀx + ½xᵀDx with D diagonal in [0.5, 1.5] (QP). The whole problem is the block-diagonal sum with
its rows and columns shuffled by random permutations, so ``optkit.decompose`` has to find the
blocks. Every run goes through HiGHS and must agree on the objective to 1e-7 (relative). The whole
solve runs once, in a fresh process, with a time limit; the decomposed solves run in ``repeat``
interleaved rounds (1 worker, 2 workers) and the best time of each is reported. The fork server of
the worker pool is started before timing (its one-off start-up is printed separately); the worker
processes themselves are started inside every timed run.
"""
from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import scipy.sparse as sp

import optkit as ok
from optkit.decompose import solve_decomposed


def block(n: int, seed: int, qp: bool) -> dict:
    """One random feasible block (see module docstring)."""
    rng = np.random.default_rng(seed)
    m = n // 2
    A = sp.random(m, n, density=6.0 / n, random_state=rng, format="csr")
    # one budget row on every column keeps the block connected (a random sparse pattern alone
    # leaves ~5% of the columns empty, i.e. free-standing one-variable blocks)
    A = sp.vstack([A, sp.csr_matrix(np.ones((1, n)))], format="csr")
    m += 1
    ax = A @ rng.uniform(1, 9, n)
    eq = rng.random(m) < 0.3
    return {"A": A, "c": rng.standard_normal(n), "rl": np.where(eq, ax, -np.inf),
            "ru": np.where(eq, ax, ax + rng.uniform(0.1, 1, m)),
            "d": rng.uniform(0.5, 1.5, n) if qp else None}


def separable_form(blocks: int, n: int, qp: bool, seed: int = 0) -> ok.LinearForm:
    """The block-diagonal problem with shuffled rows and columns."""
    parts = [block(n, seed + k, qp) for k in range(blocks)]
    A = sp.block_diag([p["A"] for p in parts], format="csr")
    rng = np.random.default_rng(seed + 1000)
    cp_, rp = rng.permutation(A.shape[1]), rng.permutation(A.shape[0])
    A = A[rp][:, cp_]
    c = np.concatenate([p["c"] for p in parts])[cp_]
    rl = np.concatenate([p["rl"] for p in parts])[rp]
    ru = np.concatenate([p["ru"] for p in parts])[rp]
    Q = sp.diags(np.concatenate([p["d"] for p in parts])[cp_], format="csr") if qp else None
    return ok.LinearForm(c=c, A=A, rl=rl, ru=ru, lb=0.0, ub=10.0, Q=Q, c0=1.0,
                         name=f"separable-{'qp' if qp else 'lp'}")


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _whole(form: ok.LinearForm, limit: float) -> tuple[float, str, float | None]:
    """The whole solve, timed inside a fresh worker process (see ``whole_in_fresh_process``)."""
    t, res = timed(lambda: ok.solve(ok.LinearProblem(form=form), "highs", time_limit=limit))
    return t, str(res.termination), res.objective


def whole_in_fresh_process(form: ok.LinearForm, limit: float) -> tuple[float, str, float | None]:
    """Solve the whole form in a new process: HiGHS 1.16 checks ``time_limit`` against the run
    clock of its (reused) instance, which adds up over earlier solves in the same process."""
    from optkit.decompose import _pool_context

    with ProcessPoolExecutor(max_workers=1, mp_context=_pool_context()) as pool:
        return pool.submit(_whole, form, limit).result()


def run(kind: str, blocks: int, n: int, repeat: int, whole: bool, limit: float) -> list[dict]:
    """Whole (once, in a fresh process) and decomposed with 1 and 2 workers (``repeat`` rounds,
    interleaved so that load changes on a shared machine hit both alike; best time kept)."""
    form = separable_form(blocks, n, kind == "qp")
    model = ok.LinearProblem(form=form)
    rows, ref = [], None
    if whole:
        t, term, obj = whole_in_fresh_process(form, limit)
        capped = term == "TIME_LIMIT"
        assert capped or term == "OPTIMAL", term
        ref = None if capped else obj
        rows.append({"kind": kind, "config": "whole", "time": t, "objective": obj,
                     "block_times": [], "limit": capped})
        print(f"{kind} {'whole':22s} " + (f"> {limit:g} s (time limit)" if capped else
                                          f"{t:8.2f} s  objective {obj:.10g}"), flush=True)
    best = {1: (np.inf, None), 2: (np.inf, None)}
    for _ in range(repeat):
        for workers in (1, 2):
            t, res = timed(lambda w=workers: solve_decomposed(model, "highs", w))
            assert res.termination == ok.Termination.OPTIMAL, (workers, res.message)
            ref = res.objective if ref is None else ref
            assert abs(res.objective - ref) <= 1e-7 * max(1.0, abs(ref)), (res.objective, ref)
            tm, bt = res.timings, [b["time"] for b in res.extra["blocks"]]
            print(f"{kind} decompose, {workers} worker(s) {t:8.2f} s  objective "
                  f"{res.objective:.10g}; blocks {min(bt):.2f}–{max(bt):.2f} s, Σ {sum(bt):.2f} s "
                  f"(CPU Σ {sum(b['cpu'] for b in res.extra['blocks']):.2f} s); "
                  f"build {tm['build']:.2f} s; load {os.getloadavg()[0]:.2f}", flush=True)
            if t < best[workers][0]:
                best[workers] = (t, res)
    for workers in (1, 2):
        t, res = best[workers]
        rows.append({"kind": kind, "config": f"decompose, {workers} worker{'s' if workers > 1 else ''}",
                     "time": t, "objective": res.objective,
                     "block_times": [b["time"] for b in res.extra["blocks"]], "limit": False})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=("lp", "qp", "both"), default="both")
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--lp-n", type=int, default=12000, help="columns per LP block")
    ap.add_argument("--qp-n", type=int, default=1500, help="columns per QP block")
    ap.add_argument("--repeat", type=int, default=2, help="rounds of (1 worker, 2 workers); best kept")
    ap.add_argument("--no-whole", action="store_true", help="skip the whole solve")
    ap.add_argument("--whole-time-limit", type=float, default=30.0,
                    help="time limit of the whole solve (reported as '> limit')")
    args = ap.parse_args()
    t_fs, _ = timed(lambda: solve_decomposed(ok.LinearProblem(form=separable_form(2, 20, False)),
                                             "highs", 2))
    print(f"fork server start + first pool (one-off per session): {t_fs:.2f} s; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    for kind in (("lp", "qp") if args.kind == "both" else (args.kind,)):
        n = args.lp_n if kind == "lp" else args.qp_n
        rows += run(kind, args.blocks, n, args.repeat, not args.no_whole, args.whole_time_limit)
    print(f"\nload average after the runs: {os.getloadavg()[0]:.2f} (1 min)\n")
    print("| problem | configuration | time (s) | vs whole | vs 1 worker | block solve times (s) |")
    print("|---|---|---:|---:|---:|---|")
    for kind in dict.fromkeys(r["kind"] for r in rows):
        rs = [r for r in rows if r["kind"] == kind]
        t = {r["config"]: r["time"] for r in rs}
        n = args.lp_n if kind == "lp" else args.qp_n
        for r in rs:
            capped = any(x["limit"] for x in rs if x["config"] == "whole")
            if "whole" not in t or r["config"] == "whole":
                vs_whole = "–"
            else:  # speed-up over the whole solve (a lower bound when that hit its time limit)
                vs_whole = f"{'> ' if capped else ''}{t['whole'] / r['time']:.2f}×"
            one = t["decompose, 1 worker"]
            vs_one = f"{one / r['time']:.2f}×" if r["config"] != "whole" else "–"
            bt = r["block_times"]
            spread = f"{min(bt):.2f}–{max(bt):.2f}" if bt else "–"
            tt = f"> {r['time']:.0f}" if r["limit"] else f"{r['time']:.2f}"
            print(f"| {kind.upper()} {args.blocks}×{n} cols | {r['config']} | {tt} | "
                  f"{vs_whole} | {vs_one} | {spread} |")


if __name__ == "__main__":
    main()
