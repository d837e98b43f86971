"""The command line's conventions: --version, exit codes (0 solved, 1 ran but not solved, 2 bad
input), one JSON document with --json, errors as one stderr line (a traceback only with
--debug), -o KEY=VALUE, validated numbers, --lenient, missing extras named, and a time limit
that bounds the whole ``solve`` command."""
from __future__ import annotations

import builtins
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import optkit as ok
from optkit.cli import main
from optkit.cli.args import parse_value

ROOT = Path(__file__).resolve().parents[1]


def _cli(*argv: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optkit.cli", *argv], capture_output=True,
                          text=True, timeout=timeout, env=env)


def _one_line_error(err: str, *needles: str) -> str:
    lines = err.strip().splitlines()
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def _err(capsys, code: int, expect: int, *needles: str) -> str:
    cap = capsys.readouterr()
    assert code == expect, cap.err
    return _one_line_error(cap.err, *needles)


# ---------------------------------------------------------------- version, exit codes
@pytest.mark.slow
def test_version():
    p = _cli("--version")
    assert p.returncode == 0
    assert p.stdout.strip() == f"optkit {ok.__version__}"


@pytest.mark.slow
def test_exit_codes_of_solve(mps_dir, capsys):
    assert main(["solve", str(mps_dir / "afiro.mps")]) == 0                     # OPTIMAL, verified
    assert "termination: OPTIMAL" in capsys.readouterr().out
    assert main(["solve", str(mps_dir / "bgetam.mps")]) == 1                    # INFEASIBLE
    assert "termination: INFEASIBLE" in capsys.readouterr().out
    assert main(["solve", str(mps_dir / "qpunbounded.lp")]) == 1                # UNBOUNDED
    assert "termination: UNBOUNDED" in capsys.readouterr().out
    assert main(["solve", str(mps_dir / "afiro.mps"), "--solver",
                 "optkit.testing.faulty:RaiseBackend"]) == 1                    # ERROR
    assert "termination: ERROR" in capsys.readouterr().out
    # a backend option through -o: one simplex iteration → ITERATION_LIMIT, not solved
    assert main(["solve", str(mps_dir / "afiro.mps"), "-o", "method=simplex", "-o", "max_iter=1",
                 "-o", "presolve=off"]) == 1
    assert "termination: ITERATION_LIMIT" in capsys.readouterr().out


def test_native_option_through_o(mps_dir, capsys):
    """A key that is no optkit option but one of HiGHS's native ones goes to solver_options."""
    assert main(["solve", str(mps_dir / "afiro.mps"), "-o", "simplex_iteration_limit=0",
                 "-o", "presolve=off", "-o", "solver=simplex", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["termination"] == "ITERATION_LIMIT" and doc["exit_code"] == 1


def test_parse_value():
    assert parse_value("12") == 12 and isinstance(parse_value("12"), int)
    assert parse_value("1e-8") == 1e-8 and parse_value("-0.5") == -0.5
    assert parse_value("TRUE") is True and parse_value("false") is False
    assert parse_value("off") == "off" and parse_value("ipm") == "ipm"
    assert parse_value("nan") == "nan"  # not a float: backend values are never NaN by accident


# ---------------------------------------------------------------- bad input: exit 2, one line
@pytest.mark.parametrize("argv, needles", [
    (["solve", "{afiro}", "--solver", "nosuch"], ["unknown solver 'nosuch'"]),
    (["solve", "{afiro}", "--solver", "os:path"], ["solver 'os:path' is not an optkit backend"]),
    (["solve", "{afiro}", "--solver", "no_such_module_x:Backend"],
     ["cannot load backend 'no_such_module_x:Backend'"]),
    (["solve", "{afiro}", "-o", "nosuch=1"], ["-o nosuch: unknown option for backend 'highs'"]),
    (["solve", "{afiro}", "-o", "method=bogus"], ["method", "bogus"]),
    (["solve", "{afiro}", "-o", "novalue"], ["argument -o/--option: expected key=value"]),
    (["solve", "{afiro}", "--time-limit", "-5"], ["--time-limit", "positive", "'-5'"]),
    (["solve", "{afiro}", "--time-limit", "0"], ["--time-limit", "positive", "'0'"]),
    (["solve", "{afiro}", "--time-limit", "nan"], ["--time-limit", "'nan'"]),
    (["solve", "{afiro}", "--tol", "abc"], ["--tol", "'abc'"]),
    (["solve", "{tmp}/missing.mps"], ["missing.mps: no such file"]),
    (["solve", "{tmp}"], ["is a directory"]),
    (["solve", "{tmp}/binary.mps"], ["binary.mps", "NUL byte"]),
    (["solve", "{tmp}/latin.mps"], ["latin.mps", "non-ASCII byte 0xE9"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--workers", "0"],
     ["--workers", "positive integer", "'0'"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--workers", "-3"],
     ["--workers", "positive integer", "'-3'"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--memory-limit", "-100"],
     ["--memory-limit", "positive", "'-100'"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--memory-limit", "0"],
     ["--memory-limit", "positive", "'0'"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--time-limit", "-1"],
     ["--time-limit", "positive", "'-1'"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--seeds", "1,x"],
     ["--seeds", "comma-separated integers"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--settings", "{{bad"],
     ["--settings", "not valid JSON"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--param", "nosuch=1"],
     ["library 'folder:", "has no parameter 'nosuch'", "pattern, names"]),
    (["batch", "--library", "hs-eq", "--solvers", "highs", "--param", "nosuch=1"],
     ["library 'hs-eq' has no parameter 'nosuch'"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs,os:path"],
     ["solver 'os:path' is not an optkit backend"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "-o", "nosuch=2"],
     ["-o nosuch: unknown option for backend 'highs'"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--settings",
      '{{"a": {{"bogus": 1}}}}'], ["settings 'a': unknown option(s) bogus for backend 'highs'"]),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--scheduler", "tcp://x:1"],
     ["--scheduler", "--executor dask"]),
    (["batch", "--library", "nolib", "--solvers", "highs"], ["unknown problem library 'nolib'"]),
    (["export", "{tmp}/s.sqlite"], ["give --csv OUT and/or --parquet OUT"]),
    (["nosuchcommand"], ["invalid choice: 'nosuchcommand'"]),
    ([], ["required: COMMAND"]),
    (["solve", "{afiro}", "--no-such-flag"], ["unrecognized arguments: --no-such-flag"]),
])
def test_bad_input_is_one_line_exit_2(argv, needles, mps_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a batch that wrongly ran would write results.sqlite here
    (tmp_path / "binary.mps").write_bytes(bytes(range(256)) * 8)
    afiro = (mps_dir / "afiro.mps").read_bytes()
    (tmp_path / "latin.mps").write_bytes(afiro.replace(b"NAME", b"NAME caf\xe9", 1))
    fill = {"afiro": str(mps_dir / "afiro.mps"), "tmp": str(tmp_path), "mps": str(mps_dir)}
    argv = [a.format(**fill) for a in argv]
    if argv[:1] == ["export"]:
        ok.batch.Store(tmp_path / "s.sqlite").close()
    _err(capsys, _main(argv), 2, *needles)
    assert not (tmp_path / "results.sqlite").exists()  # nothing ran


def _main(argv: list[str]) -> int:
    """main(), with argparse's own exit (usage errors) returned as the status."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


@pytest.mark.slow
def test_argparse_errors_exit_2_one_line():
    p = _cli("batch", "--library", "x", "--solvers", "highs", "--workers", "-3")
    assert p.returncode == 2
    _one_line_error(p.stderr, "optkit batch: error: argument --workers: must be a positive "
                    "integer, got '-3'")
    p = _cli()
    assert p.returncode == 2
    _one_line_error(p.stderr, "optkit: error:")


def test_unreadable_file(mps_dir, tmp_path, capsys, monkeypatch):
    """Permission denied (simulated: the tests may run as root, who reads any file)."""
    target = tmp_path / "locked.mps"
    target.write_bytes((mps_dir / "afiro.mps").read_bytes())
    real_open = builtins.open

    def deny(file, *a, **k):
        if str(file) == str(target):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", deny)
    _err(capsys, main(["solve", str(target)]), 2, "locked.mps: cannot be opened (Permission denied)")


def test_huge_file_out_of_memory_names_the_file(mps_dir, tmp_path, capsys, monkeypatch):
    """A file too large for memory: one line with the file and its size (the reader's
    MemoryError simulated, so the test does not allocate gigabytes)."""
    import optkit.batch.job as job

    def oom(path, *a, **k):
        raise MemoryError()

    monkeypatch.setattr(job, "read_model", oom)
    _err(capsys, main(["solve", str(mps_dir / "afiro.mps")]), 2,
         "afiro.mps: not enough memory to read it")


def test_non_utf8_manifest_is_named(mps_dir, tmp_path, capsys):
    d = tmp_path / "lib"
    d.mkdir()
    (d / "afiro.mps").write_bytes((mps_dir / "afiro.mps").read_bytes())
    (d / "manifest.csv").write_bytes(b"name,file,kind,expected,objective,n,m\n"
                                     b"afiro\xe9,afiro.mps,LP,optimal,-464.75,32,27\n")
    _err(capsys, main(["batch", "--library", f"folder:{d}", "--solvers", "highs", "--store",
                       str(tmp_path / "s.sqlite"), "--no-progress"]), 2,
         f"{d / 'manifest.csv'}: not UTF-8 text")


def test_debug_shows_the_traceback(tmp_path, capsys):
    code = main(["solve", str(tmp_path / "missing.mps"), "--debug"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("optkit solve: error: ")
    assert "missing.mps: no such file" in err.strip().splitlines()[-1]


# ---------------------------------------------------------------- --json everywhere
@pytest.mark.slow
def test_json_on_every_subcommand(mps_dir, tmp_path, capsys):
    assert main(["solvers", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"highs", "scipy"} and all("extra" in r for r in rows)
    assert main(["problems", "--json"]) == 0
    assert "folder:PATH" in {r["name"] for r in json.loads(capsys.readouterr().out)}

    store = tmp_path / "s.sqlite"
    assert main(["batch", "--library", f"folder:{mps_dir}", "--param",
                 'names=["afiro", "garbage", "bgetam"]', "--solvers", "highs", "--store",
                 str(store), "--no-progress", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["jobs"], doc["ran"], doc["skipped"], doc["exit_code"]) == (3, 3, 0, 0)
    assert doc["outcomes"] == {"correct": 2, "wrong": 0, "unverified": 0,
                               "refused_expected": 1, "refused_unexpected": 0, "failed": 0}
    assert doc["labels"]["highs"]["statuses"] == {"INFEASIBLE": 1, "OPTIMAL": 1, "READ_ERROR": 1}

    assert main(["export", str(store), "--csv", str(tmp_path / "o.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"csv": str(tmp_path / "o.csv"), "rows": 3}
    pytest.importorskip("matplotlib")
    assert main(["report", str(store), "--out", str(tmp_path / "rep"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert Path(doc["html"]).is_file() and Path(doc["markdown"]).name == "report.md"

    # an error with --json: the one line on stderr, and a JSON document on stdout
    assert main(["report", str(tmp_path / "none.sqlite"), "--out", "x", "--json"]) == 2
    cap = capsys.readouterr()
    assert json.loads(cap.out)["exit_code"] == 2
    _one_line_error(cap.err, "none.sqlite: no batch store at this path")


@pytest.mark.slow
def test_solve_json_stdout_is_one_document(mps_dir):
    """Native output (HiGHS's banner) goes to stderr: stdout parses as one JSON document."""
    p = _cli("solve", str(mps_dir / "afiro.mps"), "--json", "--x")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["termination"] == "OPTIMAL" and doc["solved"] is True and len(doc["x"]) == 32
    assert doc["objective"] == pytest.approx(-464.7531428571, rel=1e-9)
    p = _cli("solve", str(mps_dir / "bgetam.mps"), "--json")
    assert p.returncode == 1 and json.loads(p.stdout)["termination"] == "INFEASIBLE"


# ---------------------------------------------------------------- --lenient
@pytest.mark.slow
def test_lenient_solve_and_batch(mps_dir, tmp_path, capsys):
    """A file with a non-ASCII byte in its NAME line: refused by default (exit 2); with
    --lenient solved to afiro's optimum, the warning shown, and kept in the batch row."""
    d = tmp_path / "lib"
    d.mkdir()
    f = d / "afiro_latin.mps"
    f.write_bytes((mps_dir / "afiro.mps").read_bytes().replace(b"NAME", b"NAME caf\xe9", 1))
    (d / "manifest.csv").write_text("name,file,kind,expected,objective,n,m\n"
                                    "afiro_latin,afiro_latin.mps,LP,optimal,-464.7531428571,32,27\n")
    assert main(["solve", str(f)]) == 2
    capsys.readouterr()
    assert main(["solve", str(f), "--lenient", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["objective"] == pytest.approx(-464.7531428571, rel=1e-9)
    assert any("0xE9" in w for w in doc["read_warnings"])

    store = tmp_path / "l.sqlite"
    argv = ["batch", "--library", f"folder:{d}", "--solvers", "highs", "--store", str(store),
            "--no-progress", "--json"]
    assert main(argv) == 1  # strict: refused, although the manifest expects an optimum
    strict = json.loads(capsys.readouterr().out)
    assert strict["outcomes"]["refused_unexpected"] == 1
    assert main(argv + ["--lenient"]) == 0  # another job (lenient is part of the job's key)
    lenient = json.loads(capsys.readouterr().out)
    assert (lenient["ran"], lenient["outcomes"]["correct"]) == (1, 1)
    rows = {r["status"]: r for r in ok.batch.Store(store, readonly=True).rows()}
    assert rows["READ_ERROR"]["read_warnings"] is None
    assert any("0xE9" in w for w in rows["OPTIMAL"]["read_warnings"])


# ---------------------------------------------------------------- missing extras
@pytest.mark.parametrize("argv, module, extra", [
    (["report", "{store}", "--out", "{tmp}/rep"], "matplotlib", "plot"),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--store", "{tmp}/new.sqlite",
      "--report", "{tmp}/rep"], "matplotlib", "plot"),
    (["batch", "--library", "folder:{mps}", "--solvers", "highs", "--store", "{tmp}/new.sqlite",
      "--executor", "dask"], "distributed", "dask"),
    (["export", "{store}", "--parquet", "{tmp}/o.parquet"], "pyarrow", "data"),
    (["export", "{store}", "--parquet", "{tmp}/o.parquet"], "pandas", "data"),
])
def test_missing_extra_is_named(argv, module, extra, mps_dir, tmp_path, capsys, monkeypatch):
    store = tmp_path / "s.sqlite"
    st = ok.batch.Store(store)
    st.add({"job_key": "k", "instance": "p", "solver": "highs", "label": "highs",
            "status": "OPTIMAL"})
    st.close()
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    argv = [a.format(store=store, tmp=tmp_path, mps=mps_dir) for a in argv]
    _err(capsys, main(argv), 2, f"pip install 'optkit[{extra}]'")
    assert not (tmp_path / "new.sqlite").exists()  # refused before any job ran
    assert not (tmp_path / "rep").exists() and not (tmp_path / "o.parquet").exists()


def test_solvers_names_the_extra_of_an_unavailable_backend(capsys):
    from optkit import registry
    from optkit.backend import Backend

    class Missing(Backend):
        name = "missing-test-backend"
        accepts = frozenset({"lp"})
        extra = "missingextra"
        requires = ("no_such_native_module_q",)

        def is_available(self) -> bool:
            return False

        def unavailable_reason(self) -> str:
            return "no_such_native_module_q is not installed"

    registry.register(Missing())
    try:
        assert main(["solvers"]) == 0
        line = next(ln for ln in capsys.readouterr().out.splitlines()
                    if ln.startswith("missing-test-backend"))
        assert "pip install 'optkit[missingextra]'" in line
        assert main(["solvers", "--json"]) == 0
        row = next(r for r in json.loads(capsys.readouterr().out)
                   if r["name"] == "missing-test-backend")
        assert row["available"] is False and row["extra"] == "missingextra"
    finally:
        registry.unregister("missing-test-backend")


# ---------------------------------------------------------------- the whole-command time limit
HANG = textwrap.dedent("""
    import re, sys, time
    import optkit.batch.job as job
    from optkit.errors import ReadTimeoutError
    mode = sys.argv[1]
    def stand_in(path, strict=True, time_limit=None):
        if mode == "hang":      # a reader that never returns (sleeps, as a hung parser would)
            time.sleep(3600)
        if mode == "gil":       # native code that holds the GIL (regex backtracking: ~forever)
            re.match(r"(a+)+$", "a" * 60 + "b")
        raise ReadTimeoutError(f"reading {path} did not finish within {time_limit:g} s")
    job.read_model = stand_in
    from optkit.cli import main
    stamp = sys.argv[2]
    sys.argv = ["optkit"] + sys.argv[3:]
    with open(stamp, "w") as fh:  # the command starts now (CLOCK_MONOTONIC is system-wide)
        fh.write(repr(time.monotonic()))
    sys.exit(main())
""")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hang", "gil", "reader-stops"])
def test_time_limit_bounds_the_whole_solve(mode, mps_dir, tmp_path):
    """A reader that hangs — sleeping, or in native code holding the GIL — or that stops at the
    deadline itself: the command ends within T + 5 s, exit 1, one clear line."""
    script = tmp_path / "hang.py"
    script.write_text(HANG)
    stamp = tmp_path / "started"
    t_limit = 2.0
    p = subprocess.run([sys.executable, str(script), mode, str(stamp), "solve",
                        str(mps_dir / "afiro.mps"), "--time-limit", str(t_limit)],
                       capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - float(stamp.read_text())  # from the command's start, not the
    assert p.returncode == 1, p.stderr                       # interpreter's (imports under load)
    assert elapsed - t_limit <= 5.0
    if mode in ("hang", "gil"):
        _one_line_error(p.stderr, "afiro.mps: stopped: the command did not finish within its "
                        "time limit of 2 s")
        assert p.stdout == ""
    else:
        _one_line_error(p.stderr, "did not finish within 2 s; nothing solved")
    # with --json, stdout still gets its one document
    p = subprocess.run([sys.executable, str(script), mode, str(stamp), "solve",
                        str(mps_dir / "afiro.mps"), "--time-limit", str(t_limit), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert (doc["termination"], doc["solved"], doc["exit_code"]) == ("TIME_LIMIT", False, 1)


@pytest.mark.slow
def test_time_limit_left_for_the_solve(mps_dir, capsys, monkeypatch):
    """The solve gets what reading left of the limit (and a limit too small is TIME_LIMIT)."""
    import optkit.batch.job as job

    seen = {}
    real_read, real_solve = job.read_model, ok.solve

    def slow_read(path, strict=True, time_limit=None):
        seen["read_limit"] = time_limit
        time.sleep(0.3)
        return real_read(path, strict=strict)

    def spy(model, solver=None, **opts):
        seen["solve_limit"] = opts.get("time_limit")
        return real_solve(model, solver, **opts)

    monkeypatch.setattr(job, "read_model", slow_read)
    monkeypatch.setattr(ok, "solve", spy)
    assert main(["solve", str(mps_dir / "afiro.mps"), "--time-limit", "30"]) == 0
    assert seen["read_limit"] == 30
    assert 0 < seen["solve_limit"] <= 30 - 0.3


# ---------------------------------------------------------------- docs/cli.md
@pytest.mark.slow
def test_cli_doc_example_runs(monkeypatch, mps_dir):
    """docs/cli.md: its python example runs and its asserts hold."""
    import re

    monkeypatch.chdir(ROOT)
    text = (ROOT / "docs" / "cli.md").read_text()
    if not (ROOT.parent / "shared" / "data" / "mps").is_dir():  # doc paths are ../shared/...
        text = text.replace("../shared/data/mps", str(mps_dir))
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    for b in blocks:
        exec(compile(b, "docs/cli.md", "exec"), {})
    for flag in ("--json", "--debug", "--lenient", "-o KEY=VALUE", "--time-limit", "--workers",
                 "--memory-limit", "--param", "--report", "--csv", "--parquet", "--history"):
        assert flag in text, flag  # every flag is documented
