"""Batch verdicts: wrong answers apart from refusals. UNSUPPORTED, READ_ERROR and BAD_DATA are
refusals — expected outcomes where the manifest says so, never "wrong" — and summaries count
correct, wrong, unverified, refused as expected, refused unexpectedly and failed."""
from __future__ import annotations

import gzip
import json
import shutil

import pytest

import optkit as ok
from optkit.batch.outcomes import counts, outcome, verdict
from optkit.cli import main

from conftest import require_backend


def _row(expected, status, objective=None, known=None, cls="lp"):
    return {"expected": expected, "status": status, "objective": objective,
            "known_objective": known, "problem_class": cls}


@pytest.mark.parametrize("row, cls, old", [
    (_row("optimal", "OPTIMAL", 1.0, 1.0), "correct", "correct"),
    (_row("optimal", "OPTIMAL", 1.1, 1.0), "wrong", "wrong"),               # false optimum
    (_row("optimal", "OPTIMAL", 100.005, 100.0, "milp"), "correct", "correct"),  # MILP: 5e-5 rel.
    (_row("optimal", "INFEASIBLE"), "wrong", "wrong"),                     # infeasible claim, false
    (_row("infeasible", "OPTIMAL", 3.0), "wrong", "wrong"),
    (_row("read_error", "OPTIMAL", 0.0), "wrong", "wrong"),                # damaged file solved
    (_row("optimal", "UNVERIFIED", 1.0, 1.0), "unverified", "failed"),     # claim overruled
    (_row("optimal", "LOCALLY_OPTIMAL", 2.0, 1.0, "nlp"), "failed", "failed"),  # other local opt
    (_row("optimal", "TIME_LIMIT"), "failed", "failed"),
    (_row("optimal", "CRASH"), "failed", "failed"),
    (_row("read_error", "READ_ERROR"), "refused_expected", "correct"),
    (_row("bad_data", "BAD_DATA"), "refused_expected", "correct"),
    (_row("unsupported", "UNSUPPORTED"), "refused_expected", "correct"),
    (_row("optimal", "UNSUPPORTED"), "refused_unexpected", "failed"),      # not a wrong answer
    (_row("optimal", "READ_ERROR"), "refused_unexpected", "failed"),
    (_row("unsupported", "BAD_DATA"), "refused_unexpected", "failed"),     # another refusal
    (_row("optimal", "INVALID_PROBLEM"), "refused_unexpected", "failed"),
    (_row("front", "FRONT"), "correct", "correct"),
    (_row("", "OPTIMAL", 1.0), "unknown", "unknown"),
])
def test_outcome_classes(row, cls, old):
    assert outcome(row) == cls
    assert verdict(row) == old  # the four-way reading of reports: a refusal is never "wrong"


def test_counts_has_every_class():
    c = counts([_row("optimal", "OPTIMAL", 1.0, 1.0), _row("optimal", "UNSUPPORTED"),
                _row("unsupported", "UNSUPPORTED"), _row("optimal", "OPTIMAL", 5.0, 1.0)])
    assert c == {"correct": 1, "wrong": 1, "unverified": 0, "refused_expected": 1,
                 "refused_unexpected": 1, "failed": 0}


@pytest.fixture
def gz_library(tmp_path, mps_dir):
    """A folder with a gzipped MPS file, a gzipped MILP, a damaged file and a QCQP, and a
    manifest that says what each should give."""
    d = tmp_path / "lib"
    d.mkdir()
    for name in ("afiro.mps", "lseu.mps"):
        (d / f"{name}.gz").write_bytes(gzip.compress((mps_dir / name).read_bytes()))
    shutil.copy(mps_dir / "garbage.mps", d / "garbage.mps")
    shutil.copy(mps_dir / "qcqp.lp", d / "qcqp.lp")
    (d / "manifest.csv").write_text(
        "name,file,kind,expected,objective,n,m\n"
        "afiro,afiro.mps.gz,LP,optimal,-464.7531428571,32,27\n"
        "lseu,lseu.mps.gz,MILP,optimal,1120.0,89,28\n"
        "garbage,garbage.mps,,read_error,,,\n"
        "qcqp,qcqp.lp,,unsupported,,,\n")
    return d


def test_gz_files_listed_and_read(gz_library):
    lib = ok.problems.load(f"folder:{gz_library}")
    assert sorted(lib.names()) == ["afiro", "garbage", "lseu", "qcqp"]
    assert lib.get("afiro").known_objective == -464.7531428571
    res = ok.solve(lib.get("afiro").build(), "highs")
    assert res.is_solved() and res.objective == pytest.approx(-464.7531428571, rel=1e-9)


@pytest.mark.slow
def test_batch_counts_refusals_apart_from_wrong_answers(gz_library, tmp_path, capsys):
    """highs and clarabel: clarabel declines the MILP (UNSUPPORTED) — refused unexpectedly, not
    wrong; the damaged file and the QCQP are refused as the manifest expects."""
    require_backend("clarabel")
    store = tmp_path / "v.sqlite"
    argv = ["batch", "--library", f"folder:{gz_library}", "--solvers", "highs,clarabel",
            "--store", str(store), "--no-progress"]
    assert main(argv) == 1  # ran, but one row is not what the manifest expects
    out = capsys.readouterr().out
    assert ("against expected outcomes: correct 3, wrong 0, unverified 0, refused as expected 4, "
            "refused unexpectedly 1, failed 0") in out
    assert 'clarabel: {"OPTIMAL": 1, "READ_ERROR": 1, "UNSUPPORTED": 2}' in out
    rows = {(r["instance"], r["label"]): r for r in ok.batch.Store(store, readonly=True).rows()}
    assert rows[("lseu", "highs")]["objective"] == pytest.approx(1120.0, rel=1e-4)
    assert outcome(rows[("lseu", "clarabel")]) == "refused_unexpected"
    assert verdict(rows[("lseu", "clarabel")]) == "failed"
    assert outcome(rows[("qcqp", "highs")]) == "refused_expected"
    assert rows[("afiro", "clarabel")]["objective"] == pytest.approx(-464.7531428571, rel=1e-6)

    # only highs: every row agrees with the manifest → exit 0
    assert main(argv[:4] + ["highs"] + argv[5:] + ["--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["skipped"] == 4 and doc["exit_code"] == 0
    assert doc["outcomes"] == {"correct": 2, "wrong": 0, "unverified": 0, "refused_expected": 2,
                               "refused_unexpected": 0, "failed": 0}


def test_summary_of_runs_has_the_outcome_line():
    rows = [dict(_row("optimal", "OPTIMAL", 1.0, 1.0), label="a"),
            dict(_row("optimal", "UNSUPPORTED"), label="b")]
    text = ok.batch.summary(rows)
    assert text.splitlines() == ['a: {"OPTIMAL": 1}', 'b: {"UNSUPPORTED": 1}',
                                 "against expected outcomes: correct 1, wrong 0, unverified 0, "
                                 "refused as expected 0, refused unexpectedly 1, failed 0"]
