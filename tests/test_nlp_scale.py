"""optkit's linear-time DNLP derivatives (optkit.ir.smooth_affine) against finite differences,
cvxpy's C engine and hand-written models; lazy Hessians; parameters; the path chosen at scale."""
from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

import optkit as ok
from conftest import require_backend
from optkit.errors import UnsupportedProblemError
from optkit.ir.cvxpy_nlp import compile_nlp
from optkit.ir.finite_differences import fd_gradient, fd_hessian, fd_jacobian


@pytest.fixture
def ipopt():
    return require_backend("ipopt")


# ------------------------------------------------------------------ cross-check machinery
def _point(form, seed: int):
    rng = np.random.default_rng(seed)
    x = form.x0 + 0.05 * rng.uniform(0.5, 1.0, form.n)
    x = np.clip(x, form.lb, form.ub)
    return x, rng.uniform(-1.5, 1.5, form.m), 0.7


def _cross_check(problem: cp.Problem, x0: dict, seed: int = 0):
    """Every derivative of optkit's form equals cvxpy's engine and finite differences."""
    ours = compile_nlp(problem, x0, derivatives="optkit")
    ref = compile_nlp(problem, x0, derivatives="cvxpy")
    assert ours.extra["derivatives"] == "optkit" and ref.extra["derivatives"] == "cvxpy"
    fa, fb = ours.form, ref.form
    assert (fa.n, fa.m) == (fb.n, fb.m)
    assert np.array_equal(fa.cl, fb.cl) and np.array_equal(fa.cu, fb.cu)
    assert np.array_equal(fa.lb, fb.lb) and np.array_equal(fa.x0, fb.x0)
    x, y, s = _point(fa, seed)
    assert fa.f(x) == pytest.approx(fb.f(x), rel=1e-12, abs=1e-12)
    g = fa.grad(x)
    assert np.allclose(g, fb.grad(x), rtol=1e-10, atol=1e-12)
    assert np.allclose(g, fd_gradient(fa.f, x), rtol=1e-5, atol=1e-6)
    if fa.m:
        assert np.allclose(fa.cons(x), fb.cons(x), rtol=1e-12, atol=1e-12)
        J = fa.jac(x).toarray()
        assert np.allclose(J, fb.jac(x).toarray(), rtol=1e-10, atol=1e-12)
        assert np.allclose(J, fd_jacobian(fa.cons, x, fa.m).toarray(), rtol=1e-5, atol=1e-6)
    H = fa.hess(x, y, s).toarray()
    assert np.allclose(H, H.T)
    assert np.allclose(H, fb.hess(x, y, s).toarray(), rtol=1e-9, atol=1e-10)
    lag = lambda z: s * fa.grad(z) + (fa.jac(z).T @ y if fa.m else 0)  # noqa: E731
    assert np.allclose(H, fd_hessian(lag, x).toarray(), rtol=1e-4, atol=1e-5)
    # obj_factor 0 leaves only the constraints' curvature
    H0 = fa.hess(x, y, 0.0).toarray()
    assert np.allclose(H0, fb.hess(x, y, 0.0).toarray(), rtol=1e-9, atol=1e-10)
    return ours


def test_products_quotients_powers_trig():
    x = cp.Variable(3)
    obj = x[0] * x[1] / x[2] + cp.nlp.sin(x[0]) * cp.nlp.cos(x[1]) + x[2] ** 3 + cp.exp(0.3 * x[1])
    cons = [x[0] * x[1] * x[2] == 2, cp.log(x[2]) + x[0] ** 2 <= 3, x[1] / x[0] >= 0.1]
    c = _cross_check(cp.Problem(cp.Minimize(obj), cons), {x: [1.0, 2.0, 1.5]})
    assert {"mul", "sin", "cos", "exp", "log", "power(-1)", "power(3)"} <= set(
        c.extra["smooth_affine"]["ops"])


def test_slices_shifts_and_scaled_arguments_with_maximisation():
    N = 12
    x = cp.Variable(N)
    obj = cp.Maximize(-cp.sum(cp.exp(2 * x)) - cp.sum(cp.square(x - 1))
                      + cp.sum(cp.nlp.sin(2 * x[1::2])))
    cons = [cp.multiply(x[:-1], x[1:]) >= 0.1, x[1:] - x[:-1] >= -1,
            cp.sum(cp.nlp.tanh(x[::3] - 0.5)) <= 3, cp.nlp.tan(0.2 * x[0]) <= 1]
    c = _cross_check(cp.Problem(obj, cons), {x: np.linspace(0.5, 1.0, N)})
    assert c.sense == -1
    # without auxiliary variables the form's x is the user's x and it minimises −objective
    c = compile_nlp(cp.Problem(obj, cons[:3]), {x: np.linspace(0.5, 1.0, N)})
    assert c.form.n == N and c.extra["derivatives"] == "optkit"
    xs = np.linspace(0.2, 0.9, N)
    user = -np.sum(np.exp(2 * xs)) - np.sum((xs - 1) ** 2) + np.sum(np.sin(2 * xs[1::2]))
    assert c.form.f(xs) == pytest.approx(-user, rel=1e-13)


def test_bounds_matrices_quadratic_forms_and_other_smooth_atoms():
    X = cp.Variable((3, 4))
    v = cp.Variable(4, bounds=[0.1, 3])
    P = np.array([[2.0, 0.5, 0, 0], [0.5, 1.0, 0, 0], [0, 0, 3.0, 0], [0, 0, 0, 1.0]])
    obj = (cp.sum(X @ v) + cp.sum_squares(X.T) + cp.quad_form(v, P)
           + cp.sum(cp.nlp.sinh(0.3 * X[1, :]) * v) + cp.logistic(X[0, 0] - X[2, 3]))
    cons = [X[:, 0] @ X[:, 1] == 1, cp.sqrt(v) >= 0.2, cp.sum(cp.entr(v)) >= -3,
            cp.nlp.asinh(X[2, 2]) + cp.nlp.normcdf(X[1, 1]) <= 2, cp.vstack([X[0], v]) @ v <= 9,
            cp.reshape(X, (4, 3), order="C")[1:, 0] ** 2 <= 4,
            cp.hstack([v, X[0]]).T @ np.arange(8.0) <= 50]
    _cross_check(cp.Problem(cp.Minimize(obj), cons), {X: 0.5 + 0.1 * np.arange(12).reshape(3, 4),
                                                       v: np.ones(4)})


def test_compositions_quotients_and_kl_divergence():
    x = cp.Variable(4, pos=True)
    y = cp.Variable(2)
    obj = (cp.sum(cp.exp(cp.nlp.sin(x) * 0.5)) + cp.sum(cp.multiply(x, cp.exp(0.2 * x[::-1])))
           + cp.quad_over_lin(y, x[0] + 1) + cp.sum(cp.kl_div(x[:2], x[2:]))
           + cp.sum(cp.rel_entr(x[:2], 2.0)))
    cons = [y[0] * cp.nlp.cos(y[1]) == 0.3, (x[1] + 1) / (x[2] + 2) <= 1, cp.power(x[3], 1.5) <= 3]
    _cross_check(cp.Problem(cp.Minimize(obj), cons), {x: [1.0, 1.2, 0.8, 1.1], y: [0.4, 0.2]})


def test_scalar_loop_models_are_batched_into_few_nodes():
    N = 30
    h = 1.0 / N
    x, u = cp.Variable(N + 1), cp.Variable(N)
    cons = [x[i + 1] - x[i] == h * (-cp.nlp.sin(x[i]) + u[i] * cp.exp(-x[i])) for i in range(N)]
    prob = cp.Problem(cp.Minimize(sum(cp.square(x[i] - 0.5) for i in range(N + 1))
                                  + h * cp.sum_squares(u)), cons + [x[0] == 1])
    c = _cross_check(prob, {x: np.linspace(1, 0.5, N + 1), u: 0.1 * np.ones(N)})
    info = c.extra["smooth_affine"]
    # 30 sin, 30 exp, 30 products, 31 + 1 squares written one by one; one node per function
    assert info["atoms"] >= 4 * N and info["nodes"] <= 5


def test_fixed_structure_oracles_match_the_matrices():
    N = 9
    x = cp.Variable(N)
    prob = cp.Problem(cp.Minimize(cp.sum(cp.square(x[1:] - x[:-1])) + cp.sum(cp.exp(-x))),
                      [cp.multiply(x[:-1], x[1:]) >= 0.2, cp.nlp.sin(x[0]) == 0.1])
    form = compile_nlp(prob, {x: np.ones(N)}).form
    assert form.has_structure
    pt, y, s = _point(form, 3)
    r, c = form.jac_structure()
    J = sp.coo_matrix((form.jac_values(pt), (r, c)), shape=(form.m, form.n)).toarray()
    assert np.allclose(J, form.jac(pt).toarray())
    r, c = form.hess_structure()
    assert np.all(r >= c)
    L = sp.coo_matrix((form.hess_values(pt, y, s), (r, c)), shape=(form.n, form.n)).toarray()
    H = form.hess(pt, y, s).toarray()
    assert np.allclose(np.tril(H), L)
    # banded problem: the Hessian's lower triangle has the diagonal and one subdiagonal
    assert r.size == 2 * N - 1


def test_uncovered_atom_falls_back_to_cvxpys_engine_for_the_whole_problem():
    x = cp.Variable(3, pos=True)
    prob = cp.Problem(cp.Minimize(cp.prod(x) + cp.sum(cp.exp(x))), [cp.sum(x) == 2])
    c = compile_nlp(prob, {x: [0.5, 0.7, 0.8]})
    assert c.extra["derivatives"] == "cvxpy"
    assert "Prod" in c.extra["fallback_reason"]
    form = c.form
    pt = form.x0 + 0.01
    assert np.allclose(form.grad(pt), fd_gradient(form.f, pt), rtol=1e-5, atol=1e-6)
    with pytest.raises(UnsupportedProblemError, match="Prod"):
        compile_nlp(prob, {x: [0.5, 0.7, 0.8]}, derivatives="optkit")


# ------------------------------------------------------------------ lazy Hessians
def test_hessian_structure_is_built_only_when_asked_for():
    N = 50
    x = cp.Variable(N)
    prob = cp.Problem(cp.Minimize(cp.sum(cp.exp(2 * x))),
                      [x[1:] - x[:-1] >= cp.nlp.sin(x[:-1]) - 1])
    for engine in ("optkit", "cvxpy"):
        form = compile_nlp(prob, {x: np.zeros(N)}, derivatives=engine).form
        oracles = form.hess_fn.__self__

        def built(o=oracles, engine=engine) -> bool:
            return o._hess is not None if engine == "optkit" else o._hess_ready

        form.f(form.x0), form.grad(form.x0), form.cons(form.x0), form.jac(form.x0)
        assert not built()
        H = form.hess(form.x0, np.ones(form.m))
        assert built() and H.shape == (form.n, form.n)


def test_ipopt_limited_memory_never_builds_the_hessian(ipopt, monkeypatch):
    import optkit.ir.cvxpy_nlp as cvxpy_nlp

    built = []
    original = cvxpy_nlp.compile_nlp

    def recording(*args, **kwargs):
        built.append(original(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(cvxpy_nlp, "compile_nlp", recording)
    N = 40
    x = cp.Variable(N)
    prob = ok.Problem(cp.Minimize(cp.sum(cp.square(x - 1)) + cp.sum(cp.exp(-x))),
                      [cp.multiply(x[:-1], x[1:]) <= 4])
    res = ok.solve(prob, "ipopt", tol=1e-8, hessian="limited-memory")
    assert res.termination.name == "LOCALLY_OPTIMAL"
    form = built[-1].form
    assert built[-1].extra["derivatives"] == "optkit"
    assert form.counts["hess"] == 0 and form.hess_fn.__self__._hess is None
    # the unconstrained optimum of (x − 1)² + e^{−x}: 2(x − 1) = e^{−x}, x ≈ 1.1572 (x² ≤ 4 holds)
    assert np.allclose(res.value(x), 1.1572, atol=1e-3)


# ------------------------------------------------------------------ parameters
def test_parameter_values_are_read_when_compiled_change_then_resolve(ipopt):
    a = cp.Parameter(value=2.0)
    x = cp.Variable(2)
    # min e^{x0} − a x0 + (x1 − a)² + x0·x1·0 : optimum x0 = log a, x1 = a
    prob = ok.Problem(cp.Minimize(cp.exp(x[0]) - a * x[0] + cp.square(x[1] - a)), [x[1] <= 10])
    r1 = ok.solve(prob, "ipopt", tol=1e-10)
    assert np.allclose(r1.value(x), [np.log(2.0), 2.0], atol=1e-6)
    assert r1.objective == pytest.approx(2.0 - 2.0 * np.log(2.0), abs=1e-8)
    a.value = 3.0
    r2 = ok.solve(prob, "ipopt", tol=1e-10)
    assert np.allclose(r2.value(x), [np.log(3.0), 3.0], atol=1e-6)
    assert r2.objective == pytest.approx(3.0 - 3.0 * np.log(3.0), abs=1e-8)
    assert prob.compile("nlp").extra["derivatives"] == "optkit"


# ------------------------------------------------------------------ optimal control
def van_der_pol(N: int, mu: float = 1.0, T: float = 5.0):
    """min h Σ (x1² + x2² + u²)  s.t.  x[k+1] = x[k] + h f(x[k], u[k]),  x(0) = (0, 1), |u| <= 0.75,
    f = (x2, −x1 + μ(1 − x1²) x2 + u)."""
    h = T / N
    x1, x2 = cp.Variable(N + 1), cp.Variable(N + 1)
    u = cp.Variable(N, bounds=[-0.75, 0.75])
    cons = [x1[1:] == x1[:-1] + h * x2[:-1],
            x2[1:] == x2[:-1] + h * (-x1[:-1] + mu * cp.multiply(1 - cp.square(x1[:-1]), x2[:-1])
                                     + u),
            x1[0] == 0, x2[0] == 1]
    obj = cp.Minimize(h * (cp.sum_squares(x1) + cp.sum_squares(x2) + cp.sum_squares(u)))
    return cp.Problem(obj, cons), (x1, x2, u)


def van_der_pol_callbacks(N: int, mu: float = 1.0, T: float = 5.0) -> ok.NLP:
    """The same NLP written by hand: z = (x1, x2, u), exact vectorised derivatives."""
    h = T / N
    n1 = N + 1
    n = 2 * n1 + N
    k = np.arange(N)

    def split(z):
        return z[:n1], z[n1:2 * n1], z[2 * n1:]

    def f(z):
        return h * float(z @ z)

    def grad(z):
        return 2 * h * z

    def cons(z):
        x1, x2, u = split(z)
        a, b = x1[:-1], x2[:-1]
        c1 = x1[1:] - a - h * b
        c2 = x2[1:] - b - h * (-a + mu * (1 - a * a) * b + u)
        return np.concatenate([c1, c2, [x1[0], x2[0] - 1.0]])

    def jac(z):
        x1, x2, _ = split(z)
        a, b = x1[:-1], x2[:-1]
        rows = np.concatenate([k, k, k, N + k, N + k, N + k, N + k, [2 * N, 2 * N + 1]])
        cols = np.concatenate([k + 1, k, n1 + k, n1 + k + 1, n1 + k, k, 2 * n1 + k, [0, n1]])
        vals = np.concatenate([np.ones(N), -np.ones(N), -h * np.ones(N), np.ones(N),
                               -1 - h * mu * (1 - a * a), h * (1 + 2 * mu * a * b), -h * np.ones(N),
                               [1.0, 1.0]])
        return sp.csr_matrix((vals, (rows, cols)), shape=(2 * N + 2, n))

    def hess(z, y):
        x1, x2, _ = split(z)
        a, b = x1[:-1], x2[:-1]
        y2 = y[N:2 * N]
        # c2 ∋ −h μ (1 − a²) b: ∂²/∂a² = 2hμ b, ∂²/∂a∂b = 2hμ a
        H = sp.diags(np.full(n, 2 * h))
        Haa = sp.csr_matrix((2 * h * mu * b * y2, (k, k)), shape=(n, n))
        Hab = sp.csr_matrix((2 * h * mu * a * y2, (n1 + k, k)), shape=(n, n))
        return (H + Haa + Hab + Hab.T).tocsr()

    z0 = np.zeros(n)
    z0[n1:2 * n1] = 1.0
    return ok.NLP(x0=z0, f=f, grad=grad, cons=cons, jac=jac, hess=hess,
                  lb=np.r_[np.full(2 * n1, -np.inf), np.full(N, -0.75)],
                  ub=np.r_[np.full(2 * n1, np.inf), np.full(N, 0.75)], name="vdp-callbacks")


def test_optimal_control_matches_a_hand_written_model(ipopt):
    N = 60
    prob, (x1, x2, u) = van_der_pol(N)
    P = ok.Problem(prob.objective, prob.constraints)
    assert P.compile("nlp").extra["derivatives"] == "optkit"
    x0 = {x2: np.ones(N + 1)}
    res = ok.solve(P, "ipopt", tol=1e-9, x0=x0)
    ref = ok.solve(van_der_pol_callbacks(N), "ipopt", tol=1e-9)
    assert res.termination.name == "LOCALLY_OPTIMAL" and ref.termination.name == "LOCALLY_OPTIMAL"
    assert res.objective == pytest.approx(ref.objective, rel=1e-7)
    z = ref.x
    assert np.allclose(res.value(u), z[2 * (N + 1):], atol=1e-5)
    assert np.allclose(res.value(x1), z[:N + 1], atol=1e-5)
    # the cvxpy engine's route agrees too
    eng = compile_nlp(prob, x0, derivatives="cvxpy").form
    assert eng.f(np.r_[z[:N + 1], z[N + 1:2 * (N + 1)], z[2 * (N + 1):]]) == pytest.approx(
        ref.objective, rel=1e-9)


def test_optimal_control_derivatives_cross_check():
    prob, (_x1, x2, u) = van_der_pol(15)
    _cross_check(prob, {x2: np.ones(16), u: 0.1 * np.ones(15)})


def test_build_at_1e5_uses_the_linear_time_path():
    N = 100_000
    h = 1.0 / N
    x = cp.Variable(N + 1)
    u = cp.Variable(N, bounds=[-2, 2])
    cons = [x[1:] - x[:-1] == h * (-cp.nlp.sin(x[:-1]) + u), x[0] == 1]
    P = ok.Problem(cp.Minimize(h * cp.sum_squares(x - 0.5) + h * cp.sum_squares(u)), cons)
    c = P.compile("nlp")
    assert c.extra["derivatives"] == "optkit"
    form = c.form
    assert (form.n, form.m) == (2 * N + 1, N + 1)
    assert form.hess_fn.__self__._hess is None  # nothing of the Hessian built yet
    r, _ = form.jac_structure()
    assert r.size == 3 * N + 1  # x[k+1], x[k], u[k] per row, plus x[0]
    pt = form.x0 + 0.01
    cv = form.cons(pt)
    xs = pt[:N + 1]
    assert np.allclose(cv[:N], xs[1:] - xs[:-1] - h * (-np.sin(xs[:-1]) + pt[N + 1:]))
