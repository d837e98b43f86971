"""Checks of generated HTML: a static parse for markup that could run code, and a real headless
browser (Debian's ``chromium``, run once per call).

:func:`inspect_html` parses a page with :mod:`html.parser` and lists every tag, attribute and text
run; :func:`markup_problems` names whatever in it could execute or load something: a ``<script>``
(or ``iframe``, ``object``, ``embed``, ``svg``, ``math``, ``base``, ``form``, ``link``) tag, any
``on*`` event attribute, a URL attribute (``href``, ``src``, ``action``, ``srcset``, ...) that is not
an embedded PNG, a ``style`` attribute with ``url(`` or ``expression(``, a ``<meta http-equiv>``
other than the Content-Security-Policy. Reports and notebook summaries must give none.

Two uses: :func:`dump_dom` returns the DOM *after* the page's scripts and event handlers had their
chance to run (``--dump-dom``, with a virtual-time budget so that timers and image ``onerror``
handlers fire), so a test can tell whether injected markup executed — a payload such as
``<img src=x onerror="document.title='pwned'">`` changes the dumped ``<title>`` only if it ran;
:func:`screenshot` writes a PNG of the rendered page at a given window size.

The browser is started with a throw-away profile and everything that would reach the network or
the user's state switched off::

    chromium --headless --no-sandbox --disable-gpu --disable-background-networking
             --disable-component-update --disable-sync --no-first-run --user-data-dir=<tmp>

:func:`find` returns the executable (``OPTKIT_CHROMIUM`` overrides the search) or None, so that
tests can skip — or, in CI, fail — when no browser is installed (``apt-get install chromium``).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars")


#: tags whose presence alone can run code, load content or change where links go
DANGEROUS_TAGS = frozenset({"script", "iframe", "frame", "frameset", "object", "embed", "applet",
                            "svg", "math", "base", "form", "link", "noscript", "template",
                            "portal", "video", "audio", "source", "track"})
#: attributes holding a URL
URL_ATTRS = frozenset({"href", "src", "srcset", "action", "formaction", "xlink:href", "poster",
                       "background", "data", "codebase", "cite", "longdesc", "ping", "manifest"})
#: the only URLs optkit's pages may contain: PNG bytes optkit drew, embedded
SAFE_URL_PREFIXES = ("data:image/png;base64,",)


@dataclass
class Page:
    """What :func:`inspect_html` found: tags with their attributes, text runs, the title."""

    tags: list[tuple[str, list[tuple[str, str | None]]]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    title: str = ""


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.page.tags.append((tag.lower(), [(k.lower(), v) for k, v in attrs]))
        self._in_title = tag.lower() == "title"

    def handle_startendtag(self, tag, attrs):
        self.page.tags.append((tag.lower(), [(k.lower(), v) for k, v in attrs]))

    def handle_endtag(self, tag):
        if tag.lower() == "title":
            self._in_title = False

    def handle_data(self, data):
        self.page.text.append(data)
        if self._in_title:
            self.page.title += data


def inspect_html(html: str) -> Page:
    """Parse ``html`` (entities decoded in text and attribute values)."""
    c = _Collector()
    c.feed(html)
    c.close()
    return c.page


def markup_problems(html: str) -> list[str]:
    """Everything in ``html`` that could run code or load a resource (see module docstring);
    an empty list for an inert page."""
    out = []
    for tag, attrs in inspect_html(html).tags:
        if tag in DANGEROUS_TAGS:
            out.append(f"<{tag}> tag")
        for k, v in attrs:
            val = (v or "").strip()
            low = "".join(val.split()).lower()
            if k.startswith("on"):
                out.append(f"<{tag}> has an event attribute {k}={val!r}")
            elif k in URL_ATTRS and not val.startswith(SAFE_URL_PREFIXES):
                out.append(f"<{tag}> {k}={val[:60]!r} is not an embedded PNG")
            elif k == "style" and ("url(" in low or "expression(" in low or "javascript:" in low):
                out.append(f"<{tag}> style loads or runs something: {val[:60]!r}")
            elif tag == "meta" and k == "http-equiv" and low != "content-security-policy":
                out.append(f"<meta http-equiv={val!r}>")
    return out


class BrowserError(RuntimeError):
    """The browser is missing, failed, or did not finish in time (the message says which)."""


def find() -> str | None:
    """Path of a Chromium-family executable, or None. ``OPTKIT_CHROMIUM`` names one explicitly."""
    explicit = os.environ.get("OPTKIT_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else shutil.which(explicit)
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _url(page: str | os.PathLike) -> str:
    s = str(page)
    if s.startswith(("file:", "http:", "https:", "data:", "about:")):
        return s
    p = Path(s).resolve()
    if not p.is_file():
        raise BrowserError(f"no page to open at {p}")
    return p.as_uri()


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    exe = find()
    if exe is None:
        raise BrowserError("no headless browser found (install Debian's 'chromium' or set "
                           "OPTKIT_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="optkit-chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL, cwd=profile)
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"{Path(exe).name} did not finish within {timeout:g} s") from exc
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
        raise BrowserError(f"{Path(exe).name} exited with {proc.returncode}: " + " / ".join(tail))
    return proc


def dump_dom(page: str | os.PathLike, budget_ms: int = 2000, timeout: float = 60.0) -> str:
    """The serialised DOM of ``page`` (a file path or URL) after its scripts ran.

    ``budget_ms`` of virtual time lets timers, load and error events fire before the dump.
    """
    proc = _run([f"--virtual-time-budget={int(budget_ms)}", "--dump-dom", _url(page)], timeout)
    return proc.stdout.decode("utf-8", errors="replace")


def screenshot(page: str | os.PathLike, out: str | os.PathLike, width: int = 1280,
               height: int = 800, budget_ms: int = 2000, timeout: float = 60.0) -> Path:
    """Render ``page`` in a ``width`` × ``height`` window and write the PNG to ``out``."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    _run([f"--window-size={int(width)},{int(height)}", f"--virtual-time-budget={int(budget_ms)}",
          f"--screenshot={out}", _url(page)], timeout)
    if not out.is_file():
        raise BrowserError(f"the browser wrote no screenshot to {out}")
    return out


def require() -> str:
    """For tests: the browser executable, or skip — fail under ``OPTKIT_REQUIRE_BACKENDS=1``, as
    :mod:`optkit.testing.skips` does for backends and modules."""
    import pytest

    from .skips import REQUIRE_ENV, strict

    exe = find()
    if exe is None:
        msg = "no headless browser (Debian package 'chromium'; or set OPTKIT_CHROMIUM)"
        if strict():
            pytest.fail(f"{msg} ({REQUIRE_ENV}=1)")
        pytest.skip(msg)
    return exe
