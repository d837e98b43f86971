"""The one jinja2 environment of optkit's HTML and Markdown output (reports, notebook summaries).

Text that comes from users or solvers — problem, file and manifest names, labels, messages,
titles — reaches markup only as a template *value*, never by string interpolation, and every
value is made safe on output:

- **HTML** templates (``*.html.j2``) are autoescaped: ``<``, ``>``, ``&``, ``"`` and ``'`` become
  entities, so a value can neither open a tag nor leave a quoted attribute. Only values built by
  optkit itself are marked safe (``data:image/png;base64,…`` URIs of PNG bytes optkit rendered).
- **Markdown** templates (``*.md.j2``) pass every value through :func:`md_text`: HTML
  metacharacters become entities (Markdown renderers pass raw HTML through), ``|`` is escaped
  (it would split a table cell), line breaks become spaces (they would end a table row) and
  ``](`` is broken (it would start a link or an image, e.g. to a ``javascript:`` URL).
- In both, :func:`visible` shows control characters and Unicode bidirectional controls (U+202E
  RIGHT-TO-LEFT OVERRIDE and kin, which reorder what is displayed around them) as ``<U+202E>``,
  so a name reads as what it is.

Templates live in ``optkit/templates`` (notebook summaries, shared macros) and
``optkit/batch/templates`` (the batch report), and are package data.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

TEMPLATE_DIRS = (Path(__file__).parent / "templates", Path(__file__).parent / "batch" / "templates")

# C0/C1 controls except tab and newline, and the bidirectional formatting characters
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MD_SPECIAL = re.compile(r"[&<>|\r\n\t]|\]\(")
_MD_REPL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|", "\r": " ", "\n": " ", "\t": " ",
            "](": "]\\("}


@dataclass(frozen=True)
class Cell:
    """One table cell of a template context: its text and a CSS class (``ok``, ``bad``,
    ``fail`` or empty)."""

    text: str
    cls: str = ""


def visible(text: str) -> str:
    """``text`` with control and bidi-control characters shown as ``<U+XXXX>``."""
    return _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def md_text(value: Any) -> str:
    """A value as inert Markdown text (see module docstring)."""
    s = visible("" if value is None else str(value))
    return _MD_SPECIAL.sub(lambda m: _MD_REPL[m.group()], s)


def fmt(value: Any, digits: int = 4) -> str:
    """Numbers to ``digits`` significant digits, NaN as "n/a", None as ""; others as str."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.{digits}g}"
    return str(value)


def _finalize_html(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


def _finalize_md(value: Any) -> Any:
    return md_text(value)


@cache
def environment() -> jinja2.Environment:
    """The HTML environment: autoescaped, undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in TEMPLATE_DIRS]),
        autoescape=True, undefined=jinja2.StrictUndefined, finalize=_finalize_html,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["fmt"] = fmt
    return env


@cache
def markdown_environment() -> jinja2.Environment:
    """The Markdown environment: the same loader and filters, every value through md_text."""
    return environment().overlay(autoescape=False, finalize=_finalize_md)


def render_html(template: str, **context: Any) -> str:
    """Render an HTML template (autoescaped)."""
    return environment().get_template(template).render(**context)


def render_markdown(template: str, **context: Any) -> str:
    """Render a Markdown template (every value through :func:`md_text`)."""
    return markdown_environment().get_template(template).render(**context)


def data_uri(png: bytes) -> Markup:
    """A ``data:image/png;base64,…`` URI for PNG bytes optkit produced (refuses anything else)."""
    import base64

    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("data_uri embeds PNG images only")
    return Markup("data:image/png;base64," + base64.b64encode(png).decode("ascii"))
