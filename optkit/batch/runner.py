"""``ok.batch.run``: solve every (instance × solver × settings × seed) job of a grid, resumably.

Each job gets a content-hash key (:func:`optkit.batch.job.job_key`); jobs whose key is already in
the store are skipped, so re-running an interrupted batch runs only the missing ones. Outcomes are
written to the store by this process as they arrive (one transaction per row), so a batch killed
at any moment loses at most the jobs that were running.

Everything a batch can refuse is refused before any job runs: unknown or unavailable solvers,
unknown library parameters, options a backend does not know (each settings entry is checked
against each solver), a non-positive time or memory limit or worker count. While jobs run, a
SIGTERM is turned into ``SystemExit(143)`` (when the batch runs in the main thread and nobody
else handles SIGTERM), so the worker processes are killed and the temporary folders removed as on
Ctrl-C.
"""
from __future__ import annotations

import inspect
import json
import math
import signal
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Iterator

from .. import registry
from ..errors import OptionError
from ..options import SolveOptions
from ..problems_api import InstanceSet, instance_key, library as _library, load
from .executors import run_dask, run_local
from .job import Job, job_key
from .outcomes import OUTCOMES, counts, verdict
from .store import Store

SUCCESS = ("OPTIMAL", "LOCALLY_OPTIMAL")


class BatchRuns(list):
    """The store rows of a batch's jobs (list of dicts) with ``ran``, ``skipped`` and ``store``."""

    def __init__(self, rows, ran: int, skipped: int, store: Path, jobs: int):
        super().__init__(rows)
        self.ran, self.skipped, self.store, self.jobs = ran, skipped, store, jobs

    def statuses(self) -> dict[tuple[str, str], str]:
        """{(instance, label): status} (last seed wins)."""
        return {(r["instance"], r["label"]): r["status"] for r in self}

    def to_dataframe(self, with_history: bool = False):
        """One row per job: the store's columns and the row's ``verdict`` (needs the ``data``
        extra; ``history`` and ``log`` only when asked)."""
        from ..notebook import batch_frame

        return batch_frame(list(self), with_history)

    def _repr_html_(self) -> str:
        """Jupyter's view: job counts, per-label success and statuses (:mod:`optkit.notebook`)."""
        from ..notebook import batch_html

        return batch_html(self)

    def plot_performance_profile(self, path=None):
        """The Dolan–Moré profile of these rows' solve times (a matplotlib Figure; None when no
        instance is meant to be solved)."""
        from .reporting import performance_figure

        fig = performance_figure(list(self))
        if fig is not None and path is not None:
            fig.savefig(path, dpi=110, bbox_inches="tight")
        return fig

    def plot_data_profile(self, tau: float = 1e-3, path=None):
        """The Moré–Wild data profile of these rows' histories (a matplotlib Figure; None when
        no row recorded a usable history)."""
        from .reporting import data_figure

        fig = data_figure(list(self), tau)
        if fig is not None and path is not None:
            fig.savefig(path, dpi=110, bbox_inches="tight")
        return fig

    def __repr__(self) -> str:
        return (f"BatchRuns(jobs={self.jobs}, ran={self.ran}, skipped={self.skipped}, "
                f"store={str(self.store)!r})")


def _settings_list(settings: Any) -> list[tuple[str, dict]]:
    """Normalise ``settings`` to [(label, options)]: None, a dict, a list, or {label: dict}."""
    if settings is None:
        return [("", {})]
    if isinstance(settings, dict):
        if settings and all(isinstance(v, dict) for v in settings.values()):
            return [(str(k), dict(v)) for k, v in settings.items()]
        return [("", dict(settings))]
    out = []
    for i, s in enumerate(settings):
        if not isinstance(s, dict):
            raise OptionError(f"settings[{i}] must be a dict of solve options, got {type(s).__name__}")
        s = dict(s)
        out.append((str(s.pop("label", f"s{i}")), s))
    labels = [lab for lab, _ in out]
    if len(set(labels)) != len(labels):
        raise OptionError(f"settings labels must be distinct, got {labels}")
    return out


def _solver_label(solver: str, label: str) -> str:
    base = solver.rsplit(":", 1)[-1] if ":" in solver else solver
    return f"{base}[{label}]" if label else base


def check_options(backend, opts: dict, where: str = "") -> None:
    """Refuse, before anything runs, options ``backend`` does not know (as ``ok.solve`` would
    in every job)."""
    from ..solving import check_solver_options

    try:
        check_solver_options(backend, SolveOptions.build(backend.name, backend.options, opts))
    except OptionError as exc:
        raise OptionError(f"{where}{exc}") from exc


def make_jobs(instances: InstanceSet, solvers: Iterable[str], settings=None, seeds=None,
              time_limit: float | None = 60, lenient: bool = False) -> list[Job]:
    """The job grid, in instance-major order (so one worker can reuse a built model)."""
    from .. import __version__

    solvers = [solvers] if isinstance(solvers, str) else list(solvers)
    if not solvers:
        raise OptionError("give at least one solver")
    versions = {}
    for s in solvers:
        b = registry.get(s)  # unknown names fail here, before anything runs
        if not b.is_available():
            from ..errors import SolverUnavailableError

            raise SolverUnavailableError(f"backend '{s}' is not available: {b.unavailable_reason()}")
        try:
            versions[s] = {"optkit": __version__, "solver": b.version()}
        except Exception:  # pragma: no cover
            versions[s] = {"optkit": __version__, "solver": ""}
    sets = _settings_list(settings)
    for s in solvers:
        b = registry.get(s)
        for lab, opts in sets:
            check_options(b, opts, f"settings {lab!r}: " if lab else "")
    seed_list = [None] if seeds is None else ([seeds] if isinstance(seeds, int) else list(seeds))
    if time_limit is not None and not _positive(time_limit):
        raise OptionError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    jobs = []
    for inst in instances:
        pk = instance_key(inst, instances.spec, instances.params)
        for s in solvers:
            for lab, opts in sets:
                for seed in seed_list:
                    key = job_key(pk, s, opts, seed, time_limit, versions[s], lenient)
                    jobs.append(Job(key=key, problem_key=pk, library=instances.spec, instance=inst,
                                    solver=s, label=_solver_label(s, lab), settings=opts,
                                    seed=seed, time_limit=time_limit, versions=versions[s],
                                    lenient=lenient))
    keys = [j.key for j in jobs]
    if len(set(keys)) != len(keys):
        raise OptionError("the grid has duplicate jobs (same instance content, solver, settings "
                          "and seed); remove the duplicates")
    return jobs


def run(library, solvers, settings=None, seeds=None, workers: int = 1,
        time_limit: float | None = 60, memory_limit: float | None = None,
        store: str | Path | Store = "results.sqlite", executor: str = "local",
        progress: bool = True, scheduler: str | None = None, grace: float | None = None,
        reuse: bool = True, params: dict | None = None,
        start_method: str = "forkserver", lenient: bool = False, tune: Any = None,
        context: Any = None) -> BatchRuns:
    """Run every (instance, solver, settings, seed) job not yet in ``store``; return the grid's rows.

    library      a name ("hs-eq"), "folder:PATH", a library object or an InstanceSet/list of Instances
    solvers      backend names (or "module:Class" for unregistered backends)
    settings     None, one dict of solve options, a list of dicts (optional "label" key), or
                 {label: dict}; each settings entry is a separate job
    seeds        None (no seed passed) or a list of ints, passed as the ``seed`` option
    workers      parallel worker processes (local) or Dask workers (LocalCluster)
    time_limit   seconds given to the solver; the process is killed at time_limit + grace
    memory_limit MB a job may map beyond its worker's start size (RLIMIT_AS); None = no cap
    executor     "local" or "dask" (``scheduler`` = address of a running scheduler, else a LocalCluster)
    reuse        local executor: keep worker processes for several jobs (fast path)
    start_method local executor: "forkserver" (workers fork from a clean interpreter with optkit
                 preloaded; jobs are sent by cloudpickle) or "fork" (workers fork from this
                 process and inherit the jobs; faster to start, but unsafe once a solver here
                 has started threads, e.g. HiGHS after a MIP solve)
    lenient      read model files with strict=False: files the reader has warnings about are
                 solved, and the warnings go to the rows' ``read_warnings`` column
    tune         an optkit.tuning.Tuner: one solver, one settings dict, options chosen per job by
                 the tuner in this process (``context(instance)`` its context); see
                 :mod:`optkit.batch.tuned`
    """
    if tune is not None:
        from .tuned import run_tuned

        names = [solvers] if isinstance(solvers, str) else list(solvers)
        if len(names) != 1 or seeds is not None:
            raise OptionError("a tuned batch takes one solver and no seeds list")
        return run_tuned(library, names[0], tune, settings=settings, context=context, store=store,
                         workers=workers, time_limit=time_limit, memory_limit=memory_limit,
                         grace=grace, start_method=start_method, params=params)
    if start_method not in ("forkserver", "fork"):
        raise OptionError(f"start_method must be 'forkserver' or 'fork', got {start_method!r}")
    if executor not in ("local", "dask"):
        raise OptionError(f"executor must be 'local' or 'dask', got {executor!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise OptionError(f"workers must be a positive integer, got {workers!r}")
    if memory_limit is not None and not _positive(memory_limit):
        raise OptionError(f"memory_limit must be a positive number of MB, got {memory_limit!r}")
    if grace is not None and not (_positive(grace) or grace == 0):
        raise OptionError(f"grace must be a non-negative number of seconds, got {grace!r}")
    if executor == "dask":
        from ..extras import require

        require("distributed", "dask", "executor='dask'")
    instances = resolve_instances(library, params)
    jobs = make_jobs(instances, solvers, settings, seeds, time_limit, lenient)
    st = store if isinstance(store, Store) else Store(store)
    done = st.keys(j.key for j in jobs)
    todo = [i for i, j in enumerate(jobs) if j.key not in done]
    mem = None if memory_limit is None else int(float(memory_limit) * 2**20)
    batch_id = uuid.uuid4().hex[:12]
    bar = _Progress(len(todo), len(jobs) - len(todo), progress)

    def on_outcome(i: int, out: dict) -> None:
        row = jobs[i].row()
        row.update({k: v for k, v in out.items() if k in _OUTCOME})
        row["batch_id"] = batch_id
        st.add(row)
        bar.update(verdict(row) == "correct")

    try:
        if todo:
            with sigterm_as_exit():
                if executor == "local":
                    run_local(jobs, on_outcome, workers=workers, memory_limit=mem, grace=grace,
                              reuse=reuse, order=todo, method=start_method)
                else:
                    run_dask(jobs, on_outcome, workers=workers, memory_limit=mem, grace=grace,
                             order=todo, scheduler=scheduler)
        rows = st.rows(j.key for j in jobs)
    finally:
        bar.close()
        if st is not store:  # opened here: closed here
            st.close()
    return BatchRuns(rows, ran=len(todo), skipped=len(jobs) - len(todo), store=st.path, jobs=len(jobs))


_OUTCOME = {"status", "termination", "primal_status", "objective", "iterations", "nodes",
            "verified", "native_status", "kkt", "read_warnings",
            "evaluations", "history", "metrics", "build_time", "solve_time", "wall_time", "message", "log",
            "worker"}


class _Progress:
    """tqdm bar with counts: solved (outcome agrees with the expected one), failed, remaining."""

    def __init__(self, total: int, skipped: int, enabled: bool):
        self.total, self.solved, self.failed, self.enabled = total, 0, 0, enabled
        self.bar = None
        self.t0 = time.time()
        if enabled and total:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="job", file=sys.stderr, dynamic_ncols=True,
                                desc=f"batch ({skipped} already stored)")
            except ImportError:
                pass

    def update(self, solved: bool) -> None:
        self.solved += solved
        self.failed += not solved
        if self.bar is not None:
            self.bar.set_postfix(solved=self.solved, failed=self.failed,
                                 remaining=self.total - self.solved - self.failed, refresh=False)
            self.bar.update(1)
        elif self.enabled:
            sys.stderr.write(f"[{self.solved + self.failed}/{self.total}] solved={self.solved} "
                             f"failed={self.failed} "
                             f"remaining={self.total - self.solved - self.failed}\n")
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def summary(rows: list[dict]) -> str:
    """A one-line-per-label summary of batch rows (statuses), then one line of outcome counts
    against the expected outcomes (:func:`optkit.batch.outcomes.outcome`)."""
    by: dict[str, dict[str, int]] = {}
    for r in rows:
        d = by.setdefault(r["label"], {})
        d[r["status"]] = d.get(r["status"], 0) + 1
    lines = [f"{lab}: " + json.dumps(dict(sorted(d.items()))) for lab, d in sorted(by.items())]
    return "\n".join(lines + [outcome_line(rows)])


OUTCOME_WORDS = {"correct": "correct", "wrong": "wrong", "unverified": "unverified",
                 "refused_expected": "refused as expected",
                 "refused_unexpected": "refused unexpectedly", "failed": "failed",
                 "unknown": "unknown"}


def outcome_line(rows: list[dict]) -> str:
    """``against expected outcomes: correct 5, wrong 0, unverified 0, refused as expected 1,
    refused unexpectedly 0, failed 0`` (and ``unknown N`` when rows state no expectation)."""
    c = counts(rows)
    keys = list(OUTCOMES) + (["unknown"] if c.get("unknown") else [])
    return "against expected outcomes: " + ", ".join(f"{OUTCOME_WORDS[k]} {c[k]}" for k in keys)


def summary_dict(rows: list[dict]) -> dict:
    """Machine-readable summary: outcome counts, and per label its statuses and outcome counts."""
    labels = sorted({r["label"] for r in rows})
    per = {}
    for lab in labels:
        rs = [r for r in rows if r["label"] == lab]
        st: dict[str, int] = {}
        for r in rs:
            st[r["status"]] = st.get(r["status"], 0) + 1
        per[lab] = {"jobs": len(rs), "statuses": dict(sorted(st.items())), "outcomes": counts(rs)}
    return {"outcomes": counts(rows), "labels": per}


# ---------------------------------------------------------------- checks and signals
def _positive(v: Any) -> bool:
    """A finite number > 0 (bools and NaN are not)."""
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and v > 0)


def resolve_instances(library: Any, params: dict | None) -> InstanceSet:
    """The instances of a batch: an InstanceSet as given, a list of instances, or a library spec
    loaded with ``params`` (checked by :func:`load_checked`)."""
    if isinstance(library, InstanceSet):
        return library
    if isinstance(library, list):
        return InstanceSet(library, spec="<list>")
    return load_checked(library, params or {})


def load_checked(spec: Any, params: dict) -> InstanceSet:
    """``load(spec, **params)``, refusing parameters the library does not take by name (a
    library whose ``instances`` or factory takes ``**kwargs`` is trusted)."""
    lib = _library(spec)
    fn = getattr(lib, "factory", None) or lib.instances
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # pragma: no cover - a builtin
        sig = None
    name = spec if isinstance(spec, str) else getattr(lib, "name", type(lib).__name__)
    if sig is not None and params:
        ps = sig.parameters
        if not any(p.kind is p.VAR_KEYWORD for p in ps.values()):
            known = [k for k, p in ps.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            unknown = sorted(set(params) - set(known))
            if unknown:
                raise OptionError(f"library {name!r} has no parameter "
                                  f"{', '.join(repr(u) for u in unknown)}; its parameters: "
                                  f"{', '.join(known) or 'none'}")
    try:
        return load(spec, **params)
    except TypeError as exc:
        raise OptionError(f"library {name!r}: bad parameters {params!r}: {exc}") from exc


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)`` so that ``finally`` clauses (killing
    workers, removing temporary folders) run; only in the main thread and when SIGTERM has its
    default action (a handler someone else installed is left alone)."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
