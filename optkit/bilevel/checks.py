"""Refusal of non-finite data with the entry named, for the models that are not ``ok.Problem``.

The rule is the single-level one (``ok.Problem``): a NaN or ±inf in any constant or parameter value
of an objective or constraint is an error raised at construction, as a
:class:`~optkit.errors.DataError` whose ``source`` names the piece of the model (e.g. "lower level
constraint 0 (y >= x)") and ``entry`` the index of the first bad entry. Sparse constants are
checked on their stored values (``.data``), never densified: an n×n sparse matrix costs O(nnz).
A parameter without a value is refused too (the model could not be evaluated).
"""
from __future__ import annotations

from typing import Any
from collections.abc import Iterable

import numpy as np

from ..errors import DataError, InvalidProblemError
from ..modeling.checks import first_nonfinite


def check_constants(pieces: Iterable[tuple[str, Any]]) -> None:
    """Raise DataError for the first NaN/±inf constant or parameter value among ``pieces``
    (pairs ``(where, cvxpy expression or constraint)``); InvalidProblemError for a parameter
    without a value."""
    from cvxpy import Parameter

    for where, expr in pieces:  # where: e.g. "lower level constraint 0"
        for const in list(expr.constants()) + list(expr.parameters()):
            is_param = isinstance(const, Parameter)
            val = const.value
            if val is None:
                if is_param:
                    raise InvalidProblemError(f"{where}: parameter {const.name()} has no value")
                continue
            bad = first_nonfinite(val)
            if bad is not None:
                idx, v = bad
                kind = "parameter " + const.name() if is_param else "a constant"
                text = str(expr)
                shown = text if len(text) <= 80 else text[:77] + "..."
                raise DataError(f"{kind} has {v} at index {idx} (in {shown})",
                                source=where, entry=str(idx))


def check_vector(value: Any, what: str, allow_inf: bool = False) -> None:
    """DataError naming ``what`` and the entry when ``value`` holds NaN (or ±inf unless allowed)."""
    arr = np.asarray(value, dtype=float)
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        entry = idx if len(idx) != 1 else idx[0]
        raise DataError(f"entry {entry} is {arr[idx]}" + ("" if allow_inf else
                        " (a finite number is needed)"), source=what, entry=str(entry))
