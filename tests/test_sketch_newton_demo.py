"""The main-job demo runs and reports solved problems."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a whole demo / docs page: seconds


def test_demo_runs(tmp_path):
    path = Path(__file__).resolve().parents[1] / "examples" / "demo_sketch_newton.py"
    spec = importlib.util.spec_from_file_location("demo_sketch_newton", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    md = mod.run(tmp_path)
    assert md.startswith("## AdaSketch-Newton")
    assert md.count("LOCALLY_OPTIMAL") >= 10
    assert "NUMERICAL_ERROR" in md          # PRICE4NE's singular-Jacobian stop
