"""The runnable examples of the core docs and the README execute and their assertions hold."""
import re
from pathlib import Path

import pytest

from conftest import require_backend

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "docs/getting_started.md", "docs/modelling.md", "docs/results.md", "docs/backends.md",
        "docs/parameters.md", "docs/nlp_derivatives.md"]


def _blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.slow
def test_doc_examples_run(doc, monkeypatch):
    text = (ROOT / doc).read_text()
    for name in ("ipopt", "scipy", "cvxpy"):
        if f'"{name}"' in text:
            require_backend(name)
    monkeypatch.chdir(ROOT)
    blocks = _blocks(ROOT / doc)
    assert blocks, f"{doc} has no python example"
    for block in blocks:
        exec(compile(block, doc, "exec"), {})
