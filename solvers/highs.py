"""Backend ``highs``: HiGHS through highspy on a LinearForm (LP, MILP, convex QP).

Row duals: HiGHS reports ``row_dual`` with c + Qx − Aᵀ·row_dual − col_dual = 0, so optkit's
y = −row_dual (L = f + yᵀAx). Options map: tol → primal/dual feasibility tolerances (and
mip_rel_gap for MILP), time_limit, max_iter → simplex/IPM iteration limits, seed → random_seed.
"""
from __future__ import annotations

import threading

import numpy as np

from optkit.backend import Backend
from optkit.options import SolveOptions
from optkit.results import Result
from optkit.status import Termination

_STATUS = {
    "kOptimal": Termination.OPTIMAL,
    "kInfeasible": Termination.INFEASIBLE,
    "kUnbounded": Termination.UNBOUNDED,
    "kUnboundedOrInfeasible": Termination.INFEASIBLE_OR_UNBOUNDED,
    "kTimeLimit": Termination.TIME_LIMIT,
    "kIterationLimit": Termination.ITERATION_LIMIT,
    "kSolutionLimit": Termination.ITERATION_LIMIT,
    "kObjectiveBound": Termination.OPTIMAL,
    "kObjectiveTarget": Termination.OPTIMAL,
    "kInterrupt": Termination.INTERRUPTED,
    "kMemoryLimit": Termination.ERROR,
    "kModelError": Termination.INVALID_PROBLEM,
    "kPresolveError": Termination.NUMERICAL_ERROR,
    "kSolveError": Termination.NUMERICAL_ERROR,
    "kPostsolveError": Termination.NUMERICAL_ERROR,
    "kLoadError": Termination.INVALID_PROBLEM,
    "kModelEmpty": Termination.OPTIMAL,
    "kNotset": Termination.ERROR,
    "kUnknown": Termination.ERROR,
}


class HighsBackend(Backend):
    """HiGHS (simplex, IPM, branch-and-cut; convex QP by active set)."""

    name = "highs"
    accepts = frozenset({"lp", "milp", "qp"})
    priority = {"lp": 100, "milp": 100, "qp": 90}  # qp: small problems only (priority_for)
    capabilities = frozenset({"duals", "integer", "inner-solver"})
    requires = ("highspy",)
    options = {"method": "choose"}  # simplex | ipm | pdlp | choose
    description = "HiGHS via highspy: LP, MILP, convex QP"

    #: above this many variables a convex QP goes to an interior-point backend by default
    #: (HiGHS's QP solver is active-set: 211 s and NUMERICAL_ERROR on a banded QP with n = 10⁴)
    QP_DEFAULT_MAX_N = 2000

    def priority_for(self, model) -> float | None:
        if model.problem_class == "qp" and model.size_hint() > self.QP_DEFAULT_MAX_N:
            return 5
        return super().priority_for(model)

    _version: str | None = None
    _local = threading.local()

    def version(self) -> str:
        if HighsBackend._version is None:
            h = self._instance()
            try:
                HighsBackend._version = f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
            except Exception:  # pragma: no cover
                HighsBackend._version = ""
        return HighsBackend._version

    def _instance(self):
        """One Highs object per thread, cleared and reset before each solve (creating one costs)."""
        h = getattr(self._local, "highs", None)
        if h is None:
            from optkit.native import new_highs

            h = new_highs()
            self._local.highs = h
        else:
            h.clearModel()
            h.clearSolver()
            h.resetOptions()
        return h

    def solve_linear(self, form, options: SolveOptions) -> Result:
        """Pass the LinearForm to HiGHS as arrays and map its statuses onto optkit's."""
        import highspy

        if form.is_mip and form.is_qp:
            return Result(termination=Termination.INVALID_PROBLEM,
                          message="HiGHS does not solve mixed-integer QPs (MIQP)")
        h = self._instance()
        h.setOptionValue("output_flag", bool(options.verbose))
        self._set_options(h, form, options)
        status = self._pass(h, form, highspy)
        if status == highspy.HighsStatus.kError:
            return Result(termination=Termination.INVALID_PROBLEM,
                          message="HiGHS rejected the model (e.g. a nonconvex Q)")
        h.run()
        ms = h.getModelStatus()
        key = ms.name
        term = _STATUS.get(key, Termination.ERROR)
        info = h.getInfo()
        sol = h.getSolution()
        x = y = None
        if form.n == 0 and term == Termination.OPTIMAL:
            return Result(termination=term, x=np.zeros(0), y=np.zeros(form.m), iterations=0,
                          message="empty model")
        if sol.value_valid and term not in (Termination.INFEASIBLE, Termination.UNBOUNDED,
                                            Termination.INFEASIBLE_OR_UNBOUNDED):
            x = np.array(sol.col_value, dtype=float)
            if sol.dual_valid and not form.is_mip:
                y = -np.array(sol.row_dual, dtype=float)
        iters = int(info.simplex_iteration_count + max(info.ipm_iteration_count, 0)
                    + max(info.qp_iteration_count, 0)) if not form.is_mip else int(info.mip_node_count)
        extra = {}
        if form.is_mip:
            extra = {"mip_gap": float(info.mip_gap), "mip_dual_bound": float(info.mip_dual_bound)}
        return Result(termination=term, x=x, y=y, iterations=iters,
                      message=key[1:], extra=extra)

    @staticmethod
    def _pass(h, form, highspy):
        """Hand the arrays to HiGHS: the flat-array passModel for LP/MILP, a HighsModel for QP."""
        inf = h.getInfinity()
        n, m = form.n, form.m
        if np.isinf(inf):  # HiGHS's infinity is IEEE inf (1.16): the arrays go in as they are
            cols, rows = (form.lb, form.ub), (form.rl, form.ru)
        else:
            cols = (np.clip(form.lb, -inf, inf), np.clip(form.ub, -inf, inf))
            rows = (np.clip(form.rl, -inf, inf), np.clip(form.ru, -inf, inf))
        if form.Q is None:  # CSR goes in as it is (row-wise), no conversion
            A = form.A
            return h.passModel(n, m, A.nnz, int(highspy.MatrixFormat.kRowwise),
                               int(highspy.ObjSense.kMinimize), float(form.c0), form.c, *cols, *rows,
                               A.indptr.astype(np.int32, copy=False),
                               A.indices.astype(np.int32, copy=False), A.data,
                               form.integrality.astype(np.int32))
        A = form.A.tocsc()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_, lp.offset_ = form.c, form.c0
        lp.col_lower_, lp.col_upper_ = cols
        lp.row_lower_, lp.row_upper_ = rows
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr
        lp.a_matrix_.index_ = A.indices
        lp.a_matrix_.value_ = A.data
        model = highspy.HighsModel()
        model.lp_ = lp
        import scipy.sparse as sp

        L = sp.tril(form.Q, format="csc")
        model.hessian_.dim_ = n
        model.hessian_.format_ = highspy.HessianFormat.kTriangular
        model.hessian_.start_ = L.indptr
        model.hessian_.index_ = L.indices
        model.hessian_.value_ = L.data
        return h.passModel(model)

    @staticmethod
    def _set_options(h, form, options: SolveOptions) -> None:
        if options.time_limit is not None:
            h.setOptionValue("time_limit", float(options.time_limit))
        if options.tol is not None:
            t = max(float(options.tol), 1e-10)
            h.setOptionValue("primal_feasibility_tolerance", t)
            h.setOptionValue("dual_feasibility_tolerance", t)
            if form.is_mip:
                h.setOptionValue("mip_rel_gap", t)
        if options.max_iter is not None:
            h.setOptionValue("simplex_iteration_limit", int(options.max_iter))
            h.setOptionValue("ipm_iteration_limit", int(options.max_iter))
        if options.seed is not None:
            h.setOptionValue("random_seed", int(options.seed))
        method = options.get("method", "choose")
        if method != "choose":
            h.setOptionValue("solver", str(method))
        for k, v in dict(options.solver_options).items():
            h.setOptionValue(k, v)
