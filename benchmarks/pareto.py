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

import optkit as ok  # noqa: E402
from optkit.problems import moo  # noqa: E402

BUDGET = 10_000
METHODS = {
    "pascoletti-serafini": dict(solver="pascoletti-serafini", points=500, inner="slsqp",
                                max_evals=BUDGET),
    "gap-fill": dict(solver="gap-fill", initial=60, points=600, delta=0.02, explore=2000,
                     inner="slsqp", max_evals=BUDGET),
    "epsilon-constraint": dict(solver="epsilon-constraint", points=400, inner="slsqp",
                               max_evals=BUDGET),
    "nsga2@10k": dict(solver="nsga2", max_evals=10_000),
    "nsga2@25k": dict(solver="nsga2", max_evals=25_000),
}
PROBLEMS = ["ZDT1", "ZDT2", "ZDT3", "DTLZ2", "BNH"]


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="ZDT1 and BNH, PS vs NSGA-II@25k")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--problems", nargs="*")
    ap.add_argument("--methods", nargs="*")
    ap.add_argument("--out", default=None, help="write the Markdown tables here")
    ap.add_argument("--plots", default=None, help="folder for pareto_<problem>.png")
    args = ap.parse_args(argv)
    problems = args.problems or (["ZDT1", "BNH"] if args.quick else PROBLEMS)
    methods = args.methods or (["pascoletti-serafini", "nsga2@25k"] if args.quick else
                               ["pascoletti-serafini", "gap-fill", "epsilon-constraint",
                                "nsga2@10k", "nsga2@25k"])
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
    verdicts = []
    for p in problems:
        base = [r for r in rows if r["problem"] == p and r["method"] == "nsga2@25k"]
        hv_base = _med(base, "hv") if base else None
        best = None
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
            if not m.startswith("nsga2") and max(r["evals"] for r in rr) <= BUDGET:
                if best is None or hv > best[1]:
                    best = (m, hv)
        if hv_base is not None and best is not None:
            ok_ = best[1] >= hv_base
            verdicts.append(f"- {p}: best optkit method `{best[0]}` median HV {best[1]:.4f} "
                            f"{'≥' if ok_ else '<'} NSGA-II@25k {hv_base:.4f} → "
                            f"{'PASS' if ok_ else 'FAIL'}")
    if verdicts:
        lines += ["", "Acceptance (≤ 10 000 evaluations vs NSGA-II with 25 000):", ""] + verdicts
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
