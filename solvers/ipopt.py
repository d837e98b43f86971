"""Backend ``ipopt``: IPOPT (primal-dual interior point) through cyipopt, on an NLPForm.

IPOPT solves  min f(x)  s.t.  g_L <= g(x) <= g_U,  x_L <= x <= x_U  with the Lagrangian
L = f + λᵀg − z_Lᵀ(x − x_L) + z_Uᵀ(x − x_U), which is optkit's L = f + yᵀc, so y = λ
(``info["mult_g"]``) with no sign change: y ≥ 0 on an active upper row bound, y ≤ 0 on an active
lower one; the bound multipliers z = z_U − z_L (``mult_x_U − mult_x_L``) follow the same rule.
The answer is a :class:`~optkit.raw.RawSolution` with IPOPT's ApplicationReturnStatus code as the
key of :data:`STATUS_MAP`; the core measures KKT residuals and feasibility and decides the verdict.

Derivatives are the form's own, passed as sparse triplets:

- When the form has **fixed structures** (``form.jac_structure()`` / ``form.hess_structure()``,
  a form compiled from a model), they are handed to IPOPT as they are, with the aligned values.
- Otherwise the Jacobian ∇c(x) structure is fixed before the solve as the union of the patterns of
  ``form.jac`` at x0 and at one perturbed probe point (explicit zeros included). Every later
  evaluation is aligned to that structure by index (entries that became zero are sent as zeros).
  If an evaluation has a nonzero outside the structure, the solve is stopped at the next
  iteration and restarted from x0 with the enlarged structure (``extra["restarts"]``). The lower
  triangle of the Hessian ∇²(σf + λᵀc) (``form.hess(x, λ, σ)``) is handled the same way.
- With ``hessian="limited-memory"`` IPOPT's L-BFGS is used and the form's Hessian — its values
  *and* its structure — is never requested (``form.counts["hess"] == 0``).

Options: tol → ``tol`` (IPOPT's scaled overall NLP error; absolute sub-tolerances such as
``constr_viol_tol`` keep their defaults: set them through solver_options); max_iter →
``max_iter``; time_limit → ``max_wall_time`` on IPOPT ≥ 3.14 (``max_cpu_time`` before that: CPU
time, which a callback that waits does not advance) and, as the backstop that always holds, the
form's deadline (:mod:`optkit.deadline`, armed by the core): every oracle checks it, cyipopt keeps
the exception an oracle raises, stops IPOPT at its next intermediate callback and re-raises it
after the solve, which this backend turns into TIME_LIMIT at the last accepted iterate (the point
of the last objective evaluation before IPOPT's latest intermediate callback) with the history so
far; the intermediate callback also returns False once the deadline has passed (IPOPT's
User_Requested_Stop → TIME_LIMIT); verbose → ``print_level`` 5
(else 0 and ``sb=yes``). ``solver_options`` are passed to IPOPT unchanged; their names are
checked by the core against :meth:`IpoptBackend.solver_option_names` (IPOPT's own option
documentation, read once per process), a value IPOPT refuses raises OptionError with the option's
documented range, and an option IPOPT refuses only when the algorithm is built (status −12, e.g.
an unavailable ``linear_solver``) raises OptionError with IPOPT's reason.

Statuses (:data:`STATUS_MAP`): 1 Solved_To_Acceptable_Level → ALMOST_LOCALLY_OPTIMAL (the
core's measurement decides whether it counts); 6 Feasible_Point_Found (IPOPT returns it for a
square system, n equalities in n unknowns, where the feasible point is isolated and so its own
local optimum) → LOCALLY_OPTIMAL, verified like any other claim; −4/−5 → TIME_LIMIT; −102
Insufficient_Memory → MEMORY_LIMIT; 4 Diverging_Iterates (|x| > 1e20, no certificate) →
UNBOUNDED when IPOPT's own last primal infeasibility inf_pr is within ``constr_viol_tol``, else
key "4/infeasible" → INFEASIBLE_OR_UNBOUNDED (the iterates ran away while infeasible, e.g. on a
problem both primal and dual infeasible). A stop by optkit's own wall-clock check (IPOPT's 5,
User_Requested_Stop) is TIME_LIMIT; a run whose sparsity kept changing is NUMERICAL_ERROR.

History: one :func:`optkit.raw.iteration_record` per IPOPT iteration from the intermediate
callback (objective, primal_infeasibility = inf_pr, dual_infeasibility = inf_du, evaluations so
far, time since the start; plus ``mu``, ``alpha_pr``, ``alpha_du``, ``ls_trials``, ``restoration``),
always on: one small dict per iteration next to IPOPT's own per-iteration work.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time

import numpy as np
import scipy.sparse as sp

from optkit.backend import Backend
from optkit.deadline import Deadline, DeadlineExceeded
from optkit.errors import OptionError, OptkitError
from optkit.options import Option, SolveOptions
from optkit.raw import RawSolution, iteration_record
from optkit.status import Termination

IPOPT_INF = 1e20  # IPOPT treats |bound| >= 1e19 as infinite

#: IPOPT ApplicationReturnStatus → optkit termination (see module docstring)
STATUS_MAP = {
    0: Termination.LOCALLY_OPTIMAL,          # Solve_Succeeded
    1: Termination.ALMOST_LOCALLY_OPTIMAL,   # Solved_To_Acceptable_Level
    2: Termination.LOCALLY_INFEASIBLE,       # Infeasible_Problem_Detected
    3: Termination.NUMERICAL_ERROR,          # Search_Direction_Becomes_Too_Small
    4: Termination.UNBOUNDED,                # Diverging_Iterates
    5: Termination.INTERRUPTED,              # User_Requested_Stop
    6: Termination.LOCALLY_OPTIMAL,          # Feasible_Point_Found (square problems)
    -1: Termination.ITERATION_LIMIT,         # Maximum_Iterations_Exceeded
    -2: Termination.NUMERICAL_ERROR,         # Restoration_Failed
    -3: Termination.NUMERICAL_ERROR,         # Error_In_Step_Computation
    -4: Termination.TIME_LIMIT,              # Maximum_CpuTime_Exceeded
    -5: Termination.TIME_LIMIT,              # Maximum_WallTime_Exceeded
    -10: Termination.INVALID_PROBLEM,        # Not_Enough_Degrees_Of_Freedom
    -11: Termination.INVALID_PROBLEM,        # Invalid_Problem_Definition
    -12: Termination.INVALID_PROBLEM,        # Invalid_Option (raised as OptionError, see above)
    -13: Termination.NUMERICAL_ERROR,        # Invalid_Number_Detected
    -100: Termination.ERROR,                 # Unrecoverable_Exception
    -101: Termination.ERROR,                 # NonIpopt_Exception_Thrown
    -102: Termination.MEMORY_LIMIT,          # Insufficient_Memory
    -199: Termination.ERROR,                 # Internal_Error
    "4/infeasible": Termination.INFEASIBLE_OR_UNBOUNDED,  # diverged while infeasible (see above)
}

#: IPOPT's names of its return codes
STATUS_NAMES = {
    0: "Solve_Succeeded", 1: "Solved_To_Acceptable_Level", 2: "Infeasible_Problem_Detected",
    3: "Search_Direction_Becomes_Too_Small", 4: "Diverging_Iterates", 5: "User_Requested_Stop",
    6: "Feasible_Point_Found", -1: "Maximum_Iterations_Exceeded", -2: "Restoration_Failed",
    -3: "Error_In_Step_Computation", -4: "Maximum_CpuTime_Exceeded",
    -5: "Maximum_WallTime_Exceeded", -10: "Not_Enough_Degrees_Of_Freedom",
    -11: "Invalid_Problem_Definition", -12: "Invalid_Option", -13: "Invalid_Number_Detected",
    -100: "Unrecoverable_Exception", -101: "NonIpopt_Exception_Thrown",
    -102: "Insufficient_Memory", -199: "Internal_Error",
}

#: statuses after which IPOPT's x is no point of the problem
_NO_POINT = frozenset({-10, -11, -12})

#: options IPOPT accepts but does not document
_UNDOCUMENTED = ("sb",)

MAX_RESTARTS = 3


def _quiet_native():
    """The one silencer of native stdout (:func:`optkit.native.quiet_native`)."""
    from optkit.native import quiet_native

    return quiet_native()


def _finite(v: np.ndarray) -> np.ndarray:
    """±inf → ±1e20, which IPOPT reads as 'no bound'."""
    return np.clip(np.asarray(v, dtype=float), -IPOPT_INF, IPOPT_INF)


class _Pattern:
    """A fixed sparsity structure (sorted linear keys row·ncols + col) and value alignment."""

    def __init__(self, mats: list[sp.spmatrix], ncols: int, lower: bool = False):
        self.ncols = ncols
        self.lower = lower
        keys = [self._keys(M)[0] for M in mats]
        self.keys = np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
        self.missed = np.zeros(0, np.int64)

    def _keys(self, M: sp.spmatrix) -> tuple[np.ndarray, np.ndarray]:
        C = sp.coo_matrix(M)
        r, c, d = C.row.astype(np.int64), C.col.astype(np.int64), C.data
        if self.lower:
            keep = r >= c
            r, c, d = r[keep], c[keep], d[keep]
        return r * self.ncols + c, d

    def structure(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) of the structure, in the order values are returned."""
        return self.keys // self.ncols, self.keys % self.ncols

    def values(self, M: sp.spmatrix) -> np.ndarray:
        """Values of M at the structure's positions; nonzeros outside it are remembered."""
        k, d = self._keys(M)
        out = np.zeros(self.keys.size)
        if k.size == 0:
            return out
        pos = np.searchsorted(self.keys, k)
        pos_c = np.minimum(pos, max(self.keys.size - 1, 0))
        found = (pos < self.keys.size) & (self.keys[pos_c] == k) if self.keys.size else \
            np.zeros(k.size, bool)
        np.add.at(out, pos[found], d[found])
        miss = ~found & (d != 0)
        if miss.any():
            self.missed = np.union1d(self.missed, k[miss])
        return out

    def enlarged(self) -> _Pattern:
        """A copy whose structure also holds every missed position."""
        new = _Pattern([], self.ncols, self.lower)
        new.keys = np.union1d(self.keys, self.missed)
        return new


class _Fixed:
    """The form's own fixed structure and aligned values (nothing can fall outside it)."""

    missed = np.zeros(0, np.int64)

    def __init__(self, structure: tuple[np.ndarray, np.ndarray]):
        self.rows, self.cols = (np.asarray(a, np.int64) for a in structure)

    @property
    def keys(self) -> np.ndarray:
        """The positions (for the nnz count in ``extra``)."""
        return self.rows

    def structure(self) -> tuple[np.ndarray, np.ndarray]:
        return self.rows, self.cols

    def enlarged(self) -> _Fixed:
        return self


class _Callbacks:
    """The problem object handed to cyipopt: counted NLPForm oracles plus bookkeeping.

    This class has no Hessian callbacks (IPOPT's L-BFGS); :class:`_ExactCallbacks` adds them.
    """

    def __init__(self, form, jpat, hpat, deadline: Deadline | None, t0: float):
        self.form, self.jpat, self.hpat = form, jpat, hpat
        self.deadline = deadline
        self.t0 = t0
        self.history: list[dict] = []
        self.iterations = 0
        self.timed_out = False
        self.eval_errors = 0
        self.failure: BaseException | None = None  # an exception of the Hessian callback
        self.fixed_jac = isinstance(jpat, _Fixed)

    # -- zeroth order: an arithmetic failure becomes NaN so IPOPT cuts the step back
    def objective(self, x):
        try:
            return self.form.f(x)
        except OptkitError:  # bad input (a wrong shape) is raised, not hidden as NaN
            raise
        except (ArithmeticError, ValueError):
            self.eval_errors += 1
            return float("nan")

    def constraints(self, x):
        try:
            return self.form.cons(x)
        except OptkitError:
            raise
        except (ArithmeticError, ValueError):
            self.eval_errors += 1
            return np.full(self.form.m, np.nan)

    def gradient(self, x):
        return self.form.grad(x)

    def jacobianstructure(self):
        return self.jpat.structure()

    def jacobian(self, x):
        if not self.form.m:
            return np.zeros(0)
        if self.fixed_jac:
            return self.form.jac_values(x)
        return self.jpat.values(self.form.jac(x))

    def intermediate(self, alg_mod, iter_count, obj_value, inf_pr, inf_du, mu, d_norm,
                     regularization_size, alpha_du, alpha_pr, ls_trials):
        self.iterations = int(iter_count)
        self.history.append(iteration_record(
            iter_count, float(obj_value), float(inf_pr), float(inf_du),
            int(sum(self.form.counts.values())), time.perf_counter() - self.t0,
            mu=float(mu), alpha_pr=float(alpha_pr), alpha_du=float(alpha_du),
            ls_trials=int(ls_trials), restoration=bool(alg_mod)))
        if self.failure is not None:
            return False  # the Hessian callback failed: stop, the exception is re-raised
        last = getattr(self.form, "last_x", None)
        if last is not None:
            self.form.note_iterate(last)  # IPOPT's accepted iterate
        if self.jpat.missed.size or self.hpat.missed.size:
            return False  # derivative outside the fixed structure: restart with a larger one
        if self.deadline is not None and self.deadline.expired():
            self.timed_out = True
            return False
        return True


class _ExactCallbacks(_Callbacks):
    """:class:`_Callbacks` with the form's Lagrangian Hessian (lower triangle)."""

    def hessianstructure(self):
        return self.hpat.structure()

    def hessian(self, x, lagrange, obj_factor):
        """The Hessian values. cyipopt (1.7) drops an exception raised in its Hessian callback
        and lets IPOPT go on with unset values, so an exception (a wrong shape, the deadline) is
        kept here, zeros are returned, the next intermediate callback stops IPOPT and the solve
        re-raises it."""
        lam = np.asarray(lagrange, float)
        try:
            if isinstance(self.hpat, _Fixed):
                return self.form.hess_values(x, lam, float(obj_factor))
            return self.hpat.values(self.form.hess(x, lam, float(obj_factor)))
        except Exception as exc:
            if self.failure is None:
                self.failure = exc
            return np.zeros(self.hpat.keys.size)


# ---------------------------------------------------------------------- IPOPT's option list
_OPTION_DOC: dict[str, str] | None = None
_OPTION_LINE = re.compile(r"^([a-z][a-z0-9_]*)(\s+|(?=\())(.*)$")


def _parse_option_doc(text: str) -> dict[str, str]:
    """{name: summary} from IPOPT's ``print_options_documentation`` output: the line after the
    name (range and default, e.g. ``0 < (1e-08) < +inf``) and, for string options, the possible
    values."""
    out: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        m = _OPTION_LINE.match(line)
        if m and (m.group(3).startswith("(") or m.group(3)[:1] in "-+0123456789"):
            current = m.group(1)
            out[current] = " ".join(m.group(3).split())
            continue
        if current is not None:
            stripped = line.strip()
            if stripped.startswith("- ") and "[" in stripped:
                value = stripped[2:].split("[", 1)[0].strip()
                sep = "; values: " if "values:" not in out[current] else ", "
                out[current] += sep + value
    return out


def ipopt_option_doc() -> dict[str, str] | None:
    """IPOPT's documented options {name: range/default/values}, read once per process by a
    zero-iteration run with ``print_options_documentation`` written to a temporary file (about
    10-20 ms); None when that is not possible here."""
    global _OPTION_DOC
    if _OPTION_DOC is not None:
        return _OPTION_DOC or None
    import cyipopt

    class _Tiny:
        def objective(self, x):
            return float(x[0] ** 2)

        def gradient(self, x):
            return 2.0 * x

    doc: dict[str, str] = {}
    folder = tempfile.mkdtemp(prefix="optkit_ipopt_")
    path = os.path.join(folder, "options.txt").lower()
    try:
        prob = cyipopt.Problem(n=1, m=0, problem_obj=_Tiny(), lb=[-1.0], ub=[1.0], cl=[], cu=[])
        with _quiet_native():
            for key, val in (("print_level", 0), ("sb", "yes"), ("output_file", path),
                             ("file_print_level", 5), ("print_options_documentation", "yes"),
                             ("max_iter", 0), ("hessian_approximation", "limited-memory")):
                prob.add_option(key, val)
            try:  # IPOPT >= 3.12 documents its advanced options only when asked
                prob.add_option("print_advanced_options", "yes")
            except (TypeError, ValueError):
                pass
            prob.solve(np.array([0.5]))
        if os.path.exists(path):
            with open(path) as fh:
                doc = _parse_option_doc(fh.read())
    except Exception:  # a build without these options: the names cannot be listed
        doc = {}
    finally:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)
    if len(doc) < 50:  # not the documentation we expect: do not refuse names on its basis
        doc = {}
    for name in _UNDOCUMENTED:
        if doc:
            doc.setdefault(name, "(undocumented)")
    _OPTION_DOC = doc
    return doc or None


def _invalid_option_reason(form, options: dict, bounds: tuple, make_callbacks) -> str:
    """IPOPT's own words for status −12 (Invalid_Option), from a rerun that stops before the
    first iteration and writes its error messages to a temporary file."""
    import cyipopt

    folder = tempfile.mkdtemp(prefix="optkit_ipopt_")
    path = os.path.join(folder, "error.txt").lower()
    try:
        prob = cyipopt.Problem(n=form.n, m=form.m, problem_obj=make_callbacks(), lb=bounds[0],
                               ub=bounds[1], cl=bounds[2], cu=bounds[3])
        for key, val in {**options, "output_file": path, "file_print_level": 3,
                         "max_iter": 0}.items():
            prob.add_option(key, val)
        saved = dict(form.counts)
        try:
            prob.solve(form.x0.copy())
        finally:
            form.counts.update(saved)
        text = ""
        if os.path.exists(path):
            with open(path) as fh:
                text = fh.read()
    except Exception as exc:
        text = f"Exception message: {exc}"
    finally:
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)
    lines, keep = [], False
    for line in text.splitlines():
        if "Exception message:" in line:
            keep = True
            line = line.split("Exception message:", 1)[1]
        elif line.startswith("EXIT") or not line.strip():
            keep = False
        if keep and line.strip():
            lines.append(line.strip())
    return " ".join(lines) or "IPOPT gave no reason"


class IpoptBackend(Backend):
    """IPOPT via cyipopt with exact sparse derivatives of the NLPForm."""

    name = "ipopt"
    accepts = frozenset({"nlp", "nlp-equality", "qp", "lp"})
    priority = {"nlp": 100, "qp": 30, "lp": 10}
    capabilities = frozenset({"duals", "inner-solver", "nonconvex-qp"})
    requires = ("cyipopt",)
    extra = "ipopt"  # pip extra that brings `requires` (docs/install.md)
    STATUS_MAP = STATUS_MAP
    options = {"hessian": Option("exact", ("exact", "limited-memory"),
                                 "'exact': the form's Lagrangian Hessian; 'limited-memory': "
                                 "IPOPT's L-BFGS (the form's Hessian is never requested)")}
    description = "IPOPT interior point (cyipopt) on NLPForm with exact sparse derivatives"

    def version(self) -> str:
        import cyipopt

        v = ".".join(str(p) for p in getattr(cyipopt, "IPOPT_VERSION", ()))
        return f"{v} (cyipopt {cyipopt.__version__})" if v else f"cyipopt {cyipopt.__version__}"

    def solver_option_names(self) -> list[str] | None:
        """IPOPT's documented option names (plus ``sb``), read from IPOPT itself once per
        process (:func:`ipopt_option_doc`); None when they cannot be read here."""
        doc = ipopt_option_doc()
        return None if doc is None else sorted(doc)

    @staticmethod
    def _ipopt_version() -> tuple[int, ...]:
        import cyipopt

        return tuple(getattr(cyipopt, "IPOPT_VERSION", (0, 0, 0)))

    # ------------------------------------------------------------------ patterns
    @staticmethod
    def _probe_point(form) -> tuple[np.ndarray, np.ndarray]:
        """A deterministic perturbation of x0 inside the bounds, and a dense multiplier vector."""
        rng = np.random.default_rng(12345)
        x = form.x0 + 1e-3 * (1.0 + np.abs(form.x0)) * rng.uniform(0.5, 1.0, form.n)
        return np.clip(x, form.lb, form.ub), rng.uniform(0.5, 1.5, form.m)

    def _patterns(self, form, exact_hessian: bool = True):
        """(Jacobian, Hessian) structures: the form's fixed ones when it has them, else probed
        patterns. Without ``exact_hessian`` the Hessian is never evaluated, nor its structure
        built (an empty structure stands in)."""
        no_hess = _Fixed((np.zeros(0, np.int64), np.zeros(0, np.int64)))
        if getattr(form, "jac_structure_fn", None) is not None and \
                getattr(form, "jac_values_fn", None) is not None:
            jpat = _Fixed(form.jac_structure())
            if not exact_hessian:
                return jpat, no_hess
            if getattr(form, "hess_structure_fn", None) is not None and \
                    getattr(form, "hess_values_fn", None) is not None:
                return jpat, _Fixed(form.hess_structure())
            return jpat, self._probed_hessian(form)
        x0 = form.x0
        jac_mats = [form.jac(x0)] if form.m else []
        xp, _ = self._probe_point(form)
        try:  # a probe is a hint only; a failing evaluation there is not an error
            if form.m:
                jac_mats.append(form.jac(xp))
        except Exception:
            pass
        jpat = _Pattern(jac_mats, form.n)
        return jpat, (self._probed_hessian(form) if exact_hessian else no_hess)

    def _probed_hessian(self, form) -> _Pattern:
        mats = [form.hess(form.x0, np.ones(form.m), 1.0)]
        xp, yp = self._probe_point(form)
        try:
            mats.append(form.hess(xp, yp, 1.0))
        except Exception:
            pass
        return _Pattern(mats, form.n, lower=True)

    # ------------------------------------------------------------------ options
    def _ipopt_options(self, options: SolveOptions) -> dict:
        """IPOPT's native options for this solve (optkit's first, ``solver_options`` last)."""
        opts: dict = {"print_level": 5 if options.verbose else 0}
        if not options.verbose:
            opts["sb"] = "yes"
        if options.tol is not None:
            opts["tol"] = float(options.tol)
        if options.max_iter is not None:
            opts["max_iter"] = int(options.max_iter)
        if options.time_limit is not None:
            key = "max_wall_time" if self._ipopt_version() >= (3, 14) else "max_cpu_time"
            opts[key] = float(options.time_limit)
        if options.get("hessian", "exact") == "limited-memory":
            opts["hessian_approximation"] = "limited-memory"
        opts.update(dict(options.solver_options))
        out = {}
        for key, val in opts.items():
            if isinstance(val, bool):
                val = "yes" if val else "no"
            elif isinstance(val, np.integer):
                val = int(val)
            elif isinstance(val, np.floating):
                val = float(val)
            out[key] = val
        return out

    def _apply_options(self, prob, opts: dict, verbose: bool) -> None:
        """add_option for each; a refusal raises OptionError with the option's documented range
        (IPOPT's own printout of the refusal is silenced unless verbose)."""
        bad = None
        with (_quiet_native() if not verbose else contextlib.nullcontext()):
            for key, val in opts.items():
                try:
                    prob.add_option(key, val)
                except (TypeError, ValueError) as exc:
                    bad = (key, val, exc)
                    break
        if bad is not None:
            key, val, exc = bad
            doc = (ipopt_option_doc() or {}).get(key)
            if doc:
                raise OptionError(f"IPOPT rejected option {key}={val!r} (wrong type or value out "
                                  f"of range); IPOPT documents {key}: {doc}")
            raise OptionError(f"IPOPT rejected option {key}={val!r} (unknown name, wrong type or "
                              f"value out of range): {exc}")

    # ------------------------------------------------------------------ solve
    def solve_nlp(self, form, options: SolveOptions) -> RawSolution:
        """Run IPOPT on the NLPForm; restart with a larger structure if derivatives leave it."""
        import cyipopt

        t0 = time.perf_counter()
        deadline = getattr(form, "deadline", None)
        own = isinstance(deadline, Deadline) and not deadline.armed and options.time_limit is not None
        if own:  # called directly, not through ok.solve: the same rule, armed here
            deadline.arm(options.time_limit)
        try:
            return self._solve_nlp(form, options, deadline, t0, cyipopt)
        except DeadlineExceeded as exc:  # before IPOPT started (probing the structures)
            return RawSolution(status=Termination.TIME_LIMIT, status_text="deadline",
                               x=getattr(form, "iterate", None), iterations=0,
                               evaluations=dict(form.counts),
                               message=f"{exc}; IPOPT was not started",
                               extra={"deadline_overrun": exc.overrun})
        finally:
            if own:
                deadline.disarm()

    def _solve_nlp(self, form, options: SolveOptions, deadline, t0: float, cyipopt
                   ) -> RawSolution:
        exact = options.get("hessian", "exact") != "limited-memory"
        jpat, hpat = self._patterns(form, exact)
        opts = self._ipopt_options(options)
        bounds = (_finite(form.lb), _finite(form.ub), _finite(form.cl), _finite(form.cu))
        kind = _ExactCallbacks if exact else _Callbacks
        restarts = 0
        while True:
            cb = kind(form, jpat, hpat, deadline, t0)
            prob = cyipopt.Problem(n=form.n, m=form.m, problem_obj=cb, lb=bounds[0], ub=bounds[1],
                                   cl=bounds[2], cu=bounds[3])
            self._apply_options(prob, opts, options.verbose)
            try:
                x, info = prob.solve(form.x0.copy())
                if cb.failure is not None:
                    raise cb.failure
            except DeadlineExceeded as exc:  # raised by an oracle, kept and re-raised by cyipopt
                return RawSolution(
                    status=Termination.TIME_LIMIT, status_text="deadline",
                    x=getattr(form, "iterate", None),
                    iterations=cb.iterations, evaluations=dict(form.counts), history=cb.history,
                    message=f"{exc}; IPOPT stopped at its next iteration, last accepted iterate "
                            f"returned", extra={"restarts": restarts,
                                                "deadline_overrun": exc.overrun})
            grew = jpat.missed.size or hpat.missed.size
            if not grew or restarts >= MAX_RESTARTS:
                break
            restarts += 1
            jpat, hpat = jpat.enlarged(), hpat.enlarged()

        code = int(info["status"])
        msg = info["status_msg"]
        msg = msg.decode() if isinstance(msg, bytes) else str(msg)
        if code == -12:
            reason = _invalid_option_reason(form, opts, bounds,
                                            lambda: kind(form, jpat, hpat, None, t0))
            given = ", ".join(f"{k}={v!r}" for k, v in options.solver_options.items())
            raise OptionError(f"IPOPT refused an option when building its algorithm "
                              f"(Invalid_Option): {reason}"
                              + (f" [solver_options given: {given}]" if given else ""))
        status: object = code
        if code == 5 and (cb.timed_out or (deadline is not None and deadline.expired())):
            status = Termination.TIME_LIMIT
            msg = f"wall-clock time limit {options.time_limit} s reached ({msg})"
        elif code == 5 and grew:
            status = Termination.NUMERICAL_ERROR
            msg = (f"derivative sparsity kept changing after {restarts} restarts; "
                   f"last run stopped ({msg})")
        elif code == 1:
            msg = f"solved to IPOPT's acceptable (looser) level only: {msg}"
        elif code == 4 and cb.history:
            viol_tol = float(opts.get("constr_viol_tol", 1e-4))
            inf_pr = cb.history[-1]["primal_infeasibility"]
            if not inf_pr <= viol_tol:
                status = "4/infeasible"
                msg = (f"{msg} The iterates diverged while infeasible (IPOPT's inf_pr {inf_pr:.3g} "
                       f"> constr_viol_tol {viol_tol:g}): infeasible or unbounded.")
        x = np.asarray(x, dtype=float)
        has_point = bool(np.all(np.isfinite(x))) and code not in _NO_POINT
        y = np.asarray(info["mult_g"], dtype=float) if form.m else np.zeros(0)
        z_lo = np.asarray(info["mult_x_L"], float)
        z_up = np.asarray(info["mult_x_U"], float)
        extra = {"ipopt_status": code, "restarts": restarts, "mult_x_L": z_lo, "mult_x_U": z_up,
                 "jacobian_nnz": int(jpat.keys.size), "hessian_nnz": int(hpat.keys.size),
                 "structure": "form" if isinstance(jpat, _Fixed) else "probed"}
        if cb.eval_errors:
            extra["evaluation_errors"] = cb.eval_errors
        obj = info.get("obj_val")
        return RawSolution(
            status=status, status_text=STATUS_NAMES.get(code, f"status {code}"),
            x=x if has_point else None,
            y=y if has_point and np.all(np.isfinite(y)) else None,
            z=(z_up - z_lo) if has_point else None,
            objective=float(obj) if obj is not None and has_point else None,
            iterations=cb.iterations, evaluations=dict(form.counts), history=cb.history,
            message=msg, extra=extra)
