"""The three data-heavy problems of ``hs-eq``: BA-L1, BA-L1SP and MANCINONE (vectorised numpy).

optkit's own versions, written from the CUTEst SIF descriptions (problem formulas and data; no code
taken). Each ``build_*`` returns an :class:`optkit.NLP` with f ≡ 0 and the equations as
constraints c(x) = 0 (the CUTEst "NE" form), exact Jacobians and Hessians of λᵀc.

BA-L1 (n = 57, m = 12; Gould 2016, data from "Bundle Adjustment in the Large", Ladybug set): one
3-D point X observed in 6 images. Camera j has a Rodrigues rotation ω_j, translation t_j, radial
distortion k1_j, k2_j and focal length f_j (variables ordered X, then per camera
ω, t, k1, k2, f). With θ = ‖ω‖, u = ω/θ (derivatives by exact second-order forward mode,
:class:`_Jet`),

    P = X cos θ + (u × X) sin θ + u (uᵀX)(1 − cos θ) + t,    p = −(P₁, P₂)/P₃,
    c_{2j−1,2j} = f (1 + k1 ‖p‖² + k2 ‖p‖⁴) p − o_j          (o_j the observed pixel pair).

BA-L1SP (n = 57, m = 12; Gould 2016): "a small under-determined set of quadratic equations from a
bundle adjustment subproblem". Row k has coefficients a_k on an index set L_k (the point's 3
variables and one camera's 9) and reads

    c_k(x) = Σ_{i∈L_k} a_ki x_i (1 + Σ_{j ≥ i} x_j) − b_k,      start x = 0,

so ∂c_k/∂x_l = a_kl (1 + s_l) + Σ_{i ≤ l} a_ki x_i with s_l = Σ_{j≥l} x_j, and with w = Aᵀλ the
Hessian of λᵀc is H_lp = w_min(l,p) off the diagonal and 2 w_l on it.

MANCINONE (n = m = 100 by default; Spedicato 1975, Buckley #51, SIF by Toint, NE form by Gould):
α = 5, β = 14, γ = 3,

    c_i(x) = β n x_i + Σ_{j≠i} v_ij (sin^α(log v_ij) + cos^α(log v_ij)) − (i − n/2)^γ,
    v_ij = sqrt(x_j² + i/j),

started, as the SIF file does, at x⁰_i = A (h_i + (i − n/2)^γ) with h_i the sum above at x = 0 and
A = −β n / ((β n)² − (α + 1)² (n − 1)²). The element e(x; a) = v (sin^α log v + cos^α log v),
v = sqrt(x² + a), and its first two derivatives are generated once with sympy and evaluated on the
whole n×n array at a time.
"""
from __future__ import annotations

from functools import cache

import numpy as np
import scipy.sparse as sp

from optkit.extras import require

# ---------------------------------------------------------------------------------------------- BA-L1
BA_POINT = (-0.6120001572, 0.57175904776, -1.847081276)
BA_CAMERAS = (   # ω (3), t (3), k1, k2, f for the images 1, 2, 4, 27, 30, 37 of the Ladybug set
    (.01574151594, -.0127909362, -.0044008498, -.0340938396, -.107513871, 1.1202240291,
     -3.177064e-7, 5.882049e-13, 399.75152639),
    (.01597732412, -.0252244646, -.0094001416, -.0085667661, -.1218804907, .7190133075,
     -3.780477e-7, 9.307431e-13, 402.01753386),
    (.01484625118, -.0210628994, -.001166948, -.0249509707, -.1139847055, .92166020737,
     -3.295265e-7, 6.732885e-13, 400.40175368),
    (.01991666998, -1.22433082, .0119988756, -1.411897512, -.1148065151, .44915582738,
     5.95875e-8, -2.48391e-13, 407.03024568),
    (.02082242153, -1.238434791, .01389314763, -1.049686225, -.1299513286, .33798380231,
     4.5673127e-8, -1.79243e-13, 405.91764962),
    (.01658816461, -1.247226838, .01846788123, -.8617315756, -.1321089362, .28256800868,
     4.7465711e-8, -1.50881e-13, 404.73590637),
)
BA_OBSERVED = ((-332.65, 262.09), (-199.76, 166.7), (-253.06, 202.27), (58.13, 271.89),
               (238.22, 237.37), (317.55, 221.15))


class _Jet:
    """Second-order forward-mode value: v, gradient g and Hessian H in the 12 local variables.

    Products and the smooth unary maps follow the chain rule exactly,
    (φ∘a)″ = φ′(a) a″ + φ″(a) a′a′ᵀ,  (ab)″ = a b″ + b a″ + a′b′ᵀ + b′a′ᵀ,
    so values, Jacobians and Hessians are exact up to rounding."""

    __slots__ = ("v", "g", "H")

    def __init__(self, v, g, H):
        self.v, self.g, self.H = v, g, H

    @staticmethod
    def const(c, d=12):
        return _Jet(float(c), np.zeros(d), np.zeros((d, d)))

    def __add__(self, o):
        o = o if isinstance(o, _Jet) else _Jet.const(o, self.g.size)
        return _Jet(self.v + o.v, self.g + o.g, self.H + o.H)

    __radd__ = __add__

    def __neg__(self):
        return _Jet(-self.v, -self.g, -self.H)

    def __sub__(self, o):
        return self + (-o)

    def __rsub__(self, o):
        return (-self) + o

    def __mul__(self, o):
        if not isinstance(o, _Jet):
            return _Jet(self.v * o, self.g * o, self.H * o)
        gg = np.outer(self.g, o.g)
        return _Jet(self.v * o.v, self.v * o.g + o.v * self.g, self.v * o.H + o.v * self.H + gg + gg.T)

    __rmul__ = __mul__

    def unary(self, f0, f1, f2):
        return _Jet(f0, f1 * self.g, f1 * self.H + f2 * np.outer(self.g, self.g))

    def __truediv__(self, o):
        if not isinstance(o, _Jet):
            return self * (1.0 / o)
        return self * o.unary(1.0 / o.v, -1.0 / o.v ** 2, 2.0 / o.v ** 3)


def _jsqrt(a: _Jet) -> _Jet:
    r = np.sqrt(a.v)
    return a.unary(r, 0.5 / r, -0.25 / (r * a.v))


def _jsin(a: _Jet) -> _Jet:
    return a.unary(np.sin(a.v), np.cos(a.v), -np.sin(a.v))


def _jcos(a: _Jet) -> _Jet:
    return a.unary(np.cos(a.v), -np.sin(a.v), -np.cos(a.v))


def ba_projection(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Projection (2,), its Jacobian (2×12) and Hessians (2×12×12) at the local variables
    z = (X, Y, Z, ω1, ω2, ω3, t1, t2, t3, k1, k2, f) of one camera/point pair."""
    d = z.size
    eye = np.eye(d)
    v = [_Jet(float(z[k]), eye[k].copy(), np.zeros((d, d))) for k in range(d)]
    X, w, t = v[0:3], v[3:6], v[6:9]
    k1, k2, f = v[9:12]
    th = _jsqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2])
    u = [wi / th for wi in w]
    ct, st = _jcos(th), _jsin(th)
    udx = u[0] * X[0] + u[1] * X[1] + u[2] * X[2]
    cross = [u[1] * X[2] - u[2] * X[1], u[2] * X[0] - u[0] * X[2], u[0] * X[1] - u[1] * X[0]]
    P = [X[k] * ct + cross[k] * st + u[k] * udx * (1.0 - ct) + t[k] for k in range(3)]
    p = [-P[0] / P[2], -P[1] / P[2]]
    r2 = p[0] * p[0] + p[1] * p[1]
    scale = f * (1.0 + k1 * r2 + k2 * (r2 * r2))
    out = [scale * p[0], scale * p[1]]
    return (np.array([o.v for o in out]), np.array([o.g for o in out]),
            np.array([o.H for o in out]))


def _ba_local_index() -> np.ndarray:
    """6×12 indices into x of each camera's local variables (point first)."""
    return np.array([[0, 1, 2] + list(range(3 + 9 * j, 12 + 9 * j)) for j in range(6)])


def build_ba_l1():
    """BA-L1: 12 projection equations of one point in 6 images, n = 57."""
    import optkit as ok

    idx = _ba_local_index()
    obs = np.asarray(BA_OBSERVED, dtype=float)
    x0 = np.r_[BA_POINT, np.ravel(BA_CAMERAS)]
    n, m = x0.size, 12
    rows = np.repeat(np.arange(m), 12)
    cols = np.repeat(idx, 2, axis=0).ravel()

    cache: dict = {}

    def parts(x):
        """Per-camera projections with derivatives, cached for the last x."""
        key = x.tobytes()
        if cache.get("key") != key:
            cache["key"], cache["val"] = key, [ba_projection(x[I]) for I in idx]
        return cache["val"]

    def cons(x):
        return np.concatenate([pj[0] for pj in parts(x)]) - obs.ravel()

    def jac(x):
        vals = np.concatenate([pj[1].ravel() for pj in parts(x)])
        return sp.csr_matrix((vals, (rows, cols)), shape=(m, n))

    def hess(x, y):
        Hx = np.zeros((n, n))
        for j, (I, pj) in enumerate(zip(idx, parts(x))):
            Hx[np.ix_(I, I)] += y[2 * j] * pj[2][0] + y[2 * j + 1] * pj[2][1]
        return Hx

    return ok.NLP(x0=x0, f=lambda x: 0.0, grad=lambda x: np.zeros(n), cons=cons, jac=jac,
                  hess=hess, name="BA-L1")


# -------------------------------------------------------------------------------------------- BA-L1SP
_SP_POINT = (1, 2, 3)          # 1-based variable indices of the point in every row
BA_SP_ROWS = (  # (first camera variable, the 12 coefficients on the point (3) then the camera (9))
    (4, (545.11792729, -5.058282413, -478.0666573, -283.5120115, -1296.338862, -320.6033515,
         551.17734728, .00020463888, -471.0948965, -409.2809619, -490.2705298, -.8547064923)),
    (4, (2.44930593, 556.94489983, 368.0324789, 1234.7454956, 227.79935236, -347.0888335,
         .00020463888, 551.17743945, 376.80482466, 327.36300527, 392.14243755, .68363621076)),
    (13, (350.08946365, .39982371752, -186.7535887, -107.0193513, -758.7948959, -207.8248083,
          354.69032045, 5.7520864e-5, -177.8608216, -87.5738398, -38.04282609, -.5014538225)),
    (13, (.52655531437, 356.88663624, 145.9511661, 740.42840621, 92.188824988, -222.1616016,
          5.7520864e-5, 354.69033883, 151.71150127, 74.698624396, 32.449722244, .42772945465)),
    (22, (424.98400393, -3.679913168, -285.9919818, -168.2771917, -958.0774748, -249.6325723,
          430.9113597, 9.5401875e-5, -277.0049802, -176.6544282, -121.2420785, -.6428351473)),
    (22, (4.2853403082, 434.04620563, 218.70892251, 921.07415044, 136.05794576, -271.6835835,
          9.5401875e-5, 430.9113995, 225.18412985, 143.60670941, 98.560653819, .52257642872)),
    (31, (257.01763205, -10.17665712, -485.335462, -144.7289642, -770.5881534, -272.9493307,
          543.87077184, 1.1685922e-6, 76.920229468, 2.0869983072, .07566110172, .14143107787)),
    (31, (70.320803231, 179.34148777, 15.269871971, 620.43380046, 194.45316484, -289.1623446,
          1.1685922e-6, 543.8707716, 69.331903641, 1.8811119849, .06819699123, .12747863508)),
    (40, (422.1912571, -8.291703599, -366.5398322, -32.98148952, -1001.73529, -309.2254094,
          484.30591161, 2.2083578e-6, 279.48782165, 79.76578597, 27.161405788, .57708943686)),
    (40, (44.828047187, 152.76507038, 6.0272627364, 536.26711278, 204.18278149, -250.6380806,
          2.2083578e-6, 484.30589721, 41.892546625, 11.956127062, 4.0712344877, .08650017735)),
    (49, (480.66081245, -9.700408082, -321.955117, 5.7198974673, -1082.833992, -318.8938606,
          458.16637265, 2.2305592e-6, 353.36608051, 187.06511552, 112.10170813, .77126151439)),
    (49, (35.371625137, 141.48851847, 3.9687026816, 499.62967221, 205.63088192, -232.6571585,
          2.2305592e-6, 458.16634697, 30.465184316, 16.127674776, 9.6647623772, .06649371711)),
)
BA_SP_RHS = (9.020224572, -11.194618482, 1.83322914, -5.254740578, 4.332320525, -6.9705186587,
             .5632735813, 220.0023398, 3.969211949, 202.2580513, 5.392772211, 194.2376052)


def ba_sp_matrix(n: int = 57) -> np.ndarray:
    """The 12×n coefficient matrix A of BA-L1SP (a_ki on L_k, zero elsewhere)."""
    A = np.zeros((len(BA_SP_ROWS), n))
    for k, (first, coef) in enumerate(BA_SP_ROWS):
        cols = [i - 1 for i in _SP_POINT] + list(range(first - 1, first + 8))
        A[k, cols] = coef
    return A


def build_ba_l1sp():
    """BA-L1SP: c(x) = A (x ⊙ (1 + s(x))) − b, s_i = Σ_{j≥i} x_j, n = 57, m = 12, x0 = 0."""
    import optkit as ok

    n = 57
    A = ba_sp_matrix(n)
    b = np.asarray(BA_SP_RHS)
    upper = np.triu(np.ones((n, n)))        # H_lp = w_min(l,p): w broadcast on the upper triangle

    def suffix(x):
        return np.cumsum(x[::-1])[::-1]

    def cons(x):
        return A @ (x * (1.0 + suffix(x))) - b

    def jac(x):
        return A * (1.0 + suffix(x))[None, :] + np.cumsum(A * x[None, :], axis=1)

    def hess(x, y):
        w = A.T @ y
        U = upper * w[:, None]              # U_lp = w_l for l ≤ p
        return U + U.T                      # off-diagonal w_min(l,p), diagonal 2 w_l

    return ok.NLP(x0=np.zeros(n), f=lambda x: 0.0, grad=lambda x: np.zeros(n), cons=cons,
                  jac=jac, hess=hess, name="BA-L1SP")


# ------------------------------------------------------------------------------------------ MANCINONE
MANCINO_ALPHA, MANCINO_BETA, MANCINO_GAMMA = 5, 14.0, 3


@cache
def _mancino_element():
    """e(x; a) = v (sin^α log v + cos^α log v), v = sqrt(x² + a), with e′ and e″ in x (numpy)."""
    sym = require("sympy", "hs", "the hs-eq problem library")  # exact derivatives

    x, a = sym.symbols("x a", real=True)
    v = sym.sqrt(x ** 2 + a)
    e = v * (sym.sin(sym.log(v)) ** MANCINO_ALPHA + sym.cos(sym.log(v)) ** MANCINO_ALPHA)
    d1 = sym.diff(e, x)
    d2 = sym.diff(d1, x)
    return tuple(sym.lambdify([x, a], expr, modules="numpy", cse=True) for expr in (e, d1, d2))


def mancino_start(n: int) -> np.ndarray:
    """The SIF start point x⁰_i = A (h_i + (i − n/2)^γ)."""
    e, _, _ = _mancino_element()
    i = np.arange(1, n + 1, dtype=float)
    ratio = i[:, None] / i[None, :]
    E = e(np.zeros((1, n)), ratio)
    np.fill_diagonal(E, 0.0)
    bn = MANCINO_BETA * n
    A = -bn / (bn ** 2 - (MANCINO_ALPHA + 1) ** 2 * (n - 1) ** 2)
    return A * (E.sum(axis=1) + (i - n / 2) ** MANCINO_GAMMA)


def build_mancinone(n: int = 100):
    """MANCINONE: n equations in n unknowns, c_i = βn x_i + Σ_{j≠i} e(x_j; i/j) − (i − n/2)^γ."""
    import optkit as ok

    e, d1, d2 = _mancino_element()
    i = np.arange(1, n + 1, dtype=float)
    ratio = i[:, None] / i[None, :]          # a_ij = i / j
    off = ~np.eye(n, dtype=bool)
    const = (i - n / 2) ** MANCINO_GAMMA
    bn = MANCINO_BETA * n

    def cons(x):
        return bn * x + np.sum(np.where(off, e(x[None, :], ratio), 0.0), axis=1) - const

    def jac(x):
        return np.where(off, d1(x[None, :], ratio), 0.0) + bn * np.eye(n)

    def hess(x, y):
        return np.diag(y @ np.where(off, d2(x[None, :], ratio), 0.0))

    return ok.NLP(x0=mancino_start(n), f=lambda x: 0.0, grad=lambda x: np.zeros(n), cons=cons,
                  jac=jac, hess=hess, name="MANCINONE")


BUILDERS = {"BA-L1": (build_ba_l1, 57, 12), "BA-L1SP": (build_ba_l1sp, 57, 12),
            "MANCINONE": (build_mancinone, 100, 100)}
