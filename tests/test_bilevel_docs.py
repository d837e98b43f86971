"""The Python examples of docs/bilevel.md run and their assertions hold."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "bilevel.md"


def test_bilevel_doc_examples_run():
    from optkit.testing.skips import require_module

    require_module("pyscipopt")  # the first example is a mixed-integer QP (SCIP)
    text = DOC.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 5
    ns: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), ns)
