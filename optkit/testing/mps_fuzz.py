"""A seeded mutation engine for MPS/LP files (the reader's fuzz test).

A mutant is the bytes of a model file after one damaging edit, drawn by a ``numpy`` generator
from a seed: the same (seed, file list, count) gives the same mutants, so a failure printed as
``seed=S index=I`` reproduces with :func:`mutant`.

The edits are the classes of damage found in practice (issue 11): truncation, byte flips,
deleted and duplicated lines and sections (headers included), renamed RHS/BOUNDS set names,
huge and malformed numbers (``1e400``, ``nan``, ``1,5``, ``--3``), a dropped field, an unknown
bound type, re-encodings (latin-1 names, UTF-16, a BOM, CRLF line ends, NUL bytes).
"""
from __future__ import annotations

import gzip
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Iterator, Sequence

import numpy as np

_NUMBER = re.compile(rb"(?<![\w.+-])[+-]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][+-]?\d+)?(?![\w.])")
_SECTIONS = (b"NAME", b"ROWS", b"COLUMNS", b"RHS", b"RANGES", b"BOUNDS", b"ENDATA", b"OBJSENSE",
             b"QUADOBJ", b"QMATRIX", b"QSECTION")
_BAD_NUMBERS = (b"1e400", b"-1e400", b"nan", b"NaN", b"inf", b"--3", b"1..5", b"1e", b"0x10",
                b"1e-400", b"1" * 400)


@dataclass(frozen=True)
class Mutant:
    """One damaged file: where it came from, what was done, and its bytes."""

    source: str
    index: int
    kind: str
    detail: str
    data: bytes
    suffix: str = ""  # file name ending of the mutant ('' = the source's)

    def describe(self) -> str:
        """One line to reproduce it: source file, index in the campaign, the edit."""
        return f"{Path(self.source).name} #{self.index}: {self.kind} ({self.detail})"


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines)


def _data_lines(lines: list[bytes]) -> list[int]:
    return [i for i, ln in enumerate(lines) if ln.strip() and not ln.startswith(b"*")]


def _section_spans(lines: list[bytes]) -> list[tuple[int, int]]:
    """(start, stop) of each section: a header line (no leading blank) and its body."""
    heads = [i for i, ln in enumerate(lines) if ln[:1].isalpha()]
    return [(h, heads[k + 1] if k + 1 < len(heads) else len(lines)) for k, h in enumerate(heads)]


def _truncate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    cut = int(rng.integers(0, max(1, len(data))))
    return data[:cut], f"cut at byte {cut} of {len(data)}"


def _byte_flip(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    if not data:
        return data, "empty"
    pos = int(rng.integers(0, len(data)))
    bit = int(rng.integers(0, 8))
    out = bytearray(data)
    out[pos] ^= 1 << bit
    return bytes(out), f"byte {pos} bit {bit}"


def _delete_line(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    lines = _lines(data)
    idx = _data_lines(lines)
    if not idx:
        return data, "no line"
    i = idx[int(rng.integers(0, len(idx)))]
    return _join(lines[:i] + lines[i + 1:]), f"line {i + 1} deleted: {lines[i][:40]!r}"


def _duplicate_line(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    lines = _lines(data)
    idx = _data_lines(lines)
    if not idx:
        return data, "no line"
    i = idx[int(rng.integers(0, len(idx)))]
    return _join(lines[:i + 1] + [lines[i]] + lines[i + 1:]), f"line {i + 1} duplicated"


def _delete_header(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    lines = _lines(data)
    heads = [i for i, ln in enumerate(lines) if ln[:1].isalpha() and ln.split()[0] in _SECTIONS]
    if not heads:
        return data, "no header"
    i = heads[int(rng.integers(0, len(heads)))]
    return _join(lines[:i] + lines[i + 1:]), f"header line {i + 1} {lines[i].strip()[:20]!r} deleted"


def _delete_section(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    lines = _lines(data)
    spans = _section_spans(lines)
    if not spans:
        return data, "no section"
    a, b = spans[int(rng.integers(0, len(spans)))]
    return _join(lines[:a] + lines[b:]), f"section at line {a + 1} {lines[a][:12]!r} deleted"


def _duplicate_section(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    lines = _lines(data)
    spans = _section_spans(lines)
    if not spans:
        return data, "no section"
    a, b = spans[int(rng.integers(0, len(spans)))]
    return _join(lines[:b] + lines[a:b] + lines[b:]), f"section at line {a + 1} {lines[a][:12]!r} duplicated"


def _swap_sections(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    lines = _lines(data)
    spans = _section_spans(lines)
    if len(spans) < 3:
        return data, "too few sections"
    k = int(rng.integers(0, len(spans) - 2))  # never move the last (ENDATA)
    (a, b), (c, d) = spans[k], spans[k + 1]
    return (_join(lines[:a] + lines[c:d] + lines[a:b] + lines[d:]),
            f"sections at lines {a + 1} and {c + 1} swapped")


def _replace_number(data: bytes, rng: np.random.Generator, new: bytes | None = None) -> tuple[bytes, str]:
    nums = list(_NUMBER.finditer(data))
    if not nums:
        return data, "no number"
    m = nums[int(rng.integers(0, len(nums)))]
    old = m.group(0)
    if new is None:
        new = _BAD_NUMBERS[int(rng.integers(0, len(_BAD_NUMBERS)))]
    line = data[:m.start()].count(b"\n") + 1
    return data[:m.start()] + new + data[m.end():], f"line {line}: {old!r} -> {new[:20]!r}"


def _bad_number(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    return _replace_number(data, rng)


def _decimal_comma(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    nums = [m for m in _NUMBER.finditer(data) if b"." in m.group(0)]
    if not nums:
        return _replace_number(data, rng, b"1,5")
    m = nums[int(rng.integers(0, len(nums)))]
    line = data[:m.start()].count(b"\n") + 1
    new = m.group(0).replace(b".", b",", 1)
    return data[:m.start()] + new + data[m.end():], f"line {line}: {m.group(0)!r} -> {new!r}"


def _rename_set(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """Rename the set name (first field) of one RHS/RANGES/BOUNDS entry line."""
    lines = _lines(data)
    section, cands = None, []
    for i, ln in enumerate(lines):
        if ln[:1].isalpha():
            section = ln.split()[0].upper() if ln.split() else None
        elif section in (b"RHS", b"RANGES", b"BOUNDS") and ln.strip() and not ln.startswith(b"*"):
            cands.append((i, section))
    if not cands:
        return data, "no RHS/RANGES/BOUNDS line"
    i, section = cands[int(rng.integers(0, len(cands)))]
    toks = lines[i].split()
    k = 1 if section == b"BOUNDS" else 0
    if len(toks) <= k + 2 and section != b"BOUNDS" and len(toks) < 3:
        return data, "entry without a set name"
    old = toks[k]
    new = b"ZZ" + old[2:] if len(old) > 2 else b"ZZZ"
    lines[i] = lines[i].replace(old, new, 1)
    return _join(lines), f"line {i + 1}: {section.decode()} set {old!r} -> {new!r}"


def _drop_field(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    lines = _lines(data)
    idx = [i for i in _data_lines(lines) if lines[i][:1].isspace() and len(lines[i].split()) >= 3]
    if not idx:
        return data, "no entry line"
    i = idx[int(rng.integers(0, len(idx)))]
    toks = lines[i].split()
    k = int(rng.integers(0, len(toks)))
    lines[i] = b"    " + b"  ".join(toks[:k] + toks[k + 1:])
    return _join(lines), f"line {i + 1}: field {k + 1} of {len(toks)} dropped"


def _bad_bound_type(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    lines = _lines(data)
    section, cands = None, []
    for i, ln in enumerate(lines):
        if ln[:1].isalpha():
            section = ln.split()[0].upper() if ln.split() else None
        elif section == b"BOUNDS" and ln.strip():
            cands.append(i)
    if not cands:
        return data, "no BOUNDS line"
    i = cands[int(rng.integers(0, len(cands)))]
    old = lines[i].split()[0]
    lines[i] = lines[i].replace(old, b"QQ", 1)
    return _join(lines), f"line {i + 1}: bound type {old!r} -> b'QQ'"


def _latin1_name(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    lines = _lines(data)
    idx = [i for i in _data_lines(lines) if lines[i][:1].isspace()]
    if not idx:
        return data, "no entry line"
    i = idx[int(rng.integers(0, len(idx)))]
    tok = lines[i].split()[-1 if rng.random() < 0.3 else 0]
    lines[i] = lines[i].replace(tok, tok[:1] + b"\xe9" + tok[1:], 1)
    return _join(lines), f"line {i + 1}: latin-1 byte in {tok!r}"


def _utf16(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    return data.decode("latin-1").encode("utf-16"), "re-encoded as UTF-16"


def _bom(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    return b"\xef\xbb\xbf" + data, "UTF-8 byte-order mark prepended"


def _crlf(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), "CRLF line ends"


def _nul(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    pos = int(rng.integers(0, max(1, len(data))))
    return data[:pos] + b"\x00" + data[pos:], f"NUL byte at {pos}"


def _tabs(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    lines = _lines(data)
    idx = [i for i in _data_lines(lines) if lines[i][:1].isspace()]
    if not idx:
        return data, "no entry line"
    i = idx[int(rng.integers(0, len(idx)))]
    lines[i] = b"\t".join(lines[i].split())
    return _join(lines), f"line {i + 1}: fields joined by tabs, no leading blank"


def _gzip(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    return gzip.compress(data, mtime=0), "gzip-compressed (valid)"


def _gzip_corrupt(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    z = bytearray(gzip.compress(data, mtime=0))
    if rng.random() < 0.5:
        cut = int(rng.integers(10, max(11, len(z))))
        return bytes(z[:cut]), f"gzip-compressed, cut at byte {cut} of {len(z)}"
    pos = int(rng.integers(10, max(11, len(z) - 8)))
    z[pos] ^= 0xFF
    return bytes(z), f"gzip-compressed, byte {pos} inverted"


#: name → edit; each takes (bytes, generator) and returns (bytes, detail)
MUTATIONS: dict[str, Callable[[bytes, np.random.Generator], tuple[bytes, str]]] = {
    "truncate": _truncate, "byte_flip": _byte_flip, "delete_line": _delete_line,
    "duplicate_line": _duplicate_line, "delete_header": _delete_header,
    "delete_section": _delete_section, "duplicate_section": _duplicate_section,
    "swap_sections": _swap_sections, "bad_number": _bad_number, "decimal_comma": _decimal_comma,
    "rename_set": _rename_set, "drop_field": _drop_field, "bad_bound_type": _bad_bound_type,
    "latin1_name": _latin1_name, "utf16": _utf16, "bom": _bom, "crlf": _crlf, "nul": _nul,
    "tabs": _tabs, "gzip": _gzip, "gzip_corrupt": _gzip_corrupt,
}


def mutant(files: Sequence[str | Path], seed: int, index: int, kinds: Sequence[str] | None = None) -> Mutant:
    """The ``index``-th mutant of a campaign with ``seed`` (independent of the other indices)."""
    rng = np.random.default_rng([seed, index])
    names = list(kinds or MUTATIONS)
    path = Path(files[int(rng.integers(0, len(files)))])
    kind = names[int(rng.integers(0, len(names)))]
    data, detail = MUTATIONS[kind](path.read_bytes(), rng)
    suffix = path.suffix + (".gz" if kind.startswith("gzip") else "")
    return Mutant(str(path), index, kind, detail, data, suffix)


def campaign(files: Sequence[str | Path], seed: int, count: int,
             kinds: Sequence[str] | None = None) -> Iterator[Mutant]:
    """``count`` mutants of ``files`` drawn from ``seed``."""
    for i in range(count):
        yield mutant(files, seed, i, kinds)


@dataclass(frozen=True)
class Outcome:
    """How optkit ended on one mutant: 'refused' (an optkit error), 'result' (a Result), or
    'failure' (any other exception, or a deadline overrun); ``reason`` buckets the message."""

    kind: str
    reason: str
    message: str
    seconds: float


def reason_of(exc: BaseException) -> str:
    """A short bucket of an error message: class and its first words, without file, line, names."""
    msg = str(exc).split("\n")[0]
    msg = re.sub(r"^.*?\.(mps|lp)(\.gz)?: ", "", msg)
    msg = re.sub(r"^line \d+: ", "", msg)
    msg = re.sub(r"""'[^']*'|"[^"]*"|`[^`]*`|\S*[/\d]\S*""", "_", msg)
    return f"{type(exc).__name__}: {' '.join(msg.split()[:6])}"


def run_mutant(m: Mutant, time_limit: float = 5.0, overrun: float = 5.0,
               strict: bool = True) -> Outcome:
    """Read (in a stoppable child) and solve one mutant, each step under ``time_limit``.

    Anything but an :class:`~optkit.errors.OptkitError` or a Result, or an end later than
    ``time_limit`` + ``overrun`` seconds per step, is a 'failure'.
    """
    import optkit as ok
    from optkit.errors import OptkitError

    fd, path = tempfile.mkstemp(prefix="optkit-fuzz-", suffix=m.suffix or Path(m.source).suffix)
    t0 = time.monotonic()
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(m.data)
        try:
            problem = ok.read(path, strict=strict, time_limit=time_limit)
        except OptkitError as exc:
            dt = time.monotonic() - t0
            kind = "refused" if dt <= time_limit + overrun else "failure"
            return Outcome(kind, reason_of(exc), str(exc), dt)
        t1 = time.monotonic()
        try:
            res = ok.solve(problem, time_limit=time_limit)
        except OptkitError as exc:
            dt = time.monotonic() - t0
            kind = "refused" if time.monotonic() - t1 <= time_limit + overrun else "failure"
            return Outcome(kind, reason_of(exc), str(exc), dt)
        dt = time.monotonic() - t0
        kind = "result" if time.monotonic() - t1 <= time_limit + overrun else "failure"
        return Outcome(kind, f"Result: {res.termination}", res.message, dt)
    except Exception as exc:  # the fuzz test's failure: not an optkit error
        return Outcome("failure", f"{type(exc).__name__}", f"{type(exc).__name__}: {exc}",
                       time.monotonic() - t0)
    finally:
        os.unlink(path)


__all__ = ["MUTATIONS", "Mutant", "Outcome", "campaign", "mutant", "reason_of", "run_mutant"]
