"""Helpers for native libraries that talk on the process's file descriptors."""
from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def quiet_stdout():
    """Silence C-level writes to stdout (fd 1) inside the block, e.g. HiGHS's start-up banner."""
    try:
        sys.stdout.flush()
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no real stdout (captured, notebook): nothing to do
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


_QUIET_LOCK = threading.Lock()
_QUIET: dict[str, Any] = {"depth": 0, "saved_fd": None, "saved_stdout": None}


@contextlib.contextmanager
def quiet_native() -> Iterator[None]:
    """Silence a native library's output to stdout inside the block.

    Both channels a native solver uses are closed: file descriptor 1 (C ``printf``; redirected
    to the null device, whatever ``sys.stdout`` is — under pytest or Jupyter it is not fd 1) and
    ``sys.stdout`` (extensions that print through Python, e.g. OSQP's polishing note). The C
    runtime's stdout buffer is flushed before fd 1 is restored, so buffered text cannot escape
    after the block. Nested and concurrent blocks share one redirection (reference count under
    a lock): the first entry saves the real stdout, the last exit restores it. stderr is left
    alone (errors stay visible).
    """
    with _QUIET_LOCK:
        if _QUIET["depth"] == 0:
            try:
                sys.stdout.flush()
            except (AttributeError, OSError, ValueError):
                pass
            try:
                saved = os.dup(1)
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.close(null)
            except OSError:  # no fd 1 in this process: only the Python channel is closed
                saved = None
            _QUIET["saved_fd"], _QUIET["saved_stdout"] = saved, sys.stdout
            sys.stdout = io.StringIO()
        _QUIET["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET["depth"] -= 1
            if _QUIET["depth"] == 0:
                try:
                    ctypes.CDLL(None).fflush(None)
                except (OSError, AttributeError):  # no C runtime to flush here
                    pass
                sys.stdout = _QUIET["saved_stdout"]
                saved = _QUIET["saved_fd"]
                if saved is not None:
                    os.dup2(saved, 1)
                    os.close(saved)
                _QUIET["saved_fd"] = _QUIET["saved_stdout"] = None


def new_highs():
    """A highspy.Highs object with its output off, created without printing the banner."""
    import highspy

    with quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h
