"""Output of the ``optkit`` command line: aligned tables, and one JSON document on stdout.

With ``--json`` everything a command or a native library would print while it runs goes to
stderr (file descriptor 1 is pointed at 2, and ``sys.stdout`` at ``sys.stderr``), so stdout
carries exactly one JSON document: :func:`json_mode` and :func:`emit`.
"""
from __future__ import annotations

import json
import math
import os
import sys
from contextlib import contextmanager
from typing import Any
from collections.abc import Iterator


def table(rows: list[dict], cols: list[str]) -> str:
    w = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in cols}
    lines = ["  ".join(c.ljust(w[c]) for c in cols), "  ".join("-" * w[c] for c in cols)]
    lines += ["  ".join(str(r.get(c, "")).ljust(w[c]) for c in cols) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def plain(o: Any) -> Any:
    """JSON-ready copy: NaN and ±inf become None, paths and other objects text."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple, set)):
        return [plain(v) for v in o]
    if o is None or isinstance(o, (str, int, bool)):
        return o
    if hasattr(o, "item"):
        try:
            return plain(o.item())
        except (TypeError, ValueError):
            pass
    if hasattr(o, "tolist"):
        return plain(o.tolist())
    return str(o)


class JsonOut:
    """Where a command in ``--json`` mode puts its document (printed once, at the end)."""

    def __init__(self) -> None:
        self.doc: Any = None
        self.fd: int | None = None  # the real stdout while the command runs (for a watchdog)

    def set(self, doc: Any) -> None:
        self.doc = doc


@contextmanager
def json_mode(enabled: bool) -> Iterator[JsonOut]:
    """While the block runs, stdout (fd 1 and ``sys.stdout``) goes to stderr; afterwards the
    document given to ``out.set`` is written to the real stdout."""
    out = JsonOut()
    if not enabled:
        yield out
        return
    saved_py = sys.stdout
    sys.stdout.flush()
    saved_fd = None
    try:
        saved_fd = os.dup(1)
        os.dup2(2, 1)
        out.fd = saved_fd
    except OSError:  # no real file descriptors (embedded interpreters)
        saved_fd = None
    sys.stdout = sys.stderr
    try:
        yield out
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):  # pragma: no cover
            pass
        sys.stdout = saved_py
        if saved_fd is not None:
            os.dup2(saved_fd, 1)
            os.close(saved_fd)
        if out.doc is not None:
            emit(out.doc)


def emit(doc: Any) -> None:
    """Write one JSON document to stdout."""
    sys.stdout.write(json.dumps(plain(doc), indent=1, allow_nan=False) + "\n")
    sys.stdout.flush()
