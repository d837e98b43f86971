"""Read MPS and CPLEX-LP files into a LinearForm: strict by default, compressed files, a deadline.

    read_model_file(path, *, strict=True, time_limit=None) -> LinearForm

The reading goes in three steps, each able to refuse the file with a message that names the
file, the line and what is wrong:

1. **bytes**: a missing file, NUL bytes / UTF-16 (binary), a corrupt ``.gz``/``.bz2``/``.xz``
   archive are :class:`~optkit.errors.ReadError`; a UTF-8 byte-order mark and non-ASCII bytes
   are findings (below);
2. **optkit's scan** of the text (:mod:`optkit.ir.mps_check` for MPS, a smaller one for LP):
   NaN/inf coefficients raise :class:`~optkit.errors.DataError`, unsupported sections
   :class:`~optkit.errors.UnsupportedProblemError`; every other deviation from the grammar is a
   *finding*;
3. **HiGHS's reader**, with its log captured (:mod:`optkit.ir.read_guard`): an error status is a
   ReadError carrying HiGHS's message and line; each ``WARNING`` line is a finding, located in the
   text by the names it quotes.

With ``strict=True`` (the default) the first finding is a :class:`~optkit.errors.ReadError`
("FILE: line N: what (and k more problems; strict=False reads it anyway)"); HiGHS is not even
called when the scan already found one. With ``strict=False`` the findings are kept as one-line
strings ``"line N: what"`` in ``form.meta["read_warnings"]`` (a solve copies them to
``result.extra["read_warnings"]``). Damage on which HiGHS's reader would not return (a blank line
in a file sent to its fixed-format parser) is refused in both modes.

``time_limit`` (seconds): HiGHS reads in a child process that is killed at the deadline
(:class:`~optkit.errors.ReadTimeoutError`, "reading FILE did not finish within T s"). Without a
time limit HiGHS reads in this process (no process start, no copy of the arrays). The guarded
read costs a fork plus one pickled copy of the model: measured in docs/model_files.md.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import tempfile
import zlib

import numpy as np
import scipy.sparse as sp

from ..errors import DataError, ReadError
from .linear_form import LinearForm
from .mps_check import Finding, fast_clean, scan_mps

_COMPRESSED = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}
_LP_SECTIONS = re.compile(r"(?im)^\s*(subject\s+to|such\s+that|st|s\.t\.)\s*$")
_LP_INTEGER = re.compile(r"(?i)(general|generals|gen|binary|binaries|bin|semi-continuous|semis|semi)")
_LP_KEYWORD_LINE = re.compile(r"(?im)^[ \t]*(minimi[sz]e|maximi[sz]e|minimum|maximum|min|max|subject\s+to"
                              r"|such\s+that|st|s\.t\.|bounds?|generals?|gen|binary|binaries|bin|"
                              r"semi-continuous|semis|semi|sos|end)[ \t]*\r?$")
_MAX_WARNINGS = 50  # warnings kept on the form (the rest counted)
_HIGHS_LOCATION = re.compile(r"-->\s*.*:(\d+):(\d+)")


def _split_suffix(path: str) -> tuple[str, str | None]:
    """(format suffix '.mps'/'.lp', compression suffix or None) of a file name."""
    low = path.lower()
    comp = next((s for s in _COMPRESSED if low.endswith(s)), None)
    inner = low[: -len(comp)] if comp else low
    return (".lp" if inner.endswith(".lp") else ".mps"), comp


def _load_bytes(path: str, comp: str | None) -> bytes:
    if not os.path.isfile(path):
        raise ReadError(f"{path}: no such file" if not os.path.exists(path)
                        else f"{path}: not a regular file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(_PROBE)  # binary data is refused before a large file is read whole
            if comp is None:
                _refuse_binary(path, head)
            raw = head + fh.read()
    except OSError as exc:
        raise ReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if comp is None:
        return raw
    try:
        return _COMPRESSED[comp](raw)
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
        raise ReadError(f"{path}: corrupt {comp[1:]} data ({exc})") from None


#: bytes looked at before a file is read whole
_PROBE = 1 << 16


def _refuse_binary(path: str, raw: bytes) -> None:
    """UTF-16 text or a NUL byte in ``raw`` (the whole file or its first block): not MPS/LP."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ReadError(f"{path}: UTF-16 text; MPS and LP files are ASCII")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise ReadError(f"{path}: line {line}: NUL byte (binary data, not an MPS or LP file)")


def _check_bytes(path: str, raw: bytes) -> tuple[str, list[Finding]]:
    """Refuse binary data; the text as latin-1 and the byte-level findings."""
    _refuse_binary(path, raw)
    findings = []
    if raw.startswith(b"\xef\xbb\xbf"):
        findings.append(Finding(1, "UTF-8 byte-order mark at the start of the file"))
        raw = raw[3:]
    m = re.search(rb"[\x80-\xff]", raw)
    if m:
        findings.append(Finding(raw.count(b"\n", 0, m.start()) + 1,
                                f"non-ASCII byte 0x{raw[m.start()]:02X} (MPS and LP files are ASCII)"))
    return raw.decode("latin-1"), findings


def _valid_utf8(text: str) -> bool:
    """True when the latin-1 decoded ``text`` is, as bytes, valid UTF-8."""
    try:
        text.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _scan_lp(path: str, text: str) -> None:
    """Hard LP errors: quadratic constraints (unsupported) and NaN coefficients."""
    from ..errors import UnsupportedProblemError

    m = _LP_SECTIONS.search(text)
    if m:
        end = re.search(r"(?im)^\s*(bounds?|general|generals|gen|binary|binaries|bin|semi|end)\s*$",
                        text[m.end():])
        body = text[m.end(): m.end() + end.start()] if end else text[m.end():]
        if "[" in body:
            where = text[: m.end()].count("\n") + body[: body.index("[")].count("\n") + 1
            raise UnsupportedProblemError(f"{path}: line {where}: quadratic constraints are "
                                          f"unsupported by the MPS/LP path (LP, MILP and convex QP only)")
    nan = re.search(r"(?i)(?<![\w.])[+-]?nan(?![\w.])", text)
    if nan:
        lineno = text.count("\n", 0, nan.start()) + 1
        raise DataError(f"line {lineno}: a coefficient is NaN", path, f"line {lineno}")


def _lp_orphans(text: str, data: dict) -> list[Finding]:
    """Variables that appear only in a GENERALS/BINARY/SEMI list: a misspelt keyword read as a name."""
    if data["n"] == 0:
        return []
    a_start = data["a_start"]
    counts = (np.diff(a_start) if not data["rowwise"] and len(a_start) == data["n"] + 1
              else np.bincount(data["a_index"], minlength=data["n"]) if data["rowwise"]
              else np.zeros(data["n"], int))
    empty = np.flatnonzero((counts == 0) & (data["c"] == 0))
    if not len(empty) or not data["col_names"]:
        return []
    # the section of a text offset: the last section keyword line before it
    marks = [(m.start(), "integer" if _LP_INTEGER.fullmatch(m.group(1).strip()) else "other")
             for m in _LP_KEYWORD_LINE.finditer(text)]
    starts = np.array([0] + [p for p, _ in marks])
    kinds = ["objective"] + [k for _, k in marks]
    out = []
    for j in empty[:50]:
        name = data["col_names"][j]
        hits = [m.start() for m in re.finditer(rf"(?<![\w.]){re.escape(name)}(?![\w.])", text)]
        if hits and all(kinds[int(np.searchsorted(starts, h, side="right")) - 1] == "integer"
                        for h in hits):
            out.append(Finding(text.count("\n", 0, hits[0]) + 1,
                               f"{name!r} appears only in an integer/binary list, in no "
                               f"objective, constraint or bound (a misspelt section keyword?)"))
    return out


def _locate(text: str, message: str, default: int = 1) -> int:
    """The line of the first whole-word occurrence of a name quoted in a HiGHS message."""
    m = _HIGHS_LOCATION.search(message)
    if m:
        return int(m.group(1))
    for name in re.findall(r'"([^"\n]+)"', message):
        hit = re.search(rf"(?m)(?<!\S){re.escape(name.strip())}(?!\S)", text)
        if hit:
            return text.count("\n", 0, hit.start()) + 1
    return default


def _clean(message: str) -> str:
    """A HiGHS log message on one line, its prefix and padding removed."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    first = re.sub(r"^(WARNING|ERROR):\s*", "", first)
    return re.sub(r"\s{2,}", " ", first).strip()


def _highs_findings(text: str, data: dict) -> list[Finding]:
    out = [Finding(_locate(text, m), f"HiGHS: {_clean(m)}") for m in data["messages"]
           if m.lstrip().startswith("WARNING")]
    if data["status"] == "warning" and not out:
        out.append(Finding(1, "HiGHS's reader returned a warning status"))
    return out


def _highs_error(label: str, text: str, data: dict, findings: list[Finding]) -> ReadError:
    errors = [m for m in data["messages"] if m.lstrip().startswith("ERROR")
              and "Parser error reading" not in m]
    if errors:
        msg = errors[0]
        where = _locate(text, msg, 0)
        line = f"line {where}: " if where else (f"line {findings[0].line}: " if findings else "")
        hint = f" ({findings[0].message})" if findings and not where else ""
        return ReadError(f"{label}: {line}{_clean(msg)}{hint}")
    if findings:
        return ReadError(f"{label}: {findings[0]} (HiGHS's reader rejected the file)")
    return ReadError(f"{label}: not a readable MPS or LP file (HiGHS's reader rejected it)")


def _refuse(label: str, findings: list[Finding]) -> ReadError:
    more = len(findings) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return ReadError(f"{label}: {findings[0]}{tail}; strict=False reads it anyway")


def _to_form(data: dict, path: str, name: str) -> LinearForm:
    n, m = data["n"], data["m"]
    shape = (m, n)
    if data["rowwise"]:
        A = sp.csr_matrix((data["a_value"], data["a_index"], data["a_start"]), shape=shape)
    elif len(data["a_start"]) == n + 1:
        A = sp.csc_matrix((data["a_value"], data["a_index"], data["a_start"]), shape=shape).tocsr()
    else:
        A = sp.csr_matrix(shape)
    Q = None
    if data["q_dim"] > 0 and len(data["q_value"]):
        L = sp.csc_matrix((data["q_value"], data["q_index"], data["q_start"]), shape=(n, n))
        Q = (L + L.T - sp.diags(L.diagonal())).tocsr()
    inf = data["inf"]

    def fix(v: np.ndarray) -> np.ndarray:
        v = np.array(v, float)
        v[v >= inf] = np.inf
        v[v <= -inf] = -np.inf
        return v

    integ = data["integrality"] if data["integrality"] is not None else np.zeros(n, int)
    c, offset = data["c"], data["offset"]
    sense = -1 if data["maximize"] else 1
    if sense < 0:  # store the minimisation
        c, offset = -c, -offset
        Q = -Q if Q is not None else None
    return LinearForm(c=c, A=A, rl=fix(data["rl"]), ru=fix(data["ru"]), lb=fix(data["lb"]),
                      ub=fix(data["ub"]), Q=Q, c0=offset, integrality=integ != 0, sense=sense,
                      name=name, col_names=data["col_names"] or None,
                      row_names=data["row_names"] or None, source=path)


def read_model_file(path: str | os.PathLike, *, strict: bool = True,
                    time_limit: float | None = None) -> LinearForm:
    """Read an MPS (free or fixed) or CPLEX-LP file, optionally .gz/.bz2/.xz compressed.

    ``strict``: any deviation optkit's scan finds and any warning of HiGHS's reader is a
    :class:`ReadError` naming the file and the line; ``False`` keeps them as
    ``form.meta["read_warnings"]``. ``time_limit``: seconds HiGHS's reader may take (read in a
    child process, :class:`ReadTimeoutError` at the deadline); None reads in this process.
    Raises ReadError, ReadTimeoutError, DataError (NaN/inf data) or UnsupportedProblemError.
    """
    from .read_guard import guarded_read, highs_read

    path = os.fspath(path)
    if time_limit is not None and not (float(time_limit) > 0):
        raise ValueError(f"time_limit must be a positive number of seconds, not {time_limit!r}")
    fmt, comp = _split_suffix(path)
    text, findings = _check_bytes(path, _load_bytes(path, comp))
    if fmt == ".lp":
        _scan_lp(path, text)
    else:
        if not fast_clean(text):  # the line scan only where the fast check has a doubt
            scan = scan_mps(path, text)
            if not strict:
                hang = scan.hang_risk()
                if hang is not None:
                    raise ReadError(f"{path}: {hang}")
            findings += scan.findings
    findings.sort(key=lambda f: f.line)
    if strict and findings:
        raise _refuse(path, findings)
    tmp = None
    try:
        target = path
        # HiGHS's names reach Python as UTF-8: a file that is not valid UTF-8 (latin-1 names) is
        # handed over transcoded; compressed files decompressed. Both in a private temporary file.
        transcode = not text.isascii() and not _valid_utf8(text)
        if comp is not None or transcode:
            fd, tmp = tempfile.mkstemp(prefix="optkit-read-", suffix=fmt)
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8" if transcode else "latin-1"))
            target = tmp
        data = (highs_read(target) if time_limit is None
                else guarded_read(target, float(time_limit), label=path))
    finally:
        if tmp is not None:
            os.unlink(tmp)
    if tmp is not None:
        data["messages"] = [m.replace(tmp, path) for m in data["messages"]]
    if data["status"] == "error":
        raise _highs_error(path, text, data, findings)
    if data["n"] == 0 and data["m"] == 0 and text.strip() and fmt == ".mps" \
            and "ENDATA" not in text.upper():
        raise ReadError(f"{path}: no model found (not an MPS file)")
    more = _highs_findings(text, data)
    if fmt == ".lp":
        more += _lp_orphans(text, data)
    if strict and more:
        raise _refuse(path, more)
    base = os.path.basename(path)
    name = base[: -len(comp)] if comp else base
    form = _to_form(data, path, os.path.splitext(name)[0])
    warnings = [str(f) for f in sorted(findings + more, key=lambda f: f.line)]
    if len(warnings) > _MAX_WARNINGS:
        warnings = warnings[:_MAX_WARNINGS] + [f"... and {len(warnings) - _MAX_WARNINGS} more"]
    if warnings:
        form.meta["read_warnings"] = warnings
    return form


__all__ = ["read_model_file"]
