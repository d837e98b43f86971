"""Backend ``highs``: HiGHS through highspy on a LinearForm (LP, MILP, convex QP).

The form ``min cᵀx + ½xᵀQx + c0  s.t.  rl ≤ Ax ≤ ru,  lb ≤ x ≤ ub,  x_j ∈ Z (j ∈ I)`` goes to
HiGHS as arrays (CSR rows for LP/MILP, a HighsModel with the lower triangle of Q for a QP).

Row duals: HiGHS reports ``row_dual`` with c + Qx − Aᵀ·row_dual − col_dual = 0, so optkit's
y = −row_dual (L = f + yᵀAx: y ≥ 0 on an active upper row bound, ≤ 0 on an active lower one).
A MIP returns no duals.

Options: optkit's vocabulary goes through the one shared mapper
(:func:`optkit.solvers._highs_options.highs_options`: tol, max_iter — LP iterations for LP/QP,
nodes for a MIP —, time_limit, seed, verbose), the own option ``method`` → HiGHS ``solver``, then
``solver_options`` under HiGHS's native names (unknown names are refused by the core with close
matches, from :meth:`HighsBackend.solver_option_names`).

Result: the native status is HiGHS's model status name (``kOptimal``, ``kSolutionLimit``, ...;
table :data:`~optkit.solvers._highs_options.HIGHS_STATUS_MAP`); ``iterations`` = simplex + IPM +
PDLP + QP iterations, ``nodes`` = ``mip_node_count`` (MIP only), ``mip_gap`` and ``dual_bound``
(= ``mip_dual_bound``, form units) for a MIP. A model HiGHS refuses (``passModel``/``run`` return
kError) becomes the key ``kError`` → INVALID_PROBLEM, with HiGHS's own ERROR lines as the text.
"""
from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp

from optkit.backend import Backend
from optkit.errors import OptionError
from optkit.options import Option, SolveOptions
from optkit.raw import RawSolution

from ._highs_options import (HIGHS_STATUS_MAP, highs_option_names, highs_options, keeps_point,
                             lp_iterations, mip_nodes, status_key)

METHODS = ("choose", "simplex", "ipm", "pdlp")

def _option_type(h, name: str) -> str:
    """HiGHS's type of option ``name`` in words (bool, int, double, string)."""
    _status, kind = h.getOptionType(name)
    return str(getattr(kind, "name", kind)).removeprefix("k").lower()


class HighsBackend(Backend):
    """HiGHS (simplex, IPM, PDLP, branch-and-cut; convex QP by active set)."""

    name = "highs"
    accepts = frozenset({"lp", "milp", "qp"})
    priority = {"lp": 100, "milp": 100, "qp": 90}  # qp: small problems only (priority_for)
    capabilities = frozenset({"duals", "integer", "inner-solver"})
    requires = ("highspy",)
    extra = None  # base install (docs/install.md)
    options = {"method": Option("choose", METHODS,
                                "HiGHS LP algorithm (option 'solver'): choose, simplex, ipm, pdlp")}
    description = "HiGHS via highspy: LP, MILP, convex QP"
    STATUS_MAP = dict(HIGHS_STATUS_MAP, kError=HIGHS_STATUS_MAP["kModelError"])

    #: above this many variables a convex QP goes to an interior-point backend by default
    #: (HiGHS's QP solver is active-set: on a banded QP 0.89 s at n = 1000 against Clarabel's
    #: 0.01 s, and 211–590 s ending NUMERICAL_ERROR at n = 10⁴)
    QP_DEFAULT_MAX_N = 200

    def priority_for(self, model) -> float | None:
        if model.problem_class == "qp" and model.size_hint() > self.QP_DEFAULT_MAX_N:
            return 5
        return super().priority_for(model)

    _version: str | None = None
    _local = threading.local()

    def version(self) -> str:
        if HighsBackend._version is None:
            from optkit.native import new_highs

            h = new_highs()  # not the thread's instance: that one may hold a model to warm-start
            try:
                HighsBackend._version = f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
            except Exception:  # pragma: no cover
                HighsBackend._version = ""
        return HighsBackend._version

    def refuse(self, form) -> str | None:
        """MIQP (HiGHS has no mixed-integer QP solver). A nonconvex Q is refused by the core
        (:mod:`optkit.ir.convexity`) for every backend without the "nonconvex-qp" capability."""
        if form.is_mip and form.is_qp:
            return "HiGHS has no mixed-integer QP (MIQP) solver"
        return None

    def solver_option_names(self) -> list[str]:
        """HiGHS's option names, as highspy lists them (see ``highs_option_names``)."""
        return highs_option_names()

    def native_options(self, form, options: SolveOptions) -> dict[str, object]:
        """The options this backend hands HiGHS for ``form``: the shared mapping, then method."""
        out = highs_options(options, form.is_mip)
        method = options.get("method", "choose")
        if method != "choose" and "solver" not in options.solver_options:
            out["solver"] = str(method)
        return out

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
        self._local.state = None  # the held model (if any) is gone
        self._local.options = None
        return h

    #: data a re-solve may change in place and still warm-start from HiGHS's last basis
    WARM_CHANGES = frozenset({"c", "c0", "lb", "ub", "rl", "ru"})

    def _warm_state(self, form) -> bool:
        """True when this thread's HiGHS still holds ``form`` as of its previous version and the
        last update touched only costs and bounds (an LP or MILP re-solve after a parameter
        change): then only those arrays are changed, and HiGHS starts from its last basis."""
        st = getattr(self._local, "state", None)
        if st is None or form.Q is not None:
            return False
        ref, version, shape = st
        if ref() is not form or shape != (form.n, form.m, form.A.nnz):
            return False
        now = form.meta.get("version", 0)
        changed = set(form.meta.get("changed", ()))
        # "Q" may be named by an objective update although the objective stayed linear (Q None)
        return now == version or (now == version + 1 and changed <= self.WARM_CHANGES | {"Q"})

    def _change_in_place(self, h, form) -> bool:
        """Costs, offset and bounds of the held model replaced by the form's (False on failure)."""
        changed = set(form.meta.get("changed", ()))
        try:
            cols = np.arange(form.n, dtype=np.int32)
            if "c" in changed:
                h.changeColsCost(form.n, cols, form.c)
            if changed & {"lb", "ub"}:
                h.changeColsBounds(form.n, cols, form.lb, form.ub)
            if form.m and changed & {"rl", "ru"}:
                h.changeRowsBounds(form.m, np.arange(form.m, dtype=np.int32), form.rl, form.ru)
            if "c0" in changed:
                h.changeObjectiveOffset(float(form.c0))
            return True
        except Exception:  # an API difference: fall back to passing the model
            return False

    def solve_linear(self, form, options: SolveOptions) -> RawSolution:
        """Pass the LinearForm to HiGHS as arrays and return its claim and point, unjudged.

        A re-solve of the same form after a cost/bound-only parameter update changes those arrays
        in the held model instead (HiGHS then warm-starts from its previous basis)."""
        import weakref

        import highspy

        warm = self._warm_state(form)
        native = self.native_options(form, options)
        same_options = warm and getattr(self._local, "options", None) == native
        if warm:
            h = self._local.highs
            if not same_options:
                h.resetOptions()
        else:
            h = self._instance()
        self._local.options = None
        for k, v in (() if same_options else native.items()):
            if h.setOptionValue(k, v) == highspy.HighsStatus.kError:
                raise OptionError(f"HiGHS refused the value {v!r} of option {k!r} (type "
                                  f"{type(v).__name__}; HiGHS wants {_option_type(h, k)})")
        self._local.options = dict(native)  # what the held instance is set to now
        if "time_limit" in native and not form.is_mip:
            # HiGHS 1.16 compares an LP's time_limit with the instance's *total* run time, which
            # keeps growing over the solves of a reused instance: shift the limit by what was
            # spent. Its MIP solver measures its own run: shifted, the k-th time-limited MILP of
            # a process ran 2^(k-1) × the limit (measured), so a MIP keeps the limit as given.
            h.setOptionValue("time_limit", float(native["time_limit"]) + float(h.getRunTime()))
        error = highspy.HighsStatus.kError
        self._local.state = None
        if warm and not self._change_in_place(h, form):
            h.clearModel()
            h.clearSolver()
            warm = False
        refused = False if warm else self._pass(h, form, highspy) == error
        if not refused:
            self._local.state = (weakref.ref(form), form.meta.get("version", 0),
                                 (form.n, form.m, form.A.nnz))
        if not refused:
            refused = (h.run() == error and
                       h.getModelStatus().name in ("kNotset", "kModelError", "kLoadError"))
        if refused:
            return RawSolution(status="kError", status_text=self._explain(form, native, highspy),
                               extra={"native_options": native})
        info = h.getInfo()
        nodes = mip_nodes(info) if form.is_mip else None
        key = status_key(h.getModelStatus().name, nodes, native)
        sol = h.getSolution()
        x = y = None
        if sol.value_valid and keeps_point(key):
            x = np.array(sol.col_value, dtype=float)
            if sol.dual_valid and not form.is_mip:
                y = -np.array(sol.row_dual, dtype=float)
        raw = RawSolution(status=key, status_text=h.modelStatusToString(h.getModelStatus()),
                          x=x, y=y, iterations=lp_iterations(info), nodes=nodes,
                          extra={"native_options": native, "warm_start": warm})
        if x is not None:
            raw.objective = float(info.objective_function_value)
        if form.is_mip:
            raw.mip_gap = float(info.mip_gap)
            raw.dual_bound = float(info.mip_dual_bound)
        return raw

    def _explain(self, form, native: dict, highspy) -> str:
        """HiGHS's own ERROR lines for a model it refused: the pass and run are repeated on a
        fresh instance with the log routed to a callback (only on this error path)."""
        from optkit.native import new_highs

        h = new_highs()
        lines: list[str] = []
        for k, v in native.items():
            h.setOptionValue(k, v)
        h.setOptionValue("output_flag", True)
        h.setOptionValue("log_to_console", False)

        def log(_type, message, *_args) -> None:
            lines.append(str(message).strip())

        try:
            h.setCallback(log, None)
            h.startCallback(highspy.cb.HighsCallbackType.kCallbackLogging)
            if self._pass(h, form, highspy) != highspy.HighsStatus.kError:
                h.run()
        except Exception as exc:  # pragma: no cover - a callback API change must not hide the error
            lines.append(f"(HiGHS log unavailable: {exc})")
        errors = [ln for ln in lines if ln.startswith("ERROR")]
        where = self._large_entry(form, h.getOptionValue("large_matrix_value")[1]
                                  if hasattr(h, "getOptionValue") else None)
        return "HiGHS rejected the model: " + ("; ".join(errors) if errors else
                                               "no reason logged") + where

    @staticmethod
    def _large_entry(form, limit) -> str:
        """'; first at row i, column j (= value)' for the first |A_ij| ≥ HiGHS's
        large_matrix_value (HiGHS names the range of values only), else ''."""
        try:
            limit = float(limit)
            A = form.A.tocoo()
            big = np.flatnonzero(np.abs(A.data) >= limit)
        except Exception:  # an explanation must never fail the error path
            return ""
        if not big.size:
            return ""
        i, j, v = int(A.row[big[0]]), int(A.col[big[0]]), float(A.data[big[0]])
        return (f" (first at {form._row(i)}, {form._col(j)} = {v:g}; HiGHS's large_matrix_value "
                f"is {limit:g}: rescale the model)")

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
        L = sp.tril(form.Q, format="csc")
        model.hessian_.dim_ = n
        model.hessian_.format_ = highspy.HessianFormat.kTriangular
        model.hessian_.start_ = L.indptr
        model.hessian_.index_ = L.indices
        model.hessian_.value_ = L.data
        return h.passModel(model)
