"""One way to speak to HiGHS, for every backend that reaches it (private to the backends package).

The backends ``highs`` (highspy), ``scipy`` (``linprog(method="highs")`` and ``milp``, scipy's own
HiGHS build), ``pyomo`` (plug-ins ``highs`` and ``appsi_highs``) and ``cvxpy`` (solver HIGHS) all
hand HiGHS the options of :func:`highs_options` and read its model status through
:data:`HIGHS_STATUS_MAP`. The core never imports this module.

Vocabulary (optkit → HiGHS's native option names), applied in this order, ``solver_options`` last
(they win):

- ``verbose`` → ``output_flag`` (always set, False unless verbose).
- ``time_limit`` (s) → ``time_limit``.
- ``tol`` → t = max(tol, :data:`TOL_FLOOR`) = max(tol, 1e-10) for ``primal_feasibility_tolerance``,
  ``dual_feasibility_tolerance`` and ``ipm_optimality_tolerance``, and for a MIP also
  ``mip_rel_gap``. One clamping rule: 1e-10 is the largest of HiGHS's lower limits on these
  options (the feasibility tolerances accept nothing below it), so every tolerance gets the same
  t; no upper clamp (HiGHS takes any value ≥ its floor).
- ``max_iter`` caps the main algorithm's iterations: for an LP/QP the LP iterations of every HiGHS
  method — ``simplex_iteration_limit``, ``ipm_iteration_limit``, ``pdlp_iteration_limit``,
  ``qp_iteration_limit`` — and for a **MIP the branch-and-bound nodes**, ``mip_max_nodes``.
  Decision, measured on HiGHS 1.16: its MIP solver ignores ``simplex_iteration_limit`` (lseu with
  the limit 1 runs 1896 LP iterations to optimality), so mapping max_iter to LP-iteration limits
  would leave it without effect on a MIP; the node limit is what stops branch-and-bound. The
  counters stay apart: ``iterations`` counts LP iterations, ``nodes`` nodes, also on a MIP.
- ``seed`` → ``random_seed``.

Status: HiGHS's model status names (``HighsModelStatus``) map through :data:`HIGHS_STATUS_MAP`.
HiGHS reports every MIP limit (node, leaf, improving-solution limits) as ``kSolutionLimit``; when
the node count reached a ``mip_max_nodes`` that was set, :func:`status_key` refines the key to
``"kSolutionLimit:mip_max_nodes"`` → NODE_LIMIT; otherwise ``kSolutionLimit`` → SOLUTION_LIMIT.
An objective bound or target stop (``kObjectiveBound``, ``kObjectiveTarget``) is OBJECTIVE_LIMIT,
never OPTIMAL. :func:`keeps_point` says which statuses return no point (infeasible, unbounded).
"""
from __future__ import annotations

import os
import tempfile
from typing import Any
from collections.abc import Mapping

from optkit.options import SolveOptions
from optkit.status import Termination

#: the one lower clamp on every tolerance optkit's ``tol`` sets in HiGHS
TOL_FLOOR = 1e-10

#: HiGHS model status name (HighsModelStatus member) → termination; refined keys "name:reason"
HIGHS_STATUS_MAP: dict[str, Termination] = {
    "kNotset": Termination.ERROR,
    "kLoadError": Termination.INVALID_PROBLEM,
    "kModelError": Termination.INVALID_PROBLEM,
    "kPresolveError": Termination.NUMERICAL_ERROR,
    "kSolveError": Termination.NUMERICAL_ERROR,
    "kPostsolveError": Termination.NUMERICAL_ERROR,
    "kModelEmpty": Termination.OPTIMAL,          # no columns (the core answers n = 0 before HiGHS)
    "kOptimal": Termination.OPTIMAL,
    "kInfeasible": Termination.INFEASIBLE,
    "kUnboundedOrInfeasible": Termination.INFEASIBLE_OR_UNBOUNDED,
    "kUnbounded": Termination.UNBOUNDED,
    "kObjectiveBound": Termination.OBJECTIVE_LIMIT,
    "kObjectiveTarget": Termination.OBJECTIVE_LIMIT,
    "kTimeLimit": Termination.TIME_LIMIT,
    "kIterationLimit": Termination.ITERATION_LIMIT,
    "kUnknown": Termination.ERROR,
    "kSolutionLimit": Termination.SOLUTION_LIMIT,
    "kSolutionLimit:mip_max_nodes": Termination.NODE_LIMIT,
    "kInterrupt": Termination.INTERRUPTED,
    "kMemoryLimit": Termination.MEMORY_LIMIT,
    "kHighsInterrupt": Termination.INTERRUPTED,
}

#: claims after which the returned values are no solution (HiGHS may still hold an iterate)
_NO_POINT = frozenset({"kInfeasible", "kUnbounded", "kUnboundedOrInfeasible"})


def highs_options(options: SolveOptions, is_mip: bool) -> dict[str, object]:
    """HiGHS's native options for optkit's vocabulary (see module docstring), solver_options last."""
    out: dict[str, object] = {"output_flag": bool(options.verbose)}
    if options.time_limit is not None:
        out["time_limit"] = float(options.time_limit)
    if options.tol is not None:
        t = max(float(options.tol), TOL_FLOOR)
        out["primal_feasibility_tolerance"] = t
        out["dual_feasibility_tolerance"] = t
        out["ipm_optimality_tolerance"] = t
        if is_mip:
            out["mip_rel_gap"] = t
    if options.max_iter is not None:
        k = int(options.max_iter)
        if is_mip:
            out["mip_max_nodes"] = k
        else:
            for name in ("simplex_iteration_limit", "ipm_iteration_limit", "pdlp_iteration_limit",
                         "qp_iteration_limit"):
                out[name] = k
    if options.seed is not None:
        out["random_seed"] = int(options.seed)
    out.update(dict(options.solver_options))
    return out


def status_key(name: str, nodes: int | None, native: Mapping[str, Any]) -> str:
    """The key of :data:`HIGHS_STATUS_MAP` for model status ``name``.

    ``kSolutionLimit`` with ``nodes`` ≥ the ``mip_max_nodes`` in ``native`` (the options HiGHS
    was given) becomes ``"kSolutionLimit:mip_max_nodes"`` (NODE_LIMIT).
    """
    if name == "kSolutionLimit" and nodes is not None and "mip_max_nodes" in native:
        try:
            if int(nodes) >= int(native["mip_max_nodes"]):  # type: ignore[call-overload]
                return "kSolutionLimit:mip_max_nodes"
        except (TypeError, ValueError):
            pass
    return name


def keeps_point(name: str) -> bool:
    """False when model status ``name`` says the returned values are no solution."""
    return name.split(":", 1)[0] not in _NO_POINT


def lp_iterations(info: Any) -> int:
    """LP iterations of a HiGHS run: simplex + IPM + PDLP + QP iterations (HiGHS reports −1 for a
    method that did not run; crossover is not counted)."""
    total = 0
    for attr in ("simplex_iteration_count", "ipm_iteration_count", "pdlp_iteration_count",
                 "qp_iteration_count"):
        total += max(int(getattr(info, attr, 0) or 0), 0)
    return total


def mip_nodes(info: Any) -> int | None:
    """Branch-and-bound nodes of a HiGHS MIP run (None for a continuous model: HiGHS says −1)."""
    count = getattr(info, "mip_node_count", -1)
    return int(count) if count is not None and int(count) >= 0 else None


_NAMES: list[str] | None = None


def highs_option_names() -> list[str]:
    """Every option name highspy can list, sorted: the records HiGHS itself writes with
    ``writeOptions`` (the documented, non-advanced ones) together with the attributes of
    ``highspy.HighsOptions`` (which include some advanced ones), each confirmed by
    ``Highs.getOptionType``. Cached after the first call."""
    global _NAMES
    if _NAMES is not None:
        return list(_NAMES)
    import highspy

    from optkit.native import new_highs

    h = new_highs()
    names = {a for a in dir(highspy.HighsOptions()) if not a.startswith("_")}
    fd, path = tempfile.mkstemp(suffix=".txt", prefix="optkit-highs-options-")
    os.close(fd)
    try:
        h.writeOptions(path)
        with open(path) as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    names.add(line.split("=", 1)[0].strip())
    finally:
        os.unlink(path)
    ok = highspy.HighsStatus.kOk
    _NAMES = sorted(n for n in names if h.getOptionType(n)[0] == ok)
    return list(_NAMES)
