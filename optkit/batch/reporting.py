"""Reports of a batch store: Markdown, PNG and one self-contained HTML page.

Sections: overview; per solver label the success rate (correct answers / jobs), the counts of
correct / wrong / failed outcomes and the shifted geometric mean of time (shift 10 s, a job
without a correct answer charged at its time limit); the status counts; Dolan–Moré performance
profiles on solve time; Moré–Wild data profiles from per-iteration histories (when any backend
recorded them); and the correctness table of every instance against its expected outcome
(rules in :mod:`optkit.batch.outcomes`). A "problem" is an (instance, seed) pair; a "solver" is a
label (backend name plus settings label).
"""
from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from .outcomes import solved, timed, verdict
from .profiles import (EVAL_KEYS, data_profile, history_trace, performance_profile,
                       shifted_geometric_mean)
from .store import Store

STATUS_COLORS = {
    "OPTIMAL": "#2e8b57", "LOCALLY_OPTIMAL": "#66bb6a", "INFEASIBLE": "#4a78c2",
    "LOCALLY_INFEASIBLE": "#7fa6e0", "INFEASIBLE_OR_UNBOUNDED": "#6c8ebf", "UNBOUNDED": "#8e6cc0",
    "READ_ERROR": "#9e9e9e", "BAD_DATA": "#bdbdbd", "UNSUPPORTED": "#d6d6d6",
    "INVALID_PROBLEM": "#c7b299", "ITERATION_LIMIT": "#f2b134", "TIME_LIMIT": "#f28e2b",
    "EVALUATION_LIMIT": "#f5c16c", "NUMERICAL_ERROR": "#e377c2", "INTERRUPTED": "#c49c94",
    "TIMEOUT": "#e8590c", "CRASH": "#b3141e", "MEMORY": "#7b0d1e", "ERROR": "#d62728",
}
MARK = {"correct": "✓", "wrong": "✗", "failed": "–", "unknown": "?"}


def _rows(store) -> list[dict]:
    if isinstance(store, list):
        return store
    if isinstance(store, Store):
        return store.rows()
    p = Path(store)
    if not p.is_file():
        raise FileNotFoundError(f"no batch store at {p}")
    with Store(p) as st:
        return st.rows()


def _charged(r: dict) -> float:
    """Time used for statistics: solve time when correct, else the limit (or wall time)."""
    if solved(r):
        return float(r.get("solve_time") or 0.0)
    tl = r.get("time_limit")
    return float(tl if tl is not None else (r.get("wall_time") or 0.0))


def solver_table(rows: list[dict], shift: float = 10.0) -> list[dict]:
    """Per label: jobs, correct, wrong, failed, success rate, SGM time, mean build time."""
    out = []
    for lab in sorted({r["label"] for r in rows}):
        rs = [r for r in rows if r["label"] == lab]
        v = [verdict(r) for r in rs]
        builds = [r["build_time"] for r in rs if r.get("build_time") is not None]
        out.append({"solver": lab, "jobs": len(rs), "correct": v.count("correct"),
                    "wrong": v.count("wrong"), "failed": v.count("failed"),
                    "unknown": v.count("unknown"),
                    "success_rate": v.count("correct") / len(rs) if rs else float("nan"),
                    "sgm_time": shifted_geometric_mean([_charged(r) for r in rs if timed(r)], shift),
                    "mean_build": float(np.mean(builds)) if builds else float("nan")})
    return out


def status_counts(rows: list[dict]) -> tuple[list[str], dict[str, dict[str, int]]]:
    statuses = sorted({r["status"] for r in rows})
    table = {}
    for r in rows:
        d = table.setdefault(r["label"], {})
        d[r["status"]] = d.get(r["status"], 0) + 1
    return statuses, table


def _problem(r: dict) -> tuple:
    return (r.get("library") or "", r["instance"], r.get("seed"))


def time_matrix(rows: list[dict]) -> tuple[list, list[str], np.ndarray]:
    """(problems, labels, T) with T[p, s] the solve time of a correct answer, else ∞."""
    rows = [r for r in rows if timed(r)]
    problems = sorted({_problem(r) for r in rows}, key=lambda t: tuple(map(str, t)))
    labels = sorted({r["label"] for r in rows})
    pi = {p: i for i, p in enumerate(problems)}
    li = {s: j for j, s in enumerate(labels)}
    T = np.full((len(problems), len(labels)), np.inf)
    for r in rows:
        if solved(r):
            T[pi[_problem(r)], li[r["label"]]] = float(r.get("solve_time") or 0.0)
    return problems, labels, T


def _fig_to_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _plots(rows: list[dict], tau: float) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pngs: dict[str, bytes] = {}
    # status bars
    statuses, counts = status_counts(rows)
    labels = sorted(counts)
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.45 * len(labels)))
    left = np.zeros(len(labels))
    cmap = plt.get_cmap("tab20")
    for k, st in enumerate(statuses):
        vals = np.array([counts[l].get(st, 0) for l in labels], dtype=float)
        ax.barh(labels, vals, left=left, label=st, color=STATUS_COLORS.get(st, cmap(k % 20)))
        left += vals
    ax.set_xlabel("jobs")
    ax.set_title("Outcome per solver")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.25 if len(labels) > 2 else -0.4))
    ax.invert_yaxis()
    pngs["status"] = _fig_to_png(fig)
    plt.close(fig)

    # performance profile
    problems, labs, T = time_matrix(rows)
    if problems:
        taus, rho = performance_profile(T)
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for j, lab in enumerate(labs):
            ax.step(taus, rho[:, j], where="post", label=lab)
        ax.set_xscale("log", base=2)
        ax.set_xlim(1, taus[-1])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("τ (time ratio to the fastest solver)")
        ax.set_ylabel("ρ(τ): fraction of problems")
        ax.set_title(f"Performance profile (solve time, {len(problems)} problems)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        pngs["perf_profile"] = _fig_to_png(fig)
        plt.close(fig)

    # Pareto fronts (2-objective multiobjective rows)
    fronts = front_rows(rows)
    if fronts:
        names = sorted({r["instance"] for r in fronts})[:6]
        cols = min(3, len(names))
        nrows = (len(names) + cols - 1) // cols
        fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.6 * nrows), squeeze=False)
        labels_all = sorted({r["label"] for r in fronts})
        colors = {lab: plt.get_cmap("tab10")(i % 10) for i, lab in enumerate(labels_all)}
        for ax, name in zip(axes.ravel(), names):
            ref_drawn = False
            for r in sorted((r for r in fronts if r["instance"] == name), key=lambda r: r["label"]):
                m = r["metrics"]
                if m.get("reference") and not ref_drawn:
                    R = np.asarray(m["reference"])
                    o = np.argsort(R[:, 0])
                    ax.plot(R[o, 0], R[o, 1], ".", ms=2, color="0.6", label="reference")
                    ref_drawn = True
                F = np.asarray(m["front"])
                ax.scatter(F[:, 0], F[:, 1], s=12, color=colors[r["label"]], label=r["label"])
            ax.set_title(name, fontsize=10)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
        for ax in axes.ravel()[len(names):]:
            ax.axis("off")
        handles, labs = axes.ravel()[0].get_legend_handles_labels()
        fig.legend(handles, labs, loc="lower center", ncol=min(5, len(labs)), fontsize=8,
                   bbox_to_anchor=(0.5, -0.02))
        fig.suptitle("Pareto fronts (objective 1 vs objective 2)")
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        pngs["fronts"] = _fig_to_png(fig)
        plt.close(fig)

    # data profile
    dp = data_profile_inputs(rows)
    if dp is not None:
        traces, f0, known, unit = dp
        alphas, d, sol = data_profile(traces, f0, tau=tau, known=known)
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for j, lab in enumerate(sol):
            ax.step(alphas, d[:, j], where="post", label=lab)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(f"α ({unit})")
        ax.set_ylabel("d(α): fraction of problems")
        ax.set_title(f"Data profile (τ = {tau:g}, {len({p for p, _ in traces})} problems)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        pngs["data_profile"] = _fig_to_png(fig)
        plt.close(fig)
    return pngs


def front_rows(rows: list[dict]) -> list[dict]:
    """Rows holding a 2-objective Pareto front in ``metrics``."""
    out = []
    for r in rows:
        m = r.get("metrics") or {}
        F = m.get("front")
        if F and len(F[0]) == 2:
            out.append(r)
    return out


def front_table(rows: list[dict]) -> list[list]:
    """Per label: jobs, complete fronts, mean points, mean IGD, mean hypervolume ratio."""
    out = []
    mo = [r for r in rows if (r.get("metrics") or {}).get("points") is not None]
    for lab in sorted({r["label"] for r in mo}):
        rs = [r["metrics"] for r in mo if r["label"] == lab]
        mean = lambda k: (float(np.mean([m[k] for m in rs if m.get(k) is not None]))  # noqa: E731
                          if any(m.get(k) is not None for m in rs) else None)
        out.append([lab, len(rs), sum(bool(m.get("complete")) and m["points"] > 0 for m in rs),
                    mean("points"), mean("igd"), mean("igd_plus"), mean("hv_ratio")])
    return out


def data_profile_inputs(rows: list[dict]):
    """traces, start values, known optima and the unit name; None when no history has objectives."""
    traces, f0, known = {}, {}, {}
    evals = False
    for r in rows:
        if not solved(r) and r.get("status") in ("CRASH", "TIMEOUT", "MEMORY"):
            continue
        tr = history_trace(r.get("history"), r.get("n"), constrained=bool(r.get("m")))
        if tr is None:
            continue
        p = _problem(r)
        traces[(p, r["label"])] = tr
        evals = evals or any(any(k in h for k in EVAL_KEYS)
                             for h in (r.get("history") or [])[:1])
        f0[p] = max(f0.get(p, -np.inf), float(tr[1][0]))  # common start: the highest first value
        if r.get("known_objective") is not None:
            known[p] = float(r["known_objective"])
    if not traces:
        return None
    return traces, f0, known, ("simplex gradients: evaluations / (n+1)" if evals else "iterations")


# ------------------------------------------------------------------ text
def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:
            return "n/a"
        return f"{v:.{digits}g}"
    return str(v)


def _md_table(head: list[str], body: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in body]
    return "\n".join(lines)


def correctness_rows(rows: list[dict]) -> tuple[list[str], list[list[Any]]]:
    labels = sorted({r["label"] for r in rows})
    by: dict[tuple, dict] = {}
    meta: dict[tuple, dict] = {}
    for r in rows:
        p = _problem(r)
        by.setdefault(p, {})[r["label"]] = r
        meta[p] = r
    body = []
    for p in sorted(by, key=lambda t: tuple(map(str, t))):
        m = meta[p]
        cells = []
        for lab in labels:
            r = by[p].get(lab)
            if r is None:
                cells.append("")
                continue
            v = verdict(r)
            obj = f" {r['objective']:.8g}" if r.get("objective") is not None else ""
            cells.append(f"{MARK[v]} {r['status']}{obj}")
        name = p[1] if p[2] is None else f"{p[1]} (seed {p[2]})"
        body.append([name, m.get("expected"), m.get("known_objective")] + cells)
    return ["instance", "expected", "known f*"] + labels, body


def build_markdown(rows: list[dict], title: str, images: dict[str, str]) -> str:
    st = solver_table(rows)
    libs = sorted({r.get("library") or "" for r in rows})
    parts = [f"# {title}", "",
             f"{len(rows)} jobs · {len({_problem(r) for r in rows})} problems · "
             f"{len({r['label'] for r in rows})} solver labels · libraries: {', '.join(libs)}", "",
             "## Solvers", "",
             "Success = correct answer against the expected outcome (✓). Time = shifted geometric "
             "mean of solve time in seconds (shift 10 s) over the instances meant to be solved, "
             "jobs without a correct answer charged at the time limit.", "",
             _md_table(["solver", "jobs", "correct", "wrong", "failed", "success rate",
                        "SGM time [s]", "mean build [s]"],
                       [[s["solver"], s["jobs"], s["correct"], s["wrong"], s["failed"],
                         f"{100 * s['success_rate']:.1f} %", s["sgm_time"], s["mean_build"]]
                        for s in st]), ""]
    statuses, counts = status_counts(rows)
    parts += ["## Statuses", "", _md_table(["solver"] + statuses,
                                           [[l] + [counts[l].get(s, 0) for s in statuses]
                                            for l in sorted(counts)]), ""]
    if "status" in images:
        parts += [f"![outcomes]({images['status']})", ""]
    ft = front_table(rows)
    if ft:
        parts += ["## Multiobjective fronts", "",
                  "Per solver: complete fronts, mean number of points, mean IGD and IGD⁺ to the "
                  "reference front (lower is better) and mean hypervolume ratio to it (normalised "
                  "by the reference front's ideal and nadir, reference point 1.1; 1 = as good).", "",
                  _md_table(["solver", "jobs", "complete", "points", "IGD", "IGD⁺", "HV ratio"], ft), ""]
        if "fronts" in images:
            parts += [f"![Pareto fronts]({images['fronts']})", ""]
    parts += ["## Performance profile (Dolan–Moré)", "",
              "ρ(τ) = fraction of problems a solver answers correctly (optimum, or a correct "
              "infeasible/unbounded claim) within τ times the fastest solver's time (times "
              "floored at 1 ms; input-error instances left out).", ""]
    if "perf_profile" in images:
        parts += [f"![performance profile]({images['perf_profile']})", ""]
    parts += ["## Data profile (Moré–Wild)", ""]
    if "data_profile" in images:
        dp = data_profile_inputs(rows)
        with_h = sorted({lab for _, lab in dp[0]}) if dp else []
        without = sorted({r["label"] for r in rows} - set(with_h))
        parts += ["d(α) = fraction of problems where the objective has closed (1 − τ) of the gap "
                  "f(x₀) − f_L within α units (from per-iteration histories; on constrained "
                  "problems only iterates with recorded violation ≤ 1e-6 count).", "",
                  f"![data profile]({images['data_profile']})", ""]
        if without:
            parts += [f"Not in the data profile (no usable history recorded): {', '.join(without)}.", ""]
    else:
        parts += ["No backend in this store recorded usable per-iteration histories (objective, "
                  "and constraint violation on constrained problems), so no data profile is drawn.", ""]
    head, body = correctness_rows(rows)
    parts += ["## Correctness against expected outcomes", "",
              "✓ agrees with the expected outcome (optimal value within 1e-6 relative, 1e-4 for "
              "MILP), ✗ a wrong claim, – no answer (limit, crash, error).", "",
              _md_table(head, body), ""]
    bad = [r for r in rows if r["status"] in ("CRASH", "TIMEOUT", "MEMORY", "ERROR")]
    if bad:
        parts += ["## Failed jobs", "", _md_table(
            ["instance", "solver", "status", "message"],
            [[r["instance"], r["label"], r["status"], (r.get("message") or "").replace("|", "/")[:160]]
             for r in bad]), ""]
    return "\n".join(parts)


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1100px;color:#222;padding:0 1em}table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f0f3f7}
tr:nth-child(even){background:#fafafa}.ok{color:#17702b}.bad{color:#b3141e;font-weight:600}
.fail{color:#8a6d00}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
h1{border-bottom:2px solid #345}h2{margin-top:1.6em;color:#234}.note{color:#555;font-size:14px}"""


def _md_to_html(md: str, pngs: dict[str, bytes]) -> str:
    """A small converter for the Markdown this module writes (headings, tables, images, text)."""
    out, table = [], []

    def flush():
        if not table:
            return
        rows = [r.strip().strip("|").split(" | ") for r in table if not r.startswith("|---")]
        h = "".join(f"<th>{html.escape(c.strip())}</th>" for c in rows[0])
        body = ""
        for r in rows[1:]:
            cells = ""
            for c in r:
                c = c.strip()
                cls = ("ok" if c.startswith("✓") else "bad" if c.startswith("✗") else
                       "fail" if c.startswith("–") else "")
                cells += f'<td class="{cls}">{html.escape(c)}</td>' if cls else f"<td>{html.escape(c)}</td>"
            body += f"<tr>{cells}</tr>"
        out.append(f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>")
        table.clear()

    for line in md.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("## "):
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            out.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("![") and "](" in line:
            alt = line[2:line.index("]")]
            src = line[line.index("](") + 2:-1]
            key = Path(src).stem
            if key in pngs:
                src = "data:image/png;base64," + base64.b64encode(pngs[key]).decode()
            out.append(f'<img alt="{html.escape(alt)}" src="{src}">')
        elif line.strip():
            out.append(f'<p class="note">{html.escape(line)}</p>')
    flush()
    return "\n".join(out)


def write_report(store, out: str | os.PathLike | None = None, title: str = "optkit batch report",
                 tau: float = 1e-3) -> dict[str, Path]:
    """Write report.md, report.html (self-contained) and PNGs into ``out``; return their paths."""
    rows = _rows(store)
    if not rows:
        raise ValueError(f"the store {store} has no rows to report")
    out = Path(out if out is not None else "report")
    out.mkdir(parents=True, exist_ok=True)
    pngs = _plots(rows, tau)
    paths: dict[str, Any] = {"png": {}}
    for k, data in pngs.items():
        p = out / f"{k}.png"
        p.write_bytes(data)
        paths["png"][k] = p
    images = {k: f"{k}.png" for k in pngs}
    md = build_markdown(rows, title, images)
    (out / "report.md").write_text(md)
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>{_md_to_html(md, pngs)}</body></html>")
    (out / "report.html").write_text(page)
    paths["markdown"] = out / "report.md"
    paths["html"] = out / "report.html"
    return paths
