"""Backends that misbehave on purpose, to test batch isolation.

Reference them by "module:Class" name (``optkit.registry.get`` loads those), e.g.
``ok.batch.run(lib, ["highs", "optkit.testing.faulty:CrashBackend"])``. They accept LP/MILP/QP and
are importable in any worker process:

- ``CrashBackend``   aborts the process (SIGABRT) after printing a line — a CRASH row.
- ``SegfaultBackend`` dereferences NULL — a CRASH row (signal SIGSEGV).
- ``HangBackend``    never returns (sleeps, ignoring its time limit) — a TIMEOUT row.
- ``MemoryHogBackend`` allocates 64 MB blocks (and touches them) without bound — a MEMORY row
  under a memory cap; it refuses to run without one (RLIMIT_AS unlimited), returning ERROR,
  so it can never take a machine down.
- ``RaiseBackend``   raises RuntimeError — an ERROR row (the exception text in the message).
- ``SlowBackend``    sleeps ``delay`` seconds (option, default 0.3) then solves with the
  default backend of the problem's class (asked of the registry by priority: HiGHS here), whose
  answer it reports through that backend's status table: a well-behaved but slow backend for
  interruption tests.
"""
from __future__ import annotations

import ctypes
import os
import resource
import sys
import time

from optkit.backend import Backend
from optkit.options import SolveOptions
from optkit.results import Result

_LINEAR = frozenset({"lp", "milp", "qp"})


def _say(line: str, stream=None) -> None:
    """Write one line straight to the worker's stdout (or ``stream``) and flush: these backends
    are noisy on purpose, so that the batch runner's capture of a dying worker's output is tested
    (they are test fixtures, not library code that would log)."""
    stream = sys.stdout if stream is None else stream
    stream.write(line + "\n")
    stream.flush()


class _Faulty(Backend):
    accepts = _LINEAR
    options = {}  # a Backend declaration (ClassVar on Backend)

    def version(self) -> str:
        return "test"


class CrashBackend(_Faulty):
    """Aborts the whole process."""

    name = "crash"

    def solve_linear(self, form, options: SolveOptions) -> Result:
        _say("crash backend: about to abort")
        os.abort()


class SegfaultBackend(_Faulty):
    """Segfaults (reads address 0)."""

    name = "segfault"

    def solve_linear(self, form, options: SolveOptions) -> Result:
        _say("segfault backend: reading NULL")
        ctypes.string_at(0)
        raise AssertionError("unreachable")  # pragma: no cover


class HangBackend(_Faulty):
    """Never returns."""

    name = "hang"

    def solve_linear(self, form, options: SolveOptions) -> Result:
        _say("hang backend: sleeping forever")
        while True:
            time.sleep(0.5)


class MemoryHogBackend(_Faulty):
    """Allocates without bound (only under an address-space cap)."""

    name = "memory-hog"

    def solve_linear(self, form, options: SolveOptions) -> Result:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            raise RuntimeError("memory-hog backend refuses to allocate without bound: no memory "
                               "limit (RLIMIT_AS) is set; run the batch with memory_limit")
        blocks = []
        _say("memory-hog backend: allocating")
        while True:
            b = bytearray(64 * 2**20)
            b[::4096] = b"\1" * len(b[::4096])  # touch every page
            blocks.append(b)


class RaiseBackend(_Faulty):
    """Raises an ordinary exception."""

    name = "raise"

    def solve_linear(self, form, options: SolveOptions) -> Result:
        raise RuntimeError("raise backend: deliberate failure")


class SlowBackend(_Faulty):
    """Sleeps, then solves with the registry's default backend for the class (see module doc)."""

    name = "slow"
    options = {"delay": 0.3}

    def solve_linear(self, form, options: SolveOptions) -> Result:
        from optkit import registry
        from optkit.finish import to_result

        time.sleep(float(options.get("delay", 0.3)))
        inner = registry.best_for(form.problem_class, exclude=(self.name,))
        res = to_result(inner.solve_linear(form, options), inner)
        res.solver = self.name
        _say(f"slow backend done in pid {os.getpid()}", sys.stderr)
        return res
