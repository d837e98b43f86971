"""Executors: where batch jobs run, each isolated in its own process group.

**Local** (:func:`run_local`): ``workers`` long-lived *slot* processes, by default forked from
multiprocessing's fork server — a clean interpreter with optkit preloaded — so they inherit no
thread or native-library state of the batch process (HiGHS's thread pool after a MIP solve would
hang a plainly forked child); jobs are sent to them by cloudpickle. ``method="fork"`` forks the
batch process itself instead (the job list is inherited, nothing pickled). Each slot calls
``os.setsid()`` (its own process group), asks the kernel to kill it when its parent dies
(``PR_SET_PDEATHSIG``; the fork server exits when the batch process does), optionally caps its
address space (``RLIMIT_AS``), and runs jobs one after another with stdout/stderr (file
descriptors 1 and 2, so native solver output too) redirected to a per-job log file. The parent
keeps a hard deadline per job (``time_limit + grace``); past it the whole process group is killed
with SIGKILL and the job becomes a TIMEOUT row. A slot that dies (abort, segfault, OOM kill)
yields a CRASH row (MEMORY when a memory cap is set and the log shows an allocation failure) and
is replaced by a fresh one. Reusing slots is the fast path for many small jobs: per-job overhead
is one pickled job, one pipe round trip and one SQLite insert, not a process start; each slot
holds up to two jobs in its pipe; ``reuse=False`` starts one process per job instead.
Consecutive jobs on the same instance are sent to the slot that built it last, which reuses the
built model (``ModelCache``).

**Temporary folders.** Job logs go to ``$TMPDIR/optkit-batch-PID-*`` (PID: the batch process),
removed when :func:`run_local` returns or raises (Ctrl-C; SIGTERM once the runner has turned it
into ``SystemExit``). multiprocessing's own folder for the fork server's socket (``pymp-*``) is
placed in ``$TMPDIR/optkit-batch-PID-mp`` instead (``/tmp/...`` when ``$TMPDIR`` is so deep that
a socket path would pass 107 bytes), removed when the batch process exits. A
process killed by SIGKILL cannot clean up: :func:`remove_stale_tempdirs`, called when a local
batch starts, removes the ``optkit-batch-PID-*`` folders whose owner PID is no longer alive.

**Dask** (:func:`run_dask`): every job is a Dask task that runs :func:`run_local` on that single
job inside the Dask worker (a plain fork of the Dask worker process, which never runs a solver
itself; same isolation, deadline and memory cap), and returns its outcome to the batch process,
which alone writes the store. Jobs travel by cloudpickle.
"""
from __future__ import annotations

import ctypes
import faulthandler
import importlib.util
import multiprocessing as mp
import os
import pickle
import atexit
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
import types
from collections import OrderedDict, deque
from multiprocessing.connection import wait
from pathlib import Path
from collections.abc import Callable

from .job import Job, ModelCache, execute

LOG_TAIL = 20_000
MEMORY_HINTS = ("MemoryError", "bad_alloc", "Cannot allocate memory", "out of memory",
                "std::bad_alloc", "Out of memory")


def default_grace(time_limit: float | None) -> float:
    """Seconds between the solver's own time limit and the hard kill: 1 s + 10 %."""
    return 1.0 + 0.1 * (time_limit or 0.0)


# ------------------------------------------------------------------ the slot process
def _set_pdeathsig() -> None:
    try:  # Linux: die with the parent (PR_SET_PDEATHSIG = 1)
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:  # pragma: no cover - not Linux
        pass


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover
        pass
    return 0


def _slot_main(conn, jobs: list[Job] | None, memory_limit: int | None,
               parent_pid: int | None) -> None:
    """Body of a slot process: receive (index, log path, pickled job or None), run, send
    (index, outcome). ``jobs`` is the inherited list in fork mode, None in forkserver mode."""
    try:
        os.setsid()
        _set_pdeathsig()
        if parent_pid is not None and os.getppid() != parent_pid:  # parent already gone
            os._exit(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the batch process decides what to kill
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if memory_limit:
            cap = _vm_bytes() + int(memory_limit)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        # Python-level output goes to fds 1/2 (which each job points at its log file), even when
        # the parent had replaced sys.stdout/sys.stderr (pytest, notebooks)
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives with the process
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        faulthandler.enable(file=sys.stderr, all_threads=True)  # fatal signals: traceback to the log
        cache = ModelCache()
        conn.send(("ready", os.getpid()))
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                break
            if msg is None:
                break
            idx, logpath, payload = msg
            sys.stdout.flush()
            sys.stderr.flush()
            fd = os.open(logpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
            try:
                if payload is None:
                    assert jobs is not None, "fork mode: the job list is inherited"
                    job = jobs[idx]
                else:
                    job = pickle.loads(payload)
                out = execute(job, cache)
            except BaseException as exc:
                out = {"status": "ERROR", "message": f"worker: {type(exc).__name__}: {exc}",
                       "log_extra": traceback.format_exc()}
            if out.get("status") in ("MEMORY", "ERROR"):
                cache.key = cache.model = None  # do not reuse a model after a failure
            sys.stdout.flush()
            sys.stderr.flush()
            conn.send((idx, out))
    finally:
        os._exit(0)


def _forkserver_entry(conn, memory_limit) -> None:
    _slot_main(conn, None, memory_limit, None)


_FS_CTX = None
# imported by the fork server before it forks any worker (a failed import is skipped)
PRELOAD = ["optkit", "optkit.batch.executors", "optkit.batch.job", "scipy.optimize"]
#: problem classes whose default backends (by declared priority) are preloaded as well
PRELOAD_CLASSES = ("lp", "milp", "qp")


def default_backend_modules() -> list[str]:
    """Modules of the default backend of each class in PRELOAD_CLASSES (asked of the registry
    by capability, so the core names no backend)."""
    from .. import registry

    names = []
    for kind in PRELOAD_CLASSES:
        try:
            names.append(registry.best_for(kind).name)
        except Exception:
            continue
    return preload_modules(list(dict.fromkeys(names)))


TMP_PREFIX = "optkit-batch-"
_SESSION_TMP: Path | None = None


def _tmp_root() -> Path:
    return Path(tempfile.gettempdir())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_tempdirs() -> list[Path]:
    """Remove the ``optkit-batch-PID-*`` folders (of this user, in the temp directory) whose owner
    process PID is no longer alive — left by a batch killed with SIGKILL; return them."""
    removed: list[Path] = []
    entries: list[Path] = []
    for root in dict.fromkeys([_tmp_root(), Path("/tmp")]):
        try:
            entries += list(root.glob(TMP_PREFIX + "*"))
        except OSError:  # pragma: no cover
            continue
    uid = os.getuid()
    for d in entries:
        pid_txt = d.name[len(TMP_PREFIX):].split("-", 1)[0]
        if not pid_txt.isdigit() or int(pid_txt) == os.getpid():
            continue
        try:
            if not d.is_dir() or d.is_symlink() or d.stat().st_uid != uid:
                continue
        except OSError:
            continue
        if not _pid_alive(int(pid_txt)):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def _session_tmpdir() -> Path:
    """This process's folder for multiprocessing's files (the fork server's socket), removed at
    exit; named ``optkit-batch-PID-mp`` so that a later batch can remove it after a SIGKILL. A
    UNIX socket path has at most 107 bytes: under a deep temp directory the folder goes to /tmp
    instead (where :func:`remove_stale_tempdirs` looks too)."""
    global _SESSION_TMP
    if _SESSION_TMP is None or not _SESSION_TMP.is_dir():
        name = f"{TMP_PREFIX}{os.getpid()}-mp"
        root = _tmp_root()
        if len(str(root / name)) + len("/listener-xxxxxxxx") > 100 and Path("/tmp").is_dir():
            root = Path("/tmp")
        d = root / name
        shutil.rmtree(d, ignore_errors=True)  # a dead process's, with our (reused) PID
        d.mkdir(mode=0o700)
        _SESSION_TMP = d
        atexit.register(shutil.rmtree, str(d), True)
    return _SESSION_TMP


def _forkserver_context(extra: list[str] | None = None):
    """A forkserver context: workers fork from a clean interpreter with optkit and the batch's
    backend modules preloaded (so a worker replaced after a crash starts warm). The fork server
    starts once per Python session; ``extra`` modules only count for the batch that starts it.
    Its socket lives in :func:`_session_tmpdir` rather than in a ``pymp-*`` folder that
    multiprocessing would only remove on a normal exit."""
    global _FS_CTX
    if _FS_CTX is None:
        config = mp.current_process()._config  # type: ignore[attr-defined]  # mp's settings
        if not config.get("tempdir"):
            config["tempdir"] = str(_session_tmpdir())
        ctx = mp.get_context("forkserver")
        mods = list(dict.fromkeys(PRELOAD + default_backend_modules() + list(extra or [])))
        ctx.set_forkserver_preload([m for m in mods if importlib.util.find_spec(m.split(".")[0])])
        _FS_CTX = ctx
    return _FS_CTX


def preload_modules(solvers: list[str]) -> list[str]:
    """The modules of the given backends and the modules they require."""
    from .. import registry

    mods: list[str] = []
    for name in solvers:
        try:
            b = registry.get(name)
        except Exception:
            continue
        mods.append(type(b).__module__)
        mods.extend(getattr(b, "requires", ()) or ())
    return mods


def dumps_job(job: Job) -> bytes:
    """Serialise a job for a worker that did not inherit it (cloudpickle when installed)."""
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover
        return pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
    return cloudpickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)


class _Slot:
    """A worker process in its own process group.

    ``method="forkserver"`` (default for local batches): forked from multiprocessing's fork
    server, a clean interpreter with optkit preloaded, so no thread or native-library state of the
    batch process (e.g. HiGHS's thread pool after a MIP solve) is inherited; jobs are sent
    pickled. ``method="fork"``: a plain ``os.fork`` of the current process, which inherits the
    job list (nothing pickled) — used inside Dask workers, where multiprocessing children are not
    allowed and no solver has run in the parent.
    """

    def __init__(self, jobs, memory_limit, method: str = "forkserver", preload=None):
        self.method = method
        self.proc = None
        if method == "fork":
            parent_conn, child_conn = mp.Pipe()
            ppid = os.getpid()
            pid = os.fork()
            if pid == 0:  # child
                try:
                    parent_conn.close()
                    _slot_main(child_conn, jobs, memory_limit, ppid)
                finally:
                    os._exit(0)
            child_conn.close()
            self.conn, self.pid = parent_conn, pid
            self.sentinel: int | None = os.pidfd_open(pid)
        elif method == "forkserver":
            ctx = _forkserver_context(preload)
            parent_conn, child_conn = ctx.Pipe()
            self.proc = ctx.Process(target=_forkserver_entry, args=(child_conn, memory_limit),
                                    daemon=False, name="optkit-batch-worker")
            # the worker must not re-run the user's script (multiprocessing re-imports __main__
            # in non-fork children): hide it while the process starts
            main = sys.modules["__main__"]
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                self.proc.start()
            finally:
                sys.modules["__main__"] = main
            child_conn.close()
            self.conn, self.pid = parent_conn, self.proc.pid
            self.sentinel = self.proc.sentinel
        else:
            raise ValueError(f"start method must be 'forkserver' or 'fork', got {method!r}")
        self.exitcode: int | None = None
        self.queue: deque = deque()  # (job index, log path) sent and not yet answered
        self.started = 0.0  # when the front job started (its predecessor's answer arrived)
        self.deadline = float("inf")
        self.last_problem: str | None = None
        if not self.conn.poll(120):
            self.kill()
            raise RuntimeError("batch worker process did not start within 120 s")
        self.conn.recv()

    def alive(self) -> bool:
        if self.exitcode is not None:
            return False
        if self.proc is not None:
            if self.proc.is_alive():
                return True
            self.exitcode = self.proc.exitcode
            return False
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.exitcode = -1
            return False
        if pid == 0:
            return True
        self.exitcode = os.waitstatus_to_exitcode(status)
        return False

    def _reap(self, timeout: float) -> None:
        end = time.time() + timeout
        while self.alive() and time.time() < end:
            time.sleep(0.01)

    def kill(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._reap(10)
        self._close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self._reap(2)
        if self.alive():
            self.kill()
        else:
            self._close()

    def _close(self) -> None:
        try:
            self.conn.close()
        except OSError:
            pass
        if self.proc is not None:
            if self.exitcode is not None:
                try:
                    self.proc.close()
                except ValueError:  # pragma: no cover - still running
                    pass
        elif self.sentinel is not None:
            os.close(self.sentinel)
        self.sentinel = None


def _read_log(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - LOG_TAIL))
            txt = fh.read().decode("utf-8", "replace")
        os.unlink(path)
        return txt if size <= LOG_TAIL else "[...]\n" + txt
    except OSError:
        return ""


def _signal_name(code: int | None) -> str:
    if code is None:
        return "unknown exit"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


# ------------------------------------------------------------------ local executor
def run_local(jobs: list[Job], on_outcome: Callable[[int, dict], None], workers: int = 1,
              memory_limit: int | None = None, grace: float | None = None,
              reuse: bool = True, order: list[int] | None = None, prefetch: int = 2,
              method: str = "forkserver") -> None:
    """Run ``jobs`` (indices ``order``, default all) in ``workers`` isolated slot processes.

    ``on_outcome(index, outcome)`` is called in this process for every job, in completion order;
    ``outcome`` has the result columns plus log, wall_time and worker. ``memory_limit`` is in bytes
    of address space a job may map beyond what its worker holds at start. With ``reuse``, each
    slot has up to ``prefetch`` jobs in its pipe, so it starts the next job without waiting for
    this process; a job's clock (and deadline) starts when the previous one's result arrives.
    When a slot dies or is killed, the jobs queued behind the culprit are dispatched again.
    ``method``: how workers start, "forkserver" (clean, jobs pickled) or "fork" (see _Slot).
    """
    todo = list(range(len(jobs))) if order is None else list(order)
    depth = max(1, int(prefetch)) if reuse else 1
    preload = preload_modules(sorted({jobs[i].solver for i in todo})) if method != "fork" else None
    # group by problem so that a slot can reuse the model it built last
    groups: OrderedDict[str, deque] = OrderedDict()
    for t in todo:
        groups.setdefault(jobs[t].problem_key, deque()).append(t)
    requeued: deque = deque()
    remove_stale_tempdirs()
    logdir = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-"))
    slots: list[_Slot | None] = [None] * max(1, int(workers))
    host = socket.gethostname()
    counter = 0

    def next_job(slot: _Slot | None) -> int | None:
        if requeued:
            return requeued.popleft()
        last = slot.last_problem if slot is not None else None
        if last is not None and last in groups:
            q = groups[last]
            i = q.popleft()
            if not q:
                del groups[last]
            return i
        if not groups:
            return None
        key, q = next(iter(groups.items()))
        i = q.popleft()
        if not q:
            del groups[key]
        return i

    def deadline_of(i: int, start: float) -> float:
        tl = jobs[i].time_limit
        g = default_grace(tl) if grace is None else grace
        return start + tl + g if tl is not None else float("inf")

    def start_front(s: _Slot) -> None:
        if s.queue:
            s.started = time.time()
            s.deadline = deadline_of(s.queue[0][0], s.started)

    def live(k: int) -> _Slot:
        s = slots[k]
        assert s is not None, f"slot {k} is empty"
        return s

    def finish(k: int, idx: int, out: dict) -> None:
        s = live(k)
        front, logpath = s.queue.popleft()
        if front != idx:  # pragma: no cover - protocol violation
            raise RuntimeError(f"batch worker answered job {idx}, expected {front}")
        started = s.started
        start_front(s)
        log = _read_log(logpath)
        extra = out.pop("log_extra", None)
        if extra:
            log = (log + "\n" if log else "") + extra
        out.update(log=log[-LOG_TAIL:], wall_time=time.time() - started,
                   worker=f"{host}:{s.pid}")
        on_outcome(idx, out)

    def died(k: int, timed_out: bool) -> None:
        s = live(k)
        idx, logpath = s.queue.popleft()
        s.kill()
        code = s.exitcode
        log = _read_log(logpath)
        if timed_out:
            tl = jobs[idx].time_limit
            status, msg = "TIMEOUT", (f"killed after {time.time() - s.started:.1f} s "
                                      f"(time limit {tl} s + grace)")
        elif memory_limit and any(h in log for h in MEMORY_HINTS):
            status, msg = "MEMORY", f"worker died ({_signal_name(code)}) on an allocation failure"
        else:
            status, msg = "CRASH", f"worker process died ({_signal_name(code)})"
        for j, _ in reversed(s.queue):  # never started: run them elsewhere
            requeued.appendleft(j)
        slots[k] = None
        on_outcome(idx, {"status": status, "message": msg, "log": log[-LOG_TAIL:],
                         "wall_time": time.time() - s.started, "worker": f"{host}:{s.pid}"})

    try:
        while True:
            # dispatch: fill every slot's pipe up to `depth` jobs
            for k in range(len(slots)):
                while True:
                    s = slots[k]
                    if s is not None and len(s.queue) >= depth:
                        break
                    i = next_job(s)
                    if i is None:
                        break
                    payload = None
                    if method != "fork":
                        try:
                            payload = dumps_job(jobs[i])
                        except Exception as exc:
                            on_outcome(i, {"status": "ERROR", "message":
                                           f"the job cannot be sent to a worker process: "
                                           f"{type(exc).__name__}: {exc} (make the instance's "
                                           f"build picklable, or use start_method='fork')",
                                           "wall_time": 0.0})
                            continue
                    if s is None:
                        s = slots[k] = _Slot(jobs if method == "fork" else None, memory_limit,
                                             method, preload)
                    counter += 1
                    logpath = str(logdir / f"job{counter}.log")
                    s.queue.append((i, logpath))
                    s.last_problem = jobs[i].problem_key
                    if len(s.queue) == 1:
                        start_front(s)
                    try:
                        s.conn.send((i, logpath, payload))
                    except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
                        # the worker died on the job it was running (its pipe just closed): stop
                        # feeding it; the wait below sees its sentinel, records the running job
                        # and requeues this one with the rest of its queue
                        break
            busy = [k for k, s in enumerate(slots) if s is not None and s.queue]
            if not busy:
                break
            now = time.time()
            timeout = max(0.0, min(live(k).deadline for k in busy) - now)
            handles: dict = {}
            for k in busy:
                handles[live(k).conn] = k
                handles[live(k).sentinel] = k
            ready = wait(list(handles), timeout=None if timeout == float("inf") else timeout)
            done = set()
            for h in ready:
                k = handles[h]
                if k in done:
                    continue
                done.add(k)
                s = live(k)
                while s.queue and s.conn.poll():
                    try:
                        idx, out = s.conn.recv()
                    except (EOFError, OSError):
                        died(k, False)
                        break
                    finish(k, idx, out)
                if slots[k] is None:
                    continue
                if not reuse and not s.queue:
                    s.stop()
                    slots[k] = None
                elif s.queue and not s.alive():
                    died(k, False)
            now = time.time()
            for k in busy:
                s = slots[k]
                if s is not None and s.queue and now >= s.deadline:
                    died(k, True)
    finally:
        for s in slots:
            if s is not None:
                if not s.queue:
                    s.stop()
                else:
                    s.kill()
        shutil.rmtree(logdir, ignore_errors=True)


def run_isolated(job: Job, memory_limit: int | None = None, grace: float | None = None) -> dict:
    """Run one job in its own process group here and return its outcome (used by Dask tasks)."""
    box: dict = {}
    run_local([job], lambda i, out: box.update(out), workers=1, memory_limit=memory_limit,
              grace=grace, reuse=False, method="fork")
    return box


# ------------------------------------------------------------------ dask executor
def run_dask(jobs: list[Job], on_outcome: Callable[[int, dict], None], workers: int = 1,
             memory_limit: int | None = None, grace: float | None = None,
             order: list[int] | None = None, scheduler: str | None = None) -> None:
    """Run the jobs as Dask tasks (a LocalCluster of ``workers`` processes, or ``scheduler``)."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover
        from ..errors import SolverUnavailableError

        raise SolverUnavailableError("executor='dask' needs dask and distributed "
                                     "(pip install optkit[dask])") from exc
    todo = list(range(len(jobs))) if order is None else list(order)
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=max(1, int(workers)), threads_per_worker=1,
                               processes=True, dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    futures = {}
    try:
        for i in todo:
            f = client.submit(run_isolated, jobs[i], memory_limit, grace, pure=False,
                              key=f"optkit-{jobs[i].key[:16]}-{i}")
            futures[f] = i
        for f in as_completed(futures):
            i = futures[f]
            try:
                out = f.result()
            except Exception as exc:  # the task itself failed (e.g. a dask worker died)
                out = {"status": "CRASH", "message": f"dask task failed: {type(exc).__name__}: {exc}",
                       "log": traceback.format_exc()[-LOG_TAIL:]}
            on_outcome(i, out)
    finally:
        for f in futures:
            f.cancel()
        client.close()
        if cluster is not None:
            cluster.close()
