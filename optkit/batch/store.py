"""The batch result store: one SQLite file, one row per job, keyed by a content hash.

Schema (table ``runs``; JSON columns hold text)::

    job_key         TEXT PRIMARY KEY  sha256 of (problem_key, solver, settings, seed, time_limit, versions)
    problem_key     TEXT   content hash of the instance (file bytes, or library/params/name)
    library         TEXT   library spec ("hs-eq", "folder:/data/mps")
    instance        TEXT   instance name
    problem_class   TEXT   lp, milp, qp, nlp, ... (from the library)
    n, m            INTEGER
    expected        TEXT   optimal | infeasible | unbounded | read_error | bad_data | unsupported
    known_objective REAL
    solver          TEXT   backend name
    label           TEXT   solver label used in reports: "solver" or "solver[settings-label]"
    settings        TEXT   JSON of the options given to ok.solve
    seed            INTEGER (NULL when no seed)
    time_limit      REAL   seconds (the solver's limit; the hard kill comes a grace period later)
    versions        TEXT   JSON {"optkit": ..., "solver": ...}
    status          TEXT   termination name (OPTIMAL, INFEASIBLE, TIME_LIMIT, ...) or a batch outcome:
                           UNVERIFIED (a claim of optimality optkit's measurement did not confirm),
                           CRASH, TIMEOUT, MEMORY, READ_ERROR, BAD_DATA, UNSUPPORTED, INVALID_PROBLEM, ERROR
    termination     TEXT   the Result's termination (NULL when the solve did not return)
    primal_status   TEXT
    objective       REAL
    iterations      INTEGER
    nodes           INTEGER branch-and-bound nodes (MIP; NULL otherwise)
    verified        INTEGER optkit's verdict on a claim of optimality: 1, 0, or NULL (nothing claimed)
    native_status   TEXT   the solver's own status key
    kkt             TEXT   JSON of optkit's measured residuals
    evaluations     TEXT   JSON of oracle counters
    history         TEXT   JSON list of per-iteration dicts (NULL when the solver keeps none)
    metrics         TEXT   JSON of result-kind extras: for a Pareto front its points, the front
                           (≤ 2000 points) and IGD / IGD⁺ / hypervolume against a reference front;
                           for a bilevel result both levels' objectives, the lower-level value
                           v(x), the gap f(x,y) − v(x) and both levels' feasibility
    build_time      REAL   seconds to build the model (0 when reused from the previous job)
    solve_time      REAL   seconds inside ok.solve
    wall_time       REAL   seconds from dispatch to row, measured by the parent
    message         TEXT   the solver's message or the error
    log             TEXT   captured stdout/stderr of the job (tail)
    worker          TEXT   "host:pid" of the process that ran it
    batch_id        TEXT   id of the run() call that wrote the row
    finished        REAL   unix time the row was written

Rows are written with ``INSERT OR IGNORE`` on the primary key, so a job has exactly one row even
when two batches (or two writers) finish it at once; the file is in WAL mode with a busy timeout,
so concurrent writers wait instead of failing.
"""
from __future__ import annotations

import csv
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable

SCHEMA_VERSION = "1"

COLUMNS: list[tuple[str, str]] = [
    ("job_key", "TEXT PRIMARY KEY"), ("problem_key", "TEXT"), ("library", "TEXT"),
    ("instance", "TEXT"), ("problem_class", "TEXT"), ("n", "INTEGER"), ("m", "INTEGER"),
    ("expected", "TEXT"), ("known_objective", "REAL"), ("solver", "TEXT"), ("label", "TEXT"),
    ("settings", "TEXT"), ("seed", "INTEGER"), ("time_limit", "REAL"), ("versions", "TEXT"),
    ("status", "TEXT"), ("termination", "TEXT"), ("primal_status", "TEXT"), ("objective", "REAL"),
    ("iterations", "INTEGER"), ("kkt", "TEXT"), ("evaluations", "TEXT"), ("history", "TEXT"),
    ("metrics", "TEXT"), ("nodes", "INTEGER"), ("verified", "INTEGER"), ("native_status", "TEXT"),
    ("build_time", "REAL"), ("solve_time", "REAL"), ("wall_time", "REAL"), ("message", "TEXT"),
    ("log", "TEXT"), ("worker", "TEXT"), ("batch_id", "TEXT"), ("finished", "REAL"),
]
NAMES = [c for c, _ in COLUMNS]
JSON_COLUMNS = ("settings", "versions", "kkt", "evaluations", "history", "metrics")


class Store:
    """A SQLite result store (``Store("results.sqlite")``); see the module docstring for the schema."""

    def __init__(self, path: str | os.PathLike, timeout: float = 120.0):
        self.path = Path(path)
        self.timeout = timeout
        self._con: sqlite3.Connection | None = None
        self._pid = None
        con = self.connection
        with con:
            con.execute(f"CREATE TABLE IF NOT EXISTS runs ({', '.join(f'{c} {t}' for c, t in COLUMNS)})")
            con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            con.execute("CREATE INDEX IF NOT EXISTS runs_solver ON runs(solver, label)")
            have = {r[1] for r in con.execute("PRAGMA table_info(runs)")}
            for c, t in COLUMNS:  # stores written by an older optkit gain the new columns
                if c not in have:
                    con.execute(f"ALTER TABLE runs ADD COLUMN {c} {t}")

    @property
    def connection(self) -> sqlite3.Connection:
        """A connection for this process (a forked child opens its own)."""
        if self._con is None or self._pid != os.getpid():
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None)
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = NORMAL")
            self._con, self._pid = con, os.getpid()
        return self._con

    def close(self) -> None:
        if self._con is not None and self._pid == os.getpid():
            self._con.close()
        self._con = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ writing
    def add(self, row: dict) -> bool:
        """Insert one job row; False when the job already has a row (the first writer wins)."""
        unknown = set(row) - set(NAMES)
        if unknown:
            raise KeyError(f"unknown store column(s): {', '.join(sorted(unknown))}")
        if not row.get("job_key"):
            raise KeyError("a store row needs its job_key")
        vals = {c: _encode(c, row.get(c)) for c in NAMES}
        vals["finished"] = vals["finished"] or time.time()
        cur = self.connection.execute(
            f"INSERT OR IGNORE INTO runs ({', '.join(NAMES)}) VALUES ({', '.join('?' * len(NAMES))})",
            [vals[c] for c in NAMES])
        return cur.rowcount == 1

    # ------------------------------------------------------------ reading
    def keys(self, candidates: Iterable[str] | None = None) -> set[str]:
        """Job keys present (restricted to ``candidates`` when given)."""
        con = self.connection
        if candidates is None:
            return {r[0] for r in con.execute("SELECT job_key FROM runs")}
        cands = list(candidates)
        found: set[str] = set()
        for i in range(0, len(cands), 500):
            chunk = cands[i:i + 500]
            found |= {r[0] for r in con.execute(
                f"SELECT job_key FROM runs WHERE job_key IN ({', '.join('?' * len(chunk))})", chunk)}
        return found

    def rows(self, keys: Iterable[str] | None = None, decode: bool = True,
             columns: list[str] | None = None) -> list[dict]:
        """All rows (or those with the given job keys), JSON columns decoded."""
        cols = columns or NAMES
        con = self.connection
        if keys is None:
            data = con.execute(f"SELECT {', '.join(cols)} FROM runs ORDER BY rowid").fetchall()
        else:
            ks = list(keys)
            data = []
            for i in range(0, len(ks), 500):
                chunk = ks[i:i + 500]
                data += con.execute(f"SELECT {', '.join(cols)} FROM runs WHERE job_key IN "
                                    f"({', '.join('?' * len(chunk))}) ORDER BY rowid", chunk).fetchall()
        out = [dict(zip(cols, r)) for r in data]
        if decode:
            for r in out:
                for c in JSON_COLUMNS:
                    if c in r and r[c] is not None:
                        r[c] = json.loads(r[c])
        return out

    def count(self) -> int:
        return self.connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def __len__(self) -> int:
        return self.count()

    # ------------------------------------------------------------ export
    def dataframe(self, with_history: bool = False):
        """The rows as a pandas DataFrame (JSON columns kept as text; no history unless asked)."""
        import pandas as pd

        cols = [c for c in NAMES if with_history or c not in ("history", "log")]
        return pd.DataFrame(self.rows(decode=False, columns=cols), columns=cols)

    def to_csv(self, path: str | os.PathLike, with_history: bool = False) -> Path:
        """Write all rows to CSV (JSON columns as text; history/log only when asked)."""
        cols = [c for c in NAMES if with_history or c not in ("history", "log")]
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for r in self.rows(decode=False, columns=cols):
                w.writerow(r)
        return Path(path)

    def to_parquet(self, path: str | os.PathLike, with_history: bool = False) -> Path:
        """Write all rows to Parquet (needs pandas and pyarrow)."""
        self.dataframe(with_history).to_parquet(path, index=False)
        return Path(path)


def _encode(col: str, v: Any) -> Any:
    if col in JSON_COLUMNS:
        return None if v is None else json.dumps(v, default=_json_default, sort_keys=True)
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # numpy scalars
        v = v.item()
    if isinstance(v, float) and v != v:  # NaN → NULL
        return None
    return v


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        try:
            return o.item()
        except (ValueError, TypeError):
            pass
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)
