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
reported; learners are run for learner seeds 0–9 and the median, range and per-seed ratios are
given. Tsallis-INF's η₀ is not tuned on these sequences: ``--sweep`` replays η₀ ∈ {1.75, …, 3}
over learner seeds 100–199 on the heat sequence and on a shifted-Laplacian sequence with another
instance seed (``laplacian-tune``: instance seed 1, m = 70), the sets η₀ = 2.5 was chosen on.
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
SEEDS = tuple(range(10))
SWEEP_SEEDS = tuple(range(100, 200))
SWEEP_ETA0 = (1.75, 2.0, 2.25, 2.5, 2.75, 3.0)
C_RANGES = {"laplacian": (0.05, 0.5), "laplacian-wide": (0.02, 1.0), "laplacian-tune": (0.05, 0.5)}
INSTANCE_SEEDS = {"laplacian-tune": 1}  # the tuning sequence: not the benchmark's instances


def family(name: str, T: int, m: int, seed: int):
    """The (system, context) generator of a family; the context ChebCB sees."""
    seed = INSTANCE_SEEDS.get(name, seed)
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
        "Tsallis-INF, η₀ = 2 (the paper's)": lambda s: Tuner(space, "tsallis-inf", seed=s, eta0=2.0),
        "Tsallis-INF, before (losses / running max, η₀ = 4)":
            lambda s: Tuner(space, "tsallis-inf", seed=s, eta0=4.0, estimator="baseline",
                            normalise="loss"),
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
            if s == seeds[0] and "," not in name:  # the variants' curves stay off the plot
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


#: the sketch tuners compared with the untuned defaults (ω = 1, adaptive block size)
SKETCH_TUNERS = {
    "tuned ω": dict(relaxations=(0.9, 1.0, 1.1, 1.2), block_sizes=(None,)),
    "tuned block {adaptive, full}": dict(relaxations=(1.0,), block_sizes=(None, "full")),
}


def sketch_runs(pde_sizes=(32,), seed: int = 0) -> dict:
    """Sketch-newton untuned (defaults) against shared sketch tuners (Tsallis-INF, seed ``seed``,
    one tuner per family shared by all its Newton systems and instances; arms in
    :data:`SKETCH_TUNERS`), on hs-eq and the PDE family: total sketch steps, problems solved
    (is_solved) and seconds."""
    from optkit.problems import hs_eq, pde_control
    from optkit.tuning.sketch import sketch_tuner

    out = {}
    for fam, models in (("hs-eq", [(i.name, i.build) for i in hs_eq.make_instances()]),
                        ("pde-control", [(f"N={N}", lambda N=N: pde_control.build(N))
                                         for N in pde_sizes])):
        tuners = {k: sketch_tuner(seed=seed, **v) for k, v in SKETCH_TUNERS.items()}
        rec: dict = {"n": 0, "runs": {k: [0, 0, 0.0] for k in ["default", *tuners]}}
        for name, build in models:
            model = build()
            for key in rec["runs"]:
                kw = {} if key == "default" else {"sketch_tuner": tuners[key]}
                t0 = time.perf_counter()
                res = ok.solve(model, "sketch-newton", **kw)
                row = rec["runs"][key]
                row[0] += int(res.extra.get("sketch_steps") or 0)
                row[1] += int(res.is_solved())
                row[2] += time.perf_counter() - t0
            rec["n"] += 1
            print(fam, name, rec, flush=True)
        out[fam] = rec
    return out


def sketch_md(rec: dict) -> list[str]:
    lines = ["### Sketch-newton: sketch tuners across Newton systems and instances", "",
             "Tsallis-INF (seed 0), one tuner per family shared by all the Newton systems of all its "
             "instances (`sketch_tuner=`), against the untuned defaults (ω = 1, adaptive block): "
             "over `sketch_relaxation` ∈ {0.9, 1.0, 1.1, 1.2} with the adaptive block, and over "
             "`sketch_block_size` ∈ {adaptive, `\"full\"`} with ω = 1 (`\"full\"`: the whole "
             "system in one sketch, so one step is one direct solve). Seconds are indicative: the "
             "default runs first on each instance and pays its first-call costs.", "",
             "| family | problems | tuner | sketch steps | / default | solved | seconds |",
             "|---|---:|---|---:|---:|---:|---:|"]
    verdicts = {}
    for fam, r in rec.items():
        d = r["runs"]["default"]
        for key, (steps, solved, secs) in r["runs"].items():
            lines.append(f"| {fam} | {r['n']} | {key} | {steps:,} | {steps / max(d[0], 1):.2f} | "
                         f"{solved} | {secs:.1f} |")
            if key != "default":
                verdicts.setdefault(key, []).append(steps < d[0] and solved >= d[1])
    for key, oks in verdicts.items():
        lines += ["", f"Fewer sketch steps than the defaults on every family without solving fewer "
                  f"problems, `{key}`: {'yes' if all(oks) else '**no**'}."]
    lines += ["", "ω = 1 with the adaptive block size is the best relaxation on most hs-eq "
              "problems, so exploring ω only adds steps (the sketch tuner keeps Tsallis-INF's "
              "running-max losses, η₀ = 4: with the running-mean defaults chosen for SOR it took "
              "1.08× the default steps on hs-eq). The block tuner learns that on these sizes a "
              "direct solve (`\"full\"`) is the cheapest inner solve: it is the exact Newton "
              "step, so the sketching itself does not pay here (docs/sketch_newton.md: the "
              "adaptive size is already beyond the paper, a probe plus a direct solve)."]
    return lines + [""]


NOTES = [
    "### Reading", "",
    "- The issue's acceptance run is the first table (T = 1000, n = 10⁴): every learner seed "
    "0–9 of Tsallis-INF is within 1.15× of the best fixed ω and below 0.5× of ω = 1 (the "
    "per-seed list). What changed (issue 13, second pass): losses are the cost over the running "
    "mean cost, ℓ = cₜ/c̄ₜ, and the estimate is (ℓ − 1)/p on every round — as in the authors' "
    "reference learner — with η₀ = 2.5. Before, losses were cₜ divided by the largest cost seen "
    "so far, which grows 5–20× over the first 100 rounds, so the same cost was a loss of 1 "
    "early and of ~0.1 later, and the effective learning rate fell with the running max; "
    "seeds 0 and 8 locked into ω = 1.3 and 1.7 (≥ 475 of their last 500 choices; worst 1.47× on "
    "these tables, the 'before' row).",
    "- η₀ was chosen on the heat sequence and on a Laplacian sequence with another instance seed "
    "(the sweep table), never on the sequences of the tables; the paper's η₀ = 2 is shown as its "
    "own row: on the acceptance sequence its worst seed is just above 1.15×.",
    "- Wide shifts (second table): the best fixed ω is itself 0.50× of ω = 1, so no "
    "non-contextual policy can reach 0.5×; this is where the context pays — the "
    "instance-optimal ω is 0.72× of the best fixed one and ChebCB gets 0.79×.",
    "- Heat steps (n = 2 500): Δt and κ change every step and the sequence is not stationary; "
    "Tsallis-INF is now within 1.07–1.14× of the best fixed ω (before: 1.14–1.35×); ChebCB, "
    "given h²/Δt as context, is within 1.05× of the instance-optimal choice.",
    "- Of the regret that remains, 40–50 % is in the first 200 rounds (on laplacian-tune: "
    "exploring 10 arms whose totals differ by more than 3×), the rest mixing among ω = 1.4, 1.5, "
    "1.6, which are within "
    "1.11× of each other, while one ω's cost varies up to ~4× with the shift (ω = 1.5: 48–184 "
    "iterations): a bandit that sees one cost per instance does not separate them in 1000 "
    "rounds.",
    "- Seconds are wall time on a shared 2-core machine under heavy load (the reference tables "
    "solve 10 000 systems each); the live 200-system sequences give the SOR throughput: 20–40 "
    "ms per system at n = 10⁴ (runs under different load), i.e. under a minute per 1000 systems.",
    ""]


def acceptance_md(ev: dict, T: int, n: int) -> list[str]:
    """The issue's three ratios for this family, measured (median of the learner seeds)."""
    totals = ev["learners"]["Tsallis-INF"]
    ts, worst = statistics.median(totals), max(totals)
    cb = statistics.median(ev["learners"]["ChebCB"])
    per_seed = ", ".join(f"{t / ev['best fixed']:.3f}" for t in totals)
    ok_ = lambda c: "yes" if c else "**no**"  # noqa: E731
    return [f"Acceptance ratios (T = {T}, n = {n}, learner seeds {SEEDS[0]}–{SEEDS[-1]}): "
            f"Tsallis-INF / best fixed = {ts / ev['best fixed']:.3f} median, "
            f"{worst / ev['best fixed']:.3f} worst seed (every seed ≤ 1.15: "
            f"{ok_(worst <= 1.15 * ev['best fixed'])}; per seed {per_seed}); Tsallis-INF / ω = 1 = "
            f"{ts / ev['omega=1']:.3f} median, {worst / ev['omega=1']:.3f} worst (≤ 0.5: "
            f"{ok_(worst <= 0.5 * ev['omega=1'])}); ChebCB / instance-optimal = "
            f"{cb / ev['instance-optimal']:.3f} (≤ 1.15: {ok_(cb <= 1.15 * ev['instance-optimal'])}).",
            ""]


def load_table(name: str, T: int, m: int, cache: Path):
    """The cached reference table of a family (computed and cached if missing)."""
    f = cache / f"{name}_T{T}_m{m}.npz"
    if f.exists():
        z = np.load(f)
        return z["costs"], z["contexts"], float(z["seconds"])
    costs, contexts, secs = reference_table(name, T, m)
    np.savez(f, costs=costs, contexts=contexts, seconds=secs)
    return costs, contexts, secs


def sweep(tables: dict, etas=SWEEP_ETA0, seeds=SWEEP_SEEDS) -> dict:
    """η₀ → family → sorted per-seed ratios (Tsallis-INF total / best fixed), replayed."""
    space = Space(OMEGAS)
    out = {}
    for eta in etas:
        out[eta] = {}
        for name, costs in tables.items():
            best = costs.sum(axis=0).min()
            out[eta][name] = sorted(replay(Tuner(space, "tsallis-inf", seed=s, eta0=eta),
                                           costs).total_cost / best for s in seeds)
        print("sweep", eta, {k: round(float(np.percentile(v, 90)), 3) for k, v in out[eta].items()},
              flush=True)
    return out


def sweep_md(res: dict, sizes: dict) -> list[str]:
    names = list(next(iter(res.values())))
    lines = ["### Choosing Tsallis-INF's η₀ (not on the sequences above)", "",
             f"`python benchmarks/relax.py --sweep`: Tsallis-INF total / best fixed ω over learner "
             f"seeds {SWEEP_SEEDS[0]}–{SWEEP_SEEDS[-1]}, replayed on the heat sequence and on "
             f"`laplacian-tune` (shifted Laplacians, c ~ U[0.05, 0.5], instance seed 1 — the "
             f"benchmark's are seed 0 — m = {sizes.get('laplacian-tune', '?')}). The default "
             "η₀ = 2.5 has the lowest 90th percentile on the heat sequence and the second lowest "
             "on laplacian-tune; 2 is the Zimmert–Seldin and Khodak et al. value. Every seed "
             "within 1.15× is not a guarantee: at η₀ = 2.5 the worst of these "
             f"{len(SWEEP_SEEDS)} seeds is " + ", ".join(
                 f"{max(v):.2f}× ({n})" for n, v in res.get(2.5, {}).items()) +
             " and the 95th percentile " + ", ".join(
                 f"{np.percentile(v, 95):.2f}× ({n})" for n, v in res.get(2.5, {}).items()) + ".",
             "",
             "| η₀ | " + " | ".join(f"{n}: median / p90 / p95 / worst" for n in names) + " |",
             "|---:|" + "---:|" * len(names)]
    for eta, fam in res.items():
        cells = [" / ".join(f"{np.percentile(v, q):.3f}" for q in (50, 90, 95, 100))
                 for v in fam.values()]
        lines.append(f"| {eta:g} | " + " | ".join(cells) + " |")
    return lines + [""]


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
        lines.append(f"| {lname} (median of seeds {SEEDS[0]}–{SEEDS[-1]}; range "
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
    ap.add_argument("--sweep", action="store_true",
                    help="also replay the η₀ sweep on the tuning sequences (heat, laplacian-tune)")
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
        costs, contexts, secs = load_table(name, T, m, cache)
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
    if args.sweep:
        m_tune = args.m or (50 if args.quick else 70)
        tables = {"heat": load_table("heat", T, m_heat, cache)[0],
                  "laplacian-tune": load_table("laplacian-tune", T, m_tune, cache)[0]}
        md += sweep_md(sweep(tables), {"laplacian-tune": m_tune})
    if not args.no_sketch:
        f = cache / "sketch_v2.json"
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
            f"`python benchmarks/relax.py{' --quick' if args.quick else ''}"
            f"{' --sweep' if args.sweep else ''}` — grid ω ∈ "
            f"{list(OMEGAS.values)}, reference run seed 0, learner seeds {SEEDS[0]}–{SEEDS[-1]}"
            f"{' (`--sweep`: η₀ sweep on the tuning sequences)' if args.sweep else ''}. "
            "See [tuning](tuning.md) for the method.", ""]
    Path(args.out).write_text("\n".join(head + md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
