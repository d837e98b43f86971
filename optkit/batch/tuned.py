"""Tuned batches: a library solved by one backend, options chosen per instance by a tuner.

    rows = ok.batch.run_tuned(library, "sor", tune=Tuner(space, "tsallis-inf", seed=0),
                              context=lambda inst: inst.meta["shift"], store="tuned.sqlite")

The tuner lives in this (the parent) process; every job still runs in an isolated worker
(:func:`optkit.batch.executors.run_local`). Jobs are dispatched in rounds of ``workers``: the tuner
chooses the options of every job of the round (``choose(context, key=job key)``), the round runs,
and each outcome's cost is observed as it arrives (``observe(cost, key)``), so with ``workers=1``
the sequence of choices is the sequential bandit's.

The store (:mod:`optkit.batch.store`) records, per row, the chosen options (``tuned_options``) and
the tuner's compact state right after observing that row (``tuner_state``: round, policy and
generator state). Job keys are the untuned job's key salted with the tuner's signature
(:meth:`~optkit.tuning.Tuner.signature`), so a tuned batch never mixes with untuned rows or rows
of another tuner. Resuming (the same call again on the same store) finds the rows already there,
restores the tuner from the row with the highest round — the history from the rows themselves —
and continues with the missing jobs: an interrupted and resumed batch makes the same choices as
one never interrupted (``workers=1``).

Cost of a row: its ``iterations`` (``cost="iterations"``, default), ``solve_time`` (``"time"``),
a key of its ``evaluations``, or ``cost(row) -> float``. A row that does not come back solved and
verified costs ``failure_cost`` (default: the ``max_iter`` setting if given, else twice the
largest cost seen, at least 1).
"""
from __future__ import annotations

import dataclasses
import math
import uuid
from pathlib import Path
from typing import Any
from collections.abc import Callable

from ..errors import OptionError
from .executors import run_local
from .job import job_key
from .runner import _OUTCOME, BatchRuns, make_jobs, resolve_instances
from .store import Store

SOLVED = ("OPTIMAL", "LOCALLY_OPTIMAL")


def row_cost(row: dict, cost: str | Callable[[dict], float]) -> float | None:
    """The cost of one outcome row (None when it carries none)."""
    if callable(cost):
        return float(cost(row))
    if cost == "iterations":
        v = row.get("iterations")
    elif cost == "time":
        v = row.get("solve_time")
    else:
        v = (row.get("evaluations") or {}).get(cost)
    return None if v is None else float(v)


def run_tuned(library: Any, solver: str, tune: Any, settings: dict | None = None,
              context: Callable[[Any], Any] | None = None,
              cost: str | Callable[[dict], float] = "iterations",
              failure_cost: float | None = None, store: str | Path | Store = "results.sqlite",
              workers: int = 1, time_limit: float | None = 60, memory_limit: float | None = None,
              grace: float | None = None, start_method: str = "forkserver",
              params: dict | None = None, max_jobs: int | None = None) -> BatchRuns:
    """Solve every instance of ``library`` with ``solver`` and the ``settings`` dict, the tuner
    ``tune`` choosing the tuned options per job (see module docstring); ``max_jobs`` stops after
    that many jobs of this call (the rest are left for a later call). Returns the rows of every
    job of the batch (stored before or now); ``rows.tuner`` is the tuner."""
    if not (hasattr(tune, "choose") and hasattr(tune, "observe") and hasattr(tune, "restore")):
        raise OptionError(f"tune must be an optkit.tuning.Tuner, got {type(tune).__name__}")
    if settings is not None and not isinstance(settings, dict):
        raise OptionError("a tuned batch takes one settings dict (the options that are not tuned)")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise OptionError(f"workers must be a positive integer, got {workers!r}")
    if max_jobs is not None and not (isinstance(max_jobs, int) and max_jobs >= 0):
        raise OptionError(f"max_jobs must be a nonnegative integer, got {max_jobs!r}")
    base = dict(settings or {})
    clash = sorted(set(base) & set(tune.space.names))
    if clash:
        raise OptionError(f"option(s) {', '.join(clash)} are both in settings and tuned")
    instances = resolve_instances(library, params)
    sig = tune.signature()
    jobs = []
    for j in make_jobs(instances, [solver], base, None, time_limit):
        salted = {**j.settings, "__tuner__": sig}
        jobs.append(dataclasses.replace(
            j, key=job_key(j.problem_key, j.solver, salted, None, time_limit, j.versions),
            label=f"{j.label}[{tune.policy.name}]"))
    st = store if isinstance(store, Store) else Store(store)
    try:
        done = {r["job_key"]: r for r in st.rows(j.key for j in jobs)}
        _resume(tune, done.values())
        budget = failure_cost if failure_cost is not None else base.get("max_iter")
        todo = [i for i, j in enumerate(jobs) if j.key not in done]
        if max_jobs is not None:
            todo = todo[:max_jobs]
        batch_id = uuid.uuid4().hex[:12]
        mem = None if memory_limit is None else int(float(memory_limit) * 2**20)
        for start in range(0, len(todo), workers):
            chunk = todo[start:start + workers]
            chosen = {}
            for i in chunk:
                job = jobs[i]
                ctx = context(job.instance) if context is not None else None
                opts = tune.choose(ctx, key=job.key)
                chosen[i] = opts
                jobs[i] = dataclasses.replace(job, settings={**base, **opts})

            def on_outcome(i: int, out: dict, chosen=chosen) -> None:
                row = jobs[i].row()
                row.update({k: v for k, v in out.items() if k in _OUTCOME})
                c = row_cost(row, cost)
                solved = row.get("status") in SOLVED and row.get("verified") in (1, True)
                if c is None or not math.isfinite(c) or not solved:
                    c = float(budget) if budget is not None else max(2.0 * tune.max_cost, 1.0)
                arm, ctx = tune.pending[jobs[i].key]
                tune.observe(c, key=jobs[i].key)
                state = tune.compact_state()
                state.update(arm=arm, context=ctx, cost=c)
                row.update(batch_id=batch_id, tuned_options=chosen[i], tuner_state=state)
                st.add(row)

            run_local(jobs, on_outcome, workers=workers, memory_limit=mem, grace=grace,
                      reuse=True, order=chunk, method=start_method)
        rows = st.rows(j.key for j in jobs)
    finally:
        if st is not store:
            st.close()
    out = BatchRuns(rows, ran=len(todo), skipped=len(jobs) - len(todo), store=st.path,
                    jobs=len(jobs))
    out.tuner = tune  # type: ignore[attr-defined]  # the tuned batch's rows carry their tuner
    return out


def _resume(tune: Any, rows) -> None:
    """Restore ``tune`` from stored rows: state of the highest round, history from all rows."""
    states = sorted((r["tuner_state"] for r in rows if r.get("tuner_state")),
                    key=lambda s: s["round"])
    if not states:
        return
    history = [(int(s["arm"]), s.get("context"), float(s["cost"])) for s in states]
    tune.restore(states[-1], history)
