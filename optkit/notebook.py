"""Notebook and pandas views of results: the one place for ``_repr_html_`` and ``to_dataframe``.

Jupyter shows an object through its ``_repr_html_``; optkit's are rendered from the templates in
``optkit/templates`` through the shared, autoescaped jinja2 environment of
:mod:`optkit.templating`, so solver messages and names display as text, never as markup.

- ``Result``: the claim, optkit's measurement and verdict, objective, KKT residual, counts, time
  and message, with the KKT measures under a fold; ``to_dataframe()`` is one row — the fields of
  ``Result.to_dict()``, KKT measures as ``kkt_<name>``, timings as ``time_<phase>``, counters as
  ``evals_<kind>``.
- ``BilevelResult``: the same plus F, f, v(x), the lower gap f − v(x) and both levels'
  feasibility (also columns of its row).
- ``ParetoResult``: method, points, completeness, verdict, ideal/nadir and the first
  :data:`FRONT_ROWS` points; ``to_dataframe()`` is one row per front point (objectives by name,
  status, parameters, x).
- ``BatchRuns``: jobs ran and skipped, the per-label success table and the status counts;
  ``to_dataframe()`` is one row per job (the store's columns and the row's ``verdict``).

pandas is optional (the ``data`` extra); without it ``to_dataframe`` raises one
:class:`~optkit.errors.MissingExtraError` line naming the extra.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

from . import templating
from .templating import Cell, fmt

#: rows of a front shown in a ParetoResult's HTML summary
FRONT_ROWS = 12


def _pandas():
    from .extras import require

    return require("pandas", "data", "to_dataframe")


def _num(v: Any, digits: int = 6) -> str:
    """A number to ``digits`` significant digits (integers as they are); None and NaN as n/a."""
    if v is None:
        return "n/a"
    if isinstance(v, (bool, str)):
        return str(v)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "n/a" if math.isnan(f) else f"{f:.{digits}g}"


def _cell(text: Any, cls: str = "") -> Cell:
    return Cell(text if isinstance(text, str) else fmt(text), cls)


def _verdict_class(verified: bool | None) -> str:
    return "ok" if verified is True else "bad" if verified is False else ""


# ------------------------------------------------------------------ Result
def result_items(res) -> list[tuple[str, str]]:
    """(label, text) pairs of a Result's summary."""
    total = (res.timings or {}).get("total")
    items = [("termination (claim)", str(res.termination)),
             ("primal status (measured)", str(res.primal_status)),
             ("verified", str(res.verified)), ("solved", str(res.is_solved())),
             ("objective", _num(res.objective, 10)), ("KKT residual", _num(res.kkt.get("kkt"), 3))]
    if res.iterations is not None:
        items.append(("iterations", str(res.iterations)))
    if res.nodes is not None:
        items.append(("nodes", str(res.nodes)))
    if res.mip_gap is not None:
        items.append(("MIP gap", _num(res.mip_gap, 3)))
    if total is not None:
        items.append(("time [s]", _num(total, 3)))
    if res.message:
        items.append(("message", str(res.message)))
    return items


def _kkt_items(res) -> list[tuple[str, str]]:
    items = [(k, _num(v, 3)) for k, v in dict(res.kkt).items() if k != "kkt"]
    items += [(k, f"not measured: {why}") for k, why in res.kkt.not_measured.items()]
    return items


def result_html(res) -> str:
    """The HTML summary of a :class:`~optkit.results.Result`."""
    return templating.render_html(
        "result.html.j2", kind=type(res).__name__, solver=res.solver or "?",
        version=res.solver_version or "", verified=str(res.verified), verified_cls=_verdict_class(res.verified),
        items=result_items(res), extra_items=[], kkt=_kkt_items(res))


def bilevel_html(res) -> str:
    """The HTML summary of a :class:`~optkit.bilevel.BilevelResult`."""
    extra = [("upper objective F(x, y)", _num(res.upper_objective, 10)),
             ("lower objective f(x, y)", _num(res.lower_objective, 10)),
             ("lower value v(x)", _num(res.lower_value, 10)),
             ("lower gap f − v(x)", _num(res.lower_gap, 3)),
             ("upper feasibility", _num(res.upper_feasibility, 3)),
             ("lower feasibility", _num(res.lower_feasibility, 3))]
    return templating.render_html(
        "result.html.j2", kind=type(res).__name__, solver=res.solver or "?",
        version=res.solver_version or "", verified=str(res.verified), verified_cls=_verdict_class(res.verified),
        items=result_items(res), extra_items=extra, kkt=_kkt_items(res))


def result_record(res) -> dict[str, Any]:
    """The flat record behind ``Result.to_dataframe()``: scalars of ``to_dict()``, then the KKT
    measures (``kkt_<name>``), timings (``time_<phase>``) and counters (``evals_<kind>``)."""
    d = res.to_dict()
    rec: dict[str, Any] = {k: v for k, v in d.items()
                           if not isinstance(v, (dict, list)) and k not in ("x", "y")}
    rec["solved"] = res.is_solved()
    rec["kkt"] = res.kkt.get("kkt")
    for k, v in dict(res.kkt).items():
        if k != "kkt":
            rec[f"kkt_{k}"] = v
    for k, v in (res.timings or {}).items():
        rec[f"time_{k}"] = v
    for k, v in (res.evaluations or {}).items():
        if not isinstance(v, (dict, list)):
            rec[f"evals_{k}"] = v
    return rec


def result_frame(res):
    """A one-row pandas DataFrame of a Result (see :func:`result_record`)."""
    pd = _pandas()
    return pd.DataFrame([result_record(res)])


# ------------------------------------------------------------------ ParetoResult
def _front_names(res) -> list[str]:
    m = res.F.shape[1] if res.F.ndim == 2 else 0
    return list(res.names) if res.names and len(res.names) == m else [f"f{i + 1}" for i in range(m)]


def pareto_html(res) -> str:
    """The HTML summary of a :class:`~optkit.multiobjective.ParetoResult`."""
    names = _front_names(res)
    k = len(res)
    items = [("method", res.method or "?"), ("points", str(k)), ("complete", str(res.complete)),
             ("termination", str(res.termination)), ("primal status", str(res.primal_status)),
             ("verified", str(res.verified)), ("subproblems", str(res.counts.get("subproblems", 0))),
             ("evaluations", str(res.counts.get("evaluations", "n/a")))]
    if res.reasons:
        items.append(("cut short because", "; ".join(map(str, res.reasons))))
    if res.ideal is not None:
        items.append(("ideal", ", ".join(_num(v) for v in res.ideal)))
    if res.nadir is not None:
        items.append(("nadir", ", ".join(_num(v) for v in res.nadir)))
    if res.message:
        items.append(("message", str(res.message)))
    status = res.status if len(res.status) == k else [""] * k
    rows = [[_cell(str(i))] + [_cell(_num(v)) for v in res.F[i]] + [_cell(str(status[i]))]
            for i in range(min(k, FRONT_ROWS))]
    table = {"head": ["#"] + names + ["status"], "rows": rows}
    return templating.render_html(
        "pareto.html.j2", kind=type(res).__name__, items=items, table=table,
        verified=str(res.verified), verified_cls=_verdict_class(res.verified), shown=min(k, FRONT_ROWS), points=k)


def pareto_frame(res):
    """One row per front point: objectives by name, status, parameters, x."""
    pd = _pandas()
    names = _front_names(res)
    df = pd.DataFrame(res.F.reshape(len(res), len(names)), columns=names)
    df["status"] = [str(s) for s in res.status] if len(res.status) == len(df) else None
    df["params"] = [dict(p) for p in res.params] if len(res.params) == len(df) else None
    df["x"] = list(res.X) if len(res.X) == len(df) else None
    return df


# ------------------------------------------------------------------ BatchRuns
#: the columns a batch frame starts with (the others follow in the store's order)
BATCH_LEAD = ("library", "instance", "seed", "label", "solver", "status", "verdict", "expected",
              "objective", "known_objective", "solve_time", "wall_time", "iterations", "message")


def batch_records(rows: list[dict], with_history: bool = False) -> list[dict]:
    """Rows of a batch with their ``verdict`` (:func:`optkit.batch.outcomes.verdict`), leading
    columns first; ``history`` and ``log`` only when asked."""
    from .batch.outcomes import verdict

    out = []
    for r in rows:
        rec = {k: r.get(k) for k in BATCH_LEAD if k != "verdict"}
        rec["verdict"] = verdict(r)
        rec = {k: rec[k] for k in BATCH_LEAD}
        rec.update({k: v for k, v in r.items()
                    if k not in rec and (with_history or k not in ("history", "log"))})
        out.append(rec)
    return out


def batch_frame(rows: list[dict], with_history: bool = False):
    """One row per job (see :func:`batch_records`)."""
    pd = _pandas()
    recs = batch_records(rows, with_history)
    return pd.DataFrame(recs, columns=list(recs[0]) if recs else list(BATCH_LEAD))


def batch_html(runs) -> str:
    """The HTML summary of :class:`~optkit.batch.BatchRuns`: counts, per-label success, statuses."""
    from .batch.reporting import report_context

    items = [("jobs", str(getattr(runs, "jobs", len(runs)))),
             ("ran now", str(getattr(runs, "ran", "?"))),
             ("skipped (already stored)", str(getattr(runs, "skipped", "?"))),
             ("store", str(getattr(runs, "store", "")))]
    ctx = report_context(list(runs), "batch") if len(runs) else None
    return templating.render_html("batch_runs.html.j2", items=items,
                                  solvers=ctx["solvers"] if ctx else None,
                                  statuses=ctx["statuses"] if ctx else None)
