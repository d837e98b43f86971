"""Stores that are not stores fail in one line naming the file, on ``batch``, ``report`` and
``export``; read-only stores are read; older schemas are migrated for writing, read as they are."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import optkit as ok
from optkit.batch.store import SCHEMA_VERSION, Store, StoreError
from optkit.cli import main
from optkit.problems_api import Instance, SimpleLibrary

OLD_COLUMNS = ["job_key", "problem_key", "library", "instance", "problem_class", "n", "m",
               "expected", "known_objective", "solver", "label", "settings", "seed", "time_limit",
               "versions", "status", "termination", "primal_status", "objective", "iterations",
               "kkt", "evaluations", "history", "metrics", "build_time", "solve_time",
               "wall_time", "message", "log", "worker", "batch_id", "finished"]


def _lp(i: int):
    return ok.LinearProblem(c=np.array([1.0 + i]), A=np.array([[1.0]]), rl=[1.0], ru=[np.inf],
                            lb=[0.0], ub=[np.inf])


LIB = SimpleLibrary("one", "x >= 1, min (1+i) x", lambda k=2: [
    Instance(f"p{i}", lambda i=i: _lp(i), "lp", 1, 1, known_objective=1.0 + i) for i in range(k)])


@pytest.fixture(scope="module")
def good_store(tmp_path_factory) -> Path:
    """A real store with 2 rows (closed: its WAL checkpointed into the file)."""
    p = tmp_path_factory.mktemp("good") / "good.sqlite"
    runs = ok.batch.run(LIB, ["highs"], store=p, progress=False)
    assert [r["status"] for r in runs] == ["OPTIMAL", "OPTIMAL"]
    con = sqlite3.connect(p)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    return p


def _make(kind: str, good: Path, d: Path) -> Path:
    p = d / f"{kind}.sqlite"
    raw = good.read_bytes()
    if kind == "corrupt":
        b = bytearray(raw)
        b[len(b) // 3: len(b) // 3 + 3000] = b"\x55" * 3000
        p.write_bytes(bytes(b))
    elif kind == "truncated":
        p.write_bytes(raw[: len(raw) // 2])
    elif kind == "header-only":
        p.write_bytes(raw[:40])
    elif kind == "foreign":
        con = sqlite3.connect(p)
        con.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
        con.commit()
        con.close()
    elif kind == "foreign-runs":
        con = sqlite3.connect(p)
        con.execute("CREATE TABLE runs (id INTEGER, started TEXT)")
        con.commit()
        con.close()
    elif kind == "not-sqlite":
        p.write_text("name,status\nafiro,OPTIMAL\n")
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "directory":
        p.mkdir()
    elif kind == "newer":
        p.write_bytes(raw)
        con = sqlite3.connect(p)
        con.execute("PRAGMA user_version = 99")
        con.close()
    else:  # pragma: no cover
        raise ValueError(kind)
    return p


# what the one line must say, per kind
WHAT = {"corrupt": "corrupt", "truncated": "corrupt or truncated", "header-only": "truncated",
        "foreign": "not an optkit batch store (no table 'runs'; its tables: customers)",
        "foreign-runs": "not an optkit batch store's (no column job_key, instance, solver, status)",
        "not-sqlite": "is not an SQLite file", "empty": "is an empty file",
        "directory": "is a directory", "newer": "newer optkit (store schema 99"}


def _one_line(capsys, code: int, path: Path, what: str, expect: int = 2) -> None:
    cap = capsys.readouterr()
    assert code == expect, cap.err
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1, cap.err
    assert "Traceback" not in cap.err
    assert str(path) in lines[0] and what in lines[0], lines[0]


@pytest.mark.parametrize("kind", sorted(WHAT))
def test_bad_store_is_one_line_on_batch_report_export(kind, good_store, tmp_path, capsys):
    p = _make(kind, good_store, tmp_path)
    _one_line(capsys, main(["batch", "--library", "one:LIB", "--solvers", "highs", "--store", str(p),
                            "--no-progress"]), p, WHAT[kind])
    _one_line(capsys, main(["report", str(p), "--out", str(tmp_path / "rep")]), p, WHAT[kind])
    _one_line(capsys, main(["export", str(p), "--csv", str(tmp_path / "o.csv")]), p, WHAT[kind])
    assert not (tmp_path / "o.csv").exists()


@pytest.fixture(autouse=True)
def _library_module(monkeypatch):
    """``--library one:LIB`` resolves to this module's LIB."""
    import sys
    import types

    mod = types.ModuleType("one")
    mod.LIB = LIB
    monkeypatch.setitem(sys.modules, "one", mod)


def test_missing_store_for_report_and_export(tmp_path, capsys):
    p = tmp_path / "none.sqlite"
    _one_line(capsys, main(["report", str(p), "--out", str(tmp_path / "r")]), p,
              "no batch store at this path")
    _one_line(capsys, main(["export", str(p), "--csv", str(tmp_path / "o.csv")]), p,
              "no batch store at this path")
    assert not p.exists()  # reading never creates a store


@pytest.mark.parametrize("where", ["file", "folder"])
def test_read_only_store_is_read_not_written(where, good_store, tmp_path, capsys):
    d = tmp_path / "ro"
    d.mkdir()
    p = d / "s.sqlite"
    p.write_bytes(good_store.read_bytes())
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"  # as batch stores are
    con.close()
    assert sorted(os.listdir(d)) == ["s.sqlite"]
    if where == "file":
        p.chmod(0o444)
    else:
        d.chmod(0o555)
    try:
        # batch must write: refused in one line
        _one_line(capsys, main(["batch", "--library", "one:LIB", "--solvers", "highs",
                                "--store", str(p), "--no-progress"]), p, "read-only")
        # export and report read it (mode=ro, no WAL pragma): exit 0
        out = tmp_path / "o.csv"
        assert main(["export", str(p), "--csv", str(out)]) == 0, capsys.readouterr().err
        assert len(out.read_text().strip().splitlines()) == 3  # header + 2 rows
        pytest.importorskip("matplotlib")
        assert main(["report", str(p), "--out", str(tmp_path / "rep")]) == 0
        assert "| highs | 2 | 2 | 0 | 0 |" in (tmp_path / "rep" / "report.md").read_text()
        assert sorted(os.listdir(d)) == ["s.sqlite"]  # no -wal/-shm/journal written beside it
    finally:
        d.chmod(0o755)
        p.chmod(0o644)


def test_bad_json_row_names_store_row_and_column(good_store, tmp_path, capsys):
    p = tmp_path / "j.sqlite"
    p.write_bytes(good_store.read_bytes())
    con = sqlite3.connect(p)
    con.execute("UPDATE runs SET kkt = '{not json' WHERE instance = 'p1'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match=r"j\.sqlite: row \(problem 'p1', solver 'highs'\): "
                                         r"column 'kkt' is not valid JSON"):
        Store(p, readonly=True).rows()
    pytest.importorskip("matplotlib")
    _one_line(capsys, main(["report", str(p), "--out", str(tmp_path / "r")]), p,
              "row (problem 'p1', solver 'highs'): column 'kkt' is not valid JSON")


def test_old_schema_read_as_is_and_migrated_for_writing(tmp_path):
    """A store of the layout before nodes/verified/native_status/read_warnings and before
    user_version: read-only rows give None for the missing columns; opening for writing adds
    them, keeps the rows and records the schema version."""
    p = tmp_path / "old.sqlite"
    con = sqlite3.connect(p)
    cols = [c + (" TEXT PRIMARY KEY" if c == "job_key" else "") for c in OLD_COLUMNS]
    con.execute(f"CREATE TABLE runs ({', '.join(cols)})")
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO runs (job_key, instance, solver, label, status, objective, kkt) "
                "VALUES ('k1', 'afiro', 'highs', 'highs', 'OPTIMAL', -464.75, '{\"kkt\": 1e-12}')")
    con.commit()
    con.close()

    ro = Store(p, readonly=True)
    assert ro.schema_version == 0
    (row,) = ro.rows()
    assert row["objective"] == -464.75 and row["kkt"] == {"kkt": 1e-12}
    assert row["verified"] is None and row["nodes"] is None and row["read_warnings"] is None
    ro.close()
    con = sqlite3.connect(p)
    assert "verified" not in {r[1] for r in con.execute("PRAGMA table_info(runs)")}  # untouched
    con.close()

    st = Store(p)
    assert st.schema_version == SCHEMA_VERSION == 2
    assert st.add({"job_key": "k2", "instance": "chip", "solver": "highs", "label": "highs",
                   "status": "OPTIMAL", "verified": 1, "nodes": 0, "read_warnings": ["w"]})
    rows = {r["job_key"]: r for r in st.rows()}
    assert rows["k1"]["objective"] == -464.75 and rows["k1"]["verified"] is None
    assert rows["k2"]["verified"] == 1 and rows["k2"]["read_warnings"] == ["w"]
    st.close()
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "2"
    con.close()


def test_new_store_in_read_only_folder(tmp_path, capsys):
    d = tmp_path / "locked"
    d.mkdir()
    d.chmod(0o555)
    try:
        p = d / "new.sqlite"
        _one_line(capsys, main(["batch", "--library", "one:LIB", "--solvers", "highs",
                                "--store", str(p), "--no-progress"]), p,
                  "cannot create the store: the folder")
    finally:
        d.chmod(0o755)
