"""The documentation site: ``mkdocs build --strict`` passes, the API reference covers every name
in ``optkit.__all__``, every page of docs/ is in the nav, and headless Chromium renders the built
site (a fresh screenshot is a non-blank PNG of the window's size)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from optkit.testing.skips import require_module
from optkit.testing import browser

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # one MkDocs build (about 5-20 s) and a browser run

SIZE = (1280, 800)  # the window of docs/img/site_screenshot.png
SCREENSHOT_PAGE = "api/results/index.html"


def build(out: Path) -> subprocess.CompletedProcess:
    """``mkdocs build --strict`` of the project's site into ``out``."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f",
                           str(ROOT / "mkdocs.yml"), "-d", str(out)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        require_module(module)
    out = tmp_path_factory.mktemp("site")
    proc = build(out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_strict_build_has_no_warnings(site):
    assert (site / "index.html").is_file() and (site / "api" / "index.html").is_file()
    assert (site / "writing_a_backend" / "index.html").is_file()
    assert (site / "gallery" / "index.html").is_file()


def test_api_reference_covers_every_public_name(site):
    import optkit as ok

    ids = set()
    for page in (site / "api").rglob("index.html"):
        ids |= set(re.findall(r'id="(optkit(?:\.[A-Za-z_]\w*)+)"', page.read_text()))
    def documented(name: str) -> bool:  # as optkit.NAME, or where a lazy name is defined
        obj = getattr(ok, name)
        home = obj.__name__ if isinstance(obj, type(ok)) else f"{getattr(obj, '__module__', '')}.{name}"
        return f"optkit.{name}" in ids or home in ids

    missing = [name for name in ok.__all__ if not documented(name)]
    assert not missing, f"add these names of optkit.__all__ to docs/api/*.md: {missing}"
    # the entries are generated from the docstrings, not written by hand
    html = (site / "api" / "results" / "index.html").read_text()
    assert "Outcome of one solve." in html and "is_solved" in html


def test_every_docs_page_is_in_the_nav():
    yaml = require_module("yaml")
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]

    def pages(node):
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            for n in node:
                yield from pages(n)
        elif isinstance(node, dict):
            for v in node.values():
                yield from pages(v)

    listed = set(pages(nav))
    docs = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert docs - listed == set(), f"pages missing from mkdocs.yml's nav: {sorted(docs - listed)}"
    assert listed - docs == set()


def test_index_examples_run(monkeypatch):
    monkeypatch.chdir(ROOT)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "index.md").read_text(), flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "docs/index.md", "exec"), {})


def _png_stats(path: Path):
    np = require_module("numpy")
    image = require_module("matplotlib.image")
    img = image.imread(path)
    rgb = img[..., :3].astype(float)
    return img.shape[:2], float(np.std(rgb)), float(np.mean(rgb.min(axis=2) < 0.9))


def test_site_screenshot_in_headless_chromium(site, tmp_path):
    browser.require()
    shot = browser.screenshot(site / SCREENSHOT_PAGE, tmp_path / "site.png", *SIZE)
    shape, spread, inked = _png_stats(shot)
    assert shape == (SIZE[1], SIZE[0])
    assert spread > 0.1 and inked > 0.02  # header bar, navigation, text: not a blank page
    kept = ROOT / "docs" / "img" / "site_screenshot.png"  # the one shown on docs/index.md
    assert _png_stats(kept)[0] == (SIZE[1], SIZE[0])


if __name__ == "__main__":  # refresh docs/img/site_screenshot.png: python tests/test_docs_site.py
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        proc = build(Path(tmp) / "site")
        if proc.returncode != 0:
            sys.exit(proc.stdout + proc.stderr)
        print(browser.screenshot(Path(tmp) / "site" / SCREENSHOT_PAGE,
                                 ROOT / "docs" / "img" / "site_screenshot.png", *SIZE))
