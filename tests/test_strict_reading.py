"""Strict reading of MPS/LP files: each class of damage, applied to every file of the shared
collection that has the damaged construct, is refused by default with the file and the line
named; ``strict=False`` reads what HiGHS reads and carries the warnings to the result; compressed
files are read; a read with a time limit is stopped at its deadline.

The damaged variants are generated here from ../shared/data/mps (never copied into the project);
the expected line is where the edit was made.
"""
from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import re
import time
from pathlib import Path

import pytest

from conftest import MPS_DIR

import optkit as ok
from optkit.errors import DataError, ReadError, ReadTimeoutError
from optkit.ir.model_file import read_model_file
from optkit.ir.read_guard import guarded_read

MANIFEST = list(csv.DictReader((MPS_DIR / "manifest.csv").open()))
GOOD_MPS = [r["file"] for r in MANIFEST
            if r["file"].endswith(".mps") and r["expected"] in ("optimal", "infeasible", "unbounded")]
HEADER = re.compile(r"^[A-Za-z]")


def _lines(name: str) -> list[str]:
    return (MPS_DIR / name).read_text(encoding="latin-1").split("\n")


def _sections(lines: list[str]) -> dict[str, int]:
    """First 0-based index of each section header."""
    out: dict[str, int] = {}
    for i, ln in enumerate(lines):
        if HEADER.match(ln):
            out.setdefault(ln.split()[0].upper(), i)
    return out


def _body(lines: list[str], section: str) -> list[int]:
    """0-based indices of the data lines of a section."""
    heads = _sections(lines)
    if section not in heads:
        return []
    out = []
    for i in range(heads[section] + 1, len(lines)):
        if HEADER.match(lines[i]):
            break
        if lines[i].strip() and not lines[i].startswith("*"):
            out.append(i)
    return out


def _set_lines(name: str, section: str) -> list[int]:
    lines = _lines(name)
    return [i for i in _body(lines, section) if len(lines[i].split()) >= (3 if section == "RHS" else 4)]


def _comma_lines(name: str) -> list[int]:
    lines = _lines(name)
    return [i for i in _body(lines, "COLUMNS") if re.search(r"\s[+-]?\d*\.\d", lines[i])]


def _three_field_lines(name: str) -> list[int]:
    lines = _lines(name)
    return [i for i in _body(lines, "COLUMNS") if len(lines[i].split()) == 3 and "MARKER" not in lines[i]]


def _refused(tmp_path: Path, name: str, lines: list[str], line: int, words: str):
    """Write the variant, read it strictly, check the ReadError names file, line and problem."""
    path = tmp_path / name
    path.write_text("\n".join(lines), encoding="latin-1")
    with pytest.raises(ReadError) as err:
        read_model_file(path)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg, msg
    assert f"line {line}:" in msg, msg
    assert re.search(words, msg), msg
    return msg


# ----------------------------------------------------------------- the four kinds of issue 11
@pytest.mark.parametrize("name", GOOD_MPS)
def test_deleted_rows_header_refused(tmp_path, name):
    lines = _lines(name)
    i = _sections(lines)["ROWS"]
    damaged = lines[:i] + lines[i + 1:]
    _refused(tmp_path, name, damaged, i + 1, r"section header is missing|no ROWS section")


@pytest.mark.parametrize("name,section", [(n, s) for s in ("RHS", "BOUNDS") for n in GOOD_MPS
                                          if len(_set_lines(n, s)) >= 2])
def test_renamed_set_refused(tmp_path, name, section):
    lines = _lines(name)
    body = _set_lines(name, section)
    k = 1 if section == "BOUNDS" else 0
    i = body[len(body) // 2]
    toks = lines[i].split()
    toks[k] = "OTHERSET"
    lines[i] = " " + "  ".join(toks)
    _refused(tmp_path, name, lines, i + 1, rf"{section} set 'OTHERSET' differs")


@pytest.mark.parametrize("name", [n for n in GOOD_MPS if _comma_lines(n)])
def test_decimal_comma_refused(tmp_path, name):
    lines = _lines(name)
    cands = _comma_lines(name)
    i = cands[len(cands) // 3]
    lines[i] = re.sub(r"(\s[+-]?\d*)\.(\d)", r"\1,\2", lines[i], count=1)
    _refused(tmp_path, name, lines, i + 1, r"decimal comma")


@pytest.mark.parametrize("name", GOOD_MPS)
def test_duplicated_columns_section_refused(tmp_path, name):
    lines = _lines(name)
    heads = _sections(lines)
    a = heads["COLUMNS"]
    b = min(v for v in heads.values() if v > a)
    damaged = lines[:b] + lines[a:b] + lines[b:]
    _refused(tmp_path, name, damaged, b + 1, r"section COLUMNS given twice")


# ----------------------------------------------------------------- other classes of damage
@pytest.mark.parametrize("name", GOOD_MPS)
def test_unknown_row_in_columns_refused(tmp_path, name):
    lines = _lines(name)
    i = _body(lines, "COLUMNS")[-1]
    toks = lines[i].split()
    if "MARKER" in lines[i]:
        i = [j for j in _body(lines, "COLUMNS") if "MARKER" not in lines[j]][-1]
        toks = lines[i].split()
    lines[i] = "    " + "  ".join([toks[0], "NOSUCHROW"] + toks[2:])
    _refused(tmp_path, name, lines, i + 1, r"row 'NOSUCHROW', which is not declared")


@pytest.mark.parametrize("name", [n for n in GOOD_MPS if _three_field_lines(n)])
def test_missing_field_refused(tmp_path, name):
    lines = _lines(name)
    i = _three_field_lines(name)[0]
    toks = lines[i].split()
    lines[i] = "    " + "  ".join(toks[:2])
    _refused(tmp_path, name, lines, i + 1, r"COLUMNS line has 2 fields, expected 3 or 5")


@pytest.mark.parametrize("name", GOOD_MPS)
@pytest.mark.parametrize("bad,words", [("1e400", "overflows"), ("--3", "is not a number"),
                                       ("1e-400", "underflows")])
def test_malformed_number_refused(tmp_path, name, bad, words):
    lines = _lines(name)
    cands = [i for i in _body(lines, "COLUMNS") if "MARKER" not in lines[i]]
    i = cands[len(cands) // 2]
    toks = lines[i].split()
    lines[i] = "    " + "  ".join(toks[:2] + [bad] + toks[3:])
    _refused(tmp_path, name, lines, i + 1, words)


@pytest.mark.parametrize("name", GOOD_MPS)
def test_truncated_file_refused(tmp_path, name):
    lines = _lines(name)
    body = _body(lines, "COLUMNS")
    cut = body[len(body) // 2]
    damaged = lines[:cut]
    _refused(tmp_path, name, damaged, len(damaged), r"no ENDATA line: the file is truncated")


@pytest.mark.parametrize("name", [n for n in GOOD_MPS if "RHS" in _sections(_lines(n))])
def test_sections_out_of_order_refused(tmp_path, name):
    lines = _lines(name)
    heads = _sections(lines)
    a, b = heads["COLUMNS"], heads["RHS"]
    c = min([v for v in heads.values() if v > b])
    damaged = lines[:a] + lines[b:c] + lines[a:b] + lines[c:]
    _refused(tmp_path, name, damaged, a + (c - b) + 1, r"section COLUMNS out of order")


@pytest.mark.parametrize("name", [n for n in GOOD_MPS if _body(_lines(n), "BOUNDS")])
def test_unknown_bound_type_refused(tmp_path, name):
    lines = _lines(name)
    i = _body(lines, "BOUNDS")[0]
    lines[i] = lines[i].replace(lines[i].split()[0], "QQ", 1)
    _refused(tmp_path, name, lines, i + 1, r"bound type 'QQ' is not one of")


def test_nan_stays_a_data_error_when_lenient():
    with pytest.raises(DataError, match="nan1.mps.*P2/FINISHNG"):
        read_model_file(MPS_DIR / "nan1.mps", strict=False)


def test_encodings(tmp_path):
    raw = (MPS_DIR / "blending.mps").read_bytes()
    (tmp_path / "utf16.mps").write_bytes(raw.decode("latin-1").encode("utf-16"))
    with pytest.raises(ReadError, match=r"utf16\.mps: UTF-16"):
        read_model_file(tmp_path / "utf16.mps", strict=False)
    (tmp_path / "nul.mps").write_bytes(raw.replace(b"COST", b"CO\x00T", 1))
    with pytest.raises(ReadError, match=r"nul\.mps: line 5: NUL byte"):
        read_model_file(tmp_path / "nul.mps", strict=False)
    (tmp_path / "bom.mps").write_bytes(b"\xef\xbb\xbf" + raw)
    with pytest.raises(ReadError, match=r"bom\.mps: line 1: UTF-8 byte-order mark"):
        read_model_file(tmp_path / "bom.mps")
    (tmp_path / "latin.mps").write_bytes(raw.replace(b"P2", b"P\xe9", 1))
    with pytest.raises(ReadError, match=r"latin\.mps: line 9: non-ASCII byte 0xE9"):
        read_model_file(tmp_path / "latin.mps")
    (tmp_path / "crlf.mps").write_bytes(raw.replace(b"\n", b"\r\n"))  # CRLF is fine
    assert ok.solve(ok.read(tmp_path / "crlf.mps")).objective == pytest.approx(-3200.0)


@pytest.mark.parametrize("time_limit", [None, 10.0])
def test_lenient_latin1_names_are_read(tmp_path, time_limit):
    """Names that are not UTF-8 (found by the campaign: highspy raised UnicodeDecodeError on
    them): with strict=False HiGHS gets a UTF-8 copy, the names come back decoded as latin-1."""
    raw = (MPS_DIR / "afiro.mps").read_bytes()
    path = tmp_path / "latin_row.mps"
    path.write_bytes(raw.replace(b" X48", b" X\xe98"))  # the row, everywhere
    form = read_model_file(path, strict=False, time_limit=time_limit)
    assert form.meta["read_warnings"] == ["line 26: non-ASCII byte 0xE9 (MPS and LP files are ASCII)"]
    assert "X\xe98" in form.row_names
    assert ok.solve(ok.LinearProblem(form=form)).objective == pytest.approx(-464.7531428571, rel=1e-9)


# ----------------------------------------------------------------- LP files
LP = "min\n obj: -2 x1 - 5 x2\nst\n c1: x1 + x2 <= 4\nbounds\n x1 <= 3\ngenerals\n x1\nend\n"


@pytest.mark.parametrize("edit,line,words", [
    (("bounds", "boundz"), 6, r"expected `\+` or `-`"),            # unknown section keyword
    (("st\n", "subjekt to\n"), 3, r"found `subjekt`"),
    (("<= 4", "<= 4,5"), 4, r"found `,5`"),                           # decimal comma
    (("end\n", ""), 8, r"expected `end`"),                           # truncated
    ((" x1\nend", " x1\nfoo\nend"), 9, r"'foo' appears only in an integer"),  # keyword misspelt
])
def test_lp_damage_refused(tmp_path, edit, line, words):
    path = tmp_path / "m.lp"
    path.write_text(LP.replace(*edit, 1))
    with pytest.raises(ReadError) as err:
        read_model_file(path)
    assert str(path) in str(err.value) and f"line {line}:" in str(err.value), str(err.value)
    assert re.search(words, str(err.value)), str(err.value)


def test_lp_nan_is_a_data_error(tmp_path):
    path = tmp_path / "nan.lp"
    path.write_text(LP.replace("- 5 x2", "+ NaN x2"))
    with pytest.raises(DataError, match=r"nan\.lp: line 2: a coefficient is NaN"):
        read_model_file(path, strict=False)


# ----------------------------------------------------------------- lenient reading
def test_lenient_read_keeps_warnings_on_form_and_result(tmp_path):
    lines = _lines("blending.mps")
    lines[6] = lines[6].replace("0.3", "0,3")
    path = tmp_path / "comma.mps"
    path.write_text("\n".join(lines))
    p = ok.read(path, strict=False)
    assert p.form.meta["read_warnings"] == [
        "line 7: COLUMNS entry P1/F1: '0,3' has a decimal comma (MPS numbers use a decimal point)"]
    res = ok.solve(p)
    # HiGHS reads '0,3' as 0: the other model, optimum -3702.857 instead of -3200
    assert res.objective == pytest.approx(-3702.857142857143)
    assert res.extra["read_warnings"] == p.form.meta["read_warnings"]
    assert ok.LinearProblem.from_file(path, strict=False).form.meta["read_warnings"]


def test_lenient_read_records_highs_warnings(tmp_path):
    lines = _lines("afiro.mps")
    lines[2:2] = lines[2:3]  # a row declared twice: HiGHS warns, our scan too
    path = tmp_path / "duprow.mps"
    path.write_text("\n".join(lines))
    with pytest.raises(ReadError, match=r"line 4: row 'R09' declared twice"):
        read_model_file(path)
    warnings = read_model_file(path, strict=False).meta["read_warnings"]
    assert "line 4: row 'R09' declared twice (first at line 3)" in warnings
    assert 'line 3: HiGHS: Linear constraints 0 and 1 have the same name "R09"' in warnings


def test_good_files_have_no_warnings():
    for name in GOOD_MPS:
        assert "read_warnings" not in read_model_file(MPS_DIR / name).meta, name


# ----------------------------------------------------------------- compressed files
@pytest.mark.parametrize("ext,pack", [(".gz", gzip.compress), (".bz2", bz2.compress),
                                      (".xz", lzma.compress)])
@pytest.mark.parametrize("name,objective", [("afiro.mps", -464.7531428571),
                                            ("qptestnw.lp", -6.45)])
def test_compressed_files(tmp_path, ext, pack, name, objective):
    path = tmp_path / (name + ext)
    path.write_bytes(pack((MPS_DIR / name).read_bytes()))
    p = ok.read(path)
    assert p.name == Path(name).stem
    assert ok.solve(p).objective == pytest.approx(objective, rel=1e-9)


def test_corrupt_gzip(tmp_path):
    z = gzip.compress((MPS_DIR / "afiro.mps").read_bytes())
    (tmp_path / "cut.mps.gz").write_bytes(z[: len(z) // 2])
    with pytest.raises(ReadError, match=r"cut\.mps\.gz: corrupt gz data"):
        read_model_file(tmp_path / "cut.mps.gz")
    (tmp_path / "plain.mps.gz").write_bytes(b"NAME X\n")
    with pytest.raises(ReadError, match=r"plain\.mps\.gz: corrupt gz data"):
        read_model_file(tmp_path / "plain.mps.gz")


# ----------------------------------------------------------------- the reader that hangs
def _hang_file(tmp_path: Path) -> Path:
    """sctest.mps with one COLUMNS field deleted: HiGHS 1.16 switches to its fixed-format parser,
    which does not return on the file's blank lines."""
    lines = _lines("sctest.mps")
    i = next(j for j in _body(lines, "COLUMNS") if lines[j].split()[1] == "*OBJ*")
    toks = lines[i].split()
    lines[i] = f"    {toks[0]}  {toks[2]}"
    path = tmp_path / "hang.mps"
    path.write_text("\n".join(lines))
    return path


def test_hang_damage_refused_statically(tmp_path):
    path = _hang_file(tmp_path)
    with pytest.raises(ReadError, match=r"hang\.mps: line \d+: COLUMNS line has 2 fields"):
        read_model_file(path)
    t0 = time.monotonic()
    with pytest.raises(ReadError, match=r"hang\.mps: line 15: blank line .* fixed-format parser"):
        read_model_file(path, strict=False)  # without a time limit: the scan must refuse it
    assert time.monotonic() - t0 < 30  # would never return if HiGHS were called


def test_guarded_read_is_stopped_at_deadline(tmp_path):
    path = _hang_file(tmp_path)
    t0 = time.monotonic()
    with pytest.raises(ReadTimeoutError, match=r"reading .*hang\.mps did not finish within 1 s"):
        guarded_read(str(path), 1.0)
    assert time.monotonic() - t0 <= 1.0 + 5.0


def test_guarded_read_equals_in_process_read():
    a = read_model_file(MPS_DIR / "primal1.mps")
    b = read_model_file(MPS_DIR / "primal1.mps", time_limit=30)
    assert (a.A != b.A).nnz == 0 and (a.Q != b.Q).nnz == 0
    assert (a.c == b.c).all() and a.col_names == b.col_names
    assert ok.solve(ok.LinearProblem(form=b)).objective == pytest.approx(-0.0350129657, rel=1e-6)


def test_bad_time_limit():
    with pytest.raises(ValueError, match="time_limit must be a positive number"):
        read_model_file(MPS_DIR / "afiro.mps", time_limit=0)


# ----------------------------------------------------------------- the docs page
def test_docs_model_files_examples_run(monkeypatch):
    """docs/model_files.md's python blocks run in order and their assertions hold (the pattern
    of tests/test_docs_core.py)."""
    root = Path(__file__).resolve().parents[1]
    blocks = re.findall(r"```python\n(.*?)```", (root / "docs/model_files.md").read_text(), flags=re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(root)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/model_files.md", "exec"), namespace)


def test_binary_file_refused_before_it_is_read_whole(tmp_path):
    """A 2 GB sparse file of NUL bytes is refused from its first block (memory stays small)."""
    import tracemalloc

    big = tmp_path / "zeros.mps"
    with open(big, "wb") as fh:
        fh.truncate(2 << 30)
    tracemalloc.start()
    try:
        with pytest.raises(ReadError, match="NUL byte"):
            read_model_file(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 << 20
