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
    tuned_options   TEXT   JSON of the options a tuner chose for this job (tuned batches,
                           :mod:`optkit.batch.tuned`; NULL otherwise)
    tuner_state     TEXT   JSON of the tuner's compact state right after it observed this job's
                           cost (round number, policy state, generator state); a resumed tuned
                           batch continues from the row with the highest round

Rows are written with ``INSERT OR IGNORE`` on the primary key, so a job has exactly one row even
when two batches (or two writers) finish it at once; the file is in WAL mode with a busy timeout,
so concurrent writers wait instead of failing.

Opening. ``Store(path)`` opens for writing (``batch``): it creates the file, or checks an existing
one and migrates an older schema in place. ``Store(path, readonly=True)`` (``report``, ``export``)
opens with SQLite's ``file:PATH?mode=ro`` URI and sets no pragma, so a store on a read-only file
or folder can be read; an older schema is read as it is (missing columns read as NULL). Anything
that is not a store — a missing file (for reading), a directory, an empty file, a file that is
not SQLite, a corrupt or truncated database, an SQLite database without a ``runs`` table, a store
written by a newer optkit — raises :class:`StoreError`, one line naming the file and the problem.

Schema versions (``PRAGMA user_version``, also in table ``meta``): 0 — stores written before the
version was kept there (their columns ``nodes``, ``verified``, ``native_status`` may be
missing); 2 — ``read_warnings`` added (the reader's warnings when a file was read leniently).
Opening an older store for writing adds the missing columns (NULL in old rows) and sets the
version; a store of a newer schema than this optkit knows is refused.
"""
from __future__ import annotations

import csv
import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Iterator
from urllib.parse import quote

from ..errors import OptkitError
from ..extras import require

SCHEMA_VERSION = 2
SQLITE_MAGIC = b"SQLite format 3\x00"

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
    ("read_warnings", "TEXT"), ("tuned_options", "TEXT"), ("tuner_state", "TEXT"),
]
NAMES = [c for c, _ in COLUMNS]
JSON_COLUMNS = ("settings", "versions", "kkt", "evaluations", "history", "metrics",
                "read_warnings", "tuned_options", "tuner_state")
#: columns every store has had since the first release (a ``runs`` table without them belongs
#: to something else)
CORE_COLUMNS = ("job_key", "instance", "solver", "status")


class StoreError(OptkitError, ValueError):
    """A batch store cannot be opened or read; the message names the file and what is wrong."""


class Store:
    """A SQLite result store (``Store("results.sqlite")``); see the module docstring for the schema.

    ``readonly=True`` opens an existing store for reading only: no file is created, no pragma
    is set, the schema is read as it is.
    """

    def __init__(self, path: str | os.PathLike, timeout: float = 120.0, readonly: bool = False):
        self.path = Path(path)
        self.timeout = timeout
        self.readonly = readonly
        self._con: sqlite3.Connection | None = None
        self._pid: int | None = None
        self.schema_version = 0
        self._have: list[str] = list(NAMES)
        _check_file(self.path, readonly)
        with self._guard("opening it"):
            self._open_schema()

    # ------------------------------------------------------------ opening
    def _open_schema(self) -> None:
        con = self.connection
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = int(con.execute("PRAGMA user_version").fetchone()[0])
        have: list[str] = []
        if "runs" in tables:
            have = [r[1] for r in con.execute("PRAGMA table_info(runs)")]
            missing = [c for c in CORE_COLUMNS if c not in have]
            if missing:
                raise StoreError(f"{self.path}: has a table 'runs' that is not an optkit batch "
                                 f"store's (no column {', '.join(missing)})")
        elif tables:
            shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise StoreError(f"{self.path}: is an SQLite database but not an optkit batch store "
                             f"(no table 'runs'; its tables: {shown})")
        elif self.readonly:
            raise StoreError(f"{self.path}: is an empty SQLite database, not a batch store "
                             f"(no table 'runs')")
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: was written by a newer optkit (store schema {version}; "
                             f"this optkit knows schemas up to {SCHEMA_VERSION}): upgrade optkit")
        if self.readonly:  # report / export read every page anyway: find damage before output
            bad = [r[0] for r in con.execute("PRAGMA quick_check(3)")]
            if bad != ["ok"]:
                raise StoreError(f"{self.path}: is corrupt or truncated (SQLite's quick_check: "
                                 f"{'; '.join(bad)})")
            self._have = [c for c in NAMES if c in have]
            self.schema_version = version
            return
        with con:  # create, or migrate an older store in place (new columns are NULL in old rows)
            con.execute("BEGIN IMMEDIATE")
            con.execute(f"CREATE TABLE IF NOT EXISTS runs "
                        f"({', '.join(f'{c} {t}' for c, t in COLUMNS)})")
            con.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            con.execute("CREATE INDEX IF NOT EXISTS runs_solver ON runs(solver, label)")
            have_now = {r[1] for r in con.execute("PRAGMA table_info(runs)")}
            for c, t in COLUMNS:
                if c not in have_now:
                    con.execute(f"ALTER TABLE runs ADD COLUMN {c} {t}")
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),))
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._have = list(NAMES)
        self.schema_version = SCHEMA_VERSION

    @property
    def connection(self) -> sqlite3.Connection:
        """A connection for this process (a forked child opens its own)."""
        if self._con is None or self._pid != os.getpid():
            if self.readonly:
                uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
                if _frozen(self.path):  # nobody writes it: no lock, no -shm beside it
                    uri += "&immutable=1"
                con = sqlite3.connect(uri, uri=True, timeout=self.timeout, isolation_level=None)
            else:
                if self.path.parent and not self.path.parent.exists():
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                con = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None)
                con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("PRAGMA synchronous = NORMAL")
            self._con, self._pid = con, os.getpid()
        return self._con

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """SQLite's errors as one :class:`StoreError` line naming this file."""
        try:
            yield
        except StoreError:
            self.close()
            raise
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(f"{self.path}: {_describe(exc, doing, self.readonly)}") from exc

    def close(self) -> None:
        if self._con is not None and self._pid == os.getpid():
            self._con.close()
        self._con = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ writing
    def add(self, row: dict) -> bool:
        """Insert one job row; False when the job already has a row (the first writer wins)."""
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only, cannot add rows")
        unknown = set(row) - set(NAMES)
        if unknown:
            raise KeyError(f"unknown store column(s): {', '.join(sorted(unknown))}")
        if not row.get("job_key"):
            raise KeyError("a store row needs its job_key")
        vals = {c: _encode(c, row.get(c)) for c in NAMES}
        vals["finished"] = vals["finished"] or time.time()
        with self._guard("writing a row"):
            cur = self.connection.execute(
                f"INSERT OR IGNORE INTO runs ({', '.join(NAMES)}) "
                f"VALUES ({', '.join('?' * len(NAMES))})", [vals[c] for c in NAMES])
        return cur.rowcount == 1

    # ------------------------------------------------------------ reading
    def keys(self, candidates: Iterable[str] | None = None) -> set[str]:
        """Job keys present (restricted to ``candidates`` when given)."""
        with self._guard("reading job keys"):
            con = self.connection
            if candidates is None:
                return {r[0] for r in con.execute("SELECT job_key FROM runs")}
            cands = list(candidates)
            found: set[str] = set()
            for i in range(0, len(cands), 500):
                chunk = cands[i:i + 500]
                found |= {r[0] for r in con.execute(
                    f"SELECT job_key FROM runs WHERE job_key IN ({', '.join('?' * len(chunk))})",
                    chunk)}
            return found

    def rows(self, keys: Iterable[str] | None = None, decode: bool = True,
             columns: list[str] | None = None) -> list[dict]:
        """All rows (or those with the given job keys), JSON columns decoded; columns an older
        store lacks read as None. A JSON column that does not parse raises :class:`StoreError`
        naming the store, the row (problem, solver) and the column."""
        cols = list(columns or NAMES)
        bad = [c for c in cols if c not in NAMES]
        if bad:
            raise KeyError(f"unknown store column(s): {', '.join(bad)}")
        ident = [c for c in ("instance", "label", "solver") if c in self._have]
        sel = [c for c in cols if c in self._have]
        sel += [c for c in ident if c not in sel]
        q = ", ".join(sel)
        with self._guard("reading rows"):
            con = self.connection
            if keys is None:
                data = con.execute(f"SELECT {q} FROM runs ORDER BY rowid").fetchall()
            else:
                ks = list(keys)
                data = []
                for i in range(0, len(ks), 500):
                    chunk = ks[i:i + 500]
                    data += con.execute(f"SELECT {q} FROM runs WHERE job_key IN "
                                        f"({', '.join('?' * len(chunk))}) ORDER BY rowid",
                                        chunk).fetchall()
        jcols = [c for c in JSON_COLUMNS if c in cols] if decode else []
        out = []
        for rec in data:
            full = dict(zip(sel, rec))
            r = {c: full.get(c) for c in cols}
            for c in jcols:
                text = r[c]
                if text is not None:
                    try:
                        r[c] = json.loads(text)
                    except (TypeError, ValueError) as exc:
                        raise StoreError(
                            f"{self.path}: row (problem {full.get('instance')!r}, solver "
                            f"{full.get('label') or full.get('solver')!r}): column {c!r} is not "
                            f"valid JSON ({exc})") from exc
            out.append(r)
        return out

    def count(self) -> int:
        with self._guard("counting rows"):
            return self.connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def __len__(self) -> int:
        return self.count()

    # ------------------------------------------------------------ export
    def dataframe(self, with_history: bool = False):
        """The rows as a pandas DataFrame (JSON columns kept as text; no history unless asked)."""
        pd = require("pandas", "data", "a DataFrame of a batch store")
        cols = [c for c in NAMES if with_history or c not in ("history", "log")]
        return pd.DataFrame(self.rows(decode=False, columns=cols), columns=cols)

    def to_csv(self, path: str | os.PathLike, with_history: bool = False) -> Path:
        """Write all rows to CSV (JSON columns as text; history/log only when asked)."""
        cols = [c for c in NAMES if with_history or c not in ("history", "log")]
        rows = self.rows(decode=False, columns=cols)
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for r in rows:
                w.writerow(r)
        return Path(path)

    def to_parquet(self, path: str | os.PathLike, with_history: bool = False) -> Path:
        """Write all rows to Parquet (needs pandas and pyarrow: the 'data' extra)."""
        require("pyarrow", "data", "Parquet export")
        self.dataframe(with_history).to_parquet(path, index=False)
        return Path(path)


# ---------------------------------------------------------------- before SQLite sees the file
def _check_file(path: Path, readonly: bool) -> None:
    """Refuse, in one line, what SQLite would refuse with a bare error or silently accept."""
    if path.is_dir():
        raise StoreError(f"{path}: is a directory, not a batch store file")
    parent = path.parent if str(path.parent) else Path(".")
    if not path.exists():
        if readonly:
            raise StoreError(f"{path}: no batch store at this path")
        if parent.exists() and not parent.is_dir():
            raise StoreError(f"{path}: cannot create the store: {parent} is not a directory")
        if parent.is_dir() and not _writable(parent):
            raise StoreError(f"{path}: cannot create the store: the folder {parent} is read-only")
        return
    if not path.is_file():
        raise StoreError(f"{path}: is not a regular file (a batch store is an SQLite file)")
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise StoreError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not head:
        if not readonly and _being_created(path):
            return  # another batch is creating this store right now: SQLite serialises us
        raise StoreError(f"{path}: is an empty file, not a batch store"
                         + ("" if readonly else " (remove it, or give a new store path)"))
    if not head.startswith(SQLITE_MAGIC[:len(head)]) or len(head) < len(SQLITE_MAGIC):
        raise StoreError(f"{path}: is not an SQLite file (a batch store is one); it starts with "
                         f"{head[:16]!r}")
    elif len(head) < 100:
        raise StoreError(f"{path}: is truncated ({len(head)} bytes; the SQLite header alone has "
                         f"100)")
    if not readonly:
        if not _writable(path):
            raise StoreError(f"{path}: is read-only, and a batch writes its rows into the store "
                             f"(make it writable or give a new --store; report and export read "
                             f"it as it is)")
        if not _writable(parent):
            raise StoreError(f"{path}: its folder {parent} is read-only, and SQLite writes a "
                             f"journal beside the store (report and export read it as it is)")


def _frozen(path: Path) -> bool:
    """A store no optkit batch can be writing (the file or its folder is read-only) and with no
    pending write-ahead log: SQLite may read it as immutable (no locks, no ``-shm`` file, which a
    read-only folder could not hold)."""
    wal = Path(f"{path}-wal")
    pending = wal.exists() and wal.stat().st_size > 0
    return not pending and not (_writable(path) and _writable(path.parent))


def _being_created(path: Path) -> bool:
    """An empty file that SQLite is initialising in another process (its WAL exists)."""
    return Path(f"{path}-wal").exists()


def _writable(p: Path) -> bool:
    """Writable by its mode bits and by access(2): root passes access(2) whatever the mode, but
    a 0444 file or a 0555 folder still says "do not write here"."""
    try:
        mode = p.stat().st_mode
    except OSError:
        return False
    return bool(mode & 0o222) and os.access(p, os.W_OK)


def _describe(exc: sqlite3.Error, doing: str, readonly: bool) -> str:
    """What an SQLite error means for a store, in words."""
    msg = str(exc)
    low = msg.lower()
    if "malformed" in low or "not a database" in low or "corrupt" in low:
        return f"is corrupt or truncated (SQLite, {doing}: {msg})"
    if "readonly" in low or "read-only" in low:
        return f"is read-only (SQLite, {doing}: {msg})"
    if "locked" in low or "busy" in low:
        return f"is locked by another process (SQLite, {doing}: {msg}); try again when it ends"
    if "unable to open" in low:
        return f"cannot be opened{' read-only' if readonly else ''} (SQLite: {msg})"
    if "no such column" in low or "no such table" in low:
        return f"does not have a batch store's schema (SQLite, {doing}: {msg})"
    return f"SQLite error while {doing}: {msg}"


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
