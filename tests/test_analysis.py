"""Structure analysis: blocks, structural rank, degrees of freedom."""
import numpy as np
import scipy.sparse as sp

import optkit as ok
from optkit.analysis import analyse


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
