"""The ``optkit`` command line (entry point ``optkit.cli:main``; also ``python -m optkit.cli``).

    optkit --version
    optkit solvers [--available] [--json]
    optkit problems [--json]
    optkit solve FILE [--solver NAME] [--time-limit S] [--tol T] [-o KEY=VALUE ...] [--lenient]
                 [--json [--x]]
    optkit batch --library NAME|folder:PATH --solvers a,b [--settings JSON] [--seeds 1,2]
                 [--workers N] [--time-limit S] [--memory-limit MB] [--store FILE]
                 [--executor local|dask] [--scheduler ADDR] [--param key=value ...]
                 [-o KEY=VALUE ...] [--lenient] [--report DIR] [--no-progress] [--json]
    optkit report FILE --out DIR [--title T] [--json]
    optkit export FILE (--csv OUT | --parquet OUT) [--history] [--json]

Every subcommand takes ``--json`` (one JSON document on stdout) and ``--debug`` (the traceback
of an error). Exit status (docs/cli.md):

====  ==================================================================================
0     solved (``solve``: ``is_solved()``; ``batch``: every row agrees with its expected
      outcome, a refusal the instance expects included); listings, report, export done
1     ran but not solved: INFEASIBLE, UNBOUNDED, TIME_LIMIT, ERROR, UNVERIFIED, ... (batch: a
      wrong, unverified or failed row, or an unexpected refusal); the whole-command time limit
2     bad input: unknown solver, option, library or parameter, unreadable file, bad store,
      bad flag value, a missing optional extra; one line on stderr names what is wrong
130   interrupted (Ctrl-C); 143 terminated (SIGTERM) — running batch jobs are killed first
====  ==================================================================================
"""
from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from . import args as A
from .commands import (EXIT_BAD_INPUT, EXIT_NOT_SOLVED, EXIT_OK, cmd_batch, cmd_export,
                       cmd_problems, cmd_report, cmd_solve, cmd_solvers)
from .output import json_mode

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("optkit")
    except Exception:
        from .. import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    common = A.Parser(add_help=False)
    common.add_argument("--json", action="store_true",
                        help="machine-readable output: one JSON document on stdout")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error")
    p = A.Parser(prog="optkit", description="optkit: solve, batch-solve, report")
    p.add_argument("--version", action="version", version=f"optkit {_version()}")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=A.Parser, metavar="COMMAND")

    s = sub.add_parser("solvers", parents=[common], help="list the registered backends")
    s.add_argument("--available", action="store_true", help="only those installed here")
    s.set_defaults(func=cmd_solvers)

    s = sub.add_parser("problems", parents=[common], help="list the registered problem libraries")
    s.set_defaults(func=cmd_problems)

    s = sub.add_parser("solve", parents=[common], help="solve an MPS/LP file")
    s.add_argument("file")
    s.add_argument("--solver", default=None, help="backend name (default: chosen by priority)")
    s.add_argument("--time-limit", type=A.positive_float, default=None,
                   help="seconds for the whole command: reading and solving")
    s.add_argument("--tol", type=A.positive_float, default=None)
    s.add_argument("-o", "--option", type=A.key_value, action="append", metavar="KEY=VALUE",
                   help="backend option (repeatable): optkit's or the backend's own by name, "
                        "else a native solver option")
    s.add_argument("--lenient", action="store_true",
                   help="accept a file the reader has warnings about (they are shown)")
    s.add_argument("--x", action="store_true", help="with --json: include x and y")
    s.set_defaults(func=cmd_solve)

    s = sub.add_parser("batch", parents=[common], help="run a library × solvers grid into a store")
    s.add_argument("--library", required=True, help="registered name or folder:PATH")
    s.add_argument("--solvers", required=True, type=A.name_list,
                   help="comma-separated backend names")
    s.add_argument("--settings", type=A.json_settings, default=None,
                   help='JSON: {"tol": 1e-8}, [{...}, {...}] or {"label": {...}}')
    s.add_argument("--seeds", type=A.int_list, default=None, help="comma-separated integers")
    s.add_argument("--workers", type=A.positive_int, default=1)
    s.add_argument("--time-limit", type=A.positive_float, default=60.0)
    s.add_argument("--memory-limit", type=A.positive_float, default=None, help="MB per job")
    s.add_argument("--store", default="results.sqlite")
    s.add_argument("--executor", choices=["local", "dask"], default="local")
    s.add_argument("--scheduler", default=None, help="Dask scheduler address")
    s.add_argument("--param", type=A.library_param, action="append",
                   help="library parameter key=value (repeatable; JSON values allowed)")
    s.add_argument("-o", "--option", type=A.key_value, action="append", metavar="KEY=VALUE",
                   help="backend option for every job (repeatable)")
    s.add_argument("--lenient", action="store_true",
                   help="read model files leniently; rows keep the reader's warnings")
    s.add_argument("--report", default=None, help="also write the report to this folder")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_batch)

    s = sub.add_parser("report", parents=[common], help="write Markdown/PNG/HTML report of a store")
    s.add_argument("file")
    s.add_argument("--out", required=True)
    s.add_argument("--title", default="optkit batch report")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("export", parents=[common], help="export a store to CSV / Parquet")
    s.add_argument("file")
    s.add_argument("--csv", default=None)
    s.add_argument("--parquet", default=None)
    s.add_argument("--history", action="store_true", help="include history and log columns")
    s.set_defaults(func=cmd_export)
    return p


def error_line(exc: BaseException, cmd: str, file: str | None = None) -> tuple[str, int]:
    """The one stderr line for an exception, and the exit status (``file``: the command's
    input, named when the exception does not name one)."""
    from ..errors import OptkitError

    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OptkitError):
        return f"optkit {cmd}: error: {text}", EXIT_BAD_INPUT
    if isinstance(exc, UnicodeDecodeError):
        where = f"{file}: " if file else ""
        return (f"optkit {cmd}: error: {where}not UTF-8 text ({exc.reason} at byte {exc.start})",
                EXIT_BAD_INPUT)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"optkit {cmd}: error: {where}{exc.strerror or text}", EXIT_BAD_INPUT
    if isinstance(exc, MemoryError):
        return f"optkit {cmd}: error: out of memory", EXIT_NOT_SOLVED
    if isinstance(exc, (ValueError, KeyError, TypeError)):
        return f"optkit {cmd}: error: {text}", EXIT_BAD_INPUT
    return (f"optkit {cmd}: internal error: {type(exc).__name__}: {text} (run with --debug for "
            f"the traceback)", EXIT_NOT_SOLVED)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (see the module docstring)."""
    args = build_parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    args._hard_watchdog = argv is None  # a real process: the C-level backstop may end it
    with json_mode(getattr(args, "json", False)) as out:
        try:
            return args.func(args, out)
        except KeyboardInterrupt:
            print("optkit: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except SystemExit as exc:  # SIGTERM during a batch (optkit.batch.runner.sigterm_as_exit)
            if exc.code == EXIT_TERMINATED:
                print("optkit: terminated", file=sys.stderr)
            raise
        except Exception as exc:
            if debug:
                traceback.print_exc()
            line, code = error_line(exc, args.cmd, getattr(args, "file", None))
            print(line, file=sys.stderr)
            if getattr(args, "json", False):
                out.set({"error": line, "exit_code": code})
            return code


__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_NOT_SOLVED", "EXIT_BAD_INPUT",
           "EXIT_INTERRUPTED", "EXIT_TERMINATED"]
