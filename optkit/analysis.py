"""Structure analysis of a compiled problem with networkx.

The variable–constraint incidence graph has a node per variable and per constraint row and an edge
where the Jacobian (or A) has a structural nonzero; objective coupling (the Hessian pattern of f,
or Q) joins variables too. From it:

- **blocks**: connected components. A problem whose components share nothing is separable and
  its blocks can be solved independently.
- **structural rank** of the Jacobian: a maximum bipartite matching between rows and columns. If it
  is less than m, the Jacobian is singular for *every* value of its entries, and Newton-type methods
  that need full row rank will fail. The unmatched rows are reported.
- **degrees of freedom**: n − structural rank of the equality rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import scipy.sparse as sp


@dataclass
class Structure:
    """What the incidence graph says about a problem."""

    n: int
    m: int
    blocks: list[dict] = field(default_factory=list)  # {"variables": [...], "rows": [...]}
    structural_rank: int = 0
    deficient_rows: list[int] = field(default_factory=list)
    degrees_of_freedom: int = 0

    @property
    def separable(self) -> bool:
        """True when the problem splits into more than one independent block."""
        return len(self.blocks) > 1

    @property
    def structurally_singular(self) -> bool:
        """True when some constraint row cannot be matched to its own variable."""
        return bool(self.deficient_rows)


def _patterns(form, x: np.ndarray | None):
    if hasattr(form, "rl"):  # LinearForm
        J = sp.csr_matrix(form.A)
        H = sp.csr_matrix(form.Q) if form.Q is not None else sp.csr_matrix((form.n, form.n))
        eq = form.rl == form.ru
        return J, H, eq
    x = form.x0 if x is None else x
    saved = dict(form.counts)
    try:
        form.f(x)
        form.grad(x)
        J = form.jac(x) if form.m else sp.csr_matrix((0, form.n))
        H = form.hess(x, np.zeros(form.m), 1.0)
    finally:
        form.counts.update(saved)
    return sp.csr_matrix(J), sp.csr_matrix(H), form.cl == form.cu


def analyse(form, x: np.ndarray | None = None) -> Structure:
    """Blocks, structural rank and degrees of freedom of an NLPForm or LinearForm at x (default x0)."""
    J, H, eq = _patterns(form, x)
    n, m = form.n, J.shape[0]
    Jc = J.tocoo()
    g = nx.Graph()
    g.add_nodes_from(("x", j) for j in range(n))
    g.add_nodes_from(("c", i) for i in range(m))
    g.add_edges_from(zip((("c", int(i)) for i in Jc.row), (("x", int(j)) for j in Jc.col)))
    Hc = sp.triu(H, k=1).tocoo()
    g.add_edges_from(zip((("x", int(i)) for i in Hc.row), (("x", int(j)) for j in Hc.col)))
    blocks = []
    for comp in nx.connected_components(g):
        blocks.append({"variables": sorted(j for t, j in comp if t == "x"),
                       "rows": sorted(i for t, i in comp if t == "c")})
    blocks.sort(key=lambda b: (b["variables"][:1], b["rows"][:1]))
    # maximum matching in the bipartite row–column graph (structural rank)
    bip = nx.Graph()
    rows = [("c", i) for i in range(m)]
    bip.add_nodes_from(rows, bipartite=0)
    bip.add_nodes_from((("x", j) for j in range(n)), bipartite=1)
    bip.add_edges_from(zip((("c", int(i)) for i in Jc.row), (("x", int(j)) for j in Jc.col)))
    matching = nx.bipartite.hopcroft_karp_matching(bip, top_nodes=rows) if m else {}
    matched_rows = {i for (t, i) in matching if t == "c"}
    deficient = [i for i in range(m) if i not in matched_rows]
    eq_rows = np.flatnonzero(eq)
    eq_rank = sum(1 for i in eq_rows if int(i) in matched_rows)
    return Structure(n=n, m=m, blocks=blocks, structural_rank=len(matched_rows),
                     deficient_rows=deficient, degrees_of_freedom=n - eq_rank)
