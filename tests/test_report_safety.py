"""Hostile text in a batch store cannot become markup in report.html or report.md.

Every place user or solver text reaches a report is filled with payloads — instance, library,
label, status, expected outcome, message and title; file names, folder names and manifest names
through a real batch — and the page is checked twice: statically (``html.parser``: no
``<script>`` or other active tag, no ``on*`` attribute, no URL but embedded PNGs, the payloads
present as *text*) and in a real headless browser, where a payload that ran would change the
document title to "pwned" (a positive control shows that the check sees a payload that runs).
"""
from __future__ import annotations

import base64
import re
import shutil

import pytest

from optkit.testing.skips import require_module
from optkit.batch.reporting import write_report
from optkit.templating import md_text, visible
from optkit.testing import browser

PWN = "document.title='pwned'"
PAYLOADS = [
    f"<script>{PWN}</script>",
    f'"><img src=x onerror="{PWN}">',
    f"'><svg onload={PWN}>",
    f"javascript:{PWN}",
    f"[click](javascript:{PWN})",
    f"![x](javascript:{PWN})",
    "{{ 7*7 }}{% raw %}${7*7}",
    "\u202egnp.exe\u2066x\u2069",
    f"a|b\n# heading\n<iframe src=\"javascript:{PWN}\"></iframe>",
    f"</title><script>{PWN}</script>",
    f"<style>body{{background:url(javascript:{PWN})}}</style>",
    "<!-- unclosed comment",
]
TITLE = f"</title><script>{PWN}</script> report \u202e"


def _row(i: int, payload: str, status: str = "OPTIMAL", **kw) -> dict:
    row = {"instance": payload, "library": PAYLOADS[(i + 1) % len(PAYLOADS)],
           "label": PAYLOADS[(i + 2) % len(PAYLOADS)], "status": status, "objective": 1.0,
           "expected": "optimal", "known_objective": 1.0, "solve_time": 0.5 + i,
           "build_time": 0.01, "problem_class": "nlp", "time_limit": 10.0, "seed": None,
           "n": 2, "m": 0, "message": payload,
           "history": [{"iter": 0, "f": 5.0}, {"iter": 1, "f": 1.0}]}
    row.update(kw)
    return row


def hostile_rows() -> list[dict]:
    rows = [_row(i, p) for i, p in enumerate(PAYLOADS)]
    rows += [_row(i, p, status="CRASH", objective=None, label="crashy") for i, p in enumerate(PAYLOADS)]
    rows += [_row(0, PAYLOADS[1], status=PAYLOADS[0], expected=PAYLOADS[2], label="odd")]
    rows += [_row(1, PAYLOADS[3], label="mo", problem_class="moo",
                  metrics={"points": 2, "front": [[0.0, 1.0], [1.0, 0.0]], "complete": True,
                           "igd": 0.1, "hv_ratio": 0.9})]
    return rows


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    require_module("matplotlib")
    out = tmp_path_factory.mktemp("hostile")
    return write_report(hostile_rows(), out / "rep", title=TITLE)


def _text(page) -> str:
    return "".join(page.text)


def test_html_report_has_no_active_markup(report):
    html = report["html"].read_text(encoding="utf-8")
    assert browser.markup_problems(html) == []
    page = browser.inspect_html(html)
    tags = {t for t, _ in page.tags}
    assert tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "span",
                    "table", "thead", "tbody", "tr", "th", "td", "img"}, tags
    assert not any(k.startswith("on") for _, attrs in page.tags for k, _ in attrs)
    srcs = [v for t, attrs in page.tags for k, v in attrs if k == "src"]
    assert len(srcs) == len(report["png"]) == 4  # status, fronts, perf and data profile
    assert all(base64.b64decode(s.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n" for s in srcs)
    # the payloads are there, as text: what a reader sees is the hostile string itself
    text = _text(page)
    for p in PAYLOADS:
        assert visible(p)[:40] in text, p
    assert page.title == visible(TITLE)
    assert "{{ 7*7 }}" in text and "49" not in text  # values are never evaluated as templates
    assert "\u202e" not in html and "<U+202E>" in text  # bidi overrides shown, not applied
    csp = [dict(a) for t, a in page.tags if t == "meta" and dict(a).get("http-equiv")]
    assert csp and "default-src 'none'" in csp[0]["content"] and "script-src" not in csp[0]["content"]


def test_markdown_report_is_inert_text(report):
    md = report["markdown"].read_text(encoding="utf-8")
    assert "<script" not in md and "<img" not in md and "<iframe" not in md
    assert "](javascript" not in md and "\u202e" not in md
    # every row of a table has as many cells as its header (a '|' or newline in a name would
    # add cells or end the row)
    for block in re.findall(r"((?:^\|.*\n)+)", md, flags=re.M):
        lines = block.splitlines()
        counts = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
        assert len(counts) == 1, lines[:3]
    assert f"{md_text(PAYLOADS[0])}" in md
    # rendered as Markdown (Python-Markdown with tables, as MkDocs does), still no active markup
    markdown = require_module("markdown")
    html = markdown.markdown(md, extensions=["tables"])
    assert browser.markup_problems(html) == [
        f"<img> src={name + '.png'!r} is not an embedded PNG"
        for name in ("status", "fronts", "perf_profile", "data_profile")]
    assert "javascript:" not in " ".join(v or "" for _, a in browser.inspect_html(html).tags
                                         for _, v in a)


@pytest.mark.slow
def test_hostile_file_folder_and_manifest_names_through_a_real_batch(tmp_path, mps_dir):
    """File names, the folder name and manifest names of a folder library reach the report
    through the store (and an error message that names the file) as text only."""
    import optkit as ok

    folder = tmp_path / "<svg onload=alert(1)>"
    folder.mkdir()
    shutil.copy(mps_dir / "afiro.mps", folder / f"<img src=x onerror={PWN}>.mps")
    shutil.copy(mps_dir / "afiro.mps", folder / "named.mps")
    shutil.copy(mps_dir / "garbage.mps", folder / f"\"><body onload=\"{PWN}\">.mps")  # no '/' in a name
    (folder / "manifest.csv").write_text(
        "name,file,kind,expected,objective,n,m\n"
        f"\"<script>{PWN}</script>\",named.mps,LP,optimal,-464.7531428571,32,27\n")
    runs = ok.batch.run(f"folder:{folder}", ["highs"], store=tmp_path / "s.sqlite",
                        progress=False, time_limit=30)
    assert len(runs) == 3
    assert {r["instance"] for r in runs} >= {f"<script>{PWN}</script>", f"<img src=x onerror={PWN}>"}
    paths = ok.batch.report(tmp_path / "s.sqlite", tmp_path / "rep", title=f"<b>{PWN}</b>")
    html = paths["html"].read_text(encoding="utf-8")
    assert browser.markup_problems(html) == []
    text = _text(browser.inspect_html(html))
    assert f"<script>{PWN}</script>" in text and f"<img src=x onerror={PWN}>" in text
    assert f"\"><body onload=\"{PWN}\">" in text  # the garbage file: READ_ERROR row
    assert str(folder) in text  # the library spec names the hostile folder, as text


# ------------------------------------------------------------------ a real browser
def _dom_title(dom: str) -> str:
    return browser.inspect_html(dom).title


@pytest.mark.slow
def test_browser_positive_control(tmp_path):
    """The browser check sees a payload that runs (so a clean result below means something)."""
    browser.require()
    page = tmp_path / "live.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>safe</title></head><body>"
                    f"<img src=x onerror=\"{PWN}\"></body></html>")
    assert _dom_title(browser.dump_dom(page)) == "pwned"


@pytest.mark.slow
def test_browser_runs_no_payload(report, tmp_path):
    browser.require()
    dom = browser.dump_dom(report["html"])
    assert _dom_title(dom) == visible(TITLE)  # the title a payload would have replaced
    assert browser.markup_problems(dom) == []  # the live DOM holds no element a payload made
    # escaping alone holds: the same page without its Content-Security-Policy
    html = report["html"].read_text(encoding="utf-8")
    bare = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", html)
    assert bare != html
    (tmp_path / "bare.html").write_text(bare, encoding="utf-8")
    dom = browser.dump_dom(tmp_path / "bare.html")
    assert _dom_title(dom) == visible(TITLE) and browser.markup_problems(dom) == []


@pytest.mark.slow
def test_browser_screenshot_of_the_report(report, tmp_path):
    browser.require()
    np = require_module("numpy")
    image = require_module("matplotlib.image")
    png = browser.screenshot(report["html"], tmp_path / "report.png", width=1000, height=700)
    img = image.imread(png)
    assert img.shape[:2] == (700, 1000)
    assert float(np.std(img[..., :3])) > 0.05  # tables, text and figures: not a blank page
