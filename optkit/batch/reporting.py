"""Reports of a batch store: Markdown, PNG and one self-contained HTML page.

Sections: overview; per solver label the success rate (correct answers / jobs), the counts of
correct / wrong / failed outcomes and the shifted geometric mean of time (shift 10 s, a job
without a correct answer charged at its time limit); the status counts; Dolan–Moré performance
profiles on solve time; Moré–Wild data profiles from per-iteration histories (when any backend
recorded them); and the correctness table of every instance against its expected outcome
(rules in :mod:`optkit.batch.outcomes`). A "problem" is an (instance, seed) pair; a "solver" is a
label (backend name plus settings label).

Two steps: :func:`report_context` turns the rows into plain data (tables of :class:`Cell` text,
image references), and the templates ``report.md.j2`` and ``report.html.j2`` render the same
context through :mod:`optkit.templating` — autoescaped HTML, escaped Markdown — so no text from a
store (instance, file and manifest names, labels, messages, the title) is ever pasted into
markup. The HTML page embeds its figures as ``data:`` URIs of the PNG bytes drawn here and carries
a Content-Security-Policy that allows no script and no external resource.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import templating
from ..templating import Cell
from ..templating import fmt as _fmt
from .outcomes import solved, timed, verdict
from .profiles import (EVAL_KEYS, data_profile, history_trace, plot_data_profile,
                       plot_performance_profile, shifted_geometric_mean)
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
CSS_CLASS = {"correct": "ok", "wrong": "bad", "failed": "fail", "unknown": ""}
IMAGE_ALT = {"status": "outcomes", "fronts": "Pareto fronts", "perf_profile": "performance profile",
             "data_profile": "data profile"}


def _rows(store) -> list[dict]:
    if isinstance(store, list):
        return store
    if isinstance(store, Store):
        return store.rows()
    p = Path(store)
    if not p.is_file():
        raise FileNotFoundError(f"no batch store at {p}")
    with Store(p, readonly=True) as st:
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
    """(sorted statuses, {label: {status: count}})."""
    statuses = sorted({r["status"] for r in rows})
    table: dict[str, dict[str, int]] = {}
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


def front_rows(rows: list[dict]) -> list[dict]:
    """Rows holding a 2-objective Pareto front in ``metrics``."""
    out = []
    for r in rows:
        m = r.get("metrics") or {}
        F = m.get("front")
        if F and len(F[0]) == 2:
            out.append(r)
    return out


def _mean_of(metrics: list[dict], key: str) -> float | None:
    vals = [m[key] for m in metrics if m.get(key) is not None]
    return float(np.mean(vals)) if vals else None


def front_table(rows: list[dict]) -> list[list]:
    """Per label: jobs, complete fronts, mean points, mean IGD, mean hypervolume ratio."""
    out = []
    mo = [r for r in rows if (r.get("metrics") or {}).get("points") is not None]
    for lab in sorted({r["label"] for r in mo}):
        rs = [r["metrics"] for r in mo if r["label"] == lab]
        out.append([lab, len(rs), sum(bool(m.get("complete")) and m["points"] > 0 for m in rs)]
                   + [_mean_of(rs, k) for k in ("points", "igd", "igd_plus", "hv_ratio")])
    return out


def data_profile_inputs(rows: list[dict]):
    """traces, start values, known optima and the unit name; None when no history has objectives."""
    traces: dict[tuple, Any] = {}
    f0: dict[tuple, float] = {}
    known: dict[tuple, float] = {}
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


# ------------------------------------------------------------------ figures
def _fig_to_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _figure(**kw):
    from ..extras import require

    require("matplotlib", "plot", "the figures of batch reports")
    from matplotlib.figure import Figure

    return Figure(**kw)


def status_figure(rows: list[dict]):
    """Stacked horizontal bars: the statuses of each solver label's jobs (a matplotlib Figure)."""
    statuses, counts = status_counts(rows)
    labels = sorted(counts)
    fig = _figure(figsize=(7, 0.6 + 0.45 * len(labels)))
    import matplotlib
    ax = fig.subplots()
    left = np.zeros(len(labels))
    cmap = matplotlib.colormaps["tab20"]
    for k, st in enumerate(statuses):
        vals = np.array([counts[lab].get(st, 0) for lab in labels], dtype=float)
        ax.barh(labels, vals, left=left, label=st, color=STATUS_COLORS.get(st, cmap(k % 20)))
        left += vals
    ax.set_xlabel("jobs")
    ax.set_title("Outcome per solver")
    ax.legend(fontsize=7, ncol=3, loc="upper center",
              bbox_to_anchor=(0.5, -0.25 if len(labels) > 2 else -0.4))
    ax.invert_yaxis()
    return fig


def fronts_figure(rows: list[dict]):
    """Up to six 2-objective Pareto fronts of multiobjective rows, one panel per instance."""
    fronts = front_rows(rows)
    names = sorted({r["instance"] for r in fronts})[:6]
    cols = min(3, len(names))
    nrows = (len(names) + cols - 1) // cols
    fig = _figure(figsize=(4.2 * cols, 3.6 * nrows))
    import matplotlib
    axes = fig.subplots(nrows, cols, squeeze=False)
    labels_all = sorted({r["label"] for r in fronts})
    colors = {lab: matplotlib.colormaps["tab10"](i % 10) for i, lab in enumerate(labels_all)}
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
    return fig


def performance_figure(rows: list[dict]):
    """The Dolan–Moré profile of the rows' solve times (None when no problem is timed)."""
    problems, labels, T = time_matrix(rows)
    if not problems:
        return None
    return plot_performance_profile(T, labels)


def data_figure(rows: list[dict], tau: float = 1e-3):
    """The Moré–Wild data profile of the rows' histories (None when none has objectives)."""
    dp = data_profile_inputs(rows)
    if dp is None:
        return None
    traces, f0, known, unit = dp
    alphas, d, sol = data_profile(traces, f0, tau=tau, known=known)
    return plot_data_profile(alphas, d, sol, tau=tau, unit=unit,
                             problems=len({p for p, _ in traces}))


def _plots(rows: list[dict], tau: float) -> dict[str, bytes]:
    figs = {"status": status_figure(rows),
            "fronts": fronts_figure(rows) if front_rows(rows) else None,
            "perf_profile": performance_figure(rows),
            "data_profile": data_figure(rows, tau)}
    return {k: _fig_to_png(f) for k, f in figs.items() if f is not None}


# ------------------------------------------------------------------ context
def _table(head: list[str], body: list[list[Any]]) -> dict:
    return {"head": list(head),
            "rows": [[c if isinstance(c, Cell) else Cell(_fmt(c)) for c in row] for row in body]}


def correctness_rows(rows: list[dict]) -> tuple[list[str], list[list[Any]]]:
    """(header, body) of the correctness table; result cells are :class:`Cell` with the verdict
    mark, status and objective, and the verdict's CSS class."""
    labels = sorted({r["label"] for r in rows})
    by: dict[tuple, dict] = {}
    meta: dict[tuple, dict] = {}
    for row in rows:
        p = _problem(row)
        by.setdefault(p, {})[row["label"]] = row
        meta[p] = row
    body = []
    for p in sorted(by, key=lambda t: tuple(map(str, t))):
        m = meta[p]
        cells: list[Any] = []
        for lab in labels:
            r = by[p].get(lab)
            if r is None:
                cells.append(Cell(""))
                continue
            v = verdict(r)
            obj = f" {r['objective']:.8g}" if r.get("objective") is not None else ""
            cells.append(Cell(f"{MARK[v]} {r['status']}{obj}", CSS_CLASS[v]))
        name = p[1] if p[2] is None else f"{p[1]} (seed {p[2]})"
        body.append([name, m.get("expected"), m.get("known_objective")] + cells)
    return ["instance", "expected", "known f*"] + labels, body


def report_context(rows: list[dict], title: str, pngs: dict[str, bytes] | None = None) -> dict:
    """Everything the report templates print, as plain data (strings, numbers, :class:`Cell`).

    ``pngs`` maps figure keys (status, fronts, perf_profile, data_profile) to PNG bytes; each
    becomes an image with its file name (Markdown) and a ``data:`` URI (HTML).
    """
    pngs = pngs or {}
    st = solver_table(rows)
    statuses, counts = status_counts(rows)
    images: dict[str, Any] = dict.fromkeys(IMAGE_ALT)
    images.update({k: {"file": f"{k}.png", "alt": IMAGE_ALT.get(k, k),
                       "uri": templating.data_uri(b)} for k, b in pngs.items()})
    ctx: dict[str, Any] = {
        "title": title,
        "overview": {"jobs": len(rows), "problems": len({_problem(r) for r in rows}),
                     "labels": len({r["label"] for r in rows}),
                     "libraries": ", ".join(sorted({r.get("library") or "" for r in rows}))},
        "solvers": _table(["solver", "jobs", "correct", "wrong", "failed", "success rate",
                           "SGM time [s]", "mean build [s]"],
                          [[s["solver"], s["jobs"], s["correct"], s["wrong"], s["failed"],
                            f"{100 * s['success_rate']:.1f} %", s["sgm_time"], s["mean_build"]]
                           for s in st]),
        "statuses": _table(["solver"] + statuses,
                           [[lab] + [counts[lab].get(s, 0) for s in statuses]
                            for lab in sorted(counts)]),
        "images": images,
    }
    ft = front_table(rows)
    ctx["fronts"] = (_table(["solver", "jobs", "complete", "points", "IGD", "IGD⁺", "HV ratio"], ft)
                     if ft else None)
    dp = data_profile_inputs(rows) if images["data_profile"] else None
    with_h = sorted({lab for _, lab in dp[0]}) if dp else []
    ctx["without_history"] = ", ".join(sorted({r["label"] for r in rows} - set(with_h)))
    head, body = correctness_rows(rows)
    ctx["correctness"] = _table(head, body)
    bad = [r for r in rows if r["status"] in ("CRASH", "TIMEOUT", "MEMORY", "ERROR")]
    ctx["failed"] = (_table(["instance", "solver", "status", "message"],
                            [[r["instance"], r["label"], r["status"], (r.get("message") or "")[:160]]
                             for r in bad]) if bad else None)
    return ctx


# ------------------------------------------------------------------ rendering
def render_markdown(context: dict) -> str:
    """report.md from a :func:`report_context`."""
    return templating.render_markdown("report.md.j2", **context)


def render_html(context: dict) -> str:
    """report.html (self-contained) from a :func:`report_context`."""
    return templating.render_html("report.html.j2", **context)


def write_report(store, out: str | os.PathLike | None = None, title: str = "optkit batch report",
                 tau: float = 1e-3) -> dict[str, Path]:
    """Write report.md, report.html (self-contained) and PNGs into ``out``; return their paths."""
    rows = _rows(store)
    if not rows:
        raise ValueError(f"the store {store} has no rows to report")
    _figure()  # without matplotlib: one line naming the 'plot' extra, before any file is written
    out = Path(out if out is not None else "report")
    out.mkdir(parents=True, exist_ok=True)
    pngs = _plots(rows, tau)
    paths: dict[str, Any] = {"png": {}}
    for k, data in pngs.items():
        p = out / f"{k}.png"
        p.write_bytes(data)
        paths["png"][k] = p
    ctx = report_context(rows, title, pngs)
    (out / "report.md").write_text(render_markdown(ctx), encoding="utf-8")
    (out / "report.html").write_text(render_html(ctx), encoding="utf-8")
    paths["markdown"] = out / "report.md"
    paths["html"] = out / "report.html"
    return paths
