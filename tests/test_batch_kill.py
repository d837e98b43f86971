"""Killing a running batch (SIGINT, then SIGKILL) and restarting runs only the missing jobs."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import optkit as ok

N_JOBS = 24

LIB = textwrap.dedent('''
    import numpy as np
    import optkit as ok
    from optkit.problems_api import Instance, SimpleLibrary

    def make(k=12):
        out = []
        for i in range(k):
            c = np.array([1.0 + i, 5.0])
            out.append(Instance(f"p{i}", lambda c=c: ok.LinearProblem(
                c=c, A=np.array([[1.0, 1.0]]), rl=[1.0], ru=[np.inf], lb=[0, 0],
                ub=[np.inf, np.inf]), "lp", 2, 1, known_objective=min(1.0 + i, 5.0)))
        return out

    library = SimpleLibrary("slowlib", "12 tiny LPs", make)
''')


def _count(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        con = sqlite3.connect(store, timeout=30)
        try:
            return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # table not created yet
        return 0


def _batch(tmp: Path, store: Path, tmpdir: Path | None = None, k: int | None = None
           ) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "optkit.cli", "batch", "--library", "slowlib:library",
           "--solvers", "optkit.testing.faulty:SlowBackend", "--settings",
           '{"a": {"delay": 0.25}, "b": {"delay": 0.2}}', "--workers", "2", "--time-limit", "30",
           "--store", str(store), "--no-progress"] + (["--param", f"k={k}"] if k else [])
    env = dict(os.environ, PYTHONPATH=str(tmp) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_rows(store: Path, at_least: int, proc: subprocess.Popen, timeout: float = 120) -> int:
    end = time.time() + timeout
    while time.time() < end:
        n = _count(store)
        if n >= at_least:
            return n
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} rows after {timeout} s")


def _descendants(pid: int) -> set[int]:
    """All live descendants of ``pid`` (fork server and worker processes of a batch)."""
    parent: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] != "Z":
                parent[int(d.name)] = int(fields[1])
    out, frontier = set(), {pid}
    while frontier:
        kids = {p for p, pp in parent.items() if pp in frontier}
        out |= kids
        frontier = kids
    return out


def _gone(pids: set[int], timeout: float = 15) -> None:
    """Wait until none of ``pids`` is a live process (zombies count as gone)."""
    def alive(p):
        try:
            return Path(f"/proc/{p}/stat").read_text().split(") ")[1][0] != "Z"
        except (OSError, IndexError):
            return False
    end = time.time() + timeout
    while any(alive(p) for p in pids) and time.time() < end:
        time.sleep(0.1)
    assert [p for p in pids if alive(p)] == []


@pytest.mark.slow
def test_sigint_then_sigkill_then_resume(tmp_path):
    (tmp_path / "slowlib.py").write_text(LIB)
    store = tmp_path / "kill.sqlite"

    p = _batch(tmp_path, store)
    _wait_rows(store, 4, p)
    procs = _descendants(p.pid)
    assert len(procs) >= 2  # worker processes (and the fork server) are running
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    n1 = _count(store)
    assert 4 <= n1 < N_JOBS
    _gone(procs)  # Ctrl-C kills the running jobs

    p = _batch(tmp_path, store)
    _wait_rows(store, n1 + 4, p)
    procs = _descendants(p.pid)
    assert len(procs) >= 2
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    n2 = _count(store)
    assert n1 + 4 <= n2 < N_JOBS
    _gone(procs)  # workers die with the batch process (PR_SET_PDEATHSIG, fork server EOF)

    p = _batch(tmp_path, store)
    out, err = p.communicate(timeout=180)
    assert p.returncode == 0, err
    assert f"{N_JOBS} jobs: {N_JOBS - n2} run now, {n2} already in" in out
    con = sqlite3.connect(store)
    total, distinct = con.execute("SELECT COUNT(*), COUNT(DISTINCT job_key) FROM runs").fetchone()
    assert total == distinct == N_JOBS
    rows = ok.batch.Store(store).rows()
    assert {r["status"] for r in rows} == {"OPTIMAL"}
    for r in rows:
        assert abs(r["objective"] - r["known_objective"]) < 1e-9
    assert len({r["batch_id"] for r in rows}) == 3  # rows from all three runs, none rewritten


def _leftovers(tmpdir: Path) -> list[str]:
    return sorted(p.name for p in tmpdir.iterdir()
                  if p.name.startswith(("optkit-batch-", "pymp-")))


@pytest.mark.slow
def test_temp_folders_removed_on_every_exit(tmp_path):
    """Normal end, SIGTERM (exit 143) and SIGINT (130) leave no optkit-batch-* or pymp-* folder;
    after SIGKILL the next batch removes the dead run's folders when it starts."""
    (tmp_path / "slowlib.py").write_text(LIB)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    store = tmp_path / "t.sqlite"

    p = _batch(tmp_path, store, tmpdir, k=2)
    out, err = p.communicate(timeout=180)
    assert p.returncode == 0, err
    assert "4 jobs: 4 run now" in out
    assert _leftovers(tmpdir) == []

    for sig, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        store.unlink()
        p = _batch(tmp_path, store, tmpdir)
        _wait_rows(store, 2, p)
        assert any(n.startswith("optkit-batch-") for n in _leftovers(tmpdir))  # in use now
        procs = _descendants(p.pid)
        p.send_signal(sig)
        out, err = p.communicate(timeout=60)
        assert p.returncode == code, err
        assert "Traceback" not in err
        _gone(procs)
        assert _leftovers(tmpdir) == []

    store.unlink()
    p = _batch(tmp_path, store, tmpdir)
    _wait_rows(store, 2, p)
    procs = _descendants(p.pid)
    killed = p.pid
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    _gone(procs)
    stale = _leftovers(tmpdir)
    assert stale and all(n.startswith(f"optkit-batch-{killed}-") for n in stale)
    p = _batch(tmp_path, store, tmpdir, k=2)  # the next start removes the dead run's folders
    out, err = p.communicate(timeout=180)
    assert p.returncode == 0, err
    assert _leftovers(tmpdir) == []


@pytest.mark.slow
def test_temp_folder_removed_when_the_batch_raises(tmp_path, monkeypatch):
    """An exception inside the batch (here: the store fails on the second row) still removes the
    job-log folder."""
    import tempfile

    import numpy as np
    from optkit.problems_api import Instance

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    class Failing(ok.batch.Store):
        def add(self, row):
            if self.count() >= 1:
                raise RuntimeError("disk full (simulated)")
            return super().add(row)

    lib = [Instance(f"p{i}", lambda i=i: ok.LinearProblem(
        c=np.array([1.0 + i]), A=np.array([[1.0]]), rl=[1.0], ru=[np.inf], lb=[0.0],
        ub=[np.inf]), "lp", 1, 1, known_objective=1.0 + i) for i in range(3)]
    with pytest.raises(RuntimeError, match="disk full"):
        ok.batch.run(lib, ["highs"], store=Failing(tmp_path / "f.sqlite"), progress=False)
    logs = [p.name for p in tmp_path.iterdir()
            if p.name.startswith(f"optkit-batch-{os.getpid()}-") and not p.name.endswith("-mp")]
    assert logs == []
    assert Failing(tmp_path / "f.sqlite").count() == 1
