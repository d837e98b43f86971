"""Tuned batches (optkit.batch.tuned): the tuner in the parent, jobs isolated, chosen options and
tuner state per row, and an interrupted batch resumed from its stored state."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import optkit as ok
from optkit.problems_api import Instance
from optkit.tuning import Interval, Space, Tuner
from optkit.tuning.families import laplacian_2d


def _system(m: int, c: float, seed: int):
    A = (laplacian_2d(m) + c * sp.identity(m * m)).tocsr()
    return ok.LinearSystem(A, np.random.default_rng(seed).standard_normal(m * m))


def _library(T: int = 10, m: int = 10):
    rng = np.random.default_rng(4)
    shifts = rng.uniform(0.02, 1.0, T)
    return [Instance(name=f"lap{t:02d}", build=lambda c=float(c), t=t: _system(m, c, t),
                     problem_class="linear-system", n=m * m, m=m * m, meta={"shift": float(c)})
            for t, c in enumerate(shifts)]


def _tuner():
    return Tuner(Space(Interval("omega", 1.0, 1.8, 5)), "tsallis-inf", seed=3)


def _ordered(rows, lib):
    by = {r["instance"]: r for r in rows}
    return [by[i.name] for i in lib]


def test_tuned_batch_records_options_and_state(tmp_path):
    lib = _library()
    rows = ok.batch.run_tuned(lib, "sor", _tuner(), settings={"tol": 1e-8},
                              store=tmp_path / "t.sqlite", start_method="fork", time_limit=30)
    assert rows.ran == 10 and len(rows) == 10
    ordered = _ordered(rows, lib)
    for k, r in enumerate(ordered):
        assert r["status"] == "OPTIMAL" and r["verified"] in (1, True)
        assert set(r["tuned_options"]) == {"omega"}
        assert r["settings"]["omega"] == r["tuned_options"]["omega"]
        assert r["tuner_state"]["round"] == k + 1
        assert r["tuner_state"]["cost"] == r["iterations"]
    # the parent's tuner saw exactly the stored costs, in order
    assert rows.tuner.costs == [float(r["iterations"]) for r in ordered]
    # each stored iteration count is what a direct solve with that ω gives
    r0 = ordered[0]
    direct = ok.solve(lib[0].build(), "sor", tol=1e-8, **r0["tuned_options"])
    assert direct.iterations == r0["iterations"]
    # running again resumes: nothing left to do, same rows
    again = ok.batch.run_tuned(lib, "sor", _tuner(), settings={"tol": 1e-8},
                               store=tmp_path / "t.sqlite", start_method="fork", time_limit=30)
    assert again.ran == 0 and again.skipped == 10
    assert again.tuner.rounds == 10 and again.tuner.costs == rows.tuner.costs


def test_interrupted_batch_resumes_the_tuner(tmp_path):
    """A batch stopped after 4 jobs (max_jobs) and one stopped by an exception in the middle of
    job 7 both continue, on resume, with the same choices as a batch never interrupted."""
    lib = _library()
    common = dict(settings={"tol": 1e-8}, start_method="fork", time_limit=30,
                  context=lambda inst: inst.meta["shift"])
    full = ok.batch.run_tuned(lib, "sor", _tuner(), store=tmp_path / "full.sqlite", **common)
    want = [r["tuned_options"] for r in _ordered(full, lib)]

    part = ok.batch.run_tuned(lib, "sor", _tuner(), store=tmp_path / "a.sqlite", max_jobs=4,
                              **common)
    assert part.ran == 4 and len(part) == 4
    rest = ok.batch.run_tuned(lib, "sor", _tuner(), store=tmp_path / "a.sqlite", **common)
    assert rest.ran == 6 and rest.skipped == 4
    assert [r["tuned_options"] for r in _ordered(rest, lib)] == want
    assert rest.tuner.policy.state() == full.tuner.policy.state()

    calls = {"n": 0}

    def flaky_cost(row):
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("interrupted")
        return float(row["iterations"])

    with pytest.raises(RuntimeError, match="interrupted"):
        ok.batch.run_tuned(lib, "sor", _tuner(), store=tmp_path / "b.sqlite", cost=flaky_cost,
                           **common)
    stored = ok.batch.Store(tmp_path / "b.sqlite").rows()
    assert len(stored) == 6
    resumed = ok.batch.run_tuned(lib, "sor", _tuner(), store=tmp_path / "b.sqlite", **common)
    assert resumed.ran == 4
    assert [r["tuned_options"] for r in _ordered(resumed, lib)] == want


def test_tuned_batch_refuses_bad_input(tmp_path):
    lib = _library(2)
    with pytest.raises(ok.OptionError, match="both in settings and tuned"):
        ok.batch.run_tuned(lib, "sor", _tuner(), settings={"omega": 1.2}, store=tmp_path / "x.sqlite")
    with pytest.raises(ok.OptionError, match="Tuner"):
        ok.batch.run_tuned(lib, "sor", object(), store=tmp_path / "x.sqlite")


def test_batch_run_accepts_tune(tmp_path):
    """ok.batch.run(..., tune=tuner) is the tuned batch (same rows as run_tuned)."""
    lib = _library(4)
    rows = ok.batch.run(lib, "sor", settings={"tol": 1e-8}, tune=_tuner(), start_method="fork",
                        store=tmp_path / "r.sqlite", time_limit=30, progress=False)
    direct = ok.batch.run_tuned(lib, "sor", _tuner(), settings={"tol": 1e-8}, start_method="fork",
                                store=tmp_path / "d.sqlite", time_limit=30)
    assert [r["tuned_options"] for r in _ordered(rows, lib)] == \
        [r["tuned_options"] for r in _ordered(direct, lib)]
    with pytest.raises(ok.OptionError, match="one solver"):
        ok.batch.run(lib, ["sor", "ssor-cg"], tune=_tuner(), store=tmp_path / "e.sqlite")
