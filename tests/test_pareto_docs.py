"""The Python examples of docs/multiobjective.md run and their assertions hold."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "multiobjective.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_doc_has_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_doc_example_runs(i):
    exec(compile(BLOCKS[i], f"{DOC.name}[block {i}]", "exec"), {"__name__": "__doc_example__"})


@pytest.mark.slow
def test_demo_runs(tmp_path):
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "examples" / "demo_pareto.py"
    spec = importlib.util.spec_from_file_location("demo_pareto", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    md = mod.run(tmp_path)
    assert "identical sets" in md and "DIFFERENT" not in md
    assert (tmp_path / "pareto_zdt1.png").stat().st_size > 0
    assert (tmp_path / "pareto_portfolio.png").stat().st_size > 0
