"""Learning to Relax (Khodak, Chow, Balcan, Talwalkar, ICLR 2024) reproduced with optkit's SOR backend.

    python benchmarks/relax.py --quick        # T = 200, m = 50 (n = 2 500): well under a minute
    python benchmarks/relax.py                # T = 1000, m = 100 (n = 10⁴): the acceptance run

Two sequences of sparse SPD systems (:mod:`optkit.tuning.families`): shifted 2-D Laplacians
(L + cₜI, cₜ uniform) and implicit-Euler steps of a heat equation with varying coefficients. For
each, every ω of the grid is run on every instance once (``ok.solve(system, "sor", omega=ω)``,
tol 1e-8): that reference table gives (a) ω = 1 (Gauss–Seidel), (b) the best fixed ω in
hindsight, (c) the instance-optimal ω per instance. The learners (d) Tsallis-INF and (e) ChebCB
(context: the shift) then run on the sequence with bandit feedback (replayed from the table: SOR
is deterministic, so the cost a learner observes is the table entry of the ω it picked — checked
by one live ``ok.solve_sequence`` run per family, whose costs must equal the replay's). Seeds are
reported; learners are run for several seeds and the median and range are given.
Writes docs/bench_relax.md and docs/img/relax_cumulative.png.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import optkit as ok
from optkit.tuning import Interval, Space, Tuner, replay
from optkit.tuning.families import heat_steps, shifted_laplacians

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-8
OMEGAS = Interval("omega", 1.0, 1.9, 10)   # ω ∈ {1.0, 1.1, …, 1.9}
SEEDS = (0, 1, 2, 3, 4)
C_RANGES = {"laplacian": (0.05, 0.5), "laplacian-wide": (0.02, 1.0)}


def family(name: str, T: int, m: int, seed: int):
    """The (system, context) generator of a family; the context ChebCB sees."""
    if name in C_RANGES:
        return shifted_laplacians(T, m=m, c_range=C_RANGES[name], seed=seed)
    return heat_steps(T, m=m, seed=seed)


def reference_table(name: str, T: int, m: int, seed: int = 0, max_iter: int = 20_000):
    """(costs T × d, contexts, seconds): SOR iterations of every grid ω on every instance."""
    space = Space(OMEGAS)
    costs = np.zeros((T, len(space)))
    contexts = []
    t0 = time.perf_counter()
    for t, (system, ctx) in enumerate(family(name, T, m, seed)):
        contexts.append(ctx)
        for i, arm in enumerate(space.arms):
            res = ok.solve(system, "sor", tol=TOL, max_iter=max_iter, **arm)
            costs[t, i] = res.iterations if res.is_solved() else max_iter
    return costs, np.asarray(contexts), time.perf_counter() - t0


def learners(contexts: np.ndarray) -> dict:
    """name → factory(seed) of the learners compared (ChebCB on log-context range)."""
    lo, hi = float(np.min(contexts)), float(np.max(contexts))
    space = Space(OMEGAS)
    return {
        "Tsallis-INF": lambda s: Tuner(space, "tsallis-inf", seed=s),
        "ChebCB": lambda s: Tuner(space, "chebcb", seed=s, context_range=(lo, hi)),
        "random": lambda s: Tuner(space, "random", seed=s),
    }


def evaluate(costs: np.ndarray, contexts: np.ndarray, seeds=SEEDS) -> dict:
    """Totals of the baselines and, per learner, the totals over seeds and one cumulative curve."""
    space = Space(OMEGAS)
    fixed_totals = costs.sum(axis=0)
    best = int(np.argmin(fixed_totals))
    out = {"omega=1": float(fixed_totals[space.index({"omega": 1.0})]),
           "best fixed": float(fixed_totals[best]), "best omega": space.arms[best]["omega"],
           "instance-optimal": float(costs.min(axis=1).sum()), "learners": {}, "curves": {}}
    out["curves"]["omega=1"] = np.cumsum(costs[:, space.index({"omega": 1.0})])
    out["curves"]["best fixed"] = np.cumsum(costs[:, best])
    out["curves"]["instance-optimal"] = np.cumsum(costs.min(axis=1))
    for name, make in learners(contexts).items():
        totals = []
        for s in seeds:
            tuner = replay(make(s), costs, contexts if name == "ChebCB" else None)
            totals.append(tuner.total_cost)
            if s == seeds[0]:
                out["curves"][f"{name} (seed {s})"] = np.cumsum(tuner.costs)
        out["learners"][name] = totals
    return out


def live_check(name: str, T: int, m: int, costs: np.ndarray, contexts: np.ndarray, seed: int = 0):
    """One live ok.solve_sequence run of ChebCB: its costs must equal the replayed ones."""
    make = learners(contexts)["ChebCB"]
    t0 = time.perf_counter()
    seq = ok.solve_sequence(family(name, T, m, 0), "sor", tune=make(seed), tol=TOL,
                            max_iter=20_000)  # items are (system, context) pairs
    live_s = time.perf_counter() - t0
    replayed = replay(make(seed), costs, contexts)
    same = bool(np.array_equal(np.asarray(seq.costs), np.asarray(replayed.costs)))
    return {"same": same, "seconds": live_s, "total": float(sum(seq.costs)),
            "solved": sum(r.is_solved() for r in seq.results), "T": T}


def sketch_runs(pde_sizes=(32,), seed: int = 0) -> dict:
    """Sketch-newton untuned (defaults) against a shared sketch tuner (Tsallis-INF over
    ω ∈ {0.9, 1.0, 1.1, 1.2} with the adaptive block size), on hs-eq and the PDE family: total
    sketch steps and problems solved (is_solved)."""
    from optkit.problems import hs_eq, pde_control
    from optkit.tuning.sketch import sketch_tuner

    out = {}
    for fam, models in (("hs-eq", [(i.name, i.build) for i in hs_eq.make_instances()]),
                        ("pde-control", [(f"N={N}", lambda N=N: pde_control.build(N))
                                         for N in pde_sizes])):
        tuner = sketch_tuner(relaxations=(0.9, 1.0, 1.1, 1.2), block_sizes=(None,), seed=seed)
        rec = {"default": [0, 0], "tuned": [0, 0], "n": 0, "seconds": [0.0, 0.0]}
        for name, build in models:
            model = build()
            for k, kw in enumerate(({}, {"sketch_tuner": tuner})):
                t0 = time.perf_counter()
                res = ok.solve(model, "sketch-newton", **kw)
                key = "default" if k == 0 else "tuned"
                rec[key][0] += int(res.extra.get("sketch_steps") or 0)
                rec[key][1] += int(res.is_solved())
                rec["seconds"][k] += time.perf_counter() - t0
            rec["n"] += 1
            print(fam, name, rec, flush=True)
        out[fam] = rec
    return out


def sketch_md(rec: dict) -> list[str]:
    lines = ["### Sketch-newton: a sketch tuner across Newton systems and instances", "",
             "Tsallis-INF (seed 0) over `sketch_relaxation` ∈ {0.9, 1.0, 1.1, 1.2} with the adaptive "
             "block size, one tuner shared by all the Newton systems of all the instances of a "
             "family (`sketch_tuner=`), against the untuned defaults (ω = 1, adaptive block).", "",
             "| family | problems | sketch steps, default | sketch steps, tuned | tuned / default | "
             "solved, default | solved, tuned |", "|---|---:|---:|---:|---:|---:|---:|"]
    for fam, r in rec.items():
        d, t = r["default"], r["tuned"]
        lines.append(f"| {fam} | {r['n']} | {d[0]:,} | {t[0]:,} | {t[0] / max(d[0], 1):.2f} | "
                     f"{d[1]} | {t[1]} |")
    return lines + [""]


NOTES = [
    "### Reading", "",
    "- The issue's acceptance run is the first table (T = 1000, n = 10⁴). Tsallis-INF's ratio is "
    "the median over its five seeds; single seeds range more widely (the per-seed list): the cost "
    "of an instance depends far more on its shift than on ω, so the importance-weighted loss "
    "estimates are noisy and T = 1000 rounds over d = 10 arms is short for a √(dT) regret.",
    "- Wide shifts (second table): the best fixed ω is itself 0.50× of ω = 1, so no "
    "non-contextual policy can reach 0.5×; this is where the context pays — the "
    "instance-optimal ω is 0.72× of the best fixed one and ChebCB gets 0.79×.",
    "- Heat steps (n = 2 500): Δt and κ change every step, the sequence is not stationary and "
    "Tsallis-INF stays 1.23× above the best fixed ω; ChebCB, given h²/Δt as context, is within "
    "1.05× of the instance-optimal choice.",
    "- Seconds are wall time on a shared 2-core machine under heavy load (the reference tables "
    "solve 10 000 systems each); the live 200-system sequences give the SOR throughput: 20–40 "
    "ms per system at n = 10⁴ (runs under different load), i.e. under a minute per 1000 systems.",
    "- Sketch-newton: a tuner over ω and block size does **not** beat the defaults: ω = 1 with the "
    "adaptive block size is the best arm on most hs-eq problems (a fixed block size costs up to "
    "100× more steps on some, e.g. HS47), so exploration only adds steps (+4 % on hs-eq, +1 % on "
    "PDE N = 32, same problems solved). The hook and the adapter work; the acceptance item is "
    "not met.", ""]


def acceptance_md(ev: dict, T: int, n: int) -> list[str]:
    """The issue's three ratios for this family, measured (median of the learner seeds)."""
    ts = statistics.median(ev["learners"]["Tsallis-INF"])
    cb = statistics.median(ev["learners"]["ChebCB"])
    per_seed = ", ".join(f"{t / ev['best fixed']:.2f}" for t in ev["learners"]["Tsallis-INF"])
    ok_ = lambda c: "yes" if c else "**no**"  # noqa: E731
    return [f"Acceptance ratios (T = {T}, n = {n}): Tsallis-INF / best fixed = "
            f"{ts / ev['best fixed']:.3f} (≤ 1.15: {ok_(ts <= 1.15 * ev['best fixed'])}; per seed "
            f"{per_seed}); Tsallis-INF / ω = 1 = {ts / ev['omega=1']:.3f} (≤ 0.5: "
            f"{ok_(ts <= 0.5 * ev['omega=1'])}); ChebCB / instance-optimal = "
            f"{cb / ev['instance-optimal']:.3f} (≤ 1.15: {ok_(cb <= 1.15 * ev['instance-optimal'])}).",
            ""]


def table_md(name: str, ev: dict, T: int, n: int, seconds: float) -> list[str]:
    gs, bf, io = ev["omega=1"], ev["best fixed"], ev["instance-optimal"]
    lines = [f"### {name}: T = {T} systems, n = {n}", "",
             f"Reference table ({len(Space(OMEGAS))} values of ω × {T} systems, SOR to "
             f"‖r‖/‖b‖ ≤ {TOL:g}): {seconds:.0f} s.", "",
             "| policy | total SOR iterations | / ω = 1 | / best fixed | / instance-optimal |",
             "|---|---:|---:|---:|---:|",
             f"| ω = 1 (Gauss–Seidel) | {gs:,.0f} | 1.00 | {gs / bf:.2f} | {gs / io:.2f} |",
             f"| best fixed ω = {ev['best omega']} (hindsight) | {bf:,.0f} | {bf / gs:.2f} | 1.00 | "
             f"{bf / io:.2f} |",
             f"| instance-optimal ω (hindsight) | {io:,.0f} | {io / gs:.2f} | {io / bf:.2f} | 1.00 |"]
    for lname, totals in ev["learners"].items():
        med = statistics.median(totals)
        lines.append(f"| {lname} (median of seeds {', '.join(map(str, SEEDS))}; range "
                     f"{min(totals):,.0f}–{max(totals):,.0f}) | {med:,.0f} | {med / gs:.2f} | "
                     f"{med / bf:.2f} | {med / io:.2f} |")
    return lines + [""]


def plot(evs: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(evs), figsize=(6 * len(evs), 4))
    for ax, (name, ev) in zip(np.atleast_1d(axes), evs.items()):
        for label, curve in ev["curves"].items():
            ax.plot(np.arange(1, len(curve) + 1), curve, label=label)
        ax.set_xlabel("instance t")
        ax.set_ylabel("cumulative SOR iterations")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--T", type=int)
    ap.add_argument("--m", type=int)
    ap.add_argument("--no-sketch", action="store_true", help="skip the sketch-newton part")
    ap.add_argument("--cache", default=str(ROOT / "report" / "relax_cache"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "bench_relax.md"))
    args = ap.parse_args(argv)
    T = args.T or (200 if args.quick else 1000)
    m_lap = args.m or (50 if args.quick else 100)
    m_heat = args.m or 50  # heat steps: n = 2 500 (the acceptance size n >= 10⁴ is the Laplacians')
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    evs, md = {}, []
    for name, title in (("laplacian", "Shifted 2-D Laplacians (L + cI, c ~ U[0.05, 0.5])"),
                        ("laplacian-wide", "Shifted 2-D Laplacians, wide shifts (c ~ U[0.02, 1])"),
                        ("heat", "Heat equation, implicit Euler with varying κ and Δt")):
        m = m_heat if name == "heat" else m_lap
        f = cache / f"{name}_T{T}_m{m}.npz"
        if f.exists():
            z = np.load(f)
            costs, contexts, secs = z["costs"], z["contexts"], float(z["seconds"])
        else:
            costs, contexts, secs = reference_table(name, T, m)
            np.savez(f, costs=costs, contexts=contexts, seconds=secs)
        ev = evaluate(costs, contexts)
        evs[title] = ev
        md += table_md(title, ev, T, m * m, secs)
        md += acceptance_md(ev, T, m * m)
        live_T = min(T, 200)
        chk = live_check(name, live_T, m, costs[:live_T], contexts[:live_T])
        md.append(f"Live check: `ok.solve_sequence` with ChebCB (seed 0) on the first {live_T} "
                  f"systems: {chk['solved']}/{live_T} solved and verified, {chk['total']:,.0f} "
                  f"iterations in {chk['seconds']:.1f} s; costs identical to the replay: "
                  f"{'yes' if chk['same'] else 'NO'}.")
        md.append("")
        print(json.dumps({"family": name, "omega=1": ev["omega=1"], "best": ev["best fixed"],
                          "best_omega": ev["best omega"], "inst": ev["instance-optimal"],
                          "learners": ev["learners"], "live": chk}), flush=True)
    if not args.no_sketch:
        f = cache / "sketch.json"
        rec = json.loads(f.read_text()) if f.exists() else sketch_runs()
        f.write_text(json.dumps(rec))
        md += sketch_md(rec)
    md += NOTES
    img = ROOT / "docs" / "img" / "relax_cumulative.png"
    try:
        plot(evs, img)
        md.append("![cumulative cost](img/relax_cumulative.png)")
    except ImportError:
        md.append("(matplotlib missing: no plot)")
    head = ["# Benchmark: learning SOR's ω across a sequence of systems", "",
            f"`python benchmarks/relax.py{' --quick' if args.quick else ''}` — grid ω ∈ "
            f"{list(OMEGAS.values)}, reference run seed 0, learner seeds {list(SEEDS)}. "
            "See [tuning](tuning.md) for the method.", ""]
    Path(args.out).write_text("\n".join(head + md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
