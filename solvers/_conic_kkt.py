"""Conic KKT residuals, measured by optkit on the very conic data a cvxpy solver was given.

cvxpy hands a conic solver (Clarabel, SCS, SCIP, HiGHS, ...) the problem

    minimize  ½ xᵀPx + cᵀx   subject to  A x + s = b,  s ∈ K,   lb <= x <= ub (when given),

with K = {0}^z × R₊^l × Q^{q₁} × … × S₊^{k₁} × … × K_exp^e × K_pow(α₁) × … in this row order
(zero cone, nonnegative orthant, second-order cones Q^q = {(t, u): ‖u‖₂ <= t}, PSD cones as
scaled triangles svec(S), exponential cones, 3-d power cones). Its dual is

    maximize  −½ xᵀPx − bᵀy + lbᵀz_L − ubᵀz_U   subject to  c + Px + Aᵀy − z_L + z_U = 0,
              y ∈ K*,  z_L, z_U >= 0,

so a primal-dual solution satisfies: the primal residual Ax + s − b = 0, s ∈ K, y ∈ K*,
stationarity, and a zero duality gap. :func:`conic_kkt` measures, with infinity norms:

- ``primal_residual_rel``: max_i |Ax + s − b|_i / r_i with the row scale r_i = max(‖A_i‖∞, |b_i|)
  (1 for an empty row with b_i = 0), and ``cone_violation_rel``: the distance of s to each cone
  block divided by the largest r_i of the block (zero cone |s_i|, orthant max(0, −s_i), second-order
  cone its Euclidean distance, PSD cone ‖λ⁻(mat s)‖₂, exponential and power cones a membership
  residual that is zero exactly on the cone; see :func:`cone_violation`). Column bounds count
  v_j / max(1, |bound|). ``feasibility_rel`` is the largest of these three.
- ``stationarity``: ‖x − Proj_[lb,ub](x − (c + Px + Aᵀy))‖∞ (the projected gradient of the
  Lagrangian; ‖c + Px + Aᵀy‖∞ without bounds); ``stationarity_rel`` divides it by max(1, ‖c‖∞) and
  takes the larger of that and ``dual_cone_violation_rel`` (the distance of y to K*, over the same
  max(1, ‖c‖∞)): dual feasibility is part of the stationarity verdict.
- ``duality_gap``: |xᵀPx + cᵀx + bᵀy − Σ_j (r_j⁺ lb_j − r_j⁻ ub_j)| with r = c + Px + Aᵀy over the
  finite bounds (|cᵀx + bᵀy| for a linear objective without bounds), ``duality_gap_rel`` over
  max(1, |½xᵀPx + cᵀx|). It is also reported as ``complementarity``/``complementarity_rel``, the
  name :func:`optkit.verify.judge` checks.
- ``integrality``: max |x_j − round(x_j)| over the integer and boolean columns. For a mixed-integer
  problem stationarity and the gap are not measured (no KKT conditions).

What cannot be measured is listed in ``not_measured`` with the reason (e.g. n-dimensional power
cones, PSD blocks larger than :data:`PSD_MAX_ORDER`, or no dual vector from the solver). The
verdict (:func:`verdict`) uses the core's rule: :func:`optkit.verify.judge` with
:class:`optkit.verify.Tolerances`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from optkit.kkt import row_abs_max
from optkit.status import PrimalStatus, Termination
from optkit.verify import KKTReport, Tolerances, judge

#: PSD blocks of a larger order are not measured (an eigenvalue decomposition each)
PSD_MAX_ORDER = 2000


@dataclass
class ConicData:
    """The conic problem of the module docstring, as arrays (see :meth:`from_cvxpy`)."""

    c: np.ndarray
    A: sp.csr_matrix
    b: np.ndarray
    P: sp.csr_matrix | None = None
    zero: int = 0
    nonneg: int = 0
    soc: list[int] = field(default_factory=list)
    psd: list[int] = field(default_factory=list)
    exp: int = 0
    p3d: list[float] = field(default_factory=list)
    pnd: list[Any] = field(default_factory=list)
    lb: np.ndarray | None = None
    ub: np.ndarray | None = None
    integer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    boolean: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    psd_triangle: Any = None          # cvxpy TriangleKind of the solver's svec, None: unknown
    psd_sqrt2: bool = True
    exp_order: tuple[int, ...] = (0, 1, 2)
    solver: str = ""

    @property
    def n(self) -> int:
        """Number of conic variables."""
        return int(self.c.size)

    @property
    def m(self) -> int:
        """Number of conic rows."""
        return int(self.b.size)

    @classmethod
    def from_cvxpy(cls, data: dict, solver: Any) -> ConicData | None:
        """From ``problem.get_problem_data(...)[0]`` of a conic solver (keys c, A, b, dims, P;
        or A, b for the zero cone and G, h for the others, as SciPy's and ECOS's interfaces) or a
        QP solver (P, q, A, b, F, G: A x = b is the zero cone, F x <= G the orthant); None for
        any other layout."""
        name = solver.name() if hasattr(solver, "name") else str(solver)
        integer = np.asarray(sorted(data.get("int_vars_idx", ()) or ()), dtype=np.int64)
        boolean = np.asarray(sorted(data.get("bool_vars_idx", ()) or ()), dtype=np.int64)
        lb, ub = data.get("lower_bounds"), data.get("upper_bounds")
        lb = None if lb is None else np.asarray(lb, dtype=float)
        ub = None if ub is None else np.asarray(ub, dtype=float)
        P = data.get("P")
        P = None if P is None else sp.csr_matrix(P)
        if "dims" in data and "c" in data:
            dims = data["dims"]
            c = np.asarray(data["c"], dtype=float).ravel()
            if "G" in data:  # A x = b (zero cone) and G x + s = h (the other cones): SciPy, ECOS
                parts = [(data.get(k), data.get(r)) for k, r in (("A", "b"), ("G", "h"))]
                mats = [sp.csr_matrix(M) for M, _ in parts if M is not None]
                rhs = [np.asarray(v, dtype=float).ravel() for M, v in parts if M is not None]
                A = sp.vstack(mats, format="csr") if mats else sp.csr_matrix((0, c.size))
                b = np.concatenate(rhs) if rhs else np.zeros(0)
                if (parts[0][0] is None and int(dims.zero)) or (
                        parts[0][0] is not None and parts[0][0].shape[0] != int(dims.zero)):
                    return None
            else:
                A, b = sp.csr_matrix(data["A"]), np.asarray(data["b"], dtype=float).ravel()
            return cls(c=c, A=A, b=b, P=P,
                       zero=int(dims.zero), nonneg=int(dims.nonneg),
                       soc=[int(k) for k in dims.soc], psd=[int(k) for k in dims.psd],
                       exp=int(dims.exp), p3d=[float(a) for a in getattr(dims, "p3d", [])],
                       pnd=list(getattr(dims, "pnd", [])), lb=lb, ub=ub, integer=integer,
                       boolean=boolean, psd_triangle=getattr(solver, "PSD_TRIANGLE_KIND", None),
                       psd_sqrt2=bool(getattr(solver, "PSD_SQRT2_SCALING", True)),
                       exp_order=tuple(getattr(solver, "EXP_CONE_ORDER", None) or (0, 1, 2)), solver=name)
        if all(k in data for k in ("q", "A", "b", "F", "G")):
            A_eq, A_in = sp.csr_matrix(data["A"]), sp.csr_matrix(data["F"])
            b_eq = np.asarray(data["b"], dtype=float).ravel()
            b_in = np.asarray(data["G"], dtype=float).ravel()
            q = np.asarray(data["q"], dtype=float).ravel()
            A = sp.vstack([A_eq, A_in], format="csr") if A_eq.shape[0] + A_in.shape[0] else \
                sp.csr_matrix((0, q.size))
            return cls(c=q, A=A, b=np.concatenate([b_eq, b_in]), P=P, zero=b_eq.size,
                       nonneg=b_in.size, lb=lb, ub=ub, integer=integer, boolean=boolean,
                       solver=name)
        return None


# ---------------------------------------------------------------------- cones
def _soc_distance(v: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Euclidean distance of each block (t, u) of ``v`` to {‖u‖₂ <= t}: 0 inside, ‖(t, u)‖ when
    ‖u‖ <= −t (projection onto 0), else (‖u‖ − t)/√2."""
    sizes_a = np.asarray(sizes, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes_a)[:-1]))
    t = v[starts]
    sq = np.add.reduceat(v * v, starts)
    unorm = np.sqrt(np.maximum(sq - t * t, 0.0))
    full = np.sqrt(np.maximum(sq, 0.0))
    return np.where(unorm <= t, 0.0, np.where(unorm <= -t, full, (unorm - t) / np.sqrt(2.0)))


def _exp_residual(x: np.ndarray, y: np.ndarray, z: np.ndarray, dual: bool) -> np.ndarray:
    """Membership residual of (x, y, z) triples, zero exactly on the cone.

    Primal K_exp = cl{y > 0, y·e^{x/y} <= z}: max(0, −y, −z) plus, at y, z > 0, max(0, x − y·log(z/y));
    at y = 0, max(0, x); at y > 0 = z, y. Dual K*_exp = cl{u < 0, −u·e^{v/u} <= e·w} (u, v, w = x,
    y, z): max(0, u, −w) plus, at u < 0 < w, max(0, u(1 + log(w/(−u))) − v); at u = 0, max(0, −v);
    at u < 0 = w, −u. (A residual, not the Euclidean distance; both vanish on the same set.)
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if not dual:
            base = np.maximum(0.0, np.maximum(-y, -z))
            yp, zp = np.maximum(y, 0.0), np.maximum(z, 0.0)
            inner = np.where((yp > 0) & (zp > 0), np.maximum(0.0, x - yp * np.log(zp / yp)),
                             np.where(yp > 0, yp, np.maximum(0.0, x)))
        else:
            u, v, w = x, y, z
            base = np.maximum(0.0, np.maximum(u, -w))
            un, wp = np.minimum(u, 0.0), np.maximum(w, 0.0)
            inner = np.where((un < 0) & (wp > 0),
                             np.maximum(0.0, un * (1.0 + np.log(wp / -un)) - v),
                             np.where(un < 0, -un, np.maximum(0.0, -v)))
    out = base + inner
    return np.where(np.isfinite(out), out, np.inf)


def _pow_residual(x: np.ndarray, y: np.ndarray, z: np.ndarray, alpha: np.ndarray,
                  dual: bool) -> np.ndarray:
    """Membership residual of 3-d power cones K_α = {x, y >= 0, x^α y^(1−α) >= |z|} (dual:
    (u/α)^α (v/(1−α))^(1−α) >= |w|, u, v >= 0): max(0, −x, −y) + max(0, |z| − x₊^α y₊^(1−α))."""
    xp, yp = np.maximum(x, 0.0), np.maximum(y, 0.0)
    if dual:
        xp, yp = xp / alpha, yp / (1.0 - alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.power(xp, alpha) * np.power(yp, 1.0 - alpha)
    return np.maximum(0.0, np.maximum(-x, -y)) + np.maximum(0.0, np.abs(z) - mean)


def cone_violation(data: ConicData, v: np.ndarray, dual: bool, row_scale: np.ndarray
                   ) -> tuple[float, float, str, dict]:
    """Distance of ``v`` (length m) to K (``dual``: to K*), as (absolute, relative, worst block,
    not_measured). Each block's distance is divided by the largest ``row_scale`` of its rows."""
    not_measured: dict = {}
    worst_abs, worst_rel, where = 0.0, 0.0, ""

    def take(dist: np.ndarray, scale: np.ndarray, label: str, first: int = 0) -> None:
        """Fold one block in; ``label`` has a {} for the index, offset by ``first`` (a row
        number for the row-wise cones, the cone's number within its kind otherwise)."""
        nonlocal worst_abs, worst_rel, where
        if dist.size == 0:
            return
        rel = dist / np.where(scale > 0, scale, 1.0)
        k = int(np.argmax(rel))
        worst_abs = max(worst_abs, float(dist.max()))
        if rel[k] > worst_rel:
            worst_rel, where = float(rel[k]), label.format(first + k)

    z, l = data.zero, data.nonneg
    pos = 0
    if not dual:
        take(np.abs(v[:z]), row_scale[:z], "row {} (zero cone)")
    pos = z
    take(np.maximum(-v[pos:pos + l], 0.0), row_scale[pos:pos + l],
         "row {} (nonnegative cone)" if not dual else "dual of row {} (nonnegative cone)", first=pos)
    pos += l
    if data.soc:
        total = int(sum(data.soc))
        starts = np.concatenate(([0], np.cumsum(data.soc)[:-1])).astype(np.int64)
        dist = _soc_distance(v[pos:pos + total], data.soc)
        scale = np.maximum.reduceat(row_scale[pos:pos + total], starts)
        take(dist, scale, "second-order cone {}" if not dual else "dual second-order cone {}")
        pos += total
    for i, k in enumerate(data.psd):  # one eigenvalue decomposition per PSD block (O(k³) each)
        width = k * (k + 1) // 2
        if data.psd_triangle is None or k > PSD_MAX_ORDER:
            not_measured["psd" + ("_dual" if dual else "")] = (
                f"PSD block of order {k} not measured" +
                (" (the solver's triangle layout is unknown)" if data.psd_triangle is None
                 else f" (order above {PSD_MAX_ORDER})"))
        else:
            from cvxpy.utilities.psd_utils import tri_to_full

            M = tri_to_full(np.asarray(v[pos:pos + width], dtype=float), k, data.psd_triangle,
                            data.psd_sqrt2)
            lam = np.linalg.eigvalsh(M)
            dist = np.array([float(np.linalg.norm(np.minimum(lam, 0.0)))])
            take(dist, np.array([row_scale[pos:pos + width].max(initial=0.0)]),
                 "PSD cone {}" if not dual else "dual PSD cone {}", first=i)
        pos += width
    if data.exp:
        trip = v[pos:pos + 3 * data.exp].reshape(data.exp, 3)
        order = np.asarray(data.exp_order, dtype=np.int64)
        cv = np.empty_like(trip)
        cv[:, order] = trip  # the solver's triple is (x, y, z)[order]; back to cvxpy's (x, y, z)
        dist = _exp_residual(cv[:, 0], cv[:, 1], cv[:, 2], dual)
        scale = row_scale[pos:pos + 3 * data.exp].reshape(data.exp, 3).max(axis=1)
        take(dist, scale, "exponential cone {}" if not dual else "dual exponential cone {}")
        pos += 3 * data.exp
    if data.p3d:
        cnt = len(data.p3d)
        trip = v[pos:pos + 3 * cnt].reshape(cnt, 3)
        alpha = np.asarray(data.p3d, dtype=float)
        dist = _pow_residual(trip[:, 0], trip[:, 1], trip[:, 2], alpha, dual)
        scale = row_scale[pos:pos + 3 * cnt].reshape(cnt, 3).max(axis=1)
        take(dist, scale, "power cone {}" if not dual else "dual power cone {}")
        pos += 3 * cnt
    if pos < v.size:
        not_measured["cone" + ("_dual" if dual else "")] = (
            f"{v.size - pos} rows in cones not measured here (n-dimensional power cones"
            f"{', ' + str(len(data.pnd)) + ' of them' if data.pnd else ''})")
    return worst_abs, worst_rel, where, not_measured


# ---------------------------------------------------------------------- the measurement
def conic_kkt(data: ConicData, x: np.ndarray, s: np.ndarray | None = None,
              y: np.ndarray | None = None, why_no_dual: str = "") -> KKTReport:
    """The residuals of the module docstring at (x, s, y) on ``data``.

    ``s`` defaults to b − Ax (then the primal residual is zero by construction and feasibility is
    the cone membership of b − Ax). Without ``y`` (or for a mixed-integer problem) stationarity,
    dual cone membership and the gap go to ``not_measured`` with ``why_no_dual``.
    """
    x = np.asarray(x, dtype=float).ravel()
    not_measured: dict = {}
    if x.shape != (data.n,) or not np.all(np.isfinite(x)):
        return KKTReport({}, {"all": f"the solver's conic point has shape {x.shape} or non-finite "
                                     f"entries (expected {data.n} finite values)"})
    Ax = data.A @ x
    s_given = s is not None
    s = data.b - Ax if s is None else np.asarray(s, dtype=float).ravel()
    if s.shape != (data.m,):
        s, s_given = data.b - Ax, False
        not_measured["slack"] = "the solver's slack has the wrong length; b − Ax used"
    rscale = np.maximum(row_abs_max(data.A), np.abs(data.b))
    rscale = np.where(rscale > 0, rscale, 1.0)
    resid = np.abs(Ax + s - data.b)
    resid_rel = resid / rscale
    k_res = int(np.argmax(resid_rel)) if resid.size else -1
    res_abs = float(resid.max(initial=0.0))
    res_rel = float(resid_rel[k_res]) if resid.size else 0.0
    cone_abs, cone_rel, cone_where, nm = cone_violation(data, s, False, rscale)
    not_measured.update(nm)
    bnd_abs = bnd_rel = 0.0
    bnd_where = ""
    lb, ub = data.lb, data.ub
    if data.boolean.size:
        lb = np.full(data.n, -np.inf) if lb is None else lb.copy()
        ub = np.full(data.n, np.inf) if ub is None else ub.copy()
        lb[data.boolean] = np.maximum(lb[data.boolean], 0.0)
        ub[data.boolean] = np.minimum(ub[data.boolean], 1.0)
    for bound, side in ((lb, "lower"), (ub, "upper")):
        if bound is None:
            continue
        fin = np.isfinite(bound)
        viol = np.where(fin, np.maximum((bound - x) if side == "lower" else (x - bound), 0.0), 0.0)
        rel = viol / np.maximum(1.0, np.where(fin, np.abs(bound), 1.0))
        if viol.size and rel.max() > bnd_rel:
            j = int(np.argmax(rel))
            bnd_rel, bnd_where = float(rel[j]), f"{side} bound of column {j}"
        bnd_abs = max(bnd_abs, float(viol.max(initial=0.0)))
    parts = [(res_rel, f"row {k_res} (residual Ax + s − b)" if k_res >= 0 else ""),
             (cone_rel, cone_where), (bnd_rel, bnd_where)]
    feas_rel, worst = max(parts, key=lambda p: p[0])
    values: dict[str, Any] = {
        "feasibility": max(res_abs, cone_abs, bnd_abs), "feasibility_rel": feas_rel,
        "worst": worst if feas_rel > 0 else "",
        "primal_residual": res_abs, "primal_residual_rel": res_rel,
        "cone_violation": cone_abs, "cone_violation_rel": cone_rel,
        "bound_violation": bnd_abs, "bound_violation_rel": bnd_rel,
        "slack": "solver" if s_given else "b - Ax",
        "norm": "inf", "measured_on": f"cvxpy conic data ({data.solver or 'solver'})",
    }
    ints = np.union1d(data.integer, data.boolean).astype(np.int64)
    if ints.size:
        frac = np.abs(x[ints] - np.round(x[ints]))
        values["integrality"] = float(frac.max())
        values["worst_integer"] = int(ints[int(np.argmax(frac))])
    else:
        values["integrality"] = 0.0
    reason = ""
    if ints.size:
        reason = "integer problem: no KKT conditions"
    elif y is None:
        reason = why_no_dual or "the solver's dual vector was not available"
    else:
        y = np.asarray(y, dtype=float).ravel()
        if y.shape != (data.m,) or not np.all(np.isfinite(y)):
            reason = f"the solver's dual vector has shape {y.shape} or non-finite entries"
    if reason:
        for key in ("stationarity", "dual_cone", "duality_gap", "complementarity"):
            not_measured[key] = reason
        values.update({"stationarity": None, "stationarity_rel": None, "complementarity": None,
                       "complementarity_rel": None, "multipliers": None,
                       "kkt": values["feasibility"]})
        return KKTReport(values, not_measured)
    Px = data.P @ x if data.P is not None else np.zeros(data.n)
    r = data.c + Px + data.A.T @ y
    lo = lb if lb is not None else np.full(data.n, -np.inf)
    hi = ub if ub is not None else np.full(data.n, np.inf)
    stat = float(np.abs(x - np.clip(x - r, lo, hi)).max(initial=0.0))
    cscale = max(1.0, float(np.abs(data.c).max(initial=0.0)))
    dual_abs, dual_rel_raw, dual_where, nm = cone_violation(data, y, True, np.full(data.m, cscale))
    not_measured.update(nm)
    quad = float(x @ Px)
    lin = float(data.c @ x)
    # the bounds' share of the dual objective: z_L = r⁺ on finite lb, z_U = r⁻ on finite ub
    fin_lo, fin_hi = np.isfinite(lo), np.isfinite(hi)
    bound_term = float(np.maximum(r[fin_lo], 0.0) @ lo[fin_lo] - np.maximum(-r[fin_hi], 0.0) @ hi[fin_hi])
    gap = abs(quad + lin + float(data.b @ y) - bound_term)
    gap_rel = gap / max(1.0, abs(0.5 * quad + lin))
    stat_rel = stat / cscale
    values.update({
        "stationarity": stat, "stationarity_rel": max(stat_rel, dual_rel_raw),
        "lagrangian_gradient_rel": stat_rel,
        "dual_cone_violation": dual_abs, "dual_cone_violation_rel": dual_rel_raw,
        "worst_dual": dual_where, "duality_gap": gap, "duality_gap_rel": gap_rel,
        "complementarity": gap, "complementarity_rel": gap_rel, "multipliers": "solver",
        "kkt": max(values["feasibility"], stat, dual_abs, gap),
    })
    return KKTReport(values, not_measured)


def verdict(report: KKTReport, termination: Termination, tolerances: Tolerances
            ) -> tuple[PrimalStatus, bool | None, list[str]]:
    """(primal status, verified, failing checks) by the core's rule: FEASIBLE when
    ``feasibility_rel`` <= feas_tol (and integrality <= int_tol), NEARLY_FEASIBLE within 100·feas_tol,
    else INFEASIBLE; for a claim of (local) optimality, verified = :func:`optkit.verify.judge`."""
    feas = report.get("feasibility_rel")
    if feas is None:
        return PrimalStatus.NO_SOLUTION, (False if termination.claims_optimality else None), \
            ["no point was measured"]
    from optkit.finish import primal_status_from

    tol = tolerances
    status = primal_status_from(feas, report.get("integrality") or 0.0, tol)
    if not termination.claims_optimality:
        return status, None, []
    ok, failures = judge(report, tol)
    return status, ok, failures
