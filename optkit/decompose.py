"""Split a separable LP/QP/MILP into independent blocks and solve them in parallel.

For a LinearForm

    minimize cᵀx + ½xᵀQx + c0  s.t.  rl <= Ax <= ru,  lb <= x <= ub,  x_j ∈ Z (j ∈ I),

let the blocks be the connected components of the graph on the variables in which j ~ k when a
row of A has structural entries in both columns or Q_jk is structural
(:func:`optkit.analysis.blocks_of`). With P_k the columns and R_k the rows of block k (each row's
columns lie in one block), the problem is the direct sum of

    minimize c_kᵀx_k + ½x_kᵀQ_kx_k  s.t.  rl_k <= A_k x_k <= ru_k,  lb_k <= x_k <= ub_k,  x_k ∈ Z^{I_k},

with A_k = A[R_k, P_k], Q_k = Q[P_k, P_k]: the objective is Σ_k f_k(x_k) + c0, x* = (x*_k) and the
KKT system (c + Qx + Aᵀy + z = 0 and complementarity, L = f + yᵀAx) is the union of the blocks'
systems, so the row multipliers y_k of the blocks stitched together are multipliers of the whole.
A row with no structural entry belongs to no variable's block; such rows go with block 0.

Only LinearForms are decomposed. An NLPForm's blocks are reported by
:func:`optkit.analysis.analyse`, but its oracles evaluate the whole vector: a sub-form for block k
would evaluate f and c at the full x with the other blocks frozen, every call O(n), so K blocks
cost K times one whole evaluation — not linear time, and not done here.

Parallelism: blocks are pickled as LinearForms to a pool of ``workers`` processes (forked from
optkit's fork server, a clean interpreter with optkit and HiGHS preloaded, so no solver thread
state of the caller is inherited) and each is solved through the public
``optkit.solve(optkit.LinearProblem(form=block), solver, **options)``. With one worker the blocks
are solved one after the other in this process.
"""
from __future__ import annotations

import importlib
import multiprocessing as mp
import sys
import time
import types
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .analysis import blocks_of
from .errors import OptionError, UnsupportedProblemError
from .ir.linear_form import LinearForm
from .results import Result
from .status import PrimalStatus, Termination

MAX_BLOCKS = 64  # more components than this are packed into this many sub-forms

# best → worst, for the stitched termination (names, so members added later still rank)
_SEVERITY = ["OPTIMAL", "LOCALLY_OPTIMAL", "ALMOST_OPTIMAL", "ALMOST_LOCALLY_OPTIMAL",
             "OBJECTIVE_LIMIT", "SOLUTION_LIMIT", "NODE_LIMIT", "ITERATION_LIMIT",
             "EVALUATION_LIMIT", "TIME_LIMIT", "MEMORY_LIMIT", "OTHER_LIMIT", "INTERRUPTED",
             "NUMERICAL_ERROR", "ERROR", "INVALID_PROBLEM", "INFEASIBLE_OR_UNBOUNDED", "UNBOUNDED",
             "LOCALLY_INFEASIBLE", "INFEASIBLE"]


def _severity(term: Termination) -> int:
    name = getattr(term, "value", str(term))
    return _SEVERITY.index(name) if name in _SEVERITY else _SEVERITY.index("ERROR")


@dataclass
class Block:
    """One independent part: its columns and rows in the whole form, and its own LinearForm."""

    index: int
    columns: np.ndarray
    rows: np.ndarray
    form: LinearForm

    @property
    def work(self) -> int:
        """n + m + nnz, the scheduling weight."""
        return int(self.form.n + self.form.m + self.form.A.nnz
                   + (self.form.Q.nnz if self.form.Q is not None else 0))


@dataclass
class Decomposition:
    """The blocks of a LinearForm (``components`` counts connected components before packing)."""

    form: LinearForm
    blocks: list[Block]
    components: int
    col_perm: np.ndarray = field(repr=False)
    row_perm: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.blocks)

    def stitch(self, parts: list[np.ndarray], rows: bool = False) -> np.ndarray:
        """The whole vector from per-block vectors (x by columns, or y by rows), by one scatter."""
        perm = self.row_perm if rows else self.col_perm
        out = np.empty(perm.size)
        out[perm] = np.concatenate(parts) if parts else np.zeros(0)
        return out


def _pack(labels_v: np.ndarray, labels_r: np.ndarray, weight: np.ndarray, k: int,
          max_blocks: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Merge k components into ≤ max_blocks parts of about equal weight (contiguous runs of the
    cumulative weight, one vectorised pass); returns relabelled variables, rows and the count."""
    if k <= max_blocks:
        return labels_v, labels_r, k
    cum = np.cumsum(weight) - weight
    part = np.minimum((cum * max_blocks) // max(int(weight.sum()), 1), max_blocks - 1)
    _, part = np.unique(part, return_inverse=True)
    return part[labels_v], part[labels_r], int(part.max()) + 1


def decompose(form: LinearForm, max_blocks: int | None = MAX_BLOCKS) -> Decomposition:
    """Independent blocks of a LinearForm, each with its sub-form (c0 = 0, sense = +1: the data of
    the minimisation); linear time in n + m + nnz(A) + nnz(Q).

    Rows without structural entries join block 0. When there are more than ``max_blocks``
    components (e.g. many free-standing variables) they are packed into ``max_blocks`` sub-forms,
    each still a direct sum of whole components.
    """
    if not isinstance(form, LinearForm):
        raise UnsupportedProblemError(
            f"decompose takes a LinearForm (LP/QP/MILP), got {type(form).__name__}: an NLPForm's "
            "oracles evaluate the whole vector, so per-block sub-oracles would not be linear time "
            "(its blocks are reported by optkit.analysis.analyse)")
    n, m = form.n, form.m
    H = form.Q if form.Q is not None else sp.csr_matrix((n, n))
    vb, rb, _ = blocks_of(form.A, H, n)
    k_var = int(vb.max()) + 1 if n else 0
    if k_var == 0:  # no variables: one (empty) block
        rb, k_var = np.zeros(m, dtype=np.int64), 1
    rb = np.where(rb >= k_var, 0, rb)  # rows of no variable go with block 0
    weight = (np.bincount(vb, minlength=k_var) + np.bincount(rb, minlength=k_var)
              + np.bincount(rb, weights=np.diff(form.A.indptr), minlength=k_var).astype(np.int64))
    vb, rb, kb = _pack(vb, rb, weight, k_var, max_blocks or k_var)

    col_perm = np.argsort(vb, kind="stable")
    row_perm = np.argsort(rb, kind="stable")
    col_off = np.concatenate([[0], np.cumsum(np.bincount(vb, minlength=kb))])
    row_off = np.concatenate([[0], np.cumsum(np.bincount(rb, minlength=kb))])
    inv_col = np.empty(n, dtype=np.int64)
    inv_col[col_perm] = np.arange(n)
    # A with rows and columns in block order: block k is the diagonal tile [row_off[k]:, col_off[k]:]
    Ar = form.A[row_perm]
    Ar_idx = inv_col[Ar.indices]
    Qp = Qp_idx = None
    if form.Q is not None:
        Qp = form.Q[col_perm]
        Qp_idx = inv_col[Qp.indices]
    names_c = None if form.col_names is None else np.asarray(form.col_names, dtype=object)
    names_r = None if form.row_names is None else np.asarray(form.row_names, dtype=object)

    blocks = []
    for b in range(kb):
        c0, c1, r0, r1 = col_off[b], col_off[b + 1], row_off[b], row_off[b + 1]
        cols, rows = col_perm[c0:c1], row_perm[r0:r1]
        s, e = Ar.indptr[r0], Ar.indptr[r1]
        Ab = sp.csr_matrix((Ar.data[s:e], Ar_idx[s:e] - c0, Ar.indptr[r0:r1 + 1] - s),
                           shape=(r1 - r0, c1 - c0))
        Qb = None
        if Qp is not None and Qp_idx is not None:
            qs, qe = Qp.indptr[c0], Qp.indptr[c1]
            Qb = sp.csr_matrix((Qp.data[qs:qe], Qp_idx[qs:qe] - c0, Qp.indptr[c0:c1 + 1] - qs),
                               shape=(c1 - c0, c1 - c0))
        sub = LinearForm(c=form.c[cols], A=Ab, rl=form.rl[rows], ru=form.ru[rows],
                         lb=form.lb[cols], ub=form.ub[cols], Q=Qb, c0=0.0,
                         integrality=form.integrality[cols], sense=1,
                         name=f"{form.name}[block {b}]",
                         col_names=None if names_c is None else names_c[cols].tolist(),
                         row_names=None if names_r is None else names_r[rows].tolist(),
                         source=form.source,
                         x0=None if form.x0 is None else np.asarray(form.x0, float)[cols])
        blocks.append(Block(b, cols, rows, sub))
    return Decomposition(form, blocks, k_var, col_perm, row_perm)


# ---------------------------------------------------------------------- solving the blocks
def _solve_block(sub: LinearForm, solver: str | None, options: dict) -> dict:
    """Solve one block through the public ok.solve (run in a worker process or in-process)."""
    import optkit

    t0, c0 = time.perf_counter(), time.process_time()
    res = optkit.solve(optkit.LinearProblem(form=sub), solver, **options)
    return {"termination": res.termination, "primal_status": res.primal_status,
            "x": res.x, "y": res.y, "objective": res.objective, "iterations": res.iterations,
            "nodes": getattr(res, "nodes", None), "dual_bound": getattr(res, "dual_bound", None),
            "message": res.message, "solver": res.solver, "solver_version": res.solver_version,
            "time": time.perf_counter() - t0, "cpu": time.process_time() - c0}


def _pool_context():
    """optkit's fork-server context (shared with the batch runner), or a plain one."""
    try:
        from .batch.executors import _forkserver_context

        return _forkserver_context(["optkit.decompose"])
    except Exception:
        return mp.get_context("forkserver")


def solve_blocks(dec: Decomposition, solver: str | None, workers: int, options: dict) -> list[dict]:
    """Per-block outcomes (in block order); largest blocks are submitted first."""
    order = sorted(range(len(dec.blocks)), key=lambda b: -dec.blocks[b].work)
    out: list[dict | None] = [None] * len(dec.blocks)
    if workers <= 1:
        for b in order:
            out[b] = _solve_block(dec.blocks[b].form, solver, options)
        return out  # type: ignore[return-value]
    main = sys.modules["__main__"]
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
        # workers must not re-run the caller's script (non-fork children re-import __main__):
        # hide it while the pool starts its processes (they start inside the first submit)
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            futures = {b: pool.submit(_solve_block, dec.blocks[b].form, solver, options)
                       for b in order}
        finally:
            sys.modules["__main__"] = main
        for b, fut in futures.items():
            try:
                out[b] = fut.result()
            except Exception as exc:
                out[b] = {"termination": Termination.ERROR, "primal_status": PrimalStatus.NO_SOLUTION,
                          "x": None, "y": None, "objective": None, "iterations": None,
                          "nodes": None, "dual_bound": None, "solver": solver or "",
                          "solver_version": "", "time": None, "cpu": None,
                          "message": f"the worker solving this block failed: "
                                     f"{type(exc).__name__}: {exc}"}
    return out  # type: ignore[return-value]


def _verdict(dec: Decomposition, outs: list[dict]) -> tuple[Termination, str]:
    """Stitched termination: OPTIMAL only when every block is; otherwise the worst block's,
    except that an unbounded block is reported INFEASIBLE_OR_UNBOUNDED while another block has no
    feasible point (the whole is unbounded only if every other block is feasible)."""
    K = len(outs)
    terms = [o["termination"] for o in outs]
    worst = max(range(K), key=lambda b: (_severity(terms[b]), -b))
    term = terms[worst]
    if all(t == Termination.OPTIMAL for t in terms):
        return Termination.OPTIMAL, f"all {K} blocks OPTIMAL"
    if term == Termination.UNBOUNDED and any(
            o["x"] is None for b, o in enumerate(outs)
            if b != worst and o["termination"] != Termination.UNBOUNDED):
        term = Termination.INFEASIBLE_OR_UNBOUNDED
    blk = dec.blocks[worst].form
    same = [b for b in range(K) if terms[b] == terms[worst] and b != worst]
    others = "" if not same else (f" (also block{'s' if len(same) > 1 else ''} "
                                  f"{', '.join(map(str, same[:10]))}{', …' if len(same) > 10 else ''})")
    n_ok = sum(t == Termination.OPTIMAL for t in terms)
    msg = (f"block {worst} of {K} ({blk.n} variables, {blk.m} rows): {terms[worst]}{others}"
           f"{': ' + outs[worst]['message'] if outs[worst]['message'] else ''}; "
           f"{n_ok} of {K} blocks OPTIMAL")
    return term, msg


def stitch(dec: Decomposition, outs: list[dict]) -> Result:
    """One Result for the whole form from the blocks' outcomes (x, y in form coordinates;
    objective in user units = sense·(Σ_k f_k + c0))."""
    form = dec.form
    term, msg = _verdict(dec, outs)
    have_x = all(o["x"] is not None for o in outs)
    x = dec.stitch([np.asarray(o["x"], float) for o in outs]) if have_x else None
    have_y = have_x and all(o["y"] is not None for o in outs)
    y = dec.stitch([np.asarray(o["y"], float) for o in outs], rows=True) if have_y else None
    objective = None
    if have_x and all(o["objective"] is not None for o in outs):
        objective = float(form.sense * (sum(float(o["objective"]) for o in outs) + form.c0))
    its = [o["iterations"] for o in outs if o["iterations"] is not None]
    nodes = [o["nodes"] for o in outs if o.get("nodes") is not None]
    res = Result(termination=term, x=x, y=y, objective=objective,
                 iterations=int(sum(its)) if its else None, message=msg,
                 solver=next((o["solver"] for o in outs if o["solver"]), ""),
                 solver_version=next((o["solver_version"] for o in outs if o["solver_version"]), ""))
    if nodes and hasattr(res, "nodes"):
        res.nodes = int(sum(nodes))
    bounds = [o.get("dual_bound") for o in outs]
    if form.is_mip and all(bd is not None and np.isfinite(bd) for bd in bounds) and \
            hasattr(res, "dual_bound"):
        total = sum(float(bd) for bd in bounds if bd is not None)
        res.dual_bound = float(form.sense * (total + form.c0))  # Σ of minimisation bounds
    res.extra["blocks"] = [
        {"block": b, "variables": blk.form.n, "rows": blk.form.m,
         "termination": str(o["termination"]), "objective": o["objective"],
         "iterations": o["iterations"], "time": o["time"], "cpu": o.get("cpu")}
        for b, (blk, o) in enumerate(zip(dec.blocks, outs))]
    return res


def _measure(res: Result, form: LinearForm, opts: Any) -> None:
    """optkit's own measurement of the stitched point on the whole form (the solve pipeline's)."""
    measure = importlib.import_module("optkit.solving").measure
    try:
        measure(res, form, opts)
    except TypeError:  # an older two-argument measure
        measure(res, form)


def solve_decomposed(model, solver: str | None = None, workers: int | None = None, *,
                     max_blocks: int | None = MAX_BLOCKS, **options: Any) -> Result:
    """Solve a separable LP/QP/MILP block by block, in ``workers`` processes.

    ``model`` is an ok.Problem, ok.LinearProblem, a cvxpy problem or an MPS/LP path; it is compiled
    with ``model.compile("linear")``, split by :func:`decompose`, each block is solved by
    ``optkit.solve(optkit.LinearProblem(form=block), solver, **options)`` (so ``time_limit`` and
    the other options apply per block; ``x0`` is not passed on), and x, the row duals y and the
    objective Σ_k f_k + c0 are stitched into one Result for the whole form, measured by optkit on
    the whole form and bound with ``model.bind`` (``value(var)``, ``dual(con)`` as in a whole
    solve). ``workers`` defaults to min(2, blocks). A model with one block is solved whole by
    ``optkit.solve(model, solver, **options)``.

    Termination: OPTIMAL only if every block is OPTIMAL; otherwise the worst block's status, with
    a message naming the block (``extra["blocks"]`` lists every block's outcome).
    """
    import optkit

    from . import registry
    from .modeling import LinearProblem
    from .options import SolveOptions

    t0 = time.perf_counter()
    model = importlib.import_module("optkit.solving").as_model(model)
    if getattr(model, "problem_class", "") not in ("lp", "qp", "milp", "miqp"):
        raise UnsupportedProblemError(
            f"decomposition solves LP, QP and MILP models (a LinearForm); this model is "
            f"{getattr(model, 'problem_class', type(model).__name__)!r}")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool)
                                or workers < 1):
        raise OptionError(f"workers must be a positive integer, got {workers!r}")
    compiled = model.compile("linear")
    form = compiled.form
    whole = LinearProblem(form=form)
    backend = registry.get(solver) if solver is not None else registry.choose(whole)
    registry.check(backend, whole)
    opts = SolveOptions.build(backend.name, backend.options, options)  # bad options raise here
    dec = decompose(form, max_blocks=max_blocks)
    t1 = time.perf_counter()
    if len(dec) == 1:
        res = optkit.solve(model, solver, **options)
        res.extra["decomposition"] = {"blocks": 1, "components": dec.components, "workers": 0,
                                      "whole": True}
        return res
    sub_options = {k: v for k, v in options.items() if k != "x0"}
    nw = min(2, len(dec)) if workers is None else min(workers, len(dec))
    outs = solve_blocks(dec, backend.name, nw, sub_options)
    t2 = time.perf_counter()
    res = stitch(dec, outs)
    _measure(res, form, opts)
    model.bind(res, compiled)
    res.extra["decomposition"] = {"blocks": len(dec), "components": dec.components,
                                  "workers": nw, "whole": False}
    res.timings.update({"build": t1 - t0, "solve": t2 - t1,
                        "total": time.perf_counter() - t0})
    return res
