"""``ok.batch.run``: solve every (instance × solver × settings × seed) job of a grid, resumably.

Each job gets a content-hash key (:func:`optkit.batch.job.job_key`); jobs whose key is already in
the store are skipped, so re-running an interrupted batch runs only the missing ones. Outcomes are
written to the store by this process as they arrive (one transaction per row), so a batch killed
at any moment loses at most the jobs that were running.
"""
from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

from .. import registry
from ..errors import OptionError
from ..problems_api import InstanceSet, instance_key, load
from .executors import run_dask, run_local
from .job import Job, job_key
from .outcomes import verdict
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


def make_jobs(instances: InstanceSet, solvers: Iterable[str], settings=None, seeds=None,
              time_limit: float | None = 60) -> list[Job]:
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
    seed_list = [None] if seeds is None else ([seeds] if isinstance(seeds, int) else list(seeds))
    if time_limit is not None and not time_limit > 0:
        raise OptionError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    jobs = []
    for inst in instances:
        pk = instance_key(inst, instances.spec, instances.params)
        for s in solvers:
            for lab, opts in sets:
                for seed in seed_list:
                    key = job_key(pk, s, opts, seed, time_limit, versions[s])
                    jobs.append(Job(key=key, problem_key=pk, library=instances.spec, instance=inst,
                                    solver=s, label=_solver_label(s, lab), settings=opts,
                                    seed=seed, time_limit=time_limit, versions=versions[s]))
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
        start_method: str = "forkserver") -> BatchRuns:
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
    """
    if start_method not in ("forkserver", "fork"):
        raise OptionError(f"start_method must be 'forkserver' or 'fork', got {start_method!r}")
    if isinstance(library, InstanceSet):
        instances = library
    elif isinstance(library, list):
        instances = InstanceSet(library, spec="<list>")
    else:
        instances = load(library, **(params or {}))
    jobs = make_jobs(instances, solvers, settings, seeds, time_limit)
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
            if executor == "local":
                run_local(jobs, on_outcome, workers=workers, memory_limit=mem, grace=grace,
                          reuse=reuse, order=todo, method=start_method)
            elif executor == "dask":
                run_dask(jobs, on_outcome, workers=workers, memory_limit=mem, grace=grace,
                         order=todo, scheduler=scheduler)
            else:
                raise OptionError(f"executor must be 'local' or 'dask', got {executor!r}")
    finally:
        bar.close()
    rows = st.rows(j.key for j in jobs)
    return BatchRuns(rows, ran=len(todo), skipped=len(jobs) - len(todo), store=st.path, jobs=len(jobs))


_OUTCOME = {"status", "termination", "primal_status", "objective", "iterations", "nodes",
            "verified", "native_status", "kkt",
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
            print(f"[{self.solved + self.failed}/{self.total}] solved={self.solved} "
                  f"failed={self.failed} remaining={self.total - self.solved - self.failed}",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def summary(rows: list[dict]) -> str:
    """A one-line-per-label summary of batch rows."""
    by: dict[str, dict[str, int]] = {}
    for r in rows:
        d = by.setdefault(r["label"], {})
        d[r["status"]] = d.get(r["status"], 0) + 1
    return "\n".join(f"{lab}: " + json.dumps(dict(sorted(d.items()))) for lab, d in sorted(by.items()))
