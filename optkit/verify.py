"""optkit's verdict on a solver's claim: the typed KKT report and the tolerances it is judged by.

Definitions (all measured by optkit on the form the solver saw, see :mod:`optkit.kkt`):

- ``feasibility_rel``: the largest violation of a row or bound, each relative to its own scale
  (row i violated by vᵢ on the side of bound b: vᵢ / max(‖aᵢ‖∞, |b|); bound of column j:
  vⱼ / max(1, |b|); a nonlinear row's ‖aᵢ‖∞ is max(‖∇cᵢ(x)‖∞, ‖∇cᵢ(x0)‖∞)). Judged against
  ``feas_tol``.
- ``integrality``: max |xⱼ − round(xⱼ)| over integer columns, against ``int_tol`` (absolute).
- ``stationarity_rel``: ‖x − Proj[lb,ub](x − ∇ₓL)‖∞ / max(1, ‖∇f‖∞), against ``opt_tol``.
- ``complementarity_rel``: max yᵢ⁺(cuᵢ − cᵢ), yᵢ⁻(cᵢ − clᵢ) over max(1, |f|), against ``opt_tol``.
- ``mip_gap_rel`` (MIP with a dual bound from the solver): (f(x) − bound)/max(1, |f(x)|) with f
  measured at the returned point, against ``mip_gap`` = max(1e-4, 10·tol).

Default tolerances: feas_tol = max(1e-6, 10·tol), opt_tol = max(1e-5, 10·tol), int_tol = 1e-5,
mip_gap = max(1e-4, 10·tol)
(``tol`` is the solve's own tolerance, when given). A claim of (local) optimality — full or
"almost" — is *verified* when every measured quantity is within its tolerance; the verdict and the
first failing residual are recorded, never silently dropped.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_FEAS_TOL = 1e-6
DEFAULT_OPT_TOL = 1e-5
DEFAULT_INT_TOL = 1e-5
DEFAULT_MIP_GAP = 1e-4


@dataclass(frozen=True)
class Tolerances:
    """The tolerances a result is judged by (see module docstring)."""

    feas: float = DEFAULT_FEAS_TOL
    opt: float = DEFAULT_OPT_TOL
    integrality: float = DEFAULT_INT_TOL
    mip_gap: float = DEFAULT_MIP_GAP

    @classmethod
    def from_options(cls, options: Any, default_tol: float | None = None) -> Tolerances:
        """Tolerances for a solve with these :class:`~optkit.options.SolveOptions`; a method whose
        own default tolerance is looser (``Backend.default_tol``) is judged at that level when no
        ``tol`` was given."""
        tol = getattr(options, "tol", None)
        if tol is None:
            tol = default_tol
        feas = getattr(options, "feas_tol", None)
        opt = getattr(options, "opt_tol", None)
        integ = getattr(options, "int_tol", None)
        return cls(feas=feas if feas is not None else max(DEFAULT_FEAS_TOL, 10 * (tol or 0.0)),
                   opt=opt if opt is not None else max(DEFAULT_OPT_TOL, 10 * (tol or 0.0)),
                   integrality=integ if integ is not None else DEFAULT_INT_TOL,
                   mip_gap=max(DEFAULT_MIP_GAP, 10 * (tol or 0.0)))


#: quantity name → (tolerance attribute, what it means) for the checks a verdict makes
CHECKS = {
    "feasibility_rel": ("feas", "scaled primal infeasibility"),
    "integrality": ("integrality", "integrality violation"),
    "stationarity_rel": ("opt", "relative stationarity (projected Lagrangian gradient)"),
    "complementarity_rel": ("opt", "relative complementarity"),
    "mip_gap_rel": ("mip_gap", "relative gap to the solver's own dual bound"),
}


class KKTReport(dict):
    """What optkit measured at the returned point, and what it could not measure.

    A dict of the measured numbers (``report["kkt"]``, ``report.get("feasibility")``), so it
    serialises as JSON as it is; ``not_measured`` maps each quantity that could not be measured to
    the reason, and ``measured`` lists the ones that hold a number.
    """

    def __init__(self, values: Mapping | None = None, not_measured: Mapping | None = None):
        super().__init__(values or {})
        self.not_measured: dict = dict(not_measured or {})

    @property
    def values_dict(self) -> dict:
        """The measured values as a plain dict."""
        return dict(self)

    @property
    def measured(self) -> list[str]:
        """Names of the quantities that hold a number."""
        return [k for k, v in self.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]

    def to_dict(self) -> dict:
        """Plain dict (with ``not_measured`` when something could not be measured)."""
        out = dict(self)
        if self.not_measured:
            out["not_measured"] = dict(self.not_measured)
        return out

    def __repr__(self) -> str:
        return f"KKTReport({self.to_dict()!r})"


def judge(report: Mapping, tolerances: Tolerances) -> tuple[bool, list[str]]:
    """(all checks pass, messages of the failing checks) for a measured report."""
    failures = []
    for name, (attr, what) in CHECKS.items():
        value = report.get(name)
        if value is None:
            continue
        tol = getattr(tolerances, attr)
        if not (np.isfinite(value) and value <= tol):
            where = ""
            if name == "feasibility_rel" and report.get("worst"):
                where = f" at {report['worst']}"
            elif name == "integrality" and report.get("worst_integer", -1) >= 0:
                where = f" at column {report['worst_integer']}"
            failures.append(f"{what} {value:.3g}{where} > {tol:.0e}")
    return not failures, failures
