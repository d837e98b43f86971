"""Library ``hs-eq``: equality-constrained test problems  minimize f(x) s.t. c(x) = 0.

optkit's own versions, written from the published formulas, of the 47 CUTEst problems used
by Hong, Na, Mahoney & Kolar (ICML 2023): Hock–Schittkowski (HS*), Boggs–Tolle (BT*),
Moré–Garbow–Hillstrom systems of equations posed as feasibility problems (the CUTEst "NE" forms:
f ≡ 0, the equations as constraints) and M. H. Wright's problem (MWRIGHT).

Each instance builds an :class:`optkit.NLP` with exact derivatives: the formula is written once as
a sympy expression, differentiated symbolically (gradient, Jacobian, Hessian of the Lagrangian
f + yᵀc) and compiled to numpy with ``lambdify`` (cached per problem).

Known objectives: ``source`` says where each comes from — "literature" (the HS book / Boggs–Tolle
/ CUTEst SOLTN value) or "0 (system of equations)" for the NE problems. Problems whose published
value we could not confirm carry the value of an independent IPOPT solve from the same start,
marked "ipopt (local)". ``meta["paper_fails"]`` marks the two problems on which the paper reports
the singular-Jacobian stop (GOTTFR, PRICE4NE).

The data-heavy BA-L1, BA-L1SP and MANCINONE are in :mod:`optkit.problems.hs_eq_cutest`
(vectorised numpy); ORTHREGB (Gulliksson's orthogonal regression, n = 27, m = 6) and HIMMELBE
(Himmelblau's problem 30) are specs here. HELIXNE is the CUTEst form: residuals 10(x3 − 10θ),
10(‖(x1, x2)‖ − 1), x3 (the SIF groups carry SCALE 0.1, i.e. are divided by 0.1) with
θ = atan2(x2, x1)/(2π) as the SIF file has it (a branch cut on x1 < 0, x2 = 0, where it starts).
TRIGON1NE is the CUTEst form of SciPy's Trigonometric01, c_i = Σ_j cos x_j + i (cos x_i + sin x_i)
− (n + i) from x = 0.1 (not Moré–Garbow–Hillstrom's trigonometric function, whose Jacobian at
its start is nearly singular). SINVALNE's residuals are 100(x2 − sin x1) and 0.5 x1, the square
roots of SINEVAL's terms.
Deviations: INTEQNE and MOREBVNE use the Moré–Garbow–Hillstrom form with n = 10 interior
unknowns (CUTEst adds the two fixed boundary values as variables). BT12 starts, as the SIF
file's default does, from the published (rounded) solution; from Boggs–Tolle's start x = 2 the
method stops on its singular-Jacobian test (x3 → 0). BT6's published value 0.2770 could not be
reproduced from this formula; its known objective is IPOPT's local value from x = 2.
"""
from __future__ import annotations

import math
from functools import cache

import numpy as np

from optkit.extras import require
from optkit.problems_api import Instance, SimpleLibrary

from .hs_eq_cutest import BUILDERS as CUTEST_BUILDERS

R2, R8, R18 = "sqrt(2)", "sqrt(8)", "sqrt(18)"


def _spec(name, n, x0, f, c, fstar, src="literature", **meta):
    return {"name": name, "n": n, "x0": [float(v) for v in x0], "f": f, "c": list(c),
            "fstar": fstar, "source": src, "meta": meta}


def _genhs28(n: int = 10):
    f = " + ".join(f"(x{i} + x{i + 1})**2" for i in range(1, n))
    c = [f"x{i} + 2*x{i + 1} + 3*x{i + 2} - 1" for i in range(1, n - 1)]
    return _spec("GENHS28", n, [-4.0] + [1.0] * (n - 1), f, c, 0.9271737039, "literature")


def _morebv(n: int = 10):
    h = 1.0 / (n + 1)
    xs = ["0"] + [f"x{i}" for i in range(1, n + 1)] + ["0"]
    c = [f"2*{xs[i]} - {xs[i - 1]} - {xs[i + 1]} + {h * h / 2!r}*({xs[i]} + {i * h!r} + 1)**3"
         for i in range(1, n + 1)]
    x0 = [i * h * (i * h - 1) for i in range(1, n + 1)]
    return _spec("MOREBVNE", n, x0, "0", c, 0.0, "0 (system of equations)", mgh=28)


def _inteq(n: int = 10):
    h = 1.0 / (n + 1)
    t = [j * h for j in range(n + 1)]
    c = []
    for i in range(1, n + 1):
        s1 = " + ".join(f"{t[j]!r}*(x{j} + {t[j] + 1!r})**3" for j in range(1, i + 1))
        s2 = " + ".join(f"{1 - t[j]!r}*(x{j} + {t[j] + 1!r})**3" for j in range(i + 1, n + 1)) or "0"
        c.append(f"x{i} + {h / 2!r}*({1 - t[i]!r}*({s1}) + {t[i]!r}*({s2}))")
    x0 = [t[i] * (t[i] - 1) for i in range(1, n + 1)]
    return _spec("INTEQNE", n, x0, "0", c, 0.0, "0 (system of equations)", mgh=29)


def _orthregb():
    """ORTHREGB (Gulliksson 1990): fit an ellipsoid-type quadric to 6 points in 3-D orthogonally.
    x = (H11, H12, H13, H22, H23, H33, G1, G2, G3, then the projections (X_i, Y_i, Z_i))."""
    cx = cy = cz = 0.5
    a, b, c = 9.0, 6.0, 7.0
    pts = [(cx + a, cy + a, cz), (cx + b, cy - b, cz), (cx - a, cy - a, cz), (cx - b, cy + b, cz),
           (cx, cy, cz + c), (cx, cy, cz - c)]
    h11, h12, h13, h22, h23, h33, g1, g2, g3 = (f"x{k}" for k in range(1, 10))
    f, cons, x0 = [], [], [1, 0, 0, 1, 0, 1, 0, 0, 0]
    for i, (xd, yd, zd) in enumerate(pts):
        X, Y, Z = (f"x{10 + 3 * i + k}" for k in range(3))
        f += [f"({X} - {xd!r})**2", f"({Y} - {yd!r})**2", f"({Z} - {zd!r})**2"]
        cons.append(f"{h11}*{X}**2 + 2*{h12}*{X}*{Y} + {h22}*{Y}**2 - 2*{g1}*{X} - 2*{g2}*{Y}"
                    f" + 2*{h13}*{X}*{Z} + 2*{h23}*{Y}*{Z} + {h33}*{Z}**2 - 2*{g3}*{Z} - 1")
        x0 += [xd, yd, zd]
    return _spec("ORTHREGB", 27, x0, " + ".join(f), cons, 0.0,
                 "literature (SIF: the points are compatible with the constraint, f* = 0)")


def _trigon(n: int = 10):
    """CUTEst TRIGON1NE (SciPy's Trigonometric01 as equations; Gould 2020):
    c_i = Σ_j cos x_j + i (cos x_i + sin x_i) − (n + i), x0 = 0.1."""
    sc = " + ".join(f"cos(x{j})" for j in range(1, n + 1))
    c = [f"{sc} + {i}*(cos(x{i}) + sin(x{i})) - {n + i}" for i in range(1, n + 1)]
    return _spec("TRIGON1NE", n, [0.1] * n, "0", c, 0.0, "0 (system of equations)")


SPECS = [
    _spec("HS6", 2, [-1.2, 1], "(1 - x1)**2", ["10*(x2 - x1**2)"], 0.0),
    _spec("HS7", 2, [2, 2], "log(1 + x1**2) - x2", ["(1 + x1**2)**2 + x2**2 - 4"], -math.sqrt(3)),
    _spec("HS28", 3, [-4, 1, 1], "(x1 + x2)**2 + (x2 + x3)**2", ["x1 + 2*x2 + 3*x3 - 1"], 0.0),
    _spec("HS40", 4, [0.8] * 4, "-x1*x2*x3*x4",
          ["x1**3 + x2**2 - 1", "x1**2*x4 - x3", "x4**2 - x2"], -0.25),
    _spec("HS42", 4, [1] * 4, "(x1 - 1)**2 + (x2 - 2)**2 + (x3 - 3)**2 + (x4 - 4)**2",
          ["x1 - 2", "x3**2 + x4**2 - 2"], 28 - 10 * math.sqrt(2)),
    _spec("HS47", 5, [2, math.sqrt(2), -1, 2 - math.sqrt(2), 0.5],
          "(x1 - x2)**2 + (x2 - x3)**3 + (x3 - x4)**4 + (x4 - x5)**4",
          ["x1 + x2**2 + x3**3 - 3", "x2 - x3**2 + x4 - 1", "x1*x5 - 1"], 0.0),
    _spec("HS48", 5, [3, 5, -3, 2, -2], "(x1 - 1)**2 + (x2 - x3)**2 + (x4 - x5)**2",
          ["x1 + x2 + x3 + x4 + x5 - 5", "x3 - 2*(x4 + x5) + 3"], 0.0),
    _spec("HS50", 5, [35, -31, 11, 5, -5],
          "(x1 - x2)**2 + (x2 - x3)**2 + (x3 - x4)**4 + (x4 - x5)**2",
          ["x1 + 2*x2 + 3*x3 - 6", "x2 + 2*x3 + 3*x4 - 6", "x3 + 2*x4 + 3*x5 - 6"], 0.0),
    _spec("HS51", 5, [2.5, 0.5, 2, -1, 0.5],
          "(x1 - x2)**2 + (x2 + x3 - 2)**2 + (x4 - 1)**2 + (x5 - 1)**2",
          ["x1 + 3*x2 - 4", "x3 + x4 - 2*x5", "x2 - x5"], 0.0),
    _spec("HS52", 5, [2] * 5, "(4*x1 - x2)**2 + (x2 + x3 - 2)**2 + (x4 - 1)**2 + (x5 - 1)**2",
          ["x1 + 3*x2", "x3 + x4 - 2*x5", "x2 - x5"], 1859 / 349),
    _spec("HS56", 7, [1, 1, 1] + [math.asin(math.sqrt(1 / 4.2))] * 3
          + [math.asin(math.sqrt(5 / 7.2))], "-x1*x2*x3",
          ["x1 - 4.2*sin(x4)**2", "x2 - 4.2*sin(x5)**2", "x3 - 4.2*sin(x6)**2",
           "x1 + 2*x2 + 2*x3 - 7.2*sin(x7)**2"], -3.456),
    _spec("HS77", 5, [2] * 5, "(x1 - 1)**2 + (x1 - x2)**2 + (x3 - 1)**2 + (x4 - 1)**4 + (x5 - 1)**6",
          [f"x1**2*x4 + sin(x4 - x5) - 2*{R2}", f"x2 + x3**4*x4**2 - 8 - {R2}"], 0.24150513),
    _spec("HS78", 5, [-2, 1.5, 2, -1, -1], "x1*x2*x3*x4*x5",
          ["x1**2 + x2**2 + x3**2 + x4**2 + x5**2 - 10", "x2*x3 - 5*x4*x5", "x1**3 + x2**3 + 1"],
          -2.91970041),
    _spec("HS79", 5, [2] * 5, "(x1 - 1)**2 + (x1 - x2)**2 + (x2 - x3)**2 + (x3 - x4)**4 + (x4 - x5)**4",
          [f"x1 + x2**2 + x3**3 - 2 - 3*{R2}", f"x2 - x3**2 + x4 + 2 - 2*{R2}", "x1*x5 - 2"],
          0.0787768209),
    _spec("HS100LNP", 7, [1, 2, 0, 4, 0, 1, 1],
          "(x1 - 10)**2 + 5*(x2 - 12)**2 + x3**4 + 3*(x4 - 11)**2 + 10*x5**6 + 7*x6**2 + x7**4"
          " - 4*x6*x7 - 10*x6 - 8*x7",
          ["2*x1**2 + 3*x2**4 + x3 + 4*x4**2 + 5*x5 - 127",
           "-4*x1**2 - x2**2 + 3*x1*x2 - 2*x3**2 - 5*x6 + 11*x7"], 680.6300573),
    _spec("BT2", 3, [10] * 3, "(x1 - 1)**2 + (x1 - x2)**2 + (x2 - x3)**4",
          [f"x1*(1 + x2**2) + x3**4 - 4 - 3*{R2}"], 0.0325682003),
    _spec("BT3", 5, [20] * 5, "(x1 - x2)**2 + (x2 + x3 - 2)**2 + (x4 - 1)**2 + (x5 - 1)**2",
          ["x1 + 3*x2", "x3 + x4 - 2*x5", "x2 - x5"], 176 / 43, "closed form (convex QP: 176/43)"),
    _spec("BT5", 3, [2] * 3, "1000 - x1**2 - 2*x2**2 - x3**2 - x1*x2 - x1*x3",
          ["x1**2 + x2**2 + x3**2 - 25", "8*x1 + 14*x2 + 7*x3 - 56"], 961.715172),
    _spec("BT6", 5, [2] * 5, "(x1 - 1)**2 + (x1 - x2)**2 + (x3 - 1)**2 + (x4 - 1)**4 + (x5 - 1)**6",
          [f"x4*x1**2 + sin(x4 - x5) - 2*{R2}", f"x2 + x3**4*x5**2 - 8 - {R2}"], None,
          "ipopt (local)"),
    _spec("BT9", 4, [2] * 4, "-x1", ["x2 - x1**3 - x3**2", "x1**2 - x2 - x4**2"], -1.0),
    _spec("BT10", 2, [2, 2], "-x1", ["x2 - x1**3", "x1**2 - x2"], -1.0),
    _spec("BT11", 5, [2] * 5, "(x1 - 1)**2 + (x1 - x2)**2 + (x2 - x3)**2 + (x3 - x4)**4 + (x4 - x5)**4",
          [f"x1 + x2**2 + x3**3 + 2 - {R18}", f"x2 - x3**2 + x4 + 2 - {R8}", "x1 - x5 - 2"],
          0.8248917783),
    _spec("BT12", 5, [15.811, 1.5811, 0.0, 15.083, 3.7164], "0.01*x1**2 + x2**2",
          ["x1 + x2 - x3**2 - 25", "x1**2 + x2**2 - x4**2 - 25", "x1 - x5**2 - 2"], 6.18811881),
    _genhs28(),
    _spec("MWRIGHT", 5, [-1, 2, 1, -2, -2],
          "(x1 - 1)**2 + (x1 - x2)**2 + (x2 - x3)**3 + (x3 - x4)**4 + (x4 - x5)**4",
          [f"x1 + x2**2 + x3**3 - 3*{R2} - 2", f"x2 - x3**2 + x4 - 2*{R2} + 2", "x1*x5 - 2"],
          27.87190522, "literature (a local minimum; Wright 1976)"),
    _spec("BOOTH", 2, [0, 0], "0", ["x1 + 2*x2 - 7", "2*x1 + x2 - 5"], 0.0, "0 (system of equations)"),
    _spec("HIMMELBC", 2, [1, 1], "0", ["x1**2 + x2 - 11", "x1 + x2**2 - 7"], 0.0,
          "0 (system of equations)"),
    _spec("CUBENE", 2, [-1.2, 1], "0", ["x1 - 1", "10*(x2 - x1**3)"], 0.0, "0 (system of equations)"),
    _spec("RSNBRNE", 2, [-1.2, 1], "0", ["10*(x2 - x1**2)", "1 - x1"], 0.0, "0 (system of equations)"),
    _spec("DENSCHNCNE", 2, [2, 3], "0", ["x1**2 + x2**2 - 2", "exp(x1 - 1) + x2**3 - 2"], 0.0,
          "0 (system of equations)"),
    _spec("DENSCHNFNE", 2, [2, 0], "0",
          ["2*(x1 + x2)**2 + (x1 - x2)**2 - 8", "5*x1**2 + (x2 - 3)**2 - 9"], 0.0,
          "0 (system of equations)"),
    _spec("PRICE4NE", 2, [1, 1], "0", ["2*x1**3*x2 - x2**3", "6*x1 - x2**2 + x2"], 0.0,
          "0 (system of equations)", paper_fails="singular Jacobian"),
    _spec("GOTTFR", 2, [0.5, 0.5], "0",
          ["x1 - 0.1136*(x1 + 3*x2)*(1 - x1)", "x2 + 7.5*(2*x1 - x2)*(1 - x2)"], 0.0,
          "0 (system of equations)", paper_fails="singular Jacobian"),
    _spec("ZANGWIL3", 3, [100, -1, 2.5], "0", ["x1 - x2 + x3", "-x1 + x2 + x3", "x1 + x2 - x3"],
          0.0, "0 (system of equations)"),
    _morebv(),
    _inteq(),
    _trigon(),
    _spec("HIMMELBE", 3, [-1.2, 2, 0], "0", ["0.25*(x1 + x2)**2 - x3", "1 - x1", "1 - x2"], 0.0,
          "0 (system of equations)"),
    _orthregb(),
    _spec("HIMMELBA", 2, [8, 9], "0", ["0.25*x1 - 5", "x2 - 6"], 0.0, "0 (system of equations)"),
    _spec("HELIXNE", 3, [-1, 0, 0], "0",
          ["10*(x3 - 10*atan2(x2, x1)/(2*pi))", "10*(sqrt(x1**2 + x2**2) - 1)", "x3"], 0.0,
          "0 (system of equations)", mgh=7),
    _spec("SINVALNE", 2, [4.712389, -1], "0", ["100*(x2 - sin(x1))", "0.5*x1"], 0.0,
          "0 (system of equations)"),
    _spec("WAYSEA1NE", 2, [1, 5], "0", ["x1**6 + x2**4 - 17", "2*x1 + x2 - 4"], 0.0,
          "0 (system of equations)"),
    _spec("WAYSEA2NE", 2, [1, 5], "0",
          ["-4*x1**2 - 4*x2**2 + 2.5*x1 + 13*x2 - 9.340125", "x2 - 1"], 0.0,
          "0 (system of equations)"),
]

# values of an independent IPOPT solve (tol 1e-10) from the standard start, for specs whose
# literature value is not confirmed here; filled in by hand from benchmarks/sketch_newton.py --ipopt-ref
IPOPT_REFERENCE = {"BT6": 0.3576464859}

PAPER_NAMES = [
    "HS6", "BT5", "BT9", "HS28", "BT10", "HIMMELBA", "BT12", "HS40", "BT3", "BT6", "BT11", "HS7",
    "GENHS28", "HS51", "SINVALNE", "BOOTH", "HS52", "HS47", "WAYSEA1NE", "HS48", "HS50", "RSNBRNE",
    "CUBENE", "HS77", "MWRIGHT", "ZANGWIL3", "TRIGON1NE", "BA-L1SP", "HS78", "HS56", "HELIXNE", "HS42",
    "HS79", "ORTHREGB", "HS100LNP", "GOTTFR", "HIMMELBE", "MOREBVNE", "WAYSEA2NE", "DENSCHNCNE",
    "DENSCHNFNE", "HIMMELBC", "PRICE4NE", "INTEQNE", "BA-L1", "MANCINONE", "BT2"
]


@cache
def _compiled(name: str):
    """Symbolic derivatives of one spec, compiled to numpy functions (cached)."""
    sym = require("sympy", "hs", "the hs-eq problem library")  # exact derivatives

    spec = next(s for s in SPECS if s["name"] == name)
    n, m = spec["n"], len(spec["c"])
    xs = sym.symbols(f"x1:{n + 1}")
    ys = sym.symbols(f"y1:{m + 1}")
    loc = {f"x{i + 1}": xs[i] for i in range(n)}
    f = sym.sympify(spec["f"], locals=loc)
    c = [sym.sympify(e, locals=loc) for e in spec["c"]]
    grad = [sym.diff(f, v) for v in xs]
    jac = sym.Matrix(c).jacobian(xs)
    lag = f + sum(y * ci for y, ci in zip(ys, c))
    hess = sym.hessian(lag, xs)
    mk = lambda args, expr: sym.lambdify(args, expr, modules="numpy", cse=True)  # noqa: E731
    return (mk([xs], f), mk([xs], grad), mk([xs], c), mk([xs], jac), mk([xs, ys], hess), n, m)


def _dense(v, shape) -> np.ndarray:
    return np.broadcast_to(np.asarray(v, dtype=float), shape).copy() if np.ndim(v) == 0 else \
        np.array(v, dtype=float).reshape(shape)


def names() -> list[str]:
    """All 47 problem names, in library order."""
    return [s["name"] for s in SPECS] + list(CUTEST_BUILDERS)


def build(name: str):
    """The ok.NLP of problem ``name`` (exact derivatives, standard start)."""
    import optkit as ok

    if name in CUTEST_BUILDERS:
        return CUTEST_BUILDERS[name][0]()
    spec = next((s for s in SPECS if s["name"] == name), None)
    if spec is None:
        raise KeyError(f"hs-eq has no problem {name!r}; problems: {', '.join(names())}")
    F, Gr, C, J, H, n, m = _compiled(name)
    return ok.NLP(
        x0=np.array(spec["x0"]), f=lambda x: float(F(x)),
        grad=lambda x: _dense(Gr(x), (n,)), cons=lambda x: _dense(C(x), (m,)),
        jac=lambda x: _dense(J(x), (m, n)), hess=lambda x, y: _dense(H(x, y), (n, n)),
        name=name)


class _Builder:
    """Picklable zero-argument builder."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self):
        return build(self.name)

    def __repr__(self) -> str:
        return f"hs_eq.build({self.name!r})"


def make_instances(names: list[str] | None = None) -> list[Instance]:
    """Instances of the library (all, or those in ``names``)."""
    out = []
    for s in SPECS:
        if names is not None and s["name"] not in names:
            continue
        fstar = s["fstar"] if s["fstar"] is not None else IPOPT_REFERENCE.get(s["name"])
        out.append(Instance(name=s["name"], build=_Builder(s["name"]), problem_class="nlp",
                            n=s["n"], m=len(s["c"]), known_objective=fstar, expected="optimal",
                            source=s["source"], meta=dict(s["meta"])))
    for name, (_, n, m) in CUTEST_BUILDERS.items():
        if names is None or name in names:
            out.append(Instance(name=name, build=_Builder(name), problem_class="nlp", n=n, m=m,
                                known_objective=0.0, expected="optimal",
                                source="0 (system of equations)", meta={"module": "hs_eq_cutest"}))
    return out


library = SimpleLibrary(
    "hs-eq", "47 equality-constrained HS/BT/CUTEst-NE problems (the AdaSketch-Newton paper's set)",
    make_instances)
