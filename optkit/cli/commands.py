"""The subcommands of ``optkit``: each takes the parsed arguments and a JSON sink, returns the
exit status (:data:`optkit.cli.EXIT_OK` 0, ``EXIT_NOT_SOLVED`` 1, ``EXIT_BAD_INPUT`` 2)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import OptionError, UnknownSolverError
from .output import JsonOut, table

EXIT_OK, EXIT_NOT_SOLVED, EXIT_BAD_INPUT = 0, 1, 2


# ---------------------------------------------------------------- listings
def cmd_solvers(a, out: JsonOut) -> int:
    from .. import registry
    from ..extras import install_hint

    rows = registry.table()
    for r in rows:
        try:
            extra = getattr(registry.get(r["name"]), "extra", None)
        except Exception:
            extra = None
        r["extra"] = extra
        if not r["available"] and extra and install_hint(extra) not in r.get("note", ""):
            r["note"] = (f"{r['note']}; " if r.get("note") else "") + f"install: {install_hint(extra)}"
    if a.available:
        rows = [r for r in rows if r["available"]]
    if a.json:
        out.set(rows)
    else:
        print(table(rows, ["name", "available", "version", "accepts", "note"]))
    return EXIT_OK


def cmd_problems(a, out: JsonOut) -> int:
    from ..problems_api import list_libraries

    rows = list_libraries()
    if a.json:
        out.set(rows)
    else:
        print(table(rows, ["name", "loadable", "description", "note"]))
    return EXIT_OK


# ---------------------------------------------------------------- backend options
def backend(name: str):
    """The backend called ``name`` (or "package.module:Class"), refused in one line when the
    name does not load or is not a backend."""
    from .. import registry
    from ..backend import Backend

    try:
        b = registry.get(name)
    except (UnknownSolverError, OptionError):
        raise
    except Exception as exc:
        raise UnknownSolverError(f"solver {name!r} cannot be loaded: {type(exc).__name__}: "
                                 f"{exc}") from exc
    if not isinstance(b, Backend):
        raise UnknownSolverError(f"solver {name!r} is not an optkit backend (it is a "
                                 f"{type(b).__name__}; give a registered name or "
                                 f"package.module:BackendClass)")
    return b


def split_options(backends: list, pairs: list[tuple[str, Any]]) -> dict:
    """``-o key=value`` pairs → solve options: optkit's shared options and each backend's own
    options by name, native solver options (names the backends list) under ``solver_options``;
    a key none of these knows is refused naming the valid ones."""
    from ..options import COMMON_OPTIONS

    opts: dict[str, Any] = {}
    native: dict[str, Any] = {}
    for k, v in pairs:
        if k == "solver_options":
            raise OptionError("-o solver_options=...: give native options one by one "
                              "(-o presolve=off)")
        if k in COMMON_OPTIONS or all(k in b.options for b in backends):
            opts[k] = v
            continue
        lists = [b.solver_option_names() for b in backends]
        if all(names is not None and k in names for names in lists):
            native[k] = v
            continue
        b = next(b for b, names in zip(backends, lists) if k not in b.options and
                 (names is None or k not in names))
        valid = ", ".join(list(COMMON_OPTIONS) + sorted(b.options))
        names = b.solver_option_names()
        hint = (f"; or one of its {len(names)} native options" if names else
                "; it does not list native options")
        raise OptionError(f"-o {k}: unknown option for backend '{b.name}' (optkit options: "
                          f"{valid}{hint})")
    if native:
        opts["solver_options"] = native
    return opts


# ---------------------------------------------------------------- solve
def cmd_solve(a, out: JsonOut) -> int:
    from .. import registry
    from ..batch.job import read_model
    from .. import solve  # the ok.solve function
    from ..errors import ReadTimeoutError
    from .watchdog import Watchdog

    path = Path(a.file)
    check_input_file(path)
    dog = None
    if a.time_limit is not None:
        dog = Watchdog(a.time_limit, f"optkit solve: {path}: stopped: the command did not "
                       f"finish within its time limit of {a.time_limit:g} s",
                       hard=getattr(a, "_hard_watchdog", False))
        if a.json and out.fd is not None:
            doc = {"file": str(path), "termination": "TIME_LIMIT", "solved": False,
                   "error": dog.message, "exit_code": EXIT_NOT_SOLVED}
            dog.also = (out.fd, (json.dumps(doc) + "\n").encode())
        dog.start()
    try:
        b = backend(a.solver) if a.solver else None
        try:
            model = read_model(str(path), strict=not a.lenient, time_limit=a.time_limit)
        except ReadTimeoutError as exc:
            return _not_solved(a, out, f"{exc}; nothing solved (time limit "
                               f"{a.time_limit:g} s)", "TIME_LIMIT")
        except MemoryError:
            raise OptionError(f"{path}: not enough memory to read it "
                              f"({path.stat().st_size / 2**20:.0f} MB)") from None
        if b is None:
            b = registry.choose(model)
        opts = split_options([b], a.option or [])
        if a.tol is not None:
            opts["tol"] = a.tol
        if dog is not None:
            left = dog.remaining()
            if left <= 0:
                return _not_solved(a, out, f"{path}: reading took the whole time limit of "
                                   f"{a.time_limit:g} s; nothing solved", "TIME_LIMIT")
            opts["time_limit"] = left
        res = solve(model, b.name if a.solver is None else a.solver, **opts)
    finally:
        if dog is not None:
            dog.cancel()
    solved = res.is_solved()
    warnings = _read_warnings(model, res)
    if a.json:
        doc = res.to_dict(arrays=a.x)
        doc.update(file=str(path), solved=solved, exit_code=EXIT_OK if solved else EXIT_NOT_SOLVED)
        if warnings:
            doc["read_warnings"] = warnings
        out.set(doc)
    else:
        print(f"solver:      {res.solver} {res.solver_version}")
        print(f"termination: {res.termination}")
        print(f"primal:      {res.primal_status}")
        print(f"verified:    {res.verified}   (solved: {solved})")
        print(f"objective:   {res.objective}")
        kkt = res.kkt.get("kkt")
        print(f"kkt:         {kkt if kkt is None else f'{kkt:.3e}'}")
        print(f"time:        {res.timings.get('total', float('nan')):.3f} s")
        if res.message:
            print(f"message:     {res.message}")
        for w in warnings or []:
            print(f"warning:     {w}")
    return EXIT_OK if solved else EXIT_NOT_SOLVED


def _read_warnings(model, res) -> list[str] | None:
    from ..batch.job import read_warnings

    return read_warnings(model, res)


def _not_solved(a, out: JsonOut, message: str, termination: str) -> int:
    print(f"optkit solve: {message}", file=sys.stderr)
    if a.json:
        out.set({"file": a.file, "termination": termination, "solved": False,
                 "message": message, "exit_code": EXIT_NOT_SOLVED})
    return EXIT_NOT_SOLVED


def check_input_file(path: Path) -> None:
    """A model file that exists, is a regular file and can be opened (one line otherwise)."""
    from ..errors import ReadError

    if not path.exists():
        raise ReadError(f"{path}: no such file")
    if path.is_dir():
        raise ReadError(f"{path}: is a directory, not a model file")
    if not path.is_file():
        raise ReadError(f"{path}: is not a regular file")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ReadError(f"{path}: cannot be opened ({exc.strerror or exc})") from exc


# ---------------------------------------------------------------- batch
def cmd_batch(a, out: JsonOut) -> int:
    from ..batch import run
    from ..batch.outcomes import NOT_OK, counts
    from ..batch.runner import summary_dict
    from ..batch.store import Store, _check_file
    from ..extras import require

    if a.report:
        require("matplotlib", "plot", "optkit batch --report")
    if a.executor == "dask":
        require("distributed", "dask", "optkit batch --executor dask")
    if a.scheduler and a.executor != "dask":
        raise OptionError("--scheduler is the address of a Dask scheduler: give it with "
                          "--executor dask")
    store_path = Path(a.store)
    if store_path.exists():
        store: Any = Store(store_path)  # checked (and an older schema migrated) before any job
    else:
        _check_file(store_path, readonly=False)
        store = store_path
    backends = [backend(s) for s in a.solvers]
    settings = a.settings
    if a.option:
        extra = split_options(backends, a.option)
        settings = _with_options(settings, extra)
    params = dict(a.param or [])
    runs = run(a.library, a.solvers, settings=settings, seeds=a.seeds, workers=a.workers,
               time_limit=a.time_limit, memory_limit=a.memory_limit, store=store,
               executor=a.executor, scheduler=a.scheduler, progress=not a.no_progress,
               params=params, lenient=a.lenient)
    c = counts(runs)
    code = EXIT_NOT_SOLVED if any(c.get(k) for k in NOT_OK) else EXIT_OK
    report = None
    if a.report:
        from ..batch.reporting import write_report

        with Store(runs.store, readonly=True) as st:
            report = write_report(st, a.report)
    if a.json:
        doc = {"jobs": runs.jobs, "ran": runs.ran, "skipped": runs.skipped,
               "store": str(runs.store), **summary_dict(runs), "exit_code": code}
        if report:
            doc["report"] = {k: str(v) for k, v in report.items() if k != "png"}
        out.set(doc)
    else:
        from ..batch import summary

        print(f"{runs.jobs} jobs: {runs.ran} run now, {runs.skipped} already in {runs.store}")
        print(summary(runs))  # statuses per label, then the outcome counts
        if report:
            print(f"report: {report['html']}")
    return code


def _with_options(settings: Any, extra: dict) -> Any:
    """``-o`` options added to every settings entry (an entry's own value wins)."""
    def merge(d: dict) -> dict:
        m = {**{k: v for k, v in extra.items() if k != "solver_options"}, **d}
        if "solver_options" in extra:
            m["solver_options"] = {**extra["solver_options"], **(d.get("solver_options") or {})}
        return m

    if settings is None:
        return dict(extra)
    if isinstance(settings, dict):
        if settings and all(isinstance(v, dict) for v in settings.values()):
            return {k: merge(v) for k, v in settings.items()}
        return merge(settings)
    return [merge(s) if isinstance(s, dict) else s for s in settings]


# ---------------------------------------------------------------- report, export
def cmd_report(a, out: JsonOut) -> int:
    from ..batch.store import Store, StoreError
    from ..extras import require

    require("matplotlib", "plot", "optkit report")
    from ..batch.reporting import write_report

    with Store(a.file, readonly=True) as st:
        if st.count() == 0:
            raise StoreError(f"{a.file}: the store has no rows to report")
        paths = write_report(st, a.out, title=a.title)
    shown = {k: str(v) for k, v in paths.items() if k != "png"}
    if a.json:
        pngs: Any = paths.get("png") or {}
        out.set({**shown, "png": {k: str(v) for k, v in pngs.items()}})
    else:
        for k, v in shown.items():
            print(f"{k}: {v}")
    return EXIT_OK


def cmd_export(a, out: JsonOut) -> int:
    from ..batch.store import Store
    from ..extras import require

    if not (a.csv or a.parquet):
        raise OptionError("give --csv OUT and/or --parquet OUT")
    if a.parquet:
        require("pandas", "data", "optkit export --parquet")
        require("pyarrow", "data", "optkit export --parquet")
    for target in (a.csv, a.parquet):
        if target:
            _check_output(Path(target))
    written: dict[str, str] = {}
    with Store(a.file, readonly=True) as st:
        if a.csv:
            written["csv"] = str(st.to_csv(a.csv, with_history=a.history))
        if a.parquet:
            written["parquet"] = str(st.to_parquet(a.parquet, with_history=a.history))
        n = st.count()
    if a.json:
        out.set({**written, "rows": n})
    else:
        for v in written.values():
            print(v)
    return EXIT_OK


def _check_output(p: Path) -> None:
    if p.is_dir():
        raise OptionError(f"{p}: is a directory; give a file name to write")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OptionError(f"{p}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OptionError(f"{p}: the folder {parent} is not writable")
