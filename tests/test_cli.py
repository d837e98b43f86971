"""The optkit command line: solvers, problems, solve, batch, report, export, errors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from optkit.cli import main


def test_solvers_and_problems(capsys):
    assert main(["solvers", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any(r["name"] == "highs" and r["available"] for r in rows)
    assert main(["problems"]) == 0
    assert "folder:PATH" in capsys.readouterr().out


@pytest.mark.slow
def test_solve_file_json(capsys, mps_dir):
    assert main(["solve", str(mps_dir / "afiro.mps"), "--solver", "highs"]) == 0
    assert "termination: OPTIMAL" in capsys.readouterr().out
    p = subprocess.run([sys.executable, "-m", "optkit.cli", "solve", str(mps_dir / "afiro.mps"),
                        "--json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    js = json.loads(p.stdout)  # stdout holds the one JSON document, nothing else
    assert js["termination"] == "OPTIMAL"
    assert js["objective"] == pytest.approx(-464.7531428571, rel=1e-9)


def test_errors_exit_2(capsys, mps_dir, tmp_path):
    assert main(["solve", str(mps_dir / "garbage.mps")]) == 2
    assert "garbage.mps" in capsys.readouterr().err
    assert main(["solve", str(mps_dir / "afiro.mps"), "--solver", "nosuch"]) == 2
    assert "unknown solver 'nosuch'" in capsys.readouterr().err
    assert main(["batch", "--library", "nolib", "--solvers", "highs",
                 "--store", str(tmp_path / "x.sqlite")]) == 2
    assert "unknown problem library 'nolib'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "r")]) == 2
    assert "none.sqlite: no batch store at this path" in capsys.readouterr().err


@pytest.mark.slow
def test_batch_report_export(capsys, mps_dir, tmp_path):
    store = tmp_path / "b.sqlite"
    argv = ["batch", "--library", f"folder:{mps_dir}", "--param", 'names=["afiro","chip","nan2"]',
            "--solvers", "highs", "--settings", '{"s": {"method": "simplex"}, "i": {"method": "ipm"}}',
            "--workers", "2", "--time-limit", "20", "--store", str(store), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "6 jobs: 6 run now, 0 already in" in out
    assert ("against expected outcomes: correct 4, wrong 0, unverified 0, refused as expected 2, "
            "refused unexpectedly 0, failed 0") in out
    assert 'highs[i]: {"BAD_DATA": 1, "OPTIMAL": 2}' in out
    assert main(argv) == 0
    assert "6 jobs: 0 run now, 6 already in" in capsys.readouterr().out
    assert main(["report", str(store), "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "report.html").stat().st_size > 10_000
    assert main(["export", str(store), "--csv", str(tmp_path / "b.csv")]) == 0
    assert len((tmp_path / "b.csv").read_text().strip().splitlines()) == 7
