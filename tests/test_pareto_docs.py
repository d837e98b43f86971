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
