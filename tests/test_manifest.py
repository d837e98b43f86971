"""Every instance of the shared MPS/LP collection (manifest.csv) through ``highs`` and through
independent second and third backends:

* ``cvxpy``: Clarabel (interior point) for LPs, OSQP for QPs, HiGHS for MILPs — cvxpy's own picks;
* ``pyomo``: HiGHS through Pyomo's ``highs`` plug-in (a model rebuilt row by row).

Optimal rows must match the listed objective to 1e-6 relative (objective constants included, as
the file states them) with a feasible point; infeasible and unbounded rows must get exactly that
termination (no INFEASIBLE_OR_UNBOUNDED is accepted: every backend here tells them apart on this
collection); read_error / bad_data files raise ReadError / DataError naming the file (and, for bad
data, the entry); qcqp.lp raises UnsupportedProblemError saying "unsupported".

GLPK and CBC are not used here: GLPK needs minutes on gt2, p0548 and sp150x300d and CBC on
sp150x300d (measured; see docs/backends_modelling.md); their plug-ins are tested in
tests/test_backend_pyomo.py.
"""
import csv

import pytest

from conftest import MPS_DIR, require_backend

import optkit as ok
from optkit.errors import DataError, ReadError, UnsupportedProblemError
from optkit.status import PrimalStatus, Termination

BACKENDS = ("highs", "cvxpy", "pyomo")
RTOL = 1e-6


def _rows() -> list[dict]:
    path = MPS_DIR / "manifest.csv"
    if not path.is_file():  # the mps_dir fixture then fails with a clear message
        return [{"name": "manifest-missing", "file": "", "kind": "", "expected": "missing",
                 "objective": ""}]
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


ROWS = _rows()
SOLVABLE = [r for r in ROWS if r["expected"] in ("optimal", "infeasible", "unbounded")]
BAD = [r for r in ROWS if r["expected"] not in ("optimal", "infeasible", "unbounded")]


def test_manifest_covers_every_expectation(mps_dir):
    kinds = {r["expected"] for r in ROWS}
    assert {"optimal", "infeasible", "unbounded", "read_error", "bad_data", "unsupported"} <= kinds
    for r in ROWS:
        assert (mps_dir / r["file"]).is_file(), f"manifest lists a missing file {r['file']}"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("row", SOLVABLE, ids=[r["name"] for r in SOLVABLE])
def test_solvable_instance(row, backend, mps_dir):
    require_backend(backend)
    model = ok.read(mps_dir / row["file"])
    assert model.problem_class == row["kind"].lower()
    assert (model.form.n, model.form.m) == (int(row["n"]), int(row["m"]))
    res = ok.solve(model, backend)
    expected = row["expected"]
    if expected == "optimal":
        want = float(row["objective"])
        assert res.termination == Termination.OPTIMAL, f"{backend}: {res.message}"
        assert res.objective == pytest.approx(want, rel=RTOL, abs=RTOL), \
            f"{row['name']} via {backend}: {res.objective} != {want}"
        assert res.primal_status == PrimalStatus.FEASIBLE, res.kkt
    elif expected == "infeasible":
        assert res.termination == Termination.INFEASIBLE, f"{backend}: {res.message}"
        assert res.x is None and res.objective is None
    else:
        assert res.termination == Termination.UNBOUNDED, f"{backend}: {res.message}"


@pytest.mark.parametrize("row", BAD, ids=[r["name"] for r in BAD])
def test_bad_file_raises_a_named_error(row, mps_dir):
    path = mps_dir / row["file"]
    expected = row["expected"]
    exc_type = {"read_error": ReadError, "bad_data": DataError,
                "unsupported": UnsupportedProblemError}[expected]
    with pytest.raises(exc_type) as info:
        ok.read(path)
    msg = str(info.value)
    assert row["file"] in msg, f"the message does not name the file: {msg}"
    if expected == "bad_data":
        entry = info.value.entry
        assert entry, "DataError without the bad entry"
        assert entry.split()[-1] in msg and "nan" in msg.lower(), msg
    if expected == "unsupported":
        assert "unsupported" in msg.lower()
    # the same error, unchanged, when the path goes straight to a solve (any backend)
    for backend in ("highs", "cvxpy"):
        with pytest.raises(exc_type):
            ok.solve(str(path), backend)
