"""Backends for ``ok.LinearSystem`` (A x = b): ``sor``, ``ssor-cg`` and the ``sparse-direct`` reference.

- ``sor``: successive over-relaxation, x ← x + ω (D + ωL)⁻¹ (b − A x) with A = L + D + U,
  ω ∈ (0, 2). Any A with a nonzero diagonal; it converges for every ω ∈ (0, 2) when A is SPD
  (Ostrowski–Reich). For a consistently ordered A the best ω is 2 / (1 + √(1 − ρ(J)²)),
  J = I − D⁻¹A. ``iterations`` = sweeps.
- ``ssor-cg``: conjugate gradient preconditioned by SSOR,
  M_ω = ω/(2 − ω) · (D/ω + L)(D/ω)⁻¹(D/ω + Lᵀ), ω ∈ (0, 2). SPD only: a nonsymmetric A or a
  non-positive diagonal is refused before the solve. ``iterations`` = CG iterations.
- ``sparse-direct``: scipy's SuperLU (``splu``), with symmetric-mode ordering and no pivoting threshold
  for a symmetric A with a positive diagonal (a Cholesky-like LDLᵀ order), partial pivoting
  otherwise. ``iterations`` = 1 (one factorisation and solve).

The iterative methods stop when ‖b − A x‖₂ ≤ tol · ‖b‖₂ (``tol`` default 1e-8) or after
``max_iter`` iterations (default 10 000); optkit then measures ‖b − Ax‖/‖b‖ itself
(:mod:`optkit.linear_system`). Kernels: :mod:`optkit.solvers._linear_kernels` (numba-compiled,
scipy fallback; ``kernel="scipy"`` forces the fallback).
"""
from __future__ import annotations

import time
from typing import ClassVar

import numpy as np

from optkit.linear_system import LinearSystemBackend, LinearSystemForm
from optkit.options import Option
from optkit.raw import RawSolution
from optkit.status import Termination

from . import _linear_kernels as K

_STATUS = {K.CONVERGED: "converged", K.BUDGET: "max_iter", K.DIVERGED: "diverged",
           K.BREAKDOWN: "breakdown"}
_ITERATIVE_STATUS_MAP = {"converged": Termination.OPTIMAL, "max_iter": Termination.ITERATION_LIMIT,
                         "time_limit": Termination.TIME_LIMIT,
                         "diverged": Termination.NUMERICAL_ERROR,
                         "breakdown": Termination.NUMERICAL_ERROR}
DEFAULT_MAX_ITER = 10_000
_CHUNK = 200  # iterations per kernel call when a time limit must be checked


def _omega(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 < float(v) < 2.0


_OPTIONS = {
    "omega": Option(1.0, _omega, "relaxation parameter ω, a number in the open interval (0, 2)"),
    "kernel": Option("auto", ("auto", "compiled", "scipy"),
                     "'compiled' (numba), 'scipy' (triangular solves), 'auto': compiled if numba"),
}


class _Iterative(LinearSystemBackend):
    """Shared driver of the iterative methods: options, chunked runs for a time limit, the raw record."""

    requires: ClassVar[tuple[str, ...]] = ("scipy",)
    STATUS_MAP: ClassVar[dict] = _ITERATIVE_STATUS_MAP
    options: ClassVar[dict] = _OPTIONS
    capabilities: ClassVar[frozenset[str]] = frozenset({"iterative", "tunable"})
    _kernel = staticmethod(K.sor)

    def version(self) -> str:
        import scipy

        return f"optkit {'numba' if K.HAVE_NUMBA else 'scipy'} kernel (scipy {scipy.__version__})"

    def refuse(self, form: LinearSystemForm) -> str | None:
        zero = np.flatnonzero(form.diagonal == 0.0)
        if zero.size:
            return (f"A has a zero diagonal entry at row {int(zero[0])} ({zero.size} in all); "
                    f"{self.name} divides by aᵢᵢ (use 'sparse-direct', or reorder the rows)")
        return None

    def solve_system(self, form: LinearSystemForm, options) -> RawSolution:
        omega = float(options.get("omega", 1.0))
        tol = options.tol if options.tol is not None else self.default_tol
        max_iter = options.max_iter if options.max_iter is not None else DEFAULT_MAX_ITER
        compiled = options.get("kernel", "auto") != "scipy"
        x = (np.zeros(form.n) if options.x0 is None
             else np.array(options.x0, dtype=float).ravel())
        bnorm = float(np.linalg.norm(form.b))
        atol = tol * (bnorm if bnorm > 0 else 1.0)
        t0 = time.perf_counter()
        if options.time_limit is None or self.name != "sor":
            it, st, res = self._kernel(form.A, form.diagonal, form.b, x, omega, atol, max_iter,
                                       compiled)
            status = _STATUS[st]
        else:  # sweeps in chunks, the clock read between them
            it, status, res = 0, "max_iter", float("nan")
            while it < max_iter:
                k, st, res = self._kernel(form.A, form.diagonal, form.b, x, omega, atol,
                                          min(_CHUNK, max_iter - it), compiled)
                it += k
                status = _STATUS[st]
                if st != K.BUDGET:
                    break
                if time.perf_counter() - t0 > options.time_limit:
                    status = "time_limit"
                    break
        rel = res / bnorm if bnorm > 0 else res
        text = {"converged": f"‖r‖/‖b‖ = {rel:.2e} <= tol {tol:.0e} after {it} iterations",
                "max_iter": f"‖r‖/‖b‖ = {rel:.2e} after the budget of {it} iterations",
                "time_limit": f"time limit reached after {it} iterations (‖r‖/‖b‖ = {rel:.2e})",
                "diverged": f"diverged after {it} iterations (‖r‖/‖b‖ = {rel:.2e}) with ω = {omega}",
                "breakdown": f"CG breakdown at iteration {it}: pᵀAp <= 0, A is not positive "
                             f"definite"}[status]
        return RawSolution(status=status, status_text=text, x=x, iterations=int(it),
                           extra={"omega": omega, "solver_residual_rel": rel,
                                  "kernel": "numba" if compiled and K.HAVE_NUMBA else "scipy"})


class SORBackend(_Iterative):
    """Successive over-relaxation (see module docstring)."""

    name: ClassVar[str] = "sor"
    description: ClassVar[str] = "successive over-relaxation, x <- x + w (D + wL)^-1 (b - Ax)"
    priority: ClassVar[dict] = {"linear-system": 1}
    _kernel = staticmethod(K.sor)


class SSORCGBackend(_Iterative):
    """Conjugate gradient with the SSOR preconditioner (SPD systems only)."""

    name: ClassVar[str] = "ssor-cg"
    description: ClassVar[str] = "SSOR-preconditioned conjugate gradient (symmetric positive definite A)"
    priority: ClassVar[dict] = {"linear-system": 5}
    capabilities: ClassVar[frozenset[str]] = frozenset({"iterative", "tunable", "spd-only"})
    _kernel = staticmethod(K.pcg)

    def priority_for(self, model) -> float | None:
        """Default only for SPD-looking systems (symmetric, positive diagonal)."""
        form = getattr(model, "form", None)
        if form is None or not form.is_symmetric or not np.all(form.diagonal > 0):
            return None
        return self.priority["linear-system"]

    def refuse(self, form: LinearSystemForm) -> str | None:
        asym, (i, j) = form.asymmetry
        if asym > 1e-12:
            return (f"A is not symmetric (|a[{i},{j}] - a[{j},{i}]| = {asym:.2g} relative to max|A|); "
                    f"SSOR-preconditioned CG needs a symmetric positive definite A (use 'sor' or "
                    f"'sparse-direct' for a general A)")
        zero = super().refuse(form)
        if zero:
            return zero
        bad = np.flatnonzero(form.diagonal < 0.0)
        if bad.size:
            k = int(bad[0])
            return (f"A is not positive definite: diagonal entry a[{k},{k}] = {form.diagonal[k]:g} "
                    f"< 0; SSOR-preconditioned CG needs a symmetric positive definite A")
        return None


class DirectBackend(LinearSystemBackend):
    """Sparse LU (SuperLU through scipy); the reference solution of A x = b."""

    name: ClassVar[str] = "sparse-direct"
    description: ClassVar[str] = "sparse LU (scipy splu; symmetric ordering for SPD-looking A)"
    requires: ClassVar[tuple[str, ...]] = ("scipy",)
    priority: ClassVar[dict] = {"linear-system": 10}
    options: ClassVar[dict] = {}
    capabilities: ClassVar[frozenset[str]] = frozenset({"direct"})
    default_tol: ClassVar[float | None] = 1e-10
    STATUS_MAP: ClassVar[dict] = {"solved": Termination.OPTIMAL,
                                  "singular": Termination.NUMERICAL_ERROR}

    def version(self) -> str:
        import scipy

        return f"SuperLU (scipy {scipy.__version__})"

    def solve_system(self, form: LinearSystemForm, options) -> RawSolution:
        import scipy.sparse.linalg as spla

        spd_like = form.is_symmetric and bool(np.all(form.diagonal > 0))
        kw = (dict(permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                   options={"SymmetricMode": True}) if spd_like else {})
        try:
            lu = spla.splu(form.A.tocsc(), **kw)
        except RuntimeError as exc:  # "Factor is exactly singular"
            return RawSolution(status="singular", status_text=f"A is numerically singular: {exc}",
                               iterations=1)
        x = lu.solve(form.b)
        return RawSolution(status="solved", status_text="sparse LU solve", x=x, iterations=1,
                           extra={"factor_nnz": int(lu.L.nnz + lu.U.nnz),
                                  "ordering": "symmetric" if spd_like else "COLAMD"})
