"""Notebook views: ``_repr_html_`` summaries (autoescaped) and ``to_dataframe()`` of Result,
BilevelResult, ParetoResult and BatchRuns; plots that return matplotlib Figures."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import optkit as ok
from optkit.testing.skips import require_module
from optkit.batch.runner import BatchRuns
from optkit.bilevel import BilevelResult
from optkit.multiobjective import ParetoResult
from optkit.testing.browser import inspect_html, markup_problems

EVIL = "<script>alert(1)</script>"


def _text(html: str) -> str:
    return "".join(inspect_html(html).text)


def _result(**kw) -> ok.Result:
    base = dict(termination=ok.Termination.OPTIMAL, primal_status=ok.PrimalStatus.FEASIBLE,
                objective=1.5, verified=True, iterations=7, solver=f"<b>{EVIL}</b>",
                solver_version="9.9", message=f"done {EVIL}",
                kkt=ok.KKTReport({"kkt": 2e-9, "feasibility_rel": 0.0, "stationarity_rel": 2e-9},
                                 {"complementarity_rel": "no multipliers"}),
                timings={"solve": 0.25, "total": 0.5})
    base.update(kw)
    return ok.Result(**base)


def test_result_html_summary_is_escaped_and_complete():
    html = _result()._repr_html_()
    assert markup_problems(html) == []
    assert "<script>" not in html and "&lt;script&gt;" in html
    text = _text(html)
    for want in ("OPTIMAL", "FEASIBLE", "1.5", "2e-09", "7", f"<b>{EVIL}</b>", f"done {EVIL}",
                 "not measured: no multipliers", "0.5"):
        assert want in text, want
    bad = _result(verified=False, primal_status=ok.PrimalStatus.INFEASIBLE)._repr_html_()
    assert 'class="bad">verified = False' in bad


def test_result_to_dataframe_one_row():
    require_module("pandas")
    res = _result()
    df = res.to_dataframe()
    assert df.shape[0] == 1
    row = df.iloc[0]
    assert row["termination"] == "OPTIMAL" and row["primal_status"] == "FEASIBLE"
    assert row["objective"] == 1.5 and row["kkt"] == 2e-9 and bool(row["solved"]) is True
    assert row["kkt_feasibility_rel"] == 0.0 and row["time_total"] == 0.5
    assert row["iterations"] == 7 and row["solver"] == f"<b>{EVIL}</b>"


def test_real_solve_frame_matches_the_result():
    require_module("pandas")
    res = ok.solve(ok.LinearProblem(c=[-1.0, -2.0], A=[[1.0, 1.0]], rl=[-np.inf], ru=[4.0],
                                    lb=0, ub=3), "highs")
    df = res.to_dataframe()
    assert df.loc[0, "objective"] == pytest.approx(-7.0) == res.objective  # x = (1, 3)
    assert df.loc[0, "termination"] == "OPTIMAL" and df.loc[0, "solver"] == "highs"
    assert "-7" in _text(res._repr_html_())


def test_bilevel_result_summary_and_frame():
    res = BilevelResult(termination=ok.Termination.LOCALLY_OPTIMAL, verified=True,
                        primal_status=ok.PrimalStatus.FEASIBLE, solver="kkt", objective=2.0,
                        upper_objective=2.0, lower_objective=0.25, lower_value=0.25,
                        lower_gap=1e-12, upper_feasibility=0.0, lower_feasibility=3e-9)
    html = res._repr_html_()
    assert markup_problems(html) == []
    text = _text(html)
    for want in ("BilevelResult", "upper objective F(x, y)", "0.25", "1e-12", "3e-09"):
        assert want in text, want
    require_module("pandas")
    row = res.to_dataframe().iloc[0]
    assert row["upper_objective"] == 2.0 and row["lower_gap"] == 1e-12
    assert row["lower_feasibility"] == 3e-9 and row["termination"] == "LOCALLY_OPTIMAL"


def _front() -> ParetoResult:
    F = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    return ParetoResult(F=F, X=np.arange(6.0).reshape(3, 2), names=["cost", f"risk {EVIL}"],
                        method="weighted-sum", status=["OPTIMAL"] * 3,
                        params=[{"w": 1.0}, {"w": 0.5}, {"w": 0.0}], violations=np.zeros(3),
                        counts={"subproblems": 3, "evaluations": 42})


def test_pareto_summary_and_frame():
    res = _front()
    html = res._repr_html_()
    assert markup_problems(html) == [] and "&lt;script&gt;" in html
    page = inspect_html(html)
    heads = [d for d in page.text if d.strip()]
    assert f"risk {EVIL}" in heads and "weighted-sum" in heads and "42" in heads
    assert res.verified is True and "verified = True" in "".join(page.text)
    require_module("pandas")
    df = res.to_dataframe()
    assert list(df.columns) == ["cost", f"risk {EVIL}", "status", "params", "x"]
    assert df["cost"].tolist() == [0.0, 0.5, 1.0] and df["params"][1] == {"w": 0.5}
    np.testing.assert_array_equal(df["x"][2], [4.0, 5.0])


def test_pareto_summary_shows_at_most_front_rows():
    from optkit.notebook import FRONT_ROWS

    F = np.column_stack([np.linspace(0, 1, 40), 1 - np.linspace(0, 1, 40)])
    res = ParetoResult(F=F, X=np.zeros((40, 1)), method="nbi", violations=np.zeros(40))
    html = res._repr_html_()
    assert html.count("<tr><td>") == FRONT_ROWS
    assert f"first {FRONT_ROWS} of 40 points" in _text(html)


def _rows() -> list[dict]:
    def row(inst, label, status, obj, t):
        return {"instance": inst, "label": label, "solver": label.split("[")[0], "status": status,
                "objective": obj, "expected": "optimal", "known_objective": 1.0,
                "solve_time": t, "build_time": 0.0, "problem_class": "lp", "time_limit": 10.0,
                "library": "L", "seed": None, "n": 2, "m": 0, "message": "",
                "history": [{"iter": 0, "f": 3.0}, {"iter": 2, "f": 1.0}], "log": "x"}
    return [row("a", "fast", "OPTIMAL", 1.0, 1.0), row("b", "fast", "OPTIMAL", 1.0, 2.0),
            row("a", f"slow{EVIL}", "OPTIMAL", 1.0, 4.0),
            row("b", f"slow{EVIL}", "TIME_LIMIT", None, 10.0)]


def test_batch_runs_summary_and_frame():
    runs = BatchRuns(_rows(), ran=3, skipped=1, store=Path("s.sqlite"), jobs=4)
    html = runs._repr_html_()
    assert markup_problems(html) == [] and "&lt;script&gt;" in html
    text = _text(html)
    assert "s.sqlite" in text and f"slow{EVIL}" in text and "TIME_LIMIT" in text
    assert "100.0 %" in text and "50.0 %" in text  # fast 2/2, slow 1/2
    require_module("pandas")
    df = runs.to_dataframe()
    assert list(df.columns[:7]) == ["library", "instance", "seed", "label", "solver", "status",
                                    "verdict"]
    assert df["verdict"].tolist() == ["correct", "correct", "correct", "failed"]
    assert "history" not in df.columns and "log" not in df.columns
    assert "history" in runs.to_dataframe(with_history=True).columns
    assert df.groupby("label")["solve_time"].sum()["fast"] == 3.0


def test_to_dataframe_without_pandas_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    for obj in (_result(), _front(), BatchRuns(_rows(), 1, 0, Path("s"), 1)):
        with pytest.raises(ImportError, match=r"pip install 'optkit\[data\]'") as info:
            obj.to_dataframe()
        assert "\n" not in str(info.value)


def test_plots_return_figures_outside_pyplot(tmp_path):
    require_module("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from optkit.batch.profiles import performance_profile
    from optkit.batch.reporting import time_matrix

    before = plt.get_fignums()
    fig = _front().plot(path=tmp_path / "front.png")
    assert isinstance(fig, Figure) and (tmp_path / "front.png").read_bytes()[:4] == b"\x89PNG"
    assert isinstance(_front().plot_parallel(), Figure)
    runs = BatchRuns(_rows(), 4, 0, Path("s"), 4)
    perf = runs.plot_performance_profile(path=tmp_path / "perf.png")
    assert isinstance(perf, Figure) and (tmp_path / "perf.png").is_file()
    lines = perf.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["fast", f"slow{EVIL}"]
    _, rho = performance_profile(time_matrix(list(runs))[2])
    np.testing.assert_allclose(lines[1].get_ydata(), rho[:, 1])  # slow: ratio 4 on a, fails b
    assert rho[-1].tolist() == [1.0, 0.5]
    data = runs.plot_data_profile()
    assert isinstance(data, Figure) and len(data.axes[0].get_lines()) == 2
    assert plt.get_fignums() == before  # nothing registered with pyplot: shown once in a notebook
    _, ax = plt.subplots()
    try:
        assert _front().plot(ax=ax) is ax.figure  # drawing into a given axes returns its figure
    finally:
        plt.close(ax.figure)


def test_plots_without_matplotlib_name_the_extra(monkeypatch, tmp_path):
    from optkit.batch.reporting import write_report

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    for call in (lambda: _front().plot(), lambda: BatchRuns(_rows(), 4, 0, Path("s"), 4)
                 .plot_performance_profile(), lambda: write_report(_rows(), tmp_path / "r")):
        with pytest.raises(ImportError, match=r"pip install 'optkit\[plot\]'") as info:
            call()
        assert "\n" not in str(info.value)
