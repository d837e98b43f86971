"""Report statistics against hand-computed values, and the report files."""
from __future__ import annotations

import base64
import math
import re

import numpy as np
import pytest

import optkit as ok
from optkit.batch.outcomes import verdict
from optkit.batch.profiles import (data_profile, history_trace, performance_profile,
                                   shifted_geometric_mean)
from optkit.batch.reporting import solver_table, write_report


def test_shifted_geometric_mean_formula():
    t = [1.0, 10.0, 100.0]
    want = math.exp(np.mean(np.log(np.array(t) + 10))) - 10
    assert shifted_geometric_mean(t) == pytest.approx(want)
    assert shifted_geometric_mean([5.0, 5.0]) == pytest.approx(5.0)
    assert shifted_geometric_mean([0.0, 90.0]) == pytest.approx(math.sqrt(10 * 100) - 10)
    with pytest.raises(ValueError):
        shifted_geometric_mean([np.inf])


def test_performance_profile_hand_example():
    # 3 problems × 2 solvers; solver 1 fails on problem 2
    T = np.array([[1.0, 2.0], [4.0, 2.0], [3.0, np.inf]])
    _taus, rho = performance_profile(T, taus=np.array([1.0, 1.5, 2.0, 100.0]))
    # ratios: s0 = [1, 2, 1], s1 = [2, 1, inf]
    np.testing.assert_allclose(rho[:, 0], [2 / 3, 2 / 3, 1.0, 1.0])
    np.testing.assert_allclose(rho[:, 1], [1 / 3, 1 / 3, 2 / 3, 2 / 3])


def test_data_profile_hand_example():
    # problem A: f0=10, f_L=0 → target (τ=0.1) f ≤ 1; s0 reaches 0.5 at iteration 3; s1 never
    # problem B: f0=4, f_L=2 → target f ≤ 2.2; both reach 2 at iteration 1 and 2
    traces = {("A", "s0"): (np.array([0, 1, 2, 3]), np.array([10, 5, 2, 0.5])),
              ("A", "s1"): (np.array([0, 1]), np.array([10, 3.0])),
              ("B", "s0"): (np.array([0, 1]), np.array([4, 2.0])),
              ("B", "s1"): (np.array([0, 2]), np.array([4, 2.0]))}
    _alphas, d, solvers = data_profile(traces, {"A": 10, "B": 4}, tau=0.1, known={"A": 0.0},
                                      alphas=np.array([0, 1, 2, 3]))
    assert solvers == ["s0", "s1"]
    np.testing.assert_allclose(d[:, 0], [0, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(d[:, 1], [0, 0, 0.5, 0.5])


def test_history_trace_keys():
    h = [{"iter": 0, "f": 3.0, "viol": 1.0}, {"iter": 1, "f": 2.0, "viol": 0.0},
         {"iter": 2, "objective": 1.0}]
    u, f = history_trace(h)
    np.testing.assert_allclose(u, [1, 2]) and np.testing.assert_allclose(f, [2, 1])
    u, f = history_trace([{"nfev": 4, "f": 1.0}, {"nfev": 8, "f": 0.5}], n=3)
    np.testing.assert_allclose(u, [1, 2])  # evaluations / (n + 1)
    assert history_trace([{"iter": 0}]) is None and history_trace(None) is None


def _row(inst, label, status, obj, expected="optimal", known=1.0, t=1.0, cls="lp", tl=10.0, **kw):
    return {"instance": inst, "label": label, "status": status, "objective": obj,
            "expected": expected, "known_objective": known, "solve_time": t, "build_time": 0.01,
            "problem_class": cls, "time_limit": tl, "library": "L", "seed": None, "n": 2, **kw}


def test_verdicts():
    assert verdict(_row("a", "s", "OPTIMAL", 1.0 + 1e-9)) == "correct"
    assert verdict(_row("a", "s", "OPTIMAL", 1.01)) == "wrong"
    assert verdict(_row("a", "s", "LOCALLY_OPTIMAL", 1.01, cls="nlp")) == "failed"
    assert verdict(_row("a", "s", "OPTIMAL", 1.00005, cls="milp")) == "correct"  # 1e-4 for MILP
    assert verdict(_row("a", "s", "INFEASIBLE", None)) == "wrong"
    assert verdict(_row("a", "s", "TIMEOUT", None)) == "failed"
    assert verdict(_row("a", "s", "INFEASIBLE_OR_UNBOUNDED", None, expected="infeasible")) == "correct"
    assert verdict(_row("a", "s", "CRASH", None, expected="read_error")) == "failed"
    assert verdict(_row("a", "s", "READ_ERROR", None, expected="read_error")) == "correct"


def test_solver_table_and_report_files(tmp_path):
    rows = [_row("a", "fast", "OPTIMAL", 1.0, t=1.0), _row("b", "fast", "OPTIMAL", 1.0, t=3.0),
            _row("a", "slow", "OPTIMAL", 1.0, t=2.0), _row("b", "slow", "TIMEOUT", None, t=None),
            _row("c", "fast", "READ_ERROR", None, expected="read_error", t=None),
            _row("c", "slow", "READ_ERROR", None, expected="read_error", t=None)]
    rows[0]["history"] = [{"iter": 0, "f": 5.0}, {"iter": 1, "f": 1.0}]
    rows[2]["history"] = [{"iter": 0, "f": 5.0}, {"iter": 1, "f": 3.0}, {"iter": 2, "f": 1.0}]
    tab = {r["solver"]: r for r in solver_table(rows)}
    assert tab["fast"]["success_rate"] == 1.0 and tab["slow"]["success_rate"] == pytest.approx(2 / 3)
    # SGM over a and b (c is an input check): fast (1, 3); slow (2, limit 10)
    assert tab["fast"]["sgm_time"] == pytest.approx(math.sqrt(11 * 13) - 10)
    assert tab["slow"]["sgm_time"] == pytest.approx(math.sqrt(12 * 20) - 10)
    paths = write_report(rows, tmp_path / "rep", title="T")
    md = paths["markdown"].read_text()
    assert "| fast | 3 | 3 | 0 | 0 | 100.0 % |" in md
    assert "| slow | 3 | 2 | 0 | 1 | 66.7 % |" in md
    assert "– TIMEOUT" in md and "✓ OPTIMAL 1" in md
    assert set(paths["png"]) == {"status", "perf_profile", "data_profile"}
    html = paths["html"].read_text()
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(imgs) == 3 and all(base64.b64decode(i)[:4] == b"\x89PNG" for i in imgs)
    assert "http://" not in html and "https://" not in html  # self-contained


def test_report_of_a_real_store(tmp_path, mps_dir):
    lib = ok.problems.load(f"folder:{mps_dir}", names=["afiro", "woodinfe", "garbage"])
    runs = ok.batch.run(lib, ["highs"], settings=[{"label": "simplex", "method": "simplex"},
                                                  {"label": "ipm", "method": "ipm"}],
                        store=tmp_path / "r.sqlite", progress=False)
    assert len(runs) == 6
    paths = ok.batch.report(tmp_path / "r.sqlite", tmp_path / "out")
    md = paths["markdown"].read_text()
    assert "| highs[ipm] | 3 | 3 | 0 | 0 | 100.0 % |" in md
    assert "✓ READ_ERROR" in md and "✓ INFEASIBLE" in md
    with pytest.raises(FileNotFoundError, match="no batch store"):
        ok.batch.report(tmp_path / "missing.sqlite", tmp_path / "x")


@pytest.mark.slow
def test_multiobjective_rows_and_front_plot(tmp_path):
    """Pareto-front results become FRONT rows with IGD / hypervolume against the reference front."""
    import os

    from conftest import require_backend

    require_backend("weighted-sum")
    try:
        lib = ok.problems.load("moo")
    except Exception as exc:  # the library belongs to the multiobjective area
        if os.environ.get("OPTKIT_REQUIRE_BACKENDS") == "1":
            pytest.fail(f"library 'moo' does not load: {exc}")
        pytest.skip(f"library 'moo' does not load: {exc}")
    sel = [i for i in lib if i.name in ("bnh", "srn")]
    runs = ok.batch.run(sel, ["weighted-sum"], workers=2, time_limit=60,
                        store=tmp_path / "mo.sqlite", progress=False)
    assert len(runs) == 2
    for r in runs:
        assert r["status"] in ("FRONT", "FRONT_INCOMPLETE")
        m = r["metrics"]
        assert m["points"] == len(m["front"]) > 5 and len(m["front"][0]) == 2
        assert math.isfinite(m["igd"]) and m["igd"] >= 0
        if r["instance"] == "bnh":  # BNH's front is convex: weighted sums cover it
            assert m["hv_ratio"] > 0.9
        assert verdict(r) == ("correct" if r["status"] == "FRONT" else "failed")
    paths = ok.batch.report(tmp_path / "mo.sqlite", tmp_path / "rep")
    assert "fronts" in paths["png"]
    assert "## Multiobjective fronts" in paths["markdown"].read_text()
