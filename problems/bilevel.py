"""Library ``bilevel``: bilevel test problems with known answers, as ``ok.Bilevel`` models.

- ``llc-<n>``: the LLC toy of Yao et al. (ICLR 2024, arXiv 2401.16164), non-singleton lower level
  with a coupled *equality*; known solution x* = −0.3·1, y₁* = 0.7·1, y₂* = −0.4·1, F* = 0.05 n.
- ``llsc-<n>``: the LLSC toy (AiPOD's problem, same paper) with seeded data; no closed form.
- ``svm-hyper``: linear-SVM per-sample weight selection (same paper) on scikit-learn's bundled
  breast-cancer data (no network); no closed form.
- classic problems with published optimal values, written from their published formulas
  (the problem statements and optima as gathered in BOLIB (Zhou, Zemkoho, Tin 2020) and the
  BASBLib collection (Paulavičius, Adjiman)); each builder's docstring cites the original paper.

Conventions: in the classic problems the bounds of a lower-level variable belong to the lower
level (they are written as variable bounds of y, which the lower level owns), as in the sources.
``meta["lower"]`` says what the lower level is (lp, qp, nlp, nonconvex); ``known_objective`` is F*.
"""
from __future__ import annotations

import numpy as np

from optkit.extras import require
from optkit.problems_api import Instance, SimpleLibrary


def _ok():
    import optkit as ok

    return ok


def _var(shape=(), lo=None, hi=None, name=None):
    import cvxpy as cp

    if lo is None and hi is None:
        return cp.Variable(shape, name=name)
    return cp.Variable(shape, bounds=[lo, hi], name=name)


# ---------------------------------------------------------------------------- toys of the paper
def llc(n: int = 100):
    """LLC toy (Yao, Yu, Zeng, Zhang, ICLR 2024, §5): x ∈ Rⁿ, y = (y₁, y₂) ∈ R²ⁿ,
    upper min ½‖x − y₂‖² + ½‖y₁ − 1‖², lower min ½‖y₁‖² − xᵀy₁ + 1ᵀy₂ s.t. 1ᵀx + 1ᵀy₁ + 1ᵀy₂ = 0.
    S(x) = {y₁ = x + 1, 1ᵀy₂ = −2·1ᵀx − n}; solution x* = −0.3·1, y₁* = 0.7·1, y₂* = −0.4·1,
    F* = 0.05 n."""
    import cvxpy as cp

    ok = _ok()
    x, y1, y2 = cp.Variable(n, name="x"), cp.Variable(n, name="y1"), cp.Variable(n, name="y2")
    upper = ok.Level(cp.Minimize(0.5 * cp.sum_squares(x - y2) + 0.5 * cp.sum_squares(y1 - 1)),
                     [], variables=[x])
    lower = ok.Level(cp.Minimize(0.5 * cp.sum_squares(y1) - x @ y1 + cp.sum(y2)),
                     [cp.sum(x) + cp.sum(y1) + cp.sum(y2) == 0], variables=[y1, y2])
    sol = {x: -0.3 * np.ones(n), y1: 0.7 * np.ones(n), y2: -0.4 * np.ones(n)}
    bl = ok.Bilevel(upper, lower, name=f"llc-{n}", solution=sol, known_objective=0.05 * n)
    bl.start_point = {x: 10 * np.ones(n), y1: 10 * np.ones(n), y2: 10 * np.ones(n)}
    return bl


def llsc(n: int = 100, m: int = 90, rank_b: int = 45, seed: int = 0):
    """LLSC toy (AiPOD's problem, used by Yao et al., ICLR 2024): upper
    min sin(cᵀx + dᵀy) + ln(‖x + y‖² + 1) s.t. Bx = 0 (B m×n of rank ``rank_b``); lower
    min ½‖y − x‖² s.t. Ay + Hx = 0 (A, H m×n of full row rank), so y*(x) = x − A⁺(A + H)x.
    Data Gaussian with ``seed``. No closed-form optimum: compare F."""
    import cvxpy as cp

    ok = _ok()
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    H = rng.standard_normal((m, n))
    B = rng.standard_normal((m, rank_b)) @ rng.standard_normal((rank_b, n))
    c, d = rng.standard_normal(n), rng.standard_normal(n)
    x, y = cp.Variable(n, name="x"), cp.Variable(n, name="y")
    upper = ok.Level(cp.Minimize(cp.sin(c @ x + d @ y) + cp.log(cp.sum_squares(x + y) + 1))
                     if hasattr(cp, "sin") else
                     cp.Minimize(_sin(c @ x + d @ y) + cp.log(cp.sum_squares(x + y) + 1)),
                     [B @ x == 0], variables=[x])
    lower = ok.Level(cp.Minimize(0.5 * cp.sum_squares(y - x)), [A @ y + H @ x == 0], variables=[y])
    bl = ok.Bilevel(upper, lower, name=f"llsc-{n}")
    bl.start_point = {x: np.zeros(n), y: np.zeros(n)}
    # the lower constraint Ay + Hx = 0 (‖A‖, ‖H‖ ≈ 20) needs smaller steps than the defaults:
    # with η = 0.03 the (θ, λ) descent-ascent oscillates after a few 10³ iterations
    bl.solver_hints = {"lv-hba": {"alpha": 0.002, "beta": 0.002, "eta": 0.01}}
    return bl


def _sin(expr):
    from cvxpy.atoms.elementwise.trig import sin

    return sin(expr)


def svm_hyper(n_train: int = 40, n_val: int = 40, n_features: int = 10, seed: int = 0):
    """Linear-SVM hyperparameter selection (Yao et al., ICLR 2024, after Gao et al.): upper
    variable c ∈ R^{n_train} (one log-weight per training sample); lower
    min ½‖w‖² + ½ Σᵢ e^{cᵢ} ξᵢ² over (w, b, ξ) s.t. 1 − ξᵢ − yᵢ(wᵀzᵢ + b) ≤ 0; upper: smooth
    validation loss Σⱼ log(1 + exp(−yⱼ(wᵀzⱼ + b))) (a smooth surrogate of the 0-1 loss) with
    c ∈ [−3, 3]. Data: scikit-learn's bundled breast-cancer set (first ``n_features`` standardised
    features, a seeded draw of training and validation samples). No closed-form optimum."""
    import cvxpy as cp
    load_breast_cancer = require("sklearn.datasets", "data",
                                 "the bilevel library's breast-cancer instance").load_breast_cancer

    ok = _ok()
    data = load_breast_cancer()
    Z = data.data[:, :n_features]
    Z = (Z - Z.mean(0)) / Z.std(0)
    lab = np.where(data.target == 1, 1.0, -1.0)
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(lab))
    tr, va = idx[:n_train], idx[n_train:n_train + n_val]
    c = cp.Variable(n_train, bounds=[-3.0, 3.0], name="c")
    w, b, xi = cp.Variable(n_features, name="w"), cp.Variable(name="b"), cp.Variable(n_train, name="xi")
    margin_val = cp.multiply(lab[va], Z[va] @ w + b)
    upper = ok.Level(cp.Minimize(cp.sum(cp.logistic(-margin_val))), [], variables=[c])
    lower = ok.Level(cp.Minimize(0.5 * cp.sum_squares(w) + 0.5 * cp.sum(cp.multiply(cp.exp(c), cp.square(xi)))),
                     [1 - xi - cp.multiply(lab[tr], Z[tr] @ w + b) <= 0], variables=[w, b, xi])
    bl = ok.Bilevel(upper, lower, name="svm-hyper")
    bl.start_point = {c: np.zeros(n_train)}
    return bl


# ---------------------------------------------------------------------------- classic problems
def bard1984_ex1():
    """Bard (1984), Example 1, Naval Res. Logist. Q. 31:13–26 (BOLIB Bard1984Ex1, BASBLib b_1984_01).
    min x + y s.t. y ∈ argmin −5x − y s.t. −x − y/2 ≤ −2, −x/4 + y ≤ 2, x + y/2 ≤ 8, x − 2y ≤ 2,
    x, y ∈ [0, 10]. Published F* = 3.111 at (0.889, 2.222); exactly 28/9 at (8/9, 20/9)."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var((), 0, 10, "x"), _var((), 0, 10, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(x + y), [], [x]),
                      ok.Level(cp.Minimize(-5 * x - y), [-x - 0.5 * y + 2 <= 0, -0.25 * x + y - 2 <= 0,
                                                         x + 0.5 * y - 8 <= 0, x - 2 * y - 2 <= 0], [y]),
                      name="bard1984-ex1", solution={x: 8 / 9, y: 20 / 9}, known_objective=28 / 9)


def bard1991_ex22():
    """Bard (1991), Example 2.2, JOTA 68:371–378 (BASBLib b_1991_01).
    min −x + 10y₁ − y₂ s.t. y ∈ argmin −y₁ − y₂ s.t. x + y₁ ≤ 1, x + y₂ ≤ 1, y₁ + y₂ ≤ 1,
    x, y ∈ [0, 10]. Published F* = −1 (two optimal points)."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var((), 0, 10, "x"), _var(2, 0, 10, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(-x + 10 * y[0] - y[1]), [], [x]),
                      ok.Level(cp.Minimize(-y[0] - y[1]), [x + y[0] <= 1, x + y[1] <= 1, y[0] + y[1] <= 1], [y]),
                      name="bard1991-ex22", known_objective=-1.0)


def bard1991_ex21():
    """Bard (1991), Example 2.1, JOTA 68:371–378; Bard (1998) Ex. 8.1.1 (BASBLib b_1991_02).
    min x + y₂ s.t. y ∈ argmin 2y₁ + x y₂ s.t. x − y₁ − y₂ ≤ −4, y ∈ [0, 10]², x ∈ [2, 4].
    Published F* = 2 at x = 2, y = (6, 0). Lower level linear in y (bilinear in (x, y))."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var((), 2, 4, "x"), _var(2, 0, 10, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(x + y[1]), [], [x]),
                      ok.Level(cp.Minimize(2 * y[0] + x * y[1]), [x - y[0] - y[1] + 4 <= 0], [y]),
                      name="bard1991-ex21", solution={x: 2.0, y: [6.0, 0.0]}, known_objective=2.0)


def bard_falk1982_ex1():
    """Bard & Falk (1982), Example 1, Comput. Oper. Res. 9:77–100 (BASBLib bf_1982_01).
    min −8x₁ − 4x₂ + 4y₁ − 40y₂ + 4y₃ s.t. y ∈ argmin x₁ + 2x₂ + y₁ + y₂ + 2y₃ s.t.
    −y₁ + y₂ + y₃ ≤ 1, 2x₁ − y₁ + 2y₂ − y₃/2 ≤ 1, 2x₂ + 2y₁ − y₂ − y₃/2 ≤ 1, x, y ∈ [0, 10].
    Published F* = −26 at x = (0, 0.9), y = (0, 0.6, 0.4)."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var(2, 0, 10, "x"), _var(3, 0, 10, "y")
    cons = [-y[0] + y[1] + y[2] <= 1, 2 * x[0] - y[0] + 2 * y[1] - 0.5 * y[2] <= 1,
            2 * x[1] + 2 * y[0] - y[1] - 0.5 * y[2] <= 1]
    return ok.Bilevel(ok.Level(cp.Minimize(-8 * x[0] - 4 * x[1] + 4 * y[0] - 40 * y[1] + 4 * y[2]), [], [x]),
                      ok.Level(cp.Minimize(x[0] + 2 * x[1] + y[0] + y[1] + 2 * y[2]), cons, [y]),
                      name="bard-falk1982-ex1", solution={x: [0, 0.9], y: [0, 0.6, 0.4]},
                      known_objective=-26.0)


def bard_falk1982_ex2():
    """Bard & Falk (1982), Example 2, Comput. Oper. Res. 9:77–100 (BASBLib bf_1982_02).
    min −2x₁ + x₂ + y₁/2 s.t. y ∈ argmin x₁ + x₂ − 4y₁ + y₂ s.t. −2x₁ + y₁ − y₂ ≤ −2.5,
    x₁ − 3x₂ + y₂ ≤ 2, x₁ + x₂ ≤ 2, x, y ∈ [0, 10]. Published F* = −3.25 at x = (2, 0), y = (1.5, 0)."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var(2, 0, 10, "x"), _var(2, 0, 10, "y")
    cons = [-2 * x[0] + y[0] - y[1] + 2.5 <= 0, x[0] - 3 * x[1] + y[1] - 2 <= 0, x[0] + x[1] - 2 <= 0]
    return ok.Bilevel(ok.Level(cp.Minimize(-2 * x[0] + x[1] + 0.5 * y[0]), [], [x]),
                      ok.Level(cp.Minimize(x[0] + x[1] - 4 * y[0] + y[1]), cons, [y]),
                      name="bard-falk1982-ex2", solution={x: [2, 0], y: [1.5, 0]}, known_objective=-3.25)


def candler_townsley1982():
    """Candler & Townsley (1982), §6 numerical example, Comput. Oper. Res. 9:59–76
    (BASBLib ct_1982_01), lower level in equality form with slacks y₄..y₆:
    min −8x₁ − 4x₂ + 4y₁ − 40y₂ − 4y₃ s.t. y ∈ argmin x₁ + 2x₂ + y₁ + y₂ + 2y₃ s.t.
    −y₁ + y₂ + y₃ + y₄ = 1, 2x₁ − y₁ + 2y₂ − y₃/2 + y₅ = 1, 2x₂ + 2y₁ − y₂ − y₃/2 + y₆ = 1,
    x ∈ [0, 10]², y ∈ [0, 10]⁶. Published F* = −29.2 at x = (0, 0.9), y = (0, 0.6, 0.4, 0, 0, 0)."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var(2, 0, 10, "x"), _var(6, 0, 10, "y")
    cons = [-y[0] + y[1] + y[2] + y[3] == 1, 2 * x[0] - y[0] + 2 * y[1] - 0.5 * y[2] + y[4] == 1,
            2 * x[1] + 2 * y[0] - y[1] - 0.5 * y[2] + y[5] == 1]
    return ok.Bilevel(ok.Level(cp.Minimize(-8 * x[0] - 4 * x[1] + 4 * y[0] - 40 * y[1] - 4 * y[2]), [], [x]),
                      ok.Level(cp.Minimize(x[0] + 2 * x[1] + y[0] + y[1] + 2 * y[2]), cons, [y]),
                      name="candler-townsley1982", known_objective=-29.2)


def liu_hart1994():
    """Liu & Hart (1994), Eur. J. Oper. Res. 73:164–166 (BASBLib lh_1994_01).
    min −x − 3y s.t. y ∈ argmin y s.t. −x + y ≤ 3, x + 2y ≤ 12, 4x − y ≤ 12, x, y ∈ [0, 10].
    Published F* = −16 at (4, 4)."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var((), 0, 10, "x"), _var((), 0, 10, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(-x - 3 * y), [], [x]),
                      ok.Level(cp.Minimize(y), [-x + y <= 3, x + 2 * y <= 12, 4 * x - y <= 12], [y]),
                      name="liu-hart1994", solution={x: 4.0, y: 4.0}, known_objective=-16.0)


def mitsos_barton_31():
    """Mitsos & Barton (2007), Example 3.1 (mb_0_1_01), "A test set for bilevel programs":
    no upper variable; min y s.t. y ∈ argmin −y over y ∈ [−1, 1]. Published F* = 1 at y = 1."""
    import cvxpy as cp

    ok = _ok()
    y = _var((), -1, 1, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(y), [], []), ok.Level(cp.Minimize(-y), [], [y]),
                      name="mitsos-barton-3.1", solution={y: 1.0}, known_objective=1.0)


def mitsos_barton_32():
    """Mitsos & Barton (2007), Example 3.2 (mb_0_1_02): min y s.t. y ≤ 0 (upper constraint),
    y ∈ argmin −y over [−1, 1]. The lower level forces y = 1: the problem is infeasible."""
    import cvxpy as cp

    ok = _ok()
    y = _var((), -1, 1, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(y), [y <= 0], []), ok.Level(cp.Minimize(-y), [], [y]),
                      name="mitsos-barton-3.2")


def mitsos_barton_33():
    """Mitsos & Barton (2007), Example 3.3 (mb_0_1_03): min y s.t. y ∈ argmin y² s.t. 1 − y² ≤ 0,
    y ∈ [−10, 10]. Published F* = −1 at y = −1. The lower level is *nonconvex* (its feasible set is
    two intervals): LV-HBA and kkt refuse it."""
    import cvxpy as cp

    ok = _ok()
    y = _var((), -10, 10, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(y), [], []),
                      ok.Level(cp.Minimize(cp.square(y)), [1 - cp.square(y) <= 0], [y]),
                      name="mitsos-barton-3.3", solution={y: -1.0}, known_objective=-1.0)


def aiyoshi_shimizu1984():
    """Aiyoshi & Shimizu (1984), Example 2, IEEE TAC 29:1111–1114 (BOLIB AiyoshiShimizu1984Ex2,
    BASBLib as_1984_01): min 2x₁ + 2x₂ − 3y₁ − 3y₂ − 60 s.t. x₁ + x₂ + y₁ − 2y₂ ≤ 40, x ∈ [0, 50]²,
    y ∈ argmin (y₁ − x₁ + 20)² + (y₂ − x₂ + 20)² s.t. 2y₁ − x₁ ≤ −10, 2y₂ − x₂ ≤ −10,
    y ∈ [−10, 20]². Published F* = 0 at x = (0, 0), y = (−10, −10)."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var(2, 0, 50, "x"), _var(2, -10, 20, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(2 * x[0] + 2 * x[1] - 3 * y[0] - 3 * y[1] - 60),
                               [x[0] + x[1] + y[0] - 2 * y[1] <= 40], [x]),
                      ok.Level(cp.Minimize(cp.square(y[0] - x[0] + 20) + cp.square(y[1] - x[1] + 20)),
                               [-x[0] + 2 * y[0] + 10 <= 0, -x[1] + 2 * y[1] + 10 <= 0], [y]),
                      name="aiyoshi-shimizu1984", known_objective=0.0)


def bard1988_ex1():
    """Bard (1988), Example 1, "Convex two-level optimization", Math. Program. 40:15–27
    (BOLIB Bard1988Ex1, BASBLib b_1988_01): min (x − 5)² + (2y + 1)² s.t.
    y ∈ argmin (y − 1)² − 1.5xy s.t. −3x + y ≤ −3, x − y/2 ≤ 4, x + y ≤ 7, x, y ∈ [0, 10].
    Published F* = 17 at (1, 0). The single-level reformulation is a mixed-integer QP."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var((), 0, 10, "x"), _var((), 0, 10, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(cp.square(x - 5) + cp.square(2 * y + 1)), [], [x]),
                      ok.Level(cp.Minimize(cp.square(y - 1) - 1.5 * x * y),
                               [-3 * x + y + 3 <= 0, x - 0.5 * y - 4 <= 0, x + y - 7 <= 0], [y]),
                      name="bard1988-ex1", solution={x: 1.0, y: 0.0}, known_objective=17.0)


def desilva1978():
    """De Silva (1978), PhD thesis, George Washington Univ. (BOLIB DeSilva1978, BASBLib d_1978_01;
    also Falk & Liu 1995): min x₁² − 2x₁ + x₂² − 2x₂ + y₁² + y₂² s.t. x ∈ [0, 10]²,
    y ∈ argmin (y₁ − x₁)² + (y₂ − x₂)² over y ∈ [0.5, 1.5]². Published F* = −1 at
    x = y = (0.5, 0.5)."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var(2, 0, 10, "x"), _var(2, 0.5, 1.5, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(cp.sum_squares(x) - 2 * cp.sum(x) + cp.sum_squares(y)), [], [x]),
                      ok.Level(cp.Minimize(cp.sum_squares(y - x)), [], [y]),
                      name="desilva1978", solution={x: [0.5, 0.5], y: [0.5, 0.5]}, known_objective=-1.0)


def shimizu_aiyoshi1981_ex1():
    """Shimizu & Aiyoshi (1981), Example 1, IEEE TAC 26:460–466 (BOLIB ShimizuAiyoshi1981Ex1,
    BASBLib sa_1981_01): min x² + (y − 10)² s.t. −x + y ≤ 0, x ∈ [0, 15],
    y ∈ argmin (x + 2y − 30)² s.t. x + y ≤ 20, y ∈ [0, 20]. Published F* = 100 at (10, 10)."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var((), 0, 15, "x"), _var((), 0, 20, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(cp.square(x) + cp.square(y - 10)), [-x + y <= 0], [x]),
                      ok.Level(cp.Minimize(cp.square(x + 2 * y - 30)), [x + y <= 20], [y]),
                      name="shimizu-aiyoshi1981-ex1", solution={x: 10.0, y: 10.0}, known_objective=100.0)


def shimizu_aiyoshi1981_ex2():
    """Shimizu & Aiyoshi (1981), Example 2, IEEE TAC 26:460–466 (BOLIB ShimizuAiyoshi1981Ex2,
    BASBLib sa_1981_02): min (x₁ − 30)² + (x₂ − 20)² − 20y₁ + 20y₂ s.t. x₁ + 2x₂ ≥ 30,
    x₁ + x₂ ≤ 25, x₁ ∈ [0, 25], x₂ ∈ [0, 15], y ∈ argmin (x₁ − y₁)² + (x₂ − y₂)² over y ∈ [0, 10]².
    Published F* = 225 at x = (20, 5), y = (10, 5)."""
    import cvxpy as cp

    ok = _ok()
    x = cp.Variable(2, bounds=[np.zeros(2), np.array([25.0, 15.0])], name="x")
    y = _var(2, 0, 10, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(cp.square(x[0] - 30) + cp.square(x[1] - 20) - 20 * y[0] + 20 * y[1]),
                               [-x[0] - 2 * x[1] + 30 <= 0, x[0] + x[1] <= 25], [x]),
                      ok.Level(cp.Minimize(cp.sum_squares(x - y)), [], [y]),
                      name="shimizu-aiyoshi1981-ex2", solution={x: [20, 5], y: [10, 5]},
                      known_objective=225.0)


def tuy2007():
    """Tuy, Migdalas & Hoai-Phuong (2007), Example 1, J. Global Optim. 38:527–554 (BASBLib
    tmh_2007_01): min x² + y² s.t. y ∈ argmin −y s.t. 3x + y ≤ 15, x + y ≤ 7, x + 3y ≤ 15,
    x, y ∈ [0, 10]. Published F* = 22.5 at (1.5, 4.5)."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var((), 0, 10, "x"), _var((), 0, 10, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(cp.square(x) + cp.square(y)), [], [x]),
                      ok.Level(cp.Minimize(-y), [3 * x + y <= 15, x + y <= 7, x + 3 * y <= 15], [y]),
                      name="tuy2007", solution={x: 1.5, y: 4.5}, known_objective=22.5)


def dempe1992():
    """Dempe (1992), Example 4.1, Optimization 25:341–354 (BASBLib d_1992_01, d = 1):
    min (x − 3.5)² + (y + 4)² s.t. y ∈ argmin (y − 3)² s.t. y² − x ≤ 0, x, y ∈ [1, 10].
    Published F* = 31.25 at (1, 1). Convex lower level with a *nonlinear* constraint (kkt refuses)."""
    import cvxpy as cp

    ok = _ok()
    x, y = _var((), 1, 10, "x"), _var((), 1, 10, "y")
    return ok.Bilevel(ok.Level(cp.Minimize(cp.square(x - 3.5) + cp.square(y + 4)), [], [x]),
                      ok.Level(cp.Minimize(cp.square(y - 3)), [cp.square(y) - x <= 0], [y]),
                      name="dempe1992", solution={x: 1.0, y: 1.0}, known_objective=31.25)


# (builder, lower-level type, expected outcome)
CLASSIC = [
    (bard1984_ex1, "lp", "optimal"), (bard1991_ex22, "lp", "optimal"), (bard1991_ex21, "lp", "optimal"),
    (bard_falk1982_ex1, "lp", "optimal"), (bard_falk1982_ex2, "lp", "optimal"),
    (candler_townsley1982, "lp", "optimal"), (liu_hart1994, "lp", "optimal"),
    (mitsos_barton_31, "lp", "optimal"), (mitsos_barton_32, "lp", "infeasible"),
    (aiyoshi_shimizu1984, "qp", "optimal"), (bard1988_ex1, "qp", "optimal"),
    (desilva1978, "qp", "optimal"), (shimizu_aiyoshi1981_ex1, "qp", "optimal"),
    (shimizu_aiyoshi1981_ex2, "qp", "optimal"), (tuy2007, "lp", "optimal"),
    (dempe1992, "nlp", "optimal"), (mitsos_barton_33, "nonconvex", "optimal"),
]


def _instance(builder, lower: str, expected: str, **meta) -> Instance:
    bl = builder(**meta.pop("params", {}))
    return Instance(name=bl.name, build=lambda: builder(**meta.get("build_params", {})),
                    problem_class="bilevel", n=bl.data().N, m=bl.data().g.k + bl.data().h.k,
                    known_objective=bl.known_objective, expected=expected,
                    source=(builder.__doc__ or "").strip().split("\n")[0],
                    meta={"lower": lower, **{k: v for k, v in meta.items() if k != "build_params"}})


def make_instances(llc_sizes=(10, 100), llsc: bool = True, svm: bool = True, classic: bool = True,
                   seed: int = 0) -> list[Instance]:
    """All instances: LLC toys of the given sizes, LLSC (n = 100), svm-hyper, the classic set."""
    out = []
    for n in llc_sizes:
        out.append(_instance(llc, "qp", "optimal", params={"n": n}, build_params={"n": n}))
    if llsc:
        out.append(_instance(llsc_fn, "qp", "optimal", params={"seed": seed},
                             build_params={"seed": seed}))
    if svm:
        out.append(_instance(svm_hyper, "convex", "optimal", params={"seed": seed},
                             build_params={"seed": seed}))
    if classic:
        out.extend(_instance(b, lo, ex) for b, lo, ex in CLASSIC)
    return out


llsc_fn = llsc
library = SimpleLibrary("bilevel", "bilevel problems: LLC/LLSC toys, SVM hyperparameters, classic "
                        "problems with published optima (Bard, Dempe, Mitsos-Barton, ...)",
                        make_instances)
