"""optkit's own structural check of an MPS file, before HiGHS reads it.

HiGHS's MPS reader accepts several kinds of damage without a word (a ``ROWS`` header line
deleted, a second RHS set, ``1,5`` read as 1, a line with a field missing, sections out of
order) or with a log warning only. This scan reads the text once, line by line, against the MPS
grammar and returns every deviation as a :class:`Finding` (line number, one-line message); the
reader turns findings into a :class:`~optkit.errors.ReadError` by default, or records them with
``strict=False``.

The grammar checked (free format; fixed-format files whose names contain blanks are reported,
as HiGHS itself warns and switches parser for them):

* sections ``NAME`` ``OBJSENSE`` ``OBJSENSE``-value ``ROWS`` ``COLUMNS`` ``RHS`` ``RANGES``
  ``BOUNDS`` ``QUADOBJ``/``QMATRIX``/``QSECTION`` ``ENDATA``, each at most once, in this order;
  ``ROWS``, ``COLUMNS`` and ``ENDATA`` required; nothing after ``ENDATA``;
* ``ROWS``: ``type name`` with type in N E L G, names unique;
* ``COLUMNS``: ``col row value [row value]`` or a ``'MARKER'`` line; rows declared in ROWS;
  the entries of one column contiguous, each (column, row) pair once;
* ``RHS``/``RANGES``: ``[set] row value [row value]``, one set name throughout; ``RANGES`` rows
  not N rows;
* ``BOUNDS``: ``type [set] col [value]``, type in UP LO FX FR MI PL BV LI UI SC SI, a value
  where the type needs one, one set name, declared columns;
* ``QUADOBJ``…: ``col col value`` with declared columns;
* numbers: ``[+-]digits[.digits][e[+-]digits]`` and finite in double precision (``1,5``,
  ``--3``, ``1e400``, ``0x10`` are refused); NaN anywhere and ±inf outside BOUNDS/RHS/RANGES are a
  :class:`~optkit.errors.DataError` whatever ``strict`` says.

A blank line in a file that sends HiGHS to its fixed-format parser makes that parser loop for
ever (HiGHS 1.16); the scan recognises the combination and :func:`hang_risk` names it, so the
reader refuses it even when not strict.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, UnsupportedProblemError

_ORDER = {"NAME": 0, "OBJSENSE": 1, "OBJSENSE_VALUE": 1, "OBJSENS": 1, "ROWS": 2, "COLUMNS": 3,
          "RHS": 4, "RANGES": 5, "BOUNDS": 6, "QUADOBJ": 7, "QMATRIX": 7, "QSECTION": 7,
          "ENDATA": 9}
_UNSUPPORTED = {"QCMATRIX": "quadratic constraints", "CSECTION": "conic constraints",
                "INDICATORS": "indicator constraints", "SOS": "SOS constraints"}
_ROW_TYPES = frozenset("NELG")
_BOUND_NEEDS_VALUE = frozenset({"UP", "LO", "FX", "LI", "UI", "SC"})
_BOUND_NO_VALUE = frozenset({"FR", "MI", "PL", "BV", "SI"})
_BOUND_TYPES = _BOUND_NEEDS_VALUE | _BOUND_NO_VALUE
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INF = re.compile(r"(?i)[+-]?inf(inity)?")
_NAN = re.compile(r"(?i)[+-]?nan")


@dataclass(frozen=True)
class Finding:
    """One deviation from the MPS grammar: 1-based line number and what is wrong."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class MpsScan:
    """What the scan found: deviations, and what decides HiGHS's parser and its hang."""

    findings: list[Finding]
    fixed_format_lines: list[int]   # lines free format does not fit (HiGHS then reads fixed)
    blank_lines: list[int]
    section_lines: dict[str, int]   # first line of each section header
    rows: dict[str, int]            # row name → line declared
    cols: dict[str, int]            # column name → first line

    def hang_risk(self) -> Finding | None:
        """The blank-line + fixed-format combination on which HiGHS 1.16's reader never returns."""
        if self.fixed_format_lines and self.blank_lines:
            return Finding(self.blank_lines[0],
                           f"blank line in a file that HiGHS reads with its fixed-format parser "
                           f"(line {self.fixed_format_lines[0]} does not fit free format); that "
                           f"parser does not return on such files (HiGHS 1.16)")
        return None


def _number(tok: str, allow_inf: bool) -> tuple[float | None, str | None]:
    """(value, None) for a well-formed finite number, else (None, what is wrong)."""
    if _NUMBER.fullmatch(tok):
        v = float(tok)
        if math.isinf(v):
            return None, f"{tok!r} overflows double precision"
        if v == 0.0 and re.search(r"[1-9]", tok.split("e")[0].split("E")[0]):
            return None, f"{tok!r} underflows to 0 in double precision"
        return v, None
    if allow_inf and _INF.fullmatch(tok):
        return math.copysign(math.inf, -1.0 if tok.startswith("-") else 1.0), None
    if "," in tok and _NUMBER.fullmatch(tok.replace(",", ".", 1)):
        return None, f"{tok!r} has a decimal comma (MPS numbers use a decimal point)"
    return None, f"{tok!r} is not a number"


class _Scanner:
    def __init__(self, path: str):
        self.path = path
        self.findings: list[Finding] = []
        self.fixed: list[int] = []
        self.blank: list[int] = []
        self.sections: dict[str, int] = {}
        self.rows: dict[str, int] = {}
        self.row_type: dict[str, str] = {}
        self.cols: dict[str, int] = {}
        self.pairs: set[tuple[str, str]] = set()
        self.last_col: str | None = None
        self.set_names: dict[str, tuple[str, int]] = {}
        self.order = -1

    def add(self, line: int, message: str) -> None:
        self.findings.append(Finding(line, message))

    # ---------------------------------------------------------------- headers
    def header(self, lineno: int, toks: list[str]) -> str | None:
        word = toks[0].upper()
        if word in _UNSUPPORTED:
            raise UnsupportedProblemError(f"{self.path}: line {lineno}: section {word} "
                                          f"({_UNSUPPORTED[word]}) is unsupported by the MPS/LP "
                                          f"path (LP, MILP and convex QP only)")
        if word not in _ORDER:
            self.add(lineno, f"unknown section {toks[0][:30]!r} (or a data line without its "
                             f"leading blank)")
            return None
        key = "QUAD" if word in ("QUADOBJ", "QMATRIX", "QSECTION") else word
        if key in self.sections:
            self.add(lineno, f"section {word} given twice (first at line {self.sections[key]})")
        else:
            self.sections[key] = lineno
        rank = _ORDER[word]
        if rank < self.order:
            self.add(lineno, f"section {word} out of order (MPS order: NAME ROWS COLUMNS RHS "
                             f"RANGES BOUNDS QUADOBJ ENDATA)")
        self.order = max(self.order, rank)
        if word == "COLUMNS" and "ROWS" not in self.sections:
            self.add(lineno, "COLUMNS before any ROWS section (the ROWS header is missing)")
        if word in ("OBJSENSE", "OBJSENS"):
            if len(toks) > 1:
                self.objsense(lineno, toks[1:])
                return "OBJSENSE_DONE"
            return "OBJSENSE"
        if word not in ("NAME",) and len(toks) > 1 and word not in ("QSECTION", "RANGES", "RHS", "BOUNDS"):
            self.add(lineno, f"section header {word} followed by {' '.join(toks[1:])[:30]!r}")
        return word

    def objsense(self, lineno: int, toks: list[str]) -> None:
        if len(toks) != 1 or toks[0].upper() not in ("MAX", "MIN", "MAXIMIZE", "MINIMIZE",
                                                     "MAXIMISE", "MINIMISE"):
            self.add(lineno, f"OBJSENSE value {' '.join(toks)[:30]!r} is not MAX or MIN")

    # ---------------------------------------------------------------- data lines
    def num(self, lineno: int, section: str, tok: str, what: str, allow_inf: bool = False) -> None:
        if _NAN.fullmatch(tok):
            raise DataError(f"line {lineno}: {section} entry {what} is {tok!r}, not a finite number",
                            self.path, f"{section} {what}")
        if _INF.fullmatch(tok) and not allow_inf:
            raise DataError(f"line {lineno}: {section} entry {what} is {tok!r}, not a finite number",
                            self.path, f"{section} {what}")
        _, why = _number(tok, allow_inf)
        if why:
            self.add(lineno, f"{section} entry {what}: {why}")

    def row_ref(self, lineno: int, section: str, name: str) -> bool:
        if name not in self.rows:
            self.add(lineno, f"{section} names row {name!r}, which is not declared in ROWS")
            return False
        return True

    def set_name(self, lineno: int, section: str, name: str) -> None:
        first = self.set_names.setdefault(section, (name, lineno))
        if first[0] != name:
            self.add(lineno, f"{section} set {name!r} differs from set {first[0]!r} of line "
                             f"{first[1]} (HiGHS reads one set only)")

    def fits_fixed(self, line: str) -> bool:
        """True when the line splits into MPS fixed-format fields (cols 2-3, 5-12, 15-22, 25-36,
        40-47, 50-61) and the number fields are numbers: a fixed-format line with blanks in names."""
        nums = [line[24:36].strip(), line[49:61].strip()]
        return bool(line[4:12].strip()) and any(nums) and all(
            not t or _NUMBER.fullmatch(t) for t in nums)

    def wrong_fields(self, lineno: int, line: str, section: str, n: int, expected: str) -> None:
        self.fixed.append(lineno)  # HiGHS's free parser gives such a line to its fixed parser
        tail = ("; it fits fixed-format columns only (blanks inside a name?), and HiGHS then "
                "reads the whole file with its fixed-format parser" if self.fits_fixed(line) else "")
        self.add(lineno, f"{section} line has {n} fields, expected {expected}{tail}")

    def rows_line(self, lineno: int, line: str, toks: list[str]) -> None:
        if len(toks) != 2:
            return self.wrong_fields(lineno, line, "ROWS", len(toks), "2 (type name)")
        kind, name = toks[0].upper(), toks[1]
        if kind not in _ROW_TYPES:
            self.add(lineno, f"ROWS type {toks[0]!r} of row {name!r} is not N, E, L or G")
        if name in self.rows:
            self.add(lineno, f"row {name!r} declared twice (first at line {self.rows[name]})")
            return
        self.rows[name] = lineno
        self.row_type[name] = kind

    def columns_line(self, lineno: int, line: str, toks: list[str]) -> None:
        n = len(toks)
        if n == 3 and toks[1].strip("'\"").upper() == "MARKER":
            if toks[2].strip("'\"").upper() not in ("INTORG", "INTEND"):
                self.add(lineno, f"MARKER {toks[2]!r} is not 'INTORG' or 'INTEND'")
            return
        if n not in (3, 5):
            return self.wrong_fields(lineno, line, "COLUMNS", n, "3 or 5 (column row value [row value])")
        col = toks[0]
        if col != self.last_col:
            if col in self.cols:
                self.add(lineno, f"entries of column {col!r} resume after other columns (first at "
                                 f"line {self.cols[col]}): a duplicated or misplaced block")
            else:
                self.cols[col] = lineno
            self.last_col = col
        for k in (1, 3)[: (n - 1) // 2]:
            row = toks[k]
            if self.row_ref(lineno, "COLUMNS", row):
                if (col, row) in self.pairs:
                    self.add(lineno, f"COLUMNS entry {col}/{row} given twice")
                self.pairs.add((col, row))
            self.num(lineno, "COLUMNS", toks[k + 1], f"{col}/{row}")

    def rhs_line(self, lineno: int, line: str, toks: list[str], section: str) -> None:
        n = len(toks)
        if n in (2, 4) and toks[0] in self.rows and _NUMBER.fullmatch(toks[1]):
            start = 0  # no set name
        elif n in (3, 5):
            start = 1
            self.set_name(lineno, section, toks[0])
        else:
            return self.wrong_fields(lineno, line, section, n, "3 or 5 (set row value [row value])")
        for k in range(start, n, 2):
            row = toks[k]
            if self.row_ref(lineno, section, row) and section == "RANGES" and \
                    self.row_type.get(row) == "N":
                self.add(lineno, f"RANGES entry for the objective row {row!r}")
            self.num(lineno, section, toks[k + 1], f"{toks[0] if start else section}/{row}",
                     allow_inf=True)

    def bounds_line(self, lineno: int, line: str, toks: list[str]) -> None:
        n = len(toks)
        kind = toks[0].upper()
        if kind not in _BOUND_TYPES:
            self.add(lineno, f"bound type {toks[0]!r} is not one of {' '.join(sorted(_BOUND_TYPES))}")
            return
        if n == 4 or (n == 3 and kind in _BOUND_NO_VALUE):
            self.set_name(lineno, "BOUNDS", toks[1])
            col, value = toks[2], (toks[3] if n == 4 else None)
        elif n == 3 and toks[1] in self.cols:
            col, value = toks[1], toks[2]
        elif n == 2 and kind in _BOUND_NO_VALUE:
            col, value = toks[1], None
        else:
            return self.wrong_fields(lineno, line, "BOUNDS", n, "4 (type set column value)" if
                                     kind in _BOUND_NEEDS_VALUE else "3 (type set column)")
        if col not in self.cols:
            self.add(lineno, f"BOUNDS names column {col!r}, which has no COLUMNS entry")
        if value is None:
            if kind in _BOUND_NEEDS_VALUE:
                self.add(lineno, f"{kind} bound of {col!r} has no value")
            return
        self.num(lineno, "BOUNDS", value, f"{col} ({kind} bound)", allow_inf=True)

    def quad_line(self, lineno: int, line: str, toks: list[str], section: str) -> None:
        if len(toks) != 3:
            return self.wrong_fields(lineno, line, section, len(toks), "3 (column column value)")
        for c in toks[:2]:
            if c not in self.cols:
                self.add(lineno, f"{section} names column {c!r}, which has no COLUMNS entry")
        self.num(lineno, section, toks[2], f"{toks[0]}/{toks[1]}")


def scan_mps(path: str, text: str) -> MpsScan:
    """Check ``text`` (the whole MPS file) against the grammar above; hard errors raise."""
    s = _Scanner(path)
    section: str | None = None
    ended = 0
    orphan = 0  # first data line with no section of its own (a deleted header)
    handlers = {"ROWS": s.rows_line, "COLUMNS": s.columns_line, "BOUNDS": s.bounds_line}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start a blank one
    for lineno, line in enumerate(lines, 1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line.strip():
            s.blank.append(lineno)
            continue
        if line.startswith("*"):
            continue
        toks = line.split()
        if ended:
            s.add(lineno, f"text after ENDATA (line {ended})")
            break
        if not line[0].isspace():
            section = s.header(lineno, toks)
            if section == "ENDATA":
                ended = lineno
            continue
        if section is None:
            s.add(lineno, "data line before any section header (a header line is missing?)")
            orphan = orphan or lineno
            continue
        if section == "OBJSENSE":
            s.objsense(lineno, toks)
            section = "OBJSENSE_DONE"
        elif section in handlers:
            handlers[section](lineno, line, toks)
        elif section in ("RHS", "RANGES"):
            s.rhs_line(lineno, line, toks, section)
        elif section in ("QUADOBJ", "QMATRIX", "QSECTION"):
            s.quad_line(lineno, line, toks, section)
        elif section == "NAME":
            s.add(lineno, "data line in the NAME section (a section header is missing)")
            orphan = orphan or lineno
        else:
            s.add(lineno, f"data line after {section.replace('_DONE', ' value')}")
    last = max(1, len(lines))
    for need in ("ROWS", "COLUMNS"):
        if need not in s.sections:
            later = [ln for w, ln in s.sections.items() if _ORDER.get(w, 7) > _ORDER[need]]
            s.add(orphan or (min(later) if later else last), f"no {need} section")
    if not ended:
        s.add(last, "no ENDATA line: the file is truncated")
    return MpsScan(s.findings, s.fixed, s.blank, s.sections, s.rows, s.cols)




# --------------------------------------------------------------------------- the fast path
_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMI = rf"(?:{_NUM}|[+-]?[Ii][Nn][Ff](?:[Ii][Nn][Ii][Tt][Yy])?)"
_B = r"[ \t]+"
_END = r"[ \t]*\r?$"
_SKIP = r"[ \t]*\r?$|\*.*$"  # blank and comment lines
_LINE = {
    "ROWS": rf"{_B}[NELGnelg]{_B}\S+{_END}",
    "COLUMNS": rf"{_B}\S+{_B}\S+{_B}{_NUM}(?:{_B}\S+{_B}{_NUM})?{_END}"
               rf"|{_B}\S+{_B}'MARKER'{_B}'(?:INTORG|INTEND)'{_END}",
    "RHS": rf"{_B}\S+{_B}\S+{_B}{_NUMI}(?:{_B}\S+{_B}{_NUMI})?{_END}",
    "RANGES": rf"{_B}\S+{_B}\S+{_B}{_NUMI}(?:{_B}\S+{_B}{_NUMI})?{_END}",
    "BOUNDS": rf"{_B}(?i:UP|LO|FX|LI|UI|SC){_B}\S+{_B}\S+{_B}{_NUMI}{_END}"
              rf"|{_B}(?i:FR|MI|PL|BV|SI){_B}\S+{_B}\S+(?:{_B}{_NUMI})?{_END}",
    "QUAD": rf"{_B}\S+{_B}\S+{_B}{_NUM}{_END}",
}
# every pattern below starts with a literal newline: the regex engine then jumps from line to line
_BAD_LINE = {k: re.compile(rf"(?m)\n(?!(?:{v}|{_SKIP}))[^\n]*") for k, v in _LINE.items()}
_HEADER_LINE = re.compile(r"\n[^\s*][^\n]*")
_FIELDS = re.compile(r"\n[ \t]+(\S+)[ \t]+(\S+)(?:[ \t]+(\S+))?(?:[ \t]+(\S+))?(?:[ \t]+(\S+))?")
_HEADER_ARGS_OK = frozenset({"NAME", "RHS", "RANGES", "BOUNDS", "QSECTION"})


def _finite(tokens: list[str], inf_ok: bool = False) -> bool:
    """True when the (grammar-checked) number tokens neither overflow nor underflow to 0."""
    if not tokens:
        return True
    values = np.asarray(tokens, dtype=float)  # one C loop; the tokens are known to be numbers
    big = ~np.isfinite(values)
    if big.any():
        if not inf_ok:
            return False
        if any(_NUMBER.fullmatch(t) for t in np.asarray(tokens, dtype=object)[big]):
            return False  # a finite literal that overflows (1e400), not the word inf
    zero = np.flatnonzero(values == 0)
    return not any(re.search(r"[1-9]", re.split(r"[eE]", tokens[i])[0]) for i in zero)


def _runs(seq: list[str]) -> int:
    """Number of runs of equal neighbours (1 + the number of changes)."""
    import operator

    return (1 + sum(map(operator.ne, seq[1:], seq[:-1]))) if seq else 0


def fast_clean(text: str) -> bool:
    """True when the whole text certainly has no finding of :func:`scan_mps` (and no NaN, no
    unsupported section), decided by whole-section regular expressions and set operations
    instead of a Python loop over lines; False means "run the line scan" (it gives the
    messages). Used so a well-formed file of 10⁵ columns is checked in a fraction of HiGHS's
    own reading time."""
    text = "\n" + text
    heads = [(m.start(), m.end(), m.group(0).split()) for m in _HEADER_LINE.finditer(text)]
    if not heads or re.search(r"\n[ \t]+\S", text[: heads[0][0]]):
        return False
    words = [h[2][0].upper() for h in heads]
    if words[-1] != "ENDATA" or len(set(words)) != len(words):
        return False
    ranks = [_ORDER.get(w, -1) for w in words]
    if min(ranks) < 0 or ranks != sorted(ranks) or "ROWS" not in words or "COLUMNS" not in words:
        return False
    if sum(w in ("QUADOBJ", "QMATRIX", "QSECTION") for w in words) > 1:
        return False
    bodies: dict[str, str] = {}
    for k, (_start, end, toks) in enumerate(heads):
        word = words[k]
        if len(toks) > 1 and word not in _HEADER_ARGS_OK:
            return False
        stop = heads[k + 1][0] if k + 1 < len(heads) else len(text)
        body = text[end:stop]
        key = "QUAD" if word in ("QUADOBJ", "QMATRIX", "QSECTION") else word
        if key in _BAD_LINE:
            if _BAD_LINE[key].search(body):
                return False
            bodies[key] = body
        elif re.search(r"\n[ \t]+\S", body):  # NAME/OBJSENSE/ENDATA bodies: nothing
            return False
    rows = _FIELDS.findall(bodies["ROWS"])
    row_names = [r[1] for r in rows]
    row_set = set(row_names)
    if len(row_set) != len(row_names):
        return False
    cols = [r for r in _FIELDS.findall(bodies["COLUMNS"]) if r[1] != "'MARKER'"]
    if not _finite([r[2] for r in cols] + [r[4] for r in cols if r[4]]):
        return False
    names = [r[0] for r in cols]
    col_set = set(names)
    if _runs(names) != len(col_set):
        return False
    refs = [r[1] for r in cols] + [r[3] for r in cols if r[3]]
    if not row_set.issuperset(refs):
        return False
    pairs = list(zip(names, (r[1] for r in cols))) + [(r[0], r[3]) for r in cols if r[3]]
    if len(set(pairs)) != len(pairs):
        return False
    for key in ("RHS", "RANGES"):
        if key in bodies:
            ent = _FIELDS.findall(bodies[key])
            if not _finite([r[2] for r in ent] + [r[4] for r in ent if r[4]], inf_ok=True):
                return False
            if len({r[0] for r in ent}) > 1:
                return False
            used = [r[1] for r in ent] + [r[3] for r in ent if r[3]]
            if not row_set.issuperset(used):
                return False
            if key == "RANGES":
                n_rows = {r[1] for r in rows if r[0].upper() == "N"}
                if n_rows.intersection(used):
                    return False
    if "BOUNDS" in bodies:
        ent = _FIELDS.findall(bodies["BOUNDS"])
        if not _finite([r[3] for r in ent if r[3]], inf_ok=True):
            return False
        if len({r[1] for r in ent}) > 1 or not col_set.issuperset(r[2] for r in ent):
            return False
    if "QUAD" in bodies:
        ent = _FIELDS.findall(bodies["QUAD"])
        if not _finite([r[2] for r in ent]):
            return False
        if not col_set.issuperset([r[0] for r in ent] + [r[1] for r in ent]):
            return False
    return True


__all__ = ["Finding", "MpsScan", "fast_clean", "scan_mps"]
