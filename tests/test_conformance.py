"""The shared conformance suite (optkit.testing.conformance) on every registered backend.

One test per (backend, case) the backend's declarations generate — ``accepts`` and the case's own
applicability, minus the declared exclusions (not skips: an excluded pair is not generated, and
docs/backends.md lists it with its reason). A registered backend that does not load gets one
failing test, so nothing goes missing silently. The suite's own known answers are re-derived by an
independent solver, and the suite is shown to catch a backend that gets things wrong.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from conftest import require_backend

import optkit as ok
from optkit import registry
from optkit.errors import OptionError
from optkit.options import Option
from optkit.raw import RawSolution
from optkit.results import Result
from optkit.status import PrimalStatus, Termination
from optkit.testing import conformance as C

ROOT = Path(__file__).resolve().parents[1]
CASES = {c.name: c for c in C.CASES()}


def _params() -> list:
    out = []
    for name in registry.names():
        try:
            backend = registry.get(name)
        except Exception:
            out.append(pytest.param(name, None, id=f"{name}:loads"))
            continue
        for case in C.cases_for(backend):
            out.append(pytest.param(name, case.name, id=f"{name}:{case.name}"))
    return out


@pytest.mark.parametrize("backend, case_name", _params())
def test_conformance(backend, case_name):
    require_backend(backend)  # a backend that does not load or is missing: skip, fails in CI
    assert case_name is not None, f"backend {backend!r} loads now: re-collect the tests"
    out = C.run_case(backend, CASES[case_name])
    assert out is not None, f"{case_name} is not applicable to {backend}"
    assert out.ok, f"{backend} / {case_name}: {out.detail}"


def test_suite_size_and_families():
    fams = {}
    for c in CASES.values():
        fams[c.family] = fams.get(c.family, 0) + 1
    assert len(CASES) >= 40
    minimum = {"lp": 12, "qp": 6, "milp": 6, "nlp": 8, "status": 6, "bad-input": 6}
    assert all(fams.get(f, 0) >= n for f, n in minimum.items()), fams
    assert len(set(CASES)) == len(C.CASES()), "case ids must be unique"


def test_every_loadable_backend_gets_cases():
    for name in registry.names():
        try:
            backend = registry.get(name)
        except Exception:
            continue
        assert len(C.cases_for(backend)) >= 3, f"{name} is given fewer than 3 conformance cases"


def test_exclusions_and_allowances_are_declared_with_reasons():
    names = set(registry.names())
    selectors = set(CASES) | {f"family:{c.family}" for c in CASES.values()} | \
        {f"tag:{t}" for c in CASES.values() for t in c.tags}
    for table in (C.EXCLUSIONS, C.ALLOWANCES):
        for (backend, sel), why in table.items():
            assert backend in names, f"{backend} is not a registered backend"
            assert sel in selectors, f"{sel} matches no case"
            text = why if isinstance(why, str) else why[1]
            assert len(text) > 20, f"({backend}, {sel}) needs a reason"
    # an excluded pair is not generated
    hs071 = CASES["hs071"]
    assert C.exclusion("sketch-newton", hs071) is not None
    assert "hs071" not in [c.name for c in C.cases_for(registry.get("sketch-newton"))]


def test_rosenbrock_reference_is_a_minimum_on_the_line():
    # the known answer itself: a 1-D grid never beats the root-based optimum
    t = np.linspace(-2, 2, 400001)
    g = 100 * (1.5 - t - t ** 2) ** 2 + (1 - t) ** 2
    assert C._rosenbrock_on_line_optimum() == pytest.approx(g.min(), abs=1e-8)
    x = C._rosenbrock_on_line_point()
    assert x.sum() == pytest.approx(1.5) and x[0] == pytest.approx(t[np.argmin(g)], abs=1e-4)


def _independent(model, feasibility: bool = False):
    """Solve a case's model with cvxpy directly (Clarabel; SCIP for integers), bypassing optkit's
    backends; (status, optimal value in user units). ``feasibility``: objective 0 instead, so
    "infeasible" is a proof of infeasibility whatever the dual side does."""
    import cvxpy as cp

    if hasattr(model, "cvxpy_problem"):
        prob = cp.Problem(cp.Minimize(0) if feasibility else model.objective, model.constraints)
    else:
        f = model.form
        ints = [(int(j),) for j in np.flatnonzero(f.integrality)]
        x = cp.Variable(f.n, integer=True if len(ints) == f.n else (ints or False))
        obj = f.c @ x + f.c0
        if f.Q is not None:
            obj = obj + 0.5 * cp.quad_form(x, cp.psd_wrap(f.Q.toarray()))
        cons = []
        A = f.A.toarray()
        for i in range(f.m):
            if np.isfinite(f.rl[i]):
                cons.append(A[i] @ x >= f.rl[i])
            if np.isfinite(f.ru[i]):
                cons.append(A[i] @ x <= f.ru[i])
        lo, hi = np.isfinite(f.lb), np.isfinite(f.ub)
        if lo.any():
            cons.append(x[np.flatnonzero(lo)] >= f.lb[lo])
        if hi.any():
            cons.append(x[np.flatnonzero(hi)] <= f.ub[hi])
        prob = cp.Problem(cp.Minimize(0 if feasibility else obj), cons)
    solver = cp.SCIP if prob.is_mixed_integer() else cp.CLARABEL
    prob.solve(solver=solver)
    return prob.status, prob.value


@pytest.mark.parametrize("name", [n for n, c in CASES.items()
                                  if c.family in ("lp", "qp", "milp", "status")
                                  and c.limit is None and c.raises is None])
def test_known_answers_agree_with_an_independent_solver(name):
    require_backend("cvxpy")
    case = CASES[name]
    model = case.build()
    if case.objective is not None:
        status, value = _independent(model)
        assert status == "optimal"
        assert value == pytest.approx(case.objective, rel=1e-6, abs=1e-6)
    elif case.terminations & C.INFEASIBLE:
        assert _independent(model, feasibility=True)[0] == "infeasible"
    else:  # unbounded: feasible, and no finite optimum
        assert _independent(model, feasibility=True)[0] == "optimal"
        assert _independent(model)[0] in ("unbounded", "infeasible_or_unbounded")


# ---------------------------------------------------------------------- the suite catches faults
class _FlippedDuals(ok.Backend):
    """HiGHS with the sign of every row multiplier flipped: a convention bug on purpose."""

    name = "test-flipped-duals"
    accepts = frozenset({"lp"})
    capabilities = frozenset({"duals"})
    STATUS_MAP = {"ok": Termination.OPTIMAL}

    def solve_linear(self, form, options):
        import highspy

        from optkit.native import new_highs

        h = new_highs()
        h.passModel(form.n, form.m, form.A.nnz, int(highspy.MatrixFormat.kRowwise),
                    int(highspy.ObjSense.kMinimize), float(form.c0), form.c, form.lb, form.ub,
                    form.rl, form.ru, form.A.indptr.astype(np.int32),
                    form.A.indices.astype(np.int32), form.A.data, np.zeros(form.n, np.int32))
        h.run()
        sol = h.getSolution()
        return RawSolution(status="ok", x=np.array(sol.col_value), y=np.array(sol.row_dual),
                           iterations=1)


def test_suite_catches_flipped_dual_signs():
    out = C.run_conformance(_FlippedDuals(), cases=["lp-le-rows", "lp-ge-rows", "lp-no-rows"])
    by = {o.case: o for o in out}
    # wrong-signed multipliers: optkit's stationarity measurement fails first, so the result is
    # not verified and the case fails; a case without rows is unaffected
    assert not by["lp-le-rows"].ok and not by["lp-ge-rows"].ok
    assert "verified=False" in by["lp-le-rows"].detail
    assert "y = [-0.4, -0.2]" in by["lp-le-rows"].detail
    assert by["lp-no-rows"].ok, by["lp-no-rows"].detail
    assert "test-flipped-duals" not in registry.names()  # registered only while it ran


def test_trust_judgement_flags_a_silent_wrong_answer():
    case = CASES["lp-tiny-row"]
    wrong = Result(termination=Termination.OPTIMAL, primal_status=PrimalStatus.FEASIBLE,
                   x=np.zeros(1), objective=0.0, verified=True)
    honest = Result(termination=Termination.OPTIMAL, primal_status=PrimalStatus.INFEASIBLE,
                    x=np.zeros(1), objective=0.0, verified=False,
                    message="optkit's measurement contradicts the claim OPTIMAL: scaled primal "
                            "infeasibility 1 at row 0 > 1e-06")
    right = Result(termination=Termination.OPTIMAL, primal_status=PrimalStatus.FEASIBLE,
                   x=np.ones(1), objective=1.0, verified=True)
    assert C.judge_case(case, registry.get("highs"), wrong, None)[0].startswith("SILENT WRONG")
    assert C.judge_case(case, registry.get("highs"), honest, None) == []
    assert C.judge_case(case, registry.get("highs"), right, None) == []


class _Listing(ok.Backend):
    """A backend that lists its native options and declares a typed option (bad-input cases)."""

    name = "test-listing"
    accepts = frozenset({"lp"})
    options = {"method": Option("simplex", ("simplex", "ipm"), "algorithm")}
    STATUS_MAP = {0: Termination.OPTIMAL}

    def solver_option_names(self):
        return ["presolve", "primal_feasibility_tolerance"]

    def solve_linear(self, form, options):
        return RawSolution(status=0, x=np.clip(np.zeros(form.n), form.lb, form.ub))


def test_bad_input_cases_for_listed_and_typed_options():
    out = C.run_conformance(_Listing(), cases=["unknown-solver-option", "bad-option-domain",
                                               "unknown-option", "bad-tol"])
    assert [o.case for o in out] == ["unknown-solver-option", "bad-option-domain",
                                     "unknown-option", "bad-tol"]
    assert all(o.ok for o in out), [o.detail for o in out if not o.ok]
    detail = {o.case: o.detail for o in out}
    assert "did you mean presolve" in detail["unknown-solver-option"]
    assert "method" in detail["bad-option-domain"] and "OptionError" in detail["bad-option-domain"]
    # not generated for a backend that cannot list its native options
    assert "unknown-solver-option" not in [c.name for c in C.cases_for(registry.get("highs"))] \
        or registry.get("highs").solver_option_names() is not None


def test_conformance_cases_gives_parametrize_pairs():
    pairs = C.conformance_cases(_Listing(), exclude={"family:lp": "not this test",
                                                      "family:status": "not this test"})
    ids = [i for i, _ in pairs]
    assert "bad-tol" in ids and not any(i.startswith("lp-") for i in ids)
    run = dict(pairs)["bad-tol"]
    assert run().ok
    with pytest.raises(AssertionError, match="small-lp"):
        dict(C.conformance_cases(_Listing()))["small-lp"]()  # it returns 0 for every LP


# ---------------------------------------------------------------------- the docs' example backend
def _doc_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def test_writing_a_backend_example_runs_and_conforms():
    page = ROOT / "docs" / "writing_a_backend.md"
    blocks = _doc_blocks(page)
    assert len(blocks) >= 2
    ns: dict = {}
    for block in blocks:
        exec(compile(block, str(page), "exec"), ns)
    backend_cls = ns["LinprogBackend"]
    outcomes = C.run_conformance(backend_cls())
    failed = [(o.case, o.detail) for o in outcomes if not o.ok]
    assert not failed, failed
    assert len(outcomes) >= 25
    assert "linprog-example" not in registry.names()
    with pytest.raises(OptionError, match="method"), C._registered(backend_cls()):
        ok.solve(ok.LinearProblem(c=[1.0], A=[[1.0]], rl=[1.0]), "linprog-example",
                 method="nope")
