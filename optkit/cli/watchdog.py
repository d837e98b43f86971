"""The whole-command deadline of ``optkit solve --time-limit T``.

Reading is bounded by the reader itself (``time_limit`` runs HiGHS's parser in a child process
that is killed at the deadline) and the solve gets the time that is left; the watchdog is the
last line. ``grace`` seconds after the deadline a daemon thread writes one line on stderr and
ends the process with exit status 1 (``os._exit``: no cleanup that could hang). That thread
needs Python's GIL; native code that holds the GIL and never returns would starve it, so a
real command (``hard=True``) also arms two things that need no GIL, ``backstop`` seconds later:
a forked watcher process that writes the same line, and ``faulthandler``'s C-level timer, which
ends the process with exit status 1 (its stack dump goes to /dev/null).
"""
from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import threading
import time
from typing import IO


class Watchdog:
    """``Watchdog(T, message).start()``; ``cancel()`` once the command has finished."""

    def __init__(self, seconds: float, message: str, grace: float = 2.0, backstop: float = 1.0,
                 hard: bool = True):
        self.seconds, self.message, self.grace, self.backstop = seconds, message, grace, backstop
        self.hard = hard
        self.started = time.monotonic()
        self._timer: threading.Timer | None = None
        self._watcher: int | None = None
        self._devnull: IO[str] | None = None
        #: (file descriptor, bytes) also written when the watchdog fires: --json's document
        self.also: tuple[int, bytes] | None = None

    def remaining(self) -> float:
        """Seconds left of the command's time limit (negative once it has passed)."""
        return self.seconds - (time.monotonic() - self.started)

    def start(self) -> Watchdog:
        self.started = time.monotonic()
        self._timer = threading.Timer(self.seconds + self.grace, self._fire)
        self._timer.daemon = True
        self._timer.start()
        if self.hard:
            self._arm_backstop(self.seconds + self.grace + self.backstop)
        return self

    def _fire(self) -> None:
        try:
            self._speak((self.message + "\n").encode("utf-8", "replace"))
        finally:
            os._exit(1)

    def _speak(self, line: bytes) -> None:
        os.write(2, line)
        if self.also is not None:
            os.write(*self.also)

    def _arm_backstop(self, after: float) -> None:
        line = (self.message + "\n").encode("utf-8", "replace")
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the watcher: sleeps, then speaks for a parent that cannot
            try:
                try:
                    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL, 0, 0, 0)  # die with it
                except OSError:  # pragma: no cover - not Linux
                    pass
                time.sleep(max(0.0, after - 0.2))
                if os.getppid() == parent:
                    self._speak(line)
            finally:
                os._exit(0)
        self._watcher = pid
        devnull = self._devnull = open(os.devnull, "w")  # noqa: SIM115 - held until cancel()
        faulthandler.dump_traceback_later(after, exit=True, file=devnull)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._watcher is not None:
            faulthandler.cancel_dump_traceback_later()
            try:
                os.kill(self._watcher, signal.SIGKILL)
                os.waitpid(self._watcher, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self._watcher = None
        if self._devnull is not None:
            self._devnull.close()
            self._devnull = None
