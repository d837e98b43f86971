"""docs/batch.md: its python examples run, in order, in one namespace, and their asserts hold."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a whole demo / docs page: seconds

ROOT = Path(__file__).resolve().parents[1]


def test_batch_doc_examples(monkeypatch, mps_dir):
    monkeypatch.chdir(ROOT)
    text = (ROOT / "docs" / "batch.md").read_text()
    if not (ROOT.parent / "shared" / "data" / "mps").is_dir():  # doc paths are ../shared/...
        text = text.replace("../shared/data/mps", str(mps_dir))
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 5
    ns: dict = {}
    for b in blocks:
        exec(compile(b, "docs/batch.md", "exec"), ns)
    assert (ROOT / "docs" / "img" / "batch_report.png").is_file()
