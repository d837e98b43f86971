"""Decomposition of separable LP/QP/MILP: blocks, sub-forms, parallel solve, stitched result."""
from __future__ import annotations

import re
from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

import optkit as ok
from optkit.decompose import decompose, solve_decomposed
from optkit.errors import OptionError, UnsupportedProblemError
from optkit.status import Termination

DOCS = Path(__file__).resolve().parents[1] / "docs"


def separable(kind: str, blocks: int = 8, size: int = 6, seed: int = 0, maximize: bool = False):
    """``blocks`` independent groups of ``size`` variables, each with 2 equality and 3 inequality
    rows (feasible by construction, bounded by the box 0 ≤ x ≤ 10); LP, QP or MILP objective."""
    rng = np.random.default_rng(seed)
    xs, cons, obj = [], [], 0
    for k in range(blocks):
        integer = kind == "milp" and k % 2 == 0
        x = cp.Variable(size, integer=integer, name=f"x{k}")
        feas = rng.integers(1, 4, size).astype(float) if integer else rng.uniform(1, 3, size)
        A = rng.integers(-3, 4, (2, size)).astype(float) if integer else rng.standard_normal((2, size))
        G = rng.standard_normal((3, size))
        cons += [A @ x == A @ feas, G @ x <= G @ feas + rng.uniform(0.1, 1, 3),
                 x >= 0, x <= 10]
        q = rng.standard_normal(size)
        obj = obj + q @ x
        if kind == "qp":
            obj = obj + 0.5 * cp.sum_squares(x - rng.uniform(0, 4, size))
        xs.append(x)
    objective = cp.Maximize(-obj - 2.5) if maximize else cp.Minimize(obj + 2.5)
    return ok.Problem(objective, cons), xs, cons


def _close(a, b, rtol=1e-7, atol=1e-7):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.allclose(a, b, rtol=rtol, atol=atol * (1 + np.abs(b).max(initial=0.0)))


@pytest.mark.parametrize("kind,workers", [("lp", 2), ("qp", 2), ("lp", 1), ("qp", 1)])
def test_separable_problem_matches_the_whole_solve(kind, workers):
    prob, xs, cons = separable(kind)
    whole = ok.solve(prob, "highs")
    res = solve_decomposed(prob, "highs", workers)
    assert whole.termination == Termination.OPTIMAL and res.termination == Termination.OPTIMAL
    assert res.extra["decomposition"] == {"blocks": 8, "components": 8, "workers": workers,
                                          "whole": False}
    assert res.objective == pytest.approx(whole.objective, rel=1e-7)
    assert res.is_solved()
    for x in xs:
        assert _close(res.value(x), whole.value(x))
    for con in cons:
        assert _close(res.dual(con), whole.dual(con)), con
    # the duals are not all zero (the comparison has teeth)
    assert sum(float(np.abs(whole.dual(c)).max()) for c in cons) > 1.0
    # stitched x and y are in the whole form's coordinates
    form = prob.compile("linear").form
    assert res.x.shape == (form.n,) and res.y.shape == (form.m,)
    assert res.objective == pytest.approx(form.objective(res.x), rel=1e-12)
    assert len(res.extra["blocks"]) == 8 and res.message == "all 8 blocks OPTIMAL"


def test_maximisation_is_reported_in_user_units():
    prob, xs, _ = separable("qp", blocks=3, maximize=True)
    whole = ok.solve(prob, "highs")
    res = solve_decomposed(prob, "highs", 1)
    assert whole.objective < 0 and res.objective == pytest.approx(whole.objective, rel=1e-7)
    assert _close(res.value(xs[1]), whole.value(xs[1]))


def test_milp_objective_matches_the_whole_solve():
    prob, xs, _ = separable("milp")
    assert prob.problem_class == "milp"
    whole = ok.solve(prob, "highs", tol=1e-9)
    res = solve_decomposed(prob, "highs", 2, tol=1e-9)
    assert whole.termination == res.termination == Termination.OPTIMAL
    assert res.objective == pytest.approx(whole.objective, rel=1e-7)
    assert res.y is None                      # no duals for a MILP
    x0 = res.value(xs[0])
    assert np.allclose(x0, np.round(x0), atol=1e-6)


def test_one_block_is_solved_whole():
    x = cp.Variable(3, name="x")
    con = [cp.sum(x) == 1, x >= 0, x[0] - x[2] <= 0.2]
    prob = ok.Problem(cp.Minimize(cp.sum_squares(x) + x[1]), con)
    whole = ok.solve(prob, "highs")
    res = solve_decomposed(prob, "highs", 2)
    assert res.extra["decomposition"]["blocks"] == 1 and res.extra["decomposition"]["whole"]
    assert res.objective == pytest.approx(whole.objective, rel=1e-9)
    assert _close(res.dual(con[0]), whole.dual(con[0]))


def _lf(**kw):
    kw.setdefault("lb", None)
    kw.setdefault("ub", None)
    return ok.LinearForm(**kw)


def test_decompose_slices_every_part_of_the_form():
    # blocks {0, 2} (row r0 and Q coupling 0–2), {1, 3} (row r1), {4} alone; row r2 is empty
    A = sp.csr_matrix(np.array([[1.0, 0, 0, 0, 0], [0, 2.0, 0, 3.0, 0], [0, 0, 0, 0, 0]]))
    Q = sp.csr_matrix(np.array([[2.0, 0, 1.0, 0, 0], [0, 0, 0, 0, 0], [1.0, 0, 4.0, 0, 0],
                                [0, 0, 0, 0, 0], [0, 0, 0, 0, 6.0]]))
    form = _lf(c=[1.0, 2, 3, 4, 5], A=A, rl=[0, -1, -np.inf], ru=[1, 1, 1], lb=[0, 0, 0, 0, -1],
               ub=[9, 8, 7, 6, 5], Q=Q, c0=7.0, integrality=[0, 1, 0, 0, 0],
               row_names=["r0", "r1", "r2"], col_names=list("abcde"))
    dec = decompose(form)
    assert len(dec) == 3 and dec.components == 3
    b0, b1, b2 = dec.blocks
    assert b0.columns.tolist() == [0, 2] and b0.rows.tolist() == [0, 2]  # empty row → block 0
    assert b1.columns.tolist() == [1, 3] and b1.rows.tolist() == [1]
    assert b2.columns.tolist() == [4] and b2.rows.tolist() == []
    f0, f1, f2 = b0.form, b1.form, b2.form
    assert f0.Q.toarray().tolist() == [[2.0, 1.0], [1.0, 4.0]] and f1.Q is None
    assert f2.Q.toarray().tolist() == [[6.0]]
    assert f0.A.toarray().tolist() == [[1.0, 0.0], [0.0, 0.0]]
    assert f1.A.toarray().tolist() == [[2.0, 3.0]] and f1.integrality.tolist() == [True, False]
    assert f0.c.tolist() == [1.0, 3.0] and f0.ub.tolist() == [9.0, 7.0] and f0.c0 == 0.0
    assert f0.row_names == ["r0", "r2"] and f1.col_names == ["b", "d"]
    assert f2.lb.tolist() == [-1.0] and f2.m == 0
    # objective of the whole = Σ blocks + c0 at any point; stitch inverts the split
    x = np.arange(5.0) - 1.5
    parts = [x[b.columns] for b in dec.blocks]
    assert np.array_equal(dec.stitch(parts), x)
    assert form.objective(x) == pytest.approx(sum(b.form.objective(p) for b, p in
                                                  zip(dec.blocks, parts)) + 7.0, rel=1e-14)


def test_many_components_are_packed():
    n = 1000  # 1000 free-standing variables x_j ∈ [0, 1], minimise Σ (j mod 3 − 1) x_j
    form = _lf(c=(np.arange(n) % 3) - 1.0, A=sp.csr_matrix((0, n)), rl=[], ru=[],
               lb=0.0, ub=1.0)
    dec = decompose(form, max_blocks=16)
    assert dec.components == n and len(dec) == 16
    assert sorted(np.concatenate([b.columns for b in dec.blocks]).tolist()) == list(range(n))
    res = solve_decomposed(ok.LinearProblem(form=form), "highs", 1, max_blocks=16)
    assert res.extra["decomposition"]["blocks"] == 16
    assert res.objective == pytest.approx(-334.0)   # 334 of j ≡ 0 (mod 3) at x_j = 1


def test_infeasible_block_names_the_block():
    # block 0: x0 + x1 = 1, x ≥ 0 (fine); block 1: x2 ≥ 3 and x2 ≤ 2 (infeasible)
    A = sp.csr_matrix(np.array([[1.0, 1.0, 0], [0, 0, 1.0]]))
    form = _lf(c=[1.0, 2.0, 1.0], A=A, rl=[1.0, 3.0], ru=[1.0, np.inf], lb=0.0,
               ub=[np.inf, np.inf, 2.0])
    res = solve_decomposed(ok.LinearProblem(form=form), "highs", 1)
    assert res.termination == Termination.INFEASIBLE
    assert res.message.startswith("block 1 of 2 (1 variables, 1 rows): INFEASIBLE")
    assert "1 of 2 blocks OPTIMAL" in res.message and res.x is None
    assert [b["termination"] for b in res.extra["blocks"]] == ["OPTIMAL", "INFEASIBLE"]


def test_bad_input_is_refused():
    prob, _, _ = separable("lp", blocks=2)
    with pytest.raises(OptionError):
        solve_decomposed(prob, "highs", 0)
    with pytest.raises(OptionError):
        solve_decomposed(prob, "highs", 1, no_such_option=1)
    nlp = ok.NLP(x0=[1.0, 2.0], f=lambda x: x @ x)
    with pytest.raises(UnsupportedProblemError):
        solve_decomposed(nlp, "highs", 1)
    with pytest.raises(UnsupportedProblemError, match="per-block sub-oracles"):
        decompose(nlp.form())


def test_sketch_newton_stops_on_a_structurally_singular_equality_jacobian():
    # rows 0–2 involve only x0, x1 (three rows, two variables); row 3 involves x2
    nlp = ok.NLP(x0=[1.0, 2.0, 3.0], f=lambda x: x @ x, grad=lambda x: 2 * x,
                 cons=lambda x: np.array([x[0] * x[1] - 2, x[0] + x[1] - 3, x[0] ** 2 - 1, x[2]]),
                 jac=lambda x: np.array([[x[1], x[0], 0], [1.0, 1.0, 0], [2 * x[0], 0, 0],
                                         [0, 0, 1.0]]),
                 hess=lambda x, y: 2 * np.eye(3))
    for solver in ("sketch-newton", "exact-newton"):
        res = ok.solve(nlp, solver)
        assert res.termination == Termination.INVALID_PROBLEM
        assert res.iterations == 0 and res.evaluations.get("hess", 0) == 0
        m = re.match(r"structurally singular equality Jacobian: row (\d) \(of 4 equality rows\) "
                     r"cannot be matched to distinct variables \(structural rank 3 < 4\); "
                     r"over-determined block: rows 0, 1, 2 on 2 variable\(s\) 0, 1", res.message)
        assert m and int(m.group(1)) in (0, 1, 2), res.message


def test_structure_doc_examples_run():
    text = (DOCS / "structure.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "docs/structure.md", "exec"), {"__name__": "structure_doc"})


def test_ok_solve_decompose_flag_goes_through_solve_decomposed():
    prob, _, cons = separable("lp", blocks=3)
    whole = ok.solve(prob, "highs")
    res = ok.solve(prob, "highs", decompose=True, workers=1)
    assert res.extra["decomposition"]["blocks"] == 3 and res.is_solved()
    assert res.objective == pytest.approx(whole.objective, rel=1e-7)
    assert _close(res.dual(cons[4]), whole.dual(cons[4]))
