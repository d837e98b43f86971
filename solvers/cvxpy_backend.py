"""Backend ``cvxpy``: any solver installed under cvxpy (Clarabel, OSQP, SCS, HiGHS, SCIP, SciPy).

Two paths, each with one canonicalisation by cvxpy (``get_problem_data``, then the chain's
``solve_via_data`` and ``unpack_results``; native output is silenced unless ``verbose``):

* **linear** (lp, qp, milp): the LinearForm

      minimize cᵀx + ½xᵀQx + c0  s.t.  rl <= Ax <= ru,  lb <= x <= ub,  x_j ∈ Z (j ∈ I)

  is rebuilt as a cvxpy problem (column bounds as the variable's ``bounds`` attribute, rows split
  into equalities A_E x = r_E, upper rows A_U x <= ru_U and lower rows A_L x >= rl_L, the
  objective ``c @ x + ½ quad_form(x, psd_wrap(Q)) + c0``) and solved with the chosen cvxpy solver.
  ``psd_wrap`` spares cvxpy its PSD test of Q, which densifies a sparse Q (n² doubles); optkit
  checks convexity itself without densifying (:func:`convexity_problem`: a negative diagonal
  entry refutes Q ⪰ 0, Gershgorin's diagonal dominance proves it, otherwise the signs of the
  pivots of a sparse symmetric LDLᵀ of Q + δI, δ = 1e-9·max(1, max|Q_ij|), decide by Sylvester's law
  of inertia). With cvxpy's multipliers λ_E, λ_U ≥ 0, λ_L ≥ 0 of the three blocks (``_row_duals``),
  optkit's row multipliers under L = f + yᵀAx are

      y_E = λ_E,   y_U = λ_U,   y_L = −λ_L     (summed for a two-sided row),

  returned in a :class:`~optkit.raw.RawSolution`: the core maps the status and measures KKT
  residuals and scaled feasibility on the LinearForm itself.
* **model** (conic, and MIQPs written in cvxpy — optkit's LinearForm compiler reads cvxpy's HiGHS
  data, which has no MIQP): the user's own ``cp.Problem`` is solved, so Parameters take their
  *current* values at every solve (cvxpy re-applies them to its cached canonical program). optkit
  then measures conic KKT residuals on the very conic data the solver was given
  (:mod:`optkit.solvers._conic_kkt`: primal residual Ax + s − b, cone membership of s and of the
  dual y, stationarity c + Px + Aᵀy, duality gap) from the solver's own x, s, y (Clarabel, SCS,
  HiGHS; for other solvers x only, the rest listed in ``kkt.not_measured``), and decides
  ``primal_status`` and ``verified`` by the core's rule (:func:`optkit.verify.judge`,
  :class:`optkit.verify.Tolerances`). ``objective`` is cvxpy's (user units); ``value()``/``dual()``
  read the variables' and constraints' values captured right after the solve.

Status table :data:`STATUS_MAP` (cvxpy status → optkit): optimal → OPTIMAL; optimal_inaccurate →
ALMOST_OPTIMAL (whether it counts is optkit's measurement); infeasible → INFEASIBLE;
infeasible_inaccurate → INFEASIBLE, unbounded_inaccurate → UNBOUNDED (optkit has no ALMOST_INFEASIBLE;
``native_status`` keeps the word "inaccurate" and the message says the certificate is
inaccurate); unbounded → UNBOUNDED; infeasible_or_unbounded → INFEASIBLE_OR_UNBOUNDED;
user_limit → OTHER_LIMIT; solver_error → NUMERICAL_ERROR. cvxpy folds the solvers' limits into
user_limit (and SCIP's time and node limits into optimal_inaccurate), so the solver's *own* status
is read from its raw answer and, when it names a limit, refines the key to "SOLVER:status"
(e.g. "CLARABEL:MaxTime" → TIME_LIMIT, "OSQP:maximum iterations reached" → ITERATION_LIMIT,
"SCIP:nodelimit" → NODE_LIMIT, "SCIP:gaplimit" → OPTIMAL, HiGHS's limits as in
:mod:`optkit.solvers._highs_options`) — never a guess from elapsed time. An unbounded claim (a
conic solver's dual-infeasibility ray, or HiGHS's infeasible_or_unbounded) is settled by one
feasibility solve, min 0 over the same constraints (:func:`settle_unbounded`): primal infeasible →
INFEASIBLE ("…/primal-infeasible"), feasible → UNBOUNDED.

Options: ``cvxpy_solver`` (typed: an installed cvxpy solver, checked when given). ``tol``,
``max_iter``, ``time_limit`` map to the chosen solver's names (:data:`NATIVE`; HiGHS through the
shared :func:`~optkit.solvers._highs_options.highs_options`), ``solver_options`` are passed last
and their names are checked against the chosen solver's own list (:func:`solver_option_names_for`)
once cvxpy has picked it. Native output is silenced unless ``verbose`` (:func:`quiet_native`).
"""
from __future__ import annotations

import contextlib
import difflib
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from optkit.ir.convexity import cached_convexity_problem, convexity_problem  # noqa: F401
from optkit.native import quiet_native
from optkit.backend import LINEAR_CLASSES, Backend
from optkit.errors import OptionError, UnsupportedProblemError
from optkit.finish import to_result
from optkit.options import Option, SolveOptions
from optkit.raw import RawSolution
from optkit.results import Result
from optkit.status import PrimalStatus, Termination
from optkit.verify import KKTReport, Tolerances

from optkit.solvers._conic_kkt import ConicData, conic_kkt, verdict

try:  # the shared HiGHS vocabulary (one mapping for every backend that reaches HiGHS)
    from optkit.solvers._highs_options import HIGHS_STATUS_MAP, highs_option_names, highs_options
    from optkit.solvers._highs_options import mip_nodes as _highs_nodes
    from optkit.solvers._highs_options import status_key as _highs_status_key
except ImportError:  # pragma: no cover - the module ships with optkit
    HIGHS_STATUS_MAP, highs_options, highs_option_names = {}, None, None
    _highs_nodes = _highs_status_key = None

#: cvxpy status strings → termination, then the solvers' own limit statuses ("SOLVER:status")
STATUS_MAP: dict[str, Termination] = {
    "optimal": Termination.OPTIMAL,
    "optimal_inaccurate": Termination.ALMOST_OPTIMAL,
    "infeasible": Termination.INFEASIBLE,
    "infeasible_inaccurate": Termination.INFEASIBLE,
    "unbounded": Termination.UNBOUNDED,
    "unbounded_inaccurate": Termination.UNBOUNDED,
    "infeasible_or_unbounded": Termination.INFEASIBLE_OR_UNBOUNDED,
    "user_limit": Termination.OTHER_LIMIT,
    "solver_error": Termination.NUMERICAL_ERROR,
    "CLARABEL:MaxIterations": Termination.ITERATION_LIMIT,
    "CLARABEL:MaxTime": Termination.TIME_LIMIT,
    "OSQP:maximum iterations reached": Termination.ITERATION_LIMIT,
    "OSQP:run time limit reached": Termination.TIME_LIMIT,
    "OSQP:interrupted": Termination.INTERRUPTED,
    "OSQP:problem non convex": Termination.INVALID_PROBLEM,
    "SCIP:timelimit": Termination.TIME_LIMIT,
    "SCIP:nodelimit": Termination.NODE_LIMIT,
    "SCIP:totalnodelimit": Termination.NODE_LIMIT,
    "SCIP:stallnodelimit": Termination.NODE_LIMIT,
    "SCIP:gaplimit": Termination.OPTIMAL,          # stopped at the requested relative gap
    "SCIP:sollimit": Termination.SOLUTION_LIMIT,
    "SCIP:bestsollimit": Termination.SOLUTION_LIMIT,
    "SCIP:memlimit": Termination.MEMORY_LIMIT,
    "SCIP:restartlimit": Termination.OTHER_LIMIT,
    "SCIP:userinterrupt": Termination.INTERRUPTED,
    "SCIPY:1": Termination.OTHER_LIMIT,            # scipy: "iteration or time limit reached"
    # an unbounded claim settled by a feasibility solve (see settle_unbounded)
    "unbounded/primal-infeasible": Termination.INFEASIBLE,
    "infeasible_or_unbounded/primal-infeasible": Termination.INFEASIBLE,
    "infeasible_or_unbounded/primal-feasible": Termination.UNBOUNDED,
}
STATUS_MAP.update({f"HIGHS:{k}": v for k, v in HIGHS_STATUS_MAP.items()
                   if v.is_limit or v == Termination.INTERRUPTED})

#: cvxpy statuses after which the variables hold a point
_SOLUTION_PRESENT = ("optimal", "optimal_inaccurate", "user_limit")

#: native option names per cvxpy solver for optkit's tol / max_iter / time_limit (HIGHS: through
#: :func:`optkit.solvers._highs_options.highs_options`)
NATIVE = {
    "CLARABEL": {"tol": ("tol_gap_abs", "tol_gap_rel", "tol_feas"), "max_iter": ("max_iter",),
                 "time_limit": ("time_limit",)},
    "OSQP": {"tol": ("eps_abs", "eps_rel"), "max_iter": ("max_iter",), "time_limit": ("time_limit",)},
    "SCS": {"tol": ("eps_abs", "eps_rel"), "max_iter": ("max_iters",),
            "time_limit": ("time_limit_secs",)},
    "HIGHS": {"tol": ("primal_feasibility_tolerance", "dual_feasibility_tolerance"),
              "max_iter": ("simplex_iteration_limit", "ipm_iteration_limit"),
              "time_limit": ("time_limit",)},
    "SCIPY": {"tol": (), "max_iter": ("maxiter",), "time_limit": ("time_limit",)},
    # SCIP: tol is both the relative gap and the feasibility tolerance; max_iter caps nodes (a MIP)
    "SCIP": {"tol": ("limits/gap", "numerics/feastol"), "max_iter": ("limits/nodes",),
             "time_limit": ("limits/time",)},
}

#: SCS 3.x settings (https://www.cvxgrp.org/scs/api/settings.html) and the keys cvxpy adds
SCS_SETTINGS = ("normalize", "scale", "adaptive_scale", "rho_x", "max_iters", "eps_abs", "eps_rel",
                "eps_infeas", "alpha", "time_limit_secs", "verbose", "warm_start",
                "acceleration_lookback", "acceleration_interval", "write_data_filename",
                "log_csv_filename", "linear_solver", "eps", "use_indirect", "use_quad_obj")


def native_options(solver: str, options: SolveOptions, is_mip: bool = False) -> dict:
    """optkit's tol / max_iter / time_limit (and seed, verbose for HiGHS) as keyword options of
    the cvxpy solver ``solver``, ``solver_options`` last (they win).

    HIGHS uses the shared mapper :func:`optkit.solvers._highs_options.highs_options` (``tol`` →
    feasibility and IPM tolerances and, for a MIP, ``mip_rel_gap``; ``max_iter`` → LP iteration
    limits, or ``mip_max_nodes`` for a MIP; ``seed`` → ``random_seed``). SCIPY takes its options
    inside a ``scipy_options`` dict. Solvers without a mapping get only ``solver_options``.
    """
    if solver == "HIGHS" and highs_options is not None:
        return dict(highs_options(options, is_mip))
    names = NATIVE.get(solver, {})
    out: dict[str, Any] = {}
    if options.tol is not None:
        for k in names.get("tol", ()):
            out[k] = float(options.tol)
        if solver == "HIGHS" and is_mip:
            out["mip_rel_gap"] = float(options.tol)
    if options.max_iter is not None:
        for k in names.get("max_iter", ()):
            out[k] = int(options.max_iter)
    if options.time_limit is not None:
        for k in names.get("time_limit", ()):
            out[k] = float(options.time_limit)
    if solver == "HIGHS" and options.seed is not None:
        out["random_seed"] = int(options.seed)
    if solver == "SCIPY" and out:
        out = {"scipy_options": out}
    user = dict(options.solver_options)
    if solver == "SCIPY" and "scipy_options" in user and "scipy_options" in out:
        out["scipy_options"].update(user.pop("scipy_options"))
    out.update(user)
    return out


_OPTION_NAMES: dict[str, list[str] | None] = {}


def solver_option_names_for(solver: str) -> list[str] | None:
    """The option names cvxpy's interface to ``solver`` passes on, or None when they cannot be
    listed cheaply: Clarabel's ``DefaultSettings`` fields and OSQP's ``OSQPSettings`` fields (read
    from the installed packages), SCS's documented settings (:data:`SCS_SETTINGS`), HiGHS's own
    option list; plus the canonicalisation keys cvxpy accepts (``use_quad_obj``, ...)."""
    solver = solver.upper()
    if solver in _OPTION_NAMES:
        return _OPTION_NAMES[solver]
    names: list[str] | None = None
    try:
        if solver == "CLARABEL":
            import clarabel

            st = clarabel.DefaultSettings()
            names = [a for a in dir(st) if not a.startswith("_") and not callable(getattr(st, a))]
            names += ["use_quad_obj", "accept_unknown"]
        elif solver == "OSQP":
            from osqp import ext_builtin

            st = ext_builtin.OSQPSettings()
            names = [a for a in dir(st) if not a.startswith("_") and not callable(getattr(st, a))]
        elif solver == "SCS":
            names = list(SCS_SETTINGS)
        elif solver == "HIGHS" and highs_option_names is not None:
            names = list(highs_option_names()) + ["highs_options", "write_model_file"]
    except Exception:  # a solver without the introspection we expect: let it reject names itself
        names = None
    _OPTION_NAMES[solver] = sorted(set(names)) if names else None
    return _OPTION_NAMES[solver]


def _check_native_names(solver: str, given: dict) -> None:
    """Refuse ``solver_options`` keys the solver does not know, naming close matches."""
    valid = solver_option_names_for(solver)
    if valid is None or not given:
        return
    unknown = sorted(k for k in given if k not in set(valid))
    if unknown:
        hints = "; ".join(f"{k!r}" + (f" (did you mean {', '.join(m)}?)" if (m := difflib.
                          get_close_matches(k, valid, n=3)) else "") for k in unknown)
        raise OptionError(f"unknown solver_options for cvxpy solver {solver}: {hints}; "
                          f"{len(valid)} options exist (see solver_option_names_for({solver!r}))")


def _installed_solver(value: Any) -> bool:
    """Domain of ``cvxpy_solver``: None or the name of an installed cvxpy solver (checked when
    given, so cvxpy is imported only then)."""
    if value is None:
        return True
    import cvxpy as cp

    if not isinstance(value, str) or value.upper() not in cp.installed_solvers():
        raise OptionError(f"cvxpy_solver={value!r} is not installed; installed cvxpy solvers: "
                          f"{', '.join(cp.installed_solvers())}")
    return True


# ---------------------------------------------------------------------- one cvxpy run
@dataclass
class CvxpyRun:
    """What one solve through cvxpy produced (before optkit's judgement)."""

    key: Any                                  # a key of STATUS_MAP, or a Termination
    text: str = ""                            # the solver's own words
    solver: str = ""
    cvxpy_status: str | None = None
    iterations: int | None = None
    nodes: int | None = None
    mip_gap: float | None = None
    dual_bound: float | None = None           # solver units + cvxpy's offset (minimisation)
    data: dict | None = None
    chain: Any = None
    inverse: Any = None
    raw: Any = None
    native_options: dict = field(default_factory=dict)


def _native_status(name: str, raw: Any) -> tuple[str | None, str]:
    """The solver's own status and words from its raw answer (None when not readable)."""
    try:
        if name == "CLARABEL":
            return str(raw.status), str(raw.status)
        if name == "OSQP":
            return str(raw.info.status), str(raw.info.status)
        if name == "SCS":
            return str(raw["info"]["status"]), str(raw["info"]["status"])
        if name == "HIGHS":
            return str(raw["model_status"]), str(raw["model_status"])
        if name == "SCIP":
            return str(raw["scip_status"]), str(raw["scip_status"])
        if name == "SCIPY":
            return str(int(raw["status"])), str(raw.get("message", raw["status"]))
    except Exception:  # an unexpected raw layout: cvxpy's status alone
        pass
    return None, ""


def _mip_counters(name: str, raw: Any, offset: float, is_mip: bool
                  ) -> tuple[int | None, float | None, float | None]:
    """(nodes, relative gap, dual bound incl. cvxpy's offset) a MIP solver reports."""
    if not is_mip:
        return None, None, None
    try:
        if name == "HIGHS":
            info = raw["info"]
            nodes = _highs_nodes(info) if _highs_nodes is not None else int(info.mip_node_count)
            return nodes, float(info.mip_gap), float(info.mip_dual_bound) + offset
        if name == "SCIP":
            model = raw["model"]
            return int(model.getNNodes()), float(model.getGap()), float(model.getDualbound()) + offset
        if name == "SCIPY":
            return (int(raw.get("mip_node_count")), float(raw.get("mip_gap")),
                    float(raw.get("mip_dual_bound")) + offset)
    except Exception:
        pass
    return None, None, None


def run_cvxpy(problem, options: SolveOptions, is_mip: bool = False) -> CvxpyRun:
    """Solve the cvxpy ``problem`` in place with the backend's solver (one canonicalisation).

    Uses cvxpy's public two-step interface (``get_problem_data`` then the chain's
    ``solve_via_data`` and ``unpack_results``), so the solver cvxpy picks is known before the
    native options are mapped and checked, and its raw answer is at hand for the status and for
    optkit's conic measurement. Native output is silenced unless ``verbose``.
    """
    import cvxpy as cp

    solver = options.get("cvxpy_solver")
    solver = None if solver is None else str(solver).upper()
    try:
        opts: dict[str, Any] = {}  # cvxpy keeps this dict (by reference) in its inverse data
        data, chain, inverse = problem.get_problem_data(solver, solver_opts=opts)
    except (cp.error.SolverError, cp.error.DCPError) as exc:
        if isinstance(exc, cp.error.SolverError) and solver is None:
            raise UnsupportedProblemError(
                f"backend 'cvxpy': no installed cvxpy solver takes this problem ({exc}); installed: "
                f"{', '.join(cp.installed_solvers())} (a MIQP needs e.g. SCIP: pip install 'optkit[mip]')"
            ) from None
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, cp.error.DCPError):
            text = "the problem is not convex (DCP): " + text
        return CvxpyRun(key=Termination.INVALID_PROBLEM, text=f"cvxpy: {text}", solver=solver or "")
    name = chain.solver.name()
    native = native_options(name, options, is_mip)
    _check_native_names(name, dict(options.solver_options))
    opts.update(native)
    run = CvxpyRun(key=None, solver=name, data=data, chain=chain, inverse=inverse,
                   native_options=dict(opts))
    quiet = contextlib.nullcontext() if options.verbose else quiet_native()
    try:
        with warnings.catch_warnings(), quiet:  # "inaccurate" warnings: the status says it
            warnings.simplefilter("ignore", UserWarning)
            raw = chain.solve_via_data(problem, data, options.x0 is not None, bool(options.verbose), opts)
    except cp.error.SolverError as exc:
        run.key, run.text = "solver_error", f"cvxpy/{name}: {exc}"
        return run
    except (TypeError, ValueError) as exc:  # a native option the solver refused
        bad = [k for k in options.solver_options if k in str(exc)]
        if bad:
            raise OptionError(f"cvxpy solver {name} refused solver_options {', '.join(bad)}: "
                              f"{exc}") from None
        raise
    run.raw = raw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            problem.unpack_results(raw, chain, inverse)
        except cp.error.SolverError as exc:  # e.g. SCS: "could not determine problem status"
            run.key, run.text = "solver_error", f"cvxpy/{name}: {exc}"
            return run
    run.cvxpy_status = problem.status
    native_status, native_text = _native_status(name, raw)
    stats = problem.solver_stats
    iters = getattr(stats, "num_iters", None)
    run.iterations = int(iters) if iters is not None and iters >= 0 else None
    try:
        offset = float(inverse[-1].get("offset", 0.0) or 0.0)
    except Exception:
        offset = 0.0
    run.nodes, run.mip_gap, run.dual_bound = _mip_counters(name, raw, offset, is_mip)
    if name == "HIGHS" and native_status is not None and _highs_status_key is not None:
        native_status = _highs_status_key(native_status, run.nodes, run.native_options)
    refined = f"{name}:{native_status}" if native_status is not None else None
    run.key = refined if refined in STATUS_MAP else problem.status
    words = f"; {name} says {native_text!r}" if native_text else ""
    run.text = f"cvxpy/{name}: {problem.status}{words}"
    if problem.status in ("infeasible_inaccurate", "unbounded_inaccurate"):
        run.text += " (the solver's certificate is inaccurate)"
    return run




#: cvxpy statuses that claim unboundedness without showing a feasible point
_UNSETTLED = ("unbounded", "unbounded_inaccurate", "infeasible_or_unbounded")


def settle_unbounded(run: CvxpyRun, problem, options: SolveOptions, is_mip: bool) -> None:
    """Refine an unbounded (or infeasible-or-unbounded) claim by one feasibility solve.

    A conic solver's "unbounded" is a certificate of *dual* infeasibility (an improving ray):
    the problem is unbounded only if it is also feasible, and HiGHS's MIP answer
    infeasible_or_unbounded leaves both open. min 0 over the same constraints (same variables,
    bounds and integrality) settles it: infeasible → key "…/primal-infeasible" (INFEASIBLE: primal
    and dual both infeasible), feasible → UNBOUNDED ("infeasible_or_unbounded/primal-feasible"),
    anything else leaves the claim as it was. The variables' values are restored afterwards.
    """
    if run.cvxpy_status not in _UNSETTLED:
        return
    import cvxpy as cp

    variables = problem.variables()
    saved = [v.value for v in variables]
    try:
        check = run_cvxpy(cp.Problem(cp.Minimize(0), problem.constraints), options, is_mip)
    except Exception:  # the check is a refinement only
        return
    finally:
        for v, val in zip(variables, saved):
            v.value = val
    base = "infeasible_or_unbounded" if run.cvxpy_status == "infeasible_or_unbounded" else "unbounded"
    if check.cvxpy_status in ("infeasible", "infeasible_inaccurate"):
        run.key = f"{base}/primal-infeasible"
        run.text += (f"; a feasibility solve (min 0, same constraints) says {check.cvxpy_status}: "
                     f"the primal is infeasible")
    elif check.cvxpy_status in ("optimal", "optimal_inaccurate"):
        if base == "infeasible_or_unbounded":
            run.key = f"{base}/primal-feasible"
        run.text += "; a feasibility solve (min 0, same constraints) found a feasible point"


# ---------------------------------------------------------------------- the backend
class CvxpyBackend(Backend):
    """Any cvxpy solver: linear path for lp/qp/milp, whole-model path for conic (and cvxpy MIQP)."""

    name = "cvxpy"
    accepts = frozenset({"lp", "qp", "milp", "miqp", "conic"})  # miqp needs SCIP (pyscipopt)
    priority = {"lp": 40, "milp": 20, "qp": 40, "miqp": 100, "conic": 100}
    capabilities = frozenset({"duals", "integer", "inner-solver"})
    requires = ("cvxpy",)
    extra = None  # base install (docs/install.md)
    STATUS_MAP = STATUS_MAP
    options = {"cvxpy_solver": Option(
        None, _installed_solver,
        "name of an installed cvxpy solver (CLARABEL, OSQP, SCS, HIGHS, SCIPY, SCIP, ...); "
        "None: cvxpy picks")}
    description = ("cvxpy with any installed solver (Clarabel, OSQP, SCS, HiGHS; SCIP for MIQP): "
                   "LP, QP, MILP, MIQP, conic")

    def version(self) -> str:
        import cvxpy as cp

        return cp.__version__

    def solver_option_names(self) -> list[str] | None:
        """None: the native names depend on the solver cvxpy picks, so ``solver_options`` are
        checked inside the solve once it is known (:func:`solver_option_names_for`)."""
        return None

    def form_for(self, model) -> str:
        """'linear' for lp/qp/milp (and a MIQP given as data), 'model' otherwise: conic problems,
        and MIQPs written in cvxpy (optkit's LinearForm compiler goes through cvxpy's HiGHS data,
        which has no MIQP), go to cvxpy whole."""
        cls = model.problem_class
        if cls in ("lp", "qp", "milp") or (cls in LINEAR_CLASSES and not hasattr(model, "cvxpy_problem")):
            return "linear"
        return "model"

    # ------------------------------------------------------------------ linear path
    def solve_linear(self, form, options: SolveOptions) -> RawSolution:
        """Rebuild the LinearForm in cvxpy, solve once, return x, y in form coordinates."""
        if form.Q is not None:  # the core refused a nonconvex Q already; this reads its cache
            why = cached_convexity_problem(form)
            if why:
                return RawSolution(status=Termination.INVALID_PROBLEM, status_text=why,
                                   message=f"the problem is not convex: {why}")
        built = _build_linear(form)
        run = run_cvxpy(built.problem, options, form.is_mip)
        settle_unbounded(run, built.problem, options, form.is_mip)
        x = y = None
        if run.cvxpy_status in _SOLUTION_PRESENT:
            x = built.x_value()
            if x is not None and not form.is_mip:
                y = built.row_duals()
        return RawSolution(status=run.key, status_text=run.text, x=x, y=y,
                           objective=None if built.problem.value is None or x is None
                           else float(built.problem.value),
                           iterations=run.iterations, nodes=run.nodes, mip_gap=run.mip_gap,
                           dual_bound=run.dual_bound, message=run.text,
                           extra={"cvxpy_solver": run.solver, "cvxpy_status": run.cvxpy_status})

    # ------------------------------------------------------------------ model path
    def solve_model(self, model, options: SolveOptions) -> Result:
        """Solve the user's cvxpy problem whole and measure conic KKT on its conic data."""
        prob = getattr(model, "cvxpy_problem", None)
        if prob is None:  # pragma: no cover - every model sent here wraps a cvxpy problem
            import cvxpy as cp

            prob = cp.Problem(model.objective, model.constraints)
        if options.x0 is not None and hasattr(model, "check_x0"):
            for var, val in (model.check_x0(options.x0) or {}).items():
                var.value = val
        is_mip = prob.is_mixed_integer()
        run = run_cvxpy(prob, options, is_mip)
        settle_unbounded(run, prob, options, is_mip)
        sense = -1.0 if _is_max(prob) else 1.0
        raw = RawSolution(status=run.key, status_text=run.text, iterations=run.iterations,
                          nodes=run.nodes, mip_gap=run.mip_gap,
                          dual_bound=None if run.dual_bound is None else sense * run.dual_bound,
                          message=run.text,
                          extra={"cvxpy_solver": run.solver, "cvxpy_status": run.cvxpy_status})
        res = to_result(raw, self)
        tol = Tolerances.from_options(options)
        variables = prob.variables()
        has_point = run.cvxpy_status in _SOLUTION_PRESENT and all(v.value is not None
                                                                  for v in variables)
        if not has_point:
            res._values = lambda var: None
            res._duals = lambda con: None
            res.primal_status = PrimalStatus.NO_SOLUTION
            res.kkt = KKTReport({}, {"all": f"no point returned ({run.cvxpy_status or res.termination})"})
            if res.termination.claims_optimality:
                res.verified = False
                res.message += " [the solver claims optimality but returned no point]"
            return res
        values = {v.id: np.array(v.value, dtype=float, copy=True) for v in variables}
        duals = {c.id: (None if c.dual_value is None else
                        (np.array(c.dual_value, dtype=float, copy=True) if not isinstance(c.dual_value, list)
                         else [np.array(d, dtype=float, copy=True) for d in c.dual_value]))
                 for c in prob.constraints}
        res.x = np.concatenate([np.ravel(values[v.id], order="F") for v in variables]) if variables \
            else np.zeros(0)
        res.objective = None if prob.value is None else float(prob.value)
        res._values = lambda var: _lookup(values, var)
        res._duals = lambda con: _lookup(duals, con)
        res.kkt = measure_conic(run, prob)
        if is_mip and run.dual_bound is not None and np.isfinite(run.dual_bound) \
                and res.objective is not None:
            f_min = sense * res.objective  # cvxpy's minimisation units, as the bound
            res.kkt["mip_gap_rel"] = max(0.0, f_min - run.dual_bound) / max(1.0, abs(f_min))
        res.primal_status, res.verified, failures = verdict(res.kkt, res.termination, tol)
        if res.verified is False:
            res.message += (f" [optkit's measurement contradicts the claim {res.termination}: "
                            + "; ".join(failures) + "]")
        return res


def _is_max(prob) -> bool:
    import cvxpy as cp

    return isinstance(prob.objective, cp.Maximize)


def conic_point(run: CvxpyRun, data: ConicData
                ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, str]:
    """The solver's own (x, s, y) on the conic data, and why y is missing when it is.

    Clarabel (x, s, z), SCS (x, s, y) and HiGHS (column values, y = −row duals, cvxpy's own rule)
    give all three; SCIP and SciPy x only; any other solver x as cvxpy's inversion reads it.
    """
    raw, name = run.raw, run.solver
    try:
        if name == "CLARABEL":
            return (np.asarray(raw.x, float), np.asarray(raw.s, float), np.asarray(raw.z, float), "")
        if name == "SCS":
            return (np.asarray(raw["x"], float), np.asarray(raw["s"], float),
                    np.asarray(raw["y"], float), "")
        if name == "HIGHS":
            sol = raw["solution"]
            y = None if data.integer.size or data.boolean.size else -np.asarray(sol.row_dual, float)
            return np.asarray(sol.col_value, float), None, y, "HiGHS returns no duals for a MIP"
        if name == "SCIP":
            # cvxpy's SCIP model appends auxiliary variables for the cones after the conic x
            return (np.asarray(raw["primal"], float)[:data.n], None, None,
                    "SCIP's duals are not read by optkit")
        if name == "SCIPY":
            return np.asarray(raw["x"], float), None, None, "SciPy's marginals are not read by optkit"
    except Exception:
        pass
    try:  # any other solver: cvxpy's own inversion of its raw answer gives the conic x
        sol = run.chain.solver.invert(raw, run.inverse[-1])
        prim = list(sol.primal_vars.values()) if sol.primal_vars else []
        if len(prim) == 1:
            return (np.asarray(prim[0], float).ravel(), None, None,
                    f"optkit does not read {name}'s dual vector")
    except Exception:
        pass
    return None, None, None, f"optkit cannot read {name}'s raw answer"


def measure_conic(run: CvxpyRun, prob) -> KKTReport:
    """Conic KKT report of a finished run (module docstring); at the user level (largest
    ``constraint.violation()`` over max(1, |constraint values|)) when the conic data or point
    cannot be read — then stationarity and the gap are listed as not measured."""
    reason = f"the conic data of {run.solver} have a layout optkit does not read"
    try:
        data = ConicData.from_cvxpy(run.data, run.chain.solver) if run.data is not None else None
        if data is not None:
            x, s, y, why = conic_point(run, data)
            if x is not None and x.shape == (data.n,):
                return conic_kkt(data, x, s, y, why_no_dual=why)
            reason = why or f"optkit cannot read {run.solver}'s conic point"
    except Exception as exc:  # a layout this code did not foresee: measure at the user level
        reason = f"the conic measurement failed ({type(exc).__name__}: {exc})"
    worst, where = 0.0, ""
    for i, con in enumerate(prob.constraints):
        viol = float(np.max(np.atleast_1d(con.violation()), initial=0.0))
        scale = max([1.0] + [float(np.max(np.abs(a.value), initial=0.0)) for a in con.args
                             if a.value is not None])
        if viol / scale > worst:
            worst, where = viol / scale, f"constraint {i}"
    values = {"feasibility": worst, "feasibility_rel": worst, "worst": where,
              "stationarity": None, "stationarity_rel": None, "complementarity": None,
              "complementarity_rel": None, "kkt": worst, "norm": "inf", "multipliers": None,
              "measured_on": "cvxpy constraint.violation() at the user level"}
    nm = {k: reason for k in ("stationarity", "dual_cone", "duality_gap", "complementarity")}
    return KKTReport(values, nm)


def _lookup(table: dict, item):
    key = getattr(item, "id", None)
    if key is None:
        raise TypeError(f"expected a cvxpy variable or constraint, got {type(item).__name__}")
    val = table.get(key)
    if val is None or isinstance(val, list):
        return val
    return float(val) if np.ndim(val) == 0 else val


# ---------------------------------------------------------------------- convexity of Q
# ---------------------------------------------------------------------- the linear problem
class _BuiltLinear:
    """A cvxpy problem built from a LinearForm, with the maps back to x and y."""

    def __init__(self, problem, parts, perm, m: int, blocks):
        self.problem = problem
        self.parts = parts            # cvxpy variables whose stacked values are x[perm]
        self.perm = perm              # permutation: z = x[perm] (None: identity)
        self.m = m                    # number of rows of the LinearForm
        self.blocks = blocks          # (kind, constraint, row indices) for kind in E, U, L

    def x_value(self) -> np.ndarray | None:
        vals = [p.value for p in self.parts]
        if any(v is None for v in vals):
            return None
        z = np.concatenate([np.atleast_1d(np.asarray(v, float)) for v in vals]) if vals else np.zeros(0)
        if self.perm is None:
            return z
        x = np.empty_like(z)
        x[self.perm] = z
        return x

    def row_duals(self) -> np.ndarray | None:
        """optkit's y (L = f + yᵀAx) from cvxpy's multipliers (see ``_row_duals``)."""
        return _row_duals(self.m, self.blocks)


def _row_duals(m: int, blocks) -> np.ndarray | None:
    """y_E = λ_E, y_U = λ_U, y_L = −λ_L, summed for two-sided rows.

    cvxpy's conventions: ``A x <= b`` has λ ≥ 0 with Lagrangian f + λᵀ(Ax − b); ``A x >= b`` is
    ``b <= A x`` with λ ≥ 0 and Lagrangian f + λᵀ(b − Ax); ``A x == b`` has Lagrangian
    f + λᵀ(Ax − b) (checked against HiGHS in tests/test_backend_cvxpy.py).
    """
    y = np.zeros(m)
    for kind, con, idx in blocks:
        d = con.dual_value
        if d is None:
            return None
        d = np.atleast_1d(np.asarray(d, float))
        y[idx] += -d if kind == "L" else d
    return y


def _build_linear(form) -> _BuiltLinear:
    """The cvxpy problem of a LinearForm (see module docstring); integer columns get their own
    variable so that cvxpy's ``integer=True`` applies to a whole variable. Q enters through
    ``psd_wrap`` (convexity is checked by :func:`convexity_problem`, without densifying)."""
    import cvxpy as cp

    n = form.n
    ints = np.flatnonzero(form.integrality)
    perm = None
    if ints.size:
        conts = np.flatnonzero(~form.integrality)
        perm = np.concatenate([conts, ints]).astype(np.int64)
        groups = ((conts, False), (ints, True))
    else:
        groups = ((np.arange(n), False),)
    parts = []
    for idx, integer in groups:
        if idx.size == 0:
            continue
        lb, ub = form.lb[idx], form.ub[idx]
        bounds = None if not (np.isfinite(lb).any() or np.isfinite(ub).any()) else [lb, ub]
        parts.append(cp.Variable(idx.size, integer=integer, bounds=bounds,
                                 name="xi" if integer else "xc"))
    z = parts[0] if len(parts) == 1 else cp.hstack(parts)
    c = form.c if perm is None else form.c[perm]
    obj = c @ z + form.c0 if n else cp.Constant(form.c0)
    if form.Q is not None:
        Q = form.Q if perm is None else sp.csr_matrix(form.Q)[perm][:, perm]
        obj = obj + 0.5 * cp.quad_form(z, cp.psd_wrap(Q))
    A = form.A if perm is None else sp.csr_matrix(form.A)[:, perm]
    rl, ru = form.rl, form.ru
    eq = np.flatnonzero(rl == ru)
    up = np.flatnonzero(np.isfinite(ru) & (rl != ru))
    lo = np.flatnonzero(np.isfinite(rl) & (rl != ru))
    cons, blocks = [], []
    for kind, idx in (("E", eq), ("U", up), ("L", lo)):
        if idx.size == 0:
            continue
        Ak = A[idx]
        if kind == "E":
            con = Ak @ z == rl[idx]
        elif kind == "U":
            con = Ak @ z <= ru[idx]
        else:
            con = Ak @ z >= rl[idx]
        cons.append(con)
        blocks.append((kind, con, idx))
    prob = cp.Problem(cp.Minimize(obj), cons)
    return _BuiltLinear(prob, parts, perm, form.m, blocks)
