"""Lower-level constraints whose compiled form has auxiliary variables (log, quotients)."""
import cvxpy as cp
import numpy as np

import optkit as ok
from optkit.status import Termination


def test_log_coupled_lower_constraint_runs_and_stays_feasible():
    # lower level: min y² s.t. x ≤ log y  →  y*(x) = eˣ; cvxpy's chain gives log an auxiliary
    # variable, so the constraint function is evaluated through cvxpy's own gradients
    x = cp.Variable(1, bounds=[0.5, 2])
    y = cp.Variable(1, bounds=[0.1, 5])
    bl = ok.Bilevel(upper=ok.Level(cp.Minimize(cp.sum_squares(x - 1) + cp.sum_squares(y - 2)), [],
                                   variables=[x]),
                    lower=ok.Level(cp.Minimize(cp.sum_squares(y)), [x - cp.log(y) <= 0],
                                   variables=[y]))
    res = ok.solve(bl, "lv-hba", max_iter=300)
    assert res.termination in (Termination.ITERATION_LIMIT, Termination.LOCALLY_OPTIMAL,
                               Termination.OPTIMAL)
    xv, yv = float(res.value(x)[0]), float(res.value(y)[0])
    assert 0.5 - 1e-9 <= xv <= 2 + 1e-9
    assert yv >= np.exp(xv) - 1e-3  # the coupled lower-level constraint holds
