"""Geometry of an approximated front: neighbour edges, components and the gaps between them.

All functions take normalised objective vectors Ĝ (k × m, minimisation, nondominated rows).

* **Edges.** For m = 2 the front is a curve: the edges join consecutive points in the order of
  Ĝ₁. For m ≥ 3 they are the edges of the symmetric k-nearest-neighbour graph (k = 2(m − 1),
  the neighbours a point has on an (m − 1)-dimensional lattice), found with a KD-tree in
  O(k log k) — a stand-in for the Delaunay triangulation of the front that does not grow
  exponentially with m.
* **Components.** Single linkage: the minimum spanning tree of the edge graph, cut at the edges
  longer than ``factor`` × the median MST edge. A disconnected front (ZDT3: five pieces) shows
  as several components; crowding distance cannot tell a gap between components from a sparse
  stretch of one component, this can.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree


def front_edges(Gn: np.ndarray, k: int | None = None) -> np.ndarray:
    """Index pairs (i, j), i < j, of neighbouring front points; shape (e, 2)."""
    Gn = np.atleast_2d(np.asarray(Gn, float))
    npts, m = Gn.shape
    if npts < 2:
        return np.zeros((0, 2), dtype=int)
    if m == 2:
        order = np.lexsort((Gn[:, 1], Gn[:, 0]))
        pairs = np.column_stack([order[:-1], order[1:]])
    else:
        from scipy.spatial import cKDTree

        kk = min(npts - 1, k if k is not None else 2 * (m - 1))
        _, nb = cKDTree(Gn).query(Gn, k=kk + 1)
        rows = np.repeat(np.arange(npts), kk)
        pairs = np.column_stack([rows, nb[:, 1:].reshape(-1)])
    pairs = np.sort(pairs, axis=1)
    return np.unique(pairs, axis=0)


def edge_lengths(Gn: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Euclidean length ‖Ĝᵢ − Ĝⱼ‖ of each edge."""
    if len(edges) == 0:
        return np.zeros(0)
    return np.linalg.norm(Gn[edges[:, 0]] - Gn[edges[:, 1]], axis=1)


def components(Gn: np.ndarray, factor: float = 4.0) -> tuple[int, np.ndarray]:
    """(number of components, label per point) by single linkage on the front's edge graph.

    An MST edge longer than ``factor`` × the median MST edge separates two components."""
    Gn = np.atleast_2d(np.asarray(Gn, float))
    npts = len(Gn)
    if npts < 3:
        return (npts if npts else 0), np.arange(npts)
    edges = front_edges(Gn)
    length = edge_lengths(Gn, edges)
    # zero-length edges (duplicates) would vanish from a sparse matrix: lift them slightly
    w = np.maximum(length, 1e-300)
    graph = sp.coo_matrix((w, (edges[:, 0], edges[:, 1])), shape=(npts, npts)).tocsr()
    mst = minimum_spanning_tree(graph).tocoo()
    if mst.nnz == 0:
        return 1, np.zeros(npts, dtype=int)
    cut = factor * float(np.median(mst.data))
    keep = mst.data <= cut
    tree = sp.coo_matrix((mst.data[keep], (mst.row[keep], mst.col[keep])), shape=(npts, npts))
    count, labels = connected_components(tree, directed=False)
    return int(count), labels


__all__ = ["front_edges", "edge_lengths", "components"]
