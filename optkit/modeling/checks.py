"""Finding the first non-finite entry of model data, one rule for every model type.

``first_nonfinite(value)`` returns (index, value) of the first NaN/±inf entry of a dense or
sparse value, or None. Sparse values are checked on their stored entries only (``.data``:
O(nnz), never densified); integer and boolean arrays are finite by construction.
"""
from __future__ import annotations

import numpy as np


def first_nonfinite(val) -> tuple[tuple[int, ...], float] | None:
    """(index, value) of the first NaN/±inf entry of a constant's value, or None when all finite.

    Sparse values are checked on their stored entries only (``.data``: O(nnz), never densified);
    the index of a bad stored entry is recovered from the sparse structure only when one exists.
    """
    if hasattr(val, "tocoo") and hasattr(val, "data"):  # scipy.sparse matrix or array
        data = np.asarray(val.data)
        if data.size == 0 or np.isfinite(data).all():
            return None
        coo = val.tocoo()
        k = int(np.flatnonzero(~np.isfinite(coo.data))[0])
        return (int(coo.row[k]), int(coo.col[k])), float(coo.data[k])
    arr = np.asarray(val)
    if arr.dtype.kind in "biu":  # integers and booleans are always finite
        return None
    if arr.dtype.kind == "c":
        finite = np.isfinite(arr)
    else:
        arr = np.asarray(arr, dtype=float)
        finite = np.isfinite(arr)
    if finite.all():
        return None
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmin(finite.ravel())), arr.shape))
    return idx, arr[idx] if arr.ndim else arr.item()
