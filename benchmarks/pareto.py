"""Benchmark: optkit's Pareto methods against NSGA-II (pymoo) at fixed evaluation budgets.

    python benchmarks/pareto.py            # ZDT1, ZDT2, ZDT3, DTLZ2, BNH; 5 seeds; ~10 minutes
    python benchmarks/pareto.py --quick    # ZDT1 and BNH, 5 seeds, 2 methods; ~1-2 minutes
    python benchmarks/pareto.py --out docs/bench_pareto.md --plots docs/img

Measures, per problem × method × seed, in one run: normalised hypervolume (objectives mapped by
the reference front's ideal and nadir, reference point 1.1; the reference front comes from the
problem's formulas), IGD⁺, number of front points, function evaluations (a Jacobian counts as one
evaluation; the finite-difference equivalent f + n·J is reported beside), wall time. Medians over
seeds. The acceptance check of issue 5: optkit's best method with ≤ 10 000 evaluations reaches a
median normalised HV ≥ that of NSGA-II with 25 000 evaluations.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import optkit as ok
from optkit.problems import moo

BUDGET = 10_000
METHODS = {
    "pascoletti-serafini": dict(solver="pascoletti-serafini", points=500, inner="slsqp",
                                max_evals=BUDGET),
    "gap-fill": dict(solver="gap-fill", initial=60, points=600, delta=0.02, explore=2000,
                     inner="slsqp", max_evals=BUDGET),
    "epsilon-constraint": dict(solver="epsilon-constraint", points=400, inner="slsqp",
                               max_evals=BUDGET),
    "front-search@2.5k": dict(solver="front-search", points=400, inner="slsqp", max_evals=2_500),
    "nsga2@10k": dict(solver="nsga2", max_evals=10_000),
    "nsga2@25k": dict(solver="nsga2", max_evals=25_000),
}
PROBLEMS = ["ZDT1", "ZDT2", "ZDT3", "DTLZ2", "BNH"]
TIGHT = 2_500          # issue 12: ZDT3 at NSGA-II@25k's hypervolume with this many evaluations
MANY_BUDGET = 10_000   # many-objective DTLZ2: every method gets this many evaluations
MANY_METHODS = {"front-search": dict(solver="front-search", points=600, inner="slsqp"),
                "pascoletti-serafini": dict(solver="pascoletti-serafini", points=600,
                                            inner="slsqp"),
                "nsga3": None}  # pymoo NSGA-III, Das-Dennis directions (see run_many)


def run_one(problem: str, method: str, seed: int):
    mo, front = moo.problem(problem)
    cfg = dict(METHODS[method])
    solver = cfg.pop("solver")
    t0 = time.perf_counter()
    res = ok.solve(mo, solver, seed=seed, **cfg)
    wall = time.perf_counter() - t0
    return res, {
        "problem": problem, "method": method, "seed": seed,
        "hv": res.normalised_hypervolume(front) if len(res) else 0.0,
        "igd_plus": res.igd_plus(front) if len(res) else float("inf"),
        "points": len(res), "evals": res.counts.get("evaluations", 0),
        "fd_equiv": res.counts.get("fd_equivalent", 0), "time": wall,
        "complete": bool(res.complete),
    }


def run_many(m: int, method: str, seed: int, budget: int = MANY_BUDGET) -> dict:
    """DTLZ2 with m objectives (n = m + 9): one method, one seed, ``budget`` evaluations.
    NSGA-III is pymoo's, with Das-Dennis reference directions (6 partitions for m ≤ 5, 3 above;
    population = directions rounded up to a multiple of 4), evaluated through the model's counter."""
    mo, front = moo.problem("DTLZ2", m=m)
    t0 = time.perf_counter()
    if method == "nsga3":
        from pymoo.algorithms.moo.nsga3 import NSGA3
        from pymoo.optimize import minimize
        from pymoo.util.ref_dirs import get_reference_directions

        from optkit.solvers.nsga2 import _pymoo_problem

        mo.reset(None)
        dirs = get_reference_directions("das-dennis", m, n_partitions=6 if m <= 5 else 3)
        pop = int(np.ceil(len(dirs) / 4) * 4)
        res = minimize(_pymoo_problem(mo), NSGA3(ref_dirs=dirs, pop_size=pop),
                       ("n_eval", budget), seed=seed, verbose=False)
        F, evals = np.asarray(res.F), mo.counter.total
        from optkit.multiobjective.indicators import normalised_hypervolume

        hv = normalised_hypervolume(F, front)
        fd = evals
    else:
        cfg = dict(MANY_METHODS[method])
        res = ok.solve(mo, cfg.pop("solver"), seed=seed, max_evals=budget, **cfg)
        F, evals = res.F, res.counts.get("evaluations", 0)
        hv = res.normalised_hypervolume(front) if len(res) else 0.0
        fd = res.counts.get("fd_equivalent", 0)
    sphere = np.abs(np.linalg.norm(F, axis=1) - 1.0) if len(F) else np.zeros(1)
    return {"m": m, "method": method, "seed": seed, "hv": hv, "points": len(F), "evals": evals,
            "fd_equiv": fd, "time": time.perf_counter() - t0,
            "on_front": float(np.mean(sphere <= 1e-3))}


def report_many(rows: list[dict], ms: list[int], seeds: int) -> str:
    """Table of the many-objective runs and the acceptance verdict (front-search vs NSGA-III)."""
    import math

    lines = ["", f"Many objectives: DTLZ2 with n = m + 9, {MANY_BUDGET} evaluations for every "
             f"method, {seeds} seeds, medians. Exact normalised HV* = 1.1^m − (volume of the "
             "positive orthant of the unit ball); `on front` = share of points with "
             "|‖F‖ − 1| ≤ 1e-3.", "",
             "| m | method | median HV (norm.) | HV* | HV / NSGA-III | points | evaluations | "
             "FD-equivalent | on front | time (s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for m in ms:
        exact = 1.1 ** m - math.pi ** (m / 2) / (2 ** m * math.gamma(m / 2 + 1))
        base = [r for r in rows if r["m"] == m and r["method"] == "nsga3"]
        hv_base = _med(base, "hv") if base else None
        for meth in MANY_METHODS:
            rr = [r for r in rows if r["m"] == m and r["method"] == meth]
            if not rr:
                continue
            hv = _med(rr, "hv")
            ratio = f"{hv / hv_base:.4f}" if hv_base else "–"
            lines.append(f"| {m} | {meth} | {hv:.4f} | {exact:.4f} | {ratio} | "
                         f"{_med(rr, 'points'):.0f} | {_med(rr, 'evals'):.0f} | "
                         f"{_med(rr, 'fd_equiv'):.0f} | {_med(rr, 'on_front'):.2f} | "
                         f"{_med(rr, 'time'):.1f} |")
        fs = [r for r in rows if r["m"] == m and r["method"] == "front-search"]
        if fs and hv_base is not None:
            hv = _med(fs, "hv")
            verdicts.append(f"- DTLZ2 m = {m}: front-search median HV {hv:.4f} "
                            f"{'≥' if hv >= hv_base else '<'} NSGA-III {hv_base:.4f} at "
                            f"{MANY_BUDGET} evaluations → {'PASS' if hv >= hv_base else 'FAIL'}")
    if verdicts:
        lines += ["", "Acceptance (same budget, same run):", ""] + verdicts
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="ZDT1 and BNH, PS vs NSGA-II@25k")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--problems", nargs="*")
    ap.add_argument("--methods", nargs="*")
    ap.add_argument("--out", default=None, help="write the Markdown tables here")
    ap.add_argument("--plots", default=None, help="folder for pareto_<problem>.png")
    ap.add_argument("--many", nargs="*", type=int, default=None,
                    help="numbers of objectives for the many-objective DTLZ2 table "
                         "(default 5; --many with no value skips it)")
    args = ap.parse_args(argv)
    problems = args.problems or (["ZDT1", "BNH"] if args.quick else PROBLEMS)
    methods = args.methods or (["pascoletti-serafini", "nsga2@25k"] if args.quick else
                               ["pascoletti-serafini", "gap-fill", "epsilon-constraint",
                                "front-search@2.5k", "nsga2@10k", "nsga2@25k"])
    rows, fronts = [], {}
    for p in problems:
        for m in methods:
            for s in range(args.seeds):
                res, row = run_one(p, m, s)
                rows.append(row)
                if s == 0:
                    fronts[(p, m)] = res
                print(f"{p:6s} {m:22s} seed {s}: HV {row['hv']:.4f} IGD+ {row['igd_plus']:.2e} "
                      f"pts {row['points']:4d} evals {row['evals']:6d} {row['time']:.1f}s",
                      flush=True)
    md = report(rows, problems, methods, args)
    ms = [5] if args.many is None and not args.quick else (args.many or [])
    many = []
    for m in ms:
        for meth in MANY_METHODS:
            for s in range(args.seeds):
                row = run_many(m, meth, s)
                many.append(row)
                print(f"DTLZ2 m={m} {meth:20s} seed {s}: HV {row['hv']:.4f} pts {row['points']} "
                      f"evals {row['evals']} on-front {row['on_front']:.2f} {row['time']:.1f}s",
                      flush=True)
    if many:
        md += report_many(many, ms, args.seeds)
    print(md)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(md)
    if args.plots:
        plot_fronts(fronts, problems, methods, Path(args.plots))
    return 0


def _med(rows, key):
    return float(np.median([r[key] for r in rows]))


def report(rows, problems, methods, args) -> str:
    cmd = "python benchmarks/pareto.py" + (" --quick" if args.quick else "") + \
        (f" --seeds {args.seeds}" if args.seeds != 5 else "")
    lines = [f"Command: `{cmd}` (same run for every row; {args.seeds} seeds, medians; "
             f"machine: 2 shared cores, BLAS single-threaded).", "",
             "| problem | method | budget | median HV (norm.) | HV / NSGA-II@25k | median IGD+ | "
             "points | evaluations | FD-equivalent | time (s) | complete |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    verdicts: list[str] = []
    tight_verdicts: list[str] = []
    for p in problems:
        base = [r for r in rows if r["problem"] == p and r["method"] == "nsga2@25k"]
        hv_base = _med(base, "hv") if base else None
        best = tight = None
        for m in methods:
            rr = [r for r in rows if r["problem"] == p and r["method"] == m]
            if not rr:
                continue
            hv = _med(rr, "hv")
            budget = METHODS[m].get("max_evals")
            ratio = f"{hv / hv_base:.4f}" if hv_base else "–"
            lines.append(f"| {p} | {m} | {budget} | {hv:.4f} | {ratio} | {_med(rr, 'igd_plus'):.2e} | "
                         f"{_med(rr, 'points'):.0f} | {_med(rr, 'evals'):.0f} | "
                         f"{_med(rr, 'fd_equiv'):.0f} | {_med(rr, 'time'):.1f} | "
                         f"{sum(r['complete'] for r in rr)}/{len(rr)} |")
            ours, evals = not m.startswith("nsga2"), max(r["evals"] for r in rr)
            if ours and evals <= BUDGET and (best is None or hv > best[1]):
                best = (m, hv)
            if ours and evals <= TIGHT and (tight is None or hv > tight[1]):
                tight = (m, hv)
        for pick, out in ((best, verdicts), (tight, tight_verdicts)):
            if hv_base is not None and pick is not None:
                ok_ = pick[1] >= hv_base
                out.append(f"- {p}: best optkit method `{pick[0]}` median HV {pick[1]:.4f} "
                           f"{'≥' if ok_ else '<'} NSGA-II@25k {hv_base:.4f} → "
                           f"{'PASS' if ok_ else 'FAIL'}")
    if verdicts:
        lines += ["", "Acceptance (≤ 10 000 evaluations vs NSGA-II with 25 000):", ""] + verdicts
    if tight_verdicts:
        lines += ["", f"Acceptance (≤ {TIGHT} evaluations, gradients as one, vs NSGA-II with "
                  "25 000):", ""] + tight_verdicts
    return "\n".join(lines) + "\n"


def plot_fronts(fronts, problems, methods, folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    for p in problems:
        front = moo.reference_front(p)
        m3 = front.shape[1] == 3
        fig = plt.figure(figsize=(5.5, 4.4))
        ax = fig.add_subplot(111, projection="3d" if m3 else None)
        for m in [m for m in methods if (p, m) in fronts and m != "nsga2@10k"]:
            fronts[(p, m)].plot(reference=front if m == methods[0] else None, ax=ax,
                                label=f"{m} ({len(fronts[(p, m)])} pts)", s=6)
        ax.set_title(f"{p}: fronts (seed 0)")
        fig.tight_layout()
        fig.savefig(folder / f"pareto_{p.lower()}.png", dpi=100)
        plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
