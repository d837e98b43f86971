"""One batch job — (instance, solver, settings, seed) — and the code a worker runs for it.

:func:`execute` runs inside the isolated worker process: build the model (timed), solve it with
``ok.solve`` (timed), and return the outcome as a plain dict. Exceptions become statuses:

==========================  ==================
ReadError                   READ_ERROR
DataError                   BAD_DATA
UnsupportedProblemError     UNSUPPORTED
InvalidProblemError         INVALID_PROBLEM
MemoryError                 MEMORY
anything else               ERROR
==========================  ==================

Otherwise the status is the Result's termination name. A worker that dies (abort, segfault) or
overruns its hard deadline is recorded by the parent as CRASH / TIMEOUT (see executors).

A job with ``lenient=True`` reads a model file with ``strict=False``: the reader accepts a file it
has warnings about, and the warnings (one line each) go to the row's ``read_warnings`` column.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from ..problems_api import Instance

# outcome statuses written by the batch machinery itself (not by a solver)
BATCH_STATUSES = ("CRASH", "TIMEOUT", "MEMORY", "READ_ERROR", "BAD_DATA", "UNSUPPORTED",
                  "INVALID_PROBLEM", "ERROR")
MAX_HISTORY = 5000


@dataclass
class Job:
    """A unit of work; ``key`` is its content hash (see :func:`job_key`)."""

    key: str
    problem_key: str
    library: str
    instance: Instance
    solver: str
    label: str
    settings: dict = field(default_factory=dict)
    seed: int | None = None
    time_limit: float | None = None
    versions: dict = field(default_factory=dict)
    lenient: bool = False

    def row(self) -> dict:
        """The store columns that describe the job (outcome columns excluded)."""
        i = self.instance
        return {"job_key": self.key, "problem_key": self.problem_key, "library": self.library,
                "instance": i.name, "problem_class": i.problem_class, "n": i.n, "m": i.m,
                "expected": i.expected, "known_objective": i.known_objective,
                "solver": self.solver, "label": self.label, "settings": self.settings,
                "seed": self.seed, "time_limit": self.time_limit, "versions": self.versions}


def job_key(problem_key: str, solver: str, settings: dict, seed: int | None,
            time_limit: float | None, versions: dict, lenient: bool = False) -> str:
    """sha256 of the job's identity: problem content, solver, settings, seed, limit, versions
    (and lenient reading, when asked: the same file read strictly is another job)."""
    ident = {"problem": problem_key, "solver": solver, "settings": settings, "seed": seed,
             "time_limit": time_limit, "versions": versions}
    if lenient:
        ident["lenient"] = True
    payload = json.dumps(ident, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def read_model(path: str, strict: bool = True, time_limit: float | None = None):
    """``optkit.read(path)`` with the reader's ``strict`` and ``time_limit`` options, each passed
    only when the installed reader takes it."""
    import inspect

    from ..ir.model_file import read_model_file
    from ..modeling import LinearProblem, read

    want: dict[str, Any] = {"strict": strict}
    if time_limit is not None:
        want["time_limit"] = time_limit
    if all(k in inspect.signature(read).parameters for k in want):
        return read(path, **want)
    params = inspect.signature(read_model_file).parameters
    return LinearProblem(form=read_model_file(path, **{k: v for k, v in want.items()
                                                       if k in params}))


def build_model(job: Job):
    """The job's model: ``instance.build()``, or for a file instance read leniently, the file
    read with ``strict=False``."""
    path = getattr(job.instance.build, "path", None)
    if job.lenient and isinstance(path, str):
        return read_model(path, strict=False)
    return job.instance.build()


def read_warnings(model: Any, result: Any = None) -> list[str] | None:
    """The reader's warnings of a leniently read file (``form.meta["read_warnings"]``, or the
    result's ``warnings``), None when there are none."""
    meta = getattr(getattr(model, "form", None), "meta", None) or {}
    w = meta.get("read_warnings") or getattr(result, "warnings", None)
    return [str(x) for x in w] if w else None


class ModelCache:
    """Keeps the last built model so consecutive jobs on one instance build it once."""

    def __init__(self):
        self.key: tuple[str, bool] | None = None
        self.model: Any = None

    def get(self, job: Job):
        if self.key == (job.problem_key, job.lenient) and self.model is not None:
            return self.model, 0.0, True
        self.key, self.model = None, None
        t0 = time.perf_counter()
        model = build_model(job)
        dt = time.perf_counter() - t0
        self.key, self.model = (job.problem_key, job.lenient), model
        return model, dt, False


def classify_exception(exc: BaseException) -> str:
    """The batch status for an exception raised while building or solving."""
    from ..errors import DataError, InvalidProblemError, ReadError, UnsupportedProblemError

    if isinstance(exc, ReadError):
        return "READ_ERROR"
    if isinstance(exc, DataError):
        return "BAD_DATA"
    if isinstance(exc, UnsupportedProblemError):
        return "UNSUPPORTED"
    if isinstance(exc, InvalidProblemError):
        return "INVALID_PROBLEM"
    if isinstance(exc, MemoryError):
        return "MEMORY"
    return "ERROR"


def execute(job: Job, cache: ModelCache | None = None) -> dict:
    """Build and solve one job here; return the outcome columns of its store row."""
    from ..solving import solve

    out: dict[str, Any] = {"build_time": None, "solve_time": None}
    t0 = time.perf_counter()
    try:
        if cache is not None:
            model, out["build_time"], cached = cache.get(job)
        else:
            model = build_model(job)
            out["build_time"], cached = time.perf_counter() - t0, False
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        out.update(status=classify_exception(exc), message=f"build: {type(exc).__name__}: {exc}",
                   build_time=time.perf_counter() - t0, log_extra=traceback.format_exc())
        return out
    opts = dict(job.settings)
    if job.time_limit is not None:
        opts.setdefault("time_limit", job.time_limit)
    if job.seed is not None:
        opts.setdefault("seed", job.seed)
    t1 = time.perf_counter()
    try:
        res = solve(model, job.solver, **opts)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        out.update(status=classify_exception(exc), solve_time=time.perf_counter() - t1,
                   message=f"solve: {type(exc).__name__}: {exc}", log_extra=traceback.format_exc(),
                   read_warnings=read_warnings(model))
        return out
    out["solve_time"] = time.perf_counter() - t1
    out["read_warnings"] = read_warnings(model, res)
    if _is_front(res):
        out.update(_front_outcome(res, job))
        if cached:
            out["message"] = (out["message"] + " " if out["message"] else "") + "[model reused]"
        return out
    obj = res.objective
    if obj is not None:
        try:
            obj = float(obj)
            obj = obj if math.isfinite(obj) else None
        except (TypeError, ValueError):
            obj = None
    status = str(res.termination)
    if status == "ERROR" and "MemoryError" in (res.message or ""):
        status = "MEMORY"
    if res.termination.claims_optimality and not res.is_solved():
        status = "UNVERIFIED"  # the claim stays in `termination`; optkit's measurement overruled it
    out.update(status=status, termination=str(res.termination),
               primal_status=str(res.primal_status), objective=obj,
               iterations=res.iterations, nodes=getattr(res, "nodes", None),
               verified=None if getattr(res, "verified", None) is None else int(bool(res.verified)),
               native_status=getattr(res, "native_status", "") or None,
               kkt=_plain(res.kkt), evaluations=_plain(res.evaluations),
               history=_history(res.history), message=res.message or "")
    bil = {k: getattr(res, k) for k in BILEVEL_FIELDS if getattr(res, k, None) is not None}
    if bil:  # a BilevelResult: both levels' values, the lower-level gap f(x,y) − v(x), feasibility
        out["metrics"] = _plain(bil)
    if cached:
        out["message"] = (out["message"] + " " if out["message"] else "") + "[model reused]"
    if res.extra.get("traceback"):
        out["log_extra"] = res.extra["traceback"]
    return out


MAX_FRONT = 2000
BILEVEL_FIELDS = ("upper_objective", "lower_objective", "lower_value", "lower_gap",
                  "upper_feasibility", "lower_feasibility")


def _is_front(res) -> bool:
    """A multiobjective result (ParetoResult: F, X, complete) rather than a single-level one."""
    return hasattr(res, "F") and hasattr(res, "complete")


def _front_outcome(res, job: Job) -> dict:
    """Columns for a ParetoResult: status FRONT / FRONT_INCOMPLETE / NO_FRONT; ``metrics`` holds
    the number of points, the front itself (≤ 2000 points, user units) and, when the instance's
    meta has ``reference_front`` or ``exact_front`` (an array or a zero-arg callable returning
    one), IGD, IGD⁺ and the normalised hypervolume ratio against it."""
    import numpy as np

    F = np.asarray(res.F, dtype=float)
    n = int(F.shape[0]) if F.ndim == 2 else 0
    status = "NO_FRONT" if n == 0 else ("FRONT" if res.complete else "FRONT_INCOMPLETE")
    metrics: dict[str, Any] = {"points": n, "complete": bool(res.complete)}
    if n:
        keep = F if n <= MAX_FRONT else F[np.linspace(0, n - 1, MAX_FRONT).astype(int)]
        metrics["front"] = keep.tolist()
    ref = job.instance.meta.get("reference_front", job.instance.meta.get("exact_front"))
    if n and ref is not None:
        try:
            R = np.asarray(ref() if callable(ref) else ref, dtype=float)
            if R.ndim == 2 and R.shape[0]:
                k = min(R.shape[0], 500)
                metrics["reference"] = R[np.linspace(0, R.shape[0] - 1, k).astype(int)].tolist()
            metrics["igd"] = float(res.igd(R))
            metrics["igd_plus"] = float(res.igd_plus(R))
            hv, hv_ref = float(res.normalised_hypervolume(R)), None
            try:  # the reference front's own normalised hypervolume, for a ratio
                from ..multiobjective.indicators import normalised_hypervolume

                s = np.ones(F.shape[1]) if res.senses is None else np.asarray(res.senses, float)
                hv_ref = float(normalised_hypervolume(R * s, R * s))
            except Exception:
                pass
            metrics["hv_norm"] = hv
            if hv_ref:
                metrics["hv_ratio"] = hv / hv_ref
        except Exception as exc:
            metrics["indicator_error"] = f"{type(exc).__name__}: {exc}"
    term = getattr(res, "termination", None)
    ps, its = getattr(res, "primal_status", None), getattr(res, "iterations", None)
    return {"status": status, "termination": str(term) if term is not None else status,
            "primal_status": str(ps) if ps is not None else None, "objective": None,
            "iterations": its if isinstance(its, int) else None, "metrics": _plain(metrics),
            "evaluations": _plain(dict(getattr(res, "counts", {}) or {})),
            "message": getattr(res, "message", "") or ""}


def _history(h) -> list | None:
    if not h:
        return None
    h = list(h)
    if len(h) > MAX_HISTORY:  # keep first, last and an even subsample
        step = math.ceil(len(h) / MAX_HISTORY)
        h = h[::step] + ([h[-1]] if (len(h) - 1) % step else [])
    return _plain(h)


def _plain(o: Any) -> Any:
    """JSON-able copy (numpy scalars/arrays to Python)."""
    def default(v):
        if hasattr(v, "tolist"):
            return v.tolist()
        if hasattr(v, "item"):
            return v.item()
        return str(v)
    return json.loads(json.dumps(o, default=default))
