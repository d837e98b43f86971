"""HiGHS's file reader, with its log captured, in this process or in a child that can be stopped.

:func:`highs_read` reads one MPS/LP file with HiGHS and returns plain data: the read status,
every log message of the reader (HiGHS's warnings are only log lines), and the model as numpy
arrays (the matrix as CSC start/index/value, the Hessian's lower triangle likewise).

:func:`guarded_read` runs the same function in a forked child process and ships the arrays back
through a pipe; at the deadline the child is killed and :class:`~optkit.errors.ReadTimeoutError`
is raised ("reading FILE did not finish within T s"). HiGHS 1.16's fixed-format MPS parser can
loop for ever on a one-line edit, and a native loop cannot be interrupted in-process.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from typing import Any

import numpy as np

from ..errors import ReadError, ReadTimeoutError


def highs_read(path: str) -> dict[str, Any]:
    """Read ``path`` with HiGHS; {'status': 'ok'|'warning'|'error', 'messages': [...], arrays}."""
    import highspy

    from ..native import new_highs

    h = new_highs()
    messages: list[str] = []

    def log(_type, message, _out, _in, _user) -> None:
        messages.append(message.rstrip("\n"))

    h.setCallback(log, None)
    h.startCallback(highspy.cb.HighsCallbackType.kCallbackLogging)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("output_flag", True)  # the callback sees only what would be logged
    try:
        status = h.readModel(path)
    except UnicodeDecodeError as exc:  # a message or name that is not UTF-8 (the caller transcodes)
        raise ReadError(f"{path}: text that is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    h.setOptionValue("output_flag", False)
    out: dict[str, Any] = {"messages": messages,
                           "status": {highspy.HighsStatus.kOk: "ok",
                                      highspy.HighsStatus.kWarning: "warning"}.get(status, "error")}
    if out["status"] == "error":
        return out
    try:
        lp = h.getLp()
        names = (list(lp.col_names_), list(lp.row_names_))
    except UnicodeDecodeError as exc:
        raise ReadError(f"{path}: names that are not UTF-8 ({exc.reason} at byte {exc.start})") from None
    a = lp.a_matrix_
    hess = h.getModel().hessian_
    out.update(
        n=int(lp.num_col_), m=int(lp.num_row_), inf=float(h.getInfinity()),
        rowwise=a.format_ == highspy.MatrixFormat.kRowwise,
        a_start=np.asarray(a.start_, np.int64), a_index=np.asarray(a.index_, np.int64),
        a_value=np.asarray(a.value_, float),
        q_dim=int(hess.dim_), q_start=np.asarray(hess.start_, np.int64),
        q_index=np.asarray(hess.index_, np.int64), q_value=np.asarray(hess.value_, float),
        c=np.asarray(lp.col_cost_, float), offset=float(lp.offset_),
        maximize=lp.sense_ == highspy.ObjSense.kMaximize,
        rl=np.asarray(lp.row_lower_, float), ru=np.asarray(lp.row_upper_, float),
        lb=np.asarray(lp.col_lower_, float), ub=np.asarray(lp.col_upper_, float),
        integrality=np.asarray(lp.integrality_, dtype=np.int64) if len(lp.integrality_) else None,
        col_names=names[0], row_names=names[1])
    return out


def _child(path: str, conn) -> None:
    """Child body: read, send the result (or the exception's text), exit without cleanup."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)  # the child's native output goes nowhere
        conn.send(("ok", highs_read(path)))
    except BaseException as exc:  # report anything to the parent, which decides
        try:
            conn.send(("exception", f"{type(exc).__name__}: {exc}"))
        except Exception:
            pass
    finally:
        conn.close()
        os._exit(0)


def _context():
    """'fork' where the platform has it (a few ms, highspy already imported), else 'spawn'."""
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def guarded_read(path: str, time_limit: float, label: str | None = None) -> dict[str, Any]:
    """:func:`highs_read` in a child process killed after ``time_limit`` seconds."""
    label = label or path
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(path, child), daemon=True)
    deadline = time.monotonic() + max(0.0, float(time_limit))
    proc.start()
    child.close()
    try:
        while True:
            left = deadline - time.monotonic()
            if parent.poll(max(0.0, min(left, 0.5))):
                try:
                    kind, payload = parent.recv()
                except EOFError:  # the child died before sending anything
                    proc.join(1.0)
                    code = proc.exitcode
                    why = (f"signal {signal.Signals(-code).name}" if code is not None and code < 0
                           else f"exit code {code}")
                    raise ReadError(f"{label}: HiGHS's reader crashed ({why})") from None
                if kind == "exception":
                    raise ReadError(f"{label}: HiGHS's reader failed: {payload}")
                return payload
            if not proc.is_alive() and not parent.poll(0):
                code = proc.exitcode
                why = (f"signal {signal.Signals(-code).name}" if code is not None and code < 0
                       else f"exit code {code}")
                raise ReadError(f"{label}: HiGHS's reader crashed ({why})")
            if time.monotonic() >= deadline:
                raise ReadTimeoutError(f"reading {label} did not finish within {time_limit:g} s")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5.0)
        parent.close()
        if proc.exitcode is not None:
            proc.close()


__all__ = ["guarded_read", "highs_read"]
