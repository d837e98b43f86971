"""optkit's loggers, created in one place.

One logger tree under ``optkit``: ``get_logger("solvers.highs")`` is ``optkit.solvers.highs``,
``backend_logger("highs")`` the same; the batch runner logs on ``optkit.batch``. Library code never
prints: it logs, and the application decides where records go (``logging.basicConfig``, a
handler on ``optkit``, pytest's ``caplog``).

``verbose=`` of a solve maps to a level for that solve:

    ========================  =========
    verbose                   level
    ========================  =========
    False / None / 0          WARNING (only warnings and errors: the library's default)
    True / 1                  INFO    (one line before and after each solve, method progress)
    2 or more                 DEBUG   (also KKT details and per-iteration records)
    ========================  =========

During a verbose solve the ``optkit`` logger's level is lowered to that level (never raised: a
level the application set lower stays). A stderr handler is attached for that solve only when
nothing is configured to receive the records (no handler on ``optkit`` or its ancestors, the
root logger included), so ``verbose=True`` prints progress in a bare script and stays out of the
way of an application that configured logging itself.
"""
from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

ROOT = "optkit"
_FORMAT = "%(name)s: %(message)s"


def get_logger(name: str | None = None) -> logging.Logger:
    """The ``optkit`` logger (``name`` None) or its child ``optkit.<name>``."""
    if not name or name == ROOT:
        return logging.getLogger(ROOT)
    if name.startswith(ROOT + "."):
        return logging.getLogger(name)
    return logging.getLogger(f"{ROOT}.{name}")


def backend_logger(backend_name: str) -> logging.Logger:
    """The child logger of a backend: ``optkit.solvers.<name>``."""
    return get_logger(f"solvers.{backend_name}")


def level_for(verbose: object) -> int:
    """The logging level of ``verbose``: falsy → WARNING, True/1 → INFO, 2 or more → DEBUG."""
    if not verbose:
        return logging.WARNING
    if isinstance(verbose, bool):
        return logging.INFO
    try:
        v = int(verbose)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return logging.INFO
    return logging.DEBUG if v >= 2 else logging.INFO


@contextlib.contextmanager
def verbose_scope(verbose: object) -> Iterator[logging.Logger]:
    """Within the block, records of the ``optkit`` tree at ``level_for(verbose)`` and above are
    emitted (see module docstring); the logger's level and handlers are restored afterwards."""
    root = get_logger()
    level = level_for(verbose)
    if level >= logging.WARNING:
        yield root
        return
    old_level = root.level
    handler = None
    if not root.hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
    if root.getEffectiveLevel() > level:
        root.setLevel(level)
    try:
        yield root
    finally:
        root.setLevel(old_level)
        if handler is not None:
            root.removeHandler(handler)


def log_result(result: object) -> None:
    """One INFO line on the solving backend's logger (termination, objective, verdict, time) and,
    at DEBUG, optkit's KKT report and the message; works for every result type."""
    lg = backend_logger(str(getattr(result, "solver", "") or "unknown"))
    if not lg.isEnabledFor(logging.INFO):
        return
    obj = getattr(result, "objective", None)
    obj_s = f"{obj:.10g}" if isinstance(obj, (int, float)) else "n/a"
    secs = (getattr(result, "timings", None) or {}).get("total")
    lg.info("%s: objective %s, verified %s, %s iterations%s",
            getattr(result, "termination", "?"), obj_s, getattr(result, "verified", None),
            getattr(result, "iterations", None), f", {secs:.3g} s" if secs is not None else "")
    if lg.isEnabledFor(logging.DEBUG):
        lg.debug("KKT report: %s", dict(getattr(result, "kkt", None) or {}))
        if getattr(result, "message", ""):
            lg.debug("message: %s", result.message)  # type: ignore[attr-defined]
