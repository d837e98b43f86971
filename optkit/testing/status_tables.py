"""Status tables generated from the code: each backend's declared ``STATUS_MAP`` as Markdown.

``markdown()`` loads every registered backend through the registry (the core names none) and
renders, for each one whose ``STATUS_MAP`` is not empty, its native statuses → optkit
``Termination`` in declaration order. ``scripts/gen_status_tables.py`` writes it into
docs/results.md between :data:`START` and :data:`END`, and a test fails when the page differs
from what the code declares, so the docs cannot drift from the tables the core really uses.
"""
from __future__ import annotations

import re
from enum import Enum
from typing import Any

START = "<!-- status-tables:start -->"
END = "<!-- status-tables:end -->"
EXCLUSIONS_START = "<!-- conformance-exclusions:start -->"
EXCLUSIONS_END = "<!-- conformance-exclusions:end -->"
CASES_START = "<!-- conformance-cases:start -->"
CASES_END = "<!-- conformance-cases:end -->"
DECLARATIONS_START = "<!-- backend-declarations:start -->"
DECLARATIONS_END = "<!-- backend-declarations:end -->"


def _label(status: Any) -> str:
    """A native status as the docs show it: strings and numbers as they are, enum members by
    their qualified name."""
    if isinstance(status, Enum):
        return f"{type(status).__name__}.{status.name}"
    if isinstance(status, tuple):
        return ", ".join(_label(s) for s in status)
    return str(status)


def tables(strict: bool = True) -> dict[str, list[tuple[str, str]]]:
    """Backend name → [(native status, termination)] for every backend with a status table.

    A registered backend that fails to load raises (``strict``): a page generated without it
    would be wrong; with ``strict=False`` it is left out.
    """
    from .. import registry

    out: dict[str, list[tuple[str, str]]] = {}
    for name in registry.names():
        try:
            backend = registry.get(name)
        except Exception:
            if strict:
                raise
            continue
        table = getattr(backend, "STATUS_MAP", None) or {}
        if table:
            out[name] = [(_label(k), str(v)) for k, v in table.items()]
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(strict: bool = True) -> str:
    """The status tables of every backend (see module docstring), as one Markdown block."""
    parts = []
    for name, rows in tables(strict).items():
        parts.append(f"#### `{name}`\n")
        parts.append("| native status | termination |")
        parts.append("|---|---|")
        parts += [f"| `{_cell(k)}` | {v} |" for k, v in rows]
        parts.append("")
    if not parts:
        return "(no backend declares a status table yet)\n"
    return "\n".join(parts)


def _option_text(name: str, spec: Any) -> str:
    from ..options import Option

    if not isinstance(spec, Option):
        return f"`{name}`"
    dom = spec.domain
    if isinstance(dom, tuple) and dom and not isinstance(dom[0], type):
        return f"`{name}` ∈ {{{', '.join(map(str, dom))}}}"
    if isinstance(dom, type) or (isinstance(dom, tuple) and dom):
        types = dom if isinstance(dom, tuple) else (dom,)
        return f"`{name}`: {' or '.join(t.__name__ for t in types)}"
    return f"`{name}`"


def declarations_markdown(strict: bool = True) -> str:
    """What every registered backend declares (accepts, priority, capabilities, options, whether
    it lists its native options), as one Markdown table (docs/backends.md)."""
    from .. import registry
    from ..backend import Backend

    lines = ["| backend | accepts | default rank (priority) | capabilities | own options | "
             "native options listed | status table |", "|---|---|---|---|---|---|---|"]
    for name in registry.names():
        try:
            b = registry.get(name)
        except Exception:
            if strict:
                raise
            continue
        prio = ", ".join(f"{k} {v:g}" for k, v in sorted(b.priority.items())) or "—"
        if type(b).priority_for is not Backend.priority_for:
            prio += " (refined by size)"
        opts = "; ".join(_option_text(k, v) for k, v in (b.options or {}).items()) or "—"
        try:
            listed = b.solver_option_names()
        except Exception:
            listed = None
        native = f"yes ({len(listed)})" if listed is not None else "no"
        table = f"{len(b.STATUS_MAP)} statuses" if b.STATUS_MAP else "—"
        lines.append(f"| `{name}` | {', '.join(sorted(b.accepts))} | {prio} | "
                     f"{', '.join(sorted(b.capabilities)) or '—'} | {_cell(opts)} | {native} | "
                     f"{table} |")
    return "\n".join(lines)


def replace_block(text: str, start: str, end: str, block: str) -> str:
    """``text`` with everything between the ``start`` and ``end`` markers replaced by ``block``."""
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), flags=re.S)
    if not pattern.search(text):
        raise ValueError(f"markers {start} … {end} not found")
    return pattern.sub(lambda _: f"{start}\n{block.rstrip()}\n{end}", text, count=1)


def generated_pages(root, strict: bool = True) -> dict:
    """{path: new text} for the pages whose generated blocks come from the code."""
    from pathlib import Path

    from . import conformance

    root = Path(root)
    results = root / "docs" / "results.md"
    backends = root / "docs" / "backends.md"
    out = {results: replace_block(results.read_text(), START, END, markdown(strict))}
    text = backends.read_text()
    text = replace_block(text, DECLARATIONS_START, DECLARATIONS_END, declarations_markdown(strict))
    text = replace_block(text, EXCLUSIONS_START, EXCLUSIONS_END, conformance.exclusions_markdown())
    text = replace_block(text, CASES_START, CASES_END, conformance.cases_markdown())
    out[backends] = text
    return out
