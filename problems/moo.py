"""Library ``moo``: multiobjective test problems with reference fronts generated from formulas.

Continuous (callback form, analytic Jacobians of F and of the constraints):
ZDT1–4, ZDT6 (Zitzler, Deb, Thiele 2000), DTLZ1, DTLZ2, DTLZ7 (Deb, Thiele, Laumanns, Zitzler
2002; m = 3), BNH, SRN, TNK, OSY, CTP1, CTP2 (Deb 2001; CTP with the unimodal g = 1 + Σ_{i≥2} x_i²).
Constraints follow the library convention g(x) ≤ 0. Reference fronts come from the analytic
Pareto sets/fronts (sampled densely, nondominated-filtered); none is downloaded.

Combinatorial (cvxpy algebra, boolean variables): bi-objective 0/1 knapsack (maximise two profits
under one capacity) and bi-objective assignment (minimise two cost matrices), small enough that
:func:`enumerate_front` lists every feasible solution and returns the exact nondominated set.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import numpy as np

PI = np.pi

try:  # the shared Instance type, once the batch helper provides it
    from optkit.problems_api import Instance  # type: ignore
except Exception:  # pragma: no cover - fallback until optkit/problems_api.py exists
    @dataclass
    class Instance:
        """One library instance (name, zero-arg build, class, sizes, expectations, source)."""

        name: str
        build: Callable[[], Any]
        problem_class: str
        n: int
        m: int
        known_objective: float | None = None
        expected: str = "optimal"
        source: str = ""
        meta: dict = field(default_factory=dict)


def _nd(F: np.ndarray) -> np.ndarray:
    from optkit.multiobjective.indicators import nondominated_mask

    F = F[np.all(np.isfinite(F), axis=1)]
    return F[nondominated_mask(F)]


# ============================================================================ ZDT
def _zdt_g_lin(x):
    n = x.size
    return 1.0 + 9.0 * np.sum(x[1:]) / (n - 1), np.full(n - 1, 9.0 / (n - 1))


def _zdt_g_rastrigin(x):
    n = x.size
    xi = x[1:]
    g = 1.0 + 10.0 * (n - 1) + np.sum(xi ** 2 - 10.0 * np.cos(4 * PI * xi))
    return g, 2 * xi + 40 * PI * np.sin(4 * PI * xi)


def _zdt_g_zdt6(x):
    n = x.size
    s = max(np.sum(x[1:]) / (n - 1), 1e-300)
    g = 1.0 + 9.0 * s ** 0.25
    dg = np.full(n - 1, 9.0 * 0.25 * max(s, 1e-12) ** -0.75 / (n - 1))
    return g, dg


def _h_sqrt(f1, g):
    """f2 = g − sqrt(f1 g): value, ∂/∂f1, ∂/∂g."""
    f1c = max(f1, 1e-12)
    r = np.sqrt(f1c * g)
    return g - np.sqrt(max(f1, 0) * g), -0.5 * np.sqrt(g / f1c), 1 - 0.5 * np.sqrt(f1c / g) + 0 * r


def _h_square(f1, g):
    """f2 = g − f1²/g."""
    return g - f1 * f1 / g, -2 * f1 / g, 1 + f1 * f1 / (g * g)


def _h_zdt3(f1, g):
    v, d1, dg = _h_sqrt(f1, g)
    s = np.sin(10 * PI * f1)
    return v - f1 * s, d1 - s - 10 * PI * f1 * np.cos(10 * PI * f1), dg


def _zdt(kind: str, n: int):
    gfun = {"ZDT4": _zdt_g_rastrigin, "ZDT6": _zdt_g_zdt6}.get(kind, _zdt_g_lin)
    hfun = {"ZDT1": _h_sqrt, "ZDT4": _h_sqrt, "ZDT2": _h_square, "ZDT6": _h_square,
            "ZDT3": _h_zdt3}[kind]

    def f1_of(x):
        if kind == "ZDT6":
            e, s = np.exp(-4 * x[0]), np.sin(6 * PI * x[0])
            return 1 - e * s ** 6, 4 * e * s ** 6 - e * 6 * s ** 5 * np.cos(6 * PI * x[0]) * 6 * PI
        return x[0], 1.0

    def F(x):
        x = np.asarray(x, float)
        f1, _ = f1_of(x)
        g, _ = gfun(x)
        return np.array([f1, hfun(f1, g)[0]])

    def J(x):
        x = np.asarray(x, float)
        f1, df1 = f1_of(x)
        g, dg = gfun(x)
        _, h1, hg = hfun(f1, g)
        out = np.zeros((2, x.size))
        out[0, 0] = df1
        out[1, 0] = h1 * df1
        out[1, 1:] = hg * dg
        return out

    lb = np.zeros(n)
    ub = np.ones(n)
    if kind == "ZDT4":
        lb[1:], ub[1:] = -5.0, 5.0
    return F, J, lb, ub


def zdt_front(kind: str, k: int = 2000) -> np.ndarray:
    """Reference front of a ZDT problem (g = 1 on the Pareto set)."""
    if kind == "ZDT6":
        f1 = np.linspace(0.2807753191, 1.0, k)
        return np.column_stack([f1, 1 - f1 ** 2])
    f1 = np.linspace(0.0, 1.0, k if kind != "ZDT3" else 20 * k)
    f2 = {"ZDT1": 1 - np.sqrt(f1), "ZDT4": 1 - np.sqrt(f1), "ZDT2": 1 - f1 ** 2,
          "ZDT3": 1 - np.sqrt(f1) - f1 * np.sin(10 * PI * f1)}[kind]
    return _nd(np.column_stack([f1, f2]))


# ============================================================================ DTLZ
def _sphere_map(theta_x: np.ndarray, m: int, radius: float, ang: float = PI / 2):
    """f_i = R Π_{j<m−1−i} cos(a x_j) · sin(a x_{m−1−i}) (i > 0); Jacobian w.r.t. x[:m−1], R."""
    c, s = np.cos(ang * theta_x), np.sin(ang * theta_x)
    f = np.empty(m)
    dth = np.zeros((m, m - 1))
    for i in range(m):
        k = m - 1 - i  # number of cos factors
        base = np.prod(c[:k])
        val = base * (s[k] if i > 0 else 1.0)
        f[i] = radius * val
        for j in range(k):
            d = -ang * s[j] * np.prod(np.delete(c[:k], j)) * (s[k] if i > 0 else 1.0)
            dth[i, j] = radius * d
        if i > 0:
            dth[i, k] = radius * base * ang * c[k]
    return f, dth


def _dtlz(kind: str, m: int, k: int):
    n = m + k - 1

    def parts(x):
        xm = x[m - 1:]
        if kind == "DTLZ1":
            y = xm - 0.5
            g = 100 * (k + np.sum(y ** 2 - np.cos(20 * PI * y)))
            dg = 100 * (2 * y + 20 * PI * np.sin(20 * PI * y))
        elif kind == "DTLZ2":
            g = np.sum((xm - 0.5) ** 2)
            dg = 2 * (xm - 0.5)
        else:  # DTLZ7
            g = 1 + 9.0 / k * np.sum(xm)
            dg = np.full(k, 9.0 / k)
        return g, dg

    def F(x):
        x = np.asarray(x, float)
        return _FJ(x)[0]

    def J(x):
        return _FJ(np.asarray(x, float))[1]

    def _FJ(x):
        g, dg = parts(x)
        Jm = np.zeros((m, n))
        if kind == "DTLZ2":
            f, dth = _sphere_map(x[:m - 1], m, 1 + g)
            Jm[:, :m - 1] = dth
            Jm[:, m - 1:] = np.outer(f / (1 + g), dg)
            return f, Jm
        if kind == "DTLZ1":
            f = np.empty(m)
            xs = x[:m - 1]
            for i in range(m):
                kk = m - 1 - i
                prod = np.prod(xs[:kk]) * ((1 - xs[kk]) if i > 0 else 1.0)
                f[i] = 0.5 * (1 + g) * prod
                for j in range(kk):
                    Jm[i, j] = 0.5 * (1 + g) * np.prod(np.delete(xs[:kk], j)) * \
                        ((1 - xs[kk]) if i > 0 else 1.0)
                if i > 0:
                    Jm[i, kk] = -0.5 * (1 + g) * np.prod(xs[:kk])
                Jm[i, m - 1:] = 0.5 * prod * dg
            return f, Jm
        # DTLZ7
        f = np.empty(m)
        f[:m - 1] = x[:m - 1]
        fi = x[:m - 1]
        h = m - np.sum(fi / (1 + g) * (1 + np.sin(3 * PI * fi)))
        f[m - 1] = (1 + g) * h
        for j in range(m - 1):
            Jm[j, j] = 1.0
            Jm[m - 1, j] = -(1 + np.sin(3 * PI * fi[j]) + fi[j] * 3 * PI * np.cos(3 * PI * fi[j]))
        # d/dg of (1+g) h = h + (1+g) dh/dg = h + Σ f_i/(1+g)(1+sin)
        dfdg = h + np.sum(fi / (1 + g) * (1 + np.sin(3 * PI * fi)))
        Jm[m - 1, m - 1:] = dfdg * dg
        return f, Jm

    return F, J, np.zeros(n), np.ones(n)


def dtlz_front(kind: str, m: int = 3, k: int = 60) -> np.ndarray:
    """Reference front: DTLZ1 simplex Σf = 1/2; DTLZ2 unit sphere octant; DTLZ7 from g = 1."""
    from optkit.multiobjective.scalarize import simplex_lattice

    if kind == "DTLZ1":
        return 0.5 * simplex_lattice(m, k)
    if kind == "DTLZ2":
        W = simplex_lattice(m, k)
        return W / np.linalg.norm(W, axis=1, keepdims=True)
    grid = np.linspace(0, 1, 4 * k)
    pts = np.array(list(itertools.product(grid, repeat=m - 1)))
    last = 2 * (m - np.sum(pts / 2 * (1 + np.sin(3 * PI * pts)), axis=1))
    return _nd(np.column_stack([pts, last]))


# ============================================================================ constrained
def _bnh():
    def F(x):
        return np.array([4 * x[0] ** 2 + 4 * x[1] ** 2, (x[0] - 5) ** 2 + (x[1] - 5) ** 2])

    def J(x):
        return np.array([[8 * x[0], 8 * x[1]], [2 * (x[0] - 5), 2 * (x[1] - 5)]])

    def g(x):
        return np.array([(x[0] - 5) ** 2 + x[1] ** 2 - 25, -(x[0] - 8) ** 2 - (x[1] + 3) ** 2 + 7.7])

    def gJ(x):
        return np.array([[2 * (x[0] - 5), 2 * x[1]], [-2 * (x[0] - 8), -2 * (x[1] + 3)]])

    t = np.linspace(0, 3, 1500)
    u = np.linspace(3, 5, 1000)
    X = np.vstack([np.column_stack([t, t]), np.column_stack([u, np.full_like(u, 3.0)])])
    front = _nd(np.array([F(x) for x in X]))
    return F, J, g, gJ, np.array([0.0, 0.0]), np.array([5.0, 3.0]), front


def _srn():
    def F(x):
        return np.array([2 + (x[0] - 2) ** 2 + (x[1] - 1) ** 2, 9 * x[0] - (x[1] - 1) ** 2])

    def J(x):
        return np.array([[2 * (x[0] - 2), 2 * (x[1] - 1)], [9.0, -2 * (x[1] - 1)]])

    def g(x):
        return np.array([x[0] ** 2 + x[1] ** 2 - 225, x[0] - 3 * x[1] + 10])

    def gJ(x):
        return np.array([[2 * x[0], 2 * x[1]], [1.0, -3.0]])

    x2 = np.linspace(2.5, np.sqrt(225 - 6.25), 2500)
    X = np.column_stack([np.full_like(x2, -2.5), x2])
    front = _nd(np.array([F(x) for x in X]))
    return F, J, g, gJ, np.array([-20.0, -20.0]), np.array([20.0, 20.0]), front


def _tnk():
    def F(x):
        return np.array([x[0], x[1]])

    def J(x):
        return np.eye(2)

    def g(x):
        a = np.arctan2(x[0], x[1])
        return np.array([-x[0] ** 2 - x[1] ** 2 + 1 + 0.1 * np.cos(16 * a),
                         (x[0] - 0.5) ** 2 + (x[1] - 0.5) ** 2 - 0.5])

    def gJ(x):
        r2 = max(x[0] ** 2 + x[1] ** 2, 1e-300)
        a = np.arctan2(x[0], x[1])
        da = np.array([x[1] / r2, -x[0] / r2])
        return np.array([[-2 * x[0], -2 * x[1]] - 1.6 * np.sin(16 * a) * da,
                         [2 * (x[0] - 0.5), 2 * (x[1] - 0.5)]])

    th = np.linspace(0, PI / 2, 20000)
    r = np.sqrt(1 + 0.1 * np.cos(16 * (PI / 2 - th)))
    X = np.column_stack([r * np.cos(th), r * np.sin(th)])
    ok = ((X[:, 0] - 0.5) ** 2 + (X[:, 1] - 0.5) ** 2 <= 0.5) & np.all(X > 0, axis=1)
    front = _nd(X[ok])
    return F, J, g, gJ, np.array([1e-12, 1e-12]), np.array([PI, PI]), front


def _osy():
    w = np.array([25.0, 1, 1, 1, 1])
    c = np.array([2.0, 2, 1, 4, 1])

    def F(x):
        return np.array([-np.sum(w * (x[:5] - c) ** 2), np.sum(x ** 2)])

    def J(x):
        J_ = np.zeros((2, 6))
        J_[0, :5] = -2 * w * (x[:5] - c)
        J_[1] = 2 * x
        return J_

    def g(x):  # Deb's C_i(x) >= 0 written as -C_i(x) <= 0
        return -np.array([x[0] + x[1] - 2, 6 - x[0] - x[1], 2 - x[1] + x[0], 2 - x[0] + 3 * x[1],
                          4 - (x[2] - 3) ** 2 - x[3], (x[4] - 3) ** 2 + x[5] - 4])

    def gJ(x):
        G = np.zeros((6, 6))
        G[0, :2] = [1, 1]
        G[1, :2] = [-1, -1]
        G[2, :2] = [1, -1]
        G[3, :2] = [-1, 3]
        G[4, 2], G[4, 3] = -2 * (x[2] - 3), -1
        G[5, 4], G[5, 5] = 2 * (x[4] - 3), 1
        return -G

    lb = np.array([0.0, 0, 1, 0, 1, 0])
    ub = np.array([10.0, 10, 5, 6, 5, 10])
    s = np.linspace(0, 1, 800)
    segs = []
    x3 = 1 + 4 * s
    segs.append(np.column_stack([5 + 0 * s, 1 + 0 * s, x3, 0 * s, 5 + 0 * s, 0 * s]))
    segs.append(np.column_stack([5 + 0 * s, 1 + 0 * s, x3, 0 * s, 1 + 0 * s, 0 * s]))
    x1 = 4.056 + (5 - 4.056) * s
    segs.append(np.column_stack([x1, (x1 - 2) / 3, 1 + 0 * s, 0 * s, 1 + 0 * s, 0 * s]))
    x3b = 1 + 2.732 * s
    segs.append(np.column_stack([0 * s, 2 + 0 * s, x3b, 0 * s, 1 + 0 * s, 0 * s]))
    segs.append(np.column_stack([s, 2 - s, 1 + 0 * s, 0 * s, 1 + 0 * s, 0 * s]))
    X = np.vstack(segs)
    feas = np.array([np.all(g(x) <= 1e-9) for x in X])
    front = _nd(np.array([F(x) for x in X[feas]]))
    return F, J, g, gJ, lb, ub, front


def _ctp(kind: str, n: int = 4):
    def gfun(x):
        return 1 + np.sum(x[1:] ** 2), np.concatenate([[0.0], 2 * x[1:]])

    if kind == "CTP1":
        a = np.array([0.858, 0.728])
        b = np.array([0.541, 0.295])

        def F(x):
            g, _ = gfun(x)
            return np.array([x[0], g * np.exp(-x[0] / g)])

        def J(x):
            g, dg = gfun(x)
            e = np.exp(-x[0] / g)
            J_ = np.zeros((2, x.size))
            J_[0, 0] = 1
            J_[1] = e * (1 + x[0] / g) * dg
            J_[1, 0] = -e
            return J_

        def g(x):  # a_j exp(-b_j f1) - f2 <= 0
            f = F(x)
            return a * np.exp(-b * f[0]) - f[1]

        def gJ(x):
            f, Jf = F(x), J(x)
            return np.outer(-a * b * np.exp(-b * f[0]), Jf[0]) - Jf[1][None, :]

        f1 = np.linspace(0, 1, 5000)
        low = np.maximum.reduce([np.exp(-f1), a[0] * np.exp(-b[0] * f1), a[1] * np.exp(-b[1] * f1)])
        front = _nd(np.column_stack([f1, low]))
        return F, J, g, gJ, np.zeros(n), np.ones(n), front

    th, A, B, C, D, E = -0.2 * PI, 0.2, 10.0, 1.0, 6.0, 1.0
    ct, st = np.cos(th), np.sin(th)

    def F(x):
        g, _ = gfun(x)
        return np.array([x[0], g - x[0]])

    def J(x):
        _, dg = gfun(x)
        J_ = np.zeros((2, x.size))
        J_[0, 0] = 1
        J_[1] = dg
        J_[1, 0] = -1
        return J_

    def cval(f1, f2):
        u = st * (f2 - E) + ct * f1
        return A * np.sin(B * PI * u ** C) ** D - (ct * (f2 - E) - st * f1)

    def g(x):
        f = F(x)
        return np.array([cval(f[0], f[1])])

    def gJ(x):
        f, Jf = F(x), J(x)
        u = st * (f[1] - E) + ct * f[0]
        s = np.sin(B * PI * u)
        du = A * D * s ** (D - 1) * np.cos(B * PI * u) * B * PI
        d1 = du * ct + st
        d2 = du * st - ct
        return (d1 * Jf[0] + d2 * Jf[1])[None, :]

    f1 = np.linspace(0, 1, 2000)
    f2 = np.linspace(0, 1.5, 6000)
    F1, F2 = np.meshgrid(f1, f2, indexing="ij")
    ok = (F2 >= 1 - F1 - 1e-12) & (cval(F1, F2) <= 0)
    first = np.where(ok.any(axis=1), ok.argmax(axis=1), -1)
    pts = np.column_stack([f1[first >= 0], f2[first[first >= 0]]])
    front = _nd(pts)
    return F, J, g, gJ, np.zeros(n), np.ones(n), front


# ============================================================================ builders
CONTINUOUS = {"ZDT1": 30, "ZDT2": 30, "ZDT3": 30, "ZDT4": 10, "ZDT6": 10,
              "DTLZ1": 7, "DTLZ2": 12, "DTLZ7": 22, "BNH": 2, "SRN": 2, "TNK": 2, "OSY": 6,
              "CTP1": 4, "CTP2": 4}


def problem(name: str, n: int | None = None, m: int | None = None, **kw):
    """``(MultiObjective, reference_front)`` for a continuous test problem by name.

    ``m`` sets the number of objectives of the scalable DTLZ problems (default 3; n = m + k − 1
    with k = 5, 10, 20 for DTLZ1, 2, 7 unless ``n`` is given). The reference front of an
    m-objective DTLZ problem is a lattice with about 500 points for m ≥ 4."""
    from optkit.multiobjective import MultiObjective

    name = name.upper()
    if name not in CONTINUOUS:
        raise KeyError(f"unknown moo problem {name!r}; known: {', '.join(CONTINUOUS)}")
    cons = cons_jac = None
    if m is not None and not name.startswith("DTLZ"):
        raise ValueError(f"{name} has a fixed number of objectives; m= applies to DTLZ problems")
    if name.startswith("ZDT"):
        F, J, lb, ub = _zdt(name, n or CONTINUOUS[name])
        front = zdt_front(name)
    elif name.startswith("DTLZ"):
        k = {"DTLZ1": 5, "DTLZ2": 10, "DTLZ7": 20}[name]
        mm = 3 if m is None else int(m)
        if mm < 2:
            raise ValueError(f"{name} needs m >= 2 objectives, got m={m!r}")
        F, J, lb, ub = _dtlz(name, mm, k if n is None else n - mm + 1)
        if name == "DTLZ7":  # a grid of (4k)^(m-1) points: k = 60 for m <= 3, ~2e5 points above
            lattice = 60 if mm <= 3 else max(1, int((2e5) ** (1 / (mm - 1)) / 4))
        else:                # a simplex lattice: about 500 points for m >= 4
            lattice = {2: 400, 3: 60, 4: 14, 5: 8, 6: 6}.get(mm, 4)
        front = dtlz_front(name, mm, lattice)
    elif name.startswith("CTP"):
        F, J, cons, cons_jac, lb, ub, front = _ctp(name, n or 4)
    else:
        F, J, cons, cons_jac, lb, ub, front = {"BNH": _bnh, "SRN": _srn, "TNK": _tnk,
                                               "OSY": _osy}[name]()
    x0 = np.clip(0.5 * (lb + ub), lb, ub)
    if name == "OSY":
        x0 = np.array([3.0, 2, 2, 0, 2, 1])  # a feasible start
    mo = MultiObjective(F, n=lb.size, x0=x0, jac=J, lb=lb, ub=ub, cons=cons, cons_jac=cons_jac,
                        name=name, **kw)
    return mo, front


def reference_front(name: str) -> np.ndarray:
    """The reference front of a continuous problem (user units)."""
    return problem(name)[1]


# ---------------------------------------------------------------------------- combinatorial
def knapsack_data(n_items: int = 12, seed: int = 0):
    """Profits p (2×n; p₁ uniform 10..100, p₂ = 110 − p₁ ± 10: conflicting), weights w uniform
    10..100, capacity W = half the total weight."""
    rng = np.random.default_rng(seed)
    p1 = rng.integers(10, 101, size=n_items)
    p2 = np.clip(110 - p1 + rng.integers(-10, 11, size=n_items), 1, None)
    p = np.vstack([p1, p2]).astype(float)
    w = rng.integers(10, 101, size=n_items).astype(float)
    return p, w, float(np.floor(w.sum() / 2))


def knapsack(n_items: int = 12, seed: int = 0, **kw):
    """Bi-objective 0/1 knapsack: maximise p₁ᵀx, p₂ᵀx s.t. wᵀx ≤ W, x binary."""
    import cvxpy as cp

    from optkit.multiobjective import MultiObjective

    p, w, W = knapsack_data(n_items, seed)
    x = cp.Variable(n_items, boolean=True, name="x")
    return MultiObjective([cp.Maximize(p[0] @ x), cp.Maximize(p[1] @ x)], [w @ x <= W],
                          names=["profit1", "profit2"], name=f"knapsack{n_items}_s{seed}", **kw)


def assignment_data(size: int = 5, seed: int = 0):
    rng = np.random.default_rng(1000 + seed)
    return rng.integers(1, 21, size=(2, size, size)).astype(float)


def assignment(size: int = 5, seed: int = 0, **kw):
    """Bi-objective assignment: minimise Σ C¹_ij x_ij, Σ C²_ij x_ij over permutation matrices."""
    import cvxpy as cp

    from optkit.multiobjective import MultiObjective

    C = assignment_data(size, seed)
    X = cp.Variable((size, size), boolean=True, name="X")
    cons = [cp.sum(X, axis=0) == 1, cp.sum(X, axis=1) == 1]
    return MultiObjective([cp.Minimize(cp.sum(cp.multiply(C[0], X))),
                           cp.Minimize(cp.sum(cp.multiply(C[1], X)))], cons,
                          names=["cost1", "cost2"], name=f"assignment{size}_s{seed}", **kw)


def enumerate_front(kind: str, size: int, seed: int = 0) -> np.ndarray:
    """Exact nondominated set (user units) by listing every feasible solution."""
    if kind == "knapsack":
        p, w, W = knapsack_data(size, seed)
        B = np.array(list(itertools.product([0, 1], repeat=size)), float)
        B = B[B @ w <= W]
        F = B @ p.T
        G = -F
    elif kind == "assignment":
        C = assignment_data(size, seed)
        perms = np.array(list(itertools.permutations(range(size))))
        rows = np.arange(size)
        F = np.column_stack([C[0][rows, perms].sum(axis=1), C[1][rows, perms].sum(axis=1)])
        G = F
    else:
        raise KeyError(kind)
    from optkit.multiobjective.indicators import nondominated_mask

    U = np.unique(G, axis=0)
    U = U[nondominated_mask(U)]
    return U * (-1 if kind == "knapsack" else 1)


# ============================================================================ library
class _Library:
    name = "moo"
    description = ("multiobjective test problems: ZDT1-4, ZDT6, DTLZ1/2/7, BNH, SRN, TNK, OSY, "
                   "CTP1-2 (reference fronts from formulas) and small bi-objective knapsack and "
                   "assignment instances with exact fronts by enumeration")

    def instances(self, names=None, combinatorial: bool = True, **params) -> list:
        out = []
        for nm in (names or CONTINUOUS):
            if nm not in CONTINUOUS:
                continue
            out.append(Instance(
                name=nm.lower(), build=(lambda nm=nm: problem(nm)[0]), problem_class="multiobjective",
                n=CONTINUOUS[nm], m=3 if nm.startswith("DTLZ") else 2, expected="front",
                source="Zitzler-Deb-Thiele 2000 / Deb et al. 2002 / Deb 2001 (formulas)",
                meta={"reference_front": (lambda nm=nm: problem(nm)[1])}))
        if combinatorial and names is None:
            for size, seed in ((10, 0), (12, 1)):
                out.append(Instance(
                    name=f"knapsack{size}_s{seed}", build=(lambda s=size, d=seed: knapsack(s, d)),
                    problem_class="multiobjective", n=size, m=2, expected="front",
                    source="random uniform 10..100, capacity half the weight",
                    meta={"exact_front": (lambda s=size, d=seed: enumerate_front("knapsack", s, d))}))
            for size, seed in ((4, 0), (5, 1)):
                out.append(Instance(
                    name=f"assignment{size}_s{seed}",
                    build=(lambda s=size, d=seed: assignment(s, d)), problem_class="multiobjective",
                    n=size * size, m=2, expected="front", source="random costs 1..20",
                    meta={"exact_front": (lambda s=size, d=seed: enumerate_front("assignment", s, d))}))
        return out


library = _Library()
