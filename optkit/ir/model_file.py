"""Read MPS and CPLEX-LP files into a LinearForm (HiGHS's reader, our checks).

HiGHS reads NaN coefficients silently (and then reports "Optimal"), so the text is scanned first:
a NaN or inf in a numeric field, quadratic constraints (QCMATRIX / bracketed terms after
"subject to"), or an unreadable file becomes an error naming the file and the entry.
"""
from __future__ import annotations

import math
import os
import re

import numpy as np
import scipy.sparse as sp

from ..errors import DataError, ReadError, UnsupportedProblemError
from .linear_form import LinearForm

_MPS_NUMERIC_FIELDS = {"COLUMNS": (2, 4), "RHS": (2, 4), "RANGES": (2, 4), "BOUNDS": (3,)}
_UNSUPPORTED_MPS = {"QCMATRIX": "quadratic constraints", "CSECTION": "conic constraints",
                    "INDICATORS": "indicator constraints", "SOS": "SOS constraints"}
_BAD_NUMBER = re.compile(r"(?i)^[+-]?(nan|inf|infinity)$")


def _scan_mps(path: str, text: str) -> None:
    section = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("*"):
            continue
        if not line[0].isspace():
            section = line.split()[0].upper()
            if section in _UNSUPPORTED_MPS:
                raise UnsupportedProblemError(f"{path}: line {lineno}: section {section} "
                                              f"({_UNSUPPORTED_MPS[section]}) is unsupported by "
                                              f"the MPS/LP path (LP, MILP and convex QP only)")
            continue
        toks = line.split()
        for k in _MPS_NUMERIC_FIELDS.get(section, ()):
            if k < len(toks) and _BAD_NUMBER.match(toks[k]):
                if section == "BOUNDS" and toks[k].lower().lstrip("+-").startswith("inf"):
                    continue  # infinite bounds are legitimate
                where = f"{toks[0]}/{toks[k - 1]}" if section != "BOUNDS" else f"{toks[2]} ({toks[0]} bound)"
                raise DataError(f"line {lineno}: {section} entry {where} is {toks[k]!r}, "
                                f"not a finite number", path, f"{section} {where}")


def _scan_lp(path: str, text: str) -> None:
    lower = text.lower()
    m = re.search(r"(?im)^\s*(subject\s+to|such\s+that|st|s\.t\.)\s*$", text)
    if m:
        end = re.search(r"(?im)^\s*(bounds?|general|generals|gen|binary|binaries|bin|semi|end)\s*$",
                        text[m.end():])
        body = text[m.end(): m.end() + end.start()] if end else text[m.end():]
        if "[" in body:
            line = text[: m.end()].count("\n") + body[: body.index("[")].count("\n") + 1
            raise UnsupportedProblemError(f"{path}: line {line}: quadratic constraints are "
                                          f"unsupported by the MPS/LP path (LP, MILP and convex QP only)")
    for lineno, line in enumerate(lower.splitlines(), 1):
        if re.search(r"(?<![\w.])[+-]?nan(?![\w.])", line):
            raise DataError(f"line {lineno}: a coefficient is NaN", path, f"line {lineno}")


def read_model_file(path: str | os.PathLike) -> LinearForm:
    """Read an MPS (free or fixed) or CPLEX-LP file; raise ReadError/DataError/UnsupportedProblemError."""
    import highspy

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ReadError(f"{path}: no such file")
    with open(path, "rb") as fh:
        raw = fh.read()
    text = raw.decode("latin-1")
    if b"\x00" in raw[:4096]:
        raise ReadError(f"{path}: binary data, not an MPS or LP file")
    if path.lower().endswith((".lp", ".lp.gz")):
        _scan_lp(path, text)
    else:
        _scan_mps(path, text)
    from ..native import new_highs, quiet_stdout

    h = new_highs()
    with quiet_stdout():
        status = h.readModel(path)
    if status == highspy.HighsStatus.kError:
        raise ReadError(f"{path}: not a readable MPS or LP file (HiGHS's reader rejected it)")
    lp = h.getLp()
    n, m = lp.num_col_, lp.num_row_
    a = lp.a_matrix_
    if n == 0 and m == 0 and len(text.strip()) > 0 and "ENDATA" not in text.upper() \
            and not path.lower().endswith(".lp"):
        raise ReadError(f"{path}: no model found (not an MPS file)")
    shape = (m, n)
    if a.format_ == highspy.MatrixFormat.kRowwise:
        A = sp.csr_matrix((a.value_, a.index_, a.start_), shape=shape)
    else:
        A = sp.csc_matrix((np.asarray(a.value_, float), np.asarray(a.index_), np.asarray(a.start_)),
                          shape=shape).tocsr()
    hess = h.getModel().hessian_
    Q = None
    if hess.dim_ > 0 and len(hess.value_):
        L = sp.csc_matrix((hess.value_, hess.index_, hess.start_), shape=(n, n))
        Q = (L + L.T - sp.diags(L.diagonal())).tocsr()
    inf = h.getInfinity()

    def fix(v):
        v = np.asarray(v, float)
        v[v >= inf] = np.inf
        v[v <= -inf] = -np.inf
        return v

    integ = np.asarray(lp.integrality_, dtype=int) if len(lp.integrality_) else np.zeros(n, int)
    sense = -1 if lp.sense_ == highspy.ObjSense.kMaximize else 1
    c = np.asarray(lp.col_cost_, float)
    offset = float(lp.offset_)
    if sense < 0:  # store the minimisation
        c, offset = -c, -offset
        Q = -Q if Q is not None else None
    name = os.path.splitext(os.path.basename(path))[0]
    return LinearForm(c=c, A=A, rl=fix(lp.row_lower_), ru=fix(lp.row_upper_), lb=fix(lp.col_lower_),
                      ub=fix(lp.col_upper_), Q=Q, c0=offset, integrality=integ != 0, sense=sense,
                      name=name, col_names=list(lp.col_names_) or None,
                      row_names=list(lp.row_names_) or None, source=path)


__all__ = ["read_model_file", "math"]
