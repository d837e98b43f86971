"""``ok.NLP``: a nonlinear program given as Python callbacks (CUTEst style).

    minimize f(x)  s.t.  cl <= cons(x) <= cu,  lb <= x <= ub

Callbacks: ``f(x)``, ``grad(x)`` (length n), ``cons(x)`` (length m), ``jac(x)`` (m×n, dense or
scipy.sparse), ``hess(x, y)`` — the Hessian of the Lagrangian f + yᵀc at (x, y). Missing
derivatives come from finite differences (:mod:`optkit.ir.finite_differences`: scipy's
``approx_derivative``, one-sided at the bounds, grouped columns when ``jac_sparsity`` /
``hess_sparsity`` give the pattern), and results say so (``extra["derivatives"]``). Each user call
made inside finite differences first checks the form's deadline.
Constraint bounds default to equalities cons(x) = 0 (cl = cu = 0).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from ..deadline import Deadline
from ..errors import DataError, InvalidProblemError
from ..ir.finite_differences import Sparsity, fd_gradient, fd_hessian, fd_jacobian
from ..ir.nlp_form import NLPForm, as_vector
from .base import Direct, Model


def _refuse_nonfinite(values: np.ndarray, what: str) -> None:
    """DataError naming the first NaN/inf entry of a callback's output."""
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        k = int(bad[0])
        raise DataError(f"{what}[{k}] = {values[k]} is not finite", None,
                        f"{what.split(': ')[-1]}[{k}]")


class NLP(Model):
    """Callback NLP; compiles to an NLPForm whose x is the user's x."""

    problem_class = "nlp"

    def __init__(self, x0, f: Callable, grad: Callable | None = None, cons: Callable | None = None,
                 jac: Callable | None = None, hess: Callable | None = None, cl=None, cu=None,
                 lb=None, ub=None, y0=None, hvp: Callable | None = None, name: str = "nlp",
                 jac_sparsity=None, hess_sparsity=None):
        if not callable(f):
            raise InvalidProblemError("f must be a callable f(x) -> float")
        x0 = np.asarray(x0, dtype=float).reshape(-1)
        self.n = x0.size
        self.name = name
        try:
            f0 = float(f(x0))
        except Exception as exc:
            raise InvalidProblemError(f"{name}: f(x0) failed: {exc}") from exc
        if not np.isfinite(f0):
            raise InvalidProblemError(f"{name}: f(x0) = {f0} is not finite")
        c0 = np.zeros(0) if cons is None else np.asarray(cons(x0), dtype=float).reshape(-1)
        if not np.all(np.isfinite(c0)):
            i0 = int(np.flatnonzero(~np.isfinite(c0))[0])
            raise InvalidProblemError(f"{name}: cons(x0)[{i0}] = {c0[i0]} is not finite")
        self.m = c0.size
        if self.m and cl is None and cu is None:
            cl = cu = 0.0
        self.derivatives = {"grad": "exact" if grad else "finite-difference",
                            "jac": "exact" if (jac or not self.m) else "finite-difference",
                            "hess": "exact" if hess else "finite-difference"}
        self._callbacks = dict(f=f, grad=grad, cons=cons, jac=jac, hess=hess, hvp=hvp)
        self._bounds = dict(cl=cl, cu=cu, lb=lb, ub=ub, y0=y0)
        self.x0 = x0
        if grad is not None:
            g0 = np.asarray(grad(x0), dtype=float)
            if g0.size != self.n:
                raise InvalidProblemError(f"{name}: grad(x0) has {g0.size} entries, expected {self.n}")
            _refuse_nonfinite(g0.reshape(-1), f"{name}: grad(x0)")
        if jac is not None and self.m:
            J0 = jac(x0)
            if tuple(np.shape(J0)) != (self.m, self.n):
                raise InvalidProblemError(f"{name}: jac(x0) has shape {np.shape(J0)}, "
                                          f"expected ({self.m}, {self.n})")
            if sp.issparse(J0):
                J0 = sp.coo_matrix(J0)
                bad = np.flatnonzero(~np.isfinite(J0.data))
                if bad.size:
                    k = int(bad[0])
                    raise DataError(f"{name}: jac(x0)[{J0.row[k]}, {J0.col[k]}] = {J0.data[k]} is "
                                    f"not finite", None, f"jac[{J0.row[k]},{J0.col[k]}]")
            else:
                J0 = np.asarray(J0, dtype=float)
                where = np.argwhere(~np.isfinite(J0))
                if where.size:
                    i, j = (int(v) for v in where[0])
                    raise DataError(f"{name}: jac(x0)[{i}, {j}] = {J0[i, j]} is not finite", None,
                                    f"jac[{i},{j}]")
        # hess is not called here (a limited-memory solve never evaluates it); the form checks
        # the shape of every Hessian it returns (optkit.ir.nlp_form)
        self._sparsity = {
            "jac": None if jac_sparsity is None or jac is not None or not self.m
            else Sparsity(jac_sparsity, (self.m, self.n)),
            "hess": None if hess_sparsity is None or hess is not None
            else Sparsity(hess_sparsity, (self.n, self.n))}
        self.kinds = frozenset({"nlp"} | ({"nlp-equality"} if self._equality_only() else set()))

    def _equality_only(self) -> bool:
        b = self._bounds
        cl = as_vector(b["cl"], self.m, "cl", 0.0)
        cu = as_vector(b["cu"], self.m, "cu", 0.0)
        lb = as_vector(b["lb"], self.n, "lb", -np.inf)
        ub = as_vector(b["ub"], self.n, "ub", np.inf)
        return bool(np.all(cl == cu) and np.all(np.isinf(lb)) and np.all(np.isinf(ub)))

    def form(self, x0=None) -> NLPForm:
        """A fresh NLPForm (fresh counters), starting at x0 (default: the model's x0)."""
        cb, n, m = self._callbacks, self.n, self.m
        f = cb["f"]
        assert f is not None  # required (checked when the NLP was made)
        b = self._bounds
        lb = as_vector(b["lb"], n, "lb", -np.inf)
        ub = as_vector(b["ub"], n, "ub", np.inf)
        deadline = Deadline()  # the form's own: armed by ok.solve, checked before every user call

        def check():
            deadline.check("user-callback (finite differences)")
        grad = cb["grad"] or (lambda x: fd_gradient(f, x, lb, ub, check))
        cons = cb["cons"] or (lambda x: np.zeros(0))
        jac = cb["jac"] or (lambda x: fd_jacobian(cons, x, m, lb, ub, self._sparsity["jac"],
                                                  check))
        if cb["hess"] is not None:
            user_h = cb["hess"]

            def hess(x, y, s=1.0):
                if s == 1.0:
                    return user_h(x, y)
                if s != 0.0:
                    return s * sp.csr_matrix(user_h(x, np.asarray(y) / s))
                return sp.csr_matrix(user_h(x, y)) - sp.csr_matrix(user_h(x, np.zeros(m)))
        else:
            def hess(x, y, s=1.0):
                def lag_grad(z):
                    g = s * np.asarray(grad(z), float)
                    return g + (sp.csr_matrix(jac(z)).T @ y if m else 0.0)
                return fd_hessian(lag_grad, x, lb, ub, self._sparsity["hess"], check)
        start = self.x0 if x0 is None else as_vector(x0, n, "x0")
        return NLPForm(n=n, m=m, x0=start, f_fn=f, grad_fn=grad, cons_fn=cons,
                       jac_fn=lambda x: jac(x) if m else sp.csr_matrix((0, n)),
                       hess_fn=hess, lb=b["lb"], ub=b["ub"], cl=b["cl"], cu=b["cu"], y0=b["y0"],
                       hvp_fn=cb["hvp"], derivatives=dict(self.derivatives), name=self.name,
                       deadline=deadline)

    def compile(self, kind: str, x0=None):
        """NLPForm only ('nlp')."""
        if kind != "nlp":
            raise InvalidProblemError(f"a callback NLP has no {kind} form")
        return Direct(self.form(x0))
