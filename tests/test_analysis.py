"""Structure analysis: blocks, structural rank, degrees of freedom."""
import numpy as np
import pytest
import scipy.sparse as sp

import optkit as ok
from optkit.analysis import analyse, match, singular_equality_message


def test_separable_linear_problem_splits_into_blocks():
    A = sp.csr_matrix(np.array([[1.0, 1.0, 0, 0], [0, 0, 1.0, 1.0]]))
    lp = ok.LinearProblem(c=np.ones(4), A=A, rl=[1, 1], ru=[1, 1], lb=0, ub=5)
    s = analyse(lp.form)
    assert s.separable and len(s.blocks) == 2
    assert s.blocks[0] == {"variables": [0, 1], "rows": [0]}
    assert s.degrees_of_freedom == 2 and not s.structurally_singular


def test_structurally_singular_jacobian_is_found():
    # three equality rows that only involve two variables: rank ≤ 2 for any values
    nlp = ok.NLP(x0=[1.0, 1.0, 1.0], f=lambda x: x @ x,
                 cons=lambda x: np.array([x[0] * x[1] - 1, x[0] + x[1] - 2, x[0] ** 2 - 1]),
                 jac=lambda x: np.array([[x[1], x[0], 0], [1.0, 1.0, 0], [2 * x[0], 0, 0]]))
    s = analyse(nlp.form())
    assert s.structural_rank == 2 and len(s.deficient_rows) == 1
    assert s.degrees_of_freedom == 1


def test_objective_coupling_joins_blocks():
    nlp = ok.NLP(x0=[1.0, 2.0], f=lambda x: x[0] * x[1], grad=lambda x: np.array([x[1], x[0]]),
                 hess=lambda x, y: np.array([[0.0, 1.0], [1.0, 0.0]]))
    s = analyse(nlp.form())
    assert len(s.blocks) == 1 and s.degrees_of_freedom == 2


# ---------------------------------------------------------------------------- csgraph rewrite

def _components_by_union_find(P: np.ndarray, H: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """Independent check: union–find over variables (0..n−1) and rows (n..n+m−1)."""
    m, n = P.shape
    parent = list(range(n + m))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in zip(*np.nonzero(P)):
        parent[find(n + i)] = find(j)
    for j, k in zip(*np.nonzero(H)):
        if j != k:
            parent[find(j)] = find(k)
    groups: dict[int, tuple[list, list]] = {}
    for v in range(n + m):
        g = groups.setdefault(find(v), ([], []))
        (g[0] if v < n else g[1]).append(v if v < n else v - n)
    return sorted(((sorted(a), sorted(b)) for a, b in groups.values()),
                  key=lambda t: (not t[0], t[0][:1], t[1][:1]))


def _generic_rank(P: np.ndarray, rng) -> int:
    """Rank of random values on the pattern: equals the structural rank with probability 1."""
    if P.size == 0:
        return 0
    return int(np.linalg.matrix_rank(np.where(P, rng.standard_normal(P.shape), 0.0)))


@pytest.mark.parametrize("seed", range(25))
def test_csgraph_results_match_independent_checks_on_random_patterns(seed):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    P = rng.random((m, n)) < rng.uniform(0.05, 0.4)
    H = rng.random((n, n)) < 0.05
    H = H | H.T
    eq = rng.random(m) < 0.7
    rl = np.where(eq, 1.0, -np.inf)
    A = sp.csr_matrix(np.where(P, rng.uniform(1, 2, P.shape), 0.0))
    Q = sp.csr_matrix(np.where(H, 0.1, 0.0) + 10 * np.eye(n))  # Q ⪰ 0, off-diagonal pattern H
    s = analyse(ok.LinearForm(c=np.zeros(n), A=A, rl=rl, ru=np.ones(m), lb=None, ub=None, Q=Q))
    # blocks = connected components by union–find
    want = _components_by_union_find(P, H)
    assert [(b["variables"], b["rows"]) for b in s.blocks] == want
    assert s.n_blocks == len(want)
    # structural ranks = generic numerical ranks
    E = P[eq]
    assert s.structural_rank == _generic_rank(P, rng)
    assert s.equality_rank == _generic_rank(E, rng)
    assert s.degrees_of_freedom == n - _generic_rank(E, rng)
    assert len(s.deficient_rows) == int(eq.sum()) - s.equality_rank
    assert set(s.deficient_rows) <= set(np.flatnonzero(eq).tolist())
    # D–M over-determined rows = the equality rows whose removal keeps the rank (rows some
    # maximum matching leaves unmatched)
    r = _generic_rank(E, rng)
    eq_rows = np.flatnonzero(eq)
    over = [int(eq_rows[i]) for i in range(E.shape[0])
            if _generic_rank(np.delete(E, i, axis=0), rng) == r and r < E.shape[0]]
    assert s.overdetermined_rows == over
    cols = sorted(set(np.nonzero(P[s.overdetermined_rows])[1].tolist())) if over else []
    assert s.overdetermined_variables == cols
    assert len(s.overdetermined_rows) > len(s.overdetermined_variables) or not over


def test_degrees_of_freedom_do_not_depend_on_row_order():
    # x = 1 and x ≤ 5 on one variable: one equality fixes x, 0 degrees of freedom, in both orders
    one = sp.csr_matrix(np.array([[1.0], [1.0]]))
    for rl, ru in (([1.0, -np.inf], [1.0, 5.0]), ([-np.inf, 1.0], [5.0, 1.0])):
        s = analyse(ok.LinearForm(c=[1.0], A=one, rl=rl, ru=ru, lb=None, ub=None))
        assert s.degrees_of_freedom == 0 and s.equality_rank == 1 and s.structural_rank == 1
        assert not s.structurally_singular
    # a wider case: 2 variables, eq row x0 + x1 = 1, inequalities x0 ≤ 1, x1 ≤ 1 in any position
    A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    for perm in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        eq = np.array([False, False, True])[perm]
        s = analyse(ok.LinearForm(c=[1.0, 1.0], A=A[perm], rl=np.where(eq, 1.0, -np.inf), ru=1.0,
                                  lb=None, ub=None))
        assert s.degrees_of_freedom == 1 and s.structural_rank == 2


def test_singular_rows_are_named():
    # rows e1, e2, e3 involve only x0, x1: one of them cannot be matched; e4 is fine
    A = sp.csr_matrix(np.array([[1.0, 1, 0, 0], [1, -1, 0, 0], [2, 0, 0, 0], [0, 0, 1, 1]]))
    names = ["e1", "e2", "e3", "e4"]
    form = ok.LinearForm(c=np.zeros(4), A=A, rl=[1, 0, 2, 3], ru=[1, 0, 2, 3], lb=None, ub=None,
                         row_names=names)
    s = analyse(form)
    assert s.structurally_singular and s.equality_rank == 3 and s.degrees_of_freedom == 1
    assert len(s.deficient_rows) == 1 and s.deficient_rows[0] in (0, 1, 2)
    assert s.overdetermined_rows == [0, 1, 2] and s.overdetermined_variables == [0, 1]
    msg = s.singularity_message()
    assert msg == singular_equality_message(form)
    assert msg.startswith(f"structurally singular equality Jacobian: row "
                          f"'{names[s.deficient_rows[0]]}' (of 4 equality rows)")
    assert "over-determined block: rows 'e1', 'e2', 'e3' on 2 variable(s) 0, 1" in msg
    # without names, rows are given by index
    nlp = ok.NLP(x0=[1.0, 1.0, 1.0], f=lambda x: x @ x,
                 cons=lambda x: np.array([x[0] * x[1] - 1, x[0] + x[1] - 2, x[0] ** 2 - 1, x[2]]),
                 jac=lambda x: np.array([[x[1], x[0], 0], [1.0, 1.0, 0], [2 * x[0], 0, 0],
                                         [0, 0, 1.0]]))
    msg = singular_equality_message(nlp.form())
    assert "(of 4 equality rows)" in msg and "over-determined block: rows 0, 1, 2 on 2" in msg
    # an inequality row on the same variables is not an equality row: no singularity
    form2 = ok.LinearForm(c=np.zeros(4), A=A, rl=[1, 0, -np.inf, 3], ru=[1, 0, 2, 3], lb=None,
                         ub=None)
    assert not analyse(form2).structurally_singular and singular_equality_message(form2) == ""


def test_match_reports_matching_and_overdetermined_part():
    P = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=float))
    mt = match(P)
    assert mt.rank == 3 and mt.unmatched_rows.size == 1
    assert mt.overdetermined_rows.tolist() == [0, 1, 2] and mt.overdetermined_columns.tolist() == [0, 1]
    assert match(sp.csr_matrix((0, 3))).rank == 0


def test_analysis_is_linear_time_at_scale():
    # 200,000 variables in 50,000 independent chains: blocks, ranks and DOF in well under a second
    import time

    n, k = 200_000, 50_000
    j = np.arange(n)
    same = (j[:-1] // (n // k)) == (j[1:] // (n // k))
    rows = np.flatnonzero(same)
    A = sp.csr_matrix((np.ones(2 * rows.size), (np.repeat(np.arange(rows.size), 2),
                                                np.stack([rows, rows + 1], 1).ravel())),
                      shape=(rows.size, n))
    form = ok.LinearForm(c=np.zeros(n), A=A, rl=0.0, ru=0.0, lb=None, ub=None)
    t0 = time.perf_counter()
    s = analyse(form)
    assert time.perf_counter() - t0 < 3.0
    assert s.n_blocks == k and s.equality_rank == rows.size
    assert s.degrees_of_freedom == n - rows.size == k and not s.structurally_singular
