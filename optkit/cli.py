"""The ``optkit`` command line.

    optkit solvers [--available] [--json]           registered backends
    optkit problems [--json]                         registered problem libraries
    optkit solve FILE [--solver NAME] [--time-limit S] [--tol T] [--json]
    optkit batch --library NAME|folder:PATH --solvers a,b [--settings JSON] [--seeds 1,2]
                 [--workers N] [--time-limit S] [--memory-limit MB] [--store FILE]
                 [--executor local|dask] [--scheduler ADDR] [--param key=value ...]
                 [--report DIR] [--no-progress]
    optkit report FILE --out DIR [--title T]
    optkit export FILE (--csv OUT | --parquet OUT)

Exit status: 0 on success, 2 on bad input (the message names what is wrong), 130 on Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence


def _table(rows: list[dict], cols: list[str]) -> str:
    w = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in cols}
    lines = ["  ".join(c.ljust(w[c]) for c in cols), "  ".join("-" * w[c] for c in cols)]
    lines += ["  ".join(str(r.get(c, "")).ljust(w[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def _cmd_solvers(a) -> int:
    from . import registry

    rows = registry.table()
    if a.available:
        rows = [r for r in rows if r["available"]]
    print(json.dumps(rows, indent=1) if a.json else _table(rows, ["name", "available", "version",
                                                                  "accepts", "note"]))
    return 0


def _cmd_problems(a) -> int:
    from .problems_api import list_libraries

    rows = list_libraries()
    print(json.dumps(rows, indent=1) if a.json else _table(rows, ["name", "loadable",
                                                                  "description", "note"]))
    return 0


def _cmd_solve(a) -> int:
    from .solve import solve

    opts = {}
    if a.time_limit is not None:
        opts["time_limit"] = a.time_limit
    if a.tol is not None:
        opts["tol"] = a.tol
    res = solve(a.file, a.solver, **opts)
    if a.json:
        print(json.dumps(res.to_dict(arrays=a.x), indent=1))
    else:
        print(f"solver:      {res.solver} {res.solver_version}")
        print(f"termination: {res.termination}")
        print(f"primal:      {res.primal_status}")
        print(f"verified:    {res.verified}   (solved: {res.is_solved()})")
        print(f"objective:   {res.objective}")
        kkt = res.kkt.get("kkt")
        print(f"kkt:         {kkt if kkt is None else f'{kkt:.3e}'}")
        print(f"time:        {res.timings.get('total', float('nan')):.3f} s")
        if res.message:
            print(f"message:     {res.message}")
    return 0


def _parse_value(v: str):
    try:
        return json.loads(v)
    except json.JSONDecodeError:
        return v


def _cmd_batch(a) -> int:
    from .batch import run, summary

    params = {}
    for p in a.param or []:
        if "=" not in p:
            raise ValueError(f"--param must be key=value, got {p!r}")
        k, v = p.split("=", 1)
        params[k] = _parse_value(v)
    settings = json.loads(a.settings) if a.settings else None
    seeds = [int(s) for s in a.seeds.split(",")] if a.seeds else None
    solvers = [s.strip() for s in a.solvers.split(",") if s.strip()]
    runs = run(a.library, solvers, settings=settings, seeds=seeds, workers=a.workers,
               time_limit=a.time_limit, memory_limit=a.memory_limit, store=a.store,
               executor=a.executor, scheduler=a.scheduler, progress=not a.no_progress,
               params=params)
    from .batch.outcomes import verdict

    print(f"{runs.jobs} jobs: {runs.ran} run now, {runs.skipped} already in {runs.store}")
    print(summary(runs))
    v = [verdict(r) for r in runs]
    print("against expected outcomes: " + ", ".join(
        f"{k} {v.count(k)}" for k in ("correct", "wrong", "failed", "unknown") if v.count(k)))
    if a.report:
        from .batch.reporting import write_report

        paths = write_report(runs.store, a.report)
        print(f"report: {paths['html']}")
    return 0


def _cmd_report(a) -> int:
    from .batch.reporting import write_report

    paths = write_report(a.file, a.out, title=a.title)
    for k, v in paths.items():
        if k != "png":
            print(f"{k}: {v}")
    return 0


def _cmd_export(a) -> int:
    from .batch.store import Store
    from pathlib import Path

    if not Path(a.file).is_file():
        raise FileNotFoundError(f"no store at {a.file}")
    st = Store(a.file)
    if a.csv:
        print(st.to_csv(a.csv, with_history=a.history))
    if a.parquet:
        print(st.to_parquet(a.parquet, with_history=a.history))
    if not (a.csv or a.parquet):
        raise ValueError("give --csv OUT and/or --parquet OUT")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="optkit", description="optkit: solve, batch-solve, report")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("solvers", help="list the registered backends")
    s.add_argument("--available", action="store_true", help="only those installed here")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_solvers)

    s = sub.add_parser("problems", help="list the registered problem libraries")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_cmd_problems)

    s = sub.add_parser("solve", help="solve an MPS/LP file")
    s.add_argument("file")
    s.add_argument("--solver", default=None)
    s.add_argument("--time-limit", type=float, default=None)
    s.add_argument("--tol", type=float, default=None)
    s.add_argument("--json", action="store_true")
    s.add_argument("--x", action="store_true", help="with --json: include x and y")
    s.set_defaults(func=_cmd_solve)

    s = sub.add_parser("batch", help="run a library × solvers grid into a store")
    s.add_argument("--library", required=True, help="registered name or folder:PATH")
    s.add_argument("--solvers", required=True, help="comma-separated backend names")
    s.add_argument("--settings", default=None,
                   help='JSON: {"tol": 1e-8}, [{...}, {...}] or {"label": {...}}')
    s.add_argument("--seeds", default=None, help="comma-separated integers")
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--time-limit", type=float, default=60.0)
    s.add_argument("--memory-limit", type=float, default=None, help="MB per job")
    s.add_argument("--store", default="results.sqlite")
    s.add_argument("--executor", choices=["local", "dask"], default="local")
    s.add_argument("--scheduler", default=None, help="Dask scheduler address")
    s.add_argument("--param", action="append", help="library parameter key=value (repeatable)")
    s.add_argument("--report", default=None, help="also write the report to this folder")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=_cmd_batch)

    s = sub.add_parser("report", help="write Markdown/PNG/HTML report of a store")
    s.add_argument("file")
    s.add_argument("--out", required=True)
    s.add_argument("--title", default="optkit batch report")
    s.set_defaults(func=_cmd_report)

    s = sub.add_parser("export", help="export a store to CSV / Parquet")
    s.add_argument("file")
    s.add_argument("--csv", default=None)
    s.add_argument("--parquet", default=None)
    s.add_argument("--history", action="store_true", help="include history and log columns")
    s.set_defaults(func=_cmd_export)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import OptkitError

    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (OptkitError, ValueError, FileNotFoundError, json.JSONDecodeError) as exc:
        print(f"optkit {args.cmd}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
