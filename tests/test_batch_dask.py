"""The Dask executor (LocalCluster) gives the same statuses and objectives as the local one."""
from __future__ import annotations

import pytest

import optkit as ok

from conftest import require_module

NAMES = ["afiro", "blending", "flugpl", "garbage", "nan0", "qcqp", "woodinfe", "qpunbounded",
         "qptestnw"]


@pytest.mark.slow
def test_dask_matches_local(tmp_path, mps_dir):
    require_module("distributed")
    lib = ok.problems.load(f"folder:{mps_dir}", names=NAMES)
    solvers = ["highs", "optkit.testing.faulty:CrashBackend"]
    local = ok.batch.run(lib, solvers, workers=2, time_limit=30, store=tmp_path / "l.sqlite",
                         progress=False)
    dask = ok.batch.run(lib, solvers, workers=2, time_limit=30, store=tmp_path / "d.sqlite",
                        executor="dask", progress=False)
    key = lambda r: (r["instance"], r["label"])  # noqa: E731
    L = {key(r): r for r in local}
    D = {key(r): r for r in dask}
    assert len(L) == len(D) == 2 * len(NAMES)
    assert {k: r["status"] for k, r in L.items()} == {k: r["status"] for k, r in D.items()}
    for k in L:
        if L[k]["objective"] is None:
            assert D[k]["objective"] is None
        else:
            assert D[k]["objective"] == pytest.approx(L[k]["objective"], rel=1e-9)
    assert D[("afiro", "highs")]["objective"] == pytest.approx(-464.7531428571, rel=1e-9)
    assert D[("afiro", "CrashBackend")]["status"] == "CRASH"  # isolated inside the Dask worker
    assert D[("garbage", "highs")]["status"] == "READ_ERROR"
    # the same job keys: a dask store resumes a local batch and vice versa
    assert {r["job_key"] for r in local} == {r["job_key"] for r in dask}


def test_dask_scheduler_address(tmp_path, mps_dir):
    """executor='dask' with the address of a running scheduler (here a LocalCluster's)."""
    require_module("distributed")
    from distributed import LocalCluster

    lib = ok.problems.load(f"folder:{mps_dir}", names=["afiro", "lseu", "woodinfe"])
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster:
        runs = ok.batch.run(lib, ["highs"], executor="dask", scheduler=cluster.scheduler_address,
                            time_limit=30, store=tmp_path / "s.sqlite", progress=False)
    st = {r["instance"]: r for r in runs}
    assert st["lseu"]["status"] == "OPTIMAL" and st["lseu"]["objective"] == pytest.approx(1120.0)
    assert st["woodinfe"]["status"] == "INFEASIBLE"
